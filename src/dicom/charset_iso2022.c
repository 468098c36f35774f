/* The ISO 2022 state machine of DICOM text (PS3.5 6.1.2.5, Annexes H, I, K), decoding and encoding.
 * Single-byte sets without code extensions (ISO_IR 100, ISO_IR 13 ...) run through the same machine with
 * escape sequences switched off: G0 and G1 then never change.
 *
 * The state is (G0, G1). It starts at value 1's sets (the default repertoire when value 1 is empty) and
 * returns there at every control character, at each backslash of multi-valued VRs and at each ^ and = of
 * PN (PS3.5 6.1.2.5.3). A delimiter byte counts only while G0 holds a single-byte set: under JIS X 0208 the
 * same byte is half of a character, which is why writers must switch back before delimiters. */
#include "charset_internal.h"
#include "dv_vr.h"

#include <string.h>

typedef struct cs_state {
    uint8_t g0, g1;
} cs_state;

static cs_state initial_state(const dv_charset *cs)
{
    const cs_term_info *t = &cs_terms[cs->terms[0]];
    cs_state s = { GS_IS_G0_SB(t->g0) ? t->g0 : GS_ASCII, t->g1 };
    return s;
}

/* 1 when some value of cs designates g (ASCII as G0 is always there: it is the initial G0). */
static int declared(const dv_charset *cs, uint8_t g)
{
    if (g == GS_ASCII)
        return 1;
    for (unsigned i = 0; i < cs->nterms; i++) {
        if (cs_terms[cs->terms[i]].g0 == g || cs_terms[cs->terms[i]].g1 == g)
            return 1;
    }
    return 0;
}

/* The G1 set a high byte falls back to when nothing is designated (lenient): the first declared one. */
static uint8_t fallback_g1(const dv_charset *cs)
{
    for (unsigned i = 0; i < cs->nterms; i++) {
        if (cs_terms[cs->terms[i]].g1 != GS_NONE)
            return cs_terms[cs->terms[i]].g1;
    }
    return GS_NONE;
}

/* Shift-JIS lead/trail -> JIS X 0208 row/column (GL form); 0 when the pair is not Shift-JIS. */
static uint16_t sjis_to_jis(uint8_t l, uint8_t t)
{
    if (!((l >= 0x81 && l <= 0x9F) || (l >= 0xE0 && l <= 0xEF)))
        return 0;
    if (t < 0x40 || t == 0x7F || t > 0xFC)
        return 0;
    unsigned lead = l >= 0xE0 ? (unsigned)l - 0x40 : l;
    unsigned r = (lead - 0x81) * 2 + 0x21, c;
    if (t >= 0x9F) {
        r += 1;
        c = (unsigned)t - 0x9F + 0x21;
    } else {
        c = (unsigned)t - 0x40 + 0x21 - (t >= 0x80);
    }
    return (uint16_t)(r << 8 | c);
}

static void replaced(cs_out *o, unsigned *flags)
{
    cs_put_cp(o, CS_REPLACEMENT);
    *flags |= DV_CS_REPLACED;
}

static int db94_put(dv_charset_ctx *ctx, cs_out *o, uint8_t g, unsigned r, unsigned c, unsigned *flags,
                    dv_error *err)
{
    const uint16_t *t = cs_db94_table(ctx, (cs_gset)g, err);
    if (!t)
        return -1;
    uint16_t cp = t[(r - 0x21) * 94 + (c - 0x21)];
    if (cp)
        cs_put_cp(o, cp);
    else
        replaced(o, flags);
    return 0;
}

