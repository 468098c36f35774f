/* Test-only DICOM encoder (see dv_build.h). Sequences and items of defined length are patched once their
 * content is known, so nested defined lengths come out right. */
#include "dv_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MAX_NEST 1024

struct dvb {
    dvb_ts ts;
    int part10;
    uint8_t *buf;
    size_t len, cap;
    size_t open_pos[MAX_NEST]; /* position of the 32-bit length to patch, or SIZE_MAX when undefined */
    int open_is_item[MAX_NEST];
    int depth;
    char meta_sop[80];
    int meta_sop_set;
    char meta_ts[80]; /* "" : the syntax's own UID */
    char sop_class[80], sop_inst[80];
};

static void put(dvb *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n)
            cap *= 2;
        b->buf = realloc(b->buf, cap);
        if (!b->buf)
            abort();
        b->cap = cap;
    }
    memcpy(b->buf + b->len, p, n);
    b->len += n;
}

static int big(const dvb *b)
{
    return b->ts == DVB_EXPLICIT_BE;
}

static int explicit_vr(const dvb *b)
{
    return b->ts != DVB_IMPLICIT_LE;
}

static void put16(dvb *b, uint16_t v)
{
    uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    if (big(b)) {
        x[0] = (uint8_t)(v >> 8);
        x[1] = (uint8_t)v;
    }
    put(b, x, 2);
}

static void put32(dvb *b, uint32_t v)
{
    uint8_t x[4];
    for (int i = 0; i < 4; i++)
        x[big(b) ? 3 - i : i] = (uint8_t)(v >> (8 * i));
    put(b, x, 4);
}

static void patch32(dvb *b, size_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b->buf[at + (size_t)(big(b) ? 3 - i : i)] = (uint8_t)(v >> (8 * i));
}

static int long_vr(const char vr[2])
{
    static const char *const l[] = { "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV" };
    for (size_t i = 0; i < sizeof l / sizeof *l; i++)
        if (!memcmp(vr, l[i], 2))
            return 1;
    return 0;
}

static void header(dvb *b, uint32_t tag, const char vr[2], uint32_t len)
{
    put16(b, (uint16_t)(tag >> 16));
    put16(b, (uint16_t)tag);
    if (!explicit_vr(b)) {
        put32(b, len);
        return;
    }
    put(b, vr, 2);
    if (long_vr(vr)) {
        put16(b, 0);
        put32(b, len);
    } else {
        put16(b, (uint16_t)len);
    }
}

dvb *dvb_new(dvb_ts ts, int part10)
{
    dvb *b = calloc(1, sizeof *b);
    b->ts = ts;
    b->part10 = part10;
    return b;
}

void dvb_bytes(dvb *b, uint32_t tag, const char vr[2], const void *value, uint32_t len)
{
    if (b->depth == 0 && tag == 0x00080016)
        snprintf(b->sop_class, sizeof b->sop_class, "%.*s", (int)len, (const char *)value);
    if (b->depth == 0 && tag == 0x00080018)
        snprintf(b->sop_inst, sizeof b->sop_inst, "%.*s", (int)len, (const char *)value);
    header(b, tag, vr, len);
    if (len)
        put(b, value, len);
}

void dvb_str(dvb *b, uint32_t tag, const char vr[2], const char *value)
{
    size_t n = strlen(value);
    char *tmp = malloc(n + 2);
    memcpy(tmp, value, n);
    if (n & 1)
        tmp[n++] = memcmp(vr, "UI", 2) ? ' ' : '\0';
    dvb_bytes(b, tag, vr, tmp, (uint32_t)n);
    if (b->depth == 0 && (tag == 0x00080016 || tag == 0x00080018)) /* remember the unpadded UID */
        snprintf(tag == 0x00080016 ? b->sop_class : b->sop_inst, 80, "%s", value);
    free(tmp);
}

void dvb_u16(dvb *b, uint32_t tag, uint16_t v)
{
    header(b, tag, "US", 2);
    put16(b, v);
}

