/* Pattern detectors (patterns.h; issue 6 item 2; docs/text-detectors.md). Each detector is one PCRE2
 * pattern (compiled once, JIT) that finds the SHAPE, and a C check that decides: calendar validity,
 * check digits, context words before the match. A cheap profile of the text (digits? '@'? ':'?) skips every
 * detector that cannot match, so a value like "CT CHEST WALL" costs one pass over its bytes.
 * Tests: tests/unit/test_patterns.c; corpus score: tests/text/score_patterns.c. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <arpa/inet.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "text/checksums.h"
#include "text/lexicon.h"
#include "text/lexicon_data.h"
#include "text/tokens.h"
#include "text/patterns.h"
#include "text/eras.h"
#include "text/kanjinum.h"
#include "text/months.h"
#include "text/prefilter.h"
#include "text/widthfold.h"

/* Text profile bits: a detector runs only when the text has what it needs. */
enum { P_DIGIT = 1, P_AT = 2, P_COLON = 4, P_DOT = 8, P_DASH = 16, P_UPPER = 32, P_ALPHA = 64, P_SLASH = 128, P_H = 256,
       P_WIDE = 512 /* a full-width ASCII character, U+3000 or another script's digit: the patterns run on a folded
                       copy (widthfold.h) */,
       P_KMONTH = 1024 /* the month mark 月: a date in kanji numerals can be there (kanjinum.h) */ };

/* Boundaries: WB/WE = not inside an ASCII word; NB/NE also refuse to continue a number chain (so a date is
 * not cut out of "1.2.840.20190314" or an IP out of a longer dotted run). */
#define WB "(?<![A-Za-z0-9_])"
#define WE "(?![A-Za-z0-9_])"
#define NB "(?<![A-Za-z0-9_]|[0-9][.,:/-])"
#define NE "(?![A-Za-z0-9_]|[.,:/-][0-9])"
/* A DA or DT: the date, a time, an offset. DA_END: where it may end: NE, or before a full stop and a time
 * (HHMMSS), an underscore, or a T and a digit, as IDs and file names join them (`20170302.172449`,
 * `Scan20140310_1`, `20140310T133834`; a decimal such as 20170302.5 stays a number). */
#define DA_DT "((?:19|20)[0-9]{2})(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])(?:(?:[01][0-9]|2[0-3])(?:[0-5][0-9](?:[0-5]" \
    "[0-9](?:\\.[0-9]{1,6})?)?)?)?(?:[+-][0-9]{4})?"
#define DA_END "(?:" NE "|(?=\\.(?:[01][0-9]|2[0-3])[0-5][0-9][0-5][0-9](?![0-9]))|(?=_|T[0-9]))"
/* Month names: English, German, French (full names and the usual abbreviations): the words of months.c's table,
 * each before its prefixes (dv_month_of reads the month a match names from the table). */
#define MON "(?:january|janvier|januar|j\\x{e4}nner|janv|jan|february|f\\x{e9}vrier|fevrier|februar|f\\x{e9}vr|febr|feb|" \
    "march|m\\x{e4}rz|maerz|mars|m\\x{e4}r|mar|april|avril|avr|apr|may|mai|june|juin|juni|jun|july|juillet|juil|juli|jul|" \
    "august|ao\\x{fb}t|aout|aug|september|septembre|sept|sep|october|octobre|oktober|okt|oct|november|novembre|nov|" \
    "december|d\\x{e9}cembre|decembre|dezember|d\\x{e9}c|dez|dec)"
/* Without a year only full names count, and never English "may" (the verb). */
#define FULLMON "(?:january|janvier|januar|february|f\\x{e9}vrier|februar|march|m\\x{e4}rz|mars|april|avril|mai|june|" \
    "juin|juni|july|juillet|juli|august|ao\\x{fb}t|september|septembre|october|octobre|oktober|november|novembre|" \
    "december|d\\x{e9}cembre|dezember)"
/* The CJK year, month and day marks: 年 月 日 (Japanese, Chinese) and 년 월 일 (Korean). */
#define CJK_Y "[\\x{5e74}\\x{b144}]"
#define CJK_M "[\\x{6708}\\x{c6d4}]"
#define CJK_D "[\\x{65e5}\\x{c77c}\\x{53f7}]" /* and Chinese 号 */
/* Japanese eras (eras.c): 明治 大正 昭和 平成 令和, and the year of an era written as a number or 元 (its first). */
#define ERA "(\\x{660e}\\x{6cbb}|\\x{5927}\\x{6b63}|\\x{662d}\\x{548c}|\\x{5e73}\\x{6210}|\\x{4ee4}\\x{548c}|" \
    "[\\x{660e}\\x{5927}\\x{662d}\\x{5e73}\\x{4ee4}](?=\\s*(?:[0-9]|\\x{5143})))" /* or its first kanji: 平31年 */
#define ERA_YEAR "\\s*([0-9]{1,2}|\\x{5143})\\s*\\x{5e74}"
/* Kanji numerals (kanjinum.h): a digit 〇 零 一 二 三 四 五 六 七 八 九, and a month's, day's or era year's number of
 * one to three of them or 十 (三, 十二, 二十五, 一二). */
#define KD "[\\x{3007}\\x{96f6}\\x{4e00}\\x{4e8c}\\x{4e09}\\x{56db}\\x{4e94}\\x{516d}\\x{4e03}\\x{516b}\\x{4e5d}]"
#define KN "((?:" KD "|\\x{5341}){1,3})"
/* A year after a month name and a day: four digits (group n), or two after an apostrophe (group n + 1, `'20`). */
#define YEAR_APOS "(?:((?:19|20)[0-9]{2})|'([0-9]{2}))"
/* A unit or count word after a number: `20 mg` is a dose, not a year (the bare two-digit year form). */
#define UNIT "(?:%|(?:mg|mcg|ug|g|kg|ml|l|cc|mm|cm|m|mmol|mol|meq|iu|u|units?|gy|mgy|cgy|sv|msv|mbq|bq|mci|kv|kvp|" \
    "ma|mas|s|secs?|mins?|h|hrs?|hours?|days?|d|wks?|weeks?|mo|months?|y|yrs?|years?|x|times|patients|pts|cases|" \
    "slices|images|frames|bpm|hz|t)(?![A-Za-z]))"
#define SEP_OPT "\\s*[:#=.-]?\\s*"
/* Thai dates (months.c's Thai words; eras.h for the Buddhist era): the full month names, each before its prefixes,
 * and the abbreviations, written without their final stop (read by the \\.? after them); the word เดือน (month)
 * may come before a name, the era marks พ.ศ. (Buddhist era) and ค.ศ. (Common Era) before the year. */
#define TH_FULL "(?:" /* กุมภาพันธ์ พฤศจิกายน มิถุนายน พฤษภาคม กรกฎาคม สิงหาคม กันยายน ธันวาคม มกราคม มีนาคม เมษายน ตุลาคม */ \
    "\\x{0e01}\\x{0e38}\\x{0e21}\\x{0e20}\\x{0e32}\\x{0e1e}\\x{0e31}\\x{0e19}\\x{0e18}\\x{0e4c}|" \
    "\\x{0e1e}\\x{0e24}\\x{0e28}\\x{0e08}\\x{0e34}\\x{0e01}\\x{0e32}\\x{0e22}\\x{0e19}|" \
    "\\x{0e21}\\x{0e34}\\x{0e16}\\x{0e38}\\x{0e19}\\x{0e32}\\x{0e22}\\x{0e19}|" \
    "\\x{0e1e}\\x{0e24}\\x{0e29}\\x{0e20}\\x{0e32}\\x{0e04}\\x{0e21}|" \
    "\\x{0e01}\\x{0e23}\\x{0e01}\\x{0e0e}\\x{0e32}\\x{0e04}\\x{0e21}|" \
    "\\x{0e2a}\\x{0e34}\\x{0e07}\\x{0e2b}\\x{0e32}\\x{0e04}\\x{0e21}|" \
    "\\x{0e01}\\x{0e31}\\x{0e19}\\x{0e22}\\x{0e32}\\x{0e22}\\x{0e19}|" \
    "\\x{0e18}\\x{0e31}\\x{0e19}\\x{0e27}\\x{0e32}\\x{0e04}\\x{0e21}|" \
    "\\x{0e21}\\x{0e01}\\x{0e23}\\x{0e32}\\x{0e04}\\x{0e21}|" \
    "\\x{0e21}\\x{0e35}\\x{0e19}\\x{0e32}\\x{0e04}\\x{0e21}|" \
    "\\x{0e40}\\x{0e21}\\x{0e29}\\x{0e32}\\x{0e22}\\x{0e19}|" \
    "\\x{0e15}\\x{0e38}\\x{0e25}\\x{0e32}\\x{0e04}\\x{0e21}" \
    ")"
#define TH_ABBR "(?:" /* มี.ค เม.ย มิ.ย ม.ค ก.พ พ.ค ก.ค ส.ค ก.ย ต.ค พ.ย ธ.ค */ \
    "\\x{0e21}\\x{0e35}\\.\\x{0e04}|\\x{0e40}\\x{0e21}\\.\\x{0e22}|\\x{0e21}\\x{0e34}\\.\\x{0e22}|\\x{0e21}\\.\\x{0e04}|" \
    "\\x{0e01}\\.\\x{0e1e}|\\x{0e1e}\\.\\x{0e04}|\\x{0e01}\\.\\x{0e04}|\\x{0e2a}\\.\\x{0e04}|" \
    "\\x{0e01}\\.\\x{0e22}|\\x{0e15}\\.\\x{0e04}|\\x{0e1e}\\.\\x{0e22}|\\x{0e18}\\.\\x{0e04}" \
    ")(?![\\x{0e01}-\\x{0e4e}])" /* not a word's start: ต.คลองหนึ่ง is a subdistrict (ต.), not ต.ค (the review) */
