/* dv_run_inspect (issue 6 item 5): the deidentify path applied in memory, nothing written, an observer told
 * every finding the text stage transforms with its element path, VR, infoType, detector, code point span and
 * transformation. The plan is compiled with dv_plan_compile_all so the test does not depend on which text
 * features the config parser accepts; the pattern detectors (compiled into every text-cleaning plan) and the
 * DA/DT/AS whole-value rule give the findings. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicomveil/dicomveil.h"
#include "config/dv_config_ir.h"
#include "engine/dv_plan.h"
#include "dv_build.h"

static const uint8_t KEYB[32] = "0123456789abcdef0123456789abcdef";
#define SOP_CLASS "1.2.840.10008.5.1.4.1.1.7"

typedef struct seen {
    size_t n;
    struct {
        uint32_t depth, seq0, item0, tag, start, end;
        char vr[3], info[40], det[16], xf[40], text[64];
    } v[16];
} seen;

static void observe(void *user, const dv_text_finding_info *f)
{
    seen *s = user;
    if (s->n >= 16)
        return;
    s->v[s->n].depth = f->depth;
    s->v[s->n].seq0 = f->depth ? f->seq_tags[0] : 0;
    s->v[s->n].item0 = f->depth ? f->items[0] : 0;
    s->v[s->n].tag = f->tag;
    s->v[s->n].start = f->start;
    s->v[s->n].end = f->end;
    memcpy(s->v[s->n].vr, f->vr, 3);
    snprintf(s->v[s->n].info, sizeof s->v[s->n].info, "%s", f->info_type);
    snprintf(s->v[s->n].det, sizeof s->v[s->n].det, "%s", f->detector);
    snprintf(s->v[s->n].xf, sizeof s->v[s->n].xf, "%s", f->transformation);
    snprintf(s->v[s->n].text, sizeof s->v[s->n].text, "%.*s", (int)f->text_len, f->text);
    s->n++;
}

static int find(const seen *s, uint32_t tag)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].tag == tag)
            return (int)i;
    return -1;
}

static dv_plan *plan_of(const char *json)
{
    dv_error err = {0};
    dv_config cfg;
    assert_int_equal(dv_config_parse_all(json, strlen(json), &cfg, &err), 0);
    dv_plan *plan = dv_plan_compile_all(&cfg, &err);
    dv_config_clear(&cfg);
    assert_non_null(plan);
    return plan;
}

static uint8_t *sample_of(const char *sop_class, size_t *len)
{
    dvb *b = dvb_new(DVB_EXPLICIT_LE, 1);
    dvb_str(b, 0x00080005, "CS", "ISO_IR 192");
    dvb_str(b, 0x00080016, "UI", sop_class);
    dvb_str(b, 0x00080018, "UI", "1.2.3.4.5.6");
    dvb_str(b, 0x00080020, "DA", "20200305");
    dvb_str(b, 0x00080060, "CS", "OT");
    dvb_str(b, 0x00100020, "LO", "PAT-001");
    dvb_str(b, 0x0020000D, "UI", "1.2.3.4");
    dvb_str(b, 0x0020000E, "UI", "1.2.3.4.5");
    dvb_seq_begin(b, 0x00081110, 0);
    dvb_item_begin(b, 0);
    dvb_str(b, 0x00081155, "UI", "1.2.3.9");
    dvb_item_end(b);
    dvb_item_begin(b, 0);
    dvb_str(b, 0x00081155, "UI", "1.2.3.10");
    dvb_str(b, 0x00324000, "LT", "R\xc3\xa9: call 555-123-4567 today");
    dvb_item_end(b);
    dvb_seq_end(b);
    return dvb_finish(b, len);
}

static uint8_t *sample(size_t *len)
{
    return sample_of(SOP_CLASS, len);
}

/* A run of the plan json with the test key; *plan and *key to free with it. */
static dv_run *run_of(const char *json, dv_plan **plan, dv_key **key)
{
    dv_error err = {0};
    *plan = plan_of(json);
    *key = dv_key_new(KEYB, sizeof KEYB, &err);
    dv_run *run = dv_run_new(*plan, *key, NULL, &err);
    assert_non_null(run);
    return run;
}

