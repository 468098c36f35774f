/* Per-instance deny-list (denylist.h): its values and their rules. Values are stored folded, as word
 * sequences (tokens.h), so one comparison covers case, accents and separators. Rules (docs/text-lexicons.md
 * "Deny-list"):
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
 *   - glued tokens by their pieces (match_glued), letters spaced apart by what they spell (match_spaced).
 * This file builds the list; denylist_match.c matches it in text, denylist_ocr.c in OCR readings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/clitics.h"
#include "text/denylist_internal.h"
#include "text/han_variants.h"
#include "text/hangul_latin.h"
#include "text/hanja.h"
#include "text/id_number.h"
#include "text/pinyin.h"
#include "text/romaji.h"
#include "text/tokens.h"
#include "text/widthfold.h"
#include "util/dv_utf8.h"
#include "util/dv_grow.h"

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
    char *fk = dup_key(key, n); /* Greek and Cyrillic folded (dl_gc_fold), as the parts are */
    if (!fk)
        return dv_fail(err, DV_ERR_NOMEM, "deny-list entry");
    dl_gc_fold(fk, n);
    key = fk;
    uint32_t h = key_hash(key, n);
    for (size_t i = 0; i < dl->nph; i++) /* the same value twice (PatientID = StudyID) is one entry */
        if (dl->ph[i].hash == h && dl->ph[i].len == n && dl->ph[i].kind == kind && dl->ph[i].type == type &&
            !memcmp(dl->ph[i].key, key, n)) {
            free(fk);
            return 1;
        }
    if (full(dl, err) < 0) {
        free(fk);
        return -1;
    }
    if (dv_grow(&dl->ph, &dl->capph, dl->nph + 1, sizeof *dl->ph, 16) < 0) {
        free(fk);
        return dv_fail(err, DV_ERR_NOMEM, "deny-list growth");
    }
    dl_phrase *p = &dl->ph[dl->nph];
    memset(p, 0, sizeof *p);
    p->key = fk;
    p->len = (uint16_t)n;
    p->kind = (uint8_t)kind;
    p->type = (uint8_t)type;
    p->hash = h;
    p->place = (uint8_t)dl_place_like(kind, type);
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
        p->inside = digits >= 4 || dv_id_glues(key, n); /* id_number.h; `IBBQ47` in `GPIIBBQ47` */
        dl->ninside += p->inside;
        if (p->inside && n >= DL_SPLIT_ID_MIN)
            dl_byte_set(dl->split_first, (unsigned char)key[0]);
    }
    /* the prefilters of denylist_internal.h: the words a match may start at, the digits' first byte */
    if (kind == PH_DIGITS)
        dl_byte_set(dl->digits_first, (unsigned char)key[0]);
    else
        for (size_t i = 0; i < w && (i == 0 || p->place); i++)
            dl_bloom_set(dl->phrase_bloom, p->whash[i]);
    dl->nph++;
    return 1;
}

/* ------------------------------------------------------------------------------------------ names */

static size_t count_cps(const char *k, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)k[i] & 0xC0) != 0x80;
    return c;
}

static int ascii_letters(const char *k, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((k[i] >= 'A' && k[i] <= 'Z') || (k[i] >= 'a' && k[i] <= 'z')))
            return 0;
    return 1;
}

/* prefix_bloom (denylist_internal.h): k's prefixes of 2 to n - 2 letters, hashed as a token's key is */
static void note_prefixes(dv_denylist *dl, const char *k, size_t n)
{
    uint32_t h = key_hash(k, 1);
    for (size_t len = 2; len + 2 <= n; len++) {
        h = key_hash_on(h, k + len - 1, 1); /* key_hash(k, len) */
        dl_bloom_set(dl->prefix_bloom, h);
    }
}

static void pn_record(struct pn_memo_entry *e, const char *key, size_t n, int role, int script);

