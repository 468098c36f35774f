/* The SQLite backend of dvs_index (see dvs_index.h): the embedded default.
 *
 * One writer connection in WAL mode behind a mutex (SQLite serialises writers anyway), and a pool of read
 * connections for the reads of requests: a QIDO runs on a read connection and sees the last commit, never
 * waiting behind STOW inserts (before: one connection for everything, QIDO p99 3.9 s under STOW load; bench/
 * RESULTS.md "Server load"). STOWs arriving together share one transaction and one commit
 * (instance_put_batch, driven by src/http/put_batch.c). Statements come from the SQL shared with the
 * PostgreSQL backend (dvs_sql.h, sql_build.c: schema, inserts, QIDO) and are prepared once per connection
 * (dvs_sx_stmt's cache). The level tables' attribute columns come from dvs_attrs (query_attrs.c): one home
 * for "which attributes the index keeps". */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/dvs_sql.h"
#include "store/sqlite_internal.h"

int dvs_sx_fail(dvs_sx_conn *s, dv_error *err, const char *what)
{
    /* SQLite's message names the statement's problem (a constraint, a lock), never a bound value. */
    return dv_fail(err, DV_ERR_IO, "index: %s: %s", what, sqlite3_errmsg(s->db));
}

int dvs_sx_exec(dvs_sx_conn *s, const char *sql, dv_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        dv_fail(err, DV_ERR_IO, "index: %s", msg ? msg : "exec failed");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* After a write that forgot PHI (an operation's finish, a dataset, store or instance delete), with the writer's
 * mutex held: copy the WAL into the database and truncate it to 0 bytes. Otherwise the forgotten values' old
 * frames stay in index.sqlite-wal until SQLite happens to overwrite them (the WAL is reused, not truncated,
 * between checkpoints), readable in any copy of DATA taken while the server runs; secure_delete (set at open)
 * zeroes them in the database file as the checkpoint writes its pages. Once per forgetting write, not per
 * instance: a STOW forgets nothing and pays nothing. Best effort: a reader still on an older snapshot past ~100 ms
 * (sx_busy_brief) leaves the WAL to the next forgetting write or the close. [test_store.c:
 * test_sqlite_forget_leaves_no_wal; red team round 4, finding 03] */
static int sx_busy(void *arg, int n);

/* The checkpoint's own busy handler: about 100 ms (1 ms waits), not the 5 s of every statement's: the writer's mutex
 * is held, and every STOW and item write waited out a reader on an older snapshot (stop 52's review). */
static int sx_busy_brief(void *arg, int n)
{
    (void)arg;
    if (n >= 100)
        return 0;
    struct timespec ts = {0, 1000000L};
    nanosleep(&ts, NULL);
    return 1;
}

static int64_t mono_ms(void);

void dvs_sx_forget_flush(dvs_sx_conn *s)
{
    if (!s->rebuild_due)
        s->due_since_ms = mono_ms();
    s->rebuild_due = 1;
    sqlite3_busy_handler(s->db, sx_busy_brief, NULL);
    (void)sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    sqlite3_busy_handler(s->db, sx_busy, NULL);
}

/* After a store or dataset delete (rare; the writer's mutex held), and when any write forgot something since the
 * last rebuild (a DICOMweb DELETE, an operation's finish: too frequent to pay it each) once the index is idle
 * (sx_idle) or at the close: rebuild the file from the live rows, then truncate the WAL (dvs_sx_forget_flush).
 * secure_delete zeroes a freed cell, not the copy of a cell a b-tree rebalance leaves in a page's unused area: a
 * deleted store's UIDs stayed in a page now holding other rows (red team round 5, finding 05). VACUUM writes every
 * page anew; its working copy stays in memory (temp_store=MEMORY), never in a temporary file. It costs a rewrite
 * of the whole index while every STOW waits (docs/server.md "What the index forgets" gives the figures); a
 * DICOMweb DELETE does not wait for it. Best effort: a failure (a full disk) leaves the index as the delete left
 * it. [test_store.c: test_sqlite_store_delete_leaves_no_uid] */
void dvs_sx_forget_rebuild(dvs_sx_conn *s)
{
    int ok = sqlite3_exec(s->db, "VACUUM", NULL, NULL, NULL) == SQLITE_OK;
    dvs_sx_forget_flush(s);
    s->rebuild_due = !ok;
    s->due_since_ms = ok ? 0 : mono_ms(); /* a failure (a full disk) waits its due_max_ms again */
}

void dvs_sx_unlock(dvs_sx_conn *s)
{
    if (s->rebuild_due) {
        unsigned max = atomic_load_explicit(&s->due_max_ms, memory_order_relaxed);
        if (max && mono_ms() - s->due_since_ms >= (int64_t)max && sqlite3_get_autocommit(s->db))
            dvs_sx_forget_rebuild(s);
    }
    pthread_mutex_unlock(&s->mu);
}

void dvs_sx_now(char out[32])
{
    dvs_rfc3339_now(out);
}

void dvs_sx_copy_col(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static uint64_t fnv1a(const char *t)
{
    uint64_t h = 1469598103934665603ull;
    for (; *t; t++)
        h = (h ^ (unsigned char)*t) * 1099511628211ull;
    return h;
}

sqlite3_stmt *dvs_sx_stmt(dvs_sx_conn *s, const char *sql, const char *what, dv_error *err)
{
    uint64_t h = fnv1a(sql);
    dvs_sx_cached_stmt *slot = NULL;
    for (size_t i = 0; i < DVS_SX_STMT_CACHE; i++) {
        dvs_sx_cached_stmt *c = &s->cache[i];
        if (c->st && c->hash == h && strcmp(c->sql, sql) == 0) {
            c->used = ++s->tick;
            sqlite3_reset(c->st);
            sqlite3_clear_bindings(c->st);
            return c->st;
        }
        /* A statement a caller is still walking (stepped, not reset) is never the one evicted. */
        if ((slot == NULL || c->used < slot->used) && !(c->st && sqlite3_stmt_busy(c->st)))
            slot = c;
    }
    if (slot == NULL) {
        dv_fail(err, DV_ERR_LIMIT, "index: %s: every cached statement is in use", what);
        return NULL;
    }
    size_t n = strlen(sql);
    char *text = malloc(n + 1);
    if (text == NULL || dvs_sql_sqlite_placeholders(sql, text, n + 1)) {
        free(text);
        dv_fail(err, DV_ERR_NOMEM, "index: %s", what);
        return NULL;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(s->db, text, (int)n, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        free(text);
        dvs_sx_fail(s, err, what);
        return NULL;
    }
    memcpy(text, sql, n + 1); /* the key is the text as the caller wrote it */
    sqlite3_finalize(slot->st);
    free(slot->sql);
    slot->hash = h;
    slot->sql = text;
    slot->st = st;
    slot->used = ++s->tick;
    return st;
}

void dvs_sx_bind(sqlite3_stmt *st, const dvs_sql *b)
{
    for (size_t k = 0; k < b->nparam; k++) {
        const dvs_sql_param *p = &b->param[k];
        if (p->is_int)
            sqlite3_bind_int64(st, (int)k + 1, p->i);
        else if (p->text)
            sqlite3_bind_text(st, (int)k + 1, p->text, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, (int)k + 1);
    }
}

/* A statement without parameters or rows (BEGIN, COMMIT, ROLLBACK), through the cache. */
static int run(dvs_sx_conn *s, const char *sql, dv_error *err)
{
    sqlite3_stmt *st = dvs_sx_stmt(s, sql, sql, err);
    if (st == NULL)
        return -1;
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    return r == SQLITE_DONE ? 0 : dvs_sx_fail(s, err, sql);
}

/* 1 when the level table of a has the column named column (a's, or its folded twin's), 0 when not, -1 on error. */
static int has_column(dvs_sx_conn *s, const dvs_attr *a, const char *column, dv_error *err)
{
    sqlite3_stmt *st;
    const char *table = dvs_sql_level_table(a->level);
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM pragma_table_info(?1) WHERE name = ?2", -1, &st, NULL) !=
        SQLITE_OK)
        return dvs_sx_fail(s, err, "schema upgrade");
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) > 0 : -1;
    sqlite3_finalize(st);
    return rc < 0 ? dvs_sx_fail(s, err, "schema upgrade") : rc;
}

/* The column named column of a added when the index lacks it (sql: its ALTER). */
static int add_column(dvs_sx_conn *s, const dvs_attr *a, const char *column, const char *sql, dv_error *err)
{
    int have = has_column(s, a, column, err);
    if (have < 0)
        return -1;
    return have ? 0 : dvs_sx_exec(s, sql, err);
}

/* The columns added since the first schema (dvs_attr.since, and the folded twins of PN columns: DVS_FOLD_SINCE)
 * that the index lacks, added. */
static int add_columns(dvs_sx_conn *s, dv_error *err)
{
    for (size_t i = 0; i < dvs_nattrs; i++) {
        const dvs_attr *a = &dvs_attrs[i];
        if (a->column == NULL)
            continue;
        char sql[256], twin[128];
        if (a->since != 0) {
            if (dvs_sql_add_column(DVS_DIALECT_SQLITE, a, sql, sizeof sql))
                return dv_fail(err, DV_ERR_LIMIT, "index: schema upgrade too large");
            if (add_column(s, a, a->column, sql, err))
                return -1;
        }
        if (dvs_attr_folded(a)) {
            snprintf(twin, sizeof twin, "%s" DVS_FOLD_SUFFIX, a->column);
            if (dvs_sql_add_fold_column(DVS_DIALECT_SQLITE, a, sql, sizeof sql))
                return dv_fail(err, DV_ERR_LIMIT, "index: schema upgrade too large");
            if (add_column(s, a, twin, sql, err))
                return -1;
        }
    }
    return 0;
}

/* The schema; an index made by an earlier dicomveil gets the columns added since (dvs_attr.since): SQLite has
 * no ADD COLUMN IF NOT EXISTS, so each is looked for first, under the write lock (BEGIN IMMEDIATE: two servers
 * opening one old index at once would both find a column missing, and the second ALTER would fail its open).
 * Their values stay empty for the instances indexed before (QIDO answers them empty, as any attribute an
 * instance lacks), except the folded twins of PN columns: those are filled from the rows' names in the same
 * transaction (sqlite_fold.c), or fuzzy matching would miss every patient indexed before.
 * [test_store: test_index_upgrade_sqlite, test_index_upgrade_sqlite_race] */
static int create_schema(dvs_sx_conn *s, dv_error *err)
{
    char sql[8192];
    if (dvs_sql_schema(DVS_DIALECT_SQLITE, sql, sizeof sql))
        return dv_fail(err, DV_ERR_LIMIT, "index: schema too large");
    if (dvs_sx_exec(s, sql, err) || dvs_sx_exec(s, "BEGIN IMMEDIATE", err))
        return -1;
    if (add_columns(s, err) || dvs_sx_exec(s, DVS_SQL_FOLD_INDEX, err) || dvs_sx_fold_fill(s, err) ||
        dvs_sx_exec(s, "COMMIT", err)) {
        dvs_sx_exec(s, "ROLLBACK", NULL);
        return -1;
    }
    return 0;
}

static void conn_close(dvs_sx_conn *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < DVS_SX_STMT_CACHE; i++) {
        sqlite3_finalize(c->cache[i].st);
        free(c->cache[i].sql);
    }
    sqlite3_close(c->db);
    pthread_mutex_destroy(&c->mu);
}

static void sx_close(dvs_index *ix)
{
    sqlite_index *s = SX(ix);
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nreaders; i++) {
        conn_close(s->readers[i]);
        free(s->readers[i]);
    }
    if (s->w.db && s->w.rebuild_due) /* no reader left: nothing holds an older snapshot */
        dvs_sx_forget_rebuild(&s->w);
    conn_close(&s->w);
    pthread_mutex_destroy(&s->rmu);
    pthread_cond_destroy(&s->rfree);
    free(s->path);
    free(s);
}

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A DICOMweb DELETE or an operation's finish leaves what a b-tree rebalance copied of the forgotten rows in free
 * parts of live pages (dvs_sx_forget_rebuild): a VACUUM each would cost ~1 s on 100,000 instances, so it waits for
 * a quiet index instead, settle_ms with no change through the writer (sqlite3_total_changes, which VACUUM itself
 * does not move). A write in progress (the writer's mutex taken, or a transaction open) restarts the wait and is
 * never waited for; a STOW arriving during the rebuild waits for it (docs/server.md "What the index forgets").
 * Writes that never pause for settle_ms (a long import beside DELETEs) would put the rebuild off for as long as
 * they last, so once due_max_ms have passed since it became due it runs here if the writer's mutex is free, and
 * otherwise at the end of the write that holds it (dvs_sx_unlock: a writer that takes the mutex back at once
 * leaves a look like this one no moment to take it, stop 55's review): one wait of the rebuild's length for a
 * STOW, at most once per due_max_ms. This look hands due_max_ms to the writer. After a rebuild, failed or not,
 * both waits start again: a full disk does not make it retry every second. */
static int sx_idle(dvs_index *ix, unsigned settle_ms, unsigned due_max_ms)
{
    sqlite_index *s = SX(ix);
    int64_t now = mono_ms();
    atomic_store_explicit(&s->w.due_max_ms, due_max_ms ? due_max_ms : 1, memory_order_relaxed);
    if (pthread_mutex_trylock(&s->w.mu) != 0)
        return 0; /* a write in progress: idle_since moves when its changes are seen (the write ends an overdue wait) */
    int rebuilt = 0;
    int64_t changes = sqlite3_total_changes64(s->w.db);
    int autocommit = sqlite3_get_autocommit(s->w.db);
    int quiet = changes == s->idle_changes && autocommit;
    if (!quiet) {
        s->idle_changes = changes;
        s->idle_since_ms = now;
    }
    int settled = quiet && now - s->idle_since_ms >= (int64_t)settle_ms;
    int overdue = autocommit && now - s->w.due_since_ms >= (int64_t)due_max_ms;
    if (s->w.rebuild_due && (settled || overdue)) {
        dvs_sx_forget_rebuild(&s->w);
        s->idle_changes = sqlite3_total_changes64(s->w.db);
        s->idle_since_ms = mono_ms();
        rebuilt = 1;
    }
    pthread_mutex_unlock(&s->w.mu);
    return rebuilt;
}

/* Busy handler of every connection: SQLite's own (sqlite3_busy_timeout) sleeps 1, 2, 5, 10, 15, 20... ms, and
 * a WAL reader is refused only for moments (a read-mark slot being moved: DVS_SX_READERS readers share the
 * WAL's 5 slots; the writer restarting the WAL), so each refusal cost a QIDO 1-33 ms: under STOW load QIDO
 * p50 was 33-35 ms (= 1+2+5+10+15) at 145k instances (bench/RESULTS.md "Full size after wp-stow +
 * wp-opperf"). Here: 200 short waits of 50 us (10 ms), then 1 ms waits; about 5 s in all, as before. */
static int sx_busy(void *arg, int n)
{
    (void)arg;
    if (n >= 200 + 5000)
        return 0;
    struct timespec ts = {0, n < 200 ? 50000L : 1000000L};
    nanosleep(&ts, NULL);
    return 1;
}

/* A read connection: its own file handle on the database, query_only so that a bug can never write through it. */
static dvs_sx_conn *reader_open(const char *path, dv_error *err)
{
    dvs_sx_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        dv_fail(err, DV_ERR_NOMEM, "index: open a reader");
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        dv_fail(err, DV_ERR_IO, "index: cannot open a read connection");
        conn_close(c);
        free(c);
        return NULL;
    }
    sqlite3_busy_handler(c->db, sx_busy, NULL);
    if (dvs_sx_exec(c, "PRAGMA query_only=1;", err)) {
        conn_close(c);
        free(c);
        return NULL;
    }
    return c;
}

dvs_sx_conn *dvs_sx_reader_get(sqlite_index *s, dv_error *err)
{
    pthread_mutex_lock(&s->rmu);
    dvs_sx_conn *c = NULL;
    for (;;) {
        for (size_t i = 0; i < s->nreaders && c == NULL; i++)
            if (!s->rbusy[i]) {
                s->rbusy[i] = 1;
                c = s->readers[i];
            }
        if (c || s->nreaders < DVS_SX_READERS)
            break;
        pthread_cond_wait(&s->rfree, &s->rmu);
    }
    if (c == NULL) {
        /* Opened under rmu: rare (at most DVS_SX_READERS times in the index's life) and quick. */
        c = reader_open(s->path, err);
        if (c) {
            s->readers[s->nreaders] = c;
            s->rbusy[s->nreaders++] = 1;
        }
    }
    pthread_mutex_unlock(&s->rmu);
    return c;
}

void dvs_sx_reader_put(sqlite_index *s, dvs_sx_conn *c)
{
    pthread_mutex_lock(&s->rmu);
    for (size_t i = 0; i < s->nreaders; i++)
        if (s->readers[i] == c)
            s->rbusy[i] = 0;
    pthread_cond_signal(&s->rfree);
    pthread_mutex_unlock(&s->rmu);
}

typedef struct sx_rows {
    dvs_sx_conn *s;
    sqlite3_stmt *st;
    dvs_sx_read_fn read;
    const char *what;
} sx_rows;

static int sx_rows_step(void *src, dv_error *err)
{
    sx_rows *x = src;
    int r = sqlite3_step(x->st);
    if (r == SQLITE_ROW)
        return 1;
    return r == SQLITE_DONE ? 0 : dvs_sx_fail(x->s, err, x->what);
}

static int sx_rows_read(void *src, void *elem)
{
    sx_rows *x = src;
    return x->read(x->st, elem);
}

int dvs_sx_page(dvs_sx_conn *s, sqlite3_stmt *st, dvs_sx_read_fn read, const dvs_page_kind *kind, void *out,
                uint32_t limit, size_t *n, int64_t *next, const char *what, dv_error *err)
{
    sx_rows x = {s, st, read, what};
    dvs_page_rows rows = {sx_rows_step, sx_rows_read, &x};
    return dvs_page_fill(kind, &rows, out, limit, n, next, what, err);
}

static int sx_dataset_create(dvs_index *ix, dvs_dataset *d, dv_error *err)
{
    dvs_sx_conn *s = &SX(ix)->w;
    dvs_rfc3339_now(d->create_time);
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    sqlite3_stmt *st = dvs_sx_stmt(s, DVS_SQL_DATASET_INSERT, "dataset create", err);
    if (st == NULL)
        goto out;
    sqlite3_bind_text(st, 1, d->project, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, d->location, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, d->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, d->time_zone, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, d->create_time, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        d->id = sqlite3_column_int64(st, 0);
        rc = DVS_OK;
    } else if (r == SQLITE_DONE) {
        rc = DVS_EXISTS; /* ON CONFLICT DO NOTHING: the name is taken */
    } else {
        dvs_sx_fail(s, err, "dataset create");
    }
    sqlite3_reset(st);
out:
    dvs_sx_unlock(s);
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
    sqlite_index *x = SX(ix);
    dvs_sx_conn *s = dvs_sx_reader_get(x, err);
    if (s == NULL)
        return -1;
    int rc = -1;
    sqlite3_stmt *st = dvs_sx_stmt(s, DVS_SQL_DATASET_GET, "dataset get", err);
    if (st == NULL)
        goto out;
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
    sqlite3_reset(st);
out:
    dvs_sx_reader_put(x, s);
    return rc;
}

static int page_dataset(sqlite3_stmt *st, void *elem)
{
    read_dataset(st, elem);
    return 0;
}

static int sx_dataset_list(dvs_index *ix, const char *project, const char *location, int64_t after, uint32_t limit,
                           dvs_dataset *out, size_t *n, int64_t *next, dv_error *err)
{
    sqlite_index *x = SX(ix);
    *n = 0;
    *next = 0;
    dvs_sx_conn *s = dvs_sx_reader_get(x, err);
    if (s == NULL)
        return -1;
    int rc = -1;
    sqlite3_stmt *st = dvs_sx_stmt(s, DVS_SQL_DATASET_LIST, "dataset list", err);
    if (st == NULL)
        goto out;
    sqlite3_bind_text(st, 1, project, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, location, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, after);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)limit + 1);
    rc = dvs_sx_page(s, st, page_dataset, &dvs_page_datasets, out, limit, n, next, "dataset list", err);
    sqlite3_reset(st);
