/* dv_apply: walk one instance's dataset and carry out the plan's decisions, in place.
 *
 * All state lives on the stack or in the instance (its arena), so any number of threads can apply one plan
 * with one key to different instances. The walk recurses into sequence items; the reader already capped the
 * nesting depth, so the recursion is bounded. Error messages name tags, never values. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dicomveil/dicomveil.h"
#include "engine/dv_plan.h"
#include "engine/match_memo.h"
#include "engine/opaque_ids.h"
#include "util/dv_grow.h"
#include "engine/document_text.h"
#include "engine/dv_result_internal.h"
#include "dicom/dv_uid_syntax.h"
#include "dicom/dv_vr.h"
#include "dict/dv_dict.h"
#include "dict/dv_tags.h"
#include "dicom/dv_charset.h"
#include "engine/apply_internal.h"

/* A UI value bigger than this is not a list of UIDs but an attack or a corruption: refuse the instance
 * rather than keep it (privacy) or read it without bound (memory). */
#define DV_UI_VALUE_MAX (64u * 1024u)

static void make_empty(apply_ctx *c, dv_elem *e)
{
    if (dv_elem_is_empty(e))
        return;
    dv_elem_set_empty(e);
    c->changed = 1;
}

/* Replace the value, noting whether anything actually changed (so "keep" outcomes do not add markers). */
static int replace_value(apply_ctx *c, dv_elem *e, uint16_t vr, const void *v, size_t n)
{
    if (dv_elem_value_equals(e, vr, v, n))
        return 0;
    if (n == 0) {
        dv_elem_set_empty(e);
    } else if (dv_elem_set_value(c->inst, e, v, n) != 0) {
        return dv_fail(c->err, DV_ERR_LIMIT, "metadata memory limit reached replacing " TAGF, TAGA(e->tag));
    }
    e->vr = vr;
    c->changed = 1;
    return 0;
}

/* Load a UI value (inline or bulk) into a malloc'd buffer; *buf is NULL for an empty value. */
static int load_ui(apply_ctx *c, const dv_elem *e, uint8_t **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    if (e->length == 0)
        return 0;
    if (e->length > DV_UI_VALUE_MAX || e->length == DV_UNDEFINED_LENGTH) /* a cap is a limit (issue 5 item 12) */
        return dv_fail(c->err, DV_ERR_LIMIT, "UI value at " TAGF " exceeds the %u-byte limit", TAGA(e->tag),
                       DV_UI_VALUE_MAX);
    uint8_t *b = malloc((size_t)e->length);
    if (!b)
        return dv_fail(c->err, DV_ERR_NOMEM, "out of memory reading " TAGF, TAGA(e->tag));
    if (dv_elem_read_value(c->inst, e, b, e->length) != 0) { /* inline, bulk or external */
        free(b);
        return dv_fail(c->err, DV_ERR_IO, "cannot read the value of " TAGF, TAGA(e->tag));
    }
    *buf = b;
    *len = (size_t)e->length;
    return 0;
}

/* Values of up to this many UIDs are regenerated into a buffer on the stack (every real one), longer ones into
 * a malloc'd buffer. */
#define REGEN_STACK_VALUES 8

/* The bytes of a UI value: an inline one where it is, a bulk or external one loaded (and capped) by load_ui into
 * *loaded, which the caller frees (NULL when nothing was loaded). */
static int ui_value(apply_ctx *c, const dv_elem *e, const uint8_t **v, size_t *len, uint8_t **loaded)
{
    *loaded = NULL;
    *v = e->length <= DV_UI_VALUE_MAX ? dv_elem_inline_value(e) : NULL;
    *len = (size_t)e->length;
    if (*v)
        return 0;
    if (load_ui(c, e, loaded, len) != 0)
        return -1;
    *v = *loaded;
    return 0;
}

/* e's value becomes old (len bytes, read before) with the values mode selects regenerated. */
static int rewrite_uids(apply_ctx *c, dv_elem *e, const uint8_t *old, size_t len, dv_uid_regen mode)
{
    if (len == 0)
        return 0; /* an empty UI stays empty */
    uint8_t stack[REGEN_STACK_VALUES * (DV_UID_MAX + 1) + 2], *nv = NULL;
    long n = dv_uid_regenerate_into(c->key, c->uid_memo, old, len, mode, stack, sizeof stack);
    size_t nlen = n > 0 ? (size_t)n : 0;
    if (n < 0 && dv_uid_regenerate_value(c->key, c->uid_memo, old, len, mode, &nv, &nlen) != 0)
        return dv_fail(c->err, DV_ERR_NOMEM, "out of memory regenerating " TAGF, TAGA(e->tag));
    const uint8_t *regen = n < 0 ? nv : stack;
    c->uid_replaced |= !dv_elem_value_equals(e, DV_VR_UI, regen, nlen);
    int rc = replace_value(c, e, DV_VR_UI, regen, nlen);
    free(nv);
    return rc;
}

static int regen_uid(apply_ctx *c, dv_elem *e)
{
    const uint8_t *old;
    size_t len;
    uint8_t *loaded;
    if (ui_value(c, e, &old, &len, &loaded) != 0)
        return -1;
    int rc = rewrite_uids(c, e, old, len, DV_UID_REGEN_ALL);
    free(loaded);
    return rc;
}

/* 1 when a value of v (len bytes, `\` between values, padding trimmed) is one of the instance's own primary IDs
 * that the plan regenerates. */
static int names_own_primary_id(const apply_ctx *c, const uint8_t *v, size_t len)
{
    if (len == 0)
        return 0;
    for (const uint8_t *p = v, *end = v + len;;) { /* value by value (memchr: every kept UI value pays this) */
        const uint8_t *q = memchr(p, '\\', (size_t)(end - p));
        size_t n = (size_t)((q ? q : end) - p);
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\0'))
            n--;
        for (int k = 0; k < c->nown; k++)
            if (n == c->own_len[k] && memcmp(p, c->own[k], n) == 0)
                return 1;
        if (!q)
            return 0;
        p = q + 1;
    }
}

/* The first bytes (at most cap, *n of them) of e's value: inline where it is, else read into buf (a bulk value:
 * under an inline threshold smaller than the value). NULL (*n 0) when empty or unreadable: the walk meets the same
 * value again and fails its instance there. */
const uint8_t *dv_apply_value_head(apply_ctx *c, const dv_elem *e, uint8_t *buf, size_t cap, size_t *n)
{
    *n = e->length < cap ? (size_t)e->length : cap;
    if (*n == 0 || (e->flags & (DV_ELEM_SEQUENCE | DV_ELEM_ENCAPSULATED)))
        return *n = 0, NULL;
    const uint8_t *v = dv_elem_inline_value(e);
    if (v)
        return v;
    uint64_t off;
    const dv_source *src = dv_elem_source(c->inst, e, &off);
    if (!src || src->read_at(src->ctx, off, buf, *n) != 0)
        return *n = 0, NULL;
    return buf;
}

/* The instance's own Study, Series and SOP Instance UIDs (top level, as read) that the plan regenerates. A kept
 * UI value equal to one (a FrameOfReferenceUID a writer set to the StudyInstanceUID, a vendor's private copy of
 * the series UID) is regenerated as well: kept, the output named its source study beside the new one under
 * KEEP_ALL and DEIDENTIFY_TAG_CONTENTS. The keyed function makes it the UID its primary ID became.
 * [test_engine: test_kept_ui_naming_own_primary_id] */
