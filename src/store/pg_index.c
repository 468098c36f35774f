/* The PostgreSQL backend of dvs_index (see dvs_index.h), for deployments where several server processes
 * share one index (`dicomveil serve --index postgresql://...`; docs/server.md "PostgreSQL").
 *
 * Connections: a small pool per process. Each index operation checks one connection out, uses it alone, and
 * gives it back, so no PGconn is ever used by two threads at once and no lock is held while PostgreSQL
 * works: request threads (libmicrohttpd's pool) and job workers run their statements in parallel, up to
 * PG_POOL_MAX connections (then a caller waits for a free one). A connection found broken is dropped when
 * it is returned; the next checkout opens a fresh one. [test_store: test_race_postgresql: two handles, two
 * threads each]
 *
 * Statements: every client value is a parameter of PQexecParams (text format); the statements themselves
 * are the shared ones of dvs_sql.h, so QIDO answers are the same rows in the same order as with SQLite.
 *
 * Concurrency between processes: the unique constraints decide. An instance is inserted with ON CONFLICT DO
 * NOTHING, and in READ COMMITTED a conflicting insert of another transaction makes ours wait for it, then
 * do nothing: of two processes storing the same SOP instance at once, exactly one stores it and the other
 * reports the duplicate. [test_store: test_race_postgresql; test_server_postgresql.py]
 *
 * Errors name the operation and the SQLSTATE only: PostgreSQL's messages can quote a key or a value (a
 * UID), which must not reach a log. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/dvs_sql.h"
#include "store/pg_internal.h"

/* Any fixed key: the schema step of open() holds this transaction-level advisory lock, so processes that
 * start together do not race on CREATE TABLE IF NOT EXISTS. */
#define PG_SCHEMA_LOCK 0x64766978 /* "dvix" */
/* Index schema versions (table dvs_schema); open() applies the missing steps in order. An index of a newer
 * version is refused (an older dicomveil would write rows without the columns it does not know). */
#define PG_SCHEMA_VERSION 3

static int conn_fail(PGconn *c, dv_error *err, const char *what)
{
    /* libpq's connection message names the server (host, socket, port) and the reason, never a password;
     * its first line is enough. */
    char msg[200];
    snprintf(msg, sizeof msg, "%s", c ? PQerrorMessage(c) : "out of memory");
    msg[strcspn(msg, "\n")] = '\0';
    return dv_fail(err, DV_ERR_IO, "index: %s: %s", what, msg);
}

static int res_fail(PGconn *c, const PGresult *r, dv_error *err, const char *what)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (state == NULL)
        return conn_fail(c, err, what);
    return dv_fail(err, DV_ERR_IO, "index: %s: PostgreSQL error SQLSTATE %s", what, state);
}

int dvs_pg_retryable(const PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    return state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0);
}

/* ---- the pool ---- */

/* Server notices ("relation ... already exists, skipping") are dropped: they are not errors, and a notice
 * may quote a value. */
static void drop_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static PGconn *connect_one(pg_index *p, dv_error *err)
{
    PGconn *c = PQconnectdb(p->conninfo);
    if (c == NULL || PQstatus(c) != CONNECTION_OK) {
        conn_fail(c, err, "cannot connect to PostgreSQL");
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, drop_notice, NULL);
    /* Text travels as UTF-8 whatever the client environment says (the index stores UTF-8). */
    if (PQsetClientEncoding(c, "UTF8") != 0) {
        conn_fail(c, err, "client encoding");
        PQfinish(c);
        return NULL;
    }
    return c;
}

PGconn *dvs_pg_acquire(pg_index *p, dv_error *err)
{
    pthread_mutex_lock(&p->mu);
    while (p->nidle == 0 && p->nopen >= PG_POOL_MAX)
        pthread_cond_wait(&p->freed, &p->mu);
    if (p->nidle) {
        PGconn *c = p->idle[--p->nidle];
        pthread_mutex_unlock(&p->mu);
        return c;
    }
    p->nopen++;
    pthread_mutex_unlock(&p->mu);
    /* Connecting takes a round trip or more: outside the lock. */
    PGconn *c = connect_one(p, err);
    if (c == NULL) {
        pthread_mutex_lock(&p->mu);
        p->nopen--;
        pthread_cond_signal(&p->freed);
        pthread_mutex_unlock(&p->mu);
    }
    return c;
}

void dvs_pg_release(pg_index *p, PGconn *c)
{
    if (c == NULL)
        return;
    /* A connection that broke, or is still inside a transaction after an error path, is not reused. */
    int keep = PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE;
    if (!keep)
        PQfinish(c);
    pthread_mutex_lock(&p->mu);
    if (keep)
        p->idle[p->nidle++] = c;
    else
        p->nopen--;
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->mu);
}

