/* Pixel data as frames: the fragment / offset-table / frame index (PS3.5 A.4), native frame geometry and frame
 * reads (issue 5 item 5). Replacing the pixel data is pixeldata.c, byte order byteorder.c.
 *
 * Hostile input is normal input: the index only trusts what it can check against the pixel data element
 * itself. Fragment headers are walked within the element, offset tables must land exactly on fragment starts
 * in ascending order, a frame count must match the fragments (or the native value length), and the fragment
 * table is allocated only after its size was checked against the instance's metadata cap.
 * [test_frames: test_bot, test_eot, test_markers_split, test_number_of_frames_hostile,
 *  test_fragment_cap_and_lying_external, test_native, test_corpus] */
#include "dv_ds.h"
#include "dv_vr.h"
#include "dicomveil/dv_frames.h"
#include "../dict/dv_tags.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct frag {
    uint64_t offset; /* of the value (after the 8-byte item header) in the source */
    uint64_t length;
    uint64_t rel;    /* offset of the item header from the first fragment's item header (offset tables) */
} frag;

struct dv_frames {
    dv_frames_method how;
    uint32_t nframes;
    const dv_elem *px;
    /* encapsulated */
    const dv_source *src;
    frag *frags;
    uint32_t nfrags;
    uint32_t *first; /* nframes + 1 entries: frame i is fragments [first[i], first[i + 1]) */
    /* native */
    dv_mem_source inline_ms; /* a small inline value (Float Pixel Data under the inline threshold) */
    dv_source inline_src;
    uint64_t px_offset;
    uint64_t frame_bits;
    unsigned swap_unit; /* > 1: stored big endian, swapped to little endian on read */
};

static uint32_t le32(const uint8_t *p)
{
    return p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t le64(const uint8_t *p)
{
    return le32(p) | ((uint64_t)le32(p + 4) << 32);
}

static long frames_of(const dv_elem *e);

/* NumberOfFrames (IS): 1 when absent or empty; -1 when it is not a positive integer below 2^31. */
static long number_of_frames(const dv_instance *inst)
{
    return frames_of(dv_ds_find(&inst->ds, DV_TAG_NUMBER_OF_FRAMES));
}

static const dv_elem *pixel_elem(const dv_instance *inst)
{
    static const uint32_t tags[] = {DV_TAG_PIXEL_DATA, DV_TAG_FLOAT_PIXEL_DATA, DV_TAG_DOUBLE_FLOAT_PIXEL_DATA};
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
        const dv_elem *e = dv_ds_find(&inst->ds, tags[i]);
        if (e && !(e->flags & DV_ELEM_SEQUENCE))
            return e;
    }
    return NULL;
}

/* --- encapsulated --- */

int dv_encapsulated_items(const dv_source *src, uint32_t tag, uint64_t start, uint64_t end, dv_item_fn fn,
                          void *user, dv_error *err)
{
    uint64_t pos = start;
    for (uint32_t k = 0;; k++) {
        uint8_t h[8];
        if (end < pos || end - pos < 8 || src->read_at(src->ctx, pos, h, 8) != 0)
            return dv_fail(err, DV_ERR_MALFORMED, "encapsulated " TAGF " truncated at item %u", TAGA(tag), k);
        uint32_t t = ((uint32_t)(h[0] | (h[1] << 8)) << 16) | (uint32_t)(h[2] | (h[3] << 8));
        uint32_t len = le32(h + 4);
        if (t == DV_TAG_SEQ_DELIM)
            return 0;
        if (t != DV_TAG_ITEM || len == DV_UNDEFINED_LENGTH || len > end - pos - 8)
            return dv_fail(err, DV_ERR_MALFORMED, "encapsulated " TAGF ": bad item header at item %u", TAGA(tag), k);
        if (k == UINT32_MAX)
            return dv_fail(err, DV_ERR_LIMIT, "encapsulated " TAGF ": too many fragments", TAGA(tag));
        if (fn(user, k, pos, pos + 8, len) != 0)
            return -1;
        pos += 8 + (uint64_t)len;
    }
}

typedef struct walk_ctx {
    dv_frames *f;
    uint64_t *bot_off, *bot_len, first_item;
    uint32_t k;
    int count;
} walk_ctx;

