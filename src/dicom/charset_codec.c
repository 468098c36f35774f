/* Decode/encode entry points: picks the codec for a value's set and VR (default repertoire, UTF-8,
 * GB18030/GBK through iconv, or the ISO 2022 machine in charset_iso2022.c) and enforces the output bounds. */
#include "charset_internal.h"

#include <assert.h>
#include <errno.h>
#include <iconv.h>
#include <string.h>

static void decode_ascii(const uint8_t *in, size_t len, cs_out *o, unsigned *flags)
{
    for (size_t i = 0; i < len; i++) {
        if (in[i] < 0x80) {
            cs_put(o, in[i]);
        } else {
            cs_put_cp(o, CS_REPLACEMENT);
            *flags |= DV_CS_REPLACED;
        }
    }
}

static void decode_utf8(const uint8_t *in, size_t len, cs_out *o, unsigned *flags)
{
    size_t i = 0;
    while (i < len) {
        size_t at = i;
        int32_t cp = cs_utf8_next(in, len, &i);
        if (cp < 0) {
            cs_put_cp(o, CS_REPLACEMENT);
            *flags |= DV_CS_REPLACED;
        } else {
            for (size_t k = at; k < i; k++)
                cs_put(o, in[k]);
        }
    }
}

/* GB18030 / GBK: stateless, so iconv converts whole runs; an invalid byte becomes U+FFFD and conversion
 * resumes at the next byte. Delimiters need no care here: a trail byte 0x5C is consumed with its lead. */
static int decode_iconv(dv_charset_ctx *ctx, dv_cs_term term, const uint8_t *in, size_t len, cs_out *o,
                        unsigned *flags, dv_error *err)
{
    iconv_t cd = (iconv_t)cs_iconv(ctx, term, 0, err);
    if (!cd)
        return -1;
    char *ip = (char *)in;
    size_t inleft = len;
    while (inleft > 0) {
        char *op = (char *)o->p + o->len;
        size_t outleft = o->cap - o->len;
        size_t r = iconv(cd, &ip, &inleft, &op, &outleft);
        o->len = (size_t)((uint8_t *)op - o->p);
        if (r != (size_t)-1)
            break;
        if (errno == E2BIG) {
            o->overflow = 1;
            return 0;
        }
        cs_put_cp(o, CS_REPLACEMENT); /* EILSEQ, or EINVAL: truncated at the end */
        *flags |= DV_CS_REPLACED;
        ip++;
        inleft--;
        iconv(cd, NULL, NULL, NULL, NULL);
    }
    return 0;
}

static int encode_iconv(dv_charset_ctx *ctx, dv_cs_term term, const uint8_t *s, size_t len, cs_out *o,
                        size_t *bad_offset, dv_error *err)
{
    iconv_t cd = (iconv_t)cs_iconv(ctx, term, 1, err);
    if (!cd)
        return -1;
    size_t i = 0;
    while (i < len) {
        size_t at = i;
        if (cs_utf8_next(s, len, &i) < 0)
            return dv_fail(err, DV_ERR_USAGE, "text to encode is not UTF-8 (byte offset %zu)", at);
        if (s[at] < 0x80) {
            cs_put(o, s[at]);
            continue;
        }
        char buf[8];
        char *ip = (char *)s + at, *op = buf;
        size_t inleft = i - at, outleft = sizeof buf;
        if (iconv(cd, &ip, &inleft, &op, &outleft) == (size_t)-1) {
            iconv(cd, NULL, NULL, NULL, NULL);
            *bad_offset = at;
            return DV_CHARSET_UNENCODABLE;
        }
        for (char *p = buf; p < op; p++)
            cs_put(o, (uint8_t)*p);
    }
    return DV_CHARSET_OK;
}

