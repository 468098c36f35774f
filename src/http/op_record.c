/* Operations a request carries out itself before it answers (datasets.create, DICOMweb DeleteStudy and
 * DeleteSeries): the API returns an Operation for them, and every Operation name a client sees must be one
 * operations.get and operations.list know. Why a file: one way to persist such an operation, so they all
 * read back alike (done, the recorded response, counter.success = the instances handled) and a process that
 * stops half-way leaves nothing the runner cannot finish.
 *
 * The steps: op_create (request {"kind": "recorded", "result": ...}), the items (one per instance, in batches
 * of RECORD_BATCH so memory stays bounded), op_planned, each item finished ok, op_finish. Stopped in between,
 * the operation is unfinished at the next start: the runner (op_jobs.c, DVH_OP_RECORDED) counts the items
 * it finds ok and stores the recorded result (stopped while adding items, the counter is short of the
 * instances handled: it counts what was recorded).
 *
 * The caller holds the operations' guard (op_guard.c): the row is unfinished until its items are in, and a
 * dataset DELETE asking under the guard which operation uses the dataset must not find it half-made.
 * [test_server_web.py "persisted", "recorded operation resumed"; test_server_op_races.py "a dataset DELETE
 * while a DeleteStudy records its operation"] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/server_internal.h"

#define RECORD_BATCH 512

/* The request the runner reads back when it has to finish the recording (op_request.c). */
static char *recorded_request(const char *result_json, dv_error *err)
{
    json_t *res = json_loads(result_json, 0, NULL);
    json_t *req = res ? json_pack("{s:s, s:o}", "kind", "recorded", "result", res) : NULL;
    char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (text == NULL)
        dv_fail(err, DV_ERR_NOMEM, "operation record: out of memory");
    return text;
}

int dvh_op_record_done(dvh_server *s, int64_t dataset_id, const char *api_method, int64_t store_id, size_t n,
                       const char *result_json, dvs_operation *out, dv_error *err)
{
    dvs_index *ix = s->ix;
    memset(out, 0, sizeof *out);
    char *req = recorded_request(result_json, err);
    dvs_op_item *batch = req && n ? calloc(n < RECORD_BATCH ? n : RECORD_BATCH, sizeof *batch) : NULL;
    if (req == NULL || (n && batch == NULL)) {
        free(req);
        return req ? dv_fail(err, DV_ERR_NOMEM, "operation record: out of memory") : -1;
    }
    dvs_operation op;
    memset(&op, 0, sizeof op);
    op.dataset_id = dataset_id;
    snprintf(op.api_method, sizeof op.api_method, "%s", api_method);
    op.request_json = req;
    int rc = ix->ops->op_create(ix, &op, err);
    op.request_json = NULL;
    free(req);
    if (rc != DVS_OK) {
        free(batch);
        return -1;
    }
    for (size_t i = 0; i < n && rc == DVS_OK; i += RECORD_BATCH) {
        size_t k = n - i < RECORD_BATCH ? n - i : RECORD_BATCH;
        /* An item only counts an instance handled: never a UID or a file name. A DeleteStudy's items named every
         * deleted instance, in live rows of the index for as long as the operation was kept (red team round 5,
         * finding 05's server half); nothing reads them (a recorded item is never failed, so op_errors never
         * shows one). */
        for (size_t j = 0; j < k; j++) {
            dvs_op_item *it = &batch[j];
            memset(it, 0, sizeof *it);
            it->seq = (int64_t)(i + j) + 1;
            it->src_store_id = store_id;
        }
        rc = ix->ops->op_items_add(ix, op.id, batch, k, err);
    }
    free(batch);
    if (rc == DVS_OK)
        rc = ix->ops->op_planned(ix, op.id, err);
    /* DVS_EXISTS: another process sharing the index resumed the operation meanwhile and did that step. */
    for (size_t i = 0; i < n && rc == DVS_OK; i++)
        if ((rc = ix->ops->op_item_finish(ix, op.id, (int64_t)i + 1, DVS_ITEM_OK, NULL, err)) == DVS_EXISTS)
            rc = DVS_OK;
    if (rc == DVS_OK && (rc = ix->ops->op_finish(ix, op.id, result_json, err)) == DVS_EXISTS)
        rc = DVS_OK;
    if (rc == DVS_OK)
        rc = ix->ops->op_get(ix, dataset_id, op.id, out, err);
    if (rc == DVS_OK)
        return 0;
    /* Unfinished in the index: the runner finishes it now (or, without one, at the next start). */
    dv_error ignored = {0};
    dvh_ops_launch(s, op.id, &ignored);
    return rc < 0 ? -1 : dv_fail(err, DV_ERR_IO, "operation record: the index lost the operation");
}
