/* Side files (report, journal, mapping, previews, rendered pictures) replaced atomically: dvc_file_replace.
 *
 * The bytes go to an unnamed O_TMPFILE file in the target's directory, are fsync'ed, and only then get a
 * temporary name ("<name>.tmp-XXXXXX", linked through /proc/self/fd) that is renamed over the target at once.
 * A process killed while writing (SIGKILL: no handler runs) so leaves nothing behind; before, the named temp
 * file it was writing stayed, mode 0600 but holding what the file holds (a report names source paths, a
 * mapping original UIDs). Where O_TMPFILE or /proc is missing, the temp file is named from the start
 * (mkostemp) as before. Leftovers of such earlier runs, and of a kill in the instant between link and rename,
 * are removed the next time the file is written: regular files of ours, mode 0600, named exactly
 * "<name>.tmp-" and six characters. [test_cli_run.sh "stale report temp files removed"]
 *
 * What is there decides how (dvc_side_path_kind): nothing or a regular file is replaced as above, a symbolic
 * link to a regular file has that file replaced, a character device or FIFO is written in place, and anything
 * else is refused. [test_cli_run.sh "side files onto special files"] */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define TMP_SUFFIX ".tmp-"
#define TMP_RANDOM 6 /* mkostemp's XXXXXX */

/* The directory part of path (malloc'd; "." for a bare name) and its last component. */
static char *dir_of(const char *path, const char **base)
{
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    if (slash == NULL)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static void sweep_stale(const char *dir, const char *base)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    size_t bl = strlen(base), sl = strlen(TMP_SUFFIX);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        if (strncmp(n, base, bl) != 0 || strncmp(n + bl, TMP_SUFFIX, sl) != 0 || strlen(n + bl + sl) != TMP_RANDOM)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
            (st.st_mode & 07777) == 0600)
            unlinkat(dirfd(d), n, 0);
    }
    closedir(d);
}

/* Write, sync and close fd; 0 or the errno of the step that failed (*step names it). */
static int write_sync_close(int fd, const char *text, size_t len, const char **step)
{
    int e = 0;
    if (dvc_write_all(fd, text, len) < 0)
        *step = "writing", e = errno;
    else if (fsync(fd) < 0)
        *step = "syncing", e = errno;
    if (close(fd) < 0 && !e)
        *step = "closing", e = errno;
    return e;
}

/* The O_TMPFILE path: 0 done, 1 not available here (nothing written under any name), else an errno. */
static int replace_unnamed(const char *dir, const char *path, const char *text, size_t len, const char **step)
{
    int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0)
        return 1;
    char proc[40];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (access(proc, F_OK) != 0) { /* no /proc: it could never be linked */
        close(fd);
        return 1;
    }
    int e = write_sync_close(dup(fd), text, len, step); /* the dup is closed; fd stays open for the link */
    size_t plen = strlen(path);
    char *tmp = malloc(plen + sizeof TMP_SUFFIX + TMP_RANDOM);
    if (!e && tmp == NULL)
        *step = "naming", e = ENOMEM;
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (int tries = 0; !e; tries++) {
        unsigned char r[TMP_RANDOM];
        if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
            *step = "naming", e = errno ? errno : EIO;
            break;
        }
        memcpy(tmp, path, plen);
        memcpy(tmp + plen, TMP_SUFFIX, sizeof TMP_SUFFIX - 1);
        for (int i = 0; i < TMP_RANDOM; i++)
            tmp[plen + sizeof TMP_SUFFIX - 1 + i] = alphabet[r[i] % (sizeof alphabet - 1)];
        tmp[plen + sizeof TMP_SUFFIX - 1 + TMP_RANDOM] = '\0';
        if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0) {
            if (rename(tmp, path) < 0) {
                *step = "renaming", e = errno;
                unlink(tmp);
            }
            break;
        }
        if (errno != EEXIST || tries == 16)
            *step = "naming", e = errno;
    }
    close(fd);
    free(tmp);
    return e;
}

/* A character device or FIFO (/dev/null, /dev/stdout on a terminal or a pipe, `>(jq .)`, a named pipe) has no
 * contents a rename could replace: it is written in place. Renaming over it put a regular file where /dev/null
 * was, for every process on the machine when run as root (stop 38's red team). O_NONBLOCK only for the open: a
 * FIFO nobody reads fails at once (ENXIO) instead of hanging the run's end. */
