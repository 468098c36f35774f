/* What one dv_apply call keeps while it walks an instance (apply.c) and the patient's values it holds to look for
 * in what it keeps (held_values.c): internal to the engine. One apply_ctx an instance, on the caller's stack. */
#ifndef DV_ENGINE_APPLY_INTERNAL_H
#define DV_ENGINE_APPLY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "dicomveil/dicomveil.h"
#include "dicom/dv_charset.h"
#include "engine/dv_plan.h"
#include "engine/match_memo.h"
#include "engine/opaque_ids.h"
#include "dict/dv_dict.h"


/* The top-level date values read (DA values, and the dates of DT values: StudyDate, SeriesDate, AcquisitionDate,
 * ContentDate, PatientBirthDate, AcquisitionDateTime... rarely more than 10, most of them the same date), and at
 * most this many distinct ones the plan changes looked for in kept private values. */
#define DV_OWN_DATE_VALUES 64
#define DV_OWN_DATES_MAX 16
#define DV_OWN_CUT_MAX 8
/* The patient's names and IDs looked for there: the attributes (own_tag_kind), and at most this many values
 * taken from them (a name's components, each ID). */
#define DV_OWN_WORD_TAGS 7
#define DV_OWN_WORD_RAW 256
#define DV_OWN_WORDS_MAX 24
/* The other persons' and places' values held after the patient's (hold_others): the attributes (own_tag_kind), the
 * bytes read of one held outside the instance's memory (a bulk value). */
#define DV_OTHER_TAGS 16
#define DV_OTHER_RAW 256
#define DV_OTHER_INLINE_MAX 4096
/* Each held date is looked for in two forms (YYYYMMDD, YYYY-MM-DD). */
#define DV_OWN_VALUES_MAX (DV_PLAN_OWN_IDS + 2 * DV_OWN_DATES_MAX + DV_OWN_WORDS_MAX)
_Static_assert(DV_OWN_VALUES_MAX <= DV_OWN_SCAN_MAX, "opaque_ids.c scans at most DV_OWN_SCAN_MAX values at once");
/* The 4-byte pieces of the patient's own values a name field is first looked at for (name_field_may_hold): a bit
 * set of their hashes, and the pieces, at most this many (an instance's names, IDs and dates make 10 to 30). */
#define DV_GRAM_BITS 1024
#define DV_GRAMS_MAX 256
/* own[] has room for one scanner's worth: what the values leave is filled with their other forms (hold_form),
 * so that most instances scan a kept value once. */
#define DV_OWN_MAX DV_OWN_SCAN_MAX

