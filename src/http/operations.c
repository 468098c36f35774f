/* operations.get / operations.list / operations.cancel (gcp-api.md 8) and our per-operation error log, the
 * target of metadata.logsUrl (docs/server.md "Operations").
 *
 * An Operation is {name, metadata: OperationMetadata, done, response | error}; int64 counters are JSON
 * strings. The stored result is the {"response"} or {"error"} object the runner recorded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/server_internal.h"

static void u64s(char out[24], uint64_t v)
{
    snprintf(out, 24, "%llu", (unsigned long long)v);
}

json_t *dvh_operation_json(dvh_request *rq, const dvs_operation *op)
{
    char ds[1024], name[1200], origin[600], logs[2000], type[128], method[256];
    dvh_dataset_name(&rq->route, ds, sizeof ds);
    snprintf(name, sizeof name, "%s/operations/%lld", ds, (long long)op->id);
    dvh_api_root(rq, origin, sizeof origin);
    snprintf(logs, sizeof logs, "%s/%s/errors", origin, name);
    dvh_api_name(rq, "type.googleapis.com/google.cloud.healthcare.v1beta1.OperationMetadata", type, sizeof type);
    dvh_api_name(rq, op->api_method, method, sizeof method);
    char s[24], f[24], p[24];
    u64s(s, op->success);
    u64s(f, op->failure);
    u64s(p, op->pending);
    json_t *md = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:s}", "@type", type, "apiMethodName", method,
                           "createTime", op->create_time, "counter", "success", s, "failure", f,
                           "pending", p, "logsUrl", logs);
    if (md == NULL)
        return NULL;
    if (op->done && op->end_time[0])
        json_object_set_new(md, "endTime", json_string(op->end_time));
    if (op->cancel_requested)
        json_object_set_new(md, "cancelRequested", json_true());
    json_t *o = json_pack("{s:s, s:o, s:b}", "name", name, "metadata", md, "done", op->done ? 1 : 0);
    if (o && op->done && op->result_json) {
        json_t *r = json_loads(op->result_json, 0, NULL);
        const char *k;
        json_t *v;
        if (r && json_is_object(r))
            json_object_foreach(r, k, v) {
                if (strcmp(k, "response") == 0 || strcmp(k, "error") == 0)
                    json_object_set(o, k, v);
            }
        json_t *resp = json_object_get(o, "response");
        const char *rt = json_string_value(json_object_get(resp, "@type"));
        if (rt) {
            char t[256];
            dvh_api_name(rq, rt, t, sizeof t);
            json_object_set_new(resp, "@type", json_string(t));
        }
        json_decref(r);
    }
    return o;
}

char *dvh_operation_response(const char *type, json_t *fields)
{
    json_t *body = fields ? fields : json_object();
    if (body == NULL || json_object_set_new(body, "@type", json_string(type)) != 0) {
        json_decref(body);
        return NULL;
    }
    json_t *r = json_pack("{s:o}", "response", body);
    char *text = r ? json_dumps(r, JSON_COMPACT) : NULL;
    json_decref(r);
    return text;
}

/* The {operation} of the route as a row id: only the spelling the server hands out (dvh_op_id_parse) names one,
 * so "00003" is no alias of operation 3. [test_server_strict.py "aliases"] */
static int op_id(const dvh_route *r, int64_t *id, dvh_err *e)
{
    if (dvh_op_id_parse(r->operation, id) != 0)
        return dvh_fail(e, DVH_NOT_FOUND, "operation not found");
    return 0;
}

static int get_op(dvh_request *rq, int64_t id, dvs_operation *op, dvh_err *e)
{
    dvh_server *s = rq->srv;
    dv_error err = {0};
    int rc = s->ix->ops->op_get(s->ix, rq->dataset.id, id, op, &err);
    if (rc < 0)
        return dvh_index_fail(&err, e);
    if (rc == DVS_NOT_FOUND)
        return dvh_fail(e, DVH_NOT_FOUND, "operation not found");
    return 0;
}

/* "done=true", "done = false" (the standard list filter, restricted to the one field an Operation list
 * filters on here). */
static int parse_filter(const char *v, int *done, dvh_err *e)
{
    *done = -1;
    if (v == NULL || v[0] == '\0')
        return 0;
    char buf[64];
    size_t w = 0;
    for (const char *c = v; *c && w + 1 < sizeof buf; c++)
        if (*c != ' ')
            buf[w++] = *c;
    buf[w] = '\0';
    if (strcmp(buf, "done=true") == 0)
        *done = 1;
    else if (strcmp(buf, "done=false") == 0)
        *done = 0;
    else
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "filter: only done=true or done=false is supported");
    return 0;
}

/* operations.list's filter (the one field an Operation list filters on here). */
static int parse_done_filter(dvh_request *rq, int *done, dvh_err *e)
{
    return parse_filter(MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, "filter"), done, e);
}

