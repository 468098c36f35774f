/* deidentify --mpi: the byte format of the batches ranks exchange (cli_mpi.h). Every read is bounds-checked
 * and a malformed batch is refused as a whole (the reader's sticky "bad"), never trusted halfway. */
#include <stdlib.h>
#include <string.h>

#include "cli_mpi.h"
#include "util/dv_grow.h"

static int grow(dvm_buf *b, size_t n)
{
    if (b->oom)
        return -1;
    if (b->len + n <= b->cap)
        return 0;
    if (dv_grow(&b->p, &b->cap, b->len + n, 1, 4096) < 0) {
        b->oom = 1;
        return -1;
    }
    return 0;
}

void dvm_raw(dvm_buf *b, const void *p, size_t n)
{
    if (n && grow(b, n) == 0) {
        memcpy(b->p + b->len, p, n);
        b->len += n;
    }
}

uint8_t *dvm_reserve(dvm_buf *b, size_t n)
{
    return grow(b, n) == 0 ? b->p + b->len : NULL;
}

void dvm_u8(dvm_buf *b, uint8_t v)
{
    dvm_raw(b, &v, 1);
}

void dvm_u32(dvm_buf *b, uint32_t v)
{
    uint8_t x[4];
    for (int i = 0; i < 4; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    dvm_raw(b, x, 4);
}

void dvm_u64(dvm_buf *b, uint64_t v)
{
    uint8_t x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    dvm_raw(b, x, 8);
}

void dvm_str(dvm_buf *b, const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s) + 1;
    dvm_u32(b, (uint32_t)n);
    dvm_raw(b, s, n);
}

void dvm_buf_free(dvm_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

const char *dvm_get_str(dvm_rd *r)
{
    uint32_t n = dvm_get_u32(r);
    const uint8_t *p = n ? dvm_get_raw(r, n) : NULL;
    if (!p || p[n - 1] != '\0' || memchr(p, '\0', n - 1)) {
        r->bad = 1;
        return "";
    }
    return (const char *)p;
}
