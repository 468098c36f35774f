/* The web console's static files (issue 9, docs/console.md): GET /console/<file> from one directory, the
 * only route reachable without the bearer token — the files are the same for everyone and hold no data;
 * every API call the console makes carries the token like any other client's.
 *
 * Pure part (this header): which request paths name a console file. A path is served only when every
 * segment is 1-64 characters of [A-Za-z0-9_-] with at most one '.' that is neither first nor last, at most
 * 4 segments, and the extension is one we know the media type of; so no '..', no hidden file, no encoded
 * separator and no NUL ever reaches the file system. [test_console_static: test_traversal_refused] */
#ifndef DVH_CONSOLE_STATIC_H
#define DVH_CONSOLE_STATIC_H

#include <stddef.h>

#define DVH_CONSOLE_PREFIX "/console"

/* 1 when the URL path (len bytes) is the console's: "/console" or "/console/..." (nothing else). */
int dvh_console_is_path(const char *path, size_t len);

/* The file a console URL path names, relative to the console directory ("index.html" for "/console/"),
 * into out (cap bytes), and its media type. Returns 0, or -1 when the path names no servable file (404;
 * the caller never says why: the message names no client text). "/console" without the slash is -1 with
 * *redirect = 1 (the caller answers 301 to "/console/"). */
int dvh_console_file(const char *path, size_t len, char *out, size_t cap, const char **ctype, int *redirect);

/* Headers every console response carries: a Content-Security-Policy that allows scripts, styles, images and
 * API calls from this origin only (no inline script, no eval, no framing), no MIME sniffing, no referrer. */
#define DVH_CONSOLE_CSP                                                                                        \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; " \
    "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

#endif