#define TH_MONTH_WORD "(?:\\x{0e40}\\x{0e14}\\x{0e37}\\x{0e2d}\\x{0e19}\\s*)?" /* เดือน */
#define TH_ERA "(?:(\\x{0e1e}\\.\\x{0e28}|\\x{0e04}\\.\\x{0e28})\\.?\\s*)?" /* พ.ศ. or ค.ศ. */

typedef struct match_ctx match_ctx;
typedef int (*check_fn)(const match_ctx *m, dv_finding *c);

typedef struct spec {
    dv_infotype type;
    uint8_t score;
    unsigned need_all, need_any;
    uint32_t caseless;
    check_fn check; /* NULL: accept the whole match */
    uint8_t min_digits, min_run; /* the text must hold this many digits, this many in a row */
    const char *re;
    uint8_t pre; /* dv_prefilter: a C test every match implies (prefilter.h) */
} spec;

/* Context patterns: matched against the bytes just before a candidate, anchored at its start (\z). */
enum { CTX_DOB, CTX_VERSION, CTX_TIME, CTX_RATIO, CTX_SSN, CTX_NPI, CTX_NHS, CTX_DURATION, CTX_CODE, CTX_COUNT };
static const char *const ctx_re[CTX_COUNT] = {
    [CTX_DOB] = "(?:\\bD\\.?O\\.?B\\.?|\\bdate of birth|\\bbirth ?date|\\bbirthday|\\bborn(?: on)?|\\bgeb\\.?|"
                "\\bgeboren(?: am)?|\\bgeburtsdatum|\\bn\\x{e9}e?(?: le)?|\\bdate de naissance|\\bd\\.?d\\.?n\\.?|"
                "\\x{751f}\\x{5e74}\\x{6708}\\x{65e5}|\\x{c0dd}\\x{b144}\\x{c6d4}\\x{c77c}|"
                /* Thai วันเกิด, ปีเกิด */
                "(?:\\x{0e27}\\x{0e31}\\x{0e19}|\\x{0e1b}\\x{0e35})\\x{0e40}\\x{0e01}\\x{0e34}\\x{0e14})"
                SEP_OPT "(?:on\\s+|am\\s+|le\\s+)?\\z",
    [CTX_VERSION] = "(?:\\bv|\\bver|\\bversion|\\brelease|\\brel|\\bbuild|\\bsoftware|\\bsw|\\bfirmware|\\bfw|"
                    "\\bsyngo|\\bupdate|\\bpatch)\\.?\\s*[:=]?\\s*\\z",
    [CTX_TIME] = "(?:\\bat|@|\\bby|\\bfrom|\\buntil|\\btill|\\bto|\\bum|\\b\\x{e0}|\\bab|\\bsince|\\btime|"
                 "\\bstarted|\\bbetween|\\band|\\bon|-|\\x{2013})\\s*[:.]?\\s*\\z",
    [CTX_RATIO] = "(?:\\bratio|\\bdilution|\\btit(?:er|re)|\\bscale|\\bmatrix|\\bx)\\s*[:=]?\\s*\\z",
    [CTX_SSN] = "(?:\\bSSN|\\bS\\.S\\.N\\.?|\\bsocial security(?: number| no\\.?| #)?|\\bSS ?#|\\bSS no\\.?)"
                SEP_OPT "\\z",
    [CTX_NPI] = "\\bNPI\\s*(?:no\\.?|number|#)?" SEP_OPT "\\z",
    [CTX_NHS] = "\\bNHS\\s*(?:no\\.?|number|#)?" SEP_OPT "\\z",
    [CTX_DURATION] = "(?:\\bfor|\\bsince|\\bover|\\bafter|\\bpast|\\blast|\\bwithin|\\bin|\\bevery|\\bx|\\bthan|"
                     "\\bprior|\\bduring|\\bof|\\bnext|\\bapprox\\.?|\\babout|\\bq)\\s+(?:the\\s+)?(?:past\\s+|last\\s+)?\\z",
    /* a number that names a protocol, trial, case or project (`IRB 2019-012`, `Protocol 2021-104`): a
     * YYYY-NNN there is its number, not an ordinal date (stop 51's review) */
    [CTX_CODE] = "(?:\\bprotocol|\\bIRB|\\btrial|\\bstudy|\\bcase|\\bproject|\\bgrant|\\bcohort|\\bref|"
                 "\\bno|\\bnr|\\bnumber|\\bid|#)\\.?\\s*[:=#]?\\s*(?:no\\.?\\s*|#\\s*)?\\z",
};

struct dv_patterns {
    size_t n;
    const spec *specs;
    pcre2_code *code[64];
    pcre2_code *ctx[CTX_COUNT];
    pcre2_code *uid;
    uint32_t max_pairs;
};

#define MAX_UIDS 64
/* Enough capture pairs for every pattern (dv_patterns_new checks it). */
#define SCRATCH_PAIRS 16
struct dv_text_scratch {
    pcre2_match_data *md, *md_ctx;
    pcre2_match_context *mctx;
    struct {
        uint32_t s, e;
    } uid[MAX_UIDS];
    size_t nuid;
    int uid_overflow;
    int exhaustive; /* tests only: run every pattern, pre-filters off (dv_text_scratch_set_exhaustive) */
    dv_width_buf wide; /* the folded copy of a text with full-width characters, reused */
};

struct match_ctx {
    const dv_patterns *p;
    dv_text_scratch *s;
    const char *t;
    size_t len;
    const PCRE2_SIZE *ov;
    int rc;
    int error; /* set by a context match that failed other than "no match" */
};

/* ---- helpers for the checks ---- */

static int grp(const match_ctx *m, int i, size_t *s, size_t *e)
{
    if (i >= m->rc || m->ov[2 * i] == PCRE2_UNSET)
        return 0;
    *s = m->ov[2 * i];
    *e = m->ov[2 * i + 1];
    return 1;
}

static int grp_int(const match_ctx *m, int i)
{
    size_t s = 0, e = 0;
    if (!grp(m, i, &s, &e) || e == s || e - s > 6)
        return -1;
    int v = 0;
    for (size_t k = s; k < e; k++) {
        if (m->t[k] < '0' || m->t[k] > '9')
            return -1;
        v = v * 10 + (m->t[k] - '0');
    }
    return v;
}

static size_t grp_len(const match_ctx *m, int i)
{
    size_t s = 0, e = 0;
    return grp(m, i, &s, &e) ? e - s : 0;
}

/* Does context pattern k end exactly where the candidate starts (looking back at most 48 bytes)? */
static int ctx_before(const match_ctx *m, int k, size_t at)
{
    size_t from = at > 48 ? at - 48 : 0;
    while (from < at && ((unsigned char)m->t[from] & 0xC0) == 0x80)
        from++;
    int rc = pcre2_match(m->p->ctx[k], (PCRE2_SPTR)(m->t + from), at - from, 0, 0, m->s->md_ctx, m->s->mctx);
    return rc >= 0;
}

/* Collect the ASCII digits of [s, e) into buf (at most cap); returns the count or 0 if more. */
static size_t digits_of(const char *t, size_t s, size_t e, char *buf, size_t cap)
{
    size_t n = 0;
    for (size_t k = s; k < e; k++)
        if (t[k] >= '0' && t[k] <= '9') {
            if (n == cap)
                return 0;
            buf[n++] = t[k];
        }
    return n;
}

/* The month names are months.c's table (English, German, French; the MON pattern above spells the same words). */
int dv_month_of(const char *w, size_t n)
{
    const dv_month_word *e = dv_month_find(w, n, -1, -1);
    return e ? e->month : 0;
}

static int year4(int y, size_t ylen)
{
    if (ylen == 4)
        return y;
    return dv_two_digit_year(y); /* the shifter's reading too (one rule) */
}

/* A four-digit year as the numeric dates read it: 1900-2099, or a Buddhist-era year of that span as Thai records
 * write it (23/04/2563; eras.h). -1: neither. */
static int gregorian_year(int y)
{
    long ce;
    if (y >= 1900 && y <= 2099)
        return y;
    return dv_be_to_ce(y, &ce) == 0 ? (int)ce : -1;
}

/* A valid date becomes DATE_OF_BIRTH when a birth context word precedes it. */
static int date_result(const match_ctx *m, dv_finding *c, int y, int mo, int d)
{
    if (!dv_date_ok(y, mo, d))
        return 0;
    if (ctx_before(m, CTX_DOB, c->start)) {
        c->type = DV_IT_DATE_OF_BIRTH;
        c->score = 90;
    }
    return 1;
}

/* ---- checks, one per detector family ---- */

static int chk_da(const match_ctx *m, dv_finding *c)
{
    return date_result(m, c, grp_int(m, 1), grp_int(m, 2), grp_int(m, 3));
}

static int chk_ymd(const match_ctx *m, dv_finding *c)
{
    size_t s = 0, e = 0;
    grp(m, 2, &s, &e);
    if (m->t[s] == '.' && ctx_before(m, CTX_VERSION, c->start))
        return 0;
    return date_result(m, c, grp_int(m, 1), grp_int(m, 3), grp_int(m, 4));
}

/* D/M/Y or M/D/Y: valid when either reading is a date (DECISIONS: docs/decisions.md "ambiguous day and
 * month"); both readings cover the same bytes, so the transformation does not need to know which. */
static int chk_dmy(const match_ctx *m, dv_finding *c)
{
    size_t s = 0, e = 0;
    grp(m, 2, &s, &e);
    char sep = m->t[s];
    size_t ylen = grp_len(m, 4);
    if (ylen == 2) {
        if (sep == '-')
            return 0;
        if (sep == '.' && (grp_len(m, 1) != 2 || grp_len(m, 3) != 2))
            return 0;
        c->score = 75;
    }
    if (sep == '.' && ctx_before(m, CTX_VERSION, c->start))
        return 0;
    int a = grp_int(m, 1), b = grp_int(m, 3);
    int y = ylen == 4 ? gregorian_year(grp_int(m, 4)) : year4(grp_int(m, 4), ylen);
    /* a short year no Gregorian reading makes a date (only 29 February: 29/02/63) may be a Thai one, the Buddhist
     * era's 25xx (2563 = 2020, a leap year; the review) */
    if (ylen == 2 && !dv_date_ok(y, b, a) && !dv_date_ok(y, a, b))
        y = (int)dv_be_short_to_ce(grp_int(m, 4));
    if (!dv_date_ok(y, b, a) && !dv_date_ok(y, a, b))
        return 0;
    return date_result(m, c, y, dv_date_ok(y, b, a) ? b : a, dv_date_ok(y, b, a) ? a : b);
}

