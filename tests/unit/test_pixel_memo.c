/* The sensitive modes' per-instance memo of box readings (src/engine/pixel_memo.h; issue 11: "do not pay full
 * detection and OCR for every identical overlay"). The memo alone: exact equality of crops wherever they lie,
 * bounds, and a property check against a brute-force reference. Then the real stage (Tesseract) over a cine
 * built here from rendered overlay lines (tests/ocr/render_overlays.py): the same output bytes with and
 * without the memo, one reading set for an unchanged overlay whatever the frame count, and a changed box
 * read again once. Detection is the stage's test seam (fixed boxes), so the counts do not depend on the
 * detector. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "dicomveil/dicomveil.h"
#include "dict/dv_tags.h"
#include "dv_build.h"
#include "dv_mem_output.h"
#include "dv_overlay_lines.h"
#include "engine/dv_pixel_stage.h"
#include "engine/pixel_memo.h"

/* ---- the memo alone ---- */

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static dv_gray8 picture(uint32_t w, uint32_t h, uint32_t seed, uint32_t levels)
{
    dv_gray8 g = {malloc((size_t)w * h), w, h, (size_t)w * h, 0};
    assert_non_null(g.px);
    for (size_t i = 0; i < (size_t)w * h; i++)
        g.px[i] = (uint8_t)(lcg(&seed) % levels);
    return g;
}

static void copy_crop(dv_gray8 *g, dv_box from, uint32_t x, uint32_t y)
{
    for (uint32_t r = 0; r < from.h; r++)
        memmove(g->px + (size_t)(y + r) * g->width + x, g->px + (size_t)(from.y + r) * g->width + from.x, from.w);
}

/* The same pixels anywhere in the frame find the reading; one pixel changed, another size or another
 * preparation does not. */
static void test_memo_exact(void **state)
{
    (void)state;
    dv_pixel_memo *m = dv_pixel_memo_new();
    assert_non_null(m);
    dv_gray8 g = picture(96, 64, 1, 256);
    dv_box a = {2, 3, 20, 10};
    int s = dv_pixel_memo_slot(m, &g, &a);
    assert_true(s >= 0);
    dv_pixel_reading r = {DV_PIXEL_SENSITIVE, 77, 0}, out;
    assert_int_equal(dv_pixel_memo_get(m, s, DV_OCR_PREP_STRETCH, &out), 0);
    dv_pixel_memo_put(m, s, DV_OCR_PREP_STRETCH, &r);

    copy_crop(&g, a, 50, 40); /* the same crop elsewhere */
    dv_box b = {50, 40, 20, 10};
    int s2 = dv_pixel_memo_slot(m, &g, &b);
    assert_int_equal(s2, s);
    assert_int_equal(dv_pixel_memo_entries(m), 1);
    assert_int_equal(dv_pixel_memo_get(m, s2, DV_OCR_PREP_STRETCH, &out), 1);
    assert_int_equal(out.verdict, DV_PIXEL_SENSITIVE);
    assert_int_equal(out.conf, 77);
    assert_int_equal(dv_pixel_memo_get(m, s2, DV_OCR_PREP_FLIP, &out), 0);
    assert_int_equal(dv_pixel_memo_get(m, s2, DV_OCR_PREP_LEVEL, &out), 0);

    g.px[(size_t)(40 + 9) * g.width + 50 + 19] ^= 1; /* its last pixel */
    int s3 = dv_pixel_memo_slot(m, &g, &b);
    assert_true(s3 >= 0 && s3 != s);
    assert_int_equal(dv_pixel_memo_get(m, s3, DV_OCR_PREP_STRETCH, &out), 0);

    dv_box c = {2, 3, 20, 9}; /* a's first 9 rows */
    int s4 = dv_pixel_memo_slot(m, &g, &c);
    assert_true(s4 >= 0);
    assert_int_equal(dv_pixel_memo_get(m, s4, DV_OCR_PREP_STRETCH, &out), 0);
    assert_int_equal(dv_pixel_memo_entries(m), 3);
    assert_int_equal(dv_pixel_memo_bytes(m), 200 + 200 + 180);

    /* outside the frame, or no memo: no slot */
    dv_box off = {90, 60, 10, 10};
    assert_int_equal(dv_pixel_memo_slot(m, &g, &off), -1);
    assert_int_equal(dv_pixel_memo_slot(NULL, &g, &a), -1);
    assert_int_equal(dv_pixel_memo_get(NULL, 0, 0, &out), 0);

    dv_pixel_memo_reset(m);
    assert_int_equal(dv_pixel_memo_entries(m), 0);
    assert_int_equal(dv_pixel_memo_bytes(m), 0);
    s = dv_pixel_memo_slot(m, &g, &a);
    assert_int_equal(dv_pixel_memo_get(m, s, DV_OCR_PREP_STRETCH, &out), 0); /* forgotten */
    dv_pixel_memo_free(m);
    dv_gray8_free(&g);
}

/* At most DV_PIXEL_MEMO_ENTRIES crops of DV_PIXEL_MEMO_BYTES; a crop over DV_PIXEL_MEMO_MAX_CROP is not
 * held; the least recently used goes first. */
