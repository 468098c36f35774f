/* The blob lock (server_internal.h): a DELETE and a STOW of the same bytes must not interleave between "name
 * the file" and "index the row", or the DELETE could unlink a file the STOW has just counted on. Threads of one
 * server are ordered by a mutex; servers that share one DATA directory (and one PostgreSQL index,
 * docs/server.md "PostgreSQL") by an exclusive flock on DATA/blob.lock. flock belongs to the open file
 * description, so the mutex is still needed between threads of one process. A file system without flock
 * (an NFS mount without locking) gives no cross-process order: docs/server.md says so.
 * [test_server_postgresql.py "DELETE through one server while the other STOWs"] */
#include <errno.h>
#include <pthread.h>
#include <sys/file.h>

#include "http/server_internal.h"

void dvh_blob_lock(dvh_server *s)
{
    pthread_mutex_lock(&s->blob_mu);
    if (s->blob_lock_fd >= 0)
        while (flock(s->blob_lock_fd, LOCK_EX) != 0) {
            /* EINTR: try again; any other error leaves the in-process order only (logged once at start) */
            if (errno != EINTR)
                break;
        }
}

void dvh_blob_unlock(dvh_server *s)
{
    if (s->blob_lock_fd >= 0)
        (void)flock(s->blob_lock_fd, LOCK_UN);
    pthread_mutex_unlock(&s->blob_mu);
}
