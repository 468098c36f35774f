/* Code tables for the ISO 2022 graphic sets, derived on first use from glibc's iconv, and the per-worker converter
 * context: cached iconv converters for GB18030 and GBK.
 *
 * Why iconv (docs/decisions.md "Character sets"): glibc's converters are part of the C library on Debian
 * (package libc6, /usr/lib/x86_64-linux-gnu/gconv), maintained against the national standards, and cover every
 * set DICOM names, including the large CJK sets. We do not commit generated copies of those tables; instead
 * each 94x94 set is read out of iconv once per process (a row of 94 characters a call, db94_row: ~2.8 M
 * instructions a set) into a flat table plus a reverse index sorted by code point, so the hot paths are table
 * lookups. Once per process, not per context: the tables depend on the set alone and never change once made, and
 * a context per instance (held_values.c recodes the patient's names with one) rebuilt them for every instance
 * whose names have a byte over 0x7F, ~9 M instructions a 94x94 set as then made (stop 55: 12 builds in one run
 * over the shared corpus, 9 % of its cost under DEIDENTIFY_TAG_CONTENTS). They are published once whole (an
 * atomic pointer, made under a mutex: table_once) and kept for the process's life; a failed build (no memory, no
 * converter) is not kept, so the next use tries again. The DICOM-specific parts (terms, ISO 2022 designations per
 * value, delimiters, JIS X 0201, PN groups) are ours (charset_iso2022.c). iconv_open is not free and an iconv_t
 * is not thread-safe: the GB18030 and GBK converters are cached per context. */
#include "charset_internal.h"

#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define DB94_SIZE (94 * 94)

/* The process's tables: a set's reverse index is written before its table is published (release), and read only
 * after the table was seen (acquire). */
static struct {
    pthread_mutex_t mu;                   /* one build at a time */
    _Atomic(uint16_t *) sb96[GS_COUNT];   /* 96 entries, bytes 0xA0..0xFF */
    _Atomic(uint16_t *) db94[GS_COUNT];   /* DB94_SIZE entries */
    uint32_t *db94_rev[GS_COUNT];         /* sorted (cp << 16 | code) */
    size_t db94_nrev[GS_COUNT];
} tables = {.mu = PTHREAD_MUTEX_INITIALIZER};

struct dv_charset_ctx {
    iconv_t cv[2][2]; /* [0 GB18030, 1 GBK][0 decode, 1 encode] */
    uint8_t cv_open[2][2];
};

dv_charset_ctx *dv_charset_ctx_new(void)
{
    return calloc(1, sizeof(dv_charset_ctx));
}

void dv_charset_ctx_free(dv_charset_ctx *ctx)
{
    if (!ctx)
        return;
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < 2; j++) {
            if (ctx->cv_open[i][j])
                iconv_close(ctx->cv[i][j]);
        }
    }
    free(ctx);
}

static const char *iconv_name(cs_gset g)
{
    switch (g) {
    case GS_8859_1: return "ISO-8859-1";
    case GS_8859_2: return "ISO-8859-2";
    case GS_8859_3: return "ISO-8859-3";
    case GS_8859_4: return "ISO-8859-4";
    case GS_8859_5: return "ISO-8859-5";
    case GS_8859_6: return "ISO-8859-6";
    case GS_8859_7: return "ISO-8859-7";
    case GS_8859_8: return "ISO-8859-8";
    case GS_8859_9: return "ISO-8859-9";
    case GS_8859_15: return "ISO-8859-15";
    case GS_TIS620: return "TIS-620";
    case GS_JISX0208: return "EUC-JP";
    case GS_JISX0212: return "EUC-JP";
    case GS_KSX1001: return "EUC-KR";
    case GS_GB2312: return "EUC-CN";
    default: return NULL;
    }
}

/* One character's bytes -> one BMP code point (0 when unassigned or not exactly one BMP character). */
static uint16_t one_char(iconv_t cd, const uint8_t *bytes, size_t n)
{
    uint8_t outb[16];
    char *in = (char *)bytes, *out = (char *)outb;
    size_t inleft = n, outleft = sizeof outb;
    iconv(cd, NULL, NULL, NULL, NULL);
    if (iconv(cd, &in, &inleft, &out, &outleft) == (size_t)-1 || inleft != 0)
        return 0;
    if (sizeof outb - outleft != 4)
        return 0;
    uint32_t cp = (uint32_t)outb[0] | (uint32_t)outb[1] << 8 | (uint32_t)outb[2] << 16 | (uint32_t)outb[3] << 24;
    return cp > 0 && cp < 0x10000 ? (uint16_t)cp : 0;
}

