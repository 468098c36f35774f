/* Internal to the PostgreSQL backend of dvs_index (pg_index.c: the pool, statements, datasets, stores,
 * instances, QIDO; pg_ops.c: long-running operations and their work items; pg_tx.c: one statement or one
 * retried transaction on a pooled connection; pg_fold.c: the back-fill of folded names). */
#ifndef DVS_PG_INTERNAL_H
#define DVS_PG_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "store/dvs_backend_ops.h"
#include "store/dvs_index.h"
#include "store/dvs_page.h"

#define PG_POOL_MAX 16
/* A transaction that lost a deadlock or a serialization check is run again, at most this many times. */
#define PG_TX_TRIES 4

/* A pool of connections (pg_index.c says why): idle ones, and how many exist in all. */
typedef struct pg_index {
    dvs_index base;
    char *conninfo; /* the URL (may hold a password: wiped on close) */
    pthread_mutex_t mu;
    pthread_cond_t freed;
    PGconn *idle[PG_POOL_MAX];
    size_t nidle, nopen;
} pg_index;

#define PX(ix) ((pg_index *)(ix))

/* Check a connection out (waiting while PG_POOL_MAX are in use) and give it back. NULL with err set when
 * no connection can be made. release(NULL) is a no-op. */
PGconn *dvs_pg_acquire(pg_index *p, dv_error *err);
void dvs_pg_release(pg_index *p, PGconn *c);
/* Run sql with n text parameters (NULL: SQL NULL). The result (PQclear it) or NULL with err set (the
 * operation and the SQLSTATE, never PostgreSQL's text); *failed (optional) receives the failed result. */
PGresult *dvs_pg_run(PGconn *c, const char *sql, int n, const char *const *vals, const char *what, dv_error *err,
                     PGresult **failed);
int dvs_pg_command(PGconn *c, const char *sql, dv_error *err, PGresult **failed); /* BEGIN, COMMIT */
void dvs_pg_rollback(PGconn *c);
int dvs_pg_retryable(const PGresult *failed); /* a deadlock or serialization failure: run it again */

/* A statement built with dvs_sql.h run on c, as dvs_pg_run runs one (the result, or NULL with err). */
struct dvs_sql;
PGresult *dvs_pg_run_built(PGconn *c, const struct dvs_sql *b, const char *what, dv_error *err, PGresult **failed);
/* The folded twins of PN columns (dvs_sql.h) filled for the rows that lack them, inside the caller's schema
 * transaction on c (pg_fold.c). 0, or -1 with err (*failed as dvs_pg_run sets it). */
int dvs_pg_fold_fill(PGconn *c, dv_error *err, PGresult **failed);

/* --- pg_tx.c: a statement or a transaction on a pooled connection --- */
/* One statement (acquire, run, release): the result (PQclear it) or NULL with err set. */
PGresult *dvs_pg_one(pg_index *p, const char *sql, int n, const char *const *v, const char *what, dv_error *err);
/* The statements of one transaction, run on c between the BEGIN and the COMMIT dvs_pg_transaction issues.
 * Returns DVS_OK (committed), DVS_NOT_FOUND / DVS_EXISTS (rolled back, returned as they are) or -1 with err
 * (rolled back). Pass failed as dvs_pg_run's last argument: a statement's failure lands there, so the helper
 * can tell a deadlock or serialization failure. The body may run up to PG_TX_TRIES times: it must start
 * each try from scratch (free what a failed try left in its outputs). */
typedef int (*dvs_pg_tx_body)(PGconn *c, void *arg, dv_error *err, PGresult **failed);
/* Acquire a connection, run begin ("BEGIN" or "BEGIN ISOLATION LEVEL ..."), body, COMMIT or ROLLBACK, release;
 * the whole is run again (at most PG_TX_TRIES times) after a deadlock or serialization failure. Returns body's
 * value, or -1 with err. */
int dvs_pg_transaction(pg_index *p, const char *begin, dvs_pg_tx_body body, void *arg, dv_error *err);
void dvs_pg_i64(char buf[24], int64_t v);     /* decimal text of v, for a parameter */
int64_t dvs_pg_get_i64(const PGresult *r, int row, int col);
void dvs_pg_get_text(char *dst, size_t cap, const PGresult *r, int row, int col); /* "" for NULL */
/* One page of a list (dvs_page.h) from r, a result asked for limit + 1 rows: read copies row into an element
 * of kind (non-zero: out of memory). */
typedef int (*dvs_pg_read_fn)(const PGresult *r, int row, void *elem);
int dvs_pg_page(const PGresult *r, dvs_pg_read_fn read, const dvs_page_kind *kind, void *out, uint32_t limit,
                size_t *n, int64_t *next, const char *what, dv_error *err);

/* op_create .. op_errors (pg_ops.c), declared by dvs_backend_ops.h. */
DVS_BACKEND_OPS(dvs_pg);

#endif
