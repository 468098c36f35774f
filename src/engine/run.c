/* The one orchestration path (issue 5 item 1): read -> skip what is not an instance -> apply -> [text and
 * pixel stages] -> open the output with the new UIDs -> write -> commit. The CLI, dv_deidentify, and later the
 * server's operations and the MPI ranks all come through process(); none has a copy of it.
 *
 * Per-run state (issue 5 item 2) lives in dv_run: counters, callbacks, limits; nothing here is static, so
 * runs are independent. [tests/unit/test_run.c: test_two_runs_at_once, test_cancel, test_progress]
 *
 * Performance: nothing is copied; the identifiers for a crosswalk are read only when asked for; the counters
 * are one relaxed atomic add per instance. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "dicomveil/dicomveil.h"
#include "dicom/dv_limits_internal.h"
#include "dicom/dv_uid_syntax.h"
#include "engine/dv_plan.h"
#include "engine/dv_pixel_stage.h"
#include "engine/dv_pixel_container.h"
#include "engine/dv_result_internal.h"
#include "engine/match_memo.h"
#include "engine/uid_memo.h"
#include "dict/dv_tags.h"
#include "util/dv_grow.h"

typedef struct worker_pool {
    pthread_mutex_t mu;
    void **free;
    size_t n, cap;
    int ok;
} worker_pool;

struct dv_run {
    const dv_plan *plan;
    const dv_key *key;
    dv_limits limits;
    int want_identifiers;
    atomic_uint_least64_t count[DV_OUTCOME_COUNT];
    atomic_uint_least64_t bytes_in;
    atomic_int cancelled;
    dv_cancel_fn cancel_fn;
    void *cancel_user;
    dv_progress_fn progress_fn;
    void *progress_user;
    dv_frame_observer_fn frame_fn; /* pixel stage observer (--preview), NULL when unset */
    void *frame_user;
    int frame_boxes_only;          /* set by dv_run_set_box_observer (the server's review boxes) */
    /* Stage workers (text: charset converters, buffers; pixels: image context, detector, OCR model, frame
     * buffers): one per concurrent worker thread, taken for an instance and given back, so nothing
     * per-worker is static and nothing is rebuilt per instance. */
    worker_pool text_pool;
    worker_pool pixel_pool;
    worker_pool uid_pool; /* UID memos (uid_memo.h): filled with this run's key only */
    worker_pool match_pool; /* decision memos (match_memo.h): this run's plan only */
    atomic_uint_least64_t pixel_decodes; /* decoder calls of every pixel worker (dv_run_pixel_decode_calls) */
    dv_pixel_find_fn pixel_find;         /* test seam (dv_run_set_pixel_test_hooks) */
    void *pixel_find_user;
    uint32_t pixel_frame_ms;
    int pixel_memo_off;                  /* test switch (dv_run_set_pixel_memo) */
    atomic_uint_least64_t pixel_stats[DV_PIXEL_STAT_COUNT]; /* every pixel worker's counters (dv_run_pixel_stats) */
};

/* A worker for one instance: a free one of the pool, or a new one (NULL when out of memory). A pool whose
 * mutex could not be made (or a stack run's zeroed pool) makes one per instance. */
static void *pool_take(worker_pool *p, void *(*make)(void))
{
    void *w = NULL;
    if (p->ok) {
        pthread_mutex_lock(&p->mu);
        if (p->n)
            w = p->free[--p->n];
        pthread_mutex_unlock(&p->mu);
    }
    return w ? w : make();
}

static void pool_give(worker_pool *p, void *w, void (*destroy)(void *))
{
    if (!w)
        return;
    if (p->ok) {
        pthread_mutex_lock(&p->mu);
        (void)dv_grow(&p->free, &p->cap, p->n + 1, sizeof *p->free, 8); /* without room, w is destroyed */
        if (p->n < p->cap) {
            p->free[p->n++] = w;
            w = NULL;
        }
        pthread_mutex_unlock(&p->mu);
    }
    if (w)
        destroy(w);
}

static void pool_init(worker_pool *p)
{
    p->ok = pthread_mutex_init(&p->mu, NULL) == 0;
}