/* The month named by group g of the match. */
static int month_group(const match_ctx *m, int g)
{
    size_t s = 0, e = 0;
    grp(m, g, &s, &e);
    return dv_month_of(m->t + s, e - s);
}

/* The year of a date with a month name and a day: four digits in group g, or two written after an apostrophe
 * (`Mar. 5, '20`) in group g + 1, read and scored as the other two-digit years are (year4; 75, as chk_dmy). */
static int year_of(const match_ctx *m, dv_finding *c, int g)
{
    if (grp_len(m, g))
        return grp_int(m, g);
    c->score = 75;
    return year4(grp_int(m, g + 1), 2);
}

static int chk_d_mon_y(const match_ctx *m, dv_finding *c)
{
    return date_result(m, c, year_of(m, c, 3), month_group(m, 2), grp_int(m, 1));
}

static int chk_mon_d_y(const match_ctx *m, dv_finding *c)
{
    return date_result(m, c, year_of(m, c, 3), month_group(m, 1), grp_int(m, 2));
}

/* A bare two-digit year after a day and a month name (`5 Mar 20`, `05-MAR-20`, Oracle's DD-MON-YY): read as the
 * apostrophe year is (year_of). The pattern wants the three standing together; lower-case `may` is the verb
 * (`5 may 20`), as FULLMON's comment says. */
static int chk_d_mon_yy(const match_ctx *m, dv_finding *c)
{
    size_t s = 0, e = 0;
    grp(m, 3, &s, &e);
    if (e - s == 3 && memcmp(m->t + s, "may", 3) == 0)
        return 0;
    c->score = 75;
    return date_result(m, c, year4(grp_int(m, 4), 2), month_group(m, 3), grp_int(m, 1));
}

/* An ISO 8601 ordinal date, YYYY-DDD (`2020-065`: the 65th day of 2020): the day 001 to 365, 366 in a leap year;
 * not after a version word (`v2020-100`, as chk_ymd), nor after a word that names a protocol, trial, case or
 * project (`IRB 2019-012`: its number; shifted per patient it would split one protocol into as many). */
