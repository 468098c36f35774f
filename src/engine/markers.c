/* De-identification markers (DECISIONS 11), written after the plan ran and only when it changed something.
 *
 * PatientIdentityRemoved (0012,0062) = YES tells receivers the instance was de-identified;
 * DeidentificationMethod (0012,0063) says how, in words (tool, profile, options: nothing secret, nothing
 * from the instance); DeidentificationMethodCodeSequence (0012,0064) says the same with CID 7050 codes, which
 * only exist for the PS3.15 profiles, so it is written for the Basic profile only, with the codes of the options
 * it was applied with. Markers add, never erase
 * provenance (issue 5 item 9): an input de-identified before (e.g. defaced: 113101/113102 codes) keeps its
 * earlier DeidentificationMethod values and code items, ours are appended after them, never twice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicomveil/dicomveil.h"
#include "engine/dv_pixel_stage.h"
#include "engine/dv_plan.h"
#include "dicom/dv_vr.h"
#include "dict/dv_tags.h"

/* DeidentificationMethod's value for an instance whose pixels go through burned-in text redaction. */
#define PIXEL_METHOD "burned-in text redaction"

/* An LO value with a 16-bit explicit VR length: the whole (0012,0063) value must stay below 64 KiB. */
#define DV_MARKERS_METHOD_MAX 0xFFFEu

/* Append one LO value (at most 64 characters by construction) with its separator. */
static void add_value(char *buf, size_t cap, size_t *len, const char *v)
{
    size_t n = strlen(v);
    if (n > 64)
        n = 64;
    size_t need = (*len ? 1 : 0) + n;
    if (*len + need + 1 > cap)
        return;
    if (*len)
        buf[(*len)++] = '\\';
    memcpy(buf + *len, v, n);
    *len += n;
    buf[*len] = '\0';
}

size_t dv_markers_method(const dv_plan *plan, char *buf, size_t cap)
{
    size_t len = 0;
    char v[80];
    if (cap == 0)
        return 0;
    buf[0] = '\0';
    add_value(buf, cap, &len, "dicomveil " DICOMVEIL_VERSION);
    add_value(buf, cap, &len, plan->profile_name);
    if (plan->profile == DV_PROFILE_BASIC && plan->table) {
        snprintf(v, sizeof v, "PS3.15 %s", plan->table->edition);
        add_value(buf, cap, &len, v);
    }
    snprintf(v, sizeof v, "primaryIds %s", plan->primary_ids == DV_PRIMARY_KEEP ? "KEEP" : "REGEN");
    add_value(buf, cap, &len, v);
    snprintf(v, sizeof v, "%zu action%s", plan->nactions, plan->nactions == 1 ? "" : "s");
    add_value(buf, cap, &len, v);
    /* The options DECISIONS 11 asks to be named: text cleaning of the descriptors here; burned-in text redaction
     * is named per instance (write_method, PIXEL_METHOD), as its code 113101 is: only where the pixels go through
     * it. */
    if (plan->clean_descriptors)
        add_value(buf, cap, &len, "cleanDescriptors");
    if (plan->legacy)
        add_value(buf, cap, &len, "legacy DicomConfig");
    return len;
}

static int put_text(dv_instance *inst, dv_ds *ds, uint32_t tag, uint16_t vr, const char *s)
{
    char buf[256];
    size_t n = strlen(s);
    if (n + 2 > sizeof buf)
        return -1;
    memcpy(buf, s, n);
    if (n & 1)
        buf[n++] = ' ';
    return dv_ds_put(inst, ds, tag, vr, buf, n) ? 0 : -1;
}

/* Leading and trailing padding (spaces, NULs) off one value: [*b, *e). */
static void trim(const char *s, size_t n, size_t *b, size_t *e)
{
    *b = 0;
    *e = n;
    while (*b < *e && (s[*b] == ' ' || s[*b] == '\0'))
        (*b)++;
    while (*e > *b && (s[*e - 1] == ' ' || s[*e - 1] == '\0'))
        (*e)--;
}

