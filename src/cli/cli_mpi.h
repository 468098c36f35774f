/* deidentify --mpi (docs/decisions.md "MPI batch mode"; docs/SCALING.md): declarations shared by mpi_wire.c
 * (the message format), mpi_rank.c (every rank: feeds its worker pool, asks rank 0 for names), mpi_coord.c
 * (rank 0: lists, deals, decides names, gathers outcomes, journal) and mpi_run.c (the only file that calls MPI:
 * start-up, the message loop, the report). mpi_rank.c and mpi_coord.c exchange byte batches through mpi_run.c
 * and know nothing of MPI, so the build without MPI compiles them too.
 *
 * Threads: on every rank the main thread alone talks MPI (MPI_THREAD_FUNNELED) and alone touches the
 * coordinator; workers talk to it through the rank's mailbox (mpi_rank.c, one mutex). Messages never block a
 * sender (MPI_Isend of owned buffers) and are polled (MPI_Iprobe), so no rank can deadlock another and no idle
 * rank spins a core. */
#ifndef DV_CLI_MPI_H
#define DV_CLI_MPI_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"

/* ---- mpi_wire.c: records in a byte batch (little-endian integers, NUL-terminated strings) ---- */
typedef struct dvm_buf {
    uint8_t *p;
    size_t len, cap;
    int oom; /* sticky: an append failed */
} dvm_buf;
void dvm_u8(dvm_buf *b, uint8_t v);
void dvm_u32(dvm_buf *b, uint32_t v);
void dvm_u64(dvm_buf *b, uint64_t v);
void dvm_str(dvm_buf *b, const char *s); /* NULL is sent as "" */
void dvm_raw(dvm_buf *b, const void *p, size_t n);
void dvm_buf_free(dvm_buf *b);
/* Room for n more bytes at the end of b, which the caller fills with dvm_put_* and then adds to b->len; NULL once
 * b->oom. One capacity check per record instead of one per field (rank 0's per-input records). */
uint8_t *dvm_reserve(dvm_buf *b, size_t n);
static inline uint8_t *dvm_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return p + 4;
}
static inline uint8_t *dvm_put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return p + 8;
}

/* ---- mpi_seal.c: every batch between ranks sealed (AES-256-GCM under a key derived from the run's key file),
 * so source paths are not in the clear on the network or in Open MPI's /dev/shm segments ---- */
typedef struct dvm_seal dvm_seal;
/* NULL when out of memory or without random bytes. */
dvm_seal *dvm_seal_new(const dv_key *key, int me, int nranks);
void dvm_seal_free(dvm_seal *s);
/* Replace b's bytes by their sealed form for rank `to` under tag (the plain bytes wiped). 0, or -1 (b unchanged). */
int dvm_seal_wrap(dvm_seal *s, dvm_buf *b, int to, int tag);
/* Open, in place, a batch of rank `from` under tag: *plain (inside buf), *plain_n. -1 when it fails its check
 * (another key, forged, replayed, reordered or addressed to another rank). */
int dvm_seal_open(dvm_seal *s, uint8_t *buf, size_t n, int from, int tag, const uint8_t **plain, size_t *plain_n);

