/* Pattern pre-filters (prefilter.h): necessary conditions of the PCRE2 patterns of patterns.c, tested in C on
 * the value's bytes so a pattern that cannot match is never run. Each test below names the part of its
 * pattern it reads; when a pattern changes, its test must still be implied by every match (the differential
 * test [test_patterns: test_prefilter_same_findings] and fuzz_text_detect check it).
 * Case: the word tests fold ASCII only. PCRE2's caseless UTF matching also maps a few non-ASCII characters to
 * ASCII letters (U+017F to s, U+212A to k) and the patterns hold non-ASCII letters (ä, é, û), so a word test
 * answers "may match" for any text with a byte >= 0x80. */
#include <string.h>

#include "text/prefilter.h"
#include "text/eras.h"

static int dig(unsigned char c) { return c >= '0' && c <= '9'; }
static int upper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
static int alnum_(unsigned char c) { return dig(c) || upper(c) || (c >= 'a' && c <= 'z') || c == '_'; }
static int hex(unsigned char c) { return dig(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f'); }
static int space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); } /* PCRE2 \s without UCP */
static unsigned char lower(unsigned char c) { return upper(c) ? (unsigned char)(c | 0x20) : c; }

/* The byte at i, or 0 outside the text (0 is none of the classes above). */
static unsigned char at(const dv_prescan *ps, size_t i) { return i < ps->len ? (unsigned char)ps->t[i] : 0; }

#define BIT(k) ((uint64_t)1 << (k))

/* The tests that read a digit run and its neighbours, at the end of each run [s, e) (each is named by its
 * pattern's part). Only runs are visited, so a value costs one pass plus a few steps per number. */
