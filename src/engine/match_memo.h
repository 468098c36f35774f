/* A worker's memo of the plan's decisions (plan.c dv_plan_match_in). A decision is a pure function of the plan
 * and of (parent sequence, IOD context, tag, effective VR, sequence or not), and the instances of a run repeat
 * the same elements: a small file's ~75 decisions cost ~8.6 k instructions through the precedence rules (slot
 * probes, VR and masked queries, the masked profile entries, IOD type searches), about a tenth of its work, and
 * a lookup here ~30 (bench/RESULTS.md "Per-core rate against cp, eighth pass"). Every key field and the plan are
 * compared exactly, so a memo never answers for another element or plan. Holds no value of any instance (tags and
 * decisions only). Bounded: DV_MATCH_MEMO_SLOTS entries in sets of two (a new decision replaces the older of its set's
 * two), ~64 KB per worker. Per worker, never shared (dv_run's pool). docs/decisions.md "Decisions are memoised per worker".
 * [test_engine: test_match_memo_same_decisions] */
#ifndef DV_ENGINE_MATCH_MEMO_H
#define DV_ENGINE_MATCH_MEMO_H

#include "engine/dv_plan.h"

#define DV_MATCH_MEMO_SLOTS 1024u

dv_match_memo *dv_match_memo_new(void); /* NULL when out of memory (then nothing is memoised) */
void dv_match_memo_free(dv_match_memo *mm);

/* dv_plan_match_in through the memo: the same decision and match. mm NULL: no memo. */
dv_decision dv_plan_match_memo(const dv_plan *plan, dv_match_memo *mm, uint32_t parent, dv_iod_ctx ctx, uint32_t tag,
                               uint16_t vr, int is_seq, dv_match *m);

#endif
