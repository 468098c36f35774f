/* Japanese era dates (令和2年3月5日): which era a name is, and the conversion between an era year and the
 * Gregorian calendar (patterns.c finds such dates, dateshift.c shifts them and writes the shifted date back in
 * its own era). docs/text-detectors.md "DATE". [test_patterns: test_cjk_eras_and_year_less; test_text_transform:
 * test_written_date_cjk_and_full_width] */
#ifndef DV_TEXT_ERAS_H
#define DV_TEXT_ERAS_H

#include <stddef.h>

/* The era whose name starts s (n readable), or -1: its two kanji (6 bytes of UTF-8: 明治 大正 昭和 平成 令和), or
 * with abbr its first kanji alone (明 大 昭 平 令, 3 bytes: 平31年). The name's length in bytes in *len. */
int dv_era_of(const char *s, size_t n, int abbr, size_t *len);
/* The era's name in UTF-8 (6 bytes, NUL-terminated); era from dv_era_of or dv_era_at. */
const char *dv_era_name(int era);
/* Year n (1 = 元年) of era, month m, day d (0: the month) as a Gregorian year in *y: 0 when n is one of the
 * era's years (1 to the year the next era began in: 平成 1-31, so 平成31年5月1日, as systems not yet updated
 * wrote 2019-05-01, is a date), -1 otherwise (平成32年). Days before 1873 (明治 1-5 counted the lunisolar
 * calendar: 明治5年3月5日 is no Gregorian date) are -1 too. The day itself is not checked against its month. */
int dv_era_to_gregorian(int era, int n, int m, int d, long *y);
/* The era of Gregorian date y-m-d and its year in that era (*n, 1 = 元年): 0, or -1 before 1873. */
int dv_era_at(long y, int m, int d, int *era, int *n);

/* The Thai solar calendar counts years in the Buddhist era (BE = Gregorian + 543: 2563 is 2020), and Thai records
 * write dates so (23/04/2563, 23 เม.ย. 2563). A four-digit year is read as BE when it is one of the years of
 * 1900-2099 in BE (2443-2642; the detectors' Gregorian years are 1900-2099 too): its Gregorian year in *ce, 0;
 * -1 for any other year. [test_patterns: test_thai_dates; test_text_transform: test_written_date_thai] */
#define DV_BE_OFFSET 543
int dv_be_to_ce(long be, long *ce);
/* A short year yy (0-99) as Thai writes one, the Buddhist era's 25yy: its Gregorian year (`63` is 2020). */
long dv_be_short_to_ce(int yy);

#endif
