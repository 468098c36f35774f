/* One durability point for de-identified outputs. Why a file: this is where an operation's throughput is
 * decided. An output used to be stored on its own (one fsync of its file, one of its directory, one index
 * commit per instance); the outputs of a chunk (DVH_OP_CHUNK items) are now written and parsed one by one
 * (op_item_deid.c), handed to the durability stage (op_durable.c), which makes them durable together:
 *
 *   1. one syncfs for every file of every chunk handed over since its syncer's last round (an fsync per
 *      file is the fallback),
 *   2. for every chunk made durable so far (a round of the committer), names and rows through the store's
 *      put path in ONE group commit (dvh_store_commit: one directory fsync per store, one index transaction
 *      per 256 rows; before, one per chunk),
 *   3. then each operation's items of the round finished in the index, in one transaction (op_items_finish).
 *
 * The crash guarantee is unchanged: an item is finished only after its output is durable, so a crash before
 * step 3 leaves the items pending; redone at resume, each finds its own output stored with the same bytes
 * (a duplicate with same_blob) and is counted once. [test_server_ops.py "kill -9"]
 * bench/RESULTS.md "De-identify operation", "Equal durability" and "Operation pipeline, second pass" have the
 * figures. */
#include <stdlib.h>

#include "http/op_internal.h"

int dvh_op_batch_sync(dvh_op_staged *st, size_t n)
{
    dvs_blob_writer *w[DVH_OP_CHUNK];
    size_t k = 0;
    for (size_t i = 0; i < n && k < DVH_OP_CHUNK; i++)
        if (st[i].pp)
            w[k++] = st[i].w;
    return dvs_blob_sync_many(w, k);
}

/* An output's final state once its round's group commit answered: stored (its boxes saved with the operation)
 * or failed with the put's class. Empties st. */
static void staged_outcome(dvh_op_ctx *c, dvh_op_staged *st, int *state, const char **cls)
{
    dvh_server *s = c->ops->srv;
    if (dvh_op_put_stored(&st->pr)) {
        *state = DVS_ITEM_OK;
        *cls = NULL;
        dv_error err = {0};
        /* Its boxes go with the operation, keyed by the output's UIDs. Not recorded is no failure of the item
         * (the output is right); the console then says it has no record. */
        if (st->res.pixel_stage_ran &&
            (st->boxes == NULL || dvh_boxes_save(st->boxes, s->data_fd, c->id, &st->res, &err) != 0))
            dvh_op_log(c->ops, "redaction boxes not recorded", c->id);
    } else {
        *state = DVS_ITEM_FAILED;
        *cls = dvh_op_put_class(&st->pr);
    }
    dvh_prepared_free(st->pp);
    st->pp = NULL;
    st->w = NULL;
    dvh_boxes_free(st->boxes);
    st->boxes = NULL;
}

/* Finish n items of operation c in the index: one transaction where the backend has it, else one per item. */
static void items_finish(dvh_op_ctx *c, size_t n, const int64_t *seqs, const int *states, const char **classes,
                         int *rcs)
{
    dvs_index *ix = c->ops->srv->ix;
    dv_error err = {0};
    if (ix->ops->op_items_finish) {
        if (ix->ops->op_items_finish(ix, c->id, n, seqs, states, classes, rcs, &err) < 0)
            atomic_store(&c->incomplete, 1);
    } else {
        for (size_t k = 0; k < n; k++)
            if (ix->ops->op_item_finish(ix, c->id, seqs[k], states[k], classes[k], &err) < 0)
                atomic_store(&c->incomplete, 1);
    }
}

void dvh_op_batch_finish_many(const dvh_op_chunk *k, size_t nk)
{
    if (nk == 0)
        return;
    size_t total = 0;
    for (size_t j = 0; j < nk; j++)
        total += k[j].n;
    dvh_prepared **pp = malloc((total ? total : 1) * sizeof *pp);
    int64_t *seqs = malloc((total ? total : 1) * sizeof *seqs);
    int *states = malloc((total ? total : 1) * sizeof *states);
    int *rcs = malloc((total ? total : 1) * sizeof *rcs);
    const char **classes = malloc((total ? total : 1) * sizeof *classes);
    unsigned char *done = calloc(nk, 1);
    if (pp == NULL || seqs == NULL || states == NULL || rcs == NULL || classes == NULL || done == NULL) {
        /* No memory for the round's arrays: chunk by chunk (stack arrays), as before the rounds were merged. */
        for (size_t j = 0; j < nk; j++)
            dvh_op_batch_finish(k[j].c, k[j].st, k[j].n);
        goto out;
    }
    uint64_t t0 = dvh_op_now_ns();
    /* Step 2 for the whole round: one group commit (a file the syncfs did not mark, because it failed, is
     * fsync'ed by it; only those that fail fail). Outputs of several operations and stores commit together;
     * each keeps its own answer (pr). */
    size_t m = 0;
    for (size_t j = 0; j < nk; j++)
        for (size_t i = 0; i < k[j].n; i++)
            if (k[j].st[i].pp)
                pp[m++] = k[j].st[i].pp;
    if (m)
        dvh_store_commit(k[0].c->ops->srv, pp, m);
    uint64_t t1 = dvh_op_now_ns();
    /* Step 3 per operation of the round: its items in one transaction. */
    for (size_t j = 0; j < nk; j++) {
        if (done[j])
            continue;
        dvh_op_ctx *c = k[j].c;
        size_t n = 0;
        for (size_t q = j; q < nk; q++) {
            if (k[q].c != c)
                continue;
            done[q] = 1;
            for (size_t i = 0; i < k[q].n; i++) {
                seqs[n] = k[q].st[i].seq;
                if (k[q].st[i].pp)
                    staged_outcome(c, &k[q].st[i], &states[n], &classes[n]);
                else { /* not staged: the chunk job finished it (cannot happen: it hands over staged ones only) */
                    states[n] = DVS_ITEM_FAILED;
                    classes[n] = "io";
                }
                n++;
            }
        }
        uint64_t tf = dvh_op_now_ns();
        items_finish(c, n, seqs, states, classes, rcs);
        atomic_fetch_add(&c->timing.commit_ns, t1 - t0); /* the round's commit, shared by its operations */
        atomic_fetch_add(&c->timing.finish_ns, dvh_op_now_ns() - tf);
        dvh_op_timing_mark(&c->timing.last_finish, c->timing.start);
    }
out:
    free(done);
    free(classes);
    free(rcs);
    free(states);
    free(seqs);
    free(pp);
}

void dvh_op_batch_finish(dvh_op_ctx *c, dvh_op_staged *st, size_t n)
{
    dvh_prepared *pp[DVH_OP_CHUNK];
    int64_t seqs[DVH_OP_CHUNK];
    int states[DVH_OP_CHUNK], rcs[DVH_OP_CHUNK];
    const char *classes[DVH_OP_CHUNK];
    if (n > DVH_OP_CHUNK)
        n = DVH_OP_CHUNK; /* a chunk job stages at most DVH_OP_CHUNK */
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (st[i].pp)
            pp[m++] = st[i].pp;
    if (m)
        dvh_store_commit(c->ops->srv, pp, m);
    for (size_t i = 0; i < n; i++) {
        seqs[i] = st[i].seq;
        if (st[i].pp)
            staged_outcome(c, &st[i], &states[i], &classes[i]);
        else {
            states[i] = DVS_ITEM_FAILED;
            classes[i] = "io";
        }
    }
    items_finish(c, n, seqs, states, classes, rcs);
    dvh_op_timing_mark(&c->timing.last_finish, c->timing.start);
}
