/* The durability stage of de-identify operations: one thread per server (the committer) makes the chunks'
 * outputs durable while the pool threads keep de-identifying. Why a file: before, the pool thread that
 * computed a chunk also waited for its syncfs, directory fsync and index commits, so with one pool thread per
 * CPU a CPU idled during every wait (bench/RESULTS.md "Equal durability"). Now a chunk job hands its staged
 * outputs over (dvh_op_durable_submit) and takes its next chunk; the committer takes every chunk handed over
 * since its last round, makes all their files durable with ONE syncfs (dvs_blob_sync_many), then per chunk
 * names and indexes them (one group commit) and finishes the items (op_batch.c dvh_op_batch_finish).
 *
 * The crash guarantee is unchanged: an item is finished only after its output is durable, by the committer;
 * a crash before leaves it pending and its redo finds its own output (counted once). [test_server_ops.py
 * "kill -9"; test_server_ops.py "the destination holds each instance once"]
 * Bounded: at most `max` chunks wait; a chunk job that finds the queue full waits for room (each chunk holds
 * up to DVH_OP_CHUNK open files). At stop the committer drains what was handed over, then ends. */
#include <stdlib.h>

#include "http/op_internal.h"

typedef struct durable_chunk {
    dvh_op_chunk k; /* k.c: a reference, released once the chunk's items are finished */
    struct durable_chunk *next;
} durable_chunk;

struct dvh_op_durable {
    pthread_mutex_t mu;
    pthread_cond_t more, room;
    durable_chunk *head, *tail;
    size_t queued, max;
    int stop;
    pthread_t thread;
};

/* One round: every chunk handed over since the last one (at most DVH_OP_ROUND_MAX chunks). */
static void round_store(durable_chunk *list)
{
    dvh_op_chunk ks[DVH_OP_ROUND_MAX];
    dvs_blob_writer *w[DVH_OP_ROUND_MAX * DVH_OP_CHUNK];
    size_t nk = 0, nw = 0;
    for (durable_chunk *k = list; k && nk < DVH_OP_ROUND_MAX; k = k->next) {
        ks[nk++] = k->k;
        for (size_t j = 0; j < k->k.n; j++)
            if (k->k.st[j].pp)
                w[nw++] = k->k.st[j].w;
    }
    /* 1. One syncfs for every file of the round (a failed one marks nothing: each file is then fsync'ed by
     *    the group commit, store_put.c). */
    uint64_t t0 = dvh_op_now_ns();
    (void)dvs_blob_sync_many(w, nw);
    uint64_t ts = dvh_op_now_ns() - t0;
    for (size_t j = 0; j < nk; j++) { /* the round's syncfs, counted once per operation of the round */
        dvh_op_timing *t = &ks[j].c->timing;
        uint64_t round = t0, prev = atomic_exchange(&t->last_round, round);
        if (prev != round) {
            atomic_fetch_add(&t->rounds, 1);
            atomic_fetch_add(&t->syncfs_ns, ts);
        }
    }
    /* 2, 3. One group commit for the whole round, then each operation's items finished (op_batch.c). */
    dvh_op_batch_finish_many(ks, nk);
    while (list) {
        durable_chunk *k = list;
        list = k->next;
        free(k->k.st);
        dvh_op_release(k->k.c);
        free(k);
    }
}

static void *committer(void *arg)
{
    dvh_op_durable *d = arg;
    pthread_mutex_lock(&d->mu);
    for (;;) {
        while (d->head == NULL && !d->stop)
            pthread_cond_wait(&d->more, &d->mu);
        if (d->head == NULL)
            break; /* stopped and drained */
        /* The round: everything handed over so far, up to DVH_OP_ROUND_MAX chunks (the rest is the next
         * round's). Taking it frees the queue's room at once, so the pool threads hand over and compute their
         * next chunks while this round's syncfs runs. */
        durable_chunk *list = d->head, *last = d->head;
        size_t taken = 1;
        while (last->next && taken < DVH_OP_ROUND_MAX) {
            last = last->next;
            taken++;
        }
        d->head = last->next;
        last->next = NULL;
        if (d->head == NULL)
            d->tail = NULL;
        d->queued -= taken;
        pthread_cond_broadcast(&d->room);
        pthread_mutex_unlock(&d->mu);
        round_store(list);
        pthread_mutex_lock(&d->mu);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

dvh_op_durable *dvh_op_durable_start(size_t max, dv_error *err)
{
    dvh_op_durable *d = calloc(1, sizeof *d);
    if (d == NULL) {
        dv_fail(err, DV_ERR_NOMEM, "operations: out of memory");
        return NULL;
    }
    d->max = max ? max : 1;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->more, NULL);
    pthread_cond_init(&d->room, NULL);
    if (pthread_create(&d->thread, NULL, committer, d) != 0) {
        pthread_cond_destroy(&d->room);
        pthread_cond_destroy(&d->more);
        pthread_mutex_destroy(&d->mu);
        free(d);
        dv_fail(err, DV_ERR_IO, "operations: cannot start the durability thread");
        return NULL;
    }
    return d;
}

void dvh_op_durable_submit(dvh_op_durable *d, dvh_op_ctx *c, dvh_op_staged *staged, size_t n)
{
    durable_chunk *k = malloc(sizeof *k);
    if (k == NULL) { /* no memory for the hand-over: store it on this thread, as before the pipeline */
        (void)dvh_op_batch_sync(staged, n);
        dvh_op_batch_finish(c, staged, n);
        free(staged);
        return;
    }
    atomic_fetch_add(&c->refs, 1);
    k->k = (dvh_op_chunk){c, staged, n};
    k->next = NULL;
    uint64_t t0 = dvh_op_now_ns();
    pthread_mutex_lock(&d->mu);
    while (d->queued >= d->max && !d->stop)
        pthread_cond_wait(&d->room, &d->mu);
    atomic_fetch_add(&c->timing.room_wait_ns, dvh_op_now_ns() - t0);
    dvh_op_timing_mark(&c->timing.last_handover, c->timing.start);
    if (d->tail)
        d->tail->next = k;
    else
        d->head = k;
    d->tail = k;
    d->queued++;
    pthread_cond_signal(&d->more);
    pthread_mutex_unlock(&d->mu);
}

void dvh_op_durable_stop(dvh_op_durable *d)
{
    if (d == NULL)
        return;
    pthread_mutex_lock(&d->mu);
    d->stop = 1;
    pthread_cond_broadcast(&d->more);
    pthread_cond_broadcast(&d->room);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->thread, NULL);
    pthread_cond_destroy(&d->room);
    pthread_cond_destroy(&d->more);
    pthread_mutex_destroy(&d->mu);
    free(d);
}
