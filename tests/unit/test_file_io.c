/* The CLI's output sink (src/cli/file_io.c): which file systems get copy_file_range, and that a bulk copy
 * through the worker's buffer writes the same bytes as one by copy_file_range, with every write but the last
 * the buffer's whole length (docs/decisions.md "Pixel data are copied through the worker's buffer"); and that
 * inputs are opened without touching their access time, falling back where that is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/cli.h"
#include "util/dv_fd_source.h"

static void test_fs_type_offloads_copy(void **state)
{
    (void)state;
    /* network file systems whose client copies on the server */
    assert_true(dvc_fs_type_offloads_copy(0x6969L));      /* NFS */
    assert_true(dvc_fs_type_offloads_copy(0xFE534D42L));  /* SMB2 */
    assert_true(dvc_fs_type_offloads_copy(0xFF534D42L));  /* CIFS */
    assert_true(dvc_fs_type_offloads_copy(0x00C36400L));  /* Ceph */
    assert_true(dvc_fs_type_offloads_copy((long)(int32_t)0xFE534D42u)); /* f_type sign-extended from 32 bits */
    /* local file systems: the buffer */
    assert_false(dvc_fs_type_offloads_copy(0xEF53L));     /* ext2/3/4 */
    assert_false(dvc_fs_type_offloads_copy(0x58465342L)); /* XFS */
    assert_false(dvc_fs_type_offloads_copy(0x9123683EL)); /* btrfs */
    assert_false(dvc_fs_type_offloads_copy(0x01021994L)); /* tmpfs */
    assert_false(dvc_fs_type_offloads_copy(0L));
}

static void test_copy_range_override(void **state)
{
    (void)state;
    char dir[] = "/tmp/dv_file_io.XXXXXX";
    assert_non_null(mkdtemp(dir));
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    setenv("DICOMVEIL_COPY_RANGE", "1", 1);
    assert_true(dvc_fs_offloads_copy(fd));
    setenv("DICOMVEIL_COPY_RANGE", "0", 1);
    assert_false(dvc_fs_offloads_copy(fd));
    unsetenv("DICOMVEIL_COPY_RANGE");
    close(fd);
    rmdir(dir);
}

/* A source of n bytes (a counter pattern) in a temporary file; its descriptor. */
static int source_file(char *path, size_t n)
{
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    uint8_t *b = malloc(n);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i * 7 + i / 251);
    assert_int_equal(dvc_write_all(fd, b, n), 0);
    free(b);
    return fd;
}

/* header (h bytes of 'H'), then src[off, off + len), then a 3-byte trailer, through a sink of cap bytes */
static void write_through(int out, int in, size_t in_size, size_t h, uint64_t off, uint64_t len, size_t cap,
                          int offload)
{
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    dvc_fsink fs;
    dv_sink sink = dvc_sink_fd(&fs, out, buf, cap, offload);
    dv_fd_source f;
    dv_source src = dv_source_fd(&f, in, in_size);
    uint8_t *hdr = malloc(h);
    assert_non_null(hdr);
    memset(hdr, 'H', h);
    assert_int_equal(sink.write(sink.ctx, hdr, h), 0);
    assert_int_equal(sink.copy_from(sink.ctx, &src, off, len), 0);
    assert_int_equal(sink.write(sink.ctx, "END", 3), 0);
    assert_int_equal(dvc_sink_flush(&fs), 0);
    free(hdr);
    free(buf);
}

static uint8_t *slurp(int fd, size_t *n)
{
    off_t end = lseek(fd, 0, SEEK_END);
    assert_true(end >= 0);
    uint8_t *b = malloc((size_t)end + 1);
    assert_non_null(b);
    assert_int_equal(pread(fd, b, (size_t)end, 0), end);
    *n = (size_t)end;
    return b;
}

