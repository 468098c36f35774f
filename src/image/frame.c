/* The frame interface: transfer syntax -> codec family, the per-context limits and counters, the canonical
 * frame's geometry, and the one dispatch every decode goes through (see dv_image.h). */
#include "dv_image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dv_image_ctx {
    dv_image_limits limits;
    uint64_t decode_calls;
    uint64_t encode_calls;
};

dv_image_ctx *dv_image_ctx_new(const dv_image_limits *lim)
{
    dv_image_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (lim)
        c->limits = *lim;
    else
        dv_image_limits_default(&c->limits);
    return c;
}

void dv_image_ctx_free(dv_image_ctx *ctx)
{
    free(ctx);
}

const dv_image_limits *dv_image_ctx_limits(const dv_image_ctx *ctx)
{
    return &ctx->limits;
}

uint64_t dv_image_ctx_decode_calls(const dv_image_ctx *ctx)
{
    return ctx->decode_calls;
}

uint64_t dv_image_ctx_encode_calls(const dv_image_ctx *ctx)
{
    return ctx->encode_calls;
}

/* PS3.6 Table A-1 transfer syntaxes that carry pixel data. */
static const struct {
    const char *uid;
    dv_ts_family family;
} ts_table[] = {
    {"1.2.840.10008.1.2", DV_TSF_NATIVE},
    {"1.2.840.10008.1.2.1", DV_TSF_NATIVE},
    {"1.2.840.10008.1.2.2", DV_TSF_NATIVE},
    {"1.2.840.10008.1.2.1.99", DV_TSF_NATIVE},      /* the dataset is deflated; the reader inflates it */
    {"1.2.840.10008.1.2.8.1", DV_TSF_DEFLATE_FRAME},
    {"1.2.840.10008.1.2.5", DV_TSF_RLE},
    {"1.2.840.10008.1.2.4.50", DV_TSF_JPEG_BASELINE},
    {"1.2.840.10008.1.2.4.51", DV_TSF_JPEG_BASELINE},
    {"1.2.840.10008.1.2.4.57", DV_TSF_JPEG_LOSSLESS},
    {"1.2.840.10008.1.2.4.70", DV_TSF_JPEG_LOSSLESS},
    {"1.2.840.10008.1.2.4.80", DV_TSF_JPEG_LS},
    {"1.2.840.10008.1.2.4.81", DV_TSF_JPEG_LS},
    {"1.2.840.10008.1.2.4.90", DV_TSF_J2K},
    {"1.2.840.10008.1.2.4.91", DV_TSF_J2K},
    {"1.2.840.10008.1.2.4.92", DV_TSF_J2K},
    {"1.2.840.10008.1.2.4.93", DV_TSF_J2K},
    {"1.2.840.10008.1.2.4.201", DV_TSF_J2K},
    {"1.2.840.10008.1.2.4.202", DV_TSF_J2K},
    {"1.2.840.10008.1.2.4.203", DV_TSF_J2K},
    /* Recognised, not decoded: retired JPEG processes, JPIP, MPEG/HEVC video, JPEG XL, encapsulated
     * uncompressed, SMPTE ST 2110. */
    {"1.2.840.10008.1.2.1.98", DV_TSF_UNSUPPORTED},
    {"1.2.840.10008.1.2.4.100", DV_TSF_UNSUPPORTED},
    {"1.2.840.10008.1.2.4.101", DV_TSF_UNSUPPORTED},
    {"1.2.840.10008.1.2.4.102", DV_TSF_UNSUPPORTED},
    {"1.2.840.10008.1.2.4.103", DV_TSF_UNSUPPORTED},
    {"1.2.840.10008.1.2.4.104", DV_TSF_UNSUPPORTED},
    {"1.2.840.10008.1.2.4.105", DV_TSF_UNSUPPORTED},
    {"1.2.840.10008.1.2.4.106", DV_TSF_UNSUPPORTED},
    {"1.2.840.10008.1.2.4.107", DV_TSF_UNSUPPORTED},
    {"1.2.840.10008.1.2.4.108", DV_TSF_UNSUPPORTED},
    {"1.2.840.10008.1.2.4.110", DV_TSF_UNSUPPORTED},
    {"1.2.840.10008.1.2.4.111", DV_TSF_UNSUPPORTED},
    {"1.2.840.10008.1.2.4.112", DV_TSF_UNSUPPORTED},
};