static int add_part(dv_denylist *dl, const char *key, size_t n, int role, int script, dv_error *err)
{
    if (dl->rec)
        pn_record(dl->rec, key, n, role, script);
    if ((dl->nkeys + 1) * 2 > dl->nslot && rehash(dl, dl->nslot ? dl->nslot * 2 : DL_HASH_MIN, err) < 0)
        return -1;
    /* stored (and hashed) with Greek and Cyrillic folded; the lexicon is asked about the key as the tokens gave it */
    char *fk = dup_key(key, n);
    if (!fk)
        return dv_fail(err, DV_ERR_NOMEM, "deny-list entry");
    dl_gc_fold(fk, n);
    uint32_t h = key_hash(fk, n);
    size_t s = slot_of(dl, fk, n, h);
    for (long i = (long)dl->slot[s] - 1; i >= 0; i = dl->parts[i].next)
        if (dl->parts[i].name == dl->names) {
            free(fk);
            return 0;
        }
    if (full(dl, err) < 0) {
        free(fk);
        return -1;
    }
    if (dv_grow(&dl->parts, &dl->capparts, dl->nparts + 1, sizeof *dl->parts, 16) < 0) {
        free(fk);
        return dv_fail(err, DV_ERR_NOMEM, "deny-list growth");
    }
    dl_part *p = &dl->parts[dl->nparts];
    memset(p, 0, sizeof *p);
    p->key = fk;
    p->len = (uint16_t)n;
    p->name = dl->names;
    p->role = (uint8_t)role;
    p->cjk = !dv_script_whole_words((unsigned)script);
    p->inner = script != DV_SCRIPT_OTHER;
    p->ncp = (uint8_t)(count_cps(key, n) > 255 ? 255 : count_cps(key, n));
    /* minimum lengths: 2-letter parts (Ng, Li) only next to another part; common words need context */
    uint32_t lex = dv_lex_lookup(key, n); /* once for both questions (common_word's flags, a particle) */
    p->common = (uint8_t)(p->cjk ? p->ncp < 2 : (n < 3 || (lex & DL_COMMON_FLAGS) != 0));
    p->particle = (lex & DV_LEX_PARTICLE) != 0;
    p->next = -1;
    if (script == DV_SCRIPT_OTHER && n >= 4 && ascii_letters(fk, n))
        note_prefixes(dl, fk, n);
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

/* The name's kana in the other syllabary: hiragana as katakana and katakana (half-width too, its sound mark
 * composed as the tokens' keys compose it) as hiragana. A phonetic PN group is written in either (`つきもり` or
 * `ツキモリ`, `ﾂｷﾓﾘ`) and the text beside it in the other; the tokens' keys fold width, not syllabary. ヷ-ヺ, ー and
 * the marks have no twin and stay. Every character is 3 UTF-8 bytes both ways, so out needs at most len bytes. */
static size_t kana_twin(const char *s, size_t len, char *out, size_t cap, int *changed)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = 0;
    *changed = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp = 0;
        size_t k = 1;
        if (u[i] == 0xE3 || u[i] == 0xEF) {
            if (i + 2 < len && (u[i + 1] & 0xC0) == 0x80 && (u[i + 2] & 0xC0) == 0x80) {
                cp = (uint32_t)(u[i] & 0x0F) << 12 | (uint32_t)(u[i + 1] & 0x3F) << 6 | (u[i + 2] & 0x3F);
                k = 3;
            }
        }
        uint32_t t = 0;
        if (cp >= 0x3041 && cp <= 0x3096)
            t = cp + 0x60;
        else if (cp >= 0x30A1 && cp <= 0x30F6)
            t = cp - 0x60;
        else if (cp >= DV_LEX_KANA_LO && cp <= DV_LEX_KANA_HI) {
            const dv_lex_kana_entry *e = &dv_lex_kana_table[cp - DV_LEX_KANA_LO];
            t = e->plain;
            if (i + 5 < len && u[i + 3] == 0xEF && u[i + 4] == 0xBE) {
                uint32_t c = u[i + 5] == 0x9E ? e->voiced : u[i + 5] == 0x9F ? e->semivoiced : 0;
                if (c) {
                    t = c;
                    k = 6;
                }
            }
            if (t >= 0x30A1 && t <= 0x30F6)
                t -= 0x60;
        }
        if (t) {
            if (n + 3 > cap)
                return 0;
            n += dv_utf8_put(t, out + n); /* kana: 3 bytes */
            *changed = 1;
        } else {
            if (n + k > cap)
                return 0;
            memcpy(out + n, s + i, k);
            n += k;
        }
        i += k;
    }
    return n;
}

/* The name in the other Han writing: each character with a simplified (dir DV_HAN_SIMPLIFIED), traditional
 * (DV_HAN_TRADITIONAL) or Japanese (DV_HAN_JAPANESE: 邉 -> 辺 邊, 髙 -> 高) variant (han_variants.h) replaced by it.
 * A PN group in simplified characters (欧阳^明轩) is written in traditional ones in the text beside it (歐陽明軒) or
 * the reverse, a Japanese name in its old or new forms (渡邉 / 渡辺); the tokens' keys fold none of them. Form 0 takes every
 * character's first variant other than itself (Unihan's usual one); a character with several (发 -> 發 髮, 钟 -> 鐘 鍾,
 * 范 -> 範 范, 乔 -> 乔 喬) gives form k >= 1: the k-th of all such characters' other variants in order (itself
 * included), the other characters at their first. add_component asks for at most
 * DL_HAN_FORMS forms per component. Returns the form's length, 0 when there is no form k, no variant or no room
 * (a BMP character's variant may be in Extension B: 3 UTF-8 bytes become 4, so the twin may be longer). */
