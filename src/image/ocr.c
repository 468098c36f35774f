/* Recognition of one text box with Tesseract's C API (issue 11 item 2b; contract in dv_redact.h,
 * decisions in docs/decisions.md "Pixel data: recognition", how-to and figures in docs/pixels.md "OCR").
 *
 * One dv_ocr per worker: the English LSTM model is loaded once (dv_ocr_new) and reused for every box; two
 * workers hold two independent TessBaseAPI handles, never shared. Tesseract's `debug_file` (set here to
 * /dev/null: its statistics dumps go to stdout otherwise) is a process-wide parameter, so models are made
 * one at a time (dv_redact.h). Per call we crop the box, make the text
 * dark on a light background (Tesseract's training data), upscale it so its box is ~36 px high, pad it
 * with the background, and recognise it as a single line (PSM 7; PSM 6 for a box tall enough to hold
 * several). The deadline is Tesseract's own monitor (ETEXT_DESC: deadline + cancel callback on our clock)
 * and our clock again after the call, so an overrun is DV_ERR_LIMIT even when Tesseract returns normally.
 *
 * Threads: Debian's libtesseract is built with OpenMP (libgomp) and its LSTM asks for several threads per
 * call with explicit num_threads clauses, which only OMP_THREAD_LIMIT (read once, when libgomp loads) or a
 * max-active-levels of 0 can cap. dv_ocr_new sets max-active-levels to 0 through libgomp's API, so every
 * parallel region runs on the calling thread: one thread per call, parallel by worker
 * [test_ocr: test_single_threaded]. Nothing here is static: the deadline state lives in the dv_ocr. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <tesseract/capi.h>

#include "image/dv_redact.h"

/* libgomp's API (declared here: clang builds have no omp.h without libomp-dev; the symbol is libgomp's,
 * which libtesseract already loads). */
void omp_set_max_active_levels(int levels);

/* Where Debian and upstream install the models, tried in order when TESSDATA_PREFIX is unset (when set, it is
 * the only place looked at: an explicit choice does not fall back silently). */
static const char *const TESSDATA_DIRS[] = {
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
};

#define OCR_LANG "eng"
/* Text boxes are scaled to about this height (px) before recognition: 5-10 px overlay text read unscaled
 * comes back empty or as noise (research-notes A.2); measured on tests/ocr/render_overlays.py lines, 32-40
 * px boxes read best (96-99 % exact), 48 px no better and 1.3x slower (docs/pixels.md "OCR"). */
#define OCR_TARGET_LINE_H 36.0
#define OCR_MAX_SCALE 6.0
/* Grey levels between a box's darkest and brightest pixel below which it holds no readable stroke. */
#define OCR_MIN_CONTRAST 16
/* Grey levels from the border's median that make a pixel count as ink when a box is split into lines. */
#define OCR_BAND_CONTRAST 48
/* A box larger than this (after scaling) is refused rather than recognised for seconds. */
#define OCR_MAX_PIXELS (16u * 1024u * 1024u)
/* Most lines a block is read as (dv_ocr_line_bands; the pixel stage splits a sensitive block into as many). */
#define OCR_BANDS_MAX 8u
/* Most crop bytes held for the lines of a block (read_block): a larger block is read the same way, its lines
 * are recognised again when asked for. */
#define OCR_PENDING_BYTES (1u << 20)

struct dv_ocr {
    TessBaseAPI *api;
    ETEXT_DESC *monitor;
    uint8_t *buf; /* the prepared image of the current box */
    size_t cap;
    uint8_t *lev; /* DV_OCR_PREP_LEVEL: the box levelled (bw x bh), then its opening's scratch */
    size_t lev_cap;
    struct timespec start;
    uint32_t deadline_ms;
    int timed_out;
    int last_conf;
    /* The readings of the lines of the block read last (read_block), until the caller asks for them or for
     * anything else: the pixel stage reads each line of a sensitive block right after the block, and takes
     * them from here instead of recognising them twice. Keyed on the line's crop, byte for byte, and the
     * preparation (a reading depends on nothing else); wiped when dropped. */
    struct {
        dv_ocr_prep prep;
        uint32_t w, h;
        uint8_t *crop; /* w x h */
        char *text;
        size_t len;
        int conf;
    } pending[OCR_BANDS_MAX];
    size_t npending;
    dv_box pending_block; /* the block they are lines of */
    uint64_t recognitions; /* Tesseract calls made (dv_ocr_recognitions) */
};

