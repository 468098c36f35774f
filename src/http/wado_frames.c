/* WADO-RS frames and bulkdata (PS3.18 10.4, 8.7.3): the bytes of frames as stored, read through the frame
 * index (include/dicomveil/dv_frames.h), and the values that metadata's BulkDataURIs name.
 *
 * Frames: multipart/related, one part per requested frame in the order asked (repeats allowed). Native pixel
 * data gives application/octet-stream parts holding the frame little endian (transfer-syntax Explicit VR
 * Little Endian, as PS3.18 8.7.3.3.2 says for uncompressed bulk data: frames read from a big endian file are
 * swapped by dv_frames_read); encapsulated pixel data gives each frame's fragments concatenated under its
 * transfer syntax's media type (image/jpeg, image/jls, image/jp2, image/jpx, image/jphc, image/dicom-rle)
 * with transfer-syntax=<uid>, or under application/octet-stream with the same label when the client asks
 * that with transfer-syntax=* or the stored UID: the form OHIF and other viewers send (Google's service
 * answers it), which got 406 when only the syntax's own type was admitted. No transcoding: an Accept that asks
 * for another type or syntax is 406. A frame list that is not 1-based decimal numbers separated by commas is
 * 400; a number past NumberOfFrames is 404. Bodies are capped (FRAMES_BODY_MAX, 413).
 * [integration.test_server_web: test_frames, test_transfer_syntax]
 *
 * Bulkdata: the tag path (router.h dvh_web.bulk) is walked through the stored instance; the value is sent
 * little endian (one application/octet-stream part, or a bare body when the client weighs that form higher),
 * labelled Explicit VR Little Endian, PS3.18's default for uncompressed bulk data (8.7.3.3.2, Table 8.7.3-4).
 * A value of a big endian file is swapped per its VR as its frames are, so the plain Accept of
 * application/octet-stream (which means little endian) is served, not 406; a client naming the big endian UID
 * gets the bytes as stored under that label (bulk_choice). Encapsulated PixelData is sent as its frames
 * (above). [integration.test_server_web: test_bulkdata, test_bulkdata_big_endian, test_transfer_syntax] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dicom/dv_ds.h"
#include "dicomveil/dv_frames.h"
#include "http/accept.h"
#include "http/server_internal.h"
#include "http/wado_params.h"

/* The most a frames or bulkdata answer holds in memory. */
#define FRAMES_BODY_MAX ((uint64_t)256 << 20)

/* PS3.18 Table 8.7.3-5: the media type of an encapsulated transfer syntax's frames. */
static const char *frame_media(const char *ts)
{
    static const struct {
        const char *prefix;
        const char *media;
    } t[] = {
        {"1.2.840.10008.1.2.4.50", "image/jpeg"}, {"1.2.840.10008.1.2.4.51", "image/jpeg"},
        {"1.2.840.10008.1.2.4.57", "image/jpeg"}, {"1.2.840.10008.1.2.4.70", "image/jpeg"},
        {"1.2.840.10008.1.2.4.80", "image/jls"},  {"1.2.840.10008.1.2.4.81", "image/jls"},
        {"1.2.840.10008.1.2.4.90", "image/jp2"},  {"1.2.840.10008.1.2.4.91", "image/jp2"},
        {"1.2.840.10008.1.2.4.92", "image/jpx"},  {"1.2.840.10008.1.2.4.93", "image/jpx"},
        {"1.2.840.10008.1.2.4.201", "image/jphc"}, {"1.2.840.10008.1.2.4.202", "image/jphc"},
        {"1.2.840.10008.1.2.4.203", "image/jphc"}, {"1.2.840.10008.1.2.5", "image/dicom-rle"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(ts, t[i].prefix) == 0)
            return t[i].media;
    return "application/octet-stream";
}

/* The media type of frames' parts under the client's Accept, or NULL (406): ts is the syntax the parts carry
 * (the stored one; explicit VR little endian for native frames), own the syntax's media type (Table 8.7.3-5;
 * application/octet-stream for native frames or a syntax without one). own is served as stored even without
 * transfer-syntax= (as before). application/octet-stream is the form OHIF and other viewers ask with
 * transfer-syntax=* (Google's service answers it): it stands for explicit VR little endian unless
 * transfer-syntax= says otherwise, so an encapsulated syntax must be named or "*". The heavier wins; own on a
 * tie. */
static const char *part_media(dvh_request *rq, const char *own, const char *ts)
{
    const char *a = dvh_header(rq, MHD_HTTP_HEADER_ACCEPT);
    int own_oct = strcmp(own, "application/octet-stream") == 0;
    dvh_accept_want wo = {"multipart/related", own, ts, own_oct ? DV_TS_UID_EXPLICIT_LE : NULL};
    dvh_accept_want wb = {"multipart/related", "application/octet-stream", ts, DV_TS_UID_EXPLICIT_LE};
    int qo = dvh_accept_weigh(a, &wo, NULL);
    int qb = own_oct ? 0 : dvh_accept_weigh(a, &wb, NULL);
    return qo > 0 && qo >= qb ? own : qb > 0 ? "application/octet-stream" : NULL;
}

/* The 406 of part_media: what is sent, and (for an encapsulated syntax) the octet-stream form. */
static int refuse_parts(dvh_err *e, const char *own, const char *ts)
{
    if (strcmp(own, "application/octet-stream") == 0)
        return dvh_fail(e, DVH_NOT_ACCEPTABLE,
                        "frames are sent as stored: multipart/related; type=\"%s\"; transfer-syntax=%s", own, ts);
    return dvh_fail(e, DVH_NOT_ACCEPTABLE,
                    "frames are sent as stored (%s, no transcoding): multipart/related; type=\"%s\", or "
                    "type=\"application/octet-stream\" with transfer-syntax=%s or *", ts, own, ts);
}

typedef struct body {
    char *p;
    size_t n, cap;
} body;

/* Room for n more bytes. */
static int body_reserve(body *b, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (q == NULL)
            return -1;
        b->p = q;
        b->cap = cap;
    }
    return 0;
}

