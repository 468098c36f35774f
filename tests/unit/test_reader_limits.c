/* The reader's caps and recoveries (issue 5 item 12): settable caps with defaults that read what other
 * toolkits read, a compact metadata tree, a streaming inflater with bounded memory, recovered encodings,
 * transfer syntaxes whose pixel data does not match, and caps always reported as `limit`. */
/* memmem: _GNU_SOURCE comes from the build (CMakeLists.txt) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dv_testkit.h"
#include "dicomveil/dicomveil.h"
#include "dicom/dv_ds.h"
#include "dicom/dv_vr.h"
#include "dicom/dv_reader_internal.h"
#include "dv_build.h"

#define SOP_CLASS_CT "1.2.840.10008.5.1.4.1.1.2"

static dv_instance *read_buf(const uint8_t *buf, size_t len, const dv_limits *lim, dv_error *err,
                             dv_mem_source *ms, dv_source *src)
{
    *src = dv_source_memory(ms, buf, len);
    memset(err, 0, sizeof *err);
    return dv_instance_read(src, lim, err);
}

/* Write inst to a memory sink and return the bytes (caller frees). */
static uint8_t *write_mem(const dv_instance *inst, size_t *len)
{
    dv_error err;
    uint8_t *out = dvt_write_mem(inst, len, &err);
    if (!out)
        fail_msg("write failed: %s", err.message);
    return out;
}

static uint32_t count_items(const dv_instance *inst, uint32_t tag)
{
    const dv_elem *e = dv_ds_find(&inst->ds, tag);
    return e ? e->nitems : 0;
}

/* Replace the file meta TransferSyntaxUID of a Part 10 buffer (dv_build writes it) by uid. */
static uint8_t *with_ts(const uint8_t *in, size_t len, const char *uid, size_t *out_len)
{
    static const uint8_t hdr[6] = { 0x02, 0x00, 0x10, 0x00, 'U', 'I' };
    size_t at = 132;
    while (at + 8 <= len && memcmp(in + at, hdr, 6) != 0)
        at++;
    assert_true(at + 8 <= len);
    size_t old = (size_t)(in[at + 6] | (in[at + 7] << 8));
    size_t n = strlen(uid), pn = n + (n & 1);
    uint8_t *out = calloc(1, len - old + pn);
    memcpy(out, in, at + 6);
    out[at + 6] = (uint8_t)pn;
    out[at + 7] = (uint8_t)(pn >> 8);
    memcpy(out + at + 8, uid, n);
    memcpy(out + at + 8 + pn, in + at + 8 + old, len - at - 8 - old);
    *out_len = len - old + pn;
    return out;
}

static dvb *ct_base(dvb_ts ts)
{
    dvb *b = dvb_new(ts, 1);
    dvb_str(b, 0x00080016, "UI", SOP_CLASS_CT);
    dvb_str(b, 0x00080018, "UI", "1.2.3.4");
    return b;
}

/* --- caps: settable, documented defaults, compact metadata ------------------------------------------- */

static void test_default_limits(void **s)
{
    (void)s;
    dv_limits lim;
    dv_limits_default(&lim);
    assert_int_equal(lim.max_depth, 128);
    assert_true(lim.max_metadata_bytes == 32u * 1024u * 1024u);
    assert_true(lim.max_inflated_bytes == 4ull * 1024u * 1024u * 1024u);
}

static uint8_t *nested(int levels, size_t *len)
{
    dvb *b = ct_base(DVB_EXPLICIT_LE);
    for (int i = 0; i < levels; i++) {
        dvb_seq_begin(b, 0x00400555, i & 1);
        dvb_item_begin(b, i & 1);
    }
    dvb_str(b, 0x0040A040, "CS", "TEXT");
    for (int i = 0; i < levels; i++) {
        dvb_item_end(b);
        dvb_seq_end(b);
    }
    return dvb_finish(b, len);
}

