/* What pixel data carries besides pixels (src/image/codestream_meta.c, src/engine/pixel_container.c,
 * src/dicom/patch.c; docs/decisions.md "Codestream metadata", "Bytes past the last frame"):
 * JPEG/JPEG-LS comments, application segments and thumbnails, JPEG 2000 comments and JP2 boxes, bytes after a
 * codestream's end and past the last native frame are cleared; the pixels decode exactly as before. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dicomveil/dicomveil.h"
#include "dicomveil/dv_frames.h"
#include "dicom/dv_ds.h"
#include "image/dv_codestream_meta.h"
#include "image/dv_image.h"
#include "dict/dv_tags.h"
#include "dv_build.h"
#include "dv_checks.h"
#include "dv_testkit.h"

/* ------------------------------------------------------------------ stream building */

typedef struct buf {
    uint8_t b[8192];
    size_t n;
} buf;

static void put(buf *s, const void *p, size_t n)
{
    assert_true(s->n + n <= sizeof s->b);
    memcpy(s->b + s->n, p, n);
    s->n += n;
}

static void put2(buf *s, unsigned a, unsigned b)
{
    uint8_t x[2] = {(uint8_t)a, (uint8_t)b};
    put(s, x, 2);
}

/* A marker segment: FF m, length, payload. */
static size_t seg(buf *s, unsigned m, const void *p, size_t n)
{
    size_t at = s->n;
    put2(s, 0xFF, m);
    put2(s, (unsigned)((n + 2) >> 8), (unsigned)((n + 2) & 0xFF));
    put(s, p, n);
    return at;
}

static int contains(const uint8_t *h, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(h + i, needle, k))
            return 1;
    return 0;
}

/* ------------------------------------------------------------------ running the walk */

typedef struct run {
    const dv_cs_frag *f;
    uint32_t nf;
    uint8_t *out;     /* the stream with the patches applied (positions: concatenated fragments) */
    uint64_t last;    /* end of the last patch (ascending order) */
    int patches;
} run;

static int apply(void *user, uint64_t off, uint64_t len, const uint8_t *lit, unsigned nlit)
{
    run *r = user;
    assert_true(off >= r->last); /* ascending, no overlap */
    r->last = off + len;
    uint32_t k = 0;
    uint64_t pos = 0;
    while (k < r->nf && !(off >= r->f[k].offset && off < r->f[k].offset + r->f[k].length)) {
        pos += r->f[k].length;
        k++;
    }
    assert_true(k < r->nf);
    assert_true(off + len <= r->f[k].offset + r->f[k].length); /* never across a fragment's end */
    assert_true(nlit == 0 || nlit == len || nlit == 1);
    assert_true(!nlit || (lit && nlit <= 4));
    uint64_t at = pos + (off - r->f[k].offset);
    if (nlit == len)
        memcpy(r->out + at, lit, (size_t)len);
    else
        memset(r->out + at, nlit ? lit[0] : 0, (size_t)len);
    r->patches++;
    return 0;
}

/* The walk of fam over fragments f (frames not known); plane: an RLE segment's bytes (Rows x Columns). */
static int walk(dv_cs_family fam, uint64_t plane, const dv_source *src, const dv_cs_frag *f, uint32_t nf,
                dv_cs_patch_fn fn, void *user, dv_error *err)
{
    return fam == DV_CS_RLE ? dv_rle_clean(src, f, nf, NULL, 0, plane, fn, user, err)
                            : dv_codestream_clean(fam, src, f, nf, NULL, 0, fn, user, err);
}

static uint64_t rle_plane_bytes; /* the plane clean_split's RLE walks take */

/* Clean data split into fragments at the cuts (ascending, inside data), in a source where each fragment is
 * preceded by 8 bytes of other data (as item headers are). Returns the patched stream (caller frees), its
 * patches in *np; -1 in *rc on an error (err). The patched stream, cleaned again, must need no patch. */
static uint8_t *clean_split(dv_cs_family fam, const uint8_t *data, size_t n, const size_t *cuts, size_t ncuts,
                            int *np, int *rc, dv_error *err)
{
    uint8_t *src_bytes = malloc(n + 8 * (ncuts + 1));
    dv_cs_frag f[16];
    assert_true(ncuts + 1 <= 16);
    size_t prev = 0, w = 0;
    for (size_t k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : n;
        memset(src_bytes + w, 0xAB, 8);
        w += 8;
        f[k].offset = w;
        f[k].length = end - prev;
        memcpy(src_bytes + w, data + prev, end - prev);
        w += end - prev;
        prev = end;
    }
    dv_mem_source ms;
    dv_source src = dv_source_memory(&ms, src_bytes, w);
    run r = {f, (uint32_t)(ncuts + 1), malloc(n), 0, 0};
    memcpy(r.out, data, n);
    *rc = walk(fam, rle_plane_bytes, &src, f, (uint32_t)(ncuts + 1), apply, &r, err);
    *np = r.patches;
    if (*rc == 0) { /* clean again: nothing left to clear */
        size_t w2 = 0, pos = 0;
        for (size_t k = 0; k <= ncuts; k++) {
            w2 += 8;
            memcpy(src_bytes + w2, r.out + pos, (size_t)f[k].length);
            w2 += (size_t)f[k].length;
            pos += (size_t)f[k].length;
        }
        run again = {f, (uint32_t)(ncuts + 1), malloc(n), 0, 0};
        memcpy(again.out, r.out, n);
        dv_error e2 = {0};
        assert_int_equal(walk(fam, rle_plane_bytes, &src, f, (uint32_t)(ncuts + 1), apply, &again, &e2), 0);
        assert_int_equal(again.patches, 0);
        free(again.out);
    }
    free(src_bytes);
    return r.out;
}

static uint8_t *clean(dv_cs_family fam, const uint8_t *data, size_t n, int *np)
{
    int rc;
    dv_error err = {0};
    uint8_t *out = clean_split(fam, data, n, NULL, 0, np, &rc, &err);
    if (rc != 0)
        fail_msg("clean failed: %s", err.message);
    return out;
}

/* ------------------------------------------------------------------ JPEG */

typedef struct jpeg_at {
    size_t thumb, app1, com, icc, adobe, app15, dqt, sof, sos, ecs, ecs_len, com2, eoi;
} jpeg_at;

static const uint8_t ecs_bytes[] = {0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xFF, 0x00, 0x78};

