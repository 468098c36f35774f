/* A small PNG writer over zlib (dv_render.h, dv_png_encode): 8-bit greyscale or truecolour, no interlace,
 * filter type 0 per row except "Up" (2), which compresses the smooth images of medical frames better at no
 * cost. Chunks: IHDR, IDAT (split at 1 MiB), IEND, each with its CRC-32 (PNG spec, ISO/IEC 15948 5.3).
 * [integration.test_cli_render: Python's zlib/struct re-read every chunk and CRC] */
#include "dv_render.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define IDAT_MAX (1u << 20)

typedef struct pbuf {
    uint8_t *b;
    size_t len, cap;
} pbuf;

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Append one chunk (the buffer is sized in advance: never grows here). */
static void chunk(pbuf *o, const char type[4], const uint8_t *data, uint32_t n)
{
    uint8_t *p = o->b + o->len;
    put32(p, n);
    memcpy(p + 4, type, 4);
    if (n)
        memcpy(p + 8, data, n);
    uLong crc = crc32(0L, p + 4, 4);
    if (n)
        crc = crc32(crc, data, n);
    put32(p + 8 + n, (uint32_t)crc);
    o->len += 12 + (size_t)n;
}

int dv_png_encode(const dv_picture *p, uint8_t **out, size_t *out_len, dv_error *err)
{
    *out = NULL;
    *out_len = 0;
    if (p->channels != 1 && p->channels != 3)
        return dv_fail(err, DV_ERR_USAGE, "PNG of %u channels", p->channels);
    if (p->width == 0 || p->height == 0 || p->width > 0x7FFFFFFFu || p->height > 0x7FFFFFFFu)
        return dv_fail(err, DV_ERR_LIMIT, "PNG of %ux%u pixels", p->width, p->height);
    size_t row = (size_t)p->width * p->channels;
    if (row + 1 > SIZE_MAX / p->height)
        return dv_fail(err, DV_ERR_LIMIT, "PNG of %ux%u pixels", p->width, p->height);
    size_t raw_len = (row + 1) * p->height;
    uint8_t *raw = malloc(raw_len);
    if (!raw)
        return dv_fail(err, DV_ERR_NOMEM, "PNG rows of %zu bytes", raw_len);
    for (size_t y = 0; y < p->height; y++) {
        uint8_t *d = raw + y * (row + 1);
        const uint8_t *s = p->px + y * row;
        if (y == 0) {
            d[0] = 0; /* None */
            memcpy(d + 1, s, row);
        } else {
            d[0] = 2; /* Up: the difference with the row above, modulo 256 */
            const uint8_t *up = s - row; /* not s[i - row]: i - row wraps, and so did the pointer (UBSan) */
            for (size_t i = 0; i < row; i++)
                d[1 + i] = (uint8_t)(s[i] - up[i]);
        }
    }
    uLong zcap = compressBound((uLong)raw_len);
    uint8_t *z = malloc(zcap);
    uLongf zlen = zcap;
    if (!z || compress2(z, &zlen, raw, (uLong)raw_len, 6) != Z_OK) {
        free(raw);
        free(z);
        return dv_fail(err, DV_ERR_NOMEM, "PNG deflate of %zu bytes", raw_len);
    }
    free(raw);
    size_t nidat = zlen / IDAT_MAX + 1;
    pbuf o = {NULL, 0, 8 + 25 + (size_t)zlen + 12 * nidat + 12};
    if (!(o.b = malloc(o.cap))) {
        free(z);
        return dv_fail(err, DV_ERR_NOMEM, "PNG of %zu bytes", o.cap);
    }
    memcpy(o.b, "\x89PNG\r\n\x1a\n", 8);
    o.len = 8;
    uint8_t ihdr[13];
    put32(ihdr, p->width);
    put32(ihdr + 4, p->height);
    ihdr[8] = 8;                           /* bit depth */
    ihdr[9] = p->channels == 3 ? 2 : 0;    /* colour type: truecolour or greyscale */
    ihdr[10] = ihdr[11] = ihdr[12] = 0;    /* deflate, adaptive filtering, no interlace */
    chunk(&o, "IHDR", ihdr, 13);
    for (size_t off = 0; off < zlen || off == 0; off += IDAT_MAX) {
        size_t n = zlen - off < IDAT_MAX ? zlen - off : IDAT_MAX;
        chunk(&o, "IDAT", z + off, (uint32_t)n);
        if (off + n >= zlen)
            break;
    }
    chunk(&o, "IEND", NULL, 0);
    free(z);
    *out = o.b;
    *out_len = o.len;
    return 0;
}