/* Findings reported per element with their path; nothing is written; counts and SOP Class returned. */
static void test_inspect_reports_findings(void **state)
{
    (void)state;
    dv_error err = {0};
    dv_plan *plan;
    dv_key *key;
    dv_run *run = run_of("{\"dicomTagConfig\": {\"profileType\": \"DEIDENTIFY_TAG_CONTENTS\"}}", &plan, &key);
    assert_int_equal(dv_run_cleans_text(run), 1);
    size_t len;
    uint8_t *d = sample(&len);
    uint8_t *copy = malloc(len);
    memcpy(copy, d, len);
    dv_mem_source ms;
    dv_source src = dv_source_memory(&ms, d, len);
    seen s = {0};
    dv_result res;
    dv_result_init(&res);
    char sop[DV_UID_MAX + 1];
    assert_int_equal(dv_run_inspect(run, &src, observe, &s, &res, sop, &err), DV_OUTCOME_OK);
    assert_string_equal(sop, SOP_CLASS);
    assert_memory_equal(d, copy, len); /* the source is only read */
    /* StudyDate: a DA is one DATE by its VR, date-shifted. (Other findings, e.g. the deny-list's PatientID,
     * depend on the detectors and are not asserted here.) */
    int da = find(&s, 0x00080020), lt = find(&s, 0x00324000);
    assert_true(da >= 0 && lt > da); /* dataset order */
    assert_int_equal(s.v[da].depth, 0);
    assert_string_equal(s.v[da].vr, "DA");
    assert_string_equal(s.v[da].info, "DATE");
    assert_string_equal(s.v[da].det, "vr");
    assert_string_equal(s.v[da].xf, "dateShiftConfig");
    assert_int_equal(s.v[da].start, 0);
    assert_int_equal(s.v[da].end, 8);
    assert_string_equal(s.v[da].text, "20200305");
    /* The phone number in the second item of ReferencedStudySequence; span in code points (é is one). */
    assert_int_equal(s.v[lt].depth, 1);
    assert_int_equal(s.v[lt].seq0, 0x00081110);
    assert_int_equal(s.v[lt].item0, 1);
    assert_string_equal(s.v[lt].vr, "LT");
    assert_string_equal(s.v[lt].info, "PHONE_NUMBER");
    assert_string_equal(s.v[lt].det, "pattern");
    assert_string_equal(s.v[lt].xf, "replaceWithInfoTypeConfig");
    assert_int_equal(s.v[lt].start, 9);
    assert_int_equal(s.v[lt].end, 21);
    assert_string_equal(s.v[lt].text, "555-123-4567");
    uint32_t total = 0;
    for (int t = 0; t < DV_IT_COUNT; t++)
        total += res.text_findings[t];
    assert_int_equal(total, s.n); /* every counted finding was reported */
    assert_int_equal(res.text_findings[DV_IT_PHONE_NUMBER], 1);
    assert_int_equal(res.text_findings[DV_IT_DATE], 1);
    assert_int_equal(dv_run_count(run, DV_OUTCOME_OK), 1);

    /* The same worker, reused by a deidentify of the next instance, has no observer left. */
    seen s2 = {0};
    dv_mem_source ms2;
    dv_source src2 = dv_source_memory(&ms2, d, len);
    assert_int_equal(dv_run_inspect(run, &src2, NULL, &s2, NULL, NULL, &err), DV_OUTCOME_OK);
    assert_int_equal(s2.n, 0);

    /* Not DICOM: skipped, nothing observed. */
    static const uint8_t junk[200] = "not a dicom file";
    dv_mem_source ms3;
    dv_source src3 = dv_source_memory(&ms3, junk, sizeof junk);
    assert_int_equal(dv_run_inspect(run, &src3, observe, &s2, NULL, sop, &err), DV_OUTCOME_SKIPPED);
    assert_int_equal(s2.n, 0);
    assert_string_equal(sop, "");
    free(copy);
    free(d);
    dv_run_free(run);
    dv_key_free(key);
    dv_plan_free(plan);
}

/* The SOP Class identifies the instance in inspect's default output, which must hold no PHI: a SOPClassUID that
 * is not a UID (text a system wrote there, here a name) is not returned; the instance fails as deidentify fails
 * it, and deidentify's message names the tag, never the value. */
static void test_inspect_sop_class_not_uid_hidden(void **state)
{
    (void)state;
    dv_error err = {0};
    dv_plan *plan;
    dv_key *key;
    dv_run *run = run_of("{\"dicomTagConfig\": {\"profileType\": \"DEIDENTIFY_TAG_CONTENTS\"}}", &plan, &key);
    size_t len;
    uint8_t *d = sample_of("1.2.Doe^John", &len);
    dv_mem_source ms;
    dv_source src = dv_source_memory(&ms, d, len);
    char sop[DV_UID_MAX + 1];
    memset(sop, 'x', sizeof sop);
    assert_int_equal(dv_run_inspect(run, &src, NULL, NULL, NULL, sop, &err), DV_OUTCOME_FAILED);
    assert_string_equal(sop, "");
    assert_null(strstr(err.message, "Doe"));
    free(d);
    dv_run_free(run);
    dv_key_free(key);
    dv_plan_free(plan);
}

/* A plan without text cleaning: the run says so and nothing is observed. */
static void test_inspect_nothing_to_clean(void **state)
{
    (void)state;
    dv_error err = {0};
    dv_plan *plan = plan_of("{\"dicomTagConfig\": {\"profileType\": \"KEEP_ALL_PROFILE\"}}");
    dv_key *key = dv_key_new(KEYB, sizeof KEYB, &err);
    dv_run *run = dv_run_new(plan, key, NULL, &err);
    assert_int_equal(dv_run_cleans_text(run), 0);
    size_t len;
    uint8_t *d = sample(&len);
    dv_mem_source ms;
    dv_source src = dv_source_memory(&ms, d, len);
    seen s = {0};
    assert_int_equal(dv_run_inspect(run, &src, observe, &s, NULL, NULL, &err), DV_OUTCOME_OK);
    assert_int_equal(s.n, 0);
    free(d);
    dv_run_free(run);
    dv_key_free(key);
    dv_plan_free(plan);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inspect_reports_findings),
        cmocka_unit_test(test_inspect_nothing_to_clean),
        cmocka_unit_test(test_inspect_sop_class_not_uid_hidden),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
