/* Per-worker memo of plan decisions (match_memo.h): a direct-mapped table keyed by a hash of the element's key,
 * every key field and the plan compared exactly. */
#include "engine/match_memo.h"

#include <stdlib.h>

typedef struct memo_slot {
    const dv_plan *plan; /* NULL: empty */
    uint32_t tag, parent;
    uint16_t vr;
    dv_iod_ctx ctx;
    uint8_t is_seq;
    dv_decision decision;
    dv_match m;
} memo_slot;

struct dv_match_memo {
    memo_slot slot[DV_MATCH_MEMO_SLOTS];
};

dv_match_memo *dv_match_memo_new(void)
{
    return calloc(1, sizeof(dv_match_memo));
}

void dv_match_memo_free(dv_match_memo *mm)
{
    free(mm);
}

/* The set of a key: DV_MATCH_MEMO_SLOTS / 2 sets of two ways. Direct-mapped (one way), a CT instance's ~140
 * decisions met ~10 pairs of keys in one slot, which took turns evicting each other: ~20 misses an instance, each
 * a full decision (~300 instructions; stop 50, callgrind). Two ways hold such a pair. */
#define MEMO_SETS (DV_MATCH_MEMO_SLOTS / 2)
static size_t set_of(uint32_t parent, dv_iod_ctx ctx, uint32_t tag, uint16_t vr, int is_seq)
{
    uint64_t h = ((uint64_t)parent << 32 | tag) * 0x9E3779B97F4A7C15ull;
    h ^= ((uint64_t)ctx << 17 | (uint64_t)vr << 1 | (uint64_t)(is_seq != 0)) * 0xBF58476D1CE4E5B9ull;
    return (size_t)(h >> 32) & (MEMO_SETS - 1);
}

static int same_key(const memo_slot *s, const dv_plan *plan, uint32_t parent, dv_iod_ctx ctx, uint32_t tag,
                    uint16_t vr, int is_seq)
{
    return s->plan == plan && s->tag == tag && s->parent == parent && s->vr == vr && s->ctx == ctx &&
           s->is_seq == is_seq;
}

dv_decision dv_plan_match_memo(const dv_plan *plan, dv_match_memo *mm, uint32_t parent, dv_iod_ctx ctx, uint32_t tag,
                               uint16_t vr, int is_seq, dv_match *m)
{
    if (!mm)
        return dv_plan_match_in(plan, parent, ctx, tag, vr, is_seq, m);
    is_seq = is_seq != 0;
    memo_slot *way = &mm->slot[2 * set_of(parent, ctx, tag, vr, is_seq)];
    for (int w = 0; w < 2; w++)
        if (same_key(&way[w], plan, parent, ctx, tag, vr, is_seq)) {
            *m = way[w].m;
            return way[w].decision;
        }
    dv_decision d = dv_plan_match_in(plan, parent, ctx, tag, vr, is_seq, m);
    /* the newest in way 0, the one it displaces in way 1 (what was there goes): a third key of one set evicts
     * the oldest of three */
    way[1] = way[0];
    memo_slot *s = &way[0];
    s->plan = plan;
    s->tag = tag;
    s->parent = parent;
    s->vr = vr;
    s->ctx = ctx;
    s->is_seq = (uint8_t)is_seq;
    s->decision = d;
    s->m = *m;
    return d;
}
