/* The pixel stage (issue 11; dv_pixel_stage.h): burned-in text redaction of one applied instance.
 *
 * Two passes over the frames so memory stays one frame plus the output, whatever the frame count:
 *   1. decode every frame, find its text boxes (textdetect.c, or the test seam), remember the boxes;
 *   2. only when some frame has boxes: build the new PixelData per the output policy (docs/pixels.md
 *      "Output transfer syntax"), frame by frame — a frame with nothing found keeps its original encoded
 *      bytes whenever the transfer syntax is kept, a redacted frame is painted (redact.c) and re-encoded.
 * When no frame has a box the PixelData is not touched at all (no re-encoding, no generation loss).
 * The sensitive modes read each box through the instance's memo (pixel_memo.h): a crop read before in the
 * instance (a cine's unchanged overlay) takes that reading without OCR.
 * Fail closed (DECISIONS 14): any error returns -1 and process() never writes the instance. */
#include "engine/dv_pixel_stage.h"
#include "engine/pixel_stage_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dicomveil/dv_frames.h"
#include "dicom/dv_ds.h"
#include "dicom/dv_vr.h"
#include "dict/dv_tags.h"
#include "engine/dv_result_internal.h"
#include "engine/dv_pixel_classify.h"
#include "engine/pixel_memo.h"
#include "image/dv_jpeg_dct.h"

#define TS_RLE "1.2.840.10008.1.2.5"
#define TS_JPEG_LS_LOSSLESS "1.2.840.10008.1.2.4.80"
#define TS_J2K_LOSSLESS "1.2.840.10008.1.2.4.90"

dv_pixel_worker *dv_pixel_worker_new(void)
{
    dv_pixel_worker *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    if (!(w->img = dv_image_ctx_new(NULL))) {
        free(w);
        return NULL;
    }
    return w;
}

void dv_pixel_worker_free(dv_pixel_worker *w)
{
    if (!w)
        return;
    dv_image_ctx_free(w->img);
    dv_textdetect_free(w->td);
    for (int c = 0; c < 3; c++)
        dv_textdetect_free(w->tdc[c]);
    for (int k = 0; k < 4; k++)
        dv_gray8_free(&w->planes[k]);
    dv_gray8_free(&w->crop);
    dv_boxes_free(&w->seen);
    dv_boxes_free(&w->extra);
    free(w->unused);
    dv_ocr_free(w->ocr);
    dv_pixclass_free(w->pc);
    dv_pixel_memo_free(w->memo);
    dv_boxes_free(&w->lines);
    free(w->verdicts);
    dv_boxes_free(&w->parts);
    free(w->part_of);
    dv_gray8_free(&w->gray);
    dv_boxes_free(&w->boxes);
    dv_boxes_free(&w->sens);
    dv_boxes_free(&w->covered);
    free(w->buf);
    free(w->before);
    free(w->all);
    free(w->start);
    free(w);
}

/* A worker is reused by the next instance; the buffers a large frame made are not kept for it, so what a worker
 * holds between instances stays small (its frame-sized buffers are covered by the instance's pixel grant only
 * while the instance runs: dv_pixel_stage_estimate). The detector's scratch is ~18 bytes a pixel, so the trigger
 * is the frame's pixel count: above 512x512 (a CT slice keeps its buffers, ~5 MiB a worker; a 1448x1448 frame
 * kept 37 MiB before). The box lists grow with frames and lines: trimmed above 64 Ki entries. The detectors are
 * remade on their next use. */
#define TRIM_ABOVE_PIXELS (512u * 512u)
#define TRIM_ABOVE_FRAME_BYTES (2u * 1024u * 1024u)
#define TRIM_ABOVE_ENTRIES (64u * 1024u)

static void drop(void **p, size_t *cap)
{
    free(*p);
    *p = NULL;
    *cap = 0;
}

static void worker_trim(dv_pixel_worker *w)
{
    dv_textdetect **tds[4] = {&w->td, &w->tdc[0], &w->tdc[1], &w->tdc[2]};
    for (int i = 0; i < 4; i++) {
        if (!*tds[i])
            continue;
        /* its counters go on in the worker's (dv_pixel_worker_stats adds the live detectors' to them) */
        dv_textdetect_stats st = {0};
        dv_textdetect_get_stats(*tds[i], &st);
        w->stats.v[DV_PIXEL_SEARCH_FULL] += st.full;
        w->stats.v[DV_PIXEL_SEARCH_PARTIAL] += st.partial;
        w->stats.v[DV_PIXEL_SEARCH_REUSED] += st.reused;
        dv_textdetect_free(*tds[i]);
        *tds[i] = NULL;
    }
    for (int k = 0; k < 4; k++)
        dv_gray8_free(&w->planes[k]);
    dv_gray8_free(&w->crop);
    dv_gray8_free(&w->gray);
    drop((void **)&w->buf, &w->buf_cap);
    drop((void **)&w->before, &w->before_cap);
    drop((void **)&w->all, &w->all_cap);
    w->nall = 0;
    drop((void **)&w->start, &w->start_cap);
    drop((void **)&w->unused, &w->unused_cap);
    drop((void **)&w->verdicts, &w->verdicts_cap);
    drop((void **)&w->part_of, &w->part_of_cap);
    dv_boxes *lists[] = {&w->seen, &w->extra, &w->lines, &w->parts, &w->boxes, &w->sens, &w->covered};
    for (size_t i = 0; i < sizeof lists / sizeof *lists; i++)
        dv_boxes_free(lists[i]);
}

/* Whether the instance just done left frame-sized or list-sized buffers in the worker (worker_trim). */
static int worker_holds_much(const dv_pixel_worker *w)
{
    size_t px = w->gray.cap > w->planes[0].cap ? w->gray.cap : w->planes[0].cap;
    if (w->crop.cap > px)
        px = w->crop.cap;
    return px > TRIM_ABOVE_PIXELS || w->buf_cap > TRIM_ABOVE_FRAME_BYTES || w->before_cap > TRIM_ABOVE_FRAME_BYTES ||
           w->all_cap > TRIM_ABOVE_ENTRIES || w->start_cap > TRIM_ABOVE_ENTRIES ||
           w->unused_cap > TRIM_ABOVE_ENTRIES || w->sens.cap > TRIM_ABOVE_ENTRIES ||
           w->covered.cap > TRIM_ABOVE_ENTRIES || w->lines.cap > TRIM_ABOVE_ENTRIES;
}

uint64_t dv_pixel_worker_decode_calls(const dv_pixel_worker *w)
{
    return w ? dv_image_ctx_decode_calls(w->img) : 0;
}

void dv_pixel_worker_stats(const dv_pixel_worker *w, dv_pixel_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!w)
        return;
    *out = w->stats;
    const dv_textdetect *tds[4] = {w->td, w->tdc[0], w->tdc[1], w->tdc[2]};
    for (int i = 0; i < 4; i++) {
        dv_textdetect_stats st = {0};
        if (tds[i])
            dv_textdetect_get_stats(tds[i], &st);
        out->v[DV_PIXEL_SEARCH_FULL] += st.full;
        out->v[DV_PIXEL_SEARCH_PARTIAL] += st.partial;
        out->v[DV_PIXEL_SEARCH_REUSED] += st.reused;
    }
}

/* The top-level pixel element the stage examines: PixelData, else FloatPixelData or DoubleFloatPixelData (an
 * instance's pixels are one of the three); NULL when none holds a value. */
static const dv_elem *top_pixels(const dv_instance *inst)
{
    static const uint32_t tags[] = {DV_TAG_PIXEL_DATA, DV_TAG_FLOAT_PIXEL_DATA, DV_TAG_DOUBLE_FLOAT_PIXEL_DATA};
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
        const dv_elem *pd = dv_ds_find(&inst->ds, tags[i]);
        if (pd && !dv_elem_is_empty(pd) && !dv_elem_is_sequence(pd))
            return pd;
    }
    return NULL;
}

const dv_image_config *dv_pixel_config_for(const dv_plan *plan, const dv_instance *inst)
{
    if (!plan || !plan->cleans_pixels || !inst)
        return NULL;
    const dv_elem *pd = top_pixels(inst);
    if (!pd)
        return NULL;
    /* matched as PixelData whatever its kind: the config's cleanImageTag names PixelData only, and means the
     * instance's pixels */
    dv_match m;
    dv_plan_match(plan, DV_TAG_PIXEL_DATA, dv_plan_effective_vr(pd), 0, &m);
    const dv_image_config *ic = NULL;
    if (m.source == DV_MATCH_ACTION)
        ic = m.kind == DV_ACTION_CLEAN_IMAGE && m.params ? &m.params->image : NULL;
    else if (plan->has_clean_image)
        ic = &plan->clean_image;
    return ic && !dv_image_config_is_noop(ic) ? ic : NULL;
}

#define ICON_IMAGE_SEQUENCE 0x00880200u

/* An icon is the image made small, burned-in text included: kept beside a redacted image it shows what the
 * redaction covered (stop 38's red team: DEIDENTIFY_TAG_CONTENTS kept IconImageSequence, top level and inside
 * ReferencedImageSequence, with the name in it). The API's cleanImageTag does not reach nested PixelData, and
 * redacting a 64-pixel thumbnail is not reliable, so it goes; it is Type 3 wherever it is allowed. */
static uint32_t drop_icons_in(dv_ds *ds)
{
    uint32_t n = 0;
    for (dv_elem *prev = NULL, *e = ds->first, *next; e; e = next) {
        next = e->next;
        if (e->tag == ICON_IMAGE_SEQUENCE) {
            dv_ds_unlink(ds, prev, e);
            n++;
            continue;
        }
        if (e->flags & DV_ELEM_SEQUENCE)
            for (dv_item *it = e->items; it; it = it->next)
                n += drop_icons_in(&it->ds);
        prev = e;
    }
    return n;
}

