/* The extension endpoints (ext_endpoints.h). */
#include "http/ext_endpoints.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "dicomveil/dv_engine.h"
#include "http/filter_file.h"
#include "http/server_internal.h"
#include "util/dv_json_names.h"

dvh_ext_kind dvh_ext_match(const char *path, size_t len)
{
    static const struct {
        const char *path;
        dvh_ext_kind k;
    } t[] = {{DVH_EXT_PREFIX "deidentifyConfig:validate", DVH_EXT_VALIDATE_CONFIG},
             {DVH_EXT_PREFIX "filterFiles", DVH_EXT_FILTER_FILE},
             {DVH_EXT_PREFIX "reviewMarks", DVH_EXT_REVIEW_MARKS},
             {DVH_EXT_PREFIX "redactionBoxes", DVH_EXT_REDACTION_BOXES}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strlen(t[i].path) == len && memcmp(path, t[i].path, len) == 0)
            return t[i].k;
    return DVH_EXT_NONE;
}

const char *dvh_ext_name(dvh_ext_kind k, unsigned method)
{
    return k == DVH_EXT_VALIDATE_CONFIG ? "dicomveil.validateDeidentifyConfig"
           : k == DVH_EXT_FILTER_FILE   ? (method == DVH_DELETE ? "dicomveil.deleteFilterFile"
                                                                : "dicomveil.createFilterFile")
           : k == DVH_EXT_REVIEW_MARKS  ? "dicomveil.reviewMarks"
           : k == DVH_EXT_REDACTION_BOXES ? "dicomveil.redactionBoxes"
                                          : "unrouted";
}

unsigned dvh_ext_methods(dvh_ext_kind k)
{
    return k == DVH_EXT_REVIEW_MARKS       ? (DVH_GET | DVH_POST)
           : k == DVH_EXT_REDACTION_BOXES ? DVH_GET
           : k == DVH_EXT_FILTER_FILE     ? (DVH_POST | DVH_DELETE)
                                          : DVH_POST;
}

static int validate_config(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e)
{
    json_t *body = dvh_body_object(rq, e);
    if (body == NULL)
        return -1;
    static const char *const allowed[] = {"config", NULL};
    json_t *cfg = json_object_get(body, "config");
    if (dvh_only_fields(body, allowed, e)) {
        json_decref(body);
        return -1;
    }
    if (cfg != NULL && !json_is_object(cfg)) {
        json_decref(body);
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "config: must be an object");
    }
    /* As :deidentify hands it to the parser (dvh_config_as_request): `config` is a DeidentifyConfig, never itself
     * read as a request body. */
    char *text = cfg ? dvh_config_as_request(cfg) : strdup("{}");
    json_decref(body);
    if (text == NULL)
        return dvh_fail(e, DVH_INTERNAL, "out of memory");
    /* The compile :deidentify runs (op_start.c config_text), and its message: the JSON path and the rule. */
    dv_error err = {0};
    dv_plan *plan = dv_plan_from_json(text, strlen(text), &err);
    free(text);
    if (plan == NULL)
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "config: %s", err.message[0] ? err.message : "invalid");
    /* The plan's warnings (settings accepted with no effect), as the CLI prints them: the console shows them. */
    json_t *warnings = json_array();
    for (size_t i = 0; warnings && i < dv_plan_warning_count(plan); i++)
        json_array_append_new(warnings, json_string(dv_plan_warning(plan, i)));
    dv_plan_free(plan);
    *resp = warnings ? dvh_response_json(json_pack("{s:b, s:o}", "valid", 1, "warnings", warnings)) : NULL;
    *status = 200;
    return *resp ? 0 : dvh_fail(e, DVH_INTERNAL, "out of memory");
}

/* The path of the filter file a URI that filter_file answered names ("file://" + DATA/filters/<64 hex>.txt), in
 * out; -1 with e for anything else, so a DELETE can remove only a filter file, never another file. */
