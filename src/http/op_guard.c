/* Which unfinished operation uses a dataset or a store, and the lock under which a request asks that and acts
 * on the answer as one step. Two rules stand on it (docs/decisions.md "One de-identification per destination
 * store", "A dataset or store an operation uses is not deleted"):
 *
 * - a dicomStores.deidentify whose destination store another unfinished de-identification writes is refused
 *   (op_start.c). Both compute the same outputs (same source, config and dataset key); the second found each
 *   one stored by the first and counted it as its own, so two counters claimed every instance the store held
 *   once (seen: 1,200 successes for 600 instances stored);
 * - a dataset or store that an unfinished operation reads or writes, or a dataset an operation is listed
 *   under, is not deleted (resources.c), and neither is a study, series or instance of such a store (delete.c).
 *   Deleting the source dataset took the operation's own row with it (operations.get: 404) and left the
 *   destination partial; deleting the source store let the operation finish with a response and a third of
 *   the instances; deleting studies of its source or destination left its counter above what it stored.
 *
 * Asking, then acting must be one step, or an operation could start on a dataset between a DELETE's question
 * and its delete, and two de-identifications could both find a store free. So operation starts (op_start.c),
 * deletes (resources.c, delete.c) and every other request that creates an operation row (op_record.c's
 * callers: an unfinished row is an operation the question sees) run under this guard: a mutex between the
 * threads of this process, and an flock on DATA/ops.lock between the servers sharing one DATA and one
 * PostgreSQL index (the file system requirement of DATA/blob.lock, docs/server.md "PostgreSQL"). Taken before
 * the blob lock, never after it. The operation runner never takes it: an operation ends without waiting for a
 * request.
 *
 * What an operation uses is read from the request op_start.c stored for its runner (op_request.c reads the
 * same): "stores" [{"src", "dst"}] for de-identify and export, "dst" for import; a recorded operation uses no
 * store. [test_server_op_races.py "two store de-identifications into one store"; test_server_op_races.py
 * "DELETE of"; test_server_op_races.py "DICOMweb DELETE of"] */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "http/server_internal.h"

#define LIST_PAGE 64

