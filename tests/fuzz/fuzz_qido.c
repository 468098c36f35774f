/* libFuzzer target: the QIDO-RS query-string splitter and query parser (src/http/qido.c), behind the rule that
 * a parameter is given once (src/http/query_once.c), as the server applies it, then the index's statement of
 * each parsed query in both dialects (src/store/sql_build.c), which folds fuzzy PN values (src/text/pn_fold.c).
 *
 * The input is a raw query string (not NUL-terminated), parsed for each search level. Checks: a repeated name
 * other than includefield never passes the rule; a parsed query
 * respects every cap (matches, list sizes, limit per level), UID lists hold valid UIDs only, includefield=all
 * stands alone, and errors are INVALID_ARGUMENT with a NUL-terminated message; the fold of a match value is
 * never longer than the value, and with less room it is a NUL-terminated prefix of the whole fold that never
 * writes past its room (corpus/qido/fuzzy_*: accented, Greek, Cyrillic, decomposed and invalid UTF-8 names). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/qido.h"
#include "http/router.h"
#include "store/dvs_sql.h"
#include "text/pn_fold.h"

static void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_qido: invariant violated: %s\n", what);
    abort();
}

/* The fold of a match value: bounded by the value's length; with each smaller room, a prefix of it that stays
 * within the room (the byte after it is never written). */
static void check_fold(const char *v)
{
    size_t len = strlen(v);
    char whole[DVS_VALUE_MAX + 2], part[DVS_VALUE_MAX + 3];
    size_t n = dv_pn_fold(v, len, whole, sizeof whole);
    if (n > len || whole[n] != '\0')
        fuzz_fail("a fold longer than its value");
    for (size_t cap = 0; cap <= n + 1; cap++) {
        memset(part, 0x55, sizeof part);
        size_t k = dv_pn_fold(v, len, part, cap);
        if (part[cap] != 0x55 || (cap > 0 && (k >= cap || part[k] != '\0' || memcmp(part, whole, k) != 0)) ||
            (cap == 0 && k != 0))
            fuzz_fail("a bounded fold is not a prefix within its room");
    }
}

/* The index statement of q in both dialects: built without overflow of its scratch (ASan sees any). */
static void build_sql(const dvs_query *q)
{
    static dvs_sql b;
    for (int d = DVS_DIALECT_SQLITE; d <= DVS_DIALECT_PG; d++) {
        dvs_sql_init(&b, (dvs_dialect)d);
        dvs_sql_query(&b, 1, q);
        if (!b.overflow && memchr(b.text, '\0', sizeof b.text) == NULL)
            fuzz_fail("a statement without its end");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *qs = malloc(size ? size : 1);
    char *buf = malloc(size + 64);
    if (qs == NULL || buf == NULL) {
        free(qs);
        free(buf);
        return 0;
    }
    memcpy(qs, data, size);
    dvh_qparam p[64];
    size_t n = 0;
    dvh_err e;
    memset(&e, 0, sizeof e);
    int split = dvh_query_split(qs, size, buf, size + 64, p, 64, &n, &e);
    if (split == 0 && dvh_query_once(p, n, &e) != 0) {
        /* the server's first check (query_once.c): a name given twice, refused before any handler */
        if (e.status != DVH_INVALID_ARGUMENT || memchr(e.message, '\0', sizeof e.message) == NULL)
            fuzz_fail("bad error");
    } else if (split == 0) {
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < i; j++)
                if (strcmp(p[i].key, p[j].key) == 0 && strcmp(p[i].key, "includefield") != 0)
                    fuzz_fail("a repeated parameter accepted");
        static dvs_query q;
        for (int level = DVS_STUDY; level <= DVS_INSTANCE; level++) {
            memset(&e, 0, sizeof e);
            if (dvh_qido_parse((dvs_level)level, "1.2", "", p, n, &q, &e) != 0) {
                if (e.status != DVH_INVALID_ARGUMENT || memchr(e.message, '\0', sizeof e.message) == NULL)
                    fuzz_fail("bad error");
                continue;
            }
            if (q.nmatch > DVS_MATCH_MAX || q.ninclude > DVS_INCLUDE_MAX || q.limit == 0 ||
                q.limit > (level == DVS_INSTANCE ? DVH_QIDO_LIMIT_MAX_INSTANCE : DVH_QIDO_LIMIT_MAX_STUDY))
                fuzz_fail("a cap is broken");
            if (q.include_all && q.ninclude)
                fuzz_fail("includefield=all accepted beside an attribute");
            build_sql(&q);
            for (size_t i = 0; i < q.nmatch; i++) {
                const dvs_match *m = &q.match[i];
                if ((int)m->attr->level > level)
                    fuzz_fail("a key below the search level");
                if (m->kind == DVS_MATCH_SINGLE || m->kind == DVS_MATCH_WILDCARD)
                    check_fold(m->value);
                if (m->kind == DVS_MATCH_LIST)
                    for (size_t k = 0; k < m->nlist; k++)
                        if (!dvh_uid_valid(m->list[k], strlen(m->list[k])))
                            fuzz_fail("an invalid UID in a list");
            }
        }
    } else if (e.status != DVH_INVALID_ARGUMENT) {
        fuzz_fail("split error is not INVALID_ARGUMENT");
    }
    free(qs);
    free(buf);
    return 0;
}
