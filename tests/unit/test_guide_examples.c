/* The Google "De-identify DICOM data" guide's worked examples (../shared/seed/dicom-deidentify-guide.txt),
 * run end to end: the guide's sample instance is built in memory, de-identified with the guide's own
 * `config` objects (as JSON strings), written, re-read and checked against what the guide shows, with the
 * dicomveil decisions (DECISIONS.md) where the guide's output depends on Google's private UID root. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicomveil/dicomveil.h"
#include "dv_build.h"
#include "dv_checks.h"
#include "dv_snap.h"
#include "dv_testkit.h"

/* ---- the guide's sample instance (its "Sample metadata", line ~262) ---- */
#define SOP_CLASS "1.2.840.10008.5.1.4.1.1.7"
#define SOP_INST "1.2.276.0.7230010.3.1.4.8323329.78.1539083058.523695"
#define STUDY_UID "2.25.70541616638819138568043293671559322355"
#define SERIES_UID "1.2.276.0.7230010.3.1.3.8323329.78.1531234558.523694"
#define TS_JPEG "1.2.840.10008.1.2.4.50"

/* A JFIF header split across two fragments, then EOI: a stream the codestream walk leaves as it is (it clears
 * comments and application segments other than JFIF, test_pixel_container), so the fragments must come out
 * byte for byte. */
static const uint8_t frag1[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00, 0x01};
static const uint8_t frag2[] = {0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0xFF, 0xD9};

static void add_pixels(dvb *b)
{
    const void *frags[2] = {frag1, frag2};
    const uint32_t lens[2] = {sizeof frag1, sizeof frag2};
    dvb_encapsulated(b, frags, lens, 2);
}

static uint8_t *build_sample(size_t *len)
{
    dvb *b = dvb_new(DVB_JPEG_BASELINE, 1);
    dvb_str(b, 0x00080005, "CS", "ISO_IR 100");
    dvb_str(b, 0x00080016, "UI", SOP_CLASS);
    dvb_str(b, 0x00080018, "UI", SOP_INST);
    dvb_str(b, 0x00080020, "DA", "20110909");
    dvb_str(b, 0x00080030, "TM", "110032");
    dvb_str(b, 0x00080050, "SH", "");
    dvb_str(b, 0x00080064, "CS", "WSD");
    dvb_str(b, 0x00080070, "LO", "Manufacturer");
    dvb_str(b, 0x00080090, "PN", "John Doe");
    dvb_str(b, 0x00081090, "LO", "ABC1");
    dvb_str(b, 0x00100010, "PN", "Ann Johnson");
    dvb_str(b, 0x00100020, "LO", "S1214223-1");
    dvb_str(b, 0x00100030, "DA", "19880812");
    dvb_str(b, 0x00100040, "CS", "F");
    dvb_str(b, 0x0020000D, "UI", STUDY_UID);
    dvb_str(b, 0x0020000E, "UI", SERIES_UID);
    dvb_str(b, 0x00200010, "SH", "");
    dvb_str(b, 0x00200011, "IS", "");
    dvb_str(b, 0x00200013, "IS", "");
    dvb_str(b, 0x00200020, "CS", "");
    dvb_u16(b, 0x00280002, 3);
    dvb_str(b, 0x00280004, "CS", "YBR_FULL_422");
    dvb_u16(b, 0x00280006, 0);
    dvb_pixel_geometry(b, 1024, 1024, 8);
    dvb_str(b, 0x00282110, "CS", "01");
    dvb_str(b, 0x00282114, "CS", "ISO_10918_1");
    add_pixels(b);
    return dvb_finish(b, len);
}

/* The guide's RecurseTag instance (line ~1540): PhysiciansReadingStudyIdentificationSequence with two items,
 * each holding a PersonIdentificationCodeSequence with CodeValue / CodingSchemeDesignator. */
