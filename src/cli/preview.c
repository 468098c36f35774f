/* deidentify --preview DIR: before/after PNGs of every redacted frame, for a reviewer (issue 11 item 5).
 *
 * The library does no I/O: the pixel stage calls dvc_preview_observe (dv_run_set_frame_observer, dv_run.h) on
 * the worker thread for every frame it examined; for each frame with boxes this makes
 *   DIR/<output SOPInstanceUID>_frame<N>_before.png   the frame as decoded, the redacted boxes outlined
 *                                                     2 px red, inside each box's edge
 *   DIR/<output SOPInstanceUID>_frame<N>_after.png    the frame as written (JPEG Baseline: the redacted
 *                                                     stream decoded again)
 * (N counted from 0, as render --frame). Names carry only the NEW UID (dvc_uid_component) and a frame number,
 * never an input value or path. Both pictures use the before frame's window (monochrome: its min..max), so
 * the black boxes do not change the contrast.
 *
 * The observer runs before the instance's output is named and committed, so it only stages: each picture goes
 * to a temporary file in DIR at once (".preview-tmp-<pid>-<n>": memory stays one frame's picture, whatever the
 * instance's frame count), and dvc_preview_settle, called after dv_run_instance, renames them to their names
 * when the instance was written, or removes them when it was not (a duplicate of an instance written before,
 * a failure): a reviewer approves only boxes that are in DST. A run killed between the two leaves temporary
 * files (mode 0600, in the 0700 DIR): the next run on DIR that has it alone removes them (sweep_stale).
 *
 * Files are mode 0600, created O_EXCL|O_NOFOLLOW relative to the directory's descriptor and renamed over their
 * names (renameat replaces a symbolic link planted there, never its target); the directory is 0700, and an
 * existing one writable by group or others is refused (dvc_preview_open): the before pictures show the
 * burned-in text, i.e. PHI, which is why --preview is also refused inside DST or a SRC (cmd_deidentify.c). A
 * picture that cannot be made or written is counted and reported (exit 1), never silently skipped; it never
 * fails the instance itself. [integration.test_cli_preview] */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "cli.h"
#include "image/dv_image.h"
#include "image/dv_redact.h"
#include "image/dv_render.h"

static const uint8_t OUTLINE_RGB[3] = {255, 0, 0};
#define OUTLINE_PX 2

/* Write len bytes to a new temporary file in the dir, its name into tmp. Never follows a link: O_EXCL creates,
 * O_NOFOLLOW refuses a planted link outright. 0, or -1 with errno (nothing left behind). */
static int stage_bytes(dvc_preview *pv, const uint8_t *bytes, size_t len, char tmp[48])
{
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 16; tries++) {
        snprintf(tmp, 48, ".preview-tmp-%ld-%zu", (long)getpid(), atomic_fetch_add(&pv->seq, 1));
        fd = openat(pv->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST)
            return -1;
    }
    if (fd < 0)
        return -1;
    int rc = dvc_write_all(fd, bytes, len) == 0 && fsync(fd) == 0 ? 0 : -1;
    int e = errno;
    if (close(fd) != 0 && rc == 0) {
        rc = -1;
        e = errno;
    }
    if (rc) {
        unlinkat(pv->dirfd, tmp, 0);
        errno = e;
    }
    return rc;
}

/* Render f with window w (outlining boxes when given) and stage it as pic (its name already set). 0 or -1. */
static int write_picture(dvc_preview *pv, const dv_frame *f, const dv_palette *pal, const dv_render_window *w,
                         const dv_frame_box *boxes, size_t nboxes, dvc_preview_pic *pic_out)
{
    dv_error err;
    dv_error_clear(&err);
    dv_picture pic = {0}, rgb = {0};
    uint8_t *png = NULL;
    size_t len = 0;
    int rc = -1;
    if (dv_render_frame(f, pal, w, &pic, &err))
        goto out;
    const dv_picture *show = &pic;
    if (nboxes) {
        if (dv_picture_to_rgb(&pic, &rgb, &err))
            goto out;
        for (size_t i = 0; i < nboxes; i++)
            dv_picture_outline(&rgb, boxes[i].x, boxes[i].y, boxes[i].w, boxes[i].h, OUTLINE_PX, OUTLINE_RGB);
        show = &rgb;
    }
    if (dv_png_encode(show, &png, &len, &err))
        goto out;
    rc = stage_bytes(pv, png, len, pic_out->tmp);
    if (rc)
        dvc_progress_log(pv->progress, "preview: writing a picture failed: %s", strerror(errno));
out:
    if (rc && err.code != DV_OK)
        dvc_progress_log(pv->progress, "preview: %s: %s", dv_code_name(err.code), err.message);
    free(png);
    dv_picture_free(&pic);
    dv_picture_free(&rgb);
    return rc;
}