/* 65 nested sequences read with the defaults (dcmtk reads them); the cap stays settable and is `limit`. */
static void test_depth_cap(void **s)
{
    (void)s;
    size_t len;
    uint8_t *in = nested(65, &len);
    dv_error err;
    dv_mem_source ms;
    dv_source src;
    dv_instance *inst = read_buf(in, len, NULL, &err, &ms, &src);
    assert_non_null(inst);
    dv_instance_free(inst);
    dv_limits lim;
    dv_limits_default(&lim);
    lim.max_depth = 64;
    assert_null(read_buf(in, len, &lim, &err, &ms, &src));
    assert_int_equal(err.code, DV_ERR_LIMIT);
    free(in);

    in = nested(129, &len);
    assert_null(read_buf(in, len, NULL, &err, &ms, &src));
    assert_int_equal(err.code, DV_ERR_LIMIT);
    lim.max_depth = 129;
    inst = read_buf(in, len, &lim, &err, &ms, &src);
    assert_non_null(inst);
    dv_instance_free(inst);
    free(in);
}

/* Read, de-identify and write the deepest default nesting on a 256 KiB thread stack: the recursion of the
 * reader, the engine and the writer stays below 2 KiB per level (under ASan too), far inside the 8 MiB
 * default thread stack (docs/decisions.md "Limits"). */
typedef struct deep_job {
    const uint8_t *in;
    size_t len;
    int rc;
    dv_error err;
} deep_job;

static void *deep_worker(void *arg)
{
    deep_job *j = arg;
    dv_error err;
    dv_plan *p = dv_plan_from_json("{}", 2, &err);
    uint8_t key[32] = { 1, 2, 3 };
    dv_key *k = dv_key_new(key, sizeof key, &err);
    dv_mem_source ms;
    dv_source src = dv_source_memory(&ms, j->in, j->len);
    dv_mem_sink out;
    memset(&out, 0, sizeof out);
    dv_sink sink = dv_sink_memory(&out);
    j->rc = p && k ? dv_deidentify(p, k, &src, &sink, NULL, NULL, &j->err) : -1;
    dv_mem_sink_free(&out);
    dv_key_free(k);
    dv_plan_free(p);
    return NULL;
}

static void test_depth_stack_safe(void **s)
{
    (void)s;
    size_t len;
    uint8_t *in = nested(128, &len);
    deep_job j = { .in = in, .len = len, .rc = -1 };
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 256u * 1024u);
    pthread_t t;
    assert_int_equal(pthread_create(&t, &a, deep_worker, &j), 0);
    pthread_join(t, NULL);
    pthread_attr_destroy(&a);
    if (j.rc != 0)
        fail_msg("deidentify at depth 128: %s", j.err.message);
    free(in);
}

/* One sequence of 1 million empty items (8 MB on disk) fits the default 32 MiB metadata cap: an item is
 * 32 bytes of arena. It reads, writes back and re-reads with every item; a smaller cap refuses it as
 * `limit`. */
static void test_million_empty_items(void **s)
{
    (void)s;
    enum { N = 1000000 };
    dvb *b = ct_base(DVB_EXPLICIT_LE);
    dvb_seq_begin(b, 0x00400555, 0);
    for (int i = 0; i < N; i++) {
        dvb_item_begin(b, 0);
        dvb_item_end(b);
    }
    dvb_seq_end(b);
    size_t len;
    uint8_t *in = dvb_finish(b, &len);
    dv_error err;
    dv_mem_source ms;
    dv_source src;
    dv_instance *inst = read_buf(in, len, NULL, &err, &ms, &src);
    if (!inst)
        fail_msg("1M empty items: %s", err.message);
    assert_int_equal(count_items(inst, 0x00400555), N);
    assert_int_equal(sizeof(dv_item), 32);
    double per_item = (double)inst->arena.used / N;
    print_message("metadata: %.1f bytes per empty item (arena %llu bytes)\n", per_item,
                  (unsigned long long)inst->arena.used);
    assert_true(per_item < 33.5);
    size_t out_len;
    uint8_t *out = write_mem(inst, &out_len);
    dv_instance_free(inst);
    inst = read_buf(out, out_len, NULL, &err, &ms, &src);
    assert_non_null(inst);
    assert_int_equal(count_items(inst, 0x00400555), N);
    dv_instance_free(inst);
    free(out);

    dv_limits lim;
    dv_limits_default(&lim);
    lim.max_metadata_bytes = 16u * 1024u * 1024u;
    assert_null(read_buf(in, len, &lim, &err, &ms, &src));
    assert_int_equal(err.code, DV_ERR_LIMIT);
    free(in);
}