static void make_jpeg(buf *s, jpeg_at *a)
{
    memset(s, 0, sizeof *s);
    put2(s, 0xFF, 0xD8);
    uint8_t jfif[17] = {'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0x11, 0x22, 0x33}; /* 1x1 thumbnail */
    a->thumb = seg(s, 0xE0, jfif, sizeof jfif) + 4 + 14;
    a->app1 = seg(s, 0xE1, "Exif\0\0DOE^JOHN 2001:02:03", 25);
    a->com = seg(s, 0xFE, "SMITH^ANNA", 10);
    a->icc = seg(s, 0xE2, "ICC_PROFILE\0\1\1abcd", 18);
    a->adobe = seg(s, 0xEE, "Adobe\0\144\0\0\0\0\1", 12);
    a->app15 = seg(s, 0xEF, "MRN 12345678", 12);
    uint8_t dqt[65];
    for (int i = 0; i < 65; i++)
        dqt[i] = (uint8_t)(i == 10 ? 0xFF : i == 11 ? 0xD8 : i);
    a->dqt = seg(s, 0xDB, dqt, sizeof dqt);
    a->sof = seg(s, 0xC0, "\x08\0\1\0\1\1\1\x11\0", 9);
    a->sos = seg(s, 0xDA, "\1\1\0\0\x3F\0", 6);
    a->ecs = s->n;
    a->ecs_len = sizeof ecs_bytes;
    put(s, ecs_bytes, sizeof ecs_bytes);
    a->com2 = seg(s, 0xFE, "JANE", 4); /* a comment after the scan (no syntax allows it; decoders skip it) */
    a->eoi = s->n;
    put2(s, 0xFF, 0xD9);
    put(s, "DOB19700101", 11); /* after the end */
}

static void assert_jpeg_cleaned(const buf *s, const uint8_t *o, const jpeg_at *a)
{
    assert_false(contains(o, s->n, "DOE"));
    assert_false(contains(o, s->n, "SMITH"));
    assert_false(contains(o, s->n, "MRN"));
    assert_false(contains(o, s->n, "JANE"));
    assert_false(contains(o, s->n, "DOB"));
    /* JFIF kept, its thumbnail black */
    assert_memory_equal(o + 2, s->b + 2, 4 + 14);
    assert_int_equal(o[a->thumb] | o[a->thumb + 1] | o[a->thumb + 2], 0);
    /* APP1 and APP15 are comments now; every length field as it was */
    assert_int_equal(o[a->app1 + 1], 0xFE);
    assert_int_equal(o[a->app15 + 1], 0xFE);
    assert_memory_equal(o + a->app1 + 2, s->b + a->app1 + 2, 2);
    assert_int_equal(o[a->com + 1], 0xFE);
    /* ICC, Adobe, tables, frame, scan and its entropy-coded bytes untouched */
    assert_memory_equal(o + a->icc, s->b + a->icc, a->app15 - a->icc);
    assert_memory_equal(o + a->dqt, s->b + a->dqt, a->com2 - a->dqt);
    assert_memory_equal(o + a->eoi, s->b + a->eoi, 2);
}

static void test_jpeg_segments_cleared(void **state)
{
    (void)state;
    buf s;
    jpeg_at a;
    make_jpeg(&s, &a);
    int np;
    uint8_t *o = clean(DV_CS_JPEG, s.b, s.n, &np);
    assert_jpeg_cleaned(&s, o, &a);
    assert_true(np >= 7);
    free(o);
}

/* A segment a decoder reads has a syntax, and a length field that may say more: libjpeg skips a DNL whatever its
 * length and decodes the image, other decoders read SOF, SOS or DRI by their fields and skip the rest. What lies
 * past the syntax (after the last whole table of a DQT or DHT) is zeroed, the length kept; the reserved JPG
 * marker (0xFFC8), which no process defines, is a comment of zeros. */
static void test_jpeg_structural_tails(void **state)
{
    (void)state;
    buf s = {0};
    put2(&s, 0xFF, 0xD8);
    uint8_t dqt[65 + 8];
    for (int i = 0; i < 65; i++)
        dqt[i] = (uint8_t)(i ? i : 0x00);
    memcpy(dqt + 65, "DOE^JOHN", 8);
    size_t q = seg(&s, 0xDB, dqt, sizeof dqt);
    uint8_t dht[18 + 5] = {0x00, 1};
    dht[17] = 0x05;
    memcpy(dht + 18, "SMITH", 5);
    size_t h = seg(&s, 0xC4, dht, sizeof dht);
    size_t sof = seg(&s, 0xC0, "\x08\0\1\0\1\1\1\x11\0MRN1", 13);
    size_t dri = seg(&s, 0xDD, "\0\4ANNA", 6);
    size_t dnl = seg(&s, 0xDC, "\0\1JANE 19620417", 15);
    size_t jpg = seg(&s, 0xC8, "BOB1", 4);
    size_t exp = seg(&s, 0xDF, "\x11ZED1", 5);
    size_t sos = seg(&s, 0xDA, "\1\1\0\0\x3F\0PAT1", 10);
    put(&s, ecs_bytes, sizeof ecs_bytes);
    put2(&s, 0xFF, 0xD9);
    int np;
    uint8_t *o = clean(DV_CS_JPEG, s.b, s.n, &np);
    static const char *const planted[] = {"DOE", "SMITH", "MRN", "ANNA", "JANE", "1962", "BOB", "ZED", "PAT"};
    for (size_t i = 0; i < sizeof planted / sizeof *planted; i++)
        if (contains(o, s.n, planted[i]))
            fail_msg("%s kept", planted[i]);
    /* what the syntax defines as it was: markers, lengths, tables, fields */
    assert_memory_equal(o + q, s.b + q, 4 + 65);
    assert_memory_equal(o + h, s.b + h, 4 + 18);
    assert_memory_equal(o + sof, s.b + sof, 4 + 9);
    assert_memory_equal(o + dri, s.b + dri, 4 + 2);
    assert_memory_equal(o + dnl, s.b + dnl, 4 + 2);
    assert_int_equal(o[jpg + 1], 0xFE);
    assert_memory_equal(o + exp, s.b + exp, 4 + 1);
    assert_memory_equal(o + sos, s.b + sos, 4 + 6);
    assert_memory_equal(o + sos + 14, s.b + sos + 14, sizeof ecs_bytes + 2);
    /* cut inside a table, its counts, a field and a tail: the same bytes cleared */
    size_t cuts[] = {q + 40, q + 70, h + 9, h + 23, sof + 9, dnl + 7, sos + 5};
    int np2, rc;
    dv_error err = {0};
    uint8_t *many = clean_split(DV_CS_JPEG, s.b, s.n, cuts, sizeof cuts / sizeof *cuts, &np2, &rc, &err);
    assert_int_equal(rc, 0);
    assert_memory_equal(o, many, s.n);
    free(many);
    free(o);
}

/* Fragments cut anywhere (inside a comment, a length field, the entropy-coded data, the trailing bytes) clear
 * exactly what one fragment does. */
static void test_jpeg_split_anywhere(void **state)
{
    (void)state;
    buf s;
    jpeg_at a;
    make_jpeg(&s, &a);
    int np1, np2, rc;
    uint8_t *one = clean(DV_CS_JPEG, s.b, s.n, &np1);
    size_t cuts[] = {a.app1 + 3, a.com + 7, a.dqt + 11, a.ecs + 5, a.eoi + 1, a.eoi + 6};
    dv_error err = {0};
    uint8_t *many = clean_split(DV_CS_JPEG, s.b, s.n, cuts, sizeof cuts / sizeof *cuts, &np2, &rc, &err);
    assert_int_equal(rc, 0);
    assert_memory_equal(one, many, s.n);
    free(one);
    free(many);
}

/* JPEG-LS: 0xFF followed by a byte below 0x80 is data (a stuffed bit), not a marker; the SPIFF header and its
 * end-of-directory entry stay, a SPIFF directory entry with text does not. */
static void test_jpegls_stuffing_and_spiff(void **state)
{
    (void)state;
    buf s = {0};
    put2(&s, 0xFF, 0xD8);
    uint8_t spiff[30] = {'S', 'P', 'I', 'F', 'F', 0, 2, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 8, 8, 6, 0};
    size_t hdr = seg(&s, 0xE8, spiff, sizeof spiff);
    size_t title = seg(&s, 0xE8, "\0\0\0\6DOE^JOHN", 12);
    size_t eod = seg(&s, 0xE8, "\0\0\0\1\xFF\xD8", 6);
    seg(&s, 0xE8, "mrfx\1", 5); /* the HP colour transform a decoder needs */
    size_t sof = seg(&s, 0xF7, "\x08\0\1\0\1\1\1\x11\0", 9);
    seg(&s, 0xDA, "\1\1\0\0\0\0", 6);
    static const uint8_t ls_ecs[] = {0x01, 0xFF, 0x7F, 0x02, 0xFF, 0x00, 0x03, 0xFF, 0x45, 0x04};
    size_t ecs = s.n;
    put(&s, ls_ecs, sizeof ls_ecs);
    put2(&s, 0xFF, 0xD9);
    int np;
    uint8_t *o = clean(DV_CS_JPEG, s.b, s.n, &np);
    assert_memory_equal(o + hdr, s.b + hdr, title - hdr);
    assert_int_equal(o[title + 1], 0xFE);
    assert_false(contains(o, s.n, "DOE"));
    assert_memory_equal(o + eod, s.b + eod, s.n - eod);
    (void)sof;
    (void)ecs;
    assert_int_equal(np, 2);
    free(o);
}

/* JPEG-LS preset parameters (LSE id 1: 11 bytes) and oversize dimensions (id 4: 2 + 2 Wxy bytes) keep their
 * fields, the rest of a longer length is zeroed; a mapping table (id 2) is image data: kept whole. */
static void test_jpegls_lse_tails(void **state)
{
    (void)state;
    buf s = {0};
    put2(&s, 0xFF, 0xD8);
    size_t sof = seg(&s, 0xF7, "\x08\0\1\0\1\1\1\x11\0", 9);
    size_t p1 = seg(&s, 0xF8, "\1\0\xFF\0\3\0\7\0\x15\0\x40" "DOE^JOHN", 19);
    size_t p4 = seg(&s, 0xF8, "\4\2\0\1\0\1SMITH", 11);
    size_t p2 = seg(&s, 0xF8, "\2\1\1\0\1\2\3", 7);
    seg(&s, 0xDA, "\1\1\0\0\0\0", 6);
    put(&s, "\x01\x02", 2);
    put2(&s, 0xFF, 0xD9);
    int np;
    uint8_t *o = clean(DV_CS_JPEG, s.b, s.n, &np);
    assert_false(contains(o, s.n, "DOE"));
    assert_false(contains(o, s.n, "SMITH"));
    assert_memory_equal(o + sof, s.b + sof, p1 - sof);
    assert_memory_equal(o + p1, s.b + p1, 4 + 11);
    assert_memory_equal(o + p4, s.b + p4, 4 + 6);
    assert_memory_equal(o + p2, s.b + p2, s.n - p2);
    free(o);
}

/* T.87 allows an LSE segment among the tables before the frame header (C.1.1, C.2.4). The walker knew JPEG-LS
 * only from SOF55, so such an LSE became a comment and the image decoded with the default parameters. The
 * transfer syntax says JPEG-LS: an LSE before SOF55 is kept (its fields; a tail past them zeroed as after
 * SOF55, test_jpegls_lse_tails) and the pixels decode the same after cleaning. */
#define TS_JLS "1.2.840.10008.1.2.4.80"
/* CharLS 2.4 encoding of 16 x 8 8-bit samples (i * 37 + i / 16 * 11) % 251 with preset coding parameters
 * MAXVAL 255, T1 1, T2 2, T3 3, RESET 5 (charls_jpegls_encoder_set_preset_coding_parameters): SOI, SOF55, then
 * the LSE (15 bytes at offset 15), SOS, the scan, EOI. Decoded with the default parameters it is other pixels. */
static const uint8_t jls_custom_lse[] =
    "\xFF\xD8\xFF\xF7\x00\x0B\x08\x00\x08\x00\x10\x01\x01\x11\x00\xFF\xF8\x00\x0D\x01\x00\xFF\x00\x01"
    "\x00\x02\x00\x03\x00\x05\xFF\xDA\x00\x08\x01\x01\x00\x00\x00\x00\x80\x00\x0A\x00\x00\x52\x72\x52"
    "\x32\x12\x97\xAE\xDC\xB7\x6A\xCD\xDA\xF0\x00\x00\x1C\x90\x00\x03\x14\x13\x12\x16\x40\x00\x00\x1C"
    "\x92\x07\xCF\x09\x24\x24\x00\x00\x18\x1C\x76\xFD\x4C\x6E\x5C\x37\x12\x58\x8A\x94\x26\x32\x05\xD6"
    "\x16\x24\x1F\x30\xAC\x0E\xB8\xD8\x82\x05\xAB\xEC\xB0\xF3\x5E\x73\x58\x39\xAE\xA8\x90\x01\xCD\x71"
    "\x04\x10\x63\x5B\x46\x32\x08\x8B\x49\xDD\xA3\x59\x5D\xD0\x4D\x60\x8C\x00\x03\x25\x1A\xAB\xA7\xAD"
    "\x66\x1A\xAB\x2B\x59\xA7\x00\xFF\xD9";

static void test_jpegls_lse_before_frame(void **state)
{
    (void)state;
    enum { W = 16, H = 8, SOF = 2, LSE = 15, LSE_LEN = 15 };
    uint8_t px[W * H];
    for (int i = 0; i < W * H; i++)
        px[i] = (uint8_t)((i * 37 + (i / W) * 11) % 251);
    size_t n = sizeof jls_custom_lse - 1;
    assert_int_equal(jls_custom_lse[LSE + 1], 0xF8);
    /* the LSE moved before SOF55 (T.87 C.1.1: tables and miscellaneous segments come before the frame header) */
    buf s = {0};
    put(&s, jls_custom_lse, SOF);
    put(&s, jls_custom_lse + LSE, LSE_LEN);
    put(&s, jls_custom_lse + SOF, LSE - SOF);
    put(&s, jls_custom_lse + LSE + LSE_LEN, n - LSE - LSE_LEN);
    assert_int_equal(s.n, n);

    dv_pixel_attrs pa;
    memset(&pa, 0, sizeof pa);
    pa.rows = H;
    pa.columns = W;
    pa.samples_per_pixel = 1;
    pa.bits_allocated = 8;
    pa.bits_stored = 8;
    pa.high_bit = 7;
    pa.photometric = DV_PHOTO_MONOCHROME2;
    pa.number_of_frames = 1;
    dv_error err = {0};
    assert_int_equal(dv_pixel_attrs_validate(&pa, NULL, NULL), 0);
    dv_image_ctx *ctx = dv_image_ctx_new(NULL);
    size_t cap = dv_image_frame_capacity(&pa, dv_ts_family_of(TS_JLS), NULL, &err);
    dv_frame f = {.data = malloc(cap), .cap = cap};
    for (int k = 0; k < 2; k++) { /* as encoded, then with the LSE before SOF55 */
        if (dv_image_decode_frame(ctx, TS_JLS, &pa, 0, k ? s.b : jls_custom_lse, n, &f, &err) != 0)
            fail_msg("the stream does not decode: %s", err.message);
        assert_memory_equal(f.data, px, sizeof px);
    }
    int np;
    uint8_t *o = clean(dv_cs_family_of(TS_JLS), s.b, s.n, &np);
    assert_memory_equal(o + SOF, s.b + SOF, LSE_LEN); /* still an LSE, its parameters kept */
    assert_int_equal(np, 0);
    memset(f.data, 0, cap);
    if (dv_image_decode_frame(ctx, TS_JLS, &pa, 0, o, s.n, &f, &err) != 0)
        fail_msg("the cleaned stream does not decode: %s", err.message);
    assert_memory_equal(f.data, px, sizeof px);
    free(o);
    free(f.data);
    dv_image_ctx_free(ctx);
}

/* ------------------------------------------------------------------ JPEG 2000 */

static size_t j2k_codestream(buf *s, int psot_zero)
{
    size_t start = s->n;
    put2(s, 0xFF, 0x4F);
    uint8_t siz[39] = {0};
    siz[5] = 1;
    seg(s, 0x51, siz, sizeof siz);
    seg(s, 0x52, "\0\0\0\1\0\5\4\4\0\0", 10);
    seg(s, 0x64, "\0\1DOE^JOHN", 10); /* Rcom 1: Latin text */
    seg(s, 0x20, "ABCD", 4);              /* an unknown marker segment */
    size_t sot = s->n;
    seg(s, 0x90, "\0\0\0\0\0\0\0\1", 8); /* Psot filled in below */
    seg(s, 0x64, "\0\1SMITH", 7);
    put2(s, 0xFF, 0x93);
    static const uint8_t data[] = {0x10, 0xFF, 0x7F, 0xFF, 0x91, 0, 4, 0, 0, 0x20, 0xFF, 0x92, 0x30};
    put(s, data, sizeof data);
    uint32_t psot = psot_zero ? 0 : (uint32_t)(s->n - sot);
    s->b[sot + 6] = (uint8_t)(psot >> 24);
    s->b[sot + 7] = (uint8_t)(psot >> 16);
    s->b[sot + 8] = (uint8_t)(psot >> 8);
    s->b[sot + 9] = (uint8_t)psot;
    put2(s, 0xFF, 0xD9);
    return start;
}

static void test_j2k_comments_cleared(void **state)
{
    (void)state;
    for (int z = 0; z < 2; z++) {
        buf s = {0};
        j2k_codestream(&s, z);
        size_t end = s.n;
        put(&s, "MRN42", 5);
        int np;
        uint8_t *o = clean(DV_CS_J2K, s.b, s.n, &np);
        assert_false(contains(o, s.n, "DOE"));
        assert_false(contains(o, s.n, "SMITH"));
        assert_false(contains(o, s.n, "ABCD"));
        assert_false(contains(o, s.n, "MRN"));
        /* the unknown segment is a comment now; the tile data and EOC as they were */
        size_t unk = 2 + 43 + 14 + 14; /* SOC, SIZ, COD, COM */
        assert_int_equal(o[unk + 1], 0x64);
        assert_memory_equal(o + end - 15, s.b + end - 15, 15);
        assert_int_equal(np, 5); /* COM, the unknown marker and its payload, the tile COM, the trailing bytes */
        free(o);
    }
}

/* A marker no JPEG 2000 part defines (0xFF54, 0xFF6F, 0xFF7F) or one of a part no DICOM decoder reads (JPSEC
 * SEC 0xFF65, JPWL EPB 0xFF66) lies in the 0xFF50-0xFF7F range of the header markers; OpenJPEG skips its
 * segment and decodes the image, so its payload is text like any other: made a comment of zeros. The header
 * markers of Parts 1, 2 and 15 stay as they are. */
static void test_j2k_unknown_header_markers(void **state)
{
    (void)state;
    static const uint8_t unknown[] = {0x54, 0x5A, 0x62, 0x65, 0x66, 0x6F, 0x7A, 0x7F};
    for (size_t i = 0; i < sizeof unknown; i++) {
        buf s = {0};
        put2(&s, 0xFF, 0x4F);
        uint8_t siz[39] = {0};
        siz[5] = 1;
        seg(&s, 0x51, siz, sizeof siz);
        size_t unk = seg(&s, unknown[i], "DOE^JOHN 19620417", 17);
        size_t cod = seg(&s, 0x52, "\0\0\0\1\0\5\4\4\0\0", 10);
        seg(&s, 0x74, "\0\0\0\0", 4); /* Part 2 MCT: kept */
        seg(&s, 0x50, "\0\2\0\0\0\0", 6); /* CAP: kept */
        size_t sot = seg(&s, 0x90, "\0\0\0\0\0\0\0\1", 8);
        seg(&s, unknown[i], "MRN 4471339", 11); /* in a tile-part header too */
        put2(&s, 0xFF, 0x93);
        put(&s, "\x10\x20", 2);
        put2(&s, 0xFF, 0xD9);
        int np;
        uint8_t *o = clean(DV_CS_J2K, s.b, s.n, &np);
        if (contains(o, s.n, "DOE") || contains(o, s.n, "MRN"))
            fail_msg("marker 0xFF%02X kept its text", unknown[i]);
        assert_int_equal(o[unk + 1], 0x64);
        assert_memory_equal(o + unk + 2, s.b + unk + 2, 2); /* length as it was */
        assert_memory_equal(o + cod, s.b + cod, sot - cod);
        free(o);
    }
}

static size_t box(buf *s, const char *type, const void *p, size_t n)
{
    size_t at = s->n;
    uint32_t l = (uint32_t)(n + 8);
    uint8_t h[8] = {(uint8_t)(l >> 24), (uint8_t)(l >> 16), (uint8_t)(l >> 8), (uint8_t)l};
    memcpy(h + 4, type, 4);
    put(s, h, 8);
    put(s, p, n);
    return at;
}

static void test_jp2_boxes(void **state)
{
    (void)state;
    buf s = {0};
    box(&s, "jP  ", "\x0D\x0A\x87\x0A", 4);
    box(&s, "ftyp", "jp2 \0\0\0\0jp2 ", 12);
    buf h = {0};
    box(&h, "ihdr", "\0\0\0\1\0\0\0\1\0\1\7\7\0\0", 14);
    box(&h, "colr", "\1\0\0\0\0\0\021", 7);
    box(&h, "xml ", "<n>SMITH</n>", 12); /* not an image box: cleared even inside the header */
    size_t jp2h = box(&s, "jp2h", h.b, h.n);
    size_t xml = box(&s, "xml ", "<name>DOE^JOHN</name>", 21);
    size_t uuid = box(&s, "uuid", "0123456789abcdefMRN77", 21);
    buf c = {0};
    j2k_codestream(&c, 0);
    size_t jp2c = box(&s, "jp2c", c.b, c.n);
    int np;
    uint8_t *o = clean(DV_CS_J2K, s.b, s.n, &np);
    assert_false(contains(o, s.n, "DOE"));
    assert_false(contains(o, s.n, "SMITH"));
    assert_false(contains(o, s.n, "MRN"));
    assert_memory_equal(o + xml + 4, "free", 4);
    assert_memory_equal(o + uuid + 4, "free", 4);
    assert_memory_equal(o + jp2h, s.b + jp2h, 8 + 22 + 15); /* ihdr, colr untouched */
    assert_memory_equal(o + jp2h + 8 + 22 + 15 + 4, "free", 4);
    assert_memory_equal(o + jp2c, s.b + jp2c, 8 + 2 + 43 + 14); /* box header, SOC, SIZ, COD */
    free(o);
}

/* The image boxes kept keep what their syntax defines, no more: OpenJPEG decodes a colr box of the enumerated
 * method whatever follows its 7 bytes (a warning), and skips the resolution box, so a name planted after a
 * box's fields or in a box inside `res ` passed. Those bytes are zeroed (a box of another type inside `res `
 * becomes `free`), lengths kept; resc and resd keep their 10 bytes, cdef its entries. */
static void test_jp2_box_tails(void **state)
{
    (void)state;
    buf s = {0};
    box(&s, "jP  ", "\x0D\x0A\x87\x0A", 4);
    box(&s, "ftyp", "jp2 \0\0\0\0jp2 ", 12);
    buf h = {0};
    box(&h, "ihdr", "\0\0\0\1\0\0\0\1\0\1\7\7\0\0", 14);
    size_t colr = box(&h, "colr", "\1\0\0\0\0\0\021DOE^JOHN", 15);
    size_t cdef = box(&h, "cdef", "\0\1\0\0\0\0\0\1SMITH", 13);
    buf r = {0};
    size_t resc = box(&r, "resc", "\0\1\0\1\0\1\0\1\0\0ANNA", 14);
    size_t xml = box(&r, "xml ", "<n>MRN 4471339</n>", 18);
    size_t res = box(&h, "res ", r.b, r.n);
    size_t jp2h = box(&s, "jp2h", h.b, h.n);
    buf c = {0};
    j2k_codestream(&c, 0);
    box(&s, "jp2c", c.b, c.n);
    int np;
    uint8_t *o = clean(DV_CS_J2K, s.b, s.n, &np);
    static const char *const planted[] = {"DOE", "SMITH", "ANNA", "MRN"};
    for (size_t i = 0; i < sizeof planted / sizeof *planted; i++)
        if (contains(o, s.n, planted[i]))
            fail_msg("%s kept", planted[i]);
    size_t at = jp2h + 8;
    assert_memory_equal(o + at + colr, s.b + at + colr, 8 + 7);
    assert_memory_equal(o + at + cdef, s.b + at + cdef, 8 + 8);
    assert_memory_equal(o + at + res, s.b + at + res, 8);
    assert_memory_equal(o + at + res + 8 + resc, s.b + at + res + 8 + resc, 8 + 10);
    assert_memory_equal(o + at + res + 8 + xml + 4, "free", 4);
    free(o);
}

/* A segment of the codestream box whose length runs past the box: the walk stops at the box's end, so the
 * next box is cleared after it (ranges ascending), not first overwritten by the segment's zeros (fuzz_codestream
 * found ranges out of order: tests/fuzz/regressions/codestream/jp2c-segment-past-its-box). */
static void test_jp2c_segment_past_its_box(void **state)
{
    (void)state;
    buf s = {0};
    box(&s, "jP  ", "\x0D\x0A\x87\x0A", 4);
    size_t jp2c = box(&s, "jp2c", "\xFF\x4F\xFF\x64\0\x40\0\1", 8); /* a COM of 62 bytes in a box of 8 */
    size_t xml = box(&s, "xml ", "<n>DOE^JOHN 19620417 MRN 4471339</n>", 36);
    int np;
    uint8_t *o = clean(DV_CS_J2K, s.b, s.n, &np);
    assert_false(contains(o, s.n, "DOE"));
    assert_memory_equal(o + jp2c, s.b + jp2c, 8 + 4 + 2); /* box header, SOC, the COM marker and length */
    assert_memory_equal(o + xml + 4, "free", 4);
    assert_memory_equal(o + xml, s.b + xml, 4);
    free(o);
}

/* ------------------------------------------------------------------ what cannot be walked */

static void expect_malformed(dv_cs_family fam, const uint8_t *data, size_t n, const char *what)
{
    int np, rc;
    dv_error err = {0};
    uint8_t *o = clean_split(fam, data, n, NULL, 0, &np, &rc, &err);
    assert_int_equal(rc, -1);
    assert_int_equal(err.code, DV_ERR_MALFORMED);
    if (!strstr(err.message, what))
        fail_msg("message \"%s\" does not say \"%s\"", err.message, what);
    assert_false(contains((const uint8_t *)err.message, strlen(err.message), "DOE"));
    free(o);
}

static void test_unwalkable_refused(void **state)
{
    (void)state;
    expect_malformed(DV_CS_JPEG, (const uint8_t *)"DOE^JOHN is not a JPEG", 22, "no JPEG SOI marker");
    expect_malformed(DV_CS_J2K, (const uint8_t *)"DOE^JOHN is not a J2K", 21, "no JPEG 2000 codestream");
    static const uint8_t short_len[] = {0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x01, 'D', 'O', 'E', 0xFF, 0xD9};
    expect_malformed(DV_CS_JPEG, short_len, sizeof short_len, "shorter than its length field");
    static const uint8_t soi_inside[] = {0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x02, 0xFF, 0xD8, 0xFF, 0xD9};
    expect_malformed(DV_CS_JPEG, soi_inside, sizeof soi_inside, "SOI marker inside an image");
    buf s = {0};
    box(&s, "jP  ", "\x0D\x0A\x87\x0A", 4);
    put(&s, "\0\0\1\0xml DOE", 11); /* a box longer than the image */
    expect_malformed(DV_CS_J2K, s.b, s.n, "JP2 box longer than its image");
}

/* A fragment between codestreams that holds anything but zeros is cleared; a cut-short image is followed by
 * the next one at a fragment start; an image that runs to the end is walked as far as it goes. */
static void test_between_and_cut_short(void **state)
{
    (void)state;
    buf s = {0};
    put2(&s, 0xFF, 0xD8);
    seg(&s, 0xFE, "A1", 2);
    put2(&s, 0xFF, 0xD9);
    size_t f1 = s.n;
    put(&s, "SMITH^ANNA", 10); /* a fragment of its own, after the image */
    size_t f2 = s.n;
    put2(&s, 0xFF, 0xD8); /* the next image, cut short inside its comment */
    seg(&s, 0xFE, "DOE^JOHN", 8);
    s.n -= 3;
    size_t f3 = s.n;
    put2(&s, 0xFF, 0xD8);
    seg(&s, 0xFE, "MRN1", 4);
    size_t cuts[] = {f1, f2, f3};
    int np, rc;
    dv_error err = {0};
    uint8_t *o = clean_split(DV_CS_JPEG, s.b, s.n, cuts, 3, &np, &rc, &err);
    assert_int_equal(rc, 0);
    assert_false(contains(o, s.n, "SMITH"));
    assert_false(contains(o, s.n, "DOE"));
    assert_false(contains(o, s.n, "MRN"));
    assert_memory_equal(o + f2, "\xFF\xD8\xFF\xFE", 4);
    free(o);
}

/* ------------------------------------------------------------------ through the engine and the writer */

/* An instance of one monochrome image (rows x cols, bits) up to its pixel data: SOP, study and series UIDs, a
 * PatientName when patient is not NULL. */
static dvb *image_begin(dvb_ts ts, const char *patient, uint16_t rows, uint16_t cols, uint16_t bits)
{
    dvb *b = dvb_new(ts, 1);
    dvb_str(b, DV_TAG_SOP_CLASS_UID, "UI", "1.2.840.10008.5.1.4.1.1.7");
    dvb_str(b, DV_TAG_SOP_INSTANCE_UID, "UI", "1.2.3.4.5");
    if (patient)
        dvb_str(b, DV_TAG_PATIENT_NAME, "PN", patient);
    dvb_str(b, DV_TAG_STUDY_INSTANCE_UID, "UI", "1.2.3.4");
    dvb_str(b, DV_TAG_SERIES_INSTANCE_UID, "UI", "1.2.3.4.1");
    dvb_u16(b, DV_TAG_SAMPLES_PER_PIXEL, 1);
    dvb_str(b, DV_TAG_PHOTOMETRIC_INTERPRETATION, "CS", "MONOCHROME2");
    dvb_pixel_geometry(b, rows, cols, bits);
    return b;
}

static uint8_t *jpeg_instance(const buf *s, size_t cut, int icon, size_t *len)
{
    dvb *b = image_begin(DVB_JPEG_BASELINE, "DOE^JOHN", 1, 1, 8);
    const void *frags[2] = {s->b, s->b + cut};
    uint32_t lens[2] = {(uint32_t)cut, (uint32_t)(s->n - cut)};
    if (icon) {
        dvb_seq_begin(b, DV_TAG_ICON_IMAGE_SEQUENCE, 1);
        dvb_item_begin(b, 1);
        dvb_encapsulated(b, frags, lens, 2);
        dvb_item_end(b);
        dvb_seq_end(b);
    }
    dvb_encapsulated(b, frags, lens, 2);
    return dvb_finish(b, len);
}

/* The fragments of the output's encapsulated value e, concatenated (malloc'd). */
static uint8_t *fragments_of(const dv_instance *inst, const dv_elem *e, size_t *n)
{
    uint64_t start;
    const dv_source *src = dv_elem_source(inst, e, &start);
    uint8_t *raw = malloc((size_t)e->length), *out = malloc((size_t)e->length);
    assert_int_equal(src->read_at(src->ctx, start, raw, (size_t)e->length), 0);
    size_t p = 8 + (raw[4] | raw[5] << 8), w = 0; /* past the offset table */
    while (p + 8 <= e->length && !(raw[p + 2] == 0xDD && raw[p + 3] == 0xE0)) {
        uint32_t l = raw[p + 4] | raw[p + 5] << 8 | (uint32_t)raw[p + 6] << 16 | (uint32_t)raw[p + 7] << 24;
        memcpy(out + w, raw + p + 8, l);
        w += l;
        p += 8 + l;
    }
    free(raw);
    *n = w;
    return out;
}

static void test_engine_writes_the_patches(void **state)
{
    (void)state;
    buf s;
    jpeg_at a;
    make_jpeg(&s, &a);
    int np;
    uint8_t *want = clean(DV_CS_JPEG, s.b, s.n, &np);
    for (int icon = 0; icon < 2; icon++) {
        size_t len;
        uint8_t *in = jpeg_instance(&s, (a.com + 5) & ~(size_t)1, icon, &len); /* even: no padding */
        output o;
        /* KEEP_ALL keeps the icon sequence (the Basic profile removes it) */
        dvt_deid(icon ? "{\"dicom\": {\"filterProfile\": \"KEEP_ALL_PROFILE\"}}" : "{}", in, len, &o);
        size_t n;
        uint8_t *got = fragments_of(o.p.inst, dv_ds_find(&o.p.inst->ds, DV_TAG_PIXEL_DATA), &n);
        assert_int_equal(n, s.n);
        assert_memory_equal(got, want, s.n);
        free(got);
        if (icon) {
            const dv_elem *seq = dv_ds_find(&o.p.inst->ds, DV_TAG_ICON_IMAGE_SEQUENCE);
            assert_non_null(seq);
            got = fragments_of(o.p.inst, dv_ds_find(&seq->items->ds, DV_TAG_PIXEL_DATA), &n);
            assert_memory_equal(got, want, s.n);
            free(got);
        }
        dvt_output_free(&o);
        free(in);
    }
    free(want);
}

static void test_engine_refuses_unwalkable(void **state)
{
    (void)state;
    buf s = {0};
    put(&s, "DOE^JOHN, not a JPEG", 20);
    size_t len;
    uint8_t *in = jpeg_instance(&s, 10, 0, &len);
    dv_key *key = dvt_test_key();
    output o;
    dv_error err = {0};
    assert_int_equal(dvt_deidentify("{}", key, NULL, in, len, &o, &err), -1);
    assert_int_equal(err.code, DV_ERR_MALFORMED);
    assert_non_null(strstr(err.message, "embedded text cannot be checked"));
    assert_int_equal(o.sink.len, 0);
    dvt_output_free(&o);
    dv_key_free(key);
    free(in);
}

/* The Basic Offset Table holds offsets only (PS3.5 A.4): one whose entries are not the frames' fragment starts
 * (first 0, ascending, each on an item header) may hold anything, e.g. a name, and no reader uses it; it is zeroed
 * (its length kept, as every clearing here). A table that is offsets stays byte for byte. */
static void test_lying_offset_table_cleared(void **state)
{
    (void)state;
    buf s;
    jpeg_at a;
    make_jpeg(&s, &a);
    const void *frags[1] = {s.b};
    uint32_t lens[1] = {(uint32_t)s.n};
    static const char text[16] = "SMITH^ANNA MRN12";
    uint32_t lying[4], good[1] = {0};
    memcpy(lying, text, sizeof lying);
    for (int k = 0; k < 2; k++) {
        dvb *b = image_begin(DVB_JPEG_BASELINE, NULL, 1, 1, 8);
        dvb_encapsulated_bot(b, frags, lens, 1, k ? good : lying, k ? 1 : 4);
        size_t len;
        uint8_t *in = dvb_finish(b, &len);
        output o;
        dvt_deid("{}", in, len, &o);
        const dv_elem *px = dv_ds_find(&o.p.inst->ds, DV_TAG_PIXEL_DATA);
        assert_non_null(px);
        uint64_t start;
        const dv_source *src = dv_elem_source(o.p.inst, px, &start);
        uint8_t h[8 + 16];
        assert_int_equal(src->read_at(src->ctx, start, h, sizeof h), 0);
        uint32_t bot_len = h[4] | h[5] << 8 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 24;
        assert_int_equal(bot_len, k ? 4 : 16); /* lengths never change */
        static const uint8_t zeros[16] = {0};
        assert_memory_equal(h + 8, k ? (const void *)good : zeros, bot_len);
        assert_false(contains(o.sink.data, o.sink.len, "SMITH"));
        dvt_output_free(&o);
        free(in);
    }
}

/* The Extended Offset Table and its lengths (7FE0,0001/0002) index the frames; a pair that does not (text in
 * either, a length that is not the frame's, one without the other, a table beside native pixel data) is removed,
 * and the pixel data is still found and written; a pair that indexes them stays byte for byte. */
static uint8_t *eot_instance(const buf *s, int native, const void *eot, uint32_t neot, const void *lens,
                             uint32_t nlens, size_t *len)
{
    dvb *b = image_begin(native ? DVB_EXPLICIT_LE : DVB_JPEG_BASELINE, NULL, 1, 1, 8);
    if (eot)
        dvb_bytes(b, DV_TAG_EXTENDED_OFFSET_TABLE, "OV", eot, neot);
    if (lens)
        dvb_bytes(b, DV_TAG_EXTENDED_OFFSET_TABLE_LENGTHS, "OV", lens, nlens);
    if (native) {
        dvb_bytes(b, DV_TAG_PIXEL_DATA, "OB", "\x07\x00", 2);
    } else {
        const void *frags[1] = {s->b};
        uint32_t lens1[1] = {(uint32_t)s->n};
        dvb_encapsulated(b, frags, lens1, 1);
    }
    return dvb_finish(b, len);
}

static void test_lying_extended_offset_table(void **state)
{
    (void)state;
    buf s;
    jpeg_at a;
    make_jpeg(&s, &a);
    if (s.n & 1)
        s.b[s.n++] = 0; /* an even fragment: the writer pads nothing */
    static const char text[24] = "Zyxwv^Quentin ZQ4471339 ";
    uint64_t zero = 0, flen = s.n, wrong = s.n + 2;
    static const struct {
        int native, eot, lens; /* 0 none, 1 text, 2 the right value, 3 a wrong length */
    } cases[] = {{0, 1, 2}, {0, 2, 1}, {0, 2, 3}, {0, 2, 0}, {0, 0, 2}, {1, 2, 2}, {0, 2, 2}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const void *eot = cases[i].eot == 1 ? (const void *)text : cases[i].eot == 2 ? (const void *)&zero : NULL;
        const void *lens = cases[i].lens == 1   ? (const void *)text
                           : cases[i].lens == 2 ? (const void *)&flen
                           : cases[i].lens == 3 ? (const void *)&wrong
                                                : NULL;
        size_t len;
        uint8_t *in = eot_instance(&s, cases[i].native, eot, cases[i].eot == 1 ? 24 : 8, lens,
                                   cases[i].lens == 1 ? 24 : 8, &len);
        output o;
        dvt_deid("{}", in, len, &o);
        int kept = i + 1 == sizeof cases / sizeof *cases;
        const dv_elem *e1 = dv_ds_find(&o.p.inst->ds, DV_TAG_EXTENDED_OFFSET_TABLE);
        const dv_elem *e2 = dv_ds_find(&o.p.inst->ds, DV_TAG_EXTENDED_OFFSET_TABLE_LENGTHS);
        if (kept) {
            assert_non_null(e1);
            assert_non_null(e2);
            uint64_t v[2];
            assert_int_equal(dv_elem_read_value(o.p.inst, e1, &v[0], 8), 0);
            assert_int_equal(dv_elem_read_value(o.p.inst, e2, &v[1], 8), 0);
            assert_true(v[0] == 0 && v[1] == flen);
        } else {
            if (e1 || e2)
                fail_msg("case %zu: a table that indexes no frame was kept", i);
        }
        assert_false(contains(o.sink.data, o.sink.len, "Quentin"));
        assert_non_null(dv_ds_find(&o.p.inst->ds, DV_TAG_PIXEL_DATA));
        dvt_output_free(&o);
        free(in);
    }
}

/* ------------------------------------------------------------------ RLE: what no decoder reads */

/* One RLE frame of a 2 x 4 16-bit image (two segments of 8 bytes each, PS3.5 Annex G) with text where no
 * decoder looks: the header's offsets past the segment count, between the header and the first segment, after
 * segment 1's last pixel, inside the literal run that completes segment 2 (past its plane) and after it.
 * want: the same frame as the walk must leave it. */
static size_t rle_frame_with_text(uint8_t *f, uint8_t *want)
{
    memset(f, 0, 256);
    f[0] = 2;
    memcpy(f + 12, "SMITH^ANNA MRN12", 16); /* offsets 3.. (unused: G.5 makes them zero) */
    memcpy(f + 64, "GAP^TEXT", 8);          /* between the header and segment 1 */
    size_t p = 72;
    f[4] = (uint8_t)p;
    static const uint8_t s1[] = {0x07, 1, 2, 3, 4, 5, 6, 7, 8}; /* a literal of the whole plane */
    memcpy(f + p, s1, sizeof s1);
    p += sizeof s1;
    memcpy(f + p, "DOE^JOHN", 8); /* after segment 1's plane */
    p += 8;
    f[8] = (uint8_t)p;
    size_t s2 = p;
    static const uint8_t s2b[] = {0xFD, 9, 0x05, 10, 11, 12, 13, 14, 15}; /* 4 x 9, then a literal of 6: 4 used */
    memcpy(f + p, s2b, sizeof s2b);
    p += sizeof s2b;
    memcpy(f + p, "\x80MRN4471339", 11);
    p += 11;
    memcpy(want, f, p);
    memset(want + 12, 0, 60); /* the unused offsets and the gap */
    memset(want + 81, 0x80, 8);
    memset(want + s2 + 7, 0x80, p - (s2 + 7));
    return p;
}

static void test_rle_tails_cleared(void **state)
{
    (void)state;
    uint8_t f[256], want[256];
    size_t n = rle_frame_with_text(f, want);
    rle_plane_bytes = 8;
    int np;
    uint8_t *o = clean(DV_CS_RLE, f, n, &np);
    assert_memory_equal(o, want, n);
    free(o);
    for (size_t cut = 30; cut < n; cut += 17) { /* a frame in two fragments (not conformant): the same */
        int rc;
        dv_error err = {0};
        o = clean_split(DV_CS_RLE, f, n, &cut, 1, &np, &rc, &err);
        assert_int_equal(rc, -1); /* frames not known: each fragment a frame, the second no RLE header */
        free(o);
    }
    /* zeros and 0x80 (the even-length pad) after a plane hide nothing: left as they are */
    uint8_t g[128] = {1, 0, 0, 0, 64};
    memcpy(g + 64, "\x07\x01\x02\x03\x04\x05\x06\x07\x08\x80\x00\x80\x80", 13);
    o = clean(DV_CS_RLE, g, 77, &np);
    assert_int_equal(np, 0);
    assert_memory_equal(o, g, 77);
    free(o);
    /* a frame that cannot be delimited is refused: no header, a count of 0 or 16, offsets inside the header,
     * descending or past the frame */
    static const struct {
        uint8_t count, off0, off1;
        size_t len;
    } bad[] = {{1, 64, 0, 40}, {0, 64, 0, 80}, {16, 64, 0, 80}, {1, 60, 0, 80}, {2, 72, 68, 80}, {1, 90, 0, 80}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint8_t h[96] = {bad[i].count, 0, 0, 0, bad[i].off0, 0, 0, 0, bad[i].off1};
        int rc;
        dv_error err = {0};
        o = clean_split(DV_CS_RLE, h, bad[i].len, NULL, 0, &np, &rc, &err);
        assert_int_equal(rc, -1);
        assert_int_equal(err.code, DV_ERR_MALFORMED);
        assert_non_null(strstr(err.message, "cannot be checked"));
        free(o);
    }
}

/* Through the engine and the writer: an RLE instance's hidden text is gone, its pixels decode as before, and a
 * frame that cannot be walked fails the instance (nothing written). */
static uint8_t *rle_instance(const uint8_t *frame, size_t n, size_t *len)
{
    dvb *b = image_begin(DVB_RLE, NULL, 2, 4, 16);
    const void *frags[1] = {frame};
    uint32_t lens[1] = {(uint32_t)n};
    dvb_encapsulated(b, frags, lens, 1);
    return dvb_finish(b, len);
}

static int decode_all(const dv_instance *inst, uint8_t ***frames, size_t **sizes, uint32_t *n);
static void free_frames(uint8_t **frames, size_t *sizes, uint32_t n);

static void test_rle_tails_cleared_in_engine(void **state)
{
    (void)state;
    uint8_t f[256], want[256];
    size_t n = rle_frame_with_text(f, want);
    if (n & 1)
        want[n++] = 0x80; /* the fragment's even pad (a zero) lies in segment 2's tail */
    size_t len;
    uint8_t *in = rle_instance(f, n, &len);
    parsed p = {0};
    dv_error err = {0};
    assert_int_equal(dvt_parse(&p, in, len, &err), 0);
    uint8_t **fa, **fb;
    size_t *sa, *sb;
    uint32_t na, nb;
    assert_int_equal(decode_all(p.inst, &fa, &sa, &na), 0);
    output o;
    dvt_deid("{}", in, len, &o);
    for (size_t i = 0; i < 4; i++)
        assert_false(contains(o.sink.data, o.sink.len, (const char *[]){"SMITH", "GAP^", "DOE^", "MRN44"}[i]));
    assert_int_equal(decode_all(o.p.inst, &fb, &sb, &nb), 0);
    assert_int_equal(na, 1);
    assert_int_equal(nb, 1);
    assert_int_equal(sa[0], sb[0]);
    assert_memory_equal(fa[0], fb[0], sa[0]);
    size_t got_n;
    uint8_t *got = fragments_of(o.p.inst, dv_ds_find(&o.p.inst->ds, DV_TAG_PIXEL_DATA), &got_n);
    assert_int_equal(got_n, n);
    assert_memory_equal(got, want, n);
    free(got);
    free_frames(fa, sa, na);
    free_frames(fb, sb, nb);
    dvt_output_free(&o);
    dv_instance_free(p.inst);
    free(in);

    f[0] = 0; /* no segment count: the frame cannot be walked */
    in = rle_instance(f, n, &len);
    dv_key *key = dvt_test_key();
    assert_int_equal(dvt_deidentify("{}", key, NULL, in, len, &o, &err), -1);
    assert_int_equal(err.code, DV_ERR_MALFORMED);
    assert_non_null(strstr(err.message, "embedded text cannot be checked"));
    assert_int_equal(o.sink.len, 0);
    dvt_output_free(&o);
    dv_key_free(key);
    free(in);
}

/* ------------------------------------------------------------------ native: bytes past the last frame */

static void native_slack(uint16_t rows, uint16_t cols, const char *photometric, uint16_t spp, size_t need)
{
    uint8_t px[64];
    for (size_t i = 0; i < need; i++)
        px[i] = (uint8_t)(i + 1);
    memcpy(px + need, "SMITH^ANNA!!", 12);
    size_t have = need + 12 + ((need + 12) & 1);
    if (have > need + 12)
        px[need + 12] = 'X';
    dvb *b = dvb_new(DVB_EXPLICIT_LE, 1);
    dvb_str(b, DV_TAG_SOP_CLASS_UID, "UI", "1.2.840.10008.5.1.4.1.1.7");
    dvb_str(b, DV_TAG_SOP_INSTANCE_UID, "UI", "1.2.3.4.5");
    dvb_u16(b, DV_TAG_SAMPLES_PER_PIXEL, spp);
    dvb_str(b, DV_TAG_PHOTOMETRIC_INTERPRETATION, "CS", photometric);
    dvb_pixel_geometry(b, rows, cols, 8);
    dvb_bytes(b, DV_TAG_PIXEL_DATA, "OB", px, (uint32_t)have);
    size_t len;
    uint8_t *in = dvb_finish(b, &len);
    output o;
    dvt_deid("{}", in, len, &o);
    const dv_elem *e = dv_ds_find(&o.p.inst->ds, DV_TAG_PIXEL_DATA);
    assert_non_null(e);
    assert_int_equal(e->length, need + (need & 1));
    uint8_t got[64];
    uint64_t off;
    const dv_source *src = (e->flags & DV_ELEM_BULK) ? dv_elem_source(o.p.inst, e, &off) : NULL;
    if (src)
        assert_int_equal(src->read_at(src->ctx, off, got, (size_t)e->length), 0);
    else
        memcpy(got, dv_elem_inline_value(e), (size_t)e->length);
    assert_memory_equal(got, px, need);
    if (need & 1)
        assert_int_equal(got[need], 0);
    assert_false(contains(o.sink.data, o.sink.len, "SMITH"));
    dvt_output_free(&o);
    free(in);
}

static void test_native_slack_cut(void **state)
{
    (void)state;
    native_slack(2, 2, "MONOCHROME2", 1, 4);
    native_slack(3, 1, "MONOCHROME2", 1, 3);   /* an odd value: padded with a zero */
    native_slack(2, 2, "YBR_FULL_422", 3, 8);  /* two samples a pixel */
    native_slack(2, 2, "RGB", 3, 12);
}

/* ------------------------------------------------------------------ native: embedded overlay planes */

/* An overlay group: OverlayBitPosition pos, OverlayData (60xx,3000) when with_data (a normal overlay). */
typedef struct ovl_spec {
    uint16_t group;
    uint16_t pos;
    int with_data;
} ovl_spec;

#define OVL_ROWS 4
#define OVL_COLS 4
#define OVL_SAMPLES (OVL_ROWS * OVL_COLS)

/* Sample i of frame f: 12 image bits, and bits 15, 14 and 13 (no overlay declares 13) set on some samples. */
static uint16_t ovl_sample(uint32_t f, uint32_t i)
{
    uint16_t v = (uint16_t)((i * 257u + f * 31u + 5u) & 0x0FFFu);
    if (i % 3 == 0)
        v |= 0x8000;
    if (i % 5 == 0 || f == 1)
        v |= 0x4000;
    if (i % 7 == 0)
        v |= 0x2000;
    return v;
}

/* A 16-bit MONOCHROME2 instance (BitsStored stored, HighBit high) of frames 4x4 frames with the overlay groups
 * given (ascending), PatientName set so that the Basic profile has a name to remove. */
static uint8_t *overlay_instance(dvb_ts ts, uint16_t stored, uint16_t high, uint32_t frames, const ovl_spec *ov,
                                 size_t nov, size_t *len)
{
    dvb *b = dvb_new(ts, 1);
    dvb_str(b, DV_TAG_SOP_CLASS_UID, "UI", "1.2.840.10008.5.1.4.1.1.7");
    dvb_str(b, DV_TAG_SOP_INSTANCE_UID, "UI", "1.2.3.4.6");
    dvb_str(b, 0x00100010u, "PN", "OVERLAY^PATIENT");
    dvb_u16(b, DV_TAG_SAMPLES_PER_PIXEL, 1);
    dvb_str(b, DV_TAG_PHOTOMETRIC_INTERPRETATION, "CS", "MONOCHROME2");
    if (frames > 1) {
        char nf[16];
        snprintf(nf, sizeof nf, "%u", frames);
        dvb_str(b, DV_TAG_NUMBER_OF_FRAMES, "IS", nf);
    }
    dvb_u16(b, DV_TAG_ROWS, OVL_ROWS);
    dvb_u16(b, DV_TAG_COLUMNS, OVL_COLS);
    dvb_u16(b, DV_TAG_BITS_ALLOCATED, 16);
    dvb_u16(b, DV_TAG_BITS_STORED, stored);
    dvb_u16(b, DV_TAG_HIGH_BIT, high);
    dvb_u16(b, 0x00280103u, 0);
    uint8_t bits[2] = {0xA5, 0x5A}; /* OverlayData of a 4x4 overlay: 16 bits */
    for (size_t k = 0; k < nov; k++) {
        uint32_t g = (uint32_t)ov[k].group << 16;
        dvb_u16(b, g | 0x0010u, OVL_ROWS);
        dvb_u16(b, g | 0x0011u, OVL_COLS);
        dvb_str(b, g | 0x0040u, "CS", "G");
        dvb_u16(b, g | 0x0100u, ov[k].with_data ? 1 : 16);
        dvb_u16(b, g | 0x0102u, ov[k].pos);
        if (ov[k].with_data)
            dvb_bytes(b, g | 0x3000u, "OW", bits, 2);
    }
    uint32_t n = frames * OVL_SAMPLES;
    uint8_t *px = malloc((size_t)n * 2);
    for (uint32_t i = 0; i < n; i++) {
        uint16_t v = ovl_sample(i / OVL_SAMPLES, i % OVL_SAMPLES);
        px[2 * i + (ts == DVB_EXPLICIT_BE)] = (uint8_t)v;
        px[2 * i + (ts != DVB_EXPLICIT_BE)] = (uint8_t)(v >> 8);
    }
    dvb_bytes(b, DV_TAG_PIXEL_DATA, "OW", px, n * 2);
    free(px);
    return dvb_finish(b, len);
}

/* The output's frames (little endian, as dv_frames reads them) equal the input's samples less clear. */
static void assert_samples(const dv_instance *out, uint32_t frames, uint16_t clear)
{
    dv_error err = {0};
    dv_frames *f = dv_frames_index(out, &err);
    if (!f)
        fail_msg("output frames: %s", err.message);
    assert_int_equal(dv_frames_count(f), frames);
    for (uint32_t k = 0; k < frames; k++) {
        uint8_t got[OVL_SAMPLES * 2];
        assert_int_equal(dv_frames_size(f, k), sizeof got);
        assert_int_equal(dv_frames_read(out, f, k, got, sizeof got, &err), 0);
        for (uint32_t i = 0; i < OVL_SAMPLES; i++) {
            uint16_t v = (uint16_t)(got[2 * i] | (got[2 * i + 1] << 8)), want = ovl_sample(k, i) & (uint16_t)~clear;
            if (v != want)
                fail_msg("frame %u sample %u: 0x%04X, want 0x%04X", k, i, v, want);
        }
    }
    dv_frames_free(f);
}

static int has_group(const dv_instance *inst, uint16_t group)
{
    for (const dv_elem *e = inst->ds.first; e; e = e->next)
        if (DV_TAG_GROUP(e->tag) == group)
            return 1;
    return 0;
}

#define KEEP_ALL "{\"dicomTagConfig\": {\"profileType\": \"KEEP_ALL_PROFILE\"}}"

static const ovl_spec two_embedded[] = {{0x6000, 15, 0}, {0x6002, 14, 0}};

/* Embedded planes 15 (group 6000) and 14 (6002) of a 12-bit image: the Basic profile removes both overlays, so
 * both planes are cleared in every sample; the image bits and bit 13 (no overlay's) are unchanged. Big endian
 * input comes out explicit VR little endian with the same values. */
static void test_embedded_overlay_cleared(void **state)
{
    (void)state;
    const dvb_ts tss[] = {DVB_EXPLICIT_LE, DVB_IMPLICIT_LE, DVB_EXPLICIT_BE, DVB_DEFLATED_LE};
    for (size_t t = 0; t < sizeof tss / sizeof tss[0]; t++) {
        size_t len;
        uint8_t *in = overlay_instance(tss[t], 12, 11, 1, two_embedded, 2, &len);
        output o;
        dvt_deid("{}", in, len, &o);
        assert_false(has_group(o.p.inst, 0x6000));
        assert_false(has_group(o.p.inst, 0x6002));
        assert_samples(o.p.inst, 1, 0xC000);
        if (tss[t] == DVB_EXPLICIT_BE)
            assert_string_equal(dv_instance_transfer_syntax(o.p.inst), "1.2.840.10008.1.2.1");
        assert_false(contains(o.sink.data, o.sink.len, "OVERLAY^PATIENT"));
        dvt_output_free(&o);
        free(in);
    }
}

/* KEEP_ALL_PROFILE keeps the overlays: the output still declares the planes, so their bits stay. */
static void test_embedded_overlay_kept(void **state)
{
    (void)state;
    size_t len;
    uint8_t *in = overlay_instance(DVB_EXPLICIT_LE, 12, 11, 1, two_embedded, 2, &len);
    output o;
    dvt_deid(KEEP_ALL, in, len, &o);
    assert_true(has_group(o.p.inst, 0x6000));
    assert_true(has_group(o.p.inst, 0x6002));
    assert_samples(o.p.inst, 1, 0);
    dvt_output_free(&o);
    free(in);
}

/* A normal overlay (its bits in OverlayData) names no pixel bit, whatever its OverlayBitPosition says (0, as
 * the standard has it, or 15 as a retired writer might): the pixels are untouched although the profile
 * removes the group. */
static void test_overlay_with_data_untouched(void **state)
{
    (void)state;
    const ovl_spec with_data[] = {{0x6000, 0, 1}, {0x6002, 15, 1}};
    size_t len;
    uint8_t *in = overlay_instance(DVB_EXPLICIT_LE, 12, 11, 1, with_data, 2, &len);
    output o;
    dvt_deid("{}", in, len, &o);
    assert_false(has_group(o.p.inst, 0x6000));
    assert_false(has_group(o.p.inst, 0x6002));
    assert_samples(o.p.inst, 1, 0);
    dvt_output_free(&o);
    free(in);
}

/* A plane inside the stored bits holds image values: never cleared. With BitsStored 12 and HighBit 15 the
 * stored bits are 4-15: an embedded plane 3 is cleared, plane 13 (a stored bit there) is not. */
static void test_plane_inside_stored_untouched(void **state)
{
    (void)state;
    const ovl_spec inside[] = {{0x6000, 11, 0}};
    size_t len;
    uint8_t *in = overlay_instance(DVB_EXPLICIT_LE, 12, 11, 1, inside, 1, &len);
    output o;
    dvt_deid("{}", in, len, &o);
    assert_false(has_group(o.p.inst, 0x6000));
    assert_samples(o.p.inst, 1, 0);
    dvt_output_free(&o);
    free(in);

    const ovl_spec low[] = {{0x6000, 3, 0}, {0x6002, 13, 0}};
    in = overlay_instance(DVB_EXPLICIT_LE, 12, 15, 1, low, 2, &len);
    dvt_deid("{}", in, len, &o);
    assert_samples(o.p.inst, 1, 0x0008);
    dvt_output_free(&o);
    free(in);
}

/* Image Pixel attributes that contradict each other (BitsStored over BitsAllocated, HighBit not below
 * BitsAllocated, HighBit below BitsStored - 1): which bits hold image values is a guess, and a removed overlay's
 * plane is cleared whatever it is (fuzz_deidentify, stop 43: BitsStored 31244 beside HighBit 11 kept bit 15;
 * reader/deid-overlay-bits-stored-over-allocated.dcm). With agreeing attributes a stored bit is not. */
static void test_contradicting_attrs_clear_removed_planes(void **state)
{
    (void)state;
    const ovl_spec top[] = {{0x6000, 15, 0}};
    static const struct {
        uint16_t stored, high, clear;
    } cases[] = {{31244, 11, 0x8000}, {40, 15, 0x8000}, {12, 20, 0x8000}, {12, 5, 0x8000}, {16, 15, 0}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t len;
        uint8_t *in = overlay_instance(DVB_EXPLICIT_LE, cases[k].stored, cases[k].high, 1, top, 1, &len);
        output o;
        dvt_deid("{}", in, len, &o);
        assert_false(has_group(o.p.inst, 0x6000));
        assert_samples(o.p.inst, 1, cases[k].clear);
        dvt_output_free(&o);
        free(in);
    }
}

/* Every frame of a multi-frame instance is cleared (frame 1 has bit 14 on every sample). */
static void test_embedded_overlay_multiframe(void **state)
{
    (void)state;
    const dvb_ts tss[] = {DVB_EXPLICIT_LE, DVB_EXPLICIT_BE};
    for (size_t t = 0; t < 2; t++) {
        size_t len;
        uint8_t *in = overlay_instance(tss[t], 12, 11, 3, two_embedded, 2, &len);
        output o;
        dvt_deid("{}", in, len, &o);
        assert_samples(o.p.inst, 3, 0xC000);
        dvt_output_free(&o);
        free(in);
    }
}

/* A kept overlay keeps its plane even when a removed one named the same plane; a removed one's other plane
 * is cleared (an action keeps group 6000 only). */
static void test_embedded_overlay_one_kept(void **state)
{
    (void)state;
    const ovl_spec same[] = {{0x6000, 15, 0}, {0x6002, 15, 0}, {0x6004, 14, 0}};
    size_t len;
    uint8_t *in = overlay_instance(DVB_EXPLICIT_LE, 12, 11, 1, same, 3, &len);
    output o;
    dvt_deid("{\"dicomTagConfig\": {\"actions\": [{\"queries\": [\"60000102\"], \"keepTag\": {}}]}}", in, len, &o);
    assert_non_null(dv_ds_find(&o.p.inst->ds, 0x60000102u));
    assert_false(has_group(o.p.inst, 0x6002));
    assert_false(has_group(o.p.inst, 0x6004));
    assert_samples(o.p.inst, 1, 0x4000);
    dvt_output_free(&o);
    free(in);
}

/* ------------------------------------------------------------------ the shared corpus */

typedef struct corpus_stats {
    int files, patched, frames;
} corpus_stats;

/* ------------------------------------------------------------------ the public dv_apply */

/* A library caller's in-memory path, dv_apply then dv_instance_write, clears what pixel data carries besides
 * pixels as dv_deidentify does: a JPEG comment and, below, embedded overlay planes of removed overlays. */
static uint8_t *apply_and_write(const char *json, const uint8_t *in, size_t len, size_t *outlen)
{
    dv_error err = {0};
    parsed p;
    assert_int_equal(dvt_parse(&p, in, len, &err), 0);
    dv_plan *plan = dv_plan_from_json(json, strlen(json), &err);
    assert_non_null(plan);
    dv_key *key = dvt_test_key();
    dv_result res;
    dv_result_init(&res);
    if (dv_apply(plan, key, p.inst, &res, &err) != 0)
        fail_msg("dv_apply: %s", err.message);
    dv_mem_sink ms = {0};
    dv_sink sink = dv_sink_memory(&ms);
    if (dv_instance_write(p.inst, &sink, &err) != 0)
        fail_msg("dv_instance_write: %s", err.message);
    dv_key_free(key);
    dv_plan_free(plan);
    dv_instance_free(p.inst);
    *outlen = ms.len;
    return ms.data;
}

static void test_public_apply_cleans_the_container(void **state)
{
    (void)state;
    buf s;
    jpeg_at a;
    make_jpeg(&s, &a);
    int np;
    uint8_t *want = clean(DV_CS_JPEG, s.b, s.n, &np);
    size_t len, outlen;
    uint8_t *in = jpeg_instance(&s, (a.com + 5) & ~(size_t)1, 0, &len);
    uint8_t *out = apply_and_write("{}", in, len, &outlen);
    dv_error err = {0};
    parsed q;
    assert_int_equal(dvt_parse(&q, out, outlen, &err), 0);
    size_t n;
    uint8_t *got = fragments_of(q.inst, dv_ds_find(&q.inst->ds, DV_TAG_PIXEL_DATA), &n);
    assert_int_equal(n, s.n);
    assert_memory_equal(got, want, s.n);
    free(got);
    dv_instance_free(q.inst);
    free(out);
    free(in);
    free(want);

    in = overlay_instance(DVB_EXPLICIT_LE, 12, 11, 1, two_embedded, 2, &len);
    out = apply_and_write("{}", in, len, &outlen);
    assert_int_equal(dvt_parse(&q, out, outlen, &err), 0);
    assert_false(has_group(q.inst, 0x6000));
    assert_samples(q.inst, 1, 0xC000);
    dv_instance_free(q.inst);
    free(out);
    free(in);
}

/* dv_apply decodes no pixels: a plan that would redact this instance's burned-in text is refused before the
 * instance changes, never applied without its pixel stage. An instance without pixel data is de-identified. */
static void test_public_apply_refuses_pixel_redaction(void **state)
{
    (void)state;
    static const char json[] = "{\"dicomTagConfig\": {\"options\": {\"cleanImage\": "
                               "{\"textRedactionMode\": \"REDACT_ALL_TEXT\"}}}}";
    dv_error err = {0};
    dv_plan *plan = dv_plan_from_json(json, strlen(json), &err);
    assert_non_null(plan);
    dv_key *key = dvt_test_key();
    size_t len;
    uint8_t *in = overlay_instance(DVB_EXPLICIT_LE, 12, 11, 1, two_embedded, 2, &len);
    parsed p;
    assert_int_equal(dvt_parse(&p, in, len, &err), 0);
    dv_result res;
    dv_result_init(&res);
    assert_int_equal(dv_apply(plan, key, p.inst, &res, &err), -1);
    assert_int_equal(err.code, DV_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.message, "dv_deidentify"));
    const dv_elem *pn0 = dv_ds_find(&p.inst->ds, 0x00100010u);
    assert_true(pn0 && !dv_elem_is_empty(pn0)); /* refused before anything changed */
    dv_instance_free(p.inst);
    free(in);

    dvb *b = dvb_new(DVB_EXPLICIT_LE, 1);
    dvb_str(b, DV_TAG_SOP_CLASS_UID, "UI", "1.2.840.10008.5.1.4.1.1.88.11");
    dvb_str(b, DV_TAG_SOP_INSTANCE_UID, "UI", "1.2.3.4.7");
    dvb_str(b, 0x00100010u, "PN", "NOPIXELS^PATIENT");
    in = dvb_finish(b, &len);
    assert_int_equal(dvt_parse(&p, in, len, &err), 0);
    dv_error_clear(&err);
    if (dv_apply(plan, key, p.inst, &res, &err) != 0)
        fail_msg("dv_apply: %s", err.message);
    const dv_elem *pn = dv_ds_find(&p.inst->ds, 0x00100010u);
    assert_true(!pn || dv_elem_is_empty(pn)); /* Z: emptied (Type 2) */
    dv_instance_free(p.inst);
    free(in);
    dv_key_free(key);
    dv_plan_free(plan);
}

