/* The import and export work items: copy one file of a folder into a store's put path, or one stored
 * instance out to a folder. Why a file: both only move bytes between the data directory and an allowed root
 * (roots.c resolved the folder when the operation started); no engine is involved. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
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
        snprintf(tmp, sizeof tmp, ".tmp-%lld-%lld", (long long)c->id, (long long)it->seq);
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
