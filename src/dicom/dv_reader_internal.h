/* Internal helpers shared by the reader and the writer (deflate.c). */
#ifndef DV_READER_INTERNAL_H
#define DV_READER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "dicomveil/dv_error.h"
#include "dicomveil/dv_io.h"
#include "../util/dv_arena.h"

/* The inflated dataset of a Deflated Explicit VR Little Endian file (PS3.5 A.5) as a random-access source,
 * with bounded memory whatever its size (deflate.c explains how). */
typedef struct dv_inflated dv_inflated;
/* Open the raw-deflate (RFC 1951) stream that starts at offset in src (a zlib-wrapped stream is accepted
 * too). One validating pass inflates it all: DV_ERR_LIMIT past max_out bytes (decompression bombs),
 * DV_ERR_MALFORMED when corrupt. A stream of at most keep_max inflated bytes is kept in memory, a larger
 * one is streamed. The dv_source struct is copied; what its ctx points to must outlive the result. Free with
 * dv_inflated_free. */
int dv_inflated_open(const dv_source *src, uint64_t offset, uint64_t max_out, uint64_t keep_max, dv_arena *budget,
                     dv_inflated **out, dv_error *err);
/* Streams of at most this many inflated bytes may be kept whole in memory (the reader's keep_max never exceeds
 * it). */
#define DV_INFLATE_KEEP_MAX (4u << 20)
/* The most memory one dv_inflated can hold at once with keep_max <= DV_INFLATE_KEEP_MAX: the whole-stream
 * buffer while it doubles (old + new), the access-point windows, the input chunk, the ring, zlib's state.
 * dv_inflated_open charges exactly this to the instance's budget (budget != NULL) before inflating, so the
 * run-wide budget bounds inflation too (dv_limits_memory_max counts it). */
uint64_t dv_inflate_resident_max(void);
/* The inflated bytes as a source (size = inflated size); valid until dv_inflated_free. Not thread-safe:
 * reads move the inflater's position. */
dv_source dv_inflated_source(dv_inflated *z);
/* Bytes the inflater holds now (buffers, access-point windows, the small-stream copy; zlib's state aside). */
uint64_t dv_inflated_resident_bytes(const dv_inflated *z);
void dv_inflated_free(dv_inflated *z);
/* 1 when the inflated bytes are streamed (not kept whole in memory): random access then costs inflation. */
int dv_inflated_streams(const dv_inflated *z);
/* Values of the inflated stream held in memory: reads inside one of these ranges are served from it, never
 * inflated. The reader holds the values it would otherwise read against the stream order (reader.c
 * hold_displaced). ranges: sorted by off, disjoint, borrowed (the instance's arena: it outlives z). */
typedef struct dv_held_range {
    uint64_t off, len;
    const uint8_t *bytes;
} dv_held_range;
void dv_inflated_hold(dv_inflated *z, const dv_held_range *ranges, size_t n);
/* What reading [off, off + len) would inflate (0 for a stream kept whole), from inflated position *pos, which
 * moves on as the read would move it; start from dv_inflated_position. Reads served from held ranges aside. */
uint64_t dv_inflated_position(const dv_inflated *z);
uint64_t dv_inflated_read_cost(const dv_inflated *z, uint64_t *pos, uint64_t off, uint64_t len);
/* Bytes inflated by reads since the validating pass (the cost of random access; tests bound it). */
uint64_t dv_inflated_read_bytes(const dv_inflated *z);

/* A sink that deflates everything written to it into the downstream sink. */
typedef struct dv_deflate_sink dv_deflate_sink;
dv_deflate_sink *dv_deflate_sink_new(dv_sink *downstream);
dv_sink dv_deflate_sink_as_sink(dv_deflate_sink *d);
/* Flush the stream end; returns 0 or -1. Frees d in both cases. */
int dv_deflate_sink_finish(dv_deflate_sink *d);
void dv_deflate_sink_abort(dv_deflate_sink *d);

#endif
