/* Pixel data as frames and transfer-syntax changes (issue 5 item 5), and the tree-building API with external
 * values (item 4): instances built here, and every encapsulated / big endian file of the shared corpus. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "dicomveil/dicomveil.h"
#include "dicom/dv_ds.h"
#include "dicom/dv_vr.h"
#include "dv_build.h"
#include "dv_testkit.h"

#define JPEG_TS "1.2.840.10008.1.2.4.50"

/* SOP identity + image pixel basics (explicit/implicit/BE per ts). nframes NULL: no NumberOfFrames. */
static dvb *image(dvb_ts ts, uint16_t rows, uint16_t cols, uint16_t spp, uint16_t bits, const char *nframes)
{
    dvb *b = dvb_new(ts, 1);
    dvb_str(b, 0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.7");
    dvb_str(b, 0x00080018, "UI", "1.2.3.4.5.6.7");
    dvb_u16(b, 0x00280002, spp);
    dvb_str(b, 0x00280004, "CS", spp == 3 ? "RGB" : "MONOCHROME2");
    if (nframes)
        dvb_str(b, 0x00280008, "IS", nframes);
    dvb_pixel_geometry(b, rows, cols, bits);
    return b;
}

typedef struct held {
    uint8_t *data;
    size_t len;
    parsed p;
} held;

static void parse_ok(held *h, uint8_t *data, size_t len)
{
    h->data = data;
    h->len = len;
    dv_error err;
    memset(&err, 0, sizeof err);
    if (dvt_parse(&h->p, data, len, &err) != 0)
        fail_msg("parse: %s", err.message);
}

static void build_parse(held *h, dvb *b)
{
    size_t len = 0;
    uint8_t *data = dvb_finish(b, &len);
    parse_ok(h, data, len);
}

static void held_free(held *h)
{
    dv_instance_free(h->p.inst);
    free(h->data);
}

static dv_frames *index_ok(const dv_instance *inst)
{
    dv_error err;
    memset(&err, 0, sizeof err);
    dv_frames *f = dv_frames_index(inst, &err);
    if (!f)
        fail_msg("index: %s", err.message);
    return f;
}

static int index_fails(const dv_instance *inst)
{
    dv_error err;
    memset(&err, 0, sizeof err);
    dv_frames *f = dv_frames_index(inst, &err);
    if (f) {
        dv_frames_free(f);
        return DV_OK;
    }
    return err.code;
}

static void assert_frame(const dv_instance *inst, const dv_frames *f, uint32_t i, const void *want, size_t n)
{
    assert_int_equal(dv_frames_size(f, i), n);
    uint8_t *buf = malloc(n + 1);
    dv_error err;
    assert_int_equal(dv_frames_read(inst, f, i, buf, n, &err), 0);
    assert_memory_equal(buf, want, n);
    free(buf);
}

/* Write inst, re-read it into out. */
static void rewrite(const dv_instance *inst, held *out)
{
    dv_mem_sink ms;
    memset(&ms, 0, sizeof ms);
    dv_sink sink = dv_sink_memory(&ms);
    dv_error err;
    memset(&err, 0, sizeof err);
    if (dv_instance_write(inst, &sink, &err) != 0)
        fail_msg("write: %s", err.message);
    parse_ok(out, ms.data, ms.len);
}

static int released;
static void count_release(void *user, void *data)
{
    (void)user;
    released++;
    free(data);
}

/* --- encapsulated: how frames are told apart --------------------------------------------------------------- */

static const uint8_t soi_a[] = {0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3};
static const uint8_t mid_a[] = {9, 9, 9, 9};
static const uint8_t soi_b[] = {0xFF, 0xD8, 0xFF, 0xDB, 4, 5};
static const uint8_t mid_b[] = {7, 7, 0xFF, 0xD9};
/* Two frames in four fragments, soi_a + mid_a and soi_b + mid_b (test_bot, test_eot, test_markers_split). */
static const void *const two_frames[] = {soi_a, mid_a, soi_b, mid_b};
static const uint32_t two_frames_lens[] = {sizeof soi_a, sizeof mid_a, sizeof soi_b, sizeof mid_b};

/* Frame 1 of two_frames reads as soi_b + mid_b. */
static void assert_second_frame(const dv_instance *inst, const dv_frames *f)
{
    uint8_t want[sizeof soi_b + sizeof mid_b];
    memcpy(want, soi_b, sizeof soi_b);
    memcpy(want + sizeof soi_b, mid_b, sizeof mid_b);
    assert_frame(inst, f, 1, want, sizeof want);
}

static void test_single_and_one_per_fragment(void **state)
{
    (void)state;
    const void *frags[] = {soi_a, mid_a, soi_b};
    const uint32_t lens[] = {sizeof soi_a, sizeof mid_a, sizeof soi_b};
    held h;

    /* No NumberOfFrames: one frame over every fragment (a single frame split over many fragments). */
    dvb *b = image(DVB_JPEG_BASELINE, 2, 2, 1, 8, NULL);
    dvb_encapsulated(b, frags, lens, 3);
    build_parse(&h, b);
    dv_frames *f = index_ok(h.p.inst);
    assert_int_equal(dv_frames_count(f), 1);
    assert_int_equal(dv_frames_how(f), DV_FRAMES_SINGLE);
    assert_int_equal(dv_frames_fragment_count(f), 3);
    uint8_t want[32];
    memcpy(want, soi_a, 7);
    memcpy(want + 8, mid_a, 4); /* soi_a is odd: padded with one 0 in its fragment */
    want[7] = 0;
    memcpy(want + 12, soi_b, 6);
    assert_frame(h.p.inst, f, 0, want, 18);
    uint64_t off, flen;
    assert_int_equal(dv_frames_fragment(f, 1, &off, &flen), 0);
    assert_int_equal(flen, 4);
    assert_memory_equal(h.data + off, mid_a, 4);
    assert_int_equal(dv_frames_fragment(f, 3, &off, &flen), -1);
    dv_frames_free(f);
    held_free(&h);

    /* NumberOfFrames 3, 3 fragments: one each. */
    b = image(DVB_JPEG_BASELINE, 2, 2, 1, 8, "3");
    dvb_encapsulated(b, frags, lens, 3);
    build_parse(&h, b);
    f = index_ok(h.p.inst);
    assert_int_equal(dv_frames_count(f), 3);
    assert_int_equal(dv_frames_how(f), DV_FRAMES_ONE_PER_FRAGMENT);
    assert_frame(h.p.inst, f, 1, mid_a, 4);
    uint32_t first, count;
    assert_int_equal(dv_frames_frame_fragments(f, 2, &first, &count), 0);
    assert_int_equal(first, 2);
    assert_int_equal(count, 1);
    assert_int_equal(dv_frames_size(f, 3), 0);
    dv_frames_free(f);
    held_free(&h);
}

static void test_bot(void **state)
{
    (void)state;
    /* item sizes: 8+8, 8+4, 8+6, 8+4 -> frame 1 starts at 16 + 12 = 28 */
    const uint32_t bot[] = {0, 28};
    held h;
    dvb *b = image(DVB_JPEG_BASELINE, 2, 2, 1, 8, "2");
    dvb_encapsulated_bot(b, two_frames, two_frames_lens, 4, bot, 2);
    build_parse(&h, b);
    dv_frames *f = index_ok(h.p.inst);
    assert_int_equal(dv_frames_how(f), DV_FRAMES_BOT);
    assert_int_equal(dv_frames_count(f), 2);
    assert_second_frame(h.p.inst, f);
    dv_frames_free(f);
    held_free(&h);

    /* Lying tables: out of order, off a fragment start, wrong count, past the end. */
    static const uint32_t bad[][3] = {{28, 0, 0}, {0, 27, 0}, {0, 28, 40}, {0, 400, 0}, {4, 28, 0}};
    static const size_t nbad[] = {2, 2, 3, 2, 2};
    for (size_t i = 0; i < sizeof nbad / sizeof nbad[0]; i++) {
        b = image(DVB_JPEG_BASELINE, 2, 2, 1, 8, "2");
        dvb_encapsulated_bot(b, two_frames, two_frames_lens, 4, bad[i], nbad[i]);
        build_parse(&h, b);
        assert_int_equal(index_fails(h.p.inst), DV_ERR_MALFORMED);
        held_free(&h);
    }
    /* A BOT whose length is not a multiple of 4 (one 4-byte entry + 2 bytes, as one raw item). */
    b = image(DVB_JPEG_BASELINE, 2, 2, 1, 8, NULL);
    static const uint8_t odd_bot[] = {0, 0, 0, 0, 0, 0};
    const void *f2[] = {odd_bot, soi_a};
    const uint32_t l2[] = {6, 7};
    dvb_encapsulated_bot(b, f2, l2, 2, NULL, 0); /* empty BOT item, then odd_bot as "fragment" 0 */
    build_parse(&h, b);
    f = index_ok(h.p.inst); /* one frame: fragments 0 and 1 */
    assert_int_equal(dv_frames_size(f, 0), 14);
    dv_frames_free(f);
    held_free(&h);
}

static void test_eot(void **state)
{
    (void)state;
    uint8_t eot[16] = {0}, eotl[16] = {0};
    eot[8] = 28;
    eotl[0] = 12;
    eotl[8] = 10;
    held h;
    dvb *b = image(DVB_JPEG_BASELINE, 2, 2, 1, 8, "2");
    dvb_bytes(b, 0x7FE00001, "OV", eot, 16);
    dvb_bytes(b, 0x7FE00002, "OV", eotl, 16);
    dvb_encapsulated(b, two_frames, two_frames_lens, 4);
    build_parse(&h, b);
    dv_frames *f = index_ok(h.p.inst);
    assert_int_equal(dv_frames_how(f), DV_FRAMES_EOT);
    uint32_t first, count;
    assert_int_equal(dv_frames_frame_fragments(f, 1, &first, &count), 0);
    assert_int_equal(first, 2);
    assert_int_equal(count, 2);
    dv_frames_free(f);
    held_free(&h);

    /* An EOT entry off a fragment start. */
    eot[8] = 29;
    b = image(DVB_JPEG_BASELINE, 2, 2, 1, 8, "2");
    dvb_bytes(b, 0x7FE00001, "OV", eot, 16);
    dvb_encapsulated(b, two_frames, two_frames_lens, 4);
    build_parse(&h, b);
    assert_int_equal(index_fails(h.p.inst), DV_ERR_MALFORMED);
    held_free(&h);
}

static void test_markers_split(void **state)
{
    (void)state;
    /* Empty BOT, 2 frames in 4 fragments: JPEG SOI tells where each frame starts (PS3.5 A.4). */
    held h;
    dvb *b = image(DVB_JPEG_BASELINE, 2, 2, 1, 8, "2");
    dvb_encapsulated(b, two_frames, two_frames_lens, 4);
    build_parse(&h, b);
    dv_frames *f = index_ok(h.p.inst);
    assert_int_equal(dv_frames_how(f), DV_FRAMES_MARKERS);
    assert_second_frame(h.p.inst, f);
    dv_frames_free(f);
    held_free(&h);

    /* 3 frames claimed, 2 starts found; 5 frames in 4 fragments; the first fragment is no start. */
    static const char *const nf[] = {"3", "5"};
    for (int i = 0; i < 2; i++) {
        b = image(DVB_JPEG_BASELINE, 2, 2, 1, 8, nf[i]);
        dvb_encapsulated(b, two_frames, two_frames_lens, 4);
        build_parse(&h, b);
        assert_int_equal(index_fails(h.p.inst), DV_ERR_MALFORMED);
        held_free(&h);
    }
    const void *g[] = {mid_a, soi_a, soi_b};
    const uint32_t gl[] = {4, 7, 6};
    b = image(DVB_JPEG_BASELINE, 2, 2, 1, 8, "2");
    dvb_encapsulated(b, g, gl, 3);
    build_parse(&h, b);
    assert_int_equal(index_fails(h.p.inst), DV_ERR_MALFORMED);
    held_free(&h);
}

static void test_number_of_frames_hostile(void **state)
{
    (void)state;
    const void *frags[] = {soi_a};
    const uint32_t lens[] = {7};
    static const char *const bad[] = {"0", "-1", "abc", "99999999999", "4294967297", "2147483648"};
    held h;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dvb *b = image(DVB_JPEG_BASELINE, 2, 2, 1, 8, bad[i]);
        dvb_encapsulated(b, frags, lens, 1);
        build_parse(&h, b);
        assert_int_equal(index_fails(h.p.inst), DV_ERR_MALFORMED);
        held_free(&h);
    }
    /* A frame count far above the fragments is refused before anything is allocated for it. */
    dvb *b = image(DVB_JPEG_BASELINE, 2, 2, 1, 8, "2000000000");
    dvb_encapsulated(b, frags, lens, 1);
    build_parse(&h, b);
    assert_int_equal(index_fails(h.p.inst), DV_ERR_MALFORMED);
    held_free(&h);
    /* No pixel data at all. */
    b = image(DVB_EXPLICIT_LE, 2, 2, 1, 8, NULL);
    build_parse(&h, b);
    assert_int_equal(index_fails(h.p.inst), DV_ERR_INVALID);
    held_free(&h);
}