static iconv_t open_to_ucs4(cs_gset g, dv_error *err)
{
    iconv_t cd = iconv_open("UTF-32LE", iconv_name(g));
    if (cd == (iconv_t)-1)
        dv_fail(err, errno == EINVAL ? DV_ERR_UNSUPPORTED : DV_ERR_NOMEM,
                "character set converter %s is not available (glibc gconv)", iconv_name(g));
    return cd;
}

static uint16_t *build_sb96(cs_gset g, dv_error *err)
{
    uint16_t *t = calloc(96, sizeof *t);
    if (!t) {
        dv_fail(err, DV_ERR_NOMEM, "character set table");
        return NULL;
    }
    if (g == GS_8859_1) {
        for (int b = 0xA0; b <= 0xFF; b++)
            t[b - 0xA0] = (uint16_t)b; /* Latin-1 is the first 256 code points */
    } else {
        iconv_t cd = open_to_ucs4(g, err);
        if (cd == (iconv_t)-1) {
            free(t);
            return NULL;
        }
        for (int b = 0xA0; b <= 0xFF; b++) {
            uint8_t byte = (uint8_t)b;
            t[b - 0xA0] = one_char(cd, &byte, 1);
        }
        iconv_close(cd);
    }
    return t;
}

/* The table in *slot, made by build (under tables.mu, once) on the process's first use and published whole; NULL
 * with err when it cannot be made (nothing kept: the next use tries again). */
static uint16_t *table_once(_Atomic(uint16_t *) *slot, uint16_t *(*build)(cs_gset, dv_error *), cs_gset g,
                            dv_error *err)
{
    uint16_t *t = atomic_load_explicit(slot, memory_order_acquire);
    if (t)
        return t;
    pthread_mutex_lock(&tables.mu);
    t = atomic_load_explicit(slot, memory_order_relaxed);
    if (!t && (t = build(g, err)) != NULL)
        atomic_store_explicit(slot, t, memory_order_release);
    pthread_mutex_unlock(&tables.mu);
    return t;
}

const uint16_t *cs_sb96_table(dv_charset_ctx *ctx, cs_gset g, dv_error *err)
{
    (void)ctx;
    return table_once(&tables.sb96[g], build_sb96, g, err);
}

/* rev[0, n) (cp << 16 | code, in rising code order) sorted by code point, equal code points keeping their rising
 * codes: a stable counting sort on each of the code point's two bytes, low then high, through tmp (n entries).
 * qsort cost ~2.6 M instructions a set. */
static void sort_by_code_point(uint32_t *rev, uint32_t *tmp, size_t n)
{
    for (int shift = 16; shift <= 24; shift += 8) {
        size_t at[257] = {0};
        for (size_t i = 0; i < n; i++)
            at[((rev[i] >> shift) & 0xFF) + 1]++;
        for (int d = 0; d < 256; d++)
            at[d + 1] += at[d];
        for (size_t i = 0; i < n; i++)
            tmp[at[(rev[i] >> shift) & 0xFF]++] = rev[i];
        memcpy(rev, tmp, n * sizeof *rev);
    }
}

/* A character's bytes in the EUC form iconv reads: GL bytes with the high bit set; JIS X 0212 behind EUC-JP's SS3
 * (0x8F). Its length. */
static size_t euc_bytes(cs_gset g, int r, int c, uint8_t *b)
{
    size_t n = 0;
    if (g == GS_JISX0212)
        b[n++] = 0x8F;
    b[n++] = (uint8_t)(r | 0x80);
    b[n++] = (uint8_t)(c | 0x80);
    return n;
}

/* Row r of a 94x94 set into row[94]: what one_char gives each character, but the row's 94 characters converted in
 * as few iconv calls as the row allows (one where all are assigned), since a call costs far more than a
 * character: 8836 calls were ~9 M instructions a set. A character iconv stops at is converted alone (one_char:
 * 0 when unassigned) and the rest of the row goes on after it; should a call's output not be 4 bytes a character,
 * the row is done one character at a time. [test_charset: test_db94_tables_match_iconv] */