static int file_exists(const char *dir, const char *name)
{
    char p[4096];
    int n = snprintf(p, sizeof p, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof p)
        return 0;
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The tessdata directory holding eng.traineddata: dir itself or dir/tessdata (TESSDATA_PREFIX is either,
 * depending on who wrote the instructions). Writes it into out; 0 when found. */
static int tessdata_in(const char *dir, char *out, size_t cap)
{
    if (!dir || !*dir)
        return -1;
    if (file_exists(dir, OCR_LANG ".traineddata")) {
        int n = snprintf(out, cap, "%s", dir);
        return n < 0 || (size_t)n >= cap ? -1 : 0;
    }
    int n = snprintf(out, cap, "%s/tessdata", dir);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    return file_exists(out, OCR_LANG ".traineddata") ? 0 : -1;
}

static pthread_mutex_t ocr_create_lock = PTHREAD_MUTEX_INITIALIZER;
static dv_ocr *create_locked(const char *dir, dv_error *err);

dv_ocr *dv_ocr_new_at(const char *tessdata, dv_error *err)
{
    /* The engine is loaded on first use (ocr_lazy.c); without it, the same refusal as without a model. */
    if (dv_ocr_engine_load(err) != 0)
        return NULL;
    char dir[4096];
    if (tessdata) {
        if (tessdata_in(tessdata, dir, sizeof dir)) {
            dv_fail(err, DV_ERR_UNSUPPORTED,
                    "OCR model missing: no " OCR_LANG ".traineddata in the given tessdata directory "
                    "(Debian package tesseract-ocr-eng)");
            return NULL;
        }
    } else {
        const char *env = getenv("TESSDATA_PREFIX");
        if (env && *env) {
            if (tessdata_in(env, dir, sizeof dir)) {
                dv_fail(err, DV_ERR_UNSUPPORTED,
                        "OCR model missing: no " OCR_LANG ".traineddata under TESSDATA_PREFIX "
                        "(unset it to use the system models, or install tesseract-ocr-eng)");
                return NULL;
            }
        } else {
            size_t i = 0;
            for (; i < sizeof TESSDATA_DIRS / sizeof *TESSDATA_DIRS; i++)
                if (tessdata_in(TESSDATA_DIRS[i], dir, sizeof dir) == 0)
                    break;
            if (i == sizeof TESSDATA_DIRS / sizeof *TESSDATA_DIRS) {
                dv_fail(err, DV_ERR_UNSUPPORTED,
                        "OCR model missing: " OCR_LANG ".traineddata not found in /usr/share/tesseract-ocr/"
                        "{5,4.00}/tessdata or TESSDATA_PREFIX (Debian package tesseract-ocr-eng)");
                return NULL;
            }
        }
    }

    /* Creating a model writes process-wide state (libgomp's max-active-levels; Tesseract's global parameters
     * such as debug_file, set by Init4), so models are created one at a time, whichever run or worker asks:
     * the workers of a run load theirs lazily, and a server runs several runs at once. This lock guards that
     * third-party global state only; it holds no state of ours (the library keeps none: runs own theirs).
     * Reading with different models in parallel is safe. [test_ocr: test_two_workers_in_two_threads] */
    pthread_mutex_lock(&ocr_create_lock);
    dv_ocr *o = create_locked(dir, err);
    pthread_mutex_unlock(&ocr_create_lock);
    return o;
}

static dv_ocr *create_locked(const char *dir, dv_error *err)
{
    /* One thread per call (header comment). Process-wide in libgomp, idempotent, and nothing else in
     * dicomveil uses OpenMP. */
    omp_set_max_active_levels(0);

    dv_ocr *o = calloc(1, sizeof *o);
    if (!o) {
        dv_fail(err, DV_ERR_NOMEM, "out of memory");
        return NULL;
    }
    o->api = TessBaseAPICreate();
    o->monitor = TessMonitorCreate();
    if (!o->api || !o->monitor) {
        dv_ocr_free(o);
        dv_fail(err, DV_ERR_NOMEM, "out of memory creating the OCR engine");
        return NULL;
    }
    /* Init-time settings: no dictionary words (IDs, dates and foreign names must come out as printed, not
     * as the nearest English word), no debug output. */
    char *names[] = {"load_system_dawg", "load_freq_dawg", "debug_file"};
    char *values[] = {"0", "0", "/dev/null"};
    if (TessBaseAPIInit4(o->api, dir, OCR_LANG, OEM_LSTM_ONLY, NULL, 0, names, values, 3, 0) != 0) {
        dv_ocr_free(o);
        dv_fail(err, DV_ERR_UNSUPPORTED, "OCR engine failed to load its " OCR_LANG " model");
        return NULL;
    }
    return o;
}

dv_ocr *dv_ocr_new(dv_error *err)
{
    return dv_ocr_new_at(NULL, err);
}

/* A held line's crop (pixels of burned-in text), wiped before it is given back, as the pixel memo's are. */
static void free_crop(uint8_t *crop, uint32_t w, uint32_t h)
{
    if (crop)
        memset(crop, 0, (size_t)w * h);
    free(crop);
}

/* Forget the held line readings, their text and crops wiped first (kept no longer than needed). */
static void drop_pending(dv_ocr *o)
{
    for (size_t i = 0; i < o->npending; i++) {
        if (o->pending[i].text)
            memset(o->pending[i].text, 0, o->pending[i].len);
        free(o->pending[i].text);
        free_crop(o->pending[i].crop, o->pending[i].w, o->pending[i].h);
    }
    o->npending = 0;
}

uint64_t dv_ocr_recognitions(const dv_ocr *o)
{
    return o ? o->recognitions : 0;
}

void dv_ocr_free(dv_ocr *o)
{
    if (!o)
        return;
    if (o->api) {
        TessBaseAPIEnd(o->api);
        TessBaseAPIDelete(o->api);
    }
    if (o->monitor)
        TessMonitorDelete(o->monitor);
    drop_pending(o);
    free(o->buf);
    free(o->lev);
    free(o);
}

int dv_ocr_last_confidence(const dv_ocr *o)
{
    return o ? o->last_conf : -1;
}

static uint64_t elapsed_ms(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    int64_t ms = (int64_t)(t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
    return ms < 0 ? 0 : (uint64_t)ms;
}

/* Tesseract's cancel callback, called between words: our clock decides. */
static bool cancel_cb(void *user, int words)
{
    (void)words;
    dv_ocr *o = user;
    if (o->deadline_ms && elapsed_ms(&o->start) >= o->deadline_ms) {
        o->timed_out = 1;
        return true;
    }
    return false;
}

/* Otsu's threshold of a histogram of n pixels. */
/* The histogram of a box's border (top and bottom rows, left and right columns; corners counted twice), the box
 * inside g (the callers check it); returns how many pixels it counted. A detector's box is the text's span
 * padded, so its border is the background: its median is the background level, its spread says whether that
 * background varies. */
static uint64_t border_hist(const dv_gray8 *g, const dv_box *b, uint32_t hist[256])
{
    for (uint32_t x = 0; x < b->w; x++) {
        hist[g->px[(size_t)b->y * g->width + b->x + x]]++;
        hist[g->px[(size_t)(b->y + b->h - 1) * g->width + b->x + x]]++;
    }
    for (uint32_t y = 0; y < b->h; y++) {
        hist[g->px[(size_t)(b->y + y) * g->width + b->x]]++;
        hist[g->px[(size_t)(b->y + y) * g->width + b->x + b->w - 1]]++;
    }
    return 2 * (uint64_t)b->w + 2 * (uint64_t)b->h;
}

/* The lowest level at which a histogram of n pixels has num/den of them (255 if none below). */
static int hist_quantile(const uint32_t hist[256], uint64_t n, unsigned num, unsigned den)
{
    uint64_t acc = 0;
    for (int i = 0; i < 255; i++) {
        acc += hist[i];
        if (acc * den >= n * num)
            return i;
    }
    return 255;
}

static int otsu(const uint32_t hist[256], uint64_t n)
{
    double sum = 0;
    for (int i = 0; i < 256; i++)
        sum += (double)i * hist[i];
    double sum_b = 0, best = -1;
    uint64_t w_b = 0;
    int t = 127;
    for (int i = 0; i < 256; i++) {
        w_b += hist[i];
        if (w_b == 0)
            continue;
        uint64_t w_f = n - w_b;
        if (w_f == 0)
            break;
        sum_b += (double)i * hist[i];
        double m_b = sum_b / (double)w_b, m_f = (sum - sum_b) / (double)w_f;
        double between = (double)w_b * (double)w_f * (m_b - m_f) * (m_b - m_f);
        if (between > best) {
            best = between;
            t = i;
        }
    }
    return t;
}

/* The two source samples *i0, *i1 (clamped to [0, n)) that output sample i of an upscale by s falls
 * between, centre to centre; returns the weight of *i1. One helper for rows and columns alike. */
static double bilinear_tap(uint32_t i, double s, uint32_t n, uint32_t *i0, uint32_t *i1)
{
    double f = (i + 0.5) / s - 0.5;
    if (f < 0)
        f = 0;
    uint32_t a = (uint32_t)f;
    if (a >= n)
        a = n - 1;
    *i0 = a;
    *i1 = a + 1 < n ? a + 1 : a;
    return f - a;
}

/* Running minimum (max_ = 0) or maximum (max_ = 1) over a window of 2r + 1 along one axis: n samples
 * from in[0], in[step], ... into out (same stride). Naive: r and n are small (a text box). */
static void run_extreme(const uint8_t *in, uint8_t *out, uint32_t n, size_t step, uint32_t r, int max_)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t a = i > r ? i - r : 0, b = i + r < n ? i + r : n - 1;
        uint8_t m = in[(size_t)a * step];
        for (uint32_t j = a + 1; j <= b; j++) {
            uint8_t v = in[(size_t)j * step];
            m = max_ ? (v > m ? v : m) : (v < m ? v : m);
        }
        out[(size_t)i * step] = m;
    }
}

