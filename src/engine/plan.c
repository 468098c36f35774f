/* Plan compilation and the per-element decision.
 *
 * The plan is compiled once per job and then only read, by any number of threads. Deciding one element costs
 * one probe of an open-addressing hash (exact tags named by actions or profile rows), one 26x26 table lookup
 * (VR queries) and a scan of a few masked entries (repeating groups), so the cost per element does not grow
 * with the number of actions or the size of the PS3.15 table.
 *
 * Precedence (DECISIONS 1): group lengths are always dropped, then the first action whose queries match
 * decides, then options.primaryIds, then the profile. A UID family member (families.c) that no TAG query names
 * is decided as its family head: the slot's `follow` redirects it at compile time, one extra probe. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicomveil/dicomveil.h"
#include "engine/dv_plan.h"
#include "engine/dv_pixel_classify.h"
#include "text/patterns.h"
#include "dicom/dv_vr.h"

const char *dv_decision_name(dv_decision d)
{
    switch (d) {
    case DV_DEC_KEEP: return "KEEP";
    case DV_DEC_KEEP_RECURSE: return "KEEP_RECURSE";
    case DV_DEC_EMPTY: return "EMPTY";
    case DV_DEC_DELETE: return "DELETE";
    case DV_DEC_DUMMY: return "DUMMY";
    case DV_DEC_RESET_TREE: return "RESET_TREE";
    case DV_DEC_REGEN_UID: return "REGEN_UID";
    case DV_DEC_CLEAN_TEXT: return "CLEAN_TEXT";
    case DV_DEC_RESET_CONFORM: return "RESET_CONFORM";
    }
    return "?";
}

/* The guide's "Keep tags" list for MINIMAL_KEEP_LIST_PROFILE (its "Highbit" is PS3.6 HighBit), plus
 * SOPClassUID (DECISIONS 9), plus the segmented form of the palette the list keeps: a PALETTE COLOR image whose
 * LUTs are segmented (gdcm-US-ALOKA-16) kept its descriptors without their data and could not be shown
 * (docs/decisions.md "The minimal keep list keeps a segmented palette"). The group 0002 entries are listed for
 * completeness: the file meta is not in the dataset and the writer regenerates it. Resolved through the
 * dictionary so a typo cannot go unnoticed. */
static const char *const minimal_keep_keywords[] = {
    "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "TransferSyntaxUID",
    "MediaStorageSOPInstanceUID", "MediaStorageSOPClassUID", "PixelData", "Rows", "Columns",
    "SamplesPerPixel", "BitsAllocated", "BitsStored", "HighBit", "PhotometricInterpretation",
    "PixelRepresentation", "NumberOfFrames", "PlanarConfiguration", "PixelAspectRatio",
    "SmallestImagePixelValue", "LargestImagePixelValue", "RedPaletteColorLookupTableDescriptor",
    "GreenPaletteColorLookupTableDescriptor", "BluePaletteColorLookupTableDescriptor",
    "RedPaletteColorLookupTableData", "GreenPaletteColorLookupTableData", "BluePaletteColorLookupTableData",
    "ICCProfile", "ColorSpace", "WindowCenter", "WindowWidth", "VOILUTFunction",
    "SOPClassUID",
    "SegmentedRedPaletteColorLookupTableData", "SegmentedGreenPaletteColorLookupTableData",
    "SegmentedBluePaletteColorLookupTableData"
};
#define MINIMAL_KEEP_COUNT (sizeof minimal_keep_keywords / sizeof minimal_keep_keywords[0])

static size_t tag_hash(uint32_t tag)
{
    /* Murmur3 finalizer: tags cluster in a few groups, so mix before masking. */
    uint32_t h = tag;
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return (size_t)h;
}

static dv_plan_slot *slot_find(const dv_plan *p, uint32_t tag)
{
    size_t i = tag_hash(tag) & p->slot_mask;
    for (;;) {
        dv_plan_slot *s = &p->slots[i];
        if (!s->used)
            return NULL;
        if (s->tag == tag)
            return s;
        i = (i + 1) & p->slot_mask;
    }
}

/* Insert-or-get. The table is sized for every candidate up front, so there is always a free slot. */
static dv_plan_slot *slot_get(dv_plan *p, uint32_t tag)
{
    size_t i = tag_hash(tag) & p->slot_mask;
    for (;;) {
        dv_plan_slot *s = &p->slots[i];
        if (!s->used) {
            s->used = 1;
            s->tag = tag;
            s->action = DV_PLAN_NO_ACTION;
            s->follow = 0;
            s->family = 0;
            s->context = 0;
            s->any_ref = 0;
            s->pcode = DV_PC_NONE;
            s->cdcode = DV_PC_NONE;
            return s;
        }
        if (s->tag == tag)
            return s;
        i = (i + 1) & p->slot_mask;
    }
}

static int vr_index(uint16_t vr)
{
    unsigned a = vr >> 8, b = vr & 0xFF;
    if (a < 'A' || a > 'Z' || b < 'A' || b > 'Z')
        return -1;
    return (int)((a - 'A') * 26 + (b - 'A'));
}

static const char *primary_name(dv_primary_ids p)
{
    return p == DV_PRIMARY_KEEP ? "KEEP" : "REGEN"; /* UNSPECIFIED = REGEN (DECISIONS 8) */
}

static const char *profile_enum_name(dv_profile_type t)
{
    switch (t) {
    case DV_PROFILE_BASIC: return "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE";
    case DV_PROFILE_KEEP_ALL: return "KEEP_ALL_PROFILE";
    case DV_PROFILE_MINIMAL_KEEP_LIST: return "MINIMAL_KEEP_LIST_PROFILE";
    case DV_PROFILE_DEIDENTIFY_TAG_CONTENTS: return "DEIDENTIFY_TAG_CONTENTS";
    }
    return "?";
}

void dv_plan_free(dv_plan *plan)
{
    if (!plan)
        return;
    for (size_t i = 0; plan->actions && i < plan->nactions; i++)
        dv_action_params_clear(&plan->actions[i].params);
    free(plan->actions);
    free(plan->slots);
    free(plan->mqueries);
    free(plan->mprofile);
    dv_patterns_free(plan->patterns);
    dv_image_config_clear(&plan->clean_image);
    free(plan);
}

const char *dv_plan_summary(const dv_plan *plan)
{
    return plan ? plan->summary : "";
}

size_t dv_plan_warning_count(const dv_plan *plan)
{
    return plan ? plan->nwarnings : 0;
}

const char *dv_plan_warning(const dv_plan *plan, size_t i)
{
    return plan && i < plan->nwarnings ? plan->warnings[i] : NULL;
}

/* Does any masked TAG query select this tag? (Then the tag is named by a query, like an exact one.) */
static int masked_query_names(const dv_plan *p, uint32_t tag)
{
    for (size_t i = 0; i < p->nmqueries; i++)
        if ((tag & p->mqueries[i].mask) == p->mqueries[i].tag)
            return 1;
    return 0;
}

