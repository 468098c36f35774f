/* Character escapes in text: a value written `Smi&#116;hson`, `O&apos;Brien`, `M&uuml;ller` (XML and HTML
 * character references) or `name=%53mithson`, `?patient=O%27Brien`, `Jos%C3%A9` (URL %-escapes) names Smithson,
 * O'Brien, Müller, José to its reader. The detectors read a decoded copy; this file decodes it and keeps the map
 * from the copy back to the text as written, and the text stage (text_stage.c detect_decoded, substitute_refs)
 * moves each finding onto whole escapes of the original, so nothing is cut in half and no `&#` debris remains.
 * The one home of escape decoding: markup documents (document_text.c's callers) and element values both use it.
 * docs/text.md "Character escapes"; docs/decisions.md "Escaped text is read decoded". [test_text_stage:
 * test_escapes_in_values, test_escape_decoding, test_document_character_references; fuzz_document_text] */
#ifndef DV_TEXT_ESCAPES_H
#define DV_TEXT_ESCAPES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dicomveil/dv_error.h"
#include "text/dv_text.h"

/* One escape: the original bytes [opos, opos + olen) (`&#252;`, `&uuml;`, `%C3%BC`, a query's `+`) stand for the
 * dlen UTF-8 bytes at dpos of the decoded copy. keep (dv_esc_substitute): 0, the character is no structure;
 * DV_ESC_KEEP_WRITTEN, it is structure where it stands (a markup character < > & " ' of a reference, a character
 * RFC 3986 reserves of a %-escape, a query's `+`): a transformation that writes the text back (a date shift)
 * reads it as written; DV_ESC_KEEP_ALWAYS, a value's or PN's delimiter \ ^ = (outside markup): every
 * transformation reads it as written, as the value's structure is read from the text it is given. */
enum { DV_ESC_KEEP_WRITTEN = 1, DV_ESC_KEEP_ALWAYS = 2 };
typedef struct dv_esc {
    uint32_t opos, olen, dpos;
    uint8_t dlen, keep;
} dv_esc;

/* A text's decoded copy (dec[0, dn): each escape replaced by the character it stands for) and its escapes in
 * text order (v[0, n)); the buffers are kept from one text to the next. */
typedef struct dv_escapes {
    char *dec;
    size_t dn, deccap;
    dv_esc *v;
    size_t n, cap;
} dv_escapes;

void dv_escapes_free(dv_escapes *r);

/* What dv_esc_decode reads. */
enum {
    DV_ESC_MARKUP = 1u << 0 /* the text is an XML or HTML document: only < > & " ' references are kept */
};

/* The code point byte b (0x80-0xFF), alone, stands for in the text's character set, or -1 (user: the caller's). */
typedef int32_t (*dv_esc_byte_fn)(void *user, uint8_t b);

/* Can t[0, n) hold an escape (a `&` or a `%`)? The prefilter every text value passes before it is read as it is:
 * two memchr scans, about 50 instructions for the short values most are (a one-pass scan 8 bytes at a time saved
 * a sixth of that: not worth its obscurity; docs/text.md "Character escapes"). */
static inline int dv_esc_possible(const char *t, size_t n)
{
    return n > 0 && (memchr(t, '&', n) != NULL || memchr(t, '%', n) != NULL);
}

/* Decode the escapes of t[0, n) (UTF-8) into r. Only a text holding `&` or `%` is read (dv_esc_possible);
 * r->n == 0 when no escape stands in it. Decoded, and nothing else:
 *  - numeric character references `&#NNN;` and `&#xHH;` (any case, leading zeros; the `;` optional, as HTML reads
 *    `&#116hson`) of a code point that is no NUL,
 *    surrogate or control character (but TAB, LF, CR) and at most U+10FFFF;
 *  - XML's five predefined entities, HTML's `&nbsp;`, `&times;`, `&divide;`, and HTML's names of the letters
 *    U+00C0-U+017F (Latin-1 Supplement and Latin Extended-A: `&eacute;`, `&ntilde;`, `&Lstrok;`, `&ccaron;`);
 *    the `;` is required;
 *  - `%XX` (any case) of a printable ASCII character; `%XX` runs that form one valid UTF-8 character (`%C3%A9`);
 *    a lone `%XX` of a byte 0x80-0xFF that starts no UTF-8 sequence, as byte_fn reads it in the text's character
 *    set (none when byte_fn is NULL or returns -1);
 *  - `+` as a space inside a URL query: after a `?` that follows a non-space and an `=` after it, with no white
 *    space or `#` between.
 * Invalid, overlong or truncated escapes (`%C0%AF`, `%E2%82`, `&#0;`, `&#xD800;`, `&bogus;`) are copied as
 * written. One pass: a decoded escape is not read again (`&#37;53` is `%53`). Linear in n. 0, or -1
 * (DV_ERR_NOMEM). */
int dv_esc_decode(const char *t, size_t n, unsigned flags, dv_esc_byte_fn byte_fn, void *user, dv_escapes *r,
                  dv_error *err);

/* The original position of position p of the decoded copy: a finding's start (end = 0) or end (end = 1) inside an
 * escape's character is widened to the whole escape. */
size_t dv_esc_to_original(const dv_escapes *r, size_t p, int end);

/* Findings in original positions (sorted, disjoint) that cut an escape are widened to the whole escape; two that
 * then overlap become one (the first's type). */
void dv_esc_widen(const dv_escapes *r, dv_findings *f);

/* The text a transformation reads: t[0, n) with, inside each finding whose type is not in as_written, every
 * escape replaced by its character, but DV_ESC_KEEP_ALWAYS ones, and DV_ESC_KEEP_WRITTEN ones inside a finding
 * whose type is in writes_back (its transformation writes the text back: a date shift), which stay as written;
 * into out (at least n bytes); the findings are moved onto out. Text outside the findings is copied byte for byte.
 * Returns the length written. So a mask counts the characters a reader reads and a hash is the hash of the name
 * as it reads it (`O&#39;Brien` and `O%27Brien` hash as O'Brien), while a shifted date is never written with a raw
 * `<` or `/` that was escaped structure. */
size_t dv_esc_substitute(const dv_escapes *r, const char *t, size_t n, dv_infotype_set as_written,
                         dv_infotype_set writes_back, dv_findings *f, char *out);

#endif
