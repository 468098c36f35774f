/* The folding of fuzzy person-name matching (src/text/pn_fold.h): case and accents of Latin, Greek and Cyrillic
 * letters, decomposed accents, characters left as they are, bytes that are not UTF-8, and the output's bounds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "text/pn_fold.h"

/* The fold of in (NUL-terminated), with room to spare. */
static const char *fold(const char *in)
{
    static char out[1024];
    size_t n = dv_pn_fold(in, strlen(in), out, sizeof out);
    assert_int_equal(n, strlen(out));
    assert_true(n <= strlen(in));
    return out;
}

static void test_fold_latin(void **state)
{
    (void)state;
    assert_string_equal(fold("DOE^John"), "doe^john");
    assert_string_equal(fold("Buc^J\xC3\xA9r\xC3\xB4me"), "buc^jerome");     /* Jérôme */
    assert_string_equal(fold("BUC^J\xC3\x89R\xC3\x94ME"), "buc^jerome");     /* JÉRÔME */
    assert_string_equal(fold("M\xC3\x9CLLER^HANS"), "muller^hans");          /* MÜLLER */
    assert_string_equal(fold("m\xC3\xBCller*"), "muller*");
    assert_string_equal(fold("Stra\xC3\x9F" "e"), "strasse");                /* ß */
    assert_string_equal(fold("\xE1\xBA\x9E"), "ss");                         /* capital sharp s */
    assert_string_equal(fold("\xC3\x86sa^\xC3\xA6sa"), "aesa^aesa");        /* Æ æ */
    assert_string_equal(fold("\xC3\x98re^\xC3\xB8re"), "ore^ore");          /* Ø ø */
    assert_string_equal(fold("\xC5\x92uvre^\xC5\x93uvre"), "oeuvre^oeuvre"); /* Œ œ */
    assert_string_equal(fold("\xC3\x9E\xC3\xB3r^\xC3\xBE\xC3\xB3r"), "thor^thor"); /* Þór þór */
    assert_string_equal(fold("\xC3\x90\xC4\x90\xC4\x91\xC3\xB0"), "dddd");   /* Ð Đ đ ð */
    assert_string_equal(fold("\xC5\x81ukasz^\xC5\x82ukasz"), "lukasz^lukasz"); /* Ł ł */
    assert_string_equal(fold("\xC4\xB2ssel"), "ijssel");                     /* Ĳ */
    assert_string_equal(fold("Dvo\xC5\x99\xC3\xA1k"), "dvorak");            /* ř á */
    assert_string_equal(fold("Nguy\xE1\xBB\x85n"), "nguyen");                /* ễ (Latin Extended Additional) */
    /* Latin Extended-B the lexicons' table keeps: case-folded, or reduced as Unicode decomposes them */
    assert_string_equal(fold("\xC6\x8F"), "\xC9\x99");                       /* Ə -> ə */
    assert_string_equal(fold("\xC9\x99"), "\xC9\x99");
    assert_string_equal(fold("\xC6\xB7"), "\xCA\x92");                       /* Ʒ -> ʒ */
    assert_string_equal(fold("\xC7\xBC\xC7\xBD"), "aeae");                   /* Ǽ ǽ */
    assert_string_equal(fold("\xC7\xBE\xC7\xBF"), "oo");                     /* Ǿ ǿ */
    assert_string_equal(fold("\xC4\xBF\xC5\x80"), "ll");                     /* Ŀ ŀ */
    assert_string_equal(fold("\xC8\xBA\xE2\xB1\xA5"), "aa");                 /* Ⱥ ⱥ */
    /* decomposed accents (as macOS writes names) fold as precomposed ones */
    assert_string_equal(fold("Jose\xCC\x81^Garci\xCC\x81" "a"), "jose^garcia");
    assert_string_equal(fold("E\xCC\x81" "COLE"), "ecole");
}

