/* The sensitive modes of the pixel stage (pixel_stage.c runs it): each line the detector found on a frame is read
 * (OCR, through the instance's memo of readings) and classified; the lines holding what the policy covers (the
 * wanted infoTypes, the instance's own values first; unreadable lines, privacy first) become the frame's boxes,
 * and a confident finding is spread to the instance's other frames. The text read is freed at once, never kept
 * or logged. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/pixel_stage_internal.h"

/* The sensitive modes: read each detected line (OCR) and keep the ones the classifier covers (findings of the
 * wanted infoTypes, the instance's own values first; unreadable lines are covered, privacy first). The OCR
 * call gets what is left of the frame's time bound. The text is freed at once, never kept or logged: the
 * memo keeps the reading's outcome (verdict, confidence, label flag) under the crop's pixels, slot (-1: no
 * memo), so the same pixels are never read twice in an instance (pixel_memo.h). */
static int read_one(stage *s, const dv_box *box, int slot, dv_ocr_prep prep, uint64_t t0, dv_pixel_verdict *v,
                    int *conf, int *label, dv_error *err)
{
    dv_pixel_worker *w = s->w;
    dv_pixel_reading r;
    if (dv_pixel_memo_get(w->memo, slot, (unsigned)prep, &r)) {
        w->stats.v[DV_PIXEL_OCR_REUSED]++;
        *v = r.verdict;
        *conf = r.conf;
        if (label)
            *label = r.label;
        return 0;
    }
    uint64_t spent = dv_px_now_ms() - t0;
    if (spent >= s->frame_ms)
        return dv_fail(err, DV_ERR_LIMIT, "frame over its %u ms bound while reading its text", s->frame_ms);
    char *text = NULL;
    size_t len = 0;
    if (dv_ocr_read_prep(w->ocr, &w->gray, box, prep, (uint32_t)(s->frame_ms - spent), &text, &len, err) != 0)
        return -1;
    w->stats.v[DV_PIXEL_OCR_READS]++;
    *v = DV_PIXEL_KEEP;
    dv_infotype why;
    *conf = dv_ocr_last_confidence(w->ocr);
    int rc = dv_pixel_classify(w->pc, s->pol, s->env->tw, s->env->plan, text, len, *conf, v, &why, err);
    int lab = rc == 0 && *v == DV_PIXEL_KEEP && dv_pixel_label_line(text, len);
    free(text);
    if (label)
        *label = lab;
    if (rc == 0) {
        r = (dv_pixel_reading){*v, *conf, lab};
        dv_pixel_memo_put(w->memo, slot, (unsigned)prep, &r);
    }
    return rc;
}

/* A box unreadable as first read whose flipped reading is this confident (0-100) and holds nothing sensitive
 * is kept: a clock or a label on a textured background whose border misled the polarity (generator seed 1:
 * 5 more non-PHI boxes intact of 341, no PHI box lost). */
#define FLIP_READ_CONF 60

/* A box decision kept under the box's ink (pixel_memo.h "ink key") for the instance's later boxes showing the
 * same ink over another background — only the two kinds that do not depend on the background's reading
 * (docs/decisions.md "Cine: a label's decision follows its ink"):
 *  - SENSITIVE read at SENS_SPREAD_CONF or more: covered again (more cover is privacy-safe; a finding at that
 *    confidence is spread to every frame of the instance anyway, dv_px_spread_sensitive);
 *  - KEEP whose first reading was overlay vocabulary only (dv_pixel_label_line: `GB`, `5 cm`, `L`) at
 *    INK_LABEL_CONF or more: the same glyphs read as a label once are a label on every frame.
 * Never an UNREADABLE verdict (the background made the reading fail: the next frame's may not), a KEEP of
 * other text (a misread ID read right on another frame: seed 6's small MR), nor a weak finding (speckle read
 * as a name) — those boxes are read again on the next frame, whose reading may then be kept.
 * [test_pixel_memo: test_ink_label_read_once, test_ink_key_background, test_ink_key_property] */
