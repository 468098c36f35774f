/* Width folding (widthfold.h): one job, the folded copy and its offset map. */
#include "text/widthfold.h"
#include "text/tokens.h"

#include <stdlib.h>
#include <string.h>

size_t dv_width_fold_into(const char *in, size_t len, char *out, uint32_t *at, size_t *nat)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0, n = 0;
    for (size_t i = 0; i < len;) {
        char a = s[i] == 0xEF || s[i] == 0xE3 ? dv_width_ascii(s + i, len - i) : 0;
        if (a) {
            at[n++] = (uint32_t)o;
            out[o++] = a;
            i += 3;
        } else {
            out[o++] = (char)s[i++];
        }
    }
    *nat = n;
    return o;
}

size_t dv_width_fold_map(const char *in, size_t len, char *out, uint32_t *orig)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t at = i, k = 1;
        char a = s[i] == 0xEF || s[i] == 0xE3 ? dv_width_ascii(s + i, len - i) : 0;
        if (a) {
            out[o] = a;
            i += 3;
        } else if (s[i] != 0xEF || (k = dv_fold_halfwidth_kana_at(in, len, &i, out + o)) == 0) {
            k = 1;
            out[o] = (char)s[i++];
        }
        for (size_t j = 0; orig && j < k; j++)
            orig[o + j] = (uint32_t)at;
        o += k;
    }
    if (orig)
        orig[o] = (uint32_t)len;
    return o;
}

size_t dv_width_orig(const uint32_t *at, size_t nat, size_t k)
{
    size_t lo = 0, hi = nat; /* the number of folded characters that start before k */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (at[mid] < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return k + 2 * lo;
}

long dv_width_fold(dv_width_buf *b, const char *utf8, size_t len, dv_error *err)
{
    if (len > UINT32_MAX)
        return dv_fail(err, DV_ERR_LIMIT, "text value too long to fold");
    if (len > b->cap || !b->text) {
        char *t = malloc(len ? len : 1);
        uint32_t *a = malloc((len / 3 + 1) * sizeof *a);
        if (!t || !a) {
            free(t);
            free(a);
            return dv_fail(err, DV_ERR_NOMEM, "text width folding: out of memory");
        }
        free(b->text);
        free(b->at);
        b->text = t;
        b->at = a;
        b->cap = len;
    }
    b->len = dv_width_fold_into(utf8, len, b->text, b->at, &b->nat);
    return (long)b->nat;
}

void dv_width_buf_trim(dv_width_buf *b, size_t keep)
{
    if (b->cap > keep) {
        free(b->text);
        free(b->at);
        b->text = NULL;
        b->at = NULL;
        b->cap = b->len = b->nat = 0;
    }
}

void dv_width_buf_free(dv_width_buf *b)
{
    if (!b)
        return;
    free(b->text);
    free(b->at);
    memset(b, 0, sizeof *b);
}
