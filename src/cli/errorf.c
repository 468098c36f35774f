/* dvc_errorf (cli.h), in a file of its own so that the test helpers that compile in CLI files without
 * main.c (tests/helpers/dv_preview_run.c) use this one rather than a copy. */
#include <stdarg.h>
#include <stdio.h>

#include "cli.h"

void dvc_errorf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("dicomveil: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
