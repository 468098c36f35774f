/* JPEG Baseline redaction in the DCT domain (src/image/jpeg_dct_redact.c, dv_jpeg_dct.h).
 *
 * Streams are made here with libjpeg's own encoder (greyscale, YCbCr 4:4:4 / 4:2:2 / 4:2:0, RGB stored
 * untransformed, restart intervals, progressive and arithmetic for the refusals); the checks read the
 * coefficients of input and output through the same coefficient API: every block outside the covered MCUs
 * is identical, every block inside is flat (DC darkest or neutral, AC 0); and the output decodes through our
 * decoder with dark pixels in the boxes and the input's exact pixels elsewhere. Corpus files and
 * pydicom/Pillow decoding are integration.test_jpeg_dct. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

#include "dicomveil/dicomveil.h"
#include "image/dv_image.h"
#include "image/dv_jpeg_dct.h"
#include "image/dv_redact.h"
#include "dv_test_frames.h"
#include "../fuzz/fuzz_image_common.h"

#define TS_BASELINE "1.2.840.10008.1.2.4.50"

typedef struct enc_opts {
    int w, h, ncomp;
    int hs[3], vs[3];     /* sampling factors */
    int rgb;              /* store R, G, B untransformed (component ids 'R','G','B', no JFIF/Adobe) */
    int restart;          /* MCUs per restart interval */
    int progressive, arith;
    int quality;
} enc_opts;

static uint8_t sample_at(int x, int y, int c)
{
    /* Busy content in every component, so every block has AC coefficients. */
    return (uint8_t)((x * (3 + c) + y * (5 - c) + ((x * y + c * 17) % 23) * 7) & 255);
}

