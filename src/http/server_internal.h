/* Internal to src/http: the server object, one request's state, and the handlers' signatures. */
#ifndef DVH_SERVER_INTERNAL_H
#define DVH_SERVER_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "http/api_error.h"
#include "http/dv_server.h"
#include "http/router.h"
#include "store/dvs_index.h"

struct dvh_server {
    dvh_server_config cfg;
    struct MHD_Daemon *daemon;
    dvs_index *ix;
    int data_fd;
    int console_fd;       /* the console's directory (-1: none found; /console/ answers 404) */
    unsigned port;
    int tls;
    int has_token;
    uint8_t token_hash[32];
    char *tls_cert, *tls_key; /* owned copies (MHD keeps pointers) */
    pthread_mutex_t log_mu;
};

typedef struct dvh_stow dvh_stow; /* stow.c */

typedef struct dvh_request {
    dvh_server *srv;
    struct MHD_Connection *conn;
    dvh_method method;
    dvh_route route;
    int routed;           /* route is valid */
    struct timespec t0;
    int status;           /* HTTP status sent (for the log) */
    uint64_t bytes_in;
    int responded;        /* a response is queued: further upload data is discarded */
    /* Body collection: JSON requests buffer (capped), STOW streams into dvh_stow. */
    char *json;
    size_t json_len, json_cap;
    dvh_stow *stow;
    dvh_err body_err;     /* a failure while receiving the body, answered at the end */
    int body_failed;
    /* Resources resolved before the body is read (404s answer early). */
    dvs_dataset dataset;
    dvs_store store;
    int have_store;
} dvh_request;

/* A handler produces a response or fails with e (then the server answers with the error JSON). */
typedef int (*dvh_handler)(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e);

/* --- respond.c --- */
struct MHD_Response *dvh_response_json(json_t *body); /* steals body; NULL on ENOMEM */
struct MHD_Response *dvh_response_bytes(const char *ctype, char *data, size_t len); /* takes data (malloc'd) */
struct MHD_Response *dvh_response_error(const dvh_err *e);
/* "http[s]://host[:port]" for links (RetrieveURL, BulkDataURI): the Host header when it looks like a host,
 * else the listen address. */
void dvh_base_url(dvh_request *rq, char *out, size_t cap);
/* "projects/p/locations/l/datasets/d[/dicomStores/s]" of the route. */
void dvh_dataset_name(const dvh_route *r, char *out, size_t cap);
void dvh_store_name(const dvh_route *r, char *out, size_t cap);
const char *dvh_header(dvh_request *rq, const char *name); /* request header or NULL */
/* Collect the request's query parameters (at most max) into p; 0 or -1 with e. */
size_t dvh_query_params(dvh_request *rq, void *p, size_t max);
/* RFC 3339 UTC now. */
void dvh_now(char out[32]);

/* --- resources.c --- */
/* Resolve route's dataset (and store when the route has one) into rq; NOT_FOUND when absent. */
int dvh_resolve(dvh_request *rq, dvh_err *e);
int dvh_handle_resource(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e);

/* --- stow.c --- */
/* Begin a STOW on a resolved store: checks Content-Type; then feed body bytes; then finish. */
int dvh_stow_begin(dvh_request *rq, dvh_err *e);
int dvh_stow_feed(dvh_request *rq, const char *data, size_t len, dvh_err *e);
int dvh_stow_finish(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e);
void dvh_stow_free(dvh_stow *s);

/* --- console_static.c: GET /console/... (before authentication; see console_static.h) --- */
int dvh_handle_console(dvh_request *rq, const char *url, struct MHD_Response **resp, int *status, dvh_err *e);

/* --- search.c (QIDO) and wado.c --- */
int dvh_handle_search(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e);
int dvh_handle_retrieve(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e);
int dvh_handle_metadata(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e);

#endif
