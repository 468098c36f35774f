/* Date shifting (DECISIONS 12): the per-patient shift, DA values, and dates written in free text rewritten in
 * the format they were found in. Calendar arithmetic is proleptic Gregorian via day numbers (civil <-> days),
 * so month and leap-year boundaries are exact. docs/text.md "Date shift". */
#include "text/dv_transform.h"
#include "text/widthfold.h"
#include "text/eras.h"
#include "text/kanjinum.h"
#include "text/months.h"
#include "text/checksums.h"
#include "util/dv_utf8.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Domain label: the UID HMAC (uid.c) is HMAC(key, uid) and its first 128 bits are published as the new UID;
 * without a label, a patient without PatientID would have its shift readable from the new StudyInstanceUID. */
static const char SHIFT_LABEL[] = "dicomveil date shift";

int dv_date_shift_days(const uint8_t *key, size_t key_len, const char *id, size_t id_len)
{
    if (!key || key_len == 0 || key_len > 1024 || id_len > 65536)
        return 0;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    unsigned char *msg = malloc(sizeof SHIFT_LABEL + id_len + 1); /* the label with its NUL, then the id */
    if (!msg)
        return 0;
    memcpy(msg, SHIFT_LABEL, sizeof SHIFT_LABEL);
    if (id && id_len)
        memcpy(msg + sizeof SHIFT_LABEL, id, id_len);
    int ok = HMAC(EVP_sha256(), key, (int)key_len, msg, sizeof SHIFT_LABEL + (id ? id_len : 0), md, &mdlen) &&
             mdlen >= 4;
    free(msg);
    if (!ok)
        return 0;
    uint32_t v = ((uint32_t)md[0] << 24) | ((uint32_t)md[1] << 16) | ((uint32_t)md[2] << 8) | md[3];
    int r = (int)(v % 200u); /* 0..199 -> -100..-1, 1..100: never zero */
    return r < 100 ? -(r + 1) : r - 99;
}

/* Days since 1970-01-01 of a civil date and back (Howard Hinnant's algorithms, public domain). */
static long days_from_civil(long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long)doe - 719468;
}

static void civil_from_days(long z, long *y, unsigned *m, unsigned *d)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long yy = (long)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

/* The calendar rule is dv_date_ok's (src/text/checksums.c, its one home); the range check first keeps a long
 * year or an unsigned month from wrapping into a valid int on the way there. */
static int valid_date(long y, unsigned m, unsigned d)
{
    return y >= 1 && y <= 9999 && m <= 12 && d <= 31 && dv_date_ok((int)y, (int)m, (int)d);
}

/* Shift a valid date; 0, or -1 when the result leaves years 1..9999. */
static int shift(long *y, unsigned *m, unsigned *d, int days)
{
    civil_from_days(days_from_civil(*y, *m, *d) + days, y, m, d);
    return *y >= 1 && *y <= 9999 ? 0 : -1;
}

static int digits(const char *s, size_t n, long *v)
{
    long x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 0;
}

int dv_shift_da(const char *in, size_t len, int days, char out[8])
{
    long y, m, d;
    if (len != 8 || digits(in, 4, &y) || digits(in + 4, 2, &m) || digits(in + 6, 2, &d) ||
        !valid_date(y, (unsigned)m, (unsigned)d))
        return -1;
    unsigned um = (unsigned)m, ud = (unsigned)d;
    if (shift(&y, &um, &ud, days))
        return -1;
    char tmp[16];
    snprintf(tmp, sizeof tmp, "%04ld%02u%02u", y, um, ud);
    memcpy(out, tmp, 8);
    return 0;
}

/* ---- dates written in free text ---- */

/* English month m (1..12), full name (months.c). */
#define MONTHS(m) dv_month_name(DV_MONTH_EN, DV_MONTH_FULL, (int)(m))

/* The month a word names (full name, or an abbreviation of at least 3 letters, e.g. "Sept"), 1..12, or 0. */
static unsigned month_of(const char *w, size_t n)
{
    if (n < 3 || n > 9)
        return 0;
    for (unsigned i = 0; i < 12; i++) {
        const char *name = MONTHS(i + 1);
        size_t ml = strlen(name);
        if (n > ml)
            continue;
        size_t k = 0;
        while (k < n && tolower((unsigned char)w[k]) == name[k])
            k++;
        if (k == n)
            return i + 1;
    }
    return 0;
}

/* German and French month names as written (months.c's table, which dv_month_of in patterns.c reads too), so a
 * shifted date is written in the language, form and case it was found in. A word two languages share is told
 * apart by the date's own marks (month_lang). ASCII spellings (maerz, fevrier, aout, decembre) and Austrian
 * Jänner are read (DV_MONTH_VARIANT); a month found in ASCII is written in ASCII (name_as_written). */
