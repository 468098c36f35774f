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

/* The largest config text dv_plan_from_json accepts (1 MiB): the one home of this cap, which the CLI uses
 * to bound its read of --config too. */
#define DV_CONFIG_MAX_BYTES ((size_t)1 << 20)

/* Parse, validate and compile a DeidentifyConfig JSON (the `config` object, or a whole request body with a
 * `config` key). Returns NULL with err->code = DV_ERR_CONFIG and a message naming the JSON path. */
dv_plan *dv_plan_from_json(const char *json, size_t len, dv_error *err);
/* dv_plan_from_json's flag for a config that is not the caller's own text (the server's gcsConfigUri reads any
 * file under an allowed root): no message quotes a value or a key the schema does not know; an unknown key is
 * named by its position (`config.<key 1>: unknown field`). */
#define DV_CONFIG_VALUE_FREE 1u
dv_plan *dv_plan_from_json_flags(const char *json, size_t len, unsigned flags, dv_error *err);
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

/* Why an input was skipped (not a failure): see dv_run_instance. */
typedef enum dv_skip {
    DV_SKIP_NONE = 0,
    DV_SKIP_NOT_DICOM, /* the input is not DICOM at all */
    DV_SKIP_DIRECTORY  /* a Media Storage Directory (DICOMDIR): an index of other files, not an instance */
} dv_skip;
/* "not_dicom", "directory" (report names); NULL for DV_SKIP_NONE. */
const char *dv_skip_name(dv_skip s);

#define DV_RESULT_TEXT_TYPES 32 /* room for every infoType dicomveil detects */
#define DV_PATIENT_ID_MAX 256 /* PatientID is LO (64 characters); 256 bytes hold it in any character set */
#define DV_CHARSET_VALUE_MAX 160 /* (0008,0005): 8 defined terms of at most 16 characters and their backslashes */

/* What de-identifying one instance produced. Extensible (issue 5 item 7) like dv_limits: initialise with
 * dv_result_init before passing it to any function; fields appended later keep their zero value for callers
 * compiled with an older layout. */
typedef struct dv_result {
    uint32_t struct_size;            /* set by dv_result_init */
    char study_uid[DV_UID_MAX + 1];  /* output StudyInstanceUID ("" when absent) */
    char series_uid[DV_UID_MAX + 1]; /* output SeriesInstanceUID ("" when absent) */
    char sop_uid[DV_UID_MAX + 1];    /* output SOPInstanceUID ("" when absent) */
    int changed;                     /* 1 when de-identification changed anything */
    dv_skip skipped;                 /* dv_run_instance: why the input was skipped */
    /* Re-identification crosswalk (issue 5 item 13). THESE ARE PHI: never log them. Filled by dv_run_instance
     * only when the run asked for them (dv_run_want_identifiers), else empty; has_identifiers says which. */
    int has_identifiers;
    char orig_study_uid[DV_UID_MAX + 1];  /* input StudyInstanceUID ("" when absent or not a readable UID) */
    char orig_series_uid[DV_UID_MAX + 1]; /* input SeriesInstanceUID */
    char orig_sop_uid[DV_UID_MAX + 1];    /* input SOPInstanceUID */
    /* PatientID before and after: patient_id_changed is 1 when the output's PatientID differs from the
     * input's (replaced, emptied or deleted), 0 when it is unchanged (then both fields stay ""), -1 when the
     * input's could not be read as a short string (bulk or longer than DV_PATIENT_ID_MAX). */
    int patient_id_changed;
    char orig_patient_id[DV_PATIENT_ID_MAX + 1];
    char patient_id[DV_PATIENT_ID_MAX + 1];
    /* Text stage (issue 6): how many findings were transformed in this instance, by infoType (index = the
     * infoType's number, named by the CLI report). Counts only: never a value. */
    uint32_t text_findings[DV_RESULT_TEXT_TYPES];
    /* Pixel stage (issue 11), appended: pixel_stage_ran is 1 when burned-in text redaction ran on this
     * instance; then frames examined, boxes painted (all frames), and the output transfer syntax. Counts
     * only: never recognised text. pixel_nested_kept counts PixelData elements nested in sequences (icon
     * images) that were kept, as the API says cleanImageTag does not apply inside sequences. */
    int pixel_stage_ran;
    uint32_t pixel_frames;
    uint32_t pixel_boxes;
    uint32_t pixel_nested_kept;
    char pixel_transfer_syntax[DV_UID_MAX + 1];
    /* Appended: 1 when the input declares BurnedInAnnotation (0028,0301) YES at its top level (read before the
     * plan ran). With pixel_stage_ran 0 the instance was written with whatever text its pixels show: the CLI
     * report and its summary say so (docs/decisions.md "Declared burned-in annotation is reported"). */
    int burned_in_declared;
    /* Appended with the crosswalk's identifiers (has_identifiers): the input's and the output's top-level
     * SpecificCharacterSet (0008,0005) as stored ("" when absent: the default repertoire, or when longer than
     * DV_CHARSET_VALUE_MAX), the sets orig_patient_id and patient_id are in, so a caller can decode them (the
     * CLI's --mapping writes them as UTF-8). */
    char orig_charset[DV_CHARSET_VALUE_MAX + 1];
    char charset[DV_CHARSET_VALUE_MAX + 1];
} dv_result;

void dv_result_init_sized(dv_result *res, size_t struct_size);
static inline void dv_result_init(dv_result *res)
{
    dv_result_init_sized(res, sizeof *res);
}

/* Apply the plan to one parsed instance, in place, for a caller that writes it with dv_instance_write: the
 * plan's actions and text cleaning, then what the pixel data carries besides pixels (codestream comments and
 * thumbnails, bytes past the last frame, overlay planes embedded in pixels whose overlay the plan removed), as
 * dv_deidentify does. It decodes no pixels: a plan that would redact burned-in text in this instance's pixels
 * fails with DV_ERR_UNSUPPORTED before the instance changes (use dv_deidentify or dv_run_instance). Fills res
 * (may be NULL; else initialised with dv_result_init) with the output UIDs. Returns 0 or -1 with err; after a
 * failure past the refusal the instance is partly changed and must not be written. */
int dv_apply(const dv_plan *plan, const dv_key *key, dv_instance *inst, dv_result *res, dv_error *err);

/* One instance to one fixed sink: the same orchestration as dv_run_instance (dv_run.h), outside any run.
 * Returns 0, or -1 with err: also for an input that dv_run_instance would skip (DV_ERR_NOT_DICOM for
 * non-DICOM, DV_ERR_UNSUPPORTED for a DICOMDIR; res->skipped says which). What reached the sink on failure is
 * the caller's to discard. */
int dv_deidentify(const dv_plan *plan, const dv_key *key, const dv_source *src, dv_sink *sink,
                  const dv_limits *lim, dv_result *res, dv_error *err);

#ifdef __cplusplus
}
#endif
#endif