static int walk_one(void *user, uint32_t item, uint64_t header, uint64_t value, uint32_t len)
{
    walk_ctx *w = user;
    if (item == 0) {
        *w->bot_off = value;
        *w->bot_len = len;
        w->first_item = value + len;
        return 0;
    }
    if (!w->count) {
        w->f->frags[w->k].offset = value;
        w->f->frags[w->k].length = len;
        w->f->frags[w->k].rel = header - w->first_item;
    }
    w->k++;
    return 0;
}

/* Walk the items once (count = 1) or fill f->frags (count = 0). The first item is the Basic Offset Table. */
static int walk_items(dv_frames *f, uint64_t start, uint64_t end, uint64_t *bot_off, uint64_t *bot_len,
                      uint32_t *nfrags, int count, dv_error *err)
{
    walk_ctx w = {f, bot_off, bot_len, UINT64_MAX, 0, count};
    if (dv_encapsulated_items(f->src, f->px->tag, start, end, walk_one, &w, err) != 0)
        return -1;
    if (w.first_item == UINT64_MAX)
        return dv_fail(err, DV_ERR_MALFORMED, "encapsulated " TAGF " has no offset table item", TAGA(f->px->tag));
    *nfrags = w.k;
    return 0;
}

/* frame i starts at the fragment whose item header is at rel offset table[i]: offsets strictly ascending, the
 * first 0, each exactly on a fragment start (a merge walk: both lists are ascending). */
static int frames_from_offsets(dv_frames *f, const uint64_t *table, uint32_t n, const char *what, dv_error *err)
{
    if (n != f->nframes)
        return dv_fail(err, DV_ERR_MALFORMED, "%s has %u entries, NumberOfFrames says otherwise", what, n);
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i == 0 ? table[0] != 0 : table[i] <= table[i - 1])
            return dv_fail(err, DV_ERR_MALFORMED, "%s entry %u is out of order", what, i);
        while (k < f->nfrags && f->frags[k].rel < table[i])
            k++;
        if (k == f->nfrags || f->frags[k].rel != table[i])
            return dv_fail(err, DV_ERR_MALFORMED, "%s entry %u is not on a fragment", what, i);
        f->first[i] = k;
    }
    f->first[n] = f->nfrags;
    return 0;
}

/* Does this fragment begin a frame of the codec? JPEG family: SOI FFD8; JPEG 2000 / HTJ2K: SOC FF4F or the
 * JP2 signature box; JPEG XL: FF0A or its signature box. For other syntaxes any of them counts. */
static int starts_frame(dv_frames *f, const char *ts, const frag *fr)
{
    static const uint8_t jp2[12] = {0, 0, 0, 0x0C, 'j', 'P', ' ', ' ', 0x0D, 0x0A, 0x87, 0x0A};
    static const uint8_t jxl[12] = {0, 0, 0, 0x0C, 'J', 'X', 'L', ' ', 0x0D, 0x0A, 0x87, 0x0A};
    uint8_t b[12];
    size_t n = fr->length < sizeof b ? (size_t)fr->length : sizeof b;
    if (n < 2 || f->src->read_at(f->src->ctx, fr->offset, b, n) != 0)
        return 0;
    int jpeg = b[0] == 0xFF && b[1] == 0xD8;
    int j2k = (b[0] == 0xFF && b[1] == 0x4F) || (n == 12 && !memcmp(b, jp2, 12));
    int jxl_start = (b[0] == 0xFF && b[1] == 0x0A) || (n == 12 && !memcmp(b, jxl, 12));
    const char *p = "1.2.840.10008.1.2.4.";
    if (!strncmp(ts, p, strlen(p))) {
        int v = atoi(ts + strlen(p));
        if ((v >= 90 && v <= 93) || (v >= 201 && v <= 203))
            return j2k;
        if (v >= 50 && v <= 81)
            return jpeg;
        if (v >= 110 && v <= 112)
            return jxl_start || (v == 111 && jpeg); /* .111: JPEG XL recompressed JPEG */
    }
    return jpeg || j2k || jxl_start;
}

