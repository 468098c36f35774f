/* The worker pool: N threads pull the next input index from one atomic counter (no queue, no lock), open the
 * file and hand it to the library's one orchestration path, dv_run_instance (src/engine/run.c), with the CLI's
 * file output (output.c) as its sink. Each worker owns everything per file: the descriptor, the 1 MiB input
 * buffer (an instance up to that size is read whole into it) and the 1 MiB sink buffer; the parsed instance lives
 * inside dv_run_instance. One bad instance fails alone: every outcome is
 * recorded in its own item slot, and nothing a worker does for one file touches another's.
 *
 * Outcomes: ok; duplicate (same output name as a lower input index, or as a file an earlier run wrote: the
 * lowest index wins whatever the timing, see output.c); skipped (not DICOM, or a DICOMDIR, which is not an
 * instance): neither is a failure; failed (with the engine's error class).
 *
 * Counts live in the library run (dv_run_count); statuses change under the run's status lock: a lower index that replaces a higher one's output turns
 * that index into a duplicate, possibly before that index's own worker has recorded its "ok" (then the
 * "displaced" flag makes it record "duplicate"); either way every input is counted exactly once. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "dicom/dv_charset.h"
#include "util/dv_thread_altstack.h"

const char *dvc_status_name(dvc_status st)
{
    switch (st) {
    case DVC_ST_OK: return "ok";
    case DVC_ST_FAILED: return "failed";
    case DVC_ST_SKIPPED: return "skipped";
    case DVC_ST_DUPLICATE: return "duplicate";
    case DVC_ST_PENDING: break;
    }
    return "pending";
}

typedef struct worker {
    dvc_run *run;
    size_t id;
    uint8_t *buf;  /* the sink's, DVC_SINK_BUFFER bytes */
    uint8_t *head; /* an input's first DVC_INPUT_BUFFER bytes (process), after buf in the same allocation */
    pthread_t thread;
    int started;
    dv_charset_ctx *cs; /* --mapping's decoder (mapping.c), made on first need */
} worker;

/* Workers that have run out of items; the last one wakes the main thread at once instead of at its next
 * progress tick. Per pool run (no static state). */
typedef struct pool_done {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    size_t finished;
} pool_done;

typedef struct pool_worker {
    worker w;
    pool_done *done;
} pool_worker;

/* slot: the item's place in run->items; index: the input's (they differ under --mpi, pool hooks). */
static void record(dvc_run *run, size_t slot, size_t index, dvc_status st, dv_code code, const char *reason,
                   const char *msg)
{
    dvc_item *it = &run->items[slot];
    it->code = code;
    it->reason = reason;
    it->message = msg && *msg ? strdup(msg) : NULL;
    pthread_mutex_lock(&run->status_lock);
    if (st == DVC_ST_OK && it->displaced) {
        st = DVC_ST_DUPLICATE; /* a lower index replaced our output already */
        dv_run_recount(run->lib, DV_OUTCOME_OK, DV_OUTCOME_DUPLICATE);
    }
    it->status = st;
    pthread_mutex_unlock(&run->status_lock);
    if (st == DVC_ST_FAILED)
        /* The index, never the path (paths can hold PHI; the report maps index -> path). */
        dvc_progress_log(run->progress, "instance #%zu: %s: %s", index, dv_code_name(code),
                         msg && *msg ? msg : "(no detail)");
}

/* A lower index replaced the output of index: it is a duplicate, not ok. Its worker may not have recorded
 * yet (then record() converts its "ok"). A "failed" (its directory fsync failed after naming the file) stays
 * failed. */
static void mark_displaced(dvc_run *run, size_t index)
{
    dvc_item *it = &run->items[index];
    pthread_mutex_lock(&run->status_lock);
    if (it->status == DVC_ST_OK) {
        it->status = DVC_ST_DUPLICATE;
        dv_run_recount(run->lib, DV_OUTCOME_OK, DV_OUTCOME_DUPLICATE);
    } else if (it->status == DVC_ST_PENDING) {
        it->displaced = 1;
    }
    pthread_mutex_unlock(&run->status_lock);
}

/* After dv_run_instance: mark the output this one displaced, and publish or drop the instance's --preview
 * pictures. Under the preview's lock, so the two orders of "b written, then a (lower index, same name) displaces
 * it" both end with a's pictures: b settling first publishes and a then replaces them; a settling first marks b
 * displaced before b looks, and b drops its own. */