int dv_charset_decode(dv_charset_ctx *ctx, const dv_charset *cs, uint16_t vr, const uint8_t *in, size_t len,
                      char *out, size_t cap, dv_cs_decoded *res, dv_error *err)
{
    assert(ctx && cs && res && (in || len == 0) && (out || cap == 0));
    cs_out o = { (uint8_t *)out, cap, 0, 0 };
    memset(res, 0, sizeof *res);
    int rc = 0;
    dv_cs_term first = (dv_cs_term)cs->terms[0];
    if (!dv_charset_vr_applies(vr)) {
        decode_ascii(in, len, &o, &res->flags);
    } else if (first == DV_CST_IR192) {
        decode_utf8(in, len, &o, &res->flags);
    } else if (first == DV_CST_GB18030 || first == DV_CST_GBK) {
        rc = decode_iconv(ctx, first, in, len, &o, &res->flags, err);
    } else if (cs_plain_ascii(in, len, cs->iso2022)) {
        cs_put_bytes(&o, in, len); /* what cs_decode_iso2022 would give, flags and style none */
    } else {
        rc = cs_decode_iso2022(ctx, cs, vr, in, len, &o, &res->flags, &res->style, err);
    }
    if (rc != 0)
        return -1;
    if (o.overflow)
        return dv_fail(err, DV_ERR_LIMIT, "decoded text does not fit %zu bytes (limit)", cap);
    res->len = o.len;
    return 0;
}

int dv_charset_encode(dv_charset_ctx *ctx, const dv_charset *cs, uint16_t vr, const char *utf8, size_t len,
                      unsigned style, uint8_t *out, size_t cap, size_t *out_len, size_t *bad_offset,
                      dv_error *err)
{
    assert(ctx && cs && out_len && (utf8 || len == 0) && (out || cap == 0));
    cs_out o = { out, cap, 0, 0 };
    const uint8_t *s = (const uint8_t *)utf8;
    size_t bad = 0;
    int rc;
    *out_len = 0;
    dv_cs_term first = (dv_cs_term)cs->terms[0];
    if (!dv_charset_vr_applies(vr)) {
        rc = DV_CHARSET_OK;
        for (size_t i = 0; i < len && rc == DV_CHARSET_OK;) {
            size_t at = i;
            int32_t cp = cs_utf8_next(s, len, &i);
            if (cp < 0)
                return dv_fail(err, DV_ERR_USAGE, "text to encode is not UTF-8 (byte offset %zu)", at);
            if (cp >= 0x80) {
                bad = at; /* these VRs are always the default repertoire */
                rc = DV_CHARSET_UNENCODABLE;
            } else {
                cs_put(&o, (uint8_t)cp);
            }
        }
    } else if (first == DV_CST_IR192) {
        size_t i = 0;
        while (i < len) {
            size_t at = i;
            if (cs_utf8_next(s, len, &i) < 0)
                return dv_fail(err, DV_ERR_USAGE, "text to encode is not UTF-8 (byte offset %zu)", at);
        }
        for (i = 0; i < len; i++)
            cs_put(&o, s[i]);
        rc = DV_CHARSET_OK;
    } else if (first == DV_CST_GB18030 || first == DV_CST_GBK) {
        rc = encode_iconv(ctx, first, s, len, &o, &bad, err);
    } else if (!cs->iso2022 && cs_plain_ascii(s, len, 0)) {
        cs_put_bytes(&o, s, len); /* what cs_encode_iso2022 would give outside ISO 2022 */
        rc = DV_CHARSET_OK;
    } else {
        rc = cs_encode_iso2022(ctx, cs, vr, s, len, style, &o, &bad, err);
    }
    if (rc < 0)
        return -1;
    if (rc == DV_CHARSET_UNENCODABLE) {
        if (bad_offset)
            *bad_offset = bad;
        return DV_CHARSET_UNENCODABLE;
    }
    if (o.overflow)
        return dv_fail(err, DV_ERR_LIMIT, "encoded text does not fit %zu bytes (limit)", cap);
    *out_len = o.len;
    return DV_CHARSET_OK;
}

int dv_charset_to_utf8(dv_charset_ctx *ctx, const dv_charset *cs, uint16_t vr, const uint8_t *in, size_t len,
                       char *out, size_t cap, dv_cs_decoded *res, dv_error *err)
{
    if (dv_charset_vr_applies(vr))
        return dv_charset_decode(ctx, cs, vr, in, len, out, cap, res, err);
    memset(res, 0, sizeof *res);
    if (len > cap)
        return dv_fail(err, DV_ERR_LIMIT, "value does not fit %zu bytes (limit)", cap);
    if (len)
        memcpy(out, in, len); /* never re-encoded: (0008,0005) does not govern this VR */
    res->len = len;
    return 0;
}