static int frames_from_markers(dv_frames *f, const char *ts, dv_error *err)
{
    uint32_t i = 0;
    for (uint32_t k = 0; k < f->nfrags; k++) {
        if (!starts_frame(f, ts, &f->frags[k])) {
            if (k == 0)
                break;
            continue;
        }
        if (i == f->nframes) {
            i++;
            break;
        }
        f->first[i++] = k;
    }
    if (i != f->nframes)
        return dv_fail(err, DV_ERR_MALFORMED, "encapsulated " TAGF ": %u fragments hold %s frames than NumberOfFrames "
                       "and no offset table tells them apart", TAGA(f->px->tag), f->nfrags,
                       i < f->nframes ? "fewer" : "more");
    f->first[i] = f->nfrags;
    f->how = DV_FRAMES_MARKERS;
    return 0;
}

/* Table of n 64-bit (eot) or 32-bit entries of an element or the offset table item. malloc'd into *out. */
static int read_table(const dv_instance *inst, const dv_source *src, uint64_t off, uint64_t len, int wide,
                      uint64_t **out, uint32_t *n, dv_error *err)
{
    unsigned w = wide ? 8 : 4;
    if (len % w)
        return dv_fail(err, DV_ERR_MALFORMED, "offset table length %llu is not a multiple of %u",
                       (unsigned long long)len, w);
    if (len / w > UINT32_MAX || len / w * sizeof(uint64_t) > inst->limits.max_metadata_bytes)
        return dv_fail(err, DV_ERR_LIMIT, "offset table of %llu bytes passes the metadata cap", (unsigned long long)len);
    *n = (uint32_t)(len / w);
    uint8_t *raw = malloc(len ? (size_t)len : 1);
    *out = malloc(*n ? *n * sizeof(uint64_t) : 1);
    if (!raw || !*out) {
        free(raw);
        free(*out);
        *out = NULL;
        return dv_fail(err, DV_ERR_NOMEM, "out of memory reading an offset table");
    }
    if (len && src->read_at(src->ctx, off, raw, (size_t)len) != 0) {
        free(raw);
        free(*out);
        *out = NULL;
        return dv_fail(err, DV_ERR_IO, "cannot read an offset table");
    }
    for (uint32_t i = 0; i < *n; i++)
        (*out)[i] = wide ? le64(raw + (size_t)i * 8) : le32(raw + (size_t)i * 4);
    free(raw);
    return 0;
}

