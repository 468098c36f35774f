/* The store's put path: one complete instance file (a blob writer holding its bytes) becomes a stored,
 * indexed instance of a DICOM store, or a failure with its PS3.18 reason. STOW-RS (stow.c), the
 * de-identify operations and :import (op_*.c) all store through here, so an instance is stored the same way
 * whoever brings it (docs/server.md "Storage", "Operations").
 *
 * The UIDs and the QIDO attributes come from the stored bytes, read with our reader; the file is named by
 * dvs_blob_name (a keyed hash of the store id and the SOPInstanceUID: src/store/dvs_blobs.h) before it is
 * indexed (a crash in between leaves an unreferenced file, never a row without its file). A SOPInstanceUID
 * the store already holds is not stored again (0x0111); same_blob then says whether the stored instance has
 * exactly these bytes, which is how a resumed operation recognises its own output (docs/server.md "Resume
 * without duplicates or losses").
 *
 * A name is deterministic, so it can be taken before its row exists: by a leftover file (a failed batch, a
 * crash between link and commit), or by a concurrent put of the same SOPInstanceUID. Each put claims its
 * names (dvs_blob_claim, across threads and processes) from before its link until its rows are committed;
 * holding the claim, a taken name is either indexed (a duplicate: the file is left alone) or a leftover (no
 * row names it: replaced atomically). [test_server.py "instance names"] */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dicom/dv_charset.h"
#include "dicom/dv_ds.h"
#include "dicom/dv_vr.h"
#include "http/server_internal.h"
#include "store/dvs_blobs.h"
#include "util/dv_fd_source.h"

#define VALUE_CAP (DVS_VALUE_MAX * 3 + 1)

struct dvh_putter {
    dvh_server *srv;
    dv_charset_ctx *cs;
    dvs_instance_rec rec;
    char vals[64][VALUE_CAP];
};

dvh_putter *dvh_putter_new(dvh_server *srv)
{
    dvh_putter *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->srv = srv;
    p->cs = dv_charset_ctx_new();
    return p;
}

void dvh_putter_free(dvh_putter *p)
{
    if (p == NULL)
        return;
    dv_charset_ctx_free(p->cs);
    free(p);
}

/* The index attributes of inst as UTF-8 text into p->vals / rec->attr. */
static void extract_attrs(dvh_putter *p, const dv_instance *inst, dvs_instance_rec *rec)
{
    char raw[DVS_VALUE_MAX + 1];
    dv_charset cs;
    int n = dv_instance_get_string(inst, 0x00080005, raw, sizeof raw);
    if (n > 0)
        dv_charset_parse((const uint8_t *)raw, (size_t)n, &cs);
    else
        dv_charset_default(&cs);
    for (size_t i = 0; i < dvs_nattrs && i < 64; i++) {
        const dvs_attr *a = &dvs_attrs[i];
        rec->attr[i] = NULL;
        if (a->column == NULL)
            continue;
        if (strcmp(a->vr, "US") == 0) {
            uint16_t v;
            if (dv_ds_get_u16(inst, &inst->ds, a->tag, &v) == 0) {
                snprintf(p->vals[i], VALUE_CAP, "%u", v);
                rec->attr[i] = p->vals[i];
            }
            continue;
        }
        n = dv_instance_get_string(inst, a->tag, raw, sizeof raw);
        if (n <= 0)
            continue;
        uint16_t vr = dv_vr_from_chars(a->vr);
        dv_cs_decoded dec;
        dv_error derr;
        if (p->cs && dv_charset_vr_applies(vr) &&
            dv_charset_decode(p->cs, &cs, vr, (const uint8_t *)raw, (size_t)n, p->vals[i], VALUE_CAP - 1, &dec,
                              &derr) == 0) {
            p->vals[i][dec.len] = '\0';
        } else {
            for (int k = 0; k < n; k++)
                p->vals[i][k] = (unsigned char)raw[k] < 0x80 && raw[k] ? raw[k] : '?';
            p->vals[i][n] = '\0';
        }
        rec->attr[i] = p->vals[i];
    }
}

