/* Datasets and DICOM stores: create / get / list / delete, :getDICOMStoreMetrics (gcp-api.md 9). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "http/op_boxes.h"
#include "http/server_internal.h"
#include "store/dvs_blobs.h"
#include "store/dvs_keys.h"
#include "util/dv_json_names.h"

int dvh_resolve(dvh_request *rq, dvh_err *e)
{
    dvh_server *s = rq->srv;
    const dvh_route *r = &rq->route;
    dv_error err = {0};
    int rc = s->ix->ops->dataset_get(s->ix, r->project, r->location, r->dataset, &rq->dataset, &err);
    if (rc < 0)
        return dvh_index_fail(&err, e);
    if (rc == DVS_NOT_FOUND)
        return dvh_fail(e, DVH_NOT_FOUND, "dataset not found");
    if (r->store[0] == '\0' || rq->have_store)
        return 0;
    rc = s->ix->ops->store_get(s->ix, rq->dataset.id, r->store, &rq->store, &err);
    if (rc < 0)
        return dvh_index_fail(&err, e);
    if (rc == DVS_NOT_FOUND)
        return dvh_fail(e, DVH_NOT_FOUND, "DICOM store not found");
    rq->have_store = 1;
    return 0;
}

/* What is wrong with a text jansson refused, from its error code alone: its own message may quote the text
 * ("... near '<text>'"), and a config file named by a URI may be any file under an allowed root. */
const char *dvh_json_error_reason(const json_error_t *je)
{
    switch (json_error_code(je)) {
    case json_error_duplicate_key: return "an object repeats a key";
    case json_error_stack_overflow: return "nested too deeply";
    case json_error_invalid_utf8: return "not valid UTF-8";
    case json_error_premature_end_of_input: return "the text ends before the value does";
    case json_error_end_of_input_expected: return "text after the value";
    case json_error_null_character:
    case json_error_null_byte_in_key: return "a NUL character";
    case json_error_numeric_overflow: return "a number out of range";
    default: return "a syntax error";
    }
}

/* The request's JSON body as an object ("" or absent: an empty object). Every endpoint reads its body here, so
 * each refuses what :deidentify refuses (a repeated key among them). */
json_t *dvh_body_object(dvh_request *rq, dvh_err *e)
{
    if (rq->json_len == 0)
        return json_object();
    json_error_t je;
    /* DECODE_ANY: a body that is valid JSON but no object is told so, not called a syntax error. */
    json_t *o = json_loadb(rq->json, rq->json_len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (o == NULL) {
        if (json_error_code(&je) == json_error_out_of_memory)
            dvh_fail(e, DVH_INTERNAL, "out of memory");
        else
            dvh_fail(e, DVH_INVALID_ARGUMENT, "request body: invalid JSON at line %d column %d: %s", je.line,
                     je.column, dvh_json_error_reason(&je));
        return NULL;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        dvh_fail(e, DVH_INVALID_ARGUMENT, "request body: must be a JSON object");
        return NULL;
    }
    return o;
}

/* A key for a message: printable ASCII only, cut to 64 characters (a field name, not a value). */
static void shown_key(char name[65], const char *k)
{
    size_t n = 0;
    for (const char *c = k; *c && n < 64; c++)
        name[n++] = (*c >= 0x20 && *c < 0x7f && *c != '"') ? *c : '?';
    name[n] = '\0';
}

/* Refuse fields outside allowed (a NULL-terminated list of JSON names), each accepted by its JSON or its proto
 * name (proto3 JSON, util/dv_json_names.h) but not by both at once: every error names its JSON path, with the
 * key as the client wrote it, as the config parser does. The callers read the fields with dv_json_field.
 * [test_server_ops.py "proto field names"] */
int dvh_only_fields(json_t *o, const char *const *allowed, dvh_err *e)
{
    size_t n = 0;
    while (allowed[n])
        n++;
    const char *key = NULL, *other = NULL;
    dv_json_names_result r = dv_json_names_check(o, allowed, n, &key, &other);
    if (r == DV_JSON_NAMES_OK)
        return 0;
    char name[65];
    shown_key(name, key);
    if (r == DV_JSON_NAMES_TWICE)
        return dvh_fail(e, DVH_INVALID_ARGUMENT,
                        "%s: the same field as %s (a field is given once, by its JSON or its proto name)", name, other);
    return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: unknown field", name);
}

static const char *param(dvh_request *rq, const char *key)
{
    return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, key);
}

