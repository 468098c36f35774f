/* SQL shared by the index backends: schema, level inserts, QIDO (see dvs_sql.h). */
#include "store/dvs_sql.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "text/pn_fold.h"

void dvs_sql_init(dvs_sql *b, dvs_dialect dialect)
{
    b->dialect = dialect;
    b->text[0] = '\0';
    b->n = 0;
    b->overflow = 0;
    b->nparam = 0;
    b->ncol = 0;
}

void dvs_sql_add(dvs_sql *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->text + b->n, sizeof b->text - b->n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= sizeof b->text - b->n)
        b->overflow = 1;
    else
        b->n += (size_t)k;
}

static dvs_sql_param *next_param(dvs_sql *b)
{
    if (b->nparam == DVS_SQL_PARAMS_MAX) {
        b->overflow = 1;
        return NULL;
    }
    dvs_sql_param *p = &b->param[b->nparam++];
    dvs_sql_add(b, "$%zu", b->nparam);
    return p;
}

void dvs_sql_text(dvs_sql *b, const char *v)
{
    dvs_sql_param *p = next_param(b);
    if (p) {
        p->is_int = 0;
        p->text = v;
    }
}

void dvs_sql_int(dvs_sql *b, int64_t v)
{
    dvs_sql_param *p = next_param(b);
    if (p) {
        p->is_int = 1;
        p->i = v;
    }
}

int dvs_sql_sqlite_placeholders(const char *sql, char *out, size_t cap)
{
    size_t n = strlen(sql);
    if (n >= cap)
        return -1;
    for (size_t i = 0; i <= n; i++)
        out[i] = sql[i] == '$' && sql[i + 1] >= '0' && sql[i + 1] <= '9' ? '?' : sql[i];
    return 0;
}

void dvs_rfc3339_now(char out[32])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char head[24];
    strftime(head, sizeof head, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%.19s.%06dZ", head, (int)((ts.tv_nsec / 1000) % 1000000));
}

/* ---- schema ---- */

/* The schema once, for both dialects: @PK@ an auto-assigned 64-bit key that is never reused, @ROWID@ an
 * auto-assigned key, @T@ text, @I@ a 64-bit integer. PostgreSQL text columns use the "C" collation so that
 * comparisons, ranges and LIKE are bytewise, exactly as in SQLite (the same QIDO answer on both backends;
 * [test_store: test_index_postgresql]) and prefix LIKE can use the indexes. Fuzzy PN matching compares folded
 * twin columns our code fills (sql_fold.c), never the database's lower(). */