static int chk_ordinal(const match_ctx *m, dv_finding *c)
{
    int y = grp_int(m, 1), d = grp_int(m, 2);
    if (d < 1 || d > (dv_date_ok(y, 2, 29) ? 366 : 365) || ctx_before(m, CTX_VERSION, c->start) ||
        ctx_before(m, CTX_CODE, c->start))
        return 0;
    static const int before[13] = {0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    int leap = dv_date_ok(y, 2, 29), mo = 1;
    while (mo < 12 && d > before[mo + 1] + (leap && mo + 1 > 2))
        mo++;
    return date_result(m, c, y, mo, d - before[mo] - (leap && mo > 2));
}

static int chk_y_mon_d(const match_ctx *m, dv_finding *c)
{
    return date_result(m, c, grp_int(m, 1), month_group(m, 2), grp_int(m, 3));
}

static int chk_mon_y(const match_ctx *m, dv_finding *c)
{
    return date_result(m, c, grp_int(m, 2), month_group(m, 1), 1);
}

/* YYYY年M月 (and Korean YYYY년 M월): a month, no day. */
static int chk_cjk_ym(const match_ctx *m, dv_finding *c)
{
    return date_result(m, c, grp_int(m, 1), grp_int(m, 2), 1);
}

static size_t skip_space_back(const char *t, size_t at)
{
    while (at > 0 && (t[at - 1] == ' ' || (t[at - 1] >= '\t' && t[at - 1] <= '\r'))) /* PCRE2's \s */
        at--;
    return at;
}

/* The year of a Thai date (TH_ERA's mark in group era_g, the year in y_g): four digits Gregorian or Buddhist era
 * (gregorian_year), only the marked era's after พ.ศ. or ค.ศ.; two digits the Buddhist era's 25xx (`5 ม.ค. 63` is
 * 2020), as Thai writes a short year, or after ค.ศ. a Gregorian one as year4 reads it (scored as chk_dmy's). -1: no
 * year of a date. */
static int thai_year(const match_ctx *m, dv_finding *c, int era_g, int y_g)
{
    size_t s = 0, e = 0;
    int be = 0, ce = 0;
    if (grp(m, era_g, &s, &e) && e > s) { /* พ (U+0E1E) or ค (U+0E04) */
        be = (unsigned char)m->t[s + 2] == 0x9e;
        ce = !be;
    }
    int y = grp_int(m, y_g);
    if (grp_len(m, y_g) == 2) {
        c->score = 75;
        return ce ? year4(y, 2) : (int)dv_be_short_to_ce(y);
    }
    int g = gregorian_year(y);
    if ((be && g == y) || (ce && g != y))
        return -1;
    return g;
}

/* 23 เม.ย. 2563, 23 เมษายน พ.ศ. 2563, 5 ม.ค. 63: a day, a Thai month, a year */
static int chk_th_dmy(const match_ctx *m, dv_finding *c)
{
    int y = thai_year(m, c, 3, 4);
    return y > 0 && date_result(m, c, y, month_group(m, 2), grp_int(m, 1));
}

/* เมษายน 2563, เดือนเม.ย. พ.ศ. 2563: a month and a four-digit year; not after a day (30 ก.พ. 2563 is no date,
 * and its month is not taken out of it, as the CJK month form is not) */
static int chk_th_my(const match_ctx *m, dv_finding *c)
{
    size_t at = skip_space_back(m->t, c->start);
    if (at > 0 && m->t[at - 1] >= '0' && m->t[at - 1] <= '9')
        return 0;
    int y = thai_year(m, c, 2, 3);
    return y > 0 && date_result(m, c, y, month_group(m, 1), 1);
}

/* 23 เมษายน: a day and a month, no year (valid in a leap year, as `March 5`) */
static int chk_th_dm(const match_ctx *m, dv_finding *c)
{
    return date_result(m, c, 2000, month_group(m, 2), grp_int(m, 1));
}

/* Group g as a kanji number written whole in one of its two styles (kanjinum.h), or -1. */
static int kanji_grp(const match_ctx *m, int g)
{
    size_t s = 0, e = 0;
    long v = 0;
    dv_kanji_style st;
    if (!grp(m, g, &s, &e) || dv_kanji_number(m->t + s, e - s, &v, &st) != e - s || v > 9999)
        return -1;
    return (int)v;
}

/* 二〇二四年三月五日, 二零二四年十二月二十五号; with d_group 0 the month alone (二〇二四年三月). */
static int kanji_ymd(const match_ctx *m, dv_finding *c, int d_group)
{
    int y = kanji_grp(m, 1);
    if (y < 1900 || y > 2099)
        return 0;
    return date_result(m, c, y, kanji_grp(m, 2), d_group ? kanji_grp(m, d_group) : 1);
}
static int chk_kanji_ymd(const match_ctx *m, dv_finding *c) { return kanji_ymd(m, c, 3); }
static int chk_kanji_ym(const match_ctx *m, dv_finding *c) { return kanji_ymd(m, c, 0); }

/* 三月五日, 十二月二十五日: a month and a day without a year (the year patterns read one after 年). */
static int chk_kanji_md(const match_ctx *m, dv_finding *c)
{
    return date_result(m, c, 2000, kanji_grp(m, 1), kanji_grp(m, 2));
}

/* 令和2年3月5日 (d_group > 0) or 令和2年3月 (a month): the era's year and the day inside the era (eras.c). */
static int era_date(const match_ctx *m, dv_finding *c, int d_group)
{
    size_t s = 0, e = 0;
    grp(m, 1, &s, &e);
    size_t elen = 0;
    int era = dv_era_of(m->t + s, e - s, 1, &elen);
    if (elen != e - s)
        return 0;
    grp(m, 2, &s, &e);
    size_t ms = 0, me = 0;
    grp(m, 3, &ms, &me);
    int kanji = (unsigned char)m->t[ms] >= 0x80; /* 令和六年三月五日: the month in kanji numerals */
    int n = m->t[s] >= '0' && m->t[s] <= '9'                        ? grp_int(m, 2)
            : e - s == 3 && memcmp(m->t + s, "\xe5\x85\x83", 3) == 0 ? 1 /* 元年 */
                                                                    : kanji_grp(m, 2);
    int (*num)(const match_ctx *, int) = kanji ? kanji_grp : grp_int;
    int mo = num(m, 3), d = d_group ? num(m, d_group) : 0;
    long y;
    if (dv_era_to_gregorian(era, n, mo, d, &y) != 0)
        return 0;
    return date_result(m, c, (int)y, mo, d ? d : 1);
}

static int chk_era_ymd(const match_ctx *m, dv_finding *c)
{
    return era_date(m, c, 4);
}

static int chk_era_ym(const match_ctx *m, dv_finding *c)
{
    return era_date(m, c, 0);
}

/* Does a year the dated patterns read end at t[at] (before spaces): 2021年, 2021년, 平成32年, 平32年, 令和元年? Then
 * a month and day after it belong to that year's date, valid or not (2021年2月29日 is no date, 平成32年1月1日
 * neither). Another year (昨年 last year, 同年, H31年, 民國109年) leaves the month and day a date of their own. */
static int after_read_year(const char *t, size_t at)
{
    at = skip_space_back(t, at);
    if (at < 3 || (memcmp(t + at - 3, "\xe5\xb9\xb4", 3) != 0 && memcmp(t + at - 3, "\xeb\x85\x84", 3) != 0))
        return 0;
    at = skip_space_back(t, at - 3);
    size_t d = at;
    while (d > 0 && t[d - 1] >= '0' && t[d - 1] <= '9')
        d--;
    if (at - d == 4 && (t[d] == '1' || t[d] == '2')) /* 19xx, 20xx */
        return 1;
    if (at - d == 0 && at >= 3 && !memcmp(t + at - 3, "\xe5\x85\x83", 3)) /* 元 */
        d = at - 3;
    else if (at - d == 0 || at - d > 3)
        return 0;
    d = skip_space_back(t, d);
    size_t len;
    return (d >= 6 && dv_era_of(t + d - 6, 6, 0, &len) >= 0) || (d >= 3 && dv_era_of(t + d - 3, 3, 1, &len) >= 0);
}

/* 3月5日, 3월 5일: a month and a day with no year, valid in a leap year (as `March 5`). */
static int chk_cjk_md(const match_ctx *m, dv_finding *c)
{
    if (after_read_year(m->t, c->start))
        return 0;
    return date_result(m, c, 2000, grp_int(m, 1), grp_int(m, 2));
}

static int chk_d_mon(const match_ctx *m, dv_finding *c)
{
    int d = grp_int(m, 1);
    if (d < 0) /* "March 14" form: groups swapped */
        return date_result(m, c, 2000, month_group(m, 3), grp_int(m, 4));
    return date_result(m, c, 2000, month_group(m, 2), d);
}

static int chk_age_value(const match_ctx *m, dv_finding *c, int g)
{
    int v = grp_int(m, g);
    (void)c;
    return v >= 0 && v <= 125;
}

static int chk_age_old(const match_ctx *m, dv_finding *c) { return chk_age_value(m, c, 1); }

static int chk_age_ctx(const match_ctx *m, dv_finding *c)
{
    size_t s = 0, e = 0;
    if (!grp(m, 1, &s, &e))
        return 0;
    c->start = (uint32_t)s;
    c->end = (uint32_t)e;
    return chk_age_value(m, c, 2);
}

/* "45 years" / "45 y": an age unless a duration word precedes ("for 5 years", "in 2 y"). */
static int chk_age_bare(const match_ctx *m, dv_finding *c)
{
    if (!chk_age_value(m, c, 1) || ctx_before(m, CTX_DURATION, c->start))
        return 0;
    if (grp_len(m, 2))
        c->score = 90; /* "... of age" */
    return 1;
}

static int chk_age_as(const match_ctx *m, dv_finding *c)
{
    int v = grp_int(m, 1);
    size_t s = 0, e = 0;
    grp(m, 2, &s, &e);
    if (m->t[s] == 'Y')
        return v <= 150;
    return m->t[c->start] == '0';
}

/* H:MM without seconds or am/pm is a time only after a time word: "1:10" alone is as likely a ratio. */
static int chk_time(const match_ctx *m, dv_finding *c)
{
    int h = grp_int(m, 1);
    size_t s = 0, e = 0;
    int ampm = grp(m, 5, &s, &e);
    if (ampm && (h == 0 || h > 12))
        return 0;
    if (ctx_before(m, CTX_RATIO, c->start))
        return 0;
    grp(m, 2, &s, &e);
    int colon = m->t[s] == ':';
    if (colon && grp_len(m, 1) == 1 && !grp_len(m, 4) && !ampm) {
        if (!ctx_before(m, CTX_TIME, c->start))
            return 0;
        c->score = 70;
    }
    return 1;
}

static int chk_phone_digits(const match_ctx *m, dv_finding *c, size_t lo, size_t hi)
{
    char d[32];
    size_t n = digits_of(m->t, c->start, c->end, d, sizeof d);
    return n >= lo && n <= hi;
}

static int chk_phone_intl(const match_ctx *m, dv_finding *c) { return chk_phone_digits(m, c, 8, 15); }
static int chk_phone_nat(const match_ctx *m, dv_finding *c) { return chk_phone_digits(m, c, 9, 12); }

static int chk_phone_ctx(const match_ctx *m, dv_finding *c)
{
    size_t s = 0, e = 0;
    if (!grp(m, 1, &s, &e))
        return 0;
    c->start = (uint32_t)s;
    c->end = (uint32_t)e;
    return chk_phone_digits(m, c, 6, 15);
}

static int chk_url(const match_ctx *m, dv_finding *c)
{
    while (c->end > c->start && strchr(".,;:!?)]}'\"", m->t[c->end - 1]))
        c->end--;
    return c->end - c->start > 7;
}

static int chk_ipv4(const match_ctx *m, dv_finding *c)
{
    return !ctx_before(m, CTX_VERSION, c->start);
}

static int chk_ipv6(const match_ctx *m, dv_finding *c)
{
    while (c->end > c->start && m->t[c->end - 1] == '.')
        c->end--;
    size_t n = c->end - c->start, colons = 0;
    char buf[64];
    if (n < 3 || n >= sizeof buf)
        return 0;
    memcpy(buf, m->t + c->start, n);
    buf[n] = '\0';
    for (size_t i = 0; i < n; i++)
        colons += buf[i] == ':';
    unsigned char addr[16];
    return colons >= 2 && inet_pton(AF_INET6, buf, addr) == 1;
}

static int chk_ssn(const match_ctx *m, dv_finding *c)
{
    char d[16];
    if (digits_of(m->t, c->start, c->end, d, sizeof d) != 9 || !dv_ssn_ok(d, 9))
        return 0;
    int ctx = ctx_before(m, CTX_SSN, c->start);
    size_t sep = grp_len(m, 2);
    if (ctx)
        c->score = 95;
    else if (!sep)
        return 0; /* nine bare digits are an SSN only after "SSN" */
    else if (m->t[c->start + 3] == ' ')
        c->score = 70;
    return 1;
}

static int chk_card(const match_ctx *m, dv_finding *c)
{
    char d[24];
    char sep = 0;
    for (size_t k = c->start; k < c->end; k++) {
        char ch = m->t[k];
        if (ch == ' ' || ch == '-') {
            if (sep && sep != ch)
                return 0; /* mixed separators: two numbers, not one card */
            sep = ch;
        }
    }
    size_t n = digits_of(m->t, c->start, c->end, d, sizeof d);
    return n && dv_card_ok(d, n);
}

static int chk_npi(const match_ctx *m, dv_finding *c)
{
    if (!dv_npi_ok(m->t + c->start, 10))
        return 0;
    if (ctx_before(m, CTX_NPI, c->start))
        c->score = 95;
    return 1;
}

static int chk_nhs(const match_ctx *m, dv_finding *c)
{
    char d[16];
    if (digits_of(m->t, c->start, c->end, d, sizeof d) != 10 || !dv_nhs_ok(d, 10))
        return 0;
    /* Without "NHS" before it, ten digits are as likely a phone number: let a phone pattern win. */
    c->score = ctx_before(m, CTX_NHS, c->start) ? 95 : 75;
    return 1;
}

/* The shape matched up to 30 characters; the country's IBAN length decides where it ends. */
static int chk_iban(const match_ctx *m, dv_finding *c)
{
    int want = dv_iban_length(m->t + c->start);
    if (!want)
        return 0;
    char buf[40];
    size_t n = 0, k = c->start;
    for (; k < c->end && n < (size_t)want; k++)
        if (m->t[k] != ' ')
            buf[n++] = m->t[k];
    if (n != (size_t)want)
        return 0;
    if (k < m->len && ((m->t[k] >= 'A' && m->t[k] <= 'Z') || (m->t[k] >= '0' && m->t[k] <= '9') ||
                       (m->t[k] >= 'a' && m->t[k] <= 'z')))
        return 0;
    c->end = (uint32_t)k;
    return dv_iban_ok(buf, n);
}

/* An identifier after a record-number word: at least one digit, at least 3 characters. */
static int chk_mrn(const match_ctx *m, dv_finding *c)
{
    size_t s = 0, e = 0, ws = 0, we = 0;
    if (!grp(m, 2, &s, &e) || !grp(m, 1, &ws, &we) || e - s < 3)
        return 0;
    int digit = 0;
    for (size_t k = s; k < e; k++)
        digit |= m->t[k] >= '0' && m->t[k] <= '9';
    if (!digit)
        return 0;
    /* Weak words ("ID", "No.", "case") say less than "MRN" or "accession". */
    size_t wl = we - ws;
    if ((wl <= 3 && strncasecmp(m->t + ws, "MR", 2) != 0 && strncasecmp(m->t + ws, "PID", 3) != 0 &&
         strncasecmp(m->t + ws, "IPP", 3) != 0) ||
        (wl >= 4 && !strncasecmp(m->t + ws, "case", 4)))
        c->score = 75;
    c->start = (uint32_t)s;
    c->end = (uint32_t)e;
    return 1;
}

/* `City ST 12345`: an address when the ZIP's first three digits are ones the state uses (not `Head CT 70450`, a
 * CPT code after a view or modality that is also a state code); the finding covers the ZIP. */
static int chk_city_zip(const match_ctx *m, dv_finding *c)
{
    size_t s = 0, e = 0, zs = 0, ze = 0;
    if (!grp(m, 1, &s, &e) || !grp(m, 2, &zs, &ze) || !dv_us_zip_state_ok(m->t + s, m->t + zs))
        return 0;
    c->start = (uint32_t)zs;
    c->end = (uint32_t)ze;
    return 1;
}

/* One all-caps place name (words_text, n bytes): a populated place the lexicon knows (GeoNames), or words of at
 * least 4 letters none of which is an English, clinical or function word. */
static int caps_place(const char *t, size_t n)
{
    char key[128];
    size_t k = dv_fold_phrase(t, n, key, sizeof key);
    if (k == 0)
        return 0;
    uint32_t f = dv_lex_lookup(key, k);
    if ((f & DV_LEX_CITY) && !(f & DV_LEX_CLINICAL))
        return 1;
    for (size_t a = 0; a < k;) {
        size_t b = a;
        while (b < k && key[b] != ' ')
            b++;
        if (b - a < 4 || (dv_lex_lookup(key + a, b - a) & (DV_LEX_ENG | DV_LEX_CLINICAL | DV_LEX_NOTNAME |
                                                             DV_LEX_TITLE | DV_LEX_TRIGGER | DV_LEX_EPONYM)))
            return 0;
        a = b + 1;
    }
    return 1;
}

/* `SPRINGFIELD IL 62704`: all-caps words before a state code and a ZIP that state uses. In capitals a view or a
 * modality stands there as often (`CHEST PA 15213`, `HEAD CT 06103`), so the city is the longest run of the last
 * one to three words that is a place (caps_place); the finding covers it, the state and the ZIP (an all-caps
 * city is not one the name detectors find on their own). */
static int chk_caps_city_zip(const match_ctx *m, dv_finding *c)
{
    size_t s = 0, e = 0, ss = 0, se = 0, zs = 0, ze = 0;
    if (!grp(m, 1, &s, &e) || !grp(m, 2, &ss, &se) || !grp(m, 3, &zs, &ze) ||
        !dv_us_zip_state_ok(m->t + ss, m->t + zs))
        return 0;
    for (size_t from = s; from < e;) { /* the whole run first, then without its first word, ... */
        if (caps_place(m->t + from, e - from)) {
            c->start = (uint32_t)from;
            c->end = (uint32_t)ze;
            return 1;
        }
        while (from < e && m->t[from] != ' ')
            from++;
        from++;
    }
    return 0;
}

static int chk_span1(const match_ctx *m, dv_finding *c)
{
    size_t s = 0, e = 0;
    if (!grp(m, 1, &s, &e))
        return 0;
    c->start = (uint32_t)s;
    c->end = (uint32_t)e;
    return 1;
}

#define STREET_SUFFIX "(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|Court|Ct|Place|Pl|" \
    "Terrace|Ter|Close|Crescent|Cres|Square|Sq|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Trail|Row|Mews|Gardens|" \
    "Grove|Walk|Broadway|STREET|AVENUE|ROAD|BOULEVARD|LANE|DRIVE|COURT|PLACE|TERRACE|HIGHWAY)"
#define US_STATES "(?:AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|" \
    "NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR)"

/* The detectors. Order does not matter: dv_findings_normalise resolves overlaps by score, then length. */
static const spec specs[] = {
    /* DATE (and DATE_OF_BIRTH by context) */
    {DV_IT_DATE, 85, P_DIGIT, 0, 0, chk_da, 8, 8, NB DA_DT DA_END, PRE_NB_RUN8},
    /* the same glued after letters or an underscore, as a procedure step ID or a file name is written (Siemens'
     * `MR20140310133834`: the study's date and time; `MR_20140310`); the digits must end with the date or its
     * time (stop 44's audit) */
    {DV_IT_DATE, 85, P_DIGIT, 0, 0, chk_da, 8, 8, "(?<=[A-Za-z_])" DA_DT DA_END, PRE_ALPHA_RUN8},
    {DV_IT_DATE, 85, P_DIGIT, 0, 0, chk_ymd, 6, 4,
     NB "((?:19|20)[0-9]{2})([-/.])(0?[1-9]|1[0-2])\\2(0?[1-9]|[12][0-9]|3[01])(?!(?!T[0-9])[A-Za-z0-9_]|[.,:/-][0-9])", PRE_NB_RUN4},
    /* ISO 8601 ordinal: YYYY-DDD, not a piece of a longer code (`ISO-2020-065`, `2020-065-A`, `2020-0651`) */
    {DV_IT_DATE, 75, P_DIGIT | P_DASH, 0, 0, chk_ordinal, 7, 4,
     NB "(?<![A-Za-z0-9_]-)((?:19|20)[0-9]{2})-([0-9]{3})(?![A-Za-z0-9_]|[.,:/][0-9]|-[A-Za-z0-9])", PRE_ORDINAL},
    {DV_IT_DATE, 85, P_DIGIT, 0, 0, chk_dmy, 4, 2,
     NB "([0-9]{1,2})([-/.])([0-9]{1,2})\\2((?:19|20)[0-9]{2}|2[4-6][0-9]{2}|[0-9]{2})" NE, PRE_DSEP2}, /* 2563: BE */
    /* a month name and a day: the year four digits, or two after an apostrophe (`5 Mar '20`, `Mar. 5, '20`) */
    {DV_IT_DATE, 85, P_DIGIT | P_ALPHA, 0, PCRE2_CASELESS, chk_d_mon_y, 3, 2,
     WB "([0-9]{1,2})(?:st|nd|rd|th|er|\\.)?[ -]?(" MON ")\\.?,?[ -]?" YEAR_APOS WE, PRE_MONTH},
    /* the year two bare digits (`5 Mar 20`, `05-MAR-20`): one space or one hyphen between day, month and year, and
     * no more digits (`5 Mar 20.5`, `5 Mar 20-25`) or a unit (`5 Mar 20 mg`) after them */
    {DV_IT_DATE, 75, P_DIGIT | P_ALPHA, 0, PCRE2_CASELESS, chk_d_mon_yy, 3, 2,
     NB "([0-9]{1,2})([ -])(" MON ")\\2([0-9]{2})(?![A-Za-z0-9_]|[.,:/-][0-9]|\\s*" UNIT ")", PRE_DAY_MONTH},
    {DV_IT_DATE, 85, P_DIGIT | P_ALPHA, 0, PCRE2_CASELESS, chk_mon_d_y, 3, 2,
     WB "(" MON ")\\.?[ -]([0-9]{1,2})(?:st|nd|rd|th)?,?[ -]" YEAR_APOS WE, PRE_MONTH},
    /* year first, as viewers print it (`1988 Jun 09`, `2019-MAR-14`; JSL's burned-in study dates) */
    {DV_IT_DATE, 85, P_DIGIT | P_ALPHA, 0, PCRE2_CASELESS, chk_y_mon_d, 5, 4,
     WB "((?:19|20)[0-9]{2})[ -](" MON ")\\.?[ -]([0-9]{1,2})(?:st|nd|rd|th)?" WE, PRE_MONTH},
    {DV_IT_DATE, 70, P_DIGIT | P_ALPHA, 0, PCRE2_CASELESS, chk_mon_y, 4, 4,
     WB "(" MON ")\\.?,?[ -]((?:19|20)[0-9]{2})" WE, PRE_MONTH},
    /* CJK: 2020年3月5日 (Japanese, Chinese), 2020년 3월 5일 (Korean); full-width digits are folded first. The
     * month form is not taken out of a full date that is invalid (2021年2月29日 is no date, as 1988 Feb 30). */
    {DV_IT_DATE, 85, P_DIGIT | P_ALPHA, 0, 0, chk_da, 6, 4,
     NB "((?:19|20)[0-9]{2})\\s*" CJK_Y "\\s*([0-9]{1,2})\\s*" CJK_M "\\s*([0-9]{1,2})\\s*" CJK_D, PRE_CJK_YEAR},
    {DV_IT_DATE, 70, P_DIGIT | P_ALPHA, 0, 0, chk_cjk_ym, 5, 4,
     NB "((?:19|20)[0-9]{2})\\s*" CJK_Y "\\s*([0-9]{1,2})\\s*" CJK_M "(?!\\s*[0-9]+\\s*" CJK_D ")", PRE_CJK_YEAR},
    /* Japanese eras: 令和2年3月5日, 令和元年5月1日, 平成31年4月 */
    {DV_IT_DATE, 85, P_DIGIT | P_ALPHA, 0, 0, chk_era_ymd, 2, 1,
     ERA ERA_YEAR "\\s*([0-9]{1,2})\\s*" CJK_M "\\s*([0-9]{1,2})\\s*" CJK_D, PRE_CJK_ERA},
    {DV_IT_DATE, 70, P_DIGIT | P_ALPHA, 0, 0, chk_era_ym, 1, 1,
     ERA ERA_YEAR "\\s*([0-9]{1,2})\\s*" CJK_M "(?!\\s*[0-9]+\\s*" CJK_D ")", PRE_CJK_ERA},
    /* a month and a day without a year: 3月5日, 3月5号, 3월 5일; not right after a year the dated patterns read
     * (chk_cjk_md) */
    {DV_IT_DATE, 65, P_DIGIT | P_ALPHA, 0, 0, chk_cjk_md, 2, 1,
     "(?<![0-9])([0-9]{1,2})\\s*" CJK_M "\\s*([0-9]{1,2})\\s*" CJK_D, PRE_CJK_MONTH},
    /* in kanji numerals: 二〇二四年三月五日, 令和六年十二月二十五日, 三月五日 (kanjinum.h; dateshift.c writes a shifted
     * date back in the same numerals) */
    {DV_IT_DATE, 85, P_KMONTH, 0, 0, chk_kanji_ymd, 0, 0,
     "(?<!" KD ")(" KD "{4})\\s*" CJK_Y "\\s*" KN "\\s*" CJK_M "\\s*" KN "\\s*" CJK_D, PRE_CJK_MONTH},
    {DV_IT_DATE, 70, P_KMONTH, 0, 0, chk_kanji_ym, 0, 0,
     "(?<!" KD ")(" KD "{4})\\s*" CJK_Y "\\s*" KN "\\s*" CJK_M "(?!\\s*(?:" KD "|\\x{5341})+\\s*" CJK_D ")", PRE_CJK_MONTH},
    {DV_IT_DATE, 85, P_KMONTH, 0, 0, chk_era_ymd, 0, 0,
     ERA "\\s*((?:" KD "|\\x{5341}){1,3}|\\x{5143})\\s*\\x{5e74}\\s*" KN "\\s*" CJK_M "\\s*" KN "\\s*" CJK_D, PRE_CJK_ERA},
    {DV_IT_DATE, 65, P_KMONTH, 0, 0, chk_kanji_md, 0, 0,
     "(?<!" KD "|\\x{5341}|\\x{5e74})" KN "\\s*" CJK_M "\\s*" KN "\\s*" CJK_D, PRE_CJK_MONTH},
    /* Thai: 23 เม.ย. 2563, 23 เมษายน พ.ศ. 2563, 5 ม.ค. 63; เมษายน 2563 (an abbreviation not inside a word);
     * 23 เมษายน (no year: not before a year or an era mark, so an invalid date is not cut down to its day and month;
     * a time or a count after it is no year: 5 ม.ค. 10.00 น., 23 เม.ย. 3 ครั้ง) */
    {DV_IT_DATE, 85, P_DIGIT | P_ALPHA, 0, 0, chk_th_dmy, 3, 2,
     NB "([0-9]{1,2})\\s*" TH_MONTH_WORD "(" TH_FULL "|" TH_ABBR ")\\.?\\s*" TH_ERA "([0-9]{4}|[0-9]{2})" NE, PRE_THAI},
    {DV_IT_DATE, 70, P_DIGIT | P_ALPHA, 0, 0, chk_th_my, 4, 4,
     TH_MONTH_WORD "(" TH_FULL "|(?<![.\\x{0e01}-\\x{0e4e}])" TH_ABBR ")\\.?\\s*" TH_ERA "([0-9]{4})" NE, PRE_THAI},
    {DV_IT_DATE, 65, P_DIGIT | P_ALPHA, 0, 0, chk_th_dm, 1, 1,
     NB "([0-9]{1,2})\\s*" TH_MONTH_WORD "(" TH_FULL "|" TH_ABBR ")"
     "(?!\\.?\\s*(?:[0-9]{2}(?:[0-9]{2})?(?![0-9.:])|[\\x{0e1e}\\x{0e04}]\\.\\x{0e28}))", PRE_THAI},
    {DV_IT_DATE, 65, P_DIGIT | P_ALPHA, 0, PCRE2_CASELESS, chk_d_mon, 1, 1,
     WB "(?:([0-9]{1,2})(?:st|nd|rd|th|er|\\.)?(?: of)? (" FULLMON ")|(" FULLMON ") ([0-9]{1,2})(?:st|nd|rd|th)?)" WE, PRE_MONTH},
    /* AGE */
    {DV_IT_AGE, 90, P_DIGIT | P_ALPHA, 0, PCRE2_CASELESS, chk_age_old, 1, 1,
     WB "([0-9]{1,3})[ -]?(?:(?:years?|yrs?|y|months?|mos?|weeks?|days?)[ -]?old|y\\.?\\s?o\\.?|y/o|j\\.? alt|jahre? alt|ans)"
        "(?![A-Za-z])", PRE_AGE_OLD},
    {DV_IT_AGE, 85, P_DIGIT | P_ALPHA, 0, PCRE2_CASELESS, chk_age_ctx, 1, 1,
     WB "(?:aged?|alter|\\x{e2}ge|pt age)\\s*[:=]?\\s*(([0-9]{1,3})(?:\\s*(?:years?|yrs?|y|j|ans|jahre))?)" WE, PRE_AGE_WORD},
    {DV_IT_AGE, 65, P_DIGIT | P_ALPHA, 0, PCRE2_CASELESS, chk_age_bare, 1, 1,
     WB "([0-9]{1,3})\\s?(?:years?|yrs?|y)( of age)?(?![A-Za-z0-9_])(?!\\s+(?:ago|later|earlier|before|after|"
        "prior|follow|history|duration|of (?!age)))", PRE_AGE_Y},
    {DV_IT_AGE, 80, P_DIGIT | P_UPPER, 0, 0, chk_age_as, 3, 3, WB "([0-9]{3})([DWMY])" WE, PRE_AS},
    /* TIME */
    {DV_IT_TIME, 80, P_DIGIT, P_COLON | P_H, 0, chk_time, 3, 1,
     NB "([01]?[0-9]|2[0-3])([:h])([0-5][0-9])(?::([0-5][0-9])(?:\\.[0-9]{1,6})?)?(?:\\s?([AaPp])\\.?[Mm]\\.?"
        "(?![A-Za-z]))?" NE, PRE_TIME},
    {DV_IT_TIME, 75, P_DIGIT | P_ALPHA, 0, 0, NULL, 1, 1, WB "(?:1[0-2]|0?[1-9])\\s?[AaPp]\\.?[Mm]\\.?(?![A-Za-z0-9])", PRE_AMPM},
    /* PHONE_NUMBER */
    {DV_IT_PHONE_NUMBER, 85, P_DIGIT, 0, 0, chk_phone_intl, 8, 1,
     "(?<![A-Za-z0-9_+])(?:\\+|(?<![0-9] )00)[1-9][0-9]{0,2}(?:[ .-]?\\(0?[0-9]{1,4}\\))?[ .-]?[0-9]{1,5}(?:[ .-]?[0-9]{2,5}){1,5}" NE, PRE_PHONE_INTL},
    {DV_IT_PHONE_NUMBER, 80, P_DIGIT, 0, 0, NULL, 10, 3,
     "(?<![A-Za-z0-9_+.-])(?:\\+?1[ .-]?)?(?:\\([2-9][0-9]{2}\\)\\s?|[2-9][0-9]{2}[ .-])[0-9]{3}[ .-][0-9]{4}" NE, PRE_PHONE_NANP},
    {DV_IT_PHONE_NUMBER, 80, P_DIGIT, 0, 0, NULL, 10, 2, WB "0[1-9](?:([ .])[0-9]{2})(?:\\1[0-9]{2}){3}" NE, PRE_PHONE_FR},
    {DV_IT_PHONE_NUMBER, 70, P_DIGIT, 0, 0, chk_phone_nat, 9, 2,
     "(?<![A-Za-z0-9_+.,/-])0[1-9][0-9]{1,4}[ /-][0-9]{3,8}(?:[ -][0-9]{3,5})?" NE, PRE_PHONE_NAT},
    /* Japan's 2-digit area codes (Tokyo 03, Osaka 06): 0X-XXXX-XXXX, the form the national pattern above cannot
     * take (its area code has >= 3 digits); with hyphens only, 10 digits, so no date or ID shape matches it */
    {DV_IT_PHONE_NUMBER, 70, P_DIGIT, 0, 0, NULL, 10, 4,
     "(?<![A-Za-z0-9_+.,/-])0[1-9]-[0-9]{4}-[0-9]{4}" NE, PRE_PHONE_NAT},
    {DV_IT_PHONE_NUMBER, 90, P_DIGIT | P_ALPHA, 0, PCRE2_CASELESS, chk_phone_ctx, 6, 1,
     WB "(?:tel(?:ephone)?|phone|fax|mobile|cell|ph|t\\x{e9}l|telefon|pager|bleep|contact)\\.?(?:\\s*(?:no\\.?|number|#))?"
        "\\s*[:.#]?\\s*(\\+?\\(?[0-9][0-9 ()./-]{4,22}[0-9])" NE, PRE_PHONE_WORD},
    /* EMAIL_ADDRESS, URL, IP_ADDRESS, MAC_ADDRESS */
    {DV_IT_EMAIL_ADDRESS, 95, P_AT, 0, 0, NULL, 0, 0,
     "(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
     "(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*\\.[A-Za-z]{2,24}" WE, PRE_NONE},
    {DV_IT_URL, 90, P_ALPHA, P_COLON | P_DOT, PCRE2_CASELESS, chk_url, 0, 0,
     WB "(?:(?:https?|ftps?|sftp|dicomweb)://|www\\.)[^\\s<>\"'`]+", PRE_URL},
    {DV_IT_IP_ADDRESS, 85, P_DIGIT | P_DOT, 0, 0, chk_ipv4, 4, 1,
     "(?<![A-Za-z0-9_.])(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|"
     "[1-9]?[0-9])(?::[0-9]{1,5})?(?![A-Za-z0-9_]|\\.[0-9])", PRE_IPV4},
    {DV_IT_IP_ADDRESS, 90, P_COLON, 0, 0, chk_ipv6, 0, 0,
     "(?<![A-Za-z0-9_:.])(?=[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:)[0-9A-Fa-f:.]{3,45}(?![A-Za-z0-9_:])", PRE_IPV6},
    {DV_IT_MAC_ADDRESS, 90, 0, P_COLON | P_DASH | P_DOT, 0, NULL, 0, 0,
     "(?<![A-Za-z0-9_:.-])(?:[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(?:\\1[0-9A-Fa-f]{2}){4}|[0-9A-Fa-f]{4}\\.[0-9A-Fa-f]{4}"
     "\\.[0-9A-Fa-f]{4})(?![A-Za-z0-9_:-]|\\.[0-9A-Fa-f])", PRE_MAC},
    /* Numbers with check digits */
    {DV_IT_US_SOCIAL_SECURITY_NUMBER, 85, P_DIGIT, 0, 0, chk_ssn, 9, 2, NB "([0-9]{3})([- ]?)([0-9]{2})\\2([0-9]{4})" NE, PRE_NB_RUN3},
    {DV_IT_CREDIT_CARD_NUMBER, 95, P_DIGIT, 0, 0, chk_card, 12, 1,
     "(?<![A-Za-z0-9_.-])[0-9](?:[ -]?[0-9]){11,18}(?![A-Za-z0-9_]|[.-][0-9])", PRE_CARD},
    {DV_IT_IBAN_CODE, 95, P_DIGIT | P_UPPER, 0, 0, chk_iban, 8, 2, WB "[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}", PRE_IBAN},
    {DV_IT_US_HEALTHCARE_NPI, 70, P_DIGIT, 0, 0, chk_npi, 10, 10, NB "[12][0-9]{9}" NE, PRE_NB_RUN10},
    {DV_IT_UK_NATIONAL_HEALTH_SERVICE_NUMBER, 75, P_DIGIT, 0, 0, chk_nhs, 10, 3,
     NB "([0-9]{3})([ -]?)([0-9]{3})\\2([0-9]{4})" NE, PRE_NB_RUN3},
    /* MEDICAL_RECORD_NUMBER and other identifiers after a record-number word */
    {DV_IT_MEDICAL_RECORD_NUMBER, 85, P_DIGIT | P_ALPHA, 0, PCRE2_CASELESS, chk_mrn, 1, 1,
     WB "(MRN|MR\\s?#|MR\\s?(?:no|nr)\\.?|med(?:ical)?\\.?\\s*rec(?:ord)?\\.?(?:\\s*(?:no\\.?|number|#|nr\\.?))?|"
        "(?:patient|pat|pt)\\.?\\s*(?:id|no\\.?|number|#|nr\\.?)|PID|hosp(?:ital)?\\.?\\s*(?:no\\.?|number|id|#)|"
        "accession(?:\\s*(?:no\\.?|number|#|nr\\.?))?|acc(?:ess)?\\.?\\s*(?:no\\.?|#|nr\\.?)?|case\\s*(?:id|no\\.?|number|#)?|"
        "study\\s*(?:id|no\\.?|#)|exam(?:ination)?\\s*(?:id|no\\.?|number|#)|order\\s*(?:id|no\\.?|number|#)|"
        "requisition(?:\\s*(?:id|no\\.?|number|#))?|visit\\s*(?:id|no\\.?|number|#)|encounter\\s*(?:id|no\\.?|number|#)?|"
        "fallnummer|fall-?nr\\.?|aktenzeichen|dossier|IPP|ID|Nr\\.?|No\\.?)"
        "\\s*[:#=.]?\\s*(?:is\\s+)?([A-Za-z0-9](?:[A-Za-z0-9/_-]{0,30}[A-Za-z0-9])?)(?![A-Za-z0-9])", PRE_NONE},
    /* STREET_ADDRESS: house number + name + suffix; German, French; postcodes with their context */
    {DV_IT_STREET_ADDRESS, 85, P_DIGIT | P_UPPER, 0, 0, NULL, 1, 1,
     WB "[0-9]{1,5}[A-Za-z]?(?:-[0-9]{1,5})?,?\\s+(?:(?:[NSEW]\\.?|North|South|East|West)\\s+)?"
        "(?:[A-Z][A-Za-z'-]*\\.?\\s+){1,4}" STREET_SUFFIX "\\.?(?![A-Za-z])"
        "(?:,?\\s*(?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|Room|Rm|APT|SUITE|UNIT|#)\\.?\\s*#?[A-Za-z0-9-]{1,6})?", PRE_STREET},
    {DV_IT_STREET_ADDRESS, 85, P_DIGIT | P_UPPER, 0, 0, NULL, 1, 1,
     "(?<![\\w\\x{80}-\\x{10ffff}])(?:[A-Z\\x{c4}\\x{d6}\\x{dc}][a-z\\x{e4}\\x{f6}\\x{fc}\\x{df}-]+"
     "(?:stra\\x{df}e|strasse|str\\.|gasse|allee|platz|weg)|(?:[A-Z\\x{c4}\\x{d6}\\x{dc}][a-z\\x{e4}\\x{f6}\\x{fc}\\x{df}-]+\\s)?"
     "(?:Stra\\x{df}e|Strasse|Str\\.|Gasse|Allee|Platz))\\s+[0-9]{1,4}[a-z]?(?![A-Za-z0-9])", PRE_STREET_DE},
    {DV_IT_STREET_ADDRESS, 85, P_DIGIT | P_ALPHA, 0, 0, NULL, 1, 1,
     WB "[0-9]{1,4}(?:\\s?(?:bis|ter))?,?\\s+(?i:rue|avenue|av\\.|boulevard|bd|place|chemin|all\\x{e9}e|impasse|quai|route|cours)"
        "\\s+(?:(?:de|du|des|la|le|l'|d')\\s*)*[A-Z\\x{c9}\\x{c8}][^\\s,;]*(?:\\s+(?:(?:de|du|des|la|le)\\s+)?[A-Z\\x{c9}\\x{c8}][^\\s,;]*){0,3}", PRE_STREET_FR},
    {DV_IT_STREET_ADDRESS, 75, P_DIGIT | P_UPPER, 0, 0, NULL, 2, 1,
     WB "(?:[A-PR-UWYZ][0-9][0-9A-HJKMNPR-Y]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9ABEHMNPRVWXY]?) ?[0-9][ABD-HJLNP-UW-Z]{2}" WE, PRE_POST_UK},
    {DV_IT_STREET_ADDRESS, 80, P_DIGIT | P_UPPER, 0, 0, NULL, 3, 1,
     WB "[ABCEGHJ-NPRSTVXY][0-9][ABCEGHJ-NPRSTV-Z] [0-9][ABCEGHJ-NPRSTV-Z][0-9]" WE, PRE_POST_CA},
    {DV_IT_STREET_ADDRESS, 85, P_DIGIT | P_UPPER, 0, 0, chk_span1, 5, 5,
     "[A-Z][A-Za-z.'-]+,\\s*" US_STATES "\\s+([0-9]{5}(?:-[0-9]{4})?)" NE, PRE_ZIP_STATE},
    /* without the comma: a city word written as a name (a capital, then a small letter: not `CHEST PA 15213`) and a
     * ZIP the state uses (chk_city_zip) */
    {DV_IT_STREET_ADDRESS, 80, P_DIGIT | P_UPPER, 0, 0, chk_city_zip, 5, 5,
     WB "[A-Z][a-z][A-Za-z.'-]*\\s+(" US_STATES ")\\s+([0-9]{5}(?:-[0-9]{4})?)" NE, PRE_ZIP_STATE},
    /* in capitals without the comma: the last one to three words a place (chk_caps_city_zip) */
    {DV_IT_STREET_ADDRESS, 80, P_DIGIT | P_UPPER, 0, 0, chk_caps_city_zip, 5, 5,
     WB "([A-Z][A-Z'-]+(?: [A-Z][A-Z'-]+){0,2})\\s+(" US_STATES ")\\s+([0-9]{5}(?:-[0-9]{4})?)" NE, PRE_ZIP_STATE},
    {DV_IT_STREET_ADDRESS, 85, P_DIGIT | P_ALPHA, 0, PCRE2_CASELESS, chk_span1, 1, 1,
     WB "(?:zip(?:\\s*code)?|postcode|post code|plz|code postal)\\s*[:#]?\\s*([0-9]{5}(?:-[0-9]{4})?|"
        "[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2})" WE, PRE_ZIP_WORD},
    {DV_IT_STREET_ADDRESS, 70, P_DIGIT | P_UPPER, 0, 0, NULL, 5, 5,
     "(?:(?<=, )|(?<=; )|(?<![A-Za-z0-9_.,:/-])(?:D|F|A|CH)-)[0-9]{5}(?=\\s+[A-Z\\x{c4}\\x{d6}\\x{dc}][a-z\\x{e4}\\x{f6}\\x{fc}\\x{df}]{2,})", PRE_PLZ},
    {DV_IT_STREET_ADDRESS, 85, P_DIGIT | P_ALPHA, 0, PCRE2_CASELESS, NULL, 1, 1, WB "P\\.?\\s?O\\.?\\s?Box\\s+[0-9]{1,6}" WE, PRE_BOX},
};

#define NSPECS (sizeof specs / sizeof specs[0])

static pcre2_code *compile(const char *re, uint32_t flags, uint32_t *max_pairs, dv_error *err, int idx)
{
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
                                  PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | flags, &ec, &eo, NULL);
    if (!c) {
        dv_fail(err, DV_ERR_UNSUPPORTED, "text pattern %d does not compile (PCRE2 error %d at offset %zu)", idx, ec,
                (size_t)eo);
        return NULL;
    }
    pcre2_jit_compile(c, PCRE2_JIT_COMPLETE); /* without JIT, the interpreter gives the same answers */
    uint32_t caps = 0;
    pcre2_pattern_info(c, PCRE2_INFO_CAPTURECOUNT, &caps);
    if (caps + 1 > *max_pairs)
        *max_pairs = caps + 1;
    return c;
}