/* A keepTag names tag (the user asked for it by name). */
static int kept_by_name(const dv_plan *plan, uint32_t tag, uint16_t vr, int is_seq)
{
    dv_match m;
    dv_plan_match(plan, tag, vr, is_seq, &m);
    return m.source == DV_MATCH_ACTION && m.kind == DV_ACTION_KEEP;
}

/* An overlay (a group 60xx, xx even 00-1E) drawn over a redacted image shows its text as a viewer draws it:
 * the old consoles burned the patient's name and ID into overlays as often as into pixels, and
 * DEIDENTIFY_TAG_CONTENTS and KEEP_ALL kept OverlayData with its text (stop 38's red team). The whole module of
 * each group goes, as the Basic profile removes it, unless a keepTag names that group's OverlayData (or, for an
 * overlay embedded in the pixels, its OverlayBitPosition); its bits embedded in the pixels are then cleared with
 * every unused bit (dv_pixel_container_clean). A kept OverlayData is searched for text by the stage
 * (search_overlays). One walk of the top level. */
static uint32_t drop_overlays(dv_instance *inst, const dv_plan *plan)
{
    uint16_t kept = 0, dropped = 0; /* bit (g - 0x6000) / 2 per overlay group */
    for (uint32_t g = 0x6000; g <= 0x601E; g += 2)
        if (kept_by_name(plan, g << 16 | 0x3000u, DV_VR_OW, 0) || kept_by_name(plan, g << 16 | 0x0102u, DV_VR_US, 0))
            kept |= (uint16_t)(1u << ((g - 0x6000) / 2));
    for (dv_elem *prev = NULL, *e = inst->ds.first, *next; e; e = next) {
        next = e->next;
        uint32_t g = e->tag >> 16;
        if (g >= 0x6000 && g <= 0x601E && !(g & 1) && !(kept & (1u << ((g - 0x6000) / 2)))) {
            dv_ds_unlink(&inst->ds, prev, e);
            dropped |= (uint16_t)(1u << ((g - 0x6000) / 2));
            continue;
        }
        prev = e;
    }
    return (uint32_t)__builtin_popcount(dropped);
}

uint32_t dv_pixel_drop_icons_and_overlays(dv_instance *inst, const dv_plan *plan)
{
    uint32_t n = drop_overlays(inst, plan);
    if (!kept_by_name(plan, ICON_IMAGE_SEQUENCE, DV_VR_SQ, 1))
        n += drop_icons_in(&inst->ds);
    return n;
}

static int count_nested(const dv_element_view *e, void *user)
{
    if (e->tag == DV_TAG_PIXEL_DATA && e->depth > 0)
        (*(uint32_t *)user)++;
    return 0;
}

uint32_t dv_pixel_count_nested(const dv_instance *inst)
{
    uint32_t n = 0;
    dv_instance_visit(inst, count_nested, &n);
    return n;
}

uint64_t dv_px_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t thread_cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int dv_px_grow(void **p, size_t *cap, size_t need, size_t elem, dv_error *err)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n = n > SIZE_MAX / 2 ? need : n * 2;
    if (n > SIZE_MAX / elem)
        return dv_fail(err, DV_ERR_LIMIT, "%zu entries", need);
    void *q = realloc(*p, n * elem);
    if (!q)
        return dv_fail(err, DV_ERR_NOMEM, "out of memory (%zu bytes)", n * elem);
    *p = q;
    *cap = n;
    return 0;
}

/* ---- output policy (docs/pixels.md "Output transfer syntax"; docs/decisions.md) ---- */

typedef enum out_kind {
    OUT_NATIVE_KEEP_TS, /* native in, native out in the same transfer syntax (implicit/explicit/deflated LE) */
    OUT_NATIVE_ELE,     /* anything we cannot re-encode the same way -> Explicit VR Little Endian native */
    OUT_RLE,            /* RLE Lossless kept (our encoder) */
    OUT_JPEG_LS,        /* JPEG-LS Lossless kept (CharLS) */
    OUT_J2K,            /* JPEG 2000 Lossless kept (OpenJPEG, reversible 5/3) */
    OUT_JPEG_DCT        /* JPEG Baseline kept: redacted in the DCT domain (dv_jpeg_dct.h), no generation loss */
} out_kind;

static out_kind output_kind(const char *ts, dv_ts_family fam, const dv_pixel_attrs *pa)
{
    switch (fam) {
    case DV_TSF_NATIVE:
        return strcmp(ts, DV_TS_UID_EXPLICIT_BE) == 0 ? OUT_NATIVE_ELE : OUT_NATIVE_KEEP_TS;
    case DV_TSF_RLE:
        return pa->bits_allocated >= 8 ? OUT_RLE : OUT_NATIVE_ELE;
    case DV_TSF_JPEG_LS:
        /* Lossless only (near-lossless input stays lossy history: native), CharLS's range. */
        if (strcmp(ts, TS_JPEG_LS_LOSSLESS) == 0 && pa->bits_stored >= 2 && pa->bits_stored <= 16 &&
            (pa->bits_allocated == 8 || pa->bits_allocated == 16))
            return OUT_JPEG_LS;
        return OUT_NATIVE_ELE;
    case DV_TSF_JPEG_BASELINE:
        /* 8-bit Huffman sequential streams are redacted in the DCT domain; a stream that API refuses
         * (progressive, arithmetic, 12-bit) falls back to native at the first such frame (write_dct). */
        return pa->bits_allocated == 8 ? OUT_JPEG_DCT : OUT_NATIVE_ELE;
    case DV_TSF_J2K:
        /* JPEG 2000 Lossless only: a .4.91 stream may be lossy (the syntax allows both; the codestream does
         * not say whether layers were dropped), so it keeps its lossy history as native; Part 2 (.4.92/.4.93)
         * and HTJ2K (OpenJPEG has no HT encoder; Debian's OpenJPH encodes only through C++) -> native.
         * YBR_ICT is irreversible by definition. (docs/decisions.md "JPEG 2000 output") */
        if (strcmp(ts, TS_J2K_LOSSLESS) == 0 && pa->bits_stored >= 1 && pa->bits_stored <= 16 &&
            (pa->bits_allocated == 8 || pa->bits_allocated == 16) && pa->photometric != DV_PHOTO_YBR_ICT)
            return OUT_J2K;
        return OUT_NATIVE_ELE;
    default:
        /* JPEG lossless (no encoder in Debian's libjpeg-turbo 2.1), deflated frames: native. */
        return OUT_NATIVE_ELE;
    }
}

static const char *output_ts(out_kind k, const char *ts)
{
    switch (k) {
    case OUT_NATIVE_KEEP_TS: return ts;
    case OUT_RLE: return TS_RLE;
    case OUT_JPEG_LS: return TS_JPEG_LS_LOSSLESS;
    case OUT_J2K: return TS_J2K_LOSSLESS;
    case OUT_JPEG_DCT: return ts;
    case OUT_NATIVE_ELE: break;
    }
    return DV_TS_UID_EXPLICIT_LE;
}

/* A native frame whose stored bytes are the canonical layout (interleaved, one container per sample, little
 * endian, byte-aligned): its original bytes can be painted in place, so every pixel outside the boxes keeps
 * its exact stored bits. */
static int native_same_layout(const dv_pixel_attrs *pa, out_kind k)
{
    return k == OUT_NATIVE_KEEP_TS && !pa->big_endian && pa->bits_allocated != 1 &&
           (pa->samples_per_pixel == 1 || pa->planar_configuration == 0) &&
           pa->photometric != DV_PHOTO_YBR_FULL_422;
}

/* Canonical frame -> native little-endian bytes at dst (bit offset bit0 for BitsAllocated 1). */
static void frame_to_native(const dv_frame *f, const dv_pixel_attrs *pa, uint8_t *dst, uint64_t bit0)
{
    size_t n = (size_t)f->width * f->height * f->samples;
    if (pa->bits_allocated == 1) {
        const uint8_t *s = f->data;
        for (size_t i = 0; i < n; i++) {
            uint64_t b = bit0 + i;
            uint8_t mask = (uint8_t)(1u << (b & 7));
            if (s[i] & 1)
                dst[b >> 3] |= mask;
            else
                dst[b >> 3] &= (uint8_t)~mask;
        }
        return;
    }
    memcpy(dst, f->data, n * f->sample_bytes);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    dv_swap_bytes(dst, n * f->sample_bytes, f->sample_bytes);
#endif
}

static void release_free(void *user, void *data)
{
    (void)user;
    free(data);
}

static int put_cs(dv_instance *inst, uint32_t tag, const char *v, dv_error *err)
{
    char buf[68];
    size_t n = strlen(v);
    memcpy(buf, v, n);
    if (n & 1)
        buf[n++] = ' ';
    if (!dv_ds_put(inst, &inst->ds, tag, DV_VR_CS, buf, n))
        return dv_fail(err, DV_ERR_LIMIT, "cannot set " TAGF, TAGA(tag));
    return 0;
}

/* PS3.3 C.7.6.1.1.5: the method of the lossy compression the pixels went through. */
static const char *lossy_method(dv_ts_family fam)
{
    switch (fam) {
    case DV_TSF_JPEG_BASELINE: return "ISO_10918_1";
    case DV_TSF_JPEG_LS: return "ISO_14495_1";
    case DV_TSF_J2K: return "ISO_15444_1";
    default: return NULL;
    }
}

/* The Image Pixel attributes that follow the new pixel data (PhotometricInterpretation,
 * PlanarConfiguration, LossyImageCompression and its method), written only when the output is native from
 * another layout. [test_pixel_stage: test_output_attributes_native] */
