/* Pixel decoding (src/image): attribute validation, the native and RLE codecs, our JPEG lossless decoder on
 * streams built here (restart markers, every predictor, hostile tables), library-wrapper failure classes,
 * and the per-context decoder-call counter. The corpus-wide comparison with independent decoders is
 * integration.test_image_decode; encoder-made streams (dcmtk) are integration.test_image_codecs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicomveil/dicomveil.h"
#include "dict/dv_tags.h"
#include "dv_build.h"
#include "dicomveil/dv_frames.h"
#include "dv_test_frames.h"
#include "image/dv_image.h"
#include "../fuzz/fuzz_image_common.h"

/* ---------- helpers ---------- */

static dv_pixel_attrs attrs(uint32_t rows, uint32_t cols, uint32_t spp, uint32_t ba, uint32_t bs, uint32_t pr,
                            dv_photometric photo, uint32_t planar, uint32_t frames)
{
    dv_pixel_attrs pa;
    memset(&pa, 0, sizeof pa);
    pa.rows = rows;
    pa.columns = cols;
    pa.samples_per_pixel = spp;
    pa.bits_allocated = ba;
    pa.bits_stored = bs;
    pa.high_bit = bs - 1;
    pa.pixel_representation = pr;
    pa.photometric = photo;
    pa.planar_configuration = planar;
    pa.number_of_frames = frames;
    assert_int_equal(dv_pixel_attrs_validate(&pa, NULL, NULL), 0);
    return pa;
}

/* Decode through a fresh context into a malloc'd buffer; returns the dv_code (DV_OK on success). */
static dv_code decode(const char *ts, const dv_pixel_attrs *pa, uint32_t frame, const uint8_t *d, size_t n,
                      dv_frame *f)
{
    dv_image_ctx *ctx = dv_image_ctx_new(NULL);
    assert_non_null(ctx);
    dv_error err = {0};
    size_t cap = dv_image_frame_capacity(pa, dv_ts_family_of(ts), NULL, &err);
    assert_true(cap > 0);
    f->data = malloc(cap);
    f->cap = cap;
    int rc = dv_image_decode_frame(ctx, ts, pa, frame, d, n, f, &err);
    dv_image_ctx_free(ctx);
    if (rc != 0) {
        assert_true(err.code != DV_OK);
        assert_non_null(memchr(err.message, '\0', sizeof err.message));
        return err.code;
    }
    return DV_OK;
}

#define TS_EXPLICIT_LE "1.2.840.10008.1.2.1"
#define TS_RLE "1.2.840.10008.1.2.5"
#define TS_JPEG_LOSSLESS "1.2.840.10008.1.2.4.70"

/* ---------- attributes read from instances ---------- */

/* An instance streams bulk values from its source: the bytes and the source live as long as it does. */
typedef struct held_inst {
    dv_instance *inst;
    uint8_t *bytes;
    dv_mem_source ms;
    dv_source src;
} held_inst;

static held_inst *hold(uint8_t *bytes, size_t len)
{
    held_inst *h = calloc(1, sizeof *h);
    h->bytes = bytes;
    h->src = dv_source_memory(&h->ms, bytes, len);
    dv_error err = {0};
    h->inst = dv_instance_read(&h->src, NULL, &err);
    assert_non_null(h->inst);
    return h;
}

static void release(held_inst *h)
{
    dv_instance_free(h->inst);
    free(h->bytes);
    free(h);
}

static held_inst *build_image(uint16_t rows, uint16_t cols, uint16_t ba, uint16_t bs, uint16_t pr,
                                const char *frames, const char *photo, uint32_t pixel_bytes)
{
    dvb *b = dvb_new(DVB_EXPLICIT_LE, 1);
    dvb_str(b, DV_TAG_SOP_CLASS_UID, "UI", "1.2.840.10008.5.1.4.1.1.7");
    dvb_str(b, DV_TAG_SOP_INSTANCE_UID, "UI", "1.2.3.4");
    dvb_u16(b, DV_TAG_SAMPLES_PER_PIXEL, 1);
    dvb_str(b, DV_TAG_PHOTOMETRIC_INTERPRETATION, "CS", photo);
    if (frames)
        dvb_str(b, DV_TAG_NUMBER_OF_FRAMES, "IS", frames);
    dvb_u16(b, DV_TAG_ROWS, rows);
    dvb_u16(b, DV_TAG_COLUMNS, cols);
    dvb_u16(b, DV_TAG_BITS_ALLOCATED, ba);
    dvb_u16(b, DV_TAG_BITS_STORED, bs);
    dvb_u16(b, DV_TAG_HIGH_BIT, (uint16_t)(bs - 1));
    dvb_u16(b, DV_TAG_PIXEL_REPRESENTATION, pr);
    uint8_t *px = calloc(1, pixel_bytes ? pixel_bytes : 1);
    for (uint32_t i = 0; i < pixel_bytes; i++)
        px[i] = (uint8_t)(i * 37 + 11);
    dvb_bytes(b, DV_TAG_PIXEL_DATA, "OW", px, pixel_bytes);
    free(px);
    size_t len = 0;
    uint8_t *data = dvb_finish(b, &len);
    return hold(data, len);
}

static void test_attrs_from_instance(void **state)
{
    (void)state;
    /* 4x3, 16-bit, 12 stored, signed, 2 frames: 48 bytes */
    held_inst *h = build_image(4, 3, 16, 12, 1, "2", "MONOCHROME2", 48);
    dv_instance *inst = h->inst;
    dv_pixel_attrs pa;
    dv_error err = {0};
    assert_int_equal(dv_pixel_attrs_read(inst, NULL, &pa, &err), 0);
    assert_int_equal(pa.rows, 4);
    assert_int_equal(pa.columns, 3);
    assert_int_equal(pa.number_of_frames, 2);
    assert_int_equal(pa.native_frame_bytes, 24);
    assert_int_equal(pa.photometric, DV_PHOTO_MONOCHROME2);
    /* decode frame 1 and check masking + sign extension against the bytes written by build_image */
    uint8_t *fb = NULL;
    size_t fl = 0;
    assert_int_equal(dv_test_frame_bytes(inst, 1, 2, &fb, &fl, &err), 0);
    dv_frame f;
    assert_int_equal(decode(TS_EXPLICIT_LE, &pa, 1, fb, fl, &f), DV_OK);
    const int16_t *v = f.data;
    for (int i = 0; i < 12; i++) {
        uint32_t k = 24 + 2 * (uint32_t)i;
        uint16_t raw = (uint16_t)((uint8_t)(k * 37 + 11) | (uint8_t)((k + 1) * 37 + 11) << 8);
        int32_t want = raw & 0x0FFF;
        if (want & 0x800)
            want -= 0x1000;
        assert_int_equal(v[i], want);
    }
    free(f.data);
    free(fb);
    release(h);
}

static void expect_attr_error(held_inst *h, dv_code code)
{
    dv_pixel_attrs pa;
    dv_error err = {0};
    assert_int_equal(dv_pixel_attrs_read(h->inst, NULL, &pa, &err), -1);
    assert_int_equal(err.code, code);
    release(h);
}

/* A header that lies is an error before any allocation: short pixel data, absurd frame counts, sizes that
 * do not fit the limits (issue 11 item 1). */
