/* Instance files under the data directory: DATA/stores/<store id>/<name>.dcm, where name is dvs_blob_name: the
 * hex HMAC-SHA-256, under the server's naming key (DATA/keys/naming.key, dvs_naming_key), of the store id and
 * the instance's SOPInstanceUID. Files written before that rule are named by the SHA-256 of their bytes; the
 * index records each instance's name, and both kinds are 64 hex digits, so they are opened and removed alike.
 *
 * Names come only from a number the index assigned and a keyed hash: never from a resource ID, a UID or any
 * other client text as such, so nothing a client sends can name a file or be read from a name (docs/decisions.md
 * "Server storage"; [test_store: test_blob_names]). Deterministic: the same instance in the same store always
 * has the same name, so work redone after a crash lands on it again. Cheap: a few dozen bytes hashed, where a
 * hash of the bytes cost ~0.4 ms per 0.5 MB instance (bench/RESULTS.md "Instance file names").
 *
 * Writes are atomic: the bytes go to an unnamed O_TMPFILE file (or, where the file system lacks O_TMPFILE, a
 * hidden .tmp-* name) and are linked to their name only once complete and durable, so a crash never leaves a
 * partial instance under a real name; the one exception, dvs_blob_defer_sync, only ever leaves it under a name
 * no index row holds (a leftover the next put replaces). The name is durable once the store's directory is fsync'ed
 * (dvs_store_dir_sync). Who may link a name is the put path's business (src/http/store_put.c): it claims the
 * name first (dvs_blob_claim), so one writer at a time decides what a name holds. */
#ifndef DVS_BLOBS_H
#define DVS_BLOBS_H

#include <stddef.h>
#include <stdint.h>

#include "dicomveil/dv_engine.h"
#include "dicomveil/dv_error.h"

typedef struct dvs_blob_writer dvs_blob_writer;

/* data_fd: the open data directory. Creates stores/<store_id>/ when missing. max: the most bytes the blob
 * may hold (writes beyond fail with DV_ERR_LIMIT). NULL with err on failure. */
dvs_blob_writer *dvs_blob_begin(int data_fd, int64_t store_id, uint64_t max, dv_error *err);
int dvs_blob_write(dvs_blob_writer *w, const void *data, size_t len, dv_error *err);
/* Bytes written so far, and the descriptor to read them back after dvs_blob_finish (valid until abort). */
uint64_t dvs_blob_size(const dvs_blob_writer *w);
int dvs_blob_fd(const dvs_blob_writer *w);
/* After the last write: the bytes still buffered go to the file. 0 or -1 with err. */
int dvs_blob_finish(dvs_blob_writer *w, dv_error *err);
/* After dvs_blob_finish: the whole instance in memory (owned by w, valid until abort) when it was small
 * enough to stay buffered and came in chunks under 64 KiB, else NULL (read it from dvs_blob_fd). */
const void *dvs_blob_bytes(const dvs_blob_writer *w);
/* After dvs_blob_finish: free the in-memory copy (dvs_blob_bytes is NULL from then on). */
void dvs_blob_release(dvs_blob_writer *w);
/* fsync the bytes written (before link, outside any lock: the slow part); link then does not again.
 * Nothing to do (0) when dvs_blob_sync_many made w durable already. */
int dvs_blob_sync(dvs_blob_writer *w, dv_error *err);
/* Make n writers' bytes durable at once (each after its dvs_blob_finish): one syncfs of the file system that
 * holds them (they are all under one data directory) instead of one fsync each; dvs_blob_sync and link
 * then skip them. 0, or -1 when syncfs failed: nothing is marked, each still needs its own dvs_blob_sync.
 * Used by a de-identify operation for a chunk of outputs (src/http/op_batch.c). [test_store:
 * test_blob_sync_many] */
