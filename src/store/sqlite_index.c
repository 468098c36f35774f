/* The SQLite backend of dvs_index (see dvs_index.h): the embedded default.
 *
 * One connection in WAL mode behind a mutex: SQLite serialises writers anyway, and a QIDO answer is a few
 * indexed lookups, so one connection keeps the code simple; readers on their own connections are the step to
 * take when the QIDO benchmark asks for it (issue 7's bench). The level tables' attribute columns come from
 * dvs_attrs (query_attrs.c): one home for "which attributes the index keeps". */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "store/sqlite_internal.h"

int dvs_sx_fail(sqlite_index *s, dv_error *err, const char *what)
{
    /* SQLite's message names the statement's problem (a constraint, a lock), never a bound value. */
    return dv_fail(err, DV_ERR_IO, "index: %s: %s", what, sqlite3_errmsg(s->db));
}

int dvs_sx_exec(sqlite_index *s, const char *sql, dv_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        dv_fail(err, DV_ERR_IO, "index: %s", msg ? msg : "exec failed");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

void dvs_sx_now(char out[32])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char head[24];
    strftime(head, sizeof head, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%.19s.%06dZ", head, (int)((ts.tv_nsec / 1000) % 1000000));
}

void dvs_sx_copy_col(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static const char *level_alias(dvs_level l)
{
    return l == DVS_STUDY ? "st" : l == DVS_SERIES ? "se" : "i";
}

/* "col1 TEXT, col2 TEXT" for the stored attributes of a level. */
static void attr_columns(dvs_level level, char *out, size_t cap)
{
    size_t w = 0;
    out[0] = '\0';
    for (size_t i = 0; i < dvs_nattrs; i++) {
        const dvs_attr *a = &dvs_attrs[i];
        if (a->level != level || a->column == NULL || strcmp(a->column, "study_uid") == 0 ||
            strcmp(a->column, "series_uid") == 0 || strcmp(a->column, "sop_uid") == 0)
            continue;
        w += (size_t)snprintf(out + w, cap - w, ", %s TEXT", a->column);
    }
}

static int create_schema(sqlite_index *s, dv_error *err)
{
    char st[1024], se[1024], in[1024];
    attr_columns(DVS_STUDY, st, sizeof st);
    attr_columns(DVS_SERIES, se, sizeof se);
    attr_columns(DVS_INSTANCE, in, sizeof in);
    char sql[8192];
    snprintf(sql, sizeof sql,
             "CREATE TABLE IF NOT EXISTS datasets(id INTEGER PRIMARY KEY AUTOINCREMENT, project TEXT NOT NULL,"
             " location TEXT NOT NULL, name TEXT NOT NULL, time_zone TEXT NOT NULL DEFAULT '',"
             " create_time TEXT NOT NULL, UNIQUE(project, location, name));"
             "CREATE TABLE IF NOT EXISTS stores(id INTEGER PRIMARY KEY AUTOINCREMENT,"
             " dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE, name TEXT NOT NULL,"
             " labels TEXT NOT NULL DEFAULT '{}', UNIQUE(dataset_id, name));"
             "CREATE TABLE IF NOT EXISTS studies(id INTEGER PRIMARY KEY,"
             " store_id INTEGER NOT NULL REFERENCES stores(id) ON DELETE CASCADE, study_uid TEXT NOT NULL%s,"
             " UNIQUE(store_id, study_uid));"
             "CREATE TABLE IF NOT EXISTS series(id INTEGER PRIMARY KEY,"
             " study_id INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE, series_uid TEXT NOT NULL%s,"
             " UNIQUE(study_id, series_uid));"
             "CREATE TABLE IF NOT EXISTS instances(id INTEGER PRIMARY KEY,"
             " series_id INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,"
             " store_id INTEGER NOT NULL, sop_uid TEXT NOT NULL%s, transfer_syntax TEXT NOT NULL,"
             " blob TEXT NOT NULL, size INTEGER NOT NULL, UNIQUE(store_id, sop_uid));"
             "CREATE INDEX IF NOT EXISTS studies_patient_id ON studies(store_id, patient_id);"
             "CREATE INDEX IF NOT EXISTS studies_patient_name ON studies(store_id, patient_name);"
             "CREATE INDEX IF NOT EXISTS studies_date ON studies(store_id, study_date);"
             "CREATE INDEX IF NOT EXISTS studies_accession ON studies(store_id, accession_number);"
             "CREATE INDEX IF NOT EXISTS series_uid ON series(series_uid);"
             "CREATE INDEX IF NOT EXISTS instances_series ON instances(series_id);"
             "CREATE INDEX IF NOT EXISTS instances_blob ON instances(store_id, blob);"
             /* Long-running operations and their work items (dvs_index.h "Long-running operations"). result
              * is the Operation's {"response"} or {"error"} JSON once done. */
             "CREATE TABLE IF NOT EXISTS operations(id INTEGER PRIMARY KEY AUTOINCREMENT,"
             " dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,"
             " api_method TEXT NOT NULL, create_time TEXT NOT NULL, end_time TEXT NOT NULL DEFAULT '',"
             " done INTEGER NOT NULL DEFAULT 0, cancel_requested INTEGER NOT NULL DEFAULT 0,"
             " planned INTEGER NOT NULL DEFAULT 0, success INTEGER NOT NULL DEFAULT 0,"
             " failure INTEGER NOT NULL DEFAULT 0, pending INTEGER NOT NULL DEFAULT 0, request TEXT, result TEXT);"
             "CREATE INDEX IF NOT EXISTS operations_dataset ON operations(dataset_id, id);"
             "CREATE TABLE IF NOT EXISTS op_items(op_id INTEGER NOT NULL REFERENCES operations(id) ON DELETE CASCADE,"
             " seq INTEGER NOT NULL, src_store INTEGER NOT NULL, dst_store INTEGER NOT NULL,"
             " study_uid TEXT NOT NULL, series_uid TEXT NOT NULL, sop_uid TEXT NOT NULL, blob TEXT NOT NULL,"
             " path TEXT NOT NULL, state INTEGER NOT NULL DEFAULT 0, error_class TEXT NOT NULL DEFAULT '',"
             " PRIMARY KEY(op_id, seq));"
             "CREATE INDEX IF NOT EXISTS op_items_state ON op_items(op_id, state, seq);",
             st, se, in);
    return dvs_sx_exec(s, sql, err);
}

static void sx_close(dvs_index *ix)
{
    sqlite_index *s = SX(ix);
    if (s == NULL)
        return;
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->mu);
    free(s);
}


static int sx_dataset_create(dvs_index *ix, dvs_dataset *d, dv_error *err)
{
    sqlite_index *s = SX(ix);
    dvs_sx_now(d->create_time);
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO datasets(project, location, name, time_zone, create_time) "
                           "VALUES(?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK) {
        dvs_sx_fail(s, err, "dataset create");
        goto out;
    }
    sqlite3_bind_text(st, 1, d->project, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, d->location, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, d->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, d->time_zone, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, d->create_time, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_CONSTRAINT) {
        rc = DVS_EXISTS;
    } else if (r != SQLITE_DONE) {
        dvs_sx_fail(s, err, "dataset create");
    } else {
        d->id = sqlite3_last_insert_rowid(s->db);
        rc = DVS_OK;
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static void read_dataset(sqlite3_stmt *st, dvs_dataset *d)
{
    d->id = sqlite3_column_int64(st, 0);
    dvs_sx_copy_col(d->project, sizeof d->project, st, 1);
    dvs_sx_copy_col(d->location, sizeof d->location, st, 2);
    dvs_sx_copy_col(d->name, sizeof d->name, st, 3);
    dvs_sx_copy_col(d->time_zone, sizeof d->time_zone, st, 4);
    dvs_sx_copy_col(d->create_time, sizeof d->create_time, st, 5);
}

static int sx_dataset_get(dvs_index *ix, const char *project, const char *location, const char *name,
                          dvs_dataset *out, dv_error *err)
{
    sqlite_index *s = SX(ix);
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, project, location, name, time_zone, create_time FROM datasets "
                           "WHERE project=? AND location=? AND name=?",
                           -1, &st, NULL) != SQLITE_OK) {
        dvs_sx_fail(s, err, "dataset get");
        goto out;
    }
    sqlite3_bind_text(st, 1, project, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, location, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        read_dataset(st, out);
        rc = DVS_OK;
    } else if (r == SQLITE_DONE) {
        rc = DVS_NOT_FOUND;
    } else {
        dvs_sx_fail(s, err, "dataset get");
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sx_dataset_list(dvs_index *ix, const char *project, const char *location, int64_t after, uint32_t limit,
                           dvs_dataset *out, size_t *n, int64_t *next, dv_error *err)
{
    sqlite_index *s = SX(ix);
    *n = 0;
    *next = 0;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, project, location, name, time_zone, create_time FROM datasets "
                           "WHERE project=? AND location=? AND id>? ORDER BY id LIMIT ?",
                           -1, &st, NULL) != SQLITE_OK) {
        dvs_sx_fail(s, err, "dataset list");
        goto out;
    }
    sqlite3_bind_text(st, 1, project, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, location, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, after);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)limit + 1);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == limit) {
            *next = out[*n - 1].id;
            break;
        }
        read_dataset(st, &out[(*n)++]);
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        dvs_sx_fail(s, err, "dataset list");
    else
        rc = DVS_OK;
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sx_dataset_delete(dvs_index *ix, int64_t dataset_id, int64_t **store_ids, size_t *nstores, dv_error *err)
{
    sqlite_index *s = SX(ix);
    *store_ids = NULL;
    *nstores = 0;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    int rc = -1;
    size_t cap = 0;
    if (dvs_sx_exec(s, "BEGIN IMMEDIATE", err))
        goto out;
    if (sqlite3_prepare_v2(s->db, "SELECT id FROM stores WHERE dataset_id=?", -1, &st, NULL) != SQLITE_OK) {
        dvs_sx_fail(s, err, "dataset delete");
        goto rollback;
    }
    sqlite3_bind_int64(st, 1, dataset_id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (*nstores == cap) {
            cap = cap ? cap * 2 : 8;
            int64_t *v = realloc(*store_ids, cap * sizeof *v);
            if (v == NULL) {
                dv_fail(err, DV_ERR_NOMEM, "index: dataset delete");
                goto rollback;
            }
            *store_ids = v;
        }
        (*store_ids)[(*nstores)++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(s->db, "DELETE FROM datasets WHERE id=?", -1, &st, NULL) != SQLITE_OK) {
        dvs_sx_fail(s, err, "dataset delete");
        goto rollback;
    }
    sqlite3_bind_int64(st, 1, dataset_id);
    if (sqlite3_step(st) != SQLITE_DONE) {
        dvs_sx_fail(s, err, "dataset delete");
        goto rollback;
    }
    rc = sqlite3_changes(s->db) ? DVS_OK : DVS_NOT_FOUND;
    sqlite3_finalize(st);
    st = NULL;
    if (dvs_sx_exec(s, "COMMIT", err)) {
        rc = -1;
        goto rollback;
    }
    goto out;
rollback:
    sqlite3_finalize(st);
    st = NULL;
    dvs_sx_exec(s, "ROLLBACK", NULL);
    free(*store_ids);
    *store_ids = NULL;
    *nstores = 0;
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void dvs_store_clear(dvs_store *st)
{
    if (st == NULL)
        return;
    free(st->labels_json);
    st->labels_json = NULL;
}

static int read_store(sqlite3_stmt *st, dvs_store *out)
{
    out->id = sqlite3_column_int64(st, 0);
    out->dataset_id = sqlite3_column_int64(st, 1);
    dvs_sx_copy_col(out->name, sizeof out->name, st, 2);
    const unsigned char *l = sqlite3_column_text(st, 3);
    out->labels_json = strdup(l ? (const char *)l : "{}");
    return out->labels_json ? 0 : -1;
}

static int sx_store_create(dvs_index *ix, int64_t dataset_id, const char *name, const char *labels_json,
                           dvs_store *out, dv_error *err)
{
    sqlite_index *s = SX(ix);
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(s->db, "INSERT INTO stores(dataset_id, name, labels) VALUES(?,?,?)", -1, &st, NULL) !=
        SQLITE_OK) {
        dvs_sx_fail(s, err, "store create");
        goto out;
    }
    sqlite3_bind_int64(st, 1, dataset_id);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, labels_json ? labels_json : "{}", -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_CONSTRAINT) {
        rc = DVS_EXISTS;
    } else if (r != SQLITE_DONE) {
        dvs_sx_fail(s, err, "store create");
    } else {
        out->id = sqlite3_last_insert_rowid(s->db);
        out->dataset_id = dataset_id;
        snprintf(out->name, sizeof out->name, "%s", name);
        out->labels_json = strdup(labels_json ? labels_json : "{}");
        rc = out->labels_json ? DVS_OK : dv_fail(err, DV_ERR_NOMEM, "index: store create");
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sx_store_get(dvs_index *ix, int64_t dataset_id, const char *name, dvs_store *out, dv_error *err)
{
    sqlite_index *s = SX(ix);
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(s->db, "SELECT id, dataset_id, name, labels FROM stores WHERE dataset_id=? AND name=?",
                           -1, &st, NULL) != SQLITE_OK) {
        dvs_sx_fail(s, err, "store get");
        goto out;
    }
    sqlite3_bind_int64(st, 1, dataset_id);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        rc = read_store(st, out) ? dv_fail(err, DV_ERR_NOMEM, "index: store get") : DVS_OK;
    else if (r == SQLITE_DONE)
        rc = DVS_NOT_FOUND;
    else
        dvs_sx_fail(s, err, "store get");
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sx_store_list(dvs_index *ix, int64_t dataset_id, int64_t after, uint32_t limit, dvs_store *out,
                         size_t *n, int64_t *next, dv_error *err)
{
    sqlite_index *s = SX(ix);
    *n = 0;
    *next = 0;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, dataset_id, name, labels FROM stores WHERE dataset_id=? AND id>? "
                           "ORDER BY id LIMIT ?",
                           -1, &st, NULL) != SQLITE_OK) {
        dvs_sx_fail(s, err, "store list");
        goto out;
    }
    sqlite3_bind_int64(st, 1, dataset_id);
    sqlite3_bind_int64(st, 2, after);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)limit + 1);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == limit) {
            *next = out[*n - 1].id;
            break;
        }
        if (read_store(st, &out[*n])) {
            dv_fail(err, DV_ERR_NOMEM, "index: store list");
            goto out;
        }
        (*n)++;
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        dvs_sx_fail(s, err, "store list");
    else
        rc = DVS_OK;
