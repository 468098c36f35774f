/* The idle rebuild of the index (dvs_index_ops.idle; docs/server.md "What the index forgets"): what a DICOMweb
 * DELETE or an operation's finish forgot leaves copies in free parts of live SQLite pages until a VACUUM, which
 * costs about a second on 100,000 instances while every write waits: too much per DELETE, so it runs once the
 * index has seen no write for INDEX_SETTLE_MS. The header sweeper's thread (request_guard.c), which wakes once a
 * second for the life of the server, makes the call: no thread of its own. [test_store:
 * test_sqlite_study_delete_leaves_no_uid_when_idle; test_server_names.py "the index is rebuilt once idle"] */
#include <stdlib.h>
#include <time.h>

#include "http/server_internal.h"

/* 30 s: long enough that a client deleting study after study (or an operation finishing item after item) pays
 * one rebuild at the end, not one per pause between its requests; short enough that what it forgot is gone
 * within a minute. DICOMVEIL_INDEX_SETTLE_MS sets it (tests). */
#define INDEX_SETTLE_MS 30000u

void dvh_index_idle_init(dvh_server *s)
{
    s->index_settle_ms = INDEX_SETTLE_MS;
    const char *env = getenv("DICOMVEIL_INDEX_SETTLE_MS");
    char *end;
    unsigned long v = env && *env ? strtoul(env, &end, 10) : 0;
    if (env && *env && *end == '\0' && v <= 86400000ul)
        s->index_settle_ms = (unsigned)v;
}

void dvh_index_idle(dvh_server *s)
{
    if (s->ix == NULL || s->ix->ops->idle == NULL)
        return;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (s->ix->ops->idle(s->ix, s->index_settle_ms) == 0)
        return;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    dvh_logf(s, "{\"event\":\"index rebuilt\",\"reason\":\"idle after a forgetting write\",\"ms\":%ld}\n", ms);
}