/* UID families (families.c): a member that no TAG query names takes its head's decision. */
static void compile_families(dv_plan *p)
{
    size_t nf;
    const dv_uid_family *f = dv_uid_families(&nf);
    for (size_t i = 0; i < nf; i++) {
        slot_get(p, f[i].head)->family = 1;
        for (size_t j = 0; j < f[i].nmembers; j++) {
            dv_plan_slot *s = slot_get(p, f[i].members[j]);
            s->family = 1;
            if (s->action == DV_PLAN_NO_ACTION && !masked_query_names(p, f[i].members[j]))
                s->follow = f[i].head;
        }
    }
    size_t nc;
    const dv_uid_context *c = dv_uid_contexts(&nc);
    for (size_t i = 0; i < nc && p->ncontexts < DV_PLAN_MAX_CONTEXTS; i++) {
        dv_plan_slot *s = slot_get(p, c[i].member);
        if (!s->follow) /* named by a query: the user's decision holds everywhere */
            continue;
        s->context = 1;
        p->contexts[p->ncontexts].parent = c[i].parent;
        p->contexts[p->ncontexts].member = c[i].member;
        p->contexts[p->ncontexts].head = c[i].head;
        p->ncontexts++;
    }
    size_t na;
    const uint32_t *any = dv_uid_any_refs(&na);
    for (size_t i = 0; i < na; i++)
        slot_get(p, any[i])->any_ref = 1;
}

const uint32_t dv_plan_own_ids[DV_PLAN_OWN_IDS] = {DV_TAG_STUDY_INSTANCE_UID, DV_TAG_SERIES_INSTANCE_UID,
                                                 DV_TAG_SOP_INSTANCE_UID};

static size_t family_tag_count(void)
{
    size_t nf, n = 0;
    const dv_uid_family *f = dv_uid_families(&nf);
    for (size_t i = 0; i < nf; i++)
        n += 1 + f[i].nmembers;
    size_t na;
    (void)dv_uid_any_refs(&na);
    return n + na;
}

/* Text dates shifted while the plan keeps the instance's own dates as written (KEEP_ALL with cleanTextTag): an
 * output then holds a date beside its shifted copy, so the patient's shift can be read off it, and with it every
 * date shifted for that patient under the same key, in this release or another (stop 51's red team F23). Said,
 * not refused: the config is valid, and a user may mean it. [test_engine: test_warn_shift_beside_kept_dates] */
static void warn_shift_beside_kept_dates(dv_plan *p)
{
    static const uint32_t dates[] = {DV_TAG_STUDY_DATE, 0x00080021u /* SeriesDate */,
                                     0x00080022u /* AcquisitionDate */, 0x00080023u /* ContentDate */,
                                     0x00100030u /* PatientBirthDate */};
    if (!p->cleans_text || p->text_xf[DV_IT_DATE].kind != DV_XF_DATE_SHIFT || p->nwarnings >= DV_CONFIG_MAX_WARNINGS)
        return;
    for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
        dv_match m;
        if (dv_plan_match(p, dates[i], DV_VR_DA, 0, &m) != DV_DEC_KEEP)
            continue;
        const dv_dict_entry *de = dv_dict_lookup(dates[i]);
        snprintf(p->warnings[p->nwarnings++], DV_CONFIG_WARNING_MAX,
                 "config: text dates are shifted but %s is kept: the two give the patient's shift away; shift or "
                 "remove DA/DT too, or give DATE another transformation",
                 de ? de->keyword : "a date");
        return;
    }
}

dv_plan *dv_plan_compile(const dv_config *cfg, dv_error *err)
{
    if (!cfg) {
        dv_fail(err, DV_ERR_USAGE, "dv_plan_compile: no config");
        return NULL;
    }
    /* The parser refuses what is not built; refuse again (same home) rather than silently keeping what a config
     * built in code would have changed. */
    if (dv_config_refuse_unbuilt(cfg, err) != 0)
        return NULL;
    return dv_plan_compile_all(cfg, err);
}

/* Does some ImageConfig of cfg choose boxes by their text, and does one ask for [CTX] phrases
 * (dv_plan.image_detects_text / image_ctx; the modes per gcp-api.md 5)? */
static void image_one(const dv_image_config *ic, int *detects, int *ctx)
{
    if (ic->mode == DV_REDACT_SENSITIVE_TEXT || ic->mode == DV_REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS ||
        (ic->mode == DV_TEXT_REDACTION_UNSPECIFIED && ic->nadditional))
        *detects = 1;
    if (ic->mode == DV_REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS)
        *ctx = 1;
}

static void image_text_needs(const dv_config *cfg, int *detects, int *ctx)
{
    *detects = *ctx = 0;
    if (cfg->has_clean_image)
        image_one(&cfg->clean_image, detects, ctx);
    if (cfg->has_image)
        image_one(&cfg->image, detects, ctx);
    for (size_t i = 0; i < cfg->nactions; i++)
        if (cfg->actions[i].kind == DV_ACTION_CLEAN_IMAGE)
            image_one(&cfg->actions[i].params.image, detects, ctx);
}

