/* Loading dicomveil's internal modules (src/modules/dv_module.h; docs/decisions.md "Heavy libraries loaded on
 * demand"): src/cli/module.c. */
#ifndef DV_CLI_MODULE_H
#define DV_CLI_MODULE_H

#include <stddef.h>

#include "modules/dv_module.h"

/* The server module's table, loaded on the first call (later calls return the same table). NULL with why (a
 * message naming the module and the reason, no PHI) when it is missing, unloadable or of another build. */
const dv_server_module *dvc_server_module(char *why, size_t cap);
/* The MPI module's table, likewise (loaded RTLD_GLOBAL). */
const dv_mpi_module *dvc_mpi_module(char *why, size_t cap);

#endif
