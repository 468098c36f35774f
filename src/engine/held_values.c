/* The patient's values a dv_apply call holds (apply_internal.h): the instance's own dates, names and IDs, and the
 * other persons' and places', that the plan changes, with the other forms they are written in (dates as headers
 * write them, names in other encodings, UTF-16, base64 and hex, run together), so that the walk (apply.c) can look
 * for them in what it keeps as it is. Error messages name tags, never values. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dicomveil/dicomveil.h"
#include "engine/dv_plan.h"
#include "text/months.h"
#include "engine/name_forms.h"
#include "engine/opaque_ids.h"
#include "dicom/dv_vr.h"
#include "dict/dv_dict.h"
#include "dict/dv_tags.h"
#include "dicom/dv_charset.h"
#include "text/id_number.h"
#include "text/lexicon.h"
#include "text/lexicon_data.h"
#include "util/dv_utf8.h"
#include "engine/apply_internal.h"

/* The order dv_held_decide holds the name and ID attributes in: the patient's name and ID (0), the other names and
 * the accession number (1), the other IDs (2). */
static int word_rank(uint32_t tag)
{
    return tag == 0x00100010u || tag == 0x00100020u ? 0 : tag == 0x00101000u ? 2 : 1;
}

/* The other persons and places an instance names at its top level, whose attributes PS3.15's Basic profile removes
 * or replaces (X, Z, D): a person's name (PN: the referring, performing, reading and requesting physicians, the
 * physicians of record, the operators, the responsible person, the reviewer), a place (an institution, an address,
 * a residence) or a telephone number. Stop 51's red team: kept text (DocumentTitle, ContentDescription) repeated
 * the patient's telephone and address, the referring physician and the institution, and a Siemens CSA header the
 * operator's and the referring physician's names, beside the removed attributes. Not a department (RADIOLOGY) or a
 * station: words any text uses. 0 for another tag. */
#define OWN_TAG_HASH(t) ((uint32_t)((uint32_t)(t) * 0xF6DC0817u) >> 27)

/* The patient's names and IDs (top level) looked for in kept private values: a vendor's header copy that names
 * the patient beside the emptied or cleaned PatientName (Philips' (7053,1006) in the shared corpus holds a whole
 * dataset with it): OWN_WORDS, at most DV_OWN_WORD_TAGS of them. Else the other persons and places above, or 0.
 * One look for both: dv_held_note_values asks it of every top-level element. */
static int own_tag_kind(uint32_t tag)
{
    /* A table a multiply hashes every listed tag to a slot of its own (checked: OWN_TAG_HASH): one load and compare
     * for each element (a switch over the 22 tags cost twice the 7 of before, 12 instructions an element) */
    static const struct {
        uint32_t tag;
        unsigned char kind;
    } listed[32] = {
        [0] = {0x00081070u, OTHER_PERSON}, /* OperatorsName */
        [1] = {0x00080092u, OTHER_PLACE}, /* ReferringPhysicianAddress */
        [2] = {0x00101005u, OWN_WORDS}, /* PatientBirthName */
        [3] = {0x00080090u, OTHER_PERSON}, /* ReferringPhysicianName */
        [4] = {0x00081050u, OTHER_PERSON}, /* PerformingPhysicianName */
        [6] = {0x00380400u, OTHER_PLACE}, /* PatientInstitutionResidence */
        [7] = {0x00101001u, OWN_WORDS}, /* OtherPatientNames */
        [8] = {0x00101000u, OWN_WORDS}, /* OtherPatientIDs */
        [10] = {0x00102297u, OTHER_PERSON}, /* ResponsiblePerson */
        [11] = {0x00100020u, OWN_WORDS}, /* PatientID */
        [12] = {0x00080050u, OWN_WORDS}, /* AccessionNumber */
        [13] = {0x00081048u, OTHER_PERSON}, /* PhysiciansOfRecord */
        [15] = {0x300E0008u, OTHER_PERSON}, /* ReviewerName */
        [17] = {0x00321032u, OTHER_PERSON}, /* RequestingPhysician */
        [18] = {0x00081060u, OTHER_PERSON}, /* NameOfPhysiciansReadingStudy */
        [20] = {0x00080081u, OTHER_PLACE}, /* InstitutionAddress */
        [21] = {0x00080080u, OTHER_PLACE}, /* InstitutionName */
        [26] = {0x00101060u, OWN_WORDS}, /* PatientMotherBirthName */
        [27] = {0x00102154u, OTHER_PHONE}, /* PatientTelephoneNumbers */
        [29] = {0x00100010u, OWN_WORDS}, /* PatientName */
        [30] = {0x00080094u, OTHER_PHONE}, /* ReferringPhysicianTelephoneNumbers */
        [31] = {0x00101040u, OTHER_PLACE}, /* PatientAddress */
    };
    const unsigned h = OWN_TAG_HASH(tag);
    return listed[h].tag == tag ? listed[h].kind : 0;
}
_Static_assert(OWN_TAG_HASH(0x00081070u) == 0 &&
                   OWN_TAG_HASH(0x00080092u) == 1 &&
                   OWN_TAG_HASH(0x00101005u) == 2 &&
                   OWN_TAG_HASH(0x00080090u) == 3 &&
                   OWN_TAG_HASH(0x00081050u) == 4 &&
                   OWN_TAG_HASH(0x00380400u) == 6 &&
                   OWN_TAG_HASH(0x00101001u) == 7 &&
                   OWN_TAG_HASH(0x00101000u) == 8 &&
                   OWN_TAG_HASH(0x00102297u) == 10 &&
                   OWN_TAG_HASH(0x00100020u) == 11 &&
                   OWN_TAG_HASH(0x00080050u) == 12 &&
                   OWN_TAG_HASH(0x00081048u) == 13 &&
                   OWN_TAG_HASH(0x300E0008u) == 15 &&
                   OWN_TAG_HASH(0x00321032u) == 17 &&
                   OWN_TAG_HASH(0x00081060u) == 18 &&
                   OWN_TAG_HASH(0x00080081u) == 20 &&
                   OWN_TAG_HASH(0x00080080u) == 21 &&
                   OWN_TAG_HASH(0x00101060u) == 26 &&
                   OWN_TAG_HASH(0x00102154u) == 27 &&
                   OWN_TAG_HASH(0x00100010u) == 29 &&
                   OWN_TAG_HASH(0x00080094u) == 30 &&
                   OWN_TAG_HASH(0x00101040u) == 31,
               "each listed tag in its own slot");

