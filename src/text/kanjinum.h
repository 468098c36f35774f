/* Dates written in kanji numerals (二〇二四年三月五日, 令和六年十二月二十五日, 二零二四年三月五号): reading a number
 * and writing one back in the style it was read in. patterns.c finds such dates; dateshift.c shifts them through
 * their ASCII-digit twin (dv_kanji_date_to_ascii) and writes the shifted numbers back as they were written
 * (dv_kanji_date_from_ascii). [test_patterns: test_kanji_numeral_dates; test_text_transform:
 * test_written_date_kanji_numerals] */
#ifndef DV_TEXT_KANJINUM_H
#define DV_TEXT_KANJINUM_H

#include <stddef.h>

/* How a number was written: digit by digit (二〇二四, 一二: positional) or counted with 十 (十二, 二十五); which zero
 * (〇 or 零) a positional one used. */
typedef struct dv_kanji_style {
    unsigned char counted, zero_ling, single; /* single: one digit, which either style writes alike (五) */
    unsigned char ascii; /* a number written in ASCII digits beside kanji ones (2024年三月五日): stays ASCII */
} dv_kanji_style;

/* The kanji number at s (n readable): its value in *v, its style in *st, its length in bytes returned; 0 when s
 * starts no kanji numeral or the numeral is not one of the two styles (十十, 二十〇, more than 8 digits). */
size_t dv_kanji_number(const char *s, size_t n, long *v, dv_kanji_style *st);

/* 1 when s[0, n) holds a kanji numeral (a digit or 十). */
int dv_kanji_has_numeral(const char *s, size_t n);

/* Write s[0, n) with each kanji number as ASCII digits into out (cap bytes); the styles of up to max numbers, kanji
 * and ASCII ones alike, in st[], their count in *nst. Returns the length, or -1 (out too small, more numbers, or a
 * run of numerals that is no number of either style: 十十, more than 8 digits). */
int dv_kanji_date_to_ascii(const char *s, size_t n, char *out, size_t cap, dv_kanji_style *st, size_t max,
                           size_t *nst);

/* Write a[0, n) (ASCII digits) with its runs of digits as kanji into out (cap bytes). The runs take the styles
 * st[0, nst) from the end (the day's, the month's, the year's), so an era year written 元 (no numeral) before
 * them and a shifted one written as a number line up; a run without a style is counted up to 99, positional above.
 * Positional writes each ASCII digit; counted writes 1-99 with 十 (others: -1); a single digit that grew to two
 * is counted (五 -> 十二, not 一二). Returns the length, or -1. */
int dv_kanji_date_from_ascii(const char *a, size_t n, const dv_kanji_style *st, size_t nst, char *out, size_t cap);

#endif
