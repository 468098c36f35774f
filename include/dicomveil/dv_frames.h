/* dicomveil: pixel data as frames (issue 5 item 5).
 *
 * An index over the top-level pixel data of an instance: for encapsulated pixel data its fragments (where
 * they are in the source), the Basic and Extended Offset Tables, and which fragments make frame i (PS3.5
 * A.4); for native pixel data the frame geometry (Rows x Columns x SamplesPerPixel x BitsAllocated, bit-packed
 * when BitsAllocated is 1). Everything the index reads is bounds-checked against the pixel data element: a
 * lying offset table, a frame count that does not match the fragments or the value length, is an error
 * (DV_ERR_MALFORMED), never a read outside the element.
 *
 * And the other way round: replace the pixel data (native bytes, or new encapsulated frames with a Basic
 * Offset Table) so that the instance can be written in another transfer syntax
 * (dv_instance_set_transfer_syntax in dv_instance.h). */
#ifndef DICOMVEIL_DV_FRAMES_H
#define DICOMVEIL_DV_FRAMES_H

#include <stdint.h>
#include "dv_error.h"
#include "dv_instance.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dv_frames dv_frames;

/* Index the pixel data (7FE0,0010) (or Float/Double Float Pixel Data when it is absent). Returns NULL with
 * err: DV_ERR_INVALID when the instance has no pixel data, DV_ERR_MALFORMED when fragments, offset tables,
 * NumberOfFrames or the image geometry disagree, DV_ERR_UNSUPPORTED for a video transfer syntax (one stream
 * for all frames), DV_ERR_LIMIT past the instance's metadata cap. The index refers to inst: free it before
 * inst, and do not use it after the pixel data was replaced. Free with dv_frames_free. */
dv_frames *dv_frames_index(const dv_instance *inst, dv_error *err);
void dv_frames_free(dv_frames *f);

/* Number of frames: NumberOfFrames (1 when absent). */
uint32_t dv_frames_count(const dv_frames *f);
/* 1 when the pixel data is encapsulated (fragments), 0 when native. */
int dv_frames_encapsulated(const dv_frames *f);
/* Bytes dv_frames_read writes for frame i (0 when i is out of range): the frame's fragment values
 * concatenated (encapsulated), or ceil(Rows*Columns*SamplesPerPixel*BitsAllocated / 8) (native). */
uint64_t dv_frames_size(const dv_frames *f, uint32_t i);
/* Copy frame i into buf (cap bytes, at least dv_frames_size). Native frames come little endian (values read
 * from explicit VR big endian are swapped per BitsAllocated), bit-packed frames start at bit 0 of buf[0].
 * Returns 0, or -1 with err (DV_ERR_USAGE for a bad i or cap, DV_ERR_IO when the source fails). */
int dv_frames_read(const dv_instance *inst, const dv_frames *f, uint32_t i, void *buf, uint64_t cap,
                   dv_error *err);

/* Encapsulated only (0 fragments when native): fragment k's value (after its item header), as an offset in
 * the source the pixel data is read from, and a length. Returns 0, or -1 when k is out of range. */
uint32_t dv_frames_fragment_count(const dv_frames *f);
int dv_frames_fragment(const dv_frames *f, uint32_t k, uint64_t *offset, uint64_t *length);
/* The fragments of frame i: first index and count. Returns 0, or -1 when i is out of range or native. */
int dv_frames_frame_fragments(const dv_frames *f, uint32_t i, uint32_t *first, uint32_t *count);
/* How the frames were told apart. */
typedef enum dv_frames_method {
    DV_FRAMES_NATIVE = 0,      /* native pixel data: fixed-size frames */
    DV_FRAMES_SINGLE,          /* one frame: every fragment */
    DV_FRAMES_ONE_PER_FRAGMENT,/* as many fragments as frames */
    DV_FRAMES_BOT,             /* the Basic Offset Table */
    DV_FRAMES_EOT,             /* the Extended Offset Table (7FE0,0001)/(7FE0,0002) */
    DV_FRAMES_MARKERS          /* empty offset table, frames found by the codec's start marker (JPEG SOI,
                                * J2K SOC or JP2 signature box) at the start of a fragment */
} dv_frames_method;
dv_frames_method dv_frames_how(const dv_frames *f);

/* Replace the pixel data with native bytes (little endian, vr_ow = 1 for OW, 0 for OB). data is the caller's:
 * release(user, data) runs when the instance is freed (release may be NULL); on failure the caller keeps it.
 * The Extended Offset Table elements are removed. Returns 0, or -1 with err (DV_ERR_LIMIT at the arena cap). */
int dv_instance_set_pixel_data_native(dv_instance *inst, int vr_ow, void *data, uint64_t len,
                                      void (*release)(void *user, void *data), void *user, dv_error *err);
/* Replace the pixel data with new encapsulated frames: one fragment per frame (odd lengths padded with 0),
 * with a Basic Offset Table; the frames are copied. The Extended Offset Table elements are removed. Returns 0,
 * or -1 with err (DV_ERR_LIMIT when the fragments pass 4 GiB, which a Basic Offset Table cannot address). */
int dv_instance_set_pixel_data_frames(dv_instance *inst, const void *const *frames, const uint64_t *lens,
                                      uint32_t n, dv_error *err);

#ifdef __cplusplus
}
#endif
#endif