static void pool_free(worker_pool *p, void (*destroy)(void *))
{
    for (size_t i = 0; i < p->n; i++)
        destroy(p->free[i]);
    free(p->free);
    if (p->ok)
        pthread_mutex_destroy(&p->mu);
}

static void *text_make(void) { return dv_text_worker_new(); }
static void text_destroy(void *w) { dv_text_worker_free(w); }
static void *pixel_make(void) { return dv_pixel_worker_new(); }
static void pixel_destroy(void *w) { dv_pixel_worker_free(w); }
static void *uid_make(void) { return dv_uid_memo_new(); }
static void uid_destroy(void *m) { dv_uid_memo_free(m); }
static void *match_make(void) { return dv_match_memo_new(); }
static void match_destroy(void *m) { dv_match_memo_free(m); }

const char *dv_outcome_name(dv_outcome o)
{
    switch (o) {
    case DV_OUTCOME_OK: return "ok";
    case DV_OUTCOME_FAILED: return "failed";
    case DV_OUTCOME_SKIPPED: return "skipped";
    case DV_OUTCOME_DUPLICATE: return "duplicate";
    case DV_OUTCOME_CANCELLED: return "cancelled";
    case DV_OUTCOME_COUNT: break;
    }
    return "unknown";
}

dv_run *dv_run_new(const dv_plan *plan, const dv_key *key, const dv_limits *lim, dv_error *err)
{
    if (!plan || !key) {
        dv_fail(err, DV_ERR_USAGE, "dv_run_new: plan and key are required");
        return NULL;
    }
    dv_run *run = calloc(1, sizeof *run);
    if (!run) {
        dv_fail(err, DV_ERR_NOMEM, "out of memory");
        return NULL;
    }
    run->plan = plan;
    run->key = key;
    if (dv_limits_import(&run->limits, lim, err) != 0) {
        free(run);
        return NULL;
    }
    pool_init(&run->text_pool);
    pool_init(&run->pixel_pool);
    pool_init(&run->uid_pool);
    pool_init(&run->match_pool);
    /* Refused here rather than failing instances later: an instance allowed more than the budget's per-instance
     * maximum would fail with "limit" only because of how the budget was sized. */
    if (run->limits.budget && dv_limits_memory_max(&run->limits) > dv_budget_instance_max(run->limits.budget)) {
        dv_fail(err, DV_ERR_USAGE, "the limits allow an instance %llu bytes, more than the memory budget's "
                "per-instance maximum (%llu)", (unsigned long long)dv_limits_memory_max(&run->limits),
                (unsigned long long)dv_budget_instance_max(run->limits.budget));
        free(run);
        return NULL;
    }
    return run;
}

void dv_run_free(dv_run *run)
{
    if (!run)
        return;
    pool_free(&run->text_pool, text_destroy);
    pool_free(&run->pixel_pool, pixel_destroy);
    pool_free(&run->uid_pool, uid_destroy);
    pool_free(&run->match_pool, match_destroy);
    free(run);
}

void dv_run_want_identifiers(dv_run *run, int on)
{
    run->want_identifiers = on != 0;
}

void dv_run_set_progress(dv_run *run, dv_progress_fn fn, void *user)
{
    run->progress_fn = fn;
    run->progress_user = user;
}

void dv_run_set_frame_observer(dv_run *run, dv_frame_observer_fn fn, void *user)
{
    run->frame_fn = fn;
    run->frame_user = user;
    run->frame_boxes_only = 0;
}

void dv_run_set_box_observer(dv_run *run, dv_frame_observer_fn fn, void *user)
{
    run->frame_fn = fn;
    run->frame_user = user;
    run->frame_boxes_only = 1;
}

void dv_run_set_cancel(dv_run *run, dv_cancel_fn fn, void *user)
{
    run->cancel_fn = fn;
    run->cancel_user = user;
}

void dv_run_cancel(dv_run *run)
{
    atomic_store(&run->cancelled, 1);
}

int dv_run_cancelled(const dv_run *run)
{
    return atomic_load(&run->cancelled) || (run->cancel_fn && run->cancel_fn(run->cancel_user));
}

uint64_t dv_run_count(const dv_run *run, dv_outcome o)
{
    return o < DV_OUTCOME_COUNT ? atomic_load_explicit(&run->count[o], memory_order_relaxed) : 0;
}

