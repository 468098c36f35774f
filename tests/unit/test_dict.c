/* Unit tests for the generated PS3.6 dictionary / PS3.15 Table E.1-1 tables and the VR helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "dicom/dv_vr.h"
#include "dict/dv_dict.h"
#include "dict/dv_tags.h"

/* ---- dictionary ---------------------------------------------------------------------------- */

static void test_dict_patient_name(void **state)
{
    (void)state;
    const dv_dict_entry *e = dv_dict_lookup(0x00100010u);
    assert_non_null(e);
    assert_int_equal(e->tag, 0x00100010u);
    assert_int_equal(e->mask, 0xFFFFFFFFu);
    assert_int_equal(e->vr, DV_VR_PN);
    assert_string_equal(e->keyword, "PatientName");
    assert_string_equal(e->vm, "1");
    assert_int_equal(e->retired, 0);
    assert_int_equal(e->multi_vr, 0);

    const dv_dict_entry *k = dv_dict_lookup_keyword("PatientName");
    assert_ptr_equal(k, e);
}

static void test_dict_keywords(void **state)
{
    (void)state;
    const dv_dict_entry *e = dv_dict_lookup_keyword("PhysiciansReadingStudyIdentificationSequence");
    assert_non_null(e);
    assert_int_equal(e->tag, 0x00081062u);
    assert_int_equal(e->vr, DV_VR_SQ);

    e = dv_dict_lookup_keyword("OverlayData");
    assert_non_null(e);
    assert_int_equal(e->tag, 0x60003000u);
    assert_int_equal(e->mask, 0xFF00FFFFu);
    assert_ptr_equal(dv_dict_lookup(0x60023000u), e);
    assert_ptr_equal(dv_dict_lookup(0x60003000u), e);
    assert_ptr_equal(dv_dict_lookup(0x601E3000u), e);

    /* first and last keyword of the index, and misses around them */
    assert_true(dv_dict_keyword_count > 5000);
    const dv_dict_entry *first = &dv_dict_entries[dv_dict_keyword_index[0]];
    const dv_dict_entry *last = &dv_dict_entries[dv_dict_keyword_index[dv_dict_keyword_count - 1]];
    assert_ptr_equal(dv_dict_lookup_keyword(first->keyword), first);
    assert_ptr_equal(dv_dict_lookup_keyword(last->keyword), last);

    assert_null(dv_dict_lookup_keyword("NoSuchKeywordAnywhere"));
    assert_null(dv_dict_lookup_keyword("patientname")); /* case-sensitive */
    assert_null(dv_dict_lookup_keyword("PatientNam"));
    assert_null(dv_dict_lookup_keyword(""));
    assert_null(dv_dict_lookup_keyword(NULL));
    assert_null(dv_dict_lookup_keyword("A"));
    assert_null(dv_dict_lookup_keyword("zzz"));
}

/* The generated constants (dict/dv_tags.h) carry the tag the dictionary gives the keyword, with the
 * UPPER_SNAKE spelling tools/gen_tables.py documents (acronyms and digits included). */