static json_t *dataset_json(const dvs_dataset *d)
{
    char name[1024];
    snprintf(name, sizeof name, "projects/%s/locations/%s/datasets/%s", d->project, d->location, d->name);
    json_t *o = json_pack("{s:s}", "name", name);
    if (o && d->time_zone[0])
        json_object_set_new(o, "timeZone", json_string(d->time_zone));
    return o;
}

static json_t *store_json(const dvh_route *r, const dvs_store *st)
{
    char name[1200];
    snprintf(name, sizeof name, "projects/%s/locations/%s/datasets/%s/dicomStores/%s", r->project, r->location,
             r->dataset, st->name);
    json_t *labels = json_loads(st->labels_json ? st->labels_json : "{}", 0, NULL);
    json_t *o = json_pack("{s:s}", "name", name);
    if (o && labels && json_object_size(labels))
        json_object_set(o, "labels", labels);
    json_decref(labels);
    return o;
}

/* An IANA zone name the system's tz database knows (a file under /usr/share/zoneinfo; "UTC" always). Where
 * the database is not installed only the characters are checked. [test_server.py "timeZone must be a zone"] */
static int tz_known(const char *t)
{
    if (strcmp(t, "UTC") == 0)
        return 1;
    struct stat st;
    if (stat("/usr/share/zoneinfo", &st) != 0 || !S_ISDIR(st.st_mode))
        return 1;
    if (t[0] == '/' || t[0] == '\0' || strstr(t, "..") != NULL)
        return 0;
    char path[160];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", t);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* datasets.create: an Operation that is already done (the API's own shape: the response is the Dataset). */
static int dataset_create(dvh_request *rq, struct MHD_Response **resp, dvh_err *e)
{
    dvh_server *s = rq->srv;
    const dvh_route *r = &rq->route;
    const char *id = param(rq, "datasetId");
    if (id == NULL || !dvh_id_valid(id, strlen(id)))
        return dvh_fail(e, DVH_INVALID_ARGUMENT,
                        "datasetId: required, 1-256 characters of [A-Za-z0-9_.-], not '.' or '..'");
    json_t *body = dvh_body_object(rq, e);
    if (body == NULL)
        return -1;
    static const char *const allowed[] = {"name", "timeZone", NULL};
    dvs_dataset d;
    memset(&d, 0, sizeof d);
    const char *tz_key = NULL; /* timeZone or time_zone, as written */
    json_t *tz = dv_json_field(body, "timeZone", &tz_key);
    int bad = dvh_only_fields(body, allowed, e);
    if (!bad && tz && !json_is_null(tz)) {
        const char *t = json_string_value(tz);
        if (t == NULL || strlen(t) >= sizeof d.time_zone ||
            strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-") != strlen(t) ||
            !tz_known(t))
            bad = dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: must be an IANA time zone name", tz_key);
        else
            snprintf(d.time_zone, sizeof d.time_zone, "%s", t);
    }
    json_decref(body);
    if (bad)
        return -1;
    snprintf(d.project, sizeof d.project, "%s", r->project);
    snprintf(d.location, sizeof d.location, "%s", r->location);
    snprintf(d.name, sizeof d.name, "%s", id);
    dv_error err = {0};
    /* The dataset and its operation's row under the operations' guard (op_guard.c), as every row an operation
     * question reads: a DELETE of the new dataset comes before both (404) or after the row is done, never
     * between (refused over an unfinished bookkeeping row, or the dataset gone from under the record). */
    dvh_op_guard_lock(s);
    int rc = s->ix->ops->dataset_create(s->ix, &d, &err);
    if (rc != DVS_OK) {
        dvh_op_guard_unlock(s);
        return rc == DVS_EXISTS ? dvh_fail(e, DVH_ALREADY_EXISTS, "dataset already exists") : dvh_index_fail(&err, e);
    }
    /* An Operation that is already done, persisted like every other (operations.get finds it; its id is
     * never another operation's). The response is the Dataset. */
    json_t *dataset = dataset_json(&d);
    char *text = dataset ? dvh_operation_response("type.googleapis.com/google.cloud.healthcare.v1beta1.dataset.Dataset",
                                                  dataset)
                         : NULL;
    dvs_operation op;
    rc = text ? dvh_op_record_done(s, d.id, "google.cloud.healthcare.v1beta1.dataset.DatasetService.CreateDataset", 0,
                                   0, text, &op, &err)
              : dv_fail(&err, DV_ERR_NOMEM, "out of memory");
    dvh_op_guard_unlock(s);
    free(text);
    if (rc != 0)
        return dvh_index_fail(&err, e);
    dvh_request named = *rq; /* the Operation is named under the new dataset */
    snprintf(named.route.dataset, sizeof named.route.dataset, "%s", d.name);
    json_t *o = dvh_operation_json(&named, &op);
    dvs_operation_clear(&op);
    *resp = dvh_response_json(o);
    return 0;
}

static int dataset_list(dvh_request *rq, struct MHD_Response **resp, dvh_err *e)
{
    dvh_server *s = rq->srv;
    dvh_paging pg;
    static const char *const extra[] = {"filter", NULL};
    if (dvh_parse_paging(rq, &pg, extra, e))
        return -1;
    dvs_dataset *v = calloc(pg.size, sizeof *v);
    if (v == NULL)
        return dvh_fail(e, DVH_INTERNAL, "out of memory");
    size_t n = 0;
    int64_t next = 0;
    dv_error err = {0};
    if (s->ix->ops->dataset_list(s->ix, rq->route.project, rq->route.location, pg.after, pg.size, v, &n, &next,
                                 &err) < 0) {
        free(v);
        return dvh_index_fail(&err, e);
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, dataset_json(&v[i]));
    free(v);
    *resp = dvh_response_json(dvh_page_json("datasets", arr, next));
    return 0;
}

/* The ids of the operations listed under dataset_id (malloc'd into *ids, caller frees): their rows go with
 * the dataset (ON DELETE CASCADE), so their files must be named before. 0, or -1 with err. */
static int dataset_operations(dvh_server *s, int64_t dataset_id, int64_t **ids, size_t *n, dv_error *err)
{
    *ids = NULL;
    *n = 0;
    size_t cap = 0;
    int64_t after = 0;
    for (;;) {
        dvs_operation v[64];
        size_t got = 0;
        int64_t next = 0;
        if (s->ix->ops->op_list(s->ix, dataset_id, -1, after, 64, v, &got, &next, err) < 0)
            return -1;
        int nomem = 0;
        for (size_t i = 0; i < got; i++) {
            if (*n == cap && !nomem) {
                int64_t *g = realloc(*ids, (cap ? cap * 2 : 64) * sizeof *g);
                if (g == NULL)
                    nomem = 1;
                else
                    *ids = g, cap = cap ? cap * 2 : 64;
            }
            if (!nomem)
                (*ids)[(*n)++] = v[i].id;
            dvs_operation_clear(&v[i]);
        }
        if (nomem)
            return dv_fail(err, DV_ERR_NOMEM, "dataset delete: out of memory");
        if (next == 0)
            return 0;
        after = next;
    }
}

/* Rows and files go under the blob lock, exclusive: no STOW or operation is then between naming a file and
 * committing its row in one of these stores (it fails before or after, and removes what it named:
 * store_put.c), so no instance file outlives its store. [test_server_names.py "store deleted during STOWs"] */
int dvh_dataset_remove(dvh_server *s, int64_t dataset_id, dv_error *err)
{
    int64_t *ids = NULL;
    size_t n = 0;
    dvh_blob_lock(s);
    int rc = s->ix->ops->dataset_delete(s->ix, dataset_id, &ids, &n, err);
    if (rc == DVS_OK)
        for (size_t i = 0; i < n; i++)
            dvs_store_dir_remove(s->data_fd, ids[i]);
    dvh_blob_unlock(s);
    free(ids);
    if (rc == DVS_OK)
        dvs_dataset_key_remove(s->data_fd, dataset_id); /* its key goes with it (docs/server.md) */
    return rc;
}

static int dataset_delete_guarded(dvh_request *rq, struct MHD_Response **resp, dvh_err *e)
{
    dvh_server *s = rq->srv;
    int64_t *ops = NULL;
    size_t nops = 0;
    dv_error err = {0};
    if (dvh_op_refuse_in_use(s, rq->dataset.id, 0, "dataset", e))
        return -1;
    if (dataset_operations(s, rq->dataset.id, &ops, &nops, &err) < 0) {
        free(ops);
        return dvh_index_fail(&err, e);
    }
    int rc = dvh_dataset_remove(s, rq->dataset.id, &err);
    if (rc < 0 || rc == DVS_NOT_FOUND)
        free(ops);
    if (rc < 0)
        return dvh_index_fail(&err, e);
    if (rc == DVS_NOT_FOUND)
        return dvh_fail(e, DVH_NOT_FOUND, "dataset not found");
    /* Its operations' review records go with them: the redaction boxes and the review marks (the console's,
     * issue 9). [test_server_boxes.py "deleting the dataset"] */
    for (size_t i = 0; i < nops; i++) {
        dvh_boxes_remove(s->data_fd, ops[i]);
        dvh_ext_marks_remove(s, ops[i]);
    }
    free(ops);
    *resp = dvh_response_json(json_object());
    return 0;
}

static int dataset_delete(dvh_request *rq, struct MHD_Response **resp, dvh_err *e)
{
    dvh_op_guard_lock(rq->srv);
    int rc = dataset_delete_guarded(rq, resp, e);
    dvh_op_guard_unlock(rq->srv);
    return rc;
}

/* The API's label rule (DicomStore.labels): keys [\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}, values
 * [\p{Ll}\p{Lo}\p{N}_-]{0,63}, each at most 128 bytes of UTF-8. ASCII is checked exactly; a non-ASCII
 * character is taken as a letter (no Unicode tables here), its UTF-8 form checked by jansson already.
 * [test_server.py "labels follow the API's rule"] */
static int label_ok(const char *t, int key)
{
    size_t bytes = strlen(t), chars = 0;
    if (bytes > 128 || (key && bytes == 0))
        return 0;
    for (const unsigned char *p = (const unsigned char *)t; *p; p++) {
        int cont = (*p & 0xC0) == 0x80;
        if (!cont)
            chars++;
        int letter = (*p >= 'a' && *p <= 'z') || *p >= 0x80;
        if (key && p == (const unsigned char *)t && !letter)
            return 0;
        if (!letter && !(*p >= '0' && *p <= '9') && *p != '_' && *p != '-')
            return 0;
    }
    return chars <= 63;
}

static int store_create(dvh_request *rq, struct MHD_Response **resp, dvh_err *e)
{
    dvh_server *s = rq->srv;
    const char *id = param(rq, "dicomStoreId");
    if (id == NULL || !dvh_id_valid(id, strlen(id)))
        return dvh_fail(e, DVH_INVALID_ARGUMENT,
                        "dicomStoreId: required, 1-256 characters of [A-Za-z0-9_.-], not '.' or '..'");
    json_t *body = dvh_body_object(rq, e);
    if (body == NULL)
        return -1;
    static const char *const allowed[] = {"name", "labels", NULL};
    int bad = dvh_only_fields(body, allowed, e);
    json_t *labels = json_object_get(body, "labels");
    char *labels_s = NULL;
    if (!bad && labels && !json_is_null(labels)) {
        const char *k;
        json_t *v;
        if (!json_is_object(labels) || json_object_size(labels) > 64)
            bad = dvh_fail(e, DVH_INVALID_ARGUMENT, "labels: must be an object of at most 64 string values");
        json_object_foreach(labels, k, v) {
            if (!bad && (!json_is_string(v) || !label_ok(k, 1) || !label_ok(json_string_value(v), 0)))
                bad = dvh_fail(e, DVH_INVALID_ARGUMENT,
                               "labels: keys are 1-63 characters, values 0-63, of lower-case letters, digits, '_' "
                               "and '-' (a key starts with a letter), at most 128 bytes each");
        }
        if (!bad)
            labels_s = json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS);
    }
    json_decref(body);
    if (bad)
        return -1;
    dvs_store st;
    memset(&st, 0, sizeof st);
    dv_error err = {0};
    int rc = s->ix->ops->store_create(s->ix, rq->dataset.id, id, labels_s, &st, &err);
    free(labels_s);
    if (rc < 0)
        return dvh_index_fail(&err, e);
    if (rc == DVS_EXISTS)
        return dvh_fail(e, DVH_ALREADY_EXISTS, "DICOM store already exists");
    dvh_route r = rq->route;
    *resp = dvh_response_json(store_json(&r, &st));
    dvs_store_clear(&st);
    return 0;
}

