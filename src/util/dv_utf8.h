/* The project's one strict UTF-8 decoder (and its encoder, dv_utf8_put), for the library (dicom/charset_*: cs_utf8_next; text/tokens.c) and for
 * the server's index (store/pg_ops.c: a path PostgreSQL's text type would refuse is stored in hex), which is
 * built apart from the library's internals: header-only, like dv_hex.h. */
#ifndef DV_UTF8_H
#define DV_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* One code point at s[*i] (strict: no overlongs, surrogates or values above U+10FFFF; *i < len): the code point
 * with *i moved past it, or -1 with *i moved one byte on when the bytes are not UTF-8. */
static inline int32_t dv_utf8_next(const uint8_t *s, size_t len, size_t *i)
{
    size_t k = *i;
    uint8_t b = s[k];
    *i = k + 1;
    if (b < 0x80)
        return b;
    uint32_t cp, min;
    size_t n;
    if (b >= 0xC2 && b <= 0xDF) {
        cp = b & 0x1F;
        n = 1;
        min = 0x80;
    } else if (b >= 0xE0 && b <= 0xEF) {
        cp = b & 0x0F;
        n = 2;
        min = 0x800;
    } else if (b >= 0xF0 && b <= 0xF4) {
        cp = b & 0x07;
        n = 3;
        min = 0x10000;
    } else {
        return -1;
    }
    if (n >= len - k) /* truncated sequence */
        return -1;
    for (size_t j = 1; j <= n; j++) {
        uint8_t c = s[k + j];
        if ((c & 0xC0) != 0x80)
            return -1;
        cp = (cp << 6) | (c & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *i = k + n + 1;
    return (int32_t)cp;
}

/* Code point cp (at most U+10FFFF, no surrogate) as UTF-8 into out (room for 4 bytes): its length, 1 to 4. */
static inline size_t dv_utf8_put(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* 1 when s[0, len) is UTF-8 throughout. */
static inline int dv_utf8_valid(const uint8_t *s, size_t len)
{
    for (size_t i = 0; i < len;)
        if (dv_utf8_next(s, len, &i) < 0)
            return 0;
    return 1;
}

#endif
