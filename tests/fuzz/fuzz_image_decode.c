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
    uint32_t frame = sel <= 1 ? pa.number_of_frames - 1 : 0;
    fuzz_decoded d;
    if (fuzz_image_decode_input("fuzz_image_decode", data, size, ts, &pa, frame, &d) == 0 && d.ok) {
        /* lossless JPEG-LS re-encode of whatever decoded: it must decode back identically */
        dv_error err = {0};
        uint8_t *enc = NULL, *b = NULL;
        size_t elen = 0;
        if (d.f.sample_bytes <= 2 && pa.bits_stored >= 2 &&
            dv_image_encode_jpegls(d.ctx, &pa, &d.f, &enc, &elen, &err) == 0) {
            dv_pixel_attrs pj = pa;
            pj.number_of_frames = 1;
            pj.photometric = d.f.photometric;
            b = malloc(d.cap);
            dv_frame g = {.data = b, .cap = d.cap};
            if (!b || dv_image_decode_frame(d.ctx, "1.2.840.10008.1.2.4.80", &pj, 0, enc, elen, &g, &err) ||
                memcmp(d.buf, b, dv_frame_bytes(&d.f)) != 0)
                fuzz_image_fail("fuzz_image_decode", "JPEG-LS encode -> decode differs");
        }
        free(enc);
        free(b);
    }
    fuzz_decoded_free(&d);
    return 0;
}