enum { LANG_EN = DV_MONTH_EN, LANG_DE = DV_MONTH_DE, LANG_FR = DV_MONTH_FR };

/* The month w[0, n) names in German or French (lang), 1..12, or 0; *abbr when only the abbreviation is it (a
 * word that is both, as `mars` or `mai`, is the full name; a variant spelling is a full name too). */
static unsigned month_in(int lang, const char *w, size_t n, int *abbr)
{
    static const int forms[] = {DV_MONTH_FULL, DV_MONTH_ABBR, DV_MONTH_VARIANT};
    for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
        const dv_month_word *e = dv_month_find(w, n, lang, forms[f]);
        if (e) {
            *abbr = forms[f] == DV_MONTH_ABBR;
            return e->month;
        }
    }
    return 0;
}

/* Any language's month: English first (the form the rest of this file knew: any prefix of 3 letters or more of
 * a full name), then any word of the table (German and French; its English words are such prefixes already). */
static unsigned any_month(const char *w, size_t n)
{
    unsigned m = month_of(w, n);
    if (!m) {
        const dv_month_word *e = dv_month_find(w, n, -1, -1);
        m = e ? e->month : 0;
    }
    return m;
}

/* Bytes of the letter at s[i] (n readable): an ASCII letter, or a 2-byte Latin-1 letter (ä é û). 0: none. */
static size_t letter_len(const char *s, size_t n, size_t i)
{
    unsigned char c = (unsigned char)s[i];
    if (isalpha(c))
        return 1;
    return c == 0xC3 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] <= 0xBF ? 2 : 0;
}

/* The CJK year, month and day marks (年 月 日 号, Korean 년 월 일): separators kept as written, so 2020年3月5日 reads
 * as year, month, day in ISO order. Returns the mark's length in bytes at s (n readable), or 0. */
static size_t cjk_mark(const char *s, size_t n)
{
    static const char *const marks[] = {"\xe5\xb9\xb4", "\xe6\x9c\x88", "\xe6\x97\xa5", /* 年 月 日 */
                                        "\xe5\x8f\xb7",                                   /* Chinese 号 */
                                        "\xeb\x85\x84", "\xec\x9b\x94", "\xec\x9d\xbc"}; /* 년 월 일 */
    if (n < 3)
        return 0;
    for (size_t k = 0; k < sizeof marks / sizeof marks[0]; k++)
        if (!memcmp(s, marks[k], 3))
            return 3;
    return 0;
}

/* TK_ERA: a Japanese era name (num: its eras.c index); the era's year follows as a TK_NUM, or as 元 (year 1:
 * a TK_NUM of num 1 written as the kanji). */
typedef enum { TK_NUM, TK_MONTH, TK_ORD, TK_SEP, TK_ERA } tok_kind;
typedef struct tok {
    tok_kind kind;
    size_t off, len;
    long num;
} tok;
#define MAX_TOKS 16
#define GAN "\xe5\x85\x83" /* 元 */

/* Thai words of a date (months.c, eras.h) at s (n readable), the longest: a month name (TK_MONTH, its month in
 * num; an abbreviation without its final stop, which the separator after it reads), or the word เดือน (month) or
 * an era mark พ.ศ / ค.ศ (TK_SEP, num 1: Buddhist era, 2: Common Era, 0: neither). Returns its length, or 0. */
#define TH_MONTH_WORD "\xe0\xb9\x80\xe0\xb8\x94\xe0\xb8\xb7\xe0\xb8\xad\xe0\xb8\x99" /* เดือน */
#define TH_BE "\xe0\xb8\x9e.\xe0\xb8\xa8"                                       /* พ.ศ */
#define TH_CE "\xe0\xb8\x84.\xe0\xb8\xa8"                                       /* ค.ศ */
static size_t thai_word(const char *s, size_t n, tok *t)
{
    size_t best = 0;
    if (n < 3 || (unsigned char)s[0] != 0xE0)
        return 0;
    for (size_t k = 0; k < dv_month_words_n; k++) {
        const dv_month_word *e = &dv_month_words[k];
        size_t l = strlen(e->word);
        if (e->lang == DV_MONTH_TH && l > best && l <= n && !memcmp(s, e->word, l)) {
            best = l;
            t->kind = TK_MONTH;
            t->num = e->month;
        }
    }
    static const struct {
        const char *w;
        long num;
    } seps[] = {{TH_MONTH_WORD, 0}, {TH_BE, 1}, {TH_CE, 2}};
    for (size_t k = 0; !best && k < sizeof seps / sizeof seps[0]; k++)
        if (strlen(seps[k].w) <= n && !memcmp(s, seps[k].w, strlen(seps[k].w))) {
            best = strlen(seps[k].w);
            t->kind = TK_SEP;
            t->num = seps[k].num;
        }
    return best;
}

