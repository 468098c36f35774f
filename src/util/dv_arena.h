/* Bump allocator with a hard cap: all per-instance metadata lives in one arena, freed at once.
 * The cap is how hostile inputs are kept from allocating without bound. */
#ifndef DV_ARENA_H
#define DV_ARENA_H

#include <stddef.h>
#include <stdint.h>

typedef struct dv_arena_chunk dv_arena_chunk;
typedef struct dv_arena {
    dv_arena_chunk *head;
    uint64_t used;   /* bytes handed out plus chunk overhead */
    uint64_t cap;    /* hard limit; 0 = unlimited */
} dv_arena;

void dv_arena_init(dv_arena *a, uint64_t cap);
/* 16-byte aligned, zero-filled memory, or NULL when the cap would be exceeded or malloc fails. */
void *dv_arena_alloc(dv_arena *a, size_t n);
void *dv_arena_memdup(dv_arena *a, const void *p, size_t n);
void dv_arena_free(dv_arena *a);

#endif
