/* Pixel data's containers (dv_pixel_container.h). The codestream walk is image/codestream_meta.c; this file
 * finds the values to walk, lists their fragments and turns what the walk reports into the writer's patches
 * (dicom/patch.c), so that the pixel data is still copied from its source, never held whole in memory. The one
 * exception is native pixel data with an embedded overlay plane to clear: its frames are read, cleared and
 * put back (only such instances pay). */
#include "engine/dv_pixel_container.h"

#include <stdlib.h>
#include <string.h>

#include "dicomveil/dv_frames.h"
#include "dicom/dv_ds.h"
#include "dict/dv_tags.h"
#include "image/dv_codestream_meta.h"
#include "image/dv_image.h"
#include "util/dv_grow.h"

typedef struct frags {
    const dv_instance *inst;
    dv_cs_frag *v;
    size_t n, cap;
    uint64_t bot, bot_len; /* the Basic Offset Table's value: its offset in the source, its length */
    dv_error *err;
} frags;

static int add_frag(void *user, uint32_t k, uint64_t header, uint64_t value, uint32_t len)
{
    (void)header;
    frags *f = user;
    if (k == 0) { /* the Basic Offset Table */
        f->bot = value;
        f->bot_len = len;
        return 0;
    }
    if ((f->n + 1) * sizeof *f->v > f->inst->limits.max_metadata_bytes)
        return dv_fail(f->err, DV_ERR_LIMIT, "more fragments than the metadata cap holds");
    if (dv_grow(&f->v, &f->cap, f->n + 1, sizeof *f->v, 64) != 0)
        return dv_fail(f->err, DV_ERR_NOMEM, "out of memory (fragments)");
    f->v[f->n].offset = value;
    f->v[f->n].length = len;
    f->n++;
    return 0;
}

typedef struct patcher {
    dv_instance *inst;
    const dv_elem *e;
    uint64_t start; /* the value's offset in its source */
    dv_error *err;
} patcher;

static int add_patch(void *user, uint64_t src_off, uint64_t len, const uint8_t *lit, unsigned nlit)
{
    patcher *p = user;
    return dv_instance_add_patch(p->inst, p->e, src_off - p->start, len, lit, nlit, p->err);
}

/* The first fragment of each frame of the top-level PixelData, from its offset tables (dv_frames.h): *first
 * malloc'd (the caller frees), NULL when they cannot be told (the walk then goes by the codestreams' markers). */
static uint32_t frame_starts(const dv_instance *inst, const dv_elem *e, uint32_t nfrags, uint32_t **first)
{
    *first = NULL;
    if (dv_ds_find(&inst->ds, DV_TAG_PIXEL_DATA) != e)
        return 0;
    dv_error ignored;
    dv_frames *f = dv_frames_index(inst, &ignored);
    uint32_t n = f ? dv_frames_count(f) : 0;
    if (!f || dv_frames_fragment_count(f) != nfrags || !(*first = malloc((size_t)n * sizeof **first)))
        n = 0;
    for (uint32_t i = 0, c; i < n; i++)
        if (dv_frames_frame_fragments(f, i, &(*first)[i], &c) != 0)
            n = 0;
    dv_frames_free(f);
    if (n == 0) {
        free(*first);
        *first = NULL;
    }
    return n;
}

/* 1 when the Basic Offset Table holds offsets only (PS3.5 A.4): empty, or 32-bit entries, the first 0, strictly
 * ascending, each the distance from the first fragment's item header to another's (a merge walk: both lists
 * ascend). Anything else is no table a reader uses, and may hold anything (a name, an ID); 0 on a read error. */
static int bot_is_offsets(const dv_source *src, const frags *f)
{
    if (f->bot_len == 0)
        return 1;
    if (f->bot_len % 4 || f->n == 0)
        return 0;
    uint8_t b[4096];
    size_t k = 0;
    for (uint64_t at = 0; at < f->bot_len; at += sizeof b) {
        size_t n = f->bot_len - at < sizeof b ? (size_t)(f->bot_len - at) : sizeof b;
        if (src->read_at(src->ctx, f->bot + at, b, n) != 0)
            return 0;
        for (size_t i = 0; i < n; i += 4) {
            uint64_t off = (uint64_t)b[i] | (uint64_t)b[i + 1] << 8 | (uint64_t)b[i + 2] << 16 |
                           (uint64_t)b[i + 3] << 24;
            if (at + i == 0 && off != 0)
                return 0;
            while (k < f->n && f->v[k].offset - f->v[0].offset < off)
                k++;
            if (k == f->n || f->v[k].offset - f->v[0].offset != off)
                return 0;
            k++; /* strictly ascending: the next entry needs a later fragment */
        }
    }
    return 1;
}