dv_patterns *dv_patterns_new(dv_error *err)
{
    _Static_assert(NSPECS <= 64, "dv_patterns.code holds 64 patterns");
    dv_patterns *p = calloc(1, sizeof *p);
    if (!p) {
        dv_fail(err, DV_ERR_NOMEM, "text patterns: out of memory");
        return NULL;
    }
    p->specs = specs;
    p->n = NSPECS;
    p->max_pairs = 1;
    for (size_t i = 0; i < NSPECS; i++)
        if (!(p->code[i] = compile(specs[i].re, specs[i].caseless, &p->max_pairs, err, (int)i)))
            goto fail;
    for (int k = 0; k < CTX_COUNT; k++)
        if (!(p->ctx[k] = compile(ctx_re[k], PCRE2_CASELESS, &p->max_pairs, err, 100 + k)))
            goto fail;
    /* A DICOM UID or OID: five or more dot-separated numbers. Nothing inside one is PHI by pattern. */
    if (!(p->uid = compile("(?<![A-Za-z0-9_.])[0-9]+(?:\\.[0-9]+){4,}", 0, &p->max_pairs, err, 200)))
        goto fail;
    if (p->max_pairs > SCRATCH_PAIRS) {
        dv_fail(err, DV_ERR_UNSUPPORTED, "text patterns need %u capture pairs, scratch holds %d", p->max_pairs,
                SCRATCH_PAIRS);
        goto fail;
    }
    return p;
fail:
    dv_patterns_free(p);
    return NULL;
}

