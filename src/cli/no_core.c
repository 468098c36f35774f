/* Keeping PHI out of core files. A crashing dicomveil holds source values in memory (the instance being read, the
 * server's request buffers, the deny-lists of names), and a core file written to the working directory, or kept
 * by a system's crash collector, is a copy of them that no one asked for (stop 53's red team: a SIGSEGV left a
 * 91 MB core of `serve` and a 22 MB core of `deidentify`, both naming the patient). So every command turns core
 * dumps off before it reads anything: the core size limit to 0 (soft and hard: a child cannot raise it again) and
 * the process not dumpable (PR_SET_DUMPABLE 0: no core even where core_pattern pipes to a collector that ignores
 * the limit, unless fs.suid_dumpable is 2, which dumps it to root anyway; and no ptrace attach by another process
 * of the same user, which could read the same memory).
 * DV_CORE_DUMPS=1 (read with secure_getenv) leaves both as they are, for debugging on data without PHI. */
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "cli.h"

int dvc_no_core_dumps(void)
{
    const char *allow = secure_getenv("DV_CORE_DUMPS");
    if (allow && strcmp(allow, "1") == 0)
        return 0;
    struct rlimit none = {0, 0};
    int rc = setrlimit(RLIMIT_CORE, &none);
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        rc = -1;
    return rc == 0 ? 0 : -1;
}
