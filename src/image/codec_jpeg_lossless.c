/* JPEG Lossless, process 14 (ITU-T T.81 Annex H; DICOM .4.57 any selection value, .4.70 SV1), ours:
 * libjpeg-turbo gained lossless only in 3.0 and Debian ships 2.1.5.
 *
 * Supported: SOF3 with 2..16-bit precision, 1 or 3 components at sampling 1x1, interleaved or one scan per
 * component, Huffman tables (DHT anywhere before the scan), predictors 0-7, point transform, restart
 * intervals (DRI, RSTn; prediction restarts as at the top of a scan). Refused: hierarchical/arithmetic
 * SOFs, DNL, subsampled components (DV_ERR_UNSUPPORTED).
 *
 * Hostile-input rules: every marker length is bounded by the data; Huffman tables are validated (count
 * <= 256, no over-subscribed code space, category <= 16 checked when decoded); the frame header must match
 * Rows/Columns/SamplesPerPixel before anything is allocated; entropy data that ends early is
 * DV_ERR_MALFORMED (never padded silently); every loop is bounded by the frame size, so no input hangs.
 * [test_image_jpeg_lossless, fuzz_jpeg_lossless, integration.test_image_decode] */
#include "dv_image.h"

#include <stdlib.h>
#include <string.h>

#define LOOKAHEAD 9

typedef struct huff {
    int defined;
    uint8_t vals[256];
    int32_t maxcode[18];   /* largest code of length l, -1 when none; [17] sentinel */
    int32_t valoff[17];    /* index into vals of the first code of length l, minus that code */
    uint16_t look[1 << LOOKAHEAD]; /* (length << 8) | value for codes of <= LOOKAHEAD bits, 0 = slow path */
} huff;

typedef struct bitreader {
    const uint8_t *p, *end;
    uint64_t acc;
    int nbits;
    int pad_bits;          /* fake zero bits at the bottom of acc (past the data or a marker) */
    int marker;            /* marker met in the entropy data (0 none) */
} bitreader;

typedef struct comp {
    int id;
    int in_frame;
} comp;

typedef struct jls_state {
    const dv_pixel_attrs *pa;
    dv_frame *out;
    dv_error *err;
    int precision;
    uint32_t width, height;
    int ncomp;
    comp comps[4];
    huff tables[4];
    uint32_t restart_interval;
    int32_t *rows;         /* 2 rows x width x ncomp reconstructed (unshifted) samples */
    unsigned decoded_mask;
} jls_state;

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static int build_huff(huff *h, const uint8_t *counts, const uint8_t *vals, int total, dv_error *err)
{
    memset(h, 0, sizeof *h);
    memcpy(h->vals, vals, (size_t)total);
    int32_t code = 0;
    int k = 0;
    for (int l = 1; l <= 16; l++) {
        h->valoff[l] = k - code;
        if (counts[l - 1]) {
            code += counts[l - 1];
            if (code > (1 << l)) /* over-subscribed: not a prefix code */
                return dv_fail(err, DV_ERR_MALFORMED, "JPEG lossless: Huffman table over-subscribed at length %d", l);
            h->maxcode[l] = code - 1;
            /* lookahead entries for short codes */
            if (l <= LOOKAHEAD)
                for (int32_t c = code - counts[l - 1]; c < code; c++) {
                    int shift = LOOKAHEAD - l;
                    for (int32_t f = 0; f < (1 << shift); f++)
                        h->look[(c << shift) | f] = (uint16_t)(l << 8 | h->vals[k + (c - (code - counts[l - 1]))]);
                }
            k += counts[l - 1];
        } else {
            h->maxcode[l] = -1;
        }
        code <<= 1;
    }
    h->maxcode[17] = INT32_MAX;
    h->defined = 1;
    return 0;
}

static void br_fill(bitreader *b)
{
    while (b->nbits <= 56) {
        uint8_t v = 0;
        if (!b->marker && b->p < b->end) {
            v = *b->p;
            if (v == 0xFF) {
                if (b->p + 1 < b->end && b->p[1] == 0x00) {
                    b->p += 2;
                } else {
                    /* a marker (or 0xFF at the very end): stop here and feed zeros */
                    b->marker = b->p + 1 < b->end ? 0xFF00 | b->p[1] : 0xFFFF;
                    v = 0;
                    b->pad_bits += 8;
                    b->acc = b->acc << 8;
                    b->nbits += 8;
                    continue;
                }
            } else {
                b->p++;
            }
        } else {
            b->pad_bits += 8;
        }
        b->acc = b->acc << 8 | v;
        b->nbits += 8;
    }
}

