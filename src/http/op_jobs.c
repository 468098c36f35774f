/* The pool jobs of an operation. The main job loads the operation, builds what it needs (the compiled config
 * and the dataset key for a de-identification), plans its items when that was not finished, then queues
 * chunk jobs of DVH_OP_CHUNK items each (by seq range) so one operation spreads over every pool thread. A
 * chunk job claims its pending items from the index, runs each (op_item_*.c) and marks it finished; a
 * de-identified output is handed with the rest of its chunk to the durability stage (op_durable.c), which
 * stores it and finishes its item once it is durable. Below --min-free-disk, a chunk of an import or a
 * de-identification parks the rest of its range instead of running its next item (op_floor.c).
 * Why a file: how work is claimed and iterated, apart from what one item does. */
#include <stdlib.h>
#include <string.h>

#include "http/op_internal.h"
#include "store/dvs_keys.h"

typedef struct chunk_job {
    dvh_op_ctx *c;
    int64_t lo, hi; /* seq range [lo, hi] */
    int resumed;    /* parked for want of disk space and queued again (op_floor.c): counted once already */
    dvh_op_parked park; /* its node while parked (op_floor.c) */
} chunk_job;

static void chunk_discard(void *arg);

static void chunk_run(dvj_pool *pool, void *arg)
{
    chunk_job *j = arg;
    dvh_op_ctx *c = j->c;
    dvh_server *s = c->ops->srv;
    uint64_t t_in = dvh_op_now_ns();
    dvh_op_timing_first(&c->timing.first_chunk, c->timing.start);
    if (!j->resumed)
        atomic_fetch_add(&c->timing.chunks, 1);
    dvs_index *ix = s->ix;
    dvs_op_item *items = calloc(DVH_OP_CHUNK, sizeof *items);
    dvh_putter *put = dvh_putter_new(s);
    uint8_t *buf = malloc(DVH_OP_COPY_BUF);
    /* De-identified outputs waiting for the chunk's one durability point (op_batch.c). */
    dvh_op_staged *staged = c->kind == DVH_OP_DEIDENTIFY ? calloc(DVH_OP_CHUNK, sizeof *staged) : NULL;
    size_t nstaged = 0;
    dv_error err = {0};
    size_t n = 0;
    if (items == NULL || put == NULL || buf == NULL || (c->kind == DVH_OP_DEIDENTIFY && staged == NULL) ||
        ix->ops->op_items_pending(ix, c->id, j->lo - 1, DVH_OP_CHUNK, items, &n, &err) < 0) {
        atomic_store(&c->incomplete, 1);
        n = 0;
    }
    /* Another process (a shared index) or a request may have asked for a cancel. */
    dvs_operation op;
    if (n && ix->ops->op_get(ix, 0, c->id, &op, &err) == DVS_OK) {
        if (op.cancel_requested || op.done)
            atomic_store(&c->cancel, 1);
        dvs_operation_clear(&op);
    }
    int64_t park_at = 0; /* the first item not run for want of disk space (op_floor.c) */
    for (size_t i = 0; i < n && items[i].seq <= j->hi; i++) {
        if (atomic_load(&c->cancel))
            break;
        if (dvj_pool_stopping(pool)) {
            atomic_store(&c->incomplete, 1);
            break;
        }
        /* An import or a de-identification writes its output into DATA: not below --min-free-disk. The item
         * is not run (nor counted); the rest of the chunk parks until there is room (op_floor.c). */
        if ((c->kind == DVH_OP_DEIDENTIFY || c->kind == DVH_OP_IMPORT) && !dvh_op_floor_room(s)) {
            park_at = items[i].seq;
            break;
        }
        int state = DVS_ITEM_FAILED;
        const char *cls = NULL;
        int r;
        if (c->kind == DVH_OP_RECORDED) { /* the request did it before the process stopped */
            state = DVS_ITEM_OK;
            r = DVH_ITEM_DONE;
        } else if (c->kind == DVH_OP_DEIDENTIFY) {
            r = dvh_op_item_deidentify(c, put, &items[i], &staged[nstaged], &state, &cls);
            if (r == DVH_ITEM_DONE && staged[nstaged].pp) {
                nstaged++; /* finished below, once stored */
                continue;
            }
        } else if (c->kind == DVH_OP_IMPORT) {
            r = dvh_op_item_import(c, put, buf, &items[i], &state, &cls);
        } else {
            r = dvh_op_item_export(c, buf, &items[i], &state, &cls);
        }
        if (r == DVH_ITEM_LEAVE) {
            if (!atomic_load(&c->cancel))
                atomic_store(&c->incomplete, 1);
            break;
        }
        if (ix->ops->op_item_finish(ix, c->id, items[i].seq, state, state == DVS_ITEM_FAILED ? cls : NULL, &err) < 0)
            atomic_store(&c->incomplete, 1);
    }
    /* Also after a cancel or a stop: what was written is stored and counted (it is done work). The
     * durability stage takes the staged outputs (and frees them) and finishes their items once they are
     * durable, while this thread takes its next chunk (op_durable.c). */
    if (nstaged) {
        dvh_op_durable_submit(c->ops->durable, c, staged, nstaged);
        staged = NULL;
    }
    free(staged);
    free(buf);
    dvh_putter_free(put);
    free(items);
    atomic_fetch_add(&c->timing.pool_ns, dvh_op_now_ns() - t_in);
    if (park_at) { /* its reference on c goes with it */
        j->lo = park_at;
        j->resumed = 1;
        j->park = (dvh_op_parked){.c = c, .job = {chunk_run, chunk_discard, j}};
        dvh_op_floor_park(c->ops->disk_floor, &j->park);
        return;
    }
    free(j);
    dvh_op_release(c);
}

