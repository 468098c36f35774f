/* dicomveil's extension endpoints (docs/console.md "Extension endpoints"): two things an API client such as
 * the web console needs that the Healthcare API has no method for. They live under their own prefix,
 * /dicomveil/v1/, so no Google path is ever shadowed, and they pass the same bearer-token check, limits and
 * access log as every other route.
 *
 *   POST /dicomveil/v1/deidentifyConfig:validate   body {"config": DeidentifyConfig}
 *        200 {"valid": true} or 400 INVALID_ARGUMENT "config: <JSON path>: <why>" — the same compile and the
 *        same message as :deidentify gives, without starting anything (a dry run of the config).
 *   POST /dicomveil/v1/filterFiles                 body: the filter file's text (resource paths, one a line)
 *        200 {"resourcePathsGcsUri": "file:///…/DATA/filters/<sha-256>.txt", "paths": N}: the file checked
 *        with the :deidentify filter parser, then kept in the data directory's filters/ folder (an allowed
 *        root of its own), for filterConfig.resourcePathsGcsUri. A browser cannot write a file on the
 *        server's disk; this is how it hands one over. Named by content: the same list is the same file.
 *
 * [test_console.py "validate", "filter"; test_ext_endpoints] */
#ifndef DVH_EXT_ENDPOINTS_H
#define DVH_EXT_ENDPOINTS_H

#include <stddef.h>

#define DVH_EXT_PREFIX "/dicomveil/v1/"

typedef enum dvh_ext_kind { DVH_EXT_NONE = 0, DVH_EXT_VALIDATE_CONFIG, DVH_EXT_FILTER_FILE } dvh_ext_kind;

/* The extension a URL path names (exact match), DVH_EXT_NONE for any other path. Pure. */
dvh_ext_kind dvh_ext_match(const char *path, size_t len);
/* Its stable route name for the access log. */
const char *dvh_ext_name(dvh_ext_kind k);

#endif
