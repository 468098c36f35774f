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
 * The three MPI files are compiled into this target (tests/fuzz/CMakeLists.txt); the set-up and the stubs are
 * tests/fuzz/mpi_wire_harness.h, shared with the unit replay tests/unit/test_mpi_wire.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_wire_harness.h"

static dv_plan *g_plan;
static dv_key *g_key;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    mpi_wire_plan_key(&g_plan, &g_key);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int rc = mpi_wire_one(g_plan, g_key, data, size);
    if (rc != 0 && rc != -1)
        fuzz_fail("a decoder returned neither 0 nor -1");
    return 0;
}
