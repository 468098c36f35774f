/* The DICOM JSON model (PS3.18 Annex F.2): the one module that writes DICOM attributes as application/
 * dicom+json, for QIDO answers (from index rows), WADO metadata (from stored instances) and the STOW
 * response. Values are UTF-8: text of an instance is decoded from its SpecificCharacterSet (src/dicom's
 * charset codec). Uses jansson; every function returns a new reference or NULL on ENOMEM. [test_dicom_json] */
#ifndef DVH_DICOM_JSON_H
#define DVH_DICOM_JSON_H

#include <stdint.h>

#include <jansson.h>

#include "dicomveil/dv_instance.h"

/* Add tag (vr, text) to obj: text is the attribute's whole value as stored (backslash-separated values,
 * PN components with '^' and groups with '='); NULL or "" gives an element with no Value. Numbers (IS, DS,
 * US, UL...) become JSON numbers; a value that is not a number is left out (never sent as a wrong type).
 * Returns 0 or -1 (ENOMEM). */
int dvh_json_put_text(json_t *obj, uint32_t tag, const char *vr, const char *text);
/* Add tag as a sequence of the given items (steals the references in items; NULL-safe). */
int dvh_json_put_items(json_t *obj, uint32_t tag, json_t *items_array);
/* Add a US element with one number. */
int dvh_json_put_us(json_t *obj, uint32_t tag, unsigned v);

/* The whole dataset of inst as a DICOM JSON object (file meta excluded). Bulk values and binary values
 * over 1 KiB become {"vr", "BulkDataURI": bulk_base + "/" + tag path}; smaller binary values are
 * InlineBinary. NULL on ENOMEM or when a value cannot be read (the message is in err). */
json_t *dvh_json_instance(const dv_instance *inst, const char *bulk_base, dv_error *err);

/* "ggggeeee" */
void dvh_tag_hex(uint32_t tag, char out[9]);

#endif
