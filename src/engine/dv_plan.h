/* The compiled de-identification plan and the engine's internal helpers (internal).
 *
 * plan.c compiles a dv_config into an immutable dv_plan that answers "what happens to this element?" with a
 * handful of O(1) lookups; apply.c walks a dataset and carries the decisions out; dummy.c, uid.c and markers.c
 * each do one job for it. Nothing here holds per-instance state, so one plan serves any number of threads. */
#ifndef DV_PLAN_H
#define DV_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include "dicomveil/dv_engine.h"
#include "dicomveil/dv_run.h"
#include "config/dv_config_ir.h"
#include "dicom/dv_ds.h"
#include "dict/dv_dict.h"
#include "dict/dv_iod.h"
#include "dict/dv_tags.h"
#include "text/dv_transform.h"
#include "dicom/dv_charset.h"

/* What happens to one element. */
typedef enum dv_decision {
    DV_DEC_KEEP = 0,     /* element and its whole subtree untouched */
    DV_DEC_KEEP_RECURSE, /* keep the element, apply the plan to every item's elements */
    DV_DEC_EMPTY,        /* zero-length value (an SQ becomes an empty sequence) */
    DV_DEC_DELETE,       /* element removed */
    DV_DEC_DUMMY,        /* VR-valid placeholder (dummy.c) */
    DV_DEC_RESET_TREE,   /* SQ: every nested element reset recursively */
    DV_DEC_REGEN_UID,    /* UI: every value regenerated (uid.c) */
    DV_DEC_RESET_CONFORM, /* SQ under the profile's D: every nested element reset, keeping the IOD valid (Type 3
                          * removed, Type 2 emptied, codes the profile keeps kept; apply.c reset_conform) */
    DV_DEC_CLEAN_TEXT    /* text VR: findings transformed per the plan's TextConfig (text_stage.c) */
} dv_decision;

const char *dv_decision_name(dv_decision d);

#define DV_PLAN_NO_ACTION UINT32_MAX

/* Open-addressing slot: one per tag that some action query, profile row or UID family names exactly. */
typedef struct dv_plan_slot {
    uint32_t tag;
    uint32_t action;  /* index of the first action with a TAG query for this tag, or DV_PLAN_NO_ACTION */
    uint32_t follow;  /* UID families: the tag whose decision this one takes (0 = its own; see families.c) */
    uint8_t pcode;    /* dv_pcode of the profile row (MINIMAL: DV_PC_K for the keep list), DV_PC_NONE if none */
    uint8_t cdcode;   /* dv_pcode of the row's Clean Descriptors column (C = cleaned), DV_PC_NONE if none */
    uint8_t family;   /* 1 when the tag is a UID family's head or member (reset subtrees consult the plan) */
    uint8_t context;  /* 1 when the member follows another head inside some sequence (dv_plan.contexts) */
    uint8_t any_ref;  /* 1 when the value may name any study, series or instance (families.c dv_uid_any_refs) */
    uint8_t used;
} dv_plan_slot;

typedef struct dv_plan_masked {
    uint32_t tag, mask;
    uint32_t value;   /* action index (masked queries) or dv_pcode (masked profile rows) */
} dv_plan_masked;

#define DV_PLAN_VR_SLOTS (26 * 26)

/* A family member that references another head inside one sequence (families.c contexts), kept only when no
 * TAG query names the member. */
typedef struct dv_plan_context {
    uint32_t parent, member, head;
} dv_plan_context;
#define DV_PLAN_MAX_CONTEXTS 8

/* One action as the plan keeps it: its kind and its own copy of the parameters. */
typedef struct dv_plan_action {
    dv_action_kind kind;
    dv_action_params params;
} dv_plan_action;

struct dv_plan {
    dv_profile_type profile;
    dv_primary_ids primary_ids;
    int legacy;
    char profile_name[48];
    const dv_profile_table *table;   /* PS3.15 edition used by BASIC (the default edition) */

    size_t nactions;
    dv_plan_action *actions;         /* nactions; each owns its parameters */

    dv_plan_slot *slots;             /* power-of-two sized, at most half full */
    size_t slot_mask;

    uint32_t vr_first[DV_PLAN_VR_SLOTS]; /* 'A'..'Z' x 'A'..'Z' -> first action with that VR query */
    int has_vr_queries;                  /* any VR query: a standard element's dictionary VR is asked too */

