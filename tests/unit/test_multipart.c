/* The streaming multipart parser (src/http/multipart.c) and Content-Type parsing: parts come out byte-exact
 * whatever the chunking (every split point of a body, one byte at a time), near-miss delimiters inside data
 * stay data, malformed bodies and caps fail cleanly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "http/multipart.h"

typedef struct collected {
    char parts[8][512];
    size_t len[8];
    char ctype[8][128];
    size_t n;
    int open;
    size_t calls; /* part_data calls */
} collected;

static int on_begin(void *u, const char *ct)
{
    collected *c = u;
    if (c->n == 8)
        return 1;
    snprintf(c->ctype[c->n], sizeof c->ctype[c->n], "%s", ct);
    c->len[c->n] = 0;
    c->open = 1;
    return 0;
}

static int on_data(void *u, const uint8_t *d, size_t n)
{
    collected *c = u;
    c->calls++;
    assert_true(c->open);
    assert_true(c->len[c->n] + n <= sizeof c->parts[0]);
    memcpy(c->parts[c->n] + c->len[c->n], d, n);
    c->len[c->n] += n;
    return 0;
}

static int on_end(void *u)
{
    collected *c = u;
    c->open = 0;
    c->n++;
    return 0;
}

static const dvh_mp_callbacks cbs = {on_begin, on_data, on_end};

/* Parse body in chunks of at most step bytes (0: split once at `split`). Returns the parser's result. */
static int parse(const char *boundary, const char *body, size_t len, size_t split, size_t step, collected *c,
                 dvh_err *e)
{
    memset(c, 0, sizeof *c);
    memset(e, 0, sizeof *e);
    dvh_multipart *mp = dvh_mp_new(boundary, &cbs, c);
    assert_non_null(mp);
    int rc = 0;
    if (step) {
        for (size_t i = 0; i < len && rc == 0; i += step)
            rc = dvh_mp_feed(mp, (const uint8_t *)body + i, len - i < step ? len - i : step, e);
    } else {
        rc = dvh_mp_feed(mp, (const uint8_t *)body, split, e);
        if (rc == 0)
            rc = dvh_mp_feed(mp, (const uint8_t *)body + split, len - split, e);
    }
    if (rc == 0)
        rc = dvh_mp_finish(mp, e);
    dvh_mp_free(mp);
    return rc;
}

#define BODY                                                                                                   \
    "preamble\r\n--b0UND\r\nContent-Type: application/dicom\r\n\r\nfirst\r\n--b0UNx data\r\r\n-\r\n--b0UN"    \
    "\r\n--b0UND  \r\ncontent-type:  application/dicom  \r\nX-Other: 1\r\n\r\n\r\n--b0UND\r\n\r\nthird"     \
    "\r\n--b0UND--\r\nepilogue"

static void test_every_split(void **state)
{
    (void)state;
    const char *body = BODY;
    size_t len = strlen(body);
    static const char second[] = "";
    for (size_t split = 0; split <= len; split++) {
        collected c;
        dvh_err e;
        assert_int_equal(parse("b0UND", body, len, split, 0, &c, &e), 0);
        assert_int_equal(c.n, 3);
        assert_int_equal(c.len[0], strlen("first\r\n--b0UNx data\r\r\n-\r\n--b0UN"));
        assert_memory_equal(c.parts[0], "first\r\n--b0UNx data\r\r\n-\r\n--b0UN", c.len[0]);
        assert_string_equal(c.ctype[0], "application/dicom");
        assert_int_equal(c.len[1], sizeof second - 1);
        assert_string_equal(c.ctype[1], "application/dicom");
        assert_string_equal(c.ctype[2], "");
        assert_int_equal(c.len[2], 5);
        assert_memory_equal(c.parts[2], "third", 5);
    }
    collected c;
    dvh_err e;
    assert_int_equal(parse("b0UND", body, len, 0, 1, &c, &e), 0);
    assert_int_equal(c.n, 3);
    assert_memory_equal(c.parts[0], "first\r\n--b0UNx data\r\r\n-\r\n--b0UN", c.len[0]);
}

