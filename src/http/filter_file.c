/* The filter-file parser (see filter_file.h). */
#include <stdlib.h>
#include <string.h>

#include "http/filter_file.h"

/* The next "/keyword/uid" of line[*pos..len) into out; 0, or -1 when it is not there. */
static int take(const char *line, size_t len, size_t *pos, const char *keyword, char out[DVH_UID_MAX + 1])
{
    size_t kl = strlen(keyword), p = *pos;
    if (len - p < kl + 2 || line[p] != '/' || memcmp(line + p + 1, keyword, kl) != 0 || line[p + 1 + kl] != '/')
        return -1;
    p += kl + 2;
    size_t start = p;
    while (p < len && line[p] != '/')
        p++;
    if (!dvh_uid_valid(line + start, p - start))
        return -1;
    memcpy(out, line + start, p - start);
    out[p - start] = '\0';
    *pos = p;
    return 0;
}

static int parse_line(const char *line, size_t len, dvh_filter_path *out)
{
    memset(out, 0, sizeof *out);
    size_t pos = 0;
    if (take(line, len, &pos, "studies", out->study))
        return -1;
    if (pos < len && take(line, len, &pos, "series", out->series))
        return -1;
    if (pos < len && take(line, len, &pos, "instances", out->instance))
        return -1;
    return pos == len ? 0 : -1;
}

int dvh_filter_parse(const char *text, size_t len, const char *field, dvh_filter_path **paths, size_t *n,
                     dvh_err *e)
{
    *paths = NULL;
    *n = 0;
    size_t cap = 0, lineno = 0, i = 0;
    while (i < len) {
        lineno++;
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t l = end - i;
        if (l && text[i + l - 1] == '\r') /* "\r\n" */
            l--;
        const char *line = text + i;
        i = end + 1;
        if (l == 0)
            continue;
        if (*n == DVH_FILTER_MAX_PATHS) {
            free(*paths);
            *paths = NULL;
            *n = 0;
            return dvh_fail(e, DVH_TOO_LARGE, "%s: more than %u resource paths", field, DVH_FILTER_MAX_PATHS);
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            dvh_filter_path *v = realloc(*paths, cap * sizeof *v);
            if (v == NULL) {
                free(*paths);
                *paths = NULL;
                *n = 0;
                return dvh_fail(e, DVH_INTERNAL, "out of memory");
            }
            *paths = v;
        }
        if (parse_line(line, l, &(*paths)[*n])) {
            free(*paths);
            *paths = NULL;
            *n = 0;
            return dvh_fail(e, DVH_INVALID_ARGUMENT,
                            "%s: line %zu: not a resource path /studies/{uid}[/series/{uid}[/instances/{uid}]]",
                            field, lineno);
        }
        (*n)++;
    }
    return 0;
}
