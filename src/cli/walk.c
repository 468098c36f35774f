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
#include <stdint.h>
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

/* 16 bytes, so the sort moves little: is_dir is the byte before the name in the directory's name buffer. */
typedef struct entry {
    uint64_t head; /* the name's first 8 bytes, big-endian, NUL-padded: most comparisons end here */
    union {
        size_t off;    /* while reading: the name's offset in the buffer (which may still move) */
        const char *s; /* then its address */
    } name;
} entry;

/* strcmp order (the name bytes as unsigned) with one integer comparison for names that differ in their first 8
 * bytes: the sort is most of the listing's CPU on big folders (deidentify --mpi's lister, bench/MPI.md). */
static int cmp_entry(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->head != y->head)
        return x->head < y->head ? -1 : 1;
    if ((x->head & 0xff) == 0)
        return 0; /* both end within the 8 bytes, which are equal */
    return strcmp(x->name.s + 8, y->name.s + 8);
}

/* Read the names of the regular files and subdirectories of the open directory fd (consumed), sorted: *out
 * (free it) points into *names (free it too). */
static int list_dir(int fd, entry **out, size_t *nout, char **names)
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
    char *buf = NULL; /* every name, NUL-terminated, one after another: no allocation per name */
    size_t used = 0, bcap = 0;
    struct dirent *de;
    int rc = 0;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        /* The kind byte: 0 a regular file, 1 a directory, 2 anything else (a symbolic link, FIFO, socket or
         * device): never opened or followed, but listed, so the report accounts for every entry of the folder
         * (DVC_WALK_NOT_FOLLOWED; before, such entries vanished from the counts). */
        int is_dir;
        if (de->d_type == DT_REG || de->d_type == DT_DIR) {
            is_dir = de->d_type == DT_DIR;
        } else if (de->d_type == DT_UNKNOWN) {
            struct stat st;
            if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                continue; /* vanished meanwhile */
            is_dir = S_ISDIR(st.st_mode) ? 1 : S_ISREG(st.st_mode) ? 0 : 2;
        } else {
            is_dir = 2;
        }
        size_t len = strlen(de->d_name) + 1;
        if (dv_grow(&v, &cap, n + 1, sizeof *v, 64) < 0 || dv_grow(&buf, &bcap, used + 1 + len, 1, 4096) < 0) {
            rc = -1;
            errno = ENOMEM;
            break;
        }
        buf[used] = (char)is_dir;
        memcpy(buf + used + 1, de->d_name, len);
        uint64_t head = 0;
        for (size_t i = 0; i < 8; i++)
            head = head << 8 | (i < len ? (unsigned char)de->d_name[i] : 0);
        v[n++] = (entry){.head = head, .name.off = used + 1};
        used += 1 + len;
        errno = 0;
    }
    if (rc == 0 && errno != 0)
        rc = -1; /* readdir failed */
    int e = errno;
    closedir(d);
    if (rc < 0) {
        free(v);
        free(buf);
        errno = e;
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        v[i].name.s = buf + v[i].name.off;
    qsort(v, n, sizeof *v, cmp_entry);
    *out = v;
    *nout = n;
    *names = buf;
    return 0;
}

/* path is owned by the caller; follow is set only for the SRC argument itself. Listing failures become an
 * entry with walk_err (reported as failed); only running out of memory aborts the walk. */
static int walk_dir(const char *path, int follow, dvc_inputs *in)
{
    /* Listed without touching the directory's access time, like the files (dvc_open_input). [test_cli_run.sh
     * "directory atimes"] */
    int fd = dvc_open_input(path, O_DIRECTORY | (follow ? 0 : O_NOFOLLOW));
    entry *v = NULL;
    size_t n = 0;
    char *names = NULL;
    if (fd < 0 || list_dir(fd, &v, &n, &names) < 0) {
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
        char *child = rc == 0 ? dvc_path_join(path, v[i].name.s) : NULL;
        if (rc == 0 && !child)
            rc = -1;
        if (rc == 0) {
            if (v[i].name.s[-1] == 1) { /* a directory */
                rc = walk_dir(child, 0, in);
                free(child);
            } else if (push(in, child, v[i].name.s[-1] == 2 ? DVC_WALK_NOT_FOLLOWED : 0) < 0) {
                free(child);
                rc = -1;
            }
        }
    }
    free(v);
    free(names);
    return rc;
}

int dvc_walk(const char *root, dvc_inputs *in)
{
    struct stat st;
    if (stat(root, &st) == 0 && S_ISDIR(st.st_mode))
        return walk_dir(root, 1, in);
    /* A file argument (the caller checked that it exists and is regular) is taken as given: a link followed. */
    char *copy = strdup(root);
    if (!copy || push(in, copy, DVC_WALK_ARGUMENT) < 0) {
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