    dv_plan_masked *mqueries;        /* masked TAG queries (legacy OverlayData (60xx,3000)) */
    size_t nmqueries;
    dv_plan_masked *mprofile;        /* masked profile rows ((50xx,xxxx), (60xx,3000), (60xx,4000)) */
    size_t nmprofile;

    char summary[256];
    /* DeidentificationMethod's values for this plan (dv_markers_method), made once at compile: markers.c adds
     * them to every instance. */
    char method[512];
    size_t method_len;

    /* Text cleaning (issue 6): the transformation of each infoType (TextConfig resolved, dv_text_resolve),
     * whether options.cleanDescriptors is on (C rows cleaned, [CTX] phrases), and whether any decision can be
     * DV_DEC_CLEAN_TEXT at all (so instances of other configs skip the text stage's setup). */
    dv_xform text_xf[DV_IT_COUNT];
    int clean_descriptors;
    int cleans_text;
    struct dv_patterns *patterns; /* the compiled pattern detectors (text/patterns.h; immutable, shared by every
                                     worker), when the plan cleans text or chooses pixel boxes by their text;
                                     owned by the plan */
    /* Burned-in text (issue 11, engine/dv_pixel_classify.h): some ImageConfig of the plan chooses boxes by their
     * recognised text (REDACT_SENSITIVE_TEXT[_CLEAN_DESCRIPTORS], or UNSPECIFIED with additionalInfoTypes), so
     * the detectors are compiled even when no element is cleaned; image_ctx: one of them is
     * REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS, so the instance's [CTX] phrases are gathered and detected
     * (dv_text_begin_instance, dv_text_detect) without options.cleanDescriptors. */
    int image_detects_text;
    int image_ctx;
    /* Which of dv_plan_own_ids (bit i: dv_plan_own_ids[i]) the plan regenerates at the top level, decided once
     * here: apply.c's own_primary_ids reads only those, per instance. */
    unsigned regen_own_ids;
    /* The plan changes a date the instances' UIDs are often made of (StudyDate, the patient's birth date ...) and
     * regenerates the primary IDs (primaryIds is not KEEP), decided once (plan.c): a UID the plan keeps that holds
     * a date (dv_uid_holds_date) or the patient's ID is then regenerated (apply.c keep_ui). */
    int regen_dated_uids;

    /* Burned-in text (issue 11): options.cleanImage, or the legacy top-level `image` (gcp-api.md 4.1: the same
     * thing), is the ImageConfig top-level PixelData gets when no action decides PixelData (as if a
     * cleanImageTag action on PixelData followed the config's own actions; dv_pixel_config_for). cleans_pixels
     * is 1 when any ImageConfig of the plan asks for redaction: 0 means the pixel stage never runs. */
    int has_clean_image;
    dv_image_config clean_image;
    int cleans_pixels;

    dv_plan_context contexts[DV_PLAN_MAX_CONTEXTS];
    size_t ncontexts;

    /* Accepted-without-effect notes from the config (dv_plan_warning); texts name JSON paths, never values. */
    char warnings[DV_CONFIG_MAX_WARNINGS][DV_CONFIG_WARNING_MAX];
    size_t nwarnings;
};

/* Compile an already parsed config (dv_plan_from_json = dv_config_parse + this). */
dv_plan *dv_plan_compile(const dv_config *cfg, dv_error *err);
/* dv_plan_compile without dv_config_refuse_unbuilt: for tests and tools that compile a config whose image part
 * is not built yet (one home of the refusal stays dv_config_refuse_unbuilt). */
dv_plan *dv_plan_compile_all(const dv_config *cfg, dv_error *err);

/* The VR decisions are made with: the element's VR, except that a UN element read as a sequence is SQ, a
 * UN element whose dictionary VR is known is treated as that VR (privacy first: a "PN" query must catch a
 * PN that arrived as UN), and a standard attribute whose dictionary VR is UI is UI whatever VR it was written
 * with (a UID written as LO or SH is regenerated and checked as a UID). */
uint16_t dv_plan_effective_vr(const dv_elem *e);
int dv_elem_is_sequence(const dv_elem *e);

/* dv_match.free_text: a description, comment, title... (looked at for every held value), or a name, meaning,
 * value or method (looked at once a cheap look finds a piece of the patient's own values in it: apply.c). */
enum { DV_FREE_TEXT = 1, DV_FREE_NAME = 2 };

/* Which rule decided (dv_match.source). */
typedef enum dv_match_source {
    DV_MATCH_RULE = 0,    /* a fixed rule: group lengths are always deleted */
    DV_MATCH_ACTION,      /* dicomTagConfig.actions[action] */
    DV_MATCH_PRIMARY_IDS, /* options.primaryIds */
    DV_MATCH_PROFILE      /* profileType */
} dv_match_source;

