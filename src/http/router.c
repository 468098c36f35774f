/* The resource-name router (see router.h). */
#include "http/router.h"

#include <stdlib.h>
#include <string.h>

#include "dicom/dv_uid_syntax.h"

/* A UID that passes dvh_uid_valid is copied into DVH_UID_MAX + 1 bytes (dvh_route, dvh_filter_path). */
_Static_assert(DVH_UID_MAX == DV_UID_SYNTAX_MAX, "a routed UID must fit its buffer");

dvh_method dvh_method_parse(const char *m)
{
    static const struct {
        const char *s;
        dvh_method m;
    } t[] = {{"GET", DVH_GET},     {"POST", DVH_POST},   {"DELETE", DVH_DELETE},
             {"PUT", DVH_PUT},     {"PATCH", DVH_PATCH}, {"HEAD", DVH_HEAD}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(m, t[i].s) == 0)
            return t[i].m;
    return DVH_OTHER;
}

int dvh_id_valid(const char *s, size_t n)
{
    if (n == 0 || n > DVH_ID_MAX)
        return 0;
    /* "." and ".." are dot-segments: refused although the pattern's character class admits them, so no ID
     * can ever read as a path step. [test_router: test_traversal_refused] */
    if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

int dvh_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int dvh_path_spelled_plainly(const char *raw, size_t n)
{
    for (size_t i = 0; i + 2 < n; i++) {
        int hi, lo;
        if (raw[i] != '%' || (hi = dvh_hex_digit(raw[i + 1])) < 0 || (lo = dvh_hex_digit(raw[i + 2])) < 0)
            continue;
        char c = (char)(hi << 4 | lo);
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
            c == '_' || c == '~' || c == '/')
            return 0;
    }
    return 1;
}

int dvh_op_id_parse(const char *s, int64_t *id)
{
    size_t n = strlen(s);
    if (n == 0 || n > 18 || strspn(s, "0123456789") != n || s[0] == '0')
        return -1;
    *id = (int64_t)strtoll(s, NULL, 10);
    return 0;
}

int dvh_uid_valid(const char *s, size_t n)
{
    /* A leading zero is tolerated: it holds only digits, and a store must still answer for an instance whose
     * UIDs a keepTag kept as they came (the syntax itself has one home, dicom/dv_uid_syntax.h). */
    return dv_uid_form_of(s, n) != DV_UID_NOT_UID;
}

typedef struct seg {
    const char *p;
    size_t n;
} seg;

#define MAX_SEGS 24

static int seg_is(const seg *s, const char *lit)
{
    size_t n = strlen(lit);
    return s->n == n && memcmp(s->p, lit, n) == 0;
}

static int copy_id(char *dst, const seg *s, const char *field, dvh_err *e)
{
    if (!dvh_id_valid(s->p, s->n))
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: must be 1-%d characters of [A-Za-z0-9_.-], not '.' or '..'",
                        field, DVH_ID_MAX);
    memcpy(dst, s->p, s->n);
    dst[s->n] = '\0';
    return 0;
}

static int copy_uid(char *dst, const seg *s, const char *field, dvh_err *e)
{
    if (!dvh_uid_valid(s->p, s->n))
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: not a valid UID (1-%d digits and dots)", field, DVH_UID_MAX);
    memcpy(dst, s->p, s->n);
    dst[s->n] = '\0';
    return 0;
}

/* Split a last segment "id:verb" at its first ':'. */
static void split_verb(const seg *s, seg *id, seg *verb)
{
    const char *c = memchr(s->p, ':', s->n);
    id->p = s->p;
    id->n = c ? (size_t)(c - s->p) : s->n;
    verb->p = c ? c + 1 : s->p + s->n;
    verb->n = c ? s->n - id->n - 1 : 0;
}

static int not_found(dvh_err *e)
{
    return dvh_fail(e, DVH_NOT_FOUND, "no such resource path");
}

/* The tag path of a bulkdata URI (dicom_json.c writes it): TAG[/INDEX/TAG]..., TAG 8 hex digits, INDEX
 * decimal (at most 6 digits). [test_router: test_bulkdata_paths] */
