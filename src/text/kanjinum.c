/* Kanji numerals in dates (kanjinum.h). Chinese and Japanese write a year digit by digit (二〇二四, 二零二四) and a
 * month or day either way (三, 十二, 二十五; or 一二 in forms); both styles are read, and a shifted date is written
 * back in the style of the number it replaces. */
#include <string.h>

#include "text/kanjinum.h"

/* 〇 零 一 二 三 四 五 六 七 八 九 (value: index - 1, 〇 and 零 both 0), then 十 */
static const char *const digit_utf8[] = {"\xe3\x80\x87", "\xe9\x9b\xb6", "\xe4\xb8\x80", "\xe4\xba\x8c",
                                         "\xe4\xb8\x89", "\xe5\x9b\x9b", "\xe4\xba\x94", "\xe5\x85\xad",
                                         "\xe4\xb8\x83", "\xe5\x85\xab", "\xe4\xb9\x9d"};
#define TEN_UTF8 "\xe5\x8d\x81" /* 十 */
#define KANJI_TEN 10

/* The numeral at s: 0-9, KANJI_TEN for 十, -1 for none; *ling when it is 零. Each is 3 bytes. */
static int numeral_at(const char *s, size_t n, int *ling)
{
    if (n < 3)
        return -1;
    if (!memcmp(s, TEN_UTF8, 3))
        return KANJI_TEN;
    for (int k = 0; k < 11; k++)
        if (!memcmp(s, digit_utf8[k], 3)) {
            if (ling)
                *ling = k == 1;
            return k <= 1 ? 0 : k - 1;
        }
    return -1;
}

size_t dv_kanji_number(const char *s, size_t n, long *v, dv_kanji_style *st)
{
    int d[9], any_ling = 0, tens = -1, cnt = 0;
    size_t i = 0;
    *st = (dv_kanji_style){0, 0, 0, 0}; /* every field: a caller copies the style whole */
    while (cnt < 9) {
        int l = 0, x = numeral_at(s + i, n - i, &l);
        if (x < 0)
            break;
        if (x == KANJI_TEN) {
            if (tens >= 0)
                return 0; /* 十十 */
            tens = cnt;
        }
        any_ling |= l;
        d[cnt++] = x;
        i += 3;
    }
    if (cnt == 0 || cnt > 8)
        return 0;
    st->zero_ling = (unsigned char)any_ling;
    st->single = cnt == 1 && tens < 0;
    if (tens < 0) { /* positional: 二〇二四 */
        long x = 0;
        for (int k = 0; k < cnt; k++)
            x = x * 10 + d[k];
        st->counted = 0;
        *v = x;
        return i;
    }
    /* counted: 十 (10), 十五 (15), 二十 (20), 二十五 (25); one digit at most on either side, none of them zero */
    if (tens > 1 || cnt - tens - 1 > 1)
        return 0;
    int hi = tens == 1 ? d[0] : 1, lo = cnt - tens - 1 == 1 ? d[tens + 1] : 0;
    if ((tens == 1 && (hi == 0 || hi == KANJI_TEN)) || (cnt - tens - 1 == 1 && (lo == 0 || lo == KANJI_TEN)))
        return 0;
    st->counted = 1;
    *v = hi * 10L + lo;
    return i;
}

int dv_kanji_has_numeral(const char *s, size_t n)
{
    for (size_t i = 0; i + 3 <= n; i++)
        if (numeral_at(s + i, n - i, NULL) >= 0)
            return 1;
    return 0;
}

static int put(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
    if (n > cap - *o)
        return -1;
    memcpy(out + *o, s, n);
    *o += n;
    return 0;
}

