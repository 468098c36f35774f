/* The index behind the server: datasets, DICOM stores, the QIDO attributes of studies / series / instances,
 * and the long-running operations (de-identify, import, export) with their work items.
 *
 * One interface, several backends: every operation goes through the ops vtable, so a PostgreSQL backend can
 * follow the SQLite one (sqlite_index.c, the embedded default) without touching the HTTP layer. A backend is
 * used by many request threads at once: each op is thread-safe.
 *
 * Return values: DVS_OK (0), DVS_NOT_FOUND, DVS_EXISTS, or -1 with err set (DV_ERR_IO for a database
 * failure, DV_ERR_LIMIT for a cap). Names are the validated IDs of src/http/router.h; the index never builds
 * a file path from them. */
#ifndef DVS_INDEX_H
#define DVS_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "dicomveil/dv_error.h"
#include "store/dvs_query.h"

enum { DVS_OK = 0, DVS_NOT_FOUND = 1, DVS_EXISTS = 2 };

#define DVS_NAME_MAX 257

typedef struct dvs_dataset {
    int64_t id;
    char project[DVS_NAME_MAX], location[DVS_NAME_MAX], name[DVS_NAME_MAX];
    char time_zone[64];
    char create_time[32]; /* RFC 3339 UTC */
} dvs_dataset;

typedef struct dvs_store {
    int64_t id; /* names the store's directory under DATA/stores/ (docs/decisions.md "Server storage") */
    int64_t dataset_id;
    char name[DVS_NAME_MAX];
    char *labels_json; /* owned by the caller of get/list: free with dvs_store_clear ("{}" when none) */
} dvs_store;
void dvs_store_clear(dvs_store *s);

typedef struct dvs_metrics {
    uint64_t studies, series, instances, bytes;
} dvs_metrics;

/* One instance for the index: its UIDs, the blob it lives in, and the QIDO attributes (UTF-8 text, NULL
 * when absent), indexed by position in dvs_attrs (computed attributes stay NULL). */
typedef struct dvs_instance_rec {
    char study_uid[65], series_uid[65], sop_uid[65], sop_class_uid[65], transfer_syntax[65];
    char blob[65]; /* the file's name (64 hex: dvs_blob_name, or the SHA-256 of the bytes before it) */
    uint64_t size;
    const char *attr[64];
} dvs_instance_rec;

/* A row of a QIDO answer: the level's attributes by dvs_attrs position (strings owned by the backend, valid
 * during the callback), counts and modalities for the computed ones. */
typedef struct dvs_row {
    const char *attr[64];
    uint64_t nseries, ninstances; /* NumberOfStudyRelatedSeries/Instances, NumberOfSeriesRelatedInstances */
    const char *modalities;       /* ModalitiesInStudy, backslash-separated ("" when none) */
} dvs_row;
typedef int (*dvs_row_fn)(const dvs_row *row, void *user);

/* A stored instance's location, for WADO. */
typedef struct dvs_blob_ref {
    char study_uid[65], series_uid[65], sop_uid[65], sop_class_uid[65], transfer_syntax[65];
    char blob[65];
    uint64_t size;
} dvs_blob_ref;
typedef int (*dvs_blob_fn)(const dvs_blob_ref *ref, void *user);

/* ---- Long-running operations (docs/server.md "Operations"; issue 7 items 4, 5) ----
 *
 * An operation is a row (its API method, the request that started it, counters, cancel flag, result) and a
 * list of work items, one per instance to process, written once before any instance is processed
 * ("planning", closed by op_planned). A runner then takes the pending items in seq order and finishes each
 * one (op_item_finish) after its output is stored. Resuming after a crash or a restart is taking the pending
 * items again: op_item_finish counts an item only on its first finish (pending -> ok/failed), and the
 * outputs are stored by SOPInstanceUID, so an item processed again after a crash between "stored" and
 * "finished" finds its own output (same bytes) and is counted once. An interrupted planning (planned 0) is
 * redone from scratch (op_items_reset). Failed items are the operation's error log (op_errors): the
 * source resource path and an error class, nothing else. Several processes sharing one index may both
 * resume an operation: work can be done twice, never counted or stored twice. */