static int op_list(dvh_request *rq, struct MHD_Response **resp, dvh_err *e)
{
    dvh_server *s = rq->srv;
    static const char *const extra[] = {"filter", NULL};
    dvh_paging lp;
    int done;
    if (dvh_parse_paging(rq, &lp, extra, e) || parse_done_filter(rq, &done, e))
        return -1;
    dvs_operation *v = calloc(lp.size, sizeof *v);
    if (v == NULL)
        return dvh_fail(e, DVH_INTERNAL, "out of memory");
    size_t n = 0;
    int64_t next = 0;
    dv_error err = {0};
    if (s->ix->ops->op_list(s->ix, rq->dataset.id, done, lp.after, lp.size, v, &n, &next, &err) < 0) {
        free(v);
        return dvh_index_fail(&err, e);
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, dvh_operation_json(rq, &v[i]));
        dvs_operation_clear(&v[i]);
    }
    free(v);
    *resp = dvh_response_json(dvh_page_json("operations", arr, next));
    return 0;
}

/* Source resource paths of the error log: each source store's name by its row id, from the request. */
static const char *store_name_of(json_t *req, int64_t id)
{
    json_t *stores = json_object_get(req, "stores");
    size_t i;
    json_t *st;
    json_array_foreach(stores, i, st) {
        if (json_integer_value(json_object_get(st, "src")) == id)
            return json_string_value(json_object_get(st, "name"));
    }
    return NULL;
}

static int op_errors(dvh_request *rq, int64_t id, struct MHD_Response **resp, dvh_err *e)
{
    dvh_server *s = rq->srv;
    dvh_paging lp;
    if (dvh_parse_paging(rq, &lp, NULL, e))
        return -1;
    dvs_operation op;
    if (get_op(rq, id, &op, e))
        return -1;
    json_t *req = op.request_json ? json_loads(op.request_json, 0, NULL) : NULL;
    dvs_operation_clear(&op);
    dvs_op_item *v = calloc(lp.size, sizeof *v);
    if (v == NULL) {
        json_decref(req);
        return dvh_fail(e, DVH_INTERNAL, "out of memory");
    }
    size_t n = 0;
    int64_t next = 0;
    dv_error err = {0};
    if (s->ix->ops->op_errors(s->ix, id, lp.after, lp.size, v, &n, &next, &err) < 0) {
        free(v);
        json_decref(req);
        return dvh_index_fail(&err, e);
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        char res[1600];
        const char *store = v[i].src_store_id ? store_name_of(req, v[i].src_store_id) : NULL;
        if (store && v[i].sop_uid[0])
            snprintf(res, sizeof res, "%s/dicomWeb/studies/%s/series/%s/instances/%s", store, v[i].study_uid,
                     v[i].series_uid, v[i].sop_uid);
        else if (store) /* its store was deleted, and the items forgot its UIDs (DVS_SQL_STORE_FORGET_ITEMS) */
            snprintf(res, sizeof res, "%s: instance #%lld (store deleted)", store, (long long)v[i].seq);
        else /* an import: the file's position in the folder's name order (file names may carry PHI) */
            snprintf(res, sizeof res, "file #%lld", (long long)v[i].seq);
        json_array_append_new(arr, json_pack("{s:s, s:s}", "resource", res, "errorClass", v[i].error_class));
    }
    free(v);
    json_decref(req);
    *resp = dvh_response_json(dvh_page_json("entries", arr, next));
    return 0;
}

int dvh_handle_operation(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e)
{
    dvh_server *s = rq->srv;
    *status = 200;
    if (dvh_resolve(rq, e))
        return -1;
    if (rq->route.kind == DVH_R_OPERATIONS)
        return op_list(rq, resp, e);
    int64_t id = 0;
    if (op_id(&rq->route, &id, e))
        return -1;
    if (rq->route.kind == DVH_R_OPERATION_ERRORS)
        return op_errors(rq, id, resp, e);
    dvs_operation op;
    if (get_op(rq, id, &op, e))
        return -1;
    if (rq->route.kind == DVH_R_OPERATION_CANCEL) {
        dvs_operation_clear(&op);
        dv_error err = {0};
        int rc = s->ix->ops->op_cancel(s->ix, id, &err);
        if (rc < 0)
            return dvh_index_fail(&err, e);
        if (rc == DVS_NOT_FOUND)
            return dvh_fail(e, DVH_NOT_FOUND, "operation not found");
        dvh_ops_cancel(s, id);
        *resp = dvh_response_json(json_object()); /* google.protobuf.Empty */
        return 0;
    }
    *resp = dvh_response_json(dvh_operation_json(rq, &op));
    dvs_operation_clear(&op);
    return 0;
}