/* DV_OCR_PREP_LEVEL: the box with its background levelled, into o->lev (bw x bh, dark ink on white).
 * With the text bright (text_bright), the white top-hat — each pixel minus the
 * opening (the maximum of the minimum) over a square a little wider than a stroke — keeps the strokes and
 * flattens whatever lies under them, so grey letters running from a black corner over brighter anatomy
 * read as one line; the plain stretch takes that anatomy for ink (docs/pixels.md "REDACT_SENSITIVE_TEXT
 * end to end"). The result is stretched column by column so the strokes near each column are ink (below).
 * [test_ocr: test_level_over_anatomy] */
static int level(dv_ocr *o, const uint8_t *src, size_t stride, uint32_t bw, uint32_t bh, int text_bright,
                 dv_error *err)
{
    size_t n = (size_t)bw * bh;
    if (n > OCR_MAX_PIXELS / 3)
        return dv_fail(err, DV_ERR_LIMIT, "OCR box %ux%u too large to level", bw, bh);
    if (3 * n > o->lev_cap) {
        uint8_t *nb = realloc(o->lev, 3 * n);
        if (!nb)
            return dv_fail(err, DV_ERR_NOMEM, "out of memory for an OCR box of %ux%u", bw, bh);
        o->lev = nb;
        o->lev_cap = 3 * n;
    }
    uint8_t *u = o->lev + n, *t = o->lev + 2 * n, *out = o->lev;
    for (uint32_t y = 0; y < bh; y++)
        for (uint32_t x = 0; x < bw; x++) {
            uint8_t v = src[(size_t)y * stride + x];
            u[(size_t)y * bw + x] = text_bright ? v : (uint8_t)(255 - v);
        }
    /* a stroke is at most ~1/5 of the line's height; the detector pads a line by a quarter of it */
    uint32_t r = bh / 8 < 2 ? 2 : bh / 8 > 8 ? 8 : bh / 8;
    for (uint32_t y = 0; y < bh; y++) /* erode: rows, then columns */
        run_extreme(u + (size_t)y * bw, t + (size_t)y * bw, bw, 1, r, 0);
    for (uint32_t x = 0; x < bw; x++)
        run_extreme(t + x, out + x, bh, bw, r, 0);
    for (uint32_t y = 0; y < bh; y++) /* dilate */
        run_extreme(out + (size_t)y * bw, t + (size_t)y * bw, bw, 1, r, 1);
    for (uint32_t x = 0; x < bw; x++)
        run_extreme(t + x, out + x, bh, bw, r, 1);
    uint32_t hist[256] = {0};
    for (size_t i = 0; i < n; i++) {
        out[i] = (uint8_t)(u[i] - out[i]); /* the opening never exceeds the pixel */
        hist[out[i]]++;
    }
    int top = 255;
    for (size_t acc = 0; top > 0; top--) {
        acc += hist[top];
        if (acc * 50 > n)
            break;
    }
    if (top < 16)
        top = 16;
    /* Each column is stretched by the strongest stroke within half a line height of it, not by the box's
     * brightest 2 % alone: a label running from a black corner over grey anatomy keeps ~170 levels of
     * contrast on the black and ~65 over the anatomy, and stretched by the black part's, the letters over the
     * anatomy came out a pale grey that the LSTM dropped (tuning seed 6's `Lakeview Hospital`, read
     * `Lakeview i`). Never by less than half the box's: bare noise between words or past the text's end
     * stays grey, not ink (with a third, held-out seed 7's 256² MR lines read `LakeviewHospital ”` at 22 and
     * `Lakeview Hazpitsl’`). [test_ocr: test_level_local_contrast] */
    uint8_t *colmax = u, *lt = t; /* both free once the top-hat is taken (bw bytes each of n) */
    int floor_top = top / 2 < 16 ? 16 : top / 2;
    if (bh < 2) {
        memset(lt, top, bw); /* one row: no strokes around to measure, the box's stretch */
    } else {
        memset(colmax, 0, bw);
        for (uint32_t y = 0; y < bh; y++)
            for (uint32_t x = 0; x < bw; x++)
                colmax[x] = out[(size_t)y * bw + x] > colmax[x] ? out[(size_t)y * bw + x] : colmax[x];
        run_extreme(colmax, lt, bw, 1, bh / 2, 1);
        for (uint32_t x = 0; x < bw; x++)
            lt[x] = (uint8_t)(lt[x] > top ? top : lt[x] < floor_top ? floor_top : lt[x]);
    }
    for (uint32_t y = 0; y < bh; y++)
        for (uint32_t x = 0; x < bw; x++) {
            uint8_t *px = &out[(size_t)y * bw + x];
            int v = *px >= lt[x] ? 255 : *px * 255 / lt[x];
            *px = (uint8_t)(255 - v);
        }
    return 0;
}

