/* The promises checked on every hostile input (see dv_invariants.h): one home for the fuzz targets and the
 * unit tests that replay their regressions. */
#include "dv_invariants.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicom/dv_uid_syntax.h"
#include "dicom/dv_vr.h"
#include "dicomveil/dv_frames.h"
#include "dict/dv_dict.h"
#include "image/dv_redact.h"

/* The de-identification oracle re-reads with values up to 64 KiB inline: every placeholder fits (at most
 * 4096 values of "19000101000000\"), so an X/Z/D value still streamed from the source is a survivor. */
#define DVI_CHECK_INLINE (64u << 10)
#define DVI_CHECK_METADATA (64u << 20)
#define DVI_REGISTRY_ROOT "1.2.840.10008."
#define DVI_ANY_UID_TAG 0xFFFFFFFFu /* U-coded values are compared across attributes (references) */

void dvi_fuzz_limits(dv_limits *lim)
{
    dv_limits_default(lim);
    lim->max_depth = 16;
    lim->max_metadata_bytes = 1u << 20;
    lim->max_inflated_bytes = 4u << 20;
    lim->inline_threshold = 1024;
}

const char *dvi_stage_name(dvi_stage s)
{
    switch (s) {
    case DVI_READ_FAILED: return "read-failed";
    case DVI_APPLY_FAILED: return "apply-failed";
    case DVI_WRITE_FAILED: return "write-failed";
    case DVI_WRITTEN: return "written";
    }
    return "?";
}

int dvi_read_class_ok(dv_code code)
{
    return code == DV_ERR_NOT_DICOM || code == DV_ERR_MALFORMED || code == DV_ERR_LIMIT ||
           code == DV_ERR_UNSUPPORTED || code == DV_ERR_NOMEM;
}

int dvi_write_class_ok(dv_code code)
{
    return code == DV_ERR_INVALID || code == DV_ERR_LIMIT || code == DV_ERR_UNSUPPORTED || code == DV_ERR_NOMEM ||
           code == DV_ERR_IO;
}

static int apply_class_ok(dv_code code)
{
    return code == DV_ERR_MALFORMED || code == DV_ERR_LIMIT || code == DV_ERR_UNSUPPORTED || code == DV_ERR_NOMEM ||
           code == DV_ERR_IO;
}

