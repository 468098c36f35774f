/* Dataset keys and the naming key (see dvs_keys.h). Neither the key nor any byte of it is ever logged or returned. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/dvs_keys.h"

#define KEY_BYTES 32

static int read_key(int dir, const char *name, unsigned char *buf, size_t cap, size_t *len)
{
    int fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got < cap) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    *len = got;
    return 0;
}

static int create_key(int dir, const char *name, dv_error *err)
{
    unsigned char key[KEY_BYTES];
    size_t got = 0;
    while (got < sizeof key) {
        ssize_t n = getrandom(key + got, sizeof key - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return dv_fail(err, DV_ERR_IO, "key: no random bytes (errno %d)", errno);
        got += (size_t)n;
    }
    char tmp[64];
    int rc = -1;
    for (int attempt = 0; attempt < 100 && rc < 0; attempt++) {
        unsigned r;
        if (getrandom(&r, sizeof r, 0) != sizeof r)
            break;
        snprintf(tmp, sizeof tmp, ".key.tmp-%08x", r);
        int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            if (errno == EEXIST)
                continue;
            break;
        }
        int ok = write(fd, key, sizeof key) == (ssize_t)sizeof key && fsync(fd) == 0;
        ok = close(fd) == 0 && ok;
        if (ok && (linkat(dir, tmp, dir, name, 0) == 0 || errno == EEXIST))
            rc = 0; /* ours, or a concurrent first use won and its key is the one */
        unlinkat(dir, tmp, 0);
        if (!ok)
            break;
        if (rc == 0)
            fsync(dir);
        break;
    }
    explicit_bzero(key, sizeof key);
    return rc == 0 ? 0 : dv_fail(err, DV_ERR_IO, "key: cannot create the key file");
}

/* The key in DATA/keys/<name>, created when missing (both the dataset keys and the naming key). */
static dv_key *load_key(int data_fd, const char *name, dv_error *err)
{
    if (mkdirat(data_fd, "keys", 0700) != 0 && errno != EEXIST) {
        dv_fail(err, DV_ERR_IO, "key: cannot create DATA/keys (errno %d)", errno);
        return NULL;
    }
    int dir = openat(data_fd, "keys", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (dir < 0) {
        dv_fail(err, DV_ERR_IO, "key: cannot open DATA/keys (errno %d)", errno);
        return NULL;
    }
    unsigned char buf[DV_KEY_MAX_BYTES + 1];
    size_t len = 0;
    dv_key *key = NULL;
    if (read_key(dir, name, buf, sizeof buf, &len) != 0) {
        if (errno != ENOENT || create_key(dir, name, err) != 0 || read_key(dir, name, buf, sizeof buf, &len) != 0) {
            if (err->code == DV_OK)
                dv_fail(err, DV_ERR_IO, "key: cannot read the key file");
            goto out;
        }
    }
    if (len < DV_KEY_MIN_BYTES || len > DV_KEY_MAX_BYTES)
        dv_fail(err, DV_ERR_IO, "key: the key file holds %zu bytes (%d-%d expected)", len, DV_KEY_MIN_BYTES,
                DV_KEY_MAX_BYTES);
    else
        key = dv_key_new(buf, len, err);
out:
    explicit_bzero(buf, sizeof buf);
    close(dir);
    return key;
}

dv_key *dvs_dataset_key(int data_fd, int64_t dataset_id, dv_error *err)
{
    char name[32];
    snprintf(name, sizeof name, "%lld.key", (long long)dataset_id);
    return load_key(data_fd, name, err);
}

dv_key *dvs_naming_key(int data_fd, dv_error *err)
{
    return load_key(data_fd, "naming.key", err);
}

void dvs_dataset_key_remove(int data_fd, int64_t dataset_id)
{
    char name[48];
    snprintf(name, sizeof name, "keys/%lld.key", (long long)dataset_id);
    unlinkat(data_fd, name, 0);
}
