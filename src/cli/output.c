/* Output files: DST/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm with the NEW UIDs
 * (DECISIONS.md item 15). Source file names, which may hold PHI, are never reused.
 *
 * Path safety: each component comes from a UID the (possibly hostile) input influenced, so only a
 * well-formed UID (digits and single dots, <= 64 chars; never "." or "..") is used verbatim; anything else
 * becomes "_invalid-<16 hex of its SHA-256>", which is stable (duplicates still collide) and cannot
 * traverse. Directories are opened one component at a time relative to DST with O_NOFOLLOW, so a symlink
 * planted inside DST cannot redirect a write either.
 *
 * Atomicity: the file is written unnamed (O_TMPFILE) and only given its name by linkat once complete, so a
 * killed run (even SIGKILL) never leaves a partial .dcm. Where O_TMPFILE is unsupported, a hidden
 * ".dvtmp-<hex>" name in the same directory + link() + unlink() does the same; those temp names are registered
 * per worker so a terminating signal that can be caught (dvc_cleanup_signals) can unlink them before the process
 * dies. SIGKILL cannot be caught: only the O_TMPFILE path is immune to it. What it leaves is removed by the next
 * --resume of the run (dvc_output_sweep_temps) or any later run into DST (dvc_output_note_temps): a writer holds
 * an flock on its temp name (util/dv_locked_tmp.h), so a temp name no process holds is a dead writer's.
 *
 * Same instance twice (DECISIONS.md item 15): the inputs are sorted, and among this run's inputs with the same
 * output name the LOWEST INDEX that is written successfully keeps it, whatever --jobs and the thread timing,
 * so a run's DST and report are reproducible. A claims table (one mutex, a hash map from "study/series/sop.dcm"
 * to the index whose file this run named there) decides: before any work, an input whose name a lower index
 * already holds is a duplicate at once; once its file is complete, under the lock, it is a duplicate when a
 * lower index took the name meanwhile, it replaces the file when a higher index of this run holds the name
 * (atomically: rename over it, from a hidden temp name on the O_TMPFILE path; the higher index is reported
 * back and becomes the duplicate), and otherwise links as before. A name that exists although no input of
 * this run named it (an earlier run's output) is never replaced: linkat's EEXIST marks it, and every input
 * with that name is a duplicate. An input claims a name only by naming its file, so a lower index that fails
 * (I/O) leaves the name to the next one, as with --jobs 1. Inputs of one name racing each other may each
 * write a file (the lower one, named later, then replaces the other); distinct names never wait on one
 * another except for the lock held around linkat/renameat. The replace step's hidden temp name is held in the
 * worker's slot like the fallback's, so a caught fatal signal removes it; only SIGKILL between its linkat and
 * renameat (microseconds, duplicates only) can leave it, complete and hidden, never as a .dcm. A run killed
 * before a lower index replaced a higher one's leaves the higher one's (complete) file, which a re-run, never
 * overwriting, keeps.
 *
 * State: everything belongs to one dvc_output (slots, claims, the O_TMPFILE fallback flag), so two outputs in
 * one process do not interfere. The only process-wide state is what a signal handler needs and cannot get
 * otherwise: the registry of live outputs (g_live) whose temp names it removes, and the "dying" flag. Both are
 * the CLI front's (issue 5 item 2), lock-free so the handler may read them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cli.h"
#include "dicom/dv_uid_syntax.h"
#include "util/dv_locked_tmp.h"

_Static_assert(DV_UID_SYNTAX_MAX < DVC_COMPONENT_MAX, "a UID must fit an output name component");

/* A UID names its directory or file as it is (digits and single dots: a safe name, never "." or ".."); a leading
 * zero is tolerated, as it was, so a UID a keepTag kept still names its file. */
static int uid_well_formed(const char *s, size_t n)
{
    return dv_uid_form_of(s, n) != DV_UID_NOT_UID;
}

void dvc_uid_component(const char *uid, size_t cap, const char *empty_name, char out[DVC_COMPONENT_MAX])
{
    size_t n = strnlen(uid, cap);
    if (n == 0) {
        snprintf(out, DVC_COMPONENT_MAX, "%s", empty_name);
        return;
    }
    if (uid_well_formed(uid, n)) {
        memcpy(out, uid, n);
        out[n] = '\0';
        return;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(uid, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 8)
        memset(md, 0, 8); /* cannot happen with a working libcrypto; still a safe name */
    int k = snprintf(out, DVC_COMPONENT_MAX, "_invalid-");
    for (int i = 0; i < 8; i++)
        k += snprintf(out + k, (size_t)(DVC_COMPONENT_MAX - k), "%02x", md[i]);
}

/* ---- temp-name fallback and its signal cleanup ----
 *
 * Protocol (all atomics sequentially consistent): a worker announces SLOT_CREATING, then checks g_dying, then
 * creates the file and announces SLOT_CREATED. The handler sets g_dying, then waits out any SLOT_CREATING and
 * unlinks every SLOT_CREATED. Either the worker sees g_dying (and creates nothing, ever again) or the handler
 * sees its slot (and waits for the file to exist before unlinking it), so no temp name can appear after the
 * sweep. The handler may wait on a worker, so it must never run on a worker: pool.c blocks these signals in
 * every worker thread (dvc_cleanup_signals), and the process delivers them to the main thread. */

enum { SLOT_IDLE = 0, SLOT_CREATING, SLOT_CREATED };

struct dvc_tmp_slot {
    atomic_int state; /* lock-free, so safe to use in a signal handler */
    int dirfd;
    char name[32];
    /* The worker's last output directories, touched only by the worker that owns the slot (never by the signal
     * handler): the sorted walk makes the inputs of one series consecutive, so they reuse these descriptors
     * instead of two openat + two close each (bench/RESULTS.md "Per-file cost"). -1 when none. */
    int study_fd, series_fd;
    char study[DVC_COMPONENT_MAX], series[DVC_COMPONENT_MAX];
};
typedef struct dvc_tmp_slot tmp_slot;

/* The process-wide registry of live outputs for the signal handler (see the top of this file). */
#define LIVE_MAX 16
static dvc_output *_Atomic g_live[LIVE_MAX];
static atomic_int g_dying;

/* Every signal whose default action ends the process and that is sent from outside (kill, a terminal, a job
 * manager, a CPU limit): a temp name must not outlive the run where a handler can remove it. Not SIGPIPE and
 * SIGXFSZ: a worker's own write raises them on the worker, where blocking them would turn a death into an error
 * return (EPIPE, EFBIG), another behaviour. */
static const int cleanup_sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGXCPU, SIGVTALRM,
                                   SIGPROF};