static int fix_attributes(dv_instance *inst, const dv_pixel_attrs *pa, dv_photometric decoded, dv_ts_family fam,
                          int lossy, dv_error *err)
{
    if (decoded != pa->photometric && decoded != DV_PHOTO_UNKNOWN &&
        put_cs(inst, DV_TAG_PHOTOMETRIC_INTERPRETATION, dv_photometric_name(decoded), err) != 0)
        return -1;
    if (pa->samples_per_pixel > 1 && !dv_ds_put_u16(inst, &inst->ds, DV_TAG_PLANAR_CONFIGURATION, 0))
        return dv_fail(err, DV_ERR_LIMIT, "cannot set " TAGF, TAGA(DV_TAG_PLANAR_CONFIGURATION));
    if (!lossy)
        return 0;
    /* The pixels went through lossy compression once: that history must stay visible (PS3.3 C.7.6.1.1.5). */
    char have[8];
    if (dv_instance_get_string(inst, DV_TAG_LOSSY_IMAGE_COMPRESSION, have, sizeof have) < 0 || strcmp(have, "01")) {
        if (put_cs(inst, DV_TAG_LOSSY_IMAGE_COMPRESSION, "01", err) != 0)
            return -1;
    }
    const char *method = lossy_method(fam);
    char m[68];
    if (method && dv_instance_get_string(inst, DV_TAG_LOSSY_IMAGE_COMPRESSION_METHOD, m, sizeof m) < 0 &&
        put_cs(inst, DV_TAG_LOSSY_IMAGE_COMPRESSION_METHOD, method, err) != 0)
        return -1;
    return 0;
}

/* ---- the stage ---- */

/* What is left of frame i's time bound, counted from t0 (before its decode); DV_ERR_LIMIT once nothing is.
 * Checked between the stages a frame goes through (decode, 8-bit view, detection): a decoder cannot be
 * interrupted, but a frame whose decode alone overruns fails right after it instead of also being converted
 * and searched with a fresh bound (a deflated 512 MiB frame took 7-26 s against a 1 s bound). */
static int time_left(const stage *s, uint64_t t0, uint32_t i, const char *after, uint32_t *left, dv_error *err)
{
    uint64_t spent = dv_px_now_ms() - t0;
    if (spent >= s->frame_ms)
        return dv_fail(err, DV_ERR_LIMIT, "frame %u over its %u ms bound after %s", i, s->frame_ms, after);
    *left = (uint32_t)(s->frame_ms - spent);
    return 0;
}

/* Float frame i (FloatPixelData, DoubleFloatPixelData) into s->frame: its stored bytes, little endian from the
 * frame index, in host order; no codec decodes floats (dv_pixel_attrs_read_float). */
static int decode_float(stage *s, uint32_t i, dv_error *err)
{
    dv_frame *f = &s->frame;
    uint32_t unit = s->pa.float_bits / 8;
    if (dv_frames_read(s->inst, s->frames, i, f->data, f->cap, err) != 0)
        return -1;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    dv_swap_bytes(f->data, (size_t)s->pa.native_frame_bytes, unit);
#endif
    f->width = s->pa.columns;
    f->height = s->pa.rows;
    f->samples = 1;
    f->sample_bytes = unit;
    f->bits_stored = s->pa.float_bits;
    f->is_signed = 1;
    f->photometric = DV_PHOTO_MONOCHROME2;
    f->is_float = 1;
    memset(&f->src, 0, sizeof f->src);
    f->src.family = DV_TSF_NATIVE;
    f->src.photometric = DV_PHOTO_MONOCHROME2;
    f->src.bits_allocated = f->src.precision = s->pa.float_bits;
    return 0;
}

static int decode(stage *s, uint32_t i, dv_error *err)
{
    if (s->decoded == (int64_t)i)
        return 0;
    s->frame.data = s->w->buf;
    s->frame.cap = s->w->buf_cap;
    s->decoded = -1;
    int rc = s->pa.float_bits
                 ? decode_float(s, i, err)
                 : dv_image_decode_instance_frame(s->w->img, s->inst, s->frames, &s->pa, i, &s->frame, err);
    if (rc != 0)
        return -1;
    s->decoded = i;
    return 0;
}

static void observe(stage *s, uint32_t i, const dv_frame *before, const dv_frame *after, const dv_box *boxes,
                    size_t n)
{
    if (!s->env->observer)
        return;
    dv_frame_event ev;
    memset(&ev, 0, sizeof ev);
    ev.struct_size = sizeof ev;
    ev.frame_index = i;
    ev.frame_count = s->pa.number_of_frames;
    ev.sop_uid = s->sop_uid;
    /* a float frame has no canonical integer layout an observer could show: its boxes only */
    int no_frames = s->env->boxes_only || s->pa.float_bits;
    ev.before = no_frames ? NULL : before;
    ev.after = no_frames ? NULL : after;
    ev.palette = s->has_pal ? &s->pal : NULL;
    ev.boxes = (const dv_frame_box *)(const void *)boxes; /* same layout: x, y, w, h (static check below) */
    ev.nboxes = n;
    ev.instance_arg = s->env->instance_arg;
    s->env->observer(&ev, s->env->observer_user);
}
_Static_assert(sizeof(dv_box) == sizeof(dv_frame_box) && offsetof(dv_box, h) == offsetof(dv_frame_box, h),
               "dv_frame_box mirrors dv_box");

/* Colour pixels a frame needs before its channels are searched too: fewer cannot hold a glyph of text. */
#define CHANNEL_MIN_PX 24u
/* A line another view found again: at least this share of its area inside one line found before. */
#define SEEN_SHARE 0.7

static int seen_before(const dv_boxes *seen, const dv_box *b)
{
    uint64_t area = (uint64_t)b->w * b->h;
    for (size_t i = 0; i < seen->n; i++) {
        const dv_box *p = &seen->v[i];
        uint32_t x0 = p->x > b->x ? p->x : b->x, y0 = p->y > b->y ? p->y : b->y;
        uint32_t x1 = p->x + p->w < b->x + b->w ? p->x + p->w : b->x + b->w;
        uint32_t y1 = p->y + p->h < b->y + b->h ? p->y + p->h : b->y + b->h;
        if (x1 > x0 && y1 > y0 && (double)((uint64_t)(x1 - x0) * (y1 - y0)) >= SEEN_SHARE * (double)area)
            return 1;
    }
    return 0;
}

/* A channel's line holds coloured text when at least COLOURED_SHARE of its box is coloured (chroma, the
 * brightest channel minus the darkest, >= DV_GRAY8_CHROMA): the text a channel adds is text the brightest
 * channel hid, so text of a colour. A line of grey (ultrasound speckle, in a channel where a coloured label beside
 * it breaks its shading) is no such text: the brightest channel showed it as it is. */
#define COLOURED_SHARE 0.04

/* The coloured pixels of box b (clipped to the picture), counted up to enough. */
static uint64_t coloured_px(const dv_gray8 *chroma, const dv_box *b, uint64_t enough)
{
    dv_box c = dv_box_clip(*b, chroma->width, chroma->height);
    uint64_t n = 0;
    for (uint32_t y = c.y; y < c.y + c.h && n < enough; y++) {
        const uint8_t *row = chroma->px + (size_t)y * chroma->width;
        for (uint32_t x = c.x; x < c.x + c.w; x++)
            n += row[x] >= DV_GRAY8_CHROMA;
    }
    return n;
}

static int coloured(const dv_gray8 *chroma, const dv_box *b)
{
    double share = COLOURED_SHARE * (double)b->w * (double)b->h;
    uint64_t n = coloured_px(chroma, b, UINT64_MAX);
    return n >= CHANNEL_MIN_PX && (double)n >= share;
}

/* A channel's line is text the brightest channel hid when the channel's view changes along the line's box at
 * least HIDDEN_RATIO times as much as the brightest channel's (the sum of the steps between neighbouring pixels):
 * its strokes are in the one and not the other (red print on white: the brightest channel is flat; a background
 * with two levels, as palette pictures have, steps along one edge only). Where both change alike (a photograph,
 * endoscopy, Doppler, speckle) a channel's "lines" are the picture's texture, which the brightest channel showed
 * as it is: on the shared corpus's photographs they blacked out most of the picture. */
#define HIDDEN_RATIO 2.0

static uint64_t steps(const dv_gray8 *g, const dv_box *b)
{
    dv_box c = dv_box_clip(*b, g->width, g->height);
    uint32_t x1 = c.x + c.w, y1 = c.y + c.h;
    uint64_t sum = 0;
    for (uint32_t y = c.y; y < y1; y++) {
        const uint8_t *row = g->px + (size_t)y * g->width;
        for (uint32_t x = c.x; x < x1; x++) {
            if (x + 1 < x1)
                sum += (uint64_t)abs((int)row[x + 1] - (int)row[x]);
            if (y + 1 < y1)
                sum += (uint64_t)abs((int)row[x + g->width] - (int)row[x]);
        }
    }
    return sum;
}

static int hidden_from_brightest(const dv_gray8 *brightest, const dv_gray8 *channel, const dv_box *b)
{
    return (double)steps(channel, b) >= HIDDEN_RATIO * (double)steps(brightest, b);
}

/* Box b of g set to one level, the median of the four pixels diagonally outside its corners (inside the
 * frame): a line found before is not found again, neither alone nor merged with text or texture beside it
 * (a channel's line spanning a found label and the speckle around it was read again and covered). A flat
 * rectangle is no stroke: the top-hat leaves it dark. */
static void blank_to(dv_gray8 *g, const dv_box *b, int level)
{
    dv_box c = dv_box_clip(*b, g->width, g->height);
    for (uint32_t y = c.y; y < c.y + c.h; y++)
        memset(g->px + (size_t)y * g->width + c.x, level, c.w);
}

