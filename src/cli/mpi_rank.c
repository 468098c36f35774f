/* deidentify --mpi, every rank (rank 0 too): the rank's worker pool (pool.c, unchanged threads) is fed with
 * chunks of inputs dealt by rank 0, and its output (output.c) asks rank 0 for every name, through this rank's
 * mailbox. Only the main thread sends and receives (mpi_run.c); workers append requests to the outbox and wait
 * on a condition for answers. [integration.test_cli_mpi]
 *
 * Chunks: nchunks (DVM_STORE) slots of chunk_max items each (run->items is nchunks * chunk_max slots). A free slot
 * is asked for (WANT) while fewer than DVM_SLOTS chunks are ahead (asked for, or with inputs not yet taken), filled
 * when rank 0 deals (CHUNK), handed out item by item to whichever worker is free (oldest chunk first); taking its
 * last input pokes the main thread, whose WANT for the next chunk leaves then (a low-water mark: the refill's
 * round trip overlaps the other chunk's work, not the wait for this one's last names and results); once every
 * item in it is recorded its results go to rank 0 in one batch and the slot is free again. So a slow rank holds
 * at most nchunks chunks, and a rank that dies loses those (the journal of a
 * --resume run, which rank 0 writes as results arrive, has everything else). END answers a WANT when the list
 * is used up; DONE tells rank 0 that every result of this rank was sent.
 *
 * Names (docs/decisions.md "MPI batch mode"): a worker's put sends ACQUIRE when the output is opened; when the
 * file is complete and the GRANT is here it names the file itself, else it hands the complete unnamed file to
 * this rank (defer) and goes on: when the GRANT comes, the next worker between two inputs names it (take,
 * dvc_put_settle), so no worker ever waits for a round trip (on a loaded machine one takes milliseconds) and
 * the naming stays on the workers (the main thread only moves messages: on 2 cores its every CPU second is
 * taken from a worker, bench/MPI.md). Its chunk is complete only once
 * every deferred name is settled, and a deferred input that turned out a duplicate or failed is corrected
 * before its result leaves. The put sends RELEASE with what it did to the name when it ends (output.c
 * put_cleanup). Requests carry an id of their own (a worker has a new one while an old one is deferred). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_mpi.h"

#define NAME_CAP (3 * DVC_COMPONENT_MAX + 8)

typedef struct extra {
    int ran, hashed;
    int settled;   /* a deferred name: 0 named as counted, 1 a duplicate after all, -1 failed (message) */
    char *message; /* settled -1: why (no tag value) */
    uint64_t size;
    int64_t mtime_ns;
    char name[NAME_CAP];
    unsigned char hash[32];
} extra;

/* CH_WANTED and CH_PACKING belong to the main thread alone (no worker looks at them), so it fills and empties
 * them without the lock: a worker that finishes an input never waits behind 512 results being packed. */
enum { CH_FREE = 0, CH_WANTED, CH_ACTIVE, CH_COMPLETE, CH_PACKING };
typedef struct chunk {
    int state;
    uint64_t seq; /* arrival order: the oldest chunk is worked first */
    size_t count, next, remaining;
    size_t *index; /* chunk_max input indexes */
    extra *x;      /* chunk_max */
} chunk;

enum { G_NONE = 0, G_WAITING, G_GRANTED };
typedef struct request {
    int state, decision;
    uint32_t slot; /* rank 0's slot of the name (GRANT), which the RELEASE names */
    dvc_put *deferred; /* the put whose naming waits for this grant (a worker settles it, take) */
    size_t index;
    struct request *next_ready;
} request;

