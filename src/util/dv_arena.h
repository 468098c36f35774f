/* Bump allocator with a hard cap: all per-instance metadata lives in one arena, freed at once.
 * The cap is how hostile inputs are kept from allocating without bound. */
#ifndef DV_ARENA_H
#define DV_ARENA_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dv_lease.h"

typedef struct dv_arena_chunk dv_arena_chunk;
typedef struct dv_arena {
    dv_arena_chunk *head;
    uint64_t used;   /* bytes handed out plus chunk overhead */
    uint64_t cap;    /* hard limit; 0 = unlimited */
    dv_lease lease;  /* the run-wide budget this arena's blocks (and the instance's external buffers) draw from */
    uint64_t external; /* bytes of external buffers charged so far (a high-water mark) */
    unsigned char *cur; /* the free part of the newest block: [cur, cur + left) */
    size_t left;
} dv_arena;

void dv_arena_init(dv_arena *a, uint64_t cap);
/* Draw the arena's blocks and the instance's external buffers from budget (NULL: none), up to max bytes in
 * all (dv_limits_memory_max). Call right after dv_arena_init. */
void dv_arena_use_budget(dv_arena *a, dv_budget *budget, uint64_t max);
/* An external buffer of the same instance (the inflate buffer) is about to grow to total bytes: charge the
 * growth to the budget (a high-water mark: a buffer that is freed and grown again is not charged twice),
 * waiting when the budget is busy. 0, or -1 when the instance would exceed its maximum. */
int dv_arena_reserve_external(dv_arena *a, uint64_t total);
/* The slow path of dv_arena_take: a new block. Not called directly. */
void *dv_arena_take_new_block(dv_arena *a, size_t n);

/* 16-byte aligned memory that the caller fills whole (a value read into it), or NULL when the cap would be
 * exceeded or malloc fails. Inline: the reader takes a block per element and value, and the call and the
 * zeroing were ~6 % of a small file's instructions (bench/RESULTS.md "Per-core rate against cp, eighth pass"). */
static inline void *dv_arena_take(dv_arena *a, size_t n)
{
    size_t need = ((n ? n : 1) + 15u) & ~(size_t)15u; /* 0 bytes take 16: never a NULL cursor */
    if (need >= n && need <= a->left) {
        void *p = a->cur;
        a->cur += need;
        a->left -= need;
        return p;
    }
    return dv_arena_take_new_block(a, n);
}

/* The same, zero-filled. */
static inline void *dv_arena_alloc(dv_arena *a, size_t n)
{
    void *p = dv_arena_take(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}
void *dv_arena_memdup(dv_arena *a, const void *p, size_t n);
void dv_arena_free(dv_arena *a);

#endif