out:
    dvs_sx_reader_put(x, s);
    return rc;
}

static int sx_dataset_delete(dvs_index *ix, int64_t dataset_id, int64_t **store_ids, size_t *nstores, dv_error *err)
{
    dvs_sx_conn *s = &SX(ix)->w;
    *store_ids = NULL;
    *nstores = 0;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    int rc = -1;
    size_t cap = 0;
    if (run(s, "BEGIN IMMEDIATE", err))
        goto out;
    if ((st = dvs_sx_stmt(s, DVS_SQL_DATASET_STORES, "dataset delete", err)) == NULL)
        goto rollback;
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
    sqlite3_reset(st);
    if ((st = dvs_sx_stmt(s, DVS_SQL_DATASET_DELETE, "dataset delete", err)) == NULL)
        goto rollback;
    sqlite3_bind_int64(st, 1, dataset_id);
    if (sqlite3_step(st) != SQLITE_DONE) {
        dvs_sx_fail(s, err, "dataset delete");
        goto rollback;
    }
    rc = sqlite3_changes(s->db) ? DVS_OK : DVS_NOT_FOUND;
    sqlite3_reset(st);
    st = NULL;
    if (run(s, "COMMIT", err)) {
        rc = -1;
        goto rollback;
    }
    if (rc == DVS_OK)
        dvs_sx_forget_rebuild(s);
    goto out;
rollback:
    sqlite3_reset(st);
    st = NULL;
    run(s, "ROLLBACK", NULL);
    free(*store_ids);
    *store_ids = NULL;
    *nstores = 0;
out:
    dvs_sx_unlock(s);
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
    dvs_sx_conn *s = &SX(ix)->w;
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    sqlite3_stmt *st = dvs_sx_stmt(s, DVS_SQL_STORE_INSERT, "store create", err);
    if (st == NULL)
        goto out;
    sqlite3_bind_int64(st, 1, dataset_id);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, labels_json ? labels_json : "{}", -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_DONE) {
        rc = DVS_EXISTS;
    } else if (r != SQLITE_ROW) {
        dvs_sx_fail(s, err, "store create");
    } else {
        out->id = sqlite3_column_int64(st, 0);
        out->dataset_id = dataset_id;
        snprintf(out->name, sizeof out->name, "%s", name);
        out->labels_json = strdup(labels_json ? labels_json : "{}");
        rc = out->labels_json ? DVS_OK : dv_fail(err, DV_ERR_NOMEM, "index: store create");
    }
    sqlite3_reset(st);
