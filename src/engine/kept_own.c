/* Does a value the plan keeps as it is hold the patient's values that it changes (held_values.c holds them), or the
 * instance's own primary UIDs that it regenerates? A private blob, an opaque or unlisted standard value, a kept
 * address, a profile-kept text, a kept document: apply.c's walk asks here and deletes, empties or refuses.
 * Error messages name tags, never values. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dicomveil/dicomveil.h"
#include "engine/dv_plan.h"
#include "engine/opaque_ids.h"
#include "engine/packed_values.h"
#include "engine/document_text.h"
#include "dicom/dv_vr.h"
#include "dict/dv_dict.h"
#include "dict/dv_tags.h"
#include "dicom/dv_charset.h"
#include "engine/apply_internal.h"

/* Does e's value hold one of vals[0, n)? The scanner *sc is made on first use (dv_kept_holds_own keeps one per list
 * and kind of value); for a standard value (std) it leaves out the names and IDs under 6 characters. 1, 0, or -1. */
static int scanner_ready(apply_ctx *c, const dv_elem *e, dv_own_scanner **sc, const char (*vals)[DV_UID_MAX + 1],
                         const size_t *vlen, const unsigned char *kinds, int n, int std)
{
    if (!*sc) {
        size_t lens[DV_OWN_SCAN_MAX];
        for (int k = 0; k < n; k++) {
            int name = kinds[k] == DV_OWN_WORD || kinds[k] == DV_OWN_EXACT;
            /* a UTF-16 form (zero bytes) is as likely by chance in 16-bit samples as its characters alone */
            size_t min = memchr(vals[k], 0, vlen[k]) ? 12 : 6;
            lens[k] = std && name && vlen[k] < min ? 0 : vlen[k];
        }
        if (!(*sc = dv_own_scanner_new(vals, lens, kinds, n)))
            return dv_fail(c->err, DV_ERR_NOMEM, "out of memory reading " TAGF, TAGA(e->tag));
    }
    return 0;
}

static int holds_any(apply_ctx *c, const dv_elem *e, dv_own_scanner **sc, const char (*vals)[DV_UID_MAX + 1],
                     const size_t *vlen, const unsigned char *kinds, int n, int std)
{
    if (scanner_ready(c, e, sc, vals, vlen, kinds, n, std) != 0)
        return -1;
    return dv_value_holds_own(c->inst, e, *sc, c->err);
}

/* A kept private value that is a zlib or gzip stream (GE's protocol data block, a vendor's zipped XML) or a ZIP
 * archive (dv_packed_kind_of), inflated and looked at for the held values, its own and the others' forms: its bytes
 * as they are show nothing of what it holds (stop 52, after the review's private PDF; ZIP at stop 53). At most
 * DV_INFLATED_MAX bytes inflated, from at most DV_TEXT_VALUE_MAX packed: past either, not all could be looked at,
 * and it goes (a private value is never required). 1 holds one (or too big, or an archive not all read), 0 not (or
 * no stream after all), -1 error. */
#define DV_INFLATED_MAX (64u << 20)
/* ... and at most this much for all of an instance's values and looks together: the second review of stop 53 built
 * an archive inflating to 64 MiB that took 0.13-0.40 s a look, so an instance of many such values would take
 * minutes. Past it, a packed value is not all looked at and goes. */
#define DV_INFLATED_INSTANCE_MAX (256u << 20)
static int inflated_look(apply_ctx *c, int (*look)(dv_own_scanner *, const uint8_t *, size_t, uint64_t *, uint32_t,
                                                   dv_error *),
                         dv_own_scanner *sc, const uint8_t *z, size_t zn, uint32_t tag)
{
    uint64_t room = DV_INFLATED_INSTANCE_MAX - c->inflated, cap = room < DV_INFLATED_MAX ? room : DV_INFLATED_MAX;
    uint64_t left = cap;
    int rc = look(sc, z, zn, &left, tag, c->err);
    c->inflated += cap - left;
    return rc;
}