static void test_fragment_cap_and_lying_external(void **state)
{
    (void)state;
    /* 4000 fragments: the fragment table (24 bytes each) passes a 64 KiB metadata cap -> limit, not a crash. */
    enum { N = 4000 };
    static const uint8_t two[2] = {0xFF, 0xD8};
    const void **frags = malloc(N * sizeof *frags);
    uint32_t *lens = malloc(N * sizeof *lens);
    for (int i = 0; i < N; i++) {
        frags[i] = two;
        lens[i] = 2;
    }
    dvb *b = image(DVB_JPEG_BASELINE, 1, 1, 1, 8, NULL);
    dvb_encapsulated(b, (const void *const *)frags, lens, N);
    size_t len = 0;
    uint8_t *data = dvb_finish(b, &len);
    dv_limits lim;
    dv_limits_default(&lim);
    lim.max_metadata_bytes = 64u * 1024u;
    dv_mem_source ms;
    dv_source src = dv_source_memory(&ms, data, len);
    dv_error err;
    dv_instance *inst = dv_instance_read(&src, &lim, &err);
    assert_non_null(inst);
    assert_int_equal(index_fails(inst), DV_ERR_LIMIT);
    dv_instance_free(inst);
    free(data);
    free(frags);
    free(lens);

    /* A caller's encapsulated buffer whose fragment claims more bytes than the buffer has: malformed. */
    held h;
    b = image(DVB_EXPLICIT_LE, 1, 1, 1, 8, NULL);
    uint8_t one = 1;
    dvb_bytes(b, 0x7FE00010, "OB", &one, 1);
    build_parse(&h, b);
    static const uint8_t lying[] = {0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0,            /* empty BOT */
                                    0xFE, 0xFF, 0x00, 0xE0, 0x00, 0x10, 0, 0, 1, 2, /* claims 4096 bytes */
                                    0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0};
    uint8_t *buf = malloc(sizeof lying);
    memcpy(buf, lying, sizeof lying);
    dv_elem *px = dv_ds_find(&h.p.inst->ds, DV_TAG_PIXEL_DATA);
    assert_int_equal(dv_elem_set_external(h.p.inst, px, DV_VR_OB, buf, sizeof lying, 1, count_release, NULL), 0);
    assert_int_equal(index_fails(h.p.inst), DV_ERR_MALFORMED);
    /* No offset table item at all (only the delimiter). */
    static const uint8_t bare[] = {0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0};
    dv_mem_source bms;
    dv_source bsrc = dv_source_memory(&bms, bare, sizeof bare);
    assert_int_equal(dv_elem_set_stream(h.p.inst, px, DV_VR_OB, &bsrc, 0, sizeof bare, 1), 0);
    assert_int_equal(index_fails(h.p.inst), DV_ERR_MALFORMED);
    held_free(&h);
}

