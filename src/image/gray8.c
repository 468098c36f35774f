/* The 8-bit view of a decoded frame that text detection and OCR look at (dv_redact.h).
 *
 * Burned-in text is drawn to be read by a person, so we show the frame the way a viewer would with no
 * presentation state: monochrome samples windowed linearly over the frame's own value range (a
 * 12/16-bit CT with an overlay burned at the top of the range shows it at 255), MONOCHROME1 inverted so
 * that "bright" means the same thing everywhere, colour as the brightest of R, G, B (yellow, green, cyan
 * and white overlays all become bright; luminance would make pure blue or red text dim), YBR converted to
 * RGB first, PALETTE COLOR through its lookup table. No percentiles: an overlay is often the frame's
 * extreme value, which a percentile window would clip together with the anatomy next to it. Float frames
 * (FloatPixelData, DoubleFloatPixelData) are windowed over their finite values the same way. Text whose brightest
 * channel is the background's is flat in that view: dv_gray8_planes gives each channel of a colour frame for the
 * pixel stage's second search (docs/decisions.md "A colour frame's channels are searched too").
 * [test_textdetect: test_gray8_mono8_window, test_gray8_monochrome1_inverted, test_gray8_signed_and_16bit,
 * test_gray8_colour, test_gray8_palette, test_gray8_refusals; test_pixel_stage: test_float_pixels_redacted] */
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

/* Float samples (FloatPixelData, DoubleFloatPixelData): windowed linearly over the frame's finite range as
 * integer monochrome is (a blank frame shows no text); NaN and -Inf show black, +Inf white. The differences
 * are taken halved so that a range from -DBL_MAX to DBL_MAX does not overflow. */
static int from_float(const dv_frame *f, dv_gray8 *g, size_t n)
{
    double lo, hi;
    if (!dv_frame_float_range(f, &lo, &hi) || hi <= lo) {
        memset(g->px, 0, n);
        return 0;
    }
    double range = hi * 0.5 - lo * 0.5;
    for (size_t i = 0; i < n; i++) {
        double v = f->sample_bytes == 4 ? (double)((const float *)f->data)[i] : ((const double *)f->data)[i];
        unsigned o = 0;
        if (v >= hi)
            o = 255;
        else if (v > lo) /* false for NaN */
            o = (unsigned)((v * 0.5 - lo * 0.5) / range * 255.0 + 0.5);
        g->px[i] = (uint8_t)(o > 255 ? 255 : o);
    }
    return 0;
}

static inline int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static inline uint8_t max3(unsigned r, unsigned g, unsigned b)
{
    unsigned m = r > g ? r : g;
    return (uint8_t)(m > b ? m : b);
}

/* The brightest channel minus the darkest: a grey pixel's is 0. */
static inline uint8_t chroma3(unsigned r, unsigned g, unsigned b)
{
    unsigned l = r < g ? r : g;
    return (uint8_t)(max3(r, g, b) - (l < b ? l : b));
}

/* Y, Cb, Cr (YBR_FULL, PS3.3 C.7.6.3.1.2; half the range is the chroma's zero) into R, G, B in place, each
 * clamped to [0, maxv]; fixed point, 16 fractional bits. */
static inline void ybr_to_rgb(int64_t v[3], int64_t maxv)
{
    int64_t half = (maxv + 1) / 2, y = v[0], cb = v[1] - half, cr = v[2] - half;
    v[0] = clamp64(y + ((91881 * cr) >> 16), 0, maxv);
    v[1] = clamp64(y - ((22554 * cb + 46802 * cr) >> 16), 0, maxv);
    v[2] = clamp64(y + ((116130 * cb) >> 16), 0, maxv);
}

/* Pixel i of a colour frame as R, G, B (YBR_FULL converted to RGB first; signed colour, unusual, shifted to
 * unsigned so "brightest" still means largest), each clamped to [0, maxv]. */
static void rgb_at(const dv_frame *f, size_t i, int ybr, int64_t maxv, int64_t rgb[3])
{
    int64_t half = (maxv + 1) / 2;
    rgb[0] = sample_at(f, 3 * i), rgb[1] = sample_at(f, 3 * i + 1), rgb[2] = sample_at(f, 3 * i + 2);
    if (f->is_signed)
        rgb[0] += half, rgb[1] += half, rgb[2] += half;
    if (ybr) {
        ybr_to_rgb(rgb, maxv);
        return;
    }
    for (int k = 0; k < 3; k++)
        rgb[k] = clamp64(rgb[k], 0, maxv);
}

/* A colour frame's bits stored (8 when unset, at most 32), its largest sample value and the shift to 8 bits. */
static uint32_t colour_scale(const dv_frame *f, int64_t *maxv, unsigned *shift)
{
    uint32_t bits = f->bits_stored ? f->bits_stored : 8;
    bits = bits > 32 ? 32 : bits;
    *maxv = (int64_t)(bits >= 32 ? 0xFFFFFFFFull : (1ull << bits) - 1);
    *shift = bits > 8 ? bits - 8 : 0;
    return bits;
}

