/* The operation runner: persisted operations run on the server's operation pool (src/jobs/dvj_pool.h).
 * docs/server.md "Operations" has the design; in short:
 *
 * - one "main" job per operation loads it from the index, builds what it needs (the compiled config and the
 *   dataset key for a de-identification), plans its work items when that was not finished (an interrupted
 *   planning is dropped and redone), then queues "chunk" jobs of CHUNK items each (by seq range), so the
 *   instances of one operation spread over every pool thread;
 * - a chunk takes its pending items from the index, processes each (de-identify through dv_run_instance into
 *   the destination store's put path, import a file, export an instance) and finishes it in the index;
 * - the last job of an operation to end finalises it: response when every item is finished, CANCELLED when a
 *   cancel was asked, nothing when it was interrupted (shutdown, an index failure): it stays unfinished and
 *   resumes at the next start, with only its pending items.
 *
 * Nothing is duplicated on resume: op_item_finish counts an item once, outputs are stored by
 * SOPInstanceUID, and a redone item whose output is already stored with the same bytes counts as done.
 * [test_server_ops.py "kill -9"] */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dicomveil/dicomveil.h"
#include "http/server_internal.h"
#include "jobs/dvj_pool.h"
#include "store/dvs_keys.h"

#define CHUNK 32               /* items per chunk job */
#define PLAN_BATCH 512         /* items per op_items_add transaction */
#define IMPORT_MAX_FILES 10000000u
#define IMPORT_MAX_DEPTH 64
#define QUEUE_MAX 1000000
#define COPY_BUF (256u << 10)

typedef enum op_kind { K_DEIDENTIFY = 1, K_IMPORT, K_EXPORT } op_kind;

typedef struct op_pair {
    int64_t src, dst;
} op_pair;

typedef struct op_ctx {
    dvh_ops *ops;
    int64_t id;
    op_kind kind;
    op_pair *pairs;
    size_t npairs;
    json_t *filter;  /* [[study, series, instance], ...] or NULL: everything */
    char *folder;    /* import / export */
    dv_plan *plan;
    dv_key *key;
    dv_run *run;
    atomic_int cancel;     /* operations.cancel reached us */
    atomic_int incomplete; /* an item could not be finished: do not finalise */
    atomic_size_t refs;    /* jobs still to end (main + chunks) */
    struct op_ctx *next;   /* in ops->running */
} op_ctx;

struct dvh_ops {
    dvh_server *srv;
    dvj_pool *pool;
    dv_budget *budget;
    dv_limits lim;
    pthread_mutex_t mu;
    op_ctx *running;
};

typedef struct chunk_job {
    op_ctx *c;
    int64_t lo, hi; /* seq range [lo, hi] */
} chunk_job;

static void log_event(dvh_ops *o, const char *event, int64_t id)
{
    dvh_server *s = o->srv;
    if (s->cfg.log == NULL)
        return;
    pthread_mutex_lock(&s->log_mu);
    fprintf(s->cfg.log, "{\"event\":\"%s\",\"operation\":%lld}\n", event, (long long)id);
    fflush(s->cfg.log);
    pthread_mutex_unlock(&s->log_mu);
}

/* ---- the life of an op_ctx ---- */

static void ctx_free(op_ctx *c)
{
    dv_run_free(c->run);
    dv_key_free(c->key);
    dv_plan_free(c->plan);
    json_decref(c->filter);
    free(c->pairs);
    free(c->folder);
    free(c);
}