static uint8_t *encode(const enc_opts *o, size_t *len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    unsigned char *buf = NULL;
    unsigned long n = 0;
    jpeg_mem_dest(&c, &buf, &n);
    c.image_width = (JDIMENSION)o->w;
    c.image_height = (JDIMENSION)o->h;
    c.input_components = o->ncomp;
    c.in_color_space = o->ncomp == 1 ? JCS_GRAYSCALE : o->rgb ? JCS_RGB : JCS_YCbCr;
    jpeg_set_defaults(&c);
    if (o->rgb)
        jpeg_set_colorspace(&c, JCS_RGB);
    c.write_JFIF_header = o->ncomp == 1 || !o->rgb;
    c.write_Adobe_marker = FALSE;
    jpeg_set_quality(&c, o->quality ? o->quality : 85, TRUE);
    for (int i = 0; i < o->ncomp && o->ncomp > 1; i++) {
        c.comp_info[i].h_samp_factor = o->hs[i] ? o->hs[i] : 1;
        c.comp_info[i].v_samp_factor = o->vs[i] ? o->vs[i] : 1;
    }
    c.restart_interval = (unsigned)o->restart;
    c.arith_code = o->arith ? TRUE : FALSE;
    if (o->progressive)
        jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    const char *note = "dicomveil test COM";
    jpeg_write_marker(&c, JPEG_COM, (const JOCTET *)note, (unsigned)strlen(note));
    uint8_t *row = malloc((size_t)o->w * (size_t)o->ncomp);
    while (c.next_scanline < c.image_height) {
        int y = (int)c.next_scanline;
        for (int x = 0; x < o->w; x++)
            for (int k = 0; k < o->ncomp; k++)
                row[x * o->ncomp + k] = sample_at(x, y, k);
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    *len = n;
    return buf;
}

static dv_pixel_attrs attrs_for(const enc_opts *o, dv_photometric photo)
{
    dv_pixel_attrs pa;
    memset(&pa, 0, sizeof pa);
    pa.rows = (uint32_t)o->h;
    pa.columns = (uint32_t)o->w;
    pa.samples_per_pixel = (uint32_t)o->ncomp;
    pa.bits_allocated = 8;
    pa.bits_stored = 8;
    pa.high_bit = 7;
    pa.photometric = photo;
    pa.number_of_frames = 1;
    assert_int_equal(dv_pixel_attrs_validate(&pa, NULL, NULL), 0);
    return pa;
}

/* All coefficients of a stream, per component, as read by libjpeg's coefficient API. */
typedef struct coefs {
    int ncomp;
    int hs[3], vs[3], maxh, maxv;
    uint32_t wb[3], hb[3];
    JBLOCK *blk[3];
    unsigned restart;
    unsigned q0[3];
} coefs;

static void read_coefs(const uint8_t *d, size_t n, coefs *k)
{
    struct jpeg_decompress_struct s;
    struct jpeg_error_mgr jerr;
    s.err = jpeg_std_error(&jerr);
    jpeg_create_decompress(&s);
    jpeg_mem_src(&s, d, (unsigned long)n);
    assert_int_equal(jpeg_read_header(&s, TRUE), JPEG_HEADER_OK);
    jvirt_barray_ptr *arr = jpeg_read_coefficients(&s);
    memset(k, 0, sizeof *k);
    k->ncomp = s.num_components;
    k->maxh = s.max_h_samp_factor;
    k->maxv = s.max_v_samp_factor;
    k->restart = s.restart_interval;
    for (int c = 0; c < s.num_components; c++) {
        jpeg_component_info *ci = &s.comp_info[c];
        k->hs[c] = ci->h_samp_factor;
        k->vs[c] = ci->v_samp_factor;
        k->wb[c] = ci->width_in_blocks;
        k->hb[c] = ci->height_in_blocks;
        k->q0[c] = s.quant_tbl_ptrs[ci->quant_tbl_no]->quantval[0];
        k->blk[c] = malloc((size_t)k->wb[c] * k->hb[c] * sizeof(JBLOCK));
        for (uint32_t by = 0; by < k->hb[c]; by++) {
            JBLOCKARRAY row = (*s.mem->access_virt_barray)((j_common_ptr)&s, arr[c], by, 1, FALSE);
            memcpy(k->blk[c] + (size_t)by * k->wb[c], row[0], k->wb[c] * sizeof(JBLOCK));
        }
    }
    jpeg_finish_decompress(&s);
    jpeg_destroy_decompress(&s);
}

static void free_coefs(coefs *k)
{
    for (int c = 0; c < 3; c++)
        free(k->blk[c]);
}

/* 1 when pixel rectangle r contains the pixels of block (bx, by) of component c. */
static int block_in(const coefs *k, int c, uint32_t bx, uint32_t by, const dv_box *r, size_t nr)
{
    /* A block of component c spans 8 * max / samp pixels (single-component streams: 8). */
    uint32_t pw = k->ncomp == 1 ? 8 : 8u * (uint32_t)k->maxh / (uint32_t)k->hs[c];
    uint32_t ph = k->ncomp == 1 ? 8 : 8u * (uint32_t)k->maxv / (uint32_t)k->vs[c];
    uint32_t x = bx * pw, y = by * ph;
    for (size_t i = 0; i < nr; i++)
        if (r[i].w && x >= r[i].x && x < r[i].x + r[i].w && y >= r[i].y && y < r[i].y + r[i].h)
            return 1;
    return 0;
}

/* Redact, then check coefficients: outside the covered rectangles identical, inside flat with the expected
 * DC. Returns the number of flat blocks; *outp and *outn receive the output (caller frees). */
static size_t redact_and_check(const enc_opts *o, dv_photometric photo, const dv_box *bx, size_t nb,
                               dv_box *covered, uint8_t **outp, size_t *outn)
{
    size_t n;
    uint8_t *in = encode(o, &n);
    dv_pixel_attrs pa = attrs_for(o, photo);
    dv_boxes boxes = {(dv_box *)bx, nb, nb};
    dv_error err = {0};
    uint8_t *out = NULL;
    size_t on = 0;
    assert_int_equal(dv_jpeg_dct_redact(&pa, in, n, &boxes, &out, &on, covered, &err), 0);
    assert_non_null(out);
    assert_int_equal(on % 2, 0);
    coefs a, b;
    read_coefs(in, n, &a);
    read_coefs(out, on, &b);
    assert_int_equal(a.ncomp, b.ncomp);
    assert_int_equal(a.restart, b.restart);
    size_t flat = 0;
    for (int c = 0; c < a.ncomp; c++) {
        assert_int_equal(a.hs[c], b.hs[c]);
        assert_int_equal(a.vs[c], b.vs[c]);
        assert_int_equal(a.wb[c], b.wb[c]);
        assert_int_equal(a.hb[c], b.hb[c]);
        assert_int_equal(a.q0[c], b.q0[c]);
        int dark = (int)((1024 + a.q0[c] - 1) / a.q0[c]);
        int bright = (int)((1016 + a.q0[c] - 1) / a.q0[c]);
        int want = c > 0 && !o->rgb ? 0 : photo == DV_PHOTO_MONOCHROME1 ? bright : -dark;
        for (uint32_t by = 0; by < a.hb[c]; by++)
            for (uint32_t x = 0; x < a.wb[c]; x++) {
                const JCOEF *pa_ = a.blk[c][(size_t)by * a.wb[c] + x], *pb = b.blk[c][(size_t)by * b.wb[c] + x];
                if (block_in(&a, c, x, by, covered, nb)) {
                    flat++;
                    assert_int_equal(pb[0], want);
                    for (int i = 1; i < DCTSIZE2; i++)
                        assert_int_equal(pb[i], 0);
                } else {
                    assert_memory_equal(pa_, pb, sizeof(JBLOCK)); /* bit for bit */
                }
            }
    }
    free_coefs(&a);
    free_coefs(&b);
    free(in);
    *outp = out;
    *outn = on;
    return flat;
}

static uint8_t *decode_ours(const enc_opts *o, dv_photometric photo, const uint8_t *d, size_t n)
{
    dv_pixel_attrs pa = attrs_for(o, photo);
    dv_image_ctx *ctx = dv_image_ctx_new(NULL);
    dv_error err = {0};
    size_t cap = dv_image_frame_capacity(&pa, DV_TSF_JPEG_BASELINE, NULL, &err);
    dv_frame f = {.data = malloc(cap), .cap = cap};
    assert_int_equal(dv_image_decode_frame(ctx, TS_BASELINE, &pa, 0, d, n, &f, &err), 0);
    dv_image_ctx_free(ctx);
    return f.data;
}

/* Greyscale: blocks outside bit-identical, decoded pixels outside identical and inside 0; covered rectangles
 * are the boxes widened to the 8x8 grid; boxes outside the frame or empty cover nothing. */
static void test_dct_blocks_outside_identical(void **state)
{
    (void)state;
    enc_opts o = {.w = 101, .h = 67, .ncomp = 1};
    dv_box bx[] = {{10, 5, 20, 9}, {95, 60, 50, 50}, {0, 0, 0, 4}, {200, 3, 4, 4}, {40, 30, 1, 1}};
    dv_box cov[5];
    uint8_t *out;
    size_t on;
    size_t flat = redact_and_check(&o, DV_PHOTO_MONOCHROME2, bx, 5, cov, &out, &on);
    assert_int_equal(cov[0].x, 8);
    assert_int_equal(cov[0].y, 0);
    assert_int_equal(cov[0].w, 24);
    assert_int_equal(cov[0].h, 16);
    assert_int_equal(cov[1].x, 88); /* clipped to the frame */
    assert_int_equal(cov[1].w, 13);
    assert_int_equal(cov[1].h, 11);
    assert_int_equal(cov[2].w, 0);
    assert_int_equal(cov[3].w, 0);
    assert_int_equal(cov[4].w, 8);
    assert_int_equal(flat, 3 * 2 + 2 * 2 + 1);
    size_t n;
    uint8_t *in = encode(&o, &n);
    uint8_t *a = decode_ours(&o, DV_PHOTO_MONOCHROME2, in, n);
    uint8_t *b = decode_ours(&o, DV_PHOTO_MONOCHROME2, out, on);
    size_t dark = 0;
    for (uint32_t y = 0; y < 67; y++)
        for (uint32_t x = 0; x < 101; x++) {
            dv_box p = {x, y, 1, 1};
            int inside = block_in(&(coefs){.ncomp = 1}, 0, x / 8, y / 8, cov, 5);
            (void)p;
            if (inside) {
                assert_int_equal(b[y * 101 + x], 0);
                dark++;
            } else {
                assert_int_equal(a[y * 101 + x], b[y * 101 + x]); /* same IDCT, same coefficients */
            }
        }
    assert_int_equal(dark, 24 * 16 + 13 * 11 + 8 * 8);
    free(a);
    free(b);
    free(in);
    free(out);
}

/* MONOCHROME1 shows high values dark: the flat blocks decode to 255. */
static void test_dct_monochrome1_bright(void **state)
{
    (void)state;
    enc_opts o = {.w = 64, .h = 64, .ncomp = 1, .quality = 50};
    dv_box bx[] = {{16, 16, 16, 16}};
    dv_box cov[1];
    uint8_t *out;
    size_t on;
    redact_and_check(&o, DV_PHOTO_MONOCHROME1, bx, 1, cov, &out, &on);
    uint8_t *b = decode_ours(&o, DV_PHOTO_MONOCHROME1, out, on);
    for (uint32_t y = 16; y < 32; y++)
        for (uint32_t x = 16; x < 32; x++)
            assert_int_equal(b[y * 64 + x], 255);
    free(b);
    free(out);
}

/* Colour: YCbCr 4:4:4, 4:2:2 and 4:2:0 cover whole MCUs (8x8, 16x8, 16x16), luma dark and chroma neutral;
 * RGB stored untransformed gets all three components dark. Decoded without colour conversion (YBR_FULL),
 * Y is 0 in the whole covered rectangle and Cb, Cr are 128 inside it (the outermost pixel row/column may
 * blend with the neighbouring chroma through libjpeg's upsampling filter: that is outside colour leaking in,
 * never the box's content leaking out). */
static void test_dct_sampling_factors(void **state)
{
    (void)state;
    struct {
        int hs0, vs0, rgb;
        uint32_t mw, mh;
    } cases[] = {{1, 1, 0, 8, 8}, {2, 1, 0, 16, 8}, {2, 2, 0, 16, 16}, {1, 1, 1, 8, 8}};
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        enc_opts o = {.w = 77, .h = 45, .ncomp = 3, .hs = {cases[t].hs0, 1, 1}, .vs = {cases[t].vs0, 1, 1},
                      .rgb = cases[t].rgb, .restart = t == 2 ? 3 : 0};
        dv_photometric photo = o.rgb ? DV_PHOTO_RGB : cases[t].hs0 == 1 ? DV_PHOTO_YBR_FULL : DV_PHOTO_YBR_FULL_422;
        dv_box bx[] = {{20, 18, 9, 5}};
        dv_box cov[1];
        uint8_t *out;
        size_t on;
        redact_and_check(&o, photo, bx, 1, cov, &out, &on);
        assert_int_equal(cov[0].x % cases[t].mw, 0);
        assert_int_equal(cov[0].y % cases[t].mh, 0);
        assert_true(cov[0].x <= 20 && cov[0].x + cov[0].w >= 29 && cov[0].y <= 18 && cov[0].y + cov[0].h >= 23);
        assert_true(cov[0].w <= 2 * cases[t].mw && cov[0].h <= 2 * cases[t].mh);
        uint8_t *b = decode_ours(&o, photo, out, on);
        for (uint32_t y = cov[0].y; y < cov[0].y + cov[0].h; y++)
            for (uint32_t x = cov[0].x; x < cov[0].x + cov[0].w; x++) {
                const uint8_t *p = b + ((size_t)y * 77 + x) * 3;
                int edge = x == cov[0].x || y == cov[0].y || x + 1 == cov[0].x + cov[0].w || y + 1 == cov[0].y + cov[0].h;
                if (o.rgb) {
                    assert_int_equal(p[0] | p[1] | p[2], 0);
                } else {
                    assert_int_equal(p[0], 0);
                    if (!edge) {
                        assert_int_equal(p[1], 128);
                        assert_int_equal(p[2], 128);
                    }
                }
            }
        free(b);
        free(out);
    }
}

