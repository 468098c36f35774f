/* Character sets of DICOM text values (PS3.3 C.12.1.1.2, PS3.5 6.1): read SpecificCharacterSet (0008,0005),
 * inherit it into sequence items, decode a value to UTF-8, and encode UTF-8 back into the instance's set.
 *
 * The API works on single element values: a caller decodes a value, edits the text, and encodes only the
 * values it changed. A value nobody changed keeps its original bytes exactly (it is never re-encoded).
 * When a replacement cannot be encoded in the instance's set, dv_charset_encode says so
 * (DV_CHARSET_UNENCODABLE); the caller then switches the instance to ISO_IR 192 and re-encodes every text
 * value with dv_charset_to_utf8 (docs/charsets.md, "Unencodable replacements").
 *
 * Thread safety: a dv_charset is a small immutable value; a dv_charset_ctx (lookup tables and iconv
 * converters built on first use) belongs to one worker at a time. There is no mutable global state. */
#ifndef DV_CHARSET_H
#define DV_CHARSET_H

#include <stddef.h>
#include <stdint.h>
#include "dicomveil/dv_error.h"
#include "dv_ds.h"

/* Defined terms of (0008,0005) we know. The "ISO_IR n" and "ISO 2022 IR n" spellings of one repertoire
 * share a term; dv_charset.iso2022 says whether code extensions (escape sequences) are in use. */
typedef enum dv_cs_term {
    DV_CST_DEFAULT = 0,  /* empty value, ISO_IR 6, ISO 2022 IR 6: the default repertoire (ASCII) */
    DV_CST_IR100,        /* Latin alphabet No. 1 (ISO 8859-1) */
    DV_CST_IR101,        /* Latin-2 (8859-2) */
    DV_CST_IR109,        /* Latin-3 (8859-3) */
    DV_CST_IR110,        /* Latin-4 (8859-4) */
    DV_CST_IR144,        /* Cyrillic (8859-5) */
    DV_CST_IR127,        /* Arabic (8859-6) */
    DV_CST_IR126,        /* Greek (8859-7) */
    DV_CST_IR138,        /* Hebrew (8859-8) */
    DV_CST_IR148,        /* Latin-5 (8859-9) */
    DV_CST_IR203,        /* Latin-9 (8859-15) */
    DV_CST_IR166,        /* Thai (TIS 620-2533) */
    DV_CST_IR13,         /* Japanese JIS X 0201 (Romaji + half-width Katakana) */
    DV_CST_IR87,         /* Japanese JIS X 0208 (ISO 2022 only, designated to G0) */
    DV_CST_IR159,        /* Japanese JIS X 0212 (ISO 2022 only, G0) */
    DV_CST_IR149,        /* Korean KS X 1001 (ISO 2022 only, G1) */
    DV_CST_IR58,         /* Simplified Chinese GB 2312 (ISO 2022 only, G1) */
    DV_CST_IR192,        /* Unicode in UTF-8 (no code extensions) */
    DV_CST_GB18030,      /* GB 18030 (no code extensions) */
    DV_CST_GBK,          /* GBK (no code extensions) */
    DV_CST_UNKNOWN,      /* a term we do not know: decoded as the default repertoire */
    DV_CST_COUNT
} dv_cs_term;

#define DV_CHARSET_MAX_TERMS 8

/* How (0008,0005) was read; none of these is an error (decoding always proceeds). */
enum {
    DV_CHARSET_F_UNKNOWN_TERM = 1u << 0, /* a term is not a defined term we know */
    DV_CHARSET_F_NONSTANDARD = 1u << 1,  /* a known repertoire in a non-standard spelling or position */
    DV_CHARSET_F_TOO_MANY = 1u << 2,     /* more than DV_CHARSET_MAX_TERMS values: the rest are ignored */
    DV_CHARSET_F_UNREADABLE = 1u << 3    /* the value could not be read (bulk): default repertoire used */
};

typedef struct dv_charset {
    uint8_t nterms;                        /* 1..DV_CHARSET_MAX_TERMS */
    uint8_t iso2022;                       /* 1: escape sequences are honoured (code extensions) */
    uint8_t flags;                         /* DV_CHARSET_F_* */
    uint8_t terms[DV_CHARSET_MAX_TERMS];   /* dv_cs_term, value 1 first */
} dv_charset;

/* The default repertoire (no SpecificCharacterSet). */
void dv_charset_default(dv_charset *cs);
/* Read a (0008,0005) value (raw bytes, backslash-separated, padding allowed). Never fails: unknown or
 * malformed terms are flagged in cs->flags and read as the default repertoire. Pure, allocation-free. */
void dv_charset_parse(const uint8_t *value, size_t len, dv_charset *cs);
/* 1 when values in cs are UTF-8 (ISO_IR 192 is value 1). */
int dv_charset_is_utf8(const dv_charset *cs);
/* 1 when (0008,0005) governs values of this VR: SH, LO, ST, LT, UC, UT, PN. Every other VR (AE, CS, DA, TM,
 * DT, AS, IS, DS, UI, UR ...) is always the default repertoire. */
int dv_charset_vr_applies(uint16_t vr);

/* Inheritance (PS3.5 7.5.1 / PS3.3 C.12.1.1.2): the effective set of a dataset or sequence item is its own
 * (0008,0005) when present (an empty one means the default repertoire), else the enclosing one's.
 * Returns `inherited` itself when ds has no (0008,0005) (the common case: no copy, no allocation), else
 * parses into *own and returns own. inherited NULL means the default repertoire (then *own is filled and
 * returned). Never fails. The engine's walk calls dv_charset_for_item for each item with the set of the
 * dataset holding the sequence. [test_charset: test_inheritance_*] */
