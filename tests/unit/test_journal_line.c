/* The --resume journal's D line (src/cli/journal_line.c): what the writer writes parses back to the same fields,
 * findings and pixel entry; a line in any other form is no line (the input is redone); names are only what the
 * output layout makes. The fuzz target fuzz_journal_line checks the same on hostile lines, and its finds under
 * tests/fuzz/regressions/journal_line/ are refused here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dv_testkit.h"

#include "cli/cli.h"

#define PID "fa695493a6d8ca9aabf9f36ecc5786ad"
#define HASH "284dedad0a0aa96761250d75f35d7e7ac5df2c3914d22d0996eef62d9d7728a4"
#define NAME "2.25.1/2.25.2/2.25.3.dcm"

static dv_key *test_key(unsigned char fill)
{
    dv_key *k = dvt_key_filled(fill);
    assert_non_null(k);
    return k;
}

static int parses(const char *line)
{
    dvc_jline d;
    return dvc_jline_parse_d(line, strlen(line), &d) == 0;
}

static void test_round_trip(void **state)
{
    (void)state;
    dvc_jline d = {.index = 12, .dup = 0, .size = 3320, .mtime_ns = 1796387223735532481ll};
    strcpy(d.pathid, PID);
    strcpy(d.name, NAME);
    strcpy(d.hash, HASH);
    uint32_t f[DV_RESULT_TEXT_TYPES] = {0};
    f[0] = 2;
    f[5] = 1;
    dvc_pixels px = {.frames = 3, .boxes = 2, .ran = 1, .transfer_syntax = "1.2.840.10008.1.2.4.91"};
    char line[DVC_JLINE_MAX];
    size_t n = dvc_jline_format_d(line, sizeof line, &d, f, &px);
    assert_string_equal(line, "D 12 " PID " 3320 1796387223735532481 ok " NAME " " HASH
                              " 0:2,5:1 1:3:2:0:0:1.2.840.10008.1.2.4.91\n");
    dvc_jline back;
    assert_int_equal(dvc_jline_parse_d(line, n - 1, &back), 0);
    assert_int_equal(back.index, 12);
    assert_string_equal(back.name, NAME);
    uint32_t *f2 = dvc_jline_findings(line, n - 1);
    dvc_pixels *px2 = dvc_jline_pixels(line, n - 1);
    assert_non_null(f2);
    assert_non_null(px2);
    assert_memory_equal(f2, f, sizeof f);
    assert_int_equal(px2->boxes, 2);
    assert_string_equal(px2->transfer_syntax, px.transfer_syntax);
    free(f2);
    free(px2);
    /* No findings, no pixel entry: both fields "-". */
    n = dvc_jline_format_d(line, sizeof line, &d, NULL, NULL);
    assert_true(parses(strtok(line, "\n")));
    assert_null(dvc_jline_findings(line, strlen(line)));
    assert_null(dvc_jline_pixels(line, strlen(line)));
}

static void test_other_forms_refused(void **state)
{
    (void)state;
    assert_true(parses("D 3 " PID " 3320 17 duplicate - - - -"));
    assert_false(parses("D 3 " PID " 3320 17 duplicate - - -"));         /* format 2: no pixels field */
    assert_false(parses("D 3 " PID " 3320 17 duplicate - - - -  "));     /* trailing spaces */
    assert_false(parses("D 3 " PID " 3320 17 duplicate\t- - - -"));      /* a tab for a space */
    assert_false(parses("D 03 " PID " 3320 17 duplicate - - - -"));      /* a leading zero */
    assert_false(parses("D +3 " PID " 3320 17 duplicate - - - -"));      /* a sign */
    assert_false(parses("D 3" PID " 3320 17 duplicate - - - -"));        /* a number glued to the next field */
    assert_false(parses("D 3 " PID " 3320 17 maybe - - - -"));           /* another status */
    assert_false(parses("D 3 " PID " 3320 17 ok " NAME " " HASH " 0: -")); /* findings without a count */
    assert_false(parses("D 3 " PID " 3320 17 ok " NAME " " HASH " - 1:2"));  /* a short pixel entry */
    /* fuzz_journal_line's first find: a number glued to the next field and a tab separator were read as a line */
    FILE *fp = fopen(DV_SOURCE_DIR "/tests/fuzz/regressions/journal_line/number-glued-to-next-field-and-tab-separator",
                     "rb");
    assert_non_null(fp);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
        assert_false(parses(line));
}

