/* The engine does no I/O of its own (dv_io.h): this file gives it a source over an input file and a sink
 * over an output file.
 *
 * The source only ever preads from a descriptor opened O_RDONLY, so an input can never be modified, and
 * dvc_open_input asks for O_NOATIME, so reading it does not change its access time either (where the kernel
 * lets us: the caller owns the file or has CAP_FOWNER). An archive's atimes then still say when a person last
 * read a file (docs/decisions.md "Inputs are read without touching their access time").
 * The sink buffers small writes (the writer emits many small elements) in a worker-owned buffer
 * (DVC_SINK_BUFFER), and copies bulk values (pixel data, which the reader leaves in the source) by pread into
 * that buffer and write, so every write but the file's last is the buffer's whole length at a multiple of it.
 * copy_file_range is used only where the output's file system copies on the server (dvc_fs_offloads_copy):
 * on local file systems the kernel copies an unaligned range (the header before the pixel data never has
 * the source's length) in pipe-sized pieces that straddle page-cache folios, and that costs more CPU than
 * the two copies through the buffer: ext4 0.185 -> 0.148 s, XFS 0.168 -> 0.129 s, btrfs 0.508 -> 0.328 s,
 * tmpfs 0.197 -> 0.192 s for 1000 CT instances (bench/RESULTS.md "Pixel data through the buffer"). Where
 * copy_file_range is asked and refused (EXDEV, ENOSYS, EINVAL, EOPNOTSUPP) the copy continues through the
 * buffer. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/vfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cli.h"

/* Below this size a bulk copy goes through the buffer: a flush plus a syscall would cost more. */
#define DVC_COPY_RANGE_MIN (64u * 1024u)
/* Largest single read/write/copy request (keeps every count well inside ssize_t). */
#define DVC_IO_CHUNK ((size_t)1 << 30)
/* A bulk range at least this long that the source holds in memory is written from there by writev (sink_copy_from);
 * a shorter one is copied into the buffer, where the bytes after it join it in one write. */
#define DVC_WRITEV_MIN (16u * 1024u)

int dvc_write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        size_t want = len < DVC_IO_CHUNK ? len : DVC_IO_CHUNK;
        ssize_t n = write(fd, p, want);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

long dvc_read_up_to(int fd, void *buf, size_t cap)
{
    uint8_t *p = buf;
    size_t len = 0;
    while (len < cap) {
        ssize_t n = read(fd, p + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        len += (size_t)n;
    }
    return (long)len;
}

static int write_all(dvc_fsink *s, const uint8_t *p, size_t len)
{
    if (dvc_write_all(s->fd, p, len) < 0) {
        s->failed = errno;
        return -1;
    }
    return 0;
}

/* The buffered bytes, then len bytes at p, in order: one writev while the kernel takes them whole. */
static int write_two(dvc_fsink *s, const uint8_t *p, size_t len)
{
    struct iovec v[2] = {{s->buf, s->len}, {(void *)p, len}};
    int i = s->len ? 0 : 1;
    while (i < 2) {
        ssize_t n = writev(s->fd, v + i, 2 - i);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            s->failed = n < 0 ? errno : EIO;
            return -1;
        }
        size_t done = (size_t)n;
        while (i < 2 && done >= v[i].iov_len)
            done -= v[i++].iov_len;
        if (i < 2) {
            v[i].iov_base = (uint8_t *)v[i].iov_base + done;
            v[i].iov_len -= done;
        }
    }
    s->len = 0;
    return 0;
}

int dvc_sink_flush(dvc_fsink *s)
{
    if (s->failed) {
        errno = s->failed;
        return -1;
    }
    if (s->len == 0)
        return 0;
    int r = write_all(s, s->buf, s->len);
    s->len = 0;
    return r;
}

static int sink_write(void *ctx, const void *buf, size_t len)
{
    dvc_fsink *s = ctx;
    if (s->failed)
        return -1;
    if (len > s->cap - s->len) {
        if (dvc_sink_flush(s) < 0)
            return -1;
        if (len >= s->cap)
            return write_all(s, buf, len);
    }
    memcpy(s->buf + s->len, buf, len);
    s->len += len;
    return 0;
}

/* Set once O_NOATIME was refused (EPERM: the caller neither owns the input nor has CAP_FOWNER): from then on
 * inputs are opened without it, so reading another user's archive costs one open a file, not two. */
