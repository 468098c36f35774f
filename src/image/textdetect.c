/* Text-region detection of our own (dv_redact.h; issue 11 item 2a; docs/pixels.md "Finding text").
 *
 * Why not OCR alone: research-notes A.2 measured plain Tesseract at 0.69 recall at best on burned-in
 * overlays (5-7 px text, text over bright anatomy, seconds on noisy mammography). Burned-in overlays are
 * drawn by a machine: thin strokes of one near-saturated value, often with a dark outline, laid out in
 * horizontal lines. So, per polarity (bright text, then dark text, each as "bright" on a working copy):
 *
 *   1. working image D: the gray8 view (or its negative), max-pooled f x f when the frame is larger than
 *      DET_MAX_PIXELS (max-pooling keeps a 1-px bright stroke bright; averaging would fade it);
 *   2. white top-hat T = D - opening(D) with a K x K square: structures narrower than K (strokes) stand
 *      out by their contrast to the local background, whatever its level (text over bright anatomy);
 *   3. binarise: T >= T_LOW and >= half the strongest T within K/2 (cuts a glyph loose from the weaker
 *      texture it sits on: text over bright or noisy anatomy); connected components (8-connected, run
 *      based); glyphs are components shaped like letters: height 3..MAX_H, width, fill, stroke width (the
 *      thinner of the mean horizontal and vertical runs, against the height), a flat ink core; "strong"
 *      with peak contrast >= T_HIGH, "weak" (>= T_WEAK) otherwise;
 *   4. group glyphs into lines: heights within 1:2.9, half a height of vertical overlap, a gap under 1.5
 *      heights; weak glyphs only attach to strong ones (one hop: they lengthen a line, never make one or
 *      chain along texture), except twins (two flat glyphs of one ink aligned on their top or bottom row).
 *      A line is kept when 2+ strong glyphs share one ink (within 40) with high mean contrast (>= 155) and
 *      flat cores, or lower contrast on a plain dark background that varies far less than the ink stands
 *      out (CNR), or when it is one large crisp glyph alone on a plain background (markers "L", "R"), or
 *      when 3+ flat glyphs of one near-saturated ink (4+ below saturation, TWIN_CNR) stand out from a
 *      background that varies less (text over bright anatomy, where every glyph is weak); a staircase of
 *      the line's own-ink glyphs (taller than 1.6 glyphs) is texture (speckle blobs attached to a label
 *      do not make it one). Refused pieces of an accepted line (flat, same ink, same rows, within 2.5
 *      heights) join it (extend_lines: a grey label running from a black corner over anatomy, a glyph
 *      broken by JPEG). The dark polarity has a third pass over its saturated pixels alone (sat_alone:
 *      black print over textured mammography or dark noisy MR). Two rules for text bound to texture: a
 *      label over ultrasound speckle, whose attached speckle blobs outnumber its letters, is the line of
 *      its own saturated, row-aligned glyphs at letter pitch (SUB_INK, SUB_T); tiny saturated text (7 px
 *      or less, 3+ letters of one height on one row) needs less contrast (TINY_T: antialiasing). Three
 *      more (wp-pixall2, seed 4's misses): an outlined label of unsaturated ink (green) over speckle is the
 *      line of its outlined glyphs (contrast ~ ink: black all round); TWIN_MANY flat glyphs of one ink on
 *      one row band need only the CNR of low-contrast lines; components refused as glyphs but of glyph
 *      size and high contrast inside an accepted line's rows join it (join_pieces: a JPEG-softened "1");
 *   4b. frames up to DIM_MAX_PIXELS get a dim pass (make_dim): the 3x3 mean, negated, its lowest 32 levels
 *      stretched over 256, searched for words of tiny dark print (word_like: 4-5 px black labels over dark
 *      noisy MR, whose letters the noise breaks up), 2+ words aligned on one row with nothing as dark
 *      around;
 *   5. box = the line's whole span, padded (a quarter of its height up and down, one height left and
 *      right: a box covering part of a line leaves the rest readable, A.2), scaled back, clipped;
 *      boxes of one line (both polarities, pieces) merged; the padded boxes of close lines may overlap
 *      and stay apart (dv_boxes_merge_lines: OCR reads one line per box; the stage paints the union).
 *
 * Cine loops: the previous frame (its gray8 view and its line boxes) is kept. A frame identical to the
 * previous one reuses its boxes; otherwise only the bounding rectangle of the changed 32x32 tiles, widened
 * by a margin and by every previous box it touches, is searched again, and the previous boxes outside it
 * are kept. Detection is local (a pixel's outcome depends on pixels within K/2 + one line's grouping reach,
 * both < MARGIN), so this gives the same boxes as a full search; when a line found in the window reaches
 * the window's edge (inside the frame) the whole frame is searched instead, so a line that grew past the
 * window is never cut. [test_textdetect: test_cine_reuse_and_redetect; fuzz_textdetect]
 *
 * Time bound: deadline_ms counts this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), not wall time, so a
 * frame's budget does not depend on how loaded the machine is; exceeded -> DV_ERR_LIMIT (the stage fails
 * closed). No static state: every buffer is in the dv_textdetect the worker owns. */
#include "dv_morph.h"
#include "dv_redact.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* ---- parameters (tuned on generator seed 1 + the JSL files; seeds 2, 3 and 4 looked at, 5 and 6 held out; see
 * docs/pixels.md "Finding text") ---- */
#define DET_MAX_PIXELS (4300000u) /* larger frames are max-pooled (a 2140x1760 CR is searched at full size) */
#define K DV_MINMAX_K              /* top-hat square (11): strokes up to 10 px wide */
#define T_LOW 40                  /* binarisation of the top-hat */
#define T_HIGH 120                /* a strong glyph's peak contrast */
#define T_WEAK 60                 /* a weak glyph's (low-contrast letters next to strong ones) */
#define MIN_H 3                   /* glyph height in working pixels */
#define MAX_H 48                  /* 28-px fonts make glyphs up to ~30 px; presidio's 2140-wide CR has 37 */
#define TWIN_SAT 248              /* twin lines: near-saturated ink (overlays are drawn at the extreme) */
#define SAT_INK 250               /* saturated pass: ink at the extreme value */
#define SAT_GAP 25                /* ... the surroundings' mean at least this far below it */
#define TWIN_CNR 7.0              /* unsaturated twin lines: contrast over the background's sd */
#define TWIN_INK 10               /* twins' inks differ by at most this */
#define SUB_INK 245               /* labels over speckle: saturated ink ... */
#define SUB_T 180                 /* ... standing out this much (mean peak top-hat) */
#define TINY_T 135                /* tiny saturated text: mean peak top-hat */
#define DIM_GAIN 8u               /* dim pass: the lowest 32 levels stretched over 256 */
#define DIM_T 150                 /* ... a word's peak top-hat */
#define DIM_MAX_H 8               /* ... tiny print only (larger dark print has its letters' shapes) */
enum { PASS_TOPHAT, PASS_SAT, PASS_DIM };
#define DIM_MAX_PIXELS (512u * 512u)
#define CNR 4.5                   /* contrast over background texture for low-contrast lines */
#define OUTLINE_GAP 16            /* outlined glyph: its contrast within this of its ink (black around it) */
#define TWIN_MANY 8               /* this many flat glyphs of one ink on one row band: CNR suffices */
#define TILE 32                   /* cine change tiles */
#define MARGIN 96                 /* cine window margin, frame pixels */

