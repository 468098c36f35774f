/* Clean Descriptors [CTX] matching (issue 6 item 4; PS3.15 E.3.5): phrases that equal an ORIGINAL value of an
 * attribute the Basic Profile removes or replaces (D, Z, X, U and their composites) are found in cleaned text.
 *
 * Rules (docs/text.md "[CTX] matching"; test_text_stage: test_ctx_rules):
 *  - a PN value gives each component (family, given, middle, prefix, suffix) of each component group as its own
 *    phrase (delimiters as dv_pn_delim reads them); any other value gives each of its values (`\`) whole, trimmed;
 *  - a phrase is at least 3 bytes of UTF-8 (so "Li" or an initial is not a phrase, two CJK characters are);
 *  - matching ignores width (full-width Latin forms and the ideographic space read as ASCII, half-width katakana as
 *    full width) and case (ASCII, the Latin-1 and Latin Extended-A letters, Greek and Cyrillic: fold_case2), in
 *    phrases and text alike (fold_key), and must start and end at token boundaries (the neighbours are not letters
 *    or digits; other bytes >= 0x80 count as letters), so "WALL" matches in "CHEST WALL" but not in "WALLACE";
 *  - dates match only as written in the attribute (DA "19800101"); the DATE detector covers other formats. */
#include "text/dv_ctx.h"
#include "text/pn_fold.h"
#include "text/widthfold.h"

#include <stdlib.h>
#include <string.h>

#define CTX_MIN_BYTES 3
#define CTX_MAX_PHRASES 4096
#define CTX_MAX_BYTES (256u * 1024u)

struct dv_ctx_list {
    char *buf;
    size_t nbuf, capbuf;
    uint32_t *off, *len;
    size_t n, cap;
};

dv_ctx_list *dv_ctx_list_new(void)
{
    return calloc(1, sizeof(dv_ctx_list));
}

void dv_ctx_list_free(dv_ctx_list *l)
{
    if (!l)
        return;
    free(l->buf);
    free(l->off);
    free(l->len);
    free(l);
}

void dv_ctx_list_clear(dv_ctx_list *l)
{
    l->nbuf = 0;
    l->n = 0;
}

size_t dv_ctx_list_count(const dv_ctx_list *l)
{
    return l ? l->n : 0;
}

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static int is_word(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

static int add_key(dv_ctx_list *l, const char *s, size_t n, dv_error *err);

/* Might utf8 hold a character dv_width_fold_map folds: a full-width or small form, or half-width katakana (0xEF
 * lead bytes), the ideographic space, another script's digit, or a mathematical or enclosed letter or digit
 * (widthfold.h dv_width_fold_char)? The phrase and
 * the text must agree: a phrase `رقم ٢` kept its digit while a text with a full-width character beside it was
 * folded to `رقم 2` (the reviewer of stop 48's digit folding). */
static int has_wide(const unsigned char *u, size_t len)
{
    if (memchr(u, 0xEF, len))
        return 1;
    for (size_t i = 0; i < len; i++) {
        size_t clen;
        if (dv_width_fold_char(u, i, len, &clen))
            return 1;
    }
    return 0;
}

/* One 2-byte UTF-8 letter's case fold for the compare, its length kept (so a folded text's offsets are the
 * original's): the Latin-1 and Latin Extended-A capitals to their small letters, Greek and Cyrillic as the PN fold
 * folds them (dv_pn_fold_gc: lower case, tonos and the other diacritics dropped, final sigma as sigma). 0 when cp
 * does not fold. Not folded: U+0130 (dotted capital I, whose small letter is one byte) and the letters without a
 * pair (kra, the long s). Before, only ASCII case was ignored: `MÜLLER` in the value missed `Müller` in the text
 * (docs/text.md "Not done yet" until stop 56). */
static int32_t fold_cp2(int32_t cp)
{
    if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)
        return cp + 0x20;
    if (cp >= 0x100 && cp <= 0x17F) {
        if (cp == 0x130 || cp == 0x131 || cp == 0x138 || cp == 0x149 || cp == 0x17F)
            return 0;
        if (cp == 0x178)
            return 0xFF;
        if ((cp >= 0x139 && cp <= 0x148) || cp >= 0x179) /* the capitals on odd code points */
            return (cp & 1) ? cp + 1 : 0;
        return (cp & 1) ? 0 : cp + 1;
    }
    return cp >= 0x386 && cp <= 0x52F ? dv_pn_fold_gc(cp) : 0;
}