/* ---- statements ---- */

/* Run sql with n text parameters (NULL: SQL NULL). The result (caller PQclear's it) or NULL with err set;
 * *failed (optional) receives the failed result for a retry decision instead of clearing it. */
PGresult *dvs_pg_run(PGconn *c, const char *sql, int n, const char *const *vals, const char *what, dv_error *err,
                     PGresult **failed)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK)
        return r;
    res_fail(c, r, err, what);
    if (failed)
        *failed = r;
    else
        PQclear(r);
    return NULL;
}

/* A command without parameters or rows (BEGIN, COMMIT, ROLLBACK). */
int dvs_pg_command(PGconn *c, const char *sql, dv_error *err, PGresult **failed)
{
    PGresult *r = dvs_pg_run(c, sql, 0, NULL, sql, err, failed);
    PQclear(r);
    return r ? 0 : -1;
}

void dvs_pg_rollback(PGconn *c)
{
    PQclear(PQexec(c, "ROLLBACK"));
}

/* A built statement (dvs_sql.h): its integer parameters become decimal text. */
PGresult *dvs_pg_run_built(PGconn *c, const dvs_sql *b, const char *what, dv_error *err, PGresult **failed)
{
    if (b->overflow) {
        dv_fail(err, DV_ERR_LIMIT, "index: %s: statement too large", what);
        return NULL;
    }
    const char **vals = malloc((b->nparam + 1) * sizeof *vals);
    char (*num)[24] = malloc((b->nparam + 1) * sizeof *num);
    if (vals == NULL || num == NULL) {
        free(vals);
        free(num);
        dv_fail(err, DV_ERR_NOMEM, "index: %s", what);
        return NULL;
    }
    for (size_t k = 0; k < b->nparam; k++) {
        if (b->param[k].is_int) {
            snprintf(num[k], sizeof num[k], "%lld", (long long)b->param[k].i);
            vals[k] = num[k];
        } else {
            vals[k] = b->param[k].text;
        }
    }
    PGresult *r = dvs_pg_run(c, b->text, (int)b->nparam, vals, what, err, failed);
    free(vals);
    free(num);
    return r;
}

/* One built statement on a pooled connection (dvs_pg_one for dvs_sql). */
static PGresult *one_built(pg_index *p, const dvs_sql *b, const char *what, dv_error *err)
{
    PGconn *c = dvs_pg_acquire(p, err);
    PGresult *r = c ? dvs_pg_run_built(c, b, what, err, NULL) : NULL;
    dvs_pg_release(p, c);
    return r;
}

void dvs_pg_i64(char buf[24], int64_t v)
{
    snprintf(buf, 24, "%lld", (long long)v);
}

