/* The sensitive modes' memo of box readings, per instance (issue 11 item 2: "In multi-frame cine loops the
 * overlay rarely changes between frames: do not pay full detection and OCR for every identical overlay").
 *
 * A reading of a box (dv_ocr_read_prep + dv_pixel_classify: verdict, confidence, overlay-label flag) is a
 * function of the box's pixels in the frame's 8-bit view, the preparation, and the instance (its deny-list,
 * the plan's detectors and the ImageConfig): nothing of the box's position or of the rest of the frame
 * enters it (ocr.c reads only the crop; dv_ocr_background_varies and dv_ocr_line_bands too). So a box whose
 * crop is byte for byte one already read in the same instance takes that reading without OCR; only new or
 * changed boxes are read (a cine's running clock is one small box per frame). Equality is exact: the crop's
 * size and every byte are compared (a hash only picks the candidate), never a reading reused for different
 * pixels (privacy). The memo is reset at the start of every instance (another instance has another
 * deny-list) and owned by the pixel worker: per worker, never shared, nothing static.
 *
 * Bounded: at most DV_PIXEL_MEMO_ENTRIES crops of DV_PIXEL_MEMO_BYTES in all; a crop larger than
 * DV_PIXEL_MEMO_MAX_CROP is not held (read every time); when a bound would be passed the least recently used
 * crop goes. The crops are pixels of burned-in text (PHI): worker memory only, zeroed when dropped, never
 * logged or written. docs/decisions.md "Cine: a box read once per instance".
 * [test_pixel_memo: test_memo_exact, test_memo_bounded, test_memo_property; test_pixel_memo: test_cine_same_output]
 *
 * The ink key (wp-senscine; docs/decisions.md "Cine: a label's decision follows its ink"): a label drawn over a
 * cine's moving speckle has a different crop on every frame, so the exact crop never repeats. Its INK does:
 * the pixels within DV_PIXEL_INK_GAP of the box's brightest level, at their frame positions and with their
 * exact values. Two boxes whose ink keys are equal show the same glyphs, pixel for pixel, at the same place;
 * what differs lies at least DV_PIXEL_INK_GAP below the ink (the background). The stage keeps under that key
 * a box's whole decision (dv_pixel_reading of read_box), only the kinds it may reuse (pixel_stage.c
 * ink_reusable). A box whose ink is dim (< DV_PIXEL_INK_LEVEL) or scant (< DV_PIXEL_INK_PIXELS) has no ink key:
 * it is read (text whose contrast is too low for the key). Same bounds, same LRU, same zeroing as the crops.
 * [test_pixel_memo: test_ink_key_background, test_ink_key_property, test_ink_label_read_once] */
#ifndef DV_ENGINE_PIXEL_MEMO_H
#define DV_ENGINE_PIXEL_MEMO_H

#include <stddef.h>
#include <stdint.h>

#include "engine/dv_pixel_classify.h"
#include "image/dv_redact.h"

#define DV_PIXEL_MEMO_ENTRIES 256u
#define DV_PIXEL_MEMO_BYTES (4u << 20)
#define DV_PIXEL_MEMO_MAX_CROP (1u << 20)
#define DV_PIXEL_MEMO_PREPS 3u /* DV_OCR_PREP_STRETCH, _FLIP, _LEVEL */

/* One reading of a box, as the stage uses it. */
typedef struct dv_pixel_reading {
    dv_pixel_verdict verdict;
    int conf;  /* dv_ocr_last_confidence */
    int label; /* verdict KEEP and the text is overlay vocabulary only (dv_pixel_label_line) */
} dv_pixel_reading;

typedef struct dv_pixel_memo dv_pixel_memo;
dv_pixel_memo *dv_pixel_memo_new(void); /* NULL when out of memory */
void dv_pixel_memo_free(dv_pixel_memo *m);
/* Forget every crop (the start of an instance). */
void dv_pixel_memo_reset(dv_pixel_memo *m);

/* The slot of box b's crop of g: the entry holding the same b->w x b->h bytes, found or made (the least
 * recently used entry dropped when a bound would be passed); -1 when the crop is not held (larger than
 * DV_PIXEL_MEMO_MAX_CROP, outside g, or no memory): the caller then reads without the memo. A slot stays
 * valid until the next dv_pixel_memo_slot or reset. */
int dv_pixel_memo_slot(dv_pixel_memo *m, const dv_gray8 *g, const dv_box *b);
/* 1 and *out when slot's crop was read with prep (< DV_PIXEL_MEMO_PREPS) before; 0 otherwise. */
int dv_pixel_memo_get(const dv_pixel_memo *m, int slot, unsigned prep, dv_pixel_reading *out);
void dv_pixel_memo_put(dv_pixel_memo *m, int slot, unsigned prep, const dv_pixel_reading *r);

#define DV_PIXEL_INK_GAP 48    /* ink: within this of the box's brightest level (the detector's T_LOW is 40) */
#define DV_PIXEL_INK_LEVEL 200 /* ... whose brightest level is at least this (overlay ink is drawn bright) */
#define DV_PIXEL_INK_PIXELS 24 /* ... and at least this many ink pixels (a glyph or two of the smallest print) */

/* The decision kept under box b's ink key in g: 1 and *out when one is held; 0 when none is, or b has no ink
 * key (dim, scant, larger than DV_PIXEL_MEMO_MAX_CROP, outside g). */
int dv_pixel_memo_ink_get(dv_pixel_memo *m, const dv_gray8 *g, const dv_box *b, dv_pixel_reading *out);
/* Keep r under b's ink key (replacing what was held); nothing when b has no ink key or memory is short. */
void dv_pixel_memo_ink_put(dv_pixel_memo *m, const dv_gray8 *g, const dv_box *b, const dv_pixel_reading *r);

/* Crops and ink keys held and their bytes (tests). */
size_t dv_pixel_memo_entries(const dv_pixel_memo *m);
size_t dv_pixel_memo_bytes(const dv_pixel_memo *m);

#endif
