/* The Accept header weights WADO-RS answers by (src/http/accept.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <string.h>

#include "http/accept.h"

static void test_absent_takes_anything(void **state)
{
    (void)state;
    assert_int_equal(dvh_accept_q(NULL, "application/dicom", NULL, NULL), 1000);
    assert_int_equal(dvh_accept_q("", "image/png", NULL, NULL), 1000);
    assert_int_equal(dvh_accept_q("  ", "image/png", NULL, NULL), 1000);
}

/* What substring matching got wrong: a longer type holding the name, q=0, a multipart part type. */
static void test_not_substrings(void **state)
{
    (void)state;
    assert_int_equal(dvh_accept_q("application/dicom+json", "application/dicom", NULL, NULL), 0);
    assert_int_equal(dvh_accept_q("image/png;q=0, image/jpeg", "image/png", NULL, NULL), 0);
    assert_int_equal(dvh_accept_q("image/png;q=0, image/jpeg", "image/jpeg", NULL, NULL), 1000);
    assert_int_equal(dvh_accept_q("multipart/related; type=\"application/dicom+xml\"", "multipart/related",
                                  "application/dicom", NULL),
                     0);
    assert_int_equal(dvh_accept_q("multipart/related; type=\"application/dicom\"", "multipart/related",
                                  "application/dicom", NULL),
                     1000);
    assert_int_equal(dvh_accept_q("multipart/related", "multipart/related", "application/dicom", NULL), 1000);
    assert_int_equal(dvh_accept_q("multipart/related; type=image/*", "multipart/related", "image/jpeg", NULL), 1000);
}

static void test_weights_and_specificity(void **state)
{
    (void)state;
    int at = 7;
    assert_int_equal(dvh_accept_q("text/html, image/*;q=0.5, */*;q=0.1", "image/png", NULL, &at), 500);
    assert_int_equal(at, 1);
    assert_int_equal(dvh_accept_q("*/*;q=0.1, image/png;q=0.8", "image/png", NULL, &at), 800);
    assert_int_equal(at, 1);
    assert_int_equal(dvh_accept_q("*/*;q=0.25", "application/dicom", NULL, NULL), 250);
    assert_int_equal(dvh_accept_q("image/png;q=1.0", "image/png", NULL, NULL), 1000);
    assert_int_equal(dvh_accept_q("image/png;q=0.001", "image/png", NULL, NULL), 1);
    assert_int_equal(dvh_accept_q("image/png;q=0.", "image/png", NULL, NULL), 0);
    /* malformed (RFC 9110 12.4.2: at most 3 decimals, nothing after, 1 only as 1.000): counts as 1 */
    static const char *const bad[] = {"0.0005", "0.5xyz", ".5", "00", "1.5", "0.5 5", "2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char a[64];
        snprintf(a, sizeof a, "image/png;q=%s", bad[i]);
        if (dvh_accept_q(a, "image/png", NULL, NULL) != 1000)
            fail_msg("q=%s: %d, want 1000 (malformed)", bad[i], dvh_accept_q(a, "image/png", NULL, NULL));
    }
    assert_int_equal(dvh_accept_q("IMAGE/PNG", "image/png", NULL, NULL), 1000);
    assert_int_equal(dvh_accept_q("image/jpeg", "image/png", NULL, &at), 0);
    assert_int_equal(at, -1);
    assert_int_equal(dvh_accept_q(",,;;,=,image/png;=;q", "image/png", NULL, NULL), 1000); /* junk around it */
}

#define LE "1.2.840.10008.1.2.1"
#define JPEG "1.2.840.10008.1.2.4.50"

static int weigh(const char *accept, const char *media, const char *part, const char *ts, const char *dflt)
{
    dvh_accept_want w = {media, part, ts, dflt};
    return dvh_accept_weigh(accept, &w, NULL);
}

/* transfer-syntax= (PS3.18 8.7.3): a range naming another syntax does not count (we never transcode); "*" takes
 * any; an absent one takes the caller's default where the range names the type exactly, anything under a
 * wildcard. */
