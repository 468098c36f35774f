/* The SQLite backend's long-running operations and work items (dvs_index.h "Long-running operations").
 *
 * The rule that makes resuming safe lives here: op_item_finish moves an item from pending to ok/failed and
 * the operation's counters in ONE transaction, and only when the item is still pending. So an item done
 * twice (a crash between storing its output and finishing it, or two processes resuming one operation) is
 * counted once. Statements come from the connection's cache (dvs_sx_stmt): reset after use, never finalized.
 * [test_store: test_operations_sqlite, test_operation_items_sqlite] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/dvs_sql.h"
#include "store/sqlite_internal.h"

void dvs_operation_clear(dvs_operation *op)
{
    if (op == NULL)
        return;
    free(op->request_json);
    free(op->result_json);
    op->request_json = op->result_json = NULL;
}

static char *dup_col(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? strdup((const char *)t) : NULL;
}

#define OP_COLS DVS_SQL_OP_COLS

/* Columns of OP_COLS (and request at col 12 when with_request) into out. -1 on ENOMEM. */
static int read_op(sqlite3_stmt *st, dvs_operation *out, int with_request)
{
    memset(out, 0, sizeof *out);
    out->id = sqlite3_column_int64(st, 0);
    out->dataset_id = sqlite3_column_int64(st, 1);
    dvs_sx_copy_col(out->api_method, sizeof out->api_method, st, 2);
    dvs_sx_copy_col(out->create_time, sizeof out->create_time, st, 3);
    dvs_sx_copy_col(out->end_time, sizeof out->end_time, st, 4);
    out->done = sqlite3_column_int(st, 5);
    out->cancel_requested = sqlite3_column_int(st, 6);
    out->planned = sqlite3_column_int(st, 7);
    out->success = (uint64_t)sqlite3_column_int64(st, 8);
    out->failure = (uint64_t)sqlite3_column_int64(st, 9);
    out->pending = (uint64_t)sqlite3_column_int64(st, 10);
    if (sqlite3_column_type(st, 11) != SQLITE_NULL && (out->result_json = dup_col(st, 11)) == NULL)
        return -1;
    if (with_request && sqlite3_column_type(st, 12) != SQLITE_NULL && (out->request_json = dup_col(st, 12)) == NULL) {
        dvs_operation_clear(out);
        return -1;
    }
    return 0;
}

int dvs_sx_op_create(dvs_index *ix, dvs_operation *op, dv_error *err)
{
    dvs_sx_conn *s = &SX(ix)->w;
    dvs_sx_now(op->create_time);
    op->end_time[0] = '\0';
    op->done = op->cancel_requested = op->planned = 0;
    op->success = op->failure = op->pending = 0;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if ((st = dvs_sx_stmt(s, "INSERT INTO operations(dataset_id, api_method, create_time, request) VALUES(?,?,?,?)",
            "operations", err)) == NULL) {
        dvs_sx_fail(s, err, "operation create");
        goto out;
    }
    sqlite3_bind_int64(st, 1, op->dataset_id);
    sqlite3_bind_text(st, 2, op->api_method, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, op->create_time, -1, SQLITE_STATIC);
    if (op->request_json)
        sqlite3_bind_text(st, 4, op->request_json, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 4);
    if (sqlite3_step(st) != SQLITE_DONE) {
        dvs_sx_fail(s, err, "operation create");
        goto out;
    }
    op->id = sqlite3_last_insert_rowid(s->db);
    rc = DVS_OK;
out:
    sqlite3_reset(st);
    dvs_sx_unlock(s);
    return rc;
}

int dvs_sx_op_get(dvs_index *ix, int64_t dataset_id, int64_t id, dvs_operation *out, dv_error *err)
{
    sqlite_index *x = SX(ix);
    dvs_sx_conn *s = dvs_sx_reader_get(x, err);
    if (s == NULL)
        return -1;
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if ((st = dvs_sx_stmt(s, "SELECT " OP_COLS ", request FROM operations WHERE id=?1 AND (?2=0 OR dataset_id=?2)",
            "operations", err)) == NULL) {
        dvs_sx_fail(s, err, "operation get");
        goto out;
    }
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, dataset_id);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        rc = read_op(st, out, 1) ? dv_fail(err, DV_ERR_NOMEM, "index: operation get") : DVS_OK;
    else if (r == SQLITE_DONE)
        rc = DVS_NOT_FOUND;
    else
        dvs_sx_fail(s, err, "operation get");
