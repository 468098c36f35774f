/* libFuzzer target: our RLE Lossless decoder and encoder (src/image/codec_rle.c).
 *
 * Input: the 8-byte attribute prefix of fuzz_image_common.h, then one RLE frame. Invariants (abort):
 * a decoded sample stays within BitsStored; when the frame decodes, encoding it and decoding the result
 * gives identical samples (the round trip of issue 11). Memory safety and leaks: ASan/LSan. */
#include "fuzz_image_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dv_pixel_attrs pa;
    if (fuzz_image_attrs(data, size, &pa))
        return 0;
    dv_image_ctx *ctx = dv_image_ctx_new(NULL);
    size_t cap = dv_image_frame_capacity(&pa, DV_TSF_RLE, NULL, NULL);
    uint8_t *a = cap ? malloc(cap) : NULL, *b = cap ? malloc(cap) : NULL;
    /* exactly-sized copy: any read past the frame is an ASan report */
    size_t n = size - FUZZ_IMAGE_PREFIX;
    uint8_t *in = malloc(n ? n : 1);
    if (!ctx || !a || !b || !in)
        goto out;
    memcpy(in, data + FUZZ_IMAGE_PREFIX, n);
    dv_error err = {0};
    dv_frame f = {.data = a, .cap = cap};
    if (dv_image_decode_frame(ctx, "1.2.840.10008.1.2.5", &pa, 0, in, n, &f, &err) == 0) {
        fuzz_image_check_range("fuzz_rle", &f);
        uint8_t *enc = NULL;
        size_t enclen = 0;
        if (dv_image_encode_rle(ctx, &pa, &f, &enc, &enclen, &err))
            fuzz_image_fail("fuzz_rle", "a decoded frame does not re-encode");
        dv_pixel_attrs pr = pa;
        pr.photometric = f.photometric;
        dv_frame g = {.data = b, .cap = cap};
        if (dv_image_decode_frame(ctx, "1.2.840.10008.1.2.5", &pr, 0, enc, enclen, &g, &err))
            fuzz_image_fail("fuzz_rle", "our RLE output does not decode");
        if (memcmp(a, b, dv_frame_bytes(&f)) != 0)
            fuzz_image_fail("fuzz_rle", "decode -> encode -> decode differs");
        free(enc);
    } else if (memchr(err.message, '\0', sizeof err.message) == NULL) {
        fuzz_image_fail("fuzz_rle", "error message not terminated");
    }
out:
    free(in);
    free(a);
    free(b);
    dv_image_ctx_free(ctx);
    return 0;
}