/* Might u hold a letter fold_cp2 folds (a lead byte of U+00C0-U+052F)? */
static int has_case2(const unsigned char *u, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (u[i] >= 0xC3 && u[i] <= 0xD4)
            return 1;
    return 0;
}

/* Fold s[0, n) in place: every 2-byte letter fold_cp2 folds (to another 2-byte one), the rest as it is. */
static void fold_case2(char *s, size_t n)
{
    unsigned char *u = (unsigned char *)s;
    for (size_t i = 0; i + 1 < n; i++) {
        if (u[i] < 0xC3 || u[i] > 0xD4 || (u[i + 1] & 0xC0) != 0x80)
            continue;
        int32_t f = fold_cp2(((int32_t)(u[i] & 0x1F) << 6) | (u[i + 1] & 0x3F));
        if (f >= 0x80 && f <= 0x7FF) {
            u[i] = (unsigned char)(0xC0 | (f >> 6));
            u[i + 1] = (unsigned char)(0x80 | (f & 0x3F));
        }
        i++;
    }
}

/* A phrase's key, and the text's, as compared: full-width Latin letters, digits and punctuation and the
 * ideographic space read as ASCII, half-width katakana as full width (a value typed with a Japanese input
 * method is the same value: dv_width_fold_map), ASCII letters in lower case and so are the 2-byte letters
 * fold_case2 folds. out has room for n bytes; returns the key's length. */
static size_t fold_key(const char *s, size_t n, char *out)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t o = n;
    if (!has_wide(u, n)) { /* nothing to fold for width: the common case, a plain loop */
        for (size_t i = 0; i < n; i++)
            out[i] = (char)lower(u[i]);
    } else {
        o = dv_width_fold_map(s, n, out, NULL);
        for (size_t i = 0; i < o; i++)
            out[i] = (char)lower((unsigned char)out[i]);
    }
    fold_case2(out, o);
    return o;
}

static int add_phrase(dv_ctx_list *l, const char *s, size_t n, dv_error *err)
{
    char small[256], *key = n <= sizeof small ? small : malloc(n);
    if (!key)
        return dv_fail(err, DV_ERR_NOMEM, "out of memory");
    int rc = add_key(l, key, fold_key(s, n, key), err);
    if (key != small)
        free(key);
    return rc;
}