static void test_memo_bounded(void **state)
{
    (void)state;
    dv_pixel_memo *m = dv_pixel_memo_new();
    dv_gray8 g = picture(1100, 1000, 2, 256);
    dv_pixel_reading r = {DV_PIXEL_KEEP, 90, 1}, out;
    dv_box keep = {0, 0, 16, 8};
    int s = dv_pixel_memo_slot(m, &g, &keep);
    dv_pixel_memo_put(m, s, DV_OCR_PREP_STRETCH, &r);
    for (uint32_t i = 1; i < 2 * DV_PIXEL_MEMO_ENTRIES; i++) {
        dv_box b = {i % 1000, i / 2, 16, 8};
        assert_true(dv_pixel_memo_slot(m, &g, &b) >= 0);
        assert_true(dv_pixel_memo_entries(m) <= DV_PIXEL_MEMO_ENTRIES);
        s = dv_pixel_memo_slot(m, &g, &keep); /* used again: never the least recent */
        assert_int_equal(dv_pixel_memo_get(m, s, DV_OCR_PREP_STRETCH, &out), 1);
    }
    assert_int_equal(dv_pixel_memo_entries(m), DV_PIXEL_MEMO_ENTRIES);
    dv_box huge = {0, 0, 1100, 1000};
    assert_int_equal(dv_pixel_memo_slot(m, &g, &huge), -1);
    for (uint32_t i = 0; i < 12; i++) { /* 12 crops of 0.9 MB: the byte bound holds */
        dv_box b = {i, 0, 1000, 900};
        assert_true(dv_pixel_memo_slot(m, &g, &b) >= 0);
        assert_true(dv_pixel_memo_bytes(m) <= DV_PIXEL_MEMO_BYTES);
    }
    assert_true(dv_pixel_memo_entries(m) <= DV_PIXEL_MEMO_BYTES / 900000);
    dv_pixel_memo_free(m);
    dv_gray8_free(&g);
}

/* Property: over random boxes of a two-level picture (equal crops are frequent), the memo knows a reading
 * exactly when a crop of the same size and bytes was given one, and it is that reading. */
typedef struct ref_entry {
    uint32_t w, h;
    uint8_t px[64];
    dv_pixel_reading r;
} ref_entry;

static void test_memo_property(void **state)
{
    (void)state;
    dv_pixel_memo *m = dv_pixel_memo_new();
    dv_gray8 g = picture(40, 40, 3, 2);
    enum { REF_MAX = 4096 };
    ref_entry *ref = calloc(REF_MAX, sizeof *ref);
    assert_non_null(ref);
    size_t nref = 0;
    uint32_t seed = 4;
    for (int it = 0; it < 4000; it++) {
        dv_box b = {lcg(&seed) % 36, lcg(&seed) % 36, 1 + lcg(&seed) % 3, 1 + lcg(&seed) % 2};
        uint8_t px[64];
        for (uint32_t y = 0; y < b.h; y++)
            memcpy(px + y * b.w, g.px + (size_t)(b.y + y) * g.width + b.x, b.w);
        ref_entry *e = NULL;
        for (size_t i = 0; i < nref && !e; i++)
            if (ref[i].w == b.w && ref[i].h == b.h && memcmp(ref[i].px, px, (size_t)b.w * b.h) == 0)
                e = &ref[i];
        int s = dv_pixel_memo_slot(m, &g, &b);
        assert_true(s >= 0);
        dv_pixel_reading out;
        int known = dv_pixel_memo_get(m, s, DV_OCR_PREP_FLIP, &out);
        assert_int_equal(known, e != NULL);
        if (e) {
            assert_int_equal(out.verdict, e->r.verdict);
            assert_int_equal(out.conf, e->r.conf);
            assert_int_equal(out.label, e->r.label);
            continue;
        }
        assert_true(nref < REF_MAX);
        e = &ref[nref++];
        e->w = b.w;
        e->h = b.h;
        memcpy(e->px, px, (size_t)b.w * b.h);
        e->r = (dv_pixel_reading){(dv_pixel_verdict)(it % 3), it % 101, it & 1};
        dv_pixel_memo_put(m, s, DV_OCR_PREP_FLIP, &e->r);
    }
    assert_true(nref < DV_PIXEL_MEMO_ENTRIES); /* nothing evicted: every known reading stayed known */
    assert_true(nref > 50);                    /* and many crops were new */
    free(ref);
    dv_pixel_memo_free(m);
    dv_gray8_free(&g);
}

/* ---- the ink key (pixel_memo.h) ---- */

/* A frame of speckle below 150 with bright glyph-like ink at (x, y): ink[k] set means a 255 pixel. */
static void speckle(dv_gray8 *g, uint32_t seed)
{
    for (size_t i = 0; i < (size_t)g->width * g->height; i++)
        g->px[i] = (uint8_t)(lcg(&seed) % 150);
}

static void draw_ink(dv_gray8 *g, uint32_t x, uint32_t y, const char *rows[], uint32_t nrows)
{
    for (uint32_t r = 0; r < nrows; r++)
        for (uint32_t k = 0; rows[r][k]; k++)
            if (rows[r][k] == '#')
                g->px[(size_t)(y + r) * g->width + x + k] = 255;
}

static const char *GLYPH_A[] = {"..##..", ".#..#.", "#....#", "######", "#....#", "#....#"};
static const char *GLYPH_B[] = {"#####.", "#....#", "#####.", "#....#", "#....#", "#####."};

/* The same ink over another background takes the decision; other ink at the same place, a dim or scant box,
 * or no decision kept does not. */