#define DL_HAN_FORMS 8
#define DL_HAN_DIRS 3 /* DV_HAN_SIMPLIFIED, DV_HAN_TRADITIONAL, DV_HAN_JAPANESE */
static size_t han_twin(const char *s, size_t len, int dir, int k, char *out, size_t cap, int *changed)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = 0;
    int alt = 0; /* alternatives seen so far (form k is the k-th) */
    *changed = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp = 0;
        size_t m = 1;
        /* Han characters are 3 (U+3400-U+FFFF) or 4 (U+20000-) UTF-8 bytes; anything else is copied as it is */
        if (u[i] >= 0xE3 && u[i] <= 0xEF && i + 2 < len && (u[i + 1] & 0xC0) == 0x80 && (u[i + 2] & 0xC0) == 0x80) {
            cp = (uint32_t)(u[i] & 0x0F) << 12 | (uint32_t)(u[i + 1] & 0x3F) << 6 | (u[i + 2] & 0x3F);
            m = 3;
        } else if (u[i] == 0xF0 && i + 3 < len && (u[i + 1] & 0xC0) == 0x80 && (u[i + 2] & 0xC0) == 0x80 &&
                   (u[i + 3] & 0xC0) == 0x80) {
            cp = (uint32_t)(u[i + 1] & 0x3F) << 12 | (uint32_t)(u[i + 2] & 0x3F) << 6 | (u[i + 3] & 0x3F);
            m = 4;
            if (cp < 0x10000) /* overlong: not a character, copied as it is */
                cp = 0;
        }
        const uint32_t *v = NULL;
        size_t nv = cp ? dv_han_variants(cp, dir, &v) : 0;
        uint32_t t = 0;
        if (nv) {
            /* the first variant other than the character itself (Unihan lists 乔 -> 乔 喬: the twin is 喬), then
             * the others, itself included (范 -> 範 范: 范 is a traditional surname too) */
            size_t first = 0;
            while (first < nv && v[first] == cp)
                first++;
            if (first < nv) {
                t = v[first];
                for (size_t j = 0; j < nv; j++)
                    if (j != first && ++alt == k)
                        t = v[j];
            }
        }
        if (t && t != cp) {
            char u[4];
            size_t w = dv_utf8_put(t, u);
            if (n + w > cap)
                return 0;
            memcpy(out + n, u, w);
            n += w;
            *changed = 1;
        } else {
            if (n + m > cap)
                return 0;
            memcpy(out + n, s + i, m);
            n += m;
        }
        i += m;
    }
    return k > alt ? 0 : n;
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


/* add_component's clitic forms of one part (clitics.h): each a part of the same name, in the same role. */
typedef struct clitic_ctx {
    dv_denylist *dl;
    int role, script;
    dv_error *err;
} clitic_ctx;

static void pn_record_mark(struct pn_memo_entry *e, int guess, int counts);

static int add_clitic_form(void *ud, const char *form, size_t len)
{
    clitic_ctx *c = ud;
    int r = add_part(c->dl, form, len, c->role, c->script, c->err);
    if (c->dl->rec)
        pn_record_mark(c->dl->rec, 0, 0); /* a clitic form's answer is not the component's */
    return r < 0 ? -1 : 0;
}

/* A component's Latin words joined by a hyphen or a space, each pair run together, as a part too: a PN's `Seo-yun`
 * or `Ming Xuan` is written `Seoyun`, `Mingxuan` as often (denylist_match.c match_split_syllables, the other
 * way). 1 when one was added, 0, or -1. */
static int add_joined_syllables(dv_denylist *dl, const dv_toks *tk, int role, dv_error *err)
{
    int added = 0;
    for (size_t i = 0; i + 1 < tk->n; i++) {
        const dv_tok *t = &tk->t[i], *u = &tk->t[i + 1];
        if ((t->gap != DV_GAP_SPACE && t->gap != DV_GAP_HYPHEN) || t->script != DV_SCRIPT_OTHER ||
            u->script != DV_SCRIPT_OTHER || !(t->shape & DV_TOK_ALPHA) || !(u->shape & DV_TOK_ALPHA) ||
            t->keylen < 2 || u->keylen < 2 || t->keylen + u->keylen > DV_DENYLIST_VALUE_MAX)
            continue;
        char k[DV_DENYLIST_VALUE_MAX];
        memcpy(k, dv_tok_key(tk, i), t->keylen);
        memcpy(k + t->keylen, dv_tok_key(tk, i + 1), u->keylen);
        int r = add_part(dl, k, t->keylen + u->keylen, role, DV_SCRIPT_OTHER, err);
        if (r < 0)
            return -1;
        added |= r;
    }
    return added;
}

