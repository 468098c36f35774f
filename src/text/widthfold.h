/* Width folding for the ASCII-only detectors: the PCRE2 patterns (patterns.c), the written-date shifter
 * (dateshift.c) and the deny-list's phone digits (denylist.c) know ASCII digits and punctuation only, while
 * Japanese, Chinese and Korean text writes the same characters full width (２０２０／０３／０５, ０３－１２３４).
 * This file folds U+FF01-U+FF5E to their ASCII counterparts (U+FF01 - 0xFEE0 = '!'), the ideographic space
 * U+3000 to a space, the small form variants of ASCII punctuation (U+FE50-U+FE6B: ﹣ U+FE63 is '-', ﹕ ':',
 * ﹒ '.', as an ID or a date can be written in CJK text) to the same ASCII, and the decimal digits of other
 * scripts (Arabic-Indic ٢٣, Devanagari २३, Thai ๒๓, ...) to ASCII digits, the mathematical and enclosed letters
 * and digits (𝐐𝐮𝐢𝐱𝐨𝐭𝐞, 𝟏𝟗𝟔𝟏, Ⓠⓤⓘⓧ: dv_math_ascii) to ASCII letters and digits, and maps offsets of the folded
 * copy back to the original. A folded character is 2, 3 or 4 bytes of UTF-8 that become 1, so the map is the
 * list of folded characters' positions with the bytes saved so far. The lexicons' folding (tokens.c, docs/text-lexicons.md "Tokens and folding")
 * agrees with it on letters and digits, and dv_text_sep_ascii on punctuation.
 * docs/text.md "Full-width text"; tests: test_patterns (test_full_width, test_small_form_variants,
 * test_math_letters, test_fold_map_mixed_widths), test_text_transform. */
#ifndef DV_TEXT_WIDTHFOLD_H
#define DV_TEXT_WIDTHFOLD_H

#include <stddef.h>
#include <stdint.h>

#include "dicomveil/dv_error.h"

/* The ASCII twin of the small form variant U+FE50 + k (k < 28), or 0: the small forms whose normal form is no
 * ASCII character (﹑ U+FE51 is a small 、, ﹘ U+FE58 a small em dash, ﹝﹞ small 〔〕) and the two unassigned code
 * points fold to nothing, as their normal forms do. Before, ﹣ was no '-': 2019﹣10﹣19 was no date and
 * 4711﹣0815 an ID of one part. */
static inline char dv_small_form_ascii(unsigned k)
{
    static const char twin[28] = {',', 0,   '.', 0,   ';', ':', '?', '!', 0,   '(', ')', '{', '}', 0,
                                  0,   '#', '&', '*', '+', '-', '<', '>', '=', 0,   '\\', '$', '%', '@'};
    return k < sizeof twin ? twin[k] : 0;
}

/* The ASCII character the 3-byte sequence at s (n bytes readable) folds to, or 0 when it folds to nothing. */
static inline char dv_width_ascii(const unsigned char *s, size_t n)
{
    if (n < 3)
        return 0;
    if (s[0] == 0xEF && (s[1] == 0xBC || s[1] == 0xBD) && s[2] >= 0x80 && s[2] <= 0xBF) {
        unsigned cp = 0xF000u | ((unsigned)(s[1] & 0x3F) << 6) | (s[2] & 0x3Fu);
        return cp >= 0xFF01 && cp <= 0xFF5E ? (char)(cp - 0xFEE0) : 0;
    }
    if (s[0] == 0xEF && s[1] == 0xB9 && s[2] >= 0x90 && s[2] <= 0xAB) /* U+FE50-U+FE6B */
        return dv_small_form_ascii(s[2] - 0x90u);
    return s[0] == 0xE3 && s[1] == 0x80 && s[2] == 0x80 ? ' ' : 0;
}

/* A decimal digit of another script at s (n bytes readable; the scripts of tokens.h dv_native_digit: Arabic-Indic
 * and its Extended and NKo forms, 2 bytes of UTF-8; Devanagari to Sinhala, Thai, Lao, Tibetan, Myanmar, Khmer and
 * Mongolian, 3 bytes): its ASCII digit, with its length in *clen and the code point of its script's zero in *zero
 * (either may be NULL); 0 when s starts none. Only lead bytes D9, DB, DF, E0 and E1 can start one. */
char dv_native_digit_ascii(const unsigned char *s, size_t n, size_t *clen, uint32_t *zero);

