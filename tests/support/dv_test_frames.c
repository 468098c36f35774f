/* Test-only frame bytes (see dv_test_frames.h): native values read whole, encapsulated frames through the
 * frame index (dv_frames.h), so there is one fragment parser. */
#include "dv_test_frames.h"

#include <stdlib.h>
#include "dicom/dv_ds.h"
#include "dicomveil/dv_frames.h"

int dv_test_frame_bytes(const dv_instance *inst, uint32_t frame, uint32_t nframes, uint8_t **out, size_t *len,
                        dv_error *err)
{
    (void)nframes;
    *out = NULL;
    *len = 0;
    const dv_elem *pd = dv_ds_find(&inst->ds, DV_TAG_PIXEL_DATA);
    if (!pd)
        return dv_fail(err, DV_ERR_UNSUPPORTED, "no pixel data");
    if (!(pd->flags & DV_ELEM_ENCAPSULATED)) {
        uint8_t *raw = malloc(pd->length ? (size_t)pd->length : 1);
        if (!raw || dv_elem_read_value(inst, pd, raw, pd->length)) {
            free(raw);
            return dv_fail(err, DV_ERR_IO, "pixel data read");
        }
        *out = raw;
        *len = (size_t)pd->length;
        return 0;
    }
    dv_frames *f = dv_frames_index(inst, err);
    if (!f)
        return -1;
    uint64_t n = dv_frames_size(f, frame);
    uint8_t *buf = malloc(n ? (size_t)n : 1);
    if (!buf || dv_frames_read(inst, f, frame, buf, n, err)) {
        free(buf);
        dv_frames_free(f);
        return buf ? -1 : dv_fail(err, DV_ERR_NOMEM, "frame");
    }
    dv_frames_free(f);
    *out = buf;
    *len = (size_t)n;
    return 0;
}