out:
    sqlite3_reset(st);
    dvs_sx_reader_put(x, s);
    return rc;
}

static int page_op(sqlite3_stmt *st, void *elem)
{
    return read_op(st, elem, 0);
}

int dvs_sx_op_list(dvs_index *ix, int64_t dataset_id, int done, int64_t after, uint32_t limit, dvs_operation *out,
                   size_t *n, int64_t *next, dv_error *err)
{
    sqlite_index *x = SX(ix);
    *n = 0;
    *next = 0;
    dvs_sx_conn *s = dvs_sx_reader_get(x, err);
    if (s == NULL)
        return -1;
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if ((st = dvs_sx_stmt(s, "SELECT " OP_COLS " FROM operations WHERE (?1=0 OR dataset_id=?1) AND (?2<0 OR done=?2)"
                           " AND id>?3 ORDER BY id LIMIT ?4", "operations", err)) == NULL) {
        dvs_sx_fail(s, err, "operation list");
        goto out;
    }
    sqlite3_bind_int64(st, 1, dataset_id);
    sqlite3_bind_int(st, 2, done < 0 ? -1 : done ? 1 : 0);
    sqlite3_bind_int64(st, 3, after);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)limit + 1);
    rc = dvs_sx_page(s, st, page_op, &dvs_page_operations, out, limit, n, next, "operation list", err);
out:
    sqlite3_reset(st);
    dvs_sx_reader_put(x, s);
    return rc;
}

/* One statement binding the id as ?1; DVS_OK when a row changed, else DVS_NOT_FOUND. */
static int update_id(dvs_sx_conn *s, const char *sql, int64_t id, const char *what, dv_error *err)
{
    sqlite3_stmt *st = NULL;
    if ((st = dvs_sx_stmt(s, sql, "operations", err)) == NULL)
        return dvs_sx_fail(s, err, what);
    sqlite3_bind_int64(st, 1, id);
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_DONE)
        return dvs_sx_fail(s, err, what);
    return sqlite3_changes(s->db) ? DVS_OK : DVS_NOT_FOUND;
}

static int op_exists(dvs_sx_conn *s, int64_t id, int *done, const char *what, dv_error *err)
{
    sqlite3_stmt *st = NULL;
    if ((st = dvs_sx_stmt(s, "SELECT done FROM operations WHERE id=?", "operations", err)) == NULL)
        return dvs_sx_fail(s, err, what);
    sqlite3_bind_int64(st, 1, id);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        *done = sqlite3_column_int(st, 0);
    sqlite3_reset(st);
    if (r == SQLITE_ROW)
        return DVS_OK;
    return r == SQLITE_DONE ? DVS_NOT_FOUND : dvs_sx_fail(s, err, what);
}

int dvs_sx_op_cancel(dvs_index *ix, int64_t id, dv_error *err)
{
    dvs_sx_conn *s = &SX(ix)->w;
    pthread_mutex_lock(&s->mu);
    int done = 0;
    int rc = op_exists(s, id, &done, "operation cancel", err);
    if (rc == DVS_OK && !done)
        rc = update_id(s, "UPDATE operations SET cancel_requested=1 WHERE id=?1 AND done=0", id, "operation cancel", err);
    if (rc == DVS_NOT_FOUND && done) /* finished in between: nothing to cancel */
        rc = DVS_OK;
    dvs_sx_unlock(s);
    return rc;
}

int dvs_sx_op_finish(dvs_index *ix, int64_t id, const char *result_json, dv_error *err)
{
    dvs_sx_conn *s = &SX(ix)->w;
    char now[32];
    dvs_sx_now(now);
    pthread_mutex_lock(&s->mu);
    int done = 0;
    int rc = op_exists(s, id, &done, "operation finish", err);
    if (rc == DVS_OK && done)
        rc = DVS_EXISTS;
    if (rc == DVS_OK) {
        sqlite3_stmt *st = NULL;
        if ((st = dvs_sx_stmt(s, "UPDATE operations SET done=1, end_time=?, result=? WHERE id=? AND done=0",
                "operations", err)) == NULL) {
            rc = dvs_sx_fail(s, err, "operation finish");
        } else {
            sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
            if (result_json)
                sqlite3_bind_text(st, 2, result_json, -1, SQLITE_STATIC);
            else
                sqlite3_bind_null(st, 2);
            sqlite3_bind_int64(st, 3, id);
            if (sqlite3_step(st) != SQLITE_DONE)
                rc = dvs_sx_fail(s, err, "operation finish");
            else if (sqlite3_changes(s->db) == 0)
                rc = DVS_EXISTS;
        }
        sqlite3_reset(st);
    }
    /* An import's file names (PHI-bearing: the error log says "file #n" for them) and an import's or export's
     * folder (often one per patient) are needed only to resume it: gone once it is done (no API answer shows
     * them: Google's OperationMetadata names no URI), and out of the WAL too (dvs_sx_forget_flush). A failure
     * here leaves them as the source data they came with; the finish stands. [test_store.c:
     * test_op_finish_forgets_paths] */
    if (rc == DVS_OK) {
        dv_error ignored = {0};
        (void)update_id(s, "UPDATE op_items SET path='' WHERE op_id=? AND path<>''", id, "operation finish",
                        &ignored);
        (void)update_id(s, DVS_SQL_OP_FORGET_FOLDER_SQLITE, id, "operation finish", &ignored);
        dvs_sx_forget_flush(s);
    }
    dvs_sx_unlock(s);
    return rc;
}

