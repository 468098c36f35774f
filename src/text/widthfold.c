/* Width folding (widthfold.h): one job, the folded copy and its offset map. */
#include "text/widthfold.h"
#include "text/tokens.h"

#include <stdlib.h>
#include <string.h>

char dv_native_digit_ascii(const unsigned char *s, size_t n, size_t *clen, uint32_t *zero)
{
    uint32_t cp;
    size_t len;
    if (n >= 2 && (s[0] == 0xD9 || s[0] == 0xDB || s[0] == 0xDF) && (s[1] & 0xC0) == 0x80) {
        cp = (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3Fu);
        len = 2;
    } else if (n >= 3 && (s[0] == 0xE0 || s[0] == 0xE1) && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
        cp = (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3Fu);
        if (cp < 0x800) /* E0 80-9F: an overlong form, no character */
            return 0;
        len = 3;
    } else {
        return 0;
    }
    int d = dv_native_digit((int32_t)cp);
    if (d < 0)
        return 0;
    if (clen)
        *clen = len;
    if (zero)
        *zero = cp - (uint32_t)d;
    return (char)('0' + d);
}

/* The 24 reserved holes of the mathematical alphabets and the Letterlike Symbols that fill them (U+1D455 italic h
 * is U+210E PLANCK CONSTANT, U+1D49D script B is U+212C, ...): alphabet (0 bold, 1 italic, 3 script, 5 fraktur,
 * 6 double-struck), letter, filler. A hole is unassigned and folds to nothing; its filler folds to its letter. Only
 * these Letterlike Symbols fold: ℓ U+2113, ℹ U+2139 and the double-struck italic ⅅ-ⅉ are no letter of a math
 * alphabet. test_math_fold_matches_unicode_data derives the holes and their fillers from UnicodeData.txt. */
static const struct math_hole {
    uint8_t alphabet;
    char letter;
    uint16_t filler;
} math_holes[24] = {
    {1, 'h', 0x210E}, {3, 'B', 0x212C}, {3, 'E', 0x2130}, {3, 'F', 0x2131}, {3, 'H', 0x210B}, {3, 'I', 0x2110},
    {3, 'L', 0x2112}, {3, 'M', 0x2133}, {3, 'R', 0x211B}, {3, 'e', 0x212F}, {3, 'g', 0x210A}, {3, 'o', 0x2134},
    {5, 'C', 0x212D}, {5, 'H', 0x210C}, {5, 'I', 0x2111}, {5, 'R', 0x211C}, {5, 'Z', 0x2128}, {6, 'C', 0x2102},
    {6, 'H', 0x210D}, {6, 'N', 0x2115}, {6, 'P', 0x2119}, {6, 'Q', 0x211A}, {6, 'R', 0x211D}, {6, 'Z', 0x2124},
};

static int is_math_hole(unsigned alphabet, char letter)
{
    for (size_t i = 0; i < sizeof math_holes / sizeof *math_holes; i++)
        if (math_holes[i].alphabet == alphabet && math_holes[i].letter == letter)
            return 1;
    return 0;
}

static char letterlike_ascii(uint32_t cp)
{
    for (size_t i = 0; i < sizeof math_holes / sizeof *math_holes; i++)
        if (math_holes[i].filler == cp)
            return math_holes[i].letter;
    return 0;
}

char dv_math_ascii(uint32_t cp)
{
    if (cp >= 0x1D400 && cp < 0x1D400 + 13 * 52) { /* bold, italic, ..., monospace: 52 letters each */
        unsigned k = (cp - 0x1D400) % 52, alphabet = (cp - 0x1D400) / 52;
        char letter = (char)(k < 26 ? 'A' + k : 'a' + (k - 26));
        return is_math_hole(alphabet, letter) ? 0 : letter; /* math letters are rare: a short search */
    }
    if (cp >= 0x1D7CE && cp <= 0x1D7FF) /* bold, double-struck, sans-serif, sans-serif bold, monospace digits */
        return (char)('0' + (cp - 0x1D7CE) % 10);
    if (cp >= 0x2102 && cp <= 0x2134)
        return letterlike_ascii(cp);
    if (cp >= 0x249C && cp <= 0x24B5) /* ⒜-⒵ */
        return (char)('a' + (cp - 0x249C));
    if (cp >= 0x24B6 && cp <= 0x24CF) /* Ⓐ-Ⓩ */
        return (char)('A' + (cp - 0x24B6));
    if (cp >= 0x24D0 && cp <= 0x24E9) /* ⓐ-ⓩ */
        return (char)('a' + (cp - 0x24D0));
    if (cp >= 0x1F110 && cp <= 0x1F189 && (cp - 0x1F110) % 32 < 26) /* 🄐 🄰 🅐 🅰: 4 sets of A-Z, 32 apart */
        return (char)('A' + (cp - 0x1F110) % 32);
    return 0;
}

