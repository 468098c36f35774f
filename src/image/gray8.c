/* The 8-bit view of a decoded frame that text detection and OCR look at (dv_redact.h).
 *
 * Burned-in text is drawn to be read by a person, so we show the frame the way a viewer would with no
 * presentation state: monochrome samples windowed linearly over the frame's own value range (a
 * 12/16-bit CT with an overlay burned at the top of the range shows it at 255), MONOCHROME1 inverted so
 * that "bright" means the same thing everywhere, colour as the brightest of R, G, B (yellow, green, cyan
 * and white overlays all become bright; luminance would make pure blue or red text dim), YBR converted to
 * RGB first, PALETTE COLOR through its lookup table. No percentiles: an overlay is often the frame's
 * extreme value, which a percentile window would clip together with the anatomy next to it.
 * [test_textdetect: test_gray8_mono8_window, test_gray8_monochrome1_inverted, test_gray8_signed_and_16bit,
 * test_gray8_colour, test_gray8_palette, test_gray8_refusals] */
#include "dv_redact.h"

#include <stdlib.h>
#include <string.h>

/* Sample s (0-based, over the interleaved samples) of f as a 64-bit integer (signed containers
 * sign-extended as decoded). */
static inline int64_t sample_at(const dv_frame *f, size_t s)
{
    switch (f->sample_bytes) {
    case 1:
        return f->is_signed ? (int64_t)((const int8_t *)f->data)[s] : (int64_t)((const uint8_t *)f->data)[s];
    case 2:
        return f->is_signed ? (int64_t)((const int16_t *)f->data)[s] : (int64_t)((const uint16_t *)f->data)[s];
    default:
        return f->is_signed ? (int64_t)((const int32_t *)f->data)[s] : (int64_t)((const uint32_t *)f->data)[s];
    }
}

static int ensure(dv_gray8 *g, uint32_t w, uint32_t h, dv_error *err)
{
    size_t n = (size_t)w * h;
    if (n > g->cap) {
        uint8_t *p = realloc(g->px, n);
        if (!p)
            return dv_fail(err, DV_ERR_NOMEM, "gray8: %zu bytes", n);
        g->px = p;
        g->cap = n;
    }
    g->width = w;
    g->height = h;
    return 0;
}

/* Linear window of v over [lo, hi] to 0..255 (hi == lo: everything 0, a blank frame shows no text). */
static void window_values(dv_gray8 *g, const dv_frame *f, size_t n, int64_t lo, int64_t hi, int invert)
{
    uint8_t *o = g->px;
    if (hi <= lo) {
        memset(o, invert ? 255 : 0, n);
        return;
    }
    uint64_t range = (uint64_t)(hi - lo);
    if (range <= 65535u && f->sample_bytes <= 2) {
        /* LUT over the range: one multiply per distinct value, then a table lookup per sample. */
        uint8_t lut[65536];
        for (uint64_t i = 0; i <= range; i++) {
            unsigned v = (unsigned)((i * 255u + range / 2) / range);
            lut[i] = (uint8_t)(invert ? 255u - v : v);
        }
        if (f->sample_bytes == 1 && !f->is_signed) { /* the common 8-bit frame: no per-sample dispatch */
            const uint8_t *in = f->data;
            for (size_t i = 0; i < n; i++)
                o[i] = lut[in[i] - lo];
        } else {
            for (size_t i = 0; i < n; i++)
                o[i] = lut[sample_at(f, i) - lo];
        }
        return;
    }
    double scale = 255.0 / (double)range;
    for (size_t i = 0; i < n; i++) {
        unsigned v = (unsigned)((double)(sample_at(f, i) - lo) * scale + 0.5);
        if (v > 255)
            v = 255;
        o[i] = (uint8_t)(invert ? 255u - v : v);
    }
}

static int from_mono(const dv_frame *f, dv_gray8 *g, size_t n)
{
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    if (f->sample_bytes == 1 && !f->is_signed) { /* the common 8-bit frame: no per-sample dispatch */
        const uint8_t *in = f->data;
        uint8_t l = 255, h = 0;
        for (size_t i = 0; i < n; i++) {
            l = in[i] < l ? in[i] : l;
            h = in[i] > h ? in[i] : h;
        }
        window_values(g, f, n, l, h, f->photometric == DV_PHOTO_MONOCHROME1);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t v = sample_at(f, i);
        if (v < lo)
            lo = v;
        if (v > hi)
            hi = v;
    }
    window_values(g, f, n, lo, hi, f->photometric == DV_PHOTO_MONOCHROME1);
    return 0;
}

static inline int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Colour: brightest channel (YBR_FULL converted to RGB first, PS3.3 C.7.6.3.1.2), then, for samples wider
 * than 8 bits, scaled down by the bits stored. */