struct dvh_prepared {
    dvs_blob_writer *w;
    int64_t store_id;
    dvs_instance_rec rec;
    char *vals;               /* the attribute values rec.attr points into (one allocation) */
    dvh_put_result *out;      /* the caller's, filled as the instance goes */
};

void dvh_prepared_free(dvh_prepared *pp)
{
    if (pp == NULL)
        return;
    dvs_blob_abort(pp->w);
    free(pp->vals);
    free(pp);
}

/* Phase 1 of a put: parse, check, extract the index attributes and name the file. NULL when the instance already
 * failed (out->reason set, w consumed). */
dvh_prepared *dvh_store_prepare(dvh_putter *p, int64_t store_id, dvs_blob_writer *w, const char *study,
                                dvh_put_result *out)
{
    memset(out, 0, sizeof *out);
    dvs_instance_rec *rec = &p->rec;
    memset(rec, 0, sizeof *rec);
    dv_error err = {0};
    if (dvs_blob_finish(w, &err) != 0) {
        dvs_blob_abort(w);
        out->reason = DVH_FAIL_PROCESSING;
        return NULL;
    }
    rec->size = dvs_blob_size(w);
    /* Parsed from memory when the writer still holds the whole instance (up to 1 MiB, in small chunks), else
     * read back (only the window the reader needs: bulk values stay offsets). */
    dv_fd_source f;
    dv_mem_source m;
    const void *bytes = dvs_blob_bytes(w);
    dv_source src = bytes ? dv_source_memory(&m, bytes, (size_t)rec->size) : dv_source_fd(&f, dvs_blob_fd(w), rec->size);
    dv_instance *inst = dv_instance_read(&src, NULL, &err);
    unsigned reason = 0;
    if (inst == NULL || dv_instance_is_directory(inst)) {
        reason = DVH_FAIL_UNDERSTAND;
    } else {
        int a = dv_instance_get_string(inst, 0x0020000D, rec->study_uid, sizeof rec->study_uid);
        int b = dv_instance_get_string(inst, 0x0020000E, rec->series_uid, sizeof rec->series_uid);
        int c = dv_instance_get_string(inst, 0x00080018, rec->sop_uid, sizeof rec->sop_uid);
        int d = dv_instance_get_string(inst, 0x00080016, rec->sop_class_uid, sizeof rec->sop_class_uid);
        snprintf(rec->transfer_syntax, sizeof rec->transfer_syntax, "%s", dv_instance_transfer_syntax(inst));
        if (a <= 0 || b <= 0 || c <= 0 || d <= 0 || !dvh_uid_valid(rec->study_uid, (size_t)a) ||
            !dvh_uid_valid(rec->series_uid, (size_t)b) || !dvh_uid_valid(rec->sop_uid, (size_t)c) ||
            !dvh_uid_valid(rec->sop_class_uid, (size_t)d))
            reason = DVH_FAIL_UNDERSTAND;
        else if (study && study[0] && strcmp(study, rec->study_uid) != 0)
            reason = DVH_FAIL_MISMATCH;
        else if (dvs_blob_name(p->srv->naming_key, store_id, rec->sop_uid, rec->blob) != 0)
            reason = DVH_FAIL_PROCESSING;
        else
            extract_attrs(p, inst, rec);
    }
    dv_instance_free(inst);
    memcpy(out->study_uid, rec->study_uid, sizeof out->study_uid);
    memcpy(out->series_uid, rec->series_uid, sizeof out->series_uid);
    memcpy(out->sop_uid, rec->sop_uid, sizeof out->sop_uid);
    memcpy(out->sop_class_uid, rec->sop_class_uid, sizeof out->sop_class_uid);
    memcpy(out->blob, rec->blob, sizeof out->blob);
    if (reason) {
        dvs_blob_abort(w);
        out->reason = reason;
        return NULL;
    }
    /* The record and its values move out of the putter (reused by the next part). */
    dvh_prepared *pp = calloc(1, sizeof *pp);
    size_t total = 0;
    for (size_t i = 0; i < 64; i++)
        if (rec->attr[i])
            total += strlen(rec->attr[i]) + 1;
    if (pp)
        pp->vals = malloc(total ? total : 1);
    if (pp == NULL || pp->vals == NULL) {
        free(pp);
        dvs_blob_abort(w);
        out->reason = DVH_FAIL_PROCESSING;
        return NULL;
    }
    pp->rec = *rec;
    size_t at = 0;
    for (size_t i = 0; i < 64; i++)
        if (rec->attr[i]) {
            size_t n = strlen(rec->attr[i]) + 1;
            memcpy(pp->vals + at, rec->attr[i], n);
            pp->rec.attr[i] = pp->vals + at;
            at += n;
        }
    pp->w = w;
    pp->store_id = store_id;
    pp->out = out;
    dvs_blob_release(w); /* the parse is done: the write buffer is not needed any more */
    /* Start writing it to disk now, while the next instances arrive or compute: the group commit's syncfs then
     * waits for less (STOW, :import and the de-identify operations alike). A hint only: its failure changes
     * nothing, the syncfs or the fsync decides. */
    (void)sync_file_range(dvs_blob_fd(w), 0, 0, SYNC_FILE_RANGE_WRITE);
    return pp;
}