dv_plan *dv_plan_compile_all(const dv_config *cfg, dv_error *err)
{
    if (!cfg) {
        dv_fail(err, DV_ERR_USAGE, "dv_plan_compile: no config");
        return NULL;
    }
    if (cfg->profile != DV_PROFILE_BASIC && cfg->profile != DV_PROFILE_KEEP_ALL &&
        cfg->profile != DV_PROFILE_MINIMAL_KEEP_LIST && cfg->profile != DV_PROFILE_DEIDENTIFY_TAG_CONTENTS) {
        dv_fail(err, DV_ERR_CONFIG, "dicomTagConfig.profileType: unknown profile");
        return NULL;
    }
    for (size_t i = 0; i < cfg->nactions; i++) {
        dv_action_kind k = cfg->actions[i].kind;
        if (k < DV_ACTION_KEEP || k > DV_ACTION_CLEAN_IMAGE) {
            dv_fail(err, DV_ERR_CONFIG, "dicomTagConfig.actions[%zu]: action not supported yet", i);
            return NULL;
        }
        if (i >= DV_PLAN_NO_ACTION - 1) {
            dv_fail(err, DV_ERR_CONFIG, "dicomTagConfig.actions: too many actions");
            return NULL;
        }
    }

    dv_plan *p = calloc(1, sizeof *p);
    if (!p) {
        dv_fail(err, DV_ERR_NOMEM, "out of memory compiling the plan");
        return NULL;
    }
    p->profile = cfg->profile;
    p->primary_ids = cfg->primary_ids;
    p->legacy = cfg->legacy;
    if (cfg->profile_name[0]) {
        memcpy(p->profile_name, cfg->profile_name, sizeof p->profile_name);
        p->profile_name[sizeof p->profile_name - 1] = '\0';
    } else {
        snprintf(p->profile_name, sizeof p->profile_name, "%s", profile_enum_name(cfg->profile));
    }
    p->table = dv_profile_table_default();
    if (p->profile == DV_PROFILE_BASIC && !p->table) {
        dv_plan_free(p);
        dv_fail(err, DV_ERR_CONFIG, "dicomTagConfig.profileType: no PS3.15 table compiled in");
        return NULL;
    }
    for (size_t i = 0; i < DV_PLAN_VR_SLOTS; i++)
        p->vr_first[i] = DV_PLAN_NO_ACTION;

    /* Count the candidates for the hash and the masked lists. */
    size_t nexact = 0, nmq = 0, nmp = 0;
    p->nactions = cfg->nactions;
    for (size_t i = 0; i < cfg->nactions; i++)
        for (size_t j = 0; j < cfg->actions[i].nqueries; j++) {
            const dv_query *q = &cfg->actions[i].queries[j];
            if (q->kind == DV_QUERY_TAG) {
                if (q->mask == 0xFFFFFFFFu || q->mask == 0)
                    nexact++;
                else
                    nmq++;
            }
        }
    if (p->profile == DV_PROFILE_BASIC) {
        for (size_t i = 0; i < p->table->count; i++) {
            if (p->table->entries[i].mask == 0xFFFFFFFFu)
                nexact++;
            else
                nmp++;
        }
    } else if (p->profile == DV_PROFILE_MINIMAL_KEEP_LIST) {
        nexact += MINIMAL_KEEP_COUNT;
    }
    if (cfg->clean_descriptors && p->profile != DV_PROFILE_BASIC && p->table) /* the C rows' slots (below) */
        for (size_t i = 0; i < p->table->count; i++)
            nexact += p->table->entries[i].mask == 0xFFFFFFFFu &&
                      p->table->entries[i].opt[DV_OPT_CLEAN_DESC] == DV_PC_C;
    nexact += family_tag_count();

    size_t cap = 16;
    while (cap < 2 * nexact + 2)
        cap <<= 1;
    p->slots = calloc(cap, sizeof *p->slots);
    p->slot_mask = cap - 1;
    p->actions = calloc(cfg->nactions ? cfg->nactions : 1, sizeof *p->actions);
    p->mqueries = calloc(nmq ? nmq : 1, sizeof *p->mqueries);
    p->mprofile = calloc(nmp ? nmp : 1, sizeof *p->mprofile);
    if (!p->slots || !p->actions || !p->mqueries || !p->mprofile) {
        dv_plan_free(p);
        dv_fail(err, DV_ERR_NOMEM, "out of memory compiling the plan");
        return NULL;
    }

    /* Actions: only the first action naming a tag (or VR) matters, later ones never touch it. */
    for (size_t i = 0; i < cfg->nactions; i++) {
        const dv_config_action *a = &cfg->actions[i];
        p->actions[i].kind = a->kind;
        if (dv_action_params_copy(&p->actions[i].params, &a->params) != 0) {
            dv_plan_free(p);
            dv_fail(err, DV_ERR_NOMEM, "out of memory compiling the plan");
            return NULL;
        }
        for (size_t j = 0; j < a->nqueries; j++) {
            const dv_query *q = &a->queries[j];
            if (q->kind == DV_QUERY_TAG && (q->mask == 0xFFFFFFFFu || q->mask == 0)) {
                dv_plan_slot *s = slot_get(p, q->tag);
                if (s->action == DV_PLAN_NO_ACTION)
                    s->action = (uint32_t)i;
            } else if (q->kind == DV_QUERY_TAG) {
                dv_plan_masked *m = &p->mqueries[p->nmqueries++];
                m->tag = q->tag & q->mask;
                m->mask = q->mask;
                m->value = (uint32_t)i;
            } else if (q->kind == DV_QUERY_VR) {
                int v = vr_index(q->vr);
                if (v < 0) {
                    dv_plan_free(p);
                    dv_fail(err, DV_ERR_CONFIG, "dicomTagConfig.actions[%zu].queries[%zu]: not a VR", i, j);
                    return NULL;
                }
                if (p->vr_first[v] == DV_PLAN_NO_ACTION)
                    p->vr_first[v] = (uint32_t)i;
                p->has_vr_queries = 1;
            } else {
                dv_plan_free(p);
                dv_fail(err, DV_ERR_CONFIG, "dicomTagConfig.actions[%zu].queries[%zu]: unknown query", i, j);
                return NULL;
            }
        }
    }

    if (p->profile == DV_PROFILE_BASIC) {
        for (size_t i = 0; i < p->table->count; i++) {
            const dv_profile_entry *pe = &p->table->entries[i];
            if (pe->mask == 0xFFFFFFFFu) {
                dv_plan_slot *s = slot_get(p, pe->tag);
                if (s->pcode == DV_PC_NONE) {
                    s->pcode = pe->basic;
                    s->cdcode = pe->opt[DV_OPT_CLEAN_DESC];
                }
            } else {
                dv_plan_masked *m = &p->mprofile[p->nmprofile++];
                m->tag = pe->tag & pe->mask;
                m->mask = pe->mask;
                m->value = pe->basic; /* no masked row is C in the Clean Descriptors column */
            }
        }
    } else if (p->profile == DV_PROFILE_MINIMAL_KEEP_LIST) {
        for (size_t i = 0; i < MINIMAL_KEEP_COUNT; i++) {
            const dv_dict_entry *de = dv_dict_lookup_keyword(minimal_keep_keywords[i]);
            if (!de || de->mask != 0xFFFFFFFFu) {
                dv_plan_free(p);
                dv_fail(err, DV_ERR_CONFIG, "internal: keep-list keyword %s is not in the dictionary",
                        minimal_keep_keywords[i]);
                return NULL;
            }
            slot_get(p, de->tag)->pcode = DV_PC_K;
        }
    }
    /* options.cleanDescriptors under the other profiles: the C rows' slots (cleans_descriptor); the Basic rows
     * above hold theirs already. */
    if (cfg->clean_descriptors && p->profile != DV_PROFILE_BASIC && p->table)
        for (size_t i = 0; i < p->table->count; i++) {
            const dv_profile_entry *pe = &p->table->entries[i];
            if (pe->mask == 0xFFFFFFFFu && pe->opt[DV_OPT_CLEAN_DESC] == DV_PC_C)
                slot_get(p, pe->tag)->cdcode = DV_PC_C;
        }

    compile_families(p);
    /* Text cleaning: the TextConfig resolved once (gcp-api.md 6.1); absent = the unspecified profile (BASIC). */
    dv_text_resolve(cfg->has_text ? &cfg->text : NULL, p->text_xf);
    /* [CTX] phrases are always replaced by the "[CTX]" token (PS3.15 E.3.5; gcp-api.md 5): not configurable. */
    memset(&p->text_xf[DV_IT_CTX], 0, sizeof p->text_xf[DV_IT_CTX]);
    p->text_xf[DV_IT_CTX].kind = DV_XF_REPLACE_INFOTYPE;
    p->clean_descriptors = cfg->clean_descriptors; /* every profile (profile_decision; cleans_descriptor) */
    p->cleans_text = p->clean_descriptors || p->profile == DV_PROFILE_DEIDENTIFY_TAG_CONTENTS;
    for (size_t i = 0; i < cfg->nactions; i++)
        p->cleans_text |= cfg->actions[i].kind == DV_ACTION_CLEAN_TEXT;
    image_text_needs(cfg, &p->image_detects_text, &p->image_ctx);
    /* Compiled once per plan, only when some element can be cleaned or some pixel box is chosen by its text (a
     * metadata-only plan pays nothing). */
    if ((p->cleans_text || p->image_detects_text) && !(p->patterns = dv_patterns_new(err))) {
        dv_plan_free(p);
        return NULL;
    }
    /* Pixels (issue 11): the options' ImageConfig kept for PixelData; whether any ImageConfig redacts. */
    const dv_image_config *opt_image = cfg->has_clean_image ? &cfg->clean_image : cfg->has_image ? &cfg->image : NULL;
    if (opt_image) {
        if (dv_image_config_copy(&p->clean_image, opt_image) != 0) {
            dv_plan_free(p);
            dv_fail(err, DV_ERR_NOMEM, "out of memory");
            return NULL;
        }
        p->has_clean_image = 1;
        p->cleans_pixels = !dv_image_config_is_noop(opt_image);
    }
    for (size_t i = 0; i < cfg->nactions; i++)
        p->cleans_pixels |= cfg->actions[i].kind == DV_ACTION_CLEAN_IMAGE &&
                            !dv_image_config_is_noop(&cfg->actions[i].params.image);
    /* A sensitive mode's infoTypes are resolved here once, so a name dicomveil cannot detect is a config error
     * now rather than a failure of every instance later (dv_pixel_policy_make). [test_pixel_stage:
     * test_config_for] */
    for (size_t i = 0; i <= cfg->nactions; i++) {
        const dv_image_config *ic = i < cfg->nactions ? (cfg->actions[i].kind == DV_ACTION_CLEAN_IMAGE
                                                             ? &cfg->actions[i].params.image : NULL)
                                                       : opt_image;
        dv_pixel_policy pol;
        if (ic && dv_image_config_needs_ocr(ic) && dv_pixel_policy_make(ic, &pol, err) != 0) {
            dv_plan_free(p);
            return NULL;
        }
    }
    p->nwarnings = cfg->nwarnings < DV_CONFIG_MAX_WARNINGS ? cfg->nwarnings : DV_CONFIG_MAX_WARNINGS;
    memcpy(p->warnings, cfg->warnings, sizeof p->warnings);
    /* A TextConfig only says how text is cleaned; whether any is cleaned is decided above. A user who wrote one
     * expects text cleaned, so its having no effect is said, not left silent (Google's API takes it quietly). */
    if (cfg->has_text && !p->cleans_text && p->nwarnings < DV_CONFIG_MAX_WARNINGS)
        snprintf(p->warnings[p->nwarnings++], DV_CONFIG_WARNING_MAX,
                 "config.text: no effect: nothing in this config cleans text (that takes a cleanTextTag action, "
                 "the DEIDENTIFY_TAG_CONTENTS profile or the cleanDescriptors option)");
    warn_shift_beside_kept_dates(p);

    snprintf(p->summary, sizeof p->summary, "profile=%s primaryIds=%s actions=%zu ps3.15=%s%s", p->profile_name,
             primary_name(p->primary_ids), p->nactions, p->table ? p->table->edition : "none",
             p->legacy ? " legacy=dicom" : "");
    p->method_len = dv_markers_method(p, p->method, sizeof p->method);
    for (unsigned i = 0; i < DV_PLAN_OWN_IDS; i++) {
        dv_match m;
        if (dv_plan_match_in(p, 0, DV_IOD_CTX_UNKNOWN, dv_plan_own_ids[i], DV_VR_UI, 0, &m) == DV_DEC_REGEN_UID)
            p->regen_own_ids |= 1u << i;
    }
    /* The dates writers build UIDs from (the study's, series', acquisition's, content's and instance's creation,
     * the patient's birth): when the plan changes one, a kept UID holding a date would give it away (or the date
     * shift), so keep_ui regenerates it, and one holding the patient's ID. Not under primaryIds KEEP: the primary
     * IDs keep their dates then, and the references that may name them must too. [test_engine:
     * test_kept_ui_holding_date] */
    static const struct {
        uint32_t tag;
        uint16_t vr;
    } uid_dates[] = {{DV_TAG_STUDY_DATE, DV_VR_DA},
                     {DV_TAG_SERIES_DATE, DV_VR_DA},
                     {DV_TAG_ACQUISITION_DATE, DV_VR_DA},
                     {DV_TAG_CONTENT_DATE, DV_VR_DA},
                     {DV_TAG_ACQUISITION_DATE_TIME, DV_VR_DT},
                     {DV_TAG_INSTANCE_CREATION_DATE, DV_VR_DA},
                     {DV_TAG_PATIENT_BIRTH_DATE, DV_VR_DA}};
    for (size_t i = 0; i < sizeof uid_dates / sizeof uid_dates[0] && p->primary_ids != DV_PRIMARY_KEEP; i++) {
        dv_match m;
        p->regen_dated_uids |=
            dv_plan_match_in(p, 0, DV_IOD_CTX_UNKNOWN, uid_dates[i].tag, uid_dates[i].vr, 0, &m) != DV_DEC_KEEP;
    }
    return p;
}

