/* The idle rebuild of the index (dvs_index_ops.idle; docs/server.md "What the index forgets"): what a DICOMweb
 * DELETE or an operation's finish forgot leaves copies in free parts of live SQLite pages until a VACUUM, which
 * costs about a second on 100,000 instances while every write waits: too much per DELETE, so it runs once the
 * index has seen no write for INDEX_SETTLE_MS, or at the latest INDEX_DUE_MAX_MS after it became due, should
 * writes never pause that long (then by this look or by the write that ends then: dvs_sx_unlock). The header
 * sweeper's thread (request_guard.c), which wakes once a second for the life of the server, makes the call: no
 * thread of its own. [test_store: test_sqlite_study_delete_leaves_no_uid_when_idle,
 * test_sqlite_rebuild_overdue_under_writes, test_sqlite_overdue_rebuild_by_back_to_back_writes;
 * test_server_names.py "the index is rebuilt once idle"] */
#include <stdlib.h>
#include <time.h>

#include "http/server_internal.h"

/* 30 s: long enough that a client deleting study after study (or an operation finishing item after item) pays
 * one rebuild at the end, not one per pause between its requests; short enough that what it forgot is gone
 * within a minute. DICOMVEIL_INDEX_SETTLE_MS sets it (tests). */
#define INDEX_SETTLE_MS 30000u
/* 10 minutes: a long import beside DELETEs (a STOW every few seconds never leaves 30 s quiet) still has what they
 * forgot rebuilt away within 10 minutes, and its STOWs wait for one rebuild (~1-2 s on 100,000 instances) at most
 * once in 10 minutes. DICOMVEIL_INDEX_DUE_MAX_MS sets it (tests). */
#define INDEX_DUE_MAX_MS 600000u

static unsigned ms_from_env(const char *name, unsigned dflt)
{
    const char *env = getenv(name);
    char *end;
    unsigned long v = env && *env ? strtoul(env, &end, 10) : 0;
    return env && *env && *end == '\0' && v <= 86400000ul ? (unsigned)v : dflt;
}

void dvh_index_idle_init(dvh_server *s)
{
    s->index_settle_ms = ms_from_env("DICOMVEIL_INDEX_SETTLE_MS", INDEX_SETTLE_MS);
    s->index_due_max_ms = ms_from_env("DICOMVEIL_INDEX_DUE_MAX_MS", INDEX_DUE_MAX_MS);
}

void dvh_index_idle(dvh_server *s)
{
    if (s->ix == NULL || s->ix->ops->idle == NULL)
        return;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (s->ix->ops->idle(s->ix, s->index_settle_ms, s->index_due_max_ms) == 0)
        return;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    dvh_logf(s, "{\"event\":\"index rebuilt\",\"reason\":\"idle after a forgetting write\",\"ms\":%ld}\n", ms);
}