static void test_bulk_copy_same_bytes_both_ways(void **state)
{
    (void)state;
    /* 700 KiB of "pixel data" at an odd offset, through a 64 KiB buffer after a 1401-byte header */
    const size_t in_size = 720 * 1024, h = 1401, cap = 64 * 1024;
    const uint64_t off = 1237, len = 700 * 1024;
    char sp[] = "/tmp/dv_file_io_src.XXXXXX", ap[] = "/tmp/dv_file_io_a.XXXXXX", bp[] = "/tmp/dv_file_io_b.XXXXXX";
    int in = source_file(sp, in_size);
    int a = mkstemp(ap), b = mkstemp(bp);
    assert_true(a >= 0 && b >= 0);
    write_through(a, in, in_size, h, off, len, cap, 0);
    write_through(b, in, in_size, h, off, len, cap, 1);
    size_t na, nb;
    uint8_t *da = slurp(a, &na), *db = slurp(b, &nb);
    assert_int_equal(na, h + len + 3);
    assert_int_equal(nb, na);
    assert_memory_equal(da, db, na);
    /* the copied range is the source's */
    uint8_t *ds = slurp(in, &nb);
    assert_memory_equal(da + h, ds + off, len);
    assert_memory_equal(da + h + len, "END", 3);
    free(da);
    free(db);
    free(ds);
    close(in);
    close(a);
    close(b);
    unlink(sp);
    unlink(ap);
    unlink(bp);
}

/* A range the source holds in memory (an input read whole: dv_source_fd_head) is written from there with the
 * buffered bytes before it in one writev: nothing is left buffered, and the bytes are memory's (the head here
 * differs from the file, so the output says where they came from). A short range is still buffered. */
static void test_bulk_copy_from_memory(void **state)
{
    (void)state;
    const size_t in_size = 200 * 1024, h = 1401, cap = 64 * 1024;
    const uint64_t off = 1237, len = 150 * 1024;
    char sp[] = "/tmp/dv_file_io_src.XXXXXX", op[] = "/tmp/dv_file_io_o.XXXXXX";
    int in = source_file(sp, in_size);
    int out = mkstemp(op);
    assert_true(out >= 0);
    uint8_t *head = malloc(in_size), *buf = malloc(cap);
    assert_non_null(head);
    assert_non_null(buf);
    for (size_t i = 0; i < in_size; i++)
        head[i] = (uint8_t)(i * 13 + 5);
    dvc_fsink fs;
    dv_sink sink = dvc_sink_fd(&fs, out, buf, cap, 0);
    dv_fd_source f;
    dv_source src = dv_source_fd_head(&f, in, in_size, head, in_size);
    uint8_t hdr[1401];
    memset(hdr, 'H', sizeof hdr);
    assert_int_equal(sink.write(sink.ctx, hdr, h), 0);
    assert_int_equal(sink.copy_from(sink.ctx, &src, off, len), 0);
    assert_int_equal(fs.len, 0); /* header and range left together */
    assert_int_equal((size_t)lseek(out, 0, SEEK_END), h + len);
    assert_int_equal(sink.copy_from(sink.ctx, &src, 7, 100), 0); /* short: buffered */
    assert_int_equal(fs.len, 100);
    assert_int_equal(sink.write(sink.ctx, "END", 3), 0);
    assert_int_equal(dvc_sink_flush(&fs), 0);
    size_t n;
    uint8_t *d = slurp(out, &n);
    assert_int_equal(n, h + len + 100 + 3);
    assert_memory_equal(d, hdr, h);
    assert_memory_equal(d + h, head + off, len);
    assert_memory_equal(d + h + len, head + 7, 100);
    assert_memory_equal(d + h + len + 100, "END", 3);
    free(d);
    free(head);
    free(buf);
    close(in);
    close(out);
    unlink(sp);
    unlink(op);
}

/* Through the buffer, every write but the last is the buffer's whole length, so each lands at a multiple of
 * it: after the copy, the file holds whole buffers and the sink holds the rest. */