/* The PN a component belongs to, for what its script says of the component's Han characters: read in pinyin only
 * when the PN is neither Japanese nor Korean (pinyin_pn), asked once, when a component first has Han characters. */
typedef struct pn_script {
    const char *pn;
    size_t len;
    unsigned cs_hint; /* DV_DL_PN_* */
    int pinyin;       /* pinyin_pn's answer; -1: not asked yet */
    int korean;       /* korean_pn's answer; -1: not asked yet */
} pn_script;

static int pinyin_pn(const char *pn, size_t len, unsigned cs_hint);
static int korean_pn(pn_script *ps);

static int add_component(dv_denylist *dl, const char *s, size_t len, int role, pn_script *ps, dv_error *err)
{
    int added = 0;
    /* Han twins only for a component with a character of U+3400 or above (a lead byte E3-EF or F0): others have none */
    int han = 0, hangul = 0;
    for (size_t i = 0; i < len && !han; i++)
        han = (unsigned char)s[i] >= 0xE3 && (unsigned char)s[i] <= 0xF0;
    for (size_t i = 0; han && i < len && !hangul; i++) /* Hangul syllables U+AC00-U+D7A3: lead bytes EA-ED */
        hangul = (unsigned char)s[i] >= 0xEA && (unsigned char)s[i] <= 0xED;
    /* pass 0: as written; PASS_TRANSLIT; PASS_KANA: the kana twin; PASS_ROMAJI..: a kana component's romaji forms;
     * PASS_HANGUL..: a Hangul component's Latin forms (hangul_latin.h), DV_HANGUL_FORMS at most; PASS_PINYIN..: a
     * Han component's pinyin forms (pinyin.h) when its PN is Chinese, DV_PINYIN_FORMS at most; PASS_HAN..: the
     * Han twins, simplified, traditional and Japanese form 0 first, then their alternatives in turn (form k of
     * each direction), DL_HAN_FORMS in all at most: a name of many one-to-many characters (发 后 干 钟 ...) would
     * otherwise give their product. */
    enum {
        PASS_TRANSLIT = 1,
        PASS_KANA,
        PASS_ROMAJI,
        PASS_HANGUL = PASS_ROMAJI + DV_ROMAJI_FORMS,
        PASS_PINYIN = PASS_HANGUL + DV_HANGUL_FORMS,
        PASS_HAN = PASS_PINYIN + DV_PINYIN_FORMS
    };
    int nhan = 0, hanmore[DL_HAN_DIRS] = {1, 1, 1};
    /* The kana twin (PASS_KANA), kept for the romaji forms: dv_romaji reads full-width hiragana or katakana, and a
     * half-width PN group (`ﾂｷﾓﾘ`) has no other full-width form; 0 bytes when the component has no kana. */
    char kana[DV_DENYLIST_VALUE_MAX];
    size_t nkana = 0;
    /* a component without a character of U+3400 or above ends after the romaji: the passes after them are Hangul's
     * and Han's */
    int npass = han ? PASS_HAN + DL_HAN_DIRS * DL_HAN_FORMS : PASS_HANGUL;
    for (int pass = 0; pass < npass && nhan < DL_HAN_FORMS; pass++) {
        char alt[DV_DENYLIST_VALUE_MAX * 2]; /* a Han twin may be longer (3-byte characters with 4-byte variants) */
        const char *src = s;
        size_t n = len;
        if (pass > 0) {
            int changed;
            if (pass == PASS_TRANSLIT) {
                n = transliterate(s, len, alt, sizeof alt, &changed);
            } else if (pass == PASS_KANA) {
                n = kana_twin(s, len, alt, sizeof alt, &changed);
                if (changed && n <= sizeof kana) {
                    memcpy(kana, alt, n);
                    nkana = n;
                }
            } else if (pass < PASS_HANGUL) {
                /* the romaji of a component all kana (romaji.h), in form pass - PASS_ROMAJI; 0 for any other */
                n = nkana ? dv_romaji(kana, nkana, pass - PASS_ROMAJI, alt, sizeof alt) : 0;
                changed = n > 0;
            } else if (pass < PASS_PINYIN) {
                /* a Hangul component's Latin forms (hangul_latin.h) until there is no next one; none without Hangul */
                n = hangul ? dv_hangul_latin(s, len, role == ROLE_FAMILY, (unsigned)(pass - PASS_HANGUL), alt,
                                             DV_DENYLIST_VALUE_MAX)
                           : 0;
                if (n == 0) {
                    pass = PASS_PINYIN - 1;
                    continue;
                }
                changed = 1;
            } else if (pass < PASS_HAN) {
                /* a Han component's pinyin forms (pinyin.h); a form that repeats an earlier one is 0 */
                if (han && ps->pinyin < 0)
                    ps->pinyin = pinyin_pn(ps->pn, ps->len, ps->cs_hint);
                if (!han || !ps->pinyin) {
                    pass = PASS_HAN - 1;
                    continue;
                }
                n = dv_pinyin(s, len, role == ROLE_FAMILY, (unsigned)(pass - PASS_PINYIN), alt, DV_DENYLIST_VALUE_MAX);
                changed = n > 0;
            } else {
                int dir = (pass - PASS_HAN) % DL_HAN_DIRS, k = (pass - PASS_HAN) / DL_HAN_DIRS;
                if (!hanmore[dir])
                    continue;
                n = han_twin(s, len, dir, k, alt, sizeof alt, &changed);
                if (n == 0 && k > 0)
                    hanmore[dir] = 0; /* no form k: none after it either */
                if (n == 0 || !changed)
                    continue;
                nhan++;
            }
            if (!changed || n == 0)
                continue;
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
            dl_part *added_part = r > 0 ? &dl->parts[dl->nparts - 1] : NULL;
            if (added_part && added_part->common && pass >= PASS_PINYIN + DV_PINYIN_READINGS && pass < PASS_HAN) {
                added_part->common = DL_COMMON_GUESS; /* a customary spelling, no reading of the name */
                if (dl->rec)
                    pn_record_mark(dl->rec, 1, 1);
            }
            added |= r;
            /* the part with the one-letter words glued to it, and an Arabic one with or without its article
             * (clitics.h; the i18n audit: `زهراني` for PatientName `الزهراني`, and `לרוזנבלום`, kept) */
            clitic_ctx cc = {dl, role, t->script, err};
            int r2 = dv_clitic_forms(dv_tok_key(&tk, i), t->keylen, add_clitic_form, &cc);
            if (r2 < 0) {
                dv_toks_free(&tk);
                return -1;
            }
        }
        int r3 = add_joined_syllables(dl, &tk, role, err);
        dv_toks_free(&tk);
        if (r3 < 0)
            return -1;
        added |= r3;
    }
    /* a Korean PN's Han component also in Hangul (hanja.h): each form a component of the same name in the same role,
     * which adds its Hangul part and romanisations; a Hangul form has no Han character, so this goes one level deep */
    for (unsigned k = 0; han && !hangul && k < DV_HANJA_FORMS && korean_pn(ps); k++) {
        char hg[DV_DENYLIST_VALUE_MAX];
        size_t n = dv_hanja_hangul(s, len, role == ROLE_FAMILY, k, hg, sizeof hg);
        int r = n ? add_component(dl, hg, n, role, ps, err) : 0;
        if (r < 0)
            return -1;
        added |= r;
    }
    return added;
}

