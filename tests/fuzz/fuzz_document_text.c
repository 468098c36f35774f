/* libFuzzer target: the structure reader of text documents (src/engine/document_text.c), the XML/CDA walker the
 * text stage runs on an Encapsulated CDA or an XML report under DEIDENTIFY_TAG_CONTENTS. It reads tags and text
 * without parsing, on whatever bytes an instance carries; the reader corpus rarely reaches it (an instance must
 * name an XML MIME type), so it is fuzzed here alone, in the order text_stage.c clean_document calls it.
 *
 * The input is the document (at most 64 KiB). Checked (abort, so libFuzzer keeps the input):
 *   1. the sniffers agree: a document dv_doc_is_text accepts has no PDF header;
 *   2. dv_doc_drop_base64 only shrinks the document, and when it says nothing but white space went, the bytes
 *      other than white space are the same, in order;
 *   3. dv_esc_decode (text/escapes.h: character references and %-escapes, read as markup when the first byte
 *      is even, with a lone %-escaped byte read as Latin-1): the escapes are in order, inside the document and
 *      inside the decoded copy, each at least as long as the character it stands for, and the copy is never
 *      longer than the document; dv_esc_to_original maps every position of the copy into the document, in order;
 *   4. besides spans a detector might give (on the copy, mapped back; and on the document, cutting references),
 *      dv_doc_fields (every infoType; UTF-8 documents, as the stage gives it): each finding is a non-empty span
 *      inside the document;
 *   5. after dv_findings_normalise_text and dv_esc_widen the findings are sorted and disjoint, and
 *      dv_esc_substitute writes at most the document's length with every finding inside what it wrote;
 *   6. dv_doc_fixed_identifier is asked at each quote-led digit run (the first 64) and never reads outside.
 * Memory safety by the sanitizers. The seeds (tests/fuzz/corpus/document_text/) are small CDA and XML reports. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/document_text.h"
#include "text/escapes.h"
#include "util/dv_utf8.h"

#define DOC_MAX (64u * 1024u)

static void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_document_text: invariant violated: %s\n", what);
    abort();
}

static int space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* The bytes of a[0, an) and b[0, bn) other than white space are the same. */
static int same_but_space(const char *a, size_t an, const char *b, size_t bn)
{
    size_t i = 0, j = 0;
    for (;;) {
        while (i < an && space(a[i]))
            i++;
        while (j < bn && space(b[j]))
            j++;
        if (i == an || j == bn)
            return i == an && j == bn;
        if (a[i++] != b[j++])
            return 0;
    }
}

static void check_sorted(const dv_findings *f, size_t n, const char *what)
{
    for (size_t i = 0; i < f->n; i++) {
        if (f->v[i].start > f->v[i].end || f->v[i].end > n)
            fuzz_fail(what);
        if (i > 0 && f->v[i].start < f->v[i - 1].end)
            fuzz_fail(what);
    }
}

static void check_refs(const dv_escapes *r, size_t n)
{
    if (r->n == 0)
        return;
    if (r->dn > n)
        fuzz_fail("the decoded copy is longer than the document");
    for (size_t i = 0; i < r->n; i++) {
        const dv_esc *x = &r->v[i];
        if (x->olen == 0 || x->dlen == 0 || x->dlen > x->olen || (size_t)x->opos + x->olen > n ||
            (size_t)x->dpos + x->dlen > r->dn)
            fuzz_fail("a reference outside the document or its copy");
        if (i > 0 && (x->opos < r->v[i - 1].opos + r->v[i - 1].olen || x->dpos < r->v[i - 1].dpos + r->v[i - 1].dlen))
            fuzz_fail("references out of order");
    }
    size_t last = 0;
    for (size_t p = 0; p <= r->dn; p++) {
        size_t o = dv_esc_to_original(r, p, 0), e = dv_esc_to_original(r, p, 1);
        if (o > n || e > n || o < last || e < o)
            fuzz_fail("dv_esc_to_original out of the document or out of order");
        last = o;
    }
}