void dvc_cleanup_signals(sigset_t *set)
{
    sigemptyset(set);
    for (size_t i = 0; i < sizeof cleanup_sigs / sizeof cleanup_sigs[0]; i++)
        sigaddset(set, cleanup_sigs[i]);
}

static void on_fatal_signal(int sig)
{
    /* Only async-signal-safe calls: nanosleep, unlinkat, raise. SA_RESETHAND restored the default action, so
     * the raised signal kills the process once this handler returns. */
    atomic_store(&g_dying, 1);
    for (size_t k = 0; k < LIVE_MAX; k++) {
        dvc_output *o = atomic_load(&g_live[k]);
        if (!o)
            continue;
        for (size_t i = 0; i < o->nslots; i++) {
            const struct timespec pause_ms = {.tv_sec = 0, .tv_nsec = 1000 * 1000};
            for (int spins = 0; atomic_load(&o->slots[i].state) == SLOT_CREATING && spins < 5000; spins++)
                nanosleep(&pause_ms, NULL); /* a worker is inside openat: microseconds */
            if (atomic_load(&o->slots[i].state) == SLOT_CREATED)
                unlinkat(o->slots[i].dirfd, o->slots[i].name, 0);
        }
    }
    raise(sig);
}

/* Pick a fresh random temp name for slot in dirfd and announce SLOT_CREATING; the caller then creates that
 * name and calls slot_created. Never returns once the process is dying. -1 with errno without random bytes. */
#define TMP_PREFIX ".dvtmp-" /* and 12 lowercase hex digits: slot_begin makes such names, temp_name knows them */
#define TMP_PREFIX_LEN 7
#define TMP_HEX 12

static int slot_begin(tmp_slot *slot, int dirfd)
{
    unsigned char rnd[6];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return -1;
    snprintf(slot->name, sizeof slot->name, TMP_PREFIX "%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3],
             rnd[4], rnd[5]);
    slot->dirfd = dirfd;
    atomic_store(&slot->state, SLOT_CREATING);
    if (atomic_load(&g_dying)) {
        atomic_store(&slot->state, SLOT_IDLE);
        for (;;)
            pause(); /* the process is being killed by the handler on the main thread */
    }
    return 0;
}

static void slot_created(tmp_slot *slot, int created)
{
    atomic_store(&slot->state, created ? SLOT_CREATED : SLOT_IDLE);
}

/* ---- claims: which input of this run holds each output name (see the top of this file) ---- */

typedef struct dvc_claim {
    struct dvc_claim *next;
    uint64_t hash;
    size_t linked;  /* the input index whose file this run named there; DVC_NO_INDEX while none */
    int preexisted; /* the name existed although no input of this run named it: never replaced */
    char key[];     /* "study/series/sop.dcm" */
} claim;

struct dvc_claims {
    pthread_mutex_t lock;
    claim **buckets;
    size_t nbuckets; /* a power of two */
    size_t count;
};

static uint64_t key_hash(const char *s)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static dvc_claims *claims_new(void)
{
    dvc_claims *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->nbuckets = 1024;
    c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
    if (!c->buckets || pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c->buckets);
        free(c);
        return NULL;
    }
    return c;
}

