/* The text stage (issue 6 items 3-4): for an element the plan decided DV_DEC_CLEAN_TEXT, decode its value with
 * the instance's (inherited) SpecificCharacterSet, find sensitive spans (the detectors, plus the Clean
 * Descriptors [CTX] phrases gathered from the instance's own original values), transform them per the plan's
 * TextConfig (src/text/transform.c), re-encode into the original set and write the value back. A value nothing
 * was found in keeps its bytes exactly. When a rewritten value cannot be encoded in the instance's set, the
 * instance is switched to ISO_IR 192 and every text value re-encoded, so the instance stays consistent.
 * The plan decides, this stage acts (ARCHITECTURE.md). Per-worker state lives in dv_text_worker; nothing is
 * static. Messages name tags, never values. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicomveil/dicomveil.h"
#include "dicom/dv_charset.h"
#include "dicom/dv_uid_syntax.h"
#include "dict/dv_dict.h"
#include "dicom/dv_vr.h"
#include "engine/document_text.h"
#include "engine/dv_plan.h"
#include "engine/name_forms.h"
#include "engine/text_memo.h"
#include "text/denylist.h"
#include "text/escapes.h"
#include "text/dv_ctx.h"
#include "text/lexicon.h"
#include "text/patterns.h"
#include "text/tokens.h"
#include "util/dv_utf8.h"

#define DV_TAG_SPECIFIC_CHARACTER_SET_ 0x00080005u
#define DV_TAG_PATIENT_ID_ 0x00100020u
#define DV_TAG_ENCAPSULATED_DOCUMENT_ 0x00420011u

struct dv_text_worker {
    dv_charset_ctx *cs;
    dv_name_forms *forms; /* the converters of apply.c's name forms (name_forms.h), made on first use */
    dv_findings f;
    dv_strbuf out;
    char *dec;
    size_t deccap;
    uint8_t *raw, *enc;
    size_t rawcap, enccap;
    dv_ctx_list *ctx;
    dv_text_scratch *scratch; /* the pattern detectors' per-worker state (made on first use) */
    dv_denylist *dl;          /* the instance's own identifying values (PHI: memory only, never written) */
    dv_pn_memo *pn_memo;      /* the parts of PNs met before (denylist.h; NULL: none yet, or no memory: same list) */
    /* The deny-list's source values of this and of the previous instance (records of deny_record): a list
     * built from byte-identical sources is the same list, so it is kept (DECISIONS: docs/decisions.md "The
     * deny-list is rebuilt only when its sources change"). deny_gen changes whenever the list is rebuilt. */
    uint8_t *src, *prev_src;
    size_t src_n, src_cap, prev_n, prev_cap;
    int prev_valid;
    uint64_t deny_gen;
    dv_text_memo *memo; /* detector results of values seen before (text_memo.h); NULL: none */
    /* The last date shift computed with the run's key: its key bytes, identity ('P' PatientID / 'S' study UID +
     * the value) and days. A series' instances share the identity, and the shift is one HMAC each otherwise. */
    uint8_t shift_key[64];
    size_t shift_key_len;
    char shift_id[DV_PATIENT_ID_MAX + DV_UID_MAX + 16];
    size_t shift_id_len;
    int shift_days;
    dv_text_detect_fn fn;
    void *user;
    dv_text_observer_fn obs; /* inspect's observer (NULL: none) and its element-path scratch */
    void *obs_user;
    uint32_t *path_tags, *path_items;
    size_t path_cap;
    dv_text_instance ti;
    char pid[DV_PATIENT_ID_MAX + 1], suid[DV_UID_MAX + 8]; /* PatientID in any character set; a UID */
    uint32_t counts[DV_IT_COUNT];
    /* UIDs named in text (swap_uids): regenerated with key when the plan regenerates primary IDs (regen_uids);
     * the instance's own primary UIDs, as read (begin_instance), are regenerated whatever their shape. */
    const dv_key *key;
    int regen_uids;
    char own_uid[DV_PLAN_OWN_IDS][DV_UID_MAX + 1];
    size_t own_uid_len[DV_PLAN_OWN_IDS];
    int nown_uid;
    dv_strbuf uidbuf; /* a text with its UIDs replaced */
    dv_escapes refs; /* a value's or document's decoded copy and its escapes (text/escapes.h) */
    char *subst;     /* the text a transformation reads (dv_esc_substitute) */
    size_t substcap;
};

dv_text_worker *dv_text_worker_new(void)
{
    dv_text_worker *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->cs = dv_charset_ctx_new();
    w->ctx = dv_ctx_list_new();
    w->memo = dv_text_memo_new(); /* without it nothing is memoised: same results, slower */
    if (!w->cs || !w->ctx) {
        dv_text_worker_free(w);
        return NULL;
    }
    return w;
}

void dv_text_worker_free(dv_text_worker *w)
{
    if (!w)
        return;
    dv_charset_ctx_free(w->cs);
    dv_name_forms_free(w->forms);
    dv_ctx_list_free(w->ctx);
    dv_text_scratch_free(w->scratch);
    dv_denylist_free(w->dl);
    dv_text_memo_free(w->memo);
    dv_pn_memo_free(w->pn_memo);
    if (w->src)
        memset(w->src, 0, w->src_cap); /* PHI: not left behind in freed memory */
    if (w->prev_src)
        memset(w->prev_src, 0, w->prev_cap);
    free(w->src);
    free(w->prev_src);
    memset(w->shift_key, 0, sizeof w->shift_key);
    dv_findings_free(&w->f);
    dv_strbuf_free(&w->out);
    dv_strbuf_free(&w->uidbuf);
    dv_escapes_free(&w->refs);
    free(w->subst);
    free(w->dec);
    free(w->raw);
    free(w->enc);
    free(w->path_tags);
    free(w->path_items);
    free(w);
}

dv_name_forms *dv_text_worker_name_forms(dv_text_worker *w)
{
    if (!w->forms)
        w->forms = dv_name_forms_new();
    return w->forms;
}

void dv_text_worker_set_observer(dv_text_worker *w, dv_text_observer_fn fn, void *user)
{
    w->obs = fn;
    w->obs_user = user;
}

void dv_text_worker_set_detector(dv_text_worker *w, dv_text_detect_fn fn, void *user)
{
    w->fn = fn;
    w->user = user;
}

const uint32_t *dv_text_worker_counts(const dv_text_worker *w)
{
    return w->counts;
}

const struct dv_denylist *dv_text_worker_denylist(const dv_text_worker *w)
{
    return w ? w->dl : NULL;
}

static int grow(void **buf, size_t *cap, size_t need, dv_error *err)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    void *b = realloc(*buf, c);
    if (!b)
        return dv_fail(err, DV_ERR_NOMEM, "out of memory in the text stage");
    *buf = b;
    *cap = c;
    return 0;
}

/* The raw bytes of e (inline, bulk or external) in w->raw. */
static int load_raw(dv_text_worker *w, const dv_instance *inst, const dv_elem *e, const uint8_t **v, dv_error *err)
{
    if (e->length > DV_TEXT_VALUE_MAX || e->length == DV_UNDEFINED_LENGTH)
        return dv_fail(err, DV_ERR_LIMIT, "text value at " TAGF " exceeds the %u-byte limit", TAGA(e->tag),
                       DV_TEXT_VALUE_MAX);
    const uint8_t *in = dv_elem_inline_value(e);
    if (in) {
        *v = in;
        return 0;
    }
    if (grow((void **)&w->raw, &w->rawcap, (size_t)e->length + 1, err))
        return -1;
    if (dv_elem_read_value(inst, e, w->raw, e->length) != 0)
        return dv_fail(err, DV_ERR_IO, "cannot read the value of " TAGF, TAGA(e->tag));
    *v = w->raw;
    return 0;
}