static int tokenize(const char *s, size_t n, tok *t, size_t *nt)
{
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        if (k == MAX_TOKS)
            return -1;
        size_t j = i, mark;
        if (isdigit((unsigned char)s[i])) {
            while (j < n && isdigit((unsigned char)s[j]))
                j++;
            if (j - i > 8)
                return -1;
            t[k].kind = TK_NUM;
            digits(s + i, j - i, &t[k].num);
        } else if (letter_len(s, n, i)) {
            size_t l;
            while (j < n && (l = letter_len(s, n, j)) != 0)
                j += l;
            int after_num = k > 0 && t[k - 1].kind == TK_NUM && t[k - 1].off + t[k - 1].len == i;
            if (after_num && j - i == 2) {
                t[k].kind = TK_ORD; /* 1st, 2nd, 3rd, 4th; French 1er */
            } else if ((t[k].num = any_month(s + i, j - i)) != 0) {
                t[k].kind = TK_MONTH;
            } else {
                return -1;
            }
        } else if ((mark = thai_word(s + i, n - i, &t[k])) != 0) {
            j = i + mark;
        } else if (strchr(" ,-/.'", s[i]) && s[i]) { /* the apostrophe: only before a year (apostrophe_ok) */
            while (j < n && strchr(" ,-/.'", s[j]) && s[j])
                j++;
            t[k].kind = TK_SEP;
            t[k].num = 0;
        } else if ((mark = cjk_mark(s + i, n - i)) != 0) {
            j = i + mark;
            t[k].kind = TK_SEP;
            t[k].num = 0;
        } else if (k == 0 && (t[k].num = dv_era_of(s + i, n - i, 1, &mark)) >= 0) {
            j = i + mark; /* 令和, or 令 alone */
            t[k].kind = TK_ERA;
        } else if (k > 0 && n - i >= 3 && !memcmp(s + i, GAN, 3)) {
            j = i + 3;
            t[k].kind = TK_NUM;
            t[k].num = 1;
        } else {
            return -1;
        }
        t[k].off = i;
        t[k].len = j - i;
        k++;
        i = j;
    }
    *nt = k;
    return 0;
}

/* An apostrophe stands only for a two-digit year's century (`Mar. 5, '20`, `5 Mar '20`): once, as the last
 * character of the separator right before the year, the date's last field, in a date with a month name (yi: the
 * year's token, month_word: a month name was read). Anywhere else (`'5 Mar 20`, `03/05/'20`) it is no date. */
static int apostrophe_ok(const char *in, const tok *t, size_t nt, int yi, int month_word)
{
    for (size_t i = 0; i < nt; i++) {
        if (t[i].kind != TK_SEP || !memchr(in + t[i].off, '\'', t[i].len))
            continue;
        const char *a = memchr(in + t[i].off, '\'', t[i].len);
        if ((int)i + 1 != yi || (size_t)yi + 1 != nt || month_word < 0 || t[yi].len != 2 ||
            a != in + t[i].off + t[i].len - 1)
            return 0;
    }
    return 1;
}

static int put(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
    if (*o + n > cap)
        return -1;
    memcpy(out + *o, s, n);
    *o += n;
    return 0;
}

static const char *ordinal(unsigned d)
{
    if (d % 100 >= 11 && d % 100 <= 13)
        return "th";
    return d % 10 == 1 ? "st" : d % 10 == 2 ? "nd" : d % 10 == 3 ? "rd" : "th";
}

/* The letter case of word o[0, on): 2 ALL CAPS (two letters or more, none lower case), 1 Capitalised, 0 lower.
 * Latin-1 letters in UTF-8 (C3 80..9E upper, C3 A0..BE lower) count as letters. */
static int case_of(const char *o, size_t on)
{
    int letters = 0, lower = 0, first_upper = -1;
    for (size_t i = 0; i < on; i++) {
        unsigned char c = (unsigned char)o[i];
        int up = isupper(c) != 0, lo = islower(c) != 0;
        if (c == 0xC3 && i + 1 < on) {
            unsigned char d = (unsigned char)o[++i];
            up = d >= 0x80 && d <= 0x9E;
            lo = d >= 0xA0 && d <= 0xBE;
        }
        if (!up && !lo)
            continue;
        if (first_upper < 0)
            first_upper = up;
        letters++;
        lower |= lo;
    }
    return letters >= 2 && !lower ? 2 : first_upper == 1;
}

/* Write word w in the letter case of the original orig (ALL CAPS, Capitalised or lower). */
static void recase(char *w, size_t n, const char *orig, size_t on)
{
    int cs = case_of(orig, on);
    for (size_t i = 0, letter = 0; i < n; i++, letter++) {
        int up = cs == 2 || (cs == 1 && letter == 0);
        unsigned char c = (unsigned char)w[i];
        if (c == 0xC3 && i + 1 < n) {
            unsigned char d = (unsigned char)w[i + 1];
            w[++i] = (char)(up && d >= 0xA0 && d <= 0xBE ? d - 0x20 : !up && d >= 0x80 && d <= 0x9E ? d + 0x20 : d);
            continue;
        }
        w[i] = (char)(up ? toupper(c) : tolower(c));
    }
}

