/* Does an opaque value hold one of the instance's own primary UIDs, dates, names or IDs? (opaque_ids.c) */
#ifndef DV_ENGINE_OPAQUE_IDS_H
#define DV_ENGINE_OPAQUE_IDS_H

#include <stddef.h>
#include <stdint.h>

#include "dicomveil/dicomveil.h"
#include "dicom/dv_ds.h"

/* At most this many values are looked for at once (a bit each in the scanner's tables). */
#define DV_OWN_SCAN_MAX 64

/* How a looked-for value must stand in the bytes to count as found. A full stop continues a UID, a date or an
 * all-digit ID only when a digit follows it (or precedes it, before the value): "Exam 20191019." and "UID
 * 1.2.3." name them, 1.2.3.4 and 20191019.5 do not. In a DS, IS or UN value a date followed by a full stop and
 * zeros only is the date written as a decimal (`20191019.0`; opaque_ids.c decimal_date_ends). */
typedef enum dv_own_kind {
    /* A UID or a date, compared exactly: no digit right before or after it, so 1.2.3 is not found inside 1.2.3.4
     * or 11.2.3, nor the date 20191019 inside 201910191030. */
    DV_OWN_NUMBER = 0,
    /* A name or an ID, ASCII letters compared without case: no ASCII letter or digit right before or after it,
     * so SMITH is found in "Smith, Jo" and "SMITH^JO" but not in "SMITHSON", nor 4471 in 44712 or 1.4471. */
    DV_OWN_WORD = 1,
    /* A date (YYYYMMDD) as a number, or followed by a time as in a DT: 20191019 is found in 201910191030 and
     * 20191019093431.70, not in 2019101912345 (an odd count of digits after it) nor 201910191. */
    DV_OWN_DATE = 2,
    /* The first DV_UID_MAX bytes of a longer (malformed) UID: as NUMBER before it, whatever follows it. */
    DV_OWN_PREFIX = 3,
    /* A name in a multi-byte encoding (Shift-JIS, EUC-KR, GB18030 ...: name_forms.h), compared exactly, whatever
     * stands around it: a trail byte of the character before or after it may be any ASCII letter or digit. */
    DV_OWN_EXACT = 4,
    /* A value's bytes written base64 (dv_own_encoded_each: the characters its bytes alone decide), compared exactly
     * but for the URL-safe alphabet's - and _, which stand for + and /; whatever stands around it (the rest of the
     * encoded text). */
    DV_OWN_BASE64 = 5,
    /* A value's bytes written as hex digits (dv_own_encoded_each), compared without case, whatever stands around
     * it (the rest of a hex dump). */
    DV_OWN_HEX = 6
} dv_own_kind;

/* Called for each form of a value: its bytes and how they must stand. Nonzero stops the walk. */
typedef int (*dv_own_form_fn)(void *ud, const uint8_t *form, size_t n, dv_own_kind kind);

/* The shortest value given base64 forms (dv_own_encoded_each): 6 bytes, whose forms are 7 characters or more (42
 * bits). A shorter one's (a 4-letter name part: 4 or 5 characters) turn up in any base64 text by chance. */
#define DV_OWN_BASE64_MIN 6

/* The forms of v[0, n) (a held name part, ID or date) as vendors encode what they serialize: base64 at each of the
 * three places it can start from modulo 3 (DV_OWN_BASE64: the characters v's bytes alone decide, those that mix in a
 * neighbour's bits left out; from DV_OWN_BASE64_MIN bytes), then hex digits (DV_OWN_HEX, from 4 bytes). A form over
 * DV_UID_MAX bytes is cut to its head (found wherever the whole is). 0 when every form was given, else what fn returned.
 * [test_engine: test_encoded_own_values] */
int dv_own_encoded_each(const uint8_t *v, size_t n, dv_own_form_fn fn, void *ud);

