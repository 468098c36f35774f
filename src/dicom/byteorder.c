/* Byte order of an instance's values: which order they are stored in, reading a US in it, and swapping values
 * per VR when a big endian input is written little endian (PS3.5 7.3). Used by the writer and the frame index.
 * [test_frames: test_be_to_le, test_native, test_corpus] */
#include "dv_ds.h"
#include "dv_vr.h"
#include "../dict/dv_tags.h"

#include <string.h>

int dv_ds_get_u16(const dv_instance *inst, const dv_ds *ds, uint32_t tag, uint16_t *out)
{
    const dv_elem *e = dv_ds_find(ds, tag);
    uint8_t b[2];
    if (!e || e->length < 2 || (e->flags & (DV_ELEM_SEQUENCE | DV_ELEM_BULK)) || !e->value)
        return -1;
    memcpy(b, e->value, 2);
    int be = dv_values_big_endian(inst);
    *out = be ? (uint16_t)((b[0] << 8) | b[1]) : (uint16_t)(b[0] | (b[1] << 8));
    return 0;
}

int dv_values_big_endian(const dv_instance *inst)
{
    return inst->ts_changed ? inst->values_big_endian : inst->ts_kind == DV_TS_EXPLICIT_BE;
}

void dv_swap_bytes(uint8_t *p, size_t n, unsigned unit)
{
    for (size_t i = 0; i + unit <= n; i += unit)
        for (unsigned a = 0, z = unit - 1; a < z; a++, z--) {
            uint8_t t = p[i + a];
            p[i + a] = p[i + z];
            p[i + z] = t;
        }
}

unsigned dv_vr_swap_unit(uint16_t vr)
{
    switch (vr) {
    case DV_VR_US: case DV_VR_SS: case DV_VR_OW: case DV_VR_AT:
        return 2;
    case DV_VR_UL: case DV_VR_SL: case DV_VR_FL: case DV_VR_OL: case DV_VR_OF:
        return 4;
    case DV_VR_FD: case DV_VR_SV: case DV_VR_UV: case DV_VR_OD: case DV_VR_OV:
        return 8;
    default:
        return 1;
    }
}

unsigned dv_pixel_swap_unit(const dv_instance *inst, const dv_ds *ds, const dv_elem *px)
{
    if (px->vr != DV_VR_OW)
        return dv_vr_swap_unit(px->vr);
    uint16_t bits = 0;
    if (dv_ds_get_u16(inst, ds, DV_TAG_BITS_ALLOCATED, &bits) != 0)
        return 2;
    return bits == 32 || bits == 64 ? bits / 8u : 2u;
}
