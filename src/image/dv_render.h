/* Pictures of decoded frames for people (internal; issue 11 item 5: `dicomveil render`, `deidentify --preview`).
 *
 * render.c turns a canonical decoded frame (dv_image.h) into 8-bit samples a PNG viewer shows as a DICOM
 * viewer would: monochrome through the instance's first VOI window (WindowCenter / WindowWidth after the
 * Modality rescale, VOILUTFunction LINEAR, LINEAR_EXACT or SIGMOID, PS3.3 C.11.2.1.2) or, without one, the
 * frame's own minimum..maximum; MONOCHROME1 inverted (high values dark); RGB as is (containers wider than 8
 * bits scaled down from BitsStored); YBR_FULL converted to RGB (PS3.3 C.7.6.3.1.2); PALETTE COLOR through
 * its lookup table. png_write.c encodes the result (gray8 or RGB8) as a PNG in memory over zlib. No I/O here:
 * the command line writes the bytes. [integration.test_cli_render] */
#ifndef DV_RENDER_H
#define DV_RENDER_H

#include <stddef.h>
#include <stdint.h>
#include "dicomveil/dv_error.h"
#include "dicomveil/dv_instance.h"
#include "image/dv_image.h"

typedef enum dv_voi_function { DV_VOI_LINEAR = 0, DV_VOI_LINEAR_EXACT, DV_VOI_SIGMOID } dv_voi_function;

/* How monochrome samples become 8-bit: a VOI LUT or window over rescaled values, or none (frame min..max). */
typedef struct dv_render_window {
    int has_window;          /* 0: window by the frame's own min..max */
    double center, width;    /* the first WindowCenter / WindowWidth pair */
    dv_voi_function function;
    double slope, intercept; /* Modality LUT rescale (1, 0 when absent) */
    /* The first item of the VOI LUT Sequence (0028,3010), preferred over the window when usable (as
     * pydicom's apply_voi_lut does): rescaled value v -> lut[clamp(v - lut_first, 0, lut_entries - 1)],
     * scaled from lut_bits to 8 bits. lut is malloc'd (dv_render_window_free); NULL: none. */
    uint16_t *lut;
    uint32_t lut_entries, lut_bits;
    int32_t lut_first;
} dv_render_window;

/* Read the first WindowCenter/WindowWidth pair, VOILUTFunction, RescaleSlope/RescaleIntercept and the first
 * VOI LUT Sequence item of inst's top-level dataset. Never fails: absent, unparsable or unusable values (width
 * < 1 for LINEAR, <= 0 otherwise; slope 0; a LUT whose descriptor or data do not agree, 8 or 16 bits per
 * entry only) mean "no window" / "no LUT" rather than an error. Free with dv_render_window_free.
 * [integration.test_cli_render "VOI LUT"] */
void dv_render_window_read(const dv_instance *inst, dv_render_window *w);
void dv_render_window_free(dv_render_window *w);

/* The frame's own min..max as an explicit window (LINEAR_EXACT from min to max; has_window 0 when the frame is
 * flat or not monochrome), so other frames can be shown with the same contrast: --preview renders the frame
 * after redaction with the window of the frame before it (the black boxes must not change the contrast). */
void dv_render_window_of_frame(const dv_frame *f, dv_render_window *w);

/* An 8-bit picture: gray (channels 1) or RGB (channels 3), rows of width * channels bytes, no padding. */
typedef struct dv_picture {
    uint8_t *px; /* malloc'd, owned by the picture (dv_picture_free) */
    uint32_t width, height, channels;
} dv_picture;
void dv_picture_free(dv_picture *p);

/* Render f into *out (its px allocated here). w NULL: no window. pal: required for PALETTE COLOR frames.
 * Returns 0, or -1 with err: DV_ERR_UNSUPPORTED for a photometric that cannot be shown (or PALETTE COLOR
 * without pal), DV_ERR_NOMEM. */
int dv_render_frame(const dv_frame *f, const dv_palette *pal, const dv_render_window *w, dv_picture *out,
                    dv_error *err);

/* A copy of p as RGB (gray replicated), px malloc'd; for drawing coloured outlines. 0 or -1 (DV_ERR_NOMEM). */
int dv_picture_to_rgb(const dv_picture *p, dv_picture *out, dv_error *err);

/* Draw the outline of rectangle [x, x+w) x [y, y+h) (clipped to the picture) `thick` pixels wide, inside
 * the rectangle's edge, in colour rgb. p must be RGB. */
void dv_picture_outline(dv_picture *p, uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint32_t thick,
                        const uint8_t rgb[3]);

/* png_write.c: encode p (channels 1 or 3) as a PNG (IHDR, IDAT chunks of at most 1 MiB, IEND; 8-bit gray or
 * truecolour, no interlace, zlib level 6). *out malloc'd, owned by the caller. 0, or -1 with err (DV_ERR_NOMEM,
 * DV_ERR_LIMIT for pictures over 2^31 - 1 pixels per side, DV_ERR_USAGE for a bad channel count). */
int dv_png_encode(const dv_picture *p, uint8_t **out, size_t *out_len, dv_error *err);

/* render_instance.c: the whole path from a stored instance to a picture, shared by `dicomveil render` and the
 * server's WADO-RS `rendered` (src/http/wado_rendered.c): pixel attributes (capped by lim, NULL: defaults),
 * the frame index when encapsulated, decode of frame `frame` (counted from 0) through a context of lim, the
 * palette for PALETTE COLOR, then dv_render_frame with window (NULL: the instance's own VOI attributes,
 * dv_render_window_read). On failure *stage names the step that failed ("pixel data", "frames", "frame",
 * "decode", "palette", "render") and err its class: DV_ERR_USAGE when frame is out of range (*nframes then
 * holds the count), DV_ERR_LIMIT at a cap of lim, DV_ERR_UNSUPPORTED, DV_ERR_MALFORMED, DV_ERR_NOMEM.
 * nframes may be NULL. 0 or -1. */
int dv_render_instance_frame(const dv_instance *inst, uint32_t frame, const dv_render_window *window,
                             const dv_image_limits *lim, dv_picture *out, uint32_t *nframes, const char **stage,
                             dv_error *err);

/* jpeg_write.c: encode p (channels 1 or 3) as a baseline JPEG (libjpeg-turbo, quality 1-100, 4:4:4 for RGB)
 * for WADO-RS `rendered` with Accept: image/jpeg. *out malloc'd, owned by the caller; at most max_len bytes
 * (DV_ERR_LIMIT beyond). 0, or -1 with err (DV_ERR_USAGE for a bad channel count or quality, DV_ERR_LIMIT for
 * pictures over 65500 pixels per side, which JPEG cannot hold, DV_ERR_NOMEM). */
int dv_jpeg_encode(const dv_picture *p, int quality, size_t max_len, uint8_t **out, size_t *out_len, dv_error *err);

/* Scale p to fit inside vw x vh keeping its aspect ratio (nearest neighbour; a picture already inside is
 * enlarged to fit too, as PS3.18 8.3.5.1.3 "viewport" asks). Replaces p->px. 0, or -1 with err (DV_ERR_USAGE
 * for a 0 size, DV_ERR_NOMEM). */
int dv_picture_fit(dv_picture *p, uint32_t vw, uint32_t vh, dv_error *err);

#endif
