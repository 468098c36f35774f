/* WADO-RS retrieve (PS3.18 10.4): study / series / instance as multipart/related; type="application/dicom"
 * (or one instance as a bare application/dicom body), streamed from the stored files byte for byte: no
 * transcoding, each part says its transfer syntax (docs/decisions.md "WADO transfer syntax"); and metadata
 * as application/dicom+json, read from the stored files with our reader (dicom_json.c).
 *
 * Since we never transcode, an Accept whose ranges name only other transfer syntaxes (PS3.18 8.7.3) is 406
 * naming the stored one: before, the parameter was ignored and the stored syntax came back under 200. A study
 * is weighed instance by instance and refused whole when one is refused, never sent short. The lookup now
 * comes before the 406 (the instances' syntaxes decide it), so a refused Accept on an absent study is 404.
 * [test_server_web.py "Accept naming one syntax"; test_server_web.py "mixed-syntax"] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/dicom_json.h"
#include "http/accept.h"
#include "http/server_internal.h"
#include "store/dvs_blobs.h"

typedef struct refs {
    dvs_blob_ref *v;
    size_t n, cap;
} refs;

static int collect_ref(const dvs_blob_ref *r, void *user)
{
    refs *rs = user;
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 16;
        dvs_blob_ref *v = realloc(rs->v, cap * sizeof *v);
        if (v == NULL)
            return 1;
        rs->v = v;
        rs->cap = cap;
    }
    rs->v[rs->n++] = *r;
    return 0;
}

static int find_refs(dvh_request *rq, refs *rs, dvh_err *e)
{
    dvh_server *s = rq->srv;
    const dvh_web *w = &rq->route.web;
    dv_error err = {0};
    int rc = s->ix->ops->blobs(s->ix, rq->store.id, w->study, w->series, w->instance, collect_ref, rs, &err);
    if (rc == DVS_NOT_FOUND)
        return dvh_fail(e, DVH_NOT_FOUND, "%s not found", w->instance[0] ? "instance" : w->series[0] ? "series" : "study");
    if (rc != DVS_OK)
        return dvh_fail(e, DVH_INTERNAL, "retrieve failed: %s", err.message[0] ? err.message : "out of memory");
    return 0;
}

/* --- the multipart stream --- */

typedef struct mp_stream {
    dvh_server *srv;
    int64_t store_id;
    refs rs;
    size_t cur;         /* part being sent */
    int fd;             /* its file (-1 before opening) */
    uint64_t off;       /* bytes of the current part's file sent */
    char head[256];     /* the current part's header block (or the close delimiter) */
    size_t head_len, head_off;
    int phase;          /* 0 head, 1 body, 2 CRLF after the body, 3 closing, 4 done */
    char boundary[40];
} mp_stream;

static void part_head(mp_stream *m)
{
    if (m->cur < m->rs.n) {
        m->head_len = (size_t)snprintf(m->head, sizeof m->head,
                                       "--%s\r\nContent-Type: application/dicom; transfer-syntax=%s\r\n\r\n",
                                       m->boundary, m->rs.v[m->cur].transfer_syntax);
    } else {
        m->head_len = (size_t)snprintf(m->head, sizeof m->head, "--%s--\r\n", m->boundary);
    }
    m->head_off = 0;
}

static uint64_t stream_size(mp_stream *m)
{
    uint64_t total = 0;
    for (m->cur = 0; m->cur <= m->rs.n; m->cur++) {
        part_head(m);
        total += m->head_len;
        if (m->cur < m->rs.n)
            total += m->rs.v[m->cur].size + 2;
    }
    m->cur = 0;
    part_head(m);
    return total;
}