/* e, a person's or place's attribute (kind), noted for hold_others: where its bytes are, or its first bytes read. */
static void note_other(apply_ctx *c, const dv_elem *e, int kind)
{
    if (c->nothers == DV_OTHER_TAGS || e->length == 0)
        return;
    int i = c->nothers;
    const uint8_t *v = dv_elem_inline_value(e);
    size_t n = (size_t)e->length, cap = v ? DV_OTHER_INLINE_MAX : DV_OTHER_RAW;
    if (!v)
        v = dv_apply_value_head(c, e, c->other_raw[i], DV_OTHER_RAW, &n);
    if (!v || n == 0 || (e->flags & (DV_ELEM_SEQUENCE | DV_ELEM_ENCAPSULATED)))
        return;
    if (e->length > cap) { /* read in part: the values that fit whole */
        n = cap;
        while (n > 0 && v[n - 1] != '\\')
            n--;
    }
    if (n == 0) { /* no value fits (a length no conforming value has): hold_others fails closed if it is changed */
        c->other_cut_tag = e->tag;
        c->other_cut_vr = e->vr == DV_VR_UN ? dv_plan_effective_vr(e) : e->vr;
        return;
    }
    c->other_tag[i] = e->tag;
    c->other_vr[i] = e->vr == DV_VR_UN ? dv_plan_effective_vr(e) : e->vr;
    c->other_kind[i] = (unsigned char)kind;
    c->other_v[i] = v;
    c->other_len[i] = n;
    c->nothers++;
}

/* The dates of e's values (a DA's YYYYMMDD, the date of each DT), read as vr, into date_val, while there is room
 * (a multi-valued DA holds several; a StudyDate written as UN is a DA). */
static void note_own_dates(apply_ctx *c, const dv_elem *e, uint16_t vr)
{
    uint8_t buf[DV_OWN_WORD_RAW];
    size_t len;
    const uint8_t *v = dv_apply_value_head(c, e, buf, sizeof buf, &len);
    int first = c->ndates;
    /* Values past the buffer or past DV_OWN_DATE_VALUES are not read: dv_held_decide fails closed when the plan
     * changes this attribute (its tag is kept for that). */
    int cut = v && e->length > sizeof buf;
    for (size_t i = 0; v && i < len;) {
        if (c->ndates == DV_OWN_DATE_VALUES) {
            cut = 1;
            break;
        }
        const uint8_t *q = memchr(v + i, '\\', len - i);
        size_t j = q ? (size_t)(q - v) : len, n = j - i;
        const uint8_t *d = dv_apply_trim(v + i, &n);
        int digits = vr == DV_VR_DA ? n == 8 : n >= 8;
        for (size_t k = 0; k < 8 && digits; k++)
            digits = d[k] >= '0' && d[k] <= '9';
        for (int k = first; k < c->ndates && digits; k++)
            digits = memcmp(c->date_val[k], d, 8) != 0; /* a value repeated in one attribute once */
        if (digits) {
            c->date_tag[c->ndates] = e->tag;
            c->date_vr[c->ndates] = vr;
            memcpy(c->date_val[c->ndates++], d, 8);
        }
        i = j + 1;
    }
    if (cut && c->ncut < DV_OWN_CUT_MAX) {
        c->cut_tag[c->ncut] = e->tag;
        c->cut_vr[c->ncut++] = vr;
    } else if (cut) {
        c->cut_more = 1;
    }
}

/* The value of a name or ID attribute into word_raw (the values that fit whole). */
static void note_own_words(apply_ctx *c, const dv_elem *e)
{
    if (c->nwordtags == DV_OWN_WORD_TAGS)
        return;
    uint8_t *raw = c->word_raw[c->nwordtags];
    size_t n;
    const uint8_t *v = dv_apply_value_head(c, e, raw, DV_OWN_WORD_RAW, &n);
    if (!v)
        return;
    int cut = e->length > DV_OWN_WORD_RAW;
    if (cut) { /* the values that fit whole: a cut one would be found inside longer text */
        while (n > 0 && v[n - 1] != '\\')
            n--;
    }
    if (n == 0 && !cut)
        return;
    c->word_cut[c->nwordtags] = (unsigned char)cut; /* dv_held_decide fails closed if the plan changes it */
    c->word_tag[c->nwordtags] = e->tag;
    c->word_vr[c->nwordtags] = dv_plan_effective_vr(e);
    c->word_len[c->nwordtags] = (uint16_t)n;
    if (v != raw)
        memcpy(raw, v, n);
    c->nwordtags++;
}

/* The instance's top-level dates (DA and DT, as written or, written as UN, as PS3.6 gives them), and the patient's
 * names and IDs (own_tag_kind), whose attribute the plan does not keep as it is: shifted, cleaned, emptied,
 * replaced or deleted, the source value is what de-identification hides. A date found in a vendor's private blob
 * beside the shifted attribute (a Hitachi (0009,1100) header copy in the shared corpus) gives the shift away, and
 * with it every shifted date of the patient; a name or ID names the patient. Read before the walk (a compare or
 * two an element, the VR and tag as read); decided by dv_held_decide. */
void dv_held_note_values(apply_ctx *c)
{
    c->nheld = c->nown;
    c->ndates = c->nwordtags = c->held_decided = c->values_decided = c->nheld_dates = c->nheld_words = 0;
    c->held_overflow = c->ncut = c->cut_more = c->nothers = 0;
    int kind;
    for (const dv_elem *e = c->inst->ds.first; e; e = e->next) {
        if (dv_elem_is_sequence(e))
            continue;
        uint16_t vr = e->vr == DV_VR_UN ? dv_plan_effective_vr(e) : e->vr;
        /* the standard attributes' dates: a private one cannot crowd them out of the slots */
        if ((vr == DV_VR_DA || vr == DV_VR_DT) && !DV_TAG_IS_PRIVATE(e->tag))
            note_own_dates(c, e, vr);
        else if ((kind = own_tag_kind(e->tag)) == OWN_WORDS)
            note_own_words(c, e);
        else if (kind)
            note_other(c, e, kind);
    }
    dv_charset_for_ds(NULL, &c->inst->ds, &c->word_cs); /* before the text stage may switch it to UTF-8 */
}

/* Append v (n <= DV_UID_MAX bytes, NUL-terminated) as kind at the end of one of the looked-for lists (own[],
 * foreign[], enc[]: their values, lengths and kinds side by side; *count entries, the caller checked room). */
