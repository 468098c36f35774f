/* Filling a caller's dv_result whatever layout it was compiled with (issue 5 item 7). */
#ifndef DV_RESULT_INTERNAL_H
#define DV_RESULT_INTERNAL_H

#include <stddef.h>

#include "dicomveil/dv_engine.h"

/* Zero every field of *res the caller's layout has (struct_size kept). -1 with DV_ERR_USAGE when res was not
 * initialised with dv_result_init. */
int dv_result_reset(dv_result *res, dv_error *err);
/* 1 when the caller's layout has the field that ends at byte `end` (offsetof + sizeof). */
static inline int dv_result_has(const dv_result *res, size_t end)
{
    return res->struct_size >= end;
}
#define DV_RESULT_HAS(res, field) dv_result_has((res), offsetof(dv_result, field) + sizeof((res)->field))

#endif