static int inflated_holds(apply_ctx *c, const dv_elem *e, dv_packed_kind kind)
{
    if (e->length > DV_TEXT_VALUE_MAX || c->inflated >= DV_INFLATED_INSTANCE_MAX)
        return 1;
    size_t zn = (size_t)e->length;
    const uint8_t *z = dv_elem_inline_value(e);
    uint8_t *loaded = NULL;
    if (!z) {
        if (!(loaded = malloc(zn ? zn : 1)))
            return dv_fail(c->err, DV_ERR_NOMEM, "out of memory reading " TAGF, TAGA(e->tag));
        if (dv_elem_read_value(c->inst, e, loaded, zn) != 0) {
            free(loaded);
            return dv_fail(c->err, DV_ERR_IO, "cannot read the value of " TAGF, TAGA(e->tag));
        }
        z = loaded;
    }
    int (*look)(dv_own_scanner *, const uint8_t *, size_t, uint64_t *, uint32_t, dv_error *) =
        kind == DV_PACKED_ZIP ? dv_zip_holds_own : dv_inflated_holds_own;
    int rc = scanner_ready(c, e, &c->scan_held, c->own, c->own_len, c->own_kind, c->nheld, 0);
    if (rc == 0)
        rc = inflated_look(c, look, c->scan_held, z, zn, e->tag);
    if (rc == 0 && c->nforeign &&
        (rc = scanner_ready(c, e, &c->scan_foreign, c->foreign, c->foreign_len, c->foreign_kind, c->nforeign, 0)) == 0)
        rc = inflated_look(c, look, c->scan_foreign, z, zn, e->tag);
    free(loaded);
    return rc;
}

/* 1 when a run of digits of the UI value v[0, len) (a component, or a part of one a full stop or backslash ends)
 * is one of own[nown, nheld) of kind: an ID (WORD) whole, a date (DATE, YYYYMMDD) at its start, a time may follow
 * it. 0 not. The caller has held them (dv_held_decide). */
int dv_kept_ui_component_held(const apply_ctx *c, const uint8_t *v, size_t len, dv_own_kind kind)
{
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && dv_apply_is_digit(v[j]))
            j++;
        for (int k = c->nown; k < c->nheld && j > i; k++) {
            if (c->own_kind[k] != kind)
                continue;
            if (kind == DV_OWN_DATE ? j - i >= 8 && memcmp(c->own[k], v + i, 8) == 0
                                    : c->own_len[k] == j - i && memcmp(c->own[k], v + i, j - i) == 0)
                return 1;
        }
        i = j + 1; /* past the full stop, backslash or padding */
    }
    return 0;
}

/* 1 when the UI value v[0, len), which the plan keeps, holds as a component one of the patient's IDs that the plan
 * changes (1.2.3.4471902.1: an MRN; all digits, as a UID's component must be). A UID cannot be cleared of it, only
 * regenerated. Dates are found by their shape (dv_ui_value_holds_date); an ID standing in a UID is not found by
 * dv_kept_holds_own's rule, for which a full stop after a digit continues the number. Not failing closed when some
 * value could not be held (as a private value does): that depends on the instance (17 calibration dates), so a
 * frame of reference shared with another instance would be regenerated in one and kept in the other (the review);
 * the patient's IDs are held first, so the ones a UID could hold are there. -1 out of memory. */
int dv_kept_ui_holds_patient(apply_ctx *c, const uint8_t *v, size_t len)
{
    if (!(c->ndates || c->nwordtags || c->ncut || c->cut_more))
        return 0;
    /* An all-digit ID is held from 6 digits (dv_held_word_long_enough): a value without so long a component (a registry
     * UID, most UIDs a profile keeps) needs no dv_held_decide, which the walk would not have asked otherwise. */
    size_t run = 0, longest = 0;
    for (size_t i = 0; i < len && longest < 6; i++) {
        run = dv_apply_is_digit(v[i]) ? run + 1 : 0;
        longest = run > longest ? run : longest;
    }
    if (longest < 6)
        return 0;
    if (!c->held_decided && dv_held_decide(c) != 0)
        return -1;
    return dv_kept_ui_component_held(c, v, len, DV_OWN_WORD);
}

/* The shortest encoded form (dv_own_encoded_each): base64 of DV_OWN_BASE64_MIN bytes from offset 1 or 2. */
#define DV_ENCODED_FORM_MIN 7

/* Does e hold one of the held values' encoded forms (enc[])? Built the first time a value asks (most instances' values
 * are no place software serializes to: dv_kept_may_hold_serialized), after dv_held_decide_values. 1, 0, or -1. */