typedef struct run {
    uint32_t x0, x1, y; /* [x0, x1) on row y */
    uint32_t parent;    /* union-find over runs */
    uint32_t vov;       /* pixels of this run with a pixel of the component right above (4-connected) */
    uint8_t tmax, dmax;
} run;

typedef struct comp {
    uint32_t x0, y0, x1, y1; /* inclusive-exclusive */
    uint32_t n, nruns, core, vruns; /* vruns: vertical runs (n - vertically adjacent pairs) */
    uint8_t tmax, dmax;
    uint32_t line; /* union-find over glyphs */
    int strong;
} comp;

/* A piece: a component refused as a glyph but of glyph size and high contrast (a JPEG-softened "1" whose
 * thin stroke has little flat core, a 1-px "I" that fills its box); it may join an accepted line whose rows
 * it lies in (join_pieces), never make one. */
typedef struct piece {
    uint32_t x0, y0, x1, y1;
    uint8_t dmax, used;
} piece;

typedef struct line {
    uint32_t x0, y0, x1, y1, cnt, only; /* span and count of every glyph; only: its strong glyph (ns 1) */
    uint32_t ns, dref;                  /* strong glyphs, the brightest ink among them */
    uint32_t gh_max;                    /* tallest glyph */
    uint32_t nc, tsum, hmin, hmax;      /* strong glyphs whose ink is within 40 of dref ("consistent") */
    uint32_t cx0, cy0, cx1, cy1;        /* span of the consistent glyphs */
    uint32_t dall, nt, ttsum;           /* brightest ink of any glyph; flat glyphs of that ink, their contrast */
    uint32_t omax, no, ohmin, ohmax;    /* outlined strong glyphs (contrast ~ ink): the brightest ink; those */
    uint32_t ox0, oy0, ox1, oy1;        /* within TWIN_INK of it: count, heights, span */
    int ok;                             /* accepted as text */
    uint64_t core, npx;
} line;

struct dv_textdetect {
    uint8_t *d, *a, *b, *m; /* working image, morphology scratch, top-hat, binarisation threshold */
    size_t img_cap, a_cap, b_cap, m_cap;
    uint8_t *row; /* padded row */
    size_t row_cap;
    uint8_t *col; /* the column filter's padded rows (h + 2R of them) */
    size_t col_cap;
    run *runs;
    size_t runs_cap;
    uint32_t *root_comp; /* run root -> component index */
    size_t root_cap, nruns;

    comp *comps;
    size_t comps_cap;
    line *lines;
    size_t lines_cap;
    uint32_t *acc; /* accepted lines of one search */
    size_t acc_cap;
    piece *pieces;
    size_t pieces_cap;
    uint32_t *grid_head, *grid_next;
    size_t grid_cap, next_cap;
    dv_boxes found; /* one search's boxes */
    /* cine */
    uint8_t *prev;
    size_t prev_cap;
    uint32_t pw, ph;
    int have_prev;
    dv_boxes prev_boxes;
    dv_boxes keep;
    /* deadline */
    struct timespec t0;
    uint32_t deadline_ms;
    dv_textdetect_stats stats;
};

dv_textdetect *dv_textdetect_new(void)
{
    return calloc(1, sizeof(dv_textdetect));
}

void dv_textdetect_free(dv_textdetect *td)
{
    if (!td)
        return;
    free(td->d);
    free(td->a);
    free(td->b);
    free(td->m);
    free(td->row);
    free(td->col);
    free(td->runs);
    free(td->root_comp);
    free(td->comps);
    free(td->lines);
    free(td->acc);
    free(td->pieces);
    free(td->grid_head);
    free(td->grid_next);
    dv_boxes_free(&td->found);
    free(td->prev);
    dv_boxes_free(&td->prev_boxes);
    dv_boxes_free(&td->keep);
    free(td);
}

void dv_textdetect_reset(dv_textdetect *td)
{
    if (td) {
        td->have_prev = 0;
        dv_boxes_clear(&td->prev_boxes);
    }
}

void dv_textdetect_get_stats(const dv_textdetect *td, dv_textdetect_stats *out)
{
    *out = td->stats;
}

/* ---- helpers ---- */

static int grow(void **p, size_t *cap, size_t need, size_t elem, dv_error *err)
{
    if (need <= *cap)
        return 0;
    size_t n = need + need / 4;
    if (n > SIZE_MAX / elem)
        return dv_fail(err, DV_ERR_LIMIT, "text detection: %zu elements", need);
    void *q = realloc(*p, n * elem);
    if (!q)
        return dv_fail(err, DV_ERR_NOMEM, "text detection: %zu bytes", n * elem);
    *p = q;
    *cap = n;
    return 0;
}

static int over_deadline(const dv_textdetect *td)
{
    if (td->deadline_ms == 0)
        return 0;
    struct timespec now;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    int64_t ms = (int64_t)(now.tv_sec - td->t0.tv_sec) * 1000 + (now.tv_nsec - td->t0.tv_nsec) / 1000000;
    return ms >= (int64_t)td->deadline_ms;
}

static int deadline_fail(dv_error *err, const dv_textdetect *td)
{
    return dv_fail(err, DV_ERR_LIMIT, "text detection exceeded its %u ms budget", td->deadline_ms);
}

/* ---- the top-hat (its K x K min / max filters: morph.c) ---- */

/* b[i] = d[i] - b[i] (no wrap: b is an opening of d, never above it) */
static void subtract(const uint8_t *d, uint8_t *b, size_t n)
{
    size_t i = 0;
#ifdef __SSE2__
    for (; i + 16 <= n; i += 16)
        _mm_storeu_si128((__m128i *)(b + i), _mm_sub_epi8(_mm_loadu_si128((const __m128i *)(d + i)),
                                                           _mm_loadu_si128((const __m128i *)(b + i))));
#endif
    for (; i < n; i++)
        b[i] = (uint8_t)(d[i] - b[i]);
}

/* m[i] = max(m[i] / 2, T_LOW) */
static void half_floor(uint8_t *m, size_t n)
{
    size_t i = 0;
#ifdef __SSE2__
    const __m128i low7 = _mm_set1_epi8(0x7F), floor = _mm_set1_epi8((char)T_LOW);
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_and_si128(_mm_srli_epi16(_mm_loadu_si128((const __m128i *)(m + i)), 1), low7);
        _mm_storeu_si128((__m128i *)(m + i), _mm_max_epu8(v, floor));
    }
#endif
    for (; i < n; i++) {
        uint8_t half = m[i] / 2;
        m[i] = half > T_LOW ? half : T_LOW;
    }
}

/* b = D - opening(D); a is scratch. */
static int tophat(dv_textdetect *td, uint32_t w, uint32_t h, dv_error *err)
{
    uint8_t *d = td->d, *a = td->a, *b = td->b;
    dv_minmax11(d, a, b, w, h, 0, td->row, td->col); /* b = erosion */
    if (over_deadline(td))
        return deadline_fail(err, td);
    dv_minmax11(b, a, b, w, h, 1, td->row, td->col); /* b = opening */
    size_t n = (size_t)w * h;
    subtract(d, b, n); /* opening <= D */
    /* m = half the local maximum of T (K x K): a pixel counts only when it reaches half the strongest
     * contrast around it, which cuts a glyph loose from the weaker texture it sits on */
    dv_minmax11(b, a, td->m, w, h, 1, td->row, td->col);
    half_floor(td->m, n);
    if (over_deadline(td))
        return deadline_fail(err, td);
    return 0;
}