/* Consume n bits (n <= 16); returns them. Callers check br_overrun after the row. */
static inline uint32_t br_get(bitreader *b, int n)
{
    if (n == 0)
        return 0;
    if (b->nbits < n)
        br_fill(b);
    b->nbits -= n;
    return (uint32_t)(b->acc >> b->nbits) & ((1u << n) - 1u);
}

static inline int br_overrun(const bitreader *b)
{
    return b->nbits < b->pad_bits;
}

/* Decode one Huffman symbol; -1 when no code matches (corrupt data). */
static inline int huff_decode(bitreader *b, const huff *h)
{
    if (b->nbits < 16)
        br_fill(b);
    uint32_t peek = (uint32_t)(b->acc >> (b->nbits - LOOKAHEAD)) & ((1u << LOOKAHEAD) - 1u);
    uint16_t e = h->look[peek];
    if (e) {
        b->nbits -= e >> 8;
        return e & 0xFF;
    }
    uint32_t bits16 = (uint32_t)(b->acc >> (b->nbits - 16)) & 0xFFFFu;
    for (int l = LOOKAHEAD + 1; l <= 16; l++) {
        int32_t code = (int32_t)(bits16 >> (16 - l));
        if (h->maxcode[l] >= 0 && code <= h->maxcode[l]) {
            b->nbits -= l;
            return h->vals[h->valoff[l] + code];
        }
    }
    return -1;
}

/* Skip to (and past) the next marker in the entropy data after a restart interval; resets the reader. */
static int br_restart(bitreader *b)
{
    /* the reader stopped at a marker it met (b->marker) or the data continues: find the RSTn */
    const uint8_t *p = b->p;
    while (p + 1 < b->end && !(p[0] == 0xFF && p[1] >= 0xD0 && p[1] <= 0xD7)) {
        if (p[0] == 0xFF && p[1] != 0x00 && p[1] != 0xFF)
            return -1; /* another marker where a restart was due */
        p++;
    }
    if (p + 1 >= b->end)
        return -1;
    b->p = p + 2;
    b->acc = 0;
    b->nbits = 0;
    b->pad_bits = 0;
    b->marker = 0;
    return 0;
}

