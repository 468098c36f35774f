/* What the pixel stage's files share (pixel_stage.c runs the stage; pixel_read.c reads the boxes the sensitive
 * modes classify): the per-worker scratch and one instance's stage state. Internal to the engine. */
#ifndef DV_ENGINE_PIXEL_STAGE_INTERNAL_H
#define DV_ENGINE_PIXEL_STAGE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "engine/dv_pixel_stage.h"
#include "engine/dv_pixel_classify.h"
#include "engine/pixel_memo.h"

struct dv_pixel_worker {
    dv_image_ctx *img;
    dv_textdetect *td;  /* made on first use of the real detector */
    dv_textdetect *tdc[3]; /* colour frames: the detector of each channel's view (channel_views) */
    dv_gray8 planes[4]; /* colour frames: the R, G, B views and the chroma (dv_gray8_planes) */
    dv_gray8 crop;      /* colour frames: the window of a channel's view searched (channel_window) */
    dv_box tdc_win[3];  /* the window each channel's detector searched last */
    dv_boxes seen;      /* colour frames: the lines found on this frame by the views searched so far */
    dv_boxes extra;     /* colour frames: the lines one channel's view adds */
    uint8_t *unused;    /* frame i's encoded bytes carry bits outside the stored ones (dv_frame.had_unused_bits) */
    size_t unused_cap;
    dv_ocr *ocr;        /* the sensitive modes: one Tesseract model per worker, loaded on first need */
    dv_pixclass *pc;    /* the sensitive modes: the box classifier's scratch */
    dv_pixel_memo *memo;/* the sensitive modes: this instance's readings by crop (pixel_memo.h) */
    dv_pixel_stats stats; /* counters since the worker was made (the detector's are read from td) */
    dv_boxes lines;     /* one frame's detected lines before classification */
    uint8_t *verdicts;  /* the sensitive modes: lines.v[i]'s dv_pixel_verdict */
    size_t verdicts_cap;
    dv_boxes parts;     /* the sensitive modes: the lines of blocks to cover in place of the whole block */
    size_t *part_of;    /* line i's parts are parts.v[part_of[i] .. part_of[i + 1]) (none: the whole box) */
    size_t part_of_cap;
    dv_gray8 gray;
    dv_boxes boxes;     /* one frame's boxes */
    uint8_t *buf;       /* decoded frame */
    size_t buf_cap;
    uint8_t *before;    /* the observer's copy of a frame before painting */
    size_t before_cap;
    dv_box *all;        /* every frame's boxes, frame after frame (pass 1 -> pass 2) */
    size_t nall, all_cap;
    size_t *start;      /* frame i's boxes are all[start[i] .. start[i + 1]) */
    size_t start_cap;
    dv_boxes sens;      /* the sensitive modes: distinct boxes of lines read SENSITIVE on some frame of the
                           instance (spread_sensitive) */
    dv_boxes covered;   /* the sensitive modes: lines covered on an earlier frame of the instance (covered_before) */
};

typedef struct stage {
    dv_pixel_worker *w;
    dv_instance *inst;
    const dv_pixel_env *env;
    const char *ts;
    dv_ts_family fam;
    dv_pixel_attrs pa;
    dv_frames *frames;
    dv_palette pal;
    int has_pal;
    dv_frame frame;          /* w->buf, geometry of the last decode */
    int64_t decoded;         /* index of the frame held unpainted in frame, -1 when none */
    const char *sop_uid;
    uint32_t frame_ms;
    const dv_pixel_policy *pol; /* NULL: REDACT_ALL_TEXT (every box) */
    const struct plane *plane;  /* pass 1 searches this overlay plane's frames (search_overlays); NULL: the image's */
} stage;

/* --- pixel_stage.c --- */
/* The monotonic clock in milliseconds (frame time bounds). */
uint64_t dv_px_now_ms(void);
/* Make *p (elem-byte entries, *cap allocated) hold need entries; 0, or -1 (err set: limit, out of memory) with
 * *p and *cap as they were. */
int dv_px_grow(void **p, size_t *cap, size_t need, size_t elem, dv_error *err);

/* --- pixel_read.c: the sensitive modes --- */
/* Read each line detected on the frame (w->gray, w->lines) and keep in w->boxes those the classifier covers;
 * t0: the frame's start (its time bound). 0, or -1 (err set). */
int dv_px_classify(stage *s, uint64_t t0, dv_error *err);
/* Cover on every frame the lines read SENSITIVE with confidence on some frame of the instance. 0, or -1. */
int dv_px_spread_sensitive(stage *s, dv_error *err);

#endif
