/* dvc_errorf (cli.h), in a file of its own so that the test helpers that compile in CLI files without
 * main.c (tests/helpers/dv_preview_run.c) use this one rather than a copy. */
#include <stdarg.h>
#include <stdio.h>

#include "cli.h"

void dvc_vline(const char *prefix, const char *fmt, va_list ap)
{
    char line[4000];
    int n = snprintf(line, sizeof line, "%s", prefix);
    if (n < 0)
        n = 0;
    if ((size_t)n < sizeof line - 1) {
        int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
        n = m < 0 ? n : n + m;
    }
    if ((size_t)n > sizeof line - 2)
        n = (int)sizeof line - 2; /* cut: the newline still ends it */
    line[n++] = '\n';
    fwrite(line, 1, (size_t)n, stderr); /* stderr is unbuffered: one write */
}

void dvc_errorf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    dvc_vline("dicomveil: ", fmt, ap);
    va_end(ap);
}
