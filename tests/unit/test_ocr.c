/* Recognition of one text box (src/image/ocr.c, dv_redact.h; issue 11 item 2b). The pictures are rendered
 * at test time by tests/ocr/render_overlays.py (python3-pil, fonts-dejavu-core): names, IDs, dates and
 * institutions at 10-28 px in six DejaVu faces, white/yellow/green/grey, plain or outlined, on black,
 * speckle or a gradient. Nothing binary is committed. */
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "dv_overlay_lines.h"
#include "image/dv_redact.h"

/* Lines rendered per run: under ASan Tesseract's allocations make each read ~10x slower. */
#ifdef DV_SANITIZED
#define OCR_TEST_LINES 60
#define OCR_MIN_PER_KIND 3
#else
#define OCR_TEST_LINES 120
#define OCR_MIN_PER_KIND 5
#endif

typedef struct suite {
    char dir[64];
    dvt_lines lines;
    dv_ocr *ocr;
} suite;

static int setup(void **state)
{
    suite *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    snprintf(s->dir, sizeof s->dir, "/tmp/dv_test_ocr_XXXXXX");
    if (!mkdtemp(s->dir) || dvt_lines_render(DV_SOURCE_DIR, s->dir, OCR_TEST_LINES, 3, &s->lines))
        return -1;
    dv_error err = {0};
    s->ocr = dv_ocr_new(&err);
    if (!s->ocr) {
        fprintf(stderr, "dv_ocr_new: %s\n", err.message);
        return -1;
    }
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    suite *s = *state;
    dv_ocr_free(s->ocr);
    dvt_lines_free(&s->lines);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
    int rc = system(cmd);
    free(s);
    return rc == 0 ? 0 : -1;
}

static char *read_line(dv_ocr *o, const dvt_line *l)
{
    dv_error err = {0};
    char *t = NULL;
    size_t n = 99;
    if (dv_ocr_read(o, &l->img, &l->box, 0, &t, &n, &err))
        fprintf(stderr, "dv_ocr_read: %s: %s\n", dv_code_name(err.code), err.message);
    assert_int_equal(err.code, DV_OK);
    assert_non_null(t);
    assert_int_equal(strlen(t), n);
    return t;
}

/* Names, IDs, dates and institutions read letter for letter (case and punctuation aside) at 10-28 px:
 * >= 90 % of each kind exactly and >= 97 % within one character; the small sizes (10-13 px) too. */
static void test_reads_names_ids_dates(void **state)
{
    suite *s = *state;
    static const char *kinds[] = {"name", "id", "date", "institution"};
    unsigned tot[4] = {0}, exact[4] = {0}, near[4] = {0}, small = 0, small_ok = 0;
    for (size_t i = 0; i < s->lines.n; i++) {
        const dvt_line *l = &s->lines.v[i];
        if (!l->phi)
            continue;
        int k = 0;
        while (k < 3 && strcmp(kinds[k], l->kind))
            k++;
        char *t = read_line(s->ocr, l);
        char want[256], got[256];
        dvt_fold_alnum(l->text, want, sizeof want);
        dvt_fold_alnum(t, got, sizeof got);
        int d = dvt_edit_distance(want, got);
        tot[k]++;
        exact[k] += d == 0;
        near[k] += d <= 1;
        if (l->size <= 13) {
            small++;
            small_ok += d <= 1;
        }
        if (d > 1)
            fprintf(stderr, "  %s %dpx %s %s %s: [%s] -> [%s]\n", l->kind, l->size, l->font, l->colour,
                    l->background, l->text, t);
        free(t);
    }
    unsigned all = 0, all_near = 0;
    for (int k = 0; k < 4; k++) {
        fprintf(stderr, "%-11s %u lines: exact %.3f, within one character %.3f\n", kinds[k], tot[k],
                tot[k] ? exact[k] / (double)tot[k] : 0, tot[k] ? near[k] / (double)tot[k] : 0);
        assert_true(tot[k] >= OCR_MIN_PER_KIND);
        assert_true(exact[k] >= 0.90 * tot[k]);
        all += tot[k];
        all_near += near[k];
    }
    fprintf(stderr, "10-13 px: %u/%u within one character\n", small_ok, small);
    assert_true(small >= OCR_MIN_PER_KIND);
    assert_true(small_ok >= 0.90 * small);
    assert_true(all_near >= 0.97 * all);
}