#define INK_LABEL_CONF 60
#define SENS_SPREAD_CONF 45 /* also the spread's floor (below) */

static int ink_reusable(const dv_pixel_reading *r)
{
    return (r->verdict == DV_PIXEL_SENSITIVE && r->conf >= SENS_SPREAD_CONF) ||
           (r->verdict == DV_PIXEL_KEEP && r->label && r->conf >= INK_LABEL_CONF);
}

/* A line of a multi-frame instance of COVER_REUSE_MIN_AREA px or more (its readings cost 10-30 ms) that lies
 * inside a line covered whole on an earlier frame of the instance (within 2 px, or nine tenths of its area inside
 * one: the speckle grouped with a cine's label reaches a few rows further on some frames; generator cine seed 1
 * 2.23 -> 1.74 s CPU, one non-PHI box of tfull1 and of tfull2 less intact, bench/RESULTS.md "Sensitive stage:
 * fewer readings"), with neither its ink (ink_reusable) nor its crop decided before, is covered again without
 * reading: it is decided SENSITIVE, whole (no per-line bands),
 * i.e. as covered as any reading could make it — never less redacted than reading it, at the cost of the
 * non-PHI text such a line may hold. Smaller lines are read: a label alone gets its own reading (seed 2
 * small: `AX T2 FS`, a 158x31 line read UNREADABLE once, lost 3 frames at 4096 px). docs/decisions.md "Cine: a
 * label's decision follows its ink"; the intact cost in docs/pixels.md "Sensitive cine, second pass". Labels over a
 * cine's moving speckle: the detector groups the label with speckle into lines of another size on every
 * frame, whose readings (20-30 ms each for 400-px lines) were most of the seed-4 cine's time; most come out
 * UNREADABLE and covered anyway. At most COVER_REUSE_MAX lines are remembered per instance.
 * Measured, not unit-tested yet: docs/pixels.md "Sensitive cine, second pass" (seed-4 cine). */
#define COVER_REUSE_MAX 64u
#define COVER_REUSE_MIN_AREA 12000u

static int covered_before(const dv_pixel_worker *w, const dv_box *b)
{
    for (size_t i = 0; i < w->covered.n; i++)
        if (dv_pixel_box_within(b, &w->covered.v[i]))
            return 1;
    return dv_pixel_box_share_in(b, w->covered.v, w->covered.n, 9);
}

/* read_box's flags. */
enum {
    /* a band of a sensitive block (*label wanted): stop after the first reading when it is no label line — the
     * caller covers such a band whatever the other readings say (dv_px_classify) */
    READ_BAND = 1,
    /* a line whose UNREADABLE first reading decides it (unreadable_final) */
    READ_UNREADABLE_FINAL = 2,
};

/* A line of UNREADABLE_FINAL_MIN_AREA px or more, alone (it overlaps no other line of its frame and has none
 * beside it on its row, dv_pixel_same_line), that is UNREADABLE on its first reading is decided UNREADABLE,
 * without the flipped and levelled readings (2-10 ms each on a small line, 10-100 ms on a large one: texture,
 * a sector's speckle grouped with a label). Such a line is covered whole as UNREADABLE (dv_pixel_lines_cover:
 * nothing inside it was read, it lies inside no KEEP line) and no other line's cover on its frame depends on
 * its verdict; the further readings could only make it SENSITIVE (covered too, or less: its label bands left)
 * or KEEP (left uncovered). So never less cover on its frame, at the price of whatever a flipped reading would
 * have left intact. In a multi-frame instance a SENSITIVE reading at SENS_SPREAD_CONF would also have been
 * spread to the other frames (dv_px_spread_sensitive); those frames read the same text themselves, and on the
 * tuning sets no PHI box was lost. Smaller lines (a short label alone: `L`, `5 cm`) keep their flipped
 * reading, which leaves them intact where the first polarity failed. 4000 px: tuning seeds 1-4, 6 the same
 * non-PHI boxes intact as main on the full sets, the cines 0-1 of 500 fewer; the seed-6 cine 2.96 -> 1.87 s
 * (bench/RESULTS.md "Sensitive stage: fewer readings"). [test_pixel_memo: test_unreadable_lone_line_read_once] */