/* A file meta value above the reader's meta cap is a `limit`, not `malformed`. */
static void test_meta_cap_is_limit(void **s)
{
    (void)s;
    size_t len;
    uint8_t *in = dvb_finish(ct_base(DVB_EXPLICIT_LE), &len);
    /* Splice (0002,0102) PrivateInformation OB of 70000 bytes after the meta's last element. */
    size_t at = 132;
    while (at + 8 <= len && in[at] == 0x02 && in[at + 1] == 0x00) {
        int lng = (in[at + 4] == 'O' && in[at + 5] == 'B');
        size_t vl = lng ? (size_t)(in[at + 8] | (in[at + 9] << 8) | (in[at + 10] << 16) | ((size_t)in[at + 11] << 24))
                        : (size_t)(in[at + 6] | (in[at + 7] << 8));
        at += (lng ? 12 : 8) + vl;
    }
    size_t big = 70000;
    size_t n = len + 12 + big;
    uint8_t *buf = calloc(1, n);
    memcpy(buf, in, at);
    uint8_t h[12] = { 0x02, 0, 0x02, 0x01, 'O', 'B', 0, 0, (uint8_t)big, (uint8_t)(big >> 8), (uint8_t)(big >> 16), 0 };
    memcpy(buf + at, h, 12);
    memcpy(buf + at + 12 + big, in + at, len - at);
    dv_error err;
    dv_mem_source ms;
    dv_source src;
    assert_null(read_buf(buf, n, NULL, &err, &ms, &src));
    assert_int_equal(err.code, DV_ERR_LIMIT);
    free(buf);
    free(in);
}

/* A 51 MB multi-valued UI (FrameOfReferenceUID, regenerated by the Basic profile) fails as `limit`: the
 * cause is the engine's UI size cap, not a malformed file. */
static void test_huge_ui_is_limit(void **s)
{
    (void)s;
    size_t big = 51u * 1000u * 1000u;
    char *ui = malloc(big + 1);
    for (size_t i = 0; i < big; i += 8)
        memcpy(ui + i, i + 8 < big ? "1.2.345\\" : "1.2.3456", big - i < 8 ? big - i : 8);
    ui[big - 1] = '9';
    ui[big] = '\0';
    dvb *b = dvb_new(DVB_IMPLICIT_LE, 1);
    dvb_str(b, 0x00080016, "UI", SOP_CLASS_CT);
    dvb_str(b, 0x00080018, "UI", "1.2.3.4");
    dvb_str(b, 0x00200052, "UI", ui);
    free(ui);
    size_t len;
    uint8_t *in = dvb_finish(b, &len);
    dv_error err;
    dv_plan *p = dv_plan_from_json("{}", 2, &err);
    uint8_t key[32] = { 7 };
    dv_key *k = dv_key_new(key, sizeof key, &err);
    dv_mem_source ms;
    dv_source src = dv_source_memory(&ms, in, len);
    dv_mem_sink out;
    memset(&out, 0, sizeof out);
    dv_sink sink = dv_sink_memory(&out);
    memset(&err, 0, sizeof err);
    assert_int_equal(dv_deidentify(p, k, &src, &sink, NULL, NULL, &err), -1);
    assert_int_equal(err.code, DV_ERR_LIMIT);
    assert_non_null(strstr(err.message, "(0020,0052)"));
    assert_null(strstr(err.message, "1.2.345"));
    dv_mem_sink_free(&out);
    dv_key_free(k);
    dv_plan_free(p);
    free(in);
}

