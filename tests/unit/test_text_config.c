/* TextConfig parsed into the config IR (src/config/config_json.c -> dv_config.text; issue 6 item 2): profile,
 * exclude, additional + deprecated transformations, mask characters, cryptoKey, kmsWrapped refused, unknown
 * infoTypes and cleanTextTag queries of other VRs as config errors naming their JSON path. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/dv_config_ir.h"
#include "engine/dv_plan.h"
#include "text/dv_transform.h"

static void parse_ok(const char *json, dv_config *cfg)
{
    dv_error err = {0};
    int rc = dv_config_parse_all(json, strlen(json), cfg, &err);
    if (rc)
        fprintf(stderr, "unexpected error: %s\n", err.message);
    assert_int_equal(rc, 0);
}

static void parse_err(const char *json, const char *want)
{
    dv_config cfg;
    dv_error err = {0};
    assert_int_equal(dv_config_parse_all(json, strlen(json), &cfg, &err), -1);
    assert_int_equal(err.code, DV_ERR_CONFIG);
    if (!strstr(err.message, want))
        fprintf(stderr, "message: %s\nwanted: %s\n", err.message, want);
    assert_non_null(strstr(err.message, want));
}

static void test_text_config_parsed(void **state)
{
    (void)state;
    dv_config cfg;
    parse_ok("{\"text\": {\"profileType\": \"EMPTY\", \"excludeInfoTypes\": [\"AGE\", \"URL\"],"
             " \"additionalTransformations\": ["
             "  {\"infoTypes\": [\"PERSON_NAME\", \"LAST_NAME\"], \"characterMaskConfig\": {\"maskingCharacter\": \"#\"}},"
             "  {\"redactConfig\": {}},"
             "  {\"infoTypes\": [\"DATE\"], \"dateShiftConfig\": {\"cryptoKey\": \"MDEyMzQ1Njc4OWFiY2RlZg==\"}}],"
             " \"transformations\": [{\"infoTypes\": [\"EMAIL_ADDRESS\"], \"cryptoHashConfig\": {}}]}}",
             &cfg);
    assert_int_equal(cfg.has_text, 1);
    const dv_text_config *tc = &cfg.text;
    assert_int_equal(tc->profile, DV_TEXT_PROFILE_EMPTY);
    assert_int_equal(tc->exclude, DV_IT_BIT(DV_IT_AGE) | DV_IT_BIT(DV_IT_URL));
    assert_int_equal(tc->nxf, 4);
    assert_int_equal(tc->xf[0].types, DV_IT_BIT(DV_IT_PERSON_NAME) | DV_IT_BIT(DV_IT_LAST_NAME));
    assert_int_equal(tc->xf[0].xf.kind, DV_XF_MASK);
    assert_int_equal(tc->xf[0].xf.mask_len, 1);
    assert_int_equal(tc->xf[0].xf.mask[0], '#');
    assert_int_equal(tc->xf[1].types, 0);
    assert_int_equal(tc->xf[1].xf.kind, DV_XF_REDACT);
    assert_int_equal(tc->xf[2].xf.kind, DV_XF_DATE_SHIFT);
    assert_int_equal(tc->xf[2].xf.key_len, 16);
    assert_memory_equal(tc->xf[2].xf.key, "0123456789abcdef", 16);
    assert_int_equal(tc->xf[3].xf.kind, DV_XF_CRYPTO_HASH); /* the deprecated list follows */
    assert_int_equal(tc->xf[3].xf.key_len, 0);              /* the run's key (DECISIONS 7) */
    dv_xform t[DV_IT_COUNT];
    dv_text_resolve(tc, t);
    assert_int_equal(t[DV_IT_PERSON_NAME].kind, DV_XF_MASK);
    assert_int_equal(t[DV_IT_PHONE_NUMBER].kind, DV_XF_REDACT); /* default, not the EMPTY profile */
    assert_int_equal(t[DV_IT_EMAIL_ADDRESS].kind, DV_XF_CRYPTO_HASH); /* listed (deprecated list) beats the default */
    assert_int_equal(t[DV_IT_AGE].kind, DV_XF_NONE);
    dv_config_clear(&cfg);

    /* default mask "*"; a multi-byte mask character; no profile = unspecified */
    parse_ok("{\"text\": {\"additionalTransformations\": [{\"infoTypes\": [\"DATE\"], \"characterMaskConfig\": {}},"
             " {\"infoTypes\": [\"AGE\"], \"characterMaskConfig\": {\"maskingCharacter\": \"\xc3\xa9\"}}]}}",
             &cfg);
    assert_int_equal(cfg.text.profile, DV_TEXT_PROFILE_UNSPECIFIED);
    assert_int_equal(cfg.text.xf[0].xf.mask[0], '*');
    assert_int_equal(cfg.text.xf[1].xf.mask_len, 2);
    dv_config_clear(&cfg);

    /* legacy dicom + text: parsed the same way */
    parse_ok("{\"dicom\": {\"filterProfile\": \"DEIDENTIFY_TAG_CONTENTS\"}, \"text\": {\"profileType\": \"BASIC\"}}",
             &cfg);
    assert_int_equal(cfg.profile, DV_PROFILE_DEIDENTIFY_TAG_CONTENTS);
    assert_int_equal(cfg.text.profile, DV_TEXT_PROFILE_BASIC);
    dv_config_clear(&cfg);
}

