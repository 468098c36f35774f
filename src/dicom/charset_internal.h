/* Internals shared by the character-set files: graphic sets, terms, escape sequences, the per-worker
 * tables (charset_tables.c), and a bounded UTF-8 writer. Not for use outside src/dicom/charset_*.c. */
#ifndef DV_CHARSET_INTERNAL_H
#define DV_CHARSET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "dv_charset.h"

/* Graphic character sets that ISO 2022 designates to G0 or G1 (PS3.3 Tables C.12-3 and C.12-4). */
typedef enum cs_gset {
    GS_NONE = 0,
    GS_ASCII,       /* ISO-IR 6, G0 */
    GS_ROMAJI,      /* JIS X 0201 Romaji, G0: read as ASCII (docs/charsets.md) */
    GS_KATAKANA,    /* JIS X 0201 Katakana, G1 (0xA1-0xDF) */
    GS_8859_1, GS_8859_2, GS_8859_3, GS_8859_4, GS_8859_5, GS_8859_6, GS_8859_7, GS_8859_8, GS_8859_9,
    GS_8859_15, GS_TIS620, /* single-byte 96-sets, G1 (0xA0-0xFF) */
    GS_JISX0208,    /* 94x94, G0 (GL bytes) */
    GS_JISX0212,    /* 94x94, G0 */
    GS_KSX1001,     /* 94x94, G1 (GR bytes) */
    GS_GB2312,      /* 94x94, G1 */
    GS_COUNT
} cs_gset;

#define GS_IS_SB96(g) ((g) >= GS_8859_1 && (g) <= GS_TIS620)
#define GS_IS_DB94(g) ((g) >= GS_JISX0208 && (g) <= GS_GB2312)
#define GS_IS_G0_DB(g) ((g) == GS_JISX0208 || (g) == GS_JISX0212)
#define GS_IS_G0_SB(g) ((g) == GS_ASCII || (g) == GS_ROMAJI)

typedef struct cs_term_info {
    const char *iso_ir;   /* "ISO_IR 100", or NULL */
    const char *iso2022;  /* "ISO 2022 IR 100", or NULL */
    uint8_t g0, g1;       /* sets the term designates (GS_NONE when it designates nothing there) */
} cs_term_info;
extern const cs_term_info cs_terms[DV_CST_COUNT];

/* Escape sequences (ESC followed by these bytes) and the set each designates. */
typedef struct cs_escape {
    const char *seq;
    uint8_t len;
    uint8_t gset;
} cs_escape;
extern const cs_escape cs_escapes[];
extern const size_t cs_nescapes;
const cs_escape *cs_escape_for(cs_gset g);

/* --- per-worker tables (charset_tables.c); each returns NULL with err set when it cannot be built --- */
/* 96 code points for bytes 0xA0..0xFF (0 = unassigned). */
const uint16_t *cs_sb96_table(dv_charset_ctx *ctx, cs_gset g, dv_error *err);
/* 94*94 code points, index (row-0x21)*94 + (col-0x21) (0 = unassigned). */
const uint16_t *cs_db94_table(dv_charset_ctx *ctx, cs_gset g, dv_error *err);
/* Reverse lookup in a 94x94 set: the code (row << 8 | col, GL form) of cp, or 0 when cp is not in it. */
int cs_db94_encode(dv_charset_ctx *ctx, cs_gset g, uint32_t cp, uint16_t *code, dv_error *err);
/* iconv converters for the stateless multi-byte sets (GB18030, GBK): dir 0 decodes, 1 encodes.
 * Returns (void *)-1 style failure as NULL with err set. */
void *cs_iconv(dv_charset_ctx *ctx, dv_cs_term term, int encode, dv_error *err);

/* --- bounded UTF-8 output --- */
typedef struct cs_out {
    uint8_t *p;
    size_t cap, len;
    int overflow;
} cs_out;
static inline void cs_put(cs_out *o, uint8_t b)
{
    if (o->len < o->cap)
        o->p[o->len++] = b;
    else
        o->overflow = 1;
}
/* n bytes at once, as n cs_put calls would put them (those that fit, then overflow). */
static inline void cs_put_bytes(cs_out *o, const uint8_t *b, size_t n)
{
    size_t room = o->cap - o->len, k = n < room ? n : room;
    if (k > 0) {
        memcpy(o->p + o->len, b, k);
        o->len += k;
    }
    if (k < n)
        o->overflow = 1;
}

/* 1 when every byte of s[0, n) is below 0x80 and, where the set is ISO 2022 (esc_matters), none is ESC: then the
 * ISO 2022 decoder and (outside ISO 2022) encoder give each byte back as it is (the initial G0 is ASCII or JIS X
 * 0201 Romaji, read as ASCII; no escape changes it; delimiters and controls only reset that state), so the caller
 * copies it instead: most values of most instances are such text. [test_charset: test_plain_ascii_as_written] */
static inline int cs_plain_ascii(const uint8_t *s, size_t n, int esc_matters)
{
    uint8_t any = 0;
    for (size_t i = 0; i < n; i++)
        any |= s[i];
    return !(any & 0x80) && !(esc_matters && n && memchr(s, 0x1B, n));
}

static inline void cs_put_cp(cs_out *o, uint32_t cp)
{
    if (cp < 0x80) {
        cs_put(o, (uint8_t)cp);
    } else if (cp < 0x800) {
        cs_put(o, (uint8_t)(0xC0 | (cp >> 6)));
        cs_put(o, (uint8_t)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        cs_put(o, (uint8_t)(0xE0 | (cp >> 12)));
        cs_put(o, (uint8_t)(0x80 | ((cp >> 6) & 0x3F)));
        cs_put(o, (uint8_t)(0x80 | (cp & 0x3F)));
    } else {
        cs_put(o, (uint8_t)(0xF0 | (cp >> 18)));
        cs_put(o, (uint8_t)(0x80 | ((cp >> 12) & 0x3F)));
        cs_put(o, (uint8_t)(0x80 | ((cp >> 6) & 0x3F)));
        cs_put(o, (uint8_t)(0x80 | (cp & 0x3F)));
    }
}
#define CS_REPLACEMENT 0xFFFDu

/* Read one UTF-8 code point at s[*i]: util/dv_utf8.h's dv_utf8_next (strict: no overlongs, surrogates or values
 * above U+10FFFF). Returns the code point and advances *i, or -1 (and advances *i by one byte) when invalid. */
int32_t cs_utf8_next(const uint8_t *s, size_t len, size_t *i);

/* Delimiter bytes at which the ISO 2022 state returns to value 1's sets (PS3.5 6.1.2.5.3), besides every
 * control character: backslash for multi-valued VRs, ^ and = for PN. */
int cs_is_delimiter(uint8_t b, uint16_t vr);

/* The ISO 2022 machine (charset_iso2022.c), also used for single-byte sets without code extensions. */
int cs_decode_iso2022(dv_charset_ctx *ctx, const dv_charset *cs, uint16_t vr, const uint8_t *in, size_t len,
                      cs_out *o, unsigned *flags, unsigned *style, dv_error *err);
int cs_encode_iso2022(dv_charset_ctx *ctx, const dv_charset *cs, uint16_t vr, const uint8_t *s, size_t len,
                      unsigned style, cs_out *o, size_t *bad_offset, dv_error *err);

#endif
