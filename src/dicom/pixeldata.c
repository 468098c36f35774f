/* Replacing an instance's pixel data (issue 5 item 5): native bytes from the caller, or new encapsulated
 * frames with a Basic Offset Table, so that the writer can emit another transfer syntax after a re-encode.
 * [test_frames: test_encapsulated_to_native_and_back, test_eot_dropped_on_replace, test_corpus] */
#include "dv_ds.h"
#include "dv_vr.h"
#include "dicomveil/dv_frames.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void drop_eot(dv_instance *inst)
{
    dv_instance_drop_patches(inst); /* they were of the value being replaced */
    dv_elem *e;
    if ((e = dv_ds_find(&inst->ds, DV_TAG_EXTENDED_OFFSET_TABLE)) != NULL)
        dv_ds_remove(&inst->ds, e);
    if ((e = dv_ds_find(&inst->ds, DV_TAG_EXTENDED_OFFSET_TABLE_LENGTHS)) != NULL)
        dv_ds_remove(&inst->ds, e);
}

static dv_elem *pixel_target(dv_instance *inst)
{
    dv_elem *px = dv_ds_find(&inst->ds, DV_TAG_PIXEL_DATA);
    return px ? px : dv_ds_put(inst, &inst->ds, DV_TAG_PIXEL_DATA, DV_VR_OB, NULL, 0);
}

int dv_instance_set_pixel_data_native(dv_instance *inst, int vr_ow, void *data, uint64_t len,
                                      void (*release)(void *user, void *data), void *user, dv_error *err)
{
    dv_error_clear(err);
    if (len > 0xFFFFFFFEu)
        return dv_fail(err, DV_ERR_LIMIT, "native pixel data of %llu bytes cannot be encoded", (unsigned long long)len);
    dv_elem *px = pixel_target(inst);
    if (!px || dv_elem_set_external(inst, px, vr_ow ? DV_VR_OW : DV_VR_OB, data, len, 0, release, user) != 0)
        return dv_fail(err, DV_ERR_LIMIT, "metadata memory limit reached replacing " TAGF, TAGA(DV_TAG_PIXEL_DATA));
    drop_eot(inst);
    return 0;
}

static void put_item(uint8_t *p, uint32_t tag, uint32_t len)
{
    uint8_t h[8] = {(uint8_t)(tag >> 16), (uint8_t)(tag >> 24), (uint8_t)tag, (uint8_t)(tag >> 8),
                    (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24)};
    memcpy(p, h, 8);
}

static void release_malloc(void *user, void *data)
{
    (void)user;
    free(data);
}

int dv_instance_set_pixel_data_frames(dv_instance *inst, const void *const *frames, const uint64_t *lens,
                                      uint32_t n, dv_error *err)
{
    dv_error_clear(err);
    if (n == 0)
        return dv_fail(err, DV_ERR_USAGE, "no frames");
    /* Basic Offset Table item, one padded fragment per frame, sequence delimiter; offsets fit 32 bits. */
    uint64_t total = 8 + 4 * (uint64_t)n, body = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (lens[i] > 0xFFFFFFFEu || body > 0xFFFFFFFFu)
            return dv_fail(err, DV_ERR_LIMIT, "encapsulated frames pass 4 GiB (Basic Offset Table)");
        body += 8 + lens[i] + (lens[i] & 1);
    }
    if (body > 0xFFFFFFFFu || total + body + 8 > SIZE_MAX)
        return dv_fail(err, DV_ERR_LIMIT, "encapsulated frames pass 4 GiB (Basic Offset Table)");
    total += body + 8;
    uint8_t *buf = malloc((size_t)total);
    if (!buf)
        return dv_fail(err, DV_ERR_NOMEM, "out of memory encapsulating %u frames", n);
    uint8_t *p = buf;
    put_item(p, DV_TAG_ITEM, 4 * n);
    p += 8;
    uint64_t rel = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t o[4] = {(uint8_t)rel, (uint8_t)(rel >> 8), (uint8_t)(rel >> 16), (uint8_t)(rel >> 24)};
        memcpy(p, o, 4);
        p += 4;
        rel += 8 + lens[i] + (lens[i] & 1);
    }
    for (uint32_t i = 0; i < n; i++) {
        uint64_t l = lens[i] + (lens[i] & 1);
        put_item(p, DV_TAG_ITEM, (uint32_t)l);
        p += 8;
        if (lens[i])
            memcpy(p, frames[i], (size_t)lens[i]);
        if (lens[i] & 1)
            p[lens[i]] = 0;
        p += l;
    }
    put_item(p, DV_TAG_SEQ_DELIM, 0);
    dv_elem *px = pixel_target(inst);
    if (!px || dv_elem_set_external(inst, px, DV_VR_OB, buf, total, 1, release_malloc, NULL) != 0) {
        free(buf);
        return dv_fail(err, DV_ERR_LIMIT, "metadata memory limit reached replacing " TAGF, TAGA(DV_TAG_PIXEL_DATA));
    }
    drop_eot(inst);
    return 0;
}
