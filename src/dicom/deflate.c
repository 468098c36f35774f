/* Deflated Explicit VR Little Endian (PS3.5 A.5): the dataset after the file meta is a raw RFC 1951 stream.
 * Inflation is size-capped so a decompression bomb fails with a clear error instead of eating memory. */
#include "dv_reader_internal.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define DV_ZCHUNK (64u * 1024u)

static int inflate_with(const dv_source *src, uint64_t offset, uint64_t max_out, dv_arena *budget,
                        int window_bits, uint8_t **out, size_t *out_len, dv_error *err)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, window_bits) != Z_OK)
        return dv_fail(err, DV_ERR_NOMEM, "zlib initialisation failed");
    uint8_t *in = malloc(DV_ZCHUNK);
    size_t cap = 256u * 1024u, len = 0;
    uint8_t *buf = malloc(cap);
    int rc = -1, zr = Z_OK;
    if (!in || !buf) {
        dv_fail(err, DV_ERR_NOMEM, "out of memory");
        goto done;
    }
    uint64_t pos = offset;
    while (zr != Z_STREAM_END) {
        if (zs.avail_in == 0) {
            if (pos >= src->size)
                break; /* input ended without a stream end: tolerated if the data parses */
            size_t n = src->size - pos < DV_ZCHUNK ? (size_t)(src->size - pos) : DV_ZCHUNK;
            if (src->read_at(src->ctx, pos, in, n) != 0) {
                dv_fail(err, DV_ERR_IO, "read failed at offset %llu", (unsigned long long)pos);
                goto done;
            }
            pos += n;
            zs.next_in = in;
            zs.avail_in = (uInt)n;
        }
        if (len == cap) {
            if (cap >= max_out) {
                dv_fail(err, DV_ERR_LIMIT, "deflated dataset inflates beyond the %llu-byte limit",
                        (unsigned long long)max_out);
                goto done;
            }
            size_t ncap = cap * 2 > max_out ? (size_t)max_out : cap * 2;
            if (dv_arena_reserve_external(budget, ncap) != 0) { /* run-wide budget: may wait (dv_budget.h) */
                dv_fail(err, DV_ERR_LIMIT, "deflated dataset exceeds the per-instance memory maximum");
                goto done;
            }
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                dv_fail(err, DV_ERR_NOMEM, "out of memory");
                goto done;
            }
            buf = nb;
            cap = ncap;
        }
        zs.next_out = buf + len;
        zs.avail_out = (uInt)(cap - len);
        zr = inflate(&zs, Z_NO_FLUSH);
        len = cap - zs.avail_out;
        if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
            dv_fail(err, DV_ERR_MALFORMED, "deflated dataset is corrupt (zlib error %d)", zr);
            goto done;
        }
        if (zr == Z_BUF_ERROR && zs.avail_in == 0 && pos >= src->size)
            break;
    }
    *out = buf;
    *out_len = len;
    buf = NULL;
    rc = 0;
done:
    inflateEnd(&zs);
    free(in);
    free(buf);
    return rc;
}

int dv_inflate_source(const dv_source *src, uint64_t offset, uint64_t max_out, dv_arena *budget, uint8_t **out,
                      size_t *out_len, dv_error *err)
{
    if (inflate_with(src, offset, max_out, budget, -15, out, out_len, err) == 0)
        return 0;
    if (err && err->code == DV_ERR_LIMIT)
        return -1;
    /* Some writers wrongly emit a zlib header; accept that too. */
    dv_error second;
    if (inflate_with(src, offset, max_out, budget, 15, out, out_len, &second) == 0) {
        dv_error_clear(err);
        return 0;
    }
    return -1;
}

struct dv_deflate_sink {
    z_stream zs;
    dv_sink *down;
    uint8_t out[DV_ZCHUNK];
};

static int pump(dv_deflate_sink *d, int flush)
{
    int zr;
    do {
        d->zs.next_out = d->out;
        d->zs.avail_out = DV_ZCHUNK;
        zr = deflate(&d->zs, flush);
        if (zr == Z_STREAM_ERROR)
            return -1;
        size_t n = DV_ZCHUNK - d->zs.avail_out;
        if (n && d->down->write(d->down->ctx, d->out, n) != 0)
            return -1;
    } while (d->zs.avail_out == 0 || (flush == Z_FINISH && zr != Z_STREAM_END));
    return 0;
}

static int deflate_write(void *ctx, const void *buf, size_t len)
{
    dv_deflate_sink *d = ctx;
    const uint8_t *p = buf;
    while (len > 0) {
        size_t n = len > (1u << 30) ? (1u << 30) : len;
        d->zs.next_in = (Bytef *)(uintptr_t)p;
        d->zs.avail_in = (uInt)n;
        if (pump(d, Z_NO_FLUSH) != 0)
            return -1;
        p += n;
        len -= n;
    }
    return 0;
}

dv_deflate_sink *dv_deflate_sink_new(dv_sink *downstream)
{
    dv_deflate_sink *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    if (deflateInit2(&d->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(d);
        return NULL;
    }
    d->down = downstream;
    return d;
}

dv_sink dv_deflate_sink_as_sink(dv_deflate_sink *d)
{
    dv_sink s = { .ctx = d, .write = deflate_write, .copy_from = NULL };
    return s;
}

int dv_deflate_sink_finish(dv_deflate_sink *d)
{
    d->zs.next_in = NULL;
    d->zs.avail_in = 0;
    int rc = pump(d, Z_FINISH);
    deflateEnd(&d->zs);
    free(d);
    return rc;
}

void dv_deflate_sink_abort(dv_deflate_sink *d)
{
    deflateEnd(&d->zs);
    free(d);
}
