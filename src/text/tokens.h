/* Word tokens of UTF-8 text for the dictionary detectors and the deny-list (lexicon.c, denylist.c):
 * each token is a run of letters/digits with its byte span and its folded lookup key (the same folding as
 * tools/gen_lexicons.py: ASCII and full-width ASCII upper-cased, full-width digits to ASCII, Latin letters
 * U+00C0-U+024F and U+1E00-U+1EFF reduced to their base letters, half-width katakana to full-width (with their
 * sound marks composed), apostrophes inside a word dropped, other scripts unchanged). docs/text-lexicons.md
 * "Tokens and folding". */
#ifndef DV_TEXT_TOKENS_H
#define DV_TEXT_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "dicomveil/dv_error.h"

/* Token shape bits. */
#define DV_TOK_CAP 0x01     /* the first letter is upper case */
#define DV_TOK_UPPER 0x02   /* every cased letter is upper case (and there is one) */
#define DV_TOK_LOWER 0x04   /* the first letter is lower case */
#define DV_TOK_DIGIT 0x08   /* contains a digit */
#define DV_TOK_ALPHA 0x10   /* letters only */
#define DV_TOK_POSS 0x20    /* followed by a possessive 's or ' (not part of the span) */
#define DV_TOK_ONECP 0x40   /* a single code point (an initial when alphabetic) */

/* What lies between a token and the next one (only spaces/tabs ignored). */
typedef enum dv_gap {
    DV_GAP_SPACE = 0, /* spaces only */
    DV_GAP_HYPHEN,    /* one '-' (maybe with spaces) */
    DV_GAP_CARET,     /* '^' runs: PN components */
    DV_GAP_EQUALS,    /* '=': PN component groups */
    DV_GAP_COMMA,
    DV_GAP_PERIOD,    /* one '.' (an abbreviation or the end of a sentence) */
    DV_GAP_COLON,
    DV_GAP_SLASH,
    DV_GAP_NONE,      /* nothing: a script change inside a run of letters (山田様 stays one run) */
    DV_GAP_OTHER,     /* anything else, a line break, or the end of the text */
    DV_GAP_UNDERSCORE, /* one '_': a connector inside identifiers and file names (PAT_0042_B). Last, so every
                        * `gap <= X` test reads it as it read DV_GAP_OTHER before; only the deny-list joins
                        * across it (denylist.c gap_joins, split_gap) */
} dv_gap;

/* Scripts a token never mixes. DV_SCRIPT_SEA: Thai, Lao, Myanmar and Khmer, written without spaces between words
 * as Han and kana are: searched inside like them (a name glued to the words around it, `นายวิชัยสมบูรณ์ชัยมาตรวจ`,
 * kept the name before stop 48), keys up to DV_TOK_CJK_KEY_MAX, no apostrophes or invisible characters joined;
 * and matched as whole words too (dv_script_whole_words). */
enum { DV_SCRIPT_OTHER = 0, DV_SCRIPT_HAN, DV_SCRIPT_KANA, DV_SCRIPT_HANGUL, DV_SCRIPT_SEA };

/* Are a token of script s, and a name part of it, matched as whole words (the Latin-script rules of the lexicons
 * and the deny-list)? OTHER, and DV_SCRIPT_SEA too: a Thai word is matched whole as it was before it had a script
 * of its own, and searched inside besides. */
static inline int dv_script_whole_words(unsigned s)
{
    return s == DV_SCRIPT_OTHER || s == DV_SCRIPT_SEA;
}

typedef struct dv_tok {
    uint32_t start, end; /* byte span [start, end) in the text, on code point boundaries */
    uint32_t key;        /* offset of the folded key in dv_toks.keys (not NUL-terminated) */
    uint16_t keylen;     /* key bytes (a token longer than DV_TOK_KEY_MAX is kept with keylen 0; a CJK one is never
                          * longer than DV_TOK_CJK_KEY_MAX) */
    uint8_t shape;       /* DV_TOK_* */
    uint8_t script;      /* DV_SCRIPT_* */
    uint8_t gap;         /* dv_gap to the next token */
    uint8_t pad[3];
} dv_tok;

#define DV_TOK_KEY_MAX 64u
/* Han, kana, Hangul and Thai-like runs have no spaces: a sentence of 22 characters is over DV_TOK_KEY_MAX bytes, and a token
 * without a key was searched by nothing (the i18n audit: `患者邱雨婷女士因头痛三天于今日来我院门诊就诊` kept the
 * name). Their keys may be this long; a longer run is cut into tokens of at most this many key bytes, with no gap. */
