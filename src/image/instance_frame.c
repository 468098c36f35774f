/* One frame of an instance, decoded. Encapsulated frames come from the frame index (src/dicom/frames.c,
 * include/dicomveil/dv_frames.h: fragments concatenated); native frames are sliced here out of the
 * PixelData value (the native codec handles byte order, YBR_FULL_422 sizes and bit-packed frames, which
 * the comparison with pydicom pins: integration.test_image_decode). Every read is capped by the context's
 * max_encoded_bytes first. The only bridge between the dataset layer and the codecs. */
#include "dv_image.h"

#include <stdlib.h>
#include <string.h>
#include "dicomveil/dv_frames.h"
#include "../dicom/dv_ds.h"

static int read_native(dv_image_ctx *ctx, const dv_instance *inst, const dv_pixel_attrs *pa, uint32_t i,
                       dv_frame *out, dv_error *err)
{
    const dv_elem *pd = dv_ds_find(&inst->ds, DV_TAG_PIXEL_DATA);
    if (!pd || (pd->flags & (DV_ELEM_ENCAPSULATED | DV_ELEM_SEQUENCE)))
        return dv_fail(err, DV_ERR_MALFORMED, "no native PixelData " TAGF, TAGA(DV_TAG_PIXEL_DATA));
    /* BitsAllocated 1 frames start mid-byte: take the whole value; otherwise exactly frame i's bytes */
    uint64_t off = pa->bits_allocated == 1 ? 0 : pa->native_frame_bits / 8 * i;
    uint64_t n = pa->bits_allocated == 1 ? pd->length : pa->native_frame_bytes;
    if (off > pd->length || n > pd->length - off)
        return dv_fail(err, DV_ERR_MALFORMED, "native frame %u beyond the %llu-byte PixelData", i,
                       (unsigned long long)pd->length);
    if (n > dv_image_ctx_limits(ctx)->max_encoded_bytes || n > SIZE_MAX)
        return dv_fail(err, DV_ERR_LIMIT, "%llu bytes of native pixel data", (unsigned long long)n);
    uint8_t *buf = malloc(n ? (size_t)n : 1);
    if (!buf)
        return dv_fail(err, DV_ERR_NOMEM, "native frame of %llu bytes", (unsigned long long)n);
    int rc;
    if (pd->flags & DV_ELEM_BULK)
        rc = inst->data.read_at(inst->data.ctx, pd->offset + off, buf, (size_t)n);
    else
        rc = pd->value ? (memcpy(buf, pd->value + off, (size_t)n), 0) : -1;
    if (rc != 0) {
        free(buf);
        return dv_fail(err, DV_ERR_IO, "PixelData " TAGF " unreadable", TAGA(DV_TAG_PIXEL_DATA));
    }
    dv_pixel_attrs one = *pa; /* byte-aligned frames: frame 0 of a one-frame slice, byte order kept */
    uint32_t index = i;
    if (pa->bits_allocated != 1) {
        one.number_of_frames = 1;
        index = 0;
    }
    rc = dv_image_decode_frame(ctx, dv_instance_transfer_syntax(inst), &one, index, buf, (size_t)n, out, err);
    free(buf);
    return rc;
}

int dv_image_decode_instance_frame(dv_image_ctx *ctx, const dv_instance *inst, const dv_frames *frames,
                                   const dv_pixel_attrs *pa, uint32_t i, dv_frame *out, dv_error *err)
{
    if (i >= pa->number_of_frames)
        return dv_fail(err, DV_ERR_USAGE, "frame %u of %u", i, pa->number_of_frames);
    if (!dv_ts_family_encapsulated(dv_ts_family_of(dv_instance_transfer_syntax(inst))))
        return read_native(ctx, inst, pa, i, out, err);
    if (!frames || i >= dv_frames_count(frames))
        return dv_fail(err, DV_ERR_USAGE, "frame %u: no frame index", i);
    uint64_t n = dv_frames_size(frames, i);
    if (n == 0)
        return dv_fail(err, DV_ERR_MALFORMED, "frame %u is empty", i);
    if (n > dv_image_ctx_limits(ctx)->max_encoded_bytes || n > SIZE_MAX)
        return dv_fail(err, DV_ERR_LIMIT, "frame %u of %llu bytes exceeds %llu", i, (unsigned long long)n,
                       (unsigned long long)dv_image_ctx_limits(ctx)->max_encoded_bytes);
    uint8_t *buf = malloc((size_t)n);
    if (!buf)
        return dv_fail(err, DV_ERR_NOMEM, "frame %u of %llu bytes", i, (unsigned long long)n);
    int rc = dv_frames_read(inst, frames, i, buf, n, err);
    if (rc == 0)
        rc = dv_image_decode_frame(ctx, dv_instance_transfer_syntax(inst), pa, i, buf, (size_t)n, out, err);
    free(buf);
    return rc;
}
