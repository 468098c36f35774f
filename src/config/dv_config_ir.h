/* The parsed, validated DeidentifyConfig before compilation (internal). config_json.c builds it from the
 * Healthcare API JSON (dicomTagConfig, or legacy `dicom` mapped per DECISIONS.md 10); plan.c compiles it. */
#ifndef DV_CONFIG_IR_H
#define DV_CONFIG_IR_H

#include <stddef.h>
#include <stdint.h>
#include "dicomveil/dv_error.h"
#include "text/dv_transform.h"

typedef enum dv_profile_type {
    DV_PROFILE_BASIC = 0,              /* ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE (and PROFILE_TYPE_UNSPECIFIED) */
    DV_PROFILE_KEEP_ALL,               /* KEEP_ALL_PROFILE */
    DV_PROFILE_MINIMAL_KEEP_LIST,      /* MINIMAL_KEEP_LIST_PROFILE */
    DV_PROFILE_DEIDENTIFY_TAG_CONTENTS /* refused until text inspection lands */
} dv_profile_type;

typedef enum dv_primary_ids {
    DV_PRIMARY_UNSPECIFIED = 0,        /* = REGEN under every profile (DECISIONS 8) */
    DV_PRIMARY_KEEP,
    DV_PRIMARY_REGEN
} dv_primary_ids;

typedef enum dv_action_kind {
    DV_ACTION_KEEP = 1,
    DV_ACTION_REMOVE,       /* empty value, element kept */
    DV_ACTION_DELETE,       /* element removed */
    DV_ACTION_RESET,        /* VR-valid placeholder */
    DV_ACTION_REGEN_UID,    /* VR UI only */
    DV_ACTION_RECURSE,      /* VR SQ only */
    DV_ACTION_CLEAN_TEXT,   /* text cleaning (issue 6: src/engine/text_stage.c) */
    DV_ACTION_CLEAN_IMAGE   /* PixelData only; the pixel stage (src/engine/pixel_stage.c) carries it out */
} dv_action_kind;

typedef enum dv_query_kind { DV_QUERY_TAG = 1, DV_QUERY_VR } dv_query_kind;

typedef struct dv_query {
    dv_query_kind kind;
    uint32_t tag;   /* DV_QUERY_TAG */
    uint32_t mask;  /* 0xFFFFFFFF, or a repeating-group mask (legacy OverlayData = (60xx,3000)) */
    uint16_t vr;    /* DV_QUERY_VR */
} dv_query;

/* ImageConfig.textRedactionMode (gcp-api.md 5). */
typedef enum dv_text_redaction_mode {
    DV_TEXT_REDACTION_UNSPECIFIED = 0, /* "Same as REDACT_NO_TEXT" (but additionalInfoTypes may be given) */
    DV_REDACT_ALL_TEXT,
    DV_REDACT_SENSITIVE_TEXT,
    DV_REDACT_NO_TEXT,
    DV_REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS
} dv_text_redaction_mode;

/* ImageConfig: cleanImageTag's body, options.cleanImage and the deprecated top-level `image`. Validated per
 * gcp-api.md 10 when parsed. The infoType names are owned (malloc'd, NUL-terminated; freed by
 * dv_image_config_clear). */
typedef struct dv_image_config {
    dv_text_redaction_mode mode;
    char **additional_info_types;
    size_t nadditional;
    char **exclude_info_types;
    size_t nexclude;
} dv_image_config;

/* True when the ImageConfig asks for no pixel redaction at all (REDACT_NO_TEXT, or UNSPECIFIED without
 * additionalInfoTypes): the pixel stage does not run (nothing is decoded). */
int dv_image_config_is_noop(const dv_image_config *ic);
/* True when carrying it out needs the text READ (OCR): the sensitive modes, and UNSPECIFIED with
 * additionalInfoTypes. REDACT_ALL_TEXT needs only text-region detection. */
int dv_image_config_needs_ocr(const dv_image_config *ic);
/* Deep copy (dst is overwritten; on failure dst is left cleared). Returns 0 or -1 (out of memory). */
int dv_image_config_copy(dv_image_config *dst, const dv_image_config *src);
void dv_image_config_clear(dv_image_config *ic);

