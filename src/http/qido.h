/* QIDO-RS query parameters (PS3.18 8.3.4, 10.6) into a dvs_query: matching keys by keyword or tag, with the
 * standard matching (single value, '*'/'?' wildcards, DA/TM/DT ranges, UID lists, universal), `includefield`
 * (a keyword, a tag, or `all`), `limit`, `offset`, `fuzzymatching`. Google's standard parameters (alt,
 * prettyPrint, fields, key, ...) are accepted and ignored everywhere. Pure; no allocation.
 * [test_qido; fuzz_qido] */
#ifndef DVH_QIDO_H
#define DVH_QIDO_H

#include <stddef.h>

#include "http/api_error.h"
#include "store/dvs_query.h"

typedef struct dvh_qparam {
    const char *key;
    const char *value; /* "" for a key without '=' */
} dvh_qparam;

#define DVH_QIDO_LIMIT_DEFAULT 100u
#define DVH_QIDO_LIMIT_MAX_STUDY 5000u
#define DVH_QIDO_LIMIT_MAX_INSTANCE 50000u

/* Parse the n parameters into q for a search returning level, scoped to study / series ("" or NULL: none;
 * valid UIDs, the router checked them). Returns 0, or -1 with e INVALID_ARGUMENT naming the parameter (its
 * key, never its value). */
int dvh_qido_parse(dvs_level level, const char *study, const char *series, const dvh_qparam *p, size_t n,
                   dvs_query *q, dvh_err *e);

/* 1 for the standard query parameters every API method accepts and we ignore (gcp-api.md 0.2, 13). */
int dvh_param_is_standard(const char *key);

/* The most query parameters a request may carry (server.c refuses more, before any handler). */
#define DVH_QUERY_PARAMS_MAX 256

/* Each parameter name at most once, except includefield (PS3.18 lets QIDO repeat it): 0, or -1 with e
 * INVALID_ARGUMENT naming the repeated parameter (its key when it is a name the server knows, else its
 * position; never a value). One rule for every route (query_once.c). */
int dvh_query_once(const dvh_qparam *p, size_t n, dvh_err *e);

/* Split a raw query string (a=b&c&d=e, percent- and '+'-decoded) into at most max params whose strings
 * live in buf[cap]. Returns 0 with *n set, or -1 with e (INVALID_ARGUMENT: bad %-escape, a NUL, too many
 * parameters or too long). */
int dvh_query_split(const char *qs, size_t len, char *buf, size_t cap, dvh_qparam *out, size_t max, size_t *n,
                    dvh_err *e);

#endif