/* A label that starts on a black bar and runs on over a bright background (anatomy): the box's border is
 * mostly bright, so the first reading takes the text for dark and the black bar for its ink; the flipped
 * reading (DV_OCR_PREP_FLIP, the pixel stage's second reading) reads the white letters over both. Lines on
 * black, 14 px and larger, white / yellow / green (255 in the grey view), not outlined: their background
 * right of the first 40 % of the box turned to a flat 190. */
/* A private copy of a line's image to draw on; the caller frees its px. */
static dv_gray8 copy_image(const dv_gray8 *src)
{
    dv_gray8 g = *src;
    g.px = malloc((size_t)g.width * g.height);
    assert_non_null(g.px);
    memcpy(g.px, src->px, (size_t)g.width * g.height);
    return g;
}

static void test_flipped_reading(void **state)
{
    suite *s = *state;
    unsigned n = 0, flip_ok = 0, first_ok = 0;
    for (size_t i = 0; i < s->lines.n && n < 12; i++) {
        const dvt_line *l = &s->lines.v[i];
        if (!l->phi || l->size < 14 || strcmp(l->background, "black") || strstr(l->colour, "outline") ||
            !strcmp(l->colour, "grey"))
            continue;
        n++;
        dv_gray8 g = copy_image(&l->img);
        uint32_t x0 = l->box.x + l->box.w * 2 / 5;
        for (uint32_t y = 0; y < g.height; y++)
            for (uint32_t x = x0; x < g.width; x++)
                if (g.px[(size_t)y * g.width + x] < 100)
                    g.px[(size_t)y * g.width + x] = 190;
        char want[256], got[256];
        dvt_fold_alnum(l->text, want, sizeof want);
        for (int prep = 0; prep < 2; prep++) {
            dv_error err = {0};
            char *t = NULL;
            size_t len = 0;
            assert_int_equal(dv_ocr_read_prep(s->ocr, &g, &l->box, prep ? DV_OCR_PREP_FLIP : DV_OCR_PREP_STRETCH,
                                              0, &t, &len, &err), 0);
            dvt_fold_alnum(t, got, sizeof got);
            int d = dvt_edit_distance(want, got);
            if (prep)
                flip_ok += d <= 2;
            else
                first_ok += d <= 2;
            free(t);
        }
        free(g.px);
    }
    fprintf(stderr, "half on a bright background: %u lines, first reading %u, flipped %u within 2 edits\n", n,
            first_ok, flip_ok);
    assert_true(n >= 3);
    assert_true(flip_ok * 10 >= n * 8);
    assert_true(flip_ok > first_ok);
}

/* Small grey or white text running from a black corner over noisy mid-grey anatomy (the 256x256 MR's
 * institution and date lines, held-out generator seed 4): the plain stretch takes the anatomy for ink
 * and both polarities read noise; the levelled reading (DV_OCR_PREP_LEVEL, the pixel stage's third
 * reading of a box whose background varies) reads the letters. Lines on black, 10-20 px, white or grey:
 * their background right of the first 35 % of the box turned to 150-190 noise, except the dark pixels next
 * to a stroke (the outline or the antialiasing, which stay dark over anatomy as on the generator's MR). */
static int near_ink(const dv_gray8 *g, uint32_t x, uint32_t y)
{
    for (uint32_t v = y ? y - 1 : 0; v <= y + 1 && v < g->height; v++)
        for (uint32_t u = x ? x - 1 : 0; u <= x + 1 && u < g->width; u++)
            if (g->px[(size_t)v * g->width + u] >= 100)
                return 1;
    return 0;
}

