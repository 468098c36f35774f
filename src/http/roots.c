/* Allowed roots: the only local files a client may name (gcsConfigUri, filterConfig.resourcePathsGcsUri,
 * :import's gcsSource.uri, :export's gcsDestination.uriPrefix). A reference is an absolute path or a
 * file:// URI (empty host or "localhost", percent-decoded); it is resolved with realpath (symbolic links
 * followed, '..' folded) and must then lie inside one of the serve --allow-root folders (also resolved at
 * start). Anything else is 400 INVALID_ARGUMENT naming the field, never the path.
 * [docs/decisions.md "Allowed roots"; test_server_ops.py "file URI outside the roots"] */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "http/router.h"
#include "http/server_internal.h"

/* The local path a reference names into out (cap bytes); -1 when it is not an absolute path or file URI. */
static int ref_path(const char *ref, char *out, size_t cap)
{
    const char *p = ref;
    int uri = 0;
    if (strncmp(p, "file://", 7) == 0) {
        p += 7;
        if (strncmp(p, "localhost/", 10) == 0)
            p += 9;
        uri = 1;
    }
    if (p[0] != '/')
        return -1;
    size_t w = 0;
    for (; *p; p++) {
        char c = *p;
        int decoded = 0;
        if (uri && c == '%') {
            int h = dvh_hex_digit(p[1]), l = h < 0 ? -1 : dvh_hex_digit(p[2]);
            if (l < 0)
                return -1;
            c = (char)(h * 16 + l);
            p += 2;
            decoded = 1;
        }
        if (uri && !decoded && (c == '?' || c == '#')) /* a query or fragment is not a file */
            return -1;
        if (c == '\0' || w + 1 >= cap)
            return -1;
        out[w++] = c;
    }
    out[w] = '\0';
    return 0;
}

int dvh_root_resolve(const dvh_server *s, const char *ref, const char *field, int want_dir, char **out, dvh_err *e)
{
    *out = NULL;
    char path[PATH_MAX];
    if (ref == NULL || ref_path(ref, path, sizeof path) != 0)
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: must be an absolute path or a file:// URI under an allowed root",
                        field);
    char *real = realpath(path, NULL);
    if (real == NULL)
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: no such %s under an allowed root", field,
                        want_dir ? "folder" : "file");
    int inside = 0;
    for (size_t i = 0; i < s->nroots && !inside; i++) {
        size_t n = strlen(s->roots[i]);
        if (strncmp(real, s->roots[i], n) == 0 && (real[n] == '/' || real[n] == '\0' || n == 1))
            inside = 1;
    }
    struct stat st;
    if (!inside) {
        free(real);
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: not under an allowed root (serve --allow-root)", field);
    }
    if (stat(real, &st) != 0 || (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))) {
        free(real);
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: must name a %s", field, want_dir ? "folder" : "regular file");
    }
    *out = real;
    return 0;
}
