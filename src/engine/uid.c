/* Keyed, deterministic UID regeneration (DECISIONS 6) and the key that drives it (DECISIONS 7).
 *
 * new UID = "2.25." + decimal of the first 128 bits (big-endian) of HMAC-SHA256(key, original UID).
 * 2.25 is the UUID-derived root of PS3.5 B.2: a 128-bit integer there needs no registered root of our own,
 * and 44 characters leave room under the 64-character UI limit. Keyed so that nobody without the key can
 * map an original UID to its replacement (an unkeyed hash of a guessable UID could be reversed by
 * enumeration); deterministic so that the same key gives the same mapping in every instance, job, process
 * and rank, which keeps studies, series and every reference (ReferencedSOPInstanceUID ...) consistent. */
#include <stdlib.h>
#include <string.h>

#include "dicom/dv_uid_syntax.h"
#include "dict/dv_dict.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "dicomveil/dicomveil.h"
#include "engine/dv_plan.h"
#include "engine/uid_memo.h"

struct dv_key {
    /* HMAC-SHA256 with this key, keyed once (RFC 2104: the inner and outer hashes after their padded key
     * block): a UID then costs two context copies and two finals, not OpenSSL 3's one-shot HMAC(), which
     * fetches the MAC and the digest by name (locks, hash lookups, parameter parsing) on every call (~6 % of a
     * metadata-only run's CPU: bench/RESULTS.md "Per-file cost"). Read-only after dv_key_new, so workers share
     * them (EVP_MD_CTX_copy_ex only reads its source). [test_uid_hmac: test_uid_hmac_matches_openssl, test_uid_hmac_shared_key] */
    EVP_MD_CTX *inner, *outer;
    size_t len;
    unsigned char bytes[];
};

/* 0 when the two pre-keyed contexts are ready. */
static int key_contexts(dv_key *k)
{
    enum { BLOCK = 64 }; /* SHA-256's block */
    unsigned char kb[BLOCK], pad[BLOCK];
    memset(kb, 0, sizeof kb);
    unsigned int n = 0;
    int ok = 1;
    if (k->len > BLOCK)
        ok = EVP_Digest(k->bytes, k->len, kb, &n, EVP_sha256(), NULL) == 1; /* a long key is hashed first */
    else
        memcpy(kb, k->bytes, k->len);
    k->inner = EVP_MD_CTX_new();
    k->outer = EVP_MD_CTX_new();
    ok = ok && k->inner && k->outer;
    for (int side = 0; ok && side < 2; side++) {
        for (size_t i = 0; i < BLOCK; i++)
            pad[i] = kb[i] ^ (side == 0 ? 0x36 : 0x5c);
        EVP_MD_CTX *c = side == 0 ? k->inner : k->outer;
        ok = EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(c, pad, BLOCK) == 1;
    }
    OPENSSL_cleanse(kb, sizeof kb);
    OPENSSL_cleanse(pad, sizeof pad);
    return ok ? 0 : -1;
}

int dv_key_derive(const dv_key *key, const char *label, unsigned char out[32])
{
    unsigned int m = 0;
    size_t ll = strlen(label);
    return key->len && key->len <= INT32_MAX && ll <= INT32_MAX &&
                   HMAC(EVP_sha256(), label, (int)ll, key->bytes, key->len, out, &m) && m == 32
               ? 0
               : -1;
}

int dv_key_hmac(const dv_key *key, const void *msg, size_t len, unsigned char md[32])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned char ih[32];
    unsigned int n = 0, m = 0;
    int ok = c && EVP_MD_CTX_copy_ex(c, key->inner) == 1 && EVP_DigestUpdate(c, msg, len) == 1 &&
             EVP_DigestFinal_ex(c, ih, &n) == 1 && n == 32 && EVP_MD_CTX_copy_ex(c, key->outer) == 1 &&
             EVP_DigestUpdate(c, ih, 32) == 1 && EVP_DigestFinal_ex(c, md, &m) == 1 && m == 32;
    EVP_MD_CTX_free(c);
    OPENSSL_cleanse(ih, sizeof ih);
    return ok ? 0 : -1;
}

