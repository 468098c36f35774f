/* A streamed deflated dataset read out of order (reader.c hold_displaced): the tree walk of the writer reads its
 * bulk values against the stream order, which re-inflated up to a span per value (quadratic time on hostile
 * input). Now the walk costs at most a small multiple of one sequential inflation, or the instance fails alone
 * with DV_ERR_LIMIT; an in-order dataset and one large swapped value hold nothing in memory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dv_testkit.h"
#include "dicomveil/dicomveil.h"
#include "dicom/dv_ds.h"
#include "dicom/dv_reader_internal.h"

#define SOP_CLASS "1.2.840.10008.5.1.4.1.1.7"
#define SOP_INST "2.25.4242"
#define MARK "SECRET^VALUE" /* in every bulk value: no error message may carry it */

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

/* An explicit VR little endian element; OB, OW, SQ, UN take the 32-bit length form. */
static void el(buf *b, uint32_t tag, const char vr[2], const void *v, uint32_t len)
{
    uint8_t h[12] = { (uint8_t)(tag >> 16), (uint8_t)(tag >> 24), (uint8_t)tag, (uint8_t)(tag >> 8),
                      (uint8_t)vr[0], (uint8_t)vr[1] };
    int lng = !memcmp(vr, "OB", 2) || !memcmp(vr, "OW", 2) || !memcmp(vr, "SQ", 2) || !memcmp(vr, "UN", 2);
    if (lng) {
        h[8] = (uint8_t)len, h[9] = (uint8_t)(len >> 8), h[10] = (uint8_t)(len >> 16), h[11] = (uint8_t)(len >> 24);
    } else {
        h[6] = (uint8_t)len, h[7] = (uint8_t)(len >> 8);
    }
    put(b, h, lng ? 12 : 8);
    if (len)
        put(b, v, len);
}

static void el_str(buf *b, uint32_t tag, const char vr[2], const char *s)
{
    char v[80];
    size_t n = strlen(s);
    memcpy(v, s, n);
    if (n & 1)
        v[n++] = '\0';
    el(b, tag, vr, v, (uint32_t)n);
}

/* A bulk value of n bytes, distinct per (item, which), compressible. */
static uint8_t *value(uint32_t item, uint32_t which, uint32_t n)
{
    uint8_t *v = malloc(n);
    assert_non_null(v);
    for (uint32_t i = 0; i < n; i++)
        v[i] = (uint8_t)(i % 61 + item * 3 + which);
    memcpy(v, MARK, sizeof MARK - 1);
    return v;
}

/* The preamble and file meta information of a deflated explicit VR little endian file, into meta. */
static void file_meta(buf *meta)
{
    buf body = { 0 };
    static const uint8_t version[2] = { 0, 1 };
    el(&body, 0x00020001, "OB", version, 2);
    el_str(&body, 0x00020002, "UI", SOP_CLASS);
    el_str(&body, 0x00020003, "UI", SOP_INST);
    el_str(&body, 0x00020010, "UI", "1.2.840.10008.1.2.1.99");
    uint8_t pre[132] = { 0 };
    memcpy(pre + 128, "DICM", 4);
    put(meta, pre, sizeof pre);
    uint8_t gl[4] = { (uint8_t)body.n, (uint8_t)(body.n >> 8), 0, 0 };
    el(meta, 0x00020000, "UL", gl, 4);
    put(meta, body.p, body.n);
    free(body.p);
}

/* Deflate len bytes of p (or of zeros when p is NULL) into out. */
static void deflate_more(z_stream *zs, buf *out, const void *p, size_t len, int flush)
{
    static const uint8_t zeros[64 * 1024];
    do {
        size_t n = p ? len : (len < sizeof zeros ? len : sizeof zeros);
        zs->next_in = (Bytef *)(p ? p : zeros);
        zs->avail_in = (uInt)n;
        len -= n;
        int f = len ? Z_NO_FLUSH : flush;
        do {
            uint8_t chunk[16384];
            zs->next_out = chunk;
            zs->avail_out = sizeof chunk;
            int rc = deflate(zs, f);
            assert_true(rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR);
            put(out, chunk, sizeof chunk - zs->avail_out);
        } while (zs->avail_out == 0 || zs->avail_in > 0);
    } while (len);
}

/* A Part 10 deflated file around the plain dataset ds. */
static uint8_t *deflated_file(const buf *ds, size_t *len)
{
    buf out = { 0 };
    file_meta(&out);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    deflate_more(&zs, &out, ds->p, ds->n, Z_FINISH);
    deflateEnd(&zs);
    *len = out.n;
    return out.p;
}