static void run_end(dv_prescan *ps, size_t s, size_t e)
{
    const unsigned char *u = (const unsigned char *)ps->t;
    size_t n = ps->len, L = e - s;
    unsigned char p = s ? u[s - 1] : 0, pp = s > 1 ? u[s - 2] : 0, c = at(ps, e);
    int joined = ps->have1 && ps->r1e + 1 == s; /* one character between the previous run and this one */
    unsigned char sep = joined ? p : 0;
    size_t L1 = ps->have1 ? ps->r1e - ps->r1s : 0;
    /* NB of patterns.c: (?<![A-Za-z0-9_]|[0-9][.,:/-]) before the first digit */
    if (!alnum_(p) && !(p && strchr(".,:/-", p) && dig(pp)) && L > ps->nb_run)
        ps->nb_run = L;
    if ((upper(p) || (p >= 'a' && p <= 'z') || p == '_') && L > ps->alpha_run) /* (?<=[A-Za-z_]) before it */
        ps->alpha_run = L;
    if (c) { /* a letter right after the digits, or after one separator */
        unsigned char l = lower(c);
        if ((c == '-' || space(c)) && e + 1 < n)
            l = lower(u[e + 1]);
        if (l >= 'a' && l <= 'z')
            ps->after_digit |= 1u << (l - 'a');
    }
    if (sep == ':' || sep == 'h') /* ([01]?[0-9]|2[0-3])([:h])([0-5][0-9]) */
        ps->yes |= BIT(PRE_TIME);
    if ((sep == ' ' || sep == '.' || sep == '-') && L1 >= 3 && L >= 4) /* [0-9]{3}[ .-][0-9]{4} */
        ps->yes |= BIT(PRE_PHONE_NANP);
    if ((sep == ' ' || sep == '.') && L1 >= 2 && u[ps->r1e - 2] == '0' && u[ps->r1e - 1] >= '1' && L >= 2)
        ps->yes |= BIT(PRE_PHONE_FR); /* 0[1-9]([ .])[0-9]{2} */
    if (sep == '-' && L1 == 4 && L == 3) /* ((?:19|20)[0-9]{2})-([0-9]{3}) then no digit */
        ps->yes |= BIT(PRE_ORDINAL);
    if ((sep == '-' || sep == '/' || sep == '.') && ps->join1 == sep && L1 >= 1 && L1 <= 2)
        ps->yes |= BIT(PRE_DSEP2); /* ([0-9]{1,2})([-/.])([0-9]{1,2})\2 + a digit */
    /* (?<![A-Za-z0-9_.])(?:d{1,3}\.){3}d: runs of 1-3 digits chained by '.' from an allowed start */
    size_t ip = sep == '.' && ps->ipchain && L1 <= 3 ? ps->ipchain + 1 : (!alnum_(p) && p != '.') ? 1 : 0;
    if (ip >= 4)
        ps->yes |= BIT(PRE_IPV4);
    /* (?<![A-Za-z0-9_.-])[0-9](?:[ -]?[0-9]){11,18}: digits chained by single ' ' or '-' from an allowed start */
    size_t card = (sep == ' ' || sep == '-') && ps->card ? ps->card + L
                  : (!alnum_(p) && p != '.' && p != '-') ? L : 0;
    if (card >= 12)
        ps->yes |= BIT(PRE_CARD);
    /* (?<![A-Za-z0-9_+.,/-])0[1-9] */
    if (L >= 2 && u[s] == '0' && u[s + 1] >= '1' && (!p || (!alnum_(p) && !strchr("+.,/-", p))))
        ps->yes |= BIT(PRE_PHONE_NAT);
    /* (?<![A-Za-z0-9_+])(?:\+|(?<![0-9] )00)[1-9] */
    if ((p == '+' && u[s] >= '1') ||
        (L >= 3 && u[s] == '0' && u[s + 1] == '0' && u[s + 2] >= '1' && (!p || (!alnum_(p) && p != '+'))))
        ps->yes |= BIT(PRE_PHONE_INTL);
    if (L >= 2 && s >= 2 && upper(u[s - 1]) && upper(u[s - 2]) && (s == 2 || !alnum_(u[s - 3])))
        ps->yes |= BIT(PRE_IBAN); /* WB [A-Z]{2}[0-9]{2} */
    if (upper(c) && upper(at(ps, e + 1)))
        ps->yes |= BIT(PRE_POST_UK); /* [0-9][ABD-HJLNP-UW-Z]{2} */
    if (upper(p) && upper(c) && at(ps, e + 1) == ' ' && dig(at(ps, e + 2)) && upper(at(ps, e + 3)) &&
        dig(at(ps, e + 4)))
        ps->yes |= BIT(PRE_POST_CA); /* [A-Z][0-9][A-Z] [0-9][A-Z][0-9] */
    if (!alnum_(p)) { /* WB [0-9]{1,5}[A-Za-z]?(?:-[0-9]{1,5})?,?\s+ then a capital */
        size_t j = e;
        unsigned char d = at(ps, j);
        if ((d >= 'a' && d <= 'z') || upper(d))
            j++;
        if (at(ps, j) == '-' && dig(at(ps, j + 1))) {
            j++;
            while (dig(at(ps, j)))
                j++;
        }
        if (at(ps, j) == ',')
            j++;
        if (space(at(ps, j))) {
            while (space(at(ps, j)))
                j++;
            if (upper(at(ps, j)))
                ps->yes |= BIT(PRE_STREET);
        }
    }
    if (L >= 5 && space(c)) { /* [0-9]{5}(?=\s+[A-Z\x{c4}\x{d6}\x{dc}]...) */
        size_t j = e;
        while (space(at(ps, j)))
            j++;
        if (upper(at(ps, j)) || at(ps, j) == 0xC3)
            ps->yes |= BIT(PRE_PLZ);
    }
    if (L >= 5 && space(p)) { /* US_STATES\s+([0-9]{5} */
        size_t j = s;
        while (j > 0 && space(u[j - 1]))
            j--;
        if (j >= 2 && upper(u[j - 1]) && upper(u[j - 2]))
            ps->yes |= BIT(PRE_ZIP_STATE);
    }
    ps->join1 = sep;
    ps->r1s = s;
    ps->r1e = e;
    ps->have1 = 1;
    ps->ipchain = ip;
    ps->card = card;
}

