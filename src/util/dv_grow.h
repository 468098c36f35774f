/* The one doubling array growth (geometric, so n appends cost O(n) copies in all): every "if (n == cap)
 * { cap = cap ? cap * 2 : K; realloc }" of the code base calls this instead of repeating it.
 * [test_grow: test_grow_doubles, test_grow_keeps_on_failure, test_grow_overflow] */
#ifndef DV_GROW_H
#define DV_GROW_H

#include <stddef.h>

/* Make *arrayp (the ADDRESS of a pointer to elem-byte elements, *cap of them allocated) hold at least need
 * elements: when need > *cap, the capacity becomes first (when 0) doubled until it is >= need, and the array
 * is reallocated. 0, or -1 with errno ENOMEM (out of memory, or need * elem would overflow size_t) leaving
 * the array and *cap as they were, so the caller still owns (and frees) the old array. */
int dv_grow(void *arrayp, size_t *cap, size_t need, size_t elem, size_t first);

/* The capacity dv_grow moves to from cap for need elements (need > cap): first (when cap is 0) doubled until
 * it is >= need, or need itself where doubling would wrap. Shared with dv_big_grow (dv_bigvec.h). */
size_t dv_grow_capacity(size_t cap, size_t need, size_t first);

#endif
