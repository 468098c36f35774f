/* Test helper (not installed): run the text stage over DICOM files with a config the deidentify path still
 * refuses (dv_plan_compile_all), writing each output as OUTDIR/<n>.dcm, so the corpus integration test can
 * check every file through DEIDENTIFY_TAG_CONTENTS and Basic + cleanDescriptors (tests/integration/
 * test_text_corpus.py) and validate the outputs with dcmdump / dciodvfy.
 *   dv_text_run CONFIG.json OUTDIR < list-of-paths
 * Prints one line per input: "<n> ok|skip|fail <error class>" (never a value or a path). Exit 0 unless a
 * usage or config error. No detector is wired yet (the PCRE2 / lexicon detectors land separately): DA/DT/AS
 * values and Clean Descriptors [CTX] phrases exercise decode, transform, encode and write. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicomveil/dicomveil.h"
#include "config/dv_config_ir.h"
#include "engine/dv_plan.h"

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *b = realloc(buf, cap);
            if (!b)
                break;
            buf = b;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: dv_text_run CONFIG.json OUTDIR < paths\n");
        return 2;
    }
    size_t clen;
    uint8_t *cj = slurp(argv[1], &clen);
    dv_error err = {0};
    dv_config cfg;
    if (!cj || dv_config_parse_all((const char *)cj, clen, &cfg, &err)) {
        fprintf(stderr, "config: %s\n", err.message);
        free(cj);
        return 2;
    }
    free(cj);
    dv_plan *plan = dv_plan_compile_all(&cfg, &err);
    dv_config_clear(&cfg);
    static const uint8_t keyb[32] = "dv_text_run fixed test key 32byt";
    dv_key *key = dv_key_new(keyb, sizeof keyb, &err);
    dv_text_worker *w = dv_text_worker_new();
    if (!plan || !key || !w) {
        fprintf(stderr, "setup: %s\n", err.message);
        return 2;
    }
    char line[4096];
    unsigned n = 0;
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        if (!line[0])
            continue;
        size_t len;
        uint8_t *data = slurp(line, &len);
        dv_error e = {0};
        dv_mem_source ms;
        dv_source src = dv_source_memory(&ms, data ? data : (const uint8_t *)"", data ? len : 0);
        dv_instance *inst = data ? dv_instance_read(&src, NULL, &e) : NULL;
        if (!inst) {
            printf("%u skip %s\n", n++, dv_code_name(e.code));
            free(data);
            continue;
        }
        dv_result res;
        dv_result_init(&res);
        if (dv_apply_text(plan, key, inst, &res, w, &e) != 0) {
            printf("%u fail %s\n", n++, dv_code_name(e.code));
            if (getenv("DV_TEXT_RUN_DEBUG"))
                fprintf(stderr, "%s\n", e.message);
        } else {
            char out[4200];
            snprintf(out, sizeof out, "%s/%u.dcm", argv[2], n);
            dv_mem_sink ms2 = {0};
            dv_sink sink = dv_sink_memory(&ms2);
            FILE *f = NULL;
            if (dv_instance_write(inst, &sink, &e) == 0 && (f = fopen(out, "wb")) &&
                fwrite(ms2.data, 1, ms2.len, f) == ms2.len) {
                unsigned total = 0;
                for (int t = 0; t < DV_RESULT_TEXT_TYPES; t++)
                    total += res.text_findings[t];
                printf("%u ok %u\n", n, total);
            } else {
                printf("%u fail %s\n", n, dv_code_name(e.code));
                if (getenv("DV_TEXT_RUN_DEBUG"))
                    fprintf(stderr, "%s\n", e.message);
            }
            if (f)
                fclose(f);
            dv_mem_sink_free(&ms2);
            n++;
        }
        dv_instance_free(inst);
        free(data);
    }
    dv_text_worker_free(w);
    dv_key_free(key);
    dv_plan_free(plan);
    return 0;
}
