/* Internal to the operation runner (op_runner.c, op_jobs.c, op_request.c, op_plan.c, op_item_deid.c, op_floor.c,
 * op_item_files.c, op_put_outcome.c, op_finish.c): the in-memory state of one running operation and the
 * functions the runner's files call in each other. Why a header of its own: server_internal.h is what every
 * handler sees; nothing outside the runner needs an op_ctx, so its layout stays here.
 * docs/server.md "Operations" has the design. */
#ifndef DVH_OP_INTERNAL_H
#define DVH_OP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <jansson.h>

#include "dicomveil/dicomveil.h"
#include "http/op_boxes.h"
#include "http/server_internal.h"
#include "jobs/dvj_pool.h"

#define DVH_OP_CHUNK 32           /* items per chunk job */
/* The durability stage (op_durable.c): the chunks between its syncer's take and its committer's finish (so
 * at most that many per syncfs and per group commit), and the outputs that may wait for the syncer. Each
 * output holds two open files until its commit, and the items computed but not yet finished are the work a
 * stop drains and a kill -9 redoes: 4 + 4 chunks beyond the pool's own (with more, a SIGTERM 60 items into
 * a 520-item operation could drain all of it; test_server_ops.py "SIGTERM: checkpointed").
 * bench/RESULTS.md "Operation pipeline, second pass". */
#define DVH_OP_ROUND_MAX 4
#define DVH_OP_QUEUE_OUTPUTS 128
#define DVH_OP_COPY_BUF (256u << 10) /* the import / export copy buffer of a chunk job */

/* DVH_OP_RECORDED: an operation a request carried out itself (op_record.c), run here only when the process
 * stopped before the request had recorded it whole: its items count as done, its result is the stored one. */
typedef enum dvh_op_kind { DVH_OP_DEIDENTIFY = 1, DVH_OP_IMPORT, DVH_OP_EXPORT, DVH_OP_RECORDED } dvh_op_kind;

/* op_timing.c: where the operation's wall time went, logged when it ends. Offsets from start, durations
 * summed over threads; all in nanoseconds. */
typedef struct dvh_op_timing {
    uint64_t start; /* dvh_op_now_ns at launch */
    atomic_uint_fast64_t setup, planned, first_chunk, last_handover, last_finish; /* offsets */
    atomic_uint_fast64_t chunks, rounds, last_round;
    atomic_uint_fast64_t syncfs_ns, commit_ns, finish_ns, room_wait_ns, pool_ns; /* durations */
    atomic_uint_fast64_t disk_wait_ns; /* wall time waiting for --min-free-disk (op_floor.c), per episode */
} dvh_op_timing;

typedef struct dvh_op_pair {
    int64_t src, dst;
} dvh_op_pair;

/* One operation running in this process. Owned by its jobs: refs counts the jobs still to end (main +
 * chunks); the last one to end finalises and frees it (dvh_op_release). */
typedef struct dvh_op_ctx {
    dvh_ops *ops;
    int64_t id;
    dvh_op_kind kind;
    dvh_op_pair *pairs;
    size_t npairs;
    json_t *filter;  /* [[study, series, instance], ...] or NULL: everything */
    char *folder;    /* import / export */
    char *result;    /* recorded: the result to store ({"response": ...}) */
    dv_plan *plan;
    dv_key *key;
    dv_run *run;
    atomic_int cancel;     /* operations.cancel reached us */
    atomic_int incomplete; /* an item could not be finished: do not finalise */
    atomic_size_t refs;    /* jobs still to end (main + chunks) */
    atomic_uint_fast64_t floor_since; /* op_floor.c: dvh_op_now_ns when its wait for disk space began, or 0 */
    struct dvh_op_ctx *next; /* in ops->running */
    dvh_op_timing timing;    /* op_timing.c */
} dvh_op_ctx;

typedef struct dvh_op_durable dvh_op_durable;
typedef struct dvh_op_floor dvh_op_floor;

struct dvh_ops {
    dvh_server *srv;
    dvj_pool *pool;
    dvh_op_durable *durable; /* op_durable.c: makes the chunks' outputs durable off the pool's threads */
    dvh_op_floor *disk_floor; /* op_floor.c: chunks parked until DATA is above --min-free-disk again */
    atomic_int stopping;     /* dvh_ops_stop began (read instead of the pool, which may be gone by then) */
    dv_budget *budget;
    dv_pixel_budget *pixel_budget; /* the pixel stage's, shared likewise (dv_pixel_budget.h) */
    dv_limits lim;
    pthread_mutex_t mu;
    dvh_op_ctx *running;
};

/* --- op_timing.c: the operation's phases in the server log --- */
uint64_t dvh_op_now_ns(void); /* CLOCK_MONOTONIC */
/* *at = max(*at, now - t0) (the latest of several marks). */
void dvh_op_timing_mark(atomic_uint_fast64_t *at, uint64_t t0);
/* *at = now - t0 unless set already (the first of several marks). */
void dvh_op_timing_first(atomic_uint_fast64_t *at, uint64_t t0);
/* One line {"event":"operation pipeline", ...} in the server's log (counts and milliseconds only). */
void dvh_op_timing_log(dvh_op_ctx *c);

