/* The JSON run report (--report FILE): which input got which outcome, in input order.
 *
 * It names sources by path (that is what the user needs to find a failed file), so it deliberately holds
 * nothing about the outputs: no output path and no new UID, because "source path -> de-identified UID" is
 * exactly the link de-identification removes. It holds no tag value either: error texts are the engine's,
 * which never contain values (dv_error.h). The file is created 0600 (source paths can hold PHI) and written
 * to a temp name beside it, then renamed, so a reader never sees half a report (dvc_file_replace). The
 * opposite link, original -> new UIDs, is what --mapping writes, to a separate file (mapping.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "text/dv_text.h"

/* File names are bytes, JSON strings are UTF-8: an invalid sequence becomes U+FFFD in "source" and the exact
 * bytes are kept, hex-encoded, in "source_hex" so the file can still be found. */
static int add_source(json_t *obj, const char *path)
{
    size_t n = strlen(path);
    json_t *s = json_stringn(path, n);
    if (s)
        return json_object_set_new(obj, "source", s);
    char *clean = malloc(n * 3 + 1), *hex = malloc(n * 2 + 1);
    if (!clean || !hex) {
        free(clean);
        free(hex);
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        /* Longest valid UTF-8 prefix check, one sequence at a time, via jansson itself. */
        size_t len = 1;
        unsigned char c = (unsigned char)path[i];
        if (c >= 0xF0)
            len = 4;
        else if (c >= 0xE0)
            len = 3;
        else if (c >= 0xC0)
            len = 2;
        json_t *probe = i + len <= n ? json_stringn(path + i, len) : NULL;
        if (c < 0x80 || probe) {
            memcpy(clean + k, path + i, len);
            k += len;
            i += len;
        } else {
            memcpy(clean + k, "\xEF\xBF\xBD", 3);
            k += 3;
            i += 1;
        }
        json_decref(probe);
    }
    for (size_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", (unsigned char)path[i]);
    int rc = json_object_set_new(obj, "source", json_stringn(clean, k)) |
             json_object_set_new(obj, "source_hex", json_string(hex));
    free(clean);
    free(hex);
    return rc;
}

/* "text_findings": {"PERSON_NAME": 2, ...}: only the non-zero counts. */
static int add_text_findings(json_t *e, const uint32_t *counts)
{
    json_t *o = json_object();
    if (!o)
        return -1;
    int rc = 0;
    for (int t = 0; t < DV_RESULT_TEXT_TYPES; t++) {
        const char *name = dv_infotype_name((dv_infotype)t);
        if (counts[t] && name)
            rc |= json_object_set_new(o, name, json_integer((json_int_t)counts[t]));
    }
    return rc | json_object_set_new(e, "text_findings", o);
}

/* "pixels": {"frames_examined": 3, "boxes_redacted": 2, "transfer_syntax": "1.2.840.10008.1.2.5",
 * "nested_pixel_data_kept": 0} (issue 11 item 4): counts and the output transfer syntax only. */
static int add_pixels(json_t *e, const dvc_pixels *px)
{
    json_t *o = json_object();
    if (!o)
        return -1;
    int rc = 0;
    if (px->ran) {
        rc |= json_object_set_new(o, "frames_examined", json_integer((json_int_t)px->frames));
        rc |= json_object_set_new(o, "boxes_redacted", json_integer((json_int_t)px->boxes));
        rc |= json_object_set_new(o, "transfer_syntax", json_string(px->transfer_syntax));
    }
    rc |= json_object_set_new(o, "nested_pixel_data_kept", json_integer((json_int_t)px->nested_kept));
    if (px->burned_in_unredacted)
        rc |= json_object_set_new(o, "burned_in_annotation_not_redacted", json_true());
    return rc | json_object_set_new(e, "pixels", o);
}

size_t dvc_burned_in_unredacted(const dvc_run *run)
{
    size_t n = 0;
    for (size_t i = 0; i < run->n; i++)
        n += run->items[i].status == DVC_ST_OK && run->items[i].pixels && run->items[i].pixels->burned_in_unredacted;
    return n;
}

void dvc_warn_burned_in(const dvc_run *run)
{
    size_t n = dvc_burned_in_unredacted(run);
    if (n)
        dvc_errorf("warning: %zu instance(s) declare burned-in annotation (0028,0301 YES) and were written with "
                   "their pixels unredacted: the config redacts no image text in them (no redacting image "
                   "config, or an action keeping PixelData; the report marks them burned_in_annotation_not_redacted)",
                   n);
}

/* Engine messages are ASCII; anything else is replaced rather than dropping the entry. */
static json_t *message_or_null(const char *msg)
{
    if (!msg)
        return json_null();
    json_t *s = json_string(msg);
    return s ? s : json_string("(message not UTF-8)");
}

static json_t *build(const dvc_run *run, double elapsed)
{
    json_t *root = json_object();
    json_t *counts = json_object();
    json_t *list = json_array();
    if (!root || !counts || !list) {
        json_decref(root);
        json_decref(counts);
        json_decref(list);
        return NULL;
    }
    int rc = 0;
    rc |= json_object_set_new(root, "tool", json_string("dicomveil"));
    rc |= json_object_set_new(root, "version", json_string(DICOMVEIL_VERSION));
    const char *summary = dv_plan_summary(run->plan);
    rc |= json_object_set_new(root, "config_summary", message_or_null(summary));
    rc |= json_object_set_new(counts, "total", json_integer((json_int_t)run->n));
    static const dv_outcome counted[] = {DV_OUTCOME_OK, DV_OUTCOME_FAILED, DV_OUTCOME_SKIPPED, DV_OUTCOME_DUPLICATE};
    for (size_t i = 0; i < sizeof counted / sizeof counted[0]; i++)
        rc |= json_object_set_new(counts, dv_outcome_name(counted[i]),
                                  json_integer((json_int_t)dv_run_count(run->lib, counted[i])));
    rc |= json_object_set_new(counts, "input_bytes", json_integer((json_int_t)dv_run_bytes_in(run->lib)));
    rc |= json_object_set_new(counts, "burned_in_not_redacted", json_integer((json_int_t)dvc_burned_in_unredacted(run)));
    /* --resume: outputs of earlier attempts whose inputs are withdrawn or fail now, removed (always 0 without it) */
    rc |= json_object_set_new(counts, "stale_outputs_removed", json_integer((json_int_t)run->stale_removed));
    rc |= json_object_set_new(root, "counts", counts);
    rc |= json_object_set_new(root, "elapsed_seconds", json_real(elapsed));
    for (size_t i = 0; i < run->n && rc == 0; i++) {
        const dvc_item *it = &run->items[i];
        json_t *e = json_object();
        if (!e) {
            rc = -1;
            break;
        }
        rc |= add_source(e, it->path);
        rc |= json_object_set_new(e, "status", json_string(dvc_status_name(it->status)));
        int has_class = it->status == DVC_ST_FAILED || (it->status == DVC_ST_SKIPPED && it->code != DV_OK);
        rc |= json_object_set_new(e, "error_class", has_class ? json_string(dv_code_name(it->code)) : json_null());
        rc |= json_object_set_new(e, "error", message_or_null(it->message));
        if (it->reason)
            rc |= json_object_set_new(e, "reason", json_string(it->reason));
        /* Counts of what was written: an input's own output only. A copy written first and displaced later by a
         * lower index (mark_displaced) keeps what it counted, but reports none, as a copy found a duplicate at
         * once has none: the report does not depend on thread timing. [test_cli_dupes.sh "report jobs 8"] */
        int written = it->status == DVC_ST_OK;
        if (written && it->text_findings) /* issue 6: findings transformed, by infoType name (counts only) */
            rc |= add_text_findings(e, it->text_findings);
        if (written && it->pixels)
            rc |= add_pixels(e, it->pixels);
        rc |= json_array_append_new(list, e);
    }
    rc |= json_object_set_new(root, "instances", list);
    if (rc != 0) {
        json_decref(root);
        return NULL;
    }
    return root;
}

int dvc_report_write(const char *path, const dvc_run *run, double elapsed)
{
    json_t *root = build(run, elapsed);
    if (!root) {
        dvc_errorf("report: out of memory while building it");
        return -1;
    }
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text) {
        dvc_errorf("report: out of memory while encoding it");
        return -1;
    }

    size_t n = strlen(text);
    char *line = realloc(text, n + 2); /* the file ends with a newline */
    if (!line) {
        free(text);
        dvc_errorf("report: out of memory");
        return -1;
    }
    line[n] = '\n';
    line[n + 1] = '\0';
    int rc = dvc_file_replace(path, line, n + 1, "report");
    free(line);
    return rc;
}
