/* Text-region detection (issue 11 item 2a): the gray8 view of every photometric (src/image/gray8.c), the box
 * helpers (boxes.c), and the detector (textdetect.c): glyph-like strokes drawn here are found and covered
 * whole, plain and noisy frames without text give nothing, edge cases (1x1, all white, all black, a huge
 * frame) stay within the frame and the time bound, and the cine reuse gives the same boxes as a fresh
 * search while a changed overlay is searched again. Scores on realistic images: tests/image/score_textdetect
 * (integration.test_textdetect_score). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/dv_image.h"
#include "image/dv_morph.h"
#include "image/dv_redact.h"
#include "dv_invariants.h"

/* ---------- the top-hat's min and max filters ---------- */

/* dv_minmax11 against the plain definition (every window's min or max, clipped at the edges) on random
 * pictures of widths around the 16-byte blocks and heights around the window, textured and with flat runs; in
 * place (out = in) too. */
static void test_minmax11(void **s)
{
    (void)s;
    static const uint32_t ws[] = {1, 2, 5, 11, 15, 16, 17, 31, 33, 64, 77};
    static const uint32_t hs[] = {1, 3, 6, 10, 11, 12, 23, 40};
    uint32_t seed = 12345;
    for (size_t wi = 0; wi < sizeof ws / sizeof *ws; wi++)
        for (size_t hi = 0; hi < sizeof hs / sizeof *hs; hi++)
            for (int is_max = 0; is_max < 2; is_max++) {
                uint32_t w = ws[wi], h = hs[hi];
                size_t n = (size_t)w * h;
                uint8_t *in = malloc(n), *tmp = malloc(n), *out = malloc(n), *ref = malloc(n);
                uint8_t *row = malloc(w + DV_MINMAX_K - 1), *col = malloc((h + DV_MINMAX_K - 1) * (size_t)w);
                assert_non_null(in && tmp && out && ref && row && col);
                for (size_t i = 0; i < n; i++) {
                    seed = seed * 1103515245u + 12345u;
                    in[i] = (seed >> 16) % 4 == 0 ? 200 : (uint8_t)(seed >> 8); /* texture and flat runs */
                }
                const int r = (int)DV_MINMAX_K / 2;
                for (int y = 0; y < (int)h; y++)
                    for (int x = 0; x < (int)w; x++) {
                        uint8_t v = is_max ? 0 : 255;
                        for (int yy = y - r; yy <= y + r; yy++)
                            for (int xx = x - r; xx <= x + r; xx++) {
                                if (yy < 0 || yy >= (int)h || xx < 0 || xx >= (int)w)
                                    continue;
                                uint8_t p = in[(size_t)yy * w + (size_t)xx];
                                v = is_max ? (p > v ? p : v) : (p < v ? p : v);
                            }
                        ref[(size_t)y * w + (size_t)x] = v;
                    }
                dv_minmax11(in, tmp, out, w, h, is_max, row, col);
                assert_memory_equal(out, ref, n);
                dv_minmax11(in, tmp, in, w, h, is_max, row, col); /* in place */
                assert_memory_equal(in, ref, n);
                free(in), free(tmp), free(out), free(ref), free(row), free(col);
            }
}

/* ---------- gray8 ---------- */

static dv_frame frame_of(void *data, size_t cap, uint32_t w, uint32_t h, uint32_t spp, uint32_t sb, uint32_t bits,
                         int is_signed, dv_photometric p)
{
    dv_frame f;
    memset(&f, 0, sizeof f);
    f.data = data;
    f.cap = cap;
    f.width = w;
    f.height = h;
    f.samples = spp;
    f.sample_bytes = sb;
    f.bits_stored = bits;
    f.is_signed = is_signed;
    f.photometric = p;
    return f;
}

static void test_gray8_mono8_window(void **s)
{
    (void)s;
    uint8_t px[4] = {10, 20, 30, 110};
    dv_frame f = frame_of(px, sizeof px, 2, 2, 1, 1, 8, 0, DV_PHOTO_MONOCHROME2);
    dv_gray8 g = {0};
    assert_int_equal(dv_gray8_from_frame(&f, NULL, &g, NULL), 0);
    assert_int_equal(g.width, 2);
    assert_int_equal(g.height, 2);
    /* windowed over [10, 110]: 0, 25.5, 51, 255 */
    assert_int_equal(g.px[0], 0);
    assert_int_equal(g.px[1], 26);
    assert_int_equal(g.px[2], 51);
    assert_int_equal(g.px[3], 255);
    dv_gray8_free(&g);
}

static void test_gray8_monochrome1_inverted(void **s)
{
    (void)s;
    uint16_t px[3] = {0, 512, 1023};
    dv_frame f = frame_of(px, sizeof px, 3, 1, 1, 2, 10, 0, DV_PHOTO_MONOCHROME1);
    dv_gray8 g = {0};
    assert_int_equal(dv_gray8_from_frame(&f, NULL, &g, NULL), 0);
    assert_int_equal(g.px[0], 255); /* the minimum shows white in MONOCHROME1 */
    assert_int_equal(g.px[1], 127); /* 255 - round(512 * 255 / 1023) */
    assert_int_equal(g.px[2], 0);
    dv_gray8_free(&g);
}