static int encoded_held(apply_ctx *c, const dv_elem *e, int std)
{
    if (e->length < DV_ENCODED_FORM_MIN)
        return 0; /* shorter than any form (a private DS or US): nothing to build the forms for */
    if (!c->enc_built) {
        c->enc_built = 1;
        dv_held_encoded_forms(c, c->nvalues);
    }
    return c->nenc ? holds_any(c, e, &c->scan_enc, c->enc, c->enc_len, c->enc_kind, c->nenc, std) : 0;
}

/* Bytes p[0, 4) as one number, ASCII letters without case (| 0x20: two pieces equal without case stay equal; it
 * merges a few other bytes too, which can only make name_field_may_hold look further). */
static uint32_t gram_at(const uint8_t *p)
{
    uint32_t g;
    memcpy(&g, p, 4);
    return g | 0x20202020u;
}

static unsigned gram_hash(uint32_t g)
{
    return (unsigned)((g * 2654435761u) >> (32 - 10)); /* 10 bits: DV_GRAM_BITS */
}

/* Note the piece at p (gather_grams); 0 when there is no room. */
static int add_gram(apply_ctx *c, const uint8_t *p)
{
    if (c->ngrams == DV_GRAMS_MAX)
        return 0;
    uint32_t g = gram_at(p);
    c->grams[c->ngrams++] = g;
    unsigned h = gram_hash(g);
    c->gram_bits[h / 64] |= (uint64_t)1 << (h % 64);
    return 1;
}

/* What a byte is to gather_grams and name_field_may_hold: a letter or a digit (a held value starts after a byte that
 * is neither); one outside ASCII or ESC (a held name's other encodings are not runs of its bytes: RAW_HIGH); one a
 * held form may hold that no piece shows (control bytes, UTF-16's zeros, bytes outside ASCII; `%` and `&`, as the
 * scanner reads escapes: RAW_LOOK). A table: one load a byte. */
enum { RAW_LETTER = 1, RAW_DIGIT = 2, RAW_HIGH = 4, RAW_LOOK = 8 };
#define RAW_X4(x) x, x, x, x
#define RAW_X16(x) RAW_X4(x), RAW_X4(x), RAW_X4(x), RAW_X4(x)
#define RAW_X64(x) RAW_X16(x), RAW_X16(x), RAW_X16(x), RAW_X16(x)
#define RAW_LETTERS RAW_X16(RAW_LETTER), RAW_X4(RAW_LETTER), RAW_X4(RAW_LETTER), RAW_LETTER, RAW_LETTER /* 26 */
static const uint8_t raw_class[] = {
    RAW_X16(RAW_LOOK), RAW_X4(RAW_LOOK), RAW_X4(RAW_LOOK), RAW_LOOK, RAW_LOOK, RAW_LOOK, RAW_HIGH | RAW_LOOK,
    RAW_X4(RAW_LOOK),                                        /* 0x00-0x1F, ESC 0x1B */
    0, 0, 0, 0, 0, RAW_LOOK, RAW_LOOK, 0, RAW_X4(0), RAW_X4(0), /* 0x20-0x2F: % & */
    RAW_X4(RAW_DIGIT), RAW_X4(RAW_DIGIT), RAW_DIGIT, RAW_DIGIT, 0, 0, 0, 0, 0, 0, /* 0x30-0x3F */
    0, RAW_LETTERS, 0, 0, 0, 0, 0,                           /* 0x40-0x5F */
    0, RAW_LETTERS, 0, 0, 0, 0, RAW_LOOK,                    /* 0x60-0x7F */
    RAW_X64(RAW_HIGH | RAW_LOOK), RAW_X64(RAW_HIGH | RAW_LOOK) /* 0x80-0xFF */
};
_Static_assert(sizeof raw_class == 256, "one class a byte");

/* The pieces of r[0, n), values as written (a name's or ID's, an other person's or place's), where a held part or
 * word can start: after a byte that is no letter or digit, or a digit after a letter (and a letter after a digit).
 * Every byte's class into *seen. 0 when there is no room. */
