/* VR-valid placeholder values for resetTag and the Basic Profile "D" code (DECISIONS 4).
 *
 * Every value is valid for its VR and carries no information about the original: text VRs get the word the
 * Google guide shows (PLACEHOLDER), dates and times the earliest sensible value, numbers zero. Values are
 * returned already padded to even length (space for text VRs) so they can be stored as is. UI (regenerated
 * UID, uid.c) and SQ (reset recursively, apply.c) are not handled here. */
#include <stdlib.h>
#include <string.h>

#include "engine/dv_plan.h"
#include "dicom/dv_vr.h"

static size_t put_text(uint8_t buf[DV_DUMMY_MAX], const char *s)
{
    size_t n = strlen(s);
    memcpy(buf, s, n);
    if (n & 1)
        buf[n++] = ' ';
    return n;
}

size_t dv_dummy_value(uint16_t vr, uint8_t buf[DV_DUMMY_MAX])
{
    switch (vr) {
    case DV_VR_AE: case DV_VR_CS: case DV_VR_LO: case DV_VR_LT: case DV_VR_PN:
    case DV_VR_SH: case DV_VR_ST: case DV_VR_UC: case DV_VR_UT: case DV_VR_UR:
        return put_text(buf, "PLACEHOLDER");
    case DV_VR_AS: return put_text(buf, "000Y");
    case DV_VR_DA: return put_text(buf, "19000101");
    case DV_VR_TM: return put_text(buf, "000000");
    case DV_VR_DT: return put_text(buf, "19000101000000");
    case DV_VR_IS: case DV_VR_DS: return put_text(buf, "0");
    case DV_VR_US: case DV_VR_SS: case DV_VR_UL: case DV_VR_SL: case DV_VR_FL: case DV_VR_FD:
    case DV_VR_SV: case DV_VR_UV: case DV_VR_AT: {
        /* One zero value: all-zero bytes are 0 / 0.0 in either byte order. */
        size_t n = (size_t)dv_vr_binary_size(vr);
        if (n == 0 || n > DV_DUMMY_MAX) {
            /* Should not happen (dv_vr_binary_size knows these); fall back on the PS3.5 sizes. */
            n = (vr == DV_VR_US || vr == DV_VR_SS) ? 2
              : (vr == DV_VR_FD || vr == DV_VR_SV || vr == DV_VR_UV) ? 8 : 4;
        }
        memset(buf, 0, n);
        return n;
    }
    default:
        /* OB OD OF OL OV OW UN, and anything unknown: empty. */
        return 0;
    }
}

size_t dv_dummy_count(uint16_t vr, const uint8_t *value, uint64_t length)
{
    size_t count = 1;
    int size = dv_vr_binary_size(vr);
    if (size > 0) {
        count = (size_t)(length / (uint64_t)size);
    } else if (value && dv_vr_is_text(vr) && vr != DV_VR_LT && vr != DV_VR_ST && vr != DV_VR_UT &&
               vr != DV_VR_UR) {
        for (uint64_t i = 0; i < length && count < DV_DUMMY_MAX_VALUES; i++)
            count += value[i] == '\\';
    }
    if (count < 1)
        count = 1;
    return count > DV_DUMMY_MAX_VALUES ? DV_DUMMY_MAX_VALUES : count;
}

long dv_dummy_values(uint16_t vr, size_t count, uint8_t **out)
{
    uint8_t one[DV_DUMMY_MAX];
    size_t n = dv_dummy_value(vr, one);
    *out = NULL;
    if (n == 0)
        return 0;
    int text = dv_vr_is_text(vr);
    if (text && (n & 1) == 0 && one[n - 1] == ' ')
        n--; /* join the unpadded values; pad once at the end */
    if (count < 1)
        count = 1;
    size_t total = count * n + (text ? count - 1 : 0);
    uint8_t *buf = malloc(total + 1);
    if (!buf)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < count; i++) {
        if (i && text)
            buf[o++] = '\\';
        memcpy(buf + o, one, n);
        o += n;
    }
    if (o & 1)
        buf[o++] = ' '; /* only text can be odd: binary sizes are even */
    *out = buf;
    return (long)o;
}
