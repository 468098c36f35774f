/* A worker's memo of detector results for values it has seen (issue 6 speed; docs/text.md "Speed"). The pattern
 * and dictionary detectors are pure functions of (text, wanted infoTypes, compiled patterns); the deny-list's
 * findings are a pure function of (text, wanted infoTypes, the deny-list), and the worker's deny-list has a
 * generation number that changes whenever its content may have changed. So a value seen before (a series
 * repeats StudyDescription, Manufacturer, SeriesDescription ... in every instance) reuses the stored findings
 * instead of detecting again, and the result is the one detection would give. The stored text is compared byte
 * for byte (no hash is trusted alone). PHI: the texts live in worker memory only (like the deny-list), are never
 * logged or written, and are wiped when the worker is freed. Bounded: DV_TEXT_MEMO_SLOTS entries of values up to
 * DV_TEXT_MEMO_MAX_TEXT bytes with up to DV_TEXT_MEMO_MAX_FINDINGS findings (a new value replaces the one in its
 * slot): at most ~2.4 MB per worker, tokens included. Per worker, never shared. docs/decisions.md "Detection is
 * memoised per worker". [test_text_stage: test_memo_same_findings, test_memo_keeps_tokens] */
#ifndef DV_ENGINE_TEXT_MEMO_H
#define DV_ENGINE_TEXT_MEMO_H

#include <stddef.h>
#include <stdint.h>

#include "text/dv_text.h"
#include "text/tokens.h"

#define DV_TEXT_MEMO_SLOTS 1024u
#define DV_TEXT_MEMO_MAX_TEXT 512u
#define DV_TEXT_MEMO_MAX_FINDINGS 64u
/* A value's word tokens (tokens.h) are kept too when there are at most this many, with at most this many key bytes:
 * the tokens are a pure function of the text, and a value met again after the deny-list was rebuilt (the next
 * instance's AccessionNumber differs) is matched against the new list without being tokenised again (stop 54). */
#define DV_TEXT_MEMO_MAX_TOKS 32u
#define DV_TEXT_MEMO_MAX_KEYS 256u

typedef struct dv_text_memo dv_text_memo;

dv_text_memo *dv_text_memo_new(void); /* NULL when out of memory (then nothing is memoised) */
void dv_text_memo_free(dv_text_memo *m);

/* What one detection's result depends on besides the text. */
typedef struct dv_memo_key {
    const void *patterns;  /* the plan's compiled patterns (NULL: none run) */
    dv_infotype_set want;  /* the infoTypes asked of the detectors */
    uint64_t deny_gen;     /* the worker's deny-list generation (dv_text_begin_instance) */
} dv_memo_key;

/* Append to out the stored base findings (patterns + dictionaries) of text and, when *deny_hit is set on return,
 * its deny-list findings too (stored with the same deny-list generation). When text was found with its tokens and
 * tk is not NULL, *tk is set to them (*have_tk 1): they live in the memo and stay valid until the next
 * dv_text_memo_put or dv_text_memo_free; the caller reads them only, and dv_toks_free on them frees nothing.
 * 1 when text was found, 0 when not, -1 with err set when out is full. */
int dv_text_memo_get(dv_text_memo *m, const dv_memo_key *k, const char *text, size_t len, dv_findings *out,
                     int *deny_hit, dv_toks *tk, int *have_tk, dv_error *err);

/* Store the findings of text: base = f[0, nbase), deny-list findings = f[nbase, n), and its tokens tk (NULL: none
 * made) when they fit. A value too long, with too many findings, or without memory is not stored. tk may be the
 * tokens dv_text_memo_get gave for this text. */
void dv_text_memo_put(dv_text_memo *m, const dv_memo_key *k, const char *text, size_t len, const dv_findings *f,
                      size_t nbase, const dv_toks *tk);

#endif
