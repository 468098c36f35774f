/* The pixel stage's memory budget (dicomveil/dv_pixel_budget.h: why a second budget, why no deadlock). A ticket
 * queue: each taker draws a ticket and is served only when every earlier ticket was, so a large grant waiting for
 * room is not overtaken for ever by small ones. [tests/unit/test_run.c: test_pixel_budget_*] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "dv_waitable.h"
#include "dicomveil/dv_pixel_budget.h"

#define MIB (1024ull * 1024ull)

struct dv_pixel_budget {
    pthread_mutex_t lock;
    pthread_cond_t turn;
    uint64_t total, granted, peak;
    uint64_t next_ticket, serving; /* the ticket drawn by the next taker; the one allowed to take now */
};

dv_pixel_budget *dv_pixel_budget_new(uint64_t total, dv_error *err)
{
    if (total < MIB) {
        dv_fail(err, DV_ERR_USAGE, "a pixel memory budget of %llu bytes is below 1 MiB", (unsigned long long)total);
        return NULL;
    }
    dv_pixel_budget *b = calloc(1, sizeof *b);
    if (!b) {
        dv_fail(err, DV_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (dv_waitable_init(&b->lock, &b->turn, err) != 0) {
        free(b);
        return NULL;
    }
    b->total = total;
    return b;
}

void dv_pixel_budget_free(dv_pixel_budget *b)
{
    if (!b)
        return;
    dv_waitable_destroy(&b->lock, &b->turn);
    free(b);
}

uint64_t dv_pixel_budget_total(const dv_pixel_budget *b)
{
    return b->total;
}

static uint64_t read_locked(const dv_pixel_budget *b, const uint64_t *field)
{
    dv_pixel_budget *m = (dv_pixel_budget *)b; /* the lock is the only thing written */
    pthread_mutex_lock(&m->lock);
    uint64_t v = *field;
    pthread_mutex_unlock(&m->lock);
    return v;
}

uint64_t dv_pixel_budget_peak(const dv_pixel_budget *b)
{
    return read_locked(b, &b->peak);
}

uint64_t dv_pixel_budget_in_use(const dv_pixel_budget *b)
{
    return read_locked(b, &b->granted);
}

uint64_t dv_pixel_budget_waiting(const dv_pixel_budget *b)
{
    dv_pixel_budget *m = (dv_pixel_budget *)b;
    pthread_mutex_lock(&m->lock);
    uint64_t w = m->next_ticket - m->serving;
    pthread_mutex_unlock(&m->lock);
    return w;
}

/* A control group's memory limit in bytes, or 0 when the file is missing or says "max" (no limit). */
static uint64_t cgroup_limit(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[64] = "";
    uint64_t v = 0;
    if (fgets(line, sizeof line, f) && line[0] >= '0' && line[0] <= '9')
        v = strtoull(line, NULL, 10);
    fclose(f);
    return v;
}

uint64_t dv_pixel_budget_default_total(void)
{
    return dv_pixel_budget_default_share(1);
}

uint64_t dv_pixel_budget_default_share(unsigned processes)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    uint64_t mem = pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 0;
    /* In a container the machine's memory is not ours: its control group's limit is (v2, then v1; machine
     * configuration read as sysconf reads /proc, not data). A limit above the machine's ("unlimited" in v1 is a
     * huge number) changes nothing. */
    const char *const files[] = {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        uint64_t lim = cgroup_limit(files[i]);
        if (lim && (mem == 0 || lim < mem))
            mem = lim;
    }
    uint64_t share = mem / 2 / (processes ? processes : 1);
    return share < 256 * MIB ? 256 * MIB : share;
}

int dv_pixel_budget_take(dv_pixel_budget *b, uint64_t n)
{
    if (n == 0)
        return 0;
    if (n > b->total)
        return -1; /* would never fit: fail now, not after waiting (the outcome must not depend on timing) */
    pthread_mutex_lock(&b->lock);
    uint64_t mine = b->next_ticket++;
    while (mine != b->serving || b->granted + n > b->total)
        pthread_cond_wait(&b->turn, &b->lock);
    b->granted += n;
    if (b->granted > b->peak)
        b->peak = b->granted;
    b->serving++;
    pthread_cond_broadcast(&b->turn); /* the next ticket may fit too */
    pthread_mutex_unlock(&b->lock);
    return 0;
}

void dv_pixel_budget_give(dv_pixel_budget *b, uint64_t n)
{
    if (n == 0)
        return;
    pthread_mutex_lock(&b->lock);
    b->granted -= n <= b->granted ? n : b->granted;
    pthread_cond_broadcast(&b->turn);
    pthread_mutex_unlock(&b->lock);
}
