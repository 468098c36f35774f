/* Test helper (not installed): the pixel stage over DICOM files with detection replaced by a fixed box, so
 * the corpus integration test (tests/integration/test_pixel_stage_corpus.py) checks the STAGE on real
 * files — decode, paint, output policy, attributes, fail closed — whatever the detector finds.
 *   dv_pixel_run MODE OUTDIR < list-of-paths
 * MODE "none": no box anywhere (the lossless round trip); "box": on every frame the box
 * x = Columns/4, y = Rows/4, w = Columns/3, h = Rows/5 (at least 1x1).
 * Config: KEEP_ALL_PROFILE + options.cleanImage REDACT_ALL_TEXT, so only the stage changes the file.
 * Writes OUTDIR/<n>.dcm and prints one line per input:
 *   "<n> ok <frames> <boxes> <output transfer syntax>" | "<n> fail <error class>" | "<n> skip"
 * (never a value or a path). Exit 0 unless a usage error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicomveil/dicomveil.h"
#include "engine/dv_pixel_stage.h"
#include "dv_testkit.h"

#define CONFIG "{\"dicomTagConfig\": {\"profileType\": \"KEEP_ALL_PROFILE\", \"options\": {\"cleanImage\": " \
               "{\"textRedactionMode\": \"REDACT_ALL_TEXT\"}}}}"

static int find_box(void *user, const dv_frame *f, const dv_gray8 *g, uint32_t frame_index, dv_boxes *out,
                    dv_error *err)
{
    (void)g;
    (void)frame_index;
    if (!*(const int *)user)
        return 0;
    dv_box b = {f->width / 4, f->height / 4, f->width / 3 ? f->width / 3 : 1, f->height / 5 ? f->height / 5 : 1};
    return dv_boxes_add(out, b, err);
}

typedef struct fout {
    const char *path;
    FILE *f;
} fout;

static int f_write(void *ctx, const void *buf, size_t len)
{
    return fwrite(buf, 1, len, ctx) == len ? 0 : -1;
}

static int o_open(void *arg, const dv_result *res, dv_sink *sink, dv_error *err)
{
    (void)res;
    fout *o = arg;
    if (!(o->f = fopen(o->path, "wb")))
        return dv_fail(err, DV_ERR_IO, "cannot create the output");
    sink->ctx = o->f;
    sink->write = f_write;
    sink->copy_from = NULL;
    return DV_OPEN_WRITE;
}

static int o_commit(void *arg, const dv_result *res, dv_error *err)
{
    (void)res;
    fout *o = arg;
    int rc = fclose(o->f);
    o->f = NULL;
    return rc == 0 ? DV_COMMIT_WRITTEN : dv_fail(err, DV_ERR_IO, "close failed");
}

static void o_abort(void *arg)
{
    fout *o = arg;
    if (o->f)
        fclose(o->f);
    o->f = NULL;
    remove(o->path);
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "none") && strcmp(argv[1], "box"))) {
        fprintf(stderr, "usage: dv_pixel_run none|box OUTDIR < paths\n");
        return 2;
    }
    int boxed = strcmp(argv[1], "box") == 0;
    dv_error err = {0};
    dv_plan *plan = dv_plan_from_json(CONFIG, strlen(CONFIG), &err);
    static const uint8_t keyb[32] = "dv_pixel_run fixed test key 32by";
    dv_key *key = dv_key_new(keyb, sizeof keyb, &err);
    dv_run *run = plan && key ? dv_run_new(plan, key, NULL, &err) : NULL;
    if (!run) {
        fprintf(stderr, "setup: %s\n", err.message);
        return 2;
    }
    dv_run_set_pixel_test_hooks(run, find_box, &boxed, 0);
    static const dv_output OUT = {o_open, o_commit, o_abort};
    char line[4096];
    for (unsigned n = 0; fgets(line, sizeof line, stdin); n++) {
        line[strcspn(line, "\n")] = '\0';
        size_t len = 0;
        uint8_t *data = dvt_slurp(line, &len);
        if (!data) {
            printf("%u fail io\n", n);
            continue;
        }
        char path[4200];
        snprintf(path, sizeof path, "%s/%u.dcm", argv[2], n);
        fout o = {path, NULL};
        dv_mem_source ms;
        dv_source src = dv_source_memory(&ms, data, len);
        dv_result res;
        dv_result_init(&res);
        dv_outcome oc = dv_run_instance(run, &src, &OUT, &o, &res, &err);
        if (oc == DV_OUTCOME_OK)
            printf("%u ok %u %u %s\n", n, res.pixel_frames, res.pixel_boxes,
                   res.pixel_stage_ran ? res.pixel_transfer_syntax : "-");
        else if (oc == DV_OUTCOME_SKIPPED)
            printf("%u skip\n", n);
        else
            printf("%u fail %s\n", n, dv_code_name(err.code));
        if (oc == DV_OUTCOME_FAILED)
            fprintf(stderr, "%u: %s\n", n, err.message);
        fflush(stdout);
        free(data);
    }
    dv_run_free(run);
    dv_key_free(key);
    dv_plan_free(plan);
    return 0;
}
