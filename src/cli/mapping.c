/* --mapping FILE: the re-identification crosswalk for an honest broker (issue 5 item 13;
 * docs/decisions.md "Re-identification crosswalk"). [tests/integration/test_cli_mapping.sh]
 *
 * THE FILE IS PHI: it links every de-identified instance back to its original UIDs (and PatientID when the
 * config replaced it). It is written only when asked for, mode 0600, atomically (a temp name beside it, then
 * rename: never a partial file), refused inside DST and inside any SRC (cmd_deidentify.c), and nothing in it
 * is ever printed. The fields come from dv_result (the library fills them only when the run asks:
 * dv_run_want_identifiers).
 *
 * Format: CSV (RFC 4180: fields holding a comma, a quote, CR or LF are quoted, quotes doubled), UTF-8 header,
 * LF line ends, one row per input whose de-identified instance is in DST, in input order:
 *   instance,status,original_study_uid,original_series_uid,original_sop_uid,study_uid,series_uid,sop_uid,
 *   original_patient_id,patient_id
 * instance is the input's index in the run report's "instances"; status is ok (this input's output file) or
 * duplicate (the same instance as another input, or as a file already in DST: the new UIDs name that file).
 * Failed and skipped inputs have no row: nothing of theirs is in DST. UIDs are the values with padding
 * removed ("" when absent). The PatientID columns are filled only when the config changed PatientID
 * (patient_id is then "" when it was emptied or deleted); values are the element's bytes as stored. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAPPING_HEADER                                                                                         \
    "instance,status,original_study_uid,original_series_uid,original_sop_uid,study_uid,series_uid,sop_uid,"  \
    "original_patient_id,patient_id\n"

/* Append one CSV field (with a leading comma unless first) to buf at *len; buf has room (see below). */
static void put_field(char *buf, size_t *len, const char *v, int first)
{
    size_t k = *len;
    if (!first)
        buf[k++] = ',';
    int quote = strpbrk(v, ",\"\r\n") != NULL;
    if (quote)
        buf[k++] = '"';
    for (const char *c = v; *c; c++) {
        if (*c == '"')
            buf[k++] = '"';
        buf[k++] = *c;
    }
    if (quote)
        buf[k++] = '"';
    buf[k] = '\0';
    *len = k;
}

char *dvc_mapping_fields(const dv_result *res)
{
    const int pid = res->patient_id_changed == 1;
    const char *v[] = {res->orig_study_uid, res->orig_series_uid, res->orig_sop_uid, res->study_uid,
                       res->series_uid,     res->sop_uid,         pid ? res->orig_patient_id : "",
                       pid ? res->patient_id : ""};
    size_t cap = 1;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        cap += 2 * strlen(v[i]) + 3; /* every byte doubled at worst, two quotes, a comma */
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        put_field(buf, &len, v[i], i == 0);
    return buf;
}

int dvc_mapping_write(const char *path, const dvc_run *run)
{
    size_t cap = sizeof MAPPING_HEADER, len = 0;
    for (size_t i = 0; i < run->n; i++) {
        const dvc_item *it = &run->items[i];
        if (it->status != DVC_ST_OK && it->status != DVC_ST_DUPLICATE)
            continue;
        if (!it->mapping) {
            dvc_errorf("mapping: out of memory while collecting it");
            return -1;
        }
        cap += strlen(it->mapping) + 48;
    }
    char *text = malloc(cap);
    if (!text) {
        dvc_errorf("mapping: out of memory");
        return -1;
    }
    len = (size_t)snprintf(text, cap, "%s", MAPPING_HEADER);
    for (size_t i = 0; i < run->n; i++) {
        const dvc_item *it = &run->items[i];
        if (it->status != DVC_ST_OK && it->status != DVC_ST_DUPLICATE)
            continue;
        len += (size_t)snprintf(text + len, cap - len, "%zu,%s,%s\n", i, dvc_status_name(it->status), it->mapping);
    }
    int rc = dvc_file_replace(path, text, len, "mapping");
    free(text);
    return rc;
}