/* ---- connected components over T >= T_LOW ---- */

static uint32_t find(run *r, uint32_t i)
{
    while (r[i].parent != i) {
        r[i].parent = r[r[i].parent].parent;
        i = r[i].parent;
    }
    return i;
}

static void unite(run *r, uint32_t a, uint32_t b)
{
    a = find(r, a), b = find(r, b);
    if (a != b) {
        if (a < b)
            r[b].parent = a;
        else
            r[a].parent = b;
    }
}

/* The first x in [x, w) where t[x] >= m[x] (a pixel of a component), or w: most of a frame is background,
 * skipped 16 pixels at a time where SSE2 exists. */
static uint32_t next_on(const uint8_t *t, const uint8_t *m, uint32_t x, uint32_t w)
{
#ifdef __SSE2__
    for (; x + 16 <= w; x += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(t + x)), b = _mm_loadu_si128((const __m128i *)(m + x));
        int on = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(a, b), a)); /* a >= b */
        if (on)
            return x + (uint32_t)__builtin_ctz((unsigned)on);
    }
#endif
    while (x < w && t[x] < m[x])
        x++;
    return x;
}

static int components(dv_textdetect *td, uint32_t w, uint32_t h, size_t *ncomp, dv_error *err)
{
    const uint8_t *t = td->b, *d = td->d, *m = td->m;
    size_t nr = 0, prev_start = 0, prev_end = 0;
    for (uint32_t y = 0; y < h; y++) {
        if ((y & 63) == 0 && over_deadline(td))
            return deadline_fail(err, td);
        const uint8_t *tr = t + (size_t)y * w, *dr = d + (size_t)y * w, *mr = m + (size_t)y * w;
        size_t cur_start = nr;
        uint32_t x = 0;
        while (x < w) {
            x = next_on(tr, mr, x, w);
            if (x >= w)
                break;
            uint32_t x0 = x;
            uint8_t tm = 0, dm = 0;
            while (x < w && tr[x] >= mr[x]) {
                tm = tr[x] > tm ? tr[x] : tm;
                dm = dr[x] > dm ? dr[x] : dm;
                x++;
            }
            if (grow((void **)&td->runs, &td->runs_cap, nr + 1, sizeof(run), err))
                return -1;
            run *rn = &td->runs[nr];
            rn->x0 = x0, rn->x1 = x, rn->y = y, rn->parent = (uint32_t)nr, rn->tmax = tm, rn->dmax = dm;
            rn->vov = 0;
            nr++;
        }
        /* 8-connectivity with the previous row: overlap of [x0-1, x1] */
        size_t p = prev_start;
        for (size_t c = cur_start; c < nr; c++) {
            run *rc = &td->runs[c];
            while (p < prev_end && td->runs[p].x1 < rc->x0) /* prev ends before cur starts - 1 */
                p++;
            for (size_t q = p; q < prev_end && td->runs[q].x0 <= rc->x1; q++) {
                const run *rq = &td->runs[q];
                uint32_t a = rq->x0 > rc->x0 ? rq->x0 : rc->x0, b = rq->x1 < rc->x1 ? rq->x1 : rc->x1;
                if (b > a)
                    rc->vov += b - a;
                unite(td->runs, (uint32_t)q, (uint32_t)c);
            }
        }
        prev_start = cur_start;
        prev_end = nr;
    }
    /* one glyph candidate per root */
    if (grow((void **)&td->root_comp, &td->root_cap, nr ? nr : 1, sizeof(uint32_t), err))
        return -1;
    size_t nc = 0;
    for (size_t i = 0; i < nr; i++) {
        uint32_t r = find(td->runs, (uint32_t)i);
        td->runs[i].parent = r;
        if (r == i) {
            if (grow((void **)&td->comps, &td->comps_cap, nc + 1, sizeof(comp), err))
                return -1;
            comp *c = &td->comps[nc];
            memset(c, 0, sizeof *c);
            c->x0 = UINT32_MAX, c->y0 = UINT32_MAX;
            td->root_comp[i] = (uint32_t)nc++;
        }
        comp *c = &td->comps[td->root_comp[r]];
        const run *rn = &td->runs[i];
        c->x0 = rn->x0 < c->x0 ? rn->x0 : c->x0;
        c->x1 = rn->x1 > c->x1 ? rn->x1 : c->x1;
        c->y0 = rn->y < c->y0 ? rn->y : c->y0;
        c->y1 = rn->y + 1 > c->y1 ? rn->y + 1 : c->y1;
        c->n += rn->x1 - rn->x0;
        c->nruns++;
        c->vruns += rn->x1 - rn->x0 - rn->vov;
        c->tmax = rn->tmax > c->tmax ? rn->tmax : c->tmax;
        c->dmax = rn->dmax > c->dmax ? rn->dmax : c->dmax;
    }
    /* flat ink core: pixels within 48 of the glyph's brightest value */
    for (size_t i = 0; i < nr; i++) {
        const run *rn = &td->runs[i];
        comp *c = &td->comps[td->root_comp[rn->parent]];
        const uint8_t *dr = d + (size_t)rn->y * w;
        int lim = (int)c->dmax - 48;
        for (uint32_t x = rn->x0; x < rn->x1; x++)
            c->core += dr[x] >= lim;
    }
    *ncomp = nc;
    td->nruns = nr;
    return 0;
}

/* Glyph-shaped? 2: a strong glyph (peak contrast T_HIGH), 1: a weak one (T_WEAK: it may lengthen a line
 * that strong glyphs make, never make one), 0: not a glyph. (working pixels) */
static int glyph_like(const comp *c)
{
    uint32_t w = c->x1 - c->x0, h = c->y1 - c->y0;
    if (h < MIN_H || h > MAX_H || c->tmax < T_WEAK)
        return 0;
    if (w > 24 * h + 8) /* words whose letters touch are long; bars and rulers are longer still */
        return 0;
    uint64_t box = (uint64_t)w * h;
    if ((uint64_t)c->n * 100 > box * 90 || (uint64_t)c->n * 100 < box * 8)
        return 0;
    /* stroke width: the thinner of the mean horizontal and the mean vertical run must stay thin relative to
     * the height (a blob is thick both ways; a word whose small letters touch is thick one way only) */
    uint32_t runs = c->nruns > c->vruns ? c->nruns : c->vruns;
    if ((uint64_t)c->n * 100 > (uint64_t)runs * (45 * h + 100))
        return 0;
    /* a flat ink core; tiny glyphs (7 px or less: 8-px fonts on small MR frames) are almost all edge, their
     * antialiased strokes rarely within 48 of the peak */
    if ((uint64_t)c->core * 100 < (uint64_t)c->n * (h <= 7 ? 12 : 30))
        return 0;
    return c->tmax >= T_HIGH ? 2 : 1;
}

/* A word of tiny dark print in the dim pass (make_dim): its letters blur into one component 3-8 rows
 * tall and at least 1.5 heights long, standing out strongly (the letters' own shapes are lost at 5 px). */
