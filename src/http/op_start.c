/* Starting operations: datasets.deidentify, dicomStores.deidentify, dicomStores.import, dicomStores.export
 * (gcp-api.md 1, 8; docs/server.md "Operations").
 *
 * Everything a client can get wrong is checked here, before anything is persisted, so it is answered at once
 * in the API's error JSON: unknown fields, names, the config (compiled with the CLI's parser: its message
 * names the JSON path), file URIs (allowed roots), the filter file (line numbers), an existing destination
 * dataset (409), a destination store another de-identification is writing (400 FAILED_PRECONDITION). Then the
 * destination resources are created, the operation row is written with a normalised request (config text,
 * store ids, resolved folder, parsed filter) that is all the runner needs, even after a restart, and the
 * runner is started; all of it under the operations' guard (op_guard.c). A start that fails after creating
 * its destination dataset removes it again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include "config/dv_config_ir.h"
#include "dicomveil/dicomveil.h"
#include "http/filter_file.h"
#include "http/server_internal.h"
#include "store/dvs_keys.h"
#include "util/dv_json_names.h"

#define API_DEID_DATASET "google.cloud.healthcare.v1beta1.dataset.DatasetService.DeidentifyDataset"
#define API_DEID_STORE "google.cloud.healthcare.v1beta1.deidentify.DeidentifyService.DeidentifyDicomStore"
#define API_IMPORT "google.cloud.healthcare.v1beta1.dicom.DicomService.ImportDicomData"
#define API_EXPORT "google.cloud.healthcare.v1beta1.dicom.DicomService.ExportDicomData"

/* A whole small file (at most cap bytes) read from a resolved path; NULL with e. */
static char *read_file(const char *path, size_t cap, size_t *len, const char *field, dvh_err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: cannot read the file", field);
        return NULL;
    }
    char *buf = malloc(cap + 2);
    size_t got = 0;
    while (buf && got <= cap) {
        ssize_t n = read(fd, buf + got, cap + 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (buf == NULL) {
        dvh_fail(e, DVH_INTERNAL, "out of memory");
        return NULL;
    }
    if (got > cap) {
        free(buf);
        dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: the file is larger than %zu bytes", field, cap);
        return NULL;
    }
    buf[got] = '\0';
    *len = got;
    return buf;
}

/* -1 with the 400 when a request through /v1/ gives a DeidentifyConfig field or enum value only v1beta1 has:
 * the v1 API's DeidentifyConfig (its discovery document) has no dicomTagConfig, its ImageConfig only
 * textRedactionMode (without REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS), its TextConfig no profileType, and
 * Google's v1 service refuses an unknown field or value, so the same body is refused here too, never silently
 * read as the v1beta1 form (stop 45's backlog; the nested ones were carried out as v1beta1's).
 * cfg: the config as read (the body's, or the file's; a file holding a whole request body is looked at in its
 * `config`, where the parser reads it). [test_server_ops.py "v1 refuses dicomTagConfig"; test_server_ops.py
 * "v1 refuses nested v1beta1 fields"] */
static int v1_field(dvh_request *rq, const json_t *cfg, const char *where, dvh_err *e)
{
    if (strcmp(dvh_api_version(rq), "v1") != 0 || !json_is_object(cfg))
        return 0;
    /* Read where the parser reads it: a request body's `config` (its rule, dv_config_json_is_request_body). */
    if (dv_config_json_is_request_body(cfg))
        cfg = json_object_get(cfg, "config");
    if (!json_is_object(cfg))
        return 0; /* the parser names what is wrong */
    /* v1beta1's fields that v1 lacks (the two discovery documents' difference), each in its parent object
     * (NULL: the DeidentifyConfig itself). */
    static const struct {
        const char *parent, *type, *field;
    } beta_only[] = {
        {NULL, "DeidentifyConfig", "dicomTagConfig"},   {NULL, "DeidentifyConfig", "annotation"},
        {NULL, "DeidentifyConfig", "fhirFieldConfig"},  {NULL, "DeidentifyConfig", "operationMetadata"},
        {"image", "ImageConfig", "additionalInfoTypes"}, {"image", "ImageConfig", "excludeInfoTypes"},
        {"text", "TextConfig", "profileType"},
    };
    /* Each field by either of its names (proto3 JSON, util/dv_json_names.h), named as written: a v1beta1-only
     * field written as its proto name (dicom_tag_config) is refused too. [test_server_ops.py "v1 refuses
     * dicom_tag_config"] */
    for (size_t i = 0; i < sizeof beta_only / sizeof beta_only[0]; i++) {
        const char *parent = beta_only[i].parent, *field = NULL;
        const json_t *obj = parent ? json_object_get(cfg, parent) : cfg;
        if (json_is_object(obj) && dv_json_field(obj, beta_only[i].field, &field))
            return dvh_fail(e, DVH_INVALID_ARGUMENT, "%sconfig.%s%s%s: not a field of the v1 API's %s "
                            "(v1beta1 only): send it through /v1beta1/, or use the v1 fields", where,
                            parent ? parent : "", parent ? "." : "", field, beta_only[i].type);
    }
    const json_t *image = json_object_get(cfg, "image");
    const char *mode_key = NULL;
    const json_t *mode = json_is_object(image) ? dv_json_field(image, "textRedactionMode", &mode_key) : NULL;
    if (json_is_string(mode) && strcmp(json_string_value(mode), "REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS") == 0)
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "%sconfig.image.%s: REDACT_SENSITIVE_TEXT_CLEAN_"
                        "DESCRIPTORS is not a value of the v1 API (v1beta1 only): send it through /v1beta1/",
                        where, mode_key);
    return 0;
}

