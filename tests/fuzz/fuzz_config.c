/* libFuzzer target: the DeidentifyConfig JSON parser/validator and the plan compiler.
 *
 * The raw bytes go to dv_config_parse (not NUL-terminated: the parser must honour len); if they parse, the
 * same bytes are compiled with dv_plan_from_json, and the plan's summary is taken. Everything is freed, so
 * LeakSanitizer sees any leak on either the success or the error path. Three consistency checks abort:
 * an error message must be a NUL-terminated string; dv_config_parse failing must leave the config cleared
 * (dv_config_clear on it stays safe, and is called); and a config that parses must compile: every refusal
 * belongs to the parser, whose message names the JSON path, so dv_plan_from_json may fail after a successful
 * parse only for lack of memory (a parse/compile disagreement would reach users as a late, vaguer error). The bytes
 * are also parsed as a file-read config (DV_CONFIG_VALUE_FREE), whose verdict must be the same. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/dv_config_ir.h"
#include "dicomveil/dv_engine.h"
#include "dicomveil/dv_error.h"

static void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_config: invariant violated: %s\n", what);
    abort();
}

static void check_error(const dv_error *err)
{
    if (memchr(err->message, '\0', sizeof err->message) == NULL)
        fuzz_fail("dv_error.message is not NUL-terminated");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Copy into an exactly-sized heap buffer with no terminator, so any read past len is an ASan report. */
    char *json = malloc(size ? size : 1);
    if (json == NULL)
        return 0;
    if (size)
        memcpy(json, data, size);

    dv_config cfg;
    dv_error err;
    memset(&cfg, 0, sizeof cfg);
    memset(&err, 0, sizeof err);
    int rc = dv_config_parse(json, size, &cfg, &err);
    check_error(&err);
    if (rc != 0 && (cfg.actions != NULL || cfg.nactions != 0))
        fuzz_fail("dv_config_parse failed but left actions in the config");
    dv_config_clear(&cfg);

    /* The same bytes as a file the client only named (the server's gcsConfigUri): the same verdict, messages
     * that quote nothing of the input. */
    dv_error verr;
    memset(&cfg, 0, sizeof cfg);
    memset(&verr, 0, sizeof verr);
    int vrc = dv_config_parse_flags(json, size, DV_CONFIG_VALUE_FREE, &cfg, &verr);
    check_error(&verr);
    if ((vrc == 0) != (rc == 0) && verr.code != DV_ERR_NOMEM && err.code != DV_ERR_NOMEM)
        fuzz_fail("DV_CONFIG_VALUE_FREE changed whether a config parses");
    dv_config_clear(&cfg);

    if (rc == 0) {
        dv_error perr;
        memset(&perr, 0, sizeof perr);
        dv_plan *plan = dv_plan_from_json(json, size, &perr);
        check_error(&perr);
        if (plan == NULL && perr.code != DV_ERR_NOMEM) {
            fprintf(stderr, "fuzz_config: dv_plan_from_json: %s: %s\n", dv_code_name(perr.code), perr.message);
            fuzz_fail("a config that dv_config_parse accepts does not compile");
        }
        if (plan != NULL) {
            const char *summary = dv_plan_summary(plan);
            if (summary != NULL)
                (void)strlen(summary);
            dv_plan_free(plan);
        }
    }
    free(json);
    return 0;
}
