/* Per-instance deny-list (denylist.h). Values are stored folded, as word sequences (tokens.h), so one
 * comparison covers case, accents and separators. Rules (docs/text-lexicons.md "Deny-list"):
 *   - names: each word of each PN component is a part; a run of adjacent parts of one name (and capital
 *     initials of its parts) separated by space , . ^ = - is one PERSON_NAME, in any order. A single part
 *     needs >= 3 letters and must not be a common English, clinical or eponym word or a particle; such
 *     a "common" part matches alone only in all-capitals text (no case signal: privacy first, the guide's
 *     CT CHEST WALL example), after a title or trigger word, or capitalised and not next to a clinical
 *     word (Rose bengal, Young's modulus, Smith fracture stay). In mixed-case text a lower-case word
 *     matches only a part that is no common word (johnson strain: yes; gray matter: no). [test_denylist.c]
 *   - phrases (IDs, institution, address parts): all their words in order; institutions also by a run
 *     of >= 2 of their words that holds a specific one (LAKESIDE IMAGING).
 *   - dates: every written form as a word sequence; phones: digit runs equal to the value's digits.
 *   - glued tokens by their pieces (match_glued), letters spaced apart by what they spell (match_spaced). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/denylist.h"
#include "text/edits.h"
#include "text/id_number.h"
#include "text/lexicon.h"
#include "text/lexicon_data.h"
#include "text/months.h"
#include "text/tokens.h"
#include "text/widthfold.h"
#include "util/dv_grow.h"

enum { PH_WORDS = 0, PH_DIGITS, PH_ORG };
enum { ROLE_FAMILY = 0, ROLE_GIVEN, ROLE_MIDDLE, ROLE_PREFIX, ROLE_SUFFIX };

#define DL_MAX_WORDS 16

typedef struct dl_phrase {
    char *key;        /* folded words joined by one space (PH_DIGITS: the digits) */
    uint16_t len;
    uint8_t nwords;
    uint8_t kind;     /* PH_* */
    uint8_t type;     /* dv_infotype */
    uint8_t inside;   /* an identifier found inside longer tokens (match_inside_tokens) */
    uint16_t woff[DL_MAX_WORDS], wlen[DL_MAX_WORDS];
    uint32_t whash[DL_MAX_WORDS]; /* key_hash of each word: most token comparisons end at one integer */
} dl_phrase;

typedef struct dl_part {
    char *key;
    uint16_t len;
    uint16_t name; /* which PN value */
    uint8_t role;
    uint8_t common; /* may not match alone without context */
    uint8_t cjk;
    uint8_t ncp;    /* code points (CJK) */
    uint8_t particle; /* dv_lex_lookup(key) & DV_LEX_PARTICLE, looked up once when added */
    int32_t next;     /* next part (in insertion order) with the same key, or -1: the index chain */
} dl_part;

/* Parts are found by key through an open-addressed hash of distinct keys (each slot: the first part with
 * that key, chained in insertion order through dl_part.next), so matching costs O(tokens), not
 * O(tokens x parts), and the first part a linear scan would find is still the one found. */
#define DL_HASH_MIN 64u

struct dv_denylist {
    dl_phrase *ph;
    size_t nph, capph;
    size_t ninside; /* phrases with .inside set */
    dl_part *parts;
    size_t nparts, capparts;
    int32_t *slot;   /* hash slots: part index + 1 of a key's first part, 0 = empty */
    int32_t *tail;   /* per slot: the last part of that key's chain */
    size_t nslot;    /* power of two, >= 2 x the distinct keys */
    size_t nkeys;
    uint16_t names;
    /* dates already added (type << 27 | yyyymmdd): StudyDate, SeriesDate, ContentDate ... are mostly one
     * date, and writing its ~25 forms again only to find each a duplicate cost more than the rest */
    uint32_t date_seen[16];
    size_t ndate_seen;
};

static uint32_t key_hash(const char *k, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)k[i]) * 16777619u;
    return h;
}

/* The slot of key k (its chain, or the empty slot where it would go). */
static size_t slot_of(const dv_denylist *dl, const char *k, size_t n, uint32_t h)
{
    size_t mask = dl->nslot - 1;
    for (size_t s = h & mask;; s = (s + 1) & mask) {
        int32_t p = dl->slot[s];
        if (p == 0)
            return s;
        const dl_part *pt = &dl->parts[p - 1];
        if (pt->len == n && memcmp(pt->key, k, n) == 0)
            return s;
    }
}

/* The first part whose key is k, or -1. */
static long first_part(const dv_denylist *dl, const char *k, size_t n, uint32_t h)
{
    if (!dl->nslot)
        return -1;
    return (long)dl->slot[slot_of(dl, k, n, h)] - 1;
}

static int rehash(dv_denylist *dl, size_t nslot, dv_error *err)
{
    int32_t *slot = calloc(nslot, sizeof *slot), *tail = calloc(nslot, sizeof *tail);
    if (!slot || !tail) {
        free(slot);
        free(tail);
        return dv_fail(err, DV_ERR_NOMEM, "deny-list index");
    }
    free(dl->slot);
    free(dl->tail);
    dl->slot = slot;
    dl->tail = tail;
    dl->nslot = nslot;
    for (size_t i = 0; i < dl->nparts; i++) { /* chain heads only: the chains themselves stay */
        const dl_part *pt = &dl->parts[i];
        size_t s = slot_of(dl, pt->key, pt->len, key_hash(pt->key, pt->len));
        if (!dl->slot[s])
            dl->slot[s] = (int32_t)i + 1;
        dl->tail[s] = (int32_t)i;
    }
    return 0;
}

dv_denylist *dv_denylist_new(void)
{
    return calloc(1, sizeof(dv_denylist));
}

void dv_denylist_free(dv_denylist *dl)
{
    if (!dl)
        return;
    for (size_t i = 0; i < dl->nph; i++)
        free(dl->ph[i].key);
    for (size_t i = 0; i < dl->nparts; i++)
        free(dl->parts[i].key);
    free(dl->ph);
    free(dl->parts);
    free(dl->slot);
    free(dl->tail);
    free(dl);
}

size_t dv_denylist_size(const dv_denylist *dl)
{
    return dl ? dl->nph + dl->nparts : 0;
}

static int full(const dv_denylist *dl, dv_error *err)
{
    if (dl->nph + dl->nparts >= DV_DENYLIST_MAX_ENTRIES)
        return dv_fail(err, DV_ERR_LIMIT, "deny-list over %u entries", DV_DENYLIST_MAX_ENTRIES);
    return 0;
}

static char *dup_key(const char *k, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, k, n);
        p[n] = 0;
    }
    return p;
}

static void count_alnum(const char *k, size_t n, size_t *digits, size_t *other)
{
    *digits = *other = 0;
    for (size_t i = 0; i < n; i++) {
        if (k[i] >= '0' && k[i] <= '9')
            (*digits)++;
        else if (k[i] != ' ')
            (*other)++;
    }
}

/* Store a folded phrase (words separated by one space). */
static int add_phrase(dv_denylist *dl, int kind, dv_infotype type, const char *key, size_t n, dv_error *err)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < dl->nph; i++) /* the same value twice (PatientID = StudyID) is one entry */
        if (dl->ph[i].len == n && dl->ph[i].kind == kind && dl->ph[i].type == type && !memcmp(dl->ph[i].key, key, n))
            return 1;
    if (full(dl, err) < 0)
        return -1;
    if (dv_grow(&dl->ph, &dl->capph, dl->nph + 1, sizeof *dl->ph, 16) < 0)
        return dv_fail(err, DV_ERR_NOMEM, "deny-list growth");
    dl_phrase *p = &dl->ph[dl->nph];
    memset(p, 0, sizeof *p);
    p->key = dup_key(key, n);
    if (!p->key)
        return dv_fail(err, DV_ERR_NOMEM, "deny-list entry");
    p->len = (uint16_t)n;
    p->kind = (uint8_t)kind;
    p->type = (uint8_t)type;
    size_t w = 0, start = 0;
    for (size_t i = 0; i <= n && w < DL_MAX_WORDS; i++) {
        if (i == n || key[i] == ' ') {
            p->woff[w] = (uint16_t)start;
            p->wlen[w] = (uint16_t)(i - start);
            p->whash[w] = key_hash(key + start, i - start);
            w++;
            start = i + 1;
        }
    }
    p->nwords = (uint8_t)w;
    if (kind == PH_WORDS && w == 1) {
        size_t digits, other;
        count_alnum(key, n, &digits, &other);
        p->inside = digits >= 4;
        dl->ninside += p->inside;
    }
    dl->nph++;
    return 1;
}

