#include "dv_arena.h"

#include <stdlib.h>
#include <string.h>

/* Chunks grow geometrically so a large dataset needs few mallocs; a single oversized request gets its own
 * chunk. The cap counts everything handed out, so a hostile file cannot make us allocate without bound. */
struct dv_arena_chunk {
    dv_arena_chunk *next;
    size_t size;
    _Alignas(16) unsigned char data[];
};

#define DV_ARENA_MIN_CHUNK (16u * 1024u)
#define DV_ARENA_MAX_CHUNK (1u * 1024u * 1024u)

void dv_arena_init(dv_arena *a, uint64_t cap)
{
    a->head = NULL;
    a->used = 0;
    a->cap = cap;
    a->cur = NULL;
    a->left = 0;
    dv_lease_init(&a->lease, NULL, UINT64_MAX);
    a->external = 0;
}

void dv_arena_use_budget(dv_arena *a, dv_budget *budget, uint64_t max)
{
    dv_lease_init(&a->lease, budget, max);
}

int dv_arena_reserve_external(dv_arena *a, uint64_t total)
{
    if (!a || total <= a->external)
        return 0;
    if (dv_lease_charge(&a->lease, total - a->external) != 0)
        return -1;
    a->external = total;
    return 0;
}

void *dv_arena_take_new_block(dv_arena *a, size_t n)
{
    size_t need = ((n ? n : 1) + 15u) & ~(size_t)15u; /* as dv_arena_take */
    if (need < n || need > SIZE_MAX - sizeof(dv_arena_chunk) - DV_ARENA_MAX_CHUNK)
        return NULL; /* no block that large could be counted or allocated */
    dv_arena_chunk *c = a->head;
    size_t size = c ? c->size * 2 : DV_ARENA_MIN_CHUNK;
    if (size > DV_ARENA_MAX_CHUNK)
        size = DV_ARENA_MAX_CHUNK;
    if (size < need)
        size = need;
    if (a->cap && a->used + size + sizeof(dv_arena_chunk) > a->cap) {
        /* Try the smallest chunk that fits before giving up. */
        size = need;
        if (a->used + size + sizeof(dv_arena_chunk) > a->cap)
            return NULL;
    }
    /* The budget is drawn per block, never per allocation (it may wait: dv_budget.h). */
    if (dv_lease_charge(&a->lease, size + sizeof(dv_arena_chunk)) != 0)
        return NULL;
    c = malloc(sizeof(dv_arena_chunk) + size);
    if (!c)
        return NULL;
    c->size = size;
    c->next = a->head;
    a->head = c;
    a->used += size + sizeof(dv_arena_chunk);
    /* The rest of the previous block is left unused, as a bump allocator does. */
    a->cur = c->data + need;
    a->left = size - need;
    return c->data;
}

void *dv_arena_memdup(dv_arena *a, const void *p, size_t n)
{
    void *q = n ? dv_arena_take(a, n) : dv_arena_alloc(a, 1);
    if (q && n)
        memcpy(q, p, n);
    return q;
}

void dv_arena_free(dv_arena *a)
{
    dv_arena_chunk *c = a->head;
    while (c) {
        dv_arena_chunk *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
    a->used = 0;
    a->external = 0;
    a->cur = NULL;
    a->left = 0;
    dv_lease_end(&a->lease); /* after the blocks are gone: the budget never undercounts */
}