static void blank(dv_gray8 *g, const dv_box *b)
{
    dv_box c = dv_box_clip(*b, g->width, g->height);
    if (c.w == 0 || c.h == 0)
        return;
    uint32_t x1 = c.x + c.w, y1 = c.y + c.h;
    uint32_t xs[2] = {c.x ? c.x - 1 : c.x, x1 < g->width ? x1 : x1 - 1};
    uint32_t ys[2] = {c.y ? c.y - 1 : c.y, y1 < g->height ? y1 : y1 - 1};
    uint8_t v[4] = {g->px[(size_t)ys[0] * g->width + xs[0]], g->px[(size_t)ys[0] * g->width + xs[1]],
                    g->px[(size_t)ys[1] * g->width + xs[0]], g->px[(size_t)ys[1] * g->width + xs[1]]};
    for (int i = 1; i < 4; i++) /* insertion sort of four */
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            uint8_t t = v[j];
            v[j] = v[j - 1], v[j - 1] = t;
        }
    blank_to(g, b, (v[1] + v[2] + 1) / 2);
}

/* Where a channel could show text the brightest channel hid: the 16 x 16 tiles with coloured pixels (outside the
 * lines found: chroma blanked there) whose brightest channel is nearly flat, united and widened by
 * CHANNEL_MARGIN (a glyph's top-hat square and a line's grouping reach); {0} when there are none. A screenshot's
 * red print searches its lines' rows, a photograph its flat parts: three channel searches of every colour frame
 * whole cost 2.2x the shared corpus's REDACT_ALL_TEXT time (bench/RESULTS.md "Colour text"). */
#define CHANNEL_TILE 16u
#define CHANNEL_MARGIN 48u
#define FLAT_DIFF 40    /* a tile is nearly flat with at most FLAT_SHARE of it this far from its mean */
#define FLAT_SHARE 0.15

static dv_box channel_window(const dv_gray8 *gray, const dv_gray8 *chroma)
{
    uint32_t W = gray->width, H = gray->height, x0 = UINT32_MAX, y0 = UINT32_MAX, x1 = 0, y1 = 0;
    for (uint32_t ty = 0; ty < H; ty += CHANNEL_TILE)
        for (uint32_t tx = 0; tx < W; tx += CHANNEL_TILE) {
            uint32_t ex = tx + CHANNEL_TILE < W ? tx + CHANNEL_TILE : W;
            uint32_t ey = ty + CHANNEL_TILE < H ? ty + CHANNEL_TILE : H;
            uint32_t col = 0, n = (ex - tx) * (ey - ty), sum = 0, off = 0;
            for (uint32_t y = ty; y < ey; y++)
                for (uint32_t x = tx; x < ex; x++) {
                    col += chroma->px[(size_t)y * W + x] >= DV_GRAY8_CHROMA;
                    sum += gray->px[(size_t)y * W + x];
                }
            if (col < 4)
                continue;
            int mean = (int)((sum + n / 2) / n);
            for (uint32_t y = ty; y < ey; y++)
                for (uint32_t x = tx; x < ex; x++) {
                    int d = (int)gray->px[(size_t)y * W + x] - mean;
                    off += d > FLAT_DIFF || d < -FLAT_DIFF;
                }
            if ((double)off > FLAT_SHARE * (double)n)
                continue;
            x0 = tx < x0 ? tx : x0, y0 = ty < y0 ? ty : y0;
            x1 = ex > x1 ? ex : x1, y1 = ey > y1 ? ey : y1;
        }
    if (x0 == UINT32_MAX)
        return (dv_box){0, 0, 0, 0};
    return dv_box_pad((dv_box){x0, y0, x1 - x0, y1 - y0}, CHANNEL_MARGIN, CHANNEL_MARGIN, W, H);
}

/* win of g into out (its own picture, win.w x win.h). */
static int crop(const dv_gray8 *g, dv_box win, dv_gray8 *out, dv_error *err)
{
    size_t n = (size_t)win.w * win.h;
    if (n > out->cap) {
        uint8_t *p = realloc(out->px, n);
        if (!p)
            return dv_fail(err, DV_ERR_NOMEM, "out of memory (%zu bytes)", n);
        out->px = p, out->cap = n;
    }
    out->width = win.w, out->height = win.h, out->chroma_px = 0;
    for (uint32_t y = 0; y < win.h; y++)
        memcpy(out->px + (size_t)y * win.w, g->px + (size_t)(win.y + y) * g->width + win.x, win.w);
    return 0;
}

/* A colour frame's channels, each searched as a view of its own after the brightest channel (w->gray): red or
 * blue print on white, blue on yellow, magenta on green have the background's brightest channel and showed
 * nothing there, and were written unredacted under REDACT_ALL_TEXT (stop 38's red team; docs/decisions.md "The
 * 8-bit view"). The lines found before on this frame are blanked in the view (blank), and a line still found
 * mostly inside one of them is dropped, so a line is read and covered once; a line must also be coloured and
 * hidden from the brightest channel (coloured, hidden_from_brightest). Each channel has its own detector, so a
 * cine's unchanged frames reuse its boxes. The sensitive modes read a channel's lines on that channel's view
 * (dv_px_classify reads w->gray and w->lines). [integration.test_colour_text] */
