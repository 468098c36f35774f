/* The HTTP server: libmicrohttpd daemon, one request's life (auth, route, limits, body, dispatch), the
 * access log (see dv_server.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "http/console_static.h"
#include "http/ext_endpoints.h"
#include "http/qido.h"
#include "http/request_guard.h"
#include "http/server_internal.h"
#include "store/dvs_keys.h"
#include "util/dv_thread_altstack.h"

#define DEFAULT_MAX_BODY (1ull << 30)
#define DEFAULT_MAX_JSON (1ull << 20)
#define DEFAULT_CONNECTIONS 256u
#define DEFAULT_IDLE_S 30u
#define DEFAULT_REQUEST_S 600u
#define DEFAULT_HEADER_LIMIT (32u << 10)
#define DEFAULT_FILTER_FILES 1000u
#define DEFAULT_FILTER_BYTES (256ull << 20)
#define DEFAULT_MIN_FREE_DISK (1ull << 30)
/* MHD's memory per connection holds the request line, the headers and the read buffer of the body. It used to
 * be the header limit (32 KiB), so a body arrived in ~16 KiB reads: 33 recv and 33 epoll_wait per 512 KB
 * instance, each recv also sending the window update that the client's next segments wait for. 256 KiB makes
 * it ~4 of each (bench/RESULTS.md "STOW path"); 1 MiB makes it ~1.1 recv, 1.3 poll and 2.1 write per 528 KB
 * instance (was 4.2, 4.4 and 5.2: the kernel's autotuned receive queue holds ~0.5 MB; bench/RESULTS.md "STOW,
 * fourth pass"). The header limit is checked by header_bytes below. The pool is mapped per connection and
 * touched only as far as it is used: only a connection that uploads large bodies touches the whole MiB. */
#define CONNECTION_MEMORY (1024u << 10)

