/* The sensitive modes' memo of box readings, per instance (pixel_memo.h: why a reading depends on the crop's
 * bytes only, and the bounds). Linear search: a frame has a few dozen boxes and the memo at most
 * DV_PIXEL_MEMO_ENTRIES crops, each compared by size and hash before its bytes. */
#include "engine/pixel_memo.h"

#include <stdlib.h>
#include <string.h>

typedef struct memo_entry {
    uint64_t hash;
    uint32_t w, h;
    uint8_t *px;   /* w * h bytes, the crop row after row */
    uint64_t used; /* the memo's clock when last found or made (least recently used goes first) */
    uint8_t known; /* bit p: r[p] holds the reading with preparation p */
    dv_pixel_reading r[DV_PIXEL_MEMO_PREPS];
} memo_entry;

struct dv_pixel_memo {
    memo_entry e[DV_PIXEL_MEMO_ENTRIES];
    size_t n;
    size_t bytes;
    uint64_t clock;
};

dv_pixel_memo *dv_pixel_memo_new(void)
{
    return calloc(1, sizeof(dv_pixel_memo));
}

/* Pixels of burned-in text: zeroed before they are given back. */
static void drop(dv_pixel_memo *m, size_t i)
{
    memo_entry *x = &m->e[i];
    memset(x->px, 0, (size_t)x->w * x->h);
    free(x->px);
    m->bytes -= (size_t)x->w * x->h;
    m->e[i] = m->e[--m->n];
}

void dv_pixel_memo_reset(dv_pixel_memo *m)
{
    if (!m)
        return;
    while (m->n)
        drop(m, m->n - 1);
    m->clock = 0;
}

void dv_pixel_memo_free(dv_pixel_memo *m)
{
    dv_pixel_memo_reset(m);
    free(m);
}

/* FNV-1a over the crop's rows, seeded with its size. */
static uint64_t crop_hash(const dv_gray8 *g, const dv_box *b)
{
    uint64_t h = 1469598103934665603ull ^ ((uint64_t)b->w << 32 | b->h);
    for (uint32_t y = 0; y < b->h; y++) {
        const uint8_t *row = g->px + (size_t)(b->y + y) * g->width + b->x;
        for (uint32_t x = 0; x < b->w; x++)
            h = (h ^ row[x]) * 1099511628211ull;
    }
    return h;
}

static int same_crop(const memo_entry *x, const dv_gray8 *g, const dv_box *b)
{
    for (uint32_t y = 0; y < b->h; y++)
        if (memcmp(x->px + (size_t)y * b->w, g->px + (size_t)(b->y + y) * g->width + b->x, b->w) != 0)
            return 0;
    return 1;
}

int dv_pixel_memo_slot(dv_pixel_memo *m, const dv_gray8 *g, const dv_box *b)
{
    if (!m || !g || !g->px || !b || b->w == 0 || b->h == 0 || b->x >= g->width || b->y >= g->height ||
        b->w > g->width - b->x || b->h > g->height - b->y)
        return -1;
    size_t size = (size_t)b->w * b->h;
    if (size > DV_PIXEL_MEMO_MAX_CROP)
        return -1;
    uint64_t h = crop_hash(g, b);
    for (size_t i = 0; i < m->n; i++) {
        memo_entry *x = &m->e[i];
        if (x->hash == h && x->w == b->w && x->h == b->h && same_crop(x, g, b)) {
            x->used = ++m->clock;
            return (int)i;
        }
    }
    /* a new crop: room first, the least recently used going */
    while (m->n && (m->n == DV_PIXEL_MEMO_ENTRIES || m->bytes + size > DV_PIXEL_MEMO_BYTES)) {
        size_t lru = 0;
        for (size_t i = 1; i < m->n; i++)
            if (m->e[i].used < m->e[lru].used)
                lru = i;
        drop(m, lru);
    }
    uint8_t *px = malloc(size);
    if (!px)
        return -1;
    for (uint32_t y = 0; y < b->h; y++)
        memcpy(px + (size_t)y * b->w, g->px + (size_t)(b->y + y) * g->width + b->x, b->w);
    memo_entry *x = &m->e[m->n];
    memset(x, 0, sizeof *x);
    x->hash = h;
    x->w = b->w;
    x->h = b->h;
    x->px = px;
    x->used = ++m->clock;
    m->bytes += size;
    return (int)m->n++;
}

int dv_pixel_memo_get(const dv_pixel_memo *m, int slot, unsigned prep, dv_pixel_reading *out)
{
    if (!m || slot < 0 || (size_t)slot >= m->n || prep >= DV_PIXEL_MEMO_PREPS || !(m->e[slot].known >> prep & 1u))
        return 0;
    *out = m->e[slot].r[prep];
    return 1;
}

void dv_pixel_memo_put(dv_pixel_memo *m, int slot, unsigned prep, const dv_pixel_reading *r)
{
    if (!m || slot < 0 || (size_t)slot >= m->n || prep >= DV_PIXEL_MEMO_PREPS)
        return;
    m->e[slot].r[prep] = *r;
    m->e[slot].known |= (uint8_t)(1u << prep);
}

size_t dv_pixel_memo_entries(const dv_pixel_memo *m)
{
    return m ? m->n : 0;
}

size_t dv_pixel_memo_bytes(const dv_pixel_memo *m)
{
    return m ? m->bytes : 0;
}