out:
    if (rc < 0) {
        for (size_t i = 0; i < *n; i++)
            dvs_store_clear(&out[i]);
        *n = 0;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sx_store_delete(dvs_index *ix, int64_t store_id, dv_error *err)
{
    sqlite_index *s = SX(ix);
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(s->db, "DELETE FROM stores WHERE id=?", -1, &st, NULL) != SQLITE_OK) {
        dvs_sx_fail(s, err, "store delete");
        goto out;
    }
    sqlite3_bind_int64(st, 1, store_id);
    if (sqlite3_step(st) != SQLITE_DONE)
        dvs_sx_fail(s, err, "store delete");
    else
        rc = sqlite3_changes(s->db) ? DVS_OK : DVS_NOT_FOUND;
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sx_store_metrics(dvs_index *ix, int64_t store_id, dvs_metrics *m, dv_error *err)
{
    sqlite_index *s = SX(ix);
    memset(m, 0, sizeof *m);
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT (SELECT COUNT(*) FROM studies WHERE store_id=?1),"
                           " (SELECT COUNT(*) FROM series se JOIN studies st ON se.study_id=st.id"
                           "  WHERE st.store_id=?1),"
                           " (SELECT COUNT(*) FROM instances WHERE store_id=?1),"
                           " (SELECT COALESCE(SUM(size),0) FROM instances WHERE store_id=?1)",
                           -1, &st, NULL) != SQLITE_OK) {
        dvs_sx_fail(s, err, "store metrics");
        goto out;
    }
    sqlite3_bind_int64(st, 1, store_id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        dvs_sx_fail(s, err, "store metrics");
        goto out;
    }
    m->studies = (uint64_t)sqlite3_column_int64(st, 0);
    m->series = (uint64_t)sqlite3_column_int64(st, 1);
    m->instances = (uint64_t)sqlite3_column_int64(st, 2);
    m->bytes = (uint64_t)sqlite3_column_int64(st, 3);
    rc = DVS_OK;
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* INSERT of one level's row: "INSERT INTO t(parent_col, uid_col, c1, c2...) VALUES(?,?,?...) ON CONFLICT DO
 * NOTHING", then the row id by (parent, uid). The first instance of a study/series decides its attributes. */
