/* The parsed, validated DeidentifyConfig before compilation (internal). config_json.c builds it from the
 * Healthcare API JSON (dicomTagConfig, or legacy `dicom` mapped per DECISIONS.md 10); plan.c compiles it. */
#ifndef DV_CONFIG_IR_H
#define DV_CONFIG_IR_H

#include <stddef.h>
#include <stdint.h>
#include "dicomveil/dv_error.h"

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
    DV_ACTION_CLEAN_TEXT,   /* not implemented yet: refused by validation */
    DV_ACTION_CLEAN_IMAGE   /* not implemented yet: refused by validation */
} dv_action_kind;

typedef enum dv_query_kind { DV_QUERY_TAG = 1, DV_QUERY_VR } dv_query_kind;

typedef struct dv_query {
    dv_query_kind kind;
    uint32_t tag;   /* DV_QUERY_TAG */
    uint32_t mask;  /* 0xFFFFFFFF, or a repeating-group mask (legacy OverlayData = (60xx,3000)) */
    uint16_t vr;    /* DV_QUERY_VR */
} dv_query;

typedef struct dv_config_action {
    dv_action_kind kind;
    dv_query *queries;
    size_t nqueries;
} dv_config_action;

typedef struct dv_config {
    dv_profile_type profile;
    dv_primary_ids primary_ids;
    int legacy;              /* came from the deprecated `dicom` (DicomConfig) object */
    char profile_name[48];   /* the enum name as given (or implied), for DeidentificationMethod */
    dv_config_action *actions;
    size_t nactions;
} dv_config;

/* Parse and validate. Accepts the DeidentifyConfig object or a request body with a `config` key.
 * Everything not implemented yet (cleanTextTag, cleanImageTag, cleanDescriptors, cleanImage, top-level
 * image/text, DEIDENTIFY_TAG_CONTENTS, FHIR configs, gcsConfigUri ...) is refused with DV_ERR_CONFIG and a
 * message naming the JSON path. Returns 0, or -1 with err set (cfg is left cleared). */
int dv_config_parse(const char *json, size_t len, dv_config *cfg, dv_error *err);
void dv_config_clear(dv_config *cfg);

#endif
