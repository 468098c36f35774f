/* Burned-in text redaction: the contracts between its parts (internal; issue 11 items 2-4).
 *
 * The pixel stage (src/engine/pixel_stage.c) runs, per frame of an instance whose plan cleans PixelData:
 *
 *   decode (dv_image.h) -> dv_gray8_from_frame -> dv_textdetect_find (our own text-region detector: one
 *   box per text line, padded) -> [sensitive modes only: dv_ocr_read per box, then the text detectors of
 *   src/text over the recognised words, the instance's own identifying values first] -> dv_redact_frame
 *   (opaque boxes of the darkest value) -> re-encode per the output policy (docs/pixels.md).
 *
 * Each part lives in its own file and knows only this header and dv_image.h:
 *   gray8.c       the 8-bit view of a frame used for detection and OCR,
 *   boxes.c       box lists (geometry helpers: clip, pad, merge),
 *   textdetect.c  text-region detection (connected components, stroke width, line grouping),
 *   ocr.c         Tesseract's C API, one model per worker,
 *   redact.c      painting boxes into a decoded frame.
 * Everything per worker (scratch buffers, the OCR model) is in an object the worker owns; nothing static.
 * Fail closed: every function returns -1 with a dv_error when it cannot do its whole job, and the stage
 * then fails the instance (it is never written with unchecked pixels). Messages carry sizes and counts,
 * never recognised text. */
#ifndef DV_REDACT_H
#define DV_REDACT_H

#include <stddef.h>
#include <stdint.h>
#include "dicomveil/dv_error.h"
#include "image/dv_image.h"

/* ---- gray8.c ---- */

/* One 8-bit, single-channel picture of a frame: what a person would see, for detection and OCR.
 * px is malloc'd (width * height bytes, row-major, no padding) and owned by the dv_gray8. */
typedef struct dv_gray8 {
    uint8_t *px;
    uint32_t width, height;
    size_t cap; /* bytes allocated at px (reused across frames of the same size) */
    uint32_t chroma_px; /* dv_gray8_from_frame of a colour frame: the pixels whose channels differ by
                         * DV_GRAY8_CHROMA or more (8-bit scale); 0 for monochrome */
} dv_gray8;

/* A pixel whose brightest and darkest channels are this far apart is coloured. Below T_LOW (textdetect.c, 40)
 * a channel could show no contrast the brightest channel does not. */
#define DV_GRAY8_CHROMA 40

/* Fill g from a decoded frame: monochrome samples windowed to 8 bits over the frame's actual value range
 * (MONOCHROME1 inverted, so text is bright on dark as on screen), colour as the brightest of its R, G, B
 * channels (YBR converted first), PALETTE COLOR through pal (required then, NULL otherwise). Reuses g->px
 * when large enough. Returns 0 or -1 with err (DV_ERR_NOMEM, DV_ERR_UNSUPPORTED for a photometric it cannot
 * show). */
int dv_gray8_from_frame(const dv_frame *f, const dv_palette *pal, dv_gray8 *g, dv_error *err);
/* Fill out[0..2] with the R, G and B channels of a colour or PALETTE COLOR frame and out[3] with its chroma (the
 * brightest channel minus the darkest), scaled as dv_gray8_from_frame scales them, in one pass. The brightest
 * channel hides text whose brightest channel is the background's (red or blue print on white, blue on yellow:
 * both 255); every two colours differ in some channel, where such text shows at its full contrast (stop 38's red
 * team). 0 or -1 with err. */
int dv_gray8_planes(const dv_frame *f, const dv_palette *pal, dv_gray8 out[4], dv_error *err);
void dv_gray8_free(dv_gray8 *g);

/* ---- boxes.c ---- */

/* An axis-aligned rectangle in frame pixels: columns [x, x + w), rows [y, y + h). */
typedef struct dv_box {
    uint32_t x, y, w, h;
} dv_box;

/* A growable list of boxes owned by the caller (dv_boxes_clear keeps the capacity). */
typedef struct dv_boxes {
    dv_box *v;
    size_t n, cap;
} dv_boxes;

