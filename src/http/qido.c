/* QIDO-RS query parser (see qido.h). */
#include "http/qido.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dict/dv_dict.h"
#include "http/router.h"
#include "text/checksums.h"
#include "util/dv_utf8.h"

int dvh_param_is_standard(const char *key)
{
    static const char *const std[] = {"alt",         "prettyPrint", "fields",     "$.xgafv",
                                      "key",         "quotaUser",   "access_token", "callback",
                                      "uploadType",  "upload_protocol"};
    for (size_t i = 0; i < sizeof std / sizeof std[0]; i++)
        if (strcmp(key, std[i]) == 0)
            return 1;
    return 0;
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int two(const char *s)
{
    return (s[0] - '0') * 10 + (s[1] - '0');
}

/* A DA value (YYYYMMDD, a real date), a TM value (HH[MM[SS[.F{1,6}]]], 00-23, 00-59, 00-60) or a DT prefix of
 * digits: the forms a range end may take. Checked so that a range compares as strings in the index (same
 * length classes). */
static int temporal_ok(const char *vr, const char *s)
{
    size_t n = strlen(s);
    if (strcmp(vr, "DA") == 0)
        /* a real calendar date (the text detectors' rule, dv_date_ok): 20201301, 20200230 and 20210229 are no
         * dates, and matching them would answer an empty list where the client made a typo */
        return n == 8 && all_digits(s, 8) && dv_date_ok(two(s) * 100 + two(s + 2), two(s + 4), two(s + 6));
    if (strcmp(vr, "TM") == 0) {
        const char *dot = strchr(s, '.');
        size_t head = dot ? (size_t)(dot - s) : n;
        if (!(head == 2 || head == 4 || head == 6) || !all_digits(s, head))
            return 0;
        if (two(s) > 23 || (head >= 4 && two(s + 2) > 59) || (head == 6 && two(s + 4) > 60))
            return 0;
        if (dot) {
            size_t f = n - head - 1;
            return head == 6 && f >= 1 && f <= 6 && all_digits(dot + 1, f);
        }
        return 1;
    }
    return n >= 4 && n <= 26 && strspn(s, "0123456789.+-") == n;
}

/* lo <= hi (PS3.4 C.2.2.2.5). A TM end may be shorter than the other: lo is read as its earliest moment and hi
 * as its latest, so "1230-12" (12:30 to 12:59:59) stands and "1300-1200" does not. */
static int range_ordered(const char *vr, const char *lo, const char *hi)
{
    if (strcmp(vr, "TM") != 0)
        return strcmp(lo, hi) <= 0;
    char l[7] = "000000", h[7] = "999999";
    memcpy(l, lo, strcspn(lo, ".") < 6 ? strcspn(lo, ".") : 6);
    memcpy(h, hi, strcspn(hi, ".") < 6 ? strcspn(hi, ".") : 6);
    return strcmp(l, h) <= 0;
}

static int parse_match(const dvs_attr *a, const char *key, const char *v, dvs_match *m, dvh_err *e)
{
    memset(m, 0, sizeof *m);
    m->attr = a;
    size_t n = strlen(v);
    /* A value of only '*' is universal matching too (PS3.4 C.2.2.2.4), whatever the VR: as a pattern it left
     * out every row whose attribute is empty or absent (the index keeps those as NULL, which no pattern
     * matches). [test_qido: test_star_is_universal] */
    if (strspn(v, "*") == n) {
        m->kind = DVS_MATCH_UNIVERSAL;
        return 0;
    }
    if (n > DVS_VALUE_MAX)
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: value longer than %d bytes", key, DVS_VALUE_MAX);
    /* Query values are UTF-8 (PS3.18 8.3.4.1); the index holds UTF-8 (decoded from each instance's character set
     * when stored), and PostgreSQL refuses other bytes (SQLSTATE 22021: a 500) where SQLite matched nothing: one
     * answer on both backends. [test_server.py "not UTF-8"] */
    if (!dv_utf8_valid((const uint8_t *)v, n))
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: value is not UTF-8", key);
    if (a->computed && a->tag != 0x00080061)
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: not a matching key", key);
    if (strcmp(a->vr, "UI") == 0) {
        /* UID list matching: comma-separated in QIDO (PS3.18 8.3.4.1), backslash as in DIMSE also accepted. */
        m->kind = DVS_MATCH_LIST;
        const char *p = v;
        for (;;) {
            size_t k = strcspn(p, ",\\");
            if (!dvh_uid_valid(p, k))
                return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: not a UID or UID list", key);
            if (m->nlist == DVS_LIST_MAX)
                return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: more than %d UIDs", key, DVS_LIST_MAX);
            memcpy(m->list[m->nlist], p, k);
            m->list[m->nlist][k] = '\0';
            m->nlist++;
            if (p[k] == '\0')
                break;
            p += k + 1;
        }
        if (m->nlist == 1) {
            m->kind = DVS_MATCH_SINGLE;
            strcpy(m->value, m->list[0]);
        }
        return 0;
    }
    int temporal = strcmp(a->vr, "DA") == 0 || strcmp(a->vr, "TM") == 0 || strcmp(a->vr, "DT") == 0;
    const char *dash = temporal ? strchr(v, '-') : NULL;
    if (temporal && strcmp(a->vr, "DT") == 0)
        dash = NULL; /* DT carries '-' in its offset; ranges on DT are not supported by the index's keys */
    if (dash) {
        m->kind = DVS_MATCH_RANGE;
        size_t lo = (size_t)(dash - v);
        memcpy(m->value, v, lo);
        m->value[lo] = '\0';
        strcpy(m->hi, dash + 1);
        if ((lo == 0 && m->hi[0] == '\0') || (lo && !temporal_ok(a->vr, m->value)) ||
            (m->hi[0] && !temporal_ok(a->vr, m->hi)))
            return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: malformed %s range", key, a->vr);
        if (lo && m->hi[0] && !range_ordered(a->vr, m->value, m->hi))
            return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: %s range ends before it starts", key, a->vr);
        return 0;
    }
    if (strpbrk(v, "*?")) {
        if (temporal || strcmp(a->vr, "IS") == 0 || strcmp(a->vr, "US") == 0)
            return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: wildcards are not allowed for VR %s", key, a->vr);
        m->kind = DVS_MATCH_WILDCARD;
    } else {
        m->kind = DVS_MATCH_SINGLE;
        if (temporal && !temporal_ok(a->vr, v))
            return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: malformed %s value", key, a->vr);
        if ((strcmp(a->vr, "IS") == 0 || strcmp(a->vr, "US") == 0) &&
            !(n <= 12 && (all_digits(v, n) || (v[0] == '-' && n > 1 && all_digits(v + 1, n - 1)))))
            return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: not an integer", key);
    }
    strcpy(m->value, v);
    return 0;
}

static int parse_uint(const char *v, uint32_t max, uint32_t *out)
{
    size_t n = strlen(v);
    if (n == 0 || n > 10 || !all_digits(v, n))
        return -1;
    unsigned long long x = strtoull(v, NULL, 10);
    if (x > max)
        return -1;
    *out = (uint32_t)x;
    return 0;
}

/* One attribute-id of PS3.18 8.3.4.1: a tag (8 hex digits) or a keyword of the PS3.6 registry. */
static int attribute_id_ok(const char *s, size_t n)
{
    char kw[80];
    if (n == 8 && strspn(s, "0123456789abcdefABCDEF") >= 8)
        return 1;
    if (n == 0 || n >= sizeof kw)
        return 0;
    memcpy(kw, s, n);
    kw[n] = '\0';
    return dv_dict_lookup_keyword(kw) != NULL;
}

/* An includefield attribute (PS3.18 8.3.4.1 "attribute"): attribute-ids joined by '.', a path into sequences. */
static int attribute_ok(const char *s)
{
    for (;;) {
        size_t k = strcspn(s, ".");
        if (!attribute_id_ok(s, k))
            return 0;
        if (s[k] == '\0')
            return 1;
        s += k + 1;
    }
}

/* PS3.18 8.3: "If a supported Query Parameter has an invalid value, the origin server shall return a 400", and an
 * includefield value is "all" or attributes, each a tag or a PS3.6 keyword (8.3.4.1). So a word that is neither
 * (a misspelt keyword) is 400: before, it was accepted and silently ignored, and the client never learnt that the
 * attribute it asked for did not exist. A real attribute the index does not keep (a sequence path too) is
 * accepted and ignored: the answer holds the included attributes "supported by the origin server"
 * (10.6.3.3). The message names the item by position, never its text. [test_qido: test_includefield_unknown] */
static int add_include(dvs_query *q, const char *list, size_t *items, dvh_err *e)
{
    const char *p = list;
    for (size_t item = 1;; item++) {
        (*items)++;
        size_t k = strcspn(p, ",");
        char name[80];
        if (k == 0 || k >= sizeof name)
            return dvh_fail(e, DVH_INVALID_ARGUMENT, "includefield: empty or overlong item");
        memcpy(name, p, k);
        name[k] = '\0';
        if (strcmp(name, "all") == 0) {
            q->include_all = 1;
        } else if (!attribute_ok(name)) {
            return dvh_fail(e, DVH_INVALID_ARGUMENT,
                            "includefield: item %zu: not a DICOM keyword (PS3.6) or tag (8 hex digits)", item);
        } else {
            const dvs_attr *a = dvs_attr_by_name(name);
            if (a) {
                if (q->ninclude == DVS_INCLUDE_MAX)
                    return dvh_fail(e, DVH_INVALID_ARGUMENT, "includefield: more than %d items", DVS_INCLUDE_MAX);
                q->include[q->ninclude++] = a;
            }
        }
        if (p[k] == '\0')
            return 0;
        p += k + 1;
    }
}

int dvh_qido_parse(dvs_level level, const char *study, const char *series, const dvh_qparam *p, size_t n,
                   dvs_query *q, dvh_err *e)
{
    memset(q, 0, sizeof *q);
    q->level = level;
    q->limit = DVH_QIDO_LIMIT_DEFAULT;
    if (study)
        snprintf(q->study, sizeof q->study, "%s", study);
    if (series)
        snprintf(q->series, sizeof q->series, "%s", series);
    uint32_t max = level == DVS_INSTANCE ? DVH_QIDO_LIMIT_MAX_INSTANCE : DVH_QIDO_LIMIT_MAX_STUDY;
    int seen_limit = 0, seen_offset = 0, seen_fuzzy = 0;
    size_t include_items = 0; /* every includefield item, over every occurrence of the parameter */
    for (size_t i = 0; i < n; i++) {
        const char *k = p[i].key, *v = p[i].value;
        if (strcmp(k, "limit") == 0) {
            if (seen_limit++ || parse_uint(v, max, &q->limit) || q->limit == 0)
                return dvh_fail(e, DVH_INVALID_ARGUMENT, "limit: must be given once, 1-%u", max);
        } else if (strcmp(k, "offset") == 0) {
            if (seen_offset++ || parse_uint(v, 1000000000u, &q->offset))
                return dvh_fail(e, DVH_INVALID_ARGUMENT, "offset: must be given once, a whole number");
        } else if (strcmp(k, "fuzzymatching") == 0) {
            if (seen_fuzzy++ || (strcmp(v, "true") != 0 && strcmp(v, "false") != 0))
                return dvh_fail(e, DVH_INVALID_ARGUMENT, "fuzzymatching: must be given once, true or false");
            q->fuzzy = strcmp(v, "true") == 0;
        } else if (strcmp(k, "includefield") == 0) {
            if (add_include(q, v, &include_items, e))
                return -1;
        } else if (dvh_param_is_standard(k)) {
            continue;
        } else {
            const dvs_attr *a = dvs_attr_by_name(k);
            /* The key itself is named in the message only when it is one of ours (client text otherwise). */
            if (a == NULL)
                return dvh_fail(e, DVH_INVALID_ARGUMENT, "query parameter %zu: not a supported matching key", i + 1);
            if (a->level > level)
                return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: not a matching key at this level", a->keyword);
            for (size_t j = 0; j < q->nmatch; j++)
                if (q->match[j].attr == a)
                    return dvh_fail(e, DVH_INVALID_ARGUMENT, "%s: given more than once", a->keyword);
            if (q->nmatch == DVS_MATCH_MAX)
                return dvh_fail(e, DVH_INVALID_ARGUMENT, "more than %d matching keys", DVS_MATCH_MAX);
            if (parse_match(a, a->keyword, v, &q->match[q->nmatch], e))
                return -1;
            q->nmatch++;
        }
    }
    /* PS3.18 8.3.4.1: includefield is "all" or a list of attributes, not both. `all` beside a named attribute
     * (`includefield=all,PatientName`, or in another occurrence) could mean "every attribute" or "only these":
     * a proxy, a cache or another origin server may read it the other way, so it is refused, as a repeated
     * parameter is (query_once.c); `all` twice is refused too, it stands alone. [test_qido:
     * test_includefield_all_alone; test_server_strict.py "includefield"] */
    if (q->include_all && include_items > 1)
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "includefield: 'all' cannot be combined with other items");
    return 0;
}

