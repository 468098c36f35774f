/* dicomveil: one de-identification run, and the one orchestration path every front end uses.
 *
 * dv_run_instance is read -> apply -> [later stages] -> write for one source. The output is not a fixed
 * sink: its name usually depends on the NEW UIDs, so the caller gives an opener (dv_output) that is called
 * once they are known, and commit/abort callbacks that make the written instance visible or discard it (the
 * CLI: an O_TMPFILE file linked to DST/<study>/<series>/<sop>.dcm; a server: a store; a test: memory).
 *
 * A dv_run holds everything per run: the plan, key and limits it uses, its counters, progress and cancel
 * callbacks. Nothing is process-wide, so one process can run any number of runs at once (the server) and
 * report them separately; a run itself is used by any number of threads at once (it is the workers' shared
 * state). Threads and the input list belong to the front end (CLI pool, server operation, MPI rank). */
#ifndef DICOMVEIL_DV_RUN_H
#define DICOMVEIL_DV_RUN_H

#include <stddef.h>
#include <stdint.h>
#include "dv_engine.h"
#include "dv_error.h"
#include "dv_instance.h"
#include "dv_io.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dv_run dv_run;

typedef enum dv_outcome {
    DV_OUTCOME_OK = 0,    /* written and committed */
    DV_OUTCOME_FAILED,    /* err says why (its code is never DV_OK) */
    DV_OUTCOME_SKIPPED,   /* not an instance (res->skipped says why): not a failure */
    DV_OUTCOME_DUPLICATE, /* the output said this instance's output already exists (nothing new written) */
    DV_OUTCOME_CANCELLED, /* the run was cancelled before this instance was committed */
    DV_OUTCOME_COUNT
} dv_outcome;
/* "ok", "failed", "skipped", "duplicate", "cancelled". */
const char *dv_outcome_name(dv_outcome o);

/* The output side of dv_run_instance. arg is the caller's per-instance state (dv_run_instance passes it
 * through), so one dv_output serves every thread. */
enum { DV_OPEN_WRITE = 0, DV_OPEN_DUPLICATE = 1 };
enum { DV_COMMIT_WRITTEN = 0, DV_COMMIT_DUPLICATE = 1, DV_COMMIT_AGAIN = 2 };
typedef struct dv_output {
    /* The new UIDs are in res. Prepare the destination and set *sink: DV_OPEN_WRITE; or DV_OPEN_DUPLICATE
     * (nothing is written, the instance counts as a duplicate); or -1 with err set. */
    int (*open)(void *arg, const dv_result *res, dv_sink *sink, dv_error *err);
    /* The whole instance reached the sink: make it visible. DV_COMMIT_WRITTEN; DV_COMMIT_DUPLICATE (it is
     * discarded, another holds the name); DV_COMMIT_AGAIN (discarded, but this output cannot commit that kind
     * of sink: open and write once more; asked at most once per instance); or -1 with err set. commit
     * cleans up after itself on every return. */
    int (*commit)(void *arg, const dv_result *res, dv_error *err);
    /* Writing failed or the run was cancelled after open: discard what reached the sink. */
    void (*abort)(void *arg);
} dv_output;

/* A run over plan and key (both must outlive it), with limits lim (NULL: defaults; lim->budget, when set,
 * must allow dv_limits_memory_max(lim), else DV_ERR_USAGE). Free with dv_run_free. */
dv_run *dv_run_new(const dv_plan *plan, const dv_key *key, const dv_limits *lim, dv_error *err);
void dv_run_free(dv_run *run);

/* Fill the re-identification fields of dv_result (original UIDs, PatientID): off by default, because they
 * are PHI; turn on only for a crosswalk the data's owner keeps (CLI --mapping). Call before any instance. */
void dv_run_want_identifiers(dv_run *run, int on);

/* Called after every instance's outcome is counted, on the thread that ran it (so it must be thread-safe);
 * it must not call dv_run_instance. */
