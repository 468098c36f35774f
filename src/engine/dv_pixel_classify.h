/* Which burned-in text boxes are sensitive (issue 11 item 3; docs/pixels.md "Sensitive text", decisions in
 * docs/decisions.md "Pixel data: which boxes are sensitive").
 *
 * The pixel stage reads each detected text box with dv_ocr_read (src/image/dv_redact.h) and asks
 * dv_pixel_classify whether to cover it. The detection itself is the text detectors' one home,
 * dv_text_detect (src/engine/dv_plan.h: patterns, dictionaries, the instance's own deny-list first, [CTX]);
 * this file only adds what OCR output needs on top: it also runs the detectors over repaired readings of the
 * text (O/0, l/1/I, S/5, B/8 confusions undone per token, `^` and `_` as spaces, run-together words split
 * for the deny-list), a reading the OCR could not make at all is covered (privacy first), and a long digit
 * run is an identifier in an overlay. Everything per call is in a dv_pixclass the worker owns. */
#ifndef DV_PIXEL_CLASSIFY_H
#define DV_PIXEL_CLASSIFY_H

#include <stddef.h>

#include "config/dv_config_ir.h"
#include "dicomveil/dv_error.h"
#include "engine/dv_plan.h"
#include "image/dv_redact.h"
#include "text/dv_text.h"

/* The infoTypes REDACT_SENSITIVE_TEXT looks for when no additionalInfoTypes / excludeInfoTypes are given:
 * every infoType dicomveil detects except [CTX] and TIME (the API's "default DICOM infoTypes" list is not
 * published; a box is covered whole, so a wide set costs little area and keeps privacy first. A time of day
 * alone identifies no one and is what a cine's running clock shows; next to a date the date covers the box;
 * additionalInfoTypes: ["TIME"] adds it. Decision in docs/decisions.md). */
#define DV_PIXEL_DEFAULT_INFOTYPES ((((dv_infotype_set)1u << DV_IT_CTX) - 1u) & ~DV_IT_BIT(DV_IT_TIME))

/* What one ImageConfig asks of the classifier, resolved once per plan. */
typedef struct dv_pixel_policy {
    dv_text_redaction_mode mode;
    int classify;          /* 1 when boxes are chosen by their text (the sensitive modes, or UNSPECIFIED with
                              additionalInfoTypes); 0: REDACT_ALL_TEXT covers every box, NO_TEXT none */
    dv_infotype_set want;  /* the infoTypes that make a box sensitive (DV_IT_CTX for CLEAN_DESCRIPTORS) */
} dv_pixel_policy;

/* Resolve ic: REDACT_SENSITIVE_TEXT[_CLEAN_DESCRIPTORS] = DV_PIXEL_DEFAULT_INFOTYPES + additionalInfoTypes
 * - excludeInfoTypes (+ CTX for CLEAN_DESCRIPTORS); TEXT_REDACTION_MODE_UNSPECIFIED with additionalInfoTypes
 * = only those (gcp-api.md 5: "in addition to" a mode that redacts nothing). An additionalInfoTypes name
 * dicomveil cannot detect is DV_ERR_CONFIG (it would silently find nothing); an unknown excludeInfoTypes
 * name excludes nothing and is accepted. 0 or -1 with err. */
int dv_pixel_policy_make(const dv_image_config *ic, dv_pixel_policy *out, dv_error *err);

/* The verdict on one box. */
typedef enum dv_pixel_verdict {
    DV_PIXEL_KEEP = 0,       /* text read, nothing sensitive in it */
    DV_PIXEL_SENSITIVE,      /* a finding of a wanted infoType (why: its type) */
    DV_PIXEL_UNREADABLE      /* the OCR read nothing usable: covered, privacy first */
} dv_pixel_verdict;

/* Per-worker state: findings and the repaired-text buffer, reused across boxes. NULL when out of memory. */
typedef struct dv_pixclass dv_pixclass;
dv_pixclass *dv_pixclass_new(void);
void dv_pixclass_free(dv_pixclass *pc);

/* Decide one box from its recognised text utf8[0, len) (dv_ocr_read's output) and the OCR's confidence
 * (dv_ocr_last_confidence; -1 when unknown). tw must have begun the instance (dv_text_begin_instance on the
 * ORIGINAL instance: the deny-list and [CTX] phrases); plan supplies the pattern detectors and the [CTX]
 * phrases (dv_plan.image_needs_detectors). *why is the infoType of the deciding finding (DV_IT_COUNT when
 * none). Only pol->classify policies should be asked. Never logs or keeps the text.
 * 0, or -1 with err (a detector's error: the stage fails the instance, never keeps the box). */
