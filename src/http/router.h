/* The resource-name router: an HTTP method and a URL path (already percent-decoded by the HTTP library) to a
 * route with validated IDs, or a 400/404/405 error.
 *
 * Resource names follow the discovery document (../shared/api/healthcare.v1beta1.json): projects/{p}/
 * locations/{l}/datasets/{d}[/dicomStores/{s}[/dicomWeb/...]] and the `:verb` custom methods. Every ID is
 * checked here, once: 1-256 bytes of [A-Za-z0-9_.-] (the ASCII part of datasetId's `[\p{L}\p{N}_\-\.]{1,256}`;
 * dicomStoreId, project and location use the same set), never "." or ".."; UIDs in DICOMweb paths are 1-64
 * bytes of [0-9.]. So no ID can carry a '/', a NUL or a dot-segment — and none ever becomes a file path
 * anyway: the store names files by database row ids and content hashes (docs/decisions.md "Server storage").
 * [test_router: test_traversal_refused; fuzz_router]
 *
 * Pure: no allocation, no I/O, no global state. */
#ifndef DVH_ROUTER_H
#define DVH_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "http/api_error.h"

#define DVH_ID_MAX 256
#define DVH_UID_MAX 64
#define DVH_PATH_MAX 4096

typedef enum dvh_method {
    DVH_GET = 1u << 0,
    DVH_POST = 1u << 1,
    DVH_DELETE = 1u << 2,
    DVH_PUT = 1u << 3,
    DVH_PATCH = 1u << 4,
    DVH_HEAD = 1u << 5,
    DVH_OTHER = 1u << 6
} dvh_method;
dvh_method dvh_method_parse(const char *m);

typedef enum dvh_route_kind {
    DVH_R_DATASETS = 1,        /* .../locations/l/datasets                 GET list, POST create */
    DVH_R_DATASET,             /* .../datasets/d                           GET, DELETE */
    DVH_R_DATASET_DEIDENTIFY,  /* .../datasets/d:deidentify                POST */
    DVH_R_OPERATIONS,          /* .../datasets/d/operations                GET list */
    DVH_R_OPERATION,           /* .../datasets/d/operations/o              GET */
    DVH_R_OPERATION_CANCEL,    /* .../datasets/d/operations/o:cancel       POST */
    DVH_R_STORES,              /* .../datasets/d/dicomStores               GET list, POST create */
    DVH_R_STORE,               /* .../dicomStores/s                        GET, DELETE */
    DVH_R_STORE_METRICS,       /* .../dicomStores/s:getDICOMStoreMetrics   GET */
    DVH_R_STORE_DEIDENTIFY,    /* .../dicomStores/s:deidentify             POST */
    DVH_R_STORE_IMPORT,        /* .../dicomStores/s:import                 POST */
    DVH_R_STORE_EXPORT,        /* .../dicomStores/s:export                 POST */
    DVH_R_DICOMWEB,            /* .../dicomStores/s/dicomWeb/...           see dvh_web */
    DVH_R_OPERATION_ERRORS     /* .../datasets/d/operations/o/errors       GET: the error log (logsUrl) */
} dvh_route_kind;

typedef enum dvh_level { DVH_LEVEL_NONE = 0, DVH_LEVEL_STUDY, DVH_LEVEL_SERIES, DVH_LEVEL_INSTANCE } dvh_level;

typedef enum dvh_web_tail {
    DVH_TAIL_NONE = 0,
    DVH_TAIL_METADATA,        /* .../metadata */
    DVH_TAIL_RENDERED,        /* .../instances/i/rendered */
    DVH_TAIL_FRAMES,          /* .../instances/i/frames/{list} */
    DVH_TAIL_FRAMES_RENDERED, /* .../instances/i/frames/{list}/rendered */
    DVH_TAIL_BULKDATA         /* .../instances/i/bulkdata/... */
} dvh_web_tail;

/* A DICOMweb path under a store. collection != NONE: the path ends in "studies", "series" or "instances" (a
 * search, or STOW on "studies"); else it names the resource of the deepest UID given (study, series or
 * instance) with an optional tail. */
typedef struct dvh_web {
    dvh_level collection;
    char study[DVH_UID_MAX + 1], series[DVH_UID_MAX + 1], instance[DVH_UID_MAX + 1]; /* "" when absent */
    dvh_web_tail tail;
    char frames[128]; /* the frame list ("1,2,3"), digits and commas */
    char bulk[160];   /* bulkdata: the tag path after ".../bulkdata/" ("7FE00010", "00540016/0/00181072"):
                       * 8 hex digits, then item index and tag pairs, as metadata's BulkDataURIs write it */
} dvh_web;

typedef struct dvh_route {
    dvh_route_kind kind;
    unsigned allow; /* dvh_method bits this route accepts */
    const char *name; /* stable route name for logs and errors ("datasets.get"): never client text */
    const char *version; /* "v1" or "v1beta1", the path's API version (answers name types and URLs by it) */
    char project[DVH_ID_MAX + 1], location[DVH_ID_MAX + 1], dataset[DVH_ID_MAX + 1], store[DVH_ID_MAX + 1],
        operation[DVH_ID_MAX + 1];
    dvh_web web;
} dvh_route;

/* Route method + path (path: the URL path without the query, starting with '/', percent-decoded; len bytes,
 * need not be NUL-terminated). Returns 0 and fills r (r->allow covers method), or -1 with e set:
 * NOT_FOUND for a path that names no resource, INVALID_ARGUMENT for an ID that breaks the pattern (the
 * message names the ID's field, never its text), METHOD when the path is a resource but not for this method
 * (r->allow is then set for the Allow header). */
int dvh_route_match(dvh_method method, const char *path, size_t len, dvh_route *r, dvh_err *e);

/* 1 when s[0..n) is a valid resource ID (the rule above). */
int dvh_id_valid(const char *s, size_t n);
/* 1 when s[0..n) is a valid UID: 1-64 bytes of digits and dots, no empty component (a leading zero in a component
 * is tolerated; dv_uid_form_of decides). */
int dvh_uid_valid(const char *s, size_t n);
/* 1 when a request path as sent (raw[0..n), before percent-decoding) spells every name as the server does: no
 * %HH escape of a character that needs none (a letter, a digit, '-', '.', '_', '~') and no escaped '/'. The
 * router reads the decoded path, where ".../operations/%33" was operation 3 and "datasets/d%2FdicomStores%2Fs" a
 * store: one resource under several spellings, which a proxy or audit rule keyed on the path would take for
 * others. Escapes of other characters (':' before a custom verb, ',' in a frame list) stay allowed. Pure.
 * [test_router: test_path_spelling; test_server_strict.py "aliases"] */
int dvh_path_spelled_plainly(const char *raw, size_t n);
/* An operation ID as the server writes it (decimal, no leading zero, at most 18 digits) into *id: 0, or -1 for
 * any other spelling ("00003" is not operation 3). */
int dvh_op_id_parse(const char *s, int64_t *id);
/* The value of a hex digit of a %HH escape (0-15), or -1: the one reading of the server's three decoders (the
 * URL unescaper, the query-string splitter, file URIs). */
int dvh_hex_digit(char c);

#endif
