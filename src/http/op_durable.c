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
    dvh_op_ctx *c; /* a reference, released once the chunk's items are finished */
    dvh_op_staged *staged;
    size_t n;
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

static void round_store(durable_chunk *list)
{
    /* One syncfs for every file of the round (a failed one marks nothing: each file is then fsync'ed by the
     * group commit, op_batch.c). */
    size_t nw = 0;
    for (durable_chunk *k = list; k; k = k->next)
        nw += k->n;
    dvs_blob_writer **w = malloc((nw ? nw : 1) * sizeof *w);
    if (w) {
        size_t i = 0;
        for (durable_chunk *k = list; k; k = k->next)
            for (size_t j = 0; j < k->n; j++)
                if (k->staged[j].pp)
                    w[i++] = k->staged[j].w;
        (void)dvs_blob_sync_many(w, i);
        free(w);
    }
    while (list) {
        durable_chunk *k = list;
        list = k->next;
        dvh_op_batch_finish(k->c, k->staged, k->n);
        free(k->staged);
        dvh_op_release(k->c);
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
        durable_chunk *list = d->head;
        d->head = d->tail = NULL;
        d->queued = 0;
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
    k->c = c;
    k->staged = staged;
    k->n = n;
    k->next = NULL;
    pthread_mutex_lock(&d->mu);
    while (d->queued >= d->max && !d->stop)
        pthread_cond_wait(&d->room, &d->mu);
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