/* Room for one more frame's two pictures in st. 0 or -1 (ENOMEM). */
static int stage_grow(dvc_preview_stage *st)
{
    if (st->n + 2 <= st->cap)
        return 0;
    size_t cap = st->cap ? st->cap * 2 : 8;
    dvc_preview_pic *p = realloc(st->pics, cap * sizeof *p);
    if (!p)
        return -1;
    st->pics = p;
    st->cap = cap;
    return 0;
}

void dvc_preview_observe(const dv_frame_event *ev, void *user)
{
    dvc_preview *pv = user;
    if (ev->struct_size < offsetof(dv_frame_event, instance_arg) + sizeof ev->instance_arg || ev->nboxes == 0)
        return; /* only redacted frames are previewed (and an event without its instance cannot be filed) */
    if (!ev->before || !ev->after)
        return; /* a float frame: no picture to write (dv_frame_event) */
    dvc_preview_stage *st = ev->instance_arg ? ((dvc_put *)ev->instance_arg)->preview : NULL;
    if (!st)
        return; /* not an instance of ours: nothing could ever publish it */
    if (stage_grow(st) < 0) {
        st->failed++;
        return;
    }
    dvc_uid_component(ev->sop_uid ? ev->sop_uid : "", ev->sop_uid ? strlen(ev->sop_uid) : 0, "_no-sop-uid",
                      st->uid);
    dvc_preview_pic *b = &st->pics[st->n], *a = &st->pics[st->n + 1];
    snprintf(b->name, sizeof b->name, "%s_frame%u_before.png", st->uid, ev->frame_index);
    snprintf(a->name, sizeof a->name, "%s_frame%u_after.png", st->uid, ev->frame_index);
    dv_render_window w;
    dv_render_window_of_frame(ev->before, &w);
    if (write_picture(pv, ev->before, ev->palette, &w, ev->boxes, ev->nboxes, b)) {
        st->failed++;
        return;
    }
    if (write_picture(pv, ev->after, ev->palette, &w, NULL, 0, a)) {
        unlinkat(pv->dirfd, b->tmp, 0);
        st->failed++;
        return;
    }
    st->n += 2;
}

int dvc_preview_dir_shared(const struct stat *st)
{
    if (!(st->st_mode & (S_IWGRP | S_IWOTH)))
        return 0;
    dvc_errorf("refusing --preview: the directory is writable by group or others (chmod go-w it)");
    return 1;
}