int64_t dvs_pg_get_i64(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

void dvs_pg_get_text(char *dst, size_t cap, const PGresult *r, int row, int col)
{
    snprintf(dst, cap, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

typedef struct pg_rows {
    const PGresult *r;
    int row, rows;
    dvs_pg_read_fn read;
} pg_rows;

/* The whole answer is in r: a step cannot fail. */
static int pg_rows_step(void *src, dv_error *err)
{
    (void)err;
    pg_rows *x = src;
    return ++x->row < x->rows;
}

static int pg_rows_read(void *src, void *elem)
{
    pg_rows *x = src;
    return x->read(x->r, x->row, elem);
}

int dvs_pg_page(const PGresult *r, dvs_pg_read_fn read, const dvs_page_kind *kind, void *out, uint32_t limit,
                size_t *n, int64_t *next, const char *what, dv_error *err)
{
    pg_rows x = {r, -1, PQntuples(r), read};
    dvs_page_rows rows = {pg_rows_step, pg_rows_read, &x};
    return dvs_page_fill(kind, &rows, out, limit, n, next, what, err);
}

/* ---- schema ---- */

/* The schema's transaction (arg: the DDL text). An advisory lock serialises the servers that start together. */
static int schema_tx(PGconn *c, void *arg, dv_error *err, PGresult **failed)
{
    const char *ddl = arg;
    char key[24];
    dvs_pg_i64(key, PG_SCHEMA_LOCK);
    const char *v[1] = {key};
    PGresult *r = dvs_pg_run(c, "SELECT pg_advisory_xact_lock($1::bigint)", 1, v, "schema lock", err, failed);
    if (r == NULL)
        return -1;
    PQclear(r);
    /* The schema statements hold no client value: one simple-protocol string. */
    r = PQexec(c, ddl);
    if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
        res_fail(c, r, err, "schema");
        *failed = r;
        return -1;
    }
    PQclear(r);
    if ((r = dvs_pg_run(c, "CREATE TABLE IF NOT EXISTS dvs_schema(version BIGINT NOT NULL)", 0, NULL, "schema", err,
                        failed)) == NULL)
        return -1;
    PQclear(r);
    if ((r = dvs_pg_run(c, "SELECT max(version) FROM dvs_schema", 0, NULL, "schema", err, failed)) == NULL)
        return -1;
    int64_t have = PQntuples(r) ? dvs_pg_get_i64(r, 0, 0) : 0;
    PQclear(r);
    if (have > PG_SCHEMA_VERSION)
        return dv_fail(err, DV_ERR_UNSUPPORTED, "index: the PostgreSQL schema is version %lld, newer than this "
                       "dicomveil's %d", (long long)have, PG_SCHEMA_VERSION);
    /* Version 1 is the schema above as first released; version 2 adds the columns of the attributes whose
     * since is 2 (BitsAllocated, TimezoneOffsetFromUTC); version 3 the folded twins of the PN columns
     * (DVS_FOLD_SINCE), with their index. All are already there in an index the template above has just made
     * (IF NOT EXISTS). */
    for (size_t i = 0; have < PG_SCHEMA_VERSION && i < dvs_nattrs; i++) {
        char alter[256];
        const dvs_attr *a = &dvs_attrs[i];
        if (a->since > have && a->since <= PG_SCHEMA_VERSION) {
            if (dvs_sql_add_column(DVS_DIALECT_PG, a, alter, sizeof alter))
                return dv_fail(err, DV_ERR_LIMIT, "index: schema upgrade too large");
            if ((r = dvs_pg_run(c, alter, 0, NULL, "schema upgrade", err, failed)) == NULL)
                return -1;
            PQclear(r);
        }
        if (dvs_attr_folded(a) && DVS_FOLD_SINCE > have && DVS_FOLD_SINCE <= PG_SCHEMA_VERSION) {
            if (dvs_sql_add_fold_column(DVS_DIALECT_PG, a, alter, sizeof alter))
                return dv_fail(err, DV_ERR_LIMIT, "index: schema upgrade too large");
            if ((r = dvs_pg_run(c, alter, 0, NULL, "schema upgrade", err, failed)) == NULL)
                return -1;
            PQclear(r);
        }
    }
    if ((r = dvs_pg_run(c, DVS_SQL_FOLD_INDEX, 0, NULL, "schema upgrade", err, failed)) == NULL)
        return -1;
    PQclear(r);
    /* The folds of the rows already there, in this transaction (under the lock): every open looks, as a server
     * of an older dicomveil that was running when the index was upgraded may still have inserted rows without
     * them. An older dicomveil opening the index refuses it (version 3 is newer than its own). */
    if (dvs_pg_fold_fill(c, err, failed))
        return -1;
    if (have < PG_SCHEMA_VERSION) {
        char ver[24];
        dvs_pg_i64(ver, PG_SCHEMA_VERSION);
        const char *vv[1] = {ver};
        r = dvs_pg_run(c, "INSERT INTO dvs_schema(version) VALUES($1::bigint)", 1, vv, "schema", err, failed);
        if (r == NULL)
            return -1;
        PQclear(r);
    }
    return DVS_OK;
}

static int create_schema(pg_index *p, dv_error *err)
{
    char *ddl = malloc(16384);
    if (ddl == NULL)
        return dv_fail(err, DV_ERR_NOMEM, "index: schema");
    int rc = dvs_sql_schema(DVS_DIALECT_PG, ddl, 16384) ? dv_fail(err, DV_ERR_LIMIT, "index: schema too large")
                                                        : dvs_pg_transaction(p, "BEGIN", schema_tx, ddl, err);
    free(ddl);
    return rc;
}

/* ---- datasets ---- */

static void pg_close(dvs_index *ix)
{
    pg_index *p = PX(ix);
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nidle; i++)
        PQfinish(p->idle[i]);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->freed);
    if (p->conninfo)
        memset(p->conninfo, 0, strlen(p->conninfo)); /* it may hold a password */
    free(p->conninfo);
    free(p);
}

static int pg_dataset_create(dvs_index *ix, dvs_dataset *d, dv_error *err)
{
    pg_index *p = PX(ix);
    dvs_rfc3339_now(d->create_time);
    const char *v[5] = {d->project, d->location, d->name, d->time_zone, d->create_time};
    PGresult *r = dvs_pg_one(p, DVS_SQL_DATASET_INSERT, 5, v, "dataset create", err);
    int rc = -1;
    if (r) {
        rc = PQntuples(r) ? DVS_OK : DVS_EXISTS;
        if (rc == DVS_OK)
            d->id = dvs_pg_get_i64(r, 0, 0);
    }
    PQclear(r);
    return rc;
}