static void test_binary_data_with_crs(void **state)
{
    (void)state;
    /* Data full of CR, LF and partial delimiters, built with NULs too. */
    char data[300];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = "\r\n-\0bX"[i % 6];
    char body[600];
    size_t n = 0;
    n += (size_t)sprintf(body, "--bX\r\n\r\n");
    memcpy(body + n, data, sizeof data);
    n += sizeof data;
    n += (size_t)sprintf(body + n, "\r\n--bX--");
    for (size_t step = 1; step < 20; step++) {
        collected c;
        dvh_err e;
        assert_int_equal(parse("bX", body, n, 0, step, &c, &e), 0);
        assert_int_equal(c.n, 1);
        assert_int_equal(c.len[0], sizeof data);
        assert_memory_equal(c.parts[0], data, sizeof data);
    }
    /* Fed whole, the part comes out in ONE part_data call: a CR (or a partial delimiter) inside the data does
     * not cut the run (each call costs the blob writer a hash update and a copy; multipart.c "Mismatch"). */
    collected c;
    dvh_err e;
    assert_int_equal(parse("bX", body, n, 0, n, &c, &e), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.calls, 1);
    assert_memory_equal(c.parts[0], data, sizeof data);
    /* Split in two inside a partial delimiter ("\r\n-" of the data at 8 + 60): the bytes held back from the
     * first chunk come out before the second chunk's, still byte-exact, in at most three calls. */
    assert_int_equal(parse("bX", body, n, 8 + 61, 0, &c, &e), 0);
    assert_int_equal(c.len[0], sizeof data);
    assert_memory_equal(c.parts[0], data, sizeof data);
    assert_true(c.calls <= 3);
}

static void test_skip_search_random(void **state)
{
    /* The delimiter search (multipart.c find_delim: SSE2 blocks, then Horspool) against the data it must not cut: random bytes dense in the
     * delimiter's own characters and in its prefixes (up to one byte short of a whole delimiter), two parts,
     * fed in chunks of random sizes: every part comes out byte-exact. */
    (void)state;
    static const char *const pieces[] = {"\r", "\n", "-", "\r\n--", "\r\n--bo", "\r\n--bound4ry9", "bound4ry9Z",
                                         "\r\r\n--bound4ry9Z", "9Z",
                                         /* first and last bytes right, one in between wrong */
                                         "\r\n--bound4ryXZ", "\r\n-Xbound4ry9Z", "\0"};
    uint32_t seed = 12345;
    for (int round = 0; round < 300; round++) {
        char data[2][500];
        size_t dl[2] = {0, 0};
        for (int p = 0; p < 2; p++) {
            seed = seed * 1103515245u + 12345u;
            size_t want = (seed >> 16) % 480;
            while (dl[p] < want) {
                seed = seed * 1103515245u + 12345u;
                const char *piece = pieces[(seed >> 16) % 12];
                size_t k = (seed >> 16) % 12 == 11 ? 1 : strlen(piece);
                if (dl[p] + k > sizeof data[p])
                    break;
                memcpy(data[p] + dl[p], piece, k);
                dl[p] += k;
            }
            /* A whole delimiter inside the data would end the part: break each one (its last byte). */
            for (size_t at = 0; at + 14 <= dl[p]; at++)
                if (memcmp(data[p] + at, "\r\n--bound4ry9Z", 14) == 0)
                    data[p][at + 13] = 'Y';
        }
        char body[1200];
        size_t n = 0;
        for (int p = 0; p < 2; p++) {
            n += (size_t)sprintf(body + n, "\r\n--bound4ry9Z\r\n\r\n");
            memcpy(body + n, data[p], dl[p]);
            n += dl[p];
        }
        n += (size_t)sprintf(body + n, "\r\n--bound4ry9Z--\r\n");
        seed = seed * 1103515245u + 12345u;
        /* Mostly small chunks; every fourth body whole, so the 16-position SIMD scan runs over long stretches. */
        size_t step = round % 4 == 3 ? n : 1 + (seed >> 16) % 64;
        collected c;
        dvh_err e;
        assert_int_equal(parse("bound4ry9Z", body, n, 0, step, &c, &e), 0);
        assert_int_equal(c.n, 2);
        for (int p = 0; p < 2; p++) {
            assert_int_equal(c.len[p], dl[p]);
            assert_memory_equal(c.parts[p], data[p], dl[p]);
        }
    }
}

