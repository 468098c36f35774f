/* deidentify --mpi, rank 0's coordinator (main thread only; the lister is its one helper thread): it lists the
 * sources, deals them in chunks, holds the run's one table of output names, gathers every outcome, counts the
 * run and writes the --resume journal. [integration.test_cli_mpi]
 *
 * Listing is streamed: a thread walks the SRC arguments exactly as the local CLI does (walk.c, same sorted
 * order, so the same input indexes) and hands every input on as soon as its directory is read; chunks are
 * dealt from it at once, so ranks work while a million-file tree is still being read. Chunks are dealt to
 * whichever rank asks (each asks when a chunk slot is free), in input order; once the list is complete their
 * size shrinks with what is left (remaining / (2 * ranks * slots), guided self-scheduling, down to chunk_floor),
 * so the ranks end together.
 *
 * Names (docs/decisions.md "MPI batch mode"): the rule is output.c's, "among this run's inputs with one output
 * name the lowest index that is written successfully holds it", and this table decides it for every rank:
 * ACQUIRE gets LOST when a lower index holds the name or the name existed before the run (no lock: both are
 * final, a holder only ever gets lower), FREE when no input holds it, HIGHER (with the holder) when a higher
 * index holds it. FREE and HIGHER lock the name until the rank's RELEASE says what it did on the shared file
 * system (linked, replaced, found a file the run did not write, nothing), so a higher index finishing first on
 * another rank is replaced exactly as one process would; requests for a locked name wait in order. A replaced
 * holder becomes a duplicate here (its result may arrive before or after: the displaced flag, as in pool.c).
 * With --resume the journal's C line is written before FREE is granted and a name that exists but was never
 * announced is LOST, as output.c does in one process. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_mpi.h"
#include "util/dv_bigvec.h"
#include "util/dv_grow.h"
#include "util/dv_thread_altstack.h"

typedef struct waiter {
    struct waiter *next;
    int rank;
    uint32_t worker;
    size_t index;
} waiter;

/* One output name. Entries live in one array (their slot is the token GRANT hands out and RELEASE names, so a
 * RELEASE is an array index, not a second lookup of the name) and their keys in one byte arena: no allocation
 * per name. */
typedef struct centry {
    uint64_t hash;
    size_t key;       /* offset of the NUL-terminated name in keys */
    size_t holder;    /* the index whose file the run named there; DVC_NO_INDEX while none */
    size_t locked_by; /* the index granted FREE or HIGHER, while locked */
    uint8_t preexisted; /* the name existed although no input of this run named it */
    uint8_t locked;     /* granted FREE or HIGHER, RELEASE not yet in */
    waiter *head, *tail;
} centry;

struct dvm_coord {
    int nranks;
    size_t chunk_max;
    dv_run *tally;
    dvc_journal *journal;
    int dst_fd;
    dvc_progress *progress;
    /* inputs: main thread */
    dvc_item *items;
    size_t n, cap, cursor, outstanding;
    int listed_all;
    /* the lister's hand-over, under list_lock */
    pthread_mutex_t list_lock;
    pthread_cond_t list_cond;
    dvc_input *pend;
    size_t npend, cappend;
    dvc_input *batch; /* the lister's own: names found since its last hand-over (LIST_BATCH) */
    size_t nbatch, capbatch;
    dv_big_pool paths; /* every input's path, written by the lister only, freed after it ended (bigvec.c: a
                          malloc per path cost the lister a page fault per ~50 paths) */
    int list_done, list_failed;
    pthread_t lister;
    int lister_started;
    char **srcv;
    size_t nsrc;
    double list_t0, list_t1, list_cpu;
    /* wants not yet answered: per rank (wanting), and in all; inputs dealt and not yet reported, per rank */
    size_t *wanting, nwants, *held;
    /* the names: open addressing (linear probing, load <= 1/2) over entry slots + 1 (0: empty) */
    centry *ents;
    size_t nents, capents;
    char *keys;
    size_t nkeys, capkeys;
    uint32_t *table;
    size_t ntable;
    dvm_buf *out;    /* nranks */
    size_t *dealt;   /* nranks: inputs dealt to each rank (the summary) */
    int ranks_done;
};