/* --- native ------------------------------------------------------------------------------------------------ */

static void test_native(void **state)
{
    (void)state;
    held h;
    /* 8-bit, 2x3, 2 frames. */
    uint8_t px[12];
    for (int i = 0; i < 12; i++)
        px[i] = (uint8_t)(i + 1);
    dvb *b = image(DVB_EXPLICIT_LE, 2, 3, 1, 8, "2");
    dvb_bytes(b, 0x7FE00010, "OB", px, 12);
    build_parse(&h, b);
    dv_frames *f = index_ok(h.p.inst);
    assert_false(dv_frames_encapsulated(f));
    assert_int_equal(dv_frames_count(f), 2);
    assert_frame(h.p.inst, f, 1, px + 6, 6);
    uint8_t small[5];
    dv_error err;
    assert_int_equal(dv_frames_read(h.p.inst, f, 1, small, 5, &err), -1);
    assert_int_equal(err.code, DV_ERR_USAGE);
    dv_frames_free(f);
    held_free(&h);

    /* 3 frames claimed, 2 present: refused. */
    b = image(DVB_EXPLICIT_LE, 2, 3, 1, 8, "3");
    dvb_bytes(b, 0x7FE00010, "OB", px, 12);
    build_parse(&h, b);
    assert_int_equal(index_fails(h.p.inst), DV_ERR_MALFORMED);
    held_free(&h);

    /* 16-bit big endian OW: frames come little endian. */
    uint8_t be[8] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}, le[4] = {0x06, 0x05, 0x08, 0x07};
    b = image(DVB_EXPLICIT_BE, 1, 2, 1, 16, "2");
    dvb_bytes(b, 0x7FE00010, "OW", be, 8);
    build_parse(&h, b);
    f = index_ok(h.p.inst);
    assert_frame(h.p.inst, f, 1, le, 4);
    dv_frames_free(f);
    held_free(&h);

    /* 1-bit packed, 3x3 = 9 bits a frame, 2 frames: frame 1 starts at bit 9 (LSB first, PS3.5 8.1.1). */
    uint8_t bits[3] = {0xFF, 0xAB, 0x01}; /* frame 0 = bits 0..8, frame 1 = bits 9..17 */
    b = image(DVB_EXPLICIT_LE, 3, 3, 1, 1, "2");
    dvb_bytes(b, 0x7FE00010, "OB", bits, 3);
    build_parse(&h, b);
    f = index_ok(h.p.inst);
    uint8_t f0[2] = {0xFF, 0x01}; /* bits 0..8: 0xFF, then bit 8 = bit 0 of 0xAB = 1 */
    /* bits 9..17: 0xAB >> 1 = 0x55 (bits 9..15), bit 16 = 1 (0x01 bit 0), bit 17 = 0 -> 0x55 | 0x80, then 0 */
    uint8_t f1[2] = {0xD5, 0x00};
    assert_frame(h.p.inst, f, 0, f0, 2);
    assert_frame(h.p.inst, f, 1, f1, 2);
    dv_frames_free(f);
    held_free(&h);

    /* Float Pixel Data (7FE0,0008), small enough to be inline: 2 frames of one 32-bit float. */
    static const uint8_t fl[8] = {0, 0, 0x80, 0x3F, 0, 0, 0, 0x40}; /* 1.0f, 2.0f */
    b = image(DVB_EXPLICIT_LE, 1, 1, 1, 32, "2");
    dvb_bytes(b, 0x7FE00008, "OF", fl, 8);
    build_parse(&h, b);
    f = index_ok(h.p.inst);
    assert_frame(h.p.inst, f, 1, fl + 4, 4);
    dv_frames_free(f);
    held_free(&h);

    /* Missing Rows. */
    b = dvb_new(DVB_EXPLICIT_LE, 1);
    dvb_str(b, 0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.7");
    dvb_str(b, 0x00080018, "UI", "1.2.3.4");
    dvb_bytes(b, 0x7FE00010, "OB", px, 12);
    build_parse(&h, b);
    assert_int_equal(index_fails(h.p.inst), DV_ERR_MALFORMED);
    held_free(&h);
}