/* --- streaming inflate -------------------------------------------------------------------------------- */

static uint8_t pattern(uint64_t i)
{
    return (uint8_t)((i / 65536u) * 7u + (i % 251u));
}

/* A deflated Part 10 file whose dataset is the two SOP UIDs plus a big OB (7FE0,0010) of n pattern bytes,
 * generated chunk by chunk (never held inflated). */
static uint8_t *big_deflated(uint32_t n, size_t *len)
{
    size_t plain_len;
    uint8_t *plain = dvb_finish(ct_base(DVB_EXPLICIT_LE), &plain_len);
    size_t meta_len;
    uint8_t *meta = with_ts(plain, plain_len, "1.2.840.10008.1.2.1.99", &meta_len);
    free(plain);
    size_t ds_at = 132; /* the dataset starts after the last group 0002 element */
    while (meta[ds_at] == 0x02 && meta[ds_at + 1] == 0x00) {
        int lng = meta[ds_at + 4] == 'O' && meta[ds_at + 5] == 'B';
        size_t vl = lng ? (size_t)(meta[ds_at + 8] | (meta[ds_at + 9] << 8)) : (size_t)(meta[ds_at + 6] | (meta[ds_at + 7] << 8));
        ds_at += (lng ? 12 : 8) + vl;
    }
    size_t cap = ds_at + (n / 50) + (1u << 20);
    uint8_t *out = malloc(cap);
    memcpy(out, meta, ds_at);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_out = out + ds_at;
    zs.avail_out = (uInt)(cap - ds_at);
    uint8_t hdr[12] = { 0xE0, 0x7F, 0x10, 0x00, 'O', 'B', 0, 0, (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16),
                        (uint8_t)(n >> 24) };
    zs.next_in = meta + ds_at;
    zs.avail_in = (uInt)(meta_len - ds_at);
    assert_int_equal(deflate(&zs, Z_NO_FLUSH), Z_OK);
    zs.next_in = hdr;
    zs.avail_in = sizeof hdr;
    assert_int_equal(deflate(&zs, Z_NO_FLUSH), Z_OK);
    uint8_t *chunk = malloc(1u << 20);
    for (uint64_t done = 0; done < n;) {
        size_t k = n - done < (1u << 20) ? (size_t)(n - done) : (1u << 20);
        for (size_t i = 0; i < k; i++)
            chunk[i] = pattern(done + i);
        zs.next_in = chunk;
        zs.avail_in = (uInt)k;
        assert_int_equal(deflate(&zs, Z_NO_FLUSH), Z_OK);
        assert_true(zs.avail_out > 0);
        done += k;
    }
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    *len = ds_at + zs.total_out;
    deflateEnd(&zs);
    free(chunk);
    free(meta);
    return out;
}

/* A /proc/self/status field in KiB (VmRSS now, VmHWM the peak since the last reset), -1 if unavailable. */
static long status_kib(const char *field)
{
    long kib = -1;
    size_t n = strlen(field);
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, field, n) && line[n] == ':')
                kib = strtol(line + n + 1, NULL, 10);
        fclose(f);
    }
    return kib;
}

/* Reset VmHWM to the current RSS (Linux clear_refs 5). Returns 0 when done. */
static int reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f)
        return -1;
    int rc = fputs("5", f) < 0 ? -1 : 0;
    return fclose(f) == 0 ? rc : -1;
}

/* Check that the PixelData of inst holds n pattern bytes, reading it in chunks through the instance source. */
static void check_pattern(const dv_instance *inst, uint32_t n)
{
    const dv_elem *px = dv_ds_find(&inst->ds, DV_TAG_PIXEL_DATA);
    assert_non_null(px);
    assert_true(px->flags & DV_ELEM_BULK);
    assert_true(px->length == n);
    uint8_t *buf = malloc(1u << 20);
    for (uint64_t done = 0; done < n;) {
        size_t k = n - done < (1u << 20) ? (size_t)(n - done) : (1u << 20);
        assert_int_equal(inst->data.read_at(inst->data.ctx, px->offset + done, buf, k), 0);
        for (size_t i = 0; i < k; i++)
            if (buf[i] != pattern(done + i))
                fail_msg("byte %llu differs", (unsigned long long)(done + i));
        done += k;
    }
    free(buf);
}

