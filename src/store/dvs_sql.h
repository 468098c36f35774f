/* SQL shared by the index backends (sqlite_index.c, pg_index.c): the schema, the inserts of an instance's
 * levels, and the QIDO-RS statement built from a dvs_query. One home for "what the SQL says", so both
 * backends answer the same QIDO query with the same rows in the same order; each backend only executes.
 *
 * Every client value is a bound parameter, never text in the statement (docs/decisions.md "Server index
 * backends"). Statements are written with PostgreSQL's numbered placeholders ($1, $2, ...); the SQLite
 * backend prepares them as ?1, ?2 (dvs_sql_sqlite_placeholders), which binds the same numbers. */
#ifndef DVS_SQL_H
#define DVS_SQL_H

#include <stddef.h>
#include <stdint.h>

#include "store/dvs_index.h"
#include "store/dvs_query.h"

typedef enum dvs_dialect { DVS_DIALECT_SQLITE = 0, DVS_DIALECT_PG = 1 } dvs_dialect;

/* One bound parameter: text (may be NULL: SQL NULL) or a 64-bit integer. Text points into the query, the
 * record or the builder's scratch: valid as long as those. */
typedef struct dvs_sql_param {
    int is_int;
    const char *text;
    int64_t i;
} dvs_sql_param;

#define DVS_SQL_TEXT_MAX 16384
#define DVS_SQL_PARAMS_MAX (DVS_MATCH_MAX * DVS_LIST_MAX + 16)

/* A statement under construction with its parameters. Large (~60 KiB): allocate it, do not put it on a
 * request thread's stack. */
typedef struct dvs_sql {
    dvs_dialect dialect;
    char text[DVS_SQL_TEXT_MAX];
    size_t n;
    int overflow; /* the statement or its parameters did not fit: a DV_ERR_LIMIT for the caller */
    dvs_sql_param param[DVS_SQL_PARAMS_MAX];
    size_t nparam;
    /* QIDO: which dvs_attrs entry each leading result column is (then nseries, ninstances, modalities). */
    size_t colattr[64];
    size_t ncol;
    /* Scratch the text parameters of wildcard and fuzzy matches (match k: pat[k]) and of an insert's folded PN
     * values point into. */
    char pat[DVS_MATCH_MAX][DVS_VALUE_MAX * 3 + 1];
} dvs_sql;