/* proto3 JSON reads a string or bytes field's default value, "", as the field not set, and so does Google's API:
 * `maskingCharacter: ""` masks with the default `*`, `cryptoKey: ""` uses the generated (here: the run's) key, as
 * when they are absent. Before, both were refused. A value of another type is still refused. */
static void test_empty_string_is_default(void **state)
{
    (void)state;
    dv_config a, b;
    parse_ok("{\"text\": {\"additionalTransformations\": [{\"infoTypes\": [\"PERSON_NAME\"], \"characterMaskConfig\": "
             "{\"maskingCharacter\": \"\"}}, {\"infoTypes\": [\"DATE\"], \"dateShiftConfig\": {\"cryptoKey\": \"\"}}, "
             "{\"infoTypes\": [\"PHONE_NUMBER\"], \"cryptoHashConfig\": {\"crypto_key\": \"\"}}]}}",
             &a);
    parse_ok("{\"text\": {\"additionalTransformations\": [{\"infoTypes\": [\"PERSON_NAME\"], \"characterMaskConfig\": "
             "{}}, {\"infoTypes\": [\"DATE\"], \"dateShiftConfig\": {}}, {\"infoTypes\": [\"PHONE_NUMBER\"], "
             "\"cryptoHashConfig\": {}}]}}",
             &b);
    assert_int_equal(a.text.nxf, 3);
    assert_int_equal(b.text.nxf, 3);
    for (size_t i = 0; i < 3; i++) {
        const dv_xform *x = &a.text.xf[i].xf, *y = &b.text.xf[i].xf;
        assert_int_equal(x->kind, y->kind);
        assert_int_equal(x->mask_len, y->mask_len);
        assert_memory_equal(x->mask, y->mask, x->mask_len);
        assert_int_equal(x->key_len, 0);
        assert_int_equal(y->key_len, 0);
    }
    assert_int_equal(a.text.xf[0].xf.kind, DV_XF_MASK);
    assert_int_equal(a.text.xf[0].xf.mask_len, 1);
    assert_int_equal(a.text.xf[0].xf.mask[0], '*');
    dv_config_clear(&a);
    dv_config_clear(&b);
    /* another type, and "" beside kmsWrapped (which is refused for itself), are not the default */
    parse_err("{\"text\": {\"additionalTransformations\": [{\"characterMaskConfig\": {\"maskingCharacter\": 0}}]}}",
              "maskingCharacter: must be a string");
    parse_err("{\"text\": {\"transformations\": [{\"infoTypes\": [\"DATE\"], \"dateShiftConfig\": {\"cryptoKey\": \"\", "
              "\"kmsWrapped\": {\"cryptoKey\": \"projects/p/locations/l/keyRings/r/cryptoKeys/k\", \"wrappedKey\": "
              "\"AA==\"}}}]}}",
              "config.text.transformations[0].dateShiftConfig.kmsWrapped: not supported");
}