static int count_patch(void *user, uint64_t off, uint64_t len, const uint8_t *lit, unsigned nlit)
{
    (void)off;
    (void)len;
    (void)lit;
    (void)nlit;
    (*(int *)user)++;
    return 0;
}

/* Patches a walk of the top-level PixelData would make (-1: not walkable or not a codestream). */
static int walk_count(const dv_instance *inst)
{
    dv_cs_family fam = dv_cs_family_of(dv_instance_transfer_syntax(inst));
    dv_error err = {0};
    dv_frames *f = fam ? dv_frames_index(inst, &err) : NULL;
    if (!f)
        return -1;
    uint32_t n = dv_frames_fragment_count(f);
    dv_cs_frag *v = calloc(n ? n : 1, sizeof *v);
    for (uint32_t k = 0; k < n; k++)
        dv_frames_fragment(f, k, &v[k].offset, &v[k].length);
    uint64_t off;
    const dv_source *src = dv_elem_source(inst, dv_ds_find(&inst->ds, DV_TAG_PIXEL_DATA), &off);
    int count = 0;
    uint32_t *first = malloc(sizeof *first * dv_frames_count(f));
    for (uint32_t i = 0, c; i < dv_frames_count(f); i++)
        dv_frames_frame_fragments(f, i, &first[i], &c);
    dv_pixel_attrs pa;
    int rc = fam != DV_CS_RLE ? dv_codestream_clean(fam, src, v, n, first, dv_frames_count(f), count_patch, &count, &err)
             : dv_pixel_attrs_read(inst, NULL, &pa, &err) != 0 ? -1
             : dv_rle_clean(src, v, n, first, dv_frames_count(f), (uint64_t)pa.rows * pa.columns, count_patch, &count,
                            &err);
    free(first);
    free(v);
    dv_frames_free(f);
    return rc == 0 ? count : -1;
}

