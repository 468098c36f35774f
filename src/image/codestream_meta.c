/* Codestream metadata (dv_codestream_meta.h): the walkers over JPEG (ITU-T T.81), JPEG-LS (T.87), JPEG 2000
 * (T.800 Annex A, the JP2 boxes of Annex I) and HTJ2K (T.814, the same markers) that find what to clear.
 *
 * The fragments of a value are one byte stream to the walkers (a codestream may span fragments); only where a
 * codestream must begin do fragment starts matter. Everything is read through one 64 KiB window, so a value
 * of any size costs one pass and constant memory, and every length read from the stream is checked against
 * the stream's end before it is used. */
#include "dv_codestream_meta.h"

#include <stdlib.h>
#include <string.h>

#define WIN 65536

typedef struct cur {
    const dv_source *src;
    const dv_cs_frag *f;
    uint32_t n;
    uint64_t *start; /* n + 1 stream positions: fragment k is [start[k], start[k + 1]) */
    uint64_t total;
    uint64_t lim;    /* the walk reads nothing at or past lim: the end of the image being walked */
    uint8_t *win;
    uint64_t wpos;   /* stream position of win[0] */
    size_t wlen;
    uint32_t hint;   /* the fragment of the last position mapped */
    dv_cs_patch_fn fn;
    void *user;
    dv_error *err;
} cur;

/* The fragment holding pos (the last one for pos >= total; an empty fragment never). The walk mostly moves
 * forward, so the last answer or the next is nearly always right; else a binary search, so that a value of a
 * million tiny fragments costs O(log n) per jump back, never O(n). */
static uint32_t frag_of(cur *c, uint64_t pos)
{
    uint32_t k = c->hint;
    if (k < c->n && pos >= c->start[k] && (k + 1 == c->n || pos < c->start[k + 1]))
        return k;
    if (k + 1 < c->n && pos >= c->start[k + 1] && (k + 2 >= c->n || pos < c->start[k + 2])) {
        k++;
    } else {
        uint32_t lo = 0, hi = c->n - 1; /* the last k with start[k] <= pos */
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo + 1) / 2;
            if (c->start[mid] <= pos)
                lo = mid;
            else
                hi = mid - 1;
        }
        k = lo;
    }
    while (k + 1 < c->n && pos >= c->start[k + 1]) /* past empty fragments that share k's start */
        k++;
    c->hint = k;
    return k;
}

/* Fill the window from pos. 0, or -1 with err. */
static int fill(cur *c, uint64_t pos)
{
    size_t want = c->total - pos < WIN ? (size_t)(c->total - pos) : WIN, got = 0;
    while (got < want) {
        uint32_t k = frag_of(c, pos + got);
        uint64_t in = pos + got - c->start[k];
        uint64_t left = c->f[k].length - in;
        size_t n = want - got < left ? want - got : (size_t)left;
        if (c->src->read_at(c->src->ctx, c->f[k].offset + in, c->win + got, n) != 0)
            return dv_fail(c->err, DV_ERR_IO, "reading encapsulated pixel data failed");
        got += n;
    }
    c->wpos = pos;
    c->wlen = want;
    return 0;
}

/* The byte at pos: 0..255, -1 past the image's end (lim), -2 on a read error (err set). */
static int at(cur *c, uint64_t pos)
{
    if (pos >= c->lim)
        return -1;
    if (pos < c->wpos || pos >= c->wpos + c->wlen) {
        if (fill(c, pos) != 0)
            return -2;
    }
    return c->win[pos - c->wpos];
}

/* Big-endian 16 / 32 bits at pos: 0 with *v, 1 when the stream ends first, -1 on a read error. */
static int be(cur *c, uint64_t pos, int bytes, uint64_t *v)
{
    *v = 0;
    for (int i = 0; i < bytes; i++) {
        int b = at(c, pos + (uint64_t)i);
        if (b < 0)
            return b == -1 ? 1 : -1;
        *v = *v << 8 | (uint64_t)b;
    }
    return 0;
}

/* The position of the first 0xFF at or after pos before lim (lim when none); UINT64_MAX on a read error. */
static uint64_t find_ff(cur *c, uint64_t pos)
{
    while (pos < c->lim) {
        if (at(c, pos) < -1)
            return UINT64_MAX;
        const uint8_t *p = c->win + (pos - c->wpos);
        const uint8_t *hit = memchr(p, 0xFF, c->wlen - (size_t)(pos - c->wpos));
        if (hit)
            return c->wpos + (uint64_t)(hit - c->win) < c->lim ? c->wpos + (uint64_t)(hit - c->win) : c->lim;
        pos = c->wpos + c->wlen;
    }
    return c->lim;
}