/* Mathematical alphanumeric symbols and enclosed alphanumerics: the ASCII letter or digit cp stands for, or 0.
 * A name or a date written `𝐐𝐮𝐢𝐱𝐨𝐭𝐞`, `𝟏𝟗𝟔𝟏`, `Ⓠⓤⓘⓧ`, `⒬` or `🄰` reads as Quixote, 1961, Quix, q, A, as NFKC reads
 * it (a text that disguises PHI this way was kept). Read from the Unicode block layout (widthfold.c):
 * U+1D400-U+1D6A3 are 13 alphabets of 52 letters A-Z a-z, their 24 reserved holes filled by Letterlike Symbols
 * (U+210E ℎ is italic h, U+212C ℬ script B, ...; only these fold, not ℓ ℹ ⅅ), U+1D7CE-U+1D7FF 5 sets of digits;
 * U+249C-U+24E9 parenthesized and circled letters, U+1F110-U+1F189 parenthesized, squared, negative circled and
 * negative squared capitals (the negative ones have no decomposition but are read as the letter they show).
 * Left unfolded: the Greek math letters U+1D6A8-U+1D7CB and the dotless i/j (no ASCII letter), the circled
 * italic C and R U+1F12B-C (signs like © and ®), ⑩-⑳, ⑴-⒇ and ⒈-⒛ (numbers of a list, several digits each),
 * the negative and double circled numbers (no decomposition), and the circled digits ⓪①-⑨, which fold only
 * where dv_width_fold_char sees their neighbours. [test_patterns: test_math_fold_matches_unicode_data] */
char dv_math_ascii(uint32_t cp);

/* The circled digit at s[i] (⓪ U+24EA, ① U+2460 to ⑨ U+2468; s holds len bytes) as its ASCII digit, or 0.
 * NFKC reads ① as 1, and a date or phone number written in circled digits (`①⑨⑥①`) is read so; but circled
 * digits number the items of a list in CJK text, often with no space: `①2020/3/5 CT②2021/4/6` would read
 * 12020/3/5 and 2020/3/52, turning the true dates into no dates (or `②3/4` into 23/4). So a circled digit next
 * to a digit written any other way (ASCII, full width, another script's, mathematical) is a list number and
 * stays as it is. */
char dv_circled_digit_ascii(const unsigned char *s, size_t i, size_t len);

/* The mathematical or enclosed character at s (n bytes readable; lead byte E2 or F0): dv_math_ascii of it, its
 * length in *clen. 0 for anything else. Only E2 84, E2 85, E2 91-93, F0 9D 90-9F and F0 9F 84-86 are decoded. */
static inline char dv_math_fold_char(const unsigned char *s, size_t n, size_t *clen)
{
    if (s[0] == 0xE2) {
        if (n < 3 || (s[2] & 0xC0) != 0x80 || !(s[1] == 0x84 || s[1] == 0x85 || (s[1] >= 0x92 && s[1] <= 0x93)))
            return 0; /* U+2460-U+247F (E2 91) are digits and numbers: dv_circled_digit_ascii */
        *clen = 3;
        return dv_math_ascii(0x2000u | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3Fu));
    }
    if (s[0] != 0xF0 || n < 4 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80 ||
        !((s[1] == 0x9D && s[2] >= 0x90) || (s[1] == 0x9F && s[2] >= 0x84 && s[2] <= 0x86)))
        return 0;
    *clen = 4;
    return dv_math_ascii((uint32_t)(s[1] & 0x3F) << 12 | (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3Fu) | 0x10000u);
}

/* What the character at s[i] (s holds len bytes, i < len) folds to for the ASCII-only detectors: a full-width
 * character, a small form or the ideographic space (dv_width_ascii, 3 bytes), a digit of another script (2 or 3
 * bytes; a date, phone number or ID written `٢٣/٠٤/٢٠٢٠` was no number to the patterns or the date shifter, the
 * i18n audit), a mathematical or enclosed letter or digit (dv_math_fold_char, 3 or 4 bytes), or a circled digit
 * away from other digits (dv_circled_digit_ascii, 3 bytes: its neighbours are why s starts at the text's start);
 * its length in *clen. 0 when it folds to nothing (*clen then unset). */