static void test_names(void **state)
{
    (void)state;
    assert_true(dvc_jline_name_ok(NAME));
    assert_true(dvc_jline_name_ok("_invalid-0123456789abcdef/_noseries/2.25.9.dcm"));
    assert_false(dvc_jline_name_ok("-"));
    assert_false(dvc_jline_name_ok("/2.25.1/2.25.2/3.dcm"));
    assert_false(dvc_jline_name_ok("../2.25.2/3.dcm"));
    assert_false(dvc_jline_name_ok("2.25.1/../3.dcm"));
    assert_false(dvc_jline_name_ok("2.25.1/./3.dcm"));
    assert_false(dvc_jline_name_ok("2.25.1//3.dcm"));
    assert_false(dvc_jline_name_ok("2.25.1/2.25.2"));
    assert_false(dvc_jline_name_ok("a/b/c/d.dcm"));
    assert_false(dvc_jline_name_ok("A/B/C.dcm"));
}

/* Every C and D line ends in " <mac>" (dvc_jline_seal): a line is trusted only when that MAC is the body's
 * under the run's key; any edit of the body or the MAC, a MAC in another form, no MAC (an older journal's line)
 * or another key refuses it. [docs/decisions.md "A journal line is trusted only with its MAC"] */
static void test_mac(void **state)
{
    (void)state;
    dv_key *k = test_key(7), *other = test_key(8);
    const char *bodies[] = {"D 12 " PID " 3320 17 ok " NAME " " HASH " 0:2,5:1 1:3:2:0:0:1.2.840.10008.1.2.4.91",
                            "C 0 " NAME};
    for (size_t b = 0; b < sizeof bodies / sizeof *bodies; b++) {
        char line[DVC_JLINE_SEALED_MAX];
        size_t blen = strlen(bodies[b]);
        strcpy(line, bodies[b]);
        size_t n = dvc_jline_seal(k, line, blen, sizeof line);
        assert_int_equal(n, blen + 1 + DVC_JLINE_MAC_HEX + 1);
        assert_int_equal(line[n - 1], '\n');
        size_t len = n - 1;
        assert_int_equal(dvc_jline_unseal(k, line, len), (long)blen);
        assert_memory_equal(line, bodies[b], blen);
        assert_int_equal(dvc_jline_unseal(other, line, len), -1);        /* another run's key */
        assert_int_equal(dvc_jline_unseal(k, bodies[b], blen), -1);      /* no MAC: an older journal's line */
        assert_int_equal(dvc_jline_unseal(k, line, len - 1), -1);        /* a cut MAC */
        line[blen] = '\t';
        assert_int_equal(dvc_jline_unseal(k, line, len), -1);            /* another separator */
        line[blen] = ' ';
        for (size_t i = 0; i < len; i++) {                               /* any one byte changed */
            char keep = line[i];
            line[i] = keep == '1' ? '2' : '1';
            assert_int_equal(dvc_jline_unseal(k, line, len), -1);
            line[i] = keep;
        }
        for (size_t i = blen + 1; i < len; i++) /* the same MAC in capitals is another form: refused */
            if (line[i] >= 'a' && line[i] <= 'f')
                line[i] = (char)(line[i] - 'a' + 'A');
        if (strpbrk(line + blen + 1, "ABCDEF"))
            assert_int_equal(dvc_jline_unseal(k, line, len), -1);
        strcpy(line, bodies[b]);
        assert_int_equal(dvc_jline_seal(k, line, blen, blen + DVC_JLINE_MAC_HEX + 2), 0); /* no room: no line */
    }
    assert_int_equal(dvc_jline_unseal(k, "", 0), -1);
    /* An empty body seals and opens too (fuzz_journal_line's find: unseal wanted a body of one byte or more). */
    char empty[DVC_JLINE_SEALED_MAX] = "";
    size_t n = dvc_jline_seal(k, empty, 0, sizeof empty);
    assert_int_equal(n, 1 + DVC_JLINE_MAC_HEX + 1);
    assert_int_equal(dvc_jline_unseal(k, empty, n - 1), 0);
    dv_key_free(k);
    dv_key_free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_other_forms_refused),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_mac),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