static int channel_views(stage *s, uint32_t i0, uint64_t t0, dv_error *err)
{
    dv_pixel_worker *w = s->w;
    const dv_boxes *first = s->pol ? &w->lines : &w->boxes;
    dv_boxes_clear(&w->seen);
    for (size_t i = 0; i < first->n; i++)
        if (dv_boxes_add(&w->seen, first->v[i], err) != 0)
            return -1;
    if (dv_gray8_planes(&s->frame, s->has_pal ? &s->pal : NULL, w->planes, err) != 0)
        return -1;
    dv_gray8 *chroma = &w->planes[3];
    /* colour only inside the lines found (ultrasound's yellow labels): nothing a channel could add */
    for (size_t i = 0; i < w->seen.n; i++)
        blank_to(chroma, &w->seen.v[i], 0);
    dv_box win = channel_window(&w->gray, chroma);
    if (win.w == 0)
        return 0;
    for (unsigned c = 0; c < 3; c++) {
        if (!w->tdc[c] && !(w->tdc[c] = dv_textdetect_new()))
            return dv_fail(err, DV_ERR_NOMEM, "out of memory (text detector)");
        /* a cine's frames reuse a channel's boxes only within one window (the detector's boxes are the window's) */
        if (memcmp(&win, &w->tdc_win[c], sizeof win) != 0)
            dv_textdetect_reset(w->tdc[c]);
        w->tdc_win[c] = win;
        dv_boxes_clear(&w->extra);
        dv_gray8 *view = &w->planes[c];
        for (size_t i = 0; i < w->seen.n; i++)
            blank(view, &w->seen.v[i]);
        uint32_t left = 0;
        if (crop(view, win, &w->crop, err) != 0 || time_left(s, t0, i0, "its colour views", &left, err) != 0 ||
            dv_textdetect_find(w->tdc[c], &w->crop, left, &w->extra, err) != 0)
            return -1;
        size_t kept = 0;
        for (size_t i = 0; i < w->extra.n; i++) {
            w->extra.v[i].x += win.x, w->extra.v[i].y += win.y;
            if (seen_before(&w->seen, &w->extra.v[i]) || !coloured(chroma, &w->extra.v[i]) ||
                !hidden_from_brightest(&w->gray, view, &w->extra.v[i]))
                continue;
            if (dv_boxes_add(&w->seen, w->extra.v[i], err) != 0)
                return -1;
            w->extra.v[kept++] = w->extra.v[i];
        }
        w->extra.n = kept;
        if (kept == 0)
            continue;
        if (!s->pol) {
            for (size_t i = 0; i < kept; i++)
                if (dv_boxes_add(&w->boxes, w->extra.v[i], err) != 0)
                    return -1;
            continue;
        }
        dv_gray8 g = w->gray;
        dv_boxes l = w->lines;
        w->gray = *view, w->lines = w->extra;
        int rc = dv_px_classify(s, t0, err);
        *view = w->gray, w->extra = w->lines;
        w->gray = g, w->lines = l;
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* Frame i of the image decoded into s->frame, its 8-bit view into w->gray; t0: when the frame's bound began. */
static int image_view(stage *s, uint32_t i, uint64_t t0, dv_error *err)
{
    dv_pixel_worker *w = s->w;
    uint32_t left = 0;
    if (decode(s, i, err) != 0 || time_left(s, t0, i, "decoding", &left, err) != 0)
        return -1;
    w->unused[i] = (uint8_t)(!s->pa.float_bits && s->frame.had_unused_bits);
    return dv_gray8_from_frame(&s->frame, s->has_pal ? &s->pal : NULL, &w->gray, err);
}

static int plane_view(stage *s, uint32_t i, dv_error *err);

/* Pass 1: decode every frame (of the image, or of an overlay plane: s->plane) and find its boxes. */
static int find_all(stage *s, dv_error *err)
{
    dv_pixel_worker *w = s->w;
    w->nall = 0;
    if (dv_px_grow((void **)&w->start, &w->start_cap, (size_t)s->pa.number_of_frames + 1, sizeof *w->start, err) != 0 ||
        dv_px_grow((void **)&w->unused, &w->unused_cap, (size_t)s->pa.number_of_frames, 1, err) != 0)
        return -1;
    if (!s->env->find) {
        if (!w->td && !(w->td = dv_textdetect_new()))
            return dv_fail(err, DV_ERR_NOMEM, "out of memory (text detector)");
        dv_textdetect_reset(w->td);
        for (int c = 0; c < 3; c++)
            if (w->tdc[c])
                dv_textdetect_reset(w->tdc[c]);
    }
    dv_boxes_clear(&w->sens);
    dv_boxes_clear(&w->covered);
    for (uint32_t i = 0; i < s->pa.number_of_frames; i++) {
        uint64_t t0 = dv_px_now_ms();
        w->start[i] = w->nall;
        uint32_t left = 0;
        if ((s->plane ? plane_view(s, i, err) : image_view(s, i, t0, err)) != 0 ||
            time_left(s, t0, i, "its 8-bit view", &left, err) != 0)
            return -1;
        dv_boxes_clear(&w->boxes);
        dv_boxes *found = s->pol ? &w->lines : &w->boxes;
        dv_boxes_clear(found);
        int rc = s->env->find ? s->env->find(s->env->find_user, &s->frame, &w->gray, i, found, err)
                              : dv_textdetect_find(w->td, &w->gray, left, found, err);
        if (rc != 0 || (s->pol && dv_px_classify(s, t0, err) != 0))
            return -1;
        if (!s->env->find && w->gray.chroma_px >= CHANNEL_MIN_PX && channel_views(s, i, t0, err) != 0)
            return -1;
        /* the detector gives one box per line (close lines' padding may overlap); paint their union
         * rectangles, as REDACT_ALL_TEXT was measured (docs/pixels.md "Scores") */
        dv_boxes_merge_overlapping(&w->boxes);
        uint64_t took = dv_px_now_ms() - t0;
        if (took > s->frame_ms)
            return dv_fail(err, DV_ERR_LIMIT, "frame %u took %llu ms, over its %u ms bound", i,
                           (unsigned long long)took, s->frame_ms);
        if (dv_px_grow((void **)&w->all, &w->all_cap, w->nall + w->boxes.n, sizeof *w->all, err) != 0)
            return -1;
        if (w->boxes.n)
            memcpy(w->all + w->nall, w->boxes.v, w->boxes.n * sizeof *w->all);
        w->nall += w->boxes.n;
        if (w->boxes.n == 0 && !s->plane) /* the observer is shown the image's frames only */
            observe(s, i, &s->frame, &s->frame, NULL, 0);
    }
    w->start[s->pa.number_of_frames] = w->nall;
    return s->pol ? dv_px_spread_sensitive(s, err) : 0;
}

/* Paint frame f with frame i's boxes, showing the observer before and after. */
static void paint(stage *s, uint32_t i, dv_frame *f)
{
    dv_pixel_worker *w = s->w;
    dv_boxes b = {w->all + w->start[i], w->start[i + 1] - w->start[i], 0};
    dv_frame before = *f;
    int copied = 0;
    if (s->env->observer && !s->env->boxes_only) {
        size_t n = dv_frame_bytes(f);
        dv_error ignore;
        if (dv_px_grow((void **)&w->before, &w->before_cap, n, 1, &ignore) == 0) {
            memcpy(w->before, f->data, n);
            before.data = w->before;
            before.cap = w->before_cap;
            copied = 1;
        }
    }
    dv_redact_frame(f, s->has_pal ? &s->pal : NULL, &b);
    if (copied || s->env->boxes_only)
        observe(s, i, &before, f, b.v, b.n);
}

/* Pass 2, encapsulated output (RLE, JPEG-LS, JPEG 2000): every frame's new bytes, then one replacement. */
static int write_encapsulated(stage *s, out_kind k, dv_error *err)
{
    uint32_t n = s->pa.number_of_frames;
    uint8_t **bufs = calloc(n, sizeof *bufs);
    uint64_t *lens = calloc(n, sizeof *lens);
    int rc = bufs && lens ? 0 : dv_fail(err, DV_ERR_NOMEM, "out of memory (%u frames)", n);
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        if (s->w->start[i] == s->w->start[i + 1] && !s->w->unused[i]) {
            /* nothing found: the frame's original encoded bytes, untouched (not when they carry bits outside the
             * stored ones: an RLE frame's high byte plane, or a codestream's samples above BitsStored, can hold
             * text the samples do not show; re-encoded from the decoded samples, as "Overlays embedded in pixel
             * data" clears native frames) */
            uint64_t len = dv_frames_size(s->frames, i);
            if (len == 0 || len > SIZE_MAX || !(bufs[i] = malloc((size_t)len)))
                rc = dv_fail(err, DV_ERR_NOMEM, "frame %u of %llu bytes", i, (unsigned long long)len);
            else if ((rc = dv_frames_read(s->inst, s->frames, i, bufs[i], len, err)) == 0)
                lens[i] = len;
            continue;
        }
        if ((rc = decode(s, i, err)) != 0)
            break;
        paint(s, i, &s->frame);
        s->decoded = -1; /* painted */
        size_t len = 0;
        rc = k == OUT_RLE      ? dv_image_encode_rle(s->w->img, &s->pa, &s->frame, &bufs[i], &len, err)
             : k == OUT_JPEG_LS ? dv_image_encode_jpegls(s->w->img, &s->pa, &s->frame, &bufs[i], &len, err)
                                : dv_image_encode_j2k(s->w->img, &s->pa, &s->frame, &bufs[i], &len, err);
        lens[i] = len;
    }
    if (rc == 0)
        rc = dv_instance_set_pixel_data_frames(s->inst, (const void *const *)bufs, lens, n, err);
    for (uint32_t i = 0; bufs && i < n; i++)
        free(bufs[i]);
    free(bufs);
    free(lens);
    return rc;
}

/* Pass 2, JPEG Baseline kept: frames with boxes are redacted in the DCT domain (every block outside the
 * covered MCUs copied bit for bit), the others keep their bytes. Returns 1 when the stream cannot be
 * redacted that way (DV_ERR_UNSUPPORTED: progressive, arithmetic ...): the caller then writes native. */
static int write_dct(stage *s, dv_error *err)
{
    uint32_t n = s->pa.number_of_frames;
    uint8_t **bufs = calloc(n, sizeof *bufs);
    uint64_t *lens = calloc(n, sizeof *lens);
    uint8_t *in = NULL;
    dv_box *covered = NULL;
    size_t covered_cap = 0;
    int rc = bufs && lens ? 0 : dv_fail(err, DV_ERR_NOMEM, "out of memory (%u frames)", n);
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        uint64_t len = dv_frames_size(s->frames, i);
        if (len == 0 || len > SIZE_MAX || !(in = malloc((size_t)len))) {
            rc = dv_fail(err, DV_ERR_NOMEM, "frame %u of %llu bytes", i, (unsigned long long)len);
            break;
        }
        if ((rc = dv_frames_read(s->inst, s->frames, i, in, len, err)) != 0)
            break;
        size_t nb = s->w->start[i + 1] - s->w->start[i];
        if (nb == 0) {
            bufs[i] = in; /* nothing found: the frame's original bytes */
            lens[i] = len;
            in = NULL;
            continue;
        }
        dv_boxes b = {s->w->all + s->w->start[i], nb, 0};
        if ((rc = dv_px_grow((void **)&covered, &covered_cap, nb, sizeof *covered, err)) != 0)
            break;
        size_t out_len = 0;
        rc = dv_jpeg_dct_redact(&s->pa, in, (size_t)len, &b, &bufs[i], &out_len, covered, err);
        lens[i] = out_len;
        if (rc == 0 && s->env->boxes_only) {
            observe(s, i, NULL, NULL, covered, nb); /* the covered MCUs, as painted; no picture wanted */
        } else if (rc == 0 && s->env->observer) {
            /* before: the decoded original; after: the redacted stream decoded, as a viewer will see it */
            dv_error e2;
            dv_pixel_worker *w = s->w;
            if (decode(s, i, &e2) == 0 &&
                dv_px_grow((void **)&w->before, &w->before_cap, dv_frame_bytes(&s->frame), 1, &e2) == 0) {
                memcpy(w->before, s->frame.data, dv_frame_bytes(&s->frame));
                dv_frame before = s->frame;
                before.data = w->before;
                before.cap = w->before_cap;
                s->decoded = -1;
                s->frame.data = w->buf;
                s->frame.cap = w->buf_cap;
                if (dv_image_decode_frame_bytes(w->img, s->ts, &s->pa, bufs[i], out_len, &s->frame, &e2) == 0)
                    observe(s, i, &before, &s->frame, covered, nb);
            }
        }
        free(in);
        in = NULL;
    }
    free(in);
    free(covered);
    int fallback = rc != 0 && err->code == DV_ERR_UNSUPPORTED;
    if (rc == 0)
        rc = dv_instance_set_pixel_data_frames(s->inst, (const void *const *)bufs, lens, n, err);
    for (uint32_t i = 0; bufs && i < n; i++)
        free(bufs[i]);
    free(bufs);
    free(lens);
    if (fallback) {
        dv_error_clear(err);
        return 1;
    }
    return rc;
}

/* Pass 2, native output: the whole new PixelData value, then one replacement (the instance owns it). */
static int write_native(stage *s, out_kind k, dv_error *err)
{
    const dv_pixel_attrs *pa = &s->pa;
    /* The output frame is the DECODED layout (native YBR_FULL_422 is stored with 2 samples per pixel and
     * written as full YBR_FULL); its size is capped by max_frame_bytes like every decoded frame. */
    uint64_t frame_bits = (uint64_t)pa->rows * pa->columns * pa->samples_per_pixel * pa->bits_allocated;
    if (frame_bits / 8 > dv_image_ctx_limits(s->w->img)->max_frame_bytes ||
        frame_bits > UINT64_MAX / 2 / pa->number_of_frames)
        return dv_fail(err, DV_ERR_LIMIT, "%u frames of %llu bits", pa->number_of_frames,
                       (unsigned long long)frame_bits);
    uint64_t total_bits = frame_bits * pa->number_of_frames;
    uint64_t len = (total_bits + 7) / 8;
    len += len & 1;
    if (len > SIZE_MAX || len > dv_image_ctx_limits(s->w->img)->max_frame_bytes * (uint64_t)pa->number_of_frames)
        return dv_fail(err, DV_ERR_LIMIT, "%llu bytes of native pixel data", (unsigned long long)len);
    uint8_t *out = calloc(1, (size_t)len);
    if (!out)
        return dv_fail(err, DV_ERR_NOMEM, "out of memory (%llu bytes of pixel data)", (unsigned long long)len);
    int same = native_same_layout(pa, k);
    for (uint32_t i = 0; i < pa->number_of_frames; i++) {
        int has_boxes = s->w->start[i] != s->w->start[i + 1];
        if (same) {
            /* the stored frame IS the canonical layout: paint its own bytes (bits outside the boxes kept) */
            uint8_t *slot = out + frame_bits / 8 * i;
            if (dv_frames_read(s->inst, s->frames, i, slot, pa->native_frame_bytes, err) != 0) {
                free(out);
                return -1;
            }
            if (has_boxes) {
                dv_frame view = s->frame; /* geometry of this instance's decoded frames */
                view.data = slot;
                view.cap = (size_t)pa->native_frame_bytes;
                paint(s, i, &view);
            }
            continue;
        }
        if (decode(s, i, err) != 0) {
            free(out);
            return -1;
        }
        if (has_boxes) {
            paint(s, i, &s->frame);
            s->decoded = -1;
        }
        frame_to_native(&s->frame, pa, out + (pa->bits_allocated == 1 ? 0 : frame_bits / 8 * i),
                        pa->bits_allocated == 1 ? frame_bits * i : 0);
    }
    if (!same && fix_attributes(s->inst, pa, s->frame.photometric, s->fam,
                                s->frame.src.lossy || s->fam == DV_TSF_JPEG_BASELINE, err) != 0) {
        free(out);
        return -1;
    }
    int vr_ow = pa->bits_allocated > 8;
    if (dv_instance_set_pixel_data_native(s->inst, vr_ow, out, len, release_free, NULL, err) != 0) {
        free(out);
        return -1;
    }
    return 0;
}

