/* A dv_source over a file descriptor (see dv_fd_source.h). */
#include "util/dv_fd_source.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

/* One pread asks for at most this much: Linux transfers at most ~2 GiB per call anyway. */
#define FD_SOURCE_CHUNK ((size_t)1 << 30)

static int fd_read_at(void *ctx, uint64_t offset, void *buf, size_t len)
{
    const dv_fd_source *f = ctx;
    uint8_t *p = buf;
    if (f->head && offset < f->head_len && len <= f->head_len - offset) {
        memcpy(p, f->head + offset, len);
        return 0;
    }
    while (len > 0) {
        if (offset > (uint64_t)INT64_MAX)
            return -1;
        size_t want = len < FD_SOURCE_CHUNK ? len : FD_SOURCE_CHUNK;
        ssize_t n = pread(f->fd, p, want, (off_t)offset);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            return -1; /* short read: the file is shorter than the reader expected */
        p += n;
        offset += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

dv_source dv_source_fd(dv_fd_source *f, int fd, uint64_t size)
{
    return dv_source_fd_head(f, fd, size, NULL, 0);
}

dv_source dv_source_fd_head(dv_fd_source *f, int fd, uint64_t size, const uint8_t *head, size_t head_len)
{
    f->fd = fd;
    f->head = head;
    f->head_len = head ? head_len : 0;
    dv_source s = {.ctx = f, .size = size, .read_at = fd_read_at, .mem = f->head, .mem_len = f->head_len};
    return s;
}

int dv_source_fd_of(const dv_source *src)
{
    return src->read_at == fd_read_at ? ((const dv_fd_source *)src->ctx)->fd : -1;
}
