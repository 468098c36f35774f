/* libFuzzer: arbitrary bytes as an OCR reading through the sensitive-box decision (engine/pixel_classify.c,
 * issue 11 item 3): the repaired readings (digit/letter confusions, PN delimiters, splits) and the overlay
 * rules over the pattern and dictionary detectors. The first byte is the OCR confidence (0-100, 255 = -1),
 * the rest the text. Invariants: no error but a limit, a verdict and a reason in range, a finding's reason
 * only with SENSITIVE. Corpus: tests/fuzz/corpus/pixel_classify/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/dv_config_ir.h"
#include "engine/dv_pixel_classify.h"
#include "engine/dv_plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Compiled once per fuzzing process (as a worker does), not per input. */
    static dv_plan *plan;
    static dv_text_worker *tw;
    static dv_pixclass *pc;
    static dv_pixel_policy pol;
    dv_error err;
    if (!plan) {
        static const char *json = "{\"dicomTagConfig\": {\"profileType\": \"KEEP_ALL_PROFILE\", \"options\": "
                                  "{\"cleanImage\": {\"textRedactionMode\": "
                                  "\"REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS\"}}}}";
        dv_config cfg;
        if (dv_config_parse_all(json, strlen(json), &cfg, &err) || !(plan = dv_plan_compile_all(&cfg, &err)) ||
            dv_pixel_policy_make(&cfg.clean_image, &pol, &err) || !(tw = dv_text_worker_new()) ||
            !(pc = dv_pixclass_new()))
            abort();
        dv_config_clear(&cfg);
    }
    if (size == 0)
        return 0;
    int conf = data[0] == 255 ? -1 : data[0] % 101;
    dv_pixel_verdict v;
    dv_infotype why;
    if (dv_pixel_classify(pc, &pol, tw, plan, (const char *)data + 1, size - 1, conf, &v, &why, &err) == 0) {
        if (v > DV_PIXEL_UNREADABLE || why > DV_IT_COUNT || (v != DV_PIXEL_SENSITIVE && why != DV_IT_COUNT) ||
            (v == DV_PIXEL_SENSITIVE && why == DV_IT_COUNT))
            abort();
    } else if (err.code != DV_ERR_LIMIT) {
        abort();
    }
    return 0;
}
