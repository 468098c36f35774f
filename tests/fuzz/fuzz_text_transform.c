/* libFuzzer target: the text stage's transformations and the Clean Descriptors matcher (src/text/transform.c,
 * dateshift.c, cryptohash.c, ctx.c).
 *
 * Input: byte 0 picks the VR (AE LO LT PN SH ST UC UT DA DT AS), byte 1 the transformation of every infoType
 * (and the mask character), byte 2 how many findings (<= 16) follow as (gap, length, infoType) byte triples,
 * then the UTF-8 text (inputs that are not valid UTF-8 are dropped: values reach the stage decoded). The first
 * 8 bytes of the text also become [CTX] phrases. Findings are built sorted and disjoint on code point
 * boundaries (what dv_findings_normalise gives the stage). Invariants (abort on violation):
 *   - the result is valid UTF-8 and never larger than the documented growth (per character, plus one
 *     replacement per piece: a finding cut at a value delimiter is one piece per value);
 *   - "unchanged" means byte-identical;
 *   - multi-valued VRs keep their value count; PN never gains component groups (`=`), and a rewritten PN
 *     value drops groups only when the whole would not fit in 64 characters;
 *   - every rewritten value fits its VR's length in characters (PN per component group and as a whole:
 *     transform.c limit_pn); a value left as it was keeps its bytes, even an over-long original;
 *   - DA values are empty, 8 digits or a range of them; AS values are empty or as given;
 *   - a written date that shifts, shifts back (the text may differ: widths and abbreviations are re-chosen). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicom/dv_vr.h"
#include "text/dv_ctx.h"
#include "text/dv_transform.h"

static void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_text_transform: invariant violated: %s\n", what);
    abort();
}

/* Length of the UTF-8 sequence at s[i], or 0 when invalid. */
static size_t cp_len(const uint8_t *s, size_t n, size_t i)
{
    uint8_t c = s[i];
    size_t k = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (k == 0 || i + k > n || (k == 2 && c < 0xC2) || (k == 4 && c > 0xF4))
        return 0;
    for (size_t j = 1; j < k; j++)
        if ((s[i + j] & 0xC0) != 0x80)
            return 0;
    return k;
}

static int valid_utf8(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = cp_len(s, n, i);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

static size_t chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

static size_t count(const char *s, size_t n, char ch)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += s[i] == ch;
    return c;
}