static int add_key(dv_ctx_list *l, const char *s, size_t n, dv_error *err)
{
    while (n && (s[0] == ' ' || s[0] == '\0'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\0'))
        n--;
    if (n < CTX_MIN_BYTES)
        return 0;
    for (size_t i = 0; i < l->n; i++) /* duplicates (a name in several attributes) are kept once */
        if (l->len[i] == n && memcmp(l->buf + l->off[i], s, n) == 0)
            return 0;
    if (l->n >= CTX_MAX_PHRASES || l->nbuf + n > CTX_MAX_BYTES)
        return dv_fail(err, DV_ERR_LIMIT, "more than %d identifying phrases or %u bytes for Clean Descriptors",
                       CTX_MAX_PHRASES, CTX_MAX_BYTES);
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        uint32_t *o = realloc(l->off, cap * sizeof *o);
        if (!o)
            return dv_fail(err, DV_ERR_NOMEM, "out of memory");
        l->off = o;
        uint32_t *ln = realloc(l->len, cap * sizeof *ln);
        if (!ln)
            return dv_fail(err, DV_ERR_NOMEM, "out of memory");
        l->len = ln;
        l->cap = cap;
    }
    if (l->nbuf + n > l->capbuf) {
        size_t cap = l->capbuf ? l->capbuf : 512;
        while (cap < l->nbuf + n)
            cap *= 2;
        char *b = realloc(l->buf, cap);
        if (!b)
            return dv_fail(err, DV_ERR_NOMEM, "out of memory");
        l->buf = b;
        l->capbuf = cap;
    }
    memcpy(l->buf + l->nbuf, s, n);
    l->off[l->n] = (uint32_t)l->nbuf;
    l->len[l->n] = (uint32_t)n;
    l->nbuf += n;
    l->n++;
    return 0;
}

int dv_ctx_list_add_value(dv_ctx_list *l, int is_pn, const char *utf8, size_t len, dv_error *err)
{
    size_t a = 0;
    for (size_t i = 0; i <= len; i++) {
        size_t dlen = 1;
        int delim = i == len || utf8[i] == '\\' ||
                    (is_pn && dv_pn_delim((const unsigned char *)utf8 + i, len - i, &dlen));
        if (!delim)
            continue;
        if (add_phrase(l, utf8 + a, i - a, err))
            return -1;
        a = i + dlen;
        i = a - 1;
    }
    return 0;
}

/* Every phrase occurrence in t[0, len) as a finding; with orig (a folded copy's map, dv_width_fold_map), its
 * span in the original text. */
static int match_all(const dv_ctx_list *l, const char *t, size_t len, const uint32_t *orig, dv_findings *out,
                     dv_error *err)
{
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && is_word((unsigned char)t[i - 1]))
            continue; /* a match starts at a token boundary */
        unsigned char c0 = lower((unsigned char)t[i]);
        for (size_t p = 0; p < l->n; p++) {
            size_t n = l->len[p];
            const char *ph = l->buf + l->off[p];
            if ((unsigned char)ph[0] != c0 || n > len - i)
                continue;
            size_t k = 1;
            while (k < n && lower((unsigned char)t[i + k]) == (unsigned char)ph[k])
                k++;
            if (k != n || (i + n < len && is_word((unsigned char)t[i + n])))
                continue;
            size_t s = orig ? orig[i] : i, e = orig ? orig[i + n] : i + n;
            if (dv_findings_add(out, (uint32_t)s, (uint32_t)e, DV_IT_CTX, DV_DET_CONTEXT, 95))
                return dv_fail(err, DV_ERR_LIMIT, "too many findings in one value");
        }
    }
    return 0;
}


int dv_ctx_detect(const dv_ctx_list *l, const char *utf8, size_t len, dv_findings *out, dv_error *err)
{
    if (!l || l->n == 0)
        return 0;
    const unsigned char *u = (const unsigned char *)utf8;
    int wide = has_wide(u, len);
    if (!wide && !has_case2(u, len))
        return match_all(l, utf8, len, NULL, out, err);
    /* Text with full-width forms or letters whose case folds is matched on its folded copy (as the deny-list and
     * the patterns are); the spans cover the original characters (the case fold keeps every offset, the width fold
     * maps them). Only such text pays for the copy. */
    if (len > UINT32_MAX)
        return dv_fail(err, DV_ERR_LIMIT, "text value too long for Clean Descriptors");
    char *f = malloc(len ? len : 1);
    uint32_t *orig = wide ? malloc((len + 1) * sizeof *orig) : NULL;
    int rc;
    if (!f || (wide && !orig)) {
        rc = dv_fail(err, DV_ERR_NOMEM, "out of memory");
    } else {
        size_t n = len;
        if (wide)
            n = dv_width_fold_map(utf8, len, f, orig);
        else
            memcpy(f, utf8, len);
        fold_case2(f, n);
        rc = match_all(l, f, n, orig, out, err);
    }
    free(f);
    free(orig);
    return rc;
}
