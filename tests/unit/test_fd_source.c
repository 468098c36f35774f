/* dv_source_fd (src/util/dv_fd_source.h), the one source over a file shared by the command line and the
 * server's store: exact reads at any offset, a read past the end fails, dv_source_fd_of tells an fd source
 * from a memory one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/dv_fd_source.h"

static void test_fd_source_reads(void **state)
{
    (void)state;
    char path[] = "/tmp/dv-test-fdsrc-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    uint8_t data[1000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    assert_int_equal(write(fd, data, sizeof data), (ssize_t)sizeof data);
    dv_fd_source f;
    dv_source s = dv_source_fd(&f, fd, sizeof data);
    assert_int_equal(s.size, sizeof data);
    uint8_t buf[100];
    assert_int_equal(s.read_at(s.ctx, 900, buf, 100), 0);
    assert_memory_equal(buf, data + 900, 100);
    assert_int_equal(s.read_at(s.ctx, 950, buf, 100), -1); /* short read: past the end */
    assert_int_equal(s.read_at(s.ctx, (uint64_t)INT64_MAX + 1, buf, 1), -1);
    assert_int_equal(dv_source_fd_of(&s), fd);
    dv_mem_source m;
    dv_source ms = dv_source_memory(&m, data, sizeof data);
    assert_int_equal(dv_source_fd_of(&ms), -1);
    close(fd);
}

/* A read inside the head is served from it (here the head differs from the file, so the bytes say where they
 * came from); a read that leaves it goes to the file; the descriptor is still the source's. */
static void test_head_serves_first_bytes(void **state)
{
    (void)state;
    char path[] = "/tmp/dv-test-fdsrc-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    uint8_t data[300], head[200];
    memset(data, 'F', sizeof data);
    memset(head, 'H', sizeof head);
    assert_int_equal(write(fd, data, sizeof data), (ssize_t)sizeof data);
    dv_fd_source f;
    dv_source s = dv_source_fd_head(&f, fd, sizeof data, head, sizeof head);
    uint8_t buf[100];
    assert_int_equal(s.read_at(s.ctx, 100, buf, 100), 0); /* [100, 200): the head's */
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(buf[i], 'H');
    assert_int_equal(s.read_at(s.ctx, 150, buf, 100), 0); /* [150, 250) leaves the head: the file's */
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(buf[i], 'F');
    assert_int_equal(s.read_at(s.ctx, 250, buf, 100), -1); /* past the end */
    assert_int_equal(dv_source_fd_of(&s), fd);
    /* Without a descriptor only the head can be read. */
    dv_source h = dv_source_fd_head(&f, -1, sizeof head, head, sizeof head);
    assert_int_equal(h.read_at(h.ctx, 0, buf, 100), 0);
    assert_int_equal(h.read_at(h.ctx, 150, buf, 100), -1);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_fd_source_reads), cmocka_unit_test(test_head_serves_first_bytes)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
