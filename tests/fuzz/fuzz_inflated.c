/* libFuzzer target: the look inside a kept private value that is a zlib or gzip stream or a ZIP archive
 * (src/engine/packed_values.c dv_packed_kind_of, dv_zip_holds_own; src/engine/opaque_ids.c dv_inflated_holds_own):
 * a vendor's compressed block, whose bytes are the file's, hostile.
 *
 * The input is the value. When it starts like a stream or an archive it is inflated (at most 1 MiB here: the
 * product's cap is 64 MiB, the loop is the same) and looked at for a few held values of every kind. Checks
 * (abort, so libFuzzer keeps the input):
 *   1. the answer is 0 or 1 (never an error: the only error is out of memory);
 *   2. a value that inflates to bytes holding one of the values as a word is found: the input's own inflation
 *      (zlib's uncompress into a bounded buffer) is compared with the answer when it fits;
 *   3. the input deflated as the one entry of a ZIP archive the harness writes (local header, data, central
 *      directory, end record, as zip(1) does) is found when the input holds SMITHSON as a word, and the same
 *      archive with the input stored is read without error;
 *   4. the input then that archive ends as a ZIP behind a prefix (dv_zip_ends_value), told from its last
 *      DV_ZIP_TAIL_MAX bytes as from the whole, and is walked from there: found when the input holds SMITHSON as
 *      a word; the input itself, told from its tail, is never "no" where the whole says "yes" (a signature before
 *      the tail is taken as there: fail closed), and one that ends as an archive is walked as the product does. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "engine/opaque_ids.h"
#include "engine/packed_values.h"

#define CAP (1u << 20)

static void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_inflated: invariant violated: %s\n", what);
    abort();
}

static const char vals[3][DV_UID_MAX + 1] = {"SMITHSON", "4471902", "19610423"};
static const size_t lens[3] = {8, 7, 8};
static const unsigned char kinds[3] = {DV_OWN_WORD, DV_OWN_WORD, DV_OWN_DATE};

/* SMITHSON standing between spaces (or the ends) in v[0, n) */
static int holds_word(const uint8_t *v, size_t n)
{
    for (size_t i = 0; i + 8 <= n; i++)
        if (memcmp(v + i, "SMITHSON", 8) == 0 && (i == 0 || v[i - 1] == ' ') && (i + 8 == n || v[i + 8] == ' '))
            return 1;
    return 0;
}

static uint8_t *put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8);
    return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    return put16(put16(p, v & 0xFFFFu), v >> 16);
}

/* A ZIP of one entry "e" holding v[0, n), deflated (raw, as method 8 stores it) or stored; *out its length */
static uint8_t *zip_of(const uint8_t *v, size_t n, int packed, size_t *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    size_t bound = deflateBound(&zs, (uLong)n) + 16;
    uint8_t *z = malloc(30 + 1 + bound + n + 46 + 1 + 22);
    if (!z) {
        deflateEnd(&zs);
        return NULL;
    }
    uint8_t *d = z + 31;
    size_t cn = n;
    if (packed) {
        zs.next_in = (Bytef *)v, zs.avail_in = (uInt)n, zs.next_out = d, zs.avail_out = (uInt)bound;
        if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
            deflateEnd(&zs);
            free(z);
            return NULL;
        }
        cn = zs.total_out;
    } else {
        memcpy(d, v, n);
    }
    deflateEnd(&zs);
    uint32_t crc = (uint32_t)crc32(0, v, (uInt)n), method = packed ? 8 : 0;
    uint8_t *p = put32(z, 0x04034b50u);
    p = put16(put16(put16(put16(put16(p, 20), 0), method), 0), 0);
    p = put16(put16(put32(put32(put32(p, crc), (uint32_t)cn), (uint32_t)n), 1), 0);
    *p = 'e';
    p = d + cn;
    uint32_t cd = (uint32_t)(p - z);
    p = put16(put16(put16(put16(put16(put16(put32(p, 0x02014b50u), 20), 20), 0), method), 0), 0);
    p = put16(put16(put16(put16(put16(put32(put32(put32(p, crc), (uint32_t)cn), (uint32_t)n), 1), 0), 0), 0), 0);
    p = put32(put32(p, 0), 0);
    *p++ = 'e';
    uint32_t cd_n = (uint32_t)(p - z) - cd;
    p = put16(put16(put16(put16(put32(p, 0x06054b50u), 0), 0), 1), 1);
    p = put16(put32(put32(p, cd_n), cd), 0);
    *out = (size_t)(p - z);
    return z;
}

