/* The PostgreSQL back-fill of folded PN names (dvs_sql.h "the folded twins of PN columns"), run by every open
 * inside its schema transaction, under the advisory lock (pg_index.c schema_tx): an index upgraded to version 3
 * gets the folds of the rows it already held (an empty twin would make fuzzy matching miss every patient indexed
 * before), computed here in C as an insert computes them, never by PostgreSQL's lower(). */
#include <stdlib.h>

#include "store/dvs_sql.h"
#include "store/pg_internal.h"

typedef struct pg_ctx {
    PGconn *c;
    PGresult **failed;
} pg_ctx;

/* The select's rows into f. */
static int read_rows(void *ctx, const dvs_sql *b, dvs_fold_fill *f, dv_error *err)
{
    pg_ctx *p = ctx;
    PGresult *r = dvs_pg_run_built(p->c, b, "schema upgrade", err, p->failed);
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

static int exec_built(void *ctx, const dvs_sql *b, dv_error *err)
{
    pg_ctx *p = ctx;
    PGresult *r = dvs_pg_run_built(p->c, b, "schema upgrade", err, p->failed);
    PQclear(r);
    return r ? 0 : -1;
}

int dvs_pg_fold_fill(PGconn *c, dv_error *err, PGresult **failed)
{
    pg_ctx p = {c, failed};
    dvs_fold_driver d = {DVS_DIALECT_PG, &p, exec_built, read_rows};
    return dvs_fold_fill_all(&d, err);
}