int dvh_query_split(const char *qs, size_t len, char *buf, size_t cap, dvh_qparam *out, size_t max, size_t *n,
                    dvh_err *e)
{
    *n = 0;
    size_t w = 0, i = 0;
    if (len == 0)
        return 0;
    for (;;) {
        if (*n == max)
            return dvh_fail(e, DVH_INVALID_ARGUMENT, "more than %zu query parameters", max);
        const char *starts[2] = {NULL, NULL};
        int part = 0;
        starts[0] = buf + w;
        for (;; i++) {
            int end = i >= len || qs[i] == '&';
            if (end || (part == 0 && qs[i] == '=')) {
                if (w >= cap)
                    return dvh_fail(e, DVH_INVALID_ARGUMENT, "query string too long");
                buf[w++] = '\0';
                if (end)
                    break;
                part = 1;
                starts[1] = buf + w;
                continue;
            }
            char c = qs[i];
            if (c == '+') {
                c = ' ';
            } else if (c == '%') {
                int h = i + 2 < len ? dvh_hex_digit(qs[i + 1]) : -1, l = i + 2 < len ? dvh_hex_digit(qs[i + 2]) : -1;
                if (h < 0 || l < 0 || (h == 0 && l == 0))
                    return dvh_fail(e, DVH_INVALID_ARGUMENT, "query string: bad %%-escape");
                c = (char)(h * 16 + l);
                i += 2;
            } else if (c == '\0') {
                return dvh_fail(e, DVH_INVALID_ARGUMENT, "query string holds a NUL byte");
            }
            if (w >= cap)
                return dvh_fail(e, DVH_INVALID_ARGUMENT, "query string too long");
            buf[w++] = c;
        }
        out[*n].key = starts[0];
        out[*n].value = part ? starts[1] : buf + w - 1; /* "" : the key's own terminator */
        (*n)++;
        if (i >= len)
            return 0;
        i++; /* past '&' */
    }
}