static int body_add(body *b, const void *data, size_t n)
{
    if (body_reserve(b, n))
        return -1;
    memcpy(b->p + b->n, data, n);
    b->n += n;
    return 0;
}

/* Frames list[0..n) (1-based) of l's instance as a multipart answer. */
static int frames_answer(dvh_request *rq, dvh_loaded *l, const uint32_t *list, size_t n,
                         struct MHD_Response **resp, int *status, dvh_err *e)
{
    dv_error err = {0};
    dv_frames *f = dv_frames_index(l->inst, &err);
    if (f == NULL)
        return dvh_pixel_fail(e, "frames", &err);
    int enc = dv_frames_encapsulated(f);
    const char *ts = dv_instance_transfer_syntax(l->inst);
    const char *own = enc ? frame_media(ts) : "application/octet-stream";
    const char *part_ts = enc ? ts : DV_TS_UID_EXPLICIT_LE;
    const char *media = part_media(rq, own, part_ts);
    uint32_t count = dv_frames_count(f);
    uint64_t total = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (list[i] > count)
            rc = dvh_fail(e, DVH_NOT_FOUND, "frame %u: the instance has %u frame%s", list[i], count,
                          count == 1 ? "" : "s");
        else if ((total += dv_frames_size(f, list[i] - 1)) > FRAMES_BODY_MAX)
            rc = dvh_fail(e, DVH_TOO_LARGE, "frames: more than %llu bytes asked for at once",
                          (unsigned long long)FRAMES_BODY_MAX);
    }
    if (rc == 0 && media == NULL)
        rc = refuse_parts(e, own, part_ts);
    char boundary[48];
    if (rc == 0 && dvh_random_boundary(boundary, sizeof boundary))
        rc = dvh_fail(e, DVH_INTERNAL, "no randomness for the multipart boundary");
    body b = {0};
    for (size_t i = 0; rc == 0 && i < n; i++) {
        uint64_t sz = dv_frames_size(f, list[i] - 1);
        char head[256];
        int hn = snprintf(head, sizeof head, "--%s\r\nContent-Type: %s; transfer-syntax=%s\r\n\r\n", boundary,
                          media, part_ts);
        if (body_add(&b, head, (size_t)hn) || body_reserve(&b, sz + 2)) {
            rc = dvh_fail(e, DVH_INTERNAL, "out of memory");
            break;
        }
        if (dv_frames_read(l->inst, f, list[i] - 1, b.p + b.n, sz, &err)) {
            rc = dvh_pixel_fail(e, "frames", &err);
            break;
        }
        b.n += sz;
        body_add(&b, "\r\n", 2);
    }
    dv_frames_free(f);
    if (rc == 0) {
        char tail[64];
        int tn = snprintf(tail, sizeof tail, "--%s--\r\n", boundary);
        if (body_add(&b, tail, (size_t)tn))
            rc = dvh_fail(e, DVH_INTERNAL, "out of memory");
    }
    if (rc) {
        free(b.p);
        return -1;
    }
    char ctype[200];
    snprintf(ctype, sizeof ctype, "multipart/related; type=\"%s\"; boundary=%s", media, boundary);
    *status = 200;
    *resp = dvh_response_bytes(ctype, b.p, b.n);
    return *resp ? 0 : dvh_fail(e, DVH_INTERNAL, "out of memory");
}

