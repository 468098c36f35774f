/* The import and export work items: copy one file of a folder into a store's put path, or one stored
 * instance out to a folder. Why a file: both only move bytes between the data directory and an allowed root
 * (roots.c resolved the folder when the operation started); no engine is involved. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/op_internal.h"
#include "util/dv_locked_tmp.h"

/* Copy fd's bytes into a blob writer (import). */
static int file_to_blob(int fd, dvs_blob_writer *w, uint8_t *buf)
{
    for (;;) {
        ssize_t n = read(fd, buf, DVH_OP_COPY_BUF);
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

int dvh_op_item_import(dvh_op_ctx *c, dvh_putter *put, uint8_t *buf, const dvs_op_item *it, int *state, const char **cls)
{
    dvh_server *s = c->ops->srv;
    *state = DVS_ITEM_FAILED;
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", c->folder, it->path) >= sizeof path) {
        *cls = "io";
        return DVH_ITEM_DONE;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        *cls = "io";
        return DVH_ITEM_DONE;
    }
    dv_error err = {0};
    dvs_blob_writer *w = dvs_blob_begin(s->data_fd, it->dst_store_id, s->cfg.max_body, &err);
    int rc = w ? file_to_blob(fd, w, buf) : -1;
    close(fd);
    if (rc != 0) {
        dvs_blob_abort(w);
        *cls = rc == -2 ? "limit" : "io";
        return DVH_ITEM_DONE;
    }
    dvh_put_result pr;
    dvh_store_put(put, it->dst_store_id, w, NULL, &pr);
    if (dvh_op_put_stored(&pr)) {
        *state = DVS_ITEM_OK;
    } else {
        *cls = pr.reason == DVH_FAIL_UNDERSTAND ? "not_dicom" : dvh_op_put_class(&pr);
    }
    return DVH_ITEM_DONE;
}

/* An export item's temporary copy, in its series folder: named by the operation and the item, so a redone item
 * (resume) writes the same name again and the sweep of an ending operation finds what a kill left. */
static void export_tmp_name(char *tmp, size_t cap, int64_t op_id, int64_t seq)
{
    snprintf(tmp, cap, ".tmp-%lld-%lld", (long long)op_id, (long long)seq);
}

/* Export: DIR/<study>/<series>/<sop>.dcm (UIDs are digits and dots: validated when stored), written to a
 * temporary name and renamed over, so a file is whole or absent and a redone item just writes it again. */
int dvh_op_item_export(dvh_op_ctx *c, uint8_t *buf, const dvs_op_item *it, int *state, const char **cls)
{
    dvh_server *s = c->ops->srv;
    *state = DVS_ITEM_FAILED;
    *cls = "io";
    dv_error err = {0};
    int in = dvs_blob_open(s->data_fd, it->src_store_id, it->blob, &err);
    if (in < 0)
        return DVH_ITEM_DONE;
    int dir = open(c->folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int sd = -1, out = -1, ok = 0;
    char tmp[64], name[80];
    /* The export is for its reader, not private like DATA: the modes the operator's umask gives (dv_server.h
     * export_*_mode), set explicitly because the serving process's own umask is 077 (cmd_serve.c). */
    unsigned dmode = s->cfg.export_dir_mode, fmode = s->cfg.export_file_mode;
    if (dir >= 0) {
        int made = mkdirat(dir, it->study_uid, 0750) == 0;
        int std = openat(dir, it->study_uid, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (std >= 0 && made && dmode)
            (void)fchmod(std, dmode);
        if (std >= 0) {
            made = mkdirat(std, it->series_uid, 0750) == 0;
            sd = openat(std, it->series_uid, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sd >= 0 && made && dmode)
                (void)fchmod(sd, dmode);
            close(std);
        }
    }
    if (sd >= 0) {
        export_tmp_name(tmp, sizeof tmp, c->id, it->seq);
        snprintf(name, sizeof name, "%s.dcm", it->sop_uid);
        /* Locked while written (dv_locked_tmp_open): a kill leaves it unlocked, and the item's redo at resume truncates
         * and renames it (the same name) */
        out = dv_locked_tmp_open(sd, tmp, 0, 0640);
        if (out >= 0 && fmode)
            (void)fchmod(out, fmode);
    }
    if (out >= 0) {
        ok = 1;
        for (;;) {
            ssize_t n = read(in, buf, DVH_OP_COPY_BUF);
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
        ok = ok && renameat(sd, tmp, sd, name) == 0; /* still locked: renamed or removed before the lock goes */
        if (!ok)
            unlinkat(sd, tmp, 0);
        ok = close(out) == 0 && ok;
    }
    if (sd >= 0)
        close(sd);
    if (dir >= 0)
        close(dir);
    close(in);
    if (ok)
        *state = DVS_ITEM_OK;
    return DVH_ITEM_DONE;
}

/* Items listed a page at a time by the sweep (a dvs_op_item holds a 1 KiB path: 256 of them ~330 KiB). */
#define SWEEP_PAGE 256

/* The series folder of an item under the export folder when it exists (nothing is made): a descriptor or -1. */
static int series_dir_open(int dir, const dvs_op_item *it)
{
    int std = openat(dir, it->study_uid, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (std < 0)
        return -1;
    int sd = openat(std, it->series_uid, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close(std);
    return sd;
}

/* One pass of the sweep over the items of c in state (pending or failed), a page at a time: the copies no writer
 * holds are removed. The count removed; *broken set when the index could not list a page. */
static size_t sweep_state(dvh_op_ctx *c, int dir, dvs_op_item *items, int state, int *broken)
{
    dvs_index *ix = c->ops->srv->ix;
    size_t removed = 0;
    int sd = -1, have = 0;
    char study[sizeof items->study_uid], series[sizeof items->series_uid]; /* sd's, once have */
    for (int64_t after = 0;;) {
        size_t n = 0;
        int64_t next = 0;
        dv_error err = {0};
        int rc = state == DVS_ITEM_PENDING
                     ? ix->ops->op_items_pending(ix, c->id, after, SWEEP_PAGE, items, &n, &err)
                     : ix->ops->op_errors(ix, c->id, after, SWEEP_PAGE, items, &n, &next, &err);
        if (rc < 0)
            *broken = 1;
        if (rc < 0 || n == 0)
            break;
        for (size_t i = 0; i < n; i++) {
            const dvs_op_item *it = &items[i];
            /* Items are planned series by series: one folder open per series, not per item. */
            if (!have || strcmp(study, it->study_uid) || strcmp(series, it->series_uid)) {
                if (sd >= 0)
                    close(sd);
                sd = series_dir_open(dir, it);
                memcpy(study, it->study_uid, sizeof study);
                memcpy(series, it->series_uid, sizeof series);
                have = 1;
            }
            char tmp[64];
            export_tmp_name(tmp, sizeof tmp, c->id, it->seq);
            if (sd >= 0 && dv_locked_tmp_reap(sd, tmp) == DV_TMP_REAPED)
                removed++;
        }
        after = items[n - 1].seq;
        if (n < SWEEP_PAGE)
            break;
    }
    if (sd >= 0)
        close(sd);
    return removed;
}

size_t dvh_op_export_sweep(dvh_op_ctx *c, int pending, int *broken)
{
    int dir = c->folder ? open(c->folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    *broken = c->folder && dir < 0 && errno != ENOENT; /* a folder that is gone holds no copy */
    dvs_op_item *items = dir >= 0 ? calloc(SWEEP_PAGE, sizeof *items) : NULL;
    size_t removed = 0;
    if (items == NULL) {
        *broken |= dir >= 0;
    } else {
        /* A failed item is never redone, whether the operation completes or is cancelled: a copy a kill left of
         * it stays unless removed here (its redo failed before it reached the copy: the instance's file, the
         * folder, or the copy itself could not be opened). */
        removed += sweep_state(c, dir, items, DVS_ITEM_FAILED, broken);
        if (pending)
            removed += sweep_state(c, dir, items, DVS_ITEM_PENDING, broken);
    }
    free(items);
    if (dir >= 0)
        close(dir);
    return removed;
}