struct dvm_rank {
    pthread_mutex_t lock;
    pthread_cond_t main_cond, work_cond;
    dvc_run *run;
    dvm_coord *coord;
    dvc_pool_hooks hooks;
    dvc_remote_claims remote;
    dvm_buf outbox; /* workers' ACQUIRE / RELEASE records, in order */
    size_t chunk_max, nchunks;
    chunk *chunks;
    request *reqs;  /* nreqs: every put in flight (one per worker) plus every deferred one (one per item) */
    uint32_t *free_ids;
    size_t nreqs, nfree, blocked; /* blocked: workers waiting in wait_grant_locked */
    request *ready;   /* granted deferred puts, for the next worker in take to name */
    size_t ndeferred; /* deferred puts not yet named: no worker leaves while there are any */
    uint64_t seq;
    int end, done_sent, final, final_rc, poked;
    /* the timeline (dvc_now), for the per-rank line bench/mpi.sh reads: where the second rank's wall time goes */
    double first_chunk, last_done, waited; /* waited: workers' seconds in take with nothing to take, before END */
};

/* ---- worker side (any worker thread) ---- */

static void settle(dvm_rank *r, request *q, size_t worker);
static int urgent_locked(dvm_rank *r);
static void poke_locked(dvm_rank *r);

static int take(dvc_run *run, size_t worker, size_t *slot, size_t *index)
{
    dvm_rank *r = run->hooks->user;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        if (r->ready) { /* a deferred name was answered: name it first (it completes a chunk) */
            request *q = r->ready;
            r->ready = q->next_ready;
            pthread_mutex_unlock(&r->lock);
            settle(r, q, worker);
            pthread_mutex_lock(&r->lock);
            continue;
        }
        chunk *best = NULL;
        size_t bi = 0;
        for (size_t i = 0; i < r->nchunks; i++) {
            chunk *c = &r->chunks[i];
            if (c->state == CH_ACTIVE && c->next < c->count && (!best || c->seq < best->seq)) {
                best = c;
                bi = i;
            }
        }
        if (best) {
            size_t k = best->next++;
            *slot = bi * r->chunk_max + k;
            *index = best->index[k];
            if (best->next == best->count)
                poke_locked(r); /* used up: its refill is asked for now, while the other chunk is worked */
            pthread_mutex_unlock(&r->lock);
            return 0;
        }
        /* After END no chunk can follow (rank 0 answers wants in order, and END only when nothing is left); the
         * workers stay while a deferred name waits for its answer (a GRANT wakes them). */
        if (r->end && r->ndeferred == 0) {
            pthread_mutex_unlock(&r->lock);
            return -1;
        }
        if (r->ndeferred)
            poke_locked(r); /* idle while names are unanswered: their requests leave now, on short turns */
        double w0 = r->end ? 0 : dvc_now();
        pthread_cond_wait(&r->work_cond, &r->lock);
        if (w0 > 0)
            r->waited += dvc_now() - w0;
    }
}

static void poke_locked(dvm_rank *r)
{
    r->poked = 1;
    pthread_cond_signal(&r->main_cond);
}

static void done(dvc_run *run, size_t slot, const dvc_done *d)
{
    dvm_rank *r = run->hooks->user;
    pthread_mutex_lock(&r->lock);
    chunk *c = &r->chunks[slot / r->chunk_max];
    extra *x = &c->x[slot % r->chunk_max];
    x->ran = d->ran;
    x->size = d->ran ? (uint64_t)d->st.st_size : 0;
    x->mtime_ns = d->ran ? (int64_t)d->st.st_mtim.tv_sec * 1000000000ll + d->st.st_mtim.tv_nsec : 0;
    snprintf(x->name, sizeof x->name, "%s", d->name ? d->name : "");
    x->hashed = d->hashed;
    memcpy(x->hash, d->hash, sizeof x->hash);
    if (--c->remaining == 0) {
        c->state = CH_COMPLETE;
        poke_locked(r);
    }
    r->last_done = dvc_now();
    pthread_mutex_unlock(&r->lock);
}

