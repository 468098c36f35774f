/* libFuzzer target: the codestream walkers that find embedded text in encapsulated pixel data
 * (src/image/codestream_meta.c: JPEG, JPEG-LS, JPEG 2000, JP2, RLE).
 *
 * Input: byte 0 the family (bit 3 set: RLE, each fragment a frame, a segment's plane 1 + 9 x bits 4-7 bytes;
 * else bit 0: 1 JPEG 2000, 0 JPEG, or JPEG-LS when bit 4 is set too) and in bits 1-2 the number of fragment
 * cuts (0-3),
 * then 2 bytes per cut (little-endian positions, taken modulo the stream's length and sorted), then the
 * stream. The fragments lie in one source with 8 bytes of 0xAB before each (where item headers are).
 * Invariants (abort): every reported range is inside one fragment and after the previous one, literals are at
 * most 4 bytes; the error of a refused stream is DV_ERR_MALFORMED; a stream with its ranges applied, walked
 * again, needs nothing more (clearing is idempotent). Memory safety: ASan/UBSan. Seeds: tests/fuzz/corpus/
 * codestream/ (tests/fuzz/make_image_seeds.py, codestream_seeds). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/dv_codestream_meta.h"

typedef struct run {
    const dv_cs_frag *f;
    uint32_t n;
    uint8_t *src;   /* the source bytes: patched in place */
    uint64_t last;
    int count;
} run;

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_codestream: %s\n", what);
    abort();
}

static int patch(void *user, uint64_t off, uint64_t len, const uint8_t *lit, unsigned nlit)
{
    run *r = user;
    if (off < r->last || len == 0)
        fail("ranges out of order, overlapping or empty");
    uint32_t k = 0;
    while (k < r->n && !(off >= r->f[k].offset && off < r->f[k].offset + r->f[k].length))
        k++;
    if (k == r->n || off + len > r->f[k].offset + r->f[k].length)
        fail("a range outside one fragment");
    if (nlit > 4 || (nlit && !lit) || (nlit && nlit != len && nlit != 1))
        fail("a literal longer than 4 bytes, or neither a literal nor a fill");
    if (nlit == len)
        memcpy(r->src + off, lit, (size_t)len);
    else
        memset(r->src + off, nlit ? lit[0] : 0, (size_t)len);
    r->last = off + len;
    r->count++;
    return 0;
}

static int src_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    run *r = ctx;
    memcpy(buf, r->src + off, len);
    return 0;
}

static int walk(dv_cs_family fam, uint64_t plane, const dv_source *src, const dv_cs_frag *f, uint32_t nf, run *r,
                dv_error *err)
{
    return fam == DV_CS_RLE ? dv_rle_clean(src, f, nf, NULL, 0, plane, patch, r, err)
                            : dv_codestream_clean(fam, src, f, nf, NULL, 0, patch, r, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    dv_cs_family fam = (data[0] & 8)    ? DV_CS_RLE
                       : (data[0] & 1)  ? DV_CS_J2K
                       : (data[0] & 16) ? DV_CS_JPEG_LS
                                        : DV_CS_JPEG;
    uint64_t plane = 1 + (uint64_t)(data[0] >> 4) * 9;
    size_t ncuts = (data[0] >> 1) & 3;
    if (size < 1 + 2 * ncuts)
        return 0;
    const uint8_t *s = data + 1 + 2 * ncuts;
    size_t n = size - 1 - 2 * ncuts;
    if (n == 0)
        return 0;
    size_t cuts[3];
    for (size_t i = 0; i < ncuts; i++)
        cuts[i] = (size_t)(data[1 + 2 * i] | data[2 + 2 * i] << 8) % n;
    for (size_t i = 1; i < ncuts; i++) /* insertion sort */
        for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
            size_t t = cuts[j];
            cuts[j] = cuts[j - 1];
            cuts[j - 1] = t;
        }
    dv_cs_frag f[4];
    uint32_t nf = 0;
    uint8_t *src = malloc(n + 8 * 4);
    if (!src)
        return 0;
    size_t prev = 0, w = 0;
    for (size_t k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : n;
        if (end <= prev && k < ncuts)
            continue; /* an empty fragment: the engine skips those */
        memset(src + w, 0xAB, 8);
        w += 8;
        f[nf].offset = w;
        f[nf].length = end - prev;
        memcpy(src + w, s + prev, end - prev);
        w += end - prev;
        prev = end;
        nf++;
    }
    run r = {f, nf, src, 0, 0};
    dv_source source = {.ctx = &r, .size = w, .read_at = src_read};
    dv_error err = {0};
    if (walk(fam, plane, &source, f, nf, &r, &err) != 0) {
        if (err.code != DV_ERR_MALFORMED)
            fail("a refusal that is not DV_ERR_MALFORMED");
    } else {
        run again = {f, nf, src, 0, 0};
        source.ctx = &again;
        if (walk(fam, plane, &source, f, nf, &again, &err) != 0 || again.count != 0)
            fail("a cleared stream needs clearing again");
    }
    free(src);
    return 0;
}