static int gather_raw(apply_ctx *c, const uint8_t *r, size_t n, unsigned *seen)
{
    unsigned prev = 0, all = 0; /* all: kept in a register (add_gram's stores could alias *seen) */
    for (size_t p = 0; p + 4 <= n; p++) {
        unsigned cl = raw_class[r[p]];
        all |= cl;
        if ((!(prev & (RAW_LETTER | RAW_DIGIT)) || (cl & ~prev & (RAW_LETTER | RAW_DIGIT))) && !add_gram(c, r + p))
            return 0;
        prev = cl;
    }
    for (size_t p = n >= 3 ? n - 3 : 0; p < n; p++) /* the last 3: no piece starts there */
        all |= raw_class[r[p]];
    *seen |= all;
    return 1;
}

/* The pieces the values a name field is looked for start with: the first 4 bytes at each place a held name part, word
 * or ID can start in the patient's names and IDs as read (word_raw; hold_word splits them at `^`, `=`, spaces and other
 * punctuation and trims them, so a held value starts at the start or after a byte that is no letter or digit, or an
 * ID's number after a letter: MRN4471902's 4471902; a form in another case folds to the same piece), the year of each
 * date (every form of a date held writes its 4-digit year), the first 4 bytes of each primary UID, and (stop 52) the
 * same pieces of the other persons' names and the InstitutionName, so that a name field naming only a physician or the
 * institution is looked at too (not the addresses and telephone numbers: 250 bytes a CT instance to gather, +1.5 %
 * instructions under Basic, for what no chosen name is likely to hold). Not usable (grams_state -1) when a name holds a
 * byte outside ASCII, a primary UID is shorter than 4 bytes, or the pieces do not fit. A held value that is not such a
 * run (a form made up of other bytes) must add its piece here. */
static void gather_grams(apply_ctx *c)
{
    c->grams_state = -1;
    c->ngrams = 0;
    memset(c->gram_bits, 0, sizeof c->gram_bits);
    for (int k = 0; k < c->nown; k++)
        if (c->own_len[k] < 4 || !add_gram(c, (const uint8_t *)c->own[k]))
            return;
    for (int i = 0; i < c->ndates; i++) /* most dates of an instance share their year */
        if ((i == 0 || memcmp(c->date_val[i], c->date_val[i - 1], 4) != 0) &&
            !add_gram(c, (const uint8_t *)c->date_val[i]))
            return;
    unsigned seen = 0; /* every byte's class */
    for (int i = 0; i < c->nwordtags; i++)
        if (!gather_raw(c, c->word_raw[i], c->word_len[i], &seen))
            return;
    for (int i = 0; i < c->nothers; i++) /* the other persons and the institution (hold_others; stop 52) */
        if ((c->other_kind[i] == OTHER_PERSON || c->other_tag[i] == DV_TAG_INSTITUTION_NAME) &&
            !gather_raw(c, c->other_v[i], c->other_len[i], &seen))
            return;
    c->grams_state = seen & RAW_HIGH ? -1 : 1;
}

static int has_gram(const apply_ctx *c, uint32_t g)
{
    unsigned h = gram_hash(g);
    if (!(c->gram_bits[h / 64] & ((uint64_t)1 << (h % 64))))
        return 0;
    for (int k = 0; k < c->ngrams; k++)
        if (c->grams[k] == g)
            return 1;
    return 0;
}

/* Could e, a name field the profile keeps (DV_FREE_NAME: SequenceName, CodeMeaning, BeamName), hold one of the
 * patient's own values? Most instances carry a few (a CT's codes: `Chest`, `T-D3000`), and none of them does:
 * gathering every held value and its forms and making their scanner cost 83 k instructions a CT instance under
 * Basic (+23 % of the run), so a value is first looked at for a 4-byte piece of them (gather_grams), a few
 * instructions a byte. 1 (look further) as well when that cannot tell: a value not in memory, one with a byte a
 * held form may hold that no piece shows (outside printable ASCII: UTF-16 and other encodings; `%` and `&`: the
 * scanner reads escapes), or no usable pieces. */
static int name_field_may_hold(apply_ctx *c, const dv_elem *e)
{
    const uint8_t *v = dv_elem_inline_value(e);
    if (!v)
        return 1;
    if (!c->grams_state)
        gather_grams(c);
    if (c->grams_state < 0)
        return 1;
    size_t n = (size_t)e->length, i = 0;
    for (; i + 4 <= n; i++)
        if ((raw_class[v[i]] & RAW_LOOK) || has_gram(c, gram_at(v + i)))
            return 1;
    for (; i < n; i++)
        if (raw_class[v[i]] & RAW_LOOK)
            return 1;
    return 0;
}