static uint32_t claim_begin(void *user, const char *name, size_t index)
{
    dvm_rank *r = user;
    pthread_mutex_lock(&r->lock);
    uint32_t id = r->free_ids[--r->nfree]; /* never empty: nreqs covers every put that can be in flight */
    r->reqs[id] = (request){.state = G_WAITING, .index = index};
    dvm_u8(&r->outbox, DVM_UP_ACQUIRE);
    dvm_u32(&r->outbox, id);
    dvm_u64(&r->outbox, index);
    dvm_str(&r->outbox, name);
    /* No poke: the main thread takes the request on its next turn (at most 1 ms later, mpi_run.c). A poke per
     * request woke it once per instance and took CPU from the workers on a 2-core machine; nobody waits for
     * this answer unless wait_grant_locked says so (docs/decisions.md "MPI batch mode"). */
    pthread_mutex_unlock(&r->lock);
    return id;
}

/* A worker that must have the answer before it goes on (the rank's first name, a put that fails before its file
 * is complete): the main thread is woken to send the request now and polls briefly until it is answered. */
static int wait_grant_locked(dvm_rank *r, uint32_t id)
{
    if (r->reqs[id].state == G_WAITING) {
        r->blocked++;
        poke_locked(r);
        while (r->reqs[id].state == G_WAITING)
            pthread_cond_wait(&r->work_cond, &r->lock);
        r->blocked--;
    }
    return r->reqs[id].decision;
}

static int claim_decide(void *user, uint32_t id)
{
    dvm_rank *r = user;
    pthread_mutex_lock(&r->lock);
    int d = wait_grant_locked(r, id);
    pthread_mutex_unlock(&r->lock);
    return d;
}

/* Lock held: the chunk slot and item of input index (in a chunk that is being worked). */
static chunk *chunk_of_locked(dvm_rank *r, size_t index, size_t *k)
{
    for (size_t i = 0; i < r->nchunks; i++) {
        chunk *c = &r->chunks[i];
        if (c->state != CH_ACTIVE)
            continue;
        for (size_t j = 0; j < c->count; j++)
            if (c->index[j] == index) {
                *k = j;
                return c;
            }
    }
    return NULL;
}

static int claim_defer(void *user, uint32_t id, dvc_put *p)
{
    dvm_rank *r = user;
    size_t k = 0;
    pthread_mutex_lock(&r->lock);
    chunk *c = r->reqs[id].state == G_WAITING ? chunk_of_locked(r, p->index, &k) : NULL;
    if (c) {
        r->reqs[id].deferred = p;
        r->ndeferred++;
        c->remaining++; /* the chunk waits for the settling too */
        c->x[k].settled = 0;
    }
    pthread_mutex_unlock(&r->lock);
    return c != NULL;
}

static void claim_finish(void *user, uint32_t id, const char *name, size_t index, int named)
{
    (void)name; /* rank 0 knows it by its slot */
    dvm_rank *r = user;
    pthread_mutex_lock(&r->lock);
    /* A put that ends before its file is complete still waits for its grant: a FREE or HIGHER one locked the
     * name run-wide and must be given back. A LOST one locked nothing. */
    if (wait_grant_locked(r, id) != DVC_NAME_LOST) {
        /* the name's slot, not the name: rank 0 looks the name up once per input (ACQUIRE) */
        uint8_t *p = dvm_reserve(&r->outbox, 18);
        if (p) { /* else outbox.oom: the main thread aborts the job */
            p[0] = DVM_UP_RELEASE;
            p = dvm_put_u32(p + 1, id);
            p = dvm_put_u64(p, index);
            p = dvm_put_u32(p, r->reqs[id].slot);
            *p = (uint8_t)named; /* sent on the main thread's next turn (no poke: claim_begin) */
            r->outbox.len += 18;
        }
    }
    r->reqs[id].state = G_NONE;
    r->free_ids[r->nfree++] = id;
    pthread_mutex_unlock(&r->lock);
}

static int claim_seed(void *user, const char *name, size_t index)
{
    dvm_rank *r = user;
    return r->coord ? dvm_coord_seed(r->coord, name, index) : -1;
}

/* ---- set-up ---- */