static int filter_file_path(const dvh_server *s, const char *uri, char *out, size_t cap, dvh_err *e)
{
    static const char scheme[] = "file://";
    const char *field = "resourcePathsGcsUri";
    if (uri == NULL)
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: required, a URI that filterFiles answered", field);
    size_t dl = strlen(s->filters_dir), ul = strlen(uri), sl = sizeof scheme - 1, hex = 64;
    if (ul != sl + dl + 1 + hex + 4 || memcmp(uri, scheme, sl) != 0 || memcmp(uri + sl, s->filters_dir, dl) != 0 ||
        uri[sl + dl] != '/' || strcmp(uri + ul - 4, ".txt") != 0)
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: not a filter file of this server", field);
    const char *name = uri + sl + dl + 1;
    for (size_t i = 0; i < hex; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
            return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: not a filter file of this server", field);
    if (ul - sl + 1 > cap)
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: too long", field);
    memcpy(out, uri + sl, ul - sl + 1);
    return 0;
}

/* DELETE ?resourcePathsGcsUri=: a filter file names source UIDs, and nothing else removes it (it belongs to no
 * dataset; an operation keeps its own copy of the paths when it starts, op_start.c filter_paths), so the client
 * that handed it over can take it back once its :deidentify has started. */
static int filter_file_delete(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e)
{
    dvh_server *s = rq->srv;
    if (s->filters_dir == NULL)
        return dvh_fail(e, DVH_INTERNAL, "filter files are not available (data directory)");
    char path[4200];
    const char *uri = MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, "resourcePathsGcsUri");
    if (filter_file_path(s, uri, path, sizeof path, e))
        return -1;
    if (unlink(path) != 0)
        return errno == ENOENT ? dvh_fail(e, DVH_NOT_FOUND, "filter file not found")
                               : dvh_fail(e, DVH_INTERNAL, "cannot remove the filter file (errno %d)", errno);
    *resp = dvh_response_json(json_object());
    *status = 200;
    return *resp ? 0 : dvh_fail(e, DVH_INTERNAL, "out of memory");
}

/* What DATA/filters/ holds now: its filter files and their bytes, leaving out the one named `name` (about to be
 * replaced by the same list) and the hidden temporaries a crash may leave (no client can remove those). */
static int filters_usage(const char *dir, const char *name, unsigned *files, uint64_t *bytes)
{
    *files = 0;
    *bytes = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? 0 : -1;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        if (de->d_name[0] == '.' || strcmp(de->d_name, name) == 0)
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        (*files)++;
        *bytes += (uint64_t)st.st_size;
    }
    closedir(d);
    return 0;
}

/* Each POST keeps a file in DATA until a DELETE takes it back, and a client that never does (or one that posts
 * lists in a loop) filled the data directory's disk, the one the instances and the index live on. The cap counts
 * the folder as it is, so a restart forgets nothing. [test_server_strict.py "filterFiles quota"] */
static int filter_quota(const dvh_server *s, const char *name, size_t len, dvh_err *e)
{
    unsigned files;
    uint64_t bytes;
    if (filters_usage(s->filters_dir, name, &files, &bytes) != 0)
        return dvh_fail(e, DVH_INTERNAL, "cannot read the filters folder (errno %d)", errno);
    if (files >= s->cfg.max_filter_files || bytes + len > s->cfg.max_filter_bytes)
        return dvh_fail(e, DVH_QUOTA,
                        "filterFiles: the server keeps at most %u filter files and %llu bytes of them "
                        "(serve --max-filter-files, --max-filter-bytes); DELETE those whose operations have started",
                        s->cfg.max_filter_files, (unsigned long long)s->cfg.max_filter_bytes);
    return 0;
}