/* A temporary picture's name as stage_bytes makes it, ".preview-tmp-<digits>-<digits>", and nothing else. */
static int temporary_name(const char *name)
{
    static const char prefix[] = ".preview-tmp-";
    if (strncmp(name, prefix, sizeof prefix - 1) != 0)
        return 0;
    const char *p = name + sizeof prefix - 1;
    for (int part = 0; part < 2; part++) {
        if (part && *p++ != '-')
            return 0;
        if (*p < '0' || *p > '9')
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

/* Remove the temporary pictures a killed run left (SIGKILL, a crash, a power cut between staging and settling):
 * PHI pictures nobody asked for. Only ours: the exact name, a regular file of our user, never through a link
 * (fstatat without following, unlinkat on the opened directory).
 * Why a lock: two runs may share DIR (each with its own DST, no report lock in common), and a live run's
 * temporaries are about to be renamed. Every run holds a shared flock on DIR's descriptor for its whole life; the
 * sweep needs the exclusive one, taken without waiting, so it runs only when no other run has DIR, and otherwise
 * is left to the next run that has it alone. A pid in the name could not tell: a dead pid may be a live run in
 * another pid namespace sharing DIR, a live one may be a reused pid; the kernel drops a flock when its holder
 * dies, however it dies. Where flock is unsupported (some network file systems) nothing is swept, as before.
 * [integration.test_cli_preview "stale temporaries"] */
static void sweep_stale(dvc_preview *pv)
{
    int r;
    while ((r = flock(pv->dirfd, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR)
        ;
    if (r == 0) {
        int fd = openat(pv->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d && fd >= 0)
            close(fd);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            struct stat st;
            if (temporary_name(de->d_name) && fstatat(pv->dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISREG(st.st_mode) && st.st_uid == geteuid())
                unlinkat(pv->dirfd, de->d_name, 0);
        }
        if (d)
            closedir(d);
    } else if (errno != EWOULDBLOCK) {
        return; /* no flock here: nothing swept, nothing held */
    }
    /* shared from here on (from exclusive, not atomically: another run's sweep may run between, before any
     * temporary of ours exists); waits only for a sweep under way */
    while (flock(pv->dirfd, LOCK_SH) != 0 && errno == EINTR)
        ;
}

int dvc_preview_open(dvc_preview *pv)
{
    struct stat st;
    pv->dirfd = open(pv->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pv->dirfd < 0 || fstat(pv->dirfd, &st) != 0) {
        dvc_errorf("cannot open the --preview directory: %s", strerror(errno));
        if (pv->dirfd >= 0)
            close(pv->dirfd);
        pv->dirfd = -1;
        return -1;
    }
    /* checked again on what was opened: cmd_deidentify.c checked the name before anything was created */
    if (dvc_preview_dir_shared(&st)) {
        close(pv->dirfd);
        pv->dirfd = -1;
        return -1;
    }
    sweep_stale(pv);
    pthread_mutex_init(&pv->lock, NULL);
    return 0;
}

void dvc_preview_close(dvc_preview *pv)
{
    if (pv->dirfd < 0)
        return;
    close(pv->dirfd);
    pv->dirfd = -1;
    pthread_mutex_destroy(&pv->lock);
}

/* A name of the dir is one of uid's pictures: "<uid>_frame<digits>_before.png" or "..._after.png". */
static int picture_of(const char *name, const char *uid)
{
    size_t ul = strlen(uid);
    if (strncmp(name, uid, ul) != 0 || strncmp(name + ul, "_frame", 6) != 0)
        return 0;
    const char *p = name + ul + 6;
    if (*p < '0' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    return strcmp(p, "_before.png") == 0 || strcmp(p, "_after.png") == 0;
}

/* Remove every picture of uid from the dir: those of an instance whose output this run replaced (rare: the
 * lower input index wins a name, output.c), which may have more frames than the instance replacing it. */
static void remove_pictures_of(dvc_preview *pv, const char *uid)
{
    int fd = openat(pv->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (picture_of(de->d_name, uid))
            unlinkat(pv->dirfd, de->d_name, 0);
    closedir(d);
}

size_t dvc_preview_settle(dvc_preview *pv, dvc_preview_stage *st, int publish, int replaced)
{
    if (publish && replaced && st->uid[0])
        remove_pictures_of(pv, st->uid);
    size_t bad = publish ? st->failed : 0, good = 0;
    for (size_t i = 0; i + 1 < st->n; i += 2) {
        dvc_preview_pic *b = &st->pics[i], *a = &st->pics[i + 1];
        if (!publish) {
            unlinkat(pv->dirfd, b->tmp, 0);
            unlinkat(pv->dirfd, a->tmp, 0);
            continue;
        }
        /* rename, not link: it replaces whatever has the name (a planted symlink itself, not its target) */
        int ok = renameat(pv->dirfd, b->tmp, pv->dirfd, b->name) == 0;
        ok = renameat(pv->dirfd, a->tmp, pv->dirfd, a->name) == 0 && ok;
        if (ok) {
            good++;
            continue;
        }
        dvc_progress_log(pv->progress, "preview: naming a picture failed: %s", strerror(errno));
        unlinkat(pv->dirfd, b->tmp, 0);
        unlinkat(pv->dirfd, a->tmp, 0);
        bad++;
    }
    atomic_fetch_add(&pv->written, good);
    atomic_fetch_add(&pv->failed, bad);
    free(st->pics);
    memset(st, 0, sizeof *st);
    return good;
}