static int write_in_place(const char *path, const char *text, size_t len, const char *what)
{
    int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    int flags = fd < 0 ? -1 : fcntl(fd, F_GETFL);
    const char *step = "opening";
    int e = fd < 0 || flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0 ? errno : 0;
    if (!e && dvc_write_all(fd, text, len) < 0)
        step = "writing", e = errno;
    if (fd >= 0 && close(fd) < 0 && !e)
        step = "closing", e = errno;
    if (e)
        dvc_errorf("%s: %s failed: %s", what, step, e == ENXIO ? "no process reads the FIFO" : strerror(e));
    return e ? -1 : 0;
}

int dvc_side_path_kind(const char *path)
{
    /* The name itself first, then (a link only) what it points to: a file another process creates between the two
     * looks is then new or regular, never "a symbolic link to nothing" (stat first, then lstat, read a REPORT.lock
     * that rank 0 created in between as one: an --mpi run refused itself once in CI). */
    struct stat st, lst;
    if (lstat(path, &lst) != 0)
        return DVC_SIDE_NEW;
    if (!S_ISLNK(lst.st_mode))
        st = lst;
    else if (stat(path, &st) != 0)
        return errno == ENOENT ? DVC_SIDE_DANGLING : DVC_SIDE_NEW;
    if (S_ISREG(st.st_mode))
        return S_ISLNK(lst.st_mode) ? DVC_SIDE_LINKED : DVC_SIDE_REGULAR;
    if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))
        return DVC_SIDE_STREAM;
    return S_ISDIR(st.st_mode) ? DVC_SIDE_DIRECTORY : DVC_SIDE_OTHER;
}

const char *dvc_side_path_refusal(int kind)
{
    switch (kind) {
    case DVC_SIDE_DANGLING: return "is a symbolic link to nothing";
    case DVC_SIDE_DIRECTORY: return "is a directory";
    case DVC_SIDE_OTHER: return "is not a regular file, a character device or a FIFO";
    default: return NULL;
    }
}

static int replace_at(const char *path, const char *text, size_t len, const char *what);

int dvc_file_replace(const char *path, const char *text, size_t len, const char *what)
{
    int kind = dvc_side_path_kind(path);
    const char *refusal = dvc_side_path_refusal(kind);
    if (refusal) {
        dvc_errorf("%s: %s", what, refusal);
        return -1;
    }
    if (kind == DVC_SIDE_STREAM)
        return write_in_place(path, text, len, what);
    if (kind != DVC_SIDE_LINKED)
        return replace_at(path, text, len, what);
    /* A link to a regular file: the file it names is replaced and the link stays (a rename over the link
     * replaced the link itself: /dev/stdout redirected to a file was turned into a regular file in /dev). */
    char *real = realpath(path, NULL);
    if (!real) {
        dvc_errorf("%s: resolving its symbolic link failed: %s", what, strerror(errno));
        return -1;
    }
    int rc = replace_at(real, text, len, what);
    free(real);
    return rc;
}

/* The atomic replacement of path, a regular file or none yet. */
static int replace_at(const char *path, const char *text, size_t len, const char *what)
{
    const char *base;
    char *dir = dir_of(path, &base);
    if (dir == NULL) {
        dvc_errorf("%s: out of memory", what);
        return -1;
    }
    sweep_stale(dir, base);
    const char *step = "creating the temp file";
    int e = replace_unnamed(dir, path, text, len, &step);
    free(dir);
    if (e == 1) { /* no O_TMPFILE (or no /proc) here: a named temp file, mkostemp makes it 0600 */
        size_t plen = strlen(path);
        char *tmp = malloc(plen + 16);
        if (!tmp) {
            dvc_errorf("%s: out of memory", what);
            return -1;
        }
        snprintf(tmp, plen + 16, "%s" TMP_SUFFIX "XXXXXX", path);
        int fd = mkostemp(tmp, O_CLOEXEC);
        step = "creating the temp file";
        e = fd < 0 ? errno : write_sync_close(fd, text, len, &step);
        if (!e && rename(tmp, path) < 0)
            step = "renaming", e = errno;
        if (e && fd >= 0)
            unlink(tmp);
        free(tmp);
    }
    if (e)
        dvc_errorf("%s: %s failed: %s", what, step, strerror(e));
    return e ? -1 : 0;
}