void dvs_sql_init(dvs_sql *b, dvs_dialect dialect);
void dvs_sql_add(dvs_sql *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append the next placeholder ($k) bound to a text value (NULL: SQL NULL) or an integer. */
void dvs_sql_text(dvs_sql *b, const char *v);
void dvs_sql_int(dvs_sql *b, int64_t v);

/* The whole schema as statements separated by ';' (CREATE ... IF NOT EXISTS: safe on an existing index). */
int dvs_sql_schema(dvs_dialect dialect, char *out, size_t cap);
/* The table of a level's rows: "studies", "series" or "instances". */
const char *dvs_sql_level_table(dvs_level level);
/* The statement that adds attribute a's column (a->since > 0) to an index made before it: PostgreSQL's with IF NOT
 * EXISTS (its schema versions decide when it runs), SQLite's without (the caller asks whether the column exists).
 * 0, or -1 when it does not fit in cap. */
int dvs_sql_add_column(dvs_dialect dialect, const dvs_attr *a, char *out, size_t cap);

/* ---- the folded twins of PN columns (sql_fold.c; dvs_query.h DVS_FOLD_SINCE) ---- */

/* "ALTER TABLE ... ADD COLUMN <column>_fold" for a folded attribute a, as dvs_sql_add_column writes its column's. */
int dvs_sql_add_fold_column(dvs_dialect dialect, const dvs_attr *a, char *out, size_t cap);
/* The fuzzy PatientName lookups' index, made once the column is there (an upgraded index gets it too). */
#define DVS_SQL_FOLD_INDEX "CREATE INDEX IF NOT EXISTS studies_patient_name_fold ON studies(store_id, patient_name_fold)"

/* The back-fill of an upgraded index: every row of a level's table whose folded twin is missing (NULL while its
 * column has a value: the rows an older dicomveil wrote) gets the fold of its value, computed by our C code as an
 * insert computes it, in batches of DVS_FOLD_BATCH rows read (dvs_sql_fold_select) then written
 * (dvs_sql_fold_update). The backend runs it inside its schema transaction. */
#define DVS_FOLD_BATCH 200
#define DVS_FOLD_COLS 4
typedef struct dvs_fold_fill {
    dvs_level level;
    size_t ncol;                         /* the level's folded attributes */
    const dvs_attr *attr[DVS_FOLD_COLS];
    int64_t after;                       /* the next batch reads rows with a greater id */
    size_t n;                            /* rows of this batch */
    int64_t id[DVS_FOLD_BATCH];
    char *fold[DVS_FOLD_BATCH][DVS_FOLD_COLS]; /* NULL: SQL NULL */
} dvs_fold_fill;

/* The level's folded attributes into f; their number (0: the level has none, nothing to fill). */
size_t dvs_fold_fill_init(dvs_fold_fill *f, dvs_level level);
/* "CREATE INDEX IF NOT EXISTS <level>_fold_missing ON <level>(id) WHERE (<a column's twin is missing>)": a
 * partial index of the rows the back-fill looks for (normally none), so that the look every open takes, under
 * the schema lock that holds other servers' inserts, reads that index, not the whole table. No parameters. */
void dvs_sql_fold_missing_index(dvs_sql *b, const dvs_fold_fill *f);
/* "SELECT id, <the columns> FROM <level> WHERE id > after AND (<a column's twin is missing>) ORDER BY id LIMIT
 * DVS_FOLD_BATCH". */
void dvs_sql_fold_select(dvs_sql *b, const dvs_fold_fill *f);
/* A row read: id and its column values (ncol, NULL for SQL NULL), folded into the batch. -1 when out of memory. */
int dvs_fold_fill_row(dvs_fold_fill *f, int64_t id, const char *const *values);
/* "UPDATE <level> SET <twins> FROM (VALUES (id, folds...), ...) WHERE id matches": the batch's rows written. The
 * parameters point into f: run it before dvs_fold_fill_clear. */
void dvs_sql_fold_update(dvs_sql *b, const dvs_fold_fill *f);
/* The batch's folds freed, for the next batch (also after a failure). */
void dvs_fold_fill_clear(dvs_fold_fill *f);

/* What a backend gives the back-fill: its dialect and two ways to run a built statement on its connection
 * (ctx), each 0 or -1 with err set. exec runs one that returns no rows; read runs dvs_sql_fold_select's and hands
 * each row to dvs_fold_fill_row. */
typedef struct dvs_fold_driver {
    dvs_dialect dialect;
    void *ctx;
    int (*exec)(void *ctx, const dvs_sql *b, dv_error *err);
    int (*read)(void *ctx, const dvs_sql *b, dvs_fold_fill *f, dv_error *err);
} dvs_fold_driver;

/* The whole back-fill, level by level: the partial index of the rows missing their folds, then batches read,
 * folded and written until a batch comes back short. The one loop both backends run (sqlite_fold.c, pg_fold.c). */
int dvs_fold_fill_all(const dvs_fold_driver *d, dv_error *err);

/* "INSERT INTO studies|series(parent, uid, attrs...) VALUES(...) ON CONFLICT DO NOTHING": the first
 * instance of a study or series decides its attributes. */
void dvs_sql_level_insert(dvs_sql *b, dvs_level level, int64_t parent, const char *uid, const dvs_instance_rec *rec);
/* "SELECT id FROM studies|series WHERE parent=$1 AND uid=$2". */
void dvs_sql_level_id(dvs_sql *b, dvs_level level, int64_t parent, const char *uid);
/* "INSERT INTO instances(...) VALUES(...) ON CONFLICT DO NOTHING RETURNING id": no row means the store
 * already holds the SOPInstanceUID (the unique constraint decides, also across processes). */
void dvs_sql_instance_insert(dvs_sql *b, int64_t series_id, int64_t store_id, const dvs_instance_rec *rec);
/* The QIDO statement of q over store_id: columns colattr[0..ncol), then NumberOf... counts (2) and the
 * ModalitiesInStudy text; rows in study, series, instance id order. */
void dvs_sql_query(dvs_sql *b, int64_t store_id, const dvs_query *q);
/* The instances under study [/series [/sop]] (NULL or "" for a wider scope), in order: study_uid,
 * series_uid, sop_uid, sop_class_uid, transfer_syntax, blob, size. */
void dvs_sql_blobs(dvs_sql *b, int64_t store_id, const char *study, const char *series, const char *sop);

/* DICOMweb DELETE, in three steps run in one transaction: 0 the instances under study [/series [/sop]]
 * (as dvs_sql_blobs selects them), 1 the series of the store left without instances, 2 the studies left
 * without series. */
void dvs_sql_instances_delete(dvs_sql *b, int step, int64_t store_id, const char *study, const char *series,
                              const char *sop);

/* SQLite: rewrite "$k" placeholders as "?k" into out (same length). -1 when it does not fit. */
int dvs_sql_sqlite_placeholders(const char *sql, char *out, size_t cap);

/* RFC 3339 UTC "now" with microseconds (create and end times of datasets and operations). */
void dvs_rfc3339_now(char out[32]);

/* The fixed statements, the same text for both backends. */
#define DVS_SQL_DATASET_COLS "id, project, location, name, time_zone, create_time"
#define DVS_SQL_DATASET_INSERT                                                                                    \
    "INSERT INTO datasets(project, location, name, time_zone, create_time) VALUES($1,$2,$3,$4,$5)"             \
    " ON CONFLICT DO NOTHING RETURNING id"
#define DVS_SQL_DATASET_GET                                                                                       \
    "SELECT " DVS_SQL_DATASET_COLS " FROM datasets WHERE project=$1 AND location=$2 AND name=$3"
#define DVS_SQL_DATASET_LIST                                                                                      \
    "SELECT " DVS_SQL_DATASET_COLS " FROM datasets WHERE project=$1 AND location=$2 AND id>$3 ORDER BY id LIMIT $4"
#define DVS_SQL_DATASET_STORES "SELECT id FROM stores WHERE dataset_id=$1 ORDER BY id"
#define DVS_SQL_DATASET_DELETE "DELETE FROM datasets WHERE id=$1"
/* An operation's finish: its request (JSON text, op_start.c) forgets the import or export folder, which only a
 * resume reads (op_request.c). Each dialect's JSON functions; a request without a folder is left alone. */
#define DVS_SQL_OP_FORGET_FOLDER_SQLITE                                                                          \
    "UPDATE operations SET request=json_remove(request, '$.folder') WHERE id=?1 AND json_valid(request) AND "   \
    "json_type(request, '$.folder') IS NOT NULL"
#define DVS_SQL_OP_FORGET_FOLDER_PG                                                                              \
    "UPDATE operations SET request=(request::jsonb - 'folder')::text WHERE id=$1 AND request::jsonb ? 'folder'"
#define DVS_SQL_STORE_COLS "id, dataset_id, name, labels"
#define DVS_SQL_STORE_INSERT                                                                                      \
    "INSERT INTO stores(dataset_id, name, labels) VALUES($1,$2,$3) ON CONFLICT DO NOTHING RETURNING id"
#define DVS_SQL_STORE_GET "SELECT " DVS_SQL_STORE_COLS " FROM stores WHERE dataset_id=$1 AND name=$2"
#define DVS_SQL_STORE_LIST                                                                                        \
    "SELECT " DVS_SQL_STORE_COLS " FROM stores WHERE dataset_id=$1 AND id>$2 ORDER BY id LIMIT $3"
#define DVS_SQL_STORE_DELETE "DELETE FROM stores WHERE id=$1"
/* A deleted store's instances are no longer named by the operations that read them: their error logs and items
 * kept the source UIDs (identifiers of the deleted data). With the store, in one transaction. */
#define DVS_SQL_STORE_FORGET_ITEMS "UPDATE op_items SET study_uid='', series_uid='', sop_uid='' WHERE src_store=$1"
#define DVS_SQL_STORE_DELETE_FORGETTING                                                                           \
    "WITH f AS (" DVS_SQL_STORE_FORGET_ITEMS ") " DVS_SQL_STORE_DELETE
#define DVS_SQL_STORE_METRICS                                                                                     \
    "SELECT (SELECT COUNT(*) FROM studies WHERE store_id=$1),"                                                    \
    " (SELECT COUNT(*) FROM series se JOIN studies st ON se.study_id=st.id WHERE st.store_id=$1),"               \
    " (SELECT COUNT(*) FROM instances WHERE store_id=$1),"                                                        \
    " (SELECT COALESCE(SUM(size),0) FROM instances WHERE store_id=$1)"
#define DVS_SQL_INSTANCE_BLOB "SELECT blob FROM instances WHERE store_id=$1 AND sop_uid=$2"
#define DVS_SQL_BLOB_REFS "SELECT COUNT(*) FROM instances WHERE store_id=$1 AND blob=$2"
/* The columns of an operation and of a work item, in the order both backends read them. */
#define DVS_SQL_OP_COLS                                                                                           \
    "id, dataset_id, api_method, create_time, end_time, done, cancel_requested, planned, success, failure, "      \
    "pending, result"
#define DVS_SQL_ITEM_COLS "seq, src_store, dst_store, study_uid, series_uid, sop_uid, blob, path, state, error_class"

#endif