/* The JSON text the config parser is handed for a request's `config` (a DeidentifyConfig object), wrapped as a
 * request body: the parser also reads a whole request body, so a request field inside `config` (config.config,
 * config.destinationDataset ...) is then an unknown field at its path, never read as a request. One home for
 * :deidentify (config_text) and the dry run (ext_endpoints.c). NULL when out of memory. */
char *dvh_config_as_request(const json_t *cfg)
{
    json_t *wrapped = json_pack("{s:O}", "config", (json_t *)cfg);
    char *text = wrapped ? json_dumps(wrapped, JSON_COMPACT) : NULL;
    json_decref(wrapped);
    return text;
}

/* The DeidentifyConfig text of the request: `config` (re-serialised as a request body) or the file of
 * `gcsConfigUri`, neither:
 * "{}" (the API's default). Compiled once here so a bad config is a 400 naming its JSON path. */
static char *config_text(dvh_request *rq, json_t *body, dvh_err *e)
{
    const char *uri_key = NULL; /* gcsConfigUri as written (or gcs_config_uri): every message's path */
    json_t *cfg = json_object_get(body, "config");
    json_t *uri = dv_json_field(body, "gcsConfigUri", &uri_key);
    if (cfg && json_is_null(cfg))
        cfg = NULL;
    if (uri && json_is_null(uri))
        uri = NULL;
    if (cfg && uri) {
        dvh_fail(e, DVH_INVALID_ARGUMENT, "config: only one of config and %s can be specified", uri_key);
        return NULL;
    }
    char *text = NULL;
    size_t len = 0;
    if (uri) {
        char *path = NULL;
        if (!json_is_string(uri)) {
            dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: must be a string", uri_key);
            return NULL;
        }
        if (dvh_root_resolve(rq->srv, json_string_value(uri), uri_key, 0, &path, e))
            return NULL;
        text = read_file(path, DV_CONFIG_MAX_BYTES, &len, uri_key, e);
        free(path);
        if (text == NULL)
            return NULL;
        /* The URI may name any file under an allowed root (an import folder's files hold PHI): a syntax error
         * names its line and column only, not the parser's "near '<text of the file>'" that the config
         * compiler's message quotes (a body's config was parsed as the request's JSON: resources.c). */
        json_error_t je;
        json_t *parsed = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
        if (parsed == NULL) {
            free(text);
            if (json_error_code(&je) == json_error_out_of_memory)
                dvh_fail(e, DVH_INTERNAL, "out of memory");
            else
                dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: invalid JSON at line %d column %d: %s", uri_key, je.line,
                         je.column, dvh_json_error_reason(&je));
            return NULL;
        }
        char where[32];
        snprintf(where, sizeof where, "%s: ", uri_key);
        int refused = v1_field(rq, parsed, where, e);
        json_decref(parsed);
        if (refused) {
            free(text);
            return NULL;
        }
    } else if (cfg) {
        if (!json_is_object(cfg)) {
            dvh_fail(e, DVH_INVALID_ARGUMENT, "config: must be an object");
            return NULL;
        }
        if (v1_field(rq, cfg, "", e))
            return NULL;
        /* wrapped (dvh_config_as_request): an inner config.config was carried out, config.destinationDataset
         * ignored. [test_server_ops.py "refused"; test_server_ops.py "the dry run: config is a DeidentifyConfig"] */
        text = dvh_config_as_request(cfg);
    } else {
        text = strdup("{}");
    }
    if (text == NULL) {
        dvh_fail(e, DVH_INTERNAL, "out of memory");
        return NULL;
    }
    len = strlen(text);
    dv_error err = {0};
    /* A file's config: no message quotes its text (keys by position, no value; DV_CONFIG_VALUE_FREE). */
    dv_plan *plan = dv_plan_from_json_flags(text, len, uri ? DV_CONFIG_VALUE_FREE : 0, &err);
    if (plan == NULL) {
        free(text);
        /* The parser's message names the JSON path from "config." on; a file's gets its field first. */
        if (uri)
            dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: %s", uri_key, err.message[0] ? err.message : "invalid");
        else
            dvh_fail(e, DVH_INVALID_ARGUMENT, "%s", err.message[0] ? err.message : "config: invalid");
        return NULL;
    }
    dv_plan_free(plan);
    return text;
}

