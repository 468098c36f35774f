/* Word tokens and folded keys (tokens.h). The letter test, the script split and the folding must agree
 * with cp_is_word / script_of / fold_word in tools/gen_lexicons.py, or lookups miss: test_lexicon.c
 * (test_fold_matches_generator) checks a sample of each. */
#include <stdlib.h>
#include <string.h>

#include "dicom/charset_internal.h" /* cs_utf8_next: util/dv_utf8.h, the one strict UTF-8 decoder */
#include "text/lexicon_data.h"
#include "text/tokens.h"
#include "text/widthfold.h" /* dv_small_form_ascii, dv_math_ascii */
#include "util/dv_hex.h"

int32_t dv_text_utf8_next(const uint8_t *s, size_t len, size_t *i)
{
    return cs_utf8_next(s, len, i);
}

/* cs_utf8_next with its ASCII case inline: the scan below calls it per code point, and most text is ASCII. */
static inline int32_t next_cp(const uint8_t *s, size_t len, size_t *i)
{
    if (s[*i] < 0x80)
        return s[(*i)++];
    return cs_utf8_next(s, len, i);
}

/* Full-width ASCII digits and letters (U+FF10-U+FF19, U+FF21-U+FF3A, U+FF41-U+FF5A): Japanese, Chinese and
 * Korean input methods write IDs and Latin names this way; they fold like ASCII (U+FF21 - 0xFEE0 = 'A'). */
static inline int fullwidth_alnum(int32_t cp)
{
    return (cp >= 0xFF10 && cp <= 0xFF19) || (cp >= 0xFF21 && cp <= 0xFF3A) || (cp >= 0xFF41 && cp <= 0xFF5A);
}

