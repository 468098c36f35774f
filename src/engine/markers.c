/* De-identification markers (DECISIONS 11), written after the plan ran and only when it changed something.
 *
 * PatientIdentityRemoved (0012,0062) = YES tells receivers the instance was de-identified;
 * DeidentificationMethod (0012,0063) says how, in words (tool, profile, options: nothing secret, nothing
 * from the instance); DeidentificationMethodCodeSequence (0012,0064) says the same with CID 7050 codes, which
 * only exist for the PS3.15 profiles, so it is written for the Basic profile only. Any existing markers are
 * replaced: a second pass must describe itself, not inherit a description of the first. */
#include <stdio.h>
#include <string.h>

#include "dicomveil/dicomveil.h"
#include "engine/dv_plan.h"
#include "dicom/dv_vr.h"

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

static dv_item *code_item(dv_instance *inst, const char *value, const char *meaning)
{
    dv_item *it = dv_arena_alloc(&inst->arena, sizeof *it);
    if (!it)
        return NULL;
    if (put_text(inst, &it->ds, 0x00080100u, DV_VR_SH, value) != 0 ||
        put_text(inst, &it->ds, 0x00080102u, DV_VR_SH, "DCM") != 0 ||
        put_text(inst, &it->ds, 0x00080104u, DV_VR_LO, meaning) != 0)
        return NULL;
    return it;
}

int dv_markers_write(const dv_plan *plan, dv_instance *inst, dv_error *err)
{
    static const uint32_t tags[] = {DV_TAG_PATIENT_IDENTITY_REMOVED, DV_TAG_DEIDENTIFICATION_METHOD,
                                    DV_TAG_DEIDENTIFICATION_METHOD_CODE_SEQ};
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
        dv_elem *e = dv_ds_find(&inst->ds, tags[i]);
        if (e)
            dv_ds_remove(&inst->ds, e);
    }

    char method[512];
    dv_markers_method(plan, method, sizeof method);
    if (put_text(inst, &inst->ds, DV_TAG_PATIENT_IDENTITY_REMOVED, DV_VR_CS, "YES") != 0 ||
        put_text(inst, &inst->ds, DV_TAG_DEIDENTIFICATION_METHOD, DV_VR_LO, method) != 0)
        return dv_fail(err, DV_ERR_LIMIT, "metadata memory limit reached writing (0012,0062)/(0012,0063)");

    if (plan->profile != DV_PROFILE_BASIC)
        return 0;
    dv_item *first = code_item(inst, "113100", "Basic Application Confidentiality Profile");
    dv_item *second = NULL;
    if (first && plan->primary_ids == DV_PRIMARY_KEEP) {
        second = code_item(inst, "113110", "Retain UIDs Option");
        if (!second)
            first = NULL;
    }
    /* dv_ds_put makes an inline element in tag order; turn it into a defined-length sequence. */
    static const uint8_t none[1] = {0};
    dv_elem *seq = first ? dv_ds_put(inst, &inst->ds, DV_TAG_DEIDENTIFICATION_METHOD_CODE_SEQ, DV_VR_SQ, none, 0)
                         : NULL;
    if (!seq)
        return dv_fail(err, DV_ERR_LIMIT, "metadata memory limit reached writing (0012,0064)");
    first->next = second;
    seq->vr = DV_VR_SQ;
    seq->flags = DV_ELEM_SEQUENCE;
    seq->value = NULL;
    seq->length = 0;
    seq->offset = 0;
    seq->items = first;
    seq->nitems = second ? 2 : 1;
    return 0;
}