void dvb_pixel_geometry(dvb *b, uint16_t rows, uint16_t cols, uint16_t bits)
{
    dvb_u16(b, 0x00280010, rows);
    dvb_u16(b, 0x00280011, cols);
    dvb_u16(b, 0x00280100, bits);
    dvb_u16(b, 0x00280101, bits);
    dvb_u16(b, 0x00280102, (uint16_t)(bits - 1));
    dvb_u16(b, 0x00280103, 0);
}

void dvb_u32(dvb *b, uint32_t tag, uint32_t v)
{
    header(b, tag, "UL", 4);
    put32(b, v);
}

static void open_container(dvb *b, int undefined, int is_item)
{
    if (b->depth >= MAX_NEST)
        abort();
    b->open_is_item[b->depth] = is_item;
    b->open_pos[b->depth] = undefined ? SIZE_MAX : b->len - 4;
    b->depth++;
}

void dvb_seq_begin(dvb *b, uint32_t tag, int undefined)
{
    header(b, tag, "SQ", undefined ? 0xFFFFFFFFu : 0);
    open_container(b, undefined, 0);
}

void dvb_item_begin(dvb *b, int undefined)
{
    put16(b, 0xFFFE);
    put16(b, 0xE000);
    put32(b, undefined ? 0xFFFFFFFFu : 0);
    open_container(b, undefined, 1);
}

static void close_container(dvb *b, uint16_t delim)
{
    b->depth--;
    size_t at = b->open_pos[b->depth];
    if (at == SIZE_MAX) {
        put16(b, 0xFFFE);
        put16(b, delim);
        put32(b, 0);
    } else {
        patch32(b, at, (uint32_t)(b->len - at - 4));
    }
}

void dvb_item_end(dvb *b)
{
    close_container(b, 0xE00D);
}

void dvb_seq_end(dvb *b)
{
    close_container(b, 0xE0DD);
}

void dvb_encapsulated_bot(dvb *b, const void *const *frags, const uint32_t *lens, size_t n, const uint32_t *bot,
                          size_t nbot)
{
    header(b, 0x7FE00010, "OB", 0xFFFFFFFFu);
    put16(b, 0xFFFE);
    put16(b, 0xE000);
    put32(b, (uint32_t)(4 * nbot));
    for (size_t i = 0; i < nbot; i++)
        put32(b, bot[i]);
    for (size_t i = 0; i < n; i++) {
        put16(b, 0xFFFE);
        put16(b, 0xE000);
        put32(b, lens[i] + (lens[i] & 1));
        put(b, frags[i], lens[i]);
        if (lens[i] & 1)
            put(b, "", 1);
    }
    put16(b, 0xFFFE);
    put16(b, 0xE0DD);
    put32(b, 0);
}

void dvb_encapsulated(dvb *b, const void *const *frags, const uint32_t *lens, size_t n)
{
    dvb_encapsulated_bot(b, frags, lens, n, NULL, 0); /* an empty basic offset table */
}

void dvb_set_meta_sop_instance(dvb *b, const char *uid)
{
    snprintf(b->meta_sop, sizeof b->meta_sop, "%s", uid);
    b->meta_sop_set = 1;
}

void dvb_set_meta_ts(dvb *b, const char *uid)
{
    snprintf(b->meta_ts, sizeof b->meta_ts, "%s", uid);
}

static const char *ts_uid(dvb_ts ts)
{
    switch (ts) {
    case DVB_IMPLICIT_LE: return "1.2.840.10008.1.2";
    case DVB_EXPLICIT_LE: return "1.2.840.10008.1.2.1";
    case DVB_EXPLICIT_BE: return "1.2.840.10008.1.2.2";
    case DVB_DEFLATED_LE: return "1.2.840.10008.1.2.1.99";
    case DVB_JPEG_BASELINE: return "1.2.840.10008.1.2.4.50";
    case DVB_J2K_LOSSLESS: return "1.2.840.10008.1.2.4.90";
    case DVB_RLE: return "1.2.840.10008.1.2.5";
    case DVB_JPEG_LS_LOSSLESS: return "1.2.840.10008.1.2.4.80";
    case DVB_JPEG_LOSSLESS_SV1: return "1.2.840.10008.1.2.4.70";
    case DVB_J2K: return "1.2.840.10008.1.2.4.91";
    case DVB_JPEG_LS_NEAR: return "1.2.840.10008.1.2.4.81";
    case DVB_DEFLATE_FRAME: return "1.2.840.10008.1.2.8.1";
    }
    return "1.2.840.10008.1.2.1";
}

