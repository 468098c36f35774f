/* Internal helpers shared by the reader and the writer (deflate.c). */
#ifndef DV_READER_INTERNAL_H
#define DV_READER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "dicomveil/dv_error.h"
#include "dicomveil/dv_io.h"
#include "../util/dv_arena.h"

/* Inflate the raw-deflate (RFC 1951) stream that starts at offset in src, at most max_out bytes. On success
 * *out is a malloc'd buffer of *out_len bytes. Fails with DV_ERR_LIMIT past max_out (decompression bombs).
 * The buffer's growth is charged to the instance's memory budget through budget (the instance's arena; NULL:
 * none), which may wait for other instances (dv_budget.h). */
int dv_inflate_source(const dv_source *src, uint64_t offset, uint64_t max_out, dv_arena *budget, uint8_t **out,
                      size_t *out_len, dv_error *err);

/* A sink that deflates everything written to it into the downstream sink. */
typedef struct dv_deflate_sink dv_deflate_sink;
dv_deflate_sink *dv_deflate_sink_new(dv_sink *downstream);
dv_sink dv_deflate_sink_as_sink(dv_deflate_sink *d);
/* Flush the stream end; returns 0 or -1. Frees d in both cases. */
int dv_deflate_sink_finish(dv_deflate_sink *d);
void dv_deflate_sink_abort(dv_deflate_sink *d);

#endif