/* The SOP UIDs and a VOILUTSequence (0028,3010) of n items, each with two bulk values of vlen bytes: (0028,3002)
 * and (0028,3006), in that order (swapped = 0) or the other (swapped = 1: every item out of order). */
static uint8_t *items_file(uint32_t n, uint32_t vlen, int swapped, size_t *len)
{
    buf ds = { 0 }, seq = { 0 };
    el_str(&ds, 0x00080016, "UI", SOP_CLASS);
    el_str(&ds, 0x00080018, "UI", SOP_INST);
    for (uint32_t i = 0; i < n; i++) {
        buf it = { 0 };
        uint8_t *a = value(i, 1, vlen), *b = value(i, 2, vlen);
        if (swapped) {
            el(&it, 0x00283006, "OW", b, vlen);
            el(&it, 0x00283002, "OW", a, vlen);
        } else {
            el(&it, 0x00283002, "OW", a, vlen);
            el(&it, 0x00283006, "OW", b, vlen);
        }
        uint8_t ih[8] = { 0xFE, 0xFF, 0x00, 0xE0, (uint8_t)it.n, (uint8_t)(it.n >> 8), (uint8_t)(it.n >> 16),
                          (uint8_t)(it.n >> 24) };
        put(&seq, ih, 8);
        put(&seq, it.p, it.n);
        free(it.p);
        free(a);
        free(b);
    }
    el(&ds, 0x00283010, "SQ", seq.p, (uint32_t)seq.n);
    free(seq.p);
    uint8_t *f = deflated_file(&ds, len);
    free(ds.p);
    return f;
}

/* The SOP UIDs and n private OB values of vlen bytes, (0009,1000 + k), written with the odd k first, then the even
 * ones (interleaved = 1), or in tag order: the sorted walk then jumps between the stream's two halves at every
 * value, each jump past the 32 KiB ring costing up to an access-point span (1 MiB) for vlen bytes. */
static uint8_t *interleaved_file(uint32_t n, uint32_t vlen, int interleaved, size_t *len)
{
    buf ds = { 0 };
    el_str(&ds, 0x00080016, "UI", SOP_CLASS);
    el_str(&ds, 0x00080018, "UI", SOP_INST);
    for (uint32_t pass = 0; pass < 2; pass++)
        for (uint32_t k = 0; k < n; k++) {
            if (interleaved ? (k & 1) != (pass == 0) : pass == 1)
                continue;
            uint8_t *v = value(k, 3, vlen);
            el(&ds, 0x00091000u + k, "OB", v, vlen);
            free(v);
        }
    uint8_t *f = deflated_file(&ds, len);
    free(ds.p);
    return f;
}

/* The SOP UIDs, (0028,1201) and PixelData of vlen bytes each: in order, or PixelData first (one value out of
 * place, as when an editor appends an attribute after the pixels). */
static uint8_t *swap_file(uint32_t vlen, int swapped, size_t *len)
{
    buf ds = { 0 }, lut = { 0 }, px = { 0 };
    uint8_t *a = value(1, 1, vlen), *b = value(2, 2, vlen);
    el_str(&ds, 0x00080016, "UI", SOP_CLASS);
    el_str(&ds, 0x00080018, "UI", SOP_INST);
    el(&lut, 0x00281201, "OW", a, vlen);
    el(&px, 0x7FE00010, "OW", b, vlen);
    put(&ds, swapped ? px.p : lut.p, swapped ? px.n : lut.n);
    put(&ds, swapped ? lut.p : px.p, swapped ? lut.n : px.n);
    free(a);
    free(b);
    free(lut.p);
    free(px.p);
    uint8_t *f = deflated_file(&ds, len);
    free(ds.p);
    return f;
}

/* The fuzzer's small inline threshold: a stream over 256 KiB is streamed, not kept whole (keep_max = 256 x
 * threshold), so the test stays small and fast. */
static void small_limits(dv_limits *lim)
{
    dv_limits_default(lim);
    lim->inline_threshold = 1024;
}

static dv_instance *read_file(const uint8_t *f, size_t len, const dv_limits *lim, dv_mem_source *ms, dv_source *src,
                              dv_error *err)
{
    *src = dv_source_memory(ms, f, len);
    memset(err, 0, sizeof *err);
    return dv_instance_read(src, lim, err);
}

static uint8_t *write_mem(const dv_instance *inst, size_t *len)
{
    dv_error err;
    uint8_t *out = dvt_write_mem(inst, len, &err);
    if (!out)
        fail_msg("write failed: %s", err.message);
    return out;
}