dvm_rank *dvm_rank_new(dvc_run *run, size_t chunk_max, size_t nchunks, dvm_coord *coord)
{
    dvm_rank *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->run = run;
    r->coord = coord;
    r->chunk_max = chunk_max;
    r->nchunks = nchunks;
    r->nreqs = (run->jobs ? run->jobs : 1) + nchunks * chunk_max;
    r->chunks = calloc(nchunks, sizeof *r->chunks);
    r->reqs = calloc(r->nreqs, sizeof *r->reqs);
    r->free_ids = calloc(r->nreqs, sizeof *r->free_ids);
    run->items = calloc(nchunks * chunk_max, sizeof *run->items);
    int ok = r->chunks && r->reqs && r->free_ids && run->items;
    for (size_t i = 0; ok && i < r->nreqs; i++)
        r->free_ids[r->nfree++] = (uint32_t)(r->nreqs - 1 - i);
    for (size_t i = 0; ok && i < nchunks; i++) {
        r->chunks[i].index = calloc(chunk_max, sizeof *r->chunks[i].index);
        r->chunks[i].x = calloc(chunk_max, sizeof *r->chunks[i].x);
        ok = r->chunks[i].index && r->chunks[i].x;
    }
    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->main_cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&r->work_cond, NULL);
    if (!ok) {
        dvm_rank_free(r);
        return NULL;
    }
    run->n = nchunks * chunk_max;
    r->hooks = (dvc_pool_hooks){.take = take, .done = done, .user = r};
    run->hooks = &r->hooks;
    r->remote = (dvc_remote_claims){.begin = claim_begin, .decide = claim_decide, .defer = claim_defer,
                                    .finish = claim_finish, .seed = claim_seed, .user = r};
    run->out->remote = &r->remote;
    return r;
}

static void item_reset(dvc_item *it)
{
    free((char *)it->path);
    free(it->message);
    free(it->mapping);
    free(it->text_findings);
    free(it->pixels);
    memset(it, 0, sizeof *it);
}

void dvm_rank_free(dvm_rank *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->run->items && i < r->nchunks * r->chunk_max; i++)
        item_reset(&r->run->items[i]);
    free(r->run->items);
    r->run->items = NULL;
    r->run->n = 0;
    for (size_t i = 0; r->chunks && i < r->nchunks; i++) {
        for (size_t k = 0; r->chunks[i].x && k < r->chunk_max; k++)
            free(r->chunks[i].x[k].message);
        free(r->chunks[i].index);
        free(r->chunks[i].x);
    }
    for (size_t i = 0; r->reqs && i < r->nreqs; i++)
        free(r->reqs[i].deferred); /* only after an abort: settled ones are freed at once */
    free(r->chunks);
    free(r->reqs);
    free(r->free_ids);
    dvm_buf_free(&r->outbox);
    pthread_cond_destroy(&r->main_cond);
    pthread_cond_destroy(&r->work_cond);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* ---- main thread ---- */

/* One input's outcome for rank 0 (DVM_UP_RESULT): what the report, the counters and the journal need (never a
 * tag value). A fixed 23-byte head; the rest only when there is something to say. */
