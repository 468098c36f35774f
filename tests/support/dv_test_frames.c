/* Test-only frame extraction (see dv_test_frames.h). */
#include "dv_test_frames.h"

#include <stdlib.h>
#include <string.h>
#include "dicom/dv_ds.h"

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int dv_test_frame_bytes(const dv_instance *inst, uint32_t frame, uint32_t nframes, uint8_t **out, size_t *len,
                        dv_error *err)
{
    *out = NULL;
    *len = 0;
    const dv_elem *pd = dv_ds_find(&inst->ds, DV_TAG_PIXEL_DATA);
    if (!pd)
        return dv_fail(err, DV_ERR_UNSUPPORTED, "no pixel data");
    uint8_t *raw = malloc(pd->length ? (size_t)pd->length : 1);
    if (!raw)
        return dv_fail(err, DV_ERR_NOMEM, "pixel data");
    if (!(pd->flags & DV_ELEM_ENCAPSULATED)) {
        if (dv_elem_read_value(inst, pd, raw, pd->length)) {
            free(raw);
            return dv_fail(err, DV_ERR_IO, "pixel data read");
        }
        *out = raw;
        *len = (size_t)pd->length;
        return 0;
    }
    if (inst->data.read_at(inst->data.ctx, pd->offset, raw, (size_t)pd->length)) {
        free(raw);
        return dv_fail(err, DV_ERR_IO, "pixel data read");
    }
    /* items: [BOT][fragments...][seq delim]; little endian in every encapsulated transfer syntax */
    size_t n = (size_t)pd->length, pos = 0, nfrag = 0;
    size_t starts[4096], lens[4096], rel[4096];
    const uint8_t *bot = NULL;
    size_t botlen = 0, first_frag = 0;
    int item = 0;
    while (pos + 8 <= n) {
        uint32_t tag = (uint32_t)(raw[pos] | raw[pos + 1] << 8) << 16 | (uint32_t)(raw[pos + 2] | raw[pos + 3] << 8);
        uint32_t l = le32(raw + pos + 4);
        if (tag == 0xFFFEE0DDu)
            break;
        if (tag != 0xFFFEE000u || l > n - pos - 8) {
            free(raw);
            return dv_fail(err, DV_ERR_MALFORMED, "bad fragment");
        }
        if (item == 0) {
            bot = raw + pos + 8;
            botlen = l;
            first_frag = pos + 8 + l;
        } else {
            if (nfrag == 4096) {
                free(raw);
                return dv_fail(err, DV_ERR_LIMIT, "too many fragments for the test helper");
            }
            starts[nfrag] = pos + 8;
            lens[nfrag] = l;
            rel[nfrag] = pos - first_frag;
            nfrag++;
        }
        item++;
        pos += 8 + (size_t)l;
    }
    size_t lo = 0, hi = 0; /* fragment range [lo, hi) of the frame */
    if (nframes == 1) {
        lo = 0;
        hi = nfrag;
    } else if (botlen >= 4 * (size_t)nframes) {
        size_t b0 = le32(bot + 4 * frame), b1 = frame + 1 < nframes ? le32(bot + 4 * (frame + 1)) : (size_t)-1;
        lo = nfrag;
        hi = 0;
        for (size_t i = 0; i < nfrag; i++)
            if (rel[i] >= b0 && rel[i] < b1) {
                if (i < lo)
                    lo = i;
                hi = i + 1;
            }
        if (lo >= hi) {
            free(raw);
            return dv_fail(err, DV_ERR_MALFORMED, "offset table names no fragment");
        }
    } else if (nfrag == nframes) {
        lo = frame;
        hi = frame + 1;
    } else {
        free(raw);
        return dv_fail(err, DV_ERR_UNSUPPORTED, "test helper: %zu fragments for %u frames, no offset table", nfrag,
                       nframes);
    }
    size_t total = 0;
    for (size_t i = lo; i < hi; i++)
        total += lens[i];
    uint8_t *buf = malloc(total ? total : 1);
    if (!buf) {
        free(raw);
        return dv_fail(err, DV_ERR_NOMEM, "frame");
    }
    size_t o = 0;
    for (size_t i = lo; i < hi; i++) {
        memcpy(buf + o, raw + starts[i], lens[i]);
        o += lens[i];
    }
    free(raw);
    *out = buf;
    *len = total;
    return 0;
}
