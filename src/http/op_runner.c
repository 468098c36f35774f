/* The operation runner: persisted operations run on the server's operation pool (src/jobs/dvj_pool.h).
 * docs/server.md "Operations" has the design; in short:
 *
 * - one "main" job per operation loads it from the index, builds what it needs (the compiled config and the
 *   dataset key for a de-identification), plans its work items when that was not finished (an interrupted
 *   planning is dropped and redone), then queues "chunk" jobs of DVH_OP_CHUNK items each (by seq range), so the
 *   instances of one operation spread over every pool thread;
 * - a chunk takes its pending items from the index, processes each (de-identify through dv_run_instance into
 *   the destination store's put path, import a file, export an instance) and finishes it in the index (a
 *   de-identified output: the durability stage, op_durable.c, finishes it once it is durable);
 * - the last job of an operation to end finalises it: response when every item is finished, CANCELLED when a
 *   cancel was asked, nothing when it was interrupted (shutdown, an index failure): it stays unfinished and
 *   resumes at the next start, with only its pending items.
 *
 * Nothing is duplicated on resume: op_item_finish counts an item once, outputs are stored by
 * SOPInstanceUID, and a redone item whose output is already stored with the same bytes counts as done.
 * [test_server_ops.py "kill -9"]
 *
 * The runner's files: this one (the server's side: start, resume, launch, cancel, stop), op_jobs.c (main and
 * chunk jobs), op_request.c (the stored request), op_plan.c (work items), op_item_deid.c and op_item_files.c
 * (one item), op_put_outcome.c (a put's answer for an item), op_finish.c (result, checkpoint, op_ctx end),
 * op_floor.c (chunks waiting for --min-free-disk);
 * their shared state is in op_internal.h. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "http/op_internal.h"

#define QUEUE_MAX 1000000

int dvh_ops_launch(dvh_server *s, int64_t op_id, dv_error *err)
{
    dvh_ops *o = s->ops;
    if (o == NULL)
        return dv_fail(err, DV_ERR_USAGE, "operations: not started");
    dvh_op_ctx *c = calloc(1, sizeof *c);
    if (c == NULL)
        return dv_fail(err, DV_ERR_NOMEM, "operations: out of memory");
    c->ops = o;
    c->id = op_id;
    atomic_init(&c->refs, 1);
    c->timing.start = dvh_op_now_ns();
    pthread_mutex_lock(&o->mu);
    c->next = o->running;
    o->running = c;
    pthread_mutex_unlock(&o->mu);
    dvj_job job = {dvh_op_main_run, dvh_op_main_discard, c};
    if (dvj_pool_submit(o->pool, &job, err) != 0) {
        dvh_op_unregister(c);
        dvh_op_ctx_free(c);
        dvh_op_log(o, "operation not queued", op_id);
        return -1;
    }
    return 0;
}

void dvh_ops_cancel(dvh_server *s, int64_t op_id)
{
    dvh_ops *o = s->ops;
    if (o == NULL)
        return;
    pthread_mutex_lock(&o->mu);
    for (dvh_op_ctx *c = o->running; c; c = c->next)
        if (c->id == op_id)
            atomic_store(&c->cancel, 1); /* the run's cancel callback (dvh_op_run_cancelled) reads it */
    pthread_mutex_unlock(&o->mu);
    dvh_op_floor_poke(o->disk_floor); /* its chunks parked for disk space end now (op_floor.c) */
}