/* Decode e's value into w->dec; *n its length, *style the ISO 2022 habits to encode back with. */
static int decode(dv_text_worker *w, const dv_instance *inst, const dv_elem *e, uint16_t vr, const dv_charset *cs,
                  size_t *n, unsigned *style, dv_error *err)
{
    const uint8_t *v = NULL; /* set by load_raw on success (initialised for GCC -O3's maybe-uninitialized) */
    if (load_raw(w, inst, e, &v, err) ||
        grow((void **)&w->dec, &w->deccap, DV_CHARSET_DECODE_BOUND((size_t)e->length) + 1, err))
        return -1;
    dv_charset def;
    if (!dv_charset_vr_applies(vr)) {
        dv_charset_default(&def);
        cs = &def;
    }
    dv_cs_decoded d;
    if (dv_charset_decode(w->cs, cs, vr, v, (size_t)e->length, w->dec, w->deccap, &d, err))
        return -1;
    *n = d.len;
    *style = d.style;
    return 0;
}

static int is_removed_code(uint8_t c)
{
    return c == DV_PC_D || c == DV_PC_Z || c == DV_PC_X || c == DV_PC_U || c == DV_PC_XZ || c == DV_PC_XD ||
           c == DV_PC_ZD || c == DV_PC_XZD || c == DV_PC_XZU;
}

/* The deny-list's sources besides every PN element (issue 6 item 2; docs/text.md "Deny-list sources"), at any
 * nesting level (OtherPatientIDsSequence, the physician and person identification sequences hold them too).
 * Sorted by tag. InstitutionalDepartmentName is left out on purpose: its values are clinical words
 * (RADIOLOGY, CARDIOLOGY) that would then vanish from every description. */
enum { DL_DATE = 1, DL_ADDRESS, DL_VALUE };
typedef struct deny_source {
    uint32_t tag;
    uint8_t how;
    uint8_t type; /* dv_infotype */
} deny_source;
static const deny_source DENY_SOURCES[] = {
    {0x00080050u, DL_VALUE, DV_IT_MEDICAL_RECORD_NUMBER}, /* AccessionNumber */
    {0x00080080u, DL_VALUE, DV_IT_ORGANIZATION_NAME},     /* InstitutionName */
    {0x00080081u, DL_ADDRESS, 0},                         /* InstitutionAddress */
    {0x00080092u, DL_ADDRESS, 0},                         /* ReferringPhysicianAddress */
    {0x00080094u, DL_VALUE, DV_IT_PHONE_NUMBER},          /* ReferringPhysicianTelephoneNumbers */
    {0x00100020u, DL_VALUE, DV_IT_MEDICAL_RECORD_NUMBER}, /* PatientID */
    {0x00100030u, DL_DATE, DV_IT_DATE_OF_BIRTH},          /* PatientBirthDate */
    {0x00101000u, DL_VALUE, DV_IT_MEDICAL_RECORD_NUMBER}, /* OtherPatientIDs (retired) */
    {0x00101040u, DL_ADDRESS, 0},                         /* PatientAddress */
    {0x00101050u, DL_VALUE, DV_IT_MEDICAL_RECORD_NUMBER}, /* InsurancePlanIdentification (retired) */
    {0x00101090u, DL_VALUE, DV_IT_MEDICAL_RECORD_NUMBER}, /* MedicalRecordLocator */
    {0x00102152u, DL_VALUE, DV_IT_LOCATION},              /* RegionOfResidence */
    {0x00102154u, DL_VALUE, DV_IT_PHONE_NUMBER},          /* PatientTelephoneNumbers */
    {0x00200010u, DL_VALUE, DV_IT_MEDICAL_RECORD_NUMBER}, /* StudyID */
    {0x00380010u, DL_VALUE, DV_IT_MEDICAL_RECORD_NUMBER}, /* AdmissionID */
    {0x00401102u, DL_ADDRESS, 0},                         /* PersonAddress */
    {0x00401103u, DL_VALUE, DV_IT_PHONE_NUMBER},          /* PersonTelephoneNumbers */
    {0x00402016u, DL_VALUE, DV_IT_MEDICAL_RECORD_NUMBER}, /* PlacerOrderNumberImagingServiceRequest */
    {0x00402017u, DL_VALUE, DV_IT_MEDICAL_RECORD_NUMBER}, /* FillerOrderNumberImagingServiceRequest */
};