static void settle(dvc_run *run, size_t index, dv_outcome oc, const dvc_put *put, dvc_preview_stage *stage)
{
    int replaced = !run->hooks && put->displaced < run->n; /* not DVC_NO_INDEX, nor DVC_OURS_UNKNOWN
                                                             (--resume); --mpi: rank 0 marks it (mpi_coord.c) */
    if (run->preview)
        pthread_mutex_lock(&run->preview->lock);
    if (replaced)
        mark_displaced(run, put->displaced);
    if (run->preview) {
        pthread_mutex_lock(&run->status_lock);
        int publish = oc == DV_OUTCOME_OK && !run->items[index].displaced;
        pthread_mutex_unlock(&run->status_lock);
        if (replaced) /* its pictures go (dvc_preview_settle): the count is of pictures left for a reviewer */
            atomic_fetch_sub(&run->preview->written, run->items[put->displaced].previewed);
        run->items[index].previewed = dvc_preview_settle(run->preview, stage, publish, replaced);
        pthread_mutex_unlock(&run->preview->lock);
    }
}

/* A failure before the library saw the input (it could not be opened): counted in the run like any other. */
static void fail_errno(dvc_run *run, size_t slot, size_t index, const char *what, int e)
{
    char msg[128];
    snprintf(msg, sizeof msg, "%s: %s", what, strerror(e));
    dv_run_count_outcome(run->lib, DV_OUTCOME_FAILED);
    record(run, slot, index, DVC_ST_FAILED, DV_ERR_IO, NULL, msg);
}

/* An entry inside a SRC folder that is not a regular file (listed so, or a link, FIFO, socket or device by the
 * time it is opened: skipped as a listing at that moment would have it). */
static void skip_not_regular(dvc_run *run, size_t slot, size_t index)
{
    dv_run_count_outcome(run->lib, DV_OUTCOME_SKIPPED);
    record(run, slot, index, DVC_ST_SKIPPED, DV_OK, DVC_SKIP_NOT_REGULAR,
           "a symbolic link, FIFO, socket or device inside a source folder: not followed");
}

/* fstat of an open input; on failure fd is closed, the failure recorded, and -1 returned. */
static int stat_input(dvc_run *run, size_t slot, size_t index, int fd, struct stat *st)
{
    if (fstat(fd, st) == 0)
        return 0;
    int e = errno;
    close(fd);
    fail_errno(run, slot, index, "cannot stat input", e);
    return -1;
}