static void pack_result(dvm_buf *b, const dvc_item *it, size_t index, const extra *x, int journal)
{
    int journaled = journal && (it->status == DVC_ST_OK || it->status == DVC_ST_DUPLICATE);
    int skip = it->reason && strcmp(it->reason, DVC_SKIP_NOT_REGULAR) == 0 ? DVM_SKIP_NOT_REGULAR : DV_SKIP_NONE;
    for (int k = DV_SKIP_NOT_DICOM; it->reason && k <= DV_SKIP_DIRECTORY && !skip; k++)
        if (dv_skip_name((dv_skip)k) && strcmp(dv_skip_name((dv_skip)k), it->reason) == 0)
            skip = k;
    uint8_t flags = (uint8_t)((x->ran ? DVM_RES_RAN : 0) | (skip ? DVM_RES_REASON : 0) |
                              (it->message && *it->message ? DVM_RES_MESSAGE : 0) |
                              (it->text_findings ? DVM_RES_FINDINGS : 0) | (it->pixels ? DVM_RES_PIXELS : 0) |
                              (journaled ? DVM_RES_JOURNAL : 0));
    uint8_t *p = dvm_reserve(b, 23);
    if (!p)
        return; /* b->oom: the job is aborted */
    p[0] = DVM_UP_RESULT;
    p = dvm_put_u64(p + 1, index);
    p[0] = (uint8_t)it->status;
    p[1] = flags;
    p = dvm_put_u32(p + 2, (uint32_t)it->code);
    dvm_put_u64(p, x->size);
    b->len += 23;
    if (skip)
        dvm_u8(b, (uint8_t)skip);
    if (flags & DVM_RES_MESSAGE)
        dvm_str(b, it->message);
    for (int t = 0; it->text_findings && t < DV_RESULT_TEXT_TYPES; t++)
        dvm_u32(b, it->text_findings[t]);
    if (it->pixels) {
        dvm_u8(b, (uint8_t)((it->pixels->ran ? 1 : 0) | (it->pixels->burned_in_unredacted ? 2 : 0)));
        dvm_u32(b, it->pixels->frames);
        dvm_u32(b, it->pixels->boxes);
        dvm_u32(b, it->pixels->nested_kept);
        dvm_str(b, it->pixels->transfer_syntax);
    }
    if (journaled) {
        dvm_u64(b, (uint64_t)x->mtime_ns);
        dvm_str(b, x->name);
        dvm_u8(b, (uint8_t)x->hashed);
        if (x->hashed)
            dvm_raw(b, x->hash, sizeof x->hash);
    }
}

void dvm_rank_collect(dvm_rank *r, dvm_buf *up)
{
    size_t packing[DVM_STORE], npacking = 0;
    pthread_mutex_lock(&r->lock);
    r->poked = 0;
    /* The workers' requests first: a RELEASE goes before the RESULT of its input. */
    dvm_raw(up, r->outbox.p, r->outbox.len);
    r->outbox.len = 0;
    for (size_t i = 0; i < r->nchunks && npacking < DVM_STORE; i++)
        if (r->chunks[i].state == CH_COMPLETE) {
            r->chunks[i].state = CH_PACKING;
            packing[npacking++] = i;
        }
    pthread_mutex_unlock(&r->lock);
    for (size_t j = 0; j < npacking; j++) {
        size_t i = packing[j];
        chunk *c = &r->chunks[i];
        for (size_t k = 0; k < c->count; k++) {
            dvc_item *it = &r->run->items[i * r->chunk_max + k];
            extra *x = &c->x[k];
            if (x->settled && it->status == DVC_ST_OK) { /* a deferred name came out otherwise */
                it->status = x->settled > 0 ? DVC_ST_DUPLICATE : DVC_ST_FAILED;
                it->code = x->settled > 0 ? DV_OK : DV_ERR_IO;
                free(it->message);
                it->message = x->message;
                x->message = NULL;
                if (x->settled < 0)
                    x->name[0] = '\0'; /* failed: no name; a duplicate keeps the name it duplicates */
                x->hashed = 0;
            }
            pack_result(up, it, c->index[k], x, r->run->out->hash_outputs);
            item_reset(it);
            free(x->message);
            memset(x, 0, sizeof *x);
        }
    }
    pthread_mutex_lock(&r->lock);
    for (size_t j = 0; j < npacking; j++)
        r->chunks[packing[j]].state = CH_FREE;
    /* Ahead: chunks asked for or not yet used up. A free slot is asked for while fewer than DVM_SLOTS are ahead:
     * a used-up chunk whose last results are still on their way does not hold its refill back. */
    size_t ahead = 0;
    int busy = 0;
    for (size_t i = 0; i < r->nchunks; i++) {
        const chunk *c = &r->chunks[i];
        ahead += c->state == CH_WANTED || (c->state == CH_ACTIVE && c->next < c->count);
    }
    for (size_t i = 0; i < r->nchunks; i++) {
        chunk *c = &r->chunks[i];
        if (c->state == CH_FREE && !r->end && ahead < DVM_SLOTS) {
            dvm_u8(up, DVM_UP_WANT);
            c->state = CH_WANTED;
            ahead++;
        }
        busy |= c->state == CH_ACTIVE || c->state == CH_COMPLETE;
    }
    if (r->end && !busy && !r->done_sent) {
        dvm_u8(up, DVM_UP_DONE);
        r->done_sent = 1;
    }
    pthread_mutex_unlock(&r->lock);
}

