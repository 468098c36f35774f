/* libFuzzer target: our JPEG Lossless (process 14) decoder (src/image/codec_jpeg_lossless.c).
 *
 * Input: the 8-byte attribute prefix of fuzz_image_common.h, then one JPEG lossless frame. Invariant
 * (abort): a decoded sample stays within BitsStored. Memory safety, leaks and hangs: ASan/LSan and the
 * fuzzer's timeout (every decoder loop is bounded by the frame size). */
#include "fuzz_image_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dv_pixel_attrs pa;
    if (fuzz_image_attrs(data, size, &pa))
        return 0;
    dv_image_ctx *ctx = dv_image_ctx_new(NULL);
    size_t cap = dv_image_frame_capacity(&pa, DV_TSF_JPEG_LOSSLESS, NULL, NULL);
    uint8_t *a = cap ? malloc(cap) : NULL;
    size_t n = size - FUZZ_IMAGE_PREFIX;
    uint8_t *in = malloc(n ? n : 1);
    if (ctx && a && in) {
        memcpy(in, data + FUZZ_IMAGE_PREFIX, n);
        dv_error err = {0};
        dv_frame f = {.data = a, .cap = cap};
        if (dv_image_decode_frame(ctx, "1.2.840.10008.1.2.4.70", &pa, 0, in, n, &f, &err) == 0)
            fuzz_image_check_range("fuzz_jpeg_lossless", &f);
        else if (memchr(err.message, '\0', sizeof err.message) == NULL)
            fuzz_image_fail("fuzz_jpeg_lossless", "error message not terminated");
    }
    free(in);
    free(a);
    dv_image_ctx_free(ctx);
    return 0;
}