/* A valid deflated file whose dataset inflates to 200 MB de-identifies with bounded memory, and its output
 * (deflated again) reads back with the same 200 MB value; the inflated-size cap is settable and `limit`. */
static void test_deflate_streams(void **s)
{
    (void)s;
    const uint32_t n = 200u * 1000u * 1000u;
    size_t len;
    uint8_t *in = big_deflated(n, &len);
    print_message("deflated input: %zu bytes for a %u-byte value\n", len, n);
    dv_error err;
    dv_mem_source ms;
    dv_source src;

    dv_limits lim;
    dv_limits_default(&lim);
    lim.max_inflated_bytes = 100u * 1000u * 1000u;
    assert_null(read_buf(in, len, &lim, &err, &ms, &src));
    assert_int_equal(err.code, DV_ERR_LIMIT);

    int measured = reset_peak_rss() == 0;
    long before = status_kib("VmRSS");
    dv_plan *p = dv_plan_from_json("{}", 2, &err);
    uint8_t key[32] = { 9 };
    dv_key *k = dv_key_new(key, sizeof key, &err);
    dv_mem_sink out;
    memset(&out, 0, sizeof out);
    dv_sink sink = dv_sink_memory(&out);
    src = dv_source_memory(&ms, in, len);
    if (dv_deidentify(p, k, &src, &sink, NULL, NULL, &err) != 0)
        fail_msg("deidentify: %s", err.message);
    long peak = status_kib("VmHWM");
    print_message("peak RSS during de-identification: %ld KiB (before: %ld KiB), output %zu bytes\n", peak,
                  before, out.len);
    /* Far below the 200 MB the dataset inflates to (the input and output buffers are a few MB). */
    if (measured && before > 0 && peak > 0)
        assert_true(peak - before < 48 * 1024);

    dv_instance *inst = read_buf(out.data, out.len, NULL, &err, &ms, &src);
    if (!inst)
        fail_msg("re-read: %s", err.message);
    assert_string_equal(dv_instance_transfer_syntax(inst), "1.2.840.10008.1.2.1.99");
    check_pattern(inst, n);
    dv_instance_free(inst);
    dv_mem_sink_free(&out);
    dv_key_free(k);
    dv_plan_free(p);
    free(in);
}

/* Random access into the inflated stream: reads behind the current position and far ahead resume at an
 * access point and return the same bytes as a sequential read. */
static void test_deflate_random_access(void **s)
{
    (void)s;
    const uint32_t n = 24u * 1000u * 1000u;
    size_t len;
    uint8_t *in = big_deflated(n, &len);
    dv_error err;
    dv_mem_source ms;
    dv_source src;
    dv_instance *inst = read_buf(in, len, NULL, &err, &ms, &src);
    assert_non_null(inst);
    const dv_elem *px = dv_ds_find(&inst->ds, DV_TAG_PIXEL_DATA);
    assert_non_null(px);
    static const uint64_t at[] = { 23000000, 5, 12345678, 1000000, 23999000, 0, 7777777, 40000, 39990 };
    uint8_t buf[1000];
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        assert_int_equal(inst->data.read_at(inst->data.ctx, px->offset + at[i], buf, sizeof buf), 0);
        for (size_t j = 0; j < sizeof buf; j++)
            assert_int_equal(buf[j], pattern(at[i] + j));
    }
    assert_int_not_equal(inst->data.read_at(inst->data.ctx, px->offset + n - 10, buf, 20), 0);
    check_pattern(inst, n);
    dv_instance_free(inst);
    free(in);
}