int dvh_addr_is_loopback(const char *host)
{
    if (strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
        return 1;
    struct in_addr a;
    if (inet_pton(AF_INET, host, &a) == 1)
        return (ntohl(a.s_addr) >> 24) == 127;
    return 0;
}

/* "host:port" or "[v6]:port" into a socket address. */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *sl, char *host, size_t hcap,
                        dv_error *err)
{
    const char *colon;
    size_t hl;
    const char *h = listen;
    if (listen[0] == '[') {
        const char *rb = strchr(listen, ']');
        if (rb == NULL || rb[1] != ':')
            return dv_fail(err, DV_ERR_USAGE, "--listen: expected [ADDRESS]:PORT");
        h = listen + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(listen, ':');
        if (colon == NULL)
            return dv_fail(err, DV_ERR_USAGE, "--listen: expected ADDRESS:PORT");
        hl = (size_t)(colon - listen);
    }
    if (hl == 0 || hl >= hcap)
        return dv_fail(err, DV_ERR_USAGE, "--listen: bad address");
    memcpy(host, h, hl);
    host[hl] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || port < 0 || port > 65535)
        return dv_fail(err, DV_ERR_USAGE, "--listen: bad port");
    memset(ss, 0, sizeof *ss);
    const char *lookup = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, lookup, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *sl = sizeof *v4;
    } else if (inet_pton(AF_INET6, lookup, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *sl = sizeof *v6;
    } else {
        return dv_fail(err, DV_ERR_USAGE, "--listen: the address must be numeric (or localhost)");
    }
    return 0;
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

void dvh_logf(dvh_server *s, const char *fmt, ...)
{
    if (s->cfg.log == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&s->log_mu);
    vfprintf(s->cfg.log, fmt, ap);
    fflush(s->cfg.log);
    pthread_mutex_unlock(&s->log_mu);
    va_end(ap);
}

/* Access log: one JSON line per request with the route's fixed name, never the path or the query (which
 * hold dataset names, UIDs and search values). [test_server.py "access log"] */
static void access_log(dvh_server *s, const dvh_request *rq, enum MHD_RequestTerminationCode toe)
{
    if (s->cfg.log == NULL)
        return;
    static const char *const methods[] = {"GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OTHER"};
    const char *m = "OTHER";
    for (unsigned i = 0; i < 7; i++)
        if (rq->method == (dvh_method)(1u << i))
            m = methods[i];
    char ts[32];
    dvh_now(ts);
    dvh_logf(s,
             "{\"time\":\"%s\",\"method\":\"%s\",\"route\":\"%s\",\"status\":%d,\"bytes_in\":%llu,"
             "\"ms\":%.1f,\"completed\":%s}\n",
             ts, m, rq->routed ? rq->route.name : "unrouted", rq->status, (unsigned long long)rq->bytes_in,
             ms_since(&rq->t0), toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "true" : "false");
}

static void request_free(dvh_request *rq)
{
    if (rq == NULL)
        return;
    free(rq->json);
    dvh_stow_free(rq->stow);
    dvs_store_clear(&rq->store);
    free(rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    dvh_guard_request_done(cls, c);
    dvh_request *rq = *con_cls;
    if (rq) {
        access_log(cls, rq, toe);
        request_free(rq);
        *con_cls = NULL;
    }
}

/* MHD's own messages go through here: the format string only, never its arguments (which may hold a URL or
 * a client address). */
static void mhd_logger(void *cls, const char *fm, va_list ap)
{
    (void)ap;
    dvh_server *s = cls;
    if (s->cfg.log == NULL)
        return;
    pthread_mutex_lock(&s->log_mu);
    fputs("{\"event\":\"http\",\"message\":\"", s->cfg.log);
    for (const char *p = fm; *p; p++)
        if (*p != '"' && *p != '\\' && *p != '\n' && (unsigned char)*p >= 0x20)
            fputc(*p, s->cfg.log);
    fputs("\"}\n", s->cfg.log);
    fflush(s->cfg.log);
    pthread_mutex_unlock(&s->log_mu);
}

static enum MHD_Result queue(dvh_request *rq, struct MHD_Response *resp, int status)
{
    rq->responded = 1;
    rq->status = status;
    if (resp == NULL) {
        rq->status = 500;
        return MHD_NO;
    }
    if (rq->route.allow && status == 405) {
        char allow[64] = "";
        static const char *const names[] = {"GET", "POST", "DELETE"};
        for (unsigned i = 0; i < 3; i++)
            if (rq->route.allow & (1u << i)) {
                if (allow[0])
                    strcat(allow, ", ");
                strcat(allow, names[i]);
            }
        MHD_add_response_header(resp, "Allow", allow);
    }
    /* The one place that sets the security headers, so no answer goes without them. The console route's answers
     * (its files, and its 301, 304, 404 and 405 too: those went without any) carry the console's set
     * (console_static.c). Every other answer may carry patient data and is never a page: no cache keeps it, no
     * browser sniffs it into HTML, renders it as a document or frames it. [test_server.py "API responses carry
     * no-store and nosniff"; test_server_strict.py "console 404 headers"] */
    if (strcmp(rq->route.name ? rq->route.name : "", "console.static") == 0) {
        dvh_console_headers(resp);
    } else {
        MHD_add_response_header(resp, "Cache-Control", "no-store");
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(resp, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
        /* no other site's page may embed or read it, even by a request without Origin (request_guard.c) */
        MHD_add_response_header(resp, "Cross-Origin-Resource-Policy", "same-origin");
    }
    enum MHD_Result r = MHD_queue_response(rq->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result queue_error(dvh_request *rq, const dvh_err *e)
{
    struct MHD_Response *resp = dvh_response_error(e);
    if (resp && e->status == DVH_UNAUTHENTICATED)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    /* a refusal sent after its body was read and discarded (refuse) ends the connection, as one sent at once did:
     * nothing more is read from a client that was refused */
    if (resp && rq->draining)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    return queue(rq, resp, dvh_status_http(e->status));
}

/* Bearer token check in constant time: both sides are hashed first, so neither the comparison's time nor an
 * early length mismatch tells a client anything about the token. [test_server.py "401"] */
static int authorized(dvh_request *rq)
{
    dvh_server *s = rq->srv;
    if (!s->has_token)
        return 1;
    const char *h = dvh_header(rq, MHD_HTTP_HEADER_AUTHORIZATION);
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
        return 0;
    const char *tok = h + 7;
    unsigned char d[32];
    unsigned int dl = 0;
    if (EVP_Digest(tok, strlen(tok), d, &dl, EVP_sha256(), NULL) != 1)
        return 0;
    return CRYPTO_memcmp(d, s->token_hash, sizeof d) == 0;
}

static int is_stow(const dvh_request *rq)
{
    return rq->route.kind == DVH_R_DICOMWEB && rq->method == DVH_POST && rq->route.web.tail == DVH_TAIL_NONE &&
           (rq->route.web.collection == DVH_LEVEL_STUDY ||
            (rq->route.web.collection == DVH_LEVEL_NONE && rq->route.web.series[0] == '\0'));
}

/* The most body bytes a request may send: STOW bodies --max-body, JSON bodies the JSON cap (from its route, so
 * the Content-Length check and the count of arriving bytes apply one rule). */
static uint64_t body_cap(const dvh_request *rq)
{
    return is_stow(rq) ? rq->srv->cfg.max_body : rq->srv->cfg.max_json;
}

static enum MHD_Result add_value_bytes(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    *(size_t *)cls += strlen(key) + (value ? strlen(value) : 0) + 4; /* ": " and CRLF, or "=" and "&" */
    return MHD_YES;
}

/* The request line and headers as received (give or take separators): what cfg.header_limit caps. */
static size_t header_bytes(struct MHD_Connection *conn, const char *url)
{
    size_t n = strlen(url) + 16;
    MHD_get_connection_values(conn, MHD_HEADER_KIND | MHD_GET_ARGUMENT_KIND, add_value_bytes, &n);
    return n;
}

/* A repeated query parameter is ambiguous (query_once.c): refused here, once for every route, before any
 * handler reads one (a lookup takes the first, a handler's loop the last). [test_server.py "repeated query
 * parameter"] */
static int query_once(dvh_request *rq, dvh_err *e)
{
    dvh_qparam p[DVH_QUERY_PARAMS_MAX + 1];
    size_t n = dvh_query_params(rq, p, DVH_QUERY_PARAMS_MAX + 1);
    if (n > DVH_QUERY_PARAMS_MAX)
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "more than %d query parameters", DVH_QUERY_PARAMS_MAX);
    return dvh_query_once(p, n, e);
}

/* A refusal decided from the request line and headers alone. Queued at once, libmicrohttpd sends it and closes
 * with the client's body still arriving: the kernel answers the unread bytes with a reset, and a client still
 * writing (curl in a loaded CI run) fails on its next write without ever reading the status. So the body is
 * read and discarded first (on_request, up to drain_cap), then the refusal is sent and the connection closed.
 * Answered at once: a request without a body, one that asked `Expect: 100-continue` (it sends nothing before an
 * answer), one whose declared body is over drain_cap or over its byte cap (413: not worth reading), one whose
 * framing is ambiguous (body_follows). A client trickling its body is bounded as any upload is: the
 * --request-timeout check on each piece and the connection's idle timeout. [test_server_strict.py "early
 * answers"] */
#define DRAIN_MAX (16ull << 20)
/* What a client not yet known to hold the token (refused by the request guard, the header limit or the token check
 * itself) gets read: the JSON body cap's 1 MiB, so an anonymous client cannot make the server read more for a
 * refusal than for any JSON request. */
#define DRAIN_ANON (1ull << 20)

static uint64_t drain_cap(const dvh_request *rq)
{
    return rq->authorized ? DRAIN_MAX : DRAIN_ANON;
}

static enum MHD_Result count_framing(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    (void)value;
    if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0 || strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
        (*(unsigned *)cls)++;
    return MHD_YES;
}

/* Is a body coming, framed one way only? A request with Content-Length and Transfer-Encoding, or either twice
 * (request_guard.c refuses them), is answered at once and its connection closed: reading "its body" by one
 * framing would read the rest as a next request on the same connection (request smuggling; RFC 9112 6.1). */
static int body_follows(dvh_request *rq)
{
    const char *expect = dvh_header(rq, MHD_HTTP_HEADER_EXPECT);
    if (expect && strcasecmp(expect, "100-continue") == 0)
        return 0;
    unsigned framing = 0;
    MHD_get_connection_values(rq->conn, MHD_HEADER_KIND, count_framing, &framing);
    if (framing != 1)
        return 0;
    if (dvh_header(rq, MHD_HTTP_HEADER_TRANSFER_ENCODING))
        return 1;
    const char *cl = dvh_header(rq, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl == NULL)
        return 0;
    char *end;
    unsigned long long n = strtoull(cl, &end, 10);
    return *end == '\0' && n > 0 && n <= drain_cap(rq);
}

static enum MHD_Result refuse(dvh_request *rq, const dvh_err *e)
{
    if (e->status == DVH_TOO_LARGE || !body_follows(rq))
        return queue_error(rq, e);
    rq->body_failed = 1;
    rq->body_err = *e;
    rq->draining = 1;
    return MHD_YES;
}

/* The first call for a request: everything decided from the request line and headers alone. Returns 1 when
 * it answered (a response queued, or a refusal waiting for the body: refuse), 0 to go on reading the body. */
static int first_call(dvh_request *rq, const char *url, enum MHD_Result *res)
{
    dvh_err e = {0};
    if (dvh_guard_check(rq, &e) != 0) {
        *res = refuse(rq, &e);
        return 1;
    }
    /* MHD's own cap is its connection memory (CONNECTION_MEMORY), larger than the header limit: checked here.
     * [test_server.py "header limit"] */
    if (header_bytes(rq->conn, url) > rq->srv->cfg.header_limit) {
        dvh_fail(&e, DVH_HEADERS_TOO_LARGE, "request line and headers over the %zu-byte limit",
                 rq->srv->cfg.header_limit);
        *res = refuse(rq, &e);
        return 1;
    }
    /* The console's static files are the one thing served without the token: they are the same for everyone
     * and hold no data (docs/console.md). [test_console.py "console without token"] */
    if (dvh_console_is_path(url, strlen(url))) {
        rq->route.name = "console.static";
        rq->routed = 1;
        struct MHD_Response *resp = NULL;
        int status = 200;
        *res = dvh_handle_console(rq, url, &resp, &status, &e) ? refuse(rq, &e) : queue(rq, resp, status);
        return 1;
    }
    if (!authorized(rq)) {
        dvh_fail(&e, DVH_UNAUTHENTICATED, "missing or invalid bearer token");
        *res = refuse(rq, &e);
        return 1;
    }
    rq->authorized = 1;
    rq->ext = (int)dvh_ext_match(url, strlen(url));
    if (rq->ext != DVH_EXT_NONE) {
        /* An extension endpoint (ext_endpoints.h): a POST's JSON/text body is read like any JSON body. */
        rq->route.name = dvh_ext_name((dvh_ext_kind)rq->ext, rq->method);
        rq->route.allow = dvh_ext_methods((dvh_ext_kind)rq->ext);
        rq->routed = 1;
        if ((rq->route.allow & (rq->method == DVH_HEAD ? DVH_GET : rq->method)) == 0) {
            dvh_fail(&e, DVH_METHOD, "method not allowed on %s", rq->route.name);
            *res = refuse(rq, &e);
            return 1;
        }
    } else if (dvh_route_match(rq->method, url, strlen(url), &rq->route, &e) != 0) {
        rq->routed = rq->route.name != NULL;
        *res = refuse(rq, &e);
        return 1;
    }
    rq->routed = 1;
    /* Routed on the decoded path: the path as sent must spell the same names (router.h dvh_path_spelled_plainly).
     * [test_server_strict.py "aliases"] */
    if (dvh_guard_spelling(rq, &e) != 0) {
        *res = refuse(rq, &e);
        return 1;
    }
    if (query_once(rq, &e) != 0) {
        *res = refuse(rq, &e);
        return 1;
    }
    const char *cl = dvh_header(rq, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t limit = body_cap(rq), declared = 0;
    if (cl) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if (*end == '\0' && n > limit) {
            dvh_fail(&e, DVH_TOO_LARGE, "request body over the %llu-byte limit", (unsigned long long)limit);
            *res = refuse(rq, &e);
            return 1;
        }
        if (*end == '\0')
            declared = n;
    }
    /* A STOW whose body (its Content-Length; a chunked body is checked as it arrives, stow.c) would take the
     * data file system below --min-free-disk is 507 before a byte is written. [test_server_strict.py "free
     * disk floor"] */
    if (is_stow(rq)) {
        if (dvh_resolve(rq, &e) || dvh_disk_room(rq->srv, declared, &e) || dvh_stow_begin(rq, &e)) {
            *res = refuse(rq, &e);
            return 1;
        }
    }
    return 0;
}

static int body_chunk(dvh_request *rq, const char *data, size_t n, dvh_err *e)
{
    dvh_server *s = rq->srv;
    rq->bytes_in += n;
    if (rq->stow)
        return dvh_stow_feed(rq, data, n, e);
    /* Chunked uploads have no Content-Length: the cap is enforced as bytes arrive. */
    if (rq->json_len + n > s->cfg.max_json)
        return dvh_fail(e, DVH_TOO_LARGE, "request body over the %llu-byte limit",
                        (unsigned long long)s->cfg.max_json);
    if (rq->json_len + n + 1 > rq->json_cap) {
        size_t cap = rq->json_cap ? rq->json_cap : 4096;
        while (cap < rq->json_len + n + 1)
            cap *= 2;
        char *b = realloc(rq->json, cap);
        if (b == NULL)
            return dvh_fail(e, DVH_INTERNAL, "out of memory");
        rq->json = b;
        rq->json_cap = cap;
    }
    memcpy(rq->json + rq->json_len, data, n);
    rq->json_len += n;
    rq->json[rq->json_len] = '\0';
    return 0;
}

static int dispatch(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e)
{
    const dvh_route *r = &rq->route;
    if (rq->ext)
        return dvh_handle_ext(rq, resp, status, e);
    switch (r->kind) {
    case DVH_R_OPERATIONS:
    case DVH_R_OPERATION:
    case DVH_R_OPERATION_CANCEL:
    case DVH_R_OPERATION_ERRORS: return dvh_handle_operation(rq, resp, status, e);
    case DVH_R_DATASET_DEIDENTIFY:
    case DVH_R_STORE_DEIDENTIFY:
    case DVH_R_STORE_IMPORT:
    case DVH_R_STORE_EXPORT: return dvh_handle_op_start(rq, resp, status, e);
    case DVH_R_DICOMWEB: break;
    default: return dvh_handle_resource(rq, resp, status, e);
    }
    if (rq->stow)
        return dvh_stow_finish(rq, NULL, resp, status, e);
    if (dvh_resolve(rq, e))
        return -1;
    const dvh_web *w = &r->web;
    if (rq->method == DVH_DELETE)
        return dvh_handle_delete(rq, resp, status, e);
    if (w->collection != DVH_LEVEL_NONE)
        return dvh_handle_search(rq, resp, status, e);
    switch (w->tail) {
    case DVH_TAIL_NONE: return dvh_handle_retrieve(rq, resp, status, e);
    case DVH_TAIL_METADATA: return dvh_handle_metadata(rq, resp, status, e);
    case DVH_TAIL_FRAMES: return dvh_handle_frames(rq, resp, status, e);
    case DVH_TAIL_RENDERED:
    case DVH_TAIL_FRAMES_RENDERED: return dvh_handle_rendered(rq, resp, status, e);
    case DVH_TAIL_BULKDATA: return dvh_handle_bulkdata(rq, resp, status, e);
    }
    return dvh_fail(e, DVH_INTERNAL, "unrouted DICOMweb tail");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    dvh_server *s = cls;
    dvh_request *rq = *con_cls;
    if (s->altstack_key_ok) /* a crash report even for this connection thread's stack overflow */
        dv_thread_altstack_ensure(s->altstack_key);
    if (rq == NULL) {
        rq = calloc(1, sizeof *rq);
        if (rq == NULL)
            return MHD_NO;
        rq->srv = s;
        rq->conn = conn;
        rq->method = dvh_method_parse(method);
        clock_gettime(CLOCK_MONOTONIC, &rq->t0);
        *con_cls = rq;
        enum MHD_Result res = MHD_YES;
        if (first_call(rq, url, &res))
            return res;
        return MHD_YES;
    }
    if (rq->responded) { /* an early answer is queued: the rest of the body is discarded */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (rq->body_failed) { /* discarded up to the body's byte cap (a refusal's: drain_cap), then answered */
            rq->bytes_in += n;
            if (rq->draining && ms_since(&rq->t0) > (double)s->cfg.request_timeout_s * 1e3)
                return queue_error(rq, &rq->body_err);
            return rq->bytes_in > (rq->draining ? drain_cap(rq) : body_cap(rq)) ? queue_error(rq, &rq->body_err) : MHD_YES;
        }
        dvh_err e = {0};
        if (ms_since(&rq->t0) > (double)s->cfg.request_timeout_s * 1e3) {
            dvh_fail(&e, DVH_TIMEOUT, "request took longer than %u s", s->cfg.request_timeout_s);
            return queue_error(rq, &e);
        }
        if (body_chunk(rq, upload_data, n, &e)) {
            /* Over the body's byte cap: answer now (the connection closes after it, so the upload stops; a
             * chunked upload's client may see only the close). Every other failure, the multipart caps on
             * parts and part headers included, is answered once the body is in, so the client reads its
             * error: libmicrohttpd sends nothing queued while an upload is still arriving.
             * [test_server.py "multipart caps answered"] */
            if (e.status == DVH_TOO_LARGE && rq->bytes_in > body_cap(rq))
                return queue_error(rq, &e);
            rq->body_failed = 1;
            rq->body_err = e;
        }
        return MHD_YES;
    }
    /* The whole request is in. */
    dvh_err e = {0};
    struct MHD_Response *resp = NULL;
    int status = 200;
    if (rq->body_failed && rq->stow && !rq->draining) /* parts stored before the failure are answered for (stow.c) */
        return dvh_stow_finish(rq, &rq->body_err, &resp, &status, &e) ? queue_error(rq, &e) : queue(rq, resp, status);
    if (rq->body_failed)
        return queue_error(rq, &rq->body_err);
    if (dispatch(rq, &resp, &status, &e) != 0)
        return queue_error(rq, &e);
    return queue(rq, resp, status);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

dvh_server *dvh_server_start(const dvh_server_config *cfg, dv_error *err)
{
    dvh_server *s = calloc(1, sizeof *s);
    if (s == NULL) {
        dv_fail(err, DV_ERR_NOMEM, "server: out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    s->data_fd = -1;
    s->console_fd = -1;
    s->blob_lock_fd = -1;
    s->op_guard_fd = -1;
    pthread_mutex_init(&s->log_mu, NULL);
    pthread_mutex_init(&s->op_guard_mu, NULL);
    if (dvh_blob_lock_init(s) != 0) {
        pthread_mutex_destroy(&s->log_mu);
        pthread_mutex_destroy(&s->op_guard_mu);
        free(s);
        dv_fail(err, DV_ERR_NOMEM, "server: out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->marks_mu, NULL);
    pthread_mutex_init(&s->filters_mu, NULL);
    dvh_guard_init(s);
    if (!s->cfg.max_body)
        s->cfg.max_body = DEFAULT_MAX_BODY;
    if (!s->cfg.max_json)
        s->cfg.max_json = DEFAULT_MAX_JSON;
    if (!s->cfg.max_connections)
        s->cfg.max_connections = DEFAULT_CONNECTIONS;
    if (!s->cfg.idle_timeout_s)
        s->cfg.idle_timeout_s = DEFAULT_IDLE_S;
    if (!s->cfg.request_timeout_s)
        s->cfg.request_timeout_s = DEFAULT_REQUEST_S;
    if (!s->cfg.header_limit)
        s->cfg.header_limit = DEFAULT_HEADER_LIMIT;
    if (!s->cfg.max_filter_files)
        s->cfg.max_filter_files = DEFAULT_FILTER_FILES;
    if (!s->cfg.max_filter_bytes)
        s->cfg.max_filter_bytes = DEFAULT_FILTER_BYTES;
    if (!s->cfg.min_free_disk)
        s->cfg.min_free_disk = DEFAULT_MIN_FREE_DISK;
    s->cfg.data_dir = NULL; /* not kept: the open directory is */

    struct sockaddr_storage ss;
    socklen_t sl = 0;
    char host[128];
    if (parse_listen(cfg->listen ? cfg->listen : "127.0.0.1:8080", &ss, &sl, host, sizeof host, err))
        goto fail;
    /* Anything but loopback is reachable by others: it needs a token (docs/decisions.md "Server security").
     * [test_server.py "non-loopback needs a token"] */
    if (!dvh_addr_is_loopback(host) && (cfg->token == NULL || cfg->token_len == 0)) {
        dv_fail(err, DV_ERR_USAGE, "listening on a non-loopback address requires --token-file");
        goto fail;
    }
    if (cfg->token && cfg->token_len) {
        unsigned int dl = 0;
        EVP_Digest(cfg->token, cfg->token_len, s->token_hash, &dl, EVP_sha256(), NULL);
        s->has_token = 1;
        s->cfg.token = NULL; /* the hash is kept, not the token */
    }
    if ((cfg->tls_cert_pem == NULL) != (cfg->tls_key_pem == NULL)) {
        dv_fail(err, DV_ERR_USAGE, "--tls-cert and --tls-key go together");
        goto fail;
    }
    s->tls = cfg->tls_cert_pem != NULL;
    s->tls_cert = dup_or_null(cfg->tls_cert_pem);
    s->tls_key = dup_or_null(cfg->tls_key_pem);

    if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
        dv_fail(err, DV_ERR_IO, "--data: cannot create the directory (errno %d)", errno);
        goto fail;
    }
    s->data_fd = open(cfg->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->data_fd < 0) {
        dv_fail(err, DV_ERR_IO, "--data: cannot open the directory (errno %d)", errno);
        goto fail;
    }
    /* The blob lock's file (blob_lock.c): servers sharing DATA order their STOWs and DELETEs on it. */
    s->blob_lock_fd = openat(s->data_fd, "blob.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->blob_lock_fd < 0) {
        dv_fail(err, DV_ERR_IO, "--data: cannot open DATA/blob.lock (errno %d)", errno);
        goto fail;
    }
    /* The operations' guard's file (op_guard.c): servers sharing DATA order operation starts and deletes on it. */
    if (dvh_op_guard_open(s, err) != 0)
        goto fail;
    /* The key of the instance file names (src/store/dvs_blobs.h), created on the first start. */
    s->naming_key = dvs_naming_key(s->data_fd, err);
    if (s->naming_key == NULL)
        goto fail;
    if (cfg->console_dir)
        s->console_fd = open(cfg->console_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    s->cfg.console_dir = NULL; /* not kept: the open directory is */
    s->ix = dvs_index_open(cfg->index_url, cfg->data_dir, err);
    if (s->ix == NULL)
        goto fail;
    dvh_blob_sweep(s); /* what a kill between a put's name and its row left (blob_sweep.c) */
    dvh_index_idle_init(s);
    s->batch = dvh_batcher_new();
    if (s->batch == NULL) {
        dv_fail(err, DV_ERR_NOMEM, "server: out of memory");
        goto fail;
    }
    /* Allowed roots, resolved once: a file URI must resolve inside one of them (roots.c). */
    for (size_t i = 0; i < cfg->nallow_roots; i++) {
        struct stat rst;
        char *real = realpath(cfg->allow_roots[i], NULL);
        if (real == NULL || stat(real, &rst) != 0 || !S_ISDIR(rst.st_mode)) {
            free(real);
            dv_fail(err, DV_ERR_USAGE, "--allow-root %zu: not an existing folder", i + 1);
            goto fail;
        }
        int bad = dvh_roots_append(s, real, cfg->allow_roots[i]);
        free(real);
        if (bad) {
            dv_fail(err, DV_ERR_NOMEM, "--allow-root %zu: out of memory or too long", i + 1);
            goto fail;
        }
    }
    s->cfg.allow_roots = NULL; /* not kept: the resolved copies are */
    if (dvh_ext_filters_init(s, cfg->data_dir, err) != 0)
        goto fail;
    if (dvh_ops_start(s, cfg->op_workers, err) != 0)
        goto fail;

    /* One thread per connection (bounded by max_connections), not a pool of threads each polling several
     * connections: a request handler blocks (a STOW waits for its group commit's syncfs, a QIDO for SQLite), and
     * in a pool every other connection on that thread waited behind it. With the STOW group durability a round
     * is ~18 ms, and QIDO under STOW load read p50 18 ms / p99 47-79 ms with 8 pool threads for 10 connections
     * (16 threads: p99 37 ms); one thread per connection: p50 1.4 ms, p99 24 ms (bench/server_load.sh, bench/RESULTS.md
     * "Integrated re-run, 14:20-15:00"; docs/decisions.md "Request threads"). [test_server_perf.py "group commit"] */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (s->tls)
        flags |= MHD_USE_TLS;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key},
        {MHD_OPTION_END, 0, NULL},
    };
    unsigned per_ip = s->cfg.max_connections / 4 ? s->cfg.max_connections / 4 : 1;
    s->altstack_key_ok = dv_thread_altstack_key_create(&s->altstack_key) == 0; /* before any connection thread */
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)s->cfg.max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->cfg.idle_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(s->cfg.header_limit > CONNECTION_MEMORY ? s->cfg.header_limit : CONNECTION_MEMORY),
        MHD_OPTION_CONNECTION_MEMORY_INCREMENT, (size_t)(64u << 10), MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, dvh_guard_on_connection, s, MHD_OPTION_UNESCAPE_CALLBACK, dvh_guard_unescape, s,
        MHD_OPTION_URI_LOG_CALLBACK, dvh_guard_uri_log, s,
        MHD_OPTION_ARRAY, s->tls ? tls_opts : tls_opts + 2, MHD_OPTION_END);
    if (s->daemon == NULL) {
        dv_fail(err, DV_ERR_IO, "cannot listen on the address (in use, or TLS certificate/key not usable)");
        goto fail;
    }
    if (dvh_guard_start(s) != 0) {
        dv_fail(err, DV_ERR_NOMEM, "server: cannot start the header sweeper");
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_LISTEN_FD);
    struct sockaddr_storage bound;
    socklen_t bl = sizeof bound;
    if (info && getsockname(info->listen_fd, (struct sockaddr *)&bound, &bl) == 0)
        s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                    : ((struct sockaddr_in *)&bound)->sin_port);
    (void)sl;
    return s;
fail:
    dvh_server_stop(s);
    return NULL;
}

unsigned dvh_server_port(const dvh_server *s)
{
    return s->port;
}

void dvh_server_stop(dvh_server *s)
{
    if (s == NULL)
        return;
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    if (s->altstack_key_ok) /* every connection thread has ended, its stack freed by the key's destructor */
        pthread_key_delete(s->altstack_key);
    dvh_guard_stop(s); /* no connection is left */
    /* After the requests (none can start an operation now), before the index closes. */
    dvh_ops_stop(s);
    for (size_t i = 0; i < s->nroots; i++) {
        free(s->roots[i]);
        free(s->roots_lex[i]);
    }
    free(s->roots);
    free(s->roots_lex);
    free(s->filters_dir);
    free(s->marks_dir);
    pthread_mutex_destroy(&s->marks_mu);
    pthread_mutex_destroy(&s->filters_mu);
    if (s->ix)
        s->ix->ops->close(s->ix);
    if (s->data_fd >= 0)
        close(s->data_fd);
    if (s->console_fd >= 0)
        close(s->console_fd);
    if (s->blob_lock_fd >= 0)
        close(s->blob_lock_fd);
    if (s->op_guard_fd >= 0)
        close(s->op_guard_fd);
    if (s->tls_key)
        OPENSSL_cleanse(s->tls_key, strlen(s->tls_key));
    free(s->tls_cert);
    free(s->tls_key);
    OPENSSL_cleanse(s->token_hash, sizeof s->token_hash);
    pthread_mutex_destroy(&s->log_mu);
    dvh_blob_lock_destroy(s);
    pthread_mutex_destroy(&s->op_guard_mu);
    dvh_batcher_free(s->batch);
    dv_key_free(s->naming_key);
    free(s);
}
