/* libFuzzer target: every decoder behind dv_image_decode_frame, chiefly the library-backed wrappers
 * (libjpeg-turbo, CharLS, OpenJPEG incl. HTJ2K, zlib) and the native decoder.
 *
 * Input: the 8-byte attribute prefix of fuzz_image_common.h; byte 0 % 8 chooses the transfer syntax:
 * 0 native LE, 1 native BE, 2 JPEG baseline, 3 JPEG-LS, 4 JPEG 2000, 5 HTJ2K, 6 deflated frame, 7 RLE.
 * The rest is the frame (native: the whole PixelData value; frame index = last frame). Invariant (abort):
 * a decoded sample stays within BitsStored. Memory safety and leaks: ASan/LSan. */
#include "fuzz_image_common.h"

static const char *const ts_by_selector[8] = {
    "1.2.840.10008.1.2.1",    "1.2.840.10008.1.2.2",   "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.80",
    "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.203", "1.2.840.10008.1.2.8.1", "1.2.840.10008.1.2.5",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dv_pixel_attrs pa;
    if (fuzz_image_attrs(data, size, &pa))
        return 0;
    unsigned sel = data[0] % 8;
    pa.big_endian = sel == 1;
    const char *ts = ts_by_selector[sel];
    dv_image_ctx *ctx = dv_image_ctx_new(NULL);
    size_t cap = dv_image_frame_capacity(&pa, dv_ts_family_of(ts), NULL, NULL);
    uint8_t *a = cap ? malloc(cap) : NULL;
    size_t n = size - FUZZ_IMAGE_PREFIX;
    uint8_t *in = malloc(n ? n : 1);
    if (ctx && a && in) {
        memcpy(in, data + FUZZ_IMAGE_PREFIX, n);
        dv_error err = {0};
        dv_frame f = {.data = a, .cap = cap};
        uint32_t frame = sel <= 1 ? pa.number_of_frames - 1 : 0;
        if (dv_image_decode_frame(ctx, ts, &pa, frame, in, n, &f, &err) == 0)
            fuzz_image_check_range("fuzz_image_decode", &f);
        else if (memchr(err.message, '\0', sizeof err.message) == NULL)
            fuzz_image_fail("fuzz_image_decode", "error message not terminated");
    }
    free(in);
    free(a);
    dv_image_ctx_free(ctx);
    return 0;
}