int cs_decode_iso2022(dv_charset_ctx *ctx, const dv_charset *cs, uint16_t vr, const uint8_t *in, size_t len,
                      cs_out *o, unsigned *flags, unsigned *style, dv_error *err)
{
    const cs_state init = initial_state(cs);
    cs_state st = init;
    uint8_t last_g1 = GS_NONE;
    int seg_start = 1, prev_g1 = 0;
    size_t i = 0;
    while (i < len) {
        uint8_t b = in[i];
        if (b == 0x1B && cs->iso2022) {
            /* ESC, intermediates 02/00-02/15, final 03/00-07/14 (ISO 2022 13.1). */
            size_t j = i + 1;
            while (j < len && in[j] >= 0x20 && in[j] <= 0x2F && j - i <= 3)
                j++;
            const cs_escape *e = NULL;
            if (j < len && in[j] >= 0x30 && in[j] <= 0x7E) {
                size_t n = j - i; /* intermediates + final */
                for (size_t k = 0; k < cs_nescapes; k++) {
                    if (cs_escapes[k].len == n && memcmp(cs_escapes[k].seq, in + i + 1, n) == 0)
                        e = &cs_escapes[k];
                }
                j++;
            }
            if (!e) {
                replaced(o, flags); /* an escape sequence DICOM does not define */
                i = j;
                continue;
            }
            uint8_t g = e->gset;
            if (!declared(cs, g))
                *flags |= DV_CS_LENIENT;
            if (g == GS_ASCII && init.g0 == GS_ROMAJI) {
                /* ESC ( B under ISO 2022 IR 13: read as the Romaji return it stands for (pydicom's test
                 * files chrSQEncoding*.dcm are written so); remembered so an edit is written the same way. */
                *style |= DV_CS_STYLE_ASCII_RETURN;
                g = GS_ROMAJI;
            }
            if (GS_IS_G0_SB(g) || GS_IS_G0_DB(g)) {
                if (GS_IS_G0_SB(g) && GS_IS_G0_SB(st.g0) && prev_g1)
                    *style |= DV_CS_STYLE_CLOSE_G1; /* a redundant G0 return right after G1 text (Annex K.3) */
                st.g0 = g;
            } else {
                if (seg_start && !(j < len && in[j] >= 0xA0))
                    *style |= DV_CS_STYLE_G1_AT_START; /* designated ahead of its first use (Annex I.3) */
                st.g1 = g;
                last_g1 = g;
            }
            prev_g1 = 0;
            i = j;
            continue;
        }
        if (b < 0x20 || b == 0x7F) {
            cs_put(o, b);
            if (b < 0x20) {
                st = init;
                seg_start = 1;
            }
            prev_g1 = 0;
            i++;
            continue;
        }
        seg_start = 0;
        if (b < 0x80) {
            prev_g1 = 0;
            if (GS_IS_G0_DB(st.g0) && b != 0x20) {
                if (i + 1 < len && in[i + 1] >= 0x21 && in[i + 1] <= 0x7E) {
                    if (db94_put(ctx, o, st.g0, b, in[i + 1], flags, err) != 0)
                        return -1;
                    i += 2;
                } else {
                    replaced(o, flags);
                    i++;
                }
                continue;
            }
            cs_put(o, b); /* ASCII; JIS X 0201 Romaji is read as ASCII (docs/charsets.md) */
            i++;
            if (GS_IS_G0_SB(st.g0) && cs_is_delimiter(b, vr)) {
                st = init;
                seg_start = 1;
            }
            continue;
        }
        uint8_t g = st.g1;
        if (g == GS_NONE && cs->iso2022) {
            g = last_g1 != GS_NONE ? last_g1 : fallback_g1(cs);
            if (g != GS_NONE)
                *flags |= DV_CS_LENIENT; /* a G1 byte after the designation lapsed */
        }
        prev_g1 = 1;
        if (g == GS_NONE) {
            replaced(o, flags);
            i++;
        } else if (GS_IS_SB96(g)) {
            if (b < 0xA0) {
                cs_put_cp(o, b); /* C1 control */
            } else {
                const uint16_t *t = cs_sb96_table(ctx, (cs_gset)g, err);
                if (!t)
                    return -1;
                if (t[b - 0xA0])
                    cs_put_cp(o, t[b - 0xA0]);
                else
                    replaced(o, flags);
            }
            i++;
        } else if (g == GS_KATAKANA) {
            uint16_t jis = i + 1 < len ? sjis_to_jis(b, in[i + 1]) : 0;
            if (b >= 0xA1 && b <= 0xDF) {
                cs_put_cp(o, 0xFF61u + (b - 0xA1u));
                i++;
            } else if (jis) {
                /* Shift-JIS kanji under ISO_IR 13: not DICOM, but widely written (orthanc-tests
                 * Encodings_Lena-shift-jis.dcm); Shift-JIS is a superset of JIS X 0201, so read it. */
                *flags |= DV_CS_LENIENT;
                if (db94_put(ctx, o, GS_JISX0208, jis >> 8, jis & 0xFF, flags, err) != 0)
                    return -1;
                i += 2;
            } else {
                replaced(o, flags);
                i++;
            }
        } else if (b >= 0xA1 && b <= 0xFE && i + 1 < len && in[i + 1] >= 0xA1 && in[i + 1] <= 0xFE) {
            if (db94_put(ctx, o, g, b - 0x80u, in[i + 1] - 0x80u, flags, err) != 0)
                return -1;
            i += 2;
        } else {
            replaced(o, flags);
            i++;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------------------ */
/* Encoding. */

/* The bytes of cp in the G1 set g (GR form): 1 or 2 bytes, 0 when g lacks cp, -1 on table errors. */
static int g1_bytes(dv_charset_ctx *ctx, uint8_t g, uint32_t cp, uint8_t out[2], dv_error *err)
{
    if (GS_IS_SB96(g)) {
        if (cp >= 0x80 && cp < 0xA0) {
            out[0] = (uint8_t)cp;
            return 1;
        }
        const uint16_t *t = cs_sb96_table(ctx, (cs_gset)g, err);
        if (!t)
            return -1;
        for (int k = 0; k < 96; k++) {
            if (t[k] && t[k] == cp) {
                out[0] = (uint8_t)(0xA0 + k);
                return 1;
            }
        }
        return 0;
    }
    if (g == GS_KATAKANA) {
        if (cp >= 0xFF61 && cp <= 0xFF9F) {
            out[0] = (uint8_t)(0xA1 + (cp - 0xFF61));
            return 1;
        }
        return 0;
    }
    if (g == GS_KSX1001 || g == GS_GB2312) {
        uint16_t code;
        int r = cs_db94_encode(ctx, (cs_gset)g, cp, &code, err);
        if (r <= 0)
            return r;
        out[0] = (uint8_t)((code >> 8) | 0x80);
        out[1] = (uint8_t)((code & 0xFF) | 0x80);
        return 2;
    }
    return 0;
}

/* The set cs's values offer for cp, in value order (G0 before G1 within a value); GS_NONE if none. */
static int choose(dv_charset_ctx *ctx, const dv_charset *cs, uint32_t cp, uint8_t *g, dv_error *err)
{
    uint8_t tmp[2];
    uint16_t code;
    for (unsigned i = 0; i < cs->nterms; i++) {
        const cs_term_info *t = &cs_terms[cs->terms[i]];
        if (GS_IS_G0_DB(t->g0)) {
            int r = cs_db94_encode(ctx, (cs_gset)t->g0, cp, &code, err);
            if (r < 0)
                return -1;
            if (r) {
                *g = t->g0;
                return 0;
            }
        }
        if (t->g1 != GS_NONE) {
            int r = g1_bytes(ctx, t->g1, cp, tmp, err);
            if (r < 0)
                return -1;
            if (r) {
                *g = t->g1;
                return 0;
            }
        }
    }
    *g = GS_NONE;
    return 0;
}

static void put_escape(cs_out *o, const char *seq)
{
    cs_put(o, 0x1B);
    for (const char *p = seq; *p; p++)
        cs_put(o, (uint8_t)*p);
}

typedef struct enc {
    dv_charset_ctx *ctx;
    const dv_charset *cs;
    uint16_t vr;
    unsigned style;
    cs_out *o;
    cs_state init, st;
    int open_g1; /* G1 text written and not closed (DV_CS_STYLE_CLOSE_G1) */
} enc;

static void put_g0_return(enc *e)
{
    int romaji = e->init.g0 == GS_ROMAJI && !(e->style & DV_CS_STYLE_ASCII_RETURN);
    put_escape(e->o, romaji ? "(J" : "(B");
    e->st.g0 = e->init.g0;
    e->open_g1 = 0;
}

/* Before a delimiter, a control character, or the end: back to value 1's G0 (PS3.5 6.1.2.5.3). */
static void close_segment(enc *e)
{
    if (e->st.g0 != e->init.g0 || (e->open_g1 && (e->style & DV_CS_STYLE_CLOSE_G1)))
        put_g0_return(e);
}

/* DV_CS_STYLE_G1_AT_START: designate, at the head of a segment, the G1 set its first character outside
 * the initial sets will need. */
static int designate_ahead(enc *e, const uint8_t *s, size_t len, size_t i, dv_error *err)
{
    while (i < len) {
        int32_t cp = cs_utf8_next(s, len, &i);
        if (cp < 0 || cp < 0x20 || (cp < 0x80 && cs_is_delimiter((uint8_t)cp, e->vr)))
            return 0;
        if (cp < 0x80)
            continue;
        uint8_t tmp[2], g;
        int r = e->st.g1 != GS_NONE ? g1_bytes(e->ctx, e->st.g1, (uint32_t)cp, tmp, err) : 0;
        if (r < 0)
            return -1;
        if (r)
            continue;
        if (choose(e->ctx, e->cs, (uint32_t)cp, &g, err) != 0)
            return -1;
        if (g != GS_NONE && !GS_IS_G0_DB(g)) {
            put_escape(e->o, cs_escape_for((cs_gset)g)->seq);
            e->st.g1 = g;
        }
        return 0;
    }
    return 0;
}

int cs_encode_iso2022(dv_charset_ctx *ctx, const dv_charset *cs, uint16_t vr, const uint8_t *s, size_t len,
                      unsigned style, cs_out *o, size_t *bad_offset, dv_error *err)
{
    enc e = { ctx, cs, vr, style, o, initial_state(cs), initial_state(cs), 0 };
    int seg_start = 1;
    size_t i = 0;
    for (;;) {
        if (seg_start && cs->iso2022 && (style & DV_CS_STYLE_G1_AT_START)) {
            if (designate_ahead(&e, s, len, i, err) != 0)
                return -1;
        }
        seg_start = 0;
        if (i >= len)
            break;
        size_t at = i;
        int32_t cp = cs_utf8_next(s, len, &i);
        if (cp < 0)
            return dv_fail(err, DV_ERR_USAGE, "text to encode is not UTF-8 (byte offset %zu)", at);
        if (cp == 0x1B && cs->iso2022) {
            *bad_offset = at; /* would start an escape sequence */
            return DV_CHARSET_UNENCODABLE;
        }
        if (cp < 0x20 || (cp < 0x80 && cs_is_delimiter((uint8_t)cp, vr))) {
            if (cs->iso2022)
                close_segment(&e);
            cs_put(o, (uint8_t)cp);
            e.st = e.init;
            e.open_g1 = 0;
            seg_start = 1;
            continue;
        }
        if (cp < 0x80 && GS_IS_G0_SB(e.st.g0)) {
            if (e.open_g1 && (style & DV_CS_STYLE_CLOSE_G1))
                put_g0_return(&e);
            cs_put(o, (uint8_t)cp);
            continue;
        }
        uint16_t code;
        uint8_t gb[2];
        if (GS_IS_G0_DB(e.st.g0) && cp != 0x20) {
            int r = cs_db94_encode(ctx, (cs_gset)e.st.g0, (uint32_t)cp, &code, err);
            if (r < 0)
                return -1;
            if (r) {
                cs_put(o, (uint8_t)(code >> 8));
                cs_put(o, (uint8_t)(code & 0xFF));
                continue;
            }
        }
        if (e.st.g1 != GS_NONE) {
            int r = g1_bytes(ctx, e.st.g1, (uint32_t)cp, gb, err);
            if (r < 0)
                return -1;
            if (r) {
                for (int k = 0; k < r; k++)
                    cs_put(o, gb[k]);
                e.open_g1 = 1;
                continue;
            }
        }
        if (!cs->iso2022) {
            *bad_offset = at;
            return DV_CHARSET_UNENCODABLE;
        }
        if (cp < 0x80) { /* G0 holds a multi-byte set: return to value 1's G0 */
            put_g0_return(&e);
            cs_put(o, (uint8_t)cp);
            continue;
        }
        uint8_t g;
        if (choose(ctx, cs, (uint32_t)cp, &g, err) != 0)
            return -1;
        if (g == GS_NONE) {
            *bad_offset = at;
            return DV_CHARSET_UNENCODABLE;
        }
        put_escape(o, cs_escape_for((cs_gset)g)->seq);
        if (GS_IS_G0_DB(g)) {
            e.st.g0 = g;
            e.open_g1 = 0;
            if (cs_db94_encode(ctx, (cs_gset)g, (uint32_t)cp, &code, err) != 1)
                return -1;
            cs_put(o, (uint8_t)(code >> 8));
            cs_put(o, (uint8_t)(code & 0xFF));
        } else {
            e.st.g1 = g;
            int r = g1_bytes(ctx, g, (uint32_t)cp, gb, err);
            if (r <= 0)
                return -1;
            for (int k = 0; k < r; k++)
                cs_put(o, gb[k]);
            e.open_g1 = 1;
        }
    }
    if (cs->iso2022)
        close_segment(&e);
    return DV_CHARSET_OK;
}
