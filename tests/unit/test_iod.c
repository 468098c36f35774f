/* Unit tests for the generated PS3.3 IOD tables (src/dict/iod_table.c) and their lookups (src/dict/iod.c).
 * The expected types are those of GDCM's Part3.xml (the generator's input), checked by hand there. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "dict/dv_iod.h"
#include "dict/dv_tags.h"

#define CT_IMAGE "1.2.840.10008.5.1.4.1.1.2"
#define ENHANCED_CT "1.2.840.10008.5.1.4.1.1.2.1"
#define GSPS "1.2.840.10008.5.1.4.1.1.11.1"
#define BASIC_TEXT_SR "1.2.840.10008.5.1.4.1.1.88.11"

static const dv_iod *iod_of(const char *uid)
{
    return dv_iod_for_sop_class(uid, strlen(uid));
}

static void test_sop_class_to_iod(void **state)
{
    (void)state;
    const dv_iod *ct = iod_of(CT_IMAGE);
    assert_non_null(ct);
    assert_string_equal(ct->name, "CT Image");
    assert_string_equal(ct->table, "A.3-1");
    assert_string_equal(iod_of(ENHANCED_CT)->name, "Enhanced CT Image");
    assert_string_equal(iod_of(GSPS)->name, "Grayscale Softcopy Presentation State");
    assert_string_equal(iod_of("1.2.840.10008.5.1.4.1.1.7")->name, "SC Image");
    assert_string_equal(iod_of("1.2.840.10008.5.1.4.1.1.481.2")->name, "RT Dose");
    /* Two SOP Classes, one IOD. */
    assert_ptr_equal(iod_of("1.2.840.10008.5.1.4.1.1.1.1"), iod_of("1.2.840.10008.5.1.4.1.1.1.1.1"));

    /* UI padding (NUL or space) is ignored; the text ends at the first NUL. */
    assert_ptr_equal(dv_iod_for_sop_class(CT_IMAGE "\0", sizeof CT_IMAGE), ct);
    assert_ptr_equal(dv_iod_for_sop_class(CT_IMAGE " ", sizeof CT_IMAGE), ct);
    assert_ptr_equal(dv_iod_for_sop_class(CT_IMAGE "\0" ".1", sizeof CT_IMAGE + 2), ct);
    /* Prefixes and extensions of a mapped UID are other UIDs. */
    assert_null(iod_of("1.2.840.10008.5.1.4.1.1"));
    assert_null(iod_of(CT_IMAGE ".9"));
    assert_null(dv_iod_for_sop_class(CT_IMAGE, strlen(CT_IMAGE) - 1));
    /* Unknown: retired (US Image Storage, retired), private, empty, NULL, longer than any UID. */
    assert_null(iod_of("1.2.840.10008.5.1.4.1.1.6"));
    assert_null(iod_of("2.25.152752519834663263826301420581341174218"));
    assert_null(dv_iod_for_sop_class("", 0));
    assert_null(dv_iod_for_sop_class(NULL, 5));
    char long_uid[80];
    memset(long_uid, '1', sizeof long_uid);
    assert_null(dv_iod_for_sop_class(long_uid, sizeof long_uid));
}

/* One expected lookup: the tag and the type it must have in the context being checked. */
typedef struct type_case {
    uint32_t tag;
    dv_attr_type want;
} type_case;

/* Checks every case in one context (iod + parent path); a mismatch names the tag and both types. */
static void assert_types(const dv_iod *iod, const uint32_t *path, size_t depth, const type_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        dv_attr_type got = dv_iod_attr_type(iod, path, depth, cases[i].tag);
        if (got != cases[i].want)
            fail_msg("(%04X,%04X) at depth %zu: type %s, want %s", cases[i].tag >> 16, cases[i].tag & 0xFFFF, depth,
                     dv_attr_type_name(got), dv_attr_type_name(cases[i].want));
    }
}

#define ASSERT_TYPES(iod, path, depth, ...)                                                                     \
    do {                                                                                                        \
        const type_case cases_[] = {__VA_ARGS__};                                                               \
        assert_types((iod), (path), (depth), cases_, sizeof cases_ / sizeof cases_[0]);                          \
    } while (0)