/* done: filled for the pool hooks (--mpi). */
static void process(worker *w, size_t slot, size_t index, dvc_done *done)
{
    dvc_run *run = w->run;
    dvc_item *it = &run->items[slot];
    if (it->walk_err == DVC_WALK_NOT_FOLLOWED) {
        skip_not_regular(run, slot, index);
        return;
    }
    if (it->walk_err > 0) {
        fail_errno(run, slot, index, "cannot list directory", it->walk_err);
        return;
    }
    /* O_NONBLOCK: a FIFO named on the command line must not hang the worker; no effect on regular files.
     * O_NOFOLLOW but for a file argument: an entry listed as a regular file that is a link by now is not
     * followed out of the archive but skipped, as the listing would have it (cli.h DVC_WALK_ARGUMENT). */
    int follow = it->walk_err == DVC_WALK_ARGUMENT;
    int fd = dvc_open_input(it->path, O_NONBLOCK | (follow ? 0 : O_NOFOLLOW));
    if (fd < 0 && errno == ELOOP && !follow) {
        skip_not_regular(run, slot, index);
        return;
    }
    if (fd < 0) {
        fail_errno(run, slot, index, "cannot open input", errno);
        return;
    }
    /* The input's first bytes in one pread before any fstat: up to DVC_INPUT_BUFFER (the whole of most
     * instances), or DV_SOURCE_HEAD_BYTES when DST's file system copies on the server (there the pixel data are
     * never read here). An entry the listing found a regular file that reads shorter than that has been read
     * whole: its size is what was read, and the fstat (~1 us here: bench/RESULTS.md "Per-core rate against cp,
     * eighth pass") is skipped; the reader parses those bytes in place and the sink writes bulk values from
     * them. Still stat'ed: a file named on the command line (before any read: it may be a device), --resume and
     * --mpi (they journal size and mtime), and every read that is empty, fills the buffer (a larger file: its
     * size) or fails (a FIFO: ESPIPE; a directory: EISDIR). A FIFO or device put in a listed file's place is
     * read as bytes, never blocked on (the descriptor is O_NONBLOCK) (docs/decisions.md "An instance is read
     * whole before it is stat'ed"). */
    size_t cap = run->out->copy_offload ? DV_SOURCE_HEAD_BYTES : DVC_INPUT_BUFFER;
    struct stat st;
    memset(&st, 0, sizeof st);
    if (follow) { /* stat'ed before any read */
        if (stat_input(run, slot, index, fd, &st) != 0)
            return;
        if (!S_ISREG(st.st_mode)) {
            close(fd);
            dv_run_count_outcome(run->lib, DV_OUTCOME_FAILED);
            record(run, slot, index, DVC_ST_FAILED, DV_ERR_IO, NULL, "input is not a regular file");
            return;
        }
    }
    ssize_t got;
    do
        got = pread(fd, w->head, cap, 0);
    while (got < 0 && errno == EINTR);
    int whole = got > 0 && (size_t)got < cap;
    if (!follow && (!whole || run->journal || run->hooks)) {
        if (stat_input(run, slot, index, fd, &st) != 0)
            return;
        if (!S_ISREG(st.st_mode)) { /* replaced by a FIFO, socket or device since the listing */
            close(fd);
            skip_not_regular(run, slot, index);
            return;
        }
    }
    uint64_t size = whole ? (uint64_t)got : (uint64_t)st.st_size;

    dv_fd_source fsrc;
    /* A larger file read before its fstat: what was read is still served from memory. A file that shrank since
     * is bounded by its fstat size, which the reader checks every read against. */
    dv_source src = dv_source_fd_head(&fsrc, fd, size, w->head, got > 0 ? (size_t)got : 0);
    dv_error err;
    dv_result res;
    dv_result_init(&res);
    dvc_preview_stage stage = {0};
    dvc_put put = {.o = run->out, .worker = w->id, .index = index, .buf = w->buf, .cap = DVC_SINK_BUFFER,
                   .displaced = DVC_NO_INDEX, .preview = run->preview ? &stage : NULL};
    dv_outcome oc = dv_run_instance(run->lib, &src, &dvc_file_output, &put, &res, &err);
    close(fd);
    if (oc == DV_OUTCOME_FAILED)
        dvc_put_explain(&put, &err);
    settle(run, index, oc, &put, &stage);
    done->ran = 1;
    done->st = st;
    /* ok: the name it holds; duplicate: the name it duplicates (journaled so under --mpi too, so a resume restores
     * it rather than redoing it) */
    done->name = oc == DV_OUTCOME_OK || oc == DV_OUTCOME_DUPLICATE ? dvc_put_name(&put) : NULL;
    done->hashed = put.hashed;
    memcpy(done->hash, put.hash, sizeof done->hash);
    if (oc == DV_OUTCOME_OK) {
        for (int t = 0; t < DV_RESULT_TEXT_TYPES; t++)
            if (res.text_findings[t]) {
                /* NULL on ENOMEM: the report then has no counts for this instance (never a wrong count) */
                it->text_findings = malloc(sizeof res.text_findings);
                if (it->text_findings)
                    memcpy(it->text_findings, res.text_findings, sizeof res.text_findings);
                break;
            }
        int unredacted = res.burned_in_declared && !res.pixel_stage_ran;
        if (res.pixel_stage_ran || res.pixel_nested_kept || unredacted) {
            /* NULL on ENOMEM: the report then has no pixel entry for this instance (never a wrong one) */
            it->pixels = malloc(sizeof *it->pixels);
            if (it->pixels) {
                it->pixels->ran = res.pixel_stage_ran;
                it->pixels->frames = res.pixel_frames;
                it->pixels->boxes = res.pixel_boxes;
                it->pixels->nested_kept = res.pixel_nested_kept;
                it->pixels->burned_in_unredacted = unredacted;
                memcpy(it->pixels->transfer_syntax, res.pixel_transfer_syntax, sizeof it->pixels->transfer_syntax);
            }
        }
    }
    if (run->mapping && (oc == DV_OUTCOME_OK || oc == DV_OUTCOME_DUPLICATE))
        it->mapping = dvc_mapping_fields(&res, &w->cs); /* NULL on ENOMEM: mapping.c then fails the mapping file */
    if (run->journal && (oc == DV_OUTCOME_OK || oc == DV_OUTCOME_DUPLICATE)) /* --resume (journal.c) */
        dvc_journal_done(run->journal, index, it->path, &st, oc == DV_OUTCOME_DUPLICATE, dvc_put_name(&put),
                         put.hashed && oc == DV_OUTCOME_OK ? put.hash : NULL, it->text_findings, it->pixels);
    switch (oc) {
    case DV_OUTCOME_OK: record(run, slot, index, DVC_ST_OK, DV_OK, NULL, NULL); break;
    case DV_OUTCOME_DUPLICATE: record(run, slot, index, DVC_ST_DUPLICATE, DV_OK, NULL, NULL); break;
    case DV_OUTCOME_SKIPPED:
        /* A DICOMDIR is not an error (no class in the report); a non-DICOM file keeps its class. */
        record(run, slot, index, DVC_ST_SKIPPED, res.skipped == DV_SKIP_NOT_DICOM ? DV_ERR_NOT_DICOM : DV_OK,
               dv_skip_name(res.skipped), err.message);
        break;
    case DV_OUTCOME_FAILED:
    case DV_OUTCOME_CANCELLED: /* the CLI never cancels a run (a signal ends the process) */
    case DV_OUTCOME_COUNT:
        record(run, slot, index, DVC_ST_FAILED, err.code != DV_OK ? err.code : DV_ERR_IO, NULL, err.message);
        break;
    }
}