/* A copy of line l (on black) whose black from 7/20 of its box onwards is replaced by anatomy: noise of
 * lo..lo+span (the caller frees g.px). ink > 0: every pixel is recomposited, its level read as the letters'
 * coverage (ink = the letters' own level) over the noise, as text drawn on the anatomy looks; ink 0: only
 * the black away from the letters is replaced, so they keep a black rim. */
static dv_gray8 over_anatomy_from(const dvt_line *l, unsigned lo, unsigned span, unsigned ink, uint32_t *rng)
{
    dv_gray8 g = copy_image(&l->img);
    uint32_t x0 = l->box.x + l->box.w * 7 / 20;
    for (uint32_t y = 0; y < g.height; y++)
        for (uint32_t x = x0; x < g.width; x++) {
            unsigned v = l->img.px[(size_t)y * g.width + x];
            if (ink ? v >= ink : v >= 100 || near_ink(&l->img, x, y))
                continue;
            *rng = *rng * 1103515245u + 12345u;
            unsigned bg = lo + (*rng >> 16) % (span + 1);
            g.px[(size_t)y * g.width + x] = (uint8_t)(ink ? (v * ink + (ink - v) * bg) / ink : bg);
        }
    return g;
}

/* How many of the first max PHI lines on black, plain letters of colour (grey level ink), drawn over anatomy
 * of lo..lo+span from 7/20 of their width on, a reading with prep gets within 2 edits; *n: lines tried. */
static unsigned read_over_anatomy(suite *s, const char *colour, unsigned ink, unsigned lo, unsigned span,
                                  dv_ocr_prep prep, unsigned max, unsigned *n)
{
    uint32_t rng = 12345;
    unsigned ok = 0;
    *n = 0;
    for (size_t i = 0; i < s->lines.n && *n < max; i++) {
        const dvt_line *l = &s->lines.v[i];
        if (!l->phi || strcmp(l->background, "black") || strcmp(l->colour, colour))
            continue;
        (*n)++;
        dv_gray8 g = over_anatomy_from(l, lo, span, ink, &rng);
        char want[256], got[256];
        dvt_fold_alnum(l->text, want, sizeof want);
        dv_error err = {0};
        char *t = NULL;
        size_t len = 0;
        assert_int_equal(dv_ocr_read_prep(s->ocr, &g, &l->box, prep, 0, &t, &len, &err), 0);
        dvt_fold_alnum(t, got, sizeof got);
        ok += dvt_edit_distance(want, got) <= 2;
        free(t);
        free(g.px);
    }
    return ok;
}

static void test_level_over_anatomy(void **state)
{
    suite *s = *state;
    unsigned n = 0, level_ok = 0, plain_ok = 0, varies = 0;
    uint32_t rng = 12345;
    for (size_t i = 0; i < s->lines.n && n < 10; i++) {
        const dvt_line *l = &s->lines.v[i];
        if (!l->phi || l->size > 20 || strcmp(l->background, "black") ||
            (strncmp(l->colour, "grey", 4) && strncmp(l->colour, "white", 5)))
            continue;
        n++;
        dv_gray8 g = over_anatomy_from(l, 150, 40, 0, &rng);
        varies += dv_ocr_background_varies(&g, &l->box);
        char want[256], got[256];
        dvt_fold_alnum(l->text, want, sizeof want);
        int plain = 0;
        for (int prep = 0; prep < 3; prep++) {
            dv_error err = {0};
            char *t = NULL;
            size_t len = 0;
            dv_ocr_prep p = prep == 0 ? DV_OCR_PREP_STRETCH : prep == 1 ? DV_OCR_PREP_FLIP : DV_OCR_PREP_LEVEL;
            assert_int_equal(dv_ocr_read_prep(s->ocr, &g, &l->box, p, 0, &t, &len, &err), 0);
            dvt_fold_alnum(t, got, sizeof got);
            int ok = dvt_edit_distance(want, got) <= 2;
            if (prep < 2)
                plain |= ok;
            else
                level_ok += ok;
            free(t);
        }
        plain_ok += plain;
        free(g.px);
    }
    fprintf(stderr, "over anatomy: %u lines, background varies %u, plain readings %u, levelled %u within 2 edits\n",
            n, varies, plain_ok, level_ok);
    assert_true(n >= 4);
    assert_int_equal(varies, n);
    assert_true(level_ok * 10 >= n * 6);
    assert_true(level_ok > plain_ok);
    /* a box on a flat background does not vary */
    for (size_t i = 0; i < s->lines.n; i++)
        if (!strcmp(s->lines.v[i].background, "black")) {
            assert_int_equal(dv_ocr_background_varies(&s->lines.v[i].img, &s->lines.v[i].box), 0);
            break;
        }
}

