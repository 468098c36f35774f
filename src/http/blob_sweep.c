/* The start's sweep of unindexed instance files (server_internal.h, docs/server.md "Durability").
 *
 * A put names its file before its row commits (store_put.c), so a server killed between the two leaves a whole
 * source instance in DATA/stores/<id>/ that no row names: no API can reach it, a DICOMweb DELETE never removes it,
 * and it stayed until its store or dataset was deleted (red team round 5, finding 04a). At start, before any
 * request or resumed operation, every file with an instance name (<64 hex>.dcm) that no row of its store names
 * is unlinked.
 *
 * Why this cannot remove a file another live server (same DATA, same PostgreSQL) is about to index: every put
 * names its file and commits its row (or removes the file) inside one hold of the blob lock, shared
 * (dvh_store_commit), and the sweep holds it exclusive, flock on DATA/blob.lock included. So while the sweep runs
 * no put is between "named" and "indexed": a named file with no row is a leftover. Files not yet named (unnamed
 * O_TMPFILEs, or the hidden ".tmp-*" names of a file system without O_TMPFILE, written before the lock is taken)
 * are not the blob lock's: a ".tmp-*" file is removed only when its own flock can be taken, which its writer holds
 * from creation until the file is linked or removed (dv_locked_tmp_open), so only a dead writer's goes, whatever the blob
 * lock (one "unfinished temporary files removed" count line). When flock is not available (an NFS mount without
 * locking) there is no such order between servers and the sweep of instance files does not run; when another
 * server holds the lock past SWEEP_WAIT_MS (a stream of STOWs keeps LOCK_SH held), it does not run either: the
 * start does not wait for an idle DATA. Both say so in the log.
 * [test_server_names.py "unindexed files are swept at start"; test_server_names.py "a killed put's temporary
 * file is swept at start"] */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/server_internal.h"
#include "util/dv_locked_tmp.h"
#include "store/dvs_blobs.h"

#define SWEEP_WAIT_MS 5000

typedef struct {
    char (*names)[65];
    size_t n, cap;
} name_set;

static int collect_name(const dvs_blob_ref *ref, void *user)
{
    name_set *set = user;
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 256;
        char(*v)[65] = realloc(set->names, cap * sizeof *v);
        if (v == NULL)
            return -1;
        set->names = v;
        set->cap = cap;
    }
    memcpy(set->names[set->n++], ref->blob, 65);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* An instance file's name: 64 lower-case hex digits and ".dcm" (dvs_blob_link); hex receives the digits. */
static int instance_name(const char *name, char hex[65])
{
    if (strlen(name) != 68 || strcmp(name + 64, ".dcm") != 0 || strspn(name, "0123456789abcdef") != 64)
        return 0;
    memcpy(hex, name, 64);
    hex[64] = '\0';
    return 1;
}

/* Unlinks the hidden temporary files of stores/<store_id> no live writer holds (dv_locked_tmp_reap) and,
 * when unindexed, the instance files that no row names; *temps receives the first number. The second, or -1
 * when the index could not be read (then no instance file of that store is touched). */
static long sweep_store(dvh_server *s, int64_t store_id, int dir_fd, int unindexed, long *temps)
{
    name_set set = {0};
    dv_error err = {0};
    int rc = unindexed ? s->ix->ops->blobs(s->ix, store_id, NULL, NULL, NULL, collect_name, &set, &err) : DVS_OK;
    int index_ok = rc == DVS_OK || rc == DVS_NOT_FOUND; /* a deleted store's rows are gone: NOT_FOUND */
    if (set.n) /* no rows: names is NULL, which qsort and bsearch must not be given */
        qsort(set.names, set.n, sizeof *set.names, by_name);
    long removed = 0;
    *temps = 0;
    DIR *d = fdopendir(dup(dir_fd));
    struct dirent *de;
    char hex[65];
    while (d && (de = readdir(d)) != NULL) {
        if (dvs_blob_tmp_name_is(de->d_name))
            *temps += dv_locked_tmp_reap(dir_fd, de->d_name) == DV_TMP_REAPED;
        else if (unindexed && index_ok && instance_name(de->d_name, hex) &&
                 !(set.n && bsearch(hex, set.names, set.n, sizeof *set.names, by_name)) &&
                 unlinkat(dir_fd, de->d_name, 0) == 0)
            removed++;
    }
    if (d)
        closedir(d);
    if (removed || *temps)
        (void)fsync(dir_fd); /* the unlinks survive a power cut */
    free(set.names);
    return index_ok ? removed : -1;
}

void dvh_blob_sweep(dvh_server *s)
{
    int sfd = openat(s->data_fd, "stores", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sfd < 0)
        return; /* no store was ever written */
    /* Temporary files are swept whatever the blob lock: their own lock tells a dead writer's (dvs_blobs.h). */
    int locked = dvh_blob_lock_within(s, SWEEP_WAIT_MS);
    if (locked != 0)
        dvh_logf(s, "{\"event\":\"unindexed file sweep skipped\",\"reason\":\"%s\"}\n",
                 locked > 0 ? "DATA/blob.lock held by another server" : "no flock on DATA");
    long removed = 0, stores = 0, unread = 0, temps = 0;
    DIR *d = fdopendir(sfd);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        char *end;
        errno = 0;
        long long id = strtoll(de->d_name, &end, 10);
        if (de->d_name[0] < '0' || de->d_name[0] > '9' || *end != '\0' || errno != 0)
            continue;
        int fd = openat(sfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            continue;
        long t = 0, r = sweep_store(s, (int64_t)id, fd, locked == 0, &t);
        close(fd);
        temps += t;
        if (r < 0)
            unread++;
        else if (r > 0) {
            removed += r;
            stores++;
        }
    }
    if (d)
        closedir(d);
    else
        close(sfd);
    if (locked == 0)
        dvh_blob_unlock(s);
    if (removed || unread)
        dvh_logf(s, "{\"event\":\"unindexed files removed\",\"files\":%ld,\"stores\":%ld,\"stores_unread\":%ld}\n",
                 removed, stores, unread);
    if (temps)
        dvh_logf(s, "{\"event\":\"unfinished temporary files removed\",\"files\":%ld}\n", temps);
}
