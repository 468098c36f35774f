/* The index behind the server: datasets, DICOM stores, the QIDO attributes of studies / series / instances,
 * and (for the next step, de-identify operations) the operations table.
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
    char blob[65]; /* sha-256 hex of the file's bytes: its file name */
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
