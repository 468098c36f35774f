/* Pattern pre-filters (internal to src/text/patterns.c; docs/text-detectors.md "Speed"). Before a PCRE2 pattern
 * scans a value, a cheap C test over the value's bytes asks whether the pattern can possibly match anywhere in it:
 * each test is a NECESSARY condition of a match (a superset: it may say "maybe" for text without a match, never
 * "no" for text with one), so skipping a pattern on "no" changes no finding. One pass over the bytes answers the
 * tests about digit runs and their neighbours (visiting each run once); the word tests share one lazy pass over
 * the letters, and the hex tests (MAC, IPv6) scan lazily, when a pattern asks.
 * Proven by [test_patterns: test_prefilter_same_findings] (every pattern, with and without the pre-filters, over
 * the labelled corpora and generated strings) and the differential check of fuzz_text_detect. */
#ifndef DV_TEXT_PREFILTER_H
#define DV_TEXT_PREFILTER_H

#include <stddef.h>
#include <stdint.h>

/* Which test a pattern needs (one per pattern; PRE_NONE: the profile bits of patterns.c only). */
typedef enum {
    PRE_NONE = 0,
    PRE_NB_RUN8,    /* a digit run of >= 8 starting at a number boundary (NB in patterns.c) */
    PRE_NB_RUN4,    /* ... of >= 4 */
    PRE_NB_RUN3,    /* ... of >= 3 */
    PRE_NB_RUN10,   /* ... of >= 10 */
    PRE_ALPHA_RUN8, /* a digit run of >= 8 right after an ASCII letter or '_' */
    PRE_DSEP2,      /* d{1,2} S d{1,2} S with one separator S of - / . */
    PRE_MONTH,      /* a month name's first three letters (any case), or any non-ASCII byte */
    PRE_AGE_OLD,    /* a digit then (one separator) y m w d j or a */
    PRE_AGE_WORD,   /* "age" or "alter" (any case), or any non-ASCII byte */
    PRE_AGE_Y,      /* a digit then (one white space) y */
    PRE_AS,         /* a digit then D W M or Y */
    PRE_TIME,       /* a digit, ':' or 'h', a digit */
    PRE_AMPM,       /* a digit then (one white space) a or p */
    PRE_PHONE_INTL, /* '+' then 1-9, or "00" then 1-9 not after a letter, digit, '_' or '+' */
    PRE_PHONE_NANP, /* three digits, one of " .-", four digits */
    PRE_PHONE_FR,   /* 0, 1-9, then (space or '.') two digits and the same separator */
    PRE_PHONE_NAT,  /* 0 then 1-9 not after a letter, digit or "_+.,/-" */
    PRE_PHONE_WORD, /* tel ph fax mobile cell pager bleep contact (any case), or any non-ASCII byte */
    PRE_URL,        /* "://" or "www." (any case) */
    PRE_IPV4,       /* d{1,3}.d{1,3}.d{1,3}.d not after a letter, digit, '_' or '.' */
    PRE_IPV6,       /* a run of hex digits, ':' and '.' holding two ':' */
    PRE_MAC,        /* hh:hh: / hh-hh- or hhhh.hhhh. (hex) */
    PRE_CARD,       /* 12 digits, single ' ' or '-' between them, not after a letter, digit or "_.-" */
    PRE_IBAN,       /* two capitals then two digits at a word start */
    PRE_STREET,     /* digits at a word start, then (a letter, -digits, ',') white space and a capital */
    PRE_STREET_DE,  /* stra Stra str. Str. gasse Gasse allee Allee platz Platz weg */
    PRE_STREET_FR,  /* rue av boulevard bd place chemin impasse quai route cours (any case), or any non-ASCII */
    PRE_POST_UK,    /* a digit then two capitals */
    PRE_POST_CA,    /* capital digit capital ' ' digit capital digit */
    PRE_ZIP_STATE,  /* two capitals, white space, five digits */
    PRE_ZIP_WORD,   /* zip post plz (any case), or any non-ASCII byte */
    PRE_PLZ,        /* five digits then white space then a capital or a 0xC3 lead byte */
    PRE_BOX,        /* "box" (any case), or any non-ASCII byte */
    PRE_CJK_YEAR,   /* a digit run of >= 4 at a number boundary, and a year mark (U+5E74 or U+B144) */
    PRE_CJK_ERA,    /* a year mark U+5E74 and a Japanese era name or its first kanji (明治 明, 大正 大, ...) */
    PRE_CJK_MONTH,  /* a month mark (U+6708 or U+C6D4) */
    PRE_THAI,       /* a Thai character (U+0E00-U+0E7F: a month name is Thai letters) */
    PRE_ORDINAL,    /* a run of 4 digits, '-', a run of 3 digits (YYYY-DDD) */
    PRE_DAY_MONTH,  /* a month name's first three letters, and a digit then (one separator) a month's first
                       letter j f m a s o n d, or any non-ASCII byte */
    PRE_COUNT
} dv_prefilter;

typedef struct dv_prescan {
    const char *t;
    size_t len;
    size_t nb_run;        /* the longest digit run that starts at a number boundary */
    size_t alpha_run;     /* the longest digit run right after an ASCII letter or '_' */
    int nonascii;         /* a byte >= 0x80 (the ASCII-only case folding of the word tests does not hold) */
    size_t colons;
    uint32_t after_digit; /* letters (bit c - 'a', any case) right after a digit, or after a digit and one
                           * separator of " -\t\n\v\f\r" */
    uint64_t yes;         /* answers of the tests computed in the pass (bit = dv_prefilter) */
    uint64_t known;       /* tests done (their answers are in yes; bit PRE_COUNT: the word pass) */
    unsigned wordbits;    /* the word pass's groups found (prefilter.c) */
    /* the digit runs seen last, for the tests that read two or three neighbouring runs */
    size_t r1s, r1e;      /* the previous run [r1s, r1e) */
    int have1;
    unsigned char join1;  /* the one character between the run before it and it (0: not one character) */
    size_t ipchain, card; /* runs chained by '.' (IPv4); digits chained by single ' '/'-' (cards) */
} dv_prescan;

/* The pass every value pays (with patterns.c's own profile). */
void dv_prescan_init(dv_prescan *ps, const char *t, size_t len);

/* 0: the pattern with this pre-filter cannot match anywhere in the text; 1: it may. */
int dv_prescan_may_match(dv_prescan *ps, dv_prefilter k);

#endif