dv_plan *dv_plan_from_json(const char *json, size_t len, dv_error *err)
{
    return dv_plan_from_json_flags(json, len, 0, err);
}

dv_plan *dv_plan_from_json_flags(const char *json, size_t len, unsigned flags, dv_error *err)
{
    if (!json) {
        dv_fail(err, DV_ERR_USAGE, "dv_plan_from_json: no JSON");
        return NULL;
    }
    dv_config cfg;
    memset(&cfg, 0, sizeof cfg);
    if (dv_config_parse_flags(json, len, flags, &cfg, err) != 0)
        return NULL;
    dv_plan *p = dv_plan_compile(&cfg, err);
    dv_config_clear(&cfg);
    return p;
}

int dv_elem_is_sequence(const dv_elem *e)
{
    return e->vr == DV_VR_SQ || (e->flags & DV_ELEM_SEQUENCE) != 0;
}

uint16_t dv_plan_effective_vr(const dv_elem *e)
{
    if (e->flags & DV_ELEM_SEQUENCE)
        return DV_VR_SQ;
    if (e->vr == DV_VR_UI || DV_TAG_IS_PRIVATE(e->tag))
        return e->vr;
    /* The common case: no dictionary lookup. Only UI and text attributes may be written with another VR that
     * matters, and a text VR matters only when it hides a UID attribute. */
    if (e->vr != DV_VR_UN && e->vr != 0 &&
        (!dv_dict_may_be_ui_or_text(e->tag) || (dv_vr_cleans_text(e->vr) && !dv_dict_may_be_ui(e->tag))))
        return e->vr;
    const dv_dict_entry *de = dv_dict_lookup(e->tag);
    if (!de || !de->vr || de->vr == DV_VR_SQ)
        return e->vr;
    /* A UID attribute is a UID whatever VR it was written with: StudyInstanceUID as LO is regenerated like one
     * (its references stay consistent), and a kept one is checked like one (free text in it is PHI).
     * [test_engine: test_uid_written_as_text] */
    if (e->vr == DV_VR_UN || e->vr == 0 || de->vr == DV_VR_UI)
        return de->vr;
    /* A text attribute is text whatever VR it was written with: StudyDescription as CS or OB, TextValue as IS
     * is decided, cleaned and rewritten as its one dictionary VR (LO, UT), or a name in it would pass every
     * rule that goes by text VRs (DEIDENTIFY_TAG_CONTENTS, cleanDescriptors, the deny-list's sources).
     * [test_engine: test_text_written_as_code] */
    if (!de->multi_vr && dv_vr_cleans_text(de->vr) && !dv_vr_cleans_text(e->vr) && e->vr != DV_VR_SQ)
        return de->vr;
    return e->vr;
}

