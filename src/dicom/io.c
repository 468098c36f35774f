/* Memory sources and sinks, and the generic bulk copy used by the writer. */
#include "dicomveil/dv_io.h"

#include <stdlib.h>
#include <string.h>

static int mem_read_at(void *ctx, uint64_t offset, void *buf, size_t len)
{
    const dv_mem_source *m = ctx;
    if (offset > m->len || len > m->len - offset)
        return -1;
    memcpy(buf, m->data + offset, len);
    return 0;
}

dv_source dv_source_memory(dv_mem_source *m, const void *data, size_t len)
{
    m->data = data;
    m->len = len;
    dv_source s = { .ctx = m, .size = len, .read_at = mem_read_at, .mem = data, .mem_len = len };
    return s;
}

static int mem_write(void *ctx, const void *buf, size_t len)
{
    dv_mem_sink *m = ctx;
    if (len == 0)
        return 0;
    if (len > SIZE_MAX - m->len)
        return -1;
    size_t need = m->len + len;
    if (m->max_len && need > m->max_len)
        return -1;
    if (need > m->cap) {
        size_t cap = m->cap ? m->cap : 4096;
        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        uint8_t *p = realloc(m->data, cap);
        if (!p)
            return -1;
        m->data = p;
        m->cap = cap;
    }
    memcpy(m->data + m->len, buf, len);
    m->len = need;
    return 0;
}

dv_sink dv_sink_memory(dv_mem_sink *m)
{
    dv_sink s = { .ctx = m, .write = mem_write, .copy_from = NULL };
    return s;
}

void dv_mem_sink_free(dv_mem_sink *m)
{
    free(m->data);
    m->data = NULL;
    m->len = m->cap = 0;
}

#define DV_COPY_CHUNK (256u * 1024u)

int dv_sink_copy(dv_sink *sink, const dv_source *src, uint64_t offset, uint64_t len)
{
    if (len == 0)
        return 0;
    if (offset > src->size || len > src->size - offset)
        return -1;
    if (sink->copy_from)
        return sink->copy_from(sink->ctx, src, offset, len);
    /* A bounded buffer: bulk values of any size are streamed, never loaded whole. */
    size_t chunk = len < DV_COPY_CHUNK ? (size_t)len : DV_COPY_CHUNK;
    uint8_t *buf = malloc(chunk);
    if (!buf)
        return -1;
    int rc = 0;
    while (len > 0) {
        size_t n = len < chunk ? (size_t)len : chunk;
        if (src->read_at(src->ctx, offset, buf, n) != 0 || sink->write(sink->ctx, buf, n) != 0) {
            rc = -1;
            break;
        }
        offset += n;
        len -= n;
    }
    free(buf);
    return rc;
}
