/* dicomveil's extension endpoints (docs/console.md "Extension endpoints"): things an API client such as
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
 *   DELETE /dicomveil/v1/filterFiles?resourcePathsGcsUri=<that URI>
 *        200 {} (the file removed), 404 when it is gone, 400 for a URI that is not one of these files. The
 *        paths name source UIDs and the file belongs to no dataset: the client removes it once its
 *        :deidentify has started (the operation keeps its own copy of the paths); the console does.
 *
 *   GET  /dicomveil/v1/reviewMarks?operation=<operation name>
 *        200 {"marks": ["/studies/…/series/…/instances/…", …]}: the instances a reviewer marked "needs
 *        attention" in the review of that operation (sorted).
 *   POST /dicomveil/v1/reviewMarks   body {"operation": NAME, "instance": "/studies/…/series/…/instances/…",
 *        "needsAttention": true|false}: set or clear one mark; answers the list like GET.
 *        Kept with the operation: DATA/marks/<operation row id>.json, written atomically; only resource
 *        paths (UIDs) are kept, no free text. The operation must exist (404 otherwise).
 *
 *
 *   GET  /dicomveil/v1/redactionBoxes?operation=<operation name>&instance=/studies/…/series/…/instances/…
 *        200 the boxes the operation's pixel stage painted on that OUTPUT instance (op_boxes.h: frame, x, y,
 *        w, h; frames examined; an empty list when it found nothing), 404 when the operation does not exist
 *        or recorded nothing for that instance (its config cleans no pixels of it). ext_boxes.c.
 *
 * [test_console.py "a bad config shows", "a filtered operation", "review marks", "redaction boxes";
 *  test_server_boxes.py] */
#ifndef DVH_EXT_ENDPOINTS_H
#define DVH_EXT_ENDPOINTS_H

#include <stddef.h>

#define DVH_EXT_PREFIX "/dicomveil/v1/"

typedef enum dvh_ext_kind {
    DVH_EXT_NONE = 0,
    DVH_EXT_VALIDATE_CONFIG,
    DVH_EXT_FILTER_FILE,
    DVH_EXT_REVIEW_MARKS,
    DVH_EXT_REDACTION_BOXES
} dvh_ext_kind;

#define DVH_MARKS_MAX 10000u /* marks per operation */

/* The extension a URL path names (exact match), DVH_EXT_NONE for any other path. Pure. */
dvh_ext_kind dvh_ext_match(const char *path, size_t len);
/* Its stable route name for the access log (method: DVH_GET ... of router.h). */
const char *dvh_ext_name(dvh_ext_kind k, unsigned method);
/* The methods it answers (DVH_GET, DVH_POST of router.h; HEAD goes with GET). */
unsigned dvh_ext_methods(dvh_ext_kind k);

#endif
