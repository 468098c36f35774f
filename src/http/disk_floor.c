/* The free-space floor (--min-free-disk; see server_internal.h dvh_disk_room).
 *
 * Why: any token holder could STOW (or start an :import or a :deidentify) until the file system holding DATA was
 * full, and a full disk breaks more than that request: the SQLite index cannot commit (its journal needs room),
 * running operations fail their items, the group commit's syncfs reports errors for everyone. The server keeps
 * a floor of free bytes instead and refuses a write that would go below it, 507 Insufficient Storage with the
 * API's RESOURCE_EXHAUSTED, before anything of the request is written. What counts as free is what an
 * unprivileged writer may use (f_bavail: blocks reserved for root are not the server's). The check and the
 * write are not one step, so requests running together may overshoot the floor by what they write between two
 * checks: a STOW checks again every 8 MiB of its body as it arrives (stow.c), and a running :import or
 * :deidentify before each instance it writes (op_jobs.c), which bounds that. A request below the floor is
 * refused; an operation below it waits until there is room, its items neither run nor counted as failed
 * (op_floor.c says why). This function is the one rule for all of them. [test_server_strict.py "free disk
 * floor", test_server_disk_wait.py] */
#include <sys/statvfs.h>

#include "http/server_internal.h"

int dvh_disk_room(dvh_server *s, uint64_t incoming, dvh_err *e)
{
    if (s->cfg.min_free_disk_off)
        return 0;
    struct statvfs v;
    if (fstatvfs(s->data_fd, &v) != 0) /* nothing to go by: the write goes ahead, as without a floor */
        return 0;
    uint64_t avail = (uint64_t)v.f_bavail * (uint64_t)v.f_frsize;
    uint64_t floor = s->cfg.min_free_disk;
    if (avail >= floor && avail - floor >= incoming)
        return 0;
    return dvh_fail(e, DVH_INSUFFICIENT_STORAGE,
                    "not enough free disk space: the server keeps %llu bytes free on its data file system "
                    "(--min-free-disk)", (unsigned long long)floor);
}
