/* Per-worker memo of detector findings (text_memo.h): a direct-mapped table keyed by a hash of the text, the
 * text itself compared byte for byte. */
#include <stdlib.h>
#include <string.h>

#include "engine/text_memo.h"

typedef struct memo_slot {
    uint64_t hash;
    dv_memo_key key;
    uint32_t len, nbase, ndeny;
    uint32_t ntok; /* NO_TOKS: the text's tokens are not kept */
    char text[DV_TEXT_MEMO_MAX_TEXT];
    dv_finding f[DV_TEXT_MEMO_MAX_FINDINGS];
    dv_tok t[DV_TEXT_MEMO_MAX_TOKS];
    char keys[DV_TEXT_MEMO_MAX_KEYS];
} memo_slot;
#define NO_TOKS UINT32_MAX

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
        if (m->slot[i]) { /* PHI: the text and its words (keys, folded) not left behind in freed memory */
            explicit_bzero(m->slot[i]->text, sizeof m->slot[i]->text);
            explicit_bzero(m->slot[i]->keys, sizeof m->slot[i]->keys);
        }
        free(m->slot[i]);
    }
    free(m);
}

int dv_text_memo_get(dv_text_memo *m, const dv_memo_key *k, const char *text, size_t len, dv_findings *out,
                     int *deny_hit, dv_toks *tk, int *have_tk, dv_error *err)
{
    *deny_hit = 0;
    if (have_tk)
        *have_tk = 0;
    if (!m || len > DV_TEXT_MEMO_MAX_TEXT)
        return 0;
    uint64_t h = hash_of(k, text, len);
    memo_slot *s = m->slot[h & (DV_TEXT_MEMO_SLOTS - 1)];
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
    if (tk && have_tk && s->ntok != NO_TOKS) {
        tk->t = s->t;
        tk->keys = s->keys;
        tk->n = s->ntok;
        tk->heap = 0; /* dv_toks_free leaves them */
        *have_tk = 1;
    }
    return 1;
}

/* Keep tk's tokens in s when they fit (NO_TOKS when not): n tokens, and their keys up to the last key's end. */
static void keep_toks(memo_slot *s, const dv_toks *tk)
{
    if (tk && tk->t == s->t) /* the slot's own tokens, given by dv_text_memo_get for this text */
        return;
    s->ntok = NO_TOKS;
    if (!tk || tk->n > DV_TEXT_MEMO_MAX_TOKS)
        return;
    size_t keys_end = 0;
    for (size_t i = 0; i < tk->n; i++)
        if ((size_t)tk->t[i].key + tk->t[i].keylen > keys_end)
            keys_end = (size_t)tk->t[i].key + tk->t[i].keylen;
    if (keys_end + 1 > sizeof s->keys)
        return;
    if (tk->n)
        memcpy(s->t, tk->t, tk->n * sizeof tk->t[0]);
    memcpy(s->keys, tk->keys, keys_end);
    s->keys[keys_end] = '\0'; /* a last empty key starts here */
    s->ntok = (uint32_t)tk->n;
}

void dv_text_memo_put(dv_text_memo *m, const dv_memo_key *k, const char *text, size_t len, const dv_findings *f,
                      size_t nbase, const dv_toks *tk)
{
    if (!m || len > DV_TEXT_MEMO_MAX_TEXT || f->n > DV_TEXT_MEMO_MAX_FINDINGS || nbase > f->n)
        return;
    uint64_t h = hash_of(k, text, len);
    memo_slot **ps = &m->slot[h & (DV_TEXT_MEMO_SLOTS - 1)];
    if (!*ps) {
        if (!(*ps = malloc(sizeof **ps)))
            return;
        (*ps)->ntok = NO_TOKS;
    }
    memo_slot *s = *ps;
    if (tk && tk->t == s->t && (s->len != len || memcmp(s->text, text, len) != 0))
        tk = NULL; /* not this text's tokens (cannot happen: the same text and key find the same slot) */
    keep_toks(s, tk);
    s->hash = h;
    s->key = *k;
    s->len = (uint32_t)len;
    memcpy(s->text, text, len);
    s->nbase = (uint32_t)nbase;
    s->ndeny = (uint32_t)(f->n - nbase);
    if (f->n)
        memcpy(s->f, f->v, f->n * sizeof f->v[0]);
}