/* The bytes one RLE segment decodes to: Rows x Columns of the dataset that holds the value (an icon's own, in
 * its item); 0 when either is missing or zero. */
static uint64_t rle_plane(const dv_instance *inst, const dv_ds *ds)
{
    uint16_t rows, cols;
    if (dv_ds_get_u16(inst, ds, DV_TAG_ROWS, &rows) != 0 || dv_ds_get_u16(inst, ds, DV_TAG_COLUMNS, &cols) != 0)
        return 0;
    return (uint64_t)rows * cols;
}

static int clean_value(dv_instance *inst, dv_cs_family fam, const dv_ds *ds, const dv_elem *e, frags *f,
                       dv_error *err)
{
    uint64_t start;
    const dv_source *src = dv_elem_source(inst, e, &start);
    if (!src || start > src->size || e->length > src->size - start)
        return dv_fail(err, DV_ERR_MALFORMED, "encapsulated " TAGF " passes the end of its source", TAGA(e->tag));
    f->n = 0;
    if (dv_encapsulated_items(src, e->tag, start, start + e->length, add_frag, f, err) != 0)
        return -1;
    if (f->n > UINT32_MAX)
        return dv_fail(err, DV_ERR_LIMIT, "too many fragments in " TAGF, TAGA(e->tag));
    patcher p = {inst, e, start, err};
    /* every encapsulated syntax, walked or not: the table comes first, so its patch precedes the walk's */
    if (!bot_is_offsets(src, f) && add_patch(&p, f->bot, f->bot_len, NULL, 0) != 0)
        return -1;
    if (fam == DV_CS_NONE)
        return 0;
    uint32_t *first;
    uint32_t nframes = frame_starts(inst, e, (uint32_t)f->n, &first);
    int rc = fam == DV_CS_RLE
                 ? dv_rle_clean(src, f->v, (uint32_t)f->n, first, nframes, rle_plane(inst, ds), add_patch, &p, err)
                 : dv_codestream_clean(fam, src, f->v, (uint32_t)f->n, first, nframes, add_patch, &p, err);
    free(first);
    return rc;
}

/* 1 when the Extended Offset Table Lengths (its value: n little-endian 64-bit lengths) give each frame of f the
 * length of its compressed data: its fragments' bytes, less the pad byte an odd-length frame takes. */
static int eot_lengths_match(const dv_instance *inst, const dv_frames *f, const dv_elem *lengths)
{
    uint32_t n = dv_frames_count(f);
    if (lengths->length != 8 * (uint64_t)n)
        return 0;
    uint8_t *v = malloc(lengths->length ? (size_t)lengths->length : 1);
    int ok = v && dv_elem_read_value(inst, lengths, v, lengths->length) == 0;
    for (uint32_t i = 0; ok && i < n; i++) {
        uint64_t want = 0, sum = 0, off, len;
        for (int b = 7; b >= 0; b--)
            want = want << 8 | v[8 * (size_t)i + (size_t)b];
        uint32_t first, count;
        ok = dv_frames_frame_fragments(f, i, &first, &count) == 0;
        for (uint32_t k = 0; ok && k < count; k++) {
            ok = dv_frames_fragment(f, first + k, &off, &len) == 0;
            sum += len;
        }
        ok = ok && (want == sum || want + 1 == sum);
    }
    free(v);
    return ok;
}

/* The Extended Offset Table (7FE0,0001) and its lengths (7FE0,0002) index the frames (PS3.5 A.4, PS3.3
 * C.7.6.3): offsets the frame index reads as such (the first 0, ascending, each on a fragment's item header,
 * one a frame) and each frame's length. A pair that is not is used by no reader that works and may hold
 * anything (`Zyxwv^Quentin ZQ4471339` came out as it went in): both are removed. They are Type 3, and readers
 * then find the frames from the Basic Offset Table or the fragments, as without them. An empty pair is kept. */
