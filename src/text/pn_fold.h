/* The folding of fuzzy person-name matching: QIDO-RS fuzzymatching=true (docs/server.md "QIDO-RS",
 * docs/decisions.md "Fuzzy PN matching folds case and accents"). The index keeps each PN attribute's value folded
 * in a column of its own, computed here at insert time and when an older index is upgraded (src/store), and a
 * fuzzy query compares the query value folded here against it: one function on both sides, so the SQLite and
 * PostgreSQL backends answer alike (neither database's lower() is used).
 *
 * What folds: ASCII letters to lower case; Latin letters (U+00C0-U+024F, U+1E00-U+1EFF) to their lower-case
 * base letters as the lexicons' generated table reduces them (text/lexicon_data.h, from Unicode NFKD: é→e,
 * ß→ss, æ→ae, œ→oe, ø→o, đ/ð→d, þ→th, ł→l, ĳ→ij), plus the Latin Extended-B letters that table keeps as they
 * are: case-folded (Ə→ə, Ʒ→ʒ), or reduced when Unicode decomposes them (ǽ→ae, ǿ→o, ŀ→l, ẞ→ss); Greek to lower
 * case without tonos or dialytika (Ά→α, ΐ→ι, final ς→σ); Cyrillic to lower case without its diacritics
 * (Ё→е, Й→и, Ї→і, Ў→у, and the other precomposed letters to their base letters); combining diacritical marks
 * (U+0300-U+036F: decomposed text) are dropped. Everything else, '*', '?' and the PN delimiters included, is
 * copied as it is, and so is a byte that does not decode as UTF-8 (one byte at a time): no input is refused.
 *
 * No folded character is longer in UTF-8 than the character it folds, so the fold of len bytes is at most len
 * bytes. [test_pn_fold] */
#ifndef DV_TEXT_PN_FOLD_H
#define DV_TEXT_PN_FOLD_H

#include <stddef.h>
#include <stdint.h>

/* Fold utf8[0, len) into out (cap bytes, NUL-terminated when cap > 0) and return the folded length. cap >= len + 1
 * always holds the whole fold; with less room the fold stops before the first folded character that does not fit
 * whole (never half a UTF-8 sequence), so the result is a prefix of the whole fold. No allocation. */
size_t dv_pn_fold(const char *utf8, size_t len, char *out, size_t cap);

/* One Greek or Cyrillic letter's fold, as dv_pn_fold folds it: a letter of U+0386-U+052F to another of that
 * range (2 UTF-8 bytes to 2), MICRO SIGN to mu; 0 when cp is not a letter this folds (a lower-case base letter
 * included). The one home of the two scripts' fold: the deny-list compares Greek and Cyrillic words by it too
 * (text/denylist_internal.h dl_gc_fold). [test_pn_fold; test_denylist: test_greek_cyrillic_case] */
int32_t dv_pn_fold_gc(int32_t cp);

#endif