static void test_malformed(void **state)
{
    (void)state;
    collected c;
    dvh_err e;
    static const char *const bad[] = {
        "--b\r\n\r\ndata",            /* no close delimiter */
        "--b\r\n\r\ndata\r\n--bxyz",  /* not a delimiter: still inside data, then truncated */
        "--b?\r\n\r\n",               /* a delimiter followed by garbage */
        "--b-x",                      /* one dash then garbage */
        "--b\rX",                     /* CR not followed by LF */
        "",                           /* empty */
        "no delimiter at all",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse("b", bad[i], strlen(bad[i]), 0, 3, &c, &e), -1);
        assert_int_equal(e.status, DVH_INVALID_ARGUMENT);
    }
    /* A header block over the cap is 413. */
    size_t big = DVH_MP_HEADER_MAX + 100;
    char *body = malloc(big + 64);
    assert_non_null(body);
    size_t n = (size_t)sprintf(body, "--b\r\nX: ");
    memset(body + n, 'a', big);
    n += big;
    assert_int_equal(parse("b", body, n, 0, 4096, &c, &e), -1);
    assert_int_equal(e.status, DVH_TOO_LARGE);
    free(body);
    /* A callback that stops the parser: its error is reported. */
    static const char nine[] = "--b\r\n\r\n1\r\n--b\r\n\r\n2\r\n--b\r\n\r\n3\r\n--b\r\n\r\n4\r\n--b\r\n\r\n5\r\n--b"
                               "\r\n\r\n6\r\n--b\r\n\r\n7\r\n--b\r\n\r\n8\r\n--b\r\n\r\n9\r\n--b--";
    assert_int_equal(parse("b", nine, sizeof nine - 1, 0, 7, &c, &e), -1);
    assert_int_equal(e.status, DVH_INTERNAL);
}

static void test_content_type(void **state)
{
    (void)state;
    dvh_ctype ct;
    dvh_err e;
    assert_int_equal(dvh_ctype_parse("Multipart/Related; type=\"application/dicom\"; boundary=\"a b:c\"", &ct, &e), 0);
    assert_string_equal(ct.media, "multipart/related");
    assert_string_equal(ct.type, "application/dicom");
    assert_string_equal(ct.boundary, "a b:c");
    assert_int_equal(dvh_ctype_parse("multipart/related;boundary=xyz;type=application/dicom", &ct, &e), 0);
    assert_string_equal(ct.boundary, "xyz");
    assert_string_equal(ct.type, "application/dicom");
    assert_int_equal(dvh_ctype_parse("application/dicom; transfer-syntax=1.2.840.10008.1.2.1", &ct, &e), 0);
    assert_string_equal(ct.transfer_syntax, "1.2.840.10008.1.2.1");
    assert_int_equal(dvh_ctype_parse("application/dicom;", &ct, &e), 0);
    /* Orthanc's DICOMweb plugin (1.7) sends 73-character boundaries, past RFC 2046's 70: accepted. */
    assert_int_equal(dvh_ctype_parse("multipart/related; type=\"application/dicom\"; boundary="
                                     "d1023af6-10af-49c0-8e5f-d208f77d355b-d1023af6-10af-49c0-8e5f-d208f77d355b",
                                     &ct, &e), 0);
    assert_int_equal(strlen(ct.boundary), 73);
    static const char *const bad[] = {
        "", "application", "/x", "a/b/c", "a/b; =x", "a/b; boundary=\"unterminated",
        "multipart/related; boundary=\"\"", "multipart/related; boundary=\"ends with space \"",
        "multipart/related; boundary=bad\x01", "multipart/related; boundary=a\"b",
        /* 201 characters: past DVH_MP_BOUNDARY_MAX */
        "multipart/related; boundary=1234567890123456789012345678901234567890123456789012345678901234567890"
        "1234567890123456789012345678901234567890123456789012345678901234567890"
        "1234567890123456789012345678901234567890123456789012345678901",
        "a/b junk",
        /* a parameter we read given twice is ambiguous (whichever we took would be a guess) */
        "multipart/related; type=\"application/dicom\"; boundary=zq1; boundary=zq2",
        "multipart/related; boundary=zq1; BOUNDARY=zq1",
        "multipart/related; type=application/dicom; boundary=zq1; type=application/dicom+json",
        "application/dicom; transfer-syntax=1.2.840.10008.1.2.1; transfer-syntax=1.2.840.10008.1.2",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (dvh_ctype_parse(bad[i], &ct, &e) != -1)
            fail_msg("accepted: %s", bad[i]);
    assert_int_equal(dvh_ctype_parse("multipart/related; boundary=zq1; boundary=zq2", &ct, &e), -1);
    assert_int_equal(e.status, DVH_INVALID_ARGUMENT);
    assert_string_equal(e.message, "Content-Type: boundary given more than once");
    /* a parameter we do not read may repeat: it changes nothing */
    assert_int_equal(dvh_ctype_parse("multipart/related; start=a; boundary=zq1; start=b", &ct, &e), 0);
    assert_string_equal(ct.boundary, "zq1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_binary_data_with_crs),
        cmocka_unit_test(test_skip_search_random),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_content_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
