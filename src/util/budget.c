/* The run-wide memory budget (dv_budget.h: protocol and why it cannot deadlock; docs/decisions.md "Memory
 * budget"). One mutex and one condition variable; an instance takes the lock twice in the common case (its
 * slice at its first arena block, and the release at its end), never per allocation.
 * [tests/unit/test_run.c: test_budget_*] */
#include <pthread.h>
#include <stdlib.h>

#include "dv_waitable.h"
#include "dv_lease.h"

struct dv_budget {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    uint64_t total, instance_max;
    uint64_t granted; /* sum of every lease's held */
    uint64_t peak;
    unsigned growing; /* leases waiting for a large grant: no new slice while any waits (no starvation) */
};

dv_budget *dv_budget_new(uint64_t total, uint64_t instance_max, dv_error *err)
{
    if (instance_max < DV_BUDGET_SLICE)
        instance_max = DV_BUDGET_SLICE;
    if (total < instance_max || total - instance_max < DV_BUDGET_SLICE) {
        dv_fail(err, DV_ERR_USAGE,
                "a memory budget of %llu bytes is below one instance's maximum (%llu) plus a %u-byte slice",
                (unsigned long long)total, (unsigned long long)instance_max, DV_BUDGET_SLICE);
        return NULL;
    }
    dv_budget *b = calloc(1, sizeof *b);
    if (!b) {
        dv_fail(err, DV_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (dv_waitable_init(&b->lock, &b->freed, err) != 0) {
        free(b);
        return NULL;
    }
    b->total = total;
    b->instance_max = instance_max;
    return b;
}

void dv_budget_free(dv_budget *b)
{
    if (!b)
        return;
    dv_waitable_destroy(&b->lock, &b->freed);
    free(b);
}

uint64_t dv_budget_total(const dv_budget *b)
{
    return b->total;
}

uint64_t dv_budget_instance_max(const dv_budget *b)
{
    return b->instance_max;
}

uint64_t dv_budget_peak(const dv_budget *b)
{
    dv_budget *m = (dv_budget *)b; /* the lock is the only thing written */
    pthread_mutex_lock(&m->lock);
    uint64_t p = m->peak;
    pthread_mutex_unlock(&m->lock);
    return p;
}

uint64_t dv_budget_in_use(const dv_budget *b)
{
    dv_budget *m = (dv_budget *)b;
    pthread_mutex_lock(&m->lock);
    uint64_t g = m->granted;
    pthread_mutex_unlock(&m->lock);
    return g;
}

static void grant_locked(dv_budget *b, dv_lease *l, uint64_t to)
{
    b->granted += to - l->held;
    l->held = to;
    if (b->granted > b->peak)
        b->peak = b->granted;
}

/* The large grant: the whole maximum at once, so this instance never waits again. Waiting here holds at most the
 * slice, and the slice rule guarantees the slices alone leave room for one large grant. */
static void grow_locked(dv_budget *b, dv_lease *l)
{
    b->growing++;
    while (b->granted - l->held + l->max > b->total)
        pthread_cond_wait(&b->freed, &b->lock);
    b->growing--;
    grant_locked(b, l, l->max);
    if (b->growing == 0)
        pthread_cond_broadcast(&b->freed); /* slices held back for us may go now */
}

void dv_lease_init(dv_lease *l, dv_budget *b, uint64_t max)
{
    l->budget = b;
    l->max = b && max > b->instance_max ? b->instance_max : max;
    l->held = 0;
    l->used = 0;
}

int dv_lease_charge(dv_lease *l, uint64_t n)
{
    if (n > l->max - l->used)
        return -1;
    l->used += n;
    if (!l->budget || l->used <= l->held)
        return 0; /* the common case: within what is already granted, no lock */
    dv_budget *b = l->budget;
    pthread_mutex_lock(&b->lock);
    if (l->held == 0) {
        /* A slice, holding nothing: only while one more large grant would still fit after it, and never
         * ahead of an instance waiting to grow. */
        while (b->growing || b->granted + DV_BUDGET_SLICE + b->instance_max > b->total)
            pthread_cond_wait(&b->freed, &b->lock);
        grant_locked(b, l, DV_BUDGET_SLICE);
    }
    if (l->used > l->held) {
        /* Large: the whole maximum at once, so this instance never waits again. Waiting here holds only the
         * slice, and the slice rule above guarantees the slices alone leave room for one large grant. */
        grow_locked(b, l);
    }
    pthread_mutex_unlock(&b->lock);
    return 0;
}

void dv_lease_hold_max(dv_lease *l)
{
    if (!l->budget || l->held == l->max)
        return;
    dv_budget *b = l->budget;
    pthread_mutex_lock(&b->lock);
    grow_locked(b, l); /* dv_lease_charge's large grant, asked before it is needed */
    pthread_mutex_unlock(&b->lock);
}

void dv_lease_cap_and_hold(dv_lease *l, uint64_t allowance)
{
    uint64_t cap = l->used + allowance < l->used ? UINT64_MAX : l->used + allowance;
    if (cap < l->held)
        cap = l->held; /* what it holds already costs nothing more */
    if (cap < l->max)
        l->max = cap; /* a smaller large grant: the slice rule keeps room for instance_max, so for it too */
    dv_lease_hold_max(l);
}

void dv_lease_end(dv_lease *l)
{
    if (l->budget && l->held) {
        dv_budget *b = l->budget;
        pthread_mutex_lock(&b->lock);
        b->granted -= l->held;
        pthread_cond_broadcast(&b->freed);
        pthread_mutex_unlock(&b->lock);
    }
    l->held = 0;
    l->used = 0;
}
