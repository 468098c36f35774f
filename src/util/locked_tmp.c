/* Hidden temporary files whose writer holds a lock (dv_locked_tmp.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/dv_locked_tmp.h"

static int named_only;
static pthread_once_t named_only_once = PTHREAD_ONCE_INIT;

static void read_named_only(void)
{
    const char *force = getenv("DICOMVEIL_NO_O_TMPFILE");
    named_only = force && *force && strcmp(force, "0") != 0;
}

int dv_locked_tmp_named_only(void)
{
    pthread_once(&named_only_once, read_named_only);
    return named_only;
}

/* flock LOCK_EX (waiting: a new file's only contender is a reaper holding it for an unlink), EINTR retried. */
static int lock_ex(int fd)
{
    while (flock(fd, LOCK_EX) != 0)
        if (errno != EINTR)
            return -1;
    return 0;
}

int dv_locked_tmp_hold(int fd)
{
    return fd >= 0 ? lock_ex(fd) : -1;
}

int dv_locked_tmp_open(int dir_fd, const char *name, int excl, unsigned mode)
{
    /* Created, then locked: a reaper may open and lock the new file between the two and unlink it. It unlinks only
     * while it holds the lock, so once ours is granted the name either still is this file (ours from now on) or no
     * longer is (made again). Bounded: a reaper removes a name once. */
    for (int tries = 0; tries < 4; tries++) {
        int fd = openat(dir_fd, name, O_CREAT | O_RDWR | O_CLOEXEC | O_NOFOLLOW | (excl ? O_EXCL : 0), (mode_t)mode);
        if (fd < 0)
            return -1;
        struct stat mine, named;
        if (lock_ex(fd) != 0 || (fstat(fd, &mine) == 0 && fstatat(dir_fd, name, &named, AT_SYMLINK_NOFOLLOW) == 0 &&
                                 mine.st_dev == named.st_dev && mine.st_ino == named.st_ino)) {
            if (!excl && ftruncate(fd, 0) != 0) { /* a redo's name: its old bytes go */
                int e = errno;
                close(fd);
                errno = e;
                return -1;
            }
            return fd;
        }
        close(fd);
    }
    errno = EAGAIN;
    return -1;
}

/* Someone else's temporary file opened to ask for its lock: never following a link, never blocking on a FIFO. */
static int open_other(int dir_fd, const char *name)
{
    return openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
}

/* flock(fd, op | LOCK_NB), EINTR retried: 0 taken, else -1 with errno (EWOULDBLOCK: a writer holds it). */
static int try_lock(int fd, int op)
{
    int l;
    while ((l = flock(fd, op | LOCK_NB)) != 0 && errno == EINTR)
        ;
    return l;
}

dv_tmp_reap dv_locked_tmp_reap(int dir_fd, const char *name)
{
    int fd = open_other(dir_fd, name);
    if (fd < 0)
        return errno == ENOENT ? DV_TMP_GONE : DV_TMP_UNLOCKABLE;
    struct stat st;
    dv_tmp_reap r = DV_TMP_UNLOCKABLE;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        int l = try_lock(fd, LOCK_EX);
        struct stat named;
        if (l != 0)
            r = errno == EWOULDBLOCK ? DV_TMP_HELD : DV_TMP_UNLOCKABLE;
        else if (fstatat(dir_fd, name, &named, AT_SYMLINK_NOFOLLOW) != 0 || named.st_dev != st.st_dev ||
                 named.st_ino != st.st_ino)
            /* Another reaper removed the file we locked and the name is a new file's now, perhaps a live writer's
             * (which holds it locked, so until we let go of ours the name cannot change again): not ours to judge. */
            r = DV_TMP_GONE;
        else if (unlinkat(dir_fd, name, 0) == 0) /* unlinked while locked: see dv_locked_tmp_open */
            r = DV_TMP_REAPED;
        else
            r = errno == ENOENT ? DV_TMP_GONE : DV_TMP_FAILED;
    }
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

int dv_locked_tmp_held(int dir_fd, const char *name)
{
    int fd = open_other(dir_fd, name);
    if (fd < 0)
        return 0;
    int held = try_lock(fd, LOCK_SH) != 0 && errno == EWOULDBLOCK;
    close(fd); /* a shared lock taken here goes with it */
    return held;
}