static void own_primary_ids(apply_ctx *c)
{
    c->nown = 0;
    c->own_min = SIZE_MAX;
    for (int i = 0; i < DV_PLAN_OWN_IDS; i++) {
        if (!(c->plan->regen_own_ids & (1u << i))) /* the plan's decision, made once (dv_plan.h) */
            continue;
        const dv_elem *e = dv_ds_find(&c->inst->ds, dv_plan_own_ids[i]);
        if (!e || dv_elem_is_sequence(e))
            continue;
        /* Its first value, as dv_elem_uid_text reads it (up to a NUL or backslash, trailing spaces off), read
         * wherever it is (a bulk value: an inline threshold under 64 bytes). One longer than a UID (malformed)
         * is looked for by its first DV_UID_MAX bytes. */
        uint8_t buf[DV_UID_MAX + 1];
        size_t n;
        const uint8_t *v = dv_apply_value_head(c, e, buf, sizeof buf, &n);
        const uint8_t *stop = v && n ? memchr(v, '\0', n) : NULL;
        n = stop ? (size_t)(stop - v) : n;
        stop = v && n ? memchr(v, '\\', n) : NULL;
        n = stop ? (size_t)(stop - v) : n;
        while (n > 0 && v[n - 1] == ' ')
            n--;
        if (n == 0)
            continue;
        c->own_kind[c->nown] = n > DV_UID_MAX ? DV_OWN_PREFIX : DV_OWN_NUMBER;
        n = n > DV_UID_MAX ? DV_UID_MAX : n;
        memcpy(c->own[c->nown], v, n);
        c->own[c->nown][n] = '\0';
        c->own_len[c->nown++] = n;
        c->own_min = n < c->own_min ? n : c->own_min;
    }
}


/* A UI value the plan keeps reaches the output only as UIDs: a value that is not one (a name, an MRN after a
 * registry UID, text behind a NUL) is regenerated by the keyed function, as if U, so the same text maps alike in
 * every instance and a reference to it stays one; the values that are UIDs stay. A value of UIDs keeps its bytes:
 * the check is one byte loop, only where a UI value is kept (docs/decisions.md "Kept UIDs are UIDs").
 * [test_engine: test_kept_ui_not_uid, test_kept_primary_id_not_uid, test_keep_tag_keeps_ui_text] */
static int keep_ui(apply_ctx *c, dv_elem *e, const dv_match *m)
{
    if (dv_apply_kept_by_keep_tag(m))
        return 0;
    const uint8_t *v;
    size_t len;
    uint8_t *loaded;
    if (ui_value(c, e, &v, &len, &loaded) != 0)
        return -1;
    /* A date or the patient's ID in a kept UID (docs/decisions.md "A kept UID holding a date or the patient's ID is
     * regenerated"); not under primaryIds KEEP (plan.c): the output names its source study by its UIDs then, and a
     * reference must still name what its target kept. */
    int dated = c->plan->regen_dated_uids && dv_ui_value_holds_date(v, len);
    int rc = c->plan->primary_ids != DV_PRIMARY_KEEP ? dv_kept_ui_holds_patient(c, v, len) : 0;
    if (rc < 0) {
        free(loaded);
        return -1;
    }
    if (rc || (c->nown && names_own_primary_id(c, v, len))) {
        rc = rewrite_uids(c, e, v, len, DV_UID_REGEN_ALL);
    } else if (dated || !dv_ui_value_valid(v, len)) {
        rc = rewrite_uids(c, e, v, len, dated ? DV_UID_REGEN_DATED : DV_UID_REGEN_NOT_UIDS);
    } else if (e->vr != DV_VR_UI) {
        /* UIDs written with another VR (LO, SH, UN...): the same UIDs, written as UI with UI's padding, so the
         * output names its UIDs with the VR the standard gives them. [test_engine: test_uid_written_as_text] */
        while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\0'))
            len--;
        rc = replace_value(c, e, DV_VR_UI, v, len);
    }
    free(loaded);
    return rc;
}

/* The index k of the instance's own primary UID (own[k], k < nown) standing whole at v[i] of v[0, len): no digit
 * before or after it, nor a full stop with a digit beyond it (1.2.3 is not in 1.2.3.4 nor in 9.1.2.3); -1 none. */
static int own_uid_at(const apply_ctx *c, const uint8_t *v, size_t len, size_t i)
{
    if (i > 0 && (dv_apply_is_digit(v[i - 1]) || (v[i - 1] == '.' && i > 1 && dv_apply_is_digit(v[i - 2]))))
        return -1;
    for (int k = 0; k < c->nown; k++) {
        size_t n = c->own_len[k], j = i + n;
        if (c->own_kind[k] != DV_OWN_NUMBER || n > len - i || memcmp(v + i, c->own[k], n) != 0)
            continue;
        if (j < len && (dv_apply_is_digit(v[j]) || (v[j] == '.' && j + 1 < len && dv_apply_is_digit(v[j + 1]))))
            continue;
        return k;
    }
    return -1;
}

/* Values of text VRs this long are looked at for a primary UID when kept (a longer one is a report kept whole). */
#define DV_KEPT_TEXT_MAX (1u << 20)

/* b[0, *n) with each value (`\` between values, for a multi-valued VR) cut to vr's most characters, counted as
 * bytes: a UID regenerated into a value can make it longer than its VR allows. A value cut there also loses the
 * bytes of 0x80 and above before the cut, so that no multi-byte character is left half. */
static void cut_values(uint8_t *b, size_t *n, uint16_t vr)
{
    size_t max = dv_vr_max_chars(vr), w = 0, start = 0;
    int multi = vr != DV_VR_LT && vr != DV_VR_ST && vr != DV_VR_UT, cut = 0;
    if (max == 0)
        return;
    for (size_t i = 0; i <= *n; i++) {
        if (i == *n || (multi && b[i] == '\\')) {
            while (cut && w > start && (b[w - 1] & 0x80))
                w--;
            if (i < *n)
                b[w++] = '\\';
            start = w;
            cut = 0;
            continue;
        }
        if (w - start >= max) {
            cut = 1;
            continue;
        }
        b[w++] = b[i];
    }
    *n = w;
}

/* Append p[0, k) to the growing buffer *out (*n bytes of *cap). 0, or -1 out of memory (*out kept). */
static int append(uint8_t **out, size_t *n, size_t *cap, const void *p, size_t k)
{
    if (dv_grow(out, cap, *n + k, 1, 256) != 0)
        return -1;
    if (k)
        memcpy(*out + *n, p, k);
    *n += k;
    return 0;
}

/* A VR whose values may hold a UID among other text (LO LT SH ST UC UT; not a name, date, age or AE title), or the
 * EncapsulatedDocument. */
static int holds_free_text(uint16_t vr, uint32_t tag)
{
    return vr == DV_VR_LO || vr == DV_VR_LT || vr == DV_VR_SH || vr == DV_VR_ST || vr == DV_VR_UC ||
           vr == DV_VR_UT || tag == DV_TAG_ENCAPSULATED_DOCUMENT;
}

/* A standard text value the plan keeps as it is (a StudyDescription or ImageComments naming the study by its UID,
 * under KEEP_ALL or where a table keeps the attribute) keeps naming the source study beside the regenerated
 * StudyInstanceUID. Where the plan regenerates the primary IDs, each of the instance's own that stands whole in it
 * becomes what it became (the keyed function), as in a kept UI value (keep_ui) and in cleaned text (text_stage.c
 * swap_uids); the value is then cut to its VR's length. An EncapsulatedDocument kept as it is (OB) is treated
 * alike when it is a text document (dv_doc_is_text: a PDF's bytes cannot change length). PN values (no UIDs),
 * private values (dv_kept_holds_own) and a keepTag's element stay. 1 when the value was rewritten, 0 not, -1 error.
 * docs/decisions.md "A kept UI naming the instance's own primary ID is regenerated".
 * [test_engine: test_kept_text_naming_own_uid] */
