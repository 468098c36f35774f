/* The set-up shared by fuzz_mpi_wire (tests/fuzz/fuzz_mpi_wire.c) and its unit replay (tests/unit/test_mpi_wire.c):
 * one home, included by both (static functions: each is one executable). It drives the MPI batches' decoders
 * themselves (src/cli/mpi_coord.c dvm_coord_handle, src/cli/mpi_rank.c dvm_rank_deliver), which the including
 * target compiles in with src/cli/mpi_wire.c; the few CLI functions they call besides are stubbed here: the
 * listing (a fixed list of 24 names), the clock, and the journal and the deferred naming, which this set-up
 * never reaches (no journal, no worker). A broken invariant aborts. */
#ifndef DV_MPI_WIRE_HARNESS_H
#define DV_MPI_WIRE_HARNESS_H

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

static void fuzz_fail(const char *what)
{
    fprintf(stderr, "mpi_wire_harness: invariant violated: %s\n", what);
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
                      const char *name, const unsigned char *hash, const uint32_t *findings, const dvc_pixels *px)
{
    (void)j, (void)index, (void)path, (void)st, (void)dup, (void)name, (void)hash, (void)findings, (void)px;
    fuzz_fail("dvc_journal_done reached without a journal");
}

/* ---- the two sides ---- */

/* An up batch from rank 1 into a coordinator that dealt rank 1 its first two chunks: dvm_coord_handle's result. */
static int up_batch(const dv_plan *plan, const dv_key *key, const uint8_t *data, size_t size)
{
    dv_error err;
    memset(&err, 0, sizeof err);
    dv_run *tally = dv_run_new(plan, key, NULL, &err);
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
    return rc;
}

/* A down batch into a rank that asked for its chunks and has name requests 0 and 1 waiting: dvm_rank_deliver's
 * result. */
static int down_batch(const uint8_t *data, size_t size)
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
    return rc;
}

/* The Basic profile's plan and a fixed key, for the coordinator's counters. */
static void mpi_wire_plan_key(dv_plan **plan, dv_key **key)
{
    static const char config[] = "{\"dicomTagConfig\":{\"profileType\":\"ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE\"}}";
    static const char k[] = "0123456789abcdef0123456789abcdef";
    dv_error err;
    memset(&err, 0, sizeof err);
    *plan = dv_plan_from_json(config, sizeof config - 1, &err);
    *key = *plan ? dv_key_new(k, sizeof k - 1, &err) : NULL;
    if (!*key)
        fuzz_fail("cannot make the plan and the key");
}

/* The first byte picks the side (even: up, odd: down), the rest is the batch. */
static int mpi_wire_one(const dv_plan *plan, const dv_key *key, const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    return data[0] & 1 ? down_batch(data + 1, size - 1) : up_batch(plan, key, data + 1, size - 1);
}

#endif
