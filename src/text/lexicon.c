/* Dictionary detectors (lexicon.h): names, places and organisations from the generated tables plus
 * context rules. The rules, in the order they claim tokens (a claimed token is not looked at again):
 *   1. PN values inside text (Smith^John, 山田^太郎): every component of a caret/equals group that holds a
 *      name word which is not a clinical word (Brain^Routine stays).                  [test_pn_in_text]
 *   2. after a title (Dr, Mrs, Prof): the capitalised words that follow.                [test_title_makes_name]
 *   3. after a trigger word (patient, by, mother): capitalised name words.              [test_trigger_makes_name]
 *   4. a capitalised given name followed by a name word (Emily Young), not both common English words,
 *      never a clinical or eponym word as the first; English words allowed when both are among the
 *      most frequent US names (John Smith, JOHN SMITH).            [test_pair_makes_name, test_top_pair_makes_name]
 *   5. CJK: a run that starts with a known family name (山田太郎, 김민준).                [test_cjk_names]
 *   6. on its own: a capitalised name word in mixed-case text that is not an English word, a clinical
 *      word, an eponym or a place, not inside a hyphenated compound (Hill-Sachs), not followed by a
 *      clinical word, a number or a grade letter (Weber B, Jones fracture).              [test_eponyms_stay]
 * Places and organisations come after names (docs/text-lexicons.md). */
#include <stdlib.h>
#include <string.h>

#include "text/lexicon.h"
#include "text/lexicon_data.h"
#include "text/tokens.h"

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : 63;
}