/* A transaction whose COMMIT does not fsync the WAL (synchronous=NORMAL for it, FULL again after): for writes
 * that a later FULL commit makes durable with them (WAL frames are replayed as a prefix, so a durable commit
 * keeps every earlier one) and that are redone when lost: an operation's planning (its items and their reset,
 * made valid by op_planned, a FULL commit) and item finishes (redone at resume, counted once). The caller
 * holds s->mu; unsynced_end in every case after unsynced_begin. [test_server_ops.py "kill -9"] */
static int unsynced_begin(dvs_sx_conn *s, dv_error *err)
{
    return dvs_sx_exec(s, "PRAGMA synchronous=NORMAL", err) || dvs_sx_exec(s, "BEGIN IMMEDIATE", err) ? -1 : 0;
}

static void unsynced_end(dvs_sx_conn *s)
{
    dvs_sx_exec(s, "PRAGMA synchronous=FULL", NULL);
}

int dvs_sx_op_items_add(dvs_index *ix, int64_t op_id, const dvs_op_item *items, size_t n, dv_error *err)
{
    dvs_sx_conn *s = &SX(ix)->w;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    int rc = -1;
    /* Planning: op_planned's FULL commit makes these durable (op_plan.c, op_record.c). */
    if (unsynced_begin(s, err))
        goto out;
    if ((st = dvs_sx_stmt(s, "INSERT INTO op_items(op_id, seq, src_store, dst_store, study_uid, series_uid, sop_uid,"
                           " blob, path) VALUES(?,?,?,?,?,?,?,?,?)", "operations", err)) == NULL) {
        dvs_sx_fail(s, err, "operation items add");
        goto rollback;
    }
    for (size_t i = 0; i < n; i++) {
        const dvs_op_item *it = &items[i];
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, op_id);
        sqlite3_bind_int64(st, 2, it->seq);
        sqlite3_bind_int64(st, 3, it->src_store_id);
        sqlite3_bind_int64(st, 4, it->dst_store_id);
        sqlite3_bind_text(st, 5, it->study_uid, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, it->series_uid, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, it->sop_uid, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, it->blob, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 9, it->path, -1, SQLITE_STATIC);
        int r = sqlite3_step(st);
        if (r == SQLITE_CONSTRAINT) {
            /* A taken seq, or an operation that does not exist (foreign key). */
            int done;
            rc = op_exists(s, op_id, &done, "operation items add", err);
            if (rc == DVS_OK)
                rc = DVS_EXISTS;
            goto rollback;
        }
        if (r != SQLITE_DONE) {
            dvs_sx_fail(s, err, "operation items add");
            goto rollback;
        }
    }
    sqlite3_reset(st);
    st = NULL;
    if (dvs_sx_exec(s, "COMMIT", err))
        goto rollback;
    rc = DVS_OK;
    goto out;
rollback:
    sqlite3_reset(st);
    st = NULL;
    dvs_sx_exec(s, "ROLLBACK", NULL);
out:
    unsynced_end(s);
    dvs_sx_unlock(s);
    return rc;
}

int dvs_sx_op_planned(dvs_index *ix, int64_t op_id, dv_error *err)
{
    dvs_sx_conn *s = &SX(ix)->w;
    pthread_mutex_lock(&s->mu);
    int rc = update_id(s,
                       "UPDATE operations SET planned=1, pending=(SELECT COUNT(*) FROM op_items WHERE op_id=?1 AND"
                       " state=0) WHERE id=?1",
                       op_id, "operation planned", err);
    dvs_sx_unlock(s);
    return rc;
}

