/* OCR-tolerant matching of an instance's deny-list (denylist.h dv_denylist_match_ocr). */
#include <string.h>

#include "text/denylist_internal.h"
#include "text/edits.h"

/* One class per group of characters OCR confuses (O/0/Q/D, I/1/l/|/!, S/5/$, B/8, Z/2, G/6), the rest in
 * capitals; 0 for a character that is no letter or digit (a separator, dropped). */
static char ocr_class(unsigned char c)
{
    if (c >= 'a' && c <= 'z')
        c = (unsigned char)(c - 'a' + 'A');
    switch (c) {
    case '0': case 'O': case 'Q': case 'D': return 'O';
    case '1': case 'I': case 'L': case '|': case '!': return 'I';
    case '5': case 'S': case '$': return 'S';
    case '8': case 'B': return 'B';
    case '2': case 'Z': return 'Z';
    case '6': case 'G': return 'G';
    default: break;
    }
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ? (char)c : 0;
}

/* key[0, n) in classes, separators dropped, into out (cap bytes); returns the length (0 when it does not fit). */
static size_t ocr_key(const char *key, size_t n, char *out, size_t cap, int *letters)
{
    size_t m = 0;
    *letters = 0;
    for (size_t i = 0; i < n; i++) {
        char c = ocr_class((unsigned char)key[i]);
        if (!c)
            continue;
        if (m == cap)
            return 0;
        *letters |= c >= 'A' && c <= 'Z' && !((unsigned char)key[i] >= '0' && (unsigned char)key[i] <= '9');
        out[m++] = c;
    }
    return m;
}

#define OCR_KEY_MAX 64u
#define OCR_TEXT_MAX 512u

typedef struct ocr_text {
    char s[OCR_TEXT_MAX];      /* the reading in classes, separators dropped */
    size_t n;
    uint16_t start[OCR_TEXT_MAX]; /* where each token begins in s */
    uint16_t end[OCR_TEXT_MAX];
    size_t ntok;
} ocr_text;

/* Edits allowed for a key of n classes: none under 6 (and then only a whole token: a short key is a common
 * word or a fragment too often), none for 6 digits (a clock, a short number), 1 up to 9, 2 from 10. */
static unsigned ocr_edits(size_t n, int letters)
{
    return n >= 10 ? 2u : n >= 7 ? 1u : (n == 6 && letters) ? 1u : 0u;
}

/* 1 when key[0, m) is within k edits of a prefix of some token-initial suffix of t (a key starts where a
 * word of the reading starts; where it ends is free: run-together words). Keys under 6 classes: a whole token. */
static int ocr_near(const ocr_text *t, const char *key, size_t m, unsigned k)
{
    if (m < 6) {
        for (size_t i = 0; i < t->ntok; i++)
            if ((size_t)(t->end[i] - t->start[i]) == m && memcmp(t->s + t->start[i], key, m) == 0)
                return 1;
        return 0;
    }
    unsigned row[OCR_KEY_MAX + 1];
    for (size_t i = 0; i < t->ntok; i++) {
        const char *s = t->s + t->start[i];
        size_t avail = t->n - t->start[i], lim = m + k < avail ? m + k : avail;
        if (lim + k < m)
            continue;
        /* row[j]: edits between key[0, j) and s[0, c) for the current column c */
        for (size_t j = 0; j <= m; j++)
            row[j] = (unsigned)j;
        if (row[m] <= k)
            return 1;
        for (size_t c = 1; c <= lim; c++) {
            unsigned best = dv_edits_step(row, key, m, s[c - 1]);
            if (row[m] <= k)
                return 1;
            if (best > k)
                break;
        }
    }
    return 0;
}

static int name_wanted(dv_infotype_set want, dv_infotype *type)
{
    static const dv_infotype order[] = {DV_IT_PERSON_NAME, DV_IT_LAST_NAME, DV_IT_FIRST_NAME};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++)
        if (want & DV_IT_BIT(order[i])) {
            *type = order[i];
            return 1;
        }
    return 0;
}

int dv_denylist_match_ocr(const dv_denylist *dl, const char *utf8, size_t len, dv_infotype_set want,
                          dv_infotype *type)
{
    if (!dl || !utf8 || len == 0 || (dl->nph == 0 && dl->nparts == 0))
        return 0;
    ocr_text t;
    t.n = t.ntok = 0;
    int in = 0;
    for (size_t i = 0; i < len && t.n < OCR_TEXT_MAX; i++) {
        char c = ocr_class((unsigned char)utf8[i]);
        if (!c) {
            if (in)
                t.end[t.ntok++] = (uint16_t)t.n;
            in = 0;
            continue;
        }
        if (!in)
            t.start[t.ntok] = (uint16_t)t.n;
        in = 1;
        t.s[t.n++] = c;
    }
    if (in)
        t.end[t.ntok++] = (uint16_t)t.n;
    char key[OCR_KEY_MAX];
    int letters;
    dv_infotype nt;
    if (name_wanted(want, &nt))
        for (size_t p = 0; p < dl->nparts; p++) {
            const dl_part *pt = &dl->parts[p];
            /* a part that is also a common word, a particle, a title or suffix matches only exactly, with
             * its context (dv_detect_denylist); CJK is read by no Latin OCR model */
            if (pt->common || pt->particle || pt->cjk || pt->role == ROLE_PREFIX || pt->role == ROLE_SUFFIX ||
                pt->len < 4)
                continue;
            size_t m = ocr_key(pt->key, pt->len, key, sizeof key, &letters);
            if (m >= 4 && ocr_near(&t, key, m, ocr_edits(m, letters))) {
                *type = nt;
                return 1;
            }
        }
    for (size_t p = 0; p < dl->nph; p++) {
        const dl_phrase *ph = &dl->ph[p];
        if (ph->type >= DV_IT_COUNT || !(want & DV_IT_BIT(ph->type)))
            continue;
        size_t m = ocr_key(ph->key, ph->len, key, sizeof key, &letters);
        if (m >= 6 && ocr_near(&t, key, m, ocr_edits(m, letters))) {
            *type = (dv_infotype)ph->type;
            return 1;
        }
        /* an institution of 3+ words also without its last word (an overlay abbreviates it: Riverside
         * Imaging Ctr for Riverside Imaging Center) */
        if (ph->kind == PH_ORG && ph->nwords >= 3) {
            size_t lw = ph->nwords - 1;
            size_t mh = ocr_key(ph->key, (size_t)ph->woff[lw] - 1, key, sizeof key, &letters);
            if (mh >= 10 && ocr_near(&t, key, mh, ocr_edits(mh, letters))) {
                *type = (dv_infotype)ph->type;
                return 1;
            }
        }
        /* ... or by one specific word of 6+ letters (NORTHFIELD) */
        for (size_t w = 0; ph->kind == PH_ORG && w < ph->nwords; w++) {
            const char *wk = ph->key + ph->woff[w];
            if (ph->wlen[w] < 6 ||
                (dv_lex_lookup(wk, ph->wlen[w]) & (DV_LEX_ORGGENERIC | DV_LEX_ORGHEAD | DV_LEX_ENG)))
                continue;
            size_t mw = ocr_key(wk, ph->wlen[w], key, sizeof key, &letters);
            if (mw >= 6 && ocr_near(&t, key, mw, ocr_edits(mw, letters))) {
                *type = (dv_infotype)ph->type;
                return 1;
            }
        }
    }
    return 0;
}

