/* Matching an instance's deny-list in text (denylist.h dv_detect_denylist; the rules: denylist.c's head and
 * docs/text-lexicons.md "Deny-list"). */
#include <stdlib.h>
#include <string.h>

#include "text/id_number.h"
#include "text/denylist_internal.h"
#include "text/tokens.h"
#include "text/widthfold.h"
#include "util/dv_utf8.h"

typedef struct dm {
    const dv_denylist *dl;
    const dv_toks *tk;
    const char *text;
    dv_findings *out;
    int mixed;
    int capitalised; /* a word capitalised, not in capitals: the text writes names so (mixed: any lower case) */
    const uint32_t *th; /* per token: key_hash of its key */
    const long *head;   /* per token: the first part with its key, or -1 */
    uint64_t bloom[16]; /* the tokens' key hashes (dl_bloom_set): a phrase none of whose words is here is skipped */
    uint64_t first[4];  /* the tokens' keys' first bytes (dl_byte_set) */
} dm;


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


/* A word specific enough to stand for its value alone: at least 5 letters, no digit, and no English,
 * clinical, eponym, title or generic institution word ("Clinic", "Lane", "General", "Imaging"). */
static int distinctive(const char *k, size_t n)
{
    if (n < 5)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (k[i] >= '0' && k[i] <= '9')
            return 0;
    return !(dv_lex_lookup(k, n) & (DL_COMMON_FLAGS | DV_LEX_ORGGENERIC | DV_LEX_ORGHEAD)); /* one look-up */
}

/* Phrases: every word in order (or, for PH_ORG, >= 2 consecutive words with a specific one; for an
 * institution, street or place also one distinctive word alone). */
