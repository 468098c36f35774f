/* Lookups over the generated PS3.3 IOD tables (iod_table.c, from tools/gen_iod_tables.py).
 *
 * Everything is a binary search over shared read-only arrays: the SOP Class UIDs (once per instance), the
 * rows of one context (once per sequence entered and once per composite-coded element). */
#include "dict/dv_iod.h"

#include <stddef.h>
#include <string.h>

#include "dict/dv_dict.h"

_Static_assert(offsetof(dv_iod_attr, tag) == 0, "dv_dict_find_tag reads the tag at offset 0");

/* The longest UID is 64 characters (PS3.5 9.1). */
#define DV_IOD_UID_MAX 64

const dv_iod *dv_iod_for_sop_class(const char *uid, size_t len)
{
    if (uid == NULL)
        return NULL;
    /* A UI value: the text ends at the first NUL; trailing spaces are padding. */
    const char *nul = memchr(uid, '\0', len);
    if (nul)
        len = (size_t)(nul - uid);
    while (len > 0 && uid[len - 1] == ' ')
        len--;
    if (len == 0 || len > DV_IOD_UID_MAX)
        return NULL;
    size_t lo = 0, hi = dv_iod_sop_class_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *k = dv_iod_sop_classes[mid].uid;
        int c = strncmp(k, uid, len);
        if (c == 0 && k[len] != '\0')
            c = 1; /* k is longer: "1.2.3.4" sorts after "1.2.3" */
        if (c == 0)
            return &dv_iods[dv_iod_sop_classes[mid].iod];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

dv_iod_ctx dv_iod_root(const dv_iod *iod)
{
    return iod ? iod->root : DV_IOD_CTX_UNKNOWN;
}

static const dv_iod_attr *find_in(dv_iod_ctx ctx, uint32_t tag)
{
    if (ctx == DV_IOD_CTX_UNKNOWN || ctx >= dv_iod_context_count)
        return NULL;
    const dv_iod_context *c = &dv_iod_contexts[ctx];
    const dv_iod_attr *rows = &dv_iod_attrs[c->first];
    size_t i = dv_dict_find_tag(rows, c->count, sizeof rows[0], tag);
    return i < c->count ? &rows[i] : NULL;
}

dv_iod_ctx dv_iod_item_ctx(dv_iod_ctx ctx, uint32_t seq_tag)
{
    const dv_iod_attr *a = find_in(ctx, seq_tag);
    return a ? a->child : DV_IOD_CTX_UNKNOWN;
}

dv_attr_type dv_iod_type(dv_iod_ctx ctx, uint32_t tag)
{
    const dv_iod_attr *a = find_in(ctx, tag);
    return a ? (dv_attr_type)a->type : DV_ATTR_UNKNOWN;
}

dv_attr_type dv_iod_attr_type(const dv_iod *iod, const uint32_t *parent_path, size_t depth, uint32_t tag)
{
    dv_iod_ctx ctx = dv_iod_root(iod);
    for (size_t i = 0; i < depth && ctx != DV_IOD_CTX_UNKNOWN; i++)
        ctx = dv_iod_item_ctx(ctx, parent_path[i]);
    return dv_iod_type(ctx, tag);
}

const char *dv_attr_type_name(dv_attr_type t)
{
    switch (t) {
    case DV_ATTR_1: return "1";
    case DV_ATTR_1C: return "1C";
    case DV_ATTR_2: return "2";
    case DV_ATTR_2C: return "2C";
    case DV_ATTR_3: return "3";
    case DV_ATTR_UNKNOWN: break;
    }
    return "unknown";
}
