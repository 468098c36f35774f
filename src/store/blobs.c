/* Instance files (see dvs_blobs.h). */
#include "store/dvs_blobs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

struct dvs_blob_writer {
    int dir_fd;
    int fd;
    char tmpname[40]; /* "" on the O_TMPFILE path */
    EVP_MD_CTX *md;
    uint64_t size, max;
    /* Bytes not yet written to fd (write() per network chunk would be ~180 syscalls for a 0.5 MB instance);
     * while nothing has been flushed, buf holds the whole instance, which dvs_blob_bytes hands to the
     * reader instead of reading the file back. */
    unsigned char *buf;
    size_t blen, bcap;
    int flushed; /* some bytes left buf for fd before the end */
    int synced; /* dvs_blob_sync ran: commit has nothing left to flush */
    char hex[65];
};

static int store_dir(int data_fd, int64_t store_id, int create, dv_error *err)
{
    if (create && mkdirat(data_fd, "stores", 0700) != 0 && errno != EEXIST)
        return dv_fail(err, DV_ERR_IO, "store: cannot create the stores directory (errno %d)", errno);
    char name[48];
    snprintf(name, sizeof name, "stores/%lld", (long long)store_id);
    if (create && mkdirat(data_fd, name, 0700) != 0 && errno != EEXIST)
        return dv_fail(err, DV_ERR_IO, "store: cannot create a store directory (errno %d)", errno);
    int fd = openat(data_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return dv_fail(err, DV_ERR_IO, "store: cannot open a store directory (errno %d)", errno);
    return fd;
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
    w->md = EVP_MD_CTX_new();
    if (w->md == NULL || EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1) {
        dv_fail(err, DV_ERR_NOMEM, "store: blob hash");
        dvs_blob_abort(w);
        return NULL;
    }
    w->fd = openat(w->dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (w->fd < 0) {
        /* No O_TMPFILE here (some file systems): a hidden temporary name, removed on abort. */
        for (int tries = 0; tries < 16 && w->fd < 0; tries++) {
            unsigned char r[8];
            FILE *u = fopen("/dev/urandom", "rb");
            size_t got = u ? fread(r, 1, sizeof r, u) : 0;
            if (u)
                fclose(u);
            if (got != sizeof r)
                break;
            snprintf(w->tmpname, sizeof w->tmpname, ".tmp-%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2],
                     r[3], r[4], r[5], r[6], r[7]);
            w->fd = openat(w->dir_fd, w->tmpname, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
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
    EVP_DigestUpdate(w->md, data, len);
    w->size += len;
    /* A large chunk (the server reads bodies in up to 256 KiB, server.c CONNECTION_MEMORY) goes straight to
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
    /* dvs_blob_hash wrote every byte to the file already: only the copy goes */
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

int dvs_blob_hash(dvs_blob_writer *w, char hex[65], dv_error *err)
{
    /* The buffered tail goes to the file; buf keeps it (dvs_blob_bytes). */
    if (w->blen && write_all(w, w->buf, w->blen, err))
        return -1;
    unsigned char d[32];
    unsigned int dl = 0;
    EVP_DigestFinal_ex(w->md, d, &dl);
    for (unsigned i = 0; i < 32; i++)
        snprintf(w->hex + 2 * i, 3, "%02x", d[i]);
    memcpy(hex, w->hex, 65);
    return 0;
}

static void writer_free(dvs_blob_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    if (w->dir_fd >= 0)
        close(w->dir_fd);
    EVP_MD_CTX_free(w->md);
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

int dvs_store_dir_sync(int data_fd, int64_t store_id, dv_error *err)
{
    int fd = store_dir(data_fd, store_id, 0, err);
    if (fd < 0)
        return -1;
    int rc = fsync(fd) == 0 ? 0 : dv_fail(err, DV_ERR_IO, "store: directory fsync failed (errno %d)", errno);
    close(fd);
    return rc;
}

int dvs_blob_commit(dvs_blob_writer *w, dv_error *err)
{
    char name[80];
    snprintf(name, sizeof name, "%s.dcm", w->hex);
    int rc = 0;
    /* Durable before named: a name never points at bytes the disk has not got. */
    if (!w->synced && fsync(w->fd) != 0) {
        rc = dv_fail(err, DV_ERR_IO, "store: fsync failed (errno %d)", errno);
    } else if (w->tmpname[0] == '\0') {
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", w->fd);
        if (linkat(AT_FDCWD, proc, w->dir_fd, name, AT_SYMLINK_FOLLOW) != 0 && errno != EEXIST)
            rc = dv_fail(err, DV_ERR_IO, "store: cannot name the instance file (errno %d)", errno);
    } else {
        if (linkat(w->dir_fd, w->tmpname, w->dir_fd, name, 0) != 0 && errno != EEXIST)
            rc = dv_fail(err, DV_ERR_IO, "store: cannot name the instance file (errno %d)", errno);
        unlinkat(w->dir_fd, w->tmpname, 0);
    }
    writer_free(w);
    return rc;
}

void dvs_blob_abort(dvs_blob_writer *w)
{
    if (w == NULL)
        return;
    if (w->tmpname[0] && w->dir_fd >= 0)
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