/* filterConfig.resourcePathsGcsUri as a JSON array of [study, series, instance]; *out NULL when absent. */
static int filter_paths(dvh_request *rq, json_t *body, json_t **out, dvh_err *e)
{
    *out = NULL;
    const char *fc_key = NULL, *uri_key = NULL; /* as written: the messages' paths */
    json_t *fc = dv_json_field(body, "filterConfig", &fc_key);
    if (fc == NULL || json_is_null(fc))
        return 0;
    static const char *const allowed[] = {"resourcePathsGcsUri", NULL};
    if (!json_is_object(fc))
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: must be an object", fc_key);
    if (dvh_only_fields(fc, allowed, e)) {
        char m[DVH_MESSAGE_MAX];
        snprintf(m, sizeof m, "%s.%s", fc_key, e->message);
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s", m);
    }
    json_t *uri = dv_json_field(fc, "resourcePathsGcsUri", &uri_key);
    if (uri == NULL || json_is_null(uri))
        return 0;
    char field[64];
    snprintf(field, sizeof field, "%s.%s", fc_key, uri_key);
    if (!json_is_string(uri))
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: must be a string", field);
    char *path = NULL;
    if (dvh_root_resolve(rq->srv, json_string_value(uri), field, 0, &path, e))
        return -1;
    size_t len = 0;
    char *text = read_file(path, DVH_FILTER_MAX_BYTES, &len, field, e);
    free(path);
    if (text == NULL)
        return -1;
    dvh_filter_path *p = NULL;
    size_t n = 0;
    int rc = dvh_filter_parse(text, len, field, &p, &n, e);
    free(text);
    if (rc)
        return -1;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        if (json_array_append_new(arr, json_pack("[s,s,s]", p[i].study, p[i].series, p[i].instance))) {
            json_decref(arr);
            arr = NULL;
        }
    free(p);
    if (arr == NULL)
        return dvh_fail(e, DVH_INTERNAL, "out of memory");
    *out = arr;
    return 0;
}

