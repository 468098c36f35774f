/* Test-only: one frame's stored bytes out of an instance's PixelData (native: the whole value; encapsulated:
 * the fragments of frame i concatenated). A stand-in until src/dicom/frames.c (the frame index of the
 * dataset work package) lands; it handles the Basic Offset Table, one fragment per frame, and one frame in
 * many fragments, and refuses anything else. */
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
