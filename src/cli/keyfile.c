/* The secret key (DECISIONS.md item 7): today it drives UID regeneration (the date shifts and hashes DECISIONS
 * 7 also gives it do not exist yet), so the same key must give the same outputs run after run, and it must never
 * leak.
 *
 * --key-file F: the file's raw bytes are the key (>= DV_KEY_MIN_BYTES), so `head -c 32 /dev/urandom` and
 * `openssl rand -base64 32` both make one. Without it: $XDG_CONFIG_HOME/dicomveil/key (default
 * ~/.config/dicomveil/key), created on first use from getrandom() and reused ever after. Creation is
 * atomic: the bytes go to an O_EXCL temp file (0600) that is then link()ed to the final name; link never
 * replaces, so two first runs racing each other end up using the same key (the loser reads the winner's).
 * A key inside DST is refused: it must never travel with the de-identified output.
 * Neither the key nor any byte of it is ever printed; its path is not PHI and may be. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define DEFAULT_KEY_BYTES 32

/* Read at most DV_KEY_MAX_BYTES + 1 bytes (to detect an oversized file) from path. Any readable file works,
 * including a pipe such as <(cmd). Returns the length, or -1 after printing why. */
static long read_key(const char *path, unsigned char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        dvc_errorf("key file %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077))
        dvc_errorf("warning: key file %s is readable by other users (chmod 600 it)", path);
    long len = dvc_read_up_to(fd, buf, cap);
    if (len < 0)
        dvc_errorf("key file %s: %s", path, strerror(errno));
    close(fd);
    return len;
}

static dv_key *key_from_file(const char *path)
{
    unsigned char buf[DV_KEY_MAX_BYTES + 1];
    long len = read_key(path, buf, sizeof buf);
    if (len < 0)
        return NULL;
    dv_key *key = NULL;
    if (len < DV_KEY_MIN_BYTES) {
        dvc_errorf("key file %s has %ld bytes; a key needs at least %d (e.g. head -c 32 /dev/urandom > FILE)",
                   path, len, DV_KEY_MIN_BYTES);
    } else if (len > DV_KEY_MAX_BYTES) {
        dvc_errorf("key file %s is longer than %d bytes", path, DV_KEY_MAX_BYTES);
    } else {
        dv_error err;
        dv_error_clear(&err);
        key = dv_key_new(buf, (size_t)len, &err);
        if (!key)
            dvc_errorf("key file %s: %s", path, err.message);
    }
    explicit_bzero(buf, sizeof buf);
    return key;
}

/* $XDG_CONFIG_HOME/dicomveil (only an absolute XDG_CONFIG_HOME counts, per the XDG spec), else
 * $HOME/.config/dicomveil, else the passwd entry's home. */
static char *default_key_dir(void)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    if (xdg && xdg[0] == '/')
        return dvc_path_join(xdg, "dicomveil");
    const char *home = getenv("HOME");
    if (!home || home[0] != '/') {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : NULL;
    }
    if (!home || home[0] != '/')
        return NULL;
    char *cfg = dvc_path_join(home, ".config");
    char *dir = cfg ? dvc_path_join(cfg, "dicomveil") : NULL;
    free(cfg);
    return dir;
}

/* Create the key once; 0 when the key file exists afterwards (ours or a concurrent run's). */
static int create_default_key(const char *dir, const char *path)
{
    if (dvc_mkdir_p(dir, 0700) < 0) {
        dvc_errorf("cannot create the key directory %s: %s", dir, strerror(errno));
        return -1;
    }
    unsigned char key[DEFAULT_KEY_BYTES];
    size_t got = 0;
    while (got < sizeof key) {
        ssize_t n = getrandom(key + got, sizeof key - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            dvc_errorf("getrandom failed: %s", strerror(errno));
            return -1;
        }
        got += (size_t)n;
    }
    char *tmp = dvc_path_join(dir, ".key.tmp-XXXXXX");
    if (!tmp) {
        explicit_bzero(key, sizeof key);
        dvc_errorf("out of memory");
        return -1;
    }
    int rc = -1;
    int fd = mkostemp(tmp, O_CLOEXEC); /* O_EXCL, mode 0600 */
    if (fd < 0) {
        dvc_errorf("cannot create a key file in %s: %s", dir, strerror(errno));
    } else {
        ssize_t n = write(fd, key, sizeof key);
        int ok = n == (ssize_t)sizeof key && fchmod(fd, 0600) == 0 && fsync(fd) == 0;
        int e = errno;
        if (close(fd) < 0)
            ok = 0;
        if (!ok) {
            dvc_errorf("cannot write the key file in %s: %s", dir, strerror(e));
        } else if (link(tmp, path) == 0 || errno == EEXIST) {
            rc = 0; /* ours, or a concurrent first run won and we use its key */
        } else {
            dvc_errorf("cannot create the key file %s: %s", path, strerror(errno));
        }
        unlink(tmp);
    }
    explicit_bzero(key, sizeof key);
    free(tmp);
    return rc;
}

/* The key's path: key_file, else the default key's; *dir (when asked) receives the default key's directory
 * (NULL with key_file). malloc'd; NULL with errno (ENOENT: no home directory for the default key). */
static char *key_path(const char *key_file, char **dir)
{
    if (key_file)
        return strdup(key_file);
    char *d = default_key_dir();
    char *path = d ? dvc_path_join(d, "key") : NULL;
    if (!d)
        errno = ENOENT;
    else if (!path)
        errno = ENOMEM;
    if (dir && path)
        *dir = d;
    else
        free(d);
    return path;
}

char *dvc_key_path(const char *key_file)
{
    return key_path(key_file, NULL);
}

dv_key *dvc_key_load(const char *key_file, const char *dst_resolved)
{
    char *dir = NULL;
    char *path = key_path(key_file, &dir);
    if (!path && errno == ENOENT) {
        dvc_errorf("no home directory for the default key; pass --key-file or set XDG_CONFIG_HOME");
        return NULL;
    }
    dv_key *key = NULL;
    char *resolved = path ? dvc_path_resolve(path) : NULL;
    if (!path) {
        dvc_errorf("out of memory");
    } else if (!resolved) {
        dvc_errorf("key file %s: %s", path, strerror(errno));
    } else if (dst_resolved && dvc_path_within(resolved, dst_resolved)) {
        dvc_errorf("refusing key file %s: it is inside the destination, and a key must never be stored with "
                   "de-identified output", path);
    } else if (key_file) {
        key = key_from_file(path);
    } else {
        struct stat st;
        int exists = stat(path, &st) == 0;
        if (!exists && errno != ENOENT)
            dvc_errorf("key file %s: %s", path, strerror(errno));
        else if (exists || create_default_key(dir, path) == 0)
            key = key_from_file(path);
    }
    free(resolved);
    free(path);
    free(dir);
    return key;
}