/* A full resource name "projects/p/locations/l/datasets/d[/dicomStores/s]" in the source's project and
 * location (the API: de-identification across locations is not supported). */
static int parse_name(const dvh_request *rq, const char *v, int with_store, char dataset[DVH_ID_MAX + 1],
                      char store[DVH_ID_MAX + 1], const char *field, dvh_err *e)
{
    char path[DVH_PATH_MAX + 16];
    if (v == NULL || strlen(v) > DVH_PATH_MAX)
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: required", field);
    /* The router validates names: route the name as a GET of the resource it names. */
    snprintf(path, sizeof path, "/v1beta1/%s", v);
    dvh_route r;
    dvh_err re;
    if (dvh_route_match(DVH_GET, path, strlen(path), &r, &re) != 0 ||
        r.kind != (with_store ? DVH_R_STORE : DVH_R_DATASET))
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: must be projects/{p}/locations/{l}/datasets/{d}%s", field,
                        with_store ? "/dicomStores/{s}" : "");
    if (strcmp(r.project, rq->route.project) != 0 || strcmp(r.location, rq->route.location) != 0)
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: must be in the source's project and location", field);
    memcpy(dataset, r.dataset, sizeof r.dataset);
    if (store)
        memcpy(store, r.store, sizeof r.store);
    return 0;
}

/* Persist the operation and start it; the answer is the Operation as it stands. */
static int start(dvh_request *rq, const char *api, json_t *req, struct MHD_Response **resp, dvh_err *e)
{
    dvh_server *s = rq->srv;
    char *text = json_dumps(req, JSON_COMPACT);
    if (text == NULL)
        return dvh_fail(e, DVH_INTERNAL, "out of memory");
    dvs_operation op;
    memset(&op, 0, sizeof op);
    op.dataset_id = rq->dataset.id;
    snprintf(op.api_method, sizeof op.api_method, "%s", api);
    op.request_json = text;
    dv_error err = {0};
    int rc = s->ix->ops->op_create(s->ix, &op, &err);
    free(text);
    op.request_json = NULL;
    if (rc < 0)
        return dvh_index_fail(&err, e);
    /* Persisted: when it cannot be queued now (the runner logs why), it runs at the next start. */
    dvh_ops_launch(s, op.id, &err);
    *resp = dvh_response_json(dvh_operation_json(rq, &op));
    return 0;
}

/* {"src": id, "dst": id, "name": "<source store name>"} */
static json_t *store_pair(const dvh_request *rq, int64_t src, int64_t dst, const char *store)
{
    char name[1200];
    snprintf(name, sizeof name, "projects/%s/locations/%s/datasets/%s/dicomStores/%s", rq->route.project,
             rq->route.location, rq->route.dataset, store);
    return json_pack("{s:I, s:I, s:s}", "src", (json_int_t)src, "dst", (json_int_t)dst, "name", name);
}

