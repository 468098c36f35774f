/* The web console's static files: path rules (console_static.h) and the handler (server_internal.h). */
#include "http/console_static.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/server_internal.h"

#define SEG_MAX 64
#define SEGS_MAX 4
#define FILE_MAX (8u << 20) /* the console's files are tens of KiB; anything bigger is not ours */

static const struct {
    const char *ext, *type;
} media_types[] = {
    {"html", "text/html; charset=utf-8"},      {"js", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},        {"json", "application/json; charset=utf-8"},
    {"svg", "image/svg+xml"},                  {"png", "image/png"},
    {"ico", "image/x-icon"},                   {"txt", "text/plain; charset=utf-8"},
};

int dvh_console_is_path(const char *path, size_t len)
{
    size_t n = sizeof DVH_CONSOLE_PREFIX - 1;
    return len >= n && memcmp(path, DVH_CONSOLE_PREFIX, n) == 0 && (len == n || path[n] == '/');
}

static int seg_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

int dvh_console_file(const char *path, size_t len, char *out, size_t cap, const char **ctype, int *redirect)
{
    size_t n = sizeof DVH_CONSOLE_PREFIX - 1;
    *redirect = 0;
    if (!dvh_console_is_path(path, len))
        return -1;
    if (len == n) {
        *redirect = 1;
        return -1;
    }
    const char *p = path + n + 1;
    size_t rest = len - n - 1;
    if (rest == 0) {
        p = "index.html";
        rest = strlen(p);
    }
    if (rest >= cap)
        return -1;
    /* Segment by segment: 1-64 safe characters, at most one inner '.'; the extension of the last one. */
    size_t segs = 0, seg_len = 0, dots = 0;
    const char *ext = NULL;
    for (size_t i = 0; i <= rest; i++) {
        char c = i < rest ? p[i] : '/';
        if (c == '/') {
            if (seg_len == 0 || ++segs > SEGS_MAX || (dots && p[i - 1] == '.'))
                return -1;
            seg_len = dots = 0;
            continue;
        }
        if (c == '.') {
            if (seg_len == 0 || ++dots > 1)
                return -1;
            ext = p + i + 1;
        } else if (!seg_char(c)) {
            return -1;
        }
        if (++seg_len > SEG_MAX)
            return -1;
    }
    /* The extension must belong to the last segment (a dot in a directory name is not an extension). */
    if (ext == NULL || memchr(ext, '/', (size_t)(p + rest - ext)) != NULL)
        return -1;
    size_t el = (size_t)(p + rest - ext);
    *ctype = NULL;
    for (size_t i = 0; i < sizeof media_types / sizeof media_types[0]; i++)
        if (strlen(media_types[i].ext) == el && memcmp(ext, media_types[i].ext, el) == 0)
            *ctype = media_types[i].type;
    if (*ctype == NULL)
        return -1;
    memcpy(out, p, rest);
    out[rest] = '\0';
    return 0;
}

void dvh_console_headers(struct MHD_Response *r)
{
    MHD_add_response_header(r, "Content-Security-Policy", DVH_CONSOLE_CSP);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    /* Revalidated on every load (ETag below): an upgraded binary's console is never mixed with an old one's
     * cached modules. */
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
}

int dvh_handle_console(dvh_request *rq, const char *url, struct MHD_Response **resp, int *status, dvh_err *e)
{
    dvh_server *s = rq->srv;
    if (rq->method != DVH_GET && rq->method != DVH_HEAD) {
        rq->route.allow = DVH_GET;
        return dvh_fail(e, DVH_METHOD, "method not allowed on %s", rq->route.name);
    }
    char rel[SEGS_MAX * (SEG_MAX + 1) + 1];
    const char *ctype = NULL;
    int redirect = 0;
    if (dvh_console_file(url, strlen(url), rel, sizeof rel, &ctype, &redirect) != 0) {
        if (redirect) {
            *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
            if (*resp)
                MHD_add_response_header(*resp, MHD_HTTP_HEADER_LOCATION, DVH_CONSOLE_PREFIX "/");
            *status = 301;
            return 0;
        }
        return dvh_fail(e, DVH_NOT_FOUND, "no such console file");
    }
    if (s->console_fd < 0)
        return dvh_fail(e, DVH_NOT_FOUND, "the console is not installed (serve --console-dir)");
    /* O_NOFOLLOW: a symbolic link planted as the last component is refused; the segment rules above already
     * keep every lookup inside the directory. */
    int fd = openat(s->console_fd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > FILE_MAX) {
        if (fd >= 0)
            close(fd);
        return dvh_fail(e, DVH_NOT_FOUND, "no such console file");
    }
    char etag[64];
    snprintf(etag, sizeof etag, "\"%llx-%llx-%lx\"", (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
    const char *inm = dvh_header(rq, MHD_HTTP_HEADER_IF_NONE_MATCH);
    if (inm && strcmp(inm, etag) == 0) {
        close(fd);
        *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        *status = 304;
    } else {
        *resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd); /* takes fd */
        if (*resp == NULL)
            close(fd);
        else
            MHD_add_response_header(*resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
        *status = 200;
    }
    if (*resp == NULL)
        return dvh_fail(e, DVH_INTERNAL, "out of memory");
    MHD_add_response_header(*resp, MHD_HTTP_HEADER_ETAG, etag); /* the security headers: server.c queue */
    return 0;
}