static int index_encapsulated(const dv_instance *inst, dv_frames *f, dv_error *err)
{
    uint64_t start;
    f->src = dv_elem_source(inst, f->px, &start);
    if (start > f->src->size || f->px->length > f->src->size - start)
        return dv_fail(err, DV_ERR_MALFORMED, "encapsulated " TAGF " passes the end of its source", TAGA(f->px->tag));
    uint64_t end = start + f->px->length, bot_off = 0, bot_len = 0;
    uint32_t n = 0;
    if (walk_items(f, start, end, &bot_off, &bot_len, &n, 1, err) != 0)
        return -1;
    if (f->nframes > n) /* every frame has at least one fragment (PS3.5 A.4) */
        return dv_fail(err, DV_ERR_MALFORMED, "encapsulated " TAGF ": NumberOfFrames is more than its %u fragments",
                       TAGA(f->px->tag), n);
    if ((uint64_t)n * sizeof(frag) + ((uint64_t)f->nframes + 1) * sizeof(uint32_t) > inst->limits.max_metadata_bytes)
        return dv_fail(err, DV_ERR_LIMIT, "encapsulated " TAGF ": %u fragments pass the metadata cap", TAGA(f->px->tag), n);
    f->frags = malloc((n ? n : 1) * sizeof *f->frags);
    f->first = malloc(((size_t)f->nframes + 1) * sizeof *f->first);
    if (!f->frags || !f->first)
        return dv_fail(err, DV_ERR_NOMEM, "out of memory indexing " TAGF, TAGA(f->px->tag));
    if (walk_items(f, start, end, &bot_off, &bot_len, &f->nfrags, 0, err) != 0)
        return -1;

    const dv_elem *eot = dv_ds_find(&inst->ds, DV_TAG_EXTENDED_OFFSET_TABLE);
    uint64_t *table = NULL;
    uint32_t ntable = 0;
    int rc;
    if (eot && eot->length) {
        /* PS3.5 A.4: with an Extended Offset Table the Basic Offset Table is empty. */
        if (bot_len)
            return dv_fail(err, DV_ERR_MALFORMED, "both a Basic and an Extended Offset Table in " TAGF, TAGA(f->px->tag));
        uint64_t off;
        const dv_source *es = (eot->flags & DV_ELEM_BULK) ? dv_elem_source(inst, eot, &off) : NULL;
        dv_mem_source ms;
        dv_source inl;
        if (!es) {
            if (!eot->value || (eot->flags & DV_ELEM_SEQUENCE))
                return dv_fail(err, DV_ERR_MALFORMED, "unreadable (7FE0,0001)");
            inl = dv_source_memory(&ms, eot->value, (size_t)eot->length);
            es = &inl;
            off = 0;
        }
        if (dv_values_big_endian(inst))
            return dv_fail(err, DV_ERR_MALFORMED, "(7FE0,0001) in a big endian dataset");
        if (read_table(inst, es, off, eot->length, 1, &table, &ntable, err) != 0)
            return -1;
        rc = frames_from_offsets(f, table, ntable, "the Extended Offset Table", err);
        f->how = DV_FRAMES_EOT;
    } else if (bot_len) {
        if (read_table(inst, f->src, bot_off, bot_len, 0, &table, &ntable, err) != 0)
            return -1;
        rc = frames_from_offsets(f, table, ntable, "the Basic Offset Table", err);
        f->how = DV_FRAMES_BOT;
    } else if (f->nframes == 1 || f->nframes == f->nfrags) {
        int single = f->nframes == 1;
        for (uint32_t i = 0; i < f->nframes; i++)
            f->first[i] = single ? 0 : i;
        f->first[f->nframes] = f->nfrags;
        f->how = single ? DV_FRAMES_SINGLE : DV_FRAMES_ONE_PER_FRAGMENT;
        rc = 0;
    } else {
        const char *ts = inst->ts_uid;
        if (!strncmp(ts, "1.2.840.10008.1.2.4.10", 22))
            return dv_fail(err, DV_ERR_UNSUPPORTED, "video transfer syntax: frames are not separable");
        rc = frames_from_markers(f, ts, err);
    }
    free(table);
    if (rc == 0 && f->nframes && f->first[0] != 0)
        rc = dv_fail(err, DV_ERR_MALFORMED, "encapsulated " TAGF ": fragments before the first frame", TAGA(f->px->tag));
    return rc;
}

/* --- native --- */

static int index_native(const dv_instance *inst, dv_frames *f, dv_error *err)
{
    uint16_t rows = 0, cols = 0, spp = 1, bits = 0;
    if (dv_ds_get_u16(inst, &inst->ds, DV_TAG_ROWS, &rows) || dv_ds_get_u16(inst, &inst->ds, DV_TAG_COLUMNS, &cols) ||
        dv_ds_get_u16(inst, &inst->ds, DV_TAG_BITS_ALLOCATED, &bits))
        return dv_fail(err, DV_ERR_MALFORMED, "native " TAGF " without Rows, Columns or BitsAllocated", TAGA(f->px->tag));
    (void)dv_ds_get_u16(inst, &inst->ds, DV_TAG_SAMPLES_PER_PIXEL, &spp);
    if (bits != 1 && (bits == 0 || bits % 8 || bits > 64))
        return dv_fail(err, DV_ERR_UNSUPPORTED, "BitsAllocated %u", (unsigned)bits);
    f->frame_bits = (uint64_t)rows * cols * spp * bits; /* < 2^54: no overflow */
    if (f->frame_bits == 0)
        return dv_fail(err, DV_ERR_MALFORMED, "native " TAGF ": an empty frame geometry", TAGA(f->px->tag));
    if (f->px->length > UINT64_MAX / 8 || f->nframes > f->px->length * 8 / f->frame_bits)
        return dv_fail(err, DV_ERR_MALFORMED, "native " TAGF ": its %llu bytes hold fewer frames than NumberOfFrames",
                       TAGA(f->px->tag), (unsigned long long)f->px->length);
    if (f->px->flags & DV_ELEM_BULK) {
        f->src = dv_elem_source(inst, f->px, &f->px_offset);
    } else {
        f->inline_src = dv_source_memory(&f->inline_ms, f->px->value, (size_t)f->px->length);
        f->src = &f->inline_src;
        f->px_offset = 0;
    }
    f->swap_unit = !(f->px->flags & DV_ELEM_EXTERNAL) && dv_values_big_endian(inst)
                       ? dv_pixel_swap_unit(inst, &inst->ds, f->px) : 1;
    f->how = DV_FRAMES_NATIVE;
    return 0;
}

