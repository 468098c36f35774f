/* Deflated Explicit VR Little Endian (PS3.5 A.5): the dataset after the file meta is a raw RFC 1951 stream.
 * Inflation is size-capped so a decompression bomb fails with a clear error instead of eating memory. */
#include "dv_reader_internal.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define DV_ZCHUNK (64u * 1024u)

/* --- Streaming inflate: a random-access dv_source over the inflated dataset ------------------------------
 *
 * The dataset of a deflated file is never held whole (unless it is small): one validating pass inflates the
 * stream once (size, corruption and the bomb cap are known before parsing starts) and records access points
 * at deflate block boundaries, each with the 32 KiB window that resumes inflation there (the zran technique
 * of zlib's examples, re-implemented). Reads then inflate forward from the current position, or from the
 * nearest access point at or before the offset. The parser reads forward (and jumps over bulk values via
 * access points); the writer copies bulk values forward: both stay close to one sequential pass each.
 * Memory is bounded whatever the inflated size: at most DV_INFLATE_MAX_POINTS windows (their spacing
 * doubles when the table is full), one input chunk, one output ring and zlib's own state. A stream that
 * inflates to at most keep_max bytes is simply kept in memory, inflated straight into one buffer (the fast
 * path for ordinary files; a larger one costs one extra inflation of its first keep_max bytes).
 *
 * Allocation points (the run-wide memory budget hooks in here, and only here): zmem_alloc / zmem_free,
 * used for the inflater object, its buffers, the access-point windows, the small-stream buffer, the
 * writer's deflate sink, and zlib's internal state in both directions (zalloc/zfree). */

#define DV_WSIZE 32768u                  /* deflate window: what an access point must remember */
#define DV_INFLATE_MAX_POINTS 64u        /* access points kept (their windows: 64 x 32 KiB = 2 MiB at most) */
#define DV_INFLATE_FIRST_SPAN (1u << 20) /* initial spacing of access points in inflated bytes */

typedef struct access_point {
    uint64_t out;    /* inflated offset */
    uint64_t in;     /* offset in the source of the first compressed byte not consumed */
    int bits;        /* bits of the byte before `in` still unused (0-7) */
    uint8_t *window; /* the DV_WSIZE inflated bytes before `out` (NULL for the stream start) */
} access_point;

struct dv_inflated {
    dv_source src;      /* a copy: the caller's dv_source struct may be a temporary; its ctx must live on */
    uint64_t start;     /* offset of the compressed stream in src */
    int wbits;          /* -15 raw deflate (PS3.5 A.5), 15 for writers that wrongly add a zlib header */
    uint64_t size;      /* inflated bytes (known after the validating pass) */
    uint8_t *whole;     /* small streams: all of it (size bytes), else NULL */
    uint64_t keep_max;  /* streams up to this size are kept whole */
    size_t whole_cap;
    z_stream zs;
    int zs_live;
    int ended;          /* zs reached the stream end */
    uint64_t in_pos;    /* next source offset to feed */
    uint64_t out_pos;   /* inflated offset of the next byte zs produces */
    uint8_t *inbuf;     /* DV_ZCHUNK */
    uint8_t *ring;      /* DV_WSIZE: the last inflated bytes, at out_pos % DV_WSIZE */
    access_point pts[DV_INFLATE_MAX_POINTS];
    unsigned npts;
    uint64_t span;
    const dv_held_range *held; /* values held in memory (dv_inflated_hold), sorted by offset; borrowed */
    size_t nheld;
    uint64_t read_inflated;    /* bytes inflated by reads after the validating pass */
};

static void *zmem_alloc(size_t n)
{
    return malloc(n);
}

static void zmem_free(void *p)
{
    free(p);
}

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    if (size && items > SIZE_MAX / size)
        return Z_NULL;
    return zmem_alloc((size_t)items * size);
}

static void z_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    zmem_free(p);
}

static void drop_points(dv_inflated *z)
{
    for (unsigned i = 0; i < z->npts; i++)
        zmem_free(z->pts[i].window);
    z->npts = 0;
}