/* Items: states and the work one item names. */
enum { DVS_ITEM_PENDING = 0, DVS_ITEM_OK = 1, DVS_ITEM_FAILED = 2 };
#define DVS_ITEM_PATH_MAX 1024
#define DVS_METHOD_MAX 128
#define DVS_CLASS_MAX 32

typedef struct dvs_op_item {
    int64_t seq;                  /* 1, 2, ... within the operation, in planning order (the caller's) */
    int64_t src_store_id;         /* source store (0 for an import: the source is path) */
    int64_t dst_store_id;         /* destination store (0 for an export: the destination is a folder) */
    char study_uid[65], series_uid[65], sop_uid[65]; /* the source instance ("" for an import) */
    char blob[65];                /* the source instance's file in src_store_id ("" for an import) */
    char path[DVS_ITEM_PATH_MAX]; /* import: the file, relative to the import folder; "" otherwise */
    int state;                    /* DVS_ITEM_* */
    char error_class[DVS_CLASS_MAX]; /* FAILED: a class name (dv_code_name, "ALREADY_EXISTS"...), never text
                                        from the instance */
} dvs_op_item;

typedef struct dvs_operation {
    int64_t id;                   /* the {operation} of the resource name, in decimal */
    int64_t dataset_id;           /* the dataset it is listed under (the source's) */
    char api_method[DVS_METHOD_MAX]; /* OperationMetadata.apiMethodName */
    char create_time[32], end_time[32]; /* RFC 3339 UTC; end_time "" until done */
    int done;                     /* 1 once op_finish recorded its result */
    int cancel_requested;
    int planned;                  /* 1 once every work item is in the index */
    uint64_t success, failure, pending; /* OperationMetadata.counter (pending: items not finished) */
    char *request_json;           /* what the runner needs to run it (owned; NULL from op_list) */
    char *result_json;            /* once done: {"response": {...}} or {"error": {...}} (owned; NULL before) */
} dvs_operation;
/* Free the strings of op (not op itself); NULL is a no-op. */
void dvs_operation_clear(dvs_operation *op);