dv_frames *dv_frames_index(const dv_instance *inst, dv_error *err)
{
    dv_error_clear(err);
    const dv_elem *px = pixel_elem(inst);
    if (!px) {
        dv_fail(err, DV_ERR_INVALID, "no pixel data");
        return NULL;
    }
    long nf = number_of_frames(inst);
    if (nf < 0) {
        dv_fail(err, DV_ERR_MALFORMED, "NumberOfFrames (0028,0008) is not a positive integer");
        return NULL;
    }
    dv_frames *f = calloc(1, sizeof *f);
    if (!f) {
        dv_fail(err, DV_ERR_NOMEM, "out of memory");
        return NULL;
    }
    f->px = px;
    f->nframes = (uint32_t)nf;
    int rc = (px->flags & DV_ELEM_ENCAPSULATED) ? index_encapsulated(inst, f, err) : index_native(inst, f, err);
    if (rc != 0) {
        dv_frames_free(f);
        return NULL;
    }
    return f;
}

void dv_frames_free(dv_frames *f)
{
    if (!f)
        return;
    free(f->frags);
    free(f->first);
    free(f);
}

uint32_t dv_frames_count(const dv_frames *f)
{
    return f->nframes;
}

int dv_frames_encapsulated(const dv_frames *f)
{
    return f->how != DV_FRAMES_NATIVE;
}

dv_frames_method dv_frames_how(const dv_frames *f)
{
    return f->how;
}

uint64_t dv_frames_size(const dv_frames *f, uint32_t i)
{
    if (i >= f->nframes)
        return 0;
    if (f->how == DV_FRAMES_NATIVE)
        return (f->frame_bits + 7) / 8;
    uint64_t n = 0;
    for (uint32_t k = f->first[i]; k < f->first[i + 1]; k++)
        n += f->frags[k].length;
    return n;
}

uint32_t dv_frames_fragment_count(const dv_frames *f)
{
    return f->how == DV_FRAMES_NATIVE ? 0 : f->nfrags;
}

int dv_frames_fragment(const dv_frames *f, uint32_t k, uint64_t *offset, uint64_t *length)
{
    if (f->how == DV_FRAMES_NATIVE || k >= f->nfrags)
        return -1;
    *offset = f->frags[k].offset;
    *length = f->frags[k].length;
    return 0;
}

int dv_frames_frame_fragments(const dv_frames *f, uint32_t i, uint32_t *first, uint32_t *count)
{
    if (f->how == DV_FRAMES_NATIVE || i >= f->nframes)
        return -1;
    *first = f->first[i];
    *count = f->first[i + 1] - f->first[i];
    return 0;
}

static int read_native(const dv_frames *f, uint32_t i, uint8_t *out, uint64_t size, dv_error *err)
{
    uint64_t bit = (uint64_t)i * f->frame_bits;
    uint64_t off = f->px_offset + bit / 8;
    unsigned shift = (unsigned)(bit % 8);
    if (shift == 0 && f->swap_unit > 1) {
        /* Numbers are swapped where the element has them: a frame of an odd size (8-bit pixels in OW) may
         * start or end inside a 16-bit word, so read whole words around it. */
        uint64_t rel = off - f->px_offset, a = rel - rel % f->swap_unit, z = rel + size;
        z += (f->swap_unit - z % f->swap_unit) % f->swap_unit;
        if (z > f->px->length)
            z = f->px->length;
        uint8_t *tmp = malloc((size_t)(z - a));
        if (!tmp)
            return dv_fail(err, DV_ERR_NOMEM, "out of memory reading frame %u", i);
        if (f->src->read_at(f->src->ctx, f->px_offset + a, tmp, (size_t)(z - a)) != 0) {
            free(tmp);
            return dv_fail(err, DV_ERR_IO, "cannot read frame %u", i);
        }
        dv_swap_bytes(tmp, (size_t)(z - a), f->swap_unit);
        memcpy(out, tmp + (rel - a), (size_t)size);
        free(tmp);
    } else if (shift == 0) {
        if (f->src->read_at(f->src->ctx, off, out, (size_t)size) != 0)
            return dv_fail(err, DV_ERR_IO, "cannot read frame %u", i);
    } else {
        /* A bit-packed frame that starts inside a byte (BitsAllocated 1, odd geometry): pixel p is bit p % 8 of
         * byte p / 8 (PS3.5 8.1.1), so frame bits are shifted down to start at bit 0. */
        uint64_t need = (shift + f->frame_bits + 7) / 8;
        uint8_t *tmp = malloc((size_t)need);
        if (!tmp)
            return dv_fail(err, DV_ERR_NOMEM, "out of memory reading frame %u", i);
        if (f->src->read_at(f->src->ctx, off, tmp, (size_t)need) != 0) {
            free(tmp);
            return dv_fail(err, DV_ERR_IO, "cannot read frame %u", i);
        }
        for (uint64_t j = 0; j < size; j++)
            out[j] = (uint8_t)((tmp[j] >> shift) | (j + 1 < need ? tmp[j + 1] << (8 - shift) : 0));
        free(tmp);
    }
    if (f->frame_bits % 8) /* bits past the frame's end in its last byte are not this frame's */
        out[size - 1] &= (uint8_t)((1u << (f->frame_bits % 8)) - 1);
    return 0;
}