int dvs_sx_op_items_reset(dvs_index *ix, int64_t op_id, dv_error *err)
{
    dvs_sx_conn *s = &SX(ix)->w;
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    if (unsynced_begin(s, err))
        goto out;
    rc = update_id(s, "DELETE FROM op_items WHERE op_id=?1", op_id, "operation items reset", err);
    if (rc >= 0)
        rc = update_id(s, "UPDATE operations SET planned=0, success=0, failure=0, pending=0 WHERE id=?1", op_id,
                       "operation items reset", err);
    if (rc < 0 || dvs_sx_exec(s, "COMMIT", err)) {
        dvs_sx_exec(s, "ROLLBACK", NULL);
        rc = -1;
    }
out:
    unsynced_end(s);
    dvs_sx_unlock(s);
    return rc;
}

#define ITEM_COLS DVS_SQL_ITEM_COLS

/* A row of ITEM_COLS into elem (a dvs_op_item): a dvs_sx_read_fn. */
static int page_item(sqlite3_stmt *st, void *elem)
{
    dvs_op_item *it = elem;
    it->seq = sqlite3_column_int64(st, 0);
    it->src_store_id = sqlite3_column_int64(st, 1);
    it->dst_store_id = sqlite3_column_int64(st, 2);
    dvs_sx_copy_col(it->study_uid, sizeof it->study_uid, st, 3);
    dvs_sx_copy_col(it->series_uid, sizeof it->series_uid, st, 4);
    dvs_sx_copy_col(it->sop_uid, sizeof it->sop_uid, st, 5);
    dvs_sx_copy_col(it->blob, sizeof it->blob, st, 6);
    dvs_sx_copy_col(it->path, sizeof it->path, st, 7);
    it->state = sqlite3_column_int(st, 8);
    dvs_sx_copy_col(it->error_class, sizeof it->error_class, st, 9);
    return 0;
}

/* Items of op_id in state with seq > after, at most limit (+1 to tell whether more follow). */
static int items_page(dvs_sx_conn *s, int64_t op_id, int state, int64_t after, uint32_t limit, dvs_op_item *out,
                      size_t *n, int64_t *next, const char *what, dv_error *err)
{
    *n = 0;
    if (next)
        *next = 0;
    sqlite3_stmt *st = NULL;
    if ((st = dvs_sx_stmt(s,
                          "SELECT " ITEM_COLS " FROM op_items WHERE op_id=? AND state=? AND seq>? ORDER BY seq LIMIT ?",
                          "operations", err)) == NULL)
        return dvs_sx_fail(s, err, what);
    sqlite3_bind_int64(st, 1, op_id);
    sqlite3_bind_int(st, 2, state);
    sqlite3_bind_int64(st, 3, after);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)limit + 1);
    int rc = dvs_sx_page(s, st, page_item, &dvs_page_items, out, limit, n, next, what, err);
    sqlite3_reset(st);
    return rc;
}

/* items_page on a reader connection (WAL: the last commit, without waiting for the writer). */
static int items_page_read(dvs_index *ix, int64_t op_id, int state, int64_t after, uint32_t limit, dvs_op_item *out,
                           size_t *n, int64_t *next, const char *what, dv_error *err)
{
    sqlite_index *x = SX(ix);
    dvs_sx_conn *s = dvs_sx_reader_get(x, err);
    if (s == NULL)
        return -1;
    int rc = items_page(s, op_id, state, after, limit, out, n, next, what, err);
    dvs_sx_reader_put(x, s);
    return rc;
}

int dvs_sx_op_items_pending(dvs_index *ix, int64_t op_id, int64_t after, uint32_t limit, dvs_op_item *out,
                            size_t *n, dv_error *err)
{
    /* Through a reader: a chunk job starting its items used to wait here for the durability stage's commit
     * and its WAL fsync on the writer connection. The last commit is enough: the items were planned before
     * any chunk job was queued, and only the job that reads a range finishes its items (bench/RESULTS.md
     * "Operation pipeline, second pass"). */
    return items_page_read(ix, op_id, DVS_ITEM_PENDING, after, limit, out, n, NULL, "operation items", err);
}

int dvs_sx_op_errors(dvs_index *ix, int64_t op_id, int64_t after, uint32_t limit, dvs_op_item *out, size_t *n,
                     int64_t *next, dv_error *err)
{
    return items_page_read(ix, op_id, DVS_ITEM_FAILED, after, limit, out, n, next, "operation errors", err);
}