/* Pass 2, float pixel data: every frame decoded (painted when it has boxes) into the new value of the same
 * element, little endian (a big endian input is written explicit VR little endian, as integers are). */
static int write_float(stage *s, dv_error *err)
{
    const dv_pixel_attrs *pa = &s->pa;
    uint64_t fbytes = pa->native_frame_bytes, len = fbytes * pa->number_of_frames; /* < 2^55 within the caps */
    if (len > 0xFFFFFFF0u || len > SIZE_MAX)
        return dv_fail(err, DV_ERR_LIMIT, "%llu bytes of float pixel data", (unsigned long long)len);
    uint8_t *out = malloc(len ? (size_t)len : 1);
    if (!out)
        return dv_fail(err, DV_ERR_NOMEM, "out of memory (%llu bytes of pixel data)", (unsigned long long)len);
    for (uint32_t i = 0; i < pa->number_of_frames; i++) {
        if (decode(s, i, err) != 0) {
            free(out);
            return -1;
        }
        if (s->w->start[i] != s->w->start[i + 1]) {
            paint(s, i, &s->frame);
            s->decoded = -1;
        }
        frame_to_native(&s->frame, pa, out + fbytes * i, 0);
    }
    dv_elem *e = dv_ds_find(&s->inst->ds, pa->float_bits == 32 ? DV_TAG_FLOAT_PIXEL_DATA
                                                                 : DV_TAG_DOUBLE_FLOAT_PIXEL_DATA);
    dv_instance_drop_patches(s->inst); /* they were of the value being replaced */
    if (!e || dv_elem_set_external(s->inst, e, pa->float_bits == 32 ? DV_VR_OF : DV_VR_OD, out, len, 0,
                                   release_free, NULL) != 0) {
        free(out);
        return dv_fail(err, DV_ERR_LIMIT, "metadata memory limit reached replacing the float pixel data");
    }
    return 0;
}

/* ---- overlays kept by name (docs/decisions.md "Overlays go with a redacted image") ---- */

#define OVERLAY_ELEM(group, elem) ((uint32_t)(group) << 16 | (elem))
#define OVERLAY_ROWS 0x0010u
#define OVERLAY_COLUMNS 0x0011u
#define OVERLAY_FRAMES 0x0015u          /* NumberOfFramesInOverlay (IS): 1 when absent */
#define OVERLAY_BITS_ALLOCATED 0x0100u
#define OVERLAY_DATA 0x3000u

/* An overlay plane (OverlayData, 60xx,3000) as pass 1 searches it (PS3.5 8.1.2, PS3.3 C.9.2): rows x cols bits a
 * frame, the frames one after the other with no padding, pixel k in bit k % 8 of byte k / 8. bits is the value
 * as little endian bytes (an OW read big endian is swapped), len of them, malloc'd and owned here. */
typedef struct plane {
    uint32_t tag; /* its OverlayData */
    uint16_t rows, cols;
    uint32_t frames;
    uint8_t *bits;
    uint64_t len;
} plane;

/* The geometry of the plane whose OverlayData is od->tag. Anything that does not say where its bits are (no rows
 * or columns, frames 0, OverlayBitsAllocated not 1) fails: a plane that cannot be searched cannot be kept beside a
 * redacted image, and the user named it, so it is not silently removed either (fail closed, DECISIONS 14). A
 * value shorter than its frames is searched as far as it goes: the bits it lacks show nothing and hold nothing
 * (fo-dicom's GH1728.dcm is 4 bits short, its writer rounded the length down). The messages name the tag, never a
 * value. */
static int plane_geometry(const dv_instance *inst, const dv_elem *od, const dv_image_limits *lim, plane *p,
                          dv_error *err)
{
    uint16_t group = (uint16_t)(od->tag >> 16), ba;
    p->tag = od->tag;
    if (od->flags & (DV_ELEM_SEQUENCE | DV_ELEM_ENCAPSULATED))
        return dv_fail(err, DV_ERR_MALFORMED, "overlay " TAGF " is not a bit plane", TAGA(od->tag));
    if (dv_ds_get_u16(inst, &inst->ds, OVERLAY_ELEM(group, OVERLAY_ROWS), &p->rows) != 0 ||
        dv_ds_get_u16(inst, &inst->ds, OVERLAY_ELEM(group, OVERLAY_COLUMNS), &p->cols) != 0 || !p->rows || !p->cols)
        return dv_fail(err, DV_ERR_MALFORMED, "overlay " TAGF " without OverlayRows and OverlayColumns",
                       TAGA(od->tag));
    if (dv_ds_get_u16(inst, &inst->ds, OVERLAY_ELEM(group, OVERLAY_BITS_ALLOCATED), &ba) == 0 && ba != 1)
        return dv_fail(err, DV_ERR_UNSUPPORTED, "overlay " TAGF ": OverlayBitsAllocated other than 1",
                       TAGA(od->tag));
    if (dv_frame_count_read(inst, OVERLAY_ELEM(group, OVERLAY_FRAMES), "NumberOfFramesInOverlay", &p->frames,
                            err) != 0)
        return -1;
    if (p->frames == 0)
        return dv_fail(err, DV_ERR_MALFORMED, "NumberOfFramesInOverlay " TAGF " is 0",
                       TAGA(OVERLAY_ELEM(group, OVERLAY_FRAMES)));
    if (p->frames > lim->max_frames)
        return dv_fail(err, DV_ERR_LIMIT, "NumberOfFramesInOverlay " TAGF " over the frame cap",
                       TAGA(OVERLAY_ELEM(group, OVERLAY_FRAMES)));
    uint64_t frame = (uint64_t)p->rows * p->cols; /* < 2^32: one byte a pixel rendered (plane_view) */
    if (frame > lim->max_frame_bytes)
        return dv_fail(err, DV_ERR_LIMIT, "overlay " TAGF " frame over the frame cap", TAGA(od->tag));
    if (od->length > SIZE_MAX)
        return dv_fail(err, DV_ERR_LIMIT, "overlay " TAGF " too long", TAGA(od->tag));
    return 0;
}

/* The plane's value into p->bits, little endian. */
static int plane_read(const dv_instance *inst, const dv_elem *od, plane *p, dv_error *err)
{
    p->len = od->length;
    if (!(p->bits = malloc(p->len ? (size_t)p->len : 1)))
        return dv_fail(err, DV_ERR_NOMEM, "out of memory (overlay of %llu bytes)", (unsigned long long)p->len);
    if (dv_elem_read_value(inst, od, p->bits, p->len) != 0)
        return dv_fail(err, DV_ERR_IO, "overlay " TAGF " cannot be read", TAGA(od->tag));
    /* external values are little endian already (dv_elem_source) */
    if (!(od->flags & DV_ELEM_EXTERNAL) && dv_values_big_endian(inst))
        dv_swap_bytes(p->bits, (size_t)p->len, dv_vr_swap_unit(od->vr));
    return 0;
}

/* Frame i of s->plane as the detector's 8-bit view: a set bit 255 on 0, as viewers draw an overlay (the detector
 * searches both polarities, textdetect.c); s->frame is the same picture for the test seam (dv_pixel_find_fn). */
static int plane_view(stage *s, uint32_t i, dv_error *err)
{
    const plane *p = s->plane;
    dv_gray8 *g = &s->w->gray;
    size_t n = (size_t)p->rows * p->cols;
    if (n > g->cap) {
        uint8_t *q = realloc(g->px, n);
        if (!q)
            return dv_fail(err, DV_ERR_NOMEM, "out of memory (%zu bytes)", n);
        g->px = q, g->cap = n;
    }
    g->width = p->cols, g->height = p->rows, g->chroma_px = 0;
    uint64_t bit0 = (uint64_t)n * i, have = p->len * 8; /* a short plane: the bits it lacks are unset */
    for (size_t k = 0; k < n; k++) {
        uint64_t b = bit0 + k;
        g->px[k] = b < have && (p->bits[b >> 3] >> (b & 7) & 1u) ? 255 : 0;
    }
    s->w->unused[i] = 0;
    dv_frame *f = &s->frame;
    memset(f, 0, sizeof *f);
    f->data = g->px;
    f->cap = g->cap;
    f->width = p->cols, f->height = p->rows;
    f->samples = 1, f->sample_bytes = 1, f->bits_stored = 8;
    f->photometric = f->src.photometric = DV_PHOTO_MONOCHROME2;
    f->src.family = DV_TSF_NATIVE;
    f->src.bits_allocated = f->src.precision = 8;
    s->decoded = -1; /* s->frame no longer holds an image frame */
    return 0;
}

