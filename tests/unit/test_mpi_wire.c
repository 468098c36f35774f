/* deidentify --mpi: the batches ranks exchange are decoded as hostile input (docs/decisions.md "MPI batch mode"):
 * every committed fuzz_mpi_wire seed is accepted (so the fuzzer starts from batches that get past the framing),
 * every committed regression replays, and malformed batches are refused whole (-1, the job is aborted), never
 * read out of bounds. The set-up is the fuzz target's (tests/fuzz/mpi_wire_harness.h); src/cli/mpi_wire.c,
 * mpi_rank.c and mpi_coord.c are compiled into this test (tests/CMakeLists.txt). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../fuzz/mpi_wire_harness.h"
#include "dv_testkit.h"

static dv_plan *g_plan;
static dv_key *g_key;

/* Every file of dir through the harness; its result for each (all must equal want). The count of files. */
static int replay_dir(const char *dir, int want)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.' || strncmp(e->d_name, "README", 6) == 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len = 0;
        uint8_t *buf = dvt_slurp(path, &len); /* whole: a batch over 4 KiB was cut short before */
        assert_non_null(buf);
        int rc = mpi_wire_one(g_plan, g_key, buf, len);
        free(buf);
        if (want != 1 && rc != want)
            fail_msg("%s: %d, want %d", e->d_name, rc, want);
        n++;
    }
    closedir(d);
    return n;
}

static void test_mpi_wire_seeds_accepted(void **s)
{
    (void)s;
    assert_true(replay_dir(DV_SOURCE_DIR "/tests/fuzz/corpus/mpi_wire", 0) >= 8);
    replay_dir(DV_SOURCE_DIR "/tests/fuzz/regressions/mpi_wire", 1); /* any result, no crash (none yet) */
}

static void u32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void test_mpi_wire_malformed_refused(void **s)
{
    (void)s;
    /* up: an ACQUIRE cut inside its name; a name without its NUL; an index never listed; a RELEASE of a name never
     * granted; an unknown record; a RESULT twice for one input */
    uint8_t acq[1 + 1 + 4 + 8 + 4 + 8] = {0, DVM_UP_ACQUIRE};
    u32le(acq + 14, 8); /* 8 name bytes announced */
    memcpy(acq + 18, "a/b.dcm", 7);
    acq[25] = 'x'; /* ... and no NUL among them */
    assert_int_equal(mpi_wire_one(g_plan, g_key, acq, sizeof acq), -1);
    assert_int_equal(mpi_wire_one(g_plan, g_key, acq, sizeof acq - 3), -1);
    acq[25] = '\0';
    assert_int_equal(mpi_wire_one(g_plan, g_key, acq, sizeof acq), 0);
    acq[6] = 200; /* index 200: only 24 inputs were listed */
    assert_int_equal(mpi_wire_one(g_plan, g_key, acq, sizeof acq), -1);
    uint8_t rel[] = {0, DVM_UP_RELEASE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, DVC_NAMED_LINKED};
    assert_int_equal(mpi_wire_one(g_plan, g_key, rel, sizeof rel), -1);
    uint8_t unknown[] = {0, DVM_UP_WANT, 99};
    assert_int_equal(mpi_wire_one(g_plan, g_key, unknown, sizeof unknown), -1);
    uint8_t res[1 + 2 * 23] = {0};
    for (int k = 0; k < 2; k++) {
        uint8_t *r = res + 1 + 23 * k;
        r[0] = DVM_UP_RESULT;
        r[9] = DVC_ST_OK;
    }
    assert_int_equal(mpi_wire_one(g_plan, g_key, res, 1 + 23), 0);
    assert_int_equal(mpi_wire_one(g_plan, g_key, res, sizeof res), -1);
    /* down: a CHUNK over the rank's chunk size; a path that reuses more of the previous one than it has; a GRANT
     * for a request that is not waiting; a CHUNK nobody asked for (the rank asked for DVM_SLOTS) */
    uint8_t big[] = {1, DVM_DOWN_CHUNK, 9, 0, 0, 0};
    assert_int_equal(mpi_wire_one(g_plan, g_key, big, sizeof big), -1);
    uint8_t chunk[1 + 5 + 20 + 2] = {1, DVM_DOWN_CHUNK, 1};
    u32le(chunk + 6 + 12, 0);
    u32le(chunk + 6 + 16, 2);
    chunk[6 + 20] = 'x';
    assert_int_equal(mpi_wire_one(g_plan, g_key, chunk, sizeof chunk), 0);
    u32le(chunk + 6 + 12, 1); /* one byte of a previous path: there is none */
    assert_int_equal(mpi_wire_one(g_plan, g_key, chunk, sizeof chunk), -1);
    uint8_t grant[] = {1, DVM_DOWN_GRANT, 5, 0, 0, 0, DVC_NAME_FREE, 0, 0, 0, 0};
    assert_int_equal(mpi_wire_one(g_plan, g_key, grant, sizeof grant), -1);
    grant[2] = 0; /* request 0 waits */
    assert_int_equal(mpi_wire_one(g_plan, g_key, grant, sizeof grant), 0);
    grant[6] = 7; /* no such decision */
    assert_int_equal(mpi_wire_one(g_plan, g_key, grant, sizeof grant), -1);
    u32le(chunk + 6 + 12, 0);
    uint8_t three[1 + 3 * 27];
    three[0] = 1;
    for (int k = 0; k < 3; k++)
        memcpy(three + 1 + 27 * k, chunk + 1, 27);
    assert_int_equal(mpi_wire_one(g_plan, g_key, three, 1 + 2 * 27), 0);
    assert_int_equal(mpi_wire_one(g_plan, g_key, three, 1 + 3 * 27), -1);
}

int main(void)
{
    mpi_wire_plan_key(&g_plan, &g_key);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mpi_wire_seeds_accepted),
        cmocka_unit_test(test_mpi_wire_malformed_refused),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    dv_key_free(g_key);
    dv_plan_free(g_plan);
    return rc;
}