/* CT Image IOD (PS3.3 A.3-1): Patient, General Study, Image Plane, CT Image, SOP Common modules. */
static void test_ct_image_types(void **state)
{
    (void)state;
    const dv_iod *ct = iod_of(CT_IMAGE);
    ASSERT_TYPES(ct, NULL, 0, {DV_TAG_PATIENT_NAME, DV_ATTR_2}, {DV_TAG_PATIENT_ID, DV_ATTR_2},
                 {DV_TAG_STUDY_INSTANCE_UID, DV_ATTR_1}, {DV_TAG_SOP_CLASS_UID, DV_ATTR_1},
                 {DV_TAG_ACCESSION_NUMBER, DV_ATTR_2}, {DV_TAG_STUDY_DATE, DV_ATTR_2},
                 {DV_TAG_STUDY_DESCRIPTION, DV_ATTR_3}, {DV_TAG_REFERENCED_STUDY_SEQUENCE, DV_ATTR_3},
                 {DV_TAG_SLICE_THICKNESS, DV_ATTR_2}, {DV_TAG_KVP, DV_ATTR_2},
                 {DV_TAG_FRAME_OF_REFERENCE_UID, DV_ATTR_1},
                 /* Not in any CT Image module (MR Image module): unknown, so the engine falls back. */
                 {DV_TAG_ECHO_TIME, DV_ATTR_UNKNOWN},
                 /* Private tags are never in the tables. */
                 {0x00091001u, DV_ATTR_UNKNOWN});
}

/* Nested attributes are looked up in the context of their parent sequence. */
static void test_nested_types(void **state)
{
    (void)state;
    const dv_iod *ct = iod_of(CT_IMAGE);
    /* ReferencedStudySequence > SOP Instance Reference Macro (10-11): both UIDs Type 1 ... */
    uint32_t rss[] = {DV_TAG_REFERENCED_STUDY_SEQUENCE};
    ASSERT_TYPES(ct, rss, 1, {DV_TAG_REFERENCED_SOP_CLASS_UID, DV_ATTR_1},
                 {DV_TAG_REFERENCED_SOP_INSTANCE_UID, DV_ATTR_1},
                 /* ... but PatientName is not an attribute of those items. */
                 {DV_TAG_PATIENT_NAME, DV_ATTR_UNKNOWN});
    /* A Type 3 code sequence includes the Code Sequence Macro (8.8-1). */
    uint32_t pcs[] = {DV_TAG_PROCEDURE_CODE_SEQUENCE};
    ASSERT_TYPES(ct, NULL, 0, {DV_TAG_PROCEDURE_CODE_SEQUENCE, DV_ATTR_3});
    ASSERT_TYPES(ct, pcs, 1, {DV_TAG_CODE_VALUE, DV_ATTR_1}, {DV_TAG_CODING_SCHEME_DESIGNATOR, DV_ATTR_1},
                 {DV_TAG_CODING_SCHEME_VERSION, DV_ATTR_1C});
    /* A path through a non-sequence, or an unknown step, is unknown. */
    uint32_t bad[] = {DV_TAG_PATIENT_NAME};
    ASSERT_TYPES(ct, bad, 1, {DV_TAG_CODE_VALUE, DV_ATTR_UNKNOWN});
    ASSERT_TYPES(NULL, NULL, 0, {DV_TAG_PATIENT_NAME, DV_ATTR_UNKNOWN});

    /* Presentation state: Graphic Annotation module (C.10-5), three levels. */
    const dv_iod *ps = iod_of(GSPS);
    ASSERT_TYPES(ps, NULL, 0, {DV_TAG_PRESENTATION_CREATION_DATE, DV_ATTR_1},
                 {DV_TAG_GRAPHIC_ANNOTATION_SEQUENCE, DV_ATTR_1});
    uint32_t text[] = {DV_TAG_GRAPHIC_ANNOTATION_SEQUENCE, DV_TAG_TEXT_OBJECT_SEQUENCE};
    uint32_t graphic[] = {DV_TAG_GRAPHIC_ANNOTATION_SEQUENCE, DV_TAG_GRAPHIC_OBJECT_SEQUENCE};
    ASSERT_TYPES(ps, text, 1, {DV_TAG_TEXT_OBJECT_SEQUENCE, DV_ATTR_1C});
    ASSERT_TYPES(ps, text, 2, {DV_TAG_BOUNDING_BOX_ANNOTATION_UNITS, DV_ATTR_1C},
                 {DV_TAG_UNFORMATTED_TEXT_VALUE, DV_ATTR_1});
    ASSERT_TYPES(ps, graphic, 2, {DV_TAG_GRAPHIC_DIMENSIONS, DV_ATTR_1}, {DV_TAG_GRAPHIC_TYPE, DV_ATTR_1},
                 /* Same tag, other parent: the text object's units are not a graphic object's. */
                 {DV_TAG_BOUNDING_BOX_ANNOTATION_UNITS, DV_ATTR_UNKNOWN});

    /* The step-wise API gives the same answers as the path API. */
    dv_iod_ctx c = dv_iod_item_ctx(dv_iod_item_ctx(dv_iod_root(ps), text[0]), text[1]);
    assert_int_not_equal(c, DV_IOD_CTX_UNKNOWN);
    assert_int_equal(dv_iod_type(c, DV_TAG_ANCHOR_POINT_VISIBILITY), DV_ATTR_1C);
    assert_int_equal(dv_iod_type(DV_IOD_CTX_UNKNOWN, DV_TAG_PATIENT_NAME), DV_ATTR_UNKNOWN);
    assert_int_equal(dv_iod_item_ctx(DV_IOD_CTX_UNKNOWN, text[0]), DV_IOD_CTX_UNKNOWN);
}