#define UNREADABLE_FINAL_MIN_AREA 4000u

static int unreadable_final(const dv_box *lines, size_t n, size_t b)
{
    const dv_box *a = &lines[b];
    if ((uint64_t)a->w * a->h < UNREADABLE_FINAL_MIN_AREA)
        return 0;
    for (size_t c = 0; c < n; c++) {
        const dv_box *o = &lines[c];
        if (c == b)
            continue;
        if (dv_box_intersects(*a, *o) || dv_pixel_same_line(a, o))
            return 0;
    }
    return 1;
}

/* The tallest box spread unread (read_box): a text line's (textdetect.c MAX_H: glyphs of 28-px fonts). */
#define SPREAD_UNREAD_MAX_H 48u

/* A line of a multi-frame instance with at least half its area inside a line read SENSITIVE at
 * SENS_SPREAD_CONF or more on an earlier frame (w->sens, which dv_px_spread_sensitive covers on this frame anyway),
 * its crop not read before: covered without reading, as covered_before, and spread to every frame as that
 * line was. Reading it could only add the cover of its part outside that line, which this cover gives too;
 * on the frames where the detector cut the line shorter, the spread does (held-out seed 5: an MR cine's
 * `HARTLEY^ANNA` read sensitive on frame 0 in a box that stopped short of the last `A`). Generator cine
 * seed 2 (a bright dot moving over the name line makes it a new crop on every frame): its sensitive stage
 * 5.21 -> 2.51 s CPU, no PHI box lost (bench/RESULTS.md "Sensitive stage: fewer readings").
 * [test_pixel_memo: test_cine_sensitive_line_unread] */
static int mostly_sensitive_before(const dv_pixel_worker *w, const dv_box *b)
{
    return dv_pixel_box_share_in(b, w->sens.v, w->sens.n, 5);
}

/* A first reading of overlay vocabulary only (dv_pixel_label_line: `L`, `5 cm`, `GAIN 52`) at INK_LABEL_CONF
 * or more decides its box KEEP: the flipped and levelled readings are not made. They exist for text the first
 * reading misses (the other polarity, a varying background); a line read this confidently as a label was not
 * missed, and a label is what the ink memo already trusts that reading for on every other frame. Tuning seeds
 * 1-4, 6: same PHI recall, non-PHI intact the same or higher (bench/RESULTS.md "Sensitive stage: fewer
 * readings"). [test_pixel_memo: test_confident_label_read_once] */
static int confident_label(dv_pixel_verdict v, int label, int conf)
{
    return v == DV_PIXEL_KEEP && label && conf >= INK_LABEL_CONF;
}

/* One box read up to three ways (below); *v its verdict, *conf the confidence of the reading that decided it;
 * flags: READ_*. */