static int decode_all(const dv_instance *inst, uint8_t ***frames, size_t **sizes, uint32_t *n)
{
    dv_error err = {0};
    dv_pixel_attrs pa;
    if (dv_pixel_attrs_read(inst, NULL, &pa, &err))
        return -1;
    dv_ts_family fam = dv_ts_family_of(dv_instance_transfer_syntax(inst));
    size_t cap = dv_image_frame_capacity(&pa, fam, NULL, &err);
    dv_frames *fr = dv_frames_index(inst, &err);
    dv_image_ctx *ctx = dv_image_ctx_new(NULL);
    int rc = cap && fr && ctx ? 0 : -1;
    *n = rc ? 0 : pa.number_of_frames;
    *frames = calloc(*n ? *n : 1, sizeof **frames);
    *sizes = calloc(*n ? *n : 1, sizeof **sizes);
    for (uint32_t i = 0; rc == 0 && i < *n; i++) {
        (*frames)[i] = malloc(cap);
        dv_frame f = {.data = (*frames)[i], .cap = cap};
        rc = dv_image_decode_instance_frame(ctx, inst, fr, &pa, i, &f, &err);
        (*sizes)[i] = rc ? 0 : dv_frame_bytes(&f);
    }
    dv_frames_free(fr);
    dv_image_ctx_free(ctx);
    return rc;
}

