/* Width folding (widthfold.h): one job, the folded copy and its offset map. */
#include "text/widthfold.h"
#include "text/tokens.h"

#include <stdlib.h>
#include <string.h>

char dv_native_digit_ascii(const unsigned char *s, size_t n, size_t *clen, uint32_t *zero)
{
    uint32_t cp;
    size_t len;
    if (n >= 2 && (s[0] == 0xD9 || s[0] == 0xDB || s[0] == 0xDF) && (s[1] & 0xC0) == 0x80) {
        cp = (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3Fu);
        len = 2;
    } else if (n >= 3 && (s[0] == 0xE0 || s[0] == 0xE1) && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
        cp = (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3Fu);
        if (cp < 0x800) /* E0 80-9F: an overlong form, no character */
            return 0;
        len = 3;
    } else {
        return 0;
    }
    int d = dv_native_digit((int32_t)cp);
    if (d < 0)
        return 0;
    if (clen)
        *clen = len;
    if (zero)
        *zero = cp - (uint32_t)d;
    return (char)('0' + d);
}

size_t dv_width_fold_into(const char *in, size_t len, char *out, uint32_t *at, uint32_t *cum, size_t *nat)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0, n = 0, saved = 0, k = 0;
    for (size_t i = 0; i < len;) {
        char a = dv_width_fold_char(s + i, len - i, &k);
        if (a) {
            saved += k - 1;
            at[n] = (uint32_t)o;
            cum[n++] = (uint32_t)saved;
            out[o++] = a;
            i += k;
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
        size_t at = i, k = 1, clen = 0;
        char a = dv_width_fold_char(s + i, len - i, &clen);
        if (a) {
            out[o] = a;
            i += clen;
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

size_t dv_width_orig(const dv_width_buf *b, size_t k)
{
    size_t lo = 0, hi = b->nat; /* the number of folded characters that start before k */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->at[mid] < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return k + (lo ? b->cum[lo - 1] : 0);
}

long dv_width_fold(dv_width_buf *b, const char *utf8, size_t len, dv_error *err)
{
    if (len > UINT32_MAX)
        return dv_fail(err, DV_ERR_LIMIT, "text value too long to fold");
    if (len > b->cap || !b->text) {
        char *t = malloc(len ? len : 1);
        uint32_t *a = malloc((len / 2 + 1) * sizeof *a), *c = malloc((len / 2 + 1) * sizeof *c);
        if (!t || !a || !c) {
            free(t);
            free(a);
            free(c);
            return dv_fail(err, DV_ERR_NOMEM, "text width folding: out of memory");
        }
        free(b->text);
        free(b->at);
        free(b->cum);
        b->text = t;
        b->at = a;
        b->cum = c;
        b->cap = len;
    }
    b->len = dv_width_fold_into(utf8, len, b->text, b->at, b->cum, &b->nat);
    return (long)b->nat;
}

void dv_width_buf_trim(dv_width_buf *b, size_t keep)
{
    if (b->cap > keep) {
        free(b->text);
        free(b->at);
        free(b->cum);
        b->text = NULL;
        b->at = NULL;
        b->cum = NULL;
        b->cap = b->len = b->nat = 0;
    }
}

void dv_width_buf_free(dv_width_buf *b)
{
    if (!b)
        return;
    free(b->text);
    free(b->at);
    free(b->cum);
    memset(b, 0, sizeof *b);
}
