/* Clitic prefixes of Hebrew and Arabic names (clitics.h says which and why). */
#include "text/clitics.h"

#include <stdio.h>
#include <string.h>

#define ALEF_LAM "\xD8\xA7\xD9\x84" /* ال */

/* Are k[0, n) 2-byte letters of [lo, hi] and [lo2, hi2] only? */
static int letters_in(const char *k, size_t n, unsigned lo, unsigned hi, unsigned lo2, unsigned hi2)
{
    if (n == 0 || n % 2)
        return 0;
    for (size_t i = 0; i < n; i += 2) {
        unsigned char a = (unsigned char)k[i], b = (unsigned char)k[i + 1];
        if ((a & 0xE0) != 0xC0 || (b & 0xC0) != 0x80)
            return 0;
        unsigned cp = (unsigned)(a & 0x1F) << 6 | (b & 0x3Fu);
        if (!((cp >= lo && cp <= hi) || (cp >= lo2 && cp <= hi2)))
            return 0;
    }
    return 1;
}

/* fn on prefix + k[0, n). */
static int with_prefix(const char *prefix, const char *k, size_t n,
                       int (*fn)(void *ud, const char *form, size_t len), void *ud)
{
    char form[16 + DV_CLITIC_PART_MAX];
    size_t p = strlen(prefix);
    memcpy(form, prefix, p);
    memcpy(form + p, k, n);
    return fn(ud, form, p + n);
}

static int arabic_forms(const char *k, size_t n, int (*fn)(void *ud, const char *form, size_t len), void *ud)
{
    int had_article = n > 4 && memcmp(k, ALEF_LAM, 4) == 0;
    const char *base = had_article ? k + 4 : k;
    size_t bn = had_article ? n - 4 : n;
    if (bn < 3 * 2)
        return 0;
    /* و ف ب ك + ال, لل, و + لل; and the base or ال + base, whichever the part is not */
    static const char *const article[] = {"\xD9\x88" ALEF_LAM, "\xD9\x81" ALEF_LAM, "\xD8\xA8" ALEF_LAM,
                                          "\xD9\x83" ALEF_LAM, "\xD9\x84\xD9\x84", "\xD9\x88\xD9\x84\xD9\x84"};
    int rc = had_article ? fn(ud, base, bn) : with_prefix(ALEF_LAM, base, bn, fn, ud);
    for (size_t i = 0; rc == 0 && i < sizeof article / sizeof article[0]; i++)
        rc = with_prefix(article[i], base, bn, fn, ud);
    static const char *const single[] = {"\xD9\x88", "\xD9\x81", "\xD8\xA8", "\xD9\x84", "\xD9\x83"}; /* و ف ب ل ك */
    for (size_t i = 0; rc == 0 && bn >= 4 * 2 && i < sizeof single / sizeof single[0]; i++)
        rc = with_prefix(single[i], base, bn, fn, ud);
    return rc;
}

/* Hebrew proclitics stack in one order: the conjunction ו, then the relative ש or כש, then one of the
 * prepositions ב כ ל מ or the article ה (וכשלרוזנבלום "and when to Rosenblum"). Every form of one letter, and ו with
 * one more, for a part of 3 letters or more; the forms with ש or כש, or of three letters, for a part of 4 or more
 * (a 3-letter part with them is too often a word: ש + ב + רון is שברון). */
static int hebrew_forms(const char *k, size_t n, int (*fn)(void *ud, const char *form, size_t len), void *ud)
{
    if (n < 3 * 2)
        return 0;
    static const char *const conj[] = {"", "\xD7\x95"};                          /* ו */
    static const char *const rel[] = {"", "\xD7\xA9", "\xD7\x9B\xD7\xA9"};           /* ש כש */
    static const char *const prep[] = {"", "\xD7\x91", "\xD7\x9B", "\xD7\x9C", "\xD7\x9E", "\xD7\x94"}; /* ב כ ל מ ה */
    int rc = 0;
    for (size_t c = 0; c < 2; c++)
        for (size_t r = 0; r < 3; r++)
            for (size_t p = 0; rc == 0 && p < 6; p++) {
                char prefix[12];
                size_t letters = (c > 0) + (r > 0) + (r == 2) + (p > 0);
                /* the one-letter forms and ו + one (ש as the relative counts as one letter here too) */
                int short_form = letters == 1 || (letters == 2 && c > 0 && r < 2 && !(r && p));
                if (letters == 0 || (!short_form && n < 4 * 2))
                    continue;
                snprintf(prefix, sizeof prefix, "%s%s%s", conj[c], rel[r], prep[p]);
                rc = with_prefix(prefix, k, n, fn, ud);
            }
    return rc;
}

int dv_clitic_forms(const char *k, size_t n, int (*fn)(void *ud, const char *form, size_t len), void *ud)
{
    if (!k || n > DV_CLITIC_PART_MAX)
        return 0;
    /* Arabic letters U+0620-U+064A and U+066E-U+06D3 (not its digits, marks or punctuation) */
    if (letters_in(k, n, 0x620, 0x64A, 0x66E, 0x6D3))
        return arabic_forms(k, n, fn, ud);
    if (letters_in(k, n, 0x5D0, 0x5EA, 0x5D0, 0x5EA))
        return hebrew_forms(k, n, fn, ud);
    return 0;
}
