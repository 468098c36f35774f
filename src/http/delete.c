/* DICOMweb DELETE of a study, series or instance (the discovery document's DeleteStudy, DeleteSeries,
 * DeleteInstance): the index rows go in one transaction (dvs_index_ops.instances_delete), then each file no
 * other row references is removed. Both steps run under the server's blob_mu, which a STOW also holds while
 * it names a file and indexes it: so a STOW of the same bytes racing a DELETE ends with row and file both
 * there or both gone, never a row without its file (docs/decisions.md "DICOMweb DELETE").
 *
 * Answers as the discovery document says: DeleteInstance returns Empty ({}); DeleteStudy and DeleteSeries
 * return an Operation, here already done (the delete is synchronous) with counter.success the number of
 * instances removed. Nothing matches: 404. [integration.test_server_web: test_delete] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "http/server_internal.h"

typedef struct removed {
    dvs_blob_ref *v;
    size_t n, cap;
} removed;

static int collect(const dvs_blob_ref *r, void *user)
{
    removed *rm = user;
    if (rm->n == rm->cap) {
        size_t cap = rm->cap ? rm->cap * 2 : 16;
        dvs_blob_ref *v = realloc(rm->v, cap * sizeof *v);
        if (v == NULL)
            return 1;
        rm->v = v;
        rm->cap = cap;
    }
    rm->v[rm->n++] = *r;
    return 0;
}

/* The done Operation of a DeleteStudy / DeleteSeries. Its name is not kept: operations.get does not know it
 * (the operations store is issue 7 item 5's). */
static json_t *done_operation(dvh_request *rq, const char *method, size_t count, const char *start)
{
    char name[1400], ds[1200], now[32], id[32], n[24];
    unsigned char rnd[8];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return NULL;
    snprintf(id, sizeof id, "%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5],
             rnd[6], rnd[7]);
    dvh_dataset_name(&rq->route, ds, sizeof ds);
    snprintf(name, sizeof name, "%s/operations/%s", ds, id);
    snprintf(n, sizeof n, "%zu", count);
    dvh_now(now);
    return json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:{s:s}}, s:b, s:{s:s}}", "name", name, "metadata", "@type",
                     "type.googleapis.com/google.cloud.healthcare.v1beta1.OperationMetadata", "apiMethodName",
                     method, "createTime", start, "endTime", now, "counter", "success", n, "done", 1, "response",
                     "@type", "type.googleapis.com/google.protobuf.Empty");
}

int dvh_handle_delete(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e)
{
    dvh_server *s = rq->srv;
    const dvh_web *w = &rq->route.web;
    char start[32];
    dvh_now(start);
    removed rm = {0};
    dv_error err = {0};
    dvh_blob_lock(s);
    int rc = s->ix->ops->instances_delete(s->ix, rq->store.id, w->study, w->series, w->instance, collect, &rm, &err);
    if (rc == DVS_OK) {
        for (size_t i = 0; i < rm.n; i++) {
            uint64_t refs = 1;
            /* A file another row still names stays; a failed count keeps the file (an orphan, never a hole). */
            if (s->ix->ops->blob_refs(s->ix, rq->store.id, rm.v[i].blob, &refs, &err) == DVS_OK && refs == 0)
                dvs_blob_remove(s->data_fd, rq->store.id, rm.v[i].blob);
        }
    }
    dvh_blob_unlock(s);
    size_t count = rm.n;
    free(rm.v);
    const char *what = w->instance[0] ? "instance" : w->series[0] ? "series" : "study";
    if (rc == DVS_NOT_FOUND)
        return dvh_fail(e, DVH_NOT_FOUND, "%s not found", what);
    if (rc != DVS_OK)
        return dvh_fail(e, DVH_INTERNAL, "delete failed: %s", err.message[0] ? err.message : "out of memory");
    *status = 200;
    if (w->instance[0]) {
        *resp = dvh_response_json(json_object());
    } else {
        const char *method = w->series[0] ? "google.cloud.healthcare.v1beta1.dicomweb.DicomWebService.DeleteSeries"
                                          : "google.cloud.healthcare.v1beta1.dicomweb.DicomWebService.DeleteStudy";
        *resp = dvh_response_json(done_operation(rq, method, count, start));
    }
    return *resp ? 0 : dvh_fail(e, DVH_INTERNAL, "out of memory");
}