/* The full answer for one element: the decision, and the action that made it with its parameters, so a stage
 * (pixel redaction, text cleaning) reads its settings from the match without a second lookup. */
typedef struct dv_match {
    dv_decision decision;
    dv_match_source source;
    uint32_t action;                /* action index, DV_PLAN_NO_ACTION unless source == DV_MATCH_ACTION */
    dv_action_kind kind;            /* the action's kind, 0 unless source == DV_MATCH_ACTION */
    const dv_action_params *params; /* the action's parameters (owned by the plan), NULL unless an action */
    uint32_t decided_tag;           /* the element's tag, or the UID family head whose decision it took */
    /* The profile keeps, as it is, a standard value people write free text in (DV_FREE_TEXT) or a chosen name in
     * (DV_FREE_NAME; plan.c kept_free_text): apply.c looks at it for the instance's own names, IDs and dates.
     * Decided with the rest, so memoised with it. */
    uint8_t free_text;
} dv_match;

/* The decision for one element (tag, effective VR, sequence or not), with the matched action. Pure function
 * of the plan and the (read-only) IOD tables, O(1): one or two hash probes, one table lookup and a scan of the
 * few masked entries, plus one binary search in the IOD context for the codes a type can change.
 * parent is the tag of the sequence whose item holds the element (0 at the top level): a few references
 * name a different UID inside a particular sequence (families.c contexts). ctx is the element's place in the
 * instance's IOD (the context of the dataset holding it; DV_IOD_CTX_UNKNOWN when the IOD or the place is not
 * in the tables: then the DECISIONS 3 fallbacks apply). dv_plan_match = parent 0, ctx unknown. */
dv_decision dv_plan_match_in(const dv_plan *plan, uint32_t parent, dv_iod_ctx ctx, uint32_t tag, uint16_t vr,
                             int is_seq, dv_match *m);
dv_decision dv_plan_match(const dv_plan *plan, uint32_t tag, uint16_t vr, int is_seq, dv_match *m);
/* The actions alone (dv_plan_match_in's first step, a UID family's reference decided as its head): 1 when an
 * action's queries match the element (m and *d set), 0 when none does. For the elements inside a sequence a keepTag
 * keeps: an action naming them decides them, nothing else does (apply.c). */
int dv_plan_match_action(const dv_plan *plan, uint32_t parent, uint32_t tag, uint16_t vr, int is_seq, dv_match *m,
                         dv_decision *d);
/* dv_plan_match without the details. */
dv_decision dv_plan_decide(const dv_plan *plan, uint32_t tag, uint16_t vr, int is_seq);

/* Inside a reset subtree (DECISIONS 4) a UI element of a UID family (families.c) keeps its value when the plan
 * keeps the UID it identifies or references, so a reset never leaves a reference to a UID that still exists
 * under its old value pointing nowhere. 1 = keep (m: the match that keeps it, so the walk knows whether a keepTag
 * did), 0 = reset as usual. */
int dv_plan_reset_keeps_uid(const dv_plan *plan, uint32_t parent, uint32_t tag, uint16_t vr, dv_match *m);

/* --- families.c --- */
/* A UID family (docs/decisions.md "UID families"): the attribute that holds a UID (head) and the attributes
 * that reference it (members). A member not named by a TAG query takes the head's decision. */
typedef struct dv_uid_family {
    uint32_t head;
    const char *name;
    const uint32_t *members; /* nmembers */
    size_t nmembers;
} dv_uid_family;
/* The one table of UID families. */
const dv_uid_family *dv_uid_families(size_t *count);
/* Members that reference a different head inside one sequence (e.g. ReferencedSOPInstanceUID names the study
 * inside RTReferencedStudySequence). */
typedef struct dv_uid_context {
    uint32_t parent, member, head;
} dv_uid_context;
const dv_uid_context *dv_uid_contexts(size_t *count);
/* Attributes that may reference any study, series or instance: regenerated, where the profile keeps them,
 * whenever one of the three primary IDs is. */
const uint32_t *dv_uid_any_refs(size_t *count);
/* An instance's own primary IDs, in the order of dv_plan.regen_own_ids' bits: StudyInstanceUID, SeriesInstanceUID,
 * SOPInstanceUID. A reference that may name any of them (dv_uid_any_refs) follows them; a kept UI value equal to
 * one the plan regenerates is regenerated with it (apply.c). */