#define DV_TOK_CJK_KEY_MAX 4096u
/* Text longer than this is refused (DV_ERR_LIMIT): DICOM text values are at most 4 GiB (UT), but the
 * detectors' per-call scratch is proportional to the text. */
#define DV_TOK_TEXT_MAX (16u << 20)

typedef struct dv_toks {
    dv_tok *t;
    size_t n;
    char *keys;
    /* small inputs use these (no allocation per element value) */
    dv_tok small_t[48];
    char small_keys[384];
    int heap;
} dv_toks;

/* The value of a decimal digit of another script than ASCII and full width (Arabic-Indic, Devanagari, Thai ...:
 * the tokens' keys fold them to ASCII digits), or -1. */
int dv_native_digit(int32_t cp);

/* Tokenise utf8[0, len). Invalid UTF-8 bytes separate tokens (never inside one). 0, or -1 with err
 * (DV_ERR_LIMIT over DV_TOK_TEXT_MAX, DV_ERR_NOMEM). The caller frees with dv_toks_free (also after failure). */
int dv_toks_init(dv_toks *tk, const char *utf8, size_t len, dv_error *err);
void dv_toks_free(dv_toks *tk);

static inline const char *dv_tok_key(const dv_toks *tk, size_t i)
{
    return tk->keys + tk->t[i].key;
}

/* The offset in text (the text tokenised into tk) where byte keyoff of token i's key starts; keyoff ==
 * keylen gives the token's end. For spans found inside a CJK key (deny-list parts in a run with no spaces):
 * a key is not always a byte copy of its text (ﾀﾞ, 6 bytes, folds to ダ, 3). keyoff must be on a code point
 * boundary of the key; one inside a folded unit (the second S of ß) maps to the unit's end. */
uint32_t dv_tok_text_off(const dv_toks *tk, const char *text, size_t i, size_t keyoff);
/* The same, resumed from *c (where an earlier call on the same token stopped) when keyoff is not before it, so
 * that a caller asking for increasing offsets of one token walks its text once, not once per offset (a 4,096-byte
 * CJK key of composed half-width kana was walked from its start for every part found: quadratic). Start with
 * c zeroed; it is updated. */
typedef struct dv_tok_cursor {
    size_t token; /* the token it was on, +1 (0: none) */
    size_t pos;   /* text offset reached */
    size_t k;     /* key bytes before pos */
} dv_tok_cursor;
uint32_t dv_tok_text_off_at(const dv_toks *tk, const char *text, size_t i, size_t keyoff, dv_tok_cursor *c);

/* Fold utf8[0, len) into out (at most cap bytes) like a token key, words joined by one space.
 * Returns the key length, or 0 when it is empty or does not fit. Used for deny-list values. */
size_t dv_fold_phrase(const char *utf8, size_t len, char *out, size_t cap);

/* The half-width katakana at utf8[*i] (len bytes in all) as the tokens' keys fold it: its full-width form, a
 * voiced or semi-voiced mark right after it composed (ﾀﾞ -> ダ). Writes 3 bytes to out, moves *i past what it
 * read (3 bytes, or 6 with a composed mark) and returns 3; returns 0 and leaves *i when utf8[*i] starts no
 * half-width katakana. widthfold.c's phrase folding (dv_width_fold_map) reads it. */
size_t dv_fold_halfwidth_kana_at(const char *utf8, size_t len, size_t *i, char *out);

/* Decode one code point at s[*i] (strict UTF-8); -1 for an invalid byte (then *i advances by one). */
int32_t dv_text_utf8_next(const uint8_t *s, size_t len, size_t *i);
/* The ASCII twin of a separator written outside ASCII, so a gap reads alike in either: ' ' for the no-break,
 * typographic and ideographic spaces, '-' for the Unicode hyphens, the figure and en dashes and minus (the en dash
 * a word processor puts in AB-1234), the ASCII character for full-width punctuation and for the small form
 * variants (U+FE50-U+FE6B: ﹣ is '-', ﹐ ','; as widthfold.h folds them), '/' for a full-width or small backslash
 * (no value delimiter), '*' (punctuation without a twin: a gap of "other", which an identifier's words still join
 * across) for the em dash (small too) and bar of prose, a middle dot or bullet; 0 for any other code point.
 * [test_denylist: test_identifier_unicode_punctuation] */
char dv_text_sep_ascii(int32_t cp);

#endif