uint64_t dv_run_done(const dv_run *run)
{
    uint64_t n = 0;
    for (int o = 0; o < DV_OUTCOME_COUNT; o++)
        n += dv_run_count(run, (dv_outcome)o);
    return n;
}

uint64_t dv_run_bytes_in(const dv_run *run)
{
    return atomic_load_explicit(&run->bytes_in, memory_order_relaxed);
}

void dv_run_recount(dv_run *run, dv_outcome from, dv_outcome to)
{
    if (from >= DV_OUTCOME_COUNT || to >= DV_OUTCOME_COUNT || from == to)
        return;
    atomic_fetch_add_explicit(&run->count[to], 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&run->count[from], 1, memory_order_relaxed);
}

void dv_run_count_outcome(dv_run *run, dv_outcome o)
{
    if (o >= DV_OUTCOME_COUNT)
        return;
    atomic_fetch_add_explicit(&run->count[o], 1, memory_order_relaxed);
    if (run->progress_fn)
        run->progress_fn(run, o, run->progress_user);
}

void dv_run_count_bytes_in(dv_run *run, uint64_t bytes)
{
    atomic_fetch_add_explicit(&run->bytes_in, bytes, memory_order_relaxed);
}

const dv_limits *dv_run_limits(const dv_run *run)
{
    return &run->limits;
}

/* The top-level SpecificCharacterSet as stored, "" when absent or unreadable (then the default repertoire). */
static void read_charset(const dv_instance *inst, char out[DV_CHARSET_VALUE_MAX + 1])
{
    if (dv_instance_get_string(inst, DV_TAG_SPECIFIC_CHARACTER_SET, out, DV_CHARSET_VALUE_MAX + 1) < 0)
        out[0] = '\0';
}

/* The crosswalk's "before" half: read before dv_apply changes the instance. */
static void read_identifiers(const dv_instance *inst, dv_result *res)
{
    res->has_identifiers = 1;
    if (dv_instance_get_string(inst, DV_TAG_STUDY_INSTANCE_UID, res->orig_study_uid, sizeof res->orig_study_uid) < 0)
        res->orig_study_uid[0] = '\0';
    if (dv_instance_get_string(inst, DV_TAG_SERIES_INSTANCE_UID, res->orig_series_uid, sizeof res->orig_series_uid) < 0)
        res->orig_series_uid[0] = '\0';
    if (dv_instance_get_string(inst, DV_TAG_SOP_INSTANCE_UID, res->orig_sop_uid, sizeof res->orig_sop_uid) < 0)
        res->orig_sop_uid[0] = '\0';
    if (dv_instance_get_string(inst, DV_TAG_PATIENT_ID, res->orig_patient_id, sizeof res->orig_patient_id) < 0) {
        res->orig_patient_id[0] = '\0';
        res->patient_id_changed = -1;
    }
    read_charset(inst, res->orig_charset);
}

/* The "after" half: PatientID is reported only when the config changed it. */
static void read_new_patient_id(const dv_instance *inst, dv_result *res)
{
    if (!res->has_identifiers || res->patient_id_changed < 0)
        return;
    int n = dv_instance_get_string(inst, DV_TAG_PATIENT_ID, res->patient_id, sizeof res->patient_id);
    if (n < 0)
        res->patient_id[0] = '\0'; /* deleted (or made unreadable): a change */
    if (n >= 0 && strcmp(res->patient_id, res->orig_patient_id) == 0) {
        res->orig_patient_id[0] = res->patient_id[0] = '\0'; /* unchanged: no PHI copied needlessly */
        res->patient_id_changed = 0;
    } else {
        res->patient_id_changed = 1;
    }
}

static dv_outcome failed(dv_error *err, dv_code fallback)
{
    if (err->code == DV_OK)
        err->code = fallback;
    return DV_OUTCOME_FAILED;
}

/* Open, write, commit. The instance is not changed, so it can be written a second time when the output asks
 * (DV_COMMIT_AGAIN: e.g. the CLI's file system cannot link an unnamed file and it falls back to a named
 * temporary file). */
