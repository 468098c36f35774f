/* Instance files under the data directory: DATA/stores/<store id>/<sha-256 of the bytes>.dcm.
 *
 * Names come only from numbers the index assigned and from content hashes: never from a resource ID, a UID
 * or any other client text, so nothing a client sends can name a file (docs/decisions.md "Server storage";
 * [test_store: test_blob_names]). Writes are atomic: the bytes go to an unnamed O_TMPFILE file (or, where the
 * file system lacks O_TMPFILE, a hidden .tmp-* name) and are linked to their name only once complete and
 * hashed, so a crash never leaves a partial instance under a real name. The name is durable once the store's
 * directory is fsync'ed (dvs_store_dir_sync). Equal bytes get one file. */
#ifndef DVS_BLOBS_H
#define DVS_BLOBS_H

#include <stddef.h>
#include <stdint.h>

#include "dicomveil/dv_error.h"

typedef struct dvs_blob_writer dvs_blob_writer;

/* data_fd: the open data directory. Creates stores/<store_id>/ when missing. max: the most bytes the blob
 * may hold (writes beyond fail with DV_ERR_LIMIT). NULL with err on failure. */
dvs_blob_writer *dvs_blob_begin(int data_fd, int64_t store_id, uint64_t max, dv_error *err);
int dvs_blob_write(dvs_blob_writer *w, const void *data, size_t len, dv_error *err);
/* Bytes written so far, and the descriptor to read them back after dvs_blob_hash (valid until commit/abort). */
uint64_t dvs_blob_size(const dvs_blob_writer *w);
int dvs_blob_fd(const dvs_blob_writer *w);
/* The hex SHA-256 of the bytes written (call once, after the last write: it also writes the bytes still
 * buffered to the file, so 0 or -1 with err). */
int dvs_blob_hash(dvs_blob_writer *w, char hex[65], dv_error *err);
/* After dvs_blob_hash: the whole instance in memory (owned by w, valid until commit/abort) when it was small
 * enough to stay buffered and came in chunks under 64 KiB, else NULL (read it from dvs_blob_fd). */
const void *dvs_blob_bytes(const dvs_blob_writer *w);
/* After dvs_blob_hash: free the in-memory copy (dvs_blob_bytes is NULL from then on). */
void dvs_blob_release(dvs_blob_writer *w);
/* fsync the bytes written (before commit, outside any lock: the slow part); commit then does not again.
 * Nothing to do (0) when dvs_blob_sync_many made w durable already. */
int dvs_blob_sync(dvs_blob_writer *w, dv_error *err);
/* Make n writers' bytes durable at once (each after its dvs_blob_hash): one syncfs of the file system that
 * holds them (they are all under one data directory) instead of one fsync each; dvs_blob_sync and commit
 * then skip them. 0, or -1 when syncfs failed: nothing is marked, each still needs its own dvs_blob_sync.
 * Used by a de-identify operation for a chunk of outputs (src/http/op_batch.c). [test_store:
 * test_blob_sync_many] */
int dvs_blob_sync_many(dvs_blob_writer *const *w, size_t n);
/* Give the file its name <hex>.dcm (an existing file of that name holds the same bytes: kept as is) and free
 * w. 0 or -1 with err; w is freed either way. */
int dvs_blob_commit(dvs_blob_writer *w, dv_error *err);
/* Discard the bytes and free w (NULL is a no-op). */
void dvs_blob_abort(dvs_blob_writer *w);

/* fsync a store's directory: the names dvs_blob_commit linked in it become durable (the group commit does
 * this once per batch, before the rows that name the files commit: src/http/put_batch.c). */
int dvs_store_dir_sync(int data_fd, int64_t store_id, dv_error *err);

/* Open the blob hex of a store for reading; -1 with err when missing. hex must be 64 hex digits. */
int dvs_blob_open(int data_fd, int64_t store_id, const char *hex, dv_error *err);
/* Remove a blob (after its last index row went). */
int dvs_blob_remove(int data_fd, int64_t store_id, const char *hex);
/* Remove a store's directory and the files in it (only names this module writes). */
int dvs_store_dir_remove(int data_fd, int64_t store_id);

/* Read a blob through dv_source_fd (src/util/dv_fd_source.h, shared with the command line). */
#include "util/dv_fd_source.h"

#endif
