/* Tree helpers and the read-only inspection API of an instance. */
#include "dv_ds.h"
#include "dv_vr.h"

#include <stdlib.h>
#include <string.h>

dv_elem *dv_ds_find(const dv_ds *ds, uint32_t tag)
{
    for (dv_elem *e = ds->first; e; e = e->next) {
        if (e->tag == tag)
            return e; /* no early exit: hostile files may store elements out of order */
    }
    return NULL;
}

dv_elem *dv_ds_put(dv_instance *inst, dv_ds *ds, uint32_t tag, uint16_t vr, const void *value, uint64_t len)
{
    dv_elem *prev = NULL, *cur = ds->first;
    while (cur && cur->tag < tag) {
        prev = cur;
        cur = cur->next;
    }
    if (cur && cur->tag == tag) {
        cur->vr = vr;
        if (dv_elem_set_value(inst, cur, value, len) != 0)
            return NULL;
        return cur;
    }
    dv_elem *e = dv_arena_alloc(&inst->arena, sizeof *e);
    if (!e)
        return NULL;
    e->tag = tag;
    e->vr = vr;
    if (dv_elem_set_value(inst, e, value, len) != 0)
        return NULL;
    e->next = cur;
    if (prev)
        prev->next = e;
    else
        ds->first = e;
    if (!cur)
        ds->last = e;
    return e;
}

void dv_ds_unlink(dv_ds *ds, dv_elem *prev, dv_elem *e)
{
    if (prev)
        prev->next = e->next;
    else
        ds->first = e->next;
    if (ds->last == e)
        ds->last = prev;
    e->next = NULL;
}

void dv_ds_remove(dv_ds *ds, dv_elem *e)
{
    dv_elem *prev = NULL;
    for (dv_elem *cur = ds->first; cur; prev = cur, cur = cur->next) {
        if (cur == e) {
            dv_ds_unlink(ds, prev, cur);
            return;
        }
    }
}

int dv_elem_set_value(dv_instance *inst, dv_elem *e, const void *value, uint64_t len)
{
    const uint8_t *copy = NULL;
    if (len) {
        copy = dv_arena_memdup(&inst->arena, value, (size_t)len);
        if (!copy)
            return -1;
    }
    e->value = copy;
    e->length = len;
    e->offset = 0;
    e->items = NULL;
    e->nitems = 0;
    e->flags &= (uint16_t)~(DV_ELEM_BULK | DV_ELEM_UNDEF_LEN | DV_ELEM_ENCAPSULATED | DV_ELEM_SEQUENCE);
    return 0;
}

void dv_elem_set_empty(dv_elem *e)
{
    int seq = (e->flags & DV_ELEM_SEQUENCE) != 0;
    e->value = NULL;
    e->length = 0;
    e->offset = 0;
    e->items = NULL;
    e->nitems = 0;
    e->flags &= (uint16_t)~(DV_ELEM_BULK | DV_ELEM_ENCAPSULATED);
    if (seq)
        e->flags |= DV_ELEM_SEQUENCE; /* an empty sequence stays a sequence */
}

int dv_elem_uid_text(const dv_elem *e, char *out, size_t cap)
{
    if (cap)
        out[0] = '\0';
    if (!e || cap == 0 || (e->flags & (DV_ELEM_BULK | DV_ELEM_SEQUENCE | DV_ELEM_ENCAPSULATED)))
        return -1;
    const void *nul = e->length ? memchr(e->value, '\0', (size_t)e->length) : NULL;
    size_t n = nul ? (size_t)((const uint8_t *)nul - e->value) : (size_t)e->length;
    while (n > 0 && e->value[n - 1] == ' ')
        n--;
    if (n >= cap)
        return -1;
    if (n)
        memcpy(out, e->value, n);
    out[n] = '\0';
    return (int)n;
}

int dv_elem_read_value(const dv_instance *inst, const dv_elem *e, void *buf, uint64_t cap)
{
    if (e->length > cap || (e->flags & (DV_ELEM_SEQUENCE | DV_ELEM_ENCAPSULATED)))
        return -1;
    if (e->flags & DV_ELEM_BULK)
        return inst->data.read_at(inst->data.ctx, e->offset, buf, (size_t)e->length);
    if (e->length)
        memcpy(buf, e->value, (size_t)e->length);
    return 0;
}

void dv_instance_free(dv_instance *inst)
{
    if (!inst)
        return;
    free(inst->inflated);
    dv_arena_free(&inst->arena);
    free(inst);
}

const char *dv_instance_transfer_syntax(const dv_instance *inst)
{
    return inst->ts_uid;
}

int dv_instance_is_directory(const dv_instance *inst)
{
    return inst->is_directory;
}

int dv_instance_get_string(const dv_instance *inst, uint32_t tag, char *buf, size_t cap)
{
    const dv_ds *ds = DV_TAG_GROUP(tag) == 0x0002 ? &inst->meta : &inst->ds;
    const dv_elem *e = dv_ds_find(ds, tag);
    if (e && e->vr == DV_VR_UI)
        return dv_elem_uid_text(e, buf, cap); /* the one UID reading the writer and the engine use */
    if (!e || cap == 0 || e->length >= cap || (e->flags & (DV_ELEM_BULK | DV_ELEM_SEQUENCE | DV_ELEM_ENCAPSULATED)))
        return -1;
    size_t n = (size_t)e->length;
    if (n)
        memcpy(buf, e->value, n);
    while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\0'))
        n--;
    buf[n] = '\0';
    return (int)n;
}

static int visit_ds(const dv_ds *ds, uint32_t depth, dv_visit_fn fn, void *user)
{
    for (const dv_elem *e = ds->first; e; e = e->next) {
        dv_element_view v;
        memset(&v, 0, sizeof v);
        v.tag = e->tag;
        dv_vr_to_chars(e->vr, v.vr);
        v.depth = depth;
        v.is_sequence = (e->flags & DV_ELEM_SEQUENCE) != 0;
        v.is_bulk = (e->flags & (DV_ELEM_BULK | DV_ELEM_ENCAPSULATED)) != 0;
        v.value = v.is_bulk || v.is_sequence ? NULL : e->value;
        v.length = (e->flags & DV_ELEM_UNDEF_LEN) ? DV_UNDEFINED_LENGTH : e->length;
        int rc = fn(&v, user);
        if (rc)
            return rc;
        if (v.is_sequence) {
            for (const dv_item *it = e->items; it; it = it->next) {
                rc = visit_ds(&it->ds, depth + 1, fn, user);
                if (rc)
                    return rc;
            }
        }
    }
    return 0;
}

int dv_instance_visit(const dv_instance *inst, dv_visit_fn fn, void *user)
{
    return visit_ds(&inst->ds, 0, fn, user);
}
