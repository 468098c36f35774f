/* Patches of encapsulated values (dv_ds.h "patches"): what the writer writes in place of some bytes of an
 * encapsulated value, so that a codestream's embedded comments can be cleared while the value itself is still
 * copied from its source (src/engine/pixel_container.c). Bounded like every per-instance structure: the patch
 * table counts against the instance's metadata cap. [test_pixel_container: test_engine_writes_the_patches] */
#include "dv_ds.h"
#include "../util/dv_grow.h"

#include <stdlib.h>
#include <string.h>

int dv_instance_add_patch(dv_instance *inst, const dv_elem *e, uint64_t at, uint64_t len, const uint8_t *lit,
                          unsigned nlit, dv_error *err)
{
    if (!e || !(e->flags & DV_ELEM_ENCAPSULATED) || len == 0 || at > e->length || len > e->length - at ||
        nlit > sizeof ((dv_patch *)0)->lit || (nlit && (!lit || (len != nlit && nlit != 1))))
        return dv_fail(err, DV_ERR_USAGE, "a patch outside " TAGF "'s value", TAGA(e ? e->tag : 0));
    dv_patch *last = inst->npatches ? &inst->patches[inst->npatches - 1] : NULL;
    if (last && last->e == e && at < last->at + last->len)
        return dv_fail(err, DV_ERR_USAGE, "patches of " TAGF " out of order", TAGA(e->tag));
    if (last && last->e == e && !nlit && !last->nlit && at == last->at + last->len) {
        last->len += len; /* two zero runs that meet are one */
        return 0;
    }
    if ((inst->npatches + 1) * sizeof(dv_patch) > inst->limits.max_metadata_bytes)
        return dv_fail(err, DV_ERR_LIMIT, "more patches of " TAGF " than the metadata cap holds", TAGA(e->tag));
    if (dv_grow(&inst->patches, &inst->patches_cap, inst->npatches + 1, sizeof(dv_patch), 16) != 0)
        return dv_fail(err, DV_ERR_NOMEM, "out of memory (patches of " TAGF ")", TAGA(e->tag));
    dv_patch *p = &inst->patches[inst->npatches++];
    p->e = e;
    p->at = at;
    p->len = len;
    p->nlit = (uint8_t)nlit;
    memset(p->lit, 0, sizeof p->lit);
    if (nlit)
        memcpy(p->lit, lit, nlit);
    return 0;
}

size_t dv_instance_patches(const dv_instance *inst, const dv_elem *e, const dv_patch **first)
{
    size_t i = 0;
    while (i < inst->npatches && inst->patches[i].e != e)
        i++;
    size_t j = i;
    while (j < inst->npatches && inst->patches[j].e == e)
        j++;
    *first = i < inst->npatches ? &inst->patches[i] : NULL;
    return j - i;
}

void dv_instance_drop_patches(dv_instance *inst)
{
    inst->npatches = 0;
}