static void drop_lying_eot(dv_instance *inst)
{
    dv_elem *eot = NULL, *lengths = NULL; /* one pass for both: every instance pays it */
    for (dv_elem *e = inst->ds.first; e; e = e->next)
        if ((e->tag >> 16) == 0x7FE0u) {
            if (e->tag == DV_TAG_EXTENDED_OFFSET_TABLE)
                eot = e;
            else if (e->tag == DV_TAG_EXTENDED_OFFSET_TABLE_LENGTHS)
                lengths = e;
        }
    if ((!eot || eot->length == 0) && (!lengths || lengths->length == 0))
        return;
    int ok = 0;
    if (eot && lengths && !(eot->flags & DV_ELEM_SEQUENCE) && !(lengths->flags & DV_ELEM_SEQUENCE)) {
        dv_error ignored;
        dv_frames *f = dv_frames_index(inst, &ignored);
        ok = f && dv_frames_how(f) == DV_FRAMES_EOT && eot_lengths_match(inst, f, lengths);
        dv_frames_free(f);
    }
    if (!ok) {
        if (eot)
            dv_ds_remove(&inst->ds, eot);
        if (lengths)
            dv_ds_remove(&inst->ds, lengths);
    }
}

static int clean_ds(dv_instance *inst, dv_cs_family fam, const dv_ds *ds, frags *f, dv_error *err)
{
    for (const dv_elem *e = ds->first; e; e = e->next) {
        if ((e->flags & DV_ELEM_ENCAPSULATED) && clean_value(inst, fam, ds, e, f, err) != 0)
            return -1;
        if (e->flags & DV_ELEM_SEQUENCE)
            for (const dv_item *it = e->items; it; it = it->next)
                if (clean_ds(inst, fam, &it->ds, f, err) != 0)
                    return -1;
    }
    return 0;
}

/* ---- overlay planes embedded in native pixel data ---- */

#define OVERLAY_GROUPS 16u
#define OVERLAY_BIT_POSITION(g) ((((uint32_t)0x6000u + 2u * (g)) << 16) | 0x0102u)

/* The top-level PixelData when it is native (the only place an overlay can be embedded), else NULL. */
static const dv_elem *native_pixel_data(const dv_instance *inst)
{
    const dv_elem *px = inst->ds.last;
    if (!px || px->tag != DV_TAG_PIXEL_DATA)
        px = dv_ds_find(&inst->ds, DV_TAG_PIXEL_DATA);
    return px && !(px->flags & (DV_ELEM_SEQUENCE | DV_ELEM_ENCAPSULATED)) ? px : NULL;
}

/* The bit planes that hold no image value: below BitsAllocated and outside [HighBit - BitsStored + 1,
 * HighBit]. A HighBit that cannot be read (absent, or written with another VR: a plan may then have removed it as
 * a name) is BitsStored - 1, as the Image Pixel module requires and viewers read it; otherwise an overlay embedded
 * above the stored bits kept its burned text once its group was removed (fuzz_deidentify, stop 37). 0 when
 * BitsAllocated or BitsStored cannot be read (then no plane is told apart from the image). */
static uint64_t unused_planes(const dv_instance *inst)
{
    uint16_t alloc, stored, high;
    if (dv_ds_get_u16(inst, &inst->ds, DV_TAG_BITS_ALLOCATED, &alloc) != 0 ||
        dv_ds_get_u16(inst, &inst->ds, DV_TAG_BITS_STORED, &stored) != 0 || alloc == 0 || alloc % 8 || alloc > 64 ||
        stored == 0)
        return 0;
    if (dv_ds_get_u16(inst, &inst->ds, DV_TAG_HIGH_BIT, &high) != 0)
        high = (uint16_t)(stored - 1u);
    uint64_t all = alloc == 64 ? UINT64_MAX : ((uint64_t)1 << alloc) - 1;
    unsigned lo = high + 1u >= stored ? high + 1u - stored : 0;
    uint64_t image = 0;
    for (unsigned b = lo; b <= high && b < 64; b++)
        image |= (uint64_t)1 << b;
    return all & ~image;
}

