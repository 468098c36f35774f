/* Tree helpers and the read-only inspection API of an instance. */
#include "dv_ds.h"
#include "dv_reader_internal.h"
#include "dv_vr.h"

#include <stdlib.h>
#include <string.h>

/* An external value (DV_ELEM_EXTERNAL): where its bytes are, and how to release them with the instance. */
struct dv_ext {
    dv_source src;      /* the bytes: a caller's source, or ms over a caller's buffer */
    dv_mem_source ms;
    uint64_t offset;
    void *data;         /* released with release(user, data) by dv_instance_free */
    dv_release_fn release;
    void *user;
    struct dv_ext *next;
};

#define DV_ELEM_VALUE_FLAGS (DV_ELEM_BULK | DV_ELEM_UNDEF_LEN | DV_ELEM_ENCAPSULATED | DV_ELEM_SEQUENCE | DV_ELEM_EXTERNAL)

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

/* Merge two tag-ordered runs; on equal tags a's element comes first (stable). */
static dv_elem *merge_runs(dv_elem *a, dv_elem *b)
{
    dv_elem head = {0}, *t = &head;
    while (a && b) {
        if (b->tag < a->tag) {
            t->next = b;
            b = b->next;
        } else {
            t->next = a;
            a = a->next;
        }
        t = t->next;
    }
    t->next = a ? a : b;
    return head.next;
}

size_t dv_ds_sort(dv_ds *ds)
{
    /* Bottom-up merge sort of the list: runs of width 1, 2, 4 ... merged pairwise, no recursion, O(n log n)
     * whatever order a hostile file chose. */
    size_t n = 0;
    for (dv_elem *e = ds->first; e; e = e->next)
        n++;
    for (size_t width = 1; width < n; width *= 2) {
        dv_elem *rest = ds->first, head = {0}, *tail = &head;
        while (rest) {
            dv_elem *a = rest, *b, *p = a;
            for (size_t i = 1; i < width && p->next; i++)
                p = p->next;
            b = p->next;
            p->next = NULL;
            p = b;
            for (size_t i = 1; i < width && p && p->next; i++)
                p = p->next;
            rest = p ? p->next : NULL;
            if (p)
                p->next = NULL;
            tail->next = merge_runs(a, b);
            while (tail->next)
                tail = tail->next;
        }
        ds->first = head.next;
    }
    /* A tag read again keeps its first occurrence, as dcmtk reads such a file. */
    size_t dropped = 0;
    dv_elem *last = NULL;
    for (dv_elem *e = ds->first; e; e = e->next) {
        while (e->next && e->next->tag == e->tag) {
            e->next = e->next->next;
            dropped++;
        }
        last = e;
    }
    ds->last = last;
    return dropped;
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
    e->flags &= (uint16_t)~DV_ELEM_VALUE_FLAGS;
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
    e->flags &= (uint16_t)~(DV_ELEM_BULK | DV_ELEM_ENCAPSULATED | DV_ELEM_EXTERNAL);
    if (seq)
        e->flags |= DV_ELEM_SEQUENCE; /* an empty sequence stays a sequence */
}

int dv_elem_is_empty(const dv_elem *e)
{
    return e->length == 0 && e->nitems == 0 && e->items == NULL &&
           (e->flags & (DV_ELEM_BULK | DV_ELEM_ENCAPSULATED | DV_ELEM_EXTERNAL)) == 0;
}

int dv_elem_value_equals(const dv_elem *e, uint16_t vr, const void *v, uint64_t n)
{
    return e->vr == vr && (e->flags & DV_ELEM_VALUE_FLAGS) == 0 && e->items == NULL && e->length == n &&
           (n == 0 || (e->value && memcmp(e->value, v, (size_t)n) == 0));
}

const uint8_t *dv_elem_inline_value(const dv_elem *e)
{
    return (e->flags & (DV_ELEM_BULK | DV_ELEM_SEQUENCE | DV_ELEM_ENCAPSULATED | DV_ELEM_EXTERNAL)) ? NULL : e->value;
}

int dv_elem_uid_text(const dv_elem *e, char *out, size_t cap)
{
    if (cap)
        out[0] = '\0';
    if (!e || cap == 0 || (e->flags & (DV_ELEM_BULK | DV_ELEM_SEQUENCE | DV_ELEM_ENCAPSULATED)))
        return -1;
    /* Up to the first NUL or backslash: the attributes read this way (SOP Class/Instance, Transfer Syntax) have
     * one value, and a second one (invalid) must not make the first unreadable: a multi-valued
     * SOPInstanceUID, regenerated value by value, was refused as "no SOPInstanceUID" once its first value
     * was no longer cut short by a NUL (tests/fuzz/regressions/reader/deid-long-multivalued-sop-uid.dcm). */
    size_t n = (size_t)e->length; /* memchr, not a byte loop: this runs several times for every instance */
    const uint8_t *stop = n ? memchr(e->value, '\0', n) : NULL;
    if (stop)
        n = (size_t)(stop - e->value);
    if (n && (stop = memchr(e->value, '\\', n)) != NULL)
        n = (size_t)(stop - e->value);
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
    if (e->flags & DV_ELEM_BULK) {
        uint64_t off;
        const dv_source *src = dv_elem_source(inst, e, &off);
        uint64_t n = e->length;
        const uint8_t *held = src == &inst->data ? dv_instance_held(inst, off, &n) : NULL;
        if (held && n == e->length) {
            memcpy(buf, held, (size_t)n);
            return 0;
        }
        return e->length ? src->read_at(src->ctx, off, buf, (size_t)e->length) : 0;
    }
    if (e->length)
        memcpy(buf, e->value, (size_t)e->length);
    return 0;
}

