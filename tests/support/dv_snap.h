/* Test-only snapshot of every element of an instance (nested ones included) with its raw value bytes,
 * for byte-level before/after comparisons. */
#ifndef DV_SNAP_H
#define DV_SNAP_H

#include <stddef.h>
#include <stdint.h>
#include "dicomveil/dv_instance.h"

typedef struct snap_elem {
    uint32_t tag;
    char vr[3];
    uint32_t depth;
    uint64_t length;
    int is_bulk, is_seq;
    uint8_t *value; /* malloc'd copy of an inline value, NULL for bulk values and sequences */
} snap_elem;

typedef struct snap {
    snap_elem *e;
    size_t n, cap;
} snap;

/* Aborts on allocation failure or when the visit fails: tests treat both as fatal. */
void snap_take(snap *s, const dv_instance *inst);
void snap_free(snap *s);
/* The nth element (0-based) with this tag at this depth, or NULL. */
const snap_elem *snap_find(const snap *s, uint32_t tag, uint32_t depth, int nth);

#endif