/* Month name into buf (room for 16): as the table has it, or, when the original word orig was an ASCII spelling
 * of a name with an accent (maerz, fevrier, aout, decembre: its writer avoids them), in ASCII too (ä -> ae,
 * é -> e, û -> u). `Februar` says nothing of the writer: `März` follows it. Returns the length. */
static size_t name_as_written(const char *name, const char *orig, size_t on, char *buf)
{
    const dv_month_word *v = dv_month_find(orig, on, -1, DV_MONTH_VARIANT);
    int ascii = v && (unsigned char)v->word[1] < 0x80;
    size_t o = 0;
    for (size_t i = 0; name[i]; i++) {
        if (ascii && (unsigned char)name[i] == 0xC3 && name[i + 1]) {
            unsigned char d = (unsigned char)name[++i];
            if (d == 0xA4) {
                buf[o++] = 'a';
                buf[o++] = 'e';
            } else {
                buf[o++] = d == 0xBB ? 'u' : 'e'; /* û, and é (the tables hold no other letter) */
            }
            continue;
        }
        buf[o++] = name[i];
    }
    return o;
}

/* The language a month word mi is written in (mi, di: token indexes): the only one that names it, else the
 * date's marks decide: a day written `25.` is German, `1er` French, a lower-case month after its day French
 * (German and English capitalise months); else English when the word is an English name or its 3-letter
 * abbreviation, else German. *abbr: the word is the language's abbreviation. */
static int month_lang(const char *in, const tok *t, size_t nt, int mi, int di, int *abbr)
{
    const char *w = in + t[mi].off;
    size_t n = t[mi].len;
    int de_abbr = 0, fr_abbr = 0;
    int en = month_of(w, n) != 0, de = month_in(LANG_DE, w, n, &de_abbr) != 0, fr = month_in(LANG_FR, w, n, &fr_abbr) != 0;
    int en_exact = en && (n == 3 || n == strlen(MONTHS(t[mi].num)));
    int day_dot = t[di].off + t[di].len < t[mi].off && in[t[di].off + t[di].len] == '.'; /* in bounds: mi follows */
    int day_er = (size_t)di + 1 < nt && t[di + 1].kind == TK_ORD && tolower((unsigned char)in[t[di + 1].off]) == 'e';
    int lower = islower((unsigned char)w[0]) && di < mi;
    int lang = de && day_dot        ? LANG_DE
               : fr && day_er       ? LANG_FR
               : fr && lower        ? LANG_FR
               : en && (en_exact || (!de && !fr)) ? LANG_EN
               : de                 ? LANG_DE
               : fr                 ? LANG_FR
                                    : LANG_EN;
    *abbr = lang == LANG_DE ? de_abbr : lang == LANG_FR ? fr_abbr : 0;
    return lang;
}

/* n digits at s whose value is at most max. */
static int field_at_most(const char *s, size_t n, long max)
{
    long v;
    return digits(s, n, &v) == 0 && v <= max;
}

/* Is in[0, len) a compact date-time as DICOM's DT and HL7's TS write it: YYYYMMDD, then HH, HHMM or HHMMSS (a
 * fraction of 1 to 6 digits after the seconds), then optionally a UTC offset &HHMM? At least one part after the
 * date (a bare YYYYMMDD is a DA). */
static int compact_dt(const char *in, size_t len)
{
    size_t i = 8;
    long date;
    if (len <= 8 || digits(in, 8, &date) != 0)
        return 0;
    size_t n = 0;
    while (i + n < len && in[i + n] >= '0' && in[i + n] <= '9')
        n++;
    if (n != 0 && n != 2 && n != 4 && n != 6)
        return 0;
    if ((n >= 2 && !field_at_most(in + 8, 2, 23)) || (n >= 4 && !field_at_most(in + 10, 2, 59)) ||
        (n == 6 && !field_at_most(in + 12, 2, 60)))
        return 0;
    i += n;
    if (n == 6 && i < len && in[i] == '.') {
        size_t f = 0;
        while (i + 1 + f < len && in[i + 1 + f] >= '0' && in[i + 1 + f] <= '9')
            f++;
        if (f == 0 || f > 6)
            return 0;
        i += 1 + f;
    }
    if (i < len && (in[i] == '+' || in[i] == '-')) {
        if (len - i != 5 || !field_at_most(in + i + 1, 2, 14) || !field_at_most(in + i + 3, 2, 59))
            return 0;
        i += 5;
    }
    return i == len;
}

