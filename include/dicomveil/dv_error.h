/* dicomveil: the one error type shared by every layer.
 * Messages never contain tag values or PHI-bearing paths: only tag numbers, offsets, sizes and field names. */
#ifndef DICOMVEIL_DV_ERROR_H
#define DICOMVEIL_DV_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dv_code {
    DV_OK = 0,
    DV_ERR_IO,          /* the source or sink failed to read or write */
    DV_ERR_NOT_DICOM,   /* the input is not DICOM at all */
    DV_ERR_MALFORMED,   /* truncated, lying or hostile encoding */
    DV_ERR_LIMIT,       /* a resource cap (depth, memory, inflated size) was hit */
    DV_ERR_UNSUPPORTED, /* valid input this version does not handle */
    DV_ERR_CONFIG,      /* bad configuration: the message names the JSON path */
    DV_ERR_NOMEM,       /* allocation failed */
    DV_ERR_INVALID,     /* the instance cannot be written as valid DICOM (e.g. no SOPInstanceUID) */
    DV_ERR_USAGE        /* API or command-line misuse */
} dv_code;

#define DV_ERROR_MESSAGE_MAX 512

typedef struct dv_error {
    dv_code code;
    char message[DV_ERROR_MESSAGE_MAX];
} dv_error;

/* Stable lower-case class name for reports ("malformed", "limit", ...). */
const char *dv_code_name(dv_code code);

/* Set err (may be NULL) and return -1, so callers can write `return dv_fail(err, ...)`. */
int dv_fail(dv_error *err, dv_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void dv_error_clear(dv_error *err);

#ifdef __cplusplus
}
#endif
#endif