/* Is the PN Chinese enough for pinyin (pinyin.h)? Not when the instance's character set is Japanese or Korean
 * (cs_hint), nor when the PN holds kana (a Japanese name: its Han characters are read in Japanese, and its kana
 * give romaji) or Hangul (a Korean name: its Hanja are read in Korean). Asked only of a PN with a Han component:
 * a Latin PN never pays for it. */
static int pinyin_pn(const char *pn, size_t len, unsigned cs_hint)
{
    if (cs_hint & (DV_DL_PN_JAPANESE | DV_DL_PN_KOREAN))
        return 0;
    const uint8_t *u = (const uint8_t *)pn;
    for (size_t i = 0; i < len;) {
        int32_t cp = dv_utf8_next(u, len, &i);
        if ((cp >= 0x3041 && cp <= 0x30FF) || (cp >= 0xFF66 && cp <= 0xFF9F) || (cp >= 0x31F0 && cp <= 0x31FF) ||
            (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0x1100 && cp <= 0x11FF) || (cp >= 0x3130 && cp <= 0x318F))
            return 0; /* kana (full and half width), Hangul syllables and jamo */
    }
    return 1;
}

/* Does the PN read its Han characters in Korean (Hanja)? The character set says so (ISO 2022 IR 149), or another
 * group of the PN is Hangul. Asked only of a PN with a Han component, once. */
