/* Internal to the SQLite backend of dvs_index (sqlite_index.c: datasets, stores, instances, QIDO;
 * sqlite_ops.c: long-running operations and their work items; sqlite_fold.c: the back-fill of folded names). */
#ifndef DVS_SQLITE_INTERNAL_H
#define DVS_SQLITE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include <sqlite3.h>

#include "store/dvs_backend_ops.h"
#include "store/dvs_index.h"
#include "store/dvs_page.h"

/* Prepared statements are kept per connection, keyed by their text (fixed statements always hit; a QIDO
 * statement's text depends only on the query's shape, not its values), so a request does not parse SQL.
 * The least recently used one is finalized when the cache is full. [bench/RESULTS.md "QIDO statement
 * cache"] */
#define DVS_SX_STMT_CACHE 48

typedef struct dvs_sx_cached_stmt {
    uint64_t hash;
    char *sql;
    sqlite3_stmt *st;
    uint64_t used;
} dvs_sx_cached_stmt;

/* One connection with its statement cache, used by one thread at a time (mu). */
typedef struct dvs_sx_conn {
    sqlite3 *db;
    pthread_mutex_t mu;
    dvs_sx_cached_stmt cache[DVS_SX_STMT_CACHE];
    uint64_t tick;
    int rebuild_due; /* a forgetting write since the last VACUUM: an idle index (sx_idle) or the close rebuilds */
    /* Since when the rebuild is due (CLOCK_MONOTONIC ms; 0: not due), and how long it may wait for an idle index
     * under writes that never pause (0 until sx_idle, the server's once-a-second look, first says): once that has
     * passed, the write that ends then runs it (dvs_sx_unlock). */
    int64_t due_since_ms;
    _Atomic unsigned due_max_ms; /* stored by sx_idle's thread, read by writers */
} dvs_sx_conn;

/* Read connections opened on demand, at most DVS_SX_READERS (sqlite_index.c says why). */
#define DVS_SX_READERS 8

/* The writer connection (every write, and the reads a write depends on) and a pool of read-only connections
 * for the reads of requests (QIDO, WADO, resource gets, operation polls): in WAL mode a reader sees the last
 * commit and never waits for a writer, so a QIDO never queues behind STOW inserts. [test_store:
 * test_readers_during_writes] */
typedef struct sqlite_index {
    dvs_index base;
    dvs_sx_conn w;
    char *path;
    pthread_mutex_t rmu; /* guards the pool below */
    pthread_cond_t rfree;
    dvs_sx_conn *readers[DVS_SX_READERS];
    int rbusy[DVS_SX_READERS];
    size_t nreaders;
    /* The idle rebuild's view (sx_idle, under w.mu): the writer's change count when last seen, and when it last
     * moved (or a rebuild ran), CLOCK_MONOTONIC milliseconds. */
    int64_t idle_changes, idle_since_ms;
} sqlite_index;

#define SX(ix) ((sqlite_index *)(ix))

/* Ends a use of s taken with pthread_mutex_lock(&s->mu): first, where a rebuild has been due for due_max_ms and no
 * transaction is open, runs it (dvs_sx_forget_rebuild), so writes that never leave the writer's mutex free for
 * the idle look (a STOW after a STOW) still let it run within due_max_ms; then unlocks. */
void dvs_sx_unlock(dvs_sx_conn *s);

/* -1 with err DV_ERR_IO naming what failed and SQLite's class of failure (never a bound value). */
int dvs_sx_fail(dvs_sx_conn *s, dv_error *err, const char *what);
int dvs_sx_exec(dvs_sx_conn *s, const char *sql, dv_error *err);
void dvs_sx_now(char out[32]); /* RFC 3339 UTC, microseconds */
/* After a write that forgot PHI, writer's mutex held: checkpoint the WAL and truncate it (sqlite_index.c). */
void dvs_sx_forget_flush(dvs_sx_conn *s);
void dvs_sx_forget_rebuild(dvs_sx_conn *s); /* VACUUM, then dvs_sx_forget_flush: after a store or dataset delete */
void dvs_sx_copy_col(char *dst, size_t cap, sqlite3_stmt *st, int col); /* "" for NULL */
/* The prepared statement for sql (written with $k placeholders, dvs_sql.h), from the connection's cache or
 * prepared now; reset, with its bindings cleared. Never finalize it. The caller holds the connection (s->mu, or a reader it got) and resets it
 * when done (a statement left mid-walk would keep its read snapshot). NULL with err set on failure. */
sqlite3_stmt *dvs_sx_stmt(dvs_sx_conn *s, const char *sql, const char *what, dv_error *err);
/* Bind a built statement's parameters (dvs_sql.h) to st, in order (st prepared from b's text). */
struct dvs_sql;
void dvs_sx_bind(sqlite3_stmt *st, const struct dvs_sql *b);
/* The folded twins of PN columns (dvs_sql.h) filled for the rows that lack them: an index an older dicomveil made
 * or wrote. Inside the caller's write transaction (sqlite_fold.c). */
int dvs_sx_fold_fill(dvs_sx_conn *s, dv_error *err);
/* A read connection of the pool, for the caller alone until dvs_sx_reader_put (waits while all are in use);
 * NULL with err when none can be opened. Reads that must see the caller's own uncommitted writes, or that
 * decide a write, use s->w instead. */
dvs_sx_conn *dvs_sx_reader_get(sqlite_index *s, dv_error *err);
void dvs_sx_reader_put(sqlite_index *s, dvs_sx_conn *c);
/* One page of a list (dvs_page.h) from st, bound to ask for limit + 1 rows: read copies the current row into
 * an element of kind (non-zero: out of memory); a failed step is dvs_sx_fail(s, err, what). The caller resets
 * st. */
typedef int (*dvs_sx_read_fn)(sqlite3_stmt *st, void *elem);
int dvs_sx_page(dvs_sx_conn *s, sqlite3_stmt *st, dvs_sx_read_fn read, const dvs_page_kind *kind, void *out,
                uint32_t limit, size_t *n, int64_t *next, const char *what, dv_error *err);

/* op_create .. op_errors (sqlite_ops.c), declared by dvs_backend_ops.h. */
DVS_BACKEND_OPS(dvs_sx);

#endif
