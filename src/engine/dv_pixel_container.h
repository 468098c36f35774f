/* What an instance's pixel data carries besides pixels (run.c, after the pixel stage, before writing): text
 * and thumbnails embedded in its codestreams, bytes past the last native frame, and overlay planes embedded in
 * the unused high bits of native pixels. docs/decisions.md "Codestream metadata", "Bytes past the last frame"
 * and "Overlays embedded in pixel data". [test_pixel_container] */
#ifndef DV_PIXEL_CONTAINER_H
#define DV_PIXEL_CONTAINER_H

#include <stdint.h>

#include "dicomveil/dv_error.h"
#include "dicomveil/dv_instance.h"

/* Overlay planes embedded in the top-level native PixelData (retired usage: PS3.5 8.1.2, older editions of
 * PS3.3 C.9.2): an overlay group (60xx, xx even 00-1E) without OverlayData (60xx,3000) whose OverlayBitPosition
 * (60xx,0102) p is below BitsAllocated and outside the stored bits [HighBit - BitsStored + 1, HighBit]. Bit g
 * of groups: group 0x6000 + 2g declares one, at bit plane[g]. Per instance: a local of the caller. */
typedef struct dv_overlay_planes {
    uint16_t groups;
    uint8_t plane[16];
    /* Set by the caller when the pixel stage examined the pixels (a cleanImage mode that redacts): every plane
     * outside the stored bits is cleared, not only those of removed groups, but for the planes a group still in
     * the output declares. docs/decisions.md "Overlays embedded in pixel data". */
    uint8_t all_unused;
} dv_overlay_planes;

/* Read them from the instance as parsed, BEFORE the plan is applied (the profile deletes the overlay groups
 * that declare them). One walk of the top-level element list; an instance without overlay groups pays nothing
 * more. Never fails: what cannot be read declares no plane. */
void dv_pixel_container_overlays(const dv_instance *inst, dv_overlay_planes *ov);

/* Clear them: every encapsulated value of the instance (top level and nested, under a JPEG, JPEG-LS, JPEG 2000
 * or HTJ2K transfer syntax) gets the patches that overwrite its codestreams' comments, application segments,
 * thumbnails, extra boxes and trailing bytes (src/image/codestream_meta.c); native PixelData longer than its
 * frames is cut to them. A plane of ov (read before apply; NULL: none) whose group no longer declares it (its
 * (60xx,0102) is gone: the profile removed the overlay) is set to 0 in every sample of every frame, unless a
 * group still in the instance declares the same plane. With ov->all_unused every plane outside the stored bits
 * is cleared but those a group still in the instance declares (signed samples: the planes above HighBit become
 * copies of its sign bit, as the decoders sign-extend), and the value is replaced only when a sample changes.
 * The PixelData is then replaced by the cleared frames
 * (little endian: explicit VR big endian is written explicit VR little endian). Encapsulated pixel data
 * cannot embed overlays: nothing is done to it for them. Returns 0, or -1 with err (DV_ERR_MALFORMED when a
 * codestream cannot be walked, so what it embeds cannot be checked, or the native frames that hold a plane
 * to clear cannot be told apart: the instance must not be written; DV_ERR_LIMIT past the image limits,
 * DV_ERR_IO, DV_ERR_NOMEM). */
int dv_pixel_container_clean(dv_instance *inst, const dv_overlay_planes *ov, dv_error *err);

#endif
