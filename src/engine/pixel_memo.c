/* The sensitive modes' memo of box readings, per instance (pixel_memo.h: why a reading depends on the crop's
 * bytes only, and the bounds). Linear search: a frame has a few dozen boxes and the memo at most
 * DV_PIXEL_MEMO_ENTRIES crops, each compared by size and hash before its bytes. */
#include "engine/pixel_memo.h"

#include <stdlib.h>
#include <string.h>

typedef struct memo_entry {
    uint64_t hash;
    uint32_t w, h;
    uint32_t x, y; /* an ink key's frame position (0 for a crop) */
    dv_box box;    /* an ink key's box when its decision was made (a KEEP holds only for that box: find_ink) */
    uint8_t ink;   /* 1: an ink key (px: the ink's values, 0 elsewhere; r[0] the box's decision), 0: a crop */
    uint8_t level; /* an ink key's brightest level */
    uint8_t *px;   /* w * h bytes, the crop (or the ink key's rectangle) row after row */
    uint64_t used; /* the memo's clock when last found or made (least recently used goes first) */
    uint8_t known; /* bit p: r[p] holds the reading with preparation p */
    dv_pixel_reading r[DV_PIXEL_MEMO_PREPS];
} memo_entry;

struct dv_pixel_memo {
    memo_entry e[DV_PIXEL_MEMO_ENTRIES];
    size_t n;
    size_t bytes;
    uint64_t clock;
    uint8_t *key; /* scratch: the ink key being looked up (pixels of burned-in text: zeroed after use) */
    size_t key_cap;
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
    if (m)
        free(m->key);
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

/* A new entry (px owned by the memo from here on): room first, the least recently used going. */
static int add(dv_pixel_memo *m, const memo_entry *e)
{
    size_t size = (size_t)e->w * e->h;
    while (m->n && (m->n == DV_PIXEL_MEMO_ENTRIES || m->bytes + size > DV_PIXEL_MEMO_BYTES)) {
        size_t lru = 0;
        for (size_t i = 1; i < m->n; i++)
            if (m->e[i].used < m->e[lru].used)
                lru = i;
        drop(m, lru);
    }
    memo_entry *x = &m->e[m->n];
    *x = *e;
    x->used = ++m->clock;
    m->bytes += size;
    return (int)m->n++;
}

static int box_in(const dv_gray8 *g, const dv_box *b)
{
    return g && g->px && b && b->w && b->h && b->x < g->width && b->y < g->height && b->w <= g->width - b->x &&
           b->h <= g->height - b->y;
}

int dv_pixel_memo_slot(dv_pixel_memo *m, const dv_gray8 *g, const dv_box *b)
{
    if (!m || !box_in(g, b))
        return -1;
    size_t size = (size_t)b->w * b->h;
    if (size > DV_PIXEL_MEMO_MAX_CROP)
        return -1;
    uint64_t h = crop_hash(g, b);
    for (size_t i = 0; i < m->n; i++) {
        memo_entry *x = &m->e[i];
        if (!x->ink && x->hash == h && x->w == b->w && x->h == b->h && same_crop(x, g, b)) {
            x->used = ++m->clock;
            return (int)i;
        }
    }
    uint8_t *px = malloc(size);
    if (!px)
        return -1;
    for (uint32_t y = 0; y < b->h; y++)
        memcpy(px + (size_t)y * b->w, g->px + (size_t)(b->y + y) * g->width + b->x, b->w);
    return add(m, &(memo_entry){.hash = h, .w = b->w, .h = b->h, .px = px});
}

/* ---- ink keys (pixel_memo.h) ---- */

typedef struct ink_key {
    uint32_t x, y, w, h; /* the ink's bounding rectangle in the frame */
    uint8_t level;
    uint64_t hash;
} ink_key;

/* Box b's ink key into m->key: 0 when b has none (dim, scant, too large, no memory). */
static int make_ink_key(dv_pixel_memo *m, const dv_gray8 *g, const dv_box *b, ink_key *k)
{
    if (!box_in(g, b) || (size_t)b->w * b->h > DV_PIXEL_MEMO_MAX_CROP)
        return 0;
    uint8_t top = 0;
    for (uint32_t y = 0; y < b->h; y++) {
        const uint8_t *row = g->px + (size_t)(b->y + y) * g->width + b->x;
        for (uint32_t x = 0; x < b->w; x++)
            top = row[x] > top ? row[x] : top;
    }
    if (top < DV_PIXEL_INK_LEVEL)
        return 0;
    uint8_t floor = (uint8_t)(top - DV_PIXEL_INK_GAP);
    uint32_t x0 = UINT32_MAX, y0 = UINT32_MAX, x1 = 0, y1 = 0;
    size_t n = 0;
    for (uint32_t y = 0; y < b->h; y++) {
        const uint8_t *row = g->px + (size_t)(b->y + y) * g->width + b->x;
        for (uint32_t x = 0; x < b->w; x++) {
            if (row[x] < floor)
                continue;
            n++;
            x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1;
            y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
        }
    }
    if (n < DV_PIXEL_INK_PIXELS)
        return 0;
    *k = (ink_key){b->x + x0, b->y + y0, x1 - x0 + 1, y1 - y0 + 1, top, 0};
    size_t size = (size_t)k->w * k->h;
    if (size > m->key_cap) {
        uint8_t *q = malloc(size);
        if (!q)
            return 0;
        if (m->key)
            memset(m->key, 0, m->key_cap);
        free(m->key);
        m->key = q;
        m->key_cap = size;
    }
    /* the ink's values where it is, 0 elsewhere (ink is >= floor > 0: the two never meet) */
    uint64_t h = 1469598103934665603ull ^ ((uint64_t)k->x << 48 ^ (uint64_t)k->y << 32 ^ (uint64_t)k->w << 16 ^ k->h);
    for (uint32_t y = 0; y < k->h; y++) {
        const uint8_t *row = g->px + (size_t)(k->y + y) * g->width + k->x;
        uint8_t *out = m->key + (size_t)y * k->w;
        for (uint32_t x = 0; x < k->w; x++) {
            out[x] = row[x] >= floor ? row[x] : 0;
            h = (h ^ out[x]) * 1099511628211ull;
        }
    }
    k->hash = h ^ top;
    return 1;
}

static int same_box(const dv_box *a, const dv_box *b)
{
    return a->x == b->x && a->y == b->y && a->w == b->w && a->h == b->h;
}

/* The entry holding k for box b. A KEEP is held for the box it was read on only: a larger box around the same
 * ink (a label the detector grew into the speckle, or into a dimmer second text beside it, which the ink key
 * does not see: it lies more than DV_PIXEL_INK_GAP below the ink) is read, never kept unread. A SENSITIVE
 * holds for any box showing that ink (covering more is privacy-safe). [test_pixel_memo: test_ink_keep_same_box] */
static int find_ink(const dv_pixel_memo *m, const ink_key *k, const dv_box *b)
{
    for (size_t i = 0; i < m->n; i++) {
        const memo_entry *x = &m->e[i];
        if (x->ink && x->hash == k->hash && x->x == k->x && x->y == k->y && x->w == k->w && x->h == k->h &&
            x->level == k->level && memcmp(x->px, m->key, (size_t)k->w * k->h) == 0 &&
            (x->r[0].verdict != DV_PIXEL_KEEP || same_box(&x->box, b)))
            return (int)i;
    }
    return -1;
}

int dv_pixel_memo_ink_get(dv_pixel_memo *m, const dv_gray8 *g, const dv_box *b, dv_pixel_reading *out)
{
    ink_key k;
    if (!m || !make_ink_key(m, g, b, &k))
        return 0;
    int i = find_ink(m, &k, b);
    memset(m->key, 0, (size_t)k.w * k.h);
    if (i < 0 || !(m->e[i].known & 1u))
        return 0;
    m->e[i].used = ++m->clock;
    *out = m->e[i].r[0];
    return 1;
}

void dv_pixel_memo_ink_put(dv_pixel_memo *m, const dv_gray8 *g, const dv_box *b, const dv_pixel_reading *r)
{
    ink_key k;
    if (!m || !make_ink_key(m, g, b, &k))
        return;
    size_t size = (size_t)k.w * k.h;
    int i = find_ink(m, &k, b);
    if (i < 0) {
        uint8_t *px = malloc(size);
        if (px) {
            memcpy(px, m->key, size);
            i = add(m, &(memo_entry){.hash = k.hash, .w = k.w, .h = k.h, .x = k.x, .y = k.y, .ink = 1,
                                     .level = k.level, .px = px, .box = *b});
        }
    } else {
        m->e[i].used = ++m->clock;
    }
    memset(m->key, 0, size);
    if (i < 0)
        return;
    m->e[i].r[0] = *r;
    m->e[i].box = *b;
    m->e[i].known = 1u;
}

int dv_pixel_memo_get(const dv_pixel_memo *m, int slot, unsigned prep, dv_pixel_reading *out)
{
    if (!m || slot < 0 || (size_t)slot >= m->n || m->e[slot].ink || prep >= DV_PIXEL_MEMO_PREPS || !(m->e[slot].known >> prep & 1u))
        return 0;
    *out = m->e[slot].r[prep];
    return 1;
}

void dv_pixel_memo_put(dv_pixel_memo *m, int slot, unsigned prep, const dv_pixel_reading *r)
{
    if (!m || slot < 0 || (size_t)slot >= m->n || m->e[slot].ink || prep >= DV_PIXEL_MEMO_PREPS)
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
