/* Choosing the index backend from `serve --index` (see dvs_index.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/dvs_index.h"

dvs_index *dvs_index_open(const char *url, const char *data_dir, dv_error *err)
{
    if (url && url[0]) {
        if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)
            return dvs_pg_open(url, err);
        /* The URL is not echoed: it may carry a password. */
        dv_fail(err, DV_ERR_USAGE, "--index: expected a postgresql:// URL");
        return NULL;
    }
    size_t dl = strlen(data_dir) + sizeof "/index.sqlite";
    char *path = malloc(dl);
    if (path == NULL) {
        dv_fail(err, DV_ERR_NOMEM, "index: out of memory");
        return NULL;
    }
    snprintf(path, dl, "%s/index.sqlite", data_dir);
    dvs_index *ix = dvs_sqlite_open(path, err);
    free(path);
    return ix;
}
