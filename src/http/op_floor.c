/* The free-space floor inside running operations (--min-free-disk; the rule itself is disk_floor.c's
 * dvh_disk_room, this file only decides what an operation does when the floor is reached).
 *
 * Before an :import or a :deidentify item writes its output into DATA, its chunk job (op_jobs.c) checks the
 * floor. Below it, the item is neither run nor counted: the chunk hands what it already staged to the
 * durability stage, then parks the rest of its range here and returns its pool thread, so the pool keeps
 * running what does not need DATA's room (an :export, another operation's cancel). The floor thread re-checks
 * every 0.5, 1, then 2 s; once there is room it queues the parked chunks again, in the order they parked, and
 * they carry on from their first pending item. While parked:
 * - a cancel (operations.cancel here, dvh_op_floor_poke; or in the index by another server sharing it, read
 *   at each re-check) ends the operation CANCELLED at once: its chunks are discarded, their items stay pending;
 * - a server stop discards the parked chunks (dvh_op_floor_close, before the pool's shutdown): the operation
 *   is checkpointed and resumes at the next start, where it waits again if there is still no room.
 * No transaction, index row or lock is held while parked: a parked chunk is a seq range and a reference on
 * its operation. One line per operation and wait episode goes to the server log, {"event":"operation waiting
 * for free disk space","operation":N,"min_free_disk":BYTES}: the operation id and the floor, never a path or
 * a UID. Why wait rather than fail: a full disk is the operator's to fix, not a property of the instances, so
 * counting them as failed de-identifications would be wrong and would need a second run; ending the operation
 * with RESOURCE_EXHAUSTED would do the same to its pending items. Waiting keeps the operation whole and costs
 * nothing until there is room. [test_server_disk_wait.py] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "http/op_internal.h"

#define RECHECK_FIRST_MS 500
#define RECHECK_MAX_MS 2000

typedef dvh_op_parked parked;

struct dvh_op_floor {
    dvh_ops *o;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    parked *head, *tail;
    int closed; /* dvh_op_floor_close began: nothing parks any more */
    int poked;  /* a cancel arrived: look at the parked operations now */
};

int dvh_op_floor_room(dvh_server *s)
{
    dvh_err e = {0};
    return dvh_disk_room(s, 0, &e) == 0;
}

/* Its operation's id, not its op_ctx: once the chunk is in the list, the floor's thread or a stop may discard it
 * and end the operation (its op_ctx freed) before the parking thread writes this line. [test_op_floor] */
static void floor_log(dvh_server *s, int64_t id)
{
    dvh_logf(s, "{\"event\":\"operation waiting for free disk space\",\"operation\":%lld,\"min_free_disk\":%llu}\n",
             (long long)id, (unsigned long long)s->cfg.min_free_disk);
}

/* End of a wait (room, cancel or stop): the episode's time goes to the operation's timing (op_timing.c). */
static void episode_end(dvh_op_ctx *c)
{
    uint64_t t0 = atomic_exchange(&c->floor_since, 0);
    if (t0)
        atomic_fetch_add(&c->timing.disk_wait_ns, dvh_op_now_ns() - t0);
}

void dvh_op_floor_park(dvh_op_floor *f, dvh_op_parked *p)
{
    dvh_op_ctx *c = p->c;
    dvj_job job = p->job;
    int log = 0;
    dvh_server *s = c->ops->srv; /* c and p may be gone once p is parked and f->mu let go (floor_log) */
    int64_t id = c->id;
    pthread_mutex_lock(&f->mu);
    /* Closed (stopping) or cancelled meanwhile: not parked (see discard_all). */
    int keep = !f->closed && !atomic_load(&c->cancel);
    if (keep) {
        p->next = NULL;
        if (f->tail)
            f->tail->next = p;
        else
            f->head = p;
        f->tail = p;
        uint64_t zero = 0;
        log = atomic_compare_exchange_strong(&c->floor_since, &zero, dvh_op_now_ns()); /* a new episode */
        pthread_cond_signal(&f->cv);
    }
    pthread_mutex_unlock(&f->mu);
    if (log)
        floor_log(s, id);
    if (!keep) /* a stop: the operation resumes at the next start; a cancel: it ends CANCELLED */
        job.discard(job.arg);
}