typedef struct dvm_rd {
    const uint8_t *p;
    size_t len, off;
    int bad; /* sticky: a read ran past the end or a string was not terminated */
} dvm_rd;
/* The fixed-size readers are inline: rank 0 reads a handful per input of the whole run. */
static inline const uint8_t *dvm_get_raw(dvm_rd *r, size_t n)
{
    if (r->bad || n > r->len - r->off) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *p = r->p + r->off;
    r->off += n;
    return p;
}
static inline uint8_t dvm_get_u8(dvm_rd *r)
{
    const uint8_t *p = dvm_get_raw(r, 1);
    return p ? p[0] : 0;
}
static inline uint32_t dvm_get_u32(dvm_rd *r)
{
    const uint8_t *p = dvm_get_raw(r, 4);
    return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24 : 0;
}
static inline uint64_t dvm_get_u64(dvm_rd *r)
{
    const uint8_t *p = dvm_get_raw(r, 8);
    uint64_t v = 0;
    for (int i = 7; p && i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}
const char *dvm_get_str(dvm_rd *r); /* points into the batch; "" once bad */

/* Record types. Up: a rank to rank 0. Down: rank 0 to a rank. */
enum {
    DVM_UP_WANT = 1, /* one more chunk, please */
    DVM_UP_ACQUIRE,  /* u32 worker, u64 index, str name */
    DVM_UP_RELEASE,  /* u32 worker, u64 index, u32 name slot (from its GRANT), u8 named (DVC_NAMED_*) */
    DVM_UP_RESULT,   /* one input's outcome: u64 index, u8 status, u8 DVM_RES_* flags, u32 code, u64 bytes read,
                      * then each part its flag names, in the flags' order (mpi_rank.c pack_result) */
    DVM_UP_DONE,     /* this rank has sent every result and wants no more */
    DVM_DOWN_CHUNK = 64, /* u32 count, then per input: u64 index, u32 walk_err, u32 bytes of the previous path
                          * in this chunk that begin this one, str the rest of the path */
    DVM_DOWN_END,        /* no more chunks (the answer to a WANT when the list is used up) */
    DVM_DOWN_GRANT,      /* u32 worker, u8 decision (DVC_NAME_*), u32 name slot (the RELEASE names it so) */
    DVM_DOWN_FINAL       /* u32 exit code: everything is done */
};

/* DVM_UP_RESULT's optional parts: what a small file's ok result does not need is not sent. */
enum {
    DVM_RES_RAN = 1,       /* the input was read (bytes read counts) */
    DVM_RES_REASON = 2,    /* u8 dv_skip, or DVM_SKIP_NOT_REGULAR */
    DVM_RES_MESSAGE = 4,   /* str message (no tag value) */
    DVM_RES_FINDINGS = 8,  /* u32 x DV_RESULT_TEXT_TYPES */
    DVM_RES_PIXELS = 16,   /* u8 (1: ran, 2: burned in, unredacted), u32 frames, u32 boxes, u32 nested_kept,
                            * str transfer syntax */
    DVM_RES_JOURNAL = 32,  /* --resume: u64 mtime ns, str output name, u8 hashed, [32 bytes SHA-256] */
};

/* DVM_RES_REASON's code for the CLI's own skip reason, DVC_SKIP_NOT_REGULAR (a link, FIFO, socket or device
 * inside a SRC folder): not a dv_skip of the library, so it has a code of its own above them. Without it the
 * reason was dropped on the way to rank 0 and the report lacked "reason": "not_regular_file" that a
 * single-process run writes. [test_cli_mpi.sh "mpi"] */
#define DVM_SKIP_NOT_REGULAR 255

/* ---- mpi_rank.c ---- */
/* Chunks a rank keeps ahead: one being worked and one on its way. A rank asks for the next chunk the moment every
 * input of one is taken (not once all its results are in: the last inputs' names and results take a round trip
 * to rank 0, and the refill waited behind them, bench/MPI.md), so it holds up to DVM_STORE chunks: DVM_SLOTS not
 * yet used up and as many being finished. A rank that dies loses these. */
#define DVM_SLOTS 2
#define DVM_STORE (2 * DVM_SLOTS)
typedef struct dvm_rank dvm_rank;
typedef struct dvm_coord dvm_coord;
/* Prepare run (lib, plan, out, progress, jobs set by the caller) to be fed by rank 0: its items become
 * nchunks * chunk_max slots, its hooks and out->remote this rank's. coord: rank 0's coordinator (it answers
 * dvc_output_seed), else NULL. NULL on ENOMEM. Free with dvm_rank_free after the pool has stopped. */
dvm_rank *dvm_rank_new(dvc_run *run, size_t chunk_max, size_t nchunks, dvm_coord *coord);
void dvm_rank_free(dvm_rank *r);
/* Main thread: append to up everything this rank has to say (requests of its workers, results of finished
 * chunks, wants for free chunk slots, DONE once). */
void dvm_rank_collect(dvm_rank *r, dvm_buf *up);
/* Main thread: a batch from rank 0. 0, or -1 when it is malformed. */
int dvm_rank_deliver(dvm_rank *r, const uint8_t *p, size_t len);
/* Main thread: wait until a worker has something to send, at most seconds. */
void dvm_rank_wait(dvm_rank *r, double seconds);
/* 1 once FINAL arrived (*rc: the run's exit code). */
int dvm_rank_final(dvm_rank *r, int *rc);
/* How soon the main thread must look again: 2 while somebody on this rank waits for a message (a worker blocked
 * until rank 0 answers its name request, every dealt input taken while more are asked for or a deferred name is
 * unanswered), 1 while a chunk is asked for (the refill must arrive before the chunk ahead is used up) or DONE is
 * sent and only FINAL awaited, else 0; the main thread then takes short turns (mpi_run.c). */
int dvm_rank_urgent(dvm_rank *r);
/* After the pool ended: when (dvc_now) the first chunk arrived and the last input was done (0: none), and the
 * seconds the workers waited for a chunk before END (bench/mpi.sh's account of the 2-rank wall time). */
void dvm_rank_timeline(dvm_rank *r, double *first_chunk, double *last_done, double *waited);

/* ---- mpi_coord.c (rank 0) ---- */
/* nranks ranks, chunks of at most chunk_max inputs; tally counts every outcome of the run (the report's
 * counters); journal (--resume) or NULL; dst_fd: DST (the --resume existence check); progress: rank 0's bar. */
dvm_coord *dvm_coord_new(int nranks, size_t chunk_max, dv_run *tally, dvc_journal *journal, int dst_fd,
                         dvc_progress *progress);
void dvm_coord_free(dvm_coord *c);
/* Start listing the SRC arguments on a thread of its own; inputs are dealt as soon as they are listed. */
int dvm_coord_list(dvm_coord *c, char **srcv, size_t nsrc);
/* Wait until the listing is complete (--resume restores from the whole list before dealing). 0, or -1 when it
 * failed (out of memory). */
int dvm_coord_list_wait(dvm_coord *c);
/* The inputs listed so far (the report's items, in input order). */
dvc_item *dvm_coord_items(dvm_coord *c, size_t *n);
/* The journal's seeding of the run-wide claims (dvc_output_seed's contract). */
int dvm_coord_seed(dvm_coord *c, const char *name, size_t index);
/* --resume, once dvm_coord_finished: the dvc_stale_fn (cli.h) of the run-wide table; user: the dvm_coord. */
int dvm_coord_stale(void *user, const char *name);
/* A batch from rank from. 0, or -1 when it is malformed. */
int dvm_coord_handle(dvm_coord *c, int from, const uint8_t *p, size_t len);
/* Take newly listed inputs and answer the wants they allow. -1 when the listing failed. */
int dvm_coord_step(dvm_coord *c);
/* What is to be sent to rank r (the caller sends and empties it). */
dvm_buf *dvm_coord_out(dvm_coord *c, int r);
/* How soon rank 0 must look again: 2 when a want waits for the lister, 1 while a rank has not had its first chunk
 * or the tail's small chunks are dealt (a rank may run dry within milliseconds), else 0. */
int dvm_coord_urgency(const dvm_coord *c);
/* 1 when every input is listed, dealt and its outcome gathered, and every rank said DONE. */
int dvm_coord_finished(const dvm_coord *c);
/* Inputs dealt to rank r so far (the summary). */
size_t dvm_coord_dealt(const dvm_coord *c, int r);
/* CPU seconds of the listing thread. */
double dvm_coord_list_cpu(const dvm_coord *c);
/* Seconds the listing took (from dvm_coord_list to its end), for the summary. */
double dvm_coord_list_seconds(const dvm_coord *c);

/* ---- mpi_run.c ---- */
/* Everything cmd_deidentify.c prepared (arguments checked, plan, key, limits, library run, journal on rank 0),
 * handed to the MPI run. */
typedef struct dvm_args {
    const dv_plan *plan;
    const dv_key *key;
    const dv_limits *limits;
    dv_run *lib;
    dvc_journal *journal; /* rank 0 with --resume, else NULL */
    char **srcv;
    size_t nsrc;
    const char *dst;
    const char *report;
    unsigned jobs;
    int quiet, do_fsync, resume;
} dvm_args;
/* MPI_Init_thread: 0 with *rank and *size set, or -1 after printing why (no MPI in this build). */
int dvc_mpi_init(int *rank, int *size);
/* The ranks of this job on this rank's node, which share its memory (1 without MPI). Collective. */
int dvc_mpi_node_size(void);
/* All ranks agree that every one got ready (ok: this rank's verdict): 1 when all did. Collective. */
int dvc_mpi_agree(int ok);
/* Rank 0 and the others: the run itself, after dvc_mpi_agree. The exit code (the same on every rank). */
int dvc_mpi_deidentify(const dvm_args *a);
void dvc_mpi_finalize(void);

#endif
