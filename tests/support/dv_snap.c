#include "dv_snap.h"

#include <stdlib.h>
#include <string.h>

static int snap_fn(const dv_element_view *v, void *user)
{
    snap *s = user;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->e = realloc(s->e, s->cap * sizeof *s->e);
        if (!s->e)
            abort();
    }
    snap_elem *e = &s->e[s->n++];
    memset(e, 0, sizeof *e);
    e->tag = v->tag;
    memcpy(e->vr, v->vr, 3);
    e->depth = v->depth;
    e->length = v->length;
    e->is_bulk = v->is_bulk;
    e->is_seq = v->is_sequence;
    if (v->value && v->length && v->length != 0xFFFFFFFFu) {
        e->value = malloc((size_t)v->length);
        if (!e->value)
            abort();
        memcpy(e->value, v->value, (size_t)v->length);
    }
    return 0;
}

void snap_take(snap *s, const dv_instance *inst)
{
    memset(s, 0, sizeof *s);
    if (dv_instance_visit(inst, snap_fn, s) != 0)
        abort();
}

void snap_free(snap *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->e[i].value);
    free(s->e);
}

const snap_elem *snap_find(const snap *s, uint32_t tag, uint32_t depth, int nth)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->e[i].tag == tag && s->e[i].depth == depth && nth-- == 0)
            return &s->e[i];
    return NULL;
}