/* Read and write f; the bytes inflated by reads after the validating pass go to *reinflated. */
static uint8_t *roundtrip(const uint8_t *f, size_t len, uint64_t *reinflated, uint64_t *size, uint64_t *arena,
                          size_t *out_len)
{
    dv_limits lim;
    small_limits(&lim);
    dv_mem_source ms;
    dv_source src;
    dv_error err;
    dv_instance *inst = read_file(f, len, &lim, &ms, &src, &err);
    if (!inst)
        fail_msg("read failed: %s", err.message);
    assert_non_null(inst->inflated);
    assert_true(dv_inflated_streams(inst->inflated));
    uint8_t *out = write_mem(inst, out_len);
    *reinflated = dv_inflated_read_bytes(inst->inflated);
    *size = inst->data.size;
    *arena = inst->arena.used;
    dv_instance_free(inst);
    return out;
}

/* 300 items with both values (20 KB each, past the 32 KiB ring together) swapped: before, each item's second
 * value was re-inflated from the access point before it (about half a 1 MiB span: ~160 MB re-inflated for a
 * 12 MB stream). Now the displaced values are held (read once, in stream order) and the rest read forward: the
 * reads (the parse's, the hold's, the writer's) inflate at most three times the stream, the output is the
 * in-order file's byte for byte, and the in-order file holds nothing and inflates what it did before (the parse
 * and the writer: two passes). */
static void test_out_of_order_reads_forward(void **s)
{
    (void)s;
    size_t in_len, out_len, a_len, b_len;
    uint8_t *in_order = items_file(300, 20000, 0, &in_len);
    uint8_t *swapped = items_file(300, 20000, 1, &out_len);
    uint64_t re_a, re_b, size_a, size_b, arena_a, arena_b;
    uint8_t *a = roundtrip(in_order, in_len, &re_a, &size_a, &arena_a, &a_len);
    uint8_t *b = roundtrip(swapped, out_len, &re_b, &size_b, &arena_b, &b_len);
    print_message("stream %llu bytes; re-inflated: in order %llu, swapped %llu; arena %llu / %llu\n",
                  (unsigned long long)size_a, (unsigned long long)re_a, (unsigned long long)re_b,
                  (unsigned long long)arena_a, (unsigned long long)arena_b);
    assert_true(size_a == size_b && size_a > (4u << 20));
    assert_true(re_a <= 2 * size_a + (1u << 20));
    assert_true(re_b <= 3 * size_b + (1u << 20));
    assert_true(arena_a < (1u << 20));                       /* in order: nothing held */
    assert_true(arena_b > 300ull * 20000 && arena_b < size_b); /* swapped: one value per item held */
    assert_int_equal(a_len, b_len);
    assert_memory_equal(a, b, a_len);
    free(a);
    free(b);
    free(in_order);
    free(swapped);
}

/* A swapped file whose values to hold exceed the metadata cap: read as it is while that costs at most
 * DV_UNORDERED_COST_MAX (64) sequential inflations (300 items of 20 kB: about 13), else DV_ERR_LIMIT naming a tag and
 * offset, no value bytes (600 values of 2 kB read alternately from the stream's two halves: each read re-inflates up
 * to a 1 MiB span, over 100 passes); the in-order file reads under the same cap. */
static void test_out_of_order_over_cap_is_limit(void **s)
{
    (void)s;
    size_t len;
    dv_limits lim0;
    small_limits(&lim0);
    lim0.max_metadata_bytes = 1u << 20;
    dv_mem_source ms0;
    dv_source src0;
    dv_error err0;
    uint8_t *f0 = items_file(300, 20000, 1, &len);
    dv_instance *inst0 = read_file(f0, len, &lim0, &ms0, &src0, &err0);
    if (!inst0)
        fail_msg("a bounded walk over the cap: %s", err0.message);
    dv_instance_free(inst0);
    free(f0);
    uint8_t *f = interleaved_file(600, 2000, 1, &len);
    dv_limits lim;
    small_limits(&lim);
    lim.max_metadata_bytes = 256u << 10; /* under the 600 kB to hold */
    dv_mem_source ms;
    dv_source src;
    dv_error err;
    dv_instance *inst = read_file(f, len, &lim, &ms, &src, &err);
    assert_null(inst);
    assert_int_equal(err.code, DV_ERR_LIMIT);
    print_message("%s\n", err.message);
    assert_non_null(strstr(err.message, "out of order"));
    assert_non_null(strstr(err.message, "(private) at inflated offset"));
    assert_null(strstr(err.message, "SECRET"));
    free(f);
    f = interleaved_file(600, 2000, 0, &len);
    inst = read_file(f, len, &lim, &ms, &src, &err);
    if (!inst)
        fail_msg("in order under a 256 KiB cap: %s", err.message);
    dv_instance_free(inst);
    free(f);
}