/* Grey (190) letters drawn from black over mid-grey anatomy (115-145) keep 190 levels of contrast on the
 * black and ~60 over the anatomy: the levelled reading stretches each part of the line by its own strokes, so
 * the letters over the anatomy are read too (ocr.c level; tuning seed 6's `Lakeview Hospital`, read
 * `Lakeview i` when the whole box was stretched by the black part's contrast). Measured: 10 of 10 lines;
 * 6 of 10 with the box's stretch (1 of 10 over 125-155). */
static void test_level_local_contrast(void **state)
{
    suite *s = *state;
    unsigned n = 0;
    unsigned ok = read_over_anatomy(s, "grey", 190, 115, 30, DV_OCR_PREP_LEVEL, 10, &n);
    fprintf(stderr, "grey over mid-grey anatomy: %u lines, levelled %u within 2 edits\n", n, ok);
    assert_true(n >= 4);
    assert_true(ok * 10 >= n * 9);
}

/* Three rendered lines on black, 10 px and larger, stacked 4 px apart in a block g (calloc'd: the caller
 * frees g->px); y0[k]: where line k's box starts. */
static void three_line_block(const suite *s, dv_gray8 *g, uint32_t y0[3], const dvt_line *l3[3])
{
    size_t k = 0;
    for (size_t i = 0; i < s->lines.n && k < 3; i++)
        if (!strcmp(s->lines.v[i].background, "black") && s->lines.v[i].size >= 10)
            l3[k++] = &s->lines.v[i];
    assert_int_equal(k, 3);
    uint32_t w = 0, h = 8;
    for (k = 0; k < 3; k++) {
        w = l3[k]->box.w + 8 > w ? l3[k]->box.w + 8 : w;
        y0[k] = h - 4 + (k ? 4 : 0);
        h += l3[k]->box.h + (k ? 4 : 0);
    }
    *g = (dv_gray8){calloc((size_t)w * h, 1), w, h, (size_t)w * h, 0};
    assert_non_null(g->px);
    for (k = 0; k < 3; k++)
        for (uint32_t y = 0; y < l3[k]->box.h; y++)
            memcpy(g->px + (size_t)(y0[k] + y) * w + 4,
                   l3[k]->img.px + (size_t)(l3[k]->box.y + y) * l3[k]->img.width + l3[k]->box.x, l3[k]->box.w);
}

/* A block of lines (the detector grouped corner text) splits into one band per line: three lines on black
 * stacked 4 px apart give three bands that tile the block, each holding its line's rows; one line alone,
 * a flat box and a box too short are not split. */
static void test_line_bands(void **state)
{
    suite *s = *state;
    const dvt_line *l3[3];
    uint32_t y0[3];
    dv_gray8 g;
    three_line_block(s, &g, y0, l3);
    uint32_t w = g.width, h = g.height;
    size_t k;
    dv_box all = {0, 0, w, h}, band[8];
    assert_int_equal(dv_ocr_line_bands(&g, &all, band, 8), 3);
    assert_int_equal(band[0].y, 0);
    assert_int_equal(band[2].y + band[2].h, h);
    for (k = 0; k < 3; k++) {
        assert_int_equal(band[k].x, 0);
        assert_int_equal(band[k].w, w);
        if (k)
            assert_int_equal(band[k].y, band[k - 1].y + band[k - 1].h); /* they tile the block */
        /* the line's ink rows lie inside its band (the line boxes are padded 3 px: ink from y0 + 3) */
        assert_true(band[k].y <= y0[k] + 3);
        assert_true(band[k].y + band[k].h >= y0[k] + l3[k]->box.h - 3);
    }
    assert_int_equal(dv_ocr_line_bands(&g, &all, band, 2), 0); /* more lines than room: not split */
    dv_box one = {0, y0[1], w, l3[1]->box.h};
    assert_int_equal(dv_ocr_line_bands(&g, &one, band, 8), 0);
    memset(g.px, 0, (size_t)w * h);
    assert_int_equal(dv_ocr_line_bands(&g, &all, band, 8), 0);
    dv_box thin = {0, 0, w, 5};
    assert_int_equal(dv_ocr_line_bands(&g, &thin, band, 8), 0);
    free(g.px);
}

