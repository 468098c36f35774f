/* The list methods' paging (datasets.list, dicomStores.list, operations.list, the operation error log):
 * pageSize (0 or absent: 100, capped at 1000), pageToken (the opaque token this server issued: the last row
 * id or seq of the previous page), and the page object with its nextPageToken. Why a file: every list method
 * pages the same way (gcp-api.md 9: "pageSize default 100, max 1000"), so the rule has one home.
 * [test_server.py "pageSize"; test_server_ops.py "operations.list"] */
#include <stdio.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "http/qido.h"
#include "http/server_internal.h"

#define PAGE_DEFAULT 100u
#define PAGE_MAX 1000u
#define PARAMS_MAX 64

int dvh_parse_paging(dvh_request *rq, dvh_paging *pg, const char *const *extra, dvh_err *e)
{
    dvh_qparam p[PARAMS_MAX];
    size_t n = dvh_query_params(rq, p, PARAMS_MAX);
    if (n == PARAMS_MAX)
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "too many query parameters");
    pg->size = PAGE_DEFAULT;
    pg->after = 0;
    for (size_t i = 0; i < n; i++) {
        const char *k = p[i].key, *v = p[i].value;
        char *end;
        if (strcmp(k, "pageSize") == 0) {
            errno = 0;
            long long x = strtoll(v, &end, 10);
            if (v[0] == '\0' || *end || x < 0 || (errno == ERANGE && x != LLONG_MAX))
                return dvh_fail(e, DVH_INVALID_ARGUMENT, "pageSize: must be a whole number");
            pg->size = x == 0 ? PAGE_DEFAULT : x > PAGE_MAX ? PAGE_MAX : (uint32_t)x;
        } else if (strcmp(k, "pageToken") == 0) {
            if (v[0] == '\0')
                continue;
            errno = 0; /* a token past the range saturated to the last id: a page after everything */
            long long x = strtoll(v, &end, 10);
            if (*end || x < 0 || errno == ERANGE || !(v[0] >= '0' && v[0] <= '9'))
                return dvh_fail(e, DVH_INVALID_ARGUMENT, "pageToken: not a token this server issued");
            pg->after = x;
        } else if (!dvh_param_is_standard(k)) {
            int ok = 0;
            for (const char *const *x = extra; x && *x; x++)
                if (strcmp(k, *x) == 0)
                    ok = 1;
            if (!ok)
                return dvh_fail(e, DVH_INVALID_ARGUMENT, "query parameter %zu: not a parameter of this method", i + 1);
        }
    }
    return 0;
}

json_t *dvh_page_json(const char *field, json_t *items, int64_t next)
{
    json_t *o = json_pack("{s:o}", field, items);
    if (o && next) {
        char tok[24];
        snprintf(tok, sizeof tok, "%lld", (long long)next);
        json_object_set_new(o, "nextPageToken", json_string(tok));
    }
    return o;
}
