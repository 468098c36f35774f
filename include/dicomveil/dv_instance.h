/* dicomveil: reading, inspecting and writing one DICOM instance (Part 10 file or raw dataset).
 *
 * Reading is streaming: element values larger than dv_limits.inline_threshold (and PixelData always) are
 * not loaded; the instance keeps their offset in the source and the writer copies them through untouched.
 * The source must therefore stay valid until the instance is freed. */
#ifndef DICOMVEIL_DV_INSTANCE_H
#define DICOMVEIL_DV_INSTANCE_H

#include <stddef.h>
#include <stdint.h>
#include "dv_error.h"
#include "dv_io.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dv_budget dv_budget; /* dv_budget.h */
typedef struct dv_pixel_budget dv_pixel_budget; /* dv_pixel_budget.h */

/* Per-instance resource caps. Extensible (issue 5 item 7): struct_size records the layout the caller was
 * compiled with, so fields can be appended without breaking callers. Always start from dv_limits_default
 * (which sets struct_size and every default), then change fields; a struct whose struct_size is not set is
 * refused with DV_ERR_USAGE. A field appended after the caller's layout takes its default. */
typedef struct dv_limits {
    uint32_t struct_size;        /* sizeof (dv_limits) as the caller compiled it: set by dv_limits_default */
    uint32_t max_depth;          /* sequence nesting cap (default 128) */
    uint64_t max_metadata_bytes; /* in-memory metadata per instance (default 32 MiB) */
    uint64_t max_inflated_bytes; /* cap on a deflated dataset's inflated size, streamed (default 4 GiB) */
    uint32_t inline_threshold;   /* values above this many bytes stay in the source (default 16 KiB) */
    dv_budget *budget;           /* run-wide memory budget the instance's metadata and inflate buffer draw from
                                    (dv_budget.h); NULL (default) = only the per-instance caps. Not owned. */
    dv_pixel_budget *pixel_budget; /* run-wide budget the pixel stage's estimate is drawn from (dv_pixel_budget.h);
                                      NULL (default) = none. Not owned. */
} dv_limits;

/* Fill *lim with the defaults for a struct of struct_size bytes (use dv_limits_default). */
void dv_limits_init(dv_limits *lim, size_t struct_size);
static inline void dv_limits_default(dv_limits *lim)
{
    dv_limits_init(lim, sizeof *lim);
}
/* The most memory one instance read with lim may draw from a budget: max_metadata_bytes +
 * max_inflated_bytes (dv_budget_new's instance_max must be at least this). */
uint64_t dv_limits_memory_max(const dv_limits *lim);

typedef struct dv_instance dv_instance;

/* Parse src. Returns NULL and sets err on failure (DV_ERR_NOT_DICOM, DV_ERR_MALFORMED, DV_ERR_LIMIT ...).
 * lim may be NULL for defaults; a lim whose struct_size is not set gives DV_ERR_USAGE. The instance reads bulk
 * values from src later: what src's ctx and mem point to must outlive it (the struct itself is copied). */
dv_instance *dv_instance_read(const dv_source *src, const dv_limits *lim, dv_error *err);
void dv_instance_free(dv_instance *inst);

/* Write a valid Part 10 file: preamble, regenerated file meta (group length, MediaStorageSOPClassUID =
 * SOPClassUID, MediaStorageSOPInstanceUID = SOPInstanceUID, the input's transfer syntax, our
 * ImplementationClassUID/VersionName), then the dataset in the input's transfer syntax (re-deflated when the
 * input was deflated) or the one set by dv_instance_set_transfer_syntax. Returns 0 or -1 with err set. */
int dv_instance_write(const dv_instance *inst, dv_sink *sink, dv_error *err);

/* Write the instance in another transfer syntax (uid): implicit VR LE, explicit VR LE, deflated explicit VR
 * LE, or an encapsulated one (JPEG...). The file meta TransferSyntaxUID follows; values read big endian are
 * byte-swapped on write per VR (PixelData per BitsAllocated). The pixel data must then match the new syntax
 * (dv_instance_set_pixel_data_native / _frames in dv_frames.h): dv_instance_write fails with DV_ERR_INVALID
 * otherwise. Explicit VR big endian (retired) is refused (DV_ERR_UNSUPPORTED), a malformed uid is DV_ERR_USAGE.
 * Image-pixel attributes (PhotometricInterpretation, ...) are the caller's to set. */
int dv_instance_set_transfer_syntax(dv_instance *inst, const char *uid, dv_error *err);

/* Transfer syntax UID of the dataset (never NULL): the input's, or the one set above. */
const char *dv_instance_transfer_syntax(const dv_instance *inst);
/* 1 when the input was a Media Storage Directory (DICOMDIR), which is not an instance. */
int dv_instance_is_directory(const dv_instance *inst);

/* Copy the value of a top-level dataset element (group 0002 reads the input's file meta) as a string with
 * trailing padding (spaces, NULs) removed; a UI value ends at its first NUL. Returns the string length, or -1
 * when absent/bulk/too long. */
int dv_instance_get_string(const dv_instance *inst, uint32_t tag, char *buf, size_t cap);

/* Visit every element of the dataset depth-first in stored order (file meta excluded).
 * value is NULL for bulk values (is_bulk = 1) and for sequences. Return non-zero from fn to stop. */
typedef struct dv_element_view {
    uint32_t tag;
    char vr[3];
    uint32_t depth;          /* 0 = top level */
    const uint8_t *value;
    uint64_t length;         /* value length in bytes (0xFFFFFFFF for undefined-length) */
    int is_bulk;
    int is_sequence;
} dv_element_view;
typedef int (*dv_visit_fn)(const dv_element_view *e, void *user);
int dv_instance_visit(const dv_instance *inst, dv_visit_fn fn, void *user);

#ifdef __cplusplus
}
#endif
#endif