const dv_charset *dv_charset_for_ds(const dv_charset *inherited, const dv_ds *ds, dv_charset *own);
const dv_charset *dv_charset_for_item(const dv_charset *parent, const dv_item *item, dv_charset *own);

/* Per-worker converter context: lookup tables derived from glibc's iconv on first use of a set, and cached
 * iconv converters for GB18030/GBK. Not thread-safe: one per worker. Every decode/encode call takes a non-NULL
 * context. Returns NULL when out of memory. Free with dv_charset_ctx_free (NULL is a no-op). */
typedef struct dv_charset_ctx dv_charset_ctx;
dv_charset_ctx *dv_charset_ctx_new(void);
void dv_charset_ctx_free(dv_charset_ctx *ctx);

/* Decode results (dv_cs_decoded.flags). A value with flags == 0 is conformant to the declared set:
 * it always encodes back (DV_CHARSET_OK), to text that decodes identically. */
enum {
    DV_CS_REPLACED = 1u << 0, /* invalid bytes were decoded as U+FFFD (lossy) */
    DV_CS_LENIENT = 1u << 1   /* bytes outside the declared repertoire were decoded by a documented superset
                                 (e.g. Shift-JIS kanji under ISO_IR 13, an undeclared escape sequence) */
};
/* Encoding style seen in an ISO 2022 value (dv_cs_decoded.style), to be passed back to dv_charset_encode so
 * that an edited value keeps the escape-sequence habits of its writer (PS3.5 Annexes H, I and K differ). */
enum {
    DV_CS_STYLE_CLOSE_G1 = 1u << 0,     /* a G1 run is closed by re-designating the initial G0 (Annex K.3) */
    DV_CS_STYLE_G1_AT_START = 1u << 1,  /* G1 is designated at the head of the line/component (Annex I.3) */
    DV_CS_STYLE_ASCII_RETURN = 1u << 2  /* under ISO 2022 IR 13, G0 returns with ESC ( B, not ESC ( J */
};

typedef struct dv_cs_decoded {
    size_t len;      /* UTF-8 bytes written to out (not NUL-terminated) */
    unsigned flags;  /* DV_CS_REPLACED | DV_CS_LENIENT */
    unsigned style;  /* DV_CS_STYLE_* (0 for sets without code extensions) */
} dv_cs_decoded;

/* Output bounds: decoding never writes more than 3 bytes per input byte; encoding never more than 4 per
 * input UTF-8 byte plus 4 (escape sequences). Callers size their buffers with these. */
#define DV_CHARSET_DECODE_BOUND(n) ((size_t)(n) * 3u)
#define DV_CHARSET_ENCODE_BOUND(n) ((size_t)(n) * 4u + 4u)

/* Decode a value of VR vr (bytes as stored, padding included) under cs into UTF-8 in out[cap].
 * Invalid bytes become U+FFFD (flag DV_CS_REPLACED); decoding never fails on content.
 * Returns 0, or -1 with err: DV_ERR_LIMIT when cap < DV_CHARSET_DECODE_BOUND(len) would be needed and the
 * output did not fit, DV_ERR_NOMEM / DV_ERR_UNSUPPORTED when a table or converter cannot be built.
 * Delimiters: the ISO 2022 state returns to value 1's sets at every control character (CR, LF, FF, TAB ...),
 * at each backslash of multi-valued VRs and at each ^ and = of PN (PS3.5 6.1.2.5.3). */
int dv_charset_decode(dv_charset_ctx *ctx, const dv_charset *cs, uint16_t vr, const uint8_t *in, size_t len,
                      char *out, size_t cap, dv_cs_decoded *res, dv_error *err);

#define DV_CHARSET_OK 0
#define DV_CHARSET_UNENCODABLE 1
/* Encode UTF-8 text of VR vr into cs, following style (0, or the style dv_charset_decode reported for the
 * value being edited). Writes *out_len bytes to out[cap] (no padding added: the writer pads odd lengths).
 * Returns DV_CHARSET_OK; DV_CHARSET_UNENCODABLE when a character has no encoding in cs (*bad_offset = its
 * byte offset in utf8; nothing useful is in out); or -1 with err: DV_ERR_USAGE for invalid UTF-8 input,
 * DV_ERR_LIMIT when out is too small, DV_ERR_NOMEM / DV_ERR_UNSUPPORTED as for decoding.
 * Encoding is deterministic: each character goes to the active G0, then G1, then the first value of cs
 * that has it; escape sequences follow PS3.5 6.1.2.5.3 (back to value 1's sets before each delimiter and at
 * the end). [test_charset: test_annex_round_trips, test_unencodable_*] */
int dv_charset_encode(dv_charset_ctx *ctx, const dv_charset *cs, uint16_t vr, const char *utf8, size_t len,
                      unsigned style, uint8_t *out, size_t cap, size_t *out_len, size_t *bad_offset,
                      dv_error *err);

/* Re-encode a stored value from its set cs to ISO_IR 192, for an instance being switched to UTF-8:
 * values of VRs cs governs are decoded (escape sequences removed); values of other VRs are copied
 * unchanged. res->flags reports a lossy conversion (DV_CS_REPLACED). Returns 0 or -1 as dv_charset_decode. */
int dv_charset_to_utf8(dv_charset_ctx *ctx, const dv_charset *cs, uint16_t vr, const uint8_t *in, size_t len,
                       char *out, size_t cap, dv_cs_decoded *res, dv_error *err);

/* The defined term of value i as written in (0008,0005) ("ISO 2022 IR 87", "ISO_IR 100", "GB18030"; "" for
 * the default repertoire as value 1 of a multi-valued set). For tests and reports. */
const char *dv_charset_term_name(const dv_charset *cs, unsigned i);

#endif