static void test_ink_key_background(void **state)
{
    (void)state;
    dv_pixel_memo *m = dv_pixel_memo_new();
    dv_gray8 g = picture(64, 32, 5, 1);
    dv_box b = {4, 4, 40, 16};
    dv_pixel_reading r = {DV_PIXEL_KEEP, 91, 1}, out;
    speckle(&g, 1);
    draw_ink(&g, 10, 8, GLYPH_A, 6);
    draw_ink(&g, 20, 8, GLYPH_A, 6);
    assert_int_equal(dv_pixel_memo_ink_get(m, &g, &b, &out), 0); /* nothing kept yet */
    dv_pixel_memo_ink_put(m, &g, &b, &r);
    assert_int_equal(dv_pixel_memo_ink_get(m, &g, &b, &out), 1);

    speckle(&g, 2); /* another frame: the background changed, the ink did not */
    draw_ink(&g, 10, 8, GLYPH_A, 6);
    draw_ink(&g, 20, 8, GLYPH_A, 6);
    memset(&out, 0, sizeof out);
    assert_int_equal(dv_pixel_memo_ink_get(m, &g, &b, &out), 1);
    assert_int_equal(out.verdict, DV_PIXEL_KEEP);
    assert_int_equal(out.conf, 91);
    dv_box wider = {2, 2, 50, 20}; /* another line around the same ink: a KEEP holds for its own box only */
    assert_int_equal(dv_pixel_memo_ink_get(m, &g, &wider, &out), 0);

    speckle(&g, 3); /* the same geometry, another glyph: never */
    draw_ink(&g, 10, 8, GLYPH_A, 6);
    draw_ink(&g, 20, 8, GLYPH_B, 6);
    assert_int_equal(dv_pixel_memo_ink_get(m, &g, &b, &out), 0);
    speckle(&g, 4); /* the same glyphs one pixel to the right: never */
    draw_ink(&g, 11, 8, GLYPH_A, 6);
    draw_ink(&g, 21, 8, GLYPH_A, 6);
    assert_int_equal(dv_pixel_memo_ink_get(m, &g, &b, &out), 0);
    speckle(&g, 5); /* one ink pixel dimmer (within the ink band): its value differs, never */
    draw_ink(&g, 10, 8, GLYPH_A, 6);
    draw_ink(&g, 20, 8, GLYPH_A, 6);
    g.px[(size_t)8 * g.width + 12] = 240;
    assert_int_equal(dv_pixel_memo_ink_get(m, &g, &b, &out), 0);
    speckle(&g, 6); /* a speckle pixel reaching the ink band: more ink, never */
    draw_ink(&g, 10, 8, GLYPH_A, 6);
    draw_ink(&g, 20, 8, GLYPH_A, 6);
    g.px[(size_t)18 * g.width + 40] = 220;
    assert_int_equal(dv_pixel_memo_ink_get(m, &g, &b, &out), 0);

    /* no ink key: dim ink (contrast too low for the key) or too little of it; nothing kept, nothing found */
    dv_gray8 dim = picture(64, 32, 5, 1);
    speckle(&dim, 7);
    for (size_t i = 0; i < (size_t)dim.width * dim.height; i++)
        dim.px[i] = (uint8_t)(dim.px[i] / 2);
    for (uint32_t k = 0; k < 40; k++)
        dim.px[(size_t)10 * dim.width + 5 + k] = DV_PIXEL_INK_LEVEL - 1;
    size_t n0 = dv_pixel_memo_entries(m);
    dv_pixel_memo_ink_put(m, &dim, &b, &r);
    assert_int_equal(dv_pixel_memo_entries(m), n0);
    assert_int_equal(dv_pixel_memo_ink_get(m, &dim, &b, &out), 0);
    for (uint32_t k = 0; k < DV_PIXEL_INK_PIXELS - 1; k++)
        dim.px[(size_t)10 * dim.width + 5 + k] = 255;
    dv_pixel_memo_ink_put(m, &dim, &b, &r);
    assert_int_equal(dv_pixel_memo_entries(m), n0);
    dim.px[(size_t)11 * dim.width + 5] = 255; /* DV_PIXEL_INK_PIXELS: a key */
    dv_pixel_memo_ink_put(m, &dim, &b, &r);
    assert_int_equal(dv_pixel_memo_entries(m), n0 + 1);

    /* an ink key never answers a crop's reading, a crop never an ink key's */
    int s = dv_pixel_memo_slot(m, &g, &b);
    assert_int_equal(dv_pixel_memo_get(m, s, DV_OCR_PREP_STRETCH, &out), 0);
    dv_pixel_memo_reset(m);
    assert_int_equal(dv_pixel_memo_ink_get(m, &dim, &b, &out), 0); /* forgotten with the instance */
    dv_pixel_memo_free(m);
    dv_gray8_free(&g);
    dv_gray8_free(&dim);
}

/* Property over generated pairs: two boxes of random ink (3-level glyph cells) over random speckle take each
 * other's decision exactly when their ink pixels (position and value) are equal. */
/* A KEEP kept under a label's ink is not taken by a larger box around the same ink: a dimmer second text beside
 * the label (here at 150, more than DV_PIXEL_INK_GAP below the ink, so not in the key) makes the detector's
 * line larger, and that line must be read. A SENSITIVE is taken by any box showing the ink (more cover). */
static void test_ink_keep_same_box(void **state)
{
    (void)state;
    dv_pixel_memo *m = dv_pixel_memo_new();
    dv_gray8 g = picture(64, 32, 5, 1);
    dv_box label = {8, 6, 20, 10}, line = {8, 6, 50, 10};
    dv_pixel_reading keep = {DV_PIXEL_KEEP, 91, 1}, sens = {DV_PIXEL_SENSITIVE, 80, 0}, out;
    speckle(&g, 1);
    draw_ink(&g, 10, 8, GLYPH_A, 6);
    draw_ink(&g, 20, 8, GLYPH_B, 6);
    dv_pixel_memo_ink_put(m, &g, &label, &keep);
    assert_int_equal(dv_pixel_memo_ink_get(m, &g, &label, &out), 1);
    assert_int_equal(out.verdict, DV_PIXEL_KEEP);

    speckle(&g, 2); /* next frame: the label, and a dim text beside it inside the detector's longer line */
    draw_ink(&g, 10, 8, GLYPH_A, 6);
    draw_ink(&g, 20, 8, GLYPH_B, 6);
    for (uint32_t x = 32; x < 56; x++)
        for (uint32_t y = 9; y < 13; y++)
            g.px[(size_t)y * g.width + x] = (x % 3) ? 150 : 0;
    assert_int_equal(dv_pixel_memo_ink_get(m, &g, &line, &out), 0);  /* read, never kept unread */
    assert_int_equal(dv_pixel_memo_ink_get(m, &g, &label, &out), 1); /* the label's own box still is */

    dv_pixel_memo *m2 = dv_pixel_memo_new(); /* the same ink decided SENSITIVE: any box around it is covered */
    dv_pixel_memo_ink_put(m2, &g, &label, &sens);
    memset(&out, 0, sizeof out);
    assert_int_equal(dv_pixel_memo_ink_get(m2, &g, &line, &out), 1);
    assert_int_equal(out.verdict, DV_PIXEL_SENSITIVE);
    dv_pixel_memo_free(m2);
    dv_pixel_memo_free(m);
    dv_gray8_free(&g);
}