/* text[0..len) to path, through a hidden temporary name renamed over (the same list is the same file). */
static int write_filter_file(const dvh_server *s, const char *name, const char *path, const char *text, size_t len,
                             dvh_err *e)
{
    size_t tl = strlen(s->filters_dir) + 16;
    char *tmp = malloc(tl);
    if (tmp == NULL)
        return dvh_fail(e, DVH_INTERNAL, "out of memory");
    snprintf(tmp, tl, "%s/.%.8s", s->filters_dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int bad = fd < 0;
    for (size_t off = 0; !bad && off < len;) {
        ssize_t w = write(fd, text + off, len - off);
        if (w <= 0)
            bad = 1;
        else
            off += (size_t)w;
    }
    if (fd >= 0 && (fsync(fd) != 0 || close(fd) != 0))
        bad = 1;
    if (!bad && rename(tmp, path) != 0)
        bad = 1;
    int saved = errno;
    if (bad)
        unlink(tmp);
    free(tmp);
    return bad ? dvh_fail(e, DVH_INTERNAL, "cannot write the filter file (errno %d)", saved) : 0;
}

/* Content-named, checked against the quota and written under filters_mu: two requests never both pass the check
 * for the last slot (servers sharing DATA each check alone: their sum may go past it by their in-flight posts). */
static int store_filter_file(dvh_server *s, const char *name, const char *path, const char *text, size_t len,
                             dvh_err *e)
{
    pthread_mutex_lock(&s->filters_mu);
    int rc = 0;
    if (mkdir(s->filters_dir, 0700) != 0 && errno != EEXIST)
        rc = dvh_fail(e, DVH_INTERNAL, "cannot create the filters folder (errno %d)", errno);
    if (rc == 0)
        rc = filter_quota(s, name, len, e);
    if (rc == 0)
        rc = write_filter_file(s, name, path, text, len, e);
    pthread_mutex_unlock(&s->filters_mu);
    return rc;
}

static int filter_file(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e)
{
    dvh_server *s = rq->srv;
    if (rq->method == DVH_DELETE)
        return filter_file_delete(rq, resp, status, e);
    const char *text = rq->json ? rq->json : "";
    size_t len = rq->json_len;
    dvh_filter_path *paths = NULL;
    size_t n = 0;
    if (dvh_filter_parse(text, len, "filter", &paths, &n, e))
        return -1;
    free(paths);
    if (n == 0)
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "filter: no resource path");
    if (s->filters_dir == NULL)
        return dvh_fail(e, DVH_INTERNAL, "filter files are not available (data directory)");
    unsigned char d[32];
    unsigned int dl = 0;
    if (EVP_Digest(text, len, d, &dl, EVP_sha256(), NULL) != 1)
        return dvh_fail(e, DVH_INTERNAL, "hash failed");
    char name[80];
    for (unsigned i = 0; i < 32; i++)
        snprintf(name + 2 * i, 3, "%02x", d[i]);
    strcat(name, ".txt");
    size_t pl = strlen(s->filters_dir) + 1 + strlen(name) + 1;
    char *path = malloc(pl);
    if (path == NULL)
        return dvh_fail(e, DVH_INTERNAL, "out of memory");
    snprintf(path, pl, "%s/%s", s->filters_dir, name);
    if (store_filter_file(s, name, path, text, len, e) != 0) {
        free(path);
        return -1;
    }
    size_t ul = strlen(path) + sizeof "file://";
    char *uri = malloc(ul);
    if (uri)
        snprintf(uri, ul, "file://%s", path);
    free(path);
    if (uri == NULL)
        return dvh_fail(e, DVH_INTERNAL, "out of memory");
    *resp = dvh_response_json(json_pack("{s:s, s:I}", "resourcePathsGcsUri", uri, "paths", (json_int_t)n));
    free(uri);
    *status = 200;
    return *resp ? 0 : dvh_fail(e, DVH_INTERNAL, "out of memory");
}

int dvh_ext_operation(dvh_request *rq, const char *name, int64_t *op_id, dvh_err *e)
{
    if (name == NULL || strlen(name) > DVH_PATH_MAX - 16)
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "operation: required, an operation name");
    char path[DVH_PATH_MAX];
    snprintf(path, sizeof path, "/v1beta1/%s", name);
    dvh_route r;
    dvh_err re = {0};
    if (dvh_route_match(DVH_GET, path, strlen(path), &r, &re) != 0 || r.kind != DVH_R_OPERATION)
        return dvh_fail(e, DVH_INVALID_ARGUMENT,
                        "operation: must be projects/{p}/locations/{l}/datasets/{d}/operations/{o}");
    int64_t row = 0;
    if (dvh_op_id_parse(r.operation, &row) != 0) /* "00003" is no alias of operation 3 */
        return dvh_fail(e, DVH_NOT_FOUND, "operation not found");
    dvh_server *s = rq->srv;
    dv_error err = {0};
    dvs_dataset ds;
    int rc = s->ix->ops->dataset_get(s->ix, r.project, r.location, r.dataset, &ds, &err);
    if (rc < 0)
        return dvh_fail(e, DVH_INTERNAL, "index error");
    if (rc == DVS_NOT_FOUND)
        return dvh_fail(e, DVH_NOT_FOUND, "operation not found");
    dvs_operation op;
    memset(&op, 0, sizeof op);
    rc = s->ix->ops->op_get(s->ix, ds.id, row, &op, &err);
    if (rc == 0)
        *op_id = op.id;
    dvs_operation_clear(&op);
    if (rc < 0)
        return dvh_fail(e, DVH_INTERNAL, "index error");
    return rc == DVS_NOT_FOUND ? dvh_fail(e, DVH_NOT_FOUND, "operation not found") : 0;
}

