/* Native (uncompressed) pixel data: one frame out of a PixelData value, into the canonical layout.
 * Handles BitsAllocated 1 (bit-packed, LSB first, frames not byte aligned: PS3.5 8.1.1), 8, 16 and 32 in
 * either byte order, planar configuration 0/1 and YBR_FULL_422 (upsampled to YBR_FULL). [test_image_native,
 * integration.test_image_decode] */
#include "dv_image.h"

#include <string.h>

/* Sample s of pixel p in a stored frame: interleaved or planar. Loops below are typed per container size;
 * no per-sample function pointers (the performance note of issue 11). */
static inline size_t stored_index(size_t pixel, uint32_t s, uint32_t spp, size_t npix, int planar)
{
    return planar ? (size_t)s * npix + pixel : pixel * spp + s;
}

static void copy8(uint8_t *dst, const uint8_t *src, size_t npix, uint32_t spp, int planar)
{
    if (!planar || spp == 1) {
        memcpy(dst, src, npix * spp);
        return;
    }
    for (size_t p = 0; p < npix; p++)
        for (uint32_t s = 0; s < spp; s++)
            dst[p * spp + s] = src[stored_index(p, s, spp, npix, 1)];
}

static void copy16(uint16_t *dst, const uint8_t *src, size_t npix, uint32_t spp, int planar, int be)
{
    for (size_t p = 0; p < npix; p++)
        for (uint32_t s = 0; s < spp; s++) {
            const uint8_t *b = src + 2 * stored_index(p, s, spp, npix, planar);
            dst[p * spp + s] = be ? (uint16_t)(b[0] << 8 | b[1]) : (uint16_t)(b[1] << 8 | b[0]);
        }
}

static void copy32(uint32_t *dst, const uint8_t *src, size_t npix, uint32_t spp, int planar, int be)
{
    for (size_t p = 0; p < npix; p++)
        for (uint32_t s = 0; s < spp; s++) {
            const uint8_t *b = src + 4 * stored_index(p, s, spp, npix, planar);
            dst[p * spp + s] = be ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]
                                  : (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
        }
}

/* YBR_FULL_422 stores Y0 Y1 Cb Cr for each horizontal pixel pair (PS3.3 C.7.6.3.1.2); the canonical frame
 * repeats the pair's chroma for both pixels (YBR_FULL). 8 and 16 bits. */
static void expand422_8(uint8_t *dst, const uint8_t *src, size_t npairs)
{
    for (size_t i = 0; i < npairs; i++, src += 4, dst += 6) {
        dst[0] = src[0]; dst[1] = src[2]; dst[2] = src[3];
        dst[3] = src[1]; dst[4] = src[2]; dst[5] = src[3];
    }
}

static void expand422_16(uint16_t *dst, const uint8_t *src, size_t npairs, int be)
{
    for (size_t i = 0; i < npairs; i++, src += 8, dst += 6) {
        uint16_t v[4];
        for (int k = 0; k < 4; k++)
            v[k] = be ? (uint16_t)(src[2 * k] << 8 | src[2 * k + 1]) : (uint16_t)(src[2 * k + 1] << 8 | src[2 * k]);
        dst[0] = v[0]; dst[1] = v[2]; dst[2] = v[3];
        dst[3] = v[1]; dst[4] = v[2]; dst[5] = v[3];
    }
}

int dv_native_decode(const dv_pixel_attrs *pa, uint32_t frame_index, const uint8_t *data, size_t len,
                     dv_frame *out, dv_error *err)
{
    int ybr422 = pa->photometric == DV_PHOTO_YBR_FULL_422;
    if (dv_frame_prepare(pa, out, ybr422 ? DV_PHOTO_YBR_FULL : pa->photometric, err))
        return -1;
    size_t npix = (size_t)pa->rows * pa->columns;
    uint64_t bit0 = pa->native_frame_bits * frame_index; /* fits: checked against the value length */
    if (pa->bits_allocated == 1) {
        if ((bit0 + pa->native_frame_bits + 7) / 8 > len)
            return dv_fail(err, DV_ERR_MALFORMED, "native frame %u beyond the %zu-byte pixel data", frame_index, len);
        uint8_t *dst = out->data;
        for (size_t i = 0; i < npix; i++) {
            uint64_t b = bit0 + i;
            dst[i] = (uint8_t)(data[b >> 3] >> (b & 7) & 1u);
        }
        return 0;
    }
    uint64_t off = bit0 / 8;
    if (off > len || pa->native_frame_bytes > len - off)
        return dv_fail(err, DV_ERR_MALFORMED, "native frame %u beyond the %zu-byte pixel data", frame_index, len);
    const uint8_t *src = data + off;
    int planar = pa->planar_configuration == 1;
    if (ybr422) {
        if (pa->columns % 2 || planar)
            return dv_fail(err, DV_ERR_MALFORMED, "native YBR_FULL_422 needs an even width and interleaved samples");
        if (pa->bits_allocated == 8)
            expand422_8(out->data, src, npix / 2);
        else if (pa->bits_allocated == 16)
            expand422_16(out->data, src, npix / 2, pa->big_endian);
        else
            return dv_fail(err, DV_ERR_UNSUPPORTED, "YBR_FULL_422 with BitsAllocated %u", pa->bits_allocated);
    } else if (pa->bits_allocated == 8) {
        copy8(out->data, src, npix, pa->samples_per_pixel, planar);
    } else if (pa->bits_allocated == 16) {
        copy16(out->data, src, npix, pa->samples_per_pixel, planar, pa->big_endian);
    } else {
        copy32(out->data, src, npix, pa->samples_per_pixel, planar, pa->big_endian);
    }
    dv_frame_normalise(out);
    return 0;
}