/* Inside the writer's open transaction: finish item seq and count it. DVS_OK; DVS_EXISTS (already finished)
 * or DVS_NOT_FOUND, both without a change; -1 with err (the caller rolls back). */
static int finish_one(dvs_sx_conn *s, int64_t op_id, int64_t seq, int state, const char *error_class, dv_error *err)
{
    if (state != DVS_ITEM_OK && state != DVS_ITEM_FAILED)
        return dv_fail(err, DV_ERR_USAGE, "index: item state must be ok or failed");
    sqlite3_stmt *st = dvs_sx_stmt(s, "UPDATE op_items SET state=?, error_class=? WHERE op_id=? AND seq=? AND state=0",
                                   "operations", err);
    if (st == NULL)
        return dvs_sx_fail(s, err, "operation item finish");
    sqlite3_bind_int(st, 1, state);
    sqlite3_bind_text(st, 2, state == DVS_ITEM_FAILED && error_class ? error_class : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, op_id);
    sqlite3_bind_int64(st, 4, seq);
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_DONE)
        return dvs_sx_fail(s, err, "operation item finish");
    if (sqlite3_changes(s->db) == 0) {
        /* Already finished (counted then), or no such item. */
        if ((st = dvs_sx_stmt(s, "SELECT 1 FROM op_items WHERE op_id=? AND seq=?", "operations", err)) == NULL)
            return dvs_sx_fail(s, err, "operation item finish");
        sqlite3_bind_int64(st, 1, op_id);
        sqlite3_bind_int64(st, 2, seq);
        r = sqlite3_step(st);
        sqlite3_reset(st);
        if (r != SQLITE_ROW && r != SQLITE_DONE)
            return dvs_sx_fail(s, err, "operation item finish");
        return r == SQLITE_ROW ? DVS_EXISTS : DVS_NOT_FOUND;
    }
    if ((st = dvs_sx_stmt(s, state == DVS_ITEM_OK
                               ? "UPDATE operations SET success=success+1, pending=MAX(pending-1,0) WHERE id=?"
                               : "UPDATE operations SET failure=failure+1, pending=MAX(pending-1,0) WHERE id=?",
                          "operations", err)) == NULL)
        return dvs_sx_fail(s, err, "operation item finish");
    sqlite3_bind_int64(st, 1, op_id);
    r = sqlite3_step(st);
    sqlite3_reset(st);
    return r == SQLITE_DONE ? DVS_OK : dvs_sx_fail(s, err, "operation item finish");
}

/* n items (n == 1: op_item_finish) in one transaction; rcs[k] each one's answer. */
static int finish_items(dvs_index *ix, int64_t op_id, size_t n, const int64_t *seqs, const int *states,
                        const char *const *classes, int *rcs, dv_error *err)
{
    dvs_sx_conn *s = &SX(ix)->w;
    pthread_mutex_lock(&s->mu);
    int rc = -1;
    /* This commit alone does not fsync the WAL (unsynced_begin; the next FULL commit's fsync covers it):
     * an item finish lost to a power cut is redone at resume, finds its output stored with the same bytes
     * and is counted once (dvs_index.h "Long-running operations"), so it needs no fsync of its own, and an
     * operation costs one WAL fsync per batch of outputs, not one more per item. A process crash loses
     * nothing (WAL). [test_server_ops.py "kill -9"; docs/server.md "Durability"] */
    if (unsynced_begin(s, err))
        goto out;
    for (size_t k = 0; k < n; k++)
        if ((rcs[k] = finish_one(s, op_id, seqs[k], states[k], classes ? classes[k] : NULL, err)) < 0)
            goto rollback;
    if (dvs_sx_exec(s, "COMMIT", err))
        goto rollback;
    rc = 0;
    goto out;
rollback:
    dvs_sx_exec(s, "ROLLBACK", NULL);
out:
    unsynced_end(s);
    dvs_sx_unlock(s);
    return rc;
}

int dvs_sx_op_item_finish(dvs_index *ix, int64_t op_id, int64_t seq, int state, const char *error_class,
                          dv_error *err)
{
    int rc = -1;
    return finish_items(ix, op_id, 1, &seq, &state, &error_class, &rc, err) < 0 ? -1 : rc;
}

int dvs_sx_op_items_finish(dvs_index *ix, int64_t op_id, size_t n, const int64_t *seqs, const int *states,
                           const char *const *classes, int *rcs, dv_error *err)
{
    return finish_items(ix, op_id, n, seqs, states, classes, rcs, err);
}