static void test_text_config_errors(void **state)
{
    (void)state;
    parse_err("{\"text\": {\"excludeInfoTypes\": [\"AGE\", \"PERSON_NAMES\"]}}",
              "config.text.excludeInfoTypes[1]: unknown infoType \"PERSON_NAMES\"");
    parse_err("{\"text\": {\"additionalTransformations\": [{\"infoTypes\": [\"CTX\"], \"redactConfig\": {}}]}}",
              "config.text.additionalTransformations[0].infoTypes[0]: unknown infoType");
    parse_err("{\"text\": {\"transformations\": [{\"infoTypes\": [\"DATE\"], \"dateShiftConfig\": "
              "{\"kmsWrapped\": {\"cryptoKey\": \"projects/p/locations/l/keyRings/r/cryptoKeys/k\", \"wrappedKey\": \"AA==\"}}}]}}",
              "config.text.transformations[0].dateShiftConfig.kmsWrapped: not supported");
    parse_err("{\"text\": {\"additionalTransformations\": [{\"cryptoHashConfig\": {\"cryptoKey\": \"MDEy\"}}]}}",
              "config.text.additionalTransformations[0].cryptoHashConfig.cryptoKey: must be the base64 of a 16-, "
              "24- or 32-byte key");
    parse_err("{\"text\": {\"additionalTransformations\": [{\"characterMaskConfig\": {\"maskingCharacter\": \"**\"}}]}}",
              "config.text.additionalTransformations[0].characterMaskConfig.maskingCharacter: must be exactly one");
    parse_err("{\"text\": {\"additionalTransformations\": [{\"characterMaskConfig\": {\"maskingCharacter\": \"^\"}}]}}",
              "maskingCharacter: must be exactly one printable character other than");
    parse_err("{\"text\": {\"additionalTransformations\": [{\"infoTypes\": [\"DATE\"]}]}}",
              "config.text.additionalTransformations[0]: no transformation");
    parse_err("{\"text\": {\"profileType\": \"FULL\"}}", "config.text.profileType");
    /* cleanTextTag: a tag of another VR, or another VR, is a config error naming the query */
    parse_err("{\"dicomTagConfig\": {\"actions\": [{\"queries\": [\"StudyDescription\", \"Modality\"], "
              "\"cleanTextTag\": {}}]}}",
              "config.dicomTagConfig.actions[0].queries[1]: cleanTextTag applies to VRs AE, LO, LT, PN, SH, ST, UC, "
              "UT, DA, DT, AS only, but \"Modality\" (0008,0060) has VR CS");
    parse_err("{\"dicomTagConfig\": {\"actions\": [{\"queries\": [\"UI\"], \"cleanTextTag\": {}}]}}",
              "config.dicomTagConfig.actions[0].queries[0]: cleanTextTag applies to VRs");
    dv_config cfg;
    parse_ok("{\"dicomTagConfig\": {\"actions\": [{\"queries\": [\"PN\", \"00081030\", \"StudyDate\", "
             "\"PatientAge\", \"00191010\"], \"cleanTextTag\": {}}]}}",
             &cfg);
    assert_int_equal(cfg.actions[0].kind, DV_ACTION_CLEAN_TEXT);
    dv_config_clear(&cfg);
}

/* Text is built (issue 6): dv_config_parse (the deidentify path) accepts every text field, and the plan
 * compiles them; the image parts stay refused (dv_config_refuse_unbuilt). */
static void test_text_accepted_by_deidentify(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "{\"text\": {\"profileType\": \"BASIC\"}}",
        "{\"text\": {\"profileType\": \"EMPTY\", \"additionalTransformations\": [{\"infoTypes\": [\"DATE\"], "
        "\"dateShiftConfig\": {\"cryptoKey\": \"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3\"}}]}}", /* 24-byte key */
        "{\"dicomTagConfig\": {\"profileType\": \"DEIDENTIFY_TAG_CONTENTS\", \"options\": {\"primaryIds\": "
        "\"KEEP\"}}, \"text\": {\"excludeInfoTypes\": [\"AGE\"]}}",
        "{\"dicomTagConfig\": {\"options\": {\"cleanDescriptors\": {}}, \"actions\": [{\"queries\": "
        "[\"StudyDescription\", \"StudyDate\", \"AE\"], \"cleanTextTag\": {}}]}}",
        "{\"dicom\": {\"filterProfile\": \"DEIDENTIFY_TAG_CONTENTS\"}, \"text\": {\"transformations\": "
        "[{\"cryptoHashConfig\": {\"cryptoKey\": \"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\"}}]}}",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        dv_config cfg;
        dv_error err = {0};
        if (dv_config_parse(ok[i], strlen(ok[i]), &cfg, &err))
            fprintf(stderr, "config %zu: %s\n", i, err.message);
        assert_int_equal(err.code, DV_OK);
        dv_plan *p = dv_plan_compile(&cfg, &err);
        dv_config_clear(&cfg);
        assert_non_null(p);
        assert_int_equal(p->cleans_text, i != 0 && i != 1 ? 1 : 0);
        dv_plan_free(p);
    }
    /* the image half is built too (issue 11): text and image together compile */
    const char *j = "{\"text\": {}, \"image\": {\"textRedactionMode\": \"REDACT_ALL_TEXT\"}}";
    dv_config cfg;
    dv_error err = {0};
    assert_int_equal(dv_config_parse(j, strlen(j), &cfg, &err), 0);
    dv_plan *p = dv_plan_compile(&cfg, &err);
    dv_config_clear(&cfg);
    assert_non_null(p);
    assert_true(p->cleans_pixels);
    dv_plan_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_config_parsed),
        cmocka_unit_test(test_text_config_errors),
        cmocka_unit_test(test_empty_string_is_default),
        cmocka_unit_test(test_text_accepted_by_deidentify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
