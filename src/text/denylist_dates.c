/* The written forms of a deny-listed date (dl_date_forms): one table of patterns, one formatter. */
#include <stddef.h>
#include <string.h>

#include "text/denylist_internal.h"
#include "text/eras.h"
#include "text/months.h"

/* The patterns, in the order the list takes them. A letter stands for a part of the date, a space for the one
 * space the deny-list's folded keys have between words (any of / - . , and space in the text):
 *   Y year (4 digits)   y its last two digits (2)   B the Thai Buddhist era's year (Y + 543)
 *   M month (2 digits)  m month (no zero)           D day (2 digits)   d day (no zero)
 *   N the English month name   A its first three letters   S the day's ordinal suffix (ST ND RD TH)
 *   T `SEPT` (September only: the four-letter abbreviation some write) */
static const char *const patterns[] = {
    "YMD", "Y M D", "Y m d", "D M Y", "d m Y", "M D Y", "m d Y", "D M y", "M D y", "DMY", "MDY",
    "d A Y", "D A Y", "d N Y", "D N Y", "dS N Y", "dS A Y", "N d Y", "N D Y", "A d Y", "N dS Y", "A dS Y",
    "d A y",
    /* two-digit years: year first (61 03 14), compact (610314, 140361, 031461), without zero padding
     * (3 14 61, 14 3 61, 61 3 14) */
    "y M D", "yMD", "DMy", "MDy", "m d y", "d m y", "y m d", "Y A D",
    /* September's other abbreviation */
    "d T Y", "T d Y",
    /* the Thai solar calendar's Buddhist era (eras.h), which Thai records write birth dates in: 23/04/2504 for
     * 1961-04-23 (the i18n audit: kept) */
    "D M B", "d m B", "B M D"};

_Static_assert(sizeof patterns / sizeof patterns[0] <= DL_DATE_FORMS_MAX, "room for every form");

/* v in decimal, at least width digits (zeros before it); v >= 0. */
static size_t put_int(char *o, int v, int width)
{
    char t[12];
    int n = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0 && n < (int)sizeof t);
    while (n < width && n < (int)sizeof t)
        t[n++] = '0';
    for (int i = 0; i < n; i++)
        o[i] = t[n - 1 - i];
    return (size_t)n;
}

static size_t put_str(char *o, const char *s)
{
    size_t n = strlen(s);
    memcpy(o, s, n);
    return n;
}

size_t dl_date_forms(int y, int m, int d, char forms[DL_DATE_FORMS_MAX][DL_DATE_FORM_BYTES])
{
    if (y < 0 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
        return 0;
    /* the English name (months.c) in the upper case of the deny-list's keys */
    const char *name = dv_month_name(DV_MONTH_EN, DV_MONTH_FULL, m);
    char mon[DV_MONTH_WORD_MAX], mon3[4];
    size_t ml = strlen(name);
    for (size_t i = 0; i <= ml && i < sizeof mon; i++)
        mon[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 0x20 : name[i]);
    mon[sizeof mon - 1] = '\0';
    memcpy(mon3, mon, 3);
    mon3[3] = '\0';
    const char *sfx = (d % 10 == 1 && d != 11) ? "ST" : (d % 10 == 2 && d != 12) ? "ND"
                      : (d % 10 == 3 && d != 13) ? "RD" : "TH";
    size_t nf = 0;
    for (size_t p = 0; p < sizeof patterns / sizeof patterns[0]; p++) {
        if (strchr(patterns[p], 'T') && m != 9)
            continue;
        char *o = forms[nf];
        size_t n = 0;
        for (const char *c = patterns[p]; *c; c++) {
            switch (*c) {
            case 'Y': n += put_int(o + n, y, 4); break;
            case 'y': n += put_int(o + n, y % 100, 2); break;
            case 'B': n += put_int(o + n, y + DV_BE_OFFSET, 4); break;
            case 'M': n += put_int(o + n, m, 2); break;
            case 'm': n += put_int(o + n, m, 1); break;
            case 'D': n += put_int(o + n, d, 2); break;
            case 'd': n += put_int(o + n, d, 1); break;
            case 'N': n += put_str(o + n, mon); break;
            case 'A': n += put_str(o + n, mon3); break;
            case 'S': n += put_str(o + n, sfx); break;
            case 'T': n += put_str(o + n, "SEPT"); break;
            default: o[n++] = *c; break;
            }
        }
        o[n] = '\0';
        nf++;
    }
    return nf;
}