int dv_ocr_background_varies(const dv_gray8 *g, const dv_box *b)
{
    if (!g || !g->px || !b || b->w < 2 || b->h < 2 || b->x >= g->width || b->y >= g->height ||
        b->w > g->width - b->x || b->h > g->height - b->y)
        return 0;
    uint32_t hist[256] = {0};
    uint64_t n = border_hist(g, b, hist);
    return hist_quantile(hist, n, 9, 10) - hist_quantile(hist, n, 1, 10) > DV_OCR_VARIED_BORDER;
}

size_t dv_ocr_line_bands(const dv_gray8 *g, const dv_box *b, dv_box *out, size_t cap)
{
    if (!g || !g->px || !b || !out || cap < 2 || b->w < 2 || b->h < 8 || b->x >= g->width || b->y >= g->height ||
        b->w > g->width - b->x || b->h > g->height - b->y || b->h > 4096)
        return 0;
    /* the background: the median of the border */
    uint32_t hist[256] = {0};
    int bg = hist_quantile(hist, border_hist(g, b, hist), 1, 2);
    uint32_t rows[4096], row_max = 0;
    for (uint32_t y = 0; y < b->h; y++) {
        const uint8_t *row = g->px + (size_t)(b->y + y) * g->width + b->x;
        uint32_t k = 0;
        for (uint32_t x = 0; x < b->w; x++)
            k += abs((int)row[x] - bg) > OCR_BAND_CONTRAST;
        rows[y] = k;
        row_max = k > row_max ? k : row_max;
    }
    uint32_t row_min = row_max / 6 > 2 ? row_max / 6 : 2;
    /* bands of >= 3 inked rows: [top, bottom) */
    uint32_t top[2 * 16], bot[2 * 16];
    size_t n = 0;
    for (uint32_t y = 0, run = 0; y <= b->h; y++) {
        if (y < b->h && rows[y] >= row_min) {
            run++;
            continue;
        }
        if (run >= 3) {
            if (n == sizeof top / sizeof *top || n == cap)
                return 0; /* too many to be lines of text: not split */
            top[n] = y - run;
            bot[n] = y;
            n++;
        }
        run = 0;
    }
    if (n < 2)
        return 0;
    /* each band down to the middle of the gap to the next: the bands tile the box, no ink is left out */
    for (size_t i = 0; i < n; i++) {
        uint32_t y0 = i == 0 ? 0 : (bot[i - 1] + top[i]) / 2;
        uint32_t y1 = i + 1 == n ? b->h : (bot[i] + top[i + 1]) / 2;
        out[i] = (dv_box){b->x, b->y + y0, b->w, y1 - y0};
    }
    return n;
}