static void test_tag_constants(void **state)
{
    (void)state;
    static const struct { uint32_t value; const char *keyword; } cases[] = {
        {DV_TAG_SOP_INSTANCE_UID, "SOPInstanceUID"},
        {DV_TAG_SOP_CLASS_UID, "SOPClassUID"},
        {DV_TAG_PATIENT_NAME, "PatientName"},
        {DV_TAG_REFERENCED_SOP_INSTANCE_UID_IN_FILE, "ReferencedSOPInstanceUIDInFile"},
        {DV_TAG_DEIDENTIFICATION_METHOD_CODE_SEQUENCE, "DeidentificationMethodCodeSequence"},
        {DV_TAG_X_RAY3D_FRAME_TYPE_SEQUENCE, "XRay3DFrameTypeSequence"},
        {DV_TAG_BLENDING_LUT1_SEQUENCE, "BlendingLUT1Sequence"},
        {DV_TAG_PIXEL_DATA, "PixelData"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const dv_dict_entry *e = dv_dict_lookup_keyword(cases[i].keyword);
        assert_non_null(e);
        assert_int_equal(e->tag, cases[i].value);
    }
    assert_int_equal(DV_TAG_PATIENT_NAME, 0x00100010u);
    assert_int_equal(DV_TAG_STUDY_INSTANCE_UID, 0x0020000Du);
}

static void test_dict_special_entries(void **state)
{
    (void)state;
    /* file meta and item tags are included */
    const dv_dict_entry *e = dv_dict_lookup(0x00020010u);
    assert_non_null(e);
    assert_string_equal(e->keyword, "TransferSyntaxUID");
    assert_int_equal(e->vr, DV_VR_UI);
    e = dv_dict_lookup(0xFFFEE000u);
    assert_non_null(e);
    assert_string_equal(e->keyword, "Item");
    assert_int_equal(e->vr, 0);

    /* "OB or OW" -> OW, multi */
    e = dv_dict_lookup(0x7FE00010u);
    assert_non_null(e);
    assert_string_equal(e->keyword, "PixelData");
    assert_int_equal(e->mask, 0xFFFFFFFFu); /* the exact entry wins over (7Fxx,0010) */
    assert_int_equal(e->vr, DV_VR_OW);
    assert_int_equal(e->multi_vr, 1);
    /* "US or SS" -> US */
    e = dv_dict_lookup(0x00280106u); /* SmallestImagePixelValue */
    assert_non_null(e);
    assert_int_equal(e->vr, DV_VR_US);
    assert_int_equal(e->multi_vr, 1);

    /* other repeating groups */
    e = dv_dict_lookup(0x50100010u); /* (50xx,0010) NumberOfPoints */
    assert_non_null(e);
    assert_int_equal(e->mask, 0xFF00FFFFu);
    assert_int_equal(e->retired, 1);
    e = dv_dict_lookup(0x00203155u); /* (0020,31xx) SourceImageIDs */
    assert_non_null(e);
    assert_string_equal(e->keyword, "SourceImageIDs");
    e = dv_dict_lookup(0x7F120010u); /* (7Fxx,0010) VariablePixelData */
    assert_non_null(e);
    assert_string_equal(e->keyword, "VariablePixelData");

    /* unknown / private */
    assert_null(dv_dict_lookup(0x00080003u));
    assert_null(dv_dict_lookup(0x00090010u));
    assert_null(dv_dict_lookup(0x00091001u));
    assert_null(dv_dict_lookup(0x60013000u)); /* odd: private, not (60xx,3000) */
    assert_null(dv_dict_lookup(0x00000000u));
    assert_null(dv_dict_lookup(0xFFFFFFFFu));
}

/* Every exact entry is found by its own tag, every keyword by its own name, and the ordering the
 * lookup code relies on holds. */
static void test_dict_invariants(void **state)
{
    (void)state;
    assert_true(dv_dict_count > 5000);
    assert_true(dv_dict_exact_count < dv_dict_count);
    for (size_t i = 0; i < dv_dict_count; i++) {
        const dv_dict_entry *e = &dv_dict_entries[i];
        if (i < dv_dict_exact_count) {
            assert_int_equal(e->mask, 0xFFFFFFFFu);
            if (i > 0)
                assert_true(dv_dict_entries[i - 1].tag < e->tag);
            assert_ptr_equal(dv_dict_lookup(e->tag), e);
        } else {
            assert_int_not_equal(e->mask, 0xFFFFFFFFu);
            assert_int_equal(e->tag & ~e->mask, 0);
            if (i > dv_dict_exact_count)
                assert_true(dv_dict_entries[i - 1].tag < e->tag);
            const dv_dict_entry *f = dv_dict_lookup(e->tag);
            assert_non_null(f);
            assert_int_equal(e->tag & f->mask, f->tag);
        }
        if (e->vr != 0)
            assert_true(dv_vr_is_known(e->vr));
    }
    for (size_t i = 0; i < dv_dict_keyword_count; i++) {
        const dv_dict_entry *e = &dv_dict_entries[dv_dict_keyword_index[i]];
        assert_true(e->keyword[0] != '\0');
        if (i > 0)
            assert_true(strcmp(dv_dict_entries[dv_dict_keyword_index[i - 1]].keyword, e->keyword) < 0);
        assert_ptr_equal(dv_dict_lookup_keyword(e->keyword), e);
    }
}

static void test_dict_implicit_vr(void **state)
{
    (void)state;
    assert_int_equal(dv_dict_implicit_vr(0x00090010u), DV_VR_LO); /* private creator */
    assert_int_equal(dv_dict_implicit_vr(0x001900FFu), DV_VR_LO);
    assert_int_equal(dv_dict_implicit_vr(0x00091001u), DV_VR_UN); /* private data */
    assert_int_equal(dv_dict_implicit_vr(0x0009000Fu), DV_VR_UN);
    assert_int_equal(dv_dict_implicit_vr(0x00090100u), DV_VR_UN);
    assert_int_equal(dv_dict_implicit_vr(0x00090000u), DV_VR_UL); /* group lengths */
    assert_int_equal(dv_dict_implicit_vr(0x00080000u), DV_VR_UL);
    assert_int_equal(dv_dict_implicit_vr(0x00100010u), DV_VR_PN);
    assert_int_equal(dv_dict_implicit_vr(0x00081140u), DV_VR_SQ);
    assert_int_equal(dv_dict_implicit_vr(0x7FE00010u), DV_VR_OW);
    assert_int_equal(dv_dict_implicit_vr(0x60003000u), DV_VR_OW); /* overlay data, (60xx,3000) */
    assert_int_equal(dv_dict_implicit_vr(0x60020010u), DV_VR_US); /* overlay rows, (60xx,0010) */
    assert_int_equal(dv_dict_implicit_vr(0x00080003u), DV_VR_UN); /* unknown */
    assert_int_equal(dv_dict_implicit_vr(0xFFFEE000u), DV_VR_UN); /* item: no VR */
}

/* ---- PS3.15 Table E.1-1 -------------------------------------------------------------------- */

static const dv_profile_entry *row(const dv_profile_table *t, uint32_t tag)
{
    const dv_profile_entry *e = dv_profile_lookup(t, tag);
    assert_non_null(e);
    return e;
}

/* The generated tag index (dv_dict.h dv_dict_tag_slots) finds every exact entry, holds nothing else, and answers
 * like a binary search of the sorted table for every tag of the busiest groups, present or absent. */
static void test_tag_index(void **state)
{
    (void)state;
    size_t used = 0;
    for (size_t s = 0; s < DV_DICT_TAG_SLOTS; s++)
        if (dv_dict_tag_slots[s].index) {
            used++;
            assert_true(dv_dict_tag_slots[s].index <= dv_dict_exact_count);
            const dv_dict_entry *e = &dv_dict_entries[dv_dict_tag_slots[s].index - 1];
            assert_int_equal(dv_dict_tag_slots[s].tag, e->tag); /* the slot's copies are the entry's */
            assert_int_equal(dv_dict_tag_slots[s].vr, e->vr);
        } else {
            assert_int_equal(dv_dict_tag_slots[s].tag, 0);
        }
    assert_int_equal(used, dv_dict_exact_count);
    for (size_t i = 0; i < dv_dict_exact_count; i++)
        if (!((dv_dict_entries[i].tag >> 16) & 1u)) /* PS3.6 has no odd group; dv_dict_lookup answers them first */
            assert_ptr_equal(dv_dict_lookup(dv_dict_entries[i].tag), &dv_dict_entries[i]);
    static const uint16_t groups[] = {0x0002, 0x0008, 0x0010, 0x0018, 0x0020, 0x0028, 0x0040, 0x3006, 0x300A,
                                      0x5000, 0x6000, 0x7FE0, 0xFFFE};
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
        for (uint32_t el = 0; el <= 0xFFFFu; el++) {
            uint32_t tag = (uint32_t)groups[g] << 16 | el;
            size_t i = dv_dict_find_tag(dv_dict_entries, dv_dict_exact_count, sizeof dv_dict_entries[0], tag);
            const dv_dict_entry *e = dv_dict_lookup(tag);
            if (i < dv_dict_exact_count)
                assert_ptr_equal(e, &dv_dict_entries[i]);
            else
                assert_true(e == NULL || e->mask != 0xFFFFFFFFu); /* absent, or a repeating-group entry */
        }
}

/* dv_dict_may_be_ui never says 0 for a tag the dictionary gives VR UI (a false "no" would decide a UID written
 * as LO as text), and says 1 for few others (it exists to skip the lookup). */
static void test_ui_slot_bits(void **state)
{
    (void)state;
    size_t ui = 0, maybe = 0, all = 0;
    for (size_t i = 0; i < dv_dict_count; i++)
        if (dv_dict_entries[i].vr == DV_VR_UI) {
            ui++;
            assert_true(dv_dict_entries[i].mask == 0xFFFFFFFFu); /* the bits cover exact entries only */
            assert_true(dv_dict_may_be_ui(dv_dict_entries[i].tag));
        }
    assert_true(ui >= 90);
    static const uint16_t groups[] = {0x0008, 0x0010, 0x0018, 0x0020, 0x0028, 0x0040};
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
        for (uint32_t el = 0; el <= 0xFFFFu; el++) {
            uint32_t tag = (uint32_t)groups[g] << 16 | el;
            const dv_dict_entry *e = dv_dict_lookup(tag);
            all++;
            maybe += (size_t)dv_dict_may_be_ui(tag);
            if (e && e->vr == DV_VR_UI)
                assert_true(dv_dict_may_be_ui(tag));
        }
    assert_true(maybe * 50 < all); /* under 2 % of tags ask the dictionary */
    assert_false(dv_dict_may_be_ui(0x00100010)); /* PatientName */
    assert_true(dv_dict_may_be_ui(0x0020000D));  /* StudyInstanceUID */
}

/* dv_dict_may_be_ui_or_text answers 1 for every UI attribute and every attribute whose one VR is a text-cleaning
 * VR (dv_vr_cleans_text, the one home of that list: tools/gen_tables.py's copy of it fails here when it misses
 * one), exact or in a repeating group, and stays a prefilter (most other attributes skip the lookup). */
static void test_text_slot_bits(void **state)
{
    (void)state;
    size_t text = 0, masked = 0;
    for (size_t i = 0; i < dv_dict_count; i++) {
        const dv_dict_entry *e = &dv_dict_entries[i];
        if (e->vr == DV_VR_UI)
            assert_true(dv_dict_may_be_ui_or_text(e->tag));
        if (e->multi_vr || !dv_vr_cleans_text(e->vr))
            continue;
        if (e->mask == 0xFFFFFFFFu) {
            text++;
            if (!dv_dict_may_be_ui_or_text(e->tag))
                fail_msg("(%04X,%04X) VR %c%c not flagged", e->tag >> 16, e->tag & 0xFFFF, e->vr >> 8, e->vr & 0xFF);
            continue;
        }
        for (uint32_t v = 0; v <= 0xFFu; v++) { /* every tag of the masked entry whose free bits vary by v */
            uint32_t free_bits = ~e->mask, tag = e->tag & e->mask, bit = 0;
            for (uint32_t b = 0; b < 32; b++)
                if (free_bits & (1u << b))
                    tag |= ((v >> bit++) & 1u) << b;
            if ((tag & e->mask) == (e->tag & e->mask)) {
                masked++;
                if (!dv_dict_may_be_ui_or_text(tag))
                    fail_msg("(%04X,%04X) of a repeating group not flagged", tag >> 16, tag & 0xFFFF);
            }
        }
    }
    assert_true(text >= 800); /* 870 in the 2024b dictionary */
    assert_true(masked >= 13);
    size_t maybe = 0, all = 0;
    for (size_t i = 0; i < dv_dict_exact_count; i++) {
        const dv_dict_entry *e = &dv_dict_entries[i];
        if (dv_vr_cleans_text(e->vr) || e->vr == DV_VR_UI)
            continue;
        all++;
        maybe += (size_t)dv_dict_may_be_ui_or_text(e->tag);
    }
    assert_true(maybe * 10 < all); /* a prefilter: over 90 % of non-text attributes skip the lookup */
    assert_true(dv_dict_may_be_ui_or_text(0x00081030));  /* StudyDescription */
    assert_true(dv_dict_may_be_ui_or_text(0x60021500));  /* OverlayLabel of the second overlay */
}

static void test_profile_tables(void **state)
{
    (void)state;
    const dv_profile_table *def = dv_profile_table_default();
    assert_non_null(def);
    assert_string_equal(def->edition, "2025c");
    assert_ptr_equal(dv_profile_tables[0], def);
    assert_ptr_equal(dv_profile_table_find("2025c"), def);

    const dv_profile_table *old = dv_profile_table_find("2024b");
    assert_non_null(old);
    assert_string_equal(old->edition, "2024b");
    assert_ptr_equal(dv_profile_tables[1], old);
    assert_null(dv_profile_tables[2]);
    assert_true(old->count < def->count);
    assert_int_equal(def->count, 648); /* 649 rows minus the private-attributes row */
    assert_int_equal(old->count, 620); /* 621 rows minus the private-attributes row */

    assert_null(dv_profile_table_find("2099z"));
    assert_null(dv_profile_table_find(""));
    assert_null(dv_profile_table_find(NULL));
}

static void test_profile_2025c_rows(void **state)
{
    (void)state;
    const dv_profile_table *t = dv_profile_table_find("2025c");
    assert_non_null(t);

    const dv_profile_entry *e = row(t, 0x00100010u); /* PatientName */
    assert_int_equal(e->basic, DV_PC_Z);
    assert_int_equal(e->in_std_iod, 1);
    assert_string_equal(e->name, "Patient's Name");
    /* PatientID: both 2025c and 2024b sources say Z/D */
    assert_int_equal(row(t, 0x00100020u)->basic, DV_PC_ZD);
    e = row(t, 0x0020000Du); /* StudyInstanceUID */
    assert_int_equal(e->basic, DV_PC_U);
    assert_int_equal(e->opt[DV_OPT_RTN_UIDS], DV_PC_K);
    assert_int_equal(row(t, 0x00401101u)->basic, DV_PC_D);
    e = row(t, 0x00081062u);
    assert_int_equal(e->basic, DV_PC_X);
    for (int i = 0; i < DV_OPT_COUNT; i++)
        assert_int_equal(e->opt[i], DV_PC_NONE);
    assert_int_equal(row(t, 0x00081140u)->basic, DV_PC_XZU);

    e = row(t, 0x00080022u); /* AcquisitionDate */
    assert_int_equal(e->basic, DV_PC_XZ);
    assert_int_equal(e->opt[DV_OPT_RTN_LONG_FULL_DATES], DV_PC_K);
    assert_int_equal(e->opt[DV_OPT_RTN_LONG_MODIF_DATES], DV_PC_C);
    assert_int_equal(e->opt[DV_OPT_RTN_UIDS], DV_PC_NONE);
    assert_int_equal(e->opt[DV_OPT_CLEAN_DESC], DV_PC_NONE);

    /* a row added in 2025c, absent from 2024b */
    assert_int_equal(row(t, 0x00100012u)->basic, DV_PC_X); /* NameToUse */
    assert_null(dv_profile_lookup(dv_profile_table_find("2024b"), 0x00100012u));

    /* command group rows */
    assert_int_equal(row(t, 0x00001000u)->basic, DV_PC_X);

    /* masked rows */
    e = row(t, 0x50020010u); /* (50xx,xxxx) curve data */
    assert_int_equal(e->basic, DV_PC_X);
    assert_int_equal(e->mask, 0xFF000000u);
    assert_int_equal(e->tag, 0x50000000u);
    assert_int_equal(e->opt[DV_OPT_CLEAN_GRAPH], DV_PC_C);
    assert_ptr_equal(row(t, 0x501E3000u), e);
    e = row(t, 0x60003000u); /* overlay data */
    assert_int_equal(e->basic, DV_PC_X);
    assert_int_equal(e->mask, 0xFF00FFFFu);
    assert_string_equal(e->name, "Overlay Data");
    assert_ptr_equal(row(t, 0x60023000u), e);
    assert_int_equal(row(t, 0x60004000u)->tag, 0x60004000u); /* overlay comments */
    assert_null(dv_profile_lookup(t, 0x60000010u)); /* overlay rows: no row */

    /* no rows */
    assert_null(dv_profile_lookup(t, 0x00090010u)); /* private creator */
    assert_null(dv_profile_lookup(t, 0x00091001u)); /* private data */
    assert_null(dv_profile_lookup(t, 0x50013000u)); /* odd group: private, not curve data */
    assert_null(dv_profile_lookup(t, 0x00080016u)); /* SOPClassUID */
    assert_null(dv_profile_lookup(t, 0x00280010u)); /* Rows */
    assert_null(dv_profile_lookup(NULL, 0x00100010u));
}

static void test_profile_invariants(void **state)
{
    (void)state;
    for (size_t k = 0; dv_profile_tables[k] != NULL; k++) {
        const dv_profile_table *t = dv_profile_tables[k];
        size_t n_masked = 0;
        for (size_t i = 0; i < t->count; i++) {
            const dv_profile_entry *e = &t->entries[i];
            assert_true(e->basic <= DV_PC_XZU);
            assert_int_not_equal(e->basic, DV_PC_NONE);
            assert_true(e->name[0] != '\0');
            if (e->mask == 0xFFFFFFFFu) {
                assert_int_equal(n_masked, 0); /* exact rows come first */
                if (i > 0)
                    assert_true(t->entries[i - 1].tag < e->tag);
                assert_ptr_equal(dv_profile_lookup(t, e->tag), e);
            } else {
                n_masked++;
                assert_ptr_equal(dv_profile_lookup(t, e->tag), e);
            }
        }
        assert_int_equal(n_masked, 3);
    }
}

/* ---- VR helpers ---------------------------------------------------------------------------- */

static const char *const all_vrs[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT",
                                      "OB", "OD", "OF", "OL", "OV", "OW", "PN", "SH", "SL", "SQ", "SS", "ST",
                                      "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV"};

static int in_list(uint16_t vr, const char *list)
{
    char s[3];
    dv_vr_to_chars(vr, s);
    for (const char *p = list;; p += 3) { /* "AA BB CC": two letters, then a space or the NUL */
        if (p[0] == s[0] && p[1] == s[1])
            return 1;
        if (p[2] == '\0')
            return 0;
    }
}

static void test_vr_helpers(void **state)
{
    (void)state;
    assert_int_equal(sizeof all_vrs / sizeof all_vrs[0], 34);
    for (size_t i = 0; i < 34; i++) {
        uint16_t vr = dv_vr_from_chars(all_vrs[i]);
        assert_int_equal(vr, DV_VR(all_vrs[i][0], all_vrs[i][1]));
        assert_true(dv_vr_is_known(vr));
        char s[3] = {'x', 'x', 'x'};
        dv_vr_to_chars(vr, s);
        assert_string_equal(s, all_vrs[i]);
    }
    assert_int_equal(DV_VR_PN, 0x504E);

    /* exactly 34 known codes; the property sets match PS3.5 */
    const char *longs = "OB OD OF OL OV OW SQ SV UC UN UR UT UV";
    const char *texts = "AE AS CS DA DS DT IS LO LT PN SH ST TM UC UR UT";
    int known = 0;
    for (uint32_t v = 0; v <= 0xFFFFu; v++) {
        uint16_t vr = (uint16_t)v;
        if (!dv_vr_is_known(vr)) {
            assert_false(dv_vr_has_long_length(vr));
            assert_false(dv_vr_is_text(vr));
            assert_int_equal(dv_vr_binary_size(vr), 0);
            continue;
        }
        known++;
        assert_int_equal(dv_vr_has_long_length(vr), in_list(vr, longs));
        assert_int_equal(dv_vr_is_text(vr), in_list(vr, texts));
    }
    assert_int_equal(known, 34);

    assert_int_equal(dv_vr_binary_size(DV_VR_AT), 4);
    assert_int_equal(dv_vr_binary_size(DV_VR_FL), 4);
    assert_int_equal(dv_vr_binary_size(DV_VR_FD), 8);
    assert_int_equal(dv_vr_binary_size(DV_VR_SL), 4);
    assert_int_equal(dv_vr_binary_size(DV_VR_SS), 2);
    assert_int_equal(dv_vr_binary_size(DV_VR_UL), 4);
    assert_int_equal(dv_vr_binary_size(DV_VR_US), 2);
    assert_int_equal(dv_vr_binary_size(DV_VR_SV), 8);
    assert_int_equal(dv_vr_binary_size(DV_VR_UV), 8);
    assert_int_equal(dv_vr_binary_size(DV_VR_PN), 0);
    assert_int_equal(dv_vr_binary_size(DV_VR_OB), 0);
    assert_int_equal(dv_vr_binary_size(DV_VR_UI), 0);
    assert_false(dv_vr_is_text(DV_VR_UI));
    assert_true(dv_vr_is_text(DV_VR_PN));
    assert_false(dv_vr_has_long_length(DV_VR_US));
    assert_true(dv_vr_has_long_length(DV_VR_UT));

    assert_int_equal(dv_vr_from_chars("XX"), 0);
    assert_int_equal(dv_vr_from_chars("pn"), 0);
    assert_int_equal(dv_vr_from_chars("P"), 0);
    assert_int_equal(dv_vr_from_chars(""), 0);
    assert_int_equal(dv_vr_from_chars(NULL), 0);
    assert_int_equal(dv_vr_from_chars("PNx"), DV_VR_PN); /* only two characters are read */

    char s[3];
    dv_vr_to_chars(0, s);
    assert_string_equal(s, "??");
    dv_vr_to_chars(DV_VR('Z', 'Z'), s);
    assert_string_equal(s, "ZZ");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dict_patient_name),
        cmocka_unit_test(test_dict_keywords),
        cmocka_unit_test(test_tag_constants),
        cmocka_unit_test(test_dict_special_entries),
        cmocka_unit_test(test_dict_invariants),
        cmocka_unit_test(test_dict_implicit_vr),
        cmocka_unit_test(test_tag_index),
        cmocka_unit_test(test_ui_slot_bits),
        cmocka_unit_test(test_text_slot_bits),
        cmocka_unit_test(test_profile_tables),
        cmocka_unit_test(test_profile_2025c_rows),
        cmocka_unit_test(test_profile_invariants),
        cmocka_unit_test(test_vr_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
