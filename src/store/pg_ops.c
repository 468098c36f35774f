/* The PostgreSQL backend's long-running operations and work items (dvs_index.h "Long-running operations"),
 * with the same rules as the SQLite one (sqlite_ops.c).
 *
 * Several processes may resume one operation at once, so every "only once" rule is one UPDATE guarded by
 * the row's state: PostgreSQL's row lock makes a second UPDATE of the same row wait, re-read the row, and
 * then find the guard false (READ COMMITTED). op_item_finish moves an item from pending to ok/failed and
 * the counters in one transaction; op_finish records a result once. [test_store:
 * test_operation_items_postgresql, test_item_finish_race_postgresql] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/dv_hex.h"
#include "util/dv_utf8.h"
#include "store/dvs_sql.h"
#include "store/pg_internal.h"

static char *dup_val(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : strdup(PQgetvalue(r, row, col));
}

/* Columns of DVS_SQL_OP_COLS (and request at col 12 when with_request) into out. -1 on ENOMEM. */
static int read_op(const PGresult *r, int row, dvs_operation *out, int with_request)
{
    memset(out, 0, sizeof *out);
    out->id = dvs_pg_get_i64(r, row, 0);
    out->dataset_id = dvs_pg_get_i64(r, row, 1);
    dvs_pg_get_text(out->api_method, sizeof out->api_method, r, row, 2);
    dvs_pg_get_text(out->create_time, sizeof out->create_time, r, row, 3);
    dvs_pg_get_text(out->end_time, sizeof out->end_time, r, row, 4);
    out->done = (int)dvs_pg_get_i64(r, row, 5);
    out->cancel_requested = (int)dvs_pg_get_i64(r, row, 6);
    out->planned = (int)dvs_pg_get_i64(r, row, 7);
    out->success = (uint64_t)dvs_pg_get_i64(r, row, 8);
    out->failure = (uint64_t)dvs_pg_get_i64(r, row, 9);
    out->pending = (uint64_t)dvs_pg_get_i64(r, row, 10);
    if (!PQgetisnull(r, row, 11) && (out->result_json = dup_val(r, row, 11)) == NULL)
        return -1;
    if (with_request && !PQgetisnull(r, row, 12) && (out->request_json = dup_val(r, row, 12)) == NULL) {
        dvs_operation_clear(out);
        return -1;
    }
    return 0;
}

static int changed(const PGresult *r)
{
    return strcmp(PQcmdTuples((PGresult *)r), "0") != 0;
}

int dvs_pg_op_create(dvs_index *ix, dvs_operation *op, dv_error *err)
{
    dvs_rfc3339_now(op->create_time);
    op->end_time[0] = '\0';
    op->done = op->cancel_requested = op->planned = 0;
    op->success = op->failure = op->pending = 0;
    char ds[24];
    dvs_pg_i64(ds, op->dataset_id);
    const char *v[4] = {ds, op->api_method, op->create_time, op->request_json};
    PGresult *r = dvs_pg_one(PX(ix),
                      "INSERT INTO operations(dataset_id, api_method, create_time, request) VALUES($1,$2,$3,$4)"
                      " RETURNING id",
                      4, v, "operation create", err);
    if (r == NULL)
        return -1;
    op->id = dvs_pg_get_i64(r, 0, 0);
    PQclear(r);
    return DVS_OK;
}

int dvs_pg_op_get(dvs_index *ix, int64_t dataset_id, int64_t id, dvs_operation *out, dv_error *err)
{
    char a[24], b[24];
    dvs_pg_i64(a, id);
    dvs_pg_i64(b, dataset_id);
    const char *v[2] = {a, b};
    PGresult *r = dvs_pg_one(PX(ix),
                      "SELECT " DVS_SQL_OP_COLS ", request FROM operations WHERE id=$1"
                      " AND ($2::bigint=0 OR dataset_id=$2::bigint)",
                      2, v, "operation get", err);
    if (r == NULL)
        return -1;
    int rc = DVS_NOT_FOUND;
    if (PQntuples(r))
        rc = read_op(r, 0, out, 1) ? dv_fail(err, DV_ERR_NOMEM, "index: operation get") : DVS_OK;
    PQclear(r);
    return rc;
}