/* Restart inflation at access point p (the stream start when p->window is NULL). */
static int resume_at(dv_inflated *z, const access_point *p)
{
    z->zs.next_in = NULL;
    z->zs.avail_in = 0;
    if (!p->window) {
        if (inflateReset2(&z->zs, z->wbits) != Z_OK)
            return -1;
    } else {
        if (inflateReset2(&z->zs, -15) != Z_OK)
            return -1;
        if (p->bits) {
            uint8_t b;
            if (z->src.read_at(z->src.ctx, p->in - 1, &b, 1) != 0)
                return -1;
            if (inflatePrime(&z->zs, p->bits, b >> (8 - p->bits)) != Z_OK)
                return -1;
        }
        if (inflateSetDictionary(&z->zs, p->window, DV_WSIZE) != Z_OK)
            return -1;
        /* The ring must hold the bytes before out_pos again (reads re-served from it). */
        size_t at = (size_t)(p->out % DV_WSIZE);
        memcpy(z->ring + at, p->window, DV_WSIZE - at);
        memcpy(z->ring, p->window + (DV_WSIZE - at), at);
    }
    z->in_pos = p->in;
    z->out_pos = p->out;
    z->ended = 0;
    return 0;
}

/* Record an access point at the current block boundary; when the table is full keep every other point. */
static int add_point(dv_inflated *z)
{
    if (z->out_pos < DV_WSIZE)
        return 0;
    if (z->npts == DV_INFLATE_MAX_POINTS) {
        unsigned k = 1;
        for (unsigned i = 1; i < z->npts; i++) {
            if (i % 2 == 0)
                z->pts[k++] = z->pts[i];
            else
                zmem_free(z->pts[i].window);
        }
        z->npts = k;
        z->span *= 2;
    }
    if (z->out_pos - z->pts[z->npts - 1].out < z->span)
        return 0;
    uint8_t *w = zmem_alloc(DV_WSIZE);
    if (!w)
        return -1;
    size_t at = (size_t)(z->out_pos % DV_WSIZE); /* oldest byte of the ring */
    memcpy(w, z->ring + at, DV_WSIZE - at);
    memcpy(w + (DV_WSIZE - at), z->ring, at);
    access_point *p = &z->pts[z->npts++];
    p->out = z->out_pos;
    p->in = z->in_pos - z->zs.avail_in;
    p->bits = z->zs.data_type & 7;
    p->window = w;
    return 0;
}

/* Inflate forward until out_pos reaches target (or the stream ends), copying the bytes of [dst_off,
 * dst_off + dst_len) that go by into dst. building = the validating pass: checks the cap, records access
 * points and the small-stream copy. Returns 0, or -1 with err set. */
static int advance(dv_inflated *z, uint64_t target, uint8_t *dst, uint64_t dst_off, size_t dst_len,
                   uint64_t max_out, int building, dv_error *err)
{
    while (z->out_pos < target && !z->ended) {
        if (z->zs.avail_in == 0) {
            if (z->in_pos >= z->src.size) {
                if (building) {
                    z->ended = 1; /* input ended without a stream end: tolerated if the data parses */
                    break;
                }
                return dv_fail(err, DV_ERR_IO, "deflated dataset: input ended at inflated offset %llu",
                               (unsigned long long)z->out_pos);
            }
            uint64_t left = z->src.size - z->in_pos;
            size_t n = left < DV_ZCHUNK ? (size_t)left : DV_ZCHUNK;
            if (z->src.read_at(z->src.ctx, z->in_pos, z->inbuf, n) != 0)
                return dv_fail(err, DV_ERR_IO, "read failed at offset %llu", (unsigned long long)z->in_pos);
            z->in_pos += n;
            z->zs.next_in = z->inbuf;
            z->zs.avail_in = (uInt)n;
        }
        size_t at = (size_t)(z->out_pos % DV_WSIZE);
        size_t room = DV_WSIZE - at;
        if (!building && target - z->out_pos < room)
            room = (size_t)(target - z->out_pos);
        z->zs.next_out = z->ring + at;
        z->zs.avail_out = (uInt)room;
        int zr = inflate(&z->zs, building ? Z_BLOCK : Z_NO_FLUSH);
        if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
            return dv_fail(err, DV_ERR_MALFORMED, "deflated dataset is corrupt (zlib error %d)", zr);
        size_t got = room - z->zs.avail_out;
        uint64_t from = z->out_pos, to = z->out_pos + got;
        if (dst && to > dst_off && from < dst_off + dst_len) {
            uint64_t a = from > dst_off ? from : dst_off;
            uint64_t b = to < dst_off + dst_len ? to : dst_off + dst_len;
            memcpy(dst + (a - dst_off), z->ring + at + (a - from), (size_t)(b - a));
        }
        z->out_pos = to;
        if (!building)
            z->read_inflated += got;
        if (building) {
            if (z->out_pos > max_out)
                return dv_fail(err, DV_ERR_LIMIT, "deflated dataset inflates beyond the %llu-byte limit",
                               (unsigned long long)max_out);
            if ((z->zs.data_type & 128) && !(z->zs.data_type & 64) && add_point(z) != 0)
                return dv_fail(err, DV_ERR_NOMEM, "out of memory inflating the dataset");
        }
        if (zr == Z_STREAM_END)
            z->ended = 1;
        else if (zr == Z_BUF_ERROR && z->zs.avail_in == 0 && z->in_pos >= z->src.size)
            z->ended = building ? 1 : z->ended;
    }
    if (!building && z->out_pos < target) /* cannot happen after the validating pass; never hand out garbage */
        return dv_fail(err, DV_ERR_IO, "deflated dataset ended at inflated offset %llu",
                       (unsigned long long)z->out_pos);
    return 0;
}

