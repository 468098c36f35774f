/* dv_limits: defaults and the size-versioned copy (issue 5 item 7; docs/decisions.md "Extensible public
 * structs"). [tests/unit/test_run.c: test_limits_older_layout, test_limits_uninitialised] */
#include <stddef.h>
#include <string.h>

#include "dv_limits_internal.h"
#include "dv_reader_internal.h"

/* The first layout with struct_size: every field up to and including budget. Smaller sizes are not ours. */
#define DV_LIMITS_SIZE_V1 (offsetof(dv_limits, budget) + sizeof(dv_budget *))

void dv_limits_init(dv_limits *lim, size_t struct_size)
{
    dv_limits def;
    memset(&def, 0, sizeof def);
    def.struct_size = (uint32_t)sizeof def;
    def.max_depth = 128; /* dcmtk reads 65+; stack use per level: docs/decisions.md */
    def.max_metadata_bytes = 32u * 1024u * 1024u;
    def.max_inflated_bytes = 4ull * 1024u * 1024u * 1024u; /* bomb defence only: inflation streams */
    def.inline_threshold = 16u * 1024u; /* large values (ContourData, LUTs...) stay in the source: bounded RSS */
    def.budget = NULL;
    def.pixel_budget = NULL;
    /* A caller compiled with a longer layout gets our fields; the tail it has and we do not know stays 0. */
    size_t n = struct_size < sizeof def ? struct_size : sizeof def;
    if (struct_size > sizeof def)
        memset((char *)lim + sizeof def, 0, struct_size - sizeof def);
    memcpy(lim, &def, n);
    lim->struct_size = (uint32_t)struct_size;
}

uint64_t dv_limits_memory_max(const dv_limits *lim)
{
    /* Inflation streams with bounded memory whatever max_inflated_bytes is (deflate.c). */
    return lim->max_metadata_bytes + dv_inflate_resident_max();
}

int dv_limits_import(dv_limits *dst, const dv_limits *lim, dv_error *err)
{
    dv_limits_init(dst, sizeof *dst);
    if (!lim)
        return 0;
    if (lim->struct_size < DV_LIMITS_SIZE_V1)
        return dv_fail(err, DV_ERR_USAGE, "dv_limits not initialised (struct_size %u): start from "
                       "dv_limits_default", (unsigned)lim->struct_size);
    size_t n = lim->struct_size < sizeof *dst ? lim->struct_size : sizeof *dst;
    memcpy(dst, lim, n);
    dst->struct_size = (uint32_t)sizeof *dst;
    return 0;
}
