/* libFuzzer target: the web console's static path rules (src/http/console_static.c) and the extension
 * endpoints' path match (src/http/ext_endpoints.c).
 *
 * The input is a URL path (not NUL-terminated: both must honour len). Checks: a path served names a relative
 * file of at most 4 segments of [A-Za-z0-9_-] with one inner '.', no "..", no leading '.', no '/' at either
 * end, a known media type, NUL-terminated within the buffer; an extension match is an exact prefix path. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/console_static.h"
#include "http/ext_endpoints.h"

static void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_console_path: invariant violated: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *path = malloc(size ? size : 1);
    if (path == NULL)
        return 0;
    memcpy(path, data, size);
    char out[300];
    memset(out, 'X', sizeof out);
    const char *ct = NULL;
    int red = 0;
    int rc = dvh_console_file(path, size, out, sizeof out, &ct, &red);
    if (rc == 0) {
        const char *nul = memchr(out, '\0', sizeof out);
        size_t n = nul ? (size_t)(nul - out) : sizeof out;
        if (n == sizeof out || n == 0)
            fuzz_fail("served name not NUL-terminated or empty");
        if (ct == NULL || red)
            fuzz_fail("served without a media type, or with a redirect");
        if (out[0] == '/' || out[n - 1] == '/' || out[0] == '.' || strstr(out, "..") || strstr(out, "/.") ||
            strstr(out, "//"))
            fuzz_fail("served name can step outside or name a hidden file");
        for (size_t i = 0; i < n; i++) {
            char c = out[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '-' || c == '.' || c == '/'))
                fuzz_fail("served name holds a character outside the rule");
        }
        if (!dvh_console_is_path(path, size))
            fuzz_fail("served a path outside /console");
    }
    dvh_ext_kind k = dvh_ext_match(path, size);
    if (k != DVH_EXT_NONE && (size < strlen(DVH_EXT_PREFIX) || memcmp(path, DVH_EXT_PREFIX, strlen(DVH_EXT_PREFIX))))
        fuzz_fail("an extension matched outside its prefix");
    free(path);
    return 0;
}
