/* The pixel stage (issue 11): burned-in text redaction of an applied instance, between apply and write
 * (run.c process()). Internal.
 *
 * Per frame: decode -> 8-bit view -> text-region detection -> [sensitive modes: OCR + decision] -> paint
 * the boxes (redact.c) -> re-encode per the output policy of docs/pixels.md. Everything a worker thread
 * reuses (image context with its decode counter, detector scratch, OCR model, frame buffers) is in a
 * dv_pixel_worker the run pools like its text workers; nothing is static. Fail closed: any frame that
 * cannot be decoded or checked fails the instance (-1 with err), which is then never written. */
#ifndef DV_PIXEL_STAGE_H
#define DV_PIXEL_STAGE_H

#include <stdint.h>
#include "dicomveil/dv_run.h"
#include "engine/dv_plan.h"
#include "image/dv_redact.h"

/* The ImageConfig the top-level PixelData of inst (after apply) gets, or NULL when the stage has nothing to
 * do: the plan cleans no pixels, PixelData is absent or empty (removed by the plan), an earlier action
 * decided PixelData otherwise, or the config is a no-op. The first action naming PixelData wins; otherwise
 * options.cleanImage / legacy `image` applies (as an action appended after the config's own would).
 * [test_pixel_stage: test_config_for] */
const dv_image_config *dv_pixel_config_for(const dv_plan *plan, const dv_instance *inst);

/* Test seam: replaces text-region detection for one frame (the sensitive modes still read and classify
 * each box it returns). Appends the boxes to
 * paint to out; g is the frame's 8-bit view. Return 0 or -1 with err (the stage then fails closed). */
typedef int (*dv_pixel_find_fn)(void *user, const dv_frame *f, const dv_gray8 *g, uint32_t frame_index,
                                dv_boxes *out, dv_error *err);

/* What the run gives the stage for one instance. */
typedef struct dv_pixel_env {
    dv_frame_observer_fn observer; /* NULL: none */
    void *observer_user;
    dv_pixel_find_fn find;         /* NULL: the real detector (textdetect.c) */
    void *find_user;
    uint32_t frame_ms;             /* time bound per frame (decode + detection + OCR); 0: the default */
    const dv_plan *plan;           /* the sensitive modes: the detectors and [CTX] phrases */
    dv_text_worker *tw;            /* the sensitive modes: begun on the ORIGINAL instance (deny-list) */
    void *instance_arg;            /* the observer event's instance_arg (dv_run_instance's out_arg) */
    int boxes_only;                /* the observer wants boxes only (dv_run_set_box_observer): no copies */
    int memo_off;                  /* tests: 1 read every box of every frame (no per-instance memo); 2 the
                                      exact-crop memo only (no ink key); 0 both */
    /* An output estimated at its encapsulated size that must go native after all (JPEG Baseline: a stream the
     * DCT path refuses, bits outside the stored ones) asks for the native estimate (bytes; after, as
     * dv_pixel_stage_estimate's) before it makes the native pixel data: 0 granted, or -1 with err (the stage
     * fails with it). NULL: no pixel budget. */
    int (*regrant)(void *user, uint64_t bytes, uint64_t after, dv_error *err);
    void *regrant_user;
} dv_pixel_env;

#define DV_PIXEL_FRAME_MS_DEFAULT 30000u /* generous: a guard against pathological frames, not a budget */

typedef struct dv_pixel_worker dv_pixel_worker;
/* NULL only when out of memory. The OCR model is loaded on first need (sensitive modes). */
dv_pixel_worker *dv_pixel_worker_new(void);
void dv_pixel_worker_free(dv_pixel_worker *w);
/* Decoder calls this worker made so far (dv_image_ctx_decode_calls of its context). */
uint64_t dv_pixel_worker_decode_calls(const dv_pixel_worker *w);