#define DV_PLAN_OWN_IDS 3
extern const uint32_t dv_plan_own_ids[DV_PLAN_OWN_IDS];

/* --- dummy.c --- */
/* Longest dummy value any VR gets (DT "19000101000000"). */
#define DV_DUMMY_MAX 16
/* Write the VR-valid placeholder for a non-UI, non-SQ VR into buf (padded to even length). Returns the length
 * (0 for OB/OD/OF/OL/OV/OW/UN and unknown VRs: those become empty). */
size_t dv_dummy_value(uint16_t vr, uint8_t buf[DV_DUMMY_MAX]);
/* The most values a dummy repeats (see dv_dummy_values). */
#define DV_DUMMY_MAX_VALUES 4096u
/* How many values the original element holds: binary VRs by length, multi-valued text VRs by backslashes
 * (LT, ST, UT, UR are single-valued by definition). At least 1, at most DV_DUMMY_MAX_VALUES. */
size_t dv_dummy_count(uint16_t vr, const uint8_t *value, uint64_t length);
/* The placeholder repeated count times (text joined with '\'), padded to even length: the dummy keeps the
 * original value multiplicity, so a VM-2 attribute (e.g. AnchorPoint) stays VM 2 and valid. malloc'd into
 * *out (NULL when the VR's dummy is empty); returns the length. -1 on allocation failure. */
long dv_dummy_values(uint16_t vr, size_t count, uint8_t **out);

/* --- uid.c --- */
typedef struct dv_uid_memo dv_uid_memo; /* uid_memo.h */
/* dv_uid_regenerate, looked up in and stored to a worker's memo (NULL: none). */
size_t dv_uid_regenerate_memo(const dv_key *key, dv_uid_memo *memo, const char *uid, size_t uid_len,
                              char out[DV_UID_MAX + 1]);
/* Which values of a UI element value are regenerated. */
typedef enum dv_uid_regen {
    DV_UID_REGEN_ALL = 0, /* every value (registry UIDs stay): regenUidTag, the profile's U, a D on a UI */
    DV_UID_REGEN_DATED,   /* the values that are not UIDs or that hold a date (dv_uid_holds_date), the others
                           * stay: a value the plan keeps while it changes the dates (regen_dated_uids) */
    DV_UID_REGEN_NOT_UIDS /* only the values that are not UIDs (dv_uid_valid), the others stay: a value the plan
                           * keeps (docs/decisions.md "Kept UIDs are UIDs") */
} dv_uid_regen;
/* --- uid_dates.c --- */
/* 1 when a component of the UID uid[0, n) (padding trimmed) begins with a calendar date: 8 digits or more whose
 * first 8 are a year 1800-2099, a month and a day (1.3.46.670589.11.5.0.2012100810540067000: 2012-10-08). Many
 * writers build UIDs from the study's date and time, or from the patient's ID and birth date; the shape alone
 * decides (no instance's values), so a UID held by several instances is regenerated in all of them or in none.
 * A component of random digits begins with such a date about once in 900. */
int dv_uid_holds_date(const char *uid, size_t n);
/* dv_uid_holds_date of any backslash-separated value of a UI element value. */
int dv_ui_value_holds_date(const uint8_t *value, size_t len);
/* In v[0, n), a vendor's bytes: each UID written there (uid_dates.c: digits and full stops, 6 components and 24
 * bytes or more, components padded by zeros allowed) has each component that begins with a calendar date shifted
 * by days in place (the same length: the bytes' layout stays). Returns how many dates were shifted. */
size_t dv_uid_dates_shift(uint8_t *v, size_t n, int days);
/* How many dates dv_uid_dates_shift would shift in v[0, n) (a real calendar date each), v unchanged. */
size_t dv_uid_dates_count(const uint8_t *v, size_t n);
/* Regenerate the backslash-separated values of a UI element value that mode selects (padding trimmed per value,
 * every value), padding the result to even length with NUL, through memo (NULL: none). *out is malloc'd (caller
 * frees); *out_len may be 0 (empty stays empty). Returns 0, or -1 on allocation failure. */
int dv_uid_regenerate_value(const dv_key *key, dv_uid_memo *memo, const uint8_t *value, size_t len, dv_uid_regen mode,
                            uint8_t **out, size_t *out_len);
/* The same into buf: the length written (0: empty), or -1 when cap is less than (values x (DV_UID_MAX + 1) + 2). */
long dv_uid_regenerate_into(const dv_key *key, dv_uid_memo *memo, const uint8_t *value, size_t len, dv_uid_regen mode,
                            uint8_t *buf, size_t cap);