static void read_dataset(const PGresult *r, int row, dvs_dataset *d)
{
    d->id = dvs_pg_get_i64(r, row, 0);
    dvs_pg_get_text(d->project, sizeof d->project, r, row, 1);
    dvs_pg_get_text(d->location, sizeof d->location, r, row, 2);
    dvs_pg_get_text(d->name, sizeof d->name, r, row, 3);
    dvs_pg_get_text(d->time_zone, sizeof d->time_zone, r, row, 4);
    dvs_pg_get_text(d->create_time, sizeof d->create_time, r, row, 5);
}

static int pg_dataset_get(dvs_index *ix, const char *project, const char *location, const char *name,
                          dvs_dataset *out, dv_error *err)
{
    pg_index *p = PX(ix);
    const char *v[3] = {project, location, name};
    PGresult *r = dvs_pg_one(p, DVS_SQL_DATASET_GET, 3, v, "dataset get", err);
    int rc = -1;
    if (r) {
        rc = PQntuples(r) ? DVS_OK : DVS_NOT_FOUND;
        if (rc == DVS_OK)
            read_dataset(r, 0, out);
    }
    PQclear(r);
    return rc;
}

static int page_dataset(const PGresult *r, int row, void *elem)
{
    read_dataset(r, row, elem);
    return 0;
}

static int pg_dataset_list(dvs_index *ix, const char *project, const char *location, int64_t after, uint32_t limit,
                           dvs_dataset *out, size_t *n, int64_t *next, dv_error *err)
{
    pg_index *p = PX(ix);
    *n = 0;
    *next = 0;
    char a[24], l[24];
    dvs_pg_i64(a, after);
    dvs_pg_i64(l, (int64_t)limit + 1);
    const char *v[4] = {project, location, a, l};
    PGresult *r = dvs_pg_one(p, DVS_SQL_DATASET_LIST, 4, v, "dataset list", err);
    if (r == NULL)
        return -1;
    int rc = dvs_pg_page(r, page_dataset, &dvs_page_datasets, out, limit, n, next, "dataset list", err);
    PQclear(r);
    return rc;
}

typedef struct dataset_delete_arg {
    int64_t dataset_id;
    int64_t **store_ids;
    size_t *nstores;
} dataset_delete_arg;

/* dataset_delete's transaction. The dataset row is locked first (FOR UPDATE conflicts with the key-share lock a
 * concurrent store_create takes on it), so the store ids listed are all the cascade will delete. */
static int dataset_delete_tx(PGconn *c, void *arg, dv_error *err, PGresult **failed)
{
    const dataset_delete_arg *a = arg;
    free(*a->store_ids); /* a failed try's list */
    *a->store_ids = NULL;
    *a->nstores = 0;
    char id[24];
    dvs_pg_i64(id, a->dataset_id);
    const char *v[1] = {id};
    PGresult *r = dvs_pg_run(c, "SELECT id FROM datasets WHERE id=$1 FOR UPDATE", 1, v, "dataset delete", err, failed);
    if (r == NULL)
        return -1;
    int found = PQntuples(r) > 0;
    PQclear(r);
    if (!found)
        return DVS_NOT_FOUND;
    if ((r = dvs_pg_run(c, DVS_SQL_DATASET_STORES, 1, v, "dataset delete", err, failed)) == NULL)
        return -1;
    int rows = PQntuples(r);
    if (rows) {
        *a->store_ids = malloc((size_t)rows * sizeof **a->store_ids);
        if (*a->store_ids == NULL) {
            PQclear(r);
            return dv_fail(err, DV_ERR_NOMEM, "index: dataset delete");
        }
        for (int i = 0; i < rows; i++)
            (*a->store_ids)[i] = dvs_pg_get_i64(r, i, 0);
        *a->nstores = (size_t)rows;
    }
    PQclear(r);
    if ((r = dvs_pg_run(c, DVS_SQL_DATASET_DELETE, 1, v, "dataset delete", err, failed)) == NULL)
        return -1;
    PQclear(r);
    return DVS_OK;
}

static int pg_dataset_delete(dvs_index *ix, int64_t dataset_id, int64_t **store_ids, size_t *nstores, dv_error *err)
{
    *store_ids = NULL;
    *nstores = 0;
    dataset_delete_arg a = {dataset_id, store_ids, nstores};
    int rc = dvs_pg_transaction(PX(ix), "BEGIN", dataset_delete_tx, &a, err);
    if (rc != DVS_OK) {
        free(*store_ids);
        *store_ids = NULL;
        *nstores = 0;
    }
    return rc;
}