static void test_transfer_syntax(void **state)
{
    (void)state;
    const char *mr = "multipart/related", *dcm = "application/dicom", *oct = "application/octet-stream";
    const char *ohif = "multipart/related; type=\"application/octet-stream\"; transfer-syntax=*";
    assert_int_equal(weigh(ohif, mr, oct, JPEG, LE), 1000);
    assert_int_equal(weigh(ohif, mr, "image/jpeg", JPEG, NULL), 0);
    assert_int_equal(weigh("multipart/related; type=\"application/octet-stream\"", mr, oct, JPEG, LE), 0);
    assert_int_equal(weigh("multipart/related; type=\"application/octet-stream\"", mr, oct, LE, LE), 1000);
    assert_int_equal(weigh("multipart/related; type=application/octet-stream; transfer-syntax=" JPEG, mr, oct, JPEG,
                           LE),
                     1000);
    /* application/dicom: no default given (served as stored) */
    assert_int_equal(weigh("multipart/related; type=application/dicom", mr, dcm, JPEG, NULL), 1000);
    assert_int_equal(weigh("multipart/related; type=application/dicom; transfer-syntax=" LE, mr, dcm, JPEG, NULL), 0);
    assert_int_equal(weigh("multipart/related; type=application/dicom; transfer-syntax=\"" LE "\"", mr, dcm, LE,
                           NULL),
                     1000);
    assert_int_equal(weigh("application/dicom;transfer-syntax=" LE, dcm, NULL, LE, NULL), 1000);
    assert_int_equal(weigh("application/dicom;transfer-syntax=" LE, dcm, NULL, JPEG, NULL), 0);
    /* not weighed when the answer names no syntax (dvh_accept_q) */
    assert_int_equal(dvh_accept_q("application/dicom;transfer-syntax=" LE, dcm, NULL, NULL), 1000);
    /* a prefix or an extension of the UID is another UID */
    assert_int_equal(weigh("application/dicom;transfer-syntax=1.2.840.10008.1.2", dcm, NULL, LE, NULL), 0);
    assert_int_equal(weigh("application/dicom;transfer-syntax=" LE "0", dcm, NULL, LE, NULL), 0);
    /* a wildcard range without transfer-syntax= says nothing about syntaxes */
    assert_int_equal(weigh("*/*", mr, oct, JPEG, LE), 1000);
    assert_int_equal(weigh("multipart/related", mr, oct, JPEG, LE), 1000);
    assert_int_equal(weigh("multipart/related; type=application/*", mr, oct, JPEG, LE), 1000);
    /* q=0 on the stored syntax refuses it */
    assert_int_equal(weigh("application/dicom;transfer-syntax=" LE ";q=0", dcm, NULL, LE, NULL), 0);
    /* given twice: ambiguous, the range does not count */
    assert_int_equal(weigh("application/dicom;transfer-syntax=*;transfer-syntax=" JPEG, dcm, NULL, LE, NULL), 0);
    assert_int_equal(weigh("multipart/related;type=application/dicom;type=image/jpeg", mr, dcm, LE, NULL), 0);
}

/* The most specific range wins: a named syntax over "*" over none, whatever their order. */
static void test_transfer_syntax_specificity(void **state)
{
    (void)state;
    int at = 7;
    dvh_accept_want w = {"multipart/related", "application/dicom", LE, NULL};
    assert_int_equal(dvh_accept_weigh("multipart/related; type=application/dicom; transfer-syntax=*; q=0.3, "
                                      "multipart/related; type=application/dicom; transfer-syntax=" LE "; q=0.6",
                                      &w, &at),
                     600);
    assert_int_equal(at, 1);
    assert_int_equal(dvh_accept_weigh("multipart/related; type=application/dicom; transfer-syntax=" JPEG ", "
                                      "multipart/related; type=application/dicom; transfer-syntax=*; q=0.5",
                                      &w, &at),
                     500);
    assert_int_equal(at, 1);
    /* refuse one syntax, take the rest */
    assert_int_equal(dvh_accept_weigh("multipart/related; type=application/dicom; transfer-syntax=" LE "; q=0, "
                                      "multipart/related; type=application/dicom",
                                      &w, &at),
                     0);
    w.ts = JPEG;
    assert_int_equal(dvh_accept_weigh("multipart/related; type=application/dicom; transfer-syntax=" LE "; q=0, "
                                      "multipart/related; type=application/dicom",
                                      &w, &at),
                     1000);
    assert_int_equal(at, 1);
    /* an exact type= before a wildcard one */
    assert_int_equal(dvh_accept_q("multipart/related; type=image/*; q=0.5, multipart/related; type=image/jpeg",
                                  "multipart/related", "image/jpeg", &at),
                     1000);
    assert_int_equal(at, 1);
    /* hostile: an overlong value, junk, no allocation to fail */
    char big[2048];
    memset(big, '1', sizeof big);
    memcpy(big, "application/dicom;transfer-syntax=", 34);
    big[sizeof big - 1] = '\0';
    assert_int_equal(weigh(big, "application/dicom", NULL, LE, NULL), 0);
    assert_int_equal(weigh(";transfer-syntax=,=;,application/dicom;transfer-syntax", "application/dicom", NULL, LE,
                           NULL),
                     1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_absent_takes_anything),
        cmocka_unit_test(test_not_substrings),
        cmocka_unit_test(test_weights_and_specificity),
        cmocka_unit_test(test_transfer_syntax),
        cmocka_unit_test(test_transfer_syntax_specificity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