/* An action applied to the VR the element actually has. Actions that do not fit the VR degrade towards
 * privacy: regenUidTag on a non-UI value gets a dummy, recurseTag on a non-sequence keeps it (there is
 * nothing nested to recurse into, and keep is what the user asked for around it). */
static dv_decision action_decision(dv_action_kind k, uint32_t tag, uint16_t vr, int is_seq)
{
    switch (k) {
    case DV_ACTION_KEEP: return DV_DEC_KEEP;
    case DV_ACTION_REMOVE: return DV_DEC_EMPTY;
    case DV_ACTION_DELETE: return DV_DEC_DELETE;
    case DV_ACTION_RESET: return is_seq ? DV_DEC_RESET_TREE : DV_DEC_DUMMY;
    case DV_ACTION_REGEN_UID:
        if (is_seq)
            return DV_DEC_RESET_TREE;
        return vr == DV_VR_UI ? DV_DEC_REGEN_UID : DV_DEC_DUMMY;
    case DV_ACTION_RECURSE: return is_seq ? DV_DEC_KEEP_RECURSE : DV_DEC_KEEP;
    case DV_ACTION_CLEAN_IMAGE:
        /* The walk keeps the pixels; the pixel stage (pixel_stage.c) reads the mode from dv_match.params for
         * the top-level PixelData. Nested elements "revert to Keep" (gcp-api.md 3.3). */
        return DV_DEC_KEEP;
    case DV_ACTION_CLEAN_TEXT:
        /* A text VR is cleaned; a private tag whose VR turns out not to be text (the config could not check
         * it) degrades towards privacy like the other actions (docs/text.md). A private creator stays: it is
         * the name of a vendor's block ("SIEMENS MR HEADER"), and cleaned as text ("SIEMENS MR [PERSON_NAME]":
         * HEADER is a surname) the block's kept elements lost their owner (stop 46's validity audit;
         * docs/decisions.md "A private creator is never cleaned as text"; test_engine:
         * test_private_un_text_cleaned, both rules). */
        if (DV_TAG_IS_PRIVATE_CREATOR(tag))
            return DV_DEC_KEEP;
        if (dv_clean_text_vr(vr) && !is_seq)
            return DV_DEC_CLEAN_TEXT;
        break;
    }
    /* Unreachable: compile refuses other kinds. Privacy first. */
    return is_seq ? DV_DEC_RESET_TREE : DV_DEC_DUMMY;
}

/* The profile's D: a dummy, or for a sequence every nested element reset, keeping the IOD valid. */
static dv_decision dummy_decision(int is_seq)
{
    return is_seq ? DV_DEC_RESET_CONFORM : DV_DEC_DUMMY;
}

/* The U treatment of X/Z/U*: recurse into sequences and regenerate UIDs; other VRs get Z. */
static dv_decision uid_decision(uint16_t vr, int is_seq)
{
    if (is_seq)
        return DV_DEC_KEEP_RECURSE;
    return vr == DV_VR_UI ? DV_DEC_REGEN_UID : DV_DEC_EMPTY;
}

/* A composite code resolved by the attribute's type in the instance's IOD (DECISIONS 3): Type 1 -> D (U for
 * X/Z/U*), Type 2 -> Z, Type 3 -> X. 1C and 2C count as 1 and 2: the element is present, so its condition is
 * taken to hold, and a dummy / empty value is valid either way. X/Z on a Type 1 attribute (no D in the code)
 * also gets D: Z would break the IOD and the value is gone either way. [test_engine.c test_decide_by_iod_type] */
static dv_decision composite_decision(dv_pcode pcode, dv_attr_type type, uint16_t vr, int is_seq)
{
    switch (type) {
    case DV_ATTR_1:
    case DV_ATTR_1C:
        if (pcode == DV_PC_XZU && (is_seq || vr == DV_VR_UI))
            return uid_decision(vr, is_seq);
        return dummy_decision(is_seq);
    case DV_ATTR_2:
    case DV_ATTR_2C:
        return DV_DEC_EMPTY;
    case DV_ATTR_3:
        return DV_DEC_DELETE;
    case DV_ATTR_UNKNOWN:
        break;
    }
    /* Unknown IOD or attribute: the DECISIONS 3 fallbacks. */
    switch (pcode) {
    case DV_PC_XZ: return DV_DEC_EMPTY;
    case DV_PC_XZU: return uid_decision(vr, is_seq);
    default: return dummy_decision(is_seq);
    }
}

/* PS3.15 Table E.1-1 Basic Profile code -> decision (DECISIONS 3), at a place of the instance's IOD (ctx). The
 * type is looked up only for the codes it can change: the composites, and X / Z on attributes the IOD requires,
 * where a careful de-identifier keeps the instance valid and the value is gone either way: X on Type 1/1C -> D,
 * X on Type 2/2C -> Z (e.g. ResponsiblePerson of an animal), Z on Type 1/1C -> D.
 * [test_engine.c test_decide_by_iod_type] */
static dv_decision basic_decision(uint8_t pcode, uint16_t vr, int is_seq, dv_iod_ctx ctx, uint32_t tag)
{
    switch ((dv_pcode)pcode) {
    case DV_PC_NONE: /* not in the table: keep, but the profile still applies inside sequences */
    case DV_PC_K:
        return is_seq ? DV_DEC_KEEP_RECURSE : DV_DEC_KEEP;
    case DV_PC_X:
        switch (dv_iod_type(ctx, tag)) {
        case DV_ATTR_1: case DV_ATTR_1C: return dummy_decision(is_seq);
        case DV_ATTR_2: case DV_ATTR_2C: return DV_DEC_EMPTY;
        default: return DV_DEC_DELETE;
        }
    case DV_PC_Z: {
        dv_attr_type t = dv_iod_type(ctx, tag);
        return (t == DV_ATTR_1 || t == DV_ATTR_1C) ? dummy_decision(is_seq) : DV_DEC_EMPTY;
    }
    case DV_PC_XZ:
    case DV_PC_XD:
    case DV_PC_ZD:
    case DV_PC_XZD:
    case DV_PC_XZU:
        return composite_decision((dv_pcode)pcode, dv_iod_type(ctx, tag), vr, is_seq);
    case DV_PC_D:
    case DV_PC_C: /* C does not occur in the Basic column; clean = dummy until text cleaning exists */
        return dummy_decision(is_seq);
    case DV_PC_U:
        if (is_seq)
            return DV_DEC_KEEP_RECURSE;
        return vr == DV_VR_UI ? DV_DEC_REGEN_UID : DV_DEC_DUMMY;
    }
    return dummy_decision(is_seq);
}

