/* The web console's static paths (src/http/console_static.c): which /console/... paths name a file, its media
 * type, and that no traversal or hidden-file form gets through. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "http/console_static.h"

static int file(const char *path, char *out, const char **ctype, int *redirect)
{
    return dvh_console_file(path, strlen(path), out, 300, ctype, redirect);
}

static void test_files_and_types(void **state)
{
    (void)state;
    char out[300];
    const char *ct = NULL;
    int red = 0;
    assert_int_equal(file("/console/", out, &ct, &red), 0);
    assert_string_equal(out, "index.html");
    assert_string_equal(ct, "text/html; charset=utf-8");
    assert_int_equal(file("/console/js/app.js", out, &ct, &red), 0);
    assert_string_equal(out, "js/app.js");
    assert_string_equal(ct, "text/javascript; charset=utf-8");
    assert_int_equal(file("/console/style.css", out, &ct, &red), 0);
    assert_string_equal(ct, "text/css; charset=utf-8");
    assert_int_equal(file("/console/presets/basic-profile.json", out, &ct, &red), 0);
    assert_string_equal(ct, "application/json; charset=utf-8");
    assert_int_equal(file("/console", out, &ct, &red), -1);
    assert_int_equal(red, 1);
    assert_int_equal(file("/console/app.exe", out, &ct, &red), -1); /* unknown media type */
    assert_int_equal(red, 0);
    assert_int_equal(file("/console/README", out, &ct, &red), -1);  /* no extension */
}

static void test_prefix_only(void **state)
{
    (void)state;
    assert_true(dvh_console_is_path("/console", 8));
    assert_true(dvh_console_is_path("/console/x.js", 13));
    assert_false(dvh_console_is_path("/consoles/x.js", 14));
    assert_false(dvh_console_is_path("/v1beta1/projects", 17));
    assert_false(dvh_console_is_path("/consol", 7));
}

static void test_traversal_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "/console/../index.html", "/console/..", "/console/./index.html", "/console/.hidden.js",
        "/console/js/.x.js",      "/console//x.js", "/console/x.js/",      "/console/a..js",
        "/console/x.",            "/console/x.y.js", "/console/x%2e.js",   "/console/x\\y.js",
        "/console/a/b/c/d/e.js", /* deeper than 4 segments */
        "/console/a b.js",        "/console/\xc3\xa9.js",
    };
    char out[300];
    const char *ct;
    int red;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (file(bad[i], out, &ct, &red) != -1)
            fail_msg("served: %s", bad[i]);
    }
    /* A NUL inside the path (len covers it) is refused, not cut short. */
    assert_int_equal(dvh_console_file("/console/x.js\0.png", 18, out, 300, &ct, &red), -1);
    /* A 65-character segment is refused; 64 is served. */
    char p[120] = "/console/";
    memset(p + 9, 'a', 62);
    strcpy(p + 71, ".js");
    assert_int_equal(file(p, out, &ct, &red), -1);
    p[70] = '\0';
    strcat(p, ".js");
    assert_int_equal(file(p, out, &ct, &red), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files_and_types),
        cmocka_unit_test(test_prefix_only),
        cmocka_unit_test(test_traversal_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