static int violate(dvi_outcome *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int violate(dvi_outcome *o, const char *fmt, ...)
{
    if (o->violation[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(o->violation, sizeof o->violation, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* A refusal must say what kind it is and why: a class from the allowed set and a non-empty message. */
static int check_refusal(dvi_outcome *o, const char *step, const dv_error *err, int (*class_ok)(dv_code))
{
    if (memchr(err->message, '\0', sizeof err->message) == NULL)
        return violate(o, "%s refusal: dv_error.message is not NUL-terminated", step);
    if (err->code == DV_OK)
        return violate(o, "%s failed with DV_OK", step);
    if (err->message[0] == '\0')
        return violate(o, "%s refusal (%s) has an empty message", step, dv_code_name(err->code));
    if (!class_ok(err->code))
        return violate(o, "%s refused with an unexpected class %s (%s)", step, dv_code_name(err->code), err->message);
    return 0;
}

static dv_instance *read_bytes(dv_mem_source *ms, const uint8_t *data, size_t size, const dv_limits *lim,
                               dv_error *err)
{
    dv_source src = dv_source_memory(ms, data, size);
    return dv_instance_read(&src, lim, err);
}

static int write_capped(const dv_instance *inst, dv_mem_sink *out, size_t cap, dv_error *err)
{
    memset(out, 0, sizeof *out);
    out->max_len = cap;
    dv_sink sink = dv_sink_memory(out);
    return dv_instance_write(inst, &sink, err);
}

int dvi_check_round_trip(const uint8_t *data, size_t size, const dv_limits *lim, size_t sink_cap,
                         dvi_inspect_fn inspect, void *user, dvi_outcome *o)
{
    memset(o, 0, sizeof *o);
    dv_mem_source ms;
    dv_instance *inst = read_bytes(&ms, data, size, lim, &o->err);
    if (inst == NULL) {
        o->stage = DVI_READ_FAILED;
        return check_refusal(o, "read", &o->err, dvi_read_class_ok);
    }
    if (inspect)
        inspect(inst, user);
    dv_mem_sink out1;
    if (write_capped(inst, &out1, sink_cap, &o->err) != 0) {
        o->stage = DVI_WRITE_FAILED;
        dv_mem_sink_free(&out1);
        dv_instance_free(inst);
        return check_refusal(o, "write", &o->err, dvi_write_class_ok);
    }
    o->stage = DVI_WRITTEN;
    int rc = 0;
    dv_error err2;
    memset(&err2, 0, sizeof err2);
    dv_mem_source ms2;
    dv_instance *again = read_bytes(&ms2, out1.data, out1.len, lim, &err2);
    if (again == NULL) {
        if (err2.code != DV_ERR_LIMIT && err2.code != DV_ERR_NOMEM)
            rc = violate(o, "the writer's output does not read back (%s: %s)", dv_code_name(err2.code), err2.message);
    } else {
        if (inspect)
            inspect(again, user);
        dv_mem_sink out2;
        if (write_capped(again, &out2, sink_cap, &err2) == 0) {
            if (out2.len != out1.len || memcmp(out1.data, out2.data, out1.len) != 0)
                rc = violate(o, "writing is not idempotent: write(read(write(x))) != write(x) (%zu vs %zu bytes)",
                             out2.len, out1.len);
        } else if (err2.code != DV_ERR_LIMIT && err2.code != DV_ERR_NOMEM && err2.code != DV_ERR_IO) {
            rc = violate(o, "the writer's re-read output cannot be written again (%s: %s)", dv_code_name(err2.code),
                         err2.message);
        }
        dv_mem_sink_free(&out2);
        dv_instance_free(again);
    }
    dv_mem_sink_free(&out1);
    dv_instance_free(inst);
    return rc;
}

/* ---- the de-identification oracle ---------------------------------------------------------------------- */

/* Hashes of (attribute, value) pairs of the input; 64-bit FNV-1a (a collision is a false alarm, never a miss). */
typedef struct valueset {
    uint64_t *h;
    size_t n, cap;
    int oom;
} valueset;

static uint64_t fnv(uint32_t tag, const uint8_t *v, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < 4; i++) {
        h ^= (uint8_t)(tag >> (8 * i));
        h *= 1099511628211ull;
    }
    for (size_t i = 0; i < n; i++) {
        h ^= v[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void set_add(valueset *s, uint64_t h)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        uint64_t *p = realloc(s->h, cap * sizeof *p);
        if (p == NULL) {
            s->oom = 1;
            return;
        }
        s->h = p;
        s->cap = cap;
    }
    s->h[s->n++] = h;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int set_has(const valueset *s, uint64_t h)
{
    return s->n && bsearch(&h, s->h, s->n, sizeof *s->h, cmp_u64) != NULL;
}

static int is_pad(uint8_t c)
{
    return c == ' ' || c == '\0';
}

static void trim(const uint8_t **v, size_t *n)
{
    while (*n > 0 && is_pad((*v)[*n - 1]))
        (*n)--;
    while (*n > 0 && is_pad((*v)[0])) {
        (*v)++;
        (*n)--;
    }
}

static int is_registry(const uint8_t *v, size_t n)
{
    return n >= sizeof DVI_REGISTRY_ROOT - 1 && memcmp(v, DVI_REGISTRY_ROOT, sizeof DVI_REGISTRY_ROOT - 1) == 0;
}

typedef int (*value_fn)(const uint8_t *t, size_t n, void *user);

/* Calls fn for every backslash-separated value of v (padding trimmed; empty ones too) until it returns 1:
 * then 1, else 0. */
static int each_value(const uint8_t *v, size_t n, value_fn fn, void *user)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && v[i] != '\\')
            continue;
        const uint8_t *t = v + start;
        size_t tn = i - start;
        trim(&t, &tn);
        if (fn(t, tn, user))
            return 1;
        start = i + 1;
    }
    return 0;
}

/* 1 unless t is empty or one of the placeholders dummies are made of (engine/dummy.c, DECISIONS 4). */
static int not_placeholder(const uint8_t *t, size_t n, void *user)
{
    (void)user;
    static const char *const words[] = { "PLACEHOLDER", "0", "19000101", "000000", "19000101000000", "000Y" };
    int ok = n == 0;
    for (size_t w = 0; !ok && w < sizeof words / sizeof *words; w++)
        ok = strlen(words[w]) == n && memcmp(words[w], t, n) == 0;
    return !ok;
}

/* All zero bytes, or only placeholders: carrying that is no leak. */
static int is_placeholder_only(const uint8_t *v, size_t n)
{
    size_t zeros = 0;
    while (zeros < n && v[zeros] == 0)
        zeros++;
    return zeros == n || !each_value(v, n, not_placeholder, NULL);
}

enum { FAMILY_NONE = 0, FAMILY_XZD, FAMILY_U };

/* What the PS3.15 Basic column says about tag: removed/emptied/dummied (X, Z, D and their composites), a UID to
 * replace (U, X/Z/U*), or nothing to check. Private tags have no row. */
static int family_of(uint32_t tag)
{
    const dv_profile_table *t = dv_profile_table_default();
    const dv_profile_entry *pe = t ? dv_profile_lookup(t, tag) : NULL;
    if (pe == NULL)
        return FAMILY_NONE;
    switch ((dv_pcode)pe->basic) {
    case DV_PC_X: case DV_PC_Z: case DV_PC_D: case DV_PC_XZ: case DV_PC_XD: case DV_PC_ZD: case DV_PC_XZD:
        return FAMILY_XZD;
    case DV_PC_U: case DV_PC_XZU:
        return FAMILY_U;
    default:
        return FAMILY_NONE;
    }
}

static int is_private_group(uint32_t tag)
{
    uint16_t g = (uint16_t)(tag >> 16);
    return (g & 1u) && g > 0x0008u && g != 0xFFFFu;
}

typedef struct uid_visit {
    value_fn fn;
    void *user;
} uid_visit;

static int uid_value(const uint8_t *t, size_t n, void *user)
{
    const uid_visit *u = user;
    return n > 0 && !is_registry(t, n) && u->fn(t, n, u->user);
}

/* Calls fn for every non-empty backslash-separated UID of v but registry UIDs (padding trimmed), stopping
 * when it returns 1. */
static int each_uid(const uint8_t *v, size_t n, value_fn fn, void *user)
{
    uid_visit u = {fn, user};
    return each_value(v, n, uid_value, &u);
}

static int add_uid(const uint8_t *t, size_t n, void *user)
{
    set_add(user, fnv(DVI_ANY_UID_TAG, t, n));
    return 0;
}

static int collect_visit(const dv_element_view *e, void *user)
{
    valueset *s = user;
    if (e->is_sequence || e->value == NULL || is_private_group(e->tag))
        return 0;
    int fam = family_of(e->tag);
    const uint8_t *v = e->value;
    size_t n = (size_t)e->length;
    if (fam == FAMILY_XZD) {
        trim(&v, &n);
        if (n > 0)
            set_add(s, fnv(e->tag, v, n));
    } else if (fam == FAMILY_U) {
        (void)each_uid(v, n, add_uid, s);
    }
    return 0;
}

typedef struct survivor_ctx {
    const valueset *in;
    dvi_outcome *o;
    int found;
} survivor_ctx;

static int uid_survived(const uint8_t *t, size_t n, void *user)
{
    const survivor_ctx *c = user;
    return set_has(c->in, fnv(DVI_ANY_UID_TAG, t, n));
}

static int survivor_visit(const dv_element_view *e, void *user)
{
    survivor_ctx *c = user;
    if (is_private_group(e->tag)) {
        c->found = violate(c->o, "private element (%04X,%04X) at depth %u survived the Basic profile",
                           (unsigned)(e->tag >> 16), (unsigned)(e->tag & 0xFFFFu), (unsigned)e->depth);
        return 1;
    }
    if (e->is_sequence)
        return 0;
    /* Whatever the plan kept, regenerated or reset, a UI value holds UIDs only: free text in a kept UID
     * attribute is PHI too (docs/decisions.md "Kept UIDs are UIDs"; the fuzz plan has no keepTag). A UID
     * attribute written with another VR is no exception (its dictionary VR is UI). */
    const dv_dict_entry *de = dv_dict_lookup(e->tag);
    int is_uid = strcmp(e->vr, "UI") == 0 || (de != NULL && de->vr == DV_VR_UI);
    if (e->value != NULL && is_uid && !dv_ui_value_valid(e->value, (size_t)e->length)) {
        c->found = violate(c->o, "(%04X,%04X) at depth %u (UI) holds a value that is not a UID",
                           (unsigned)(e->tag >> 16), (unsigned)(e->tag & 0xFFFFu), (unsigned)e->depth);
        return 1;
    }
    int fam = family_of(e->tag);
    if (fam == FAMILY_NONE)
        return 0;
    if (e->value == NULL) {
        if (fam == FAMILY_XZD && e->is_bulk && e->length != 0) {
            c->found = violate(c->o, "(%04X,%04X) at depth %u (X/Z/D) kept a value over %u bytes",
                               (unsigned)(e->tag >> 16), (unsigned)(e->tag & 0xFFFFu), (unsigned)e->depth,
                               DVI_CHECK_INLINE);
            return 1;
        }
        return 0;
    }
    const uint8_t *v = e->value;
    size_t n = (size_t)e->length;
    int leak;
    if (fam == FAMILY_XZD) {
        trim(&v, &n);
        leak = n > 0 && !is_placeholder_only(v, n) && !is_registry(v, n) && set_has(c->in, fnv(e->tag, v, n));
    } else {
        leak = each_uid(v, n, uid_survived, c);
    }
    if (leak) {
        /* Name the attribute, never the value: no PHI in any message. */
        c->found = violate(c->o, "(%04X,%04X) at depth %u (%s) kept a value of the input",
                           (unsigned)(e->tag >> 16), (unsigned)(e->tag & 0xFFFFu), (unsigned)e->depth,
                           fam == FAMILY_XZD ? "X/Z/D" : "U");
        return 1;
    }
    return 0;
}

static void check_limits(dv_limits *chk, const dv_limits *lim)
{
    if (lim)
        *chk = *lim;
    else
        dv_limits_default(chk);
    chk->inline_threshold = DVI_CHECK_INLINE;
    if (chk->max_metadata_bytes < DVI_CHECK_METADATA)
        chk->max_metadata_bytes = DVI_CHECK_METADATA;
}

/* The input's X/Z/D and U values, read with every value up to 64 KiB inline; when that read hits a limit,
 * the inline values of the instance about to be de-identified (bulk ones cannot be compared then). */
static void collect_input(valueset *s, const dv_instance *inst, const uint8_t *data, size_t size, const dv_limits *lim)
{
    dv_limits chk;
    check_limits(&chk, lim);
    dv_error err;
    dv_mem_source ms;
    dv_instance *full = read_bytes(&ms, data, size, &chk, &err);
    (void)dv_instance_visit(full ? full : inst, collect_visit, s);
    dv_instance_free(full);
    if (s->n)
        qsort(s->h, s->n, sizeof *s->h, cmp_u64);
}

static int check_output(const dv_instance *out, const dv_result *res, const valueset *in, dvi_outcome *o)
{
    survivor_ctx c = { in, o, 0 };
    (void)dv_instance_visit(out, survivor_visit, &c);
    if (c.found)
        return -1;
    char sop[DV_UID_MAX + 8], msop[DV_UID_MAX + 8], removed[16];
    int sl = dv_instance_get_string(out, 0x00080018u, sop, sizeof sop);
    int ml = dv_instance_get_string(out, 0x00020003u, msop, sizeof msop);
    /* sl < 0: the value is not readable as one UID; the writer already refused an instance without one, so
     * only a readable value is compared. */
    if (res->sop_uid[0] != '\0' && sl >= 0 && strcmp(sop, res->sop_uid) != 0)
        return violate(o, "SOPInstanceUID in the output differs from dv_result.sop_uid");
    if (sl >= 0 && (ml < 0 || strcmp(sop, msop) != 0))
        return violate(o, "MediaStorageSOPInstanceUID differs from SOPInstanceUID in the output");
    if (res->changed && (dv_instance_get_string(out, 0x00120062u, removed, sizeof removed) < 0 ||
                         strcmp(removed, "YES") != 0))
        return violate(o, "de-identified output without PatientIdentityRemoved YES");
    return 0;
}

/* ---- overlay planes embedded in native pixels: read here (public API), not asked of the engine ---- */

typedef struct ovl_scan {
    int be;                 /* values stored big endian (explicit VR big endian) */
    unsigned have;          /* bit i: (0028,0100 + i) read (BitsAllocated, BitsStored, HighBit) */
    uint16_t attr[3];
    uint32_t has_pos, has_data; /* bit g: group 0x6000 + 2g has OverlayBitPosition / OverlayData */
    uint16_t pos[16];
    int native;             /* the top-level PixelData has a defined length (not encapsulated) */
} ovl_scan;

static int ovl_visit(const dv_element_view *e, void *user)
{
    ovl_scan *s = user;
    if (e->depth != 0)
        return 0;
    int u16 = e->value && !e->is_sequence && e->length >= 2 && e->length != 0xFFFFFFFFu;
    uint16_t v = !u16 ? 0 : s->be ? (uint16_t)(e->value[0] << 8 | e->value[1]) : (uint16_t)(e->value[0] | e->value[1] << 8);
    uint32_t grp = e->tag >> 16, el = e->tag & 0xFFFFu, g = (grp - 0x6000u) / 2;
    if (e->tag >= 0x00280100u && e->tag <= 0x00280102u && u16 && !(s->have & (1u << (e->tag & 3)))) {
        s->have |= 1u << (e->tag & 3); /* the first one, as the engine's lookups find it */
        s->attr[e->tag & 3] = v;
    } else if (grp >= 0x6000u && grp <= 0x601Eu && !(grp & 1)) {
        if (el == 0x0102u && u16 && !(s->has_pos & (1u << g))) {
            s->has_pos |= 1u << g;
            s->pos[g] = v;
        } else if (el == 0x3000u) {
            s->has_data |= 1u << g;
        }
    } else if (e->tag == 0x7FE00010u) {
        s->native = !e->is_sequence && e->length != 0xFFFFFFFFu;
    }
    return 0;
}

/* Bit mask of the planes inst embeds (see dv_invariants.h); by_group[g] the plane of group 0x6000 + 2g or -1.
 * 0 when the pixel attributes cannot be read. */
static uint64_t embedded_planes(const dv_instance *inst, int by_group[16])
{
    ovl_scan s;
    memset(&s, 0, sizeof s);
    s.be = strcmp(dv_instance_transfer_syntax(inst), "1.2.840.10008.1.2.2") == 0;
    for (int g = 0; g < 16; g++)
        by_group[g] = -1;
    (void)dv_instance_visit(inst, ovl_visit, &s);
    int ba = s.attr[0], bs = s.attr[1], hb = s.attr[2];
    if (!s.native || s.have != 7 || ba == 0 || ba % 8 || ba > 64 || bs == 0)
        return 0;
    uint64_t planes = 0;
    for (int g = 0; g < 16; g++) {
        int p = s.pos[g];
        if (!(s.has_pos & (1u << g)) || (s.has_data & (1u << g)) || p >= ba || (p >= hb - bs + 1 && p <= hb))
            continue;
        by_group[g] = p;
        planes |= (uint64_t)1 << p;
    }
    return planes;
}

/* The promise: the planes of the input's embedded overlays that the output no longer declares are all zero. */
static int check_overlay_planes(uint64_t planes, const int gin[16], const dv_instance *out, dvi_outcome *o)
{
    int gout[16];
    uint64_t still = embedded_planes(out, gout), gone = 0;
    ovl_scan os;
    memset(&os, 0, sizeof os);
    os.be = strcmp(dv_instance_transfer_syntax(out), "1.2.840.10008.1.2.2") == 0;
    (void)dv_instance_visit(out, ovl_visit, &os);
    for (int g = 0; g < 16; g++)
        if (gin[g] >= 0 && !(os.has_pos & (1u << g)))
            gone |= (uint64_t)1 << gin[g];
    gone &= planes & ~still;
    unsigned ba = os.attr[0];
    if (!gone || !os.native || !(os.have & 1) || ba == 0 || ba % 8 || ba > 64)
        return 0;
    dv_error err;
    memset(&err, 0, sizeof err);
    dv_frames *f = dv_frames_index(out, &err);
    if (!f) /* the input's frames were read to clear them; the output's attributes are the input's */
        return violate(o, "embedded overlay planes 0x%llX to check, but the output's frames: %s",
                       (unsigned long long)gone, err.message);
    int rc = 0;
    uint64_t size = dv_frames_size(f, 0), unit = ba / 8u;
    uint8_t *buf = dv_frames_encapsulated(f) ? NULL : malloc(size ? (size_t)size : 1);
    for (uint32_t i = 0; buf && rc == 0 && i < dv_frames_count(f); i++) {
        if (dv_frames_read(out, f, i, buf, size, &err) != 0)
            break;
        for (uint64_t k = 0; k + unit <= size && rc == 0; k += unit)
            for (uint64_t b = 0; b < unit && rc == 0; b++)
                if (buf[k + b] & (uint8_t)(gone >> (8 * b)))
                    rc = violate(o, "frame %u sample %llu keeps a bit of embedded overlay planes 0x%llX whose "
                                 "group was removed", i, (unsigned long long)(k / unit), (unsigned long long)gone);
    }
    free(buf);
    dv_frames_free(f);
    return rc;
}

int dvi_check_deidentify(const dv_plan *plan, const dv_key *key, const uint8_t *data, size_t size,
                         const dv_limits *lim, size_t sink_cap, dvi_outcome *o)
{
    memset(o, 0, sizeof *o);
    dv_mem_source ms;
    dv_instance *inst = read_bytes(&ms, data, size, lim, &o->err);
    if (inst == NULL) {
        o->stage = DVI_READ_FAILED;
        return check_refusal(o, "read", &o->err, dvi_read_class_ok);
    }
    valueset in = { 0 };
    collect_input(&in, inst, data, size, lim);
    int rc = 0;
    dv_result res;
    dv_result_init(&res);
    dv_mem_sink out = { 0 };
    int gin[16]; /* the embedded overlay planes by this check's own reading, for the promise on the output */
    uint64_t in_planes = embedded_planes(inst, gin);
    if (in.oom) {
        o->stage = DVI_READ_FAILED; /* the check itself ran out of memory: nothing to conclude */
        o->err.code = DV_ERR_NOMEM;
        snprintf(o->err.message, sizeof o->err.message, "out of memory collecting the input's values");
    } else if (dv_apply(plan, key, inst, &res, &o->err) != 0) {
        /* the public path: the plan, then codestream metadata, bytes past the last frame and embedded overlay
         * planes (dv_pixel_container_clean), as a run does */
        o->stage = DVI_APPLY_FAILED;
        rc = check_refusal(o, "dv_apply", &o->err, apply_class_ok);
    } else if (write_capped(inst, &out, sink_cap, &o->err) != 0) {
        o->stage = DVI_WRITE_FAILED;
        rc = check_refusal(o, "write", &o->err, dvi_write_class_ok);
    } else {
        o->stage = DVI_WRITTEN;
        dv_limits chk;
        check_limits(&chk, lim);
        dv_error err2;
        memset(&err2, 0, sizeof err2);
        dv_mem_source ms2;
        dv_instance *again = read_bytes(&ms2, out.data, out.len, &chk, &err2);
        if (again == NULL) {
            if (err2.code != DV_ERR_LIMIT && err2.code != DV_ERR_NOMEM)
                rc = violate(o, "the de-identified output does not read back (%s: %s)", dv_code_name(err2.code),
                             err2.message);
        } else {
            rc = check_output(again, &res, &in, o);
            if (rc == 0 && in_planes)
                rc = check_overlay_planes(in_planes, gin, again, o);
            dv_instance_free(again);
        }
    }
    dv_mem_sink_free(&out);
    free(in.h);
    dv_instance_free(inst);
    return rc;
}

int dvi_boxes_same(const dv_boxes *a, const dv_boxes *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++) {
        int hit = 0;
        for (size_t j = 0; j < b->n && !hit; j++)
            hit = memcmp(&a->v[i], &b->v[j], sizeof(dv_box)) == 0;
        if (!hit)
            return 0;
    }
    return 1;
}