static int word_like(const comp *c)
{
    uint32_t w = c->x1 - c->x0, h = c->y1 - c->y0;
    if (h < MIN_H || h > DIM_MAX_H || w * 2 < h * 3 || w > 24 * h + 8 || c->tmax < DIM_T)
        return 0;
    uint64_t box = (uint64_t)w * h;
    return (uint64_t)c->n * 100 >= box * 30 && (uint64_t)c->n * 100 <= box * 90 ? 2 : 0;
}

/* Flat: nearly every pixel in the ink core (a drawn glyph is one value; texture blobs peak and fade). */
static int flat(const comp *g)
{
    return (uint64_t)g->core * 100 >= (uint64_t)g->n * 75;
}

/* Twins: two flat glyphs of one ink (within TWIN_INK) aligned on their top or bottom row. */
static int twins(const comp *a, const comp *b)
{
    int dd = (int)a->dmax - (int)b->dmax;
    int top = (int)a->y0 - (int)b->y0, bot = (int)a->y1 - (int)b->y1;
    int aligned = (top >= -1 && top <= 1) || (bot >= -1 && bot <= 1);
    return flat(a) && flat(b) && dd >= -TWIN_INK && dd <= TWIN_INK && aligned;
}

/* Outlined: a strong glyph whose contrast is (nearly) its ink: black within K/2 all round (a dark outline or
 * a black background), standing out SUB_T or more. */
static int outlined(const comp *g)
{
    return g->strong && g->tmax >= SUB_T && (uint32_t)g->tmax + OUTLINE_GAP >= g->dmax;
}

static uint32_t lfind(comp *c, uint32_t i)
{
    while (c[i].line != i) {
        c[i].line = c[c[i].line].line;
        i = c[i].line;
    }
    return i;
}

static void link_glyphs(comp *c, uint32_t i, uint32_t j)
{
    const comp *a = &c[i], *b = &c[j];
    /* weak glyphs lengthen a line by one hop, they never chain on texture; except twins: two flat glyphs of
     * the same ink aligned on their top or bottom row (text over bright anatomy, where every glyph is weak) */
    if (!a->strong && !b->strong && !twins(a, b))
        return;
    uint32_t ha = a->y1 - a->y0, hb = b->y1 - b->y0;
    uint32_t hmin = ha < hb ? ha : hb, hmax = ha > hb ? ha : hb;
    if (hmin * 100 < hmax * 35)
        return;
    uint32_t oy0 = a->y0 > b->y0 ? a->y0 : b->y0, oy1 = a->y1 < b->y1 ? a->y1 : b->y1;
    if (oy1 <= oy0 || (oy1 - oy0) * 2 < hmin)
        return;
    /* gap: b starts at or after a's start (caller's order) */
    int64_t gap = (int64_t)b->x0 - (int64_t)a->x1;
    if (gap > (int64_t)(3 * hmax / 2 + 3))
        return;
    uint32_t ri = lfind(c, i), rj = lfind(c, j);
    if (ri != rj)
        c[ri > rj ? ri : rj].line = ri < rj ? ri : rj;
}

/* Statistics of the pixels around a glyph or line (its box widened by half its height) that do not stand
 * out (top-hat under the binarisation threshold): mean, variance, and the share as bright as ink - 40. */
typedef struct bgstat {
    double mean, var, bright;
} bgstat;

static bgstat background(const dv_textdetect *td, uint32_t x0, uint32_t y0, uint32_t x1, uint32_t y1, int ink,
                         uint32_t w, uint32_t h)
{
    uint32_t m = (y1 - y0) / 2;
    uint32_t bx0 = x0 > m ? x0 - m : 0, bx1 = x1 + m < w ? x1 + m : w;
    uint32_t by0 = y0 > m ? y0 - m : 0, by1 = y1 + m < h ? y1 + m : h;
    uint64_t n = 0, sum = 0, sq = 0, bright = 0;
    for (uint32_t y = by0; y < by1; y++) {
        const uint8_t *dr = td->d + (size_t)y * w;
        const uint8_t *tr = td->b + (size_t)y * w, *mr = td->m + (size_t)y * w;
        for (uint32_t x = bx0; x < bx1; x++) {
            if (tr[x] >= mr[x]) /* stands out: ink of this or another glyph, or texture peaks */
                continue;
            n++;
            sum += dr[x];
            sq += (uint64_t)dr[x] * dr[x];
            bright += dr[x] + 40 >= ink;
        }
    }
    bgstat r = {0, 0, 0};
    if (n) {
        r.mean = (double)sum / (double)n;
        double var = (double)sq / (double)n - r.mean * r.mean;
        r.var = var > 0 ? var : 0;
        r.bright = (double)bright / (double)n;
    }
    return r;
}

/* A line of one glyph ("L", "R", a digit): only when it is large enough to read, crisp, and alone on a
 * plain background (its box widened by half its height holds nothing as bright as its ink, and the
 * background is dark relative to it): on texture a lone blob is far more often speckle than a letter. */
static int lone_glyph_ok(const dv_textdetect *td, const comp *g, uint32_t w, uint32_t h)
{
    uint32_t gh = g->y1 - g->y0;
    if (gh < 8 || gh > 36 || g->tmax < 150)
        return 0;
    bgstat b = background(td, g->x0, g->y0, g->x1, g->y1, g->dmax, w, h);
    return b.bright <= 0.02 && b.mean <= 0.3 * g->dmax;
}

#define CELL 32u

/* Saturated pass (dark text only: black print over dark noisy MR or textured mammography, where the
 * top-hat's contrast is too low or the glyphs merge with the texture): a line of glyphs at the extreme
 * value is text when little else around it is (its box widened by its height holds at most 4x its glyphs'
 * saturated pixels: the texture's own extremes touch the print) and the rest of the surroundings lie
 * SAT_GAP below the ink. Bright saturation is left out: ultrasound's clipped reflectors make lines of
 * saturated blobs with as many more around them (seed 1: 5.7 % of an empty frame covered). */
static int sat_alone(const dv_textdetect *td, const line *l, uint32_t w, uint32_t h)
{
    uint32_t m = l->y1 - l->y0;
    uint32_t bx0 = l->x0 > m ? l->x0 - m : 0, bx1 = l->x1 + m < w ? l->x1 + m : w;
    uint32_t by0 = l->y0 > m ? l->y0 - m : 0, by1 = l->y1 + m < h ? l->y1 + m : h;
    uint64_t nsat = 0, n = 0, sum = 0;
    for (uint32_t y = by0; y < by1; y++) {
        const uint8_t *dr = td->d + (size_t)y * w;
        for (uint32_t x = bx0; x < bx1; x++) {
            if (dr[x] >= SAT_INK) {
                nsat++;
            } else {
                n++;
                sum += dr[x];
            }
        }
    }
    return n && nsat <= l->npx * 4 && sum <= n * (uint64_t)(SAT_INK - SAT_GAP);
}

/* Pieces of an accepted line: a line the tests above refused (its glyphs weak: the rest of a grey label
 * where it runs over anatomy, a word after a wide space) joins an accepted line when its glyphs are mostly
 * flat and of the accepted line's ink (within TWIN_INK), about as tall, on the same rows, and it starts
 * within 2.5 text heights of the accepted line's end. Repeated while pieces join (a piece extends the line
 * for the next one). Returns -1 past the deadline. */