/* ---- stores ---- */

static int read_store(const PGresult *r, int row, dvs_store *out)
{
    out->id = dvs_pg_get_i64(r, row, 0);
    out->dataset_id = dvs_pg_get_i64(r, row, 1);
    dvs_pg_get_text(out->name, sizeof out->name, r, row, 2);
    out->labels_json = strdup(PQgetisnull(r, row, 3) ? "{}" : PQgetvalue(r, row, 3));
    return out->labels_json ? 0 : -1;
}

static int pg_store_create(dvs_index *ix, int64_t dataset_id, const char *name, const char *labels_json,
                           dvs_store *out, dv_error *err)
{
    pg_index *p = PX(ix);
    char ds[24];
    dvs_pg_i64(ds, dataset_id);
    const char *v[3] = {ds, name, labels_json ? labels_json : "{}"};
    PGresult *r = dvs_pg_one(p, DVS_SQL_STORE_INSERT, 3, v, "store create", err);
    int rc = -1;
    if (r && PQntuples(r) == 0) {
        rc = DVS_EXISTS;
    } else if (r) {
        out->id = dvs_pg_get_i64(r, 0, 0);
        out->dataset_id = dataset_id;
        snprintf(out->name, sizeof out->name, "%s", name);
        out->labels_json = strdup(v[2]);
        rc = out->labels_json ? DVS_OK : dv_fail(err, DV_ERR_NOMEM, "index: store create");
    }
    PQclear(r);
    return rc;
}

static int pg_store_get(dvs_index *ix, int64_t dataset_id, const char *name, dvs_store *out, dv_error *err)
{
    pg_index *p = PX(ix);
    char ds[24];
    dvs_pg_i64(ds, dataset_id);
    const char *v[2] = {ds, name};
    PGresult *r = dvs_pg_one(p, DVS_SQL_STORE_GET, 2, v, "store get", err);
    int rc = -1;
    if (r && PQntuples(r) == 0)
        rc = DVS_NOT_FOUND;
    else if (r)
        rc = read_store(r, 0, out) ? dv_fail(err, DV_ERR_NOMEM, "index: store get") : DVS_OK;
    PQclear(r);
    return rc;
}

static int page_store(const PGresult *r, int row, void *elem)
{
    return read_store(r, row, elem);
}

static int pg_store_list(dvs_index *ix, int64_t dataset_id, int64_t after, uint32_t limit, dvs_store *out,
                         size_t *n, int64_t *next, dv_error *err)
{
    pg_index *p = PX(ix);
    *n = 0;
    *next = 0;
    char ds[24], a[24], l[24];
    dvs_pg_i64(ds, dataset_id);
    dvs_pg_i64(a, after);
    dvs_pg_i64(l, (int64_t)limit + 1);
    const char *v[3] = {ds, a, l};
    PGresult *r = dvs_pg_one(p, DVS_SQL_STORE_LIST, 3, v, "store list", err);
    if (r == NULL)
        return -1;
    int rc = dvs_pg_page(r, page_store, &dvs_page_stores, out, limit, n, next, "store list", err);
    PQclear(r);
    return rc;
}

static int pg_store_delete(dvs_index *ix, int64_t store_id, dv_error *err)
{
    pg_index *p = PX(ix);
    char id[24];
    dvs_pg_i64(id, store_id);
    const char *v[1] = {id};
    PGresult *r = dvs_pg_one(p, DVS_SQL_STORE_DELETE_FORGETTING, 1, v, "store delete", err);
    int rc = -1;
    if (r)
        rc = strcmp(PQcmdTuples(r), "0") == 0 ? DVS_NOT_FOUND : DVS_OK;
    PQclear(r);
    return rc;
}

static int pg_store_metrics(dvs_index *ix, int64_t store_id, dvs_metrics *m, dv_error *err)
{
    pg_index *p = PX(ix);
    memset(m, 0, sizeof *m);
    char id[24];
    dvs_pg_i64(id, store_id);
    const char *v[1] = {id};
    PGresult *r = dvs_pg_one(p, DVS_SQL_STORE_METRICS, 1, v, "store metrics", err);
    int rc = -1;
    if (r && PQntuples(r) == 1) {
        m->studies = (uint64_t)dvs_pg_get_i64(r, 0, 0);
        m->series = (uint64_t)dvs_pg_get_i64(r, 0, 1);
        m->instances = (uint64_t)dvs_pg_get_i64(r, 0, 2);
        m->bytes = (uint64_t)dvs_pg_get_i64(r, 0, 3);
        rc = DVS_OK;
    } else if (r) {
        dv_fail(err, DV_ERR_IO, "index: store metrics: no row");
    }
    PQclear(r);
    return rc;
}

