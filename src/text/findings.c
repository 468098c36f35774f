/* Findings: the infoType names and the growable, normalisable list every detector appends to
 * (contract: dv_text.h; issue 6). Holds offsets and types only, never text. */
#include <stdlib.h>
#include <string.h>

#include "text/dv_text.h"

/* Indexed by dv_infotype; the Healthcare API / DLP spelling. */
static const char *const infotype_names[DV_IT_COUNT] = {
    [DV_IT_PERSON_NAME] = "PERSON_NAME",
    [DV_IT_FIRST_NAME] = "FIRST_NAME",
    [DV_IT_LAST_NAME] = "LAST_NAME",
    [DV_IT_LOCATION] = "LOCATION",
    [DV_IT_ORGANIZATION_NAME] = "ORGANIZATION_NAME",
    [DV_IT_STREET_ADDRESS] = "STREET_ADDRESS",
    [DV_IT_DATE] = "DATE",
    [DV_IT_DATE_OF_BIRTH] = "DATE_OF_BIRTH",
    [DV_IT_AGE] = "AGE",
    [DV_IT_TIME] = "TIME",
    [DV_IT_PHONE_NUMBER] = "PHONE_NUMBER",
    [DV_IT_EMAIL_ADDRESS] = "EMAIL_ADDRESS",
    [DV_IT_URL] = "URL",
    [DV_IT_IP_ADDRESS] = "IP_ADDRESS",
    [DV_IT_MAC_ADDRESS] = "MAC_ADDRESS",
    [DV_IT_US_SOCIAL_SECURITY_NUMBER] = "US_SOCIAL_SECURITY_NUMBER",
    [DV_IT_CREDIT_CARD_NUMBER] = "CREDIT_CARD_NUMBER",
    [DV_IT_IBAN_CODE] = "IBAN_CODE",
    [DV_IT_US_HEALTHCARE_NPI] = "US_HEALTHCARE_NPI",
    [DV_IT_UK_NATIONAL_HEALTH_SERVICE_NUMBER] = "UK_NATIONAL_HEALTH_SERVICE_NUMBER",
    [DV_IT_MEDICAL_RECORD_NUMBER] = "MEDICAL_RECORD_NUMBER",
    [DV_IT_CTX] = "CTX",
};

const char *dv_infotype_name(dv_infotype t)
{
    if ((int)t < 0 || t >= DV_IT_COUNT)
        return NULL;
    return infotype_names[t];
}

int dv_infotype_from_name(const char *s, size_t len)
{
    if (!s)
        return -1;
    for (int t = 0; t < DV_IT_COUNT; t++) {
        const char *name = infotype_names[t];
        if (strlen(name) == len && memcmp(name, s, len) == 0)
            return t;
    }
    return -1;
}

int dv_findings_add(dv_findings *f, uint32_t start, uint32_t end, dv_infotype type, dv_detector det,
                    uint8_t score)
{
    if (f->n >= DV_FINDINGS_MAX)
        return -1;
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        if (cap > DV_FINDINGS_MAX)
            cap = DV_FINDINGS_MAX;
        dv_finding *v = realloc(f->v, cap * sizeof *v);
        if (!v)
            return -1;
        f->v = v;
        f->cap = cap;
    }
    f->v[f->n++] = (dv_finding){.start = start, .end = end, .type = (uint8_t)type,
                                .detector = (uint8_t)det, .score = score, .pad = 0};
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

/* Who wins an overlap: the higher score, then the longer span; ties broken by earlier start, then by
 * type and detector, so the result never depends on the order detectors ran in. */
static int outranks(const dv_finding *a, const dv_finding *b)
{
    if (a->score != b->score)
        return a->score > b->score;
    uint32_t la = a->end - a->start, lb = b->end - b->start;
    if (la != lb)
        return la > lb;
    if (a->start != b->start)
        return a->start < b->start;
    if (a->type != b->type)
        return a->type < b->type;
    return a->detector < b->detector;
}

static int by_start(const void *pa, const void *pb)
{
    const dv_finding *a = pa, *b = pb;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    if (outranks(a, b))
        return -1;
    return outranks(b, a) ? 1 : 0;
}

/* Max-heap of indices into v by outranks(). */
static void heap_push(size_t *h, size_t *hn, const dv_finding *v, size_t x)
{
    size_t i = (*hn)++;
    h[i] = x;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!outranks(&v[h[i]], &v[h[p]]))
            break;
        size_t t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

static void heap_pop(size_t *h, size_t *hn, const dv_finding *v)
{
    h[0] = h[--*hn];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < *hn && outranks(&v[h[l]], &v[h[m]]))
            m = l;
        if (r < *hn && outranks(&v[h[r]], &v[h[m]]))
            m = r;
        if (m == i)
            break;
        size_t t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* Without memory for the sweep: merge overlapping spans into one span typed as the best of them.
 * Coarser, but still never uncovers a byte any detector found. */
