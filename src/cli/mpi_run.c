/* deidentify --mpi: the one file that calls MPI (docs/decisions.md "MPI batch mode", docs/SCALING.md), through
 * the MPI module (src/modules/mpi_module.c, loaded by dvc_mpi_init only: no other command maps Open MPI;
 * docs/decisions.md "Heavy libraries loaded on demand"). [integration.test_cli_mpi]
 *
 *   mpirun -np N dicomveil deidentify --mpi --config CFG --key-file K [--jobs T] [--report R [--resume]] SRC... DST
 *
 * Every rank has checked the arguments, loaded the plan and the key (cmd_deidentify.c) and runs its own worker
 * pool (pool.c) over chunks that rank 0 deals; rank 0 also lists, decides output names and gathers outcomes
 * (mpi_coord.c). With one key every rank makes the same new UIDs and date shifts, and with one table of names
 * on rank 0 the duplicate rule holds across ranks, so DST is byte for byte a single process's. Only rank 0
 * writes the report and the journal; DST must be on a file system every rank sees.
 *
 * The loop (every rank's main thread, MPI_THREAD_FUNNELED): hand the rank's batch to rank 0 (rank 0: to its
 * coordinator directly), receive with MPI_Iprobe, send with MPI_Isend of buffers owned until complete (no
 * send ever blocks, so two ranks sending to each other cannot deadlock), then sleep on the mailbox for one turn
 * (TURN below) unless a worker pokes, instead of spinning in a blocking MPI call on a core the workers need
 * (Open MPI's blocking calls busy-poll). A malformed batch is a bug, not input: MPI_Abort. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_module.h"
#include "cli_mpi.h"
#include "util/dv_grow.h"

#define TAG_UP 1
#define TAG_DOWN 2
#define CHUNK_DEFAULT 512 /* a message pair per 512 inputs; the guided tail (mpi_coord.c) makes the last ones small */
#define CHUNK_MAX 4096
/* The main thread's turn: it sleeps on the rank's mailbox this long unless a worker pokes it (a chunk complete,
 * a worker blocked on a name, the rank's dealt work all taken). On 2 cores every wake-up takes the core from a
 * worker (100 us polling cost a third of a worker's CPU, 1 ms turns still 5-9 % of a core per rank: bench/MPI.md),
 * so the turn is a latency budget, not a poll rate: what nobody waits for moves on the 4 ms turn (name requests
 * and answers: no worker waits for them, mpi_rank.c defers the naming; results; the sender's side of a batch),
 * a 1 ms turn while a rank waits for a chunk it asked for (the refill must come before the chunk ahead is used
 * up) or only FINAL is awaited, and a short turn only while somebody waits: a worker blocked on a name, a rank
 * whose dealt work is all taken (dvm_rank_urgent), rank 0 dealing the tail's small
 * chunks or waiting for the lister (dvm_coord_urgency), a receive half-way (recv_all). Batches stay under the
 * eager limit that the MPI module sets (mpi_module.c: 32 KB; chunks' paths are prefix-compressed, mpi_coord.c),
 * so nearly every batch arrives whole at the receiver's next turn, with no fragments that need both ends'
 * progress. No blocking MPI call during the run: Open MPI's blocking calls busy-poll a core (docs/SCALING.md
 * "Open MPI settings"). [test_cli_mpi.sh "mpi", bench/mpi.sh] */
#define TURN 0.004
#define TURN_TAIL 0.001     /* rank 0 while dealing the tail's small chunks: a rank may run dry within a few ms */
#define TURN_URGENT 0.0001

/* The MPI module's table, set by dvc_mpi_init (one MPI job per process; src/cli may keep process state). */
static const dv_mpi_module *mpi;