/* 1 when the backslash-separated list (len bytes) already holds the value v (padding ignored). */
static int list_has(const char *list, size_t len, const char *v, size_t vlen)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && list[i] != '\\')
            continue;
        size_t b, e;
        trim(list + start, i - start, &b, &e);
        if (e - b == vlen && memcmp(list + start + b, v, vlen) == 0)
            return 1;
        start = i + 1;
    }
    return 0;
}

/* DeidentificationMethod (0012,0063), LO, VM 1-n: the earlier values as they were (an earlier tool's
 * provenance, e.g. a defacer's), then each of our values that is not already there (a second pass with the
 * same plan adds nothing). Issue 5 item 9 [test_engine: test_markers, test_markers_keep_provenance]. */
static int write_method(const dv_plan *plan, dv_instance *inst, int pixels, dv_error *err)
{
    const char *ours = plan->method;
    size_t olen = plan->method_len;
    /* The plan's values, and PIXEL_METHOD where this instance's pixels go through burned-in text redaction
     * (pixels: whether options.cleanImage or a cleanImageTag action asks it, dv_pixel_config_for), as 113101 says. */
    char with_px[sizeof plan->method + sizeof PIXEL_METHOD + 1];
    if (pixels && olen + sizeof PIXEL_METHOD + 1 <= sizeof with_px) {
        memcpy(with_px, ours, olen);
        if (olen)
            with_px[olen++] = '\\';
        memcpy(with_px + olen, PIXEL_METHOD, sizeof PIXEL_METHOD - 1);
        olen += sizeof PIXEL_METHOD - 1;
        ours = with_px;
    }
    dv_elem *old = dv_ds_find(&inst->ds, DV_TAG_DEIDENTIFICATION_METHOD);
    uint64_t have = old && !dv_elem_is_sequence(old) && !(old->flags & DV_ELEM_ENCAPSULATED) ? old->length : 0;
    if (have + olen + 2 > DV_MARKERS_METHOD_MAX)
        return dv_fail(err, DV_ERR_LIMIT, "(0012,0063) would exceed %u bytes with our values",
                       (unsigned)DV_MARKERS_METHOD_MAX);
    /* Most instances have no earlier method: ours is written as the plan made it (its values are distinct by
     * construction, dv_markers_method), from a buffer on the stack. */
    char local[512];
    char *buf = have + olen + 2 <= sizeof local ? local : malloc((size_t)have + olen + 2);
    if (!buf)
        return dv_fail(err, DV_ERR_NOMEM, "out of memory writing (0012,0063)");
    size_t n = 0;
    if (!have) {
        memcpy(buf, ours, olen);
        n = olen;
        olen = 0; /* nothing left to merge */
    } else if (dv_elem_read_value(inst, old, buf, have) == 0) {
        size_t b, e;
        trim(buf, (size_t)have, &b, &e); /* the padding of the whole value, not of inner values */
        memmove(buf, buf + b, e - b);
        n = e - b;
    }
    size_t start = 0;
    for (size_t i = 0; i <= olen; i++) {
        if (i < olen && ours[i] != '\\')
            continue;
        size_t vlen = i - start;
        if (vlen && !list_has(buf, n, ours + start, vlen)) {
            if (n)
                buf[n++] = '\\';
            memcpy(buf + n, ours + start, vlen);
            n += vlen;
        }
        start = i + 1;
    }
    if (n & 1)
        buf[n++] = ' ';
    dv_elem *e = dv_ds_put(inst, &inst->ds, DV_TAG_DEIDENTIFICATION_METHOD, DV_VR_LO, buf, n);
    if (buf != local)
        free(buf);
    return e ? 0 : dv_fail(err, DV_ERR_LIMIT, "metadata memory limit reached writing (0012,0063)");
}

