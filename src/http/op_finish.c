/* The end of an operation: the last job of an operation to end writes its result (a response when every
 * item is finished, even when some failed; CANCELLED when a cancel was asked) or leaves it unfinished as a
 * checkpoint (shutdown, an index failure: it resumes at the next start with only its pending items), then
 * frees the op_ctx. Why a file: the reference count, the result JSON and the server log of an operation's
 * life are one decision, taken in one place. [test_server_ops.py "kill -9"] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/op_internal.h"

void dvh_op_log(dvh_ops *o, const char *event, int64_t id)
{
    dvh_logf(o->srv, "{\"event\":\"%s\",\"operation\":%lld}\n", event, (long long)id);
}

void dvh_op_log_warnings(dvh_ops *o, const dv_plan *plan, int64_t id)
{
    dvh_server *s = o->srv;
    for (size_t i = 0; s->cfg.log != NULL && i < dv_plan_warning_count(plan); i++) {
        json_t *line = json_pack("{s:s, s:I, s:s?}", "event", "config warning", "operation", (json_int_t)id,
                                 "warning", dv_plan_warning(plan, i));
        char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
        json_decref(line);
        if (text)
            dvh_logf(s, "%s\n", text);
        free(text);
    }
}

/* ---- the life of an dvh_op_ctx ---- */

void dvh_op_ctx_free(dvh_op_ctx *c)
{
    dv_run_free(c->run);
    dv_key_free(c->key);
    dv_plan_free(c->plan);
    json_decref(c->filter);
    free(c->result);
    free(c->pairs);
    free(c->folder);
    free(c);
}

void dvh_op_unregister(dvh_op_ctx *c)
{
    dvh_ops *o = c->ops;
    pthread_mutex_lock(&o->mu);
    for (dvh_op_ctx **p = &o->running; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    pthread_mutex_unlock(&o->mu);
}

static void finish(dvh_op_ctx *c, const char *result_json)
{
    dvs_index *ix = c->ops->srv->ix;
    dv_error err = {0};
    if (ix->ops->op_finish(ix, c->id, result_json, &err) < 0)
        dvh_op_log(c->ops, "operation not finished: index failure", c->id);
    else
        dvh_op_log(c->ops, "operation finished", c->id);
}

void dvh_op_finish_error(dvh_op_ctx *c, int code, const char *status, const char *message)
{
    json_t *r = json_pack("{s:{s:i, s:s, s:s}}", "error", "code", code, "status", status, "message", message);
    char *t = r ? json_dumps(r, JSON_COMPACT) : NULL;
    json_decref(r);
    finish(c, t ? t : "{\"error\":{\"code\":13,\"message\":\"out of memory\"}}");
    free(t);
}

static const char *response_type(dvh_op_kind k, int dataset_level)
{
    switch (k) {
    case DVH_OP_DEIDENTIFY:
        return dataset_level ? "type.googleapis.com/google.cloud.healthcare.v1beta1.deidentify.DeidentifySummary"
                             : "type.googleapis.com/google.cloud.healthcare.v1beta1.deidentify.DeidentifyDicomStoreSummary";
    case DVH_OP_IMPORT: return "type.googleapis.com/google.cloud.healthcare.v1beta1.dicom.ImportDicomDataResponse";
    case DVH_OP_EXPORT: return "type.googleapis.com/google.cloud.healthcare.v1beta1.dicom.ExportDicomDataResponse";
    case DVH_OP_RECORDED: break; /* its result is the recorded one (finalise) */
    }
    return "";
}

/* An export ending (cancelled: pending set; completed): its unfinished temporary copies go (dvh_op_export_sweep),
 * before its result is recorded, so a kill during the sweep leaves it to the resumed operation's end. */
static void export_sweep(dvh_op_ctx *c, int pending)
{
    if (c->kind != DVH_OP_EXPORT)
        return;
    int broken = 0;
    size_t swept = dvh_op_export_sweep(c, pending, &broken);
    if (swept)
        dvh_logf(c->ops->srv, "{\"event\":\"unfinished export copies removed\",\"operation\":%lld,\"files\":%zu}\n",
                 (long long)c->id, swept);
    if (broken)
        dvh_op_log(c->ops, "unfinished export copies not all looked for: folder or index unreadable", c->id);
}

/* The last job of an operation ended. */
static void finalise(dvh_op_ctx *c)
{
    dvh_ops *o = c->ops;
    dvh_op_timing_log(c);
    if (atomic_load(&c->cancel)) {
        export_sweep(c, 1);
        dvh_op_finish_error(c, 1, "CANCELLED", "Operation cancelled: instances already stored stay, the rest stays pending");
    } else if (atomic_load(&c->incomplete)) {
        dvh_op_log(o, atomic_load(&o->stopping) ? "operation checkpointed" : "operation interrupted", c->id);
    } else if (c->kind == DVH_OP_RECORDED) {
        finish(c, c->result);
    } else {
        /* Every item finished: a response, even when some failed (the API: "the LRO result may still be
         * successful if de-identification fails for some resources"; the counts are in the counter). */
        dvs_operation op;
        dv_error err = {0};
        int dataset_level = 0;
        if (o->srv->ix->ops->op_get(o->srv->ix, 0, c->id, &op, &err) == DVS_OK) {
            dataset_level = strstr(op.api_method, "DeidentifyDataset") != NULL;
            dvs_operation_clear(&op);
        }
        export_sweep(c, 0);
        char *t = dvh_operation_response(response_type(c->kind, dataset_level), NULL);
        if (t)
            finish(c, t);
        free(t);
    }
    dvh_op_unregister(c);
    dvh_op_ctx_free(c);
}

void dvh_op_release(dvh_op_ctx *c)
{
    if (atomic_fetch_sub(&c->refs, 1) == 1)
        finalise(c);
}

int dvh_op_run_cancelled(void *user)
{
    dvh_op_ctx *c = user;
    return atomic_load(&c->cancel) || atomic_load(&c->ops->stopping);
}