static chunk *wanted_locked(dvm_rank *r)
{
    for (size_t i = 0; i < r->nchunks; i++)
        if (r->chunks[i].state == CH_WANTED)
            return &r->chunks[i];
    return NULL;
}

/* A worker between two inputs (take), without the lock: name a deferred put's file in the worker's own
 * temp-name slot (it holds no put now), then complete its item. */
static void settle(dvm_rank *r, request *q, size_t worker)
{
    dvc_put *p = q->deferred;
    q->deferred = NULL;
    p->worker = worker;
    dv_error err;
    dv_error_clear(&err);
    size_t index = p->index;
    int rc = dvc_put_settle(p, q->decision, &err); /* finish() frees q's id: q is not used after this */
    free(p);
    if (rc < 0)
        dvc_progress_log(r->run->progress, "instance #%zu: %s: %s", index, dv_code_name(err.code), err.message);
    pthread_mutex_lock(&r->lock);
    if (--r->ndeferred == 0 && r->end)
        pthread_cond_broadcast(&r->work_cond); /* idle workers may leave now */
    size_t k = 0;
    chunk *c = chunk_of_locked(r, index, &k);
    if (c) {
        c->x[k].settled = rc;
        if (rc < 0)
            c->x[k].message = strdup(err.message);
        if (--c->remaining == 0) {
            c->state = CH_COMPLETE;
            poke_locked(r);
        }
    }
    pthread_mutex_unlock(&r->lock);
}

int dvm_rank_deliver(dvm_rank *r, const uint8_t *p, size_t len)
{
    dvm_rd rd = {.p = p, .len = len};
    pthread_mutex_lock(&r->lock);
    while (!rd.bad && rd.off < rd.len) {
        uint8_t type = dvm_get_u8(&rd);
        if (type == DVM_DOWN_CHUNK) {
            uint32_t n = dvm_get_u32(&rd);
            chunk *c = wanted_locked(r);
            if (!c || n == 0 || n > r->chunk_max) {
                rd.bad = 1;
                break;
            }
            pthread_mutex_unlock(&r->lock); /* a WANTED chunk is the main thread's alone (CH_PACKING) */
            size_t ci = (size_t)(c - r->chunks);
            const char *prev = "";
            for (uint32_t k = 0; k < n && !rd.bad; k++) {
                dvc_item *it = &r->run->items[ci * r->chunk_max + k];
                c->index[k] = (size_t)dvm_get_u64(&rd);
                it->walk_err = (int)dvm_get_u32(&rd);
                size_t same = dvm_get_u32(&rd);
                const char *rest = dvm_get_str(&rd);
                size_t prev_len = strlen(prev), rest_len = strlen(rest);
                char *path = same <= prev_len ? malloc(same + rest_len + 1) : NULL;
                if (path) { /* the previous path's first `same` bytes, then the rest (DVM_DOWN_CHUNK) */
                    memcpy(path, prev, same);
                    memcpy(path + same, rest, rest_len + 1);
                }
                it->path = path;
                memset(&c->x[k], 0, sizeof c->x[k]);
                if (!it->path)
                    rd.bad = 1;
                else
                    prev = it->path;
            }
            pthread_mutex_lock(&r->lock);
            c->count = c->remaining = n;
            c->next = 0;
            if (r->seq == 0)
                r->first_chunk = dvc_now();
            c->seq = r->seq++;
            c->state = CH_ACTIVE;
            pthread_cond_broadcast(&r->work_cond);
        } else if (type == DVM_DOWN_END) {
            chunk *c = wanted_locked(r);
            if (c)
                c->state = CH_FREE;
            r->end = 1;
            pthread_cond_broadcast(&r->work_cond);
        } else if (type == DVM_DOWN_GRANT) {
            uint32_t id = dvm_get_u32(&rd);
            uint8_t d = dvm_get_u8(&rd);
            uint32_t slot = dvm_get_u32(&rd);
            if (rd.bad || id >= r->nreqs || r->reqs[id].state != G_WAITING || d > DVC_NAME_HIGHER) {
                rd.bad = 1;
                break;
            }
            r->reqs[id].decision = d;
            r->reqs[id].slot = slot;
            r->reqs[id].state = G_GRANTED;
            if (r->reqs[id].deferred) {
                r->reqs[id].next_ready = r->ready;
                r->ready = &r->reqs[id];
            }
            pthread_cond_broadcast(&r->work_cond);
        } else if (type == DVM_DOWN_FINAL) {
            r->final_rc = (int)dvm_get_u32(&rd);
            r->final = !rd.bad;
        } else {
            rd.bad = 1;
        }
    }
    pthread_mutex_unlock(&r->lock);
    return rd.bad ? -1 : 0;
}