static int extend_lines(dv_textdetect *td, line *ln, size_t ng, size_t nacc)
{
    for (int round = 0, grew = 1; grew && round < 8; round++) {
        grew = 0;
        if (over_deadline(td))
            return -1;
        for (size_t i = 0; i < ng; i++) {
            line *p = &ln[i];
            if (p->ok || p->cnt == 0)
                continue;
            int twin_piece = p->nt > 0 && p->nt * 3 >= p->cnt * 2;
            uint32_t ph = p->y1 - p->y0;
            for (size_t k = 0; k < nacc; k++) {
                line *a = &ln[td->acc[k]];
                uint32_t ink = a->ns ? a->dref : a->dall, ah = a->y1 - a->y0;
                uint32_t ahg = a->hmax ? a->hmax : a->gh_max;
                int d = (int)p->dall - (int)ink;
                /* a piece within the line's own rows (a glyph broken by JPEG, a dot): ink within 32 */
                int inside = p->y0 + 1 >= a->y0 && p->y1 <= a->y1 + 1 && d >= -32 && d <= 32;
                if (!inside) {
                    if (!twin_piece || d < -TWIN_INK || d > TWIN_INK)
                        continue;
                    if (p->gh_max * 2 < ahg || p->gh_max * 10 > ahg * 13 + 20)
                        continue;
                    uint32_t oy0 = p->y0 > a->y0 ? p->y0 : a->y0, oy1 = p->y1 < a->y1 ? p->y1 : a->y1;
                    uint32_t hmin = ph < ah ? ph : ah;
                    if (oy1 <= oy0 || (oy1 - oy0) * 2 < hmin)
                        continue;
                }
                int64_t gap = p->x0 >= a->x1 ? (int64_t)p->x0 - a->x1 : (int64_t)a->x0 - p->x1;
                if (gap > (int64_t)(5 * ahg / 2 + 3))
                    continue;
                /* join: a takes p's span (p stays refused: a's tests were its own) */
                a->x0 = p->x0 < a->x0 ? p->x0 : a->x0;
                a->x1 = p->x1 > a->x1 ? p->x1 : a->x1;
                a->y0 = p->y0 < a->y0 ? p->y0 : a->y0;
                a->y1 = p->y1 > a->y1 ? p->y1 : a->y1;
                p->cnt = 0;
                grew = 1;
                break;
            }
        }
    }
    return 0;
}

/* Pieces inside an accepted line (see piece): a refused component within the line's rows (one row of slack),
 * at least half as tall as its glyphs, of its ink (within 32), starting within a glyph gap (1.5 heights) of
 * the line's end, lengthens the line; repeated while pieces join ("MI 1.1": the two JPEG-softened "1"s
 * after an accepted "MI", seed 4, wp-pixall2). Rows are kept: a piece never makes a line taller.
 * [test_textdetect: test_detect_line_pieces] Returns -1 past the deadline. */
static int join_pieces(dv_textdetect *td, line *ln, size_t nacc, size_t np)
{
    for (int round = 0, grew = 1; grew && round < 8; round++) {
        grew = 0;
        if (over_deadline(td))
            return -1;
        for (size_t k = 0; k < nacc; k++) {
            line *a = &ln[td->acc[k]];
            int ink = a->ns ? (int)a->dref : (int)a->dall;
            uint32_t ahg = a->hmax ? a->hmax : a->gh_max;
            for (size_t i = 0; i < np; i++) {
                piece *p = &td->pieces[i];
                int d = (int)p->dmax - ink;
                if (p->used || p->y0 + 1 < a->y0 || p->y1 > a->y1 + 1 || (p->y1 - p->y0) * 2 < ahg || d < -32 ||
                    d > 32)
                    continue;
                int64_t gap = p->x0 >= a->x1 ? (int64_t)p->x0 - a->x1 : (int64_t)a->x0 - p->x1;
                if (gap > (int64_t)(3 * ahg / 2 + 3))
                    continue;
                a->x0 = p->x0 < a->x0 ? p->x0 : a->x0;
                a->x1 = p->x1 > a->x1 ? p->x1 : a->x1;
                p->used = 1;
                grew = 1;
            }
        }
    }
    return 0;
}

/* Search one polarity of the working image (w x h, scale f, offset ox/oy in the frame); append padded
 * frame boxes to td->found. */
