/* What an instance's pixel data carries besides pixels (run.c, after the pixel stage, before writing): text
 * and thumbnails embedded in its codestreams, and bytes past the last native frame. docs/decisions.md
 * "Codestream metadata" and "Bytes past the last frame". [test_pixel_container] */
#ifndef DV_PIXEL_CONTAINER_H
#define DV_PIXEL_CONTAINER_H

#include "dicomveil/dv_error.h"
#include "dicomveil/dv_instance.h"

/* Clear them: every encapsulated value of the instance (top level and nested, under a JPEG, JPEG-LS, JPEG 2000
 * or HTJ2K transfer syntax) gets the patches that overwrite its codestreams' comments, application segments,
 * thumbnails, extra boxes and trailing bytes (src/image/codestream_meta.c); native PixelData longer than its
 * frames is cut to them. Returns 0, or -1 with err (DV_ERR_MALFORMED when a codestream cannot be walked, so
 * what it embeds cannot be checked: the instance must not be written; DV_ERR_LIMIT, DV_ERR_IO, DV_ERR_NOMEM). */
int dv_pixel_container_clean(dv_instance *inst, dv_error *err);

#endif