static int page_op(const PGresult *r, int row, void *elem)
{
    return read_op(r, row, elem, 0);
}

int dvs_pg_op_list(dvs_index *ix, int64_t dataset_id, int done, int64_t after, uint32_t limit, dvs_operation *out,
                   size_t *n, int64_t *next, dv_error *err)
{
    *n = 0;
    *next = 0;
    char a[24], b[24], c[24], d[24];
    dvs_pg_i64(a, dataset_id);
    dvs_pg_i64(b, done < 0 ? -1 : done ? 1 : 0);
    dvs_pg_i64(c, after);
    dvs_pg_i64(d, (int64_t)limit + 1);
    const char *v[4] = {a, b, c, d};
    PGresult *r = dvs_pg_one(PX(ix),
                      "SELECT " DVS_SQL_OP_COLS " FROM operations WHERE ($1::bigint=0 OR dataset_id=$1::bigint)"
                      " AND ($2::bigint<0 OR done=$2::bigint) AND id>$3 ORDER BY id LIMIT $4",
                      4, v, "operation list", err);
    if (r == NULL)
        return -1;
    int rc = dvs_pg_page(r, page_op, &dvs_page_operations, out, limit, n, next, "operation list", err);
    PQclear(r);
    return rc;
}

int dvs_pg_op_cancel(dvs_index *ix, int64_t id, dv_error *err)
{
    char a[24];
    dvs_pg_i64(a, id);
    const char *v[1] = {a};
    /* One statement: a finished operation keeps its flag (nothing to cancel), a missing one changes no row. */
    PGresult *r = dvs_pg_one(PX(ix),
                      "UPDATE operations SET cancel_requested=CASE WHEN done=0 THEN 1 ELSE cancel_requested END"
                      " WHERE id=$1",
                      1, v, "operation cancel", err);
    if (r == NULL)
        return -1;
    int rc = changed(r) ? DVS_OK : DVS_NOT_FOUND;
    PQclear(r);
    return rc;
}

int dvs_pg_op_finish(dvs_index *ix, int64_t id, const char *result_json, dv_error *err)
{
    char now[32], a[24];
    dvs_rfc3339_now(now);
    dvs_pg_i64(a, id);
    const char *v[3] = {now, result_json, a};
    PGresult *r = dvs_pg_one(PX(ix), "UPDATE operations SET done=1, end_time=$1, result=$2 WHERE id=$3 AND done=0", 3, v,
                      "operation finish", err);
    if (r == NULL)
        return -1;
    int ok = changed(r);
    PQclear(r);
    if (ok) {
        /* An import's file names and an import's or export's folder are needed only to resume it (as
         * dvs_sx_op_finish). Their dead tuples stay until a VACUUM (docs/server.md "What the index forgets"). */
        dv_error ignored = {0};
        if ((r = dvs_pg_one(PX(ix), "UPDATE op_items SET path='' WHERE op_id=$1 AND path<>''", 1, v + 2,
                            "operation finish", &ignored)) != NULL)
            PQclear(r);
        if ((r = dvs_pg_one(PX(ix), DVS_SQL_OP_FORGET_FOLDER_PG, 1, v + 2, "operation finish", &ignored)) != NULL)
            PQclear(r);
        return DVS_OK;
    }
    /* Already done (its result stays), or no such operation. */
    if ((r = dvs_pg_one(PX(ix), "SELECT 1 FROM operations WHERE id=$1", 1, v + 2, "operation finish", err)) == NULL)
        return -1;
    int rc = PQntuples(r) ? DVS_EXISTS : DVS_NOT_FOUND;
    PQclear(r);
    return rc;
}

/* An import's path is the file's name as the file system has it: any bytes. PostgreSQL's text refuses what is not
 * UTF-8 (the planning failed and the import never finished), so such a path, or one starting with the marker, is
 * stored as the marker \x01 and its bytes in hex, and read back as it was. SQLite keeps bytes as they are. */
#define PATH_HEX_MARK '\x01'

