/* The durability stage of de-identify operations: two threads per server make the chunks' outputs durable
 * while the pool threads keep de-identifying. Why a file: before, the pool thread that computed a chunk also
 * waited for its syncfs, directory fsync and index commits, so with one pool thread per CPU a CPU idled during
 * every wait (bench/RESULTS.md "Equal durability"). A chunk job hands its staged outputs over
 * (dvh_op_durable_submit) and takes its next chunk; then
 *
 *   - the syncer takes every chunk handed over since its last round (up to DVH_OP_ROUND_MAX) and makes all
 *     their files durable with ONE syncfs (dvs_blob_sync_many);
 *   - the committer takes every chunk the syncer has made durable (several of its rounds when it fell
 *     behind) and stores them: ONE group commit for all (names, one directory fsync per store, one index
 *     transaction), then each operation's items finished in one transaction (op_batch.c
 *     dvh_op_batch_finish_many).
 *
 * Why two threads: the commit's directory and WAL fsyncs queue behind the writeback the pool threads keep
 * starting, as the syncfs does; with one thread each round waited for the disk twice in a row (syncfs, then
 * the commit: 50-150 ms of wall for 3-5 ms of CPU per 32 outputs on the loaded machine), now the next round's
 * syncfs waits while this round commits (bench/RESULTS.md "Operation pipeline, second pass").
 *
 * The crash guarantee is unchanged: an item is finished only after its output is durable (the committer only
 * sees chunks whose syncfs returned; a failed syncfs marks nothing, and the group commit then fsyncs each
 * file); a crash before leaves it pending and its redo finds its own output (counted once).
 * [test_server_ops.py "kill -9"; test_server_ops.py "the destination holds each instance once";
 * test_server_ops.py "pipeline phases"]
 * Bounded: at most `max` chunks wait for the syncer (a chunk job that finds the queue full waits for room)
 * and at most DVH_OP_ROUND_MAX chunks are between the syncer and the end of their commit (each output holds
 * two open files until then). At stop both threads drain what was handed over, then end. */
#include <stdlib.h>

#include "http/op_internal.h"

typedef struct durable_chunk {
    dvh_op_chunk k; /* k.c: a reference, released once the chunk's items are finished */
    struct durable_chunk *next;
} durable_chunk;

typedef struct chunk_list {
    durable_chunk *head, *tail;
    size_t n;
} chunk_list;

struct dvh_op_durable {
    pthread_mutex_t mu;
    pthread_cond_t more;   /* handed over, or room between the stages: the syncer */
    pthread_cond_t room;   /* the queue has room: submitters */
    pthread_cond_t synced; /* durable chunks, or the syncer ended: the committer */
    chunk_list queue;      /* handed over, not yet taken by the syncer (at most max) */
    chunk_list durable;    /* synced, not yet taken by the committer */
    size_t held;           /* taken by the syncer and not yet finished by the committer */
    size_t max;
    int stop, syncer_ended;
    pthread_t syncer, committer;
};

static void list_push(chunk_list *l, durable_chunk *k)
{
    k->next = NULL;
    if (l->tail)
        l->tail->next = k;
    else
        l->head = k;
    l->tail = k;
    l->n++;
}

/* Take the first `most` chunks of l (at least one: l is not empty) as a NULL-terminated list. */
static durable_chunk *list_take(chunk_list *l, size_t most, size_t *taken)
{
    durable_chunk *first = l->head, *last = l->head;
    size_t n = 1;
    while (last->next && n < most) {
        last = last->next;
        n++;
    }
    l->head = last->next;
    last->next = NULL;
    if (l->head == NULL)
        l->tail = NULL;
    l->n -= n;
    *taken = n;
    return first;
}

/* One syncfs for every file of the chunks of list (a failed one marks nothing). */
static void list_sync(durable_chunk *list)
{
    dvs_blob_writer *w[DVH_OP_ROUND_MAX * DVH_OP_CHUNK];
    size_t nw = 0;
    for (durable_chunk *k = list; k; k = k->next)
        for (size_t j = 0; j < k->k.n && nw < sizeof w / sizeof *w; j++)
            if (k->k.st[j].pp)
                w[nw++] = k->k.st[j].w;
    uint64_t t0 = dvh_op_now_ns();
    (void)dvs_blob_sync_many(w, nw);
    uint64_t ts = dvh_op_now_ns() - t0;
    for (durable_chunk *k = list; k; k = k->next) { /* the round's syncfs, counted once per operation */
        dvh_op_timing *t = &k->k.c->timing;
        if (atomic_exchange(&t->last_round, t0) != t0) {
            atomic_fetch_add(&t->rounds, 1);
            atomic_fetch_add(&t->syncfs_ns, ts);
        }
    }
}