/* 1 when an item of seq already carries the DCM code value. */
static int has_code(const dv_elem *seq, const char *value)
{
    for (const dv_item *it = seq->items; it; it = it->next) {
        char v[17], scheme[17];
        const dv_elem *cv = dv_ds_find(&it->ds, DV_TAG_CODE_VALUE), *cs = dv_ds_find(&it->ds, DV_TAG_CODING_SCHEME_DESIGNATOR);
        if (!cv || !cs || cv->length >= sizeof v || cs->length >= sizeof scheme || !cv->value || !cs->value ||
            (cv->flags & DV_ELEM_BULK) || (cs->flags & DV_ELEM_BULK))
            continue;
        size_t b, e, sb, se;
        memcpy(v, cv->value, (size_t)cv->length);
        memcpy(scheme, cs->value, (size_t)cs->length);
        trim(v, (size_t)cv->length, &b, &e);
        trim(scheme, (size_t)cs->length, &sb, &se);
        if (e - b == strlen(value) && !memcmp(v + b, value, e - b) && se - sb == 3 && !memcmp(scheme + sb, "DCM", 3))
            return 1;
    }
    return 0;
}

/* Append a CID 7050 code item unless one with the same DCM code is already there. */
static int add_code(dv_instance *inst, dv_elem *seq, const char *value, const char *meaning)
{
    if (has_code(seq, value))
        return 0;
    dv_item *it = dv_seq_append_item(inst, seq);
    if (!it || put_text(inst, &it->ds, DV_TAG_CODE_VALUE, DV_VR_SH, value) != 0 ||
        put_text(inst, &it->ds, DV_TAG_CODING_SCHEME_DESIGNATOR, DV_VR_SH, "DCM") != 0 ||
        put_text(inst, &it->ds, DV_TAG_CODE_MEANING, DV_VR_LO, meaning) != 0)
        return -1;
    return 0;
}

int dv_markers_write(const dv_plan *plan, dv_instance *inst, int uids_retained, dv_error *err)
{
    if (put_text(inst, &inst->ds, DV_TAG_PATIENT_IDENTITY_REMOVED, DV_VR_CS, "YES") != 0)
        return dv_fail(err, DV_ERR_LIMIT, "metadata memory limit reached writing (0012,0062)");
    /* one look for both markers: this instance's pixels go through burned-in text redaction */
    int pixels = dv_pixel_config_for(plan, inst) != NULL;
    if (write_method(plan, inst, pixels, err) != 0)
        return -1;
    if (plan->profile != DV_PROFILE_BASIC)
        return 0; /* CID 7050 names the PS3.15 profiles only; earlier items stay */
    dv_elem *seq = dv_ds_find(&inst->ds, DV_TAG_DEIDENTIFICATION_METHOD_CODE_SEQUENCE);
    if (!seq || !(seq->flags & DV_ELEM_SEQUENCE)) /* absent, or not a readable sequence: a new one */
        seq = dv_ds_put_sequence(inst, &inst->ds, DV_TAG_DEIDENTIFICATION_METHOD_CODE_SEQUENCE);
    /* The PS3.15 options the Basic profile was applied with (CID 7050), as DECISIONS 11 asks: Retain UIDs
     * (primaryIds KEEP, where no UID of this instance was given another value: primaryIds keeps the four primary
     * IDs only, and the option, PS3.15 E.3.9, retains every UID the profile would replace; a FrameOfReferenceUID
     * regenerated beside it would be claimed as the source's), Clean Descriptors (options.cleanDescriptors cleans the descriptors E.1-1 codes C), and
     * Clean Pixel Data when this instance's pixels go through the pixel stage's redaction (the stage runs after
     * the attributes, on the pixels these markers are written with; an instance without pixel data, or whose
     * ImageConfig asks for nothing, does not claim it). [test_engine: test_markers] */
    if (!seq || add_code(inst, seq, "113100", "Basic Application Confidentiality Profile") != 0 ||
        (pixels && add_code(inst, seq, "113101", "Clean Pixel Data Option") != 0) ||
        (plan->clean_descriptors && add_code(inst, seq, "113105", "Clean Descriptors Option") != 0) ||
        (plan->primary_ids == DV_PRIMARY_KEEP && uids_retained && add_code(inst, seq, "113110", "Retain UIDs Option") != 0))
        return dv_fail(err, DV_ERR_LIMIT, "metadata memory limit reached writing (0012,0064)");
    return 0;
}