#define DV_BOXES_MAX 65536u /* more boxes than this in one frame is a DV_ERR_LIMIT */
int dv_boxes_add(dv_boxes *b, dv_box box, dv_error *err);
void dv_boxes_clear(dv_boxes *b);
void dv_boxes_free(dv_boxes *b);
/* Geometry helpers (boxes.c). A box with w or h 0 is empty. */
/* box grown by px columns left and right and py rows up and down, clipped to a width x height frame. */
dv_box dv_box_pad(dv_box box, uint32_t px, uint32_t py, uint32_t width, uint32_t height);
/* box clipped to a width x height frame (may become empty). */
dv_box dv_box_clip(dv_box box, uint32_t width, uint32_t height);
/* 1 when a and b share at least one pixel. */
int dv_box_intersects(dv_box a, dv_box b);
/* Smallest box holding a and b (an empty box is ignored). */
dv_box dv_box_union(dv_box a, dv_box b);
/* Replace every group of overlapping boxes by their union, until no two boxes overlap; drops empty boxes.
 * In place, O(n^2) per pass (n is the number of text lines of one frame). */
void dv_boxes_merge_overlapping(dv_boxes *b);
/* The same for the boxes of one text line only: overlapping boxes sharing at least half the lower one's
 * height are merged; the boxes of neighbouring lines may overlap through their padding and stay apart (the
 * sensitive modes read one line per box). [test_textdetect: test_merge_lines] */
void dv_boxes_merge_lines(dv_boxes *b);

/* ---- textdetect.c ---- */

/* Per-worker detector state (scratch buffers, the previous frame's overlay for cine loops). */
typedef struct dv_textdetect dv_textdetect;
dv_textdetect *dv_textdetect_new(void); /* NULL only when out of memory */
void dv_textdetect_free(dv_textdetect *td);
/* Forget the previous frame (call at the start of each instance). */
void dv_textdetect_reset(dv_textdetect *td);

/* Find the text lines of g: appends one box per line (its whole span, padded, clipped to the frame) to
 * lines. The boxes of close lines may overlap through their padding (dv_boxes_merge_lines): REDACT_ALL_TEXT
 * paints their dv_boxes_merge_overlapping union, the sensitive modes read and decide each line alone. deadline_ms > 0 bounds the work (DV_ERR_LIMIT when exceeded: the stage fails closed). Returns 0 or
 * -1 with err. */
int dv_textdetect_find(dv_textdetect *td, const dv_gray8 *g, uint32_t deadline_ms, dv_boxes *lines,
                       dv_error *err);

/* What dv_textdetect_find did since dv_textdetect_new (for tests and the benchmark): frames searched in
 * full, frames where only the changed part was searched again (cine), frames whose overlay was unchanged
 * so the previous frame's lines were reused without a search. */
typedef struct dv_textdetect_stats {
    uint64_t full, partial, reused;
} dv_textdetect_stats;
void dv_textdetect_get_stats(const dv_textdetect *td, dv_textdetect_stats *out);

/* ---- ocr.c ---- */

/* One Tesseract model, loaded once per worker, single threaded. dv_ocr_read calls on different dv_ocr run in
 * parallel safely; dv_ocr_new / dv_ocr_new_at write Tesseract's process-wide settings (debug output to
 * /dev/null, libgomp's OpenMP off: docs/pixels.md "OCR"), so make the workers' models one at a time (e.g.
 * before starting the worker threads). The caller frees with dv_ocr_free. */
typedef struct dv_ocr dv_ocr;
/* NULL with err DV_ERR_UNSUPPORTED when the engine or its English model is missing (fail closed). */
dv_ocr *dv_ocr_new(dv_error *err);
/* dv_ocr_new with the model directory given (tessdata: the directory holding eng.traineddata, or its
 * parent); NULL = TESSDATA_PREFIX when set, else the Debian/upstream install paths. A directory without the
 * model is DV_ERR_UNSUPPORTED (no fallback to another one). */
