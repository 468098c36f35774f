/* The pixel stage (issue 11 items 2-4): which PixelData is cleaned, decoder calls, redaction only inside the
 * boxes, multi-frame, colour, output attributes, the observer, fail closed. Detection is replaced by a seam
 * that boxes the pixels holding a marker value, so these tests pin the STAGE, whatever the detector finds
 * (the detector has its own tests). */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <charls/charls.h>
#include <zlib.h>

#include "dicomveil/dicomveil.h"
#include "dicomveil/dv_frames.h"
#include "dicom/dv_ds.h"
#include "dicom/dv_vr.h"
#include "dict/dv_tags.h"
#include "dv_build.h"
#include "dv_mem_output.h"
#include "engine/dv_pixel_stage.h"
#include "image/dv_codestream_meta.h"
#include "image/dv_image.h"
#include "image/dv_render.h"
#include "dv_lazy_sonames.h"

#define ALL_TEXT "{\"dicomTagConfig\": {\"profileType\": \"KEEP_ALL_PROFILE\", \"options\": {\"cleanImage\": " \
                 "{\"textRedactionMode\": \"REDACT_ALL_TEXT\"}}}}"
#define METADATA_ONLY "{\"dicomTagConfig\": {\"profileType\": \"ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE\"}}"

static dv_plan *plan(const char *json)
{
    dv_error err;
    dv_plan *p = dv_plan_from_json(json, strlen(json), &err);
    if (!p)
        fprintf(stderr, "plan: %s\n", err.message);
    assert_non_null(p);
    return p;
}

static dv_key *key(void)
{
    uint8_t k[32];
    memset(k, 7, sizeof k);
    dv_error err;
    dv_key *kk = dv_key_new(k, sizeof k, &err);
    assert_non_null(kk);
    return kk;
}

/* ---- instances built in the test ---- */

typedef struct img {
    uint16_t rows, cols, spp, ba, bs, pr, planar;
    uint32_t frames;
    const char *photo;
    dvb_ts ts;
    const uint8_t *px; /* stored PixelData (native) */
    uint32_t len;
    int icon;          /* add an IconImageSequence item with its own PixelData */
} img;

/* frags: encapsulated PixelData, one fragment per frame (m->px unused); NULL: native m->px. */
static uint8_t *build_frags(const img *m, const void *const *frags, const uint32_t *flens, size_t *len)
{
    dvb *b = dvb_new(m->ts, 1);
    dvb_str(b, DV_TAG_SOP_CLASS_UID, "UI", "1.2.840.10008.5.1.4.1.1.7");
    dvb_str(b, DV_TAG_SOP_INSTANCE_UID, "UI", "1.2.3.4.5");
    dvb_str(b, DV_TAG_STUDY_INSTANCE_UID, "UI", "1.2.3.4");
    dvb_str(b, DV_TAG_SERIES_INSTANCE_UID, "UI", "1.2.3.4.1");
    dvb_u16(b, DV_TAG_SAMPLES_PER_PIXEL, m->spp);
    dvb_str(b, DV_TAG_PHOTOMETRIC_INTERPRETATION, "CS", m->photo);
    if (m->spp > 1)
        dvb_u16(b, DV_TAG_PLANAR_CONFIGURATION, m->planar);
    if (m->frames > 1) {
        char f[16];
        snprintf(f, sizeof f, "%u", m->frames);
        dvb_str(b, DV_TAG_NUMBER_OF_FRAMES, "IS", f);
    }
    dvb_u16(b, DV_TAG_ROWS, m->rows);
    dvb_u16(b, DV_TAG_COLUMNS, m->cols);
    dvb_u16(b, DV_TAG_BITS_ALLOCATED, m->ba);
    dvb_u16(b, DV_TAG_BITS_STORED, m->bs);
    dvb_u16(b, DV_TAG_HIGH_BIT, (uint16_t)(m->bs - 1));
    dvb_u16(b, DV_TAG_PIXEL_REPRESENTATION, m->pr);
    if (m->icon) {
        static const uint8_t icon_px[4] = {255, 255, 255, 255};
        dvb_seq_begin(b, 0x00880200u, 0); /* IconImageSequence */
        dvb_item_begin(b, 0);
        dvb_u16(b, DV_TAG_SAMPLES_PER_PIXEL, 1);
        dvb_str(b, DV_TAG_PHOTOMETRIC_INTERPRETATION, "CS", "MONOCHROME2");
        dvb_u16(b, DV_TAG_ROWS, 2);
        dvb_u16(b, DV_TAG_COLUMNS, 2);
        dvb_u16(b, DV_TAG_BITS_ALLOCATED, 8);
        dvb_u16(b, DV_TAG_BITS_STORED, 8);
        dvb_u16(b, DV_TAG_HIGH_BIT, 7);
        dvb_u16(b, DV_TAG_PIXEL_REPRESENTATION, 0);
        dvb_bytes(b, DV_TAG_PIXEL_DATA, "OB", icon_px, 4);
        dvb_item_end(b);
        dvb_seq_end(b);
    }
    if (frags)
        dvb_encapsulated(b, frags, flens, m->frames);
    else
        dvb_bytes(b, DV_TAG_PIXEL_DATA, m->ba > 8 ? "OW" : "OB", m->px, m->len);
    return dvb_finish(b, len);
}

static uint8_t *build(const img *m, size_t *len)
{
    return build_frags(m, NULL, NULL, len);
}

/* ---- the detection seam: one box around the pixels whose first sample is the marker ---- */

typedef struct seam {
    int64_t marker;
    unsigned sleep_ms;
    int fail;
    unsigned calls;
} seam;

static int64_t sample(const dv_frame *f, size_t i)
{
    const uint8_t *p = (const uint8_t *)f->data + i * f->sample_bytes;
    switch (f->sample_bytes) {
    case 1: return f->is_signed ? (int64_t)(int8_t)p[0] : p[0];
    case 2: { uint16_t v; memcpy(&v, p, 2); return f->is_signed ? (int64_t)(int16_t)v : v; }
    default: { uint32_t v; memcpy(&v, p, 4); return f->is_signed ? (int64_t)(int32_t)v : v; }
    }
}