int dvc_mpi_init(int *rank, int *size)
{
    *rank = 0;
    *size = 1;
#ifndef DV_WITH_MPI
    dvc_errorf("deidentify: --mpi: this dicomveil was built without MPI (install Open MPI, e.g. Debian's "
               "libopenmpi-dev, and rebuild)");
    return -1;
#else
    char why[512];
    if (!(mpi = dvc_mpi_module(why, sizeof why))) {
        dvc_errorf("deidentify: --mpi: %s", why);
        return -1;
    }
    switch (mpi->init(rank, size)) {
    case DV_MPI_INIT_OK:
        return 0;
    case DV_MPI_INIT_NO_FUNNELED:
        dvc_errorf("deidentify: --mpi: this MPI cannot run worker threads beside MPI (no MPI_THREAD_FUNNELED)");
        break;
    default:
        dvc_errorf("deidentify: --mpi: MPI_Init_thread failed");
        break;
    }
    mpi = NULL;
    return -1;
#endif
}

int dvc_mpi_node_size(void)
{
    return mpi ? mpi->node_size() : 1;
}

int dvc_mpi_agree(int ok)
{
    return mpi ? mpi->allreduce_min(ok) : ok;
}

void dvc_mpi_finalize(void)
{
    if (mpi)
        mpi->finalize();
}

/* Sends in flight, each with the buffer MPI reads from until it completes. */
typedef struct send {
    dv_mpi_handle req;
    uint8_t *buf;
} send;
typedef struct sends {
    send *v;
    size_t n, cap;
} sends;


/* Seal b's bytes (mpi_seal.c) and send them to rank `to`, taking its memory (b is left empty). -1 on ENOMEM. */
static int send_buf(sends *s, dvm_seal *seal, int to, int tag, dvm_buf *b)
{
    if (dv_grow(&s->v, &s->cap, s->n + 1, sizeof *s->v, 16) < 0 || dvm_seal_wrap(seal, b, to, tag) < 0)
        return -1;
    send *e = &s->v[s->n];
    if (mpi->isend(b->p, (int)b->len, to, tag, &e->req) != 0)
        return -1;
    e->buf = b->p;
    s->n++;
    b->p = NULL;
    b->len = b->cap = 0;
    return 0;
}

static void sends_test(sends *s)
{
    for (size_t i = 0; i < s->n;) {
        if (mpi->test(&s->v[i].req)) {
            free(s->v[i].buf);
            s->v[i] = s->v[--s->n];
        } else {
            i++;
        }
    }
}

/* Receives in flight, in arrival order. A batch over Open MPI's eager limit (rare, see TURN) needs the sender's
 * progress to arrive, which it makes only on its own turns, so a blocking MPI_Recv
 * busy-polled for up to a turn per batch (a third of a small-file run's main-thread CPU). So a probed message is
 * received with MPI_Imrecv and tested on later turns; batches of one sender are handled in order (a RELEASE
 * before its RESULT). [test_cli_mpi.sh "mpi"] */
typedef struct recv {
    dv_mpi_handle req;
    uint8_t *buf;
    int n, from;
} recv;
typedef struct recvs {
    recv *v;
    size_t n, cap;
    int tag;
    int *stalled; /* per rank, this turn: an earlier batch of that rank is not complete yet */
} recvs;
typedef struct sink_ctx {
    dvm_coord *coord;
    dvm_rank *rank;
    dvm_seal *seal;
    int refused; /* a batch failed its seal's check: the rank it came from, else -1 */
} sink_ctx;

/* Post a receive for every message waiting from src, then handle, in order per sender, every batch that has
 * arrived. -1 when one was refused or memory ran out. */
static int recv_all(recvs *q, int src, int nranks, sink_ctx *k)
{
    for (;;) {
        int n = 0, from = 0;
        dv_mpi_handle msg;
        if (!mpi->improbe(src, q->tag, &from, &n, &msg))
            break;
        if (dv_grow(&q->v, &q->cap, q->n + 1, sizeof *q->v, 8) < 0)
            return -1;
        recv *r = &q->v[q->n];
        r->buf = malloc(n > 0 ? (size_t)n : 1);
        if (!r->buf)
            return -1;
        r->n = n;
        r->from = from;
        mpi->imrecv(r->buf, n, &msg, &r->req);
        q->n++;
    }
    memset(q->stalled, 0, (size_t)nranks * sizeof *q->stalled);
    size_t keep = 0;
    int rc = 0;
    for (size_t i = 0; i < q->n; i++) {
        recv *r = &q->v[i];
        int done = 0;
        if (!q->stalled[r->from])
            done = mpi->test(&r->req);
        if (!done || rc < 0) {
            q->stalled[r->from] = 1;
            q->v[keep++] = *r;
            continue;
        }
        const uint8_t *plain = NULL;
        size_t plain_n = 0;
        if (dvm_seal_open(k->seal, r->buf, (size_t)r->n, r->from, q->tag, &plain, &plain_n) < 0) {
            k->refused = r->from;
            rc = -1;
        } else {
            rc = q->tag == TAG_UP ? dvm_coord_handle(k->coord, r->from, plain, plain_n)
                                  : dvm_rank_deliver(k->rank, plain, plain_n);
        }
        free(r->buf);
    }
    q->n = keep;
    return rc;
}