out:
    dvs_sx_unlock(s);
    return rc;
}

static int sx_store_get(dvs_index *ix, int64_t dataset_id, const char *name, dvs_store *out, dv_error *err)
{
    sqlite_index *x = SX(ix);
    dvs_sx_conn *s = dvs_sx_reader_get(x, err);
    if (s == NULL)
        return -1;
    int rc = -1;
    sqlite3_stmt *st = dvs_sx_stmt(s, DVS_SQL_STORE_GET, "store get", err);
    if (st == NULL)
        goto out;
    sqlite3_bind_int64(st, 1, dataset_id);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        rc = read_store(st, out) ? dv_fail(err, DV_ERR_NOMEM, "index: store get") : DVS_OK;
    else if (r == SQLITE_DONE)
        rc = DVS_NOT_FOUND;
    else
        dvs_sx_fail(s, err, "store get");
    sqlite3_reset(st);
out:
    dvs_sx_reader_put(x, s);
    return rc;
}

static int page_store(sqlite3_stmt *st, void *elem)
{
    return read_store(st, elem);
}

static int sx_store_list(dvs_index *ix, int64_t dataset_id, int64_t after, uint32_t limit, dvs_store *out,
                         size_t *n, int64_t *next, dv_error *err)
{
    sqlite_index *x = SX(ix);
    *n = 0;
    *next = 0;
    dvs_sx_conn *s = dvs_sx_reader_get(x, err);
    if (s == NULL)
        return -1;
    int rc = -1;
    sqlite3_stmt *st = dvs_sx_stmt(s, DVS_SQL_STORE_LIST, "store list", err);
    if (st == NULL)
        goto out;
    sqlite3_bind_int64(st, 1, dataset_id);
    sqlite3_bind_int64(st, 2, after);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)limit + 1);
    rc = dvs_sx_page(s, st, page_store, &dvs_page_stores, out, limit, n, next, "store list", err);
    sqlite3_reset(st);