static dv_outcome write_output(const dv_run *run, const dv_instance *inst, const dv_output *out, void *arg,
                               const dv_result *res, dv_error *err)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (run && dv_run_cancelled(run))
            return DV_OUTCOME_CANCELLED;
        dv_sink sink;
        memset(&sink, 0, sizeof sink);
        int o = out->open(arg, res, &sink, err);
        if (o == DV_OPEN_DUPLICATE)
            return DV_OUTCOME_DUPLICATE;
        if (o != DV_OPEN_WRITE)
            return failed(err, DV_ERR_IO);
        if (dv_instance_write(inst, &sink, err) != 0) {
            out->abort(arg);
            return failed(err, DV_ERR_IO);
        }
        int c = out->commit(arg, res, err);
        if (c == DV_COMMIT_WRITTEN)
            return DV_OUTCOME_OK;
        if (c == DV_COMMIT_DUPLICATE)
            return DV_OUTCOME_DUPLICATE;
        if (c != DV_COMMIT_AGAIN)
            return failed(err, DV_ERR_IO);
        dv_error_clear(err);
    }
    dv_fail(err, DV_ERR_IO, "the output asked to write the instance again twice");
    return DV_OUTCOME_FAILED;
}

/* dv_run_inspect's part of process(): no output; an observer on the text worker; the SOP Class. */
typedef struct inspect_req {
    dv_text_observer_fn fn;
    void *user;
    char *sop_class;
} inspect_req;


/* The metadata an instance may still draw once its pixel stage starts: the elements the stage and the writer add
 * or replace (the new pixel data's element, BurnedInAnnotation, the transfer syntax, overlays, the container's
 * patches) are a few hundred bytes each; past it the instance fails as limit, whatever else runs. */
#define PIXEL_STAGE_METADATA (256u * 1024u)

/* An instance's pixel grant: what it holds (process() gives it back once the instance is freed) and the part it
 * keeps after the stage (dv_pixel_stage_estimate *after). */
typedef struct pixel_grant {
    dv_run *run;
    uint64_t *held, after;
    int cancelled; /* the run was cancelled while regrant waited */
} pixel_grant;

/* Take need bytes, what (the message's start) saying what would need them when they are over the whole budget. */
static int pixel_take(pixel_grant *g, uint64_t need, uint64_t after, const char *what, dv_error *err)
{
    dv_pixel_budget *b = g->run->limits.pixel_budget;
    if (need > dv_pixel_budget_total(b)) /* before any wait: it would never fit */
        return dv_fail(err, DV_ERR_LIMIT, "%s more memory than the whole pixel memory budget (%llu MiB)", what,
                       (unsigned long long)(dv_pixel_budget_total(b) >> 20));
    if (dv_pixel_budget_take(b, need) != 0)
        return dv_fail(err, DV_ERR_LIMIT, "pixels: the pixel memory budget refused the stage");
    *g->held = need;
    g->after = after;
    return 0;
}

/* dv_pixel_env.regrant: an output estimated encapsulated goes native. The whole grant goes back before the
 * native one is waited for, as a new instance's would be: one that held memory while it waited for more could
 * wait for ever on others doing the same (the frame buffers it still holds meanwhile are one frame's). */
static int pixel_regrant(void *user, uint64_t need, uint64_t after, dv_error *err)
{
    pixel_grant *g = user;
    if (need <= *g->held) {
        g->after = after > g->after ? after : g->after;
        return 0;
    }
    dv_pixel_budget_give(g->run->limits.pixel_budget, *g->held);
    *g->held = 0;
    /* (the stage says "pixels: " before its message) */
    if (pixel_take(g, need, after, "its JPEG stream cannot be redacted in place, and written natively the pixel data "
                   "would need", err) != 0)
        return -1;
    if (dv_run_cancelled(g->run)) {
        g->cancelled = 1;
        return dv_fail(err, DV_ERR_LIMIT, "cancelled while waiting for pixel memory");
    }
    return 0;
}

/* The pixel stage when the plan's ImageConfig for inst redacts; then ov->all_unused is set: the stage examined
 * the pixels, so every bit outside the stored ones is cleared after it (docs/decisions.md "Overlays embedded in
 * pixel data": the detector sees the stored bits only, and text drawn above them was kept). 0, -1 with err, or 1
 * when the run was cancelled while the instance waited for pixel memory. */