static void unregister(op_ctx *c)
{
    dvh_ops *o = c->ops;
    pthread_mutex_lock(&o->mu);
    for (op_ctx **p = &o->running; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    pthread_mutex_unlock(&o->mu);
}

static void finish(op_ctx *c, const char *result_json)
{
    dvs_index *ix = c->ops->srv->ix;
    dv_error err = {0};
    if (ix->ops->op_finish(ix, c->id, result_json, &err) < 0)
        log_event(c->ops, "operation not finished: index failure", c->id);
    else
        log_event(c->ops, "operation finished", c->id);
}

static void finish_error(op_ctx *c, int code, const char *status, const char *message)
{
    json_t *r = json_pack("{s:{s:i, s:s, s:s}}", "error", "code", code, "status", status, "message", message);
    char *t = r ? json_dumps(r, JSON_COMPACT) : NULL;
    json_decref(r);
    finish(c, t ? t : "{\"error\":{\"code\":13,\"message\":\"out of memory\"}}");
    free(t);
}

static const char *response_type(op_kind k, int dataset_level)
{
    switch (k) {
    case K_DEIDENTIFY:
        return dataset_level ? "type.googleapis.com/google.cloud.healthcare.v1beta1.deidentify.DeidentifySummary"
                             : "type.googleapis.com/google.cloud.healthcare.v1beta1.deidentify.DeidentifyDicomStoreSummary";
    case K_IMPORT: return "type.googleapis.com/google.cloud.healthcare.v1beta1.dicom.ImportDicomDataResponse";
    case K_EXPORT: return "type.googleapis.com/google.cloud.healthcare.v1beta1.dicom.ExportDicomDataResponse";
    }
    return "";
}

/* The last job of an operation ended. */
static void finalise(op_ctx *c)
{
    dvh_ops *o = c->ops;
    if (atomic_load(&c->cancel)) {
        finish_error(c, 1, "CANCELLED", "Operation cancelled: instances already stored stay, the rest stays pending");
    } else if (atomic_load(&c->incomplete)) {
        log_event(o, dvj_pool_stopping(o->pool) ? "operation checkpointed" : "operation interrupted", c->id);
    } else {
        /* Every item finished: a response, even when some failed (the API: "the LRO result may still be
         * successful if de-identification fails for some resources"; the counts are in the counter). */
        dvs_operation op;
        dv_error err = {0};
        int dataset_level = 0;
        if (o->srv->ix->ops->op_get(o->srv->ix, 0, c->id, &op, &err) == DVS_OK) {
            dataset_level = strstr(op.api_method, "DeidentifyDataset") != NULL;
            dvs_operation_clear(&op);
        }
        json_t *r = json_pack("{s:{s:s}}", "response", "@type", response_type(c->kind, dataset_level));
        char *t = r ? json_dumps(r, JSON_COMPACT) : NULL;
        json_decref(r);
        if (t)
            finish(c, t);
        free(t);
    }
    unregister(c);
    ctx_free(c);
}

static void release(op_ctx *c)
{
    if (atomic_fetch_sub(&c->refs, 1) == 1)
        finalise(c);
}

static int run_cancelled(void *user)
{
    op_ctx *c = user;
    return atomic_load(&c->cancel) || dvj_pool_stopping(c->ops->pool);
}

/* ---- the request, as op_start.c wrote it ---- */

static int load_request(op_ctx *c, const char *text, int64_t *key_dataset, const char **config, json_t **keep)
{
    json_t *r = json_loads(text ? text : "", 0, NULL);
    if (r == NULL)
        return -1;
    *keep = r;
    const char *kind = json_string_value(json_object_get(r, "kind"));
    c->kind = kind == NULL ? 0 : strcmp(kind, "deidentify") == 0 ? K_DEIDENTIFY
                                 : strcmp(kind, "import") == 0   ? K_IMPORT
                                 : strcmp(kind, "export") == 0   ? K_EXPORT
                                                                 : 0;
    if (c->kind == 0)
        return -1;
    json_t *f = json_object_get(r, "filter");
    if (json_is_array(f))
        c->filter = json_incref(f);
    const char *folder = json_string_value(json_object_get(r, "folder"));
    if (folder && (c->folder = strdup(folder)) == NULL)
        return -1;
    *config = json_string_value(json_object_get(r, "config"));
    *key_dataset = json_integer_value(json_object_get(r, "keyDataset"));
    if (c->kind == K_IMPORT) {
        c->pairs = calloc(1, sizeof *c->pairs);
        if (c->pairs == NULL)
            return -1;
        c->pairs[0].dst = json_integer_value(json_object_get(r, "dst"));
        c->npairs = 1;
        return c->folder ? 0 : -1;
    }
    json_t *stores = json_object_get(r, "stores");
    size_t n = json_array_size(stores);
    c->pairs = calloc(n ? n : 1, sizeof *c->pairs);
    if (c->pairs == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(stores, i);
        c->pairs[i].src = json_integer_value(json_object_get(p, "src"));
        c->pairs[i].dst = json_integer_value(json_object_get(p, "dst"));
    }
    c->npairs = n;
    if (c->kind == K_DEIDENTIFY && (*config == NULL || *key_dataset <= 0))
        return -1;
    return c->kind == K_EXPORT && c->folder == NULL ? -1 : 0;
}

/* ---- planning ---- */

/* Planned items are small until they reach the index: keep them compact. */
typedef struct plan_entry {
    int64_t src, dst;
    char study[65], series[65], sop[65], blob[65];
} plan_entry;

typedef struct entry_vec {
    plan_entry *v;
    size_t n, cap;
    int64_t src, dst;
    int nomem;
} entry_vec;

static int collect_blob(const dvs_blob_ref *ref, void *user)
{
    entry_vec *ev = user;
    if (ev->n == ev->cap) {
        size_t cap = ev->cap ? ev->cap * 2 : 256;
        plan_entry *v = realloc(ev->v, cap * sizeof *v);
        if (v == NULL) {
            ev->nomem = 1;
            return 1;
        }
        ev->v = v;
        ev->cap = cap;
    }
    plan_entry *e = &ev->v[ev->n++];
    e->src = ev->src;
    e->dst = ev->dst;
    memcpy(e->study, ref->study_uid, sizeof e->study);
    memcpy(e->series, ref->series_uid, sizeof e->series);
    memcpy(e->sop, ref->sop_uid, sizeof e->sop);
    memcpy(e->blob, ref->blob, sizeof e->blob);
    return 0;
}

static int entry_cmp(const void *a, const void *b)
{
    const plan_entry *x = a, *y = b;
    if (x->src != y->src)
        return x->src < y->src ? -1 : 1;
    int c = strcmp(x->study, y->study);
    if (c == 0)
        c = strcmp(x->series, y->series);
    return c ? c : strcmp(x->sop, y->sop);
}

/* Add items [0, n) of a batch to the index; seq continues from *seq. */
static int add_batch(op_ctx *c, dvs_op_item *batch, size_t n, dv_error *err)
{
    dvs_index *ix = c->ops->srv->ix;
    return n ? (ix->ops->op_items_add(ix, c->id, batch, n, err) == DVS_OK ? 0 : -1) : 0;
}

/* De-identify and export: the source stores' instances the filter selects, each once, in UID order. */
static int plan_instances(op_ctx *c, dv_error *err)
{
    dvs_index *ix = c->ops->srv->ix;
    entry_vec ev = {0};
    for (size_t p = 0; p < c->npairs; p++) {
        ev.src = c->pairs[p].src;
        ev.dst = c->pairs[p].dst;
        size_t nf = c->filter ? json_array_size(c->filter) : 1;
        for (size_t f = 0; f < nf; f++) {
            const char *st = NULL, *se = NULL, *in = NULL;
            if (c->filter) {
                json_t *path = json_array_get(c->filter, f);
                st = json_string_value(json_array_get(path, 0));
                se = json_string_value(json_array_get(path, 1));
                in = json_string_value(json_array_get(path, 2));
            }
            int rc = ix->ops->blobs(ix, ev.src, st, se, in, collect_blob, &ev, err);
            if (ev.nomem) {
                free(ev.v);
                return dv_fail(err, DV_ERR_NOMEM, "operation planning: out of memory");
            }
            if (rc < 0) {
                free(ev.v);
                return -1;
            }
        }
    }
    /* Overlapping filter lines (a study and one of its series) name an instance once. */
    if (ev.n)
        qsort(ev.v, ev.n, sizeof *ev.v, entry_cmp);
    dvs_op_item *batch = calloc(PLAN_BATCH, sizeof *batch);
    if (batch == NULL) {
        free(ev.v);
        return dv_fail(err, DV_ERR_NOMEM, "operation planning: out of memory");
    }
    size_t nb = 0;
    int64_t seq = 0;
    int rc = 0;
    for (size_t i = 0; i < ev.n && rc == 0; i++) {
        if (i && ev.v[i].src == ev.v[i - 1].src && strcmp(ev.v[i].sop, ev.v[i - 1].sop) == 0)
            continue;
        dvs_op_item *it = &batch[nb++];
        memset(it, 0, sizeof *it);
        it->seq = ++seq;
        it->src_store_id = ev.v[i].src;
        it->dst_store_id = ev.v[i].dst;
        memcpy(it->study_uid, ev.v[i].study, sizeof it->study_uid);
        memcpy(it->series_uid, ev.v[i].series, sizeof it->series_uid);
        memcpy(it->sop_uid, ev.v[i].sop, sizeof it->sop_uid);
        memcpy(it->blob, ev.v[i].blob, sizeof it->blob);
        if (nb == PLAN_BATCH) {
            rc = add_batch(c, batch, nb, err);
            nb = 0;
        }
    }
    if (rc == 0)
        rc = add_batch(c, batch, nb, err);
    free(batch);
    free(ev.v);
    return rc;
}

/* Import: every regular file below the folder (symbolic links are not followed), in name order. */
typedef struct name_vec {
    char **v;
    size_t n, cap;
} name_vec;

static int walk(int dirfd, const char *rel, int depth, name_vec *nv)
{
    if (depth > IMPORT_MAX_DEPTH)
        return 0;
    DIR *d = fdopendir(dirfd);
    if (d == NULL) {
        close(dirfd);
        return 0;
    }
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char path[DVS_ITEM_PATH_MAX];
        int k = snprintf(path, sizeof path, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
        if (k < 0 || (size_t)k >= sizeof path)
            continue; /* longer than an item holds: not imported (and not counted) */
        struct stat st;
        if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0)
                rc = walk(sub, path, depth + 1, nv);
        } else if (S_ISREG(st.st_mode)) {
            if (nv->n == IMPORT_MAX_FILES)
                break;
            if (nv->n == nv->cap) {
                size_t cap = nv->cap ? nv->cap * 2 : 256;
                char **v = realloc(nv->v, cap * sizeof *v);
                if (v == NULL) {
                    rc = -1;
                    break;
                }
                nv->v = v;
                nv->cap = cap;
            }
            if ((nv->v[nv->n] = strdup(path)) == NULL) {
                rc = -1;
                break;
            }
            nv->n++;
        }
    }
    closedir(d);
    return rc;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int plan_files(op_ctx *c, dv_error *err)
{
    int dirfd = open(c->folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return dv_fail(err, DV_ERR_IO, "import: cannot open the folder (errno %d)", errno);
    name_vec nv = {0};
    int rc = walk(dirfd, "", 0, &nv);
    if (rc == 0 && nv.n)
        qsort(nv.v, nv.n, sizeof *nv.v, str_cmp);
    dvs_op_item *batch = rc == 0 ? calloc(PLAN_BATCH, sizeof *batch) : NULL;
    if (rc != 0 || batch == NULL)
        rc = dv_fail(err, DV_ERR_NOMEM, "import planning: out of memory");
    size_t nb = 0;
    for (size_t i = 0; i < nv.n && rc == 0; i++) {
        dvs_op_item *it = &batch[nb++];
        memset(it, 0, sizeof *it);
        it->seq = (int64_t)i + 1;
        it->dst_store_id = c->pairs[0].dst;
        snprintf(it->path, sizeof it->path, "%s", nv.v[i]);
        if (nb == PLAN_BATCH) {
            rc = add_batch(c, batch, nb, err);
            nb = 0;
        }
    }
    if (rc == 0)
        rc = add_batch(c, batch, nb, err);
    for (size_t i = 0; i < nv.n; i++)
        free(nv.v[i]);
    free(nv.v);
    free(batch);
    return rc;
}

/* ---- one item ---- */

/* The per-instance output of a de-identification: a blob writer in the destination store, stored through
 * the store's put path on commit. */
typedef struct deid_out {
    op_ctx *c;
    dvh_putter *put;
    int64_t dst;
    dvs_blob_writer *w;
    const char *cls; /* the failure class when commit fails */
} deid_out;

static int blob_sink_write(void *ctx, const void *buf, size_t len)
{
    dv_error err = {0};
    return dvs_blob_write(ctx, buf, len, &err);
}

static int out_open(void *arg, const dv_result *res, dv_sink *sink, dv_error *err)
{
    (void)res;
    deid_out *o = arg;
    dvh_server *s = o->c->ops->srv;
    o->w = dvs_blob_begin(s->data_fd, o->dst, s->cfg.max_body, err);
    if (o->w == NULL)
        return -1;
    sink->ctx = o->w;
    sink->write = blob_sink_write;
    sink->copy_from = NULL;
    return DV_OPEN_WRITE;
}

static const char *put_class(const dvh_put_result *pr)
{
    switch (pr->reason) {
    case DVH_FAIL_DUPLICATE: return "already_exists";
    case DVH_FAIL_UNDERSTAND: return "invalid";
    case DVH_FAIL_RESOURCES: return "limit";
    default: return "io";
    }
}

static int out_commit(void *arg, const dv_result *res, dv_error *err)
{
    (void)res;
    deid_out *o = arg;
    dvh_put_result pr;
    dvh_store_put(o->put, o->dst, o->w, NULL, &pr);
    o->w = NULL;
    /* Our own output stored before a crash (same SOPInstanceUID, same bytes): done, once. */
    if (pr.reason == 0 || (pr.reason == DVH_FAIL_DUPLICATE && pr.same_blob))
        return DV_COMMIT_WRITTEN;
    o->cls = put_class(&pr);
    return dv_fail(err, DV_ERR_IO, "the destination store refused the instance (%s)", o->cls);
}

static void out_abort(void *arg)
{
    deid_out *o = arg;
    dvs_blob_abort(o->w);
    o->w = NULL;
}

static const dv_output deid_output = {out_open, out_commit, out_abort};

enum { ITEM_DONE = 0, ITEM_LEAVE = 1 }; /* LEAVE: stays pending (cancel, shutdown) */

static int do_deidentify(op_ctx *c, dvh_putter *put, const dvs_op_item *it, int *state, const char **cls)
{
    dvh_server *s = c->ops->srv;
    dv_error err = {0};
    int fd = dvs_blob_open(s->data_fd, it->src_store_id, it->blob, &err);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        *state = DVS_ITEM_FAILED;
        *cls = "io";
        return ITEM_DONE;
    }
    dvs_fd_source fs;
    dv_source src = dvs_source_fd(&fs, fd, (uint64_t)st.st_size);
    deid_out o = {.c = c, .put = put, .dst = it->dst_store_id};
    dv_result res;
    dv_result_init(&res);
    dv_outcome oc = dv_run_instance(c->run, &src, &deid_output, &o, &res, &err);
    close(fd);
    switch (oc) {
    case DV_OUTCOME_OK: *state = DVS_ITEM_OK; return ITEM_DONE;
    case DV_OUTCOME_CANCELLED: return ITEM_LEAVE;
    case DV_OUTCOME_SKIPPED:
        *state = DVS_ITEM_FAILED;
        *cls = res.skipped == DV_SKIP_DIRECTORY ? "directory" : "not_dicom";
        return ITEM_DONE;
    default:
        *state = DVS_ITEM_FAILED;
        *cls = o.cls ? o.cls : dv_code_name(err.code != DV_OK ? err.code : DV_ERR_IO);
        return ITEM_DONE;
    }
}

