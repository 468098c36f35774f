/* Internal to the SQLite backend of dvs_index (sqlite_index.c: datasets, stores, instances, QIDO;
 * sqlite_ops.c: long-running operations and their work items). */
#ifndef DVS_SQLITE_INTERNAL_H
#define DVS_SQLITE_INTERNAL_H

#include <pthread.h>

#include <sqlite3.h>

#include "store/dvs_index.h"

/* One connection behind a mutex (sqlite_index.c says why). */
typedef struct sqlite_index {
    dvs_index base;
    sqlite3 *db;
    pthread_mutex_t mu;
} sqlite_index;

#define SX(ix) ((sqlite_index *)(ix))

/* -1 with err DV_ERR_IO naming what failed and SQLite's class of failure (never a bound value). */
int dvs_sx_fail(sqlite_index *s, dv_error *err, const char *what);
int dvs_sx_exec(sqlite_index *s, const char *sql, dv_error *err);
void dvs_sx_now(char out[32]); /* RFC 3339 UTC, microseconds */
void dvs_sx_copy_col(char *dst, size_t cap, sqlite3_stmt *st, int col); /* "" for NULL */

int dvs_sx_op_create(dvs_index *ix, dvs_operation *op, dv_error *err);
int dvs_sx_op_get(dvs_index *ix, int64_t dataset_id, int64_t id, dvs_operation *out, dv_error *err);
int dvs_sx_op_list(dvs_index *ix, int64_t dataset_id, int done, int64_t after, uint32_t limit, dvs_operation *out,
                   size_t *n, int64_t *next, dv_error *err);
int dvs_sx_op_cancel(dvs_index *ix, int64_t id, dv_error *err);
int dvs_sx_op_finish(dvs_index *ix, int64_t id, const char *result_json, dv_error *err);
int dvs_sx_op_items_add(dvs_index *ix, int64_t op_id, const dvs_op_item *items, size_t n, dv_error *err);
int dvs_sx_op_planned(dvs_index *ix, int64_t op_id, dv_error *err);
int dvs_sx_op_items_reset(dvs_index *ix, int64_t op_id, dv_error *err);
int dvs_sx_op_items_pending(dvs_index *ix, int64_t op_id, int64_t after, uint32_t limit, dvs_op_item *out,
                            size_t *n, dv_error *err);
int dvs_sx_op_item_finish(dvs_index *ix, int64_t op_id, int64_t seq, int state, const char *error_class,
                          dv_error *err);
int dvs_sx_op_errors(dvs_index *ix, int64_t op_id, int64_t after, uint32_t limit, dvs_op_item *out, size_t *n,
                     int64_t *next, dv_error *err);

#endif
