/* Pattern detectors (issue 6 item 2): dates, ages, times, phone numbers, e-mail, URL, IP and MAC addresses,
 * SSN, payment cards, IBAN, NPI, NHS numbers, record numbers and street addresses, found with PCRE2
 * patterns (compiled once, JIT) plus checksum and context rules in C. What each one matches and why:
 * docs/text-detectors.md. Findings carry detector DV_DET_PATTERN. */
#ifndef DV_TEXT_PATTERNS_H
#define DV_TEXT_PATTERNS_H

#include "text/dv_text.h"

/* The compiled patterns: immutable after dv_patterns_new, shared by every worker (no lock needed). */
typedef struct dv_patterns dv_patterns;
/* One worker's mutable matching state (PCRE2 match data, small buffers): never shared between threads. */
typedef struct dv_text_scratch dv_text_scratch;

/* NULL with err set (DV_ERR_NOMEM, or DV_ERR_UNSUPPORTED when PCRE2 refuses a pattern). Caller frees. */
dv_patterns *dv_patterns_new(dv_error *err);
void dv_patterns_free(dv_patterns *p);

/* A worker's scratch, usable with any dv_patterns. NULL with err set on allocation failure. */
dv_text_scratch *dv_text_scratch_new(dv_error *err);
void dv_text_scratch_free(dv_text_scratch *s);
/* Tests only: with on, every pattern scans every value (the pre-filters of prefilter.h are not consulted), so a
 * test can compare the findings with and without them. [test_patterns: test_prefilter_same_findings] */
void dv_text_scratch_set_exhaustive(dv_text_scratch *s, int on);

/* Append to out the findings of the infoTypes in want found in utf8[0, len). Invalid UTF-8 bytes never
 * match (they act as separators). Spans lie on code point boundaries. out is NOT normalised (other
 * detectors add to it first; the caller calls dv_findings_normalise). Returns 0, or -1 with err set:
 * DV_ERR_LIMIT when len exceeds DV_PATTERNS_MAX_TEXT, a match hit PCRE2's match limit, or out is full;
 * DV_ERR_NOMEM. Reads nothing else, logs nothing. */
#define DV_PATTERNS_MAX_TEXT (64u * 1024u * 1024u)
int dv_detect_patterns(const dv_patterns *p, dv_text_scratch *s, const char *utf8, size_t len,
                       dv_infotype_set want, dv_findings *out, dv_error *err);

/* The month (1-12) a month name w[0, n) names, 0 when it names none: English, German and French, full names
 * and the usual abbreviations (the MON pattern's list), any case, Latin-1 capitals in UTF-8 too. The one list
 * of month names is months.c's table (the date shifter reads it too); the pixel classifier's date shapes read
 * it through this function. [test_patterns: test_date] */
int dv_month_of(const char *w, size_t n);

#endif