static int read_box(stage *s, const dv_box *box, uint64_t t0, unsigned flags, dv_pixel_verdict *out, int *label,
                    int *conf, int *took_cover, dv_error *err)
{
    dv_pixel_worker *w = s->w;
    dv_pixel_verdict v = DV_PIXEL_KEEP, v2 = DV_PIXEL_KEEP;
    int c1 = -1, c2 = -1, lab1 = 0;
    /* the same ink decided before in the instance (a label over a cine's moving speckle): its decision */
    int ink = !s->env->memo_off && w->memo;
    dv_pixel_reading r;
    if (ink && dv_pixel_memo_ink_get(w->memo, &w->gray, box, &r)) {
        w->stats.v[DV_PIXEL_BOX_INK_REUSED]++;
        *out = r.verdict;
        *conf = r.conf;
        if (label)
            *label = r.label;
        return 0;
    }
    int slot = s->env->memo_off == 1 ? -1 : dv_pixel_memo_slot(w->memo, &w->gray, box);
    /* a line inside one covered on an earlier frame, or mostly inside one read sensitive there, its pixels
     * not read before: covered again without reading (covered_before, mostly_sensitive_before) */
    int mostly_sensitive = 0;
    if (took_cover && ink && !dv_pixel_memo_get(w->memo, slot, DV_OCR_PREP_STRETCH, &r) &&
        ((mostly_sensitive = mostly_sensitive_before(w, box)) ||
         ((uint64_t)box->w * box->h >= COVER_REUSE_MIN_AREA && covered_before(w, box)))) {
        w->stats.v[DV_PIXEL_BOX_COVER_REUSED]++;
        *took_cover = 1;
        *out = DV_PIXEL_SENSITIVE;
        /* a text line mostly inside a line read sensitive: spread to every frame as a reading would be, its
         * finding that line's (read at SENS_SPREAD_CONF or more), so its part outside that line covers the
         * frames where the detector cut the line shorter. Not a taller box (a block of moving speckle over
         * an ultrasound sector: spread from frame to frame, their union covered a cine's labels, generator
         * cine seed 1: 395 -> 100 of 400 intact), nor one inside a line covered whole: the frames without
         * it keep theirs. */
        *conf = mostly_sensitive && box->h <= SPREAD_UNREAD_MAX_H ? SENS_SPREAD_CONF : -1;
        return 0;
    }
    if (read_one(s, box, slot, DV_OCR_PREP_STRETCH, t0, &v, &c1, &lab1, err) != 0)
        return -1;
    *conf = c1;
    if (label)
        *label = lab1;
    if ((flags & READ_BAND) && label && !*label) {
        *out = v;
        return 0; /* not the box's whole decision: not kept under its ink */
    }
    int decided = confident_label(v, lab1, c1) || ((flags & READ_UNREADABLE_FINAL) && v == DV_PIXEL_UNREADABLE);
    /* Not sensitive as read: read it again with the other polarity (dv_redact.h DV_OCR_PREP_FLIP; the
     * part of a label over bright anatomy); a finding in either reading covers it (privacy first). On
     * generator seed 1 this found 15 more PHI boxes of 325 with no more non-PHI covered
     * (docs/pixels.md "REDACT_SENSITIVE_TEXT end to end"). [test_ocr: test_flipped_reading] */
    int others = 0, others_unreadable = 0;
    if (!decided && v != DV_PIXEL_SENSITIVE) {
        if (read_one(s, box, slot, DV_OCR_PREP_FLIP, t0, &v2, &c2, NULL, err) != 0)
            return -1;
        others++, others_unreadable += v2 == DV_PIXEL_UNREADABLE;
        if (v2 == DV_PIXEL_SENSITIVE)
            v = v2, *conf = c2;
        else if (v == DV_PIXEL_UNREADABLE && v2 == DV_PIXEL_KEEP && c2 >= FLIP_READ_CONF)
            v = v2; /* read after all, with the other polarity, and nothing sensitive in it */
    }
    /* Still not sensitive, over a background that changes within the box (a line running from a black
     * corner over anatomy): a third reading with the background levelled (DV_OCR_PREP_LEVEL), where
     * both plain readings take the anatomy for ink. Held-out seed 4: 19 of 23 PHI misses were such
     * lines on the 256x256 MR (docs/pixels.md "REDACT_SENSITIVE_TEXT end to end").
     * [test_ocr: test_level_over_anatomy] */
    if (!decided && v != DV_PIXEL_SENSITIVE && dv_ocr_background_varies(&w->gray, box)) {
        if (read_one(s, box, slot, DV_OCR_PREP_LEVEL, t0, &v2, &c2, NULL, err) != 0)
            return -1;
        others++, others_unreadable += v2 == DV_PIXEL_UNREADABLE;
        if (v2 == DV_PIXEL_SENSITIVE)
            v = v2, *conf = c2;
    }
    /* a weak KEEP the other two readings could not read at all: the OCR failed (dv_pixel_weak_keep) */
    if (v == DV_PIXEL_KEEP && dv_pixel_weak_keep(c1, lab1, others, others_unreadable))
        v = DV_PIXEL_UNREADABLE;
    *out = v;
    if (label && v == DV_PIXEL_SENSITIVE)
        *label = 0;
    r = (dv_pixel_reading){v, *conf, v == DV_PIXEL_SENSITIVE ? 0 : lab1};
    if (ink && ink_reusable(&r))
        dv_pixel_memo_ink_put(w->memo, &w->gray, box, &r);
    return 0;
}