static int search(dv_textdetect *td, uint32_t w, uint32_t h, uint32_t f, uint32_t ox, uint32_t oy,
                  uint32_t fw, uint32_t fh, int pass, dv_error *err)
{
    int sat = pass == PASS_SAT, dim = pass == PASS_DIM;
    if (sat) { /* the saturated pass: ink is what sits at the extreme value, whatever surrounds it */
        size_t n = (size_t)w * h;
        memcpy(td->b, td->d, n);
        memset(td->m, SAT_INK, n);
    } else if (tophat(td, w, h, err)) {
        return -1;
    }
    size_t nc = 0;
    if (components(td, w, h, &nc, err))
        return -1;
    comp *c = td->comps;
    /* keep glyphs, compacting; pieces (top-hat passes) apart */
    size_t ng = 0, np = 0;
    for (size_t i = 0; i < nc; i++) {
        int gl = dim ? word_like(&c[i]) : glyph_like(&c[i]);
        if (gl) {
            c[ng] = c[i];
            c[ng].strong = gl == 2;
            ng++;
            continue;
        }
        uint32_t pw = c[i].x1 - c[i].x0, ph = c[i].y1 - c[i].y0;
        if (pass != PASS_TOPHAT || ph < MIN_H || ph > MAX_H || pw > 2 * ph + 2 || c[i].tmax < T_HIGH)
            continue;
        if (grow((void **)&td->pieces, &td->pieces_cap, np + 1, sizeof(piece), err))
            return -1;
        td->pieces[np++] = (piece){c[i].x0, c[i].y0, c[i].x1, c[i].y1, c[i].dmax, 0};
    }
    if (ng == 0)
        return 0;
    for (size_t i = 0; i < ng; i++)
        c[i].line = (uint32_t)i;
    /* grid over glyph origins so that grouping looks only at neighbours */
    uint32_t gw = (w + CELL - 1) / CELL, gh = (h + CELL - 1) / CELL;
    size_t ncell = (size_t)gw * gh;
    if (grow((void **)&td->grid_head, &td->grid_cap, ncell, sizeof(uint32_t), err) ||
        grow((void **)&td->grid_next, &td->next_cap, ng, sizeof(uint32_t), err))
        return -1;
    for (size_t i = 0; i < ncell; i++)
        td->grid_head[i] = UINT32_MAX;
    for (size_t i = ng; i-- > 0;) {
        size_t cell = (size_t)(c[i].y0 / CELL) * gw + c[i].x0 / CELL;
        td->grid_next[i] = td->grid_head[cell];
        td->grid_head[cell] = (uint32_t)i;
    }
    for (size_t i = 0; i < ng; i++) {
        if ((i & 1023) == 0 && over_deadline(td))
            return deadline_fail(err, td);
        uint32_t hi = c[i].y1 - c[i].y0;
        /* partner's x0: up to 1.5 x the taller height (<= hi / 0.35) + 3 past our end */
        uint64_t xa = c[i].x0, xb = (uint64_t)c[i].x1 + (9 * (uint64_t)hi) / 2 + 3;
        uint64_t ya = c[i].y0 > 3 * hi ? c[i].y0 - 3 * hi : 0, yb = c[i].y1;      /* partner's y0 range */
        if (xb >= w)
            xb = w - 1;
        if (yb >= h)
            yb = h - 1;
        for (uint64_t cy = ya / CELL; cy <= yb / CELL; cy++)
            for (uint64_t cx = xa / CELL; cx <= xb / CELL; cx++)
                for (uint32_t j = td->grid_head[cy * gw + cx]; j != UINT32_MAX; j = td->grid_next[j]) {
                    if (j == i || c[j].x0 < c[i].x0 || (c[j].x0 == c[i].x0 && j < i))
                        continue;
                    link_glyphs(c, (uint32_t)i, j);
                }
    }
    /* lines: accumulate every glyph into its root, then the strong glyphs whose ink matches the line's */
    if (grow((void **)&td->lines, &td->lines_cap, ng, sizeof(line), err) ||
        grow((void **)&td->acc, &td->acc_cap, ng, sizeof(uint32_t), err))
        return -1;
    line *ln = td->lines;
    memset(ln, 0, ng * sizeof *ln);
    for (size_t i = 0; i < ng; i++)
        ln[i].x0 = ln[i].y0 = ln[i].hmin = ln[i].cy0 = ln[i].cx0 = ln[i].ohmin = ln[i].ox0 =
            ln[i].oy0 = UINT32_MAX;
    for (size_t i = 0; i < ng; i++) {
        line *l = &ln[lfind(c, (uint32_t)i)];
        l->x0 = c[i].x0 < l->x0 ? c[i].x0 : l->x0;
        l->y0 = c[i].y0 < l->y0 ? c[i].y0 : l->y0;
        l->x1 = c[i].x1 > l->x1 ? c[i].x1 : l->x1;
        l->y1 = c[i].y1 > l->y1 ? c[i].y1 : l->y1;
        l->cnt++;
        l->gh_max = c[i].y1 - c[i].y0 > l->gh_max ? c[i].y1 - c[i].y0 : l->gh_max;
        l->dall = c[i].dmax > l->dall ? c[i].dmax : l->dall;
        if (outlined(&c[i]))
            l->omax = c[i].dmax > l->omax ? c[i].dmax : l->omax;
        if (c[i].strong) {
            l->ns++;
            l->only = (uint32_t)i;
            l->dref = c[i].dmax > l->dref ? c[i].dmax : l->dref;
        }
    }
    for (size_t i = 0; i < ng; i++) {
        line *l = &ln[c[i].line];
        if (flat(&c[i]) && (uint32_t)c[i].dmax + TWIN_INK >= l->dall) {
            l->nt++;
            l->ttsum += c[i].tmax;
        }
        uint32_t gh = c[i].y1 - c[i].y0;
        if (outlined(&c[i]) && (uint32_t)c[i].dmax + TWIN_INK >= l->omax) {
            l->no++;
            l->ohmin = gh < l->ohmin ? gh : l->ohmin;
            l->ohmax = gh > l->ohmax ? gh : l->ohmax;
            l->ox0 = c[i].x0 < l->ox0 ? c[i].x0 : l->ox0;
            l->oy0 = c[i].y0 < l->oy0 ? c[i].y0 : l->oy0;
            l->ox1 = c[i].x1 > l->ox1 ? c[i].x1 : l->ox1;
            l->oy1 = c[i].y1 > l->oy1 ? c[i].y1 : l->oy1;
        }
        if (!c[i].strong || (uint32_t)c[i].dmax + 40 < l->dref)
            continue;
        l->nc++;
        l->tsum += c[i].tmax;
        l->core += c[i].core;
        l->npx += c[i].n;
        l->hmin = gh < l->hmin ? gh : l->hmin;
        l->hmax = gh > l->hmax ? gh : l->hmax;
        l->cy0 = c[i].y0 < l->cy0 ? c[i].y0 : l->cy0;
        l->cy1 = c[i].y1 > l->cy1 ? c[i].y1 : l->cy1;
        l->cx0 = c[i].x0 < l->cx0 ? c[i].x0 : l->cx0;
        l->cx1 = c[i].x1 > l->cx1 ? c[i].x1 : l->cx1;
    }
    size_t nacc = 0;
    for (size_t i = 0; i < ng; i++) {
        line *l = &ln[i];
        if (l->cnt == 0 || (l->ns == 0 && l->nt < 3))
            continue;
        uint32_t lh = l->y1 - l->y0;
        int ok;
        /* the staircase test looks at the glyphs of the line's ink only: texture blobs that attach above or
         * below a line of text over speckle (ultrasound labels) make the whole line taller, not a staircase */
        uint32_t ch = l->nc ? l->cy1 - l->cy0 : lh;
        if (dim) {
            /* two or more words of tiny print on one row, their tops and bottoms aligned within a pixel (printed
             * words; the dark gaps between echoes in ultrasound tissue make blobs of any height), standing
             * out strongly */
            ok = l->ns >= 2 && l->hmin + 1 >= l->hmax && lh <= l->gh_max + 1 && l->nc * 2 > l->ns &&
                 l->tsum >= l->nc * DIM_T;
            if (ok) { /* on a background with nothing as dark as the print (echoes' gaps border black) */
                bgstat b = background(td, l->x0, l->y0, l->x1, l->y1, (int)l->dref, w, h);
                ok = b.bright <= 0.02;
            }
        } else if (sat) {
            ok = l->nt >= 3 && l->nt * 3 >= l->cnt * 2 && lh * 5 <= l->gh_max * 8 && l->gh_max >= 4 &&
                 sat_alone(td, l, w, h);
        } else if (ch * 5 > l->hmax * 8 && (l->nc || lh * 5 > l->gh_max * 8)) {
            ok = 0; /* a staircase of glyphs, each overlapping the next by half: texture, not a line */
        } else if (l->nc >= 2 && l->nc * 2 >= l->ns) {
            /* two or more glyphs of one ink, high contrast, flat ink cores (tiny text: cores are all edge) */
            double tmean = (double)l->tsum / l->nc, corefrac = l->npx ? (double)l->core / (double)l->npx : 0.0;
            /* tiny text (7 px or less) at the saturated ink: antialiasing leaves its thin strokes short of
             * their full contrast (8-px fonts on small MR over the body: 148-152) */
            int tiny_sat = lh <= 7 && l->dref >= SUB_INK && l->nc >= 3 && l->cy1 - l->cy0 <= l->hmax + 1 &&
                           l->hmin * 10 >= l->hmax * 7; /* 3+ letters of one height on one row (not glitter) */
            ok = tmean >= (tiny_sat ? TINY_T : 155) && (corefrac >= 0.5 || lh <= 7);
            if (!ok && tmean >= 48) {
                /* lower contrast (grey text, JPEG-softened thin strokes): enough on a plain dark background
                 * that varies far less than the ink stands out (speckle varies as much as its own peaks) */
                bgstat b = background(td, l->x0, l->y0, l->x1, l->y1, (int)l->dref, w, h);
                double sd_max = tmean / CNR - 4; /* tmean >= CNR * (sd + 4) without a square root */
                ok = sd_max > 0 && b.var <= sd_max * sd_max && b.bright <= 0.02 && b.mean <= 0.25 * l->dref;
            }
        } else if (l->nc >= 2 && l->dref >= SUB_INK && (double)l->tsum / l->nc >= SUB_T &&
                   l->cy1 - l->cy0 <= l->hmax + 1 && l->hmin * 10 >= l->hmax * 7 &&
                   l->cx1 - l->cx0 <= l->nc * 2 * l->hmax) {
            /* a label over speckle: its glyphs share one saturated ink, aligned, at letter pitch, while the
             * speckle blobs attached to them outnumber them (nc * 2 < ns); the line is the label's glyphs
             * alone (the speckle around it is not text) */
            ok = 1;
            l->x0 = l->cx0, l->x1 = l->cx1, l->y0 = l->cy0, l->y1 = l->cy1;
        } else if (l->ns == 1 && l->cnt <= 2) {
            ok = lone_glyph_ok(td, &c[l->only], w, h);
        } else {
            ok = 0;
        }
        if (!ok && !sat && !dim && l->no >= 2 && l->oy1 - l->oy0 <= l->ohmax + 1 &&
            l->ohmin * 10 >= l->ohmax * 7 && l->ox1 - l->ox0 <= l->no * 2 * l->ohmax) {
            /* an outlined label over speckle, its ink below saturation (green: 230 in the brightest channel):
             * outlined glyphs of the brightest such ink (within TWIN_INK), aligned, at letter pitch; speckle
             * blobs fade into grey, not black, and those on black are rarely of the label's ink. Whatever else the line holds (speckle
             * blobs attached above or below make it a staircase), the line is those glyphs alone (seed 4's
             * green "GB" labels, wp-pixall2) [test_textdetect: test_detect_outlined_label_on_speckle] */
            ok = 1;
            l->x0 = l->ox0, l->x1 = l->ox1, l->y0 = l->oy0, l->y1 = l->oy1;
        }
        if (!ok && !sat && !dim && l->nt >= 3 && l->nt * 3 >= l->cnt * 2 && lh * 5 <= l->gh_max * 8 &&
            (l->dall >= TWIN_SAT || l->nt >= 4)) {
            /* three or more flat glyphs of one ink (text over bright anatomy: every glyph weak), the ink the
             * brightest thing around, on a background that varies less than half the contrast; ink below
             * saturation (green text: 230) needs four glyphs standing out TWIN_CNR times the background's
             * variation (speckle's flat blobs of one value reach about 5) */
            double tmean = (double)l->ttsum / l->nt;
            bgstat b = background(td, l->x0, l->y0, l->x1, l->y1, (int)l->dall, w, h);
            double sd_max = l->dall >= TWIN_SAT ? tmean / 2 : tmean / TWIN_CNR - 2;
            /* TWIN_MANY or more such glyphs on one row band (the line no taller than its tallest glyph + 2):
             * texture does not make eight flat blobs of one value in a row, so the low-contrast lines' CNR
             * suffices (a green name over bright, noisy body: contrast 87, background sd 15; seed 4,
             * wp-pixall2) [test_textdetect: test_detect_many_twins_on_texture] */
            if (l->nt >= TWIN_MANY && lh <= l->gh_max + 2 && tmean / CNR > sd_max)
                sd_max = tmean / CNR;
            ok = b.bright <= 0.03 && sd_max > 0 && b.var <= sd_max * sd_max;
        }
        if (!ok)
            continue;
        l->ok = 1;
        td->acc[nacc++] = (uint32_t)i;
    }
    if (extend_lines(td, ln, ng, nacc) || join_pieces(td, ln, nacc, np))
        return deadline_fail(err, td);
    for (size_t i = 0; i < ng; i++) {
        const line *l = &ln[i];
        if (!l->ok)
            continue;
        uint32_t lh = l->y1 - l->y0;
        dv_box bx = {(uint32_t)((uint64_t)l->x0 * f) + ox, (uint32_t)((uint64_t)l->y0 * f) + oy,
                     (l->x1 - l->x0) * f, lh * f};
        uint32_t pad_y = (lh / 4 + 2) * f, pad_x = (lh + 3) * f;
        bx = dv_box_pad(bx, pad_x, pad_y, fw, fh);
        if (dv_boxes_add(&td->found, bx, err))
            return -1;
    }
    return 0;
}