/* Copy fd's bytes into a blob writer (import). */
static int file_to_blob(int fd, dvs_blob_writer *w, uint8_t *buf)
{
    for (;;) {
        ssize_t n = read(fd, buf, COPY_BUF);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        dv_error err = {0};
        if (dvs_blob_write(w, buf, (size_t)n, &err) != 0)
            return err.code == DV_ERR_LIMIT ? -2 : -1;
    }
}

static int do_import(op_ctx *c, dvh_putter *put, uint8_t *buf, const dvs_op_item *it, int *state, const char **cls)
{
    dvh_server *s = c->ops->srv;
    *state = DVS_ITEM_FAILED;
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", c->folder, it->path) >= sizeof path) {
        *cls = "io";
        return ITEM_DONE;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        *cls = "io";
        return ITEM_DONE;
    }
    dv_error err = {0};
    dvs_blob_writer *w = dvs_blob_begin(s->data_fd, it->dst_store_id, s->cfg.max_body, &err);
    int rc = w ? file_to_blob(fd, w, buf) : -1;
    close(fd);
    if (rc != 0) {
        dvs_blob_abort(w);
        *cls = rc == -2 ? "limit" : "io";
        return ITEM_DONE;
    }
    dvh_put_result pr;
    dvh_store_put(put, it->dst_store_id, w, NULL, &pr);
    if (pr.reason == 0 || (pr.reason == DVH_FAIL_DUPLICATE && pr.same_blob)) {
        *state = DVS_ITEM_OK;
    } else {
        *cls = pr.reason == DVH_FAIL_UNDERSTAND ? "not_dicom" : put_class(&pr);
    }
    return ITEM_DONE;
}