/* Clear bits [from, to) of p (those it has); returns 1 when one of them was set. */
static int plane_clear_run(plane *p, uint64_t from, uint64_t to)
{
    int was = 0;
    if (to > p->len * 8)
        to = p->len * 8;
    for (uint64_t b = from; b < to; b++) {
        uint8_t m = (uint8_t)(1u << (b & 7));
        was |= (p->bits[b >> 3] & m) != 0;
        p->bits[b >> 3] &= (uint8_t)~m;
    }
    return was;
}

/* Clear the plane's bits inside every box pass 1 found on its frames (w->all, w->start; padded by the detector
 * and merged as the image's are), and the bits past its last frame, which no viewer shows and no search saw (as
 * "Bytes past the last frame" for pixel data; the length is kept). Returns 1 when a set bit was cleared. */
static int plane_clear(plane *p, const dv_pixel_worker *w)
{
    uint64_t frame = (uint64_t)p->rows * p->cols;
    int changed = 0;
    for (uint32_t i = 0; i < p->frames; i++)
        for (size_t k = w->start[i]; k < w->start[i + 1]; k++) {
            dv_box b = dv_box_clip(w->all[k], p->cols, p->rows);
            for (uint32_t y = b.y; y < b.y + b.h; y++) {
                uint64_t row = frame * i + (uint64_t)y * p->cols;
                changed |= plane_clear_run(p, row + b.x, row + b.x + b.w);
            }
        }
    changed |= plane_clear_run(p, frame * p->frames, p->len * 8);
    return changed;
}

/* The cleared plane becomes od's value (same VR, same length; the instance owns p->bits from here on). External
 * values are written little endian, never swapped (dv_elem_source): explicit VR big endian input is written
 * explicit VR little endian, as the stage writes any value it rewrites. */
static int plane_write(dv_instance *inst, dv_elem *od, plane *p, dv_error *err)
{
    if (strcmp(dv_instance_transfer_syntax(inst), DV_TS_UID_EXPLICIT_BE) == 0 &&
        dv_instance_set_transfer_syntax(inst, DV_TS_UID_EXPLICIT_LE, err) != 0)
        return -1;
    if (dv_elem_set_external(inst, od, od->vr, p->bits, p->len, 0, release_free, NULL) != 0)
        return dv_fail(err, DV_ERR_LIMIT, "metadata memory limit reached replacing overlay " TAGF, TAGA(od->tag));
    p->bits = NULL;
    return 0;
}

/* One plane searched as the image is (pass 1 on its frames: the same detector, mode and classifier) and its bits
 * inside the boxes found cleared; nothing found: the value is not touched. *changed is set when it was rewritten. */
static int search_plane(stage *s, dv_elem *od, int *changed, dv_error *err)
{
    plane p;
    memset(&p, 0, sizeof p);
    const dv_image_limits *lim = dv_image_ctx_limits(s->w->img);
    int rc = plane_geometry(s->inst, od, lim, &p, err);
    if (rc == 0)
        rc = plane_read(s->inst, od, &p, err);
    stage o = *s; /* the image's stage, its frames the plane's */
    o.plane = &p;
    o.pa.number_of_frames = p.frames;
    if (rc == 0)
        rc = find_all(&o, err);
    if (rc == 0 && plane_clear(&p, s->w)) {
        rc = plane_write(s->inst, od, &p, err);
        *changed = 1;
    }
    free(p.bits);
    return rc;
}

/* Every overlay still in the instance when the stage runs is one a keepTag kept by name (run.c drops the others
 * first: dv_pixel_drop_icons_and_overlays); its plane shows its text over the redacted image in every viewer, so it
 * is searched for text as the image is (stop 38's red team: a console's name in a kept overlay). An instance
 * without one pays one walk of its top-level elements. Overlays embedded in the pixels' unused bits are not
 * searched (docs/decisions.md). [test_pixel_stage: test_kept_overlay_searched] */
static int search_overlays(stage *s, int *changed, dv_error *err)
{
    dv_elem *found[16];
    unsigned n = 0;
    for (dv_elem *e = s->inst->ds.first; e; e = e->next) {
        uint32_t rel = e->tag - 0x60000000u;
        /* an empty value has no bit to show (dwv's leadtools-8BitsJpegLossyGrayScale.dcm: a group of empty values) */
        if (rel < 0x00200000u && !(rel & 0x00010000u) && (rel & 0xFFFFu) == OVERLAY_DATA && n < 16 &&
            (e->length || (e->flags & (DV_ELEM_SEQUENCE | DV_ELEM_ENCAPSULATED))))
            found[n++] = e;
    }
    for (unsigned k = 0; k < n; k++)
        if (search_plane(s, found[k], changed, err) != 0)
            return -1;
    return 0;
}

static void stage_free(stage *s)
{
    dv_frames_free(s->frames);
    if (s->has_pal)
        dv_palette_free(&s->pal);
}

/* The instance's pixel attributes: its PixelData's, else its float pixel data's (dv_pixel_attrs_read_float).
 * Float pixel data is native only; an instance with both kinds would have the other's text kept unexamined:
 * refused. */
static int read_attrs(const dv_instance *inst, const dv_image_limits *lim, dv_ts_family fam, dv_pixel_attrs *pa,
                      dv_error *err)
{
    const dv_elem *pd = top_pixels(inst);
    int nfloat = (dv_ds_find(&inst->ds, DV_TAG_FLOAT_PIXEL_DATA) != NULL) +
                 (dv_ds_find(&inst->ds, DV_TAG_DOUBLE_FLOAT_PIXEL_DATA) != NULL);
    if (nfloat && (nfloat > 1 || dv_ds_find(&inst->ds, DV_TAG_PIXEL_DATA)))
        return dv_fail(err, DV_ERR_UNSUPPORTED, "more than one pixel data element");
    if (!pd || pd->tag == DV_TAG_PIXEL_DATA)
        return dv_pixel_attrs_read(inst, lim, pa, err);
    if (fam != DV_TSF_NATIVE)
        return dv_fail(err, DV_ERR_UNSUPPORTED, "float pixel data under a compressed transfer syntax");
    return dv_pixel_attrs_read_float(inst, lim, pa, err);
}

static int regrant_native(stage *s, const dv_image_config *ic, dv_error *err);