static int32_t latin1_byte(void *user, uint8_t b)
{
    (void)user;
    return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > DOC_MAX)
        return 0;
    dv_error err;
    memset(&err, 0, sizeof err);
    (void)dv_doc_mime_is_text(data, size < 64 ? size : 64);
    (void)dv_doc_mime_is_markup(data, size < 64 ? size : 64);
    if (dv_doc_is_text(data, size) && dv_doc_has_pdf_header(data, size))
        fuzz_fail("a PDF taken for text");

    char *t = malloc(size + 1), *orig = malloc(size + 1), *out = malloc(size + 1);
    if (!t || !orig || !out)
        abort();
    memcpy(t, data, size);
    memcpy(orig, data, size);
    size_t n = size;
    int dropped = dv_doc_drop_base64(t, &n);
    if (n > size)
        fuzz_fail("dv_doc_drop_base64 grew the document");
    if (!dropped && !same_but_space(orig, size, t, n))
        fuzz_fail("dv_doc_drop_base64 removed more than white space and said it did not");
    (void)dv_doc_is_markup(t, n);

    dv_escapes refs;
    memset(&refs, 0, sizeof refs);
    dv_findings f;
    memset(&f, 0, sizeof f);
    if (dv_esc_decode(t, n, size && data[0] % 2 == 0 ? DV_ESC_MARKUP : 0, latin1_byte, NULL, &refs, &err) != 0)
        abort(); /* only out of memory */
    check_refs(&refs, n);
    /* A detector's findings on the copy, mapped back as detect_decoded does: spans picked by the input's bytes */
    for (size_t i = 0; refs.n && i + 1 < refs.dn && f.n < 16; i += 1 + (uint8_t)refs.dec[i] % 7) {
        size_t a = i, b = i + 1 + (uint8_t)refs.dec[i + 1] % 9;
        if (b > refs.dn)
            b = refs.dn;
        if (dv_findings_add(&f, (uint32_t)dv_esc_to_original(&refs, a, 0),
                            (uint32_t)dv_esc_to_original(&refs, b, 1), (dv_infotype)(a % DV_IT_CTX),
                            DV_DET_PATTERN, (uint8_t)(b * 13)) != 0)
            abort();
    }
    /* and spans of the document itself, which may cut a reference (what dv_esc_widen is for) */
    for (size_t i = 0; i + 1 < n && f.n < 32; i += 1 + (uint8_t)t[i] % 5) {
        size_t b = i + 1 + (uint8_t)t[i + 1] % 6;
        if (dv_findings_add(&f, (uint32_t)i, (uint32_t)(b > n ? n : b), (dv_infotype)(i % DV_IT_CTX),
                            DV_DET_LEXICON, (uint8_t)(i * 7)) != 0)
            abort();
    }
    if (dv_utf8_valid((const uint8_t *)t, n)) {
        size_t before = f.n;
        dv_infotype_set all = (dv_infotype_set)((1u << DV_IT_COUNT) - 1) & ~DV_IT_BIT(DV_IT_CTX);
        if (dv_doc_fields(t, n, all, &f, &err) != 0)
            abort(); /* only out of memory */
        for (size_t i = before; i < f.n; i++)
            if (f.v[i].start >= f.v[i].end || f.v[i].end > n)
                fuzz_fail("a structure finding empty or outside the document");
    }
    if (f.n) {
        /* the spans picked above may cut a UTF-8 character of a non-UTF-8 document: normalise only UTF-8 text */
        if (dv_utf8_valid((const uint8_t *)t, n))
            dv_findings_normalise_text(&f, t, n);
        else
            dv_findings_normalise(&f);
        check_sorted(&f, n, "findings out of order or outside after normalising");
    }
    if (refs.n) {
        dv_esc_widen(&refs, &f);
        check_sorted(&f, n, "findings out of order or outside after widening");
        size_t sn = dv_esc_substitute(&refs, t, n, DV_IT_BIT(DV_IT_DATE), DV_IT_BIT(DV_IT_PERSON_NAME), &f, out);
        if (sn > n)
            fuzz_fail("dv_esc_substitute wrote more than the document");
        check_sorted(&f, sn, "findings out of order or outside what dv_esc_substitute wrote");
    }
    int asked = 0;
    for (size_t i = 1; i < n && asked < 64; i++)
        if ((t[i - 1] == '"' || t[i - 1] == '\'') && t[i] >= '0' && t[i] <= '9') {
            (void)dv_doc_fixed_identifier(t, n, i);
            asked++;
        }
    dv_findings_free(&f);
    dv_escapes_free(&refs);
    free(t);
    free(orig);
    free(out);
    return 0;
}