typedef struct apply_ctx {
    const dv_plan *plan;
    const dv_key *key;
    dv_uid_memo *uid_memo; /* the worker's UID memo (uid_memo.h), NULL when none */
    dv_match_memo *matches; /* the worker's decision memo (match_memo.h), NULL when none */
    dv_instance *inst;
    dv_error *err;
    int changed;
    /* A UID was given another value (regenerated, or a dummy): the output does not retain the instance's UIDs,
     * so the markers do not claim the Retain UIDs Option (113110) even with primaryIds KEEP (markers.c). */
    int uid_replaced;
    dv_text_worker *tw;  /* the text stage's worker (DV_DEC_CLEAN_TEXT), NULL when the plan cleans no text */
    int cs_utf8;         /* the instance was switched to ISO_IR 192 by the text stage */
    dv_charset utf8;
    const dv_text_path *path; /* the sequence items above the elements being walked (for inspect) */
    dv_iod_ctx ictx;
    int nown, nheld;
    int ndates, held_decided;
    int values_decided;    /* dv_held_decide_values ran (held_decided: dv_held_decide, the values' other forms too) */
    int nvalues, recoded;  /* own[nown, nvalues) are the values as held; recoded: a name or ID with a high byte */
    int nwordtags;
    int nheld_dates, nheld_words; /* distinct dates and words in own[nown, nheld) */
    /* A date, name or ID the plan changes that own[] had no room for (or a value cut short): a kept private value
     * cannot be cleared of it, so dv_kept_holds_own deletes every one (fail closed; stop 43's red team: past 24
     * words the mother's birth name was never looked for, and her name stayed in a vendor's blob). */
    int held_overflow;
    /* The date attributes note_own_dates could not read whole (tag, VR as read); past DV_OWN_CUT_MAX of them
     * cut_more: dv_held_decide fails closed when the plan changes one (or there were more). */
    int ncut, cut_more;
    uint32_t cut_tag[DV_OWN_CUT_MAX];
    uint16_t cut_vr[DV_OWN_CUT_MAX];
    size_t own_min;               /* the shortest of own[0, nown) (SIZE_MAX: none): a shorter text holds none */
    /* own[0, nown) and own[0, nheld) made ready to be looked for (dv_kept_holds_own), each when first needed, once
     * an instance; freed by dv_apply_text. */
    dv_own_scanner *scan_own, *scan_held;
    dv_own_scanner *scan_std; /* own[0, nheld) for a standard value (dv_kept_holds_own): no name part under 6 bytes */
    dv_own_scanner *scan_foreign, *scan_foreign_std; /* foreign[0, nforeign), as scan_held and scan_std */
    dv_own_scanner *scan_words; /* own[nown, nheld): the held values without the UIDs (dv_kept_document_holds_own) */
    int nforeign;
    dv_own_scanner *scan_enc; /* enc[0, nenc) (dv_held_encoded_forms) */
    int nenc, enc_built;      /* enc_built: dv_held_encoded_forms ran (when a value first needs them: encoded_held) */
    int blob_days; /* the shift for dates inside the UIDs of kept private values (blob_shift_days); 0 not yet */
    int have_dob;  /* dv_held_decide held the patient's birth date (dob, YYYYMMDD): hold_birth_date_forms */
    int have_study; /* ... and the study date (study_da): its month words (dv_held_decide) */
    char study_da[8];
    char dob[8];
    /* Walking the items of a sequence a keepTag keeps (walk_kept_sequence): the actions alone decide (keep_action:
     * that keepTag's index, for what no action names) */
    int under_keep;
    uint32_t keep_action;
    dv_text_worker *forms_worker; /* whose converters make foreign[] (any text worker given, cleaning or not) */
    /* The 4-byte pieces of the patient's own values (name_field_may_hold): 0 not gathered yet, 1 gathered in
     * gram_bits and grams[0, ngrams), -1 not usable (a value outside ASCII, too many pieces: every value is looked
     * at) */
    int grams_state, ngrams;
    int nothers;     /* other persons' and places' attributes noted (dv_held_note_values) */
    uint64_t inflated; /* bytes the kept private values' packed forms inflated to so far (kept_own.c inflated_holds) */
    uint32_t other_cut_tag; /* one of them with no value short enough to hold (note_other), 0 none */
    uint16_t other_cut_vr;
    int hold_others; /* hold_own_word holds as hold_form does (hold_others) */
    char manufacturer[DV_UID_MAX + 1]; /* the top-level Manufacturer (hold_others: other_is_generic) */
    size_t manufacturer_len;
    /* The arrays below are filled before they are read (the counts above say how far), so dv_apply clears only
     * the fields above them (APPLY_CTX_CLEARED). */
    /* The instance's top-level Study, Series and SOP Instance UIDs as read, those the plan regenerates
     * (own_primary_ids): own[0, nown); a kept UI value naming one is regenerated too (keep_ui).
     * After them, the instance's top-level dates (DA, DT) and the patient's names and IDs that the plan changes
     * (dv_held_note_values): own[nown, nheld). A private value holding any of own[0, nheld) is deleted
     * (dv_kept_holds_own). own_kind: how each must stand to be found (dv_own_kind). */
    char own[DV_OWN_MAX][DV_UID_MAX + 1];
    size_t own_len[DV_OWN_MAX];
    unsigned char own_kind[DV_OWN_MAX];
    /* The held names' other byte forms (name_forms.h: Shift-JIS, EUC-KR, Windows-1251 ...), decided with them:
     * looked for by a scanner of their own, own[] being full with the values as written. */
    char foreign[DV_OWN_SCAN_MAX][DV_UID_MAX + 1];
    size_t foreign_len[DV_OWN_SCAN_MAX];
    unsigned char foreign_kind[DV_OWN_SCAN_MAX];
    /* The held values' encoded forms (base64, hex: dv_held_encoded_forms), decided with them: a list and scanner of
     * their own, so a value the text stage cleans is looked at for them alone (dv_kept_cleaned_text_encodes_own). */
    char enc[DV_OWN_SCAN_MAX][DV_UID_MAX + 1];
    size_t enc_len[DV_OWN_SCAN_MAX];
    unsigned char enc_kind[DV_OWN_SCAN_MAX];
    /* The dates, names and IDs as read, before the walk changes them (dv_held_note_values); which of them the plan
     * changes is asked once, when the walk first meets a private value it keeps (held_decided), so a plan that deletes
     * private elements never asks. */
    uint32_t date_tag[DV_OWN_DATE_VALUES];
    uint16_t date_vr[DV_OWN_DATE_VALUES];
    char date_val[DV_OWN_DATE_VALUES][8];
    uint32_t word_tag[DV_OWN_WORD_TAGS];
    uint16_t word_vr[DV_OWN_WORD_TAGS];
    uint16_t word_len[DV_OWN_WORD_TAGS];
    uint8_t word_raw[DV_OWN_WORD_TAGS][DV_OWN_WORD_RAW];
    unsigned char word_cut[DV_OWN_WORD_TAGS]; /* values past DV_OWN_WORD_RAW not read */
    uint64_t gram_bits[DV_GRAM_BITS / 64];
    /* The other persons' and places' values as read (dv_held_note_values): tag, VR, kind (own_tag_kind), the value's
     * bytes (where the instance holds them, which the walk never writes over: it gives an element new bytes; a bulk
     * value's first DV_OTHER_RAW bytes in other_raw) */
    uint32_t other_tag[DV_OTHER_TAGS];
    uint16_t other_vr[DV_OTHER_TAGS];
    unsigned char other_kind[DV_OTHER_TAGS];
    const uint8_t *other_v[DV_OTHER_TAGS];
    size_t other_len[DV_OTHER_TAGS];
    uint8_t other_raw[DV_OTHER_TAGS][DV_OTHER_RAW];
    uint32_t grams[DV_GRAMS_MAX];
    dv_charset word_cs; /* the set word_raw is written in: the top-level dataset's as read */
} apply_ctx;
#define APPLY_CTX_CLEARED offsetof(apply_ctx, own)