dv_ts_family dv_ts_family_of(const char *ts_uid)
{
    if (!ts_uid)
        return DV_TSF_UNKNOWN;
    for (size_t i = 0; i < sizeof ts_table / sizeof ts_table[0]; i++)
        if (strcmp(ts_table[i].uid, ts_uid) == 0)
            return ts_table[i].family;
    return DV_TSF_UNKNOWN;
}

int dv_ts_family_encapsulated(dv_ts_family f)
{
    return f != DV_TSF_NATIVE && f != DV_TSF_UNKNOWN;
}

uint32_t dv_sample_bytes(const dv_pixel_attrs *pa)
{
    return pa->bits_allocated <= 8 ? 1u : pa->bits_allocated / 8;
}

size_t dv_image_frame_capacity(const dv_pixel_attrs *pa, dv_ts_family fam, const dv_image_limits *lim,
                               dv_error *err)
{
    (void)fam; /* the canonical frame's size depends on the attributes alone (dv_image.h) */
    dv_image_limits def;
    if (!lim) {
        dv_image_limits_default(&def);
        lim = &def;
    }
    /* rows, columns <= 65535 (validated), samples <= 3, bytes <= 4: no 64-bit overflow. */
    uint64_t n = (uint64_t)pa->rows * pa->columns * pa->samples_per_pixel * dv_sample_bytes(pa);
    if (n == 0) {
        dv_fail(err, DV_ERR_MALFORMED, "empty frame");
        return 0;
    }
    if (n > lim->max_frame_bytes || n > SIZE_MAX) {
        dv_fail(err, DV_ERR_LIMIT, "decoded frame of %llu bytes exceeds %llu", (unsigned long long)n,
                (unsigned long long)lim->max_frame_bytes);
        return 0;
    }
    return (size_t)n;
}

size_t dv_frame_bytes(const dv_frame *out)
{
    return (size_t)out->width * out->height * out->samples * out->sample_bytes;
}

int dv_frame_prepare(const dv_pixel_attrs *pa, dv_frame *out, dv_photometric photometric, dv_error *err)
{
    out->width = pa->columns;
    out->height = pa->rows;
    out->samples = pa->samples_per_pixel;
    out->sample_bytes = dv_sample_bytes(pa);
    out->bits_stored = pa->bits_stored;
    out->is_signed = pa->pixel_representation == 1;
    out->photometric = photometric;
    out->is_float = 0;
    uint64_t need = (uint64_t)out->width * out->height * out->samples * out->sample_bytes;
    if (!out->data || need > out->cap)
        return dv_fail(err, DV_ERR_USAGE, "frame buffer of %zu bytes, %llu needed", out->cap,
                       (unsigned long long)need);
    return 0;
}

static int codestream_family(dv_ts_family f)
{
    return f == DV_TSF_JPEG_BASELINE || f == DV_TSF_JPEG_LOSSLESS || f == DV_TSF_JPEG_LS || f == DV_TSF_J2K;
}

/* Whether a codestream frame, as decoded (before masking), carries content above BitsStored. Its samples have the
 * codestream's own precision P and signedness: only bits BitsStored..P-1 can hold more than the stored ones (none
 * when P <= BitsStored: a sign or precision mismatch such as pydicom's J2K_pixelrep_mismatch.dcm, 13 unsigned
 * bits under BitsStored 13 signed, changes values on decoding without any hidden bit). A sample's bits there are
 * content unless all clear, or all set over a set bit BitsStored-1 while the codestream or PixelRepresentation is
 * signed (a sign extension: a signed codestream's negative values, or the 16-bit patterns of a signed image
 * written unsigned). A second pass, run only for codestreams of P > BitsStored, so other frames pay nothing. */
static int codestream_hidden(const dv_frame *out, size_t n)
{
    uint32_t p = out->src.precision, bs = out->bits_stored;
    if (!codestream_family(out->src.family) || p <= bs || p > 32 || bs == 0)
        return 0;
    uint32_t high = (p == 32 ? 0xFFFFFFFFu : (1u << p) - 1u) & ~((1u << bs) - 1u);
    uint32_t sext = out->is_signed || out->src.is_signed ? high : 0; /* the one high pattern that is no content */
    uint32_t sign = 1u << (bs - 1);
#define DV_HIDDEN(v) (((v) & high) != 0 && !(sext && ((v) & high) == sext && ((v) & sign)))
    if (out->sample_bytes == 1) {
        const uint8_t *q = out->data;
        for (size_t i = 0; i < n; i++)
            if (DV_HIDDEN((uint32_t)q[i]))
                return 1;
    } else if (out->sample_bytes == 2) {
        const uint16_t *q = out->data;
        for (size_t i = 0; i < n; i++)
            if (DV_HIDDEN((uint32_t)q[i]))
                return 1;
    } else {
        const uint32_t *q = out->data;
        for (size_t i = 0; i < n; i++)
            if (DV_HIDDEN(q[i]))
                return 1;
    }
#undef DV_HIDDEN
    return 0;
}