/* A circled digit's value at s (3 bytes readable), or -1. */
static int circled_digit(const unsigned char *s)
{
    if (s[0] != 0xE2 || (s[2] & 0xC0) != 0x80)
        return -1;
    if (s[1] == 0x91 && s[2] >= 0xA0 && s[2] <= 0xA8) /* U+2460-U+2468 */
        return s[2] - 0xA0 + 1;
    return s[1] == 0x93 && s[2] == 0xAA ? 0 : -1; /* U+24EA */
}

/* Is the character at s[i] (s holds len bytes) a digit written another way than circled? */
static int other_digit(const unsigned char *s, size_t i, size_t len)
{
    size_t clen;
    if (s[i] >= '0' && s[i] <= '9')
        return 1;
    if (s[i] == 0xE2) /* no digit but a circled one starts with E2 */
        return 0;
    char a = dv_width_fold_char(s, i, len, &clen);
    return a >= '0' && a <= '9';
}

char dv_circled_digit_ascii(const unsigned char *s, size_t i, size_t len)
{
    if (len - i < 3)
        return 0;
    int d = circled_digit(s + i);
    if (d < 0)
        return 0;
    if (i + 3 < len && other_digit(s, i + 3, len))
        return 0;
    size_t p = i; /* the start of the character before: back over at most 3 continuation bytes */
    while (p > 0 && i - p < 4 && ((s[--p] & 0xC0) == 0x80))
        ;
    if (p < i && other_digit(s, p, i))
        return 0;
    return (char)('0' + d);
}

uint32_t dv_width_digit_zero(const unsigned char *s, size_t i, size_t len)
{
    size_t clen = 0;
    char a = dv_width_fold_char(s, i, len, &clen);
    if (a < '0' || a > '9')
        return 0;
    uint32_t zero = 0;
    switch (s[i]) {
    case 0xEF:
        return 0xFF10;
    case 0xE2:
        return 0x24EA;
    case 0xF0: /* U+1D7CE-U+1D7FF: 5 sets of 10 */
        return 0x1D7CE + (((uint32_t)(s[i + 2] & 0x3F) << 6 | (s[i + 3] & 0x3Fu)) - 0x7CE) / 10 * 10;
    default:
        dv_native_digit_ascii(s + i, len - i, NULL, &zero);
        return zero;
    }
}

size_t dv_width_fold_into(const char *in, size_t len, char *out, uint32_t *at, uint32_t *cum, size_t *nat)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0, n = 0, saved = 0, k = 0;
    for (size_t i = 0; i < len;) {
        char a = dv_width_fold_char(s, i, len, &k);
        if (a) {
            saved += k - 1;
            at[n] = (uint32_t)o;
            cum[n++] = (uint32_t)saved;
            out[o++] = a;
            i += k;
        } else {
            out[o++] = (char)s[i++];
        }
    }
    *nat = n;
    return o;
}

size_t dv_width_fold_map(const char *in, size_t len, char *out, uint32_t *orig)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t at = i, k = 1, clen = 0;
        char a = dv_width_fold_char(s, i, len, &clen);
        if (a) {
            out[o] = a;
            i += clen;
        } else if (s[i] != 0xEF || (k = dv_fold_halfwidth_kana_at(in, len, &i, out + o)) == 0) {
            k = 1;
            out[o] = (char)s[i++];
        }
        for (size_t j = 0; orig && j < k; j++)
            orig[o + j] = (uint32_t)at;
        o += k;
    }
    if (orig)
        orig[o] = (uint32_t)len;
    return o;
}

size_t dv_width_orig(const dv_width_buf *b, size_t k)
{
    size_t lo = 0, hi = b->nat; /* the number of folded characters that start before k */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->at[mid] < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return k + (lo ? b->cum[lo - 1] : 0);
}

long dv_width_fold(dv_width_buf *b, const char *utf8, size_t len, dv_error *err)
{
    if (len > UINT32_MAX)
        return dv_fail(err, DV_ERR_LIMIT, "text value too long to fold");
    if (len > b->cap || !b->text) {
        char *t = malloc(len ? len : 1);
        uint32_t *a = malloc((len / 2 + 1) * sizeof *a), *c = malloc((len / 2 + 1) * sizeof *c);
        if (!t || !a || !c) {
            free(t);
            free(a);
            free(c);
            return dv_fail(err, DV_ERR_NOMEM, "text width folding: out of memory");
        }
        free(b->text);
        free(b->at);
        free(b->cum);
        b->text = t;
        b->at = a;
        b->cum = c;
        b->cap = len;
    }
    b->len = dv_width_fold_into(utf8, len, b->text, b->at, b->cum, &b->nat);
    return (long)b->nat;
}

void dv_width_buf_trim(dv_width_buf *b, size_t keep)
{
    if (b->cap > keep) {
        free(b->text);
        free(b->at);
        free(b->cum);
        b->text = NULL;
        b->at = NULL;
        b->cum = NULL;
        b->cap = b->len = b->nat = 0;
    }
}

void dv_width_buf_free(dv_width_buf *b)
{
    if (!b)
        return;
    free(b->text);
    free(b->at);
    free(b->cum);
    memset(b, 0, sizeof *b);
}