static void normalise_in_place(dv_findings *f)
{
    size_t out = 0;
    for (size_t i = 0; i < f->n; i++) {
        dv_finding c = f->v[i];
        if (c.start >= c.end)
            continue;
        if (out > 0 && c.start < f->v[out - 1].end) {
            dv_finding *p = &f->v[out - 1];
            uint32_t end = p->end > c.end ? p->end : c.end;
            if (outranks(&c, p))
                *p = c;
            p->end = end;
            continue;
        }
        f->v[out++] = c;
    }
    f->n = out;
}

/* A sweep over the span boundaries: at every byte the highest-ranked covering finding wins. A loser
 * inside a winner disappears; a loser sticking out of a winner keeps only the bytes outside it (so
 * normalising never uncovers a byte a detector found: privacy first). At most 2n pieces result. */
void dv_findings_normalise(dv_findings *f)
{
    dv_findings_normalise_text(f, NULL, 0);
}

/* A byte a cut piece may lose at its cut side: white space, the PN delimiters ^ =, and punctuation between
 * words. Not a hyphen or an apostrophe: inside a word (Johnson-Wolfeschlegelsteinhausen, O'Brien) they are
 * part of the name, and a masked surname keeps one '*' per character (integration.test_text_vr_validity). */
static int separator_byte(unsigned char c)
{
    return c != 0 && strchr(" \t\r\n^=,;:.+()/", c) != NULL;
}

/* Trim the separators at the cut sides of the pieces cut out of a loser (owner[k]: its finding in v) and drop
 * pieces with nothing else: a lone `^` or `=` between two winning name parts, the space of `Mei ` before a
 * winning `Zhang`. Those bytes are no part of what any detector found as a word. [test_findings:
 * test_normalise_text_trims_cut_pieces; test_text_stage: test_cut_pieces_cover_words_only] */
static size_t trim_cut_pieces(dv_finding *out, size_t on, const size_t *owner, const dv_finding *v,
                              const char *utf8, size_t len)
{
    size_t o = 0;
    for (size_t k = 0; k < on; k++) {
        dv_finding p = out[k];
        const dv_finding *orig = &v[owner[k]];
        if (p.end <= len) {
            if (p.start > orig->start)
                while (p.start < p.end && separator_byte((unsigned char)utf8[p.start]))
                    p.start++;
            if (p.end < orig->end)
                while (p.end > p.start && separator_byte((unsigned char)utf8[p.end - 1]))
                    p.end--;
        }
        if (p.start < p.end)
            out[o++] = p;
    }
    return o;
}

void dv_findings_normalise_text(dv_findings *f, const char *utf8, size_t len)
{
    if (!f || f->n == 0)
        return;
    size_t n = f->n;
    qsort(f->v, n, sizeof *f->v, by_start);
    /* the heap (n) and, after it, each output piece's owner (at most 2n pieces) */
    size_t *heap = malloc(3 * n * sizeof *heap);
    dv_finding *out = malloc(2 * n * sizeof *out);
    if (!heap || !out) {
        free(heap);
        free(out);
        normalise_in_place(f);
        return;
    }
    const dv_finding *v = f->v;
    size_t *owner = heap + n;
    size_t hn = 0, i = 0, on = 0, last_owner = (size_t)-1;
    uint32_t pos = 0;
    while (i < n || hn > 0) {
        if (hn == 0 && v[i].start > pos)
            pos = v[i].start;
        while (i < n && v[i].start <= pos) {
            if (v[i].end > pos)
                heap_push(heap, &hn, v, i);
            i++;
        }
        while (hn > 0 && v[heap[0]].end <= pos)
            heap_pop(heap, &hn, v);
        if (hn == 0)
            continue;
        size_t w = heap[0];
        uint32_t next = v[w].end;
        if (i < n && v[i].start < next)
            next = v[i].start;
        if (on > 0 && last_owner == w && out[on - 1].end == pos) {
            out[on - 1].end = next;
        } else {
            out[on] = v[w];
            out[on].start = pos;
            out[on].end = next;
            owner[on] = w;
            on++;
        }
        last_owner = w;
        pos = next;
    }
    if (utf8)
        on = trim_cut_pieces(out, on, owner, v, utf8, len);
    free(heap);
    if (on > f->cap) {
        /* Splitting made more pieces than the list holds: hand over the sweep's buffer. */
        free(f->v);
        f->v = out;
        f->cap = 2 * n;
    } else {
        memcpy(f->v, out, on * sizeof *out);
        free(out);
    }
    f->n = on;
}