/* The planes an embedded overlay may be told apart in when the Image Pixel attributes contradict each other: a
 * BitsStored over BitsAllocated, a HighBit not below BitsAllocated, below BitsStored - 1, or unreadable beside a
 * BitsStored under BitsAllocated. Then which bits hold image values is a guess, and a removed overlay's plane
 * below BitsAllocated is cleared whatever the guess (privacy first: its burned text outweighs a malformed image's
 * bits; fuzz_deidentify, stop 43: BitsStored 31244 with HighBit 11 written as PN kept overlay bit 15). 0 when the
 * attributes agree (unused_planes decides) or BitsAllocated cannot be read. */
static uint64_t unsure_planes(const dv_instance *inst)
{
    uint16_t alloc, stored, high;
    if (dv_ds_get_u16(inst, &inst->ds, DV_TAG_BITS_ALLOCATED, &alloc) != 0 || alloc == 0 || alloc % 8 || alloc > 64)
        return 0;
    uint64_t all = alloc == 64 ? UINT64_MAX : ((uint64_t)1 << alloc) - 1;
    if (dv_ds_get_u16(inst, &inst->ds, DV_TAG_BITS_STORED, &stored) != 0 || stored == 0 || stored > alloc)
        return all;
    if (dv_ds_get_u16(inst, &inst->ds, DV_TAG_HIGH_BIT, &high) != 0)
        return dv_ds_find(&inst->ds, DV_TAG_HIGH_BIT) && stored < alloc ? all : 0;
    return high >= alloc || high + 1u < stored ? all : 0;
}

void dv_pixel_container_overlays(const dv_instance *inst, dv_overlay_planes *ov)
{
    memset(ov, 0, sizeof *ov);
    /* One pass, no early exit (a hostile file may store elements out of order): which of groups 6000-601E
     * have an OverlayBitPosition, which an OverlayData. */
    uint32_t pos = 0, data = 0;
    for (const dv_elem *e = inst->ds.first; e; e = e->next) {
        uint32_t rel = e->tag - 0x60000000u;
        if (rel >= 0x00200000u || (rel & 0x00010000u)) /* not 6000-601F, or an odd (private) group */
            continue;
        uint32_t g = 1u << (rel >> 17);
        if ((rel & 0xFFFFu) == 0x0102u)
            pos |= g;
        else if ((rel & 0xFFFFu) == 0x3000u)
            data |= g;
    }
    uint32_t cand = pos & ~data; /* an overlay with OverlayData has its bits there, not in the pixels */
    uint64_t unused = cand && native_pixel_data(inst) ? unused_planes(inst) | unsure_planes(inst) : 0;
    for (unsigned g = 0; unused && g < OVERLAY_GROUPS; g++) {
        uint16_t p;
        if ((cand & (1u << g)) && dv_ds_get_u16(inst, &inst->ds, OVERLAY_BIT_POSITION(g), &p) == 0 && p < 64 &&
            (unused >> p & 1)) {
            ov->groups |= (uint16_t)(1u << g);
            ov->plane[g] = (uint8_t)p;
        }
    }
}

/* The planes groups still in the instance declare. */
static uint64_t declared_now(const dv_instance *inst)
{
    dv_overlay_planes now;
    dv_pixel_container_overlays(inst, &now);
    uint64_t kept = 0;
    for (unsigned g = 0; g < OVERLAY_GROUPS; g++)
        if (now.groups & (1u << g))
            kept |= (uint64_t)1 << now.plane[g];
    return kept;
}

/* The planes to clear now: those of groups the plan removed (after the pixel stage: every one outside the stored
 * bits, ov->all_unused), less any a group still in the instance declares (a kept overlay keeps its bits), and
 * never one the instance's attributes now say holds image values. */
static uint64_t planes_to_clear(const dv_instance *inst, const dv_overlay_planes *ov)
{
    if (ov->all_unused)
        return native_pixel_data(inst) ? unused_planes(inst) & ~declared_now(inst) : 0;
    uint64_t gone = 0, kept = 0;
    for (unsigned g = 0; g < OVERLAY_GROUPS; g++) {
        if (!(ov->groups & (1u << g)))
            continue;
        uint64_t bit = (uint64_t)1 << ov->plane[g];
        if (dv_ds_find(&inst->ds, OVERLAY_BIT_POSITION(g)))
            kept |= bit;
        else
            gone |= bit;
    }
    gone &= ~kept;
    return gone && native_pixel_data(inst) ? gone & (unused_planes(inst) | unsure_planes(inst)) : 0;
}