/* The tests computed by the pass (the others are lazy). */
#define PASS_TESTS (BIT(PRE_TIME) | BIT(PRE_PHONE_NANP) | BIT(PRE_PHONE_FR) | BIT(PRE_DSEP2) | BIT(PRE_IPV4) | \
                    BIT(PRE_CARD) | BIT(PRE_PHONE_NAT) | BIT(PRE_PHONE_INTL) | BIT(PRE_IBAN) | BIT(PRE_POST_UK) | \
                    BIT(PRE_POST_CA) | BIT(PRE_STREET) | BIT(PRE_PLZ) | BIT(PRE_ZIP_STATE) | BIT(PRE_ORDINAL))

void dv_prescan_init(dv_prescan *ps, const char *t, size_t len)
{
    memset(ps, 0, sizeof *ps);
    ps->t = t;
    ps->len = len;
    const unsigned char *u = (const unsigned char *)t;
    size_t start = 0;
    int in_run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = u[i];
        if (dig(c)) {
            if (!in_run) {
                start = i;
                in_run = 1;
            }
            continue;
        }
        if (in_run) {
            run_end(ps, start, i);
            in_run = 0;
        }
        if (c >= 0x80)
            ps->nonascii = 1;
        else if (c == ':')
            ps->colons++;
    }
    if (in_run)
        run_end(ps, start, len);
    ps->known = PASS_TESTS;
}

/* The word tests, all in one pass over the letters (computed on the first word test a value needs). A word of
 * group g found sets bit g of the answer; exact words compare case too. */
enum { W_MONTH, W_AGE, W_PHONE, W_WWW, W_FR, W_ZIP, W_BOX, W_DE, W_GROUPS };
static const struct {
    const char *w;
    uint8_t group, exact;
} WORDS[] = {
    /* MON of patterns.c: every ASCII spelling starts with one of these (janvier, juillet, maerz, aout ...) */
    {"jan", W_MONTH, 0}, {"feb", W_MONTH, 0}, {"fev", W_MONTH, 0}, {"mar", W_MONTH, 0}, {"mae", W_MONTH, 0},
    {"apr", W_MONTH, 0}, {"avr", W_MONTH, 0}, {"may", W_MONTH, 0}, {"mai", W_MONTH, 0}, {"jun", W_MONTH, 0},
    {"jui", W_MONTH, 0}, {"jul", W_MONTH, 0}, {"aug", W_MONTH, 0}, {"aou", W_MONTH, 0}, {"sep", W_MONTH, 0},
    {"oct", W_MONTH, 0}, {"okt", W_MONTH, 0}, {"nov", W_MONTH, 0}, {"dec", W_MONTH, 0}, {"dez", W_MONTH, 0},
    /* (?:aged?|alter|\x{e2}ge|pt age) */
    {"age", W_AGE, 0}, {"alter", W_AGE, 0},
    /* tel(?:ephone)?|phone|fax|mobile|cell|ph|t\x{e9}l|telefon|pager|bleep|contact */
    {"tel", W_PHONE, 0}, {"ph", W_PHONE, 0}, {"fax", W_PHONE, 0}, {"mobile", W_PHONE, 0}, {"cell", W_PHONE, 0},
    {"pager", W_PHONE, 0}, {"bleep", W_PHONE, 0}, {"contact", W_PHONE, 0},
    {"www.", W_WWW, 0},
    /* (?i:rue|avenue|av\.|boulevard|bd|place|chemin|all\x{e9}e|impasse|quai|route|cours) */
    {"rue", W_FR, 0}, {"av", W_FR, 0}, {"boulevard", W_FR, 0}, {"bd", W_FR, 0}, {"place", W_FR, 0},
    {"chemin", W_FR, 0}, {"impasse", W_FR, 0}, {"quai", W_FR, 0}, {"route", W_FR, 0}, {"cours", W_FR, 0},
    /* zip(?:\s*code)?|postcode|post code|plz|code postal */
    {"zip", W_ZIP, 0}, {"post", W_ZIP, 0}, {"plz", W_ZIP, 0},
    /* P\.?\s?O\.?\s?Box */
    {"box", W_BOX, 0},
    /* (?:stra\x{df}e|strasse|str\.|gasse|allee|platz|weg) / (?:Stra\x{df}e|Strasse|Str\.|Gasse|Allee|Platz) */
    {"str", W_DE, 1}, {"Str", W_DE, 1}, {"gasse", W_DE, 1}, {"Gasse", W_DE, 1}, {"allee", W_DE, 1},
    {"Allee", W_DE, 1}, {"platz", W_DE, 1}, {"Platz", W_DE, 1}, {"weg", W_DE, 1},
};
#define NWORDS (sizeof WORDS / sizeof WORDS[0])

