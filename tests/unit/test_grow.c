/* dv_grow (src/util/dv_grow.h), the one doubling array growth: capacities double from the first size, the
 * contents survive, a failure leaves the array and its capacity as they were, and a size that would overflow
 * size_t is refused instead of wrapping. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/dv_grow.h"

typedef struct pair {
    int a;
    double b;
} pair;

static void test_grow_doubles(void **state)
{
    (void)state;
    pair *v = NULL;
    size_t n = 0, cap = 0, grows = 0;
    for (int i = 0; i < 1000; i++) {
        size_t before = cap;
        assert_int_equal(dv_grow(&v, &cap, n + 1, sizeof *v, 8), 0);
        if (cap != before) {
            grows++;
            assert_int_equal(cap, before ? before * 2 : 8); /* doubling from the first size */
        }
        v[n++] = (pair){i, i * 0.5};
    }
    assert_int_equal(cap, 1024);
    assert_int_equal(grows, 8); /* 8, 16, ..., 1024: O(log n) reallocations */
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(v[i].a, i);
        assert_true(v[i].b == i * 0.5);
    }
    /* Room already there: nothing changes. */
    pair *same = v;
    assert_int_equal(dv_grow(&v, &cap, 1000, sizeof *v, 8), 0);
    assert_ptr_equal(v, same);
    assert_int_equal(cap, 1024);
    /* A need far beyond the next doubling is met in one call. */
    assert_int_equal(dv_grow(&v, &cap, 5000, sizeof *v, 8), 0);
    assert_int_equal(cap, 8192);
    assert_int_equal(v[999].a, 999);
    free(v);

    char *s = NULL; /* first == 0 still makes progress */
    size_t scap = 0;
    assert_int_equal(dv_grow(&s, &scap, 3, 1, 0), 0);
    assert_int_equal(scap, 4);
    free(s);
}

static void test_grow_keeps_on_failure(void **state)
{
    (void)state;
    int *v = NULL;
    size_t cap = 0;
    assert_int_equal(dv_grow(&v, &cap, 4, sizeof *v, 4), 0);
    v[3] = 42;
    int *kept = v;
    /* A size no allocator can satisfy (need * elem > SIZE_MAX; a real realloc failure cannot be provoked under
     * ASan, which aborts instead): refused, the old array untouched and still ours. */
    errno = 0;
    assert_int_equal(dv_grow(&v, &cap, SIZE_MAX / sizeof *v + 1, sizeof *v, 4), -1);
    assert_int_equal(errno, ENOMEM);
    assert_ptr_equal(v, kept);
    assert_int_equal(cap, 4);
    assert_int_equal(v[3], 42);
    free(v);
}

static void test_grow_overflow(void **state)
{
    (void)state;
    uint64_t *v = NULL;
    size_t cap = 0;
    /* need * elem wraps size_t: refused before any realloc (a wrapped size would allocate too little). */
    errno = 0;
    assert_int_equal(dv_grow(&v, &cap, SIZE_MAX / 2, sizeof *v, 16), -1);
    assert_int_equal(errno, ENOMEM);
    assert_null(v);
    assert_int_equal(cap, 0);
    /* A capacity whose doubling wraps stops at what is needed (then refused here: elem 8 overflows). */
    size_t big = SIZE_MAX / 2 + 2;
    errno = 0;
    assert_int_equal(dv_grow(&v, &big, SIZE_MAX, sizeof *v, 16), -1);
    assert_int_equal(big, SIZE_MAX / 2 + 2);
    assert_null(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grow_doubles),
        cmocka_unit_test(test_grow_keeps_on_failure),
        cmocka_unit_test(test_grow_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
