/* Value Representation properties (PS3.5 Table 6.2-1, section 7.1.2).
 *
 * Every known VR is two upper-case letters, so a 26 x 26 table indexed by the letters answers each
 * query with one load; the queries are inline in dv_vr.h, because they run several times per data element. */
#include "dicom/dv_vr.h"

#include <stddef.h>

enum {
    P_KNOWN = DV_VR_P_KNOWN,
    P_LONG = DV_VR_P_LONG,
    P_TEXT = DV_VR_P_TEXT,
    P_CLEAN = DV_VR_P_CLEAN,
    P_SIZE_SHIFT = DV_VR_P_SIZE_SHIFT
};

#define VR_IDX(a, b) (((a) - 'A') * 26 + ((b) - 'A'))
#define SZ(n) ((n) << P_SIZE_SHIFT)

const uint8_t dv_vr_props[26 * 26] = {
    [VR_IDX('A', 'E')] = P_KNOWN | P_TEXT | P_CLEAN,
    [VR_IDX('A', 'S')] = P_KNOWN | P_TEXT | P_CLEAN,
    [VR_IDX('A', 'T')] = P_KNOWN | SZ(4),
    [VR_IDX('C', 'S')] = P_KNOWN | P_TEXT,
    [VR_IDX('D', 'A')] = P_KNOWN | P_TEXT | P_CLEAN,
    [VR_IDX('D', 'S')] = P_KNOWN | P_TEXT,
    [VR_IDX('D', 'T')] = P_KNOWN | P_TEXT | P_CLEAN,
    [VR_IDX('F', 'L')] = P_KNOWN | SZ(4),
    [VR_IDX('F', 'D')] = P_KNOWN | SZ(8),
    [VR_IDX('I', 'S')] = P_KNOWN | P_TEXT,
    [VR_IDX('L', 'O')] = P_KNOWN | P_TEXT | P_CLEAN,
    [VR_IDX('L', 'T')] = P_KNOWN | P_TEXT | P_CLEAN,
    [VR_IDX('O', 'B')] = P_KNOWN | P_LONG,
    [VR_IDX('O', 'D')] = P_KNOWN | P_LONG,
    [VR_IDX('O', 'F')] = P_KNOWN | P_LONG,
    [VR_IDX('O', 'L')] = P_KNOWN | P_LONG,
    [VR_IDX('O', 'V')] = P_KNOWN | P_LONG,
    [VR_IDX('O', 'W')] = P_KNOWN | P_LONG,
    [VR_IDX('P', 'N')] = P_KNOWN | P_TEXT | P_CLEAN,
    [VR_IDX('S', 'H')] = P_KNOWN | P_TEXT | P_CLEAN,
    [VR_IDX('S', 'L')] = P_KNOWN | SZ(4),
    [VR_IDX('S', 'Q')] = P_KNOWN | P_LONG,
    [VR_IDX('S', 'S')] = P_KNOWN | SZ(2),
    [VR_IDX('S', 'T')] = P_KNOWN | P_TEXT | P_CLEAN,
    [VR_IDX('S', 'V')] = P_KNOWN | P_LONG | SZ(8),
    [VR_IDX('T', 'M')] = P_KNOWN | P_TEXT,
    [VR_IDX('U', 'C')] = P_KNOWN | P_LONG | P_TEXT | P_CLEAN,
    [VR_IDX('U', 'I')] = P_KNOWN,
    [VR_IDX('U', 'L')] = P_KNOWN | SZ(4),
    [VR_IDX('U', 'N')] = P_KNOWN | P_LONG,
    [VR_IDX('U', 'R')] = P_KNOWN | P_LONG | P_TEXT,
    [VR_IDX('U', 'S')] = P_KNOWN | SZ(2),
    [VR_IDX('U', 'T')] = P_KNOWN | P_LONG | P_TEXT | P_CLEAN,
    [VR_IDX('U', 'V')] = P_KNOWN | P_LONG | SZ(8),
};

uint16_t dv_vr_from_chars(const char *two)
{
    if (two == NULL || two[0] == '\0' || two[1] == '\0')
        return 0;
    uint16_t vr = DV_VR((unsigned char)two[0], (unsigned char)two[1]);
    return dv_vr_is_known(vr) ? vr : 0;
}