/* CPU seconds of the calling thread: rank 0's coordination cost, whatever else runs on the machine. */
static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds of the whole process (every thread, Open MPI's too). */
static double process_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Every rank, after its pool ended: what its threads cost during the run, gathered to rank 0, which prints one
 * line per rank. CPU seconds, not wall time, so bench/mpi.sh gives a figure on a machine shared with other
 * work: process = workers + main (MPI loop, rank 0's coordinator, deferred names) + lister + other (the pool's
 * watcher, Open MPI's own threads). MPI_Gather may poll, but only at the very end, when every rank is there. */
/* The timeline (T_*: dvc_now, one monotonic clock for the ranks of one machine; printed as seconds after rank
 * 0's T_T0) says where a rank's wall time went besides work: its start after rank 0's, the wait for its first
 * chunk, the workers' waits for later chunks, and the tail from its last input to the end of the run. */
enum { CPU_PROCESS, CPU_WORKERS, CPU_MAIN, CPU_LISTER, CPU_TURNS, CPU_SHORT, CPU_REPORT, T_T0, T_FIRST, T_LAST, T_END,
       T_WAITED, CPU_N };
static void report_cpu(int me, int size, const double mine[CPU_N])
{
    double *all = me == 0 ? calloc((size_t)size * CPU_N, sizeof *all) : NULL;
    mpi->gather_doubles(mine, CPU_N, all);
    for (int r = 0; all && r < size; r++) {
        const double *c = all + (size_t)r * CPU_N, t0 = all[T_T0];
        fprintf(stderr,
                "dicomveil: mpi: rank %d CPU seconds during the run: process %.3f = workers %.3f + main %.3f + "
                "lister %.3f + other %.3f; main thread turns %.0f (%.0f short), report %.4f of main; timeline (s after "
                "rank 0's start): "
                "start %.4f, first chunk %.4f, last input done %.4f, end %.4f; workers waited %.4f s for chunks\n",
                r, c[CPU_PROCESS], c[CPU_WORKERS], c[CPU_MAIN], c[CPU_LISTER],
                c[CPU_PROCESS] - c[CPU_WORKERS] - c[CPU_MAIN] - c[CPU_LISTER], c[CPU_TURNS], c[CPU_SHORT], c[CPU_REPORT],
                c[T_T0] - t0, c[T_FIRST] > 0 ? c[T_FIRST] - t0 : 0, c[T_LAST] > 0 ? c[T_LAST] - t0 : 0,
                c[T_END] - t0, c[T_WAITED]);
    }
    free(all);
}

static void *pool_main(void *arg)
{
    dvc_run *run = arg;
    if (dvc_pool_run(run) < 0)
        dvc_errorf("cannot start worker threads: %s", strerror(errno));
    return NULL;
}

/* DICOMVEIL_MPI_CHUNK: the test's small chunks (so a killed rank provably loses only its own) and bench. A value
 * that is not a whole number from 1 to CHUNK_MAX is refused, as a bad option is (unset or empty: the default). */
static int chunk_size(size_t *out)
{
    const char *s = getenv("DICOMVEIL_MPI_CHUNK");
    *out = CHUNK_DEFAULT;
    if (s == NULL || *s == '\0')
        return 0;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s < '0' || *s > '9' || errno || *end || v < 1 || v > CHUNK_MAX)
        return -1;
    *out = (size_t)v;
    return 0;
}

static int journal_exists(const char *report)
{
    char *p = dvc_journal_path(report);
    if (!p)
        return 0;
    int e = access(p, F_OK) == 0;
    free(p);
    return e;
}

/* Rank 0: listing, and the journal restored from the whole list (--resume over an existing journal) before any
 * input is dealt. 0, or -1 after printing why. */
static int rank0_start(const dvm_args *a, dvm_coord *coord, dv_run *tally, dvc_output *out)
{
    int resuming = a->journal && journal_exists(a->report);
    if (dvm_coord_list(coord, a->srcv, a->nsrc) < 0) {
        dvc_errorf("cannot start the listing thread: %s", strerror(errno));
        return -1;
    }
    if (!a->journal)
        return 0;
    if (resuming && dvm_coord_list_wait(coord) < 0) {
        dvc_errorf("out of memory while listing the sources");
        return -1;
    }
    size_t n = 0;
    dvc_item *items = dvm_coord_items(coord, &n);
    dvc_run rr = {.lib = tally, .plan = a->plan, .out = out, .items = items, .n = resuming ? n : 0};
    size_t restored = dvc_journal_restore(a->journal, &rr);
    if (restored == (size_t)-1)
        return -1;
    if (resuming)
        dvc_errorf("resume: %zu of %zu inputs restored from the journal", restored, n);
    else /* one process says "0 of N"; here the listing goes on while inputs are dealt, so N is not known yet */
        dvc_errorf("resume: 0 inputs restored (no journal from an earlier attempt)");
    return 0;
}

/* Rank 0, once everything is gathered: the report and the summary. The run's exit code. */
static int rank0_finish(const dvm_args *a, dvm_coord *coord, dv_run *tally, dvc_progress *bar, double elapsed,
                        int nranks, double coord_seconds, int dst_fd)
{
    dvc_progress_stop(bar);
    int rc = dv_run_count(tally, DV_OUTCOME_FAILED) ? DVC_EXIT_FAILED : DVC_EXIT_OK;
    size_t n = 0;
    dvc_item *items = dvm_coord_items(coord, &n);
    dvc_run rep = {.lib = tally, .plan = a->plan, .items = items, .n = n};
    if (a->journal) {
        /* Every rank has reported every input, so none names a file any more: rank 0, which holds the names and
         * the journal, removes on the shared DST what earlier attempts wrote for inputs no longer ok, as one
         * process does (cmd_deidentify.c; docs/decisions.md "Withdrawn inputs"). */
        size_t not_removed = 0;
        rep.stale_removed = dvc_journal_sweep(a->journal, dst_fd, dvm_coord_stale, coord, &not_removed);
        if (not_removed)
            rc = DVC_EXIT_FAILED;
    } else {
        dvc_output_note_temps(dst_fd);
    }
    if (a->report && dvc_report_write(a->report, &rep, elapsed) < 0)
        rc = DVC_EXIT_FAILED;
    dvc_warn_burned_in(&rep); /* before the summary, as in one process */
    dvc_summary(bar, tally, elapsed);
    /* One write (dvc_vline's reason); the per-rank counts are cut where the line would exceed the buffer. */
    char dealt[3000];
    size_t at = 0;
    for (int r = 0; r < nranks && at < sizeof dealt - 24; r++)
        at += (size_t)snprintf(dealt + at, sizeof dealt - at, " %zu", dvm_coord_dealt(coord, r));
    dealt[at] = '\0';
    fprintf(stderr,
            "dicomveil: mpi: %d ranks x %u threads; %zu inputs listed in %.3fs (streamed, %.3fs CPU); rank 0 "
            "coordinated for %.3fs CPU; rank 0's pixel memory %llu MiB; inputs dealt per rank:%s\n",
            nranks, a->jobs, n, dvm_coord_list_seconds(coord), dvm_coord_list_cpu(coord), coord_seconds,
            /* the default is shared among a node's ranks (cmd_deidentify.c): said so that it can be checked */
            (unsigned long long)(a->limits->pixel_budget ? dv_pixel_budget_total(a->limits->pixel_budget) >> 20
                                                           : 0),
            dealt);
    return rc;
}

int dvc_mpi_deidentify(const dvm_args *a)
{
    if (!mpi) /* dvc_mpi_init failed: cmd_deidentify.c does not get here */
        return DVC_EXIT_FAILED;
    int me = mpi->rank(), size = mpi->size();
    size_t chunk_max;
    int chunk_ok = chunk_size(&chunk_max) == 0;
    if (!chunk_ok && me == 0)
        dvc_errorf("DICOMVEIL_MPI_CHUNK: expected a whole number from 1 to %d (inputs dealt per message)", CHUNK_MAX);
    if (!dvc_mpi_agree(chunk_ok))
        return DVC_EXIT_USAGE;
    dvc_output out = {.dst_fd = -1};
    int ok = dvc_mkdir_p(a->dst, 0755) == 0 && 
             dvc_output_init(&out, a->dst, a->jobs ? a->jobs : 1, a->do_fsync) == 0;
    if (!ok)
        dvc_errorf("cannot create the destination: %s", strerror(errno));
    if (!dvc_mpi_agree(ok)) {
        dvc_output_close(&out);
        return DVC_EXIT_FAILED;
    }
    out.hash_outputs = a->resume; /* rank 0 journals every output's hash */

    dv_run *tally = NULL;
    dvm_coord *coord = NULL;
    dvc_progress bar, quiet;
    dvc_progress_start(&quiet, 0, 0); /* a rank's own lines (failed instances); rank 0 draws the bar */
    dvc_progress_start(&bar, me == 0 && !a->quiet && isatty(STDERR_FILENO), 0);
    if (me == 0) {
        dv_error err;
        dv_error_clear(&err);
        tally = dv_run_new(a->plan, a->key, a->limits, &err);
        coord = tally ? dvm_coord_new(size, chunk_max, tally, a->journal, out.dst_fd, &bar) : NULL;
    }
    dvc_run run = {.lib = a->lib, .plan = a->plan, .out = &out, .progress = &quiet, .jobs = a->jobs};
    pthread_mutex_init(&run.status_lock, NULL);
    dvm_rank *rk = dvm_rank_new(&run, chunk_max, DVM_STORE, coord);
    dvm_seal *seal = dvm_seal_new(a->key, me, size);
    ok = rk && seal && (me != 0 || coord);
    if (!ok)
        dvc_errorf("out of memory");
    double t0 = dvc_now(), cpu0 = process_cpu(), main0 = thread_cpu();
    if (ok && me == 0 && rank0_start(a, coord, tally, &out) < 0)
        ok = 0;
    int rc = DVC_EXIT_FAILED;
    pthread_t pool;
    int pool_started = 0;
    if (dvc_mpi_agree(ok)) {
        /* Workers block the cleanup signals (output.c): they are handled on this thread. */
        sigset_t block, old;
        dvc_cleanup_signals(&block);
        pthread_sigmask(SIG_BLOCK, &block, &old);
        pool_started = pthread_create(&pool, NULL, pool_main, &run) == 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (!pool_started) {
            dvc_errorf("cannot start the worker pool: %s", strerror(errno));
            mpi->abort(DVC_EXIT_FAILED);
        }
        sends s = {0};
        dvm_buf up = {0};
        sink_ctx k = {coord, rk, seal, -1};
        recvs rq = {.tag = me == 0 ? TAG_UP : TAG_DOWN, .stalled = calloc((size_t)size, sizeof(int))};
        int final_sent = 0, broken = !rq.stalled;
        double coord_seconds = 0, turns = 0, short_turns = 0, report_seconds = 0;
        while (!broken) {
            turns++;
            dvm_rank_collect(rk, &up);
            broken |= up.oom;
            /* rank 0's coordinator: one CPU-clock pair per turn (each read is a system call, not vDSO) */
            double c0 = me == 0 ? thread_cpu() : 0;
            if (up.len && me == 0) {
                broken |= dvm_coord_handle(coord, 0, up.p, up.len) < 0;
                up.len = 0;
            } else if (up.len) {
                broken |= send_buf(&s, seal, 0, TAG_UP, &up) < 0;
            }
            if (me == 0) {
                broken |= recv_all(&rq, DV_MPI_ANY_SOURCE, size, &k) < 0;
                broken |= dvm_coord_step(coord) < 0;
                coord_seconds += thread_cpu() - c0;
                if (!final_sent && !broken && dvm_coord_finished(coord)) {
                    /* the report's CPU apart: it is written once the work is done, off the workers' time (jansson:
                     * most of rank 0's main-thread CPU in a short run, bench/MPI.md) */
                    double r0 = thread_cpu();
                    rc = rank0_finish(a, coord, tally, &bar, dvc_now() - t0, size, coord_seconds, out.dst_fd);
                    report_seconds = thread_cpu() - r0;
                    for (int r = 0; r < size; r++) {
                        dvm_u8(dvm_coord_out(coord, r), DVM_DOWN_FINAL);
                        dvm_u32(dvm_coord_out(coord, r), (uint32_t)rc);
                    }
                    final_sent = 1;
                }
                for (int r = 0; r < size && !broken; r++) {
                    dvm_buf *b = dvm_coord_out(coord, r);
                    broken |= b->oom;
                    if (b->len && r == 0) {
                        broken |= dvm_rank_deliver(rk, b->p, b->len) < 0;
                        b->len = 0;
                    } else if (b->len) {
                        broken |= send_buf(&s, seal, r, TAG_DOWN, b) < 0;
                    }
                }
                dvc_progress_update(&bar, tally);
            } else {
                broken |= recv_all(&rq, 0, size, &k) < 0;
            }
            sends_test(&s);
            int frc = 0;
            if (dvm_rank_final(rk, &frc) && s.n == 0) {
                rc = frc;
                break;
            }
            int coord_urgency = me == 0 ? dvm_coord_urgency(coord) : 0;
            int rank_urgency = dvm_rank_urgent(rk);
            double turn = rank_urgency > 1 || rq.n || coord_urgency > 1 ? TURN_URGENT
                          : coord_urgency || rank_urgency ? TURN_TAIL : TURN;
            short_turns += turn < TURN;
            dvm_rank_wait(rk, turn);
        }
        if (broken && k.refused >= 0) {
            dvc_errorf("mpi: a batch from rank %d failed its check (was that rank given another --key-file?); "
                       "aborting the job", k.refused);
            mpi->abort(DVC_EXIT_FAILED);
        } else if (broken) {
            dvc_errorf("mpi: a message between ranks was malformed or memory ran out; aborting the job");
            mpi->abort(DVC_EXIT_FAILED);
        }
        double t_end = dvc_now(), t_first = 0, t_last = 0, waited = 0;
        pthread_join(pool, NULL);
        dvm_rank_timeline(rk, &t_first, &t_last, &waited);
        double cpu[CPU_N] = {[T_T0] = t0, [T_FIRST] = t_first, [T_LAST] = t_last, [T_END] = t_end,
                             [T_WAITED] = waited, [CPU_PROCESS] = process_cpu() - cpu0,
                             [CPU_WORKERS] = (double)atomic_load(&run.worker_cpu_ns) / 1e9,
                             [CPU_MAIN] = thread_cpu() - main0,
                             [CPU_LISTER] = me == 0 ? dvm_coord_list_cpu(coord) : 0,
                             [CPU_TURNS] = turns,
                             [CPU_SHORT] = short_turns,
                             [CPU_REPORT] = report_seconds};
        report_cpu(me, size, cpu);
        dvm_buf_free(&up);
        free(s.v);
        for (size_t i = 0; i < rq.n; i++) /* none after FINAL: nothing is sent to a rank after it */
            free(rq.v[i].buf);
        free(rq.v);
        free(rq.stalled);
    }
    dvm_rank_free(rk);
    dvm_seal_free(seal);
    dvm_coord_free(coord);
    dv_run_free(tally);
    dvc_progress_destroy(&bar);
    dvc_progress_destroy(&quiet);
    pthread_mutex_destroy(&run.status_lock);
    dvc_output_close(&out);
    return rc;
}
