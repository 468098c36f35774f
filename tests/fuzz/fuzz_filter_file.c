/* libFuzzer target: the filter-file parser (src/http/filter_file.c).
 *
 * Checks: a parsed file's every path has a valid study UID and valid (or absent) series / instance UIDs,
 * an instance only under a series; a refusal is 400 (or 413 over the path cap) with a NUL-terminated message
 * and no paths. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/filter_file.h"

static void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_filter_file: invariant violated: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dvh_filter_path *p = NULL;
    size_t n = 0;
    dvh_err e;
    memset(&e, 0, sizeof e);
    if (dvh_filter_parse((const char *)data, size, "filterConfig.resourcePathsGcsUri", &p, &n, &e) == 0) {
        for (size_t i = 0; i < n; i++) {
            if (!dvh_uid_valid(p[i].study, strlen(p[i].study)))
                fuzz_fail("a study UID breaks the UID rule");
            if (p[i].series[0] && !dvh_uid_valid(p[i].series, strlen(p[i].series)))
                fuzz_fail("a series UID breaks the UID rule");
            if (p[i].instance[0] && (!p[i].series[0] || !dvh_uid_valid(p[i].instance, strlen(p[i].instance))))
                fuzz_fail("an instance UID breaks the UID rule or has no series");
        }
        if ((n == 0) != (p == NULL))
            fuzz_fail("paths and count disagree");
        free(p);
    } else {
        if (p != NULL || n != 0)
            fuzz_fail("a refusal left paths");
        if (memchr(e.message, '\0', sizeof e.message) == NULL)
            fuzz_fail("error message not NUL-terminated");
        if (e.status != DVH_INVALID_ARGUMENT && e.status != DVH_TOO_LARGE && e.status != DVH_INTERNAL)
            fuzz_fail("an error other than 400/413/500");
    }
    return 0;
}
