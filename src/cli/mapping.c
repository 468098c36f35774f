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
 * (patient_id is then "" when it was emptied or deleted).
 *
 * Encoding: the whole file is UTF-8, so one patient is one string whatever character set each of its instances
 * was stored in (Latin-1 under ISO_IR 100 and UTF-8 under ISO_IR 192 were two byte strings of one PatientID).
 * Each value is decoded with its instance's SpecificCharacterSet (the input's for the original_ columns, the
 * output's for patient_id; UIDs are the default repertoire), and a literal backslash is written doubled.
 * A value that does not decode without loss (bytes its set does not define: Latin-1 bytes without a
 * SpecificCharacterSet, invalid UTF-8) is written byte for byte instead: printable ASCII as itself, a backslash
 * as \\, every other byte as \xHH (two uppercase hex digits). Reading any field back: \\ is one backslash,
 * \xHH the byte HH, all else as it stands, which gives the decoded text, or for an escaped value exactly the
 * stored bytes.
 *
 * Formulas: a field whose first character is = + - @ TAB or CR (a spreadsheet opening the file would run it:
 * =WEBSERVICE(...) sends the row to a server) or ' is written with one ' in front, quoted; a reader strips one
 * leading ' from a field that starts with it, before the unescaping above. [test_cli_mapping.sh "mapping charsets",
 * test_cli_mapping.sh "mapping formulas"] */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dicom/dv_charset.h"
#include "dicom/dv_vr.h"

#define MAPPING_HEADER                                                                                         \
    "instance,status,original_study_uid,original_series_uid,original_sop_uid,study_uid,series_uid,sop_uid,"  \
    "original_patient_id,patient_id\n"

/* Append one CSV field (with a leading comma unless first) to buf at *len; buf has room (see below). A field a
 * spreadsheet would run as a formula (first character = + - @ TAB CR, OWASP "CSV Injection") gets a leading '
 * and quotes, so it opens as text; so does one that starts with ' itself, so that a reader strips exactly one
 * leading ' from every field that has one and gets the value back. */
static void put_field(char *buf, size_t *len, const char *v, int first)
{
    size_t k = *len;
    if (!first)
        buf[k++] = ',';
    int guard = v[0] != '\0' && strchr("=+-@\t\r'", v[0]) != NULL;
    int quote = guard || strpbrk(v, ",\"\r\n") != NULL;
    if (quote)
        buf[k++] = '"';
    if (guard)
        buf[k++] = '\'';
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

/* Append src[n] to out at *k, each backslash doubled. */
static void put_doubled(char *out, size_t *k, const char *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (src[i] == '\\')
            out[(*k)++] = '\\';
        out[(*k)++] = src[i];
    }
}

/* The mapping's text of one stored value v of VR vr under the SpecificCharacterSet value charset (see the top of
 * this file): malloc'd, NULL on ENOMEM. *ctx: the worker's codec context, made on first need. */
static char *text_field(dv_charset_ctx **ctx, const char *charset, uint16_t vr, const char *v)
{
    size_t n = strlen(v);
    dv_charset cs;
    if (dv_charset_vr_applies(vr))
        dv_charset_parse((const uint8_t *)charset, strlen(charset), &cs);
    else
        dv_charset_default(&cs);
    /* Decoded UTF-8 with backslashes doubled (at most 2 x 3 bytes per stored byte), or the escaped bytes (at
     * most 4 per byte). */
    char *out = malloc(6 * n + 1), *dec = NULL;
    if (!out)
        return NULL;
    size_t k = 0;
    int clean = 1;
    int ascii = 1;
    for (size_t i = 0; i < n; i++)
        ascii &= (unsigned char)v[i] < 0x80 && v[i] != 0x1b; /* ESC: an ISO 2022 escape sequence */
    if (ascii && cs.nterms == 1 && cs.terms[0] != DV_CST_IR13) {
        put_doubled(out, &k, v, n); /* ASCII bytes are themselves in every other set's G0 */
    } else if (cs.nterms == 1 && (cs.terms[0] == DV_CST_DEFAULT || cs.terms[0] == DV_CST_UNKNOWN)) {
        clean = 0; /* bytes >= 0x80 (or ESC) in the default repertoire: not text of any declared set */
    } else {
        dv_cs_decoded d = {0};
        dv_error err;
        dv_error_clear(&err);
        if (!*ctx)
            *ctx = dv_charset_ctx_new();
        dec = *ctx ? malloc(DV_CHARSET_DECODE_BOUND(n) + 1) : NULL;
        if (!dec) {
            free(out);
            return NULL;
        }
        if (dv_charset_decode(*ctx, &cs, vr, (const uint8_t *)v, n, dec, DV_CHARSET_DECODE_BOUND(n) + 1, &d,
                              &err) == 0 &&
            !(d.flags & DV_CS_REPLACED))
            put_doubled(out, &k, dec, d.len);
        else
            clean = 0; /* a set we cannot build here counts as undecodable too: the bytes stay exact */
        free(dec);
    }
    if (!clean) {
        static const char hexd[] = "0123456789ABCDEF";
        k = 0;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)v[i];
            if (c == '\\') {
                out[k++] = '\\';
                out[k++] = '\\';
            } else if (c >= 0x20 && c < 0x7f) {
                out[k++] = (char)c;
            } else {
                out[k++] = '\\';
                out[k++] = 'x';
                out[k++] = hexd[c >> 4];
                out[k++] = hexd[c & 15];
            }
        }
    }
    out[k] = '\0';
    return out;
}

char *dvc_mapping_fields(const dv_result *res, dv_charset_ctx **ctx)
{
    const int pid = res->patient_id_changed == 1;
    const char *v[] = {res->orig_study_uid, res->orig_series_uid, res->orig_sop_uid, res->study_uid,
                       res->series_uid,     res->sop_uid,         pid ? res->orig_patient_id : "",
                       pid ? res->patient_id : ""};
    const char *sets[] = {"", "", "", "", "", "", res->orig_charset, res->charset};
    const uint16_t vrs[] = {DV_VR_UI, DV_VR_UI, DV_VR_UI, DV_VR_UI, DV_VR_UI, DV_VR_UI, DV_VR_LO, DV_VR_LO};
    enum { NF = sizeof v / sizeof v[0] };
    char *t[NF] = {0};
    size_t cap = 1;
    char *buf = NULL;
    for (size_t i = 0; i < NF; i++) {
        if (!(t[i] = text_field(ctx, sets[i], vrs[i], v[i])))
            goto done;
        cap += 2 * strlen(t[i]) + 4; /* every byte doubled at worst, two quotes, a guard ', a comma */
    }
    if (!(buf = malloc(cap)))
        goto done;
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < NF; i++)
        put_field(buf, &len, t[i], i == 0);
done:
    for (size_t i = 0; i < NF; i++)
        free(t[i]);
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
