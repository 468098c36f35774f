/* dicomveil: a memory budget shared by every instance in flight (a run's workers, or every run of a server).
 *
 * Per-instance caps (dv_limits) bound one instance; the budget bounds their sum, so peak memory does not grow
 * with the number of workers. Instances draw from it through dv_limits.budget: the reader's metadata arena (per
 * arena block, never per allocation) and the inflate buffer of deflated datasets. Fixed per-worker buffers
 * (the reader's 64 KiB window, the first 256 KiB of an inflate buffer, sinks' buffers, thread stacks) are not
 * drawn: they are the stated fixed overhead (docs/decisions.md, "Memory budget").
 *
 * A worker that finds the budget exhausted WAITS; it never fails for it. So an instance's outcome never
 * depends on what else is running: only its own per-instance caps can make it fail (DV_ERR_LIMIT). How the
 * waiting stays free of deadlock: each instance first takes a small slice (DV_BUDGET_SLICE) while holding
 * nothing; one that outgrows its slice reserves its whole per-instance maximum at once (a "large" grant) and
 * never waits again. A slice is granted only while the budget keeps room for one large grant beyond every
 * grant already made, and not while any instance waits to grow, so once the large grants in flight finish,
 * a waiting instance always fits. Thread-safe. */
#ifndef DICOMVEIL_DV_BUDGET_H
#define DICOMVEIL_DV_BUDGET_H

#include <stdint.h>
#include "dv_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dv_budget dv_budget;

/* What an instance holds before it grows past it: covers the metadata of a typical instance. */
#define DV_BUDGET_SLICE (1024u * 1024u)

/* total: bytes all instances drawing from the budget may hold at once. instance_max: the most one instance
 * may draw (dv_limits_memory_max of the limits used with it; more fails that instance with DV_ERR_LIMIT).
 * total must be at least instance_max + DV_BUDGET_SLICE (else DV_ERR_USAGE). Free with dv_budget_free once no
 * instance uses it. */
dv_budget *dv_budget_new(uint64_t total, uint64_t instance_max, dv_error *err);
void dv_budget_free(dv_budget *b);
uint64_t dv_budget_total(const dv_budget *b);
uint64_t dv_budget_instance_max(const dv_budget *b);
/* The most bytes ever granted at once (never more than the total): for tests and metrics. */
uint64_t dv_budget_peak(const dv_budget *b);
/* Bytes granted right now (0 when nothing is in flight). */
uint64_t dv_budget_in_use(const dv_budget *b);

#ifdef __cplusplus
}
#endif
#endif