/* A UR attribute whose value is a code, not an address: URNCodeValue (0008,0120) and CodingSchemeURL
 * (0008,010E) name a concept or a coding scheme (Type 1C in a Code Sequence item: removed, the item is no longer
 * a code); RelativeURIReferenceWithinEncapsulatedDocument (0068,7005) points inside the instance's own document.
 * [test_engine: test_unlisted_names_and_addresses] */
static int is_code_ur(uint32_t tag)
{
    return tag == 0x0008010Eu || tag == 0x00080120u || tag == 0x00687005u;
}

/* A PN or UR value, as written or as the dictionary gives the attribute (a name written as LO), other than a
 * code written as UR (is_code_ur). */
static int is_name_or_address(uint32_t tag, uint16_t vr)
{
    if (is_code_ur(tag))
        return 0;
    if (vr == DV_VR_PN || vr == DV_VR_UR)
        return 1;
    const dv_dict_entry *de = dv_dict_lookup(tag);
    return de && !de->multi_vr && (de->vr == DV_VR_PN || de->vr == DV_VR_UR);
}

/* Attributes the 2025c table has no row for that hold what its X rows remove (stop 37's red team found them kept
 * under Basic): the patient's birth and death dates written in another calendar (the same dates as
 * PatientBirthDate's and PatientDeathDate's X rows) and the calendar's name that goes with them, the retired
 * placer and filler order numbers of a procedure (as the imaging service request's, which have rows), the
 * comments on a scheduled procedure step (as the other comments' X rows), and, at the top level (parent 0), a text value or an annotation's text standing outside the
 * sequences that hold them (ContentSequence, GraphicAnnotationSequence: rows that remove or reset them; a
 * WaveformAnnotationSequence's `ECG NORMALE` is the waveform's reading and stays). docs/decisions.md "Names and
 * addresses the table does not list". */
static int is_unlisted_record(uint32_t tag, uint32_t parent)
{
    switch (tag) {
    case 0x00100033u: /* PatientBirthDateInAlternativeCalendar */
    case 0x00100034u: /* PatientDeathDateInAlternativeCalendar */
    case 0x00100035u: /* PatientAlternativeCalendar: Type 1C, present only with one of the two dates */
    case 0x00401006u: /* PlacerOrderNumberProcedure (retired) */
    case 0x00401007u: /* FillerOrderNumberProcedure (retired) */
    case 0x00400400u: /* CommentsOnTheScheduledProcedureStep */
        return 1;
    case 0x0040A160u: /* TextValue */
    case 0x00700006u: /* UnformattedTextValue */
        return parent == 0;
    /* The issuers of the patient's ID, the accession number and the orders, as sequences (stop 51's red team F14:
     * the institution's name and OID kept in them beside the removed IssuerOfPatientID and InstitutionName; the
     * table's rows remove the other issuer sequences, IssuerOfAdmissionIDSequence's X). */
    case 0x00100024u: /* IssuerOfPatientIDQualifiersSequence */
    case 0x00080051u: /* IssuerOfAccessionNumberSequence */
    case 0x00400026u: /* OrderPlacerIdentifierSequence */
    case 0x00400027u: /* OrderFillerIdentifierSequence */
        return 1;
    default:
        return 0;
    }
}

/* A date or date-time, as written or as the dictionary gives the attribute: with no row of its own
 * (StudyUpdateDateTime, ProcedureCreationDate, ExpiryDate, ItemInventoryDateTime: attributes newer than the table's
 * edition) it goes as an X row would (stop 51's red team F15: the true study date kept in them beside the emptied
 * StudyDate). docs/decisions.md "Names and addresses the table does not list". */
static int is_date(uint32_t tag, uint16_t vr)
{
    if (vr == DV_VR_DA || vr == DV_VR_DT)
        return 1;
    const dv_dict_entry *de = dv_dict_lookup(tag);
    return de && !de->multi_vr && (de->vr == DV_VR_DA || de->vr == DV_VR_DT);
}

/* options.cleanDescriptors: an attribute coded C in PS3.15 Table E.1-1's Clean Descriptors column, of a text
 * VR, is cleaned. Under the Basic profile instead of its Basic code (PS3.15 E.3.5); under KEEP_ALL instead of
 * kept as written; under MINIMAL_KEEP_LIST only where the list keeps it (an option never brings back what the
 * profile deletes: privacy first); under DEIDENTIFY_TAG_CONTENTS every text is cleaned anyway, and the option
 * adds [CTX] (text_stage.c). Before, it took effect under Basic only and was silently ignored under the others
 * (stop 43's red team: a description naming the patient kept under KEEP_ALL). [test_text_stage:
 * test_clean_descriptors_every_profile] */
static int cleans_descriptor(const dv_plan *p, const dv_plan_slot *s, uint16_t vr, int is_seq)
{
    return p->clean_descriptors && s && s->cdcode == DV_PC_C && !is_seq && dv_clean_text_vr(vr);
}

/* A standard attribute people write free text in: its PS3.6 keyword names a description, comment, title, label,
 * note, remark, reason, purpose, annotation or text (DocumentTitle, SegmentDescription, ContentDescription,
 * UnformattedTextValue): DV_FREE_TEXT. Or one they write a chosen name in: its keyword names a name, a meaning, a
 * value or a method (stop 51's red team: the patient's name and ID kept whole in AcquisitionProtocolName,
 * SequenceName, BeamName, RTImageName, ContactDisplayName, HangingProtocolName, a local code's CodeMeaning,
 * LongCodeValue, an earlier DeidentificationMethod): DV_FREE_NAME. Not the vendor's names for itself, its models and
 * its software and the addresses devices fill in (Manufacturer, ManufacturerModelName, AlgorithmName,
 * CodingSchemeDesignator, UniversalEntityID): a patient called Test, as test data are, emptied them in the shared
 * corpus. */
