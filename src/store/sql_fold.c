/* The SQL of the folded twins of PN columns: adding them to an older index and filling them for its rows (see
 * dvs_sql.h "the folded twins of PN columns"). Both backends run these statements, so an upgraded SQLite index and
 * an upgraded PostgreSQL index hold the same folds as a new one: the fold is computed here, in C (text/pn_fold.h),
 * never by the database. [test_store: test_index_upgrade_sqlite, test_index_upgrade_postgresql] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/dvs_sql.h"
#include "text/pn_fold.h"

int dvs_sql_add_fold_column(dvs_dialect dialect, const dvs_attr *a, char *out, size_t cap)
{
    int pg = dialect == DVS_DIALECT_PG;
    int n = snprintf(out, cap, "ALTER TABLE %s ADD COLUMN %s%s" DVS_FOLD_SUFFIX " %s", dvs_sql_level_table(a->level),
                     pg ? "IF NOT EXISTS " : "", a->column, pg ? "TEXT COLLATE \"C\"" : "TEXT");
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

size_t dvs_fold_fill_init(dvs_fold_fill *f, dvs_level level)
{
    memset(f, 0, sizeof *f);
    f->level = level;
    for (size_t i = 0; i < dvs_nattrs && f->ncol < DVS_FOLD_COLS; i++)
        if (dvs_attrs[i].level == level && dvs_attr_folded(&dvs_attrs[i]))
            f->attr[f->ncol++] = &dvs_attrs[i];
    return f->ncol;
}

/* "(a IS NOT NULL AND a_fold IS NULL) OR ...": a row whose fold is missing. One text for the select and the
 * partial index, as both planners use a partial index only for a query holding its WHERE term as written. */
static void missing_fold(dvs_sql *b, const dvs_fold_fill *f)
{
    for (size_t c = 0; c < f->ncol; c++)
        dvs_sql_add(b, "%s(%s IS NOT NULL AND %s" DVS_FOLD_SUFFIX " IS NULL)", c ? " OR " : "", f->attr[c]->column,
                    f->attr[c]->column);
}

void dvs_sql_fold_missing_index(dvs_sql *b, const dvs_fold_fill *f)
{
    const char *table = dvs_sql_level_table(f->level);
    dvs_sql_add(b, "CREATE INDEX IF NOT EXISTS %s_fold_missing ON %s(id) WHERE (", table, table);
    missing_fold(b, f);
    dvs_sql_add(b, ")");
}

void dvs_sql_fold_select(dvs_sql *b, const dvs_fold_fill *f)
{
    dvs_sql_add(b, "SELECT id");
    for (size_t c = 0; c < f->ncol; c++)
        dvs_sql_add(b, ", %s", f->attr[c]->column);
    const char *table = dvs_sql_level_table(f->level);
    dvs_sql_add(b, " FROM %s", table);
    /* SQLite, without statistics, would walk the table by its rowid from `after` instead (PostgreSQL's planner
     * takes the small partial index on its own) */
    if (b->dialect == DVS_DIALECT_SQLITE)
        dvs_sql_add(b, " INDEXED BY %s_fold_missing", table);
    dvs_sql_add(b, " WHERE id > ");
    dvs_sql_int(b, f->after);
    dvs_sql_add(b, " AND (");
    missing_fold(b, f);
    dvs_sql_add(b, ") ORDER BY id LIMIT ");
    dvs_sql_int(b, DVS_FOLD_BATCH);
}

int dvs_fold_fill_row(dvs_fold_fill *f, int64_t id, const char *const *values)
{
    if (f->n == DVS_FOLD_BATCH)
        return -1;
    size_t r = f->n++;
    f->id[r] = id;
    f->after = id;
    for (size_t c = 0; c < f->ncol; c++)
        f->fold[r][c] = NULL;
    for (size_t c = 0; c < f->ncol; c++) {
        if (values[c] == NULL)
            continue;
        size_t len = strlen(values[c]);
        /* a fold is never longer than its value: len + 1 bytes hold it whole, whatever a stored name's length */
        if ((f->fold[r][c] = malloc(len + 1)) == NULL)
            return -1;
        dv_pn_fold(values[c], len, f->fold[r][c], len + 1);
    }
    return 0;
}

void dvs_sql_fold_update(dvs_sql *b, const dvs_fold_fill *f)
{
    /* One statement per batch, in a form both dialects take (UPDATE ... FROM, a VALUES list's columns named
     * column1, column2, ...): one round trip per batch for PostgreSQL rather than one per row. */
    const char *table = dvs_sql_level_table(f->level);
    dvs_sql_add(b, "UPDATE %s SET ", table);
    for (size_t c = 0; c < f->ncol; c++)
        dvs_sql_add(b, "%s%s" DVS_FOLD_SUFFIX " = v.column%zu", c ? ", " : "", f->attr[c]->column, c + 2);
    dvs_sql_add(b, " FROM (VALUES ");
    for (size_t r = 0; r < f->n; r++) {
        dvs_sql_add(b, "%s(CAST(", r ? ", " : "");
        dvs_sql_int(b, f->id[r]);
        dvs_sql_add(b, " AS BIGINT)");
        for (size_t c = 0; c < f->ncol; c++) {
            dvs_sql_add(b, ", ");
            dvs_sql_text(b, f->fold[r][c]);
        }
        dvs_sql_add(b, ")");
    }
    dvs_sql_add(b, ") AS v WHERE %s.id = v.column1", table);
}

void dvs_fold_fill_clear(dvs_fold_fill *f)
{
    for (size_t r = 0; r < f->n; r++)
        for (size_t c = 0; c < f->ncol; c++) {
            free(f->fold[r][c]);
            f->fold[r][c] = NULL;
        }
    f->n = 0;
}

int dvs_fold_fill_all(const dvs_fold_driver *d, dv_error *err)
{
    dvs_sql *b = malloc(sizeof *b);
    dvs_fold_fill *f = malloc(sizeof *f);
    int rc = b && f ? 0 : dv_fail(err, DV_ERR_NOMEM, "index: schema upgrade");
    for (int level = DVS_STUDY; rc == 0 && level <= DVS_INSTANCE; level++) {
        if (dvs_fold_fill_init(f, (dvs_level)level) == 0)
            continue;
        dvs_sql_init(b, d->dialect);
        dvs_sql_fold_missing_index(b, f);
        if ((rc = d->exec(d->ctx, b, err)) != 0)
            break;
        for (;;) {
            dvs_sql_init(b, d->dialect);
            dvs_sql_fold_select(b, f);
            rc = d->read(d->ctx, b, f, err);
            if (rc == 0 && f->n > 0) {
                dvs_sql_init(b, d->dialect);
                dvs_sql_fold_update(b, f);
                rc = d->exec(d->ctx, b, err);
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