/* Crop, orient (dark text on light), stretch, upscale and pad box of g into o->buf. prep DV_OCR_PREP_FLIP
 * takes the polarity opposite to the one the box's border says (dv_redact.h). */
static int prepare(dv_ocr *o, const dv_gray8 *g, const dv_box *b, dv_ocr_prep prep, uint32_t *pw, uint32_t *ph,
                   int *multi, dv_error *err)
{
    uint32_t bw = b->w, bh = b->h;
    uint32_t hist[256] = {0};
    for (uint32_t y = 0; y < bh; y++) {
        const uint8_t *row = g->px + (size_t)(b->y + y) * g->width + b->x;
        for (uint32_t x = 0; x < bw; x++)
            hist[row[x]]++;
    }
    uint64_t n = (uint64_t)bw * bh;
    int lo = 0, hi = 255;
    while (lo < 255 && !hist[lo])
        lo++;
    while (hi > 0 && !hist[hi])
        hi--;
    if (hi - lo < OCR_MIN_CONTRAST) { /* a flat box: nothing to read (the caller decides what that means) */
        *pw = *ph = 0;
        return 0;
    }
    int t = otsu(hist, n);
    /* The box is the text's span padded by the detector, so its border is background. The background's
     * side of Otsu's threshold says the polarity: a dark field means bright text (the usual overlay),
     * which is inverted, because the LSTM was trained on dark text on white. Counting pixels instead fails
     * on outlined text, whose dark outline outweighs the bright ink. */
    uint32_t bh_hist[256] = {0};
    int bgv = hist_quantile(bh_hist, border_hist(g, b, bh_hist), 1, 2);
    int invert = bgv <= t;
    /* The border can mislead: a label that starts on a black bar and runs on over bright anatomy has a
     * bright border, so its white letters are taken for paper and only the part on the bar is read. The
     * pixel stage reads such boxes a second time with the other polarity. */
    if (prep == DV_OCR_PREP_FLIP)
        invert = !invert;
    const uint8_t *src = g->px + (size_t)b->y * g->width + b->x;
    size_t stride = g->width;
    if (prep == DV_OCR_PREP_LEVEL) {
        /* bright text always: the border of a line running from black over anatomy says either polarity
         * (the plain readings try both); dark print over anatomy is left to them (a further reading that
         * finds nothing changes nothing) */
        if (level(o, src, stride, bw, bh, 1, err) != 0)
            return -1;
        src = o->lev;
        stride = bw;
        memset(hist, 0, sizeof hist);
        for (size_t i = 0; i < (size_t)bw * bh; i++)
            hist[src[i]]++;
        invert = 0; /* levelled: dark ink on white paper */
        bgv = 255;
    }
    /* In "ink dark" terms: the darkest 2 % of the box is ink (0), the background and anything lighter
     * (a halo, an outline, lighter noise) is paper (255), so faint grey text reads like black. */
    uint64_t cut = n / 50, acc = 0;
    int ink = 0;
    for (int i = 0; i < 256; i++) {
        acc += hist[invert ? 255 - i : i];
        if (acc > cut) {
            ink = i;
            break;
        }
    }
    int paper = invert ? 255 - bgv : bgv;
    if (paper - ink < 24) { /* no contrast between ink and background: keep the whole range */
        ink = 0;
        paper = 255;
    }
    uint8_t lut[256];
    for (int i = 0; i < 256; i++) {
        int v = invert ? 255 - i : i;
        lut[i] = (uint8_t)(v <= ink ? 0 : v >= paper ? 255 : (v - ink) * 255 / (paper - ink));
    }

    /* A box more than ~2.2 lines high for its width holds several lines (the detector should not give
     * one, but the caller may): read it as a block. So does a box whose ink lies in two or more bands of
     * rows with blank rows between them: the detector's padded line boxes overlap when lines are close and
     * are merged, and a two-line box read as one line (PSM 7) comes out as noise — which the sensitive-box
     * decision may keep (measured: the institution + date block of a secondary capture was kept on 4 of 6
     * cine frames; score_textdetect --mode sensitive). Such a box is scaled by its tallest band. */
    *multi = bh > 64 && bh * 2 > bw;
    /* A row is inked when it holds at least an eighth of the most inked row's ink pixels (and 2): over
     * noisy anatomy (the 256x256 MR's institution and date lines, 9-12 px, grouped into one box 32 px high)
     * the noise puts a few ink-dark pixels in every row, so "any 2 pixels" found one band, the box was
     * read as one line scaled by its whole height and the 9-px text came out as noise. With the levelled
     * reading, held-out seed 4's MR files went from 64 to 73 PHI boxes of 78 with this (score_textdetect
     * --mode sensitive; docs/pixels.md "REDACT_SENSITIVE_TEXT end to end"). [test_ocr: test_two_line_box] */
    uint32_t row_max = 0;
    for (uint32_t y = 0; y < bh; y++) {
        const uint8_t *row = src + (size_t)y * stride;
        uint32_t k = 0;
        for (uint32_t x = 0; x < bw; x++)
            k += lut[row[x]] < 128;
        row_max = k > row_max ? k : row_max;
    }
    uint32_t row_min = row_max / 8 > 2 ? row_max / 8 : 2;
    uint32_t bands = 0, band_max = 0, run = 0;
    for (uint32_t y = 0; y <= bh; y++) {
        uint32_t inked = 0;
        if (y < bh) {
            const uint8_t *row = src + (size_t)y * stride;
            for (uint32_t x = 0; x < bw && inked < row_min; x++)
                inked += lut[row[x]] < 128;
        }
        if (inked >= row_min) {
            run++;
            continue;
        }
        if (run >= 3) { /* a band of at least 3 rows: text, not a stray speck */
            bands++;
            band_max = run > band_max ? run : band_max;
        }
        run = 0;
    }
    double s = OCR_TARGET_LINE_H / (double)bh;
    if (bands >= 2 && !*multi) {
        *multi = 1;
        s = OCR_TARGET_LINE_H / (1.5 * band_max);
    } else if (*multi) {
        s = 1.0;
    }
    if (s > OCR_MAX_SCALE)
        s = OCR_MAX_SCALE;
    if (s < 1.0)
        s = 1.0;
    uint32_t sw = (uint32_t)ceil(bw * s), sh = (uint32_t)ceil(bh * s);
    uint32_t pad = (uint32_t)(sh / 2 + 8);
    uint64_t W = (uint64_t)sw + 2 * pad, H = (uint64_t)sh + 2 * pad;
    if (W * H > OCR_MAX_PIXELS)
        return dv_fail(err, DV_ERR_LIMIT, "OCR box %ux%u too large to recognise", bw, bh);
    size_t need = (size_t)(W * H);
    if (need > o->cap) {
        uint8_t *nbuf = realloc(o->buf, need);
        if (!nbuf)
            return dv_fail(err, DV_ERR_NOMEM, "out of memory for an OCR box of %ux%u", bw, bh);
        o->buf = nbuf;
        o->cap = need;
    }
    /* Padding is the box's own background, so the box's edge is no stroke. */
    memset(o->buf, lut[bgv], need);
    /* Bilinear upscale: smooth edges give the LSTM the anti-aliased strokes it was trained on. */
    for (uint32_t y = 0; y < sh; y++) {
        uint32_t y0, y1;
        double wy = bilinear_tap(y, s, bh, &y0, &y1);
        const uint8_t *r0 = src + (size_t)y0 * stride;
        const uint8_t *r1 = src + (size_t)y1 * stride;
        uint8_t *out = o->buf + (size_t)(y + pad) * W + pad;
        for (uint32_t x = 0; x < sw; x++) {
            uint32_t x0, x1;
            double wx = bilinear_tap(x, s, bw, &x0, &x1);
            double v = (1 - wy) * ((1 - wx) * lut[r0[x0]] + wx * lut[r0[x1]]) +
                       wy * ((1 - wx) * lut[r1[x0]] + wx * lut[r1[x1]]);
            out[x] = (uint8_t)(v + 0.5);
        }
    }
    *pw = (uint32_t)W;
    *ph = (uint32_t)H;
    return 0;
}

