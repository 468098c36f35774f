/* The long-running-operation entries of dvs_index_ops (op_create .. op_errors, documented there) that each
 * backend defines in its *_ops.c under its own prefix (dvs_pg_ in pg_ops.c, dvs_sx_ in sqlite_ops.c) and puts
 * in its ops table: one list of signatures for both backends, so they cannot drift apart. */
#ifndef DVS_BACKEND_OPS_H
#define DVS_BACKEND_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "store/dvs_index.h"

/* Declares PREFIX_op_create .. PREFIX_op_errors (e.g. DVS_BACKEND_OPS(dvs_pg) declares dvs_pg_op_create). */
#define DVS_BACKEND_OPS(prefix)                                                                                     \
    int prefix##_op_create(dvs_index *ix, dvs_operation *op, dv_error *err);                                        \
    int prefix##_op_get(dvs_index *ix, int64_t dataset_id, int64_t id, dvs_operation *out, dv_error *err);          \
    int prefix##_op_list(dvs_index *ix, int64_t dataset_id, int done, int64_t after, uint32_t limit,                \
                         dvs_operation *out, size_t *n, int64_t *next, dv_error *err);                              \
    int prefix##_op_cancel(dvs_index *ix, int64_t id, dv_error *err);                                               \
    int prefix##_op_finish(dvs_index *ix, int64_t id, const char *result_json, dv_error *err);                      \
    int prefix##_op_items_add(dvs_index *ix, int64_t op_id, const dvs_op_item *items, size_t n, dv_error *err);     \
    int prefix##_op_planned(dvs_index *ix, int64_t op_id, dv_error *err);                                           \
    int prefix##_op_items_reset(dvs_index *ix, int64_t op_id, dv_error *err);                                       \
    int prefix##_op_items_pending(dvs_index *ix, int64_t op_id, int64_t after, uint32_t limit, dvs_op_item *out,    \
                                  size_t *n, dv_error *err);                                                        \
    int prefix##_op_item_finish(dvs_index *ix, int64_t op_id, int64_t seq, int state, const char *error_class,      \
                                dv_error *err);                                                                     \
    int prefix##_op_items_finish(dvs_index *ix, int64_t op_id, size_t n, const int64_t *seqs, const int *states,    \
                                 const char *const *classes, int *rcs, dv_error *err);                              \
    int prefix##_op_errors(dvs_index *ix, int64_t op_id, int64_t after, uint32_t limit, dvs_op_item *out,           \
                           size_t *n, int64_t *next, dv_error *err)

#endif