/* One large value out of place (PixelData before (0028,1201), 3 MB each): the walk jumps back once, which costs
 * about one more pass, so nothing is held (holding would need 3 MB of memory); the output is the in-order one. */
static void test_one_swap_holds_nothing(void **s)
{
    (void)s;
    size_t in_len, sw_len, a_len, b_len;
    uint8_t *in_order = swap_file(3000000, 0, &in_len);
    uint8_t *swapped = swap_file(3000000, 1, &sw_len);
    uint64_t re_a, re_b, size_a, size_b, arena_a, arena_b;
    uint8_t *a = roundtrip(in_order, in_len, &re_a, &size_a, &arena_a, &a_len);
    uint8_t *b = roundtrip(swapped, sw_len, &re_b, &size_b, &arena_b, &b_len);
    assert_true(arena_b < (1u << 20));
    assert_true(re_b <= 3 * size_b + (1u << 20));
    assert_int_equal(a_len, b_len);
    assert_memory_equal(a, b, a_len);
    free(a);
    free(b);
    free(in_order);
    free(swapped);
}

/* The SOP UIDs and n private OB values of vlen bytes (zeros after MARK) written as interleaved_file writes them, the
 * odd ones first: a stream of n x vlen inflated bytes, deflated piece by piece so no buffer of that size is made. */
static uint8_t *big_interleaved_file(uint32_t n, uint32_t vlen, size_t *len)
{
    buf meta = { 0 }, ds = { 0 };
    file_meta(&meta);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    el_str(&ds, 0x00080016, "UI", SOP_CLASS);
    el_str(&ds, 0x00080018, "UI", SOP_INST);
    deflate_more(&zs, &meta, ds.p, ds.n, Z_NO_FLUSH);
    free(ds.p);
    for (uint32_t pass = 0; pass < 2; pass++)
        for (uint32_t k = pass == 0; k < n; k += 2) {
            uint32_t tag = 0x00091000u + k;
            uint8_t h[12] = { (uint8_t)(tag >> 16), (uint8_t)(tag >> 24), (uint8_t)tag, (uint8_t)(tag >> 8), 'O', 'B',
                              0, 0, (uint8_t)vlen, (uint8_t)(vlen >> 8), (uint8_t)(vlen >> 16), (uint8_t)(vlen >> 24) };
            deflate_more(&zs, &meta, h, sizeof h, Z_NO_FLUSH);
            deflate_more(&zs, &meta, MARK, sizeof MARK - 1, Z_NO_FLUSH);
            deflate_more(&zs, &meta, NULL, vlen - (sizeof MARK - 1), pass == 1 && k + 2 >= n ? Z_FINISH : Z_NO_FLUSH);
        }
    deflateEnd(&zs);
    *len = meta.n;
    return meta.p;
}

/* A walk that would re-inflate more than 8 GiB in all (DV_UNORDERED_BYTES_MAX) is refused even where that is under
 * 64 sequential inflations: 3,000 values of 89 kB read alternately from the two halves of a 256 MiB stream (11.8 GB
 * of re-inflation, 44 sequential inflations), with no room to hold them. Before (64 inflations allowed) it was read as it is, and at the 4 GiB inflation cap such a
 * file of a few MB cost 256 GiB of inflation, minutes of CPU (stop 35's third review). */
static void test_large_unordered_walk_is_limit(void **s)
{
    (void)s;
    size_t len;
    uint8_t *f = big_interleaved_file(3000, 89480, &len);
    print_message("%zu bytes deflated\n", len);
    dv_limits lim;
    small_limits(&lim);
    lim.max_metadata_bytes = 1u << 20;
    dv_mem_source ms;
    dv_source src;
    dv_error err;
    dv_instance *inst = read_file(f, len, &lim, &ms, &src, &err);
    if (inst)
        dv_instance_free(inst);
    assert_null(inst);
    assert_int_equal(err.code, DV_ERR_LIMIT);
    assert_non_null(strstr(err.message, "out of order"));
    assert_null(strstr(err.message, "SECRET"));
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_of_order_reads_forward),
        cmocka_unit_test(test_out_of_order_over_cap_is_limit),
        cmocka_unit_test(test_one_swap_holds_nothing),
        cmocka_unit_test(test_large_unordered_walk_is_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