/* Does e, a kept private value that is no ZIP from its first byte, end as a ZIP archive a reader extracts behind
 * a prefix (a self-extracting archive: a program, then the archive; dv_zip_ends_value)? Its last DV_ZIP_TAIL_MAX
 * bytes are read (a value held in the file: one read). 1, 0, or -1 unreadable. */
static int ends_as_zip(apply_ctx *c, const dv_elem *e)
{
    uint64_t n = e->length;
    size_t tn = n < DV_ZIP_TAIL_MAX ? (size_t)n : DV_ZIP_TAIL_MAX;
    const uint8_t *v = dv_elem_inline_value(e);
    if (v)
        return dv_zip_ends_value(v + (n - tn), tn, n);
    uint64_t off;
    const dv_source *src = dv_elem_source(c->inst, e, &off);
    uint8_t *t = malloc(tn);
    if (!t)
        return dv_fail(c->err, DV_ERR_NOMEM, "out of memory reading " TAGF, TAGA(e->tag));
    int rc = src && src->read_at(src->ctx, off + (n - tn), t, tn) == 0
                 ? dv_zip_ends_value(t, tn, n)
                 : dv_fail(c->err, DV_ERR_IO, "cannot read the value of " TAGF, TAGA(e->tag));
    free(t);
    return rc;
}

/* A kept private value whose bytes hide what they hold, while the plan changes the patient's values: a PDF (a
 * vendor's report block: its text in compressed streams no byte search reads) goes, as a kept EncapsulatedDocument
 * is refused (stop 52's review: a FlateDecode PDF naming the patient stayed in (0019,1010) under KEEP_ALL +
 * removeTag); a zlib or gzip stream or a ZIP archive is inflated and looked at (inflated_holds); a packed form not
 * read here (bzip2, xz, zstd, 7-Zip, RAR...: dv_packed_kind_of) goes, as a PDF does. Judged by its first KiB, and
 * by its end for a ZIP archive behind a prefix (ends_as_zip). 1 it goes, 0 its bytes decide as any value's,
 * -1 error. */
static int private_container_holds(apply_ctx *c, const dv_elem *e)
{
    uint8_t head[1024];
    size_t hn;
    const uint8_t *h = dv_apply_value_head(c, e, head, sizeof head, &hn);
    if (!h)
        return 0;
    if (dv_doc_has_pdf_header(h, hn))
        return 1;
    dv_packed_kind kind = dv_packed_kind_of(h, hn);
    if (kind == DV_PACKED_UNREADABLE)
        return 1;
    int rc = kind == DV_PACKED_NONE ? 0 : inflated_holds(c, e, kind);
    if (rc != 0 || kind == DV_PACKED_ZIP)
        return rc;
    /* A ZIP behind a prefix (the review after stop 53: judged by its first KiB, a deflated entry naming the patient
     * stayed) is walked from the first entry its directory names; a value only starting like a stream may be one. */
    rc = ends_as_zip(c, e);
    return rc > 0 ? inflated_holds(c, e, DV_PACKED_ZIP) : rc;
}

/* 1 when e, a kept private value other than UI (an OB or UN blob, a text) or a kept address (UR), holds one of the
 * instance's own primary UIDs that the plan regenerates, or one of its dates, names or IDs the plan changes
 * (dv_held_note_values; opaque_ids.c says how a value must stand): kept, it would name the source study, series,
 * instance or patient beside the new values, or give the date shift away, and its bytes cannot be rewritten without
 * knowing their layout, so apply_ds deletes it (a private element is never required by an IOD) or empties it (an
 * address: its place in the IOD stays). A keepTag keeps it, as it keeps a UI value; a private creator stays (it names a
 * vendor's block). A private text cleaned as text is looked at for the UIDs only: the text stage knows the instance's
 * names, IDs and dates. -1 when its bytes cannot be read. (docs/decisions.md "A kept private value holding the
 * instance's own primary ID is deleted"; test_engine: test_private_blob_naming_own_primary_id,
 * test_private_blob_holding_own_date, test_private_blob_naming_own_patient, test_private_blob_review_cases,
 * test_unlisted_names_and_addresses) */