/* An ISO 8601 ordinal date, YYYY-DDD (`2020-065`), as the detector reads it (patterns.c chk_ordinal): shifted and
 * written back as an ordinal of the shifted date's year (`2020-075`). -1: not one, or its day is not in its year. */
static int shift_ordinal(const char *in, size_t len, int days, char *out, size_t cap)
{
    long y, doy;
    if (len != 8 || in[4] != '-' || digits(in, 4, &y) || digits(in + 5, 3, &doy) || y < 1900 || y > 2099 || doy < 1 ||
        doy > (dv_date_ok((int)y, 2, 29) ? 366 : 365))
        return -1;
    long z = days_from_civil(y, 1, 1) + doy - 1 + days, ny;
    unsigned m, d;
    civil_from_days(z, &ny, &m, &d);
    if (ny < 1 || ny > 9999 || cap < 8)
        return -1;
    unsigned yy = (unsigned)ny, dd = (unsigned)(z - days_from_civil(ny, 1, 1) + 1); /* 1..9999, 1..366 */
    const char w[8] = {(char)('0' + yy / 1000), (char)('0' + yy / 100 % 10), (char)('0' + yy / 10 % 10),
                       (char)('0' + yy % 10),   '-',                         (char)('0' + dd / 100),
                       (char)('0' + dd / 10 % 10), (char)('0' + dd % 10)};
    memcpy(out, w, 8);
    return 8;
}