/* Report [pos, pos + len) with lit (NULL: zeros), cut at fragment ends. */
static int report(cur *c, uint64_t pos, uint64_t len, const uint8_t *lit)
{
    while (len) {
        uint32_t k = frag_of(c, pos);
        uint64_t in = pos - c->start[k], piece = c->f[k].length - in < len ? c->f[k].length - in : len;
        if (c->fn(c->user, c->f[k].offset + in, piece, lit, lit ? (unsigned)piece : 0) != 0)
            return -1;
        if (lit)
            lit += piece;
        pos += piece;
        len -= piece;
    }
    return 0;
}

/* Zero [pos, end) (end clamped to the stream) where it holds a byte that is not zero. */
static int zero_range(cur *c, uint64_t pos, uint64_t end)
{
    if (end > c->lim)
        end = c->lim;
    for (uint64_t q = pos; q < end; q++) {
        int b = at(c, q);
        if (b < -1)
            return -1;
        if (b > 0)
            return report(c, pos, end - pos, NULL);
    }
    return 0;
}

static int is_frag_start(cur *c, uint64_t pos)
{
    uint32_t k = frag_of(c, pos);
    return c->start[k] == pos;
}

/* The start of the next fragment after pos (total at the end). */
static uint64_t next_frag_start(cur *c, uint64_t pos)
{
    uint32_t k = frag_of(c, pos);
    return c->start[k] == pos ? pos : c->start[k + 1];
}

static int malformed(cur *c, uint64_t pos, const char *what)
{
    return dv_fail(c->err, DV_ERR_MALFORMED,
                   "encapsulated pixel data, fragment %u: %s; its embedded text cannot be checked",
                   frag_of(c, pos) + 1, what);
}