static int deidentify_dataset(dvh_request *rq, json_t *body, struct MHD_Response **resp, dvh_err *e)
{
    dvh_server *s = rq->srv;
    static const char *const allowed[] = {"destinationDataset", "config", "gcsConfigUri", NULL};
    if (dvh_only_fields(body, allowed, e))
        return -1;
    char dst[DVH_ID_MAX + 1];
    const char *dst_key = NULL;
    json_t *dst_name = dv_json_field(body, "destinationDataset", &dst_key);
    if (parse_name(rq, json_string_value(dst_name), 0, dst, NULL, dst_key, e))
        return -1;
    char *cfg = config_text(rq, body, e);
    if (cfg == NULL)
        return -1;
    dv_error err = {0};
    dv_key *key = dvs_dataset_key(s->data_fd, rq->dataset.id, &err); /* created now: its errors answer now */
    if (key == NULL) {
        free(cfg);
        return dvh_fail(e, DVH_INTERNAL, "%s", err.message);
    }
    dv_key_free(key);
    dvs_dataset d;
    memset(&d, 0, sizeof d);
    snprintf(d.project, sizeof d.project, "%s", rq->route.project);
    snprintf(d.location, sizeof d.location, "%s", rq->route.location);
    snprintf(d.name, sizeof d.name, "%s", dst);
    snprintf(d.time_zone, sizeof d.time_zone, "%s", rq->dataset.time_zone);
    int rc = s->ix->ops->dataset_create(s->ix, &d, &err);
    if (rc != DVS_OK) {
        free(cfg);
        return rc == DVS_EXISTS ? dvh_fail(e, DVH_ALREADY_EXISTS, "%s: already exists", dst_key)
                                : dvh_index_fail(&err, e);
    }
    /* Every store of the source, recreated with the same ID (and labels) under the new dataset. */
    json_t *stores = json_array();
    int64_t after = 0;
    int bad = stores == NULL ? dvh_fail(e, DVH_INTERNAL, "out of memory") : 0;
    while (!bad) {
        dvs_store v[64];
        size_t n = 0;
        int64_t next = 0;
        if (s->ix->ops->store_list(s->ix, rq->dataset.id, after, 64, v, &n, &next, &err) < 0) {
            bad = dvh_index_fail(&err, e);
            break;
        }
        for (size_t i = 0; i < n; i++) {
            dvs_store made;
            memset(&made, 0, sizeof made);
            if (!bad && s->ix->ops->store_create(s->ix, d.id, v[i].name, v[i].labels_json, &made, &err) != DVS_OK)
                bad = dvh_index_fail(&err, e);
            if (!bad)
                json_array_append_new(stores, store_pair(rq, v[i].id, made.id, v[i].name));
            dvs_store_clear(&made);
            dvs_store_clear(&v[i]);
        }
        if (next == 0)
            break;
        after = next;
    }
    json_t *req = bad ? NULL
                      : json_pack("{s:s, s:s, s:I, s:O}", "kind", "deidentify", "config", cfg, "keyDataset",
                                  (json_int_t)rq->dataset.id, "stores", stores);
    free(cfg);
    json_decref(stores);
    if (!bad && req == NULL)
        bad = dvh_fail(e, DVH_INTERNAL, "out of memory");
    /* The operation's row needs the new stores' ids, so it is written after them, and it can still fail (an
     * index failure). Whatever failed after the dataset was created, the dataset goes again (its stores with
     * it): the start is all or nothing for the client, and a retry with the same destination runs where it was
     * 409 ALREADY_EXISTS on a dataset no operation would ever fill. Under the guard, no operation can have
     * started on it meanwhile. Should the removal fail too, the index is failing: the 500 stands.
     * [test_server_op_races.py "a datasets.deidentify that fails to start"] */
    if (!bad)
        bad = start(rq, API_DEID_DATASET, req, resp, e);
    json_decref(req);
    if (bad) {
        dv_error ignored = {0};
        dvh_dataset_remove(s, d.id, &ignored);
        return -1;
    }
    return 0;
}

