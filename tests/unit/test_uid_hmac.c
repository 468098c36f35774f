/* The keyed UID's HMAC (src/engine/uid.c dv_key_hmac): the pre-keyed SHA-256 contexts give exactly OpenSSL's
 * one-shot HMAC-SHA256 for every key length (shorter than, equal to and longer than the 64-byte block, which
 * RFC 2104 hashes first), and two fixed vectors (computed with Python's hmac module) pin the mapping, so a
 * faster HMAC can never change a UID. Workers share one key: concurrent use gives the same UIDs. */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "dicomveil/dicomveil.h"
#include "dicom/dv_uid_syntax.h"
#include "dict/dv_dict.h"
#include "engine/dv_plan.h"
#include "engine/uid_memo.h"
#include "text/dv_transform.h"

/* "2.25." + the decimal of the first 128 bits of OpenSSL's HMAC(), the mapping uid.c documents. */
static void reference_uid(const unsigned char *key, size_t klen, const char *uid, char out[DV_UID_MAX + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    assert_non_null(HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)uid, strlen(uid), md, &n));
    unsigned __int128 v = 0;
    for (int i = 0; i < 16; i++)
        v = v << 8 | md[i];
    char rev[48];
    size_t k = 0;
    do {
        rev[k++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    memcpy(out, "2.25.", 5);
    for (size_t i = 0; i < k; i++)
        out[5 + i] = rev[k - 1 - i];
    out[5 + k] = '\0';
}

static void test_uid_hmac_matches_openssl(void **state)
{
    (void)state;
    static const size_t klens[] = {DV_KEY_MIN_BYTES, 32, 63, 64, 65, 100, 200, DV_KEY_MAX_BYTES};
    static const char *const uids[] = {"1.2.3", "1.2.826.0.1.3680043.2.1125.1",
                                       "1.3.6.1.4.1.5962.99.1.2280943358.716200484.1363785608958.3.0",
                                       "2.25.310907030169266062882277935074492234999"};
    unsigned char key[DV_KEY_MAX_BYTES];
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (unsigned char)(i * 131 + 7);
    for (size_t a = 0; a < sizeof klens / sizeof klens[0]; a++) {
        dv_key *k = dv_key_new(key, klens[a], NULL);
        assert_non_null(k);
        for (size_t b = 0; b < sizeof uids / sizeof uids[0]; b++) {
            char got[DV_UID_MAX + 1], want[DV_UID_MAX + 1];
            reference_uid(key, klens[a], uids[b], want);
            assert_int_equal(dv_uid_regenerate(k, uids[b], strlen(uids[b]), got), strlen(want));
            assert_string_equal(got, want);
        }
        dv_key_free(k);
    }
}

/* uid.c's decimal conversion (nine digits a pass) against __int128's, on 20000 HMAC outputs: every inner
 * base-10^9 chunk with leading zeros (one in ten) and top chunks of one to three digits occur. */
static void test_uid_decimal_matches_bignum(void **state)
{
    (void)state;
    unsigned char key[32];
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (unsigned char)(i * 17 + 3);
    dv_key *k = dv_key_new(key, sizeof key, NULL);
    assert_non_null(k);
    size_t inner_zero = 0;
    for (int i = 0; i < 20000; i++) {
        char uid[40], got[DV_UID_MAX + 1], want[DV_UID_MAX + 1];
        snprintf(uid, sizeof uid, "1.2.3.%d", i);
        reference_uid(key, sizeof key, uid, want);
        assert_int_equal(dv_uid_regenerate(k, uid, strlen(uid), got), strlen(want));
        assert_string_equal(got, want);
        size_t len = strlen(want);
        inner_zero += len > 14 && want[len - 9] == '0'; /* the last chunk starts with a zero */
    }
    assert_true(inner_zero > 1000);
    dv_key_free(k);
}

static void test_uid_hmac_fixed_vectors(void **state)
{
    (void)state;
    const char *uid = "1.2.826.0.1.3680043.2.1125.1";
    unsigned char k32[32], k100[100];
    for (size_t i = 0; i < sizeof k32; i++)
        k32[i] = (unsigned char)i;
    for (size_t i = 0; i < sizeof k100; i++)
        k100[i] = (unsigned char)((i * 7) & 255);
    char got[DV_UID_MAX + 1];
    dv_key *k = dv_key_new(k32, sizeof k32, NULL);
    assert_non_null(k);
    dv_uid_regenerate(k, uid, strlen(uid), got);
    assert_string_equal(got, "2.25.310907030169266062882277935074492234999");
    dv_key_free(k);
    k = dv_key_new(k100, sizeof k100, NULL); /* longer than the block: hashed first */
    assert_non_null(k);
    dv_uid_regenerate(k, uid, strlen(uid), got);
    assert_string_equal(got, "2.25.22856142580334384723357685666514907411");
    dv_key_free(k);
}

/* Registry UIDs (PS3.6 Annex A) are kept; a value that only starts with the registry root is an instance's own
 * and is regenerated (it carried an MRN and a date through de-identification). */
static void test_registry_uids_kept_others_regenerated(void **state)
{
    (void)state;
    unsigned char k32[32] = {1, 2, 3};
    dv_key *k = dv_key_new(k32, sizeof k32, NULL);
    assert_non_null(k);
    char got[DV_UID_MAX + 1];
    static const char *const kept[] = {"1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.4.1.1",
                                       "1.2.840.10008.2.16.4", "1.2.840.10008.6.1.308", "1.2.840.10008.1.2"};
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        size_t n = strlen(kept[i]);
        char buf[64];
        memcpy(buf, kept[i], n);
        size_t len = n;
        if (i == 5)
            buf[len++] = '\0'; /* a UI value's NUL pad is not part of the UID */
        dv_uid_regenerate(k, buf, len, got);
        assert_string_equal(got, kept[i]);
    }
    static const char *const regenerated[] = {"1.2.840.10008.99.7654321.20200101", "1.2.840.10008.5.1.4.1.1.2.99",
                                              "1.2.840.10008.", "1.2.840.10008.6.1.123456", "1.2.840.10008.6.1.07",
                                              "1.2.840.10008.1.2.1.9999"};
    for (size_t i = 0; i < sizeof regenerated / sizeof regenerated[0]; i++) {
        dv_uid_regenerate(k, regenerated[i], strlen(regenerated[i]), got);
        assert_true(strncmp(got, "2.25.", 5) == 0);
    }
    /* a NUL inside the value: never read past either string */
    static const char inner_nul[] = "1.2.840.10008.1.2\0.99.1234567";
    dv_uid_regenerate(k, inner_nul, sizeof inner_nul - 1, got);
    assert_true(strncmp(got, "2.25.", 5) == 0);
    dv_key_free(k);
}

