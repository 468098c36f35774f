/* Instance files (see dvs_blobs.h). */
#include "store/dvs_blobs.h"
#include "util/dv_locked_tmp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/dv_plan.h"

struct dvs_blob_writer {
    int dir_fd;
    int fd;
    char tmpname[40]; /* "" on the O_TMPFILE path, and once linked */
    uint64_t size, max;
    /* Bytes not yet written to fd (write() per network chunk would be ~180 syscalls for a 0.5 MB instance);
     * while nothing has been flushed, buf holds the whole instance, which dvs_blob_bytes hands to the
     * reader instead of reading the file back. */
    unsigned char *buf;
    size_t blen, bcap;
    int flushed; /* some bytes left buf for fd before the end */
    int synced; /* dvs_blob_sync ran: link has nothing left to flush */
    int defer_sync; /* dvs_blob_defer_sync: link does not fsync, the caller syncs before a row names it */
    int linked; /* the bytes have their name: abort only frees */
};

static int store_dir(int data_fd, int64_t store_id, int create, dv_error *err)
{
    char name[48];
    snprintf(name, sizeof name, "stores/%lld", (long long)store_id);
    /* Opened first, created only when missing: every instance written opens its store's directory, and two
     * mkdirat that fail with EEXIST per instance were a third of its path lookups (bench/RESULTS.md
     * "Operation pipeline, second pass"). */
    int fd = openat(data_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 && create && errno == ENOENT) {
        if (mkdirat(data_fd, "stores", 0700) != 0 && errno != EEXIST)
            return dv_fail(err, DV_ERR_IO, "store: cannot create the stores directory (errno %d)", errno);
        if (mkdirat(data_fd, name, 0700) != 0 && errno != EEXIST)
            return dv_fail(err, DV_ERR_IO, "store: cannot create a store directory (errno %d)", errno);
        fd = openat(data_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    if (fd < 0)
        return dv_fail(err, DV_ERR_IO, "store: cannot open a store directory (errno %d)", errno);
    return fd;
}

/* A hidden temporary name ".tmp-<16 random hex>" (dvs_store_dir_remove removes any leftover). 0 or -1. */
static int tmp_name(char *name, size_t cap)
{
    unsigned char r[8];
    if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
        return -1;
    snprintf(name, cap, ".tmp-%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
    return 0;
}

int dvs_blob_tmp_name_is(const char *name)
{
    return strlen(name) == 21 && strncmp(name, ".tmp-", 5) == 0 && strspn(name + 5, "0123456789abcdef") == 16;
}

dvs_blob_writer *dvs_blob_begin(int data_fd, int64_t store_id, uint64_t max, dv_error *err)
{
    dvs_blob_writer *w = calloc(1, sizeof *w);
    if (w == NULL) {
        dv_fail(err, DV_ERR_NOMEM, "store: blob");
        return NULL;
    }
    w->fd = -1;
    w->max = max;
    w->dir_fd = store_dir(data_fd, store_id, 1, err);
    if (w->dir_fd < 0) {
        free(w);
        return NULL;
    }
    w->fd = dv_locked_tmp_named_only() ? -1 : openat(w->dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (w->fd < 0) {
        /* No O_TMPFILE here (some file systems): a hidden temporary name, removed on abort, locked while w lives
         * (dv_locked_tmp_open), so a kill's leftover is told from a live put's by the lock alone. */
        for (int tries = 0; tries < 16 && w->fd < 0; tries++) {
            if (tmp_name(w->tmpname, sizeof w->tmpname) != 0)
                break;
            w->fd = dv_locked_tmp_open(w->dir_fd, w->tmpname, 1, 0600);
        }
        if (w->fd < 0) {
            w->tmpname[0] = '\0';
            dv_fail(err, DV_ERR_IO, "store: cannot create a temporary file (errno %d)", errno);
            dvs_blob_abort(w);
            return NULL;
        }
    }
    return w;
}

#define BUF_FIRST (64u << 10)
#define BUF_MAX (1u << 20) /* instances up to this size are written with one write() and parsed from memory */

static int write_all(dvs_blob_writer *w, const unsigned char *p, size_t left, dv_error *err)
{
    while (left) {
        ssize_t k = write(w->fd, p, left);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return dv_fail(err, DV_ERR_IO, "store: write failed (errno %d)", errno);
        }
        p += k;
        left -= (size_t)k;
    }
    return 0;
}

static int flush(dvs_blob_writer *w, dv_error *err)
{
    if (w->blen == 0)
        return 0;
    int rc = write_all(w, w->buf, w->blen, err);
    w->blen = 0;
    return rc;
}

int dvs_blob_write(dvs_blob_writer *w, const void *data, size_t len, dv_error *err)
{
    if (len > w->max - w->size)
        return dv_fail(err, DV_ERR_LIMIT, "store: instance over the %llu-byte limit", (unsigned long long)w->max);
    w->size += len;
    /* A large chunk (the server reads bodies in up to 1 MiB, server.c CONNECTION_MEMORY) goes straight to
     * the file: copying it into buf costs more than the one write() it saves, and the parse then reads the
     * header region back from the page cache (store_put.c). [test_store: test_blob_large_chunks] */
    if (len >= BUF_FIRST) {
        w->flushed = 1;
        return flush(w, err) ? -1 : write_all(w, data, len, err);
    }
    if (w->blen + len > w->bcap && w->bcap < BUF_MAX && !w->flushed) {
        size_t cap = w->bcap ? w->bcap : BUF_FIRST;
        while (cap < w->blen + len && cap < BUF_MAX)
            cap *= 2;
        unsigned char *nb = realloc(w->buf, cap);
        if (nb) {
            w->buf = nb;
            w->bcap = cap;
        }
    }
    if (w->blen + len <= w->bcap) {
        memcpy(w->buf + w->blen, data, len);
        w->blen += len;
        return 0;
    }
    w->flushed = 1;
    if (flush(w, err))
        return -1;
    if (len >= w->bcap)
        return write_all(w, data, len, err);
    memcpy(w->buf, data, len);
    w->blen = len;
    return 0;
}

void dvs_blob_release(dvs_blob_writer *w)
{
    /* dvs_blob_finish wrote every byte to the file already: only the copy goes */
    free(w->buf);
    w->buf = NULL;
    w->blen = w->bcap = 0;
    w->flushed = 1;
}

const void *dvs_blob_bytes(const dvs_blob_writer *w)
{
    return !w->flushed && w->size == w->blen && w->size ? w->buf : NULL;
}

uint64_t dvs_blob_size(const dvs_blob_writer *w)
{
    return w->size;
}

int dvs_blob_fd(const dvs_blob_writer *w)
{
    return w->fd;
}

int dvs_blob_finish(dvs_blob_writer *w, dv_error *err)
{
    /* The buffered tail goes to the file; buf keeps it (dvs_blob_bytes). */
    return w->blen && write_all(w, w->buf, w->blen, err) ? -1 : 0;
}

int dvs_blob_name(const dv_key *naming, int64_t store_id, const char *sop_uid, char hex[65])
{
    /* "<store id>/<SOPInstanceUID>": a decimal and digits-and-dots, so the '/' cannot be ambiguous. */
    char msg[96];
    int n = snprintf(msg, sizeof msg, "%lld/%s", (long long)store_id, sop_uid);
    unsigned char md[32];
    if (n < 0 || (size_t)n >= sizeof msg || dv_key_hmac(naming, msg, (size_t)n, md) != 0)
        return -1;
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return 0;
}

static void writer_free(dvs_blob_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    if (w->dir_fd >= 0)
        close(w->dir_fd);
    free(w->buf);
    free(w);
}

int dvs_blob_sync(dvs_blob_writer *w, dv_error *err)
{
    if (w->synced) /* durable already (dvs_blob_sync_many) */
        return 0;
    if (fsync(w->fd) != 0)
        return dv_fail(err, DV_ERR_IO, "store: fsync failed (errno %d)", errno);
    w->synced = 1;
    return 0;
}

int dvs_blob_sync_many(dvs_blob_writer *const *w, size_t n)
{
    if (n == 0)
        return 0;
    /* One syncfs writes every file's data and inode in one pass; an fsync per file costs one synchronous
     * inode write each (bench/RESULTS.md "De-identify operation": ~1 ms against 4-9 ms per 0.5 MB file
     * here). Since Linux 5.8 syncfs reports a writeback error of the file system. */
    if (syncfs(w[0]->fd) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        w[i]->synced = 1;
    return 0;
}

void dvs_blob_defer_sync(dvs_blob_writer *w)
{
    w->defer_sync = 1;
}

int dvs_blob_synced(const dvs_blob_writer *w)
{
    return w->synced;
}

int dvs_store_dir_sync(int data_fd, int64_t store_id, dv_error *err)
{
    int fd = store_dir(data_fd, store_id, 0, err);
    if (fd < 0)
        return -1;
    int rc = fsync(fd) == 0 ? 0 : dv_fail(err, DV_ERR_IO, "store: directory fsync failed (errno %d)", errno);
    close(fd);
    return rc;
}

/* Link the file to name, or (replace) to a fresh temporary name renamed over name: rename replaces the
 * directory entry atomically, so a reader sees the old file or the new one, never a mix or a hole. */
static int link_as(dvs_blob_writer *w, const char *name, int replace)
{
    char tmp[40];
    const char *to = name;
    if (replace && w->tmpname[0]) { /* the hidden name it already has is the temporary name */
        if (renameat(w->dir_fd, w->tmpname, w->dir_fd, name) != 0)
            return -1;
        w->tmpname[0] = '\0';
        return 0;
    }
    if (replace) {
        /* The unnamed file gets a hidden name until the rename: locked first (nobody else can hold a lock on an
         * unnamed file, so at once), so a kill between the two leaves a name the start's sweep may remove. */
        if (tmp_name(tmp, sizeof tmp) != 0)
            return -1;
        if (w->tmpname[0] == '\0')
            (void)dv_locked_tmp_hold(w->fd); /* no flock here: the name stays unsweepable, as before */
        to = tmp;
    }
    int rc;
    if (w->tmpname[0] == '\0') {
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", w->fd);
        rc = linkat(AT_FDCWD, proc, w->dir_fd, to, AT_SYMLINK_FOLLOW);
    } else {
        rc = linkat(w->dir_fd, w->tmpname, w->dir_fd, to, 0);
    }
    if (rc == 0 && replace && renameat(w->dir_fd, to, w->dir_fd, name) != 0) {
        int e = errno;
        unlinkat(w->dir_fd, to, 0);
        errno = e;
        return -1;
    }
    return rc;
}

int dvs_blob_link(dvs_blob_writer *w, const char *hex, int replace, dv_error *err)
{
    if (w->linked)
        return dv_fail(err, DV_ERR_USAGE, "store: the instance file is named already");
    char name[80];
    snprintf(name, sizeof name, "%s.dcm", hex);
    /* Durable before named: a name never points at bytes the disk has not got (unless the caller deferred
     * that: dvs_blob_defer_sync). */
    if (!w->synced && !w->defer_sync) {
        if (fsync(w->fd) != 0)
            return dv_fail(err, DV_ERR_IO, "store: fsync failed (errno %d)", errno);
        w->synced = 1;
    }
    if (link_as(w, name, replace) != 0) {
        if (errno == EEXIST && !replace)
            return DVS_BLOB_TAKEN;
        return dv_fail(err, DV_ERR_IO, "store: cannot name the instance file (errno %d)", errno);
    }
    if (w->tmpname[0]) { /* linked beside its hidden name: that one goes */
        unlinkat(w->dir_fd, w->tmpname, 0);
        w->tmpname[0] = '\0';
    }
    w->linked = 1;
    return 0;
}

int dvs_blob_same(const dvs_blob_writer *w, const char *hex)
{
    char name[80];
    snprintf(name, sizeof name, "%s.dcm", hex);
    int fd = openat(w->dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0)
        return 0;
    int same = fstat(fd, &st) == 0 && (uint64_t)st.st_size == w->size;
    enum { CHUNK = 64 << 10 };
    unsigned char *a = same ? malloc(2 * CHUNK) : NULL;
    same = same && a != NULL;
    for (uint64_t off = 0; same && off < w->size;) {
        size_t want = w->size - off < CHUNK ? (size_t)(w->size - off) : CHUNK;
        ssize_t x = pread(fd, a, want, (off_t)off), y = pread(w->fd, a + CHUNK, want, (off_t)off);
        same = x == (ssize_t)want && y == (ssize_t)want && memcmp(a, a + CHUNK, want) == 0;
        off += want;
    }
    free(a);
    close(fd);
    return same;
}

int dvs_blob_claims_open(int data_fd, dv_error *err)
{
    int fd = openat(data_fd, "names.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return dv_fail(err, DV_ERR_IO, "store: cannot open DATA/names.lock (errno %d)", errno);
    return fd;
}

int dvs_blob_claim(int claims_fd, const char *hex, dv_error *err)
{
    /* One byte of names.lock per name (its first 60 bits as the offset): an open file description's lock
     * (OFD), so two threads of one process exclude each other as two processes do, and it goes when the
     * descriptor is closed or its process dies (a crash leaves no stale claim). Two names on one byte only
     * wait for each other. */
    uint64_t off = 0;
    for (int i = 0; i < 15; i++) {
        char c = hex[i];
        off = off << 4 | (uint64_t)(c >= 'a' ? c - 'a' + 10 : c - '0');
    }
    struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = (off_t)off, .l_len = 1};
    while (fcntl(claims_fd, F_OFD_SETLKW, &l) != 0)
        if (errno != EINTR)
            return dv_fail(err, DV_ERR_IO, "store: cannot claim an instance name (errno %d)", errno);
    return 0;
}

void dvs_blob_abort(dvs_blob_writer *w)
{
    if (w == NULL)
        return;
    if (w->tmpname[0] && w->dir_fd >= 0) /* never named: its hidden name goes (O_TMPFILE: nothing to do) */
        unlinkat(w->dir_fd, w->tmpname, 0);
    writer_free(w);
}

static int hex_ok(const char *hex)
{
    return strlen(hex) == 64 && strspn(hex, "0123456789abcdef") == 64;
}

int dvs_blob_open(int data_fd, int64_t store_id, const char *hex, dv_error *err)
{
    if (!hex_ok(hex))
        return dv_fail(err, DV_ERR_USAGE, "store: malformed blob name");
    char name[128];
    snprintf(name, sizeof name, "stores/%lld/%s.dcm", (long long)store_id, hex);
    int fd = openat(data_fd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return dv_fail(err, DV_ERR_IO, "store: instance file missing (errno %d)", errno);
    return fd;
}

int dvs_blob_remove(int data_fd, int64_t store_id, const char *hex)
{
    if (!hex_ok(hex))
        return -1;
    char name[128];
    snprintf(name, sizeof name, "stores/%lld/%s.dcm", (long long)store_id, hex);
    return unlinkat(data_fd, name, 0);
}

int dvs_store_dir_remove(int data_fd, int64_t store_id)
{
    int fd = store_dir(data_fd, store_id, 0, NULL);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return -1;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        unlinkat(dirfd(d), de->d_name, 0);
    }
    closedir(d);
    char name[48];
    snprintf(name, sizeof name, "stores/%lld", (long long)store_id);
    return unlinkat(data_fd, name, AT_REMOVEDIR);
}

int dvs_store_dir_remove_if_empty(int data_fd, int64_t store_id)
{
    char name[48];
    snprintf(name, sizeof name, "stores/%lld", (long long)store_id);
    return unlinkat(data_fd, name, AT_REMOVEDIR);
}