static int keep_text(apply_ctx *c, dv_elem *e, const dv_match *m, uint16_t vr)
{
    if (e->length < c->own_min || e->length > DV_KEPT_TEXT_MAX || dv_apply_kept_by_keep_tag(m))
        return 0;
    const uint8_t *v = dv_elem_inline_value(e);
    uint8_t *loaded = NULL;
    size_t len = (size_t)e->length;
    if (!v) {
        if (!(loaded = malloc(len)))
            return dv_fail(c->err, DV_ERR_NOMEM, "out of memory reading " TAGF, TAGA(e->tag));
        if (dv_elem_read_value(c->inst, e, loaded, len) != 0) {
            free(loaded);
            return dv_fail(c->err, DV_ERR_IO, "cannot read the value of " TAGF, TAGA(e->tag));
        }
        v = loaded;
    }
    if (e->tag == DV_TAG_ENCAPSULATED_DOCUMENT && !dv_doc_is_text(v, len)) {
        free(loaded);
        return 0;
    }
    uint8_t *out = NULL;
    size_t n = 0, cap = 0, copied = 0;
    int rc = 0;
    for (const uint8_t *dot = memchr(v, '.', len); dot && rc == 0;) { /* a UID has a dot: most values have none */
        size_t i = (size_t)(dot - v), from = i;
        while (from > copied && dv_apply_is_digit(v[from - 1]))
            from--; /* the start of the run of digits before the dot */
        int k = own_uid_at(c, v, len, from);
        size_t next = i + 1;
        if (k >= 0) {
            char rep[DV_UID_MAX + 1];
            size_t rn = dv_uid_regenerate_memo(c->key, c->uid_memo, c->own[k], c->own_len[k], rep);
            if (append(&out, &n, &cap, v + copied, from - copied) || append(&out, &n, &cap, rep, rn))
                rc = dv_fail(c->err, DV_ERR_NOMEM, "out of memory rewriting " TAGF, TAGA(e->tag));
            copied = next = from + c->own_len[k];
        }
        dot = next < len ? memchr(v + next, '.', len - next) : NULL;
    }
    if (rc == 0 && out) {
        if (append(&out, &n, &cap, v + copied, len - copied)) {
            rc = dv_fail(c->err, DV_ERR_NOMEM, "out of memory rewriting " TAGF, TAGA(e->tag));
        } else {
            while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\0'))
                n--;
            cut_values(out, &n, vr);
            rc = replace_value(c, e, vr, out, n) ? -1 : 1;
        }
    }
    free(out);
    free(loaded);
    return rc;
}



/* The days blob_uid_dates shifts by, once an instance: the run's date shift (DECISIONS 12: HMAC of the key and the
 * patient's ID as read, or of the study's UID when it has none), so a shifted date in a vendor's UID agrees with the
 * shifted attributes under the default shift. */
static int blob_shift_days(apply_ctx *c)
{
    if (c->blob_days)
        return c->blob_days;
    dv_text_instance ti = {0};
    ti.run_key = dv_key_bytes(c->key, &ti.run_key_len);
    for (int i = 0; i < c->nwordtags && !ti.patient_id_len; i++)
        if (c->word_tag[i] == 0x00100020u && !c->word_cut[i]) { /* PatientID, its first value */
            const uint8_t *v = c->word_raw[i];
            const uint8_t *bs = memchr(v, '\\', c->word_len[i]);
            ti.patient_id_len = bs ? (size_t)(bs - v) : c->word_len[i];
            ti.patient_id = (const char *)dv_apply_trim(v, &ti.patient_id_len);
        }
    char study[DV_UID_MAX + 1];
    if (!ti.patient_id_len && dv_instance_get_string(c->inst, DV_TAG_STUDY_INSTANCE_UID, study, sizeof study) > 0) {
        /* as read, where the walk changed it */
        ti.study_uid = c->nown && (c->plan->regen_own_ids & 1u) ? c->own[0] : study;
        ti.study_uid_len = strlen(ti.study_uid);
    }
    const dv_xform run_shift = {.kind = DV_XF_DATE_SHIFT}; /* the run's key: the default shift */
    c->blob_days = dv_text_shift_days(&run_shift, &ti);    /* its one rule: PatientID, else the study's UID */
    if (!c->blob_days)
        c->blob_days = 1; /* no ID at all: any shift hides the date */
    return c->blob_days;
}

/* A private value kept as it is may hold UIDs built from a date and a time: a Siemens CSA header's protocol names
 * its localiser images 1.3.12.2.1107.5.2.32.35131.2014031012405855226785388, the study's date and time in them
 * (stop 44's audit: 9 outputs of the shared corpus under DEIDENTIFY_TAG_CONTENTS). Its bytes cannot be rewritten
 * but where they keep their length, so each such date is shifted in place (uid_dates.c), where the plan changes
 * the dates (regen_dated_uids); the vendor's layout, and everything else the header holds, stays. Values over
 * BLOB_DATES_MAX are not looked at. [test_engine: test_private_blob_uid_dates] */
#define BLOB_DATES_MAX (1u << 20)
static int blob_uid_dates(apply_ctx *c, dv_elem *e)
{
    if (e->length < 24 || e->length > BLOB_DATES_MAX || (e->flags & (DV_ELEM_SEQUENCE | DV_ELEM_ENCAPSULATED)))
        return 0;
    const uint8_t *iv = dv_elem_inline_value(e);
    if (iv && dv_uid_dates_count(iv, (size_t)e->length) == 0) /* most: no copy */
        return 0;
    size_t n = (size_t)e->length;
    uint8_t *b = malloc(n);
    if (!b)
        return dv_fail(c->err, DV_ERR_NOMEM, "out of memory reading " TAGF, TAGA(e->tag));
    if (iv) {
        memcpy(b, iv, n);
    } else if (dv_elem_read_value(c->inst, e, b, e->length) != 0) {
        free(b);
        return dv_fail(c->err, DV_ERR_IO, "cannot read the value of " TAGF, TAGA(e->tag));
    } else if (dv_uid_dates_count(b, n) == 0) { /* a bulk value without any: left as it is */
        free(b);
        return 0;
    }
    int rc = 0;
    size_t u = n;
    while (u > 0 && (b[u - 1] == ' ' || b[u - 1] == '\0'))
        u--;
    if (dv_ui_value_valid(b, u)) {
        /* The value is UIDs (a vendor's copy of a FrameOfReferenceUID): regenerated as the same UIDs kept in a UI
         * element are (keep_ui), so the copy and the attribute still agree (the review: shifted in place, they
         * did not), in the element's own VR. */
        uint8_t *nv = NULL;
        size_t nlen = 0;
        if (dv_uid_regenerate_value(c->key, c->uid_memo, b, u, DV_UID_REGEN_DATED, &nv, &nlen) != 0)
            rc = dv_fail(c->err, DV_ERR_NOMEM, "out of memory regenerating " TAGF, TAGA(e->tag));
        else if (nlen > 0 && nv[nlen - 1] == '\0' && e->vr != DV_VR_UI && e->vr != DV_VR_UN && e->vr != DV_VR_OB)
            nv[nlen - 1] = ' '; /* a text VR's padding */
        if (rc == 0 && (nlen != n || memcmp(nv, b, n) != 0)) {
            c->uid_replaced = 1;
            rc = replace_value(c, e, e->vr, nv, nlen);
        }
        free(nv);
    } else if (dv_uid_dates_shift(b, n, blob_shift_days(c))) {
        rc = replace_value(c, e, e->vr, b, n);
    }
    free(b);
    return rc;
}


