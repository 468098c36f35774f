/* Month names in English, German, French and Thai: one table for the date detectors (patterns.c dv_month_of, and
 * through it the pixel classifier), the date shifter (dateshift.c), which writes a shifted date back in the
 * language, form and case it was found in, and the deny-list's written forms of a date (denylist.c, English).
 * Each word carries its language, its month and its written form. Thai abbreviations are stored without their
 * final full stop (`เม.ย` of `เม.ย.`): the date patterns and the shifter read that stop as punctuation after the
 * word, as they read `Sept.`; Thai records write years in the Buddhist era (eras.h dv_be_to_ce).
 * [test_patterns: test_date, test_month_words_are_dates; test_text_transform: test_written_date_german_french] */
#ifndef DV_TEXT_MONTHS_H
#define DV_TEXT_MONTHS_H

#include <stddef.h>

enum { DV_MONTH_EN, DV_MONTH_DE, DV_MONTH_FR, DV_MONTH_TH, DV_MONTH_LANGS };
/* FULL and ABBR: the forms a shifted date is written in (one of each per language and month, except the English
 * abbreviations, which the shifter writes as the full name's first 3 letters). VARIANT: read, never written:
 * ASCII spellings of accented names (maerz, fevrier, aout, decembre) and Austrian Jänner. */
enum { DV_MONTH_FULL, DV_MONTH_ABBR, DV_MONTH_VARIANT };

typedef struct dv_month_word {
    const char *word; /* lower case, UTF-8 */
    unsigned char lang, month, form; /* month 1..12 */
} dv_month_word;

/* The table: every entry, and their count. The longest word is shorter than DV_MONTH_WORD_MAX bytes. */
extern const dv_month_word dv_month_words[];
extern const size_t dv_month_words_n;
#define DV_MONTH_WORD_MAX 32 /* Thai กุมภาพันธ์: 30 bytes */

/* w[0, n) in lower case into out (room for n): ASCII letters, and the Latin-1 capitals of UTF-8 (C3 80..9E). */
void dv_month_lower(const char *w, size_t n, char *out);
/* The first entry whose word is w[0, n) in any case, of language lang and form form (-1: any), or NULL. */
const dv_month_word *dv_month_find(const char *w, size_t n, int lang, int form);
/* The word for month m (1..12) in lang and form (FULL or ABBR), or NULL. */
const char *dv_month_name(int lang, int form, int m);

#endif
