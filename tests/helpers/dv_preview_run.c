/* Test helper (not installed): the CLI's --preview writer (src/cli/preview.c, compiled in with the CLI files
 * it uses: tests/CMakeLists.txt) on the pixel stage with detection replaced by a fixed box per frame (the
 * dv_run_set_pixel_test_hooks of dv_pixel_stage.h), so integration.test_cli_preview checks the pictures on
 * real files whatever the detector finds.
 *   dv_preview_run PREVIEWDIR FILE...
 * Config: options.cleanImage REDACT_ALL_TEXT (default profile: new UIDs). The box on every frame is
 * x = Columns/4, y = Rows/4, w = Columns/3, h = Rows/5 (at least 1x1). PREVIEWDIR is created (0700) as the
 * CLI does. Prints one line per input "<n> ok|fail|skip <new SOPInstanceUID or error class>", then
 * "pictured <written> failed <failed>". Exit 0 unless a usage or setup error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/dv_pixel_stage.h"
#include "dv_testkit.h"

#define CONFIG "{\"dicomTagConfig\": {\"options\": {\"cleanImage\": {\"textRedactionMode\": \"REDACT_ALL_TEXT\"}}}}"

static int find_box(void *user, const dv_frame *f, const dv_gray8 *g, uint32_t frame_index, dv_boxes *out,
                    dv_error *err)
{
    (void)user;
    (void)g;
    (void)frame_index;
    dv_box b = {f->width / 4, f->height / 4, f->width / 3 ? f->width / 3 : 1, f->height / 5 ? f->height / 5 : 1};
    return dv_boxes_add(out, b, err);
}

static int null_write(void *ctx, const void *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    (void)len;
    return 0;
}
static int o_open(void *arg, const dv_result *res, dv_sink *sink, dv_error *err)
{
    (void)arg;
    (void)res;
    (void)err;
    sink->ctx = NULL;
    sink->write = null_write;
    sink->copy_from = NULL;
    return DV_OPEN_WRITE;
}
static int o_commit(void *arg, const dv_result *res, dv_error *err)
{
    (void)arg;
    (void)res;
    (void)err;
    return DV_COMMIT_WRITTEN;
}
static void o_abort(void *arg)
{
    (void)arg;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: dv_preview_run PREVIEWDIR FILE...\n");
        return 2;
    }
    dv_error err = {0};
    dv_plan *plan = dv_plan_from_json(CONFIG, strlen(CONFIG), &err);
    static const uint8_t keyb[32] = "dv_preview_run fixed test key 32";
    dv_key *key = dv_key_new(keyb, sizeof keyb, &err);
    dv_run *run = plan && key ? dv_run_new(plan, key, NULL, &err) : NULL;
    if (!run || dvc_mkdir_p(argv[1], 0700) < 0) {
        fprintf(stderr, "setup: %s\n", err.message);
        return 2;
    }
    dv_run_set_pixel_test_hooks(run, find_box, NULL, 0);
    dvc_progress progress;
    dvc_progress_start(&progress, 0, (size_t)(argc - 2));
    dvc_preview pv = {.dir = argv[1], .progress = &progress, .dirfd = -1};
    if (dvc_preview_open(&pv) < 0)
        return 2;
    dv_run_set_frame_observer(run, dvc_preview_observe, &pv);
    static const dv_output OUT = {o_open, o_commit, o_abort};
    for (int n = 2; n < argc; n++) {
        size_t got = 0;
        uint8_t *data = dvt_slurp(argv[n], &got);
        if (!data) {
            printf("%d fail io\n", n - 2);
            continue;
        }
        dv_mem_source ms;
        dv_source src = dv_source_memory(&ms, data, got);
        dv_result res;
        dv_result_init(&res);
        dvc_preview_stage stage = {0};
        dvc_put put = {.preview = &stage}; /* only the observer's way to the stage: OUT ignores its arg */
        dv_outcome oc = dv_run_instance(run, &src, &OUT, &put, &res, &err);
        pthread_mutex_lock(&pv.lock);
        dvc_preview_settle(&pv, &stage, oc == DV_OUTCOME_OK, 0); /* what pool.c does, no duplicates here */
        pthread_mutex_unlock(&pv.lock);
        if (oc == DV_OUTCOME_OK)
            printf("%d ok %s\n", n - 2, res.sop_uid);
        else
            printf("%d %s %s\n", n - 2, oc == DV_OUTCOME_SKIPPED ? "skip" : "fail", dv_code_name(err.code));
        free(data);
    }
    printf("pictured %zu failed %zu\n", atomic_load(&pv.written), atomic_load(&pv.failed));
    dvc_progress_destroy(&progress);
    dvc_preview_close(&pv);
    dv_run_free(run);
    dv_key_free(key);
    dv_plan_free(plan);
    return 0;
}