static int upsert_level(sqlite_index *s, dvs_level level, int64_t parent, const char *uid,
                        const dvs_instance_rec *rec, int64_t *id, dv_error *err)
{
    const char *table = level == DVS_STUDY ? "studies" : "series";
    const char *pcol = level == DVS_STUDY ? "store_id" : "study_id";
    const char *ucol = level == DVS_STUDY ? "study_uid" : "series_uid";
    char cols[1024], qs[256];
    size_t cw = 0, qw = 0;
    size_t idx[64], nidx = 0;
    cols[0] = qs[0] = '\0';
    for (size_t i = 0; i < dvs_nattrs; i++) {
        const dvs_attr *a = &dvs_attrs[i];
        if (a->level != level || a->column == NULL || strcmp(a->column, ucol) == 0)
            continue;
        cw += (size_t)snprintf(cols + cw, sizeof cols - cw, ", %s", a->column);
        qw += (size_t)snprintf(qs + qw, sizeof qs - qw, ",?");
        idx[nidx++] = i;
    }
    char sql[2048];
    snprintf(sql, sizeof sql, "INSERT INTO %s(%s, %s%s) VALUES(?,?%s) ON CONFLICT DO NOTHING", table, pcol, ucol,
             cols, qs);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return dvs_sx_fail(s, err, "instance put");
    sqlite3_bind_int64(st, 1, parent);
    sqlite3_bind_text(st, 2, uid, -1, SQLITE_STATIC);
    for (size_t k = 0; k < nidx; k++) {
        const char *v = rec->attr[idx[k]];
        if (v)
            sqlite3_bind_text(st, (int)k + 3, v, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, (int)k + 3);
    }
    int r = sqlite3_step(st);
    sqlite3_finalize(st);
    if (r != SQLITE_DONE)
        return dvs_sx_fail(s, err, "instance put");
    snprintf(sql, sizeof sql, "SELECT id FROM %s WHERE %s=? AND %s=?", table, pcol, ucol);
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return dvs_sx_fail(s, err, "instance put");
    sqlite3_bind_int64(st, 1, parent);
    sqlite3_bind_text(st, 2, uid, -1, SQLITE_STATIC);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return r == SQLITE_ROW ? 0 : dvs_sx_fail(s, err, "instance put");
}