int dvh_handle_frames(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e)
{
    uint32_t list[DVH_FRAME_LIST_MAX];
    size_t n;
    if (dvh_frame_list_parse(rq->route.web.frames, list, &n, e))
        return -1;
    dvh_loaded *l = dvh_load_instance(rq, e);
    if (l == NULL)
        return -1;
    int rc = frames_answer(rq, l, list, n, resp, status, e);
    dvh_loaded_free(l);
    return rc;
}

/* The element a bulkdata tag path names, or NULL; *in receives the dataset holding it (a PixelData's word size
 * depends on its own dataset's BitsAllocated, an icon's as much as the top level's). */
static const dv_elem *walk_bulk(const dv_instance *inst, const char *path, const dv_ds **in)
{
    const dv_ds *ds = &inst->ds;
    const char *p = path;
    for (;;) {
        uint32_t tag = (uint32_t)strtoul(p, NULL, 16);
        const dv_elem *el = dv_ds_find(ds, tag);
        p += 8;
        *in = ds;
        if (el == NULL || *p == '\0')
            return el;
        unsigned long idx = strtoul(p + 1, (char **)&p, 10);
        if (!(el->flags & DV_ELEM_SEQUENCE) || *p != '/')
            return NULL;
        p++;
        const dv_item *it = el->items;
        for (unsigned long k = 0; it && k < idx; k++)
            it = it->next;
        if (it == NULL)
            return NULL;
        ds = &it->ds;
    }
}

/* How a bulk value goes out under the client's Accept: 1 a multipart/related part, 2 a bare
 * application/octet-stream body (when it weighs more than the multipart form), 0 neither (406); the weight in
 * *q. ts is the syntax the value would be sent in; application/octet-stream without transfer-syntax= asks for
 * explicit VR little endian (PS3.18 8.7.3, Table 8.7.3-4), so only a range naming ts or "*" admits another. */
static int bulk_form(dvh_request *rq, const char *ts, int *q)
{
    const char *a = dvh_header(rq, MHD_HTTP_HEADER_ACCEPT);
    dvh_accept_want wm = {"multipart/related", "application/octet-stream", ts, DV_TS_UID_EXPLICIT_LE};
    dvh_accept_want wb = {"application/octet-stream", NULL, ts, DV_TS_UID_EXPLICIT_LE};
    int qm = dvh_accept_weigh(a, &wm, NULL), qb = dvh_accept_weigh(a, &wb, NULL);
    *q = qb > qm ? qb : qm;
    return qb > qm ? 2 : qm > 0 ? 1 : 0;
}

/* The syntax a bulk value goes out in and its form (bulk_form). A value is sent little endian, labelled
 * explicit VR little endian: PS3.18's default for uncompressed bulk data (8.7.3.3.2, Table 8.7.3-4), and what
 * frames are (dv_frames_read swaps a big endian file's). A value stored big endian (explicit VR big endian,
 * retired) is swapped, unless the client names 1.2.840.10008.1.2.2 and weighs it above little endian: then
 * it is sent as stored under that label, a syntax the client asked for that costs nothing. "*" takes any
 * syntax (8.7.3.5.2) and so weighs both the same: little endian wins the tie, since a client that did not
 * name the retired syntax cannot be assumed to read it (the VR that says how to swap is in the metadata, not
 * in the part). A value stored little endian is never swapped to big endian (no transcoding: 406). */
static int bulk_choice(dvh_request *rq, int stored_be, const char **ts)
{
    int q_le, q_be = 0;
    int form = bulk_form(rq, DV_TS_UID_EXPLICIT_LE, &q_le);
    *ts = DV_TS_UID_EXPLICIT_LE;
    if (stored_be) {
        int form_be = bulk_form(rq, DV_TS_UID_EXPLICIT_BE, &q_be);
        if (q_be > q_le) {
            *ts = DV_TS_UID_EXPLICIT_BE;
            form = form_be;
        }
    }
    return form;
}