static void test_attrs_lying_headers(void **state)
{
    (void)state;
    expect_attr_error(build_image(4, 3, 16, 12, 0, "3", "MONOCHROME2", 48), DV_ERR_MALFORMED); /* 3 frames, 2 there */
    expect_attr_error(build_image(4, 3, 16, 12, 0, "4000000000", "MONOCHROME2", 48), DV_ERR_LIMIT);
    expect_attr_error(build_image(4, 3, 16, 12, 0, "99999999999", "MONOCHROME2", 48), DV_ERR_LIMIT);
    expect_attr_error(build_image(4, 3, 16, 12, 0, "1A", "MONOCHROME2", 48), DV_ERR_MALFORMED);
    expect_attr_error(build_image(4, 3, 16, 12, 0, "0", "MONOCHROME2", 48), DV_ERR_MALFORMED);
    expect_attr_error(build_image(4, 3, 8, 12, 0, NULL, "MONOCHROME2", 48), DV_ERR_MALFORMED); /* BS > BA */
    expect_attr_error(build_image(0, 3, 16, 12, 0, NULL, "MONOCHROME2", 48), DV_ERR_MALFORMED);
    expect_attr_error(build_image(4, 3, 12, 12, 0, NULL, "MONOCHROME2", 48), DV_ERR_UNSUPPORTED); /* BA 12 */
    expect_attr_error(build_image(4, 3, 16, 12, 0, NULL, "RGB", 48), DV_ERR_MALFORMED); /* RGB with 1 sample */
    expect_attr_error(build_image(4, 3, 16, 12, 0, NULL, "HSV", 48), DV_ERR_UNSUPPORTED);
    /* 65535 x 65535 x 32 bits = 16 GiB per frame: a limit, never a malloc */
    expect_attr_error(build_image(65535, 65535, 32, 32, 0, NULL, "MONOCHROME2", 48), DV_ERR_LIMIT);

    dv_pixel_attrs pa;
    memset(&pa, 0, sizeof pa);
    pa.rows = 65535;
    pa.columns = 65535;
    pa.samples_per_pixel = 3;
    pa.bits_allocated = 32;
    pa.bits_stored = 32;
    pa.high_bit = 31;
    pa.photometric = DV_PHOTO_RGB;
    pa.number_of_frames = 1;
    dv_error err = {0};
    assert_int_equal(dv_pixel_attrs_validate(&pa, NULL, &err), -1);
    assert_int_equal(err.code, DV_ERR_LIMIT);
    pa = attrs(2, 2, 1, 1, 1, 0, DV_PHOTO_MONOCHROME2, 0, 1);
    pa.pixel_representation = 1; /* signed 1-bit data (fuzz regression image_decode/native-1bit-signed) */
    assert_int_equal(dv_pixel_attrs_validate(&pa, NULL, &err), -1);
    assert_int_equal(err.code, DV_ERR_MALFORMED);
    dv_image_limits lim;
    dv_image_limits_default(&lim);
    lim.max_frames = 10;
    pa = attrs(2, 2, 1, 8, 8, 0, DV_PHOTO_MONOCHROME2, 0, 1);
    pa.number_of_frames = 11;
    assert_int_equal(dv_pixel_attrs_validate(&pa, &lim, &err), -1);
    assert_int_equal(err.code, DV_ERR_LIMIT);
}

/* PALETTE COLOR: the tables are read as stored; descriptors that disagree or data shorter than the
 * descriptor says are malformed, never a read past the value. */
static held_inst *build_palette(uint16_t entries_g, uint32_t data_bytes_b, uint16_t bits_g)
{
    dvb *b = dvb_new(DVB_EXPLICIT_LE, 1);
    dvb_str(b, DV_TAG_SOP_CLASS_UID, "UI", "1.2.840.10008.5.1.4.1.1.7");
    dvb_str(b, DV_TAG_SOP_INSTANCE_UID, "UI", "1.2.3.5");
    dvb_u16(b, DV_TAG_SAMPLES_PER_PIXEL, 1);
    dvb_str(b, DV_TAG_PHOTOMETRIC_INTERPRETATION, "CS", "PALETTE COLOR");
    dvb_u16(b, DV_TAG_ROWS, 2);
    dvb_u16(b, DV_TAG_COLUMNS, 2);
    dvb_u16(b, DV_TAG_BITS_ALLOCATED, 8);
    dvb_u16(b, DV_TAG_BITS_STORED, 8);
    dvb_u16(b, DV_TAG_HIGH_BIT, 7);
    dvb_u16(b, DV_TAG_PIXEL_REPRESENTATION, 0);
    const uint16_t desc[3][3] = {{4, 0, 16}, {entries_g, 0, bits_g}, {4, 0, 16}};
    const uint32_t dtags[3] = {DV_TAG_RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
                               DV_TAG_GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
                               DV_TAG_BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR};
    for (int c = 0; c < 3; c++)
        dvb_bytes(b, dtags[c], "US", desc[c], 6); /* host LE = the file's LE */
    const uint16_t lut[4] = {0x0000, 0x1111, 0x2222, 0xFFFF};
    dvb_bytes(b, DV_TAG_RED_PALETTE_COLOR_LOOKUP_TABLE_DATA, "OW", lut, 8);
    dvb_bytes(b, DV_TAG_GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA, "OW", lut, 8);
    dvb_bytes(b, DV_TAG_BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA, "OW", lut, data_bytes_b);
    const uint8_t px[4] = {0, 1, 2, 3};
    dvb_bytes(b, DV_TAG_PIXEL_DATA, "OB", px, 4);
    size_t len = 0;
    uint8_t *data = dvb_finish(b, &len);
    return hold(data, len);
}

static void test_palette_tables(void **state)
{
    (void)state;
    dv_palette pal;
    dv_error err = {0};
    held_inst *h = build_palette(4, 8, 16);
    assert_int_equal(dv_palette_read(h->inst, &pal, &err), 0);
    assert_int_equal(pal.entries, 4);
    assert_int_equal(pal.bits, 16);
    assert_int_equal(pal.lut[1], 0x1111);     /* red[1] */
    assert_int_equal(pal.lut[4 + 3], 0xFFFF); /* green[3] */
    dv_palette_free(&pal);
    release(h);
    h = build_palette(5, 8, 16); /* green descriptor says 5 entries */
    assert_int_equal(dv_palette_read(h->inst, &pal, &err), -1);
    assert_int_equal(err.code, DV_ERR_MALFORMED);
    assert_null(pal.lut);
    release(h);
    h = build_palette(4, 6, 16); /* blue data holds 3 of 4 entries */
    assert_int_equal(dv_palette_read(h->inst, &pal, &err), -1);
    assert_int_equal(err.code, DV_ERR_MALFORMED);
    assert_null(pal.lut);
    release(h);
    /* green says 12 bits per entry, after red's table was allocated: freed, not leaked (stop 40's red team: every
     * WADO-RS rendered request of such a file leaked 393 KB) */
    h = build_palette(4, 8, 12);
    assert_int_equal(dv_palette_read(h->inst, &pal, &err), -1);
    assert_int_equal(err.code, DV_ERR_MALFORMED);
    assert_null(pal.lut);
    release(h);
}

/* ---------- native ---------- */

static void test_native_bits_allocated_1_across_frames(void **state)
{
    (void)state;
    /* 3x3 frames of 9 bits each: frame 1 starts at bit 9 (byte 1, bit 1), LSB first (PS3.5 8.1.1) */
    dv_pixel_attrs pa = attrs(3, 3, 1, 1, 1, 0, DV_PHOTO_MONOCHROME2, 0, 2);
    uint8_t data[3] = {0xFF, 0x5A, 0x03}; /* bits 9..17 */
    dv_frame f;
    assert_int_equal(decode(TS_EXPLICIT_LE, &pa, 1, data, sizeof data, &f), DV_OK);
    const uint8_t *v = f.data;
    for (int i = 0; i < 9; i++) {
        uint32_t bit = 9 + (uint32_t)i;
        assert_int_equal(v[i], (data[bit / 8] >> (bit % 8)) & 1);
    }
    free(f.data);
    /* 2 bytes cannot hold 18 bits */
    assert_int_equal(decode(TS_EXPLICIT_LE, &pa, 1, data, 2, &f), DV_ERR_MALFORMED);
    free(f.data);
}