static int decode_scan(jls_state *st, const uint8_t *hdr, size_t hlen, const uint8_t *data, const uint8_t *end,
                       const uint8_t **next)
{
    dv_error *err = st->err;
    if (hlen < 1)
        return dv_fail(err, DV_ERR_MALFORMED, "JPEG lossless: empty SOS");
    int ns = hdr[0];
    if (ns < 1 || ns > st->ncomp || hlen != (size_t)(1 + 2 * ns + 3))
        return dv_fail(err, DV_ERR_MALFORMED, "JPEG lossless: SOS with %d components", ns);
    int ci[4];
    const huff *ht[4];
    for (int j = 0; j < ns; j++) {
        int id = hdr[1 + 2 * j], td = hdr[2 + 2 * j] >> 4;
        ci[j] = -1;
        for (int c = 0; c < st->ncomp; c++)
            if (st->comps[c].id == id)
                ci[j] = c;
        if (ci[j] < 0 || td > 3 || !st->tables[td].defined)
            return dv_fail(err, DV_ERR_MALFORMED, "JPEG lossless: SOS names an unknown component or table");
        for (int k = 0; k < j; k++)
            if (ci[k] == ci[j])
                return dv_fail(err, DV_ERR_MALFORMED, "JPEG lossless: SOS repeats a component");
        ht[j] = &st->tables[td];
    }
    int psv = hdr[1 + 2 * ns], se = hdr[2 + 2 * ns], pt = hdr[3 + 2 * ns] & 0x0F;
    if (psv > 7 || se != 0 || (hdr[3 + 2 * ns] >> 4) != 0 || pt >= st->precision)
        return dv_fail(err, DV_ERR_MALFORMED, "JPEG lossless: SOS predictor %d, Se %d, point transform %d", psv, se, pt);

    uint32_t w = st->width, h = st->height;
    int nc = st->ncomp;
    uint32_t mask = st->precision == 16 ? 0xFFFFu : (1u << st->precision) - 1u;
    int32_t initial = 1 << (st->precision - pt - 1);
    int32_t *prev = st->rows, *cur = st->rows + (size_t)w * nc;
    bitreader b = {data, end, 0, 0, 0, 0};
    uint32_t ri = st->restart_interval, todo = ri;
    int first_line = 1;   /* first line of the scan or of a restart interval */
    uint32_t reset_x = 0; /* column where that line's prediction restarted */
    uint32_t sb = st->out->sample_bytes;
    uint32_t spp = st->out->samples;
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            if (ri) {
                if (todo == 0) {
                    if (br_restart(&b))
                        return dv_fail(err, DV_ERR_MALFORMED, "JPEG lossless: restart marker missing at row %u", y);
                    todo = ri;
                    first_line = 1;
                    reset_x = x;
                }
                todo--;
            }
            for (int j = 0; j < ns; j++) {
                int c = ci[j];
                int s = huff_decode(&b, ht[j]);
                if (s < 0 || s > 16)
                    return dv_fail(err, DV_ERR_MALFORMED, "JPEG lossless: bad Huffman code at row %u", y);
                int32_t diff;
                if (s == 16) {
                    diff = 32768;
                } else {
                    uint32_t v = br_get(&b, s);
                    diff = s && v < (1u << (s - 1)) ? (int32_t)v - (int32_t)(1u << s) + 1 : (int32_t)v;
                }
                int32_t pred;
                if (first_line) { /* H.1.2.1: 2^(P-Pt-1) where prediction restarts, then Ra along that line */
                    pred = x == reset_x ? initial : cur[(x - 1) * nc + c];
                } else if (x == 0) {
                    pred = prev[c];
                } else {
                    int32_t ra = cur[(x - 1) * nc + c], rb = prev[x * nc + c], rc = prev[(x - 1) * nc + c];
                    switch (psv) {
                    case 0: pred = 0; break;
                    case 1: pred = ra; break;
                    case 2: pred = rb; break;
                    case 3: pred = rc; break;
                    case 4: pred = ra + rb - rc; break;
                    case 5: pred = ra + ((rb - rc) >> 1); break;
                    case 6: pred = rb + ((ra - rc) >> 1); break;
                    default: pred = (ra + rb) >> 1; break;
                    }
                }
                int32_t val = (int32_t)((uint32_t)(pred + diff) & 0xFFFFu & (mask >> pt));
                cur[x * nc + c] = val;
                uint32_t sample = (uint32_t)val << pt;
                size_t o = ((size_t)y * w + x) * spp + (size_t)c;
                if (sb == 1)
                    ((uint8_t *)st->out->data)[o] = (uint8_t)sample;
                else if (sb == 2)
                    ((uint16_t *)st->out->data)[o] = (uint16_t)sample;
                else
                    ((uint32_t *)st->out->data)[o] = sample;
            }
        }
        if (br_overrun(&b))
            return dv_fail(err, DV_ERR_MALFORMED, "JPEG lossless: entropy data ends at row %u of %u", y, h);
        first_line = 0; /* the next line predicts from this one */
        reset_x = 0;
        int32_t *t = prev;
        prev = cur;
        cur = t;
    }
    for (int j = 0; j < ns; j++)
        st->decoded_mask |= 1u << ci[j];
    /* resume marker parsing after the entropy data: at the marker the reader met, else scan for one */
    const uint8_t *p = b.p;
    while (p + 1 < end && !(p[0] == 0xFF && p[1] != 0x00 && p[1] != 0xFF && !(p[1] >= 0xD0 && p[1] <= 0xD7)))
        p++;
    *next = p;
    return 0;
}

