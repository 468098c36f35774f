/* deidentify --preview DIR: before/after PNGs of every redacted frame, for a reviewer (issue 11 item 5).
 *
 * The library does no I/O: the pixel stage calls dvc_preview_observe (dv_run_set_frame_observer, dv_run.h) on
 * the worker thread for every frame it examined; for each frame with boxes this writes
 *   DIR/<output SOPInstanceUID>_frame<N>_before.png   the frame as decoded, the redacted boxes outlined
 *                                                     2 px red, inside each box's edge
 *   DIR/<output SOPInstanceUID>_frame<N>_after.png    the frame as written (JPEG Baseline: the redacted
 *                                                     stream decoded again)
 * (N counted from 0, as render --frame). Names carry only the NEW UID (dvc_uid_component) and a frame number,
 * never an input value or path. Both pictures use the before frame's window (monochrome: its min..max), so
 * the black boxes do not change the contrast. Files are mode 0600 and replaced atomically (dvc_file_replace);
 * the directory is 0700: the before pictures show the burned-in text, i.e. PHI, which is why --preview is
 * refused inside DST or a SRC (cmd_deidentify.c). A picture that cannot be made or written is counted and
 * reported (exit 1), never silently skipped; it never fails the instance itself.
 * [integration.test_cli_preview] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "image/dv_image.h"
#include "image/dv_redact.h"
#include "image/dv_render.h"

static const uint8_t OUTLINE_RGB[3] = {255, 0, 0};
#define OUTLINE_PX 2

/* Render f with window w (outlining boxes when given) and write it as name in the preview dir. 0 or -1. */
static int write_picture(dvc_preview *pv, const dv_frame *f, const dv_palette *pal, const dv_render_window *w,
                         const dv_frame_box *boxes, size_t nboxes, const char *name)
{
    dv_error err;
    dv_error_clear(&err);
    dv_picture pic = {0}, rgb = {0};
    uint8_t *png = NULL;
    size_t len = 0;
    int rc = -1;
    char *path = dvc_path_join(pv->dir, name);
    if (!path || dv_render_frame(f, pal, w, &pic, &err))
        goto out;
    const dv_picture *show = &pic;
    if (nboxes) {
        if (dv_picture_to_rgb(&pic, &rgb, &err))
            goto out;
        for (size_t i = 0; i < nboxes; i++)
            dv_picture_outline(&rgb, boxes[i].x, boxes[i].y, boxes[i].w, boxes[i].h, OUTLINE_PX, OUTLINE_RGB);
        show = &rgb;
    }
    if (dv_png_encode(show, &png, &len, &err))
        goto out;
    rc = dvc_file_replace(path, (const char *)png, len, "preview");
out:
    if (rc && err.code != DV_OK)
        dvc_progress_log(pv->progress, "preview: %s: %s", dv_code_name(err.code), err.message);
    free(png);
    free(path);
    dv_picture_free(&pic);
    dv_picture_free(&rgb);
    return rc;
}

void dvc_preview_observe(const dv_frame_event *ev, void *user)
{
    dvc_preview *pv = user;
    if (ev->struct_size < offsetof(dv_frame_event, nboxes) + sizeof ev->nboxes || ev->nboxes == 0)
        return; /* only redacted frames are previewed */
    if (!ev->before || !ev->after)
        return; /* a float frame: no picture to write (dv_frame_event) */
    char uid[DVC_COMPONENT_MAX];
    dvc_uid_component(ev->sop_uid ? ev->sop_uid : "", ev->sop_uid ? strlen(ev->sop_uid) : 0, "_no-sop-uid", uid);
    char before[DVC_COMPONENT_MAX + 48], after[DVC_COMPONENT_MAX + 48];
    snprintf(before, sizeof before, "%s_frame%u_before.png", uid, ev->frame_index);
    snprintf(after, sizeof after, "%s_frame%u_after.png", uid, ev->frame_index);
    dv_render_window w;
    dv_render_window_of_frame(ev->before, &w);
    int bad = write_picture(pv, ev->before, ev->palette, &w, ev->boxes, ev->nboxes, before);
    bad |= write_picture(pv, ev->after, ev->palette, &w, NULL, 0, after);
    if (bad)
        atomic_fetch_add(&pv->failed, 1);
    else
        atomic_fetch_add(&pv->written, 1);
}