int dv_kanji_date_to_ascii(const char *s, size_t n, char *out, size_t cap, dv_kanji_style *st, size_t max,
                           size_t *nst)
{
    size_t o = 0, k = 0;
    for (size_t i = 0; i < n;) {
        long v;
        dv_kanji_style style;
        size_t used = dv_kanji_number(s + i, n - i, &v, &style);
        if (!used && s[i] >= '0' && s[i] <= '9') { /* an ASCII number: its style says so, its digits stay */
            if (k == max)
                return -1;
            st[k++] = (dv_kanji_style){0, 0, 0, 1};
            while (i < n && s[i] >= '0' && s[i] <= '9')
                if (put(out, cap, &o, s + i++, 1))
                    return -1;
            continue;
        }
        /* a numeral neither style reads (十十, a run of 9 or more digits) is no number to write back: read on from
         * its next byte, the run's tail was taken for a number of its own (一二三四五六七八九〇年 gave 一二34567890年
         * with an 8-digit style; dateshift.c then refused the date only because 一二 was left) */
        if (!used && numeral_at(s + i, n - i, NULL) >= 0)
            return -1;
        if (!used) {
            if (put(out, cap, &o, s + i, 1))
                return -1;
            i++;
            continue;
        }
        if (k == max)
            return -1;
        st[k++] = style;
        char buf[12];
        size_t digits = style.counted ? 0 : used / 3, bl = 0;
        /* a positional number keeps its digit count (〇五 -> 05); a counted one is as many digits as it needs */
        long x = v;
        do {
            buf[sizeof buf - 1 - bl++] = (char)('0' + x % 10);
            x /= 10;
        } while (x && bl < sizeof buf);
        while (bl < digits && bl < sizeof buf)
            buf[sizeof buf - 1 - bl++] = '0';
        if (put(out, cap, &o, buf + sizeof buf - bl, bl))
            return -1;
        i += used;
    }
    *nst = k;
    return (int)o;
}

int dv_kanji_date_from_ascii(const char *a, size_t n, const dv_kanji_style *st, size_t nst, char *out, size_t cap)
{
    size_t runs = 0;
    for (size_t i = 0; i < n; i++)
        runs += a[i] >= '0' && a[i] <= '9' && (i == 0 || a[i - 1] < '0' || a[i - 1] > '9');
    size_t o = 0, k = 0;
    for (size_t i = 0; i < n;) {
        if (a[i] < '0' || a[i] > '9') {
            if (put(out, cap, &o, a + i, 1))
                return -1;
            i++;
            continue;
        }
        size_t j = i;
        long v = 0;
        /* the whole run is one number (its value capped: a run of 10 digits or more is no day, month or era year,
         * and counting it as two runs would shift which style goes to which number) */
        for (; j < n && a[j] >= '0' && a[j] <= '9'; j++)
            v = j - i < 9 ? v * 10 + (a[j] - '0') : 1000000000L;
        size_t from_end = runs - 1 - k++; /* 0 for the last run */
        dv_kanji_style s = {v <= 99, 0, 0, 0};
        if (from_end < nst)
            s = st[nst - 1 - from_end];
        if (s.ascii) {
            if (put(out, cap, &o, a + i, j - i))
                return -1;
            i = j;
            continue;
        }
        if (!s.counted && s.single && j - i > 1 && v <= 99)
            s.counted = 1;
        if (s.counted) {
            if (v < 1 || v > 99)
                return -1;
            if (v >= 20 && put(out, cap, &o, digit_utf8[v / 10 + 1], 3))
                return -1;
            if (v >= 10 && put(out, cap, &o, TEN_UTF8, 3))
                return -1;
            if (v % 10 && put(out, cap, &o, digit_utf8[v % 10 + 1], 3))
                return -1;
        } else {
            for (size_t q = i; q < j; q++) {
                int dgt = a[q] - '0';
                const char *u = dgt == 0 ? digit_utf8[s.zero_ling ? 1 : 0] : digit_utf8[dgt + 1];
                if (put(out, cap, &o, u, 3))
                    return -1;
            }
        }
        i = j;
    }
    return (int)o;
}