/* Colour: brightest channel, then, for samples wider than 8 bits, scaled down by the bits stored. Counts the
 * pixels whose channels differ by DV_GRAY8_CHROMA or more on the 8-bit scale (g->chroma_px). */
static int from_colour(const dv_frame *f, dv_gray8 *g, size_t n)
{
    int ybr = f->photometric == DV_PHOTO_YBR_FULL || f->photometric == DV_PHOTO_YBR_FULL_422;
    int64_t maxv;
    unsigned shift;
    uint32_t bits = colour_scale(f, &maxv, &shift);
    uint32_t chroma = 0;
    if (!ybr && f->sample_bytes == 1 && !f->is_signed && bits >= 8) { /* 8-bit RGB: the loop below, undispatched */
        const uint8_t *in = f->data;
        for (size_t i = 0; i < n; i++) {
            uint8_t r = in[3 * i], gg = in[3 * i + 1], b = in[3 * i + 2];
            g->px[i] = max3(r, gg, b);
            chroma += chroma3(r, gg, b) >= DV_GRAY8_CHROMA;
        }
        g->chroma_px = chroma;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t c[3];
        rgb_at(f, i, ybr, maxv, c);
        unsigned e[3];
        for (int k = 0; k < 3; k++)
            e[k] = (unsigned)(c[k] >> shift); /* <= 255: c[k] <= maxv */
        g->px[i] = max3(e[0], e[1], e[2]);
        chroma += chroma3(e[0], e[1], e[2]) >= DV_GRAY8_CHROMA;
    }
    g->chroma_px = chroma;
    return 0;
}

/* Palette entry idx (clamped to the table) as R, G, B scaled to 8 bits. */
static void palette_rgb(const dv_palette *pal, int64_t idx, unsigned rgb[3])
{
    idx = clamp64(idx - (int64_t)pal->first_mapped, 0, (int64_t)pal->entries - 1);
    unsigned shift = pal->bits > 8 ? 8 : 0;
    for (unsigned c = 0; c < 3; c++) {
        unsigned v = (unsigned)(pal->lut[(size_t)c * pal->entries + (size_t)idx] >> shift);
        rgb[c] = v > 255 ? 255 : v;
    }
}

static int from_palette(const dv_frame *f, const dv_palette *pal, dv_gray8 *g, size_t n, dv_error *err)
{
    if (!pal || !pal->lut || pal->entries == 0)
        return dv_fail(err, DV_ERR_USAGE, "gray8: a PALETTE COLOR frame needs its lookup tables");
    uint32_t chroma = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c[3];
        palette_rgb(pal, sample_at(f, i), c);
        g->px[i] = max3(c[0], c[1], c[2]);
        chroma += chroma3(c[0], c[1], c[2]) >= DV_GRAY8_CHROMA;
    }
    g->chroma_px = chroma;
    return 0;
}

static int gray_of_float(const dv_frame *f, dv_gray8 *g, dv_error *err)
{
    size_t n = (size_t)f->width * f->height;
    if (f->samples != 1 || f->photometric != DV_PHOTO_MONOCHROME2 || (f->sample_bytes != 4 && f->sample_bytes != 8))
        return dv_fail(err, DV_ERR_UNSUPPORTED, "gray8: float frame of %u samples of %u bytes", f->samples,
                       f->sample_bytes);
    if (n / f->width != f->height || n > SIZE_MAX / f->sample_bytes || n * f->sample_bytes > f->cap)
        return dv_fail(err, DV_ERR_USAGE, "gray8: frame buffer smaller than %ux%u", f->width, f->height);
    if (ensure(g, f->width, f->height, err))
        return -1;
    return from_float(f, g, n);
}