/* path as stored: itself, or into buf (2 * DVS_ITEM_PATH_MAX + 2 bytes) in the marked hex form */
static const char *path_stored(const char *path, char *buf)
{
    if (path[0] != PATH_HEX_MARK && dv_utf8_valid((const uint8_t *)path, strlen(path)))
        return path;
    static const char hex[] = "0123456789abcdef";
    char *o = buf;
    *o++ = PATH_HEX_MARK;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        *o++ = hex[*p >> 4];
        *o++ = hex[*p & 15];
    }
    *o = '\0';
    return buf;
}

/* The stored path back into dst (cap bytes): a marked hex form decoded, anything else as it is. */
static void path_read(char *dst, size_t cap, const char *v)
{
    if (v[0] != PATH_HEX_MARK) {
        snprintf(dst, cap, "%s", v);
        return;
    }
    size_t n = 0;
    for (const char *p = v + 1; p[0] && p[1] && n + 1 < cap; p += 2) {
        int hi = dv_hex_value((uint8_t)p[0]), lo = dv_hex_value((uint8_t)p[1]);
        if (hi < 0 || lo < 0)
            break;
        dst[n++] = (char)(hi << 4 | lo);
    }
    dst[n] = '\0';
}

typedef struct items_add_arg {
    int64_t op_id;
    const dvs_op_item *items;
    size_t n;
} items_add_arg;

/* op_items_add's transaction. The operation row is share-locked first: it cannot be deleted meanwhile, and a
 * missing one is DVS_NOT_FOUND rather than a foreign-key error. */
static int items_add_tx(PGconn *c, void *arg, dv_error *err, PGresult **failed)
{
    const items_add_arg *a = arg;
    char op[24];
    dvs_pg_i64(op, a->op_id);
    const char *v1[1] = {op};
    PGresult *r = dvs_pg_run(c, "SELECT 1 FROM operations WHERE id=$1 FOR SHARE", 1, v1, "operation items add", err,
                             failed);
    if (r == NULL)
        return -1;
    int found = PQntuples(r) > 0;
    PQclear(r);
    if (!found)
        return DVS_NOT_FOUND;
    for (size_t i = 0; i < a->n; i++) {
        const dvs_op_item *it = &a->items[i];
        char seq[24], src[24], dst[24];
        dvs_pg_i64(seq, it->seq);
        dvs_pg_i64(src, it->src_store_id);
        dvs_pg_i64(dst, it->dst_store_id);
        char path[2 * DVS_ITEM_PATH_MAX + 2];
        const char *v[9] = {op, seq, src, dst, it->study_uid, it->series_uid, it->sop_uid, it->blob,
                            path_stored(it->path, path)};
        r = dvs_pg_run(c,
                       "INSERT INTO op_items(op_id, seq, src_store, dst_store, study_uid, series_uid, sop_uid, blob,"
                       " path) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT DO NOTHING",
                       9, v, "operation items add", err, failed);
        if (r == NULL)
            return -1;
        int added = changed(r);
        PQclear(r);
        if (!added) /* a taken seq: nothing of this call is added */
            return DVS_EXISTS;
    }
    return DVS_OK;
}

int dvs_pg_op_items_add(dvs_index *ix, int64_t op_id, const dvs_op_item *items, size_t n, dv_error *err)
{
    items_add_arg a = {op_id, items, n};
    return dvs_pg_transaction(PX(ix), "BEGIN", items_add_tx, &a, err);
}

int dvs_pg_op_planned(dvs_index *ix, int64_t op_id, dv_error *err)
{
    char a[24];
    dvs_pg_i64(a, op_id);
    const char *v[1] = {a};
    PGresult *r = dvs_pg_one(PX(ix),
                      "UPDATE operations SET planned=1, pending=(SELECT COUNT(*) FROM op_items WHERE op_id=$1 AND"
                      " state=0) WHERE id=$1",
                      1, v, "operation planned", err);
    if (r == NULL)
        return -1;
    int rc = changed(r) ? DVS_OK : DVS_NOT_FOUND;
    PQclear(r);
    return rc;
}

