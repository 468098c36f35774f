/* What the server refuses before it routes a request (see request_guard.h): an encoded NUL in the URL, and,
 * when no token is set, a request a web page on another site could have made. */
#include "http/request_guard.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/router.h"
#include "http/server_internal.h"

/* Per connection (MHD_OPTION_NOTIFY_CONNECTION): what the unescaper saw of the request being read. libmicrohttpd
 * reads one request of a connection at a time, so the mark belongs to the request that first_call sees next. */
typedef struct conn_state {
    int encoded_nul;
} conn_state;

void dvh_guard_on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                             enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    (void)c;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_context = calloc(1, sizeof(conn_state)); /* NULL on ENOMEM: see dvh_guard_unescape */
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        free(*socket_context);
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

void dvh_guard_request_done(struct MHD_Connection *c)
{
    conn_state *st = state_of(c);
    if (st)
        st->encoded_nul = 0;
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
    if (st && st->encoded_nul) {
        st->encoded_nul = 0;
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "the request URL holds an encoded NUL (%%00)");
    }
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
    return 0;
}