/* ---- instances ---- */

static int existing_blob_of(PGconn *c, const char *store, const char *sop, char out[65], int *found, dv_error *err,
                            PGresult **failed)
{
    const char *v[2] = {store, sop};
    PGresult *r = dvs_pg_run(c, DVS_SQL_INSTANCE_BLOB, 2, v, "instance put", err, failed);
    if (r == NULL)
        return -1;
    *found = PQntuples(r) > 0;
    if (*found)
        dvs_pg_get_text(out, 65, r, 0, 0);
    PQclear(r);
    return 0;
}

static int level_id(PGconn *c, dvs_sql *b, dvs_level level, int64_t parent, const char *uid,
                    const dvs_instance_rec *rec, int64_t *id, dv_error *err, PGresult **failed)
{
    dvs_sql_init(b, DVS_DIALECT_PG);
    dvs_sql_level_insert(b, level, parent, uid, rec);
    PGresult *r = dvs_pg_run_built(c, b, "instance put", err, failed);
    if (r == NULL)
        return -1;
    PQclear(r);
    dvs_sql_init(b, DVS_DIALECT_PG);
    dvs_sql_level_id(b, level, parent, uid);
    if ((r = dvs_pg_run_built(c, b, "instance put", err, failed)) == NULL)
        return -1;
    int ok = PQntuples(r) == 1;
    if (ok)
        *id = dvs_pg_get_i64(r, 0, 0);
    PQclear(r);
    return ok ? 0 : dv_fail(err, DV_ERR_IO, "index: instance put: level row missing");
}

typedef struct instance_put_arg {
    dvs_sql *b;
    int64_t store_id;
    const dvs_instance_rec *rec;
    char *existing_blob;
} instance_put_arg;

static int instance_put_tx(PGconn *c, void *arg, dv_error *err, PGresult **failed)
{
    const instance_put_arg *a = arg;
    dvs_sql *b = a->b;
    const dvs_instance_rec *rec = a->rec;
    char store[24];
    dvs_pg_i64(store, a->store_id);
    int found = 0;
    if (existing_blob_of(c, store, rec->sop_uid, a->existing_blob, &found, err, failed))
        return -1;
    if (found)
        return DVS_EXISTS;
    int64_t study_id, series_id;
    if (level_id(c, b, DVS_STUDY, a->store_id, rec->study_uid, rec, &study_id, err, failed) ||
        level_id(c, b, DVS_SERIES, study_id, rec->series_uid, rec, &series_id, err, failed))
        return -1;
    dvs_sql_init(b, DVS_DIALECT_PG);
    dvs_sql_instance_insert(b, series_id, a->store_id, rec);
    PGresult *r = dvs_pg_run_built(c, b, "instance put", err, failed);
    if (r == NULL)
        return -1;
    int inserted = PQntuples(r) == 1;
    PQclear(r);
    if (!inserted) {
        /* Another transaction stored the same SOP instance since our first look (it committed while our
         * insert waited): a duplicate, and its blob is now visible to a new statement. */
        if (existing_blob_of(c, store, rec->sop_uid, a->existing_blob, &found, err, failed))
            return -1;
        return DVS_EXISTS;
    }
    return DVS_OK;
}

static int pg_instance_put(dvs_index *ix, int64_t store_id, const dvs_instance_rec *rec, char existing_blob[65],
                           dv_error *err)
{
    dvs_sql *b = malloc(sizeof *b);
    if (b == NULL)
        return dv_fail(err, DV_ERR_NOMEM, "index: instance put");
    instance_put_arg a = {b, store_id, rec, existing_blob};
    int rc = dvs_pg_transaction(PX(ix), "BEGIN", instance_put_tx, &a, err);
    free(b);
    return rc;
}

static int pg_blob_refs(dvs_index *ix, int64_t store_id, const char *blob, uint64_t *count, dv_error *err)
{
    pg_index *p = PX(ix);
    char id[24];
    dvs_pg_i64(id, store_id);
    const char *v[2] = {id, blob};
    PGresult *r = dvs_pg_one(p, DVS_SQL_BLOB_REFS, 2, v, "blob refs", err);
    int rc = -1;
    if (r && PQntuples(r) == 1) {
        *count = (uint64_t)dvs_pg_get_i64(r, 0, 0);
        rc = DVS_OK;
    } else if (r) {
        dv_fail(err, DV_ERR_IO, "index: blob refs: no row");
    }
    PQclear(r);
    return rc;
}

