/* The worker pool: N threads pull the next input index from one atomic counter (no queue, no lock), and each
 * owns everything per file: the descriptor, the parsed instance, the 256 KiB sink buffer. The plan and the key
 * are immutable and shared (dv_engine.h). One bad instance fails alone: every outcome is recorded in its own
 * item slot, and nothing a worker does for one file touches another's.
 *
 * Outcomes: ok; duplicate (same output name as a lower input index, or as a file an earlier run wrote: the
 * lowest index wins whatever the timing, see output.c); skipped (not DICOM, or a DICOMDIR, which is not an
 * instance): neither is a failure; failed (with the engine's error class).
 *
 * Statuses and counts change under one small lock: a lower index that replaces a higher one's output turns
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
    uint8_t *buf;
    pthread_t thread;
    int started;
} worker;

static pthread_mutex_t g_status_lock = PTHREAD_MUTEX_INITIALIZER;

static void record(dvc_run *run, size_t index, dvc_status st, dv_code code, const char *reason, const char *msg)
{
    dvc_item *it = &run->items[index];
    it->code = code;
    it->reason = reason;
    it->message = msg && *msg ? strdup(msg) : NULL;
    pthread_mutex_lock(&g_status_lock);
    if (st == DVC_ST_OK && it->displaced)
        st = DVC_ST_DUPLICATE; /* a lower index replaced our output already */
    it->status = st;
    switch (st) {
    case DVC_ST_OK: atomic_fetch_add(&run->counts.ok, 1); break;
    case DVC_ST_SKIPPED: atomic_fetch_add(&run->counts.skipped, 1); break;
    case DVC_ST_DUPLICATE: atomic_fetch_add(&run->counts.duplicate, 1); break;
    case DVC_ST_FAILED:
    case DVC_ST_PENDING:
        atomic_fetch_add(&run->counts.failed, 1);
        break;
    }
    pthread_mutex_unlock(&g_status_lock);
    if (st == DVC_ST_FAILED || st == DVC_ST_PENDING)
        /* The index, never the path (paths can hold PHI; the report maps index -> path). */
        dvc_progress_log("instance #%zu: %s: %s", index, dv_code_name(code), msg && *msg ? msg : "(no detail)");
}

/* A lower index replaced the output of index: it is a duplicate, not ok. Its worker may not have recorded
 * yet (then record() converts its "ok"). A "failed" (its directory fsync failed after naming the file) stays
 * failed. */
static void mark_displaced(dvc_run *run, size_t index)
{
    dvc_item *it = &run->items[index];
    pthread_mutex_lock(&g_status_lock);
    if (it->status == DVC_ST_OK) {
        it->status = DVC_ST_DUPLICATE;
        atomic_fetch_add(&run->counts.duplicate, 1);
        atomic_fetch_sub(&run->counts.ok, 1);
    } else if (it->status == DVC_ST_PENDING) {
        it->displaced = 1;
    }
    pthread_mutex_unlock(&g_status_lock);
}

static void fail_errno(dvc_run *run, size_t index, const char *what, int e)
{
    char msg[128];
    snprintf(msg, sizeof msg, "%s: %s", what, strerror(e));
    record(run, index, DVC_ST_FAILED, DV_ERR_IO, NULL, msg);
}