/* Meta elements are explicit VR little endian whatever the dataset's transfer syntax. */
static void meta_str(uint8_t **m, size_t *mlen, uint32_t tag, const char vr[2], const char *v)
{
    size_t n = strlen(v), pn = n + (n & 1);
    size_t hdr = long_vr(vr) ? 12 : 8;
    *m = realloc(*m, *mlen + hdr + pn);
    uint8_t *p = *m + *mlen;
    p[0] = (uint8_t)(tag >> 16);
    p[1] = (uint8_t)(tag >> 24);
    p[2] = (uint8_t)tag;
    p[3] = (uint8_t)(tag >> 8);
    p[4] = (uint8_t)vr[0];
    p[5] = (uint8_t)vr[1];
    if (hdr == 12) {
        p[6] = p[7] = 0;
        for (int i = 0; i < 4; i++)
            p[8 + i] = (uint8_t)(pn >> (8 * i));
    } else {
        p[6] = (uint8_t)pn;
        p[7] = (uint8_t)(pn >> 8);
    }
    memcpy(p + hdr, v, n);
    if (n & 1)
        p[hdr + n] = memcmp(vr, "UI", 2) ? ' ' : 0;
    *mlen += hdr + pn;
}

uint8_t *dvb_finish(dvb *b, size_t *len)
{
    uint8_t *body = b->buf;
    size_t body_len = b->len;
    if (b->ts == DVB_DEFLATED_LE) {
        uLongf bound = compressBound(body_len) + 64;
        uint8_t *z = malloc(bound);
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
        zs.next_in = body;
        zs.avail_in = (uInt)body_len;
        zs.next_out = z;
        zs.avail_out = (uInt)bound;
        deflate(&zs, Z_FINISH);
        body_len = zs.total_out;
        deflateEnd(&zs);
        free(body);
        body = z;
    }
    uint8_t *out;
    size_t out_len;
    if (!b->part10) {
        out = body;
        out_len = body_len;
    } else {
        uint8_t *m = NULL;
        size_t mlen = 0;
        static const char version[2] = { 0, 1 };
        /* version: OB with 2 raw bytes */
        m = realloc(m, 14);
        uint8_t v[14] = { 0x02, 0, 0x01, 0, 'O', 'B', 0, 0, 2, 0, 0, 0, 0, 0 };
        memcpy(v + 12, version, 2);
        memcpy(m, v, 14);
        mlen = 14;
        meta_str(&m, &mlen, 0x00020002, "UI", b->sop_class);
        meta_str(&m, &mlen, 0x00020003, "UI", b->meta_sop_set ? b->meta_sop : b->sop_inst);
        meta_str(&m, &mlen, 0x00020010, "UI", b->meta_ts[0] ? b->meta_ts : ts_uid(b->ts));
        meta_str(&m, &mlen, 0x00020012, "UI", "1.2.3.4.5.6.7");
        out_len = 132 + 12 + mlen + body_len;
        out = calloc(1, out_len);
        memcpy(out + 128, "DICM", 4);
        uint8_t gl[12] = { 0x02, 0, 0, 0, 'U', 'L', 4, 0, (uint8_t)mlen, (uint8_t)(mlen >> 8), (uint8_t)(mlen >> 16),
                           (uint8_t)(mlen >> 24) };
        memcpy(out + 132, gl, 12);
        memcpy(out + 144, m, mlen);
        memcpy(out + 144 + mlen, body, body_len);
        free(m);
        free(body);
    }
    free(b);
    *len = out_len;
    return out;
}

int dvb_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int rc = fwrite(data, 1, len, f) == len ? 0 : -1;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}