int dv_kept_holds_own(apply_ctx *c, const dv_elem *e, const dv_match *m, dv_decision d, int text)
{
    if (DV_TAG_IS_PRIVATE_CREATOR(e->tag) || dv_apply_kept_by_keep_tag(m))
        return 0;
    if (text && m->free_text == DV_FREE_NAME && !c->held_decided && !name_field_may_hold(c, e))
        return 0;
    if (d == DV_DEC_KEEP && !c->held_decided && dv_held_decide(c) != 0)
        return -1;
    int held = d == DV_DEC_KEEP, n = held ? c->nheld : c->nown;
    /* A standard text value the profile keeps (text: profile_kept_text) is text, not megabytes of samples: every
     * held name part is looked for in it, as in a private value; but it is not emptied for what could not be held
     * (Modality, ImageType: that would break every output of a record of many names), as a known standard value
     * is not. So is a value of a text VR the dictionary does not know (`Pt: Jane Smith` in an LO of the patient's
     * group: stop 49's red team), which still fails closed as an unknown value does. */
    uint16_t evr = dv_plan_effective_vr(e);
    int std = held && !text && !DV_TAG_IS_PRIVATE(e->tag) && evr != DV_VR_UR && !dv_vr_is_text(evr);
    /* Some date, name or ID the plan changes could not be held: a kept private value (or address) cannot be
     * cleared of it, so it goes; so does a standard value read as UN, one the dictionary does not know and the
     * trailing padding (stop 37's leaks were there; emptied, nothing is lost). A known standard value (a waveform,
     * a LUT) is still looked at for what is held: emptying it would break the output for a record of many names
     * (stop 43's review). */
    int unknown = e->vr == DV_VR_UN || evr == DV_VR_UN || e->tag == 0xFFFCFFFCu ||
                  dv_dict_lookup(e->tag) == NULL;
    if (held && c->held_overflow && !text && (!std || unknown))
        return 1;
    if (n == 0)
        return 0;
    if (held && DV_TAG_IS_PRIVATE(e->tag) && c->nheld > c->nown) {
        int z = private_container_holds(c, e);
        if (z != 0)
            return z;
    }
    /* A standard value (scanned_for_own: waveform data, a LUT, an ICC profile, often Type 1) is emptied on a
     * hit, and its megabytes of binary meet a 4-letter name part by chance (the review: ~2 % per 10 MB of random 16-bit
     * samples): for it, name parts and IDs under 6 bytes are not looked for. */
    int rc = holds_any(c, e, std ? &c->scan_std : held ? &c->scan_held : &c->scan_own, c->own, c->own_len,
                       c->own_kind, n, std);
    if (rc != 0 || !held)
        return rc;
    if (c->nforeign)
        rc = holds_any(c, e, std ? &c->scan_foreign_std : &c->scan_foreign, c->foreign, c->foreign_len,
                       c->foreign_kind, c->nforeign, std);
    if (rc != 0 || (text && !dv_kept_may_hold_serialized(e->tag)))
        return rc;
    /* one scanner for standard values and others: no encoded form is left out of a standard value's */
    return encoded_held(c, e, std);
}

/* 1 when the text of a kept EncapsulatedDocument can be read whole from its bytes: a text document as the text
 * stage reads one (no MIME type naming another format; no control byte and no PDF header anywhere in the whole
 * value: dv_doc_is_text) that holds no run of base64 (dv_doc_drop_base64: a CDA's nonXMLBody PDF, an attachment);
 * 0 a PDF or any other format, whose text may be compressed, drawn glyph by glyph, an image or encoded; -1
 * unreadable (err set). Stop 52's review: the first 4 KiB decided, so a PDF whose header stood past 1 KiB with
 * ASCII85 streams (every byte printable), a report with the name in base64 and a CDA's base64 PDF passed as text.
 * A document over DV_TEXT_VALUE_MAX is not read: refused as unreadable. */
