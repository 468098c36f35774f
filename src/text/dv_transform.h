/* TextConfig's transformations (internal): what happens to a finding of each infoType, and the functions that
 * rewrite one element value (UTF-8) so that the result stays valid for its VR.
 *
 * The config parser fills a dv_text_config (fixed size: no ownership to track); dv_text_resolve turns it into
 * one transformation per infoType (gcp-api.md 6.1's resolution order, decided once per plan, O(1) per finding);
 * dv_text_transform_value rewrites one element's text. Per-instance inputs (the date shift, the run's key) come
 * in a dv_text_instance the caller fills (dateshift.c). Nothing here logs or keeps a value. (issue 6 item 3;
 * docs/text.md) */
#ifndef DV_TRANSFORM_H
#define DV_TRANSFORM_H

#include <stddef.h>
#include <stdint.h>

#include "dicomveil/dv_error.h"
#include "text/dv_text.h"

typedef enum dv_xform_kind {
    DV_XF_NONE = 0,        /* finding left untouched (excluded, or the EMPTY profile) */
    DV_XF_REPLACE_INFOTYPE, /* replaceWithInfoTypeConfig: "[PERSON_NAME]" */
    DV_XF_REDACT,          /* redactConfig: erased */
    DV_XF_MASK,            /* characterMaskConfig: one mask character per code point */
    DV_XF_DATE_SHIFT,      /* dateShiftConfig (DECISIONS 12) */
    DV_XF_CRYPTO_HASH      /* cryptoHashConfig (DECISIONS 13) */
} dv_xform_kind;

#define DV_TEXT_KEY_MAX 32 /* cryptoKey: AES 128/192/256 bits (gcp-api.md 6.2) */

typedef struct dv_xform {
    dv_xform_kind kind;
    char mask[5];            /* DV_XF_MASK: the UTF-8 of the one masking character (default "*") */
    uint8_t mask_len;
    uint8_t key_len;         /* DATE_SHIFT / CRYPTO_HASH: 16, 24 or 32 = own cryptoKey; 0 = the run's key */
    uint8_t key[DV_TEXT_KEY_MAX];
} dv_xform;

/* One InfoTypeTransformation: the infoTypes it lists (0 = none listed: the default transformation). */
typedef struct dv_text_xform_cfg {
    dv_infotype_set types;
    dv_xform xf;
} dv_text_xform_cfg;

typedef enum dv_text_profile {
    DV_TEXT_PROFILE_UNSPECIFIED = 0, /* = BASIC */
    DV_TEXT_PROFILE_EMPTY,
    DV_TEXT_PROFILE_BASIC
} dv_text_profile;

#define DV_TEXT_MAX_XFORMS 64 /* transformations in one TextConfig (more is a config error) */

/* TextConfig, parsed. additionalTransformations first, then the deprecated `transformations` (docs/text.md). */
typedef struct dv_text_config {
    dv_text_profile profile;
    dv_infotype_set exclude;
    size_t nxf;
    dv_text_xform_cfg xf[DV_TEXT_MAX_XFORMS];
} dv_text_config;

/* The transformation of every infoType (gcp-api.md 6.1): excluded -> NONE; else the first transformation that
 * lists it; else the first one that lists none (the default); else the profile (BASIC / unspecified: DATE ->
 * date shift with the run's key, every other infoType -> [INFO_TYPE]; EMPTY -> NONE). [test_text_transform:
 * test_resolution_order] */
void dv_text_resolve(const dv_text_config *tc, dv_xform out[DV_IT_COUNT]);

/* Per-instance inputs of the transformations. */
typedef struct dv_text_instance {
    const uint8_t *run_key;  /* the run's key bytes (DECISIONS 7) */
    size_t run_key_len;
    const char *patient_id;  /* original PatientID (trimmed), or NULL/empty: then study_uid keys the shift */
    size_t patient_id_len;
    const char *study_uid;
    size_t study_uid_len;
    /* The shift with the run's key for this instance, when the caller computed it once (dv_text_shift_days
     * with a transformation that has no key of its own); 0 = not computed: each use computes it (one HMAC,
     * ~60k instructions with OpenSSL 3's EVP_Q_mac: per DA value that was a third of the text stage on the
     * CT benchmark, bench/RESULTS.md "Text"). */
    int run_shift_days;
    /* The value being transformed is markup (an XML or HTML document, text_stage.c clean_document): a masking
     * character that is markup itself (< > & " ') is written as its character reference, so the document stays
     * well-formed. */
    int markup;
} dv_text_instance;
/* The date shift in days x applies for this instance (its own cryptoKey, else the run's key). 0 on failure. */
int dv_text_shift_days(const dv_xform *x, const dv_text_instance *ti);