/* ------------------------------------------------------------------------------------------ names */

static int common_word(const char *k, size_t n)
{
    uint32_t f = dv_lex_lookup(k, n);
    return (f & (DV_LEX_ENG | DV_LEX_CLINICAL | DV_LEX_EPONYM | DV_LEX_PARTICLE | DV_LEX_NOTNAME |
                 DV_LEX_TITLE | DV_LEX_TRIGGER)) != 0;
}

static size_t count_cps(const char *k, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)k[i] & 0xC0) != 0x80;
    return c;
}

static int add_part(dv_denylist *dl, const char *key, size_t n, int role, int script, dv_error *err)
{
    if ((dl->nkeys + 1) * 2 > dl->nslot && rehash(dl, dl->nslot ? dl->nslot * 2 : DL_HASH_MIN, err) < 0)
        return -1;
    uint32_t h = key_hash(key, n);
    size_t s = slot_of(dl, key, n, h);
    for (long i = (long)dl->slot[s] - 1; i >= 0; i = dl->parts[i].next)
        if (dl->parts[i].name == dl->names)
            return 0;
    if (full(dl, err) < 0)
        return -1;
    if (dv_grow(&dl->parts, &dl->capparts, dl->nparts + 1, sizeof *dl->parts, 16) < 0)
        return dv_fail(err, DV_ERR_NOMEM, "deny-list growth");
    dl_part *p = &dl->parts[dl->nparts];
    memset(p, 0, sizeof *p);
    p->key = dup_key(key, n);
    if (!p->key)
        return dv_fail(err, DV_ERR_NOMEM, "deny-list entry");
    p->len = (uint16_t)n;
    p->name = dl->names;
    p->role = (uint8_t)role;
    p->cjk = script != DV_SCRIPT_OTHER;
    p->ncp = (uint8_t)(count_cps(key, n) > 255 ? 255 : count_cps(key, n));
    /* minimum lengths: 2-letter parts (Ng, Li) only next to another part; common words need context */
    p->common = (uint8_t)(p->cjk ? p->ncp < 2 : (n < 3 || common_word(key, n)));
    p->particle = (dv_lex_lookup(key, n) & DV_LEX_PARTICLE) != 0;
    p->next = -1;
    int32_t idx = (int32_t)dl->nparts;
    if (dl->slot[s]) {
        dl->parts[dl->tail[s]].next = idx;
    } else {
        dl->slot[s] = idx + 1;
        dl->nkeys++;
    }
    dl->tail[s] = idx;
    dl->nparts++;
    return 1;
}

/* German / Scandinavian spellings without the letter: Müller -> Mueller, Nørgaard -> Noergaard. */
static size_t transliterate(const char *s, size_t len, char *out, size_t cap, int *changed)
{
    static const struct { const char *from, *to; } map[] = {
        {"\xC3\xA4", "ae"}, {"\xC3\xB6", "oe"}, {"\xC3\xBC", "ue"}, {"\xC3\xB8", "oe"}, {"\xC3\xA5", "aa"},
        {"\xC3\x84", "Ae"}, {"\xC3\x96", "Oe"}, {"\xC3\x9C", "Ue"}, {"\xC3\x98", "Oe"}, {"\xC3\x85", "Aa"}};
    size_t n = 0;
    *changed = 0;
    for (size_t i = 0; i < len;) {
        size_t m = 0;
        for (; m < sizeof map / sizeof map[0]; m++)
            if (i + 1 < len && s[i] == map[m].from[0] && s[i + 1] == map[m].from[1])
                break;
        if (m < sizeof map / sizeof map[0]) {
            if (n + 2 > cap)
                return 0;
            out[n++] = map[m].to[0];
            out[n++] = map[m].to[1];
            i += 2;
            *changed = 1;
        } else {
            if (n + 1 > cap)
                return 0;
            out[n++] = s[i++];
        }
    }
    return n;
}

/* A name part with digits worth matching: letters and digits mixed, or at least four digits. */
static int alnum_part_ok(const char *k, size_t n)
{
    size_t digits = 0, letters = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        if (c >= '0' && c <= '9')
            digits++;
        else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c >= 0x80)
            letters++;
    }
    return letters ? 1 : digits >= 4;
}

static int add_component(dv_denylist *dl, const char *s, size_t len, int role, dv_error *err)
{
    int added = 0;
    for (int pass = 0; pass < 2; pass++) {
        char alt[DV_DENYLIST_VALUE_MAX * 2];
        const char *src = s;
        size_t n = len;
        if (pass == 1) {
            int changed;
            n = transliterate(s, len, alt, sizeof alt, &changed);
            if (!changed || n == 0)
                break;
            src = alt;
        }
        dv_toks tk;
        if (dv_toks_init(&tk, src, n, err) < 0) {
            dv_toks_free(&tk);
            return -1;
        }
        for (size_t i = 0; i < tk.n; i++) {
            const dv_tok *t = &tk.t[i];
            if (t->keylen < 2 || !(t->shape & DV_TOK_ALPHA)) {
                /* A part with digits (JANCT000, Pat12345, 99000) is a pseudonym or an identifier: it is as
                 * identifying as a name, so it is a part too (privacy first); short ones (A1, 12) would
                 * match unrelated tokens. [test_denylist: test_alnum_name_parts] */
                int alnum = (t->shape & DV_TOK_DIGIT) && t->keylen >= 3 && alnum_part_ok(dv_tok_key(&tk, i), t->keylen);
                if (!alnum && !(t->keylen >= 1 && t->script != DV_SCRIPT_OTHER))
                    continue; /* initials (the text's initials are matched against parts' first letters) */
            }
            int r = add_part(dl, dv_tok_key(&tk, i), t->keylen, role, t->script, err);
            if (r < 0) {
                dv_toks_free(&tk);
                return -1;
            }
            added |= r;
        }
        dv_toks_free(&tk);
    }
    return added;
}

int dv_denylist_add_person_name(dv_denylist *dl, const char *pn, size_t len, dv_error *err)
{
    if (!dl || !pn || len == 0)
        return 0;
    if (len > DV_DENYLIST_VALUE_MAX)
        len = DV_DENYLIST_VALUE_MAX;
    int added = 0;
    int role = ROLE_FAMILY;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        size_t sep_len = 1;
        char sep = i < len ? dv_pn_delim((const unsigned char *)pn + i, len - i, &sep_len) : 0;
        if (i < len && !sep)
            continue;
        if (i > start && role <= ROLE_SUFFIX) {
            int r = add_component(dl, pn + start, i - start, role, err);
            if (r < 0)
                return -1;
            added |= r;
        }
        if (i < len)
            role = sep == '=' ? ROLE_FAMILY : role + 1;
        start = i + sep_len;
        i = start - 1;
    }
    if (added && dl->names < UINT16_MAX)
        dl->names++;
    return added;
}

/* ------------------------------------------------------------------------------------------ dates */