static void list_append(char (*vals)[DV_UID_MAX + 1], size_t *lens, unsigned char *kinds, int *count,
                        const uint8_t *v, size_t n, dv_own_kind kind)
{
    memcpy(vals[*count], v, n);
    vals[*count][n] = '\0';
    kinds[*count] = (unsigned char)kind;
    lens[(*count)++] = n;
}

/* Append v (n bytes) to own[] as kind, unless there already or no room: 1 when appended. */
static int hold(apply_ctx *c, const uint8_t *v, size_t n, dv_own_kind kind)
{
    if (n == 0 || n > DV_UID_MAX || c->nheld == DV_OWN_MAX)
        return 0;
    for (int k = c->nown; k < c->nheld; k++)
        if (c->own_len[k] == n && c->own_kind[k] == kind && memcmp(c->own[k], v, n) == 0)
            return 0;
    list_append(c->own, c->own_len, c->own_kind, &c->nheld, v, n, kind);
    return 1;
}

/* How two held values of kinds a and b compare for dv_own_same: by their kind's rule when they share it, else
 * byte for byte. */
static dv_own_kind same_kind(unsigned char a, dv_own_kind b)
{
    return a == b ? b : DV_OWN_EXACT;
}

/* 1 when vals[from, to) hold v (n bytes) as a scanner would find it for kind: the same bytes, or a word under the
 * case fold (dv_own_same). */
static int held_in(const char (*vals)[DV_UID_MAX + 1], const size_t *lens, const unsigned char *kinds, int from,
                   int to, const uint8_t *v, size_t n, dv_own_kind kind)
{
    for (int k = from; k < to; k++) {
        if (lens[k] != n)
            continue;
        dv_own_kind sk = same_kind(kinds[k], kind);
        /* Two first bytes that differ beyond bit 0x20 are different under every fold but base64's (the case fold
         * drops only that bit, opaque_ids.c has_case): most values end here, without the call (stop 54). */
        if (n && sk != DV_OWN_BASE64 && (((unsigned char)vals[k][0] ^ v[0]) & 0xDFu))
            continue;
        if (dv_own_same((const uint8_t *)vals[k], v, n, sk))
            return 1;
    }
    return 0;
}

/* One other byte form of a held name (name_forms.h) into foreign[], unless it is there or in own[], or too short
 * (as dv_held_word_long_enough: 4 bytes, two characters of a multi-byte encoding). Never stops the walk. */
static int hold_foreign(void *ud, const uint8_t *v, size_t n, dv_own_kind kind)
{
    apply_ctx *c = ud;
    if (n < 4 || n > DV_UID_MAX || c->nforeign == DV_OWN_SCAN_MAX)
        return 0;
    /* not when a scanner finds it already */
    if (held_in(c->own, c->own_len, c->own_kind, c->nown, c->nheld, v, n, kind) ||
        held_in(c->foreign, c->foreign_len, c->foreign_kind, 0, c->nforeign, v, n, kind))
        return 0;
    list_append(c->foreign, c->foreign_len, c->foreign_kind, &c->nforeign, v, n, kind);
    return 0;
}

/* A best-effort word form: into own[] while it has room (one scan), else foreign[] (hold_foreign), else dropped
 * (never held_overflow). Not when held already. */
static void hold_foreign_or_own(apply_ctx *c, const uint8_t *v, size_t n)
{
    if (held_in(c->own, c->own_len, c->own_kind, c->nown, c->nheld, v, n, DV_OWN_WORD))
        return;
    if (c->nheld < DV_OWN_MAX && n <= DV_UID_MAX)
        hold(c, v, n, DV_OWN_WORD);
    else
        hold_foreign(c, v, n, DV_OWN_WORD);
}

/* Long enough to be the patient's rather than chance: 4 bytes, or 6 digits (an all-digit value shorter than
 * that turns up in any numeric text: sizes, counts, the parts of a date). */
int dv_held_word_long_enough(const uint8_t *v, size_t n)
{
    int digits = 1;
    for (size_t i = 0; i < n && digits; i++)
        digits = v[i] >= '0' && v[i] <= '9';
    return n >= (digits ? 6u : 4u);
}

/* One name part or ID (long enough) into own[] among the words; with no room for it (and not held already) the
 * kept private values cannot be cleared of it: held_overflow, and dv_kept_holds_own fails closed. */
static void hold_form(apply_ctx *c, const uint8_t *v, size_t n, dv_own_kind kind);

/* Is v[0, n), a word or value of the other persons' and places' attributes (hold_others), no one's own: a
 * placeholder (`Anonymized`, `Last Name^First Name`, `Test^Physician`), a common or generic word (`operator`,
 * `General`), a country or a first-order division (Safe Harbor keeps a state: `..., Wien, Austria`), or the
 * instance's Manufacturer written as its institution (`TOSHIBA`)? Holding it emptied or deleted every kept value
 * that says it (stop 51's review: `TOSHIBA contour export`, `Test contour`, `Austria multicentre trial` emptied
 * under Basic). ASCII words only. */
static int generic_word(const uint8_t *v, size_t n);

static int other_is_generic(const apply_ctx *c, const uint8_t *v, size_t n)
{
    if (c->manufacturer_len && n == c->manufacturer_len && strncasecmp((const char *)v, c->manufacturer, n) == 0)
        return 1;
    for (size_t a = 0; a < n;) { /* every word of it generic (`Last Name`) */
        size_t b = a;
        while (b < n && v[b] != ' ')
            b++;
        if (b > a && !generic_word(v + a, b - a))
            return 0;
        a = b + 1;
    }
    return n > 0;
}

/* One ASCII word other_is_generic reads: a placeholder, or a word the lexicon says is common, generic or a
 * country or region. */
static int generic_word(const uint8_t *v, size_t n)
{
    char k[DV_UID_MAX];
    if (n == 0 || n > sizeof k)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] >= 0x80)
            return 0;
        k[i] = (char)(v[i] >= 'a' && v[i] <= 'z' ? v[i] - 0x20 : v[i]);
    }
    static const char *const placeholders[] = {"ANONYMIZED", "ANONYMISED", "ANONYMOUS", "ANON", "UNKNOWN", "NONE",
                                               "OPERATOR", "REMOVED", "DELETED", "REDACTED", "PLACEHOLDER", "TEST"};
    for (size_t i = 0; i < sizeof placeholders / sizeof placeholders[0]; i++)
        if (strlen(placeholders[i]) == n && memcmp(placeholders[i], k, n) == 0)
            return 1;
    uint32_t f = dv_lex_lookup(k, n);
    return (f & (DV_LEX_ENG | DV_LEX_CLINICAL | DV_LEX_NOTNAME | DV_LEX_TITLE | DV_LEX_TRIGGER | DV_LEX_ORGGENERIC |
                 DV_LEX_ORGHEAD | DV_LEX_COUNTRY | DV_LEX_REGION | DV_LEX_STATECODE)) != 0;
}

