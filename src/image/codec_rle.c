/* RLE Lossless (PS3.5 Annex G), ours: decode and encode.
 *
 * A frame is a 64-byte header (segment count 1..15, then 15 little-endian offsets) followed by PackBits
 * segments, one per byte plane: for each sample, its most significant byte first (G.2). Each segment
 * decodes to Rows x Columns bytes, which land directly in the canonical frame at the byte position of their
 * significance (no scratch buffer, no per-byte calls). Hostile headers (a count that does not match the
 * attributes, offsets out of order or beyond the frame, a segment that decodes short) are DV_ERR_MALFORMED;
 * a segment that decodes long is cut at Rows x Columns bytes (some encoders pad each row).
 * [test_image_rle, fuzz_rle, integration.test_image_decode] */
#include "dv_image.h"

#include <stdlib.h>
#include <string.h>

#define RLE_HEADER 64u
#define RLE_MAX_SEGMENTS 15u

static uint32_t rd32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int host_little_endian(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

/* Byte offset, inside a container of nbytes, of the byte with significance sig (0 = least significant). */
static uint32_t byte_pos(uint32_t sig, uint32_t nbytes)
{
    return host_little_endian() ? sig : nbytes - 1 - sig;
}

/* PackBits-decode src[0..n) into n_out bytes written at dst[0], dst[stride], ... Returns the number of
 * bytes produced (< n_out when the segment is short). */
static size_t unpack_segment(const uint8_t *src, size_t n, uint8_t *dst, size_t stride, size_t n_out)
{
    size_t i = 0, o = 0;
    while (i < n && o < n_out) {
        int8_t h = (int8_t)src[i++];
        if (h >= 0) {
            size_t cnt = (size_t)h + 1;
            if (cnt > n - i)
                cnt = n - i; /* literal run truncated by the segment end: take what is there */
            if (cnt > n_out - o)
                cnt = n_out - o;
            for (size_t k = 0; k < cnt; k++)
                dst[(o + k) * stride] = src[i + k];
            i += cnt;
            o += cnt;
        } else if (h != -128) {
            if (i >= n)
                break;
            size_t cnt = (size_t)(1 - h);
            uint8_t v = src[i++];
            if (cnt > n_out - o)
                cnt = n_out - o;
            for (size_t k = 0; k < cnt; k++)
                dst[(o + k) * stride] = v;
            o += cnt;
        }
    }
    return o;
}

int dv_rle_decode(const dv_pixel_attrs *pa, const uint8_t *data, size_t len, dv_frame *out, dv_error *err)
{
    dv_photometric photo = pa->photometric == DV_PHOTO_YBR_FULL_422 ? DV_PHOTO_YBR_FULL : pa->photometric;
    if (pa->bits_allocated == 1)
        return dv_fail(err, DV_ERR_UNSUPPORTED, "RLE with BitsAllocated 1");
    if (dv_frame_prepare(pa, out, photo, err))
        return -1;
    if (len < RLE_HEADER)
        return dv_fail(err, DV_ERR_MALFORMED, "RLE frame of %zu bytes has no 64-byte header", len);
    uint32_t bps = out->sample_bytes, spp = out->samples;
    uint32_t nseg = rd32le(data);
    if (nseg != spp * bps || nseg > RLE_MAX_SEGMENTS)
        return dv_fail(err, DV_ERR_MALFORMED, "RLE header: the segment count is not the %u the attributes need",
                       spp * bps);
    size_t npix = (size_t)out->width * out->height;
    size_t stride = (size_t)spp * bps;
    uint8_t *dst = out->data;
    for (uint32_t seg = 0; seg < nseg; seg++) {
        uint32_t start = rd32le(data + 4 + 4 * seg);
        uint32_t end = seg + 1 < nseg ? rd32le(data + 8 + 4 * seg) : (uint32_t)(len > UINT32_MAX ? UINT32_MAX : len);
        if (start < RLE_HEADER || start > end || end > len)
            return dv_fail(err, DV_ERR_MALFORMED, "RLE segment %u: its offsets are out of order or outside the "
                           "%zu-byte frame", seg, len);
        uint32_t s = seg / bps, sig = bps - 1 - seg % bps; /* most significant byte first (G.2) */
        size_t got = unpack_segment(data + start, end - start, dst + (size_t)s * bps + byte_pos(sig, bps), stride,
                                    npix);
        if (got < npix)
            return dv_fail(err, DV_ERR_MALFORMED, "RLE segment %u decodes to %zu of %zu bytes", seg, got, npix);
    }
    dv_frame_normalise(out);
    return 0;
}

/* PackBits-encode n bytes read at src[0], src[stride], ... into dst; returns bytes written. Replicate runs
 * of 3 or more, literal runs otherwise, never longer than 128 (G.3.1); the caller encodes row by row. */
static size_t pack_row(const uint8_t *src, size_t stride, size_t n, uint8_t *dst)
{
    size_t i = 0, o = 0;
    while (i < n) {
        size_t run = 1;
        while (i + run < n && run < 128 && src[(i + run) * stride] == src[i * stride])
            run++;
        if (run >= 3) {
            dst[o++] = (uint8_t)(257 - run);
            dst[o++] = src[i * stride];
            i += run;
            continue;
        }
        size_t lit = 0; /* extend the literal until a run of 3 starts or 128 bytes */
        while (i + lit < n && lit < 128) {
            size_t j = i + lit;
            if (j + 2 < n && src[j * stride] == src[(j + 1) * stride] && src[j * stride] == src[(j + 2) * stride])
                break;
            lit++;
        }
        dst[o++] = (uint8_t)(lit - 1);
        for (size_t k = 0; k < lit; k++)
            dst[o++] = src[(i + k) * stride];
        i += lit;
    }
    return o;
}

int dv_rle_encode(const dv_pixel_attrs *pa, const dv_frame *frame, uint8_t **out_buf, size_t *out_len,
                  dv_error *err)
{
    *out_buf = NULL;
    *out_len = 0;
    uint32_t bps = frame->sample_bytes, spp = frame->samples;
    if (pa->bits_allocated == 1 || bps != dv_sample_bytes(pa) || spp != pa->samples_per_pixel ||
        frame->width != pa->columns || frame->height != pa->rows)
        return dv_fail(err, DV_ERR_USAGE, "RLE encode: frame does not match the pixel attributes");
    uint32_t nseg = spp * bps;
    if (nseg > RLE_MAX_SEGMENTS)
        return dv_fail(err, DV_ERR_UNSUPPORTED, "RLE encode: %u segments", nseg);
    size_t w = frame->width, h = frame->height, stride = (size_t)spp * bps;
    /* Worst case per row: one header byte per 128 literals. Sizes are bounded by the validated frame. */
    size_t row_max = w + (w + 127) / 128;
    size_t seg_max = row_max * h + 1;
    size_t cap = RLE_HEADER + (size_t)nseg * seg_max;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return dv_fail(err, DV_ERR_NOMEM, "RLE encode: %zu bytes", cap);
    memset(buf, 0, RLE_HEADER);
    buf[0] = (uint8_t)nseg;
    size_t o = RLE_HEADER;
    const uint8_t *src = frame->data;
    for (uint32_t seg = 0; seg < nseg; seg++) {
        if (o > UINT32_MAX) {
            free(buf);
            return dv_fail(err, DV_ERR_LIMIT, "RLE frame over 4 GiB");
        }
        uint32_t off = (uint32_t)o;
        for (int k = 0; k < 4; k++)
            buf[4 + 4 * seg + (uint32_t)k] = (uint8_t)(off >> (8 * k));
        uint32_t s = seg / bps, sig = bps - 1 - seg % bps;
        const uint8_t *plane = src + (size_t)s * bps + byte_pos(sig, bps);
        for (size_t y = 0; y < h; y++)
            o += pack_row(plane + y * w * stride, stride, w, buf + o);
        if (o & 1)
            buf[o++] = 0x80; /* even segment length (G.5); 0x80 is PackBits' no-op */
    }
    *out_buf = buf;
    *out_len = o;
    return 0;
}
