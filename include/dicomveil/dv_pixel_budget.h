/* dicomveil: the memory all instances in their pixel stage may hold together (a run's workers, or every run of a
 * server): decoded frames, the codecs' buffers, the 8-bit views and the detector's scratch, the redacted output.
 *
 * Why a second budget beside dv_budget: the metadata budget is drawn per arena block as the instance grows, but a
 * codec allocates inside libraries we do not instrument. So the pixel stage takes, before it decodes anything, one
 * grant of its ESTIMATE for the instance (src/engine/pixel_stage.c dv_pixel_stage_estimate: a factor per decoded
 * sample measured per codec, plus the pixel data in and out; bench/RESULTS.md "Pixel memory"), gives the frames'
 * part back when the stage is done and the rest when the instance ends. An instance whose estimate exceeds the
 * whole budget fails (DV_ERR_LIMIT) whatever else runs; any other WAITS, in arrival order (a large grant is not
 * overtaken by small ones), and never fails for it.
 * No deadlock with dv_budget: an instance takes its metadata maximum before it waits here (dv_budget.h: a large
 * grant never waits again), so a holder of a pixel grant waits for nothing. Thread-safe. */
#ifndef DICOMVEIL_DV_PIXEL_BUDGET_H
#define DICOMVEIL_DV_PIXEL_BUDGET_H

#include <stdint.h>
#include "dv_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dv_pixel_budget dv_pixel_budget;

/* total: bytes (at least 1 MiB, else DV_ERR_USAGE). Free with dv_pixel_budget_free once no instance uses it. */
dv_pixel_budget *dv_pixel_budget_new(uint64_t total, dv_error *err);
void dv_pixel_budget_free(dv_pixel_budget *b);
uint64_t dv_pixel_budget_total(const dv_pixel_budget *b);
/* The most bytes ever granted at once (never more than the total): for tests and metrics. */
uint64_t dv_pixel_budget_peak(const dv_pixel_budget *b);
/* Bytes granted right now. */
uint64_t dv_pixel_budget_in_use(const dv_pixel_budget *b);
/* Takers waiting right now: for tests and metrics. */
uint64_t dv_pixel_budget_waiting(const dv_pixel_budget *b);
/* Half the memory this process may use (at least 256 MiB): the machine's, or its control group's limit when lower
 * (a container). The CLI's and the server's default total; each process has its own (MPI: each rank, with
 * dv_pixel_budget_default_share). */
uint64_t dv_pixel_budget_default_total(void);
/* That half shared among `processes` that use the same memory (the MPI ranks of one node: each has its own
 * budget), at least 256 MiB each. dv_pixel_budget_default_share(1) is dv_pixel_budget_default_total(). */
uint64_t dv_pixel_budget_default_share(unsigned processes);

/* Take n bytes, waiting in arrival order until they fit: 0, or -1 at once when n exceeds the total (the caller
 * fails the instance with DV_ERR_LIMIT). n == 0 takes nothing. */
int dv_pixel_budget_take(dv_pixel_budget *b, uint64_t n);
/* Give back n bytes taken by dv_pixel_budget_take. */
void dv_pixel_budget_give(dv_pixel_budget *b, uint64_t n);

#ifdef __cplusplus
}
#endif
#endif