static void test_native_planar_and_big_endian(void **state)
{
    (void)state;
    /* RGB 2x2 8-bit planar: RRRR GGGG BBBB -> interleaved */
    dv_pixel_attrs pa = attrs(2, 2, 3, 8, 8, 0, DV_PHOTO_RGB, 1, 1);
    uint8_t planar[12] = {1, 2, 3, 4, 11, 12, 13, 14, 21, 22, 23, 24};
    dv_frame f;
    assert_int_equal(decode(TS_EXPLICIT_LE, &pa, 0, planar, sizeof planar, &f), DV_OK);
    const uint8_t want[12] = {1, 11, 21, 2, 12, 22, 3, 13, 23, 4, 14, 24};
    assert_memory_equal(f.data, want, 12);
    assert_int_equal(f.photometric, DV_PHOTO_RGB);
    free(f.data);
    /* 32-bit big endian, signed with 20 bits stored */
    pa = attrs(1, 2, 1, 32, 20, 1, DV_PHOTO_MONOCHROME2, 0, 1);
    pa.big_endian = 1;
    uint8_t be[8] = {0x00, 0x08, 0x00, 0x01, 0xFF, 0x07, 0xFF, 0xFF};
    assert_int_equal(decode("1.2.840.10008.1.2.2", &pa, 0, be, sizeof be, &f), DV_OK);
    const int32_t *v = f.data;
    assert_int_equal(v[0], -524287); /* 0x80001 in 20 bits, sign-extended */
    assert_int_equal(v[1], 0x7FFFF); /* high garbage bits masked */
    free(f.data);
}

static void test_native_ybr_full_422(void **state)
{
    (void)state;
    dv_pixel_attrs pa = attrs(1, 4, 3, 8, 8, 0, DV_PHOTO_YBR_FULL_422, 0, 1);
    assert_int_equal(pa.native_frame_bytes, 8); /* 4 pixels x 2 bytes */
    uint8_t d[8] = {10, 20, 100, 200, 30, 40, 101, 201};
    dv_frame f;
    assert_int_equal(decode(TS_EXPLICIT_LE, &pa, 0, d, sizeof d, &f), DV_OK);
    const uint8_t want[12] = {10, 100, 200, 20, 100, 200, 30, 101, 201, 40, 101, 201};
    assert_memory_equal(f.data, want, 12);
    assert_int_equal(f.photometric, DV_PHOTO_YBR_FULL);
    free(f.data);
}

/* ---------- RLE ---------- */

static void put32(uint8_t *p, uint32_t v)
{
    for (int k = 0; k < 4; k++)
        p[k] = (uint8_t)(v >> (8 * k));
}

static void test_rle_hostile_headers(void **state)
{
    (void)state;
    dv_pixel_attrs pa = attrs(2, 2, 1, 16, 16, 0, DV_PHOTO_MONOCHROME2, 0, 1);
    uint8_t fr[80];
    memset(fr, 0, sizeof fr);
    /* valid: 2 segments of "3 repeats + 1 literal" ... build: seg0 at 64: 0xFD 0x01 (repeat 4x 0x01),
     * seg1 at 66: 0x03 a b c d (literal 4) */
    put32(fr, 2);
    put32(fr + 4, 64);
    put32(fr + 8, 66);
    fr[64] = 0xFD;
    fr[65] = 0x01;
    fr[66] = 0x03;
    fr[67] = 0x10;
    fr[68] = 0x20;
    fr[69] = 0x30;
    fr[70] = 0x40;
    dv_frame f;
    assert_int_equal(decode(TS_RLE, &pa, 0, fr, 71, &f), DV_OK); /* odd total length is fine */
    const uint16_t *v = f.data;
    assert_int_equal(v[0], 0x0110);
    assert_int_equal(v[3], 0x0140);
    free(f.data);

    uint8_t bad[80];
    memcpy(bad, fr, sizeof bad);
    put32(bad, 3); /* segment count does not match 1 sample x 2 bytes */
    assert_int_equal(decode(TS_RLE, &pa, 0, bad, 71, &f), DV_ERR_MALFORMED);
    free(f.data);
    put32(bad, 16); /* more than 15 */
    assert_int_equal(decode(TS_RLE, &pa, 0, bad, 71, &f), DV_ERR_MALFORMED);
    free(f.data);
    memcpy(bad, fr, sizeof bad);
    put32(bad + 4, 12); /* offset inside the header */
    assert_int_equal(decode(TS_RLE, &pa, 0, bad, 71, &f), DV_ERR_MALFORMED);
    free(f.data);
    memcpy(bad, fr, sizeof bad);
    put32(bad + 4, 68); /* offsets out of order */
    assert_int_equal(decode(TS_RLE, &pa, 0, bad, 71, &f), DV_ERR_MALFORMED);
    free(f.data);
    memcpy(bad, fr, sizeof bad);
    put32(bad + 8, 0xFFFFFFF0u); /* beyond the frame */
    assert_int_equal(decode(TS_RLE, &pa, 0, bad, 71, &f), DV_ERR_MALFORMED);
    free(f.data);
    assert_int_equal(decode(TS_RLE, &pa, 0, fr, 69, &f), DV_ERR_MALFORMED); /* last segment short */
    free(f.data);
    assert_int_equal(decode(TS_RLE, &pa, 0, fr, 40, &f), DV_ERR_MALFORMED); /* no header */
    free(f.data);
}

static void test_rle_round_trip(void **state)
{
    (void)state;
    /* 3 samples x 16 bits x 37 x 300 (rows longer than 128: literal and replicate runs split) */
    dv_pixel_attrs pa = attrs(37, 300, 3, 16, 16, 0, DV_PHOTO_RGB, 0, 1);
    size_t n = 37 * 300 * 3;
    uint16_t *px = malloc(n * 2);
    uint32_t s = 12345;
    for (size_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        px[i] = (i / 3) % 300 < 150 ? (uint16_t)(s >> 16) : (uint16_t)(0x1200 + (i / 900)); /* noise, then runs */
    }
    dv_frame in = {.data = px, .cap = n * 2, .width = 300, .height = 37, .samples = 3, .sample_bytes = 2,
                   .bits_stored = 16};
    dv_image_ctx *ctx = dv_image_ctx_new(NULL);
    uint8_t *enc = NULL;
    size_t elen = 0;
    dv_error err = {0};
    assert_int_equal(dv_image_encode_rle(ctx, &pa, &in, &enc, &elen, &err), 0);
    assert_int_equal(elen % 2, 0);
    assert_int_equal(enc[0], 6); /* 3 samples x 2 bytes */
    assert_int_equal(dv_image_ctx_encode_calls(ctx), 1);
    dv_frame f;
    assert_int_equal(decode(TS_RLE, &pa, 0, enc, elen, &f), DV_OK);
    assert_memory_equal(f.data, px, n * 2);
    free(f.data);
    free(enc);
    free(px);
    dv_image_ctx_free(ctx);
}