static int items_reset_tx(PGconn *c, void *arg, dv_error *err, PGresult **failed)
{
    char a[24];
    dvs_pg_i64(a, *(const int64_t *)arg);
    const char *v[1] = {a};
    PGresult *r = dvs_pg_run(c, "DELETE FROM op_items WHERE op_id=$1", 1, v, "operation items reset", err, failed);
    if (r == NULL)
        return -1;
    PQclear(r);
    r = dvs_pg_run(c, "UPDATE operations SET planned=0, success=0, failure=0, pending=0 WHERE id=$1", 1, v,
                   "operation items reset", err, failed);
    if (r == NULL)
        return -1;
    int rc = changed(r) ? DVS_OK : DVS_NOT_FOUND;
    PQclear(r);
    return rc;
}

int dvs_pg_op_items_reset(dvs_index *ix, int64_t op_id, dv_error *err)
{
    return dvs_pg_transaction(PX(ix), "BEGIN", items_reset_tx, &op_id, err);
}

/* A row of DVS_SQL_ITEM_COLS into elem (a dvs_op_item): a dvs_pg_read_fn. */
static int page_item(const PGresult *r, int i, void *elem)
{
    dvs_op_item *it = elem;
    it->seq = dvs_pg_get_i64(r, i, 0);
    it->src_store_id = dvs_pg_get_i64(r, i, 1);
    it->dst_store_id = dvs_pg_get_i64(r, i, 2);
    dvs_pg_get_text(it->study_uid, sizeof it->study_uid, r, i, 3);
    dvs_pg_get_text(it->series_uid, sizeof it->series_uid, r, i, 4);
    dvs_pg_get_text(it->sop_uid, sizeof it->sop_uid, r, i, 5);
    dvs_pg_get_text(it->blob, sizeof it->blob, r, i, 6);
    path_read(it->path, sizeof it->path, PQgetisnull(r, i, 7) ? "" : PQgetvalue(r, i, 7));
    it->state = (int)dvs_pg_get_i64(r, i, 8);
    dvs_pg_get_text(it->error_class, sizeof it->error_class, r, i, 9);
    return 0;
}

/* Items of op_id in state with seq > after, at most limit (+1 to tell whether more follow). */
static int items_page(pg_index *p, int64_t op_id, int state, int64_t after, uint32_t limit, dvs_op_item *out,
                      size_t *n, int64_t *next, const char *what, dv_error *err)
{
    *n = 0;
    if (next)
        *next = 0;
    char a[24], b[24], c[24], d[24];
    dvs_pg_i64(a, op_id);
    dvs_pg_i64(b, state);
    dvs_pg_i64(c, after);
    dvs_pg_i64(d, (int64_t)limit + 1);
    const char *v[4] = {a, b, c, d};
    PGresult *r = dvs_pg_one(p,
                      "SELECT " DVS_SQL_ITEM_COLS " FROM op_items WHERE op_id=$1 AND state=$2 AND seq>$3"
                      " ORDER BY seq LIMIT $4",
                      4, v, what, err);
    if (r == NULL)
        return -1;
    int rc = dvs_pg_page(r, page_item, &dvs_page_items, out, limit, n, next, what, err);
    PQclear(r);
    return rc;
}

int dvs_pg_op_items_pending(dvs_index *ix, int64_t op_id, int64_t after, uint32_t limit, dvs_op_item *out,
                            size_t *n, dv_error *err)
{
    return items_page(PX(ix), op_id, DVS_ITEM_PENDING, after, limit, out, n, NULL, "operation items", err);
}

int dvs_pg_op_errors(dvs_index *ix, int64_t op_id, int64_t after, uint32_t limit, dvs_op_item *out, size_t *n,
                     int64_t *next, dv_error *err)
{
    return items_page(PX(ix), op_id, DVS_ITEM_FAILED, after, limit, out, n, next, "operation errors", err);
}

typedef struct item_finish_arg {
    int64_t op_id, seq;
    int state;
    const char *error_class;
} item_finish_arg;