/* --- transfer syntax changes ---------------------------------------------------------------------------- */

static void test_be_to_le(void **state)
{
    (void)state;
    held h, o;
    uint8_t pxbe[8] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
    uint8_t ulbe[4] = {0x11, 0x22, 0x33, 0x44}, atbe[4] = {0x00, 0x10, 0x00, 0x20};
    uint8_t fdbe[8] = {0x3F, 0xF0, 0, 0, 0, 0, 0, 0}; /* 1.0 */
    dvb *b = image(DVB_EXPLICIT_BE, 1, 2, 1, 16, "2");
    dvb_bytes(b, 0x00189219, "FD", fdbe, 8);
    dvb_bytes(b, 0x00209165, "AT", atbe, 4);
    dvb_bytes(b, 0x00280304, "UL", ulbe, 4); /* not a real UL attribute: any UL swaps */
    dvb_bytes(b, 0x7FE00010, "OW", pxbe, 8);
    build_parse(&h, b);
    dv_frames *fin = index_ok(h.p.inst);
    dv_error err;
    assert_int_equal(dv_instance_set_transfer_syntax(h.p.inst, "1.2.840.10008.1.2.1", &err), 0);
    assert_string_equal(dv_instance_transfer_syntax(h.p.inst), "1.2.840.10008.1.2.1");
    rewrite(h.p.inst, &o);
    assert_string_equal(dv_instance_transfer_syntax(o.p.inst), "1.2.840.10008.1.2.1");
    const dv_elem *e = dv_ds_find(&o.p.inst->ds, 0x00280010);
    assert_memory_equal(e->value, "\x01\x00", 2);
    e = dv_ds_find(&o.p.inst->ds, 0x00280304);
    assert_memory_equal(e->value, "\x44\x33\x22\x11", 4);
    e = dv_ds_find(&o.p.inst->ds, 0x00209165);
    assert_memory_equal(e->value, "\x10\x00\x20\x00", 4); /* (0010,0020): two 16-bit numbers */
    e = dv_ds_find(&o.p.inst->ds, 0x00189219);
    assert_memory_equal(e->value, "\x00\x00\x00\x00\x00\x00\xF0\x3F", 8);
    e = dv_ds_find(&o.p.inst->ds, 0x00280004);
    assert_memory_equal(e->value, "MONOCHROME2 ", 12); /* text untouched */
    /* The frames read the same from the BE input and the LE output. */
    dv_frames *fout = index_ok(o.p.inst);
    for (uint32_t i = 0; i < 2; i++) {
        uint8_t a[4], c[4];
        assert_int_equal(dv_frames_read(h.p.inst, fin, i, a, 4, &err), 0);
        assert_int_equal(dv_frames_read(o.p.inst, fout, i, c, 4, &err), 0);
        assert_memory_equal(a, c, 4);
    }
    dv_frames_free(fin);
    dv_frames_free(fout);
    held_free(&o);
    /* Big endian is never written; a malformed UID is a usage error. */
    assert_int_equal(dv_instance_set_transfer_syntax(h.p.inst, "1.2.840.10008.1.2.2", &err), -1);
    assert_int_equal(err.code, DV_ERR_UNSUPPORTED);
    assert_int_equal(dv_instance_set_transfer_syntax(h.p.inst, "1.2..3", &err), -1);
    assert_int_equal(err.code, DV_ERR_USAGE);
    /* Deflated output of the same values. */
    assert_int_equal(dv_instance_set_transfer_syntax(h.p.inst, "1.2.840.10008.1.2.1.99", &err), 0);
    rewrite(h.p.inst, &o);
    e = dv_ds_find(&o.p.inst->ds, 0x00280304);
    assert_memory_equal(e->value, "\x44\x33\x22\x11", 4);
    held_free(&o);
    held_free(&h);
}

static void test_implicit_to_explicit(void **state)
{
    (void)state;
    held h, o;
    uint8_t px[4] = {1, 2, 3, 4};
    dvb *b = image(DVB_IMPLICIT_LE, 1, 2, 1, 16, NULL);
    dvb_bytes(b, 0x7FE00010, "OW", px, 4);
    build_parse(&h, b);
    dv_error err;
    assert_int_equal(dv_instance_set_transfer_syntax(h.p.inst, "1.2.840.10008.1.2.1", &err), 0);
    rewrite(h.p.inst, &o);
    assert_memory_equal(o.data + 132 + 12, "\x02\x00", 2); /* file meta: explicit VR always */
    const dv_elem *e = dv_ds_find(&o.p.inst->ds, 0x00280004);
    char vr[3];
    dv_vr_to_chars(e->vr, vr);
    assert_string_equal(vr, "CS");
    assert_non_null(memmem(o.data, o.len, "\x28\x00\x04\x00" "CS", 6)); /* explicit VR in the dataset */
    dv_frames *f = index_ok(o.p.inst);
    assert_frame(o.p.inst, f, 0, px, 4);
    dv_frames_free(f);
    held_free(&o);
    held_free(&h);
}