static void free_frames(uint8_t **frames, size_t *sizes, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        free(frames[i]);
    free(frames);
    free(sizes);
}

static void corpus_file(const char *path, corpus_stats *st)
{
    size_t len;
    uint8_t *in = dvt_slurp(path, &len);
    parsed p = {0};
    dv_error err = {0};
    if (!in || dvt_parse(&p, in, len, &err) != 0) {
        free(in);
        return;
    }
    int before = walk_count(p.inst);
    uint8_t **fa = NULL, **fb = NULL;
    size_t *sa = NULL, *sb = NULL;
    uint32_t na = 0, nb = 0;
    if (before < 0 || decode_all(p.inst, &fa, &sa, &na) != 0) {
        if (fa)
            free_frames(fa, sa, na);
        dv_instance_free(p.inst);
        free(in);
        return;
    }
    dv_key *key = dvt_test_key();
    output o;
    if (dvt_deidentify("{}", key, NULL, in, len, &o, &err) != 0) {
        /* instances the engine refuses for other reasons (no SOPInstanceUID ...) are not this test's */
        if (strstr(err.message, "embedded text cannot be checked"))
            fail_msg("%s: %s", path, err.message);
        free_frames(fa, sa, na);
        dvt_output_free(&o);
        dv_key_free(key);
        dv_instance_free(p.inst);
        free(in);
        return;
    }
    st->files++;
    st->patched += before > 0;
    assert_int_equal(walk_count(o.p.inst), 0); /* nothing left to clear */
    assert_int_equal(decode_all(o.p.inst, &fb, &sb, &nb), 0);
    assert_int_equal(na, nb);
    for (uint32_t i = 0; i < na; i++) {
        assert_int_equal(sa[i], sb[i]);
        if (memcmp(fa[i], fb[i], sa[i]))
            fail_msg("%s: frame %u decodes differently after de-identification", path, i);
        st->frames++;
    }
    free_frames(fa, sa, na);
    free_frames(fb, sb, nb);
    dvt_output_free(&o);
    dv_key_free(key);
    dv_instance_free(p.inst);
    free(in);
}

