/* Every committed fuzz regression (tests/fuzz/regressions/, see its README) replays in the normal build through
 * the very checks its fuzz target makes (tests/support/dv_invariants.h), so a fix stays pinned without clang or
 * libFuzzer:
 *   - reader/ through dvi_check_round_trip (fuzz_reader) with the fuzz limits and with the defaults, and through
 *     dvi_check_deidentify (fuzz_deidentify) with the fuzz plan and key, as tools/run_fuzz.sh replays them;
 *   - the target that found a file (its name: deid-* fuzz_deidentify, otherwise fuzz_reader) must take it all
 *     the way: a reader-/writer- file is refused cleanly by the reader or written (a write refusal fails the
 *     test); a deid- file is read, de-identified and written (any refusal fails the test);
 *   - config/ (and the config seed corpus) through the parser and the compiler (fuzz_config): a config that
 *     parses must compile.
 * Besides: the de-identification check itself can fail (it catches PHI nested in a sequence). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/dv_config_ir.h"
#include "dicomveil/dicomveil.h"
#include "dv_build.h"
#include "dv_invariants.h"

#define REGRESSIONS DV_SOURCE_DIR "/tests/fuzz/regressions"
#define REGRESSION_MAX (1u << 20)

typedef struct regression {
    char name[256];
    uint8_t *data;
    size_t len;
} regression;

/* Every file of dir (dot files and READMEs excepted), sorted by name. Returns the count. */
static size_t load_dir(const char *dir, regression **out)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    regression *r = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || strncmp(de->d_name, "README", 6) == 0)
            continue;
        r = realloc(r, (n + 1) * sizeof *r);
        assert_non_null(r);
        snprintf(r[n].name, sizeof r[n].name, "%s", de->d_name);
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        r[n].data = malloc(REGRESSION_MAX);
        assert_non_null(r[n].data);
        r[n].len = fread(r[n].data, 1, REGRESSION_MAX, f);
        assert_true(feof(f)); /* no regression input is bigger than REGRESSION_MAX */
        fclose(f);
        n++;
    }
    closedir(d);
    *out = r;
    return n;
}

static void free_dir(regression *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(r[i].data);
    free(r);
}

static int found_by_deidentify(const char *name)
{
    return strncmp(name, "deid-", 5) == 0;
}

/* The finder's path must end in a clean reader refusal or a written output. */
static void expect_taken_through(const char *name, const char *path, const dvi_outcome *o)
{
    if (o->stage == DVI_APPLY_FAILED || o->stage == DVI_WRITE_FAILED)
        fail_msg("%s: %s path stops at %s (%s: %s): a regression must be written or refused by the reader", name,
                 path, dvi_stage_name(o->stage), dv_code_name(o->err.code), o->err.message);
}

static void test_reader_regressions(void **s)
{
    (void)s;
    regression *r;
    size_t n = load_dir(REGRESSIONS "/reader", &r);
    dv_limits fuzz;
    dvi_fuzz_limits(&fuzz);
    const dv_limits *limits[2] = { &fuzz, NULL };
    size_t written = 0;
    for (size_t i = 0; i < n; i++) {
        for (int l = 0; l < 2; l++) {
            dvi_outcome o;
            if (dvi_check_round_trip(r[i].data, r[i].len, limits[l], DVI_FUZZ_SINK_CAP, NULL, NULL, &o) != 0)
                fail_msg("%s (%s limits): %s", r[i].name, l ? "default" : "fuzz", o.violation);
            if (!found_by_deidentify(r[i].name))
                expect_taken_through(r[i].name, "read-write", &o);
            written += o.stage == DVI_WRITTEN;
        }
    }
    free_dir(r, n);
    assert_true(n >= 8); /* the committed regressions are all here */
    assert_true(written > 0);
}