static int free_text_word_at(const char *k)
{
    switch (*k) { /* keywords are CamelCase: each word starts with its capital */
    case 'A': return !strncmp(k, "Annotation", 10) ? DV_FREE_TEXT : 0;
    case 'C': return !strncmp(k, "Comment", 7) ? DV_FREE_TEXT : 0;
    case 'D': return !strncmp(k, "Description", 11) ? DV_FREE_TEXT : 0;
    case 'L': return !strncmp(k, "Label", 5) ? DV_FREE_TEXT : 0;
    case 'M': return !strncmp(k, "Meaning", 7) || !strncmp(k, "Method", 6) ? DV_FREE_NAME : 0;
    case 'N': return !strncmp(k, "Note", 4) ? DV_FREE_TEXT : !strncmp(k, "Name", 4) ? DV_FREE_NAME : 0;
    case 'P': return !strncmp(k, "Purpose", 7) ? DV_FREE_TEXT : 0;
    case 'R': return !strncmp(k, "Remark", 6) || !strncmp(k, "Reason", 6) ? DV_FREE_TEXT : 0;
    case 'T': return !strncmp(k, "Title", 5) || !strncmp(k, "Text", 4) ? DV_FREE_TEXT : 0;
    case 'V': return !strncmp(k, "Value", 5) ? DV_FREE_NAME : 0;
    default: return 0;
    }
}

/* The keyword's words decide (free_text_word_at): a free-text word wins over a name's (TextValue). */
static int free_text_field(uint32_t tag)
{
    const dv_dict_entry *de = dv_dict_lookup(tag);
    const char *k = de ? de->keyword : NULL;
    /* the vendor's names for itself, its models and its software (AlgorithmName, SegmentAlgorithmName `test` in
     * a shared-corpus segmentation whose patient is called Test) */
    if (k && (!strncmp(k, "Manufacturer", 12) || strstr(k, "Algorithm")))
        return 0;
    int kind = 0;
    for (; k && *k && kind != DV_FREE_TEXT; k++)
        if (*k >= 'A' && *k <= 'Z') {
            int w = free_text_word_at(k);
            kind = w > kind ? w : kind;
        }
    return kind;
}

/* Does the profile, keeping tag (VR vr) as it is, keep a free-text value that a de-identified instance should not
 * hold the patient's own values in? The Basic profile keeps every attribute its table has no row for (DECISIONS 3):
 * a text (free_text_field: DocumentTitle, SegmentDescription, ContentDescription) or the codes that are chosen
 * names (ContentLabel, ReferencedFileID's file and folder names); DEIDENTIFY_TAG_CONTENTS keeps codes as they are
 * (it cleans the other text VRs): those two. A code in a sequence the profile resets (reset_conform) is asked the
 * same. Stop 49's red team found the patient's name kept in each of those. */
static int kept_free_text(const dv_plan *p, uint32_t tag, uint16_t vr)
{
    if (DV_TAG_IS_PRIVATE(tag))
        return 0;
    /* A code (CS) only where its values are names people choose: most CS attributes whose keyword reads as free
     * text are enumerated (GraphicAnnotationUnits PIXEL, BoundingBoxTextHorizontalJustification LEFT), and
     * PLACEHOLDER is none of their values (the review: a patient called Pixel made three invalid) */
    if (vr == DV_VR_CS)
        return (p->profile == DV_PROFILE_BASIC || p->profile == DV_PROFILE_DEIDENTIFY_TAG_CONTENTS) &&
                       (tag == DV_TAG_CONTENT_LABEL || tag == DV_TAG_REFERENCED_FILE_ID)
                   ? DV_FREE_TEXT
                   : 0;
    return p->profile == DV_PROFILE_BASIC &&
                   (vr == DV_VR_LO || vr == DV_VR_LT || vr == DV_VR_SH || vr == DV_VR_ST || vr == DV_VR_UC ||
                    vr == DV_VR_UT)
               ? free_text_field(tag)
               : 0;
}

/* Step 3 of the precedence: the profile's decision for a tag no action or option decided, at IOD context ctx. */
static dv_decision profile_decision(const dv_plan *p, const dv_plan_slot *s, uint32_t parent, uint32_t tag,
                                    uint16_t vr, int is_seq, dv_iod_ctx ctx)
{
    switch (p->profile) {
    case DV_PROFILE_KEEP_ALL:
        if (cleans_descriptor(p, s, vr, is_seq))
            return DV_DEC_CLEAN_TEXT;
        return is_seq ? DV_DEC_KEEP_RECURSE : DV_DEC_KEEP;
    case DV_PROFILE_MINIMAL_KEEP_LIST:
        if (DV_TAG_IS_PRIVATE(tag))
            return DV_DEC_DELETE;
        if (!s || s->pcode != DV_PC_K)
            return DV_DEC_DELETE;
        return cleans_descriptor(p, s, vr, is_seq) ? DV_DEC_CLEAN_TEXT : DV_DEC_KEEP;
    case DV_PROFILE_BASIC: {
        if (DV_TAG_IS_PRIVATE(tag)) /* private elements and their creators */
            return DV_DEC_DELETE;
        /* The Overlay Plane module (60xx,eeee) goes with its OverlayData (60xx,3000, code X, Type 1): the module
         * is optional, an overlay without its data is not. Unless something keeps the data (an action).
         * [test_engine.c test_decide_basic, test_overlay_module] */
        dv_match data;
        if ((tag & 0xFF010000u) == 0x60000000u && DV_TAG_ELEMENT(tag) != 0x3000 &&
            dv_plan_match_in(p, 0, ctx, (tag & 0xFFFF0000u) | 0x3000u, DV_VR_OW, 0, &data) == DV_DEC_DELETE)
            return DV_DEC_DELETE;
        uint8_t pcode = s ? s->pcode : DV_PC_NONE;
        if (pcode == DV_PC_NONE)
            for (size_t i = 0; i < p->nmprofile; i++)
                if ((tag & p->mprofile[i].mask) == p->mprofile[i].tag) {
                    pcode = (uint8_t)p->mprofile[i].value;
                    break;
                }
        /* A person's name or an address with no row of its own (an attribute newer than the table's edition,
         * DICONDE's EvaluatorName, RetrieveURL naming the source server and study), a date (is_date) and the
         * unlisted records (is_unlisted_record) go as an X row would: the table lists what it knows, and these VRs
         * say what they hold. docs/decisions.md "Names and addresses
         * the table does not list". */
        if (pcode == DV_PC_NONE &&
            ((!is_seq && (is_name_or_address(tag, vr) || is_date(tag, vr))) || is_unlisted_record(tag, parent)))
            pcode = DV_PC_X;
        /* options.cleanDescriptors: rows coded C in the PS3.15 Clean Descriptors column are cleaned instead
         * of what the Basic column says (issue 6; test_text_stage: test_clean_descriptors_wall). */
        if (cleans_descriptor(p, s, vr, is_seq))
            return DV_DEC_CLEAN_TEXT;
        return basic_decision(pcode, vr, is_seq, ctx, tag);
    }
    case DV_PROFILE_DEIDENTIFY_TAG_CONTENTS:
        /* Every element of a text VR, at every level, is cleaned; every other element is kept (issue 6). An
         * EncapsulatedDocument (OB) is text too when it is a CDA or a report: the text stage cleans it, or empties
         * a document it cannot read (docs/decisions.md "Encapsulated documents under DEIDENTIFY_TAG_CONTENTS"). */
        if (is_seq)
            return DV_DEC_KEEP_RECURSE;
        if (tag == DV_TAG_ENCAPSULATED_DOCUMENT)
            return DV_DEC_CLEAN_TEXT;
        if (DV_TAG_IS_PRIVATE_CREATOR(tag))
            return DV_DEC_KEEP; /* never cleaned as text: see DV_ACTION_CLEAN_TEXT */
        return dv_clean_text_vr(vr) ? DV_DEC_CLEAN_TEXT : DV_DEC_KEEP;
    }
    return DV_DEC_DELETE; /* unreachable: compile refuses other profiles */
}

