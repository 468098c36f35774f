/* How the PostgreSQL backend talks to the server: one statement on a pooled connection, or one transaction
 * retried when PostgreSQL says it lost a deadlock or a serialization check (40P01, 40001: running it again is
 * the documented answer). Why a file: every index call of pg_index.c and pg_ops.c needs one of the two; with
 * one home the acquire / BEGIN / COMMIT / ROLLBACK / release / retry rules cannot drift apart.
 * [test_store: test_index_postgresql, test_item_finish_race_postgresql, test_instances_delete_postgresql] */
#include "store/pg_internal.h"

PGresult *dvs_pg_one(pg_index *p, const char *sql, int n, const char *const *v, const char *what, dv_error *err)
{
    PGconn *c = dvs_pg_acquire(p, err);
    if (c == NULL)
        return NULL;
    PGresult *r = dvs_pg_run(c, sql, n, v, what, err, NULL);
    dvs_pg_release(p, c);
    return r;
}

int dvs_pg_transaction(pg_index *p, const char *begin, dvs_pg_tx_body body, void *arg, dv_error *err)
{
    PGconn *c = dvs_pg_acquire(p, err);
    int rc = -1;
    for (int t = 0; c && t < PG_TX_TRIES; t++) {
        PGresult *failed = NULL;
        rc = dvs_pg_command(c, begin, err, &failed) ? -1 : body(c, arg, err, &failed);
        if (rc == DVS_OK && dvs_pg_command(c, "COMMIT", err, &failed))
            rc = -1;
        if (rc != DVS_OK)
            dvs_pg_rollback(c); /* also after a failed COMMIT: harmless, the connection is clean for the pool */
        int again = rc < 0 && dvs_pg_retryable(failed);
        PQclear(failed);
        if (!again)
            break;
    }
    dvs_pg_release(p, c);
    return rc;
}
