/* Expand the SRC arguments into the list of input files.
 *
 * Determinism: entries are sorted by their name bytes (strcmp, not the locale), so the same tree gives the
 * same order, the same "first one wins" among duplicates and the same report on every machine.
 * Safety: below a SRC directory only regular files and real directories are taken (lstat semantics);
 * symlinks are not followed, so a link cannot loop the walk or pull in files from outside the tree. Each
 * directory is read completely and closed before descending, so depth does not pile up open descriptors. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "util/dv_grow.h"

static int push(dvc_inputs *in, char *path, int walk_err)
{
    if (in->emit) /* streamed (deidentify --mpi): the same order, handed on at once */
        return in->emit(in->emit_user, path, walk_err);
    if (dv_grow(&in->v, &in->cap, in->n + 1, sizeof *in->v, 256) < 0)
        return -1;
    in->v[in->n].path = path;
    in->v[in->n].walk_err = walk_err;
    in->n++;
    return 0;
}

typedef struct entry {
    char *name;
    int is_dir;
} entry;

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

/* Read the names of the regular files and subdirectories of the open directory fd (consumed). */
static int list_dir(int fd, entry **out, size_t *nout)
{
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    entry *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int rc = 0;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        int is_dir;
        if (de->d_type == DT_REG || de->d_type == DT_DIR) {
            is_dir = de->d_type == DT_DIR;
        } else if (de->d_type == DT_UNKNOWN) {
            struct stat st;
            if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                continue; /* vanished meanwhile */
            if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
                continue;
            is_dir = S_ISDIR(st.st_mode);
        } else {
            continue; /* symlink, fifo, socket, device */
        }
        if (dv_grow(&v, &cap, n + 1, sizeof *v, 64) < 0) {
            rc = -1;
            break;
        }
        if (!(v[n].name = strdup(de->d_name))) {
            rc = -1;
            errno = ENOMEM;
            break;
        }
        v[n++].is_dir = is_dir;
        errno = 0;
    }
    if (rc == 0 && errno != 0)
        rc = -1; /* readdir failed */
    int e = errno;
    closedir(d);
    if (rc < 0) {
        for (size_t i = 0; i < n; i++)
            free(v[i].name);
        free(v);
        errno = e;
        return -1;
    }
    qsort(v, n, sizeof *v, cmp_entry);
    *out = v;
    *nout = n;
    return 0;
}

/* path is owned by the caller; follow is set only for the SRC argument itself. Listing failures become an
 * entry with walk_err (reported as failed); only running out of memory aborts the walk. */
static int walk_dir(const char *path, int follow, dvc_inputs *in)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
    entry *v = NULL;
    size_t n = 0;
    if (fd < 0 || list_dir(fd, &v, &n) < 0) {
        int e = errno;
        if (e == ENOMEM)
            return -1;
        char *copy = strdup(path);
        if (!copy || push(in, copy, e ? e : EIO) < 0) {
            free(copy);
            return -1;
        }
        return 0;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char *child = rc == 0 ? dvc_path_join(path, v[i].name) : NULL;
        if (rc == 0 && !child)
            rc = -1;
        if (rc == 0) {
            if (v[i].is_dir) {
                rc = walk_dir(child, 0, in);
                free(child);
            } else if (push(in, child, 0) < 0) {
                free(child);
                rc = -1;
            }
        }
        free(v[i].name);
    }
    free(v);
    return rc;
}

int dvc_walk(const char *root, dvc_inputs *in)
{
    struct stat st;
    if (stat(root, &st) == 0 && S_ISDIR(st.st_mode))
        return walk_dir(root, 1, in);
    /* A file argument (the caller checked that it exists and is regular) is taken as given. */
    char *copy = strdup(root);
    if (!copy || push(in, copy, 0) < 0) {
        free(copy);
        return -1;
    }
    return 0;
}

void dvc_inputs_free(dvc_inputs *in)
{
    for (size_t i = 0; i < in->n; i++)
        free(in->v[i].path);
    free(in->v);
    in->v = NULL;
    in->n = in->cap = 0;
}