void dv_patterns_free(dv_patterns *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        pcre2_code_free(p->code[i]);
    for (int k = 0; k < CTX_COUNT; k++)
        pcre2_code_free(p->ctx[k]);
    pcre2_code_free(p->uid);
    free(p);
}


dv_text_scratch *dv_text_scratch_new(dv_error *err)
{
    dv_text_scratch *s = calloc(1, sizeof *s);
    if (s) {
        s->md = pcre2_match_data_create(SCRATCH_PAIRS, NULL);
        s->md_ctx = pcre2_match_data_create(SCRATCH_PAIRS, NULL);
        s->mctx = pcre2_match_context_create(NULL);
    }
    if (!s || !s->md || !s->md_ctx || !s->mctx) {
        dv_text_scratch_free(s);
        dv_fail(err, DV_ERR_NOMEM, "text scratch: out of memory");
        return NULL;
    }
    /* Bound the work per match so hostile text cannot make a pattern backtrack for long. */
    pcre2_set_match_limit(s->mctx, 200000);
    return s;
}

void dv_text_scratch_set_exhaustive(dv_text_scratch *s, int on)
{
    s->exhaustive = on != 0;
}

void dv_text_scratch_free(dv_text_scratch *s)
{
    if (!s)
        return;
    pcre2_match_data_free(s->md);
    pcre2_match_data_free(s->md_ctx);
    pcre2_match_context_free(s->mctx);
    dv_width_buf_free(&s->wide);
    free(s);
}

