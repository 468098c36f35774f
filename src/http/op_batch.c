/* One durability point for a chunk of de-identified outputs. Why a file: this is where an operation's
 * throughput is decided. An output used to be stored on its own (one fsync of its file, one of its
 * directory, one index commit per instance); the outputs of a chunk (DVH_OP_CHUNK items) are now written
 * and parsed one by one (op_item_deid.c), then made durable together:
 *
 *   1. one syncfs for every file of the chunk (dvs_blob_sync_many; an fsync per file is the fallback),
 *   2. names and rows through the store's put path in one group commit (dvh_store_commit: one directory
 *      fsync per store, one index transaction),
 *   3. the caller (op_jobs.c) then finishes the items in the index.
 *
 * The crash guarantee is unchanged: an item is finished only after its output is durable, so a crash before
 * step 3 leaves the items pending; redone at resume, each finds its own output stored with the same bytes
 * (a duplicate with same_blob) and is counted once. [test_server_ops.py "kill -9"]
 * bench/RESULTS.md "De-identify operation" has the figures. */
#include <stdlib.h>

#include "http/op_internal.h"

void dvh_op_batch_store(dvh_op_ctx *c, dvh_op_staged *st, size_t n, int *states, const char **classes)
{
    dvh_server *s = c->ops->srv;
    dvh_prepared *pp[DVH_OP_CHUNK];
    dvs_blob_writer *w[DVH_OP_CHUNK];
    size_t k = 0;
    for (size_t i = 0; i < n && k < DVH_OP_CHUNK; i++)
        if (st[i].pp) {
            pp[k] = st[i].pp;
            w[k++] = st[i].w;
        }
    /* A failed syncfs marks nothing: dvh_store_commit then fsyncs each file and fails only those that fail. */
    if (k) {
        (void)dvs_blob_sync_many(w, k);
        dvh_store_commit(s, pp, k);
    }
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
