/* The promises checked on every hostile input, in one place: the libFuzzer targets (tests/fuzz/) abort when
 * one breaks, and the unit tests replay the committed regressions (tests/fuzz/regressions/) and byte mutations
 * through the very same checks, so a regression is pinned in the normal build too.
 *
 * Uses only the public API plus the PS3.15 table (dict/dv_dict.h) as the oracle for "what is PHI": the
 * de-identification check never asks the engine what it decided. No cmocka, no allocation that outlives a
 * call: the fuzz build links this file into each target. */
#ifndef DV_INVARIANTS_H
#define DV_INVARIANTS_H

#include <stddef.h>
#include <stdint.h>
#include "dicomveil/dicomveil.h"

/* The limits the fuzz targets read with (small, so the caps and the streamed-value paths are reached on small
 * inputs): depth 16, metadata 1 MiB, inflated 4 MiB, values over 1 KiB stay in the source. */
void dvi_fuzz_limits(dv_limits *lim);
/* The fuzz targets' output cap (a memory sink of 8 MiB). */
#define DVI_FUZZ_SINK_CAP (8u << 20)
/* The plan and key fuzz_deidentify de-identifies with (the unit replay uses the same, so a regression replays
 * alike): the Basic profile, primary IDs regenerated. */
#define DVI_FUZZ_DEID_CONFIG "{\"dicomTagConfig\": {\"profileType\": \"ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE\"}}"
#define DVI_FUZZ_DEID_KEY "dicomveil-fuzz-key-0123456789abc" /* 32 bytes */

/* How far an input got. */
typedef enum dvi_stage {
    DVI_READ_FAILED = 0, /* dv_instance_read refused it (err) */
    DVI_APPLY_FAILED,    /* dv_apply refused it (err; de-identification check only) */
    DVI_WRITE_FAILED,    /* it was read (and de-identified) but dv_instance_write refused it (err) */
    DVI_WRITTEN          /* written; the output was checked (unless its re-read hit a resource limit) */
} dvi_stage;

const char *dvi_stage_name(dvi_stage s);

typedef struct dvi_outcome {
    dvi_stage stage;
    dv_error err;        /* the refusal when stage is *_FAILED */
    char violation[512]; /* the broken promise, "" when every check held */
} dvi_outcome;

/* Called on every instance the round trip parses (the input, then the re-read output), e.g. to poke getters. */
typedef void (*dvi_inspect_fn)(const dv_instance *inst, void *user);

/* Reader/writer promises. Read data (lim NULL = defaults); if it reads, write it to a memory sink capped at
 * sink_cap, re-read that, write it again. Checks:
 *   - every refusal has a class (not DV_OK), and a non-empty NUL-terminated message; a read refusal is
 *     not_dicom | malformed | limit | unsupported | nomem, a write refusal invalid | limit | unsupported |
 *     nomem | io (io: the capped sink is full);
 *   - what was written reads back (unless a resource limit stops the re-read: limit | nomem);
 *   - writing is a fixed point: write(read(write(x))) == write(x), byte for byte.
 * Returns 0 when every check held, -1 with o->violation set otherwise. o->stage says how far it got. */
int dvi_check_round_trip(const uint8_t *data, size_t size, const dv_limits *lim, size_t sink_cap,
                         dvi_inspect_fn inspect, void *user, dvi_outcome *o);

/* De-identification promises for plan (expected: the Basic profile with primary IDs regenerated, as
 * fuzz_deidentify compiles it). Read data with lim, dv_apply, write (capped), re-read the output, and check:
 *   - refusals as above (an apply refusal: malformed | limit | unsupported | nomem | io);
 *   - the output reads back (unless limit | nomem);
 *   - no private element (odd group) at any nesting level (DECISIONS 3);
 *   - at every nesting level, no attribute whose PS3.15 Basic code is X, Z, D or a composite of them keeps
 *     a non-empty value that the same attribute had anywhere in the input, unless that value is only
 *     placeholders (PLACEHOLDER, 0, 19000101, 000000, 19000101000000, 000Y, all-zero binary) or a registry
 *     UID (1.2.840.10008.*); and no value of a U-coded attribute (UIDs) survives from any U-coded attribute
 *     of the input unless it is a registry UID;
 *   - at every nesting level, every value of VR UI holds only UIDs (dicom/dv_uid_syntax.h): no free text kept;
 *   - SOPInstanceUID equals dv_result.sop_uid, MediaStorageSOPInstanceUID equals it (DECISIONS 6);
 *   - when dv_result.changed, PatientIdentityRemoved (0012,0062) is YES;
 *   - an overlay plane embedded in the input's native pixels (a group 60xx, xx even 00-1E, without
 *     OverlayData whose OverlayBitPosition is below BitsAllocated and outside the stored bits) whose group the
 *     output no longer declares has no bit set in any sample of the output's native pixels, unless a group
 *     the output still declares embeds the same plane (docs/decisions.md "Overlays embedded in pixel data").
 * Returns 0 when every check held, -1 with o->violation set otherwise. */
int dvi_check_deidentify(const dv_plan *plan, const dv_key *key, const uint8_t *data, size_t size,
                         const dv_limits *lim, size_t sink_cap, dvi_outcome *o);

/* 1 when code is one of the classes a reader refusal may have (see dvi_check_round_trip). */
int dvi_read_class_ok(dv_code code);
/* 1 when code is one of the classes a writer refusal may have. */
int dvi_write_class_ok(dv_code code);

/* 1 when a and b hold the same boxes in any order: the text detector's promise that a reused detector (the
 * cine path) finds what a fresh one finds (fuzz_textdetect; test_textdetect test_cine_reuse_and_redetect). */
struct dv_boxes;
int dvi_boxes_same(const struct dv_boxes *a, const struct dv_boxes *b);

#endif