/* Working image of one polarity from the region (rx, ry, rw, rh) of g, scale f. */
static void make_working(dv_textdetect *td, const dv_gray8 *g, uint32_t rx, uint32_t ry, uint32_t rw,
                         uint32_t rh, uint32_t f, int dark, uint32_t *w_out, uint32_t *h_out)
{
    uint32_t w = (rw + f - 1) / f, h = (rh + f - 1) / f;
    uint8_t flip = dark ? 255 : 0;
    for (uint32_t y = 0; y < h; y++) {
        uint8_t *o = td->d + (size_t)y * w;
        if (f == 1) {
            const uint8_t *s = g->px + (size_t)(ry + y) * g->width + rx;
            for (uint32_t x = 0; x < w; x++)
                o[x] = s[x] ^ flip;
            continue;
        }
        memset(o, 0, w);
        for (uint32_t yy = y * f; yy < (y + 1) * f && yy < rh; yy++) {
            const uint8_t *s = g->px + (size_t)(ry + yy) * g->width + rx;
            for (uint32_t x = 0; x < w; x++) {
                uint32_t xe = (x + 1) * f < rw ? (x + 1) * f : rw;
                for (uint32_t xx = x * f; xx < xe; xx++) {
                    uint8_t v = s[xx] ^ flip;
                    o[x] = v > o[x] ? v : o[x];
                }
            }
        }
    }
    *w_out = w;
    *h_out = h;
}

/* Dark print over a dark noisy background (5-px black labels over dark MR): the region's 3x3 mean,
 * negated and stretched DIM_GAIN times, so that the lowest 256 / DIM_GAIN levels span the whole range and
 * anything brighter is 0. */
static void make_dim(dv_textdetect *td, const dv_gray8 *g, uint32_t rx, uint32_t ry, uint32_t rw, uint32_t rh)
{
    uint32_t W = g->width, H = g->height; /* the mean takes the frame's neighbours, also past the region's edge */
    for (uint32_t y = 0; y < rh; y++) {
        uint8_t *o = td->d + (size_t)y * rw;
        uint32_t fy = ry + y, ya = fy ? fy - 1 : 0, yb = fy + 1 < H ? fy + 1 : H - 1;
        for (uint32_t x = 0; x < rw; x++) {
            uint32_t fx = rx + x, xa = fx ? fx - 1 : 0, xb = fx + 1 < W ? fx + 1 : W - 1, sum = 0, n = 0;
            for (uint32_t yy = ya; yy <= yb; yy++)
                for (uint32_t xx = xa; xx <= xb; xx++)
                    sum += g->px[(size_t)yy * W + xx], n++;
            int v = 255 - (int)(DIM_GAIN * sum / n);
            o[x] = (uint8_t)(v > 0 ? v : 0);
        }
    }
}

