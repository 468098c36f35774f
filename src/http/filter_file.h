/* The filter file of filterConfig.resourcePathsGcsUri (gcp-api.md 1.3): resource paths
 * `/studies/{study}[/series/{series}[/instances/{instance}]]`, one per line, lines separated by "\n" or
 * "\r\n". Empty lines (a trailing newline, blank lines) are skipped; any other line that is not such a path
 * (a UID that breaks the UID rule of router.h, a '.', '..' or empty segment, another keyword, a bare '\r',
 * trailing text) is INVALID_ARGUMENT naming its line number, never its text. So no filter line can name
 * anything but UIDs, which only ever reach the index as bound values. [test_filter_file; fuzz_filter_file]
 *
 * Pure: no I/O, no global state; the caller reads the file (capped at DVH_FILTER_MAX_BYTES). */
#ifndef DVH_FILTER_FILE_H
#define DVH_FILTER_FILE_H

#include <stddef.h>

#include "http/api_error.h"
#include "http/router.h"

#define DVH_FILTER_MAX_BYTES ((size_t)64 << 20) /* the file */
#define DVH_FILTER_MAX_PATHS 1000000u           /* its paths */

typedef struct dvh_filter_path {
    char study[DVH_UID_MAX + 1], series[DVH_UID_MAX + 1], instance[DVH_UID_MAX + 1]; /* "" when absent */
} dvh_filter_path;

/* Parse len bytes of text. 0 with *paths (malloc'd, the caller frees; NULL when *n is 0) and *n, or -1 with
 * e: INVALID_ARGUMENT "<field>: line N: ..." (field names the request field, e.g.
 * "filterConfig.resourcePathsGcsUri"), RESOURCE_EXHAUSTED over DVH_FILTER_MAX_PATHS, INTERNAL on ENOMEM. */
int dvh_filter_parse(const char *text, size_t len, const char *field, dvh_filter_path **paths, size_t *n,
                     dvh_err *e);

#endif