/* --- tree building --- */

void dv_elem_set_sequence(dv_elem *e)
{
    e->vr = DV_VR_SQ;
    e->value = NULL;
    e->length = 0;
    e->offset = 0;
    e->items = NULL;
    e->nitems = 0;
    e->flags = (uint16_t)((e->flags & ~DV_ELEM_VALUE_FLAGS) | DV_ELEM_SEQUENCE); /* defined length on write */
}

dv_elem *dv_ds_put_sequence(dv_instance *inst, dv_ds *ds, uint32_t tag)
{
    dv_elem *e = dv_ds_put(inst, ds, tag, DV_VR_SQ, NULL, 0);
    if (e)
        dv_elem_set_sequence(e);
    return e;
}

dv_item *dv_seq_append_item(dv_instance *inst, dv_elem *seq)
{
    if (!(seq->flags & DV_ELEM_SEQUENCE))
        return NULL;
    dv_item *it = dv_arena_alloc(&inst->arena, sizeof *it);
    if (!it)
        return NULL;
    dv_item **link = &seq->items;
    while (*link)
        link = &(*link)->next;
    *link = it;
    seq->nitems++;
    return it;
}

dv_elem *dv_item_put(dv_instance *inst, dv_item *item, uint32_t tag, uint16_t vr, const void *value, uint64_t len)
{
    return dv_ds_put(inst, &item->ds, tag, vr, value, len);
}

dv_elem *dv_ds_put_u16(dv_instance *inst, dv_ds *ds, uint32_t tag, uint16_t v)
{
    uint8_t b[2];
    int be = dv_values_big_endian(inst);
    b[be ? 1 : 0] = (uint8_t)v;
    b[be ? 0 : 1] = (uint8_t)(v >> 8);
    return dv_ds_put(inst, ds, tag, DV_VR_US, b, 2);
}

dv_elem *dv_ds_put_u32(dv_instance *inst, dv_ds *ds, uint32_t tag, uint32_t v)
{
    uint8_t b[4];
    int be = dv_values_big_endian(inst);
    for (int i = 0; i < 4; i++)
        b[be ? 3 - i : i] = (uint8_t)(v >> (8 * i));
    return dv_ds_put(inst, ds, tag, DV_VR_UL, b, 4);
}

static struct dv_ext *ext_new(dv_instance *inst, dv_elem *e, uint16_t vr, uint64_t len, int encapsulated)
{
    struct dv_ext *x = dv_arena_alloc(&inst->arena, sizeof *x);
    if (!x)
        return NULL;
    if (dv_elem_set_value(inst, e, NULL, 0) != 0)
        return NULL;
    e->vr = vr;
    e->length = len;
    e->value = (const uint8_t *)x;
    e->flags |= DV_ELEM_BULK | DV_ELEM_EXTERNAL;
    if (encapsulated)
        e->flags |= DV_ELEM_ENCAPSULATED | DV_ELEM_UNDEF_LEN;
    return x;
}

int dv_elem_set_external(dv_instance *inst, dv_elem *e, uint16_t vr, void *data, uint64_t len, int encapsulated,
                         dv_release_fn release, void *user)
{
    if (len > SIZE_MAX)
        return -1;
    struct dv_ext *x = ext_new(inst, e, vr, len, encapsulated);
    if (!x)
        return -1;
    x->src = dv_source_memory(&x->ms, data, (size_t)len);
    x->data = data;
    x->release = release;
    x->user = user;
    x->next = inst->externals;
    inst->externals = x;
    return 0;
}

int dv_elem_set_stream(dv_instance *inst, dv_elem *e, uint16_t vr, const dv_source *src, uint64_t offset,
                       uint64_t len, int encapsulated)
{
    if (offset > src->size || len > src->size - offset)
        return -1;
    struct dv_ext *x = ext_new(inst, e, vr, len, encapsulated);
    if (!x)
        return -1;
    x->src = *src;
    x->offset = offset;
    return 0;
}

const uint8_t *dv_instance_held(const dv_instance *inst, uint64_t off, uint64_t *len)
{
    if (!inst->held || off < inst->held_off || off - inst->held_off >= inst->held_len)
        return NULL;
    size_t at = (size_t)(off - inst->held_off);
    if (*len > inst->held_len - at)
        *len = inst->held_len - at;
    return inst->held + at;
}

const dv_source *dv_elem_source(const dv_instance *inst, const dv_elem *e, uint64_t *offset)
{
    if (e->flags & DV_ELEM_EXTERNAL) {
        const struct dv_ext *x = (const struct dv_ext *)(const void *)e->value;
        *offset = x->offset;
        return &x->src;
    }
    *offset = e->offset;
    return &inst->data;
}

void dv_instance_free(dv_instance *inst)
{
    if (!inst)
        return;
    for (struct dv_ext *x = inst->externals; x; x = x->next)
        if (x->release)
            x->release(x->user, x->data);
    dv_inflated_free(inst->inflated); /* its buffers too (a plain free leaked them: ASan, test_cli_dupes) */
    free(inst->held_buf);
    free(inst->patches);
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