void dvh_op_floor_poke(dvh_op_floor *f)
{
    if (f == NULL)
        return;
    pthread_mutex_lock(&f->mu);
    f->poked = 1;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

/* The ids of the operations parked (each once; *n of them, malloc'd; NULL when none or no memory). f->mu held. */
static int64_t *parked_ids(dvh_op_floor *f, size_t *n)
{
    size_t cap = 0;
    *n = 0;
    for (parked *p = f->head; p; p = p->next)
        cap++;
    int64_t *ids = cap ? malloc(cap * sizeof *ids) : NULL;
    for (parked *p = f->head; ids && p; p = p->next) {
        size_t i = 0;
        while (i < *n && ids[i] != p->c->id)
            i++;
        if (i == *n)
            ids[(*n)++] = p->c->id;
    }
    return ids;
}

/* Read in the index whether each operation of ids[0..n) was cancelled (or ended) by another server sharing it,
 * without f->mu (an index read may take a while: parking must not wait for it); 1 kept in cancelled[i]. */
static void read_cancels(dvh_op_floor *f, const int64_t *ids, size_t n, unsigned char *cancelled)
{
    dvs_index *ix = f->o->srv->ix;
    for (size_t i = 0; i < n; i++) {
        dvs_operation op;
        dv_error err = {0};
        cancelled[i] = 0;
        if (ix->ops->op_get(ix, 0, ids[i], &op, &err) == DVS_OK) {
            cancelled[i] = op.cancel_requested || op.done;
            dvs_operation_clear(&op);
        }
    }
}

/* Take out of the list every parked chunk of a cancelled operation (the cancel flag, set here or by
 * read_cancels' answer for ids[0..n)); the caller discards them. f->mu held. */
static parked *take_cancelled(dvh_op_floor *f, const int64_t *ids, size_t n, const unsigned char *cancelled)
{
    parked *out = NULL, **tail = &out;
    parked **pp = &f->head;
    f->tail = NULL;
    while (*pp) {
        parked *p = *pp;
        for (size_t i = 0; i < n; i++)
            if (cancelled[i] && ids[i] == p->c->id)
                atomic_store(&p->c->cancel, 1);
        if (atomic_load(&p->c->cancel)) {
            *pp = p->next;
            p->next = NULL;
            *tail = p;
            tail = &p->next;
        } else {
            f->tail = p;
            pp = &p->next;
        }
    }
    return out;
}

/* Discard each chunk of list (a cancel or a stop: the operation's last job writes CANCELLED or leaves it
 * checkpointed, op_finish.c). */
static void discard_all(parked *list)
{
    while (list) {
        parked *p = list;
        list = p->next;
        episode_end(p->c);
        p->job.discard(p->job.arg); /* frees p with its chunk */
    }
}

static void *floor_thread(void *arg)
{
    dvh_op_floor *f = arg;
    dvh_ops *o = f->o;
    unsigned wait_ms = RECHECK_FIRST_MS;
    /* The next re-check, kept across pokes: a cancel of any operation wakes the thread, and a deadline made again
     * at each wake would let a stream of cancels put the re-check off for ever (stop 42's review). */
    struct timespec ts;
    int have_deadline = 0;
    pthread_mutex_lock(&f->mu);
    while (!f->closed) {
        if (f->head == NULL) {
            wait_ms = RECHECK_FIRST_MS;
            have_deadline = 0;
            f->poked = 0;
            pthread_cond_wait(&f->cv, &f->mu);
            continue;
        }
        if (!have_deadline) {
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += wait_ms / 1000;
            ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            have_deadline = 1;
        }
        int timed_out = 0;
        while (!f->closed && !f->poked && !timed_out)
            timed_out = pthread_cond_timedwait(&f->cv, &f->mu, &ts) != 0;
        if (f->closed)
            break;
        f->poked = 0;
        if (timed_out)
            have_deadline = 0;
        /* A re-check also reads the index for a cancel from another server; a poke only looks at the flags. */
        size_t n = 0;
        int room = 0;
        int64_t *ids = NULL;
        unsigned char *cancelled = NULL;
        if (timed_out) {
            ids = parked_ids(f, &n);
            cancelled = n ? calloc(n, 1) : NULL;
            if (cancelled == NULL)
                n = 0;
            pthread_mutex_unlock(&f->mu);
            read_cancels(f, ids, n, cancelled);
            room = dvh_op_floor_room(o->srv); /* an fstatvfs, outside the lock: DATA may be a hung NFS mount */
            pthread_mutex_lock(&f->mu);
            if (f->closed) { /* dvh_op_floor_close took the list meanwhile */
                free(ids);
                free(cancelled);
                break;
            }
        }
        parked *gone = take_cancelled(f, ids, n, cancelled);
        free(ids);
        free(cancelled);
        parked *ready = NULL;
        if (timed_out && f->head && room) {
            ready = f->head;
            f->head = f->tail = NULL;
            wait_ms = RECHECK_FIRST_MS;
        } else if (timed_out) {
            wait_ms = wait_ms * 2 > RECHECK_MAX_MS ? RECHECK_MAX_MS : wait_ms * 2;
        }
        /* Room again: every ready operation's episode ends before the lock goes (a chunk of it parking meanwhile
         * begins the next one, with its line and its time; stop 42's review: ended after, that wait went
         * unlogged and untimed). Only atomics. */
        for (parked *p = ready; p; p = p->next)
            episode_end(p->c);
        pthread_mutex_unlock(&f->mu);
        discard_all(gone);
        /* Queue the chunks as they parked. A refused submit (the pool stopping) discards: the operation resumes
         * at the next start. */
        while (ready) {
            parked *p = ready;
            ready = p->next;
            dv_error err = {0};
            dvj_job job = p->job; /* once submitted, the chunk (and p in it) may run and be freed at once */
            if (dvj_pool_submit(o->pool, &job, &err) != 0)
                job.discard(job.arg);
        }
        pthread_mutex_lock(&f->mu);
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

dvh_op_floor *dvh_op_floor_start(dvh_ops *o, dv_error *err)
{
    dvh_op_floor *f = calloc(1, sizeof *f);
    if (f == NULL) {
        dv_fail(err, DV_ERR_NOMEM, "operations: out of memory");
        return NULL;
    }
    f->o = o;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&f->mu, NULL);
    if (pthread_create(&f->thread, NULL, floor_thread, f) != 0) {
        pthread_cond_destroy(&f->cv);
        pthread_mutex_destroy(&f->mu);
        free(f);
        dv_fail(err, DV_ERR_IO, "operations: cannot start the free-space thread");
        return NULL;
    }
    return f;
}

void dvh_op_floor_close(dvh_op_floor *f)
{
    if (f == NULL)
        return;
    pthread_mutex_lock(&f->mu);
    f->closed = 1;
    parked *all = f->head;
    f->head = f->tail = NULL;
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->thread, NULL);
    discard_all(all);
}

void dvh_op_floor_free(dvh_op_floor *f)
{
    if (f == NULL)
        return;
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
}