static int korean_pn(pn_script *ps)
{
    if (ps->korean < 0) {
        ps->korean = (ps->cs_hint & DV_DL_PN_KOREAN) != 0;
        const uint8_t *u = (const uint8_t *)ps->pn;
        for (size_t i = 0; i < ps->len && !ps->korean;) {
            int32_t cp = dv_utf8_next(u, ps->len, &i);
            ps->korean = cp >= 0xAC00 && cp <= 0xD7A3;
        }
    }
    return ps->korean;
}

/* A whole Korean or Chinese name written in one component, no `^` in its group (`홍길동`, `王小明`: many sites write
 * it so): the byte length of its surname when it is also read as family + given, 0 when it is not. Hangul of 2-4
 * syllables (the surname one syllable, or two when they are a two-syllable surname of hangul_latin's table); Han of
 * 2-3 characters, or 4 with a compound surname (pinyin.h dv_han_surname_len), in a PN read in Chinese (pinyin_pn)
 * or Korean (korean_pn). A Japanese PN (kana in it, a Japanese character set) is never split: a Japanese family
 * name has one to three characters and nothing says where it ends; four Han characters without a compound
 * surname are most often a Japanese name (山田太郎), so they are not split either. */
static size_t whole_name_surname(const char *s, size_t len, pn_script *ps)
{
    size_t n = 0, nhangul = 0;
    for (size_t i = 0; i < len;) {
        int32_t cp = dv_utf8_next((const uint8_t *)s, len, &i);
        if (++n > 4)
            return 0;
        if (cp >= 0xAC00 && cp <= 0xD7A3)
            nhangul++;
        else if (!dv_han_char(cp))
            return 0; /* Latin, kana, a space, invalid UTF-8 */
    }
    if (n < 2)
        return 0;
    if (nhangul == n)
        return dv_hangul_surname_len(s, len);
    if (nhangul)
        return 0;
    if (ps->pinyin < 0)
        ps->pinyin = pinyin_pn(ps->pn, ps->len, ps->cs_hint);
    if (!ps->pinyin && !korean_pn(ps))
        return 0;
    int compound;
    size_t sur = dv_han_surname_len(s, len, &compound);
    return sur >= len || (n == 4 && !compound) ? 0 : sur;
}

/* A group's one component read as family + given (whole_name_surname), each added as a split PN's would be: the
 * given name alone and both romanised. 1 added, 0 not, -1 error. */
static int add_whole_name(dv_denylist *dl, const char *s, size_t len, pn_script *ps, dv_error *err)
{
    size_t sur = whole_name_surname(s, len, ps);
    if (sur == 0)
        return 0;
    int r = add_component(dl, s, sur, ROLE_FAMILY, ps, err);
    int r2 = r < 0 ? -1 : add_component(dl, s + sur, len - sur, ROLE_GIVEN, ps, err);
    return r2 < 0 ? -1 : (r | r2);
}

/* The one key of s[0, n) when it is one word of ASCII letters (as the tokens of a text key it), at least min
 * long; else 0. key holds DV_DENYLIST_VALUE_MAX bytes. -1 out of memory. */
static int one_ascii_word(const char *s, size_t n, size_t min, char *key, size_t *klen, dv_error *err)
{
    dv_toks tk;
    if (dv_toks_init(&tk, s, n, err) < 0) {
        dv_toks_free(&tk);
        return -1;
    }
    const dv_tok *t = tk.n == 1 ? &tk.t[0] : NULL;
    int ok = t && t->script == DV_SCRIPT_OTHER && t->keylen >= min && t->keylen <= DV_DENYLIST_VALUE_MAX / 2 &&
             ascii_letters(dv_tok_key(&tk, 0), t->keylen);
    if (ok) {
        memcpy(key, dv_tok_key(&tk, 0), t->keylen);
        *klen = t->keylen;
    }
    dv_toks_free(&tk);
    return ok;
}

/* The family and given name of a PN's first group run together, as user names, e-mail addresses and identifiers
 * write them (stop 51's red team F13: `hsmithson` and `SMITHSONH` stayed in an SR TextValue and a ContentLabel
 * under DEIDENTIFY_TAG_CONTENTS for Smithson^Harriet): family+given, given+family, and the given name's initial
 * before or after the family name, each a part of the name (matched as one word), when both components are one
 * ASCII word and the family name has 4 letters or more. 1 added, 0 not, -1 error. */