static int seam_find(void *user, const dv_frame *f, const dv_gray8 *g, uint32_t frame_index, dv_boxes *out,
                     dv_error *err)
{
    (void)g;
    (void)frame_index;
    seam *s = user;
    s->calls++;
    if (s->sleep_ms) {
        struct timespec ts = {0, (long)s->sleep_ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (s->fail)
        return dv_fail(err, DV_ERR_UNSUPPORTED, "OCR engine missing (simulated)");
    uint32_t x0 = UINT32_MAX, y0 = UINT32_MAX, x1 = 0, y1 = 0;
    for (uint32_t y = 0; y < f->height; y++)
        for (uint32_t x = 0; x < f->width; x++)
            if (sample(f, ((size_t)y * f->width + x) * f->samples) == s->marker) {
                x0 = x < x0 ? x : x0;
                y0 = y < y0 ? y : y0;
                x1 = x + 1 > x1 ? x + 1 : x1;
                y1 = y + 1 > y1 ? y + 1 : y1;
            }
    if (x0 == UINT32_MAX)
        return 0;
    dv_box b = {x0, y0, x1 - x0, y1 - y0};
    return dv_boxes_add(out, b, err);
}


typedef struct ran {
    dv_outcome outcome;
    dv_error err;
    dv_result res;
    dvt_memout out;
    uint64_t decodes;
} ran;

static void run_one(const char *json, const uint8_t *in, size_t len, seam *s, uint32_t frame_ms,
                    dv_frame_observer_fn obs, void *obs_user, ran *r)
{
    memset(r, 0, sizeof *r);
    dv_plan *p = plan(json);
    dv_key *k = key();
    dv_error err;
    dv_run *run = dv_run_new(p, k, NULL, &err);
    assert_non_null(run);
    if (s)
        dv_run_set_pixel_test_hooks(run, seam_find, s, frame_ms);
    if (obs)
        dv_run_set_frame_observer(run, obs, obs_user);
    dv_mem_source msrc;
    dv_source src = dv_source_memory(&msrc, in, len);
    dv_result_init(&r->res);
    r->outcome = dv_run_instance(run, &src, &DVT_MEM_OUTPUT, &r->out, &r->res, &r->err);
    r->decodes = dv_run_pixel_decode_calls(run);
    dv_run_free(run);
    dv_key_free(k);
    dv_plan_free(p);
}

/* The output read back: instance, attrs, and frame i decoded into buf. */
typedef struct back {
    dv_mem_source msrc;
    dv_source src;
    dv_instance *inst;
    dv_pixel_attrs pa;
    dv_image_ctx *ctx;
    dv_frames *frames;
    uint8_t *buf;
    dv_frame f;
} back;

static void read_back(const ran *r, back *b)
{
    assert_true(r->out.written);
    b->src = dv_source_memory(&b->msrc, r->out.ms.data, r->out.ms.len);
    dv_error err;
    b->inst = dv_instance_read(&b->src, NULL, &err);
    assert_non_null(b->inst);
    assert_int_equal(dv_pixel_attrs_read(b->inst, NULL, &b->pa, &err), 0);
    b->ctx = dv_image_ctx_new(NULL);
    const char *ts = dv_instance_transfer_syntax(b->inst);
    b->frames = dv_ts_family_encapsulated(dv_ts_family_of(ts)) ? dv_frames_index(b->inst, &err) : NULL;
    size_t cap = dv_image_frame_capacity(&b->pa, dv_ts_family_of(ts), NULL, &err);
    b->buf = malloc(cap);
    b->f.data = b->buf;
    b->f.cap = cap;
}

static void back_frame(back *b, uint32_t i)
{
    dv_error err;
    b->f.data = b->buf;
    assert_int_equal(dv_image_decode_instance_frame(b->ctx, b->inst, b->frames, &b->pa, i, &b->f, &err), 0);
}

static void back_free(back *b, ran *r)
{
    free(b->buf);
    dv_frames_free(b->frames);
    dv_image_ctx_free(b->ctx);
    dv_instance_free(b->inst);
    dv_mem_sink_free(&r->out.ms);
}

/* ---- tests ---- */

/* Which ImageConfig top-level PixelData gets: cleanImageTag, options.cleanImage, an earlier action wins. */
static void test_config_for(void **state)
{
    (void)state;
    uint8_t px[16] = {0};
    img m = {4, 4, 1, 8, 8, 0, 0, 1, "MONOCHROME2", DVB_EXPLICIT_LE, px, 16, 0};
    size_t len;
    uint8_t *in = build(&m, &len);
    dv_mem_source ms;
    dv_source src = dv_source_memory(&ms, in, len);
    dv_error err;
    dv_instance *inst = dv_instance_read(&src, NULL, &err);
    assert_non_null(inst);
    struct {
        const char *json;
        int want; /* 0 none, else the mode */
    } cases[] = {
        {ALL_TEXT, DV_REDACT_ALL_TEXT},
        {METADATA_ONLY, 0},
        {"{\"dicomTagConfig\": {\"actions\": [{\"queries\": [\"PixelData\"], \"cleanImageTag\": "
         "{\"textRedactionMode\": \"REDACT_ALL_TEXT\"}}]}}", DV_REDACT_ALL_TEXT},
        {"{\"dicomTagConfig\": {\"actions\": [{\"queries\": [\"PixelData\"], \"keepTag\": {}}], \"options\": "
         "{\"cleanImage\": {\"textRedactionMode\": \"REDACT_ALL_TEXT\"}}}}", 0},
        {"{\"dicomTagConfig\": {\"options\": {\"cleanImage\": {\"textRedactionMode\": \"REDACT_NO_TEXT\"}}}}", 0},
        {"{\"dicom\": {}, \"image\": {\"textRedactionMode\": \"REDACT_ALL_TEXT\"}}", DV_REDACT_ALL_TEXT},
        /* a legacy keepList naming PixelData keeps it and the image config still redacts it (stop 38's red
         * team: the keepTag it became outranked the image config) */
        {"{\"dicom\": {\"keepList\": {\"tags\": [\"PatientID\", \"PixelData\"]}}, \"image\": "
         "{\"textRedactionMode\": \"REDACT_ALL_TEXT\"}}", DV_REDACT_ALL_TEXT},
        {"{\"dicom\": {\"keepList\": {\"tags\": [\"7FE00010\"]}}, \"image\": "
         "{\"textRedactionMode\": \"REDACT_ALL_TEXT\"}}", DV_REDACT_ALL_TEXT},
        {"{\"dicom\": {\"keepList\": {\"tags\": [\"PixelData\"]}}}", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dv_plan *p = plan(cases[i].json);
        const dv_image_config *ic = dv_pixel_config_for(p, inst);
        if (cases[i].want) {
            assert_non_null(ic);
            assert_int_equal(ic->mode, cases[i].want);
        } else {
            assert_null(ic);
        }
        dv_plan_free(p);
    }
    dv_instance_free(inst);
    free(in);
}

/* Issue 11 acceptance: a metadata-only config decodes nothing (counted through the run); the same instance
 * under REDACT_ALL_TEXT decodes each frame. */
static void test_metadata_only_decodes_nothing(void **state)
{
    (void)state;
    uint8_t px[3 * 16];
    memset(px, 9, sizeof px);
    img m = {4, 4, 1, 8, 8, 0, 0, 3, "MONOCHROME2", DVB_EXPLICIT_LE, px, sizeof px, 0};
    size_t len;
    uint8_t *in = build(&m, &len);
    seam s = {255, 0, 0, 0};
    ran r;
    run_one(METADATA_ONLY, in, len, &s, 0, NULL, NULL, &r);
    assert_int_equal(r.outcome, DV_OUTCOME_OK);
    assert_int_equal(r.decodes, 0);
    assert_int_equal(s.calls, 0);
    assert_int_equal(r.res.pixel_stage_ran, 0);
    dv_mem_sink_free(&r.out.ms);
    run_one(ALL_TEXT, in, len, &s, 0, NULL, NULL, &r);
    assert_int_equal(r.outcome, DV_OUTCOME_OK);
    assert_int_equal(r.decodes, 3);
    assert_int_equal(r.res.pixel_frames, 3);
    dv_mem_sink_free(&r.out.ms);
    free(in);
}

/* Nothing found: the pixel data is the input's, byte for byte; BurnedInAnnotation NO (ALL_TEXT). */
static void test_no_text_keeps_pixels(void **state)
{
    (void)state;
    uint16_t px[6 * 5];
    for (size_t i = 0; i < 30; i++)
        px[i] = (uint16_t)(i * 97 & 0x0FFF);
    img m = {6, 5, 1, 16, 12, 0, 0, 1, "MONOCHROME2", DVB_EXPLICIT_LE, (const uint8_t *)px, sizeof px, 0};
    size_t len;
    uint8_t *in = build(&m, &len);
    seam s = {4095, 0, 0, 0}; /* never present */
    ran r;
    run_one(ALL_TEXT, in, len, &s, 0, NULL, NULL, &r);
    assert_int_equal(r.outcome, DV_OUTCOME_OK);
    assert_int_equal(r.res.pixel_boxes, 0);
    assert_string_equal(r.res.pixel_transfer_syntax, "1.2.840.10008.1.2.1");
    back b;
    read_back(&r, &b);
    back_frame(&b, 0);
    assert_memory_equal(b.buf, px, sizeof px);
    char v[16];
    assert_true(dv_instance_get_string(b.inst, DV_TAG_BURNED_IN_ANNOTATION, v, sizeof v) >= 0);
    assert_string_equal(v, "NO");
    back_free(&b, &r);
    free(in);
}

/* A redacted lossless output differs from the input only inside the box, painted with the darkest value
 * (signed 16-bit MONOCHROME2: the most negative representable value of BitsStored 12). */
static void test_redact_only_inside(void **state)
{
    (void)state;
    enum { R = 10, C = 12 };
    int16_t px[R * C];
    for (size_t i = 0; i < R * C; i++)
        px[i] = (int16_t)((int)(i * 13 % 1000) - 500);
    for (int y = 2; y < 4; y++)
        for (int x = 3; x < 8; x++)
            px[y * C + x] = 2047; /* the "text" */
    img m = {R, C, 1, 16, 12, 1, 0, 1, "MONOCHROME2", DVB_IMPLICIT_LE, (const uint8_t *)px, sizeof px, 0};
    size_t len;
    uint8_t *in = build(&m, &len);
    seam s = {2047, 0, 0, 0};
    ran r;
    run_one(ALL_TEXT, in, len, &s, 0, NULL, NULL, &r);
    assert_int_equal(r.outcome, DV_OUTCOME_OK);
    assert_int_equal(r.res.pixel_boxes, 1);
    assert_string_equal(r.res.pixel_transfer_syntax, "1.2.840.10008.1.2"); /* native implicit LE kept */
    back b;
    read_back(&r, &b);
    back_frame(&b, 0);
    const int16_t *o = (const int16_t *)b.buf;
    for (int y = 0; y < R; y++)
        for (int x = 0; x < C; x++) {
            int inside = y >= 2 && y < 4 && x >= 3 && x < 8;
            if (inside)
                assert_int_equal(o[y * C + x], -2048);
            else
                assert_int_equal(o[y * C + x], px[y * C + x]);
        }
    back_free(&b, &r);
    free(in);
}

/* The header of a rows x cols, 16-bit, BitsStored 12 MONOCHROME2 secondary capture (pixel representation pr). */
static void put_mono12(dvb *b, uint16_t rows, uint16_t cols, uint16_t pr)
{
    dvb_str(b, DV_TAG_SOP_CLASS_UID, "UI", "1.2.840.10008.5.1.4.1.1.7");
    dvb_str(b, DV_TAG_SOP_INSTANCE_UID, "UI", "1.2.3.4.5");
    dvb_u16(b, DV_TAG_SAMPLES_PER_PIXEL, 1);
    dvb_str(b, DV_TAG_PHOTOMETRIC_INTERPRETATION, "CS", "MONOCHROME2");
    dvb_u16(b, DV_TAG_ROWS, rows);
    dvb_u16(b, DV_TAG_COLUMNS, cols);
    dvb_u16(b, DV_TAG_BITS_ALLOCATED, 16);
    dvb_u16(b, DV_TAG_BITS_STORED, 12);
    dvb_u16(b, DV_TAG_HIGH_BIT, 11);
    dvb_u16(b, DV_TAG_PIXEL_REPRESENTATION, pr);
}

/* Embedded overlay planes (docs/decisions.md "Overlays embedded in pixel data") under cleanImage: the pixel stage
 * replaces the PixelData (painted in place for little endian input, decoded and rewritten for big endian), and
 * the planes of the removed overlay groups (15 in 6000, 14 in 6002) are cleared in that value too, and so is
 * plane 13, which no group declares (stop 38): outside the box every sample is its stored bits, inside it no
 * such bit is left. */
static void test_embedded_overlay_cleared_too(void **state)
{
    (void)state;
    enum { R = 8, C = 10 };
    uint16_t px[R * C];
    for (size_t i = 0; i < R * C; i++)
        px[i] = (uint16_t)((i * 37 % 3000) | (i % 3 == 0 ? 0x8000 : 0) | (i % 4 == 0 ? 0x4000 : 0) |
                           (i % 5 == 0 ? 0x2000 : 0));
    for (int y = 1; y < 3; y++)
        for (int x = 2; x < 6; x++)
            px[y * C + x] = 4000; /* the "text" */
    const dvb_ts tss[] = {DVB_EXPLICIT_LE, DVB_EXPLICIT_BE};
    for (size_t t = 0; t < 2; t++) {
        dvb *b = dvb_new(tss[t], 1);
        put_mono12(b, R, C, 0);
        for (uint32_t g = 0x6000; g <= 0x6002; g += 2) {
            dvb_u16(b, g << 16 | 0x0010u, R);
            dvb_u16(b, g << 16 | 0x0011u, C);
            dvb_str(b, g << 16 | 0x0040u, "CS", "G");
            dvb_u16(b, g << 16 | 0x0100u, 16);
            dvb_u16(b, g << 16 | 0x0102u, g == 0x6000 ? 15 : 14);
        }
        uint8_t raw[R * C * 2];
        for (size_t i = 0; i < R * C; i++) {
            raw[2 * i + (tss[t] == DVB_EXPLICIT_BE)] = (uint8_t)px[i];
            raw[2 * i + (tss[t] != DVB_EXPLICIT_BE)] = (uint8_t)(px[i] >> 8);
        }
        dvb_bytes(b, DV_TAG_PIXEL_DATA, "OW", raw, sizeof raw);
        size_t len;
        uint8_t *in = dvb_finish(b, &len);
        uint16_t keep = 0x0FFF; /* every bit outside the stored ones cleared after a redaction */
        seam s = {4000, 0, 0, 0};
        ran r;
        run_one("{\"dicomTagConfig\": {\"options\": {\"cleanImage\": {\"textRedactionMode\": \"REDACT_ALL_TEXT\"}}}}",
                in, len, &s, 0, NULL, NULL, &r);
        assert_int_equal(r.outcome, DV_OUTCOME_OK);
        assert_int_equal(r.res.pixel_boxes, 1);
        back bk;
        read_back(&r, &bk);
        assert_null(dv_ds_find(&bk.inst->ds, 0x60000102u));
        dv_error err;
        dv_frames *f = dv_frames_index(bk.inst, &err);
        assert_non_null(f);
        uint8_t got[R * C * 2];
        assert_int_equal(dv_frames_read(bk.inst, f, 0, got, sizeof got, &err), 0);
        dv_frames_free(f);
        for (int y = 0; y < R; y++)
            for (int x = 0; x < C; x++) {
                size_t i = (size_t)y * C + x;
                uint16_t v = (uint16_t)(got[2 * i] | (got[2 * i + 1] << 8));
                assert_int_equal(v & 0xC000, 0);
                if (!(y >= 1 && y < 3 && x >= 2 && x < 6))
                    assert_int_equal(v, px[i] & keep);
            }
        back_free(&bk, &r);
        free(in);
    }
}

/* A 16-bit, BitsStored 12 instance of R x C samples: px as stored, groups 6000 (plane 15) and 6002 (plane 14)
 * declared when with_groups, PixelRepresentation pr. */
enum { UR = 6, UC = 8 };
static uint8_t *build_unused(const uint16_t *px, int with_groups, uint16_t pr, size_t *len)
{
    dvb *b = dvb_new(DVB_EXPLICIT_LE, 1);
    put_mono12(b, UR, UC, pr);
    for (uint32_t g = 0x6000; with_groups && g <= 0x6002; g += 2) {
        dvb_u16(b, g << 16 | 0x0010u, UR);
        dvb_u16(b, g << 16 | 0x0011u, UC);
        dvb_str(b, g << 16 | 0x0040u, "CS", "G");
        dvb_u16(b, g << 16 | 0x0100u, 16);
        dvb_u16(b, g << 16 | 0x0102u, g == 0x6000 ? 15 : 14);
    }
    dvb_bytes(b, DV_TAG_PIXEL_DATA, "OW", px, UR * UC * 2);
    return dvb_finish(b, len);
}

/* Frame 0 of the output's PixelData, little endian, into got. */
static void output_samples(ran *r, uint16_t *got)
{
    back bk;
    read_back(r, &bk);
    dv_error err;
    dv_frames *f = dv_frames_index(bk.inst, &err);
    assert_non_null(f);
    uint8_t raw[UR * UC * 2];
    assert_int_equal(dv_frames_read(bk.inst, f, 0, raw, sizeof raw, &err), 0);
    dv_frames_free(f);
    for (size_t i = 0; i < UR * UC; i++)
        got[i] = (uint16_t)(raw[2 * i] | raw[2 * i + 1] << 8);
    back_free(&bk, r);
}

/* A 16-bit RLE frame's segments decoded as stored (no masking): its samples into out. */
static void rle_raw16(const uint8_t *enc, size_t len, uint16_t *out, size_t n)
{
    assert_true(len >= 64);
    uint32_t nseg = (uint32_t)enc[0] | (uint32_t)enc[1] << 8 | (uint32_t)enc[2] << 16 | (uint32_t)enc[3] << 24;
    assert_int_equal(nseg, 2);
    memset(out, 0, n * sizeof *out);
    for (uint32_t seg = 0; seg < 2; seg++) {
        const uint8_t *o = enc + 4 + 4 * seg;
        size_t at = (size_t)o[0] | (size_t)o[1] << 8 | (size_t)o[2] << 16 | (size_t)o[3] << 24, k = 0;
        while (k < n && at < len) {
            int c = (int8_t)enc[at++];
            if (c >= 0)
                for (int j = 0; j <= c && k < n && at < len; j++)
                    out[k++] |= (uint16_t)(enc[at++] << (seg ? 0 : 8));
            else if (c != -128 && at < len) {
                for (int j = 0; j < 1 - c && k < n; j++)
                    out[k++] |= (uint16_t)(enc[at] << (seg ? 0 : 8));
                at++;
            }
        }
    }
}

/* An RLE frame with nothing found keeps its bytes, unless they carry bits outside the stored ones (text in an
 * RLE frame's high byte plane): then it is re-encoded from its masked samples (stop 38, the red team's F2 for
 * encapsulated frames). */
static void test_rle_unused_bits_cleared(void **state)
{
    (void)state;
    enum { N = 16 };
    for (int dirty = 0; dirty < 2; dirty++) {
        uint8_t enc[64 + 2 * 18] = {0};
        enc[0] = 2;
        enc[4] = 64;
        enc[8] = 64 + 18;
        for (int seg = 0; seg < 2; seg++) {
            uint8_t *p = enc + 64 + 18 * seg;
            p[0] = N - 1; /* one literal run of 16 bytes, then a pad byte */
            for (int i = 0; i < N; i++)
                p[1 + i] = seg ? (uint8_t)(i * 13) : (uint8_t)((i & 7) | (dirty && i % 3 == 0 ? 0x80 : 0));
        }
        const void *frags[1] = {enc};
        uint32_t elen[1] = {sizeof enc};
        img m = {4, 4, 1, 16, 12, 0, 0, 1, "MONOCHROME2", DVB_RLE, NULL, 0, 0};
        size_t len;
        uint8_t *in = build_frags(&m, frags, elen, &len);
        seam s = {4096, 0, 0, 0}; /* never present: nothing found */
        ran r;
        run_one(ALL_TEXT, in, len, &s, 0, NULL, NULL, &r);
        assert_int_equal(r.outcome, DV_OUTCOME_OK);
        assert_int_equal(r.res.pixel_boxes, 0);
        back b;
        read_back(&r, &b);
        assert_string_equal(dv_instance_transfer_syntax(b.inst), "1.2.840.10008.1.2.5");
        dv_error err;
        uint64_t olen = dv_frames_size(b.frames, 0);
        uint8_t *out = malloc((size_t)olen);
        assert_int_equal(dv_frames_read(b.inst, b.frames, 0, out, olen, &err), 0);
        if (!dirty) {
            assert_int_equal(olen, sizeof enc);
            assert_memory_equal(out, enc, sizeof enc); /* clean: kept byte for byte */
        }
        uint16_t got[N], want[N];
        rle_raw16(out, (size_t)olen, got, N);
        rle_raw16(enc, sizeof enc, want, N);
        for (int i = 0; i < N; i++)
            assert_int_equal(got[i], want[i] & 0x0FFF);
        free(out);
        back_free(&b, &r);
        free(in);
    }
}

static int clear_range(void *user, uint64_t off, uint64_t len, const uint8_t *lit, unsigned nlit)
{
    uint8_t *b = user;
    if (nlit == len)
        memcpy(b + off, lit, (size_t)len);
    else
        memset(b + off, nlit ? lit[0] : 0, (size_t)len);
    return 0;
}

/* ---- codestreams whose precision exceeds BitsStored (JPEG-LS, JPEG lossless, JPEG 2000) ---- */

/* The image of one hidden-bit case: rows x cols MONOCHROME2, BitsAllocated ba, BitsStored bs, PixelRepresentation
 * pr. */
typedef struct cs_geom {
    uint16_t rows, cols, ba, bs, pr;
} cs_geom;

/* A g-shaped instance of one encapsulated frame enc in transfer syntax ts. */
static uint8_t *build_cs(dvb_ts ts, cs_geom g, const uint8_t *enc, size_t elen, size_t *len)
{
    const void *frags[1] = {enc};
    uint32_t l[1] = {(uint32_t)elen};
    img m = {g.rows, g.cols, 1, g.ba, g.bs, g.pr, 0, 1, "MONOCHROME2", ts, NULL, 0, 0};
    return build_frags(&m, frags, l, len);
}

/* px (UR x UC 16-bit patterns) as a JPEG-LS (jls) or JPEG 2000 codestream of precision prec, signed when pr
 * (JPEG 2000 only: JPEG-LS samples have no sign), through our encoders. */
static uint8_t *encode_prec(int jls, const uint16_t *px, uint16_t prec, uint16_t pr, size_t *len)
{
    dv_pixel_attrs pa;
    memset(&pa, 0, sizeof pa);
    pa.rows = UR;
    pa.columns = UC;
    pa.samples_per_pixel = 1;
    pa.bits_allocated = 16;
    pa.bits_stored = prec;
    pa.high_bit = prec - 1u;
    pa.pixel_representation = pr;
    pa.photometric = DV_PHOTO_MONOCHROME2;
    pa.number_of_frames = 1;
    dv_frame in = {.data = (void *)px, .cap = UR * UC * 2, .width = UC, .height = UR, .samples = 1, .sample_bytes = 2,
                   .bits_stored = prec, .is_signed = pr, .photometric = DV_PHOTO_MONOCHROME2};
    dv_image_ctx *ctx = dv_image_ctx_new(NULL);
    uint8_t *out = NULL;
    dv_error err;
    assert_int_equal(jls ? dv_image_encode_jpegls(ctx, &pa, &in, &out, len, &err)
                         : dv_image_encode_j2k(ctx, &pa, &in, &out, len, &err), 0);
    dv_image_ctx_free(ctx);
    return out;
}

/* One frame of rows x cols decoded as its own precision gives it (BitsStored = BitsAllocated ba: nothing masked),
 * widened to 16-bit patterns in out; the decoder's dv_frame_source in src when not NULL. */
static void raw_cs_at(const char *ts, uint16_t rows, uint16_t cols, uint16_t ba, const uint8_t *enc, size_t len,
                      uint16_t *out, dv_frame_source *src)
{
    dv_pixel_attrs pa;
    memset(&pa, 0, sizeof pa);
    pa.rows = rows;
    pa.columns = cols;
    pa.samples_per_pixel = 1;
    pa.bits_allocated = ba;
    pa.bits_stored = ba;
    pa.high_bit = ba - 1u;
    pa.photometric = DV_PHOTO_MONOCHROME2;
    pa.number_of_frames = 1;
    pa.native_frame_bytes = (uint64_t)rows * cols * (ba / 8u); /* a deflated frame inflates to this */
    size_t n = (size_t)rows * cols;
    uint8_t *buf = malloc(n * 2);
    assert_non_null(buf);
    dv_image_ctx *ctx = dv_image_ctx_new(NULL);
    dv_frame f;
    memset(&f, 0, sizeof f);
    f.data = ba == 8 ? buf : (void *)out;
    f.cap = n * 2;
    dv_error err;
    if (dv_image_decode_frame_bytes(ctx, ts, &pa, enc, len, &f, &err) != 0)
        fail_msg("%s frame does not decode: %s", ts, err.message);
    dv_image_ctx_free(ctx);
    for (size_t i = 0; ba == 8 && i < n; i++)
        out[i] = buf[i];
    if (src)
        *src = f.src;
    free(buf);
}

/* One frame's codestream decoded as its own precision gives it (BitsStored 16: nothing masked), 16-bit patterns. */
static void raw_cs(const char *ts, const uint8_t *enc, size_t len, uint16_t *out)
{
    raw_cs_at(ts, UR, UC, 16, enc, len, out, NULL);
}

/* Run ALL_TEXT with nothing found on one encapsulated frame of shape g; kept: the output's fragment is the input's
 * but for the codestream comments the writer clears (test_pixel_container; a deflated frame has none: its bytes
 * as they came); else the output is in out_ts and its samples, as stored (a codestream's at its own precision),
 * are want. lossy not NULL: the output's LossyImageCompression ("" absent) and, when set, its method. */
static void hidden_case_at(dvb_ts ts, const char *in_ts, cs_geom g, const uint8_t *enc, size_t elen, int kept,
                           const char *out_ts, const uint16_t *want, const char *lossy, const char *method)
{
    size_t len;
    uint8_t *in = build_cs(ts, g, enc, elen, &len);
    seam s = {0x7FFFFFFF, 0, 0, 0}; /* never present: nothing found */
    ran r;
    run_one(ALL_TEXT, in, len, &s, 0, NULL, NULL, &r);
    assert_int_equal(r.outcome, DV_OUTCOME_OK);
    assert_int_equal(r.res.pixel_boxes, 0);
    back b;
    read_back(&r, &b);
    const char *got_ts = dv_instance_transfer_syntax(b.inst);
    assert_string_equal(got_ts, kept ? in_ts : out_ts);
    assert_string_equal(r.res.pixel_transfer_syntax, got_ts);
    dv_error err;
    dv_frames *fr = dv_frames_index(b.inst, &err);
    assert_non_null(fr);
    uint64_t olen = dv_frames_size(fr, 0);
    uint8_t *out = malloc((size_t)olen);
    assert_non_null(out);
    assert_int_equal(dv_frames_read(b.inst, fr, 0, out, olen, &err), 0);
    dv_frames_free(fr);
    size_t n = (size_t)g.rows * g.cols;
    if (kept) {
        uint8_t *cleaned = malloc(elen);
        memcpy(cleaned, enc, elen);
        dv_mem_source ms;
        dv_source src = dv_source_memory(&ms, cleaned, elen);
        dv_cs_frag f = {0, elen};
        dv_cs_family kind = dv_cs_family_of(in_ts);
        if (kind != DV_CS_NONE)
            assert_int_equal(dv_codestream_clean(kind, &src, &f, 1, NULL, 0, clear_range, cleaned, &err), 0);
        assert_int_equal(olen, elen);
        assert_memory_equal(out, cleaned, elen); /* a legitimate frame keeps its bytes */
        free(cleaned);
    } else {
        uint16_t *got = malloc(n * sizeof *got);
        assert_non_null(got);
        if (strcmp(out_ts, "1.2.840.10008.1.2.1") == 0) {
            uint32_t sb = g.ba / 8u;
            assert_int_equal(olen, n * sb + (n * sb & 1));
            for (size_t i = 0; i < n; i++)
                got[i] = (uint16_t)(sb == 1 ? out[i] : out[2 * i] | out[2 * i + 1] << 8);
        } else {
            raw_cs_at(out_ts, g.rows, g.cols, g.ba, out, (size_t)olen, got, NULL);
        }
        for (size_t i = 0; i < n; i++)
            assert_int_equal(got[i], want[i]); /* no bit above BitsStored but a sign extension */
        free(got);
    }
    if (lossy) {
        char v[68];
        if (!*lossy) {
            assert_true(dv_instance_get_string(b.inst, DV_TAG_LOSSY_IMAGE_COMPRESSION, v, sizeof v) < 0);
        } else {
            assert_true(dv_instance_get_string(b.inst, DV_TAG_LOSSY_IMAGE_COMPRESSION, v, sizeof v) >= 0);
            assert_string_equal(v, lossy);
            assert_true(dv_instance_get_string(b.inst, DV_TAG_LOSSY_IMAGE_COMPRESSION_METHOD, v, sizeof v) >= 0);
            assert_string_equal(v, method);
        }
    }
    free(out);
    back_free(&b, &r);
    free(in);
}

/* hidden_case_at for a UR x UC 16-bit image, LossyImageCompression not looked at. */
static void hidden_case(dvb_ts ts, const char *in_ts, uint16_t bs, uint16_t pr, const uint8_t *enc, size_t elen,
                        int kept, const char *out_ts, const uint16_t *want)
{
    cs_geom g = {UR, UC, 16, bs, pr};
    hidden_case_at(ts, in_ts, g, enc, elen, kept, out_ts, want, NULL, NULL);
}

/* A JPEG-LS Lossless frame with nothing found whose codestream (precision 16) carries bits above BitsStored 12 is
 * re-encoded from its masked samples, JPEG-LS Lossless still; one with only sign-extended samples (signed
 * PixelRepresentation, an encoder writing the 16-bit patterns) or of precision BitsStored keeps its bytes. */
static void test_jpegls_hidden_bits_cleared(void **state)
{
    (void)state;
    const char *ts = "1.2.840.10008.1.2.4.80";
    uint16_t px[UR * UC], want[UR * UC];
    for (size_t i = 0; i < UR * UC; i++) {
        px[i] = (uint16_t)((i * 37 + 5) & 0x0FFF);
        want[i] = px[i];
        /* the mark a viewer ignoring BitsStored shows */
        px[i] |= (uint16_t)(i % 5 == 0 ? 0x8000 : i % 7 == 0 ? 0x2000 : 0);
    }
    size_t elen;
    uint8_t *enc = encode_prec(1, px, 16, 0, &elen);
    hidden_case(DVB_JPEG_LS_LOSSLESS, ts, 12, 0, enc, elen, 0, ts, want);
    free(enc);
    /* control: sign extension of a signed image's negative samples, no hidden bit */
    for (size_t i = 0; i < UR * UC; i++)
        px[i] = (uint16_t)(int16_t)((int)((i * 37 + 5) & 0x0FFF) - 2048);
    enc = encode_prec(1, px, 16, 0, &elen);
    hidden_case(DVB_JPEG_LS_LOSSLESS, ts, 12, 1, enc, elen, 1, NULL, NULL);
    free(enc);
    /* control: precision == BitsStored, nothing above it */
    for (size_t i = 0; i < UR * UC; i++)
        px[i] = (uint16_t)((i * 37 + 5) & 0x0FFF);
    enc = encode_prec(1, px, 12, 0, &elen);
    hidden_case(DVB_JPEG_LS_LOSSLESS, ts, 12, 0, enc, elen, 1, NULL, NULL);
    free(enc);
}

/* JPEG 2000 Lossless: a signed 16-bit codestream under BitsStored 12 signed with a bit flipped above BitsStored is
 * re-encoded (JPEG 2000 Lossless, precision 12: the samples come back sign-extended; under .4.91 it is written
 * native, sign-extended, as a redacted .4.91 frame is); the same codestream without
 * the mark (its negative values are sign extensions) and a precision/sign mismatch like pydicom's
 * J2K_pixelrep_mismatch.dcm (13 unsigned bits under BitsStored 13 signed: values >= 4096 decode negative) keep
 * their bytes. */
static void test_j2k_hidden_bits_cleared(void **state)
{
    (void)state;
    const char *ts = "1.2.840.10008.1.2.4.90";
    uint16_t px[UR * UC], want[UR * UC];
    for (size_t i = 0; i < UR * UC; i++) {
        px[i] = (uint16_t)(int16_t)((int)((i * 37 + 5) & 0x0FFF) - 2048);
        want[i] = px[i];
        if (i % 5 == 0)
            px[i] ^= 0x4000; /* bit 14: neither clear nor the sign extension of bit 11 */
    }
    size_t elen;
    uint8_t *enc = encode_prec(0, px, 16, 1, &elen);
    hidden_case(DVB_J2K_LOSSLESS, ts, 12, 1, enc, elen, 0, ts, want);
    /* the same codestream under .4.91 (may be lossy): written native, as a redacted .4.91 frame is */
    hidden_case(DVB_J2K, "1.2.840.10008.1.2.4.91", 12, 1, enc, elen, 0, "1.2.840.10008.1.2.1", want);
    free(enc);
    enc = encode_prec(0, want, 16, 1, &elen); /* control: sign extensions only */
    hidden_case(DVB_J2K_LOSSLESS, ts, 12, 1, enc, elen, 1, NULL, NULL);
    free(enc);
    for (size_t i = 0; i < UR * UC; i++)
        px[i] = (uint16_t)((i * 173 + 11) & 0x1FFF);
    enc = encode_prec(0, px, 13, 0, &elen); /* control: J2K_pixelrep_mismatch's sign mismatch */
    hidden_case(DVB_J2K_LOSSLESS, ts, 13, 1, enc, elen, 1, NULL, NULL);
    free(enc);
}

/* A minimal JPEG lossless (process 14, selection value 1) codestream of px at precision prec: one Huffman table
 * of 5-bit codes, category k coded as k. */
typedef struct bitw {
    uint8_t *p;
    size_t n;
    uint32_t acc;
    int nbits;
} bitw;

static void bw_put(bitw *w, uint32_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        w->acc = w->acc << 1 | ((v >> i) & 1u);
        if (++w->nbits == 8) {
            w->p[w->n++] = (uint8_t)w->acc;
            if ((uint8_t)w->acc == 0xFF)
                w->p[w->n++] = 0x00; /* byte stuffing */
            w->acc = 0;
            w->nbits = 0;
        }
    }
}

static uint8_t *jpeg_lossless(const uint16_t *px, uint16_t prec, size_t *len)
{
    uint8_t *b = calloc(1, 64 + UR * UC * 8);
    assert_non_null(b);
    static const uint8_t head[] = {0xFF, 0xD8, 0xFF, 0xC3, 0, 11, 0, 0, UR, 0, UC, 1, 1, 0x11, 0,
                                   0xFF, 0xC4, 0, 36, 0x00, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    size_t n = sizeof head;
    memcpy(b, head, n);
    b[6] = (uint8_t)prec;
    for (int k = 0; k <= 16; k++)
        b[n++] = (uint8_t)k;
    static const uint8_t sos[] = {0xFF, 0xDA, 0, 8, 1, 1, 0x00, 1, 0, 0};
    memcpy(b + n, sos, sizeof sos);
    n += sizeof sos;
    bitw w = {b, n, 0, 0};
    uint32_t mod = 1u << prec;
    for (uint32_t y = 0; y < UR; y++)
        for (uint32_t x = 0; x < UC; x++) {
            uint32_t pred = x ? px[y * UC + x - 1] : y ? px[(y - 1) * UC] : 1u << (prec - 1);
            int32_t d = (int32_t)((px[y * UC + x] - pred) & (mod - 1));
            if (d >= (int32_t)(mod / 2))
                d -= (int32_t)mod;
            uint32_t a = (uint32_t)(d < 0 ? -d : d);
            int cat = 0;
            while (cat < 16 && (a >> cat))
                cat++;
            bw_put(&w, (uint32_t)cat, 5);
            if (cat && cat < 16)
                bw_put(&w, d > 0 ? (uint32_t)d : (uint32_t)(d + (1 << cat) - 1), cat);
        }
    if (w.nbits)
        bw_put(&w, 0xFF, 8 - w.nbits); /* pad with 1s */
    b[w.n++] = 0xFF;
    b[w.n++] = 0xD9;
    *len = w.n;
    return b;
}

/* JPEG lossless (.4.70, no encoder of ours): a frame whose 16-bit codestream carries bits above BitsStored 12 is
 * written native Explicit VR Little Endian from its masked samples, as a redacted frame is; a codestream of
 * precision 12 keeps its bytes and transfer syntax. */
static void test_jpeg_lossless_hidden_bits_cleared(void **state)
{
    (void)state;
    const char *ts = "1.2.840.10008.1.2.4.70";
    uint16_t px[UR * UC], want[UR * UC], raw[UR * UC];
    for (size_t i = 0; i < UR * UC; i++) {
        want[i] = (uint16_t)((i * 37 + 5) & 0x0FFF);
        px[i] = (uint16_t)(want[i] | (i % 3 == 0 ? 0x8000 : 0));
    }
    size_t elen;
    uint8_t *enc = jpeg_lossless(px, 16, &elen);
    raw_cs(ts, enc, elen, raw);
    assert_memory_equal(raw, px, sizeof px); /* the hand-made codestream holds the mark */
    hidden_case(DVB_JPEG_LOSSLESS_SV1, ts, 12, 0, enc, elen, 0, "1.2.840.10008.1.2.1", want);
    free(enc);
    enc = jpeg_lossless(want, 12, &elen); /* control: precision == BitsStored */
    hidden_case(DVB_JPEG_LOSSLESS_SV1, ts, 12, 0, enc, elen, 1, NULL, NULL);
    free(enc);
}

/* Four flat 8 x 8 blocks of values v (row-major) as a JB x JB 8-bit JPEG Baseline codestream from our writer
 * (jpeg_write.c), padded to even length as a fragment is; px gets the samples drawn. One flat block per JPEG block:
 * each is its DC coefficient alone, which decodes back exactly, so no ringing or overshoot of the lossy coding
 * makes a bit appear or vanish (the test checks the decoded values before relying on them). */
enum { JB = 16 };

/* p as an 8-bit JPEG Baseline codestream from our writer, padded to even length as a fragment is. */
static uint8_t *jpeg_fragment(const dv_picture *p, size_t *len)
{
    uint8_t *out;
    size_t n;
    dv_error err;
    assert_int_equal(dv_jpeg_encode(p, 90, 1u << 24, &out, &n, &err), 0);
    uint8_t *even = realloc(out, n + 1);
    assert_non_null(even);
    if (n & 1)
        even[n++] = 0x00; /* after EOI, as a fragment is padded */
    *len = n;
    return even;
}

static uint8_t *jpeg_blocks(const uint8_t v[4], uint8_t *px, size_t *len)
{
    for (int y = 0; y < JB; y++)
        for (int x = 0; x < JB; x++)
            px[y * JB + x] = v[y / 8 * 2 + x / 8];
    dv_picture p = {px, JB, JB, 1};
    return jpeg_fragment(&p, len);
}

/* JPEG Baseline (.4.50): an 8-bit codestream under BitsStored 7 whose samples carry bit 7 cannot keep its
 * syntax (the DCT-domain path cannot clear a bit of a sample): it is written native Explicit VR Little Endian
 * from its masked samples, LossyImageCompression "01" with its method as for any lossy input written native;
 * the same image without bit 7 keeps its .4.50 bytes. */
static void test_jpeg_baseline_hidden_bits_cleared(void **state)
{
    (void)state;
    const char *ts = "1.2.840.10008.1.2.4.50";
    cs_geom g = {JB, JB, 8, 7, 0};
    static const uint8_t marked[4] = {0xA0, 0x30, 0x50, 0xC8}; /* bit 7 over 0x20 and over 0x48 */
    static const uint8_t clean[4] = {0x20, 0x30, 0x50, 0x48};
    uint8_t px[JB * JB];
    uint16_t raw[JB * JB], want[JB * JB];
    size_t elen;
    uint8_t *enc = jpeg_blocks(marked, px, &elen);
    raw_cs_at(ts, JB, JB, 8, enc, elen, raw, NULL);
    for (size_t i = 0; i < JB * JB; i++) {
        assert_int_equal(raw[i], px[i]); /* decoded exactly: bit 7 is there, no other bit moved */
        want[i] = (uint16_t)(px[i] & 0x7F);
    }
    hidden_case_at(DVB_JPEG_BASELINE, ts, g, enc, elen, 0, "1.2.840.10008.1.2.1", want, "01", "ISO_10918_1");
    free(enc);
    enc = jpeg_blocks(clean, px, &elen); /* control: nothing above BitsStored */
    raw_cs_at(ts, JB, JB, 8, enc, elen, raw, NULL);
    for (size_t i = 0; i < JB * JB; i++)
        assert_int_equal(raw[i], px[i]);
    hidden_case_at(DVB_JPEG_BASELINE, ts, g, enc, elen, 1, NULL, NULL, NULL, NULL);
    free(enc);
}

/* A JPEG Baseline output charged at its encapsulated size that goes native after all (stop 42): 32 frames of 512x512
 * flat blocks with bit 7 set under BitsStored 7 (the DCT domain cannot clear it: written native). The stage asks
 * for the native estimate (dv_pixel_env.regrant: ~9 MiB of native pixel data more) before it makes it. Under a
 * pixel budget the encapsulated estimate fits but the native one does not: the instance fails as limit, naming
 * the budget. With room it is written native. While it waits for the native grant the run is cancelled: it comes
 * out cancelled, nothing written, its grant given back. */
enum { RB = 512, RFRAMES = 32 };

typedef struct regrant_case {
    dv_run *run;
    const uint8_t *in;
    size_t len;
    ran r;
} regrant_case;

static void *regrant_run(void *arg)
{
    regrant_case *c = arg;
    dv_mem_source msrc;
    dv_source src = dv_source_memory(&msrc, c->in, c->len);
    dv_result_init(&c->r.res);
    c->r.outcome = dv_run_instance(c->run, &src, &DVT_MEM_OUTPUT, &c->r.out, &c->r.res, &c->r.err);
    return NULL;
}

static void test_jpeg_native_after_all_regrants(void **state)
{
    (void)state;
    static uint8_t px[RB * RB];
    for (int y = 0; y < RB; y++)
        for (int x = 0; x < RB; x++)
            px[y * RB + x] = (uint8_t)((x / 8 + y / 8) % 2 ? 0xA0 : 0x30); /* flat blocks, bit 7 in half */
    dv_picture pic = {px, RB, RB, 1};
    size_t elen;
    uint8_t *even = jpeg_fragment(&pic, &elen);
    dv_error err;
    const void *frags[RFRAMES];
    uint32_t lens[RFRAMES];
    for (int i = 0; i < RFRAMES; i++) {
        frags[i] = even;
        lens[i] = (uint32_t)elen;
    }
    img m = {RB, RB, 1, 8, 7, 0, 0, RFRAMES, "MONOCHROME2", DVB_JPEG_BASELINE, NULL, 0, 0};
    size_t len;
    uint8_t *in = build_frags(&m, frags, lens, &len);
    free(even);
    dv_plan *p = plan(ALL_TEXT);
    dv_key *k = key();
    const uint64_t MiB = 1024u * 1024u;
    for (int c = 0; c < 3; c++) {
        /* 0: 16 MiB (the encapsulated estimate fits, the native one does not); 1: 64 MiB, 48 held by another
         * until the instance waits, then the run is cancelled; 2: 64 MiB, written native */
        dv_pixel_budget *pb = dv_pixel_budget_new(c == 0 ? 16 * MiB : 64 * MiB, &err);
        assert_non_null(pb);
        dv_limits lim;
        dv_limits_default(&lim);
        lim.pixel_budget = pb;
        regrant_case rc = {dv_run_new(p, k, &lim, &err), in, len, {0}};
        assert_non_null(rc.run);
        if (c == 1) {
            assert_int_equal(dv_pixel_budget_take(pb, 48 * MiB), 0);
            pthread_t t;
            assert_int_equal(pthread_create(&t, NULL, regrant_run, &rc), 0);
            for (int i = 0; i < 20000 && dv_pixel_budget_waiting(pb) == 0; i++) {
                struct timespec ts = {0, 1000000};
                nanosleep(&ts, NULL);
            }
            assert_int_equal(dv_pixel_budget_waiting(pb), 1);
            /* it waits holding nothing: its encapsulated grant (~12 MiB, which fitted) went back first */
            assert_int_equal(dv_pixel_budget_in_use(pb), 48 * MiB);
            assert_true(dv_pixel_budget_peak(pb) > 48 * MiB);
            dv_run_cancel(rc.run);
            dv_pixel_budget_give(pb, 48 * MiB);
            pthread_join(t, NULL);
            assert_int_equal(rc.r.outcome, DV_OUTCOME_CANCELLED);
            assert_false(rc.r.out.written);
        } else {
            regrant_run(&rc);
        }
        if (c == 0) {
            assert_int_equal(rc.r.outcome, DV_OUTCOME_FAILED);
            assert_int_equal(rc.r.err.code, DV_ERR_LIMIT);
            assert_non_null(strstr(rc.r.err.message, "written natively"));
            assert_non_null(strstr(rc.r.err.message, "pixel memory budget (16 MiB)"));
            assert_false(rc.r.out.written);
        } else if (c == 2) {
            assert_int_equal(rc.r.outcome, DV_OUTCOME_OK);
            assert_string_equal(rc.r.res.pixel_transfer_syntax, "1.2.840.10008.1.2.1");
            assert_true(dv_pixel_budget_peak(pb) > 16 * MiB); /* the native estimate was granted */
        }
        assert_int_equal(dv_pixel_budget_in_use(pb), 0);
        dv_run_free(rc.run);
        dv_mem_sink_free(&rc.r.out.ms);
        dv_pixel_budget_free(pb);
    }
    dv_key_free(k);
    dv_plan_free(p);
    free(in);
}

/* px (UR x UC 16-bit patterns) as a near-lossless JPEG-LS codestream of precision prec and NEAR near, padded to
 * even length. Our encoder (dv_jpegls_encode) writes lossless streams only, and the library forwards only the
 * CharLS functions its codec calls (jpegls_lazy.c), so the test opens the CharLS the codec loads itself. */
static uint8_t *encode_jls_near(const uint16_t *px, int32_t prec, int32_t near, size_t *len)
{
    void *h = dlopen(DV_JPEGLS_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        fail_msg("%s: %s", DV_JPEGLS_SONAME, dlerror());
#define JLS_FN(f)                                                                                                \
    __typeof__(&charls_jpegls_encoder_##f) f =                                                                   \
        (__typeof__(&charls_jpegls_encoder_##f))dlsym(h, "charls_jpegls_encoder_" #f);                           \
    assert_non_null(f)
    JLS_FN(create);
    JLS_FN(destroy);
    JLS_FN(set_frame_info);
    JLS_FN(set_near_lossless);
    JLS_FN(get_estimated_destination_size);
    JLS_FN(set_destination_buffer);
    JLS_FN(encode_from_buffer);
    JLS_FN(get_bytes_written);
#undef JLS_FN
    charls_jpegls_encoder *e = create();
    assert_non_null(e);
    charls_frame_info fi = {UC, UR, prec, 1};
    size_t cap = 0, n = 0;
    assert_int_equal(set_frame_info(e, &fi), CHARLS_JPEGLS_ERRC_SUCCESS);
    assert_int_equal(set_near_lossless(e, near), CHARLS_JPEGLS_ERRC_SUCCESS);
    assert_int_equal(get_estimated_destination_size(e, &cap), CHARLS_JPEGLS_ERRC_SUCCESS);
    uint8_t *buf = malloc(cap + 1);
    assert_non_null(buf);
    assert_int_equal(set_destination_buffer(e, buf, cap), CHARLS_JPEGLS_ERRC_SUCCESS);
    assert_int_equal(encode_from_buffer(e, px, UR * UC * 2, 0), CHARLS_JPEGLS_ERRC_SUCCESS);
    assert_int_equal(get_bytes_written(e, &n), CHARLS_JPEGLS_ERRC_SUCCESS);
    destroy(e);
    dlclose(h);
    if (n & 1)
        buf[n++] = 0x00;
    *len = n;
    return buf;
}

/* JPEG-LS near-lossless (.4.81): a precision-16 codestream under BitsStored 12 whose samples carry bits 13 and 15
 * is not re-encoded lossily (a second generation of loss) but written native Explicit VR Little Endian from its
 * decoded, masked samples, LossyImageCompression "01" (docs/decisions.md "Hidden bits in codestreams"); the same
 * image without the marks keeps its .4.81 bytes. The base values stay NEAR away from 0 and 4095, so the lossy
 * coding can neither lose a mark nor push a clean sample past BitsStored. */
static void test_jpegls_near_hidden_bits_cleared(void **state)
{
    (void)state;
    const char *ts = "1.2.840.10008.1.2.4.81";
    enum { NEAR = 3 };
    cs_geom g = {UR, UC, 16, 12, 0};
    uint16_t base[UR * UC], px[UR * UC], raw[UR * UC], want[UR * UC];
    for (size_t i = 0; i < UR * UC; i++) {
        base[i] = (uint16_t)(16 + (i * 37 + 5) % 4000);
        px[i] = (uint16_t)(base[i] | (i % 5 == 0 ? 0x8000 : i % 7 == 0 ? 0x2000 : 0));
    }
    size_t elen;
    uint8_t *enc = encode_jls_near(px, 16, NEAR, &elen);
    dv_frame_source src;
    raw_cs_at(ts, UR, UC, 16, enc, elen, raw, &src);
    assert_true(src.lossy); /* the decoder read NEAR != 0 */
    assert_int_equal(src.precision, 16);
    for (size_t i = 0; i < UR * UC; i++) {
        assert_true(abs((int)raw[i] - (int)px[i]) <= NEAR);
        assert_int_equal(raw[i] & 0xF000, px[i] & 0xF000); /* every mark decoded, no other bit above 11 */
        want[i] = (uint16_t)(raw[i] & 0x0FFF);
    }
    hidden_case_at(DVB_JPEG_LS_NEAR, ts, g, enc, elen, 0, "1.2.840.10008.1.2.1", want, "01", "ISO_14495_1");
    free(enc);
    enc = encode_jls_near(base, 16, NEAR, &elen); /* control: precision 16, nothing decodes above BitsStored */
    raw_cs_at(ts, UR, UC, 16, enc, elen, raw, NULL);
    for (size_t i = 0; i < UR * UC; i++)
        assert_int_equal(raw[i] & 0xF000, 0);
    hidden_case_at(DVB_JPEG_LS_NEAR, ts, g, enc, elen, 1, NULL, NULL, NULL, NULL);
    free(enc);
}

/* px (UR x UC 16-bit) as one Deflated Image Frame Compression frame: its native little-endian bytes deflated
 * (raw RFC 1951, as PS3.5 A.4.12 stores it), padded to even length. */
static uint8_t *deflate_frame(const uint16_t *px, size_t *len)
{
    uint8_t le[UR * UC * 2];
    for (size_t i = 0; i < UR * UC; i++) {
        le[2 * i] = (uint8_t)px[i];
        le[2 * i + 1] = (uint8_t)(px[i] >> 8);
    }
    uLong cap = compressBound(sizeof le) + 64;
    uint8_t *z = malloc(cap + 1);
    assert_non_null(z);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = le;
    zs.avail_in = sizeof le;
    zs.next_out = z;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t n = zs.total_out;
    deflateEnd(&zs);
    if (n & 1)
        z[n++] = 0x00; /* past the end of the deflate stream: inflate stops before it */
    *len = n;
    return z;
}

/* Deflated frames (.8.1) carry native frames, whose bytes hold bits outside the stored ones as a native
 * PixelData would; the stage has no deflate encoder, so such a frame with nothing found is written native
 * Explicit VR Little Endian from its masked samples, as a redacted deflated frame is (no LossyImageCompression:
 * deflate is lossless); a frame whose bits above BitsStored are clear, or only a signed image's sign extension,
 * keeps its bytes and syntax. */
static void test_deflate_frame_hidden_bits_cleared(void **state)
{
    (void)state;
    const char *ts = "1.2.840.10008.1.2.8.1";
    cs_geom g = {UR, UC, 16, 12, 0};
    uint16_t px[UR * UC], raw[UR * UC], want[UR * UC];
    for (size_t i = 0; i < UR * UC; i++) {
        want[i] = (uint16_t)((i * 37 + 5) & 0x0FFF);
        px[i] = (uint16_t)(want[i] | (i % 3 == 0 ? 0x8000 : i % 7 == 0 ? 0x1000 : 0));
    }
    size_t elen;
    uint8_t *enc = deflate_frame(px, &elen);
    raw_cs_at(ts, UR, UC, 16, enc, elen, raw, NULL);
    assert_memory_equal(raw, px, sizeof px); /* the frame holds the mark */
    hidden_case_at(DVB_DEFLATE_FRAME, ts, g, enc, elen, 0, "1.2.840.10008.1.2.1", want, "", NULL);
    free(enc);
    enc = deflate_frame(want, &elen); /* control: nothing above BitsStored */
    hidden_case_at(DVB_DEFLATE_FRAME, ts, g, enc, elen, 1, NULL, NULL, NULL, NULL);
    free(enc);
    for (size_t i = 0; i < UR * UC; i++) /* control: a signed image's negative samples, sign-extended */
        px[i] = (uint16_t)(int16_t)((int)want[i] - 2048);
    enc = deflate_frame(px, &elen);
    g.pr = 1;
    hidden_case_at(DVB_DEFLATE_FRAME, ts, g, enc, elen, 1, NULL, NULL, NULL, NULL);
    free(enc);
}

/* An overlay (OverlayData) of an image the stage redacts goes with its whole group, unless a keepTag names its
 * OverlayData; a config that does not redact leaves it to the profile (stop 38's red team: DEIDENTIFY_TAG_CONTENTS
 * kept an overlay bitmap spelling the patient's name beside the redacted image). */
static void test_overlay_goes_with_redaction(void **state)
{
    (void)state;
    uint16_t px[UR * UC] = {0};
    uint8_t bits[UR * UC / 8];
    memset(bits, 0xA5, sizeof bits);
    dvb *b = dvb_new(DVB_EXPLICIT_LE, 1);
    put_mono12(b, UR, UC, 0);
    dvb_u16(b, 0x60000010u, UR);
    dvb_u16(b, 0x60000011u, UC);
    dvb_str(b, 0x60000040u, "CS", "G");
    dvb_u16(b, 0x60000100u, 1);
    dvb_u16(b, 0x60000102u, 0);
    dvb_bytes(b, 0x60003000u, "OW", bits, sizeof bits);
    dvb_bytes(b, DV_TAG_PIXEL_DATA, "OW", px, sizeof px);
    size_t len;
    uint8_t *in = dvb_finish(b, &len);
    static const char *const keep_overlay =
        "{\"dicomTagConfig\": {\"profileType\": \"KEEP_ALL_PROFILE\", \"actions\": [{\"queries\": "
        "[\"OverlayData\"], \"keepTag\": {}}], \"options\": {\"cleanImage\": {\"textRedactionMode\": "
        "\"REDACT_ALL_TEXT\"}}}}";
    const char *configs[3] = {ALL_TEXT, keep_overlay, "{\"dicomTagConfig\": {\"profileType\": \"KEEP_ALL_PROFILE\"}}"};
    for (int k = 0; k < 3; k++) {
        seam s = {4096, 0, 0, 0};
        ran r;
        run_one(configs[k], in, len, &s, 0, NULL, NULL, &r);
        assert_int_equal(r.outcome, DV_OUTCOME_OK);
        back bk;
        read_back(&r, &bk);
        const dv_elem *od = dv_ds_find(&bk.inst->ds, 0x60003000u), *rows = dv_ds_find(&bk.inst->ds, 0x60000010u);
        if (k == 0) {
            assert_null(od);
            assert_null(rows);
        } else {
            assert_non_null(od);
            assert_non_null(rows);
        }
        back_free(&bk, &r);
    }
    free(in);
}

/* Text drawn in bits no overlay group declares (stop 38's red team: BitsAllocated 16, BitsStored 12, text in bit
 * 15, no 60xx group) is invisible to the detector, which sees the stored bits: whenever the stage redacts, every
 * bit outside the stored ones is cleared, found text or not (signed samples: those above HighBit copy the sign,
 * as decoded), but for the planes a group still in the output declares (KEEP_ALL keeps groups 6000/6002: planes
 * 15 and 14 stay). Without a redacting mode (REDACT_NO_TEXT, no image config) the pixels are not touched. */
static void test_unused_bits_cleared(void **state)
{
    (void)state;
    uint16_t px[UR * UC], got[UR * UC];
    for (size_t i = 0; i < UR * UC; i++)
        px[i] = (uint16_t)((i * 291 % 4096) | (i % 3 ? 0x8000 : 0) | (i % 5 ? 0 : 0x4000) | (i % 7 ? 0 : 0x1000));
    const char *redacts[] = {ALL_TEXT, "{\"image\": {\"textRedactionMode\": \"REDACT_ALL_TEXT\"}}"};
    size_t len;
    uint8_t *in = build_unused(px, 0, 0, &len);
    for (size_t k = 0; k < 2; k++) {
        seam s = {4096, 0, 0, 0}; /* never present: nothing found */
        ran r;
        run_one(redacts[k], in, len, &s, 0, NULL, NULL, &r);
        assert_int_equal(r.outcome, DV_OUTCOME_OK);
        assert_int_equal(r.res.pixel_boxes, 0);
        output_samples(&r, got);
        for (size_t i = 0; i < UR * UC; i++)
            if (got[i] != (px[i] & 0x0FFF))
                fail_msg("config %zu: sample %zu is 0x%04x, want 0x%04x", k, i, got[i], px[i] & 0x0FFF);
    }
    free(in);
    /* planes a group still in the output declares stay: a keepTag names its OverlayBitPosition; without one the
     * overlay groups of a redacted image go ("Overlays go with a redacted image") and their planes with them */
    in = build_unused(px, 1, 0, &len);
    seam s = {4096, 0, 0, 0};
    ran r;
    run_one("{\"dicomTagConfig\": {\"profileType\": \"KEEP_ALL_PROFILE\", \"actions\": [{\"queries\": "
            "[\"OverlayBitPosition\"], \"keepTag\": {}}], \"options\": {\"cleanImage\": "
            "{\"textRedactionMode\": \"REDACT_ALL_TEXT\"}}}}",
            in, len, &s, 0, NULL, NULL, &r);
    assert_int_equal(r.outcome, DV_OUTCOME_OK);
    output_samples(&r, got);
    for (size_t i = 0; i < UR * UC; i++)
        assert_int_equal(got[i], px[i] & 0xCFFF);
    run_one(ALL_TEXT, in, len, &s, 0, NULL, NULL, &r);
    assert_int_equal(r.outcome, DV_OUTCOME_OK);
    {
        back bk;
        read_back(&r, &bk);
        assert_null(dv_ds_find(&bk.inst->ds, 0x60000102u));
        assert_null(dv_ds_find(&bk.inst->ds, 0x60020010u));
        back_free(&bk, &r);
    }
    run_one(ALL_TEXT, in, len, &s, 0, NULL, NULL, &r);
    output_samples(&r, got);
    for (size_t i = 0; i < UR * UC; i++)
        assert_int_equal(got[i], px[i] & 0x0FFF);
    free(in);
    /* signed: above HighBit a copy of the sign */
    in = build_unused(px, 0, 1, &len);
    run_one(ALL_TEXT, in, len, &s, 0, NULL, NULL, &r);
    assert_int_equal(r.outcome, DV_OUTCOME_OK);
    output_samples(&r, got);
    for (size_t i = 0; i < UR * UC; i++)
        assert_int_equal(got[i], (px[i] & 0x0800) ? (px[i] | 0xF000) : (px[i] & 0x0FFF));
    free(in);
    /* no redaction asked: untouched */
    in = build_unused(px, 0, 0, &len);
    const char *keeps[] = {"{\"image\": {\"textRedactionMode\": \"REDACT_NO_TEXT\"}}", METADATA_ONLY};
    for (size_t k = 0; k < 2; k++) {
        run_one(keeps[k], in, len, NULL, 0, NULL, NULL, &r);
        assert_int_equal(r.outcome, DV_OUTCOME_OK);
        output_samples(&r, got);
        assert_memory_equal(got, px, sizeof px);
    }
    free(in);
}

/* Multi-frame: every frame showing the text is covered (each where its text is); a frame without text is
 * untouched. Explicit VR big endian input is written Explicit VR little endian. */
static void test_multiframe(void **state)
{
    (void)state;
    enum { R = 8, C = 8, F = 3 };
    uint8_t px[F * R * C];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(i % 200);
    px[0 * R * C + 1 * C + 1] = 250; /* frame 0: (1,1) */
    px[2 * R * C + 6 * C + 5] = 250; /* frame 2: (5,6) */
    img m = {R, C, 1, 8, 8, 0, 0, F, "MONOCHROME1", DVB_EXPLICIT_BE, px, sizeof px, 0};
    size_t len;
    uint8_t *in = build(&m, &len);
    seam s = {250, 0, 0, 0};
    ran r;
    run_one(ALL_TEXT, in, len, &s, 0, NULL, NULL, &r);
    assert_int_equal(r.outcome, DV_OUTCOME_OK);
    assert_int_equal(r.res.pixel_frames, F);
    assert_int_equal(r.res.pixel_boxes, 2);
    assert_string_equal(r.res.pixel_transfer_syntax, "1.2.840.10008.1.2.1");
    back b;
    read_back(&r, &b);
    assert_string_equal(dv_instance_transfer_syntax(b.inst), "1.2.840.10008.1.2.1");
    for (uint32_t f = 0; f < F; f++) {
        back_frame(&b, f);
        for (size_t i = 0; i < R * C; i++) {
            size_t at = f * R * C + i;
            int inside = (f == 0 && i == 1 * C + 1) || (f == 2 && i == 6 * C + 5);
            assert_int_equal(b.buf[i], inside ? 255 : px[at]); /* MONOCHROME1: darkest is the maximum */
        }
    }
    back_free(&b, &r);
    free(in);
}

/* Colour stays colour: planar RGB is written interleaved (PlanarConfiguration 0), the box black. */
static void test_rgb_stays_rgb(void **state)
{
    (void)state;
    enum { R = 4, C = 5 };
    uint8_t planes[3 * R * C];
    for (size_t i = 0; i < sizeof planes; i++)
        planes[i] = (uint8_t)(10 + i % 90);
    planes[0 * R * C + 2 * C + 2] = 240; /* red plane marker at (2,2) */
    img m = {R, C, 3, 8, 8, 0, 1, 1, "RGB", DVB_EXPLICIT_LE, planes, sizeof planes, 0};
    size_t len;
    uint8_t *in = build(&m, &len);
    seam s = {240, 0, 0, 0};
    ran r;
    run_one(ALL_TEXT, in, len, &s, 0, NULL, NULL, &r);
    assert_int_equal(r.outcome, DV_OUTCOME_OK);
    back b;
    read_back(&r, &b);
    assert_int_equal(b.pa.samples_per_pixel, 3);
    assert_int_equal(b.pa.planar_configuration, 0);
    assert_int_equal(b.pa.photometric, DV_PHOTO_RGB);
    back_frame(&b, 0);
    for (size_t p = 0; p < R * C; p++)
        for (size_t c = 0; c < 3; c++) {
            uint8_t want = p == 2 * C + 2 ? 0 : planes[c * R * C + p];
            assert_int_equal(b.buf[p * 3 + c], want);
        }
    back_free(&b, &r);
    free(in);
}

/* PixelData nested in a sequence (an icon) is not redacted. An icon of an image the stage redacts is removed
 * (it shows the burned-in text small: stop 38's red team), unless a keepTag names IconImageSequence; then it is
 * kept and counted. */
static void test_nested_kept(void **state)
{
    (void)state;
    uint8_t px[16];
    memset(px, 1, sizeof px);
    img m = {4, 4, 1, 8, 8, 0, 0, 1, "MONOCHROME2", DVB_EXPLICIT_LE, px, sizeof px, 1};
    size_t len;
    uint8_t *in = build(&m, &len);
    static const char *const keep_icon =
        "{\"dicomTagConfig\": {\"profileType\": \"KEEP_ALL_PROFILE\", \"actions\": [{\"queries\": "
        "[\"IconImageSequence\"], \"keepTag\": {}}], \"options\": {\"cleanImage\": {\"textRedactionMode\": "
        "\"REDACT_ALL_TEXT\"}}}}";
    const char *configs[2] = {ALL_TEXT, keep_icon};
    for (int k = 0; k < 2; k++) {
        seam s = {255, 0, 0, 0}; /* the icon is all 255: it would be boxed if the stage looked at it */
        ran r;
        run_one(configs[k], in, len, &s, 0, NULL, NULL, &r);
        assert_int_equal(r.outcome, DV_OUTCOME_OK);
        assert_int_equal(r.res.pixel_nested_kept, k);
        assert_int_equal(r.res.pixel_boxes, 0);
        assert_int_equal(s.calls, 1);
        back b;
        read_back(&r, &b);
        if (k == 0)
            assert_null(dv_ds_find(&b.inst->ds, 0x00880200u));
        else
            assert_non_null(dv_ds_find(&b.inst->ds, 0x00880200u));
        back_free(&b, &r);
    }
    /* a config that does not redact keeps the icon as the profile says */
    seam s0 = {255, 0, 0, 0};
    ran r0;
    run_one("{\"dicomTagConfig\": {\"profileType\": \"KEEP_ALL_PROFILE\"}}", in, len, &s0, 0, NULL, NULL, &r0);
    assert_int_equal(r0.outcome, DV_OUTCOME_OK);
    back b0;
    read_back(&r0, &b0);
    assert_non_null(dv_ds_find(&b0.inst->ds, 0x00880200u));
    back_free(&b0, &r0);
    free(in);
}

/* The observer sees every examined frame once: before and after differ exactly on the redacted one. */
typedef struct seen {
    unsigned events, with_boxes;
    int differ;
    char sop[DV_UID_MAX + 1];
} seen;
static void observer(const dv_frame_event *ev, void *user)
{
    seen *s = user;
    s->events++;
    if (ev->nboxes) {
        s->with_boxes++;
        s->differ = memcmp(ev->before->data, ev->after->data, dv_frame_bytes(ev->after)) != 0;
    }
    snprintf(s->sop, sizeof s->sop, "%s", ev->sop_uid);
}

static void test_observer(void **state)
{
    (void)state;
    uint8_t px[2 * 16];
    memset(px, 3, sizeof px);
    px[16 + 5] = 200;
    img m = {4, 4, 1, 8, 8, 0, 0, 2, "MONOCHROME2", DVB_EXPLICIT_LE, px, sizeof px, 0};
    size_t len;
    uint8_t *in = build(&m, &len);
    seam s = {200, 0, 0, 0};
    seen sn = {0};
    ran r;
    run_one(ALL_TEXT, in, len, &s, 0, observer, &sn, &r);
    assert_int_equal(r.outcome, DV_OUTCOME_OK);
    assert_int_equal(sn.events, 2);
    assert_int_equal(sn.with_boxes, 1);
    assert_true(sn.differ);
    assert_string_equal(sn.sop, r.res.sop_uid); /* the OUTPUT UID, never the input's */
    assert_string_not_equal(sn.sop, "1.2.3.4.5");
    dv_mem_sink_free(&r.out.ms);
    free(in);
}

/* The box observer (dv_run_set_box_observer, the server's review boxes): the same events with the boxes
 * painted and the instance's out_arg, no pictures; the output is the same as with no observer. */
typedef struct boxes_seen {
    unsigned events, with_boxes, pictures;
    void *arg;
    dv_frame_box box;
} boxes_seen;
static void box_observer(const dv_frame_event *ev, void *user)
{
    boxes_seen *s = user;
    s->events++;
    s->pictures += ev->before != NULL || ev->after != NULL;
    s->arg = ev->instance_arg;
    if (ev->nboxes) {
        s->with_boxes++;
        s->box = ev->boxes[0];
    }
}

static void test_box_observer(void **state)
{
    (void)state;
    uint8_t px[2 * 16];
    memset(px, 3, sizeof px);
    px[16 + 4 * 2 + 1] = 200; /* frame 1, row 2, column 1 */
    img m = {4, 4, 1, 8, 8, 0, 0, 2, "MONOCHROME2", DVB_EXPLICIT_LE, px, sizeof px, 0};
    size_t len;
    uint8_t *in = build(&m, &len);
    seam s = {200, 0, 0, 0};
    ran plain;
    run_one(ALL_TEXT, in, len, &s, 0, NULL, NULL, &plain);
    assert_int_equal(plain.outcome, DV_OUTCOME_OK);

    dv_plan *p = plan(ALL_TEXT);
    dv_key *k = key();
    dv_error err;
    dv_run *run = dv_run_new(p, k, NULL, &err);
    assert_non_null(run);
    dv_run_set_pixel_test_hooks(run, seam_find, &s, 0);
    boxes_seen bs = {0};
    dv_run_set_box_observer(run, box_observer, &bs);
    dv_mem_source msrc;
    dv_source src = dv_source_memory(&msrc, in, len);
    ran r;
    memset(&r, 0, sizeof r);
    dv_result_init(&r.res);
    r.outcome = dv_run_instance(run, &src, &DVT_MEM_OUTPUT, &r.out, &r.res, &r.err);
    assert_int_equal(r.outcome, DV_OUTCOME_OK);
    assert_int_equal(bs.events, 2);
    assert_int_equal(bs.with_boxes, 1);
    assert_int_equal(bs.pictures, 0);          /* boxes only: no frame copied for the observer */
    assert_ptr_equal(bs.arg, &r.out);          /* the instance's out_arg */
    assert_int_equal(bs.box.x, 1);
    assert_int_equal(bs.box.y, 2);
    assert_int_equal(bs.box.w, 1);
    assert_int_equal(bs.box.h, 1);
    assert_int_equal(r.res.pixel_boxes, 1);
    assert_int_equal(r.out.ms.len, plain.out.ms.len); /* observing changes nothing written */
    assert_memory_equal(r.out.ms.data, plain.out.ms.data, plain.out.ms.len);
    dv_run_free(run);
    dv_key_free(k);
    dv_plan_free(p);
    dv_mem_sink_free(&r.out.ms);
    dv_mem_sink_free(&plain.out.ms);
    free(in);
}

/* Fail closed: undecodable pixels, a failing detector/OCR, a frame over its time bound -> failed, nothing
 * written. */
static void test_fail_closed(void **state)
{
    (void)state;
    uint8_t px[16];
    memset(px, 0, sizeof px);
    /* 16 bytes of PixelData for a 4x4x16-bit frame (32 bytes needed): undecodable */
    img bad = {4, 4, 1, 16, 16, 0, 0, 1, "MONOCHROME2", DVB_EXPLICIT_LE, px, sizeof px, 0};
    size_t len;
    uint8_t *in = build(&bad, &len);
    seam s = {255, 0, 0, 0};
    ran r;
    run_one(ALL_TEXT, in, len, &s, 0, NULL, NULL, &r);
    assert_int_equal(r.outcome, DV_OUTCOME_FAILED);
    assert_int_equal(r.err.code, DV_ERR_MALFORMED);
    assert_non_null(strstr(r.err.message, "pixels: "));
    assert_false(r.out.written);
    free(in);

    img ok = {4, 4, 1, 8, 8, 0, 0, 1, "MONOCHROME2", DVB_EXPLICIT_LE, px, sizeof px, 0};
    in = build(&ok, &len);
    seam failing = {255, 0, 1, 0};
    run_one(ALL_TEXT, in, len, &failing, 0, NULL, NULL, &r);
    assert_int_equal(r.outcome, DV_OUTCOME_FAILED);
    assert_int_equal(r.err.code, DV_ERR_UNSUPPORTED);
    assert_false(r.out.written);

    seam slow = {255, 30, 0, 0};
    run_one(ALL_TEXT, in, len, &slow, 5, NULL, NULL, &r);
    assert_int_equal(r.outcome, DV_OUTCOME_FAILED);
    assert_int_equal(r.err.code, DV_ERR_LIMIT);
    assert_false(r.out.written);

    /* the same instance with a generous bound is written: the failures above were the bound's */
    run_one(ALL_TEXT, in, len, &slow, 5000, NULL, NULL, &r);
    assert_int_equal(r.outcome, DV_OUTCOME_OK);
    dv_mem_sink_free(&r.out.ms);
    free(in);
}

/* The darkest value per photometric (redact.c). */
static void test_redact_darkest_values(void **state)
{
    (void)state;
    uint16_t d16[4] = {100, 100, 100, 100};
    dv_box box = {0, 0, 1, 1};
    dv_boxes bs = {&box, 1, 1};
    dv_frame f = {d16, sizeof d16, 2, 2, 1, 2, 10, 0, DV_PHOTO_MONOCHROME1, {0}, 0, 0};
    assert_int_equal(dv_redact_frame(&f, NULL, &bs), 1);
    assert_int_equal(d16[0], 1023);
    assert_int_equal(d16[1], 100);
    uint8_t ybr[6] = {50, 60, 70, 50, 60, 70};
    dv_frame y = {ybr, sizeof ybr, 2, 1, 3, 1, 8, 0, DV_PHOTO_YBR_FULL, {0}, 0, 0};
    dv_redact_frame(&y, NULL, &bs);
    assert_int_equal(ybr[0], 0);
    assert_int_equal(ybr[1], 128);
    assert_int_equal(ybr[2], 128);
    assert_int_equal(ybr[3], 50);
    /* palette: the darkest entry's index (entry 2 of first_mapped 10 -> index 12) */
    uint16_t lut[9] = {200, 90, 5, 200, 90, 5, 200, 90, 5};
    dv_palette pal = {3, 10, 8, lut};
    uint8_t idx[2] = {10, 11};
    dv_frame p = {idx, 2, 2, 1, 1, 1, 8, 0, DV_PHOTO_PALETTE_COLOR, {0}, 0, 0};
    dv_redact_frame(&p, &pal, &bs);
    assert_int_equal(idx[0], 12);
    assert_int_equal(idx[1], 11);
    /* a box past the frame is clipped */
    dv_box far = {1, 0, 50, 50};
    dv_boxes fb = {&far, 1, 1};
    assert_int_equal(dv_redact_frame(&p, &pal, &fb), 1);
}

/* ---- float pixel data ---- */

enum { FR = 64, FC = 160 };

/* The strokes (x, y, w, h each; up to 4) of a block glyph (H, E, L, T, U in turn) of height sz at x, y. */
static void glyph_strokes(uint32_t x, uint32_t y, uint32_t sz, int shape, uint32_t r[4][4])
{
    uint32_t st = sz / 8 + 1, w = sz * 2 / 3;
    memset(r, 0, 4 * sizeof r[0]);
    r[0][0] = x, r[0][1] = y, r[0][2] = st, r[0][3] = sz;
    switch (shape % 5) {
    case 0: r[1][0] = x + w - st, r[1][1] = y, r[1][2] = st, r[1][3] = sz; r[2][0] = x, r[2][1] = y + sz / 2,
            r[2][2] = w, r[2][3] = st; break;
    case 1: r[1][0] = x, r[1][1] = y, r[1][2] = w, r[1][3] = st; r[2][0] = x, r[2][1] = y + sz / 2,
            r[2][2] = w - st, r[2][3] = st; r[3][0] = x, r[3][1] = y + sz - st, r[3][2] = w, r[3][3] = st; break;
    case 2: r[1][0] = x, r[1][1] = y + sz - st, r[1][2] = w, r[1][3] = st; break;
    case 3: r[0][2] = w, r[0][3] = st; r[1][0] = x + w / 2 - st / 2, r[1][1] = y, r[1][2] = st, r[1][3] = sz; break;
    default: r[1][0] = x + w - st, r[1][1] = y, r[1][2] = st, r[1][3] = sz; r[2][0] = x, r[2][1] = y + sz - st,
             r[2][2] = w, r[2][3] = st;
    }
}

/* A block glyph (glyph_strokes) in a float picture: ink[] marks its pixels. */
static void float_glyph(double *px, uint8_t *ink, uint32_t x, uint32_t y, uint32_t sz, int shape, double v)
{
    uint32_t r[4][4];
    glyph_strokes(x, y, sz, shape, r);
    for (int k = 0; k < 4; k++)
        for (uint32_t yy = r[k][1]; yy < r[k][1] + r[k][3]; yy++)
            for (uint32_t xx = r[k][0]; xx < r[k][0] + r[k][2]; xx++) {
                px[yy * FC + xx] = v;
                ink[yy * FC + xx] = 1;
            }
}

/* A FloatPixelData (bits 32) or DoubleFloatPixelData (64) instance of px, in ts (big endian bytes for BE). */
static uint8_t *build_float(const double *px, unsigned bits, dvb_ts ts, const char *photo, size_t *len)
{
    dvb *b = dvb_new(ts, 1);
    dvb_str(b, DV_TAG_SOP_CLASS_UID, "UI", "1.2.840.10008.5.1.4.1.1.30"); /* Parametric Map */
    dvb_str(b, DV_TAG_SOP_INSTANCE_UID, "UI", "1.2.3.4.5");
    dvb_u16(b, DV_TAG_SAMPLES_PER_PIXEL, 1);
    dvb_str(b, DV_TAG_PHOTOMETRIC_INTERPRETATION, "CS", photo);
    dvb_u16(b, DV_TAG_ROWS, FR);
    dvb_u16(b, DV_TAG_COLUMNS, FC);
    dvb_u16(b, DV_TAG_BITS_ALLOCATED, (uint16_t)bits);
    static uint8_t raw[FR * FC * 8];
    unsigned unit = bits / 8;
    for (size_t i = 0; i < FR * FC; i++) {
        float f = (float)px[i];
        uint8_t v[8];
        memcpy(v, bits == 32 ? (const void *)&f : (const void *)&px[i], unit); /* host: little endian */
        for (unsigned k = 0; k < unit; k++)
            raw[i * unit + k] = v[ts == DVB_EXPLICIT_BE ? unit - 1 - k : k];
    }
    dvb_bytes(b, bits == 32 ? DV_TAG_FLOAT_PIXEL_DATA : DV_TAG_DOUBLE_FLOAT_PIXEL_DATA, bits == 32 ? "OF" : "OD",
              raw, FR * FC * unit);
    return dvb_finish(b, len);
}

/* Float pixel data (FloatPixelData OF, DoubleFloatPixelData OD) is redacted like integer pixels (stop 38's red
 * team: written ok, its text kept bit for bit, no pixels entry). The real detector finds a bright text line in
 * the frame windowed over its finite values (a NaN and the infinities ignored); every ink pixel becomes the
 * frame's least finite value and the pixels far from the text, NaN and infinities included, keep their bits;
 * the report counts the box. Big endian input is written explicit VR little endian. A cleanImageTag on
 * PixelData applies to them. A float instance the stage cannot read (MONOCHROME1) fails, nothing written. */
static void test_float_pixels_redacted(void **state)
{
    (void)state;
    static double px[FR * FC];
    static uint8_t ink[FR * FC];
    for (size_t i = 0; i < FR * FC; i++)
        px[i] = 10.0 + (double)((i % FC) * 7 % 60) * 0.5;
    px[FC * 60 + 1] = NAN;
    px[FC * 60 + 2] = INFINITY;
    px[FC * 60 + 3] = -INFINITY;
    px[FC * 60 + 150] = 5.25; /* the least finite value: the fill */
    memset(ink, 0, sizeof ink);
    uint32_t adv = 16 * 2 / 3 + 16 / 4 + 1;
    for (int g = 0; g < 6; g++)
        float_glyph(px, ink, 20 + (uint32_t)g * adv, 20, 16, g, 500.0);
    /* the second through a cleanImageTag on PixelData: it names the instance's pixels, whatever their kind */
    const struct { unsigned bits; dvb_ts ts; const char *json; } cases[] = {
        {32, DVB_EXPLICIT_LE, ALL_TEXT},
        {64, DVB_EXPLICIT_BE, "{\"dicomTagConfig\": {\"actions\": [{\"queries\": [\"PixelData\"], \"cleanImageTag\": "
                              "{\"textRedactionMode\": \"REDACT_ALL_TEXT\"}}]}}"}};
    for (size_t c = 0; c < 2; c++) {
        unsigned unit = cases[c].bits / 8;
        size_t len;
        uint8_t *in = build_float(px, cases[c].bits, cases[c].ts, "MONOCHROME2", &len);
        ran r;
        run_one(cases[c].json, in, len, NULL, 0, NULL, NULL, &r);
        if (r.outcome != DV_OUTCOME_OK)
            fail_msg("%u-bit: %s", cases[c].bits, r.err.message);
        assert_true(r.res.pixel_stage_ran);
        assert_true(r.res.pixel_boxes >= 1);
        assert_string_equal(r.res.pixel_transfer_syntax, "1.2.840.10008.1.2.1");
        dv_mem_source msrc;
        dv_source src = dv_source_memory(&msrc, r.out.ms.data, r.out.ms.len);
        dv_error err;
        dv_instance *o = dv_instance_read(&src, NULL, &err);
        assert_non_null(o);
        assert_string_equal(dv_instance_transfer_syntax(o), "1.2.840.10008.1.2.1");
        const dv_elem *e = dv_ds_find(&o->ds, unit == 4 ? DV_TAG_FLOAT_PIXEL_DATA : DV_TAG_DOUBLE_FLOAT_PIXEL_DATA);
        assert_non_null(e);
        assert_int_equal(e->length, FR * FC * unit);
        static uint8_t got[FR * FC * 8];
        assert_int_equal(dv_elem_read_value(o, e, got, sizeof got), 0);
        for (size_t i = 0; i < FR * FC; i++) {
            float f;
            double v;
            if (unit == 4) {
                memcpy(&f, got + 4 * i, 4);
                v = f;
            } else {
                memcpy(&v, got + 8 * i, 8);
            }
            if (ink[i] && v != 5.25)
                fail_msg("%u-bit: ink pixel %zu holds %g", cases[c].bits, i, v);
            float fi = (float)px[i];
            if (i / FC >= 50 && (unit == 4 ? memcmp(got + 4 * i, &fi, 4) : memcmp(got + 8 * i, &px[i], 8)))
                fail_msg("%u-bit: pixel %zu far from the text changed", cases[c].bits, i);
        }
        dv_instance_free(o);
        dv_mem_sink_free(&r.out.ms);
        free(in);
    }
    size_t len;
    uint8_t *in = build_float(px, 32, DVB_EXPLICIT_LE, "MONOCHROME1", &len);
    ran r;
    run_one(ALL_TEXT, in, len, NULL, 0, NULL, NULL, &r);
    assert_int_equal(r.outcome, DV_OUTCOME_FAILED);
    assert_int_equal(r.err.code, DV_ERR_UNSUPPORTED);
    assert_false(r.out.written);
    free(in);
}

/* ---- an overlay kept by name is searched (docs/decisions.md "Overlays go with a redacted image") ---- */

enum { OR = 96, OC = 256 };

static void set_bit(uint8_t *bits, uint64_t k)
{
    bits[k >> 3] |= (uint8_t)(1u << (k & 7));
}

static int get_bit(const uint8_t *bits, uint64_t k)
{
    return bits[k >> 3] >> (k & 7) & 1;
}

/* Overlay frame f of bits (OR x OC, frames one after the other): a rectangle outline around rows 50-89, and with
 * text, a line of six block glyphs (16 px) at row 12, its pixels marked in ink (OR x OC, may be NULL). */
static void overlay_frame(uint8_t *bits, uint32_t f, int text, uint8_t *ink)
{
    uint64_t at = (uint64_t)OR * OC * f;
    for (uint32_t x = 10; x < OC - 10; x++)
        set_bit(bits, at + 50u * OC + x), set_bit(bits, at + 89u * OC + x);
    for (uint32_t y = 50; y < 90; y++)
        set_bit(bits, at + (uint64_t)y * OC + 10), set_bit(bits, at + (uint64_t)y * OC + OC - 11);
    uint32_t adv = 16 * 2 / 3 + 16 / 4 + 1;
    for (int g = 0; text && g < 6; g++) {
        uint32_t r[4][4];
        glyph_strokes(20 + (uint32_t)g * adv, 12, 16, g, r);
        for (int k = 0; k < 4; k++)
            for (uint32_t y = r[k][1]; y < r[k][1] + r[k][3]; y++)
                for (uint32_t x = r[k][0]; x < r[k][0] + r[k][2]; x++) {
                    set_bit(bits, at + (uint64_t)y * OC + x);
                    if (ink)
                        ink[y * OC + x] = 1;
                }
    }
}

/* A blank OR x OC image with overlay group 6000 of the given frames, its OverlayData len bytes of bits (OW, in
 * ts's byte order: big endian swaps each 16-bit word). */
static uint8_t *build_overlay_ts(dvb_ts ts, const uint8_t *bits, uint32_t len, const char *frames, size_t *out_len)
{
    static uint16_t px[OR * OC];
    static uint8_t word_swapped[2 * OR * OC / 8 + 2];
    if (ts == DVB_EXPLICIT_BE) {
        assert_true(len <= sizeof word_swapped && len % 2 == 0);
        for (uint32_t k = 0; k < len; k += 2)
            word_swapped[k] = bits[k + 1], word_swapped[k + 1] = bits[k];
        bits = word_swapped;
    }
    dvb *b = dvb_new(ts, 1);
    put_mono12(b, OR, OC, 0);
    dvb_u16(b, 0x60000010u, OR);
    dvb_u16(b, 0x60000011u, OC);
    dvb_str(b, 0x60000015u, "IS", frames);
    dvb_str(b, 0x60000040u, "CS", "G");
    static const uint8_t origin_le[4] = {1, 0, 1, 0}, origin_be[4] = {0, 1, 0, 1};
    dvb_bytes(b, 0x60000050u, "SS", ts == DVB_EXPLICIT_BE ? origin_be : origin_le, 4);
    dvb_u16(b, 0x60000100u, 1);
    dvb_u16(b, 0x60000102u, 0);
    dvb_bytes(b, 0x60003000u, "OW", bits, len);
    dvb_bytes(b, DV_TAG_PIXEL_DATA, "OW", px, sizeof px);
    return dvb_finish(b, out_len);
}

static uint8_t *build_overlay(const uint8_t *bits, uint32_t len, const char *frames, size_t *out_len)
{
    return build_overlay_ts(DVB_EXPLICIT_LE, bits, len, frames, out_len);
}

/* The written OverlayData into got (its length asserted to be len, VR OW). */
static void written_overlay(ran *r, uint8_t *got, uint32_t len)
{
    assert_int_equal(r->outcome, DV_OUTCOME_OK);
    dv_mem_source msrc;
    dv_source src = dv_source_memory(&msrc, r->out.ms.data, r->out.ms.len);
    dv_error err;
    dv_instance *o = dv_instance_read(&src, NULL, &err);
    assert_non_null(o);
    assert_string_not_equal(dv_instance_transfer_syntax(o), "1.2.840.10008.1.2.2"); /* read back little endian */
    const dv_elem *od = dv_ds_find(&o->ds, 0x60003000u);
    assert_non_null(od);
    assert_int_equal(od->vr, DV_VR_OW);
    assert_int_equal(od->length, len);
    assert_int_equal(dv_elem_read_value(o, od, got, len), 0);
    dv_instance_free(o);
    dv_mem_sink_free(&r->out.ms);
}

#define KEEP_OVERLAY_ALL_TEXT                                                                                  \
    "{\"dicomTagConfig\": {\"profileType\": \"KEEP_ALL_PROFILE\", \"actions\": [{\"queries\": "                 \
    "[\"OverlayData\"], \"keepTag\": {}}], \"options\": {\"cleanImage\": {\"textRedactionMode\": "                 \
    "\"REDACT_ALL_TEXT\"}}}}"

/* An overlay a keepTag keeps beside an image the stage redacts is searched as the image is (stop 38's red team: a
 * console's name in a kept overlay was written bit for bit under REDACT_ALL_TEXT). A two-frame plane, frame 0 an
 * outline only, frame 1 the outline and a line of text, and set bits past its last frame: the real detector finds
 * the text on frame 1, every text bit is cleared, every outline bit of both frames kept, the bits past the last
 * frame cleared, VR and length kept. The same plane without text keeps its value byte for byte. A plane shorter
 * than its rows x columns x frames is searched as far as it goes. */
static void test_kept_overlay_searched(void **state)
{
    (void)state;
    enum { FRAME_BITS = OR * OC, LEN = 2 * OR * OC / 8 + 2 };
    static uint8_t bits[LEN], got[LEN], ink[OR * OC], outline[LEN];
    memset(bits, 0, sizeof bits);
    memset(ink, 0, sizeof ink);
    memset(outline, 0, sizeof outline);
    overlay_frame(outline, 0, 0, NULL);
    overlay_frame(outline, 1, 0, NULL);
    overlay_frame(bits, 0, 0, NULL);
    overlay_frame(bits, 1, 1, ink);
    bits[LEN - 2] = 0x81; /* past the last frame */
    size_t len;
    uint8_t *in = build_overlay(bits, LEN, "2", &len);
    ran r;
    run_one(KEEP_OVERLAY_ALL_TEXT, in, len, NULL, 0, NULL, NULL, &r);
    if (r.outcome != DV_OUTCOME_OK)
        fail_msg("text: %s", r.err.message);
    assert_true(r.res.pixel_stage_ran);
    written_overlay(&r, got, LEN);
    for (uint64_t k = 0; k < FRAME_BITS; k++) {
        if (ink[k] && get_bit(got, FRAME_BITS + k))
            fail_msg("text bit %llu of frame 1 kept", (unsigned long long)k);
        for (uint32_t f = 0; f < 2; f++)
            if (get_bit(outline, f * FRAME_BITS + k) && !get_bit(got, f * FRAME_BITS + k))
                fail_msg("outline bit %llu of frame %u cleared", (unsigned long long)k, f);
    }
    assert_int_equal(got[LEN - 2], 0);
    free(in);
    /* explicit VR big endian input: the plane read as 16-bit words, written explicit VR little endian */
    in = build_overlay_ts(DVB_EXPLICIT_BE, bits, LEN, "2", &len);
    run_one(KEEP_OVERLAY_ALL_TEXT, in, len, NULL, 0, NULL, NULL, &r);
    if (r.outcome != DV_OUTCOME_OK)
        fail_msg("big endian: %s", r.err.message);
    assert_string_equal(r.res.pixel_transfer_syntax, "1.2.840.10008.1.2.1");
    written_overlay(&r, got, LEN);
    for (uint64_t k = 0; k < 2 * FRAME_BITS; k++)
        if ((k >= FRAME_BITS && ink[k - FRAME_BITS] && get_bit(got, k)) || (get_bit(outline, k) && !get_bit(got, k)))
            fail_msg("big endian: bit %llu", (unsigned long long)k);
    free(in);
    /* no text: byte for byte */
    in = build_overlay(outline, LEN - 2, "2", &len);
    run_one(KEEP_OVERLAY_ALL_TEXT, in, len, NULL, 0, NULL, NULL, &r);
    if (r.outcome != DV_OUTCOME_OK)
        fail_msg("outline: %s", r.err.message);
    written_overlay(&r, got, LEN - 2);
    assert_memory_equal(got, outline, LEN - 2);
    free(in);
    /* a plane shorter than its two frames (GH1728.dcm's writer rounded the length down): searched as far as it goes,
     * its length kept; the bits it lacks show nothing */
    in = build_overlay(bits, 2 * FRAME_BITS / 8 - 2, "2", &len);
    run_one(KEEP_OVERLAY_ALL_TEXT, in, len, NULL, 0, NULL, NULL, &r);
    if (r.outcome != DV_OUTCOME_OK)
        fail_msg("short: %s", r.err.message);
    written_overlay(&r, got, 2 * FRAME_BITS / 8 - 2);
    for (uint64_t k = 0; k < FRAME_BITS - 16; k++)
        if (ink[k] && get_bit(got, FRAME_BITS + k))
            fail_msg("short: text bit %llu of frame 1 kept", (unsigned long long)k);
    free(in);
    /* an empty OverlayData shows nothing: written as it is (dwv's leadtools-8BitsJpegLossyGrayScale.dcm) */
    in = build_overlay(bits, 0, "2", &len);
    run_one(KEEP_OVERLAY_ALL_TEXT, in, len, NULL, 0, NULL, NULL, &r);
    if (r.outcome != DV_OUTCOME_OK)
        fail_msg("empty: %s", r.err.message);
    written_overlay(&r, got, 0);
    free(in);
}

/* What the writer makes of one JPEG 2000 frame kept as it was: its comments cleared (dv_codestream_meta.h). */
static void clear_codestream(uint8_t *b, size_t n)
{
    dv_mem_source ms;
    dv_source src = dv_source_memory(&ms, b, n);
    dv_cs_frag f = {0, n};
    dv_error err;
    assert_int_equal(dv_codestream_clean(DV_CS_J2K, &src, &f, 1, NULL, 0, clear_range, b, &err), 0);
}

/* JPEG 2000 Lossless in, JPEG 2000 Lossless out (OpenJPEG, reversible): a redacted frame is re-encoded and
 * differs from the input only inside the box (colour YBR_RCT: PhotometricInterpretation kept, the codestream
 * uses the RCT again; signed 16-bit monochrome), a frame without text keeps its fragment byte for byte, one
 * fragment per frame, no LossyImageCompression written. */
static void j2k_case(uint16_t spp, uint16_t ba, uint16_t pr, const char *photo, dv_photometric stored,
                     dv_photometric decoded_photo)
{
    enum { R = 12, C = 10, F = 2 };
    dv_pixel_attrs pa;
    memset(&pa, 0, sizeof pa);
    pa.rows = R;
    pa.columns = C;
    pa.samples_per_pixel = spp;
    pa.bits_allocated = ba;
    pa.bits_stored = ba;
    pa.high_bit = ba - 1u;
    pa.pixel_representation = pr;
    pa.photometric = stored;
    pa.number_of_frames = 1;
    size_t n = (size_t)R * C * spp, sb = ba / 8u;
    uint8_t *px[F];
    uint8_t *enc[F];
    uint32_t elen[F];
    dv_image_ctx *ctx = dv_image_ctx_new(NULL);
    for (int f = 0; f < F; f++) {
        px[f] = malloc(n * sb);
        assert_non_null(px[f]);
        for (size_t i = 0; i < n; i++) {
            int v = (int)((i * 13 + (size_t)f * 7) % 180) - (pr ? 90 : 0);
            if (sb == 1)
                px[f][i] = (uint8_t)v;
            else {
                int16_t w = (int16_t)(v * 150);
                memcpy(px[f] + i * 2, &w, 2);
            }
        }
        if (f == 0) { /* the marker the seam boxes: first sample of pixel (3,2) */
            size_t at = (2 * C + 3) * spp * sb;
            if (sb == 1)
                px[0][at] = 250;
            else {
                int16_t w = 30000;
                memcpy(px[0] + at, &w, 2);
            }
        }
        dv_frame in = {.data = px[f], .cap = n * sb, .width = C, .height = R, .samples = spp,
                       .sample_bytes = (uint32_t)sb, .bits_stored = ba, .is_signed = pr, .photometric = decoded_photo};
        size_t l = 0;
        dv_error err;
        assert_int_equal(dv_image_encode_j2k(ctx, &pa, &in, &enc[f], &l, &err), 0);
        elen[f] = (uint32_t)l;
    }
    dv_image_ctx_free(ctx);
    const void *frags[F] = {enc[0], enc[1]};
    img m = {R, C, spp, ba, ba, pr, 0, F, photo, DVB_J2K_LOSSLESS, NULL, 0, 0};
    size_t len;
    uint8_t *in = build_frags(&m, frags, elen, &len);
    seam s = {sb == 1 ? 250 : 30000, 0, 0, 0};
    ran r;
    run_one(ALL_TEXT, in, len, &s, 0, NULL, NULL, &r);
    assert_int_equal(r.outcome, DV_OUTCOME_OK);
    assert_int_equal(r.res.pixel_boxes, 1);
    assert_string_equal(r.res.pixel_transfer_syntax, "1.2.840.10008.1.2.4.90");
    back b;
    read_back(&r, &b);
    assert_string_equal(dv_instance_transfer_syntax(b.inst), "1.2.840.10008.1.2.4.90");
    assert_int_equal(b.pa.photometric, stored);
    char lossy[8];
    assert_true(dv_instance_get_string(b.inst, DV_TAG_LOSSY_IMAGE_COMPRESSION, lossy, sizeof lossy) < 0);
    assert_int_equal(dv_frames_count(b.frames), F);
    /* frame 1: nothing found, its fragment kept byte for byte but for the encoder's comment (cleared like
     * every codestream comment: test_pixel_container) */
    dv_error err;
    assert_int_equal(dv_frames_size(b.frames, 1), elen[1]);
    uint8_t *kept = malloc(elen[1]);
    assert_int_equal(dv_frames_read(b.inst, b.frames, 1, kept, elen[1], &err), 0);
    clear_codestream(enc[1], elen[1]);
    assert_memory_equal(kept, enc[1], elen[1]);
    free(kept);
    /* frame 0: only the box differs, and it is the darkest value */
    back_frame(&b, 0);
    assert_int_equal(b.f.photometric, decoded_photo);
    for (size_t p = 0; p < (size_t)R * C; p++)
        for (size_t c = 0; c < spp; c++) {
            size_t i = p * spp + c;
            if (p == 2 * C + 3) {
                int64_t v = sample(&b.f, i);
                assert_true(v == (pr ? (sb == 1 ? -128 : -32768) : 0));
            } else {
                assert_memory_equal(b.buf + i * sb, px[0] + i * sb, sb);
            }
        }
    back_free(&b, &r);
    free(in);
    for (int f = 0; f < F; f++) {
        free(px[f]);
        free(enc[f]);
    }
}

static void test_j2k_lossless_kept(void **state)
{
    (void)state;
    j2k_case(3, 8, 0, "YBR_RCT", DV_PHOTO_YBR_RCT, DV_PHOTO_RGB);
    j2k_case(3, 8, 0, "RGB", DV_PHOTO_RGB, DV_PHOTO_RGB);
    j2k_case(1, 16, 1, "MONOCHROME2", DV_PHOTO_MONOCHROME2, DV_PHOTO_MONOCHROME2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_for),
        cmocka_unit_test(test_metadata_only_decodes_nothing),
        cmocka_unit_test(test_no_text_keeps_pixels),
        cmocka_unit_test(test_redact_only_inside),
        cmocka_unit_test(test_embedded_overlay_cleared_too),
        cmocka_unit_test(test_multiframe),
        cmocka_unit_test(test_rgb_stays_rgb),
        cmocka_unit_test(test_nested_kept),
        cmocka_unit_test(test_observer),
        cmocka_unit_test(test_box_observer),
        cmocka_unit_test(test_fail_closed),
        cmocka_unit_test(test_redact_darkest_values),
        cmocka_unit_test(test_j2k_lossless_kept),
        cmocka_unit_test(test_float_pixels_redacted),
        cmocka_unit_test(test_unused_bits_cleared),
        cmocka_unit_test(test_overlay_goes_with_redaction),
        cmocka_unit_test(test_kept_overlay_searched),
        cmocka_unit_test(test_rle_unused_bits_cleared),
        cmocka_unit_test(test_jpegls_hidden_bits_cleared),
        cmocka_unit_test(test_j2k_hidden_bits_cleared),
        cmocka_unit_test(test_jpeg_lossless_hidden_bits_cleared),
        cmocka_unit_test(test_jpeg_baseline_hidden_bits_cleared),
        cmocka_unit_test(test_jpeg_native_after_all_regrants),
        cmocka_unit_test(test_jpegls_near_hidden_bits_cleared),
        cmocka_unit_test(test_deflate_frame_hidden_bits_cleared),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