static const char schema_template[] =
    "CREATE TABLE IF NOT EXISTS datasets(id @PK@, project @T@ NOT NULL,"
    " location @T@ NOT NULL, name @T@ NOT NULL, time_zone @T@ NOT NULL DEFAULT '',"
    " create_time @T@ NOT NULL, UNIQUE(project, location, name));"
    "CREATE TABLE IF NOT EXISTS stores(id @PK@,"
    " dataset_id @I@ NOT NULL REFERENCES datasets(id) ON DELETE CASCADE, name @T@ NOT NULL,"
    " labels @T@ NOT NULL DEFAULT '{}', UNIQUE(dataset_id, name));"
    "CREATE TABLE IF NOT EXISTS studies(id @ROWID@,"
    " store_id @I@ NOT NULL REFERENCES stores(id) ON DELETE CASCADE, study_uid @T@ NOT NULL@STUDY@,"
    " UNIQUE(store_id, study_uid));"
    "CREATE TABLE IF NOT EXISTS series(id @ROWID@,"
    " study_id @I@ NOT NULL REFERENCES studies(id) ON DELETE CASCADE, series_uid @T@ NOT NULL@SERIES@,"
    " UNIQUE(study_id, series_uid));"
    "CREATE TABLE IF NOT EXISTS instances(id @ROWID@,"
    " series_id @I@ NOT NULL REFERENCES series(id) ON DELETE CASCADE,"
    " store_id @I@ NOT NULL, sop_uid @T@ NOT NULL@INSTANCE@, transfer_syntax @T@ NOT NULL,"
    " blob @T@ NOT NULL, size @I@ NOT NULL, UNIQUE(store_id, sop_uid));"
    "CREATE INDEX IF NOT EXISTS studies_patient_id ON studies(store_id, patient_id);"
    "CREATE INDEX IF NOT EXISTS studies_patient_name ON studies(store_id, patient_name);"
    "CREATE INDEX IF NOT EXISTS studies_date ON studies(store_id, study_date);"
    "CREATE INDEX IF NOT EXISTS studies_accession ON studies(store_id, accession_number);"
    "CREATE INDEX IF NOT EXISTS series_uid ON series(series_uid);"
    "CREATE INDEX IF NOT EXISTS series_modality ON series(modality, study_id);"
    "CREATE INDEX IF NOT EXISTS instances_series ON instances(series_id);"
    "CREATE INDEX IF NOT EXISTS instances_blob ON instances(store_id, blob);"
    /* Long-running operations and their work items (dvs_index.h "Long-running operations"). result is the
     * Operation's {"response"} or {"error"} JSON once done. */
    "CREATE TABLE IF NOT EXISTS operations(id @PK@,"
    " dataset_id @I@ NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,"
    " api_method @T@ NOT NULL, create_time @T@ NOT NULL, end_time @T@ NOT NULL DEFAULT '',"
    " done @I@ NOT NULL DEFAULT 0, cancel_requested @I@ NOT NULL DEFAULT 0,"
    " planned @I@ NOT NULL DEFAULT 0, success @I@ NOT NULL DEFAULT 0,"
    " failure @I@ NOT NULL DEFAULT 0, pending @I@ NOT NULL DEFAULT 0, request @T@, result @T@);"
    "CREATE INDEX IF NOT EXISTS operations_dataset ON operations(dataset_id, id);"
    "CREATE TABLE IF NOT EXISTS op_items(op_id @I@ NOT NULL REFERENCES operations(id) ON DELETE CASCADE,"
    " seq @I@ NOT NULL, src_store @I@ NOT NULL, dst_store @I@ NOT NULL,"
    " study_uid @T@ NOT NULL, series_uid @T@ NOT NULL, sop_uid @T@ NOT NULL, blob @T@ NOT NULL,"
    " path @T@ NOT NULL, state @I@ NOT NULL DEFAULT 0, error_class @T@ NOT NULL DEFAULT '',"
    " PRIMARY KEY(op_id, seq));"
    "CREATE INDEX IF NOT EXISTS op_items_state ON op_items(op_id, state, seq);";

/* ", col TYPE" for the stored attributes of a level (the uid column is in the template). */
static int attr_columns(dvs_level level, const char *type, char *out, size_t cap)
{
    size_t w = 0;
    out[0] = '\0';
    for (size_t i = 0; i < dvs_nattrs; i++) {
        const dvs_attr *a = &dvs_attrs[i];
        if (a->level != level || a->column == NULL || strcmp(a->column, "study_uid") == 0 ||
            strcmp(a->column, "series_uid") == 0 || strcmp(a->column, "sop_uid") == 0)
            continue;
        int k = dvs_attr_folded(a) ? snprintf(out + w, cap - w, ", %s %s, %s" DVS_FOLD_SUFFIX " %s", a->column, type,
                                              a->column, type)
                                   : snprintf(out + w, cap - w, ", %s %s", a->column, type);
        if (k < 0 || (size_t)k >= cap - w)
            return -1;
        w += (size_t)k;
    }
    return 0;
}