int dvh_ext_instance_key(const char *inst, const char *field, char key[DVH_EXT_INSTANCE_KEY_MAX], dvh_err *e)
{
    if (inst == NULL)
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: required", field);
    /* The filter-file parser checks it: UIDs only (no traversal, no other character), here all three levels. */
    dvh_filter_path *fp = NULL;
    size_t n = 0;
    if (dvh_filter_parse(inst, strlen(inst), field, &fp, &n, e) != 0)
        return -1;
    int bad = n != 1 || fp[0].instance[0] == '\0';
    if (!bad)
        snprintf(key, DVH_EXT_INSTANCE_KEY_MAX, "/studies/%s/series/%s/instances/%s", fp[0].study, fp[0].series,
                 fp[0].instance);
    free(fp);
    return bad ? dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: must be /studies/{uid}/series/{uid}/instances/{uid}", field)
               : 0;
}

static int marks_path(dvh_server *s, int64_t op_id, char *out, size_t cap)
{
    int w = snprintf(out, cap, "%s/%lld.json", s->marks_dir, (long long)op_id);
    return w > 0 && (size_t)w < cap ? 0 : -1;
}

void dvh_ext_marks_remove(dvh_server *s, int64_t op_id)
{
    char path[4096];
    if (s->marks_dir == NULL || marks_path(s, op_id, path, sizeof path))
        return;
    pthread_mutex_lock(&s->marks_mu);
    unlink(path);
    pthread_mutex_unlock(&s->marks_mu);
}

/* The marks file as a JSON array (an empty array when there is none yet). */
static json_t *marks_load(const char *path)
{
    json_error_t je;
    json_t *a = json_load_file(path, 0, &je);
    if (!json_is_array(a)) {
        json_decref(a);
        a = json_array();
    }
    return a;
}

