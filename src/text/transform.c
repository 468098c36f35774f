/* TextConfig transformations applied to one element's text (issue 6 item 3). The rules that keep the result
 * valid for its VR live here, once: values split at `\` for multi-valued VRs, PN delimiters kept, DA/DT/AS as
 * whole values, every value cut to its VR's length in characters. docs/text.md "Transformations". */
#include "text/dv_transform.h"

#include <stdlib.h>
#include <string.h>

#include "dicom/dv_vr.h"

void dv_text_resolve(const dv_text_config *tc, dv_xform out[DV_IT_COUNT])
{
    dv_text_profile prof = tc ? tc->profile : DV_TEXT_PROFILE_UNSPECIFIED;
    const dv_xform *dflt = NULL;
    for (size_t i = 0; tc && i < tc->nxf && !dflt; i++)
        if (tc->xf[i].types == 0)
            dflt = &tc->xf[i].xf;
    for (int t = 0; t < DV_IT_COUNT; t++) {
        memset(&out[t], 0, sizeof out[t]);
        if (tc && (tc->exclude & DV_IT_BIT(t)))
            continue; /* excludeInfoTypes wins over everything (gcp-api.md 6.1) */
        const dv_xform *x = NULL;
        for (size_t i = 0; tc && i < tc->nxf && !x; i++)
            if (tc->xf[i].types & DV_IT_BIT(t))
                x = &tc->xf[i].xf;
        if (!x)
            x = dflt;
        if (x) {
            out[t] = *x;
        } else if (prof != DV_TEXT_PROFILE_EMPTY) {
            out[t].kind = t == DV_IT_DATE ? DV_XF_DATE_SHIFT : DV_XF_REPLACE_INFOTYPE;
        }
    }
}

int dv_clean_text_vr(uint16_t vr)
{
    return dv_vr_cleans_text(vr);
}

size_t dv_vr_max_chars(uint16_t vr)
{
    switch (vr) {
    case DV_VR_AE: case DV_VR_CS: case DV_VR_DS: case DV_VR_SH: return 16;
    case DV_VR_AS: return 4;
    case DV_VR_DA: return 8;
    case DV_VR_DT: return 26;
    case DV_VR_IS: return 12;
    case DV_VR_TM: return 14;
    case DV_VR_LO: case DV_VR_PN: return 64; /* PN: per component group */
    case DV_VR_ST: return 1024;
    case DV_VR_LT: return 10240;
    default: return 0;
    }
}

void dv_strbuf_free(dv_strbuf *b)
{
    if (!b)
        return;
    free(b->v);
    memset(b, 0, sizeof *b);
}

static int sb_put(dv_strbuf *b, const char *s, size_t n, dv_error *err)
{
    if (n == 0)
        return 0;
    if (b->n + n > DV_TEXT_OUT_MAX)
        return dv_fail(err, DV_ERR_LIMIT, "transformed text longer than %u bytes", DV_TEXT_OUT_MAX);
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n)
            cap *= 2;
        char *v = realloc(b->v, cap);
        if (!v)
            return dv_fail(err, DV_ERR_NOMEM, "out of memory transforming text");
        b->v = v;
        b->cap = cap;
    }
    memcpy(b->v + b->n, s, n);
    b->n += n;
    return 0;
}

static int is_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

static int multi_valued(uint16_t vr)
{
    return vr != DV_VR_LT && vr != DV_VR_ST && vr != DV_VR_UT && vr != DV_VR_UR;
}

static const uint8_t *key_of(const dv_xform *x, const dv_text_instance *ti, size_t *len)
{
    if (x->key_len) {
        *len = x->key_len;
        return x->key;
    }
    *len = ti ? ti->run_key_len : 0;
    return ti ? ti->run_key : NULL;
}

int dv_text_shift_days(const dv_xform *x, const dv_text_instance *ti)
{
    size_t kl;
    const uint8_t *k = key_of(x, ti, &kl);
    if (!ti)
        return 0;
    if (x->key_len == 0 && ti->run_shift_days)
        return ti->run_shift_days;
    if (ti->patient_id && ti->patient_id_len)
        return dv_date_shift_days(k, kl, ti->patient_id, ti->patient_id_len);
    return dv_date_shift_days(k, kl, ti->study_uid, ti->study_uid ? ti->study_uid_len : 0);
}

