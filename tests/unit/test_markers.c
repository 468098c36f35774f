/* Markers add, never erase provenance (issue 5 item 9): an input that was de-identified before keeps its
 * DeidentificationMethod values and DeidentificationMethodCodeSequence items; ours are appended, never twice.
 * Over an instance built here and over a defaced corpus file (dcm_qa_deident/00001.dcm, mri_reface). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dicomveil/dicomveil.h"
#include "dv_build.h"
#include "dv_snap.h"
#include "dv_testkit.h"

#define BASIC_KEEP "{\"dicomTagConfig\": {\"options\": {\"primaryIds\": \"KEEP\"}}}"

static dv_key *key(void)
{
    uint8_t b[32];
    for (int i = 0; i < 32; i++)
        b[i] = (uint8_t)(i * 7);
    dv_error err;
    dv_key *k = dv_key_new(b, sizeof b, &err);
    assert_non_null(k);
    return k;
}

static void deid(const char *json, const uint8_t *in, size_t len, output *o)
{
    dv_key *k = key();
    dv_error err;
    memset(&err, 0, sizeof err);
    int rc = dvt_deidentify(json, k, NULL, in, len, o, &err);
    dv_key_free(k);
    if (rc != 0)
        fail_msg("%s", err.message);
}

/* The CodeValues of the items of (0012,0064), in order, as "a,b,c" (trailing padding removed). */
static void code_values(const snap *s, char *out, size_t cap)
{
    out[0] = '\0';
    int in_seq = 0;
    for (size_t i = 0; i < s->n; i++) {
        const snap_elem *e = &s->e[i];
        if (e->depth == 0)
            in_seq = e->tag == 0x00120064;
        if (!in_seq || e->depth != 1 || e->tag != 0x00080100)
            continue;
        size_t n = (size_t)e->length;
        while (n && (e->value[n - 1] == ' ' || e->value[n - 1] == 0))
            n--;
        size_t l = strlen(out);
        assert_true(l + n + 2 < cap);
        if (l)
            out[l++] = ',';
        memcpy(out + l, e->value, n);
        out[l + n] = '\0';
    }
}

static void method(const dv_instance *inst, char *m, size_t cap)
{
    assert_true(dv_instance_get_string(inst, 0x00120063, m, cap) > 0);
}

/* Every value of a backslash list is at most 64 characters (LO). */
static void assert_lo_values(const char *m)
{
    size_t run = 0;
    for (const char *p = m;; p++) {
        if (*p == '\\' || *p == '\0') {
            assert_true(run <= 64);
            run = 0;
            if (!*p)
                break;
        } else {
            run++;
        }
    }
}

