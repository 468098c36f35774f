/* DICOMweb DELETE of a study, series or instance (the discovery document's DeleteStudy, DeleteSeries,
 * DeleteInstance): the index rows go in one transaction (dvs_index_ops.instances_delete), then each file no
 * other row references is removed. Both steps run under the server's blob_mu, which a STOW also holds while
 * it names a file and indexes it: so a STOW of the same bytes racing a DELETE ends with row and file both
 * there or both gone, never a row without its file (docs/decisions.md "DICOMweb DELETE").
 *
 * Answers as the discovery document says: DeleteInstance returns Empty ({}); DeleteStudy and DeleteSeries
 * return an Operation, here already done (the delete is synchronous) with counter.success the number of
 * instances removed and response google.protobuf.Empty, persisted (op_record.c): operations.get and
 * operations.list know it. Nothing matches: 404. [integration.test_server_web: test_delete]
 *
 * All of it runs under the operations' guard (op_guard.c), taken before the blob lock:
 * - a store an unfinished operation reads or writes is refused, 400 FAILED_PRECONDITION naming the operation,
 *   as a DELETE of the store itself is: deleted from its source, the operation's items failed and were
 *   counted; from its destination, its counter claimed instances the store no longer held (or an output
 *   stored after the DELETE brought the study back). [test_server_op_races.py "DICOMweb DELETE of"]
 * - the recorded Operation's row is created under it, like every operation row the guard's question reads:
 *   a dataset DELETE waits for the record to be done, where it was refused over this bookkeeping (the row
 *   unfinished while its items are added) or took the dataset between the delete and its record (500).
 *   [test_server_op_races.py "a dataset DELETE while a DeleteStudy records its operation"] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/server_internal.h"

typedef struct removed {
    dvs_blob_ref *v;
    size_t n, cap;
} removed;

static int collect(const dvs_blob_ref *r, void *user)
{
    removed *rm = user;
    if (rm->n == rm->cap) {
        size_t cap = rm->cap ? rm->cap * 2 : 16;
        dvs_blob_ref *v = realloc(rm->v, cap * sizeof *v);
        if (v == NULL)
            return 1;
        rm->v = v;
        rm->cap = cap;
    }
    rm->v[rm->n++] = *r;
    return 0;
}

/* The Operation of a DeleteStudy / DeleteSeries: done (the delete above was synchronous), persisted like
 * every other (op_record.c) so operations.get / list find it, one item per instance removed (its count only). */
static int delete_operation(dvh_request *rq, const char *method, const removed *rm, struct MHD_Response **resp,
                            dvh_err *e)
{
    dvh_server *s = rq->srv;
    dvs_operation op;
    dv_error err = {0};
    char *result = dvh_operation_response("type.googleapis.com/google.protobuf.Empty", NULL);
    int rc = result ? dvh_op_record_done(s, rq->dataset.id, method, rq->store.id, rm->n, result, &op, &err)
                    : dv_fail(&err, DV_ERR_NOMEM, "out of memory");
    free(result);
    if (rc != 0)
        return dvh_fail(e, DVH_INTERNAL, "deleted, but its operation was not recorded: %s",
                        err.message[0] ? err.message : "out of memory");
    *resp = dvh_response_json(dvh_operation_json(rq, &op));
    dvs_operation_clear(&op);
    return 0;
}

static int delete_guarded(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e)
{
    dvh_server *s = rq->srv;
    const dvh_web *w = &rq->route.web;
    removed rm = {0};
    dv_error err = {0};
    if (dvh_op_refuse_in_use(s, rq->dataset.id, rq->store.id, "dicomStore", e))
        return -1;
    dvh_blob_lock(s);
    int rc = s->ix->ops->instances_delete(s->ix, rq->store.id, w->study, w->series, w->instance, collect, &rm, &err);
    if (rc == DVS_OK) {
        for (size_t i = 0; i < rm.n; i++) {
            uint64_t refs = 1;
            /* A file another row still names stays; a failed count keeps the file (an orphan, never a hole). */
            if (s->ix->ops->blob_refs(s->ix, rq->store.id, rm.v[i].blob, &refs, &err) == DVS_OK && refs == 0)
                dvs_blob_remove(s->data_fd, rq->store.id, rm.v[i].blob);
        }
    }
    dvh_blob_unlock(s);
    const char *what = w->instance[0] ? "instance" : w->series[0] ? "series" : "study";
    int fail = rc == DVS_NOT_FOUND ? dvh_fail(e, DVH_NOT_FOUND, "%s not found", what)
               : rc != DVS_OK     ? dvh_fail(e, DVH_INTERNAL, "delete failed: %s",
                                             err.message[0] ? err.message : "out of memory")
                                  : 0;
    *status = 200;
    if (fail == 0 && w->instance[0])
        *resp = dvh_response_json(json_object());
    else if (fail == 0)
        fail = delete_operation(rq,
                                w->series[0] ? "google.cloud.healthcare.v1beta1.dicomweb.DicomWebService.DeleteSeries"
                                             : "google.cloud.healthcare.v1beta1.dicomweb.DicomWebService.DeleteStudy",
                                &rm, resp, e);
    free(rm.v);
    if (fail)
        return -1;
    return *resp ? 0 : dvh_fail(e, DVH_INTERNAL, "out of memory");
}

int dvh_handle_delete(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e)
{
    dvh_op_guard_lock(rq->srv);
    int rc = delete_guarded(rq, resp, status, e);
    dvh_op_guard_unlock(rq->srv);
    return rc;
}