/* One piece of a finding (inside one value and, for PN, one component). */
static int apply_piece(const dv_xform *x, dv_infotype type, const dv_text_instance *ti, uint16_t vr,
                       const char *s, size_t n, dv_strbuf *out, dv_error *err)
{
    switch (x->kind) {
    case DV_XF_NONE:
        return sb_put(out, s, n, err);
    case DV_XF_REDACT:
        return 0;
    case DV_XF_REPLACE_INFOTYPE: {
        const char *name = dv_infotype_name(type);
        if (!name)
            return 0;
        return sb_put(out, "[", 1, err) || sb_put(out, name, strlen(name), err) || sb_put(out, "]", 1, err) ? -1 : 0;
    }
    case DV_XF_MASK: {
        const char *m = x->mask;
        size_t ml = x->mask_len;
        static const char markup[] = "<>&\"'", *const refs[] = {"&lt;", "&gt;", "&amp;", "&quot;", "&apos;"};
        const char *at = ti && ti->markup && ml == 1 ? strchr(markup, m[0]) : NULL;
        if (at) {
            m = refs[at - markup];
            ml = strlen(m);
        }
        for (size_t i = 0; i < n; i++)
            if (!is_cont((unsigned char)s[i]) && sb_put(out, m, ml, err))
                return -1;
        return 0;
    }
    case DV_XF_DATE_SHIFT: {
        char buf[320]; /* a full-width or mathematical date is written back so: up to 4 bytes per character of the
                        * at most 80 the shifter writes */
        int days = dv_text_shift_days(x, ti);
        int w = days ? dv_shift_written_date(s, n, days, buf, sizeof buf) : -1;
        return w < 0 ? 0 : sb_put(out, buf, (size_t)w, err); /* not a date: erased, never left */
    }
    case DV_XF_CRYPTO_HASH: {
        char h[45];
        size_t kl;
        const uint8_t *k = key_of(x, ti, &kl);
        if (dv_crypto_hash_b64(k, kl, s, n, h))
            return 0; /* no key: erased rather than kept */
        size_t hl = strlen(h);
        while (vr == DV_VR_PN && hl && h[hl - 1] == '=')
            hl--; /* '=' separates PN component groups */
        return sb_put(out, h, hl, err);
    }
    }
    return 0;
}

static int apply_finding(const dv_xform *x, dv_infotype type, const dv_text_instance *ti, uint16_t vr,
                         const char *s, size_t n, dv_strbuf *out, dv_error *err)
{
    if (vr != DV_VR_PN)
        return apply_piece(x, type, ti, vr, s, n, out, err);
    size_t a = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '^' && s[i] != '=')
            continue;
        /* an empty component has nothing to transform (a token there would invent a name part) */
        if ((i > a && apply_piece(x, type, ti, vr, s + a, i - a, out, err)) || (i < n && sb_put(out, s + i, 1, err)))
            return -1;
        a = i + 1;
    }
    return 0;
}

/* Cut [from, out->n) to max characters (code points), at a code point boundary. */
static void cut_chars(dv_strbuf *out, size_t from, size_t max)
{
    size_t chars = 0;
    for (size_t i = from; i < out->n; i++) {
        if (is_cont((unsigned char)out->v[i]))
            continue;
        if (chars == max) {
            out->n = i;
            return;
        }
        chars++;
    }
}

static size_t count_chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += !is_cont((unsigned char)s[i]);
    return c;
}

/* Byte length of the first max characters of s[0, n). */
static size_t prefix_bytes(const char *s, size_t n, size_t max)
{
    size_t chars = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_cont((unsigned char)s[i]))
            continue;
        if (chars == max)
            return i;
        chars++;
    }
    return n;
}

/* PN (PS3.5 Table 6.2-1 "64 chars maximum per component group"; DECISIONS "PN length" in docs/decisions.md):
 * the result must hold for both readings of that limit, per group AND for the whole value, because dciodvfy
 * and editions before 2013 apply 64 to the whole value (a PN of three replaced groups was 83 long and
 * rejected). So: the first group is cut to 64 characters, at its last `^` when one lies inside the limit (a
 * whole component dropped, never a torn token plus the rest); later groups (ideographic, phonetic: other
 * spellings of the same name) are kept only while the whole value stays within 64 characters, a group that
 * does not fit is dropped with its `=` and every group after it. Structure stays valid: fewer components
 * and groups are always allowed. [test_text_transform: test_pn_length] */
static void limit_pn(dv_strbuf *out, size_t from, size_t max)
{
    char *v = out->v + from;
    size_t n = out->n - from;
    size_t g0 = 0;
    while (g0 < n && v[g0] != '=')
        g0++;
    if (count_chars(v, g0) > max) {
        size_t keep = prefix_bytes(v, g0, max);
        size_t caret = keep;
        while (caret > 0 && v[caret] != '^')
            caret--;
        if (caret > 0 && v[caret] == '^')
            keep = caret; /* the cut component goes, with its '^' */
        memmove(v + keep, v + g0, n - g0);
        n -= g0 - keep;
        g0 = keep;
    }
    size_t total = count_chars(v, g0), end = g0;
    while (end < n) { /* v[end] == '=' */
        size_t ge = end + 1;
        while (ge < n && v[ge] != '=')
            ge++;
        size_t c = 1 + count_chars(v + end + 1, ge - end - 1);
        if (total + c > max)
            break;
        total += c;
        end = ge;
    }
    out->n = from + end;
}

