/* Painting boxes into a decoded frame (dv_redact.h): the opaque rectangle of DECISIONS 14.
 *
 * "Darkest" is what a viewer shows darkest whatever window it applies: every display transform of
 * monochrome data (Modality LUT, linear or sigmoid VOI LUT) is monotonic, so the lowest stored value of a
 * MONOCHROME2 frame (the highest of a MONOCHROME1 frame) is black under all of them; colour frames get black
 * in their own colour space (RGB 0,0,0; YBR_FULL Y=0 with neutral chroma); a palette frame gets the index
 * whose colour has the lowest luminance; a float frame (MONOCHROME2) its least finite value (float_pixel).
 * The box is clipped to the frame; nothing outside it is written.
 * [test_pixel_stage: test_redact_darkest_values, test_redact_only_inside, test_float_pixels_redacted] */
#include "dv_redact.h"

#include <string.h>

/* The value written into every sample of channel c. */
static int64_t fill_value(const dv_frame *f, const dv_palette *pal, uint32_t c)
{
    uint32_t bits = f->bits_stored ? f->bits_stored : f->sample_bytes * 8u;
    if (bits > 32)
        bits = 32;
    int64_t lo = f->is_signed ? -((int64_t)1 << (bits - 1)) : 0;
    int64_t hi = f->is_signed ? ((int64_t)1 << (bits - 1)) - 1 : ((int64_t)1 << bits) - 1;
    switch (f->photometric) {
    case DV_PHOTO_MONOCHROME1:
        return hi;
    case DV_PHOTO_YBR_FULL:
    case DV_PHOTO_YBR_FULL_422:
    case DV_PHOTO_YBR_ICT:
    case DV_PHOTO_YBR_RCT:
    case DV_PHOTO_YBR_PARTIAL_420:
        /* Y black, Cb/Cr at their neutral midpoint (unsigned samples: the only kind YBR is stored as). */
        return c == 0 ? lo : ((int64_t)1 << (bits - 1));
    case DV_PHOTO_PALETTE_COLOR: {
        if (!pal || !pal->lut || pal->entries == 0)
            return lo; /* no table: index 0 is the best guess; the stage always passes the table */
        uint64_t best = UINT64_MAX;
        int64_t best_index = lo;
        for (uint32_t i = 0; i < pal->entries; i++) {
            int64_t index = (int64_t)pal->first_mapped + i;
            if (index < lo || index > hi)
                continue; /* not storable in this frame's samples */
            /* Rec. 601 weights, integer: enough to order colours by brightness. */
            uint64_t y = 299u * pal->lut[i] + 587u * pal->lut[pal->entries + i] + 114u * pal->lut[2u * pal->entries + i];
            if (y < best) {
                best = y;
                best_index = index;
            }
        }
        return best_index;
    }
    default:
        return lo; /* MONOCHROME2, RGB */
    }
}

/* A float frame's fill (one sample, MONOCHROME2): its least finite value, the darkest of what it holds under
 * any monotonic window, as the integer fill is; not the type's least (-FLT_MAX), which would stretch the range
 * that a viewer windows over to nothing. 0 when no sample is finite. */
static void float_pixel(const dv_frame *f, uint8_t pixel[16])
{
    double lo, hi;
    dv_frame_float_range(f, &lo, &hi);
    if (f->sample_bytes == 4) {
        float x = (float)lo;
        memcpy(pixel, &x, 4);
    } else {
        memcpy(pixel, &lo, 8);
    }
}

/* One pixel's bytes: every channel's fill in the frame's containers. */
static void integer_pixel(const dv_frame *f, const dv_palette *pal, uint8_t pixel[16])
{
    for (uint32_t c = 0; c < f->samples; c++) {
        int64_t v = fill_value(f, pal, c);
        uint8_t *p = pixel + (size_t)c * f->sample_bytes;
        switch (f->sample_bytes) {
        case 1: { uint8_t x = (uint8_t)v; memcpy(p, &x, 1); break; }
        case 2: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
        default: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
        }
    }
}

uint64_t dv_redact_frame(dv_frame *f, const dv_palette *pal, const dv_boxes *boxes)
{
    if (!f || !f->data || !boxes || boxes->n == 0 || f->samples == 0 || f->samples > 4 ||
        (f->is_float && (f->samples != 1 || (f->sample_bytes != 4 && f->sample_bytes != 8))))
        return 0;
    size_t px_bytes = (size_t)f->samples * f->sample_bytes;
    /* One pixel's bytes, built once, then copied along each row of each box. */
    uint8_t pixel[16];
    if (f->is_float)
        float_pixel(f, pixel);
    else
        integer_pixel(f, pal, pixel);
    uint64_t painted = 0;
    uint8_t *base = f->data;
    size_t stride = (size_t)f->width * px_bytes;
    for (size_t b = 0; b < boxes->n; b++) {
        const dv_box *bx = &boxes->v[b];
        if (bx->x >= f->width || bx->y >= f->height || bx->w == 0 || bx->h == 0)
            continue;
        uint32_t x1 = bx->w > f->width - bx->x ? f->width : bx->x + bx->w;
        uint32_t y1 = bx->h > f->height - bx->y ? f->height : bx->y + bx->h;
        for (uint32_t y = bx->y; y < y1; y++) {
            uint8_t *row = base + (size_t)y * stride + (size_t)bx->x * px_bytes;
            for (uint32_t x = bx->x; x < x1; x++, row += px_bytes)
                memcpy(row, pixel, px_bytes);
        }
        painted += (uint64_t)(x1 - bx->x) * (y1 - bx->y); /* overlapping boxes count twice: an upper bound */
    }
    return painted;
}
