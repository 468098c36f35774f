/* One durability point for de-identified outputs. Why a file: this is where an operation's throughput is
 * decided. An output used to be stored on its own (one fsync of its file, one of its directory, one index
 * commit per instance); the outputs of a chunk (DVH_OP_CHUNK items) are now written and parsed one by one
 * (op_item_deid.c), handed to the durability stage (op_durable.c), which makes them durable together:
 *
 *   1. one syncfs for every file of every chunk handed over since its last round (dvh_op_batch_sync; an
 *      fsync per file is the fallback),
 *   2. per chunk, names and rows through the store's put path in one group commit (dvh_store_commit: one
 *      directory fsync per store, one index transaction),
 *   3. then the chunk's items finished in the index, in one transaction (op_items_finish).
 *
 * The crash guarantee is unchanged: an item is finished only after its output is durable, so a crash before
 * step 3 leaves the items pending; redone at resume, each finds its own output stored with the same bytes
 * (a duplicate with same_blob) and is counted once. [test_server_ops.py "kill -9"]
 * bench/RESULTS.md "De-identify operation" and "Equal durability" have the figures. */
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

/* Steps 2 and 3 for one chunk's staged outputs: states[i] / classes[i] what each item finishes with. */
static void batch_store(dvh_op_ctx *c, dvh_op_staged *st, size_t n, int *states, const char **classes)
{
    dvh_server *s = c->ops->srv;
    dvh_prepared *pp[DVH_OP_CHUNK];
    size_t k = 0;
    for (size_t i = 0; i < n && k < DVH_OP_CHUNK; i++)
        if (st[i].pp)
            pp[k++] = st[i].pp;
    /* A file the syncfs did not mark (it failed) is fsync'ed here; only those that fail fail. */
    if (k)
        dvh_store_commit(s, pp, k);
    for (size_t i = 0; i < n; i++) {
        if (st[i].pp == NULL)
            continue;
        if (dvh_op_put_stored(&st[i].pr)) {
            states[i] = DVS_ITEM_OK;
            classes[i] = NULL;
            dv_error err = {0};
            /* Its boxes go with the operation, keyed by the output's UIDs. Not recorded is no failure of the
             * item (the output is right); the console then says it has no record. */
            if (st[i].res.pixel_stage_ran &&
                (st[i].boxes == NULL || dvh_boxes_save(st[i].boxes, s->data_fd, c->id, &st[i].res, &err) != 0))
                dvh_op_log(c->ops, "redaction boxes not recorded", c->id);
        } else {
            states[i] = DVS_ITEM_FAILED;
            classes[i] = dvh_op_put_class(&st[i].pr);
        }
        dvh_prepared_free(st[i].pp);
        st[i].pp = NULL;
        st[i].w = NULL;
        dvh_boxes_free(st[i].boxes);
        st[i].boxes = NULL;
    }
}

void dvh_op_batch_finish(dvh_op_ctx *c, dvh_op_staged *st, size_t n)
{
    dvs_index *ix = c->ops->srv->ix;
    int states[DVH_OP_CHUNK];
    const char *classes[DVH_OP_CHUNK];
    int64_t seqs[DVH_OP_CHUNK];
    int rcs[DVH_OP_CHUNK];
    dv_error err = {0};
    if (n > DVH_OP_CHUNK)
        n = DVH_OP_CHUNK; /* a chunk job stages at most DVH_OP_CHUNK */
    batch_store(c, st, n, states, classes);
    for (size_t k = 0; k < n; k++)
        seqs[k] = st[k].seq;
    /* One index transaction for the chunk where the backend has it, else one per item. */
    if (ix->ops->op_items_finish) {
        if (ix->ops->op_items_finish(ix, c->id, n, seqs, states, classes, rcs, &err) < 0)
            atomic_store(&c->incomplete, 1);
    } else {
        for (size_t k = 0; k < n; k++)
            if (ix->ops->op_item_finish(ix, c->id, seqs[k], states[k], classes[k], &err) < 0)
                atomic_store(&c->incomplete, 1);
    }
}