/* The pixel data and its offset table: the pixel stage's, not searched (their samples are no text). The rest of
 * group 7FE0 (the retired CoefficientsSDVN/SDHN/SDDN) is not: stop 38's red team found them keeping the
 * patient's name and ID when the whole group was skipped. */
static int is_pixel_data(uint32_t tag)
{
    return tag == DV_TAG_PIXEL_DATA || tag == DV_TAG_FLOAT_PIXEL_DATA || tag == DV_TAG_DOUBLE_FLOAT_PIXEL_DATA ||
           tag == DV_TAG_EXTENDED_OFFSET_TABLE || tag == DV_TAG_EXTENDED_OFFSET_TABLE_LENGTHS;
}

/* Is e (tag, its effective VR, the plan's decision d) a value dv_kept_holds_own looks at? A private value; a kept
 * address (UR); and, kept as they are, a standard value of an opaque VR (OB, OW, OD, OF, OL, OV, UN:
 * DataSetTrailingPadding copying the header, a retired CurveData, an attribute written as UN) and an attribute
 * PS3.6 does not list (a bogus or newer tag in the patient's group), which stop 37's red team found keeping the
 * patient's name, ID and true study date beside the changed ones. Not the pixel data (is_pixel_data: the pixel
 * stage's) nor an EncapsulatedDocument (the text stage regenerates the UIDs it names); but pixel data nested in a
 * sequence (depth > 0: an icon, or bytes a sequence the profile keeps carries) is no frame the pixel stage redacts,
 * and is looked at as any opaque value (stop 49's red team: `Smithson^Harriet 19610423` as a PixelData in an
 * AnatomicRegionSequence item stayed under Basic). */
static int scanned_for_own(uint32_t tag, uint16_t vr, dv_decision d, uint32_t depth)
{
    if (DV_TAG_IS_PRIVATE(tag) || vr == DV_VR_UR)
        return 1;
    if (d != DV_DEC_KEEP || (is_pixel_data(tag) && depth == 0) || tag == DV_TAG_ENCAPSULATED_DOCUMENT)
        return 0;
    switch (vr) {
    case DV_VR_OB: case DV_VR_OW: case DV_VR_OD: case DV_VR_OF: case DV_VR_OL: case DV_VR_OV: case DV_VR_UN:
        return 1;
    default:
        return dv_dict_lookup(tag) == NULL;
    }
}

/* Is e (its match m and decision d) a standard free-text value the profile keeps as it is (plan.c kept_free_text:
 * the Basic profile's attributes without a row, DEIDENTIFY_TAG_CONTENTS's codes)? Such a value is looked at for the
 * instance's own names, IDs and dates as a private one is (dv_kept_holds_own), and emptied on a hit (own_hit). Stop
 * 49's red team found the patient's name kept in DocumentTitle, SegmentDescription, ContentDescription,
 * ContentLabel and ReferencedFileID under Basic. A keepTag's value, and every value of the other profiles, stay. */
static int profile_kept_text(const dv_match *m, dv_decision d)
{
    return d == DV_DEC_KEEP && m->source == DV_MATCH_PROFILE && m->free_text;
}

/* Is tag, a name field the profile keeps (DV_FREE_NAME) in item ds of sequence parent, the value or meaning of a
 * code of a coding scheme PS3.16 defines (DCM, SCT, SRT, LN, UCUM, FMA, NCIt)? Its meaning is the scheme's
 * (`Chest`, `Localizer`), no name anyone chose: not looked at (every CT carries a few). A local scheme's code
 * (99ACME, 99LOCAL: stop 51's red team, `Harriet Smithson MRN4471902 cohort`) is, and so is every code of an
 * earlier DeidentificationMethodCodeSequence (its tool wrote `Basic for Smithson` as a DCM code's meaning). */
static int standard_code(const dv_ds *ds, uint32_t parent, uint32_t tag)
{
    if ((tag != DV_TAG_CODE_VALUE && tag != DV_TAG_CODE_MEANING && tag != DV_TAG_LONG_CODE_VALUE) ||
        parent == DV_TAG_DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
        return 0;
    const dv_elem *s = dv_ds_find(ds, DV_TAG_CODING_SCHEME_DESIGNATOR);
    const uint8_t *v = s && s->length >= 2 && s->length <= 4 ? dv_elem_inline_value(s) : NULL;
    if (!v)
        return 0;
    char d[5] = {0};
    memcpy(d, v, (size_t)s->length);
    if (d[s->length - 1] == ' ')
        d[s->length - 1] = '\0';
    static const char schemes[][5] = {"DCM", "SCT", "SRT", "LN", "UCUM", "FMA", "NCIt"};
    for (size_t k = 0; k < sizeof schemes / sizeof schemes[0]; k++)
        if (!memcmp(d, schemes[k], sizeof d))
            return 1;
    return 0;
}

/* What a profile-kept text value (profile_kept_text) holding one of the instance's own values becomes: emptied,
 * or where its IOD requires a value (Type 1) the placeholder, so the output stays valid (DECISIONS 4). An earlier
 * DeidentificationMethod is emptied: the markers write the plan's values into it (markers.c), so it has one. */
static dv_decision own_hit(dv_iod_ctx ctx, uint32_t tag)
{
    if (tag == DV_TAG_DEIDENTIFICATION_METHOD)
        return DV_DEC_EMPTY;
    dv_attr_type t = dv_iod_type(ctx, tag);
    return t == DV_ATTR_1 || t == DV_ATTR_1C ? DV_DEC_DUMMY : DV_DEC_EMPTY;
}

/* How a value read so far looks as text (private_un_text): its values (at each backslash), the longest of them, and
 * where its padding may have started. */
typedef struct text_look {
    uint64_t at, from, end; /* bytes read; the current value's start; just past the last byte that is not padding */
    uint64_t longest;
    int values, nul; /* nul: a NUL was read (only padding may follow it) */
} text_look;

/* Read p[0, n) into look: 0 when a byte makes the value no text. */
static int look_text(text_look *look, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++, look->at++) {
        uint8_t b = p[i];
        if (b == '\0' || b == ' ') {
            look->nul |= b == '\0';
            continue;
        }
        if (look->nul || (b < 0x20 && b != '\t' && b != '\n' && b != '\r' && b != '\f' && b != 0x1B) || b == 0x7F)
            return 0;
        if (b == '\\') {
            look->longest = look->at - look->from > look->longest ? look->at - look->from : look->longest;
            look->values++;
            look->from = look->at + 1;
        }
        look->end = look->at + 1;
    }
    return 1;
}

/* Is e, a private element of unknown VR (UN: every private element of an implicit VR file, or one written as UN)
 * that the plan keeps, text the plan would clean were it written as text? Then the VR to clean it as (its written
 * VR stays UN), else 0: under DEIDENTIFY_TAG_CONTENTS an implicit VR file kept `Dr Qorvath Zembla`, an address, a
 * phone number and an SSN in private text that an explicit VR copy had cleaned (stop 37's red team). Text: every
 * byte printable (with tab, line breaks, form feed and ISO 2022's ESC; trailing NUL or space padding), up to the
 * text stage's limit, read in pieces and given up at the first byte that is not (a binary value costs its first
 * bytes). Digits and punctuation alone are text too (`123-45-6789`, `(212) 555-0199`: the review found them
 * kept): a vendor's IS or DS values read as text hold nothing a detector takes. It is read as LO when it has
 * several values of at most 64 bytes (a backslash: the multi-valued text VRs are the short strings), else as UT.
 * A binary value (a CSA header, a float array) stays as it is: the search for the instance's own values
 * (dv_kept_holds_own) still looks at it. */
