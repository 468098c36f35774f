/* One de-identify work item: the source instance's blob through the engine (dv_run_instance, the same path as
 * the CLI) into the destination store's put path. Why a file: this is where an operation meets the engine; the
 * rest of the runner only sees a state and an error class. */
#include <sys/stat.h>
#include <unistd.h>

#include "http/op_boxes.h"
#include "http/op_internal.h"
#include "util/dv_fd_source.h"

/* The per-instance output of a de-identification: a blob writer in the destination store, stored through
 * the store's put path on commit. */
typedef struct deid_out {
    dvh_op_ctx *c;
    dvh_putter *put;
    int64_t dst;
    dvs_blob_writer *w;
    const char *cls; /* the failure class when commit fails */
    dvh_boxes *boxes; /* the boxes painted on this instance (NULL: out of memory, not recorded) */
} deid_out;

/* The run's box observer: the event's instance_arg is the item's deid_out. */
static void on_frame(const dv_frame_event *ev, void *user)
{
    (void)user;
    dvh_boxes_add(((deid_out *)ev->instance_arg)->boxes, ev);
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

static int out_commit(void *arg, const dv_result *res, dv_error *err)
{
    (void)res;
    deid_out *o = arg;
    dvh_put_result pr;
    dvh_store_put(o->put, o->dst, o->w, NULL, &pr);
    o->w = NULL;
    if (dvh_op_put_stored(&pr))
        return DV_COMMIT_WRITTEN;
    o->cls = dvh_op_put_class(&pr);
    return dv_fail(err, DV_ERR_IO, "the destination store refused the instance (%s)", o->cls);
}

static void out_abort(void *arg)
{
    deid_out *o = arg;
    dvs_blob_abort(o->w);
    o->w = NULL;
}

static const dv_output deid_output = {out_open, out_commit, out_abort};

int dvh_op_item_deidentify(dvh_op_ctx *c, dvh_putter *put, const dvs_op_item *it, int *state, const char **cls)
{
    dvh_server *s = c->ops->srv;
    dv_error err = {0};
    int fd = dvs_blob_open(s->data_fd, it->src_store_id, it->blob, &err);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        *state = DVS_ITEM_FAILED;
        *cls = "io";
        return DVH_ITEM_DONE;
    }
    dv_fd_source fs;
    dv_source src = dv_source_fd(&fs, fd, (uint64_t)st.st_size);
    deid_out o = {.c = c, .put = put, .dst = it->dst_store_id, .boxes = dvh_boxes_new()};
    dv_result res;
    dv_result_init(&res);
    dv_outcome oc = dv_run_instance(c->run, &src, &deid_output, &o, &res, &err);
    close(fd);
    /* Stored: its boxes go with the operation, keyed by the output's UIDs. Not recorded is no failure of the
     * item (the output is right); the console then says it has no record. */
    if (oc == DV_OUTCOME_OK && res.pixel_stage_ran &&
        (o.boxes == NULL || dvh_boxes_save(o.boxes, s->data_fd, c->id, &res, &err) != 0))
        dvh_op_log(c->ops, "redaction boxes not recorded", c->id);
    dvh_boxes_free(o.boxes);
    switch (oc) {
    case DV_OUTCOME_OK: *state = DVS_ITEM_OK; return DVH_ITEM_DONE;
    case DV_OUTCOME_CANCELLED: return DVH_ITEM_LEAVE;
    case DV_OUTCOME_SKIPPED:
        *state = DVS_ITEM_FAILED;
        *cls = res.skipped == DV_SKIP_DIRECTORY ? "directory" : "not_dicom";
        return DVH_ITEM_DONE;
    default:
        *state = DVS_ITEM_FAILED;
        *cls = o.cls ? o.cls : dv_code_name(err.code != DV_OK ? err.code : DV_ERR_IO);
        return DVH_ITEM_DONE;
    }
}
