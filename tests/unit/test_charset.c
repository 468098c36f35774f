/* Character sets (src/dicom/charset_*.c): SpecificCharacterSet terms, inheritance into items, decoding to
 * UTF-8 and encoding back, over the PS3.5 Annex H/I/J/K examples and the character-set test files.
 * The corpus files themselves are compared with pydicom in tests/integration/test_charset_corpus.py. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <iconv.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dicomveil/dicomveil.h"
#include "dicom/dv_charset.h"
#include "dicom/charset_internal.h"
#include "dicom/dv_ds.h"
#include "dicom/dv_vr.h"
#include "dv_build.h"

static uint16_t vr_of(const char *s)
{
    return dv_vr_from_chars(s);
}

static dv_charset cs_of(const char *value)
{
    dv_charset cs;
    dv_charset_parse((const uint8_t *)value, strlen(value), &cs);
    return cs;
}

typedef struct example {
    const char *name;
    const char *cs;   /* (0008,0005) value */
    const char *vr;
    const char *bytes;
    size_t len;
    const char *utf8; /* expected decoded text */
    unsigned style;   /* expected DV_CS_STYLE_* */
} example;

/* Annex H (Japanese), I (Korean), J (Chinese, UTF-8 and GB18030), K (Chinese, ISO 2022 IR 58) examples as
 * printed in PS3.5, the escape-sequence habits of pydicom's charset files, and one value per single-byte
 * set (names from Clunie's chr*.dcm test files, or built in the set). The expected text is UTF-8. */