static uint16_t private_un_text(apply_ctx *c, const dv_elem *e, uint32_t parent, dv_iod_ctx ctx, uint16_t vr)
{
    if (!c->tw || vr != DV_VR_UN || !DV_TAG_IS_PRIVATE(e->tag) || DV_TAG_IS_PRIVATE_CREATOR(e->tag) ||
        e->length == 0 || e->length > DV_TEXT_VALUE_MAX || (e->flags & DV_ELEM_ENCAPSULATED))
        return 0;
    text_look look = {0, 0, 0, 0, 1, 0};
    const uint8_t *v = dv_elem_inline_value(e);
    if (v) {
        if (!look_text(&look, v, (size_t)e->length))
            return 0;
    } else {
        uint64_t off;
        const dv_source *src = dv_elem_source(c->inst, e, &off);
        if (!src)
            return 0;
        uint8_t piece[4096];
        for (uint64_t done = 0; done < e->length;) {
            size_t k = e->length - done < sizeof piece ? (size_t)(e->length - done) : sizeof piece;
            if (src->read_at(src->ctx, off + done, piece, k) != 0 || !look_text(&look, piece, k))
                return 0; /* unreadable here: the text stage is not asked (the walk reads it as it is) */
            done += k;
        }
    }
    if (look.end > look.from && look.end - look.from > look.longest)
        look.longest = look.end - look.from;
    uint16_t as = look.values > 1 && look.longest <= 64 ? DV_VR_LO : DV_VR_UT;
    dv_match m;
    return look.end > 0 && dv_plan_match_memo(c->plan, c->matches, parent, ctx, e->tag, as, 0, &m) == DV_DEC_CLEAN_TEXT
               ? as
               : 0;
}

/* After the text stage cleaned an EncapsulatedDocument (text_stage.c clean_document, which also regenerates the
 * UIDs it names), at whatever level and whatever VR it is written with (OB, or UT by a writer that took it for
 * text): EncapsulatedDocumentLength (0042,0015) of the same dataset, where it has one, becomes the new length
 * (PS3.3 C.24.2; 0 when emptied). docs/decisions.md "Encapsulated documents under DEIDENTIFY_TAG_CONTENTS".
 * [test_text_stage: test_encapsulated_document; test_engine: test_document_length_nested_or_text] */
static int finish_document(apply_ctx *c, dv_ds *ds, const dv_elem *e, int changed)
{
    if (!changed || !dv_ds_find(ds, DV_TAG_ENCAPSULATED_DOCUMENT_LENGTH))
        return 0;
    if (e->length > UINT32_MAX || !dv_ds_put_u32(c->inst, ds, DV_TAG_ENCAPSULATED_DOCUMENT_LENGTH, (uint32_t)e->length))
        return dv_fail(c->err, DV_ERR_LIMIT, "metadata memory limit reached cleaning " TAGF, TAGA(e->tag));
    return 0;
}

static int reset_tree(apply_ctx *c, dv_elem *e, dv_iod_ctx items, int conform);

/* resetTag / D: a VR-valid placeholder of the element's effective VR. */
static int set_dummy(apply_ctx *c, dv_elem *e)
{
    if (dv_elem_is_sequence(e))
        return reset_tree(c, e, DV_IOD_CTX_UNKNOWN, 0);
    uint16_t vr = dv_plan_effective_vr(e);
    if (vr == DV_VR_UI)
        return regen_uid(c, e);
    /* Keep the value multiplicity (zeros or placeholders, nothing of the original): a VM-2 attribute stays
     * valid. Bulk values are not inspected: one value. */
    const uint8_t *orig = dv_elem_inline_value(e);
    size_t count = orig ? dv_dummy_count(vr, orig, e->length) : 1; /* bulk: one value, not inspected */
    uint8_t *buf;
    long n = dv_dummy_values(vr, count, &buf);
    if (n < 0)
        return dv_fail(c->err, DV_ERR_NOMEM, "out of memory resetting " TAGF, TAGA(e->tag));
    if (n == 0) {
        make_empty(c, e);
        return 0;
    }
    int rc = replace_value(c, e, vr, buf, (size_t)n);
    free(buf);
    return rc;
}

/* Values that are codes, counts or indexes rather than content (units, styles, types, flags, numbers of points,
 * ReferencedFrameNumber): no dummy of the VR is one of their enumerated values (0 is no frame number), and
 * they hold no free text. */
static int is_coded_vr(uint16_t vr)
{
    return vr == DV_VR_CS || vr == DV_VR_IS || vr == DV_VR_US || vr == DV_VR_SS || vr == DV_VR_UL ||
           vr == DV_VR_SL || vr == DV_VR_UV || vr == DV_VR_SV;
}

/* A code or count by what the attribute is, not only by the VR it was written with: TextValue (UT) or
 * UnformattedTextValue (ST) written as CS or IS holds text, and kept its names and IDs in a reset sequence. The
 * PS3.6 VR decides when the dictionary knows the standard attribute with one VR; otherwise (private, unknown, or
 * several VRs) the written one. [test_engine: test_reset_text_written_as_code] */
static int is_coded_elem(const dv_elem *e, uint16_t vr)
{
    if (!is_coded_vr(vr))
        return 0;
    if (DV_TAG_IS_PRIVATE(e->tag))
        return 1;
    const dv_dict_entry *de = dv_dict_lookup(e->tag);
    return !de || !de->vr || de->multi_vr || is_coded_vr(de->vr);
}

/* One element inside a sequence the Basic profile resets (code D on the sequence: DV_DEC_RESET_CONFORM), at
 * IOD context ctx. The value goes, and the instance stays valid (docs/decisions.md "Reset sequences keep the
 * IOD valid"):
 *   - a sequence: reset the same way, every item kept (the item count never changes);
 *   - Type 3 in the IOD here: removed (optional; removing it removes the value);
 *   - Type 2 / 2C: emptied;
 *   - otherwise (Type 1 / 1C, or not in the tables): a code or count (is_coded_vr) that the profile itself
 *     keeps here stays -- PLACEHOLDER is never a valid GraphicAnnotationUnits or ShadowStyle, 0 never a valid
 *     GraphicDimensions, and a code holds no free text -- unless it is a CS holding the instance's own name, ID
 *     or date (dv_kept_holds_own); anything else gets its dummy (DECISIONS 4).
 * Returns 1 when e was removed, 0, or -1.
 * [test_engine.c test_reset_conform, test_corpus.py step 4] */
static int reset_conform(apply_ctx *c, dv_ds *ds, dv_elem *prev, dv_elem *e, uint32_t parent, dv_iod_ctx ctx)
{
    if (dv_elem_is_sequence(e)) /* every item stays, at every depth (docs/decisions.md) */
        return reset_tree(c, e, dv_iod_item_ctx(ctx, e->tag), 1);
    uint16_t vr = dv_plan_effective_vr(e);
    switch (dv_iod_type(ctx, e->tag)) {
    case DV_ATTR_3:
        dv_ds_unlink(ds, prev, e);
        c->changed = 1;
        return 1;
    case DV_ATTR_2:
    case DV_ATTR_2C:
        make_empty(c, e);
        return 0;
    default:
        break;
    }
    dv_match m;
    if (is_coded_elem(e, vr) &&
        dv_plan_match_memo(c->plan, c->matches, parent, ctx, e->tag, vr, 0, &m) == DV_DEC_KEEP) {
        /* a code holds no free text, but a CS may hold names all the same (ReferencedFileID's file names: stop
         * 49's red team): one holding the instance's own name, ID or date gets its dummy (profile_kept_text) */
        int names = m.free_text && dv_kept_has_own_values(c) ? dv_kept_holds_own(c, e, &m, DV_DEC_KEEP, 1) : 0;
        if (names <= 0)
            return names;
    }
    return set_dummy(c, e);
}

