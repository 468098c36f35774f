/* One de-identify work item: the source instance's blob through the engine (dv_run_instance, the same path as
 * the CLI) into the destination store's put path. Why a file: this is where an operation meets the engine; the
 * rest of the runner only sees a state and an error class (and, for an output, a staged put that op_batch.c
 * stores with the rest of its chunk). */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/op_boxes.h"
#include "http/op_internal.h"
#include "util/dv_fd_source.h"

/* The per-instance output of a de-identification: a blob writer in the destination store, prepared for the
 * store's put path on commit and stored with its chunk (op_batch.c). */
typedef struct deid_out {
    dvh_op_ctx *c;
    dvh_putter *put;
    int64_t dst;
    dvs_blob_writer *w;
    const char *cls; /* the failure class when commit fails */
    dvh_op_staged *st; /* where the prepared put goes */
} deid_out;

/* The run's box observer: the event's instance_arg is the item's deid_out. */
static void on_frame(const dv_frame_event *ev, void *user)
{
    (void)user;
    dvh_boxes_add(((deid_out *)ev->instance_arg)->st->boxes, ev);
}

void dvh_op_item_deid_watch_boxes(dv_run *run)
{
    dv_run_set_box_observer(run, on_frame, NULL);
}

static int blob_sink_write(void *ctx, const void *buf, size_t len)
{
    dv_error err = {0};
    return dvs_blob_write(ctx, buf, len, &err);
}

static int out_open(void *arg, const dv_result *res, dv_sink *sink, dv_error *err)
{
    (void)res;
    deid_out *o = arg;
    dvh_server *s = o->c->ops->srv;
    o->w = dvs_blob_begin(s->data_fd, o->dst, s->cfg.max_body, err);
    if (o->w == NULL)
        return -1;
    sink->ctx = o->w;
    sink->write = blob_sink_write;
    sink->copy_from = NULL;
    return DV_OPEN_WRITE;
}

/* Whole: parse and name it now (a malformed output fails its item here); durable and indexed with its chunk. */
static int out_commit(void *arg, const dv_result *res, dv_error *err)
{
    (void)res;
    deid_out *o = arg;
    dvs_blob_writer *w = o->w;
    o->w = NULL;
    o->st->pp = dvh_store_prepare(o->put, o->dst, w, NULL, &o->st->pr);
    if (o->st->pp != NULL) {
        o->st->w = w; /* its writeback already started (dvh_store_prepare) */
        return DV_COMMIT_WRITTEN;
    }
    o->cls = dvh_op_put_class(&o->st->pr);
    return dv_fail(err, DV_ERR_IO, "the destination store refused the instance (%s)", o->cls);
}

static void out_abort(void *arg)
{
    deid_out *o = arg;
    dvs_blob_abort(o->w);
    o->w = NULL;
}

static const dv_output deid_output = {out_open, out_commit, out_abort};

int dvh_op_item_deidentify(dvh_op_ctx *c, dvh_putter *put, const dvs_op_item *it, dvh_op_staged *st, int *state,
                           const char **cls)
{
    dvh_server *s = c->ops->srv;
    dv_error err = {0};
    memset(st, 0, sizeof *st);
    st->seq = it->seq;
    int fd = dvs_blob_open(s->data_fd, it->src_store_id, it->blob, &err);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        if (fd >= 0)
            close(fd);
        *state = DVS_ITEM_FAILED;
        *cls = "io";
        return DVH_ITEM_DONE;
    }
    dv_fd_source fs;
    dv_source src = dv_source_fd(&fs, fd, (uint64_t)sb.st_size);
    st->boxes = dvh_boxes_new();
    deid_out o = {.c = c, .put = put, .dst = it->dst_store_id, .st = st};
    dv_result_init(&st->res);
    dv_outcome oc = dv_run_instance(c->run, &src, &deid_output, &o, &st->res, &err);
    close(fd);
    if (oc != DV_OUTCOME_OK) {
        dvh_prepared_free(st->pp); /* prepared, then the run failed after all: nothing stored */
        st->pp = NULL;
        dvh_boxes_free(st->boxes);
        st->boxes = NULL;
    }
    switch (oc) {
    case DV_OUTCOME_OK: *state = DVS_ITEM_OK; return DVH_ITEM_DONE; /* staged: op_batch.c stores it */
    case DV_OUTCOME_CANCELLED: return DVH_ITEM_LEAVE;
    case DV_OUTCOME_SKIPPED:
        *state = DVS_ITEM_FAILED;
        *cls = st->res.skipped == DV_SKIP_DIRECTORY ? "directory" : "not_dicom";
        return DVH_ITEM_DONE;
    default:
        *state = DVS_ITEM_FAILED;
        *cls = o.cls ? o.cls : dv_code_name(err.code != DV_OK ? err.code : DV_ERR_IO);
        return DVH_ITEM_DONE;
    }
}