static int inflated_read_at(void *ctx, uint64_t off, void *buf, size_t len)
{
    dv_inflated *z = ctx;
    if (off > z->size || len > z->size - off)
        return -1;
    if (z->whole) {
        memcpy(buf, z->whole + off, len);
        return 0;
    }
    if (z->nheld) { /* a value held in memory: the last range starting at or before off */
        size_t lo = 0, hi = z->nheld;
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (z->held[mid].off <= off)
                lo = mid;
            else
                hi = mid;
        }
        const dv_held_range *h = &z->held[lo];
        if (h->off <= off && off - h->off <= h->len && len <= h->len - (off - h->off)) {
            memcpy(buf, h->bytes + (off - h->off), len);
            return 0;
        }
    }
    uint8_t *dst = buf;
    /* The head of the range may still be in the ring (the reader re-reads a header that straddled its
     * window): serve it from there and inflate on for the rest. */
    uint64_t ring_from = z->out_pos > DV_WSIZE ? z->out_pos - DV_WSIZE : 0;
    if (off < z->out_pos && off >= ring_from) {
        uint64_t end = off + len < z->out_pos ? off + len : z->out_pos;
        for (uint64_t o = off; o < end; o++)
            dst[o - off] = z->ring[o % DV_WSIZE];
        size_t done = (size_t)(end - off);
        dst += done;
        off += done;
        len -= done;
        if (len == 0)
            return 0;
    }
    /* Behind us, or far ahead past an access point: resume at the nearest access point <= off. */
    const access_point *best = NULL;
    for (unsigned i = 0; i < z->npts && z->pts[i].out <= off; i++)
        best = &z->pts[i];
    if (best && (off < z->out_pos || best->out > z->out_pos) && resume_at(z, best) != 0)
        return -1;
    dv_error err;
    return advance(z, off + len, dst, off, len, 0, 0, &err);
}

void dv_inflated_free(dv_inflated *z)
{
    if (!z)
        return;
    if (z->zs_live)
        inflateEnd(&z->zs);
    drop_points(z);
    zmem_free(z->whole);
    zmem_free(z->inbuf);
    zmem_free(z->ring);
    zmem_free(z);
}

/* The fast path: inflate straight into one buffer, as long as the stream fits keep_max (and max_out).
 * Returns 0 (z->whole holds it all), 1 when it is larger (nothing kept: stream it), -1 with err set. */
