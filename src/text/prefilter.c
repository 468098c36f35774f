/* Pattern pre-filters (prefilter.h): necessary conditions of the PCRE2 patterns of patterns.c, tested in C on
 * the value's bytes so a pattern that cannot match is never run. Each test below names the part of its
 * pattern it reads; when a pattern changes, its test must still be implied by every match (the differential
 * test [test_patterns: test_prefilter_same_findings] and fuzz_text_detect check it).
 * Case: the word tests fold ASCII only. PCRE2's caseless UTF matching also maps a few non-ASCII characters to
 * ASCII letters (U+017F to s, U+212A to k) and the patterns hold non-ASCII letters (ä, é, û), so a word test
 * answers "may match" for any text with a byte >= 0x80. */
#include <string.h>

#include "text/prefilter.h"

static int dig(unsigned char c) { return c >= '0' && c <= '9'; }
static int upper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
static int alnum_(unsigned char c) { return dig(c) || upper(c) || (c >= 'a' && c <= 'z') || c == '_'; }
static int hex(unsigned char c) { return dig(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f'); }
static int space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); } /* PCRE2 \s without UCP */
static unsigned char lower(unsigned char c) { return upper(c) ? (unsigned char)(c | 0x20) : c; }

/* The byte at i, or 0 outside the text (0 is none of the classes above). */
static unsigned char at(const dv_prescan *ps, size_t i) { return i < ps->len ? (unsigned char)ps->t[i] : 0; }

void dv_prescan_init(dv_prescan *ps, const char *t, size_t len)
{
    memset(ps, 0, sizeof *ps);
    ps->t = t;
    ps->len = len;
    const unsigned char *u = (const unsigned char *)t;
    size_t run = 0, run_nb = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = u[i];
        if (dig(c)) {
            if (run == 0) {
                /* NB of patterns.c: (?<![A-Za-z0-9_]|[0-9][.,:/-]) before the first digit */
                unsigned char p = i ? u[i - 1] : 0, pp = i > 1 ? u[i - 2] : 0;
                run_nb = !alnum_(p) && !(p && strchr(".,:/-", p) && dig(pp));
            }
            run++;
            if (run_nb && run > ps->nb_run)
                ps->nb_run = run;
            continue;
        }
        if (c >= 0x80)
            ps->nonascii = 1;
        if (run) { /* a letter right after the digits, or after one separator */
            unsigned char l = lower(c);
            if ((c == ' ' || c == '-' || space(c)) && i + 1 < len)
                l = lower(u[i + 1]);
            if (l >= 'a' && l <= 'z')
                ps->after_digit |= 1u << (l - 'a');
        }
        run = 0;
    }
}

/* Does any of words (lower case ASCII) occur in the text, ASCII letters in any case? */
static int any_word_ci(const dv_prescan *ps, const char *const *words, size_t n)
{
    uint32_t first = 0; /* first letters, as bits */
    for (size_t w = 0; w < n; w++)
        first |= 1u << (words[w][0] - 'a');
    const unsigned char *u = (const unsigned char *)ps->t;
    for (size_t i = 0; i < ps->len; i++) {
        unsigned char c = lower(u[i]);
        if (c < 'a' || c > 'z' || !(first >> (c - 'a') & 1))
            continue;
        for (size_t w = 0; w < n; w++) {
            size_t k = 0, wl = strlen(words[w]);
            if ((unsigned char)words[w][0] != c || i + wl > ps->len)
                continue;
            while (k < wl && lower(u[i + k]) == (unsigned char)words[w][k])
                k++;
            if (k == wl)
                return 1;
        }
    }
    return 0;
}