static int pixel_stage(dv_run *run, dv_instance *inst, dv_text_worker *tw, void *out_arg, dv_result *res,
                       dv_overlay_planes *ov, uint64_t *pixel_held, dv_error *err)
{
    if (!run->plan->cleans_pixels)
        return 0;
    const dv_image_config *ic = dv_pixel_config_for(run->plan, inst);
    if (ic) /* before the count: an icon of a redacted image goes (dv_pixel_drop_icons_and_overlays) */
        dv_pixel_drop_icons_and_overlays(inst, run->plan);
    if (DV_RESULT_HAS(res, pixel_nested_kept))
        res->pixel_nested_kept = dv_pixel_count_nested(inst);
    if (!ic)
        return 0;
    ov->all_unused = 1;
    pixel_grant g = {run, pixel_held, 0, 0};
    if (run->limits.pixel_budget) {
        uint64_t need = 0, after = 0;
        (void)dv_pixel_stage_estimate(inst, ic, &need, &after);
        /* Its metadata for the rest of the instance first, so that once it holds pixel memory it waits for nothing
         * (dv_pixel_budget.h: no deadlock between the two budgets); given back by process() once it is freed. */
        if (need <= dv_pixel_budget_total(run->limits.pixel_budget))
            dv_lease_cap_and_hold(&inst->arena.lease, PIXEL_STAGE_METADATA);
        if (pixel_take(&g, need, after, "pixels: the pixel stage would need", err) != 0)
            return -1;
        if (dv_run_cancelled(run)) /* cancelled while it waited its turn: the stage may take minutes */
            return 1;
    }
    dv_pixel_worker *pw = pool_take(&run->pixel_pool, pixel_make);
    if (!pw)
        return dv_fail(err, DV_ERR_NOMEM, "out of memory (pixel worker)");
    uint64_t before = dv_pixel_worker_decode_calls(pw);
    dv_pixel_stats st0, st1;
    dv_pixel_worker_stats(pw, &st0);
    dv_pixel_env env = {run->frame_fn, run->frame_user, run->pixel_find, run->pixel_find_user, run->pixel_frame_ms,
                        run->plan, tw, out_arg, run->frame_boxes_only, run->pixel_memo_off,
                        run->limits.pixel_budget ? pixel_regrant : NULL, &g};
    int rc = dv_pixel_stage_run(pw, ic, inst, &env, res, err);
    atomic_fetch_add_explicit(&run->pixel_decodes, dv_pixel_worker_decode_calls(pw) - before, memory_order_relaxed);
    dv_pixel_worker_stats(pw, &st1);
    for (int i = 0; i < DV_PIXEL_STAT_COUNT; i++)
        atomic_fetch_add_explicit(&run->pixel_stats[i], st1.v[i] - st0.v[i], memory_order_relaxed);
    pool_give(&run->pixel_pool, pw, pixel_destroy);
    /* The frames' part of the grant back now (dv_pixel_stage_estimate *after): the output may take long to write
     * (a multi-frame series of GB), and others may decode meanwhile.
     * [test_run: test_pixel_budget_cancel_while_waiting] */
    if (*pixel_held > g.after) {
        dv_pixel_budget_give(run->limits.pixel_budget, *pixel_held - g.after);
        *pixel_held = g.after;
    }
    return g.cancelled ? 1 : rc;
}

uint64_t dv_run_pixel_decode_calls(const dv_run *run)
{
    return atomic_load_explicit(&run->pixel_decodes, memory_order_relaxed);
}

void dv_run_pixel_stats(const dv_run *run, dv_pixel_stats *out)
{
    for (int i = 0; i < DV_PIXEL_STAT_COUNT; i++)
        out->v[i] = atomic_load_explicit(&run->pixel_stats[i], memory_order_relaxed);
}

void dv_run_set_pixel_memo(dv_run *run, int on)
{
    run->pixel_memo_off = on == 0 ? 1 : on == 2 ? 2 : 0;
}

void dv_run_set_pixel_frame_ms(dv_run *run, uint32_t ms)
{
    run->pixel_frame_ms = ms > DV_RUN_PIXEL_FRAME_MS_MAX ? DV_RUN_PIXEL_FRAME_MS_MAX : ms;
}

