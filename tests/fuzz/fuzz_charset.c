/* libFuzzer target: character-set decoding and encoding (src/dicom/charset_*.c).
 *
 * Input: byte 0 picks the VR (SH LO ST LT UC UT PN CS), then a SpecificCharacterSet value up to the first
 * NUL, then the element value (any bytes). Invariants (abort on violation):
 *   - decoding with the documented bound never fails, stays within it, and yields valid UTF-8;
 *   - dv_charset_to_utf8 agrees with dv_charset_decode for governed VRs;
 *   - encoding the decoded text (with the reported style) never fails (only OK or UNENCODABLE) and stays
 *     within its bound; a value decoded without flags (conformant) always encodes;
 *   - when it encodes, decoding the result gives the same text without flags:
 *     decode(encode(decode(x))) == decode(x);
 *   - the same text always encodes under ISO_IR 192 (the fallback when a replacement does not fit). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicom/charset_internal.h"
#include "dicom/dv_charset.h"
#include "dicom/dv_vr.h"

#define MAX_VALUE 4096

static void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_charset: invariant violated: %s\n", what);
    abort();
}

static int valid_utf8(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (cs_utf8_next((const uint8_t *)s, n, &i) < 0)
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint16_t vrs[] = { DV_VR_SH, DV_VR_LO, DV_VR_ST, DV_VR_LT, DV_VR_UC, DV_VR_UT, DV_VR_PN, DV_VR_CS };
    if (size < 1)
        return 0;
    uint16_t vr = vrs[data[0] % (sizeof vrs / sizeof vrs[0])];
    const uint8_t *p = data + 1;
    size_t rest = size - 1;
    const uint8_t *nul = memchr(p, 0, rest);
    size_t cslen = nul ? (size_t)(nul - p) : rest;
    const uint8_t *val = nul ? nul + 1 : p + rest;
    size_t len = nul ? rest - cslen - 1 : 0;
    if (len > MAX_VALUE)
        return 0;

    dv_charset cs, utf8cs;
    dv_charset_parse(p, cslen, &cs);
    dv_charset_parse((const uint8_t *)"ISO_IR 192", 10, &utf8cs);
    if (cs.nterms < 1 || cs.nterms > DV_CHARSET_MAX_TERMS)
        fuzz_fail("parsed term count out of range");

    /* One context for the whole run, as a worker holds one (building the CJK tables per input would make the
     * fuzzer 1000x slower); it also checks that nothing in the context depends on earlier inputs. */
    static dv_charset_ctx *ctx;
    if (!ctx)
        ctx = dv_charset_ctx_new();
    /* exact-size heap copy: a read past len is an ASan report */
    uint8_t *in = malloc(len ? len : 1);
    size_t dcap = DV_CHARSET_DECODE_BOUND(len);
    char *text = malloc(dcap ? dcap : 1), *text2 = malloc(dcap ? dcap : 1);
    size_t ecap = DV_CHARSET_ENCODE_BOUND(dcap);
    uint8_t *enc = malloc(ecap);
    if (!ctx || !in || !text || !text2 || !enc)
        goto out;
    if (len)
        memcpy(in, val, len);

    dv_error err = { 0 };
    dv_cs_decoded d, d2;
    if (dv_charset_decode(ctx, &cs, vr, in, len, text, dcap, &d, &err) != 0)
        fuzz_fail("decode failed within the documented bound");
    if (d.len > dcap || !valid_utf8(text, d.len))
        fuzz_fail("decode output out of bounds or not UTF-8");
    if (dv_charset_vr_applies(vr)) {
        if (dv_charset_to_utf8(ctx, &cs, vr, in, len, text2, dcap, &d2, &err) != 0 || d2.len != d.len ||
            (d.len && memcmp(text, text2, d.len) != 0))
            fuzz_fail("to_utf8 differs from decode");
    }

    size_t elen = 0, bad = 0;
    int rc = dv_charset_encode(ctx, &cs, vr, text, d.len, d.style, enc, ecap, &elen, &bad, &err);
    if (rc < 0)
        fuzz_fail("encode of decoded text failed");
    if (rc == DV_CHARSET_UNENCODABLE) {
        if (d.flags == 0)
            fuzz_fail("a conformant value does not encode back");
        if (bad >= d.len)
            fuzz_fail("bad_offset out of range");
    } else {
        if (elen > DV_CHARSET_ENCODE_BOUND(d.len))
            fuzz_fail("encode output over its bound");
        if (elen > 0 && DV_CHARSET_DECODE_BOUND(elen) > dcap) {
            /* re-decode needs more room than the first buffer: grow it */
            free(text2);
            dcap = DV_CHARSET_DECODE_BOUND(elen);
            text2 = malloc(dcap);
            if (!text2)
                goto out;
        }
        if (dv_charset_decode(ctx, &cs, vr, enc, elen, text2, dcap, &d2, &err) != 0)
            fuzz_fail("decode of encoded text failed");
        if (d2.flags != 0)
            fuzz_fail("encoded text does not decode cleanly");
        if (d2.len != d.len || (d.len && memcmp(text, text2, d.len) != 0))
            fuzz_fail("decode(encode(decode(x))) != decode(x)");
    }
    rc = dv_charset_encode(ctx, &utf8cs, vr, text, d.len, 0, enc, ecap, &elen, &bad, &err);
    if (rc < 0 || (rc == DV_CHARSET_UNENCODABLE && dv_charset_vr_applies(vr)))
        fuzz_fail("decoded text does not encode as ISO_IR 192");
out:
    free(in);
    free(text);
    free(text2);
    free(enc);
    return 0;
}
