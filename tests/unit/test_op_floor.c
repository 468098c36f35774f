/* Operations waiting for --min-free-disk (src/http/op_floor.c), without a server: a parked chunk's operation may
 * end (its op_ctx freed) as soon as the chunk is in the floor's list, by a stop (dvh_op_floor_close) or a cancel
 * (dvh_op_floor_poke), while the thread that parked it is still writing the "operation waiting for free disk
 * space" line. That line must not read the op_ctx then. The discard here stands for the chunk's last reference:
 * it scribbles over the op_ctx as its end would free it (checked without a sanitizer), and the log line must
 * still name the operation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include "http/op_internal.h"

static int no_op_get(dvs_index *ix, int64_t dataset_id, int64_t id, dvs_operation *out, dv_error *err)
{
    (void)ix;
    (void)dataset_id;
    (void)id;
    (void)out;
    (void)err;
    return DVS_NOT_FOUND;
}

static const dvs_index_ops k_ops = {.op_get = no_op_get};

typedef struct fixture {
    dvs_index ix;
    dvh_server *s;
    dvh_ops *o;
    dvh_op_floor *f;
    dvh_op_ctx *c;
    dvh_op_parked node; /* the parked chunk's node (a chunk job holds its own: op_jobs.c) */
    atomic_int discarded;
} fixture;

static void never_run(dvj_pool *pool, void *arg)
{
    (void)pool;
    (void)arg;
    fail_msg("a chunk parked below an unreachable floor was queued");
}

/* The chunk's last reference goes: the op_ctx ends (scribbled over here instead of freed, so that a read of it
 * afterwards shows without a sanitizer). */
static fixture *g_fx;
static void discard_last(void *arg)
{
    dvh_op_ctx *c = arg;
    memset(c, 0xA5, sizeof *c);
    atomic_store(&g_fx->discarded, 1);
}

static void *park_thread(void *arg)
{
    fixture *fx = arg;
    fx->node = (dvh_op_parked){.c = fx->c, .job = {never_run, discard_last, fx->c}};
    dvh_op_floor_park(fx->f, &fx->node);
    return NULL;
}

static void setup(fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    g_fx = fx;
    fx->ix.ops = &k_ops;
    fx->s = calloc(1, sizeof *fx->s);
    assert_non_null(fx->s);
    fx->s->ix = &fx->ix;
    fx->s->cfg.log = tmpfile();
    assert_non_null(fx->s->cfg.log);
    fx->s->cfg.min_free_disk = UINT64_MAX; /* never any room: the chunk stays parked */
    fx->s->data_fd = open("/", O_RDONLY | O_DIRECTORY);
    assert_true(fx->s->data_fd >= 0);
    pthread_mutex_init(&fx->s->log_mu, NULL);
    fx->o = calloc(1, sizeof *fx->o);
    assert_non_null(fx->o);
    fx->o->srv = fx->s;
    dv_error err = {0};
    fx->f = dvh_op_floor_start(fx->o, &err);
    assert_non_null(fx->f);
    fx->o->disk_floor = fx->f;
    fx->c = calloc(1, sizeof *fx->c);
    assert_non_null(fx->c);
    fx->c->ops = fx->o;
    fx->c->id = 7;
}

/* Park from another thread while the log's mutex is held here: the chunk is in the list (its episode began)
 * and the parking thread waits to write its line. */
static pthread_t park_blocked_on_log(fixture *fx)
{
    pthread_mutex_lock(&fx->s->log_mu);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, park_thread, fx), 0);
    while (atomic_load(&fx->c->floor_since) == 0)
        usleep(1000);
    usleep(20000); /* past the unlock of the floor's mutex, at the log's */
    return t;
}

static void check_log_and_free(fixture *fx, pthread_t t)
{
    pthread_mutex_unlock(&fx->s->log_mu);
    pthread_join(t, NULL);
    char line[512] = "";
    rewind(fx->s->cfg.log);
    assert_non_null(fgets(line, sizeof line, fx->s->cfg.log));
    assert_non_null(strstr(line, "\"operation waiting for free disk space\""));
    if (strstr(line, "\"operation\":7,") == NULL)
        fail_msg("the waiting line read the ended operation: %s", line);
    fclose(fx->s->cfg.log);
    close(fx->s->data_fd);
    pthread_mutex_destroy(&fx->s->log_mu);
    free(fx->c);
    free(fx->o);
    free(fx->s);
}

/* A stop while the parking thread waits for the log: the chunk is discarded and its operation ends. */
static void test_stop_while_logging(void **state)
{
    (void)state;
    fixture fx;
    setup(&fx);
    pthread_t t = park_blocked_on_log(&fx);
    dvh_op_floor_close(fx.f);
    assert_int_equal(atomic_load(&fx.discarded), 1);
    check_log_and_free(&fx, t);
    dvh_op_floor_free(fx.f);
}

/* A cancel likewise (operations.cancel: the flag, then the poke). */
static void test_cancel_while_logging(void **state)
{
    (void)state;
    fixture fx;
    setup(&fx);
    pthread_t t = park_blocked_on_log(&fx);
    atomic_store(&fx.c->cancel, 1);
    dvh_op_floor_poke(fx.f);
    while (!atomic_load(&fx.discarded))
        usleep(1000);
    check_log_and_free(&fx, t);
    dvh_op_floor_close(fx.f);
    dvh_op_floor_free(fx.f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_while_logging),
        cmocka_unit_test(test_cancel_while_logging),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
