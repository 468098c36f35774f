/* The blob lock (server_internal.h): a DELETE and a STOW of the same bytes must not interleave between "name
 * the file" and "index the row", or the DELETE could unlink a file the STOW has just counted on. STOWs do not
 * exclude each other (they hold the lock shared, so their rows can share one commit: put_batch.c); a DELETE
 * holds it exclusive. Threads of one server are ordered by a writer-preferring rwlock (a DELETE is not starved
 * by a stream of STOWs); servers that share one DATA directory (and one PostgreSQL index, docs/server.md
 * "PostgreSQL") by an flock on DATA/blob.lock: LOCK_SH from the first shared holder of this process to the
 * last, LOCK_EX for a DELETE. flock belongs to the open file description, so the in-process lock is still
 * needed between threads. A file system without flock (an NFS mount without locking) gives no cross-process
 * order: docs/server.md says so.
 * [test_server_postgresql.py "DELETE through one server while the other STOWs"] */
/* pthread_rwlockattr_setkind_np: _GNU_SOURCE comes from the build (CMakeLists.txt) */
#include <errno.h>
#include <pthread.h>
#include <sys/file.h>
#include <time.h>

#include "http/server_internal.h"

void dvh_flock(int fd, int op)
{
    if (fd < 0)
        return;
    /* EINTR: try again; any other error leaves the in-process order only (logged once at start) */
    while (flock(fd, op) != 0 && errno == EINTR)
        ;
}

int dvh_blob_lock_init(dvh_server *s)
{
    pthread_rwlockattr_t a;
    if (pthread_rwlockattr_init(&a) != 0)
        return -1;
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int rc = pthread_rwlock_init(&s->blob_rw, &a);
    pthread_rwlockattr_destroy(&a);
    pthread_mutex_init(&s->blob_sh_mu, NULL);
    s->blob_sh = 0;
    return rc == 0 ? 0 : -1;
}

void dvh_blob_lock_destroy(dvh_server *s)
{
    pthread_rwlock_destroy(&s->blob_rw);
    pthread_mutex_destroy(&s->blob_sh_mu);
}

void dvh_blob_lock(dvh_server *s)
{
    pthread_rwlock_wrlock(&s->blob_rw);
    dvh_flock(s->blob_lock_fd, LOCK_EX);
}

int dvh_blob_lock_within(dvh_server *s, int wait_ms)
{
    pthread_rwlock_wrlock(&s->blob_rw);
    for (int waited = 0;; waited += 50) {
        if (flock(s->blob_lock_fd, LOCK_EX | LOCK_NB) == 0)
            return 0;
        int busy = errno == EWOULDBLOCK || errno == EINTR;
        if (!busy || waited >= wait_ms) {
            pthread_rwlock_unlock(&s->blob_rw);
            return busy ? 1 : -1;
        }
        struct timespec ts = {0, 50000000L};
        nanosleep(&ts, NULL);
    }
}

void dvh_blob_unlock(dvh_server *s)
{
    dvh_flock(s->blob_lock_fd, LOCK_UN);
    pthread_rwlock_unlock(&s->blob_rw);
}

void dvh_blob_lock_shared(dvh_server *s)
{
    pthread_rwlock_rdlock(&s->blob_rw);
    pthread_mutex_lock(&s->blob_sh_mu);
    if (s->blob_sh++ == 0)
        dvh_flock(s->blob_lock_fd, LOCK_SH);
    pthread_mutex_unlock(&s->blob_sh_mu);
}

void dvh_blob_unlock_shared(dvh_server *s)
{
    pthread_mutex_lock(&s->blob_sh_mu);
    if (--s->blob_sh == 0)
        dvh_flock(s->blob_lock_fd, LOCK_UN);
    pthread_mutex_unlock(&s->blob_sh_mu);
    pthread_rwlock_unlock(&s->blob_rw);
}