static unsigned words_scan(const dv_prescan *ps)
{
    uint8_t idx[26][12], cnt[26] = {0}; /* the words by their first letter (folded) */
    for (size_t w = 0; w < NWORDS; w++) {
        unsigned f = lower((unsigned char)WORDS[w].w[0]) - 'a';
        idx[f][cnt[f]++] = (uint8_t)w;
    }
    const unsigned all = (1u << W_GROUPS) - 1;
    unsigned found = 0;
    const unsigned char *u = (const unsigned char *)ps->t;
    for (size_t i = 0; i < ps->len && found != all; i++) {
        unsigned char c = lower(u[i]);
        if (c < 'a' || c > 'z')
            continue;
        unsigned f = c - 'a';
        for (unsigned k = 0; k < cnt[f]; k++) {
            const char *w = WORDS[idx[f][k]].w;
            int exact = WORDS[idx[f][k]].exact;
            size_t j = 0;
            while (w[j] && i + j < ps->len &&
                   (exact ? u[i + j] == (unsigned char)w[j] : lower(u[i + j]) == (unsigned char)w[j]))
                j++;
            if (!w[j])
                found |= 1u << WORDS[idx[f][k]].group;
        }
    }
    return found;
}

static int word_test(dv_prescan *ps, unsigned group, int nonascii_says_yes)
{
    if (!(ps->known & BIT(PRE_COUNT))) { /* bit PRE_COUNT: the word pass is done; its groups in wordbits */
        ps->known |= BIT(PRE_COUNT);
        ps->wordbits = words_scan(ps);
    }
    return (nonascii_says_yes && ps->nonascii) || ((ps->wordbits >> group) & 1);
}

/* An era name, or its one-kanji abbreviation, anywhere in t: each is a 3-byte kanji, so look at every lead byte
 * of one. */
static int has_era(const char *t, size_t n)
{
    size_t len;
    for (size_t i = 0; i + 3 <= n; i++)
        if ((unsigned char)t[i] >= 0xE4 && (unsigned char)t[i] <= 0xE6 && dv_era_of(t + i, n - i, 1, &len) >= 0)
            return 1;
    return 0;
}

