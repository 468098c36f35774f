/* Decoded frames to 8-bit pictures for people (dv_render.h). The rules are the ones a reviewer expects from a
 * DICOM viewer, and integration.test_cli_render recomputes them with pydicom + numpy: monochrome windowed
 * (first VOI window after the rescale, else the frame's min..max), MONOCHROME1 inverted, colour as RGB,
 * palette through its LUT. Rounding is half up everywhere, so the comparison can be exact. */
#include "dv_render.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dicom/dv_ds.h"
#include "dicom/dv_vr.h"
#include "dict/dv_tags.h"

/* The first value of a multi-valued DS/IS string as a double; 0 when absent or not a number. */
static int first_number(const dv_instance *inst, uint32_t tag, double *out)
{
    char buf[256];
    if (dv_instance_get_string(inst, tag, buf, sizeof buf) <= 0)
        return 0;
    char *bs = strchr(buf, '\\');
    if (bs)
        *bs = '\0';
    char *end;
    double v = strtod(buf, &end);
    while (*end == ' ')
        end++;
    if (end == buf || *end || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

static uint16_t rd16(const uint8_t *p, int be)
{
    return be ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

/* PS3.3 C.11.2.1.1: LUT Descriptor (entries, 0 = 65536; first input value mapped, signed when the
 * descriptor is SS or the pixels are signed; bits per entry) and LUT Data of the first VOI LUT item. */
static void read_voi_lut(const dv_instance *inst, dv_render_window *w)
{
    const dv_elem *sq = dv_ds_find(&inst->ds, DV_TAG_VOILUT_SEQUENCE);
    if (!sq || !(sq->flags & DV_ELEM_SEQUENCE) || !sq->items)
        return;
    const dv_ds *item = &sq->items->ds;
    const dv_elem *d = dv_ds_find(item, DV_TAG_LUT_DESCRIPTOR), *e = dv_ds_find(item, DV_TAG_LUT_DATA);
    const uint8_t *dv = d ? dv_elem_inline_value(d) : NULL;
    if (!dv || d->length < 6 || !e || (e->flags & (DV_ELEM_SEQUENCE | DV_ELEM_ENCAPSULATED)))
        return;
    int be = dv_values_big_endian(inst);
    uint32_t n = rd16(dv, be), bits = rd16(dv + 4, be);
    uint16_t first = rd16(dv + 2, be), pr = 0;
    if (n == 0)
        n = 65536;
    if (bits < 8 || bits > 16)
        return;
    int is_signed = d->vr == DV_VR_SS || (dv_ds_get_u16(inst, &inst->ds, DV_TAG_PIXEL_REPRESENTATION, &pr) == 0 && pr);
    /* 16-bit words, or (8-bit entries) one byte per entry, padded to even length */
    int bytes = bits == 8 && e->length == ((uint64_t)n + 1) / 2 * 2 && e->length < (uint64_t)n * 2;
    if (e->length < (uint64_t)n * 2 && !bytes)
        return;
    uint8_t *raw = malloc((size_t)e->length ? (size_t)e->length : 1);
    uint16_t *lut = malloc((size_t)n * sizeof *lut);
    if (!raw || !lut || dv_elem_read_value(inst, e, raw, e->length)) {
        free(raw);
        free(lut);
        return;
    }
    for (uint32_t i = 0; i < n; i++)
        lut[i] = bytes ? raw[i] : rd16(raw + 2 * (size_t)i, be && e->vr != DV_VR_OB);
    free(raw);
    w->lut = lut;
    w->lut_entries = n;
    w->lut_bits = bits;
    w->lut_first = is_signed ? (int32_t)(int16_t)first : (int32_t)first;
}

void dv_render_window_free(dv_render_window *w)
{
    free(w->lut);
    w->lut = NULL;
}

void dv_render_window_read(const dv_instance *inst, dv_render_window *w)
{
    memset(w, 0, sizeof *w);
    w->slope = 1;
    double s, i;
    if (first_number(inst, DV_TAG_RESCALE_SLOPE, &s) && s != 0)
        w->slope = s;
    if (first_number(inst, DV_TAG_RESCALE_INTERCEPT, &i))
        w->intercept = i;
    char fn[64];
    if (dv_instance_get_string(inst, DV_TAG_VOILUT_FUNCTION, fn, sizeof fn) > 0) {
        char *p = fn;
        while (*p == ' ')
            p++;
        if (strcmp(p, "LINEAR_EXACT") == 0)
            w->function = DV_VOI_LINEAR_EXACT;
        else if (strcmp(p, "SIGMOID") == 0)
            w->function = DV_VOI_SIGMOID;
    }
    double c, wd;
    if (first_number(inst, DV_TAG_WINDOW_CENTER, &c) && first_number(inst, DV_TAG_WINDOW_WIDTH, &wd) &&
        (w->function == DV_VOI_LINEAR ? wd >= 1 : wd > 0)) {
        w->has_window = 1;
        w->center = c;
        w->width = wd;
    }
    read_voi_lut(inst, w);
}

void dv_picture_free(dv_picture *p)
{
    free(p->px);
    p->px = NULL;
}

static uint8_t clamp8(double y)
{
    if (!(y > 0)) /* also NaN */
        return 0;
    if (y >= 255)
        return 255;
    return (uint8_t)floor(y + 0.5);
}

/* PS3.3 C.11.2.1.2: the VOI functions, output range 0..255. */
static uint8_t voi(const dv_render_window *w, double v)
{
    double c = w->center, wd = w->width;
    switch (w->function) {
    case DV_VOI_LINEAR_EXACT:
        if (v <= c - wd / 2)
            return 0;
        if (v > c + wd / 2)
            return 255;
        return clamp8(((v - c) / wd + 0.5) * 255);
    case DV_VOI_SIGMOID:
        return clamp8(255 / (1 + exp(-4 * (v - c) / wd)));
    default:
        if (v <= c - 0.5 - (wd - 1) / 2)
            return 0;
        if (v > c - 0.5 + (wd - 1) / 2)
            return 255;
        return clamp8(((v - (c - 0.5)) / (wd - 1) + 0.5) * 255);
    }
}

static int64_t sample(const dv_frame *f, size_t i)
{
    switch (f->sample_bytes) {
    case 1: return f->is_signed ? (int64_t)((const int8_t *)f->data)[i] : (int64_t)((const uint8_t *)f->data)[i];
    case 2: return f->is_signed ? (int64_t)((const int16_t *)f->data)[i] : (int64_t)((const uint16_t *)f->data)[i];
    default: return f->is_signed ? (int64_t)((const int32_t *)f->data)[i] : (int64_t)((const uint32_t *)f->data)[i];
    }
}

void dv_render_window_of_frame(const dv_frame *f, dv_render_window *w)
{
    memset(w, 0, sizeof *w);
    w->slope = 1;
    if (f->samples != 1 || (f->photometric != DV_PHOTO_MONOCHROME1 && f->photometric != DV_PHOTO_MONOCHROME2))
        return;
    size_t n = (size_t)f->width * f->height;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        int64_t v = sample(f, i);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    if (n == 0 || hi <= lo)
        return;
    w->has_window = 1;
    w->function = DV_VOI_LINEAR_EXACT;
    w->center = ((double)lo + (double)hi) / 2;
    w->width = (double)hi - (double)lo;
}

static void render_mono(const dv_frame *f, const dv_render_window *w, uint8_t *px, size_t n)
{
    if (w && w->lut) {
        /* the VOI LUT: index by the rescaled value (floor), clamped to the table, scaled to 8 bits */
        double top = (double)((1u << w->lut_bits) - 1u);
        for (size_t i = 0; i < n; i++) {
            double v = floor((double)sample(f, i) * w->slope + w->intercept) - (double)w->lut_first;
            size_t k = !(v > 0) ? 0 : v >= (double)(w->lut_entries - 1) ? w->lut_entries - 1 : (size_t)v;
            px[i] = clamp8((double)w->lut[k] * 255.0 / top);
        }
    } else if (w && w->has_window) {
        for (size_t i = 0; i < n; i++)
            px[i] = voi(w, (double)sample(f, i) * w->slope + w->intercept);
    } else {
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (size_t i = 0; i < n; i++) {
            int64_t v = sample(f, i);
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        /* (v - lo) * 255 / (hi - lo), rounded half up, in integers (exact; the range fits in 33 bits) */
        uint64_t range = (uint64_t)(hi - lo);
        for (size_t i = 0; i < n; i++)
            px[i] = range ? (uint8_t)(((uint64_t)(sample(f, i) - lo) * 510 + range) / (2 * range)) : 0;
    }
    if (f->photometric == DV_PHOTO_MONOCHROME1)
        for (size_t i = 0; i < n; i++)
            px[i] = (uint8_t)(255 - px[i]);
}

/* A colour sample scaled to 8 bits: containers wider than a byte keep their top BitsStored bits. */
static uint8_t colour8(const dv_frame *f, size_t i)
{
    int64_t v = sample(f, i);
    if (v < 0)
        return 0;
    if (f->bits_stored > 8)
        v >>= f->bits_stored - 8;
    return v > 255 ? 255 : (uint8_t)v;
}

int dv_render_frame(const dv_frame *f, const dv_palette *pal, const dv_render_window *w, dv_picture *out,
                    dv_error *err)
{
    memset(out, 0, sizeof *out);
    size_t npx = (size_t)f->width * f->height;
    dv_photometric ph = f->photometric;
    int mono = ph == DV_PHOTO_MONOCHROME1 || ph == DV_PHOTO_MONOCHROME2;
    int rgbish = ph == DV_PHOTO_RGB || ph == DV_PHOTO_YBR_FULL;
    if (!(mono && f->samples == 1) && !(rgbish && f->samples == 3) &&
        !(ph == DV_PHOTO_PALETTE_COLOR && f->samples == 1 && pal))
        return dv_fail(err, DV_ERR_UNSUPPORTED, "cannot render a %s frame of %u samples per pixel",
                       ph == DV_PHOTO_UNKNOWN ? "(unknown)" : dv_photometric_name(ph), f->samples);
    out->width = f->width;
    out->height = f->height;
    out->channels = mono ? 1 : 3;
    if (!(out->px = malloc(npx * out->channels + 1)))
        return dv_fail(err, DV_ERR_NOMEM, "picture of %zu pixels", npx);
    uint8_t *px = out->px;
    if (mono) {
        render_mono(f, w, px, npx);
    } else if (ph == DV_PHOTO_RGB) {
        for (size_t i = 0; i < npx * 3; i++)
            px[i] = colour8(f, i);
    } else if (ph == DV_PHOTO_YBR_FULL) {
        /* PS3.3 C.7.6.3.1.2, inverted (the YBR_FULL equations are JFIF's) */
        for (size_t i = 0; i < npx; i++) {
            double y = colour8(f, 3 * i), cb = colour8(f, 3 * i + 1) - 128.0, cr = colour8(f, 3 * i + 2) - 128.0;
            px[3 * i] = clamp8(y + 1.402 * cr);
            px[3 * i + 1] = clamp8(y - 0.344136 * cb - 0.714136 * cr);
            px[3 * i + 2] = clamp8(y + 1.772 * cb);
        }
    } else { /* PALETTE COLOR: index - first_mapped, clamped to the table; 16-bit entries keep their top byte */
        uint32_t shift = pal->bits > 8 ? 8 : 0;
        for (size_t i = 0; i < npx; i++) {
            int64_t k = sample(f, i) - (int64_t)pal->first_mapped;
            k = k < 0 ? 0 : k >= (int64_t)pal->entries ? (int64_t)pal->entries - 1 : k;
            for (int c = 0; c < 3; c++) {
                uint32_t v = (uint32_t)pal->lut[(size_t)c * pal->entries + (size_t)k] >> shift;
                px[3 * i + (size_t)c] = v > 255 ? 255 : (uint8_t)v;
            }
        }
    }
    return 0;
}

int dv_picture_to_rgb(const dv_picture *p, dv_picture *out, dv_error *err)
{
    size_t npx = (size_t)p->width * p->height;
    *out = (dv_picture){NULL, p->width, p->height, 3};
    if (!(out->px = malloc(npx * 3 + 1)))
        return dv_fail(err, DV_ERR_NOMEM, "picture of %zu pixels", npx);
    if (p->channels == 3)
        memcpy(out->px, p->px, npx * 3);
    else
        for (size_t i = 0; i < npx; i++)
            out->px[3 * i] = out->px[3 * i + 1] = out->px[3 * i + 2] = p->px[i];
    return 0;
}

void dv_picture_outline(dv_picture *p, uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint32_t thick,
                        const uint8_t rgb[3])
{
    if (p->channels != 3 || w == 0 || h == 0 || x >= p->width || y >= p->height)
        return;
    uint64_t x1 = (uint64_t)x + w, y1 = (uint64_t)y + h;
    x1 = x1 > p->width ? p->width : x1;
    y1 = y1 > p->height ? p->height : y1;
    for (uint64_t yy = y; yy < y1; yy++)
        for (uint64_t xx = x; xx < x1; xx++) {
            int edge = xx < (uint64_t)x + thick || yy < (uint64_t)y + thick || xx + thick >= x1 || yy + thick >= y1;
            if (!edge) {
                xx = x1 > thick ? x1 - thick - 1 : xx; /* jump to the right edge */
                continue;
            }
            uint8_t *q = p->px + (yy * p->width + xx) * 3;
            q[0] = rgb[0];
            q[1] = rgb[1];
            q[2] = rgb[2];
        }
}
