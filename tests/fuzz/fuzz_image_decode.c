/* libFuzzer target: every decoder behind dv_image_decode_frame, chiefly the library-backed wrappers
 * (libjpeg-turbo, CharLS, OpenJPEG incl. HTJ2K, zlib) and the native decoder.
 *
 * Input: the 8-byte attribute prefix of fuzz_image_common.h; byte 0 % 8 chooses the transfer syntax:
 * 0 native LE, 1 native BE, 2 JPEG baseline, 3 JPEG-LS, 4 JPEG 2000, 5 HTJ2K, 6 deflated frame, 7 RLE.
 * The rest is the frame (native: the whole PixelData value; frame index = last frame). Invariants (abort):
 * a decoded sample stays within BitsStored; a decoded frame re-encoded as lossless JPEG-LS decodes back
 * identically. Memory safety and leaks: ASan/LSan. */
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
        if (dv_image_decode_frame(ctx, ts, &pa, frame, in, n, &f, &err) == 0) {
            fuzz_image_check_range("fuzz_image_decode", &f);
            /* lossless JPEG-LS re-encode of whatever decoded: it must decode back identically */
            uint8_t *enc = NULL, *b = NULL;
            size_t elen = 0;
            if (f.sample_bytes <= 2 && pa.bits_stored >= 2 &&
                dv_image_encode_jpegls(ctx, &pa, &f, &enc, &elen, &err) == 0) {
                dv_pixel_attrs pj = pa;
                pj.number_of_frames = 1;
                pj.photometric = f.photometric;
                b = malloc(cap);
                dv_frame g = {.data = b, .cap = cap};
                if (!b || dv_image_decode_frame(ctx, "1.2.840.10008.1.2.4.80", &pj, 0, enc, elen, &g, &err) ||
                    memcmp(a, b, dv_frame_bytes(&f)) != 0)
                    fuzz_image_fail("fuzz_image_decode", "JPEG-LS encode -> decode differs");
            }
            free(enc);
            free(b);
        }
        else if (memchr(err.message, '\0', sizeof err.message) == NULL)
            fuzz_image_fail("fuzz_image_decode", "error message not terminated");
    }
    free(in);
    free(a);
    dv_image_ctx_free(ctx);
    return 0;
}
