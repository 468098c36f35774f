/* dv_deidentify: read one instance, apply the plan, write it. The convenience every front end (CLI, server,
 * MPI ranks) uses; it owns the instance for the duration of the call and frees it on every path, so a
 * failure never leaves anything half written behind in memory (what reached the sink is the caller's to
 * discard: the CLI writes to a temporary file and renames on success). */
#include <string.h>

#include "dicomveil/dicomveil.h"

int dv_deidentify(const dv_plan *plan, const dv_key *key, const dv_source *src, dv_sink *sink,
                  const dv_limits *lim, dv_result *res, dv_error *err)
{
    if (res)
        memset(res, 0, sizeof *res);
    if (!plan || !key || !src || !sink)
        return dv_fail(err, DV_ERR_USAGE, "dv_deidentify: plan, key, source and sink are required");
    dv_instance *inst = dv_instance_read(src, lim, err);
    if (!inst)
        return -1;
    /* A DICOMDIR is an index of other files, not an instance: de-identifying it would break its references
     * and it has no SOPInstanceUID to name the output by. Refused rather than passed through. */
    if (dv_instance_is_directory(inst)) {
        dv_instance_free(inst);
        return dv_fail(err, DV_ERR_UNSUPPORTED, "Media Storage Directory (DICOMDIR) is not an instance");
    }
    int rc = dv_apply(plan, key, inst, res, err);
    if (rc == 0)
        rc = dv_instance_write(inst, sink, err);
    dv_instance_free(inst);
    return rc;
}