int dv_pixel_classify(dv_pixclass *pc, const dv_pixel_policy *pol, dv_text_worker *tw, const dv_plan *plan,
                      const char *utf8, size_t len, int ocr_conf, dv_pixel_verdict *verdict, dv_infotype *why,
                      dv_error *err);

/* 1 when utf8[0, len) is made only of overlay vocabulary (labels, units, numbers of <= 4 digits, probe
 * names; one word at least): what dv_pixel_classify keeps whatever the confidence unless the deny-list
 * finds it. The stage leaves such a line of a sensitive block uncovered. [test_pixel_classify:
 * test_vocabulary_stays] */
int dv_pixel_label_line(const char *utf8, size_t len);

/* One frame's lines decided together (the pixel stage, after reading each line): verdicts[i] is line i's
 * dv_pixel_verdict on entry and 1 (cover) or 0 (keep) on return. Covered: a SENSITIVE line; a piece of the
 * same text line as a sensitive one (the detector cut the line: same row, about as high, closer than its
 * height); a line whose box overlaps a sensitive line above it and one below it (text wrapped over three
 * lines: an institution's middle word); an UNREADABLE line, privacy first, when it overlaps a sensitive line,
 * else unless it holds a line that was read (texture grouped with labels: the lines inside decide) or lies
 * inside a line read as KEEP. Decided on the verdicts as read (no order dependence).
 * [test_pixel_classify: test_lines_cover] */
void dv_pixel_lines_cover(const dv_box *lines, size_t n, uint8_t *verdicts);
/* 1 when a and b look like two pieces of one text line the detector cut (a gap between words over
 * anatomy): same row (three quarters of the lower one's rows shared), heights within 3:2, closer than the
 * lower height. The stage covers the gap between two such covered pieces too. [test_pixel_classify:
 * test_lines_cover] */
int dv_pixel_same_line(const dv_box *a, const dv_box *b);

/* 1 when a line whose first reading was KEEP, not overlay vocabulary, at an OCR confidence below
 * DV_PIXEL_WEAK_KEEP_CONF, and whose further readings (others of them, the flipped and the levelled: both)
 * all came out UNREADABLE, is to be decided UNREADABLE (covered, privacy first): three preparations of the crop
 * failed, and the weak first reading is noise the OCR made of print too small or too faint to read — JSL's
 * 5-px MR overlay, read `aa ec` at 33 inside a 256x108 block (bench/RESULTS.md "Sensitive stage: fewer
 * readings", the JSL paragraphs). [test_pixel_classify: test_weak_keep] */
#define DV_PIXEL_WEAK_KEEP_CONF 35
int dv_pixel_weak_keep(int first_conf, int first_label, unsigned others, unsigned others_unreadable);

/* 1 when box a lies inside b padded by 2 px. */
int dv_pixel_box_within(const dv_box *a, const dv_box *b);
/* 1 when at least tenths / 10 of box a's area lies inside one of boxes[0, n) (a non-empty a only; the parts
 * inside different boxes do not add up). The pixel stage covers a line of a multi-frame instance unread when
 * half of it lies in a line read SENSITIVE on an earlier frame, or nine tenths in a line covered whole there
 * (pixel_stage.c mostly_sensitive_before, covered_before). [test_pixel_classify: test_share_in] */
int dv_pixel_box_share_in(const dv_box *a, const dv_box *boxes, size_t n, unsigned tenths);

/* A multi-frame instance's frames together (the pixel stage, after every frame was read): frame i's boxes
 * are all[start[i] .. start[i + 1]) for i < nframes; sens[0, nsens) are boxes of lines read SENSITIVE (at a
 * confident reading) on some frame. Writes to out (room for start[nframes] + nframes * nsens boxes) each
 * frame's boxes followed by every sens box none of them holds (dv_pixel_box_within), for the frames that
 * have boxes only (a frame without boxes showed no text); start is rewritten for out. Returns the boxes
 * written. A cine's overlay stays put while the anatomy moves, and the frame whose reading found the text
 * is the better reading (privacy first). [test_pixel_classify: test_spread] */
size_t dv_pixel_spread(const dv_box *all, size_t *start, uint32_t nframes, const dv_box *sens, size_t nsens,
                       dv_box *out);

#endif