static const example examples[] = {
    { "H.3.1 Japanese, value 1 empty", "\x5cISO 2022 IR 87", "PN", "Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$\x3f$m$&\x1b(B", 60, "Yamada^Tarou=\xe5\xb1\xb1\xe7\x94\xb0^\xe5\xa4\xaa\xe9\x83\x8e=\xe3\x82\x84\xe3\x81\xbe\xe3\x81\xa0^\xe3\x81\x9f\xe3\x82\x8d\xe3\x81\x86", 0 },
    { "H.3.2 Japanese, value 1 ISO 2022 IR 13", "ISO 2022 IR 13\x5cISO 2022 IR 87", "PN", "\xd4\xcf\xc0\xde^\xc0\xdb\xb3=\x1b$B;3ED\x1b(J^\x1b$BB@O:\x1b(J=\x1b$B$d$^$@\x1b(J^\x1b$B$\x3f$m$&\x1b(J", 56, "\xef\xbe\x94\xef\xbe\x8f\xef\xbe\x80\xef\xbe\x9e^\xef\xbe\x80\xef\xbe\x9b\xef\xbd\xb3=\xe5\xb1\xb1\xe7\x94\xb0^\xe5\xa4\xaa\xe9\x83\x8e=\xe3\x82\x84\xe3\x81\xbe\xe3\x81\xa0^\xe3\x81\x9f\xe3\x82\x8d\xe3\x81\x86", 0 },
    { "H, ESC ( B return under IR 13 (pydicom chrSQEncoding1)", "ISO 2022 IR 13\x5cISO 2022 IR 87", "PN", "\xd4\xcf\xc0\xde^\xc0\xdb\xb3=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B", 30, "\xef\xbe\x94\xef\xbe\x8f\xef\xbe\x80\xef\xbe\x9e^\xef\xbe\x80\xef\xbe\x9b\xef\xbd\xb3=\xe5\xb1\xb1\xe7\x94\xb0^\xe5\xa4\xaa\xe9\x83\x8e", 4 },
    { "H, JIS X 0212 (IR 159)", "\x5cISO 2022 IR 87\x5cISO 2022 IR 159", "LO", "\x1b$B;3\x1b$(D0!\x1b(B", 14, "\xe5\xb1\xb1\xe4\xb8\x82", 0 },
    { "I.2 Korean PN", "\x5cISO 2022 IR 149", "PN", "Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7=\x1b$)C\xc8\xab^\x1b$)C\xb1\xe6\xb5\xbf", 44, "Hong^Gildong=\xe6\xb4\xaa^\xe5\x90\x89\xe6\xb4\x9e=\xed\x99\x8d^\xea\xb8\xb8\xeb\x8f\x99", 0 },
    { "I.3 Korean LT, G1 designated at the head of each line", "\x5cISO 2022 IR 149", "LT", "\x1b$)CThe first line includes \xc7\xd1\xb1\xdb.\x0d\x0a\x1b$)CThe second line includes \xc7\xd1\xb1\xdb, too.\x0d\x0aThe third line", 90, "The first line includes \xed\x95\x9c\xea\xb8\x80.\x0d\x0aThe second line includes \xed\x95\x9c\xea\xb8\x80, too.\x0d\x0aThe third line", 2 },
    { "Korean, G1 runs closed by ESC ( B (pydicom chrKoreanMulti)", "\x5cISO 2022 IR 149", "PN", "\x1b$)C\xb1\xe8\xc8\xf1\xc1\xdf\x1b(B\x5c\x1b$)C\xb1\xe8\xc8\xf1\xc1\xdf\x1b(B ", 28, "\xea\xb9\x80\xed\x9d\xac\xec\xa4\x91\x5c\xea\xb9\x80\xed\x9d\xac\xec\xa4\x91 ", 1 },
    { "J.1 Chinese PN in UTF-8", "ISO_IR 192", "PN", "Wang^XiaoDong=\xe7\x8e\x8b^\xe5\xb0\x8f\xe6\x9d\xb1=", 25, "Wang^XiaoDong=\xe7\x8e\x8b^\xe5\xb0\x8f\xe6\x9d\xb1=", 0 },
    { "J.2 Chinese LT in UTF-8", "ISO_IR 192", "LT", "The first line includes\xe4\xb8\xad\xe6\x96\x87.\x0d\x0aThe second line includes\xe4\xb8\xad\xe6\x96\x87, too.\x0d\x0aThe third line.\x0d\x0a", 87, "The first line includes\xe4\xb8\xad\xe6\x96\x87.\x0d\x0aThe second line includes\xe4\xb8\xad\xe6\x96\x87, too.\x0d\x0aThe third line.\x0d\x0a", 0 },
    { "J.3 Chinese PN in GB18030", "GB18030", "PN", "Wang^XiaoDong=\xcd\xf5^\xd0\xa1\xb6\xab=", 22, "Wang^XiaoDong=\xe7\x8e\x8b^\xe5\xb0\x8f\xe4\xb8\x9c=", 0 },
    { "J.4 Chinese LT in GB18030", "GB18030", "LT", "The first line includes\xd6\xd0\xce\xc4.\x0d\x0aThe second line includes\xd6\xd0\xce\xc4, too.\x0d\x0aThe third line.\x0d\x0a", 83, "The first line includes\xe4\xb8\xad\xe6\x96\x87.\x0d\x0aThe second line includes\xe4\xb8\xad\xe6\x96\x87, too.\x0d\x0aThe third line.\x0d\x0a", 0 },
    { "GB18030 four-byte sequence", "GB18030", "LO", "\xa2\xe3\x95" "2\x82" "6", 6, "\xe2\x82\xac\xf0\xa0\x80\x80", 0 },
    { "GBK PN", "GBK", "PN", "Wang^XiaoDong=\xcd\xf5^\xd0\xa1\xb6\xab=", 22, "Wang^XiaoDong=\xe7\x8e\x8b^\xe5\xb0\x8f\xe4\xb8\x9c=", 0 },
    { "K.2 Chinese PN, ISO 2022 IR 58", "\x5cISO 2022 IR 58", "PN", "Zhang^XiaoDong=\x1b$)A\xd5\xc5^\x1b$)A\xd0\xa1\xb6\xab=", 31, "Zhang^XiaoDong=\xe5\xbc\xa0^\xe5\xb0\x8f\xe4\xb8\x9c=", 0 },
    { "K.3 Chinese LT, ISO 2022 IR 58, G1 runs closed", "\x5cISO 2022 IR 58", "LT", "1.\x1b$)A\xb5\xda\xd2\xbb\xd0\xd0\xce\xc4\xd7\xd6\xa1\xa3\x1b(B\x0d\x0a" "2.\x1b$)A\xb5\xda\xb6\xfe\xd0\xd0\xce\xc4\xd7\xd6\xa1\xa3\x1b(B\x0d\x0a" "3.\x1b$)A\xb5\xda\xc8\xfd\xd0\xd0\xce\xc4\xd7\xd6\xa1\xa3\x1b(B\x0d\x0a ", 70, "1.\xe7\xac\xac\xe4\xb8\x80\xe8\xa1\x8c\xe6\x96\x87\xe5\xad\x97\xe3\x80\x82\x0d\x0a" "2.\xe7\xac\xac\xe4\xba\x8c\xe8\xa1\x8c\xe6\x96\x87\xe5\xad\x97\xe3\x80\x82\x0d\x0a" "3.\xe7\xac\xac\xe4\xb8\x89\xe8\xa1\x8c\xe6\x96\x87\xe5\xad\x97\xe3\x80\x82\x0d\x0a ", 1 },
    { "Latin-1 (chrFren)", "ISO_IR 100", "PN", "Buc^J\xe9r\xf4me", 10, "Buc^J\xc3\xa9r\xc3\xb4me", 0 },
    { "Latin-1 (chrGerm)", "ISO_IR 100", "PN", "\xc4neas^R\xfc" "diger ", 14, "\xc3\x84neas^R\xc3\xbc" "diger ", 0 },
    { "Latin-2", "ISO_IR 101", "PN", "\xa3\xf3" "d\xbc^\xaeofie", 10, "\xc5\x81\xc3\xb3" "d\xc5\xba^\xc5\xbdofie", 0 },
    { "Latin-3", "ISO_IR 109", "PN", "\xd8is^\xc6u", 6, "\xc4\x9cis^\xc4\x88u", 0 },
    { "Latin-4", "ISO_IR 110", "PN", "\xd3^\xa6", 3, "\xc4\xb6^\xc4\xbb", 0 },
    { "Cyrillic (chrRuss)", "ISO_IR 144", "PN", "\xbb\xee\xda" "ce\xdc\xd1yp\xd3", 10, "\xd0\x9b\xd1\x8e\xd0\xba" "ce\xd0\xbc\xd0\xb1yp\xd0\xb3", 0 },
    { "Arabic (chrArab)", "ISO_IR 127", "PN", "\xe2\xc8\xc7\xe6\xea^\xe4\xe6\xd2\xc7\xd1 ", 12, "\xd9\x82\xd8\xa8\xd8\xa7\xd9\x86\xd9\x8a^\xd9\x84\xd9\x86\xd8\xb2\xd8\xa7\xd8\xb1 ", 0 },
    { "Greek (chrGreek)", "ISO_IR 126", "PN", "\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2 ", 10, "\xce\x94\xce\xb9\xce\xbf\xce\xbd\xcf\x85\xcf\x83\xce\xb9\xce\xbf\xcf\x82 ", 0 },
    { "Hebrew (chrHbrw)", "ISO_IR 138", "PN", "\xf9\xf8\xe5\xef^\xe3\xe1\xe5\xf8\xe4", 10, "\xd7\xa9\xd7\xa8\xd7\x95\xd7\x9f^\xd7\x93\xd7\x91\xd7\x95\xd7\xa8\xd7\x94", 0 },
    { "Latin-5", "ISO_IR 148", "PN", "\xddstanbul^\xdeule", 13, "\xc4\xb0stanbul^\xc5\x9eule", 0 },
    { "Latin-9", "ISO_IR 203", "LO", "\xa4uro \xbcuvre", 10, "\xe2\x82\xacuro \xc5\x92uvre", 0 },
    { "Thai", "ISO_IR 166", "PN", "\xb7\xb4\xca\xcd\xba^\xfb", 7, "\xe0\xb8\x97\xe0\xb8\x94\xe0\xb8\xaa\xe0\xb8\xad\xe0\xb8\x9a^\xe0\xb9\x9b", 0 },
    { "JIS X 0201 (ISO_IR 13)", "ISO_IR 13", "PN", "\xd4\xcf\xc0\xde^\xc0\xdb\xb3", 8, "\xef\xbe\x94\xef\xbe\x8f\xef\xbe\x80\xef\xbe\x9e^\xef\xbe\x80\xef\xbe\x9b\xef\xbd\xb3", 0 },
    { "Latin-1 and Greek by code extension", "ISO 2022 IR 100\x5cISO 2022 IR 126", "LO", "caf\xe9 \x1b-F\xe1\xe2\x1b-A\xe9", 14, "caf\xc3\xa9 \xce\xb1\xce\xb2\xc3\xa9", 0 },
    { "Default repertoire", "", "LO", "PLAIN TEXT", 10, "PLAIN TEXT", 0 },
};