int dvs_blob_sync_many(dvs_blob_writer *const *w, size_t n);
/* 1 once w's bytes are durable (dvs_blob_sync, dvs_blob_sync_many, or the fsync of dvs_blob_link), else 0. */
int dvs_blob_synced(const dvs_blob_writer *w);
/* Let dvs_blob_link name w before its bytes are durable; the caller then makes them durable (dvs_blob_sync or
 * dvs_blob_sync_many, both valid after the link) before anything that trusts the name (an index row) commits.
 * For the STOW put path, whose group commit makes every queued file durable with one syncfs after the names
 * are linked (src/http/put_batch.c): a crash before that syncfs may leave the name holding partial bytes, but
 * no row names it, and the next put of the instance replaces such a leftover (src/http/store_put.c).
 * [test_store: test_blob_defer_sync] */
void dvs_blob_defer_sync(dvs_blob_writer *w);
/* The name of an instance's file: 64 hex digits of HMAC-SHA-256(naming key, "<store id>/<SOPInstanceUID>")
 * into hex. 0, or -1 (out of memory). [test_store: test_blob_names] */
int dvs_blob_name(const dv_key *naming, int64_t store_id, const char *sop_uid, char hex[65]);

/* Claims on names, across threads and server processes sharing DATA: an OFD lock on one byte of
 * DATA/names.lock per name. Open a claims descriptor (-1 with err), claim names with it (blocks while another
 * descriptor holds the name; 0 or -1 with err), and close it to release them all (they also go with the
 * process). To claim several names without deadlock, claim them in ascending order. */
int dvs_blob_claims_open(int data_fd, dv_error *err);
int dvs_blob_claim(int claims_fd, const char *hex, dv_error *err);

/* Give the file its name <hex>.dcm (fsync'ed first unless dvs_blob_sync / _sync_many did, or the caller
 * deferred that: dvs_blob_defer_sync). When that name
 * exists: replace 0 leaves it and returns DVS_BLOB_TAKEN; replace 1 puts these bytes in its place atomically
 * (linked to a temporary name, renamed over it). 0 when named, DVS_BLOB_TAKEN, or -1 with err. w stays the
 * caller's (dvs_blob_abort frees it; a name it was given stays). Call with the name claimed.
 * [test_store: test_blob_replace] */
#define DVS_BLOB_TAKEN 1
int dvs_blob_link(dvs_blob_writer *w, const char *hex, int replace, dv_error *err);
/* 1 when the file <hex>.dcm of w's store holds exactly w's bytes (after dvs_blob_finish), else 0 (also when
 * missing or unreadable). Reads both: for the rare duplicate, never on the way of a new instance. */
int dvs_blob_same(const dvs_blob_writer *w, const char *hex);
/* Free w (NULL is a no-op); bytes never named are discarded. */
void dvs_blob_abort(dvs_blob_writer *w);

/* 1 when name has the shape of a writer's hidden temporary name (".tmp-" and 16 lower-case hex digits). Their
 * writer holds a lock (util/dv_locked_tmp.h, the one home of that rule), so the start's sweep removes only a dead
 * writer's. [test_server_names.py "a killed put's temporary file is swept at start"] */
int dvs_blob_tmp_name_is(const char *name);

/* fsync a store's directory: the names dvs_blob_link linked in it become durable (the group commit does
 * this once per batch, before the rows that name the files commit: src/http/put_batch.c). */
int dvs_store_dir_sync(int data_fd, int64_t store_id, dv_error *err);

/* Open the blob hex of a store for reading; -1 with err when missing. hex must be 64 hex digits. */
int dvs_blob_open(int data_fd, int64_t store_id, const char *hex, dv_error *err);
/* Remove a blob (after its last index row went). */
int dvs_blob_remove(int data_fd, int64_t store_id, const char *hex);
/* Remove a store's directory and the files in it (only names this module writes). */
int dvs_store_dir_remove(int data_fd, int64_t store_id);
/* The store's directory removed if it holds nothing (a deleted store's, made again by a put that then failed);
 * a live store's empty directory is made again by its next put. 0, or -1 (not empty, or not there). */
int dvs_store_dir_remove_if_empty(int data_fd, int64_t store_id);

/* Read a blob through dv_source_fd (src/util/dv_fd_source.h, shared with the command line). */
#include "util/dv_fd_source.h"

#endif
