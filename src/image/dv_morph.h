/* The square min and max filters (erosion, dilation) of text detection's top-hat (textdetect.c), in a file
 * of their own so that a test can hold them against the plain definition. */
#ifndef DV_MORPH_H
#define DV_MORPH_H

#include <stddef.h>
#include <stdint.h>

#define DV_MINMAX_K 11u /* the window's side */

/* out[y][x] = the min (is_max 0) or max of in over the K x K window centred on (x, y), clipped at the
 * picture's edges; w x h bytes, row by row. tmp: w * h bytes; row: w + K - 1 bytes; col: (h + K - 1) * w
 * bytes, all scratch. out may be in (not tmp). The same bytes as the plain definition
 * [test_textdetect: test_minmax11]. */
void dv_minmax11(const uint8_t *in, uint8_t *tmp, uint8_t *out, uint32_t w, uint32_t h, int is_max, uint8_t *row,
                 uint8_t *col);

#endif