int dvh_op_guard_open(dvh_server *s, dv_error *err)
{
    s->op_guard_fd = openat(s->data_fd, "ops.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->op_guard_fd < 0)
        return dv_fail(err, DV_ERR_IO, "--data: cannot open DATA/ops.lock (errno %d)", errno);
    return 0;
}

void dvh_op_guard_lock(dvh_server *s)
{
    pthread_mutex_lock(&s->op_guard_mu);
    dvh_flock(s->op_guard_fd, LOCK_EX);
}

void dvh_op_guard_unlock(dvh_server *s)
{
    dvh_flock(s->op_guard_fd, LOCK_UN);
    pthread_mutex_unlock(&s->op_guard_mu);
}

/* What is asked of one operation. */
typedef struct use_query {
    int64_t dataset_id;    /* > 0: the operation is listed under it */
    const int64_t *stores; /* the operation reads or writes one of them ... */
    size_t nstores;
    int deid_writes;       /* ... or, when set: is a de-identification that writes into one of them */
} use_query;

static int listed(const int64_t *v, size_t n, int64_t id)
{
    for (size_t i = 0; id > 0 && i < n; i++)
        if (v[i] == id)
            return 1;
    return 0;
}

static int uses(const use_query *q, const dvs_operation *op)
{
    if (q->dataset_id > 0 && op->dataset_id == q->dataset_id)
        return 1;
    json_t *req = json_loads(op->request_json ? op->request_json : "", 0, NULL);
    const char *kind = json_string_value(json_object_get(req, "kind"));
    int deid = kind && strcmp(kind, "deidentify") == 0, hit = 0;
    json_t *stores = json_object_get(req, "stores");
    for (size_t i = 0; !hit && i < json_array_size(stores); i++) {
        json_t *p = json_array_get(stores, i);
        int64_t src = json_integer_value(json_object_get(p, "src")), dst = json_integer_value(json_object_get(p, "dst"));
        hit = q->deid_writes ? deid && listed(q->stores, q->nstores, dst)
                             : listed(q->stores, q->nstores, src) || listed(q->stores, q->nstores, dst);
    }
    if (!hit && !q->deid_writes) /* an import's destination */
        hit = listed(q->stores, q->nstores, json_integer_value(json_object_get(req, "dst")));
    json_decref(req);
    return hit;
}

/* The first unfinished operation q matches: *op_id (0: none). 0, or -1 with err. */
static int first_user(dvh_server *s, const use_query *q, int64_t *op_id, dv_error *err)
{
    dvs_index *ix = s->ix;
    *op_id = 0;
    int64_t after = 0;
    for (;;) {
        dvs_operation v[LIST_PAGE];
        size_t n = 0;
        int64_t next = 0;
        if (ix->ops->op_list(ix, 0, 0, after, LIST_PAGE, v, &n, &next, err) < 0)
            return -1;
        int rc = 0;
        for (size_t i = 0; i < n; i++) {
            dvs_operation full;
            /* op_list carries no request: the row again, whole (NOT_FOUND: its dataset went meanwhile) */
            int got = (*op_id || rc) ? DVS_NOT_FOUND : ix->ops->op_get(ix, 0, v[i].id, &full, err);
            if (got < 0)
                rc = -1;
            if (got == DVS_OK) {
                if (!full.done && uses(q, &full))
                    *op_id = full.id;
                dvs_operation_clear(&full);
            }
            dvs_operation_clear(&v[i]);
        }
        if (rc || *op_id || next == 0)
            return rc;
        after = next;
    }
}

int dvh_op_user_store(dvh_server *s, int64_t store_id, int deid_writes, int64_t *op_id, dv_error *err)
{
    use_query q = {.stores = &store_id, .nstores = 1, .deid_writes = deid_writes};
    return first_user(s, &q, op_id, err);
}

int dvh_op_user_dataset(dvh_server *s, int64_t dataset_id, int64_t *op_id, dv_error *err)
{
    /* Its stores' ids: an operation's request names stores, not their dataset. */
    dvs_index *ix = s->ix;
    int64_t *ids = NULL, after = 0;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (;;) {
        dvs_store v[LIST_PAGE];
        size_t got = 0;
        int64_t next = 0;
        if (ix->ops->store_list(ix, dataset_id, after, LIST_PAGE, v, &got, &next, err) < 0) {
            rc = -1;
            break;
        }
        for (size_t i = 0; i < got; i++) {
            if (rc == 0 && n == cap) {
                int64_t *g = realloc(ids, (cap ? cap * 2 : LIST_PAGE) * sizeof *g);
                if (g == NULL)
                    rc = dv_fail(err, DV_ERR_NOMEM, "operations in use: out of memory");
                else
                    ids = g, cap = cap ? cap * 2 : LIST_PAGE;
            }
            if (rc == 0)
                ids[n++] = v[i].id;
            dvs_store_clear(&v[i]);
        }
        if (rc || next == 0)
            break;
        after = next;
    }
    use_query q = {.dataset_id = dataset_id, .stores = ids, .nstores = n};
    if (rc == 0)
        rc = first_user(s, &q, op_id, err);
    free(ids);
    return rc;
}

int dvh_op_refuse_in_use(dvh_server *s, int64_t dataset_id, int64_t store_id, const char *field, dvh_err *e)
{
    dv_error err = {0};
    int64_t user = 0;
    int rc = store_id > 0 ? dvh_op_user_store(s, store_id, 0, &user, &err)
                          : dvh_op_user_dataset(s, dataset_id, &user, &err);
    if (rc < 0)
        return dvh_index_fail(&err, e);
    /* Named by its number only: the client can wait for it or cancel it, and no UID or name is in the answer. */
    if (user)
        return dvh_fail(e, DVH_FAILED_PRECONDITION,
                        "%s: operation %lld reads or writes it; wait until it is done (or cancel it)", field,
                        (long long)user);
    return 0;
}