static int marks_answer(json_t *marks, struct MHD_Response **resp, int *status, dvh_err *e)
{
    *resp = dvh_response_json(json_pack("{s:o}", "marks", marks));
    *status = 200;
    return *resp ? 0 : dvh_fail(e, DVH_INTERNAL, "out of memory");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

static int review_marks(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e)
{
    dvh_server *s = rq->srv;
    if (s->marks_dir == NULL)
        return dvh_fail(e, DVH_INTERNAL, "review marks are not available (data directory)");
    int64_t op_id = 0;
    char path[4096];
    if (rq->method == DVH_GET || rq->method == DVH_HEAD) {
        const char *name = MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, "operation");
        if (dvh_ext_operation(rq, name, &op_id, e) || marks_path(s, op_id, path, sizeof path))
            return -1;
        pthread_mutex_lock(&s->marks_mu);
        json_t *m = marks_load(path);
        pthread_mutex_unlock(&s->marks_mu);
        return marks_answer(m, resp, status, e);
    }
    json_t *body = dvh_body_object(rq, e);
    static const char *const allowed[] = {"operation", "instance", "needsAttention", NULL};
    if (body == NULL)
        return -1;
    if (dvh_only_fields(body, allowed, e)) {
        json_decref(body);
        return -1;
    }
    const char *inst = json_string_value(json_object_get(body, "instance"));
    const char *flag_key = NULL; /* needsAttention or needs_attention, as written (dvh_only_fields) */
    json_t *flag = dv_json_field(body, "needsAttention", &flag_key);
    int bad = dvh_ext_operation(rq, json_string_value(json_object_get(body, "operation")), &op_id, e) ||
              marks_path(s, op_id, path, sizeof path);
    if (!bad && !json_is_boolean(flag))
        bad = dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: must be true or false", flag_key);
    char key[DVH_EXT_INSTANCE_KEY_MAX];
    if (!bad)
        bad = dvh_ext_instance_key(inst, "instance", key, e);
    int set = !bad && json_is_true(flag);
    json_decref(body);
    if (bad)
        return -1;
    pthread_mutex_lock(&s->marks_mu);
    if (mkdir(s->marks_dir, 0700) != 0 && errno != EEXIST) {
        pthread_mutex_unlock(&s->marks_mu);
        return dvh_fail(e, DVH_INTERNAL, "cannot create the marks folder (errno %d)", errno);
    }
    json_t *m = marks_load(path);
    size_t i, found = (size_t)-1;
    json_t *v;
    json_array_foreach(m, i, v) if (json_is_string(v) && strcmp(json_string_value(v), key) == 0) found = i;
    int rc = 0;
    if (set && found == (size_t)-1) {
        if (json_array_size(m) >= DVH_MARKS_MAX)
            rc = dvh_fail(e, DVH_TOO_LARGE, "at most %u review marks per operation", DVH_MARKS_MAX);
        else
            json_array_append_new(m, json_string(key));
    } else if (!set && found != (size_t)-1) {
        json_array_remove(m, found);
    }
    if (rc == 0) {
        /* Sorted, then written to a temporary name and renamed over: a crash leaves the old list or the new. */
        size_t cnt = json_array_size(m);
        json_t **items = malloc((cnt ? cnt : 1) * sizeof *items);
        json_t *sorted = json_array();
        if (items && sorted) {
            for (i = 0; i < cnt; i++)
                items[i] = json_array_get(m, i);
            qsort(items, cnt, sizeof *items, cmp_str);
            for (i = 0; i < cnt; i++)
                json_array_append(sorted, items[i]);
        }
        free(items);
        json_decref(m);
        m = sorted;
        char tmp[4200];
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        if (m == NULL || json_dump_file(m, tmp, JSON_COMPACT) != 0 || rename(tmp, path) != 0) {
            unlink(tmp);
            rc = dvh_fail(e, DVH_INTERNAL, "cannot write the review marks (errno %d)", errno);
        }
    }
    pthread_mutex_unlock(&s->marks_mu);
    if (rc) {
        json_decref(m);
        return -1;
    }
    return marks_answer(m, resp, status, e);
}

int dvh_handle_ext(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e)
{
    switch (rq->ext) {
    case DVH_EXT_VALIDATE_CONFIG: return validate_config(rq, resp, status, e);
    case DVH_EXT_FILTER_FILE: return filter_file(rq, resp, status, e);
    case DVH_EXT_REVIEW_MARKS: return review_marks(rq, resp, status, e);
    case DVH_EXT_REDACTION_BOXES: return dvh_ext_redaction_boxes(rq, resp, status, e);
    case DVH_EXT_NONE: break;
    }
    return dvh_fail(e, DVH_NOT_FOUND, "no such resource path");
}

int dvh_ext_filters_init(dvh_server *s, const char *data_dir, dv_error *err)
{
    char *real = realpath(data_dir, NULL);
    if (real == NULL)
        return dv_fail(err, DV_ERR_IO, "--data: cannot resolve the directory (errno %d)", errno);
    size_t l = strlen(real) + sizeof "/filters";
    s->filters_dir = malloc(l);
    if (s->filters_dir == NULL) {
        free(real);
        return dv_fail(err, DV_ERR_NOMEM, "server: out of memory");
    }
    snprintf(s->filters_dir, l, "%s/filters", real);
    l = strlen(real) + sizeof "/marks";
    s->marks_dir = malloc(l);
    if (s->marks_dir)
        snprintf(s->marks_dir, l, "%s/marks", real);
    free(real);
    if (s->marks_dir == NULL)
        return dv_fail(err, DV_ERR_NOMEM, "server: out of memory");

    /* filters/ and marks/ are created on first use: a server nobody used holds only its index. */
    /* filters/ is an allowed root of its own: filterConfig.resourcePathsGcsUri may name what was handed over
     * here, and nothing else of the data directory. */
    if (dvh_roots_append(s, s->filters_dir, NULL) != 0)
        return dv_fail(err, DV_ERR_NOMEM, "server: out of memory");
    return 0;
}