static void hold_own_word(apply_ctx *c, const uint8_t *v, size_t n)
{
    if (c->hold_others) { /* after the patient's values and their forms, failing closed with no room */
        if (other_is_generic(c, v, n))
            return;
        if (n <= DV_UID_MAX)
            hold_form(c, v, n, DV_OWN_WORD);
        else
            c->held_overflow = 1;
        return;
    }
    if (n <= DV_UID_MAX && c->nheld_words < DV_OWN_WORDS_MAX && c->nheld < DV_OWN_MAX) {
        c->nheld_words += hold(c, v, n, DV_OWN_WORD);
        return;
    }
    for (int k = c->nown; k < c->nheld && n <= DV_UID_MAX; k++)
        if (c->own_len[k] == n && c->own_kind[k] == DV_OWN_WORD && memcmp(c->own[k], v, n) == 0)
            return;
    c->held_overflow = 1;
}

/* One value of a name or ID attribute into own[]. A name (PN) is looked for by its components (family, given,
 * middle... of each representation), each long enough on its own; a vendor writes "SMITH^JOHN" as "Smith, John"
 * or "JOHN SMITH" as often as whole. A component of several words (VAN DER BERG, ANNE MARIE) also by each word
 * long enough: a vendor writes one of them (stop 43's red team: "ZORBAFIELD, QUILLON" of VAN DER
 * ZORBAFIELD^ANNE QUILLON stayed in a blob), and a hyphenated one by each half (stop 51's red team: `Ravel` of
 * Smithson-Ravel stayed in a kept title and a kept private blob). A name with no such component is looked for
 * whole. */
static void hold_word(apply_ctx *c, const uint8_t *v, size_t n, uint16_t vr)
{
    v = dv_apply_trim(v, &n);
    int any = 0;
    if (vr == DV_VR_PN) {
        for (size_t i = 0; i < n;) {
            size_t j = i;
            while (j < n && v[j] != '^' && v[j] != '=')
                j++;
            size_t m = j - i;
            const uint8_t *part = dv_apply_trim(v + i, &m);
            if (dv_held_word_long_enough(part, m)) {
                hold_own_word(c, part, m);
                any = 1;
                int multi = memchr(part, ' ', m) != NULL || memchr(part, '-', m) != NULL;
                for (size_t a = 0; multi && a < m;) { /* its words, and a double-barrelled name's halves */
                    size_t b = a;
                    while (b < m && part[b] != ' ' && part[b] != '-')
                        b++;
                    if (b - a < m && dv_held_word_long_enough(part + a, b - a))
                        hold_own_word(c, part + a, b - a);
                    a = b + 1;
                }
            }
            i = j + 1;
        }
        while (n > 0 && (v[n - 1] == '^' || v[n - 1] == '=' || v[n - 1] == ' '))
            n--;
    }
    if (!any && dv_held_word_long_enough(v, n))
        hold_own_word(c, v, n);
    if (vr == DV_VR_PN)
        return;
    /* an ID's number also alone (id_number.h), as the text stage's deny-list holds it: a blob of an implicit VR
     * file kept `4471902` of PatientID MRN4471902 (stop 37's red team) */
    size_t at, digits = dv_id_number((const char *)v, n, &at);
    if (digits)
        hold_own_word(c, v + at, digits);
}

/* Value v (n bytes) of the name or ID attribute i in its other written form, held after the values as written:
 * from a set other than UTF-8, decoded to UTF-8 (bytes the set lacks read as Latin-1); from UTF-8, encoded as
 * ISO_IR 100 (Latin-1: what a blob kept from before the instance was switched to UTF-8 most often holds). Not
 * held when it does not convert cleanly (a character Latin-1 lacks). -1 out of memory. */
static int hold_recoded(apply_ctx *c, int i, const uint8_t *v, size_t n, dv_charset_ctx *cs)
{
    uint8_t out[DV_CHARSET_ENCODE_BOUND(DV_OWN_WORD_RAW)]; /* the larger of the two bounds */
    size_t len = 0, bad;
    dv_error err;
    int rc;
    dv_charset latin1;
    dv_charset_parse((const uint8_t *)"ISO_IR 100", 10, &latin1);
    if (dv_charset_is_utf8(&c->word_cs)) {
        rc = dv_charset_encode(cs, &latin1, c->word_vr[i], (const char *)v, n, 0, out, sizeof out, &len, &bad, &err);
    } else {
        dv_cs_decoded d;
        rc = dv_charset_decode(cs, &c->word_cs, c->word_vr[i], v, n, (char *)out, sizeof out, &d, &err);
        if (rc == 0 && (d.flags & DV_CS_REPLACED)) {
            /* bytes its set does not have: most often Latin-1 written with no SpecificCharacterSet (the
             * review), read so, as text_stage.c reads a document that is not UTF-8 */
            rc = dv_charset_decode(cs, &latin1, c->word_vr[i], v, n, (char *)out, sizeof out, &d, &err);
            rc = rc == 0 && (d.flags & DV_CS_REPLACED) ? DV_CHARSET_UNENCODABLE : rc;
        }
        len = d.len;
    }
    if (rc < 0 && err.code == DV_ERR_NOMEM)
        return dv_fail(c->err, DV_ERR_NOMEM, "out of memory reading the patient's names");
    if (rc == DV_CHARSET_OK && (len != n || memcmp(out, v, n) != 0))
        hold_word(c, out, len, c->word_vr[i]);
    return 0;
}

/* Each value of the name or ID attribute i, as hold_word takes it; with cs, in its other written form
 * (hold_recoded). -1 out of memory. */
static int hold_values(apply_ctx *c, int i, dv_charset_ctx *cs)
{
    const uint8_t *v = c->word_raw[i], *end = v + c->word_len[i];
    for (;;) { /* value by value */
        const uint8_t *q = memchr(v, '\\', (size_t)(end - v));
        size_t n = (size_t)((q ? q : end) - v);
        if (!cs)
            hold_word(c, v, n, c->word_vr[i]);
        else if (hold_recoded(c, i, v, n, cs) != 0)
            return -1;
        if (!q)
            return 0;
        v = q + 1;
    }
}