/* One example decoded, and the decoded text encoded back with the decoded style (only when decoding
 * succeeded: encode_rc is -1 otherwise). Shared by the round-trip test and the per-worker threads. */
typedef struct round_trip {
    char text[1024];
    uint8_t back[1024];
    dv_cs_decoded d;
    size_t blen, bad;
    int decode_rc, encode_rc;
} round_trip;

static void run_round_trip(dv_charset_ctx *ctx, const example *ex, round_trip *rt)
{
    dv_charset cs = cs_of(ex->cs);
    uint16_t vr = vr_of(ex->vr);
    dv_error err = { 0 };
    memset(rt, 0, sizeof *rt);
    rt->decode_rc = dv_charset_decode(ctx, &cs, vr, (const uint8_t *)ex->bytes, ex->len, rt->text, sizeof rt->text,
                                      &rt->d, &err);
    rt->encode_rc = rt->decode_rc != 0 ? -1
                                        : dv_charset_encode(ctx, &cs, vr, rt->text, rt->d.len, rt->d.style, rt->back,
                                                            sizeof rt->back, &rt->blen, &rt->bad, &err);
}

/* Decode gives the expected text, flags 0 and the expected style; encoding that text back with that style
 * gives the original bytes exactly. */
static void test_annex_round_trips(void **state)
{
    (void)state;
    dv_charset_ctx *ctx = dv_charset_ctx_new();
    assert_non_null(ctx);
    for (size_t k = 0; k < sizeof examples / sizeof examples[0]; k++) {
        const example *ex = &examples[k];
        round_trip rt;
        print_message("example: %s\n", ex->name);
        run_round_trip(ctx, ex, &rt);
        assert_int_equal(rt.decode_rc, 0);
        assert_int_equal(rt.d.flags, 0);
        assert_int_equal(rt.d.style, ex->style);
        assert_int_equal(rt.d.len, strlen(ex->utf8));
        assert_memory_equal(rt.text, ex->utf8, rt.d.len);
        assert_true(rt.d.len <= DV_CHARSET_DECODE_BOUND(ex->len));
        assert_int_equal(rt.encode_rc, DV_CHARSET_OK);
        assert_int_equal(rt.blen, ex->len);
        assert_memory_equal(rt.back, ex->bytes, rt.blen);
        assert_true(rt.blen <= DV_CHARSET_ENCODE_BOUND(rt.d.len));
    }
    dv_charset_ctx_free(ctx);
}

static void test_parse_terms(void **state)
{
    (void)state;
    dv_charset cs = cs_of("");
    assert_int_equal(cs.nterms, 1);
    assert_int_equal(cs.terms[0], DV_CST_DEFAULT);
    assert_int_equal(cs.iso2022, 0);
    assert_int_equal(cs.flags, 0);

    cs = cs_of("ISO_IR 100 ");
    assert_int_equal(cs.terms[0], DV_CST_IR100);
    assert_int_equal(cs.iso2022, 0);
    assert_int_equal(cs.flags, 0);

    cs = cs_of("\\ISO 2022 IR 87");
    assert_int_equal(cs.nterms, 2);
    assert_int_equal(cs.terms[0], DV_CST_DEFAULT);
    assert_int_equal(cs.terms[1], DV_CST_IR87);
    assert_int_equal(cs.iso2022, 1);
    assert_int_equal(cs.flags, 0);
    assert_string_equal(dv_charset_term_name(&cs, 0), "");
    assert_string_equal(dv_charset_term_name(&cs, 1), "ISO 2022 IR 87");

    cs = cs_of("ISO 2022 IR 100"); /* single-valued with the ISO 2022 spelling: escapes honoured */
    assert_int_equal(cs.terms[0], DV_CST_IR100);
    assert_int_equal(cs.iso2022, 1);
    assert_int_equal(cs.flags, 0);

    cs = cs_of("ISO_IR 13\\ISO 2022 IR 87"); /* a common mix: code extensions, spelling flagged */
    assert_int_equal(cs.terms[0], DV_CST_IR13);
    assert_int_equal(cs.iso2022, 1);
    assert_int_equal(cs.flags, DV_CHARSET_F_NONSTANDARD);

    cs = cs_of("iso ir 100");
    assert_int_equal(cs.terms[0], DV_CST_IR100);
    assert_int_equal(cs.flags, DV_CHARSET_F_NONSTANDARD);

    cs = cs_of("ISO_IR 192\\GB18030"); /* sets without code extensions stand alone */
    assert_int_equal(cs.nterms, 1);
    assert_int_equal(cs.terms[0], DV_CST_IR192);
    assert_int_equal(cs.iso2022, 0);
    assert_true(dv_charset_is_utf8(&cs));
    assert_int_equal(cs.flags, DV_CHARSET_F_NONSTANDARD);

    cs = cs_of("ISO 2022 IR 149"); /* Korean habit: multi-byte set as value 1 */
    assert_int_equal(cs.terms[0], DV_CST_IR149);
    assert_int_equal(cs.iso2022, 1);
    assert_int_equal(cs.flags, DV_CHARSET_F_NONSTANDARD);

    cs = cs_of("KLINGON");
    assert_int_equal(cs.terms[0], DV_CST_UNKNOWN);
    assert_int_equal(cs.flags, DV_CHARSET_F_UNKNOWN_TERM);

    cs = cs_of("\\ISO 2022 IR 87\\ISO 2022 IR 87\\ISO 2022 IR 87\\ISO 2022 IR 87\\ISO 2022 IR 87\\ISO 2022 IR 87"
               "\\ISO 2022 IR 87\\ISO 2022 IR 87\\ISO 2022 IR 87");
    assert_int_equal(cs.nterms, DV_CHARSET_MAX_TERMS);
    assert_true(cs.flags & DV_CHARSET_F_TOO_MANY);

    assert_true(dv_charset_vr_applies(DV_VR_PN));
    assert_true(dv_charset_vr_applies(DV_VR_UT));
    assert_false(dv_charset_vr_applies(DV_VR_CS));
    assert_false(dv_charset_vr_applies(DV_VR_UR));
    assert_false(dv_charset_vr_applies(DV_VR_AE));
}