static char *read_prep(dv_ocr *o, const dv_gray8 *g, const dv_box *b, dv_ocr_prep prep)
{
    dv_error err = {0};
    char *t = NULL;
    size_t n = 0;
    assert_int_equal(dv_ocr_read_prep(o, g, b, prep, 0, &t, &n, &err), 0);
    assert_non_null(t);
    assert_int_equal(strlen(t), n);
    return t;
}

/* A block of lines is recognised line by line, once: its reading is its lines' readings (each exactly as read
 * alone, by a second model that never saw the block) joined by spaces, one recognition per line; the pixel
 * stage's next readings of those lines (a sensitive block is split) are handed over without recognising
 * them again, each once and with the same preparation only; a reading of a box outside the block forgets
 * them. (wp-sensframe: a sensitive block cost its lines twice; docs/pixels.md "Sensitive frame time, second
 * pass".) */
static void test_block_lines_once(void **state)
{
    suite *s = *state;
    const dvt_line *l3[3];
    uint32_t y0[3];
    dv_gray8 g;
    three_line_block(s, &g, y0, l3);
    dv_box all = {0, 0, g.width, g.height}, band[8];
    assert_int_equal(dv_ocr_line_bands(&g, &all, band, 8), 3);
    dv_error err = {0};
    dv_ocr *fresh = dv_ocr_new(&err);
    assert_non_null(fresh);
    char *alone[3], joined[1024] = "";
    for (size_t k = 0; k < 3; k++) {
        alone[k] = read_prep(fresh, &g, &band[k], DV_OCR_PREP_STRETCH);
        if (*alone[k])
            snprintf(joined + strlen(joined), sizeof joined - strlen(joined), "%s%s", *joined ? " " : "", alone[k]);
    }
    assert_int_equal(dv_ocr_recognitions(fresh), 3);
    dv_ocr_free(fresh);
    assert_true(strlen(joined) > 6);

    dv_ocr *o = s->ocr;
    uint64_t r0 = dv_ocr_recognitions(o);
    char *t = read_prep(o, &g, &all, DV_OCR_PREP_STRETCH);
    assert_string_equal(t, joined);
    assert_int_equal(dv_ocr_recognitions(o), r0 + 3);
    assert_in_range(dv_ocr_last_confidence(o), 1, 100);
    free(t);
    /* the lines: handed over, same text, no recognition; a reading of a line with another preparation (the
     * stage's second reading) is its own, and keeps the others held */
    for (size_t k = 0; k < 3; k++) {
        t = read_prep(o, &g, &band[k], DV_OCR_PREP_STRETCH);
        assert_string_equal(t, alone[k]);
        free(t);
        assert_int_equal(dv_ocr_recognitions(o), r0 + 3 + (k > 0));
        if (k == 0)
            free(read_prep(o, &g, &band[0], DV_OCR_PREP_FLIP));
    }
    /* once each: asked again, recognised again */
    free(read_prep(o, &g, &band[0], DV_OCR_PREP_STRETCH));
    assert_int_equal(dv_ocr_recognitions(o), r0 + 5);
    /* a reading outside the block forgets its lines */
    free(read_prep(o, &g, &all, DV_OCR_PREP_STRETCH));
    assert_int_equal(dv_ocr_recognitions(o), r0 + 8);
    dv_box outside = {1, 1, g.width - 1, g.height - 1};
    free(read_prep(o, &g, &outside, DV_OCR_PREP_STRETCH));
    uint64_t r1 = dv_ocr_recognitions(o);
    t = read_prep(o, &g, &band[2], DV_OCR_PREP_STRETCH);
    assert_string_equal(t, alone[2]);
    free(t);
    assert_int_equal(dv_ocr_recognitions(o), r1 + 1);
    for (size_t k = 0; k < 3; k++)
        free(alone[k]);
    free(g.px);
}