/* 1 when a byte of v[0, n) is not ASCII. */
static int has_high_byte(const uint8_t *v, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (v[k] >= 0x80)
            return 1;
    return 0;
}

/* 1 when a byte of the name or ID attribute i is not ASCII, or an ISO 2022 escape. */
static int word_has_high_byte(const apply_ctx *c, int i)
{
    return has_high_byte(c->word_raw[i], c->word_len[i]) || memchr(c->word_raw[i], 0x1B, c->word_len[i]) != NULL;
}

/* One other form of a held value, after every value: into own[] while it has room (one scan), then into foreign[]
 * (hold_foreign: a second scan of each kept value), unless held already; with no room left in either the kept
 * private values cannot be cleared of it: held_overflow (fail closed). */
static void hold_form(apply_ctx *c, const uint8_t *v, size_t n, dv_own_kind kind)
{
    if (n == 0 || n > DV_UID_MAX || held_in(c->own, c->own_len, c->own_kind, c->nown, c->nheld, v, n, kind))
        return;
    /* appended as hold and hold_foreign would, without their second look through own[] */
    if (c->nheld < DV_OWN_MAX)
        list_append(c->own, c->own_len, c->own_kind, &c->nheld, v, n, kind);
    else if (held_in(c->foreign, c->foreign_len, c->foreign_kind, 0, c->nforeign, v, n, kind))
        return;
    else if (c->nforeign < DV_OWN_SCAN_MAX)
        n >= 4 ? list_append(c->foreign, c->foreign_len, c->foreign_kind, &c->nforeign, v, n, kind) : (void)0;
    else
        c->held_overflow = 1;
}

/* dv_name_forms_each's callback: a name's other byte form, as hold_foreign takes one (4 bytes at least), held by
 * hold_form (failing closed with no room). Never stops the walk. */
static int hold_name_form(void *ud, const uint8_t *v, size_t n, dv_own_kind kind)
{
    if (n >= 4 && n <= DV_UID_MAX)
        hold_form(ud, v, n, kind);
    return 0;
}

/* A held date (YYYYMMDD) as vendors' headers also write it, among the other forms (foreign[], held before the
 * names' forms): 19.10.2019, 10/19/2019, 19/10/2019, 2019/10/19, 2019.10.19 (stop 43's red team: a blob's
 * dob=23.07.1961 stayed beside the shifted PatientBirthDate, and gave the shift away). No room: fail closed. */
static void hold_date_forms(apply_ctx *c, const char *d)
{
    const char forms[5][10] = {
        {d[6], d[7], '.', d[4], d[5], '.', d[0], d[1], d[2], d[3]},
        {d[4], d[5], '/', d[6], d[7], '/', d[0], d[1], d[2], d[3]},
        {d[6], d[7], '/', d[4], d[5], '/', d[0], d[1], d[2], d[3]},
        {d[0], d[1], d[2], d[3], '/', d[4], d[5], '/', d[6], d[7]},
        {d[0], d[1], d[2], d[3], '.', d[4], d[5], '.', d[6], d[7]},
    };
    for (int f = 0; f < 5; f++)
        hold_form(c, (const uint8_t *)forms[f], 10, DV_OWN_NUMBER);
}