/* Every element nested anywhere under e is reset (DECISIONS 4); structure (items, nesting) is kept.
 * parent: the tag of the sequence whose item ds is. conform: reset under the profile's D, element by element
 * as reset_conform says; ctx is the IOD context of these items then (DV_IOD_CTX_UNKNOWN for a plain reset, or
 * where the tables do not know the place). */
static int reset_ds(apply_ctx *c, dv_ds *ds, uint32_t parent, dv_iod_ctx ctx, int conform)
{
    dv_elem *prev = NULL, *e = ds->first;
    while (e) {
        dv_elem *next = e->next;
        if (dv_tag_is_group_length(e->tag)) {
            prev = e; /* group length: the writer drops it (dv_ds.h); not a de-identification change */
            e = next;
            continue;
        }
        dv_match m;
        if (DV_TAG_IS_PRIVATE(e->tag) && dv_plan_match_memo(c->plan, c->matches, parent, ctx, e->tag,
                                                            dv_plan_effective_vr(e), dv_elem_is_sequence(e),
                                                            &m) == DV_DEC_DELETE) {
            /* A profile that deletes private elements deletes them inside a reset sequence too: a reset
             * private element would still be a private element (DECISIONS 3). */
            dv_ds_unlink(ds, prev, e);
            c->changed = 1;
            e = next;
            continue;
        }
        /* A UID that identifies or references a UID the plan keeps stays, so a reset never leaves a reference
         * pointing nowhere (UID families, docs/decisions.md) [test_reset_keeps_kept_references]; kept as its
         * head is, i.e. only as a UID unless a keepTag keeps it [test_kept_reference_in_reset_not_uid]. */
        if (!dv_elem_is_sequence(e) &&
            dv_plan_reset_keeps_uid(c->plan, parent, e->tag, dv_plan_effective_vr(e), &m)) {
            if (keep_ui(c, e, &m) != 0)
                return -1;
            prev = e;
            e = next;
            continue;
        }
        int rc = conform ? reset_conform(c, ds, prev, e, parent, ctx) : set_dummy(c, e);
        if (rc < 0)
            return -1;
        if (rc == 0)
            prev = e; /* 1: e was removed, prev stays */
        e = next;
    }
    return 0;
}

static int reset_tree(apply_ctx *c, dv_elem *e, dv_iod_ctx items, int conform)
{
    for (dv_item *it = e->items; it; it = it->next)
        if (reset_ds(c, &it->ds, e->tag, items, conform) != 0)
            return -1;
    return 0;
}

/* parent: the tag of the sequence whose item ds is (0 at the top level); ctx: the IOD context of ds
 * (DV_IOD_CTX_UNKNOWN when the IOD or this place is not in the tables); cs: ds's character set (inherited;
 * NULL when the plan cleans no text). */
static int apply_ds(apply_ctx *c, dv_ds *ds, uint32_t depth, uint32_t parent, dv_iod_ctx ctx, const dv_charset *cs);

/* Does an action keep an element of the private block the creator (gggg,00xx) names, in its dataset (after it: a
 * dataset is in tag order)? Then the creator stays, or the kept element would have no owner, which PS3.5 7.8.1 does
 * not allow and readers cannot interpret (stop 49's config audit: keepTag (0011,1001) under Basic wrote it without
 * (0011,0010)). Asked only for a creator the plan deletes, in a plan with actions. */
static int block_kept(apply_ctx *c, const dv_elem *creator, uint32_t parent, dv_iod_ctx ctx)
{
    uint32_t group = creator->tag & 0xFFFF0000u, block = DV_TAG_ELEMENT(creator->tag);
    for (const dv_elem *x = creator->next; x && (x->tag & 0xFFFF0000u) == group; x = x->next) {
        if ((DV_TAG_ELEMENT(x->tag) >> 8) != block)
            continue;
        dv_match m;
        if (dv_plan_match_memo(c->plan, c->matches, parent, ctx, x->tag, dv_plan_effective_vr(x),
                               dv_elem_is_sequence(x), &m) != DV_DEC_DELETE &&
            m.source == DV_MATCH_ACTION)
            return 1;
    }
    return 0;
}

/* The match of an element inside a sequence a keepTag keeps that no action names: kept as that keepTag keeps
 * (dv_apply_kept_by_keep_tag: its own values, UIDs and private blobs stay as they are). */
static dv_decision kept_as_by(const apply_ctx *c, uint32_t tag, dv_match *m)
{
    *m = (dv_match){.decision = DV_DEC_KEEP, .source = DV_MATCH_ACTION, .action = c->keep_action,
                    .kind = DV_ACTION_KEEP, .params = &c->plan->actions[c->keep_action].params, .decided_tag = tag};
    return DV_DEC_KEEP;
}

/* Every item of the sequence e (at depth, IOD context ctx, character set cs) through apply_ds, its path noted. */
static int walk_items(apply_ctx *c, dv_elem *e, uint32_t depth, dv_iod_ctx ctx, const dv_charset *cs)
{
    const dv_text_path *up = c->path;
    uint32_t index = 0;
    int rc = 0;
    for (dv_item *it = e->items; it && rc == 0; it = it->next, index++) {
        dv_charset own;
        dv_text_path here = {up, e->tag, index, up ? up->depth + 1 : 1};
        c->path = &here;
        rc = apply_ds(c, &it->ds, depth + 1, e->tag, dv_iod_item_ctx(ctx, e->tag),
                      c->tw ? dv_charset_for_item(cs, it, &own) : NULL);
    }
    c->path = up;
    return rc;
}

/* A keepTag keeps a sequence as it is, but the first action whose queries match an element decides it (DECISIONS
 * 1), inside the sequence too: `removeTag PN` then `keepTag AnatomicRegionSequence` kept a name in the sequence's
 * items (stop 49's config audit). So where the plan has another action, the items are walked with the actions
 * alone deciding (under_keep); what none names stays as it is, as before. */
static int walk_kept_sequence(apply_ctx *c, dv_elem *e, uint32_t depth, dv_iod_ctx ctx, const dv_charset *cs,
                              const dv_match *m)
{
    int under = c->under_keep;
    uint32_t action = c->keep_action;
    c->under_keep = 1;
    c->keep_action = m->action;
    int rc = walk_items(c, e, depth, ctx, cs);
    c->under_keep = under;
    c->keep_action = action;
    return rc;
}