static void test_deidentify_regressions(void **s)
{
    (void)s;
    dv_error err;
    static const char cfg[] = DVI_FUZZ_DEID_CONFIG;
    dv_plan *plan = dv_plan_from_json(cfg, sizeof cfg - 1, &err);
    assert_non_null(plan);
    dv_key *key = dv_key_new(DVI_FUZZ_DEID_KEY, sizeof DVI_FUZZ_DEID_KEY - 1, &err);
    assert_non_null(key);
    regression *r;
    size_t n = load_dir(REGRESSIONS "/reader", &r);
    dv_limits fuzz;
    dvi_fuzz_limits(&fuzz);
    size_t deid = 0, written = 0;
    for (size_t i = 0; i < n; i++) {
        dvi_outcome o;
        if (dvi_check_deidentify(plan, key, r[i].data, r[i].len, &fuzz, DVI_FUZZ_SINK_CAP, &o) != 0)
            fail_msg("%s: %s", r[i].name, o.violation);
        if (found_by_deidentify(r[i].name)) {
            /* fuzz_deidentify found it past the reader: it must reach dv_apply and be written, or the replay
             * would prove nothing about de-identification. */
            deid++;
            if (o.stage != DVI_WRITTEN)
                fail_msg("%s: the de-identify path stops at %s (%s: %s)", r[i].name, dvi_stage_name(o.stage),
                         dv_code_name(o.err.code), o.err.message);
        }
        written += o.stage == DVI_WRITTEN;
    }
    free_dir(r, n);
    dv_key_free(key);
    dv_plan_free(plan);
    assert_true(deid >= 3);
    assert_true(written >= deid);
}

/* fuzz_config's promise, over the committed config regressions and the config seed corpus: what parses
 * compiles, and what does not parse does not compile. */
static size_t check_configs(const char *dir, size_t *parsed)
{
    regression *r;
    size_t n = load_dir(dir, &r);
    for (size_t i = 0; i < n; i++) {
        dv_config cfg;
        dv_error err;
        memset(&cfg, 0, sizeof cfg);
        int rc = dv_config_parse((const char *)r[i].data, r[i].len, &cfg, &err);
        dv_config_clear(&cfg);
        dv_plan *plan = dv_plan_from_json((const char *)r[i].data, r[i].len, &err);
        if (rc == 0 && plan == NULL)
            fail_msg("%s: parses but does not compile (%s: %s)", r[i].name, dv_code_name(err.code), err.message);
        if (rc != 0 && plan != NULL)
            fail_msg("%s: compiles although it does not parse", r[i].name);
        *parsed += rc == 0;
        dv_plan_free(plan);
    }
    free_dir(r, n);
    return n;
}

static void test_config_regressions(void **s)
{
    (void)s;
    size_t parsed = 0;
    (void)check_configs(REGRESSIONS "/config", &parsed);
    size_t seeds = check_configs(DV_SOURCE_DIR "/tests/fuzz/corpus/config", &parsed);
    assert_true(seeds >= 50);
    assert_true(parsed >= 20); /* the guide's examples parse */
}

/* The de-identification check is not vacuous: a plan that keeps everything leaves PHI nested in a sequence,
 * and a private element, and the check names each (tag and depth, never the value). */
