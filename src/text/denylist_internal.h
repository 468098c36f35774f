/* The deny-list's representation, shared by its three files: denylist.c builds the list from an instance's
 * values, denylist_match.c finds them in text, denylist_ocr.c in OCR readings. Private to src/text. */
#ifndef DV_TEXT_DENYLIST_INTERNAL_H
#define DV_TEXT_DENYLIST_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "text/denylist.h"
#include "text/lexicon.h"
#include "text/lexicon_data.h"
#include "text/pn_fold.h"

enum { PH_WORDS = 0, PH_DIGITS, PH_ORG };
enum { ROLE_FAMILY = 0, ROLE_GIVEN, ROLE_MIDDLE, ROLE_PREFIX, ROLE_SUFFIX };
enum { DL_COMMON_GUESS = 2 }; /* dl_part.common */

#define DL_MAX_WORDS 16
/* match_split_identifier assembles identifiers of at least this many bytes from pieces (denylist_match.c) */
#define DL_SPLIT_ID_MIN 6u

/* An institution, street or place: a word of it may identify alone, and a match may start at any of its words. */
static inline int dl_place_like(int kind, int type)
{
    return kind == PH_ORG || type == DV_IT_LOCATION || type == DV_IT_STREET_ADDRESS;
}

/* A set of bytes (256 bits): the bit of byte c, and its test. */
static inline void dl_byte_set(uint64_t set[4], unsigned char c)
{
    set[c >> 6] |= (uint64_t)1 << (c & 63);
}

static inline int dl_byte_has(const uint64_t set[4], unsigned char c)
{
    return (set[c >> 6] >> (c & 63)) & 1;
}

typedef struct dl_phrase {
    char *key;        /* folded words joined by one space (PH_DIGITS: the digits) */
    uint16_t len;
    uint8_t nwords;
    uint8_t kind;     /* PH_* */
    uint8_t type;     /* dv_infotype */
    uint8_t inside;   /* an identifier found inside longer tokens (match_inside_tokens) */
    uint8_t place;    /* dl_place_like: a match may start at any word, not only the first */
    uint32_t hash;    /* key_hash of the whole key: add_phrase's duplicate check compares it first */
    uint16_t woff[DL_MAX_WORDS], wlen[DL_MAX_WORDS];
    uint32_t whash[DL_MAX_WORDS]; /* key_hash of each word: most token comparisons end at one integer */
} dl_phrase;

typedef struct dl_part {
    char *key;
    uint16_t len;
    uint16_t name; /* which PN value */
    uint8_t role;
    /* may not match alone without context: 1; DL_COMMON_GUESS a common word (Tan, Lee, Chin, Law) that is a
     * customary spelling of a Han surname (pinyin.c: Cantonese, Hokkien...), no reading of the name as written:
     * alone only after a title */
    uint8_t common;
    uint8_t cjk;    /* Han, kana or Hangul: matched only inside runs of its script, never as a whole word */
    uint8_t inner;  /* looked for inside runs of its script: cjk, and Thai-like parts (DV_SCRIPT_SEA), which are
                     * whole words too */
    uint8_t ncp;    /* code points */
    uint8_t particle; /* dv_lex_lookup(key) & DV_LEX_PARTICLE, looked up once when added */
    int32_t next;     /* next part (in insertion order) with the same key, or -1: the index chain */
} dl_part;

/* Parts are found by key through an open-addressed hash of distinct keys (each slot: the first part with
 * that key, chained in insertion order through dl_part.next), so matching costs O(tokens), not
 * O(tokens x parts), and the first part a linear scan would find is still the one found. */
#define DL_HASH_MIN 64u

struct dv_denylist {
    /* The key hashes (dl_bloom_set of key_hash) of every proper prefix of 2 letters or more of the Latin parts of 4
     * letters or more: a text token that starts no part is not joined with the next one (denylist_match.c
     * match_split_syllables) at the cost of one bit test. */
    uint64_t prefix_bloom[16];
    /* The key hashes (dl_bloom_set) of the words a word phrase's match may start at (its first; any word of an
     * institution, street or place): text none of whose tokens sets one of these bits starts no phrase, and
     * match_phrases skips its loop over every phrase (stop 54: most values of an instance hold none). */
    uint64_t phrase_bloom[16];
    /* The first bytes of the PH_DIGITS phrases' keys (match_digits), and of the identifiers match_split_identifier
     * assembles from pieces (.inside, >= DL_SPLIT_ID_MIN bytes): a token starting with no such byte starts no match. */
    uint64_t digits_first[4], split_first[4];
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
    struct pn_memo_entry *rec; /* the PN whose add_part calls are being recorded (dv_pn_memo), or NULL */
};

/* FNV-1a of k[0, n) continued from h: key_hash(k, n + m) is key_hash_on(key_hash(k, n), k + n, m). */
static inline uint32_t key_hash_on(uint32_t h, const char *k, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)k[i]) * 16777619u;
    return h;
}