static int sx_instance_put(dvs_index *ix, int64_t store_id, const dvs_instance_rec *rec, char existing_blob[65],
                           dv_error *err)
{
    sqlite_index *s = SX(ix);
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (dvs_sx_exec(s, "BEGIN IMMEDIATE", err))
        goto out;
    if (sqlite3_prepare_v2(s->db, "SELECT blob FROM instances WHERE store_id=? AND sop_uid=?", -1, &st, NULL) !=
        SQLITE_OK) {
        dvs_sx_fail(s, err, "instance put");
        goto rollback;
    }
    sqlite3_bind_int64(st, 1, store_id);
    sqlite3_bind_text(st, 2, rec->sop_uid, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        dvs_sx_copy_col(existing_blob, 65, st, 0);
        rc = DVS_EXISTS;
        goto rollback;
    }
    sqlite3_finalize(st);
    st = NULL;
    int64_t study_id, series_id;
    if (upsert_level(s, DVS_STUDY, store_id, rec->study_uid, rec, &study_id, err) ||
        upsert_level(s, DVS_SERIES, study_id, rec->series_uid, rec, &series_id, err))
        goto rollback;
    char cols[1024], qs[256];
    size_t cw = 0, qw = 0, idx[64], nidx = 0;
    cols[0] = qs[0] = '\0';
    for (size_t i = 0; i < dvs_nattrs; i++) {
        const dvs_attr *a = &dvs_attrs[i];
        if (a->level != DVS_INSTANCE || a->column == NULL || strcmp(a->column, "sop_uid") == 0)
            continue;
        cw += (size_t)snprintf(cols + cw, sizeof cols - cw, ", %s", a->column);
        qw += (size_t)snprintf(qs + qw, sizeof qs - qw, ",?");
        idx[nidx++] = i;
    }
    char sql[2048];
    snprintf(sql, sizeof sql,
             "INSERT INTO instances(series_id, store_id, sop_uid, transfer_syntax, blob, size%s) "
             "VALUES(?,?,?,?,?,?%s)",
             cols, qs);
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        dvs_sx_fail(s, err, "instance put");
        goto rollback;
    }
    sqlite3_bind_int64(st, 1, series_id);
    sqlite3_bind_int64(st, 2, store_id);
    sqlite3_bind_text(st, 3, rec->sop_uid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, rec->transfer_syntax, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, rec->blob, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)rec->size);
    for (size_t k = 0; k < nidx; k++) {
        const char *v = idx[k] < 64 ? rec->attr[idx[k]] : NULL;
        if (v)
            sqlite3_bind_text(st, (int)k + 7, v, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, (int)k + 7);
    }
    if (sqlite3_step(st) != SQLITE_DONE) {
        dvs_sx_fail(s, err, "instance put");
        goto rollback;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (dvs_sx_exec(s, "COMMIT", err))
        goto rollback;
    rc = DVS_OK;
    goto out;
rollback:
    sqlite3_finalize(st);
    st = NULL;
    dvs_sx_exec(s, "ROLLBACK", NULL);
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sx_blob_refs(dvs_index *ix, int64_t store_id, const char *blob, uint64_t *count, dv_error *err)
{
    sqlite_index *s = SX(ix);
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_prepare_v2(s->db, "SELECT COUNT(*) FROM instances WHERE store_id=? AND blob=?", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_int64(st, 1, store_id);
        sqlite3_bind_text(st, 2, blob, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            *count = (uint64_t)sqlite3_column_int64(st, 0);
            rc = DVS_OK;
        }
    }
    if (rc < 0)
        dvs_sx_fail(s, err, "blob refs");
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* --- QIDO --- */

typedef struct sqlbuf {
    char s[16384];
    size_t n;
    int overflow;
    const char *bind[DVS_MATCH_MAX * DVS_LIST_MAX + 8];
    size_t nbind;
} sqlbuf;

static void sb_add(sqlbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static void sb_add(sqlbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->s + b->n, sizeof b->s - b->n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= sizeof b->s - b->n)
        b->overflow = 1;
    else
        b->n += (size_t)k;
}

static void sb_bind(sqlbuf *b, const char *v)
{
    if (b->nbind < sizeof b->bind / sizeof b->bind[0])
        b->bind[b->nbind++] = v;
    else
        b->overflow = 1;
}

/* Wildcard values become GLOB patterns: '*' and '?' keep their meaning, '[' is escaped as "[[]". The
 * pattern lives in pat (one per match). */
static void glob_pattern(const char *v, char *pat, size_t cap)
{
    size_t w = 0;
    for (; *v && w + 4 < cap; v++) {
        if (*v == '[') {
            memcpy(pat + w, "[[]", 3);
            w += 3;
        } else {
            pat[w++] = *v;
        }
    }
    pat[w] = '\0';
}

typedef struct qido_scratch {
    char pat[DVS_MATCH_MAX][DVS_VALUE_MAX * 3 + 1];
    char limit[16], offset[16], hilen[DVS_MATCH_MAX][8];
} qido_scratch;

static void add_match(sqlbuf *b, const dvs_match *m, int fuzzy, qido_scratch *sc, size_t k)
{
    const dvs_attr *a = m->attr;
    if (m->kind == DVS_MATCH_UNIVERSAL)
        return;
    if (a->tag == 0x00080061) { /* ModalitiesInStudy: any series of the study has the modality */
        sb_add(b, " AND EXISTS (SELECT 1 FROM series ms WHERE ms.study_id=st.id AND ms.modality %s ?)",
               m->kind == DVS_MATCH_WILDCARD ? "GLOB" : "=");
        if (m->kind == DVS_MATCH_WILDCARD) {
            glob_pattern(m->value, sc->pat[k], sizeof sc->pat[k]);
            sb_bind(b, sc->pat[k]);
        } else {
            sb_bind(b, m->value);
        }
        return;
    }
    const char *al = level_alias(a->level);
    int ci = fuzzy && strcmp(a->vr, "PN") == 0; /* fuzzymatching=true: PN compares case-insensitively */
    switch (m->kind) {
    case DVS_MATCH_SINGLE:
        sb_add(b, " AND %s.%s = ?%s", al, a->column, ci ? " COLLATE NOCASE" : "");
        sb_bind(b, m->value);
        break;
    case DVS_MATCH_WILDCARD:
        glob_pattern(m->value, sc->pat[k], sizeof sc->pat[k]);
        if (ci)
            sb_add(b, " AND lower(%s.%s) GLOB lower(?)", al, a->column);
        else
            sb_add(b, " AND %s.%s GLOB ?", al, a->column);
        sb_bind(b, sc->pat[k]);
        break;
    case DVS_MATCH_RANGE:
        /* Ends compare as strings (same digit layout); the upper end compares the value's prefix of its own
         * length, so "-12" on TM includes 12:59:59. */
        if (m->value[0]) {
            sb_add(b, " AND %s.%s >= ?", al, a->column);
            sb_bind(b, m->value);
        }
        if (m->hi[0]) {
            snprintf(sc->hilen[k], sizeof sc->hilen[k], "%zu", strlen(m->hi));
            sb_add(b, " AND substr(%s.%s, 1, CAST(? AS INTEGER)) <= ?", al, a->column);
            sb_bind(b, sc->hilen[k]);
            sb_bind(b, m->hi);
        }
        break;
    case DVS_MATCH_LIST:
        sb_add(b, " AND %s.%s IN (", al, a->column);
        for (size_t i = 0; i < m->nlist; i++) {
            sb_add(b, i ? ",?" : "?");
            sb_bind(b, m->list[i]);
        }
        sb_add(b, ")");
        break;
    case DVS_MATCH_UNIVERSAL:
        break;
    }
}

static int sx_query(dvs_index *ix, int64_t store_id, const dvs_query *q, dvs_row_fn fn, void *user, dv_error *err)
{
    sqlite_index *s = SX(ix);
    sqlbuf *b = calloc(1, sizeof *b);
    qido_scratch *sc = calloc(1, sizeof *sc);
    if (b == NULL || sc == NULL) {
        free(b);
        free(sc);
        return dv_fail(err, DV_ERR_NOMEM, "index: query");
    }
    /* Columns: every stored attribute of the levels up to q->level, in dvs_attrs order. */
    size_t colattr[64], ncol = 0;
    sb_add(b, "SELECT ");
    for (size_t i = 0; i < dvs_nattrs; i++) {
        const dvs_attr *a = &dvs_attrs[i];
        if (a->level > q->level || a->column == NULL)
            continue;
        sb_add(b, "%s%s.%s", ncol ? ", " : "", level_alias(a->level), a->column);
        colattr[ncol++] = i;
    }
    if (q->level == DVS_STUDY)
        sb_add(b, ", (SELECT COUNT(*) FROM series x WHERE x.study_id=st.id),"
                  " (SELECT COUNT(*) FROM instances y JOIN series x ON y.series_id=x.id WHERE x.study_id=st.id)");
    else if (q->level == DVS_SERIES)
        sb_add(b, ", 0, (SELECT COUNT(*) FROM instances y WHERE y.series_id=se.id)");
    else
        sb_add(b, ", 0, 0");
    sb_add(b, ", (SELECT group_concat(m, '\\') FROM (SELECT DISTINCT x.modality AS m FROM series x"
              " WHERE x.study_id=st.id AND x.modality IS NOT NULL ORDER BY x.modality))");
    if (q->level == DVS_STUDY)
        sb_add(b, " FROM studies st WHERE st.store_id=?");
    else if (q->level == DVS_SERIES)
        sb_add(b, " FROM series se JOIN studies st ON se.study_id=st.id WHERE st.store_id=?");
    else
        sb_add(b, " FROM instances i JOIN series se ON i.series_id=se.id JOIN studies st ON se.study_id=st.id"
                  " WHERE i.store_id=?");
    if (q->study[0]) {
        sb_add(b, " AND st.study_uid=?");
        sb_bind(b, q->study);
    }
    if (q->series[0]) {
        sb_add(b, " AND se.series_uid=?");
        sb_bind(b, q->series);
    }
    for (size_t k = 0; k < q->nmatch; k++)
        add_match(b, &q->match[k], q->fuzzy, sc, k);
    sb_add(b, " ORDER BY %s.id LIMIT ? OFFSET ?", level_alias(q->level));
    snprintf(sc->limit, sizeof sc->limit, "%u", q->limit);
    snprintf(sc->offset, sizeof sc->offset, "%u", q->offset);
    int rc = -1;
    if (b->overflow) {
        dv_fail(err, DV_ERR_LIMIT, "index: query too large");
        goto done;
    }
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, b->s, (int)b->n, &st, NULL) != SQLITE_OK) {
        dvs_sx_fail(s, err, "query");
        pthread_mutex_unlock(&s->mu);
        goto done;
    }
    int p = 1;
    sqlite3_bind_int64(st, p++, store_id);
    for (size_t k = 0; k < b->nbind; k++)
        sqlite3_bind_text(st, p++, b->bind[k], -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, p++, q->limit);
    sqlite3_bind_int64(st, p++, q->offset);
    int r;
    rc = DVS_OK;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        dvs_row row;
        memset(&row, 0, sizeof row);
        for (size_t c = 0; c < ncol; c++)
            row.attr[colattr[c]] = (const char *)sqlite3_column_text(st, (int)c);
        row.nseries = (uint64_t)sqlite3_column_int64(st, (int)ncol);
        row.ninstances = (uint64_t)sqlite3_column_int64(st, (int)ncol + 1);
        const unsigned char *mods = sqlite3_column_text(st, (int)ncol + 2);
        row.modalities = mods ? (const char *)mods : "";
        if (fn(&row, user)) {
            rc = -1;
            break;
        }
    }
    if (rc == DVS_OK && r != SQLITE_DONE)
        rc = dvs_sx_fail(s, err, "query");
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
done:
    free(b);
    free(sc);
    return rc;
}