/* Under the fuzzer's limits (1 KiB inline threshold, 4 MiB inflate cap) its streaming seed is streamed, not
 * kept whole: libFuzzer reaches the access points and the ring (tests/fuzz/fuzz_reader.c). With the
 * defaults, a dataset of a few MiB is kept whole (the fast path). */
static void test_fuzz_seed_streams(void **s)
{
    (void)s;
    FILE *f = fopen(DV_SOURCE_DIR "/tests/fuzz/corpus/reader/edge-deflate-streaming.dcm", "rb");
    assert_non_null(f);
    uint8_t *buf = malloc(1 << 16);
    size_t len = fread(buf, 1, 1 << 16, f);
    fclose(f);
    dv_limits lim;
    dv_limits_default(&lim);
    lim.max_depth = 16;
    lim.max_metadata_bytes = 1u << 20;
    lim.max_inflated_bytes = 4u << 20;
    lim.inline_threshold = 1024;
    dv_error err;
    dv_mem_source ms;
    dv_source src;
    dv_instance *inst = read_buf(buf, len, &lim, &err, &ms, &src);
    if (!inst)
        fail_msg("streaming seed: %s", err.message);
    assert_non_null(inst->inflated);
    assert_true(inst->data.size > (2u << 20));
    assert_true(dv_inflated_resident_bytes(inst->inflated) < inst->data.size / 4);
    assert_non_null(dv_ds_find(&inst->ds, 0x00200010)); /* the element after the first bulk value */
    size_t out_len;
    uint8_t *out = write_mem(inst, &out_len);
    free(out);
    dv_instance_free(inst);
    inst = read_buf(buf, len, NULL, &err, &ms, &src);
    assert_non_null(inst);
    assert_true(dv_inflated_resident_bytes(inst->inflated) >= inst->data.size); /* kept whole */
    dv_instance_free(inst);
    free(buf);
}

/* --- recovered encodings ------------------------------------------------------------------------------ */

/* pydicom's SC_rgb_jpeg.dcm: explicit VR declared, implicit VR encoded. Read (pydicom does), written back
 * valid explicit VR: the output parses without recovery and has the same elements and pixel fragments. */
static void test_implicit_dataset_labelled_explicit(void **s)
{
    (void)s;
    /* Built: an implicit VR dataset whose file meta says explicit VR little endian. */
    dvb *b = ct_base(DVB_IMPLICIT_LE);
    dvb_str(b, 0x00100010, "PN", "DOE^JOHN");
    size_t len;
    uint8_t *raw = dvb_finish(b, &len);
    size_t n;
    uint8_t *in = with_ts(raw, len, "1.2.840.10008.1.2.1", &n);
    free(raw);
    dv_error err;
    dv_mem_source ms;
    dv_source src;
    dv_instance *inst = read_buf(in, n, NULL, &err, &ms, &src);
    if (!inst)
        fail_msg("mislabelled implicit: %s", err.message);
    const dv_elem *pn = dv_ds_find(&inst->ds, 0x00100010);
    assert_non_null(pn);
    assert_int_equal(pn->vr, DV_VR('P', 'N'));
    size_t out_len;
    uint8_t *out = write_mem(inst, &out_len);
    dv_instance_free(inst);
    free(in);
    /* The output is explicit VR: the header of (0010,0010) carries "PN". */
    const uint8_t want[6] = { 0x10, 0x00, 0x10, 0x00, 'P', 'N' };
    assert_non_null(memmem(out, out_len, want, sizeof want));
    free(out);

    /* The corpus file, when the shared data is there. */
    FILE *f = fopen(DV_SHARED_DATA "/dicom/pydicom/SC_rgb_jpeg.dcm", "rb");
    if (!f)
        return;
    uint8_t *buf = malloc(1 << 20);
    size_t flen = fread(buf, 1, 1 << 20, f);
    fclose(f);
    inst = read_buf(buf, flen, NULL, &err, &ms, &src);
    if (!inst)
        fail_msg("SC_rgb_jpeg.dcm: %s", err.message);
    const dv_elem *px = dv_ds_find(&inst->ds, DV_TAG_PIXEL_DATA);
    assert_non_null(px);
    assert_true(px->flags & DV_ELEM_ENCAPSULATED);
    assert_int_equal(px->vr, DV_VR('O', 'B'));
    out = write_mem(inst, &out_len);
    dv_instance_free(inst);
    /* Re-read strictly: as an unknown transfer syntax the reader allows no recovery at all. */
    size_t strict_len;
    uint8_t *strict = with_ts(out, out_len, "1.2.826.0.1.3680043.10.1.999", &strict_len);
    inst = read_buf(strict, strict_len, NULL, &err, &ms, &src);
    if (!inst)
        fail_msg("output of SC_rgb_jpeg.dcm is not strict explicit VR: %s", err.message);
    dv_instance_free(inst);
    free(strict);
    free(out);
    free(buf);
}