/* The date shifter on text without full-width characters. */
static int shift_written(const char *in, size_t len, int days, char *out, size_t cap)
{
    tok t[MAX_TOKS];
    size_t nt = 0;
    if (!in || len == 0 || len > 96)
        return -1;
    /* A compact date-time (20130815120000-0500, as a CDA's effectiveTime writes it): its date is shifted, its time
     * and UTC offset stay, as a DT attribute's do (a time of day names no one; HIPAA's Safe Harbor removes dates). */
    if (compact_dt(in, len)) {
        if (cap < len || dv_shift_da(in, 8, days, out))
            return -1;
        memcpy(out + 8, in + 8, len - 8);
        return (int)len;
    }
    if (len == 8 && in[4] == '-' && isdigit((unsigned char)in[5]) && isdigit((unsigned char)in[6]) &&
        isdigit((unsigned char)in[7])) /* not 2020-3-5 */
        return shift_ordinal(in, len, days, out, cap);
    if (tokenize(in, len, t, &nt))
        return -1;
    /* A compact YYYYMMDD block is a DA. */
    if (nt == 1 && t[0].kind == TK_NUM && t[0].len == 8) {
        if (cap < 8 || dv_shift_da(in, 8, days, out))
            return -1;
        return 8;
    }
    /* The value fields in order (numbers and month names); separators and ordinals are kept as written. */
    int f[3], nf = 0;
    for (size_t i = 0; i < nt; i++) {
        if (t[i].kind == TK_NUM || t[i].kind == TK_MONTH) {
            if (nf == 3)
                return -1;
            f[nf++] = (int)i;
        }
    }
    if (nf != 3)
        return -1;
    int yi = -1, mi = -1, di = -1;
    int month_word = -1;
    for (int k = 0; k < 3; k++)
        if (t[f[k]].kind == TK_MONTH)
            month_word = k;
    int era = t[0].kind == TK_ERA ? (int)t[0].num : -1;
    int day_first_by_value = 0; /* read day first only because the day was over 12 (25/06/50) */
    if (era >= 0) { /* 令和2年3月5日: era year, month, day */
        yi = f[0], mi = f[1], di = f[2];
        if (t[yi].len > 3 || t[mi].kind != TK_NUM)
            return -1;
    } else if (t[f[0]].kind == TK_NUM && t[f[0]].len == 4) { /* Y M D (ISO order) */
        yi = f[0], mi = f[1], di = f[2];
    } else if (month_word >= 0) {
        mi = f[month_word];
        int a = f[(month_word + 1) % 3], b = f[(month_word + 2) % 3];
        if (month_word == 0) { /* March 5, 2020 */
            di = f[1], yi = f[2];
        } else if (month_word == 1) { /* 5 March 2020 / 05-Mar-2020 */
            di = f[0], yi = f[2];
        } else {
            (void)a, (void)b;
            return -1;
        }
    } else { /* all numeric, year last: D/M or M/D */
        yi = f[2];
        long a = t[f[0]].num, b = t[f[1]].num;
        char sep = in[t[f[0]].off + t[f[0]].len];
        long ce;
        /* a Buddhist-era year (eras.h) is Thai, and Thai writes the day first */
        int day_first = sep == '.' || (t[f[2]].len == 4 && dv_be_to_ce(t[f[2]].num, &ce) == 0);
        if (a > 12 || (b <= 12 && day_first))
            di = f[0], mi = f[1]; /* 25/12/2020, 05.03.2020, 05/03/2563: day first */
        else
            mi = f[0], di = f[1]; /* 03/05/2020: US order when ambiguous (docs/text.md) */
        day_first_by_value = a > 12 && !(b <= 12 && day_first);
    }
    if (!apostrophe_ok(in, t, nt, yi, era < 0 ? month_word : -1))
        return -1;
    if (t[yi].kind != TK_NUM || t[di].kind != TK_NUM || (era < 0 && t[yi].len != 4 && t[yi].len != 2) ||
        t[di].len > 2 || (t[mi].kind == TK_NUM && t[mi].len > 2))
        return -1;
    long y = t[yi].len == 2 ? dv_two_digit_year((int)t[yi].num) : t[yi].num;
    unsigned m = (unsigned)t[mi].num, d = (unsigned)t[di].num;
    if (era >= 0 && dv_era_to_gregorian(era, (int)t[yi].num, (int)m, (int)d, &y) != 0)
        return -1; /* 平成32年: no such year */
    /* Thai: a Buddhist-era year (eras.h) is shifted as its Gregorian year and written back in its era, read as the
     * patterns read it (patterns.c thai_year): four digits of 2443-2642, or two after a Thai month (25xx), unless
     * ค.ศ. marks the Common Era; after พ.ศ. nothing else */
    int thai_era = 0, be = 0;
    for (size_t i = 0; i < nt; i++)
        if (t[i].kind == TK_SEP && t[i].num)
            thai_era = (int)t[i].num;
    int thai_month = t[mi].kind == TK_MONTH && (unsigned char)in[t[mi].off] == 0xE0;
    if (era < 0 && thai_era != 2 && t[yi].len == 4 && dv_be_to_ce(t[yi].num, &y) == 0)
        be = 1;
    else if (era < 0 && thai_era != 2 && t[yi].len == 2 && thai_month)
        be = 1, y = dv_be_short_to_ce((int)t[yi].num);
    else if (thai_era == 1)
        return -1;
    if (!valid_date(y, m, d) || shift(&y, &m, &d, days))
        return -1;
    if (era < 0 && t[yi].len == 2 &&
        (be ? y < dv_be_short_to_ce(0) || y > dv_be_short_to_ce(99) : y < 1950 || y > 2049))
        return -1; /* would not read back as the same century */
    long ce;
    if (be && t[yi].len == 4 && dv_be_to_ce(y + DV_BE_OFFSET, &ce) != 0)
        return -1; /* shifted out of the Buddhist-era years read (31/12/2642 + 10 days): would read back Gregorian */
    /* 25/06/50 + 37 days is 1 August 1950, but 01/08/50 reads back month first (8 January 1950), and that date,
     * shifted again, leaves the century a two-digit year can say: such a date is not rewritten (erased) rather
     * than written in a form that reads as another date (fuzz_text_transform). A four-digit year reads back as a
     * date in any order. */
    if (day_first_by_value && t[yi].len == 2 && d <= 12)
        return -1;
    /* an era date is written back in the era of the shifted date (平成31年4月25日 + 10 days: 令和元年5月5日) */
    int new_era = -1, era_year = 0;
    if (era >= 0 && dv_era_at(y, (int)m, (int)d, &new_era, &era_year) != 0)
        return -1;
    /* 2020年12月28日: the marks delimit the numbers, so a two-digit month or day is padded only when it was */
    int cjk = 0;
    for (size_t i = 0; i < nt; i++)
        cjk |= t[i].kind == TK_SEP && cjk_mark(in + t[i].off, t[i].len) != 0;
    size_t o = 0;
    for (size_t i = 0; i < nt; i++) {
        char buf[DV_MONTH_WORD_MAX];
        int n;
        if (t[i].kind == TK_ERA) { /* abbreviated as it was: 平31年 -> 令元年 */
            if (put(out, cap, &o, dv_era_name(new_era), t[i].len))
                return -1;
            continue;
        } else if ((int)i == yi && era >= 0)
            n = era_year == 1 ? snprintf(buf, sizeof buf, GAN) : snprintf(buf, sizeof buf, "%d", era_year);
        else if ((int)i == yi) {
            long wy = be ? y + DV_BE_OFFSET : y;
            n = t[yi].len == 2 ? snprintf(buf, sizeof buf, "%02ld", wy % 100) : snprintf(buf, sizeof buf, "%04ld", wy);
        }
        else if ((int)i == di) /* two digits stay two when zero-padded or all-numeric ("05", "12/25/2020") */
            n = snprintf(buf, sizeof buf,
                         t[i].len == 2 && (in[t[i].off] == '0' || (t[mi].kind == TK_NUM && !cjk)) ? "%02u" : "%u", d);
        else if ((int)i == mi && t[i].kind == TK_NUM)
            n = snprintf(buf, sizeof buf, t[i].len == 2 && (!cjk || in[t[i].off] == '0') ? "%02u" : "%u", m);
        else if ((int)i == mi && thai_month) { /* full or abbreviated as written (no letter case) */
            int abbr = dv_month_find(in + t[i].off, t[i].len, DV_MONTH_TH, DV_MONTH_ABBR) != NULL;
            const char *w = dv_month_name(DV_MONTH_TH, abbr ? DV_MONTH_ABBR : DV_MONTH_FULL, (int)m);
            n = (int)strlen(w);
            memcpy(buf, w, (size_t)n);
        } else if ((int)i == mi) { /* a month name: its language, full or abbreviated as written, its letter case */
            int abbr, lang = month_lang(in, t, nt, mi, di, &abbr);
            size_t wl;
            if (lang == LANG_EN) {
                size_t full = strlen(MONTHS(m));
                wl = t[i].len == strlen(MONTHS(t[i].num)) ? full : (full < 3 ? full : 3);
                memcpy(buf, MONTHS(m), wl);
            } else {
                wl = name_as_written(dv_month_name(lang, abbr ? DV_MONTH_ABBR : DV_MONTH_FULL, (int)m), in + t[i].off,
                                     t[i].len, buf);
            }
            recase(buf, wl, in + t[i].off, t[i].len);
            n = (int)wl;
        } else if (t[i].kind == TK_ORD && tolower((unsigned char)in[t[i].off]) == 'e') {
            /* a French 1er belongs right after its day and before a separator or the end: elsewhere (2ER20 after a
             * month, 3er20 glued to the year) dropping it would glue numbers together, so not a date to rewrite */
            if ((int)i != di + 1 || (i + 1 < nt && t[i + 1].kind != TK_SEP))
                return -1;
            if (d != 1)
                continue; /* French: only the first of a month is 1er */
            memcpy(buf, in + t[i].off, 2);
            n = 2;
        } else if (t[i].kind == TK_ORD) {
            memcpy(buf, ordinal(d), 2);
            recase(buf, 2, in + t[i].off, t[i].len);
            n = 2;
        } else {
            if (put(out, cap, &o, in + t[i].off, t[i].len))
                return -1;
            continue;
        }
        if (n < 0 || put(out, cap, &o, buf, (size_t)n))
            return -1;
    }
    return (int)o;
}

