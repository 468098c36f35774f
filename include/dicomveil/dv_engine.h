/* dicomveil: the de-identification engine. A plan is compiled once from the Healthcare API config and is
 * immutable and thread-safe afterwards; a key is immutable; all per-instance state lives in the dv_instance,
 * so any number of workers (threads, processes, MPI ranks) can share one plan and one key. */
#ifndef DICOMVEIL_DV_ENGINE_H
#define DICOMVEIL_DV_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include "dv_error.h"
#include "dv_instance.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dv_plan dv_plan;
typedef struct dv_key dv_key;

/* Parse, validate and compile a DeidentifyConfig JSON (the `config` object, or a whole request body with a
 * `config` key). Returns NULL with err->code = DV_ERR_CONFIG and a message naming the JSON path. */
dv_plan *dv_plan_from_json(const char *json, size_t len, dv_error *err);
void dv_plan_free(dv_plan *plan);
/* Human-readable one-line summary of the plan (no secrets). */
const char *dv_plan_summary(const dv_plan *plan);
/* Warnings from compiling the config: parts accepted without effect (e.g. the FHIR-only fields). Each names
 * a JSON path, never a value. dv_plan_warning returns NULL when i >= dv_plan_warning_count. The strings are
 * owned by the plan. */
size_t dv_plan_warning_count(const dv_plan *plan);
const char *dv_plan_warning(const dv_plan *plan, size_t i);

#define DV_KEY_MIN_BYTES 16
#define DV_KEY_MAX_BYTES 1024
/* The secret that drives UID regeneration (HMAC-SHA256). Copies the bytes. */
dv_key *dv_key_new(const void *bytes, size_t len, dv_error *err);
void dv_key_free(dv_key *key);

#define DV_UID_MAX 64
/* Regenerate one UID: "2.25." + decimal of the first 128 bits of HMAC-SHA256(key, uid).
 * UIDs under the registry root 1.2.840.10008. are returned unchanged. out must hold DV_UID_MAX + 1.
 * Returns the length written. */
size_t dv_uid_regenerate(const dv_key *key, const char *uid, size_t uid_len, char out[DV_UID_MAX + 1]);

typedef struct dv_result {
    char study_uid[DV_UID_MAX + 1];  /* output StudyInstanceUID ("" when absent) */
    char series_uid[DV_UID_MAX + 1]; /* output SeriesInstanceUID ("" when absent) */
    char sop_uid[DV_UID_MAX + 1];    /* output SOPInstanceUID ("" when absent) */
    int changed;                     /* 1 when de-identification changed anything */
} dv_result;

/* Apply the plan to one parsed instance, in place. Fills res (may be NULL). Returns 0 or -1 with err. */
int dv_apply(const dv_plan *plan, const dv_key *key, dv_instance *inst, dv_result *res, dv_error *err);

/* Convenience: read src, apply, write to sink. */
int dv_deidentify(const dv_plan *plan, const dv_key *key, const dv_source *src, dv_sink *sink,
                  const dv_limits *lim, dv_result *res, dv_error *err);

#ifdef __cplusplus
}
#endif
#endif