/* ---- QIDO, WADO ---- */

static int pg_query(dvs_index *ix, int64_t store_id, const dvs_query *q, dvs_row_fn fn, void *user, dv_error *err)
{
    pg_index *p = PX(ix);
    dvs_sql *b = malloc(sizeof *b);
    if (b == NULL)
        return dv_fail(err, DV_ERR_NOMEM, "index: query");
    dvs_sql_init(b, DVS_DIALECT_PG);
    dvs_sql_query(b, store_id, q);
    /* The rows are in r: the connection goes back before the callback writes to a client. */
    PGresult *r = one_built(p, b, "query", err);
    int rc = r ? DVS_OK : -1;
    int rows = r ? PQntuples(r) : 0;
    size_t ncol = b->ncol;
    for (int i = 0; rc == DVS_OK && i < rows; i++) {
        dvs_row row;
        memset(&row, 0, sizeof row);
        for (size_t k = 0; k < ncol; k++)
            row.attr[b->colattr[k]] = PQgetisnull(r, i, (int)k) ? NULL : PQgetvalue(r, i, (int)k);
        row.nseries = (uint64_t)dvs_pg_get_i64(r, i, (int)ncol);
        row.ninstances = (uint64_t)dvs_pg_get_i64(r, i, (int)ncol + 1);
        row.modalities = PQgetisnull(r, i, (int)ncol + 2) ? "" : PQgetvalue(r, i, (int)ncol + 2);
        if (fn(&row, user))
            rc = -1;
    }
    PQclear(r);
    free(b);
    return rc;
}

static int pg_blobs(dvs_index *ix, int64_t store_id, const char *study, const char *series, const char *sop,
                    dvs_blob_fn fn, void *user, dv_error *err)
{
    pg_index *p = PX(ix);
    dvs_sql *b = malloc(sizeof *b);
    if (b == NULL)
        return dv_fail(err, DV_ERR_NOMEM, "index: blobs");
    dvs_sql_init(b, DVS_DIALECT_PG);
    dvs_sql_blobs(b, store_id, study, series, sop);
    PGresult *r = one_built(p, b, "blobs", err);
    free(b);
    if (r == NULL)
        return -1;
    int rows = PQntuples(r);
    int rc = rows ? DVS_OK : DVS_NOT_FOUND;
    for (int i = 0; rc == DVS_OK && i < rows; i++) {
        dvs_blob_ref f;
        dvs_pg_get_text(f.study_uid, sizeof f.study_uid, r, i, 0);
        dvs_pg_get_text(f.series_uid, sizeof f.series_uid, r, i, 1);
        dvs_pg_get_text(f.sop_uid, sizeof f.sop_uid, r, i, 2);
        dvs_pg_get_text(f.sop_class_uid, sizeof f.sop_class_uid, r, i, 3);
        dvs_pg_get_text(f.transfer_syntax, sizeof f.transfer_syntax, r, i, 4);
        dvs_pg_get_text(f.blob, sizeof f.blob, r, i, 5);
        f.size = (uint64_t)dvs_pg_get_i64(r, i, 6);
        if (fn(&f, user))
            rc = -1;
    }
    PQclear(r);
    return rc;
}

typedef struct instances_delete_arg {
    dvs_sql *b;
    int64_t store_id;
    const char *study, *series, *sop;
    dvs_blob_ref *refs; /* the rows deleted (malloc'd) */
    size_t n;
} instances_delete_arg;

/* instances_delete's transaction. REPEATABLE READ: the rows listed are exactly the rows deleted (a concurrent
 * change to one of them is a serialization failure, retried; an instance stored meanwhile is not in the
 * snapshot and stays). The refs are read in the transaction and handed to fn after it commits. */