static int store_list(dvh_request *rq, struct MHD_Response **resp, dvh_err *e)
{
    dvh_server *s = rq->srv;
    dvh_paging pg;
    static const char *const extra[] = {"filter", NULL};
    if (dvh_parse_paging(rq, &pg, extra, e))
        return -1;
    const char *filter = param(rq, "filter");
    if (filter && filter[0])
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "filter: not supported yet");
    dvs_store *v = calloc(pg.size, sizeof *v);
    if (v == NULL)
        return dvh_fail(e, DVH_INTERNAL, "out of memory");
    size_t n = 0;
    int64_t next = 0;
    dv_error err = {0};
    if (s->ix->ops->store_list(s->ix, rq->dataset.id, pg.after, pg.size, v, &n, &next, &err) < 0) {
        free(v);
        return dvh_index_fail(&err, e);
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, store_json(&rq->route, &v[i]));
        dvs_store_clear(&v[i]);
    }
    free(v);
    *resp = dvh_response_json(dvh_page_json("dicomStores", arr, next));
    return 0;
}

static int store_delete(dvh_request *rq, struct MHD_Response **resp, dvh_err *e)
{
    dvh_server *s = rq->srv;
    dv_error err = {0};
    dvh_op_guard_lock(s);
    if (dvh_op_refuse_in_use(s, rq->dataset.id, rq->store.id, "dicomStore", e)) {
        dvh_op_guard_unlock(s);
        return -1;
    }
    dvh_blob_lock(s); /* as dataset_delete: no put between name and row while the store goes */
    int rc = s->ix->ops->store_delete(s->ix, rq->store.id, &err);
    if (rc == DVS_OK)
        dvs_store_dir_remove(s->data_fd, rq->store.id);
    dvh_blob_unlock(s);
    dvh_op_guard_unlock(s);
    if (rc < 0)
        return dvh_index_fail(&err, e);
    if (rc == DVS_NOT_FOUND)
        return dvh_fail(e, DVH_NOT_FOUND, "DICOM store not found");
    *resp = dvh_response_json(json_object());
    return 0;
}