static void test_buffer_writes_are_whole(void **state)
{
    (void)state;
    const size_t in_size = 300 * 1024, h = 777, cap = 64 * 1024;
    const uint64_t off = 100, len = 290 * 1024;
    char sp[] = "/tmp/dv_file_io_src.XXXXXX", op[] = "/tmp/dv_file_io_o.XXXXXX";
    int in = source_file(sp, in_size);
    int out = mkstemp(op);
    assert_true(out >= 0);
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    dvc_fsink fs;
    dv_sink sink = dvc_sink_fd(&fs, out, buf, cap, 0);
    dv_fd_source f;
    dv_source src = dv_source_fd(&f, in, in_size);
    uint8_t hdr[777];
    memset(hdr, 'H', sizeof hdr);
    assert_int_equal(sink.write(sink.ctx, hdr, h), 0);
    assert_int_equal(sink.copy_from(sink.ctx, &src, off, len), 0);
    /* what is still buffered is the tail after the last whole-buffer write */
    assert_int_equal(fs.len, (h + len) % cap);
    off_t written = lseek(out, 0, SEEK_END);
    assert_int_equal((size_t)written, (h + len) - (h + len) % cap);
    assert_int_equal(dvc_sink_flush(&fs), 0);
    assert_int_equal((size_t)lseek(out, 0, SEEK_END), h + len);
    free(buf);
    close(in);
    close(out);
    unlink(sp);
    unlink(op);
}

/* An input file whose access time is older than its modification time: the next plain read of it updates the
 * access time on a relatime mount (the usual default). */
static void make_stale_atime_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "DICM", 4), 4);
    close(fd);
    struct timespec ts[2] = {{.tv_sec = 981173106, .tv_nsec = 0}, {.tv_sec = 0, .tv_nsec = UTIME_NOW}};
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static time_t atime_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_atim.tv_sec;
}

static void read_through(int fd)
{
    assert_true(fd >= 0);
    char b[8];
    assert_int_equal(read(fd, b, sizeof b), 4);
    close(fd);
}

/* docs/decisions.md "Inputs are read without touching their access time". */
static void test_open_input_keeps_atime(void **state)
{
    (void)state;
    char dir[] = "/tmp/dv_file_io.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char control[64], input[64];
    snprintf(control, sizeof control, "%s/control", dir);
    snprintf(input, sizeof input, "%s/input", dir);
    make_stale_atime_file(control);
    make_stale_atime_file(input);
    read_through(open(control, O_RDONLY));
    int updates = atime_of(control) != 981173106;
    read_through(dvc_open_input(input, O_NONBLOCK));
    time_t after = atime_of(input);
    unlink(control);
    unlink(input);
    rmdir(dir);
    if (!updates) {
        print_message("this mount does not update access times on read: nothing to check here\n");
        skip();
    }
    assert_int_equal(after, 981173106);
}

/* Without CAP_FOWNER, O_NOATIME on another user's file is refused (EPERM): the input must still open, and the
 * next one too (the refusal is remembered). Run in a child that drops CAP_FOWNER, on a file given to nobody. */
static void test_open_input_not_owner(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        print_message("not root: cannot give a file to another user here\n");
        skip();
    }
    char dir[] = "/tmp/dv_file_io.XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(chmod(dir, 0755), 0);
    char input[64];
    snprintf(input, sizeof input, "%s/input", dir);
    make_stale_atime_file(input);
    assert_int_equal(chown(input, 65534, 65534), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
        struct __user_cap_data_struct data[2];
        if (syscall(SYS_capget, &hdr, data) != 0)
            _exit(10);
        data[0].effective &= ~(1u << CAP_FOWNER);
        if (syscall(SYS_capset, &hdr, data) != 0)
            _exit(11);
        int probe = open(input, O_RDONLY | O_NOATIME);
        if (probe >= 0 || errno != EPERM)
            _exit(12); /* O_NOATIME not refused: this child would not test the fallback */
        for (int i = 0; i < 2; i++) {
            int fd = dvc_open_input(input, 0);
            char b[8];
            if (fd < 0 || read(fd, b, sizeof b) != 4)
                _exit(13 + i);
            close(fd);
        }
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    unlink(input);
    rmdir(dir);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fs_type_offloads_copy),
        cmocka_unit_test(test_copy_range_override),
        cmocka_unit_test(test_bulk_copy_same_bytes_both_ways),
        cmocka_unit_test(test_buffer_writes_are_whole),
        cmocka_unit_test(test_bulk_copy_from_memory),
        cmocka_unit_test(test_open_input_keeps_atime),
        cmocka_unit_test(test_open_input_not_owner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
