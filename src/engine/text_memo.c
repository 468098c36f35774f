/* Per-worker memo of detector findings (text_memo.h): a direct-mapped table keyed by a hash of the text, the
 * text itself compared byte for byte. */
#include <stdlib.h>
#include <string.h>

#include "engine/text_memo.h"

typedef struct memo_slot {
    uint64_t hash;
    dv_memo_key key;
    uint32_t len, nbase, ndeny;
    char text[DV_TEXT_MEMO_MAX_TEXT];
    dv_finding f[DV_TEXT_MEMO_MAX_FINDINGS];
} memo_slot;

struct dv_text_memo {
    memo_slot *slot[DV_TEXT_MEMO_SLOTS]; /* each allocated on first use */
};

static uint64_t hash_of(const dv_memo_key *k, const char *t, size_t n)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)k->want; /* FNV-1a 64 */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)t[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

dv_text_memo *dv_text_memo_new(void)
{
    return calloc(1, sizeof(dv_text_memo));
}

void dv_text_memo_free(dv_text_memo *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < DV_TEXT_MEMO_SLOTS; i++) {
        if (m->slot[i]) {
            volatile char *t = m->slot[i]->text; /* PHI: not left behind in freed memory */
            for (size_t k = 0; k < sizeof m->slot[i]->text; k++)
                t[k] = 0;
        }
        free(m->slot[i]);
    }
    free(m);
}

int dv_text_memo_get(const dv_text_memo *m, const dv_memo_key *k, const char *text, size_t len, dv_findings *out,
                     int *deny_hit, dv_error *err)
{
    *deny_hit = 0;
    if (!m || len > DV_TEXT_MEMO_MAX_TEXT)
        return 0;
    uint64_t h = hash_of(k, text, len);
    const memo_slot *s = m->slot[h & (DV_TEXT_MEMO_SLOTS - 1)];
    if (!s || s->hash != h || s->len != len || s->key.patterns != k->patterns || s->key.want != k->want ||
        memcmp(s->text, text, len) != 0)
        return 0;
    int deny = s->key.deny_gen == k->deny_gen;
    size_t n = s->nbase + (deny ? s->ndeny : 0);
    for (size_t i = 0; i < n; i++) {
        const dv_finding *x = &s->f[i];
        if (dv_findings_add(out, x->start, x->end, (dv_infotype)x->type, (dv_detector)x->detector, x->score) != 0)
            return dv_fail(err, DV_ERR_LIMIT, "text value has more than %u findings", DV_FINDINGS_MAX);
    }
    *deny_hit = deny;
    return 1;
}

void dv_text_memo_put(dv_text_memo *m, const dv_memo_key *k, const char *text, size_t len, const dv_findings *f,
                      size_t nbase)
{
    if (!m || len > DV_TEXT_MEMO_MAX_TEXT || f->n > DV_TEXT_MEMO_MAX_FINDINGS || nbase > f->n)
        return;
    uint64_t h = hash_of(k, text, len);
    memo_slot **ps = &m->slot[h & (DV_TEXT_MEMO_SLOTS - 1)];
    if (!*ps && !(*ps = malloc(sizeof **ps)))
        return;
    memo_slot *s = *ps;
    s->hash = h;
    s->key = *k;
    s->len = (uint32_t)len;
    memcpy(s->text, text, len);
    s->nbase = (uint32_t)nbase;
    s->ndeny = (uint32_t)(f->n - nbase);
    if (f->n)
        memcpy(s->f, f->v, f->n * sizeof f->v[0]);
}