int dv_denylist_add_date(dv_denylist *dl, dv_infotype type, const char *da, size_t len, dv_error *err)
{
    if (!dl || !da || len < 8)
        return 0;
    for (size_t i = 0; i < 8; i++)
        if (da[i] < '0' || da[i] > '9')
            return 0;
    int y = (da[0] - '0') * 1000 + (da[1] - '0') * 100 + (da[2] - '0') * 10 + (da[3] - '0');
    int m = (da[4] - '0') * 10 + (da[5] - '0');
    int d = (da[6] - '0') * 10 + (da[7] - '0');
    if (m < 1 || m > 12 || d < 1 || d > 31 || y < 1000)
        return 0;
    uint32_t seen = (uint32_t)type << 27 | (uint32_t)(y * 10000 + m * 100 + d);
    for (size_t i = 0; i < dl->ndate_seen; i++)
        if (dl->date_seen[i] == seen)
            return 1; /* as add_phrase answers for a value already there */
    /* the English name (months.c) in the upper case of the deny-list's keys */
    const char *name = dv_month_name(DV_MONTH_EN, DV_MONTH_FULL, m);
    char mon[DV_MONTH_WORD_MAX], mon3[5];
    size_t ml = strlen(name);
    for (size_t i = 0; i <= ml; i++)
        mon[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 0x20 : name[i]);
    memcpy(mon3, mon, 3);
    mon3[3] = 0;
    const char *sfx = (d % 10 == 1 && d != 11) ? "ST" : (d % 10 == 2 && d != 12) ? "ND"
                      : (d % 10 == 3 && d != 13) ? "RD" : "TH";
    char forms[40][48];
    int nf = 0;
#define FORM(...) snprintf(forms[nf++], sizeof forms[0], __VA_ARGS__)
    FORM("%04d%02d%02d", y, m, d);
    FORM("%04d %02d %02d", y, m, d);
    FORM("%04d %d %d", y, m, d);
    FORM("%02d %02d %04d", d, m, y);
    FORM("%d %d %04d", d, m, y);
    FORM("%02d %02d %04d", m, d, y);
    FORM("%d %d %04d", m, d, y);
    FORM("%02d %02d %02d", d, m, y % 100);
    FORM("%02d %02d %02d", m, d, y % 100);
    FORM("%02d%02d%04d", d, m, y);
    FORM("%02d%02d%04d", m, d, y);
    FORM("%d %s %04d", d, mon3, y);
    FORM("%02d %s %04d", d, mon3, y);
    FORM("%d %s %04d", d, mon, y);
    FORM("%02d %s %04d", d, mon, y);
    FORM("%d%s %s %04d", d, sfx, mon, y);
    FORM("%d%s %s %04d", d, sfx, mon3, y);
    FORM("%s %d %04d", mon, d, y);
    FORM("%s %02d %04d", mon, d, y);
    FORM("%s %d %04d", mon3, d, y);
    FORM("%s %d%s %04d", mon, d, sfx, y);
    FORM("%s %d%s %04d", mon3, d, sfx, y);
    FORM("%d %s %02d", d, mon3, y % 100);
    /* two-digit years: year first (61-03-14), compact (610314, 140361, 031461), without zero padding
     * (3/14/61, 14/3/61, 61/3/14) */
    FORM("%02d %02d %02d", y % 100, m, d);
    FORM("%02d%02d%02d", y % 100, m, d);
    FORM("%02d%02d%02d", d, m, y % 100);
    FORM("%02d%02d%02d", m, d, y % 100);
    FORM("%d %d %02d", m, d, y % 100);
    FORM("%d %d %02d", d, m, y % 100);
    FORM("%02d %d %d", y % 100, m, d);
    FORM("%04d %s %02d", y, mon3, d);
    if (m == 9) {
        FORM("%d SEPT %04d", d, y);
        FORM("SEPT %d %04d", d, y);
    }
#undef FORM
    int added = 0;
    for (int i = 0; i < nf; i++) {
        int r = add_phrase(dl, PH_WORDS, type, forms[i], strlen(forms[i]), err);
        if (r < 0)
            return -1;
        added |= r;
    }
    if (dl->ndate_seen < sizeof dl->date_seen / sizeof dl->date_seen[0])
        dl->date_seen[dl->ndate_seen++] = seen;
    return added;
}

/* ------------------------------------------------------------------------------------------ phrases */

static int add_words(dv_denylist *dl, dv_infotype type, const char *utf8, size_t len, int kind, dv_error *err)
{
    char key[DV_DENYLIST_VALUE_MAX + 1];
    size_t n = dv_fold_phrase(utf8, len, key, sizeof key - 1);
    if (n == 0)
        return 0;
    size_t digits, other;
    count_alnum(key, n, &digits, &other);
    if (other == 0 && digits < 4)
        return 0; /* "12" would match slice numbers */
    if (digits + other < 3)
        return 0;
    int r = add_phrase(dl, kind, type, key, n, err);
    if (r <= 0 || kind == PH_ORG || type == DV_IT_LOCATION || type == DV_IT_STREET_ADDRESS)
        return r;
    /* an identifier's number also alone (id_number.h): MRN4471902 is written `chart 4471902`, `Acct#4471902`
     * (stop 37's red team: kept) */
    size_t at, number = type == DV_IT_MEDICAL_RECORD_NUMBER ? dv_id_number(key, n, &at) : 0;
    if (number && add_phrase(dl, kind, type, key + at, number, err) < 0)
        return -1;
    /* identifiers also without their separators: 990-12-4471 as 990124471 */
    if (memchr(key, ' ', n)) {
        char joined[DV_DENYLIST_VALUE_MAX + 1];
        size_t j = 0;
        for (size_t i = 0; i < n; i++)
            if (key[i] != ' ')
                joined[j++] = key[i];
        if (add_phrase(dl, kind, type, joined, j, err) < 0)
            return -1;
    }
    return r;
}

/* The digits of a phone value into out (room for len bytes), full-width digits (０３－１２３４) folded first
 * (widthfold.h): a number typed with a Japanese input method is the same number. Returns the count. */
static size_t phone_digits(const char *utf8, size_t len, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = utf8[i];
        if ((unsigned char)c == 0xEF && (c = dv_width_ascii((const unsigned char *)utf8 + i, len - i)) != 0)
            i += 2;
        if (c >= '0' && c <= '9')
            out[n++] = c;
    }
    return n;
}

int dv_denylist_add(dv_denylist *dl, dv_infotype type, const char *utf8, size_t len, dv_error *err)
{
    if (!dl || !utf8 || len == 0)
        return 0;
    if (len > DV_DENYLIST_VALUE_MAX)
        len = DV_DENYLIST_VALUE_MAX;
    switch (type) {
    case DV_IT_PERSON_NAME:
    case DV_IT_FIRST_NAME:
    case DV_IT_LAST_NAME:
        return dv_denylist_add_person_name(dl, utf8, len, err);
    case DV_IT_DATE:
    case DV_IT_DATE_OF_BIRTH:
        return dv_denylist_add_date(dl, type, utf8, len, err);
    case DV_IT_PHONE_NUMBER: {
        char digits[DV_DENYLIST_VALUE_MAX];
        size_t n = phone_digits(utf8, len, digits);
        int r = n >= 7 ? add_phrase(dl, PH_DIGITS, type, digits, n, err) : 0;
        /* a number of 10 digits or more also by its last 7, the local number as it is said and written without
         * its area code (212-555-0199 as `call 555 0199`; stop 37's red team: kept) */
        if (r >= 0 && n >= 10 && add_phrase(dl, PH_DIGITS, type, digits + n - 7, 7, err) < 0)
            return -1;
        return r;
    }
    case DV_IT_ORGANIZATION_NAME:
        return add_words(dl, type, utf8, len, PH_ORG, err);
    default:
        if ((int)type < 0 || type >= DV_IT_COUNT)
            return dv_fail(err, DV_ERR_USAGE, "deny-list: infoType %d out of range", (int)type);
        return add_words(dl, type, utf8, len, PH_WORDS, err);
    }
}

int dv_denylist_add_address(dv_denylist *dl, const char *utf8, size_t len, dv_error *err)
{
    if (!dl || !utf8)
        return 0;
    if (len > DV_DENYLIST_VALUE_MAX)
        len = DV_DENYLIST_VALUE_MAX;
    int added = 0, part = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && utf8[i] != '^' && utf8[i] != ',' && utf8[i] != '\n' && utf8[i] != '\r')
            continue;
        if (i > start) {
            char key[DV_DENYLIST_VALUE_MAX + 1];
            size_t n = dv_fold_phrase(utf8 + start, i - start, key, sizeof key - 1);
            size_t digits = 0, other = 0;
            count_alnum(key, n, &digits, &other);
            dv_infotype t = part == 0 || other == 0 ? DV_IT_STREET_ADDRESS : DV_IT_LOCATION;
            if (n > 0) {
                int r = add_words(dl, t, utf8 + start, i - start, PH_WORDS, err);
                if (r < 0)
                    return -1;
                added |= r;
                part++;
            }
        }
        start = i + 1;
    }
    return added;
}

/* ------------------------------------------------------------------------------------------ matching */

typedef struct dm {
    const dv_denylist *dl;
    const dv_toks *tk;
    const char *text;
    dv_findings *out;
    int mixed;
    const uint32_t *th; /* per token: key_hash of its key */
    const long *head;   /* per token: the first part with its key, or -1 */
    uint64_t bloom[16]; /* the tokens' key hashes (bloom_bit): a phrase none of whose words is here is skipped */
} dm;

static unsigned bloom_bit(uint32_t h)
{
    return (h ^ (h >> 16)) & 1023u;
}

