/* Test helper (not installed): print every charset-governed text value of a DICOM file, decoded to UTF-8,
 * one JSON object per line, with the effective SpecificCharacterSet (inherited into sequence items) and
 * whether encoding the decoded text back (with the value's style) gives the original bytes.
 * Used by tests/integration/test_charset_corpus.py to compare with pydicom's decoding.
 *   dv_charset_dump FILE
 *   dv_charset_dump --batch FILE...
 * Output lines: {"path":"00321064[0].00100010","vr":"PN","cs":"ISO 2022 IR 13\\ISO 2022 IR 87",
 *                "flags":0,"style":0,"utf8":"<hex>","rt":"same|diff|unencodable|error"}
 * --batch: every FILE in one process (an ASan build then starts once, not once per file), each as the one-file
 * form reads it, its lines followed by {"done":K,"rc":N,"error":"<hex>"} (K: the file's index from 0; N and
 * the hex of the message: the exit status and stderr line the one-file form gives, "" when N is 0).
 * This prints PHI by design (test corpus only); dicomveil itself never does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicomveil/dicomveil.h"
#include "dicom/dv_ds.h"
#include "dicom/dv_vr.h"
#include "dicom/dv_charset.h"
#include "dv_testkit.h"

static void print_cs(const dv_charset *cs)
{
    for (unsigned i = 0; i < cs->nterms; i++)
        printf("%s%s", i ? "\\\\" : "", dv_charset_term_name(cs, i));
}

static int walk(dv_charset_ctx *ctx, const dv_ds *ds, const dv_charset *cs, const char *prefix, char *msg,
                size_t msgcap)
{
    for (const dv_elem *e = ds->first; e; e = e->next) {
        char path[512];
        snprintf(path, sizeof path, "%s%08X", prefix, (unsigned)e->tag);
        if (e->flags & DV_ELEM_SEQUENCE) {
            unsigned k = 0;
            for (const dv_item *it = e->items; it; it = it->next, k++) {
                dv_charset own;
                const dv_charset *ics = dv_charset_for_item(cs, it, &own);
                char sub[600];
                snprintf(sub, sizeof sub, "%s[%u].", path, k);
                if (walk(ctx, &it->ds, ics, sub, msg, msgcap) != 0)
                    return -1;
            }
            continue;
        }
        if (!dv_charset_vr_applies(e->vr) || (e->flags & (DV_ELEM_BULK | DV_ELEM_ENCAPSULATED)))
            continue;
        size_t len = (size_t)e->length;
        size_t cap = DV_CHARSET_DECODE_BOUND(len) + 1;
        char *text = malloc(cap);
        size_t ecap = DV_CHARSET_ENCODE_BOUND(cap);
        uint8_t *back = malloc(ecap);
        dv_error err = { 0 };
        dv_cs_decoded d;
        if (!text || !back || dv_charset_decode(ctx, cs, e->vr, e->value, len, text, cap, &d, &err) != 0) {
            /* a long path may cut the message: it is a test's diagnostic */
            if (snprintf(msg, msgcap, "decode failed at %s: %s", path, err.message) < 0)
                msg[0] = '\0';
            free(text);
            free(back);
            return -1;
        }
        size_t blen = 0, bad = 0;
        int rc = dv_charset_encode(ctx, cs, e->vr, text, d.len, d.style, back, ecap, &blen, &bad, &err);
        const char *rt = rc < 0 ? "error"
                         : rc == DV_CHARSET_UNENCODABLE ? "unencodable"
                         : (blen == len && (len == 0 || memcmp(back, e->value, len) == 0)) ? "same" : "diff";
        char vr[3];
        dv_vr_to_chars(e->vr, vr);
        printf("{\"path\":\"%s\",\"vr\":\"%s\",\"cs\":\"", path, vr);
        print_cs(cs);
        printf("\",\"flags\":%u,\"style\":%u,\"utf8\":\"", d.flags, d.style);
        for (size_t i = 0; i < d.len; i++)
            printf("%02x", (unsigned char)text[i]);
        printf("\",\"rt\":\"%s\"}\n", rt);
        free(text);
        free(back);
    }
    return 0;
}

/* Dumps one file's values to stdout. Returns 0, 1 (the reader refuses the file, or a value fails to decode)
 * or 2 (unreadable), with the message the one-file form prints on stderr in msg ("" when 0). */
static int dump_file(const char *file, char *msg, size_t msgcap)
{
    size_t n = 0;
    msg[0] = '\0';
    uint8_t *buf = dvt_slurp(file, &n);
    if (!buf) {
        snprintf(msg, msgcap, "cannot read the input");
        return 2;
    }
    dv_mem_source ms;
    dv_source src = dv_source_memory(&ms, buf, n);
    dv_error err = { 0 };
    dv_instance *inst = dv_instance_read(&src, NULL, &err);
    if (!inst) {
        snprintf(msg, msgcap, "read failed: %s", err.message);
        free(buf);
        return 1;
    }
    dv_charset_ctx *ctx = dv_charset_ctx_new();
    dv_charset own;
    const dv_charset *cs = dv_charset_for_ds(NULL, &inst->ds, &own);
    int rc = walk(ctx, &inst->ds, cs, "", msg, msgcap);
    dv_charset_ctx_free(ctx);
    dv_instance_free(inst);
    free(buf);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    char msg[1024];
    if (argc >= 2 && strcmp(argv[1], "--batch") == 0) {
        for (int i = 2; i < argc; i++) {
            int rc = dump_file(argv[i], msg, sizeof msg);
            printf("{\"done\":%d,\"rc\":%d,\"error\":\"", i - 2, rc);
            for (const char *c = msg; *c; c++)
                printf("%02x", (unsigned char)*c);
            printf("\"}\n");
        }
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: dv_charset_dump FILE | dv_charset_dump --batch FILE...\n");
        return 2;
    }
    int rc = dump_file(argv[1], msg, sizeof msg);
    if (rc)
        fprintf(stderr, "%s\n", msg);
    return rc;
}