int dv_frames_read(const dv_instance *inst, const dv_frames *f, uint32_t i, void *buf, uint64_t cap, dv_error *err)
{
    (void)inst;
    dv_error_clear(err);
    uint64_t size = dv_frames_size(f, i);
    if (i >= f->nframes || cap < size || size > SIZE_MAX)
        return dv_fail(err, DV_ERR_USAGE, "frame %u: bad index or buffer too small", i);
    uint8_t *out = buf;
    if (f->how == DV_FRAMES_NATIVE)
        return read_native(f, i, out, size, err);
    for (uint32_t k = f->first[i]; k < f->first[i + 1]; k++) {
        if (f->frags[k].length && f->src->read_at(f->src->ctx, f->frags[k].offset, out, (size_t)f->frags[k].length) != 0)
            return dv_fail(err, DV_ERR_IO, "cannot read fragment %u", k);
        out += f->frags[k].length;
    }
    return 0;
}

/* --- the bytes native pixel data needs --- */

static uint16_t u16_of(const dv_instance *inst, const dv_elem *e, int *ok)
{
    if (e->length < 2 || (e->flags & (DV_ELEM_SEQUENCE | DV_ELEM_BULK)) || !e->value) {
        *ok = 0;
        return 0;
    }
    const uint8_t *b = e->value;
    return dv_values_big_endian(inst) ? (uint16_t)((b[0] << 8) | b[1]) : (uint16_t)(b[0] | (b[1] << 8));
}

/* NumberOfFrames (IS) from its element (NULL: absent): 1 when absent or empty; -1 when it is not a positive
 * integer below 2^31. The one reading of the rule (number_of_frames, dv_native_pixels). */
static long frames_of(const dv_elem *e)
{
    if (!e)
        return 1;
    if (!e->value || (e->flags & (DV_ELEM_SEQUENCE | DV_ELEM_BULK)) || e->length > 31)
        return -1;
    const char *p = (const char *)e->value, *end = p + e->length;
    while (p < end && *p == ' ')
        p++;
    if (p == end)
        return 1;
    if (*p == '+')
        p++;
    long v = 0;
    int digits = 0;
    for (; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
        v = v * 10 + (*p - '0');
        if (v > 0x7FFFFFFFL)
            return -1;
    }
    while (p < end && (*p == ' ' || *p == 0))
        p++;
    return p != end || !digits || v <= 0 ? -1 : v;
}

/* The slot of e among a native frame's attributes (dv_native_pixels), when it is one and the slot is empty. */
static void pixel_attr_slot(const dv_elem **a, const dv_elem *e)
{
    int i = e->tag == DV_TAG_SAMPLES_PER_PIXEL           ? 0
            : e->tag == DV_TAG_PHOTOMETRIC_INTERPRETATION ? 1
            : e->tag == DV_TAG_NUMBER_OF_FRAMES           ? 2
            : e->tag == DV_TAG_ROWS                       ? 3
            : e->tag == DV_TAG_COLUMNS                    ? 4
            : e->tag == DV_TAG_BITS_ALLOCATED             ? 5
                                                          : -1;
    if (i >= 0 && !a[i])
        a[i] = e;
}