static void test_fold_greek_cyrillic(void **state)
{
    (void)state;
    /* ΠΑΠΑΔΌΠΟΥΛΟΣ and παπαδόπουλος: both παπαδοπουλοσ */
    assert_string_equal(fold("\xCE\xA0\xCE\x91\xCE\xA0\xCE\x91\xCE\x94\xCE\x8C\xCE\xA0\xCE\x9F\xCE\xA5\xCE\x9B\xCE\x9F"
                             "\xCE\xA3"),
                        "\xCF\x80\xCE\xB1\xCF\x80\xCE\xB1\xCE\xB4\xCE\xBF\xCF\x80\xCE\xBF\xCF\x85\xCE\xBB\xCE\xBF\xCF\x83");
    assert_string_equal(fold("\xCF\x80\xCE\xB1\xCF\x80\xCE\xB1\xCE\xB4\xCF\x8C\xCF\x80\xCE\xBF\xCF\x85\xCE\xBB\xCE\xBF"
                             "\xCF\x82"),
                        "\xCF\x80\xCE\xB1\xCF\x80\xCE\xB1\xCE\xB4\xCE\xBF\xCF\x80\xCE\xBF\xCF\x85\xCE\xBB\xCE\xBF\xCF\x83");
    /* Ά Έ Ή Ί Ό Ύ Ώ ΐ ΰ Ϊ Ϋ -> α ε η ι ο υ ω ι υ ι υ */
    assert_string_equal(fold("\xCE\x86\xCE\x88\xCE\x89\xCE\x8A\xCE\x8C\xCE\x8E\xCE\x8F\xCE\x90\xCE\xB0\xCE\xAA\xCE\xAB"),
                        "\xCE\xB1\xCE\xB5\xCE\xB7\xCE\xB9\xCE\xBF\xCF\x85\xCF\x89\xCE\xB9\xCF\x85\xCE\xB9\xCF\x85");
    /* Ёлкин^Пётр -> елкин^петр */
    assert_string_equal(fold("\xD0\x81\xD0\xBB\xD0\xBA\xD0\xB8\xD0\xBD^\xD0\x9F\xD1\x91\xD1\x82\xD1\x80"),
                        "\xD0\xB5\xD0\xBB\xD0\xBA\xD0\xB8\xD0\xBD^\xD0\xBF\xD0\xB5\xD1\x82\xD1\x80");
    /* Й й Ї ї Ў ў Ґ ґ -> и и і і у у ґ ґ */
    assert_string_equal(fold("\xD0\x99\xD0\xB9\xD0\x87\xD1\x97\xD0\x8E\xD1\x9E\xD2\x90\xD2\x91"),
                        "\xD0\xB8\xD0\xB8\xD1\x96\xD1\x96\xD1\x83\xD1\x83\xD2\x91\xD2\x91");
    /* ЖЩЯ -> жщя; Ә Ө (Kazakh) -> ә ө */
    assert_string_equal(fold("\xD0\x96\xD0\xA9\xD0\xAF\xD3\x98\xD3\xA8"), "\xD0\xB6\xD1\x89\xD1\x8F\xD3\x99\xD3\xA9");
}

