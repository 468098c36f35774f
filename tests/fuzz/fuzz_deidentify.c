/* libFuzzer target: the whole de-identification path on hostile input (shares the reader corpus).
 *
 * Once: compile a Basic-profile plan and a fixed key. For every input: read it (small limits), dv_apply the
 * plan (which also clears what its pixel data carries besides pixels, as a run does), write the
 * result to a capped memory sink, re-read the output and check the promises that matter most for a
 * de-identification tool (tests/support/dv_invariants.h, dvi_check_deidentify; abort, so libFuzzer keeps
 * the input):
 *   1. every refusal has an expected class and a message; the de-identified output reads back (unless a
 *      resource limit stops it);
 *   2. no private element (odd group) is left at any nesting level (DECISIONS.md 3);
 *   3. at every nesting level, no X/Z/D attribute of the PS3.15 Basic column keeps a value it had in the input,
 *      and no U-coded UID of the input survives (placeholders and registry UIDs excepted);
 *   4. SOPInstanceUID equals what dv_result reported, and MediaStorageSOPInstanceUID equals it (DECISIONS 6);
 *      PatientIdentityRemoved is YES when anything changed.
 * The unit test tests/unit/test_fuzz_regressions.c replays tests/fuzz/regressions/reader/ through the same
 * check. Set DV_FUZZ_NO_INVARIANTS=1 to check memory safety only. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicomveil/dicomveil.h"
#include "dv_invariants.h"

/* The same config and key as the unit replay (test_fuzz_regressions.c), so a regression replays alike. */
static const char kConfig[] = DVI_FUZZ_DEID_CONFIG;
static const char kKey[] = DVI_FUZZ_DEID_KEY;

static dv_plan *g_plan;
static dv_key *g_key;
static int g_check_invariants = 1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    dv_error err;
    memset(&err, 0, sizeof err);
    g_plan = dv_plan_from_json(kConfig, sizeof kConfig - 1, &err);
    if (g_plan == NULL) {
        fprintf(stderr, "fuzz_deidentify: cannot compile the Basic plan: %s\n", err.message);
        abort();
    }
    g_key = dv_key_new(kKey, sizeof kKey - 1, &err);
    if (g_key == NULL) {
        fprintf(stderr, "fuzz_deidentify: cannot make the key: %s\n", err.message);
        abort();
    }
    const char *e = getenv("DV_FUZZ_NO_INVARIANTS");
    g_check_invariants = !(e != NULL && e[0] == '1');
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dv_limits lim;
    dvi_fuzz_limits(&lim);
    dvi_outcome o;
    if (dvi_check_deidentify(g_plan, g_key, data, size, &lim, DVI_FUZZ_SINK_CAP, &o) != 0 && g_check_invariants) {
        fprintf(stderr, "fuzz_deidentify: invariant violated (%s): %s\n", dvi_stage_name(o.stage), o.violation);
        abort();
    }
    return 0;
}
