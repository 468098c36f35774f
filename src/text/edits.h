/* Edit distance (Levenshtein) between OCR readings and the words they may stand for: one home for the
 * table's step, used by the overlay cues (pixel_classify.c cue_near) and the OCR-tolerant match of the
 * instance's own values (denylist.c dv_denylist_match_ocr) [test_edits]. */
#ifndef DV_TEXT_EDITS_H
#define DV_TEXT_EDITS_H

#include <stddef.h>

/* Longest string dv_edit_distance measures (bytes). */
#define DV_EDITS_MAX 64u

/* One column of the edit table between key[0, m) and a text read one character at a time: on entry row[j]
 * (j = 0..m) holds the edits between key[0, j) and the text so far (row[0]: the text's length so far; start
 * with row[j] = j), on return the same with c appended to the text. row has m + 1 entries (the caller's).
 * Returns the smallest entry of the new column: when it exceeds a bound, no extension of the text comes
 * back under it (the caller may stop). */
unsigned dv_edits_step(unsigned *row, const char *key, size_t m, char c);

/* Edits between a[0, n) and b[0, m) (byte for byte); both at most DV_EDITS_MAX bytes, else UINT_MAX. */
unsigned dv_edit_distance(const char *a, size_t n, const char *b, size_t m);

#endif