/* Two lines in one box (the detector merges the padded boxes of close lines): read as a block, both lines
 * come out (letters and digits within 2 edits of the two texts); read as one line (PSM 7) a two-line box
 * came out as noise. Pairs of lines on a black background, 12 px and larger, stacked 3 px apart. */
static void test_two_line_box(void **state)
{
    suite *s = *state;
    size_t pairs = 0, good = 0;
    const dvt_line *prev = NULL;
    for (size_t i = 0; i < s->lines.n && pairs < 6; i++) {
        const dvt_line *l = &s->lines.v[i];
        if (strcmp(l->background, "black") || l->size < 12 || !l->phi)
            continue;
        if (!prev) {
            prev = l;
            continue;
        }
        const dvt_line *a = prev, *b = l;
        prev = NULL;
        uint32_t w = (a->box.w > b->box.w ? a->box.w : b->box.w) + 8, h = a->box.h + b->box.h + 3 + 8;
        dv_gray8 g = {calloc((size_t)w * h, 1), w, h, (size_t)w * h, 0};
        assert_non_null(g.px);
        for (uint32_t y = 0; y < a->box.h; y++)
            memcpy(g.px + (size_t)(4 + y) * w + 4, a->img.px + (size_t)(a->box.y + y) * a->img.width + a->box.x,
                   a->box.w);
        for (uint32_t y = 0; y < b->box.h; y++)
            memcpy(g.px + (size_t)(4 + a->box.h + 3 + y) * w + 4,
                   b->img.px + (size_t)(b->box.y + y) * b->img.width + b->box.x, b->box.w);
        dv_box box = {0, 0, w, h};
        dv_error err = {0};
        char *t = NULL;
        size_t n = 0;
        assert_int_equal(dv_ocr_read(s->ocr, &g, &box, 0, &t, &n, &err), 0);
        char want[300], fa[128], fb[128], got[300];
        dvt_fold_alnum(a->text, fa, sizeof fa);
        dvt_fold_alnum(b->text, fb, sizeof fb);
        snprintf(want, sizeof want, "%s%s", fa, fb);
        dvt_fold_alnum(t, got, sizeof got);
        good += dvt_edit_distance(want, got) <= 2;
        pairs++;
        free(t);
        free(g.px);
    }
    assert_true(pairs >= 3);
    assert_true(good * 10 >= pairs * 8); /* >= 80 % of the pairs read in full */
}

/* A deadline the recognition cannot meet is DV_ERR_LIMIT, never "no text"; a generous one is met. */
static void test_deadline(void **state)
{
    suite *s = *state;
    const dvt_line *wide = &s->lines.v[0];
    for (size_t i = 0; i < s->lines.n; i++)
        if (s->lines.v[i].box.w > wide->box.w)
            wide = &s->lines.v[i];
    dv_error err = {0};
    char *t = (char *)"untouched";
    size_t n = 7;
    assert_int_equal(dv_ocr_read(s->ocr, &wide->img, &wide->box, 1, &t, &n, &err), -1);
    assert_int_equal(err.code, DV_ERR_LIMIT);
    assert_null(t);
    assert_int_equal(n, 0);
    assert_null(strstr(err.message, wide->text)); /* no recognised text in messages */
    /* The engine is usable again after a timeout. */
    err.code = DV_OK;
    assert_int_equal(dv_ocr_read(s->ocr, &wide->img, &wide->box, 60000, &t, &n, &err), 0);
    assert_true(n > 0);
    free(t);
}