static void test_encapsulated_to_native_and_back(void **state)
{
    (void)state;
    const void *frags[] = {soi_a, soi_b};
    const uint32_t lens[] = {7, 6};
    held h, o;
    dv_error err;
    dvb *b = image(DVB_JPEG_BASELINE, 1, 2, 1, 8, "2");
    dvb_encapsulated(b, frags, lens, 2);
    build_parse(&h, b);

    /* A TS change without new pixel data is refused on write: the output would not be valid DICOM. */
    assert_int_equal(dv_instance_set_transfer_syntax(h.p.inst, "1.2.840.10008.1.2.1", &err), 0);
    dv_mem_sink ms;
    memset(&ms, 0, sizeof ms);
    dv_sink sink = dv_sink_memory(&ms);
    assert_int_equal(dv_instance_write(h.p.inst, &sink, &err), -1);
    assert_int_equal(err.code, DV_ERR_INVALID);
    dv_mem_sink_free(&ms);

    /* Decoded frames supplied by the caller (owned by the instance from here on). */
    uint8_t *native = malloc(4);
    memcpy(native, "\x0A\x0B\x0C\x0D", 4);
    released = 0;
    assert_int_equal(dv_instance_set_pixel_data_native(h.p.inst, 0, native, 4, count_release, NULL, &err), 0);
    assert_non_null(dv_ds_put(h.p.inst, &h.p.inst->ds, 0x00282110, DV_VR_CS, "00", 2)); /* LossyImageCompression */
    rewrite(h.p.inst, &o);
    assert_string_equal(dv_instance_transfer_syntax(o.p.inst), "1.2.840.10008.1.2.1");
    dv_frames *f = index_ok(o.p.inst);
    assert_false(dv_frames_encapsulated(f));
    assert_frame(o.p.inst, f, 1, "\x0C\x0D", 2);
    dv_frames_free(f);
    char lossy[8];
    assert_int_equal(dv_instance_get_string(o.p.inst, 0x00282110, lossy, sizeof lossy), 2);

    /* And back: new encapsulated frames with a Basic Offset Table. */
    const void *nf[] = {soi_b, soi_a};
    const uint64_t nl[] = {6, 7};
    assert_int_equal(dv_instance_set_pixel_data_frames(o.p.inst, nf, nl, 2, &err), 0);
    assert_int_equal(dv_instance_set_transfer_syntax(o.p.inst, JPEG_TS, &err), 0);
    held o2;
    rewrite(o.p.inst, &o2);
    f = index_ok(o2.p.inst);
    assert_int_equal(dv_frames_how(f), DV_FRAMES_BOT);
    assert_frame(o2.p.inst, f, 0, soi_b, 6);
    uint8_t padded[8];
    memcpy(padded, soi_a, 7);
    padded[7] = 0;
    assert_frame(o2.p.inst, f, 1, padded, 8);
    dv_frames_free(f);
    held_free(&o2);
    held_free(&o);
    assert_int_equal(released, 0);
    held_free(&h);
    assert_int_equal(released, 1); /* released once, with the instance */
}

static void test_eot_dropped_on_replace(void **state)
{
    (void)state;
    const void *frags[] = {soi_a, soi_b};
    const uint32_t lens[] = {7, 6};
    uint8_t eot[16] = {0}, eotl[16] = {0};
    eot[8] = 16;
    held h, o;
    dv_error err;
    dvb *b = image(DVB_JPEG_BASELINE, 1, 2, 1, 8, "2");
    dvb_bytes(b, 0x7FE00001, "OV", eot, 16);
    dvb_bytes(b, 0x7FE00002, "OV", eotl, 16);
    dvb_encapsulated(b, frags, lens, 2);
    build_parse(&h, b);
    const void *nf[] = {soi_b, soi_a};
    const uint64_t nl[] = {6, 7};
    assert_int_equal(dv_instance_set_pixel_data_frames(h.p.inst, nf, nl, 2, &err), 0);
    rewrite(h.p.inst, &o);
    assert_null(dv_ds_find(&o.p.inst->ds, 0x7FE00001));
    assert_null(dv_ds_find(&o.p.inst->ds, 0x7FE00002));
    held_free(&o);
    held_free(&h);
}

/* --- tree building and external values (item 4) ---------------------------------------------------------- */

static void test_tree_api(void **state)
{
    (void)state;
    held h, o;
    dvb *b = image(DVB_EXPLICIT_BE, 1, 1, 1, 8, NULL);
    uint8_t one = 7;
    dvb_bytes(b, 0x7FE00010, "OB", &one, 1);
    build_parse(&h, b);
    dv_instance *inst = h.p.inst;

    dv_elem *seq = dv_ds_put_sequence(inst, &inst->ds, 0x00081115); /* ReferencedSeriesSequence */
    assert_non_null(seq);
    for (int i = 0; i < 3; i++) {
        dv_item *it = dv_seq_append_item(inst, seq);
        assert_non_null(it);
        char uid[16];
        snprintf(uid, sizeof uid, "1.2.3.%d", i); /* 7 chars: odd, padded with NUL on write */
        assert_non_null(dv_item_put(inst, it, 0x0020000E, DV_VR_UI, uid, strlen(uid)));
        assert_non_null(dv_item_put(inst, it, 0x00080054, DV_VR_AE, "AE", 2)); /* inserted before (0020,000E) */
    }
    assert_int_equal(seq->nitems, 3);
    dv_item *empty = dv_seq_append_item(inst, seq); /* an empty item is kept */
    assert_non_null(empty);
    /* Not a sequence: no item. */
    assert_null(dv_seq_append_item(inst, dv_ds_find(&inst->ds, 0x00280004)));
    /* A big replacement streamed from another source, and a US in the instance's byte order (BE). */
    size_t big = 100000;
    uint8_t *blob = malloc(big);
    for (size_t i = 0; i < big; i++)
        blob[i] = (uint8_t)(i * 31);
    dv_mem_source bms;
    dv_source bsrc = dv_source_memory(&bms, blob, big);
    dv_elem *lut = dv_ds_put(inst, &inst->ds, 0x00283006, DV_VR_OB, NULL, 0);
    assert_non_null(lut);
    assert_int_equal(dv_elem_set_stream(inst, lut, DV_VR_OB, &bsrc, 10, big - 10, 0), 0);
    assert_int_equal(dv_elem_set_stream(inst, lut, DV_VR_OB, &bsrc, 10, big, 0), -1); /* past the source */
    assert_non_null(dv_ds_put_u16(inst, &inst->ds, 0x00280010, 2));
    uint16_t rows = 0;
    assert_int_equal(dv_ds_get_u16(inst, &inst->ds, 0x00280010, &rows), 0);
    assert_int_equal(rows, 2);
    rewrite(inst, &o);
    const dv_elem *s2 = dv_ds_find(&o.p.inst->ds, 0x00081115);
    assert_non_null(s2);
    assert_true(s2->flags & DV_ELEM_SEQUENCE);
    assert_int_equal(s2->nitems, 4);
    const dv_item *it = s2->items->next;
    char uid[65];
    assert_int_equal(dv_elem_uid_text(dv_ds_find(&it->ds, 0x0020000E), uid, sizeof uid), 7);
    assert_string_equal(uid, "1.2.3.1");
    assert_int_equal(it->ds.first->tag, 0x00080054);
    assert_null(s2->items->next->next->next->ds.first);
    const dv_elem *l2 = dv_ds_find(&o.p.inst->ds, 0x00283006);
    assert_int_equal(l2->length, big - 10);
    uint8_t *back = malloc(big);
    assert_int_equal(dv_elem_read_value(o.p.inst, l2, back, big), 0);
    assert_memory_equal(back, blob + 10, big - 10);
    assert_memory_equal(dv_ds_find(&o.p.inst->ds, 0x00280010)->value, "\x00\x02", 2); /* BE file */
    free(back);
    held_free(&o);
    held_free(&h);
    free(blob);
}

