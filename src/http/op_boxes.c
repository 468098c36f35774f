/* Redaction boxes of de-identify operations (op_boxes.h). */
#include "http/op_boxes.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

typedef struct box_rec {
    uint32_t frame; /* 0-based, as the stage counts */
    uint32_t seq;   /* arrival order: the sort keeps a frame's boxes as painted */
    dv_frame_box box;
} box_rec;

struct dvh_boxes {
    box_rec *v;
    size_t n, cap;
    uint64_t dropped; /* past DVH_BOXES_MAX: counted, not kept */
    uint32_t seq;
    int nomem;
};

dvh_boxes *dvh_boxes_new(void)
{
    return calloc(1, sizeof(dvh_boxes));
}

void dvh_boxes_free(dvh_boxes *b)
{
    if (b == NULL)
        return;
    free(b->v);
    free(b);
}

void dvh_boxes_begin(dvh_boxes *b)
{
    b->n = 0;
    b->dropped = 0;
    b->seq = 0;
    b->nomem = 0;
}

void dvh_boxes_add(dvh_boxes *b, const dv_frame_event *ev)
{
    if (b == NULL || ev->struct_size < offsetof(dv_frame_event, nboxes) + sizeof ev->nboxes || ev->nboxes == 0)
        return;
    /* The stage can paint a frame twice (JPEG Baseline kept in the DCT domain, then written native when a
     * later frame cannot be): the last painting is what the output holds. */
    size_t k = 0;
    for (size_t i = 0; i < b->n; i++)
        if (b->v[i].frame != ev->frame_index)
            b->v[k++] = b->v[i];
    b->n = k;
    for (size_t i = 0; i < ev->nboxes; i++) {
        if (b->n == DVH_BOXES_MAX) {
            b->dropped += ev->nboxes - i;
            return;
        }
        if (b->n == b->cap) {
            size_t cap = b->cap ? b->cap * 2 : 16;
            if (cap > DVH_BOXES_MAX)
                cap = DVH_BOXES_MAX;
            box_rec *v = realloc(b->v, cap * sizeof *v);
            if (v == NULL) {
                b->nomem = 1;
                return;
            }
            b->v = v;
            b->cap = cap;
        }
        b->v[b->n++] = (box_rec){ev->frame_index, b->seq++, ev->boxes[i]};
    }
}