static int bloom_has(const dm *m, uint32_t h)
{
    unsigned b = bloom_bit(h);
    return (m->bloom[b >> 6] >> (b & 63)) & 1;
}

/* The parts of a deny-listed value joined by this gap are still that value. An underscore joins too: an ID
 * written PAT_0042_B is its three words joined by it, and a name in a file-name style (ZELDA_QUIXLINGTON) is
 * that name; before, '_' was DV_GAP_OTHER and such a PatientID kept its value under DEIDENTIFY_TAG_CONTENTS.
 * [test_denylist: test_identifier_underscores] */
static int gap_joins(const dv_tok *t)
{
    return t->gap != DV_GAP_OTHER && t->gap != DV_GAP_NONE;
}

static int emit(dm *m, uint32_t start, uint32_t end, dv_infotype type, uint8_t score, dv_error *err)
{
    if (dv_findings_add(m->out, start, end, type, DV_DET_DENYLIST, score) < 0)
        return dv_fail(err, DV_ERR_LIMIT, "findings list full (%u) or out of memory", DV_FINDINGS_MAX);
    return 0;
}

static int is_name_type(uint8_t t)
{
    return t == DV_IT_PERSON_NAME || t == DV_IT_FIRST_NAME || t == DV_IT_LAST_NAME;
}

/* A piece glued to a name found before it or after it (no byte between them) joins that finding, so the name
 * is replaced once (`[PERSON_NAME]`, not one tag per script it is written in); a piece that touches none is a
 * finding of its own. */
static int emit_glued(dm *m, uint32_t start, uint32_t end, dv_error *err)
{
    for (size_t k = 0; k < m->out->n; k++) {
        dv_finding *f = &m->out->v[k];
        if (!is_name_type(f->type))
            continue;
        if (f->end == start) {
            f->end = end;
            return 0;
        }
        if (f->start == end) {
            f->start = start;
            return 0;
        }
    }
    return emit(m, start, end, DV_IT_PERSON_NAME, 90, err);
}

/* Between the words of a phrase (an ID, institution or address: every word must match, in order) also a short
 * run of punctuation joins: an ID is written AB#CD#1234, (AB)1234 or [AB]-1234 as often as AB-CD-1234, and it
 * was not found even in the PatientID that holds it (the gap was "other"), so DEIDENTIFY_TAG_CONTENTS kept it.
 * At most 3 characters of punctuation and spaces, ASCII or their twins outside it (dv_text_sep_ascii: a word
 * processor's en dash, full-width punctuation); never the value delimiter `\` or a line break.
 * [test_denylist: test_identifier_punctuation, test_denylist: test_identifier_unicode_punctuation] */
