/* libFuzzer target: the dictionary detectors and the per-instance deny-list (src/text/lexicon.c,
 * denylist.c, tokens.c) over arbitrary bytes, and the deny-list's OCR-tolerant match (dv_denylist_match_ocr).
 *
 * Input: deny-list values up to the first NUL, one per line as "<kind><value>" (kind P = PN, Q = PN whose first
 * byte is the character set and patient hint (DV_DL_PN_*, its low 3 bits), D = date, I = identifier, T =
 * telephone, O = institution, A = address, L = location), then the text (any bytes,
 * valid UTF-8 or not). Byte 0 of the text also picks the wanted infoTypes. Invariants (abort on violation):
 *   - both detectors succeed (the text is under the size limit) and every finding's span is non-empty,
 *     inside the text and on code point boundaries (decoding from the start of the text, an invalid byte
 *     being a unit of its own): never starting or ending inside a UTF-8 sequence;
 *   - every finding has a type the detector may report and the detector's id;
 *   - the same input gives the same findings twice (no hidden state). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/denylist.h"
#include "text/lexicon.h"
#include "text/tokens.h"

static void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_text_lexicon: invariant violated: %s\n", what);
    abort();
}

static int cont(uint8_t b)
{
    return (b & 0xC0) == 0x80;
}

/* Code point boundaries of s: where decoding from the start stops (an invalid byte is a unit of its own). */
static uint8_t *boundaries(const uint8_t *s, size_t len)
{
    uint8_t *b = calloc(len + 1, 1);
    if (!b)
        abort();
    for (size_t i = 0; i < len;) {
        b[i] = 1;
        dv_text_utf8_next(s, len, &i);
    }
    b[len] = 1;
    return b;
}

static void check(const dv_findings *f, const uint8_t *s, size_t len, dv_infotype_set allowed, int det)
{
    uint8_t *b = boundaries(s, len);
    for (size_t i = 0; i < f->n; i++) {
        const dv_finding *x = &f->v[i];
        if (x->start >= x->end || x->end > len)
            fuzz_fail("span empty or outside the text");
        if (!b[x->start] || !b[x->end] || cont(s[x->start]))
            fuzz_fail("span not on code point boundaries");
        if (x->type >= DV_IT_COUNT || !(allowed & DV_IT_BIT(x->type)) || x->detector != det)
            fuzz_fail("unexpected type or detector");
    }
    free(b);
}

static int same(const dv_findings *a, const dv_findings *b)
{
    return a->n == b->n && (a->n == 0 || memcmp(a->v, b->v, a->n * sizeof *a->v) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t vlen = nul ? (size_t)(nul - data) : 0;
    const char *text = (const char *)(nul ? nul + 1 : data);
    size_t len = nul ? size - vlen - 1 : size;

    dv_denylist *dl = dv_denylist_new();
    if (!dl)
        return 0;
    dv_error err;
    for (size_t i = 0; i < vlen;) {
        size_t e = i;
        while (e < vlen && data[e] != '\n')
            e++;
        if (e > i) {
            const char *v = (const char *)data + i + 1;
            size_t n = e - i - 1;
            int r;
            switch (data[i]) {
            case 'P': r = dv_denylist_add_person_name(dl, v, n, &err); break;
            case 'Q': /* the hints: Japanese and Korean character sets, the patient's own name (joined forms) */
                r = n ? dv_denylist_add_person_name_cs(dl, v + 1, n - 1, (unsigned char)v[0] & 7u, &err) : 0;
                break;
            case 'D': r = dv_denylist_add_date(dl, DV_IT_DATE_OF_BIRTH, v, n, &err); break;
            case 'T': r = dv_denylist_add(dl, DV_IT_PHONE_NUMBER, v, n, &err); break;
            case 'O': r = dv_denylist_add(dl, DV_IT_ORGANIZATION_NAME, v, n, &err); break;
            case 'A': r = dv_denylist_add_address(dl, v, n, &err); break;
            case 'L': r = dv_denylist_add(dl, DV_IT_LOCATION, v, n, &err); break;
            default: r = dv_denylist_add(dl, DV_IT_MEDICAL_RECORD_NUMBER, v, n, &err); break;
            }
            if (r < 0 && err.code != DV_ERR_LIMIT)
                fuzz_fail("deny-list add failed other than by its limit");
        }
        i = e + 1;
    }

    dv_infotype_set want = DV_LEX_INFOTYPES;
    if (len > 0 && (text[0] & 1))
        want &= ~DV_IT_BIT(DV_IT_PERSON_NAME); /* FIRST_NAME / LAST_NAME words instead */
    dv_findings a = {0}, b = {0};
    if (dv_detect_names(text, len, want, &a, &err) < 0 || dv_detect_names(text, len, want, &b, &err) < 0)
        fuzz_fail("dv_detect_names failed");
    check(&a, (const uint8_t *)text, len, want, DV_DET_LEXICON);
    if (!same(&a, &b))
        fuzz_fail("dv_detect_names is not deterministic");
    dv_findings_clear(&a);
    dv_findings_clear(&b);
    if (dv_detect_denylist(dl, text, len, &a, &err) < 0 || dv_detect_denylist(dl, text, len, &b, &err) < 0)
        fuzz_fail("dv_detect_denylist failed");
    check(&a, (const uint8_t *)text, len, ~(dv_infotype_set)0, DV_DET_DENYLIST);
    if (!same(&a, &b))
        fuzz_fail("dv_detect_denylist is not deterministic");
    dv_findings_free(&a);
    dv_findings_free(&b);
    /* the OCR-tolerant match of the burned-in pixel classifier: a verdict, deterministic, a type in range */
    dv_infotype t1 = DV_IT_COUNT, t2 = DV_IT_COUNT;
    int m1 = dv_denylist_match_ocr(dl, text, len, ~(dv_infotype_set)0, &t1);
    int m2 = dv_denylist_match_ocr(dl, text, len, ~(dv_infotype_set)0, &t2);
    if (m1 != m2 || (m1 && t1 != t2) || (m1 != 0 && m1 != 1) || (m1 && t1 >= DV_IT_COUNT))
        fuzz_fail("dv_denylist_match_ocr: verdict not deterministic or type out of range");
    dv_denylist_free(dl);
    return 0;
}