static int from_colour(const dv_frame *f, dv_gray8 *g, size_t n)
{
    int ybr = f->photometric == DV_PHOTO_YBR_FULL || f->photometric == DV_PHOTO_YBR_FULL_422;
    uint32_t bits = f->bits_stored ? f->bits_stored : 8;
    if (bits > 32)
        bits = 32;
    int64_t maxv = (int64_t)((bits >= 32 ? 0xFFFFFFFFull : ((1ull << bits) - 1)));
    int64_t half = (maxv + 1) / 2;
    unsigned shift = bits > 8 ? bits - 8 : 0;
    if (!ybr && f->sample_bytes == 1 && !f->is_signed && bits >= 8) { /* 8-bit RGB: the loop below, undispatched */
        const uint8_t *in = f->data;
        for (size_t i = 0; i < n; i++) {
            uint8_t r = in[3 * i], gg = in[3 * i + 1], b = in[3 * i + 2];
            uint8_t m = r > gg ? r : gg;
            g->px[i] = m > b ? m : b;
        }
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t a = sample_at(f, 3 * i), b = sample_at(f, 3 * i + 1), c = sample_at(f, 3 * i + 2);
        if (f->is_signed) { /* signed colour is unusual; shift to unsigned so "brightest" still means largest */
            a += half, b += half, c += half;
        }
        int64_t m;
        if (ybr) {
            /* fixed point, 16 fractional bits */
            int64_t cb = b - half, cr = c - half;
            int64_t r = a + ((91881 * cr) >> 16);
            int64_t gg = a - ((22554 * cb + 46802 * cr) >> 16);
            int64_t bb = a + ((116130 * cb) >> 16);
            r = clamp64(r, 0, maxv), gg = clamp64(gg, 0, maxv), bb = clamp64(bb, 0, maxv);
            m = r > gg ? r : gg;
            m = m > bb ? m : bb;
        } else {
            m = a > b ? a : b;
            m = m > c ? m : c;
        }
        m = clamp64(m, 0, maxv) >> shift;
        g->px[i] = (uint8_t)(m > 255 ? 255 : m);
    }
    return 0;
}

static int from_palette(const dv_frame *f, const dv_palette *pal, dv_gray8 *g, size_t n, dv_error *err)
{
    if (!pal || !pal->lut || pal->entries == 0)
        return dv_fail(err, DV_ERR_USAGE, "gray8: a PALETTE COLOR frame needs its lookup tables");
    unsigned shift = pal->bits > 8 ? 8 : 0;
    for (size_t i = 0; i < n; i++) {
        int64_t idx = sample_at(f, i) - (int64_t)pal->first_mapped;
        idx = clamp64(idx, 0, (int64_t)pal->entries - 1);
        uint16_t r = pal->lut[idx], gg = pal->lut[pal->entries + idx], b = pal->lut[2u * pal->entries + idx];
        uint16_t m = r > gg ? r : gg;
        m = m > b ? m : b;
        m = (uint16_t)(m >> shift);
        g->px[i] = (uint8_t)(m > 255 ? 255 : m);
    }
    return 0;
}

int dv_gray8_from_frame(const dv_frame *f, const dv_palette *pal, dv_gray8 *g, dv_error *err)
{
    if (!f || !g || !f->data || f->width == 0 || f->height == 0)
        return dv_fail(err, DV_ERR_USAGE, "gray8: empty frame");
    if (f->sample_bytes != 1 && f->sample_bytes != 2 && f->sample_bytes != 4)
        return dv_fail(err, DV_ERR_USAGE, "gray8: sample container of %u bytes", f->sample_bytes);
    size_t n = (size_t)f->width * f->height;
    if (n / f->width != f->height)
        return dv_fail(err, DV_ERR_LIMIT, "gray8: %ux%u frame", f->width, f->height);
    uint32_t spp;
    switch (f->photometric) {
    case DV_PHOTO_MONOCHROME1:
    case DV_PHOTO_MONOCHROME2:
    case DV_PHOTO_PALETTE_COLOR:
        spp = 1;
        break;
    case DV_PHOTO_RGB:
    case DV_PHOTO_YBR_FULL:
    case DV_PHOTO_YBR_FULL_422: /* decoded frames are upsampled (dv_image.h); treated as YBR_FULL */
    case DV_PHOTO_YBR_ICT:      /* decoders hand these out as RGB; accepted the same way */
    case DV_PHOTO_YBR_RCT:
        spp = 3;
        break;
    default:
        return dv_fail(err, DV_ERR_UNSUPPORTED, "gray8: photometric interpretation %s",
                       dv_photometric_name(f->photometric));
    }
    if (f->samples != spp)
        return dv_fail(err, DV_ERR_USAGE, "gray8: %u samples for %s", f->samples,
                       dv_photometric_name(f->photometric));
    size_t need = n * spp;
    if (need / spp != n || need > SIZE_MAX / f->sample_bytes || need * f->sample_bytes > f->cap)
        return dv_fail(err, DV_ERR_USAGE, "gray8: frame buffer smaller than %ux%u", f->width, f->height);
    if (ensure(g, f->width, f->height, err))
        return -1;
    if (spp == 3)
        return from_colour(f, g, n);
    if (f->photometric == DV_PHOTO_PALETTE_COLOR)
        return from_palette(f, pal, g, n, err);
    return from_mono(f, g, n);
}

void dv_gray8_free(dv_gray8 *g)
{
    if (!g)
        return;
    free(g->px);
    g->px = NULL;
    g->cap = 0;
    g->width = g->height = 0;
}