typedef struct shared_key {
    const dv_key *key;
    int mismatches;
} shared_key;

static void *regen_many(void *arg)
{
    shared_key *s = arg;
    for (int i = 0; i < 2000; i++) {
        char uid[32], a[DV_UID_MAX + 1], b[DV_UID_MAX + 1];
        snprintf(uid, sizeof uid, "1.2.3.%d", i % 50);
        dv_uid_regenerate(s->key, uid, strlen(uid), a);
        dv_uid_regenerate(s->key, uid, strlen(uid), b);
        if (strcmp(a, b) != 0 || strncmp(a, "2.25.", 5) != 0)
            s->mismatches++;
    }
    return NULL;
}

static void test_uid_hmac_shared_key(void **state)
{
    (void)state;
    unsigned char kb[32];
    memset(kb, 0x5a, sizeof kb);
    dv_key *k = dv_key_new(kb, sizeof kb, NULL);
    assert_non_null(k);
    shared_key s[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        s[i] = (shared_key){k, 0};
        assert_int_equal(pthread_create(&t[i], NULL, regen_many, &s[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(s[i].mismatches, 0);
    }
    char want[DV_UID_MAX + 1], got[DV_UID_MAX + 1];
    reference_uid(kb, sizeof kb, "1.2.3.7", want);
    dv_uid_regenerate(k, "1.2.3.7", 7, got);
    assert_string_equal(got, want);
    dv_key_free(k);
}

/* A worker's UID memo (uid_memo.h) gives the mapping the key gives, whatever it has seen: repeated, padded and
 * registry UIDs, more UIDs than it has slots, over-long ones, and a second key used with the same memo (which
 * must get its own mapping, not the first key's). Multi-valued values through dv_uid_regenerate_value too. */
static void test_uid_memo_same_mapping(void **state)
{
    (void)state;
    unsigned char ka[32], kb[32];
    memset(ka, 0x11, sizeof ka);
    memset(kb, 0x22, sizeof kb);
    dv_key *a = dv_key_new(ka, sizeof ka, NULL), *b = dv_key_new(kb, sizeof kb, NULL);
    dv_uid_memo *m = dv_uid_memo_new();
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(m);
    char want[DV_UID_MAX + 1], got[DV_UID_MAX + 1], uid[80];
    for (int round = 0; round < 3; round++)
        for (unsigned i = 0; i < 3 * DV_UID_MEMO_SLOTS; i++) {
            const dv_key *k = (i + (unsigned)round) % 3 == 0 ? b : a;
            size_t n = (size_t)snprintf(uid, sizeof uid, "1.2.826.0.1.%u.%u", i % 700, i / 700);
            if (i % 5 == 0)
                uid[n++] = '\0'; /* padded: the same UID */
            size_t wn = dv_uid_regenerate(k, uid, n, want);
            size_t gn = dv_uid_regenerate_memo(k, m, uid, n, got);
            assert_int_equal(gn, wn);
            assert_string_equal(got, want);
        }
    const char *special[] = {"1.2.840.10008.5.1.4.1.1.2", "", "  ",
                             "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22.23.24.25.26.27.28.29.30"};
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
        for (int twice = 0; twice < 2; twice++) {
            size_t wn = dv_uid_regenerate(a, special[i], strlen(special[i]), want);
            assert_int_equal(dv_uid_regenerate_memo(a, m, special[i], strlen(special[i]), got), wn);
            assert_string_equal(got, want);
        }
    static const char mv[] = "1.2.3\\1.2.826.0.1.5.0\\1.2.3";
    uint8_t *w = NULL, *g = NULL;
    size_t wl = 0, gl = 0;
    assert_int_equal(dv_uid_regenerate_value(a, NULL, (const uint8_t *)mv, sizeof mv - 1, DV_UID_REGEN_ALL, &w, &wl), 0);
    assert_int_equal(dv_uid_regenerate_value(a, m, (const uint8_t *)mv, sizeof mv - 1, DV_UID_REGEN_ALL, &g, &gl), 0);
    assert_int_equal(gl, wl);
    assert_memory_equal(g, w, wl);
    uint8_t small[2 * (DV_UID_MAX + 1) + 2];
    assert_int_equal(dv_uid_regenerate_into(a, m, (const uint8_t *)mv, sizeof mv - 1, DV_UID_REGEN_ALL, small, sizeof small), -1);
    free(w);
    free(g);
    dv_uid_memo_free(m);
    dv_key_free(a);
    dv_key_free(b);
}

/* What a UID is (PS3.5 9.1), the one home (dicom/dv_uid_syntax.h): every registry UID is one; the values a plan
 * keeps are checked value by value, after the padding at the end of the element. */
static void test_uid_syntax(void **state)
{
    (void)state;
    /* An empty UI value may have no bytes at all (value NULL): valid, and no arithmetic on the NULL pointer
     * (UBSan "applying zero offset to null pointer": fuzz_deidentify and fuzz_text_stage, make fuzz-smoke at
     * 0384dcb, an instance with an empty SOPClassUID). */
    assert_int_equal(dv_ui_value_valid(NULL, 0), 1);
    assert_int_equal(dv_ui_value_valid((const uint8_t *)"\0 ", 2), 1);
    static const char *const valid[] = {"0", "1.2", "0.0", "2.25.0", "1.2.840.10008.1.2.1", "2.25.10",
                                        "1.2.840.10008.6.1.308"};
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++)
        if (!dv_uid_valid(valid[i], strlen(valid[i])))
            fail_msg("\"%s\" is a UID", valid[i]);
    char longest[66];
    memset(longest, '1', 65);
    longest[1] = '.';
    assert_true(dv_uid_valid(longest, 64));
    assert_int_equal(dv_uid_form_of(longest, 65), DV_UID_NOT_UID); /* 65 characters */
    static const char *const not_uid[] = {"", ".", ".1.2", "1.2.", "1..2", "1.2a", "1.2 3", "DOE^JOHN",
                                          "1.2.840.10008.5.1.4.1.1.7 MRN12345", "1.2.3 ", " 1.2.3", "1,2"};
    for (size_t i = 0; i < sizeof not_uid / sizeof not_uid[0]; i++)
        if (dv_uid_form_of(not_uid[i], strlen(not_uid[i])) != DV_UID_NOT_UID)
            fail_msg("\"%s\" is not a UID", not_uid[i]);
    assert_int_equal(dv_uid_form_of("1.2\0.3", 6), DV_UID_NOT_UID);
    static const char *const leading_zero[] = {"01.2", "1.02", "1.2.00", "1.2.840.10008.6.1.07"};
    for (size_t i = 0; i < sizeof leading_zero / sizeof leading_zero[0]; i++)
        if (dv_uid_form_of(leading_zero[i], strlen(leading_zero[i])) != DV_UID_LEADING_ZERO)
            fail_msg("\"%s\": a leading zero", leading_zero[i]);
    for (size_t i = 0; i < dv_uid_registry_count; i++)
        if (!dv_uid_valid(dv_uid_registry[i], strlen(dv_uid_registry[i])))
            fail_msg("registry UID %s is not a UID", dv_uid_registry[i]);

    /* Whole UI values. */
#define VALUE_OK(lit) dv_ui_value_valid((const uint8_t *)(lit), sizeof(lit) - 1)
    assert_true(VALUE_OK(""));
    assert_true(VALUE_OK("1.2.3"));
    assert_true(VALUE_OK("1.2.3\0"));
    assert_true(VALUE_OK("1.2.3 "));      /* a space pad holds nothing */
    assert_true(VALUE_OK("1.2.3\\1.2.4\0"));
    assert_true(VALUE_OK("1.2.3\\\\1.2.4")); /* an empty value */
    assert_true(VALUE_OK("\\"));
    assert_false(VALUE_OK("1.2.3\\DOE^JOHN"));
    assert_false(VALUE_OK("1.2.3\0DOE^JOHN")); /* text behind a NUL */
    assert_false(VALUE_OK("1.2.3 \\1.2.4"));   /* padding belongs at the end */
    assert_false(VALUE_OK("1.2.840.10008.5.1.4.1.1.7 MRN12345"));
    assert_false(VALUE_OK("1.02"));
#undef VALUE_OK
}

/* A kept value (DV_UID_REGEN_NOT_UIDS): each value that is not a UID goes through the same keyed function as a
 * regenerated UID; each UID stays. */
/* dv_uid_regenerate_value of value (n bytes) under mode must give want (NUL-padded to even length, as UI is). */
static void expect_regen(const dv_key *k, const char *value, size_t n, dv_uid_regen mode, const char *want)
{
    uint8_t *out;
    size_t outlen, wn = strlen(want);
    assert_int_equal(dv_uid_regenerate_value(k, NULL, (const uint8_t *)value, n, mode, &out, &outlen), 0);
    assert_int_equal(outlen, wn + (wn & 1));
    assert_memory_equal(out, want, wn);
    if (wn & 1)
        assert_int_equal(out[wn], 0);
    free(out);
}

static void test_regenerate_not_uids(void **state)
{
    (void)state;
    unsigned char k32[32] = {7};
    dv_key *k = dv_key_new(k32, sizeof k32, NULL);
    assert_non_null(k);
    char h[DV_UID_MAX + 1], h0[DV_UID_MAX + 1], want[256];
    dv_uid_regenerate(k, "DOE^JOHN", 8, h);
    dv_uid_regenerate(k, "1.02", 4, h0);
    static const char mv[] = "1.2.840.10008.5.1.4.1.1.7\\DOE^JOHN\\1.2.3.4\\1.02\\\0";
    snprintf(want, sizeof want, "1.2.840.10008.5.1.4.1.1.7\\%s\\1.2.3.4\\%s\\", h, h0);
    expect_regen(k, mv, sizeof mv - 1, DV_UID_REGEN_NOT_UIDS, want);
    uint8_t *out;
    size_t outlen;
    /* The same value regenerated whole: the UIDs change too (registry UIDs excepted). */
    assert_int_equal(dv_uid_regenerate_value(k, NULL, (const uint8_t *)mv, sizeof mv - 1, DV_UID_REGEN_ALL, &out,
                                             &outlen), 0);
    dv_uid_regenerate(k, "1.2.3.4", 7, h0);
    assert_non_null(memmem(out, outlen, h0, strlen(h0)));
    free(out);
    dv_key_free(k);
}

/* Review of stop 51 (rev51): epoch_seconds says "Unix seconds from 1990 to 2037" but reads only 10 (or 13) digit
 * components, and Unix seconds are 10 digits only from 2001-09-09 (1000000000): a GE UID made in 1990-2001 writes
 * 9 digits (946729800: 2000-01-01 12:30 UTC; 12 digits in milliseconds) and was kept with its true date (the test
 * above passed 1990 only as `0631152000`, a zero-padded component no UID may hold, PS3.5 9.1; now 631152000). */
static void test_uid_holds_date_ge_before_2001(void **state)
{
    (void)state;
    static const char *const dated[] = {"1.2.840.113619.2.55.3.604688119.868.946729800.96",
                                        "1.2.840.113619.2.55.3.604688119.868.946729800123.7"};
    for (size_t i = 0; i < sizeof dated / sizeof dated[0]; i++)
        if (!dv_uid_holds_date(dated[i], strlen(dated[i])))
            fail_msg("no date found in %s", dated[i]);
}

/* The shape of a date in a UID (dv_uid_holds_date): a component of 8 digits or more that begins with a year
 * 1800-2099, a month and a day; and DV_UID_REGEN_DATED regenerates those values and the values that are not UIDs,
 * keeping the others. (docs/decisions.md "A kept UID holding a date or the patient's ID is regenerated") */
static void test_uid_holds_date(void **state)
{
    (void)state;
    static const char *const dated[] = {
        "1.3.6.1.4.1.5962.1.4.8.1.20040826185059.5457", "1.3.46.670589.11.30069.5.0.6452.2012100810540067000",
        "1.2.3.20240530", "1.2.3.18000101.1", "20991231.1", "1.2.3.19961231 ",
        /* GE writes Unix seconds (stop 51's red team F17): 2020-03-05 10:30 UTC, 2009-02-13, 1990-01-01 */
        "1.2.840.113619.2.55.3.604688119.868.1583404200.96", "1.2.840.113619.2.55.3.2831164355.851.1234567890.123",
        "1.2.840.113619.2.1.631152000", "1.2.840.113619.2.55.3.604688119.868.1583404200123.7" /* milliseconds */};
    static const char *const undated[] = {
        "1.2.3.2004082",   /* 7 digits */
        "1.2.3.20041326",  /* month 13 */
        "1.2.3.20040800",  /* day 0 */
        "1.2.3.21040826",  /* year 2104 */
        "1.2.3.17991231",  /* year 1799 */
        "1.2.3.920040826", /* not at the component's start */
        "1.2.840.113619.2.55.3.2831164355.851.123.1", /* 2831164355: 2059, past the range */
        "1.2.840.113619.2.55.3.631151999.1",           /* 1989-12-31 23:59:59 */
        "1.2.840.113619.2.55.3.12345678901.1",         /* 11 digits */
        "1.2.840.113619.2.55.3.631151999000.1",        /* milliseconds before 1990 */
        "1.2.3.4.1583404200.96",                       /* not GE's: 10 digits are no date elsewhere */
        "1.2.840.10008.5.1.4.1.1.2", ""};
    for (size_t i = 0; i < sizeof dated / sizeof dated[0]; i++)
        if (!dv_uid_holds_date(dated[i], strlen(dated[i])))
            fail_msg("no date found in %s", dated[i]);
    for (size_t i = 0; i < sizeof undated / sizeof undated[0]; i++)
        if (dv_uid_holds_date(undated[i], strlen(undated[i])))
            fail_msg("a date found in %s", undated[i]);
    static const char mv[] = "1.2.3.4\\1.2.3.20040826.1";
    assert_true(dv_ui_value_holds_date((const uint8_t *)mv, sizeof mv - 1));
    assert_false(dv_ui_value_holds_date((const uint8_t *)mv, 7));

    unsigned char k32[32] = {7};
    dv_key *k = dv_key_new(k32, sizeof k32, NULL);
    assert_non_null(k);
    char h[DV_UID_MAX + 1], h0[DV_UID_MAX + 1], want[256];
    dv_uid_regenerate(k, "1.2.3.20040826.1", 16, h);
    dv_uid_regenerate(k, "1.02", 4, h0);
    static const char v[] = "1.2.840.10008.5.1.4.1.1.7\\1.2.3.20040826.1\\1.2.3.4\\1.02";
    snprintf(want, sizeof want, "1.2.840.10008.5.1.4.1.1.7\\%s\\1.2.3.4\\%s", h, h0);
    expect_regen(k, v, sizeof v - 1, DV_UID_REGEN_DATED, want);
    dv_key_free(k);
}

/* dv_uid_dates_shift: in a vendor's bytes, each UID (6 components and 24 bytes or more; components
 * padded by zeros allowed, longer runs too) has each component that begins with a real calendar date shifted in
 * place; the rest stays byte for byte. */
static void test_uid_dates_shift(void **state)
{
    (void)state;
    char v[] = "a=1.3.12.2.1107.5.2.32.35131.2014031012405855226785388; b=1.2.20140310; "
               "c=1.2.840.114340.03.000008251017118051.3.20160503.121539.0016117. d=2014031012 "
               "e=1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22.23.24.25.26.27.20140310 "
               "f=1.3.12.2.1107.5.2.32.35131.2014023112405855226785388 g=1.3.12.2.1107.5.2..20140310.1";
    char want[sizeof v];
    memcpy(want, v, sizeof v);
    memcpy(strstr(want, "35131.20140310") + 6, "20140315", 8); /* +5 days */
    memcpy(strstr(want, "3.20160503.") + 2, "20160508", 8);
    memcpy(strstr(want, "27.20140310") + 3, "20140315", 8); /* a run longer than a UID */
    assert_int_equal(dv_uid_dates_count((const uint8_t *)v, sizeof v - 1), 3);
    assert_int_equal(dv_uid_dates_shift((uint8_t *)v, sizeof v - 1, 5), 3);
    assert_string_equal(v, want); /* b: too short for a study's UID; d: no UID; f: 31 February; g: 1..2 */
    assert_int_equal(dv_uid_dates_count((const uint8_t *)v, sizeof v - 1), 3); /* still dates, shifted */
}

/* The oracle for the next test: the byte-by-byte walk dv_uid_dates_shift was before stop 55 looked at every 8th
 * byte first (a run of digits and full stops cut at each non-run byte; UIDs of 24 bytes, 6 components, no empty
 * component; each component starting with 8 digits of a calendar date shifted). */
static int walk_date_shaped(const uint8_t *d)
{
    int century = (d[0] - '0') * 10 + d[1] - '0', month = (d[4] - '0') * 10 + d[5] - '0';
    int day = (d[6] - '0') * 10 + d[7] - '0';
    return century >= 18 && century <= 20 && month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

static size_t walk_dates(uint8_t *v, size_t n, int days)
{
    size_t found = 0;
    for (size_t i = 0; i < n;) {
        if (v[i] < '0' || v[i] > '9') {
            i++;
            continue;
        }
        size_t j = i, dots = 0, bad = 0;
        while (j < n && ((v[j] >= '0' && v[j] <= '9') || v[j] == '.'))
            j++;
        size_t end = j;
        while (end > i && v[end - 1] == '.')
            end--;
        for (size_t k = i; k < end; k++) {
            dots += v[k] == '.';
            bad |= v[k] == '.' && k + 1 < end && v[k + 1] == '.';
        }
        if (end - i >= 24 && dots >= 5 && !bad)
            for (size_t a = i; a < end;) {
                size_t b = a;
                while (b < end && v[b] >= '0' && v[b] <= '9')
                    b++;
                char out[8];
                if (b - a >= 8 && walk_date_shaped(v + a) && dv_shift_da((const char *)v + a, 8, days, out) == 0) {
                    memcpy(v + a, out, 8);
                    found++;
                }
                a = b + 1;
            }
        i = j;
    }
    return found;
}

/* dv_uid_dates_shift finds what a walk over every byte finds, wherever a run starts or ends against the 8-byte
 * stride it looks at first: 20,000 random texts of digits, full stops and other bytes, UIDs with dates put in at
 * random offsets (the value's start and end among them), counted and shifted alike, byte for byte. */
static void test_uid_dates_shift_matches_walk(void **state)
{
    (void)state;
    static const char *pieces[] = {"1.3.12.2.1107.5.2.32.35131.2014031012405855226785388", "1.2.20140310",
                                   "1.2.840.114340.03.000008251017118051.3.20160503.121539.0016117.",
                                   "1.2.3.4.5.6.7.8.9.20140310", "1.2.3.4.5.6.7.8.9..20140310", "20140310",
                                   "1.2.3.4.5.6.7.8.9.10.11.12.13.20140231", "..1.2.3.4.5.6.7.19991231.1", "."};
    static const char filler[] = "0123456789....ab \\";
    unsigned seed = 55;
    size_t total = 0;
    for (int round = 0; round < 20000; round++) {
        uint8_t a[400], b[400];
        size_t n = (size_t)(rand_r(&seed) % 300);
        for (size_t k = 0; k < n; k++)
            a[k] = (uint8_t)filler[rand_r(&seed) % (sizeof filler - 1)];
        for (int put = rand_r(&seed) % 4; put > 0; put--) {
            const char *pc = pieces[rand_r(&seed) % (sizeof pieces / sizeof pieces[0])];
            size_t len = strlen(pc);
            if (len > n)
                continue;
            size_t at = rand_r(&seed) % 3 == 0 ? (rand_r(&seed) % 2 ? 0 : n - len) : rand_r(&seed) % (n - len + 1);
            memcpy(a + at, pc, len);
        }
        memcpy(b, a, n);
        size_t want = walk_dates(b, n, 5);
        assert_int_equal(dv_uid_dates_count(a, n), want);
        assert_int_equal(dv_uid_dates_shift(a, n, 5), want);
        assert_memory_equal(a, b, n);
        total += want;
    }
    assert_true(total > 1000); /* the texts held dates to find */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uid_hmac_matches_openssl),
        cmocka_unit_test(test_uid_decimal_matches_bignum),
        cmocka_unit_test(test_uid_hmac_fixed_vectors),
        cmocka_unit_test(test_uid_hmac_shared_key),
        cmocka_unit_test(test_uid_memo_same_mapping),
        cmocka_unit_test(test_registry_uids_kept_others_regenerated),
        cmocka_unit_test(test_uid_syntax),
        cmocka_unit_test(test_regenerate_not_uids),
        cmocka_unit_test(test_uid_holds_date),
        cmocka_unit_test(test_uid_holds_date_ge_before_2001),
        cmocka_unit_test(test_uid_dates_shift),
        cmocka_unit_test(test_uid_dates_shift_matches_walk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