dv_key *dv_key_new(const void *bytes, size_t len, dv_error *err)
{
    if (!bytes || len < DV_KEY_MIN_BYTES || len > DV_KEY_MAX_BYTES) {
        dv_fail(err, DV_ERR_USAGE, "key must be %d to %d bytes (got %zu)", DV_KEY_MIN_BYTES, DV_KEY_MAX_BYTES,
                bytes ? len : (size_t)0);
        return NULL;
    }
    dv_key *k = malloc(sizeof *k + len);
    if (!k) {
        dv_fail(err, DV_ERR_NOMEM, "out of memory for the key");
        return NULL;
    }
    k->len = len;
    memcpy(k->bytes, bytes, len);
    if (key_contexts(k) != 0) {
        dv_key_free(k);
        dv_fail(err, DV_ERR_NOMEM, "out of memory for the key's HMAC contexts");
        return NULL;
    }
    return k;
}

const uint8_t *dv_key_bytes(const dv_key *key, size_t *len)
{
    *len = key ? key->len : 0;
    return key ? key->bytes : NULL;
}

void dv_key_free(dv_key *key)
{
    if (!key)
        return;
    EVP_MD_CTX_free(key->inner); /* frees (and clears) the keyed states */
    EVP_MD_CTX_free(key->outer);
    OPENSSL_cleanse(key->bytes, key->len); /* the key should not linger in freed memory */
    free(key);
}

static int is_pad(uint8_t c)
{
    return c == ' ' || c == '\0';
}

/* Padding is not part of the UID: "1.2.3\0" and "1.2.3" are the same UID and must map alike. */
static void trim_pad(const char **uid, size_t *len)
{
    while (*len > 0 && is_pad((uint8_t)(*uid)[*len - 1]))
        (*len)--;
    while (*len > 0 && is_pad((uint8_t)(*uid)[0])) {
        (*uid)++;
        (*len)--;
    }
}

/* 128-bit big-endian unsigned integer -> decimal, without leading zeros ("0" for zero).
 * Long division over four 32-bit limbs by 10^9, nine digits a pass (at most 5 passes for 39 digits; one digit a
 * pass took 39, ~5 % of a small-file run's CPU): portable, no __int128 needed. [test_uid_hmac:
 * test_uid_decimal_matches_bignum] */
static size_t u128_to_decimal(const unsigned char be[16], char out[40])
{
    uint32_t limb[4];
    for (int i = 0; i < 4; i++)
        limb[i] = (uint32_t)be[4 * i] << 24 | (uint32_t)be[4 * i + 1] << 16 | (uint32_t)be[4 * i + 2] << 8 |
                  (uint32_t)be[4 * i + 3];
    uint32_t chunk[5]; /* base-10^9 digits, least significant first */
    size_t nchunks = 0;
    for (;;) {
        uint64_t rem = 0;
        int nonzero = 0;
        for (int i = 0; i < 4; i++) {
            uint64_t cur = rem << 32 | limb[i];
            limb[i] = (uint32_t)(cur / 1000000000u);
            rem = cur % 1000000000u;
            nonzero |= limb[i] != 0;
        }
        chunk[nchunks++] = (uint32_t)rem;
        if (!nonzero)
            break;
    }
    size_t n = 0;
    for (size_t c = nchunks; c-- > 0;) {
        char nine[9];
        uint32_t v = chunk[c];
        for (int d = 8; d >= 0; d--) {
            nine[d] = (char)('0' + v % 10);
            v /= 10;
        }
        size_t skip = 0;
        if (c == nchunks - 1) /* the most significant chunk has no leading zeros (but "0" stays) */
            while (skip < 8 && nine[skip] == '0')
                skip++;
        memcpy(out + n, nine + skip, 9 - skip);
        n += 9 - skip;
    }
    out[n] = '\0';
    return n;
}

size_t dv_uid_regenerate(const dv_key *key, const char *uid, size_t uid_len, char out[DV_UID_MAX + 1])
{
    return dv_uid_regenerate_memo(key, NULL, uid, uid_len, out);
}

