/* The folding of fuzzy person-name matching (pn_fold.h says what folds and why). */
#include "text/pn_fold.h"

#include <stdint.h>

#include "text/lexicon_data.h"
#include "util/dv_utf8.h"

/* The Latin letters the generated table (lexicon_data.h) keeps as they are, sorted by code point: ascii, when the
 * letter reduces to base letters (Unicode decomposes it to one the table reduces: ǽ is æ + acute; or it is a base
 * letter with a stroke, as ł and ø are for the table), else lower, its lower-case letter (Unicode's simple case
 * folding). Each folds to no more UTF-8 bytes than it has (Ⱥ's lower case ⱥ has 3: it is reduced to a instead). */
static const struct latin_extra {
    uint16_t cp;
    char ascii[3];
    uint16_t lower;
} latin_extra[] = {
    {0x013F, "l", 0},      {0x0140, "l", 0},      {0x0149, "n", 0},      {0x0181, "", 0x0253},
    {0x0182, "", 0x0183},  {0x0184, "", 0x0185},  {0x0186, "", 0x0254},  {0x0187, "", 0x0188},
    {0x0189, "", 0x0256},  {0x018A, "", 0x0257},  {0x018B, "", 0x018C},  {0x018E, "", 0x01DD},
    {0x018F, "", 0x0259},  {0x0190, "", 0x025B},  {0x0191, "", 0x0192},  {0x0193, "", 0x0260},
    {0x0194, "", 0x0263},  {0x0196, "", 0x0269},  {0x0197, "", 0x0268},  {0x0198, "", 0x0199},
    {0x019C, "", 0x026F},  {0x019D, "", 0x0272},  {0x019F, "", 0x0275},  {0x01A2, "", 0x01A3},
    {0x01A4, "", 0x01A5},  {0x01A6, "", 0x0280},  {0x01A7, "", 0x01A8},  {0x01A9, "", 0x0283},
    {0x01AC, "", 0x01AD},  {0x01AE, "", 0x0288},  {0x01B1, "", 0x028A},  {0x01B2, "", 0x028B},
    {0x01B3, "", 0x01B4},  {0x01B5, "", 0x01B6},  {0x01B7, "", 0x0292},  {0x01B8, "", 0x01B9},
    {0x01BC, "", 0x01BD},  {0x01E2, "ae", 0},     {0x01E3, "ae", 0},     {0x01E4, "", 0x01E5},
    {0x01EE, "", 0x0292},  {0x01EF, "", 0x0292},  {0x01F6, "", 0x0195},  {0x01F7, "", 0x01BF},
    {0x01FC, "ae", 0},     {0x01FD, "ae", 0},     {0x01FE, "o", 0},      {0x01FF, "o", 0},
    {0x021C, "", 0x021D},  {0x0220, "", 0x019E},  {0x0222, "", 0x0223},  {0x0224, "", 0x0225},
    {0x023A, "a", 0},      {0x023B, "", 0x023C},  {0x023D, "", 0x019A},  {0x023E, "t", 0},
    {0x0241, "", 0x0242},  {0x0243, "", 0x0180},  {0x0244, "", 0x0289},  {0x0245, "", 0x028C},
    {0x0246, "", 0x0247},  {0x0248, "", 0x0249},  {0x024A, "", 0x024B},  {0x024C, "", 0x024D},
    {0x024E, "", 0x024F},  {0x1E9E, "ss", 0},     {0x2C65, "a", 0},      {0x2C66, "t", 0},
};

