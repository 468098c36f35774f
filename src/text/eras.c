/* Japanese eras and the Thai Buddhist era (src/text/eras.h). The Japanese eras' first days in the Gregorian
 * calendar; an era ends the day before the next one begins. 明治's years count from 1868, but Japan took the
 * Gregorian calendar on 明治6年1月1日 (1873-01-01): an earlier 明治 date is lunisolar, so no day before 1873 converts
 * either way. */
#include "text/eras.h"

#include <string.h>

static const struct {
    const char *name; /* UTF-8 */
    int y, m, d;      /* first day */
} eras[] = {
    {"\xe6\x98\x8e\xe6\xb2\xbb", 1868, 1, 25}, /* 明治 */
    {"\xe5\xa4\xa7\xe6\xad\xa3", 1912, 7, 30}, /* 大正 */
    {"\xe6\x98\xad\xe5\x92\x8c", 1926, 12, 25}, /* 昭和 */
    {"\xe5\xb9\xb3\xe6\x88\x90", 1989, 1, 8},  /* 平成 */
    {"\xe4\xbb\xa4\xe5\x92\x8c", 2019, 5, 1},  /* 令和 */
};
#define NERAS ((int)(sizeof eras / sizeof eras[0]))
#define GREGORIAN_FROM 18730101L /* day_key of 明治6年1月1日 */
/* An era year past this is a typing error, not a date (令和 has no end yet). */
#define ERA_YEAR_MAX 99

int dv_era_of(const char *s, size_t n, int abbr, size_t *len)
{
    if (!s || n < 3)
        return -1;
    for (int e = 0; e < NERAS; e++)
        if (n >= 6 && !memcmp(s, eras[e].name, 6)) {
            *len = 6;
            return e;
        }
    for (int e = 0; abbr && e < NERAS; e++)
        if (!memcmp(s, eras[e].name, 3)) {
            *len = 3;
            return e;
        }
    return -1;
}

const char *dv_era_name(int era)
{
    return era >= 0 && era < NERAS ? eras[era].name : "";
}

static long day_key(long y, int m, int d)
{
    return y * 10000 + m * 100 + d;
}

static long first_day(int e)
{
    return day_key(eras[e].y, eras[e].m, eras[e].d);
}

int dv_era_to_gregorian(int era, int n, int m, int d, long *y)
{
    if (era < 0 || era >= NERAS || n < 1 || m < 1 || m > 12 || d < 0 || d > 31)
        return -1;
    /* the era's years: 1 to the year the next era began in (平成 1-31, 昭和 1-64), 令和 to ERA_YEAR_MAX. Checked by
     * year, not by day: 平成31年5月1日 is how systems not yet updated wrote 2019-05-01, a real date to find. */
    int last = era + 1 < NERAS ? eras[era + 1].y - eras[era].y + 1 : ERA_YEAR_MAX;
    if (n > last)
        return -1;
    long gy = eras[era].y + n - 1;
    if (day_key(gy, m, d ? d : 31) < GREGORIAN_FROM)
        return -1;
    *y = gy;
    return 0;
}

int dv_era_at(long y, int m, int d, int *era, int *n)
{
    long k = day_key(y, m, d);
    if (k < GREGORIAN_FROM)
        return -1;
    for (int e = NERAS - 1; e >= 0; e--)
        if (k >= first_day(e)) {
            *era = e;
            *n = (int)(y - eras[e].y + 1);
            return 0;
        }
    return -1;
}

int dv_be_to_ce(long be, long *ce)
{
    if (be < 1900 + DV_BE_OFFSET || be > 2099 + DV_BE_OFFSET)
        return -1;
    *ce = be - DV_BE_OFFSET;
    return 0;
}

long dv_be_short_to_ce(int yy)
{
    return 2500L + yy - DV_BE_OFFSET;
}