/* A held date (YYYYMMDD) read: its year, month, day and the month's English name; 0 when no such date. */
static int read_held_date(const char *d, int *y, int *m, int *day, const char **name)
{
    *y = (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0');
    *m = (d[4] - '0') * 10 + (d[5] - '0');
    *day = (d[6] - '0') * 10 + (d[7] - '0');
    *name = dv_month_name(DV_MONTH_EN, DV_MONTH_FULL, *m);
    return *name && *day >= 1 && *day <= 31;
}

/* hold_form of a word form (the month names: compared without case), failing closed with no room. */
static void hold_word_form(apply_ctx *c, const uint8_t *v, size_t n)
{
    hold_form(c, v, n, DV_OWN_WORD);
}

/* A date by its English month, as records, reports and labels write it: `23 Apr 1961`, `23-Apr-1961`,
 * `Apr 23, 1961`, `April 23, 1961`, `23 April 1961` (words: compared without case), each given to put. */
static void hold_month_words(apply_ctx *c, const char *d, void (*put)(apply_ctx *, const uint8_t *, size_t))
{
    int y, m, day;
    const char *name;
    if (!read_held_date(d, &y, &m, &day, &name))
        return;
    char f[32];
#define MONTH_FORM(...) put(c, (const uint8_t *)f, (size_t)snprintf(f, sizeof f, __VA_ARGS__))
    MONTH_FORM("%d %.3s %04d", day, name, y);
    MONTH_FORM("%02d-%.3s-%04d", day, name, y);
    MONTH_FORM("%.3s %d, %04d", name, day, y);
    MONTH_FORM("%s %d, %04d", name, day, y);
    MONTH_FORM("%d %s %04d", day, name, y);
#undef MONTH_FORM
}

/* The patient's birth date in the other forms records write it (stop 49's red team: `23-04-1961`, `04-23-1961`,
 * `23041961`, `23.4.1961`, `23 APR 1961`, `23-APR-1961`, `April 23, 1961` stayed in an unknown element under
 * Basic beside the changed PatientBirthDate): dashes, compact, the day and month without their zeros, and the month
 * by its English name or abbreviation (hold_month_words). Only the birth date: every date's forms would fill the
 * held values (and a full list deletes every kept private value); the others are shifted attributes, the birth date
 * identifies. No room: fail closed (hold_form). */
static void hold_birth_date_forms(apply_ctx *c, const char *d)
{
    int y, m, day;
    const char *name;
    if (!read_held_date(d, &y, &m, &day, &name))
        return;
    char f[32];
#define NUMBER_FORM(...) hold_form(c, (const uint8_t *)f, (size_t)snprintf(f, sizeof f, __VA_ARGS__), DV_OWN_NUMBER)
    NUMBER_FORM("%02d-%02d-%04d", day, m, y);
    NUMBER_FORM("%02d-%02d-%04d", m, day, y);
    NUMBER_FORM("%02d%02d%04d", day, m, y);
    if (day < 10 || m < 10) {
        NUMBER_FORM("%d.%d.%04d", day, m, y);
        NUMBER_FORM("%d/%d/%04d", day, m, y);
        NUMBER_FORM("%d/%d/%04d", m, day, y);
    }
#undef NUMBER_FORM
    hold_month_words(c, d, hold_word_form);
}

/* The held values given encoded forms (dv_held_encoded_forms): the first dates and names and IDs. At most 4 forms
 * each (dv_own_encoded_each): all fit in enc[], one scanner. */
#define DV_ENCODED_DATES 4
#define DV_ENCODED_WORDS 10
_Static_assert(4 * (DV_ENCODED_DATES + DV_ENCODED_WORDS) <= DV_OWN_SCAN_MAX, "enc[] holds every encoded form");

/* dv_own_encoded_each's callback: one encoded form into enc[] (room for all: the bound above). A form two values
 * share (a date's last digit lies in bits base64 leaves out) is held twice, harmlessly. Never stops the walk. */
static int hold_encoded(void *ud, const uint8_t *v, size_t n, dv_own_kind kind)
{
    apply_ctx *c = ud;
    if (n == 0 || n > DV_UID_MAX || c->nenc == DV_OWN_SCAN_MAX)
        return 0;
    list_append(c->enc, c->enc_len, c->enc_kind, &c->nenc, v, n, kind);
    return 0;
}

/* Held values as vendors' software serializes what it stores in a private blob (XML or JSON configuration, a
 * dataset or protocol object, a hex dump): base64 at each of its three alignments and hex (dv_own_encoded_each;
 * stop 49's red team: `Smithson^Harriet 19610423` in base64 stayed in an unknown LO under Basic, and
 * `patient=...;dob=...` in base64 in a kept private OB under DEIDENTIFY_TAG_CONTENTS). The values of own[nown,
 * nvalues) as held, in their case as written: a vendor's copy copies the attribute's bytes, and the other cases
 * would triple the forms. Bounded: the birth date first (also as YYYY-MM-DD), then up to DV_ENCODED_DATES dates
 * in all and DV_ENCODED_WORDS name parts and IDs in dv_held_decide's order (the patient's own name and ID first): at
 * most 56 forms, the rest not encoded (a vendor serializes the patient's own name, ID and dates). */
void dv_held_encoded_forms(apply_ctx *c, int nvalues)
{
    int dates = 0, words = 0;
    if (c->have_dob) {
        /* as held, and as XML's xs:date and JSON write it (stop 50's review: {"dob":"1961-04-23"} in base64 in a
         * kept private OB and an unknown LO was kept); two of the dates' room */
        char iso[10] = {c->dob[0], c->dob[1], c->dob[2], c->dob[3], '-',
                        c->dob[4], c->dob[5], '-', c->dob[6], c->dob[7]};
        dv_own_encoded_each((const uint8_t *)c->dob, 8, hold_encoded, c);
        dv_own_encoded_each((const uint8_t *)iso, sizeof iso, hold_encoded, c);
        dates += 2;
    }
    for (int k = c->nown; k < nvalues; k++) {
        const uint8_t *v = (const uint8_t *)c->own[k];
        int date = c->own_kind[k] == DV_OWN_DATE, word = c->own_kind[k] == DV_OWN_WORD;
        if ((date && (dates == DV_ENCODED_DATES || (c->have_dob && memcmp(v, c->dob, 8) == 0))) ||
            (word && words == DV_ENCODED_WORDS) || !(date || word))
            continue;
        dates += date;
        words += word;
        dv_own_encoded_each(v, c->own_len[k], hold_encoded, c);
    }
}

/* A held name part or ID (UTF-8) in UTF-16, little and big endian, as software on Windows writes its headers
 * (stop 43's red team: "Patient: ZORBAFIELD, QUILLON" in UTF-16LE stayed in a blob). ASCII compares without case
 * (a WORD: the zero bytes compare as they are), anything else exactly. An ASCII word's big-endian form is its
 * little-endian one a byte on, ending before the next character's zero byte: so a UTF-16 word is found also run
 * on into a longer one (an over-match, never a miss). A form over DV_UID_MAX bytes (a part of more than 32
 * characters) is not held. */
static void hold_utf16_forms(apply_ctx *c, const uint8_t *v, size_t n)
{
    uint8_t le[DV_UID_MAX + 4], be[DV_UID_MAX + 4];
    size_t len = 0;
    int ascii = 1;
    for (size_t i = 0; i < n;) {
        int32_t cp = dv_utf8_next(v, n, &i);
        if (cp < 0)
            return; /* not UTF-8: the instance's own single-byte form; its UTF-8 form is held too */
        ascii &= cp < 0x80;
        uint16_t u[2] = {(uint16_t)cp, 0};
        int units = 1;
        if (cp >= 0x10000) {
            u[0] = (uint16_t)(0xD800 + ((cp - 0x10000) >> 10));
            u[1] = (uint16_t)(0xDC00 + ((cp - 0x10000) & 0x3FF));
            units = 2;
        }
        for (int k = 0; k < units; k++) {
            if (len + 2 > DV_UID_MAX)
                return;
            le[len] = (uint8_t)(u[k] & 0xFF), le[len + 1] = (uint8_t)(u[k] >> 8);
            be[len] = (uint8_t)(u[k] >> 8), be[len + 1] = (uint8_t)(u[k] & 0xFF);
            len += 2;
        }
    }
    hold_form(c, le, len, ascii ? DV_OWN_WORD : DV_OWN_EXACT);
    hold_form(c, be, len, ascii ? DV_OWN_WORD : DV_OWN_EXACT);
}

/* Does the plan keep the top-level attribute tag (VR vr) as it is? What it keeps is not held: text naming a kept
 * value is kept with it. */
static int plan_keeps(apply_ctx *c, uint32_t tag, uint16_t vr)
{
    dv_match m;
    return dv_plan_match_memo(c->plan, c->matches, 0, c->ictx, tag, vr, 0, &m) == DV_DEC_KEEP;
}

/* The dates, names and IDs of dv_held_note_values whose attribute the plan does not keep, each once, after the UIDs in
 * own[]: at most DV_OWN_DATES_MAX distinct dates (each in two forms) and DV_OWN_WORDS_MAX names and IDs. A name
 * with a character outside ASCII is also held in its other written form (hold_recoded), after every name as
 * written: a vendor's XML or a percent-encoded address writes M\xfcller of an ISO_IR 100 instance as UTF-8
 * (M%C3%BCller), and a blob kept from before an instance was switched to UTF-8 holds its Latin-1. The values
 * alone: their encoded forms are built when a value first asks (encoded_held), their other forms by dv_held_decide,
 * so a value the text stage cleans (dv_kept_cleaned_text_encodes_own) pays for neither. -1 out of memory. */
int dv_held_decide_values(apply_ctx *c)
{
    c->values_decided = 1;
    c->nenc = c->enc_built = 0;
    for (int i = 0; i < c->ndates; i++) {
        if (plan_keeps(c, c->date_tag[i], c->date_vr[i]))
            continue;
        const char *d = c->date_val[i];
        if (c->nheld_dates == DV_OWN_DATES_MAX) { /* no room: fail closed unless held already */
            int held = 0;
            for (int k = c->nown; k < c->nheld && !held; k++)
                held = c->own_len[k] == 8 && c->own_kind[k] == DV_OWN_DATE && memcmp(c->own[k], d, 8) == 0;
            c->held_overflow |= !held;
            continue;
        }
        if (c->date_tag[i] == DV_TAG_PATIENT_BIRTH_DATE && !c->have_dob) {
            memcpy(c->dob, d, 8);
            c->have_dob = 1;
        }
        if (c->date_tag[i] == DV_TAG_STUDY_DATE && !c->have_study) {
            memcpy(c->study_da, d, 8);
            c->have_study = 1;
        }
        if (!hold(c, (const uint8_t *)d, 8, DV_OWN_DATE))
            continue;
        c->nheld_dates++;
        /* and as XML and most programs write it: 2019-10-19 (a time may follow, after a T or a space) */
        char iso[10] = {d[0], d[1], d[2], d[3], '-', d[4], d[5], '-', d[6], d[7]};
        hold(c, (const uint8_t *)iso, sizeof iso, DV_OWN_NUMBER);
    }
    c->held_overflow |= c->cut_more;
    for (int k = 0; k < c->ncut; k++) {
        c->held_overflow |= !plan_keeps(c, c->cut_tag[k], c->cut_vr[k]);
    }
    /* The patient's own name and ID first, the other IDs (often many, each two words) last: when own[] is full
     * it is full of the values most likely written elsewhere (and held_overflow says it is full). */
    int order[DV_OWN_WORD_TAGS], norder = 0;
    for (int rank = 0; rank < 3; rank++)
        for (int i = 0; i < c->nwordtags; i++)
            if (word_rank(c->word_tag[i]) == rank)
                order[norder++] = i;
    int recode[DV_OWN_WORD_TAGS], nrecode = 0;
    for (int o = 0; o < norder; o++) {
        int i = order[o];
        if (plan_keeps(c, c->word_tag[i], c->word_vr[i]))
            continue;
        c->held_overflow |= c->word_cut[i];
        hold_values(c, i, NULL);
        if (word_has_high_byte(c, i))
            recode[nrecode++] = i;
    }
    int rc = 0;
    if (nrecode) {
        dv_charset_ctx *cs = dv_charset_ctx_new();
        if (!cs)
            return dv_fail(c->err, DV_ERR_NOMEM, "out of memory reading the patient's names");
        for (int k = 0; k < nrecode && rc == 0; k++)
            rc = hold_values(c, recode[k], cs);
        dv_charset_ctx_free(cs);
    }
    if (rc != 0)
        return rc;
    c->nvalues = c->nheld;
    c->recoded = nrecode > 0;
    return 0;
}

/* 1 when v[0, n) is ASCII letters only. */
static int ascii_letters(const uint8_t *v, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (!((v[k] | 0x20) >= 'a' && (v[k] | 0x20) <= 'z'))
            return 0;
    return n > 0;
}

/* The family and given components of the first group of the PN value v[0, ve - v) when both are one ASCII word,
 * the family name of 4 letters or more, and they fit a held value together: the names hold_joined_names runs
 * together (each holds the family name whole, so gather_grams' pieces of it find them too). 1 and *f, *fn, *g,
 * *gn set, or 0. */
static int family_given(const uint8_t *v, const uint8_t *ve, const uint8_t **f, size_t *fn, const uint8_t **g,
                        size_t *gn)
{
    const uint8_t *hat = memchr(v, '^', (size_t)(ve - v)), *eq = memchr(v, '=', (size_t)(ve - v));
    if (!hat || (eq && eq < hat))
        return 0;
    *fn = (size_t)(hat - v);
    *f = dv_apply_trim(v, fn);
    const uint8_t *gv = hat + 1;
    size_t n = 0;
    while (gv + n < ve && gv[n] != '^' && gv[n] != '=')
        n++;
    *g = dv_apply_trim(gv, &n);
    *gn = n;
    return *fn >= 4 && ascii_letters(*f, *fn) && ascii_letters(*g, *gn) && *fn + *gn <= DV_UID_MAX;
}

/* The patient's family and given name run together as user names, e-mail addresses and CamelCase identifiers
 * write them (stop 51's red team F13: `hsmithson@mailhost.org` in a DocumentTitle and `SmithsonHarriet` in a
 * SegmentLabel stayed under Basic): family+given, given+family, the given name's initial before or after the
 * family name, from the first group of each PatientName value the plan changes, when both components are one
 * ASCII word and the family name has 4 letters or more. Words (DV_OWN_WORD): found standing alone, without case.
 * Best effort, after every other form (into own[] while it has room, then foreign[]): they never make the list
 * overflow and fail closed. */
static void hold_joined_names(apply_ctx *c)
{
    for (int i = 0; i < c->nwordtags; i++) {
        if (c->word_tag[i] != DV_TAG_PATIENT_NAME || plan_keeps(c, c->word_tag[i], c->word_vr[i]))
            continue;
        const uint8_t *v = c->word_raw[i], *end = v + c->word_len[i];
        while (v < end) { /* value by value */
            const uint8_t *q = memchr(v, '\\', (size_t)(end - v)), *f, *gv;
            size_t fn, gn;
            if (family_given(v, q ? q : end, &f, &fn, &gv, &gn)) {
                uint8_t j[DV_UID_MAX];
                memcpy(j, f, fn); /* family + given, family + initial */
                memcpy(j + fn, gv, gn);
                if (gn >= 2)
                    hold_foreign_or_own(c, j, fn + gn);
                hold_foreign_or_own(c, j, fn + 1);
                j[0] = gv[0]; /* initial + family, given + family */
                memcpy(j + 1, f, fn);
                hold_foreign_or_own(c, j, fn + 1);
                if (gn >= 2) {
                    memcpy(j, gv, gn);
                    memcpy(j + gn, f, fn);
                    hold_foreign_or_own(c, j, gn + fn);
                }
            }
            v = q ? q + 1 : end;
        }
    }
}

/* A telephone number's digits, v[0, n) without its punctuation, into d (at most DV_UID_MAX): how many. */
static size_t phone_digits(const uint8_t *v, size_t n, char d[DV_UID_MAX])
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < DV_UID_MAX; i++)
        if (v[i] >= '0' && v[i] <= '9')
            d[k++] = (char)v[i];
    return k;
}