out:
    dvs_sx_reader_put(x, s);
    return rc;
}

static int sx_store_delete(dvs_index *ix, int64_t store_id, dv_error *err)
{
    dvs_sx_conn *s = &SX(ix)->w;
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    if (run(s, "BEGIN IMMEDIATE", err))
        goto out;
    sqlite3_stmt *st = dvs_sx_stmt(s, DVS_SQL_STORE_DELETE, "store delete", err);
    if (st == NULL)
        goto undo;
    sqlite3_bind_int64(st, 1, store_id);
    int r = sqlite3_step(st), changed = sqlite3_changes(s->db);
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        dvs_sx_fail(s, err, "store delete");
        goto undo;
    }
    if (changed) { /* the operations' items forget the deleted instances' UIDs (DVS_SQL_STORE_FORGET_ITEMS) */
        if ((st = dvs_sx_stmt(s, DVS_SQL_STORE_FORGET_ITEMS, "store delete", err)) == NULL)
            goto undo;
        sqlite3_bind_int64(st, 1, store_id);
        r = sqlite3_step(st);
        sqlite3_reset(st);
        if (r != SQLITE_DONE) {
            dvs_sx_fail(s, err, "store delete");
            goto undo;
        }
    }
    if (run(s, "COMMIT", err))
        goto undo;
    rc = changed ? DVS_OK : DVS_NOT_FOUND;
    if (changed)
        dvs_sx_forget_rebuild(s);
    goto out;
