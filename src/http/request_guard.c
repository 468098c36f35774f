/* What the server refuses before it routes a request (see request_guard.h): an encoded NUL in the URL, and,
 * when no token is set, a request a web page on another site could have made. */
#include "http/request_guard.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "http/router.h"
#include "http/server_internal.h"

/* Per connection (MHD_OPTION_NOTIFY_CONNECTION): what the unescaper saw of the request being read. libmicrohttpd
 * reads one request of a connection at a time, so the mark belongs to the request that first_call sees next.
 * The other fields are the header sweeper's, under srv->guard_mu. */
typedef struct conn_state {
    int encoded_nul;
    char *raw_path;  /* the request's path as sent, before any %HH was decoded (dvh_guard_uri_log) */
    int fd;          /* the connection's socket (-1: unknown, never cut) */
    int in_request;  /* between a request's first call and its completion */
    int cut;         /* shut down once already */
    struct timespec since; /* when the connection began waiting for its current request line and headers */
    struct conn_state *prev, *next;
} conn_state;

static void now_mono(struct timespec *t)
{
    clock_gettime(CLOCK_MONOTONIC, t);
}

void dvh_guard_on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                             enum MHD_ConnectionNotificationCode code)
{
    dvh_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        conn_state *st = calloc(1, sizeof(conn_state)); /* NULL on ENOMEM: see dvh_guard_unescape */
        *socket_context = st;
        if (st == NULL)
            return;
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        st->fd = ci ? ci->connect_fd : -1;
        now_mono(&st->since);
        pthread_mutex_lock(&s->guard_mu);
        st->next = s->guard_conns;
        if (st->next)
            st->next->prev = st;
        s->guard_conns = st;
        pthread_mutex_unlock(&s->guard_mu);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        conn_state *st = *socket_context;
        if (st) {
            pthread_mutex_lock(&s->guard_mu);
            if (st->prev)
                st->prev->next = st->next;
            else
                s->guard_conns = st->next;
            if (st->next)
                st->next->prev = st->prev;
            pthread_mutex_unlock(&s->guard_mu);
            free(st->raw_path);
        }
        free(st);
        *socket_context = NULL;
    }
}

static conn_state *state_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* libmicrohttpd's own unescaper turns "%00" into a NUL byte, and the handler then sees a URL (or a query value)
 * cut there: `DELETE .../dicomStores/keep%00x` deleted the store "keep". This one decodes %HH as libmicrohttpd
 * does (an invalid escape stays as it is) but leaves "%00" undecoded and reports it, and the request is then
 * refused (dvh_guard_check); if the mark cannot be kept (no connection state), the '%' left in place fails
 * every name and UID check, so nothing is ever cut. [test_server.py "encoded NUL"; fuzz_router] */