static void *worker_main(void *arg)
{
    pool_worker *pw = arg;
    dvc_run *run = pw->w.run;
    void *alt = dv_thread_altstack_enter(); /* a crash report even for a stack overflow */
    for (;;) {
        size_t slot, index;
        if (run->hooks) { /* --mpi: items come in chunks from rank 0 (mpi_rank.c) */
            if (run->hooks->take(run, pw->w.id, &slot, &index) < 0)
                break;
        } else {
            slot = index = atomic_fetch_add(&run->next, 1);
            if (slot >= run->n)
                break;
            if (run->items[slot].status != DVC_ST_PENDING) /* restored by --resume */
                continue;
        }
        dvc_done done = {.ran = 0};
        process(&pw->w, slot, index, &done);
        if (run->hooks)
            run->hooks->done(run, slot, &done);
    }
    struct timespec cpu; /* CPU, not wall: the --mpi figures must mean something on a loaded machine */
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
    atomic_fetch_add(&run->worker_cpu_ns, (uint_least64_t)cpu.tv_sec * 1000000000u + (uint_least64_t)cpu.tv_nsec);
    pthread_mutex_lock(&pw->done->lock);
    pw->done->finished++;
    pthread_cond_signal(&pw->done->cond);
    pthread_mutex_unlock(&pw->done->lock);
    dv_thread_altstack_leave(alt);
    return NULL;
}

int dvc_pool_run(dvc_run *run)
{
    size_t jobs = run->jobs ? run->jobs : 1;
    if (jobs > run->n)
        jobs = run->n ? run->n : 1;
    pool_worker *ws = calloc(jobs, sizeof *ws);
    if (!ws)
        return -1;
    pool_done done = {.finished = 0};
    pthread_mutex_init(&done.lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&done.cond, &ca);
    pthread_condattr_destroy(&ca);
    /* Workers inherit a mask blocking the cleanup signals, so their handler always runs on this thread
     * (output.c explains why it must not run on a worker). */
    sigset_t block, old_mask;
    dvc_cleanup_signals(&block);
    pthread_sigmask(SIG_BLOCK, &block, &old_mask);
    size_t started = 0;
    for (size_t i = 0; i < jobs; i++) {
        ws[i].w.run = run;
        ws[i].w.id = i;
        ws[i].done = &done;
        ws[i].w.buf = malloc(DVC_SINK_BUFFER + DVC_INPUT_BUFFER);
        if (!ws[i].w.buf)
            break;
        ws[i].w.head = ws[i].w.buf + DVC_SINK_BUFFER;
        if (pthread_create(&ws[i].w.thread, NULL, worker_main, &ws[i]) != 0) {
            free(ws[i].w.buf);
            ws[i].w.buf = NULL;
            break;
        }
        ws[i].w.started = 1;
        started++;
        pthread_setname_np(ws[i].w.thread, "dv-worker"); /* top -H, and test_cli_mpi.sh finds a rank's pool */
    }
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    int rc = started == 0 ? -1 : 0;
    /* The main thread only watches: redraw every 100 ms until every started worker is out of items. */
    pthread_mutex_lock(&done.lock);
    while (done.finished < started) {
        pthread_mutex_unlock(&done.lock);
        dvc_progress_update(run->progress, run->lib);
        pthread_mutex_lock(&done.lock);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += 100 * 1000 * 1000;
        if (until.tv_nsec >= 1000 * 1000 * 1000) {
            until.tv_sec++;
            until.tv_nsec -= 1000 * 1000 * 1000;
        }
        if (done.finished < started)
            pthread_cond_timedwait(&done.cond, &done.lock, &until);
    }
    pthread_mutex_unlock(&done.lock);
    for (size_t i = 0; i < jobs; i++) {
        if (ws[i].w.started)
            pthread_join(ws[i].w.thread, NULL);
        free(ws[i].w.buf);
        dv_charset_ctx_free(ws[i].w.cs);
    }
    free(ws);
    pthread_cond_destroy(&done.cond);
    pthread_mutex_destroy(&done.lock);
    return rc;
}