undo:
    run(s, "ROLLBACK", NULL);
out:
    dvs_sx_unlock(s);
    return rc;
}

static int sx_store_metrics(dvs_index *ix, int64_t store_id, dvs_metrics *m, dv_error *err)
{
    sqlite_index *x = SX(ix);
    memset(m, 0, sizeof *m);
    dvs_sx_conn *s = dvs_sx_reader_get(x, err);
    if (s == NULL)
        return -1;
    int rc = -1;
    sqlite3_stmt *st = dvs_sx_stmt(s, DVS_SQL_STORE_METRICS, "store metrics", err);
    if (st == NULL)
        goto out;
    sqlite3_bind_int64(st, 1, store_id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        dvs_sx_fail(s, err, "store metrics");
    } else {
        m->studies = (uint64_t)sqlite3_column_int64(st, 0);
        m->series = (uint64_t)sqlite3_column_int64(st, 1);
        m->instances = (uint64_t)sqlite3_column_int64(st, 2);
        m->bytes = (uint64_t)sqlite3_column_int64(st, 3);
        rc = DVS_OK;
    }
    sqlite3_reset(st);
out:
    dvs_sx_reader_put(x, s);
    return rc;
}

/* Prepare (cached) and bind a built statement; NULL with err set. */
static sqlite3_stmt *built(dvs_sx_conn *s, dvs_sql *b, const char *what, dv_error *err)
{
    if (b->overflow) {
        dv_fail(err, DV_ERR_LIMIT, "index: %s: statement too large", what);
        return NULL;
    }
    sqlite3_stmt *st = dvs_sx_stmt(s, b->text, what, err);
    if (st)
        dvs_sx_bind(st, b);
    return st;
}