static void claims_free(dvc_claims *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nbuckets; i++) {
        for (claim *e = c->buckets[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    }
    free(c->buckets);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* Lock held. The entry of key, created when missing; entries live until dvc_output_close, so the pointer
 * stays valid after the lock is released (only their fields need it). NULL on ENOMEM. */
static claim *claim_get(dvc_claims *c, const char *key)
{
    uint64_t h = key_hash(key);
    for (claim *e = c->buckets[h & (c->nbuckets - 1)]; e; e = e->next)
        if (e->hash == h && strcmp(e->key, key) == 0)
            return e;
    if (c->count >= c->nbuckets / 4 * 3) {
        claim **nb = calloc(c->nbuckets * 2, sizeof *nb);
        if (nb) { /* without memory to grow, the chains just get longer */
            size_t nn = c->nbuckets * 2;
            for (size_t i = 0; i < c->nbuckets; i++) {
                for (claim *e = c->buckets[i], *next; e; e = next) {
                    next = e->next;
                    e->next = nb[e->hash & (nn - 1)];
                    nb[e->hash & (nn - 1)] = e;
                }
            }
            free(c->buckets);
            c->buckets = nb;
            c->nbuckets = nn;
        }
    }
    size_t len = strlen(key);
    claim *e = malloc(sizeof *e + len + 1);
    if (!e)
        return NULL;
    e->hash = h;
    e->linked = DVC_NO_INDEX;
    e->preexisted = 0;
    memcpy(e->key, key, len + 1);
    e->next = c->buckets[h & (c->nbuckets - 1)];
    c->buckets[h & (c->nbuckets - 1)] = e;
    c->count++;
    return e;
}

/* Lock held: the name belongs to a lower index of this run, or to a file this run did not write. */
static int claim_lost(const claim *e, size_t index)
{
    return e->preexisted || (e->linked != DVC_NO_INDEX && e->linked < index);
}

int dvc_output_init(dvc_output *o, const char *dst, size_t nworkers, int do_fsync)
{
    o->do_fsync = do_fsync;
    o->journal = NULL;
    o->claims = NULL;
    o->slots = NULL;
    o->nslots = 0;
    o->remote = NULL;
    o->hash_outputs = 0;
    atomic_store(&o->unnamed_linked, 0);
    atomic_store(&o->tmpfile_unsupported, 0);
    atomic_store(&o->empty_path_denied, 0);
    o->dst_fd = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (o->dst_fd < 0)
        return -1;
    o->copy_offload = dvc_fs_offloads_copy(o->dst_fd);
    o->slots = calloc(nworkers ? nworkers : 1, sizeof *o->slots);
    o->claims = claims_new();
    size_t k = 0;
    while (k < LIVE_MAX && atomic_load(&g_live[k]))
        k++;
    if (!o->slots || !o->claims || k == LIVE_MAX) {
        free(o->slots);
        o->slots = NULL;
        claims_free(o->claims);
        o->claims = NULL;
        close(o->dst_fd);
        o->dst_fd = -1;
        errno = ENOMEM;
        return -1;
    }
    o->nslots = nworkers;
    for (size_t i = 0; i < nworkers; i++)
        o->slots[i].study_fd = o->slots[i].series_fd = -1;
    /* Lets tests (and users on odd file systems) exercise the temp-name path on any file system. */
    if (dv_locked_tmp_named_only())
        atomic_store(&o->tmpfile_unsupported, 1);
    /* ... and the /proc/self/fd naming of the unnamed files, taken where AT_EMPTY_PATH is refused (link_fd). */
    const char *via_proc = getenv("DICOMVEIL_LINK_VIA_PROC");
    if (via_proc && *via_proc && strcmp(via_proc, "0") != 0)
        atomic_store(&o->empty_path_denied, 1);
    atomic_store(&g_live[k], o); /* the main thread registers and unregisters: no race between outputs */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof cleanup_sigs / sizeof cleanup_sigs[0]; i++) {
        /* A signal ignored on entry stays ignored (nohup, background jobs): it would not have killed us. */
        struct sigaction old;
        if (sigaction(cleanup_sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
            sigaction(cleanup_sigs[i], &sa, NULL);
    }
    return 0;
}

void dvc_output_close(dvc_output *o)
{
    /* First out of the registry, so a late signal handler no longer looks at the slots. */
    for (size_t k = 0; k < LIVE_MAX; k++)
        if (atomic_load(&g_live[k]) == o)
            atomic_store(&g_live[k], NULL);
    if (o->dst_fd >= 0)
        close(o->dst_fd);
    o->dst_fd = -1;
    for (size_t i = 0; i < o->nslots; i++) {
        if (o->slots[i].series_fd >= 0)
            close(o->slots[i].series_fd);
        if (o->slots[i].study_fd >= 0)
            close(o->slots[i].study_fd);
    }
    o->nslots = 0;
    free(o->slots);
    o->slots = NULL;
    claims_free(o->claims);
    o->claims = NULL;
}

int dvc_output_seed(dvc_output *o, const char *name, size_t index)
{
    if (o->remote) /* --mpi: rank 0's run-wide table */
        return o->remote->seed(o->remote->user, name, index);
    pthread_mutex_lock(&o->claims->lock);
    claim *c = claim_get(o->claims, name);
    int rc = !c ? -1 : c->linked != DVC_NO_INDEX && c->linked <= index ? 1 : 0;
    if (rc == 0)
        c->linked = index;
    pthread_mutex_unlock(&o->claims->lock);
    return rc;
}

int dvc_output_stale(void *user, const char *name)
{
    /* Called once the pool has ended: no worker changes the claims or a status any more (the lock is taken all
     * the same: it is the table's rule, and cheap). */
    const dvc_run *run = user;
    dvc_claims *c = run->out->claims;
    uint64_t h = key_hash(name);
    int rc = DVC_SWEEP_FOLDERS; /* not in the table: no attempt's file is known there */
    pthread_mutex_lock(&c->lock);
    for (const claim *e = c->buckets[h & (c->nbuckets - 1)]; e; e = e->next) {
        if (e->hash != h || strcmp(e->key, name) != 0)
            continue;
        rc = dvc_sweep_verdict(e->preexisted, e->linked, run->items, run->n);
        break;
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

/* ---- leftovers of killed attempts (docs/decisions.md "Temp names a kill left") ---- */

/* Exactly the names slot_begin makes: ".dvtmp-" and 12 lowercase hex digits. */
static int temp_name(const char *s)
{
    if (strncmp(s, TMP_PREFIX, TMP_PREFIX_LEN) != 0)
        return 0;
    for (int i = TMP_PREFIX_LEN; i < TMP_PREFIX_LEN + TMP_HEX; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s[TMP_PREFIX_LEN + TMP_HEX] == '\0';
}

/* A folder name dvc_uid_component can make (a UID, "_invalid-<hex>", "_nostudy", "_noseries"): anything else in
 * DST (hidden folders, names with capitals or spaces) is not this program's and is not entered. */
static int component_name(const char *s)
{
    if (s[0] == '\0' || s[0] == '.')
        return 0;
    for (; *s; s++)
        if (!dvc_component_char(*s))
            return 0;
    return 1;
}

/* The folder name of parent as a stream, entered only when it is a real folder (O_NOFOLLOW). NULL when not. */
static DIR *open_folder(int parent, const char *name)
{
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (fd >= 0 && !d)
        close(fd);
    return d;
}

typedef struct {
    size_t removed, undecided, failed;
    int failed_errno;
} sweep_counts;

/* A plain run removes an unheld temp name only once it is this old. flock is local to one host on some shared
 * file systems (NFS mounted with local_lock=flock or nolock, Lustre's localflock: stop 54's review), where another
 * host's live writer holds its lock only there; a writer writes its temp file within moments of making it, so one
 * untouched for this long has no writer on any host. A resume needs no age: its DST is its run's. */
#define TEMP_SETTLE_S 600

/* One temp name (mtime: its last write): removed when no writer holds it (util/dv_locked_tmp.h: every writer holds
 * its temp name's flock from creation until the name is gone, so an unheld one is a killed writer's) and, in a plain
 * run, when older than TEMP_SETTLE_S; one a live writer holds (another run writing into the same DST) stays. Where
 * flock is not supported nothing is held: a resume (REPORT.lock keeps its run's other attempts away) removes it, a
 * plain run counts it as undecided, as it does a younger unheld one. */
static void sweep_one(int fd, const char *name, time_t mtime, int resume, sweep_counts *k)
{
    if (!resume && time(NULL) - mtime < TEMP_SETTLE_S) {
        if (!dv_locked_tmp_held(fd, name))
            k->undecided++;
        return;
    }
    dv_tmp_reap r = dv_locked_tmp_reap(fd, name);
    if (r == DV_TMP_UNLOCKABLE && resume)
        r = unlinkat(fd, name, 0) == 0 ? DV_TMP_REAPED : errno == ENOENT ? DV_TMP_GONE : DV_TMP_FAILED;
    if (r == DV_TMP_REAPED) {
        k->removed++;
    } else if (r == DV_TMP_FAILED) {
        k->failed++;
        k->failed_errno = errno;
    } else if (r == DV_TMP_UNLOCKABLE) {
        k->undecided++;
    }
}

/* The temp names of one series folder; the number removed. */
static size_t sweep_series(DIR *d, uid_t me, int resume, sweep_counts *k)
{
    size_t before = k->removed;
    int fd = dirfd(d);
    for (struct dirent *e; (e = readdir(d));) {
        if (!temp_name(e->d_name))
            continue;
        struct stat st;
        /* Regular and ours only: a link, a folder or another user's file of that name is not a temp we made. */
        if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) || st.st_uid != me)
            continue;
        sweep_one(fd, e->d_name, st.st_mtime, resume, k);
    }
    return k->removed - before;
}

/* The walk of dvc_output_sweep_temps and dvc_output_note_temps: the temp names sweep_one finds left over go, and
 * the folders that held only them. A temp name a live writer holds (another run writing into the same DST) is
 * never touched. */
static void walk_temps(int dst_fd, int resume, sweep_counts *k)
{
    uid_t me = geteuid();
    *k = (sweep_counts){0};
    DIR *top = open_folder(dst_fd, ".");
    if (!top) {
        k->failed = 1;
        k->failed_errno = errno;
        return;
    }
    for (struct dirent *s; (s = readdir(top));) {
        if (!component_name(s->d_name) || (s->d_type != DT_DIR && s->d_type != DT_UNKNOWN))
            continue;
        DIR *study = open_folder(dirfd(top), s->d_name);
        if (!study)
            continue; /* a file, a link, or gone: not an output folder */
        size_t in_study = 0;
        for (struct dirent *r; (r = readdir(study));) {
            if (!component_name(r->d_name) || (r->d_type != DT_DIR && r->d_type != DT_UNKNOWN))
                continue;
            DIR *series = open_folder(dirfd(study), r->d_name);
            if (!series)
                continue;
            size_t n = sweep_series(series, me, resume, k);
            closedir(series);
            /* A folder a killed attempt made for that file alone goes too, as remove_stale does (ENOTEMPTY
             * decides): one uninterrupted run makes no folder without an output in it. */
            if (n)
                unlinkat(dirfd(study), r->d_name, AT_REMOVEDIR);
            in_study += n;
        }
        closedir(study);
        if (in_study)
            unlinkat(dirfd(top), s->d_name, AT_REMOVEDIR);
    }
    closedir(top);
}

size_t dvc_output_sweep_temps(int dst_fd, size_t *failed, int *failed_errno)
{
    sweep_counts k;
    walk_temps(dst_fd, 1, &k);
    *failed = k.failed;
    *failed_errno = k.failed_errno;
    return k.removed;
}

void dvc_output_note_temps(int dst_fd)
{
    sweep_counts k;
    walk_temps(dst_fd, 0, &k);
    /* counts, never a name (the names are new UIDs) */
    if (k.removed)
        dvc_errorf("%zu hidden unfinished temporary file(s) (.dvtmp-*) of killed runs removed from the "
                   "destination", k.removed);
    if (k.undecided)
        dvc_errorf("warning: %zu hidden unfinished temporary file(s) (.dvtmp-*) in the destination: left by a run "
                   "killed with SIGKILL (a --resume of it removes them; a later run once %d minutes old), or "
                   "another host's run still writing them", k.undecided, TEMP_SETTLE_S / 60);
    if (k.failed)
        dvc_errorf("warning: %zu hidden unfinished temporary file(s) (.dvtmp-*) of killed runs could not be "
                   "removed from the destination: %s", k.failed, strerror(k.failed_errno));
}

const char *dvc_put_name(const dvc_put *p)
{
    return p->claim ? p->claim->key : NULL;
}

/* Open (creating when missing) the subdirectory name of parent. Concurrent workers may race to create the
 * same directory: EEXIST from mkdirat just means another one won. */
static int open_subdir(int parent, const char *name)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0 || errno != ENOENT)
            return fd;
        if (mkdirat(parent, name, 0755) < 0 && errno != EEXIST)
            return -1;
    }
    errno = ENOENT;
    return -1;
}

/* Close the slot's cached directories (series_dir opens them again). */
static void forget_dirs(tmp_slot *s)
{
    if (s->series_fd >= 0)
        close(s->series_fd);
    if (s->study_fd >= 0)
        close(s->study_fd);
    s->series_fd = s->study_fd = -1;
}

/* The series directory DST/study/series for the worker of slot, created when missing: the slot's cached
 * descriptor when it is the same directory as last time (the slot keeps it: the caller must not close it),
 * else opened now and cached in place of the previous one. -1 with errno; *step names what failed. */
static int series_dir(dvc_output *o, tmp_slot *s, const char *study, const char *series, const char **step)
{
    if (s->series_fd >= 0 && strcmp(s->series, series) == 0 && strcmp(s->study, study) == 0)
        return s->series_fd;
    if (s->series_fd >= 0)
        close(s->series_fd);
    s->series_fd = -1;
    if (s->study_fd < 0 || strcmp(s->study, study) != 0) {
        if (s->study_fd >= 0)
            close(s->study_fd);
        s->study_fd = open_subdir(o->dst_fd, study);
        if (s->study_fd < 0) {
            *step = "creating the study directory";
            return -1;
        }
        snprintf(s->study, sizeof s->study, "%s", study);
    }
    s->series_fd = open_subdir(s->study_fd, series);
    if (s->series_fd < 0) {
        *step = "creating the series directory";
        return -1;
    }
    snprintf(s->series, sizeof s->series, "%s", series);
    return s->series_fd;
}

typedef enum dvc_write_result { DVC_WRITTEN = 0, DVC_DUPLICATE = 1, DVC_WRITE_FAILED = -1 } dvc_write_result;

/* Name the unnamed file fd dirfd/name, never replacing: 0, -1 with errno, or -2 when this system can do it
 * neither with AT_EMPTY_PATH nor through /proc (the caller falls back to a named temp).
 * AT_EMPTY_PATH first: it needs CAP_DAC_READ_SEARCH (the kernel answers ENOENT without it), but where it works
 * it skips resolving "/proc/self/fd/N" (~5-9 us of a ~300 us file: bench/RESULTS.md "Per-file cost"); the
 * first refusal is remembered in the output, so a run without the capability asks once, not per file.
 * [test_cli_dupes.sh "without CAP_DAC_READ_SEARCH"] */
static int link_fd(dvc_output *o, int fd, int dirfd, const char *name)
{
    if (!atomic_load_explicit(&o->empty_path_denied, memory_order_relaxed)) {
        if (linkat(fd, "", dirfd, name, AT_EMPTY_PATH) == 0)
            return 0;
        if (errno != ENOENT && errno != EPERM)
            return -1;
        atomic_store_explicit(&o->empty_path_denied, 1, memory_order_relaxed);
    }
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW) == 0)
        return 0;
    return errno == ENOENT ? -2 : -1; /* ENOENT: no /proc mounted either */
}