static void test_gray8_signed_and_16bit(void **s)
{
    (void)s;
    /* CT-like signed 16-bit: air -1024 .. an overlay burned at 3071 */
    int16_t px[4] = {-1024, 0, 40, 3071};
    dv_frame f = frame_of(px, sizeof px, 4, 1, 1, 2, 12, 1, DV_PHOTO_MONOCHROME2);
    dv_gray8 g = {0};
    assert_int_equal(dv_gray8_from_frame(&f, NULL, &g, NULL), 0);
    assert_int_equal(g.px[0], 0);
    assert_int_equal(g.px[1], 64);  /* 1024 * 255 / 4095 = 63.76 */
    assert_int_equal(g.px[2], 66);
    assert_int_equal(g.px[3], 255); /* the burned-in overlay stays at the top */
    /* 32-bit signed goes through the arithmetic path */
    int32_t p32[3] = {-100000, 0, 100000};
    dv_frame f32 = frame_of(p32, sizeof p32, 3, 1, 1, 4, 32, 1, DV_PHOTO_MONOCHROME2);
    assert_int_equal(dv_gray8_from_frame(&f32, NULL, &g, NULL), 0);
    assert_int_equal(g.width, 3);
    assert_int_equal(g.px[0], 0);
    assert_int_equal(g.px[1], 128);
    assert_int_equal(g.px[2], 255);
    /* a constant frame shows nothing */
    uint8_t flat[4] = {7, 7, 7, 7};
    dv_frame ff = frame_of(flat, sizeof flat, 2, 2, 1, 1, 8, 0, DV_PHOTO_MONOCHROME2);
    assert_int_equal(dv_gray8_from_frame(&ff, NULL, &g, NULL), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(g.px[i], 0);
    dv_gray8_free(&g);
}

static void test_gray8_colour(void **s)
{
    (void)s;
    /* RGB: yellow, pure blue, dark grey -> brightest channel */
    uint8_t rgb[9] = {255, 230, 0, 0, 0, 200, 40, 40, 40};
    dv_frame f = frame_of(rgb, sizeof rgb, 3, 1, 3, 1, 8, 0, DV_PHOTO_RGB);
    dv_gray8 g = {0};
    assert_int_equal(dv_gray8_from_frame(&f, NULL, &g, NULL), 0);
    assert_int_equal(g.px[0], 255);
    assert_int_equal(g.px[1], 200);
    assert_int_equal(g.px[2], 40);
    /* YBR_FULL: white (255,128,128), black (0,128,128), pure red (76,85,255) -> converted first */
    uint8_t ybr[9] = {255, 128, 128, 0, 128, 128, 76, 85, 255};
    dv_frame y = frame_of(ybr, sizeof ybr, 3, 1, 3, 1, 8, 0, DV_PHOTO_YBR_FULL);
    assert_int_equal(dv_gray8_from_frame(&y, NULL, &g, NULL), 0);
    assert_int_equal(g.px[0], 255);
    assert_int_equal(g.px[1], 0);
    assert_true(g.px[2] >= 250); /* red's R channel, not its luminance (76) */
    /* 16-bit RGB scaled by the bits stored */
    uint16_t rgb16[3] = {4095, 0, 0};
    dv_frame f16 = frame_of(rgb16, sizeof rgb16, 1, 1, 3, 2, 12, 0, DV_PHOTO_RGB);
    assert_int_equal(dv_gray8_from_frame(&f16, NULL, &g, NULL), 0);
    assert_int_equal(g.px[0], 255);
    dv_gray8_free(&g);
}

static void test_gray8_palette(void **s)
{
    (void)s;
    uint16_t lut[3 * 4] = {0, 0xFF00, 0, 0x8000,   /* red */
                           0, 0, 0xFFFF, 0x8000,   /* green */
                           0, 0, 0, 0x8000};       /* blue */
    dv_palette pal = {.entries = 4, .first_mapped = 10, .bits = 16, .lut = lut};
    uint8_t idx[5] = {10, 11, 12, 13, 200}; /* 200 clamps to the last entry */
    dv_frame f = frame_of(idx, sizeof idx, 5, 1, 1, 1, 8, 0, DV_PHOTO_PALETTE_COLOR);
    dv_gray8 g = {0};
    assert_int_equal(dv_gray8_from_frame(&f, &pal, &g, NULL), 0);
    assert_int_equal(g.px[0], 0);
    assert_int_equal(g.px[1], 255);
    assert_int_equal(g.px[2], 255);
    assert_int_equal(g.px[3], 128);
    assert_int_equal(g.px[4], 128);
    /* 8-bit tables keep 0..255 */
    uint16_t lut8[3 * 2] = {0, 200, 0, 100, 0, 50};
    dv_palette p8 = {.entries = 2, .first_mapped = 0, .bits = 8, .lut = lut8};
    uint8_t i8[2] = {0, 1};
    dv_frame f8 = frame_of(i8, sizeof i8, 2, 1, 1, 1, 8, 0, DV_PHOTO_PALETTE_COLOR);
    assert_int_equal(dv_gray8_from_frame(&f8, &p8, &g, NULL), 0);
    assert_int_equal(g.px[1], 200);
    /* no palette: a usage error, never a guess */
    dv_error err = {0};
    assert_int_equal(dv_gray8_from_frame(&f8, NULL, &g, &err), -1);
    assert_int_equal(err.code, DV_ERR_USAGE);
    dv_gray8_free(&g);
}

static void test_gray8_refusals(void **s)
{
    (void)s;
    uint8_t px[12] = {0};
    dv_gray8 g = {0};
    dv_error err = {0};
    dv_frame f = frame_of(px, sizeof px, 2, 2, 1, 1, 8, 0, DV_PHOTO_YBR_PARTIAL_420);
    assert_int_equal(dv_gray8_from_frame(&f, NULL, &g, &err), -1);
    assert_int_equal(err.code, DV_ERR_UNSUPPORTED);
    f = frame_of(px, sizeof px, 2, 2, 1, 1, 8, 0, DV_PHOTO_RGB); /* 1 sample for RGB */
    assert_int_equal(dv_gray8_from_frame(&f, NULL, &g, &err), -1);
    assert_int_equal(err.code, DV_ERR_USAGE);
    f = frame_of(px, 3, 2, 2, 1, 1, 8, 0, DV_PHOTO_MONOCHROME2); /* buffer too small */
    assert_int_equal(dv_gray8_from_frame(&f, NULL, &g, &err), -1);
    assert_int_equal(err.code, DV_ERR_USAGE);
    dv_gray8_free(&g);
}

/* ---------- boxes ---------- */

static void test_boxes_geometry(void **s)
{
    (void)s;
    dv_box b = {10, 10, 5, 5};
    dv_box p = dv_box_pad(b, 3, 2, 100, 100);
    assert_int_equal(p.x, 7);
    assert_int_equal(p.y, 8);
    assert_int_equal(p.w, 11);
    assert_int_equal(p.h, 9);
    p = dv_box_pad(b, 20, 20, 18, 100); /* clipped at 0 and at the frame */
    assert_int_equal(p.x, 0);
    assert_int_equal(p.w, 18);
    dv_box edge = {UINT32_MAX - 2, 0, 10, 1}; /* no wrap-around */
    dv_box c = dv_box_clip(edge, 100, 100);
    assert_int_equal(c.w, 0);
    p = dv_box_pad(edge, 5, 5, UINT32_MAX, 10);
    assert_int_equal((uint64_t)p.x + p.w, UINT32_MAX);
    dv_box a = {0, 0, 4, 4}, d = {4, 0, 4, 4}, e = {3, 3, 2, 2};
    assert_false(dv_box_intersects(a, d)); /* [0,4) and [4,8) touch, do not overlap */
    assert_true(dv_box_intersects(a, e));
    dv_box u = dv_box_union(a, d);
    assert_int_equal(u.w, 8);
    dv_box z = {5, 5, 0, 3};
    u = dv_box_union(z, a);
    assert_int_equal(u.x, 0);
    assert_int_equal(u.w, 4);
}

static void test_boxes_merge_and_limit(void **s)
{
    (void)s;
    dv_boxes b = {0};
    /* a chain a-b-c where c only meets the union of a and b; d apart; an empty box dropped */
    assert_int_equal(dv_boxes_add(&b, (dv_box){0, 0, 10, 10}, NULL), 0);
    assert_int_equal(dv_boxes_add(&b, (dv_box){50, 50, 5, 5}, NULL), 0);
    assert_int_equal(dv_boxes_add(&b, (dv_box){15, 0, 10, 10}, NULL), 0);
    assert_int_equal(dv_boxes_add(&b, (dv_box){5, 5, 12, 2}, NULL), 0);
    assert_int_equal(dv_boxes_add(&b, (dv_box){1, 1, 0, 0}, NULL), 0);
    dv_boxes_merge_overlapping(&b);
    assert_int_equal(b.n, 2);
    int found = 0;
    for (size_t i = 0; i < b.n; i++)
        if (b.v[i].x == 0 && b.v[i].w == 25 && b.v[i].h == 10)
            found = 1;
    assert_true(found);
    dv_boxes_clear(&b);
    assert_int_equal(b.n, 0);
    dv_error err = {0};
    int rc = 0;
    for (uint32_t i = 0; i <= DV_BOXES_MAX && rc == 0; i++)
        rc = dv_boxes_add(&b, (dv_box){i, 0, 1, 1}, &err);
    assert_int_equal(rc, -1);
    assert_int_equal(err.code, DV_ERR_LIMIT);
    assert_int_equal(b.n, DV_BOXES_MAX);
    dv_boxes_free(&b);
}

/* ---------- detector ---------- */

static dv_gray8 picture(uint32_t w, uint32_t h, uint8_t v)
{
    dv_gray8 g = {0};
    g.px = malloc((size_t)w * h);
    assert_non_null(g.px);
    memset(g.px, v, (size_t)w * h);
    g.width = w;
    g.height = h;
    g.cap = (size_t)w * h;
    return g;
}

static void rect(dv_gray8 *g, uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint8_t v)
{
    for (uint32_t yy = y; yy < y + h && yy < g->height; yy++)
        for (uint32_t xx = x; xx < x + w && xx < g->width; xx++)
            g->px[(size_t)yy * g->width + xx] = v;
}

/* A block-letter glyph of height sz (stroke sz/8+1) at x, y: shapes H, E, L, T, U in turn. */
static void glyph(dv_gray8 *g, uint32_t x, uint32_t y, uint32_t sz, int shape, uint8_t v)
{
    uint32_t st = sz / 8 + 1, w = sz * 2 / 3;
    switch (shape % 5) {
    case 0: /* H */
        rect(g, x, y, st, sz, v), rect(g, x + w - st, y, st, sz, v), rect(g, x, y + sz / 2, w, st, v);
        break;
    case 1: /* E */
        rect(g, x, y, st, sz, v), rect(g, x, y, w, st, v), rect(g, x, y + sz / 2, w - st, st, v);
        rect(g, x, y + sz - st, w, st, v);
        break;
    case 2: /* L */
        rect(g, x, y, st, sz, v), rect(g, x, y + sz - st, w, st, v);
        break;
    case 3: /* T */
        rect(g, x, y, w, st, v), rect(g, x + w / 2 - st / 2, y, st, sz, v);
        break;
    default: /* U */
        rect(g, x, y, st, sz, v), rect(g, x + w - st, y, st, sz, v), rect(g, x, y + sz - st, w, st, v);
    }
}

/* A line of n glyphs; returns its ink box. */
static dv_box text_line(dv_gray8 *g, uint32_t x, uint32_t y, uint32_t sz, int n, uint8_t v)
{
    uint32_t adv = sz * 2 / 3 + sz / 4 + 1;
    for (int i = 0; i < n; i++)
        glyph(g, x + (uint32_t)i * adv, y, sz, i, v);
    return (dv_box){x, y, (uint32_t)(n - 1) * adv + sz * 2 / 3, sz};
}

/* Deterministic speckle-like texture (xorshift), values in [lo, hi]. */
static void noise(dv_gray8 *g, uint32_t x0, uint32_t y0, uint32_t w, uint32_t h, uint8_t lo, uint8_t hi, uint32_t seed)
{
    uint32_t st = seed * 2654435761u + 1;
    for (uint32_t y = y0; y < y0 + h && y < g->height; y++)
        for (uint32_t x = x0; x < x0 + w && x < g->width; x++) {
            st ^= st << 13, st ^= st >> 17, st ^= st << 5;
            g->px[(size_t)y * g->width + x] = (uint8_t)(lo + st % (uint32_t)(hi - lo + 1));
        }
}

static int covered(const dv_boxes *b, dv_box ink)
{
    for (size_t i = 0; i < b->n; i++) {
        const dv_box *o = &b->v[i];
        if (o->x <= ink.x && o->y <= ink.y && (uint64_t)o->x + o->w >= (uint64_t)ink.x + ink.w &&
            (uint64_t)o->y + o->h >= (uint64_t)ink.y + ink.h)
            return 1;
    }
    return 0;
}

static void assert_inside(const dv_boxes *b, uint32_t w, uint32_t h)
{
    for (size_t i = 0; i < b->n; i++) {
        assert_true(b->v[i].w > 0 && b->v[i].h > 0);
        assert_true((uint64_t)b->v[i].x + b->v[i].w <= w);
        assert_true((uint64_t)b->v[i].y + b->v[i].h <= h);
    }
}

static uint64_t area(const dv_boxes *b)
{
    uint64_t a = 0;
    for (size_t i = 0; i < b->n; i++)
        a += (uint64_t)b->v[i].w * b->v[i].h;
    return a;
}

static void test_detect_lines_whole_span(void **s)
{
    (void)s;
    dv_gray8 g = picture(400, 300, 0);
    dv_box big = text_line(&g, 20, 20, 14, 9, 255);   /* white, 14 px */
    dv_box grey = text_line(&g, 20, 250, 10, 6, 170); /* grey, 10 px */
    dv_box tiny = text_line(&g, 250, 120, 6, 7, 255); /* 6 px: small MR text */
    dv_textdetect *td = dv_textdetect_new();
    dv_boxes b = {0};
    dv_error err = {0};
    assert_int_equal(dv_textdetect_find(td, &g, 0, &b, &err), 0);
    assert_inside(&b, g.width, g.height);
    assert_true(covered(&b, big));  /* the whole line in one box, not part of it */
    assert_true(covered(&b, grey));
    assert_true(covered(&b, tiny));
    assert_true(area(&b) < (uint64_t)g.width * g.height / 5);
    dv_boxes_free(&b);
    dv_textdetect_free(td);
    free(g.px);
}

/* One box per text line: the padded boxes of two close lines overlap but stay apart (the sensitive modes
 * read one line at a time); pieces of one line are merged; dv_boxes_merge_overlapping then gives what
 * REDACT_ALL_TEXT paints (one rectangle over both lines). The effect end to end is in
 * integration.test_textdetect_score (REDACT_SENSITIVE_TEXT floors). */
static void test_merge_lines(void **s)
{
    (void)s;
    dv_boxes b = {0};
    assert_int_equal(dv_boxes_add(&b, (dv_box){0, 0, 100, 20}, NULL), 0);  /* line 1 */
    assert_int_equal(dv_boxes_add(&b, (dv_box){0, 16, 80, 20}, NULL), 0);  /* line 2: 4 rows of padding shared */
    assert_int_equal(dv_boxes_add(&b, (dv_box){90, 2, 60, 18}, NULL), 0);  /* a piece of line 1 */
    assert_int_equal(dv_boxes_add(&b, (dv_box){5, 5, 0, 3}, NULL), 0);     /* empty: dropped */
    dv_boxes_merge_lines(&b);
    assert_int_equal(b.n, 2);
    int line1 = 0, line2 = 0;
    for (size_t i = 0; i < b.n; i++) {
        line1 += b.v[i].x == 0 && b.v[i].y == 0 && b.v[i].w == 150 && b.v[i].h == 20;
        line2 += b.v[i].x == 0 && b.v[i].y == 16 && b.v[i].w == 80 && b.v[i].h == 20;
    }
    assert_int_equal(line1, 1);
    assert_int_equal(line2, 1);
    dv_boxes_merge_overlapping(&b);
    assert_int_equal(b.n, 1);
    dv_boxes_free(&b);
}

static void test_detect_dark_text_and_over_texture(void **s)
{
    (void)s;
    dv_gray8 g = picture(320, 240, 230);
    dv_box dark = text_line(&g, 10, 10, 12, 8, 0); /* black text on a bright background */
    noise(&g, 0, 100, 320, 140, 60, 140, 7);        /* noisy anatomy */
    dv_box over = text_line(&g, 60, 160, 16, 6, 255); /* saturated text over it */
    dv_textdetect *td = dv_textdetect_new();
    dv_boxes b = {0};
    assert_int_equal(dv_textdetect_find(td, &g, 0, &b, NULL), 0);
    assert_inside(&b, g.width, g.height);
    assert_true(covered(&b, dark));
    assert_true(covered(&b, over));
    dv_boxes_free(&b);
    dv_textdetect_free(td);
    free(g.px);
}

/* Low-contrast text (wp-pix-recall, docs/pixels.md "Finding text"): (1) saturated text over a bright smooth
 * organ, where every glyph stands out by only ~70 levels (weak): flat twins of one ink make the line; (2) a
 * grey label whose second word, after a wide space, runs over anatomy: the piece joins the line found on
 * the black corner (extend_lines), so the whole label is covered, not only its first word. */
static void test_detect_low_contrast_lines(void **s)
{
    (void)s;
    dv_gray8 g = picture(400, 300, 0);
    noise(&g, 200, 0, 200, 300, 178, 192, 5);              /* a bright, smooth organ */
    dv_box organ = text_line(&g, 230, 40, 14, 7, 255);     /* saturated text over it */
    noise(&g, 80, 150, 320, 150, 90, 130, 9);              /* anatomy */
    dv_box word1 = text_line(&g, 20, 200, 10, 5, 170);     /* grey, on black */
    dv_box word2 = text_line(&g, 84, 200, 10, 5, 170);     /* 2.2 heights on, over the anatomy */
    dv_textdetect *td = dv_textdetect_new();
    dv_boxes b = {0};
    assert_int_equal(dv_textdetect_find(td, &g, 0, &b, NULL), 0);
    dv_boxes_merge_overlapping(&b); /* what REDACT_ALL_TEXT paints */
    assert_inside(&b, g.width, g.height);
    assert_true(covered(&b, organ));
    assert_true(covered(&b, word1));
    assert_true(covered(&b, word2));
    assert_true(area(&b) < (uint64_t)g.width * g.height / 8);
    dv_boxes_free(&b);
    dv_textdetect_free(td);
    free(g.px);
}

/* Texture-bound text (wp-pixall, docs/pixels.md "Finding text"): (a) 6-px antialiased saturated text over
 * a bright body, standing out by only ~140 levels, its glyphs not flat (tiny saturated text, TINY_T);
 * (b) 4-px bold black print, itself noisy, over a dark noisy background (the dim pass: 3x3 mean, negated,
 * stretched). Each fails on the detector without its rule. Labels over ultrasound speckle (the label's own
 * glyphs make the line) are held by integration.test_textdetect_score: block letters over synthetic blobs
 * did not reproduce the case. */
static void test_detect_text_on_texture(void **s)
{
    (void)s;
    dv_textdetect *td = dv_textdetect_new();
    dv_boxes b = {0};
    dv_gray8 g;
    /* (a) tiny saturated text over a bright body */
    g = picture(256, 256, 0);
    noise(&g, 40, 40, 180, 180, 100, 140, 4);
    dv_box tiny = text_line(&g, 90, 120, 6, 5, 255);
    for (uint32_t y = 120; y < 126; y++) /* antialiased: a softer column right of every stroke */
        for (uint32_t x = 130; x-- > 90;)
            if (g.px[y * 256 + x] == 255 && g.px[y * 256 + x + 1] < 185)
                g.px[y * 256 + x + 1] = 185;
    tiny.w++;
    dv_boxes_clear(&b);
    dv_textdetect_reset(td);
    assert_int_equal(dv_textdetect_find(td, &g, 0, &b, NULL), 0);
    dv_boxes_merge_overlapping(&b);
    assert_true(covered(&b, tiny));
    free(g.px);
    /* (b) 4-px bold black print, itself noisy, over dark noise */
    g = picture(256, 256, 255);
    noise(&g, 0, 20, 256, 60, 10, 45, 7);
    /* printed words: bold 2x4 letters one pixel apart (at this size a bold letter is nearly a block), words
     * two letters apart */
    for (uint32_t i = 0; i < 9; i++)
        rect(&g, 60 + 3 * i, 40, 2, 4, 0);
    for (uint32_t i = 0; i < 7; i++)
        rect(&g, 92 + 3 * i, 40, 2, 4, 0);
    dv_box print1 = {60, 40, 26, 4}, print2 = {92, 40, 20, 4};
    uint32_t st = 99;
    for (uint32_t y = 40; y < 45; y++)
        for (uint32_t x = 60; x < 160; x++) {
            st ^= st << 13, st ^= st >> 17, st ^= st << 5;
            if (g.px[y * 256 + x] == 0)
                g.px[y * 256 + x] = (uint8_t)(st % 6);
        }
    dv_boxes_clear(&b);
    dv_textdetect_reset(td);
    assert_int_equal(dv_textdetect_find(td, &g, 0, &b, NULL), 0);
    dv_boxes_merge_overlapping(&b);
    assert_inside(&b, g.width, g.height);
    assert_true(covered(&b, print1));
    assert_true(covered(&b, print2));
    assert_true(area(&b) < (uint64_t)g.width * g.height / 20);
    dv_boxes_free(&b);
    dv_textdetect_free(td);
    free(g.px);
}

/* wp-pixall2 (seed 4's misses, docs/pixels.md "Finding text"): (a) pieces refused as glyphs (1-px bars
 * filling their box, like a thin "1" or "I") inside an accepted line's rows join it (join_pieces): the
 * line "H 1 1 1" is covered to its last bar, not only the "H" and its padding; (b) 10 flat glyphs of one
 * unsaturated ink (230) over a noisy body whose variation (sd ~15) is more than the twin rule's 1/7 of
 * their contrast: eight or more on one row band need only the CNR of low-contrast lines
 * (TWIN_MANY); (c) an outlined label of unsaturated ink (230, a black ring) over speckle whose blobs
 * attach to it: the outlined glyphs make the line. Each fails on the detector without its rule. */
static void test_detect_line_pieces(void **s)
{
    (void)s;
    dv_gray8 g = picture(200, 100, 0);
    glyph(&g, 20, 40, 12, 0, 255); /* "H": a lone glyph line, padded by 15 px */
    for (uint32_t i = 0; i < 3; i++)
        rect(&g, 38 + 12 * i, 40, 1, 12, 255); /* bars after it, the last past the padding */
    dv_box bars = {38, 40, 25, 12};
    dv_textdetect *td = dv_textdetect_new();
    dv_boxes b = {0};
    assert_int_equal(dv_textdetect_find(td, &g, 0, &b, NULL), 0);
    dv_boxes_merge_overlapping(&b);
    assert_true(covered(&b, bars));
    assert_true(area(&b) < (uint64_t)g.width * g.height / 5);
    dv_boxes_free(&b);
    dv_textdetect_free(td);
    free(g.px);
}

static void test_detect_many_twins_on_texture(void **s)
{
    (void)s;
    dv_gray8 g = picture(400, 200, 0);
    noise(&g, 20, 20, 360, 160, 130, 182, 11); /* a bright noisy body, sd ~15 */
    dv_box name = text_line(&g, 60, 90, 12, 10, 230);
    dv_textdetect *td = dv_textdetect_new();
    dv_boxes b = {0};
    assert_int_equal(dv_textdetect_find(td, &g, 0, &b, NULL), 0);
    dv_boxes_merge_overlapping(&b);
    assert_true(covered(&b, name));
    assert_true(area(&b) < (uint64_t)g.width * g.height / 8);
    /* the body alone: nothing */
    noise(&g, 20, 20, 360, 160, 130, 182, 11);
    dv_boxes_clear(&b);
    dv_textdetect_reset(td);
    assert_int_equal(dv_textdetect_find(td, &g, 0, &b, NULL), 0);
    assert_true(area(&b) * 100 <= (uint64_t)g.width * g.height);
    dv_boxes_free(&b);
    dv_textdetect_free(td);
    free(g.px);
}

static void test_detect_outlined_label_on_speckle(void **s)
{
    (void)s;
    dv_gray8 g = picture(300, 200, 0);
    noise(&g, 10, 10, 280, 180, 0, 80, 13); /* dark speckle */
    rect(&g, 97, 77, 31, 22, 0);              /* the outline: black around the letters */
    dv_box label = text_line(&g, 100, 80, 16, 2, 230);
    /* speckle blobs attached to the label (letter-sized, 50 below its ink): they outnumber its letters */
    glyph(&g, 131, 84, 12, 1, 180);
    glyph(&g, 145, 88, 12, 3, 180);
    glyph(&g, 78, 86, 12, 4, 180);
    dv_textdetect *td = dv_textdetect_new();
    dv_boxes b = {0};
    assert_int_equal(dv_textdetect_find(td, &g, 0, &b, NULL), 0);
    dv_boxes_merge_overlapping(&b);
    assert_true(covered(&b, label));
    dv_boxes_free(&b);
    dv_textdetect_free(td);
    free(g.px);
}

static void test_detect_nothing_without_text(void **s)
{
    (void)s;
    dv_textdetect *td = dv_textdetect_new();
    dv_boxes b = {0};
    /* plain, noise, and a smooth gradient with a bright disc: no text, (almost) nothing covered */
    dv_gray8 g = picture(256, 256, 0);
    assert_int_equal(dv_textdetect_find(td, &g, 0, &b, NULL), 0);
    assert_int_equal(b.n, 0);
    noise(&g, 0, 0, 256, 256, 30, 120, 3);
    dv_textdetect_reset(td);
    assert_int_equal(dv_textdetect_find(td, &g, 0, &b, NULL), 0);
    assert_true(area(&b) * 100 <= (uint64_t)256 * 256); /* <= 1 % (issue 11) */
    for (uint32_t y = 0; y < 256; y++)
        for (uint32_t x = 0; x < 256; x++) {
            uint32_t dx = x > 128 ? x - 128 : 128 - x, dy = y > 128 ? y - 128 : 128 - y;
            g.px[y * 256 + x] = dx * dx + dy * dy < 60 * 60 ? 250 : (uint8_t)(x / 2);
        }
    dv_boxes_clear(&b);
    dv_textdetect_reset(td);
    assert_int_equal(dv_textdetect_find(td, &g, 0, &b, NULL), 0);
    assert_int_equal(b.n, 0);
    dv_boxes_free(&b);
    dv_textdetect_free(td);
    free(g.px);
}

static void test_detect_edge_cases(void **s)
{
    (void)s;
    dv_textdetect *td = dv_textdetect_new();
    dv_boxes b = {0};
    dv_error err = {0};
    uint8_t shades[2] = {0, 255};
    uint32_t sizes[4][2] = {{1, 1}, {1, 300}, {300, 1}, {7, 5}};
    for (int k = 0; k < 4; k++)
        for (int v = 0; v < 2; v++) {
            dv_gray8 g = picture(sizes[k][0], sizes[k][1], shades[v]);
            dv_textdetect_reset(td);
            dv_boxes_clear(&b);
            assert_int_equal(dv_textdetect_find(td, &g, 0, &b, &err), 0);
            assert_int_equal(b.n, 0); /* all black / all white: no text */
            free(g.px);
        }
    /* an empty picture is a usage error */
    dv_gray8 empty = {0};
    assert_int_equal(dv_textdetect_find(td, &empty, 0, &b, &err), -1);
    assert_int_equal(err.code, DV_ERR_USAGE);
    /* boxes are appended: what the caller had stays */
    dv_gray8 g = picture(200, 60, 0);
    dv_box line = text_line(&g, 10, 20, 12, 6, 255);
    dv_boxes_clear(&b);
    assert_int_equal(dv_boxes_add(&b, (dv_box){1, 2, 3, 4}, NULL), 0);
    dv_textdetect_reset(td);
    assert_int_equal(dv_textdetect_find(td, &g, 0, &b, &err), 0);
    assert_true(b.n >= 2);
    assert_int_equal(b.v[0].x, 1);
    assert_true(covered(&b, line));
    free(g.px);
    dv_boxes_free(&b);
    dv_textdetect_free(td);
}

static void test_detect_huge_frame_deadline(void **s)
{
    (void)s;
    /* 6000 x 5000 (30 MP, max-pooled to <= 4.3 MP) with text in a corner and noise elsewhere */
    dv_gray8 g = picture(6000, 5000, 0);
    noise(&g, 1000, 1000, 4000, 3000, 20, 90, 11);
    dv_box line = text_line(&g, 100, 100, 28, 8, 255);
    dv_textdetect *td = dv_textdetect_new();
    dv_boxes b = {0};
    dv_error err = {0};
    /* a 1 ms budget is exceeded: a limit error (fail closed), not a partial answer */
    assert_int_equal(dv_textdetect_find(td, &g, 1, &b, &err), -1);
    assert_int_equal(err.code, DV_ERR_LIMIT);
    assert_non_null(strstr(err.message, "budget"));
    /* a generous budget: found, inside the frame */
    dv_boxes_clear(&b);
    dv_textdetect_reset(td);
    assert_int_equal(dv_textdetect_find(td, &g, 60000, &b, &err), 0);
    assert_inside(&b, g.width, g.height);
    assert_true(covered(&b, line));
    dv_boxes_free(&b);
    dv_textdetect_free(td);
    free(g.px);
}

/* A cine frame: a constant overlay on the left, changing "anatomy" in a window on the right. */
static void cine_frame(dv_gray8 *g, uint32_t i, int clock)
{
    memset(g->px, 0, (size_t)g->width * g->height);
    text_line(g, 10, 10, 14, 8, 255);
    text_line(g, 10, 40, 10, 10, 200);
    noise(g, 400, 200, 200, 250, 20, 110, i + 1);
    if (clock) /* an overlay that changes: a growing line in the bottom-left corner */
        text_line(g, 10, 440, 12, 3 + (int)(i % 4), 255);
}

static void test_cine_reuse_and_redetect(void **s)
{
    (void)s;
    dv_gray8 g = picture(640, 480, 0);
    dv_textdetect *td = dv_textdetect_new(), *fresh = dv_textdetect_new();
    dv_boxes b = {0}, f = {0};
    dv_textdetect_stats st;
    for (uint32_t i = 0; i < 8; i++) {
        cine_frame(&g, i / 2, 0); /* pairs of identical frames, anatomy changing in between */
        dv_boxes_clear(&b);
        dv_boxes_clear(&f);
        assert_int_equal(dv_textdetect_find(td, &g, 0, &b, NULL), 0);
        dv_textdetect_reset(fresh);
        assert_int_equal(dv_textdetect_find(fresh, &g, 0, &f, NULL), 0);
        assert_true(dvi_boxes_same(&b, &f)); /* reuse and partial search give what a fresh search gives */
    }
    dv_textdetect_get_stats(td, &st);
    assert_int_equal(st.full, 1);    /* only the first frame is searched in full */
    assert_int_equal(st.reused, 4);  /* identical frames: previous boxes, no search */
    assert_int_equal(st.partial, 3); /* anatomy changed: only its window is searched again */
    /* the overlay changes: the new text is found (not the previous frame's boxes) */
    dv_box grown = {0};
    for (uint32_t i = 0; i < 8; i++) {
        cine_frame(&g, i, 1);
        grown = text_line(&g, 10, 440, 12, 3 + (int)(i % 4), 255);
        dv_boxes_clear(&b);
        dv_boxes_clear(&f);
        assert_int_equal(dv_textdetect_find(td, &g, 0, &b, NULL), 0);
        dv_textdetect_reset(fresh);
        assert_int_equal(dv_textdetect_find(fresh, &g, 0, &f, NULL), 0);
        assert_true(covered(&b, grown));
        assert_true(dvi_boxes_same(&b, &f));
    }
    /* a frame of another size is searched in full; reset forgets the previous frame */
    dv_textdetect_get_stats(td, &st);
    uint64_t full = st.full;
    dv_gray8 other = picture(320, 240, 0);
    dv_boxes_clear(&b);
    assert_int_equal(dv_textdetect_find(td, &other, 0, &b, NULL), 0);
    dv_textdetect_reset(td);
    dv_boxes_clear(&b);
    assert_int_equal(dv_textdetect_find(td, &other, 0, &b, NULL), 0);
    dv_textdetect_get_stats(td, &st);
    assert_int_equal(st.full, full + 2);
    free(other.px);
    dv_boxes_free(&b);
    dv_boxes_free(&f);
    dv_textdetect_free(td);
    dv_textdetect_free(fresh);
    free(g.px);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minmax11),
        cmocka_unit_test(test_gray8_mono8_window),
        cmocka_unit_test(test_gray8_monochrome1_inverted),
        cmocka_unit_test(test_gray8_signed_and_16bit),
        cmocka_unit_test(test_gray8_colour),
        cmocka_unit_test(test_gray8_palette),
        cmocka_unit_test(test_gray8_refusals),
        cmocka_unit_test(test_boxes_geometry),
        cmocka_unit_test(test_boxes_merge_and_limit),
        cmocka_unit_test(test_merge_lines),
        cmocka_unit_test(test_detect_lines_whole_span),
        cmocka_unit_test(test_detect_dark_text_and_over_texture),
        cmocka_unit_test(test_detect_low_contrast_lines),
        cmocka_unit_test(test_detect_text_on_texture),
        cmocka_unit_test(test_detect_line_pieces),
        cmocka_unit_test(test_detect_many_twins_on_texture),
        cmocka_unit_test(test_detect_outlined_label_on_speckle),
        cmocka_unit_test(test_detect_nothing_without_text),
        cmocka_unit_test(test_detect_edge_cases),
        cmocka_unit_test(test_detect_huge_frame_deadline),
        cmocka_unit_test(test_cine_reuse_and_redetect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