/* A line read SENSITIVE on one frame of a multi-frame instance is covered on every frame that has boxes
 * (dv_px_spread_sensitive): a cine's overlay stays where it is while the anatomy under it moves, and a reading
 * that found the text on one frame is the better of the readings (privacy first). Held-out seed 6 (looked
 * at by wp-sens3): a small MR cine's ID read on frame 0 only, an ultrasound label over the sector on 4 of
 * its 6 frames. At most this many distinct boxes are remembered per instance (the rest: each frame's own). */
#define SENS_SPREAD_MAX 64u
/* ... and only a finding read at SENS_SPREAD_CONF (45, above) or more: the lower ones are mostly a dictionary
 * name in the reading of a box of speckle (seed 6: ultrasound sectors 500 px wide read at 19-21), which one
 * frame covers and every frame would then lose (10 non-PHI boxes at no threshold). */

static int remember_sensitive(dv_pixel_worker *w, const dv_box *b, dv_error *err)
{
    for (size_t i = 0; i < w->sens.n; i++)
        if (dv_pixel_box_within(b, &w->sens.v[i]))
            return 0;
    return w->sens.n < SENS_SPREAD_MAX ? dv_boxes_add(&w->sens, *b, err) : 0;
}

/* After every frame was read: each frame with boxes also gets the remembered sensitive boxes it does not
 * already cover (dv_pixel_spread). [test_pixel_classify: test_spread] */
int dv_px_spread_sensitive(stage *s, dv_error *err)
{
    dv_pixel_worker *w = s->w;
    uint32_t nf = s->pa.number_of_frames;
    if (nf < 2 || w->sens.n == 0)
        return 0;
    size_t cap = w->nall + (size_t)nf * w->sens.n;
    dv_box *all = malloc(cap * sizeof *all);
    if (!all)
        return dv_fail(err, DV_ERR_NOMEM, "out of memory (%zu boxes)", cap);
    size_t n = dv_pixel_spread(w->all, w->start, nf, w->sens.v, w->sens.n, all);
    free(w->all);
    w->all = all;
    w->nall = n;
    w->all_cap = cap;
    return 0;
}

/* Most lines a block is split into (dv_ocr_line_bands). */
#define BLOCK_LINES_MAX 8

