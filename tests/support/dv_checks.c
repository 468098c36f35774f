/* cmocka checks shared by the engine's unit tests: dv_checks.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "dv_checks.h"

dv_key *dvt_test_key(void)
{
    uint8_t k[32];
    for (int i = 0; i < 32; i++)
        k[i] = (uint8_t)i;
    dv_error err;
    memset(&err, 0, sizeof err);
    dv_key *key = dv_key_new(k, sizeof k, &err);
    if (key == NULL)
        fail_msg("the test key: %s", err.message);
    return key;
}

void dvt_deid_with(const char *json, const dv_key *key, const dv_limits *lim, const uint8_t *in, size_t inlen,
                   output *o)
{
    dv_error err;
    memset(&err, 0, sizeof err);
    dv_key *own = key ? NULL : dvt_test_key();
    int rc = dvt_deidentify(json, key ? key : own, lim, in, inlen, o, &err);
    dv_key_free(own);
    if (rc != 0)
        fail_msg("%s (config %s)", err.message, json);
}

void dvt_deid(const char *json, const uint8_t *in, size_t inlen, output *o)
{
    dvt_deid_with(json, NULL, NULL, in, inlen, o);
}

void dvt_regen_test_key(const char *uid, char out[DV_UID_MAX + 1])
{
    dv_key *key = dvt_test_key();
    size_t n = dv_uid_regenerate(key, uid, strlen(uid), out);
    dv_key_free(key);
    assert_true(n > 5);
}

void dvt_assert_str(const dv_instance *inst, uint32_t tag, const char *want)
{
    char buf[512];
    if (dv_instance_get_string(inst, tag, buf, sizeof buf) < 0)
        fail_msg("(%04X,%04X) absent, want \"%s\"", tag >> 16, tag & 0xFFFF, want);
    if (strcmp(buf, want) != 0)
        fail_msg("(%04X,%04X) = \"%s\", want \"%s\"", tag >> 16, tag & 0xFFFF, buf, want);
}

void dvt_assert_absent(const dv_instance *inst, uint32_t tag)
{
    char buf[512];
    if (dv_instance_get_string(inst, tag, buf, sizeof buf) >= 0)
        fail_msg("(%04X,%04X) present (\"%s\"), want absent", tag >> 16, tag & 0xFFFF, buf);
}