/* A telephone number's digits as numbers are written without their punctuation: all of them (7 or more), and of 10
 * or more the last 7, the local number, also as NNN-NNNN (617-555-0143 as `6175550143`, `5550143`, `555-0143`),
 * as the text stage's deny-list holds a phone number (denylist.c). The value as written is held by hold_word. */
static void hold_phone_digits(apply_ctx *c, const uint8_t *v, size_t n)
{
    char d[DV_UID_MAX];
    size_t k = phone_digits(v, n, d);
    if (k < 7)
        return;
    hold_form(c, (const uint8_t *)d, k, DV_OWN_NUMBER);
    if (k < 10)
        return;
    const char *l = d + k - 7;
    char dash[8] = {l[0], l[1], l[2], '-', l[3], l[4], l[5], l[6]};
    hold_form(c, (const uint8_t *)l, 7, DV_OWN_NUMBER);
    hold_form(c, (const uint8_t *)dash, sizeof dash, DV_OWN_NUMBER);
}

/* The other persons' and places' values (own_tag_kind) whose attribute the plan does not keep, held after the
 * patient's values and all their forms (hold_form: own[] while it has room, then foreign[], failing closed with
 * none: the patient's own come first), as words: a name by its components and their words as the patient's
 * (hold_word), an address by its lines and comma-separated parts (`42 Larkspur Lane`), an institution whole, a
 * telephone number as written and by its digits (hold_phone_digits). An attribute the plan keeps (a keepTag, a
 * profile keeping InstitutionName) is not held: what names a kept institution is kept too. */