/* The key's bytes, for the text stage's date shifts and crypto hashes (DECISIONS 7). Owned by the key. */
const uint8_t *dv_key_bytes(const dv_key *key, size_t *len);
/* HMAC-SHA256(key, msg) into md (32 bytes) with the key's pre-keyed contexts (the UIDs' hash; also the
 * server's instance file names, src/store/blobs.c). Thread-safe on a shared key. 0, or -1 (out of memory,
 * or the digest failed). */
int dv_key_hmac(const dv_key *key, const void *msg, size_t len, unsigned char md[32]);
/* A sub-key for label (the journal's path ids and MACs, the MPI wire): HMAC-SHA256 keyed by the label, of the
 * key's bytes (HKDF's extract step, the label its salt). Not dv_key_hmac(key, label): cryptoHashConfig without a
 * cryptoKey writes base64(HMAC(run key, value)) into outputs, so an instance holding a label as a value handed
 * its output's reader that sub-key (stop 54's review); this one would take an instance holding the run key
 * itself. 0, or -1. [test_mpi_seal: test_seal_key_not_a_crypto_hash] */
int dv_key_derive(const dv_key *key, const char *label, unsigned char out[32]);

/* --- text_stage.c (issue 6: the text stage, run where the plan decided DV_DEC_CLEAN_TEXT) --- */
typedef struct dv_text_worker dv_text_worker;
/* A detector the stage runs over each decoded value, in addition to the Clean Descriptors [CTX] phrases:
 * appends findings of the infoTypes in want. user is per worker. */
typedef int (*dv_text_detect_fn)(void *user, const char *utf8, size_t len, dv_infotype_set want,
                                 dv_findings *out, dv_error *err);
/* Per-worker state (charset converters, findings, buffers, the instance's [CTX] phrases): one per thread,
 * reused across instances. NULL when out of memory. */
dv_text_worker *dv_text_worker_new(void);
void dv_text_worker_free(dv_text_worker *w);
void dv_text_worker_set_detector(dv_text_worker *w, dv_text_detect_fn fn, void *user);
/* Findings transformed in the last instance, by infoType (for the run report; counts only, never values). */
const uint32_t *dv_text_worker_counts(const dv_text_worker *w);
/* The current instance's deny-list (text/denylist.h; NULL before dv_text_begin_instance), owned by w: for the
 * burned-in pixel classifier's OCR-tolerant matching (dv_denylist_match_ocr). PHI: never logged or kept. */
struct dv_denylist;
const struct dv_denylist *dv_text_worker_denylist(const dv_text_worker *w);
/* The worker's converters for apply.c's other byte forms of the patient's names (name_forms.h), made on first use
 * and kept for its later instances; NULL when out of memory. */
struct dv_name_forms;
struct dv_name_forms *dv_text_worker_name_forms(dv_text_worker *w);
/* Before the plan changes anything: the instance's own identifying values, read from the ORIGINAL instance at
 * every nesting level: PatientID / StudyInstanceUID (the date shift's identity), the deny-list (every PN
 * component, patient and other IDs, accession, study and admission IDs, birth date in every written form,
 * address and telephone parts, institution names; always, whatever the plan) and, with cleanDescriptors or a
 * REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS ImageConfig (plan->image_ctx), the [CTX] phrases. They stay in w until
 * the next dv_text_begin_instance (or
 * dv_text_worker_free): dv_text_detect may be called after dv_apply_text walked and changed the instance.
 * dv_apply_text calls this when plan->cleans_text; a stage that needs the deny-list for another plan calls it
 * itself before dv_apply_text changes the instance. 0 or -1 (DV_ERR_LIMIT: over DV_DENYLIST_MAX_ENTRIES or
 * the [CTX] caps; DV_ERR_NOMEM; a charset error). */
int dv_text_begin_instance(dv_text_worker *w, const dv_plan *plan, const dv_key *key, dv_instance *inst,
                           dv_error *err);
/* The infoTypes the plan transforms (TextConfig resolved: every type whose transformation is not NONE), plus
 * DV_IT_CTX when the plan has cleanDescriptors: the `want` the text stage passes to dv_text_detect. */