static uint8_t *build_nested(size_t *len)
{
    dvb *b = dvb_new(DVB_JPEG_BASELINE, 1);
    dvb_str(b, 0x00080005, "CS", "ISO_IR 192");
    dvb_str(b, 0x00080016, "UI", "1111111");
    dvb_str(b, 0x00080018, "UI", "2222222");
    dvb_seq_begin(b, 0x00081062, 1);
    for (int i = 1; i <= 2; i++) {
        char cv[32], csd[32];
        snprintf(cv, sizeof cv, "CodeValue%d", i);
        snprintf(csd, sizeof csd, "CodingSchemeDesignator%d", i);
        dvb_item_begin(b, i == 1); /* one undefined-length item, one defined-length item */
        dvb_seq_begin(b, 0x00401101, i == 2);
        dvb_item_begin(b, 0);
        dvb_str(b, 0x00080100, "SH", cv);
        dvb_str(b, 0x00080102, "SH", csd);
        dvb_item_end(b);
        dvb_seq_end(b);
        dvb_item_end(b);
    }
    dvb_seq_end(b);
    dvb_str(b, 0x0020000D, "UI", "3333333");
    dvb_str(b, 0x0020000E, "UI", "4444444");
    dvb_u16(b, 0x00280002, 3);
    dvb_str(b, 0x00280004, "CS", "YBR_FULL_422");
    dvb_u16(b, 0x00280006, 0);
    dvb_str(b, 0x00280008, "IS", "1");
    dvb_pixel_geometry(b, 1024, 1024, 8);
    add_pixels(b);
    return dvb_finish(b, len);
}

/* ---- harness (tests/support/dv_checks.h: the test key, dvt_deid, dvt_assert_str, ...) ---- */
static void assert_regenerated(const dv_instance *inst, uint32_t tag, const char *orig)
{
    char want[DV_UID_MAX + 1];
    dvt_regen_test_key(orig, want);
    assert_true(strncmp(want, "2.25.", 5) == 0);
    assert_string_not_equal(want, orig);
    dvt_assert_str(inst, tag, want);
}


static int has_bytes(const output *o, const void *needle, size_t n)
{
    return memmem(o->sink.data, o->sink.len, needle, n) != NULL;
}

/* One guide example: the built input and its de-identified, re-read output. The caller frees it with
 * example_free. */
typedef struct example {
    uint8_t *in;
    size_t len;
    output o;
} example;

static void run_example(example *ex, uint8_t *(*build)(size_t *len), const char *json)
{
    ex->in = build(&ex->len);
    dvt_deid(json, ex->in, ex->len, &ex->o);
}

static void example_free(example *ex)
{
    dvt_output_free(&ex->o);
    free(ex->in);
}

/* The nth element with this tag at this depth is there, with exactly these value bytes (padding included). */
static const snap_elem *assert_value_at(const snap *s, uint32_t tag, uint32_t depth, int nth, const char *bytes,
                                        size_t n)
{
    const snap_elem *e = snap_find(s, tag, depth, nth);
    if (!e)
        fail_msg("(%04X,%04X) at depth %u item %d absent", tag >> 16, tag & 0xFFFF, depth, nth);
    assert_int_equal(e->length, n);
    if (n)
        assert_memory_equal(e->value, bytes, n);
    return e;
}

/* The guide's PLACEHOLDER as written: even length, one space of padding. */
#define PLACEHOLDER "PLACEHOLDER "

/* Every element of before is in after, in order, with the same tag, depth and VR, and the same length and value
 * bytes except for the one tag allowed to change; after's only extra elements are the markers (group 0012 at
 * depth 0), which are additions. */
