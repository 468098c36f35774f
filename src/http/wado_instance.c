/* One stored instance for the WADO-RS endpoints that look inside it (frames, rendered, bulkdata), and the
 * helpers they share: the pixel path's error mapping, its decode caps and the multipart boundary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "http/server_internal.h"

static int first_ref(const dvs_blob_ref *r, void *user)
{
    *(dvs_blob_ref *)user = *r;
    return 0;
}

dvh_loaded *dvh_load_instance(dvh_request *rq, dvh_err *e)
{
    dvh_server *s = rq->srv;
    const dvh_web *w = &rq->route.web;
    dvh_loaded *l = calloc(1, sizeof *l);
    if (l == NULL) {
        dvh_fail(e, DVH_INTERNAL, "out of memory");
        return NULL;
    }
    l->fd = -1;
    dv_error err = {0};
    int rc = s->ix->ops->blobs(s->ix, rq->store.id, w->study, w->series, w->instance, first_ref, &l->ref, &err);
    if (rc == DVS_NOT_FOUND) {
        dvh_fail(e, DVH_NOT_FOUND, "instance not found");
    } else if (rc != DVS_OK) {
        dvh_fail(e, DVH_INTERNAL, "retrieve failed: %s", err.message[0] ? err.message : "out of memory");
    } else if ((l->fd = dvs_blob_open(s->data_fd, rq->store.id, l->ref.blob, &err)) < 0) {
        dvh_fail(e, DVH_INTERNAL, "retrieve failed: %s", err.message);
    } else {
        l->src = dv_source_fd(&l->fs, l->fd, l->ref.size);
        l->inst = dv_instance_read(&l->src, NULL, &err);
        if (l->inst != NULL)
            return l;
        dvh_fail(e, DVH_INTERNAL, "a stored instance no longer reads (%s)", dv_code_name(err.code));
    }
    dvh_loaded_free(l);
    return NULL;
}

void dvh_loaded_free(dvh_loaded *l)
{
    if (l == NULL)
        return;
    dv_instance_free(l->inst);
    if (l->fd >= 0)
        close(l->fd);
    free(l);
}

int dvh_pixel_fail(dvh_err *e, const char *what, const dv_error *err)
{
    dvh_status st = err->code == DV_ERR_LIMIT         ? DVH_TOO_LARGE
                    : err->code == DV_ERR_UNSUPPORTED ? DVH_NOT_ACCEPTABLE
                    : err->code == DV_ERR_INVALID     ? DVH_INVALID_ARGUMENT
                    : err->code == DV_ERR_MALFORMED || err->code == DV_ERR_NOT_DICOM ? DVH_FAILED_PRECONDITION
                                                      : DVH_INTERNAL;
    /* Library messages name tags, sizes and counts (the project rule), never a value. */
    return dvh_fail(e, st, "%s: %s: %s", what, dv_code_name(err->code), err->message);
}

void dvh_pixel_limits(dv_image_limits *lim)
{
    dv_image_limits_default(lim);
    /* 64 MiB per frame in or out of a decoder (an 8k x 8k 8-bit RGB frame is 192 MiB: refused, 413): decode
     * time grows with these sizes, so they bound a request's CPU time as well as its memory. */
    lim->max_frame_bytes = 64u << 20;
    lim->max_encoded_bytes = 64u << 20;
}

int dvh_random_boundary(char *out, size_t cap)
{
    /* Random per response: stored bytes are client data, so a fixed boundary could be planted inside an
     * instance to break the framing of someone else's retrieve. */
    unsigned char rnd[12];
    if (cap < 40 || RAND_bytes(rnd, sizeof rnd) != 1)
        return -1;
    int w = snprintf(out, cap, "dicomveil-");
    for (unsigned i = 0; i < sizeof rnd; i++)
        w += snprintf(out + w, cap - (size_t)w, "%02x", rnd[i]);
    return 0;
}