/* The calling thread's CPU time: Tesseract runs in this thread (OpenMP off), so this is the OCR work done.
 * The deadline itself is wall-clock; measuring the work in CPU time keeps the comparison true on a loaded
 * machine, where wall time stretches both runs unevenly (a run beside an ASan build once measured 334 ms
 * unbounded and 168 ms bounded of wall time while the bounded run did a fraction of the work). */
static double thread_cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void test_deadline_interrupts(void **state)
{
    suite *s = *state;
    uint32_t W = 0, H = 0;
    size_t n = s->lines.n < 30 ? s->lines.n : 30;
    for (size_t i = 0; i < n; i++) {
        W = s->lines.v[i].img.width > W ? s->lines.v[i].img.width : W;
        H += s->lines.v[i].img.height;
    }
    dv_gray8 g = {calloc((size_t)W * H, 1), W, H, (size_t)W * H, 0};
    assert_non_null(g.px);
    uint32_t y = 0;
    for (size_t i = 0; i < n; i++) {
        const dv_gray8 *l = &s->lines.v[i].img;
        for (uint32_t r = 0; r < l->height; r++)
            memcpy(g.px + (size_t)(y + r) * W, l->px + (size_t)r * l->width, l->width);
        y += l->height;
    }
    dv_box all = {0, 0, W, H};
    dv_error err = {0};
    char *t = NULL;
    size_t len;
    /* The least CPU time of three rounds of each, interleaved: contention (cache, memory bandwidth, a sibling
     * ASan test) only adds to a run's CPU time, and in a loaded clean-clone run one bounded read once took
     * 355 ms against 535 unbounded (94 against 349 alone). The bound itself is unchanged. */
    double unbounded = 1e12, bounded = 1e12;
    for (int round = 0; round < 3; round++) {
        double t0 = thread_cpu_ms();
        assert_int_equal(dv_ocr_read(s->ocr, &g, &all, 0, &t, &len, &err), 0);
        double u = thread_cpu_ms() - t0;
        free(t);
        t = NULL;
        t0 = thread_cpu_ms();
        assert_int_equal(dv_ocr_read(s->ocr, &g, &all, 40, &t, &len, &err), -1);
        double b = thread_cpu_ms() - t0;
        assert_int_equal(err.code, DV_ERR_LIMIT);
        assert_null(t);
        err.code = DV_OK;
        unbounded = u < unbounded ? u : unbounded;
        bounded = b < bounded ? b : bounded;
    }
    fprintf(stderr, "page of %zu lines: %.0f ms CPU unbounded, %.0f ms CPU with a 40 ms deadline (least of 3)\n", n,
            unbounded, bounded);
    assert_true(bounded < unbounded / 2);
    free(g.px);
}

/* No model where we were told to look: DV_ERR_UNSUPPORTED naming the package, for an explicit directory
 * and for TESSDATA_PREFIX (no silent fallback to another model). */
static void test_missing_model(void **state)
{
    (void)state;
    char empty[] = "/tmp/dv_test_ocr_empty_XXXXXX";
    assert_non_null(mkdtemp(empty));
    dv_error err = {0};
    assert_null(dv_ocr_new_at(empty, &err));
    assert_int_equal(err.code, DV_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "tesseract-ocr-eng"));
    assert_null(strstr(err.message, empty));

    const char *old = getenv("TESSDATA_PREFIX");
    char *saved = old ? strdup(old) : NULL;
    setenv("TESSDATA_PREFIX", empty, 1);
    err.code = DV_OK;
    assert_null(dv_ocr_new(&err));
    assert_int_equal(err.code, DV_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "TESSDATA_PREFIX"));
    if (saved) {
        setenv("TESSDATA_PREFIX", saved, 1);
        free(saved);
    } else {
        unsetenv("TESSDATA_PREFIX");
    }
    rmdir(empty);
}