/* Which ASCII characters of a date were written otherwise in orig: each run of digits by itself, in the script its
 * first digit was written in (２０１９年10月19日 keeps its year full width and its month and day ASCII; ٢٣/٠٤/٢٠٢٠
 * stays Arabic-Indic; runs are matched from the end, as the shifted date has the same day and month runs), letters
 * as a class (the shifted date has other month letters), punctuation and the space one by one, each with the code
 * point it was written as: full width (－ U+FF0D), a small form (﹣ U+FE63: written back full width before,
 * 2019﹣10﹣19 came back 2019－10－29) or the ideographic space. */
#define WIDE_RUNS 8
typedef struct wide_set {
    uint32_t digits;   /* the zero of the last digit written other than ASCII (U+FF10, U+0660, ...); 0: none */
    int letters;       /* full-width letters seen */
    int math_letters;  /* mathematical or enclosed letters seen (widthfold.h dv_math_ascii) */
    uint16_t punct[128]; /* the code point ASCII punctuation or space c was written as; 0: as itself */
    uint32_t run_zero[WIDE_RUNS]; /* per digit run, the zero of its script; 0: ASCII */
    size_t nruns;      /* digit runs seen (run_zero holds the last WIDE_RUNS of them) */
} wide_set;

static void wide_of(const char *orig, size_t len, wide_set *w)
{
    const unsigned char *u = (const unsigned char *)orig;
    memset(w, 0, sizeof *w);
    int in_run = 0;
    for (size_t i = 0; i < len; i++) {
        size_t clen = 1;
        char a = dv_width_fold_char(u, i, len, &clen);
        uint32_t zero = a >= '0' && a <= '9' ? dv_width_digit_zero(u, i, len) : 0;
        int digit = (a >= '0' && a <= '9') || (!a && orig[i] >= '0' && orig[i] <= '9');
        if (digit && !in_run)
            w->run_zero[w->nruns++ % WIDE_RUNS] = zero;
        in_run = digit;
        if (!a)
            continue;
        if (zero)
            w->digits = zero;
        else if (isalpha((unsigned char)a) && u[i] != 0xEF)
            w->math_letters = 1;
        else if (isalpha((unsigned char)a))
            w->letters = 1;
        else /* full-width punctuation, a small form or U+3000: 3 bytes of UTF-8 (widthfold.h) */
            w->punct[(unsigned char)a] =
                (uint16_t)(((u[i] & 0x0Fu) << 12) | ((u[i + 1] & 0x3Fu) << 6) | (u[i + 2] & 0x3Fu));
        i += clen - 1;
    }
}

