/* dicomveil: byte sources and sinks. The engine does no I/O of its own: callers (CLI, server, MPI ranks)
 * hand it a source to read from and a sink to write to. */
#ifndef DICOMVEIL_DV_IO_H
#define DICOMVEIL_DV_IO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A random-access, read-only byte source. Sources are never modified. */
typedef struct dv_source {
    void *ctx;
    uint64_t size;
    /* Read exactly len bytes at offset into buf. Return 0 on success, -1 on any failure or short read. */
    int (*read_at)(void *ctx, uint64_t offset, void *buf, size_t len);
    /* Optional: the source's first mem_len bytes are at mem (a memory source's whole data, or what a caller
     * already read), and must outlive whatever reads the source. A reader takes them from there instead of copying
     * them out with read_at. NULL / 0 when none. */
    const uint8_t *mem;
    uint64_t mem_len;
} dv_source;

/* Where the source holds bytes [off, off + len) in memory (dv_source.mem), or NULL. */
static inline const uint8_t *dv_source_mem_at(const dv_source *src, uint64_t off, uint64_t len)
{
    return src->mem && off < src->mem_len && len <= src->mem_len - off ? src->mem + off : NULL;
}

/* What the reader asks of a source first: the 128-byte preamble and its first 16 KiB window. A caller that
 * already holds these bytes (a first read it made itself: dv_source.mem) lets the reader parse them in place
 * (docs/decisions.md "An instance is read whole before it is stat'ed"). */
#define DV_SOURCE_HEAD_BYTES (128u + 16u * 1024u)

/* A forward-only byte sink. */
typedef struct dv_sink {
    void *ctx;
    /* Write all len bytes. Return 0 on success, -1 on failure. */
    int (*write)(void *ctx, const void *buf, size_t len);
    /* Optional fast path (may be NULL): append len bytes read from src at offset, e.g. with
     * copy_file_range. Return 0 on success, -1 on failure. The engine falls back to read_at + write. */
    int (*copy_from)(void *ctx, const dv_source *src, uint64_t offset, uint64_t len);
} dv_sink;

/* In-memory source over caller-owned bytes (which must outlive the source). */
typedef struct dv_mem_source {
    const uint8_t *data;
    size_t len;
} dv_mem_source;
dv_source dv_source_memory(dv_mem_source *m, const void *data, size_t len);

/* Growable in-memory sink. max_len caps growth (0 = no cap). Free data with dv_mem_sink_free. */
typedef struct dv_mem_sink {
    uint8_t *data;
    size_t len, cap, max_len;
} dv_mem_sink;
dv_sink dv_sink_memory(dv_mem_sink *m);
void dv_mem_sink_free(dv_mem_sink *m);

/* Copy len bytes from src at offset into sink, using copy_from when available. */
int dv_sink_copy(dv_sink *sink, const dv_source *src, uint64_t offset, uint64_t len);

#ifdef __cplusplus
}
#endif
#endif
