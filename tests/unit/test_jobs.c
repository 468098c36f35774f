/* The operations worker pool (src/jobs/pool.c): every accepted job is either run or discarded, exactly once;
 * the queue is bounded (DV_ERR_LIMIT); shutdown tells running jobs to stop (dvj_pool_stopping), discards the
 * queued ones and joins the threads. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdatomic.h>
#include <time.h>
#include <cmocka.h>

#include "jobs/dvj_pool.h"

typedef struct counters {
    atomic_int ran, discarded, saw_stop, started;
    atomic_int release; /* blocking jobs wait until this is set or the pool stops */
} counters;

static void count_run(dvj_pool *p, void *arg)
{
    (void)p;
    atomic_fetch_add(&((counters *)arg)->ran, 1);
}

static void count_discard(void *arg)
{
    atomic_fetch_add(&((counters *)arg)->discarded, 1);
}

static void nap(void)
{
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
}

/* A job that runs until the pool stops (an operation's instance loop checking its cancel callback). */
static void blocking_run(dvj_pool *p, void *arg)
{
    counters *c = arg;
    atomic_fetch_add(&c->started, 1);
    while (!dvj_pool_stopping(p) && !atomic_load(&c->release))
        nap();
    if (dvj_pool_stopping(p))
        atomic_fetch_add(&c->saw_stop, 1);
    atomic_fetch_add(&c->ran, 1);
}

static void test_runs_every_job(void **state)
{
    (void)state;
    counters c = {0};
    dv_error err;
    dvj_pool *p = dvj_pool_new(3, 1000, &err);
    assert_non_null(p);
    dvj_job j = {count_run, count_discard, &c};
    for (int i = 0; i < 500; i++)
        assert_int_equal(dvj_pool_submit(p, &j, &err), 0);
    while (atomic_load(&c.ran) < 500)
        nap();
    dvj_pool_shutdown(p);
    assert_int_equal(atomic_load(&c.ran), 500);
    assert_int_equal(atomic_load(&c.discarded), 0);
}

static void test_shutdown_stops_and_discards(void **state)
{
    (void)state;
    counters c = {0};
    dv_error err;
    dvj_pool *p = dvj_pool_new(2, 4, &err);
    assert_non_null(p);
    dvj_job block = {blocking_run, count_discard, &c};
    assert_int_equal(dvj_pool_submit(p, &block, &err), 0);
    assert_int_equal(dvj_pool_submit(p, &block, &err), 0);
    while (atomic_load(&c.started) < 2)
        nap();
    /* Both workers busy: four more fill the queue, the fifth is refused as a limit. */
    for (int i = 0; i < 4; i++)
        assert_int_equal(dvj_pool_submit(p, &block, &err), 0);
    assert_int_equal(dvj_pool_queued(p), 4);
    assert_int_equal(dvj_pool_submit(p, &block, &err), -1);
    assert_int_equal(err.code, DV_ERR_LIMIT);
    dvj_pool_shutdown(p);
    assert_int_equal(atomic_load(&c.ran), 2);
    assert_int_equal(atomic_load(&c.saw_stop), 2);
    assert_int_equal(atomic_load(&c.discarded), 4);
}

static void test_bad_sizes(void **state)
{
    (void)state;
    dv_error err;
    assert_null(dvj_pool_new(0, 10, &err));
    assert_int_equal(err.code, DV_ERR_USAGE);
    assert_null(dvj_pool_new(2, 0, &err));
    assert_int_equal(err.code, DV_ERR_USAGE);
    dvj_pool_shutdown(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs_every_job),
        cmocka_unit_test(test_shutdown_stops_and_discards),
        cmocka_unit_test(test_bad_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