/* Full search of the region; boxes appended to td->found (frame coordinates). */
static int search_region(dv_textdetect *td, const dv_gray8 *g, uint32_t rx, uint32_t ry, uint32_t rw, uint32_t rh,
                         dv_error *err)
{
    uint32_t f = 1;
    while ((uint64_t)((rw + f - 1) / f) * ((rh + f - 1) / f) > DET_MAX_PIXELS)
        f++;
    uint32_t w = (rw + f - 1) / f, h = (rh + f - 1) / f;
    size_t n = (size_t)w * h;
    if (grow((void **)&td->d, &td->img_cap, n, 1, err))
        return -1;
    if (grow((void **)&td->a, &td->a_cap, n, 1, err) || grow((void **)&td->b, &td->b_cap, n, 1, err) ||
        grow((void **)&td->m, &td->m_cap, n, 1, err))
        return -1;
    if (grow((void **)&td->row, &td->row_cap, (size_t)w + K, 1, err) ||
        grow((void **)&td->col, &td->col_cap, ((size_t)h + K) * w, 1, err))
        return -1;
    for (int dark = 0; dark < 2; dark++) {
        make_working(td, g, rx, ry, rw, rh, f, dark, &w, &h);
        if (search(td, w, h, f, rx, ry, g->width, g->height, PASS_TOPHAT, err) ||
            (dark && search(td, w, h, f, rx, ry, g->width, g->height, PASS_SAT, err)))
            return -1;
    }
    /* by the frame's size, not the region's: a cine window searches as the whole frame would */
    if ((uint64_t)g->width * g->height <= DIM_MAX_PIXELS) {
        make_dim(td, g, rx, ry, rw, rh);
        if (search(td, rw, rh, 1, rx, ry, g->width, g->height, PASS_DIM, err))
            return -1;
    }
    return 0;
}

static int save_prev(dv_textdetect *td, const dv_gray8 *g, const dv_boxes *lines, size_t first, dv_error *err)
{
    size_t n = (size_t)g->width * g->height;
    if (grow((void **)&td->prev, &td->prev_cap, n, 1, err))
        return -1;
    memcpy(td->prev, g->px, n);
    td->pw = g->width, td->ph = g->height;
    dv_boxes_clear(&td->prev_boxes);
    for (size_t i = first; i < lines->n; i++)
        if (dv_boxes_add(&td->prev_boxes, lines->v[i], err))
            return -1;
    td->have_prev = 1;
    return 0;
}

/* Bounding rectangle of the 32x32 tiles where g differs from the previous frame (w 0: none). */
static dv_box changed_rect(const dv_textdetect *td, const dv_gray8 *g)
{
    uint32_t W = g->width, H = g->height;
    uint32_t tx0 = UINT32_MAX, ty0 = UINT32_MAX, tx1 = 0, ty1 = 0;
    for (uint32_t y = 0; y < H; y++) {
        const uint8_t *a = td->prev + (size_t)y * W, *b = g->px + (size_t)y * W;
        if (memcmp(a, b, W) == 0)
            continue;
        for (uint32_t x = 0; x < W; x += TILE) {
            uint32_t len = W - x < TILE ? W - x : TILE;
            if (memcmp(a + x, b + x, len) != 0) {
                uint32_t tx = x / TILE, ty = y / TILE;
                tx0 = tx < tx0 ? tx : tx0;
                tx1 = tx + 1 > tx1 ? tx + 1 : tx1;
                ty0 = ty < ty0 ? ty : ty0;
                ty1 = ty + 1 > ty1 ? ty + 1 : ty1;
            }
        }
    }
    dv_box r = {0, 0, 0, 0};
    if (tx0 == UINT32_MAX)
        return r;
    r.x = tx0 * TILE, r.y = ty0 * TILE;
    r.w = tx1 * TILE - r.x, r.h = ty1 * TILE - r.y;
    return dv_box_clip(r, W, H);
}

static int touches_inner_edge(dv_box b, dv_box win, uint32_t W, uint32_t H, uint64_t slack)
{
    if (win.x > 0 && b.x <= win.x + slack)
        return 1;
    if (win.y > 0 && b.y <= win.y + slack)
        return 1;
    if ((uint64_t)win.x + win.w < W && (uint64_t)b.x + b.w + slack >= (uint64_t)win.x + win.w)
        return 1;
    if ((uint64_t)win.y + win.h < H && (uint64_t)b.y + b.h + slack >= (uint64_t)win.y + win.h)
        return 1;
    return 0;
}

static int append_found(dv_textdetect *td, dv_boxes *lines, dv_error *err)
{
    /* one box per line even where the padding of close lines overlaps: OCR reads one line at a time (a
     * two-line box read as a line is noise); the caller merges what it paints */
    dv_boxes_merge_lines(&td->found);
    for (size_t i = 0; i < td->found.n; i++)
        if (dv_boxes_add(lines, td->found.v[i], err))
            return -1;
    return 0;
}

int dv_textdetect_find(dv_textdetect *td, const dv_gray8 *g, uint32_t deadline_ms, dv_boxes *lines,
                       dv_error *err)
{
    if (!td || !g || !lines || !g->px || g->width == 0 || g->height == 0)
        return dv_fail(err, DV_ERR_USAGE, "text detection: empty picture");
    td->deadline_ms = deadline_ms;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &td->t0);
    size_t first = lines->n;
    uint32_t W = g->width, H = g->height;
    dv_boxes_clear(&td->found);

    if (td->have_prev && td->pw == W && td->ph == H) {
        dv_box ch = changed_rect(td, g);
        if (ch.w == 0) { /* identical frame: identical overlay */
            for (size_t i = 0; i < td->prev_boxes.n; i++)
                if (dv_boxes_add(lines, td->prev_boxes.v[i], err))
                    return -1;
            td->stats.reused++;
            return 0;
        }
        dv_box win = dv_box_pad(ch, MARGIN, MARGIN, W, H);
        int grew = 1;
        while (grew) { /* the window takes in every previous line it touches, with its margin */
            grew = 0;
            for (size_t i = 0; i < td->prev_boxes.n; i++) {
                dv_box pb = td->prev_boxes.v[i];
                if (dv_box_intersects(pb, win)) {
                    dv_box u = dv_box_union(win, dv_box_pad(pb, MARGIN, MARGIN, W, H));
                    if (u.x != win.x || u.y != win.y || u.w != win.w || u.h != win.h)
                        win = u, grew = 1;
                }
            }
        }
        if ((uint64_t)win.w * win.h * 2 < (uint64_t)W * H) { /* worth it only when the window is small */
            if (search_region(td, g, win.x, win.y, win.w, win.h, err))
                return -1;
            int edge = 0;
            /* a line within its grouping reach (1.5 x the tallest partner, up to 3 x its own height, plus
             * padding) of the window's inner edge may continue outside it: search the whole frame then */
            for (size_t i = 0; i < td->found.n && !edge; i++)
                edge = touches_inner_edge(td->found.v[i], win, W, H, 2 * K + 5 * td->found.v[i].h);
            if (!edge) {
                for (size_t i = 0; i < td->prev_boxes.n; i++)
                    if (!dv_box_intersects(td->prev_boxes.v[i], win) &&
                        dv_boxes_add(&td->found, td->prev_boxes.v[i], err))
                        return -1;
                if (append_found(td, lines, err))
                    return -1;
                td->stats.partial++;
                return save_prev(td, g, lines, first, err);
            }
            dv_boxes_clear(&td->found);
        }
    }
    if (search_region(td, g, 0, 0, W, H, err))
        return -1;
    if (append_found(td, lines, err))
        return -1;
    td->stats.full++;
    return save_prev(td, g, lines, first, err);
}