static int kept_document_readable(apply_ctx *c, const dv_ds *ds, const dv_elem *e)
{
    if (e->length == DV_UNDEFINED_LENGTH || (e->flags & (DV_ELEM_SEQUENCE | DV_ELEM_ENCAPSULATED)) ||
        dv_doc_mime_says_binary(ds) || e->length > DV_TEXT_VALUE_MAX)
        return 0;
    if (e->length == 0)
        return 1;
    size_t n = (size_t)e->length;
    char *v = malloc(n);
    if (!v)
        return dv_fail(c->err, DV_ERR_NOMEM, "out of memory reading " TAGF, TAGA(e->tag));
    if (dv_elem_read_value(c->inst, e, v, n) != 0) {
        free(v);
        return dv_fail(c->err, DV_ERR_IO, "cannot read the value of " TAGF, TAGA(e->tag));
    }
    int readable = dv_doc_is_text((const uint8_t *)v, n) && !dv_doc_drop_base64(v, &n);
    free(v);
    return readable;
}

/* An EncapsulatedDocument the plan keeps as it is (KEEP_ALL; not a keepTag's) while it changes some of the patient's
 * names, IDs or dates: a report or CDA naming them gives back what the plan removed (stop 51's red team F19: the
 * removed PatientName and PatientID in a kept PDF's text and in a CDA). A text document is looked at for the held
 * values but the instance's own UIDs (its UIDs are rewritten: keep_text); a hit, or a value that could not be held,
 * refuses the instance, alone: a kept document is not cleaned, and emptying a Type 1 document would write a report
 * without its report. A PDF or any other format, or a text holding base64, is refused whatever its bytes show
 * (stop 52): its text is in compressed streams, glyph codes of its fonts, an image or an encoding, so no byte search
 * can say it names nobody; a keepTag on it keeps it as it is. 0 kept, -1 refused or error (err set). */
int dv_kept_document_holds_own(apply_ctx *c, const dv_ds *ds, const dv_elem *e, const dv_match *m)
{
    if (dv_apply_kept_by_keep_tag(m))
        return 0;
    if (!c->held_decided && dv_held_decide(c) != 0)
        return -1;
    int n = c->nheld - c->nown, rc = c->held_overflow && n > 0;
    if (!rc && n > 0) {
        int readable = kept_document_readable(c, ds, e);
        if (readable < 0)
            return -1;
        if (!readable)
            return dv_fail(c->err, DV_ERR_UNSUPPORTED,
                           "EncapsulatedDocument (0042,0011) is a PDF or another format whose text cannot be read "
                           "whole, kept while the config removes the patient's name, ID or dates: use "
                           "DEIDENTIFY_TAG_CONTENTS (which empties it), removeTag it, or keepTag it to keep it as "
                           "it is");
        rc = holds_any(c, e, &c->scan_words, c->own + c->nown, c->own_len + c->nown, c->own_kind + c->nown, n, 0);
    }
    if (rc == 0 && n > 0 && c->nforeign)
        rc = holds_any(c, e, &c->scan_foreign, c->foreign, c->foreign_len, c->foreign_kind, c->nforeign, 0);
    if (rc == 0 && n > 0) /* the held values base64- or hex-encoded, too short for a base64 run (the review) */
        rc = encoded_held(c, e, 0);
    if (rc > 0)
        return dv_fail(c->err, DV_ERR_UNSUPPORTED,
                       "EncapsulatedDocument (0042,0011) may hold a name, ID, date, place or number the config removes, "
                       "and a kept document is not cleaned: use DEIDENTIFY_TAG_CONTENTS, or removeTag it");
    return rc < 0 ? -1 : 0;
}

/* 1 when e, a value the text stage cleans, holds one of the held values' encoded forms (enc[]): the text stage
 * reads words and knows no encoding, so base64 or hex of the patient's name in a text it cleans stayed (stop 49's
 * red team: unknown LOs of the patient's group under DEIDENTIFY_TAG_CONTENTS). The held values themselves are the
 * text stage's to find. 0 not, -1 out of memory or unreadable. */
int dv_kept_cleaned_text_encodes_own(apply_ctx *c, const dv_elem *e)
{
    if (e->length < DV_ENCODED_FORM_MIN || !(c->ndates || c->nwordtags))
        return 0;
    if (!c->values_decided && dv_held_decide_values(c) != 0)
        return -1;
    return encoded_held(c, e, 0);
}