static int phrase_gap_joins(const dm *m, size_t i)
{
    const dv_tok *t = &m->tk->t[i];
    if (gap_joins(t))
        return 1;
    if (t->gap != DV_GAP_OTHER || i + 1 >= m->tk->n)
        return 0;
    uint32_t from = t->end, to = m->tk->t[i + 1].start;
    if (to <= from || to - from > 12) /* 3 characters of at most 4 bytes */
        return 0;
    unsigned chars = 0;
    for (size_t k = from; k < to; chars++) {
        if (chars == 3)
            return 0;
        int32_t cp = dv_text_utf8_next((const uint8_t *)m->text, to, &k);
        /* a separator outside ASCII (an en dash, a full-width hash, a middle dot) as its ASCII twin */
        unsigned char c = cp >= 0x80 ? (unsigned char)dv_text_sep_ascii(cp) : cp > 0 ? (unsigned char)cp : 0;
        if (c == '\\' || !(c == ' ' || (c > 0x20 && c < 0x7F && !((c >= '0' && c <= '9') ||
                                                                 ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')))))
            return 0;
    }
    return 1;
}

static int tok_eq(const dm *m, size_t i, const char *k, size_t n, uint32_t h)
{
    return m->th[i] == h && m->tk->t[i].keylen == n && memcmp(dv_tok_key(m->tk, i), k, n) == 0;
}

/* An institution, street or place: a word of it may identify alone. */
static int place_like(const dl_phrase *ph)
{
    return ph->kind == PH_ORG || ph->type == DV_IT_LOCATION || ph->type == DV_IT_STREET_ADDRESS;
}

/* A word specific enough to stand for its value alone: at least 5 letters, no digit, and no English,
 * clinical, eponym, title or generic institution word ("Clinic", "Lane", "General", "Imaging"). */
static int distinctive(const char *k, size_t n)
{
    if (n < 5)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (k[i] >= '0' && k[i] <= '9')
            return 0;
    return !common_word(k, n) && !(dv_lex_lookup(k, n) & (DV_LEX_ORGGENERIC | DV_LEX_ORGHEAD));
}

/* Phrases: every word in order (or, for PH_ORG, >= 2 consecutive words with a specific one; for an
 * institution, street or place also one distinctive word alone). */
static int match_phrases(dm *m, dv_error *err)
{
    const dv_toks *tk = m->tk;
    for (size_t p = 0; p < m->dl->nph; p++) {
        const dl_phrase *ph = &m->dl->ph[p];
        if (ph->kind == PH_DIGITS)
            continue;
        /* a match starts at the phrase's first word (an institution's, street's or place's: at any word) */
        int maybe = bloom_has(m, ph->whash[0]);
        for (size_t w = 1; w < ph->nwords && !maybe && place_like(ph); w++)
            maybe = bloom_has(m, ph->whash[w]);
        if (!maybe)
            continue;
        for (size_t i = 0; i < tk->n; i++) {
            for (size_t w0 = 0; w0 < ph->nwords; w0++) {
                if (ph->kind != PH_ORG && w0 > 0 && !place_like(ph))
                    break;
                size_t k = 0;
                while (w0 + k < ph->nwords && i + k < tk->n &&
                       tok_eq(m, i + k, ph->key + ph->woff[w0 + k], ph->wlen[w0 + k], ph->whash[w0 + k]) &&
                       (k == 0 || phrase_gap_joins(m, i + k - 1)))
                    k++;
                int ok = k == ph->nwords;
                /* part of an institution, street or place with a distinctive word: "Wobblecombe" of
                 * "Wobblecombe Clinic", "Harrowgate Lane" of "17 Harrowgate Lane" */
                for (size_t j = 0; j < k && !ok && place_like(ph); j++)
                    ok = distinctive(ph->key + ph->woff[w0 + j], ph->wlen[w0 + j]);
                if (!ok && ph->kind == PH_ORG && k >= 2) {
                    for (size_t j = 0; j < k && !ok; j++) {
                        uint32_t f = dv_lex_lookup(ph->key + ph->woff[w0 + j], ph->wlen[w0 + j]);
                        ok = !(f & (DV_LEX_ORGGENERIC | DV_LEX_ORGHEAD | DV_LEX_ENG));
                    }
                }
                if (ok) {
                    if (emit(m, tk->t[i].start, tk->t[i + k - 1].end, (dv_infotype)ph->type, 95, err) < 0)
                        return -1;
                    break;
                }
            }
        }
    }
    return 0;
}

/* Full-width phone punctuation (０３－１２３４, U+3000 as a space): at most three characters of it. */
static int phone_punct_wide(const char *s, uint32_t from, uint32_t to)
{
    unsigned chars = 0;
    for (uint32_t i = from; i < to; i++, chars++) {
        char c = s[i];
        if ((unsigned char)c >= 0x80 && (c = dv_width_ascii((const unsigned char *)s + i, to - i)) != 0)
            i += 2;
        if (chars == 3 || !c || !strchr(" ()+-./", c))
            return 0;
    }
    return 1;
}

static int phone_punct(const char *s, uint32_t from, uint32_t to)
{
    if (to <= from || to - from > 3)
        return to > from && to - from <= 9 && phone_punct_wide(s, from, to);
    for (uint32_t i = from; i < to; i++)
        if (!strchr(" ()+-./", s[i]) || s[i] == 0)
            return (unsigned char)s[i] >= 0x80 && phone_punct_wide(s, from, to);
    return 1;
}

/* Phone numbers: runs of digit tokens separated by phone punctuation whose digits equal the value's. */
static int match_digits(dm *m, dv_error *err)
{
    const dv_toks *tk = m->tk;
    for (size_t p = 0; p < m->dl->nph; p++) {
        const dl_phrase *ph = &m->dl->ph[p];
        if (ph->kind != PH_DIGITS)
            continue;
        for (size_t i = 0; i < tk->n; i++) {
            size_t got = 0, j = i;
            int ok = 0;
            while (j < tk->n) {
                const dv_tok *t = &tk->t[j];
                const char *k = dv_tok_key(tk, j);
                int alldig = 1;
                for (size_t c = 0; c < t->keylen; c++)
                    alldig &= k[c] >= '0' && k[c] <= '9';
                if (!alldig || t->keylen == 0 || got + t->keylen > ph->len ||
                    memcmp(ph->key + got, k, t->keylen) != 0)
                    break;
                got += t->keylen;
                if (got == ph->len) {
                    ok = 1;
                    break;
                }
                if (t->gap != DV_GAP_SPACE && t->gap != DV_GAP_HYPHEN && t->gap != DV_GAP_PERIOD &&
                    t->gap != DV_GAP_OTHER)
                    break;
                if (t->gap == DV_GAP_OTHER && !phone_punct(m->text, t->end, j + 1 < tk->n ? tk->t[j + 1].start : t->end))
                    break; /* "(617) 555" has ") " between the groups; nothing else joins */
                j++;
            }
            if (ok) {
                if (emit(m, tk->t[i].start, tk->t[j].end, (dv_infotype)ph->type, 95, err) < 0)
                    return -1;
                i = j;
            }
        }
    }
    return 0;
}

/* The name part token i matches (full word), or -1. In mixed-case text a lower-case word matches only a
 * part that is no common word, or a particle. */
static long part_of(const dm *m, size_t i, int want_name)
{
    const dv_tok *t = &m->tk->t[i];
    if (t->keylen == 0 || t->script != DV_SCRIPT_OTHER)
        return -1;
    int lower = m->mixed && !(t->shape & DV_TOK_CAP);
    for (long p = m->head[i]; p >= 0; p = m->dl->parts[p].next) { /* the parts with the token's key */
        const dl_part *pt = &m->dl->parts[p];
        if (want_name >= 0 && pt->name != want_name)
            continue;
        /* lower case loses the case signal: a part that is also a common English / clinical word (gray
         * matter) matches only as a particle (van der Berg); a part that is no common word (johnson) is
         * the patient's name in any case (privacy first). [test_denylist: test_lower_case_runs] */
        if (lower && pt->common && !pt->particle)
            continue;
        if (!pt->cjk)
            return p; /* the chain holds only parts with the token's key */
    }
    return -1;
}

/* Like part_of, whatever the token's case: for runs of two or more parts, which are the name in any case. */
static long part_any_case(const dm *m, size_t i, int want_name)
{
    const dv_tok *t = &m->tk->t[i];
    if (t->keylen == 0 || t->script != DV_SCRIPT_OTHER)
        return -1;
    for (long p = m->head[i]; p >= 0; p = m->dl->parts[p].next) {
        const dl_part *pt = &m->dl->parts[p];
        if ((want_name < 0 || pt->name == want_name) && !pt->cjk)
            return p;
    }
    return -1;
}

/* The last token of a run from i of >= 2 adjacent full parts of one name, at least one not a particle and at
 * least one in a case part_of refuses; 0 when there is none. Lower case only loses the signal of one word (gray matter); two of the
 * instance's own name parts side by side are the name (`john smith`, `de la cruz maria`). [test_denylist:
 * test_lower_case_runs] */
static size_t any_case_run(const dm *m, size_t i)
{
    long p = part_any_case(m, i, -1);
    if (p < 0)
        return 0;
    int name = m->dl->parts[p].name;
    size_t b = i, n = 0, specific = 0, lower = 0;
    for (size_t k = i; k < m->tk->n; k++) {
        if (k > i && !gap_joins(&m->tk->t[k - 1]))
            break;
        long q = part_any_case(m, k, name);
        if (q < 0)
            break;
        n++;
        specific += !m->dl->parts[q].particle;
        lower += part_of(m, k, name) < 0;
        b = k;
    }
    /* only where case refused a part: otherwise the rules below match the same run (with its initials) */
    return n >= 2 && specific > 0 && lower > 0 ? b : 0;
}

/* A capital initial of a part of name `name` (A. for Ann). */
static int initial_of(const dm *m, size_t i, int name)
{
    const dv_tok *t = &m->tk->t[i];
    if (!(t->shape & DV_TOK_ONECP) || !(t->shape & DV_TOK_ALPHA) || !(t->shape & DV_TOK_CAP) || t->keylen != 1)
        return 0;
    char c = dv_tok_key(m->tk, i)[0];
    for (size_t p = 0; p < m->dl->nparts; p++) {
        const dl_part *pt = &m->dl->parts[p];
        if (pt->name == name && !pt->cjk && pt->role != ROLE_PREFIX && pt->role != ROLE_SUFFIX && pt->key[0] == c)
            return 1;
    }
    return 0;
}

static int context_before(const dm *m, size_t i)
{
    if (i == 0 || !gap_joins(&m->tk->t[i - 1]))
        return 0;
    uint32_t f = dv_lex_lookup(dv_tok_key(m->tk, i - 1), m->tk->t[i - 1].keylen);
    return (f & (DV_LEX_TITLE | DV_LEX_TRIGGER)) != 0;
}

static int clinical_next_to(const dm *m, size_t i)
{
    const dv_toks *tk = m->tk;
    if (i + 1 < tk->n && tk->t[i].gap <= DV_GAP_HYPHEN &&
        (dv_lex_lookup(dv_tok_key(tk, i + 1), tk->t[i + 1].keylen) & (DV_LEX_CLINICAL)))
        return 1;
    if (i > 0 && tk->t[i - 1].gap == DV_GAP_SPACE && !(tk->t[i - 1].shape & DV_TOK_CAP) &&
        (dv_lex_lookup(dv_tok_key(tk, i - 1), tk->t[i - 1].keylen) & DV_LEX_CLINICAL))
        return 1;
    return 0;
}

/* Is a name already found over [start, end) (any detector)? */
static int name_found(const dv_findings *f, uint32_t start, uint32_t end)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->v[i].start < end && start < f->v[i].end && is_name_type(f->v[i].type))
            return 1;
    return 0;
}

/* Is the run of CJK parts [s0, e0) in token i a finding: strong (two parts side by side, or one of 2+ code
 * points), or a 1-code-point part glued with no gap to a name already found (`Test-ДΘﾈ`: the kana is its own
 * token since half-width kana are kana, and would be left behind the Latin name)? */
static int cjk_run_found(const dm *m, size_t i, uint32_t s0, uint32_t e0, int strong)
{
    const dv_toks *tk = m->tk;
    const dv_tok *t = &tk->t[i];
    if (strong)
        return 1;
    if (s0 == t->start && i > 0 && tk->t[i - 1].gap == DV_GAP_NONE &&
        name_found(m->out, tk->t[i - 1].start, tk->t[i - 1].end))
        return 1;
    return e0 == t->end && i + 1 < tk->n && t->gap == DV_GAP_NONE &&
           name_found(m->out, tk->t[i + 1].start, tk->t[i + 1].end);
}

static int match_names(dm *m, dv_error *err)
{
    const dv_toks *tk = m->tk;
    for (size_t i = 0; i < tk->n; i++) {
        size_t run = m->mixed ? any_case_run(m, i) : 0;
        if (run) {
            if (emit(m, tk->t[i].start, tk->t[run].end, DV_IT_PERSON_NAME, 95, err) < 0)
                return -1;
            i = run;
            continue;
        }
        long p = part_of(m, i, -1);
        int name;
        size_t a = i;
        if (p >= 0) {
            name = m->dl->parts[p].name;
        } else {
            /* initials first (A. Johnson, M J Brown): the name of the first full part after them */
            size_t j = i;
            while (j + 1 < tk->n && gap_joins(&tk->t[j]) && (tk->t[j].shape & DV_TOK_ONECP) && j - i < 3)
                j++;
            long q = j > i ? part_of(m, j, -1) : -1;
            if (q < 0)
                continue;
            name = m->dl->parts[q].name;
            int all = 1;
            for (size_t k = i; k < j; k++)
                all &= initial_of(m, k, name);
            if (!all)
                continue;
        }
        size_t b = a, fulls = 0, initials = 0;
        long only = -1;
        for (size_t k = a; k < tk->n; k++) {
            if (k > a && !gap_joins(&tk->t[k - 1]))
                break;
            long q = part_of(m, k, name);
            if (q >= 0) {
                fulls++;
                only = q;
                b = k;
            } else if (initial_of(m, k, name)) {
                initials++;
                b = k;
            } else {
                break;
            }
        }
        /* trailing initials only count when a full part is next to them */
        int ok = fulls >= 2 || (fulls == 1 && initials >= 1);
        if (!ok && fulls == 1) {
            const dl_part *pt = &m->dl->parts[only];
            size_t at = a;
            while (at <= b && part_of(m, at, name) < 0)
                at++;
            ok = !pt->common || !m->mixed || context_before(m, a) ||
                 ((tk->t[at].shape & DV_TOK_CAP) && pt->len >= 3 && !clinical_next_to(m, at) &&
                  !((tk->t[at].shape & DV_TOK_POSS) && at + 1 < tk->n) &&
                  !(dv_lex_lookup(pt->key, pt->len) & (DV_LEX_EPONYM | DV_LEX_PARTICLE | DV_LEX_CLINICAL)));
            if (pt->len < 3 && !context_before(m, a))
                ok = 0;
        }
        if (fulls == 0)
            ok = 0;
        if (ok) {
            if (emit(m, tk->t[a].start, tk->t[b].end, DV_IT_PERSON_NAME, fulls >= 2 ? 95 : 90, err) < 0)
                return -1;
            i = b;
        }
    }
    /* CJK parts: substrings of CJK runs; a 1-code-point part only next to another part */
    for (size_t i = 0; i < tk->n; i++) {
        const dv_tok *t = &tk->t[i];
        if (t->script == DV_SCRIPT_OTHER || t->keylen == 0)
            continue;
        const char *k = dv_tok_key(tk, i);
        uint32_t s0 = 0, e0 = 0;
        int strong = 0, have = 0;
        for (size_t off = 0; off < t->keylen;) {
            size_t best = 0;
            int best_strong = 0;
            for (size_t p = 0; p < m->dl->nparts; p++) {
                const dl_part *pt = &m->dl->parts[p];
                if (pt->cjk && pt->len <= t->keylen - off && pt->len > best && !memcmp(k + off, pt->key, pt->len)) {
                    best = pt->len;
                    best_strong = !pt->common;
                }
            }
            if (best) {
                /* the key is shorter than the text where half-width kana composed (ﾀﾞ -> ダ): map back */
                uint32_t from = dv_tok_text_off(tk, m->text, i, off), to = dv_tok_text_off(tk, m->text, i, off + best);
                if (have && e0 == from) {
                    e0 = to;
                    strong = 1; /* two parts side by side */
                } else {
                    if (have && cjk_run_found(m, i, s0, e0, strong) &&
                        (strong ? emit(m, s0, e0, DV_IT_PERSON_NAME, 95, err) : emit_glued(m, s0, e0, err)) < 0)
                        return -1;
                    s0 = from;
                    e0 = to;
                    strong = best_strong;
                    have = 1;
                }
                off += best;
            } else {
                off++;
                while (off < t->keylen && ((unsigned char)k[off] & 0xC0) == 0x80)
                    off++;
            }
        }
        if (have && cjk_run_found(m, i, s0, e0, strong) &&
            (strong ? emit(m, s0, e0, DV_IT_PERSON_NAME, 95, err) : emit_glued(m, s0, e0, err)) < 0)
            return -1;
    }
    return 0;
}

/* Does the folded piece k[0, n) name this instance on its own: a name part that may match alone, or a
 * distinctive word of an institution, street or place? Its infoType in *type. */
static int piece_identifies(const dm *m, const char *k, size_t n, dv_infotype *type)
{
    long p = first_part(m->dl, k, n, key_hash(k, n));
    for (; p >= 0; p = m->dl->parts[p].next)
        if (!m->dl->parts[p].common && n >= 4) {
            *type = DV_IT_PERSON_NAME;
            return 1;
        }
    if (!distinctive(k, n))
        return 0;
    for (size_t i = 0; i < m->dl->nph; i++) {
        const dl_phrase *ph = &m->dl->ph[i];
        if (ph->kind == PH_DIGITS || !place_like(ph))
            continue;
        for (size_t w = 0; w < ph->nwords; w++)
            if (ph->wlen[w] == n && !memcmp(ph->key + ph->woff[w], k, n)) {
                *type = (dv_infotype)ph->type;
                return 1;
            }
    }
    return 0;
}

static int covered(const dv_findings *f, uint32_t start, uint32_t end)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->v[i].start < end && start < f->v[i].end)
            return 1;
    return 0;
}