/* ---- the names table ---- */

/* FNV-1a over 8-byte words (names are ~120-byte UID paths; this runs once per input, on rank 0's main thread). */
static uint64_t key_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603u;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 1099511628211u;
        h ^= h >> 29;
    }
    for (; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211u;
    return h ^ (h >> 32);
}

static const char *centry_key(const dvm_coord *c, const centry *e)
{
    return c->keys + e->key;
}

/* Double the slot table (entries and their hashes stay: no name is hashed again). -1 on ENOMEM. */
static int table_grow(dvm_coord *c)
{
    size_t nn = c->ntable * 2, ncap = 0;
    uint32_t *nt = NULL; /* zeroed: a fresh mapping */
    if (dv_big_grow(&nt, &ncap, nn, sizeof *nt, nn) < 0)
        return -1;
    for (size_t i = 0; i < c->nents; i++) {
        size_t at = c->ents[i].hash & (nn - 1);
        while (nt[at])
            at = (at + 1) & (nn - 1);
        nt[at] = (uint32_t)(i + 1);
    }
    dv_big_free(c->table, c->ntable, sizeof *c->table);
    c->table = nt;
    c->ntable = nn;
    return 0;
}

/* The entry of name (its slot in *slot), created when create and absent; NULL when absent or on ENOMEM, or
 * past UINT32_MAX - 1 names (the slot is a u32 on the wire). */
static centry *centry_get(dvm_coord *c, const char *key, int create, uint32_t *slot)
{
    size_t len = strlen(key);
    uint64_t h = key_hash(key, len);
    size_t at = h & (c->ntable - 1);
    for (uint32_t v; (v = c->table[at]) != 0; at = (at + 1) & (c->ntable - 1)) {
        centry *e = &c->ents[v - 1];
        if (e->hash == h && strcmp(centry_key(c, e), key) == 0) {
            *slot = v - 1;
            return e;
        }
    }
    if (!create || c->nents >= UINT32_MAX - 1)
        return NULL;
    if (dv_big_grow(&c->ents, &c->capents, c->nents + 1, sizeof *c->ents, 1024) < 0 ||
        dv_big_grow(&c->keys, &c->capkeys, c->nkeys + len + 1, 1, 65536) < 0)
        return NULL;
    if ((c->nents + 1) * 2 > c->ntable) {
        if (table_grow(c) < 0)
            return NULL;
        at = h & (c->ntable - 1);
        while (c->table[at])
            at = (at + 1) & (c->ntable - 1);
    }
    centry *e = &c->ents[c->nents];
    *e = (centry){.hash = h, .key = c->nkeys, .holder = DVC_NO_INDEX, .locked_by = DVC_NO_INDEX};
    memcpy(c->keys + c->nkeys, key, len + 1);
    c->nkeys += len + 1;
    *slot = (uint32_t)c->nents;
    c->table[at] = (uint32_t)++c->nents;
    return e;
}

int dvm_coord_seed(dvm_coord *c, const char *name, size_t index)
{
    uint32_t slot;
    centry *e = centry_get(c, name, 1, &slot);
    if (!e)
        return -1;
    if (e->holder != DVC_NO_INDEX && e->holder <= index)
        return 1;
    e->holder = index;
    return 0;
}

int dvm_coord_stale(void *user, const char *name)
{
    /* Once every rank has reported every input (dvm_coord_finished): holders and statuses are final, and no rank
     * names a file any more, so rank 0 alone may remove on the shared file system what no input holds. */
    dvm_coord *c = user;
    uint32_t slot;
    const centry *e = centry_get(c, name, 0, &slot);
    return e ? dvc_sweep_verdict(e->preexisted, e->holder, c->items, c->n) : DVC_SWEEP_FOLDERS;
}

