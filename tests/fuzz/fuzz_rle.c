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
    fuzz_decoded d;
    uint8_t *b = NULL;
    if (fuzz_image_decode_input("fuzz_rle", data, size, "1.2.840.10008.1.2.5", &pa, 0, &d) || !d.ok ||
        !(b = malloc(d.cap)))
        goto out;
    dv_error err = {0};
    uint8_t *enc = NULL;
    size_t enclen = 0;
    if (dv_image_encode_rle(d.ctx, &pa, &d.f, &enc, &enclen, &err))
        fuzz_image_fail("fuzz_rle", "a decoded frame does not re-encode");
    dv_pixel_attrs pr = pa;
    pr.photometric = d.f.photometric;
    dv_frame g = {.data = b, .cap = d.cap};
    if (dv_image_decode_frame(d.ctx, "1.2.840.10008.1.2.5", &pr, 0, enc, enclen, &g, &err))
        fuzz_image_fail("fuzz_rle", "our RLE output does not decode");
    if (memcmp(d.buf, b, dv_frame_bytes(&d.f)) != 0)
        fuzz_image_fail("fuzz_rle", "decode -> encode -> decode differs");
    free(enc);
out:
    free(b);
    fuzz_decoded_free(&d);
    return 0;
}