/* v[0, n) without the spaces and NULs around it. */
static inline const uint8_t *dv_apply_trim(const uint8_t *v, size_t *n)
{
    while (*n > 0 && (v[0] == ' ' || v[0] == '\0'))
        v++, (*n)--;
    while (*n > 0 && (v[*n - 1] == ' ' || v[*n - 1] == '\0'))
        (*n)--;
    return v;
}

static inline int dv_apply_is_digit(uint8_t b)
{
    return b >= '0' && b <= '9';
}

/* keepTag is the API's "Keep tag unchanged" (gcp-api.md 3.3): the user named the attribute (or its VR), so it
 * keeps its bytes, as a kept sequence keeps its subtree. Every other keep -- a profile's K or missing row,
 * KEEP_ALL, the minimal keep list, DEIDENTIFY_TAG_CONTENTS, primaryIds KEEP, and the references that follow
 * them -- promises a UID, not whatever a UI element holds. */
static inline int dv_apply_kept_by_keep_tag(const dv_match *m)
{
    return m->source == DV_MATCH_ACTION && m->kind == DV_ACTION_KEEP;
}

/* What an other person's or place's attribute holds (held_values.c own_tag_kind; other_kind[]), and OWN_WORDS
 * the patient's own names and IDs. */
enum { OTHER_PERSON = 1, OTHER_PLACE, OTHER_PHONE, OWN_WORDS };

