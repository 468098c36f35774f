/* STOW-RS (PS3.18 10.5): a multipart/related; type="application/dicom" body, or a single application/dicom
 * body, streamed part by part into instance files (src/store/blobs.c), parsed with our reader, indexed, and
 * answered with the PS3.18 response: ReferencedSOPSequence for stored instances, FailedSOPSequence with a
 * FailureReason for the others. HTTP status per PS3.18 Table 10.5.3-1: 200 all stored, 202 some failed,
 * 409 none stored.
 *
 * Storing an instance is the store's put path (store_put.c, shared with the operations): the file is named
 * by a keyed hash of the store id and the SOPInstanceUID (src/store/dvs_blobs.h); the UIDs go to the index
 * only, after our reader parsed them from the stored bytes (never from a header or the URL). A re-sent SOPInstanceUID is not
 * stored again and not overwritten: it fails with reason 0x0111 (Duplicate SOP Instance), as the API's import
 * "ignores the newly-pushed instance" (gcp-api.md 9.1; docs/decisions.md "STOW duplicates").
 * [test_server.py "STOW duplicate"] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dicom/dv_charset.h"
#include "dicom/dv_ds.h"
#include "dicom/dv_vr.h"
#include "http/dicom_json.h"
#include "http/multipart.h"
#include "http/router.h"
#include "http/server_internal.h"
#include "store/dvs_blobs.h"


/* The parts of one request are committed together (store_put.c dvh_store_commit: one group commit, whose one
 * syncfs makes their files durable) when PENDING_MAX have arrived and at the end of the body; their answers
 * keep the parts' order. */
#define PENDING_MAX 32
#define DISK_RECHECK (8u << 20) /* body bytes between two free-space checks (dvh_stow_feed) */

typedef struct stow_pending {
    dvh_prepared *pp;   /* NULL: the part failed already (res.reason) */
    dvh_put_result res;
} stow_pending;

struct dvh_stow {
    dvh_request *rq;
    dvh_multipart *mp;      /* NULL for a single application/dicom body */
    dvs_blob_writer *w;     /* the part being received (NULL: the part is being skipped) */
    unsigned part_reason;   /* non-zero: the current part already failed with this reason */
    json_t *referenced, *failed;
    char study[65];         /* the study of the instances stored, while they all share one */
    int studies;            /* 0, 1, or 2 for "more than one" */
    char base[1400];        /* .../dicomWeb */
    dvh_putter *put;        /* the store's put path (store_put.c) */
    stow_pending pending[PENDING_MAX];
    size_t npending;
    uint64_t disk_checked;  /* body bytes in at the last free-space check */
};

void dvh_stow_free(dvh_stow *s)
{
    if (s == NULL)
        return;
    dvs_blob_abort(s->w);
    for (size_t i = 0; i < s->npending; i++)
        dvh_prepared_free(s->pending[i].pp);
    dvh_mp_free(s->mp);
    json_decref(s->referenced);
    json_decref(s->failed);
    dvh_putter_free(s->put);
    free(s);
}

static void add_failed(dvh_stow *s, const char *cls, const char *sop, unsigned reason)
{
    json_t *item = json_object();
    if (item == NULL)
        return;
    /* Only values that are UIDs go back: a failed part's "UID" may be any text the file held (a name, once),
     * and a UI field of the answer must hold a UID anyway. [test_server.py "STOW failure items hold UIDs only"] */
    if (cls && cls[0] && dvh_uid_valid(cls, strlen(cls)))
        dvh_json_put_text(item, 0x00081150, "UI", cls);
    if (sop && sop[0] && dvh_uid_valid(sop, strlen(sop)))
        dvh_json_put_text(item, 0x00081155, "UI", sop);
    dvh_json_put_us(item, 0x00081197, reason);
    json_array_append_new(s->failed, item);
}


/* Store the pending parts (one commit for all of them) and answer each, in the parts' order. */
static void flush_pending(dvh_stow *s)
{
    dvh_prepared *pp[PENDING_MAX];
    size_t n = 0;
    for (size_t i = 0; i < s->npending; i++)
        if (s->pending[i].pp)
            pp[n++] = s->pending[i].pp;
    if (n)
        dvh_store_commit(s->rq->srv, pp, n);
    for (size_t i = 0; i < s->npending; i++) {
        stow_pending *p = &s->pending[i];
        dvh_prepared_free(p->pp);
        p->pp = NULL;
        const dvh_put_result *pr = &p->res;
        if (pr->reason) {
            add_failed(s, pr->sop_class_uid, pr->sop_uid, pr->reason);
            continue;
        }
        json_t *item = json_object();
        if (item) {
            char url[1700];
            snprintf(url, sizeof url, "%s/studies/%s/series/%s/instances/%s", s->base, pr->study_uid, pr->series_uid,
                     pr->sop_uid);
            dvh_json_put_text(item, 0x00081150, "UI", pr->sop_class_uid);
            dvh_json_put_text(item, 0x00081155, "UI", pr->sop_uid);
            dvh_json_put_text(item, 0x00081190, "UR", url);
            json_array_append_new(s->referenced, item);
        }
        if (s->studies == 0 && strlen(pr->study_uid) < sizeof s->study) {
            strcpy(s->study, pr->study_uid);
            s->studies = 1;
        } else if (s->studies == 1 && strcmp(s->study, pr->study_uid) != 0) {
            s->studies = 2;
        }
    }
    s->npending = 0;
}

