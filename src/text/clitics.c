/* Clitic prefixes of Hebrew and Arabic names (clitics.h says which and why). */
#include "text/clitics.h"

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

static int hebrew_forms(const char *k, size_t n, int (*fn)(void *ud, const char *form, size_t len), void *ud)
{
    if (n < 3 * 2)
        return 0;
    /* ו ה ב כ ל מ ש, then ו before each of the others */
    static const char *const one[] = {"\xD7\x95", "\xD7\x94", "\xD7\x91", "\xD7\x9B", "\xD7\x9C", "\xD7\x9E", "\xD7\xA9"};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof one / sizeof one[0]; i++)
        rc = with_prefix(one[i], k, n, fn, ud);
    for (size_t i = 1; rc == 0 && i < sizeof one / sizeof one[0]; i++) {
        char two[5];
        memcpy(two, one[0], 2);
        memcpy(two + 2, one[i], 2);
        two[4] = '\0';
        rc = with_prefix(two, k, n, fn, ud);
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