/* Drop trailing whitespace and turn line breaks into spaces (one box is one phrase for the detectors). */
static size_t tidy(char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n' || s[i] == '\r' || s[i] == '\f')
            s[i] = ' ';
    while (n > 0 && s[n - 1] == ' ')
        s[--n] = '\0';
    size_t i = 0;
    while (i < n && s[i] == ' ')
        i++;
    if (i) {
        memmove(s, s + i, n - i + 1);
        n -= i;
    }
    return n;
}

int dv_ocr_read(dv_ocr *o, const dv_gray8 *g, const dv_box *box, uint32_t deadline_ms, char **utf8,
                size_t *len, dv_error *err)
{
    return dv_ocr_read_prep(o, g, box, DV_OCR_PREP_STRETCH, deadline_ms, utf8, len, err);
}

/* Recognise the prepared image in o->buf (w x h) as one line, or as a block (multi); *utf8 malloc'd. */
static int recognise(dv_ocr *o, const dv_box *box, uint32_t w, uint32_t h, int multi, uint32_t deadline_ms,
                     char **utf8, size_t *len, dv_error *err)
{
    o->recognitions++;
    TessBaseAPIClear(o->api);
    TessBaseAPISetPageSegMode(o->api, multi ? PSM_SINGLE_BLOCK : PSM_SINGLE_LINE);
    TessBaseAPISetImage(o->api, o->buf, (int)w, (int)h, 1, (int)w);
    /* Without a resolution Tesseract warns and guesses; 300 dpi matches its training for ~48 px lines. */
    TessBaseAPISetSourceResolution(o->api, 300);
    if (deadline_ms) {
        TessMonitorSetCancelFunc(o->monitor, cancel_cb);
        TessMonitorSetCancelThis(o->monitor, o);
        TessMonitorSetDeadlineMSecs(o->monitor, (int)(deadline_ms > 1000000000u ? 1000000000u : deadline_ms));
    } else {
        TessMonitorSetCancelFunc(o->monitor, NULL);
        TessMonitorSetDeadlineMSecs(o->monitor, 1000000000);
    }
    int rc = TessBaseAPIRecognize(o->api, o->monitor);
    if (o->timed_out || (deadline_ms && elapsed_ms(&o->start) >= deadline_ms)) {
        TessBaseAPIClear(o->api);
        return dv_fail(err, DV_ERR_LIMIT, "OCR of a %ux%u box exceeded its %u ms deadline", box->w, box->h,
                       deadline_ms);
    }
    if (rc != 0) {
        TessBaseAPIClear(o->api);
        return dv_fail(err, DV_ERR_UNSUPPORTED, "OCR engine failed on a %ux%u box", box->w, box->h);
    }
    char *t = TessBaseAPIGetUTF8Text(o->api);
    if (!t) {
        TessBaseAPIClear(o->api);
        return dv_fail(err, DV_ERR_UNSUPPORTED, "OCR engine returned no result for a %ux%u box", box->w,
                       box->h);
    }
    o->last_conf = TessBaseAPIMeanTextConf(o->api);
    size_t n = tidy(t);
    char *copy = malloc(n + 1);
    if (!copy) {
        TessDeleteText(t);
        TessBaseAPIClear(o->api);
        return dv_fail(err, DV_ERR_NOMEM, "out of memory");
    }
    memcpy(copy, t, n + 1);
    TessDeleteText(t);
    TessBaseAPIClear(o->api);
    *utf8 = copy;
    *len = n;
    return 0;
}