/* What the workers did, for tests and the benchmark (score_textdetect): counters since the worker was made. */
typedef enum dv_pixel_stat {
    DV_PIXEL_OCR_READS,     /* OCR readings made (dv_ocr_read_prep calls) */
    DV_PIXEL_OCR_REUSED,    /* readings taken from the instance's memo: the same pixels read before (pixel_memo.h) */
    DV_PIXEL_OCR_LOAD_US,   /* CPU microseconds spent loading the OCR model (once per worker) */
    DV_PIXEL_SEARCH_FULL,   /* frames the detector searched in full (dv_textdetect_stats) */
    DV_PIXEL_SEARCH_PARTIAL,/* frames where only the changed part was searched again (cine) */
    DV_PIXEL_SEARCH_REUSED, /* frames whose view was unchanged: the previous frame's lines reused */
    DV_PIXEL_BOX_INK_REUSED,/* box decisions taken from the memo by the box's ink (pixel_memo.h "ink key") */
    DV_PIXEL_BOX_COVER_REUSED, /* lines covered unread: inside a line covered on an earlier frame */
    DV_PIXEL_STAT_COUNT
} dv_pixel_stat;
typedef struct dv_pixel_stats {
    uint64_t v[DV_PIXEL_STAT_COUNT];
} dv_pixel_stats;
void dv_pixel_worker_stats(const dv_pixel_worker *w, dv_pixel_stats *out);

/* What the stage may hold for inst at its peak, estimated from its pixel attributes before anything is decoded
 * (dv_pixel_budget.h): the decoded frame, a measured cost per sample for the views, the detector and the codec,
 * the pixel data in and the redacted pixel data out (native, or about the size it came in where it stays
 * encapsulated: dv_pixel_env.regrant covers the way out of that), and the overlays kept by name. *after: the
 * part the instance still holds once the stage is done (the pixel data in and out, the overlays, +1/4) until it
 * is written and freed: the frame-sized buffers are freed or trimmed by then (dv_pixel_stage_run), so the rest of
 * the grant goes back before the output is written. 0, or -1 (both 0) when the attributes are unusable: the stage then fails on them
 * before decoding. */
int dv_pixel_stage_estimate(const dv_instance *inst, const dv_image_config *ic, uint64_t *bytes, uint64_t *after);

/* Run the stage over inst with ImageConfig ic (from dv_pixel_config_for). Fills res's pixel fields. After the
 * image, every non-empty OverlayData (60xx,3000) left in inst (those a keepTag kept: run after
 * dv_pixel_drop_icons_and_overlays) is searched the same way and its bits inside the boxes found are cleared
 * (docs/decisions.md "Overlays go with a redacted image"). 0, or -1 with err: DV_ERR_MALFORMED /
 * DV_ERR_UNSUPPORTED (pixels that cannot be decoded, an overlay plane that does not say where its bits are),
 * DV_ERR_LIMIT (a frame over its time bound or a size cap), DV_ERR_NOMEM; the message names the frame or the
 * tag, never a value. */
int dv_pixel_stage_run(dv_pixel_worker *w, const dv_image_config *ic, dv_instance *inst, const dv_pixel_env *env,
                       dv_result *res, dv_error *err);

/* PixelData elements nested in sequences: not redacted, as the API says ("Doesn't apply to elements nested in a
 * sequence, which revert to Keep"), counted for the report (an icon of a redacted image is removed before the
 * count: dv_pixel_drop_icons_and_overlays). */
uint32_t dv_pixel_count_nested(const dv_instance *inst);
/* What shows a redacted image's text elsewhere, removed from inst unless an action of plan keeps it by name:
 * every IconImageSequence (0088,0200), at any depth, and every overlay group 60xx; for an instance whose
 * top-level pixels the stage redacts (docs/decisions.md "An icon goes with a redacted image", "Overlays go
 * with a redacted image"). Returns how many icons and overlay groups were removed. */
uint32_t dv_pixel_drop_icons_and_overlays(dv_instance *inst, const dv_plan *plan);

/* --- run.c: test access to the run's pixel side (tests/unit/test_pixel_stage.c) --- */
/* Decoder calls made by every pixel worker of the run so far. */
uint64_t dv_run_pixel_decode_calls(const dv_run *run);
/* Replace detection (find NULL: the real detector) and the per-frame time bound (0: default). */
void dv_run_set_pixel_test_hooks(dv_run *run, dv_pixel_find_fn find, void *user, uint32_t frame_ms);
/* The sum of every pixel worker's counters over the instances of the run so far. */
void dv_run_pixel_stats(const dv_run *run, dv_pixel_stats *out);
/* on: 1 (default) the crop and ink memos, 0 neither (every box of every frame read), 2 the crop memo only. */
void dv_run_set_pixel_memo(dv_run *run, int on);

#endif