int dvs_sql_schema(dvs_dialect dialect, char *out, size_t cap)
{
    int pg = dialect == DVS_DIALECT_PG;
    const char *text = pg ? "TEXT COLLATE \"C\"" : "TEXT";
    char st[1024], se[1024], in[1024];
    if (attr_columns(DVS_STUDY, text, st, sizeof st) || attr_columns(DVS_SERIES, text, se, sizeof se) ||
        attr_columns(DVS_INSTANCE, text, in, sizeof in))
        return -1;
    const struct {
        const char *token, *value;
    } subst[] = {
        {"@PK@", pg ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT"},
        {"@ROWID@", pg ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY"},
        {"@T@", text},
        {"@I@", pg ? "BIGINT" : "INTEGER"},
        {"@STUDY@", st},
        {"@SERIES@", se},
        {"@INSTANCE@", in},
    };
    size_t w = 0;
    for (const char *p = schema_template; *p;) {
        const char *v = NULL;
        size_t tl = 0;
        if (*p == '@')
            for (size_t k = 0; k < sizeof subst / sizeof subst[0]; k++)
                if (strncmp(p, subst[k].token, strlen(subst[k].token)) == 0) {
                    v = subst[k].value;
                    tl = strlen(subst[k].token);
                    break;
                }
        if (v == NULL) {
            v = p;
            tl = 1;
        }
        size_t vl = v == p ? 1 : strlen(v);
        if (w + vl >= cap)
            return -1;
        memcpy(out + w, v, vl);
        w += vl;
        p += tl;
    }
    out[w] = '\0';
    return 0;
}

const char *dvs_sql_level_table(dvs_level level)
{
    return level == DVS_STUDY ? "studies" : level == DVS_SERIES ? "series" : "instances";
}

int dvs_sql_add_column(dvs_dialect dialect, const dvs_attr *a, char *out, size_t cap)
{
    int pg = dialect == DVS_DIALECT_PG;
    int n = snprintf(out, cap, "ALTER TABLE %s ADD COLUMN %s%s %s", dvs_sql_level_table(a->level), pg ? "IF NOT EXISTS " : "",
                     a->column, pg ? "TEXT COLLATE \"C\"" : "TEXT");
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* ---- instance inserts ---- */

/* ", col" and, for a PN attribute, ", col_fold": the columns of attribute a in an insert. */
static void insert_columns(dvs_sql *b, const dvs_attr *a)
{
    dvs_sql_add(b, ", %s", a->column);
    if (dvs_attr_folded(a))
        dvs_sql_add(b, ", %s" DVS_FOLD_SUFFIX, a->column);
}

/* ",$k" bound to v and, for a PN attribute, ",$k+1" bound to its fold (computed here, so that both backends store
 * the same fold; NULL stays NULL), in the builder's scratch pat[(*nfold)++]. A stored value is at most
 * DVS_VALUE_MAX characters of UTF-8 (src/http/store_put.c) and its fold is never longer, so the scratch holds it. */
static void insert_values(dvs_sql *b, const dvs_attr *a, const char *v, size_t *nfold)
{
    dvs_sql_add(b, ",");
    dvs_sql_text(b, v);
    if (!dvs_attr_folded(a))
        return;
    dvs_sql_add(b, ",");
    if (v == NULL) {
        dvs_sql_text(b, NULL);
    } else if (*nfold < DVS_MATCH_MAX) {
        char *f = b->pat[(*nfold)++];
        dv_pn_fold(v, strlen(v), f, sizeof b->pat[0]);
        dvs_sql_text(b, f);
    } else {
        b->overflow = 1;
    }
}

void dvs_sql_level_insert(dvs_sql *b, dvs_level level, int64_t parent, const char *uid, const dvs_instance_rec *rec)
{
    const char *ucol = level == DVS_STUDY ? "study_uid" : "series_uid";
    dvs_sql_add(b, "INSERT INTO %s(%s, %s", level == DVS_STUDY ? "studies" : "series",
                level == DVS_STUDY ? "store_id" : "study_id", ucol);
    for (size_t i = 0; i < dvs_nattrs; i++) {
        const dvs_attr *a = &dvs_attrs[i];
        if (a->level == level && a->column != NULL && strcmp(a->column, ucol) != 0)
            insert_columns(b, a);
    }
    dvs_sql_add(b, ") VALUES(");
    dvs_sql_int(b, parent);
    dvs_sql_add(b, ",");
    dvs_sql_text(b, uid);
    size_t nfold = 0;
    for (size_t i = 0; i < dvs_nattrs; i++) {
        const dvs_attr *a = &dvs_attrs[i];
        if (a->level != level || a->column == NULL || strcmp(a->column, ucol) == 0)
            continue;
        insert_values(b, a, i < 64 ? rec->attr[i] : NULL, &nfold);
    }
    dvs_sql_add(b, ") ON CONFLICT DO NOTHING");
}

void dvs_sql_level_id(dvs_sql *b, dvs_level level, int64_t parent, const char *uid)
{
    dvs_sql_add(b, "SELECT id FROM %s WHERE %s=", level == DVS_STUDY ? "studies" : "series",
                level == DVS_STUDY ? "store_id" : "study_id");
    dvs_sql_int(b, parent);
    dvs_sql_add(b, " AND %s=", level == DVS_STUDY ? "study_uid" : "series_uid");
    dvs_sql_text(b, uid);
}

void dvs_sql_instance_insert(dvs_sql *b, int64_t series_id, int64_t store_id, const dvs_instance_rec *rec)
{
    dvs_sql_add(b, "INSERT INTO instances(series_id, store_id, sop_uid, transfer_syntax, blob, size");
    for (size_t i = 0; i < dvs_nattrs; i++) {
        const dvs_attr *a = &dvs_attrs[i];
        if (a->level == DVS_INSTANCE && a->column != NULL && strcmp(a->column, "sop_uid") != 0)
            insert_columns(b, a);
    }
    dvs_sql_add(b, ") VALUES(");
    dvs_sql_int(b, series_id);
    dvs_sql_add(b, ",");
    dvs_sql_int(b, store_id);
    dvs_sql_add(b, ",");
    dvs_sql_text(b, rec->sop_uid);
    dvs_sql_add(b, ",");
    dvs_sql_text(b, rec->transfer_syntax);
    dvs_sql_add(b, ",");
    dvs_sql_text(b, rec->blob);
    dvs_sql_add(b, ",");
    dvs_sql_int(b, (int64_t)rec->size);
    size_t nfold = 0;
    for (size_t i = 0; i < dvs_nattrs; i++) {
        const dvs_attr *a = &dvs_attrs[i];
        if (a->level != DVS_INSTANCE || a->column == NULL || strcmp(a->column, "sop_uid") == 0)
            continue;
        insert_values(b, a, i < 64 ? rec->attr[i] : NULL, &nfold);
    }
    dvs_sql_add(b, ") ON CONFLICT DO NOTHING RETURNING id");
}

/* ---- QIDO ---- */

static const char *level_alias(dvs_level l)
{
    return l == DVS_STUDY ? "st" : l == DVS_SERIES ? "se" : "i";
}

/* A DICOM wildcard value ('*' any run, '?' one character) as the dialect's pattern: SQLite GLOB (its '['
 * escaped as "[[]"), PostgreSQL LIKE ('%', '_' and the escape '\' escaped).
 * [test_store: test_index_sqlite, test_index_postgresql: "[I]*", "1*%", "ID_*"] */
static void wildcard_pattern(dvs_dialect d, const char *v, char *pat, size_t cap)
{
    size_t w = 0;
    for (; *v && w + 4 < cap; v++) {
        char c = *v;
        if (d == DVS_DIALECT_SQLITE) {
            if (c == '[') {
                memcpy(pat + w, "[[]", 3);
                w += 3;
                continue;
            }
        } else if (c == '*') {
            c = '%';
        } else if (c == '?') {
            c = '_';
        } else if (c == '%' || c == '_' || c == '\\') {
            pat[w++] = '\\';
        }
        pat[w++] = c;
    }
    pat[w] = '\0';
}

static const char *wildcard_op(const dvs_sql *b)
{
    return b->dialect == DVS_DIALECT_PG ? "LIKE" : "GLOB";
}

static void add_match(dvs_sql *b, const dvs_match *m, int fuzzy, size_t k)
{
    const dvs_attr *a = m->attr;
    if (m->kind == DVS_MATCH_UNIVERSAL)
        return;
    if (a->tag == 0x00080061) {
        /* ModalitiesInStudy: any series of the study has the modality. As an IN over series_modality (one
         * pass over the series of that modality), not a correlated EXISTS per study of the store.
         * [test_store: test_qido_plans_sqlite] */
        dvs_sql_add(b, " AND st.id IN (SELECT ms.study_id FROM series ms WHERE ms.modality %s ",
                    m->kind == DVS_MATCH_WILDCARD ? wildcard_op(b) : "=");
        if (m->kind == DVS_MATCH_WILDCARD) {
            wildcard_pattern(b->dialect, m->value, b->pat[k], sizeof b->pat[k]);
            dvs_sql_text(b, b->pat[k]);
        } else {
            dvs_sql_text(b, m->value);
        }
        dvs_sql_add(b, ")");
        return;
    }
    const char *al = level_alias(a->level);
    /* fuzzymatching=true: a PN value compares folded (case and accents, text/pn_fold.h) with the column's folded
     * twin, which our C code filled at insert time (never the database's lower(): both dialects must fold the
     * same characters the same way). The fold of a value is never longer than the value.
     * [test_store: test_index_sqlite, test_index_postgresql: fuzzy_checks] */
    int ci = fuzzy && dvs_attr_folded(a);
    const char *suffix = ci ? DVS_FOLD_SUFFIX : "";
    char folded[DVS_VALUE_MAX + 1];
    switch (m->kind) {
    case DVS_MATCH_SINGLE:
        dvs_sql_add(b, " AND %s.%s%s = ", al, a->column, suffix);
        if (ci) {
            dv_pn_fold(m->value, strlen(m->value), b->pat[k], sizeof b->pat[k]);
            dvs_sql_text(b, b->pat[k]);
        } else {
            dvs_sql_text(b, m->value);
        }
        break;
    case DVS_MATCH_WILDCARD:
        /* folded first: '*' and '?' fold to themselves, and the pattern's escapes are the dialect's */
        if (ci)
            dv_pn_fold(m->value, strlen(m->value), folded, sizeof folded);
        wildcard_pattern(b->dialect, ci ? folded : m->value, b->pat[k], sizeof b->pat[k]);
        dvs_sql_add(b, " AND %s.%s%s %s ", al, a->column, suffix, wildcard_op(b));
        dvs_sql_text(b, b->pat[k]);
        break;
    case DVS_MATCH_RANGE:
        /* Ends compare as strings (same digit layout); the upper end compares the value's prefix of its own
         * length, so "-12" on TM includes 12:59:59. */
        if (m->value[0]) {
            dvs_sql_add(b, " AND %s.%s >= ", al, a->column);
            dvs_sql_text(b, m->value);
        }
        if (m->hi[0]) {
            dvs_sql_add(b, " AND substr(%s.%s, 1, CAST(", al, a->column);
            dvs_sql_int(b, (int64_t)strlen(m->hi));
            dvs_sql_add(b, " AS INTEGER)) <= ");
            dvs_sql_text(b, m->hi);
        }
        break;
    case DVS_MATCH_LIST:
        dvs_sql_add(b, " AND %s.%s IN (", al, a->column);
        for (size_t i = 0; i < m->nlist; i++) {
            if (i)
                dvs_sql_add(b, ",");
            dvs_sql_text(b, m->list[i]);
        }
        dvs_sql_add(b, ")");
        break;
    case DVS_MATCH_UNIVERSAL:
        break;
    }
}

void dvs_sql_query(dvs_sql *b, int64_t store_id, const dvs_query *q)
{
    /* Columns: every stored attribute of the levels up to q->level, in dvs_attrs order. */
    dvs_sql_add(b, "SELECT ");
    for (size_t i = 0; i < dvs_nattrs && b->ncol < 64; i++) {
        const dvs_attr *a = &dvs_attrs[i];
        if (a->level > q->level || a->column == NULL)
            continue;
        dvs_sql_add(b, "%s%s.%s", b->ncol ? ", " : "", level_alias(a->level), a->column);
        b->colattr[b->ncol++] = i;
    }
    if (q->level == DVS_STUDY)
        dvs_sql_add(b, ", (SELECT COUNT(*) FROM series x WHERE x.study_id=st.id),"
                       " (SELECT COUNT(*) FROM instances y JOIN series x ON y.series_id=x.id WHERE x.study_id=st.id)");
    else if (q->level == DVS_SERIES)
        dvs_sql_add(b, ", 0, (SELECT COUNT(*) FROM instances y WHERE y.series_id=se.id)");
    else
        dvs_sql_add(b, ", 0, 0");
    if (b->dialect == DVS_DIALECT_PG)
        dvs_sql_add(b, ", (SELECT string_agg(m, '\\' ORDER BY m) FROM (SELECT DISTINCT x.modality AS m FROM series x"
                       " WHERE x.study_id=st.id AND x.modality IS NOT NULL) mods)");
    else
        dvs_sql_add(b, ", (SELECT group_concat(m, '\\') FROM (SELECT DISTINCT x.modality AS m FROM series x"
                       " WHERE x.study_id=st.id AND x.modality IS NOT NULL ORDER BY x.modality))");
    if (q->level == DVS_STUDY)
        dvs_sql_add(b, " FROM studies st WHERE st.store_id=");
    else if (q->level == DVS_SERIES)
        dvs_sql_add(b, " FROM series se JOIN studies st ON se.study_id=st.id WHERE st.store_id=");
    else if (q->study[0]) /* (store, study) is unique: one study, then its series and their instances */
        dvs_sql_add(b, " FROM instances i JOIN series se ON i.series_id=se.id JOIN studies st ON se.study_id=st.id"
                       " WHERE st.store_id=");
    else
        dvs_sql_add(b, " FROM instances i JOIN series se ON i.series_id=se.id JOIN studies st ON se.study_id=st.id"
                       " WHERE i.store_id=");
    dvs_sql_int(b, store_id);
    if (q->study[0]) {
        dvs_sql_add(b, " AND st.study_uid=");
        dvs_sql_text(b, q->study);
    }
    if (q->series[0]) {
        dvs_sql_add(b, " AND se.series_uid=");
        dvs_sql_text(b, q->series);
    }
    for (size_t k = 0; k < q->nmatch && k < DVS_MATCH_MAX; k++)
        add_match(b, &q->match[k], q->fuzzy, k);
    dvs_sql_add(b, " ORDER BY %s.id LIMIT ", level_alias(q->level));
    dvs_sql_int(b, q->limit);
    dvs_sql_add(b, " OFFSET ");
    dvs_sql_int(b, q->offset);
}

/* " AND <level>=$k" for each of study / series / sop given (NULL or "": that level unrestricted), over the
 * aliases st, se, i of the blobs and delete statements. */
static void add_scope(dvs_sql *b, const char *study, const char *series, const char *sop)
{
    if (study && study[0]) {
        dvs_sql_add(b, " AND st.study_uid=");
        dvs_sql_text(b, study);
    }
    if (series && series[0]) {
        dvs_sql_add(b, " AND se.series_uid=");
        dvs_sql_text(b, series);
    }
    if (sop && sop[0]) {
        dvs_sql_add(b, " AND i.sop_uid=");
        dvs_sql_text(b, sop);
    }
}

void dvs_sql_blobs(dvs_sql *b, int64_t store_id, const char *study, const char *series, const char *sop)
{
    dvs_sql_add(b, "SELECT st.study_uid, se.series_uid, i.sop_uid, i.sop_class_uid, i.transfer_syntax, i.blob, i.size"
                   " FROM instances i JOIN series se ON i.series_id=se.id JOIN studies st ON se.study_id=st.id"
                   " WHERE i.store_id=");
    dvs_sql_int(b, store_id);
    add_scope(b, study, series, sop);
    dvs_sql_add(b, " ORDER BY st.id, se.id, i.id");
}

void dvs_sql_instances_delete(dvs_sql *b, int step, int64_t store_id, const char *study, const char *series,
                              const char *sop)
{
    if (step == 1) {
        dvs_sql_add(b, "DELETE FROM series WHERE study_id IN (SELECT id FROM studies WHERE store_id=");
        dvs_sql_int(b, store_id);
        dvs_sql_add(b, ") AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.series_id=series.id)");
        return;
    }
    if (step == 2) {
        dvs_sql_add(b, "DELETE FROM studies WHERE store_id=");
        dvs_sql_int(b, store_id);
        dvs_sql_add(b, " AND NOT EXISTS (SELECT 1 FROM series se WHERE se.study_id=studies.id)");
        return;
    }
    dvs_sql_add(b, "DELETE FROM instances WHERE id IN (SELECT i.id FROM instances i JOIN series se ON"
                   " i.series_id=se.id JOIN studies st ON se.study_id=st.id WHERE i.store_id=");
    dvs_sql_int(b, store_id);
    add_scope(b, study, series, sop);
    dvs_sql_add(b, ")");
}