static void assert_same_but(const snap *before, const snap *after, uint32_t changed_tag)
{
    size_t j = 0;
    for (size_t i = 0; i < after->n; i++) {
        const snap_elem *y = &after->e[i];
        if (y->depth == 0 && (y->tag >> 16) == 0x0012)
            continue; /* markers: additions */
        if (j >= before->n)
            fail_msg("extra element (%04X,%04X) in the output", y->tag >> 16, y->tag & 0xFFFF);
        const snap_elem *x = &before->e[j++];
        assert_int_equal(x->tag, y->tag);
        assert_int_equal(x->depth, y->depth);
        assert_string_equal(x->vr, y->vr);
        if (x->tag == changed_tag)
            continue;
        assert_int_equal(x->length, y->length);
        assert_int_equal(x->is_bulk, y->is_bulk);
        if (x->value)
            assert_memory_equal(x->value, y->value, (size_t)x->length);
    }
    assert_int_equal(j, before->n);
}

/* ---- the examples ---- */

/* "Keep tags": keepTag PatientName under the default (Basic) profile. */
static void test_keep_tag(void **state)
{
    (void)state;
    example ex;
    run_example(&ex, build_sample,
                "{\"dicomTagConfig\": {\"actions\": [{\"queries\": [\"PatientName\"], \"keepTag\": {}}]}}");
    const dv_instance *r = ex.o.p.inst;
    dvt_assert_str(r, 0x00100010, "Ann Johnson");
    /* Basic profile on the rest: PatientID Z/D, Type 2 in the SC Image IOD -> Z (DECISIONS 3); Z -> present
     * and empty. */
    dvt_assert_str(r, 0x00100020, "");
    dvt_assert_str(r, 0x00100030, "");
    dvt_assert_str(r, 0x00100040, "");
    dvt_assert_str(r, 0x00080090, "");
    dvt_assert_str(r, 0x00080020, "");
    dvt_assert_str(r, 0x00080030, "");
    dvt_assert_str(r, 0x00080050, "");
    dvt_assert_str(r, 0x00200010, "");
    /* Not in Table E.1-1: kept. */
    dvt_assert_str(r, 0x00080070, "Manufacturer");
    dvt_assert_str(r, 0x00081090, "ABC1");
    dvt_assert_str(r, 0x00280004, "YBR_FULL_422");
    dvt_assert_str(r, 0x00080016, SOP_CLASS);
    /* The three primary IDs are regenerated (primaryIds unspecified = REGEN). */
    assert_regenerated(r, 0x0020000D, STUDY_UID);
    assert_regenerated(r, 0x0020000E, SERIES_UID);
    assert_regenerated(r, 0x00080018, SOP_INST);
    assert_regenerated(r, 0x00020003, SOP_INST); /* MediaStorageSOPInstanceUID follows */
    dvt_assert_str(r, 0x00020010, TS_JPEG);
    assert_int_equal(ex.o.res.changed, 1);
    char want[DV_UID_MAX + 1];
    dvt_regen_test_key(SOP_INST, want);
    assert_string_equal(ex.o.res.sop_uid, want);
    dvt_regen_test_key(STUDY_UID, want);
    assert_string_equal(ex.o.res.study_uid, want);
    dvt_regen_test_key(SERIES_UID, want);
    assert_string_equal(ex.o.res.series_uid, want);
    /* The original values are gone from the output bytes, the pixel fragments are still there. */
    assert_false(has_bytes(&ex.o, "S1214223-1", 10));
    assert_false(has_bytes(&ex.o, "John Doe", 8));
    assert_false(has_bytes(&ex.o, SOP_INST, strlen(SOP_INST)));
    assert_true(has_bytes(&ex.o, frag1, sizeof frag1));
    assert_true(has_bytes(&ex.o, frag2, sizeof frag2));
    dvt_assert_str(r, 0x00120062, "YES");
    example_free(&ex);
}

