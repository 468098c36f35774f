/* A dv_source over an open file descriptor: the one home for "read an instance from a file" shared by the
 * command line (src/cli/file_io.c) and the server's store (src/store/blobs.c).
 *
 * It only ever preads (the descriptor may be O_RDONLY; the file is never modified), in chunks of at most
 * 1 GiB per call, retrying EINTR; a short read (the file ended early) or an offset past INT64_MAX is a
 * failure. The descriptor stays the caller's. [test_fd_source] */
#ifndef DV_FD_SOURCE_H
#define DV_FD_SOURCE_H

#include <stdint.h>

#include "dicomveil/dv_io.h"

typedef struct dv_fd_source {
    int fd;
    const uint8_t *head; /* the file's first head_len bytes, already read by the caller; NULL when none */
    size_t head_len;
} dv_fd_source;

/* A source of size bytes over fd. f must outlive the source. */
dv_source dv_source_fd(dv_fd_source *f, int fd, uint64_t size);

/* The same, with the file's first head_len bytes already in memory (the caller's first pread, e.g. of
 * DV_SOURCE_HEAD_BYTES): a read inside them is a copy, not a system call. head must outlive the source.
 * [test_fd_source: test_head_serves_first_bytes] */
dv_source dv_source_fd_head(dv_fd_source *f, int fd, uint64_t size, const uint8_t *head, size_t head_len);

/* The descriptor behind src when it is a dv_source_fd, else -1: lets a sink copy file-to-file
 * (copy_file_range) instead of reading through user space. */
int dv_source_fd_of(const dv_source *src);

#endif