int dvh_ops_start(dvh_server *s, unsigned workers, dv_error *err)
{
    dvh_ops *o = calloc(1, sizeof *o);
    if (o == NULL)
        return dv_fail(err, DV_ERR_NOMEM, "operations: out of memory");
    o->srv = s;
    pthread_mutex_init(&o->mu, NULL);
    /* One memory budget for every de-identification the server runs (docs/decisions.md "Memory budget"). */
    dv_limits_default(&o->lim);
    uint64_t instance_max = dv_limits_memory_max(&o->lim);
    uint64_t total = (uint64_t)512 << 20;
    if (total < instance_max + ((uint64_t)64 << 20))
        total = instance_max + ((uint64_t)64 << 20);
    o->budget = dv_budget_new(total, instance_max, err);
    o->lim.budget = o->budget;
    o->pixel_budget = o->budget ? dv_pixel_budget_new(dv_pixel_budget_default_total(), err) : NULL;
    o->lim.pixel_budget = o->pixel_budget;
    /* Default: one thread per CPU. An item is mostly CPU (the engine, the hash, the copy into the page cache);
     * its chunk's durability is the committer's (op_durable.c), so a pool thread does not wait for the disk. */
    if (workers == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        workers = cpus < 1 ? 1 : cpus > 256 ? 256 : (unsigned)cpus;
    }
    o->pool = o->pixel_budget ? dvj_pool_new(workers, QUEUE_MAX, err) : NULL;
    /* The chunks' durability off the pool's threads (op_durable.c). DVH_OP_QUEUE_OUTPUTS outputs (4 chunks)
     * may wait for it, and at least one chunk per pool thread: while a round's syncfs runs, every pool thread
     * hands over and keeps computing (and starting the writeback of) its next chunks instead of waiting for
     * room; with room for only one chunk per thread they waited (bench/RESULTS.md "Operation pipeline, second
     * pass"). */
    size_t queue = DVH_OP_QUEUE_OUTPUTS / DVH_OP_CHUNK;
    if (queue < workers)
        queue = workers;
    /* Each output holds two descriptors (its file and its store's directory) from its item's start to its
     * round's commit: the chunks computing, waiting and in the stage's two threads. A soft limit below that
     * (often 1,024) would fail items with "io" under load: raise it towards the hard limit, keeping 1,024 for
     * the connections and the index. */
    struct rlimit rl;
    rlim_t need = (rlim_t)(workers + queue + DVH_OP_ROUND_MAX) * DVH_OP_CHUNK * 2 + 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    o->durable = o->pool ? dvh_op_durable_start(queue, err) : NULL;
    o->disk_floor = o->durable ? dvh_op_floor_start(o, err) : NULL;
    if (o->disk_floor == NULL) {
        dvj_pool_shutdown(o->pool);
        dvh_op_durable_stop(o->durable);
        dv_budget_free(o->budget);
        dv_pixel_budget_free(o->pixel_budget);
        pthread_mutex_destroy(&o->mu);
        free(o);
        return -1;
    }
    s->ops = o;
    /* Resume every unfinished operation (a crash, a restart). */
    int64_t after = 0;
    for (;;) {
        dvs_operation v[64];
        size_t n = 0;
        int64_t next = 0;
        if (s->ix->ops->op_list(s->ix, 0, 0, after, 64, v, &n, &next, err) < 0)
            return -1;
        for (size_t i = 0; i < n; i++) {
            if (dvh_ops_launch(s, v[i].id, err) == 0)
                dvh_op_log(o, "operation resumed", v[i].id);
            dvs_operation_clear(&v[i]);
        }
        if (next == 0)
            break;
        after = next;
    }
    return 0;
}

void dvh_ops_stop(dvh_server *s)
{
    dvh_ops *o = s->ops;
    if (o == NULL)
        return;
    /* Running items finish or are cancelled before their output opens; queued jobs are discarded; each
     * operation's last job leaves it unfinished (pending items resume at the next start). */
    atomic_store(&o->stopping, 1);
    /* Chunks parked for disk space are discarded (their operations checkpoint), and a running chunk that
     * finds no room from now on too, before the pool goes (op_floor.c). */
    dvh_op_floor_close(o->disk_floor);
    dvj_pool_shutdown(o->pool);
    /* After the pool: its last chunks hand their outputs over, then the stage stores and finishes them all
     * (an operation's last reference may end here: finalise reads o->stopping, not the pool). */
    dvh_op_durable_stop(o->durable);
    dvh_op_floor_free(o->disk_floor);
    dv_budget_free(o->budget);
    dv_pixel_budget_free(o->pixel_budget);
    pthread_mutex_destroy(&o->mu);
    free(o);
    s->ops = NULL;
}