static char *empty_text(dv_error *err)
{
    char *e = calloc(1, 1);
    if (!e)
        dv_fail(err, DV_ERR_NOMEM, "out of memory");
    return e;
}

/* Prepare and recognise box; *multi_out (may be NULL) says it was prepared as a block. */
static int read_prepared(dv_ocr *o, const dv_gray8 *g, const dv_box *box, dv_ocr_prep prep, uint32_t deadline_ms,
                         char **utf8, size_t *len, int *multi_out, dv_error *err)
{
    uint32_t w = 0, h = 0;
    int multi = 0;
    if (multi_out)
        *multi_out = 0;
    if (prepare(o, g, box, prep, &w, &h, &multi, err))
        return -1;
    if (multi_out)
        *multi_out = multi;
    if (w == 0) {
        *len = 0;
        return (*utf8 = empty_text(err)) ? 0 : -1;
    }
    return recognise(o, box, w, h, multi, deadline_ms, utf8, len, err);
}

/* 1 when c (bw x bh) is the crop of box in g. */
static int same_crop(const dv_gray8 *g, const dv_box *b, const uint8_t *c, uint32_t bw, uint32_t bh)
{
    if (b->w != bw || b->h != bh)
        return 0;
    for (uint32_t y = 0; y < bh; y++)
        if (memcmp(g->px + (size_t)(b->y + y) * g->width + b->x, c + (size_t)y * bw, bw) != 0)
            return 0;
    return 1;
}

static int inside(const dv_box *a, const dv_box *b)
{
    return a->x >= b->x && a->y >= b->y && (uint64_t)a->x + a->w <= (uint64_t)b->x + b->w &&
           (uint64_t)a->y + a->h <= (uint64_t)b->y + b->h;
}

/* The held reading of box with prep, when there is one: handed over (the caller owns the text). */
static int take_pending(dv_ocr *o, const dv_gray8 *g, const dv_box *box, dv_ocr_prep prep, char **utf8,
                        size_t *len)
{
    for (size_t i = 0; i < o->npending; i++) {
        if (o->pending[i].prep != prep || !same_crop(g, box, o->pending[i].crop, o->pending[i].w, o->pending[i].h))
            continue;
        *utf8 = o->pending[i].text;
        *len = o->pending[i].len;
        o->last_conf = o->pending[i].conf;
        free_crop(o->pending[i].crop, o->pending[i].w, o->pending[i].h);
        o->pending[i] = o->pending[--o->npending];
        return 1;
    }
    return 0;
}

/* Hold the reading of line b (text copied) for the caller's next calls; quietly nothing when out of room. */
static void hold(dv_ocr *o, const dv_gray8 *g, const dv_box *b, dv_ocr_prep prep, const char *text, size_t len,
                 int conf, size_t *bytes)
{
    size_t n = (size_t)b->w * b->h;
    if (o->npending == OCR_BANDS_MAX || *bytes + n > OCR_PENDING_BYTES)
        return;
    uint8_t *crop = malloc(n);
    char *t = malloc(len + 1);
    if (!crop || !t) {
        free(crop);
        free(t);
        return;
    }
    for (uint32_t y = 0; y < b->h; y++)
        memcpy(crop + (size_t)y * b->w, g->px + (size_t)(b->y + y) * g->width + b->x, b->w);
    memcpy(t, text, len + 1);
    o->pending[o->npending].prep = prep;
    o->pending[o->npending].w = b->w;
    o->pending[o->npending].h = b->h;
    o->pending[o->npending].crop = crop;
    o->pending[o->npending].text = t;
    o->pending[o->npending].len = len;
    o->pending[o->npending].conf = conf;
    o->npending++;
    *bytes += n;
}

/* A block of n >= 2 lines (dv_ocr_line_bands) read line by line, each exactly as dv_ocr_read_prep reads that
 * line alone, the readings joined by spaces (a block is one phrase for the detectors, as tidy makes a
 * block's lines); the confidence is the lines' mean weighted by their readings' lengths. Each line's reading
 * is held for the caller's next calls (the pixel stage reads the lines of a sensitive block next). Before,
 * the block was recognised whole as a block (PSM 6) and then each of its lines again: twice the LSTM for
 * every sensitive block (docs/pixels.md "Sensitive frame time, second pass"). [test_ocr: test_block_lines_once] */