static int item_finish_tx(PGconn *c, void *arg, dv_error *err, PGresult **failed)
{
    const item_finish_arg *a = arg;
    char op[24], sq[24], st[24];
    dvs_pg_i64(op, a->op_id);
    dvs_pg_i64(sq, a->seq);
    dvs_pg_i64(st, a->state);
    const char *v[4] = {st, a->state == DVS_ITEM_FAILED && a->error_class ? a->error_class : "", op, sq};
    PGresult *r = dvs_pg_run(c, "UPDATE op_items SET state=$1, error_class=$2 WHERE op_id=$3 AND seq=$4 AND state=0",
                             4, v, "operation item finish", err, failed);
    if (r == NULL)
        return -1;
    int moved = changed(r);
    PQclear(r);
    if (!moved) {
        /* Already finished (counted then), or no such item. */
        r = dvs_pg_run(c, "SELECT 1 FROM op_items WHERE op_id=$1 AND seq=$2", 2, v + 2, "operation item finish", err,
                       failed);
        if (r == NULL)
            return -1;
        int rc = PQntuples(r) ? DVS_EXISTS : DVS_NOT_FOUND;
        PQclear(r);
        return rc;
    }
    r = dvs_pg_run(c,
                   a->state == DVS_ITEM_OK
                       ? "UPDATE operations SET success=success+1, pending=GREATEST(pending-1,0) WHERE id=$1"
                       : "UPDATE operations SET failure=failure+1, pending=GREATEST(pending-1,0) WHERE id=$1",
                   1, v + 2, "operation item finish", err, failed);
    if (r == NULL)
        return -1;
    PQclear(r);
    return DVS_OK;
}

int dvs_pg_op_item_finish(dvs_index *ix, int64_t op_id, int64_t seq, int state, const char *error_class,
                          dv_error *err)
{
    if (state != DVS_ITEM_OK && state != DVS_ITEM_FAILED)
        return dv_fail(err, DV_ERR_USAGE, "index: item state must be ok or failed");
    item_finish_arg a = {op_id, seq, state, error_class};
    return dvs_pg_transaction(PX(ix), "BEGIN", item_finish_tx, &a, err);
}

/* ---- op_items_finish: a chunk of items in one statement ----
 * The SQLite backend finishes a de-identify operation's chunk (up to 32 items) in one transaction; here the
 * whole chunk is ONE statement in one transaction (not one transaction of three round trips per item): the
 * guarded UPDATE of the items (pending -> ok/failed, only from pending: the row lock makes a concurrent
 * finish of the same item wait, re-read it and find it finished), the counters moved by what that UPDATE
 * moved, and per item whether it moved or exists at all. [test_store: test_op_items_finish_batch_postgresql] */

#define PG_FINISH_MAX 4096 /* items per call: bounds the statement (a chunk is DVH_OP_CHUNK) */

typedef struct items_finish_arg {
    int64_t op_id;
    size_t n;                 /* distinct items */
    const char *seqs, *states, *classes; /* array literals */
    const int64_t *seq;       /* [n] */
    int *rc;                  /* [n]: the answer of each distinct item */
} items_finish_arg;

static int items_finish_tx(PGconn *c, void *arg, dv_error *err, PGresult **failed)
{
    const items_finish_arg *a = arg;
    char op[24], ok[24], bad[24];
    dvs_pg_i64(op, a->op_id);
    dvs_pg_i64(ok, DVS_ITEM_OK);
    dvs_pg_i64(bad, DVS_ITEM_FAILED);
    const char *v[6] = {op, a->seqs, a->states, a->classes, ok, bad};
    PGresult *r = dvs_pg_run(
        c,
        "WITH v(seq, state, cls) AS (SELECT * FROM unnest($2::bigint[], $3::int[], $4::text[])),"
        " moved AS (UPDATE op_items i SET state=v.state, error_class=v.cls FROM v"
        "   WHERE i.op_id=$1 AND i.seq=v.seq AND i.state=0 RETURNING i.seq, i.state),"
        " counted AS (UPDATE operations SET"
        "   success=success+(SELECT count(*) FROM moved WHERE state=$5::int),"
        "   failure=failure+(SELECT count(*) FROM moved WHERE state=$6::int),"
        "   pending=GREATEST(pending-(SELECT count(*) FROM moved),0)"
        "   WHERE id=$1 AND EXISTS(SELECT 1 FROM moved))"
        " SELECT v.seq, m.seq IS NOT NULL, EXISTS(SELECT 1 FROM op_items x WHERE x.op_id=$1 AND x.seq=v.seq)"
        " FROM v LEFT JOIN moved m ON m.seq=v.seq",
        6, v, "operation items finish", err, failed);
    if (r == NULL)
        return -1;
    int rows = PQntuples(r);
    for (size_t k = 0; k < a->n; k++)
        a->rc[k] = DVS_NOT_FOUND;
    for (int i = 0; i < rows; i++) {
        int64_t seq = dvs_pg_get_i64(r, i, 0);
        int moved = PQgetvalue(r, i, 1)[0] == 't', known = PQgetvalue(r, i, 2)[0] == 't';
        for (size_t k = 0; k < a->n; k++)
            if (a->seq[k] == seq)
                a->rc[k] = moved ? DVS_OK : known ? DVS_EXISTS : DVS_NOT_FOUND;
    }
    PQclear(r);
    return DVS_OK;
}

