/* deidentify --mpi seals every batch between ranks (src/cli/mpi_seal.c): a batch opens only at the rank it was
 * sealed for, under the tag it was sealed with, from the rank that sealed it, in order, once, and under the same
 * key file; sealed, it shows nothing of what it holds (a source path). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "dv_testkit.h"

#include "cli/cli_mpi.h"
#include "dicomveil/dv_engine.h"

#define PATH "/data/Smithson_Harriet/ct0001.dcm"

static dv_key *key_of(unsigned char fill)
{
    dv_key *k = dvt_key_filled(fill);
    assert_non_null(k);
    return k;
}

/* A sealed copy of PATH from `from` to `to` under tag, in freshly allocated memory of *n bytes. */
static uint8_t *sealed(dvm_seal *s, int to, int tag, size_t *n)
{
    dvm_buf b = {0};
    dvm_raw(&b, PATH, sizeof PATH);
    assert_int_equal(dvm_seal_wrap(s, &b, to, tag), 0);
    *n = b.len;
    return b.p;
}

static int opens(dvm_seal *s, const uint8_t *batch, size_t n, int from, int tag)
{
    uint8_t *copy = malloc(n);
    assert_non_null(copy);
    memcpy(copy, batch, n);
    const uint8_t *plain = NULL;
    size_t plain_n = 0;
    int rc = dvm_seal_open(s, copy, n, from, tag, &plain, &plain_n);
    if (rc == 0) {
        assert_int_equal(plain_n, sizeof PATH);
        assert_memory_equal(plain, PATH, sizeof PATH);
    }
    free(copy);
    return rc;
}

/* Ranks 0, 1 and 2 of one job under k, each made (r[i] is rank i), and their end. */
static void three_ranks(const dv_key *k, dvm_seal *r[3])
{
    for (int i = 0; i < 3; i++) {
        r[i] = dvm_seal_new(k, i, 3);
        assert_non_null(r[i]);
    }
}

static void three_ranks_free(dvm_seal *r[3])
{
    for (int i = 0; i < 3; i++)
        dvm_seal_free(r[i]);
}

static int holds(const uint8_t *p, size_t n, const char *s)
{
    size_t k = strlen(s);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(p + i, s, k) == 0)
            return 1;
    return 0;
}

static void test_seal_round_trip_and_refusals(void **state)
{
    (void)state;
    dv_key *k = key_of(7), *other = key_of(8);
    dvm_seal *r[3], *stranger = dvm_seal_new(other, 0, 3), *r0, *r1, *r2;
    three_ranks(k, r);
    r0 = r[0], r1 = r[1], r2 = r[2];
    assert_non_null(stranger);
    size_t n0, n1, n2;
    uint8_t *a = sealed(r1, 0, 1, &n0), *b = sealed(r1, 0, 1, &n1), *c = sealed(r1, 0, 1, &n2);
    assert_false(holds(a, n0, "Smithson"));
    assert_int_equal(opens(stranger, a, n0, 1, 1), -1); /* another key file */
    assert_int_equal(opens(r2, a, n0, 1, 1), -1);       /* sealed for rank 0, opened by rank 2 */
    assert_int_equal(opens(r0, a, n0, 1, 2), -1);       /* another tag */
    assert_int_equal(opens(r0, a, n0, 2, 1), -1);       /* said to come from rank 2 */
    assert_int_equal(opens(r0, b, n1, 1, 1), -1);       /* the second before the first */
    a[n0 / 2] ^= 1;
    assert_int_equal(opens(r0, a, n0, 1, 1), -1); /* one bit changed */
    a[n0 / 2] ^= 1;
    assert_int_equal(opens(r0, a, n0, 1, 1), 0);
    assert_int_equal(opens(r0, a, n0, 1, 1), -1); /* replayed */
    assert_int_equal(opens(r0, b, n1, 1, 1), 0);
    assert_int_equal(opens(r0, b, 12, 1, 1), -1); /* cut */
    assert_int_equal(opens(r0, c, n2, 1, 1), 0);
    free(a);
    free(b);
    free(c);
    three_ranks_free(r);
    dvm_seal_free(stranger);
    dv_key_free(k);
    dv_key_free(other);
}

/* Rank 0 deals to every rank: its batches to rank 1 and to rank 2 must not share a nonce (a count per
 * destination gave both first batches prefix + 0: GCM under one key and one nonce gives away the XOR of the two
 * plain batches), and each receiver still opens its own in order although the nonce's count skips the others'. */
static void test_seal_nonce_unique_across_destinations(void **state)
{
    (void)state;
    dv_key *k = key_of(7);
    dvm_seal *r[3], *r0, *r1, *r2;
    three_ranks(k, r);
    r0 = r[0], r1 = r[1], r2 = r[2];
    size_t na, nb, nc;
    uint8_t *a = sealed(r0, 1, 64, &na), *b = sealed(r0, 2, 64, &nb), *c = sealed(r0, 1, 64, &nc);
    assert_memory_not_equal(a, b, 12); /* the nonces */
    assert_memory_not_equal(a, c, 12);
    assert_memory_not_equal(b, c, 12);
    assert_int_equal(opens(r1, a, na, 0, 64), 0);
    assert_int_equal(opens(r2, b, nb, 0, 64), 0);
    assert_int_equal(opens(r1, c, nc, 0, 64), 0);
    assert_int_equal(opens(r2, c, nc, 0, 64), -1); /* rank 1's, not rank 2's */
    free(a);
    free(b);
    free(c);
    three_ranks_free(r);
    dv_key_free(k);
}

/* The wire key is not HMAC-SHA256(run key, label): cryptoHashConfig without a cryptoKey writes exactly that,
 * base64, into an output whose value was the label, so an output's reader could open what crossed the wire or stayed
 * in /dev/shm. GCM's cipher is CTR under the nonce, so a try without the tag shows whether a candidate key opens. */
static void test_seal_key_not_a_crypto_hash(void **state)
{
    (void)state;
    unsigned char kb[32], cand[32];
    memset(kb, 7, sizeof kb);
    dv_key *k = key_of(7);
    dvm_seal *r1 = dvm_seal_new(k, 1, 2);
    assert_non_null(r1);
    unsigned int m = 0;
    const char *label = "dicomveil-mpi-wire-1";
    assert_non_null(HMAC(EVP_sha256(), kb, sizeof kb, (const unsigned char *)label, strlen(label), cand, &m));
    size_t n;
    uint8_t *a = sealed(r1, 0, 1, &n);
    unsigned char plain[sizeof PATH];
    int len = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    assert_non_null(c);
    assert_int_equal(EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, cand, a), 1);
    assert_int_equal(EVP_DecryptUpdate(c, plain, &len, a + 12, (int)sizeof PATH), 1);
    assert_int_equal(len, (int)sizeof PATH);
    assert_memory_not_equal(plain, PATH, sizeof PATH);
    EVP_CIPHER_CTX_free(c);
    free(a);
    dvm_seal_free(r1);
    dv_key_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seal_round_trip_and_refusals),
        cmocka_unit_test(test_seal_nonce_unique_across_destinations),
        cmocka_unit_test(test_seal_key_not_a_crypto_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