static int rec_cmp(const void *a, const void *b)
{
    const box_rec *x = a, *y = b;
    if (x->frame != y->frame)
        return x->frame < y->frame ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* "boxes/<op id>" and "boxes/<op id>/<sha-256 hex of key>.json", relative to the data directory. */
static int record_paths(int64_t op_id, const char *key, char *dir, size_t dcap, char *file, size_t fcap)
{
    unsigned char d[32];
    unsigned int dl = 0;
    if (EVP_Digest(key, strlen(key), d, &dl, EVP_sha256(), NULL) != 1)
        return -1;
    char hex[65];
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    int a = snprintf(dir, dcap, "boxes/%" PRId64, op_id);
    int f = snprintf(file, fcap, "%s/%s.json", dir, hex);
    return a > 0 && (size_t)a < dcap && f > 0 && (size_t)f < fcap ? 0 : -1;
}

static json_t *record_json(const dvh_boxes *b, const char *key, const dv_result *res)
{
    json_t *boxes = json_array();
    for (size_t i = 0; boxes && i < b->n; i++) {
        const box_rec *r = &b->v[i];
        if (json_array_append_new(boxes, json_pack("{s:I, s:I, s:I, s:I, s:I}", "frame", (json_int_t)r->frame + 1,
                                                   "x", (json_int_t)r->box.x, "y", (json_int_t)r->box.y, "w",
                                                   (json_int_t)r->box.w, "h", (json_int_t)r->box.h)) != 0) {
            json_decref(boxes);
            return NULL;
        }
    }
    return boxes ? json_pack("{s:s, s:I, s:I, s:b, s:o}", "instance", key, "framesExamined",
                             (json_int_t)res->pixel_frames, "boxCount", (json_int_t)(b->n + b->dropped), "truncated",
                             b->dropped != 0, "boxes", boxes)
                 : NULL;
}

int dvh_boxes_save(dvh_boxes *b, int data_fd, int64_t op_id, const dv_result *res, dv_error *err)
{
    if (!res->pixel_stage_ran) /* res is the caller's own, full-sized dv_result */
        return 0;
    if (b->nomem)
        return dv_fail(err, DV_ERR_NOMEM, "redaction boxes: out of memory");
    char key[3 * (DV_UID_MAX + 1) + 40];
    snprintf(key, sizeof key, "/studies/%s/series/%s/instances/%s", res->study_uid, res->series_uid, res->sop_uid);
    char dir[48], file[160], tmp[200];
    if (record_paths(op_id, key, dir, sizeof dir, file, sizeof file) != 0)
        return dv_fail(err, DV_ERR_IO, "redaction boxes: record name");
    if ((mkdirat(data_fd, "boxes", 0700) != 0 && errno != EEXIST) ||
        (mkdirat(data_fd, dir, 0700) != 0 && errno != EEXIST))
        return dv_fail(err, DV_ERR_IO, "redaction boxes: cannot create the folder (errno %d)", errno);
    if (b->n > 1)
        qsort(b->v, b->n, sizeof *b->v, rec_cmp);
    json_t *rec = record_json(b, key, res);
    if (rec == NULL)
        return dv_fail(err, DV_ERR_NOMEM, "redaction boxes: out of memory");
    /* A temporary name of this process and collector (two threads may save the same output at once: a source
     * in two stores of a dataset), renamed over the record. */
    snprintf(tmp, sizeof tmp, "%s.%ld.%" PRIxPTR ".tmp", file, (long)getpid(), (uintptr_t)b);
    int fd = openat(data_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    int bad = fd < 0 || json_dumpfd(rec, fd, JSON_COMPACT) != 0;
    if (fd >= 0 && close(fd) != 0)
        bad = 1;
    json_decref(rec);
    if (!bad && renameat(data_fd, tmp, data_fd, file) != 0)
        bad = 1;
    if (bad) {
        int e = errno;
        unlinkat(data_fd, tmp, 0);
        return dv_fail(err, DV_ERR_IO, "redaction boxes: cannot write the record (errno %d)", e);
    }
    return 0;
}

int dvh_boxes_load(int data_fd, int64_t op_id, const char *key, json_t **out, dv_error *err)
{
    *out = NULL;
    char dir[48], file[160];
    if (record_paths(op_id, key, dir, sizeof dir, file, sizeof file) != 0)
        return dv_fail(err, DV_ERR_IO, "redaction boxes: record name");
    int fd = openat(data_fd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : dv_fail(err, DV_ERR_IO, "redaction boxes: cannot open the record (errno %d)", errno);
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)DVH_BOXES_FILE_MAX) {
        close(fd);
        return dv_fail(err, DV_ERR_LIMIT, "redaction boxes: the record is not a file of at most %u bytes",
                       DVH_BOXES_FILE_MAX);
    }
    json_error_t je;
    json_t *rec = json_loadfd(fd, 0, &je);
    close(fd);
    if (!json_is_object(rec) || !json_is_array(json_object_get(rec, "boxes"))) {
        json_decref(rec);
        return dv_fail(err, DV_ERR_MALFORMED, "redaction boxes: the record is unreadable");
    }
    *out = rec;
    return 1;
}

void dvh_boxes_remove(int data_fd, int64_t op_id)
{
    char dir[48];
    snprintf(dir, sizeof dir, "boxes/%" PRId64, op_id);
    int fd = openat(data_fd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return; /* no record (its config cleaned no pixels), or removed already */
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return;
    }
    /* Only this module writes here: the records and their temporary names. */
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            unlinkat(dirfd(d), de->d_name, 0);
    closedir(d);
    unlinkat(data_fd, dir, AT_REMOVEDIR);
}
