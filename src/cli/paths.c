/* Path helpers for the containment checks (DST not inside a SRC, no SRC inside DST, key and report not inside
 * DST). Those checks run before anything is created, so paths that do not exist yet must resolve too. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

char *dvc_path_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int slash = la > 0 && a[la - 1] != '/';
    char *p = malloc(la + (size_t)slash + lb + 1);
    if (!p)
        return NULL;
    memcpy(p, a, la);
    if (slash)
        p[la] = '/';
    memcpy(p + la + (size_t)slash, b, lb + 1);
    return p;
}

char *dvc_path_resolve(const char *path)
{
    if (!path || !*path) {
        errno = ENOENT;
        return NULL;
    }
    char *abs;
    if (path[0] == '/') {
        abs = strdup(path);
    } else {
        char *cwd = getcwd(NULL, 0);
        if (!cwd)
            return NULL;
        abs = dvc_path_join(cwd, path);
        free(cwd);
    }
    if (!abs)
        return NULL;

    /* Walk up until a prefix exists, collecting the missing components (last one first). */
    size_t max_comps = strlen(abs) / 2 + 1;
    char **comps = malloc(sizeof *comps * max_comps);
    size_t ncomps = 0;
    char *base = NULL, *out = NULL;
    if (!comps)
        goto done;
    while (!(base = realpath(abs, NULL))) {
        if (errno != ENOENT || strcmp(abs, "/") == 0 || ncomps == max_comps)
            goto done;
        size_t n = strlen(abs);
        while (n > 1 && abs[n - 1] == '/')
            n--;
        size_t end = n;
        while (n > 0 && abs[n - 1] != '/')
            n--;
        if (!(comps[ncomps] = strndup(abs + n, end - n)))
            goto done;
        ncomps++;
        while (n > 1 && abs[n - 1] == '/')
            n--;
        abs[n] = '\0'; /* n >= 1: abs is absolute */
    }

    /* Re-apply the missing components lexically: they do not exist, so none of them is a symlink. */
    size_t total = strlen(base) + 2;
    for (size_t i = 0; i < ncomps; i++)
        total += strlen(comps[i]) + 1;
    if (!(out = malloc(total)))
        goto done;
    strcpy(out, base);
    size_t olen = strlen(out);
    for (size_t i = ncomps; i-- > 0;) {
        const char *c = comps[i];
        if (c[0] == '\0' || strcmp(c, ".") == 0)
            continue;
        if (strcmp(c, "..") == 0) {
            while (olen > 1 && out[olen - 1] != '/')
                olen--;
            if (olen > 1)
                olen--;
            out[olen] = '\0';
            continue;
        }
        if (olen > 1)
            out[olen++] = '/';
        strcpy(out + olen, c);
        olen += strlen(c);
    }

done : {
    int e = out ? 0 : errno;
    for (size_t i = 0; i < ncomps; i++)
        free(comps[i]);
    free(comps);
    free(base);
    free(abs);
    if (!out)
        errno = e ? e : ENOMEM;
    return out;
}
}

int dvc_path_within(const char *inner, const char *outer)
{
    size_t lo = strlen(outer);
    if (lo == 1 && outer[0] == '/')
        return inner[0] == '/';
    return strncmp(inner, outer, lo) == 0 && (inner[lo] == '\0' || inner[lo] == '/');
}

int dvc_path_within_fs(const char *inner, const char *outer)
{
    struct stat o, st;
    if (stat(outer, &o) != 0 || !S_ISDIR(o.st_mode))
        return 0;
    char *cur = strdup(inner);
    if (cur == NULL)
        return 0;
    int within = 0;
    for (;;) {
        if (stat(cur, &st) == 0 && st.st_dev == o.st_dev && st.st_ino == o.st_ino) {
            within = 1;
            break;
        }
        char *slash = strrchr(cur, '/');
        if (slash == NULL || slash == cur)
            break; /* "/" itself: the string check (dvc_path_within) covers it */
        *slash = '\0';
    }
    free(cur);
    return within;
}

int dvc_mkdir_p(const char *path, mode_t mode)
{
    char *p = strdup(path);
    if (!p) {
        errno = ENOMEM;
        return -1;
    }
    size_t n = strlen(p);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char saved = p[i];
        p[i] = '\0';
        if (mkdir(p, mode) < 0 && errno != EEXIST) {
            int e = errno;
            free(p);
            errno = e;
            return -1;
        }
        p[i] = saved;
    }
    struct stat st;
    int r = stat(p, &st);
    if (r == 0 && !S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        r = -1;
    }
    int e = errno;
    free(p);
    errno = e;
    return r;
}