static void chunk_discard(void *arg)
{
    chunk_job *j = arg;
    dvh_op_ctx *c = j->c;
    atomic_store(&c->incomplete, 1);
    free(j);
    dvh_op_release(c);
}

/* An import's or export's folder, checked against the roots this server allows now, not only against those of
 * the server that started the operation: a restart with a narrower --allow-root must not resume reading or writing
 * (nor the export's sweep removing) outside it. [test_server_ops.py "a resumed export outside the allowed roots"] */
static int folder_allowed(dvh_op_ctx *c)
{
    char *real = NULL;
    dvh_err e;
    int ok = dvh_root_resolve(c->ops->srv, c->folder, "folder", 1, &real, &e) == 0;
    free(real);
    return ok;
}

void dvh_op_main_run(dvj_pool *pool, void *arg)
{
    dvh_op_ctx *c = arg;
    dvh_ops *o = c->ops;
    dvs_index *ix = o->srv->ix;
    dv_error err = {0};
    dvs_operation op;
    int rc = ix->ops->op_get(ix, 0, c->id, &op, &err);
    if (rc != DVS_OK) {
        atomic_store(&c->incomplete, 1);
        dvh_op_release(c);
        return;
    }
    json_t *req = NULL;
    const char *config = NULL;
    int64_t key_dataset = 0;
    int bad = op.done || dvh_op_load_request(c, op.request_json, &key_dataset, &config, &req) != 0;
    if (op.done) {
        atomic_store(&c->incomplete, 1); /* nothing to do, nothing to finish */
    } else if (bad) {
        dvh_op_finish_error(c, 13, "INTERNAL", "the operation's stored request is unreadable");
        atomic_store(&c->incomplete, 1);
    } else if (op.cancel_requested) {
        atomic_store(&c->cancel, 1);
    }
    if (!bad && c->folder && !folder_allowed(c)) {
        free(c->folder);
        c->folder = NULL; /* nothing of it is touched, a cancelled export's sweep included */
        if (!atomic_load(&c->cancel)) {
            dvh_op_finish_error(c, 9, "FAILED_PRECONDITION",
                                "the operation's folder is no longer under an allowed root (serve --allow-root)");
            atomic_store(&c->incomplete, 1);
            bad = 1;
        }
    }
    if (!bad && !atomic_load(&c->cancel) && c->kind == DVH_OP_DEIDENTIFY) {
        c->plan = dv_plan_from_json(config, strlen(config), &err);
        c->key = c->plan ? dvs_dataset_key(o->srv->data_fd, key_dataset, &err) : NULL;
        c->run = c->key ? dv_run_new(c->plan, c->key, &o->lim, &err) : NULL;
        if (c->run == NULL) {
            dvh_op_finish_error(c, 13, "INTERNAL", "the de-identification could not start (config, key or limits)");
            atomic_store(&c->incomplete, 1);
            bad = 1;
        } else {
            dv_run_set_cancel(c->run, dvh_op_run_cancelled, c);
            dvh_op_log_warnings(o, c->plan, c->id);
            dvh_op_item_deid_watch_boxes(c->run); /* the review's redaction boxes (op_boxes.h) */
        }
    }
    dvh_op_timing_mark(&c->timing.setup, c->timing.start);
    if (!bad && !atomic_load(&c->cancel) && !op.planned) {
        /* A recorded operation's items went in with one op_items_add (op_record.c): all or none, nothing to
         * redo; the others' interrupted planning is dropped and redone. */
        int prc = 0;
        if (c->kind != DVH_OP_RECORDED) {
            prc = ix->ops->op_items_reset(ix, c->id, &err);
            if (prc >= 0)
                prc = c->kind == DVH_OP_IMPORT ? dvh_op_plan_files(c, &err) : dvh_op_plan_instances(c, &err);
        }
        if (prc >= 0)
            prc = ix->ops->op_planned(ix, c->id, &err);
        if (prc < 0) {
            atomic_store(&c->incomplete, 1);
            bad = 1;
            dvh_op_log(o, "operation planning failed", c->id);
        }
        dvs_operation_clear(&op);
        if (!bad && ix->ops->op_get(ix, 0, c->id, &op, &err) != DVS_OK) {
            atomic_store(&c->incomplete, 1);
            bad = 1;
        }
    }
    uint64_t total = bad ? 0 : op.success + op.failure + op.pending;
    dvh_op_timing_mark(&c->timing.planned, c->timing.start);
    dvs_operation_clear(&op);
    json_decref(req);
    for (uint64_t lo = 1; !bad && !atomic_load(&c->cancel) && lo <= total; lo += DVH_OP_CHUNK) {
        chunk_job *j = malloc(sizeof *j);
        if (j == NULL) {
            atomic_store(&c->incomplete, 1);
            break;
        }
        j->c = c;
        j->lo = (int64_t)lo;
        j->hi = (int64_t)(lo + DVH_OP_CHUNK - 1);
        j->resumed = 0;
        atomic_fetch_add(&c->refs, 1);
        dvj_job job = {chunk_run, chunk_discard, j};
        if (dvj_pool_submit(pool, &job, &err) != 0) {
            atomic_fetch_sub(&c->refs, 1);
            free(j);
            atomic_store(&c->incomplete, 1);
            break;
        }
    }
    dvh_op_release(c);
}

void dvh_op_main_discard(void *arg)
{
    dvh_op_ctx *c = arg;
    atomic_store(&c->incomplete, 1);
    dvh_op_release(c);
}