/* 1 when a scanner finds a value of kind where it finds b[0, n), a value of the same length: the same bytes, or
 * for DV_OWN_WORD and DV_OWN_HEX the same under their case fold, for DV_OWN_BASE64 under its alphabets'. The
 * caller holds each value once. */
int dv_own_same(const uint8_t *a, const uint8_t *b, size_t n, dv_own_kind kind);

/* Decode the %XX escapes of b[0, *n) in place (the decoded bytes are never more); an escape cut by b's end (a '%'
 * or '%X' in its last two bytes, when more follow: !last) is not decoded but moved to pend (*npend bytes), to go
 * before the next piece's bytes. 1 when anything was decoded. The runs between escapes are moved whole (memchr,
 * memmove): a kept blob of random bytes holds a %XX by chance every ~30 KiB. [test_engine:
 * test_own_unescape_matches_bytewise] */
int dv_own_unescape(uint8_t *b, size_t *n, int last, uint8_t pend[2], size_t *npend);

/* The values looked for (vals[k], lens[k] bytes, 1 to DV_UID_MAX of them; at most DV_OWN_SCAN_MAX are taken), made
 * ready once for all the values of an instance they are looked for in: each value's first three bytes in tables.
 * The scanner points into vals, which must outlive it. NULL out of memory. */
typedef struct dv_own_scanner dv_own_scanner;
dv_own_scanner *dv_own_scanner_new(const char (*vals)[DV_UID_MAX + 1], const size_t *lens,
                                   const unsigned char *kinds, int n);
void dv_own_scanner_free(dv_own_scanner *sc);

/* 1 when e's value bytes hold one of sc's values whole, as its kind says. Inline, bulk and external values are
 * read, a bulk one in pieces of a fixed buffer however long it is; an undefined-length (encapsulated) value's
 * fragment payloads as one run (a value split across two fragments is found). The value is also looked at with its
 * %XX escapes decoded (an address: "Homer%20Simpson"), a bulk one in a second pass when the first saw an escape.
 * 1 as well when the look would cost more than a bounded number of compares (a value crafted to match the values'
 * first bytes everywhere): deleting it is the safe answer. 0 when none is held or e is a sequence, -1 (err set,
 * naming the tag) when its bytes cannot be read. */
int dv_value_holds_own(const dv_instance *inst, const dv_elem *e, dv_own_scanner *sc, dv_error *err);

/* Does the zlib or gzip stream z[0, zn) inflate to bytes holding one of sc's values (as dv_value_holds_own looks)?
 * Inflated a piece at a time, at most *left bytes (decremented by what came out: the caller's instance-wide
 * allowance): 1 found, or the stream longer than *left or the look's budget spent
 * (not all of it looked at: the safe answer), or inflating to a packed form again or a PDF (dv_packed_kind_of: not
 * read twice over); 0 none, or not a stream after all (an inflate error: the caller
 * looked at its bytes as they are); -1 out of memory (err set, naming tag). */
int dv_inflated_holds_own(dv_own_scanner *sc, const uint8_t *z, size_t zn, uint64_t *left, uint32_t tag,
                          dv_error *err);

/* The look's budget (compares allowed) for bytes bytes of values: set once for the entries of one archive, which
 * dv_deflated_holds_own share. */
void dv_own_scanner_budget(dv_own_scanner *sc, uint64_t bytes);

/* One raw deflate stream at z[0, zn) (a ZIP entry's data, whose end only the stream tells), inflated and looked at as
 * dv_inflated_holds_own does, at most *left bytes out (decremented: an archive's entries share it) within the
 * budget dv_own_scanner_budget set. *used: the input bytes the stream took; *ended: whether it ended (0: an inflate
 * error or a cut stream). 1 found (or past *left, or the budget spent), 0 not, -1 out of memory (err set). */
int dv_deflated_holds_own(dv_own_scanner *sc, const uint8_t *z, size_t zn, uint64_t *left, size_t *used,
                          int *ended, uint32_t tag, dv_error *err);

#endif