static void decode_ok(dv_charset_ctx *ctx, const char *csv, const char *vr, const char *in, size_t len,
                      const char *want, unsigned want_flags)
{
    dv_charset cs = cs_of(csv);
    char text[512];
    dv_cs_decoded d;
    dv_error err = { 0 };
    assert_int_equal(dv_charset_decode(ctx, &cs, vr_of(vr), (const uint8_t *)in, len, text, sizeof text, &d, &err), 0);
    assert_int_equal(d.flags, want_flags);
    assert_int_equal(d.len, strlen(want));
    assert_memory_equal(text, want, d.len);
    assert_true(d.len <= DV_CHARSET_DECODE_BOUND(len));
}

/* PS3.5 6.1.2.5.3: delimiters count only in a single-byte G0; the state returns to value 1's sets at each. */
static void test_delimiters(void **state)
{
    (void)state;
    dv_charset_ctx *ctx = dv_charset_ctx_new();
    /* JIS X 0208 0x245C ("ぼ") has a backslash as second byte: one character, not two values. */
    decode_ok(ctx, "\\ISO 2022 IR 87", "PN", "\x1b$B$\\\x1b(B", 8, "\xe3\x81\xbc", 0);
    /* A control character (CR) returns G0 to ASCII even without ESC ( B. */
    decode_ok(ctx, "\\ISO 2022 IR 87", "LT", "\x1b$B;3\r;3", 8, "\xe5\xb1\xb1\r;3", 0);
    /* In LT a backslash is text: the JIS state continues across it only if G0 is single-byte... here ASCII. */
    decode_ok(ctx, "\\ISO 2022 IR 87", "LT", "a\\b", 3, "a\\b", 0);
    /* After ^ the G1 designation lapses; a Korean byte pair without a new ESC $ ) C is read leniently. */
    decode_ok(ctx, "\\ISO 2022 IR 149", "PN", "\x1b$)C\xfb\xf3^\xd1\xce", 9, "\xe6\xb4\xaa^\xe5\x90\x89", DV_CS_LENIENT);
    /* ... and in LT (no ^ delimiter) it does not lapse: Annex I.3. */
    decode_ok(ctx, "\\ISO 2022 IR 149", "LT", "\x1b$)C\xfb\xf3^\xd1\xce", 9, "\xe6\xb4\xaa^\xe5\x90\x89", 0);
    /* JIS X 0201 Romaji is read as ASCII: 0x5C is the value delimiter, 0x7E a tilde (as pydicom does). */
    decode_ok(ctx, "ISO_IR 13", "LO", "A\\~", 3, "A\\~", 0);
    dv_charset_ctx_free(ctx);
}

/* Text of bytes below 0x80 (and no ESC where ISO 2022 applies) is copied by dv_charset_decode and, outside ISO 2022,
 * dv_charset_encode, without the ISO 2022 codec (charset_codec.c, cs_plain_ascii): the copy must be what the codec
 * gives, flags and style included. Every such byte, in random strings from a fixed seed, under sets with each
 * initial G0 (ASCII, JIS X 0201 Romaji) and with ISO 2022 or not, in VRs with and without delimiters; and output
 * buffers too small (the same bytes fit, then overflow). Strings with ESC under ISO 2022 must not be copied. */