static int sx_blobs(dvs_index *ix, int64_t store_id, const char *study, const char *series, const char *sop,
                    dvs_blob_fn fn, void *user, dv_error *err)
{
    sqlite_index *s = SX(ix);
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT st.study_uid, se.series_uid, i.sop_uid, i.sop_class_uid, i.transfer_syntax, i.blob, i.size"
             " FROM instances i JOIN series se ON i.series_id=se.id JOIN studies st ON se.study_id=st.id"
             " WHERE i.store_id=?%s%s%s ORDER BY st.id, se.id, i.id",
             study && study[0] ? " AND st.study_uid=?" : "", series && series[0] ? " AND se.series_uid=?" : "",
             sop && sop[0] ? " AND i.sop_uid=?" : "");
    /* The rows are collected first and the callback runs unlocked: it reads files and writes to a client. */
    dvs_blob_ref *refs = NULL;
    size_t n = 0, cap = 0;
    int rc = -1;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        dvs_sx_fail(s, err, "blobs");
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    int p = 1;
    sqlite3_bind_int64(st, p++, store_id);
    if (study && study[0])
        sqlite3_bind_text(st, p++, study, -1, SQLITE_STATIC);
    if (series && series[0])
        sqlite3_bind_text(st, p++, series, -1, SQLITE_STATIC);
    if (sop && sop[0])
        sqlite3_bind_text(st, p++, sop, -1, SQLITE_STATIC);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            dvs_blob_ref *v = realloc(refs, cap * sizeof *v);
            if (v == NULL) {
                dv_fail(err, DV_ERR_NOMEM, "index: blobs");
                r = SQLITE_NOMEM;
                break;
            }
            refs = v;
        }
        dvs_blob_ref *f = &refs[n++];
        dvs_sx_copy_col(f->study_uid, sizeof f->study_uid, st, 0);
        dvs_sx_copy_col(f->series_uid, sizeof f->series_uid, st, 1);
        dvs_sx_copy_col(f->sop_uid, sizeof f->sop_uid, st, 2);
        dvs_sx_copy_col(f->sop_class_uid, sizeof f->sop_class_uid, st, 3);
        dvs_sx_copy_col(f->transfer_syntax, sizeof f->transfer_syntax, st, 4);
        dvs_sx_copy_col(f->blob, sizeof f->blob, st, 5);
        f->size = (uint64_t)sqlite3_column_int64(st, 6);
    }
    if (r == SQLITE_DONE)
        rc = DVS_OK;
    else if (r != SQLITE_NOMEM)
        dvs_sx_fail(s, err, "blobs");
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    if (rc == DVS_OK && n == 0)
        rc = DVS_NOT_FOUND;
    for (size_t k = 0; rc == DVS_OK && k < n; k++)
        if (fn(&refs[k], user))
            rc = -1;
    free(refs);
    return rc;
}

