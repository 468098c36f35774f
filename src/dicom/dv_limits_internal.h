/* Reading a caller's dv_limits whatever layout it was compiled with (issue 5 item 7). */
#ifndef DV_LIMITS_INTERNAL_H
#define DV_LIMITS_INTERNAL_H

#include "dicomveil/dv_instance.h"

/* *dst = the defaults overlaid with the fields the caller's struct has (lim NULL: the defaults). -1 with
 * DV_ERR_USAGE when lim->struct_size is not a layout this library knows the start of (not initialised with
 * dv_limits_default). */
int dv_limits_import(dv_limits *dst, const dv_limits *lim, dv_error *err);

#endif