static uint8_t *build_defaced(size_t *len)
{
    dvb *b = dvb_new(DVB_EXPLICIT_LE, 1);
    dvb_str(b, 0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.4");
    dvb_str(b, 0x00080018, "UI", "1.2.3.4.5.6.7");
    dvb_str(b, 0x00080060, "CS", "MR");
    dvb_str(b, 0x00100010, "PN", "Doe^Jane");
    dvb_str(b, 0x00120062, "CS", "YES");
    dvb_str(b, 0x00120063, "LO", "mri_reface 0.3.4\\Per DICOM PS 3.15 AnnexE");
    dvb_seq_begin(b, 0x00120064, 1);
    static const char *const codes[][3] = {
        {"113101", "DCM", "Clean Pixel Data Option"},
        {"113102", "DCM", "Clean Recognizable Visual Features Option"},
        {"113100", "DCM", "Basic Application Confidentiality Profile"},
    };
    for (size_t i = 0; i < 3; i++) {
        dvb_item_begin(b, (int)(i & 1));
        dvb_str(b, 0x00080100, "SH", codes[i][0]);
        dvb_str(b, 0x00080102, "SH", codes[i][1]);
        dvb_str(b, 0x00080104, "LO", codes[i][2]);
        if (i == 0) { /* an earlier tool's private element: the profile reaches into earlier markers too */
            dvb_str(b, 0x00090010, "LO", "ACME 1.0");
            dvb_str(b, 0x00091001, "LO", "EARLIER-SECRET");
        }
        dvb_item_end(b);
    }
    dvb_seq_end(b);
    dvb_str(b, 0x0020000D, "UI", "1.2.3.4.5");
    dvb_str(b, 0x0020000E, "UI", "1.2.3.4.5.6");
    return dvb_finish(b, len);
}

static void test_markers_keep_provenance(void **state)
{
    (void)state;
    size_t len;
    uint8_t *in = build_defaced(&len);
    output o, o2;
    snap s;
    char m[1024], m2[1024], codes[256];

    deid(BASIC_KEEP, in, len, &o);
    assert_int_equal(o.res.changed, 1); /* PatientName */
    char v[16];
    assert_int_equal(dv_instance_get_string(o.p.inst, 0x00120062, v, sizeof v), 3);
    assert_string_equal(v, "YES");
    method(o.p.inst, m, sizeof m);
    /* The earlier two values first, as they were; ours after them. */
    assert_ptr_equal(strstr(m, "mri_reface 0.3.4\\Per DICOM PS 3.15 AnnexE\\dicomveil " DICOMVEIL_VERSION), m);
    assert_non_null(strstr(m, "\\primaryIds KEEP"));
    assert_lo_values(m);
    snap_take(&s, o.p.inst);
    code_values(&s, codes, sizeof codes);
    /* 113100 was there already: not added twice; 113110 (Retain UIDs) appended. */
    assert_string_equal(codes, "113101,113102,113100,113110");
    assert_null(snap_find(&s, 0x00091001, 1, 0)); /* Basic profile: private elements go, at every level */
    assert_null(snap_find(&s, 0x00090010, 1, 0));
    const snap_elem *cm = snap_find(&s, 0x00080104, 1, 0);
    assert_non_null(cm);
    assert_memory_equal(cm->value, "Clean Pixel Data Option", 23);
    snap_free(&s);

    /* A second pass over our own output adds nothing: the same values, the same items. */
    deid(BASIC_KEEP, o.sink.data, o.sink.len, &o2);
    method(o2.p.inst, m2, sizeof m2);
    assert_string_equal(m2, m);
    snap_take(&s, o2.p.inst);
    code_values(&s, codes, sizeof codes);
    assert_string_equal(codes, "113101,113102,113100,113110");
    snap_free(&s);
    dvt_output_free(&o2);
    dvt_output_free(&o);

    /* KEEP_ALL writes no code (CID 7050 names the PS3.15 profiles) but keeps the earlier items. */
    deid("{\"dicomTagConfig\": {\"profileType\": \"KEEP_ALL_PROFILE\"}}", in, len, &o);
    snap_take(&s, o.p.inst);
    code_values(&s, codes, sizeof codes);
    assert_string_equal(codes, "113101,113102,113100");
    assert_non_null(snap_find(&s, 0x00091001, 1, 0)); /* KEEP_ALL keeps private elements (the plan decides) */
    method(o.p.inst, m, sizeof m);
    assert_ptr_equal(strstr(m, "mri_reface 0.3.4\\Per DICOM PS 3.15 AnnexE\\dicomveil "), m);
    assert_non_null(strstr(m, "KEEP_ALL_PROFILE"));
    snap_free(&s);
    dvt_output_free(&o);
    free(in);
}

/* An earlier DeidentificationMethod too long to extend within one LO element is a limit, not a loss. */
static void test_markers_method_cap(void **state)
{
    (void)state;
    size_t n = 65500;
    char *big = malloc(n + 1);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (i % 60 == 59) ? '\\' : 'a';
    big[n] = '\0';
    dvb *b = dvb_new(DVB_IMPLICIT_LE, 1);
    dvb_str(b, 0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.4");
    dvb_str(b, 0x00080018, "UI", "1.2.3.4.5.6.7");
    dvb_str(b, 0x00100010, "PN", "Doe^Jane");
    dvb_str(b, 0x00120063, "LO", big);
    size_t len;
    uint8_t *in = dvb_finish(b, &len);
    dv_key *k = key();
    output o;
    dv_error err;
    memset(&err, 0, sizeof err);
    assert_int_equal(dvt_deidentify("{}", k, NULL, in, len, &o, &err), -1);
    assert_int_equal(err.code, DV_ERR_LIMIT);
    assert_non_null(strstr(err.message, "(0012,0063)"));
    dvt_output_free(&o);
    dv_key_free(k);
    free(in);
    free(big);
}

/* A real defaced file (mri_reface): its 2 method values and 5 code items survive, ours follow. */
static void test_markers_corpus_defaced(void **state)
{
    (void)state;
    size_t len = 0;
    uint8_t *in = dvt_slurp(DV_SHARED_DATA "/dicom/dcm_qa_deident/00001.dcm", &len);
    if (!in)
        skip();
    parsed p;
    dv_error err;
    memset(&err, 0, sizeof err);
    assert_int_equal(dvt_parse(&p, in, len, &err), 0);
    char before[1024], after[1024], codes_before[256], codes_after[256];
    method(p.inst, before, sizeof before);
    snap s;
    snap_take(&s, p.inst);
    code_values(&s, codes_before, sizeof codes_before);
    snap_free(&s);
    char for_before[72];
    assert_true(dv_instance_get_string(p.inst, 0x00200052, for_before, sizeof for_before) > 0);
    dv_instance_free(p.inst);
    assert_non_null(strstr(codes_before, "113102")); /* the defacer's code, or this test tests nothing */

    output o;
    deid(BASIC_KEEP, in, len, &o);
    method(o.p.inst, after, sizeof after);
    assert_memory_equal(after, before, strlen(before));
    assert_int_equal(after[strlen(before)], '\\');
    assert_non_null(strstr(after, "dicomveil " DICOMVEIL_VERSION));
    assert_lo_values(after + strlen(before));
    snap_take(&s, o.p.inst);
    code_values(&s, codes_after, sizeof codes_after);
    assert_memory_equal(codes_after, codes_before, strlen(codes_before));
    /* 113100 is among the earlier items, and the file's FrameOfReferenceUID is regenerated (U under Basic) beside
     * the kept primary IDs: not every UID is retained, so the Retain UIDs code (113110) is not claimed either
     * (markers.c): no code is new. */
    assert_non_null(strstr(codes_before, "113100"));
    char for_after[72];
    assert_true(dv_instance_get_string(o.p.inst, 0x00200052, for_after, sizeof for_after) > 0);
    assert_string_not_equal(for_after, for_before);
    assert_string_equal(codes_after + strlen(codes_before), "");
    snap_free(&s);
    dvt_output_free(&o);
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_markers_keep_provenance),
        cmocka_unit_test(test_markers_method_cap),
        cmocka_unit_test(test_markers_corpus_defaced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