/* An element whose VR is two letters that name no VR (a VR newer than this version): read as UN with a
 * 32-bit length (PS3.5 7.1.2, as dcmtk does); two bytes that are not letters stay `malformed`. */
static void test_unknown_vr_read_as_un(void **s)
{
    (void)s;
    dvb *b = ct_base(DVB_EXPLICIT_LE);
    const uint8_t v[6] = { 1, 2, 3, 4, 5, 6 };
    dvb_bytes(b, 0x00091010, "OB", v, sizeof v); /* the "OB" is patched to "QQ" below */
    dvb_str(b, 0x00100010, "PN", "DOE^JOHN");
    size_t len;
    uint8_t *in = dvb_finish(b, &len);
    const uint8_t ob[6] = { 0x09, 0x00, 0x10, 0x10, 'O', 'B' };
    uint8_t *at = memmem(in, len, ob, sizeof ob);
    assert_non_null(at);
    at[4] = 'Q';
    at[5] = 'Q';
    dv_error err;
    dv_mem_source ms;
    dv_source src;
    dv_instance *inst = read_buf(in, len, NULL, &err, &ms, &src);
    if (!inst)
        fail_msg("unknown VR: %s", err.message);
    const dv_elem *e = dv_ds_find(&inst->ds, 0x00091010);
    assert_non_null(e);
    assert_int_equal(e->vr, DV_VR_UN);
    assert_int_equal(e->length, 6);
    assert_memory_equal(e->value, v, 6);
    assert_non_null(dv_ds_find(&inst->ds, 0x00100010));
    dv_instance_free(inst);
    at[4] = 0x01;
    at[5] = 'Q';
    assert_null(read_buf(in, len, NULL, &err, &ms, &src));
    assert_int_equal(err.code, DV_ERR_MALFORMED);
    free(in);
}

/* --- pixel data that contradicts the transfer syntax, unknown transfer syntaxes ------------------------ */