static void test_ink_key_property(void **state)
{
    (void)state;
    dv_gray8 a = picture(48, 24, 1, 1), b = picture(48, 24, 1, 1);
    dv_box box = {2, 2, 40, 16};
    uint32_t seed = 11;
    int equal = 0, differ = 0;
    for (int it = 0; it < 600; it++) {
        dv_pixel_memo *m = dv_pixel_memo_new();
        speckle(&a, lcg(&seed));
        speckle(&b, lcg(&seed));
        /* ink: 4x4 cells of 255 / 230 / none; b's the same, or one cell changed */
        uint8_t cells[2][20];
        for (int k = 0; k < 20; k++)
            cells[0][k] = cells[1][k] = (uint8_t)(lcg(&seed) % 3);
        cells[0][0] = 1; /* enough ink for a key */
        cells[0][1] = 1;
        cells[1][0] = cells[1][1] = 1;
        if (lcg(&seed) % 2) {
            int k = 2 + (int)(lcg(&seed) % 18);
            cells[1][k] = (uint8_t)((cells[1][k] + 1 + lcg(&seed) % 2) % 3);
        }
        for (int p = 0; p < 2; p++) {
            dv_gray8 *g = p ? &b : &a;
            for (int k = 0; k < 20; k++)
                for (uint32_t y = 0; y < 4 && cells[p][k]; y++)
                    for (uint32_t x = 0; x < 4; x++)
                        g->px[(size_t)(6 + (k / 10) * 5 + y) * g->width + 4 + (k % 10) * 4 + x] =
                            cells[p][k] == 1 ? 255 : 230;
        }
        int same_ink = memcmp(cells[0], cells[1], sizeof cells[0]) == 0;
        dv_pixel_reading r = {DV_PIXEL_SENSITIVE, 80, 0}, out;
        dv_pixel_memo_ink_put(m, &a, &box, &r);
        assert_int_equal(dv_pixel_memo_ink_get(m, &b, &box, &out), same_ink);
        equal += same_ink;
        differ += !same_ink;
        dv_pixel_memo_free(m);
    }
    assert_true(equal > 100 && differ > 100); /* both kinds were tried */
    dv_gray8_free(&a);
    dv_gray8_free(&b);
}

/* ---- the stage over a cine (real OCR) ---- */

#define SENSITIVE "{\"dicomTagConfig\": {\"profileType\": \"KEEP_ALL_PROFILE\", \"options\": {\"cleanImage\": " \
                  "{\"textRedactionMode\": \"REDACT_SENSITIVE_TEXT\"}}}}"
#define CINE_W 512u
#define NOISE_ROWS 24u /* rows under the overlay that change every frame */

typedef struct cine {
    char dir[64];
    dvt_lines lines;
    const dvt_line *fixed[3]; /* the overlay every frame shows, stacked at the top left */
    const dvt_line *clock[2]; /* the box that changes: clock[0] before the change, clock[1] after */
    uint32_t y[4];            /* rows of fixed[0..2] and of the clock */
    uint32_t height;
    int grow; /* frames 1..: fixed[0]'s box GROW px wider, a bright dot moving in the added columns */
} cine;

#define GROW 4u

/* fixed[0]'s box on frame i (the detection seam's and the dot's), its row added. */
static dv_box first_line_box(const cine *c, uint32_t i)
{
    dv_box b = c->fixed[0]->box;
    b.y += c->y[0];
    if (c->grow && i > 0)
        b.w += GROW;
    return b;
}

/* The column of the dot in the added columns (cine.grow). */
static uint32_t grow_dot_x(const cine *c)
{
    dv_box b = first_line_box(c, 0);
    return b.x + b.w + 1;
}

static int cine_setup(void **state)
{
    cine *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    snprintf(c->dir, sizeof c->dir, "/tmp/dv_test_pixel_memo_XXXXXX");
    if (!mkdtemp(c->dir) || dvt_lines_render(DV_SOURCE_DIR, c->dir, 24, 5, &c->lines))
        return -1;
    /* lines on black (a corner overlay) that fit the frame: two PHI lines and a label fixed, two more
     * taking turns as the clock */
    size_t nf = 0, nc = 0;
    const dvt_line *label = NULL;
    for (size_t i = 0; i < c->lines.n; i++) {
        const dvt_line *l = &c->lines.v[i];
        if (strcmp(l->background, "black") != 0 || l->img.width > CINE_W)
            continue;
        if (!l->phi && !label)
            label = l;
        else if (l->phi && nf < 2)
            c->fixed[nf++] = l;
        else if (nc < 2)
            c->clock[nc++] = l;
    }
    if (!label || nf < 2 || nc < 2)
        return -1;
    c->fixed[2] = label;
    uint32_t y = 0;
    for (int i = 0; i < 3; i++) {
        c->y[i] = y;
        y += c->fixed[i]->img.height;
    }
    c->y[3] = y;
    uint32_t ch = c->clock[0]->img.height > c->clock[1]->img.height ? c->clock[0]->img.height
                                                                    : c->clock[1]->img.height;
    c->height = y + ch + NOISE_ROWS;
    *state = c;
    return 0;
}

