/* The dv_config IR's owned parameters (copy / clear) and the one home of "what is not built yet".
 *
 * dv_config_refuse_unbuilt is called by the parser (after the whole config validated, so a malformed part is
 * reported at its own path first) and again by the plan compiler (a config built in code is checked too). */
#include "config/dv_config_ir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dv_image_config_is_noop(const dv_image_config *ic)
{
    if (!ic)
        return 1;
    return (ic->mode == DV_REDACT_NO_TEXT || ic->mode == DV_TEXT_REDACTION_UNSPECIFIED) && ic->nadditional == 0;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

static int copy_names(char ***dst, const char *const *src, size_t n)
{
    *dst = NULL;
    if (n == 0)
        return 0;
    char **out = calloc(n, sizeof *out);
    if (!out)
        return -1;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(src[i]);
        out[i] = malloc(len + 1);
        if (!out[i]) {
            free_names(out, i);
            return -1;
        }
        memcpy(out[i], src[i], len + 1);
    }
    *dst = out;
    return 0;
}

void dv_image_config_clear(dv_image_config *ic)
{
    if (!ic)
        return;
    free_names(ic->additional_info_types, ic->nadditional);
    free_names(ic->exclude_info_types, ic->nexclude);
    memset(ic, 0, sizeof *ic);
}

int dv_image_config_copy(dv_image_config *dst, const dv_image_config *src)
{
    memset(dst, 0, sizeof *dst);
    dst->mode = src->mode;
    if (copy_names(&dst->additional_info_types, (const char *const *)src->additional_info_types,
                   src->nadditional) != 0)
        return -1;
    dst->nadditional = src->nadditional;
    if (copy_names(&dst->exclude_info_types, (const char *const *)src->exclude_info_types, src->nexclude) != 0) {
        dv_image_config_clear(dst);
        return -1;
    }
    dst->nexclude = src->nexclude;
    return 0;
}

int dv_action_params_copy(dv_action_params *dst, const dv_action_params *src)
{
    memset(dst, 0, sizeof *dst);
    dst->text = src->text;
    return dv_image_config_copy(&dst->image, &src->image);
}

void dv_action_params_clear(dv_action_params *p)
{
    if (!p)
        return;
    dv_image_config_clear(&p->image);
    memset(p, 0, sizeof *p);
}

/* One not-built part: its JSON path and why. */
typedef struct unbuilt {
    char path[96];
    const char *why;
} unbuilt;

#define IMAGE_WHY "not implemented yet (burned-in text redaction in PixelData)"

/* Collect the unbuilt parts of cfg in a fixed order (options, actions in order, image); returns
 * how many there are and fills at most cap of them. */
static size_t collect_unbuilt(const dv_config *cfg, unbuilt *out, size_t cap)
{
    size_t n = 0;
#define ADD(why_, ...)                                                                                       \
    do {                                                                                                     \
        if (n < cap) {                                                                                       \
            snprintf(out[n].path, sizeof out[n].path, __VA_ARGS__);                                          \
            out[n].why = (why_);                                                                             \
        }                                                                                                    \
        n++;                                                                                                 \
    } while (0)
    /* Text (DEIDENTIFY_TAG_CONTENTS, options.cleanDescriptors, cleanTextTag, top-level text) is built (issue 6:
     * src/engine/text_stage.c): only the image parts remain. [test_text_config: test_text_accepted_by_deidentify] */
    const char *root = cfg->legacy ? "config.dicom" : "config.dicomTagConfig";
    if (cfg->has_clean_image && !dv_image_config_is_noop(&cfg->clean_image))
        ADD(IMAGE_WHY, "%s.options.cleanImage", root);
    for (size_t i = 0; i < cfg->nactions; i++) {
        const dv_config_action *a = &cfg->actions[i];
        if (a->kind == DV_ACTION_CLEAN_IMAGE && !dv_image_config_is_noop(&a->params.image))
            ADD(IMAGE_WHY, "%s.actions[%zu].cleanImageTag", root, i);
    }
    if (cfg->has_image && !dv_image_config_is_noop(&cfg->image))
        ADD(IMAGE_WHY, "config.image");
#undef ADD
    return n;
}

int dv_config_refuse_unbuilt(const dv_config *cfg, dv_error *err)
{
    if (!cfg)
        return 0;
    unbuilt u[8];
    size_t n = collect_unbuilt(cfg, u, sizeof u / sizeof u[0]);
    if (n == 0)
        return 0;
    /* The first refusal, then the paths of the others, so one run names everything the config asks for that
     * dicomveil cannot do yet. */
    char msg[DV_ERROR_MESSAGE_MAX];
    int o = snprintf(msg, sizeof msg, "%s: %s", u[0].path, u[0].why);
    if (n > 1 && o > 0 && (size_t)o < sizeof msg) {
        o += snprintf(msg + o, sizeof msg - (size_t)o, "; also not implemented yet:");
        size_t shown = n < sizeof u / sizeof u[0] ? n : sizeof u / sizeof u[0];
        for (size_t i = 1; i < shown && o > 0 && (size_t)o < sizeof msg; i++)
            o += snprintf(msg + o, sizeof msg - (size_t)o, "%s %s", i > 1 ? "," : "", u[i].path);
        if (shown < n && o > 0 && (size_t)o < sizeof msg)
            snprintf(msg + o, sizeof msg - (size_t)o, " and %zu more", n - shown);
    }
    return dv_fail(err, DV_ERR_CONFIG, "%s", msg);
}