void dv_run_set_pixel_test_hooks(dv_run *run, dv_pixel_find_fn find, void *user, uint32_t frame_ms)
{
    run->pixel_find = find;
    run->pixel_find_user = user;
    run->pixel_frame_ms = frame_ms;
}

/* The path itself. run may be a stack run (dv_deidentify): only its configuration and cancel flag are used.
 * With insp (dv_run_inspect) the same path stops after apply (no pixel stage, no output): out is not used,
 * nothing is written. */
static dv_outcome process(dv_run *run, const dv_source *src, const dv_output *out, void *out_arg,
                          const inspect_req *insp, dv_result *res, dv_error *err)
{
    dv_instance *inst = dv_instance_read(src, &run->limits, err);
    if (!inst) {
        if (err->code == DV_ERR_NOT_DICOM) {
            res->skipped = DV_SKIP_NOT_DICOM;
            return DV_OUTCOME_SKIPPED;
        }
        return failed(err, DV_ERR_MALFORMED);
    }
    dv_outcome outcome;
    uint64_t pixel_held = 0; /* the pixel grant (dv_pixel_budget.h); what pixel_stage keeps, until inst is freed */
    dv_text_worker *tw = NULL;
    dv_uid_memo *um = NULL;
    dv_match_memo *mm = NULL;
    if (dv_instance_is_directory(inst)) {
        /* The one home of this rule (issue 5 item 6). A DICOMDIR is an index of other files, not an instance:
         * de-identifying it would break its record offsets and it has no SOPInstanceUID to name an output by.
         * Skipped, never rewritten. [test_cli_run.sh run A; test_run.c test_skips] */
        res->skipped = DV_SKIP_DIRECTORY;
        dv_fail(err, DV_ERR_UNSUPPORTED, "a DICOMDIR is not an instance");
        outcome = DV_OUTCOME_SKIPPED;
        goto done;
    }
    dv_result before; /* dv_apply resets res: the originals wait here */
    if (run->want_identifiers) {
        dv_result_init(&before);
        read_identifiers(inst, &before);
    }
    /* The text stage runs inside the walk, where the plan decided DV_DEC_CLEAN_TEXT (dv_apply_text): its
     * worker comes from the run. */
    /* The pixel classifier of the sensitive image modes reads the instance's deny-list from the same worker,
     * begun on the ORIGINAL instance (dv_apply_text begins it when the plan cleans text). */
    const dv_plan *plan = run->plan;
    tw = plan->cleans_text || plan->image_detects_text ? pool_take(&run->text_pool, text_make) : NULL;
    if (insp) {
        /* The SOP Class names the instance in inspect's output, which shows no PHI: only a UID is returned (a
         * value that is not one fails the instance below, as in deidentify, and may hold anything). */
        if (insp->sop_class) {
            int n = dv_elem_uid_text(dv_ds_find(&inst->ds, DV_TAG_SOP_CLASS_UID), insp->sop_class, DV_UID_MAX + 1);
            if (n <= 0 || !dv_uid_valid(insp->sop_class, (size_t)n))
                insp->sop_class[0] = '\0';
        }
        if (plan->cleans_text && !tw) {
            dv_fail(err, DV_ERR_NOMEM, "out of memory for the text stage");
            outcome = DV_OUTCOME_FAILED;
            goto done;
        }
        if (tw)
            dv_text_worker_set_observer(tw, insp->fn, insp->user);
    } else if (plan->image_detects_text &&
               (!tw || (!plan->cleans_text && dv_text_begin_instance(tw, plan, run->key, inst, err) != 0))) {
        if (!tw)
            dv_fail(err, DV_ERR_NOMEM, "out of memory (text worker)");
        outcome = failed(err, DV_ERR_INVALID);
        goto done;
    }
    /* Overlay planes embedded in the pixels are declared by the overlay groups the plan is about to delete:
     * read them now, clear them after the pixel stage (dv_pixel_container_clean). */
    dv_overlay_planes ov;
    if (!insp)
        dv_pixel_container_overlays(inst, &ov);
    /* A stack run (dv_deidentify: one instance, no pool) memoises nothing: a memo pays off across instances. */
    um = run->uid_pool.ok ? pool_take(&run->uid_pool, uid_make) : NULL;
    mm = run->match_pool.ok ? pool_take(&run->match_pool, match_make) : NULL;
    int applied = dv_apply_text(plan, run->key, inst, res, tw, um, mm, err);
    if (tw)
        dv_text_worker_set_observer(tw, NULL, NULL);
    if (applied != 0) {
        outcome = failed(err, DV_ERR_INVALID);
        goto done;
    }
    if (run->want_identifiers && DV_RESULT_HAS(res, patient_id)) {
        res->has_identifiers = before.has_identifiers;
        memcpy(res->orig_study_uid, before.orig_study_uid, sizeof res->orig_study_uid);
        memcpy(res->orig_series_uid, before.orig_series_uid, sizeof res->orig_series_uid);
        memcpy(res->orig_sop_uid, before.orig_sop_uid, sizeof res->orig_sop_uid);
        memcpy(res->orig_patient_id, before.orig_patient_id, sizeof res->orig_patient_id);
        res->patient_id_changed = before.patient_id_changed;
        read_new_patient_id(inst, res);
        if (DV_RESULT_HAS(res, charset)) {
            memcpy(res->orig_charset, before.orig_charset, sizeof res->orig_charset);
            read_charset(inst, res->charset); /* the text stage may have switched the output to ISO_IR 192 */
        }
    }

    /* ---- Burned-in text (issue 11), on the applied instance: only when the plan's ImageConfig for this
     * instance's top-level PixelData asks for redaction, so a metadata-only config never builds a pixel
     * worker or decodes anything [test_pixel_stage: test_metadata_only_decodes_nothing]. Fail closed: a
     * failure here means the instance is not written (DECISIONS 14). ---- */
    int staged = insp ? 0 : pixel_stage(run, inst, tw, out_arg, res, &ov, &pixel_held, err);
    if (staged == 1) {
        outcome = DV_OUTCOME_CANCELLED;
        goto done;
    }
    if (staged != 0) {
        outcome = failed(err, DV_ERR_INVALID);
        goto done;
    }
    /* ---- What the pixel data carries besides pixels (codestream comments, thumbnails, bytes past the last
     * frame, embedded overlay planes of removed overlays), after the pixel stage so that its re-encoded frames
     * are cleared too. Fail closed likewise. ---- */
    if (!insp && dv_pixel_container_clean(inst, &ov, err) != 0) {
        outcome = failed(err, DV_ERR_MALFORMED);
        goto done;
    }

    outcome = insp ? DV_OUTCOME_OK : write_output(run, inst, out, out_arg, res, err);
done:
    pool_give(&run->text_pool, tw, text_destroy);
    pool_give(&run->uid_pool, um, uid_destroy);
    pool_give(&run->match_pool, mm, match_destroy);
    dv_instance_free(inst); /* before the caller closes the source: bulk values are read from it */
    if (pixel_held) /* the redacted pixel data was the instance's: freed with it */
        dv_pixel_budget_give(run->limits.pixel_budget, pixel_held);
    return outcome;
}

