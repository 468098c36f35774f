/* libFuzzer target: the decoding of the batches MPI ranks exchange (deidentify --mpi, src/cli/mpi_wire.c's
 * records as src/cli/mpi_coord.c and src/cli/mpi_rank.c read them; docs/decisions.md "MPI batch mode").
 *
 * A batch is the bytes another rank sent: a broken or hostile rank (or a bug) must get a refusal (-1, the job is
 * aborted), never an out-of-bounds read, a crash, a leak or a hang. The first input byte picks the side:
 *   even: an up batch (WANT, ACQUIRE, RELEASE, RESULT, DONE) into rank 0's coordinator, from rank 1, after rank 1
 *         was dealt two chunks of 24 listed inputs (so RESULT and ACQUIRE name inputs that exist);
 *   odd:  a down batch (CHUNK, END, GRANT, FINAL) into a rank that asked for its chunks and has two name requests
 *         waiting (so GRANT can name them).
 * Checks besides the sanitizers: a refused batch returns -1; an accepted CHUNK leaves every path NUL-terminated;
 * the coordinator's counters stay consistent (never finished while a dealt input is unreported).
 *
 * The three MPI files are compiled into this target (tests/fuzz/CMakeLists.txt); the few CLI functions they call
 * besides are stubbed here: the listing (a fixed list of 24 names), the clock, and the journal and the deferred
 * naming, which this set-up never reaches (no journal, no worker). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli_mpi.h"
#include "dicomveil/dicomveil.h"

#define N_INPUTS 24
#define CHUNK 8

static dv_plan *g_plan;
static dv_key *g_key;

static void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_mpi_wire: invariant violated: %s\n", what);
    abort();
}

/* ---- stubs of the CLI functions the MPI files call ---- */
double dvc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void dvc_progress_log(dvc_progress *p, const char *fmt, ...)
{
    (void)p;
    (void)fmt;
}

int dvc_walk(const char *root, dvc_inputs *out)
{
    (void)root;
    for (int i = 0; i < N_INPUTS; i++) {
        char *path = malloc(32);
        if (!path)
            return -1;
        snprintf(path, 32, "src/d%d/f%03d.dcm", i / 10, i);
        if (out->emit(out->emit_user, path, 0) < 0) {
            free(path);
            return -1;
        }
    }
    return 0;
}

int dvc_put_settle(dvc_put *p, int decision, dv_error *err)
{
    (void)p;
    (void)decision;
    (void)err;
    fuzz_fail("dvc_put_settle reached (no worker defers a name here)");
    return -1;
}

void dvc_journal_claim(dvc_journal *j, size_t index, const char *name)
{
    (void)j;
    (void)index;
    (void)name;
    fuzz_fail("dvc_journal_claim reached without a journal");
}

void dvc_journal_done(dvc_journal *j, size_t index, const char *path, const struct stat *st, int dup,
                      const char *name, const unsigned char *hash, const uint32_t *findings)
{
    (void)j, (void)index, (void)path, (void)st, (void)dup, (void)name, (void)hash, (void)findings;
    fuzz_fail("dvc_journal_done reached without a journal");
}

/* ---- the two sides ---- */

static void up_batch(const uint8_t *data, size_t size)
{
    dv_error err;
    memset(&err, 0, sizeof err);
    dv_run *tally = dv_run_new(g_plan, g_key, NULL, &err);
    dvm_coord *c = tally ? dvm_coord_new(2, CHUNK, tally, NULL, -1, NULL) : NULL;
    char *srcv[] = {"src"};
    if (!c || dvm_coord_list(c, srcv, 1) < 0 || dvm_coord_list_wait(c) < 0)
        fuzz_fail("cannot set up the coordinator");
    static const uint8_t wants[] = {DVM_UP_WANT, DVM_UP_WANT};
    if (dvm_coord_handle(c, 1, wants, sizeof wants) < 0 || dvm_coord_step(c) < 0)
        fuzz_fail("two wants were refused");
    size_t n = 0;
    dvm_coord_items(c, &n);
    if (n != N_INPUTS || dvm_coord_dealt(c, 1) == 0)
        fuzz_fail("the listed inputs were not dealt");
    int rc = dvm_coord_handle(c, 1, data, size);
    if (rc != 0 && rc != -1)
        fuzz_fail("dvm_coord_handle returned neither 0 nor -1");
    if (rc == 0 && dvm_coord_step(c) < 0)
        fuzz_fail("dealing failed after an accepted batch");
    if (dvm_coord_finished(c))
        fuzz_fail("finished while inputs were never dealt"); /* 24 listed, at most 16 dealt */
    dvm_coord_free(c);
    dv_run_free(tally);
}

static void down_batch(const uint8_t *data, size_t size)
{
    dvc_output out;
    memset(&out, 0, sizeof out);
    out.dst_fd = -1;
    dvc_run run;
    memset(&run, 0, sizeof run);
    run.out = &out;
    run.jobs = 1;
    dvm_rank *r = dvm_rank_new(&run, CHUNK, DVM_STORE, NULL);
    if (!r)
        fuzz_fail("cannot set up the rank");
    dvm_buf up = {0};
    dvm_rank_collect(r, &up); /* asks for its chunk slots */
    if (up.len == 0 || up.p[0] != DVM_UP_WANT)
        fuzz_fail("a new rank did not ask for a chunk");
    dvm_buf_free(&up);
    out.remote->begin(out.remote->user, "a/b.dcm", 0); /* request ids 0 and 1 wait for a GRANT */
    out.remote->begin(out.remote->user, "a/c.dcm", 1);
    int rc = dvm_rank_deliver(r, data, size);
    if (rc != 0 && rc != -1)
        fuzz_fail("dvm_rank_deliver returned neither 0 nor -1");
    for (size_t i = 0; rc == 0 && i < run.n; i++)
        if (run.items[i].path && strlen(run.items[i].path) > size)
            fuzz_fail("a delivered path is longer than its batch"); /* the prefix is the previous path's */
    int frc = 0;
    (void)dvm_rank_final(r, &frc);
    dvm_rank_free(r);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const char config[] = "{\"dicomTagConfig\":{\"profileType\":\"ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE\"}}";
    static const char key[] = "0123456789abcdef0123456789abcdef";
    dv_error err;
    memset(&err, 0, sizeof err);
    g_plan = dv_plan_from_json(config, sizeof config - 1, &err);
    g_key = g_plan ? dv_key_new(key, sizeof key - 1, &err) : NULL;
    if (!g_key)
        fuzz_fail("cannot make the plan and the key");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        down_batch(data + 1, size - 1);
    else
        up_batch(data + 1, size - 1);
    return 0;
}