static void test_fold_keeps_others(void **state)
{
    (void)state;
    /* wildcards, PN delimiters, digits and punctuation; CJK and Hangul as they are */
    assert_string_equal(fold("*?^=\\ 1-2.,'()"), "*?^=\\ 1-2.,'()");
    assert_string_equal(fold("\xE5\xB1\xB1\xE7\x94\xB0^\xE5\xA4\xAA\xE9\x83\x8E"), "\xE5\xB1\xB1\xE7\x94\xB0^\xE5\xA4\xAA\xE9\x83\x8E");
    assert_string_equal(fold("\xED\x99\x8D^\xEA\xB8\xB8\xEB\x8F\x99"), "\xED\x99\x8D^\xEA\xB8\xB8\xEB\x8F\x99");
    assert_string_equal(fold("\xC3\x97\xC3\xB7"), "\xC3\x97\xC3\xB7"); /* × ÷: no letters */
    assert_string_equal(fold("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80"); /* 4 bytes */
    assert_string_equal(fold(""), "");
}

/* A byte that does not decode passes through as it is, one at a time; nothing reads past len. */
static void test_fold_invalid_utf8(void **state)
{
    (void)state;
    assert_string_equal(fold("\xFF"), "\xFF");
    assert_string_equal(fold("\xC3\x28"), "\xC3("); /* a lead byte without its continuation */
    assert_string_equal(fold("\xE9t\xE9"), "\xE9t\xE9"); /* Latin-1 été, not UTF-8 */
    assert_string_equal(fold("\xC0\xAF" "A"), "\xC0\xAF" "a"); /* overlong */
    assert_string_equal(fold("\xED\xA0\x80" "B"), "\xED\xA0\x80" "b"); /* a surrogate */
    assert_string_equal(fold("\xF4\x90\x80\x80"), "\xF4\x90\x80\x80"); /* above U+10FFFF */
    assert_string_equal(fold("A\x80\xBF" "\xC3\x89"), "a\x80\xBF" "e");
    /* a sequence cut by len: its bytes pass through, none after len is read (an exact-size heap copy: ASan) */
    static const struct {
        const char *in, *out;
    } cut[] = {{"\xC3", "\xC3"}, {"\xE2\xB1", "\xE2\xB1"}, {"\xF0\x9F\x98", "\xF0\x9F\x98"}, {"J\xC3\xA9r\xC3", "jer\xC3"}};
    for (size_t k = 0; k < sizeof cut / sizeof cut[0]; k++) {
        size_t len = strlen(cut[k].in);
        char *in = malloc(len);
        assert_non_null(in);
        memcpy(in, cut[k].in, len);
        char out[16];
        assert_int_equal(dv_pn_fold(in, len, out, sizeof out), strlen(cut[k].out));
        assert_string_equal(out, cut[k].out);
        free(in);
    }
}

/* out never gets more than cap bytes; a character that does not fit whole is left out with all after it, the
 * result is a NUL-terminated prefix of the whole fold. */
static void test_fold_buffer_limits(void **state)
{
    (void)state;
    const char *in = "J\xC3\xA9r\xC3\xB4me\xD0\x81\xD0\x81"; /* Jérôme ЁЁ: "jerome" then two 2-byte letters */
    const char *whole = "jerome\xD0\xB5\xD0\xB5";
    size_t len = strlen(in);
    for (size_t cap = 0; cap <= len + 2; cap++) {
        char out[64];
        memset(out, 0x55, sizeof out);
        size_t n = dv_pn_fold(in, len, out, cap);
        for (size_t k = cap; k < sizeof out; k++)
            assert_int_equal((unsigned char)out[k], 0x55);
        if (cap == 0) {
            assert_int_equal(n, 0);
            continue;
        }
        assert_true(n < cap);
        assert_int_equal(out[n], '\0');
        assert_true(memcmp(out, whole, n) == 0);
        /* no half character: the prefix ends on a character boundary of the whole fold */
        size_t expect = cap - 1 >= 10 ? 10 : cap - 1 >= 8 ? 8 : cap - 1 >= 6 ? 6 : cap - 1;
        assert_int_equal(n, expect);
    }
}

/* Every code point: its fold is never longer in UTF-8, and folding it again changes nothing (an upper-case letter
 * and its fold meet in one form). */
static void test_fold_every_code_point(void **state)
{
    (void)state;
    for (uint32_t cp = 1; cp <= 0x10FFFF; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        char in[5], once[8], twice[8];
        size_t n;
        if (cp < 0x80) {
            in[0] = (char)cp;
            n = 1;
        } else if (cp < 0x800) {
            in[0] = (char)(0xC0 | (cp >> 6));
            in[1] = (char)(0x80 | (cp & 0x3F));
            n = 2;
        } else if (cp < 0x10000) {
            in[0] = (char)(0xE0 | (cp >> 12));
            in[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
            in[2] = (char)(0x80 | (cp & 0x3F));
            n = 3;
        } else {
            in[0] = (char)(0xF0 | (cp >> 18));
            in[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
            in[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
            in[3] = (char)(0x80 | (cp & 0x3F));
            n = 4;
        }
        size_t a = dv_pn_fold(in, n, once, sizeof once); /* room for a longer fold, so that one shows */
        if (a > n)
            fail_msg("U+%04X folds longer", (unsigned)cp);
        size_t b = dv_pn_fold(once, a, twice, sizeof twice);
        if (a != b || memcmp(once, twice, a) != 0)
            fail_msg("U+%04X: folding its fold changes it", (unsigned)cp);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fold_latin),
        cmocka_unit_test(test_fold_greek_cyrillic),
        cmocka_unit_test(test_fold_keeps_others),
        cmocka_unit_test(test_fold_invalid_utf8),
        cmocka_unit_test(test_fold_buffer_limits),
        cmocka_unit_test(test_fold_every_code_point),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
