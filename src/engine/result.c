/* dv_result: the size-versioned result (issue 5 item 7; docs/decisions.md "Extensible public structs").
 * [tests/unit/test_run.c: test_result_older_layout] */
#include <string.h>

#include "dv_result_internal.h"

/* The first layout with struct_size ends after patient_id; smaller sizes are not ours. */
#define DV_RESULT_SIZE_V1 (offsetof(dv_result, patient_id) + DV_PATIENT_ID_MAX + 1)

void dv_result_init_sized(dv_result *res, size_t struct_size)
{
    memset(res, 0, struct_size);
    res->struct_size = (uint32_t)struct_size;
}

int dv_result_reset(dv_result *res, dv_error *err)
{
    if (res->struct_size < DV_RESULT_SIZE_V1)
        return dv_fail(err, DV_ERR_USAGE, "dv_result not initialised (struct_size %u): call dv_result_init",
                       (unsigned)res->struct_size);
    uint32_t size = res->struct_size;
    size_t n = size < sizeof *res ? size : sizeof *res;
    memset((char *)res + sizeof res->struct_size, 0, n - sizeof res->struct_size);
    return 0;
}

const char *dv_skip_name(dv_skip s)
{
    switch (s) {
    case DV_SKIP_NOT_DICOM: return "not_dicom";
    case DV_SKIP_DIRECTORY: return "directory";
    case DV_SKIP_NONE: break;
    }
    return NULL;
}