static void test_plain_ascii_as_written(void **state)
{
    (void)state;
    static const char *const sets[] = {"", "ISO_IR 100", "ISO_IR 13", "ISO_IR 144", "ISO_IR 166",
                                       "\\ISO 2022 IR 87", "ISO 2022 IR 6\\ISO 2022 IR 100", "ISO 2022 IR 13\\ISO 2022 IR 87"};
    static const char *const vrs[] = {"PN", "LO", "LT", "UT", "SH"};
    dv_charset_ctx *ctx = dv_charset_ctx_new();
    uint32_t x = 12345u;
    uint8_t in[300], fast[300], slow[300];
    for (size_t si = 0; si < sizeof sets / sizeof sets[0]; si++) {
        dv_charset cs = cs_of(sets[si]);
        for (size_t vi = 0; vi < sizeof vrs / sizeof vrs[0]; vi++) {
            uint16_t vr = vr_of(vrs[vi]);
            for (int round = 0; round < 300; round++) {
                x = x * 1664525u + 1013904223u;
                size_t n = (x >> 8) % 200, cap = round % 7 == 0 ? n / 2 : sizeof fast;
                for (size_t k = 0; k < n; k++) {
                    x = x * 1664525u + 1013904223u;
                    in[k] = (uint8_t)((x >> 24) & 0x7F);
                    if (round % 2 && in[k] == 0x1B)
                        in[k] = '\\'; /* half the strings without ESC: the copy's case under ISO 2022 too */
                }
                int copied = !(cs.iso2022 && memchr(in, 0x1B, n));
                dv_cs_decoded d;
                dv_error err = {0};
                int rf = dv_charset_decode(ctx, &cs, vr, in, n, (char *)fast, cap, &d, &err);
                cs_out o = {slow, cap, 0, 0};
                unsigned flags = 0, style = 0;
                assert_int_equal(cs_decode_iso2022(ctx, &cs, vr, in, n, &o, &flags, &style, &err), 0);
                assert_int_equal(rf == 0, !o.overflow);
                if (rf == 0) {
                    assert_int_equal(d.len, o.len);
                    assert_memory_equal(fast, slow, o.len);
                    assert_int_equal(d.flags, flags);
                    assert_int_equal(d.style, style);
                    if (copied)
                        assert_int_equal(d.len, n);
                }
                size_t fl = 0, bad = 0, sbad = 0;
                int ef = dv_charset_encode(ctx, &cs, vr, (const char *)in, n, 0, fast, cap, &fl, &bad, &err);
                cs_out e = {slow, cap, 0, 0};
                int es = cs_encode_iso2022(ctx, &cs, vr, in, n, 0, &e, &sbad, &err);
                if (es == DV_CHARSET_OK && !e.overflow) {
                    assert_int_equal(ef, DV_CHARSET_OK);
                    assert_int_equal(fl, e.len);
                    assert_memory_equal(fast, slow, e.len);
                } else {
                    assert_int_not_equal(ef, DV_CHARSET_OK);
                }
            }
        }
    }
    dv_charset_ctx_free(ctx);
}

/* Invalid bytes: U+FFFD and DV_CS_REPLACED, never a crash, output within the bound. */
static void test_invalid_bytes(void **state)
{
    (void)state;
    dv_charset_ctx *ctx = dv_charset_ctx_new();
    decode_ok(ctx, "", "LO", "A\xe9", 2, "A\xef\xbf\xbd", DV_CS_REPLACED);              /* high byte, ASCII */
    decode_ok(ctx, "ISO_IR 100", "CS", "A\xe9", 2, "A\xef\xbf\xbd", DV_CS_REPLACED);    /* CS: default only */
    decode_ok(ctx, "ISO_IR 192", "LO", "\xc3(", 2, "\xef\xbf\xbd(", DV_CS_REPLACED);    /* bad UTF-8 */
    decode_ok(ctx, "ISO_IR 192", "LO", "\xed\xa0\x80", 3,                                /* surrogate */
              "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", DV_CS_REPLACED);
    decode_ok(ctx, "\\ISO 2022 IR 87", "LO", "\x1b$B;", 4, "\xef\xbf\xbd", DV_CS_REPLACED); /* half a pair */
    decode_ok(ctx, "\\ISO 2022 IR 87", "LO", "\x1b$Zx", 4, "\xef\xbf\xbdx", DV_CS_REPLACED); /* unknown ESC */
    decode_ok(ctx, "\\ISO 2022 IR 87", "LO", "x\x1b", 2, "x\xef\xbf\xbd", DV_CS_REPLACED);   /* lone ESC */
    decode_ok(ctx, "GB18030", "LO", "a\x81", 2, "a\xef\xbf\xbd", DV_CS_REPLACED);          /* truncated lead */
    decode_ok(ctx, "\\ISO 2022 IR 149", "LO", "\x1b$)C\xb1", 5, "\xef\xbf\xbd", DV_CS_REPLACED);
    decode_ok(ctx, "ISO_IR 166", "LO", "\xff", 1, "\xef\xbf\xbd", DV_CS_REPLACED);         /* unassigned */
    /* An undeclared escape is followed, flagged lenient. */
    decode_ok(ctx, "\\ISO 2022 IR 87", "LO", "\x1b-A\xe9", 4, "\xc3\xa9", DV_CS_LENIENT);
    /* Shift-JIS under ISO_IR 13 (orthanc-tests Encodings_Lena-shift-jis.dcm): read, flagged lenient. */
    decode_ok(ctx, "ISO_IR 13", "PN", "Test-\x84" "D\x83\xa6\xc8", 10, "Test-\xd0\x94\xce\x98\xef\xbe\x88",
              DV_CS_LENIENT);
    dv_charset_ctx_free(ctx);
}

static int encode(dv_charset_ctx *ctx, const char *csv, const char *vr, const char *utf8, unsigned style,
                  uint8_t *out, size_t cap, size_t *len, size_t *bad)
{
    dv_charset cs = cs_of(csv);
    dv_error err = { 0 };
    return dv_charset_encode(ctx, &cs, vr_of(vr), utf8, strlen(utf8), style, out, cap, len, bad, &err);
}

