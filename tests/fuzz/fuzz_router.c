/* libFuzzer target: the resource-name router (src/http/router.c).
 *
 * Byte 0 picks the method, the rest is the path (not NUL-terminated: the router must honour len). Checks: a
 * routed path's IDs all satisfy dvh_id_valid and its UIDs dvh_uid_valid (so no ID can carry '/', NUL or a
 * dot-segment into the server); an error is one of 400/404/405 with a NUL-terminated message. The same bytes
 * also go through the server's URL unescaper (request_guard.c): it never lengthens, never produces a NUL byte
 * (what cut names short), and reports every "%00" it keeps. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/request_guard.h"
#include "http/router.h"

static void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_router: invariant violated: %s\n", what);
    abort();
}

static void check_id(const char *id, int required)
{
    size_t n = strlen(id);
    if ((required || n) && !dvh_id_valid(id, n))
        fuzz_fail("a routed ID breaks the ID rule");
}

static void check_uid(const char *uid)
{
    if (uid[0] && !dvh_uid_valid(uid, strlen(uid)))
        fuzz_fail("a routed UID breaks the UID rule");
}

static void check_unescape(const uint8_t *data, size_t n)
{
    char *s = malloc(n + 1);
    if (s == NULL)
        return;
    memcpy(s, data, n);
    s[n] = '\0';
    size_t in = strlen(s); /* up to the first NUL byte, as libmicrohttpd hands it over */
    int has_nul_escape = strstr(s, "%00") != NULL;
    int nul = 0;
    size_t out = dvh_unescape_keep_nul(s, &nul);
    if (out > in || out != strlen(s))
        fuzz_fail("the unescaper lengthened its input or produced a NUL byte");
    if (nul != has_nul_escape)
        fuzz_fail("the unescaper did not report a %00 (or reported one that was not there)");
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    static const dvh_method methods[] = {DVH_GET, DVH_POST, DVH_DELETE, DVH_PUT, DVH_HEAD, DVH_OTHER};
    dvh_method m = methods[data[0] % 6];
    char *path = malloc(size - 1 ? size - 1 : 1);
    if (path == NULL)
        return 0;
    memcpy(path, data + 1, size - 1);
    dvh_route r;
    dvh_err e;
    memset(&e, 0, sizeof e);
    int rc = dvh_route_match(m, path, size - 1, &r, &e);
    free(path);
    check_unescape(data + 1, size - 1);
    if (rc == 0) {
        if (r.name == NULL || (r.allow & (m == DVH_HEAD ? DVH_GET : m)) == 0)
            fuzz_fail("routed without a name or for a method it does not allow");
        check_id(r.project, 1);
        check_id(r.location, 1);
        check_id(r.dataset, r.kind != DVH_R_DATASETS);
        check_id(r.store, 0);
        check_id(r.operation, 0);
        check_uid(r.web.study);
        check_uid(r.web.series);
        check_uid(r.web.instance);
    } else {
        if (memchr(e.message, '\0', sizeof e.message) == NULL)
            fuzz_fail("error message not NUL-terminated");
        if (e.status != DVH_INVALID_ARGUMENT && e.status != DVH_NOT_FOUND && e.status != DVH_METHOD)
            fuzz_fail("an error other than 400/404/405");
    }
    return 0;
}
