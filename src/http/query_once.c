/* Each query parameter at most once (qido.h): the one rule for every route, checked by the server before any
 * handler reads a parameter (server.c first_call). Why: libmicrohttpd keeps every occurrence of a key, and
 * the handlers read them two ways, so a repeated key meant whatever the reader happened to do: the list
 * methods' loop kept the last (`pageSize=5&pageSize=500` paged by 500), a lookup (datasetId, dicomStoreId,
 * filter) the first, WADO rendered the last window=. Neither is what every client means, so the request is
 * refused: 400 INVALID_ARGUMENT naming the parameter, never a value.
 *
 * The exception is `includefield`, which PS3.18 (8.3.4.3) lets a QIDO client repeat, one attribute each.
 * [test_qido: test_repeated_params; test_server.py "repeated query parameter"; fuzz_qido; fuzz_wado_params] */
#include <string.h>

#include "http/qido.h"
#include "store/dvs_query.h"

/* Names a message may print: the parameters the server's methods read, the standard ones and the QIDO
 * attributes. Any other key is client text (it could be anything) and is named by its position instead. This
 * list is for messages only: a name missing here is still refused when repeated. */
static int printable_name(const char *k)
{
    static const char *const ours[] = {"pageSize", "pageToken",  "filter",   "datasetId", "dicomStoreId",
                                       "limit",    "offset",     "fuzzymatching", "includefield", "window",
                                       "viewport", "quality",    "annotation", "iccprofile", "operation",
                                       "instance"};
    for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
        if (strcmp(k, ours[i]) == 0)
            return 1;
    return dvh_param_is_standard(k) || dvs_attr_by_name(k) != NULL;
}

int dvh_query_once(const dvh_qparam *p, size_t n, dvh_err *e)
{
    /* n is capped by the caller (DVH_QUERY_PARAMS_MAX): the quadratic walk stays small. */
    for (size_t i = 1; i < n; i++) {
        if (strcmp(p[i].key, "includefield") == 0)
            continue;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(p[i].key, p[j].key) != 0)
                continue;
            if (printable_name(p[i].key))
                return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: given more than once", p[i].key);
            return dvh_fail(e, DVH_INVALID_ARGUMENT, "query parameter %zu: the name of parameter %zu again", i + 1,
                            j + 1);
        }
    }
    return 0;
}
