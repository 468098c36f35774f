/* Deflated Image Frame Compression (1.2.840.10008.1.2.8.1): each frame is a native little-endian frame
 * compressed with Deflate (RFC 1951). Inflated into a buffer of exactly one native frame, so a
 * decompression bomb stops at the frame size (DV_ERR_MALFORMED: "more than one frame"), then decoded by the
 * native codec. A zlib-wrapped stream is accepted too (some writers add the RFC 1950 header).
 * [integration.test_image_decode over pydicom-data/liver_deflate.dcm] */
#include "dv_image.h"

#include <stdlib.h>
#include <zlib.h>

static int inflate_into(const uint8_t *data, size_t len, uint8_t *dst, size_t cap, int window_bits, size_t *got)
{
    z_stream zs = {0};
    if (inflateInit2(&zs, window_bits) != Z_OK)
        return -1;
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)len;
    zs.next_out = dst;
    zs.avail_out = (uInt)cap;
    int r = inflate(&zs, Z_FINISH);
    *got = cap - zs.avail_out;
    int overflow = r == Z_BUF_ERROR && zs.avail_out == 0 && zs.avail_in > 0;
    inflateEnd(&zs);
    if (r == Z_STREAM_END)
        return 0;
    return overflow ? 1 : -1;
}

int dv_deflate_frame_decode(const dv_pixel_attrs *pa, const uint8_t *data, size_t len, dv_frame *out,
                            dv_error *err)
{
    if (len > 0xFFFFFFFFu || pa->native_frame_bytes > 0xFFFFFFFFu)
        return dv_fail(err, DV_ERR_LIMIT, "deflated frame over 4 GiB");
    size_t cap = (size_t)pa->native_frame_bytes;
    uint8_t *buf = malloc(cap + 1); /* one spare byte: output beyond a frame is detected, not written */
    if (!buf)
        return dv_fail(err, DV_ERR_NOMEM, "deflated frame of %zu bytes", cap);
    size_t got = 0;
    int r = inflate_into(data, len, buf, cap + 1, -15, &got);
    if (r < 0)
        r = inflate_into(data, len, buf, cap + 1, 15 + 32, &got);
    int rc;
    if (r != 0 || got != cap) {
        rc = dv_fail(err, DV_ERR_MALFORMED, "deflated frame inflates to %s%zu bytes, one frame is %zu",
                     r > 0 ? "more than " : "", got, cap);
    } else {
        dv_pixel_attrs one = *pa;
        one.big_endian = 0;
        one.number_of_frames = 1;
        rc = dv_native_decode(&one, 0, buf, cap, out, err);
    }
    free(buf);
    return rc;
}