static int read_block(dv_ocr *o, const dv_gray8 *g, const dv_box *box, const dv_box *bands, size_t n,
                      dv_ocr_prep prep, uint32_t deadline_ms, char **utf8, size_t *len, dv_error *err)
{
    char *all = NULL;
    size_t total = 0, bytes = 0;
    drop_pending(o);
    o->pending_block = *box;
    uint64_t conf_sum = 0, conf_len = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t left = 0;
        if (deadline_ms) {
            uint64_t spent = elapsed_ms(&o->start);
            if (spent >= deadline_ms) {
                free(all);
                return dv_fail(err, DV_ERR_LIMIT, "OCR of a %ux%u box exceeded its %u ms deadline", box->w,
                               box->h, deadline_ms);
            }
            left = (uint32_t)(deadline_ms - spent);
        }
        char *t = NULL;
        size_t tl = 0;
        int multi = 0;
        o->last_conf = -1;
        if (read_prepared(o, g, &bands[i], prep, left, &t, &tl, &multi, err) != 0) {
            free(all);
            return -1;
        }
        int conf = o->last_conf;
        /* a line the caller would itself split again is not held: it reads it its own way */
        dv_box sub[2];
        if (!(multi && dv_ocr_line_bands(g, &bands[i], sub, 2) != 0))
            hold(o, g, &bands[i], prep, t, tl, conf < 0 ? 0 : conf, &bytes);
        if (tl) {
            char *na = realloc(all, total + tl + 2);
            if (!na) {
                free(t);
                free(all);
                return dv_fail(err, DV_ERR_NOMEM, "out of memory");
            }
            all = na;
            if (total)
                all[total++] = ' ';
            memcpy(all + total, t, tl);
            total += tl;
            all[total] = '\0';
            conf_sum += (uint64_t)(conf < 0 ? 0 : conf) * tl;
            conf_len += tl;
        }
        memset(t, 0, tl);
        free(t);
    }
    if (!all && !(all = empty_text(err)))
        return -1;
    o->last_conf = conf_len ? (int)(conf_sum / conf_len) : 0;
    *utf8 = all;
    *len = total;
    return 0;
}

/* Bands that look like lines of text large enough to be read alone: each 20 rows at least, none more than
 * twice as high as another. A single line can come out in two bands too (a 22-px box of 21-px serif text:
 * bands of 11 rows): read whole as before, it reads right (test_ocr: test_reads_names_ids_dates). Blocks
 * of small text are read whole too: a band of 18-22 rows around 9-px text (an ultrasound's `MI 1.1` over
 * `Abd`) is scaled by the band's height, too little, and read alone comes out as noise where the block,
 * scaled by its text's height, reads right (seed 2: 12 labels covered with a band minimum of 14). */
static int lines_alike(const dv_box *b, size_t n)
{
    uint32_t lo = UINT32_MAX, hi = 0;
    for (size_t i = 0; i < n; i++) {
        lo = b[i].h < lo ? b[i].h : lo;
        hi = b[i].h > hi ? b[i].h : hi;
    }
    return lo >= 20 && hi <= 2 * lo;
}

int dv_ocr_read_prep(dv_ocr *o, const dv_gray8 *g, const dv_box *box, dv_ocr_prep prep, uint32_t deadline_ms,
                     char **utf8, size_t *len, dv_error *err)
{
    *utf8 = NULL;
    if (len)
        *len = 0;
    if (!o || !g || !g->px || !box)
        return dv_fail(err, DV_ERR_USAGE, "dv_ocr_read: missing argument");
    if (box->w == 0 || box->h == 0 || box->x >= g->width || box->y >= g->height ||
        box->w > g->width - box->x || box->h > g->height - box->y)
        return dv_fail(err, DV_ERR_USAGE, "OCR box outside the %ux%u frame", g->width, g->height);
    size_t n = 0;
    if (take_pending(o, g, box, prep, utf8, &n)) {
        if (len)
            *len = n;
        return 0;
    }
    /* held while the caller reads within the block (its lines, each up to three ways), dropped after */
    if (o->npending && !inside(box, &o->pending_block))
        drop_pending(o);
    clock_gettime(CLOCK_MONOTONIC, &o->start);
    o->deadline_ms = deadline_ms;
    o->timed_out = 0;
    o->last_conf = -1;

    uint32_t w = 0, h = 0;
    int multi = 0;
    if (prepare(o, g, box, prep, &w, &h, &multi, err))
        return -1;
    if (w == 0) {
        if (!(*utf8 = empty_text(err)))
            return -1;
        return 0;
    }
    if (multi) {
        dv_box bands[OCR_BANDS_MAX];
        size_t nb = dv_ocr_line_bands(g, box, bands, OCR_BANDS_MAX);
        if (nb >= 2 && lines_alike(bands, nb)) {
            if (read_block(o, g, box, bands, nb, prep, deadline_ms, utf8, &n, err) != 0)
                return -1;
            if (len)
                *len = n;
            return 0;
        }
    }
    if (recognise(o, box, w, h, multi, deadline_ms, utf8, &n, err) != 0)
        return -1;
    if (len)
        *len = n;
    return 0;
}