static int build_whole(dv_inflated *z, uint64_t max_out, dv_error *err)
{
    uint64_t cap_max = z->keep_max < max_out ? z->keep_max : max_out;
    size_t cap = cap_max < 256u * 1024u ? (size_t)cap_max : 256u * 1024u, len = 0;
    uint8_t *buf = zmem_alloc(cap ? cap : 1);
    if (!buf)
        return dv_fail(err, DV_ERR_NOMEM, "out of memory inflating the dataset");
    int zr = Z_OK;
    while (zr != Z_STREAM_END) {
        if (z->zs.avail_in == 0) {
            if (z->in_pos >= z->src.size)
                break; /* input ended without a stream end: tolerated if the data parses */
            uint64_t left = z->src.size - z->in_pos;
            size_t n = left < DV_ZCHUNK ? (size_t)left : DV_ZCHUNK;
            if (z->src.read_at(z->src.ctx, z->in_pos, z->inbuf, n) != 0) {
                zmem_free(buf);
                return dv_fail(err, DV_ERR_IO, "read failed at offset %llu", (unsigned long long)z->in_pos);
            }
            z->in_pos += n;
            z->zs.next_in = z->inbuf;
            z->zs.avail_in = (uInt)n;
        }
        if (len == cap) {
            if (cap >= cap_max) { /* more to come: too big to keep (or past the cap) */
                zmem_free(buf);
                if (cap_max == max_out && max_out <= z->keep_max)
                    return dv_fail(err, DV_ERR_LIMIT, "deflated dataset inflates beyond the %llu-byte limit",
                                   (unsigned long long)max_out);
                return 1;
            }
            size_t ncap = cap * 2 > cap_max ? (size_t)cap_max : cap * 2;
            uint8_t *nb = zmem_alloc(ncap);
            if (!nb) {
                zmem_free(buf);
                return dv_fail(err, DV_ERR_NOMEM, "out of memory inflating the dataset");
            }
            memcpy(nb, buf, len);
            zmem_free(buf);
            buf = nb;
            cap = ncap;
        }
        z->zs.next_out = buf + len;
        z->zs.avail_out = (uInt)(cap - len);
        zr = inflate(&z->zs, Z_NO_FLUSH);
        len = cap - z->zs.avail_out;
        if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
            zmem_free(buf);
            return dv_fail(err, DV_ERR_MALFORMED, "deflated dataset is corrupt (zlib error %d)", zr);
        }
        if (zr == Z_BUF_ERROR && z->zs.avail_in == 0 && z->in_pos >= z->src.size)
            break;
    }
    z->whole = buf;
    z->whole_cap = cap;
    z->size = len;
    return 0;
}

/* One validating pass with the current window bits: kept whole when small, else access points recorded. */
static int inflated_build(dv_inflated *z, uint64_t max_out, dv_error *err)
{
    drop_points(z);
    zmem_free(z->whole);
    z->whole = NULL;
    if (!z->zs_live) {
        z->zs.zalloc = z_alloc;
        z->zs.zfree = z_free;
        z->zs.opaque = Z_NULL;
        if (inflateInit2(&z->zs, z->wbits) != Z_OK)
            return dv_fail(err, DV_ERR_NOMEM, "zlib initialisation failed");
        z->zs_live = 1;
    }
    z->span = DV_INFLATE_FIRST_SPAN;
    z->pts[0] = (access_point){ .out = 0, .in = z->start, .bits = 0, .window = NULL };
    z->npts = 1;
    if (z->keep_max) {
        if (resume_at(z, &z->pts[0]) != 0)
            return dv_fail(err, DV_ERR_NOMEM, "zlib initialisation failed");
        int rc = build_whole(z, max_out, err);
        if (rc <= 0)
            return rc;
    }
    if (resume_at(z, &z->pts[0]) != 0)
        return dv_fail(err, DV_ERR_NOMEM, "zlib initialisation failed");
    if (advance(z, UINT64_MAX, NULL, 0, 0, max_out, 1, err) != 0)
        return -1;
    z->size = z->out_pos;
    return 0;
}

uint64_t dv_inflate_resident_max(void)
{
    /* zlib's inflate state is ~7 KiB plus its 32 KiB window; 256 KiB covers it and the object itself. */
    return 2ull * DV_INFLATE_KEEP_MAX + (uint64_t)DV_INFLATE_MAX_POINTS * DV_WSIZE + DV_ZCHUNK + DV_WSIZE +
           256u * 1024u;
}