typedef void (*dv_progress_fn)(const dv_run *run, dv_outcome outcome, void *user);
void dv_run_set_progress(dv_run *run, dv_progress_fn fn, void *user);
/* Cancellation: dv_run_cancel (any thread, async-signal-safe) or a callback returning non-zero, checked
 * before each instance starts and again before its output is opened. Instances already committed stay. */
typedef int (*dv_cancel_fn)(void *user);
void dv_run_set_cancel(dv_run *run, dv_cancel_fn fn, void *user);
void dv_run_cancel(dv_run *run);
int dv_run_cancelled(const dv_run *run);

/* Per-frame observer of the pixel stage (issue 11 item 5: `deidentify --preview`). The library does no I/O:
 * a front end that wants before/after pictures of a run sets an observer and writes them itself.
 *
 * Called on the worker thread (so it must be thread-safe) once for EVERY frame the pixel stage examined
 * (nboxes 0 when nothing was found there: a reviewer may want to see those too), after the frame was
 * redacted and before the instance is written. before/after point at decoded frames in the canonical layout
 * of src/image/dv_image.h (struct dv_frame: interleaved samples, one container per sample); after is
 * before with the boxes painted (the same pointer when nboxes is 0); both are NULL for a frame of float pixel
 * data (FloatPixelData, DoubleFloatPixelData: no integer layout to show), whose boxes still come. palette is
 * the instance's PALETTE COLOR lookup table (struct dv_palette, src/image/dv_image.h) or NULL. Everything is
 * valid only during the call.
 * sop_uid is the OUTPUT SOPInstanceUID (a de-identified name for files), never an input value. The event
 * is extensible like dv_result: fields are only appended, struct_size says how many the library filled. */
struct dv_frame;
struct dv_palette;
typedef struct dv_frame_box {
    uint32_t x, y, w, h; /* columns [x, x + w), rows [y, y + h) of the frame */
} dv_frame_box;
typedef struct dv_frame_event {
    uint32_t struct_size;
    uint32_t frame_index;          /* 0-based */
    uint32_t frame_count;          /* NumberOfFrames of the instance */
    const char *sop_uid;           /* output SOPInstanceUID ("" when absent) */
    const struct dv_frame *before; /* decoded, before redaction */
    const struct dv_frame *after;  /* decoded, after redaction */
    const struct dv_palette *palette;
    const dv_frame_box *boxes;     /* the boxes painted on this frame */
    size_t nboxes;
    /* Appended: the out_arg the caller gave dv_run_instance for this instance, so an observer shared by many
     * threads files each frame with its instance without a lookup. */
    void *instance_arg;
} dv_frame_event;
typedef void (*dv_frame_observer_fn)(const dv_frame_event *ev, void *user);
/* Set (fn NULL: remove) the observer. Call before any instance. Costs nothing when unset; when set, each
 * examined frame is copied once before painting so before and after can both be shown. */
void dv_run_set_frame_observer(dv_run *run, dv_frame_observer_fn fn, void *user);
/* The same events with before and after NULL: for a front end that keeps only the boxes (the server records
 * them for its console's review, docs/console.md "Redaction boxes"), no frame is copied or decoded again for
 * the observer, so the stage costs what it costs without one. Replaces any observer set before (fn NULL:
 * none). Call before any instance. [test_pixel_stage: test_box_observer] */
void dv_run_set_box_observer(dv_run *run, dv_frame_observer_fn fn, void *user);
/* The pixel stage's time bound per frame (decode + text detection + OCR), in ms (monotonic clock)
 * (0: the default, 30000). A frame over it fails its instance with DV_ERR_LIMIT (fail closed: not written).
 * Call before any instance. The CLI's --pixel-frame-ms. [integration.test_cli_pixel_frame_ms] */
#define DV_RUN_PIXEL_FRAME_MS_MAX 3600000u
void dv_run_set_pixel_frame_ms(dv_run *run, uint32_t ms);

/* De-identify one source: read it, skip it when it is not an instance, apply the plan, [text and pixel
 * stages, once they exist], open the output with the new UIDs, write, commit. Counts the outcome in the run
 * and returns it; err is set for FAILED (and explains SKIPPED); res (NULL, or initialised with
 * dv_result_init) receives the new UIDs and, when asked for, the identifiers. The source must stay valid
 * during the call. Thread-safe for one run from many threads. */