size_t dv_uid_regenerate_memo(const dv_key *key, dv_uid_memo *memo, const char *uid, size_t uid_len,
                              char out[DV_UID_MAX + 1])
{
    out[0] = '\0';
    if (!uid)
        return 0;
    trim_pad(&uid, &uid_len);
    if (uid_len == 0)
        return 0; /* empty stays empty */
    if (dv_uid_in_registry(uid, uid_len)) {
        /* SOP classes, transfer syntaxes, coding schemes, well-known frames of reference: not identifying. A
         * value that only starts with the registry root is not one of them but an instance's own (a system
         * that took the root as its own, "1.2.840.10008.99.<MRN>.<date>"), and is regenerated like any other
         * (docs/decisions.md "Registry UIDs"). [test_uid_hmac: test_registry_uids_kept_others_regenerated] */
        size_t n = uid_len > DV_UID_MAX ? DV_UID_MAX : uid_len;
        memcpy(out, uid, n);
        out[n] = '\0';
        return n;
    }
    if (!key)
        return 0;
    size_t n = dv_uid_memo_get(memo, key, uid, uid_len, out);
    if (n)
        return n;
    unsigned char md[32];
    if (dv_key_hmac(key, uid, uid_len, md) != 0)
        return 0;
    char dec[40];
    n = u128_to_decimal(md, dec);
    OPENSSL_cleanse(md, sizeof md);
    memcpy(out, "2.25.", 5);
    memcpy(out + 5, dec, n + 1);
    dv_uid_memo_put(memo, key, uid, uid_len, out, 5 + n);
    return 5 + n;
}

/* Values in a UI value: backslashes + 1. */
static size_t uid_values(const uint8_t *value, size_t len)
{
    size_t n = 1;
    for (const uint8_t *p = value, *end = value + len; (p = memchr(p, '\\', (size_t)(end - p))) != NULL; p++)
        n++;
    return n;
}

/* The room regen_into needs for a value: each regenerated UID at most DV_UID_MAX, separators, padding. */
static size_t regen_room(const uint8_t *value, size_t len)
{
    return uid_values(value, len) * (DV_UID_MAX + 1) + 2;
}

_Static_assert(DV_UID_SYNTAX_MAX == DV_UID_MAX, "a UID regen_one keeps must fit out");

/* One value of a UI element, padding trimmed, under mode: a UID a kept value holds stays (DV_UID_REGEN_NOT_UIDS),
 * unless it holds a date the plan changes (DV_UID_REGEN_DATED); anything else goes through the keyed function like
 * a UID the plan regenerates, so the same text maps to the same UID in every instance (docs/decisions.md "Kept
 * UIDs are UIDs"). */
static size_t regen_one(const dv_key *key, dv_uid_memo *memo, const char *uid, size_t n, dv_uid_regen mode,
                        char out[DV_UID_MAX + 1])
{
    trim_pad(&uid, &n);
    if (mode != DV_UID_REGEN_ALL && n > 0 && dv_uid_valid(uid, n) &&
        (mode == DV_UID_REGEN_NOT_UIDS || !dv_uid_holds_date(uid, n))) {
        memcpy(out, uid, n);
        out[n] = '\0';
        return n;
    }
    return dv_uid_regenerate_memo(key, memo, uid, n, out);
}

/* dv_uid_regenerate_into once buf is known to hold regen_room bytes. */
static size_t regen_into(const dv_key *key, dv_uid_memo *memo, const uint8_t *value, size_t len, dv_uid_regen mode,
                         uint8_t *buf)
{
    size_t o = 0;
    for (size_t start = 0; start <= len;) {
        const uint8_t *bs = len > start ? memchr(value + start, '\\', len - start) : NULL;
        size_t end = bs ? (size_t)(bs - value) : len;
        if (start > 0)
            buf[o++] = '\\';
        o += regen_one(key, memo, (const char *)value + start, end - start, mode, (char *)buf + o);
        start = end + 1;
    }
    /* A value of only empty components ("\\") stays as it was, minus padding; all-empty becomes empty. */
    int all_empty = 1;
    for (size_t i = 0; i < o; i++)
        if (buf[i] != '\\') {
            all_empty = 0;
            break;
        }
    if (all_empty)
        o = 0;
    if (o & 1)
        buf[o++] = '\0';
    return o;
}

long dv_uid_regenerate_into(const dv_key *key, dv_uid_memo *memo, const uint8_t *value, size_t len, dv_uid_regen mode,
                            uint8_t *buf, size_t cap)
{
    if (cap < regen_room(value, len))
        return -1;
    return (long)regen_into(key, memo, value, len, mode, buf);
}

int dv_uid_regenerate_value(const dv_key *key, dv_uid_memo *memo, const uint8_t *value, size_t len, dv_uid_regen mode,
                            uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    uint8_t *buf = malloc(regen_room(value, len));
    if (!buf)
        return -1;
    size_t o = regen_into(key, memo, value, len, mode, buf);
    if (o == 0) {
        free(buf);
        return 0;
    }
    *out = buf;
    *out_len = o;
    return 0;
}
