/* TEST-ONLY stand-in for src/text/findings.c (owned by the text-detect package, not yet on this branch):
 * just enough of the dv_text.h findings contract for the lexicon and deny-list tests. tests/CMakeLists.txt
 * links it only while src/text/findings.c does not exist; delete it once that file is merged. */
#include <stdlib.h>
#include <string.h>

#include "text/dv_text.h"

static const char *const shim_names[DV_IT_COUNT] = {
    "PERSON_NAME", "FIRST_NAME", "LAST_NAME", "LOCATION", "ORGANIZATION_NAME", "STREET_ADDRESS", "DATE",
    "DATE_OF_BIRTH", "AGE", "TIME", "PHONE_NUMBER", "EMAIL_ADDRESS", "URL", "IP_ADDRESS", "MAC_ADDRESS",
    "US_SOCIAL_SECURITY_NUMBER", "CREDIT_CARD_NUMBER", "IBAN_CODE", "US_HEALTHCARE_NPI",
    "UK_NATIONAL_HEALTH_SERVICE_NUMBER", "MEDICAL_RECORD_NUMBER", "CTX"};

const char *dv_infotype_name(dv_infotype t)
{
    return (int)t >= 0 && t < DV_IT_COUNT ? shim_names[t] : NULL;
}

int dv_infotype_from_name(const char *s, size_t len)
{
    for (int t = 0; s && t < DV_IT_COUNT; t++)
        if (strlen(shim_names[t]) == len && memcmp(shim_names[t], s, len) == 0)
            return t;
    return -1;
}

int dv_findings_add(dv_findings *f, uint32_t start, uint32_t end, dv_infotype type, dv_detector det,
                    uint8_t score)
{
    if (f->n >= DV_FINDINGS_MAX)
        return -1;
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        dv_finding *v = realloc(f->v, cap * sizeof *v);
        if (!v)
            return -1;
        f->v = v;
        f->cap = cap;
    }
    f->v[f->n++] = (dv_finding){start, end, (uint8_t)type, (uint8_t)det, score, 0};
    return 0;
}

void dv_findings_clear(dv_findings *f)
{
    f->n = 0;
}

void dv_findings_free(dv_findings *f)
{
    free(f->v);
    f->v = NULL;
    f->n = f->cap = 0;
}

static int by_start(const void *a, const void *b)
{
    const dv_finding *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->end > y->end ? -1 : x->end < y->end;
}

/* Simplified: sort, then drop a finding that starts inside the previous kept one. */
void dv_findings_normalise(dv_findings *f)
{
    if (f->n < 2)
        return;
    qsort(f->v, f->n, sizeof *f->v, by_start);
    size_t k = 0;
    for (size_t i = 1; i < f->n; i++) {
        if (f->v[i].start < f->v[k].end) {
            if (f->v[i].end > f->v[k].end)
                f->v[k].end = f->v[i].end;
            continue;
        }
        f->v[++k] = f->v[i];
    }
    f->n = k + 1;
}