typedef struct dvs_index dvs_index;
typedef struct dvs_index_ops {
    void (*close)(dvs_index *ix);

    /* Datasets: create fills d->id and d->create_time (DVS_EXISTS when the name is taken). list pages by id:
     * rows with id > after, at most limit; *next is the last id returned when more follow, else 0. */
    int (*dataset_create)(dvs_index *ix, dvs_dataset *d, dv_error *err);
    int (*dataset_get)(dvs_index *ix, const char *project, const char *location, const char *name,
                       dvs_dataset *out, dv_error *err);
    int (*dataset_list)(dvs_index *ix, const char *project, const char *location, int64_t after, uint32_t limit,
                        dvs_dataset *out, size_t *n, int64_t *next, dv_error *err);
    /* Deletes the dataset and everything under it; store_ids (malloc'd, caller frees) receives the ids of
     * the stores that were in it, so the caller can remove their directories. */
    int (*dataset_delete)(dvs_index *ix, int64_t dataset_id, int64_t **store_ids, size_t *nstores, dv_error *err);

    int (*store_create)(dvs_index *ix, int64_t dataset_id, const char *name, const char *labels_json,
                        dvs_store *out, dv_error *err);
    int (*store_get)(dvs_index *ix, int64_t dataset_id, const char *name, dvs_store *out, dv_error *err);
    int (*store_list)(dvs_index *ix, int64_t dataset_id, int64_t after, uint32_t limit, dvs_store *out,
                      size_t *n, int64_t *next, dv_error *err);
    int (*store_delete)(dvs_index *ix, int64_t store_id, dv_error *err);
    int (*store_metrics)(dvs_index *ix, int64_t store_id, dvs_metrics *out, dv_error *err);

    /* Add an instance: DVS_EXISTS when the store already holds its SOPInstanceUID (nothing changes; *existing_blob
     * receives the stored instance's blob name). */
    int (*instance_put)(dvs_index *ix, int64_t store_id, const dvs_instance_rec *rec, char existing_blob[65],
                        dv_error *err);
    /* Number of the store's instances whose file is blob (0 means the file is unreferenced). */
    int (*blob_refs)(dvs_index *ix, int64_t store_id, const char *blob, uint64_t *count, dv_error *err);
    /* QIDO: rows at q->level, in a stable order (by study, series, instance), after q->offset, at most
     * q->limit. The callback's non-zero return stops the walk (returned as -1 with err untouched). */
    int (*query)(dvs_index *ix, int64_t store_id, const dvs_query *q, dvs_row_fn fn, void *user, dv_error *err);
    /* The instances under study [/series [/instance]] (NULL or "" for a wider scope), in order;
     * DVS_NOT_FOUND when there is none. */
    int (*blobs)(dvs_index *ix, int64_t store_id, const char *study, const char *series, const char *sop,
                 dvs_blob_fn fn, void *user, dv_error *err);

    /* ---- Operations (see above). op ids are unique across datasets. ---- */
    /* In: op->dataset_id, api_method, request_json (may be NULL). Out: op->id, create_time; the row starts
     * running, not planned, counters 0. */
    int (*op_create)(dvs_index *ix, dvs_operation *op, dv_error *err);
    /* The operation id listed under dataset_id (0: under any dataset); DVS_NOT_FOUND when there is none.
     * Fills every field (out's strings are the caller's: dvs_operation_clear). */
    int (*op_get)(dvs_index *ix, int64_t dataset_id, int64_t id, dvs_operation *out, dv_error *err);
    /* Operations of dataset_id (0: of every dataset), done: -1 any, 0 running only, 1 done only; paged by id
     * like dataset_list (id > after, at most limit, *next = last id when more follow, else 0). request_json
     * stays NULL (a list never carries configs); result_json is filled. */
    int (*op_list)(dvs_index *ix, int64_t dataset_id, int done, int64_t after, uint32_t limit, dvs_operation *out,
                   size_t *n, int64_t *next, dv_error *err);
    /* Set cancel_requested (a runner sees it at its next item). DVS_OK also when already done (nothing
     * changes then); DVS_NOT_FOUND. */
    int (*op_cancel)(dvs_index *ix, int64_t id, dv_error *err);
    /* Record the result and end_time, done = 1. DVS_EXISTS when it was already done (nothing changes). */
    int (*op_finish)(dvs_index *ix, int64_t id, const char *result_json, dv_error *err);

    /* Planning: add n items (one transaction; seq unique per operation, DVS_EXISTS if one is taken and
     * then nothing is added); op_planned closes the list (planned = 1, pending = the number of items);
     * op_items_reset drops every item and reopens it (planned 0, counters 0) to redo a planning that was
     * interrupted. op_items_add and op_items_reset need not be durable on their own (SQLite: no WAL fsync of
     * their own): op_planned's durable commit makes the planning durable with it. */
    int (*op_items_add)(dvs_index *ix, int64_t op_id, const dvs_op_item *items, size_t n, dv_error *err);
    int (*op_planned)(dvs_index *ix, int64_t op_id, dv_error *err);
    int (*op_items_reset)(dvs_index *ix, int64_t op_id, dv_error *err);
    /* Pending items with seq > after, in seq order, at most limit, into out (*n of them); as of the last
     * commit (SQLite: through a reader, never waiting for the writer). */
    int (*op_items_pending)(dvs_index *ix, int64_t op_id, int64_t after, uint32_t limit, dvs_op_item *out,
                            size_t *n, dv_error *err);
    /* Finish item seq with state DVS_ITEM_OK or DVS_ITEM_FAILED (error_class: FAILED only, else NULL) and
     * move one count from pending to success / failure, in one transaction. DVS_EXISTS when the item was
     * already finished (nothing is counted again); DVS_NOT_FOUND when there is no such item. */
    int (*op_item_finish)(dvs_index *ix, int64_t op_id, int64_t seq, int state, const char *error_class,
                          dv_error *err);
    /* The error log: failed items with seq > after, in seq order, paged like op_list (*next: last seq
     * returned when more follow, else 0). */
    int (*op_errors)(dvs_index *ix, int64_t op_id, int64_t after, uint32_t limit, dvs_op_item *out, size_t *n,
                     int64_t *next, dv_error *err);
    /* DICOMweb DELETE: remove the instances under study [/series [/instance]] (as for blobs) in one
     * transaction, with the series and studies it leaves empty; then fn receives each removed instance (its
     * blob may still be referenced by another row: ask blob_refs before removing the file). DVS_NOT_FOUND
     * when there is none (nothing changes). [test_store: test_instances_delete] */
    int (*instances_delete)(dvs_index *ix, int64_t store_id, const char *study, const char *series, const char *sop,
                            dvs_blob_fn fn, void *user, dv_error *err);
    /* Group commit (optional: NULL in a backend without it; callers then call instance_put per instance). n
     * instances, instance k into store_ids[k], in ONE transaction: rcs[k] is DVS_OK, DVS_EXISTS (existing[k]
     * receives the stored blob; nothing written for it) or -1 (that instance alone is not stored). 0 when the
     * transaction committed (the DVS_OK ones are then as durable as one instance_put), -1 with err when it did
     * not (nothing stored, every rcs[k] -1). [test_store: test_put_batch_sqlite] */
    int (*instance_put_batch)(dvs_index *ix, size_t n, const int64_t *store_ids, const dvs_instance_rec *const *recs,
                              char (*existing)[65], int *rcs, dv_error *err);
    /* Batched op_item_finish (optional: NULL in a backend without it; callers then call op_item_finish per
     * item): items seqs[k] finished with states[k] (classes[k] for a FAILED one; classes may be NULL), counted,
     * in ONE transaction; rcs[k] is what op_item_finish would answer for it. 0 when it committed, -1 with err
     * when not (nothing finished). A seq given twice: the second answers as a second op_item_finish would.
     * A de-identify operation finishes its chunk with it (src/http/op_batch.c). Both backends have it.
     * [test_store: test_op_items_finish_batch, test_op_items_finish_batch_postgresql] */
    int (*op_items_finish)(dvs_index *ix, int64_t op_id, size_t n, const int64_t *seqs, const int *states,
                           const char *const *classes, int *rcs, dv_error *err);
    /* Called now and then (about once a second) by one thread (optional: NULL in a backend with nothing to do).
     * SQLite: when a write forgot something since the last rebuild and the index has seen no write for settle_ms,
     * or the rebuild has been due for due_max_ms however busy the index (writes that never pause for settle_ms),
     * rebuild it (VACUUM) now rather than at the next store delete or the close; never while a write is in
     * progress (an overdue one is then run by that write as it ends: sqlite_internal.h dvs_sx_unlock). 1 when it
     * rebuilt, else 0. [test_store: test_sqlite_study_delete_leaves_no_uid_when_idle,
     * test_sqlite_rebuild_overdue_under_writes, test_sqlite_overdue_rebuild_by_back_to_back_writes] */
    int (*idle)(dvs_index *ix, unsigned settle_ms, unsigned due_max_ms);
} dvs_index_ops;

struct dvs_index {
    const dvs_index_ops *ops;
};

/* The SQLite backend: path is the database file (created with the schema when new; WAL mode). */
dvs_index *dvs_sqlite_open(const char *path, dv_error *err);
/* The PostgreSQL backend: url is a libpq connection URI ("postgresql://user@host:port/db?..."); the schema
 * is created or migrated on open. The database must use UTF8. */
dvs_index *dvs_pg_open(const char *url, dv_error *err);
/* The index a server uses: url NULL or "" is SQLite in data_dir/index.sqlite; "postgresql://" or
 * "postgres://" is PostgreSQL; anything else is DV_ERR_USAGE. */
dvs_index *dvs_index_open(const char *url, const char *data_dir, dv_error *err);

#endif