static uint8_t *with_native_pixels(dvb_ts ts, size_t *len)
{
    dvb *b = ct_base(ts);
    dvb_u16(b, 0x00280010, 2);
    dvb_u16(b, 0x00280011, 2);
    const uint8_t px[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    dvb_bytes(b, 0x7FE00010, "OW", px, sizeof px);
    return dvb_finish(b, len);
}

static uint8_t *with_encapsulated_pixels(size_t *len)
{
    dvb *b = ct_base(DVB_JPEG_BASELINE);
    const uint8_t frag[4] = { 0xFF, 0xD8, 0xFF, 0xD9 };
    const void *frags[1] = { frag };
    const uint32_t lens[1] = { sizeof frag };
    dvb_encapsulated(b, frags, lens, 1);
    return dvb_finish(b, len);
}

/* JPEG-LS (or any encapsulated syntax) declared, native PixelData with a defined length: refused as
 * `malformed` (writing it as it came gives a file dcmtk rejects). */
static void test_native_pixels_under_encapsulated_ts(void **s)
{
    (void)s;
    static const char *const encapsulated[] = { "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.50",
                                                "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.201" };
    size_t len;
    uint8_t *native = with_native_pixels(DVB_EXPLICIT_LE, &len);
    dv_error err;
    dv_mem_source ms;
    dv_source src;
    dv_instance *inst = read_buf(native, len, NULL, &err, &ms, &src);
    assert_non_null(inst); /* native under explicit VR LE: fine */
    dv_instance_free(inst);
    for (size_t i = 0; i < sizeof encapsulated / sizeof encapsulated[0]; i++) {
        size_t n;
        uint8_t *in = with_ts(native, len, encapsulated[i], &n);
        assert_null(read_buf(in, n, NULL, &err, &ms, &src));
        assert_int_equal(err.code, DV_ERR_MALFORMED);
        assert_non_null(strstr(err.message, "(7FE0,0010)"));
        free(in);
    }
    free(native);
    uint8_t *enc = with_encapsulated_pixels(&len);
    inst = read_buf(enc, len, NULL, &err, &ms, &src);
    assert_non_null(inst);
    dv_instance_free(inst);
    free(enc);
}

/* An unknown transfer syntax UID is accepted only when the dataset parses as strict explicit VR little
 * endian (PS3.5 10: every non-default syntax encodes the dataset so) and PixelData, if any, is
 * encapsulated; it is then written back unchanged. Otherwise `unsupported` (docs/decisions.md). */
static void test_unknown_transfer_syntax(void **s)
{
    (void)s;
    const char *unknown = "1.2.826.0.1.3680043.10.1.77";
    dv_error err;
    dv_mem_source ms;
    dv_source src;
    size_t len, n, out_len;

    uint8_t *enc = with_encapsulated_pixels(&len);
    uint8_t *in = with_ts(enc, len, unknown, &n);
    dv_instance *inst = read_buf(in, n, NULL, &err, &ms, &src);
    if (!inst)
        fail_msg("unknown TS, encapsulated: %s", err.message);
    assert_string_equal(dv_instance_transfer_syntax(inst), unknown);
    uint8_t *out = write_mem(inst, &out_len);
    assert_non_null(memmem(out, out_len, unknown, strlen(unknown)));
    free(out);
    dv_instance_free(inst);
    free(in);
    free(enc);

    uint8_t *none = dvb_finish(ct_base(DVB_EXPLICIT_LE), &len); /* no PixelData (e.g. an SR) */
    in = with_ts(none, len, unknown, &n);
    inst = read_buf(in, n, NULL, &err, &ms, &src);
    assert_non_null(inst);
    dv_instance_free(inst);
    free(in);
    free(none);

    uint8_t *native = with_native_pixels(DVB_EXPLICIT_LE, &len);
    in = with_ts(native, len, unknown, &n);
    assert_null(read_buf(in, n, NULL, &err, &ms, &src));
    assert_int_equal(err.code, DV_ERR_UNSUPPORTED);
    free(in);
    free(native);

    uint8_t *implicit = dvb_finish(ct_base(DVB_IMPLICIT_LE), &len); /* e.g. a private implicit-VR syntax */
    in = with_ts(implicit, len, unknown, &n);
    assert_null(read_buf(in, n, NULL, &err, &ms, &src));
    assert_int_equal(err.code, DV_ERR_UNSUPPORTED);
    free(in);
    free(implicit);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_limits),
        cmocka_unit_test(test_depth_cap),
        cmocka_unit_test(test_depth_stack_safe),
        cmocka_unit_test(test_million_empty_items),
        cmocka_unit_test(test_meta_cap_is_limit),
        cmocka_unit_test(test_huge_ui_is_limit),
        cmocka_unit_test(test_deflate_streams),
        cmocka_unit_test(test_deflate_random_access),
        cmocka_unit_test(test_fuzz_seed_streams),
        cmocka_unit_test(test_implicit_dataset_labelled_explicit),
        cmocka_unit_test(test_unknown_vr_read_as_un),
        cmocka_unit_test(test_native_pixels_under_encapsulated_ts),
        cmocka_unit_test(test_unknown_transfer_syntax),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