static const dvs_index_ops sqlite_ops = {
    .close = sx_close,
    .dataset_create = sx_dataset_create,
    .dataset_get = sx_dataset_get,
    .dataset_list = sx_dataset_list,
    .dataset_delete = sx_dataset_delete,
    .store_create = sx_store_create,
    .store_get = sx_store_get,
    .store_list = sx_store_list,
    .store_delete = sx_store_delete,
    .store_metrics = sx_store_metrics,
    .instance_put = sx_instance_put,
    .blob_refs = sx_blob_refs,
    .query = sx_query,
    .blobs = sx_blobs,
    .op_create = dvs_sx_op_create,
    .op_get = dvs_sx_op_get,
    .op_list = dvs_sx_op_list,
    .op_cancel = dvs_sx_op_cancel,
    .op_finish = dvs_sx_op_finish,
    .op_items_add = dvs_sx_op_items_add,
    .op_planned = dvs_sx_op_planned,
    .op_items_reset = dvs_sx_op_items_reset,
    .op_items_pending = dvs_sx_op_items_pending,
    .op_item_finish = dvs_sx_op_item_finish,
    .op_errors = dvs_sx_op_errors,
};

dvs_index *dvs_sqlite_open(const char *path, dv_error *err)
{
    sqlite_index *s = calloc(1, sizeof *s);
    if (s == NULL) {
        dv_fail(err, DV_ERR_NOMEM, "index: open");
        return NULL;
    }
    s->base.ops = &sqlite_ops;
    pthread_mutex_init(&s->mu, NULL);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) !=
        SQLITE_OK) {
        dv_fail(err, DV_ERR_IO, "index: cannot open the database");
        sx_close(&s->base);
        return NULL;
    }
    sqlite3_busy_timeout(s->db, 5000);
    /* WAL: readers never block the writer; synchronous=NORMAL is durable across a process crash (WAL
     * checkpoints are atomic), which is what kill -9 tests ask of us. */
    if (dvs_sx_exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", err) ||
        create_schema(s, err)) {
        sx_close(&s->base);
        return NULL;
    }
    return &s->base;
}