static int any_word(const dv_prescan *ps, const char *const *words, size_t n)
{
    for (size_t w = 0; w < n; w++)
        if (memmem(ps->t, ps->len, words[w], strlen(words[w])))
            return 1;
    return 0;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* MON of patterns.c: every ASCII spelling starts with one of these (janvier, juillet, maerz, aout ...). */
static const char *const month3[] = {"jan", "feb", "fev", "mar", "mae", "apr", "avr", "may", "mai", "jun",
                                     "jui", "jul", "aug", "aou", "sep", "oct", "okt", "nov", "dec", "dez"};

static int test(dv_prescan *ps, dv_prefilter k)
{
    size_t n = ps->len;
    switch (k) {
    case PRE_NONE: return 1;
    case PRE_NB_RUN8: return ps->nb_run >= 8;   /* DA/DT: NB ((?:19|20)[0-9]{2})(0[1-9]|1[0-2])(...) */
    case PRE_NB_RUN4: return ps->nb_run >= 4;   /* NB ((?:19|20)[0-9]{2})([-/.]) */
    case PRE_NB_RUN3: return ps->nb_run >= 3;   /* SSN, NHS: NB ([0-9]{3}) */
    case PRE_NB_RUN10: return ps->nb_run >= 10; /* NPI: NB [12][0-9]{9} */
    case PRE_MONTH: return ps->nonascii || any_word_ci(ps, month3, N(month3));
    case PRE_AGE_OLD: /* ([0-9]{1,3})[ -]?(?:years?|yrs?|y|months?|mos?|weeks?|days?|y/o|j\.? alt|jahre? alt|ans) */
        return (ps->after_digit & (1u << ('y' - 'a') | 1u << ('m' - 'a') | 1u << ('w' - 'a') | 1u << ('d' - 'a') |
                                   1u << ('j' - 'a') | 1u << ('a' - 'a'))) != 0;
    case PRE_AGE_WORD: { /* (?:aged?|alter|\x{e2}ge|pt age) */
        static const char *const w[] = {"age", "alter"};
        return ps->nonascii || any_word_ci(ps, w, N(w));
    }
    case PRE_AGE_Y: return (ps->after_digit >> ('y' - 'a')) & 1; /* ([0-9]{1,3})\s?(?:years?|yrs?|y) */
    case PRE_AS: /* ([0-9]{3})([DWMY]) */
        return (ps->after_digit & (1u << ('d' - 'a') | 1u << ('w' - 'a') | 1u << ('m' - 'a') | 1u << ('y' - 'a'))) != 0;
    case PRE_AMPM: /* (?:1[0-2]|0?[1-9])\s?[AaPp] */
        return (ps->after_digit & (1u << ('a' - 'a') | 1u << ('p' - 'a'))) != 0;
    case PRE_TIME: /* ([01]?[0-9]|2[0-3])([:h])([0-5][0-9]) */
        for (size_t i = 1; i + 1 < n; i++)
            if ((ps->t[i] == ':' || ps->t[i] == 'h') && dig(at(ps, i - 1)) && dig(at(ps, i + 1)))
                return 1;
        return 0;
    case PRE_DSEP2: /* ([0-9]{1,2})([-/.])([0-9]{1,2})\2: the second separator at i */
        for (size_t i = 2; i < n; i++) {
            char c = ps->t[i];
            if ((c == '-' || c == '/' || c == '.') && dig(at(ps, i - 1)) &&
                ((ps->t[i - 2] == c && i >= 3 && dig(at(ps, i - 3))) ||
                 (i >= 4 && dig(at(ps, i - 2)) && ps->t[i - 3] == c && dig(at(ps, i - 4)))))
                return 1;
        }
        return 0;
    case PRE_PHONE_INTL: /* (?<![A-Za-z0-9_+])(?:\+|(?<![0-9] )00)[1-9] */
        for (size_t i = 0; i + 1 < n; i++) {
            unsigned char c = at(ps, i), d = at(ps, i + 1);
            if (c == '+' && d >= '1' && d <= '9')
                return 1;
            if (c == '0' && d == '0' && at(ps, i + 2) >= '1' && at(ps, i + 2) <= '9' &&
                (i == 0 || (!alnum_(at(ps, i - 1)) && at(ps, i - 1) != '+')))
                return 1;
        }
        return 0;
    case PRE_PHONE_NANP: /* ... [0-9]{3}[ .-][0-9]{4} */
        for (size_t i = 3; i + 4 < n; i++) {
            char c = ps->t[i];
            if ((c == ' ' || c == '.' || c == '-') && dig(at(ps, i - 1)) && dig(at(ps, i - 2)) && dig(at(ps, i - 3)) &&
                dig(at(ps, i + 1)) && dig(at(ps, i + 2)) && dig(at(ps, i + 3)) && dig(at(ps, i + 4)))
                return 1;
        }
        return 0;
    case PRE_PHONE_FR: /* 0[1-9](?:([ .])[0-9]{2})(?:\1[0-9]{2}){3} */
        for (size_t i = 2; i + 3 < n; i++) {
            char c = ps->t[i];
            if ((c == ' ' || c == '.') && ps->t[i - 2] == '0' && at(ps, i - 1) >= '1' && at(ps, i - 1) <= '9' &&
                dig(at(ps, i + 1)) && dig(at(ps, i + 2)) && ps->t[i + 3] == c)
                return 1;
        }
        return 0;
    case PRE_PHONE_NAT: /* (?<![A-Za-z0-9_+.,/-])0[1-9] */
        for (size_t i = 0; i + 1 < n; i++) {
            if (ps->t[i] != '0' || at(ps, i + 1) < '1' || at(ps, i + 1) > '9')
                continue;
            unsigned char p = i ? at(ps, i - 1) : 0;
            if (!p || (!alnum_(p) && !strchr("+.,/-", p)))
                return 1;
        }
        return 0;
    case PRE_PHONE_WORD: { /* tel(?:ephone)?|phone|fax|mobile|cell|ph|t\x{e9}l|telefon|pager|bleep|contact */
        static const char *const w[] = {"tel", "ph", "fax", "mobile", "cell", "pager", "bleep", "contact"};
        return ps->nonascii || any_word_ci(ps, w, N(w));
    }
    case PRE_URL: { /* (?:(?:https?|ftps?|sftp|dicomweb)://|www\.) */
        static const char *const w[] = {"www."};
        return memmem(ps->t, n, "://", 3) || any_word_ci(ps, w, N(w));
    }
    case PRE_IPV4: /* (?<![A-Za-z0-9_.])(?:d{1,3}\.){3}d */
        for (size_t i = 0; i < n; i++) {
            if (!dig(at(ps, i)) || (i && (alnum_(at(ps, i - 1)) || at(ps, i - 1) == '.')))
                continue;
            size_t j = i;
            int groups = 0;
            while (groups < 3) {
                size_t d = 0;
                while (dig(at(ps, j)) && d < 4)
                    j++, d++;
                if (d == 0 || d > 3 || at(ps, j) != '.')
                    break;
                j++;
                groups++;
            }
            if (groups == 3 && dig(at(ps, j)))
                return 1;
        }
        return 0;
    case PRE_IPV6: /* [0-9A-Fa-f:.]{3,45} holding two ':' (its lookahead) */
        for (size_t i = 0, colons = 0; i < n; i++) {
            unsigned char c = at(ps, i);
            if (c == ':') {
                if (++colons == 2)
                    return 1;
            } else if (!hex(c) && c != '.') {
                colons = 0;
            }
        }
        return 0;
    case PRE_MAC: /* [0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}\1 ... | [0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\. ... */
        for (size_t i = 2; i < n; i++) {
            char c = ps->t[i];
            if ((c == ':' || c == '-') && hex(at(ps, i - 1)) && hex(at(ps, i - 2)) && hex(at(ps, i + 1)) &&
                hex(at(ps, i + 2)) && at(ps, i + 3) == (unsigned char)c)
                return 1;
            if (c == '.' && i >= 4 && hex(at(ps, i - 1)) && hex(at(ps, i - 2)) && hex(at(ps, i - 3)) &&
                hex(at(ps, i - 4)) && hex(at(ps, i + 1)) && hex(at(ps, i + 2)) && hex(at(ps, i + 3)) &&
                hex(at(ps, i + 4)) && at(ps, i + 5) == '.')
                return 1;
        }
        return 0;
    case PRE_CARD: /* (?<![A-Za-z0-9_.-])[0-9](?:[ -]?[0-9]){11,18} */
        for (size_t i = 0; i < n; i++) {
            if (!dig(at(ps, i)) || (i && (alnum_(at(ps, i - 1)) || at(ps, i - 1) == '.' || at(ps, i - 1) == '-')))
                continue;
            size_t j = i + 1, d = 1;
            for (;;) {
                if (dig(at(ps, j)))
                    j++, d++;
                else if ((at(ps, j) == ' ' || at(ps, j) == '-') && dig(at(ps, j + 1)))
                    j += 2, d++;
                else
                    break;
            }
            if (d >= 12)
                return 1;
            i = j - 1;
        }
        return 0;
    case PRE_IBAN: /* WB [A-Z]{2}[0-9]{2} */
        for (size_t i = 0; i + 3 < n; i++)
            if (upper(at(ps, i)) && upper(at(ps, i + 1)) && dig(at(ps, i + 2)) && dig(at(ps, i + 3)) &&
                (i == 0 || !alnum_(at(ps, i - 1))))
                return 1;
        return 0;
    case PRE_STREET: /* WB [0-9]{1,5}[A-Za-z]?(?:-[0-9]{1,5})?,?\s+ then a capital ([NSEW], North ..., [A-Z]) */
        for (size_t i = 0; i < n; i++) {
            if (!dig(at(ps, i)) || (i && alnum_(at(ps, i - 1))))
                continue;
            size_t j = i;
            while (dig(at(ps, j)))
                j++;
            unsigned char c = at(ps, j);
            if ((c >= 'a' && c <= 'z') || upper(c))
                j++;
            if (at(ps, j) == '-' && dig(at(ps, j + 1))) {
                j++;
                while (dig(at(ps, j)))
                    j++;
            }
            if (at(ps, j) == ',')
                j++;
            if (!space(at(ps, j)))
                continue;
            while (space(at(ps, j)))
                j++;
            if (upper(at(ps, j)))
                return 1;
        }
        return 0;
    case PRE_STREET_DE: { /* (?:stra\x{df}e|strasse|str\.|gasse|allee|platz|weg) / (?:Stra\x{df}e|...|Platz) */
        static const char *const w[] = {"str", "Str", "gasse", "Gasse", "allee", "Allee", "platz", "Platz", "weg"};
        return any_word(ps, w, N(w));
    }
    case PRE_STREET_FR: { /* (?i:rue|avenue|av\.|boulevard|bd|place|chemin|all\x{e9}e|impasse|quai|route|cours) */
        static const char *const w[] = {"rue", "av", "boulevard", "bd", "place", "chemin", "impasse", "quai",
                                        "route", "cours"};
        return ps->nonascii || any_word_ci(ps, w, N(w));
    }
    case PRE_POST_UK: /* ... ?[0-9][ABD-HJLNP-UW-Z]{2} */
        for (size_t i = 0; i + 2 < n; i++)
            if (dig(at(ps, i)) && upper(at(ps, i + 1)) && upper(at(ps, i + 2)))
                return 1;
        return 0;
    case PRE_POST_CA: /* [ABCEGHJ-NPRSTVXY][0-9][ABCEGHJ-NPRSTV-Z] [0-9][ABCEGHJ-NPRSTV-Z][0-9] */
        for (size_t i = 3; i + 3 < n; i++)
            if (ps->t[i] == ' ' && upper(at(ps, i - 3)) && dig(at(ps, i - 2)) && upper(at(ps, i - 1)) &&
                dig(at(ps, i + 1)) && upper(at(ps, i + 2)) && dig(at(ps, i + 3)))
                return 1;
        return 0;
    case PRE_ZIP_STATE: /* US_STATES\s+([0-9]{5} */
        for (size_t i = 0; i + 2 < n; i++) {
            if (!upper(at(ps, i)) || !upper(at(ps, i + 1)) || !space(at(ps, i + 2)))
                continue;
            size_t j = i + 2;
            while (space(at(ps, j)))
                j++;
            if (dig(at(ps, j)) && dig(at(ps, j + 1)) && dig(at(ps, j + 2)) && dig(at(ps, j + 3)) && dig(at(ps, j + 4)))
                return 1;
        }
        return 0;
    case PRE_ZIP_WORD: { /* zip(?:\s*code)?|postcode|post code|plz|code postal */
        static const char *const w[] = {"zip", "post", "plz"};
        return ps->nonascii || any_word_ci(ps, w, N(w));
    }
    case PRE_PLZ: /* [0-9]{5}(?=\s+[A-Z\x{c4}\x{d6}\x{dc}]...) */
        for (size_t i = 5; i < n; i++) {
            if (!space(at(ps, i)) || !dig(at(ps, i - 1)) || !dig(at(ps, i - 2)) || !dig(at(ps, i - 3)) ||
                !dig(at(ps, i - 4)) || !dig(at(ps, i - 5)))
                continue;
            size_t j = i;
            while (space(at(ps, j)))
                j++;
            if (upper(at(ps, j)) || at(ps, j) == 0xC3)
                return 1;
        }
        return 0;
    case PRE_BOX: { /* P\.?\s?O\.?\s?Box (b, o, x have no non-ASCII case partners) */
        static const char *const w[] = {"box"};
        return any_word_ci(ps, w, N(w));
    }
    case PRE_COUNT: break;
    }
    return 1;
}

int dv_prescan_may_match(dv_prescan *ps, dv_prefilter k)
{
    uint64_t bit = (uint64_t)1 << k;
    if (!(ps->known & bit)) {
        ps->known |= bit;
        if (test(ps, k))
            ps->yes |= bit;
    }
    return (ps->yes & bit) != 0;
}