size_t dvh_unescape_keep_nul(char *s, int *nul_seen)
{
    char *w = s;
    for (const char *r = s; *r;) {
        int hi, lo;
        if (r[0] == '%' && (hi = dvh_hex_digit(r[1])) >= 0 && (lo = dvh_hex_digit(r[2])) >= 0) {
            if (hi == 0 && lo == 0) {
                *nul_seen = 1;
                memmove(w, r, 3);
                w += 3;
            } else {
                *w++ = (char)(hi << 4 | lo);
            }
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

size_t dvh_guard_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    int nul = 0;
    size_t n = dvh_unescape_keep_nul(s, &nul);
    conn_state *st = nul ? state_of(c) : NULL;
    if (st)
        st->encoded_nul = 1;
    return n;
}

/* libmicrohttpd hands the handler a path already decoded, so ".../operations/%33" and ".../operations/3" looked
 * the same. Its URI log callback sees the request target as sent: the path part is kept for the request, and
 * dvh_guard_spelling compares the two. Returns NULL: the request's own context is made by the handler. */
void *dvh_guard_uri_log(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    conn_state *st = state_of(c);
    if (st) {
        free(st->raw_path);
        st->raw_path = strndup(uri, strcspn(uri, "?#")); /* NULL on ENOMEM: dvh_guard_spelling refuses */
    }
    return NULL;
}

int dvh_guard_spelling(dvh_request *rq, dvh_err *e)
{
    conn_state *st = state_of(rq->conn);
    if (st == NULL || st->raw_path == NULL)
        return dvh_fail(e, DVH_INTERNAL, "out of memory");
    if (!dvh_path_spelled_plainly(st->raw_path, strlen(st->raw_path)))
        return dvh_fail(e, DVH_NOT_FOUND, "no such resource path");
    return 0;
}

void dvh_guard_request_done(dvh_server *s, struct MHD_Connection *c)
{
    conn_state *st = state_of(c);
    if (st) {
        st->encoded_nul = 0;
        free(st->raw_path);
        st->raw_path = NULL;
        pthread_mutex_lock(&s->guard_mu);
        st->in_request = 0; /* the next request's line and headers: their own time */
        now_mono(&st->since);
        pthread_mutex_unlock(&s->guard_mu);
    }
}

/* libmicrohttpd closes a connection after --idle-timeout without a byte, and the request timeout starts with
 * the handler (after the headers): a client sending one header byte now and then (slowloris) kept its
 * connection for as long as the connection memory lasted (256 KiB: days). This thread cuts such a connection
 * once its line and headers took longer than the request timeout: shutdown() makes libmicrohttpd's read fail
 * and close it. The connection is in the list (under guard_mu) until NOTIFY_CLOSED, so its fd is still its
 * own when cut. [test_server.py "slow headers"] */
static void *sweeper(void *arg)
{
    dvh_server *s = arg;
    pthread_mutex_lock(&s->guard_mu);
    while (!s->guard_stop) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_sec += 1;
        pthread_cond_timedwait(&s->guard_cv, &s->guard_mu, &t);
        struct timespec now;
        now_mono(&now);
        for (conn_state *st = s->guard_conns; st; st = st->next) {
            if (st->in_request || st->cut || st->fd < 0)
                continue;
            if (now.tv_sec - st->since.tv_sec > (time_t)s->cfg.request_timeout_s) {
                shutdown(st->fd, SHUT_RDWR);
                st->cut = 1;
            }
        }
        /* This thread's second use: the index's idle rebuild (index_idle.c), outside guard_mu (a VACUUM takes a
         * second, and connections come and go meanwhile). */
        pthread_mutex_unlock(&s->guard_mu);
        dvh_index_idle(s);
        pthread_mutex_lock(&s->guard_mu);
    }
    pthread_mutex_unlock(&s->guard_mu);
    return NULL;
}

void dvh_guard_init(dvh_server *s)
{
    pthread_mutex_init(&s->guard_mu, NULL);
    pthread_cond_init(&s->guard_cv, NULL);
    s->guard_conns = NULL;
    s->guard_running = s->guard_stop = 0;
}

int dvh_guard_start(dvh_server *s)
{
    if (pthread_create(&s->guard_thread, NULL, sweeper, s) != 0)
        return -1;
    s->guard_running = 1;
    return 0;
}

void dvh_guard_stop(dvh_server *s)
{
    if (s->guard_running) {
        pthread_mutex_lock(&s->guard_mu);
        s->guard_stop = 1;
        pthread_cond_signal(&s->guard_cv);
        pthread_mutex_unlock(&s->guard_mu);
        pthread_join(s->guard_thread, NULL);
        s->guard_running = 0;
    }
    pthread_mutex_destroy(&s->guard_mu);
    pthread_cond_destroy(&s->guard_cv);
}

/* The host part of a Host header value or of an origin's authority: "[::1]:8080" -> "::1", "localhost:80" ->
 * "localhost". 0 when it does not fit out. */
static int host_part(const char *authority, size_t n, char *out, size_t cap)
{
    const char *h = authority;
    size_t hl = n;
    if (n && authority[0] == '[') {
        const char *rb = memchr(authority, ']', n);
        if (rb == NULL)
            return 0;
        h = authority + 1;
        hl = (size_t)(rb - h);
    } else {
        const char *colon = memchr(authority, ':', n);
        if (colon)
            hl = (size_t)(colon - authority);
    }
    if (hl == 0 || hl >= cap)
        return 0;
    memcpy(out, h, hl);
    out[hl] = '\0';
    return 1;
}

/* An Origin ("scheme://host[:port]", no path) naming the host the request was sent to ("null" never does). */
static int same_origin(const char *origin, const char *host)
{
    size_t sl = strncasecmp(origin, "http://", 7) == 0 ? 7 : strncasecmp(origin, "https://", 8) == 0 ? 8 : 0;
    return sl && host && strcasecmp(origin + sl, host) == 0;
}

/* The headers a request may carry once. libmicrohttpd keeps every header line and a lookup answers the first,
 * while a proxy or a WAF in front may act on another (or on all of them joined), so each header the server
 * decides on, for security or for how it reads the request, is refused when repeated (RFC 9110 5.3 lets only a
 * list-valued field repeat; none of these is one):
 *   Host               the loopback check (token-less), the base of RetrieveURLs; RFC 9112 3.2 makes two a 400
 *   Origin             the same-origin check (token-less)
 *   Authorization      the bearer token: a proxy may have authorised the request by the other line
 *   Content-Type       how a STOW body is parsed (its boundary): a filter in front may have read the other one
 *   Content-Length     the body's size cap, and its framing (request smuggling: RFC 9112 6.3 makes a conflict a
 *                      400); libmicrohttpd 0.9.75 frames by the first line without a word
 *   Transfer-Encoding  the body's framing, the same way (and it is refused beside a Content-Length)
 *   Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest  the cross-site check (token-less)
 * Not in the list: Accept and If-None-Match (list-valued; they choose a representation, never whether to answer),
 * and Cookie and X-HTTP-Method-Override, which the server never reads (a header it starts to decide on belongs
 * here). One table, one check, with a token or without. [test_server_strict.py "duplicate Host", "duplicate
 * headers"] */
enum { ONCE_CONTENT_LENGTH = 4, ONCE_TRANSFER_ENCODING = 5 };
static const char *const once_headers[] = {
    MHD_HTTP_HEADER_HOST,           "Origin",
    MHD_HTTP_HEADER_AUTHORIZATION,  MHD_HTTP_HEADER_CONTENT_TYPE,
    [ONCE_CONTENT_LENGTH] = MHD_HTTP_HEADER_CONTENT_LENGTH,
    [ONCE_TRANSFER_ENCODING] = MHD_HTTP_HEADER_TRANSFER_ENCODING,
    "Sec-Fetch-Site",               "Sec-Fetch-Mode",
    "Sec-Fetch-Dest",
};
#define ONCE_HEADERS (sizeof once_headers / sizeof once_headers[0])

typedef struct header_count {
    unsigned n[ONCE_HEADERS];
    const char *twice; /* the first of once_headers seen a second time (the table's spelling, not the client's) */
} header_count;

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    (void)value;
    header_count *c = cls;
    for (size_t i = 0; i < ONCE_HEADERS; i++)
        if (strcasecmp(key, once_headers[i]) == 0 && ++c->n[i] == 2 && c->twice == NULL)
            c->twice = once_headers[i];
    return MHD_YES;
}

