/* The operations worker pool (see dvj_pool.h). */
#include "jobs/dvj_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util/dv_thread_altstack.h"

struct dvj_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    dvj_job *ring; /* queue_max slots */
    size_t cap, head, count;
    atomic_int stopping;
    pthread_t *threads;
    unsigned nthreads;
};

static void *worker(void *arg)
{
    dvj_pool *p = arg;
    void *alt = dv_thread_altstack_enter(); /* a crash report even for a stack overflow */
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->count == 0 && !atomic_load(&p->stopping))
            pthread_cond_wait(&p->cv, &p->mu);
        if (atomic_load(&p->stopping)) {
            pthread_mutex_unlock(&p->mu);
            dv_thread_altstack_leave(alt);
            return NULL;
        }
        dvj_job job = p->ring[p->head];
        p->head = (p->head + 1) % p->cap;
        p->count--;
        pthread_mutex_unlock(&p->mu);
        job.run(p, job.arg);
    }
}

dvj_pool *dvj_pool_new(unsigned workers, size_t queue_max, dv_error *err)
{
    if (workers == 0 || workers > 256 || queue_max == 0 || queue_max > 1000000) {
        dv_fail(err, DV_ERR_USAGE, "jobs: 1-256 workers and a queue of 1-1000000 jobs");
        return NULL;
    }
    dvj_pool *p = calloc(1, sizeof *p);
    if (p == NULL || (p->ring = calloc(queue_max, sizeof *p->ring)) == NULL ||
        (p->threads = calloc(workers, sizeof *p->threads)) == NULL) {
        if (p)
            free(p->ring);
        free(p);
        dv_fail(err, DV_ERR_NOMEM, "jobs: out of memory");
        return NULL;
    }
    p->cap = queue_max;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (unsigned i = 0; i < workers; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
            dv_fail(err, DV_ERR_IO, "jobs: cannot start worker thread %u", i);
            dvj_pool_shutdown(p);
            return NULL;
        }
        p->nthreads++;
    }
    return p;
}

int dvj_pool_submit(dvj_pool *p, const dvj_job *job, dv_error *err)
{
    if (job == NULL || job->run == NULL)
        return dv_fail(err, DV_ERR_USAGE, "jobs: a job needs a run function");
    pthread_mutex_lock(&p->mu);
    int rc = 0;
    if (atomic_load(&p->stopping)) {
        rc = dv_fail(err, DV_ERR_USAGE, "jobs: the pool is shutting down");
    } else if (p->count == p->cap) {
        rc = dv_fail(err, DV_ERR_LIMIT, "jobs: queue full (%zu jobs)", p->cap);
    } else {
        p->ring[(p->head + p->count) % p->cap] = *job;
        p->count++;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int dvj_pool_stopping(const dvj_pool *p)
{
    return atomic_load(&((dvj_pool *)p)->stopping);
}

size_t dvj_pool_queued(dvj_pool *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->count;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void dvj_pool_shutdown(dvj_pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stopping, 1);
    /* Take the queued jobs out under the lock; discard them after, so a discard callback may block. */
    size_t n = p->count;
    dvj_job *left = n ? malloc(n * sizeof *left) : NULL;
    for (size_t i = 0; i < n; i++) {
        dvj_job j = p->ring[(p->head + i) % p->cap];
        if (left)
            left[i] = j;
        else if (j.discard)
            j.discard(j.arg); /* no memory for the copy: discard under the lock rather than lose the job */
    }
    p->count = 0;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; left && i < n; i++)
        if (left[i].discard)
            left[i].discard(left[i].arg);
    free(left);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->threads);
    free(p->ring);
    free(p);
}