/* Glued tokens: a token that is two words run together ("QuixotelyZebulon", "Quixotely1", "2Zebulon") is
 * cut where lower case turns to upper case and where letters meet digits; the whole token is a finding when
 * one of its pieces identifies (piece_identifies). Only ASCII tokens, whose key is their text in capitals. */
static int match_glued(dm *m, dv_error *err)
{
    const dv_toks *tk = m->tk;
    for (size_t i = 0; i < tk->n; i++) {
        const dv_tok *t = &tk->t[i];
        size_t n = t->keylen;
        if (n < 5 || n != t->end - t->start || t->script != DV_SCRIPT_OTHER || covered(m->out, t->start, t->end))
            continue;
        const char *s = m->text + t->start, *k = dv_tok_key(tk, i);
        int ascii = 1, cuts = 0;
        for (size_t j = 0; j < n && ascii; j++) {
            ascii = (unsigned char)s[j] < 0x80;
            if (j && ((s[j - 1] >= 'a' && s[j - 1] <= 'z' && s[j] >= 'A' && s[j] <= 'Z') ||
                      ((s[j - 1] >= '0' && s[j - 1] <= '9') != (s[j] >= '0' && s[j] <= '9'))))
                cuts++;
        }
        if (!ascii || !cuts)
            continue;
        for (size_t a = 0, j = 1; j <= n; j++) {
            int cut = j == n || (s[j - 1] >= 'a' && s[j - 1] <= 'z' && s[j] >= 'A' && s[j] <= 'Z') ||
                      ((s[j - 1] >= '0' && s[j - 1] <= '9') != (s[j] >= '0' && s[j] <= '9'));
            if (!cut)
                continue;
            dv_infotype type;
            if (piece_identifies(m, k + a, j - a, &type)) {
                if (emit(m, t->start, t->end, type, 90, err) < 0)
                    return -1;
                break;
            }
            a = j;
        }
    }
    return 0;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Identifiers inside longer tokens: an MRN or other ID of one word with >= 4 digits (`ZQ4471339`, `990124471`)
 * written with a suffix or prefix glued to it (`ZQ4471339A`, `MRNZQ4471339`, `4471339b`) is the same identifier;
 * the whole token is the finding. Its digit runs must end where the identifier's do: `44713391` or `14471339`
 * is another number (a count, a dose, an accession), not this one with a letter added. */
static int match_inside_tokens(dm *m, dv_error *err)
{
    const dv_toks *tk = m->tk;
    if (m->dl->ninside == 0)
        return 0;
    for (size_t i = 0; i < tk->n; i++) {
        const dv_tok *t = &tk->t[i];
        size_t n = t->keylen;
        if (!(t->shape & DV_TOK_DIGIT) || n <= 4 || t->script != DV_SCRIPT_OTHER || covered(m->out, t->start, t->end))
            continue;
        const char *k = dv_tok_key(tk, i);
        for (size_t p = 0; p < m->dl->nph; p++) {
            const dl_phrase *ph = &m->dl->ph[p];
            if (!ph->inside || n <= ph->len)
                continue;
            size_t a = 0;
            for (; a + ph->len <= n; a++) {
                size_t b = a + ph->len;
                if (memcmp(k + a, ph->key, ph->len) == 0 && !(a > 0 && is_digit(k[a - 1]) && is_digit(k[a])) &&
                    !(b < n && is_digit(k[b - 1]) && is_digit(k[b])))
                    break;
            }
            if (a + ph->len <= n) {
                if (emit(m, t->start, t->end, (dv_infotype)ph->type, 90, err) < 0)
                    return -1;
                break;
            }
        }
    }
    return 0;
}

/* Identifiers written in pieces: an MRN or other ID of one word with >= 4 digits and >= 6 characters typed with
 * separators between its pieces (`ZQ 4471339`, `zq-447-1339`, `ZQ/4471339`, a value `990-12-4471` written
 * `990 124 471`) is the same identifier. A run of tokens joined by one space, hyphen, period or slash whose keys
 * spell the identifier exactly is the finding: a piece that runs on (`ZQ 44713391`) or a run that stops short
 * is another number. Shorter identifiers (`AB 12`) are not assembled: pieces of them are everyday tokens. */
#define SPLIT_ID_MIN 6u
static int split_gap(uint8_t gap)
{
    return gap == DV_GAP_SPACE || gap == DV_GAP_HYPHEN || gap == DV_GAP_PERIOD || gap == DV_GAP_SLASH ||
           gap == DV_GAP_UNDERSCORE;
}

static int match_split_identifier(dm *m, dv_error *err)
{
    const dv_toks *tk = m->tk;
    if (m->dl->ninside == 0)
        return 0;
    for (size_t i = 0; i + 1 < tk->n; i++) {
        const dv_tok *t = &tk->t[i];
        if (t->keylen == 0 || t->script != DV_SCRIPT_OTHER || !split_gap(t->gap) ||
            covered(m->out, t->start, t->end))
            continue;
        for (size_t p = 0; p < m->dl->nph; p++) {
            const dl_phrase *ph = &m->dl->ph[p];
            if (!ph->inside || ph->len < SPLIT_ID_MIN || t->keylen >= ph->len ||
                memcmp(dv_tok_key(tk, i), ph->key, t->keylen) != 0)
                continue;
            size_t at = t->keylen, j = i;
            while (at < ph->len && j + 1 < tk->n && split_gap(tk->t[j].gap)) {
                const dv_tok *u = &tk->t[j + 1];
                if (u->keylen == 0 || u->script != DV_SCRIPT_OTHER || u->keylen > ph->len - at ||
                    memcmp(dv_tok_key(tk, j + 1), ph->key + at, u->keylen) != 0)
                    break;
                at += u->keylen;
                j++;
            }
            if (at == ph->len && j > i) {
                if (emit(m, t->start, tk->t[j].end, (dv_infotype)ph->type, 90, err) < 0)
                    return -1;
                i = j;
                break;
            }
        }
    }
    return 0;
}

/* A piece glued with no gap to a name already found (DV_GAP_NONE: a change of script inside one run of letters,
 * `Test-...๛ﾈİ` of PatientName `Test-éüäöòДΘĝדصķћ๛ﾈİ`) is the same word: when it is a part of a deny-listed
 * name, or one code point, it is a finding too. Since half-width kana became their own script, the `İ` after
 * `ﾈ` was left behind. Repeated until nothing changes, so a chain of glued pieces goes whole; each round claims
 * a token or ends, so at most n rounds. */
static int match_glued_to_name(dm *m, dv_error *err)
{
    const dv_toks *tk = m->tk;
    for (int changed = 1; changed;) {
        changed = 0;
        for (size_t i = 0; i < tk->n; i++) {
            const dv_tok *t = &tk->t[i];
            if ((m->head[i] < 0 && !(t->shape & DV_TOK_ONECP)) || covered(m->out, t->start, t->end))
                continue;
            int glued = (i > 0 && tk->t[i - 1].gap == DV_GAP_NONE &&
                         name_found(m->out, tk->t[i - 1].start, tk->t[i - 1].end)) ||
                        (t->gap == DV_GAP_NONE && i + 1 < tk->n &&
                         name_found(m->out, tk->t[i + 1].start, tk->t[i + 1].end));
            if (!glued)
                continue;
            if (emit_glued(m, t->start, t->end, err) < 0)
                return -1;
            changed = 1;
        }
    }
    return 0;
}

/* One ASCII letter standing alone (a spelled-out letter, or an initial). */
static int one_ascii_letter(const dv_toks *tk, size_t i)
{
    const dv_tok *t = &tk->t[i];
    const char c = dv_tok_key(tk, i)[0];
    return t->keylen == 1 && t->end - t->start == 1 && t->script == DV_SCRIPT_OTHER && c >= 'A' && c <= 'Z';
}

/* Do two parts of one name, run together, occur in the letters k[0, n) ("DOEJOHN", "JOHNDOE")? Parts of three
 * letters do not identify alone (piece_identifies), together they do. Bounded: names with more parts than this
 * are compared pair by pair only up to it. */
#define SPACED_PAIR_PARTS 32u
static int holds_two_parts(const dv_denylist *dl, const char *k, size_t n)
{
    size_t np = dl->nparts < SPACED_PAIR_PARTS ? dl->nparts : SPACED_PAIR_PARTS;
    for (size_t a = 0; a < np; a++)
        for (size_t b = 0; b < np; b++) {
            const dl_part *p = &dl->parts[a], *q = &dl->parts[b];
            if (a == b || p->name != q->name || p->cjk || q->cjk || p->len < 2 || q->len < 2 ||
                (size_t)p->len + q->len > n)
                continue;
            for (size_t at = 0; at + p->len + q->len <= n; at++)
                if (!memcmp(k + at, p->key, p->len) && !memcmp(k + at + p->len, q->key, q->len))
                    return 1;
        }
    return 0;
}

/* Letters spaced apart: "J O H N  D O E", "Q-U-I-X-O-T-E-L-Y", "W.O.B.B.L.E.C.O.M.B.E." spell a word out of
 * one-letter tokens, which no word comparison sees. A run of >= 4 such letters joined by spaces, one hyphen or
 * one period is read as the letters it spells; it is a finding (the whole run) when a piece of >= 4 of its
 * letters identifies (piece_identifies: a name part that may match alone, a distinctive institution or place
 * word) or when it holds two parts of one name run together. Short runs (A P, L R) are clinical shorthand and
 * are never read. */
#define SPACED_MIN 4u
#define SPACED_MAX DV_TOK_KEY_MAX
static int match_spaced(dm *m, dv_error *err)
{
    const dv_toks *tk = m->tk;
    char k[SPACED_MAX];
    for (size_t i = 0; i < tk->n;) {
        size_t j = i, n = 0;
        while (j < tk->n && n < SPACED_MAX && one_ascii_letter(tk, j)) {
            k[n++] = dv_tok_key(tk, j)[0];
            uint8_t gap = tk->t[j++].gap;
            if (gap != DV_GAP_SPACE && gap != DV_GAP_HYPHEN && gap != DV_GAP_PERIOD)
                break;
        }
        if (n >= SPACED_MIN) {
            int hit = 0;
            dv_infotype type = DV_IT_PERSON_NAME;
            for (size_t a = 0; a + SPACED_MIN <= n && !hit; a++)
                for (size_t b = a + SPACED_MIN; b <= n && !hit; b++)
                    hit = piece_identifies(m, k + a, b - a, &type);
            if (!hit && holds_two_parts(m->dl, k, n)) {
                hit = 1;
                type = DV_IT_PERSON_NAME;
            }
            if (hit && emit(m, tk->t[i].start, tk->t[j - 1].end, type, 85, err) < 0)
                return -1;
        }
        i = j > i ? j : i + 1;
    }
    return 0;
}

int dv_detect_denylist_toks(const dv_denylist *dl, const dv_toks *tk, const char *utf8, size_t len,
                            dv_findings *out, dv_error *err)
{
    if (!dl || len == 0 || (dl->nph == 0 && dl->nparts == 0))
        return 0;
    if (!utf8 || !out || !tk)
        return dv_fail(err, DV_ERR_USAGE, "dv_detect_denylist: NULL text, tokens or findings");
    uint32_t small_th[64];
    long small_head[64];
    uint32_t *th = small_th;
    long *head = small_head;
    if (tk->n > 64) {
        th = malloc(tk->n * sizeof *th);
        head = malloc(tk->n * sizeof *head);
        if (!th || !head) {
            free(th);
            free(head);
            return dv_fail(err, DV_ERR_NOMEM, "deny-list scratch for %zu tokens", tk->n);
        }
    }
    dm m = {.dl = dl, .tk = tk, .text = utf8, .out = out, .mixed = 0, .th = th, .head = head};
    for (size_t i = 0; i < tk->n; i++) {
        const dv_tok *t = &tk->t[i];
        uint8_t s = t->shape;
        if ((s & DV_TOK_LOWER) || ((s & DV_TOK_CAP) && !(s & DV_TOK_UPPER)))
            m.mixed = 1;
        th[i] = key_hash(dv_tok_key(tk, i), t->keylen);
        unsigned b = bloom_bit(th[i]);
        m.bloom[b >> 6] |= (uint64_t)1 << (b & 63);
        head[i] = t->keylen && t->script == DV_SCRIPT_OTHER ? first_part(dl, dv_tok_key(tk, i), t->keylen, th[i]) : -1;
    }
    int rc = 0;
    if (match_names(&m, err) < 0 || match_phrases(&m, err) < 0 || match_digits(&m, err) < 0 ||
        match_glued(&m, err) < 0 || match_spaced(&m, err) < 0 || match_inside_tokens(&m, err) < 0 ||
        match_split_identifier(&m, err) < 0 ||
        match_glued_to_name(&m, err) < 0)
        rc = -1;
    if (th != small_th) {
        free(th);
        free(head);
    }
    return rc;
}

int dv_detect_denylist(const dv_denylist *dl, const char *utf8, size_t len, dv_findings *out, dv_error *err)
{
    if (!dl || len == 0 || (dl->nph == 0 && dl->nparts == 0))
        return 0;
    if (!utf8 || !out)
        return dv_fail(err, DV_ERR_USAGE, "dv_detect_denylist: NULL text or findings");
    dv_toks tk;
    if (dv_toks_init(&tk, utf8, len, err) < 0) {
        dv_toks_free(&tk);
        return -1;
    }
    int rc = dv_detect_denylist_toks(dl, &tk, utf8, len, out, err);
    dv_toks_free(&tk);
    return rc;
}

/* ------------------------------------------------------------------------- OCR-tolerant matching */

/* One class per group of characters OCR confuses (O/0/Q/D, I/1/l/|/!, S/5/$, B/8, Z/2, G/6), the rest in
 * capitals; 0 for a character that is no letter or digit (a separator, dropped). */
static char ocr_class(unsigned char c)
{
    if (c >= 'a' && c <= 'z')
        c = (unsigned char)(c - 'a' + 'A');
    switch (c) {
    case '0': case 'O': case 'Q': case 'D': return 'O';
    case '1': case 'I': case 'L': case '|': case '!': return 'I';
    case '5': case 'S': case '$': return 'S';
    case '8': case 'B': return 'B';
    case '2': case 'Z': return 'Z';
    case '6': case 'G': return 'G';
    default: break;
    }
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ? (char)c : 0;
}

/* key[0, n) in classes, separators dropped, into out (cap bytes); returns the length (0 when it does not fit). */
static size_t ocr_key(const char *key, size_t n, char *out, size_t cap, int *letters)
{
    size_t m = 0;
    *letters = 0;
    for (size_t i = 0; i < n; i++) {
        char c = ocr_class((unsigned char)key[i]);
        if (!c)
            continue;
        if (m == cap)
            return 0;
        *letters |= c >= 'A' && c <= 'Z' && !((unsigned char)key[i] >= '0' && (unsigned char)key[i] <= '9');
        out[m++] = c;
    }
    return m;
}

#define OCR_KEY_MAX 64u
#define OCR_TEXT_MAX 512u

typedef struct ocr_text {
    char s[OCR_TEXT_MAX];      /* the reading in classes, separators dropped */
    size_t n;
    uint16_t start[OCR_TEXT_MAX]; /* where each token begins in s */
    uint16_t end[OCR_TEXT_MAX];
    size_t ntok;
} ocr_text;

/* Edits allowed for a key of n classes: none under 6 (and then only a whole token: a short key is a common
 * word or a fragment too often), none for 6 digits (a clock, a short number), 1 up to 9, 2 from 10. */
static unsigned ocr_edits(size_t n, int letters)
{
    return n >= 10 ? 2u : n >= 7 ? 1u : (n == 6 && letters) ? 1u : 0u;
}

/* 1 when key[0, m) is within k edits of a prefix of some token-initial suffix of t (a key starts where a
 * word of the reading starts; where it ends is free: run-together words). Keys under 6 classes: a whole token. */
static int ocr_near(const ocr_text *t, const char *key, size_t m, unsigned k)
{
    if (m < 6) {
        for (size_t i = 0; i < t->ntok; i++)
            if ((size_t)(t->end[i] - t->start[i]) == m && memcmp(t->s + t->start[i], key, m) == 0)
                return 1;
        return 0;
    }
    unsigned row[OCR_KEY_MAX + 1];
    for (size_t i = 0; i < t->ntok; i++) {
        const char *s = t->s + t->start[i];
        size_t avail = t->n - t->start[i], lim = m + k < avail ? m + k : avail;
        if (lim + k < m)
            continue;
        /* row[j]: edits between key[0, j) and s[0, c) for the current column c */
        for (size_t j = 0; j <= m; j++)
            row[j] = (unsigned)j;
        if (row[m] <= k)
            return 1;
        for (size_t c = 1; c <= lim; c++) {
            unsigned best = dv_edits_step(row, key, m, s[c - 1]);
            if (row[m] <= k)
                return 1;
            if (best > k)
                break;
        }
    }
    return 0;
}

static int name_wanted(dv_infotype_set want, dv_infotype *type)
{
    static const dv_infotype order[] = {DV_IT_PERSON_NAME, DV_IT_LAST_NAME, DV_IT_FIRST_NAME};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++)
        if (want & DV_IT_BIT(order[i])) {
            *type = order[i];
            return 1;
        }
    return 0;
}

