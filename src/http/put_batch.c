/* Group commit of the store's put path (store_put.c): the instances whose files are named while the previous
 * commit runs are made durable and indexed together, so N concurrent STOWs share one syncfs and one index
 * commit (one WAL fsync with SQLite) instead of paying one fsync of their file, of their directory and of
 * the WAL each.
 *
 * Leader / followers: a thread that finds no commit running becomes the leader, takes every queued instance
 * (its own included; at most BATCH_MAX), commits them and wakes their threads; threads that queued meanwhile
 * wait, and the first of them to wake with its instance still queued leads the next batch. While a leader
 * syncs, the other request threads keep receiving, parsing and writing their parts (and queue them for the
 * next round). Nobody returns before its own instance is committed: an acknowledged STOW is durable
 * (docs/server.md "Durability"), the batch only shares the syncs, it never skips one.
 *
 * Order of a round (the leader's, commit_batch):
 *   1. the files: every file of the batch not durable yet (a STOW's: written and linked to its name unsynced,
 *      dvs_blob_defer_sync) is made durable by ONE syncfs of the data file system, which started after each
 *      of them was queued, so after its bytes were written and its name linked: it covers the bytes, the
 *      inodes and the names (the file system's journal commit). If the syncfs fails, each file is fsync'ed
 *      on its own and a failed one fails only its instance;
 *   2. the names: when no syncfs of this round covered them (it failed, or every file was durable already:
 *      the operations' outputs, made durable by their own syncfs before they were named, op_durable.c), the
 *      directory of each store of the batch is fsync'ed (a failure fails that store's instances);
 *   3. the rows of the instances still standing, in one transaction.
 * So a durable row always names a durable file, and a crash before 3 leaves at most a name no row holds,
 * which the next put of the instance replaces (store_put.c name_file). [test_put_batch: test_group_syncs,
 * test_sync_failure_falls_back; test_server_perf.py "group commit"] */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "http/server_internal.h"
#include "store/dvs_blobs.h"

#define BATCH_MAX 256 /* instances per transaction: bounds a follower's wait and the leader's arrays */

typedef struct put_req {
    int64_t store_id;
    const dvs_instance_rec *rec;
    dvs_blob_writer *w; /* its file, named (linked) already */
    char existing[65];
    int rc;
    int failed; /* its file or name could not be made durable: no row */
    int done;
    dv_error err;
    struct put_req *next;
} put_req;

struct dvh_batcher {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    put_req *head, *tail;
    int leading; /* a leader is committing */
    dvh_batch_sync_fn sync_many; /* dvs_blob_sync_many (a test counts through its own) */
    /* The leader's arrays (only the leader touches them, one leader at a time). */
    int64_t ids[BATCH_MAX];
    const dvs_instance_rec *recs[BATCH_MAX];
    dvs_blob_writer *ws[BATCH_MAX];
    put_req *live[BATCH_MAX];
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
    b->sync_many = dvs_blob_sync_many;
    return b;
}

void dvh_batcher_set_sync(dvh_batcher *b, dvh_batch_sync_fn sync_many)
{
    b->sync_many = sync_many;
}

void dvh_batcher_free(dvh_batcher *b)
{
    if (b == NULL)
        return;
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    free(b);
}

static void fail_req(put_req *r, const dv_error *err)
{
    r->rc = -1;
    r->failed = 1;
    r->err = *err;
}

/* The leader's work, unlocked: reqs[0..n) become durable rows, or fail (each on its own where it can). */
static void commit_batch(dvh_server *srv, dvh_batcher *b, put_req **reqs, size_t n)
{
    dv_error err = {0};
    /* 1. One syncfs for the files not durable yet; per file when it fails. */
    size_t nw = 0;
    for (size_t k = 0; k < n; k++)
        if (!dvs_blob_synced(reqs[k]->w))
            b->ws[nw++] = reqs[k]->w;
    int names_durable = nw > 0 && b->sync_many(b->ws, nw) == 0;
    size_t m = 0;
    for (size_t k = 0; k < n; k++) {
        dv_error ferr = {0};
        if (!dvs_blob_synced(reqs[k]->w) && dvs_blob_sync(reqs[k]->w, &ferr) != 0)
            fail_req(reqs[k], &ferr);
        else
            b->live[m++] = reqs[k];
    }
    /* 2. The names, unless the syncfs covered them: one fsync per distinct store directory. */
    for (size_t k = 0; k < m && !names_durable; k++) {
        int seen = 0;
        for (size_t j = 0; j < k && !seen; j++)
            seen = b->live[j]->store_id == b->live[k]->store_id;
        if (seen || dvs_store_dir_sync(srv->data_fd, b->live[k]->store_id, &err) == 0)
            continue;
        for (size_t j = k; j < m; j++)
            if (b->live[j]->store_id == b->live[k]->store_id)
                fail_req(b->live[j], &err);
    }
    size_t live = 0;
    for (size_t k = 0; k < m; k++)
        if (!b->live[k]->failed)
            b->live[live++] = b->live[k];
    if (live == 0)
        return;
    /* 3. The rows. */
    const dvs_index_ops *ops = srv->ix->ops;
    if (ops->instance_put_batch == NULL) { /* a backend without group commit (PostgreSQL): one by one */
        for (size_t k = 0; k < live; k++)
            b->live[k]->rc = ops->instance_put(srv->ix, b->live[k]->store_id, b->live[k]->rec, b->live[k]->existing,
                                               &b->live[k]->err);
        return;
    }
    for (size_t k = 0; k < live; k++) {
        b->ids[k] = b->live[k]->store_id;
        b->recs[k] = b->live[k]->rec;
    }
    int all = ops->instance_put_batch(srv->ix, live, b->ids, b->recs, b->existing, b->rcs, &err);
    for (size_t k = 0; k < live; k++) {
        put_req *r = b->live[k];
        r->rc = all == 0 ? b->rcs[k] : -1;
        r->err = err;
        if (r->rc == DVS_EXISTS)
            memcpy(r->existing, b->existing[k], 65);
    }
}

void dvh_batch_put_many(dvh_server *srv, size_t n, const int64_t *store_ids, const dvs_instance_rec *const *recs,
                        dvs_blob_writer *const *writers, char (*existing)[65], int *rcs)
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
        mine[k] = (put_req){.store_id = store_ids[k], .rec = recs[k], .w = writers[k], .rc = -1};
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