static void release_free(void *user, void *data)
{
    (void)user;
    free(data);
}

/* Clear planes in every sample of len bytes of little-endian samples of unit (1, 2, 4 or 8) bytes. Eight bytes
 * at a time (a unit divides 8, so the mask of one sample repeats across the word): ~1 instruction a byte. */
static void clear_bits(uint8_t *p, uint64_t len, unsigned unit, uint64_t planes)
{
    uint8_t keep[8];
    for (unsigned b = 0; b < 8; b++)
        keep[b] = (uint8_t)~(planes >> (8 * (b % unit)));
    uint64_t word;
    memcpy(&word, keep, 8); /* the bytes in memory order, whatever the host's */
    uint64_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        v &= word;
        memcpy(p + i, &v, 8);
    }
    for (; i < len; i++)
        p[i] &= keep[i % 8];
}

/* Signed samples (PixelRepresentation 1) of unit bytes: the planes above bit high become copies of it (the
 * sign extension the decoders read them as, which says nothing more than the stored bits), the others 0. */
static void sign_extend_bits(uint8_t *p, uint64_t len, unsigned unit, uint64_t planes, unsigned high)
{
    uint64_t above = high >= 63 ? 0 : planes & ~(((uint64_t)2 << high) - 1);
    for (uint64_t i = 0; i + unit <= len; i += unit) {
        uint64_t v = 0;
        for (unsigned b = 0; b < unit; b++)
            v |= (uint64_t)p[i + b] << (8 * b);
        v = (v & ~planes) | ((v >> high & 1) ? above : 0);
        for (unsigned b = 0; b < unit; b++)
            p[i + b] = (uint8_t)(v >> (8 * b));
    }
}

/* 1 when the signed-sample rule applies (PixelRepresentation 1; HighBit as unused_planes reads it in *high). */
static int signed_samples(const dv_instance *inst, unsigned *high)
{
    uint16_t pr, stored, h;
    if (dv_ds_get_u16(inst, &inst->ds, DV_TAG_PIXEL_REPRESENTATION, &pr) != 0 || pr != 1 ||
        dv_ds_get_u16(inst, &inst->ds, DV_TAG_BITS_STORED, &stored) != 0 || stored == 0)
        return 0;
    if (dv_ds_get_u16(inst, &inst->ds, DV_TAG_HIGH_BIT, &h) != 0)
        h = (uint16_t)(stored - 1u);
    *high = h;
    return h < 64;
}

/* 1 when clearing planes changes a sample of len bytes (signed samples: their sign extension). */
static int changes(const dv_instance *inst, const uint8_t *p, uint64_t len, unsigned unit, uint64_t planes)
{
    unsigned high;
    int sgn = signed_samples(inst, &high);
    uint64_t above = !sgn || high >= 63 ? 0 : planes & ~(((uint64_t)2 << high) - 1);
    for (uint64_t i = 0; i + unit <= len; i += unit) {
        uint64_t v = 0;
        for (unsigned b = 0; b < unit; b++)
            v |= (uint64_t)p[i + b] << (8 * b);
        if ((v & planes) != ((sgn && (v >> high & 1)) ? above : 0))
            return 1;
    }
    return 0;
}

/* Read every frame (little endian whatever the input's order), clear the planes, replace the PixelData with
 * the result. Held whole in memory, so capped like the pixel stage's frames: DV_ERR_LIMIT past the image
 * limits rather than an allocation without bound. all_unused: the pixel stage's rule (signed samples
 * sign-extended; nothing replaced when no sample changes). */