/* A replacement the set cannot hold is reported with its offset; the ISO_IR 192 switch then works. */
static void test_unencodable(void **state)
{
    (void)state;
    dv_charset_ctx *ctx = dv_charset_ctx_new();
    uint8_t out[256];
    size_t len = 0, bad = 99;
    assert_int_equal(encode(ctx, "ISO_IR 100", "PN", "Doe^\xe5\xb1\xb1", 0, out, sizeof out, &len, &bad),
                     DV_CHARSET_UNENCODABLE);
    assert_int_equal(bad, 4);
    assert_int_equal(encode(ctx, "", "LO", "caf\xc3\xa9", 0, out, sizeof out, &len, &bad), DV_CHARSET_UNENCODABLE);
    assert_int_equal(bad, 3);
    assert_int_equal(encode(ctx, "ISO_IR 192", "CS", "\xc3\xa9", 0, out, sizeof out, &len, &bad),
                     DV_CHARSET_UNENCODABLE); /* CS is default repertoire in every set */
    assert_int_equal(encode(ctx, "\\ISO 2022 IR 87", "LO", "a\x1b", 0, out, sizeof out, &len, &bad),
                     DV_CHARSET_UNENCODABLE); /* ESC would start an escape sequence */
    assert_int_equal(bad, 1);
    assert_int_equal(encode(ctx, "ISO_IR 13", "PN", "\xd0\x94", 0, out, sizeof out, &len, &bad),
                     DV_CHARSET_UNENCODABLE); /* lenient Shift-JIS is read, never written */
    assert_int_equal(encode(ctx, "GBK", "LO", "\xf0\x9f\x98\x80", 0, out, sizeof out, &len, &bad),
                     DV_CHARSET_UNENCODABLE); /* an emoji is not in GBK ... */
    assert_int_equal(encode(ctx, "GB18030", "LO", "\xf0\x9f\x98\x80", 0, out, sizeof out, &len, &bad),
                     DV_CHARSET_OK);          /* ... but in GB18030 (4 bytes) */
    assert_int_equal(len, 4);
    assert_int_equal(encode(ctx, "ISO_IR 192", "LO", "\xf0\x9f\x98\x80", 0, out, sizeof out, &len, &bad),
                     DV_CHARSET_OK);
    /* Not UTF-8: a usage error, not "unencodable". */
    dv_charset cs = cs_of("ISO_IR 100");
    dv_error err = { 0 };
    assert_int_equal(dv_charset_encode(ctx, &cs, DV_VR_LO, "\xff", 1, 0, out, sizeof out, &len, &bad, &err), -1);
    assert_int_equal(err.code, DV_ERR_USAGE);

    /* The switch to ISO_IR 192: every text value re-encoded from its set; other VRs copied unchanged. */
    dv_charset jp = cs_of("ISO 2022 IR 13\\ISO 2022 IR 87");
    const char *h32 = "\xd4\xcf\xc0\xde^\xc0\xdb\xb3=\x1b$B;3ED\x1b(J^\x1b$BB@O:\x1b(J";
    char u8[256];
    dv_cs_decoded d;
    assert_int_equal(dv_charset_to_utf8(ctx, &jp, DV_VR_PN, (const uint8_t *)h32, strlen(h32), u8, sizeof u8, &d, &err), 0);
    assert_int_equal(d.flags, 0);
    assert_memory_equal(u8, "\xef\xbe\x94\xef\xbe\x8f\xef\xbe\x80\xef\xbe\x9e^\xef\xbe\x80\xef\xbe\x9b\xef\xbd\xb3="
                            "\xe5\xb1\xb1\xe7\x94\xb0^\xe5\xa4\xaa\xe9\x83\x8e", d.len);
    assert_int_equal(dv_charset_to_utf8(ctx, &jp, DV_VR_CS, (const uint8_t *)"ORIGINAL", 8, u8, sizeof u8, &d, &err), 0);
    assert_int_equal(d.len, 8);
    assert_memory_equal(u8, "ORIGINAL", 8);
    dv_charset_ctx_free(ctx);
}