static int stage_run(dv_pixel_worker *w, const dv_image_config *ic, dv_instance *inst, const dv_pixel_env *env,
                     dv_result *res, dv_error *err)
{
    stage s;
    memset(&s, 0, sizeof s);
    dv_pixel_policy pol;
    if (dv_image_config_needs_ocr(ic)) {
        /* Fail closed: no OCR engine or model, no classifier, no deny-list -> the instance fails. */
        if (!env->tw || !env->plan)
            return dv_fail(err, DV_ERR_USAGE, "the sensitive modes need the instance's text worker");
        if (dv_pixel_policy_make(ic, &pol, err) != 0)
            return -1;
        if (!w->ocr) {
            uint64_t c0 = thread_cpu_us();
            if (!(w->ocr = dv_ocr_new(err)))
                return -1;
            w->stats.v[DV_PIXEL_OCR_LOAD_US] += thread_cpu_us() - c0;
        }
        if (!w->pc && !(w->pc = dv_pixclass_new()))
            return dv_fail(err, DV_ERR_NOMEM, "out of memory (pixel classifier)");
        /* the memo holds this instance's readings only (the deny-list is the instance's) */
        if (!w->memo && !(w->memo = dv_pixel_memo_new()))
            return dv_fail(err, DV_ERR_NOMEM, "out of memory (pixel memo)");
        dv_pixel_memo_reset(w->memo);
        s.pol = &pol;
    }
    s.w = w;
    s.inst = inst;
    s.env = env;
    s.decoded = -1;
    s.frame_ms = env->frame_ms ? env->frame_ms : DV_PIXEL_FRAME_MS_DEFAULT;
    s.sop_uid = res ? res->sop_uid : "";
    s.ts = dv_instance_transfer_syntax(inst);
    s.fam = dv_ts_family_of(s.ts);
    if (read_attrs(inst, dv_image_ctx_limits(w->img), s.fam, &s.pa, err) != 0)
        return -1;
    out_kind k = output_kind(s.ts, s.fam, &s.pa);
    if (dv_ts_family_encapsulated(s.fam) || native_same_layout(&s.pa, k) || s.pa.float_bits) {
        if (!(s.frames = dv_frames_index(inst, err)))
            return -1;
        if (dv_frames_count(s.frames) != s.pa.number_of_frames) {
            stage_free(&s);
            return dv_fail(err, DV_ERR_MALFORMED, "pixels: %u frames indexed, NumberOfFrames says %u",
                           dv_frames_count(s.frames), s.pa.number_of_frames);
        }
    }
    if (s.pa.photometric == DV_PHOTO_PALETTE_COLOR) {
        if (dv_palette_read(inst, &s.pal, err) != 0) {
            stage_free(&s);
            return -1;
        }
        s.has_pal = 1;
    }
    size_t cap = s.pa.float_bits ? (size_t)s.pa.native_frame_bytes
                                 : dv_image_frame_capacity(&s.pa, s.fam, dv_image_ctx_limits(w->img), err);
    int rc = cap ? dv_px_grow((void **)&w->buf, &w->buf_cap, cap, 1, err) : -1;
    if (rc == 0)
        rc = find_all(&s, err);
    /* An encapsulated frame whose encoded samples carry bits outside the stored ones (dv_frame.had_unused_bits:
     * an RLE or deflated frame's bytes; a codestream whose precision exceeds BitsStored with a bit above it that
     * is no sign extension) is rewritten even when nothing was found, from its masked samples (native frames are
     * cleared by dv_pixel_container_clean). It goes where a redacted frame of its syntax goes: RLE, JPEG-LS
     * Lossless and JPEG 2000 Lossless are re-encoded losslessly in their syntax; JPEG lossless, lossy JPEG-LS,
     * JPEG 2000 other than .4.90 and deflated frames are written native (no encoder, or a second lossy
     * generation); JPEG Baseline too, as the DCT domain cannot clear a bit of a sample (docs/decisions.md
     * "Hidden bits in codestreams"). A codestream whose samples only differ from the header in sign or precision
     * (pydicom's J2K_pixelrep_mismatch.dcm) is not dirty and keeps its bytes. */
    int dirty = 0;
    for (uint32_t i = 0; rc == 0 && dv_ts_family_encapsulated(s.fam) && i < s.pa.number_of_frames; i++)
        dirty |= w->unused[i];
    if (rc == 0 && dirty && k == OUT_JPEG_DCT) {
        k = OUT_NATIVE_ELE;
        rc = regrant_native(&s, ic, err);
    }
    int rewrite = w->nall > 0 || dirty;
    if (rc == 0 && w->nall > 0 && k == OUT_JPEG_DCT) {
        rc = write_dct(&s, err);
        if (rc == 1) { /* a stream the DCT path refuses: decode, paint, write native */
            k = OUT_NATIVE_ELE;
            rc = regrant_native(&s, ic, err);
            if (rc == 0)
                rc = write_native(&s, k, err);
        }
    } else if (rc == 0 && w->nall > 0 && s.pa.float_bits) {
        rc = write_float(&s, err);
    } else if (rc == 0 && rewrite) {
        rc = k == OUT_RLE || k == OUT_JPEG_LS || k == OUT_J2K ? write_encapsulated(&s, k, err)
                                                               : write_native(&s, k, err);
    }
    /* The transfer syntax changes only once the new pixel data is in place. */
    const char *ots = rewrite ? output_ts(k, s.ts) : s.ts;
    if (rc == 0 && strcmp(ots, s.ts) != 0)
        rc = dv_instance_set_transfer_syntax(inst, ots, err);
    /* The image's boxes are written: pass 1 may now search the overlays kept by name (it reuses w->all). */
    size_t image_boxes = w->nall;
    int overlay_changed = 0;
    if (rc == 0)
        rc = search_overlays(&s, &overlay_changed, err);
    if (rc == 0 && overlay_changed)
        ots = dv_instance_transfer_syntax(inst); /* big endian input: now explicit VR little endian (plane_write) */
    /* "NO" only when every text region was redacted, i.e. REDACT_ALL_TEXT (issue 11 item 4). */
    if (rc == 0 && ic->mode == DV_REDACT_ALL_TEXT)
        rc = put_cs(inst, DV_TAG_BURNED_IN_ANNOTATION, "NO", err);
    stage_free(&s);
    dv_pixel_memo_reset(w->memo); /* the instance's crops (burned-in text) are not kept past it */
    if (rc != 0)
        return -1;
    if (res && DV_RESULT_HAS(res, pixel_transfer_syntax)) {
        res->pixel_stage_ran = 1;
        res->pixel_frames = s.pa.number_of_frames;
        res->pixel_boxes = image_boxes > UINT32_MAX ? UINT32_MAX : (uint32_t)image_boxes;
        snprintf(res->pixel_transfer_syntax, sizeof res->pixel_transfer_syntax, "%s", ots);
        if (rewrite || overlay_changed) /* boxes painted, bits outside the stored ones or an overlay's cleared */
            res->changed = 1;
    }
    return 0;
}

/* Bytes per decoded sample of one frame, besides the decoded frame itself: the 8-bit views and the detector's
 * scratch (runs, components, morphology) and the codec's own buffers, for decoding and for re-encoding. JPEG 2000's
 * library holds each sample as a 32-bit integer, both ways. Then a quarter and 8 MiB more for what the allocator
 * does not give back between frames. Measured (bench/RESULTS.md "Pixel memory": 22 instances of every codec, one
 * and many frames, text on a plain and on a noisy background, REDACT_ALL_TEXT and REDACT_SENSITIVE_TEXT): the
 * estimate is 1.22 to 5.7 times the peak the instance added to the process (the OCR model, loaded once per worker,
 * not counted). */
#define SAMPLE_COST 9u
#define SAMPLE_COST_J2K 24u
#define SLACK_FIXED (8ull << 20)
/* The sensitive modes' readings: the instance's crops in the memo, Tesseract's working memory per line */
#define OCR_COST (16ull << 20)

/* The output kinds that stay encapsulated (estimate: charged about their encoded size). */
static int kept_encapsulated(out_kind k)
{
    return k == OUT_RLE || k == OUT_JPEG_LS || k == OUT_J2K || k == OUT_JPEG_DCT;
}

/* dv_pixel_stage_estimate, with the redacted pixel data charged at its native size (force_native, or an output
 * that is native anyway) or, for an output kept encapsulated (RLE, JPEG-LS, JPEG 2000 Lossless, JPEG Baseline's
 * DCT path), at about the encapsulated size it came in: a frame with nothing found keeps its bytes, a redacted
 * frame is re-encoded losslessly in its syntax (boxes painted one colour take no more room), a DCT frame's
 * painted blocks are flat. A JPEG Baseline output may still go native (a stream the DCT path refuses, or
 * samples with bits outside the stored ones): the stage then asks for the native estimate (dv_pixel_env.regrant)
 * first. */
static int estimate(const dv_instance *inst, const dv_image_config *ic, int force_native, uint64_t *bytes,
                    uint64_t *after)
{
    *bytes = *after = 0;
    dv_error ignored;
    dv_error_clear(&ignored);
    dv_image_limits lim;
    dv_image_limits_default(&lim);
    const char *ts = dv_instance_transfer_syntax(inst);
    dv_ts_family fam = dv_ts_family_of(ts);
    dv_pixel_attrs pa;
    if (read_attrs(inst, &lim, fam, &pa, &ignored) != 0)
        return -1; /* the stage fails on the same check before it decodes anything */
    size_t cap = pa.float_bits ? (size_t)pa.native_frame_bytes : dv_image_frame_capacity(&pa, fam, &lim, &ignored);
    if (!cap)
        return -1;
    uint64_t samples = (uint64_t)pa.rows * pa.columns * pa.samples_per_pixel; /* each < 2^16: no overflow */
    uint64_t frame = cap + samples * (fam == DV_TSF_J2K ? SAMPLE_COST_J2K : SAMPLE_COST);
    /* The pixel data read in: a native value whole; encapsulated frames at most the source's size */
    const dv_elem *pd = top_pixels(inst);
    uint64_t in = dv_ts_family_encapsulated(fam)                     ? inst->src->size
                  : pd && pd->length != DV_UNDEFINED_LENGTH ? pd->length
                                                            : 0;
    /* The redacted pixel data, all frames (a re-encoded frame may come out a little larger than native: 1/8;
     * kept encapsulated, larger than it came in by as much, and an item header and a codec's headers a frame) */
    uint64_t out = pa.native_frame_bytes * pa.number_of_frames;
    out += out / 8;
    uint64_t encoded = in + in / 8 + (uint64_t)pa.number_of_frames * 4096u;
    if (!force_native && kept_encapsulated(output_kind(ts, fam, &pa)) && encoded < out)
        out = encoded;
    uint64_t total = frame + out + in, kept = out + in;
    /* Overlays kept by name are searched after the image, each as 8-bit frames beside its plane */
    for (const dv_elem *e = inst->ds.first; e; e = e->next) {
        uint32_t rel = e->tag - 0x60000000u;
        if (rel < 0x00200000u && !(rel & 0x00010000u) && (rel & 0xFFFFu) == OVERLAY_DATA) {
            uint16_t group = (uint16_t)(e->tag >> 16), r = 0, c = 0;
            (void)dv_ds_get_u16(inst, &inst->ds, OVERLAY_ELEM(group, OVERLAY_ROWS), &r);
            (void)dv_ds_get_u16(inst, &inst->ds, OVERLAY_ELEM(group, OVERLAY_COLUMNS), &c);
            total += e->length + (uint64_t)r * c * (1 + SAMPLE_COST);
            kept += e->length;
        }
    }
    *bytes = total + total / 4 + SLACK_FIXED + (dv_image_config_needs_ocr(ic) ? OCR_COST : 0);
    *after = kept + kept / 4;
    return 0;
}

int dv_pixel_stage_estimate(const dv_instance *inst, const dv_image_config *ic, uint64_t *bytes, uint64_t *after)
{
    return estimate(inst, ic, 0, bytes, after); /* charged by what the output kind keeps */
}

/* A JPEG Baseline output that goes native after all (the stage's two ways there): the native estimate asked
 * for before the native pixel data is made (dv_pixel_env.regrant). 0, or -1 with err. */
static int regrant_native(stage *s, const dv_image_config *ic, dv_error *err)
{
    if (!s->env->regrant)
        return 0;
    uint64_t bytes = 0, after = 0;
    if (estimate(s->inst, ic, 1, &bytes, &after) != 0)
        return 0; /* the attributes were read before: not reached */
    return s->env->regrant(s->env->regrant_user, bytes, after, err);
}

int dv_pixel_stage_run(dv_pixel_worker *w, const dv_image_config *ic, dv_instance *inst, const dv_pixel_env *env,
                       dv_result *res, dv_error *err)
{
    int rc = stage_run(w, ic, inst, env, res, err);
    if (worker_holds_much(w))
        worker_trim(w);
    if (rc == 0)
        return 0;
    /* Say which stage failed; the codec's own text (sizes, markers, frame numbers) follows. */
    char msg[DV_ERROR_MESSAGE_MAX];
    snprintf(msg, sizeof msg, "%s", err->message);
    return dv_fail(err, err->code == DV_OK ? DV_ERR_INVALID : err->code, "pixels: %s", msg);
}
