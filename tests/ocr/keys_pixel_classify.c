/* Score recognition + the sensitive-box decision on the answer keys of tools/gen_burned_in.py (issue 11
 * item 3; bench/pixel_classify.sh). Every key box (the drawn line, padded 3 px, on its first frame) is read
 * with dv_ocr_read and decided with dv_pixel_classify under REDACT_SENSITIVE_TEXT, with the instance's own
 * deny-list (the generator's header holds SYNTHETIC^BURNEDIN / SYN0001, not the burned-in values: this is
 * the no-deny-list case). Isolates recognition + decision from detection (score_textdetect scores that).
 *
 *   keys_pixel_classify DIR...
 *
 * Prints PHI recall, non-PHI intact and CPU ms per box. (The generator marks a sector label PHI only when it
 * is the patient's name: RT KIDNEY / LIVER LONG / GB are not.) Not a ctest; score_textdetect --mode
 * sensitive scores the same decision on the DETECTED boxes, end to end. */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/dv_config_ir.h"
#include "dicomveil/dicomveil.h"
#include "dicomveil/dv_frames.h"
#include "engine/dv_pixel_classify.h"
#include "engine/dv_plan.h"
#include "image/dv_redact.h"
#include "dv_testkit.h"

static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

typedef struct tally {
    unsigned phi, phi_hit, non, non_kept, errors, boxes;
    double ms;
} tally;

typedef struct ctx {
    dv_plan *plan;
    dv_pixel_policy pol;
    dv_key *key;
    dv_ocr *ocr;
    dv_text_worker *tw;
    dv_pixclass *pc;
    int verbose;
} ctx;

static void score_file(ctx *c, const char *dcm, json_t *key, tally *t)
{
    size_t flen = 0;
    uint8_t *file = dvt_slurp(dcm, &flen);
    dv_error err = {0};
    dv_mem_source ms;
    dv_source src = dv_source_memory(&ms, file, flen);
    dv_instance *inst = file ? dv_instance_read(&src, NULL, &err) : NULL;
    dv_image_ctx *ictx = dv_image_ctx_new(NULL);
    dv_frames *frames = NULL;
    dv_pixel_attrs pa;
    dv_palette pal = {0};
    dv_gray8 g = {0};
    uint8_t *pix = NULL;
    uint32_t decoded = UINT32_MAX;
    if (!inst || !ictx || dv_pixel_attrs_read(inst, NULL, &pa, &err) ||
        dv_text_begin_instance(c->tw, c->plan, c->key, inst, &err))
        goto fail;
    dv_ts_family fam = dv_ts_family_of(dv_instance_transfer_syntax(inst));
    size_t cap = dv_image_frame_capacity(&pa, fam, NULL, &err);
    if (!cap || (dv_ts_family_encapsulated(fam) && !(frames = dv_frames_index(inst, &err))) ||
        !(pix = malloc(cap)))
        goto fail;
    json_t *boxes = json_object_get(key, "boxes");
    for (size_t i = 0; i < json_array_size(boxes); i++) {
        json_t *b = json_array_get(boxes, i);
        uint32_t fr = (uint32_t)json_integer_value(json_array_get(json_object_get(b, "frames"), 0));
        if (fr != decoded) {
            dv_frame f = {.data = pix, .cap = cap};
            if (dv_image_decode_instance_frame(ictx, inst, frames, &pa, fr, &f, &err) ||
                dv_gray8_from_frame(&f, NULL, &g, &err))
                goto fail;
            decoded = fr;
        }
        int64_t x = json_integer_value(json_object_get(b, "x")), y = json_integer_value(json_object_get(b, "y"));
        int64_t w = json_integer_value(json_object_get(b, "w")), h = json_integer_value(json_object_get(b, "h"));
        const char *text = json_string_value(json_object_get(b, "text"));
        int phi = json_is_true(json_object_get(b, "phi"));
        int64_t x0 = x - 3 < 0 ? 0 : x - 3, y0 = y - 3 < 0 ? 0 : y - 3;
        int64_t x1 = x + w + 3 > g.width ? g.width : x + w + 3, y1 = y + h + 3 > g.height ? g.height : y + h + 3;
        if (x1 <= x0 || y1 <= y0)
            continue;
        dv_box box = {(uint32_t)x0, (uint32_t)y0, (uint32_t)(x1 - x0), (uint32_t)(y1 - y0)};
        double t0 = cpu_ms();
        char *read;
        size_t rl;
        dv_pixel_verdict v;
        dv_infotype why;
        if (dv_ocr_read(c->ocr, &g, &box, 0, &read, &rl, &err) ||
            dv_pixel_classify(c->pc, &c->pol, c->tw, c->plan, read, rl, dv_ocr_last_confidence(c->ocr), &v, &why,
                              &err))
            goto fail;
        t->ms += cpu_ms() - t0;
        t->boxes++;
        int covered = v != DV_PIXEL_KEEP;
        if (phi) {
            t->phi++;
            t->phi_hit += covered;
        } else {
            t->non++;
            t->non_kept += !covered;
        }
        if (c->verbose && covered != phi)
            printf("  %s %s %ux%u [%s] -> [%s] %s\n", phi ? "MISS" : "FIRE", strrchr(dcm, '/') + 1, box.w, box.h,
                   text ? text : "", read,
                   v == DV_PIXEL_UNREADABLE ? "unreadable" : why < DV_IT_COUNT ? dv_infotype_name(why) : "");
        free(read);
    }
    goto done;
fail:
    t->errors++;
    printf("  %s: error %s: %s\n", strrchr(dcm, '/') ? strrchr(dcm, '/') + 1 : dcm, dv_code_name(err.code),
           err.message);
done:
    dv_gray8_free(&g);
    free(pix);
    dv_palette_free(&pal);
    dv_frames_free(frames);
    dv_image_ctx_free(ictx);
    dv_instance_free(inst);
    free(file);
}