static int add_joined_names(dv_denylist *dl, const char *fam, size_t fn, const char *giv, size_t gn, dv_error *err)
{
    char f[DV_DENYLIST_VALUE_MAX], g[DV_DENYLIST_VALUE_MAX], k[DV_DENYLIST_VALUE_MAX];
    size_t fl = 0, gl = 0;
    int r = one_ascii_word(fam, fn, 4, f, &fl, err);
    if (r > 0)
        r = one_ascii_word(giv, gn, 1, g, &gl, err);
    if (r <= 0)
        return r;
    int added = 0;
    const struct { const char *a; size_t al; const char *b; size_t bl; } joins[] = {
        {f, fl, g, gl}, {g, gl, f, fl}, {g, 1, f, fl}, {f, fl, g, 1}};
    for (size_t j = 0; j < sizeof joins / sizeof joins[0]; j++) { /* add_part takes a repeated key once */
        memcpy(k, joins[j].a, joins[j].al);
        memcpy(k + joins[j].al, joins[j].b, joins[j].bl);
        if ((r = add_part(dl, k, joins[j].al + joins[j].bl, ROLE_FAMILY, DV_SCRIPT_OTHER, err)) < 0)
            return -1;
        added |= r;
    }
    return added;
}

/* Does the group whose family component ends at pn[i] have no other component? Only `^` separators (empty
 * components: `홍길동^^^`) before its end or the next group's `=`. */
static int group_alone(const char *pn, size_t i, size_t len)
{
    for (; i < len; i++) {
        size_t sep_len = 1;
        char sep = dv_pn_delim((const unsigned char *)pn + i, len - i, &sep_len);
        if (sep == '=')
            return 1;
        if (sep != '^')
            return 0;
        i += sep_len - 1;
    }
    return 1;
}

int dv_denylist_add_person_name(dv_denylist *dl, const char *pn, size_t len, dv_error *err)
{
    return dv_denylist_add_person_name_cs(dl, pn, len, 0, err);
}

int dv_denylist_add_person_name_cs(dv_denylist *dl, const char *pn, size_t len, unsigned cs_hint, dv_error *err)
{
    if (!dl || !pn || len == 0)
        return 0;
    if (len > DV_DENYLIST_VALUE_MAX)
        len = DV_DENYLIST_VALUE_MAX;
    pn_script ps = {pn, len, cs_hint, -1, -1};
    int added = 0;
    int role = ROLE_FAMILY, group = 0;
    size_t start = 0, fam = 0, fn = 0, giv = 0, gn = 0;
    for (size_t i = 0; i <= len; i++) {
        size_t sep_len = 1;
        char sep = i < len ? dv_pn_delim((const unsigned char *)pn + i, len - i, &sep_len) : 0;
        if (i < len && !sep)
            continue;
        if (i > start && role <= ROLE_SUFFIX) {
            int r = add_component(dl, pn + start, i - start, role, &ps, err);
            if (r < 0)
                return -1;
            added |= r;
            if (group == 0 && role == ROLE_FAMILY)
                fam = start, fn = i - start;
            else if (group == 0 && role == ROLE_GIVEN)
                giv = start, gn = i - start;
            /* a CJK family component alone in its group (`홍길동`, `王小明`): a Latin one pays the byte test */
            if (role == ROLE_FAMILY && (unsigned char)pn[start] >= 0xE3 && i - start > 3 && group_alone(pn, i, len)) {
                int r2 = add_whole_name(dl, pn + start, i - start, &ps, err);
                if (r2 < 0)
                    return -1;
                added |= r2;
            }
        }
        if (i < len) {
            group += sep == '=';
            role = sep == '=' ? ROLE_FAMILY : role + 1;
        }
        start = i + sep_len;
        i = start - 1;
    }
    if (fn && gn && (cs_hint & DV_DL_PN_PATIENT)) {
        int r = add_joined_names(dl, pn + fam, fn, pn + giv, gn, err);
        if (r < 0)
            return -1;
        added |= r;
    }
    if (added && dl->names < UINT16_MAX)
        dl->names++;
    return added;
}

/* ------------------------------------------------------------------------------------------ the PN memo */

/* One PN's recorded add_part calls (dv_pn_memo): key bytes in bytes[], in call order. A PN that needs more is not
 * memoised (overflow). */
#define PN_MEMO_NAMES 16
#define PN_MEMO_CALLS 256
#define PN_MEMO_BYTES 4096
typedef struct pn_call {
    uint16_t off, n;
    uint8_t role, script;
    uint8_t guess;  /* add_component set the part's common to DL_COMMON_GUESS */
    uint8_t counts; /* its answer is ORed into the PN's (not a clitic form's) */
} pn_call;

struct pn_memo_entry {
    int used, overflow;
    unsigned cs_hint;
    size_t len, ncall, nbytes;
    char pn[DV_DENYLIST_VALUE_MAX];
    pn_call call[PN_MEMO_CALLS];
    char bytes[PN_MEMO_BYTES];
};