static const struct latin_extra *latin_extra_of(int32_t cp)
{
    size_t lo = 0, hi = sizeof latin_extra / sizeof latin_extra[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (latin_extra[mid].cp == cp)
            return &latin_extra[mid];
        if (latin_extra[mid].cp < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Greek: lower case, tonos and dialytika dropped, final sigma as sigma. 0: not a letter this folds. */
static int32_t greek(int32_t cp)
{
    switch (cp) {
    case 0x00B5: /* MICRO SIGN: case-folds to mu */
        return 0x03BC;
    case 0x0386: case 0x03AC:
        return 0x03B1;
    case 0x0388: case 0x03AD:
        return 0x03B5;
    case 0x0389: case 0x03AE:
        return 0x03B7;
    case 0x038A: case 0x03AF: case 0x0390: case 0x03AA: case 0x03CA:
        return 0x03B9;
    case 0x038C: case 0x03CC:
        return 0x03BF;
    case 0x038E: case 0x03CD: case 0x03B0: case 0x03AB: case 0x03CB:
        return 0x03C5;
    case 0x038F: case 0x03CE:
        return 0x03C9;
    case 0x03C2:
        return 0x03C3;
    default:
        break;
    }
    if (cp >= 0x0391 && cp <= 0x03A9 && cp != 0x03A2)
        return cp + 0x20;
    return 0;
}

/* Cyrillic: the precomposed letters (Unicode decomposes them) to their lower-case base letters, then lower case
 * (U+0400-U+042F, and the upper/lower pairs of U+0460-U+052F). 0: not a letter this folds. */
static int32_t cyrillic(int32_t cp)
{
    switch (cp) {
    case 0x0400: case 0x0401: case 0x0450: case 0x0451: case 0x04D6: case 0x04D7:
        return 0x0435; /* е */
    case 0x0403: case 0x0453:
        return 0x0433; /* г */
    case 0x0407: case 0x0457:
        return 0x0456; /* і */
    case 0x040C: case 0x045C:
        return 0x043A; /* к */
    case 0x040D: case 0x045D: case 0x0419: case 0x0439: case 0x04E2: case 0x04E3: case 0x04E4: case 0x04E5:
        return 0x0438; /* и */
    case 0x040E: case 0x045E: case 0x04EE: case 0x04EF: case 0x04F0: case 0x04F1: case 0x04F2: case 0x04F3:
        return 0x0443; /* у */
    case 0x0476: case 0x0477:
        return 0x0475; /* ѵ */
    case 0x04C1: case 0x04C2: case 0x04DC: case 0x04DD:
        return 0x0436; /* ж */
    case 0x04D0: case 0x04D1: case 0x04D2: case 0x04D3:
        return 0x0430; /* а */
    case 0x04DA: case 0x04DB:
        return 0x04D9; /* ә */
    case 0x04DE: case 0x04DF:
        return 0x0437; /* з */
    case 0x04E6: case 0x04E7:
        return 0x043E; /* о */
    case 0x04EA: case 0x04EB:
        return 0x04E9; /* ө */
    case 0x04EC: case 0x04ED:
        return 0x044D; /* э */
    case 0x04F4: case 0x04F5:
        return 0x0447; /* ч */
    case 0x04F8: case 0x04F9:
        return 0x044B; /* ы */
    default:
        break;
    }
    if (cp >= 0x0400 && cp <= 0x040F)
        return cp + 0x50;
    if (cp >= 0x0410 && cp <= 0x042F)
        return cp + 0x20;
    if (((cp >= 0x0460 && cp <= 0x0481) || (cp >= 0x048A && cp <= 0x04BF) || (cp >= 0x04D0 && cp <= 0x052F)) &&
        cp % 2 == 0)
        return cp + 1;
    if (cp == 0x04C0)
        return 0x04CF;
    if (cp >= 0x04C1 && cp <= 0x04CE && cp % 2 == 1)
        return cp + 1;
    return 0;
}

int32_t dv_pn_fold_gc(int32_t cp)
{
    int32_t f = greek(cp);
    return f ? f : cyrillic(cp);
}

static size_t put_ascii_lower(const char *a, char *o)
{
    size_t n = 0;
    for (; *a; a++)
        o[n++] = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
    return n;
}

/* The fold of one code point into o (room for 4 bytes): its length, 0 when it folds away. */
static size_t fold_cp(int32_t cp, char *o)
{
    if (cp < 0x80) {
        o[0] = (char)(cp >= 'A' && cp <= 'Z' ? cp - 'A' + 'a' : cp);
        return 1;
    }
    if (cp >= 0x0300 && cp <= 0x036F)
        return 0; /* a combining accent of decomposed text goes as a precomposed letter's does */
    const dv_lex_fold_entry *e = NULL;
    if (cp >= DV_LEX_FOLD_LO && cp <= DV_LEX_FOLD_HI)
        e = &dv_lex_fold_table[cp - DV_LEX_FOLD_LO];
    else if (cp >= DV_LEX_FOLD2_LO && cp <= DV_LEX_FOLD2_HI)
        e = &dv_lex_fold_table2[cp - DV_LEX_FOLD2_LO];
    if (e && e->ascii[0])
        return put_ascii_lower(e->ascii, o);
    const struct latin_extra *x = latin_extra_of(cp);
    if (x)
        return x->ascii[0] ? put_ascii_lower(x->ascii, o) : dv_utf8_put((uint32_t)x->lower, o);
    int32_t f = dv_pn_fold_gc(cp);
    return dv_utf8_put((uint32_t)(f ? f : cp), o);
}

size_t dv_pn_fold(const char *utf8, size_t len, char *out, size_t cap)
{
    if (cap == 0)
        return 0;
    const uint8_t *s = (const uint8_t *)utf8;
    size_t w = 0;
    for (size_t i = 0; i < len;) {
        size_t at = i;
        int32_t cp = dv_utf8_next(s, len, &i);
        char unit[4];
        size_t n;
        if (cp < 0) {
            unit[0] = (char)s[at]; /* not UTF-8: the byte as it is (dv_utf8_next moved one byte on) */
            n = 1;
        } else {
            n = fold_cp(cp, unit);
        }
        if (n > cap - 1 - w)
            break;
        for (size_t k = 0; k < n; k++)
            out[w++] = unit[k];
    }
    out[w] = '\0';
    return w;
}
