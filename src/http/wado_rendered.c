/* WADO-RS rendered (PS3.18 10.4.1.1.3, 8.3.5.1): one frame of a stored instance as a picture for people,
 * through the same decode and windowing as `dicomveil render` (src/image/render_instance.c).
 *
 * - .../instances/{i}/rendered: the first frame; .../frames/{n}/rendered: frame n (exactly one number).
 * - Media type: image/png unless the Accept header names image/jpeg before image/png (quality=1-100,
 *   default 90); anything else is 406.
 * - window=center,width[,function] (function linear, linear-exact or sigmoid; PS3.18 8.3.5.1.4) replaces the
 *   instance's first VOI window, over the values after the instance's Modality rescale; without it the
 *   instance's own WindowCenter/WindowWidth/VOILUTFunction (or the frame's min..max) apply.
 * - viewport=vw,vh scales the picture to fit inside vw x vh (aspect kept, nearest neighbour; each at most
 *   4096); the cropping form vw,vh,sx,sy,sw,sh is 400 (not supported). annotation and iccprofile are accepted
 *   and ignored (no burned-in annotation is added, no ICC profile is embedded).
 * - Decode caps (dvh_pixel_limits): 413 past them; a transfer syntax we cannot decode is 406.
 * [integration.test_server_web: test_rendered] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/accept.h"
#include "http/qido.h"
#include "http/wado_params.h"
#include "http/server_internal.h"
#include "image/dv_render.h"

#define PARAMS_MAX 16

/* 1 PNG, 2 JPEG, 0 neither: the one the Accept header weighs more, the one it names first when they weigh the
 * same (PNG when neither is named). */
static int media(dvh_request *rq)
{
    const char *a = dvh_header(rq, MHD_HTTP_HEADER_ACCEPT);
    int at_png, at_jpg;
    int qp = dvh_accept_q(a, "image/png", NULL, &at_png), qj = dvh_accept_q(a, "image/jpeg", NULL, &at_jpg);
    if (qj > qp || (qj == qp && qj > 0 && at_jpg >= 0 && at_jpg < at_png))
        return 2;
    return qp > 0 ? 1 : 0;
}

int dvh_handle_rendered(dvh_request *rq, struct MHD_Response **resp, int *status, dvh_err *e)
{
    const dvh_web *w = &rq->route.web;
    uint32_t frame = 1;
    if (w->tail == DVH_TAIL_FRAMES_RENDERED) {
        size_t len = strlen(w->frames);
        if (len == 0 || len > 9 || strspn(w->frames, "0123456789") != len)
            return dvh_fail(e, DVH_INVALID_ARGUMENT, "rendered: exactly one 1-based frame number");
        frame = (uint32_t)strtoul(w->frames, NULL, 10);
        if (frame == 0)
            return dvh_fail(e, DVH_INVALID_ARGUMENT, "rendered: frame numbers start at 1");
    }
    int kind = media(rq);
    if (kind == 0)
        return dvh_fail(e, DVH_NOT_ACCEPTABLE, "rendered: Accept image/png or image/jpeg");
    dvh_render_opts o;
    dvh_qparam qp[PARAMS_MAX];
    size_t nq = dvh_query_params(rq, qp, PARAMS_MAX);
    if (dvh_render_opts_parse(qp, nq, &o, e))
        return -1;
    dvh_loaded *l = dvh_load_instance(rq, e);
    if (l == NULL)
        return -1;
    dv_image_limits lim;
    dvh_pixel_limits(&lim);
    dv_render_window win;
    dv_render_window_read(l->inst, &win); /* keeps the instance's rescale */
    if (o.has_window) {
        dv_render_window_free(&win); /* the client's window replaces the instance's VOI LUT too */
        win.has_window = 1;
        win.center = o.center;
        win.width = o.width;
        win.function = o.function;
    }
    dv_picture pic = {0};
    dv_error err = {0};
    const char *stage = "render";
    uint32_t nframes = 0;
    uint8_t *out = NULL;
    size_t out_len = 0;
    int rc = 0;
    if (dv_render_instance_frame(l->inst, frame - 1, &win, &lim, &pic, &nframes, &stage, &err)) {
        if (err.code == DV_ERR_USAGE)
            rc = dvh_fail(e, DVH_NOT_FOUND, "frame %u: the instance has %u frame%s", frame, nframes,
                          nframes == 1 ? "" : "s");
        else
            rc = dvh_pixel_fail(e, stage, &err);
    } else if (o.vw && dv_picture_fit(&pic, o.vw, o.vh, &err)) {
        rc = dvh_pixel_fail(e, "viewport", &err);
    } else if (kind == 2 ? dv_jpeg_encode(&pic, o.quality, (size_t)lim.max_frame_bytes, &out, &out_len, &err)
                         : dv_png_encode(&pic, &out, &out_len, &err)) {
        rc = dvh_pixel_fail(e, kind == 2 ? "jpeg" : "png", &err);
    }
    dv_picture_free(&pic);
    dv_render_window_free(&win);
    dvh_loaded_free(l);
    if (rc)
        return -1;
    *status = 200;
    *resp = dvh_response_bytes(kind == 2 ? "image/jpeg" : "image/png", (char *)out, out_len);
    return *resp ? 0 : dvh_fail(e, DVH_INTERNAL, "out of memory");
}