static int match_phrases(dm *m, dv_error *err)
{
    const dv_toks *tk = m->tk;
    /* no token sets a bit of a word a phrase may start at: every phrase would be skipped below */
    uint64_t any = 0;
    for (size_t b = 0; b < 16; b++)
        any |= m->bloom[b] & m->dl->phrase_bloom[b];
    if (!any)
        return 0;
    for (size_t p = 0; p < m->dl->nph; p++) {
        const dl_phrase *ph = &m->dl->ph[p];
        if (ph->kind == PH_DIGITS)
            continue;
        /* a match starts at the phrase's first word (an institution's, street's or place's: at any word) */
        int maybe = dl_bloom_has(m->bloom, ph->whash[0]);
        for (size_t w = 1; w < ph->nwords && !maybe && ph->place; w++)
            maybe = dl_bloom_has(m->bloom, ph->whash[w]);
        if (!maybe)
            continue;
        for (size_t i = 0; i < tk->n; i++) {
            for (size_t w0 = 0; w0 < ph->nwords; w0++) {
                if (ph->kind != PH_ORG && w0 > 0 && !ph->place)
                    break;
                if (m->th[i] != ph->whash[w0])
                    continue; /* the run below would end at its first word (k = 0): nothing to emit */
                size_t k = 0;
                while (w0 + k < ph->nwords && i + k < tk->n &&
                       tok_eq(m, i + k, ph->key + ph->woff[w0 + k], ph->wlen[w0 + k], ph->whash[w0 + k]) &&
                       (k == 0 || phrase_gap_joins(m, i + k - 1)))
                    k++;
                int ok = k == ph->nwords;
                /* part of an institution, street or place with a distinctive word: "Wobblecombe" of
                 * "Wobblecombe Clinic", "Harrowgate Lane" of "17 Harrowgate Lane" */
                for (size_t j = 0; j < k && !ok && ph->place; j++)
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
    uint64_t any = 0; /* a token starting with a value's first digit: else no phrase below is looked at */
    for (size_t b = 0; b < 4; b++)
        any |= m->first[b] & m->dl->digits_first[b];
    if (!any)
        return 0;
    for (size_t p = 0; p < m->dl->nph; p++) {
        const dl_phrase *ph = &m->dl->ph[p];
        if (ph->kind != PH_DIGITS || !dl_byte_has(m->first, (unsigned char)ph->key[0]))
            continue; /* no token starts with the value's first digit */
        for (size_t i = 0; i < tk->n; i++) {
            /* a run starts with the value's first digit: most tokens are ruled out by one byte, before the
             * loop below reads each of their bytes */
            if (tk->t[i].keylen == 0 || dv_tok_key(tk, i)[0] != ph->key[0])
                continue;
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
                uint32_t next = j + 1 < tk->n ? tk->t[j + 1].start : t->end;
                if (t->gap == DV_GAP_OTHER && !phone_punct(m->text, t->end, next))
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
    if (t->keylen == 0 || !dv_script_whole_words(t->script))
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
    if (t->keylen == 0 || !dv_script_whole_words(t->script))
        return -1;
    for (long p = m->head[i]; p >= 0; p = m->dl->parts[p].next) {
        const dl_part *pt = &m->dl->parts[p];
        if ((want_name < 0 || pt->name == want_name) && !pt->cjk)
            return p;
    }
    return -1;
}

/* The last token of a run from i of >= 2 adjacent full parts of one name, at least one not a particle and at
 * least one in a case part_of refuses; 0 when there is none. Lower case only loses the signal of one word
 * (gray matter); two of the instance's own name parts side by side are the name (`john smith`, `de la cruz
 * maria`). [test_denylist: test_lower_case_runs] */
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

/* A run of CJK or Thai-like parts [s0, e0) that ended in token i: a finding when cjk_run_found says so, a strong
 * one of its own, a weak one glued to the name beside it. 0, or -1 with err set. */
static int flush_run(dm *m, size_t i, uint32_t s0, uint32_t e0, int strong, dv_error *err)
{
    if (!cjk_run_found(m, i, s0, e0, strong))
        return 0;
    return (strong ? emit(m, s0, e0, DV_IT_PERSON_NAME, 95, err) : emit_glued(m, s0, e0, err)) < 0 ? -1 : 0;
}

/* Is token i cut from token i + 1 (a run of one script longer than a token's key, tokens.h DV_TOK_CJK_KEY_MAX):
 * the same script, no gap, the keys one after the other? */
static int is_cut(const dv_toks *tk, size_t i)
{
    if (i + 1 >= tk->n)
        return 0;
    const dv_tok *t = &tk->t[i], *u = &tk->t[i + 1];
    return t->gap == DV_GAP_NONE && u->script == t->script && u->start == t->end && u->key == t->key + t->keylen &&
           u->keylen > 0;
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
            if (__builtin_expect(pt->common == DL_COMMON_GUESS, 0) && !context_before(m, a))
                ok = 0; /* a guessed spelling that is a word (`TEE`, `the CHIN`) alone: only after a title */
        }
        if (fulls == 0)
            ok = 0;
        if (ok) {
            if (emit(m, tk->t[a].start, tk->t[b].end, DV_IT_PERSON_NAME, fulls >= 2 ? 95 : 90, err) < 0)
                return -1;
            i = b;
        }
    }
    /* CJK and Thai-like parts: substrings of runs of their scripts; a 1-code-point part only next to another part.
     * A run longer than a token's key is cut into tokens with no gap (tokens.h DV_TOK_CJK_KEY_MAX), their keys one
     * after the other: a part may go on across the cut (is_cut), and a run of parts with it. */
    uint32_t s0 = 0, e0 = 0;
    int strong = 0, have = 0;
    size_t carry = 0; /* key bytes of token i already matched by a part that began in token i - 1 */
    for (size_t i = 0; i < tk->n; i++) {
        const dv_tok *t = &tk->t[i];
        size_t from_off = carry;
        carry = 0;
        if (t->script == DV_SCRIPT_OTHER || t->keylen == 0 ||
            /* a Thai-like token the whole-word rules above found as (part of) a name is not searched again */
            (t->script == DV_SCRIPT_SEA && name_found(m->out, t->start, t->end))) {
            /* a run that went on across a cut ends where this token begins */
            if (have && flush_run(m, i - 1, s0, e0, strong, err) < 0)
                return -1;
            have = 0;
            continue;
        }
        const char *k = dv_tok_key(tk, i);
        const dv_tok *next = is_cut(tk, i) ? &tk->t[i + 1] : NULL;
        size_t reach = t->keylen + (next ? next->keylen : 0); /* the keys are contiguous across a cut */
        dv_tok_cursor cur = {0, 0, 0}, cur_next = {0, 0, 0}; /* offsets asked only increase: one walk each */
        for (size_t off = from_off; off < t->keylen;) {
            size_t best = 0;
            int best_strong = 0;
            for (size_t p = 0; p < m->dl->nparts; p++) {
                const dl_part *pt = &m->dl->parts[p];
                if (pt->inner && pt->len <= reach - off && pt->len > best && !memcmp(k + off, pt->key, pt->len)) {
                    best = pt->len;
                    best_strong = pt->ncp >= 2; /* a CJK part's !common; a Thai-like one's common is the Latin rule */
                }
            }
            if (best) {
                /* the key is shorter than the text where half-width kana composed (ﾀﾞ -> ダ): map back */
                uint32_t from = dv_tok_text_off_at(tk, m->text, i, off, &cur);
                uint32_t to = off + best <= t->keylen ? dv_tok_text_off_at(tk, m->text, i, off + best, &cur)
                                                      : dv_tok_text_off_at(tk, m->text, i + 1, off + best - t->keylen,
                                                                           &cur_next);
                if (have && e0 == from) {
                    e0 = to;
                    strong = 1; /* two parts side by side */
                } else {
                    if (have && flush_run(m, i, s0, e0, strong, err) < 0)
                        return -1;
                    s0 = from;
                    e0 = to;
                    strong = best_strong;
                    have = 1;
                }
                off += best;
                if (off > t->keylen)
                    carry = off - t->keylen;
            } else {
                off++;
                while (off < t->keylen && ((unsigned char)k[off] & 0xC0) == 0x80)
                    off++;
            }
        }
        if (next && have && e0 >= t->end)
            continue; /* the run goes on in the next token */
        if (have && flush_run(m, i, s0, e0, strong, err) < 0)
            return -1;
        have = 0;
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
        if (ph->kind == PH_DIGITS || !ph->place)
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
        if (n < 5 || n != t->end - t->start || !dv_script_whole_words(t->script) || covered(m->out, t->start, t->end))
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

/* Identifiers inside longer tokens: an MRN or other ID of one word with >= 4 digits (`ZQ4471339`, `990124471`), or
 * one id_number.h's dv_id_glues finds glued (`IBBQ47` in Agfa/MITRA's `GPIIBBQ47`), written with a suffix or prefix
 * glued to it (`ZQ4471339A`, `MRNZQ4471339`, `4471339b`) is the same identifier; the whole token is the finding. Its
 * digit runs must end where the identifier's do (dv_id_glue_edge, the kept-value search's rule too): `44713391` or
 * `14471339` is another number (a count, a dose, an accession), not this one with a letter added. */
static int match_inside_tokens(dm *m, dv_error *err)
{
    const dv_toks *tk = m->tk;
    if (m->dl->ninside == 0)
        return 0;
    for (size_t i = 0; i < tk->n; i++) {
        const dv_tok *t = &tk->t[i];
        size_t n = t->keylen;
        if (!(t->shape & DV_TOK_DIGIT) || n <= 4 || !dv_script_whole_words(t->script) || covered(m->out, t->start, t->end))
            continue;
        const char *k = dv_tok_key(tk, i);
        for (size_t p = 0; p < m->dl->nph; p++) {
            const dl_phrase *ph = &m->dl->ph[p];
            if (!ph->inside || n <= ph->len)
                continue;
            size_t a = 0;
            for (; a + ph->len <= n; a++) {
                size_t b = a + ph->len;
                if (memcmp(k + a, ph->key, ph->len) == 0 && (a == 0 || dv_id_glue_edge(k[a], k[a - 1])) &&
                    (b == n || dv_id_glue_edge(k[b - 1], k[b])))
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
        /* a piece starts its identifier: a token whose first byte starts none is ruled out by one bit test */
        if (t->keylen == 0 || !dl_byte_has(m->dl->split_first, (unsigned char)dv_tok_key(tk, i)[0]) ||
            !dv_script_whole_words(t->script) || !split_gap(t->gap) || covered(m->out, t->start, t->end))
            continue;
        for (size_t p = 0; p < m->dl->nph; p++) {
            const dl_phrase *ph = &m->dl->ph[p];
            if (!ph->inside || ph->len < DL_SPLIT_ID_MIN || t->keylen >= ph->len ||
                memcmp(dv_tok_key(tk, i), ph->key, t->keylen) != 0)
                continue;
            size_t at = t->keylen, j = i;
            while (at < ph->len && j + 1 < tk->n && split_gap(tk->t[j].gap)) {
                const dv_tok *u = &tk->t[j + 1];
                if (u->keylen == 0 || !dv_script_whole_words(u->script) || u->keylen > ph->len - at ||
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

/* Two words of a pair that are ordinary words, not a name's syllables: `go to`, `no one`, `oh no`, `new man` are
 * Goto, Noone, Ohno, Newman run together (stop 50's review: the patient Goto's `advised to go to the ED` lost
 * `go to`). Only when one of them is a common word (common_word): then in mixed-case text a name's syllables are
 * capitalised, the first always and the second after a space (a hyphen's may be lower case: Seo-yun), and in text
 * that capitalises no word (all lower case, all capitals) both being common words says they are words. */
static int plain_word_pair(const dm *m, size_t i)
{
    const dv_tok *t = &m->tk->t[i], *u = &m->tk->t[i + 1];
    int ct = common_word(dv_tok_key(m->tk, i), t->keylen), cu = common_word(dv_tok_key(m->tk, i + 1), u->keylen);
    if (!ct && !cu)
        return 0;
    if (!m->capitalised)
        return ct && cu;
    return !(t->shape & DV_TOK_CAP) || (t->gap == DV_GAP_SPACE && !(u->shape & DV_TOK_CAP));
}

/* A name part written as syllables apart: the PatientName's `Seoyun`, `Mingxuan` or `Ouyang` written `Seo-yun`,
 * `Ming Xuan`, `Ou-yang` (Korean and Chinese given names and compound surnames are romanised joined, hyphenated or
 * spaced, by whoever types them; stop 50: the given name stayed beside the redacted surname). Two Latin tokens of
 * letters joined by a space or a hyphen whose keys together are a part of 4 letters or more that is no common
 * word are one finding. The first must start a part (prefix_bloom: one bit test for most pairs). The reverse,
 * a PN's `Seo-yun` written `Seoyun`, is a part of its own (denylist.c add_component). [test_denylist:
 * test_syllables_apart] */
#define SYLLABLES_MAX 64u

static int match_split_syllables(dm *m, dv_error *err)
{
    const dv_toks *tk = m->tk;
    for (size_t i = 0; i + 1 < tk->n; i++) {
        const dv_tok *t = &tk->t[i], *u = &tk->t[i + 1];
        if ((t->gap != DV_GAP_SPACE && t->gap != DV_GAP_HYPHEN) || t->keylen < 2 || t->script != DV_SCRIPT_OTHER ||
            !(t->shape & DV_TOK_ALPHA))
            continue;
        if (!dl_bloom_has(m->dl->prefix_bloom, m->th[i]))
            continue;
        if (u->keylen < 2 || u->script != DV_SCRIPT_OTHER || !(u->shape & DV_TOK_ALPHA) ||
            t->keylen + u->keylen > SYLLABLES_MAX || covered(m->out, t->start, u->end))
            continue;
        char k[SYLLABLES_MAX];
        memcpy(k, dv_tok_key(tk, i), t->keylen);
        memcpy(k + t->keylen, dv_tok_key(tk, i + 1), u->keylen);
        size_t n = t->keylen + u->keylen;
        for (long p = first_part(m->dl, k, n, key_hash(k, n)); p >= 0; p = m->dl->parts[p].next) {
            if (m->dl->parts[p].common)
                continue;
            if (plain_word_pair(m, i)) /* asked only of a pair that makes a part: two lexicon look-ups */
                break;
            if (emit(m, t->start, u->end, DV_IT_PERSON_NAME, 90, err) < 0)
                return -1;
            i++; /* u is taken */
            break;
        }
    }
    return 0;
}

/* One hiragana code point (U+3041-U+309F), the token's whole text. */
static int one_hiragana(const dm *m, const dv_tok *t)
{
    size_t j = t->start;
    int32_t cp = dv_utf8_next((const uint8_t *)m->text, t->end, &j);
    return j == t->end && cp >= 0x3041 && cp <= 0x309F;
}

/* A piece glued with no gap to a name already found (DV_GAP_NONE: a change of script inside one run of letters,
 * `Test-...๛ﾈİ` of PatientName `Test-éüäöòДΘĝדصķћ๛ﾈİ`) is the same word: when it is a part of a deny-listed
 * name, or one code point, it is a finding too. Since half-width kana became their own script, the `İ` after
 * `ﾈ` was left behind. Not one hiragana that is no part: Japanese writes its particles glued to the name before
 * them (`渡辺美咲が来院`, `渡辺様の`), and a name's own hiragana is a part (stop 50: `[PERSON_NAME]来院`).
 * Repeated until nothing changes, so a chain of glued pieces goes whole; each round claims a token or ends, so
 * at most n rounds. [test_denylist: test_japanese_particles_after_name] */
static int match_glued_to_name(dm *m, dv_error *err)
{
    const dv_toks *tk = m->tk;
    for (int changed = 1; changed;) {
        changed = 0;
        for (size_t i = 0; i < tk->n; i++) {
            const dv_tok *t = &tk->t[i];
            if ((m->head[i] < 0 && (!(t->shape & DV_TOK_ONECP) || one_hiragana(m, t))) ||
                covered(m->out, t->start, t->end))
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
    if (t->keylen != 1) /* before reading the key: an empty one has no byte to read */
        return 0;
    const char c = dv_tok_key(tk, i)[0];
    return t->end - t->start == 1 && t->script == DV_SCRIPT_OTHER && c >= 'A' && c <= 'Z';
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
    /* Greek and Cyrillic tokens are compared by their folded keys (dl_gc_fold), as the list stores them: a copy
     * of the keys, only when one holds such a letter. A folded key has its token's length. */
    size_t keys_end = 0;
    for (size_t i = 0; i < tk->n; i++)
        if (tk->t[i].key + tk->t[i].keylen > keys_end)
            keys_end = tk->t[i].key + tk->t[i].keylen;
    dv_toks folded;
    char *fkeys = NULL;
    if (dl_gc_maybe(tk->keys, keys_end)) {
        /* one byte past the last key, as the tokens' own buffer has room past its keys: the last token's key
         * may be empty and start at keys_end (found by fuzz_text_lexicon) */
        fkeys = malloc(keys_end + 1);
        if (!fkeys)
            return dv_fail(err, DV_ERR_NOMEM, "deny-list scratch for %zu bytes of keys", keys_end);
        memcpy(fkeys, tk->keys, keys_end);
        fkeys[keys_end] = '\0';
        if (dl_gc_fold(fkeys, keys_end)) {
            folded = *tk;
            folded.keys = fkeys;
            tk = &folded;
        }
    }
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
            free(fkeys);
            return dv_fail(err, DV_ERR_NOMEM, "deny-list scratch for %zu tokens", tk->n);
        }
    }
    dm m = {.dl = dl, .tk = tk, .text = utf8, .out = out, .mixed = 0, .capitalised = 0, .th = th, .head = head};
    for (size_t i = 0; i < tk->n; i++) {
        const dv_tok *t = &tk->t[i];
        uint8_t s = t->shape;
        if ((s & DV_TOK_LOWER) || ((s & DV_TOK_CAP) && !(s & DV_TOK_UPPER)))
            m.mixed = 1;
        if ((s & (DV_TOK_CAP | DV_TOK_UPPER)) == DV_TOK_CAP)
            m.capitalised = 1;
        th[i] = key_hash(dv_tok_key(tk, i), t->keylen);
        dl_bloom_set(m.bloom, th[i]);
        if (t->keylen)
            dl_byte_set(m.first, (unsigned char)dv_tok_key(tk, i)[0]);
        head[i] = t->keylen && dv_script_whole_words(t->script) ? first_part(dl, dv_tok_key(tk, i), t->keylen, th[i]) : -1;
    }
    int rc = 0;
    if (match_names(&m, err) < 0 || match_phrases(&m, err) < 0 || match_digits(&m, err) < 0 ||
        match_glued(&m, err) < 0 || match_spaced(&m, err) < 0 || match_inside_tokens(&m, err) < 0 ||
        match_split_identifier(&m, err) < 0 || match_split_syllables(&m, err) < 0 ||
        match_glued_to_name(&m, err) < 0)
        rc = -1;
    if (th != small_th) {
        free(th);
        free(head);
    }
    free(fkeys);
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