/* Mask to BitsStored and sign-extend. Typed loops per container, no per-sample calls (performance note).
 * had_unused_bits: native, deflated and RLE frames, a sample changed (their bytes are the container's as stored);
 * codestreams, codestream_hidden. */
void dv_frame_normalise(dv_frame *out)
{
    size_t n = (size_t)out->width * out->height * out->samples;
    uint32_t bs = out->bits_stored;
    uint32_t cbits = out->sample_bytes * 8;
    out->had_unused_bits = 0;
    if (bs >= cbits)
        return; /* full container: the bit pattern already is the value (signed reinterpretation is free) */
    int codestream = codestream_family(out->src.family);
    if (codestream)
        out->had_unused_bits = codestream_hidden(out, n);
    uint32_t mask = (1u << bs) - 1u;
    uint32_t sign = 1u << (bs - 1);
    uint32_t changed = 0;
    if (out->sample_bytes == 1) {
        uint8_t *p = out->data;
        for (size_t i = 0; i < n; i++) {
            uint32_t v = p[i] & mask;
            uint8_t w = (uint8_t)(out->is_signed && (v & sign) ? v | ~mask : v);
            changed |= (uint32_t)(p[i] ^ w);
            p[i] = w;
        }
    } else if (out->sample_bytes == 2) {
        uint16_t *p = out->data;
        for (size_t i = 0; i < n; i++) {
            uint32_t v = p[i] & mask;
            uint16_t w = (uint16_t)(out->is_signed && (v & sign) ? v | ~mask : v);
            changed |= (uint32_t)(p[i] ^ w);
            p[i] = w;
        }
    } else {
        uint32_t *p = out->data;
        for (size_t i = 0; i < n; i++) {
            uint32_t v = p[i] & mask;
            uint32_t w = out->is_signed && (v & sign) ? v | ~mask : v;
            changed |= p[i] ^ w;
            p[i] = w;
        }
    }
    if (!codestream)
        out->had_unused_bits = changed != 0;
}

int dv_frame_float_range(const dv_frame *f, double *lo, double *hi)
{
    size_t n = (size_t)f->width * f->height * f->samples;
    double l = INFINITY, h = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double v = f->sample_bytes == 4 ? (double)((const float *)f->data)[i] : ((const double *)f->data)[i];
        if (isfinite(v)) {
            l = v < l ? v : l;
            h = v > h ? v : h;
        }
    }
    int any = l <= h;
    *lo = any ? l : 0;
    *hi = any ? h : 0;
    return any;
}

int dv_image_decode_frame(dv_image_ctx *ctx, const char *ts_uid, const dv_pixel_attrs *pa, uint32_t frame_index,
                          const uint8_t *data, size_t len, dv_frame *out, dv_error *err)
{
    ctx->decode_calls++;
    dv_ts_family fam = dv_ts_family_of(ts_uid);
    if (frame_index >= pa->number_of_frames)
        return dv_fail(err, DV_ERR_USAGE, "frame %u of %u", frame_index, pa->number_of_frames);
    if (dv_image_frame_capacity(pa, fam, &ctx->limits, err) == 0)
        return -1;
    if (dv_ts_family_encapsulated(fam) && len > ctx->limits.max_encoded_bytes)
        return dv_fail(err, DV_ERR_LIMIT, "compressed frame of %zu bytes exceeds %llu", len,
                       (unsigned long long)ctx->limits.max_encoded_bytes);
    memset(&out->src, 0, sizeof out->src);
    out->src.family = fam;
    out->src.photometric = pa->photometric;
    out->src.planar_configuration = pa->planar_configuration;
    out->src.bits_allocated = pa->bits_allocated;
    out->src.precision = pa->bits_stored;
    int rc;
    switch (fam) {
    case DV_TSF_NATIVE: rc = dv_native_decode(pa, frame_index, data, len, out, err); break;
    case DV_TSF_DEFLATE_FRAME: rc = dv_deflate_frame_decode(pa, data, len, out, err); break;
    case DV_TSF_RLE: rc = dv_rle_decode(pa, data, len, out, err); break;
    case DV_TSF_JPEG_BASELINE: rc = dv_jpeg_baseline_decode(pa, data, len, out, err); break;
    case DV_TSF_JPEG_LOSSLESS: rc = dv_jpeg_lossless_decode(pa, data, len, out, err); break;
    case DV_TSF_JPEG_LS: rc = dv_jpegls_decode(pa, data, len, out, err); break;
    case DV_TSF_J2K: rc = dv_j2k_decode(pa, data, len, out, err); break;
    case DV_TSF_UNSUPPORTED:
        return dv_fail(err, DV_ERR_UNSUPPORTED, "transfer syntax has no pixel decoder");
    default:
        return dv_fail(err, DV_ERR_UNSUPPORTED, "transfer syntax not recognised for pixel data");
    }
    return rc;
}