/* --- apply.c --- */
/* The first bytes (at most cap, *n of them) of e's value, inline or read into buf; NULL (*n 0) when empty or
 * unreadable. */
const uint8_t *dv_apply_value_head(apply_ctx *c, const dv_elem *e, uint8_t *buf, size_t cap, size_t *n);

/* --- held_values.c: the patient's values (and the other persons' and places') the plan changes, held to be looked
 * for in the values it keeps --- */
/* Read the instance's top-level dates, names and IDs (and the others' values) before the walk changes them. */
void dv_held_note_values(apply_ctx *c);
/* Decide which of them the plan changes, after the instance's own UIDs in own[]. -1 out of memory. */
int dv_held_decide_values(apply_ctx *c);
/* ... and their other written forms (dates as headers write them, names in other encodings, UTF-16, joined
 * names, the others' values). -1 out of memory. */
int dv_held_decide(apply_ctx *c);
/* The held values' base64 and hex forms into enc[] (the first nvalues of own[] are the values). */
void dv_held_encoded_forms(apply_ctx *c, int nvalues);
/* Long enough to be the patient's rather than chance: 4 bytes, or 6 digits. */
int dv_held_word_long_enough(const uint8_t *v, size_t n);

/* --- kept_own.c: does a value the plan keeps hold the patient's held values (held_values.c)? --- */
/* Has the instance own values (primary UIDs, dates, names or IDs) that a kept value could hold? */
static inline int dv_kept_has_own_values(const apply_ctx *c)
{
    return c->nown || c->ndates || c->nwordtags || c->ncut || c->cut_more || c->nothers;
}

/* Could a standard text value the text stage cleans or the profile keeps hold what software serialized (base64,
 * hex)? Only an attribute PS3.6 does not list (stop 49's red team: unknown LOs of the patient's group, where a
 * vendor's software writes). A known one (a description, a comment, a history, a name) is written by people or a
 * modality's fields, and looking at those built the encoded forms' scanner for nearly every instance (50 CT: +2.9 %
 * instructions under DEIDENTIFY_TAG_CONTENTS, +3.2 % under Basic + cleanDescriptors, for LT comments and
 * histories; bench/RESULTS.md "What stop 50's changes cost"). A private value is looked at for them with the
 * other forms (dv_kept_holds_own). */
static inline int dv_kept_may_hold_serialized(uint32_t tag)
{
    return dv_dict_lookup(tag) == NULL;
}

/* 1 when e, kept (d), holds one of the instance's own primary UIDs the plan regenerates or a held value (text: a
 * profile-kept text, looked at as text); 0 not; -1 error (err set). */
int dv_kept_holds_own(apply_ctx *c, const dv_elem *e, const dv_match *m, dv_decision d, int text);
/* An EncapsulatedDocument kept as it is while the plan changes the patient's values: 0 kept, -1 refused (err). */
int dv_kept_document_holds_own(apply_ctx *c, const dv_ds *ds, const dv_elem *e, const dv_match *m);
/* 1 when a value the text stage cleans holds one of the held values' encoded forms (base64, hex); 0, -1. */
int dv_kept_cleaned_text_encodes_own(apply_ctx *c, const dv_elem *e);
/* 1 when the kept UI value v[0, len) holds as a component one of the patient's IDs that the plan changes; 0 not,
 * -1 out of memory. */
int dv_kept_ui_holds_patient(apply_ctx *c, const uint8_t *v, size_t len);
/* 1 when a run of digits of the UI value v[0, len) is one of the held values of kind (held: dv_held_decide). */
int dv_kept_ui_component_held(const apply_ctx *c, const uint8_t *v, size_t len, dv_own_kind kind);

#endif