static int cine_teardown(void **state)
{
    cine *c = *state;
    dvt_lines_free(&c->lines);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", c->dir);
    int rc = system(cmd);
    free(c);
    return rc == 0 ? 0 : -1;
}

static void paste(uint8_t *frame, const dvt_line *l, uint32_t y)
{
    for (uint32_t r = 0; r < l->img.height; r++)
        memcpy(frame + (size_t)(y + r) * CINE_W, l->img.px + (size_t)r * l->img.width, l->img.width);
}

/* The clock shown on frame i of a cine whose clock changes at frame change_at (0: never). */
static int clock_of(uint32_t i, uint32_t change_at)
{
    return change_at && i >= change_at;
}

/* An 8-bit MONOCHROME2 cine of n frames: the fixed lines and the clock on black, noise under them that
 * changes every frame (a 0 and a 255 in every frame: the 8-bit view's window stays the same). */
static uint8_t *build_cine(const cine *c, uint32_t n, uint32_t change_at, int speckled, size_t *len)
{
    size_t fb = (size_t)CINE_W * c->height;
    uint8_t *px = calloc(n, fb);
    assert_non_null(px);
    uint32_t seed = 9;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *f = px + fb * i;
        for (int k = 0; k < 3; k++)
            paste(f, c->fixed[k], c->y[k]);
        paste(f, c->clock[clock_of(i, change_at)], c->y[3]);
        /* speckled: the background of every line (its dark pixels) changes every frame, the ink does not */
        for (size_t k = 0; speckled && k < (size_t)CINE_W * (c->height - NOISE_ROWS); k++)
            if (f[k] < 40)
                f[k] = (uint8_t)(lcg(&seed) % 40);
        uint8_t *noise = f + (size_t)(c->height - NOISE_ROWS) * CINE_W;
        for (size_t k = 0; k < (size_t)NOISE_ROWS * CINE_W; k++)
            noise[k] = (uint8_t)lcg(&seed);
        noise[0] = 0;
        noise[1] = 255;
        if (c->grow) { /* a 2x2 dot of ink in the added columns, at another row on every frame (on frame 0
                          * outside the line's box there: the detector cut the line short) */
            dv_box b = first_line_box(c, i);
            uint32_t x = grow_dot_x(c), y = b.y + (i * 3) % (b.h - 2);
            for (uint32_t r = 0; r < 2; r++)
                memset(f + (size_t)(y + r) * CINE_W + x, 255, 2);
        }
    }
    const dvt_line *p = c->fixed[0];
    char pn[128], frames[16];
    snprintf(pn, sizeof pn, "%s^%s", p->family, p->given);
    snprintf(frames, sizeof frames, "%u", n);
    dvb *b = dvb_new(DVB_EXPLICIT_LE, 1);
    dvb_str(b, DV_TAG_SOP_CLASS_UID, "UI", "1.2.840.10008.5.1.4.1.1.7.2");
    dvb_str(b, DV_TAG_SOP_INSTANCE_UID, "UI", "1.2.3.4.5.6");
    dvb_str(b, DV_TAG_PATIENT_NAME, "PN", pn);
    dvb_str(b, DV_TAG_PATIENT_ID, "LO", p->patient_id);
    dvb_str(b, DV_TAG_STUDY_INSTANCE_UID, "UI", "1.2.3.4");
    dvb_str(b, DV_TAG_SERIES_INSTANCE_UID, "UI", "1.2.3.4.1");
    dvb_u16(b, DV_TAG_SAMPLES_PER_PIXEL, 1);
    dvb_str(b, DV_TAG_PHOTOMETRIC_INTERPRETATION, "CS", "MONOCHROME2");
    dvb_str(b, DV_TAG_NUMBER_OF_FRAMES, "IS", frames);
    dvb_pixel_geometry(b, (uint16_t)c->height, CINE_W, 8);
    dvb_bytes(b, DV_TAG_PIXEL_DATA, "OB", px, (uint32_t)(fb * n));
    free(px);
    return dvb_finish(b, len);
}

/* The detection seam: the text box of every line pasted on the frame. */
typedef struct seam {
    const cine *c;
    uint32_t change_at;
} seam;

static int seam_find(void *user, const dv_frame *f, const dv_gray8 *g, uint32_t i, dv_boxes *out, dv_error *err)
{
    (void)f;
    (void)g;
    const seam *s = user;
    for (int k = 0; k < 4; k++) {
        const dvt_line *l = k < 3 ? s->c->fixed[k] : s->c->clock[clock_of(i, s->change_at)];
        dv_box b = l->box;
        b.y += s->c->y[k];
        if (k == 0)
            b = first_line_box(s->c, i);
        if (dv_boxes_add(out, b, err) != 0)
            return -1;
    }
    return 0;
}


/* One instance through run (memo on or off): its output bytes and the readings it made and reused. */
typedef struct ran {
    dvt_memout out;
    uint64_t reads, reused, ink_reused, cover_reused;
    uint32_t boxes;
} ran;

/* One instance in (Part 10 bytes) through run with the detector's boxes from find, memo as
 * dv_run_set_pixel_memo's (1 crop and ink, 2 crop only, 0 none): r gets the output and the stage's counts. */