/* Replace dirfd/final by the unnamed file fd atomically: link fd to a hidden temp name (held in the worker's
 * slot, so a fatal signal removes it), then rename that over final. 0, -1 with errno, or -2 as link_fd. */
static int replace_fd(dvc_output *o, tmp_slot *slot, int fd, int dirfd, const char *final)
{
    int rc = -1;
    (void)dv_locked_tmp_hold(fd); /* before it has a name: no sweep can ever find it unheld */
    for (int attempt = 0; attempt < 16 && rc != 0; attempt++) {
        if (slot_begin(slot, dirfd) < 0)
            return -1;
        rc = link_fd(o, fd, dirfd, slot->name);
        int e = errno;
        slot_created(slot, rc == 0);
        if (rc != 0 && (rc == -2 || e != EEXIST)) {
            errno = e;
            return rc;
        }
    }
    if (rc != 0) {
        errno = EEXIST; /* 16 random names taken */
        return -1;
    }
    rc = renameat(dirfd, slot->name, dirfd, final);
    int e = errno;
    if (rc < 0)
        unlinkat(dirfd, slot->name, 0);
    atomic_store(&slot->state, SLOT_IDLE);
    errno = e;
    return rc;
}

/* The file is complete (fd >= 0: the unnamed O_TMPFILE file; fd < 0: slot->name): give it its final name,
 * deciding under the claims lock (see the top of this file). *displaced receives the index whose file was
 * replaced. 2 when the unnamed file cannot be linked on this system (the caller falls back), else 0 with *out
 * set. */
