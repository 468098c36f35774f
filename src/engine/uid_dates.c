/* Dates inside UIDs (docs/decisions.md "A kept UID holding a date or the patient's ID is regenerated", "Dates inside
 * the UIDs of a kept private value are shifted"). Many writers build UIDs from a date and a time
 * (1.3.12.2.1107.5.2.32.35131.2014031012405855226785388); where the plan changes the dates, such a UID kept as it is
 * gives the true date away, and with it the patient's date shift. The shape alone decides, never an instance's
 * values, so the same UID is treated alike wherever it stands. */
#include <string.h>

#include "engine/dv_plan.h"
#include "text/dv_transform.h"

static int two_digits(const char *p)
{
    return (p[0] - '0') * 10 + (p[1] - '0');
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A calendar date's shape at d (8 digits there): a year 1800-2099, a month 1-12, a day 1-31. */
static int date_shaped(const char *d)
{
    int century = two_digits(d), month = two_digits(d + 4), day = two_digits(d + 6);
    return century >= 18 && century <= 20 && month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

/* GE's root: its UIDs carry the time they were made in Unix seconds (`...3.604688119.971.1583404200.96`:
 * 2020-03-05 10:30 UTC), the study's true date under a shifted StudyDate (stop 51's red team F17). */
#define GE_ROOT "1.2.840.113619."

/* A component that reads as Unix seconds from 1990 to 2037 (631152000, 1990-01-01, <= v < 2145916800, 2038-01-01):
 * 9 digits (before 2001-09-09) or 10, or as such milliseconds, 12 or 13 (GE writes both). Not zero-padded: a
 * component's first digit is never 0 in a valid UID. */
static int epoch_seconds(const char *d, size_t n)
{
    if (n < 9 || n > 13 || n == 11 || d[0] == '0')
        return 0;
    size_t secs = n >= 12 ? n - 3 : n; /* the seconds' digits */
    long long v = 0;
    for (size_t k = 0; k < secs; k++)
        v = v * 10 + (d[k] - '0');
    return v >= 631152000LL && v < 2145916800LL;
}

int dv_uid_holds_date(const char *uid, size_t n)
{
    while (n > 0 && (uid[0] == ' ' || uid[0] == '\0'))
        uid++, n--;
    while (n > 0 && (uid[n - 1] == ' ' || uid[n - 1] == '\0'))
        n--;
    int ge = n > sizeof GE_ROOT - 1 && memcmp(uid, GE_ROOT, sizeof GE_ROOT - 1) == 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && is_digit(uid[j]))
            j++;
        if ((j - i >= 8 && date_shaped(uid + i)) || (ge && epoch_seconds(uid + i, j - i)))
            return 1;
        i = j + 1; /* past the full stop (or whatever is not a digit) */
    }
    return 0;
}

int dv_ui_value_holds_date(const uint8_t *value, size_t len)
{
    for (size_t start = 0; start < len;) {
        const uint8_t *bs = memchr(value + start, '\\', len - start);
        size_t end = bs ? (size_t)(bs - value) : len;
        if (dv_uid_holds_date((const char *)value + start, end - start))
            return 1;
        start = end + 1;
    }
    return 0;
}

/* Is v[0, n) (a run of digits and full stops that starts with a digit and does not end with a full stop) a UID
 * written in a vendor's bytes: single full stops, at least 6 components and 24 bytes (as the text stage's
 * uid_in_text)? Components padded by zeros are allowed, and so is a run longer than a UID (a UID with more
 * components after it: `...35131.2014031012405855226785388.0.0.0.12345678`, the review). */
static int uid_run(const char *v, size_t n)
{
    if (n < 24)
        return 0;
    size_t dots = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '.' && i + 1 < n && v[i + 1] == '.')
            return 0;
        dots += v[i] == '.';
    }
    return dots >= 5;
}

/* The dates in one run v[i, j) of digits and full stops that starts with a digit, shifted into w (w NULL: only
 * counted): how many. */
static size_t shift_run(const uint8_t *v, uint8_t *w, size_t i, size_t j, int days)
{
    size_t end = j, found = 0;
    while (end > i && v[end - 1] == '.') /* a full stop after it ends a sentence */
        end--;
    if (!uid_run((const char *)v + i, end - i))
        return 0;
    for (size_t a = i; a < end;) {
        size_t b = a;
        while (b < end && is_digit((char)v[b]))
            b++;
        char out[8];
        if (b - a >= 8 && date_shaped((const char *)v + a) &&
            dv_shift_da((const char *)v + a, 8, days ? days : 1, out) == 0) {
            if (w)
                memcpy(w + a, out, 8);
            found++;
        }
        a = b + 1;
    }
    return found;
}

static int run_byte(uint8_t c)
{
    return is_digit((char)c) || c == '.';
}

/* dv_uid_dates_shift; with w NULL, only counted. A date is 8 digits in a row, and any 8 bytes in a row hold one
 * whose offset is 7 modulo 8, so only those are looked at first; where one is a digit, the whole run of digits and
 * full stops around it (its leading full stops left out) is the run a walk over every byte would have cut there.
 * A run without 8 digits in a row counts nothing either way. (Kept private values up to BLOB_DATES_MAX are
 * counted here: every byte looked at cost 4 % of the shared corpus's instructions under DEIDENTIFY_TAG_CONTENTS.) */
static size_t shift_dates(const uint8_t *v, uint8_t *w, size_t n, int days)
{
    size_t found = 0;
    for (size_t p = 7; p < n; p += 8) {
        if (!is_digit((char)v[p]))
            continue;
        size_t i = p, j = p + 1;
        while (i > 0 && run_byte(v[i - 1]))
            i--;
        while (v[i] == '.') /* stops at p at the latest: a digit */
            i++;
        while (j < n && run_byte(v[j]))
            j++;
        found += shift_run(v, w, i, j, days);
        p = (j & ~(size_t)7) - 1; /* the next offset 7 modulo 8 at or after j, once the loop adds 8 */
    }
    return found;
}

size_t dv_uid_dates_count(const uint8_t *v, size_t n)
{
    return shift_dates(v, NULL, n, 0);
}

size_t dv_uid_dates_shift(uint8_t *v, size_t n, int days)
{
    return shift_dates(v, v, n, days);
}
