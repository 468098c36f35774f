/* From an instance to a picture (dv_render.h dv_render_instance_frame): the one sequence of decode steps
 * behind `dicomveil render` and WADO-RS rendered, so the command line and the server show a frame the same
 * way. [integration.test_cli_render, integration.test_server_web: test_rendered] */
#include "dv_render.h"

#include <stdlib.h>
#include <string.h>

#include "dicomveil/dv_frames.h"

int dv_render_instance_frame(const dv_instance *inst, uint32_t frame, const dv_render_window *window,
                             const dv_image_limits *lim, dv_picture *out, uint32_t *nframes, const char **stage,
                             dv_error *err)
{
    dv_image_ctx *ctx = NULL;
    dv_frames *frames = NULL;
    dv_palette pal = {0};
    int have_pal = 0;
    void *buf = NULL;
    int rc = -1;
    dv_pixel_attrs pa;
    memset(out, 0, sizeof *out);
    *stage = "pixel data";
    if (dv_pixel_attrs_read(inst, lim, &pa, err))
        goto done;
    if (nframes)
        *nframes = pa.number_of_frames;
    if (frame >= pa.number_of_frames) {
        dv_fail(err, DV_ERR_USAGE, "frame %u is out of range: the instance has %u frame%s (counted from 0)", frame,
                pa.number_of_frames, pa.number_of_frames == 1 ? "" : "s");
        goto done;
    }
    const char *ts = dv_instance_transfer_syntax(inst);
    dv_ts_family fam = dv_ts_family_of(ts);
    *stage = "frame";
    if (!(ctx = dv_image_ctx_new(lim))) {
        dv_fail(err, DV_ERR_NOMEM, "image context");
        goto done;
    }
    size_t cap = dv_image_frame_capacity(&pa, fam, dv_image_ctx_limits(ctx), err);
    if (!cap)
        goto done;
    *stage = "frames";
    if (dv_ts_family_encapsulated(fam) && !(frames = dv_frames_index(inst, err)))
        goto done;
    *stage = "frame";
    if (!(buf = malloc(cap))) {
        dv_fail(err, DV_ERR_NOMEM, "a frame of %zu bytes", cap);
        goto done;
    }
    dv_frame f = {.data = buf, .cap = cap};
    *stage = "decode";
    if (dv_image_decode_instance_frame(ctx, inst, frames, &pa, frame, &f, err))
        goto done;
    if (f.photometric == DV_PHOTO_PALETTE_COLOR) {
        *stage = "palette";
        if (dv_palette_read(inst, &pal, err))
            goto done;
        have_pal = 1;
    }
    dv_render_window own = {0};
    if (window == NULL) {
        dv_render_window_read(inst, &own);
        window = &own;
    }
    *stage = "render";
    int failed = dv_render_frame(&f, have_pal ? &pal : NULL, window, out, err);
    dv_render_window_free(&own);
    if (failed)
        goto done;
    rc = 0;
done:
    free(buf);
    if (have_pal)
        dv_palette_free(&pal);
    dv_frames_free(frames);
    dv_image_ctx_free(ctx);
    return rc;
}

int dv_picture_fit(dv_picture *p, uint32_t vw, uint32_t vh, dv_error *err)
{
    if (vw == 0 || vh == 0 || p->width == 0 || p->height == 0)
        return dv_fail(err, DV_ERR_USAGE, "viewport: sizes must be at least 1");
    /* The largest w x h inside vw x vh with w/h = width/height (rounded down, at least 1). */
    uint64_t w = vw, h = (uint64_t)vw * p->height / p->width;
    if (h > vh) {
        h = vh;
        w = (uint64_t)vh * p->width / p->height;
    }
    if (w == 0)
        w = 1;
    if (h == 0)
        h = 1;
    size_t n = (size_t)w * (size_t)h * p->channels;
    uint8_t *px = malloc(n ? n : 1);
    if (px == NULL)
        return dv_fail(err, DV_ERR_NOMEM, "viewport picture of %zu bytes", n);
    for (uint64_t y = 0; y < h; y++) {
        uint64_t sy = y * p->height / h;
        for (uint64_t x = 0; x < w; x++) {
            uint64_t sx = x * p->width / w;
            memcpy(px + (y * w + x) * p->channels, p->px + (sy * p->width + sx) * p->channels, p->channels);
        }
    }
    free(p->px);
    p->px = px;
    p->width = (uint32_t)w;
    p->height = (uint32_t)h;
    return 0;
}