/* A part is complete: parsed now (s->w consumed), stored with the request's other parts by flush_pending. */
static void ingest(dvh_stow *s, unsigned reason)
{
    if (s->npending == PENDING_MAX)
        flush_pending(s);
    stow_pending *p = &s->pending[s->npending++];
    p->pp = NULL;
    memset(&p->res, 0, sizeof p->res);
    if (s->w == NULL) {
        p->res.reason = reason ? reason : DVH_FAIL_PROCESSING;
        return;
    }
    dvs_blob_writer *w = s->w;
    s->w = NULL;
    p->pp = dvh_store_prepare(s->put, s->rq->store.id, w, s->rq->route.web.study, &p->res);
}

static int start_part(dvh_stow *s, dvh_err *e)
{
    dv_error err = {0};
    s->part_reason = 0;
    s->w = dvs_blob_begin(s->rq->srv->data_fd, s->rq->store.id, s->rq->srv->cfg.max_body, &err);
    if (s->w == NULL)
        return dvh_fail(e, DVH_INTERNAL, "STOW: %s", err.message);
    return 0;
}

static int on_part_begin(void *user, const char *ctype)
{
    dvh_stow *s = user;
    dvh_ctype ct;
    dvh_err e = {0};
    /* A part without Content-Type is taken as the body's type (application/dicom); anything else fails. */
    if (ctype[0] && (dvh_ctype_parse(ctype, &ct, &e) != 0 || strcmp(ct.media, "application/dicom") != 0)) {
        s->part_reason = DVH_FAIL_UNDERSTAND;
        return 0;
    }
    if (start_part(s, dvh_mp_error(s->mp))) {
        return 1;
    }
    return 0;
}

static int on_part_data(void *user, const uint8_t *data, size_t len)
{
    dvh_stow *s = user;
    if (s->w == NULL)
        return 0;
    dv_error err = {0};
    if (dvs_blob_write(s->w, data, len, &err) != 0) {
        dvs_blob_abort(s->w);
        s->w = NULL;
        s->part_reason = err.code == DV_ERR_LIMIT ? DVH_FAIL_RESOURCES : DVH_FAIL_PROCESSING;
    }
    return 0;
}

static int on_part_end(void *user)
{
    dvh_stow *s = user;
    ingest(s, s->part_reason);
    return 0;
}

static const dvh_mp_callbacks stow_callbacks = {on_part_begin, on_part_data, on_part_end};

int dvh_stow_begin(dvh_request *rq, dvh_err *e)
{
    const char *ctv = dvh_header(rq, MHD_HTTP_HEADER_CONTENT_TYPE);
    dvh_ctype ct;
    if (ctv == NULL)
        return dvh_fail(e, DVH_UNSUPPORTED_MEDIA, "Content-Type: required (multipart/related or application/dicom)");
    if (dvh_ctype_parse(ctv, &ct, e))
        return -1;
    int multipart = strcmp(ct.media, "multipart/related") == 0;
    if (!multipart && strcmp(ct.media, "application/dicom") != 0)
        return dvh_fail(e, DVH_UNSUPPORTED_MEDIA,
                        "Content-Type: must be multipart/related; type=\"application/dicom\" or application/dicom");
    if (multipart && ct.type[0] && strcmp(ct.type, "application/dicom") != 0)
        return dvh_fail(e, DVH_UNSUPPORTED_MEDIA, "Content-Type: type must be application/dicom");
    if (multipart && ct.boundary[0] == '\0')
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "Content-Type: boundary parameter required");
    /* Before anything is stored: a client that cannot read the answer must not be left guessing what was. */
    if (dvh_want_dicom_json(rq, "the store response", e))
        return -1;
    dvh_stow *s = calloc(1, sizeof *s);
    if (s == NULL)
        return dvh_fail(e, DVH_INTERNAL, "out of memory");
    rq->stow = s;
    s->rq = rq;
    s->referenced = json_array();
    s->failed = json_array();
    s->put = dvh_putter_new(rq->srv);
    char origin[600], store[1200];
    dvh_api_root(rq, origin, sizeof origin);
    dvh_store_name(&rq->route, store, sizeof store);
    snprintf(s->base, sizeof s->base, "%s/%s/dicomWeb", origin, store);
    if (s->referenced == NULL || s->failed == NULL || s->put == NULL)
        return dvh_fail(e, DVH_INTERNAL, "out of memory");
    if (multipart) {
        s->mp = dvh_mp_new(ct.boundary, &stow_callbacks, s);
        if (s->mp == NULL)
            return dvh_fail(e, DVH_INTERNAL, "out of memory");
        return 0;
    }
    return start_part(s, e);
}