static void walk_dir(const char *dir, corpus_stats *st)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct stat sb;
        if (stat(path, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode))
            walk_dir(path, st);
        else if (S_ISREG(sb.st_mode) && sb.st_size < 8 * 1024 * 1024)
            corpus_file(path, st);
    }
    closedir(d);
}

/* Every JPEG, JPEG-LS, JPEG 2000 and HTJ2K instance of the shared corpus that decodes: after
 * de-identification each frame decodes to the same samples, and a second walk finds nothing to clear. */
static void test_corpus_pixels_unchanged(void **state)
{
    (void)state;
    corpus_stats st = {0};
    walk_dir(DV_SHARED_DATA "/dicom", &st);
    printf("corpus: %d codestream instances, %d with something cleared, %d frames compared\n", st.files,
           st.patched, st.frames);
    assert_true(st.files >= 60);
    assert_true(st.patched >= 20);
}

static int count_only(void *user, uint64_t off, uint64_t len, const uint8_t *lit, unsigned nlit)
{
    (void)off;
    (void)len;
    (void)lit;
    (void)nlit;
    (*(int *)user)++;
    return 0;
}

/* Hostile input is normal input: 200,000 fragments of 10 bytes, each a JPEG with a comment to clear (frames
 * not known, so every image's end is looked for ahead of it), are walked in time linear in the fragments:
 * 8-10 ms here. */
