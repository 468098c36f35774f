/* Huge-page backed growable arrays (see dv_bigvec.h). */
#include "util/dv_bigvec.h"
#include "util/dv_grow.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)

/* The mapping length of cap * elem bytes: whole 2 MiB pages. 0 when it would overflow. */
static size_t map_len(size_t cap, size_t elem)
{
    if (elem && cap > SIZE_MAX / elem)
        return 0;
    size_t bytes = cap * elem;
    if (bytes > SIZE_MAX - HUGE_PAGE)
        return 0;
    return bytes ? (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1) : 0;
}

/* A fresh mapping of len bytes (a multiple of HUGE_PAGE) at a 2 MiB boundary, so the kernel can back it with
 * huge pages from its first byte. NULL on failure. */
static void *map_aligned(size_t len)
{
    size_t span = len + HUGE_PAGE;
    uint8_t *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    uint8_t *a = (uint8_t *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    size_t head = (size_t)(a - p), tail = span - head - len;
    if (head)
        munmap(p, head);
    if (tail)
        munmap(a + len, tail);
    (void)madvise(a, len, MADV_HUGEPAGE); /* advice: EINVAL where THP is not built in changes nothing */
    return a;
}

int dv_big_grow(void *arrayp, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return 0;
    size_t nc = dv_grow_capacity(*cap, need, first);
    size_t old_len = map_len(*cap, elem), new_len = map_len(nc, elem);
    if (elem == 0 || new_len == 0) {
        errno = ENOMEM;
        return -1;
    }
    void *old;
    memcpy(&old, arrayp, sizeof old); /* as dv_grow: arrayp is the address of some T * */
    if (new_len == old_len) { /* still inside the mapping's last 2 MiB page */
        *cap = nc;
        return 0;
    }
    void *nv = map_aligned(new_len);
    if (!nv) {
        errno = ENOMEM;
        return -1;
    }
    /* Move the old pages over the front of the new mapping: page tables move, no byte is copied, and 2 MiB
     * pages stay whole because both ends are 2 MiB aligned. The moved range keeps its huge-page advice; the
     * rest of the new mapping has its own. The kernel normally merges the two into one mapping; where it did
     * not, a kernel before 6.17 refuses to move a range that spans two (EFAULT), and the bytes are copied. */
    if (old && mremap(old, old_len, old_len, MREMAP_MAYMOVE | MREMAP_FIXED, nv) == MAP_FAILED) {
        memcpy(nv, old, old_len);
        munmap(old, old_len);
    }
    memcpy(arrayp, &nv, sizeof nv);
    *cap = nc;
    return 0;
}

void dv_big_free(void *array, size_t cap, size_t elem)
{
    if (array)
        munmap(array, map_len(cap, elem));
}

char *dv_big_pool_dup(dv_big_pool *p, const char *s)
{
    size_t len = strlen(s) + 1;
    if (p->nblocks == 0 || p->blocks[p->nblocks - 1].size - p->used < len) {
        size_t cap = 0, want = len > HUGE_PAGE ? len : HUGE_PAGE; /* a longer string gets a block of its own */
        char *b = NULL;
        if (dv_grow(&p->blocks, &p->capblocks, p->nblocks + 1, sizeof *p->blocks, 16) < 0 ||
            dv_big_grow(&b, &cap, want, 1, want) < 0)
            return NULL;
        p->blocks[p->nblocks++] = (struct dv_big_block){b, cap};
        p->used = 0;
    }
    char *d = p->blocks[p->nblocks - 1].bytes + p->used;
    memcpy(d, s, len);
    p->used += len;
    return d;
}

void dv_big_pool_free(dv_big_pool *p)
{
    for (size_t i = 0; i < p->nblocks; i++)
        dv_big_free(p->blocks[i].bytes, p->blocks[i].size, 1);
    free(p->blocks);
    *p = (dv_big_pool){0};
}
