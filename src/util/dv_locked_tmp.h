/* Hidden temporary files whose writer holds a lock, the one home of that rule (stop 53's red team, findings 03
 * and 04a; stop 54). A writer holds flock LOCK_EX on its temporary file from creation until the file is linked,
 * renamed or removed (until its last descriptor closes, however the process ends), so a temporary file whose lock
 * can be taken has no live writer, in this process or any other sharing the folder, and is a leftover of a kill:
 * the CLI's `.dvtmp-*` outputs in DST, the server's `.tmp-*` puts in DATA and an operation's item copies. */
#ifndef DV_LOCKED_TMP_H
#define DV_LOCKED_TMP_H

/* DICOMVEIL_NO_O_TMPFILE set (not "0"): the hidden-name path taken on any file system, so tests exercise what
 * NFS gives (the CLI's outputs, the server's puts). Read once. */
int dv_locked_tmp_named_only(void);

/* Create dir_fd/name (excl: O_EXCL; else an existing file is truncated: a redone item's name) read-write with
 * mode, locked: the descriptor, or -1 with errno. Where the file system has no flock it is returned unlocked (and
 * then never reaped). */
int dv_locked_tmp_open(int dir_fd, const char *name, int excl, unsigned mode);

/* Lock an unnamed file (O_TMPFILE) before it gets a temporary name, so no reaper ever finds that name unheld.
 * 0, or -1 (no flock here). */
int dv_locked_tmp_hold(int fd);

typedef enum {
    DV_TMP_REAPED,     /* no writer held it: unlinked (under its lock) */
    DV_TMP_HELD,       /* a live writer holds it */
    DV_TMP_GONE,       /* no longer there (its writer linked or removed it) */
    DV_TMP_UNLOCKABLE, /* not a regular file, not readable, or no flock on this file system: who holds it is unknown */
    DV_TMP_FAILED      /* unheld, but unlinking it failed (errno) */
} dv_tmp_reap;

/* 1 when a live writer holds dir_fd/name's lock, else 0 (unheld, gone, or no flock here). Nothing is removed. */
int dv_locked_tmp_held(int dir_fd, const char *name);

/* Remove dir_fd/name when no writer holds it. */
dv_tmp_reap dv_locked_tmp_reap(int dir_fd, const char *name);

#endif