static int cp_is_word(int32_t cp)
{
    if (cp < 0x80)
        return (cp >= '0' && cp <= '9') || (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z');
    if (cp >= DV_LEX_FOLD_LO && cp <= DV_LEX_FOLD_HI)
        return dv_lex_fold_table[cp - DV_LEX_FOLD_LO].letter;
    if (cp >= DV_LEX_FOLD2_LO && cp <= DV_LEX_FOLD2_HI)
        return dv_lex_fold_table2[cp - DV_LEX_FOLD2_LO].letter;
    if (cp < DV_LEX_FOLD_LO)
        return cp == 0xAA || cp == 0xB5 || cp == 0xBA;
    /* full-width punctuation separates like its ASCII form; so does the half-width middle dot U+FF65 */
    if (cp >= 0xFF00 && cp <= 0xFF65)
        return fullwidth_alnum(cp);
    /* the Letterlike Symbols a math alphabet borrows (ℯ U+212F is script e) and the enclosed letters (Ⓠ ⓤ ⒬) are
     * letters (widthfold.h dv_math_ascii); the other symbols of U+2000-U+2BFF separate. The circled digits stay
     * separators here: a list number glued to a word, `①Quixote`, must not make it `1QUIXOTE`. */
    if (cp >= 0x2100 && cp <= 0x24FF && dv_math_ascii((uint32_t)cp))
        return 1;
    /* the CJK compatibility forms and the small form variants (U+FE30-U+FE6F: a small hyphen-minus U+FE63 or em
     * dash U+FE58 between an ID's parts) are punctuation */
    if ((cp >= 0x2000 && cp <= 0x2BFF) || (cp >= 0x3000 && cp <= 0x303F) || (cp >= 0xFE30 && cp <= 0xFE6F) ||
        cp == 0x30FB || cp == 0xFEFF || cp == 0xFFFD)
        return 0;
    return 1;
}

/* Code points a Latin-script word holds that add nothing to its key. A combining accent (U+0300-U+036F and the
 * other combining diacritics blocks; decomposed text, as macOS writes it) folds away like a precomposed letter's
 * accent, and so does a variation selector; an invisible format character (soft hyphen, zero-width space /
 * non-joiner / joiner, bidi marks and embeddings, word joiner and invisible operators, U+FEFF) between two
 * letters renders as nothing. Splitting the word there hid a name from the deny-list (`Garci<U+0301>a`,
 * `GAR<U+00AD>CIA`). Only after a token's first code point: CJK keys stay copies of their text, and
 * dv_tok_text_off skips the same ones. (cp_is_word counts the marks as word code points, the format
 * characters not.) */
static inline int combining_mark(int32_t cp)
{
    return (cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x1AB0 && cp <= 0x1AFF) || (cp >= 0x1DC0 && cp <= 0x1DFF) ||
           (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xFE20 && cp <= 0xFE2F);
}

static inline int invisible(int32_t cp)
{
    return cp == 0x00AD || (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
}

static int script_of(int32_t cp)
{
    if (cp < 0x0E00) /* ASCII, Latin, Greek, Cyrillic, Arabic, Hebrew, Indic...: most text, one comparison */
        return DV_SCRIPT_OTHER;
    if ((cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0xF900 && cp <= 0xFAFF))
        return DV_SCRIPT_HAN;
    /* half-width katakana are kana: folded to full-width they must never share a token with Latin letters */
    if ((cp >= 0x3040 && cp <= 0x30FF) || (cp >= 0x31F0 && cp <= 0x31FF) ||
        (cp >= DV_LEX_KANA_LO && cp <= DV_LEX_KANA_HI))
        return DV_SCRIPT_KANA;
    if ((cp >= 0xAC00 && cp <= 0xD7AF) || (cp >= 0x1100 && cp <= 0x11FF) || (cp >= 0x3130 && cp <= 0x318F))
        return DV_SCRIPT_HANGUL;
    /* Thai, Lao, Myanmar, Khmer (their digits too: a digit run inside their text stays in its token) */
    if ((cp >= 0x0E00 && cp <= 0x0EFF) || (cp >= 0x1000 && cp <= 0x109F) || (cp >= 0x1780 && cp <= 0x17FF))
        return DV_SCRIPT_SEA;
    return DV_SCRIPT_OTHER;
}

/* Does a word code point of script sc go on a token of script ts? Its own script does; Latin-like (OTHER) and
 * Thai-like (SEA) letters, both matched as whole words, stay one token too, as they were before Thai-like
 * scripts had a script of their own (a PN `Test-ћ๛` is one word to the deny-list). */
static int joins_script(int sc, unsigned ts)
{
    return (unsigned)sc == ts || (dv_script_whole_words((unsigned)sc) && dv_script_whole_words(ts));
}

static int is_apostrophe(const uint8_t *s, size_t len, size_t i, size_t *next)
{
    if (s[i] == '\'') {
        *next = i + 1;
        return 1;
    }
    if (i + 2 < len && s[i] == 0xE2 && s[i + 1] == 0x80 && s[i + 2] == 0x99) { /* U+2019 */
        *next = i + 3;
        return 1;
    }
    return 0;
}

/* A half-width katakana cp (ending at s[*end]) as its full-width code point (3 UTF-8 bytes, as long as its
 * text); a half-width voiced or semi-voiced mark right after it (U+FF9E / U+FF9F, EF BE 9E / EF BE 9F)
 * composes with it when the generator's table says so (ｶﾞ -> ガ, ﾊﾟ -> パ), and *end moves past the mark: the
 * key is then half as long as the text. */
static size_t fold_halfwidth_kana(int32_t cp, const uint8_t *s, size_t len, size_t *end, char *key, size_t klen)
{
    const dv_lex_kana_entry *e = &dv_lex_kana_table[cp - DV_LEX_KANA_LO];
    uint32_t out = e->plain;
    size_t m = *end;
    if (m + 2 < len && s[m] == 0xEF && s[m + 1] == 0xBE) {
        uint32_t composed = s[m + 2] == 0x9E ? e->voiced : s[m + 2] == 0x9F ? e->semivoiced : 0;
        if (composed) {
            out = composed;
            *end = m + 3;
        }
    }
    /* every entry is in U+3000-U+30FF: three bytes */
    key[klen++] = (char)(0xE0 | (out >> 12));
    key[klen++] = (char)(0x80 | ((out >> 6) & 0x3F));
    key[klen++] = (char)(0x80 | (out & 0x3F));
    return klen;
}

/* The value of a decimal digit of another script (Arabic-Indic, Extended Arabic-Indic, NKo, Devanagari to Sinhala,
 * Thai, Lao, Tibetan, Myanmar, Khmer, Mongolian), or -1: folded to the ASCII digit, as a full-width one is, so a
 * birth date, phone number or ID written in them is the same number to the deny-list (the i18n audit:
 * `٢٣/٠٤/١٩٦١` kept the birth date). Must agree with native_digit() in tools/gen_lexicons.py. */
static int native_digit(int32_t cp)
{
    static const uint16_t zeros[] = {0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66,
                                     0x0CE6, 0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x17E0, 0x1810};
    if (cp < 0x0660 || cp > 0x1819)
        return -1;
    for (size_t i = 0; i < sizeof zeros / sizeof zeros[0]; i++)
        if (cp >= zeros[i] && cp <= zeros[i] + 9)
            return (int)(cp - zeros[i]);
    return -1;
}

int dv_native_digit(int32_t cp)
{
    return native_digit(cp);
}

/* An ASCII letter or digit upper-cased into key; the case of the letter in *cased (1 upper, -1 lower, 0 digit). */
static inline size_t fold_ascii(int32_t cp, char *key, size_t klen, int *cased)
{
    char c = (char)cp;
    *cased = 0;
    if (c >= 'a' && c <= 'z') {
        *cased = -1;
        c = (char)(c - 'a' + 'A');
    } else if (c >= 'A' && c <= 'Z') {
        *cased = 1;
    }
    key[klen++] = c;
    return klen;
}

/* Append the folded form of one code point (bytes s[at, *end), s holding len bytes) to key; returns the new
 * length, and sets the case of the letter (1 upper, -1 lower, 0 uncased). *end moves when a following
 * half-width sound mark is folded into the same key code point. */
static size_t fold_cp(int32_t cp, const uint8_t *s, size_t at, size_t *end, size_t len, char *key, size_t klen,
                      int *cased)
{
    *cased = 0;
    if (cp < 0x80)
        return fold_ascii(cp, key, klen, cased);
    if (cp >= 0xFF10 && cp <= 0xFF5A && fullwidth_alnum(cp))
        return fold_ascii(cp - 0xFEE0, key, klen, cased); /* the ASCII letter or digit, 3 bytes to 1 */
    if (cp >= DV_LEX_KANA_LO && cp <= DV_LEX_KANA_HI)
        return fold_halfwidth_kana(cp, s, len, end, key, klen);
    int d = native_digit(cp);
    if (d >= 0)
        return fold_ascii('0' + d, key, klen, cased); /* 2 or 3 bytes to 1 */
    char m = cp >= 0x2100 ? dv_math_ascii((uint32_t)cp) : 0;
    if (m) /* 𝐐 ⓤ 🄸 ℯ: the letter or digit, 3 or 4 bytes to 1, with its case */
        return fold_ascii(m, key, klen, cased);
    const dv_lex_fold_entry *e = NULL;
    if (cp >= DV_LEX_FOLD_LO && cp <= DV_LEX_FOLD_HI)
        e = &dv_lex_fold_table[cp - DV_LEX_FOLD_LO];
    else if (cp >= DV_LEX_FOLD2_LO && cp <= DV_LEX_FOLD2_HI)
        e = &dv_lex_fold_table2[cp - DV_LEX_FOLD2_LO];
    /* Cyrillic and Greek are not folded (the tables keep them as they are) but their case is a signal */
    if ((cp >= 0x0400 && cp <= 0x042F) || (cp >= 0x0391 && cp <= 0x03A9))
        *cased = 1;
    else if ((cp >= 0x0430 && cp <= 0x045F) || (cp >= 0x03B1 && cp <= 0x03C9))
        *cased = -1;
    if (e) {
        *cased = e->upper ? 1 : -1;
        if (e->ascii[0]) {
            for (const char *a = e->ascii; *a; a++)
                key[klen++] = *a;
            return klen;
        }
    }
    memcpy(key + klen, s + at, *end - at);
    return klen + (*end - at);
}

char dv_text_sep_ascii(int32_t cp)
{
    if (cp == 0x00A0 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F || cp == 0x205F || cp == 0x3000)
        return ' ';
    if ((cp >= 0x2010 && cp <= 0x2013) || cp == 0x2212)
        return '-'; /* hyphens, the figure and en dashes, minus: inside a word or a number as '-' is */
    if (cp == 0x2014 || cp == 0x2015 || cp == 0xFE58 || cp == 0x00B7 || cp == 0x2022 || cp == 0x2027 || cp == 0x30FB ||
        cp == 0xFF65)
        return '*'; /* the em dash and bar of prose (a small em dash too), a middle dot or bullet: punctuation with
                     * no ASCII twin */
    if ((cp >= 0xFF01 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20) || (cp >= 0xFF3B && cp <= 0xFF40) ||
        (cp >= 0xFF5B && cp <= 0xFF5E))
        return cp == 0xFF3C ? '/' : (char)(cp - 0xFEE0); /* full-width ASCII punctuation; its backslash is no
                                                            * value delimiter */
    if (cp >= 0xFE50 && cp <= 0xFE6B) { /* the small form variants as widthfold.h folds them (﹣ U+FE63 is '-') */
        char a = dv_small_form_ascii((unsigned)(cp - 0xFE50));
        return a == '\\' ? '/' : a; /* nor is the small backslash U+FE68 */
    }
    return 0;
}

/* The ASCII space or punctuation a %XX escape at s[i] (i < len) stands for (%20, %2C, %5E: what a URL escapes
 * between a name's or an ID's parts), or -1 when s[i] starts none. An escape of anything else is read as written:
 * `AB%1234` is an identifier, not AB, a control character and 34. */
static int percent_escape(const uint8_t *s, size_t len, size_t i)
{
    if (s[i] != '%' || len - i < 3 || dv_hex_value(s[i + 1]) < 0 || dv_hex_value(s[i + 2]) < 0)
        return -1;
    int b = dv_hex_value(s[i + 1]) << 4 | dv_hex_value(s[i + 2]);
    int punct = (b >= 0x20 && b <= 0x2F) || (b >= 0x3A && b <= 0x40) || (b >= 0x5B && b <= 0x60) ||
                (b >= 0x7B && b <= 0x7E);
    return punct ? b : -1;
}

static dv_gap classify_gap(const uint8_t *s, size_t from, size_t to)
{
    int n = 0;
    uint8_t c = 0;
    for (size_t i = from; i < to;) {
        uint8_t b = s[i];
        int esc = percent_escape(s, to, i);
        if (esc >= 0) { /* %5E is the caret it stands for, %20 a space (a URL's query, copied into a comment) */
            b = (uint8_t)esc;
            i += 3;
        } else if (b >= 0x80) { /* a separator outside ASCII counts as its ASCII twin, anything else as "other" */
            int32_t cp = dv_text_utf8_next(s, to, &i);
            char a = cp > 0 ? dv_text_sep_ascii(cp) : 0;
            b = a ? (uint8_t)a : 0x80;
        } else {
            i++;
        }
        if (b == ' ' || b == '\t')
            continue;
        if (b == '^' && c == '^') /* ^^ (empty components) is one caret gap */
            continue;
        c = b;
        n++;
    }
    if (n == 0)
        return from == to ? DV_GAP_NONE : DV_GAP_SPACE;
    if (n > 1)
        return DV_GAP_OTHER;
    switch (c) {
    case '-': return DV_GAP_HYPHEN;
    case '^': return DV_GAP_CARET;
    case '=': return DV_GAP_EQUALS;
    case ',': return DV_GAP_COMMA;
    case '.': return DV_GAP_PERIOD;
    case ':': return DV_GAP_COLON;
    case '/': return DV_GAP_SLASH;
    case '_': return DV_GAP_UNDERSCORE;
    default: return DV_GAP_OTHER;
    }
}

/* The scan itself; tk->t and tk->keys are large enough (callers size them from len). */
static void scan(dv_toks *tk, const uint8_t *s, size_t len)
{
    size_t i = 0, klen = 0;
    tk->n = 0;
    while (i < len) {
        size_t at = i;
        if (percent_escape(s, len, at) >= 0) {
            /* A %XX escape separates as the character it stands for does: `Xqzt%5EVrbnik` is two words, and its
             * hex digits start none (`5EVrbnik` hid the family name from the deny-list; stop 37's red team). */
            i = at + 3;
            continue;
        }
        int32_t cp = next_cp(s, len, &i);
        if (cp < 0 || !cp_is_word(cp))
            continue;
        /* a token starts at `at` */
        dv_tok *t = &tk->t[tk->n];
        memset(t, 0, sizeof *t);
        t->start = (uint32_t)at;
        t->key = (uint32_t)klen;
        t->script = (uint8_t)script_of(cp);
        int first_case = 0, any_upper = 0, any_lower = 0, cps = 0, digits = 0, letters = 0;
        size_t end = at, k0 = klen;
        size_t cur = at;
        while (cur < len) {
            size_t cend = cur;
            int32_t c = next_cp(s, len, &cend);
            if (c < 0)
                break;
            if (cp_is_word(c)) {
                int sc = script_of(c);
                if (cps > 0 && !joins_script(sc, t->script))
                    break; /* 山田 + さん: two tokens with no gap */
                /* a Latin-script token a Thai-like letter joins (`CTนายวิชัย...`, `3นาย...`) is searched inside
                 * as a Thai-like one is; its whole-word rules are the same (the second reviewer of stop 48) */
                if (sc == DV_SCRIPT_SEA && t->script == DV_SCRIPT_OTHER)
                    t->script = DV_SCRIPT_SEA;
                if (t->script != DV_SCRIPT_OTHER && klen - k0 + 6 > DV_TOK_CJK_KEY_MAX)
                    break; /* a CJK run this long goes on in the next token (no gap): never a key-less one */
                if (cps > 0 && combining_mark(c)) { /* folds away (the token is Latin: marks are script OTHER) */
                    cur = end = cend;
                    continue;
                }
                int cased, digit;
                if (c < 0x80) { /* most text: kept inline */
                    digit = c <= '9';
                    klen = fold_ascii(c, tk->keys, klen, &cased);
                } else {
                    size_t k1 = klen;
                    klen = fold_cp(c, s, cur, &cend, len, tk->keys, klen, &cased);
                    digit = klen == k1 + 1 && tk->keys[k1] >= '0' && tk->keys[k1] <= '9'; /* full-width */
                }
                if (cps == 0)
                    first_case = cased;
                any_upper |= cased > 0;
                any_lower |= cased < 0;
                if (digit)
                    digits++;
                else
                    letters++;
                cps++;
                cur = end = cend;
                continue;
            }
            if (cps > 0 && dv_script_whole_words(t->script) && invisible(c)) {
                /* joins the word when a letter of it follows the invisible run; adds no key bytes */
                size_t look = cend;
                int32_t n1;
                for (;;) {
                    size_t l2 = look;
                    n1 = look < len ? next_cp(s, len, &l2) : -1;
                    if (n1 < 0 || !invisible(n1))
                        break;
                    look = l2;
                }
                if (n1 >= 0 && cp_is_word(n1) && !combining_mark(n1) && joins_script(script_of(n1), t->script)) {
                    cur = look;
                    continue;
                }
                break;
            }
            size_t after;
            /* only Latin-script words join over an apostrophe: CJK keys stay code point for code point copies
             * of the text, whose spans lexicon.c and denylist.c compute from key offsets (fuzz regression
             * cjk-apostrophe; kana through dv_tok_text_off) */
            if (cps > 0 && t->script == DV_SCRIPT_OTHER && is_apostrophe(s, len, cur, &after)) {
                /* O'Brien joins; Baker's / Graves' is a possessive that ends the token */
                size_t look = after;
                int32_t n1 = after < len ? next_cp(s, len, &look) : -1;
                if (n1 == 's' || n1 == 'S') {
                    size_t look2 = look;
                    int32_t n2 = look < len ? next_cp(s, len, &look2) : -1;
                    if (n2 < 0 || !cp_is_word(n2)) {
                        t->shape |= DV_TOK_POSS;
                        i = look;
                        break;
                    }
                }
                if (n1 >= 0 && cp_is_word(n1) && script_of(n1) == t->script) {
                    cur = after;
                    continue;
                }
                if (n1 < 0 || !cp_is_word(n1))
                    t->shape |= DV_TOK_POSS; /* Graves' */
                break;
            }
            break;
        }
        t->end = (uint32_t)end;
        if (i < end)
            i = end;
        if (klen - k0 > DV_TOK_KEY_MAX && t->script == DV_SCRIPT_OTHER) {
            klen = k0;
            t->keylen = 0;
        } else {
            t->keylen = (uint16_t)(klen - k0);
        }
        if (first_case > 0)
            t->shape |= DV_TOK_CAP;
        else if (first_case < 0)
            t->shape |= DV_TOK_LOWER;
        if (any_upper && !any_lower)
            t->shape |= DV_TOK_UPPER;
        if (digits)
            t->shape |= DV_TOK_DIGIT;
        if (!digits && letters)
            t->shape |= DV_TOK_ALPHA;
        if (cps == 1)
            t->shape |= DV_TOK_ONECP;
        tk->n++;
    }
    for (size_t k = 0; k < tk->n; k++) {
        size_t from = tk->t[k].end, to = k + 1 < tk->n ? tk->t[k + 1].start : len;
        if (tk->t[k].shape & DV_TOK_POSS) {
            /* skip the 's itself */
            size_t j = from, nx;
            if (j < len && is_apostrophe(s, len, j, &nx)) {
                j = nx;
                if (j < len && (s[j] == 's' || s[j] == 'S'))
                    j++;
            }
            from = j;
        }
        if (k + 1 == tk->n) {
            tk->t[k].gap = DV_GAP_OTHER;
            continue;
        }
        int newline = 0;
        for (size_t j = from; j < to; j++)
            newline |= s[j] == '\n' || s[j] == '\r' || s[j] < 0x20 ? (s[j] != '\t') : 0;
        tk->t[k].gap = (uint8_t)(newline ? DV_GAP_OTHER : classify_gap(s, from, to));
    }
}

int dv_toks_init(dv_toks *tk, const char *utf8, size_t len, dv_error *err)
{
    tk->t = tk->small_t;
    tk->keys = tk->small_keys;
    tk->n = 0;
    tk->heap = 0;
    if (len > DV_TOK_TEXT_MAX)
        return dv_fail(err, DV_ERR_LIMIT, "text of %zu bytes is over the detectors' limit of %u", len,
                       DV_TOK_TEXT_MAX);
    /* Bounds: every token takes at least one byte; a folded key is never longer than its text
     * (ASCII 1:1, a 2-byte Latin letter folds to at most 2 letters, a 3-byte full-width letter or digit to 1, a
     * 3- or 4-byte mathematical or enclosed one to 1,
     * a 3-byte half-width katakana to a 3-byte one (with its 3-byte sound mark: still 3), other code points
     * are copied). */
    size_t max_toks = len + 1;
    if (max_toks > sizeof tk->small_t / sizeof tk->small_t[0] || len + 1 > sizeof tk->small_keys) {
        tk->t = malloc(max_toks * sizeof *tk->t);
        tk->keys = malloc(len + 1);
        tk->heap = 1;
        if (!tk->t || !tk->keys)
            return dv_fail(err, DV_ERR_NOMEM, "token scratch for %zu bytes of text", len);
    }
    scan(tk, (const uint8_t *)utf8, len);
    return 0;
}

void dv_toks_free(dv_toks *tk)
{
    if (tk->heap) {
        free(tk->t);
        free(tk->keys);
    }
    tk->t = NULL;
    tk->keys = NULL;
    tk->n = 0;
    tk->heap = 0;
}

uint32_t dv_tok_text_off(const dv_toks *tk, const char *text, size_t i, size_t keyoff)
{
    dv_tok_cursor c = {0, 0, 0};
    return dv_tok_text_off_at(tk, text, i, keyoff, &c);
}

uint32_t dv_tok_text_off_at(const dv_toks *tk, const char *text, size_t i, size_t keyoff, dv_tok_cursor *c)
{
    const dv_tok *t = &tk->t[i];
    /* Han, Hangul and kana keys are byte copies of the text, or same-length code point for code point
     * (half-width katakana), unless a sound mark composed: then the key is shorter. */
    if (t->script != DV_SCRIPT_OTHER && t->keylen == t->end - t->start)
        return t->start + (uint32_t)keyoff;
    const uint8_t *s = (const uint8_t *)text;
    size_t pos = t->start, k = 0;
    /* from where the last call on this token stopped: the walk is the same one, so it passes there too */
    if (c->token == i + 1 && c->k <= keyoff && c->pos >= t->start && c->pos <= t->end) {
        pos = c->pos;
        k = c->k;
    }
    while (pos < t->end && k < keyoff) {
        size_t next = pos;
        int32_t cp = next_cp(s, t->end, &next);
        /* an apostrophe, an invisible character or a combining mark inside a Latin word has no key bytes */
        if (cp >= 0 && cp_is_word(cp) && !(pos > t->start && combining_mark(cp))) {
            char unit[8];
            int cased;
            k += fold_cp(cp, s, pos, &next, t->end, unit, 0, &cased);
        }
        pos = next;
    }
    c->token = i + 1;
    c->pos = pos;
    c->k = k;
    return (uint32_t)pos;
}

size_t dv_fold_phrase(const char *utf8, size_t len, char *out, size_t cap)
{
    dv_toks tk;
    if (dv_toks_init(&tk, utf8, len, NULL) < 0) {
        dv_toks_free(&tk);
        return 0;
    }
    size_t n = 0;
    for (size_t i = 0; i < tk.n; i++) {
        size_t kl = tk.t[i].keylen;
        if (kl == 0 || n + kl + (n ? 1 : 0) > cap) {
            dv_toks_free(&tk);
            return 0;
        }
        if (n)
            out[n++] = ' ';
        memcpy(out + n, dv_tok_key(&tk, i), kl);
        n += kl;
    }
    dv_toks_free(&tk);
    return n;
}

size_t dv_fold_halfwidth_kana_at(const char *utf8, size_t len, size_t *i, char *out)
{
    const uint8_t *s = (const uint8_t *)utf8;
    size_t end = *i;
    if (end >= len || len - end < 3 || s[end] != 0xEF)
        return 0;
    int32_t cp = cs_utf8_next(s, len, &end);
    if (cp < DV_LEX_KANA_LO || cp > DV_LEX_KANA_HI)
        return 0;
    size_t k = fold_halfwidth_kana(cp, s, len, &end, out, 0);
    *i = end;
    return k;
}