void dvm_rank_wait(dvm_rank *r, double seconds)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    long ns = (long)(seconds * 1e9);
    until.tv_sec += ns / 1000000000l;
    until.tv_nsec += ns % 1000000000l;
    if (until.tv_nsec >= 1000000000l) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000l;
    }
    pthread_mutex_lock(&r->lock);
    while (!r->poked) {
        if (pthread_cond_timedwait(&r->main_cond, &r->lock, &until) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&r->lock);
}

int dvm_rank_final(dvm_rank *r, int *rc)
{
    pthread_mutex_lock(&r->lock);
    int f = r->final;
    *rc = r->final_rc;
    pthread_mutex_unlock(&r->lock);
    return f;
}

/* Lock held: a worker waits for a name, or every dealt input is taken while a chunk is asked for or a deferred
 * name is unanswered (the run's tail: a 4 ms turn each way held the last chunk's results for up to ~10 ms). */
static int urgent_locked(dvm_rank *r)
{
    int untaken = 0, wanted = 0;
    for (size_t i = 0; i < r->nchunks; i++) {
        untaken |= r->chunks[i].state == CH_ACTIVE && r->chunks[i].next < r->chunks[i].count;
        wanted |= r->chunks[i].state == CH_WANTED;
    }
    /* a deferred name with nothing else to take: the chunk (at the end, the run) waits for its answer */
    return r->blocked > 0 || (!untaken && (wanted || r->ndeferred > 0));
}

/* Lock held: a chunk is asked for (its answer is taken on the next turn: a long turn would spend the other
 * chunk's work on waiting for it), or the rank has sent DONE and waits only for FINAL (1 ms, not 100 us: under
 * load a rank that finished first polled 4,000 times while the other rank's worker needed the core). */
static int wanting_locked(dvm_rank *r)
{
    if (r->done_sent)
        return 1;
    for (size_t i = 0; i < r->nchunks; i++)
        if (r->chunks[i].state == CH_WANTED)
            return 1;
    return 0;
}

void dvm_rank_timeline(dvm_rank *r, double *first_chunk, double *last_done, double *waited)
{
    pthread_mutex_lock(&r->lock);
    *first_chunk = r->first_chunk;
    *last_done = r->last_done;
    *waited = r->waited;
    pthread_mutex_unlock(&r->lock);
}

int dvm_rank_urgent(dvm_rank *r)
{
    pthread_mutex_lock(&r->lock);
    int w = urgent_locked(r) ? 2 : wanting_locked(r);
    pthread_mutex_unlock(&r->lock);
    return w;
}