uint32_t dv_lex_lookup(const char *key, size_t len)
{
    if (len == 0 || len > DV_LEX_MAX_KEY)
        return 0;
    const dv_lex_bucket *b = &dv_lex_buckets[len];
    const size_t stride = len + DV_LEX_INFO_CHARS;
    size_t lo = 0, hi = b->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *rec = b->recs + mid * stride;
        int c = memcmp(key, rec, len);
        if (c == 0) {
            const char *e = rec + len;
            return (uint32_t)b64val(e[0]) << 18 | (uint32_t)b64val(e[1]) << 12 | (uint32_t)b64val(e[2]) << 6 |
                   (uint32_t)b64val(e[3]);
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ context */

enum { CLAIM_NONE = 0, CLAIM_NAME, CLAIM_LOC, CLAIM_ORG };

typedef struct lx {
    const char *text;
    const dv_toks *tk;
    uint32_t *info;  /* per token */
    uint8_t *claim;  /* per token: CLAIM_* */
    int mixed;       /* the text has lower-case letters: capitalisation is a signal */
    dv_infotype_set want;
    dv_findings *out;
} lx;

#define NAMEY (DV_LEX_FIRST | DV_LEX_LAST)
#define PLACE (DV_LEX_CITY | DV_LEX_COUNTRY | DV_LEX_REGION)

static const dv_tok *T(const lx *c, size_t i)
{
    return &c->tk->t[i];
}

static int alpha(const lx *c, size_t i)
{
    return (T(c, i)->shape & DV_TOK_ALPHA) != 0;
}

/* Capitalised as a proper noun would be: Title or UPPER in mixed-case text; any letters in all-caps text. */
static int capital(const lx *c, size_t i)
{
    uint8_t s = T(c, i)->shape;
    if (!(s & DV_TOK_ALPHA))
        return 0;
    if (!dv_script_whole_words(T(c, i)->script))
        return 1; /* uncased scripts */
    return (s & DV_TOK_CAP) != 0;
}

static int namey(const lx *c, size_t i)
{
    return (c->info[i] & NAMEY) && !(c->info[i] & DV_LEX_NOTNAME);
}

static int initial(const lx *c, size_t i)
{
    uint8_t s = T(c, i)->shape;
    return (s & DV_TOK_ALPHA) && (s & DV_TOK_ONECP) && (s & DV_TOK_CAP) && dv_script_whole_words(T(c, i)->script);
}

static int is_roman_or_grade(const lx *c, size_t i)
{
    const dv_tok *t = T(c, i);
    if (t->shape & DV_TOK_DIGIT)
        return 1;
    if (t->keylen <= 2 && (t->shape & DV_TOK_UPPER))
        return 1; /* Weber B, Dukes C, Tile C, Bosniak IIF (below) */
    const char *k = dv_tok_key(c->tk, i);
    for (size_t j = 0; j < t->keylen; j++)
        if (!strchr("IVXF", k[j]))
            return 0;
    return t->keylen <= 4;
}

/* The word after i (a clinical word, a number, a grade) makes i an eponym use: Jones fracture, Garden III. */
static int clinical_follows(const lx *c, size_t i)
{
    if (i + 1 >= c->tk->n)
        return 0;
    dv_gap g = (dv_gap)T(c, i)->gap;
    if (g != DV_GAP_SPACE && g != DV_GAP_HYPHEN)
        return 0;
    return (c->info[i + 1] & DV_LEX_CLINICAL) || is_roman_or_grade(c, i + 1);
}

/* pouch of Douglas, circle of Willis, foramen of Monro */
static int clinical_of_before(const lx *c, size_t i)
{
    if (i < 2)
        return 0;
    const dv_tok *of = T(c, i - 1);
    return of->keylen == 2 && memcmp(dv_tok_key(c->tk, i - 1), "OF", 2) == 0 && (c->info[i - 2] & DV_LEX_CLINICAL);
}

static int in_hyphen_compound(const lx *c, size_t i)
{
    return (T(c, i)->gap == DV_GAP_HYPHEN && i + 1 < c->tk->n) || (i > 0 && T(c, i - 1)->gap == DV_GAP_HYPHEN);
}

static int add(lx *c, size_t a, size_t b, dv_infotype type, uint8_t score, dv_error *err)
{
    if (dv_findings_add(c->out, T(c, a)->start, T(c, b)->end, type, DV_DET_LEXICON, score) < 0)
        return dv_fail(err, DV_ERR_LIMIT, "findings list full (%u) or out of memory", DV_FINDINGS_MAX);
    return 0;
}

/* A name claimed over tokens [a, b]: PERSON_NAME, or its words as FIRST_NAME / LAST_NAME.
 * family_first: the first word is the family name (PN order, "Johnson, Ann"). */
static int emit_name(lx *c, size_t a, size_t b, uint8_t score, int family_first, dv_error *err)
{
    for (size_t i = a; i <= b; i++)
        c->claim[i] = CLAIM_NAME;
    if (c->want & DV_IT_BIT(DV_IT_PERSON_NAME))
        return add(c, a, b, DV_IT_PERSON_NAME, score, err);
    int wf = (c->want & DV_IT_BIT(DV_IT_FIRST_NAME)) != 0, wl = (c->want & DV_IT_BIT(DV_IT_LAST_NAME)) != 0;
    if (!wf && !wl)
        return 0;
    /* the family-name word: the first (family_first) or the last word that is not an initial */
    size_t fam = family_first ? a : b;
    while (!family_first && fam > a && initial(c, fam))
        fam--;
    for (size_t i = a; i <= b; i++) {
        if (!alpha(c, i) || (c->info[i] & (DV_LEX_PARTICLE | DV_LEX_TITLE)))
            continue;
        int last = a == b ? ((c->info[i] & DV_LEX_LAST) || !(c->info[i] & DV_LEX_FIRST)) : i == fam;
        if (last && wl && add(c, i, i, DV_IT_LAST_NAME, score, err) < 0)
            return -1;
        if (!last && wf && add(c, i, i, DV_IT_FIRST_NAME, score, err) < 0)
            return -1;
    }
    return 0;
}

static int free_tok(const lx *c, size_t i)
{
    return i < c->tk->n && c->claim[i] == CLAIM_NONE;
}

/* A word that may continue a name already started: a name word, an initial, a particle, or (after a
 * hyphen) any capitalised word (Al-Rashid, Smith-Jones). Never a title, trigger or plain clinical word. */
static int continues_name(const lx *c, size_t prev, size_t i)
{
    if (!free_tok(c, i) || !alpha(c, i))
        return 0;
    uint32_t f = c->info[i];
    /* a capitalised function word inside mixed-case text after a name is a name word (Nguyễn Văn An) */
    int notname_ok = (f & DV_LEX_NOTNAME) && (f & NAMEY) && c->mixed && (T(c, i)->shape & DV_TOK_CAP) &&
                     !(T(c, i)->shape & DV_TOK_UPPER);
    if ((f & (DV_LEX_TITLE | DV_LEX_TRIGGER | DV_LEX_ORGHEAD)) || ((f & DV_LEX_NOTNAME) && !notname_ok))
        return 0;
    dv_gap g = (dv_gap)T(c, prev)->gap;
    if (g == DV_GAP_HYPHEN) /* Al-Rashid, Smith-Jones; a short lower-case syllable: Ji-woo, Seo-yeon */
        return (capital(c, i) || (T(c, i)->keylen <= 4 && (c->info[prev] & DV_LEX_FIRST))) &&
               !(f & DV_LEX_CLINICAL && !(f & NAMEY));
    if (g == DV_GAP_COMMA) /* Surname, Given (rule_pair_inverted), grown from a title or trigger: by Berra, James */
        return prev > 0 && T(c, prev - 1)->gap != DV_GAP_COMMA && (c->info[prev] & DV_LEX_LAST) &&
               (f & DV_LEX_FIRST) && !(f & (DV_LEX_CLINICAL | DV_LEX_EPONYM)) && capital(c, i) &&
               (c->mixed || !(f & DV_LEX_ENG) || ((c->info[prev] & DV_LEX_TOPLAST) && (f & DV_LEX_TOPFIRST)));
    if (g != DV_GAP_SPACE && g != DV_GAP_PERIOD)
        return 0;
    if (g == DV_GAP_PERIOD && !initial(c, prev) && !(c->info[prev] & DV_LEX_TITLE))
        return 0; /* "Smith. Then" ends a sentence */
    if ((f & DV_LEX_PARTICLE) && i + 1 < c->tk->n)
        return 1;
    if (!capital(c, i))
        return 0;
    if (initial(c, i))
        return 1;
    if (c->mixed && (T(c, i)->shape & DV_TOK_UPPER) && T(c, i)->keylen > 1 && !(f & NAMEY))
        return 0; /* an acronym (APC, MD) after a name is not part of it */
    if (f & NAMEY)
        return !(f & DV_LEX_CLINICAL) || !clinical_follows(c, i);
    return !(f & (DV_LEX_ENG | DV_LEX_CLINICAL | PLACE)) && c->mixed;
}

/* Grow a name from [a, a] to the right; returns the last token. */
static size_t grow(const lx *c, size_t a)
{
    size_t b = a;
    while (b + 1 < c->tk->n && continues_name(c, b, b + 1))
        b++;
    /* a trailing particle is not part of the name */
    while (b > a && (c->info[b] & DV_LEX_PARTICLE) && !capital(c, b))
        b--;
    return b;
}

/* ------------------------------------------------------------------------------------------ rules */

static int rule_pn(lx *c, dv_error *err)
{
    const size_t n = c->tk->n;
    for (size_t i = 0; i + 1 < n; i++) {
        dv_gap g = (dv_gap)T(c, i)->gap;
        if ((g != DV_GAP_CARET && g != DV_GAP_EQUALS) || !free_tok(c, i))
            continue;
        size_t a = i, b = i + 1;
        while (a > 0 && free_tok(c, a - 1) && alpha(c, a - 1) &&
               (T(c, a - 1)->gap == DV_GAP_CARET || T(c, a - 1)->gap == DV_GAP_EQUALS ||
                T(c, a - 1)->gap == DV_GAP_HYPHEN ||
                (T(c, a - 1)->gap == DV_GAP_SPACE && (namey(c, a - 1) || (c->info[a - 1] & DV_LEX_PARTICLE)) &&
                 !(c->info[a - 1] & (DV_LEX_TRIGGER | DV_LEX_TITLE)))))
            a--;
        while (b + 1 < n && free_tok(c, b + 1) &&
               (T(c, b)->gap == DV_GAP_CARET || T(c, b)->gap == DV_GAP_EQUALS || T(c, b)->gap == DV_GAP_HYPHEN ||
                (T(c, b)->gap == DV_GAP_PERIOD && T(c, b + 1)->shape & DV_TOK_ALPHA && T(c, b)->keylen <= 3) ||
                (T(c, b)->gap == DV_GAP_SPACE && (namey(c, b + 1) || initial(c, b + 1)))))
            b++;
        /* A trigger or title before `=` is a key, not a name's other form (`pt=Smithson`, `patient=O'Brien`,
         * `name=...` in a query or a parameter list became `[PERSON_NAME]=[PERSON_NAME]`; stop 50): the name, if
         * any, starts after it. [test_lexicon: test_key_before_equals_not_a_name] */
        int keyed = 0; /* the value of such a key: a name as `=` made it one before (privacy first) */
        while (a < b && T(c, a)->gap == DV_GAP_EQUALS && (c->info[a] & (DV_LEX_TRIGGER | DV_LEX_TITLE))) {
            a++;
            keyed = 1;
        }
        int names = 0, equals = 0, ok = 1;
        for (size_t k = a; k <= b; k++) {
            if (!alpha(c, k))
                ok = 0;
            if (namey(c, k) && !(c->info[k] & DV_LEX_CLINICAL))
                names++;
            if (!dv_script_whole_words(T(c, k)->script))
                names++;
            if (k < b && T(c, k)->gap == DV_GAP_EQUALS)
                equals++;
        }
        /* A key and a one-letter value (a GE parameter list's `FA=C`, `Fa` being a family name; stop 37) is no
         * name's representations; a name's other form is a word (Xqzt=Vrbnik, Zembla=Зембла). */
        int key_value = (b == a + 1 && T(c, a)->gap == DV_GAP_EQUALS && (T(c, b)->shape & DV_TOK_ONECP)) ||
                        (keyed && a == b && (T(c, b)->shape & DV_TOK_ONECP));
        if (ok && (names > 0 || equals > 0 || keyed) && !key_value) {
            if (emit_name(c, a, b, 85, 1, err) < 0)
                return -1;
        }
        i = b;
    }
    return 0;
}

static int rule_title_trigger(lx *c, dv_error *err)
{
    const size_t n = c->tk->n;
    for (size_t i = 0; i + 1 < n; i++) {
        uint32_t f = c->info[i];
        if (!(f & (DV_LEX_TITLE | DV_LEX_TRIGGER)) || !dv_script_whole_words(T(c, i)->script))
            continue;
        size_t j = i;
        /* titles in a row: Frau Dr. Björk */
        while (j + 1 < n && (c->info[j + 1] & DV_LEX_TITLE) && T(c, j)->gap <= DV_GAP_PERIOD &&
               T(c, j)->gap != DV_GAP_CARET && T(c, j)->gap != DV_GAP_EQUALS && T(c, j)->gap != DV_GAP_COMMA)
            j++;
        int title = (c->info[j] & DV_LEX_TITLE) != 0;
        dv_gap g = (dv_gap)T(c, j)->gap;
        if (title ? (g != DV_GAP_SPACE && g != DV_GAP_PERIOD)
                  : (g != DV_GAP_SPACE && g != DV_GAP_COLON && g != DV_GAP_COMMA))
            continue;
        size_t a = j + 1;
        if (a >= n || !free_tok(c, a) || !alpha(c, a) || !capital(c, a))
            continue;
        uint32_t fa = c->info[a];
        if (fa & (DV_LEX_TITLE | DV_LEX_TRIGGER | DV_LEX_NOTNAME | DV_LEX_ORGHEAD | DV_LEX_LOCTRIGGER))
            continue;
        if (!dv_script_whole_words(T(c, a)->script))
            continue; /* CJK after a Latin trigger: rule_cjk */
        if (title) {
            /* Dr. Hand is a name; MR BRAIN (modality) and MS LESION are not: a clinical word after an
             * all-capitals title needs to be a name word that is not itself clinical */
            int upper_title = (T(c, j)->shape & DV_TOK_UPPER) && T(c, j)->keylen > 1;
            if ((fa & DV_LEX_CLINICAL) && (upper_title || !(fa & NAMEY)))
                continue;
            if (!(fa & NAMEY) && (fa & DV_LEX_ENG) && !c->mixed)
                continue;
        } else {
            if (fa & (DV_LEX_CLINICAL | DV_LEX_EPONYM))
                continue;
            if (!(fa & NAMEY) && ((fa & (DV_LEX_ENG | PLACE)) || !c->mixed))
                continue;
            if ((fa & PLACE) && !(fa & DV_LEX_FIRST))
                continue;
        }
        size_t b = grow(c, a);
        if (emit_name(c, a, b, title ? 85 : 80, 0, err) < 0)
            return -1;
        i = b;
    }
    return 0;
}

static int rule_pair(lx *c, dv_error *err)
{
    const size_t n = c->tk->n;
    for (size_t i = 0; i + 1 < n; i++) {
        uint32_t f = c->info[i];
        if (!free_tok(c, i) || !(f & DV_LEX_FIRST) || (f & (DV_LEX_NOTNAME | DV_LEX_CLINICAL | DV_LEX_EPONYM |
                                                             DV_LEX_TITLE | DV_LEX_TRIGGER | DV_LEX_ORGHEAD)))
            continue;
        if (!capital(c, i) || !dv_script_whole_words(T(c, i)->script) || T(c, i)->keylen < 2)
            continue;
        if (i > 0 && T(c, i - 1)->gap == DV_GAP_HYPHEN)
            continue;
        size_t k = i + 1;
        if (T(c, i)->gap == DV_GAP_HYPHEN) {
            /* a double given name (Hans-Peter, Mary-Kate) followed by a name; not Young-Burgess */
            if (k + 1 >= n || !(c->info[k] & DV_LEX_FIRST) || !capital(c, k) || T(c, k)->gap != DV_GAP_SPACE)
                continue;
            k++;
        } else if (T(c, i)->gap != DV_GAP_SPACE) {
            continue;
        }
        while (k < n && initial(c, k) && (T(c, k)->gap == DV_GAP_SPACE || T(c, k)->gap == DV_GAP_PERIOD))
            k++; /* John F. Kennedy */
        while (k < n && (c->info[k] & DV_LEX_PARTICLE) && T(c, k)->gap == DV_GAP_SPACE)
            k++; /* Zoë van den Berg */
        if (k >= n || !free_tok(c, k) || !capital(c, k) || !namey(c, k))
            continue;
        uint32_t g = c->info[k];
        if (g & (DV_LEX_TITLE | DV_LEX_TRIGGER | DV_LEX_ORGHEAD))
            continue;
        if ((g & DV_LEX_CLINICAL) && !(g & DV_LEX_EPONYM))
            continue; /* Mark Hand: only with a title or trigger */
        /* Two of the most frequent names are a name though both are English words or the text is all capitals
         * (JOHN SMITH, MARIA GARCIA: john, smith and maria are SCOWL words; stop 38's F7). The guards above and the
         * eponym one below stay (Mark Hand, Smith fracture). [test_lexicon: test_top_pair_makes_name] */
        int top = (f & DV_LEX_TOPFIRST) && (g & DV_LEX_TOPLAST);
        if (!top && (f & DV_LEX_ENG) && (g & (DV_LEX_ENG | DV_LEX_EPONYM)))
            continue; /* Rose Young, Will Long, Bell palsy */
        if ((g & DV_LEX_EPONYM) && clinical_follows(c, k))
            continue;
        if (!top && !c->mixed && ((f | g) & DV_LEX_ENG))
            continue; /* all capitals: no capitalisation signal, so no English words */
        if ((g & PLACE) && !(g & NAMEY & DV_LEX_LAST) && !(g & DV_LEX_FIRST))
            continue;
        size_t b = grow(c, k);
        if (emit_name(c, i, b, 75, 0, err) < 0)
            return -1;
        i = b;
    }
    return 0;
}

/* Surname, given name (SMITH, JAMES; BERRA,JAMES; Garcia, Maria L): a surname, one comma, then a given name and
 * what may continue it. Worklists and vendors' private name attributes write names so; before, an all-caps pair
 * was not found and in mixed case only the surname (rule_alone), so the given name stayed. The same guards as
 * rule_pair: no title, trigger, clinical or eponym word, and in all capitals no English word, so lists of body
 * parts or places stay (CHEST, ABDOMEN; Paris, France). [test_lexicon: test_inverted_pair_makes_name] */
static int rule_pair_inverted(lx *c, dv_error *err)
{
    const size_t n = c->tk->n;
    const uint32_t no = DV_LEX_NOTNAME | DV_LEX_CLINICAL | DV_LEX_EPONYM | DV_LEX_TITLE | DV_LEX_TRIGGER |
                        DV_LEX_ORGHEAD;
    for (size_t i = 0; i + 1 < n; i++) {
        uint32_t f = c->info[i], g = c->info[i + 1];
        size_t k = i + 1;
        /* the most frequent surname and given name: English words and an eponym surname allowed (SMITH, JOHN) */
        int top = (f & DV_LEX_TOPLAST) && (g & DV_LEX_TOPFIRST);
        if (!free_tok(c, i) || !free_tok(c, k) || !(f & DV_LEX_LAST) || !(g & DV_LEX_FIRST) ||
            (f & (top ? no & ~DV_LEX_EPONYM : no)) || (g & no))
            continue;
        if (T(c, i)->gap != DV_GAP_COMMA || (i > 0 && T(c, i - 1)->gap == DV_GAP_HYPHEN))
            continue;
        if (!capital(c, i) || !capital(c, k) || !alpha(c, i) || !alpha(c, k) || T(c, i)->keylen < 2 ||
            T(c, k)->keylen < 2 || !dv_script_whole_words(T(c, i)->script) || !dv_script_whole_words(T(c, k)->script))
            continue;
        if (!top && (f & DV_LEX_ENG) && (g & DV_LEX_ENG))
            continue;
        if (!top && !c->mixed && ((f | g) & DV_LEX_ENG))
            continue; /* all capitals: no capitalisation signal, so no English words */
        if ((f & PLACE) && (g & PLACE))
            continue; /* Jackson, Georgia */
        size_t b = grow(c, k);
        if (emit_name(c, i, b, 70, 0, err) < 0)
            return -1;
        i = b;
    }
    return 0;
}

/* Where the first max code points of s[0, len) start, in offs[0, n), and in offs[n] where the last of them ends:
 * len when they are all of s, less when s goes on (offs has room for max + 1). Returns n. offs[n] is always set:
 * han_places reads it for a run of max code points or more, which Han keys hold since they may be longer than
 * DV_TOK_KEY_MAX (it was left unset there, and read uninitialised). */
static size_t cp_offsets(const char *s, size_t len, size_t *offs, size_t max)
{
    size_t n = 0, i = 0;
    while (i < len && n < max) {
        offs[n++] = i;
        i++;
        while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
    }
    offs[n] = i;
    return n;
}

/* CJK: a Han or Hangul run (without a trailing honorific) of 2-5 code points that starts with a known
 * family name of 1-2 code points, when the rest is a known given name, the family name has two code
 * points (Japanese style), or a trigger comes before / an honorific after it. */
static int rule_cjk(lx *c, dv_error *err)
{
    static const char *const honorifics[] = {"様", "先生", "氏", "君", "님", "씨", "선생님"};
    const size_t n = c->tk->n;
    for (size_t i = 0; i < n; i++) {
        const dv_tok *t = T(c, i);
        if (!free_tok(c, i) || (t->script != DV_SCRIPT_HAN && t->script != DV_SCRIPT_HANGUL) || t->keylen == 0)
            continue;
        const char *k = dv_tok_key(c->tk, i);
        size_t kl = t->keylen, hon = 0;
        for (size_t h = 0; h < sizeof honorifics / sizeof honorifics[0]; h++) {
            size_t hl = strlen(honorifics[h]);
            if (kl > hl && memcmp(k + kl - hl, honorifics[h], hl) == 0) {
                hon = hl;
                break;
            }
        }
        kl -= hon;
        size_t offs[8];
        size_t ncp = cp_offsets(k, kl, offs, 7);
        if (ncp < 2 || ncp > 5 || offs[ncp] != kl)
            continue;
        int ctx = hon > 0 || (i + 1 < n && (c->info[i + 1] & DV_LEX_HONORIFIC)) ||
                  (i > 0 && (c->info[i - 1] & DV_LEX_TRIGGER));
        int found = 0;
        for (size_t fl = 1; fl <= 2 && fl < ncp && !found; fl++) {
            uint32_t fam = dv_lex_lookup(k, offs[fl]);
            if (!(fam & DV_LEX_LAST))
                continue;
            uint32_t given = dv_lex_lookup(k + offs[fl], kl - offs[fl]);
            if ((given & DV_LEX_FIRST) || (fl == 2 && t->script == DV_SCRIPT_HAN) || ctx)
                found = 1;
        }
        if (!found)
            continue;
        /* the span without the honorific: the key is a byte copy of the text for these scripts */
        c->claim[i] = CLAIM_NAME;
        uint32_t end = t->start + (uint32_t)kl;
        dv_infotype type = (c->want & DV_IT_BIT(DV_IT_PERSON_NAME)) ? DV_IT_PERSON_NAME
                           : (c->want & DV_IT_BIT(DV_IT_LAST_NAME)) ? DV_IT_LAST_NAME
                                                                    : DV_IT_FIRST_NAME;
        if ((c->want & (DV_IT_BIT(DV_IT_PERSON_NAME) | DV_IT_BIT(DV_IT_FIRST_NAME) | DV_IT_BIT(DV_IT_LAST_NAME))) &&
            dv_findings_add(c->out, t->start, end, type, DV_DET_LEXICON, 75) < 0)
            return dv_fail(err, DV_ERR_LIMIT, "findings list full (%u) or out of memory", DV_FINDINGS_MAX);
    }
    return 0;
}

static int rule_alone(lx *c, dv_error *err)
{
    if (!c->mixed)
        return 0; /* all capitals: a lone word has no signal (CT CHEST ROSE) */
    const size_t n = c->tk->n;
    for (size_t i = 0; i < n; i++) {
        uint32_t f = c->info[i];
        if (!free_tok(c, i) || !namey(c, i) || !capital(c, i) || !dv_script_whole_words(T(c, i)->script))
            continue;
        if (f & (DV_LEX_ENG | DV_LEX_CLINICAL | DV_LEX_EPONYM | DV_LEX_TITLE | DV_LEX_TRIGGER | DV_LEX_ORGHEAD |
                 DV_LEX_ORGWORD | DV_LEX_PARTICLE | DV_LEX_LOCTRIGGER | PLACE))
            continue;
        if (T(c, i)->keylen < 3 || (T(c, i)->shape & DV_TOK_UPPER))
            continue; /* short words and acronyms (NG tube, LI-RADS) */
        if (in_hyphen_compound(c, i) || clinical_follows(c, i) || clinical_of_before(c, i))
            continue;
        if (T(c, i)->shape & DV_TOK_POSS)
            continue; /* Morison's pouch: possessives are eponyms unless a rule above claimed them */
        size_t b = grow(c, i);
        if (emit_name(c, i, b, 60, 0, err) < 0)
            return -1;
        i = b;
    }
    return 0;
}

/* --------------------------------------------------------------------------------- places, orgs */

/* The longest place key starting at token i (1-4 words joined by spaces/hyphens): its last token, or
 * (size_t)-1. *info gets the key's bits. */
static size_t place_at(const lx *c, size_t i, uint32_t *info)
{
    size_t best = (size_t)-1;
    *info = 0;
    if (c->info[i] & PLACE) {
        best = i;
        *info = c->info[i];
    }
    if (!(c->info[i] & DV_LEX_MULTI))
        return best;
    char buf[DV_LEX_MAX_KEY + 1];
    size_t bl = 0;
    for (size_t j = i; j < c->tk->n && j < i + DV_LEX_MAX_WORDS; j++) {
        const dv_tok *t = T(c, j);
        if (j > i) {
            dv_gap g = (dv_gap)T(c, j - 1)->gap;
            if (g != DV_GAP_SPACE && g != DV_GAP_HYPHEN)
                break;
            if (bl + 1 > DV_LEX_MAX_KEY)
                break;
            buf[bl++] = ' ';
        }
        if (t->keylen == 0 || bl + t->keylen > DV_LEX_MAX_KEY || !free_tok(c, j))
            break;
        memcpy(buf + bl, dv_tok_key(c->tk, j), t->keylen);
        bl += t->keylen;
        if (j > i) {
            uint32_t f = dv_lex_lookup(buf, bl);
            if ((f & PLACE) && capital(c, j)) {
                best = j;
                *info = f;
            }
        }
    }
    return best;
}

/* Han text has no spaces (来自北京): places of 2-4 code points anywhere in an unclaimed run. */
static int han_places(lx *c, size_t i, dv_error *err)
{
    const dv_tok *t = T(c, i);
    const char *k = dv_tok_key(c->tk, i);
    size_t offs[33];
    size_t ncp = cp_offsets(k, t->keylen, offs, 32);
    if (offs[ncp] != t->keylen)
        return 0; /* longer runs than 32 code points: not scanned */
    for (size_t a = 0; a < ncp;) {
        size_t best = 0;
        for (size_t l = 2; l <= 4 && a + l <= ncp; l++)
            if (dv_lex_lookup(k + offs[a], offs[a + l] - offs[a]) & (DV_LEX_CITY | DV_LEX_COUNTRY))
                best = l;
        if (best) {
            if ((c->want & DV_IT_BIT(DV_IT_LOCATION)) &&
                dv_findings_add(c->out, t->start + (uint32_t)offs[a], t->start + (uint32_t)offs[a + best],
                                DV_IT_LOCATION, DV_DET_LEXICON, 70) < 0)
                return dv_fail(err, DV_ERR_LIMIT, "findings list full (%u) or out of memory", DV_FINDINGS_MAX);
            a += best;
        } else {
            a++;
        }
    }
    return 0;
}

static int rule_places(lx *c, dv_error *err)
{
    const size_t n = c->tk->n;
    for (size_t i = 0; i < n; i++) {
        if (free_tok(c, i) && T(c, i)->script == DV_SCRIPT_HAN && T(c, i)->keylen > 0) {
            if (han_places(c, i, err) < 0)
                return -1;
            continue;
        }
        if (!free_tok(c, i) || !capital(c, i) || T(c, i)->keylen < 3)
            continue;
        uint32_t f;
        size_t b = place_at(c, i, &f);
        if (b == (size_t)-1)
            continue;
        if (b == i && (f & (DV_LEX_CLINICAL | DV_LEX_NOTNAME | DV_LEX_TITLE | DV_LEX_TRIGGER | DV_LEX_ORGHEAD |
                            DV_LEX_EPONYM)))
            continue;
        int trig = i > 0 && (c->info[i - 1] & DV_LEX_LOCTRIGGER) && T(c, i - 1)->gap == DV_GAP_SPACE;
        if (b == i && !trig && b + 1 < n && T(c, b)->gap == DV_GAP_SPACE && is_roman_or_grade(c, b + 1) &&
            !(T(c, b + 1)->shape & DV_TOK_DIGIT && T(c, b + 1)->keylen == 4))
            continue; /* Bethesda IV: a classification (but from Vietnam 2015) */
        /* in a list after a name, organisation or place (Dr X, Hospital Y, Milan) */
        int listed = (i > 0 && T(c, i - 1)->gap == DV_GAP_COMMA && c->claim[i - 1] != CLAIM_NONE) ||
                     (b + 1 < n && T(c, b)->gap == DV_GAP_COMMA &&
                      (c->info[b + 1] & (DV_LEX_STATECODE | DV_LEX_COUNTRY | DV_LEX_REGION)));
        int ok;
        if (b > i)
            ok = 1; /* New York, San Francisco: multi-word keys are specific */
        else if (f & DV_LEX_ENG)
            ok = (trig || listed) && c->mixed;
        else if (f & NAMEY)
            ok = trig || listed || ((f & DV_LEX_COUNTRY) && !(f & DV_LEX_FIRST));
        else if (!c->mixed)
            ok = trig || listed || (f & DV_LEX_COUNTRY) || DV_LEX_POP(f) >= 3;
        else
            ok = 1;
        if (!ok)
            continue;
        for (size_t k = i; k <= b; k++)
            c->claim[k] = CLAIM_LOC;
        if ((c->want & DV_IT_BIT(DV_IT_LOCATION)) && add(c, i, b, DV_IT_LOCATION, trig || b > i ? 75 : 70, err) < 0)
            return -1;
        i = b;
    }
    return 0;
}

/* Connectors inside an organisation's name (University of Michigan, Hospital for Special Surgery). */
static int org_connector(const lx *c, size_t i)
{
    static const char *const words[] = {"OF", "FOR", "AND", "THE", "DE", "DI", "DEL", "DER", "DES", "LA"};
    const dv_tok *t = T(c, i);
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++)
        if (t->keylen == strlen(words[w]) && memcmp(dv_tok_key(c->tk, i), words[w], t->keylen) == 0)
            return 1;
    return 0;
}

static int org_word(const lx *c, size_t i)
{
    if (!alpha(c, i) || !capital(c, i))
        return 0;
    uint32_t f = c->info[i];
    if (f & (DV_LEX_TITLE | DV_LEX_TRIGGER | DV_LEX_LOCTRIGGER))
        return 0;
    if ((f & DV_LEX_CLINICAL) && !(f & (DV_LEX_ORGHEAD | DV_LEX_ORGGENERIC | DV_LEX_ORGWORD)))
        return 0; /* CT, MRI, CHEST */
    return 1;
}

static int rule_orgs(lx *c, dv_error *err)
{
    const size_t n = c->tk->n;
    for (size_t h = 0; h < n; h++) {
        if (!(c->info[h] & DV_LEX_ORGHEAD) || !capital(c, h) || c->claim[h] == CLAIM_NAME)
            continue;
        size_t a = h, b = h;
        /* left: capitalised words and connectors */
        while (a > 0 && c->claim[a - 1] != CLAIM_NAME) {
            dv_gap g = (dv_gap)T(c, a - 1)->gap;
            int possessive = (T(c, a - 1)->shape & DV_TOK_POSS) != 0;
            if (g != DV_GAP_SPACE && g != DV_GAP_HYPHEN && !(g == DV_GAP_PERIOD && T(c, a - 1)->keylen <= 3) &&
                !possessive)
                break;
            if (org_word(c, a - 1) || (org_connector(c, a - 1) && a >= 2 && org_word(c, a - 2)))
                a--;
            else
                break;
        }
        while (a < h && org_connector(c, a))
            a++;
        /* right: "of X", "for X Y", or directly after a non-English head (Hôpital Necker) */
        size_t r = h;
        while (r + 1 < n && T(c, r)->gap == DV_GAP_SPACE) {
            size_t k = r + 1;
            if (org_connector(c, k) && k + 1 < n && T(c, k)->gap == DV_GAP_SPACE && org_word(c, k + 1)) {
                r = k + 1;
                continue;
            }
            if (org_word(c, k) && (r > h || (c->info[k] & DV_LEX_ORGHEAD) || !(c->info[h] & DV_LEX_ENG))) {
                r = k;
                continue;
            }
            break;
        }
        b = r;
        /* something in it must identify: a word that is not a generic organisation word or a head */
        int specific = 0;
        for (size_t k = a; k <= b; k++)
            if (!(c->info[k] & (DV_LEX_ORGGENERIC | DV_LEX_ORGHEAD)) && !org_connector(c, k) && T(c, k)->keylen >= 2)
                specific = 1;
        if (!specific || a == b)
            continue;
        for (size_t k = a; k <= b; k++)
            c->claim[k] = CLAIM_ORG;
        if ((c->want & DV_IT_BIT(DV_IT_ORGANIZATION_NAME)) && add(c, a, b, DV_IT_ORGANIZATION_NAME, 80, err) < 0)
            return -1;
        h = b;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ entry */

int dv_detect_names(const char *utf8, size_t len, dv_infotype_set want, dv_findings *out, dv_error *err)
{
    if (!(want & DV_LEX_INFOTYPES) || len == 0)
        return 0;
    if (!utf8 || !out)
        return dv_fail(err, DV_ERR_USAGE, "dv_detect_names: NULL text or findings");
    dv_toks tk;
    if (dv_toks_init(&tk, utf8, len, err) < 0) {
        dv_toks_free(&tk);
        return -1;
    }
    int rc = dv_detect_names_toks(&tk, utf8, len, want, out, err);
    dv_toks_free(&tk);
    return rc;
}

int dv_detect_names_toks(const dv_toks *tk, const char *utf8, size_t len, dv_infotype_set want,
                         dv_findings *out, dv_error *err)
{
    if (!(want & DV_LEX_INFOTYPES) || len == 0)
        return 0;
    if (!utf8 || !out || !tk)
        return dv_fail(err, DV_ERR_USAGE, "dv_detect_names: NULL text, tokens or findings");
    int rc = 0;
    uint32_t small_info[48];
    uint8_t small_claim[48];
    uint32_t *info = small_info;
    uint8_t *claim = small_claim;
    if (tk->n > 48) {
        info = malloc(tk->n * sizeof *info);
        claim = malloc(tk->n);
        if (!info || !claim) {
            rc = dv_fail(err, DV_ERR_NOMEM, "lexicon scratch for %zu tokens", tk->n);
            goto done;
        }
    }
    lx c = {.text = utf8, .tk = tk, .info = info, .claim = claim, .mixed = 0, .want = want, .out = out};
    for (size_t i = 0; i < tk->n; i++) {
        info[i] = dv_lex_lookup(dv_tok_key(tk, i), tk->t[i].keylen);
        claim[i] = CLAIM_NONE;
        uint8_t s = tk->t[i].shape;
        if ((s & DV_TOK_LOWER) || ((s & DV_TOK_CAP) && !(s & DV_TOK_UPPER)))
            c.mixed = 1;
    }
    /* Organisations first when asked (a hospital named after a saint or a city is one finding), then
     * names, then places. Without ORGANIZATION_NAME wanted the order still holds, findings are not added. */
    if (rule_pn(&c, err) < 0 || rule_title_trigger(&c, err) < 0 || rule_orgs(&c, err) < 0 ||
        rule_pair(&c, err) < 0 || rule_pair_inverted(&c, err) < 0 || rule_cjk(&c, err) < 0 ||
        rule_places(&c, err) < 0 || rule_alone(&c, err) < 0)
        rc = -1;
done:
    if (info != small_info)
        free(info);
    if (claim != small_claim)
        free(claim);
    return rc;
}