static ssize_t mp_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    mp_stream *m = cls;
    size_t w = 0;
    while (w < max) {
        if (m->phase == 0 || m->phase == 3) {
            size_t k = m->head_len - m->head_off;
            if (k > max - w)
                k = max - w;
            memcpy(buf + w, m->head + m->head_off, k);
            m->head_off += k;
            w += k;
            if (m->head_off == m->head_len) {
                if (m->phase == 3) {
                    m->phase = 4;
                } else {
                    m->phase = 1;
                    dv_error err = {0};
                    m->fd = dvs_blob_open(m->srv->data_fd, m->store_id, m->rs.v[m->cur].blob, &err);
                    if (m->fd < 0)
                        return MHD_CONTENT_READER_END_WITH_ERROR;
                    m->off = 0;
                }
            }
        } else if (m->phase == 1) {
            uint64_t left = m->rs.v[m->cur].size - m->off;
            size_t k = left < max - w ? (size_t)left : max - w;
            if (k) {
                ssize_t r = pread(m->fd, buf + w, k, (off_t)m->off);
                if (r < 0 && errno == EINTR)
                    continue;
                if (r <= 0) /* the file shrank under us: the declared length cannot be met */
                    return MHD_CONTENT_READER_END_WITH_ERROR;
                m->off += (uint64_t)r;
                w += (size_t)r;
            }
            if (m->off == m->rs.v[m->cur].size) {
                close(m->fd);
                m->fd = -1;
                m->phase = 2;
                memcpy(m->head, "\r\n", 2);
                m->head_len = 2;
                m->head_off = 0;
            }
        } else if (m->phase == 2) {
            size_t k = m->head_len - m->head_off;
            if (k > max - w)
                k = max - w;
            memcpy(buf + w, m->head + m->head_off, k);
            m->head_off += k;
            w += k;
            if (m->head_off == m->head_len) {
                m->cur++;
                part_head(m);
                m->phase = m->cur < m->rs.n ? 0 : 3;
            }
        } else {
            break;
        }
    }
    if (w == 0 && m->phase == 4)
        return MHD_CONTENT_READER_END_OF_STREAM;
    return (ssize_t)w;
}

static void mp_free(void *cls)
{
    mp_stream *m = cls;
    if (m->fd >= 0)
        close(m->fd);
    free(m->rs.v);
    free(m);
}

/* The weight the client gives form kind (1 multipart/related of application/dicom parts, 2 a bare
 * application/dicom body) of an instance stored as ts (NULL: transfer-syntax= not weighed). An absent
 * transfer-syntax= takes what is stored: PS3.18's default for application/dicom is explicit VR little endian,
 * but we never transcode and the stored syntax is what a client of this server has always got (docs/server.md). */
static int form_weight(const char *accept, int kind, const char *ts)
{
    dvh_accept_want w = {kind == 1 ? "multipart/related" : "application/dicom", kind == 1 ? "application/dicom" : NULL,
                         ts, NULL};
    return dvh_accept_weigh(accept, &w, NULL);
}

/* A study holds few syntaxes: each is weighed once, not once per instance (the Accept header is client input
 * of up to the connection's memory, a study may hold many thousand instances). 64 is more than PS3.6 defines,
 * so a study of every syntax still weighs each once. */
#define TS_MEMO 64

/* The weight of sending every instance of rs in form kind: the least of theirs, so 0 when any one's stored
 * syntax is refused (an instance is never silently left out). *bad counts the refused ones; *first (when
 * NULL) gets the first refused syntax. */
static int refs_weight(const char *accept, int kind, const refs *rs, size_t *bad, const char **first)
{
    struct {
        const char *ts;
        int q;
    } memo[TS_MEMO];
    size_t nm = 0;
    int least = 1000;
    for (size_t i = 0; i < rs->n; i++) {
        const char *ts = rs->v[i].transfer_syntax;
        int q = -1;
        for (size_t k = 0; k < nm && q < 0; k++)
            if (strcmp(memo[k].ts, ts) == 0)
                q = memo[k].q;
        if (q < 0) {
            q = form_weight(accept, kind, ts);
            if (nm < TS_MEMO) {
                memo[nm].ts = ts;
                memo[nm++].q = q;
            }
        }
        if (q == 0) {
            (*bad)++;
            if (*first == NULL)
                *first = ts;
        }
        if (q < least)
            least = q;
    }
    return least;
}

/* The form to send rs in: 1 multipart (default), 2 a bare application/dicom instance (when it weighs more than
 * the multipart form), or -1 with the 406: a media type we do not send, or a stored syntax the Accept
 * header's transfer-syntax= refuses (named: it is what we would send; no tag value). */
static int choose_form(dvh_request *rq, const refs *rs, dvh_err *e)
{
    const char *a = dvh_header(rq, MHD_HTTP_HEADER_ACCEPT);
    int one = rq->route.web.instance[0] != 0;
    size_t bad = 0, bad_bare = 0;
    const char *first = NULL, *first_bare = NULL;
    int qm = refs_weight(a, 1, rs, &bad, &first);
    int qb = one ? refs_weight(a, 2, rs, &bad_bare, &first_bare) : 0;
    if (qb > qm)
        return 2;
    if (qm > 0)
        return 1;
    if (form_weight(a, 1, NULL) == 0 && (!one || form_weight(a, 2, NULL) == 0))
        return dvh_fail(e, DVH_NOT_ACCEPTABLE,
                        "Accept: multipart/related; type=\"application/dicom\" (or application/dicom for an instance)");
    if (one)
        return dvh_fail(e, DVH_NOT_ACCEPTABLE,
                        "the instance is sent as stored, transfer syntax %s (no transcoding): Accept that "
                        "transfer-syntax or *", first ? first : first_bare);
    return dvh_fail(e, DVH_NOT_ACCEPTABLE,
                    "instances are sent as stored (no transcoding): %zu of %zu are in a transfer syntax the Accept "
                    "header refuses, first %s; accept it or transfer-syntax=*", bad, rs->n, first);
}

