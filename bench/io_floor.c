/* The I/O floor of `deidentify --jobs 1`: the system calls dicomveil makes for each file, with no DICOM work
 * between them (bench/percore.py runs it beside cp -r on the same fresh file system; bench/RESULTS.md
 * "Per-core rate against cp, fifth pass").
 *
 *     io_floor SRC DST atomic|plain
 *
 * For every regular file under SRC, in directory order: open (O_RDONLY | O_NOCTTY | O_NONBLOCK | O_NOATIME, as
 * src/cli/file_io.c's dvc_open_input; without O_NOATIME where it is refused), pread up to 1 MiB of it
 * (DVC_INPUT_BUFFER) into one buffer, and only when that filled the buffer fstat and pread the rest (in 1 MiB
 * pieces), as src/cli/pool.c does; then write it to DST/study/series/<44-character
 * name>.dcm (the shape of dicomveil's output names, one series folder), close both. "atomic" names the output as
 * dicomveil does (an unnamed O_TMPFILE file given its name by linkat once complete: a killed run leaves no
 * partial file); "plain" creates it under its final name (O_CREAT | O_EXCL), which dicomveil does not do.
 * The difference between cp -r and the atomic floor is what a file system leaves a tool that writes atomically
 * for parsing, de-identifying and re-encoding an instance. Prints the file count; exits 1 on any failure. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUF (1u << 20)
#define HEAD BUF /* src/cli/cli.h DVC_INPUT_BUFFER: an input up to this size is read whole by one pread */

static unsigned char buf[BUF];
static int series_fd = -1, atomic_names = 1;
static unsigned long count;

static int fail(const char *what)
{
    fprintf(stderr, "io_floor: %s: %s\n", what, strerror(errno));
    return -1;
}

static int copy_one(int dirfd, const char *name)
{
    int in = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOATIME);
    if (in < 0 && errno == EPERM)
        in = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (in < 0)
        return fail("open of an input");
    ssize_t head = pread(in, buf, HEAD, 0);
    struct stat st;
    if (head < 0)
        return fail("reading an input");
    if ((size_t)head == HEAD && fstat(in, &st) < 0)
        return fail("stat of an input");
    off_t size = (size_t)head < HEAD ? head : st.st_size;
    char out_name[64];
    snprintf(out_name, sizeof out_name, "2.25.%039lu.dcm", count * 2654435761ul);
    int out = atomic_names ? openat(series_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644)
                           : openat(series_fd, out_name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0)
        return fail("creating an output");
    if (write(out, buf, (size_t)head) != head)
        return fail("copying");
    for (off_t off = head; off < size;) {
        ssize_t n = pread(in, buf, BUF, off);
        if (n <= 0 || write(out, buf, (size_t)n) != n)
            return fail("copying");
        off += n;
    }
    if (atomic_names && linkat(out, "", series_fd, out_name, AT_EMPTY_PATH) < 0)
        return fail("naming an output");
    close(out);
    close(in);
    count++;
    return 0;
}

static int walk(int dirfd)
{
    DIR *d = fdopendir(dirfd);
    if (!d)
        return fail("listing");
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (e->d_type == DT_DIR) {
            int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            rc = sub < 0 ? fail("opening a folder") : walk(sub);
        } else if (e->d_type == DT_REG) {
            rc = copy_one(dirfd, e->d_name);
        }
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[3], "atomic") && strcmp(argv[3], "plain"))) {
        fprintf(stderr, "usage: io_floor SRC DST atomic|plain\n");
        return 2;
    }
    atomic_names = strcmp(argv[3], "atomic") == 0;
    char path[4096];
    const char *parts[] = {"", "/study", "/study/series"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s%s", argv[2], parts[i]);
        if (mkdir(path, 0755) < 0 && errno != EEXIST) {
            fail("making DST");
            return 1;
        }
    }
    series_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int src = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (series_fd < 0 || src < 0) {
        fail("opening SRC or DST");
        return 1;
    }
    if (walk(src) != 0)
        return 1;
    printf("%lu\n", count);
    return 0;
}