/* --- the corpus --------------------------------------------------------------------------------------------- */

typedef struct corpus_stats {
    int encapsulated, indexed, be, be_ok, implicit, implicit_ok, refragmented, skipped, py_pairs, siblings;
    char tmpdir[64];
    char args[30000];
    char failed[4096];
} corpus_stats;

static int ts_prefix(const char *ts, const char *p)
{
    return !strncmp(ts, p, strlen(p));
}

/* The frame's first bytes are the codec's: JPEG SOI, J2K SOC or a JP2 box, JPEG XL, an RLE header (PS3.5 G.3.1: 16 UL,
 * segment count <= 15, first segment at 64). */
static int codec_start_ok(const char *ts, const uint8_t *p, uint64_t n)
{
    if (!strcmp(ts, "1.2.840.10008.1.2.5")) {
        if (n < 64)
            return 0;
        uint32_t segs = p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
        uint32_t off1 = p[4] | ((uint32_t)p[5] << 8) | ((uint32_t)p[6] << 16) | ((uint32_t)p[7] << 24);
        return segs >= 1 && segs <= 15 && off1 == 64;
    }
    if (!strcmp(ts, "1.2.840.10008.1.2.8.1"))
        return n > 0; /* Deflated Image Frame Compression: raw deflate, no marker */
    if (n < 2)
        return 0;
    int jpeg = p[0] == 0xFF && p[1] == 0xD8;
    int j2k = (p[0] == 0xFF && p[1] == 0x4F) || (n >= 8 && !memcmp(p + 4, "jP  ", 4));
    int jxl = (p[0] == 0xFF && p[1] == 0x0A) || (n >= 8 && !memcmp(p + 4, "JXL ", 4));
    if (ts_prefix(ts, "1.2.840.10008.1.2.4.9") || ts_prefix(ts, "1.2.840.10008.1.2.4.20"))
        return j2k;
    if (ts_prefix(ts, "1.2.840.10008.1.2.4.11"))
        return jxl || jpeg;
    return jpeg;
}

static void note_fail(corpus_stats *st, const char *rel, const char *why)
{
    size_t l = strlen(st->failed);
    snprintf(st->failed + l, sizeof st->failed - l, "%s: %s\n", rel, why);
}

/* The outputs of BE -> LE changes read the same pixel arrays and attributes with pydicom as their inputs
 * (one interpreter for every pair: argv = in out in out ...). Exit 3: pydicom is not installed. */
static int pydicom_same(const char *args)
{
    char cmd[40000];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 - %s <<'EOF'\n"
             "import sys\n"
             "try:\n"
             "    import pydicom, numpy\n"
             "except ImportError:\n"
             "    sys.exit(3)\n"
             "def same(x, y):  # every element at every nesting level (group lengths are dropped on write)\n"
             "    for e in x:\n"
             "        if e.tag.group == 0x7FE0 or e.tag.element == 0 or e.VR == 'UN': continue\n"
             "        if e.VR == 'SQ':\n"
             "            assert len(y[e.tag].value) == len(e.value), str(e.tag)\n"
             "            for i, j in zip(e.value, y[e.tag].value): same(i, j)\n"
             "        else:\n"
             "            assert y[e.tag].value == e.value, str(e.tag)\n"
             "bad = 0\n"
             "for i in range(1, len(sys.argv), 2):\n"
             "    a = pydicom.dcmread(sys.argv[i], force=True); b = pydicom.dcmread(sys.argv[i + 1])\n"
             "    if 'TransferSyntaxUID' not in a.file_meta:  # a raw dataset: pydicom guessed the encoding\n"
             "        a.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian if a.is_implicit_VR else \\\n"
             "            (pydicom.uid.ExplicitVRLittleEndian if a.is_little_endian else pydicom.uid.ExplicitVRBigEndian)\n"
             "    try:\n"
             "        assert b.file_meta.TransferSyntaxUID == '1.2.840.10008.1.2.1'\n"
             "        exp = a.pixel_array\n"
             "        if a.BitsAllocated == 8 and a['PixelData'].VR == 'OW' and not a.is_little_endian:\n"
             "            # pydicom 2.x reads 8-bit OW big endian unswapped; PS3.5 and dcmtk swap its 16-bit words\n"
             "            raw = bytearray(a.PixelData)\n"
             "            raw[0::2], raw[1::2] = raw[1::2], raw[0::2]\n"
             "            exp = numpy.frombuffer(bytes(raw[:exp.size]), numpy.uint8).reshape(exp.shape)\n"
             "        assert numpy.array_equal(exp, b.pixel_array)\n"
             "        same(a, b)\n"
             "    except Exception as x:\n"
             "        print('pydicom differs on pair', i // 2, x)\n"
             "        bad += 1\n"
             "sys.exit(1 if bad else 0)\n"
             "EOF",
             args);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Corpus files that exist in both byte orders: the BE one re-written LE has the LE one's frames. */