int dvh_stow_feed(dvh_request *rq, const char *data, size_t len, dvh_err *e)
{
    dvh_stow *s = rq->stow;
    if (rq->bytes_in > rq->srv->cfg.max_body)
        return dvh_fail(e, DVH_TOO_LARGE, "request body over the %llu-byte limit",
                        (unsigned long long)rq->srv->cfg.max_body);
    /* The free-space floor was checked before the body (server.c first_call, with its Content-Length when it had
     * one); a chunked body, or others writing meanwhile, may still take the disk down as bytes arrive: checked
     * again every DISK_RECHECK bytes, so a request overshoots the floor by at most that. What was stored before
     * stays stored and is answered for (dvh_stow_finish). [test_server_strict.py "free disk floor"] */
    if (rq->bytes_in - s->disk_checked >= DISK_RECHECK) {
        s->disk_checked = rq->bytes_in;
        if (dvh_disk_room(rq->srv, 0, e))
            return -1;
    }
    if (s->mp)
        return dvh_mp_feed(s->mp, (const uint8_t *)data, len, e);
    on_part_data(s, (const uint8_t *)data, len);
    return 0;
}

/* A body that fails part way (no close delimiter, a part header over its cap, ...) after some of its parts
 * were stored: parts are committed PENDING_MAX at a time as they arrive, so a plain 400 told the client that
 * nothing was stored when up to all but the last batch was (seen: 32 of 40). Every complete part is stored
 * (so what is stored does not depend on where a batch ended), and when any was, the answer is 202 with the
 * usual Referenced/Failed SOP sequences and a Warning (PS3.18 8.4.3) naming the failure; the part that was
 * arriving is dropped. Nothing stored: the error as it was. [test_server_web.py "STOW body failing after
 * stored parts"] */
int dvh_stow_finish(dvh_request *rq, const dvh_err *body_err, struct MHD_Response **resp, int *status, dvh_err *e)
{
    dvh_stow *s = rq->stow;
    dvh_err broken = {0};
    if (body_err)
        broken = *body_err;
    else if (s->mp)
        dvh_mp_finish(s->mp, &broken);
    else
        on_part_end(s);
    flush_pending(s);
    size_t nok = json_array_size(s->referenced), nfail = json_array_size(s->failed);
    if (broken.status != DVH_OK && nok == 0) {
        *e = broken;
        return -1;
    }
    if (nok + nfail == 0)
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "STOW: the body holds no instance");
    json_t *o = json_object();
    if (o == NULL)
        return dvh_fail(e, DVH_INTERNAL, "out of memory");
    /* RetrieveURL (0008,1190) is Type 2 in the response (PS3.18 Table I.1-1): the URL's study, else the one
     * study every stored instance belongs to, else present and empty (instances of several studies, or none
     * stored). */
    const char *study = rq->route.web.study[0] ? rq->route.web.study : s->studies == 1 ? s->study : NULL;
    char url[1500] = "";
    if (study)
        snprintf(url, sizeof url, "%s/studies/%s", s->base, study);
    dvh_json_put_text(o, 0x00081190, "UR", url);
    if (nok) {
        dvh_json_put_items(o, 0x00081199, s->referenced);
        s->referenced = NULL;
    }
    if (nfail) {
        dvh_json_put_items(o, 0x00081198, s->failed);
        s->failed = NULL;
    }
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (body == NULL)
        return dvh_fail(e, DVH_INTERNAL, "out of memory");
    *status = broken.status != DVH_OK ? 202 : nfail == 0 ? 200 : nok ? 202 : 409;
    *resp = dvh_response_bytes("application/dicom+json", body, strlen(body));
    if (*resp && broken.status != DVH_OK) {
        /* The message goes inside a quoted header value: our messages hold no quote, backslash or control
         * character, and this keeps it so. */
        char msg[DVH_MESSAGE_MAX], warn[DVH_MESSAGE_MAX + 64];
        size_t k = 0;
        for (; broken.message[k] && k + 1 < sizeof msg; k++) {
            char c = broken.message[k];
            msg[k] = c == '"' || c == '\\' || (unsigned char)c < 0x20 ? '\'' : c;
        }
        msg[k] = '\0';
        snprintf(warn, sizeof warn, "299 dicomveil \"the body failed after the instances listed: %s\"", msg);
        MHD_add_response_header(*resp, "Warning", warn);
    }
    return 0;
}
