/* Test-only: the rendered overlay lines of tests/ocr/render_overlays.py (rendered at test time into a
 * directory, read back here), for the OCR unit test and the sensitive-box scorer. */
#ifndef DV_OVERLAY_LINES_H
#define DV_OVERLAY_LINES_H

#include <stddef.h>
#include "image/dv_redact.h"

typedef struct dvt_line {
    dv_gray8 img;       /* the picture (owned) */
    dv_box box;         /* the text's box (padded 3 px) */
    int phi;            /* 1: PHI line, 0: non-PHI label */
    char kind[16];      /* name, id, date, institution, label */
    int size;           /* font size in px */
    char font[48], colour[24], background[16];
    char text[128];     /* what was drawn */
    /* The synthetic patient's header values the line belongs to. */
    char family[48], given[48], patient_id[32], birth_date[16], study_date[16], institution[64];
} dvt_line;

typedef struct dvt_lines {
    dvt_line *v;
    size_t n;
} dvt_lines;

/* Render count lines (seed) with /usr/bin/python3 tests/ocr/render_overlays.py into dir (created), then
 * load them. 0, or -1 (message on stderr). */
int dvt_lines_render(const char *source_dir, const char *dir, int count, int seed, dvt_lines *out);
/* Load dir/lines.tsv and its PGM files. 0 or -1. */
int dvt_lines_load(const char *dir, dvt_lines *out);
void dvt_lines_free(dvt_lines *l);

/* Upper-case letters and digits of s only (what an OCR comparison should look at) into out. */
void dvt_fold_alnum(const char *s, char *out, size_t cap);
/* Levenshtein distance of two short strings (<= 255 bytes). */
int dvt_edit_distance(const char *a, const char *b);

#endif