/* "Remove tags": removeTag PatientName -> present with a zero-length value. */
static void test_remove_tag(void **state)
{
    (void)state;
    example ex;
    run_example(&ex, build_sample,
                "{\"dicomTagConfig\": {\"actions\": [{\"queries\": [\"PatientName\"], \"removeTag\": {}}]}}");
    snap s;
    snap_take(&s, ex.o.p.inst);
    assert_string_equal(assert_value_at(&s, 0x00100010, 0, 0, "", 0)->vr, "PN");
    assert_false(has_bytes(&ex.o, "Ann Johnson", 11));
    assert_regenerated(ex.o.p.inst, 0x00080018, SOP_INST);
    snap_free(&s);
    example_free(&ex);
}

/* "Delete tags": deleteTag PatientName -> absent. */
static void test_delete_tag(void **state)
{
    (void)state;
    example ex;
    run_example(&ex, build_sample,
                "{\"dicomTagConfig\": {\"actions\": [{\"queries\": [\"PatientName\"], \"deleteTag\": {}}]}}");
    dvt_assert_absent(ex.o.p.inst, 0x00100010);
    dvt_assert_str(ex.o.p.inst, 0x00100040, ""); /* the rest still follows the Basic profile */
    assert_false(has_bytes(&ex.o, "Ann Johnson", 11));
    example_free(&ex);
}

/* "Reset tags": resetTag PatientName -> "PLACEHOLDER" (the guide's output, line ~1245). */
static void test_reset_tag(void **state)
{
    (void)state;
    example ex;
    run_example(&ex, build_sample,
                "{\"dicomTagConfig\": {\"actions\": [{\"queries\": [\"PatientName\"], \"resetTag\": {}}]}}");
    dvt_assert_str(ex.o.p.inst, 0x00100010, "PLACEHOLDER");
    snap s;
    snap_take(&s, ex.o.p.inst);
    assert_value_at(&s, 0x00100010, 0, 0, PLACEHOLDER, 12);
    snap_free(&s);
    example_free(&ex);
}

/* "Regenerate UIDs": KEEP_ALL_PROFILE + primaryIds KEEP + regenUidTag on 00080018: only SOPInstanceUID
 * changes, every other original element is byte-identical, the markers are additions. */
static void test_regen_uid_tag(void **state)
{
    (void)state;
    example ex;
    run_example(&ex, build_sample,
                "{\"dicomTagConfig\": {\"options\": {\"primaryIds\": \"KEEP\"}, "
                "\"actions\": [{\"queries\": [\"00080018\"], \"regenUidTag\": {}}], "
                "\"profileType\": \"KEEP_ALL_PROFILE\"}}");
    const dv_instance *r = ex.o.p.inst;
    assert_regenerated(r, 0x00080018, SOP_INST);
    assert_regenerated(r, 0x00020003, SOP_INST);
    dvt_assert_str(r, 0x0020000D, STUDY_UID);
    dvt_assert_str(r, 0x0020000E, SERIES_UID);
    assert_string_equal(ex.o.res.study_uid, STUDY_UID);
    assert_string_equal(ex.o.res.series_uid, SERIES_UID);
    assert_int_equal(ex.o.res.changed, 1);

    parsed orig;
    dv_error perr;
    memset(&perr, 0, sizeof perr);
    assert_int_equal(dvt_parse(&orig, ex.in, ex.len, &perr), 0);
    snap a, b;
    snap_take(&a, orig.inst);
    snap_take(&b, r);
    assert_same_but(&a, &b, 0x00080018);
    assert_true(has_bytes(&ex.o, frag1, sizeof frag1));
    assert_true(has_bytes(&ex.o, frag2, sizeof frag2));
    /* Markers are there (something changed); no Basic-profile code sequence under KEEP_ALL. */
    dvt_assert_str(r, 0x00120062, "YES");
    assert_null(snap_find(&b, 0x00120064, 0, 0));
    snap_free(&a);
    snap_free(&b);
    dv_instance_free(orig.inst);
    example_free(&ex);
}