static void db94_row(iconv_t cd, cs_gset g, int r, uint16_t *row)
{
    uint8_t in[94 * 3], outb[94 * 4];
    size_t w = euc_bytes(g, r, 0x21, in);
    for (int c = 0x22; c <= 0x7E; c++)
        euc_bytes(g, r, c, in + (size_t)(c - 0x21) * w);
    size_t at = 0; /* characters done */
    while (at < 94) {
        char *ip = (char *)in + at * w, *op = (char *)outb;
        size_t il = (94 - at) * w, ol = sizeof outb;
        iconv(cd, NULL, NULL, NULL, NULL);
        size_t rc = iconv(cd, &ip, &il, &op, &ol);
        size_t used = (size_t)(ip - (char *)in) - at * w, done = used / w;
        if (used % w != 0 || sizeof outb - ol != done * 4) { /* not one code point a character: one at a time */
            for (; at < 94; at++)
                row[at] = one_char(cd, in + at * w, w);
            return;
        }
        for (size_t k = 0; k < done; k++) {
            const uint8_t *o = outb + 4 * k;
            uint32_t cp = (uint32_t)o[0] | (uint32_t)o[1] << 8 | (uint32_t)o[2] << 16 | (uint32_t)o[3] << 24;
            row[at + k] = cp > 0 && cp < 0x10000 ? (uint16_t)cp : 0;
        }
        at += done;
        if (rc == (size_t)-1 && at < 94) { /* stopped at a character: that one alone, then on */
            row[at] = one_char(cd, in + at * w, w);
            at++;
        }
    }
}

/* Under tables.mu: the set's table, its reverse index set beside it (published with the table); NULL with err when
 * either cannot be made. */
static uint16_t *build_db94(cs_gset g, dv_error *err)
{
    uint16_t *t = calloc(DB94_SIZE, sizeof *t);
    uint32_t *rev = calloc(DB94_SIZE, sizeof *rev), *tmp = malloc(DB94_SIZE * sizeof *tmp);
    if (!t || !rev || !tmp) {
        free(t);
        free(rev);
        free(tmp);
        dv_fail(err, DV_ERR_NOMEM, "character set table");
        return NULL;
    }
    iconv_t cd = open_to_ucs4(g, err);
    if (cd == (iconv_t)-1) {
        free(t);
        free(rev);
        free(tmp);
        return NULL;
    }
    size_t nrev = 0;
    for (int r = 0x21; r <= 0x7E; r++) {
        uint16_t *row = t + (r - 0x21) * 94;
        db94_row(cd, g, r, row);
        for (int c = 0x21; c <= 0x7E; c++)
            if (row[c - 0x21])
                rev[nrev++] = (uint32_t)row[c - 0x21] << 16 | (uint32_t)(r << 8 | c);
    }
    iconv_close(cd);
    sort_by_code_point(rev, tmp, nrev); /* equal code points: the lowest code first */
    free(tmp);
    tables.db94_rev[g] = rev;
    tables.db94_nrev[g] = nrev;
    return t;
}

const uint16_t *cs_db94_table(dv_charset_ctx *ctx, cs_gset g, dv_error *err)
{
    (void)ctx;
    return table_once(&tables.db94[g], build_db94, g, err);
}

int cs_db94_encode(dv_charset_ctx *ctx, cs_gset g, uint32_t cp, uint16_t *code, dv_error *err)
{
    if (!cs_db94_table(ctx, g, err))
        return -1;
    if (cp == 0 || cp > 0xFFFF)
        return 0;
    const uint32_t *rev = tables.db94_rev[g];
    size_t lo = 0, hi = tables.db94_nrev[g];
    uint32_t key = cp << 16;
    while (lo < hi) { /* lower bound of key */
        size_t mid = lo + (hi - lo) / 2;
        if (rev[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < tables.db94_nrev[g] && (rev[lo] >> 16) == cp) {
        *code = (uint16_t)(rev[lo] & 0xFFFF);
        return 1;
    }
    return 0;
}

void *cs_iconv(dv_charset_ctx *ctx, dv_cs_term term, int encode, dv_error *err)
{
    int which = term == DV_CST_GBK;
    const char *name = which ? "GBK" : "GB18030";
    if (!ctx->cv_open[which][encode]) {
        iconv_t cd = encode ? iconv_open(name, "UTF-8") : iconv_open("UTF-8", name);
        if (cd == (iconv_t)-1) {
            dv_fail(err, errno == EINVAL ? DV_ERR_UNSUPPORTED : DV_ERR_NOMEM,
                    "character set converter %s is not available (glibc gconv)", name);
            return NULL;
        }
        ctx->cv[which][encode] = cd;
        ctx->cv_open[which][encode] = 1;
    }
    iconv_t cd = ctx->cv[which][encode];
    iconv(cd, NULL, NULL, NULL, NULL); /* initial shift state */
    return (void *)cd;
}