int dv_image_decode_frame_bytes(dv_image_ctx *ctx, const char *ts_uid, const dv_pixel_attrs *pa,
                                const uint8_t *data, size_t len, dv_frame *out, dv_error *err)
{
    if (dv_ts_family_of(ts_uid) != DV_TSF_NATIVE)
        return dv_image_decode_frame(ctx, ts_uid, pa, 0, data, len, out, err);
    dv_pixel_attrs one = *pa; /* one little-endian frame at bit 0: frame 0 of a one-frame value */
    one.number_of_frames = 1;
    one.big_endian = 0;
    return dv_image_decode_frame(ctx, ts_uid, &one, 0, data, len, out, err);
}

int dv_image_encode_rle(dv_image_ctx *ctx, const dv_pixel_attrs *pa, const dv_frame *frame, uint8_t **out_buf,
                        size_t *out_len, dv_error *err)
{
    ctx->encode_calls++;
    return dv_rle_encode(pa, frame, out_buf, out_len, err);
}

int dv_image_encode_jpegls(dv_image_ctx *ctx, const dv_pixel_attrs *pa, const dv_frame *frame, uint8_t **out_buf,
                           size_t *out_len, dv_error *err)
{
    ctx->encode_calls++;
    return dv_jpegls_encode(pa, frame, out_buf, out_len, err);
}

int dv_image_encode_j2k(dv_image_ctx *ctx, const dv_pixel_attrs *pa, const dv_frame *frame, uint8_t **out_buf,
                        size_t *out_len, dv_error *err)
{
    ctx->encode_calls++;
    return dv_j2k_encode(pa, frame, ctx->limits.max_encoded_bytes, out_buf, out_len, err);
}

void dv_mismatch_text(char *buf, size_t n, int width_differs, int height_differs, int samples_differs,
                      const dv_pixel_attrs *pa)
{
    size_t k = 0;
    buf[0] = '\0';
    const char *sep = "";
    if (width_differs) {
        k += (size_t)snprintf(buf, n, "width differs from Columns %u", pa->columns);
        sep = ", ";
    }
    if (height_differs && k < n) {
        k += (size_t)snprintf(buf + k, n - k, "%sheight differs from Rows %u", sep, pa->rows);
        sep = ", ";
    }
    if (samples_differs && k < n)
        snprintf(buf + k, n - k, "%scomponent count differs from SamplesPerPixel %u", sep, pa->samples_per_pixel);
}

static int hex_digit(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

void dv_scrub_numbers(char *s)
{
    /* Every run of three or more hex digits that holds a decimal digit becomes "#", unless it is a decimal number up
     * to 255: what stays is one byte at most (rule (c) above: "Unsupported JPEG data precision 12" keeps the 12 a
     * user needs), what goes is every wider number and every hex spelling of two characters or more (an ASCII
     * byte's high nibble, 2 to 7, is a digit). "J2K" and "JP2" keep their names. */
    char *r = s, *w = s;
    while (*r) {
        if (!hex_digit(*r)) {
            *w++ = *r++;
            continue;
        }
        char *e = r;
        int digit = 0;
        for (; hex_digit(*e); e++)
            digit |= *e >= '0' && *e <= '9';
        int byte = e - r <= 2 || (e - r == 3 && r[0] >= '0' && r[0] <= '2' && strtol(r, NULL, 10) <= 255 &&
                                  r[1] >= '0' && r[1] <= '9' && r[2] >= '0' && r[2] <= '9');
        if (digit && !byte) {
            *w++ = '#';
        } else {
            memmove(w, r, (size_t)(e - r));
            w += e - r;
        }
        r = e;
    }
    *w = '\0';
}
