/* Planning an operation: the work items it will run, written to the index in batches before any runs, so a
 * restart resumes the same list (an interrupted planning is dropped and redone). De-identify and export
 * plan the source stores' instances the filter selects, each once, in UID order; import plans the folder's
 * regular files in name order. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/op_internal.h"

#define PLAN_BATCH 512         /* items per op_items_add transaction */
#define IMPORT_MAX_FILES 10000000u
#define IMPORT_MAX_DEPTH 64

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
static int add_batch(dvh_op_ctx *c, dvs_op_item *batch, size_t n, dv_error *err)
{
    dvs_index *ix = c->ops->srv->ix;
    return n ? (ix->ops->op_items_add(ix, c->id, batch, n, err) == DVS_OK ? 0 : -1) : 0;
}

/* De-identify and export: the source stores' instances the filter selects, each once, in UID order. */
int dvh_op_plan_instances(dvh_op_ctx *c, dv_error *err)
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

int dvh_op_plan_files(dvh_op_ctx *c, dv_error *err)
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