/* Lossless JPEG-LS encode (CharLS): signed 12-bit data round-trips exactly (coded as stored bit patterns,
 * sign-extended again on decode); 32-bit containers are refused. */
static void test_jpegls_encode_round_trip(void **state)
{
    (void)state;
    dv_pixel_attrs pa = attrs(17, 31, 1, 16, 12, 1, DV_PHOTO_MONOCHROME2, 0, 1);
    int16_t px[17 * 31];
    for (int i = 0; i < 17 * 31; i++)
        px[i] = (int16_t)((i * 73) % 4096 - 2048);
    dv_frame in = {.data = px, .cap = sizeof px, .width = 31, .height = 17, .samples = 1, .sample_bytes = 2,
                   .bits_stored = 12, .is_signed = 1};
    dv_image_ctx *ctx = dv_image_ctx_new(NULL);
    uint8_t *enc = NULL;
    size_t n = 0;
    dv_error err = {0};
    assert_int_equal(dv_image_encode_jpegls(ctx, &pa, &in, &enc, &n, &err), 0);
    assert_int_equal(n % 2, 0);
    assert_int_equal(dv_image_ctx_encode_calls(ctx), 1);
    dv_frame f;
    assert_int_equal(decode("1.2.840.10008.1.2.4.80", &pa, 0, enc, n, &f), DV_OK);
    assert_memory_equal(f.data, px, sizeof px);
    free(f.data);
    free(enc);
    /* a 16-bit container holding 4 stored bits: CharLS wants bytes (fuzz regression
     * image_decode/jls-encode-16bit-container-4bits) */
    dv_pixel_attrs p4 = attrs(1, 2, 3, 16, 4, 0, DV_PHOTO_RGB, 0, 1);
    uint16_t rgb4[6] = {1, 2, 3, 4, 5, 15};
    dv_frame in4 = {.data = rgb4, .cap = sizeof rgb4, .width = 2, .height = 1, .samples = 3, .sample_bytes = 2,
                    .bits_stored = 4};
    assert_int_equal(dv_image_encode_jpegls(ctx, &p4, &in4, &enc, &n, &err), 0);
    assert_int_equal(decode("1.2.840.10008.1.2.4.80", &p4, 0, enc, n, &f), DV_OK);
    assert_memory_equal(f.data, rgb4, sizeof rgb4);
    free(f.data);
    free(enc);
    dv_pixel_attrs p32 = attrs(2, 2, 1, 32, 32, 0, DV_PHOTO_MONOCHROME2, 0, 1);
    uint32_t w32[4] = {0};
    dv_frame in32 = {.data = w32, .cap = sizeof w32, .width = 2, .height = 2, .samples = 1, .sample_bytes = 4,
                     .bits_stored = 32};
    assert_int_equal(dv_image_encode_jpegls(ctx, &p32, &in32, &enc, &n, &err), -1);
    assert_null(enc);
    dv_image_ctx_free(ctx);
}

/* Lossless JPEG 2000 encode (OpenJPEG, reversible 5/3): decode(encode(pixels)) == pixels for every bit depth
 * and photometric the corpus has — 8-bit and 12-of-16-bit unsigned, signed 16 and 12-of-16 bit, 8-bit RGB
 * (no MCT) and YBR_RCT (MCT on: our decoder hands back RGB), PALETTE COLOR indices, 1-pixel frames —,
 * even-length output, the encode counter, a raw codestream (SOC first), the output cap and 32-bit refusal. */
static void test_j2k_encode_round_trip(void **state)
{
    (void)state;
    static const struct {
        uint32_t rows, cols, spp, ba, bs, pr;
        dv_photometric photo;
    } cases[] = {
        {37, 53, 1, 8, 8, 0, DV_PHOTO_MONOCHROME2},   {64, 64, 1, 16, 12, 0, DV_PHOTO_MONOCHROME2},
        {33, 20, 1, 16, 16, 1, DV_PHOTO_MONOCHROME2}, {17, 31, 1, 16, 12, 1, DV_PHOTO_MONOCHROME1},
        {25, 40, 3, 8, 8, 0, DV_PHOTO_RGB},           {25, 40, 3, 8, 8, 0, DV_PHOTO_YBR_RCT},
        {19, 23, 1, 8, 8, 0, DV_PHOTO_PALETTE_COLOR}, {1, 1, 1, 16, 16, 0, DV_PHOTO_MONOCHROME2},
        {1, 300, 3, 8, 8, 0, DV_PHOTO_RGB},           {40, 30, 1, 8, 5, 0, DV_PHOTO_MONOCHROME2},
    };
    dv_image_ctx *ctx = dv_image_ctx_new(NULL);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        dv_pixel_attrs pa = attrs(cases[k].rows, cases[k].cols, cases[k].spp, cases[k].ba, cases[k].bs,
                                  cases[k].pr, cases[k].photo, 0, 1);
        uint32_t sb = cases[k].ba / 8, n = cases[k].rows * cases[k].cols * cases[k].spp, bs = cases[k].bs;
        uint8_t *px = malloc((size_t)n * sb);
        assert_non_null(px);
        uint32_t seed = 12345u + (uint32_t)k;
        for (uint32_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            /* a gradient with noise: both the smooth and the random paths of the coder */
            uint32_t v = ((i * 7u) + ((seed >> 16) & 0xFFu)) & ((1u << bs) - 1u);
            if (cases[k].pr && (v & (1u << (bs - 1))))
                v |= ~((1u << bs) - 1u); /* sign-extended, as decoded frames are */
            if (sb == 1)
                px[i] = (uint8_t)v;
            else
                ((uint16_t *)(void *)px)[i] = (uint16_t)v;
        }
        dv_photometric decoded = cases[k].photo == DV_PHOTO_YBR_RCT ? DV_PHOTO_RGB : cases[k].photo;
        dv_frame in = {.data = px, .cap = (size_t)n * sb, .width = cases[k].cols, .height = cases[k].rows,
                       .samples = cases[k].spp, .sample_bytes = sb, .bits_stored = bs, .is_signed = (int)cases[k].pr,
                       .photometric = decoded};
        uint8_t *enc = NULL;
        size_t len = 0;
        dv_error err = {0};
        assert_int_equal(dv_image_encode_j2k(ctx, &pa, &in, &enc, &len, &err), 0);
        assert_int_equal(len % 2, 0);
        assert_true(len > 4 && enc[0] == 0xFF && enc[1] == 0x4F && enc[2] == 0xFF && enc[3] == 0x51);
        dv_frame f;
        assert_int_equal(decode("1.2.840.10008.1.2.4.90", &pa, 0, enc, len, &f), DV_OK);
        assert_int_equal(f.photometric, decoded);
        assert_memory_equal(f.data, px, (size_t)n * sb);
        free(f.data);
        free(enc);
        free(px);
    }
    assert_int_equal(dv_image_ctx_encode_calls(ctx), sizeof cases / sizeof cases[0]);
    dv_image_ctx_free(ctx);

    /* the output cap: a noisy frame does not fit in 1 KiB -> limit, nothing returned */
    dv_image_limits lim;
    dv_image_limits_default(&lim);
    lim.max_encoded_bytes = 1024;
    ctx = dv_image_ctx_new(&lim);
    dv_pixel_attrs pn = attrs(64, 64, 1, 16, 16, 0, DV_PHOTO_MONOCHROME2, 0, 1);
    uint16_t noise[64 * 64];
    uint32_t seed = 7;
    for (int i = 0; i < 64 * 64; i++) {
        seed = seed * 1103515245u + 12345u;
        noise[i] = (uint16_t)(seed >> 8);
    }
    dv_frame fn = {.data = noise, .cap = sizeof noise, .width = 64, .height = 64, .samples = 1, .sample_bytes = 2,
                   .bits_stored = 16, .photometric = DV_PHOTO_MONOCHROME2};
    uint8_t *enc = NULL;
    size_t len = 0;
    dv_error err = {0};
    assert_int_equal(dv_image_encode_j2k(ctx, &pn, &fn, &enc, &len, &err), -1);
    assert_int_equal(err.code, DV_ERR_LIMIT);
    assert_null(enc);
    /* 32-bit containers are refused */
    dv_pixel_attrs p32 = attrs(2, 2, 1, 32, 32, 0, DV_PHOTO_MONOCHROME2, 0, 1);
    uint32_t w32[4] = {0};
    dv_frame in32 = {.data = w32, .cap = sizeof w32, .width = 2, .height = 2, .samples = 1, .sample_bytes = 4,
                     .bits_stored = 32};
    assert_int_equal(dv_image_encode_j2k(ctx, &p32, &in32, &enc, &len, &err), -1);
    assert_null(enc);
    dv_image_ctx_free(ctx);
}

