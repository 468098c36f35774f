/* The API's error shape: {"error": {"code": <http status>, "message": "...", "status": "<google.rpc.Code>"}}.
 *
 * One table maps each status class to its HTTP code and status string, so every front of the server (router,
 * auth, handlers, limits) reports errors the same way. Messages follow the project rule: they name fields,
 * parameters, limits and counts, never a value a client sent (no UIDs, no query values, no names). */
#ifndef DVH_API_ERROR_H
#define DVH_API_ERROR_H

#include <stddef.h>

typedef enum dvh_status {
    DVH_OK = 0,
    DVH_INVALID_ARGUMENT, /* 400 */
    DVH_UNAUTHENTICATED,  /* 401 */
    DVH_NOT_FOUND,        /* 404 */
    DVH_METHOD,           /* 405: the resource exists, the method does not (docs/decisions.md "Server errors") */
    DVH_ALREADY_EXISTS,   /* 409 */
    DVH_TOO_LARGE,        /* 413 */
    DVH_UNSUPPORTED_MEDIA,/* 415 */
    DVH_NOT_ACCEPTABLE,   /* 406 */
    DVH_TIMEOUT,          /* 408 */
    DVH_INTERNAL,         /* 500 */
    DVH_UNIMPLEMENTED,    /* 501 */
    DVH_HEADERS_TOO_LARGE,/* 431: the request line and headers over the header limit */
    DVH_PERMISSION_DENIED,/* 403: a request the server refuses to serve whoever asks (request_guard.c) */
    DVH_FAILED_PRECONDITION,/* 400: the system's state refuses the request as it is now (a malformed stored
                             * instance; a dataset or store an unfinished operation uses: op_guard.c) */
    DVH_QUOTA,            /* 429: a quota of what the server keeps for clients is used up (filterFiles) */
    DVH_INSUFFICIENT_STORAGE,/* 507: the data file system would go below --min-free-disk (disk_floor.c) */
    DVH_STATUS_COUNT
} dvh_status;

#define DVH_MESSAGE_MAX 256

/* A status with its message (what a handler returns when it fails). */
typedef struct dvh_err {
    dvh_status status;
    char message[DVH_MESSAGE_MAX];
} dvh_err;

/* Set e and return -1 (so handlers can `return dvh_fail(e, ...)`). e may be NULL. */
int dvh_fail(dvh_err *e, dvh_status s, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

int dvh_status_http(dvh_status s);       /* 400, 401, ... (200 for DVH_OK) */
const char *dvh_status_name(dvh_status s); /* "INVALID_ARGUMENT", ... */

/* The error JSON for e, malloc'd and NUL-terminated (*len bytes without the NUL). NULL on ENOMEM. */
char *dvh_error_json(const dvh_err *e, size_t *len);

#endif