static void test_many_fragments_linear(void **state)
{
    (void)state;
    enum { N = 200000, L = 10 };
    uint8_t *data = malloc((size_t)N * L);
    dv_cs_frag *f = malloc(sizeof *f * N);
    for (uint32_t k = 0; k < N; k++) {
        memcpy(data + L * k, "\xFF\xD8\xFF\xFE\x00\x03" "A\xFF\xD9\x00", L); /* a comment to clear in each */
        f[k].offset = L * (uint64_t)k;
        f[k].length = L;
    }
    data[L * 7 + 8] = 0x00; /* one image without its EOI: the next fragment's SOI ends it */
    dv_mem_source ms;
    dv_source src = dv_source_memory(&ms, data, (size_t)N * L);
    dv_error err = {0};
    int n = 0;
    clock_t t0 = clock();
    assert_int_equal(dv_codestream_clean(DV_CS_JPEG, &src, f, N, NULL, 0, count_only, &n, &err), 0);
    double s = (double)(clock() - t0) / CLOCKS_PER_SEC;
    printf("200,000 fragments walked in %.3f s CPU, %d ranges\n", s, n);
    assert_true(n >= N);
    assert_true(s < 5.0);
    free(data);
    free(f);
}

/* Which transfer syntaxes are walked: the JPEG processes, JPEG-LS, JPEG 2000 and HTJ2K, and RLE (by dv_rle_clean);
 * not deflated frames, the video syntaxes or JPEG XL (docs/decisions.md "Not walked"), nor anything else. */
