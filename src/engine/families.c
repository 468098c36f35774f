/* UID families: the one home of "which attribute references which UID" (issue 5 item 10, docs/decisions.md
 * "UID families").
 *
 * A reference is only useful if it points at a UID some instance still has. UIDs are regenerated
 * deterministically (DECISIONS 6), so a reference stays valid exactly when it takes the same decision
 * (keep or regenerate) as the attribute it references. plan.c resolves each member to its head at compile
 * time, unless a TAG query names the member itself (the user asked for it). Study and Series Instance UIDs
 * are referenced by the same attributes wherever they occur (e.g. inside ReferencedSeriesSequence), so they
 * are heads without separate members. [test_uid_families_decide, tests/integration/test_references.py] */
#include "engine/dv_plan.h"
#include "dict/dv_tags.h"

static const uint32_t sop_members[] = {
    DV_TAG_REFERENCED_SOP_INSTANCE_UID,
    DV_TAG_REFERENCED_SOP_INSTANCE_UID_IN_FILE, /* (DICOMDIR records; DICOMDIRs are refused, listed for truth) */
    DV_TAG_MEDIA_STORAGE_SOP_INSTANCE_UID, /* (file meta; the writer derives it from the output SOPInstanceUID) */
    DV_TAG_FAILED_SOP_INSTANCE_UID_LIST,   /* (retired; SOP instances a transfer failed on) */
    /* The instance a concatenation or a converted multi-frame was made from (no PS3.15 row, so a profile kept the
     * source's UID beside the instance's new one: stop 51's red team F25) */
    DV_TAG_SOP_INSTANCE_UID_OF_CONCATENATION_SOURCE,
    DV_TAG_MULTI_FRAME_SOURCE_SOP_INSTANCE_UID,
};
static const uint32_t for_members[] = {
    DV_TAG_REFERENCED_FRAME_OF_REFERENCE_UID,
    DV_TAG_RELATED_FRAME_OF_REFERENCE_UID,
    /* frames of reference without a PS3.15 row (stop 51's red team F25: kept as written) */
    DV_TAG_VOLUME_FRAME_OF_REFERENCE_UID,
    DV_TAG_TABLE_FRAME_OF_REFERENCE_UID,
    DV_TAG_TARGET_FRAME_OF_REFERENCE_UID,
    DV_TAG_EQUIPMENT_FRAME_OF_REFERENCE_UID,
};

static const dv_uid_family families[] = {
    {DV_TAG_SOP_INSTANCE_UID, "SOPInstanceUID", sop_members, sizeof sop_members / sizeof sop_members[0]},
    {DV_TAG_FRAME_OF_REFERENCE_UID, "FrameOfReferenceUID", for_members, sizeof for_members / sizeof for_members[0]},
    {DV_TAG_STUDY_INSTANCE_UID, "StudyInstanceUID", NULL, 0},
    {DV_TAG_SERIES_INSTANCE_UID, "SeriesInstanceUID", NULL, 0},
};

/* Inside these sequences ReferencedSOPInstanceUID names a study (PS3.3: the Referenced Study Sequence of the
 * patient/study modules and the RT Referenced Study Sequence of RT Structure Sets reference the study with a
 * Study-management SOP class), so it takes StudyInstanceUID's decision there. */
static const dv_uid_context contexts[] = {
    {DV_TAG_REFERENCED_STUDY_SEQUENCE, DV_TAG_REFERENCED_SOP_INSTANCE_UID, DV_TAG_STUDY_INSTANCE_UID},
    {DV_TAG_RT_REFERENCED_STUDY_SEQUENCE, DV_TAG_REFERENCED_SOP_INSTANCE_UID, DV_TAG_STUDY_INSTANCE_UID},
};

/* Attributes whose value may name any study, series or instance, and nothing says which: an SR UIDREF content
 * item's UID (PS3.3 C.17.3.2.4; SR documents use it for the study, series and instances a report is about).
 * They cannot follow one head, and keeping them where the primary IDs are regenerated (KEEP_ALL,
 * DEIDENTIFY_TAG_CONTENTS) wrote the source StudyInstanceUID beside its new one. So where the profile would keep
 * one, it is regenerated whenever StudyInstanceUID, SeriesInstanceUID or SOPInstanceUID is (privacy first: a
 * UID it names gets the value its target gets; a UID of something else gets a `2.25.` UID that names
 * nothing). An action naming it decides as usual. [test_engine: test_uid_ref_follows_primary_ids] */
static const uint32_t any_refs[] = {
    DV_TAG_UID,
};

const uint32_t *dv_uid_any_refs(size_t *count)
{
    *count = sizeof any_refs / sizeof any_refs[0];
    return any_refs;
}

const dv_uid_context *dv_uid_contexts(size_t *count)
{
    *count = sizeof contexts / sizeof contexts[0];
    return contexts;
}

const dv_uid_family *dv_uid_families(size_t *count)
{
    *count = sizeof families / sizeof families[0];
    return families;
}
