/* The extension endpoints (ext_endpoints.h). */
#include "http/ext_endpoints.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "dicomveil/dv_engine.h"
#include "http/filter_file.h"
#include "http/server_internal.h"

dvh_ext_kind dvh_ext_match(const char *path, size_t len)
{
    static const struct {
        const char *path;
        dvh_ext_kind k;
    } t[] = {{DVH_EXT_PREFIX "deidentifyConfig:validate", DVH_EXT_VALIDATE_CONFIG},
             {DVH_EXT_PREFIX "filterFiles", DVH_EXT_FILTER_FILE}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strlen(t[i].path) == len && memcmp(path, t[i].path, len) == 0)
            return t[i].k;
    return DVH_EXT_NONE;
}

const char *dvh_ext_name(dvh_ext_kind k)
{
    return k == DVH_EXT_VALIDATE_CONFIG ? "dicomveil.validateDeidentifyConfig"
           : k == DVH_EXT_FILTER_FILE   ? "dicomveil.createFilterFile"
                                        : "unrouted";
}

static int validate_config(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e)
{
    json_error_t je;
    json_t *body = json_loadb(rq->json ? rq->json : "", rq->json_len, 0, &je);
    if (body == NULL || !json_is_object(body)) {
        json_decref(body);
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "request body: not a JSON object");
    }
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
    char *text = cfg ? json_dumps(cfg, JSON_COMPACT) : strdup("{}");
    json_decref(body);
    if (text == NULL)
        return dvh_fail(e, DVH_INTERNAL, "out of memory");
    /* The compile :deidentify runs (op_start.c config_text), and its message: the JSON path and the rule. */
    dv_error err = {0};
    dv_plan *plan = dv_plan_from_json(text, strlen(text), &err);
    free(text);
    if (plan == NULL)
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "config: %s", err.message[0] ? err.message : "invalid");
    dv_plan_free(plan);
    *resp = dvh_response_json(json_pack("{s:b}", "valid", 1));
    *status = 200;
    return *resp ? 0 : dvh_fail(e, DVH_INTERNAL, "out of memory");
}

static int filter_file(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e)
{
    dvh_server *s = rq->srv;
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
    /* Content-named: written to a temporary name, then renamed over (the same list is the same file). */
    size_t pl = strlen(s->filters_dir) + 1 + strlen(name) + 1;
    char *path = malloc(pl), *tmp = malloc(pl + 8);
    if (path == NULL || tmp == NULL) {
        free(path);
        free(tmp);
        return dvh_fail(e, DVH_INTERNAL, "out of memory");
    }
    snprintf(path, pl, "%s/%s", s->filters_dir, name);
    snprintf(tmp, pl + 8, "%s/.%.8s", s->filters_dir, name);
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
    if (bad)
        unlink(tmp);
    free(tmp);
    if (bad) {
        free(path);
        return dvh_fail(e, DVH_INTERNAL, "cannot write the filter file (errno %d)", errno);
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

int dvh_handle_ext(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e)
{
    switch (rq->ext) {
    case DVH_EXT_VALIDATE_CONFIG: return validate_config(rq, resp, status, e);
    case DVH_EXT_FILTER_FILE: return filter_file(rq, resp, status, e);
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
    free(real);
    if (mkdir(s->filters_dir, 0700) != 0 && errno != EEXIST)
        return dv_fail(err, DV_ERR_IO, "--data: cannot create filters/ (errno %d)", errno);
    /* filters/ is an allowed root of its own: filterConfig.resourcePathsGcsUri may name what was handed over
     * here, and nothing else of the data directory. */
    char **r = realloc(s->roots, (s->nroots + 1) * sizeof *r);
    if (r == NULL)
        return dv_fail(err, DV_ERR_NOMEM, "server: out of memory");
    s->roots = r;
    s->roots[s->nroots] = strdup(s->filters_dir);
    if (s->roots[s->nroots] == NULL)
        return dv_fail(err, DV_ERR_NOMEM, "server: out of memory");
    s->nroots++;
    return 0;
}