static int same_as_le_sibling(const char *rel, const dv_instance *out, const dv_frames *fout, int *checked)
{
    static const char *const pairs[][2] = {
        {"pydicom/SC_rgb_small_odd_big_endian.dcm", "pydicom/SC_rgb_small_odd.dcm"},
        {"pydicom-data/emri_small_big_endian.dcm", "pydicom-data/emri_small.dcm"},
        {"pydicom/MR_small_bigendian.dcm", "pydicom/MR_small.dcm"},
    };
    for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
        if (strcmp(rel, pairs[k][0]))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/dicom/%s", DV_SHARED_DATA, pairs[k][1]);
        size_t len = 0;
        uint8_t *data = dvt_slurp(path, &len);
        if (!data || len == 0) {
            free(data);
            return 1;
        }
        parsed p;
        memset(&p, 0, sizeof p);
        dv_error err;
        int ok = dvt_parse(&p, data, len, &err) == 0;
        (*checked)++;
        dv_frames *f = ok ? dv_frames_index(p.inst, &err) : NULL;
        ok = f && dv_frames_count(f) == dv_frames_count(fout);
        for (uint32_t i = 0; ok && i < dv_frames_count(f); i++) {
            uint64_t n = dv_frames_size(f, i);
            uint8_t *a = malloc(n), *c = malloc(n);
            ok = dv_frames_size(fout, i) == n && dv_frames_read(p.inst, f, i, a, n, &err) == 0 &&
                 dv_frames_read(out, fout, i, c, n, &err) == 0 && memcmp(a, c, n) == 0;
            free(a);
            free(c);
        }
        dv_frames_free(f);
        if (p.inst)
            dv_instance_free(p.inst);
        free(data);
        return ok;
    }
    return 1;
}

/* Write inst to ms, re-read it into q and index its frames. 1 on success. */
static int rewrite_reread(const dv_instance *inst, dv_mem_sink *ms, parsed *q, dv_frames **fout)
{
    dv_error err;
    dv_sink sink = dv_sink_memory(ms);
    if (dv_instance_write(inst, &sink, &err) != 0 || dvt_parse(q, ms->data, ms->len, &err) != 0)
        return 0;
    *fout = dv_frames_index(q->inst, &err);
    return *fout != NULL;
}

static int same_frames(const dv_instance *a, const dv_frames *fa, const dv_instance *b, const dv_frames *fb)
{
    dv_error err;
    int ok = dv_frames_count(fa) == dv_frames_count(fb);
    for (uint32_t i = 0; ok && i < dv_frames_count(fa); i++) {
        uint64_t n = dv_frames_size(fa, i);
        uint8_t *x = malloc(n ? n : 1), *y = malloc(n ? n : 1);
        ok = dv_frames_size(fb, i) == n && dv_frames_read(a, fa, i, x, n, &err) == 0 &&
             dv_frames_read(b, fb, i, y, n, &err) == 0 && memcmp(x, y, n) == 0;
        free(x);
        free(y);
    }
    return ok;
}

static void add_pydicom_pair(corpus_stats *st, const char *path, const dv_mem_sink *ms)
{
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s/%d.dcm", st->tmpdir, st->py_pairs);
    FILE *out = fopen(tmp, "wb");
    if (out && fwrite(ms->data, 1, ms->len, out) == ms->len &&
        strlen(st->args) + strlen(path) + strlen(tmp) + 8 < sizeof st->args) {
        size_t l = strlen(st->args);
        snprintf(st->args + l, sizeof st->args - l, " '%s' '%s'", path, tmp);
        st->py_pairs++;
    }
    if (out)
        fclose(out);
}

