/* Test-only: one frame's stored bytes out of an instance's PixelData (native: the whole value, for the
 * codec tests that select the frame themselves; encapsulated: frame i from the frame index, dv_frames.h). */
#ifndef DV_TEST_FRAMES_H
#define DV_TEST_FRAMES_H

#include <stddef.h>
#include <stdint.h>
#include "dicomveil/dv_instance.h"

/* *out is malloc'd (caller frees). For native data the whole PixelData value is returned whatever frame is.
 * Returns 0 or -1 with err. */
int dv_test_frame_bytes(const dv_instance *inst, uint32_t frame, uint32_t nframes, uint8_t **out, size_t *len,
                        dv_error *err);

#endif