/* The entry points' common start: a NULL err or res points at the caller's locals; err is cleared and a
 * given res reset (an uninitialised one is refused: dv_result_reset). 0, or -1 with *errp set. */
static int begin_call(dv_error **errp, dv_error *local_err, dv_result **resp, dv_result *local_res)
{
    if (!*errp)
        *errp = local_err;
    dv_error_clear(*errp);
    if (!*resp) {
        dv_result_init(local_res);
        *resp = local_res;
        return 0;
    }
    return dv_result_reset(*resp, *errp);
}

dv_outcome dv_run_instance(dv_run *run, const dv_source *src, const dv_output *out, void *out_arg,
                           dv_result *res, dv_error *err)
{
    dv_error local_err;
    dv_result local_res;
    if (begin_call(&err, &local_err, &res, &local_res) != 0)
        return DV_OUTCOME_FAILED; /* a caller bug: not counted */
    if (!run || !src || !out || !out->open || !out->commit || !out->abort) {
        dv_fail(err, DV_ERR_USAGE, "dv_run_instance: run, source and a complete output are required");
        return DV_OUTCOME_FAILED;
    }
    dv_outcome outcome;
    if (dv_run_cancelled(run)) {
        outcome = DV_OUTCOME_CANCELLED;
    } else {
        atomic_fetch_add_explicit(&run->bytes_in, src->size, memory_order_relaxed);
        outcome = process(run, src, out, out_arg, NULL, res, err);
    }
    dv_run_count_outcome(run, outcome);
    return outcome;
}