/* Boxes outside the picture are the caller's error, not "no text"; a blank box reads as "". */
static void test_bad_and_blank_boxes(void **state)
{
    suite *s = *state;
    const dvt_line *l = &s->lines.v[0];
    dv_error err = {0};
    char *t = NULL;
    size_t n;
    dv_box out = {l->img.width - 2, 0, 5, 5}, zero = {0, 0, 0, 4};
    assert_int_equal(dv_ocr_read(s->ocr, &l->img, &out, 0, &t, &n, &err), -1);
    assert_int_equal(err.code, DV_ERR_USAGE);
    assert_null(t);
    assert_int_equal(dv_ocr_read(s->ocr, &l->img, &zero, 0, &t, &n, &err), -1);
    uint8_t px[64 * 32];
    memset(px, 17, sizeof px);
    dv_gray8 g = {px, 64, 32, sizeof px, 0};
    dv_box all = {0, 0, 64, 32};
    err.code = DV_OK;
    assert_int_equal(dv_ocr_read(s->ocr, &g, &all, 0, &t, &n, &err), 0);
    assert_string_equal(t, "");
    assert_int_equal(n, 0);
    free(t);
}

static int thread_count(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* One thread per call: Tesseract's OpenMP regions run on the caller (max-active-levels 0), so reading boxes
 * starts no thread (with OpenMP on, libgomp keeps 3 more per process on 4 CPUs and costs 4x the CPU). */
static void test_single_threaded(void **state)
{
    suite *s = *state;
    int before = thread_count();
    assert_true(before >= 1);
    for (size_t i = 0; i < 8 && i < s->lines.n; i++)
        free(read_line(s->ocr, &s->lines.v[i]));
    assert_int_equal(thread_count(), before);
}

typedef struct worker_arg {
    dv_ocr *ocr; /* this worker's own model */
    const dvt_lines *lines;
    size_t n;
    char **texts;
    int failed;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    dv_error err = {0};
    /* Each worker loads its own model in its own thread, as the pixel stage's workers do (lazily, at once):
     * dv_ocr_new serialises the process-wide part of creation itself. */
    if (!(a->ocr = dv_ocr_new(&err))) {
        a->failed = 1;
        return NULL;
    }
    for (size_t i = 0; i < a->n; i++) {
        size_t len;
        if (dv_ocr_read(a->ocr, &a->lines->v[i].img, &a->lines->v[i].box, 0, &a->texts[i], &len, &err))
            a->failed = 1;
    }
    return NULL;
}

/* Two workers, two models created and used in two threads at once: each reads what one model alone reads. */
static void test_two_workers_in_two_threads(void **state)
{
    suite *s = *state;
    size_t n = s->lines.n < 24 ? s->lines.n : 24;
    char *ref[24], *ta[24] = {0}, *tb[24] = {0};
    for (size_t i = 0; i < n; i++)
        ref[i] = read_line(s->ocr, &s->lines.v[i]);
    worker_arg a = {NULL, &s->lines, n, ta, 0}, b = {NULL, &s->lines, n, tb, 0};
    pthread_t x, y;
    assert_int_equal(pthread_create(&x, NULL, worker, &a), 0);
    assert_int_equal(pthread_create(&y, NULL, worker, &b), 0);
    pthread_join(x, NULL);
    pthread_join(y, NULL);
    dv_ocr_free(a.ocr);
    dv_ocr_free(b.ocr);
    assert_false(a.failed);
    assert_false(b.failed);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(ta[i], ref[i]);
        assert_string_equal(tb[i], ref[i]);
        free(ta[i]);
        free(tb[i]);
        free(ref[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_names_ids_dates),
        cmocka_unit_test(test_two_line_box),
        cmocka_unit_test(test_flipped_reading),
        cmocka_unit_test(test_level_over_anatomy),
        cmocka_unit_test(test_level_local_contrast),
        cmocka_unit_test(test_line_bands),
        cmocka_unit_test(test_block_lines_once),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_deadline_interrupts),
        cmocka_unit_test(test_missing_model),
        cmocka_unit_test(test_bad_and_blank_boxes),
        cmocka_unit_test(test_single_threaded),
        cmocka_unit_test(test_two_workers_in_two_threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
