/* libFuzzer target: the text stage on hostile instances (issue 6; shares the reader corpus).
 *
 * Once: compile two text plans (DEIDENTIFY_TAG_CONTENTS with a masking default, and Basic + cleanDescriptors)
 * and a key; one text worker, reused across inputs as a run's worker is. For every input: read it (small
 * limits), dv_apply_text with the plan the last byte picks, then call dv_text_detect with the same worker over
 * the input's first bytes (as the pixel classifier does after the walk: the deny-list must still be there),
 * write the result to a capped sink and read it back. Checked (abort): a refusal has an expected class and a
 * message; dv_text_detect's findings are in bounds, non-empty, sorted and disjoint; the output reads back
 * unless a resource limit stopped it. Memory safety by the sanitizers. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicomveil/dicomveil.h"
#include "dv_invariants.h"
#include "engine/dv_plan.h"

static const char kDtc[] = "{\"dicomTagConfig\": {\"profileType\": \"DEIDENTIFY_TAG_CONTENTS\"}, \"text\": "
                           "{\"additionalTransformations\": [{\"infoTypes\": [\"DATE\"], \"dateShiftConfig\": {}}, "
                           "{\"characterMaskConfig\": {}}]}}";
static const char kBasicCd[] = "{\"dicomTagConfig\": {\"options\": {\"cleanDescriptors\": {}}}}";
static const char kKey[] = DVI_FUZZ_DEID_KEY;

static dv_plan *g_plan[2];
static dv_key *g_key;
static dv_text_worker *g_worker;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    dv_error err;
    memset(&err, 0, sizeof err);
    g_plan[0] = dv_plan_from_json(kDtc, sizeof kDtc - 1, &err);
    g_plan[1] = dv_plan_from_json(kBasicCd, sizeof kBasicCd - 1, &err);
    g_key = dv_key_new(kKey, sizeof kKey - 1, &err);
    g_worker = dv_text_worker_new();
    if (!g_plan[0] || !g_plan[1] || !g_key || !g_worker) {
        fprintf(stderr, "fuzz_text_stage: setup failed: %s\n", err.message);
        abort();
    }
    return 0;
}

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_text_stage: invariant violated: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const dv_plan *plan = g_plan[data[size - 1] & 1];
    dv_limits lim;
    dvi_fuzz_limits(&lim);
    dv_error err;
    memset(&err, 0, sizeof err);
    dv_mem_source ms;
    dv_source src = dv_source_memory(&ms, data, size);
    dv_instance *inst = dv_instance_read(&src, &lim, &err);
    if (!inst) {
        if (!dvi_read_class_ok(err.code) || !err.message[0])
            fail("read refused with an unexpected class or no message");
        return 0;
    }
    dv_result res;
    dv_result_init(&res);
    if (dv_apply_text(plan, g_key, inst, &res, g_worker, NULL, NULL, &err) != 0) {
        if (err.code == DV_OK || !err.message[0])
            fail("apply failed without an error");
        dv_instance_free(inst);
        return 0;
    }
    /* after the walk, with the same worker: the instance's deny-list and [CTX] phrases are still usable */
    size_t n = size < 512 ? size : 512;
    dv_findings f = {0};
    memset(&err, 0, sizeof err);
    if (dv_text_detect(g_worker, plan, (const char *)data, n, dv_text_plan_infotypes(plan), &f, &err) == 0) {
        for (size_t i = 0; i < f.n; i++)
            if (f.v[i].start >= f.v[i].end || f.v[i].end > n || f.v[i].type >= DV_IT_COUNT ||
                (i && f.v[i - 1].end > f.v[i].start))
                fail("dv_text_detect findings out of bounds, empty, unsorted or overlapping");
    } else if (err.code != DV_ERR_LIMIT && err.code != DV_ERR_NOMEM) {
        fail("dv_text_detect refused with an unexpected class");
    }
    dv_findings_free(&f);
    dv_mem_sink out;
    memset(&out, 0, sizeof out);
    out.max_len = DVI_FUZZ_SINK_CAP;
    dv_sink sink = dv_sink_memory(&out);
    memset(&err, 0, sizeof err);
    int wrc = dv_instance_write(inst, &sink, &err);
    dv_instance_free(inst);
    if (wrc == 0) {
        dv_mem_source ms2;
        dv_source src2 = dv_source_memory(&ms2, out.data, out.len);
        memset(&err, 0, sizeof err);
        dv_instance *back = dv_instance_read(&src2, &lim, &err);
        if (!back && err.code != DV_ERR_LIMIT)
            fail("the cleaned output does not read back");
        dv_instance_free(back);
    } else if (!dvi_write_class_ok(err.code)) {
        fail("write refused with an unexpected class");
    }
    dv_mem_sink_free(&out);
    return 0;
}