/* The restart interval, the APPn/COM markers and the component identifiers travel with the stream. */
static void test_dct_restart_and_markers(void **state)
{
    (void)state;
    enc_opts o = {.w = 128, .h = 40, .ncomp = 3, .hs = {2, 1, 1}, .vs = {2, 1, 1}, .restart = 2};
    dv_box bx[] = {{0, 0, 128, 8}};
    dv_box cov[1];
    uint8_t *out;
    size_t on;
    redact_and_check(&o, DV_PHOTO_YBR_FULL_422, bx, 1, cov, &out, &on);
    size_t n;
    uint8_t *in = encode(&o, &n);
    /* DRI value 2, and as many RSTn markers as the input has */
    size_t rst_in = 0, rst_out = 0;
    int dri = -1;
    for (size_t i = 0; i + 1 < n; i++)
        rst_in += in[i] == 0xFF && in[i + 1] >= 0xD0 && in[i + 1] <= 0xD7;
    for (size_t i = 0; i + 5 < on; i++) {
        rst_out += out[i] == 0xFF && out[i + 1] >= 0xD0 && out[i + 1] <= 0xD7;
        if (out[i] == 0xFF && out[i + 1] == 0xDD)
            dri = out[i + 4] << 8 | out[i + 5];
    }
    assert_int_equal(dri, 2);
    assert_true(rst_in > 0);
    assert_int_equal(rst_out, rst_in);
    assert_non_null(memmem(out, on, "dicomveil test COM", 18));
    assert_non_null(memmem(out, on, "JFIF", 4));
    /* SOF component ids as the input's (1, 2, 3 here) */
    const uint8_t *sof = memmem(out, on, "\xFF\xC0", 2);
    assert_non_null(sof);
    assert_int_equal(sof[10], 1);
    assert_int_equal(sof[11], 0x22);
    assert_int_equal(sof[13], 2);
    free(in);
    free(out);
}