static int apply_ds(apply_ctx *c, dv_ds *ds, uint32_t depth, uint32_t parent, dv_iod_ctx ctx, const dv_charset *cs)
{
    dv_elem *prev = NULL, *e = ds->first;
    while (e) {
        dv_elem *next = e->next;
        uint32_t tag = e->tag;
        /* Earlier markers get the plan like any element (private elements in an earlier code item go with the
         * profile); markers.c then adds ours to what is left (issue 5 item 9). */
        if (dv_tag_is_group_length(tag)) {
            /* Encoding housekeeping, not a de-identification change: the writer drops it (dv_ds.h). */
            prev = e;
            e = next;
            continue;
        }
        int is_seq = dv_elem_is_sequence(e);
        uint16_t vr = dv_plan_effective_vr(e);
        dv_match m; /* m.kind / m.params: where the pixel and text stages will read their settings */
        dv_decision d;
        if (!c->under_keep)
            d = dv_plan_match_memo(c->plan, c->matches, parent, ctx, tag, vr, is_seq, &m);
        else if (!dv_plan_match_action(c->plan, parent, tag, vr, is_seq, &m, &d))
            d = kept_as_by(c, tag, &m); /* inside a kept sequence: what no action names stays as it is */
        if (d == DV_DEC_DELETE && DV_TAG_IS_PRIVATE_CREATOR(tag) && c->plan->nactions && block_kept(c, e, parent, ctx))
            d = DV_DEC_KEEP;
        /* A private value kept as it is that holds the instance's own regenerated primary UID or changed date,
         * name or ID, or one cleaned as text that holds such a UID (the text stage knows no UIDs; it shifts the
         * dates of a text as the attributes' own), is deleted instead (dv_kept_holds_own); a kept address (UR: a
         * RetrieveURL naming the source study), an opaque standard value or an attribute the dictionary does not
         * know (scanned_for_own) is emptied, its place in the IOD kept; so is a standard text value or code the
         * profile keeps (profile_kept_text), or given its placeholder where the IOD requires a value (own_hit). */
        if (dv_kept_has_own_values(c) && !is_seq && vr != DV_VR_UI &&
            (d == DV_DEC_KEEP || d == DV_DEC_CLEAN_TEXT)) {
            int text = profile_kept_text(&m, d) && !(m.free_text == DV_FREE_NAME && standard_code(ds, parent, tag));
            int names = text || scanned_for_own(tag, vr, d, depth) ? dv_kept_holds_own(c, e, &m, d, text) : 0;
            if (d == DV_DEC_CLEAN_TEXT && names == 0 && dv_kept_may_hold_serialized(tag) &&
                (names = dv_kept_cleaned_text_encodes_own(c, e)) > 0)
                text = 1; /* a standard text: emptied, or its placeholder where the IOD requires a value */
            if (names < 0)
                return -1;
            if (names)
                d = DV_TAG_IS_PRIVATE(tag) ? DV_DEC_DELETE : text ? own_hit(ctx, tag) : DV_DEC_EMPTY;
        }
        if (d == DV_DEC_KEEP && tag == DV_TAG_ENCAPSULATED_DOCUMENT && dv_kept_document_holds_own(c, ds, e, &m) != 0)
            return -1;
        uint16_t as_vr = 0;
        if (d == DV_DEC_KEEP && !is_seq && (as_vr = private_un_text(c, e, parent, ctx, vr)) != 0)
            d = DV_DEC_CLEAN_TEXT;
        int rc = 0;
        switch (d) {
        case DV_DEC_KEEP:
            if (is_seq)
                rc = dv_apply_kept_by_keep_tag(&m) && c->plan->nactions > 1
                         ? walk_kept_sequence(c, e, depth, ctx, cs, &m)
                         : 0;
            else if (vr == DV_VR_UI)
                rc = keep_ui(c, e, &m);
            else if (e->length >= c->own_min && !DV_TAG_IS_PRIVATE(tag) && holds_free_text(vr, tag) &&
                     (rc = keep_text(c, e, &m, vr)) > 0)
                rc = tag == DV_TAG_ENCAPSULATED_DOCUMENT ? finish_document(c, ds, e, 1) : 0;
            else if (c->plan->regen_dated_uids && DV_TAG_IS_PRIVATE(tag) && !DV_TAG_IS_PRIVATE_CREATOR(tag) &&
                     !dv_apply_kept_by_keep_tag(&m))
                rc = blob_uid_dates(c, e);
            break;
        case DV_DEC_KEEP_RECURSE:
            rc = walk_items(c, e, depth, ctx, cs);
            break;
        case DV_DEC_CLEAN_TEXT: {
            int ch = 0, sw = 0;
            if (tag == DV_TAG_ENCAPSULATED_DOCUMENT) {
                rc = dv_text_clean_document(c->tw, c->plan, c->inst, ds, e, c->path, &ch, c->err);
                if (rc == 0)
                    rc = finish_document(c, ds, e, ch);
            } else {
                rc = dv_text_clean_elem(c->tw, c->plan, c->inst, e, as_vr, c->cs_utf8 ? &c->utf8 : cs, c->path, &ch,
                                        &sw, c->err);
            }
            c->changed |= ch;
            c->cs_utf8 |= sw;
            break;
        }
        case DV_DEC_EMPTY:
            make_empty(c, e);
            break;
        case DV_DEC_DELETE:
            dv_ds_unlink(ds, prev, e);
            c->changed = 1;
            e = next;
            continue; /* prev stays */
        case DV_DEC_DUMMY:
            rc = set_dummy(c, e);
            break;
        case DV_DEC_RESET_TREE:
            rc = is_seq ? reset_tree(c, e, DV_IOD_CTX_UNKNOWN, 0) : set_dummy(c, e);
            break;
        case DV_DEC_RESET_CONFORM:
            rc = is_seq ? reset_tree(c, e, dv_iod_item_ctx(ctx, tag), 1) : set_dummy(c, e);
            break;
        case DV_DEC_REGEN_UID:
            rc = regen_uid(c, e);
            break;
        }
        if (rc != 0)
            return -1;
        prev = e;
        e = next;
    }
    return 0;
}

/* Some writers put the SOP Class/Instance UIDs only in the file meta. Both are Type 1 in the SOP Common
 * module and the output meta is derived from the dataset, so copy them into the dataset *before* the walk:
 * the plan then treats the copied SOPInstanceUID like any other (regenerated unless primaryIds is KEEP). */
static int repair_sop_identity(dv_instance *inst, dv_error *err)
{
    static const uint32_t pairs[2][2] = { { DV_TAG_MEDIA_STORAGE_SOP_CLASS_UID, DV_TAG_SOP_CLASS_UID }, { DV_TAG_MEDIA_STORAGE_SOP_INSTANCE_UID, DV_TAG_SOP_INSTANCE_UID } };
    for (int i = 0; i < 2; i++) {
        const dv_elem *m = dv_ds_find(&inst->meta, pairs[i][0]);
        if (!m || !m->value || !m->length || dv_ds_find(&inst->ds, pairs[i][1]))
            continue;
        if (!dv_ds_put(inst, &inst->ds, pairs[i][1], DV_VR_UI, m->value, m->length))
            return dv_fail(err, DV_ERR_LIMIT, "metadata exceeds the per-instance limit");
    }
    return 0;
}

/* The UIDs the output's file meta is made of and no plan changes: the SOP Class (the dataset's, and the file
 * meta's, which the writer falls back to) and the transfer syntax as read (which the writer names again). One that
 * is not a UID makes no valid output, and the SOP Class also picks the IOD the profile is resolved by: the instance
 * is malformed, whatever the plan (a keepTag cannot make it valid; a regeneration would name no SOP class). The
 * message names the tag, never the value. [test_engine: test_sop_class_not_uid_fails] */