typedef struct text_profile {
    unsigned bits;
    size_t digits, run, dots;
} text_profile;

static text_profile profile_of(const char *t, size_t len)
{
    text_profile pr = {0, 0, 0, 0};
    unsigned p = 0;
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c >= '0' && c <= '9') {
            p |= P_DIGIT;
            pr.digits++;
            if (++run > pr.run)
                pr.run = run;
            continue;
        }
        run = 0;
        if (c == 'h')
            p |= P_H;
        if (c >= 'A' && c <= 'Z')
            p |= P_UPPER | P_ALPHA;
        else if (c >= 'a' && c <= 'z')
            p |= P_ALPHA;
        else if (c >= 0x80) {
            p |= P_ALPHA;
            /* only lead bytes 0xEF / 0xE3 (full width), D9, DB, DF, E0, E1 (other scripts' digits) and E2, F0
             * (mathematical and enclosed letters and digits) are looked at twice: ASCII text pays nothing for
             * this */
            size_t clen;
            if (dv_width_fold_char((const unsigned char *)t, i, len, &clen))
                p |= P_WIDE;
            else if (c == 0xE6 && i + 2 < len && (unsigned char)t[i + 1] == 0x9C && (unsigned char)t[i + 2] == 0x88)
                p |= P_KMONTH;
        }
        else if (c == '@')
            p |= P_AT;
        else if (c == ':')
            p |= P_COLON;
        else if (c == '.') {
            p |= P_DOT;
            pr.dots++;
        }
        else if (c == '-')
            p |= P_DASH;
        else if (c == '/')
            p |= P_SLASH;
    }
    pr.bits = p;
    return pr;
}