/* ---------- JPEG lossless: a small test encoder (Huffman table of 5-bit codes for categories 0-16) ---------- */

typedef struct bw {
    uint8_t *p;
    size_t n;
    uint32_t acc;
    int nb;
} bw;

static void bw_byte(bw *w, uint8_t v)
{
    w->p[w->n++] = v;
}

static void bw_bits(bw *w, uint32_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        w->acc = w->acc << 1 | ((v >> i) & 1u);
        if (++w->nb == 8) {
            bw_byte(w, (uint8_t)w->acc);
            if ((uint8_t)w->acc == 0xFF)
                bw_byte(w, 0x00);
            w->acc = 0;
            w->nb = 0;
        }
    }
}

static void bw_flush(bw *w)
{
    while (w->nb)
        bw_bits(w, 1, 1);
}

/* Encode ncomp planes of a 16-bit (precision p) image, one scan per component (ncomp 1: the usual single
 * scan), with predictor psv, point transform 0, and a restart interval ri (0 = none) in samples. Returns the
 * length. The prediction follows T.81 H.1.2.1. */
static size_t jpll_encode_planes(const uint16_t *const *planes, int ncomp, uint32_t w, uint32_t h, int p, int psv,
                                 uint32_t ri, uint8_t *out)
{
    bw o = {out, 0, 0, 0};
    const uint8_t sof[] = {0xFF, 0xD8, 0xFF, 0xC3, 0, (uint8_t)(8 + 3 * ncomp), (uint8_t)p, (uint8_t)(h >> 8),
                           (uint8_t)h, (uint8_t)(w >> 8), (uint8_t)w, (uint8_t)ncomp};
    memcpy(out, sof, sizeof sof);
    o.n = sizeof sof;
    for (int c = 0; c < ncomp; c++) {
        bw_byte(&o, (uint8_t)(c + 1));
        bw_byte(&o, 0x11);
        bw_byte(&o, 0);
    }
    const uint8_t dht[] = {0xFF, 0xC4, 0, 3 + 16 + 17, 0x00, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    memcpy(out + o.n, dht, sizeof dht);
    o.n += sizeof dht;
    for (int i = 0; i <= 16; i++)
        bw_byte(&o, (uint8_t)i);
    if (ri) {
        const uint8_t dri[] = {0xFF, 0xDD, 0, 4, (uint8_t)(ri >> 8), (uint8_t)ri};
        memcpy(out + o.n, dri, sizeof dri);
        o.n += sizeof dri;
    }
    for (int c = 0; c < ncomp; c++) {
        const uint16_t *img = planes[c];
        const uint8_t sos[] = {0xFF, 0xDA, 0, 8, 1, (uint8_t)(c + 1), 0x00, (uint8_t)psv, 0, 0};
        memcpy(out + o.n, sos, sizeof sos);
        o.n += sizeof sos;
        uint32_t todo = ri, rst = 0, reset_x = 0;
        int first_line = 1;
        for (uint32_t y = 0; y < h; y++) {
            for (uint32_t x = 0; x < w; x++) {
                if (ri) {
                    if (todo == 0) {
                        bw_flush(&o);
                        bw_byte(&o, 0xFF);
                        bw_byte(&o, (uint8_t)(0xD0 + (rst++ & 7)));
                        todo = ri;
                        first_line = 1;
                        reset_x = x;
                    }
                    todo--;
                }
                int32_t pred;
                if (first_line)
                    pred = x == reset_x ? 1 << (p - 1) : img[y * w + x - 1];
                else if (x == 0)
                    pred = img[(y - 1) * w];
                else {
                    int32_t ra = img[y * w + x - 1], rb = img[(y - 1) * w + x], rc = img[(y - 1) * w + x - 1];
                    switch (psv) {
                    case 1: pred = ra; break;
                    case 2: pred = rb; break;
                    case 3: pred = rc; break;
                    case 4: pred = ra + rb - rc; break;
                    case 5: pred = ra + ((rb - rc) >> 1); break;
                    case 6: pred = rb + ((ra - rc) >> 1); break;
                    default: pred = (ra + rb) >> 1; break;
                    }
                }
                int32_t d = (int32_t)(int16_t)(uint16_t)(img[y * w + x] - pred); /* modulo 2^16 */
                uint32_t a = (uint32_t)(d < 0 ? -d : d);
                int s = 0;
                while (a >> s)
                    s++;
                if (d == -32768) {
                    bw_bits(&o, 16, 5);
                    continue;
                }
                bw_bits(&o, (uint32_t)s, 5);
                if (s)
                    bw_bits(&o, (uint32_t)(d < 0 ? d - 1 : d) & ((1u << s) - 1u), s);
            }
            first_line = 0;
            reset_x = 0;
        }
        bw_flush(&o);
    }
    bw_byte(&o, 0xFF);
    bw_byte(&o, 0xD9);
    return o.n;
}

static size_t jpll_encode(const uint16_t *img, uint32_t w, uint32_t h, int p, int psv, uint32_t ri, uint8_t *out)
{
    return jpll_encode_planes(&img, 1, w, h, p, psv, ri, out);
}

static void test_jpeg_lossless_predictors_and_restarts(void **state)
{
    (void)state;
    const uint32_t w = 23, h = 9;
    uint16_t img[23 * 9];
    uint32_t s = 99;
    for (uint32_t i = 0; i < w * h; i++) {
        s = s * 1103515245u + 12345u;
        img[i] = (uint16_t)(i % 5 == 0 ? (s >> 16) & 0x0FFF : 100 + i);
    }
    dv_pixel_attrs pa = attrs(h, w, 1, 16, 12, 0, DV_PHOTO_MONOCHROME2, 0, 1);
    uint8_t *buf = malloc(64 * 1024);
    const uint32_t intervals[] = {0, w, 2 * w, 7}; /* none, per row, every 2 rows, mid-row */
    for (int psv = 1; psv <= 7; psv++)
        for (size_t k = 0; k < sizeof intervals / sizeof intervals[0]; k++) {
            size_t n = jpll_encode(img, w, h, 12, psv, intervals[k], buf);
            dv_frame f;
            assert_int_equal(decode(TS_JPEG_LOSSLESS, &pa, 0, buf, n, &f), DV_OK);
            if (memcmp(f.data, img, sizeof img) != 0)
                fail_msg("predictor %d restart interval %u decodes differently", psv, intervals[k]);
            free(f.data);
        }
    /* hostile: truncated entropy data, a missing restart marker, an over-subscribed table, wrong size */
    size_t n = jpll_encode(img, w, h, 12, 1, w, buf);
    dv_frame f;
    assert_int_equal(decode(TS_JPEG_LOSSLESS, &pa, 0, buf, n / 2, &f), DV_ERR_MALFORMED);
    free(f.data);
    uint8_t *cut = malloc(n);
    memcpy(cut, buf, n);
    for (size_t i = 40; i + 1 < n; i++)
        if (cut[i] == 0xFF && cut[i + 1] >= 0xD0 && cut[i + 1] <= 0xD7) {
            cut[i + 1] = 0xFE; /* RST0 becomes COM-like garbage: the restart is missing */
            break;
        }
    assert_int_equal(decode(TS_JPEG_LOSSLESS, &pa, 0, cut, n, &f), DV_ERR_MALFORMED);
    free(f.data);
    memcpy(cut, buf, n);
    cut[20] = 3;  /* DHT counts[0]: 3 codes of length 1 (over-subscribed) ... */
    cut[24] = 14; /* ... counts[4]: still 17 values in all */
    {
        dv_image_ctx *ctx = dv_image_ctx_new(NULL);
        uint16_t outbuf[23 * 9];
        dv_frame g = {.data = outbuf, .cap = sizeof outbuf};
        dv_error err = {0};
        assert_int_equal(dv_image_decode_frame(ctx, TS_JPEG_LOSSLESS, &pa, 0, cut, n, &g, &err), -1);
        assert_int_equal(err.code, DV_ERR_MALFORMED);
        assert_non_null(strstr(err.message, "over-subscribed"));
        dv_image_ctx_free(ctx);
    }
    dv_pixel_attrs other = attrs(h + 1, w, 1, 16, 12, 0, DV_PHOTO_MONOCHROME2, 0, 1);
    assert_int_equal(decode(TS_JPEG_LOSSLESS, &other, 0, buf, n, &f), DV_ERR_MALFORMED);
    free(f.data);
    free(cut);

    /* three components, one scan each (non-interleaved), with restarts: interleaved into RGB samples */
    uint16_t planes[3][23 * 9];
    for (int c = 0; c < 3; c++)
        for (uint32_t i = 0; i < w * h; i++)
            planes[c][i] = (uint16_t)((img[i] + 97u * (uint32_t)c) & 0x0FFF);
    const uint16_t *pp[3] = {planes[0], planes[1], planes[2]};
    n = jpll_encode_planes(pp, 3, w, h, 12, 4, w, buf);
    dv_pixel_attrs rgb = attrs(h, w, 3, 16, 12, 0, DV_PHOTO_RGB, 0, 1);
    assert_int_equal(decode(TS_JPEG_LOSSLESS, &rgb, 0, buf, n, &f), DV_OK);
    const uint16_t *v = f.data;
    for (uint32_t i = 0; i < w * h; i++)
        for (int c = 0; c < 3; c++)
            if (v[i * 3 + (uint32_t)c] != planes[c][i])
                fail_msg("non-interleaved scan: sample %u of component %d differs", i, c);
    free(f.data);
    /* the same stream without its last scan: not every component was coded */
    size_t last_sos = 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (buf[i] == 0xFF && buf[i + 1] == 0xDA)
            last_sos = i;
    buf[last_sos] = 0xFF;
    buf[last_sos + 1] = 0xD9;
    assert_int_equal(decode(TS_JPEG_LOSSLESS, &rgb, 0, buf, last_sos + 2, &f), DV_ERR_MALFORMED);
    free(f.data);
    free(buf);
}

/* ---------- library wrappers: classes on corpus frames ---------- */

static held_inst *corpus_frame(const char *rel, dv_pixel_attrs *pa, uint8_t **fb, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/dicom/%s", DV_SHARED_DATA, rel);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    size_t n = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *file = malloc(n);
    assert_int_equal(fread(file, 1, n, fp), n);
    fclose(fp);
    held_inst *h = hold(file, n);
    dv_error err = {0};
    assert_int_equal(dv_pixel_attrs_read(h->inst, NULL, pa, &err), 0);
    assert_int_equal(dv_test_frame_bytes(h->inst, 0, pa->number_of_frames, fb, len, &err), 0);
    return h;
}

static void test_library_wrappers_fail_closed(void **state)
{
    (void)state;
    dv_pixel_attrs pa;
    size_t n;
    uint8_t *fb;
    dv_frame f;
    /* JPEG baseline: whole frame decodes; half a frame is malformed (never grey-filled); a header that
     * disagrees with the attributes is malformed */
    held_inst *h = corpus_frame("pydicom/SC_rgb_jpeg_dcmtk.dcm", &pa, &fb, &n);
    const char *ts = dv_instance_transfer_syntax(h->inst);
    assert_int_equal(decode(ts, &pa, 0, fb, n, &f), DV_OK);
    free(f.data);
    assert_int_equal(decode(ts, &pa, 0, fb, n / 2, &f), DV_ERR_MALFORMED);
    free(f.data);
    dv_pixel_attrs wrong = pa;
    wrong.rows = pa.rows + 1;
    assert_int_equal(decode(ts, &wrong, 0, fb, n, &f), DV_ERR_MALFORMED);
    free(f.data);
    free(fb);
    release(h);
    /* 12-bit JPEG Extended: libjpeg-turbo 2.1.5 is 8-bit only -> unsupported, not malformed */
    h = corpus_frame("pydicom/JPGExtended.dcm", &pa, &fb, &n);
    assert_int_equal(decode(dv_instance_transfer_syntax(h->inst), &pa, 0, fb, n, &f), DV_ERR_UNSUPPORTED);
    free(f.data);
    free(fb);
    release(h);
    /* JPEG-LS, JPEG 2000, HTJ2K: truncated and mismatched are malformed */
    const char *files[] = {"pydicom/MR_small_jpeg_ls_lossless.dcm", "pydicom/MR_small_jp2klossless.dcm",
                           "pydicom-data/HTJ2K_08_RGB.dcm"};
    for (size_t i = 0; i < 3; i++) {
        h = corpus_frame(files[i], &pa, &fb, &n);
        ts = dv_instance_transfer_syntax(h->inst);
        assert_int_equal(decode(ts, &pa, 0, fb, n, &f), DV_OK);
        free(f.data);
        assert_int_equal(decode(ts, &pa, 0, fb, n / 3, &f), DV_ERR_MALFORMED);
        free(f.data);
        wrong = pa;
        wrong.columns = pa.columns - 1;
        assert_int_equal(decode(ts, &wrong, 0, fb, n, &f), DV_ERR_MALFORMED);
        free(f.data);
        free(fb);
        release(h);
    }
}

/* ---------- errors spell no field of the file ---------- */

/* Decode d through a fresh context; the call must fail, and its message must hold none of the spellings (the
 * fields' text, read as numbers, in decimal or hex). dv_image.h, "numbers in pixel errors". */
static void refuse_unspelled(const char *ts, const dv_pixel_attrs *pa, const uint8_t *d, size_t n,
                             const char *const *spelled, size_t nspelled)
{
    dv_image_ctx *ctx = dv_image_ctx_new(NULL);
    assert_non_null(ctx);
    dv_error err = {0};
    dv_frame f;
    memset(&f, 0, sizeof f);
    f.cap = dv_image_frame_capacity(pa, dv_ts_family_of(ts), NULL, &err);
    f.data = malloc(f.cap);
    assert_int_equal(dv_image_decode_frame(ctx, ts, pa, 0, d, n, &f, &err), -1);
    assert_true(err.code != DV_OK && err.message[0]);
    for (size_t i = 0; i < nspelled; i++)
        if (strstr(err.message, spelled[i]))
            fail_msg("\"%s\" spells the codestream's bytes: %s", spelled[i], err.message);
    free(f.data);
    dv_image_ctx_free(ctx);
}

static void check_unspelled(const dv_error *err, const char *const *spelled, size_t nspelled)
{
    assert_true(err->code != DV_OK && err->message[0]);
    for (size_t i = 0; i < nspelled; i++)
        if (strstr(err->message, spelled[i]))
            fail_msg("\"%s\" spells the file's bytes: %s", spelled[i], err->message);
}

static void put32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* SOC + SIZ (one component) with the given 32-bit fields; a tail of zeros after it. */
static size_t j2k_siz(uint8_t *b, uint32_t xs, uint32_t ys, uint32_t xo, uint32_t yo, uint32_t xt, uint32_t yt)
{
    memset(b, 0, 96);
    static const uint8_t head[] = {0xFF, 0x4F, 0xFF, 0x51, 0x00, 41, 0x00, 0x00};
    memcpy(b, head, sizeof head);
    put32be(b + 8, xs), put32be(b + 12, ys), put32be(b + 16, xo), put32be(b + 20, yo);
    put32be(b + 24, xt), put32be(b + 28, yt); /* XTOsiz, YTOsiz 0 */
    b[40] = 0, b[41] = 1, b[42] = 7, b[43] = 1, b[44] = 1; /* Csiz 1, Ssiz 8 bits, XRsiz, YRsiz */
    return 96;
}

/* A codestream whose header fields are text (a lying offset table, a misplaced fragment) must fail with a message
 * that names what is wrong and prints none of those fields: 'ZZHP' as a 32-bit number is 1515866192, as two
 * 16-bit ones 23130 and 18512 (the reader's test_errors_spell_no_bytes, for the codecs). */
static void test_errors_spell_no_fields(void **state)
{
    (void)state;
    dv_pixel_attrs pa = attrs(2, 2, 1, 8, 8, 0, DV_PHOTO_MONOCHROME2, 0, 1);
    uint8_t b[160];
    /* JPEG 2000 SIZ: Xsiz 'ZZHP', Ysiz 'IRPR' */
    static const char *const siz[] = {"1515866192", "1230131282", "5A5A4850", "5a5a4850", "49525052"};
    size_t n = j2k_siz(b, 0x5A5A4850u, 0x49525052u, 0, 0, 1, 1);
    refuse_unspelled("1.2.840.10008.1.2.4.90", &pa, b, n, siz, 5);
    /* JPEG 2000 tiles: the image offset 'ZZHP' with a size that fits the attributes, one-pixel tiles */
    dv_pixel_attrs row = attrs(1, 2, 1, 8, 8, 0, DV_PHOTO_MONOCHROME2, 0, 1);
    static const char *const tiles[] = {"1515866194", "5A5A4852", "5a5a4852"};
    n = j2k_siz(b, 0x5A5A4852u, 1, 0x5A5A4850u, 0, 1, 1);
    refuse_unspelled("1.2.840.10008.1.2.4.90", &row, b, n, tiles, 3);
    /* JPEG 16-bit dimensions: Y 'HP', X 'ZZ' in SOF0 (libjpeg), SOF3 (ours) and SOF55 (CharLS) */
    static const char *const dims[] = {"23130", "18512", "5A5A", "5a5a", "4850"};
    static const uint8_t sof0[] = {0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 'H', 'P', 'Z', 'Z', 1, 1, 0x11, 0,
                                   0xFF, 0xDA, 0, 8, 1, 1, 0x00, 0, 63, 0, 0x12, 0x34, 0xFF, 0xD9};
    refuse_unspelled("1.2.840.10008.1.2.4.50", &pa, sof0, sizeof sof0, dims, 5);
    uint8_t sof3[sizeof sof0];
    memcpy(sof3, sof0, sizeof sof0);
    sof3[3] = 0xC3;
    refuse_unspelled(TS_JPEG_LOSSLESS, &pa, sof3, sizeof sof3, dims, 5);
    static const uint8_t sof55[] = {0xFF, 0xD8, 0xFF, 0xF7, 0, 11, 8, 'H', 'P', 'Z', 'Z', 1, 1, 0x11, 0,
                                    0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0, 0, 0x12, 0x34, 0xFF, 0xD9};
    refuse_unspelled("1.2.840.10008.1.2.4.80", &pa, sof55, sizeof sof55, dims, 5);
    /* RLE: a segment count of 'ZZHP', then a first segment offset of 'IRPR' (little endian) */
    static const char *const rle[] = {"1346919002", "50485A5A", "50485a5a", "1380995657", "52505249"};
    memset(b, 0, sizeof b);
    memcpy(b, "ZZHP", 4);
    refuse_unspelled(TS_RLE, &pa, b, 80, rle, 5);
    put32(b, 1);
    memcpy(b + 4, "IRPR", 4);
    refuse_unspelled(TS_RLE, &pa, b, 80, rle, 5);
    /* A library's message: its numbers go, "J2K" keeps its name */
    char lib[] = "Error with SIZ marker: comp=1515866192 dx=0x5a5a4850 size 23130x18512 J2K 7 precision 12 of 255 256";
    dv_scrub_numbers(lib);
    assert_string_equal(lib, "Error with SIZ marker: comp=# dx=0x# size #x# J2K 7 precision 12 of 255 #");
    /* NumberOfFrames past the frame cap, native and encapsulated */
    static const char *const frames[] = {"1515866192", "5A5A4850"};
    held_inst *h = build_image(2, 2, 8, 8, 0, "1515866192", "MONOCHROME2", 4);
    dv_error err = {0};
    dv_pixel_attrs got;
    assert_int_equal(dv_pixel_attrs_read(h->inst, NULL, &got, &err), -1);
    check_unspelled(&err, frames, 2);
    assert_null(dv_frames_index(h->inst, &err));
    check_unspelled(&err, frames, 2);
    release(h);
    dvb *bd = dvb_new(DVB_RLE, 1);
    dvb_str(bd, DV_TAG_SOP_CLASS_UID, "UI", "1.2.840.10008.5.1.4.1.1.7");
    dvb_str(bd, DV_TAG_SOP_INSTANCE_UID, "UI", "1.2.3.4");
    dvb_str(bd, DV_TAG_NUMBER_OF_FRAMES, "IS", "1515866192");
    dvb_pixel_geometry(bd, 2, 2, 8);
    const void *frag[] = {b};
    const uint32_t flen[] = {80};
    dvb_encapsulated(bd, frag, flen, 1);
    size_t blen = 0;
    uint8_t *raw = dvb_finish(bd, &blen); /* blen is set by the call: not in hold's argument list */
    h = hold(raw, blen);
    assert_null(dv_frames_index(h->inst, &err));
    check_unspelled(&err, frames, 2);
    release(h);
}

/* Multi-frame: the same 10 frames stored native, native big endian, RLE and JPEG-LS decode identically,
 * through dv_image_decode_instance_frame (the frame index for encapsulated data). */
static void test_multiframe_same_pixels_every_syntax(void **state)
{
    (void)state;
    const char *files[] = {"pydicom-data/emri_small.dcm", "pydicom-data/emri_small_big_endian.dcm",
                           "pydicom-data/emri_small_RLE.dcm", "pydicom-data/emri_small_jpeg_ls_lossless.dcm"};
    uint8_t *ref[10] = {0};
    for (size_t k = 0; k < 4; k++) {
        dv_pixel_attrs pa;
        size_t n;
        uint8_t *fb0;
        held_inst *h = corpus_frame(files[k], &pa, &fb0, &n);
        dv_instance *inst = h->inst;
        free(fb0);
        assert_int_equal(pa.number_of_frames, 10);
        dv_error err = {0};
        dv_frames *frames = dv_frames_index(inst, &err); /* the frame index; native slices need none */
        assert_non_null(frames);
        dv_image_ctx *ctx = dv_image_ctx_new(NULL);
        size_t cap = dv_image_frame_capacity(&pa, DV_TSF_UNKNOWN, NULL, &err);
        for (uint32_t fr = 0; fr < 10; fr++) {
            dv_frame f = {.data = malloc(cap), .cap = cap};
            assert_int_equal(dv_image_decode_instance_frame(ctx, inst, frames, &pa, fr, &f, &err), 0);
            if (k == 0)
                ref[fr] = f.data;
            else {
                if (memcmp(ref[fr], f.data, dv_frame_bytes(&f)) != 0)
                    fail_msg("%s frame %u differs from the native file", files[k], fr);
                free(f.data);
            }
        }
        assert_int_equal(dv_image_ctx_decode_calls(ctx), 10);
        dv_image_ctx_free(ctx);
        dv_frames_free(frames);
        release(h);
    }
    for (int i = 0; i < 10; i++)
        free(ref[i]);
}

/* ---------- the per-context decoder-call counter ("metadata-only configs decode nothing") ---------- */

static void test_decoder_call_counter(void **state)
{
    (void)state;
    dv_image_ctx *a = dv_image_ctx_new(NULL), *b = dv_image_ctx_new(NULL);
    assert_int_equal(dv_image_ctx_decode_calls(a), 0);
    dv_pixel_attrs pa = attrs(2, 2, 1, 8, 8, 0, DV_PHOTO_MONOCHROME2, 0, 2);
    uint8_t px[8] = {1, 2, 3, 4, 5, 6, 7, 8}, out[4];
    dv_frame f = {.data = out, .cap = sizeof out};
    dv_error err = {0};
    assert_int_equal(dv_image_decode_frame(a, TS_EXPLICIT_LE, &pa, 1, px, sizeof px, &f, &err), 0);
    assert_int_equal(out[0], 5);
    assert_int_equal(dv_image_decode_frame(a, TS_EXPLICIT_LE, &pa, 0, px, 3, &f, &err), -1); /* failures count */
    assert_int_equal(dv_image_ctx_decode_calls(a), 2);
    assert_int_equal(dv_image_ctx_decode_calls(b), 0); /* per context, no globals */
    assert_int_equal(dv_image_ctx_encode_calls(a), 0);
    /* one frame handed over as its own bytes (the frame index's dv_frames_read form): frame 1 = px + 4 */
    out[0] = 0;
    assert_int_equal(dv_image_decode_frame_bytes(a, TS_EXPLICIT_LE, &pa, px + 4, 4, &f, &err), 0);
    assert_int_equal(out[0], 5);
    assert_int_equal(dv_image_ctx_decode_calls(a), 3);
    dv_image_ctx_free(a);
    dv_image_ctx_free(b);
}

static void test_transfer_syntax_families(void **state)
{
    (void)state;
    assert_int_equal(dv_ts_family_of("1.2.840.10008.1.2.1.99"), DV_TSF_NATIVE);
    assert_int_equal(dv_ts_family_of("1.2.840.10008.1.2.4.57"), DV_TSF_JPEG_LOSSLESS);
    assert_int_equal(dv_ts_family_of("1.2.840.10008.1.2.4.203"), DV_TSF_J2K);
    assert_int_equal(dv_ts_family_of("1.2.840.10008.1.2.8.1"), DV_TSF_DEFLATE_FRAME);
    assert_int_equal(dv_ts_family_of("1.2.840.10008.1.2.4.111"), DV_TSF_UNSUPPORTED);
    assert_int_equal(dv_ts_family_of("1.2.3"), DV_TSF_UNKNOWN);
    assert_false(dv_ts_family_encapsulated(DV_TSF_NATIVE));
    assert_true(dv_ts_family_encapsulated(DV_TSF_RLE));
    dv_pixel_attrs pa = attrs(2, 2, 1, 8, 8, 0, DV_PHOTO_MONOCHROME2, 0, 1);
    dv_frame f;
    assert_int_equal(decode("1.2.840.10008.1.2.4.111", &pa, 0, (const uint8_t *)"x", 1, &f), DV_ERR_UNSUPPORTED);
    free(f.data);
}

/* Every fuzz finding of the image targets replays here in the normal build: it must fail cleanly with the
 * class it fails with now (tests/fuzz/regressions/README.md). */
static void test_fuzz_regressions_replay(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        const char *ts; /* NULL: chosen by byte 0 as in fuzz_image_decode */
        dv_code want;
    } regs[] = {
        /* SIZ claiming 2.5 M rows: refused by our SIZ check before OpenJPEG sizes its tiles (was 1.4 s CPU) */
        {"regressions/image_decode/j2k-siz-huge-height", "1.2.840.10008.1.2.4.90", DV_ERR_MALFORMED},
        /* JPEG-LS scans without EOI: CharLS 2.4.1 spent 5-7 s of CPU on each before failing; now refused
         * by our EOI check before CharLS sees them (codec_jpegls.c ends_with_eoi) */
        {"regressions/image_decode/jls-no-eoi-charls-5s", "1.2.840.10008.1.2.4.80", DV_ERR_MALFORMED},
        {"regressions/image_decode/jls-no-eoi-charls-6s", "1.2.840.10008.1.2.4.80", DV_ERR_MALFORMED},
    };
    for (size_t i = 0; i < sizeof regs / sizeof regs[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/tests/fuzz/%s", DV_SOURCE_DIR, regs[i].file);
        FILE *fp = fopen(path, "rb");
        assert_non_null(fp);
        uint8_t buf[65536];
        size_t n = fread(buf, 1, sizeof buf, fp);
        fclose(fp);
        dv_pixel_attrs pa;
        assert_int_equal(fuzz_image_attrs(buf, n, &pa), 0);
        dv_frame f;
        assert_int_equal(decode(regs[i].ts, &pa, 0, buf + FUZZ_IMAGE_PREFIX, n - FUZZ_IMAGE_PREFIX, &f), regs[i].want);
        free(f.data);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attrs_from_instance),
        cmocka_unit_test(test_attrs_lying_headers),
        cmocka_unit_test(test_palette_tables),
        cmocka_unit_test(test_native_bits_allocated_1_across_frames),
        cmocka_unit_test(test_native_planar_and_big_endian),
        cmocka_unit_test(test_native_ybr_full_422),
        cmocka_unit_test(test_rle_hostile_headers),
        cmocka_unit_test(test_rle_round_trip),
        cmocka_unit_test(test_jpegls_encode_round_trip),
        cmocka_unit_test(test_j2k_encode_round_trip),
        cmocka_unit_test(test_jpeg_lossless_predictors_and_restarts),
        cmocka_unit_test(test_library_wrappers_fail_closed),
        cmocka_unit_test(test_multiframe_same_pixels_every_syntax),
        cmocka_unit_test(test_decoder_call_counter),
        cmocka_unit_test(test_transfer_syntax_families),
        cmocka_unit_test(test_fuzz_regressions_replay),
        cmocka_unit_test(test_errors_spell_no_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