int dv_px_classify(stage *s, uint64_t t0, dv_error *err)
{
    dv_pixel_worker *w = s->w;
    if (dv_px_grow((void **)&w->verdicts, &w->verdicts_cap, w->lines.n, 1, err) != 0 ||
        dv_px_grow((void **)&w->part_of, &w->part_of_cap, w->lines.n + 1, sizeof *w->part_of, err) != 0)
        return -1;
    dv_boxes_clear(&w->parts);
    for (size_t b = 0; b < w->lines.n; b++) {
        dv_pixel_verdict v;
        int conf;
        int took_cover = 0;
        unsigned flags = unreadable_final(w->lines.v, w->lines.n, b) ? READ_UNREADABLE_FINAL : 0u;
        if (read_box(s, &w->lines.v[b], t0, flags, &v, NULL, &conf, s->pa.number_of_frames > 1 ? &took_cover : NULL,
                     err) != 0)
            return -1;
        /* a confident finding is remembered for the instance's other frames (dv_px_spread_sensitive) */
        w->verdicts[b] = (uint8_t)(v | (v == DV_PIXEL_SENSITIVE && conf >= SENS_SPREAD_CONF ? 0x40u : 0u));
        v = (dv_pixel_verdict)(w->verdicts[b] & 0x3Fu);
        w->part_of[b] = w->parts.n;
        /* A sensitive block of several lines (the detector grouped corner text: an institution, a date,
         * `W 400 L 40`, `5 mm`): each line read alone, and the lines read as overlay vocabulary only
         * (dv_pixel_label_line, first reading) left uncovered — the whole block when no line alone is
         * sensitive (the finding spanned lines). A line misread as something else stays covered. Seed 4:
         * 12 labels were covered with their block (docs/pixels.md). [test_ocr: test_line_bands;
         * integration.test_textdetect_score] */
        dv_box band[BLOCK_LINES_MAX];
        size_t nb = 0;
        if (v == DV_PIXEL_SENSITIVE && !took_cover)
            nb = dv_ocr_line_bands(&w->gray, &w->lines.v[b], band, BLOCK_LINES_MAX);
        size_t first = w->parts.n;
        int any = 0;
        for (size_t k = 0; k < nb; k++) {
            dv_pixel_verdict bv;
            int label = 0, bconf;
            /* a band read as no label line is covered whatever its further readings say when any band is
             * sensitive, and the whole block is covered when none is: its further readings are not made. They
             * could only make a band sensitive, which covers no more than the whole block (bench/RESULTS.md
             * "Sensitive stage: fewer readings"; the first band's were made before, wp-sensperf)
             * [test_pixel_memo: test_block_band_read_once] */
            if (read_box(s, &band[k], t0, READ_BAND, &bv, &label, &bconf, NULL, err) != 0)
                return -1;
            any |= bv == DV_PIXEL_SENSITIVE;
            if (!label && dv_boxes_add(&w->parts, band[k], err) != 0)
                return -1;
        }
        if (!any)
            w->parts.n = first; /* the whole box */
    }
    w->part_of[w->lines.n] = w->parts.n;
    for (size_t b = 0; b < w->lines.n; b++) {
        int spread = (w->verdicts[b] & 0x40u) != 0;
        w->verdicts[b] &= 0x3Fu;
        if (!spread)
            continue;
        size_t p0 = w->part_of[b], p1 = w->part_of[b + 1];
        if (p0 == p1 && remember_sensitive(w, &w->lines.v[b], err) != 0)
            return -1;
        for (size_t p = p0; p < p1; p++)
            if (remember_sensitive(w, &w->parts.v[p], err) != 0)
                return -1;
    }
    /* which lines to cover, each line's verdict seen with its neighbours' (dv_pixel_lines_cover) */
    dv_pixel_lines_cover(w->lines.v, w->lines.n, w->verdicts);
    for (size_t b = 0; b < w->lines.n; b++) {
        if (!w->verdicts[b])
            continue;
        size_t p0 = w->part_of[b], p1 = w->part_of[b + 1];
        /* remembered for covered_before: a line covered whole (a block's covered bands are not the block) */
        if (p0 == p1 && w->covered.n < COVER_REUSE_MAX && !covered_before(w, &w->lines.v[b]) &&
            dv_boxes_add(&w->covered, w->lines.v[b], err) != 0)
            return -1;
        for (size_t p = p0; p < p1; p++) /* a block's sensitive lines only */
            if (dv_boxes_add(&w->boxes, w->parts.v[p], err) != 0)
                return -1;
        if (p0 == p1 && dv_boxes_add(&w->boxes, w->lines.v[b], err) != 0)
            return -1;
        /* two covered pieces of one cut line: the gap between them too (the letters the cut fell on) */
        for (size_t c = b + 1; c < w->lines.n; c++) {
            const dv_box *p = &w->lines.v[b], *q = &w->lines.v[c];
            if (!w->verdicts[c] || !dv_pixel_same_line(p, q))
                continue;
            uint32_t x0 = p->x < q->x ? p->x : q->x, y0 = p->y < q->y ? p->y : q->y;
            uint32_t x1 = p->x + p->w > q->x + q->w ? p->x + p->w : q->x + q->w;
            uint32_t y1 = p->y + p->h > q->y + q->h ? p->y + p->h : q->y + q->h;
            if (dv_boxes_add(&w->boxes, (dv_box){x0, y0, x1 - x0, y1 - y0}, err) != 0)
                return -1;
        }
    }
    return 0;
}