static int deidentify_store(dvh_request *rq, json_t *body, struct MHD_Response **resp, dvh_err *e)
{
    dvh_server *s = rq->srv;
    static const char *const allowed[] = {"destinationStore", "config", "gcsConfigUri", "filterConfig", NULL};
    if (dvh_only_fields(body, allowed, e))
        return -1;
    char dds[DVH_ID_MAX + 1], dst[DVH_ID_MAX + 1];
    const char *dst_key = NULL;
    json_t *dst_name = dv_json_field(body, "destinationStore", &dst_key);
    if (parse_name(rq, json_string_value(dst_name), 1, dds, dst, dst_key, e))
        return -1;
    dv_error err = {0};
    dvs_dataset d;
    dvs_store ds;
    memset(&ds, 0, sizeof ds);
    /* The destination dataset and store must exist (the API since 2026, gcp-api.md 0.1). */
    int rc = s->ix->ops->dataset_get(s->ix, rq->route.project, rq->route.location, dds, &d, &err);
    if (rc == DVS_OK)
        rc = s->ix->ops->store_get(s->ix, d.id, dst, &ds, &err);
    if (rc < 0)
        return dvh_index_fail(&err, e);
    if (rc == DVS_NOT_FOUND)
        return dvh_fail(e, DVH_NOT_FOUND, "%s: not found (the destination store must exist)", dst_key);
    int64_t dst_id = ds.id;
    dvs_store_clear(&ds);
    if (dst_id == rq->store.id)
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: must not be the source store", dst_key);
    /* One de-identification per destination store at a time (op_guard.c): a second one would find every output
     * stored by the first and count it too. [test_server_op_races.py "two store de-identifications into one
     * store"] */
    int64_t writer = 0;
    if (dvh_op_user_store(s, dst_id, 1, &writer, &err) < 0)
        return dvh_index_fail(&err, e);
    if (writer)
        return dvh_fail(e, DVH_FAILED_PRECONDITION,
                        "%s: operation %lld is de-identifying into this store; wait until it is done "
                        "(or cancel it)", dst_key, (long long)writer);
    char *cfg = config_text(rq, body, e);
    if (cfg == NULL)
        return -1;
    json_t *filter = NULL;
    if (filter_paths(rq, body, &filter, e)) {
        free(cfg);
        return -1;
    }
    dv_key *key = dvs_dataset_key(s->data_fd, rq->dataset.id, &err);
    if (key == NULL) {
        free(cfg);
        json_decref(filter);
        return dvh_fail(e, DVH_INTERNAL, "%s", err.message);
    }
    dv_key_free(key);
    json_t *req = json_pack("{s:s, s:s, s:[o]}", "kind", "deidentify", "config", cfg,
                            "stores", store_pair(rq, rq->store.id, dst_id, rq->route.store));
    free(cfg);
    if (req && filter)
        json_object_set(req, "filter", filter);
    json_decref(filter);
    if (req == NULL)
        return dvh_fail(e, DVH_INTERNAL, "out of memory");
    json_object_set_new(req, "keyDataset", json_integer((json_int_t)rq->dataset.id));
    rc = start(rq, API_DEID_STORE, req, resp, e);
    json_decref(req);
    return rc;
}

/* A folder URI, optionally ending in a GCS wildcard ("/" then one or two asterisks): every file below. */
static int folder(dvh_request *rq, json_t *uri, const char *field, char **out, dvh_err *e)
{
    if (!json_is_string(uri))
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: required, a file:// URI of a folder under an allowed root",
                        field);
    char buf[DVH_PATH_MAX + 1];
    const char *v = json_string_value(uri);
    size_t n = strlen(v);
    if (n > DVH_PATH_MAX)
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: longer than %d bytes", field, DVH_PATH_MAX);
    memcpy(buf, v, n + 1);
    if (n >= 3 && strcmp(buf + n - 3, "/**") == 0)
        buf[n - 3] = '\0';
    else if (n >= 2 && strcmp(buf + n - 2, "/*") == 0)
        buf[n - 2] = '\0';
    return dvh_root_resolve(rq->srv, buf, field, 1, out, e);
}

static int import_data(dvh_request *rq, json_t *body, struct MHD_Response **resp, dvh_err *e)
{
    static const char *const allowed[] = {"gcsSource", "blobStorageSettings", NULL};
    if (dvh_only_fields(body, allowed, e))
        return -1;
    char *dir = NULL, field[64];
    const char *src_key = NULL;
    json_t *src = dv_json_field(body, "gcsSource", &src_key);
    snprintf(field, sizeof field, "%s.uri", src_key);
    if (folder(rq, json_is_object(src) ? json_object_get(src, "uri") : NULL, field, &dir, e))
        return -1;
    json_t *req = json_pack("{s:s, s:I, s:s}", "kind", "import", "dst", (json_int_t)rq->store.id, "folder", dir);
    free(dir);
    if (req == NULL)
        return dvh_fail(e, DVH_INTERNAL, "out of memory");
    int rc = start(rq, API_IMPORT, req, resp, e);
    json_decref(req);
    return rc;
}