static void run_instance(dv_run *run, const uint8_t *in, size_t len, dv_pixel_find_fn find, void *user, int memo,
                         ran *r)
{
    dv_run_set_pixel_test_hooks(run, find, user, 0);
    dv_run_set_pixel_memo(run, memo);
    dv_pixel_stats st0, st1;
    dv_run_pixel_stats(run, &st0);
    dv_mem_source msrc;
    dv_source src = dv_source_memory(&msrc, in, len);
    dv_result res;
    dv_result_init(&res);
    dv_error err = {0};
    memset(r, 0, sizeof *r);
    dv_outcome oc = dv_run_instance(run, &src, &DVT_MEM_OUTPUT, &r->out, &res, &err);
    if (oc != DV_OUTCOME_OK)
        fprintf(stderr, "dv_run_instance: %s: %s\n", dv_code_name(err.code), err.message);
    assert_int_equal(oc, DV_OUTCOME_OK);
    dv_run_pixel_stats(run, &st1);
    r->reads = st1.v[DV_PIXEL_OCR_READS] - st0.v[DV_PIXEL_OCR_READS];
    r->reused = st1.v[DV_PIXEL_OCR_REUSED] - st0.v[DV_PIXEL_OCR_REUSED];
    r->ink_reused = st1.v[DV_PIXEL_BOX_INK_REUSED] - st0.v[DV_PIXEL_BOX_INK_REUSED];
    r->cover_reused = st1.v[DV_PIXEL_BOX_COVER_REUSED] - st0.v[DV_PIXEL_BOX_COVER_REUSED];
    r->boxes = res.pixel_boxes;
}

static void run_cine(dv_run *run, const cine *c, uint32_t n, uint32_t change_at, int speckled, int memo, ran *r)
{
    size_t len = 0;
    uint8_t *in = build_cine(c, n, change_at, speckled, &len);
    seam s = {c, change_at};
    run_instance(run, in, len, seam_find, &s, memo, r);
    free(in);
}

static void assert_same_bytes(const ran *a, const ran *b)
{
    assert_int_equal(a->out.ms.len, b->out.ms.len);
    assert_memory_equal(a->out.ms.data, b->out.ms.data, a->out.ms.len);
}

static dv_run *sensitive_run(dv_plan **plan, dv_key **key)
{
    dv_error err = {0};
    *plan = dv_plan_from_json(SENSITIVE, strlen(SENSITIVE), &err);
    uint8_t kb[32];
    memset(kb, 7, sizeof kb);
    *key = dv_key_new(kb, sizeof kb, &err);
    dv_run *run = *plan && *key ? dv_run_new(*plan, *key, NULL, &err) : NULL;
    assert_non_null(run);
    return run;
}

/* The crop memo (memo 2: the ink key off, so every count below is the crop memo's) on and off write the same
 * bytes; an unchanged overlay is read once for the whole cine (one frame's readings, whatever the frame
 * count); a box that changes is read again once, then reused. The ink key on (memo 1) writes the same bytes
 * too: over an unchanged background its decisions are the readings of the same crops. */
static void test_cine_same_output(void **state)
{
    cine *c = *state;
    dv_plan *plan;
    dv_key *key;
    dv_run *run = sensitive_run(&plan, &key);

    ran one, same, same_off, same_ink, chg, chg_off, chg_long;
    run_cine(run, c, 1, 0, 0, 2, &one); /* one frame: the reading set of the overlay */
    assert_true(one.reads >= 4);         /* every box read at least once */
    assert_int_equal(one.reused, 0);

    run_cine(run, c, 4, 0, 0, 2, &same);
    run_cine(run, c, 4, 0, 0, 0, &same_off);
    run_cine(run, c, 4, 0, 0, 1, &same_ink);
    assert_same_bytes(&same, &same_off);
    assert_same_bytes(&same_ink, &same_off);
    assert_true(same_ink.reads <= same.reads);
    assert_true(same.boxes > 0); /* something was covered (the test would prove little otherwise) */
    assert_int_equal(same.reads, one.reads);            /* one reading set for the whole cine */
    assert_int_equal(same.reused, 3 * one.reads);       /* frames 1-3 took frame 0's readings */
    assert_int_equal(same_off.reads, 4 * one.reads);    /* without the memo: every frame read again */
    assert_int_equal(same_off.reused, 0);

    run_cine(run, c, 4, 2, 0, 2, &chg); /* the clock changes at frame 2 */
    run_cine(run, c, 4, 2, 0, 0, &chg_off);
    assert_same_bytes(&chg, &chg_off);
    assert_true(chg.reads > one.reads);     /* the changed box was read */
    assert_true(chg.reads <= one.reads + 3); /* once: at most its three readings */
    run_cine(run, c, 8, 2, 0, 2, &chg_long);   /* more frames after the change: nothing more to read */
    assert_int_equal(chg_long.reads, chg.reads);

    ran *all[] = {&one, &same, &same_off, &same_ink, &chg, &chg_off, &chg_long};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        dv_mem_sink_free(&all[i]->out.ms);
    dv_run_free(run);
    dv_key_free(key);
    dv_plan_free(plan);
}

/* The overlay over a background that changes every frame (no crop repeats): with the ink key, the lines whose
 * decision may follow their ink (the PHI lines, found at confidence) are read on frame 0 only and decided by
 * their ink on every later frame (OCR calls counted against the crop memo alone, which reads every frame);
 * the clock whose text changes on frame 2 is read again on frame 2 (its ink differs) and decided on its own;
 * every frame still covers the PHI lines. */