static void hold_others(apply_ctx *c)
{
    if (c->other_cut_tag && !plan_keeps(c, c->other_cut_tag, c->other_cut_vr))
        c->held_overflow = 1; /* a value changed that could not be held (stop 51's review: it was skipped) */
    c->hold_others = 1;
    int mn = dv_instance_get_string(c->inst, DV_TAG_MANUFACTURER, c->manufacturer, sizeof c->manufacturer);
    c->manufacturer_len = mn > 0 ? strlen(c->manufacturer) : 0;
    while (c->manufacturer_len && c->manufacturer[c->manufacturer_len - 1] == ' ')
        c->manufacturer_len--;
    for (int i = 0; i < c->nothers; i++) {
        if (plan_keeps(c, c->other_tag[i], c->other_vr[i]))
            continue;
        const uint8_t *v = c->other_v[i];
        size_t n = c->other_len[i];
        int kind = c->other_kind[i];
        for (size_t a = 0; a < n;) { /* value by value; an address also part by part */
            size_t b = a;
            while (b < n && v[b] != '\\' &&
                   !(kind == OTHER_PLACE && (v[b] == ',' || v[b] == ';' || v[b] == '\n' || v[b] == '\r' || v[b] == '^')))
                b++;
            hold_word(c, v + a, b - a, kind == OTHER_PERSON ? DV_VR_PN : DV_VR_LO);
            if (kind == OTHER_PHONE)
                hold_phone_digits(c, v + a, b - a);
            a = b + 1;
        }
    }
    c->hold_others = 0;
}

/* The held values (dv_held_decide_values) and their other forms (own[] grows meanwhile: the values are own[nown,
 * nvalues)), after them in own[], then in foreign[]. -1 out of memory. */
int dv_held_decide(apply_ctx *c)
{
    c->held_decided = 1;
    if (!c->values_decided && dv_held_decide_values(c) != 0)
        return -1;
    int nvalues = c->nvalues, rc = 0;
    /* The other forms, each failing closed with no room (hold_form), but the Greek accent guesses, last and best
     * effort. First each name part held in UTF-8 with a character outside ASCII in the encodings vendors write
     * their blobs in (name_forms.h; stop 37's review: only the Latin-1 form was looked for; a part that is not
     * UTF-8, the instance's own single-byte form, gives none); stop 43's review: held after the date and UTF-16
     * forms, they could be dropped without a word. Then each date as headers write it, each name part and ID in
     * UTF-16. */
    dv_name_forms *made = NULL, *nf = NULL;
    if (c->recoded) {
        nf = c->forms_worker ? dv_text_worker_name_forms(c->forms_worker) : NULL;
        if (!nf && !(nf = made = dv_name_forms_new()))
            return dv_fail(c->err, DV_ERR_NOMEM, "out of memory reading the patient's names");
        for (int k = c->nown; k < nvalues; k++)
            if (c->own_kind[k] == DV_OWN_WORD && has_high_byte((const uint8_t *)c->own[k], c->own_len[k]))
                dv_name_forms_each(nf, (const uint8_t *)c->own[k], c->own_len[k], hold_name_form, c);
    }
    for (int k = c->nown; k < nvalues; k++)
        if (c->own_kind[k] == DV_OWN_DATE)
            hold_date_forms(c, c->own[k]);
    if (c->have_dob)
        hold_birth_date_forms(c, c->dob);
    /* the study date, the date shift's anchor, by its English month too (stop 51's red team F15: `5 March 2020` in
     * a SegmentLabel stayed under Basic beside the emptied StudyDate), best effort: the other dates' forms would
     * fill the list, and these never make it fail closed */
    if (c->have_study && !(c->have_dob && memcmp(c->study_da, c->dob, 8) == 0))
        hold_month_words(c, c->study_da, hold_foreign_or_own);
    for (int k = c->nown; k < nvalues; k++)
        if (c->own_kind[k] == DV_OWN_WORD)
            hold_utf16_forms(c, (const uint8_t *)c->own[k], c->own_len[k]);
    hold_others(c);
    for (int k = c->nown; nf && k < nvalues; k++) /* then the accents a Greek name in capitals lost */
        if (c->own_kind[k] == DV_OWN_WORD && has_high_byte((const uint8_t *)c->own[k], c->own_len[k]))
            dv_name_forms_accented_each(nf, (const uint8_t *)c->own[k], c->own_len[k], hold_foreign, c);
    hold_joined_names(c);
    dv_name_forms_free(made);
    return rc;
}
