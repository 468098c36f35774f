/* Allowed roots: the only local files a client may name (gcsConfigUri, filterConfig.resourcePathsGcsUri,
 * :import's gcsSource.uri, :export's gcsDestination.uriPrefix). A reference is an absolute path or a
 * file:// URI (empty host or "localhost", percent-decoded). It is first normalised lexically ('.' and '..'
 * folded, no file-system call) and must lie inside a root as given or as resolved at start; only then is it
 * resolved with realpath (symbolic links followed), and the real path must lie inside a resolved root too.
 * A path outside every root, an absent one and one of the wrong type get the same 400 INVALID_ARGUMENT, naming
 * the field, never the path: a client cannot learn whether a file exists outside the roots (nothing there is
 * even looked up), nor inside them short of naming a file that is then read (red team round 4, finding 04).
 * [docs/decisions.md "Allowed roots", "One answer for a file URI that names nothing usable"; test_server_ops.py
 * "refused", "one answer for absent"] */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* abs (an absolute path) with '.', '..' and repeated '/' folded lexically into out (cap bytes): "/a/./b/../c"
 * is "/a/c", ".." at the top stays "/". -1 when it does not fit. No file-system call: a link is a name here. */
static int lexical_path(const char *abs, char *out, size_t cap)
{
    size_t w = 0;
    if (cap < 2 || abs[0] != '/')
        return -1;
    out[w++] = '/';
    for (const char *p = abs; *p;) {
        while (*p == '/')
            p++;
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 1 && p[0] == '.')) {
            /* nothing, or "." */
        } else if (n == 2 && p[0] == '.' && p[1] == '.') {
            while (w > 1 && out[w - 1] != '/')
                w--;
            if (w > 1)
                w--; /* the '/' before the dropped name */
        } else {
            if (w + (w > 1) + n + 1 > cap)
                return -1;
            if (w > 1)
                out[w++] = '/';
            memcpy(out + w, p, n);
            w += n;
        }
        p += n;
    }
    out[w] = '\0';
    return 0;
}

/* 1 when path is root or lies under it (both normalised absolute paths). */
static int path_under(const char *path, const char *root)
{
    size_t n = strlen(root);
    return strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == '\0' || n == 1);
}

int dvh_roots_append(dvh_server *s, const char *real, const char *given)
{
    char abs[PATH_MAX], lex[PATH_MAX];
    if (given == NULL)
        given = real;
    if (given[0] == '/') {
        if (strlen(given) >= sizeof abs)
            return -1;
        memcpy(abs, given, strlen(given) + 1);
    } else { /* a relative --allow-root: as the process saw it at start */
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof cwd) == NULL || snprintf(abs, sizeof abs, "%s/%s", cwd, given) >= (int)sizeof abs)
            return -1;
    }
    if (lexical_path(abs, lex, sizeof lex) != 0)
        return -1;
    char **r = realloc(s->roots, (s->nroots + 1) * sizeof *r);
    if (r != NULL)
        s->roots = r;
    char **l = r ? realloc(s->roots_lex, (s->nroots + 1) * sizeof *l) : NULL;
    if (l != NULL)
        s->roots_lex = l;
    char *rc = l ? strdup(real) : NULL, *lc = rc ? strdup(lex) : NULL;
    if (lc == NULL) {
        free(rc);
        return -1;
    }
    s->roots[s->nroots] = rc;
    s->roots_lex[s->nroots] = lc;
    s->nroots++;
    return 0;
}

/* The one answer for a reference that names no usable file or folder under a root: outside every root, absent,
 * a link out, or of the wrong type. */
static int nowhere(const char *field, int want_dir, dvh_err *e)
{
    return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: no such %s under an allowed root (serve --allow-root)", field,
                    want_dir ? "folder" : "file");
}

int dvh_root_resolve(const dvh_server *s, const char *ref, const char *field, int want_dir, char **out, dvh_err *e)
{
    *out = NULL;
    char path[PATH_MAX], lex[PATH_MAX];
    if (ref == NULL || ref_path(ref, path, sizeof path) != 0)
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: must be an absolute path or a file:// URI under an allowed root",
                        field);
    /* Lexically first: a path outside every root is refused before anything of it is looked up. */
    int inside = 0;
    if (lexical_path(path, lex, sizeof lex) == 0)
        for (size_t i = 0; i < s->nroots && !inside; i++)
            inside = path_under(lex, s->roots_lex[i]) || path_under(lex, s->roots[i]);
    if (!inside)
        return nowhere(field, want_dir, e);
    char *real = realpath(lex, NULL);
    inside = 0;
    for (size_t i = 0; real != NULL && i < s->nroots && !inside; i++)
        inside = path_under(real, s->roots[i]); /* a link inside a root may point out of it */
    struct stat st;
    if (!inside || stat(real, &st) != 0 || (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))) {
        free(real);
        return nowhere(field, want_dir, e);
    }
    *out = real;
    return 0;
}