/* Does [pos, pos + n) hold the n bytes of s (inside the stream)? */
static int has(cur *c, uint64_t pos, uint64_t end, const char *s, size_t n)
{
    if (end < pos || end - pos < n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (at(c, pos + i) != (uint8_t)s[i])
            return 0;
    return 1;
}

/* ---------------------------------------------------------------- JPEG, JPEG-LS */

/* The end of entropy-coded data starting at pos: the position of the next marker that is not a restart
 * marker. JPEG stuffs 0xFF with 0x00; JPEG-LS stuffs a 0 bit, so 0xFF followed by a byte below 0x80 is data.
 * A run of 0xFF is fill. */
static uint64_t ecs_end(cur *c, uint64_t pos, int ls)
{
    /* The scan runs over the window itself (one memchr per 0xFF, no per-byte call): entropy-coded data is
     * nearly all of a JPEG's bytes. */
    while (pos < c->lim) {
        if ((pos < c->wpos || pos >= c->wpos + c->wlen) && fill(c, pos) != 0)
            return UINT64_MAX;
        uint64_t wend = c->wpos + c->wlen < c->lim ? c->wpos + c->wlen : c->lim;
        const uint8_t *w = c->win, *p = w + (pos - c->wpos), *e = w + (wend - c->wpos);
        while ((p = memchr(p, 0xFF, (size_t)(e - p))) != NULL && p + 1 < e) {
            uint8_t n = p[1];
            if (n == 0xFF)
                p++;
            else if ((ls ? n < 0x80 : n == 0x00) || (n >= 0xD0 && n <= 0xD7))
                p += 2;
            else
                return c->wpos + (uint64_t)(p - w);
        }
        if (!p) {
            pos = wend; /* no 0xFF left in this window */
            continue;
        }
        /* a 0xFF as the window's last byte: look at what follows it */
        uint64_t at_ff = c->wpos + (uint64_t)(p - w);
        int n = at(c, at_ff + 1);
        if (n < -1)
            return UINT64_MAX;
        if (n == -1)
            return c->lim;
        if (n == 0xFF)
            pos = at_ff + 1;
        else if ((ls ? n < 0x80 : n == 0x00) || (n >= 0xD0 && n <= 0xD7))
            pos = at_ff + 2;
        else
            return at_ff;
    }
    return c->lim;
}

/* Clear the segment at p (marker m, payload [body, end)): a COM of zeros. */
static int neutralize(cur *c, uint64_t p, int m, uint8_t com, uint64_t body, uint64_t end)
{
    if (m != com && report(c, p + 1, 1, &com) != 0)
        return -1;
    return zero_range(c, body, end);
}

/* The application segments a JPEG decoder needs, kept; the first keep bytes of the payload are kept and the
 * rest zeroed (a JFIF thumbnail, bytes past the fixed fields). 1 when kept (*keep set), 0 when not. */
static int app_kept(cur *c, int m, uint64_t body, uint64_t end, uint64_t *keep)
{
    if (m == 0xE0 && has(c, body, end, "JFIF\0", 5)) {
        *keep = 14; /* identifier, version, units, densities, thumbnail size: then the thumbnail's pixels */
        return 1;
    }
    if (m == 0xE2 && has(c, body, end, "ICC_PROFILE\0", 12)) {
        *keep = end - body; /* a colour profile: needed to show the colours */
        return 1;
    }
    if (m == 0xEE && has(c, body, end, "Adobe", 5)) {
        *keep = 12; /* identifier, version, flags, colour transform */
        return 1;
    }
    if (m == 0xE8 && has(c, body, end, "SPIFF\0", 6)) {
        *keep = 30; /* the SPIFF header's fixed fields */
        return 1;
    }
    if (m == 0xE8 && has(c, body, end, "mrfx", 4)) {
        *keep = 5; /* JPEG-LS's HP colour transform (CharLS reads it): identifier and the transform's id */
        return 1;
    }
    if (m == 0xE8 && has(c, body, end, "\0\0\0\1", 4)) {
        *keep = end - body; /* SPIFF's end-of-directory entry (it carries the SOI that follows it) */
        return 1;
    }
    return 0;
}

/* The markers of frames, tables and scans (T.81 B.1.1.3, T.87 C.1): kept as they are, up to where their syntax
 * ends (jpeg_syntax_end). JPG (0xFFC8) is reserved, defined by no process: not one of them. */
static int jpeg_structural(int m, int ls)
{
    return (m >= 0xC0 && m <= 0xCF && m != 0xC8) || (m >= 0xDA && m <= 0xDF) || (ls && (m == 0xF7 || m == 0xF8));
}

/* Where the syntax of the structural segment m with payload [body, end) ends (T.81 B.2.2-B.2.4, B.3.2, B.3.3;
 * T.87 C.2.2, C.2.3): a length field may say more, and libjpeg skips a DNL of any length while other decoders
 * read SOF, SOS or DRI by their fields and skip the rest, so what lies past it may carry anything. A DQT or DHT
 * ends after its last whole table; a JPEG-LS LSE after its preset parameters or oversize dimensions (a mapping
 * table is image data: end). 0, or -1 with err; *used: the end of the syntax (<= end). */
static int jpeg_syntax_end(cur *c, int m, uint64_t body, uint64_t end, uint64_t *used)
{
    uint64_t need = end - body;
    int b;
    if ((m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xCC) || m == 0xDE || m == 0xF7) {
        /* SOFn, DHP, SOF55: P, Y, X, Nf, then 3 bytes a component */
        if ((b = at(c, body + 5)) < -1)
            return -1;
        need = b < 0 ? need : 6 + 3 * (uint64_t)b;
    } else if (m == 0xDA) { /* SOS: Ns, 2 bytes a component, Ss, Se, Ah/Al (JPEG-LS: NEAR, ILV, Al/Pt) */
        if ((b = at(c, body)) < -1)
            return -1;
        need = b < 0 ? need : 4 + 2 * (uint64_t)b;
    } else if (m == 0xDD || m == 0xDC) { /* DRI: Ri; DNL: NL */
        need = 2;
    } else if (m == 0xDF) { /* EXP: Eh/Ev */
        need = 1;
    } else if (m == 0xF8) { /* LSE id 1: MAXVAL, T1, T2, T3, RESET; id 4: Wxy, Y, X; mapping tables: end */
        if ((b = at(c, body)) < -1)
            return -1;
        if (b == 1) {
            need = 11;
        } else if (b == 4) {
            int w = at(c, body + 1);
            if (w < -1)
                return -1;
            need = w < 0 ? need : 2 + 2 * (uint64_t)w;
        }
    } else if (m == 0xCC) { /* DAC: Tc/Tb, Cs pairs */
        need &= ~(uint64_t)1;
    } else if (m == 0xDB || m == 0xC4) { /* DQT: Pq/Tq, 64 or 128 bytes; DHT: Tc/Th, 16 counts, the values */
        uint64_t p = body;
        for (;;) {
            if ((b = at(c, p)) < -1)
                return -1;
            uint64_t t = 1 + (m == 0xDB ? 64 * (uint64_t)((b >> 4) ? 2 : 1) : 16);
            if (b < 0 || end - p < t)
                break;
            if (m == 0xC4) {
                for (uint64_t i = 1; i <= 16; i++) {
                    int n = at(c, p + i);
                    if (n < -1)
                        return -1;
                    t += (uint64_t)(n < 0 ? 0 : n);
                }
                if (end - p < t)
                    break;
            }
            p += t;
            if (p == end)
                break;
        }
        need = p - body;
    }
    *used = need < end - body ? body + need : end;
    return 0;
}

/* One JPEG or JPEG-LS image from its SOI at pos; *end: after its EOI, or where the next image's SOI begins a
 * fragment (this one was cut short), or the stream's end. ls: the transfer syntax is JPEG-LS. Otherwise the
 * image is JPEG-LS from its frame header (SOF55) on; an LSE before it would be made a comment, and the image
 * would decode with other parameters (T.87 C.1.1 lets an LSE come before the frame header). */
static int jpeg_image(cur *c, uint64_t pos, uint64_t *end, int ls)
{
    uint64_t p = pos + 2;
    for (;;) {
        int b = at(c, p);
        if (b < -1)
            return -1;
        if (b == -1)
            break;
        if (b != 0xFF) {
            /* Not a marker where one must be: a decoder skips to the next 0xFF; so does the clearing. */
            uint64_t q = find_ff(c, p);
            if (q == UINT64_MAX || zero_range(c, p, q) != 0)
                return -1;
            p = q;
            continue;
        }
        int m = at(c, p + 1);
        if (m < -1)
            return -1;
        if (m == -1)
            break;
        if (m == 0xFF) { /* fill */
            p++;
            continue;
        }
        if (m == 0xD9) {
            *end = p + 2;
            return 0;
        }
        if (m == 0xD8) {
            if (is_frag_start(c, p)) {
                *end = p;
                return 0;
            }
            return malformed(c, p, "a JPEG SOI marker inside an image");
        }
        if ((m >= 0xD0 && m <= 0xD7) || m == 0x01 || m == 0x00) { /* RSTn, TEM: no length */
            p += 2;
            continue;
        }
        uint64_t len;
        int r = be(c, p + 2, 2, &len);
        if (r < 0)
            return -1;
        if (r > 0)
            break;
        if (len < 2)
            return malformed(c, p, "a JPEG marker segment shorter than its length field");
        uint64_t body = p + 4, seg_end = p + 2 + len, keep = 0;
        if (m == 0xF7)
            ls = 1;
        if (jpeg_structural(m, ls)) {
            uint64_t used;
            if (jpeg_syntax_end(c, m, body, seg_end, &used) != 0 || zero_range(c, used, seg_end) != 0)
                return -1;
        } else if (m >= 0xE0 && m <= 0xEF && app_kept(c, m, body, seg_end, &keep)) {
            if (keep < seg_end - body && zero_range(c, body + keep, seg_end) != 0)
                return -1;
        } else if (neutralize(c, p, m, 0xFE, body, seg_end) != 0) {
            return -1;
        }
        p = seg_end;
        if (m == 0xDA) {
            p = ecs_end(c, p, ls);
            if (p == UINT64_MAX)
                return -1;
        }
    }
    *end = c->lim;
    return 0;
}

/* ---------------------------------------------------------------- JPEG 2000 */

/* Marker segments of the main and tile-part headers that a decoder reads: kept. Listed one by one, not as the
 * 0xFF50-0xFF7F range: a marker no part defines there (0xFF54, 0xFF6F), or one of JPSEC (SEC 0xFF65) or JPWL
 * (0xFF66-0xFF69), is skipped by OpenJPEG and the image still decodes, so its payload may carry anything. */
static int j2k_known(int m)
{
    switch (m) {
    case 0x50: /* CAP (T.800 Amd, T.814) */
    case 0x51: /* SIZ */
    case 0x52: /* COD */
    case 0x53: /* COC */
    case 0x55: /* TLM */
    case 0x56: /* PRF (T.800 2019) */
    case 0x57: /* PLM */
    case 0x58: /* PLT */
    case 0x59: /* CPF (T.814) */
    case 0x5C: /* QCD */
    case 0x5D: /* QCC */
    case 0x5E: /* RGN */
    case 0x5F: /* POC */
    case 0x60: /* PPM */
    case 0x61: /* PPT */
    case 0x63: /* CRG */
        return 1;
    default: /* T.801 (Part 2): DCO, VMS, DFS, ADS, MCT, MCC, NLT, MCO, CBD, ATK */
        return m >= 0x70 && m <= 0x79;
    }
}

/* Header segments from p until a marker in stop (SOT or EOC for the main header, SOD for a tile-part's):
 * COM payloads zeroed, unknown segments made COM. *p: at the stopping marker; 1 when the stream ended. */
static int j2k_header(cur *c, uint64_t *pp, int stop1, int stop2, int *found)
{
    uint64_t p = *pp;
    for (;;) {
        uint64_t mk;
        int r = be(c, p, 2, &mk);
        if (r)
            return r;
        if ((mk >> 8) != 0xFF)
            return malformed(c, p, "no JPEG 2000 marker where a header segment must begin");
        int m = (int)(mk & 0xFF);
        if (m == stop1 || m == stop2) {
            *pp = p;
            *found = m;
            return 0;
        }
        if (m >= 0x30 && m <= 0x3F) { /* reserved markers without parameters */
            p += 2;
            continue;
        }
        uint64_t len;
        if ((r = be(c, p + 2, 2, &len)) != 0)
            return r;
        if (len < 2)
            return malformed(c, p, "a JPEG 2000 marker segment shorter than its length field");
        if (!j2k_known(m) && neutralize(c, p, m, 0x64, p + 4, p + 2 + len) != 0)
            return -1;
        p += 2 + len;
    }
}

/* The next SOT or EOC from pos in tile data (packet data never holds 0xFF followed by a byte above 0x8F;
 * SOP and EPH are the markers allowed there). */
static uint64_t j2k_next_marker(cur *c, uint64_t pos)
{
    for (;;) {
        uint64_t p = find_ff(c, pos);
        if (p == UINT64_MAX || p >= c->lim)
            return p;
        int n = at(c, p + 1);
        if (n < -1)
            return UINT64_MAX;
        if (n == -1)
            return c->lim;
        if (n == 0x90 || n == 0xD9)
            return p;
        pos = p + 1;
    }
}

static int j2k_codestream_in(cur *c, uint64_t pos, uint64_t limit, uint64_t *end);

/* One codestream from its SOC at pos, within [pos, limit); *end after its EOC (or limit / the stream's end).
 * Nothing at or past limit is read or cleared: a segment whose length runs past a JP2 codestream box is cut at
 * the box's end, where the next box's walk begins (clearing past it reported ranges out of order: fuzz
 * regression jp2-segment-past-its-box). */
static int j2k_codestream(cur *c, uint64_t pos, uint64_t limit, uint64_t *end)
{
    uint64_t saved = c->lim;
    if (limit < c->lim)
        c->lim = limit;
    int rc = j2k_codestream_in(c, pos, limit, end);
    c->lim = saved;
    return rc;
}

static int j2k_codestream_in(cur *c, uint64_t pos, uint64_t limit, uint64_t *end)
{
    uint64_t p = pos + 2;
    int found = 0;
    int r = j2k_header(c, &p, 0x90, 0xD9, &found);
    while (r == 0 && found == 0x90) {
        uint64_t lsot, psot;
        if ((r = be(c, p + 2, 2, &lsot)) != 0 || (r = be(c, p + 6, 4, &psot)) != 0)
            break;
        if (lsot < 10)
            return malformed(c, p, "a JPEG 2000 SOT segment shorter than 10 bytes");
        uint64_t h = p + 2 + lsot;
        if ((r = j2k_header(c, &h, 0x93, -1, &found)) != 0)
            break;
        /* the tile-part's data: up to Psot bytes from its SOT, or to the next SOT / EOC when Psot is 0 or
         * does not land on one */
        uint64_t next = p + psot, mk = 0;
        if (psot == 0 || psot < h + 2 - p || be(c, next, 2, &mk) != 0 || (mk != 0xFF90 && mk != 0xFFD9)) {
            next = j2k_next_marker(c, h + 2);
            if (next == UINT64_MAX)
                return -1;
        }
        if (next >= limit || next >= c->lim)
            break;
        p = next;
        found = at(c, p + 1);
    }
    if (r < 0)
        return -1;
    if (r == 0 && found == 0xD9) {
        *end = p + 2;
        return 0;
    }
    *end = limit < c->lim ? limit : c->lim;
    return 0;
}

static const uint8_t jp2_sig[12] = {0, 0, 0, 0x0C, 'j', 'P', ' ', ' ', 0x0D, 0x0A, 0x87, 0x0A};

static int is_jp2(cur *c, uint64_t pos)
{
    return has(c, pos, c->lim, (const char *)jp2_sig, sizeof jp2_sig);
}

/* Where the image beginning at pos ends when the frames are not known: the next fragment before fe that
 * begins a codestream, or fe. */
static uint64_t image_limit(cur *c, uint64_t pos, uint64_t fe, dv_cs_family fam)
{
    uint64_t save = c->lim;
    c->lim = fe;
    uint64_t lim = fe;
    for (uint32_t k = frag_of(c, pos) + 1; k < c->n && c->start[k] < fe; k++) {
        uint64_t s = c->start[k];
        int b0 = at(c, s), b1 = at(c, s + 1);
        if ((b0 == 0xFF && b1 == (fam == DV_CS_J2K ? 0x4F : 0xD8)) || (fam == DV_CS_J2K && is_jp2(c, s))) {
            lim = s;
            break;
        }
    }
    c->lim = save;
    return lim;
}

/* Where the syntax of a kept JP2 box with body [body, end) of type t ends (T.800 I.5.3): OpenJPEG reads a colr
 * box of the enumerated method whatever follows its 7 bytes, a cdef box whatever follows its entries, so
 * what lies past the fields may carry anything. A colr box holding an ICC profile, bpcc, pclr and the boxes
 * walked or recursed into: end. 0, or -1 with err; *used: the end of the syntax (<= end). */
static int jp2_syntax_end(cur *c, const char t[4], uint64_t body, uint64_t end, uint64_t *used)
{
    uint64_t need = end - body, v;
    int r;
    if (!memcmp(t, "jP  ", 4)) {
        need = 4;
    } else if (!memcmp(t, "ihdr", 4)) {
        need = 14;
    } else if (!memcmp(t, "resc", 4) || !memcmp(t, "resd", 4)) {
        need = 10;
    } else if (!memcmp(t, "colr", 4)) {
        int meth = at(c, body);
        if (meth < -1)
            return -1;
        if (meth == 1)
            need = 7; /* METH, PREC, APPROX, EnumCS */
    } else if (!memcmp(t, "cdef", 4)) {
        if ((r = be(c, body, 2, &v)) < 0)
            return -1;
        if (r == 0)
            need = 2 + 6 * v;
    } else if (!memcmp(t, "cmap", 4) || !memcmp(t, "ftyp", 4)) {
        need &= ~(uint64_t)3; /* 4-byte entries; ftyp: brand, minor version, compatibility list */
    }
    *used = need < end - body ? body + need : end;
    return 0;
}

/* JP2 boxes in [pos, limit): the image's boxes kept up to where their syntax ends, the codestream walked, every
 * other box made 'free' and zeroed. depth: 0 for the file, 1 inside the header box, 2 inside its resolution
 * box. */
static int jp2_boxes(cur *c, uint64_t pos, uint64_t limit, int depth)
{
    static const char *const keep_top[] = {"jP  ", "ftyp", "jp2h", "jp2c", "free"};
    static const char *const keep_hdr[] = {"ihdr", "bpcc", "colr", "pclr", "cmap", "cdef", "res "};
    static const char *const keep_res[] = {"resc", "resd"};
    uint64_t p = pos;
    while (p + 8 <= limit) {
        uint64_t lbox, tbox, hdr = 8;
        int r = be(c, p, 4, &lbox);
        if (r == 0)
            r = be(c, p + 4, 4, &tbox);
        if (r)
            return r < 0 ? -1 : 0;
        if (lbox == 1) {
            if ((r = be(c, p + 8, 8, &lbox)) != 0)
                return r < 0 ? -1 : 0;
            hdr = 16;
        } else if (lbox == 0) {
            lbox = limit - p;
        }
        if (lbox < hdr || lbox > limit - p)
            return malformed(c, p, "a JP2 box longer than its image or shorter than its header");
        char t[4] = {(char)(tbox >> 24), (char)(tbox >> 16), (char)(tbox >> 8), (char)tbox};
        uint64_t body = p + hdr, end = p + lbox;
        int kept = 0;
        const char *const *list = depth == 2 ? keep_res : depth ? keep_hdr : keep_top;
        size_t nlist = depth == 2  ? sizeof keep_res / sizeof *keep_res
                       : depth ? sizeof keep_hdr / sizeof *keep_hdr
                               : sizeof keep_top / sizeof *keep_top;
        for (size_t i = 0; i < nlist; i++)
            kept |= !memcmp(t, list[i], 4);
        if (!kept || !memcmp(t, "free", 4)) {
            if ((memcmp(t, "free", 4) && report(c, p + 4, 4, (const uint8_t *)"free") != 0) ||
                zero_range(c, body, end) != 0)
                return -1;
        } else if (!memcmp(t, "jp2h", 4) || !memcmp(t, "res ", 4)) {
            if (jp2_boxes(c, body, end, depth + 1) != 0)
                return -1;
        } else if (!memcmp(t, "jp2c", 4)) {
            uint64_t cs_end = end;
            if (end - body >= 2 && at(c, body) == 0xFF && at(c, body + 1) == 0x4F) { /* SOC inside the box */
                if (j2k_codestream(c, body, end, &cs_end) != 0)
                    return -1;
            } else {
                return malformed(c, body, "a JP2 codestream box without a codestream");
            }
            if (zero_range(c, cs_end, end) != 0)
                return -1;
        } else {
            uint64_t used;
            if (jp2_syntax_end(c, t, body, end, &used) != 0 || zero_range(c, used, end) != 0)
                return -1;
        }
        p = end;
    }
    return zero_range(c, p, limit);
}

/* ---------------------------------------------------------------- the cursor */

/* A cursor over frags: their stream positions and the window. 0, or -1 with err (DV_ERR_NOMEM; then
 * cur_close is still called). */
static int cur_open(cur *c, const dv_source *src, const dv_cs_frag *frags, uint32_t nfrags, dv_cs_patch_fn fn,
                    void *user, dv_error *err)
{
    *c = (cur){src, frags, nfrags, NULL, 0, 0, NULL, 0, 0, 0, fn, user, err};
    c->start = malloc(((size_t)nfrags + 1) * sizeof *c->start);
    c->win = malloc(WIN);
    if (!c->start || !c->win)
        return dv_fail(err, DV_ERR_NOMEM, "out of memory (codestream walk)");
    for (uint32_t k = 0; k < nfrags; k++) {
        c->start[k] = c->total;
        c->total += frags[k].length;
    }
    c->start[nfrags] = c->total;
    return 0;
}

static void cur_close(cur *c)
{
    free(c->start);
    free(c->win);
}

/* ---------------------------------------------------------------- RLE */

#define RLE_HEADER 64u
#define RLE_NOOP 0x80u /* PackBits' -128: no operation (G.3.1) */

/* Little-endian 32 bits at pos: 0 with *v, 1 when the frame ends first, -1 on a read error. */
static int le32(cur *c, uint64_t pos, uint32_t *v)
{
    uint64_t b;
    int rc = be(c, pos, 4, &b);
    *v = (uint32_t)((b >> 24) | (b >> 8 & 0xFF00u) | (b << 8 & 0xFF0000u) | (b << 24 & 0xFF000000u));
    return rc;
}

/* [pos, end) filled with 0x80 where it holds a byte that is neither 0x80 nor zero (zeros hide nothing, and
 * 0x80 is how encoders pad a segment to an even length). */
static int noop_fill(cur *c, uint64_t pos, uint64_t end)
{
    static const uint8_t noop = RLE_NOOP;
    for (uint64_t q = pos; q < end; q++) {
        int b = at(c, q);
        if (b < -1)
            return -1;
        if (b > 0 && b != RLE_NOOP) {
            while (pos < end) { /* a fill, cut at fragment ends as report's ranges are */
                uint32_t k = frag_of(c, pos);
                uint64_t in = pos - c->start[k], piece = c->f[k].length - in < end - pos ? c->f[k].length - in
                                                                                          : end - pos;
                if (c->fn(c->user, c->f[k].offset + in, piece, &noop, 1) != 0)
                    return -1;
                pos += piece;
            }
            return 0;
        }
    }
    return 0;
}

/* The position after the last byte a decoder reads of the segment [pos, end) to make plane bytes (a literal run
 * that goes past the plane: its bytes up to the plane's last); end when it decodes short. -1 (as UINT64_MAX) on
 * a read error. */
static uint64_t rle_segment_used(cur *c, uint64_t pos, uint64_t end, uint64_t plane)
{
    uint64_t made = 0;
    while (pos < end && made < plane) {
        int h = at(c, pos++);
        if (h < 0)
            return h == -1 ? end : UINT64_MAX;
        if (h < 128) { /* a literal run of h + 1 bytes */
            uint64_t n = (uint64_t)h + 1;
            if (n > end - pos)
                n = end - pos;
            if (n > plane - made)
                n = plane - made;
            pos += n;
            made += n;
        } else if (h > 128) { /* one byte, 257 - h times */
            if (pos >= end)
                break;
            pos++;
            made += 257 - (uint64_t)h < plane - made ? 257 - (uint64_t)h : plane - made;
        }
    }
    return made < plane ? end : pos;
}

/* One RLE frame, [fs, fe). */
static int rle_frame(cur *c, uint64_t fs, uint64_t fe, uint64_t plane)
{
    c->lim = fe;
    uint32_t nseg, off[15];
    if (fe - fs < RLE_HEADER)
        return malformed(c, fs, "an RLE frame shorter than its 64-byte header");
    int rc = le32(c, fs, &nseg);
    if (rc != 0)
        return -1;
    if (nseg < 1 || nseg > 15)
        return malformed(c, fs, "an RLE header whose segment count is not 1 to 15");
    for (uint32_t s = 0; s < nseg; s++) {
        if (le32(c, fs + 4 + 4 * (uint64_t)s, &off[s]) != 0)
            return -1;
        if (off[s] < RLE_HEADER || (uint64_t)off[s] > fe - fs || (s && off[s] < off[s - 1]))
            return malformed(c, fs, "RLE segment offsets inside the header, descending or past the frame");
    }
    /* offsets past the count, then the bytes between the header and the first segment */
    if (zero_range(c, fs + 4 + 4 * (uint64_t)nseg, fs + RLE_HEADER) != 0 ||
        zero_range(c, fs + RLE_HEADER, fs + off[0]) != 0)
        return -1;
    for (uint32_t s = 0; s < nseg; s++) {
        uint64_t from = fs + off[s], to = s + 1 < nseg ? fs + off[s + 1] : fe;
        uint64_t used = rle_segment_used(c, from, to, plane);
        if (used == UINT64_MAX || noop_fill(c, used, to) != 0)
            return -1;
    }
    return 0;
}

int dv_rle_clean(const dv_source *src, const dv_cs_frag *frags, uint32_t nfrags, const uint32_t *frame_first,
                 uint32_t nframes, uint64_t plane_bytes, dv_cs_patch_fn fn, void *user, dv_error *err)
{
    if (nfrags == 0)
        return 0;
    if (plane_bytes == 0)
        return dv_fail(err, DV_ERR_MALFORMED,
                       "RLE pixel data without Rows or Columns; its embedded text cannot be checked");
    cur c;
    int rc = cur_open(&c, src, frags, nfrags, fn, user, err);
    if (rc == 0) {
        uint32_t n = frame_first && nframes ? nframes : nfrags;
        for (uint32_t i = 0; rc == 0 && i < n; i++) {
            uint32_t a = frame_first && nframes ? frame_first[i] : i;
            uint32_t b = i + 1 < n ? (frame_first && nframes ? frame_first[i + 1] : i + 1) : nfrags;
            if (a >= nfrags || b > nfrags || b <= a)
                rc = dv_fail(err, DV_ERR_USAGE, "frame %u's first fragment out of order", i + 1);
            else
                rc = rle_frame(&c, c.start[a], c.start[b], plane_bytes);
        }
    }
    cur_close(&c);
    return rc;
}

/* ---------------------------------------------------------------- the walk */

dv_cs_family dv_cs_family_of(const char *ts)
{
    if (ts && strcmp(ts, "1.2.840.10008.1.2.5") == 0)
        return DV_CS_RLE;
    const char *p = "1.2.840.10008.1.2.4.";
    size_t n = strlen(p);
    if (!ts || strncmp(ts, p, n) || !ts[n])
        return DV_CS_NONE;
    char *e;
    long v = strtol(ts + n, &e, 10);
    if (*e)
        return DV_CS_NONE;
    if ((v >= 50 && v <= 66) || v == 70)
        return DV_CS_JPEG;
    if (v == 80 || v == 81)
        return DV_CS_JPEG_LS;
    if ((v >= 90 && v <= 93) || (v >= 201 && v <= 203))
        return DV_CS_J2K;
    return DV_CS_NONE;
}

/* One frame, [fs, fe): its codestream(s) walked, what lies between or after them cleared. by_markers: the
 * frames are not known, so an image also ends where a fragment begins another. */
static int clean_frame(cur *c, dv_cs_family fam, uint64_t fs, uint64_t fe, int by_markers)
{
    uint64_t pos = fs;
    int seen = 0;
    while (pos < fe) {
        /* pos begins a fragment: a codestream, or bytes between codestreams */
        c->lim = fe;
        int b0 = at(c, pos), b1 = at(c, pos + 1);
        if (b0 < -1 || b1 < -1)
            return -1;
        int jpeg = (fam == DV_CS_JPEG || fam == DV_CS_JPEG_LS) && b0 == 0xFF && b1 == 0xD8;
        int j2k = fam == DV_CS_J2K && b0 == 0xFF && b1 == 0x4F;
        int jp2 = fam == DV_CS_J2K && !j2k && is_jp2(c, pos);
        uint64_t end = pos;
        if (jpeg || j2k || jp2) {
            c->lim = by_markers ? image_limit(c, pos, fe, fam) : fe;
            int rc = jpeg ? jpeg_image(c, pos, &end, fam == DV_CS_JPEG_LS)
                          : j2k ? j2k_codestream(c, pos, c->lim, &end) : jp2_boxes(c, pos, c->lim, 0);
            if (rc != 0)
                return -1;
            if (jp2)
                end = c->lim;
            c->lim = fe;
        } else if (!seen) {
            return malformed(c, pos, fam == DV_CS_J2K ? "no JPEG 2000 codestream where an image must begin"
                                                       : "no JPEG SOI marker where an image must begin");
        }
        seen = 1;
        /* after a codestream's end: the rest of its fragment; a fragment that begins none: all of it */
        uint64_t next = end >= fe ? fe : next_frag_start(c, end);
        if (next == pos)
            next = c->start[frag_of(c, pos) + 1];
        if (next > fe)
            next = fe;
        if (zero_range(c, end, next) != 0)
            return -1;
        pos = next;
    }
    return 0;
}

int dv_codestream_clean(dv_cs_family fam, const dv_source *src, const dv_cs_frag *frags, uint32_t nfrags,
                        const uint32_t *frame_first, uint32_t nframes, dv_cs_patch_fn fn, void *user,
                        dv_error *err)
{
    if (fam == DV_CS_RLE)
        return dv_fail(err, DV_ERR_USAGE, "RLE frames are walked by dv_rle_clean (it needs Rows x Columns)");
    if (fam == DV_CS_NONE || nfrags == 0)
        return 0;
    cur c;
    int rc = cur_open(&c, src, frags, nfrags, fn, user, err);
    if (rc == 0) {
        if (!frame_first || nframes == 0) {
            rc = clean_frame(&c, fam, 0, c.total, 1);
        } else {
            for (uint32_t i = 0; rc == 0 && i < nframes; i++) {
                if (frame_first[i] >= nfrags || (i && frame_first[i] <= frame_first[i - 1]))
                    rc = dv_fail(err, DV_ERR_USAGE, "frame %u's first fragment out of order", i + 1);
                else
                    rc = clean_frame(&c, fam, c.start[frame_first[i]],
                                     i + 1 < nframes && frame_first[i + 1] < nfrags ? c.start[frame_first[i + 1]]
                                                                                    : c.total, 0);
            }
        }
    }
    cur_close(&c);
    return rc;
}
