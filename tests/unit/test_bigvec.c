/* dv_big_grow (src/util/dv_bigvec.h), rank 0's per-input arrays: dv_grow's contract (capacities double from the
 * first size, contents survive, failures leave the array as it was), plus what the module is for: the array is a
 * 2 MiB aligned mapping with huge-page advice, and growing it moves pages instead of copying or re-faulting them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <cmocka.h>

#include "util/dv_bigvec.h"

#define MIB ((size_t)1 << 20)

/* The VmFlags of the mapping that holds addr (/proc/self/smaps), or "" when none is found. */
static void vm_flags(const void *addr, char *out, size_t cap)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    assert_non_null(f);
    char line[512];
    int inside = 0;
    out[0] = '\0';
    uintptr_t a = (uintptr_t)addr;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            inside = a >= lo && a < hi;
        } else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
            size_t len = strlen(line + 8);
            if (len >= cap)
                len = cap - 1;
            memcpy(out, line + 8, len);
            out[len] = '\0';
            break;
        }
    }
    fclose(f);
}

static void test_big_grow_doubles_and_keeps(void **state)
{
    (void)state;
    uint64_t *v = NULL;
    size_t cap = 0, grows = 0;
    /* 3 Mi elements: 24 MiB, so the array is remapped several times past its first 2 MiB page */
    size_t n = 3 * MIB;
    for (size_t i = 0; i < n; i++) {
        size_t before = cap;
        assert_int_equal(dv_big_grow(&v, &cap, i + 1, sizeof *v, 1024), 0);
        if (cap != before) {
            grows++;
            assert_int_equal(cap, before ? before * 2 : 1024);
            assert_int_equal(v[cap - 1], 0); /* new elements read as zero */
        }
        v[i] = i * 2654435761u;
    }
    assert_int_equal(cap, 4 * MIB);
    assert_int_equal(grows, 13); /* 1024 .. 4 Mi */
    for (size_t i = 0; i < n; i++)
        if (v[i] != i * 2654435761u)
            fail_msg("element %zu lost across a remap", i);
    /* room already there: nothing moves */
    uint64_t *same = v;
    assert_int_equal(dv_big_grow(&v, &cap, n, sizeof *v, 1024), 0);
    assert_ptr_equal(v, same);
    dv_big_free(v, cap, sizeof *v);
    dv_big_free(NULL, 0, 8);
}

static void test_big_grow_is_huge_page_backed(void **state)
{
    (void)state;
    char *v = NULL;
    size_t cap = 0;
    assert_int_equal(dv_big_grow(&v, &cap, 5 * MIB, 1, 65536), 0);
    assert_int_equal((uintptr_t)v % (2 * MIB), 0); /* a 2 MiB page can back it from its first byte */
    memset(v, 'x', 5 * MIB);
    char flags[256];
    vm_flags(v, flags, sizeof flags);
    assert_non_null(strstr(flags, " hg")); /* MADV_HUGEPAGE: the kernel may use 2 MiB pages here */
    /* Growing moves the pages (mremap), it does not copy them: the bytes arrive without a fault each. */
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    assert_int_equal(dv_big_grow(&v, &cap, 9 * MIB, 1, 65536), 0);
    getrusage(RUSAGE_SELF, &r1);
    assert_true(r1.ru_minflt - r0.ru_minflt < 64); /* a copy would touch 1280 fresh 4 KiB pages */
    assert_int_equal((uintptr_t)v % (2 * MIB), 0);
    for (size_t i = 0; i < 5 * MIB; i++)
        if (v[i] != 'x')
            fail_msg("byte %zu lost across a remap", i);
    vm_flags(v + 8 * MIB, flags, sizeof flags);
    assert_non_null(strstr(flags, " hg")); /* the grown part too */
    dv_big_free(v, cap, 1);
}

/* An array whose range is two mappings (here: the back half's huge-page advice withdrawn, which splits it; the
 * kernel may also leave a moved part and the fresh rest unmerged) still grows with every byte kept: moved where
 * the kernel moves both at once, copied where it refuses. */