/* Refusals: progressive and arithmetic are unsupported (the stage falls back to decode + paint + re-encode),
 * truncated or lying streams malformed, oversize input a limit checked before libjpeg; *out stays NULL. */
static void test_dct_refuses(void **state)
{
    (void)state;
    dv_box bx[] = {{1, 1, 4, 4}};
    dv_boxes boxes = {bx, 1, 1};
    struct {
        enc_opts o;
        int cut, lie;
        dv_code want;
    } cases[] = {
        {{.w = 32, .h = 32, .ncomp = 1, .progressive = 1}, 0, 0, DV_ERR_UNSUPPORTED},
        {{.w = 32, .h = 32, .ncomp = 3, .arith = 1}, 0, 0, DV_ERR_UNSUPPORTED},
        {{.w = 32, .h = 32, .ncomp = 1}, 1, 0, DV_ERR_MALFORMED},
        {{.w = 32, .h = 32, .ncomp = 3}, 0, 1, DV_ERR_MALFORMED},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        size_t n;
        uint8_t *in = encode(&cases[t].o, &n);
        dv_pixel_attrs pa = attrs_for(&cases[t].o, cases[t].o.ncomp == 1 ? DV_PHOTO_MONOCHROME2 : DV_PHOTO_YBR_FULL);
        if (cases[t].lie)
            pa.rows = 33;
        uint8_t *out = (uint8_t *)1;
        size_t on = 7;
        dv_box cov[1] = {{9, 9, 9, 9}};
        dv_error err = {0};
        assert_int_equal(dv_jpeg_dct_redact(&pa, in, cases[t].cut ? n / 2 : n, &boxes, &out, &on, cov, &err), -1);
        assert_int_equal(err.code, cases[t].want);
        assert_null(out);
        assert_int_equal(on, 0);
        assert_int_equal(cov[0].w, 0);
        free(in);
    }
    /* larger than the encoded-frame cap: refused before anything reads the bytes */
    enc_opts o = {.w = 8, .h = 8, .ncomp = 1};
    dv_pixel_attrs pa = attrs_for(&o, DV_PHOTO_MONOCHROME2);
    dv_image_limits lim;
    dv_image_limits_default(&lim);
    uint8_t one = 0xFF, *out = NULL;
    size_t on;
    dv_error err = {0};
    assert_int_equal(dv_jpeg_dct_redact(&pa, &one, (size_t)lim.max_encoded_bytes + 1, &boxes, &out, &on, NULL, &err),
                     -1);
    assert_int_equal(err.code, DV_ERR_LIMIT);
    /* 12-bit JPEG Extended (corpus): unsupported, as for decoding */
    char path[1024];
    snprintf(path, sizeof path, "%s/dicom/pydicom/JPGExtended.dcm", DV_SHARED_DATA);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    size_t fn = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t *file = malloc(fn);
    assert_int_equal(fread(file, 1, fn, fp), fn);
    fclose(fp);
    dv_mem_source ms;
    dv_source src = dv_source_memory(&ms, file, fn);
    dv_instance *inst = dv_instance_read(&src, NULL, &err);
    assert_non_null(inst);
    assert_int_equal(dv_pixel_attrs_read(inst, NULL, &pa, &err), 0);
    uint8_t *fb = NULL;
    size_t fl = 0;
    assert_int_equal(dv_test_frame_bytes(inst, 0, pa.number_of_frames, &fb, &fl, &err), 0);
    assert_int_equal(dv_jpeg_dct_redact(&pa, fb, fl, &boxes, &out, &on, NULL, &err), -1);
    assert_int_equal(err.code, DV_ERR_UNSUPPORTED);
    free(fb);
    dv_instance_free(inst);
    free(file);
}