/* Name pp's file, its name claimed: 0 named (ours), 1 the name is an indexed instance's (a duplicate: left
 * alone), -1 failed. */
static int name_file(dvh_server *srv, dvh_prepared *pp, dv_error *err)
{
    int rc = dvs_blob_link(pp->w, pp->rec.blob, 0, err);
    if (rc != DVS_BLOB_TAKEN)
        return rc;
    uint64_t refs = 0;
    if (srv->ix->ops->blob_refs(srv->ix, pp->store_id, pp->rec.blob, &refs, err) != DVS_OK)
        return -1;
    if (refs)
        return 1;
    /* No row names it and nobody else can (the claim): a leftover of a failed batch or of a crash between link
     * and commit. Its bytes may be anything, so ours replace them. [test_server.py "instance names"] */
    return dvs_blob_link(pp->w, pp->rec.blob, 1, err);
}

/* Claims are taken in ascending name order (no two puts can wait for each other's); equal names end up side by
 * side. Names of different stores compare as names: a claim is a byte per name, whatever the store. */
static int by_name(const void *a, const void *b)
{
    const dvh_prepared *x = *(dvh_prepared *const *)a, *y = *(dvh_prepared *const *)b;
    int c = strcmp(x->rec.blob, y->rec.blob);
    return c ? c : (x->store_id > y->store_id) - (x->store_id < y->store_id);
}

static void fail_put(dvh_prepared *pp, unsigned reason)
{
    dvs_blob_abort(pp->w);
    pp->w = NULL;
    pp->out->reason = reason;
}

/* Phase 2: every prepared instance named, made durable and indexed in one group commit. Results go to each
 * pp's out; the pp stay the caller's (dvh_prepared_free), their writers are consumed. */