/* Appends s to the text-array literal at *p as one quoted element ("" for NULL). */
static char *array_text(char *p, const char *s)
{
    *p++ = '"';
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\')
            *p++ = '\\';
        *p++ = *s;
    }
    *p++ = '"';
    return p;
}

int dvs_pg_op_items_finish(dvs_index *ix, int64_t op_id, size_t n, const int64_t *seqs, const int *states,
                           const char *const *classes, int *rcs, dv_error *err)
{
    for (size_t k = 0; k < n; k++)
        if (states[k] != DVS_ITEM_OK && states[k] != DVS_ITEM_FAILED)
            return dv_fail(err, DV_ERR_USAGE, "index: item state must be ok or failed");
    if (n == 0)
        return 0;
    if (n > PG_FINISH_MAX)
        return dv_fail(err, DV_ERR_LIMIT, "index: more than %d items finished at once", PG_FINISH_MAX);
    /* A seq given twice is finished by its first occurrence (op_item_finish called twice: the second finds
     * it finished), so only the first goes into the statement. */
    size_t cls_len = 0;
    for (size_t k = 0; k < n; k++)
        cls_len += 2 * (classes && classes[k] ? strlen(classes[k]) : 0) + 3;
    int64_t *seq = malloc(n * sizeof *seq);
    size_t *first = malloc(n * sizeof *first); /* item k's index among the distinct ones */
    char *dup = malloc(n);                       /* item k repeats an earlier one */
    int *rc = malloc(n * sizeof *rc);
    char *sq = malloc(n * 22 + 3), *st = malloc(n * 3 + 3), *cl = malloc(cls_len + 3);
    int r = -1;
    if (seq == NULL || first == NULL || dup == NULL || rc == NULL || sq == NULL || st == NULL || cl == NULL) {
        dv_fail(err, DV_ERR_NOMEM, "index: out of memory");
        goto out;
    }
    size_t m = 0;
    char *ps = sq, *pt = st, *pc = cl;
    *ps++ = *pt++ = *pc++ = '{';
    for (size_t k = 0; k < n; k++) {
        size_t j = 0;
        while (j < m && seq[j] != seqs[k])
            j++;
        first[k] = j;
        dup[k] = j < m;
        if (dup[k])
            continue;
        if (m)
            *ps++ = *pt++ = *pc++ = ',';
        seq[m++] = seqs[k];
        ps += snprintf(ps, 22, "%lld", (long long)seqs[k]);
        *pt++ = (char)('0' + states[k]);
        pc = array_text(pc, states[k] == DVS_ITEM_FAILED && classes ? classes[k] : NULL);
    }
    *ps++ = *pt++ = *pc++ = '}';
    *ps = *pt = *pc = '\0';
    items_finish_arg a = {op_id, m, sq, st, cl, seq, rc};
    r = dvs_pg_transaction(PX(ix), "BEGIN", items_finish_tx, &a, err);
    if (r == DVS_OK)
        for (size_t k = 0; k < n; k++)
            rcs[k] = !dup[k] ? rc[first[k]] : rc[first[k]] == DVS_NOT_FOUND ? DVS_NOT_FOUND : DVS_EXISTS;
    r = r == DVS_OK ? 0 : -1;
out:
    free(seq);
    free(first);
    free(dup);
    free(rc);
    free(sq);
    free(st);
    free(cl);
    return r;
}
