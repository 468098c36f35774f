/* cmocka checks shared by the engine's unit tests (test_engine.c, test_guide_examples.c): the test key, a
 * de-identification that fails the test with the library's message, the UID the test key gives, and
 * "this element reads as that string / is absent". Why here: each test file carried its own copy.
 * Include after <cmocka.h>; link with cmocka (every tests/unit executable does). */
#ifndef DV_CHECKS_H
#define DV_CHECKS_H

#include <stddef.h>
#include <stdint.h>

#include "dicomveil/dicomveil.h"
#include "dv_testkit.h"

/* The test key: bytes 0, 1, ..., 31 (the caller frees it; fails the test when it cannot be made). */
dv_key *dvt_test_key(void);
/* dvt_deidentify with key (NULL: the test key) and lim (NULL: defaults); fails the test with the library's
 * message and the config on an error. Free o with dvt_output_free. dvt_deid: the test key, default limits. */
void dvt_deid_with(const char *json, const dv_key *key, const dv_limits *lim, const uint8_t *in, size_t inlen,
                   output *o);
void dvt_deid(const char *json, const uint8_t *in, size_t inlen, output *o);
/* The UID the test key regenerates uid into. */
void dvt_regen_test_key(const char *uid, char out[DV_UID_MAX + 1]);
/* The element tag of inst reads as the string want (fails naming the tag, the value it has and want). */
void dvt_assert_str(const dv_instance *inst, uint32_t tag, const char *want);
/* The element tag is absent from inst. */
void dvt_assert_absent(const dv_instance *inst, uint32_t tag);

#endif