static int cmpstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    ctx c = {0};
    int a = 1;
    if (a < argc && !strcmp(argv[a], "-v")) {
        c.verbose = 1;
        a++;
    }
    if (a >= argc) {
        fprintf(stderr, "usage: keys_pixel_classify [-v] DIR...\n");
        return 64;
    }
    dv_error err = {0};
    static const char *json = "{\"dicomTagConfig\": {\"profileType\": \"KEEP_ALL_PROFILE\", \"options\": "
                              "{\"cleanImage\": {\"textRedactionMode\": \"REDACT_SENSITIVE_TEXT\"}}}}";
    dv_config cfg;
    static const uint8_t KEYB[32] = "0123456789abcdef0123456789abcdef";
    if (dv_config_parse_all(json, strlen(json), &cfg, &err) || !(c.plan = dv_plan_compile_all(&cfg, &err)) ||
        dv_pixel_policy_make(&cfg.clean_image, &c.pol, &err) || !(c.key = dv_key_new(KEYB, sizeof KEYB, &err)) ||
        !(c.ocr = dv_ocr_new(&err)) || !(c.tw = dv_text_worker_new()) || !(c.pc = dv_pixclass_new())) {
        fprintf(stderr, "setup: %s\n", err.message);
        return 2;
    }
    dv_config_clear(&cfg);
    tally t = {0};
    for (; a < argc; a++) {
        DIR *d = opendir(argv[a]);
        if (!d) {
            fprintf(stderr, "cannot open %s\n", argv[a]);
            return 2;
        }
        char **names = NULL;
        size_t nn = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            size_t l = strlen(e->d_name);
            if (l > 5 && !strcmp(e->d_name + l - 5, ".json")) {
                names = realloc(names, (nn + 1) * sizeof *names);
                names[nn++] = strdup(e->d_name);
            }
        }
        closedir(d);
        qsort(names, nn, sizeof *names, cmpstr);
        for (size_t i = 0; i < nn; i++) {
            char path[4096], dcm[4096];
            snprintf(path, sizeof path, "%s/%s", argv[a], names[i]);
            snprintf(dcm, sizeof dcm, "%s/%.*s.dcm", argv[a], (int)(strlen(names[i]) - 5), names[i]);
            json_t *key = json_load_file(path, 0, NULL);
            if (key && json_object_get(key, "boxes"))
                score_file(&c, dcm, key, &t);
            json_decref(key);
            free(names[i]);
        }
        free(names);
    }
    printf("gen_burned_in answer keys, REDACT_SENSITIVE_TEXT on the key boxes (no deny-list values): %u boxes, "
           "%u errors\n", t.boxes, t.errors);
    printf("PHI recall %.3f (%u)  non-PHI intact %.3f (%u)  %.1f ms CPU per box (OCR + decision)\n",
           t.phi ? t.phi_hit / (double)t.phi : 1.0, t.phi, t.non ? t.non_kept / (double)t.non : 1.0, t.non,
           t.boxes ? t.ms / t.boxes : 0.0);
    dv_pixclass_free(c.pc);
    dv_text_worker_free(c.tw);
    dv_ocr_free(c.ocr);
    dv_key_free(c.key);
    dv_plan_free(c.plan);
    return t.errors ? 1 : 0;
}