/* --- op_finish.c: the end of an operation and of its op_ctx --- */
/* One line {"event", "operation"} in the server's log (no PHI: an event name and the operation id). */
void dvh_op_log(dvh_ops *o, const char *event, int64_t id);
/* The plan's warnings (settings accepted with no effect; JSON paths, never values), one server log line each:
 * a client of the API has no place to read them (Google's Operation has none); the dry run answers them. */
void dvh_op_log_warnings(dvh_ops *o, const dv_plan *plan, int64_t id);
/* Store the operation's result (done) as an error {code, status, message}. */
void dvh_op_finish_error(dvh_op_ctx *c, int code, const char *status, const char *message);
/* A job of c ended: the last one finalises c (response, CANCELLED or checkpoint) and frees it. */
void dvh_op_release(dvh_op_ctx *c);
/* Take c out of ops->running; free it (after dvh_op_unregister, or before it was queued). */
void dvh_op_unregister(dvh_op_ctx *c);
void dvh_op_ctx_free(dvh_op_ctx *c);
/* dv_run's cancel callback (user: the op_ctx): a cancel or a server stop. */
int dvh_op_run_cancelled(void *user);

/* --- op_request.c: the request as op_start.c stored it --- */
/* Fill c's kind, pairs, filter and folder from text; *config and *key_dataset point into *keep (the parsed
 * request, caller decrefs, set even on failure). 0, or -1 when the request is unreadable. */
int dvh_op_load_request(dvh_op_ctx *c, const char *text, int64_t *key_dataset, const char **config, json_t **keep);

/* --- op_plan.c: the operation's work items, written to the index --- */
/* De-identify and export: the source stores' instances the filter selects. Import: the folder's files. */
int dvh_op_plan_instances(dvh_op_ctx *c, dv_error *err);
int dvh_op_plan_files(dvh_op_ctx *c, dv_error *err);

/* --- op_item_deid.c, op_item_files.c: one work item (a recorded operation's items are done: op_jobs.c) --- */
enum { DVH_ITEM_DONE = 0, DVH_ITEM_LEAVE = 1 }; /* LEAVE: stays pending (cancel, shutdown) */

/* A de-identified output waiting for its chunk's durability point (op_batch.c): written, hashed and parsed
 * (dvh_store_prepare) but neither durable nor indexed yet, so its item is not finished yet. */
typedef struct dvh_op_staged {
    int64_t seq;           /* the item */
    dvh_prepared *pp;      /* the prepared put (owned; NULL when nothing is staged) */
    dvs_blob_writer *w;    /* pp's writer (pp owns it until dvh_store_commit): for dvs_blob_sync_many */
    dvh_put_result pr;     /* prepare's answer, then commit's (pp points at it: the staged entry must not move) */
    dvh_boxes *boxes;      /* the boxes painted on it (op_boxes.h; NULL: not recorded), saved once stored */
    dv_result res;         /* the output's UIDs, for the boxes' key */
} dvh_op_staged;

/* Each sets *state (DVS_ITEM_OK / DVS_ITEM_FAILED) and, when failed, *cls (a static error class) and
 * returns DVH_ITEM_DONE, or returns DVH_ITEM_LEAVE. buf: DVH_OP_COPY_BUF bytes of the chunk job.
 * deidentify: an OK item is only staged (st->pp set): op_batch.c stores it and decides its final state. */
int dvh_op_item_deidentify(dvh_op_ctx *c, dvh_putter *put, const dvs_op_item *it, dvh_op_staged *st, int *state,
                           const char **cls);
/* Give the de-identification's run the box observer that files each painted box with its item (op_boxes.h:
 * recorded with the operation for the console's review). */
void dvh_op_item_deid_watch_boxes(dv_run *run);
int dvh_op_item_import(dvh_op_ctx *c, dvh_putter *put, uint8_t *buf, const dvs_op_item *it, int *state,
                       const char **cls);
int dvh_op_item_export(dvh_op_ctx *c, uint8_t *buf, const dvs_op_item *it, int *state, const char **cls);
/* An ending export's sweep: the temporary copies that no writer holds are removed from the export folder, of its
 * failed items (never redone: a copy a kill left stays when the redo failed before reaching it) and, pending
 * set (a cancelled operation), of its pending items (what a kill left while an item was written: a resume redoes
 * the item under the same name, but a cancelled operation never does). The count removed; *broken set when the
 * folder or the index could not be read (some copies may remain). [test_server_ops.py "a cancelled export
 * leaves no temporary copy", "a completed export leaves no temporary copy"] */
size_t dvh_op_export_sweep(dvh_op_ctx *c, int pending, int *broken);