/* dv_zip_ends_value of v[0, n) from its last DV_ZIP_TAIL_MAX bytes and from the whole (the signatures the tail
 * does not hold then read): the first never 0 where the second is 1 */
static int zip_ends(const uint8_t *v, size_t n)
{
    size_t tn = n < DV_ZIP_TAIL_MAX ? n : DV_ZIP_TAIL_MAX;
    int tail = dv_zip_ends_value(v + (n - tn), tn, n), whole = dv_zip_ends_value(v, n, n);
    if (whole && !tail)
        fuzz_fail("an archive's end told from the whole value but not from its tail");
    return tail;
}

/* Invariant 4 (see the top): the input, then z[0, zn), the harness's archive of it (deflated) */
static void check_zip_behind_input(dv_own_scanner *sc, const uint8_t *data, size_t size, const uint8_t *z,
                                   size_t zn)
{
    uint8_t *v = malloc(size + zn);
    if (!v)
        return;
    memcpy(v, data, size);
    memcpy(v + size, z, zn);
    if (!zip_ends(v, size + zn))
        fuzz_fail("an archive behind the input was not told by its end");
    dv_error err;
    memset(&err, 0, sizeof err);
    uint64_t left = CAP;
    int rc = dv_zip_holds_own(sc, v, size + zn, &left, 0x0025101Bu, &err);
    if (rc < 0 && err.code != DV_ERR_NOMEM)
        fuzz_fail("an archive behind the input: an error other than out of memory");
    if (rc == 0 && holds_word(data, size))
        fuzz_fail("an archive behind the input whose deflated entry holds a held word was not found");
    free(v);
}

/* Invariant 3 (see the top) */
static void check_zip_of_input(dv_own_scanner *sc, const uint8_t *data, size_t size)
{
    for (int packed = 1; packed >= 0; packed--) {
        size_t zn;
        uint8_t *z = zip_of(data, size, packed, &zn);
        if (!z)
            return;
        dv_error err;
        memset(&err, 0, sizeof err);
        uint64_t left = CAP;
        int rc = dv_zip_holds_own(sc, z, zn, &left, 0x0025101Bu, &err);
        if (rc < 0 && err.code != DV_ERR_NOMEM)
            fuzz_fail("the harness's ZIP: an error other than out of memory");
        if (packed && rc == 0 && holds_word(data, size))
            fuzz_fail("a ZIP whose deflated entry holds a held word was not found");
        if (packed)
            check_zip_behind_input(sc, data, size, z, zn);
        free(z);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dv_own_scanner *sc = dv_own_scanner_new(vals, lens, kinds, 3);
    if (!sc)
        return 0;
    check_zip_of_input(sc, data, size);
    dv_packed_kind kind = dv_packed_kind_of(data, size);
    if (kind == DV_PACKED_NONE && zip_ends(data, size)) /* a ZIP behind a prefix, as kept_own.c reads one */
        kind = DV_PACKED_ZIP;
    if (kind != DV_PACKED_STREAM && kind != DV_PACKED_ZIP) {
        dv_own_scanner_free(sc);
        return 0;
    }
    dv_error err;
    memset(&err, 0, sizeof err);
    uint64_t left = CAP;
    int rc = kind == DV_PACKED_ZIP ? dv_zip_holds_own(sc, data, size, &left, 0x0025101Bu, &err)
                                   : dv_inflated_holds_own(sc, data, size, &left, 0x0025101Bu, &err);
    if (rc < 0 && err.code != DV_ERR_NOMEM)
        fuzz_fail("an error other than out of memory");
    if (rc > 1)
        fuzz_fail("an answer other than 0 or 1");
    /* zlib streams only (uncompress reads no gzip): one that inflates whole within CAP is inflated once more by
     * zlib itself; SMITHSON standing between spaces (or the ends) in it must have been found */
    uint8_t *out = malloc(CAP);
    uLongf n = CAP;
    if (out && kind == DV_PACKED_STREAM && data[0] != 0x1F && uncompress(out, &n, data, (uLong)size) == Z_OK) {
        if (holds_word(out, n) && rc == 0)
            fuzz_fail("a stream inflating to a held word was not found");
    }
    free(out);
    dv_own_scanner_free(sc);
    return 0;
}