/* The row of one level (study under the store, series under the study): inserted unless it exists (the
 * first instance decides its attributes), then its id. */
static int upsert_level(dvs_sx_conn *s, dvs_sql *b, dvs_level level, int64_t parent, const char *uid,
                        const dvs_instance_rec *rec, int64_t *id, dv_error *err)
{
    dvs_sql_init(b, DVS_DIALECT_SQLITE);
    dvs_sql_level_insert(b, level, parent, uid, rec);
    sqlite3_stmt *st = built(s, b, "instance put", err);
    if (st == NULL)
        return -1;
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_DONE)
        return dvs_sx_fail(s, err, "instance put");
    dvs_sql_init(b, DVS_DIALECT_SQLITE);
    dvs_sql_level_id(b, level, parent, uid);
    if ((st = built(s, b, "instance put", err)) == NULL)
        return -1;
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return r == SQLITE_ROW ? 0 : dvs_sx_fail(s, err, "instance put");
}

/* One instance inside the caller's transaction (s->w held), in its own savepoint so that its failure undoes
 * its rows only: DVS_OK, DVS_EXISTS (existing_blob set; nothing written) or -1 with err. */
static int put_one(dvs_sx_conn *s, dvs_sql *b, int64_t store_id, const dvs_instance_rec *rec, char existing_blob[65],
                   dv_error *err)
{
    sqlite3_stmt *st = dvs_sx_stmt(s, DVS_SQL_INSTANCE_BLOB, "instance put", err);
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, store_id);
    sqlite3_bind_text(st, 2, rec->sop_uid, -1, SQLITE_STATIC);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        dvs_sx_copy_col(existing_blob, 65, st, 0);
    sqlite3_reset(st);
    if (r == SQLITE_ROW)
        return DVS_EXISTS;
    if (r != SQLITE_DONE)
        return dvs_sx_fail(s, err, "instance put");
    if (run(s, "SAVEPOINT put_one", err))
        return -1;
    int64_t study_id, series_id;
    if (upsert_level(s, b, DVS_STUDY, store_id, rec->study_uid, rec, &study_id, err) ||
        upsert_level(s, b, DVS_SERIES, study_id, rec->series_uid, rec, &series_id, err))
        goto undo;
    dvs_sql_init(b, DVS_DIALECT_SQLITE);
    dvs_sql_instance_insert(b, series_id, store_id, rec);
    if ((st = built(s, b, "instance put", err)) == NULL)
        goto undo;
    r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_ROW) {
        dvs_sx_fail(s, err, "instance put");
        goto undo;
    }
    if (run(s, "RELEASE put_one", err))
        goto undo;
    return DVS_OK;
undo:
    run(s, "ROLLBACK TO put_one", NULL);
    run(s, "RELEASE put_one", NULL);
    return -1;
}

/* Group commit: every instance in one transaction, so one commit (one WAL fsync, synchronous=FULL) makes all
 * of them durable. An instance that fails is undone alone (put_one's savepoint); a failed COMMIT fails all. */
static int sx_instance_put_batch(dvs_index *ix, size_t n, const int64_t *store_ids, const dvs_instance_rec *const *recs,
                                 char (*existing)[65], int *rcs, dv_error *err)
{
    dvs_sx_conn *s = &SX(ix)->w;
    for (size_t k = 0; k < n; k++)
        rcs[k] = -1;
    dvs_sql *b = malloc(sizeof *b);
    if (b == NULL)
        return dv_fail(err, DV_ERR_NOMEM, "index: instance put");
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    if (run(s, "BEGIN IMMEDIATE", err))
        goto out;
    for (size_t k = 0; k < n; k++) {
        dv_error one = {0};
        existing[k][0] = '\0';
        rcs[k] = put_one(s, b, store_ids[k], recs[k], existing[k], &one);
        if (rcs[k] < 0 && err)
            *err = one; /* the last instance failure, if the commit succeeds */
    }
    if (run(s, "COMMIT", err)) {
        run(s, "ROLLBACK", NULL);
        for (size_t k = 0; k < n; k++)
            rcs[k] = -1;
        goto out;
    }
    rc = 0;
out:
    dvs_sx_unlock(s);
    free(b);
    return rc;
}

