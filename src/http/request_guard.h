/* What the server refuses before routing (request_guard.c): a URL with an encoded NUL, and, when no token is
 * set, requests to a non-loopback Host or from another web origin (DNS rebinding, cross-site POSTs). */
#ifndef DVH_REQUEST_GUARD_H
#define DVH_REQUEST_GUARD_H

#include <stddef.h>

#include <microhttpd.h>

#include "http/api_error.h"

typedef struct dvh_request dvh_request;
typedef struct dvh_server dvh_server;

/* MHD_OPTION_NOTIFY_CONNECTION: the per-connection state the unescaper marks. */
void dvh_guard_on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                             enum MHD_ConnectionNotificationCode code);
/* s decoded in place (%HH; an invalid escape kept as it is), except "%00", kept as text: *nul_seen set to 1
 * when one was seen. Returns the new length (never more than before; no NUL byte is ever produced). */
size_t dvh_unescape_keep_nul(char *s, int *nul_seen);
/* MHD_OPTION_UNESCAPE_CALLBACK: %HH decoded, except %00, which is kept and marks the request. */
size_t dvh_guard_unescape(void *cls, struct MHD_Connection *c, char *s);
/* MHD_OPTION_URI_LOG_CALLBACK: keeps the request's path as sent (before decoding) with its connection. */
void *dvh_guard_uri_log(void *cls, const char *uri, struct MHD_Connection *c);
/* 0 when the path as sent spells its names as the server does (router.h dvh_path_spelled_plainly), else -1
 * with e: 404 (the spelling names nothing), 500 when the path as sent could not be kept. */
int dvh_guard_spelling(dvh_request *rq, dvh_err *e);
/* A request ended (MHD_OPTION_NOTIFY_COMPLETED): its mark and its path as sent go with it. */
void dvh_guard_request_done(dvh_server *s, struct MHD_Connection *c);
/* The header sweeper: a connection still reading a request's line and headers after the request timeout is
 * cut (libmicrohttpd's own timeout is an idle one, which a client sending a byte now and then never meets).
 * init before the daemon starts, start once it runs; stop after it stopped (no connection is left). */
void dvh_guard_init(dvh_server *s);
int dvh_guard_start(dvh_server *s);
void dvh_guard_stop(dvh_server *s);
/* 0, or -1 with e set (400 for an encoded NUL or a header the server decides on given twice: Host, Origin,
 * Authorization, Content-Type, Content-Length, Transfer-Encoding, Sec-Fetch-*; 403 for a foreign Host or Origin
 * without a token). */
int dvh_guard_check(dvh_request *rq, dvh_err *e);

#endif
