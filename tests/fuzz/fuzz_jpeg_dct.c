/* libFuzzer target: JPEG Baseline redaction in the DCT domain (src/image/jpeg_dct_redact.c).
 *
 * Input: the 8-byte attribute prefix of fuzz_image_common.h (byte 0: number of boxes, 0-7), then 8 bytes per
 * box (x, y, w, h as little-endian 16-bit), then one JPEG frame. Invariants (abort): on success the output
 * has even length, every covered rectangle lies inside the frame and contains its box's part inside the
 * frame, the output decodes with our decoder under the same attributes, and redacting the output again with
 * the same boxes gives the same bytes (the covered blocks are already flat; everything else is copied).
 * Memory safety and leaks (libjpeg's objects and our buffers on every error path): ASan/LSan.
 * Seeds: tests/fuzz/corpus/jpeg_dct/ (tests/fuzz/make_image_seeds.py, dct_seeds). */
#include "fuzz_image_common.h"
#include "image/dv_jpeg_dct.h"

#define TS_BASELINE "1.2.840.10008.1.2.4.50"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dv_pixel_attrs pa;
    if (fuzz_image_attrs(data, size, &pa))
        return 0;
    size_t nb = data[0] & 7;
    if (size < FUZZ_IMAGE_PREFIX + 8 * nb)
        return 0;
    dv_box bx[8];
    const uint8_t *p = data + FUZZ_IMAGE_PREFIX;
    for (size_t i = 0; i < nb; i++, p += 8)
        bx[i] = (dv_box){(uint32_t)(p[0] | p[1] << 8), (uint32_t)(p[2] | p[3] << 8), (uint32_t)(p[4] | p[5] << 8),
                         (uint32_t)(p[6] | p[7] << 8)};
    dv_boxes boxes = {bx, nb, 8};
    /* exactly-sized copy: any read past the frame is an ASan report */
    size_t n = size - (size_t)(p - data);
    uint8_t *in = malloc(n ? n : 1);
    if (!in)
        return 0;
    memcpy(in, p, n);
    uint8_t *out = NULL, *again = NULL, *pix = NULL;
    size_t on = 0, an = 0;
    dv_box cov[8], cov2[8];
    dv_error err = {0};
    dv_image_ctx *ctx = NULL;
    if (dv_jpeg_dct_redact(&pa, in, n, &boxes, &out, &on, cov, &err) != 0) {
        if (out || memchr(err.message, '\0', sizeof err.message) == NULL)
            fuzz_image_fail("fuzz_jpeg_dct", "failure left an output or an unterminated message");
        goto done;
    }
    if (on == 0 || on % 2)
        fuzz_image_fail("fuzz_jpeg_dct", "output of odd or zero length");
    for (size_t i = 0; i < nb; i++) {
        if (!cov[i].w)
            continue;
        if ((uint64_t)cov[i].x + cov[i].w > pa.columns || (uint64_t)cov[i].y + cov[i].h > pa.rows ||
            cov[i].x > bx[i].x || cov[i].y > bx[i].y ||
            (uint64_t)cov[i].x + cov[i].w < ((uint64_t)bx[i].x + bx[i].w < pa.columns ? bx[i].x + bx[i].w : pa.columns) ||
            (uint64_t)cov[i].y + cov[i].h < ((uint64_t)bx[i].y + bx[i].h < pa.rows ? bx[i].y + bx[i].h : pa.rows))
            fuzz_image_fail("fuzz_jpeg_dct", "covered rectangle does not cover its box within the frame");
    }
    ctx = dv_image_ctx_new(NULL);
    size_t cap = dv_image_frame_capacity(&pa, DV_TSF_JPEG_BASELINE, NULL, NULL);
    pix = cap ? malloc(cap) : NULL;
    if (!ctx || !pix)
        goto done;
    dv_frame f = {.data = pix, .cap = cap};
    if (dv_image_decode_frame(ctx, TS_BASELINE, &pa, 0, out, on, &f, &err) != 0)
        fuzz_image_fail("fuzz_jpeg_dct", "redacted output does not decode");
    if (dv_jpeg_dct_redact(&pa, out, on, &boxes, &again, &an, cov2, &err) != 0)
        fuzz_image_fail("fuzz_jpeg_dct", "redacted output cannot be redacted again");
    if (an != on || memcmp(again, out, on) != 0)
        fuzz_image_fail("fuzz_jpeg_dct", "redacting twice changes the output");
done:
    free(again);
    free(out);
    free(pix);
    dv_image_ctx_free(ctx);
    free(in);
    return 0;
}