static int sx_instance_put(dvs_index *ix, int64_t store_id, const dvs_instance_rec *rec, char existing_blob[65],
                           dv_error *err)
{
    char existing[1][65];
    int rc = -1;
    if (sx_instance_put_batch(ix, 1, &store_id, &rec, existing, &rc, err) == 0 && rc == DVS_EXISTS)
        memcpy(existing_blob, existing[0], 65);
    return rc;
}

static int sx_blob_refs(dvs_index *ix, int64_t store_id, const char *blob, uint64_t *count, dv_error *err)
{
    dvs_sx_conn *s = &SX(ix)->w;
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    sqlite3_stmt *st = dvs_sx_stmt(s, DVS_SQL_BLOB_REFS, "blob refs", err);
    if (st != NULL) {
        sqlite3_bind_int64(st, 1, store_id);
        sqlite3_bind_text(st, 2, blob, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            *count = (uint64_t)sqlite3_column_int64(st, 0);
            rc = DVS_OK;
        } else {
            dvs_sx_fail(s, err, "blob refs");
        }
        sqlite3_reset(st);
    }
    dvs_sx_unlock(s);
    return rc;
}

static int sx_query(dvs_index *ix, int64_t store_id, const dvs_query *q, dvs_row_fn fn, void *user, dv_error *err)
{
    sqlite_index *x = SX(ix);
    dvs_sql *b = malloc(sizeof *b);
    if (b == NULL)
        return dv_fail(err, DV_ERR_NOMEM, "index: query");
    dvs_sql_init(b, DVS_DIALECT_SQLITE);
    dvs_sql_query(b, store_id, q);
    int rc = -1;
    dvs_sx_conn *s = dvs_sx_reader_get(x, err);
    if (s == NULL) {
        free(b);
        return -1;
    }
    sqlite3_stmt *st = built(s, b, "query", err);
    if (st == NULL)
        goto out;
    size_t ncol = b->ncol;
    int r;
    rc = DVS_OK;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        dvs_row row;
        memset(&row, 0, sizeof row);
        for (size_t c = 0; c < ncol; c++)
            row.attr[b->colattr[c]] = (const char *)sqlite3_column_text(st, (int)c);
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
    sqlite3_reset(st);
out:
    dvs_sx_reader_put(x, s);
    free(b);
    return rc;
}

/* The instances under study [/series [/sop]], collected in order (the caller holds s->mu). */
static int collect_blobs(dvs_sx_conn *s, int64_t store_id, const char *study, const char *series, const char *sop,
                         dvs_blob_ref **out, size_t *nout, dv_error *err)
{
    *out = NULL;
    *nout = 0;
    dvs_sql *b = malloc(sizeof *b);
    if (b == NULL)
        return dv_fail(err, DV_ERR_NOMEM, "index: blobs");
    dvs_sql_init(b, DVS_DIALECT_SQLITE);
    dvs_sql_blobs(b, store_id, study, series, sop);
    sqlite3_stmt *st = built(s, b, "blobs", err);
    if (st == NULL) {
        free(b);
        return -1;
    }
    dvs_blob_ref *refs = NULL;
    size_t n = 0, cap = 0;
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
    if (r != SQLITE_DONE && r != SQLITE_NOMEM)
        dvs_sx_fail(s, err, "blobs");
    sqlite3_reset(st);
    free(b);
    if (r != SQLITE_DONE) {
        free(refs);
        return -1;
    }
    *out = refs;
    *nout = n;
    return 0;
}

static int sx_blobs(dvs_index *ix, int64_t store_id, const char *study, const char *series, const char *sop,
                    dvs_blob_fn fn, void *user, dv_error *err)
{
    sqlite_index *x = SX(ix);
    /* The rows are collected first and the callback runs unlocked: it reads files and writes to a client. */
    dvs_blob_ref *refs = NULL;
    size_t n = 0;
    dvs_sx_conn *s = dvs_sx_reader_get(x, err);
    if (s == NULL)
        return -1;
    int rc = collect_blobs(s, store_id, study, series, sop, &refs, &n, err) ? -1 : DVS_OK;
    dvs_sx_reader_put(x, s);
    if (rc == DVS_OK && n == 0)
        rc = DVS_NOT_FOUND;
    for (size_t k = 0; rc == DVS_OK && k < n; k++)
        if (fn(&refs[k], user))
            rc = -1;
    free(refs);
    return rc;
}

/* One statement of the delete (caller holds s->mu, inside the transaction). */
static int delete_step(dvs_sx_conn *s, dvs_sql *b, dv_error *err)
{
    sqlite3_stmt *st = built(s, b, "instances delete", err);
    if (st == NULL)
        return -1;
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    return r == SQLITE_DONE ? 0 : dvs_sx_fail(s, err, "instances delete");
}