int dv_run_cleans_text(const dv_run *run)
{
    return run && run->plan->cleans_text;
}

dv_outcome dv_run_inspect(dv_run *run, const dv_source *src, dv_text_observer_fn fn, void *user, dv_result *res,
                          char *sop_class, dv_error *err)
{
    dv_error local_err;
    dv_result local_res;
    if (sop_class)
        sop_class[0] = '\0';
    if (begin_call(&err, &local_err, &res, &local_res) != 0)
        return DV_OUTCOME_FAILED; /* a caller bug: not counted */
    if (!run || !src) {
        dv_fail(err, DV_ERR_USAGE, "dv_run_inspect: run and source are required");
        return DV_OUTCOME_FAILED;
    }
    inspect_req insp = {fn, user, sop_class};
    dv_outcome outcome;
    if (dv_run_cancelled(run)) {
        outcome = DV_OUTCOME_CANCELLED;
    } else {
        atomic_fetch_add_explicit(&run->bytes_in, src->size, memory_order_relaxed);
        outcome = process(run, src, NULL, NULL, &insp, res, err);
    }
    dv_run_count_outcome(run, outcome);
    return outcome;
}

/* ---- dv_apply: the library's in-memory path, for a caller that reads and writes the instance itself ---- */

int dv_apply(const dv_plan *plan, const dv_key *key, dv_instance *inst, dv_result *res, dv_error *err)
{
    /* Everything process() does to an instance except decoding pixels: a plan whose ImageConfig would redact
     * this instance's burned-in text is refused before anything changes, never applied without its pixel
     * stage (a config asking for what a path does not do is refused, not ignored). [test_pixel_container:
     * test_public_apply_refuses_pixel_redaction] */
    if (plan && inst && dv_pixel_config_for(plan, inst))
        return dv_fail(err, DV_ERR_UNSUPPORTED,
                       "this plan redacts burned-in text in the instance's pixels, which dv_apply does not decode: "
                       "use dv_deidentify or dv_run_instance");
    dv_overlay_planes ov;
    if (inst)
        dv_pixel_container_overlays(inst, &ov);
    if (dv_apply_text(plan, key, inst, res, NULL, NULL, NULL, err) != 0)
        return -1;
    /* What the pixel data carries besides pixels goes as on the run's path: a caller that writes the instance
     * next must not get codestream comments or embedded overlay planes back. [test_pixel_container:
     * test_public_apply_cleans_the_container] */
    return dv_pixel_container_clean(inst, &ov, err);
}

/* ---- dv_deidentify: the same path to one fixed sink ---- */

static int fixed_open(void *arg, const dv_result *res, dv_sink *sink, dv_error *err)
{
    (void)res;
    (void)err;
    *sink = *(dv_sink *)arg;
    return DV_OPEN_WRITE;
}

static int fixed_commit(void *arg, const dv_result *res, dv_error *err)
{
    (void)arg;
    (void)res;
    (void)err;
    return DV_COMMIT_WRITTEN;
}

static void fixed_abort(void *arg)
{
    (void)arg; /* what reached the sink is the caller's to discard (dv_engine.h) */
}

int dv_deidentify(const dv_plan *plan, const dv_key *key, const dv_source *src, dv_sink *sink,
                  const dv_limits *lim, dv_result *res, dv_error *err)
{
    dv_error local_err;
    dv_result local_res;
    if (begin_call(&err, &local_err, &res, &local_res) != 0)
        return -1;
    if (!plan || !key || !src || !sink)
        return dv_fail(err, DV_ERR_USAGE, "dv_deidentify: plan, key, source and sink are required");
    dv_run run;
    memset(&run, 0, sizeof run);
    run.plan = plan;
    run.key = key;
    if (dv_limits_import(&run.limits, lim, err) != 0)
        return -1;
    static const dv_output fixed = {fixed_open, fixed_commit, fixed_abort};
    dv_outcome o = process(&run, src, &fixed, sink, NULL, res, err);
    return o == DV_OUTCOME_OK ? 0 : -1;
}