static void test_big_grow_across_split_mappings(void **state)
{
    (void)state;
    char *v = NULL;
    size_t cap = 0;
    assert_int_equal(dv_big_grow(&v, &cap, 4 * MIB, 1, 4 * MIB), 0);
    for (size_t i = 0; i < 4 * MIB; i++)
        v[i] = (char)(i * 31);
    assert_int_equal(madvise(v + 2 * MIB, 2 * MIB, MADV_NOHUGEPAGE), 0);
    char flags[256];
    vm_flags(v + 3 * MIB, flags, sizeof flags);
    assert_non_null(strstr(flags, " nh")); /* two mappings now */
    assert_int_equal(dv_big_grow(&v, &cap, 5 * MIB, 1, 4 * MIB), 0);
    assert_int_equal(cap, 8 * MIB);
    for (size_t i = 0; i < 4 * MIB; i++)
        if (v[i] != (char)(i * 31))
            fail_msg("byte %zu lost growing a split array", i);
    assert_int_equal(v[8 * MIB - 1], 0);
    dv_big_free(v, cap, 1);
}

static void test_big_grow_refuses_overflow(void **state)
{
    (void)state;
    int *v = NULL;
    size_t cap = 0;
    assert_int_equal(dv_big_grow(&v, &cap, 4, sizeof *v, 4), 0);
    v[3] = 42;
    int *kept = v;
    errno = 0;
    assert_int_equal(dv_big_grow(&v, &cap, SIZE_MAX / sizeof *v + 1, sizeof *v, 4), -1);
    assert_int_equal(errno, ENOMEM);
    assert_ptr_equal(v, kept);
    assert_int_equal(cap, 4);
    assert_int_equal(v[3], 42);
    /* a size the mapping's rounding to 2 MiB would wrap */
    errno = 0;
    assert_int_equal(dv_big_grow(&v, &cap, SIZE_MAX - 16, 1, 4), -1);
    assert_int_equal(errno, ENOMEM);
    assert_int_equal(v[3], 42);
    dv_big_free(v, cap, sizeof *v);
}

/* The string pool: copies keep their address while later ones fill new blocks; a string longer than a block gets
 * one of its own. */
static void test_big_pool_keeps_addresses(void **state)
{
    (void)state;
    dv_big_pool pool = {0};
    enum { N = 60000 }; /* ~4.6 MB of paths: three 2 MiB blocks */
    static char *kept[N];
    char path[64];
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof path, "/archive/d%03d/f%06d.dcm/with/some/depth/%d", i / 1000, i, i * 7);
        kept[i] = dv_big_pool_dup(&pool, path);
        assert_non_null(kept[i]);
        assert_ptr_not_equal(kept[i], path);
    }
    assert_true(pool.nblocks >= 2);
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof path, "/archive/d%03d/f%06d.dcm/with/some/depth/%d", i / 1000, i, i * 7);
        assert_string_equal(kept[i], path);
    }
    size_t big = 3 * MIB;
    char *longest = malloc(big + 1);
    assert_non_null(longest);
    memset(longest, 'p', big);
    longest[big] = '\0';
    char *k = dv_big_pool_dup(&pool, longest);
    assert_non_null(k);
    assert_int_equal(strlen(k), big);
    assert_string_equal(kept[N - 1] + 1, path + 1); /* earlier copies untouched */
    free(longest);
    assert_non_null(dv_big_pool_dup(&pool, "after")); /* and the pool goes on */
    dv_big_pool_free(&pool);
    assert_int_equal(pool.nblocks, 0);
    assert_non_null(dv_big_pool_dup(&pool, "reused"));
    dv_big_pool_free(&pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_big_grow_doubles_and_keeps),
        cmocka_unit_test(test_big_grow_is_huge_page_backed),
        cmocka_unit_test(test_big_grow_across_split_mappings),
        cmocka_unit_test(test_big_grow_refuses_overflow),
        cmocka_unit_test(test_big_pool_keeps_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