struct dv_pn_memo {
    struct pn_memo_entry e[PN_MEMO_NAMES];
    unsigned next; /* the entry a new PN replaces (round robin) */
};

dv_pn_memo *dv_pn_memo_new(void)
{
    return calloc(1, sizeof(dv_pn_memo));
}

void dv_pn_memo_free(dv_pn_memo *m)
{
    if (!m)
        return;
    explicit_bzero(m, sizeof *m); /* PHI: names not left behind in freed memory */
    free(m);
}

static void pn_record(struct pn_memo_entry *e, const char *key, size_t n, int role, int script)
{
    if (e->overflow || e->ncall == PN_MEMO_CALLS || n > PN_MEMO_BYTES - e->nbytes) {
        e->overflow = 1;
        return;
    }
    pn_call *c = &e->call[e->ncall++];
    c->off = (uint16_t)e->nbytes;
    c->n = (uint16_t)n;
    c->role = (uint8_t)role;
    c->script = (uint8_t)script;
    c->guess = 0;
    c->counts = 1;
    memcpy(e->bytes + e->nbytes, key, n);
    e->nbytes += n;
}

/* What followed the last recorded call. */
static void pn_record_mark(struct pn_memo_entry *e, int guess, int counts)
{
    if (e->overflow || e->ncall == 0)
        return;
    e->call[e->ncall - 1].guess |= (uint8_t)guess;
    e->call[e->ncall - 1].counts = (uint8_t)counts;
}

/* The recorded calls again, with what followed each, and the name's count as dv_denylist_add_person_name_cs ends. */
static int pn_replay(dv_denylist *dl, const struct pn_memo_entry *e, dv_error *err)
{
    int added = 0;
    for (size_t i = 0; i < e->ncall; i++) {
        const pn_call *c = &e->call[i];
        int r = add_part(dl, e->bytes + c->off, c->n, c->role, c->script, err);
        if (r < 0)
            return -1;
        if (r > 0 && c->guess && dl->parts[dl->nparts - 1].common)
            dl->parts[dl->nparts - 1].common = DL_COMMON_GUESS;
        if (c->counts)
            added |= r;
    }
    if (added && dl->names < UINT16_MAX)
        dl->names++;
    return added;
}

int dv_denylist_add_person_name_memo(dv_denylist *dl, dv_pn_memo *m, const char *pn, size_t len, unsigned cs_hint,
                                     dv_error *err)
{
    if (!m || !dl || !pn || len == 0 || dl->rec)
        return dv_denylist_add_person_name_cs(dl, pn, len, cs_hint, err);
    if (len > DV_DENYLIST_VALUE_MAX)
        len = DV_DENYLIST_VALUE_MAX; /* as dv_denylist_add_person_name_cs reads it */
    for (size_t i = 0; i < PN_MEMO_NAMES; i++) {
        const struct pn_memo_entry *e = &m->e[i];
        if (e->used && e->len == len && e->cs_hint == cs_hint && memcmp(e->pn, pn, len) == 0)
            return pn_replay(dl, e, err);
    }
    struct pn_memo_entry *e = &m->e[m->next++ % PN_MEMO_NAMES];
    e->used = e->overflow = 0;
    e->ncall = e->nbytes = 0;
    dl->rec = e;
    int r = dv_denylist_add_person_name_cs(dl, pn, len, cs_hint, err);
    dl->rec = NULL;
    if (r >= 0 && !e->overflow) {
        e->used = 1;
        e->len = len;
        e->cs_hint = cs_hint;
        memcpy(e->pn, pn, len);
    }
    return r;
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
    char forms[DL_DATE_FORMS_MAX][DL_DATE_FORM_BYTES];
    size_t nf = dl_date_forms(y, m, d, forms);
    int added = 0;
    for (size_t i = 0; i < nf; i++) {
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

/* The digits of a phone value into out (room for len bytes), full-width digits (０３－１２３４), other scripts' and
 * mathematical ones folded first (widthfold.h dv_width_fold_char): a number typed with a Japanese input method, or
 * in Arabic-Indic digits, is the same number. Returns the count. */
static size_t phone_digits(const char *utf8, size_t len, char *out)
{
    size_t n = 0;
    const unsigned char *u = (const unsigned char *)utf8;
    for (size_t i = 0; i < len; i++) {
        char c = utf8[i];
        size_t clen = 1; /* a full-width digit (widthfold.h) or another script's (٠١١ ٥٥٥) is the digit */
        char a = dv_width_fold_char(u, i, len, &clen);
        if (a) {
            c = a;
            i += clen - 1;
        }
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