static int name_output(dvc_output *o, claim *c, size_t index, tmp_slot *slot, int fd, int dirfd,
                       const char *final, size_t *displaced, dv_error *err, dvc_write_result *out)
{
    int rc = 0, e = 0;
    pthread_mutex_lock(&o->claims->lock);
    if (claim_lost(c, index)) {
        *out = DVC_DUPLICATE; /* a lower index named it meanwhile: ours is discarded */
    } else if (c->linked == DVC_NO_INDEX && o->journal &&
               faccessat(dirfd, final, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
        /* --resume: a name this run never created (journal.c seeded every one it did) is never replaced, and
         * is not announced in the journal either (so a resume will not take it for ours). */
        c->preexisted = 1;
        *out = DVC_DUPLICATE;
    } else if (c->linked == DVC_NO_INDEX) {
        if (o->journal) /* announced before it exists: a resume then knows every name this run created */
            dvc_journal_claim(o->journal, index, c->key);
        /* link(), unlike rename(), never replaces */
        rc = fd >= 0 ? link_fd(o, fd, dirfd, final) : linkat(dirfd, slot->name, dirfd, final, 0);
        e = errno;
        if (rc == 0) {
            c->linked = index;
            *out = DVC_WRITTEN;
        } else if (rc == -1 && e == EEXIST) {
            c->preexisted = 1; /* no input of this run named it (an earlier run did): never replaced */
            *out = DVC_DUPLICATE;
        } else if (rc == -1) {
            dv_fail(err, DV_ERR_IO, "naming the output file failed: %s", strerror(e));
            *out = DVC_WRITE_FAILED;
        }
    } else {
        /* A higher index of this run named it: ours replaces that file atomically, and that index becomes
         * the duplicate. */
        if (fd >= 0) {
            rc = replace_fd(o, slot, fd, dirfd, final);
            e = errno;
        } else {
            rc = renameat(dirfd, slot->name, dirfd, final);
            e = errno;
            if (rc == 0)
                atomic_store(&slot->state, SLOT_IDLE); /* the temp name is gone */
        }
        if (rc == 0) {
            *displaced = c->linked;
            c->linked = index;
            *out = DVC_WRITTEN;
        } else if (rc == -1) {
            dv_fail(err, DV_ERR_IO, "replacing a duplicate's output file failed: %s", strerror(e));
            *out = DVC_WRITE_FAILED;
        }
    }
    pthread_mutex_unlock(&o->claims->lock);
    return rc == -2 ? 2 : 0;
}

/* --mpi (docs/decisions.md "MPI batch mode"): the same three cases as name_output, decided by rank 0's
 * run-wide table (mpi_coord.c), which keeps the name locked until finish, so the link/rename here is atomic with
 * the decision for every rank. Rank 0 marks a displaced index itself; the journal's C line and the --resume
 * existence check are rank 0's too. This output's own table only caches names known lost (a holder only ever
 * gets lower), so a later input of the same name can be a duplicate without asking. */
static int name_remote(dvc_put *p, tmp_slot *slot, int fd, int decision, dv_error *err, dvc_write_result *out)
{
    dvc_output *o = p->o;
    int rc = 0, e = 0;
    *out = DVC_DUPLICATE;
    if (decision == DVC_NAME_FREE) {
        rc = fd >= 0 ? link_fd(o, fd, p->series_fd, p->final) : linkat(p->series_fd, slot->name, p->series_fd, p->final, 0);
        e = errno;
        if (rc == 0) {
            p->remote_named = DVC_NAMED_LINKED;
            *out = DVC_WRITTEN;
            if (fd >= 0)
                atomic_store(&o->unnamed_linked, 1);
        } else if (rc == -1 && e == EEXIST) {
            p->remote_named = DVC_NAMED_PREEXISTED; /* no input of this run named it: never replaced */
        } else if (rc == -1) {
            dv_fail(err, DV_ERR_IO, "naming the output file failed: %s", strerror(e));
            *out = DVC_WRITE_FAILED;
        }
    } else if (decision == DVC_NAME_HIGHER) {
        if (fd >= 0) {
            rc = replace_fd(o, slot, fd, p->series_fd, p->final);
            e = errno;
        } else {
            rc = renameat(p->series_fd, slot->name, p->series_fd, p->final);
            e = errno;
            if (rc == 0)
                atomic_store(&slot->state, SLOT_IDLE);
        }
        if (rc == 0) {
            p->remote_named = DVC_NAMED_REPLACED;
            *out = DVC_WRITTEN;
        } else if (rc == -1) {
            dv_fail(err, DV_ERR_IO, "replacing a duplicate's output file failed: %s", strerror(e));
            *out = DVC_WRITE_FAILED;
        }
    }
    if (p->remote_named != DVC_NAMED_NONE) {
        pthread_mutex_lock(&o->claims->lock);
        if (p->remote_named == DVC_NAMED_PREEXISTED)
            p->claim->preexisted = 1;
        else if (p->claim->linked == DVC_NO_INDEX || p->claim->linked > p->index)
            p->claim->linked = p->index;
        pthread_mutex_unlock(&o->claims->lock);
    }
    return rc == -2 ? 2 : 0;
}

/* ---- the dv_output callbacks (dv_run.h): open once the new UIDs are known, commit, abort ---- */

/* Close what open left; remove a hidden temp name that was not renamed over the final name. */
static void put_cleanup(dvc_put *p)
{
    tmp_slot *slot = &p->o->slots[p->worker];
    if (p->fd >= 0)
        close(p->fd); /* an unnamed O_TMPFILE file vanishes with its last descriptor */
    p->fd = -1;
    if (p->remote_begun) { /* --mpi: what this put did to its name, which unlocks it run-wide */
        p->remote_begun = 0;
        p->o->remote->finish(p->o->remote->user, p->remote_req, p->claim->key, p->index, p->remote_named);
    }
    if (p->named && atomic_load(&slot->state) == SLOT_CREATED)
        unlinkat(p->series_fd, slot->name, 0);
    if (p->named)
        atomic_store(&slot->state, SLOT_IDLE);
    p->named = 0;
    if (p->series_fd >= 0 && p->series_owned) /* else the worker's slot keeps it (series_dir) */
        close(p->series_fd);
    p->series_fd = -1;
    p->series_owned = 0;
}

/* The named-temp fallback: a hidden ".dvtmp-<hex>" in the series directory, held in the worker's slot. */
static int open_named_temp(dvc_put *p, dv_error *err)
{
    tmp_slot *slot = &p->o->slots[p->worker];
    for (int attempt = 0; attempt < 16 && p->fd < 0; attempt++) {
        if (slot_begin(slot, p->series_fd) < 0)
            return dv_fail(err, DV_ERR_IO, "no random bytes for a temp name: %s", strerror(errno));
        p->fd = dv_locked_tmp_open(p->series_fd, slot->name, 1, 0644); /* held until the name is gone */
        int e = errno;
        slot_created(slot, p->fd >= 0);
        if (p->fd < 0 && e != EEXIST)
            return dv_fail(err, DV_ERR_IO, "creating a temp output file failed: %s", strerror(e));
    }
    if (p->fd < 0)
        return dv_fail(err, DV_ERR_IO, "no free temp name in the output directory");
    p->named = 1;
    return 0;
}

static int file_open(void *arg, const dv_result *res, dv_sink *sink, dv_error *err)
{
    dvc_put *p = arg;
    dvc_output *o = p->o;
    p->displaced = DVC_NO_INDEX;
    p->hashed = 0;
    p->claim = NULL;
    p->series_fd = p->fd = -1;
    p->series_owned = 0;
    p->named = 0;
    p->remote_begun = 0;
    p->remote_named = DVC_NAMED_NONE;
    if (res->sop_uid[0] == '\0')
        return dv_fail(err, DV_ERR_INVALID, "the instance has no SOPInstanceUID");
    char study[DVC_COMPONENT_MAX], series[DVC_COMPONENT_MAX], sop[DVC_COMPONENT_MAX];
    char key[3 * DVC_COMPONENT_MAX + 8];
    dvc_uid_component(res->study_uid, sizeof res->study_uid, "_nostudy", study);
    dvc_uid_component(res->series_uid, sizeof res->series_uid, "_noseries", series);
    dvc_uid_component(res->sop_uid, sizeof res->sop_uid, "", sop);
    snprintf(p->final, sizeof p->final, "%s.dcm", sop);
    snprintf(key, sizeof key, "%s/%s/%s", study, series, p->final);

    /* A name a lower index (or an earlier run) already holds: a duplicate, without writing anything. */
    pthread_mutex_lock(&o->claims->lock);
    claim *c = claim_get(o->claims, key);
    int lost = c && claim_lost(c, p->index);
    pthread_mutex_unlock(&o->claims->lock);
    if (!c)
        return dv_fail(err, DV_ERR_NOMEM, "out of memory for the output name table");
    p->claim = c; /* also for a duplicate: the journal records the name it duplicates (dvc_put_name) */
    if (lost)
        return DV_OPEN_DUPLICATE;

    const char *step = NULL;
    p->series_fd = series_dir(o, &o->slots[p->worker], study, series, &step); /* the slot's: not closed here */
    if (p->series_fd < 0)
        return dv_fail(err, DV_ERR_IO, "%s failed: %s", step, strerror(errno));

    if (!atomic_load(&o->tmpfile_unsupported)) {
        /* O_RDWR: --resume reads the complete file back to hash it (hash_output) */
        p->fd = openat(p->series_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
        if (p->fd < 0 && (errno == ENOENT || errno == EPERM)) {
            /* The cached series directory was removed since the last file (someone cleaned DST meanwhile; ext4
             * answers EPERM for a removed directory): made again, as a fresh open would. */
            forget_dirs(&o->slots[p->worker]);
            p->series_fd = series_dir(o, &o->slots[p->worker], study, series, &step);
            if (p->series_fd < 0)
                return dv_fail(err, DV_ERR_IO, "%s failed: %s", step, strerror(errno));
            p->fd = openat(p->series_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
        }
        if (p->fd < 0) {
            if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
                dv_fail(err, DV_ERR_IO, "creating the output file failed: %s", strerror(errno));
                put_cleanup(p);
                return -1;
            }
            atomic_store(&o->tmpfile_unsupported, 1);
        }
    }
    if (p->fd < 0 && open_named_temp(p, err) != 0) {
        put_cleanup(p);
        return -1;
    }
    if (o->remote) { /* asked now, answered while the instance is written (file_commit) */
        p->remote_req = o->remote->begin(o->remote->user, key, p->index);
        p->remote_begun = 1;
    }
    *sink = dvc_sink_fd(&p->fs, p->fd, p->buf, p->cap, o->copy_offload);
    return DV_OPEN_WRITE;
}

/* --resume: SHA-256 of the complete output (read back from the page cache: on a network file system the sink
 * may have copied source bytes with copy_file_range, so they never passed through memory), through the free
 * sink buffer. */
static int hash_output(dvc_put *p)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned mdlen = 0;
    int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;
    off_t off = 0;
    while (ok) {
        ssize_t n = pread(p->fd, p->buf, p->cap, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            ok = n == 0;
            break;
        }
        ok = EVP_DigestUpdate(c, p->buf, (size_t)n) == 1;
        off += n;
    }
    int e = errno;
    ok = ok && EVP_DigestFinal_ex(c, p->hash, &mdlen) == 1 && mdlen == 32;
    EVP_MD_CTX_free(c);
    p->hashed = ok;
    errno = ok ? 0 : e ? e : EIO;
    return ok ? 0 : -1;
}

static int file_commit(void *arg, const dv_result *res, dv_error *err)
{
    (void)res;
    dvc_put *p = arg;
    dvc_output *o = p->o;
    int rc = -1;
    if (dvc_sink_flush(&p->fs) < 0) {
        dv_fail(err, DV_ERR_IO, "writing the output file failed: %s", strerror(errno));
    } else if (o->do_fsync && fsync(p->fd) < 0) {
        dv_fail(err, DV_ERR_IO, "fsync of the output file failed: %s", strerror(errno));
    } else if ((o->journal || o->hash_outputs) && hash_output(p) < 0) {
        dv_fail(err, DV_ERR_IO, "reading back the output file for the journal failed: %s", strerror(errno));
    } else {
        dvc_write_result r = DVC_WRITE_FAILED;
        tmp_slot *slot = &o->slots[p->worker];
        if (o->remote && !p->named && atomic_load(&o->unnamed_linked)) {
            /* --mpi: rank 0's answer has not come yet: a worker of the rank names the complete unnamed file
             * between two inputs once it comes (dvc_put_settle, mpi_rank.c take), and this worker goes on. Counted as written meanwhile; the rank
             * corrects that before its result leaves (mpi_rank.c). */
            dvc_put *later = malloc(sizeof *later);
            if (later) {
                *later = *p;
                /* its own descriptor of the series directory: the worker's slot may close its cached one
                   before the file is named (the settling worker sets later->worker to its own slot) */
                later->series_fd = fcntl(p->series_fd, F_DUPFD_CLOEXEC, 0);
                later->series_owned = 1;
                if (later->series_fd >= 0 && o->remote->defer(o->remote->user, p->remote_req, later)) {
                    p->fd = p->series_fd = -1;
                    p->remote_begun = 0;
                    return DV_COMMIT_WRITTEN;
                }
                if (later->series_fd >= 0)
                    close(later->series_fd);
                free(later);
            }
        }
        int named = o->remote ? name_remote(p, slot, p->named ? -1 : p->fd,
                                            o->remote->decide(o->remote->user, p->remote_req), err, &r)
                              : name_output(o, p->claim, p->index, slot, p->named ? -1 : p->fd, p->series_fd,
                                            p->final, &p->displaced, err, &r);
        if (named == 2) {
            /* This system cannot link an unnamed file: from now on hidden temp names, and this instance is
             * written again that way. */
            atomic_store(&o->tmpfile_unsupported, 1);
            put_cleanup(p);
            return DV_COMMIT_AGAIN;
        }
        if (r == DVC_WRITTEN && o->do_fsync && fsync(p->series_fd) < 0) {
            /* The file is complete and named, but not known to be durable; displaced still holds. */
            dv_fail(err, DV_ERR_IO, "fsync of the output directory failed: %s", strerror(errno));
            r = DVC_WRITE_FAILED;
        }
        rc = r == DVC_WRITTEN ? DV_COMMIT_WRITTEN : r == DVC_DUPLICATE ? DV_COMMIT_DUPLICATE : -1;
    }
    put_cleanup(p);
    return rc;
}

int dvc_put_settle(dvc_put *p, int decision, dv_error *err)
{
    dvc_output *o = p->o;
    dvc_write_result r = DVC_WRITE_FAILED;
    if (name_remote(p, &o->slots[p->worker], p->fd, decision, err, &r) == 2) /* linked once before: unlikely */
        dv_fail(err, DV_ERR_IO, "naming the output file failed: an unnamed file cannot be linked here");
    if (r == DVC_WRITTEN && o->do_fsync && fsync(p->series_fd) < 0) {
        dv_fail(err, DV_ERR_IO, "fsync of the output directory failed: %s", strerror(errno));
        r = DVC_WRITE_FAILED;
    }
    put_cleanup(p);
    return r == DVC_WRITTEN ? 0 : r == DVC_DUPLICATE ? 1 : -1;
}

static void file_abort(void *arg)
{
    put_cleanup(arg);
}

const dv_output dvc_file_output = {file_open, file_commit, file_abort};

void dvc_put_explain(const dvc_put *p, dv_error *err)
{
    /* The library's writer knows only that its sink failed ("copying (7FE0,0010) failed"); the reason is
     * this sink's errno (ENOSPC, EIO, EDQUOT), which names no value or path. */
    if (err->code != DV_ERR_IO || !p->fs.failed)
        return;
    const char *why = strerror(p->fs.failed);
    size_t n = strlen(err->message);
    if (strstr(err->message, why) || n + 2 + strlen(why) >= sizeof err->message)
        return;
    snprintf(err->message + n, sizeof err->message - n, ": %s", why);
}
