/* The SQLite back-fill of folded PN names (dvs_sql.h "the folded twins of PN columns"), run by every open inside
 * its BEGIN IMMEDIATE: an index an older dicomveil made gets the folds of its rows with the columns (an empty twin
 * would make fuzzy matching miss every patient indexed before), and so do the rows an older dicomveil wrote into
 * an upgraded file since (SQLite keeps no schema version an older build would refuse). A row lacking its fold is
 * found by the twin being NULL while its column is not; after the first fill an open finds none. */
#include <stdlib.h>

#include <sqlite3.h>

#include "store/dvs_sql.h"
#include "store/sqlite_internal.h"

/* A built statement prepared on s alone (not cached: it runs once per open) and bound. */
static sqlite3_stmt *prepare(dvs_sx_conn *s, const dvs_sql *b, dv_error *err)
{
    if (b->overflow) {
        dv_fail(err, DV_ERR_LIMIT, "index: schema upgrade: statement too large");
        return NULL;
    }
    char *text = malloc(b->n + 1);
    if (text == NULL || dvs_sql_sqlite_placeholders(b->text, text, b->n + 1)) {
        free(text);
        dv_fail(err, DV_ERR_NOMEM, "index: schema upgrade");
        return NULL;
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, text, -1, &st, NULL);
    free(text);
    if (rc != SQLITE_OK) {
        dvs_sx_fail(s, err, "schema upgrade");
        return NULL;
    }
    dvs_sx_bind(st, b);
    return st;
}

/* The select's rows into f. */
static int read_rows(void *ctx, const dvs_sql *b, dvs_fold_fill *f, dv_error *err)
{
    dvs_sx_conn *s = ctx;
    sqlite3_stmt *st = prepare(s, b, err);
    if (st == NULL)
        return -1;
    int r = SQLITE_DONE, rc = 0;
    while (rc == 0 && (r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *v[DVS_FOLD_COLS];
        for (size_t c = 0; c < f->ncol; c++)
            v[c] = (const char *)sqlite3_column_text(st, (int)c + 1);
        if (dvs_fold_fill_row(f, sqlite3_column_int64(st, 0), v))
            rc = dv_fail(err, DV_ERR_NOMEM, "index: schema upgrade");
    }
    if (rc == 0 && r != SQLITE_DONE)
        rc = dvs_sx_fail(s, err, "schema upgrade");
    sqlite3_finalize(st);
    return rc;
}

static int exec_built(void *ctx, const dvs_sql *b, dv_error *err)
{
    dvs_sx_conn *s = ctx;
    sqlite3_stmt *st = prepare(s, b, err);
    if (st == NULL)
        return -1;
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : dvs_sx_fail(s, err, "schema upgrade");
    sqlite3_finalize(st);
    return rc;
}

int dvs_sx_fold_fill(dvs_sx_conn *s, dv_error *err)
{
    dvs_fold_driver d = {DVS_DIALECT_SQLITE, s, exec_built, read_rows};
    return dvs_fold_fill_all(&d, err);
}
