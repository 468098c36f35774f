/* Box lists and their geometry (dv_redact.h): the detector's line boxes, the redaction's rectangles.
 * Coordinates are unsigned and every sum is done in 64 bits, so a box near the 65535-pixel edge of the
 * largest frame cannot wrap. [test_textdetect: test_boxes_geometry, test_boxes_merge_and_limit] */
#include "dv_redact.h"

#include <stdlib.h>

int dv_boxes_add(dv_boxes *b, dv_box box, dv_error *err)
{
    if (b->n == b->cap) {
        if (b->cap >= DV_BOXES_MAX)
            return dv_fail(err, DV_ERR_LIMIT, "more than %u boxes in one frame", DV_BOXES_MAX);
        size_t cap = b->cap ? b->cap * 2 : 16;
        if (cap > DV_BOXES_MAX)
            cap = DV_BOXES_MAX;
        dv_box *v = realloc(b->v, cap * sizeof *v);
        if (!v)
            return dv_fail(err, DV_ERR_NOMEM, "box list of %zu", cap);
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = box;
    return 0;
}

void dv_boxes_clear(dv_boxes *b)
{
    b->n = 0;
}

void dv_boxes_free(dv_boxes *b)
{
    if (!b)
        return;
    free(b->v);
    b->v = NULL;
    b->n = b->cap = 0;
}

static dv_box from_edges(uint64_t x0, uint64_t y0, uint64_t x1, uint64_t y1)
{
    dv_box r = {0, 0, 0, 0};
    if (x1 <= x0 || y1 <= y0)
        return r;
    r.x = (uint32_t)x0;
    r.y = (uint32_t)y0;
    r.w = (uint32_t)(x1 - x0);
    r.h = (uint32_t)(y1 - y0);
    return r;
}

dv_box dv_box_clip(dv_box box, uint32_t width, uint32_t height)
{
    uint64_t x1 = (uint64_t)box.x + box.w, y1 = (uint64_t)box.y + box.h;
    if (x1 > width)
        x1 = width;
    if (y1 > height)
        y1 = height;
    return from_edges(box.x, box.y, x1, y1);
}

dv_box dv_box_pad(dv_box box, uint32_t px, uint32_t py, uint32_t width, uint32_t height)
{
    if (box.w == 0 || box.h == 0)
        return from_edges(0, 0, 0, 0);
    uint64_t x0 = box.x > px ? box.x - px : 0, y0 = box.y > py ? box.y - py : 0;
    uint64_t x1 = (uint64_t)box.x + box.w + px, y1 = (uint64_t)box.y + box.h + py;
    if (x1 > width)
        x1 = width;
    if (y1 > height)
        y1 = height;
    return from_edges(x0, y0, x1, y1);
}

int dv_box_intersects(dv_box a, dv_box b)
{
    if (a.w == 0 || a.h == 0 || b.w == 0 || b.h == 0)
        return 0;
    return (uint64_t)a.x < (uint64_t)b.x + b.w && (uint64_t)b.x < (uint64_t)a.x + a.w &&
           (uint64_t)a.y < (uint64_t)b.y + b.h && (uint64_t)b.y < (uint64_t)a.y + a.h;
}

dv_box dv_box_union(dv_box a, dv_box b)
{
    if (a.w == 0 || a.h == 0)
        return b;
    if (b.w == 0 || b.h == 0)
        return a;
    uint64_t x0 = a.x < b.x ? a.x : b.x, y0 = a.y < b.y ? a.y : b.y;
    uint64_t ax1 = (uint64_t)a.x + a.w, bx1 = (uint64_t)b.x + b.w;
    uint64_t ay1 = (uint64_t)a.y + a.h, by1 = (uint64_t)b.y + b.h;
    return from_edges(x0, y0, ax1 > bx1 ? ax1 : bx1, ay1 > by1 ? ay1 : by1);
}

/* Drop the empty boxes, then replace every pair that `joins` by its union until none joins: a union can
 * reach a box an earlier pass had already passed, so repeat until stable. The one loop behind both merges
 * (duplicate pair D19). */
static void merge_while(dv_boxes *b, int (*joins)(dv_box, dv_box))
{
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++)
        if (b->v[i].w && b->v[i].h)
            b->v[n++] = b->v[i];
    b->n = n;
    int changed = 1;
    while (changed) {
        changed = 0;
        for (size_t i = 0; i < b->n; i++) {
            for (size_t j = i + 1; j < b->n;) {
                if (joins(b->v[i], b->v[j])) {
                    b->v[i] = dv_box_union(b->v[i], b->v[j]);
                    b->v[j] = b->v[--b->n];
                    changed = 1;
                } else {
                    j++;
                }
            }
        }
    }
}

void dv_boxes_merge_overlapping(dv_boxes *b)
{
    merge_while(b, dv_box_intersects);
}

/* Two padded line boxes belong to one line when they overlap and share at least half the height of the
 * lower one; the boxes of the lines above and below only touch through their padding. */
static int same_line(dv_box a, dv_box b)
{
    if (!dv_box_intersects(a, b))
        return 0;
    uint64_t top = a.y > b.y ? a.y : b.y;
    uint64_t ae = (uint64_t)a.y + a.h, be = (uint64_t)b.y + b.h;
    uint64_t bot = ae < be ? ae : be;
    uint64_t lower = a.h < b.h ? a.h : b.h;
    return bot > top && (bot - top) * 2 >= lower;
}

void dv_boxes_merge_lines(dv_boxes *b)
{
    merge_while(b, same_line);
}
