/* JPEG Baseline redaction in the DCT domain (internal; issue 11 item 4, jpeg_dct_redact.c).
 *
 * A lossy JPEG frame is redacted without decoding and re-encoding its pixels: the quantised DCT coefficients
 * are read with libjpeg-turbo's coefficient API, the 8x8 blocks under each box are replaced by flat blocks of
 * the darkest value, and every other block's coefficients are written back bit for bit, so the image outside
 * the boxes suffers no generation loss (decoded with the same IDCT it gives the same samples).
 *
 * Covering works on whole MCUs so every component agrees: a box is widened to the MCU grid (8x8 pixels for
 * greyscale and 4:4:4, 16x8 for 4:2:2, 16x16 for 4:2:0) and clipped to the image, and in each covered MCU
 * every block of every component is made flat: luma (or each R, G, B component of a stream stored as RGB)
 * to the DC that decodes to the darkest displayed sample (0; 255 for MONOCHROME1, which shows high values
 * dark), Cb and Cr to DC 0 (neutral grey, so the box is black, not tinted), all AC coefficients 0.
 * [test_jpeg_dct: test_dct_blocks_outside_identical, test_dct_sampling_factors] */
#ifndef DV_JPEG_DCT_H
#define DV_JPEG_DCT_H

#include <stddef.h>
#include <stdint.h>
#include "dicomveil/dv_error.h"
#include "image/dv_image.h"
#include "image/dv_redact.h"

/* Redact one JPEG Baseline / 8-bit Extended (Huffman, sequential) frame of len bytes at in, whose pixel
 * attributes are pa (the header must agree, as for decoding: Columns, Rows, SamplesPerPixel), covering
 * every box of boxes (frame pixels; boxes are used as given: pad them before; empty boxes and boxes outside
 * the frame cover nothing). On success *out is a malloc'd JPEG stream (owned by the caller: free()) of even
 * length *out_len (a 0x00 byte after EOI when needed, as DICOM fragments are even), with the input's APPn and
 * COM markers, component identifiers, sampling factors, quantisation tables and restart interval; and when
 * covered is not NULL (boxes->n entries) covered[i] is the pixel rectangle actually covered for box i (MCU
 * aligned, clipped; w or h 0 when it covered nothing).
 * Returns 0, or -1 with err and *out NULL: DV_ERR_UNSUPPORTED for progressive, arithmetic-coded, lossless or
 * 12-bit streams (the pixel stage then decodes, paints and re-encodes instead), DV_ERR_MALFORMED for a
 * stream libjpeg refuses, that ends early or disagrees with pa, DV_ERR_LIMIT when len exceeds the default
 * dv_image_limits max_encoded_bytes or the frame its max_frame_bytes (checked before libjpeg sees the data),
 * DV_ERR_NOMEM. libjpeg never prints and never exits; every libjpeg allocation is released on every path. */
int dv_jpeg_dct_redact(const dv_pixel_attrs *pa, const uint8_t *in, size_t len, const dv_boxes *boxes,
                       uint8_t **out, size_t *out_len, dv_box *covered, dv_error *err);

#endif