static void test_not_walked(void **state)
{
    (void)state;
    static const char *const jpeg[] = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57",
                                       "1.2.840.10008.1.2.4.70"};
    static const char *const jls[] = {"1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"};
    static const char *const j2k[] = {"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91", "1.2.840.10008.1.2.4.201",
                                      "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203"};
    static const char *const none[] = {"1.2.840.10008.1.2.5.1", "1.2.840.10008.1.2.8.1", "1.2.840.10008.1.2.4.100",
                                       "1.2.840.10008.1.2.4.102", "1.2.840.10008.1.2.4.107", "1.2.840.10008.1.2.4.110",
                                       "1.2.840.10008.1.2.4.111", "1.2.840.10008.1.2.4.112", "1.2.840.10008.1.2.1",
                                       "1.2.840.10008.1.2.4.9", "1.2.840.10008.1.2.4.900", "1.2.840.10008.1.2.4.50.1",
                                       "1.2.3", ""};
    for (size_t i = 0; i < sizeof jpeg / sizeof *jpeg; i++)
        assert_int_equal(dv_cs_family_of(jpeg[i]), DV_CS_JPEG);
    for (size_t i = 0; i < sizeof jls / sizeof *jls; i++)
        assert_int_equal(dv_cs_family_of(jls[i]), DV_CS_JPEG_LS);
    for (size_t i = 0; i < sizeof j2k / sizeof *j2k; i++)
        assert_int_equal(dv_cs_family_of(j2k[i]), DV_CS_J2K);
    for (size_t i = 0; i < sizeof none / sizeof *none; i++)
        assert_int_equal(dv_cs_family_of(none[i]), DV_CS_NONE);
    assert_int_equal(dv_cs_family_of("1.2.840.10008.1.2.5"), DV_CS_RLE);
    assert_int_equal(dv_cs_family_of(NULL), DV_CS_NONE);
}

/* tests/fuzz/regressions/codestream/: each input in fuzz_codestream's layout (byte 0: bit 3 RLE with a plane of
 * 1 + 9 x bits 4-7, else bit 0 JPEG 2000, bit 4 JPEG-LS; bits 1-2 the number of cuts; 2 bytes a cut; then the
 * stream) walked
 * with clean_split's checks (ranges ascending inside one fragment, a second walk clears nothing).
 * j2k-segment-past-the-next-image: an unknown segment whose length ran into the next fragment's codestream was
 * cleared into it (ranges out of order). jp2-segment-past-its-box: an unknown segment of a JP2 codestream box
 * whose length ran past the box was cleared up to the image's end, then the bytes after the box again.
 * jp2-empty-codestream-box: an empty codestream box followed by bytes that begin a codestream was taken as
 * holding one; those bytes were cleared, and the cleared stream then refused. */
static void test_fuzz_regressions_replay(void **state)
{
    (void)state;
    const char *dir = DV_SOURCE_DIR "/tests/fuzz/regressions/codestream";
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || !strncmp(de->d_name, "README", 6))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        size_t len;
        uint8_t *in = dvt_slurp(path, &len);
        assert_non_null(in);
        size_t ncuts = (in[0] >> 1) & 3, cuts[3], m = 0;
        assert_true(len > 1 + 2 * ncuts);
        const uint8_t *sdata = in + 1 + 2 * ncuts;
        size_t sn = len - 1 - 2 * ncuts;
        for (size_t i = 0; i < ncuts; i++) {
            size_t c = (size_t)(in[1 + 2 * i] | in[2 + 2 * i] << 8) % sn;
            size_t j = m;
            while (j > 0 && cuts[j - 1] > c) {
                cuts[j] = cuts[j - 1];
                j--;
            }
            cuts[j] = c;
            m++;
        }
        size_t kept = 0; /* empty fragments dropped, as the harness does */
        for (size_t i = 0; i < m; i++)
            if (cuts[i] > (kept ? cuts[kept - 1] : 0))
                cuts[kept++] = cuts[i];
        int np, rc;
        dv_error err = {0};
        rle_plane_bytes = 1 + (uint64_t)(in[0] >> 4) * 9; /* fuzz_codestream's layout */
        dv_cs_family fam = (in[0] & 8)    ? DV_CS_RLE
                           : (in[0] & 1)  ? DV_CS_J2K
                           : (in[0] & 16) ? DV_CS_JPEG_LS
                                          : DV_CS_JPEG;
        uint8_t *o = clean_split(fam, sdata, sn, cuts, kept, &np, &rc, &err);
        assert_true(rc == 0 || err.code == DV_ERR_MALFORMED);
        free(o);
        free(in);
        n++;
    }
    closedir(d);
    assert_true(n >= 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jpeg_segments_cleared),
        cmocka_unit_test(test_jpeg_split_anywhere),
        cmocka_unit_test(test_jpeg_structural_tails),
        cmocka_unit_test(test_jpegls_stuffing_and_spiff),
        cmocka_unit_test(test_jpegls_lse_tails),
        cmocka_unit_test(test_jpegls_lse_before_frame),
        cmocka_unit_test(test_j2k_comments_cleared),
        cmocka_unit_test(test_j2k_unknown_header_markers),
        cmocka_unit_test(test_jp2_boxes),
        cmocka_unit_test(test_jp2_box_tails),
        cmocka_unit_test(test_jp2c_segment_past_its_box),
        cmocka_unit_test(test_unwalkable_refused),
        cmocka_unit_test(test_between_and_cut_short),
        cmocka_unit_test(test_engine_writes_the_patches),
        cmocka_unit_test(test_engine_refuses_unwalkable),
        cmocka_unit_test(test_lying_offset_table_cleared),
        cmocka_unit_test(test_lying_extended_offset_table),
        cmocka_unit_test(test_rle_tails_cleared),
        cmocka_unit_test(test_rle_tails_cleared_in_engine),
        cmocka_unit_test(test_native_slack_cut),
        cmocka_unit_test(test_embedded_overlay_cleared),
        cmocka_unit_test(test_public_apply_cleans_the_container),
        cmocka_unit_test(test_public_apply_refuses_pixel_redaction),
        cmocka_unit_test(test_embedded_overlay_kept),
        cmocka_unit_test(test_overlay_with_data_untouched),
        cmocka_unit_test(test_plane_inside_stored_untouched),
        cmocka_unit_test(test_contradicting_attrs_clear_removed_planes),
        cmocka_unit_test(test_embedded_overlay_multiframe),
        cmocka_unit_test(test_embedded_overlay_one_kept),
        cmocka_unit_test(test_corpus_pixels_unchanged),
        cmocka_unit_test(test_fuzz_regressions_replay),
        cmocka_unit_test(test_not_walked),
        cmocka_unit_test(test_many_fragments_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