static void test_deidentify_check_can_fail(void **s)
{
    (void)s;
    dvb *b = dvb_new(DVB_EXPLICIT_LE, 1);
    dvb_str(b, 0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.7");
    dvb_str(b, 0x00080018, "UI", "1.2.3.4.5");
    dvb_seq_begin(b, 0x00082112, 1); /* SourceImageSequence */
    dvb_item_begin(b, 1);
    dvb_str(b, 0x00100010, "PN", "Nested^Patient"); /* Z: must not survive at depth 1 */
    dvb_item_end(b);
    dvb_seq_end(b);
    size_t len;
    uint8_t *in = dvb_finish(b, &len);

    dv_error err;
    dv_key *key = dv_key_new(DVI_FUZZ_DEID_KEY, sizeof DVI_FUZZ_DEID_KEY - 1, &err);
    assert_non_null(key);
    static const char basic[] = DVI_FUZZ_DEID_CONFIG;
    static const char keep_all[] = "{\"dicomTagConfig\": {\"profileType\": \"KEEP_ALL_PROFILE\"}}";
    dv_plan *good = dv_plan_from_json(basic, sizeof basic - 1, &err);
    dv_plan *bad = dv_plan_from_json(keep_all, sizeof keep_all - 1, &err);
    assert_non_null(good);
    assert_non_null(bad);
    dvi_outcome o;
    assert_int_equal(dvi_check_deidentify(good, key, in, len, NULL, DVI_FUZZ_SINK_CAP, &o), 0);
    assert_int_equal(o.stage, DVI_WRITTEN);
    assert_int_equal(dvi_check_deidentify(bad, key, in, len, NULL, DVI_FUZZ_SINK_CAP, &o), -1);
    assert_non_null(strstr(o.violation, "(0010,0010) at depth 1"));
    assert_null(strstr(o.violation, "Nested"));
    free(in);

    /* A nested UID kept from the input (U) and a private element are caught too. */
    b = dvb_new(DVB_EXPLICIT_LE, 1);
    dvb_str(b, 0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.7");
    dvb_str(b, 0x00080018, "UI", "1.2.3.4.5");
    dvb_seq_begin(b, 0x00082112, 1);
    dvb_item_begin(b, 1);
    dvb_str(b, 0x00080014, "UI", "1.2.3.4.6"); /* InstanceCreatorUID: U, and no primary ID */
    dvb_item_end(b);
    dvb_seq_end(b);
    in = dvb_finish(b, &len);
    assert_int_equal(dvi_check_deidentify(good, key, in, len, NULL, DVI_FUZZ_SINK_CAP, &o), 0);
    assert_int_equal(dvi_check_deidentify(bad, key, in, len, NULL, DVI_FUZZ_SINK_CAP, &o), -1);
    assert_non_null(strstr(o.violation, "at depth 1 (U)"));
    free(in);

    b = dvb_new(DVB_EXPLICIT_LE, 1);
    dvb_str(b, 0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.7");
    dvb_str(b, 0x00080018, "UI", "1.2.840.10008.99"); /* a registry UID is not PHI: no U violation */
    dvb_str(b, 0x00090010, "LO", "ACME 1.0");
    dvb_str(b, 0x00091001, "LO", "private value");
    in = dvb_finish(b, &len);
    assert_int_equal(dvi_check_deidentify(good, key, in, len, NULL, DVI_FUZZ_SINK_CAP, &o), 0);
    assert_int_equal(dvi_check_deidentify(bad, key, in, len, NULL, DVI_FUZZ_SINK_CAP, &o), -1);
    assert_non_null(strstr(o.violation, "private element (0009,0010) at depth 0"));
    free(in);

    dv_plan_free(good);
    dv_plan_free(bad);
    dv_key_free(key);
}

/* The embedded-overlay promise (dv_invariants.h) holds on the fuzz seed built for it: bits 15 and 14 of its
 * pixels are overlay planes of groups 6000 / 6002 (no OverlayData), which the Basic profile removes; group 6004
 * is a normal overlay with OverlayData. With the planes left in the pixels (the engine before the fix, or with
 * dv_pixel_container_clean given no planes) the check names the frame and sample. */
static void test_deidentify_check_embedded_overlay(void **s)
{
    (void)s;
    FILE *f = fopen(DV_SOURCE_DIR "/tests/fuzz/corpus/reader/edge-overlay-embedded-in-pixel-bits.dcm", "rb");
    assert_non_null(f);
    uint8_t *in = malloc(4096);
    assert_non_null(in);
    size_t len = fread(in, 1, 4096, f);
    assert_true(feof(f) && len > 0);
    fclose(f);
    dv_error err;
    dv_key *key = dv_key_new(DVI_FUZZ_DEID_KEY, sizeof DVI_FUZZ_DEID_KEY - 1, &err);
    assert_non_null(key);
    static const char basic[] = DVI_FUZZ_DEID_CONFIG;
    dv_plan *good = dv_plan_from_json(basic, sizeof basic - 1, &err);
    assert_non_null(good);
    dv_limits fuzz;
    dvi_fuzz_limits(&fuzz);
    dvi_outcome o;
    if (dvi_check_deidentify(good, key, in, len, &fuzz, DVI_FUZZ_SINK_CAP, &o) != 0)
        fail_msg("%s", o.violation);
    assert_int_equal(o.stage, DVI_WRITTEN);
    dv_plan_free(good);
    dv_key_free(key);
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_regressions),
        cmocka_unit_test(test_deidentify_regressions),
        cmocka_unit_test(test_config_regressions),
        cmocka_unit_test(test_deidentify_check_can_fail),
        cmocka_unit_test(test_deidentify_check_embedded_overlay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