dv_infotype_set dv_text_plan_infotypes(const dv_plan *plan);
/* THE one home that runs every detector over one UTF-8 string (the text stage, `dicomveil inspect` and the
 * burned-in pixel classifier all call it; keep this signature stable):
 *   - the pattern detectors (plan->patterns; skipped when the plan compiled none, i.e. it cleans no text),
 *   - the dictionaries (dv_detect_names) for the DV_LEX_INFOTYPES in want,
 *   - the current instance's deny-list (dv_text_begin_instance; the strongest signal: its findings score 90+
 *     and win overlaps). Its names are PERSON_NAME, or LAST_NAME / FIRST_NAME when only those are wanted;
 *     findings of types not in want are dropped,
 *   - the worker's extra detector (dv_text_worker_set_detector), if any,
 *   - the [CTX] phrases, when want has DV_IT_BIT(DV_IT_CTX) and plan->clean_descriptors or plan->image_ctx.
 * out is cleared first and left normalised (dv_findings_normalise: sorted by start, disjoint); spans are byte
 * offsets into utf8 on code point boundaries. want: usually dv_text_plan_infotypes(plan). plan may be NULL
 * (no patterns, no [CTX]). Reads only w's per-instance state: no value is logged or kept.
 * 0, or -1 with err (DV_ERR_LIMIT: text over a detector's cap or DV_FINDINGS_MAX findings; DV_ERR_NOMEM). */
int dv_text_detect(dv_text_worker *w, const dv_plan *plan, const char *utf8, size_t len, dv_infotype_set want,
                   dv_findings *out, dv_error *err);
/* Where an element sits (for `inspect`): one frame per sequence item on the way down, on the walk's stack
 * (apply.c); NULL at the top level. */
typedef struct dv_text_path {
    const struct dv_text_path *up;
    uint32_t seq;  /* the sequence's tag */
    uint32_t item; /* the item's index in it, from 0 */
    uint32_t depth; /* 1 for an item of a top-level sequence */
} dv_text_path;
/* An observer (dv_run_inspect, dv_run.h): told every finding the stage transforms, with its element's path.
 * NULL (the default) costs one test per cleaned element. */
void dv_text_worker_set_observer(dv_text_worker *w, dv_text_observer_fn fn, void *user);
/* One text value bigger than this is refused by the text stage (a limit), not inspected partially; apply.c reads no
 * bigger private UN value as text. */
#define DV_TEXT_VALUE_MAX (16u << 20)
/* Clean one element (DV_DEC_CLEAN_TEXT) whose values are in cs; path is where it sits (for the observer;
 * NULL at the top level). *changed = 1 when the value was rewritten (an unchanged value keeps its bytes). When a rewritten value cannot be encoded in cs, the whole instance is
 * switched to ISO_IR 192 first (every text value re-encoded) and *cs_switched = 1: the caller then decodes
 * every later value as UTF-8. as_vr: 0, or the VR to read a value of unknown VR (UN) as, whose written VR stays
 * (apply.c private_un_text). 0 or -1. */
/* Clean an EncapsulatedDocument (0042,0011) the plan cleans as text, whatever its VR; ds is the dataset holding it
 * (its MIMETypeOfEncapsulatedDocument is read there). *changed as dv_text_clean_elem; the caller sets the
 * document's length. 0 or -1. */
int dv_text_clean_document(dv_text_worker *w, const dv_plan *plan, dv_instance *inst, const dv_ds *ds, dv_elem *e,
                           const dv_text_path *path, int *changed, dv_error *err);
int dv_text_clean_elem(dv_text_worker *w, const dv_plan *plan, dv_instance *inst, dv_elem *e, uint16_t as_vr,
                       const dv_charset *cs, const dv_text_path *path, int *changed, int *cs_switched,
                       dv_error *err);
typedef struct dv_match_memo dv_match_memo; /* match_memo.h */
/* dv_apply with a text worker (NULL: one is made for this call when the plan cleans text), a UID memo and a
 * decision memo (NULL: none; uid_memo.h, match_memo.h). */
int dv_apply_text(const dv_plan *plan, const dv_key *key, dv_instance *inst, dv_result *res,
                  dv_text_worker *w, dv_uid_memo *memo, dv_match_memo *matches, dv_error *err);

/* --- markers.c --- */
/* Write (0012,0062) YES and add this plan's values to (0012,0063) and codes to (0012,0064), keeping earlier ones.
 * uids_retained: no UID of the instance was given another value (the Retain UIDs Option's code depends on it). */
int dv_markers_write(const dv_plan *plan, dv_instance *inst, int uids_retained, dv_error *err);
/* The DeidentificationMethod values, backslash-separated (no padding). Returns the length. */
size_t dv_markers_method(const dv_plan *plan, char *buf, size_t cap);


#endif