void dvh_store_commit(dvh_server *srv, dvh_prepared **pp, size_t n)
{
    dv_error err = {0};
    int64_t *ids = malloc(n * sizeof *ids);
    const dvs_instance_rec **recs = malloc(n * sizeof *recs);
    dvs_blob_writer **ws = malloc(n * sizeof *ws);
    char (*existing)[65] = malloc(n * sizeof *existing);
    int *rcs = malloc(n * sizeof *rcs);
    size_t *at = malloc(n * sizeof *at);
    dvh_prepared **order = malloc(n * sizeof *order);
    if (ids == NULL || recs == NULL || ws == NULL || existing == NULL || rcs == NULL || at == NULL ||
        order == NULL) {
        for (size_t i = 0; i < n; i++)
            fail_put(pp[i], DVH_FAIL_PROCESSING);
        goto out;
    }
    /* Name, index (and clean up) under the blob lock, shared with the other STOWs, so a concurrent DELETE
     * (exclusive) cannot unlink a file between its name and its row (server_internal.h), and with each name
     * claimed (see the top). The files are named before they are durable (dvs_blob_defer_sync): the group
     * commit (put_batch.c) makes every file of its round durable with one syncfs that covers the names too,
     * then commits the rows, so a row never names a file that is not durable, and a crash before leaves at
     * most a name no row holds, replaced by the next put (name_file). An operation's outputs come here
     * durable already (op_durable.c's syncfs; if that failed they are deferred as a STOW's files are). Durable
     * when this returns. */
    dvh_blob_lock_shared(srv);
    int claims = dvs_blob_claims_open(srv->data_fd, &err);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (pp[i]->w)
            order[m++] = pp[i];
    qsort(order, m, sizeof *order, by_name);
    size_t k = 0;
    for (size_t j = 0; j < m; j++) {
        dvh_prepared *q = order[j];
        /* The same instance twice in one request: the first is stored, the others are its duplicates. */
        if (j > 0 && by_name(&order[j - 1], &order[j]) == 0) {
            fail_put(q, DVH_FAIL_DUPLICATE);
            continue;
        }
        if (claims < 0 || dvs_blob_claim(claims, q->rec.blob, &err) != 0) {
            fail_put(q, DVH_FAIL_PROCESSING);
            continue;
        }
        dvs_blob_defer_sync(q->w);
        int c = name_file(srv, q, &err);
        if (c != 0) {
            if (c == 1)
                q->out->same_blob = dvs_blob_same(q->w, q->rec.blob);
            fail_put(q, c == 1 ? DVH_FAIL_DUPLICATE : DVH_FAIL_PROCESSING);
            continue;
        }
        ids[k] = q->store_id;
        recs[k] = &q->rec;
        ws[k] = q->w;
        at[k++] = j;
    }
    if (k)
        dvh_batch_put_many(srv, k, ids, recs, ws, existing, rcs);
    for (size_t j = 0; j < k; j++) {
        dvh_prepared *q = order[at[j]];
        int rc = rcs[j];
        if (rc != DVS_OK) {
            q->out->reason = rc == DVS_EXISTS ? DVH_FAIL_DUPLICATE : DVH_FAIL_PROCESSING;
            /* A row of this SOPInstanceUID under another name: a file named by the rule before this one (the
             * SHA-256 of its bytes). Ours is garbage, unless (never, short of a hash collision) a row names it.
             * Any other failure: the file we named is removed too when no row names it. The store may have
             * been deleted since the request resolved it (its row gone, its directory made again by our
             * writer): the next put of the instance would never come, and the file holds patient data.
             * [test_server_names.py "store deleted during STOWs"] */
            uint64_t refs = 1;
            int ours_unindexed = rc != DVS_EXISTS || strcmp(existing[j], q->rec.blob) != 0;
            if (rc == DVS_EXISTS && ours_unindexed)
                q->out->same_blob = dvs_blob_same(q->w, existing[j]);
            if (ours_unindexed &&
                srv->ix->ops->blob_refs(srv->ix, q->store_id, q->rec.blob, &refs, &err) == DVS_OK && refs == 0) {
                dvs_blob_remove(srv->data_fd, q->store_id, q->rec.blob);
                if (rc != DVS_EXISTS)
                    dvs_store_dir_remove_if_empty(srv->data_fd, q->store_id);
            }
        }
        dvs_blob_abort(q->w); /* named (or removed): only the writer goes */
        q->w = NULL;
    }
    if (claims >= 0)
        close(claims); /* the claims go once the rows are committed */
    dvh_blob_unlock_shared(srv);
out:
    free(ids);
    free(recs);
    free(ws);
    free(existing);
    free(rcs);
    free(at);
    free(order);
}

void dvh_store_put(dvh_putter *p, int64_t store_id, dvs_blob_writer *w, const char *study, dvh_put_result *out)
{
    dvh_prepared *pp = dvh_store_prepare(p, store_id, w, study, out);
    if (pp == NULL)
        return;
    dvh_store_commit(p->srv, &pp, 1);
    dvh_prepared_free(pp);
}
