/* One page of a listing (datasets, stores, operations, an operation's items), for every index backend.
 *
 * A list op asks its query for limit + 1 rows: the first limit fill the caller's page, and the extra row
 * only tells that more follow, so *next is the cursor (id, or seq for items) of the last row returned, else 0
 * (dvs_index.h, dataset_list and op_list). The walk, the cursor and the clean-up after a failure are the same
 * in the SQLite and the PostgreSQL backend: they live here once, and a backend gives only how to step
 * through its rows and read one. [test_store: test_index_sqlite, test_operations_sqlite,
 * test_operation_items_sqlite] */
#ifndef DVS_PAGE_H
#define DVS_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include "dicomveil/dv_error.h"

/* What one element of a page is: its size, where its int64_t cursor sits, and how to free what it owns. */
typedef struct dvs_page_kind {
    size_t size;
    size_t cursor;             /* offsetof the id (seq for items) */
    void (*clear)(void *elem); /* NULL when an element owns nothing */
} dvs_page_kind;

extern const dvs_page_kind dvs_page_datasets;   /* dvs_dataset, by id */
extern const dvs_page_kind dvs_page_stores;     /* dvs_store, by id (labels_json owned) */
extern const dvs_page_kind dvs_page_operations; /* dvs_operation, by id (strings owned) */
extern const dvs_page_kind dvs_page_items;      /* dvs_op_item, by seq */

/* A backend's rows: step moves to the next one (1: there is one; 0: no more; -1: the query failed, err set,
 * naming what); read copies the current row into elem (non-zero: out of memory). */
typedef struct dvs_page_rows {
    int (*step)(void *src, dv_error *err);
    int (*read)(void *src, void *elem);
    void *src;
} dvs_page_rows;

/* Fill out (room for limit elements of kind) from rows: *n elements; *next (may be NULL) as above. 0 (DVS_OK),
 * or -1 with err (the query's failure, or DV_ERR_NOMEM "index: <what>") and then nothing is left: the
 * elements read are cleared, *n and *next are 0. */
int dvs_page_fill(const dvs_page_kind *kind, const dvs_page_rows *rows, void *out, uint32_t limit, size_t *n,
                  int64_t *next, const char *what, dv_error *err);

#endif