/* The zero of the script the digit run of a that ends k runs before a's last (0: the last) was written in. */
static uint32_t run_zero(const wide_set *w, size_t from_end)
{
    if (from_end >= w->nruns || from_end >= WIDE_RUNS)
        return w->digits;
    return w->run_zero[(w->nruns - 1 - from_end) % WIDE_RUNS];
}

/* Write the ASCII date a[0, n) into out with the characters orig wrote otherwise (full width, small, another
 * script's digits, mathematical or circled digits) written so again. A date with mathematical or enclosed letters
 * (a month name `𝐌𝐚𝐫𝐜𝐡`) is not written back (-1: the caller erases it, never keeps it): the month of the shifted
 * date would need its letters in that alphabet, holes included, for a form no clinical writer uses. */
static int rewiden(const wide_set *w, const char *a, size_t n, char *out, size_t cap)
{
    if (w->math_letters)
        return -1;
    size_t o = 0, runs = 0, run = 0;
    for (size_t i = 0; i < n; i++)
        runs += a[i] >= '0' && a[i] <= '9' && (i == 0 || a[i - 1] < '0' || a[i - 1] > '9');
    uint32_t zero = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)a[i];
        if (c >= '0' && c <= '9' && (i == 0 || a[i - 1] < '0' || a[i - 1] > '9'))
            zero = run_zero(w, runs - 1 - run++);
        uint32_t cp = c >= 0x80                 ? 0
                      : (c >= '0' && c <= '9') ? (zero ? dv_width_digit_cp(zero, c - '0') : 0)
                      : isalpha(c)             ? (w->letters ? c + 0xFEE0u : 0)
                                               : w->punct[c];
        if (!cp) {
            if (put(out, cap, &o, a + i, 1))
                return -1;
            continue;
        }
        char u[4];
        if (put(out, cap, &o, u, dv_utf8_put(cp, u)))
            return -1;
    }
    return (int)o;
}

static int shift_written_date(const char *in, size_t len, int days, char *out, size_t cap);

/* A written date is rewritten only when the result reads back as a date that shifts back: one the writer cannot
 * read again (an era date of fuzz_text_transform, regressions/text_transform/era-year-reads-back-other-era) is
 * not rewritten, and the caller erases it. The check costs a second shift, for written dates only. */
int dv_shift_written_date(const char *in, size_t len, int days, char *out, size_t cap)
{
    int n = shift_written_date(in, len, days, out, cap);
    if (n <= 0)
        return n;
    char back[512];
    return shift_written_date(out, (size_t)n, -days, back, sizeof back) < 0 ? -1 : n;
}

/* Dates written full width (２０２０／０３／０５, ２０２０年３月５日), with small form punctuation (2019﹣10﹣19) or in
 * another script's digits (٢٣/٠٤/٢٠٢٠, २३/०४/२०२०) are shifted on their folded copy and written back as they were
 * written, character class by character class (wide_of). */
static int shift_written_date(const char *in, size_t len, int days, char *out, size_t cap)
{
    enum { MAX_IN = 64 * 4 }; /* 64 characters of up to 4 bytes (mathematical digits) */
    char folded[MAX_IN], shifted[160]; /* a Thai month's name may be 12 bytes longer than the one it replaces */
    uint32_t at[MAX_IN / 2], cum[MAX_IN / 2];
    size_t nat = 0;
    if (!in || len == 0 || len > MAX_IN)
        return -1;
    if (dv_kanji_has_numeral(in, len)) {
        /* 二〇二四年三月五日: shifted as 2024年3月5日, its numbers written back in their own styles (kanjinum.h) */
        dv_kanji_style st[4];
        size_t nst = 0;
        int a = dv_kanji_date_to_ascii(in, len, folded, sizeof folded, st, 4, &nst);
        if (a <= 0 || nst == 0 || dv_kanji_has_numeral(folded, (size_t)a))
            return -1;
        /* the styles must write the date back as it was read, or the shifted one could not be read back (a number
         * of ASCII and kanji digits, 0四, came back as 四): such a date is not rewritten (the caller erases it) */
        char again[MAX_IN];
        int g = dv_kanji_date_from_ascii(folded, (size_t)a, st, nst, again, sizeof again);
        if (g != (int)len || memcmp(again, in, len) != 0)
            return -1;
        int n = dv_shift_written_date(folded, (size_t)a, days, shifted, sizeof shifted);
        return n < 0 ? -1 : dv_kanji_date_from_ascii(shifted, (size_t)n, st, nst, out, cap);
    }
    size_t flen = dv_width_fold_into(in, len, folded, at, cum, &nat);
    if (nat == 0)
        return shift_written(in, len, days, out, cap);
    int n = shift_written(folded, flen, days, shifted, sizeof shifted);
    if (n < 0)
        return -1;
    wide_set w;
    wide_of(in, len, &w);
    return rewiden(&w, shifted, (size_t)n, out, cap);
}