static int match_failed(int rc, dv_error *err)
{
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT ||
        rc == PCRE2_ERROR_JIT_STACKLIMIT)
        return dv_fail(err, DV_ERR_LIMIT, "text pattern matching hit its work limit (PCRE2 error %d)", rc);
    if (rc == PCRE2_ERROR_NOMEMORY)
        return dv_fail(err, DV_ERR_NOMEM, "text pattern matching: out of memory");
    return dv_fail(err, DV_ERR_MALFORMED, "text pattern matching failed (PCRE2 error %d)", rc);
}

/* Record the UID-shaped tokens of the text; findings inside one are dropped. */
static int find_uids(const dv_patterns *p, dv_text_scratch *s, const char *t, size_t len, dv_error *err)
{
    s->nuid = 0;
    s->uid_overflow = 0;
    size_t off = 0;
    while (off < len) {
        int rc = pcre2_match(p->uid, (PCRE2_SPTR)t, len, off, 0, s->md, s->mctx);
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0)
            return match_failed(rc, err);
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
        if (s->nuid == MAX_UIDS) {
            s->uid_overflow = 1; /* so many UIDs: keep the findings rather than guess */
            break;
        }
        s->uid[s->nuid].s = (uint32_t)ov[0];
        s->uid[s->nuid].e = (uint32_t)ov[1];
        s->nuid++;
        off = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
    }
    return 0;
}

static int inside_uid(const dv_text_scratch *s, uint32_t a, uint32_t b)
{
    for (size_t i = 0; i < s->nuid; i++)
        if (a >= s->uid[i].s && b <= s->uid[i].e)
            return 1;
    return 0;
}

/* The patterns over utf8[0, len) with its profile pr (the text as given, or its folded copy). */
static int detect_text(const dv_patterns *p, dv_text_scratch *s, const char *utf8, size_t len, text_profile pr,
                       dv_infotype_set want, dv_findings *out, dv_error *err)
{
    unsigned prof = pr.bits;
    if (!(prof & (P_DIGIT | P_AT | P_KMONTH)) && !(prof & (P_COLON | P_DOT)))
        return 0; /* every detector needs a digit, an '@', a URL's ':' / '.', or (kanji dates) 月 */
    /* A value that is one UID (digits and dots, five or more components) holds nothing by pattern. */
    if (pr.digits + pr.dots == len && pr.dots >= 4 && utf8[0] != '.' && utf8[len - 1] != '.' && !memmem(utf8, len, "..", 2))
        return 0;
    /* A birth date is found by the date patterns: asking for either runs them. */
    dv_infotype_set run = want;
    if (want & DV_IT_BIT(DV_IT_DATE_OF_BIRTH))
        run |= DV_IT_BIT(DV_IT_DATE);
    size_t first = out->n;
    match_ctx m = {.p = p, .s = s, .t = utf8, .len = len};
    dv_prescan ps;
    dv_prescan_init(&ps, utf8, len);
    for (size_t i = 0; i < p->n; i++) {
        const spec *sp = &p->specs[i];
        if (!(run & DV_IT_BIT(sp->type)) || (prof & sp->need_all) != sp->need_all ||
            (sp->need_any && !(prof & sp->need_any)) || pr.digits < sp->min_digits || pr.run < sp->min_run)
            continue;
        /* A pattern whose necessary condition the text lacks cannot match: skip its scan (prefilter.h). */
        if (!s->exhaustive && !dv_prescan_may_match(&ps, (dv_prefilter)sp->pre))
            continue;
        size_t off = 0;
        while (off < len) {
            int rc = pcre2_match(p->code[i], (PCRE2_SPTR)utf8, len, off, 0, s->md, s->mctx);
            if (rc == PCRE2_ERROR_NOMATCH)
                break;
            if (rc < 0)
                return match_failed(rc, err);
            m.ov = pcre2_get_ovector_pointer(s->md);
            m.rc = rc;
            dv_finding c = {.start = (uint32_t)m.ov[0], .end = (uint32_t)m.ov[1], .type = (uint8_t)sp->type,
                            .detector = DV_DET_PATTERN, .score = sp->score};
            size_t next = m.ov[1] > m.ov[0] ? m.ov[1] : m.ov[0] + 1;
            if ((!sp->check || sp->check(&m, &c)) && c.end > c.start && (want & DV_IT_BIT(c.type))) {
                if (dv_findings_add(out, c.start, c.end, (dv_infotype)c.type, DV_DET_PATTERN, c.score) != 0)
                    return dv_fail(err, DV_ERR_LIMIT, "text value has more than %u findings", DV_FINDINGS_MAX);
            }
            while (next < len && ((unsigned char)utf8[next] & 0xC0) == 0x80)
                next++;
            off = next;
        }
    }
    if (out->n > first && (prof & P_DOT)) {
        if (find_uids(p, s, utf8, len, err) != 0)
            return -1;
        if (s->nuid && !s->uid_overflow) {
            size_t w = first;
            for (size_t r = first; r < out->n; r++)
                if (!inside_uid(s, out->v[r].start, out->v[r].end))
                    out->v[w++] = out->v[r];
            out->n = w;
        }
    }
    return 0;
}

/* Values larger than this do not keep their folded copy in the scratch after the call. */
#define WIDE_KEEP (64u * 1024u)

/* Full-width text (P_WIDE): the patterns run on the folded copy (widthfold.h), and each finding is mapped back to
 * the original bytes, from the start of its first character to the end of its last. The checks and context
 * patterns read the copy too, so "ＳＳＮ：１２３－４５－６７８９" is judged as "SSN:123-45-6789". Only text with
 * a full-width character pays for the copy and its second profile; the common path stays as it was. */
int dv_detect_patterns(const dv_patterns *p, dv_text_scratch *s, const char *utf8, size_t len,
                       dv_infotype_set want, dv_findings *out, dv_error *err)
{
    if (!p || !s || !out || (!utf8 && len))
        return dv_fail(err, DV_ERR_USAGE, "dv_detect_patterns: missing argument");
    if (len > DV_PATTERNS_MAX_TEXT)
        return dv_fail(err, DV_ERR_LIMIT, "text value of %zu bytes exceeds the %u-byte detector limit", len,
                       DV_PATTERNS_MAX_TEXT);
    if (len < 3)
        return 0;
    const char *t = utf8;
    size_t n = len;
    text_profile pr = profile_of(t, n);
    if (pr.bits & P_WIDE) {
        if (dv_width_fold(&s->wide, utf8, len, err) < 0)
            return -1;
        t = s->wide.text;
        n = s->wide.len;
        pr = profile_of(t, n); /* the copy's own profile: digits and punctuation it now has as ASCII */
    }
    size_t first = out->n;
    int rc = detect_text(p, s, t, n, pr, want, out, err);
    if (t != utf8) {
        const dv_width_buf *b = &s->wide;
        for (size_t i = first; i < out->n; i++) {
            out->v[i].start = (uint32_t)dv_width_orig(b, out->v[i].start);
            out->v[i].end = (uint32_t)dv_width_orig(b, out->v[i].end);
        }
        dv_width_buf_trim(&s->wide, WIDE_KEEP);
    }
    return rc;
}