static inline char dv_width_fold_char(const unsigned char *s, size_t i, size_t len, size_t *clen)
{
    unsigned char c = s[i];
    if (c < 0xD9) /* ASCII and most letters: one comparison */
        return 0;
    if (c == 0xEF || c == 0xE3) {
        *clen = 3;
        return dv_width_ascii(s + i, len - i);
    }
    if (c == 0xD9 || c == 0xDB || c == 0xDF || c == 0xE0 || c == 0xE1)
        return dv_native_digit_ascii(s + i, len - i, clen, NULL);
    if (c != 0xE2 && c != 0xF0)
        return 0;
    if (c == 0xE2 && i + 2 < len && (s[i + 1] == 0x91 || s[i + 1] == 0x93)) {
        char d = dv_circled_digit_ascii(s, i, len);
        if (d) {
            *clen = 3;
            return d;
        }
    }
    return dv_math_fold_char(s + i, len - i, clen);
}

/* The code point of the digit the folded digit at s[i] was written in has as its zero: U+FF10 full width, the
 * zero of another script's or of a mathematical digit set, U+24EA ⓪ for a circled digit; 0 for an ASCII digit
 * or anything else. The date shifter writes a shifted date back in the same digits (dv_width_digit_cp). */
uint32_t dv_width_digit_zero(const unsigned char *s, size_t i, size_t len);

/* The code point that writes digit d (0-9) in the digits whose zero is zero (dv_width_digit_zero's): zero + d,
 * but ① U+2460 to ⑨ U+2468 after ⓪ U+24EA. */
static inline uint32_t dv_width_digit_cp(uint32_t zero, unsigned d)
{
    return zero == 0x24EA && d > 0 ? 0x2460u + d - 1 : zero + d;
}

/* A PersonName delimiter at s (n bytes readable): '^' or '=' as DICOM writes them, or typed full width as a
 * Japanese input method writes them in a PatientName (＾ U+FF3E, ＝ U+FF1D); its length in bytes in *len.
 * 0 for anything else. The one reading of PN delimiters for the deny-list and [CTX] phrases. */
static inline char dv_pn_delim(const unsigned char *s, size_t n, size_t *len)
{
    if (n == 0)
        return 0;
    *len = 1;
    if (s[0] == '^' || s[0] == '=')
        return (char)s[0];
    char c = s[0] == 0xEF ? dv_width_ascii(s, n) : 0;
    *len = 3;
    return c == '^' || c == '=' ? c : 0;
}

/* Fold in[0, len) into out (room for len bytes), each character dv_width_fold_char folds to its ASCII one; at and
 * cum (room for len / 2 entries each: a folded character has 2 to 4 bytes) receive, per folded character in
 * order, its offset IN out and the bytes the fold saved up to and including it (1 to 3 each), and *nat their
 * count. Returns the folded length. No allocation. */
size_t dv_width_fold_into(const char *in, size_t len, char *out, uint32_t *at, uint32_t *cum, size_t *nat);

/* The folding of phrase matching ([CTX], ctx.c): dv_width_fold_into's (full-width ASCII to ASCII, U+3000 to a
 * space, other scripts' digits to ASCII) and half-width katakana to full width with their sound marks composed, as the tokens' keys fold them
 * (tokens.h dv_fold_halfwidth_kana_at), so a phrase meets its other widths. Folds in[0, len) into out (room for
 * len bytes: nothing grows); when orig is not NULL (room for len + 1 entries), orig[k] is the offset in `in` of
 * the character that gave byte k of out, and orig[n] = len, so a span [s, e) of out maps to [orig[s], orig[e]).
 * Returns n, the folded length. No allocation. */
size_t dv_width_fold_map(const char *in, size_t len, char *out, uint32_t *orig);

/* A worker's reusable folded copy (patterns.c keeps one in its scratch). */
typedef struct dv_width_buf {
    char *text;
    uint32_t *at, *cum; /* dv_width_fold_into's */
    size_t cap, len, nat;
} dv_width_buf;

/* The original offset of offset k of b's folded copy: k plus the bytes saved by the folded characters before k.
 * A span [s, e) of the copy maps to [orig(s), orig(e)): from the start of its first original character to the end
 * of its last. */
size_t dv_width_orig(const dv_width_buf *b, size_t k);

/* Fold utf8[0, len) into b, growing its buffers only when a longer text comes (no allocation per call
 * otherwise). Returns the number of folded characters (0: nothing to fold, b->text is a copy anyway), or -1
 * with err set (DV_ERR_NOMEM). */
long dv_width_fold(dv_width_buf *b, const char *utf8, size_t len, dv_error *err);
/* Give back buffers above keep bytes (a one-off huge value should not stay pinned in a worker). */
void dv_width_buf_trim(dv_width_buf *b, size_t keep);
void dv_width_buf_free(dv_width_buf *b);

#endif