static int export_data(dvh_request *rq, json_t *body, struct MHD_Response **resp, dvh_err *e)
{
    static const char *const allowed[] = {"gcsDestination", "filterConfig", "bigqueryDestination", NULL};
    if (dvh_only_fields(body, allowed, e))
        return -1;
    const char *bq_key = NULL, *dst_key = NULL, *mime_key = NULL, *prefix_key = NULL; /* as written: paths */
    if (dv_json_field(body, "bigqueryDestination", &bq_key))
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: not supported (use gcsDestination)", bq_key);
    json_t *dst = dv_json_field(body, "gcsDestination", &dst_key);
    json_t *mime = dv_json_field(dst, "mimeType", &mime_key); /* NULL when dst is no object */
    if (mime && !json_is_null(mime) && !(json_is_string(mime) && (strcmp(json_string_value(mime), "") == 0 ||
                                                                     strcmp(json_string_value(mime), "application/dicom") == 0)))
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s.%s: only application/dicom is supported", dst_key, mime_key);
    char *dir = NULL, field[64];
    json_t *prefix = dv_json_field(dst, "uriPrefix", &prefix_key);
    snprintf(field, sizeof field, "%s.%s", dst_key, prefix_key);
    if (folder(rq, prefix, field, &dir, e))
        return -1;
    json_t *filter = NULL;
    if (filter_paths(rq, body, &filter, e)) {
        free(dir);
        return -1;
    }
    json_t *req = json_pack("{s:s, s:[o], s:s}", "kind", "export", "stores",
                            store_pair(rq, rq->store.id, 0, rq->route.store), "folder", dir);
    free(dir);
    if (req && filter)
        json_object_set(req, "filter", filter);
    json_decref(filter);
    if (req == NULL)
        return dvh_fail(e, DVH_INTERNAL, "out of memory");
    int rc = start(rq, API_EXPORT, req, resp, e);
    json_decref(req);
    return rc;
}

static int op_start(dvh_request *rq, struct MHD_Response **resp, dvh_err *e)
{
    if (dvh_resolve(rq, e))
        return -1;
    /* An :import or a :deidentify writes instances into DATA, how many bytes is not known before it runs: it
     * does not start once the data file system is at --min-free-disk (disk_floor.c), and once running it
     * waits before each instance while below it (op_floor.c). An :export writes into an allowed root, not
     * DATA. [test_server_strict.py "free disk floor"] */
    if (rq->route.kind != DVH_R_STORE_EXPORT && dvh_disk_room(rq->srv, 0, e))
        return -1;
    json_t *body = dvh_body_object(rq, e);
    if (body == NULL)
        return -1;
    int rc;
    switch (rq->route.kind) {
    case DVH_R_DATASET_DEIDENTIFY: rc = deidentify_dataset(rq, body, resp, e); break;
    case DVH_R_STORE_DEIDENTIFY: rc = deidentify_store(rq, body, resp, e); break;
    case DVH_R_STORE_IMPORT: rc = import_data(rq, body, resp, e); break;
    case DVH_R_STORE_EXPORT: rc = export_data(rq, body, resp, e); break;
    default: rc = dvh_fail(e, DVH_NOT_FOUND, "no such method");
    }
    json_decref(body);
    return rc;
}

int dvh_handle_op_start(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e)
{
    *status = 200;
    /* From resolving the source to persisting the operation, under the operations' guard (op_guard.c): a
     * delete of the source waits and then sees this operation (or this one finds the source gone: 404), two
     * de-identifications into one store see each other, and a dataset de-identification's new stores are
     * not a free destination before its operation exists. Held while the config and filter files are read
     * too (one rule for every start; they are capped at 1 and 64 MiB): only other starts and deletes wait. */
    dvh_op_guard_lock(rq->srv);
    int rc = op_start(rq, resp, e);
    dvh_op_guard_unlock(rq->srv);
    return rc;
}