dv_ocr *dv_ocr_new_at(const char *tessdata, dv_error *err);
void dv_ocr_free(dv_ocr *o);
/* ocr_lazy.c: load the OCR engine (Tesseract) now, once per process; 0, or -1 with err DV_ERR_UNSUPPORTED
 * naming the library when it cannot be loaded. dv_ocr_new calls it first; nothing else needs to. */
int dv_ocr_engine_load(dv_error *err);
/* Tesseract's mean word confidence (0-100) of the last successful dv_ocr_read, -1 when none. */
int dv_ocr_last_confidence(const dv_ocr *o);
/* Tesseract recognitions made by o so far (a dv_ocr_read_prep call makes none when its box is a line of the
 * block read just before, one per line for a block read line by line, else one). [test_ocr:
 * test_block_lines_once] */
uint64_t dv_ocr_recognitions(const dv_ocr *o);

/* Recognise the text inside box of g (upscaled when small) into *utf8 (malloc'd, NUL-terminated, owned by
 * the caller; "" when nothing was read). deadline_ms > 0 bounds the call (DV_ERR_LIMIT when exceeded).
 * Returns 0 or -1 with err (the engine failing is an error, never "no text"). */
int dv_ocr_read(dv_ocr *o, const dv_gray8 *g, const dv_box *box, uint32_t deadline_ms, char **utf8,
                size_t *len, dv_error *err);
/* How a box is made into ink and paper before recognition (docs/pixels.md "OCR"). STRETCH (dv_ocr_read):
 * the text's polarity is the one the box's border says (a dark border: bright text), its darkest 2 % in
 * that polarity is ink, the border's level paper. FLIP: the same with the other polarity — the pixel
 * stage's second reading of a box the first did not find sensitive (a white label that starts on a black
 * bar and runs on over bright anatomy has a bright border: read as dark text, only the part on the bar
 * comes out). */
/* DV_OCR_PREP_LEVEL: the polarity the border says, the background levelled first (a white top-hat wider
 * than a stroke: grey text running from a black corner over brighter anatomy, which the plain stretch takes
 * for ink) — the stage's third reading of a box over a background that changes (dv_ocr_background_varies). */
typedef enum dv_ocr_prep { DV_OCR_PREP_STRETCH = 0, DV_OCR_PREP_FLIP = 1, DV_OCR_PREP_LEVEL = 2 } dv_ocr_prep;
/* 1 when the background of box in g changes within it: the levels of its border pixels spread over more
 * than DV_OCR_VARIED_BORDER grey levels between their 10th and 90th percentiles (a line running from a black
 * corner over anatomy), where DV_OCR_PREP_LEVEL can read what the plain stretch cannot. */
#define DV_OCR_VARIED_BORDER 48
int dv_ocr_background_varies(const dv_gray8 *g, const dv_box *box);
/* The text lines of a box the detector made of several (a block of corner text: PHI and labels grouped):
 * up to cap boxes (the box's width; together they tile it, so no ink falls outside them) for the bands of
 * rows holding ink (pixels more than 48 grey levels from the border's median; a row counts with a sixth
 * of the most inked row's ink), 3 rows at least, split at the middle of the gaps. 0 when the box holds
 * fewer than two bands or more than cap (then it is not split). Lets the stage cover only a block's
 * sensitive lines. [test_ocr: test_line_bands] */
size_t dv_ocr_line_bands(const dv_gray8 *g, const dv_box *box, dv_box *out, size_t cap);
/* dv_ocr_read with the preparation chosen. */
int dv_ocr_read_prep(dv_ocr *o, const dv_gray8 *g, const dv_box *box, dv_ocr_prep prep, uint32_t deadline_ms,
                     char **utf8, size_t *len, dv_error *err);

/* ---- redact.c ---- */

/* Paint every box of boxes into f with the frame's darkest value (monochrome: the minimum representable
 * value as displayed, i.e. the maximum for MONOCHROME1; colour: black in the frame's colour space;
 * palette: the index whose colour is darkest, pal required then). Pixels outside the boxes are not touched.
 * Returns the number of pixels painted. */
uint64_t dv_redact_frame(dv_frame *f, const dv_palette *pal, const dv_boxes *boxes);

#endif