static void *syncer(void *arg)
{
    dvh_op_durable *d = arg;
    pthread_mutex_lock(&d->mu);
    for (;;) {
        while ((d->queue.head == NULL || d->held >= DVH_OP_ROUND_MAX) && !(d->stop && d->queue.head == NULL))
            pthread_cond_wait(&d->more, &d->mu);
        if (d->queue.head == NULL)
            break; /* stopped and drained */
        /* The round: everything handed over so far, up to what the stage may hold. Taking it frees the queue's
         * room at once, so the pool threads hand over and compute their next chunks during the syncfs. */
        size_t taken;
        durable_chunk *list = list_take(&d->queue, DVH_OP_ROUND_MAX - d->held, &taken);
        d->held += taken;
        pthread_cond_broadcast(&d->room);
        pthread_mutex_unlock(&d->mu);
        list_sync(list);
        pthread_mutex_lock(&d->mu);
        while (list) {
            durable_chunk *k = list;
            list = k->next;
            list_push(&d->durable, k);
        }
        pthread_cond_signal(&d->synced);
    }
    d->syncer_ended = 1;
    pthread_cond_signal(&d->synced);
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

static void *committer(void *arg)
{
    dvh_op_durable *d = arg;
    pthread_mutex_lock(&d->mu);
    for (;;) {
        while (d->durable.head == NULL && !d->syncer_ended)
            pthread_cond_wait(&d->synced, &d->mu);
        if (d->durable.head == NULL)
            break; /* the syncer ended and everything is stored */
        size_t taken;
        durable_chunk *list = list_take(&d->durable, DVH_OP_ROUND_MAX, &taken);
        pthread_mutex_unlock(&d->mu);
        dvh_op_chunk ks[DVH_OP_ROUND_MAX];
        size_t nk = 0;
        for (durable_chunk *k = list; k; k = k->next)
            ks[nk++] = k->k;
        dvh_op_batch_finish_many(ks, nk);
        while (list) {
            durable_chunk *k = list;
            list = k->next;
            free(k->k.st);
            dvh_op_release(k->k.c);
            free(k);
        }
        pthread_mutex_lock(&d->mu);
        d->held -= taken;
        pthread_cond_signal(&d->more);
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
    pthread_cond_init(&d->synced, NULL);
    if (pthread_create(&d->syncer, NULL, syncer, d) != 0)
        goto fail;
    if (pthread_create(&d->committer, NULL, committer, d) != 0) {
        pthread_mutex_lock(&d->mu);
        d->stop = 1;
        pthread_cond_broadcast(&d->more);
        pthread_mutex_unlock(&d->mu);
        pthread_join(d->syncer, NULL);
        goto fail;
    }
    return d;
fail:
    pthread_cond_destroy(&d->synced);
    pthread_cond_destroy(&d->room);
    pthread_cond_destroy(&d->more);
    pthread_mutex_destroy(&d->mu);
    free(d);
    dv_fail(err, DV_ERR_IO, "operations: cannot start the durability thread");
    return NULL;
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
    uint64_t t0 = dvh_op_now_ns();
    pthread_mutex_lock(&d->mu);
    while (d->queue.n >= d->max && !d->stop)
        pthread_cond_wait(&d->room, &d->mu);
    atomic_fetch_add(&c->timing.room_wait_ns, dvh_op_now_ns() - t0);
    dvh_op_timing_mark(&c->timing.last_handover, c->timing.start);
    list_push(&d->queue, k);
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
    pthread_join(d->syncer, NULL);
    pthread_join(d->committer, NULL);
    pthread_cond_destroy(&d->synced);
    pthread_cond_destroy(&d->room);
    pthread_cond_destroy(&d->more);
    pthread_mutex_destroy(&d->mu);
    free(d);
}