static int instances_delete_tx(PGconn *c, void *arg, dv_error *err, PGresult **failed)
{
    instances_delete_arg *a = arg;
    dvs_sql *b = a->b;
    free(a->refs); /* a failed try's list */
    a->refs = NULL;
    a->n = 0;
    dvs_sql_init(b, DVS_DIALECT_PG);
    dvs_sql_blobs(b, a->store_id, a->study, a->series, a->sop);
    PGresult *r = dvs_pg_run_built(c, b, "instances delete", err, failed);
    if (r == NULL)
        return -1;
    int rows = PQntuples(r);
    if (rows == 0) {
        PQclear(r);
        return DVS_NOT_FOUND;
    }
    dvs_blob_ref *refs = calloc((size_t)rows, sizeof *refs);
    if (refs == NULL) {
        PQclear(r);
        return dv_fail(err, DV_ERR_NOMEM, "index: instances delete");
    }
    for (int i = 0; i < rows; i++) {
        dvs_blob_ref *f = &refs[i];
        dvs_pg_get_text(f->study_uid, sizeof f->study_uid, r, i, 0);
        dvs_pg_get_text(f->series_uid, sizeof f->series_uid, r, i, 1);
        dvs_pg_get_text(f->sop_uid, sizeof f->sop_uid, r, i, 2);
        dvs_pg_get_text(f->sop_class_uid, sizeof f->sop_class_uid, r, i, 3);
        dvs_pg_get_text(f->transfer_syntax, sizeof f->transfer_syntax, r, i, 4);
        dvs_pg_get_text(f->blob, sizeof f->blob, r, i, 5);
        f->size = (uint64_t)dvs_pg_get_i64(r, i, 6);
    }
    PQclear(r);
    a->refs = refs;
    for (int step = 0; step < 3; step++) {
        dvs_sql_init(b, DVS_DIALECT_PG);
        dvs_sql_instances_delete(b, step, a->store_id, a->study, a->series, a->sop);
        if ((r = dvs_pg_run_built(c, b, "instances delete", err, failed)) == NULL)
            return -1;
        PQclear(r);
    }
    a->n = (size_t)rows;
    return DVS_OK;
}

static int pg_instances_delete(dvs_index *ix, int64_t store_id, const char *study, const char *series,
                               const char *sop, dvs_blob_fn fn, void *user, dv_error *err)
{
    dvs_sql *b = malloc(sizeof *b);
    if (b == NULL)
        return dv_fail(err, DV_ERR_NOMEM, "index: instances delete");
    instances_delete_arg a = {b, store_id, study, series, sop, NULL, 0};
    int rc = dvs_pg_transaction(PX(ix), "BEGIN ISOLATION LEVEL REPEATABLE READ", instances_delete_tx, &a, err);
    free(b);
    for (size_t k = 0; rc == DVS_OK && k < a.n; k++)
        if (fn(&a.refs[k], user))
            rc = -1;
    free(a.refs);
    return rc;
}

static const dvs_index_ops pg_ops = {
    .close = pg_close,
    .dataset_create = pg_dataset_create,
    .dataset_get = pg_dataset_get,
    .dataset_list = pg_dataset_list,
    .dataset_delete = pg_dataset_delete,
    .store_create = pg_store_create,
    .store_get = pg_store_get,
    .store_list = pg_store_list,
    .store_delete = pg_store_delete,
    .store_metrics = pg_store_metrics,
    .instance_put = pg_instance_put,
    .blob_refs = pg_blob_refs,
    .query = pg_query,
    .blobs = pg_blobs,
    .instances_delete = pg_instances_delete,
    .op_create = dvs_pg_op_create,
    .op_get = dvs_pg_op_get,
    .op_list = dvs_pg_op_list,
    .op_cancel = dvs_pg_op_cancel,
    .op_finish = dvs_pg_op_finish,
    .op_items_add = dvs_pg_op_items_add,
    .op_planned = dvs_pg_op_planned,
    .op_items_reset = dvs_pg_op_items_reset,
    .op_items_pending = dvs_pg_op_items_pending,
    .op_item_finish = dvs_pg_op_item_finish,
    .op_items_finish = dvs_pg_op_items_finish,
    .op_errors = dvs_pg_op_errors,
};

dvs_index *dvs_pg_open(const char *url, dv_error *err)
{
    pg_index *p = calloc(1, sizeof *p);
    if (p == NULL || (p->conninfo = strdup(url)) == NULL) {
        free(p);
        dv_fail(err, DV_ERR_NOMEM, "index: open");
        return NULL;
    }
    p->base.ops = &pg_ops;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->freed, NULL);
    PGconn *c = dvs_pg_acquire(p, err);
    if (c == NULL) {
        pg_close(&p->base);
        return NULL;
    }
    /* The index stores UTF-8 text: a database in another encoding would refuse or alter some values. */
    const char *enc = PQparameterStatus(c, "server_encoding");
    if (enc == NULL || strcmp(enc, "UTF8") != 0) {
        dv_fail(err, DV_ERR_UNSUPPORTED, "index: the PostgreSQL database must use the UTF8 encoding");
        PQfinish(c);
        pg_close(&p->base);
        return NULL;
    }
    dvs_pg_release(p, c);
    if (create_schema(p, err)) {
        pg_close(&p->base);
        return NULL;
    }
    return &p->base;
}