static dv_decision matched(dv_match *m, dv_match_source src, dv_decision d)
{
    m->source = src;
    return m->decision = d;
}

/* Step 1 of dv_plan_match_in (after the UID family's head is found): the first action (lowest index) whose queries
 * match tag (the head), VR vr; 1 with m and *d set, 0 when none does. */
static inline int match_action(const dv_plan *p, const dv_plan_slot *s, uint32_t tag, uint16_t vr, int is_seq, dv_match *m,
                        dv_decision *d)
{
    /* 1. actions: the first action (lowest index) whose queries match. */
    uint32_t first = s ? s->action : DV_PLAN_NO_ACTION;
    int vi = vr_index(vr);
    if (vi >= 0 && p->vr_first[vi] < first)
        first = p->vr_first[vi];
    /* A VR query also matches a standard element by its dictionary VR: PatientName written as UT is a PN, and
     * a "PN" query meant to reach every name (it reached PatientName as UN, not as UT or LO). [test_engine:
     * test_vr_query_matches_dictionary_vr] */
    if (p->has_vr_queries && !DV_TAG_IS_PRIVATE(tag)) {
        const dv_dict_entry *de = dv_dict_lookup(tag);
        int dvi = de && de->vr && de->vr != vr ? vr_index(de->vr) : -1;
        if (dvi >= 0 && p->vr_first[dvi] < first)
            first = p->vr_first[dvi];
    }
    for (size_t i = 0; i < p->nmqueries; i++)
        if ((tag & p->mqueries[i].mask) == p->mqueries[i].tag && p->mqueries[i].value < first)
            first = p->mqueries[i].value;
    if (first != DV_PLAN_NO_ACTION) {
        m->action = first;
        m->kind = p->actions[first].kind;
        m->params = &p->actions[first].params;
        *d = matched(m, DV_MATCH_ACTION, action_decision(m->kind, tag, vr, is_seq));
        return 1;
    }
    return 0;
}

static void match_clear(dv_match *m, uint32_t tag)
{
    m->action = DV_PLAN_NO_ACTION;
    m->kind = 0;
    m->free_text = 0;
    m->params = NULL;
    m->decided_tag = tag;
}

/* The start of a match: m cleared, and the slot of tag or of the UID its family follows (m->decided_tag, *tag). */
static inline const dv_plan_slot *match_start(const dv_plan *p, uint32_t parent, uint32_t *tag, dv_match *m)
{
    match_clear(m, *tag);
    const dv_plan_slot *s = slot_find(p, *tag);
    /* UID families: a reference not named by a TAG query is decided as the UID it references. */
    if (s && s->follow) {
        uint32_t head = s->follow;
        if (s->context && parent)
            for (size_t i = 0; i < p->ncontexts; i++)
                if (p->contexts[i].parent == parent && p->contexts[i].member == *tag)
                    head = p->contexts[i].head;
        *tag = m->decided_tag = head;
        s = slot_find(p, head);
    }
    return s;
}

int dv_plan_match_action(const dv_plan *p, uint32_t parent, uint32_t tag, uint16_t vr, int is_seq, dv_match *m,
                         dv_decision *d)
{
    if (dv_tag_is_group_length(tag))
        return 0;
    const dv_plan_slot *s = match_start(p, parent, &tag, m);
    return match_action(p, s, tag, vr, is_seq, m, d);
}

dv_decision dv_plan_match_in(const dv_plan *p, uint32_t parent, dv_iod_ctx ctx, uint32_t tag, uint16_t vr,
                             int is_seq, dv_match *m)
{
    /* Group lengths would be wrong after editing; the writer does not need them. */
    if (dv_tag_is_group_length(tag)) {
        match_clear(m, tag);
        return matched(m, DV_MATCH_RULE, DV_DEC_DELETE);
    }
    const dv_plan_slot *s = match_start(p, parent, &tag, m);
    dv_decision ad;
    if (match_action(p, s, tag, vr, is_seq, m, &ad))
        return ad;

    /* 2. options.primaryIds, at every nesting level. */
    if (tag == DV_TAG_STUDY_INSTANCE_UID || tag == DV_TAG_SERIES_INSTANCE_UID || tag == DV_TAG_SOP_INSTANCE_UID) {
        if (p->primary_ids == DV_PRIMARY_KEEP)
            return matched(m, DV_MATCH_PRIMARY_IDS, is_seq ? DV_DEC_KEEP_RECURSE : DV_DEC_KEEP);
        return matched(m, DV_MATCH_PRIMARY_IDS, action_decision(DV_ACTION_REGEN_UID, tag, vr, is_seq));
    }

    /* 3. the profile. A reference that may name any primary ID (families.c any_refs) kept by the profile is
     * regenerated when one of them is: the decision is that primary ID's. */
    dv_decision d = profile_decision(p, s, parent, tag, vr, is_seq, ctx);
    if (d == DV_DEC_KEEP && s && s->any_ref && !is_seq) {
        for (size_t i = 0; i < DV_PLAN_OWN_IDS; i++) {
            dv_match hm;
            if (dv_plan_match_in(p, parent, ctx, dv_plan_own_ids[i], vr, 0, &hm) == DV_DEC_REGEN_UID) {
                *m = hm;
                return DV_DEC_REGEN_UID;
            }
        }
    }
    m->free_text = d == DV_DEC_KEEP ? (uint8_t)kept_free_text(p, tag, vr) : 0;
    return matched(m, DV_MATCH_PROFILE, d);
}


dv_decision dv_plan_match(const dv_plan *p, uint32_t tag, uint16_t vr, int is_seq, dv_match *m)
{
    return dv_plan_match_in(p, 0, DV_IOD_CTX_UNKNOWN, tag, vr, is_seq, m);
}

dv_decision dv_plan_decide(const dv_plan *p, uint32_t tag, uint16_t vr, int is_seq)
{
    dv_match m;
    return dv_plan_match_in(p, 0, DV_IOD_CTX_UNKNOWN, tag, vr, is_seq, &m);
}

int dv_plan_reset_keeps_uid(const dv_plan *p, uint32_t parent, uint32_t tag, uint16_t vr, dv_match *m)
{
    if (vr != DV_VR_UI)
        return 0;
    const dv_plan_slot *s = slot_find(p, tag);
    if (!s || !s->family)
        return 0;
    return dv_plan_match_in(p, parent, DV_IOD_CTX_UNKNOWN, tag, vr, 0, m) == DV_DEC_KEEP;
}