/* The SR content tree includes itself: the types hold several Content Sequence levels down. */
static void test_sr_content_tree(void **state)
{
    (void)state;
    const dv_iod *sr = iod_of(BASIC_TEXT_SR);
    assert_non_null(sr);
    uint32_t path[8];
    for (size_t i = 0; i < 8; i++)
        path[i] = DV_TAG_CONTENT_SEQUENCE;
    ASSERT_TYPES(sr, path, 0, {DV_TAG_VALUE_TYPE, DV_ATTR_1}, {DV_TAG_CONTENT_SEQUENCE, DV_ATTR_1C});
    for (size_t d = 1; d <= 6; d++)
        ASSERT_TYPES(sr, path, d, {DV_TAG_VALUE_TYPE, DV_ATTR_1}, {DV_TAG_RELATIONSHIP_TYPE, DV_ATTR_1});
}

/* Structural invariants the lookups rely on. */
static void test_table_invariants(void **state)
{
    (void)state;
    assert_true(dv_iod_context_count > 1);
    assert_int_equal(dv_iod_contexts[0].count, 0);
    for (size_t i = 0; i < dv_iod_context_count; i++) {
        const dv_iod_context *c = &dv_iod_contexts[i];
        for (size_t j = 0; j < c->count; j++) {
            const dv_iod_attr *a = &dv_iod_attrs[c->first + j];
            if (j > 0)
                assert_true(dv_iod_attrs[c->first + j - 1].tag < a->tag);
            assert_true(a->type >= DV_ATTR_1 && a->type <= DV_ATTR_3);
            assert_true(a->child < dv_iod_context_count);
            assert_int_equal(a->tag & 0x00010000u, 0); /* no private tag */
        }
    }
    for (size_t i = 0; i < dv_iod_count; i++) {
        assert_true(dv_iods[i].root != DV_IOD_CTX_UNKNOWN && dv_iods[i].root < dv_iod_context_count);
        assert_true(dv_iod_contexts[dv_iods[i].root].count > 0);
    }
    for (size_t i = 0; i < dv_iod_sop_class_count; i++) {
        assert_true(dv_iod_sop_classes[i].iod < dv_iod_count);
        if (i > 0)
            assert_true(strcmp(dv_iod_sop_classes[i - 1].uid, dv_iod_sop_classes[i].uid) < 0);
        const char *u = dv_iod_sop_classes[i].uid;
        assert_ptr_equal(dv_iod_for_sop_class(u, strlen(u)), &dv_iods[dv_iod_sop_classes[i].iod]);
    }
    assert_string_equal(dv_attr_type_name(DV_ATTR_2C), "2C");
    assert_string_equal(dv_attr_type_name(DV_ATTR_UNKNOWN), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sop_class_to_iod),
        cmocka_unit_test(test_ct_image_types),
        cmocka_unit_test(test_nested_types),
        cmocka_unit_test(test_sr_content_tree),
        cmocka_unit_test(test_table_invariants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