/* The checks both views make: the frame's sample layout for its photometric interpretation; *spp set. */
static int frame_layout(const dv_frame *f, uint32_t *spp, dv_error *err)
{
    if (!f || !f->data || f->width == 0 || f->height == 0)
        return dv_fail(err, DV_ERR_USAGE, "gray8: empty frame");
    if (f->sample_bytes != 1 && f->sample_bytes != 2 && f->sample_bytes != 4)
        return dv_fail(err, DV_ERR_USAGE, "gray8: sample container of %u bytes", f->sample_bytes);
    size_t n = (size_t)f->width * f->height;
    if (n / f->width != f->height)
        return dv_fail(err, DV_ERR_LIMIT, "gray8: %ux%u frame", f->width, f->height);
    switch (f->photometric) {
    case DV_PHOTO_MONOCHROME1:
    case DV_PHOTO_MONOCHROME2:
    case DV_PHOTO_PALETTE_COLOR:
        *spp = 1;
        break;
    case DV_PHOTO_RGB:
    case DV_PHOTO_YBR_FULL:
    case DV_PHOTO_YBR_FULL_422: /* decoded frames are upsampled (dv_image.h); treated as YBR_FULL */
    case DV_PHOTO_YBR_ICT:      /* decoders hand these out as RGB; accepted the same way */
    case DV_PHOTO_YBR_RCT:
        *spp = 3;
        break;
    default:
        return dv_fail(err, DV_ERR_UNSUPPORTED, "gray8: photometric interpretation %s",
                       dv_photometric_name(f->photometric));
    }
    if (f->samples != *spp)
        return dv_fail(err, DV_ERR_USAGE, "gray8: %u samples for %s", f->samples,
                       dv_photometric_name(f->photometric));
    size_t need = n * *spp;
    if (need / *spp != n || need > SIZE_MAX / f->sample_bytes || need * f->sample_bytes > f->cap)
        return dv_fail(err, DV_ERR_USAGE, "gray8: frame buffer smaller than %ux%u", f->width, f->height);
    return 0;
}

int dv_gray8_from_frame(const dv_frame *f, const dv_palette *pal, dv_gray8 *g, dv_error *err)
{
    uint32_t spp;
    if (!g)
        return dv_fail(err, DV_ERR_USAGE, "gray8: no picture to fill");
    if (f && f->data && f->width && f->height && f->is_float) {
        g->chroma_px = 0;
        return gray_of_float(f, g, err);
    }
    if (frame_layout(f, &spp, err) != 0 || ensure(g, f->width, f->height, err))
        return -1;
    size_t n = (size_t)f->width * f->height;
    g->chroma_px = 0;
    if (spp == 3)
        return from_colour(f, g, n);
    if (f->photometric == DV_PHOTO_PALETTE_COLOR)
        return from_palette(f, pal, g, n, err);
    return from_mono(f, g, n);
}

int dv_gray8_planes(const dv_frame *f, const dv_palette *pal, dv_gray8 out[4], dv_error *err)
{
    uint32_t spp;
    if (!out)
        return dv_fail(err, DV_ERR_USAGE, "gray8: no pictures to fill");
    if (frame_layout(f, &spp, err) != 0)
        return -1;
    int pal_frame = f->photometric == DV_PHOTO_PALETTE_COLOR;
    if (spp != 3 && !pal_frame)
        return dv_fail(err, DV_ERR_USAGE, "gray8: the channels of a monochrome frame");
    if (pal_frame && (!pal || !pal->lut || pal->entries == 0))
        return dv_fail(err, DV_ERR_USAGE, "gray8: a PALETTE COLOR frame needs its lookup tables");
    for (int k = 0; k < 4; k++) {
        if (ensure(&out[k], f->width, f->height, err))
            return -1;
        out[k].chroma_px = 0;
    }
    uint8_t *r = out[0].px, *g = out[1].px, *b = out[2].px, *c = out[3].px;
    size_t n = (size_t)f->width * f->height;
    int ybr = f->photometric == DV_PHOTO_YBR_FULL || f->photometric == DV_PHOTO_YBR_FULL_422;
    int64_t maxv;
    unsigned shift;
    uint32_t bits = colour_scale(f, &maxv, &shift);
    if (pal_frame) {
        for (size_t i = 0; i < n; i++) {
            unsigned v[3];
            palette_rgb(pal, sample_at(f, i), v);
            r[i] = (uint8_t)v[0], g[i] = (uint8_t)v[1], b[i] = (uint8_t)v[2], c[i] = chroma3(v[0], v[1], v[2]);
        }
    } else if (f->sample_bytes == 1 && !f->is_signed && bits >= 8) { /* 8-bit RGB or YBR: no per-sample dispatch */
        const uint8_t *in = f->data;
        for (size_t i = 0; i < n; i++) {
            int64_t v[3] = {in[3 * i], in[3 * i + 1], in[3 * i + 2]};
            if (ybr)
                ybr_to_rgb(v, 255);
            r[i] = (uint8_t)v[0], g[i] = (uint8_t)v[1], b[i] = (uint8_t)v[2];
            c[i] = chroma3((unsigned)v[0], (unsigned)v[1], (unsigned)v[2]);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            int64_t v[3];
            rgb_at(f, i, ybr, maxv, v);
            unsigned e[3];
            for (int k = 0; k < 3; k++)
                e[k] = (unsigned)(v[k] >> shift); /* <= 255: v[k] <= maxv */
            r[i] = (uint8_t)e[0], g[i] = (uint8_t)e[1], b[i] = (uint8_t)e[2], c[i] = chroma3(e[0], e[1], e[2]);
        }
    }
    return 0;
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