static void process(worker *w, size_t index)
{
    dvc_run *run = w->run;
    dvc_item *it = &run->items[index];
    if (it->walk_err) {
        fail_errno(run, index, "cannot list directory", it->walk_err);
        return;
    }
    /* O_NONBLOCK: a FIFO named on the command line must not hang the worker; no effect on regular files. */
    int fd = open(it->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        fail_errno(run, index, "cannot open input", errno);
        return;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        fail_errno(run, index, "cannot stat input", e);
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        record(run, index, DVC_ST_FAILED, DV_ERR_IO, NULL, "input is not a regular file");
        return;
    }
    atomic_fetch_add(&run->counts.bytes_in, (uint64_t)st.st_size);

    dvc_fsrc fsrc;
    dv_source src = dvc_source_fd(&fsrc, fd, (uint64_t)st.st_size);
    dv_error err;
    dv_error_clear(&err);
    dv_instance *inst = dv_instance_read(&src, &run->limits, &err);
    if (!inst) {
        if (err.code == DV_ERR_NOT_DICOM)
            record(run, index, DVC_ST_SKIPPED, DV_ERR_NOT_DICOM, "not_dicom", err.message);
        else
            record(run, index, DVC_ST_FAILED, err.code != DV_OK ? err.code : DV_ERR_MALFORMED, NULL, err.message);
        close(fd);
        return;
    }
    if (dv_instance_is_directory(inst)) {
        record(run, index, DVC_ST_SKIPPED, DV_OK, "directory", "a DICOMDIR is not an instance");
    } else {
        dv_result res;
        memset(&res, 0, sizeof res);
        if (dv_apply(run->plan, run->key, inst, &res, &err) < 0) {
            record(run, index, DVC_ST_FAILED, err.code != DV_OK ? err.code : DV_ERR_INVALID, NULL, err.message);
        } else {
            dv_error_clear(&err);
            size_t displaced = DVC_NO_INDEX;
            dvc_write_result r =
                dvc_output_write(run->out, w->id, index, inst, &res, w->buf, DVC_SINK_BUFFER, &displaced, &err);
            if (displaced != DVC_NO_INDEX)
                mark_displaced(run, displaced);
            if (r == DVC_WRITTEN)
                record(run, index, DVC_ST_OK, DV_OK, NULL, NULL);
            else if (r == DVC_DUPLICATE)
                record(run, index, DVC_ST_DUPLICATE, DV_OK, NULL, NULL);
            else
                record(run, index, DVC_ST_FAILED, err.code != DV_OK ? err.code : DV_ERR_IO, NULL, err.message);
        }
    }
    dv_instance_free(inst); /* before close: the instance reads bulk values from the source */
    close(fd);
}

/* Workers that have run out of items; the last one wakes the main thread at once instead of at its next
 * progress tick. */
static pthread_mutex_t g_done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_done_cond;
static size_t g_finished;

static void *worker_main(void *arg)
{
    worker *w = arg;
    dvc_run *run = w->run;
    for (;;) {
        size_t i = atomic_fetch_add(&run->next, 1);
        if (i >= run->n)
            break;
        process(w, i);
    }
    pthread_mutex_lock(&g_done_lock);
    g_finished++;
    pthread_cond_signal(&g_done_cond);
    pthread_mutex_unlock(&g_done_lock);
    return NULL;
}

int dvc_pool_run(dvc_run *run)
{
    size_t jobs = run->jobs ? run->jobs : 1;
    if (jobs > run->n)
        jobs = run->n ? run->n : 1;
    worker *ws = calloc(jobs, sizeof *ws);
    if (!ws)
        return -1;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g_done_cond, &ca);
    pthread_condattr_destroy(&ca);
    g_finished = 0;
    /* Workers inherit a mask blocking the cleanup signals, so their handler always runs on this thread
     * (output.c explains why it must not run on a worker). */
    sigset_t block, old_mask;
    dvc_cleanup_signals(&block);
    pthread_sigmask(SIG_BLOCK, &block, &old_mask);
    size_t started = 0;
    for (size_t i = 0; i < jobs; i++) {
        ws[i].run = run;
        ws[i].id = i;
        ws[i].buf = malloc(DVC_SINK_BUFFER);
        if (!ws[i].buf)
            break;
        if (pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]) != 0) {
            free(ws[i].buf);
            ws[i].buf = NULL;
            break;
        }
        ws[i].started = 1;
        started++;
    }
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    if (started == 0) {
        free(ws);
        return -1;
    }
    /* The main thread only watches: redraw every 100 ms until every started worker is out of items. */
    pthread_mutex_lock(&g_done_lock);
    while (g_finished < started) {
        pthread_mutex_unlock(&g_done_lock);
        dvc_progress_update(&run->counts);
        pthread_mutex_lock(&g_done_lock);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += 100 * 1000 * 1000;
        if (until.tv_nsec >= 1000 * 1000 * 1000) {
            until.tv_sec++;
            until.tv_nsec -= 1000 * 1000 * 1000;
        }
        if (g_finished < started)
            pthread_cond_timedwait(&g_done_cond, &g_done_lock, &until);
    }
    pthread_mutex_unlock(&g_done_lock);
    for (size_t i = 0; i < jobs; i++) {
        if (ws[i].started)
            pthread_join(ws[i].thread, NULL);
        free(ws[i].buf);
    }
    free(ws);
    pthread_cond_destroy(&g_done_cond);
    return 0;
}