static void limit_value(dv_strbuf *out, size_t from, uint16_t vr)
{
    size_t max = dv_vr_max_chars(vr);
    if (max == 0 || out->n <= from)
        return; /* nothing written (out->v may still be NULL) [test_pn_structure: empty first group] */
    if (vr == DV_VR_PN)
        limit_pn(out, from, max);
    else
        cut_chars(out, from, max);
}

static size_t trim_len(const char *s, size_t n)
{
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\0'))
        n--;
    return n;
}

/* DA / DT / AS: the whole value is a DATE / DATE / AGE. */
static int whole_value(const dv_xform table[DV_IT_COUNT], const dv_text_instance *ti, uint16_t vr, const char *s,
                       size_t n, dv_strbuf *out, dv_error *err)
{
    const dv_xform *x = &table[vr == DV_VR_AS ? DV_IT_AGE : DV_IT_DATE];
    if (x->kind == DV_XF_NONE)
        return sb_put(out, s, n, err); /* untouched: byte for byte, padding included */
    size_t lead = 0;
    while (lead < n && s[lead] == ' ')
        lead++;
    s += lead;
    n = trim_len(s, n - lead);
    if (n == 0)
        return 0;
    if (x->kind != DV_XF_DATE_SHIFT || vr == DV_VR_AS)
        return 0; /* no VR-valid way to hold a token, mask or hash: emptied */
    int days = dv_text_shift_days(x, ti);
    if (days == 0)
        return 0;
    char d[8];
    if (vr == DV_VR_DT) {
        if (n < 8 || dv_shift_da(s, 8, days, d))
            return 0;
        return sb_put(out, d, 8, err) || sb_put(out, s + 8, n - 8, err) ? -1 : 0;
    }
    /* DA, or a DA range "A-B" (either side may be empty). */
    const char *dash = memchr(s, '-', n);
    if (!dash)
        return n == 8 && !dv_shift_da(s, 8, days, d) ? sb_put(out, d, 8, err) : 0;
    size_t a = (size_t)(dash - s), b = n - a - 1;
    char d2[8];
    if ((a != 0 && a != 8) || (b != 0 && b != 8) || (a == 0 && b == 0) || (a && dv_shift_da(s, 8, days, d)) ||
        (b && dv_shift_da(dash + 1, 8, days, d2)))
        return 0;
    return (a && sb_put(out, d, 8, err)) || sb_put(out, "-", 1, err) || (b && sb_put(out, d2, 8, err)) ? -1 : 0;
}

int dv_text_transform_value(const dv_xform table[DV_IT_COUNT], const dv_text_instance *ti, uint16_t vr,
                            const char *utf8, size_t len, const dv_finding *f, size_t nf, dv_strbuf *out,
                            int *changed, dv_error *err)
{
    out->n = 0;
    *changed = 0;
    int whole = vr == DV_VR_DA || vr == DV_VR_DT || vr == DV_VR_AS;
    int multi = multi_valued(vr);
    size_t fi = 0;
    for (size_t vs = 0; vs <= len;) {
        size_t ve = vs;
        while (ve < len && !(multi && utf8[ve] == '\\'))
            ve++;
        size_t ob = out->n;
        if (whole) {
            if (whole_value(table, ti, vr, utf8 + vs, ve - vs, out, err))
                return -1;
        } else {
            size_t at = vs;
            int touched = 0;
            while (fi < nf && f[fi].end <= vs)
                fi++;
            for (size_t k = fi; k < nf && f[k].start < ve; k++) {
                size_t s = f[k].start > at ? f[k].start : at, e = f[k].end < ve ? f[k].end : ve;
                if (f[k].end > len || s >= e || f[k].type >= DV_IT_COUNT)
                    continue; /* out of range or inside an earlier one: ignored */
                if (sb_put(out, utf8 + at, s - at, err) ||
                    apply_finding(&table[f[k].type], (dv_infotype)f[k].type, ti, vr, utf8 + s, e - s, out, err))
                    return -1;
                at = e;
                touched |= table[f[k].type].kind != DV_XF_NONE; /* an untouched finding changes nothing */
            }
            if (sb_put(out, utf8 + at, ve - at, err))
                return -1;
            if (touched)
                limit_value(out, ob, vr); /* a value nothing was found in stays as it was, even over-long */
        }
        if (ve >= len)
            break;
        if (sb_put(out, "\\", 1, err))
            return -1;
        vs = ve + 1;
    }
    *changed = out->n != len || (len && memcmp(out->v, utf8, len) != 0);
    return 0;
}