static const uint16_t VRS[] = {DV_VR_AE, DV_VR_LO, DV_VR_LT, DV_VR_PN, DV_VR_SH, DV_VR_ST,
                               DV_VR_UC, DV_VR_UT, DV_VR_DA, DV_VR_DT, DV_VR_AS};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3 || size > 8192)
        return 0;
    uint16_t vr = VRS[data[0] % (sizeof VRS / sizeof VRS[0])];
    dv_xform tab[DV_IT_COUNT];
    memset(tab, 0, sizeof tab);
    for (int t = 0; t < DV_IT_COUNT; t++) {
        tab[t].kind = (dv_xform_kind)((data[1] + t * (data[1] >> 5)) % 6);
        if (data[1] & 0x10) {
            memcpy(tab[t].mask, "\xe2\x80\xa2", 3);
            tab[t].mask_len = 3;
        } else {
            tab[t].mask[0] = '#';
            tab[t].mask_len = 1;
        }
        if (data[1] & 0x08) {
            tab[t].key_len = 16;
            memcpy(tab[t].key, "0123456789abcdef", 16);
        }
    }
    size_t nf = data[2] % 17, pos = 3 + nf * 3;
    if (pos > size)
        return 0;
    const uint8_t *text = data + pos;
    size_t len = size - pos;
    if (!valid_utf8(text, len))
        return 0;
    dv_finding f[16];
    size_t k = 0, at = 0;
    for (size_t i = 0; i < nf && at < len; i++) {
        const uint8_t *t = data + 3 + i * 3;
        size_t s = at + t[0] % 16, e;
        while (s < len && ((text[s] & 0xC0) == 0x80))
            s++;
        if (s >= len)
            break;
        e = s + 1 + t[1] % 40;
        if (e > len)
            e = len;
        while (e < len && ((text[e] & 0xC0) == 0x80))
            e++;
        f[k].start = (uint32_t)s;
        f[k].end = (uint32_t)e;
        f[k].type = (uint8_t)(t[2] % DV_IT_COUNT);
        f[k].detector = DV_DET_PATTERN;
        f[k].score = 50;
        f[k].pad = 0;
        k++;
        at = e;
    }
    /* [CTX]: phrases from the text's head, found again in the text. */
    dv_ctx_list *cl = dv_ctx_list_new();
    dv_findings cf = {0};
    dv_error err = {0};
    if (!cl)
        return 0;
    size_t plen = 0;
    while (plen < len && plen < 8)
        plen += cp_len(text, len, plen);
    if (dv_ctx_list_add_value(cl, vr == DV_VR_PN, (const char *)text, plen, &err) == 0)
        (void)dv_ctx_detect(cl, (const char *)text, len, &cf, &err);
    for (size_t i = 0; i < cf.n; i++)
        if (cf.v[i].end > len || cf.v[i].start >= cf.v[i].end)
            fuzz_fail("[CTX] finding out of range");
    dv_findings_free(&cf);
    dv_ctx_list_free(cl);

    static const uint8_t key[32] = "fuzz key fuzz key fuzz key fuzz!";
    dv_text_instance ti = {.run_key = key, .run_key_len = sizeof key, .patient_id = "PID", .patient_id_len = 3,
                           .study_uid = "1.2.3", .study_uid_len = 5}; /* run_shift_days 0: computed per use */
    dv_strbuf out = {0};
    int changed = 0;
    if (dv_text_transform_value(tab, &ti, vr, (const char *)text, len, f, k, &out, &changed, &err) != 0) {
        dv_strbuf_free(&out);
        return 0;
    }
    const char *o = out.v ? out.v : "";
    if (!valid_utf8((const uint8_t *)o, out.n))
        fuzz_fail("result is not valid UTF-8");
    /* A finding that spans value delimiters is cut at them and each piece gets its own replacement (a crypto
     * hash is 43 characters), so the bound counts pieces: findings plus values (regression
     * multi_value_hash_pieces: one finding over nine PN values, 395 bytes from 22). */
    size_t values = 1 + count((const char *)text, len, '\\');
    if (out.n > len * 12 + 64 * (k + values))
        fuzz_fail("result grew beyond its bound");
    if (!changed && (out.n != len || (len && memcmp(o, text, len) != 0)))
        fuzz_fail("unchanged result differs from its input");
    int multi = vr != DV_VR_LT && vr != DV_VR_ST && vr != DV_VR_UT;
    if (multi && count(o, out.n, '\\') != count((const char *)text, len, '\\'))
        fuzz_fail("value count changed");
    size_t max = dv_vr_max_chars(vr);
    const char *in = (const char *)text;
    size_t ivs = 0; /* the input value at the same index (value counts are equal, checked above) */
    for (size_t vs = 0; vs <= out.n;) {
        size_t ve = vs, ive = ivs;
        while (ve < out.n && !(multi && o[ve] == '\\'))
            ve++;
        while (ive < len && !(multi && in[ive] == '\\'))
            ive++;
        /* a value left as it was keeps its bytes even when the original was over-long */
        int same = ve - vs == ive - ivs && memcmp(o + vs, in + ivs, ve - vs) == 0;
        if (vr == DV_VR_PN) {
            if (count(o + vs, ve - vs, '=') > count(in + ivs, ive - ivs, '='))
                fuzz_fail("PN component group added");
            if (!same && chars(o + vs, ve - vs) > max)
                fuzz_fail("rewritten PN value longer than 64 characters");
            for (size_t gs = vs; gs <= ve;) {
                size_t ge = gs;
                while (ge < ve && o[ge] != '=')
                    ge++;
                if (!same && chars(o + gs, ge - gs) > max)
                    fuzz_fail("PN component group too long");
                gs = ge + 1;
            }
        } else if (!same && max && chars(o + vs, ve - vs) > max && vr != DV_VR_AS && vr != DV_VR_DT &&
                   vr != DV_VR_DA) {
            fuzz_fail("value longer than its VR allows");
        }
        if (vr == DV_VR_DA && changed) {
            size_t n = ve - vs;
            if (!(n == 0 || n == 8 || n == 9 || n == 17))
                fuzz_fail("DA value of an impossible length");
            for (size_t i = vs; i < ve; i++)
                if (!((o[i] >= '0' && o[i] <= '9') || o[i] == '-'))
                    fuzz_fail("DA value with a non-digit");
        }
        if (ve >= out.n)
            break;
        vs = ve + 1;
        ivs = ive + 1;
    }
    /* written dates: what shifts, shifts back */
    char a[256], b[256]; /* a full-width date is written back full width: up to 3 bytes per character */
    size_t dl = len < 40 ? len : 40;
    int n1 = dv_shift_written_date((const char *)text, dl, 37, a, sizeof a);
    if (n1 >= 0) {
        int n2 = dv_shift_written_date(a, (size_t)n1, -37, b, sizeof b);
        if (n2 < 0)
            fuzz_fail("a shifted date does not shift back");
    }
    dv_strbuf_free(&out);
    return 0;
}