static const deny_source *deny_source_of(uint32_t tag)
{
    size_t lo = 0, hi = sizeof DENY_SOURCES / sizeof DENY_SOURCES[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (DENY_SOURCES[mid].tag == tag)
            return &DENY_SOURCES[mid];
        if (DENY_SOURCES[mid].tag < tag)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Add each value (`\` separates them) of one source element to the deny-list; cs_hint: the PN's character set's
 * (pn_cs_hint). */
static int deny_values(dv_denylist *dl, dv_pn_memo *pm, uint16_t vr, const deny_source *src, const char *s, size_t n,
                       unsigned cs_hint, dv_error *err)
{
    for (size_t a = 0, i = 0; i <= n; i++) {
        if (i < n && s[i] != '\\')
            continue;
        int rc = 0;
        size_t vl = i - a;
        if (vr == DV_VR_PN)
            rc = dv_denylist_add_person_name_memo(dl, pm, s + a, vl, cs_hint, err);
        else if (src->how == DL_DATE)
            rc = dv_denylist_add_date(dl, (dv_infotype)src->type, s + a, vl, err);
        else if (src->how == DL_ADDRESS)
            rc = dv_denylist_add_address(dl, s + a, vl, err);
        else
            rc = dv_denylist_add(dl, (dv_infotype)src->type, s + a, vl, err);
        if (rc < 0)
            return -1;
        a = i + 1;
    }
    return 0;
}

/* What the value's character set says of a PN's Han characters (denylist.h DV_DL_PN_*): Japanese or Korean, never
 * read in pinyin. */
static unsigned pn_cs_hint(const dv_charset *cs)
{
    unsigned h = 0;
    for (size_t i = 0; cs && i < cs->nterms && i < DV_CHARSET_MAX_TERMS; i++) {
        if (cs->terms[i] == DV_CST_IR13 || cs->terms[i] == DV_CST_IR87 || cs->terms[i] == DV_CST_IR159)
            h |= DV_DL_PN_JAPANESE;
        else if (cs->terms[i] == DV_CST_IR149)
            h |= DV_DL_PN_KOREAN;
    }
    return h;
}

/* One deny-list source value, recorded: [PN flag | character set hint << 1][source index][length, 4 bytes][bytes]. */
static int deny_record(dv_text_worker *w, uint16_t vr, const deny_source *src, const char *s, size_t n,
                       const dv_charset *cs, int patient, dv_error *err)
{
    if (grow((void **)&w->src, &w->src_cap, w->src_n + n + 6, err))
        return -1;
    uint8_t *r = w->src + w->src_n;
    r[0] = vr == DV_VR_PN ? (uint8_t)(1u | (pn_cs_hint(cs) | (patient ? DV_DL_PN_PATIENT : 0u)) << 1) : 0;
    r[1] = src ? (uint8_t)(src - DENY_SOURCES) : 0xFF;
    uint32_t l = (uint32_t)n;
    memcpy(r + 2, &l, 4);
    memcpy(r + 6, s, n);
    w->src_n += n + 6;
    return 0;
}

/* Build the deny-list from the recorded sources (in walk order, as the values were met). */
static int deny_build(dv_text_worker *w, dv_error *err)
{
    if (!w->pn_memo)
        w->pn_memo = dv_pn_memo_new(); /* on first use (a plan that cleans no text pays nothing); NULL: none */
    for (size_t at = 0; at < w->src_n;) {
        const uint8_t *r = w->src + at;
        uint32_t l;
        memcpy(&l, r + 2, 4);
        const deny_source *src = r[1] == 0xFF ? NULL : &DENY_SOURCES[r[1]];
        if (deny_values(w->dl, w->pn_memo, r[0] & 1 ? DV_VR_PN : 0, src, (const char *)r + 6, l, r[0] >> 1, err))
            return -1;
        at += 6 + (size_t)l;
    }
    return 0;
}

/* One walk over the ORIGINAL instance, at every nesting level: the deny-list (always: it is the strongest
 * signal, used by the text stage, `inspect` and the pixel classifier) and, with Clean Descriptors, the [CTX]
 * phrases: text values of attributes the Basic Profile marks D, Z, X or U (any composite), except the
 * descriptors that are themselves cleaned (C in the Clean Descriptors column). */
static int gather_identity(dv_text_worker *w, const dv_plan *plan, const dv_instance *inst, const dv_ds *ds,
                           const dv_charset *cs, uint32_t depth, dv_error *err)
{
    for (const dv_elem *e = ds->first; e; e = e->next) {
        if (dv_elem_is_sequence(e)) {
            for (const dv_item *it = e->items; it; it = it->next) {
                dv_charset own;
                if (gather_identity(w, plan, inst, &it->ds, dv_charset_for_item(cs, it, &own), depth + 1, err))
                    return -1;
            }
            continue;
        }
        uint16_t vr = dv_plan_effective_vr(e);
        if (e->length == 0 || !dv_clean_text_vr(vr))
            continue;
        /* A name is a name whatever VR it was written with: PatientName encoded as LO or UT fed neither the
         * deny-list nor [CTX], so its surname stayed in StudyDescription. [test_text_stage:
         * test_name_with_another_vr_feeds_denylist] */
        uint16_t name_vr = vr;
        if (vr != DV_VR_PN && !DV_TAG_IS_PRIVATE(e->tag)) {
            const dv_dict_entry *de = dv_dict_lookup(e->tag);
            if (de && de->vr == DV_VR_PN)
                name_vr = DV_VR_PN;
        }
        const deny_source *src = name_vr == DV_VR_PN || DV_TAG_IS_PRIVATE(e->tag) ? NULL : deny_source_of(e->tag);
        int deny = name_vr == DV_VR_PN || src;
        int ctx = 0;
        if ((plan->clean_descriptors || plan->image_ctx) && !DV_TAG_IS_PRIVATE(e->tag)) {
            const dv_profile_entry *pe = dv_profile_lookup(plan->table, e->tag);
            ctx = pe && is_removed_code(pe->basic) && pe->opt[DV_OPT_CLEAN_DESC] != DV_PC_C;
        }
        if (!deny && !ctx)
            continue;
        size_t n;
        unsigned style;
        if (decode(w, inst, e, vr, cs, &n, &style, err))
            return -1;
        while (n > 0 && (w->dec[n - 1] == ' ' || w->dec[n - 1] == '\0'))
            n--;
        if ((deny && deny_record(w, name_vr, src, w->dec, n, cs, e->tag == DV_TAG_PATIENT_NAME && depth == 0, err)) ||
            (ctx && dv_ctx_list_add_value(w->ctx, name_vr == DV_VR_PN, w->dec, n, err)))
            return -1;
    }
    return 0;
}

int dv_text_begin_instance(dv_text_worker *w, const dv_plan *plan, const dv_key *key, dv_instance *inst,
                           dv_error *err)
{
    memset(w->counts, 0, sizeof w->counts);
    dv_ctx_list_clear(w->ctx);
    w->key = key;
    w->regen_uids = plan->regen_own_ids != 0;
    w->nown_uid = 0;
    for (int i = 0; i < DV_PLAN_OWN_IDS; i++) {
        char *u = w->own_uid[w->nown_uid];
        if ((plan->regen_own_ids & (1u << i)) && dv_instance_get_string(inst, dv_plan_own_ids[i], u, DV_UID_MAX + 1) > 0 &&
            dv_uid_valid(u, strlen(u)))
            w->own_uid_len[w->nown_uid++] = strlen(u);
    }
    memset(&w->ti, 0, sizeof w->ti);
    w->ti.run_key = dv_key_bytes(key, &w->ti.run_key_len);
    /* The date shift's identity (DECISIONS 12): the original PatientID, else the original StudyInstanceUID. Its
     * leading spaces are dropped as its trailing ones are (an LO's padding, PS3.5 6.2): " MRN4471902" from one
     * sender and "MRN4471902" from another are one patient, with one shift (stop 37's red team: two shifts). */
    int n = dv_instance_get_string(inst, DV_TAG_PATIENT_ID_, w->pid, sizeof w->pid);
    size_t lead = 0;
    while (n > 0 && w->pid[lead] == ' ')
        lead++;
    if (n > 0 && w->pid[lead]) {
        w->ti.patient_id = w->pid + lead;
        w->ti.patient_id_len = strlen(w->pid + lead);
    }
    n = dv_instance_get_string(inst, DV_TAG_STUDY_INSTANCE_UID, w->suid, sizeof w->suid);
    if (n > 0) {
        w->ti.study_uid = w->suid;
        w->ti.study_uid_len = strlen(w->suid);
    }
    /* The run-key shift once per instance, not once per date (an HMAC each), and not again for the next
     * instance of the same identity with the same key (the last one is kept). */
    for (int t = 0; t < DV_IT_COUNT; t++) {
        if (plan->text_xf[t].kind == DV_XF_DATE_SHIFT && plan->text_xf[t].key_len == 0) {
            char id[sizeof w->shift_id];
            size_t idn = 0;
            const char *v = w->ti.patient_id_len ? w->ti.patient_id : w->ti.study_uid;
            size_t vl = w->ti.patient_id_len ? w->ti.patient_id_len : w->ti.study_uid_len;
            if (v && vl + 1 <= sizeof id) {
                id[0] = w->ti.patient_id_len ? 'P' : 'S';
                memcpy(id + 1, v, vl);
                idn = vl + 1;
            }
            if (idn && w->shift_days && idn == w->shift_id_len && !memcmp(id, w->shift_id, idn) &&
                w->ti.run_key_len == w->shift_key_len && w->ti.run_key_len <= sizeof w->shift_key &&
                !memcmp(w->ti.run_key, w->shift_key, w->ti.run_key_len)) {
                w->ti.run_shift_days = w->shift_days;
            } else {
                w->ti.run_shift_days = dv_text_shift_days(&plan->text_xf[t], &w->ti);
                w->shift_days = 0;
                if (idn && w->ti.run_key_len <= sizeof w->shift_key) {
                    memcpy(w->shift_id, id, idn);
                    w->shift_id_len = idn;
                    memcpy(w->shift_key, w->ti.run_key, w->ti.run_key_len);
                    w->shift_key_len = w->ti.run_key_len;
                    w->shift_days = w->ti.run_shift_days;
                }
            }
            break;
        }
    }
    /* The deny-list's sources are recorded during the walk; the list is built from them unless they are the
     * previous instance's, byte for byte (then the previous list IS this instance's list). Either way no other
     * instance's identity is in it. */
    uint8_t *t = w->prev_src;
    size_t tc = w->prev_cap;
    w->prev_src = w->src;
    w->prev_cap = w->src_cap;
    w->prev_n = w->src_n;
    w->src = t;
    w->src_cap = tc;
    w->src_n = 0;
    dv_charset own;
    if (gather_identity(w, plan, inst, &inst->ds, dv_charset_for_ds(NULL, &inst->ds, &own), 0, err)) {
        w->prev_valid = 0;
        dv_denylist_free(w->dl); /* a partial walk: no list rather than a wrong one */
        w->dl = NULL;
        w->deny_gen++;
        return -1;
    }
    if (w->dl && w->prev_valid && w->src_n == w->prev_n && (w->src_n == 0 || !memcmp(w->src, w->prev_src, w->src_n)))
        return 0;
    w->prev_valid = 0;
    w->deny_gen++;
    dv_denylist_free(w->dl);
    if (!(w->dl = dv_denylist_new()))
        return dv_fail(err, DV_ERR_NOMEM, "out of memory for the deny-list");
    if (deny_build(w, err))
        return -1;
    w->prev_valid = 1;
    return 0;
}

/* Re-encode every value of the VRs the character set governs, at every level, into UTF-8, and declare
 * ISO_IR 192 once at the top (nested declarations removed: they would now be wrong). */
static int to_utf8_ds(dv_text_worker *w, dv_instance *inst, dv_ds *ds, const dv_charset *cs, dv_error *err)
{
    dv_elem *prev = NULL, *e = ds->first;
    while (e) {
        dv_elem *next = e->next;
        if (dv_elem_is_sequence(e)) {
            for (dv_item *it = e->items; it; it = it->next) {
                dv_charset own;
                const dv_charset *ics = dv_charset_for_item(cs, it, &own);
                if (to_utf8_ds(w, inst, &it->ds, ics, err))
                    return -1;
                dv_elem *sc = dv_ds_find(&it->ds, DV_TAG_SPECIFIC_CHARACTER_SET_);
                if (sc)
                    dv_ds_remove(&it->ds, sc);
            }
        } else {
            uint16_t vr = dv_plan_effective_vr(e);
            if (e->length && dv_charset_vr_applies(vr) && !dv_charset_is_utf8(cs)) {
                const uint8_t *v = NULL; /* as in decode */
                dv_cs_decoded d;
                if (load_raw(w, inst, e, &v, err) ||
                    grow((void **)&w->dec, &w->deccap, DV_CHARSET_DECODE_BOUND((size_t)e->length) + 1, err) ||
                    dv_charset_to_utf8(w->cs, cs, vr, v, (size_t)e->length, w->dec, w->deccap, &d, err))
                    return -1;
                if (!dv_elem_value_equals(e, vr, w->dec, d.len) &&
                    dv_elem_set_value(inst, e, w->dec, d.len) != 0)
                    return dv_fail(err, DV_ERR_LIMIT, "metadata memory limit reached re-encoding " TAGF,
                                   TAGA(e->tag));
            }
        }
        prev = e;
        e = next;
    }
    (void)prev;
    return 0;
}

static int switch_to_utf8(dv_text_worker *w, dv_instance *inst, dv_error *err)
{
    dv_charset own;
    if (to_utf8_ds(w, inst, &inst->ds, dv_charset_for_ds(NULL, &inst->ds, &own), err))
        return -1;
    if (!dv_ds_put(inst, &inst->ds, DV_TAG_SPECIFIC_CHARACTER_SET_, DV_VR_CS, "ISO_IR 192", 10))
        return dv_fail(err, DV_ERR_LIMIT, "metadata exceeds the per-instance limit");
    return 0;
}

dv_infotype_set dv_text_plan_infotypes(const dv_plan *plan)
{
    dv_infotype_set want = 0;
    for (int t = 0; t < DV_IT_COUNT; t++)
        if (plan->text_xf[t].kind != DV_XF_NONE && t != DV_IT_CTX)
            want |= DV_IT_BIT(t);
    if (plan->clean_descriptors)
        want |= DV_IT_BIT(DV_IT_CTX);
    return want;
}

/* ---- inspect: tell the observer what is transformed (names and code point spans; the text itself only as a
 * pointer the observer may show or not). ---- */

static const char *xform_name(dv_xform_kind k)
{
    switch (k) {
    case DV_XF_REPLACE_INFOTYPE: return "replaceWithInfoTypeConfig";
    case DV_XF_REDACT: return "redactConfig";
    case DV_XF_MASK: return "characterMaskConfig";
    case DV_XF_DATE_SHIFT: return "dateShiftConfig";
    case DV_XF_CRYPTO_HASH: return "cryptoHashConfig";
    case DV_XF_NONE: break;
    }
    return "none";
}

static const char *detector_name(uint8_t d)
{
    switch (d) {
    case DV_DET_PATTERN: return "pattern";
    case DV_DET_LEXICON: return "lexicon";
    case DV_DET_DENYLIST: return "denylist";
    case DV_DET_CONTEXT: return "context";
    case DV_DET_STRUCTURE: return "structure";
    default: return "other";
    }
}

/* Code points in s[from, to) (the decoder's output is valid UTF-8: count the bytes that start one). */
static uint32_t code_points(const char *s, size_t from, size_t to)
{
    uint32_t n = 0;
    for (size_t i = from; i < to; i++)
        n += ((unsigned char)s[i] & 0xC0u) != 0x80u;
    return n;
}

/* Fill f's element part (path unrolled outermost first, tag, VR). */
static int observe_elem(dv_text_worker *w, const dv_text_path *path, const dv_elem *e, uint16_t vr,
                        dv_text_finding_info *f, dv_error *err)
{
    memset(f, 0, sizeof *f);
    uint32_t depth = path ? path->depth : 0;
    if (depth > w->path_cap) {
        uint32_t *t = realloc(w->path_tags, depth * sizeof *t);
        if (t)
            w->path_tags = t;
        uint32_t *i = realloc(w->path_items, depth * sizeof *i);
        if (i)
            w->path_items = i;
        if (!t || !i)
            return dv_fail(err, DV_ERR_NOMEM, "out of memory in the text stage");
        w->path_cap = depth;
    }
    for (const dv_text_path *p = path; p && p->depth > 0; p = p->up) {
        w->path_tags[p->depth - 1] = p->seq;
        w->path_items[p->depth - 1] = p->item;
    }
    f->depth = depth;
    f->seq_tags = w->path_tags;
    f->items = w->path_items;
    f->tag = e->tag;
    f->vr[0] = (char)(vr >> 8);
    f->vr[1] = (char)(vr & 0xFF);
    return 0;
}

/* After a value was transformed: one report per finding that was (or, for DA/DT/AS, the whole value). */
static int observe(dv_text_worker *w, const dv_plan *plan, const dv_text_path *path, const dv_elem *e,
                   uint16_t vr, size_t n, int whole, dv_error *err)
{
    dv_text_finding_info f;
    if (observe_elem(w, path, e, vr, &f, err))
        return -1;
    if (whole) {
        dv_infotype t = vr == DV_VR_AS ? DV_IT_AGE : DV_IT_DATE;
        f.info_type = dv_infotype_name(t);
        f.detector = "vr";
        f.transformation = w->out.n == 0 ? "empty" : xform_name(plan->text_xf[t].kind);
        f.end = code_points(w->dec, 0, n);
        f.text = w->dec;
        f.text_len = n;
        w->obs(w->obs_user, &f);
        return 0;
    }
    size_t at = 0;
    uint32_t cp = 0;
    for (size_t i = 0; i < w->f.n; i++) {
        const dv_finding *x = &w->f.v[i];
        if (x->type >= DV_IT_COUNT || plan->text_xf[x->type].kind == DV_XF_NONE || x->end > n || x->start < at)
            continue;
        cp += code_points(w->dec, at, x->start);
        f.start = cp;
        cp += code_points(w->dec, x->start, x->end);
        f.end = cp;
        at = x->end;
        f.info_type = dv_infotype_name((dv_infotype)x->type);
        f.detector = detector_name(x->detector);
        f.transformation = xform_name(plan->text_xf[x->type].kind);
        f.text = w->dec + x->start;
        f.text_len = x->end - x->start;
        w->obs(w->obs_user, &f);
    }
    return 0;
}

/* The deny-list reports the instance's own names as PERSON_NAME; a caller that wants only LAST_NAME or
 * FIRST_NAME (an EMPTY profile with one transformation) still gets them, under the type it asked for, since
 * the patient's own name is the PHI that matters most. Other types not wanted are dropped. */
static void keep_wanted(dv_findings *f, size_t from, dv_infotype_set want)
{
    size_t o = from;
    for (size_t i = from; i < f->n; i++) {
        dv_finding x = f->v[i];
        if (x.type == DV_IT_PERSON_NAME && !(want & DV_IT_BIT(DV_IT_PERSON_NAME))) {
            if (want & DV_IT_BIT(DV_IT_LAST_NAME))
                x.type = DV_IT_LAST_NAME;
            else if (want & DV_IT_BIT(DV_IT_FIRST_NAME))
                x.type = DV_IT_FIRST_NAME;
        }
        if (x.type < DV_IT_COUNT && (want & DV_IT_BIT(x.type)))
            f->v[o++] = x;
    }
    f->n = o;
}

/* Attributes whose value is a version designation (PS3.3: "software version", "algorithm version" ...; sorted by
 * tag). `2.6.3.7` there is a version string, and the IPv4 pattern's shape (four dot-separated numbers 0-255)
 * would call it IP_ADDRESS (7 corpus files: emri_small*, GH064, KarstenHilbertRF, MarekLatin2, a mammogram's
 * `PXCM:1.4.0.7`). There, IPv4-shaped findings of the pattern detector are dropped; IPv6 (two or more `:`), every
 * other detector and the instance's own values still apply, and in free text IPv4 is found as before (unless a
 * version word precedes it). docs/decisions.md "Version strings are not IP addresses".
 * [test_text_stage: test_version_strings_not_ip] */
static const uint32_t VERSION_ATTRIBUTES[] = {
    0x00144074u, /* ProcedureVersion */
    0x00181019u, /* SecondaryCaptureDeviceSoftwareVersions */
    0x0018101Au, /* HardcopyDeviceSoftwareVersion */
    0x00181020u, /* SoftwareVersions */
    0x00189525u, /* ApplicationVersion */
    0x00240307u, /* DataSetVersion */
    0x00280401u, /* TransformVersionNumber */
    0x00660031u, /* AlgorithmVersion */
    0x00686221u, /* ImplantTemplateVersion */
    0x00760006u, /* ImplantAssemblyTemplateVersion */
    0x00780024u, /* ImplantTemplateGroupVersion */
    0x3010001Au, /* ManufacturerModelVersion */
    0x40101029u, /* ThreatDetectionAlgorithmAndVersion */
};

static int is_version_attribute(uint32_t tag)
{
    for (size_t i = 0; i < sizeof VERSION_ATTRIBUTES / sizeof VERSION_ATTRIBUTES[0]; i++)
        if (VERSION_ATTRIBUTES[i] == tag)
            return 1;
    return 0;
}

/* Drop the IPv4-shaped IP_ADDRESS pattern findings of out[from, n) (fewer than two ':': IPv6 needs two). */
static void drop_ipv4(dv_findings *out, size_t from, const char *utf8)
{
    size_t o = from;
    for (size_t i = from; i < out->n; i++) {
        const dv_finding *x = &out->v[i];
        if (x->type == DV_IT_IP_ADDRESS && x->detector == DV_DET_PATTERN) {
            size_t colons = 0;
            for (uint32_t k = x->start; k < x->end; k++)
                colons += utf8[k] == ':';
            if (colons < 2)
                continue;
        }
        out->v[o++] = *x;
    }
    out->n = o;
}

/* dv_text_detect for the element with this tag (0: no element, e.g. the pixel classifier's text). */
static int detect_in(dv_text_worker *w, const dv_plan *plan, uint32_t tag, const char *utf8, size_t len,
                     dv_infotype_set want, dv_findings *out, dv_error *err);

int dv_text_detect(dv_text_worker *w, const dv_plan *plan, const char *utf8, size_t len, dv_infotype_set want,
                   dv_findings *out, dv_error *err)
{
    return detect_in(w, plan, 0, utf8, len, want, out, err);
}

static int detect_in(dv_text_worker *w, const dv_plan *plan, uint32_t tag, const char *utf8, size_t len,
                     dv_infotype_set want, dv_findings *out, dv_error *err)
{
    dv_findings_clear(out);
    if (len == 0 || want == 0)
        return 0;
    dv_infotype_set it = want & ~DV_IT_BIT(DV_IT_CTX);
    int pats = it && plan && plan->patterns;
    int lex = (it & DV_LEX_INFOTYPES) != 0, deny = it && w->dl && dv_denylist_size(w->dl) > 0;
    /* A value this worker met before with the same patterns, infoTypes (and deny-list) gets the findings it got
     * then (text_memo.h). */
    dv_memo_key mk = {pats ? (const void *)plan->patterns : NULL, it, w->deny_gen};
    int deny_hit = 0, hit = 0, have_tk = 0;
    dv_toks tk; /* the value's tokens: the memo's (have_tk), else made below when a detector reads them */
    if ((pats || lex || deny) &&
        (hit = dv_text_memo_get(w->memo, &mk, utf8, len, out, &deny_hit, &tk, &have_tk, err)) < 0)
        return -1;
    if (!hit && pats) {
        if (!w->scratch && !(w->scratch = dv_text_scratch_new(err)))
            return -1;
        if (dv_detect_patterns(plan->patterns, w->scratch, utf8, len, it, out, err))
            return -1;
    }
    /* The dictionaries and the deny-list read the same word tokens: tokenise the value once for both. */
    size_t nbase = hit && deny_hit ? 0 : out->n; /* on a full hit, out already holds the deny-list's findings */
    int toks = 0; /* tk holds the value's tokens */
    if ((!hit && lex) || (deny && !deny_hit)) {
        int rc = have_tk ? 0 : dv_toks_init(&tk, utf8, len, err);
        toks = 1;
        if (rc == 0 && lex && !hit)
            rc = dv_detect_names_toks(&tk, utf8, len, it & DV_LEX_INFOTYPES, out, err);
        nbase = out->n;
        if (rc == 0 && deny) {
            rc = dv_detect_denylist_toks(w->dl, &tk, utf8, len, out, err);
            if (rc == 0)
                keep_wanted(out, nbase, it);
        }
        if (rc) {
            dv_toks_free(&tk);
            return -1;
        }
    }
    if ((pats || lex || deny) && !(hit && deny_hit))
        dv_text_memo_put(w->memo, &mk, utf8, len, out, nbase, toks ? &tk : NULL);
    if (toks)
        dv_toks_free(&tk);
    if ((it & DV_IT_BIT(DV_IT_IP_ADDRESS)) && tag && is_version_attribute(tag))
        drop_ipv4(out, 0, utf8);
    if (it && w->fn && w->fn(w->user, utf8, len, it, out, err))
        return -1;
    /* [CTX]: options.cleanDescriptors, or a REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS ImageConfig (plan.image_ctx). */
    if ((want & DV_IT_BIT(DV_IT_CTX)) && plan && (plan->clean_descriptors || plan->image_ctx) &&
        dv_ctx_detect(w->ctx, utf8, len, out, err))
        return -1;
    dv_findings_normalise_text(out, utf8, len);
    return 0;
}

/* The identifiers of a coded entry (PS3.3 8.8: CodeValue, CodingSchemeDesignator, CodingSchemeVersion,
 * LongCodeValue) name a concept of a coding scheme, not a person: `1.2.3.4`-shaped code values read as
 * IP_ADDRESS, `MAY` as a name. The pattern and dictionary detectors skip them; the instance's own values
 * (deny-list) are still matched there, privacy first. docs/decisions.md "Code values".
 * [test_text_stage: test_code_values_not_detected] */
static int is_code_identifier(uint32_t tag)
{
    return tag == 0x00080100u || tag == 0x00080102u || tag == 0x00080103u || tag == 0x00080119u;
}

static int own_values_only(dv_text_worker *w, const char *utf8, size_t len, dv_infotype_set want, dv_findings *out,
                           dv_error *err)
{
    dv_findings_clear(out);
    dv_infotype_set it = want & ~DV_IT_BIT(DV_IT_CTX);
    if (len == 0 || !it || !w->dl)
        return 0;
    if (dv_detect_denylist(w->dl, utf8, len, out, err))
        return -1;
    keep_wanted(out, 0, it);
    dv_findings_normalise_text(out, utf8, len);
    return 0;
}

/* An identifier attribute (a deny-list source of MEDICAL_RECORD_NUMBER: PatientID, AccessionNumber, StudyID ...)
 * cleaned as text is its own identifier, however short: each of its values is one finding, whole. The deny-list's
 * minimum lengths keep `123` in free text from matching every number; they kept the PatientID `123` itself.
 * docs/decisions.md "An identifier attribute is replaced whole". [test_text_stage:
 * test_short_identifier_replaced_whole] */
/* So is a telephone attribute (PatientTelephoneNumbers, ReferringPhysicianTelephoneNumbers,
 * PersonTelephoneNumbers) a PHONE_NUMBER: the deny-list knows a number by its ASCII or full-width digits only, so
 * one written in Arabic-Indic or Devanagari digits, or with fewer than 7 digits, was kept in the attribute itself
 * (the i18n audit). Returns the infoType of the whole values, or -1. */
static int identifier_whole(uint32_t tag, const dv_plan *plan)
{
    const deny_source *src = DV_TAG_IS_PRIVATE(tag) ? NULL : deny_source_of(tag);
    if (!src || src->how != DL_VALUE ||
        (src->type != DV_IT_MEDICAL_RECORD_NUMBER && src->type != DV_IT_PHONE_NUMBER))
        return -1;
    return (dv_text_plan_infotypes(plan) & DV_IT_BIT(src->type)) ? (int)src->type : -1;
}

static int whole_values(dv_findings *f, const char *s, size_t n, dv_infotype type, dv_error *err)
{
    dv_findings_clear(f);
    for (size_t a = 0, i = 0; i <= n; i++) {
        if (i < n && s[i] != '\\')
            continue;
        size_t x = a, y = i;
        while (x < y && s[x] == ' ')
            x++;
        while (y > x && s[y - 1] == ' ')
            y--;
        if (y > x && dv_findings_add(f, (uint32_t)x, (uint32_t)y, type, DV_DET_DENYLIST, 100))
            return dv_fail(err, DV_ERR_LIMIT, "findings list full (%u) or out of memory", DV_FINDINGS_MAX);
        a = i + 1;
    }
    return 0;
}

static int is_uid_byte(char c)
{
    return (c >= '0' && c <= '9') || c == '.';
}

/* A UID written in text that is not one of the instance's own: digits and dots, at least 6 components and 24
 * bytes, as the study, series and instance UIDs writers make are (a root, then a device or a time), a valid UID
 * or one with components padded by zeros (an ultrasound's XML header writes its own SOP Instance UID
 * `1.2.840.114340.03.000008251017118051.3.20160503.121539.0016117`: the study date with it; stop 44's audit), not
 * the registry's (a SOP class, a transfer syntax). A version (`1.0`, `10.0.19041.1288`), an IPv4 address or an
 * organisation's root (`1.2.840.113680.1.0` in a private creator) stays. */
static int uid_in_text(const char *v, size_t n)
{
    if (n < 24 || n > DV_UID_MAX)
        return 0;
    size_t dots = 0;
    for (size_t i = 0; i < n; i++)
        dots += v[i] == '.';
    dv_uid_form form = dv_uid_form_of(v, n);
    return dots >= 5 && (form == DV_UID_VALID || form == DV_UID_LEADING_ZERO) && !dv_uid_in_registry(v, n);
}

/* The UID token starting at t[i] (a run of digits and dots with none before it, a full stop after it not
 * counted): its length in *len when it is to be regenerated (one of the instance's own primary UIDs, or
 * uid_in_text), else 0; *run the run's length (0 when no run starts at i). */
static size_t uid_token_at(const dv_text_worker *w, const char *t, size_t n, size_t i, size_t *run)
{
    *run = 0;
    if (!(t[i] >= '0' && t[i] <= '9') || (i > 0 && is_uid_byte(t[i - 1])))
        return 0;
    size_t j = i;
    while (j < n && is_uid_byte(t[j]))
        j++;
    *run = j - i;
    while (j > i && t[j - 1] == '.')
        j--;
    size_t len = j - i;
    int named = 0;
    for (int k = 0; k < w->nown_uid && !named; k++)
        named = len == w->own_uid_len[k] && memcmp(t + i, w->own_uid[k], len) == 0;
    /* a CDA's templateId or codeSystem OID names an HL7 specification, whatever its shape */
    return (named || uid_in_text(t + i, len)) && !dv_doc_fixed_identifier(t, n, i) ? len : 0;
}

/* A text that names a study, series or instance by its source UID (an SR TextValue or an encapsulated key-image
 * list quoting the study UID, the series and instances it shows) links the output to its source beside the
 * regenerated UIDs. Where the plan regenerates the primary IDs, each such UID standing whole (the instance's own
 * Study, Series and SOP Instance UIDs, and any uid_in_text) becomes what the keyed function makes of it, the UID
 * the instance it names gets as its own, in w->dec[0, *n) before detection; a value then over its VR's length is
 * cut there, as the transformations cut. *swapped = 1 when one was replaced. docs/decisions.md "UIDs named in
 * text". [test_text_stage: test_text_naming_uids, test_encapsulated_document] */
static int swap_uids(dv_text_worker *w, uint16_t vr, size_t *n, int *swapped, dv_error *err)
{
    *swapped = 0;
    if (!w->regen_uids)
        return 0;
    const char *t = w->dec;
    size_t i = 0, run = 0;
    for (; i < *n; i += run ? run : 1)
        if (uid_token_at(w, t, *n, i, &run))
            break;
    if (i >= *n)
        return 0;
    dv_strbuf *b = &w->uidbuf;
    b->n = 0;
    int multi = vr != DV_VR_LT && vr != DV_VR_ST && vr != DV_VR_UT && vr != DV_VR_UR;
    size_t max = dv_vr_max_chars(vr), vchars = 0;
    for (i = 0; i < *n;) {
        size_t len = uid_token_at(w, t, *n, i, &run);
        const char *piece = t + i;
        char rep[DV_UID_MAX + 1];
        if (len) {
            i += len;
            len = dv_uid_regenerate_memo(w->key, NULL, piece, len, rep);
            piece = rep;
            *swapped = 1;
        } else {
            len = run ? run : 1;
            i += len;
        }
        if (grow((void **)&b->v, &b->cap, b->n + len, err))
            return -1;
        /* Each value at most max characters (UTF-8 lead bytes counted): past it, bytes are dropped up to the
         * next value, as the transformations cut an over-long value. */
        for (size_t c = 0; c < len; c++) {
            uint8_t ch = (uint8_t)piece[c];
            if (multi && ch == '\\')
                vchars = 0;
            else if (max && ((ch & 0xC0) != 0x80 ? ++vchars > max : vchars > max))
                continue;
            b->v[b->n++] = (char)ch;
        }
    }
    if (grow((void **)&w->dec, &w->deccap, b->n + 1, err))
        return -1;
    memcpy(w->dec, b->v, b->n);
    *n = b->n;
    return 0;
}

/* Only the first DV_DOC_SNIFF bytes are looked at (dv_doc_is_text) when the document is longer than the text stage
 * reads. */
#define DV_DOC_SNIFF 4096u

/* A document the text stage cannot read (a PDF, a binary or too long a file) is emptied: under a profile that
 * cleans text, the names in a report must not survive because they are compressed. */
static int empty_document(dv_elem *e, int *changed)
{
    dv_elem_set_empty(e);
    *changed = 1;
    return 0;
}

/* A lone byte of a %-escape (dv_esc_byte_fn) read in the value's character set: `Jos%E9` in a Latin-1 value. */
typedef struct byte_reader {
    dv_text_worker *w;
    const dv_charset *cs;
} byte_reader;

static int32_t byte_in_set(void *user, uint8_t b)
{
    const byte_reader *br = user;
    char out[8];
    dv_cs_decoded d;
    dv_error e;
    if (dv_charset_decode(br->w->cs, br->cs, DV_VR_LT, &b, 1, out, sizeof out, &d, &e) || d.flags || d.len == 0)
        return -1;
    size_t i = 0;
    int32_t cp = dv_utf8_next((const uint8_t *)out, d.len, &i);
    return i == d.len ? cp : -1;
}

/* The detectors over the text w->dec[0, n) (a value, or a document), into w->f. Escaped text is read as its
 * reader reads it: with its character references and %-escapes decoded (`M&#252;ller`, `M&uuml;ller`,
 * `M%C3%BCller` name Müller; text/escapes.h), the findings moved back onto the escapes they cover; w->refs.n is 0
 * when it has none (a text without `&` or `%` is not read twice). cs: the character set a lone %-escaped byte is
 * read in. docs/decisions.md "Escaped text is read decoded". [test_text_stage: test_document_character_references,
 * test_escapes_in_values] */
static int detect_decoded(dv_text_worker *w, const dv_plan *plan, uint32_t tag, int markup, const dv_charset *cs,
                          size_t n, dv_infotype_set want, dv_error *err)
{
    byte_reader br = {w, cs};
    if (dv_esc_decode(w->dec, n, markup ? DV_ESC_MARKUP : 0, byte_in_set, &br, &w->refs, err))
        return -1;
    if (w->refs.n == 0)
        return detect_in(w, plan, tag, w->dec, n, want, &w->f, err);
    if (detect_in(w, plan, tag, w->refs.dec, w->refs.dn, want, &w->f, err))
        return -1;
    for (size_t i = 0; i < w->f.n; i++) {
        w->f.v[i].start = (uint32_t)dv_esc_to_original(&w->refs, w->f.v[i].start, 0);
        w->f.v[i].end = (uint32_t)dv_esc_to_original(&w->refs, w->f.v[i].end, 1);
    }
    return 0;
}

/* A finding that covers escapes is transformed as the characters they stand for (a mask per character, a date
 * shifted, a hash of the name as a reader reads it): w->dec becomes the text with those escapes decoded
 * (dv_esc_substitute; the original is kept in w->subst), *n its length, w->f moved onto it. A finding left as it
 * is (DV_XF_NONE) keeps its escapes. */
static int substitute_refs(dv_text_worker *w, const dv_plan *plan, size_t *n, dv_error *err)
{
    dv_esc_widen(&w->refs, &w->f);
    if (grow((void **)&w->subst, &w->substcap, *n + 1, err))
        return -1;
    dv_infotype_set as_written = 0, writes_back = 0;
    for (int t = 0; t < DV_IT_COUNT; t++) {
        if (plan->text_xf[t].kind == DV_XF_NONE)
            as_written |= DV_IT_BIT(t);
        else if (plan->text_xf[t].kind == DV_XF_DATE_SHIFT)
            writes_back |= DV_IT_BIT(t);
    }
    size_t sn = dv_esc_substitute(&w->refs, w->dec, *n, as_written, writes_back, &w->f, w->subst);
    char *d = w->dec;
    size_t cap = w->deccap;
    w->dec = w->subst, w->deccap = w->substcap;
    w->subst = d, w->substcap = cap;
    *n = sn;
    return 0;
}

/* A Latin-1 markup document's cleaned text w->out with every character Latin-1 lacks written as a character
 * reference (`&#xFE63;`), as XML and HTML read it: a finding's references are transformed as their characters
 * (substitute_refs), and a date shifted back into its small hyphens, or a mask character outside Latin-1, emptied
 * the whole document when it could not be encoded (stop 37's review). One pass, at most 3 bytes out a byte in. */
static int escape_beyond_latin1(dv_text_worker *w, dv_error *err)
{
    const uint8_t *s = (const uint8_t *)w->out.v;
    size_t n = w->out.n, o = 0;
    if (grow((void **)&w->subst, &w->substcap, 3 * n + 1, err))
        return -1;
    for (size_t i = 0; i < n;) {
        size_t at = i;
        int32_t cp = s[i] < 0x80 ? s[i++] : dv_text_utf8_next(s, n, &i);
        if (cp < 0) { /* never: the text is UTF-8 as the transformation wrote it */
            w->subst[o++] = (char)s[at];
            i = at + 1;
        } else if (cp < 0x80 || (cp >= 0xA0 && cp <= 0xFF)) {
            memcpy(w->subst + o, s + at, i - at);
            o += i - at;
        } else {
            o += (size_t)snprintf(w->subst + o, 3 * n + 1 - o, "&#x%X;", (unsigned)cp);
        }
    }
    char *v = w->out.v;
    size_t cap = w->out.cap;
    w->out.v = w->subst, w->out.n = o, w->out.cap = w->substcap;
    w->subst = v, w->substcap = cap;
    return 0;
}

/* EncapsulatedDocument under DEIDENTIFY_TAG_CONTENTS (plan.c), OB or written as UT: a text document (the bytes look
 * like text, and MIMETypeOfEncapsulatedDocument in ds, when present, names text) is cleaned as a UT value, read as
 * UTF-8 when its bytes are UTF-8 and as ISO 8859-1 otherwise (an XML document names its encoding; these two are
 * what CDA and report writers use), its base64 payloads removed and its structure read (document_text.c), its UIDs
 * regenerated (swap_uids), its escapes read as the characters they stand for (detect_decoded),
 * and written back in the same encoding; any other document is emptied. The caller
 * (apply.c) sets its length. docs/decisions.md "Encapsulated documents under DEIDENTIFY_TAG_CONTENTS".
 * [test_text_stage: test_encapsulated_document, test_document_structure] */
static int clean_document(dv_text_worker *w, const dv_plan *plan, dv_instance *inst, const dv_ds *ds, dv_elem *e,
                          const dv_text_path *path, int *changed, dv_error *err)
{
    if (e->length == DV_UNDEFINED_LENGTH || (e->flags & (DV_ELEM_SEQUENCE | DV_ELEM_ENCAPSULATED)) ||
        dv_doc_mime_says_binary(ds))
        return empty_document(e, changed);
    if (e->length > DV_TEXT_VALUE_MAX) {
        uint8_t head[DV_DOC_SNIFF];
        const uint8_t *in = dv_elem_inline_value(e);
        uint64_t off;
        const dv_source *src = in ? NULL : dv_elem_source(inst, e, &off);
        if (in)
            memcpy(head, in, sizeof head);
        else if (!src || src->read_at(src->ctx, off, head, sizeof head) != 0)
            return dv_fail(err, DV_ERR_IO, "cannot read the value of " TAGF, TAGA(e->tag));
        if (!dv_doc_is_text(head, sizeof head))
            return empty_document(e, changed);
        return dv_fail(err, DV_ERR_LIMIT, "text document at " TAGF " exceeds the %u-byte limit", TAGA(e->tag),
                       DV_TEXT_VALUE_MAX);
    }
    const uint8_t *v = NULL;
    if (load_raw(w, inst, e, &v, err))
        return -1;
    size_t len = (size_t)e->length;
    if (!dv_doc_is_text(v, len))
        return empty_document(e, changed);
    if (grow((void **)&w->dec, &w->deccap, DV_CHARSET_DECODE_BOUND(len) + 1, err))
        return -1;
    dv_charset cs;
    dv_charset_parse((const uint8_t *)"ISO_IR 192", 10, &cs);
    dv_cs_decoded d;
    if (dv_charset_decode(w->cs, &cs, DV_VR_UT, v, len, w->dec, w->deccap, &d, err))
        return -1;
    if (d.flags & DV_CS_REPLACED) {
        dv_charset_parse((const uint8_t *)"ISO_IR 100", 10, &cs);
        if (dv_charset_decode(w->cs, &cs, DV_VR_UT, v, len, w->dec, w->deccap, &d, err))
            return -1;
    }
    size_t n = d.len;
    while (n > 0 && (w->dec[n - 1] == ' ' || w->dec[n - 1] == '\0'))
        n--;
    dv_findings_clear(&w->f);
    int dropped = dv_doc_drop_base64(w->dec, &n), swapped;
    dv_infotype_set want = dv_text_plan_infotypes(plan);
    int markup = dv_doc_is_markup(w->dec, n) || dv_doc_mime_says_markup(ds);
    if (swap_uids(w, DV_VR_UT, &n, &swapped, err) || detect_decoded(w, plan, e->tag, markup, &cs, n, want, err) ||
        dv_doc_fields(w->dec, n, want & ~DV_IT_BIT(DV_IT_CTX), &w->f, err))
        return -1;
    dv_findings_normalise_text(&w->f, w->dec, n);
    size_t on = n; /* the document's length before substitute_refs */
    if (w->refs.n && substitute_refs(w, plan, &n, err))
        return -1;
    w->ti.markup = markup;
    int trc = dv_text_transform_value(plan->text_xf, &w->ti, DV_VR_UT, w->dec, n, w->f.v, w->f.n, &w->out, changed,
                                      err);
    w->ti.markup = 0;
    if (trc)
        return -1;
    if (w->refs.n) /* changed from the document as written, not from its substituted copy */
        *changed = w->out.n != on || memcmp(w->out.v, w->subst, on) != 0;
    *changed |= swapped | dropped;
    if (!*changed)
        return 0; /* the original bytes stay exactly */
    if (w->obs && observe(w, plan, path, e, DV_VR_UT, n, 0, err))
        return -1;
    for (size_t i = 0; i < w->f.n; i++)
        if (w->f.v[i].type < DV_IT_COUNT && plan->text_xf[w->f.v[i].type].kind != DV_XF_NONE)
            w->counts[w->f.v[i].type]++;
    if (markup && !dv_charset_is_utf8(&cs) && escape_beyond_latin1(w, err))
        return -1;
    size_t elen = 0, bad = 0;
    if (grow((void **)&w->enc, &w->enccap, DV_CHARSET_ENCODE_BOUND(w->out.n) + 1, err))
        return -1;
    int rc = dv_charset_encode(w->cs, &cs, DV_VR_UT, w->out.v, w->out.n, 0, w->enc, w->enccap, &elen, &bad, err);
    if (rc < 0)
        return -1;
    if (rc == DV_CHARSET_UNENCODABLE) /* a replacement the document's encoding lacks: no half-cleaned document */
        return empty_document(e, changed);
    if (elen == 0)
        return empty_document(e, changed);
    if (dv_elem_set_value(inst, e, w->enc, elen) != 0)
        return dv_fail(err, DV_ERR_LIMIT, "metadata memory limit reached cleaning " TAGF, TAGA(e->tag));
    return 0;
}

int dv_text_clean_document(dv_text_worker *w, const dv_plan *plan, dv_instance *inst, const dv_ds *ds, dv_elem *e,
                           const dv_text_path *path, int *changed, dv_error *err)
{
    *changed = 0;
    if (e->length == 0)
        return 0;
    return clean_document(w, plan, inst, ds, e, path, changed, err);
}

int dv_text_clean_elem(dv_text_worker *w, const dv_plan *plan, dv_instance *inst, dv_elem *e, uint16_t as_vr,
                       const dv_charset *cs, const dv_text_path *path, int *changed, int *cs_switched,
                       dv_error *err)
{
    *changed = 0;
    *cs_switched = 0;
    if (e->length == 0)
        return 0;
    uint16_t vr = as_vr ? as_vr : dv_plan_effective_vr(e);
    if (e->tag == DV_TAG_ENCAPSULATED_DOCUMENT_) /* without its dataset: no MIME type to read */
        return clean_document(w, plan, inst, NULL, e, path, changed, err);
    size_t n;
    unsigned style;
    if (decode(w, inst, e, vr, cs, &n, &style, err))
        return -1;
    /* Trailing padding (space, or the NUL some writers use) is not text: a rewritten value must not carry
     * a NUL into a text VR (dciodvfy: trailing character invalid); the writer pads again. */
    while (n > 0 && (w->dec[n - 1] == ' ' || w->dec[n - 1] == '\0'))
        n--;
    dv_findings_clear(&w->f);
    w->refs.n = 0; /* no escapes read yet (detect_decoded) */
    int whole = vr == DV_VR_DA || vr == DV_VR_DT || vr == DV_VR_AS, swapped = 0;
    /* a private creator names a vendor's block (its OID is no instance's), a name holds no UID */
    if (!whole && vr != DV_VR_PN && !DV_TAG_IS_PRIVATE_CREATOR(e->tag) && swap_uids(w, vr, &n, &swapped, err))
        return -1;
    if (!whole && is_code_identifier(e->tag)) {
        if (own_values_only(w, w->dec, n, dv_text_plan_infotypes(plan), &w->f, err))
            return -1;
    } else if (!whole && identifier_whole(e->tag, plan) >= 0) {
        if (whole_values(&w->f, w->dec, n, (dv_infotype)identifier_whole(e->tag, plan), err))
            return -1;
    } else if (!whole && !dv_esc_possible(w->dec, n)) { /* the common value: no escape to read */
        if (detect_in(w, plan, e->tag, w->dec, n, dv_text_plan_infotypes(plan), &w->f, err))
            return -1;
    } else if (!whole) {
        dv_charset def;
        if (!dv_charset_vr_applies(vr))
            dv_charset_default(&def); /* as decode read it */
        if (detect_decoded(w, plan, e->tag, 0, dv_charset_vr_applies(vr) ? cs : &def, n,
                           dv_text_plan_infotypes(plan), err))
            return -1;
        if (w->refs.n) /* moved onto the value as written: sorted, but two may now meet in one escape */
            dv_findings_normalise_text(&w->f, w->dec, n);
    }
    size_t on = n; /* the value's length before substitute_refs */
    int escaped = !whole && w->refs.n && w->f.n;
    if (escaped && substitute_refs(w, plan, &n, err))
        return -1;
    if (dv_text_transform_value(plan->text_xf, &w->ti, vr, w->dec, n, w->f.v, w->f.n, &w->out, changed, err))
        return -1;
    if (escaped) /* changed from the value as written, not from its substituted copy */
        *changed = w->out.n != on || memcmp(w->out.v, w->subst, on) != 0;
    *changed |= swapped;
    if (!*changed)
        return 0; /* the original bytes stay exactly */
    if (w->obs && observe(w, plan, path, e, vr, n, whole, err))
        return -1;
    if (whole) {
        w->counts[vr == DV_VR_AS ? DV_IT_AGE : DV_IT_DATE]++;
    } else {
        for (size_t i = 0; i < w->f.n; i++)
            if (w->f.v[i].type < DV_IT_COUNT && plan->text_xf[w->f.v[i].type].kind != DV_XF_NONE)
                w->counts[w->f.v[i].type]++;
    }
    const uint8_t *bytes = (const uint8_t *)w->out.v;
    size_t blen = w->out.n;
    if (dv_charset_vr_applies(vr) && !dv_charset_is_utf8(cs)) {
        size_t bad = 0, elen = 0;
        if (grow((void **)&w->enc, &w->enccap, DV_CHARSET_ENCODE_BOUND(blen) + 1, err))
            return -1;
        int rc = dv_charset_encode(w->cs, cs, vr, w->out.v, blen, style, w->enc, w->enccap, &elen, &bad, err);
        if (rc < 0)
            return -1;
        if (rc == DV_CHARSET_UNENCODABLE) {
            /* The replacement needs characters the set lacks (a non-ASCII mask character, U+FFFD of an invalid
             * byte): the whole instance goes to UTF-8, so every value stays decodable by one rule. */
            if (switch_to_utf8(w, inst, err))
                return -1;
            *cs_switched = 1;
        } else {
            bytes = w->enc;
            blen = elen;
        }
    }
    if (as_vr && (blen & 1)) {
        /* a value read as text keeps its written VR (UN), which the writer pads with a NUL: padded here with the
         * space a text VR is padded with (dciodvfy knows CTP's (0013,1010) as LO: a NUL there is invalid) */
        if (bytes != w->enc && grow((void **)&w->enc, &w->enccap, blen + 1, err))
            return -1;
        if (bytes != w->enc)
            memcpy(w->enc, bytes, blen);
        w->enc[blen++] = ' ';
        bytes = w->enc;
    }
    if (blen == 0) {
        dv_elem_set_empty(e);
    } else if (dv_elem_set_value(inst, e, bytes, blen) != 0) {
        return dv_fail(err, DV_ERR_LIMIT, "metadata memory limit reached cleaning " TAGF, TAGA(e->tag));
    }
    if (!as_vr)
        e->vr = vr; /* a value read as another VR keeps the one it was written with (UN) */
    return 0;
}
