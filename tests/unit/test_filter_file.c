/* The filter file of filterConfig.resourcePathsGcsUri (src/http/filter_file.c): study / series / instance
 * paths, "\n" or "\r\n", malformed lines named by number, traversal refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "http/filter_file.h"

static int parse(const char *text, dvh_filter_path **p, size_t *n, dvh_err *e)
{
    memset(e, 0, sizeof *e);
    return dvh_filter_parse(text, strlen(text), "filterConfig.resourcePathsGcsUri", p, n, e);
}

/* The three levels, both line ends, blank lines and a missing final newline. */
static void test_levels_and_line_ends(void **state)
{
    (void)state;
    dvh_filter_path *p;
    size_t n;
    dvh_err e;
    assert_int_equal(parse("/studies/1.2\r\n\n/studies/1.2/series/1.2.3\n/studies/1.2/series/1.2.3/instances/1.2.3.4"
                           "\r\n\r\n/studies/9",
                           &p, &n, &e),
                     0);
    assert_int_equal(n, 4);
    assert_string_equal(p[0].study, "1.2");
    assert_string_equal(p[0].series, "");
    assert_string_equal(p[1].series, "1.2.3");
    assert_string_equal(p[1].instance, "");
    assert_string_equal(p[2].instance, "1.2.3.4");
    assert_string_equal(p[3].study, "9");
    free(p);
    assert_int_equal(parse("", &p, &n, &e), 0);
    assert_int_equal(n, 0);
    assert_null(p);
}

/* Every malformed line is INVALID_ARGUMENT naming the field and the line number, never the text. */
static void test_malformed_lines(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "/studies/../../etc/passwd", "/studies/1.2/../3", "/studies/1..2", "/studies/.1", "/studies/",
        "studies/1.2", "/studies/1.2/", "/studies/1.2/series", "/studies/1.2/instances/1.3",
        "/studies/1.2/series/1.3/instances/1.4/frames/1", "/studies/1.2\r\r", " /studies/1.2", "/studies/1.2 ",
        "/studies/12345678901234567890123456789012345678901234567890123456789012345", "/series/1.2",
        "/studies/1.2%2f..", "/STUDIES/1.2", "/studies/1.2\rx",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "/studies/1\r\n\n/studies/2\n%s\n/studies/3\n", bad[i]);
        dvh_filter_path *p = (dvh_filter_path *)1;
        size_t n = 7;
        dvh_err e;
        assert_int_equal(parse(text, &p, &n, &e), -1);
        assert_int_equal(e.status, DVH_INVALID_ARGUMENT);
        assert_null(p);
        assert_int_equal(n, 0);
        assert_string_equal(e.message,
                            "filterConfig.resourcePathsGcsUri: line 4: not a resource path "
                            "/studies/{uid}[/series/{uid}[/instances/{uid}]]");
    }
    /* A NUL inside a line. */
    dvh_filter_path *p;
    size_t n;
    dvh_err e;
    assert_int_equal(dvh_filter_parse("/studies/1\0x\n", 12, "f", &p, &n, &e), -1);
    assert_string_equal(e.message, "f: line 1: not a resource path /studies/{uid}[/series/{uid}[/instances/{uid}]]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_levels_and_line_ends),
        cmocka_unit_test(test_malformed_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
