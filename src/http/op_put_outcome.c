/* What the store's put path answered means for one work item of an operation: stored (counted once), or the
 * failure class its error log entry shows. Why a file: the de-identify and the import items store through the
 * same put path (store_put.c) and must read its answer the same way, so a resumed operation counts each
 * instance once whichever kind it is. The classes are what operations.c serves at logsUrl (no PHI: a class,
 * never a value). [test_server_ops.py "kill -9"] */
#include "http/op_internal.h"

int dvh_op_put_stored(const dvh_put_result *pr)
{
    /* Our own output stored before a crash (same SOPInstanceUID, same bytes): done, once. */
    return pr->reason == 0 || (pr->reason == DVH_FAIL_DUPLICATE && pr->same_blob);
}

const char *dvh_op_put_class(const dvh_put_result *pr)
{
    switch (pr->reason) {
    case DVH_FAIL_DUPLICATE: return "already_exists";
    case DVH_FAIL_UNDERSTAND: return "invalid";
    case DVH_FAIL_RESOURCES: return "limit";
    default: return "io";
    }
}
