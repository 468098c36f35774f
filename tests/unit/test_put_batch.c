/* The put path's group commit (src/http/put_batch.c) with a fake index and a counting sync: concurrent puts
 * share syncs (fewer syncs than puts), every row is committed only after a sync that started after its file was
 * written and named, and every put returns only after its row is committed; a failed syncfs falls back to an
 * fsync per file, and a file that cannot be made durable fails only its own instance; files durable already
 * (an operation's outputs) cost no sync. docs/server.md "Durability". */
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http/server_internal.h"
#include "store/dvs_blobs.h"

#define N 16
#define STORE 7

/* The test's view of the puts (a sync callback has no user pointer: one test at a time). */
static struct {
    dvs_blob_writer *w[N];
    dvs_instance_rec rec[N];
    atomic_long clock;          /* a logical clock ordering writes, syncs and commits */
    atomic_long written_at[N];  /* when put k's file was complete and named */
    atomic_long synced_at[N];   /* when the sync that covered put k's file started (0: none yet) */
    atomic_long committed_at[N];
    atomic_int syncs, violations;
    int fail_sync;              /* the fake syncfs fails */
} t;

static int index_of_writer(dvs_blob_writer *w)
{
    for (int k = 0; k < N; k++)
        if (t.w[k] == w)
            return k;
    return -1;
}

static int counting_sync(dvs_blob_writer *const *w, size_t n)
{
    long start = atomic_fetch_add(&t.clock, 1) + 1;
    atomic_fetch_add(&t.syncs, 1);
    struct timespec ts = {0, 40 * 1000 * 1000}; /* a slow disk: the other puts queue meanwhile */
    nanosleep(&ts, NULL);
    if (t.fail_sync)
        return -1;
    int rc = dvs_blob_sync_many(w, n);
    for (size_t i = 0; i < n; i++) {
        int k = index_of_writer(w[i]);
        if (k < 0 || atomic_load(&t.written_at[k]) == 0 || atomic_load(&t.written_at[k]) >= start)
            atomic_fetch_add(&t.violations, 1); /* a file the sync could not cover */
        else
            atomic_store(&t.synced_at[k], start);
    }
    return rc;
}

static int fake_put_batch(dvs_index *ix, size_t n, const int64_t *store_ids, const dvs_instance_rec *const *recs,
                          char (*existing)[65], int *rcs, dv_error *err)
{
    (void)ix, (void)store_ids, (void)existing, (void)err;
    for (size_t i = 0; i < n; i++) {
        int k = (int)(recs[i] - t.rec);
        if (k < 0 || k >= N || !dvs_blob_synced(t.w[k]))
            atomic_fetch_add(&t.violations, 1); /* a row before its file is durable */
        atomic_store(&t.committed_at[k], atomic_fetch_add(&t.clock, 1) + 1);
        rcs[i] = DVS_OK;
    }
    return 0;
}

static const dvs_index_ops fake_ops = {.instance_put_batch = fake_put_batch};

typedef struct {
    dvh_server *srv;
    int k;
    int broken; /* its file cannot be fsync'ed (its descriptor becomes a pipe's) */
    int presynced;
    pthread_barrier_t *start;
    int rc;
    int pipe_fd[2];
} put_arg;