static atomic_int noatime_refused;

int dvc_open_input(const char *path, int flags)
{
    flags |= O_RDONLY | O_CLOEXEC | O_NOCTTY;
    if (!atomic_load_explicit(&noatime_refused, memory_order_relaxed)) {
        int fd = open(path, flags | O_NOATIME);
        if (fd >= 0 || errno != EPERM)
            return fd;
        atomic_store_explicit(&noatime_refused, 1, memory_order_relaxed);
    }
    return open(path, flags);
}

/* Set once copy_file_range returned ENOSYS: no point asking again on this kernel. */
static atomic_int copy_range_unavailable;

static int sink_copy_from(void *ctx, const dv_source *src, uint64_t offset, uint64_t len)
{
    dvc_fsink *s = ctx;
    if (s->failed)
        return -1;
    int in = s->offload ? dv_source_fd_of(src) : -1;
    if (in >= 0 && len >= DVC_COPY_RANGE_MIN && !atomic_load(&copy_range_unavailable)) {
        if (dvc_sink_flush(s) < 0)
            return -1;
        while (len > 0) {
            if (offset > (uint64_t)INT64_MAX)
                return -1;
            loff_t off = (loff_t)offset;
            size_t want = len < DVC_IO_CHUNK ? (size_t)len : DVC_IO_CHUNK;
            ssize_t n = copy_file_range(in, &off, s->fd, NULL, want, 0);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == ENOSYS)
                    atomic_store(&copy_range_unavailable, 1);
                if (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)
                    break; /* finish below through the buffer, from where we got to */
                s->failed = errno;
                return -1;
            }
            if (n == 0)
                return -1; /* the source ended early */
            offset += (uint64_t)n;
            len -= (uint64_t)n;
        }
    }
    /* A range the source holds in memory (an input read whole: pool.c) leaves with the buffered bytes before it
     * in one writev, not copied into the buffer first. Short ranges are still buffered. */
    const uint8_t *mem = len >= DVC_WRITEV_MIN ? dv_source_mem_at(src, offset, len) : NULL;
    if (mem)
        return write_two(s, mem, (size_t)len);
    while (len > 0) {
        if (s->len == s->cap && dvc_sink_flush(s) < 0)
            return -1;
        size_t room = s->cap - s->len;
        size_t chunk = len < room ? (size_t)len : room;
        if (src->read_at(src->ctx, offset, s->buf + s->len, chunk) < 0)
            return -1;
        s->len += chunk;
        offset += chunk;
        len -= chunk;
    }
    return 0;
}

dv_sink dvc_sink_fd(dvc_fsink *s, int fd, uint8_t *buf, size_t cap, int offload)
{
    s->fd = fd;
    s->offload = offload;
    s->buf = buf;
    s->len = 0;
    s->cap = cap;
    s->failed = 0;
    dv_sink k = {.ctx = s, .write = sink_write, .copy_from = sink_copy_from};
    return k;
}

/* Magic numbers of statfs(2)'s f_type (linux/magic.h and the clients' own headers, which are not all
 * exported): the network file systems whose kernel client turns copy_file_range into a copy on the server
 * (NFS 4.2 COPY, SMB2 server-side copy, Ceph's object copy), so pixel data never cross the network. */
#define DVC_NFS_MAGIC 0x6969ul
#define DVC_SMB2_MAGIC 0xFE534D42ul
#define DVC_CIFS_MAGIC 0xFF534D42ul
#define DVC_CEPH_MAGIC 0x00C36400ul

int dvc_fs_type_offloads_copy(long f_type)
{
    /* f_type is a signed long filled from a 32-bit magic: compare the low 32 bits only */
    unsigned long t = (unsigned long)f_type & 0xFFFFFFFFul;
    return t == DVC_NFS_MAGIC || t == DVC_SMB2_MAGIC || t == DVC_CIFS_MAGIC || t == DVC_CEPH_MAGIC;
}

int dvc_fs_offloads_copy(int fd)
{
    const char *force = getenv("DICOMVEIL_COPY_RANGE");
    if (force && *force)
        return strcmp(force, "0") != 0;
    struct statfs st;
    return fstatfs(fd, &st) == 0 && dvc_fs_type_offloads_copy((long)st.f_type);
}