static void corpus_file(const char *path, const char *rel, corpus_stats *st)
{
    size_t len = 0;
    uint8_t *data = dvt_slurp(path, &len);
    if (!data || len == 0) { /* unreadable or empty: not a corpus instance */
        free(data);
        return;
    }
    parsed p;
    dv_error err;
    memset(&err, 0, sizeof err);
    if (dvt_parse(&p, data, len, &err) != 0) {
        free(data);
        return;
    }
    const dv_elem *px = dv_ds_find(&p.inst->ds, DV_TAG_PIXEL_DATA);
    const char *ts = dv_instance_transfer_syntax(p.inst);
    if (px && (px->flags & DV_ELEM_ENCAPSULATED)) {
        st->encapsulated++;
        dv_frames *f = dv_frames_index(p.inst, &err);
        if (!f) {
            note_fail(st, rel, err.message);
        } else {
            char nf[32];
            long want = dv_instance_get_string(p.inst, 0x00280008, nf, sizeof nf) > 0 ? atol(nf) : 1;
            int ok = (long)dv_frames_count(f) == want;
            for (uint32_t i = 0; ok && i < dv_frames_count(f); i++) {
                uint64_t n = dv_frames_size(f, i);
                uint8_t *buf = malloc(n ? n : 1);
                ok = dv_frames_read(p.inst, f, i, buf, n, &err) == 0 && codec_start_ok(ts, buf, n);
                free(buf);
            }
            if (ok)
                st->indexed++;
            else
                note_fail(st, rel, "frame count or codec marker");
            dv_frames_free(f);
        }
    }
    /* The round trips below need an instance the writer takes as it is (SOP Class and Instance UIDs) and pixel
     * data the index takes (not e.g. 12-bit packed, nor without Rows): other files are counted as skipped. */
    char uid[65];
    int writable = (dv_instance_get_string(p.inst, 0x00080016, uid, sizeof uid) > 0 ||
                    dv_instance_get_string(p.inst, 0x00020002, uid, sizeof uid) > 0) &&
                   dv_instance_get_string(p.inst, 0x00080018, uid, sizeof uid) > 0;
    dv_frames *probe = px && writable ? dv_frames_index(p.inst, &err) : NULL;
    if (px && !probe)
        st->skipped++;
    dv_frames_free(probe);
    if (!probe)
        px = NULL;
    int be = !strcmp(ts, "1.2.840.10008.1.2.2"), implicit = !strcmp(ts, "1.2.840.10008.1.2");
    if ((be || implicit) && px) {
        /* Big endian and implicit VR files re-written explicit VR little endian: the same frames, and
         * pydicom reads the same pixel array and attributes. */
        int *n = be ? &st->be : &st->implicit, *n_ok = be ? &st->be_ok : &st->implicit_ok;
        (*n)++;
        dv_frames *fin = dv_frames_index(p.inst, &err);
        dv_mem_sink ms;
        memset(&ms, 0, sizeof ms);
        parsed q;
        memset(&q, 0, sizeof q);
        dv_frames *fout = NULL;
        int ok = fin && dv_instance_set_transfer_syntax(p.inst, "1.2.840.10008.1.2.1", &err) == 0 &&
                 rewrite_reread(p.inst, &ms, &q, &fout) && same_frames(p.inst, fin, q.inst, fout);
        if (be)
            ok = ok && same_as_le_sibling(rel, q.inst, fout, &st->siblings);
        if (ok) {
            (*n_ok)++;
            add_pydicom_pair(st, path, &ms);
        } else {
            note_fail(st, rel, be ? "BE -> LE round trip" : "implicit -> explicit round trip");
        }
        dv_frames_free(fin);
        dv_frames_free(fout);
        dv_instance_free(q.inst);
        dv_mem_sink_free(&ms);
    } else if (px && (px->flags & DV_ELEM_ENCAPSULATED)) {
        /* Re-encapsulated as new fragments (one per frame) with a Basic Offset Table: the same frames. */
        dv_frames *fin = dv_frames_index(p.inst, &err);
        uint32_t nf = fin ? dv_frames_count(fin) : 0;
        void **frames = calloc(nf ? nf : 1, sizeof *frames);
        uint64_t *lens = calloc(nf ? nf : 1, sizeof *lens);
        int ok = fin != NULL;
        for (uint32_t i = 0; ok && i < nf; i++) {
            lens[i] = dv_frames_size(fin, i);
            frames[i] = malloc(lens[i] ? lens[i] : 1);
            ok = frames[i] && dv_frames_read(p.inst, fin, i, frames[i], lens[i], &err) == 0;
        }
        dv_frames_free(fin);
        ok = ok && dv_instance_set_pixel_data_frames(p.inst, (const void *const *)frames, lens, nf, &err) == 0;
        dv_mem_sink ms;
        memset(&ms, 0, sizeof ms);
        parsed q;
        memset(&q, 0, sizeof q);
        dv_frames *fout = NULL;
        ok = ok && rewrite_reread(p.inst, &ms, &q, &fout) && dv_frames_how(fout) == DV_FRAMES_BOT &&
             dv_frames_count(fout) == nf;
        for (uint32_t i = 0; ok && i < nf; i++) {
            uint64_t n = dv_frames_size(fout, i);
            uint8_t *c = malloc(n ? n : 1);
            ok = n == lens[i] + (lens[i] & 1) && dv_frames_read(q.inst, fout, i, c, n, &err) == 0 &&
                 memcmp(c, frames[i], lens[i]) == 0;
            free(c);
        }
        if (ok)
            st->refragmented++;
        else
            note_fail(st, rel, "re-encapsulated frames differ");
        for (uint32_t i = 0; i < nf; i++)
            free(frames[i]);
        free(frames);
        free(lens);
        dv_frames_free(fout);
        dv_instance_free(q.inst);
        dv_mem_sink_free(&ms);
    }
    dv_instance_free(p.inst);
    free(data);
}

static void walk(const char *dir, const char *rel, corpus_stats *st, int depth)
{
    DIR *d = opendir(dir);
    if (!d || depth > 4) {
        if (d)
            closedir(d);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[2048], r[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        snprintf(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
        struct stat sb;
        if (stat(path, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode))
            walk(path, r, st, depth + 1);
        else if (S_ISREG(sb.st_mode))
            corpus_file(path, r, st);
    }
    closedir(d);
}

static void test_corpus(void **state)
{
    (void)state;
    corpus_stats st;
    memset(&st, 0, sizeof st);
    struct stat sb;
    if (stat(DV_SHARED_DATA "/dicom", &sb) != 0)
        skip();
    strcpy(st.tmpdir, "/tmp/dv_test_frames_XXXXXX");
    assert_non_null(mkdtemp(st.tmpdir));
    walk(DV_SHARED_DATA "/dicom", "", &st, 0);
    int py = pydicom_same(st.args);
    char rm[128];
    snprintf(rm, sizeof rm, "rm -rf '%s'", st.tmpdir);
    assert_int_equal(system(rm), 0);
    printf("corpus: %d encapsulated, %d indexed, %d re-encapsulated; %d big endian, %d BE->LE; %d implicit, %d "
           "implicit->explicit, %d skipped (%d pydicom-checked: %s)\n", st.encapsulated, st.indexed, st.refragmented,
           st.be, st.be_ok, st.implicit, st.implicit_ok, st.skipped, st.py_pairs, py == 0 ? "same" : py == 3 ? "skipped" : "DIFFERENT");
    if (st.failed[0])
        printf("%s", st.failed);
    assert_true(st.encapsulated >= 80); /* MANIFEST: ~100 encapsulated files read by our reader */
    assert_int_equal(st.indexed, st.encapsulated);
    assert_true(st.be >= 8);
    assert_int_equal(st.be_ok, st.be);
    assert_int_equal(st.siblings, 3);
    assert_true(st.refragmented >= st.encapsulated - 4); /* encapsulated files without SOP UIDs are skipped */
    assert_true(st.skipped <= 12);
    assert_true(st.implicit >= 10);
    assert_int_equal(st.implicit_ok, st.implicit);
    assert_int_equal(st.py_pairs, st.be_ok + st.implicit_ok);
    assert_true(py == 0 || py == 3); /* 3: no pydicom on this machine */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_and_one_per_fragment),
        cmocka_unit_test(test_bot),
        cmocka_unit_test(test_eot),
        cmocka_unit_test(test_markers_split),
        cmocka_unit_test(test_number_of_frames_hostile),
        cmocka_unit_test(test_fragment_cap_and_lying_external),
        cmocka_unit_test(test_native),
        cmocka_unit_test(test_be_to_le),
        cmocka_unit_test(test_implicit_to_explicit),
        cmocka_unit_test(test_encapsulated_to_native_and_back),
        cmocka_unit_test(test_eot_dropped_on_replace),
        cmocka_unit_test(test_tree_api),
        cmocka_unit_test(test_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
