/* The Accept header weights WADO-RS answers by (src/http/accept.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "http/accept.h"

static void test_absent_takes_anything(void **state)
{
    (void)state;
    assert_int_equal(dvh_accept_q(NULL, "application/dicom", NULL, NULL), 1000);
    assert_int_equal(dvh_accept_q("", "image/png", NULL, NULL), 1000);
    assert_int_equal(dvh_accept_q("  ", "image/png", NULL, NULL), 1000);
}

/* What substring matching got wrong: a longer type holding the name, q=0, a multipart part type. */
static void test_not_substrings(void **state)
{
    (void)state;
    assert_int_equal(dvh_accept_q("application/dicom+json", "application/dicom", NULL, NULL), 0);
    assert_int_equal(dvh_accept_q("image/png;q=0, image/jpeg", "image/png", NULL, NULL), 0);
    assert_int_equal(dvh_accept_q("image/png;q=0, image/jpeg", "image/jpeg", NULL, NULL), 1000);
    assert_int_equal(dvh_accept_q("multipart/related; type=\"application/dicom+xml\"", "multipart/related",
                                  "application/dicom", NULL),
                     0);
    assert_int_equal(dvh_accept_q("multipart/related; type=\"application/dicom\"", "multipart/related",
                                  "application/dicom", NULL),
                     1000);
    assert_int_equal(dvh_accept_q("multipart/related", "multipart/related", "application/dicom", NULL), 1000);
    assert_int_equal(dvh_accept_q("multipart/related; type=image/*", "multipart/related", "image/jpeg", NULL), 1000);
}

static void test_weights_and_specificity(void **state)
{
    (void)state;
    int at = 7;
    assert_int_equal(dvh_accept_q("text/html, image/*;q=0.5, */*;q=0.1", "image/png", NULL, &at), 500);
    assert_int_equal(at, 1);
    assert_int_equal(dvh_accept_q("*/*;q=0.1, image/png;q=0.8", "image/png", NULL, &at), 800);
    assert_int_equal(at, 1);
    assert_int_equal(dvh_accept_q("*/*;q=0.25", "application/dicom", NULL, NULL), 250);
    assert_int_equal(dvh_accept_q("image/png;q=1.0", "image/png", NULL, NULL), 1000);
    assert_int_equal(dvh_accept_q("image/png;q=0.001", "image/png", NULL, NULL), 1);
    assert_int_equal(dvh_accept_q("IMAGE/PNG", "image/png", NULL, NULL), 1000);
    assert_int_equal(dvh_accept_q("image/jpeg", "image/png", NULL, &at), 0);
    assert_int_equal(at, -1);
    assert_int_equal(dvh_accept_q(",,;;,=,image/png;=;q", "image/png", NULL, NULL), 1000); /* junk around it */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_absent_takes_anything),
        cmocka_unit_test(test_not_substrings),
        cmocka_unit_test(test_weights_and_specificity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
