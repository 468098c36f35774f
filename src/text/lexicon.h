/* The dictionary detectors: PERSON_NAME / FIRST_NAME / LAST_NAME, LOCATION and ORGANIZATION_NAME found
 * with the generated lexicons (lexicon_data.c, tools/gen_lexicons.py) and context rules (titles, PN '^',
 * a capitalised first+last pair, trigger words, eponyms and clinical words that keep CHEST WALL or
 * MAY-THURNER untouched). docs/text-lexicons.md; decisions in docs/decisions.md ("Dictionaries").
 *
 * The tables are const data in the binary's read-only segment: shared by every worker and every process
 * mapping the same executable; nothing here allocates except per-call token scratch for long texts. */
#ifndef DV_TEXT_LEXICON_H
#define DV_TEXT_LEXICON_H

#include <stddef.h>
#include <stdint.h>

#include "text/dv_text.h"

/* The DV_LEX_* info bits of a folded key (lexicon_data.h), or 0 when it is in no table.
 * key need not be NUL-terminated; keys longer than DV_LEX_MAX_KEY are never found. */
uint32_t dv_lex_lookup(const char *key, size_t len);

/* The infoTypes dv_detect_names can report. */
#define DV_LEX_INFOTYPES                                                                                    \
    (DV_IT_BIT(DV_IT_PERSON_NAME) | DV_IT_BIT(DV_IT_FIRST_NAME) | DV_IT_BIT(DV_IT_LAST_NAME) |                \
     DV_IT_BIT(DV_IT_LOCATION) | DV_IT_BIT(DV_IT_ORGANIZATION_NAME))

/* Append to out the findings (detector DV_DET_LEXICON) of every infoType of DV_LEX_INFOTYPES in want:
 * a person's whole name (first + last) as PERSON_NAME when PERSON_NAME is wanted, otherwise each of its
 * words as FIRST_NAME / LAST_NAME when those are wanted; places as LOCATION; organisation names as
 * ORGANIZATION_NAME. Spans are byte offsets into utf8, on code point boundaries, never empty.
 * Findings may overlap (a city inside a hospital's name): dv_findings_normalise resolves them.
 * 0, or -1 with err: DV_ERR_LIMIT (text over DV_TOK_TEXT_MAX, or the findings list full),
 * DV_ERR_NOMEM. On failure, findings appended before the error stay in out. */
int dv_detect_names(const char *utf8, size_t len, dv_infotype_set want, dv_findings *out, dv_error *err);
/* The same over the tokens of utf8[0, len) (dv_toks_init of that text): see dv_detect_denylist_toks. */
struct dv_toks;
int dv_detect_names_toks(const struct dv_toks *tk, const char *utf8, size_t len, dv_infotype_set want,
                         dv_findings *out, dv_error *err);

#endif
