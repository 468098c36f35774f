/* The PostgreSQL back-fill of folded PN names (dvs_sql.h "the folded twins of PN columns"), run by every open
 * inside its schema transaction, under the advisory lock (pg_index.c schema_tx): an index upgraded to version 3
 * gets the folds of the rows it already held (an empty twin would make fuzzy matching miss every patient indexed
 * before), computed here in C as an insert computes them, never by PostgreSQL's lower(). */
#include <stdlib.h>

#include "store/dvs_sql.h"
#include "store/pg_internal.h"

/* One batch of level f->level read into f. */
static int read_batch(PGconn *c, dvs_sql *b, dvs_fold_fill *f, dv_error *err, PGresult **failed)
{
    dvs_sql_init(b, DVS_DIALECT_PG);
    dvs_sql_fold_select(b, f);
    PGresult *r = dvs_pg_run_built(c, b, "schema upgrade", err, failed);
    if (r == NULL)
        return -1;
    int rc = 0;
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        const char *v[DVS_FOLD_COLS];
        for (size_t k = 0; k < f->ncol; k++)
            v[k] = PQgetisnull(r, i, (int)k + 1) ? NULL : PQgetvalue(r, i, (int)k + 1);
        if (dvs_fold_fill_row(f, dvs_pg_get_i64(r, i, 0), v))
            rc = dv_fail(err, DV_ERR_NOMEM, "index: schema upgrade");
    }
    PQclear(r);
    return rc;
}

int dvs_pg_fold_fill(PGconn *c, dv_error *err, PGresult **failed)
{
    dvs_sql *b = malloc(sizeof *b);
    dvs_fold_fill *f = malloc(sizeof *f);
    int rc = b && f ? 0 : dv_fail(err, DV_ERR_NOMEM, "index: schema upgrade");
    for (int level = DVS_STUDY; rc == 0 && level <= DVS_INSTANCE; level++) {
        if (dvs_fold_fill_init(f, (dvs_level)level) == 0)
            continue;
        dvs_sql_init(b, DVS_DIALECT_PG);
        dvs_sql_fold_missing_index(b, f);
        PGresult *ix = dvs_pg_run_built(c, b, "schema upgrade", err, failed);
        if (ix == NULL) {
            rc = -1;
            break;
        }
        PQclear(ix);
        for (;;) {
            rc = read_batch(c, b, f, err, failed);
            if (rc == 0 && f->n > 0) {
                dvs_sql_init(b, DVS_DIALECT_PG);
                dvs_sql_fold_update(b, f);
                PGresult *r = dvs_pg_run_built(c, b, "schema upgrade", err, failed);
                rc = r ? 0 : -1;
                PQclear(r);
            }
            size_t n = f->n;
            dvs_fold_fill_clear(f);
            if (rc || n < DVS_FOLD_BATCH)
                break;
        }
    }
    free(b);
    free(f);
    return rc;
}
