/* Where an operation's wall time goes, in one server log line when it ends ("operation pipeline"): the
 * milliseconds from its launch to the end of planning, to the first chunk's start, to the last chunk handed
 * to the durability stage, to its last item finished; the stage's rounds that carried its outputs and the time
 * they spent in syncfs, in the group commit and in finishing items; how long the pool threads waited for room
 * in the stage; the pool threads' time in the operation's chunks; and how long it waited for free disk space
 * (--min-free-disk, op_floor.c). Why: the operation's rate against the CLI's disk-to-disk one is decided by how
 * these phases overlap (bench/RESULTS.md "Operation pipeline, second pass"), and the bench must be able to show
 * it without a profiler. Counts and times only: no PHI.
 * [test_server_ops.py "pipeline timings"] */
#include <stdio.h>
#include <time.h>

#include "http/op_internal.h"

uint64_t dvh_op_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void dvh_op_timing_mark(atomic_uint_fast64_t *at, uint64_t t0)
{
    uint64_t d = dvh_op_now_ns() - t0;
    /* The latest mark wins (the last chunk handed over, the last item finished); the first one for "first". */
    uint64_t cur = atomic_load(at);
    while (d > cur && !atomic_compare_exchange_weak(at, &cur, d))
        ;
}

void dvh_op_timing_first(atomic_uint_fast64_t *at, uint64_t t0)
{
    uint64_t d = dvh_op_now_ns() - t0, zero = 0;
    (void)atomic_compare_exchange_strong(at, &zero, d ? d : 1);
}

static double ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

void dvh_op_timing_log(dvh_op_ctx *c)
{
    dvh_server *s = c->ops->srv;
    dvh_op_timing *t = &c->timing;
    dvh_logf(s,
            "{\"event\":\"operation pipeline\",\"operation\":%lld,\"setup_ms\":%.1f,\"planned_ms\":%.1f,\"first_chunk_ms\":%.1f,"
            "\"last_handover_ms\":%.1f,\"last_finish_ms\":%.1f,\"end_ms\":%.1f,\"chunks\":%llu,\"rounds\":%llu,"
            "\"syncfs_ms\":%.1f,\"commit_ms\":%.1f,\"finish_ms\":%.1f,\"room_wait_ms\":%.1f,\"pool_ms\":%.1f,"
            "\"disk_wait_ms\":%.1f}\n",
            (long long)c->id, ms(atomic_load(&t->setup)), ms(atomic_load(&t->planned)), ms(atomic_load(&t->first_chunk)),
            ms(atomic_load(&t->last_handover)), ms(atomic_load(&t->last_finish)), ms(dvh_op_now_ns() - t->start),
            (unsigned long long)atomic_load(&t->chunks), (unsigned long long)atomic_load(&t->rounds),
            ms(atomic_load(&t->syncfs_ns)), ms(atomic_load(&t->commit_ns)), ms(atomic_load(&t->finish_ns)),
            ms(atomic_load(&t->room_wait_ns)), ms(atomic_load(&t->pool_ns)), ms(atomic_load(&t->disk_wait_ns)));
}