static int route_bulk(const seg *b, size_t n, dvh_web *web, dvh_err *e)
{
    size_t w = 0;
    if (n % 2 == 0)
        return not_found(e);
    for (size_t k = 0; k < n; k++) {
        int tag = k % 2 == 0;
        size_t len = b[k].n;
        int ok = tag ? len == 8 : (len >= 1 && len <= 6);
        for (size_t i = 0; ok && i < len; i++) {
            char c = b[k].p[i];
            ok = (c >= '0' && c <= '9') || (tag && ((c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f')));
        }
        if (!ok)
            return dvh_fail(e, DVH_INVALID_ARGUMENT, "bulkdata path: tags of 8 hex digits and item numbers");
        if (w + len + 2 > sizeof web->bulk)
            return dvh_fail(e, DVH_INVALID_ARGUMENT, "bulkdata path longer than %zu bytes", sizeof web->bulk - 1);
        if (k)
            web->bulk[w++] = '/';
        memcpy(web->bulk + w, b[k].p, len);
        w += len;
    }
    web->bulk[w] = '\0';
    web->tail = DVH_TAIL_BULKDATA;
    return 0;
}

static int route_web(const seg *w, size_t n, dvh_route *r, dvh_err *e)
{
    dvh_web *web = &r->web;
    r->kind = DVH_R_DICOMWEB;
    if (n == 0)
        return not_found(e);
    if (seg_is(&w[0], "series") || seg_is(&w[0], "instances")) {
        if (n != 1)
            return not_found(e);
        web->collection = seg_is(&w[0], "series") ? DVH_LEVEL_SERIES : DVH_LEVEL_INSTANCE;
        r->allow = DVH_GET;
        return 0;
    }
    if (!seg_is(&w[0], "studies"))
        return not_found(e);
    if (n == 1) {
        web->collection = DVH_LEVEL_STUDY;
        r->allow = DVH_GET | DVH_POST;
        return 0;
    }
    if (copy_uid(web->study, &w[1], "StudyInstanceUID", e))
        return -1;
    if (n == 2) {
        r->allow = DVH_GET | DVH_POST | DVH_DELETE;
        return 0;
    }
    if (seg_is(&w[2], "metadata") && n == 3) {
        web->tail = DVH_TAIL_METADATA;
        r->allow = DVH_GET;
        return 0;
    }
    if (seg_is(&w[2], "instances") && n == 3) {
        web->collection = DVH_LEVEL_INSTANCE;
        r->allow = DVH_GET;
        return 0;
    }
    if (!seg_is(&w[2], "series"))
        return not_found(e);
    if (n == 3) {
        web->collection = DVH_LEVEL_SERIES;
        r->allow = DVH_GET;
        return 0;
    }
    if (copy_uid(web->series, &w[3], "SeriesInstanceUID", e))
        return -1;
    if (n == 4) {
        r->allow = DVH_GET | DVH_DELETE;
        return 0;
    }
    if (n == 5 && seg_is(&w[4], "metadata")) {
        web->tail = DVH_TAIL_METADATA;
        r->allow = DVH_GET;
        return 0;
    }
    if (!seg_is(&w[4], "instances"))
        return not_found(e);
    if (n == 5) {
        web->collection = DVH_LEVEL_INSTANCE;
        r->allow = DVH_GET;
        return 0;
    }
    if (copy_uid(web->instance, &w[5], "SOPInstanceUID", e))
        return -1;
    r->allow = DVH_GET;
    if (n == 6) {
        r->allow = DVH_GET | DVH_DELETE;
        return 0;
    }
    if (n == 7 && seg_is(&w[6], "metadata")) {
        web->tail = DVH_TAIL_METADATA;
        return 0;
    }
    if (n == 7 && seg_is(&w[6], "rendered")) {
        web->tail = DVH_TAIL_RENDERED;
        return 0;
    }
    if (n >= 8 && seg_is(&w[6], "bulkdata"))
        return route_bulk(w + 7, n - 7, web, e);
    if (!seg_is(&w[6], "frames") || n < 8 || n > 9)
        return not_found(e);
    if (n == 9 && !seg_is(&w[8], "rendered"))
        return not_found(e);
    if (w[7].n == 0 || w[7].n >= sizeof web->frames)
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "frame list: 1-%zu characters", sizeof web->frames - 1);
    for (size_t i = 0; i < w[7].n; i++) {
        char c = w[7].p[i];
        if (!((c >= '0' && c <= '9') || c == ','))
            return dvh_fail(e, DVH_INVALID_ARGUMENT, "frame list: digits and commas only");
    }
    memcpy(web->frames, w[7].p, w[7].n);
    web->frames[w[7].n] = '\0';
    web->tail = n == 9 ? DVH_TAIL_FRAMES_RENDERED : DVH_TAIL_FRAMES;
    return 0;
}

/* Route name by kind and method: a fixed string (logs carry this, never the path). */
static const char *route_name(const dvh_route *r, dvh_method m)
{
    switch (r->kind) {
    case DVH_R_DATASETS: return m == DVH_POST ? "datasets.create" : "datasets.list";
    case DVH_R_DATASET: return m == DVH_DELETE ? "datasets.delete" : "datasets.get";
    case DVH_R_DATASET_DEIDENTIFY: return "datasets.deidentify";
    case DVH_R_OPERATIONS: return "operations.list";
    case DVH_R_OPERATION: return "operations.get";
    case DVH_R_OPERATION_CANCEL: return "operations.cancel";
    case DVH_R_OPERATION_ERRORS: return "operations.errors";
    case DVH_R_STORES: return m == DVH_POST ? "dicomStores.create" : "dicomStores.list";
    case DVH_R_STORE: return m == DVH_DELETE ? "dicomStores.delete" : "dicomStores.get";
    case DVH_R_STORE_METRICS: return "dicomStores.getDICOMStoreMetrics";
    case DVH_R_STORE_DEIDENTIFY: return "dicomStores.deidentify";
    case DVH_R_STORE_IMPORT: return "dicomStores.import";
    case DVH_R_STORE_EXPORT: return "dicomStores.export";
    case DVH_R_DICOMWEB: break;
    }
    const dvh_web *w = &r->web;
    if (w->collection == DVH_LEVEL_STUDY)
        return m == DVH_POST ? "dicomWeb.storeInstances" : "dicomWeb.searchForStudies";
    if (w->collection == DVH_LEVEL_SERIES)
        return "dicomWeb.searchForSeries";
    if (w->collection == DVH_LEVEL_INSTANCE)
        return "dicomWeb.searchForInstances";
    switch (w->tail) {
    case DVH_TAIL_METADATA: return "dicomWeb.retrieveMetadata";
    case DVH_TAIL_RENDERED:
    case DVH_TAIL_FRAMES_RENDERED: return "dicomWeb.retrieveRendered";
    case DVH_TAIL_FRAMES: return "dicomWeb.retrieveFrames";
    case DVH_TAIL_BULKDATA: return "dicomWeb.retrieveBulkdata";
    case DVH_TAIL_NONE: break;
    }
    if (m == DVH_DELETE)
        return "dicomWeb.delete";
    if (m == DVH_POST)
        return "dicomWeb.storeInstances";
    return w->instance[0] ? "dicomWeb.retrieveInstance" : w->series[0] ? "dicomWeb.retrieveSeries"
                                                                       : "dicomWeb.retrieveStudy";
}

static int route_verb(const seg *verb, dvh_route *r, dvh_err *e)
{
    static const struct {
        dvh_route_kind from;
        const char *verb;
        dvh_route_kind to;
        unsigned allow;
    } verbs[] = {
        {DVH_R_DATASET, "deidentify", DVH_R_DATASET_DEIDENTIFY, DVH_POST},
        {DVH_R_OPERATION, "cancel", DVH_R_OPERATION_CANCEL, DVH_POST},
        {DVH_R_STORE, "getDICOMStoreMetrics", DVH_R_STORE_METRICS, DVH_GET},
        {DVH_R_STORE, "deidentify", DVH_R_STORE_DEIDENTIFY, DVH_POST},
        {DVH_R_STORE, "import", DVH_R_STORE_IMPORT, DVH_POST},
        {DVH_R_STORE, "export", DVH_R_STORE_EXPORT, DVH_POST},
    };
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        if (verbs[i].from == r->kind && seg_is(verb, verbs[i].verb)) {
            r->kind = verbs[i].to;
            r->allow = verbs[i].allow;
            return 0;
        }
    }
    return not_found(e);
}

static int route_parse(const char *path, size_t len, dvh_route *r, dvh_err *e)
{
    memset(r, 0, sizeof *r);
    if (len > DVH_PATH_MAX)
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "path longer than %d bytes", DVH_PATH_MAX);
    if (memchr(path, '\0', len) != NULL)
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "path holds a NUL byte");
    seg s[MAX_SEGS];
    size_t n = 0;
    if (len == 0 || path[0] != '/')
        return not_found(e);
    size_t i = 1;
    for (;;) {
        size_t j = i;
        while (j < len && path[j] != '/')
            j++;
        if (n == MAX_SEGS)
            return not_found(e);
        s[n].p = path + i;
        s[n].n = j - i;
        n++;
        if (j >= len)
            break;
        i = j + 1;
    }
    for (size_t k = 0; k < n; k++) {
        if (s[k].n == 0)
            return not_found(e); /* "//" or a trailing '/' */
        /* A dot-segment anywhere (also one a client encoded as %2E%2E or behind %2F) is a traversal attempt:
         * refused as a bad argument wherever it stands. [test_router: test_traversal_refused] */
        if ((s[k].n == 1 && s[k].p[0] == '.') || (s[k].n == 2 && s[k].p[0] == '.' && s[k].p[1] == '.'))
            return dvh_fail(e, DVH_INVALID_ARGUMENT, "path holds a '.' or '..' segment");
    }
    /* Version prefix: v1beta1 (the discovery document we follow) or v1 (same paths for these methods). */
    if (n < 6 || !(seg_is(&s[0], "v1beta1") || seg_is(&s[0], "v1")) || !seg_is(&s[1], "projects") ||
        !seg_is(&s[3], "locations"))
        return not_found(e);
    r->version = seg_is(&s[0], "v1") ? "v1" : "v1beta1";
    /* A ':' belongs only to the last segment's custom method. */
    for (size_t k = 0; k + 1 < n; k++)
        if (memchr(s[k].p, ':', s[k].n) != NULL)
            return not_found(e);
    seg id, verb;
    const seg *last = &s[n - 1];
    split_verb(last, &id, &verb);
    int has_verb = verb.p != last->p + last->n;
    if (copy_id(r->project, &s[2], "project", e) || copy_id(r->location, &s[4], "location", e))
        return -1;
    if (!(n >= 6 && seg_is(n == 6 ? &id : &s[5], "datasets")) || (n == 6 && has_verb))
        return not_found(e);
    if (n == 6) {
        r->kind = DVH_R_DATASETS;
        r->allow = DVH_GET | DVH_POST;
        return 0;
    }
    if (copy_id(r->dataset, n == 7 ? &id : &s[6], "datasetId", e))
        return -1;
    if (n == 7) {
        r->kind = DVH_R_DATASET;
        r->allow = DVH_GET | DVH_DELETE;
        return has_verb ? route_verb(&verb, r, e) : 0;
    }
    const seg *coll = n == 8 ? &id : &s[7];
    if (seg_is(coll, "operations")) {
        if (n == 8) {
            if (has_verb)
                return not_found(e);
            r->kind = DVH_R_OPERATIONS;
            r->allow = DVH_GET;
            return 0;
        }
        /* .../operations/{o}/errors: the operation's error log (our own; its logsUrl). */
        if (n == 10 && !has_verb && seg_is(&s[9], "errors")) {
            if (copy_id(r->operation, &s[8], "operationId", e))
                return -1;
            r->kind = DVH_R_OPERATION_ERRORS;
            r->allow = DVH_GET;
            return 0;
        }
        if (n != 9 || copy_id(r->operation, &id, "operationId", e))
            return n != 9 ? not_found(e) : -1;
        r->kind = DVH_R_OPERATION;
        r->allow = DVH_GET;
        return has_verb ? route_verb(&verb, r, e) : 0;
    }
    if (!seg_is(coll, "dicomStores"))
        return not_found(e);
    if (n == 8) {
        if (has_verb)
            return not_found(e);
        r->kind = DVH_R_STORES;
        r->allow = DVH_GET | DVH_POST;
        return 0;
    }
    if (copy_id(r->store, n == 9 ? &id : &s[8], "dicomStoreId", e))
        return -1;
    if (n == 9) {
        r->kind = DVH_R_STORE;
        r->allow = DVH_GET | DVH_DELETE;
        return has_verb ? route_verb(&verb, r, e) : 0;
    }
    if (has_verb || !seg_is(&s[9], "dicomWeb"))
        return not_found(e);
    return route_web(s + 10, n - 10, r, e);
}

int dvh_route_match(dvh_method method, const char *path, size_t len, dvh_route *r, dvh_err *e)
{
    if (route_parse(path, len, r, e))
        return -1;
    /* HEAD is served as GET without a body by the HTTP library. */
    dvh_method m = method == DVH_HEAD ? DVH_GET : method;
    r->name = route_name(r, m);
    if ((r->allow & m) == 0)
        return dvh_fail(e, DVH_METHOD, "method not allowed on %s", r->name);
    return 0;
}