static inline uint32_t key_hash(const char *k, size_t n)
{
    return key_hash_on(2166136261u, k, n); /* FNV-1a */
}

/* A 1024-bit bloom filter of key hashes (the text's tokens, the parts' prefixes): the bit h sets, and its test. */
static inline unsigned dl_bloom_bit(uint32_t h)
{
    return (h ^ (h >> 16)) & 1023u;
}

static inline void dl_bloom_set(uint64_t bloom[16], uint32_t h)
{
    unsigned b = dl_bloom_bit(h);
    bloom[b >> 6] |= (uint64_t)1 << (b & 63);
}

static inline int dl_bloom_has(const uint64_t bloom[16], uint32_t h)
{
    unsigned b = dl_bloom_bit(h);
    return (bloom[b >> 6] >> (b & 63)) & 1;
}

/* The slot of key k (its chain, or the empty slot where it would go). */
static inline size_t slot_of(const dv_denylist *dl, const char *k, size_t n, uint32_t h)
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
static inline long first_part(const dv_denylist *dl, const char *k, size_t n, uint32_t h)
{
    if (!dl->nslot)
        return -1;
    return (long)dl->slot[slot_of(dl, k, n, h)] - 1;
}

/* A word that alone may be no name: a common English, clinical or eponym word, a particle, a title or a
 * trigger. */
#define DL_COMMON_FLAGS                                                                                                \
    (DV_LEX_ENG | DV_LEX_CLINICAL | DV_LEX_EPONYM | DV_LEX_PARTICLE | DV_LEX_NOTNAME | DV_LEX_TITLE | DV_LEX_TRIGGER)
static inline int common_word(const char *k, size_t n)
{
    return (dv_lex_lookup(k, n) & DL_COMMON_FLAGS) != 0;
}

/* Greek and Cyrillic compared without case or accents: the tokens' keys keep both scripts as written (the
 * lexicons' keys are generated that way), so `ЗАМЯТИНА` in a description was not the PatientName `Замятина`, nor
 * `ΠΑΠΑΔΟΠΟΥΛΟΣ` / `Παπαδοπουλος` the name `Παπαδόπουλος`. The deny-list folds its parts' and phrases' keys, and a
 * copy of a text's token keys, by fuzzy PN matching's fold of the two scripts (text/pn_fold.h dv_pn_fold_gc, its
 * one home: lower case, Greek tonos and dialytika dropped and final ς as σ, Cyrillic precomposed letters to
 * their base letters, Ё as е and Й as и). Every mapping is 2 UTF-8 bytes to 2, so a folded key keeps its length
 * and every offset into it. */
static inline uint32_t dl_gc_fold_cp(uint32_t cp)
{
    int32_t f = dv_pn_fold_gc((int32_t)cp);
    return f ? (uint32_t)f : cp;
}

/* k[0, n) folded in place (dl_gc_fold_cp); 1 when a byte changed. Only 2-byte sequences with lead bytes CE-D4 are
 * looked at (U+0380-U+053F); anything else, invalid UTF-8 too, stays as it is. */
static inline int dl_gc_fold(char *k, size_t n)
{
    int changed = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        unsigned char a = (unsigned char)k[i], b = (unsigned char)k[i + 1];
        if (a < 0xCE || a > 0xD4 || (b & 0xC0) != 0x80)
            continue;
        uint32_t cp = (uint32_t)(a & 0x1F) << 6 | (b & 0x3F);
        uint32_t f = dl_gc_fold_cp(cp);
        if (f != cp) {
            k[i] = (char)(0xC0 | f >> 6);
            k[i + 1] = (char)(0x80 | (f & 0x3F));
            changed = 1;
        }
        i++;
    }
    return changed;
}

/* Might k[0, n) hold a character dl_gc_fold changes? (a lead byte CE-D4) */
static inline int dl_gc_maybe(const char *k, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)k[i] >= 0xCE && (unsigned char)k[i] <= 0xD4)
            return 1;
    return 0;
}

/* The written forms of the date y-m-d the deny-list holds (denylist_dates.c), as folded keys (words joined by one
 * space; digits and upper-case letters): 20190314, 2019 03 14, 14 03 2019, 14 3 2019, 03 14 2019, 14 03 19,
 * 14032019, 14 MAR 2019, 14 MARCH 2019, 14TH MARCH 2019, MARCH 14 2019, 190314, 140319, 031419, 19 3 14,
 * 2019 MAR 14, 14 SEPT 2019 for a September date, 14 03 2562 (the Thai Buddhist era) ... Their count (at most
 * DL_DATE_FORMS_MAX, each shorter than DL_DATE_FORM_BYTES); 0 for a month or day out of range.
 * [test_denylist: test_date_forms_written] */
#define DL_DATE_FORMS_MAX 40
#define DL_DATE_FORM_BYTES 48
size_t dl_date_forms(int y, int m, int d, char forms[DL_DATE_FORMS_MAX][DL_DATE_FORM_BYTES]);

#endif