static int headers_once(dvh_request *rq, dvh_err *e)
{
    header_count c;
    memset(&c, 0, sizeof c);
    MHD_get_connection_values(rq->conn, MHD_HEADER_KIND, count_header, &c);
    if (c.twice)
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "the request has more than one %s header", c.twice);
    /* Both framings at once: libmicrohttpd reads the body by Transfer-Encoding, a proxy may have read it by
     * Content-Length and sent the rest as another request (RFC 9112 6.1 lets a server refuse it). */
    if (c.n[ONCE_CONTENT_LENGTH] && c.n[ONCE_TRANSFER_ENCODING])
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "the request has both Content-Length and Transfer-Encoding");
    return 0;
}

/* Without a token the server listens on loopback only (cmd_serve.c), and whoever can reach it may use it. A web
 * page in the user's browser can reach it too: by DNS rebinding (its own name resolved to 127.0.0.1, so its
 * requests carry its Host) it could read every stored study, and by a plain cross-site POST (no preflight for a
 * text/plain body) it could start a :deidentify or an :export. So a token-less server answers only requests that
 * name a loopback host, and, when a browser says where the request comes from (Origin, which browsers send on
 * every cross-origin request and on every POST), only its own origin. Clients other than browsers send no Origin
 * and name the host they connected to. With a token, the browser cannot send it to us from another site without
 * a CORS preflight, which the server never grants. [test_server.py "foreign Host", "foreign Origin"] */
int dvh_guard_check(dvh_request *rq, dvh_err *e)
{
    conn_state *st = state_of(rq->conn);
    if (st) { /* its headers are in: the request timeout (server.c) takes over */
        pthread_mutex_lock(&rq->srv->guard_mu);
        st->in_request = 1;
        pthread_mutex_unlock(&rq->srv->guard_mu);
    }
    if (st && st->encoded_nul) {
        st->encoded_nul = 0;
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "the request URL holds an encoded NUL (%%00)");
    }
    if (headers_once(rq, e) != 0)
        return -1;
    if (rq->srv->has_token)
        return 0;
    const char *host = dvh_header(rq, MHD_HTTP_HEADER_HOST);
    char name[256];
    if (host && (!host_part(host, strlen(host), name, sizeof name) || !dvh_addr_is_loopback(name)))
        return dvh_fail(e, DVH_PERMISSION_DENIED,
                        "without --token-file the server answers only requests to a loopback host name");
    const char *origin = dvh_header(rq, "Origin");
    if (origin && !same_origin(origin, host))
        return dvh_fail(e, DVH_PERMISSION_DENIED,
                        "without --token-file the server answers browsers only from its own origin");
    /* A page's <img src>, <script src> or no-cors fetch() of a GET carries no Origin: a foreign page could show
     * a rendered frame (and learn its size, or that a UID exists) and pull study JSON into its own process. The
     * browser says where such a request comes from in Sec-Fetch-Site: only the server's own pages ("same-origin")
     * and what the user typed or bookmarked ("none") are answered, and a link followed from another site to a
     * page (a top-level GET navigation, which the linking page cannot read). Browsers without Fetch Metadata
     * get Cross-Origin-Resource-Policy: same-origin on every API answer (server.c queue). */
    const char *site = dvh_header(rq, "Sec-Fetch-Site");
    if (site && strcasecmp(site, "same-origin") != 0 && strcasecmp(site, "none") != 0) {
        const char *mode = dvh_header(rq, "Sec-Fetch-Mode"), *dest = dvh_header(rq, "Sec-Fetch-Dest");
        int navigation = rq->method == DVH_GET && mode && strcasecmp(mode, "navigate") == 0 &&
                         !(dest && (strcasecmp(dest, "object") == 0 || strcasecmp(dest, "embed") == 0));
        if (!navigation)
            return dvh_fail(e, DVH_PERMISSION_DENIED,
                            "without --token-file the server answers browsers only from its own origin");
    }
    return 0;
}
