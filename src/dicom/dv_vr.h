/* Value Representations: packed two-letter codes and their encoding properties (PS3.5 6.2, 7.1.2). */
#ifndef DV_VR_H
#define DV_VR_H

#include <stdint.h>

/* 'P','N' -> 0x504E. 0 means "unknown". */
#define DV_VR(a, b) ((uint16_t)(((unsigned)(a) << 8) | (unsigned)(b)))
enum {
    DV_VR_AE = DV_VR('A','E'), DV_VR_AS = DV_VR('A','S'), DV_VR_AT = DV_VR('A','T'), DV_VR_CS = DV_VR('C','S'),
    DV_VR_DA = DV_VR('D','A'), DV_VR_DS = DV_VR('D','S'), DV_VR_DT = DV_VR('D','T'), DV_VR_FL = DV_VR('F','L'),
    DV_VR_FD = DV_VR('F','D'), DV_VR_IS = DV_VR('I','S'), DV_VR_LO = DV_VR('L','O'), DV_VR_LT = DV_VR('L','T'),
    DV_VR_OB = DV_VR('O','B'), DV_VR_OD = DV_VR('O','D'), DV_VR_OF = DV_VR('O','F'), DV_VR_OL = DV_VR('O','L'),
    DV_VR_OV = DV_VR('O','V'), DV_VR_OW = DV_VR('O','W'), DV_VR_PN = DV_VR('P','N'), DV_VR_SH = DV_VR('S','H'),
    DV_VR_SL = DV_VR('S','L'), DV_VR_SQ = DV_VR('S','Q'), DV_VR_SS = DV_VR('S','S'), DV_VR_ST = DV_VR('S','T'),
    DV_VR_SV = DV_VR('S','V'), DV_VR_TM = DV_VR('T','M'), DV_VR_UC = DV_VR('U','C'), DV_VR_UI = DV_VR('U','I'),
    DV_VR_UL = DV_VR('U','L'), DV_VR_UN = DV_VR('U','N'), DV_VR_UR = DV_VR('U','R'), DV_VR_US = DV_VR('U','S'),
    DV_VR_UT = DV_VR('U','T'), DV_VR_UV = DV_VR('U','V')
};

/* The properties of each two-letter code, indexed by its letters (vr.c: the one table of PS3.5 Table 6.2-1).
 * The queries below are inline: the reader, the plan and the writer ask them for every element. */
enum {
    DV_VR_P_KNOWN = 0x01,
    DV_VR_P_LONG = 0x02, /* explicit VR: 2 reserved bytes + 32-bit length */
    DV_VR_P_TEXT = 0x04, /* character string padded with a space */
    DV_VR_P_CLEAN = 0x08, /* text cleaning applies (cleanTextTag, DEIDENTIFY_TAG_CONTENTS; dv_vr_cleans_text) */
    DV_VR_P_SIZE_SHIFT = 4 /* bits 4..7: size of one binary value */
};
extern const uint8_t dv_vr_props[26 * 26];

static inline unsigned dv_vr_props_of(uint16_t vr)
{
    unsigned a = (unsigned)(vr >> 8) - 'A', b = (unsigned)(vr & 0xFFu) - 'A';
    return a < 26u && b < 26u ? dv_vr_props[a * 26u + b] : 0;
}

/* 1 for one of the 34 VRs of PS3.5 Table 6.2-1. */
static inline int dv_vr_is_known(uint16_t vr)
{
    return (dv_vr_props_of(vr) & DV_VR_P_KNOWN) != 0;
}
/* 1 when explicit-VR encoding uses 2 reserved bytes + a 32-bit length (OB, OD, OF, OL, OV, OW, SQ, SV, UC,
 * UN, UR, UT, UV). */
static inline int dv_vr_has_long_length(uint16_t vr)
{
    return (dv_vr_props_of(vr) & DV_VR_P_LONG) != 0;
}
/* 1 for character-string VRs padded with a space (everything textual but UI, which pads with NUL). */
static inline int dv_vr_is_text(uint16_t vr)
{
    return (dv_vr_props_of(vr) & DV_VR_P_TEXT) != 0;
}
/* 1 for the VRs text cleaning applies to (cleanTextTag, DEIDENTIFY_TAG_CONTENTS, cleanDescriptors): AE AS DA
 * DT LO LT PN SH ST UC UT (issue 6; gcp-api.md 3.3): the values a person may have written a name into. The one
 * home of that list is vr.c's table (tools/gen_tables.py's CLEAN_TEXT_VRS is checked against it by test_dict). */
static inline int dv_vr_cleans_text(uint16_t vr)
{
    return (dv_vr_props_of(vr) & DV_VR_P_CLEAN) != 0;
}
/* Size of one binary value (US 2, UL 4, FD 8, AT 4 ...), 0 for non-binary VRs. */
static inline int dv_vr_binary_size(uint16_t vr)
{
    return (int)(dv_vr_props_of(vr) >> DV_VR_P_SIZE_SHIFT);
}
/* Parse two ASCII letters into a VR code; 0 when not a known VR. */
uint16_t dv_vr_from_chars(const char *two);
/* Writes the two letters of any printable code plus NUL (known or not, so diagnostics can show what a file
 * said); "??" when either byte is not printable ASCII, which includes the "no VR" code 0. Inline: the writer
 * encodes every explicit-VR header with it. */
static inline void dv_vr_to_chars(uint16_t vr, char out[3])
{
    unsigned a = vr >> 8, b = vr & 0xFFu;
    if (a < 0x20 || a > 0x7E || b < 0x20 || b > 0x7E) {
        a = '?';
        b = '?';
    }
    out[0] = (char)a;
    out[1] = (char)b;
    out[2] = '\0';
}

#endif