static int check_identity_uids(apply_ctx *c)
{
    static const struct {
        uint32_t tag;
        int in_meta;
        const char *keyword;
    } classes[2] = {{DV_TAG_SOP_CLASS_UID, 0, "SOPClassUID"},
                    {DV_TAG_MEDIA_STORAGE_SOP_CLASS_UID, 1, "MediaStorageSOPClassUID"}};
    for (int i = 0; i < 2; i++) {
        const dv_elem *e = dv_ds_find(classes[i].in_meta ? &c->inst->meta : &c->inst->ds, classes[i].tag);
        if (!e || dv_elem_is_sequence(e))
            continue;
        const uint8_t *v;
        size_t len;
        uint8_t *loaded;
        if (ui_value(c, e, &v, &len, &loaded) != 0)
            return -1;
        int ok = dv_ui_value_valid(v, len);
        free(loaded);
        if (!ok)
            return dv_fail(c->err, DV_ERR_MALFORMED, TAGF " %s is not a UID", TAGA(classes[i].tag),
                           classes[i].keyword);
    }
    const char *ts = dv_instance_transfer_syntax(c->inst);
    if (!dv_uid_valid(ts, strlen(ts)))
        return dv_fail(c->err, DV_ERR_MALFORMED, TAGF " TransferSyntaxUID is not a UID",
                       TAGA(DV_TAG_TRANSFER_SYNTAX_UID));
    return 0;
}

/* The top-level IOD context of the instance, from its SOPClassUID (once per instance): composite codes are
 * resolved by the attribute types of that IOD (DECISIONS 3). DV_IOD_CTX_UNKNOWN for a SOP Class the tables do
 * not map: every decision then takes the fallbacks. */
static dv_iod_ctx instance_iod_ctx(const dv_instance *inst)
{
    char uid[DV_UID_MAX + 1];
    if (dv_elem_uid_text(dv_ds_find(&inst->ds, DV_TAG_SOP_CLASS_UID), uid, sizeof uid) <= 0)
        return DV_IOD_CTX_UNKNOWN;
    return dv_iod_root(dv_iod_for_sop_class(uid, strlen(uid)));
}

/* Output UID for dv_result: trailing padding trimmed; "" when absent, bulk or too long to be a UID. */
static void result_uid(const dv_instance *inst, uint32_t tag, char out[DV_UID_MAX + 1])
{
    (void)dv_elem_uid_text(dv_ds_find(&inst->ds, tag), out, DV_UID_MAX + 1); /* "" when absent or too long */
}

/* BurnedInAnnotation (0028,0301) is YES (CS: padding and case ignored; a bulk or absent value is not YES). Read
 * through dv_instance_get_string, which trims the trailing padding; leading spaces are CS padding too. */
static int declares_burned_in(const dv_instance *inst)
{
    char v[DV_UID_MAX + 1];
    if (dv_instance_get_string(inst, DV_TAG_BURNED_IN_ANNOTATION, v, sizeof v) < 0)
        return 0;
    const char *p = v;
    while (*p == ' ')
        p++;
    return strcasecmp(p, "YES") == 0;
}

/* A private transfer syntax UID (not under the DICOM root) names the encoding of the pixel data: it cannot be
 * regenerated as other UIDs are, and the writer puts it in the output's file meta as read. One holding one of the
 * instance's own dates or of the patient's IDs the plan changes as a component (dv_kept_ui_component_held) would
 * publish it: the instance is refused, alone (stop 49's red team: 1.2.826.0.1.3680043.9.5555.4471902.19610423 kept an
 * MRN and the birth date under every profile, MINIMAL too). Any other date-shaped component (a vendor's release date,
 * 1.2.276.0.7230010.3.1.4.20120301.1) stays: refusing it would lose every instance of that vendor (the review). The
 * message names neither the UID nor the value. [test_engine: test_private_ts_naming_patient] */
static int check_private_ts(apply_ctx *c)
{
    const char *ts = dv_instance_transfer_syntax(c->inst);
    if (!ts || !strncmp(ts, "1.2.840.10008.", 14) || !dv_kept_has_own_values(c))
        return 0;
    if (!c->held_decided && dv_held_decide(c) != 0)
        return -1;
    const uint8_t *v = (const uint8_t *)ts;
    size_t n = strlen(ts);
    if (dv_kept_ui_component_held(c, v, n, DV_OWN_DATE) || dv_kept_ui_component_held(c, v, n, DV_OWN_WORD))
        return dv_fail(c->err, DV_ERR_UNSUPPORTED,
                       "the private transfer syntax UID (0002,0010) holds a date or one of the patient's IDs; it "
                       "names the pixel data's encoding and cannot be changed, so the instance is not written");
    return 0;
}

_Static_assert(DV_IT_COUNT <= DV_RESULT_TEXT_TYPES, "dv_result.text_findings must hold every infoType");

int dv_apply_text(const dv_plan *plan, const dv_key *key, dv_instance *inst, dv_result *res, dv_text_worker *w,
                  dv_uid_memo *memo, dv_match_memo *matches, dv_error *err)
{
    if (res && dv_result_reset(res, err) != 0)
        return -1;
    if (!plan || !key || !inst)
        return dv_fail(err, DV_ERR_USAGE, "dv_apply: plan, key and instance are required");
    apply_ctx c;
    memset(&c, 0, APPLY_CTX_CLEARED);
    c.plan = plan;
    c.key = key;
    c.uid_memo = memo;
    c.matches = matches;
    c.forms_worker = w;
    c.inst = inst;
    c.err = err;
    if (repair_sop_identity(inst, err) != 0 || check_identity_uids(&c) != 0)
        return -1;
    own_primary_ids(&c);
    c.ictx = instance_iod_ctx(inst);
    dv_held_note_values(&c);
    if (check_private_ts(&c) != 0)
        return -1;
    dv_text_worker *own_worker = NULL;
    const dv_charset *cs = NULL;
    dv_charset top;
    if (plan->cleans_text) {
        if (!w && !(w = own_worker = dv_text_worker_new()))
            return dv_fail(err, DV_ERR_NOMEM, "out of memory for the text stage");
        c.tw = w;
        dv_charset_parse((const uint8_t *)"ISO_IR 192", 10, &c.utf8);
        /* The instance's own identifying values, read before the plan changes any of them. */
        if (dv_text_begin_instance(w, plan, key, inst, err) != 0) {
            dv_text_worker_free(own_worker);
            return -1;
        }
        cs = dv_charset_for_ds(NULL, &inst->ds, &top);
    }
    if (res && DV_RESULT_HAS(res, burned_in_declared))
        res->burned_in_declared = declares_burned_in(inst);
    int rc = apply_ds(&c, &inst->ds, 0, 0, c.ictx, cs);
    dv_own_scanner_free(c.scan_own);
    dv_own_scanner_free(c.scan_held);
    dv_own_scanner_free(c.scan_std);
    dv_own_scanner_free(c.scan_foreign);
    dv_own_scanner_free(c.scan_foreign_std);
    dv_own_scanner_free(c.scan_words);
    dv_own_scanner_free(c.scan_enc);
    if (rc == 0 && res && w && DV_RESULT_HAS(res, text_findings))
        memcpy(res->text_findings, dv_text_worker_counts(w), sizeof(uint32_t) * DV_IT_COUNT);
    dv_text_worker_free(own_worker);
    if (rc != 0)
        return -1;
    if (c.changed && dv_markers_write(plan, inst, !c.uid_replaced, err) != 0)
        return -1;
    if (res) {
        res->changed = c.changed;
        result_uid(inst, DV_TAG_STUDY_INSTANCE_UID, res->study_uid);
        result_uid(inst, DV_TAG_SERIES_INSTANCE_UID, res->series_uid);
        result_uid(inst, DV_TAG_SOP_INSTANCE_UID, res->sop_uid);
    }
    return 0;
}