static int test(dv_prescan *ps, dv_prefilter k)
{
    size_t n = ps->len;
    switch (k) {
    case PRE_NONE: return 1;
    case PRE_NB_RUN8: return ps->nb_run >= 8;   /* DA/DT: NB ((?:19|20)[0-9]{2})(0[1-9]|1[0-2])(...) */
    case PRE_NB_RUN4: return ps->nb_run >= 4;   /* NB ((?:19|20)[0-9]{2})([-/.]) */
    case PRE_NB_RUN3: return ps->nb_run >= 3;   /* SSN, NHS: NB ([0-9]{3}) */
    case PRE_NB_RUN10: return ps->nb_run >= 10; /* NPI: NB [12][0-9]{9} */
    case PRE_ALPHA_RUN8: return ps->alpha_run >= 8; /* (?<=[A-Za-z_])((?:19|20)[0-9]{2})(0[1-9]|1[0-2])(...) */
    case PRE_MONTH: return word_test(ps, W_MONTH, 1);
    case PRE_DAY_MONTH: /* ([0-9]{1,2})([ -])(MON): the month's first letter after the day and its separator */
        return (ps->nonascii || (ps->after_digit & (1u << ('j' - 'a') | 1u << ('f' - 'a') | 1u << ('m' - 'a') |
                                                    1u << ('a' - 'a') | 1u << ('s' - 'a') | 1u << ('o' - 'a') |
                                                    1u << ('n' - 'a') | 1u << ('d' - 'a')))) &&
               word_test(ps, W_MONTH, 1);
    case PRE_AGE_OLD: /* ([0-9]{1,3})[ -]?(?:years?|yrs?|y|months?|mos?|weeks?|days?|y/o|j\.? alt|jahre? alt|ans) */
        return (ps->after_digit & (1u << ('y' - 'a') | 1u << ('m' - 'a') | 1u << ('w' - 'a') | 1u << ('d' - 'a') |
                                   1u << ('j' - 'a') | 1u << ('a' - 'a'))) != 0;
    case PRE_AGE_WORD: return word_test(ps, W_AGE, 1);
    case PRE_AGE_Y: return (ps->after_digit >> ('y' - 'a')) & 1; /* ([0-9]{1,3})\s?(?:years?|yrs?|y) */
    case PRE_AS: /* ([0-9]{3})([DWMY]) */
        return (ps->after_digit & (1u << ('d' - 'a') | 1u << ('w' - 'a') | 1u << ('m' - 'a') | 1u << ('y' - 'a'))) != 0;
    case PRE_AMPM: /* (?:1[0-2]|0?[1-9])\s?[AaPp] */
        return (ps->after_digit & (1u << ('a' - 'a') | 1u << ('p' - 'a'))) != 0;
    case PRE_PHONE_WORD: return word_test(ps, W_PHONE, 1);
    case PRE_URL: /* (?:(?:https?|ftps?|sftp|dicomweb)://|www\.) */
        return (ps->colons && memmem(ps->t, n, "://", 3)) || word_test(ps, W_WWW, 0);
    case PRE_IPV6: /* [0-9A-Fa-f:.]{3,45} holding two ':' (its lookahead) */
        if (ps->colons < 2)
            return 0;
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
        for (const char *q = ps->t, *end = ps->t + n; q < end; q++) {
            size_t i = (size_t)(q - ps->t);
            char c = *q;
            if (c != ':' && c != '-' && c != '.')
                continue;
            if (c != '.' && i >= 2 && hex(at(ps, i - 1)) && hex(at(ps, i - 2)) && hex(at(ps, i + 1)) &&
                hex(at(ps, i + 2)) && at(ps, i + 3) == (unsigned char)c)
                return 1;
            if (c == '.' && i >= 4 && hex(at(ps, i - 1)) && hex(at(ps, i - 2)) && hex(at(ps, i - 3)) &&
                hex(at(ps, i - 4)) && hex(at(ps, i + 1)) && hex(at(ps, i + 2)) && hex(at(ps, i + 3)) &&
                hex(at(ps, i + 4)) && at(ps, i + 5) == '.')
                return 1;
        }
        return 0;
    case PRE_STREET_DE: return word_test(ps, W_DE, 0);
    case PRE_STREET_FR: return word_test(ps, W_FR, 1);
    case PRE_ZIP_WORD: return word_test(ps, W_ZIP, 1);
    case PRE_BOX: return word_test(ps, W_BOX, 0); /* b, o, x have no non-ASCII case partners */
    case PRE_CJK_YEAR: /* NB ((?:19|20)[0-9]{2})\s*[年년] */
        return ps->nb_run >= 4 && ps->nonascii &&
               (memmem(ps->t, n, "\xe5\xb9\xb4", 3) != NULL || memmem(ps->t, n, "\xeb\x85\x84", 3) != NULL);
    case PRE_CJK_ERA:
        return ps->nonascii && memmem(ps->t, n, "\xe5\xb9\xb4", 3) != NULL && has_era(ps->t, n);
    case PRE_CJK_MONTH:
        return ps->nonascii &&
               (memmem(ps->t, n, "\xe6\x9c\x88", 3) != NULL || memmem(ps->t, n, "\xec\x9b\x94", 3) != NULL);
    case PRE_THAI: /* TH_FULL, TH_ABBR: UTF-8 E0 B8 xx or E0 B9 xx */
        if (!ps->nonascii)
            return 0;
        for (const char *q = ps->t; (q = memchr(q, 0xE0, n - (size_t)(q - ps->t))) != NULL && q + 1 < ps->t + n; q++)
            if ((unsigned char)q[1] == 0xB8 || (unsigned char)q[1] == 0xB9)
                return 1;
        return 0;
    default: break; /* the pass's tests never get here (known) */
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