static int store_metrics(dvh_request *rq, struct MHD_Response **resp, dvh_err *e)
{
    dvh_server *s = rq->srv;
    dvs_metrics m;
    dv_error err = {0};
    if (s->ix->ops->store_metrics(s->ix, rq->store.id, &m, &err) < 0)
        return dvh_index_fail(&err, e);
    char name[1200], a[24], b[24], c[24], d[24];
    dvh_store_name(&rq->route, name, sizeof name);
    snprintf(a, sizeof a, "%llu", (unsigned long long)m.studies);
    snprintf(b, sizeof b, "%llu", (unsigned long long)m.series);
    snprintf(c, sizeof c, "%llu", (unsigned long long)m.instances);
    snprintf(d, sizeof d, "%llu", (unsigned long long)m.bytes);
    /* int64 fields are JSON strings (gcp-api.md 0.2). Every byte is in one tier here: the instance files
     * count as structured storage, the blob tier is empty. */
    *resp = dvh_response_json(json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "name", name, "studyCount", a,
                                        "seriesCount", b, "instanceCount", c, "structuredStorageSizeBytes", d,
                                        "blobStorageSizeBytes", "0"));
    return 0;
}

int dvh_handle_resource(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e)
{
    const dvh_route *r = &rq->route;
    *status = 200;
    switch (r->kind) {
    case DVH_R_DATASETS:
        return rq->method == DVH_POST ? dataset_create(rq, resp, e) : dataset_list(rq, resp, e);
    case DVH_R_DATASET:
        if (dvh_resolve(rq, e))
            return -1;
        if (rq->method == DVH_DELETE)
            return dataset_delete(rq, resp, e);
        *resp = dvh_response_json(dataset_json(&rq->dataset));
        return 0;
    case DVH_R_STORES:
        if (dvh_resolve(rq, e))
            return -1;
        return rq->method == DVH_POST ? store_create(rq, resp, e) : store_list(rq, resp, e);
    case DVH_R_STORE:
        if (dvh_resolve(rq, e))
            return -1;
        if (rq->method == DVH_DELETE)
            return store_delete(rq, resp, e);
        *resp = dvh_response_json(store_json(r, &rq->store));
        return 0;
    case DVH_R_STORE_METRICS:
        if (dvh_resolve(rq, e))
            return -1;
        return store_metrics(rq, resp, e);
    default:
        /* Operations and the :deidentify / :import / :export methods are the next step (issue 7 item 5). */
        if (dvh_resolve(rq, e))
            return -1;
        return dvh_fail(e, DVH_UNIMPLEMENTED, "%s is not implemented yet", r->name);
    }
}
