/* The check-digit and validity rules of the pattern detectors (docs/text-detectors.md), on ASCII digits
 * or alphanumerics already stripped of separators. Pure functions: no state, no allocation. */
#ifndef DV_TEXT_CHECKSUMS_H
#define DV_TEXT_CHECKSUMS_H

#include <stddef.h>

/* Luhn (ISO/IEC 7812-1) over n digits: 1 when the last digit checks. */
int dv_luhn_ok(const char *digits, size_t n);
/* A payment card: 12-19 digits, Luhn, and a known issuer prefix (IIN) with a length it issues. */
int dv_card_ok(const char *digits, size_t n);
/* US NPI: 10 digits starting 1 or 2, Luhn over the prefix 80840 + the digits. */
int dv_npi_ok(const char *digits, size_t n);
/* NHS number: 10 digits, modulus 11 with weights 10..2; a check value of 10 is invalid; all-equal refused. */
int dv_nhs_ok(const char *digits, size_t n);
/* SSN: 9 digits, area not 000, 666 or 9xx; group not 00; serial not 0000. */
int dv_ssn_ok(const char *digits, size_t n);
/* IBAN length of a country code (2 upper-case letters), 0 when unknown. */
int dv_iban_length(const char *cc);
/* IBAN: country length table and ISO 7064 mod 97 == 1, over n upper-case alphanumerics. */
int dv_iban_ok(const char *s, size_t n);
/* A calendar date: month 1-12, day within the month (leap years by the Gregorian rule). */
int dv_date_ok(int y, int m, int d);
/* The year a two-digit year yy (0-99) stands for: 00-49 = 20xx, 50-99 = 19xx (docs/text.md). The one rule for
 * the detector's calendar check and the shifter's reading and writing back. */
int dv_two_digit_year(int yy);
/* A US ZIP code's first three digits zip[0..2] are ones state st[0..1] (its USPS code, upper case) uses: a
 * `City ST 12345` without a comma is an address only then (patterns.c). [test_patterns: test_us_city_state_zip] */
int dv_us_zip_state_ok(const char *st, const char *zip);

#endif