static int sx_instances_delete(dvs_index *ix, int64_t store_id, const char *study, const char *series,
                               const char *sop, dvs_blob_fn fn, void *user, dv_error *err)
{
    dvs_sx_conn *s = &SX(ix)->w;
    dvs_blob_ref *refs = NULL;
    size_t n = 0;
    int rc = -1;
    dvs_sql *b = malloc(sizeof *b);
    if (b == NULL)
        return dv_fail(err, DV_ERR_NOMEM, "index: instances delete");
    pthread_mutex_lock(&s->mu);
    /* One transaction: a concurrent STOW (serialised by s->mu and SQLite's write lock) sees the instances
     * either all there or all gone, never a study without its series. */
    if (dvs_sx_exec(s, "BEGIN IMMEDIATE", err))
        goto out;
    if (collect_blobs(s, store_id, study, series, sop, &refs, &n, err))
        goto rollback;
    if (n == 0) {
        rc = DVS_NOT_FOUND;
        goto rollback;
    }
    for (int step = 0; step < 3; step++) {
        dvs_sql_init(b, DVS_DIALECT_SQLITE);
        dvs_sql_instances_delete(b, step, store_id, study, series, sop);
        if (delete_step(s, b, err))
            goto rollback;
    }
    if (dvs_sx_exec(s, "COMMIT", err))
        goto rollback;
    rc = DVS_OK;
    dvs_sx_forget_flush(s);
    goto out;
rollback:
    dvs_sx_exec(s, "ROLLBACK", NULL);
out:
    dvs_sx_unlock(s);
    free(b);
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
    .instances_delete = sx_instances_delete,
    .instance_put_batch = sx_instance_put_batch,
    .op_items_finish = dvs_sx_op_items_finish,
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
    .idle = sx_idle,
};

/* The index holds source PHI (patient names and IDs of every stored instance). A new index is made private by
 * the serving process's umask (cmd_serve.c); one made before that (a DATA that already existed: the files
 * were 0644) is made 0600 here, with its WAL, shared-memory and rollback files, before SQLite opens it (SQLite
 * gives a -wal or -shm it creates the database file's mode). Only a regular file of ours is changed: a link is
 * not followed, and another user's file cannot be (fchmod says EPERM; the file stays as it is). */
static void make_private(const char *path)
{
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    size_t n = strlen(path);
    char *p = malloc(n + 9);
    if (p == NULL)
        return;
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        memcpy(p, path, n);
        strcpy(p + n, suffix[i]);
        int fd = open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        struct stat st;
        if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0)
            (void)fchmod(fd, 0600);
        if (fd >= 0)
            close(fd);
    }
    free(p);
}

dvs_index *dvs_sqlite_open(const char *path, dv_error *err)
{
    make_private(path);
    sqlite_index *s = calloc(1, sizeof *s);
    if (s == NULL) {
        dv_fail(err, DV_ERR_NOMEM, "index: open");
        return NULL;
    }
    s->base.ops = &sqlite_ops;
    pthread_mutex_init(&s->w.mu, NULL);
    pthread_mutex_init(&s->rmu, NULL);
    pthread_cond_init(&s->rfree, NULL);
    s->path = strdup(path);
    if (s->path == NULL) {
        dv_fail(err, DV_ERR_NOMEM, "index: open");
        sx_close(&s->base);
        return NULL;
    }
    /* A WAL file beside the database: the last process did not close it (a kill -9, a crash: the last connection's
     * clean close removes it), so what it forgot since its last rebuild may still be in free parts of pages; the
     * index's first idle moment rebuilds (sx_idle). */
    char wal[PATH_MAX];
    struct stat wst;
    s->w.rebuild_due = (size_t)snprintf(wal, sizeof wal, "%s-wal", path) < sizeof wal && stat(wal, &wst) == 0;
    s->idle_since_ms = mono_ms();
    s->w.due_since_ms = s->w.rebuild_due ? s->idle_since_ms : 0;
    if (sqlite3_open_v2(path, &s->w.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        dv_fail(err, DV_ERR_IO, "index: cannot open the database");
        sx_close(&s->base);
        return NULL;
    }
    sqlite3_busy_handler(s->w.db, sx_busy, NULL);
    /* WAL: readers (their own connections, dvs_sx_reader_get) never wait for the writer. synchronous=FULL:
     * every COMMIT fsyncs the WAL before it returns, so an acknowledged write survives a power cut, not only
     * a process crash; STOWs share that fsync through instance_put_batch (group commit, docs/server.md
     * "Durability"). temp_store=MEMORY: each instance of a group commit runs in its own savepoint (put_one),
     * whose statement journal SQLite otherwise spills to a temporary file past 64 KiB: ~10 writes of 4 KiB per
     * instance of a batch (strace of a 256-instance round; bench/RESULTS.md "Operation pipeline, second pass").
     * secure_delete=ON: deleted and overwritten content is zeroed in the file, whatever SQLite's build default
     * (Debian's is on, upstream's off), so what the index forgets is not left in free space (dvs_sx_forget_flush). */
    if (dvs_sx_exec(&s->w, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
                           "PRAGMA temp_store=MEMORY; PRAGMA secure_delete=ON;", err) ||
        create_schema(&s->w, err)) {
        sx_close(&s->base);
        return NULL;
    }
    return &s->base;
}