static void test_ink_label_read_once(void **state)
{
    cine *c = *state;
    dv_plan *plan;
    dv_key *key;
    dv_run *run = sensitive_run(&plan, &key);
    ran one, crop, ink, chg;
    run_cine(run, c, 1, 0, 1, 1, &one);
    run_cine(run, c, 4, 0, 1, 2, &crop);
    run_cine(run, c, 4, 0, 1, 1, &ink);
    assert_int_equal(crop.reused, 0);               /* no crop repeats */
    assert_int_equal(crop.reads, 4 * one.reads);   /* so the crop memo reads every frame */
    assert_true(ink.ink_reused >= 3 * 2);          /* frames 1-3: at least the two PHI lines by their ink */
    assert_true(ink.reads + 3 * 2 <= crop.reads);  /* ... not read again */
    assert_true(ink.boxes >= 4 * 2);               /* and covered on every frame */
    assert_true(crop.boxes >= 4 * 2);

    run_cine(run, c, 4, 2, 1, 1, &chg); /* the clock's text changes at frame 2 */
    assert_true(chg.reads > ink.reads); /* its new ink was read */
    assert_true(chg.boxes >= 4 * 2);

    ran *all[] = {&one, &crop, &ink, &chg};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        dv_mem_sink_free(&all[i]->out.ms);
    dv_run_free(run);
    dv_key_free(key);
    dv_plan_free(plan);
}

/* A PHI line read SENSITIVE on frame 0, then on every later frame a box a little wider around it with a bright
 * dot moving in the added columns (a new crop and new ink every frame: neither memo knows it): at least half of
 * it lies inside the line found on frame 0, so it is covered without reading (pixel_stage.c
 * "mostly_sensitive_before"), and still covered on every frame. Without that rule each of those boxes is read
 * (cover_reused 0, one reading set more per frame). */
static void test_cine_sensitive_line_unread(void **state)
{
    cine *c = *state;
    dv_box b0 = first_line_box(c, 0);
    assert_true(b0.x + b0.w + GROW <= CINE_W && b0.h > 2);
    dv_plan *plan;
    dv_key *key;
    dv_run *run = sensitive_run(&plan, &key);
    ran one, moving;
    run_cine(run, c, 1, 0, 0, 1, &one);
    c->grow = 1;
    run_cine(run, c, 6, 0, 0, 1, &moving);
    c->grow = 0;
    assert_true(one.boxes >= 2);               /* frame 0 alone covers its two PHI lines */
    assert_int_equal(moving.cover_reused, 5);  /* frames 1-5: the wider box, unread */
    assert_int_equal(moving.reads, one.reads); /* nothing read but frame 0's */
    assert_true(moving.boxes >= 6 * 2);        /* the PHI lines covered on every frame */
    /* the wider box is spread to frame 0 too, whose own box stopped short of the dot there: covered */
    size_t fb = (size_t)CINE_W * c->height;
    const uint8_t *f0 = moving.out.ms.data + moving.out.ms.len - 6 * fb;
    assert_int_equal(f0[(size_t)b0.y * CINE_W + grow_dot_x(c)], 0);
    dv_mem_sink_free(&one.out.ms);
    dv_mem_sink_free(&moving.out.ms);
    dv_run_free(run);
    dv_key_free(key);
    dv_plan_free(plan);
}

/* ---- one frame, boxes given ---- */

typedef struct given {
    const dv_box *v;
    size_t n;
} given;

static int given_find(void *user, const dv_frame *f, const dv_gray8 *g, uint32_t i, dv_boxes *out, dv_error *err)
{
    (void)f, (void)g, (void)i;
    const given *gv = user;
    for (size_t k = 0; k < gv->n; k++)
        if (dv_boxes_add(out, gv->v[k], err) != 0)
            return -1;
    return 0;
}

/* One 8-bit MONOCHROME2 frame of w x h through run, the detector's boxes given: the readings made, and the
 * pixels out (the Part 10 output parsed back). */
static uint64_t run_given(dv_run *run, const uint8_t *px, uint16_t w, uint16_t h, const dv_box *boxes, size_t n,
                          uint8_t *out_px)
{
    dvb *b = dvb_new(DVB_EXPLICIT_LE, 1);
    dvb_str(b, DV_TAG_SOP_CLASS_UID, "UI", "1.2.840.10008.5.1.4.1.1.7");
    dvb_str(b, DV_TAG_SOP_INSTANCE_UID, "UI", "1.2.3.4.5.7");
    dvb_str(b, DV_TAG_STUDY_INSTANCE_UID, "UI", "1.2.3.4");
    dvb_str(b, DV_TAG_SERIES_INSTANCE_UID, "UI", "1.2.3.4.2");
    dvb_u16(b, DV_TAG_SAMPLES_PER_PIXEL, 1);
    dvb_str(b, DV_TAG_PHOTOMETRIC_INTERPRETATION, "CS", "MONOCHROME2");
    dvb_pixel_geometry(b, h, w, 8);
    dvb_bytes(b, DV_TAG_PIXEL_DATA, "OB", px, (uint32_t)w * h);
    size_t len = 0;
    uint8_t *in = dvb_finish(b, &len);
    given gv = {boxes, n};
    ran r;
    run_instance(run, in, len, given_find, &gv, 1, &r);
    /* the pixel data are the output's last w * h bytes (native, one frame, even length) */
    assert_true(r.out.ms.len >= (size_t)w * h);
    memcpy(out_px, r.out.ms.data + r.out.ms.len - (size_t)w * h, (size_t)w * h);
    dv_mem_sink_free(&r.out.ms);
    free(in);
    return r.reads;
}

/* A lone line that reads UNREADABLE (noise) is covered after its first reading when it has 4000 px or more
 * (pixel_stage.c unreadable_final: no flipped or levelled reading), and read again with the other polarity
 * when it is smaller (here that reading keeps it: the utility the rule gives up on large lines only).
 * Without the rule the large one takes 2-3 readings. */