int dv_jpeg_lossless_decode(const dv_pixel_attrs *pa, const uint8_t *data, size_t len, dv_frame *out,
                            dv_error *err)
{
    if (pa->bits_allocated == 1 || pa->bits_allocated > 16)
        return dv_fail(err, DV_ERR_MALFORMED, "JPEG lossless with BitsAllocated %u", pa->bits_allocated);
    if (dv_frame_prepare(pa, out, pa->photometric == DV_PHOTO_YBR_FULL_422 ? DV_PHOTO_YBR_FULL : pa->photometric,
                         err))
        return -1;
    jls_state *st = calloc(1, sizeof *st);
    if (!st)
        return dv_fail(err, DV_ERR_NOMEM, "JPEG lossless state");
    st->pa = pa;
    st->out = out;
    st->err = err;
    int rc = -1, have_sof = 0;
    const uint8_t *p = data, *end = data + len;
    if (len < 4 || p[0] != 0xFF || p[1] != 0xD8) {
        dv_fail(err, DV_ERR_MALFORMED, "JPEG lossless: no SOI");
        goto done;
    }
    p += 2;
    for (;;) {
        while (p < end && *p != 0xFF)
            p++; /* tolerate garbage between segments */
        while (p < end && *p == 0xFF)
            p++; /* fill bytes */
        if (p >= end) {
            dv_fail(err, DV_ERR_MALFORMED, "JPEG lossless: no EOI");
            goto done;
        }
        int m = *p++;
        if (m == 0xD9)
            break;
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD7))
            continue; /* standalone markers */
        if (end - p < 2 || be16(p) < 2 || (size_t)(end - p) < be16(p)) {
            dv_fail(err, DV_ERR_MALFORMED, "JPEG lossless: marker 0x%02X segment truncated", m);
            goto done;
        }
        size_t seglen = be16(p);
        const uint8_t *s = p + 2;
        size_t slen = seglen - 2;
        p += seglen;
        switch (m) {
        case 0xC3: {
            if (have_sof || slen < 6) {
                dv_fail(err, DV_ERR_MALFORMED, "JPEG lossless: bad or repeated SOF3");
                goto done;
            }
            st->precision = s[0];
            st->height = be16(s + 1);
            st->width = be16(s + 3);
            st->ncomp = s[5];
            if (st->precision < 2 || st->precision > 16 || (uint32_t)st->precision > pa->bits_allocated) {
                dv_fail(err, DV_ERR_MALFORMED, "JPEG lossless: precision %d with BitsAllocated %u", st->precision,
                        pa->bits_allocated);
                goto done;
            }
            if (st->height == 0) {
                dv_fail(err, DV_ERR_UNSUPPORTED, "JPEG lossless: DNL (height 0) is not supported");
                goto done;
            }
            int dw = st->width != pa->columns, dh = st->height != pa->rows;
            int dc = (uint32_t)st->ncomp != pa->samples_per_pixel;
            if (dw || dh || dc) {
                char what[160];
                dv_mismatch_text(what, sizeof what, dw, dh, dc, pa);
                dv_fail(err, DV_ERR_MALFORMED, "JPEG lossless: SOF3 does not match the attributes: %s", what);
                goto done;
            }
            if (slen != 6 + 3 * (size_t)st->ncomp) {
                dv_fail(err, DV_ERR_MALFORMED, "JPEG lossless: SOF3 length does not fit its component count");
                goto done;
            }
            for (int c = 0; c < st->ncomp; c++) {
                st->comps[c].id = s[6 + 3 * c];
                if (s[7 + 3 * c] != 0x11) {
                    dv_fail(err, DV_ERR_UNSUPPORTED, "JPEG lossless: subsampled component");
                    goto done;
                }
                for (int k = 0; k < c; k++)
                    if (st->comps[k].id == st->comps[c].id) {
                        dv_fail(err, DV_ERR_MALFORMED, "JPEG lossless: duplicate component id");
                        goto done;
                    }
            }
            st->rows = calloc((size_t)2 * st->width * (size_t)st->ncomp, sizeof *st->rows);
            if (!st->rows) {
                dv_fail(err, DV_ERR_NOMEM, "JPEG lossless rows");
                goto done;
            }
            have_sof = 1;
            out->src.precision = (uint32_t)st->precision;
            break;
        }
        case 0xC4: {
            size_t i = 0;
            while (i < slen) {
                if (slen - i < 17) {
                    dv_fail(err, DV_ERR_MALFORMED, "JPEG lossless: DHT truncated");
                    goto done;
                }
                int tc = s[i] >> 4, th = s[i] & 0x0F;
                int total = 0;
                for (int l = 0; l < 16; l++)
                    total += s[i + 1 + (size_t)l];
                if (tc != 0 || th > 3 || total > 256 || slen - i - 17 < (size_t)total) {
                    dv_fail(err, DV_ERR_MALFORMED, "JPEG lossless: DHT class %d id %d with %d codes", tc, th, total);
                    goto done;
                }
                if (build_huff(&st->tables[th], s + i + 1, s + i + 17, total, err))
                    goto done;
                i += 17 + (size_t)total;
            }
            break;
        }
        case 0xDD:
            if (slen != 2) {
                dv_fail(err, DV_ERR_MALFORMED, "JPEG lossless: DRI length");
                goto done;
            }
            st->restart_interval = be16(s);
            break;
        case 0xDA: {
            if (!have_sof) {
                dv_fail(err, DV_ERR_MALFORMED, "JPEG lossless: SOS before SOF3");
                goto done;
            }
            const uint8_t *next = NULL;
            if (decode_scan(st, s, slen, p, end, &next))
                goto done;
            p = next;
            break;
        }
        case 0xC0: case 0xC1: case 0xC2: case 0xC5: case 0xC6: case 0xC7: case 0xC9: case 0xCA: case 0xCB:
        case 0xCD: case 0xCE: case 0xCF:
            dv_fail(err, DV_ERR_UNSUPPORTED, "JPEG lossless: SOF 0x%02X is not process 14", m);
            goto done;
        case 0xDC:
            dv_fail(err, DV_ERR_UNSUPPORTED, "JPEG lossless: DNL is not supported");
            goto done;
        default:
            break; /* APPn, COM, DQT, ... carry nothing we need */
        }
    }
    if (!have_sof || st->decoded_mask != (1u << st->ncomp) - 1u) {
        dv_fail(err, DV_ERR_MALFORMED, "JPEG lossless: not every component was coded");
        goto done;
    }
    dv_frame_normalise(out);
    rc = 0;
done:
    free(st->rows);
    free(st);
    return rc;
}