int dv_denylist_match_ocr(const dv_denylist *dl, const char *utf8, size_t len, dv_infotype_set want,
                          dv_infotype *type)
{
    if (!dl || !utf8 || len == 0 || (dl->nph == 0 && dl->nparts == 0))
        return 0;
    ocr_text t;
    t.n = t.ntok = 0;
    int in = 0;
    for (size_t i = 0; i < len && t.n < OCR_TEXT_MAX; i++) {
        char c = ocr_class((unsigned char)utf8[i]);
        if (!c) {
            if (in)
                t.end[t.ntok++] = (uint16_t)t.n;
            in = 0;
            continue;
        }
        if (!in)
            t.start[t.ntok] = (uint16_t)t.n;
        in = 1;
        t.s[t.n++] = c;
    }
    if (in)
        t.end[t.ntok++] = (uint16_t)t.n;
    char key[OCR_KEY_MAX];
    int letters;
    dv_infotype nt;
    if (name_wanted(want, &nt))
        for (size_t p = 0; p < dl->nparts; p++) {
            const dl_part *pt = &dl->parts[p];
            /* a part that is also a common word, a particle, a title or suffix matches only exactly, with
             * its context (dv_detect_denylist); CJK is read by no Latin OCR model */
            if (pt->common || pt->particle || pt->cjk || pt->role == ROLE_PREFIX || pt->role == ROLE_SUFFIX ||
                pt->len < 4)
                continue;
            size_t m = ocr_key(pt->key, pt->len, key, sizeof key, &letters);
            if (m >= 4 && ocr_near(&t, key, m, ocr_edits(m, letters))) {
                *type = nt;
                return 1;
            }
        }
    for (size_t p = 0; p < dl->nph; p++) {
        const dl_phrase *ph = &dl->ph[p];
        if (ph->type >= DV_IT_COUNT || !(want & DV_IT_BIT(ph->type)))
            continue;
        size_t m = ocr_key(ph->key, ph->len, key, sizeof key, &letters);
        if (m >= 6 && ocr_near(&t, key, m, ocr_edits(m, letters))) {
            *type = (dv_infotype)ph->type;
            return 1;
        }
        /* an institution of 3+ words also without its last word (an overlay abbreviates it: Riverside
         * Imaging Ctr for Riverside Imaging Center) */
        if (ph->kind == PH_ORG && ph->nwords >= 3) {
            size_t lw = ph->nwords - 1;
            size_t mh = ocr_key(ph->key, (size_t)ph->woff[lw] - 1, key, sizeof key, &letters);
            if (mh >= 10 && ocr_near(&t, key, mh, ocr_edits(mh, letters))) {
                *type = (dv_infotype)ph->type;
                return 1;
            }
        }
        /* ... or by one specific word of 6+ letters (NORTHFIELD) */
        for (size_t w = 0; ph->kind == PH_ORG && w < ph->nwords; w++) {
            const char *wk = ph->key + ph->woff[w];
            if (ph->wlen[w] < 6 ||
                (dv_lex_lookup(wk, ph->wlen[w]) & (DV_LEX_ORGGENERIC | DV_LEX_ORGHEAD | DV_LEX_ENG)))
                continue;
            size_t mw = ocr_key(wk, ph->wlen[w], key, sizeof key, &letters);
            if (mw >= 6 && ocr_near(&t, key, mw, ocr_edits(mw, letters))) {
                *type = (dv_infotype)ph->type;
                return 1;
            }
        }
    }
    return 0;
}
