/* Group commit of the store's put path (store_put.c): the instances whose files are named while the previous
 * commit runs are indexed together, in one transaction, so N concurrent STOWs share one directory fsync per
 * store and one index commit (one WAL fsync with SQLite) instead of paying one each.
 *
 * Leader / followers: a thread that finds no commit running becomes the leader, takes every queued instance
 * (its own included; at most BATCH_MAX), commits them and wakes their threads; threads that queued meanwhile
 * wait, and the first of them to wake with its instance still queued leads the next batch. Nobody returns
 * before its own instance is committed: an acknowledged STOW is durable (docs/server.md "Durability"), the
 * batch only shares the fsyncs, it never skips one.
 *
 * Order inside a batch: each file was fsync'ed by its own thread (in parallel) and linked to its name before
 * it was queued; the leader fsyncs the directories of the batch's stores (the names), then commits the rows.
 * So a durable row always names a durable file. [test_server_perf.py "group commit"] */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "http/server_internal.h"
#include "store/dvs_blobs.h"

#define BATCH_MAX 256 /* instances per transaction: bounds a follower's wait and the leader's arrays */

typedef struct put_req {
    int64_t store_id;
    const dvs_instance_rec *rec;
    char existing[65];
    int rc;
    int done;
    dv_error err;
    struct put_req *next;
} put_req;

struct dvh_batcher {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    put_req *head, *tail;
    int leading; /* a leader is committing */
    /* The leader's arrays (only the leader touches them, one leader at a time). */
    int64_t ids[BATCH_MAX];
    const dvs_instance_rec *recs[BATCH_MAX];
    char existing[BATCH_MAX][65];
    int rcs[BATCH_MAX];
};

dvh_batcher *dvh_batcher_new(void)
{
    dvh_batcher *b = calloc(1, sizeof *b);
    if (b == NULL)
        return NULL;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    return b;
}

void dvh_batcher_free(dvh_batcher *b)
{
    if (b == NULL)
        return;
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    free(b);
}

/* The leader's work, unlocked: reqs[0..n) become durable rows, or fail. */
static void commit_batch(dvh_server *srv, dvh_batcher *b, put_req **reqs, size_t n)
{
    dv_error err = {0};
    int dir_failed = 0;
    /* One fsync per distinct store directory (a batch has one store, or a few). */
    for (size_t k = 0; k < n && !dir_failed; k++) {
        int seen = 0;
        for (size_t j = 0; j < k && !seen; j++)
            seen = reqs[j]->store_id == reqs[k]->store_id;
        if (!seen && dvs_store_dir_sync(srv->data_fd, reqs[k]->store_id, &err) != 0)
            dir_failed = 1;
    }
    if (dir_failed) {
        for (size_t k = 0; k < n; k++) {
            reqs[k]->rc = -1;
            reqs[k]->err = err;
        }
        return;
    }
    const dvs_index_ops *ops = srv->ix->ops;
    if (ops->instance_put_batch == NULL) { /* a backend without group commit (PostgreSQL): one by one */
        for (size_t k = 0; k < n; k++)
            reqs[k]->rc = ops->instance_put(srv->ix, reqs[k]->store_id, reqs[k]->rec, reqs[k]->existing,
                                            &reqs[k]->err);
        return;
    }
    for (size_t k = 0; k < n; k++) {
        b->ids[k] = reqs[k]->store_id;
        b->recs[k] = reqs[k]->rec;
    }
    int all = ops->instance_put_batch(srv->ix, n, b->ids, b->recs, b->existing, b->rcs, &err);
    for (size_t k = 0; k < n; k++) {
        reqs[k]->rc = all == 0 ? b->rcs[k] : -1;
        reqs[k]->err = err;
        if (reqs[k]->rc == DVS_EXISTS)
            memcpy(reqs[k]->existing, b->existing[k], 65);
    }
}

void dvh_batch_put_many(dvh_server *srv, size_t n, const int64_t *store_ids, const dvs_instance_rec *const *recs,
                        char (*existing)[65], int *rcs)
{
    dvh_batcher *b = srv->batch;
    put_req *mine = calloc(n, sizeof *mine);
    if (mine == NULL) {
        for (size_t k = 0; k < n; k++)
            rcs[k] = -1;
        return;
    }
    pthread_mutex_lock(&b->mu);
    for (size_t k = 0; k < n; k++) {
        mine[k] = (put_req){.store_id = store_ids[k], .rec = recs[k], .rc = -1};
        if (b->tail)
            b->tail->next = &mine[k];
        else
            b->head = &mine[k];
        b->tail = &mine[k];
    }
    size_t waiting = n;
    while (waiting) {
        if (b->leading) {
            pthread_cond_wait(&b->cv, &b->mu);
        } else {
            /* Lead: take the queue (up to BATCH_MAX; the rest waits for the next leader). */
            b->leading = 1;
            put_req *reqs[BATCH_MAX];
            size_t m = 0;
            while (b->head && m < BATCH_MAX) {
                reqs[m++] = b->head;
                b->head = b->head->next;
            }
            if (b->head == NULL)
                b->tail = NULL;
            pthread_mutex_unlock(&b->mu);
            commit_batch(srv, b, reqs, m);
            pthread_mutex_lock(&b->mu);
            for (size_t k = 0; k < m; k++)
                reqs[k]->done = 1;
            b->leading = 0;
            pthread_cond_broadcast(&b->cv);
        }
        waiting = 0;
        for (size_t k = 0; k < n; k++)
            waiting += !mine[k].done;
    }
    pthread_mutex_unlock(&b->mu);
    for (size_t k = 0; k < n; k++) {
        rcs[k] = mine[k].rc;
        if (mine[k].rc == DVS_EXISTS)
            memcpy(existing[k], mine[k].existing, 65);
    }
    free(mine);
}
