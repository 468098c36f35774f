/* QIDO-RS (PS3.18 10.6): parse the query (qido.c), ask the index, answer application/dicom+json built by
 * the JSON model writer (dicom_json.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/dicom_json.h"
#include "http/qido.h"
#include "http/server_internal.h"

#define PARAMS_MAX 80

typedef struct search_ctx {
    const dvs_query *q;
    json_t *out;
    uint32_t want, rows; /* the page's size (the query asks one more row, to know whether more follow) */
    int more;
    char base[1500]; /* .../dicomWeb */
} search_ctx;

static int included(const dvs_query *q, const dvs_attr *a)
{
    /* The default return set is every attribute the index keeps at the answer's level and above; the
     * index keeps nothing else, so includefield can add nothing beyond it (docs/decisions.md "QIDO"). */
    (void)q;
    (void)a;
    return 1;
}

static int on_row(const dvs_row *row, void *user)
{
    search_ctx *c = user;
    const dvs_query *q = c->q;
    if (c->rows++ == c->want) { /* the row past the page: it exists, that is all the answer needs to know */
        c->more = 1;
        return 0;
    }
    json_t *o = json_object();
    if (o == NULL)
        return 1;
    /* Every text value in the index is UTF-8. */
    dvh_json_put_text(o, 0x00080005, "CS", "ISO_IR 192");
    for (size_t i = 0; i < dvs_nattrs; i++) {
        const dvs_attr *a = &dvs_attrs[i];
        if (a->level > q->level || !included(q, a))
            continue;
        if (a->column)
            dvh_json_put_text(o, a->tag, a->vr, row->attr[i]);
    }
    /* InstanceAvailability (0008,0056), "shall be present if known" at the study and instance levels (PS3.18
     * Tables 10.6.3-3 and 10.6.3-5): a store answers only for what it holds on its own disk, so ONLINE. */
    if (q->level != DVS_SERIES)
        dvh_json_put_text(o, 0x00080056, "CS", "ONLINE");
    char n[24];
    if (q->level == DVS_STUDY) {
        dvh_json_put_text(o, 0x00080061, "CS", row->modalities);
        snprintf(n, sizeof n, "%llu", (unsigned long long)row->nseries);
        dvh_json_put_text(o, 0x00201206, "IS", n);
        snprintf(n, sizeof n, "%llu", (unsigned long long)row->ninstances);
        dvh_json_put_text(o, 0x00201208, "IS", n);
    } else if (q->level == DVS_SERIES) {
        snprintf(n, sizeof n, "%llu", (unsigned long long)row->ninstances);
        dvh_json_put_text(o, 0x00201209, "IS", n);
    }
    /* RetrieveURL (0008,1190) of the row's resource. */
    size_t st = 0, se = 0, sop = 0;
    for (size_t i = 0; i < dvs_nattrs; i++) {
        if (dvs_attrs[i].tag == 0x0020000D)
            st = i;
        else if (dvs_attrs[i].tag == 0x0020000E)
            se = i;
        else if (dvs_attrs[i].tag == 0x00080018)
            sop = i;
    }
    char url[1800];
    if (q->level == DVS_STUDY)
        snprintf(url, sizeof url, "%s/studies/%s", c->base, row->attr[st] ? row->attr[st] : "");
    else if (q->level == DVS_SERIES)
        snprintf(url, sizeof url, "%s/studies/%s/series/%s", c->base, row->attr[st] ? row->attr[st] : "",
                 row->attr[se] ? row->attr[se] : "");
    else
        snprintf(url, sizeof url, "%s/studies/%s/series/%s/instances/%s", c->base, row->attr[st] ? row->attr[st] : "",
                 row->attr[se] ? row->attr[se] : "", row->attr[sop] ? row->attr[sop] : "");
    dvh_json_put_text(o, 0x00081190, "UR", url);
    return json_array_append_new(c->out, o) != 0;
}

int dvh_handle_search(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e)
{
    dvh_server *s = rq->srv;
    const dvh_web *w = &rq->route.web;
    if (dvh_want_dicom_json(rq, "search results", e))
        return -1;
    dvh_qparam p[PARAMS_MAX];
    size_t n = dvh_query_params(rq, p, PARAMS_MAX);
    if (n == PARAMS_MAX)
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "too many query parameters");
    dvs_query *q = malloc(sizeof *q);
    if (q == NULL)
        return dvh_fail(e, DVH_INTERNAL, "out of memory");
    dvs_level level = w->collection == DVH_LEVEL_STUDY ? DVS_STUDY
                      : w->collection == DVH_LEVEL_SERIES ? DVS_SERIES : DVS_INSTANCE;
    if (dvh_qido_parse(level, w->study, w->series, p, n, q, e)) {
        free(q);
        return -1;
    }
    search_ctx c = {.q = q, .out = json_array(), .want = q->limit};
    q->limit = q->limit + 1; /* at most DVH_QIDO_LIMIT_MAX_INSTANCE + 1: no overflow */
    char origin[600], store[1200];
    dvh_api_root(rq, origin, sizeof origin);
    dvh_store_name(&rq->route, store, sizeof store);
    snprintf(c.base, sizeof c.base, "%s/%s/dicomWeb", origin, store);
    dv_error err = {0};
    int rc = c.out ? s->ix->ops->query(s->ix, rq->store.id, q, on_row, &c, &err) : -1;
    free(q);
    if (rc != DVS_OK) {
        json_decref(c.out);
        return dvh_fail(e, DVH_INTERNAL, "search failed: %s", err.message[0] ? err.message : "out of memory");
    }
    char *body = json_dumps(c.out, JSON_COMPACT);
    json_decref(c.out);
    if (body == NULL)
        return dvh_fail(e, DVH_INTERNAL, "out of memory");
    *status = 200;
    *resp = dvh_response_bytes("application/dicom+json", body, strlen(body));
    /* PS3.18 8.3.4.4.1: a page that leaves matches behind says so, or a client reading one answer takes the
     * first 100 for all of them (stop 45's DICOMweb audit). Counting the rest would cost a walk of every match. */
    if (*resp && c.more &&
        MHD_add_response_header(*resp, "Warning",
                                "299 dicomveil: \"There are additional results that can be requested\"") != MHD_YES)
        return dvh_fail(e, DVH_INTERNAL, "out of memory");
    return 0;
}