int dvh_handle_bulkdata(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e)
{
    dvh_loaded *l = dvh_load_instance(rq, e);
    if (l == NULL)
        return -1;
    int rc = 0;
    const dv_ds *in = NULL;
    const dv_elem *el = walk_bulk(l->inst, rq->route.web.bulk, &in);
    if (el == NULL || (el->flags & DV_ELEM_SEQUENCE)) {
        rc = dvh_fail(e, DVH_NOT_FOUND, "bulkdata: no such value in the instance");
    } else if (el->flags & DV_ELEM_ENCAPSULATED) {
        /* Encapsulated pixel data: its frames, every one, as the frames endpoint sends them. */
        dv_error err = {0};
        dv_frames *f = dv_frames_index(l->inst, &err);
        if (f == NULL) {
            rc = dvh_pixel_fail(e, "bulkdata", &err);
        } else {
            uint32_t count = dv_frames_count(f);
            dv_frames_free(f);
            uint32_t *list = malloc((size_t)count * sizeof *list);
            if (list == NULL) {
                rc = dvh_fail(e, DVH_INTERNAL, "out of memory");
            } else {
                for (uint32_t i = 0; i < count; i++)
                    list[i] = i + 1;
                rc = frames_answer(rq, l, list, count, resp, status, e);
                free(list);
            }
        }
    } else if (el->length > FRAMES_BODY_MAX) {
        rc = dvh_fail(e, DVH_TOO_LARGE, "bulkdata: value over %llu bytes", (unsigned long long)FRAMES_BODY_MAX);
    } else {
        char boundary[48];
        body b = {0};
        /* The bytes' order as dv_frames_read sees it: an external value (set by the engine) is little endian
         * whatever the instance was read in. */
        int stored_be = dv_values_big_endian(l->inst) && !(el->flags & DV_ELEM_EXTERNAL);
        const char *ts;
        int form = bulk_choice(rq, stored_be, &ts);
        int bare = form == 2;
        char head[200];
        int hn = 0;
        if (form == 0) {
            rc = dvh_fail(e, DVH_NOT_ACCEPTABLE, "bulkdata is sent as multipart/related; "
                          "type=\"application/octet-stream\" or application/octet-stream, transfer-syntax=%s%s",
                          DV_TS_UID_EXPLICIT_LE, stored_be ? " (or " DV_TS_UID_EXPLICIT_BE ", as stored)" : "");
        } else if (!bare) {
            if (dvh_random_boundary(boundary, sizeof boundary))
                rc = dvh_fail(e, DVH_INTERNAL, "no randomness for the multipart boundary");
            else
                hn = snprintf(head, sizeof head,
                              "--%s\r\nContent-Type: application/octet-stream; transfer-syntax=%s\r\n\r\n",
                              boundary, ts);
        }
        size_t need = (size_t)hn + (size_t)el->length + 64;
        if (rc == 0 && (b.p = malloc(need)) == NULL)
            rc = dvh_fail(e, DVH_INTERNAL, "out of memory");
        if (rc == 0) {
            memcpy(b.p, head, (size_t)hn);
            b.n = (size_t)hn;
            if (el->length && dv_elem_read_value(l->inst, el, b.p + b.n, el->length) != 0)
                rc = dvh_fail(e, DVH_INTERNAL, "bulkdata: the stored value no longer reads");
            else if (stored_be && strcmp(ts, DV_TS_UID_EXPLICIT_LE) == 0)
                /* Per VR, as the writer swaps a big endian input written little endian (PixelData per its
                 * BitsAllocated, as dv_frames_read does); a trailing part shorter than a word (a malformed
                 * length) is left as it is: dv_swap_bytes never reaches past n. */
                dv_swap_bytes((uint8_t *)b.p + b.n, (size_t)el->length,
                              el->tag == DV_TAG_PIXEL_DATA ? dv_pixel_swap_unit(l->inst, in, el)
                                                           : dv_vr_swap_unit(el->vr));
            b.n += (size_t)el->length;
            if (!bare)
                b.n += (size_t)snprintf(b.p + b.n, need - b.n, "\r\n--%s--\r\n", boundary);
        }
        if (rc == 0) {
            char ctype[160];
            if (bare)
                snprintf(ctype, sizeof ctype, "application/octet-stream; transfer-syntax=%s", ts);
            else
                snprintf(ctype, sizeof ctype, "multipart/related; type=\"application/octet-stream\"; boundary=%s",
                         boundary);
            *status = 200;
            *resp = dvh_response_bytes(ctype, b.p, b.n);
            b.p = NULL;
            if (*resp == NULL)
                rc = dvh_fail(e, DVH_INTERNAL, "out of memory");
        }
        free(b.p);
    }
    dvh_loaded_free(l);
    return rc ? -1 : 0;
}