static void test_unreadable_lone_line_read_once(void **state)
{
    (void)state;
    enum { W = 400, H = 200 };
    uint8_t *px = malloc((size_t)W * H), *out = malloc((size_t)W * H);
    assert_non_null(px && out);
    memset(px, 0, (size_t)W * H);
    uint32_t seed = 3;
    const dv_box large = {20, 20, 120, 40}, small = {250, 120, 60, 30}; /* 4800 and 1800 px */
    const dv_box both[2] = {large, small};
    for (int k = 0; k < 2; k++)
        for (uint32_t y = both[k].y + 4; y < both[k].y + both[k].h - 4; y++)
            for (uint32_t x = both[k].x + 4; x < both[k].x + both[k].w - 4; x++)
                px[(size_t)y * W + x] = (uint8_t)(lcg(&seed) | 0x40u); /* noise, bright enough to be ink */
    px[0] = 255; /* the window: the same whatever the noise */
    dv_plan *plan;
    dv_key *key;
    dv_run *run = sensitive_run(&plan, &key);
    uint64_t r_large = run_given(run, px, W, H, &large, 1, out);
    for (uint32_t y = large.y + 4; y < large.y + large.h - 4; y++) /* covered */
        for (uint32_t x = large.x + 4; x < large.x + large.w - 4; x++)
            assert_int_equal(out[(size_t)y * W + x], 0);
    uint64_t r_small = run_given(run, px, W, H, &small, 1, out); /* its cover is its readings' to decide */
    assert_int_equal(r_large, 1);
    assert_true(r_small >= 2);
    dv_run_free(run);
    dv_key_free(key);
    dv_plan_free(plan);
    free(px);
    free(out);
}

/* A label read as overlay vocabulary at confidence 60 or more on its first reading is kept after that one
 * reading (pixel_stage.c confident_label); without the rule the flipped reading follows (2 or more). Over the
 * fixture's non-PHI labels on black: at least one is kept after one reading, and every one kept after one
 * reading leaves the frame unchanged. */
static void test_confident_label_read_once(void **state)
{
    const cine *c = *state;
    dv_plan *plan;
    dv_key *key;
    dv_run *run = sensitive_run(&plan, &key);
    int once = 0;
    for (size_t i = 0; i < c->lines.n; i++) {
        const dvt_line *l = &c->lines.v[i];
        if (l->phi || strcmp(l->background, "black") != 0 || l->img.width > CINE_W)
            continue;
        uint16_t w = CINE_W, h = (uint16_t)(l->img.height + 8);
        uint8_t *px = calloc((size_t)w * h, 1), *out = malloc((size_t)w * h);
        assert_non_null(px && out);
        paste(px, l, 4);
        dv_box b = l->box;
        b.y += 4;
        if (run_given(run, px, w, h, &b, 1, out) == 1) {
            once++;
            assert_memory_equal(out, px, (size_t)w * h); /* kept */
        }
        free(px);
        free(out);
    }
    assert_true(once >= 1);
    dv_run_free(run);
    dv_key_free(key);
    dv_plan_free(plan);
}

/* The bands of a sensitive block take their first reading only (pixel_stage.c READ_BAND): a block of a band of
 * noise over a PHI line reads sensitive as a whole; its noise band, UNREADABLE on its first reading, is not read
 * again flipped or levelled (it is covered with the block's sensitive band whatever those readings say). */
static void test_block_band_read_once(void **state)
{
    const cine *c = *state;
    const dvt_line *l = c->fixed[0]; /* a PHI line on black */
    uint16_t w = CINE_W, h = (uint16_t)(l->img.height + 40);
    uint8_t *px = calloc((size_t)w * h, 1), *out = malloc((size_t)w * h);
    assert_non_null(px && out);
    uint32_t seed = 7; /* a noise band Tesseract reads as nothing (UNREADABLE, confidence 2) */
    for (uint32_t y = 6; y < 26; y++) /* the noise band, as wide as the line's box */
        for (uint32_t x = l->box.x; x < l->box.x + l->box.w; x++)
            px[(size_t)y * w + x] = (uint8_t)(lcg(&seed) | 0x80u);
    paste(px, l, 36);
    dv_box block = {l->box.x, 2, l->box.w, 36 + l->box.y + l->box.h - 2};
    dv_plan *plan;
    dv_key *key;
    dv_run *run = sensitive_run(&plan, &key);
    uint64_t reads = run_given(run, px, w, h, &block, 1, out);
    /* the block (sensitive), its noise band once, its PHI band once; without the rule the noise band also
     * takes its flipped and levelled readings (5) */
    assert_int_equal(reads, 3);
    for (uint32_t y = 6; y < 26; y++) /* both bands covered */
        for (uint32_t x = l->box.x; x < l->box.x + l->box.w; x++)
            assert_int_equal(out[(size_t)y * w + x], 0);
    for (uint32_t y = 36 + l->box.y; y < 36 + l->box.y + l->box.h; y++)
        for (uint32_t x = l->box.x; x < l->box.x + l->box.w; x++)
            assert_int_equal(out[(size_t)y * w + x], 0);
    dv_run_free(run);
    dv_key_free(key);
    dv_plan_free(plan);
    free(px);
    free(out);
}

int main(void)
{
    const struct CMUnitTest memo[] = {
        cmocka_unit_test(test_memo_exact),
        cmocka_unit_test(test_memo_bounded),
        cmocka_unit_test(test_memo_property),
        cmocka_unit_test(test_ink_key_background),
        cmocka_unit_test(test_ink_keep_same_box),
        cmocka_unit_test(test_ink_key_property),
    };
    const struct CMUnitTest stage[] = {
        cmocka_unit_test(test_cine_same_output),
        cmocka_unit_test(test_ink_label_read_once),
        cmocka_unit_test(test_cine_sensitive_line_unread),
        cmocka_unit_test(test_unreadable_lone_line_read_once),
        cmocka_unit_test(test_confident_label_read_once),
        cmocka_unit_test(test_block_band_read_once),
    };
    int rc = cmocka_run_group_tests_name("pixel_memo", memo, NULL, NULL);
    return rc | cmocka_run_group_tests_name("pixel_memo_stage", stage, cine_setup, cine_teardown);
}
