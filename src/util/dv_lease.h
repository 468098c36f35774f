/* One instance's draw on a dv_budget (dv_budget.h explains the slice / large-grant protocol). Embedded in
 * the instance's arena, so it ends when the arena is freed. Not thread-safe: one instance, one thread. */
#ifndef DV_LEASE_H
#define DV_LEASE_H

#include <stdint.h>

#include "dicomveil/dv_budget.h"

typedef struct dv_lease {
    dv_budget *budget; /* NULL: no budget, every charge succeeds */
    uint64_t max;      /* the most this instance may draw */
    uint64_t held;     /* granted by the budget: 0, DV_BUDGET_SLICE, or max */
    uint64_t used;     /* charged so far (never more than held) */
} dv_lease;

/* max is capped at the budget's instance_max. */
void dv_lease_init(dv_lease *l, dv_budget *b, uint64_t max);
/* Draw n more bytes, waiting for the budget when needed (never failing for it). 0, or -1 when the instance
 * would exceed its maximum (the caller reports DV_ERR_LIMIT). */
int dv_lease_charge(dv_lease *l, uint64_t n);
/* Take the large grant now if not held yet, waiting for it as dv_lease_charge would; after it no charge of this
 * lease waits. */
void dv_lease_hold_max(dv_lease *l);
/* From now on the instance may draw at most `allowance` more bytes (or what it holds already, if more), and it
 * holds them: no later charge waits, one past them fails (-1). The pixel stage calls it before it waits for its
 * pixel grant (dv_pixel_budget.h): its metadata after that is a few elements, and an instance that reserved its
 * whole maximum instead tied the pixel stage's concurrency to the metadata budget (42 MiB each by default). */
void dv_lease_cap_and_hold(dv_lease *l, uint64_t allowance);
/* Give everything back (idempotent). */
void dv_lease_end(dv_lease *l);

#endif