static void *put_one(void *arg)
{
    put_arg *a = arg;
    dv_error err = {0};
    int k = a->k;
    pthread_barrier_wait(a->start);
    /* No cmocka assertion off the main thread (its longjmp): failures count as violations. */
#define CHECK(cond) \
    do { \
        if (!(cond)) { \
            atomic_fetch_add(&t.violations, 1); \
            a->rc = -2; \
            return NULL; \
        } \
    } while (0)
    dvs_blob_writer *w = dvs_blob_begin(a->srv->data_fd, STORE, 1 << 20, &err);
    CHECK(w != NULL);
    char text[32];
    int len = snprintf(text, sizeof text, "instance %d", k);
    CHECK(dvs_blob_write(w, text, (size_t)len, &err) == 0);
    CHECK(dvs_blob_finish(w, &err) == 0);
    if (a->presynced)
        CHECK(dvs_blob_sync(w, &err) == 0);
    dvs_blob_defer_sync(w);
    snprintf(t.rec[k].blob, sizeof t.rec[k].blob, "%064x", (unsigned)k + 1);
    t.w[k] = w;
    CHECK(dvs_blob_link(w, t.rec[k].blob, 0, &err) == 0);
    if (a->broken) {
        CHECK(pipe(a->pipe_fd) == 0);
        CHECK(dup2(a->pipe_fd[0], dvs_blob_fd(w)) >= 0); /* fsync of a pipe fails (EINVAL) */
    }
    atomic_store(&t.written_at[k], atomic_fetch_add(&t.clock, 1) + 1);
    int64_t id = STORE;
    const dvs_instance_rec *rec = &t.rec[k];
    char existing[1][65];
    dvh_batch_put_many(a->srv, 1, &id, &rec, &w, existing, &a->rc);
    /* Back only once its row is committed (or it failed). */
    if (a->rc == DVS_OK && atomic_load(&t.committed_at[k]) == 0)
        atomic_fetch_add(&t.violations, 1);
    t.w[k] = NULL;
    dvs_blob_abort(w);
    if (a->broken) {
        close(a->pipe_fd[0]);
        close(a->pipe_fd[1]);
    }
    return NULL;
#undef CHECK
}

/* N concurrent puts of one file each; broken: the index of the one whose file cannot be fsync'ed, or -1. */
static void run_puts(int fail_sync, int broken, int presynced, put_arg *args)
{
    memset(&t, 0, sizeof t);
    t.fail_sync = fail_sync;
    char tmp[] = "/tmp/dv-test-put-batch-XXXXXX";
    assert_non_null(mkdtemp(tmp));
    dvh_server *srv = calloc(1, sizeof *srv);
    assert_non_null(srv);
    dvs_index ix = {.ops = &fake_ops};
    srv->ix = &ix;
    srv->data_fd = open(tmp, O_RDONLY | O_DIRECTORY);
    assert_true(srv->data_fd >= 0);
    srv->batch = dvh_batcher_new();
    assert_non_null(srv->batch);
    dvh_batcher_set_sync(srv->batch, counting_sync);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, N);
    pthread_t th[N];
    for (int k = 0; k < N; k++) {
        args[k] = (put_arg){.srv = srv, .k = k, .broken = k == broken, .presynced = presynced, .start = &start};
        assert_int_equal(pthread_create(&th[k], NULL, put_one, &args[k]), 0);
    }
    for (int k = 0; k < N; k++)
        pthread_join(th[k], NULL);
    pthread_barrier_destroy(&start);
    dvh_batcher_free(srv->batch);
    assert_int_equal(dvs_store_dir_remove(srv->data_fd, STORE), 0);
    close(srv->data_fd);
    free(srv);
    rmdir(tmp);
}

static void test_group_syncs(void **state)
{
    (void)state;
    put_arg a[N];
    run_puts(0, -1, 0, a);
    for (int k = 0; k < N; k++) {
        assert_int_equal(a[k].rc, DVS_OK);
        /* its row after a sync that started after its file was written and named */
        assert_true(t.synced_at[k] > t.written_at[k]);
        assert_true(t.committed_at[k] > t.synced_at[k]);
    }
    assert_int_equal(t.violations, 0);
    assert_true(t.syncs >= 1);
    assert_true(t.syncs < N); /* shared: 16 puts during 40 ms syncs cannot each have their own */
}

static void test_sync_failure_falls_back(void **state)
{
    (void)state;
    put_arg a[N];
    run_puts(1, 5, 0, a);
    for (int k = 0; k < N; k++)
        assert_int_equal(a[k].rc, k == 5 ? -1 : DVS_OK); /* only the file that cannot be made durable fails */
    assert_int_equal(t.committed_at[5], 0);
    assert_int_equal(t.violations, 0); /* the others were fsync'ed one by one before their rows */
}

static void test_durable_files_cost_no_sync(void **state)
{
    (void)state;
    put_arg a[N];
    run_puts(0, -1, 1, a);
    for (int k = 0; k < N; k++)
        assert_int_equal(a[k].rc, DVS_OK);
    assert_int_equal(t.syncs, 0);
    assert_int_equal(t.violations, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_syncs),
        cmocka_unit_test(test_sync_failure_falls_back),
        cmocka_unit_test(test_durable_files_cost_no_sync),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