int dvh_handle_retrieve(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e)
{
    refs rs = {0};
    if (find_refs(rq, &rs, e)) {
        free(rs.v);
        return -1;
    }
    int kind = choose_form(rq, &rs, e);
    if (kind < 0) {
        free(rs.v);
        return -1;
    }
    dvh_server *s = rq->srv;
    *status = 200;
    if (kind == 2) {
        dv_error err = {0};
        int fd = dvs_blob_open(s->data_fd, rq->store.id, rs.v[0].blob, &err);
        uint64_t size = rs.v[0].size;
        char ctype[128];
        snprintf(ctype, sizeof ctype, "application/dicom; transfer-syntax=%s", rs.v[0].transfer_syntax);
        free(rs.v);
        if (fd < 0)
            return dvh_fail(e, DVH_INTERNAL, "retrieve failed: %s", err.message);
        *resp = MHD_create_response_from_fd(size, fd);
        if (*resp == NULL) {
            close(fd);
            return dvh_fail(e, DVH_INTERNAL, "out of memory");
        }
        MHD_add_response_header(*resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
        return 0;
    }
    mp_stream *m = calloc(1, sizeof *m);
    if (m == NULL) {
        free(rs.v);
        return dvh_fail(e, DVH_INTERNAL, "out of memory");
    }
    m->srv = s;
    m->store_id = rq->store.id;
    m->rs = rs;
    m->fd = -1;
    /* A random boundary per response: stored bytes are client data, so a fixed boundary could be planted
     * inside an instance to break the framing of someone else's retrieve. */
    if (dvh_random_boundary(m->boundary, sizeof m->boundary)) {
        mp_free(m);
        return dvh_fail(e, DVH_INTERNAL, "no randomness for the multipart boundary");
    }
    uint64_t total = stream_size(m);
    char ctype[160];
    snprintf(ctype, sizeof ctype, "multipart/related; type=\"application/dicom\"; boundary=%s", m->boundary);
    *resp = MHD_create_response_from_callback(total, 64 * 1024, mp_read, m, mp_free);
    if (*resp == NULL) {
        mp_free(m);
        return dvh_fail(e, DVH_INTERNAL, "out of memory");
    }
    MHD_add_response_header(*resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    return 0;
}


int dvh_handle_metadata(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e)
{
    if (dvh_want_dicom_json(rq, "metadata", e))
        return -1;
    refs rs = {0};
    if (find_refs(rq, &rs, e)) {
        free(rs.v);
        return -1;
    }
    dvh_server *s = rq->srv;
    json_t *arr = json_array();
    char origin[600], store[1200];
    dvh_api_root(rq, origin, sizeof origin);
    dvh_store_name(&rq->route, store, sizeof store);
    int rc = arr ? 0 : dvh_fail(e, DVH_INTERNAL, "out of memory");
    for (size_t i = 0; rc == 0 && i < rs.n; i++) {
        dv_error err = {0};
        int fd = dvs_blob_open(s->data_fd, rq->store.id, rs.v[i].blob, &err);
        if (fd < 0) {
            rc = dvh_fail(e, DVH_INTERNAL, "metadata: %s", err.message);
            break;
        }
        dv_fd_source f;
        dv_source src = dv_source_fd(&f, fd, rs.v[i].size);
        dv_instance *inst = dv_instance_read(&src, NULL, &err);
        if (inst == NULL) {
            close(fd);
            rc = dvh_fail(e, DVH_INTERNAL, "metadata: a stored instance no longer reads (%s)", dv_code_name(err.code));
            break;
        }
        char bulk[2600];
        snprintf(bulk, sizeof bulk, "%s/%s/dicomWeb/studies/%s/series/%s/instances/%s/bulkdata", origin, store,
                 rs.v[i].study_uid, rs.v[i].series_uid, rs.v[i].sop_uid);
        json_t *o = dvh_json_instance(inst, bulk, &err);
        dv_instance_free(inst);
        close(fd);
        if (o == NULL) {
            rc = dvh_fail(e, DVH_INTERNAL, "metadata: %s", err.message);
            break;
        }
        json_array_append_new(arr, o);
    }
    free(rs.v);
    if (rc) {
        json_decref(arr);
        return -1;
    }
    char *body = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    if (body == NULL)
        return dvh_fail(e, DVH_INTERNAL, "out of memory");
    *status = 200;
    *resp = dvh_response_bytes("application/dicom+json", body, strlen(body));
    return 0;
}
