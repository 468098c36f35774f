/* Response helpers shared by the handlers (see server_internal.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/qido.h"
#include "http/accept.h"
#include "http/server_internal.h"

int dvh_index_fail(const dv_error *err, dvh_err *e)
{
    /* The index's message names the operation and the database's class of failure, never a value. */
    return dvh_fail(e, DVH_INTERNAL, "%s", err->message);
}

struct MHD_Response *dvh_response_bytes(const char *ctype, char *data, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(data);
        return NULL;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    return r;
}

struct MHD_Response *dvh_response_json(json_t *body)
{
    if (body == NULL)
        return NULL;
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (s == NULL)
        return NULL;
    return dvh_response_bytes("application/json; charset=utf-8", s, strlen(s));
}

struct MHD_Response *dvh_response_error(const dvh_err *e)
{
    size_t n = 0;
    char *s = dvh_error_json(e, &n);
    return s ? dvh_response_bytes("application/json; charset=utf-8", s, n) : NULL;
}

const char *dvh_header(dvh_request *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

void dvh_dataset_name(const dvh_route *r, char *out, size_t cap)
{
    snprintf(out, cap, "projects/%s/locations/%s/datasets/%s", r->project, r->location, r->dataset);
}

void dvh_store_name(const dvh_route *r, char *out, size_t cap)
{
    snprintf(out, cap, "projects/%s/locations/%s/datasets/%s/dicomStores/%s", r->project, r->location,
             r->dataset, r->store);
}

int dvh_want_dicom_json(dvh_request *rq, const char *what, dvh_err *e)
{
    const char *a = dvh_header(rq, MHD_HTTP_HEADER_ACCEPT);
    if (dvh_accept_q(a, "application/dicom+json", NULL, NULL) == 0 &&
        dvh_accept_q(a, "application/json", NULL, NULL) == 0)
        return dvh_fail(e, DVH_NOT_ACCEPTABLE, "Accept: application/dicom+json (%s)", what);
    return 0;
}

const char *dvh_api_version(const dvh_request *rq)
{
    return rq->route.version ? rq->route.version : "v1beta1";
}

void dvh_api_root(dvh_request *rq, char *out, size_t cap)
{
    const char *host = dvh_header(rq, MHD_HTTP_HEADER_HOST);
    const char *scheme = rq->srv->tls ? "https" : "http", *v = dvh_api_version(rq);
    /* The Host header is client text: used only when it is plainly a host[:port]. */
    if (host == NULL || host[0] == '\0' || strlen(host) > 255 ||
        strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") != strlen(host))
        snprintf(out, cap, "%s://127.0.0.1:%u/%s", scheme, rq->srv->port, v);
    else
        snprintf(out, cap, "%s://%s/%s", scheme, host, v);
}

/* Names are stored as the v1beta1 API writes them; only their version part follows the request. */
#define STORED_API "google.cloud.healthcare.v1beta1."

void dvh_api_name(const dvh_request *rq, const char *stored, char *out, size_t cap)
{
    const char *at = stored ? strstr(stored, STORED_API) : NULL;
    if (at == NULL) {
        snprintf(out, cap, "%s", stored ? stored : "");
        return;
    }
    snprintf(out, cap, "%.*sgoogle.cloud.healthcare.%s.%s", (int)(at - stored), stored, dvh_api_version(rq),
             at + sizeof STORED_API - 1);
}

typedef struct qp_collect {
    dvh_qparam *p;
    size_t n, max;
} qp_collect;

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    qp_collect *c = cls;
    if (c->n == c->max)
        return MHD_NO;
    c->p[c->n].key = key;
    c->p[c->n].value = value ? value : "";
    c->n++;
    return MHD_YES;
}

size_t dvh_query_params(dvh_request *rq, void *p, size_t max)
{
    qp_collect c = {.p = p, .n = 0, .max = max};
    MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, collect, &c);
    return c.n;
}

void dvh_now(char out[32])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char head[24];
    strftime(head, sizeof head, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%.19s.%06dZ", head, (int)((ts.tv_nsec / 1000) % 1000000));
}