static void grant(dvm_coord *c, uint32_t slot, int rank, uint32_t worker, size_t index)
{
    centry *e = &c->ents[slot];
    int d;
    if (e->preexisted || (e->holder != DVC_NO_INDEX && e->holder < index)) {
        d = DVC_NAME_LOST;
    } else if (e->holder == DVC_NO_INDEX) {
        if (c->journal && faccessat(c->dst_fd, centry_key(c, e), F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
            /* --resume: a name no attempt of this run announced is never replaced (output.c name_output) */
            e->preexisted = 1;
            d = DVC_NAME_LOST;
        } else {
            if (c->journal) /* announced before it exists (journal.c) */
                dvc_journal_claim(c->journal, index, centry_key(c, e));
            d = DVC_NAME_FREE;
        }
    } else {
        d = DVC_NAME_HIGHER;
    }
    e->locked = d != DVC_NAME_LOST;
    e->locked_by = e->locked ? index : DVC_NO_INDEX;
    uint8_t *p = dvm_reserve(&c->out[rank], 10);
    if (p) {
        p[0] = DVM_DOWN_GRANT;
        p = dvm_put_u32(p + 1, worker);
        *p++ = (uint8_t)d;
        dvm_put_u32(p, slot);
        c->out[rank].len += 10;
    }
}

/* A lower index replaced index's output: index is a duplicate (pool.c mark_displaced, across ranks). */
static void mark_displaced(dvm_coord *c, size_t index)
{
    if (index >= c->n)
        return; /* DVC_OURS_UNKNOWN: an earlier attempt's file (--resume) */
    dvc_item *it = &c->items[index];
    if (it->status == DVC_ST_OK) {
        it->status = DVC_ST_DUPLICATE;
        dv_run_recount(c->tally, DV_OUTCOME_OK, DV_OUTCOME_DUPLICATE);
    } else if (it->status == DVC_ST_PENDING) {
        it->displaced = 1;
    }
}

static int on_acquire(dvm_coord *c, int from, dvm_rd *rd)
{
    uint32_t worker = dvm_get_u32(rd);
    size_t index = (size_t)dvm_get_u64(rd);
    const char *name = dvm_get_str(rd);
    if (rd->bad || index >= c->n)
        return -1;
    uint32_t slot;
    centry *e = centry_get(c, name, 1, &slot);
    if (!e)
        return -1;
    if (!e->locked) {
        grant(c, slot, from, worker, index);
        return 0;
    }
    waiter *w = malloc(sizeof *w);
    if (!w)
        return -1;
    *w = (waiter){.rank = from, .worker = worker, .index = index};
    if (e->tail)
        e->tail->next = w;
    else
        e->head = w;
    e->tail = w;
    return 0;
}

static int on_release(dvm_coord *c, dvm_rd *rd)
{
    (void)dvm_get_u32(rd); /* the worker: names the request, the name identifies the lock */
    size_t index = (size_t)dvm_get_u64(rd);
    uint32_t slot = dvm_get_u32(rd);
    uint8_t named = dvm_get_u8(rd);
    centry *e = rd->bad || slot >= c->nents ? NULL : &c->ents[slot];
    if (!e || !e->locked || e->locked_by != index)
        return -1; /* a RELEASE names the lock its own GRANT gave */
    if (named == DVC_NAMED_LINKED) {
        e->holder = index;
    } else if (named == DVC_NAMED_REPLACED) {
        size_t old = e->holder;
        e->holder = index;
        mark_displaced(c, old);
    } else if (named == DVC_NAMED_PREEXISTED) {
        e->preexisted = 1;
    } else if (named != DVC_NAMED_NONE) {
        return -1;
    }
    e->locked = 0;
    while (!e->locked && e->head) {
        waiter *w = e->head;
        e->head = w->next;
        if (!e->head)
            e->tail = NULL;
        grant(c, slot, w->rank, w->worker, w->index);
        free(w);
    }
    return 0;
}

/* One input's outcome (DVM_UP_RESULT, mpi_rank.c pack_result): a fixed head, and only the parts its flags name,
 * so an ok small file costs rank 0 a 23-byte record and no allocation. */
static int on_result(dvm_coord *c, dvm_rd *rd)
{
    size_t index = (size_t)dvm_get_u64(rd);
    uint8_t status = dvm_get_u8(rd), flags = dvm_get_u8(rd);
    uint32_t code = dvm_get_u32(rd);
    uint64_t size = dvm_get_u64(rd);
    if (rd->bad || index >= c->n || c->items[index].status != DVC_ST_PENDING || status == DVC_ST_PENDING ||
        status > DVC_ST_DUPLICATE || flags >= 2 * DVM_RES_JOURNAL)
        return -1;
    int journaled = c->journal && (status == DVC_ST_OK || status == DVC_ST_DUPLICATE);
    if (journaled != !!(flags & DVM_RES_JOURNAL))
        return -1; /* every rank of one run sends the journal's part exactly when rank 0 keeps one */
    dvc_item *it = &c->items[index];
    if (flags & DVM_RES_REASON) {
        uint8_t k = dvm_get_u8(rd);
        it->reason = k == DVM_SKIP_NOT_REGULAR ? DVC_SKIP_NOT_REGULAR
                     : k != DV_SKIP_NONE        ? dv_skip_name((dv_skip)k)
                                                : NULL;
        if (!it->reason)
            return -1;
    }
    if (flags & DVM_RES_MESSAGE) {
        const char *message = dvm_get_str(rd);
        if (*message && !(it->message = strdup(message)))
            return -1;
    }
    if (flags & DVM_RES_FINDINGS) {
        const uint8_t *f = dvm_get_raw(rd, 4 * DV_RESULT_TEXT_TYPES);
        if (!f || !(it->text_findings = malloc(DV_RESULT_TEXT_TYPES * sizeof *it->text_findings)))
            return -1;
        for (int t = 0; t < DV_RESULT_TEXT_TYPES; t++)
            it->text_findings[t] = (uint32_t)f[4 * t] | (uint32_t)f[4 * t + 1] << 8 | (uint32_t)f[4 * t + 2] << 16 |
                                   (uint32_t)f[4 * t + 3] << 24;
    }
    if (flags & DVM_RES_PIXELS) {
        dvc_pixels px = {0};
        uint8_t bits = dvm_get_u8(rd);
        if (bits > 3)
            return -1;
        px.ran = bits & 1;
        px.burned_in_unredacted = bits >> 1;
        px.frames = dvm_get_u32(rd);
        px.boxes = dvm_get_u32(rd);
        px.nested_kept = dvm_get_u32(rd);
        snprintf(px.transfer_syntax, sizeof px.transfer_syntax, "%s", dvm_get_str(rd));
        if (!(it->pixels = malloc(sizeof px)))
            return -1;
        *it->pixels = px;
    }
    struct stat st;
    const char *name = NULL;
    const uint8_t *hash = NULL;
    if (flags & DVM_RES_JOURNAL) {
        memset(&st, 0, sizeof st);
        st.st_size = (off_t)size;
        int64_t mtime = (int64_t)dvm_get_u64(rd);
        st.st_mtim.tv_sec = (time_t)(mtime / 1000000000ll);
        st.st_mtim.tv_nsec = (long)(mtime % 1000000000ll);
        name = dvm_get_str(rd);
        hash = dvm_get_u8(rd) ? dvm_get_raw(rd, 32) : NULL;
    }
    if (rd->bad)
        return -1; /* what was allocated above is the item's: freed with it */
    it->code = (dv_code)code;
    static const dv_outcome outcome_of[] = {
        [DVC_ST_OK] = DV_OUTCOME_OK, [DVC_ST_FAILED] = DV_OUTCOME_FAILED, [DVC_ST_SKIPPED] = DV_OUTCOME_SKIPPED,
        [DVC_ST_DUPLICATE] = DV_OUTCOME_DUPLICATE};
    dvc_status final = status;
    if (final == DVC_ST_OK && it->displaced)
        final = DVC_ST_DUPLICATE; /* a lower index replaced its output before this result came in */
    it->status = final;
    dv_run_count_outcome(c->tally, outcome_of[final]);
    if (flags & DVM_RES_RAN)
        dv_run_count_bytes_in(c->tally, size);
    if (journaled)
        dvc_journal_done(c->journal, index, it->path, &st, status == DVC_ST_DUPLICATE, *name ? name : NULL, hash,
                         it->text_findings, it->pixels);
    c->outstanding--;
    return 0;
}

int dvm_coord_handle(dvm_coord *c, int from, const uint8_t *p, size_t len)
{
    dvm_rd rd = {.p = p, .len = len};
    int rc = 0;
    while (rc == 0 && rd.off < rd.len) {
        uint8_t type = dvm_get_u8(&rd);
        switch (type) {
        case DVM_UP_WANT:
            c->wanting[from]++;
            c->nwants++;
            break;
        case DVM_UP_ACQUIRE: rc = on_acquire(c, from, &rd); break;
        case DVM_UP_RELEASE: rc = on_release(c, &rd); break;
        case DVM_UP_RESULT:
            rc = on_result(c, &rd);
            if (rc == 0 && c->held[from]) /* a rank reports what it was dealt (held picks whom to deal first) */
                c->held[from]--;
            break;
        case DVM_UP_DONE: c->ranks_done++; break;
        default: rc = -1;
        }
    }
    return rc || rd.bad ? -1 : 0;
}

/* ---- listing ---- */

/* The lister hands names over LIST_BATCH at a time (and at its end): one lock and, mostly, a pointer swap per
 * batch instead of a lock and a copy per name; a batch is far below a chunk, so dealing does not wait on it. */
#define LIST_BATCH 256

/* Lister: move its batch to pend. -1 on ENOMEM. */
static int hand_over(dvm_coord *c)
{
    int rc = 0;
    pthread_mutex_lock(&c->list_lock);
    if (c->npend == 0) { /* taken since the last hand-over: swap the arrays */
        dvc_input *v = c->pend;
        size_t cap = c->cappend;
        c->pend = c->batch;
        c->cappend = c->capbatch;
        c->npend = c->nbatch;
        c->batch = v;
        c->capbatch = cap;
    } else if (dv_grow(&c->pend, &c->cappend, c->npend + c->nbatch, sizeof *c->pend, 1024) < 0) {
        rc = -1;
    } else {
        memcpy(c->pend + c->npend, c->batch, c->nbatch * sizeof *c->batch);
        c->npend += c->nbatch;
    }
    pthread_mutex_unlock(&c->list_lock);
    if (rc == 0)
        c->nbatch = 0;
    return rc;
}

/* Take path (the walk's malloc'd copy) into the pool and the batch; a full batch is handed over first. On -1
 * path is untouched, the walk's to free. */
static int emit(void *user, char *path, int walk_err)
{
    dvm_coord *c = user;
    if (c->nbatch >= LIST_BATCH && hand_over(c) < 0)
        return -1;
    if (dv_grow(&c->batch, &c->capbatch, c->nbatch + 1, sizeof *c->batch, LIST_BATCH) < 0)
        return -1;
    char *kept = dv_big_pool_dup(&c->paths, path);
    if (!kept)
        return -1;
    free(path);
    c->batch[c->nbatch++] = (dvc_input){.path = kept, .walk_err = walk_err};
    return 0;
}

static void *lister_main(void *arg)
{
    dvm_coord *c = arg;
    void *alt = dv_thread_altstack_enter(); /* a crash report even for a stack overflow */
    int failed = 0;
    for (size_t i = 0; i < c->nsrc && !failed; i++) {
        dvc_inputs in = {.emit = emit, .emit_user = c};
        failed = dvc_walk(c->srcv[i], &in) < 0;
    }
    if (c->nbatch && hand_over(c) < 0)
        failed = 1;
    struct timespec cpu;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
    pthread_mutex_lock(&c->list_lock);
    c->list_done = 1;
    c->list_failed = failed;
    c->list_t1 = dvc_now();
    c->list_cpu = (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9;
    pthread_cond_broadcast(&c->list_cond);
    pthread_mutex_unlock(&c->list_lock);
    dv_thread_altstack_leave(alt);
    return NULL;
}

int dvm_coord_list(dvm_coord *c, char **srcv, size_t nsrc)
{
    c->srcv = srcv;
    c->nsrc = nsrc;
    c->list_t0 = dvc_now();
    if (pthread_create(&c->lister, NULL, lister_main, c) != 0)
        return -1;
    c->lister_started = 1;
    return 0;
}

/* Move what the lister found into items. -1 when it ran out of memory. */
static int take_listed(dvm_coord *c)
{
    pthread_mutex_lock(&c->list_lock);
    dvc_input *v = c->pend;
    size_t n = c->npend;
    int done = c->list_done, failed = c->list_failed;
    c->pend = NULL;
    c->npend = c->cappend = 0;
    pthread_mutex_unlock(&c->list_lock);
    int rc = failed ? -1 : 0;
    if (n && dv_big_grow(&c->items, &c->cap, c->n + n, sizeof *c->items, 1024) < 0) {
        free(v); /* the paths are the pool's */
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        c->items[c->n++] = (dvc_item){.path = v[i].path, .walk_err = v[i].walk_err};
    free(v);
    c->listed_all = done;
    if (c->progress)
        c->progress->total = c->n;
    return rc;
}

int dvm_coord_list_wait(dvm_coord *c)
{
    pthread_mutex_lock(&c->list_lock);
    while (!c->list_done)
        pthread_cond_wait(&c->list_cond, &c->list_lock);
    pthread_mutex_unlock(&c->list_lock);
    return take_listed(c);
}

dvc_item *dvm_coord_items(dvm_coord *c, size_t *n)
{
    *n = c->n;
    return c->items;
}

size_t dvm_coord_dealt(const dvm_coord *c, int r)
{
    return c->dealt[r];
}

double dvm_coord_list_cpu(const dvm_coord *c)
{
    return c->listed_all ? c->list_cpu : 0;
}

double dvm_coord_list_seconds(const dvm_coord *c)
{
    return c->listed_all ? c->list_t1 - c->list_t0 : 0;
}

/* ---- dealing ---- */

/* The tail's smallest chunk: 1/32 of a full one (at 512: 16 inputs, milliseconds of work), so the last chunks
 * still take longer than rank 0's short turn and the ranks end within one small chunk of each other. */
static size_t chunk_floor(const dvm_coord *c)
{
    return c->chunk_max / 32 ? c->chunk_max / 32 : 1;
}

int dvm_coord_urgency(const dvm_coord *c)
{
    if (!c->listed_all && c->nwants)
        return 2;
    /* Until every rank has its first chunk, a rank's first WANT may be on its way: its worker idles until rank 0
     * looks (a 4 ms turn here was most of rank 1's 5-12 ms before its first chunk, bench/MPI.md). */
    for (int r = 0; r < c->nranks; r++)
        if (c->dealt[r] == 0 && (!c->listed_all || c->cursor < c->n))
            return 1;
    if (!c->listed_all)
        return 0;
    size_t left = c->n - c->cursor;
    return left / (2 * (size_t)c->nranks * DVM_SLOTS) < c->chunk_max / 4 ? 1 : 0;
}

int dvm_coord_step(dvm_coord *c)
{
    if (!c->listed_all && take_listed(c) < 0)
        return -1;
    while (c->nwants) {
        while (c->cursor < c->n && c->items[c->cursor].status != DVC_ST_PENDING)
            c->cursor++; /* restored by --resume */
        size_t left = c->n - c->cursor;
        /* Guided: a share of what is left, between chunk_floor and chunk_max. While the lister works, a share of
         * what it has found so far: every rank starts as soon as there is work (not after a full chunk for each
         * want ahead of it), and no rank is handed the whole list the moment it is found (bench/MPI.md,
         * timeline). */
        size_t guided = left / (2 * (size_t)c->nranks * DVM_SLOTS), floor = chunk_floor(c);
        size_t size = guided < floor ? floor : guided < c->chunk_max ? guided : c->chunk_max;
        if (!c->listed_all && left < floor)
            break; /* a few more names first */
        /* the wanting rank that holds the fewest inputs first: every rank's first chunk goes out before any
         * rank's second (rank 0's own wants reach this table first; its second chunk made the other ranks
         * start a chunk later, bench/MPI.md) */
        int to = -1;
        for (int r = 0; r < c->nranks; r++)
            if (c->wanting[r] && (to < 0 || c->held[r] < c->held[to]))
                to = r;
        dvm_buf *b = &c->out[to];
        if (left == 0) {
            if (!c->listed_all)
                break;
            dvm_u8(b, DVM_DOWN_END);
        } else {
            size_t count_at = b->len + 1;
            dvm_u8(b, DVM_DOWN_CHUNK);
            dvm_u32(b, 0); /* patched below */
            uint32_t k = 0;
            const char *prev = "";
            while (k < size && c->cursor < c->n) {
                dvc_item *it = &c->items[c->cursor];
                if (it->status == DVC_ST_PENDING) {
                    /* the path as the bytes it shares with the previous one and the rest: the sorted walk makes
                     * neighbours share their folders, so a chunk stays under the eager limit (mpi_run.c TURN) */
                    uint32_t same = 0;
                    while (prev[same] && prev[same] == it->path[same])
                        same++;
                    size_t rest = strlen(it->path + same) + 1;
                    uint8_t *p = dvm_reserve(b, 20 + rest);
                    if (!p)
                        return -1;
                    p = dvm_put_u64(p, c->cursor);
                    p = dvm_put_u32(p, (uint32_t)it->walk_err);
                    p = dvm_put_u32(p, same);
                    p = dvm_put_u32(p, (uint32_t)rest);
                    memcpy(p, it->path + same, rest);
                    b->len += 20 + rest;
                    prev = it->path;
                    k++;
                }
                c->cursor++;
            }
            if (b->oom)
                return -1;
            for (int i = 0; i < 4; i++)
                b->p[count_at + (size_t)i] = (uint8_t)(k >> (8 * i));
            c->outstanding += k;
            c->dealt[to] += k;
            c->held[to] += k;
        }
        c->wanting[to]--;
        c->nwants--;
    }
    return 0;
}

dvm_buf *dvm_coord_out(dvm_coord *c, int r)
{
    return &c->out[r];
}

int dvm_coord_finished(const dvm_coord *c)
{
    return c->listed_all && c->ranks_done == c->nranks && c->outstanding == 0;
}

/* ---- life ---- */

dvm_coord *dvm_coord_new(int nranks, size_t chunk_max, dv_run *tally, dvc_journal *journal, int dst_fd,
                         dvc_progress *progress)
{
    dvm_coord *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->nranks = nranks;
    c->chunk_max = chunk_max;
    c->tally = tally;
    c->journal = journal;
    c->dst_fd = dst_fd;
    c->progress = progress;
    size_t ntable = 0;
    if (dv_big_grow(&c->table, &ntable, 4096, sizeof *c->table, 4096) == 0)
        c->ntable = ntable;
    c->out = calloc((size_t)nranks, sizeof *c->out);
    c->dealt = calloc((size_t)nranks, sizeof *c->dealt);
    c->wanting = calloc((size_t)nranks, sizeof *c->wanting);
    c->held = calloc((size_t)nranks, sizeof *c->held);
    pthread_mutex_init(&c->list_lock, NULL);
    pthread_cond_init(&c->list_cond, NULL);
    if (!c->table || !c->out || !c->dealt || !c->wanting || !c->held) {
        dvm_coord_free(c);
        return NULL;
    }
    return c;
}

void dvm_coord_free(dvm_coord *c)
{
    if (!c)
        return;
    if (c->lister_started)
        pthread_join(c->lister, NULL);
    c->progress = NULL;
    take_listed(c); /* what the lister found after the last step, so it is freed below */
    for (size_t i = 0; i < c->n; i++) { /* paths: the pool's, below */
        free(c->items[i].message);
        free(c->items[i].mapping);
        free(c->items[i].text_findings);
        free(c->items[i].pixels);
    }
    dv_big_free(c->items, c->cap, sizeof *c->items);
    for (size_t i = 0; i < c->nents; i++)
        for (waiter *w = c->ents[i].head, *wn; w; w = wn) {
            wn = w->next;
            free(w);
        }
    dv_big_free(c->ents, c->capents, sizeof *c->ents);
    dv_big_free(c->keys, c->capkeys, 1);
    dv_big_free(c->table, c->ntable, sizeof *c->table);
    for (int r = 0; c->out && r < c->nranks; r++)
        dvm_buf_free(&c->out[r]);
    free(c->out);
    free(c->dealt);
    free(c->wanting);
    free(c->held);
    free(c->batch);
    dv_big_pool_free(&c->paths); /* the lister has ended (joined above) */
    pthread_cond_destroy(&c->list_cond);
    pthread_mutex_destroy(&c->list_lock);
    free(c);
}
