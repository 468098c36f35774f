/* The API's error JSON (see api_error.h). */
#include "http/api_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static const struct {
    int http;
    const char *name;
} status_table[DVH_STATUS_COUNT] = {
    [DVH_OK] = {200, "OK"},
    [DVH_INVALID_ARGUMENT] = {400, "INVALID_ARGUMENT"},
    [DVH_UNAUTHENTICATED] = {401, "UNAUTHENTICATED"},
    [DVH_NOT_FOUND] = {404, "NOT_FOUND"},
    /* google.rpc has no "method not allowed": UNIMPLEMENTED is what gRPC transcoding reports for a method a
     * resource lacks; the HTTP code stays 405 as HTTP says. [test_server.py "405"] */
    [DVH_METHOD] = {405, "UNIMPLEMENTED"},
    [DVH_ALREADY_EXISTS] = {409, "ALREADY_EXISTS"},
    /* A request over a size limit: RESOURCE_EXHAUSTED is google.rpc's class for a cap. [test_server.py "413"] */
    [DVH_TOO_LARGE] = {413, "RESOURCE_EXHAUSTED"},
    [DVH_HEADERS_TOO_LARGE] = {431, "RESOURCE_EXHAUSTED"},
    [DVH_UNSUPPORTED_MEDIA] = {415, "INVALID_ARGUMENT"},
    [DVH_NOT_ACCEPTABLE] = {406, "INVALID_ARGUMENT"},
    [DVH_TIMEOUT] = {408, "DEADLINE_EXCEEDED"},
    [DVH_INTERNAL] = {500, "INTERNAL"},
    [DVH_UNIMPLEMENTED] = {501, "UNIMPLEMENTED"},
    [DVH_PERMISSION_DENIED] = {403, "PERMISSION_DENIED"},
    /* Not the client's fault, nor the server's: what is stored cannot be decoded. [test_server_web.py
     * "malformed stored instance"] */
    [DVH_FAILED_PRECONDITION] = {400, "FAILED_PRECONDITION"},
    /* A quota, not a request's size: the Healthcare API answers a used-up quota 429 RESOURCE_EXHAUSTED.
     * [test_server_strict.py "filterFiles quota"] */
    [DVH_QUOTA] = {429, "RESOURCE_EXHAUSTED"},
    /* The server's own disk, not the client's quota nor its request's size: HTTP's 507 (RFC 4918 11.5), with
     * google.rpc's class for a resource used up. [test_server_strict.py "free disk floor"] */
    [DVH_INSUFFICIENT_STORAGE] = {507, "RESOURCE_EXHAUSTED"},
};

int dvh_fail(dvh_err *e, dvh_status s, const char *fmt, ...)
{
    if (e == NULL)
        return -1;
    e->status = s;
    e->message[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    if (vsnprintf(e->message, sizeof e->message, fmt, ap) < 0)
        e->message[0] = '\0';
    va_end(ap);
    return -1;
}

int dvh_status_http(dvh_status s)
{
    return (unsigned)s < DVH_STATUS_COUNT ? status_table[s].http : 500;
}

const char *dvh_status_name(dvh_status s)
{
    return (unsigned)s < DVH_STATUS_COUNT ? status_table[s].name : "INTERNAL";
}

char *dvh_error_json(const dvh_err *e, size_t *len)
{
    json_t *inner = json_pack("{s:i, s:s, s:s}", "code", dvh_status_http(e->status), "message", e->message,
                              "status", dvh_status_name(e->status));
    json_t *root = inner ? json_pack("{s:o}", "error", inner) : NULL;
    if (root == NULL)
        return NULL;
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (s && len)
        *len = strlen(s);
    return s;
}