/* Export: DIR/<study>/<series>/<sop>.dcm (UIDs are digits and dots: validated when stored), written to a
 * temporary name and renamed over, so a file is whole or absent and a redone item just writes it again. */
static int do_export(op_ctx *c, uint8_t *buf, const dvs_op_item *it, int *state, const char **cls)
{
    dvh_server *s = c->ops->srv;
    *state = DVS_ITEM_FAILED;
    *cls = "io";
    dv_error err = {0};
    int in = dvs_blob_open(s->data_fd, it->src_store_id, it->blob, &err);
    if (in < 0)
        return ITEM_DONE;
    int dir = open(c->folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int sd = -1, out = -1, ok = 0;
    char tmp[64], name[80];
    if (dir >= 0) {
        mkdirat(dir, it->study_uid, 0750);
        int std = openat(dir, it->study_uid, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (std >= 0) {
            mkdirat(std, it->series_uid, 0750);
            sd = openat(std, it->series_uid, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            close(std);
        }
    }
    if (sd >= 0) {
        snprintf(tmp, sizeof tmp, ".tmp-%lld-%lld", (long long)c->id, (long long)it->seq);
        snprintf(name, sizeof name, "%s.dcm", it->sop_uid);
        out = openat(sd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
    }
    if (out >= 0) {
        ok = 1;
        for (;;) {
            ssize_t n = read(in, buf, COPY_BUF);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                ok = n == 0;
                break;
            }
            if (write(out, buf, (size_t)n) != n) {
                ok = 0;
                break;
            }
        }
        ok = fsync(out) == 0 && ok;
        ok = close(out) == 0 && ok;
        ok = ok && renameat(sd, tmp, sd, name) == 0;
        if (!ok)
            unlinkat(sd, tmp, 0);
    }
    if (sd >= 0)
        close(sd);
    if (dir >= 0)
        close(dir);
    close(in);
    if (ok)
        *state = DVS_ITEM_OK;
    return ITEM_DONE;
}

/* ---- jobs ---- */

static void chunk_run(dvj_pool *pool, void *arg)
{
    chunk_job *j = arg;
    op_ctx *c = j->c;
    dvh_server *s = c->ops->srv;
    dvs_index *ix = s->ix;
    dvs_op_item *items = calloc(CHUNK, sizeof *items);
    dvh_putter *put = dvh_putter_new(s);
    uint8_t *buf = malloc(COPY_BUF);
    dv_error err = {0};
    size_t n = 0;
    if (items == NULL || put == NULL || buf == NULL ||
        ix->ops->op_items_pending(ix, c->id, j->lo - 1, CHUNK, items, &n, &err) < 0) {
        atomic_store(&c->incomplete, 1);
        n = 0;
    }
    /* Another process (a shared index) or a request may have asked for a cancel. */
    dvs_operation op;
    if (n && ix->ops->op_get(ix, 0, c->id, &op, &err) == DVS_OK) {
        if (op.cancel_requested || op.done)
            atomic_store(&c->cancel, 1);
        dvs_operation_clear(&op);
    }
    for (size_t i = 0; i < n && items[i].seq <= j->hi; i++) {
        if (atomic_load(&c->cancel))
            break;
        if (dvj_pool_stopping(pool)) {
            atomic_store(&c->incomplete, 1);
            break;
        }
        int state = DVS_ITEM_FAILED;
        const char *cls = NULL;
        int r;
        if (c->kind == K_DEIDENTIFY)
            r = do_deidentify(c, put, &items[i], &state, &cls);
        else if (c->kind == K_IMPORT)
            r = do_import(c, put, buf, &items[i], &state, &cls);
        else
            r = do_export(c, buf, &items[i], &state, &cls);
        if (r == ITEM_LEAVE) {
            if (!atomic_load(&c->cancel))
                atomic_store(&c->incomplete, 1);
            break;
        }
        if (ix->ops->op_item_finish(ix, c->id, items[i].seq, state, state == DVS_ITEM_FAILED ? cls : NULL, &err) < 0)
            atomic_store(&c->incomplete, 1);
    }
    free(buf);
    dvh_putter_free(put);
    free(items);
    free(j);
    release(c);
}

static void chunk_discard(void *arg)
{
    chunk_job *j = arg;
    op_ctx *c = j->c;
    atomic_store(&c->incomplete, 1);
    free(j);
    release(c);
}

static void main_run(dvj_pool *pool, void *arg)
{
    op_ctx *c = arg;
    dvh_ops *o = c->ops;
    dvs_index *ix = o->srv->ix;
    dv_error err = {0};
    dvs_operation op;
    int rc = ix->ops->op_get(ix, 0, c->id, &op, &err);
    if (rc != DVS_OK) {
        atomic_store(&c->incomplete, 1);
        release(c);
        return;
    }
    json_t *req = NULL;
    const char *config = NULL;
    int64_t key_dataset = 0;
    int bad = op.done || load_request(c, op.request_json, &key_dataset, &config, &req) != 0;
    if (op.done) {
        atomic_store(&c->incomplete, 1); /* nothing to do, nothing to finish */
    } else if (bad) {
        finish_error(c, 13, "INTERNAL", "the operation's stored request is unreadable");
        atomic_store(&c->incomplete, 1);
    } else if (op.cancel_requested) {
        atomic_store(&c->cancel, 1);
    }
    if (!bad && !atomic_load(&c->cancel) && c->kind == K_DEIDENTIFY) {
        c->plan = dv_plan_from_json(config, strlen(config), &err);
        c->key = c->plan ? dvs_dataset_key(o->srv->data_fd, key_dataset, &err) : NULL;
        c->run = c->key ? dv_run_new(c->plan, c->key, &o->lim, &err) : NULL;
        if (c->run == NULL) {
            finish_error(c, 13, "INTERNAL", "the de-identification could not start (config, key or limits)");
            atomic_store(&c->incomplete, 1);
            bad = 1;
        } else {
            dv_run_set_cancel(c->run, run_cancelled, c);
        }
    }
    if (!bad && !atomic_load(&c->cancel) && !op.planned) {
        int prc = ix->ops->op_items_reset(ix, c->id, &err);
        if (prc >= 0)
            prc = c->kind == K_IMPORT ? plan_files(c, &err) : plan_instances(c, &err);
        if (prc >= 0)
            prc = ix->ops->op_planned(ix, c->id, &err);
        if (prc < 0) {
            atomic_store(&c->incomplete, 1);
            bad = 1;
            log_event(o, "operation planning failed", c->id);
        }
        dvs_operation_clear(&op);
        if (!bad && ix->ops->op_get(ix, 0, c->id, &op, &err) != DVS_OK) {
            atomic_store(&c->incomplete, 1);
            bad = 1;
        }
    }
    uint64_t total = bad ? 0 : op.success + op.failure + op.pending;
    dvs_operation_clear(&op);
    json_decref(req);
    for (uint64_t lo = 1; !bad && !atomic_load(&c->cancel) && lo <= total; lo += CHUNK) {
        chunk_job *j = malloc(sizeof *j);
        if (j == NULL) {
            atomic_store(&c->incomplete, 1);
            break;
        }
        j->c = c;
        j->lo = (int64_t)lo;
        j->hi = (int64_t)(lo + CHUNK - 1);
        atomic_fetch_add(&c->refs, 1);
        dvj_job job = {chunk_run, chunk_discard, j};
        if (dvj_pool_submit(pool, &job, &err) != 0) {
            atomic_fetch_sub(&c->refs, 1);
            free(j);
            atomic_store(&c->incomplete, 1);
            break;
        }
    }
    release(c);
}

static void main_discard(void *arg)
{
    op_ctx *c = arg;
    atomic_store(&c->incomplete, 1);
    release(c);
}

/* ---- the server's side ---- */

int dvh_ops_launch(dvh_server *s, int64_t op_id, dv_error *err)
{
    dvh_ops *o = s->ops;
    if (o == NULL)
        return dv_fail(err, DV_ERR_USAGE, "operations: not started");
    op_ctx *c = calloc(1, sizeof *c);
    if (c == NULL)
        return dv_fail(err, DV_ERR_NOMEM, "operations: out of memory");
    c->ops = o;
    c->id = op_id;
    atomic_init(&c->refs, 1);
    pthread_mutex_lock(&o->mu);
    c->next = o->running;
    o->running = c;
    pthread_mutex_unlock(&o->mu);
    dvj_job job = {main_run, main_discard, c};
    if (dvj_pool_submit(o->pool, &job, err) != 0) {
        unregister(c);
        ctx_free(c);
        log_event(o, "operation not queued", op_id);
        return -1;
    }
    return 0;
}

void dvh_ops_cancel(dvh_server *s, int64_t op_id)
{
    dvh_ops *o = s->ops;
    if (o == NULL)
        return;
    pthread_mutex_lock(&o->mu);
    for (op_ctx *c = o->running; c; c = c->next)
        if (c->id == op_id)
            atomic_store(&c->cancel, 1); /* the run's cancel callback (run_cancelled) reads it */
    pthread_mutex_unlock(&o->mu);
}

int dvh_ops_start(dvh_server *s, unsigned workers, dv_error *err)
{
    dvh_ops *o = calloc(1, sizeof *o);
    if (o == NULL)
        return dv_fail(err, DV_ERR_NOMEM, "operations: out of memory");
    o->srv = s;
    pthread_mutex_init(&o->mu, NULL);
    /* One memory budget for every de-identification the server runs (docs/decisions.md "Memory budget"). */
    dv_limits_default(&o->lim);
    uint64_t instance_max = dv_limits_memory_max(&o->lim);
    uint64_t total = (uint64_t)512 << 20;
    if (total < instance_max + ((uint64_t)64 << 20))
        total = instance_max + ((uint64_t)64 << 20);
    o->budget = dv_budget_new(total, instance_max, err);
    o->lim.budget = o->budget;
    o->pool = o->budget ? dvj_pool_new(workers ? workers : 2, QUEUE_MAX, err) : NULL;
    if (o->pool == NULL) {
        dv_budget_free(o->budget);
        pthread_mutex_destroy(&o->mu);
        free(o);
        return -1;
    }
    s->ops = o;
    /* Resume every unfinished operation (a crash, a restart). */
    int64_t after = 0;
    for (;;) {
        dvs_operation v[64];
        size_t n = 0;
        int64_t next = 0;
        if (s->ix->ops->op_list(s->ix, 0, 0, after, 64, v, &n, &next, err) < 0)
            return -1;
        for (size_t i = 0; i < n; i++) {
            if (dvh_ops_launch(s, v[i].id, err) == 0)
                log_event(o, "operation resumed", v[i].id);
            dvs_operation_clear(&v[i]);
        }
        if (next == 0)
            break;
        after = next;
    }
    return 0;
}

void dvh_ops_stop(dvh_server *s)
{
    dvh_ops *o = s->ops;
    if (o == NULL)
        return;
    /* Running items finish or are cancelled before their output opens; queued jobs are discarded; each
     * operation's last job leaves it unfinished (pending items resume at the next start). */
    dvj_pool_shutdown(o->pool);
    dv_budget_free(o->budget);
    pthread_mutex_destroy(&o->mu);
    free(o);
    s->ops = NULL;
}
