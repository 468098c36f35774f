/* The server's worker pool for long-running operations (de-identify, import, export: issue 7 item 5, the next
 * step). A fixed set of threads takes jobs from a bounded FIFO queue.
 *
 * Shutdown is cooperative, for "running operations checkpoint and resume at the next start": after
 * dvj_pool_shutdown starts, dvj_pool_stopping is true, so a running job (e.g. through dv_run's cancel
 * callback) stops at its next instance boundary and returns; jobs still queued are handed to their discard
 * callback instead of being run (their operation stays persisted as unfinished and resumes at the next start).
 * The pool holds no process-wide state: a server may own several. [test_jobs] */
#ifndef DVJ_POOL_H
#define DVJ_POOL_H

#include <stddef.h>

#include "dicomveil/dv_error.h"

typedef struct dvj_pool dvj_pool;

/* run: the job's work (on a worker thread). discard (may be NULL): called instead of run for a job still
 * queued at shutdown, so its owner can release arg. Exactly one of them is called for every accepted job. */
typedef struct dvj_job {
    void (*run)(dvj_pool *pool, void *arg);
    void (*discard)(void *arg);
    void *arg;
} dvj_job;

/* workers: 1-256 threads; queue_max: jobs waiting at most (1-1000000). NULL with err (DV_ERR_USAGE for bad
 * sizes, DV_ERR_NOMEM, DV_ERR_IO when a thread cannot start). */
dvj_pool *dvj_pool_new(unsigned workers, size_t queue_max, dv_error *err);
/* Queue a job. 0, or -1 with err: DV_ERR_LIMIT when the queue is full, DV_ERR_USAGE after shutdown began
 * (the job is then not taken: neither callback is called). Thread-safe. */
int dvj_pool_submit(dvj_pool *p, const dvj_job *job, dv_error *err);
/* 1 once shutdown began: running jobs should checkpoint and return. Thread-safe, lock-free. */
int dvj_pool_stopping(const dvj_pool *p);
/* Jobs queued and not yet started. */
size_t dvj_pool_queued(dvj_pool *p);
/* Stop: refuse new jobs, discard the queued ones, wait for the running ones to return, join the threads,
 * free the pool. NULL is a no-op. */
void dvj_pool_shutdown(dvj_pool *p);

#endif