/* "Recursively de-identify tags in a nested Sequence": recurseTag on
 * PhysiciansReadingStudyIdentificationSequence. Inside it the Basic profile applies: the
 * PersonIdentificationCodeSequence is D, so every nested element becomes PLACEHOLDER (guide line ~1700). */
static void test_recurse_tag(void **state)
{
    (void)state;
    example ex;
    run_example(&ex, build_nested,
                "{\"dicomTagConfig\": {\"actions\": [{\"queries\": [\"PhysiciansReadingStudyIdentificationSequence\"], "
                "\"recurseTag\": {}}]}}");
    snap s;
    snap_take(&s, ex.o.p.inst);
    const snap_elem *sq = snap_find(&s, 0x00081062, 0, 0);
    assert_non_null(sq);
    assert_true(sq->is_seq);
    for (int i = 0; i < 2; i++) {
        const snap_elem *pic = snap_find(&s, 0x00401101, 1, i);
        assert_non_null(pic);
        assert_true(pic->is_seq);
        const snap_elem *cv = assert_value_at(&s, 0x00080100, 2, i, PLACEHOLDER, 12);
        assert_value_at(&s, 0x00080102, 2, i, PLACEHOLDER, 12);
        assert_string_equal(cv->vr, "SH");
    }
    assert_null(snap_find(&s, 0x00401101, 1, 2)); /* structure kept: exactly two items, nothing added */
    assert_null(snap_find(&s, 0x00080100, 2, 2));
    assert_false(has_bytes(&ex.o, "CodeValue1", 10));
    assert_false(has_bytes(&ex.o, "CodingSchemeDesignator2", 23));
    assert_regenerated(ex.o.p.inst, 0x00080018, "2222222");
    assert_regenerated(ex.o.p.inst, 0x0020000D, "3333333");
    assert_regenerated(ex.o.p.inst, 0x0020000E, "4444444");
    snap_free(&s);
    example_free(&ex);

    /* Without recurseTag the Basic profile deletes the sequence (X). */
    run_example(&ex, build_nested, "{}");
    snap_take(&s, ex.o.p.inst);
    assert_null(snap_find(&s, 0x00081062, 0, 0));
    assert_null(snap_find(&s, 0x00080100, 2, 0));
    snap_free(&s);
    example_free(&ex);
}

/* The default config `{}` (Basic profile) and a whole request body: the three primary UIDs change. */
static void test_default_profile(void **state)
{
    (void)state;
    size_t len;
    uint8_t *in = build_sample(&len);
    static const char *const configs[] = {
        "{}",
        "{\"dicomTagConfig\": {}}",
        "{\"destinationDataset\": \"projects/PROJECT_ID/locations/SOURCE_DATASET_LOCATION/datasets/"
        "DESTINATION_DATASET_ID\", \"config\": {\"dicomTagConfig\": {}}}",
    };
    char first_sop[DV_UID_MAX + 1] = "";
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        output o;
        dvt_deid(configs[i], in, len, &o);
        assert_regenerated(o.p.inst, 0x0020000D, STUDY_UID);
        assert_regenerated(o.p.inst, 0x0020000E, SERIES_UID);
        assert_regenerated(o.p.inst, 0x00080018, SOP_INST);
        dvt_assert_str(o.p.inst, 0x00100010, ""); /* Z */
        dvt_assert_str(o.p.inst, 0x00100020, ""); /* Z/D, Type 2 in the SC Image IOD: Z */
        if (i == 0)
            strcpy(first_sop, o.res.sop_uid);
        else
            assert_string_equal(first_sop, o.res.sop_uid); /* deterministic */
        dvt_output_free(&o);
    }
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keep_tag),      cmocka_unit_test(test_remove_tag),
        cmocka_unit_test(test_delete_tag),    cmocka_unit_test(test_reset_tag),
        cmocka_unit_test(test_regen_uid_tag), cmocka_unit_test(test_recurse_tag),
        cmocka_unit_test(test_default_profile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