/* Parameters of one action. Only the member of the action's kind is meaningful; the others stay zeroed.
 * cleanTextTag's body is `{}` in the API today (its behaviour comes from the global TextConfig), so its member
 * is an empty placeholder where per-action text parameters will go without changing the plan's shape. */
typedef struct dv_clean_text_params {
    int reserved; /* always 0 */
} dv_clean_text_params;

typedef struct dv_action_params {
    dv_image_config image;     /* DV_ACTION_CLEAN_IMAGE */
    dv_clean_text_params text; /* DV_ACTION_CLEAN_TEXT */
} dv_action_params;

int dv_action_params_copy(dv_action_params *dst, const dv_action_params *src);
void dv_action_params_clear(dv_action_params *p);

typedef struct dv_config_action {
    dv_action_kind kind;
    dv_query *queries;
    size_t nqueries;
    dv_action_params params;
} dv_config_action;

/* Warnings are fixed texts naming JSON paths (never values); at most DV_CONFIG_MAX_WARNINGS are kept. */
#define DV_CONFIG_MAX_WARNINGS 16
#define DV_CONFIG_WARNING_MAX 200

typedef struct dv_config {
    dv_profile_type profile;
    dv_primary_ids primary_ids;
    int legacy;              /* came from the deprecated `dicom` (DicomConfig) object */
    char profile_name[48];   /* the enum name as given (or implied), for DeidentificationMethod */
    dv_config_action *actions;
    size_t nactions;

    /* Parsed and validated, but not built yet (dv_config_first_unbuilt refuses them). */
    int clean_descriptors;        /* options.cleanDescriptors present */
    int has_clean_image;          /* options.cleanImage present */
    dv_image_config clean_image;  /* options.cleanImage */
    int has_image;                /* top-level `image` (deprecated) present */
    dv_image_config image;        /* top-level `image` */
    int has_text;                 /* top-level `text` (TextConfig) present */
    dv_text_config text;          /* top-level `text`, parsed (zero = unspecified profile = BASIC) */

    /* Accepted without effect, with a warning (e.g. the FHIR-only fields). */
    char warnings[DV_CONFIG_MAX_WARNINGS][DV_CONFIG_WARNING_MAX];
    size_t nwarnings;
} dv_config;

/* Parse and validate. Accepts the DeidentifyConfig object or a request body with a `config` key.
 * The whole config is validated first (a malformed part is reported at its JSON path even when the part is
 * not built yet); then everything not implemented yet (cleanImageTag or options.cleanImage or top-level image
 * asking for redaction, gcsConfigUri ...) is refused with DV_ERR_CONFIG and a message naming its JSON path (the first in a fixed
 * order, then the others). The FHIR-only fields (fhir, fhirFieldConfig, operationMetadata) are accepted with
 * a warning in cfg->warnings. Returns 0, or -1 with err set (cfg is left cleared). */
int dv_config_parse(const char *json, size_t len, dv_config *cfg, dv_error *err);
/* dv_config_parse with flags: DV_CONFIG_VALUE_FREE (dicomveil/dv_engine.h) or 0. */
int dv_config_parse_flags(const char *json, size_t len, unsigned flags, dv_config *cfg, dv_error *err);
void dv_config_clear(dv_config *cfg);
/* dv_config_parse without the refusal of unbuilt parts: the whole config parsed and validated into cfg (for
 * tests and tools that must read a config whose image part is not built yet). Returns 0, or -1 with err set (cfg is left cleared). */
int dv_config_parse_all(const char *json, size_t len, dv_config *cfg, dv_error *err);

/* The refusal of the first part of cfg that is not built yet (see dv_config_parse), or 0 when everything in
 * cfg can be carried out. One home for "what is built": the parser and the plan compiler both call it. */
int dv_config_refuse_unbuilt(const dv_config *cfg, dv_error *err);

/* 1 when the parsed JSON object v is read as a request body (any of `config`, `destinationDataset`,
 * `destinationStore`, `gcsConfigUri`, `filterConfig` present), 0 when as a DeidentifyConfig: the parser's rule,
 * one home for the server's /v1/ check too (src/http/op_start.c). */
struct json_t;
int dv_config_json_is_request_body(const struct json_t *v);

#endif