dv_outcome dv_run_instance(dv_run *run, const dv_source *src, const dv_output *out, void *out_arg,
                           dv_result *res, dv_error *err);

/* ---- Inspection (issue 6 item 5; docs/text.md "inspect"): what the text stage WOULD transform ---- */

/* One finding the text stage transforms, as dv_run_inspect reports it. Every pointer is valid only during the
 * callback. The element: tag at the end of a path of depth sequence items (seq_tags[i], items[i]: the
 * sequence's tag and the item's index from 0, outermost first; depth 0 at the top level). */
typedef struct dv_text_finding_info {
    uint32_t depth;
    const uint32_t *seq_tags;
    const uint32_t *items;
    uint32_t tag;
    char vr[3];                 /* "PN", ... */
    const char *info_type;      /* "PERSON_NAME", ..., "CTX" (Clean Descriptors) */
    const char *detector;       /* "pattern", "lexicon", "denylist", "context", or "vr": a DA/DT/AS value is
                                   one DATE/AGE by its VR, whatever the detectors say */
    const char *transformation; /* "replaceWithInfoTypeConfig", "redactConfig", "characterMaskConfig",
                                   "dateShiftConfig", "cryptoHashConfig", or "empty" (a DA/DT/AS value that
                                   cannot be kept valid otherwise is emptied) */
    uint32_t start, end;        /* code points [start, end) of the value as decoded (trailing padding dropped) */
    const char *text;           /* the span's UTF-8, text_len bytes. THIS IS PHI: show it only where the data
                                   may be seen (the CLI's --show-values) */
    size_t text_len;
} dv_text_finding_info;
typedef void (*dv_text_observer_fn)(void *user, const dv_text_finding_info *f);

/* 1 when the run's plan can clean text at all (cleanTextTag, DEIDENTIFY_TAG_CONTENTS, cleanDescriptors). */
int dv_run_cleans_text(const dv_run *run);

/* Inspect one source: the same read, skip rules and plan as dv_run_instance, applied in memory only: nothing
 * is opened for output or written, the source is only read. fn (with user; may be NULL) is called, on the
 * calling thread, for every finding the text stage would transform, in dataset order. Counts the outcome in
 * the run (OK, SKIPPED or FAILED) and returns it; res (NULL, or initialised) receives the findings' counts by
 * infoType (res->text_findings); sop_class (NULL, or DV_UID_MAX + 1 bytes) the input's SOPClassUID ("" when
 * absent or not a UID: such a value may hold anything), which identifies the kind of instance without PHI. Thread-safe like dv_run_instance. */
dv_outcome dv_run_inspect(dv_run *run, const dv_source *src, dv_text_observer_fn fn, void *user, dv_result *res,
                          char *sop_class, dv_error *err);

/* Counters (consistent per counter, read at any time). */
uint64_t dv_run_count(const dv_run *run, dv_outcome o);
uint64_t dv_run_done(const dv_run *run); /* sum of every outcome */
uint64_t dv_run_bytes_in(const dv_run *run);
/* A front end that learns later that an instance counted as `from` is really `to` (the CLI: a lower input
 * index took over a higher one's output name, which makes that one a duplicate) moves it between counters. */
void dv_run_recount(dv_run *run, dv_outcome from, dv_outcome to);
/* A front end that fails an input before it has a source for it (the CLI: the file cannot be opened) counts
 * that outcome here, so the run's counters cover every input. The progress callback is called too. */
void dv_run_count_outcome(dv_run *run, dv_outcome o);
/* A front end that gathers the outcomes of other processes into one run (deidentify --mpi: rank 0) adds the
 * input bytes they read, so dv_run_bytes_in covers the whole run. */
void dv_run_count_bytes_in(dv_run *run, uint64_t bytes);
const dv_limits *dv_run_limits(const dv_run *run);

#ifdef __cplusplus
}
#endif
#endif
