/* docs/decisions.md items that no other test proved: each test here is named next to its item there.
 *   - Sequences: keepTag keeps a whole subtree untouched, removeTag leaves an empty sequence, resetTag resets
 *     every nested element (test_sequence_actions);
 *   - useRegionalDataProcessing is accepted and has no effect (test_regional_processing_no_effect);
 *   - a raw dataset is written as a Part 10 file with the detected transfer syntax
 *     (test_raw_dataset_gets_part10_header). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "dicomveil/dicomveil.h"
#include "dv_build.h"
#include "dv_snap.h"
#include "dv_testkit.h"

static const uint8_t kKey[32] = "dicomveil-decisions-test-key-001";

static dv_key *key(void)
{
    dv_error err;
    dv_key *k = dv_key_new(kKey, sizeof kKey, &err);
    assert_non_null(k);
    return k;
}

static void deid(const char *json, const uint8_t *in, size_t len, output *o)
{
    dv_key *k = key();
    dv_error err;
    if (dvt_deidentify(json, k, NULL, in, len, o, &err) != 0)
        fail_msg("%s: %s", json, err.message);
    dv_key_free(k);
}

static const snap_elem *must_find(const snap *s, uint32_t tag, uint32_t depth)
{
    const snap_elem *e = snap_find(s, tag, depth, 0);
    if (!e)
        fail_msg("(%04X,%04X) at depth %u is missing", (unsigned)(tag >> 16), (unsigned)(tag & 0xFFFF),
                 (unsigned)depth);
    return e;
}

static void assert_value(const snap *s, uint32_t tag, uint32_t depth, const char *want)
{
    const snap_elem *e = must_find(s, tag, depth);
    size_t n = (size_t)e->length;
    while (n && (e->value[n - 1] == ' ' || e->value[n - 1] == '\0'))
        n--;
    if (n != strlen(want) || memcmp(e->value, want, n) != 0)
        fail_msg("(%04X,%04X) at depth %u: got %.*s, want %s", (unsigned)(tag >> 16), (unsigned)(tag & 0xFFFF),
                 (unsigned)depth, (int)n, (const char *)e->value, want);
}

/* ContentSequence (Basic: D) with two items holding a name, a date, a private element and a nested sequence. */
static uint8_t *content_instance(size_t *len)
{
    dvb *b = dvb_new(DVB_EXPLICIT_LE, 1);
    dvb_str(b, 0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.88.11");
    dvb_str(b, 0x00080018, "UI", "1.2.3.4.5.6");
    dvb_seq_begin(b, 0x0040A730, 1);
    for (int i = 0; i < 2; i++) {
        dvb_item_begin(b, 1);
        dvb_str(b, 0x00090010, "LO", "ACME 1.0");
        dvb_str(b, 0x00091001, "LO", "PRIVATE-NOTE");
        dvb_str(b, 0x0040A030, "DT", "20240102030405");       /* VerificationDateTime */
        dvb_str(b, 0x0040A123, "PN", i ? "Roe^Rita" : "Doe^Jo"); /* PersonName */
        dvb_seq_begin(b, 0x0040A043, 0);                       /* ConceptNameCodeSequence */
        dvb_item_begin(b, 0);
        dvb_str(b, 0x00080104, "LO", "Observer named Doe"); /* CodeMeaning */
        dvb_item_end(b);
        dvb_seq_end(b);
        dvb_item_end(b);
    }
    dvb_seq_end(b);
    return dvb_finish(b, len);
}

static int count_at_depth(const snap *s, uint32_t tag, uint32_t depth)
{
    int n = 0;
    while (snap_find(s, tag, depth, n))
        n++;
    return n;
}

static void test_sequence_actions(void **state)
{
    (void)state;
    size_t len;
    uint8_t *in = content_instance(&len);
    output o;
    snap s;

    /* keepTag on a sequence: the whole subtree untouched, private elements and names included. */
    deid("{\"dicomTagConfig\": {\"actions\": [{\"queries\": [\"ContentSequence\"], \"keepTag\": {}}]}}", in, len,
         &o);
    snap_take(&s, o.p.inst);
    assert_true(must_find(&s, 0x0040A730, 0)->is_seq);
    assert_int_equal(count_at_depth(&s, 0x0040A123, 1), 2);
    assert_value(&s, 0x0040A123, 1, "Doe^Jo");
    assert_value(&s, 0x00091001, 1, "PRIVATE-NOTE");
    assert_value(&s, 0x0040A030, 1, "20240102030405");
    assert_value(&s, 0x00080104, 2, "Observer named Doe");
    snap_free(&s);
    dvt_output_free(&o);

    /* removeTag on a sequence: the sequence stays, empty (no item, nothing nested). */
    deid("{\"dicomTagConfig\": {\"actions\": [{\"queries\": [\"ContentSequence\"], \"removeTag\": {}}]}}", in,
         len, &o);
    snap_take(&s, o.p.inst);
    assert_true(must_find(&s, 0x0040A730, 0)->is_seq);
    assert_null(snap_find(&s, 0x0040A123, 1, 0));
    assert_null(snap_find(&s, 0x0040A030, 1, 0));
    assert_null(snap_find(&s, 0x00091001, 1, 0));
    assert_null(snap_find(&s, 0x0040A043, 1, 0));
    for (size_t i = 0; i < s.n; i++) /* only the markers' (0012,0064) items nest */
        assert_true(s.e[i].depth < 2);
    snap_free(&s);
    dvt_output_free(&o);

    /* resetTag on a sequence: every nested element reset, at every depth; the items stay. */
    deid("{\"dicomTagConfig\": {\"profileType\": \"KEEP_ALL_PROFILE\", \"actions\": [{\"queries\": "
         "[\"ContentSequence\"], \"resetTag\": {}}]}}",
         in, len, &o);
    snap_take(&s, o.p.inst);
    assert_int_equal(count_at_depth(&s, 0x0040A123, 1), 2);
    assert_value(&s, 0x0040A123, 1, "PLACEHOLDER");
    const snap_elem *second = snap_find(&s, 0x0040A123, 1, 1);
    assert_non_null(second);
    assert_memory_equal(second->value, "PLACEHOLDER", 11);
    assert_value(&s, 0x0040A030, 1, "19000101000000");
    assert_value(&s, 0x00091001, 1, "PLACEHOLDER"); /* KEEP_ALL keeps private elements, so they are reset */
    assert_value(&s, 0x00080104, 2, "PLACEHOLDER");
    assert_int_equal(count_at_depth(&s, 0x00080104, 2), 2);
    snap_free(&s);
    dvt_output_free(&o);
    free(in);
}

/* useRegionalDataProcessing (true or false) is accepted and changes nothing: the same bytes as without it. */
static void test_regional_processing_no_effect(void **state)
{
    (void)state;
    size_t len;
    uint8_t *in = content_instance(&len);
    output base, with_true, with_false;
    deid("{}", in, len, &base);
    deid("{\"useRegionalDataProcessing\": true}", in, len, &with_true);
    deid("{\"useRegionalDataProcessing\": false}", in, len, &with_false);
    assert_int_equal(with_true.sink.len, base.sink.len);
    assert_memory_equal(with_true.sink.data, base.sink.data, base.sink.len);
    assert_int_equal(with_false.sink.len, base.sink.len);
    assert_memory_equal(with_false.sink.data, base.sink.data, base.sink.len);
    dvt_output_free(&base);
    dvt_output_free(&with_true);
    dvt_output_free(&with_false);
    free(in);
}

/* A raw dataset (no preamble, no file meta) is written as a Part 10 file whose TransferSyntaxUID is the one
 * detected, with MediaStorageSOPClassUID/InstanceUID from the dataset. */
static void test_raw_dataset_gets_part10_header(void **state)
{
    (void)state;
    static const struct { dvb_ts ts; const char *uid; } kinds[] = {
        { DVB_IMPLICIT_LE, "1.2.840.10008.1.2" },
        { DVB_EXPLICIT_LE, "1.2.840.10008.1.2.1" },
    };
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        dvb *b = dvb_new(kinds[k].ts, 0);
        dvb_str(b, 0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.7");
        dvb_str(b, 0x00080018, "UI", "1.2.3.4.5.7");
        dvb_str(b, 0x00100010, "PN", "Raw^Dataset");
        size_t len;
        uint8_t *in = dvb_finish(b, &len);
        assert_memory_not_equal(in + (len > 132 ? 128 : 0), "DICM", 4);
        output o;
        deid("{\"dicomTagConfig\": {\"profileType\": \"KEEP_ALL_PROFILE\"}}", in, len, &o);
        assert_true(o.sink.len > 132);
        assert_memory_equal(o.sink.data + 128, "DICM", 4);
        char v[80];
        assert_true(dv_instance_get_string(o.p.inst, 0x00020010, v, sizeof v) > 0);
        assert_string_equal(v, kinds[k].uid);
        assert_string_equal(dv_instance_transfer_syntax(o.p.inst), kinds[k].uid);
        assert_true(dv_instance_get_string(o.p.inst, 0x00020002, v, sizeof v) > 0);
        assert_string_equal(v, "1.2.840.10008.5.1.4.1.1.7");
        assert_true(dv_instance_get_string(o.p.inst, 0x00020003, v, sizeof v) > 0);
        assert_string_equal(v, o.res.sop_uid);
        assert_true(dv_instance_get_string(o.p.inst, 0x00100010, v, sizeof v) > 0);
        assert_string_equal(v, "Raw^Dataset");
        dvt_output_free(&o);
        free(in);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequence_actions),
        cmocka_unit_test(test_regional_processing_no_effect),
        cmocka_unit_test(test_raw_dataset_gets_part10_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