int dv_inflated_open(const dv_source *src, uint64_t offset, uint64_t max_out, uint64_t keep_max, dv_arena *budget,
                     dv_inflated **out, dv_error *err)
{
    *out = NULL;
    if (keep_max > DV_INFLATE_KEEP_MAX)
        keep_max = DV_INFLATE_KEEP_MAX;
    /* The run-wide budget (dv_budget.h) is charged the inflater's bounded maximum once, up front: it may wait
     * for other instances, never fails an instance that fits its own maximum. */
    if (dv_arena_reserve_external(budget, dv_inflate_resident_max()) != 0)
        return dv_fail(err, DV_ERR_LIMIT, "inflating the dataset would exceed the instance's memory maximum");
    dv_inflated *z = zmem_alloc(sizeof *z);
    if (!z)
        return dv_fail(err, DV_ERR_NOMEM, "out of memory");
    memset(z, 0, sizeof *z);
    z->src = *src;
    z->start = offset;
    z->wbits = -15;
    z->keep_max = keep_max;
    z->inbuf = zmem_alloc(DV_ZCHUNK);
    z->ring = zmem_alloc(DV_WSIZE);
    if (!z->inbuf || !z->ring) {
        dv_inflated_free(z);
        return dv_fail(err, DV_ERR_NOMEM, "out of memory");
    }
    if (inflated_build(z, max_out, err) != 0) {
        if (err && err->code == DV_ERR_LIMIT) {
            dv_inflated_free(z);
            return -1;
        }
        /* Some writers wrongly emit a zlib header; accept that too. */
        dv_error second;
        inflateEnd(&z->zs);
        z->zs_live = 0;
        z->wbits = 15;
        if (inflated_build(z, max_out, &second) != 0) {
            if (second.code == DV_ERR_LIMIT && err)
                *err = second;
            dv_inflated_free(z);
            return -1;
        }
        dv_error_clear(err);
    }
    if (z->whole) {
        /* Small stream: served from memory; the streaming state is not needed. */
        drop_points(z);
        inflateEnd(&z->zs);
        z->zs_live = 0;
    }
    *out = z;
    return 0;
}

dv_source dv_inflated_source(dv_inflated *z)
{
    dv_source s = { .ctx = z, .size = z->size, .read_at = inflated_read_at };
    return s;
}

int dv_inflated_streams(const dv_inflated *z)
{
    return z->whole == NULL;
}

uint64_t dv_inflated_position(const dv_inflated *z)
{
    return z->out_pos;
}

/* The arithmetic of inflated_read_at, without inflating: keep the two in step. */
uint64_t dv_inflated_read_cost(const dv_inflated *z, uint64_t *pos, uint64_t off, uint64_t len)
{
    if (z->whole || off > z->size || len > z->size - off)
        return 0;
    uint64_t end = off + len;
    uint64_t ring_from = *pos > DV_WSIZE ? *pos - DV_WSIZE : 0;
    if (off < *pos && off >= ring_from) {
        if (end <= *pos)
            return 0;
        off = *pos;
    }
    uint64_t best = 0;
    for (unsigned i = 0; i < z->npts && z->pts[i].out <= off; i++)
        best = z->pts[i].out;
    uint64_t from = off < *pos || best > *pos ? best : *pos;
    *pos = end;
    return end - from;
}

void dv_inflated_hold(dv_inflated *z, const dv_held_range *ranges, size_t n)
{
    z->held = ranges;
    z->nheld = n;
}

uint64_t dv_inflated_read_bytes(const dv_inflated *z)
{
    return z->read_inflated;
}

uint64_t dv_inflated_resident_bytes(const dv_inflated *z)
{
    uint64_t n = sizeof *z + DV_ZCHUNK + DV_WSIZE + (uint64_t)z->npts * DV_WSIZE;
    return n + (z->whole ? z->whole_cap : 0);
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
    dv_deflate_sink *d = zmem_alloc(sizeof *d);
    if (!d)
        return NULL;
    memset(d, 0, sizeof *d);
    d->zs.zalloc = z_alloc;
    d->zs.zfree = z_free;
    d->zs.opaque = Z_NULL;
    if (deflateInit2(&d->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        zmem_free(d);
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
    zmem_free(d);
    return rc;
}

void dv_deflate_sink_abort(dv_deflate_sink *d)
{
    deflateEnd(&d->zs);
    zmem_free(d);
}