static int clear_planes(dv_instance *inst, uint64_t planes, int all_unused, dv_error *err)
{
    uint16_t alloc;
    if (dv_ds_get_u16(inst, &inst->ds, DV_TAG_BITS_ALLOCATED, &alloc) != 0 || alloc == 0 || alloc % 8 || alloc > 64)
        return dv_fail(err, DV_ERR_MALFORMED, "an embedded overlay plane to clear, but no usable BitsAllocated");
    dv_frames *f = dv_frames_index(inst, err);
    if (!f)
        return -1;
    dv_image_limits lim;
    dv_image_limits_default(&lim);
    uint32_t n = dv_frames_count(f);
    uint64_t fsize = dv_frames_size(f, 0);
    uint64_t total = fsize * n, len = total + (total & 1); /* below 2^45 within the caps: no overflow */
    if (fsize > lim.max_frame_bytes || n > lim.max_frames || len > 0xFFFFFFFEu || len > SIZE_MAX) {
        dv_frames_free(f);
        return dv_fail(err, DV_ERR_LIMIT, "pixel data with an embedded overlay to clear passes %u frames, "
                       "%llu bytes a frame or 4 GiB", lim.max_frames, (unsigned long long)lim.max_frame_bytes);
    }
    uint8_t *out = calloc(1, (size_t)len);
    if (!out) {
        dv_frames_free(f);
        return dv_fail(err, DV_ERR_NOMEM, "out of memory (%llu bytes of pixel data)", (unsigned long long)len);
    }
    for (uint32_t i = 0; i < n; i++)
        if (dv_frames_read(inst, f, i, out + fsize * i, fsize, err) != 0) {
            dv_frames_free(f);
            free(out);
            return -1;
        }
    dv_frames_free(f); /* it refers to the value about to be replaced */
    unsigned high;
    if (all_unused && !changes(inst, out, total, alloc / 8u, planes)) {
        free(out);
        return 0;
    }
    if (all_unused && signed_samples(inst, &high))
        sign_extend_bits(out, total, alloc / 8u, planes, high);
    else
        clear_bits(out, total, alloc / 8u, planes); /* frames are whole samples: total is a multiple of the unit */
    if (dv_instance_set_pixel_data_native(inst, alloc > 8, out, len, release_free, NULL, err) != 0) {
        free(out);
        return -1;
    }
    /* The new value is little endian: an explicit VR big endian instance is written little endian, as the
     * pixel stage does (big endian is retired and never written). */
    if (strcmp(dv_instance_transfer_syntax(inst), DV_TS_UID_EXPLICIT_BE) == 0)
        return dv_instance_set_transfer_syntax(inst, DV_TS_UID_EXPLICIT_LE, err);
    return 0;
}

int dv_pixel_container_clean(dv_instance *inst, const dv_overlay_planes *ov, dv_error *err)
{
    /* Native: overlay planes of removed overlays, embedded in bits outside the stored ones. A viewer shows no
     * such bit, yet any tool reading the raw values does: overlay text is where names and IDs were burned. */
    uint64_t planes = ov && (ov->groups || ov->all_unused) ? planes_to_clear(inst, ov) : 0;
    if (planes && clear_planes(inst, planes, ov->all_unused, err) != 0)
        return -1;
    /* Native: bytes past the last frame are no pixel a viewer shows, and may be anything (a buffer's old
     * contents). The value is cut to its frames (the writer pads an odd length). */
    uint64_t need;
    dv_elem *px = dv_native_pixels(inst, &need);
    if (px && need && px->length > need + (need & 1))
        px->length = need;
    /* Encapsulated: offset tables that are no offsets under every encapsulated syntax (RLE, video ... too);
     * codestream metadata under the syntaxes whose codestreams are walked (fam, else DV_CS_NONE). */
    dv_cs_family fam = dv_cs_family_of(dv_instance_transfer_syntax(inst));
    const dv_elem *top = inst->ds.last && inst->ds.last->tag == DV_TAG_PIXEL_DATA ? inst->ds.last
                                                                                 : dv_ds_find(&inst->ds, DV_TAG_PIXEL_DATA);
    drop_lying_eot(inst); /* native pixel data too: a table there indexes nothing */
    if (fam == DV_CS_NONE && !(top && (top->flags & DV_ELEM_ENCAPSULATED)))
        return 0;
    frags f = {inst, NULL, 0, 0, 0, 0, err};
    int rc = clean_ds(inst, fam, &inst->ds, &f, err);
    free(f.v);
    return rc;
}
