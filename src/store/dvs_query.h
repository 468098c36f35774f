/* The QIDO-RS query model shared by the HTTP front (src/http/qido.c parses a request into it) and the index
 * backends (which turn it into their own query language), plus the table of attributes the index keeps.
 *
 * The index keeps a fixed set of attributes per level (PS3.18 Table 10.6.1-5's required matching keys and
 * the usual return keys); each has a column in the SQL schema. A query names attributes of this table only:
 * an unknown matching key is refused (400) rather than silently ignored, so a client never mistakes "no
 * filter" for "no match". [test_qido: test_unknown_key_refused] */
#ifndef DVS_QUERY_H
#define DVS_QUERY_H

#include <stddef.h>
#include <stdint.h>

typedef enum dvs_level { DVS_STUDY = 1, DVS_SERIES = 2, DVS_INSTANCE = 3 } dvs_level;

typedef struct dvs_attr {
    uint32_t tag;
    const char *keyword;
    char vr[3];
    dvs_level level;
    const char *column;   /* SQL column of the level's table */
    int computed;         /* 1: derived by the index (counts, ModalitiesInStudy), returned not stored */
    int since;            /* the index schema version whose upgrade adds the column (0: the first schema) */
} dvs_attr;

/* fuzzymatching=true compares PN attributes folded (text/pn_fold.h: case and accents): the index keeps each stored
 * PN attribute's value folded in a twin column, "<column>_fold", which the index schema's version DVS_FOLD_SINCE
 * adds (with the folds of the rows already there). docs/decisions.md "Fuzzy PN matching folds case and accents". */
#define DVS_FOLD_SINCE 3
#define DVS_FOLD_SUFFIX "_fold"

/* The table, ordered by level then tag. */
extern const dvs_attr dvs_attrs[];
extern const size_t dvs_nattrs;
const dvs_attr *dvs_attr_by_tag(uint32_t tag);
/* By PS3.6 keyword (case-sensitive) or 8 hex digits. NULL when not in the table. */
const dvs_attr *dvs_attr_by_name(const char *name);
/* 1 when a has a folded twin column (a stored PN attribute). */
int dvs_attr_folded(const dvs_attr *a);

typedef enum dvs_match_kind {
    DVS_MATCH_UNIVERSAL = 0, /* empty value: return the attribute, match everything */
    DVS_MATCH_SINGLE,        /* exact value */
    DVS_MATCH_WILDCARD,      /* value with '*' / '?' */
    DVS_MATCH_RANGE,         /* DA/TM/DT "lo-hi", "lo-", "-hi" */
    DVS_MATCH_LIST           /* UI "a,b,c" (or backslash-separated) */
} dvs_match_kind;

#define DVS_VALUE_MAX 256
#define DVS_LIST_MAX 64
#define DVS_MATCH_MAX 32
#define DVS_INCLUDE_MAX 64

typedef struct dvs_match {
    const dvs_attr *attr;
    dvs_match_kind kind;
    char value[DVS_VALUE_MAX + 1]; /* SINGLE, WILDCARD; RANGE: lo */
    char hi[DVS_VALUE_MAX + 1];    /* RANGE: hi ("" = open) */
    size_t nlist;                  /* LIST: values are in list[] */
    char list[DVS_LIST_MAX][65];
} dvs_match;

typedef struct dvs_query {
    dvs_level level;        /* what is returned */
    char study[65], series[65]; /* scope from the path ("" when none) */
    dvs_match match[DVS_MATCH_MAX];
    size_t nmatch;
    int include_all;
    const dvs_attr *include[DVS_INCLUDE_MAX];
    size_t ninclude;
    uint32_t limit, offset;
    int fuzzy;
} dvs_query;

#endif