/* The bits of one native frame by the attributes in a (pixel_attr_slot's order; NULL: absent, SamplesPerPixel
 * then 1); 0 when one cannot be used. */
static uint64_t frame_bits_of(const dv_instance *inst, const dv_elem *const *a)
{
    int ok = 1;
    uint16_t spp = a[0] ? u16_of(inst, a[0], &ok) : 1, rows = a[3] ? u16_of(inst, a[3], &ok) : 0,
             cols = a[4] ? u16_of(inst, a[4], &ok) : 0, bits = a[5] ? u16_of(inst, a[5], &ok) : 0;
    const dv_elem *pi = a[1];
    int ybr422 = pi && pi->value && !(pi->flags & (DV_ELEM_SEQUENCE | DV_ELEM_BULK)) && pi->length >= 12 &&
                 (!memcmp(pi->value, "YBR_FULL_422", 12) ||
                  (pi->length >= 15 && !memcmp(pi->value, "YBR_PARTIAL_422", 15)));
    if (!ok || rows == 0 || cols == 0 || spp == 0 || (bits != 1 && (bits == 0 || bits % 8 || bits > 64)))
        return 0;
    uint64_t samples = ybr422 && spp == 3 ? 2 : spp; /* 4:2:2 stores two samples a pixel (PS3.3 C.7.6.3.1.2) */
    return (uint64_t)rows * cols * samples * bits;    /* < 2^54 */
}

dv_elem *dv_native_pixels(dv_instance *inst, uint64_t *need)
{
    /* This runs for every instance written, so it reads as little as it can: PixelData is nearly always the
     * last element (else one pass finds it), and the attributes are all in group 0028 below (0028,0101). */
    *need = 0;
    dv_elem *px = inst->ds.last;
    if (px && px->tag != DV_TAG_PIXEL_DATA)
        px = dv_ds_find(&inst->ds, DV_TAG_PIXEL_DATA);
    if (!px || (px->flags & (DV_ELEM_SEQUENCE | DV_ELEM_ENCAPSULATED)))
        return NULL;
    const dv_elem *a[6] = {NULL}; /* SamplesPerPixel, Photometric, NumberOfFrames, Rows, Columns, BitsAllocated */
    dv_elem *e = inst->ds.first;
    while (e && e->tag < DV_TAG_SAMPLES_PER_PIXEL)
        e = e->next;
    for (; e && e->tag <= DV_TAG_BITS_ALLOCATED; e = e->next)
        pixel_attr_slot(a, e);
    uint64_t frame_bits = frame_bits_of(inst, a);
    if (frame_bits == 0 || px->length <= frame_bits / 8 + 1)
        return px; /* no longer than one frame: nothing past the last (NumberOfFrames >= 1) */
    /* Past one frame (a multi-frame value, or slack): the attributes as the frame index reads them, the first of
     * each in list order, unless the walk above saw those. A hostile list out of order (a dataset repeated after
     * its pixel attributes, one copy without NumberOfFrames) made this walk count one frame where the index
     * counted two, and the value was cut to one (fuzz_deidentify). Only such values pay the look-ups. */
    static const uint32_t tags[6] = {DV_TAG_SAMPLES_PER_PIXEL, DV_TAG_PHOTOMETRIC_INTERPRETATION,
                                     DV_TAG_NUMBER_OF_FRAMES, DV_TAG_ROWS, DV_TAG_COLUMNS, DV_TAG_BITS_ALLOCATED};
    int same = 1;
    for (int i = 0; i < 6; i++) {
        const dv_elem *first = dv_ds_find(&inst->ds, tags[i]);
        same &= first == a[i];
        a[i] = first;
    }
    if (!same && ((frame_bits = frame_bits_of(inst, a)) == 0 || px->length <= frame_bits / 8 + 1))
        return px;
    long nf = frames_of(a[2]);
    if (nf > 0 && (uint64_t)nf <= (UINT64_MAX - 7) / frame_bits)
        *need = (frame_bits * (uint64_t)nf + 7) / 8;
    return px;
}
