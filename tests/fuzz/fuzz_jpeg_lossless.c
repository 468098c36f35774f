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
    fuzz_decoded d;
    (void)fuzz_image_decode_input("fuzz_jpeg_lossless", data, size, "1.2.840.10008.1.2.4.70", &pa, 0, &d);
    fuzz_decoded_free(&d);
    return 0;
}