/* --- dateshift.c --- */
/* The date shift in days (DECISIONS 12): a whole number in [-100,-1] U [1,100] from HMAC-SHA256(key,
 * "dicomveil date shift" NUL id), id = PatientID, or StudyInstanceUID when PatientID is empty. The label keeps
 * the shift independent of the UID regeneration HMAC (a published new StudyInstanceUID must not reveal the
 * shift). Returns 0 on failure (never a valid shift). [test_text_transform: test_date_shift_range] */
int dv_date_shift_days(const uint8_t *key, size_t key_len, const char *id, size_t id_len);
/* Shift one DA value (YYYYMMDD) by days into out[8]: 0, or -1 when it is not a valid date. */
int dv_shift_da(const char *in, size_t len, int days, char out[8]);
/* Shift a date written in free text (e.g. 2020-03-05, 03/05/2020, 5 March 2020, Mar 5, 2020, 05.03.20,
 * 2020年3月5日, 2020년 3월 5일, and any of them in full-width characters: ２０２０／０３／０５), writing it back in the
 * same format and width into out (cap >= 3 * (len + 8)). Returns the length, or -1 when it is not a date. */
int dv_shift_written_date(const char *in, size_t len, int days, char *out, size_t cap);

/* --- cryptohash.c --- */
/* base64 of HMAC-SHA256(key, msg): 44 characters + NUL. 0 or -1. */
int dv_crypto_hash_b64(const uint8_t *key, size_t key_len, const char *msg, size_t len, char out[45]);
/* Decode standard base64 (padding optional) of a 16-, 24- or 32-byte key. Returns the length or -1. */
int dv_key_from_base64(const char *b64, size_t len, uint8_t out[DV_TEXT_KEY_MAX]);

/* --- transform.c --- */
/* The VRs text cleaning applies to (cleanTextTag, DEIDENTIFY_TAG_CONTENTS): AE LO LT PN SH ST UC UT DA DT AS
 * (issue 6; gcp-api.md 3.3). The list's home is the VR table (dv_vr.h dv_vr_cleans_text). */
int dv_clean_text_vr(uint16_t vr);
/* The most characters (code points) one value of vr may hold (PS3.5 Table 6.2-1; PN per component group),
 * 0 = no limit that matters here (UC, UT, UR). */
size_t dv_vr_max_chars(uint16_t vr);

/* A growable output buffer (caller frees v). */
typedef struct dv_strbuf {
    char *v;
    size_t n, cap;
} dv_strbuf;
void dv_strbuf_free(dv_strbuf *b);

/* Rewrite one element's text (UTF-8, as decoded; padding included or not) given its findings (byte spans into
 * utf8, sorted and disjoint: dv_findings_normalise). Multi-valued VRs are handled value by value (`\`), PN
 * keeps its `^` and `=`, each value is cut to the VR's length limit. DA/DT/AS values are whole values of
 * DATE/DATE/AGE whatever the findings say: shifted (DA, the date part of DT), kept (NONE) or emptied (every
 * other transformation, and a date that does not parse): never left unshifted nor made invalid.
 * out is reset first. *changed = 1 when the text differs from the input. 0, or -1 (DV_ERR_NOMEM, DV_ERR_LIMIT
 * when the result would exceed DV_TEXT_OUT_MAX). [test_text_transform] */
#define DV_TEXT_OUT_MAX (64u << 20)
int dv_text_transform_value(const dv_xform table[DV_IT_COUNT], const dv_text_instance *ti, uint16_t vr,
                            const char *utf8, size_t len, const dv_finding *f, size_t nf, dv_strbuf *out,
                            int *changed, dv_error *err);

#endif