/* The encoder's choices, pinned: active G0, then G1, then the first value that has the character. */
static void test_encode_choices(void **state)
{
    (void)state;
    dv_charset_ctx *ctx = dv_charset_ctx_new();
    uint8_t out[256];
    size_t len = 0, bad = 0;
    assert_int_equal(encode(ctx, "\\ISO 2022 IR 87", "LO", "\xe5\xb1\xb1\xe7\x94\xb0 Tarou", 0, out, sizeof out,
                            &len, &bad), DV_CHARSET_OK);
    assert_int_equal(len, 16);
    assert_memory_equal(out, "\x1b$B;3ED\x1b(B Tarou", len); /* space: back to ASCII first */
    /* "\" in PN under JIS: G0 returns before the delimiter, G1 designations are repeated after it. */
    assert_int_equal(encode(ctx, "\\ISO 2022 IR 149", "PN", "\xea\xb9\x80\\\xea\xb9\x80", 0, out, sizeof out,
                            &len, &bad), DV_CHARSET_OK);
    assert_int_equal(len, 13);
    assert_memory_equal(out, "\x1b$)C\xb1\xe8\\\x1b$)C\xb1\xe8", len);
    /* Latin-1 value 1 and Greek value 2: G1 switches per character need. */
    assert_int_equal(encode(ctx, "ISO 2022 IR 100\\ISO 2022 IR 126", "LO", "\xc3\xa9\xce\xb1", 0, out, sizeof out,
                            &len, &bad), DV_CHARSET_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(out, "\xe9\x1b-F\xe1", len);
    /* Output too small: a limit, never an overflow. */
    dv_charset cs = cs_of("\\ISO 2022 IR 87");
    dv_error err = { 0 };
    assert_int_equal(dv_charset_encode(ctx, &cs, DV_VR_LO, "\xe5\xb1\xb1", 3, 0, out, 4, &len, &bad, &err), -1);
    assert_int_equal(err.code, DV_ERR_LIMIT);
    char small[2];
    dv_cs_decoded d;
    assert_int_equal(dv_charset_decode(ctx, &cs, DV_VR_LO, (const uint8_t *)"\x1b$B;3", 5, small, sizeof small, &d,
                                       &err), -1);
    assert_int_equal(err.code, DV_ERR_LIMIT);
    dv_charset_ctx_free(ctx);
}

/* Inheritance: an item without (0008,0005) uses its parent's set object itself (no copy); an item with
 * one uses its own, and passes it on to its nested items; an empty one means the default repertoire. */
static void test_inheritance(void **state)
{
    (void)state;
    dvb *b = dvb_new(DVB_EXPLICIT_LE, 1);
    dvb_str(b, 0x00080005, "CS", "ISO_IR 100");
    dvb_str(b, 0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.7");
    dvb_str(b, 0x00080018, "UI", "1.2.3.4");
    dvb_seq_begin(b, 0x00081115, 1);
    dvb_item_begin(b, 1); /* item 0: inherits ISO_IR 100 */
    dvb_str(b, 0x00081150, "UI", "1.2.3");
    dvb_item_end(b);
    dvb_item_begin(b, 0); /* item 1: its own, passed on */
    dvb_str(b, 0x00080005, "CS", "\\ISO 2022 IR 87");
    dvb_seq_begin(b, 0x00081199, 0);
    dvb_item_begin(b, 0);
    dvb_str(b, 0x00100010, "PN", "X");
    dvb_item_end(b);
    dvb_seq_end(b);
    dvb_item_end(b);
    dvb_item_begin(b, 1); /* item 2: empty = default repertoire */
    dvb_str(b, 0x00080005, "CS", "");
    dvb_item_end(b);
    dvb_seq_end(b);
    size_t n;
    uint8_t *buf = dvb_finish(b, &n);
    dv_mem_source ms;
    dv_source src = dv_source_memory(&ms, buf, n);
    dv_error err = { 0 };
    dv_instance *inst = dv_instance_read(&src, NULL, &err);
    assert_non_null(inst);

    dv_charset top_own;
    const dv_charset *top = dv_charset_for_ds(NULL, &inst->ds, &top_own);
    assert_ptr_equal(top, &top_own);
    assert_int_equal(top->terms[0], DV_CST_IR100);
    const dv_elem *sq = dv_ds_find(&inst->ds, 0x00081115);
    assert_non_null(sq);
    assert_int_equal(sq->nitems, 3);
    const dv_item *it0 = sq->items, *it1 = it0->next, *it2 = it1->next;

    dv_charset own0, own1, own2, own_nested;
    assert_ptr_equal(dv_charset_for_item(top, it0, &own0), top); /* common path: the parent itself */
    const dv_charset *c1 = dv_charset_for_item(top, it1, &own1);
    assert_ptr_equal(c1, &own1);
    assert_int_equal(c1->nterms, 2);
    assert_int_equal(c1->terms[1], DV_CST_IR87);
    const dv_elem *nested = dv_ds_find(&it1->ds, 0x00081199);
    assert_non_null(nested);
    assert_ptr_equal(dv_charset_for_item(c1, nested->items, &own_nested), c1);
    const dv_charset *c2 = dv_charset_for_item(top, it2, &own2);
    assert_ptr_equal(c2, &own2);
    assert_int_equal(c2->terms[0], DV_CST_DEFAULT);
    assert_int_equal(c2->iso2022, 0);

    dv_charset dflt;
    const dv_charset *none = dv_charset_for_ds(NULL, &it0->ds, &dflt); /* no parent, no own: default */
    assert_ptr_equal(none, &dflt);
    assert_int_equal(none->terms[0], DV_CST_DEFAULT);
    dv_instance_free(inst);
    free(buf);
}

/* The corpus's item-level set: chrSQEncoding.dcm is ISO_IR 192 at the top and ISO 2022 IR 13\87 in its
 * OtherPatientIDs... item; the PN inside decodes only under the item's set. */
static void test_inheritance_corpus(void **state)
{
    (void)state;
    const char *path = DV_SHARED_DATA "/dicom/pydicom/charset/chrSQEncoding.dcm";
    FILE *f = fopen(path, "rb");
    if (!f) {
        skip();
        return;
    }
    uint8_t *buf = malloc(1 << 20);
    size_t n = fread(buf, 1, 1 << 20, f);
    fclose(f);
    dv_mem_source ms;
    dv_source src = dv_source_memory(&ms, buf, n);
    dv_error err = { 0 };
    dv_instance *inst = dv_instance_read(&src, NULL, &err);
    assert_non_null(inst);
    dv_charset own, iown;
    const dv_charset *top = dv_charset_for_ds(NULL, &inst->ds, &own);
    assert_true(dv_charset_is_utf8(top));
    const dv_elem *sq = dv_ds_find(&inst->ds, 0x00321064);
    assert_non_null(sq);
    const dv_charset *ic = dv_charset_for_item(top, sq->items, &iown);
    assert_int_equal(ic->terms[0], DV_CST_IR13);
    assert_int_equal(ic->terms[1], DV_CST_IR87);
    const dv_elem *pn = dv_ds_find(&sq->items->ds, 0x00100010);
    assert_non_null(pn);
    dv_charset_ctx *ctx = dv_charset_ctx_new();
    char text[256];
    dv_cs_decoded d;
    assert_int_equal(dv_charset_decode(ctx, ic, DV_VR_PN, pn->value, (size_t)pn->length, text, sizeof text, &d, &err), 0);
    assert_int_equal(d.flags, 0);
    const char *want = "\xef\xbe\x94\xef\xbe\x8f\xef\xbe\x80\xef\xbe\x9e^\xef\xbe\x80\xef\xbe\x9b\xef\xbd\xb3=\xe5\xb1\xb1"
                       "\xe7\x94\xb0^\xe5\xa4\xaa\xe9\x83\x8e=";
    assert_memory_equal(text, want, strlen(want));
    /* under the top-level UTF-8 the same bytes are invalid */
    assert_int_equal(dv_charset_decode(ctx, top, DV_VR_PN, pn->value, (size_t)pn->length, text, sizeof text, &d, &err), 0);
    assert_true(d.flags & DV_CS_REPLACED);
    dv_charset_ctx_free(ctx);
    dv_instance_free(inst);
    free(buf);
}

/* A (0008,0005) kept in the source (over the inline threshold, here lowered to 4 bytes) cannot be read
 * without I/O: the default repertoire is used and flagged, never a guess. */
static void test_inheritance_unreadable(void **state)
{
    (void)state;
    dvb *b = dvb_new(DVB_EXPLICIT_LE, 1);
    dvb_str(b, 0x00080005, "CS", "ISO_IR 100");
    dvb_str(b, 0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.7");
    dvb_str(b, 0x00080018, "UI", "1.2.3.4");
    size_t n;
    uint8_t *buf = dvb_finish(b, &n);
    dv_mem_source ms;
    dv_source src = dv_source_memory(&ms, buf, n);
    dv_limits lim;
    dv_limits_default(&lim);
    lim.inline_threshold = 4;
    dv_error err = { 0 };
    dv_instance *inst = dv_instance_read(&src, &lim, &err);
    assert_non_null(inst);
    dv_charset own;
    const dv_charset *cs = dv_charset_for_ds(NULL, &inst->ds, &own);
    assert_int_equal(cs->terms[0], DV_CST_DEFAULT);
    assert_int_equal(cs->flags, DV_CHARSET_F_UNREADABLE);
    dv_instance_free(inst);
    free(buf);
}

/* One context per worker, no shared state: two threads decode and encode every example at once, each
 * with its own context, and get the same bytes (ASan/UBSan builds run this too). */
static void *worker(void *arg)
{
    int *ok = arg;
    dv_charset_ctx *ctx = dv_charset_ctx_new();
    *ok = ctx != NULL;
    for (int round = 0; round < 20 && *ok; round++) {
        for (size_t k = 0; k < sizeof examples / sizeof examples[0]; k++) {
            round_trip rt;
            run_round_trip(ctx, &examples[k], &rt);
            if (rt.decode_rc != 0 || rt.encode_rc != 0 || rt.blen != examples[k].len ||
                memcmp(rt.back, examples[k].bytes, rt.blen) != 0)
                *ok = 0;
        }
    }
    dv_charset_ctx_free(ctx);
    return NULL;
}

static void test_contexts_per_worker(void **state)
{
    (void)state;
    pthread_t t[2];
    int ok[2] = { 0, 0 };
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, &ok[i]), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_true(ok[0]);
    assert_true(ok[1]);
}

/* The 94x94 tables (charset_tables.c: a row converted in as few iconv calls as it allows) hold for each character
 * what converting it alone with iconv gives (0: unassigned, or not one BMP code point), in every set; the reverse
 * index gives back, for each code point, the lowest code holding it; and the tables are the process's, one for
 * every context. */
static uint16_t alone(iconv_t cd, int g, int r, int c)
{
    uint8_t b[3], o[16];
    size_t n = 0;
    if (g == GS_JISX0212)
        b[n++] = 0x8F;
    b[n++] = (uint8_t)(r | 0x80);
    b[n++] = (uint8_t)(c | 0x80);
    char *ip = (char *)b, *op = (char *)o;
    size_t il = n, ol = sizeof o;
    iconv(cd, NULL, NULL, NULL, NULL);
    if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 || il != 0 || sizeof o - ol != 4)
        return 0;
    uint32_t cp = (uint32_t)o[0] | (uint32_t)o[1] << 8 | (uint32_t)o[2] << 16 | (uint32_t)o[3] << 24;
    return cp > 0 && cp < 0x10000 ? (uint16_t)cp : 0;
}

static void test_db94_tables_match_iconv(void **state)
{
    (void)state;
    static const struct { int g; const char *name; int at_least; } sets[] = {
        {GS_JISX0208, "EUC-JP", 6000}, {GS_JISX0212, "EUC-JP", 5000}, {GS_KSX1001, "EUC-KR", 8000},
        {GS_GB2312, "EUC-CN", 7000}};
    dv_charset_ctx *a = dv_charset_ctx_new(), *b = dv_charset_ctx_new();
    assert_non_null(a);
    assert_non_null(b);
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
        dv_error err;
        const uint16_t *t = cs_db94_table(a, (cs_gset)sets[s].g, &err);
        assert_non_null(t);
        assert_ptr_equal(cs_db94_table(b, (cs_gset)sets[s].g, &err), t); /* the process's, not a context's */
        iconv_t cd = iconv_open("UTF-32LE", sets[s].name);
        assert_true(cd != (iconv_t)-1);
        int assigned = 0;
        for (int r = 0x21; r <= 0x7E; r++)
            for (int c = 0x21; c <= 0x7E; c++) {
                uint16_t want = alone(cd, sets[s].g, r, c), got = t[(r - 0x21) * 94 + (c - 0x21)];
                if (got != want)
                    fail_msg("%s row %02X cell %02X: table U+%04X, iconv alone U+%04X", sets[s].name, r, c, got, want);
                assigned += want != 0;
                if (!want)
                    continue;
                uint16_t code = 0;
                assert_int_equal(cs_db94_encode(b, (cs_gset)sets[s].g, want, &code, &err), 1);
                assert_int_equal(t[((code >> 8) - 0x21) * 94 + ((code & 0xFF) - 0x21)], want);
                assert_true(code <= (r << 8 | c)); /* the lowest code holding it */
            }
        iconv_close(cd);
        assert_true(assigned >= sets[s].at_least);
    }
    dv_charset_ctx_free(a);
    dv_charset_ctx_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_terms),
        cmocka_unit_test(test_annex_round_trips),
        cmocka_unit_test(test_delimiters),
        cmocka_unit_test(test_plain_ascii_as_written),
        cmocka_unit_test(test_invalid_bytes),
        cmocka_unit_test(test_unencodable),
        cmocka_unit_test(test_encode_choices),
        cmocka_unit_test(test_inheritance),
        cmocka_unit_test(test_inheritance_corpus),
        cmocka_unit_test(test_inheritance_unreadable),
        cmocka_unit_test(test_contexts_per_worker),
        cmocka_unit_test(test_db94_tables_match_iconv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