/* fuzz_jpeg_dct findings (tests/fuzz/regressions/jpeg_dct/, layout of fuzz_jpeg_dct.c) and the class each
 * fails with now: coefficients beyond the 8-bit range (libjpeg's encoder would have written them as garbage,
 * so blocks outside the boxes changed) and fractional sampling factors (readable as coefficients, not
 * decodable: the output could not be checked) and a quantisation table redefined between scans for a component
 * in no scan (the output carried the later, unusable table: it could not be redacted again). */
static void test_dct_fuzz_regressions(void **state)
{
    (void)state;
    const struct {
        const char *name;
        dv_code want;
    } cases[] = {{"coef-out-of-range", DV_ERR_MALFORMED}, {"fractional-sampling", DV_ERR_UNSUPPORTED},
                 {"table-redefined", DV_ERR_MALFORMED}};
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/tests/fuzz/regressions/jpeg_dct/%s", DV_SOURCE_DIR, cases[t].name);
        FILE *fp = fopen(path, "rb");
        assert_non_null(fp);
        uint8_t d[65536];
        size_t size = fread(d, 1, sizeof d, fp);
        fclose(fp);
        dv_pixel_attrs pa;
        assert_int_equal(fuzz_image_attrs(d, size, &pa), 0);
        size_t nb = d[0] & 7;
        dv_box bx[8];
        const uint8_t *p = d + FUZZ_IMAGE_PREFIX;
        for (size_t i = 0; i < nb; i++, p += 8)
            bx[i] = (dv_box){(uint32_t)(p[0] | p[1] << 8), (uint32_t)(p[2] | p[3] << 8),
                             (uint32_t)(p[4] | p[5] << 8), (uint32_t)(p[6] | p[7] << 8)};
        dv_boxes boxes = {bx, nb, 8};
        uint8_t *out = NULL;
        size_t on = 0;
        dv_error err = {0};
        assert_int_equal(dv_jpeg_dct_redact(&pa, p, size - (size_t)(p - d), &boxes, &out, &on, NULL, &err), -1);
        assert_int_equal(err.code, cases[t].want);
        assert_null(out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dct_blocks_outside_identical),
        cmocka_unit_test(test_dct_monochrome1_bright),
        cmocka_unit_test(test_dct_sampling_factors),
        cmocka_unit_test(test_dct_restart_and_markers),
        cmocka_unit_test(test_dct_refuses),
        cmocka_unit_test(test_dct_fuzz_regressions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