/* --- op_batch.c: one durability point for de-identified outputs --- */
/* A chunk job's staged outputs as handed to the durability stage: st[0..n) of operation c (n <= DVH_OP_CHUNK). */
typedef struct dvh_op_chunk {
    dvh_op_ctx *c;
    dvh_op_staged *st;
    size_t n;
} dvh_op_chunk;
/* One syncfs for the files of st[0..n) (staged by dvh_op_item_deidentify; at most DVH_OP_CHUNK): 0, or -1
 * when it failed (nothing marked durable: dvh_op_batch_finish then fsyncs each file). */
int dvh_op_batch_sync(dvh_op_staged *st, size_t n);
/* Store the chunks k[0..nk) of one round after their syncfs (dvh_op_batch_sync or one for the round): ONE
 * group commit for every output of the round (put_batch.c: one directory fsync per store, one index
 * transaction per 256 rows), each output's state and class, boxes saved for the stored ones, then each
 * operation's items of the round finished in the index in one transaction (op_items_finish; an index failure
 * marks that operation incomplete). Every st[i] is emptied (pp NULL, boxes freed); the chunks and their st
 * stay the caller's. An item is finished only once its output is durable. [test_server_ops.py "kill -9"]
 * Times go to each operation's timing (op_timing.c). */
void dvh_op_batch_finish_many(const dvh_op_chunk *k, size_t nk);
/* The same for one chunk. */
void dvh_op_batch_finish(dvh_op_ctx *c, dvh_op_staged *st, size_t n);

/* --- op_durable.c: the durability stage (a syncer and a committer thread per server) --- */
/* Start it; max: chunks that may wait for it (a submit waits for room beyond). NULL with err. */
dvh_op_durable *dvh_op_durable_start(size_t max, dv_error *err);
/* Hand over staged[0..n) of operation c (a chunk job's, malloc'd: the stage frees it; n <= DVH_OP_CHUNK):
 * it takes a reference on c, makes the outputs durable with those handed over meanwhile (one syncfs),
 * stores them with the other chunks made durable meanwhile and finishes their items
 * (dvh_op_batch_finish_many), then releases c. Waits while the stage is
 * full. Thread-safe. */
void dvh_op_durable_submit(dvh_op_durable *d, dvh_op_ctx *c, dvh_op_staged *staged, size_t n);
/* Store and finish everything handed over, end the threads, free d (NULL: no-op). Call after the pool's
 * shutdown: no submit may come after. */
void dvh_op_durable_stop(dvh_op_durable *d);

/* --- op_floor.c: --min-free-disk inside running operations (the rule: disk_floor.c dvh_disk_room) --- */
/* 1 when DATA's file system is above the floor (or there is none): an item may write its output. */
int dvh_op_floor_room(dvh_server *s);
/* Start the floor's thread (one per server). NULL with err. */
dvh_op_floor *dvh_op_floor_start(dvh_ops *o, dv_error *err);
/* A parked chunk: the node lives in the chunk job itself (op_jobs.c), so parking allocates nothing and cannot
 * fail (stop 42: a failed 32-byte malloc discarded the chunk, leaving its operation unfinished until a restart).
 * The caller sets c and job; next is the floor's. */
typedef struct dvh_op_parked {
    dvh_op_ctx *c;
    dvj_job job;
    struct dvh_op_parked *next;
} dvh_op_parked;
/* Park a chunk job of node->c that found no room (it holds its reference on c): queued to the pool again once
 * there is room, discarded at a cancel of c or a stop (and at once when closed or c is cancelled). node is the
 * job's until the job runs or is discarded: not touched by the caller after this call. The first chunk of c to
 * park in an episode logs one line (the operation id and the floor). Thread-safe. */
void dvh_op_floor_park(dvh_op_floor *f, dvh_op_parked *node);
/* A cancel reached a running operation: the thread looks at the parked ones now (NULL: no-op). */
void dvh_op_floor_poke(dvh_op_floor *f);
/* A stop: discard every parked chunk, end the thread; a park from now on discards (call before the pool's
 * shutdown, which may still park its running chunks). NULL: no-op. */
void dvh_op_floor_close(dvh_op_floor *f);
/* Free it (after dvh_op_floor_close and the pool's shutdown). NULL: no-op. */
void dvh_op_floor_free(dvh_op_floor *f);

/* --- op_put_outcome.c: a put's answer for a work item --- */
/* 1 when the instance counts as stored: stored now, or our own output stored before a crash (same bytes). */
int dvh_op_put_stored(const dvh_put_result *pr);
/* The error class of a refused put (the put path's failure reason), for the error log. */
const char *dvh_op_put_class(const dvh_put_result *pr);

/* --- op_jobs.c: the pool jobs --- */
/* The main job of an operation (arg: its op_ctx): load, plan, queue the chunk jobs. */
void dvh_op_main_run(dvj_pool *pool, void *arg);
void dvh_op_main_discard(void *arg);

#endif
