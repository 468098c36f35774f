/* The streaming DICOM reader: Part 10 files and raw datasets, implicit/explicit LE, explicit BE, deflated.
 *
 * Hostile input is normal input: every length is checked against the bytes that remain in its container
 * (file, sequence or item), nesting is capped, all metadata lives in an arena with a hard cap, and values
 * larger than the inline threshold (and PixelData always) are never loaded: only their offset is kept. */
#include "dv_ds.h"
#include "dv_vr.h"
#include "dv_reader_internal.h"
#include "dv_limits_internal.h"
#include "../dict/dv_dict.h"
#include "../dict/dv_tags.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RD_WINDOW (64u * 1024u)
/* The first fill is smaller: a typical header (the CT corpus: ~4 KiB) fits, and the bytes after it are the
 * pixel data the reader skips, which a 64 KiB fill would copy out of the page cache for nothing (~1.5 % of a
 * metadata-only run: bench/RESULTS.md "Per-file cost"). Larger headers continue in 64 KiB fills. */
#define RD_FIRST_FILL (DV_SOURCE_HEAD_BYTES - 128u) /* after the preamble: 16 KiB */
/* File meta values are loaded whole; real ones are UIDs and short strings. */
#define DV_META_VALUE_MAX 65536u
/* A deflated dataset that inflates to at most this much is kept in memory rather than streamed. */

typedef struct rd {
    dv_instance *inst;
    const dv_source *src;
    dv_error *err;
    int explicit_vr;
    int big_endian;
    int strict_vr;       /* unknown transfer syntax: no VR recovery (docs/decisions.md "Transfer syntaxes") */
    /* The read window over src: in buf, or in the source's own memory (src->mem: a memory source, or the bytes
     * the caller read first), which is read in place rather than copied. */
    const uint8_t *win;
    uint64_t win_off;
    size_t win_len;
    uint8_t *buf;        /* owned, NULL until a fill needs it: RD_FIRST_FILL bytes, RD_WINDOW once a fill needs more */
    size_t buf_cap;
    int filled; /* the window was filled once: later fills take RD_WINDOW */
    int zero_pad_ok; /* the file's own bytes, not an inflated stream: zero padding may end it (zero_tail) */
    int unordered;   /* some dataset or item was read out of order (and sorted): hold_displaced looks */
} rd;

/* Move the window to off (n bytes are wanted there, n <= RD_WINDOW) and copy them to dst. */
__attribute__((noinline)) static int rd_fill(rd *r, uint64_t off, void *dst, size_t n)
{
    uint64_t avail = r->src->size - off;
    size_t fill = r->filled || n > RD_FIRST_FILL ? RD_WINDOW : RD_FIRST_FILL;
    size_t want = avail < fill ? (size_t)avail : fill;
    r->filled = 1;
    r->win_len = 0;
    const uint8_t *mem = dv_source_mem_at(r->src, off, want);
    if (mem) {
        r->win = mem;
    } else {
        if (want > r->buf_cap) { /* its bytes are refilled below */
            size_t cap = want <= RD_FIRST_FILL ? RD_FIRST_FILL : RD_WINDOW;
            uint8_t *b = malloc(cap);
            if (!b)
                return -1;
            free(r->buf);
            r->buf = b;
            r->buf_cap = cap;
        }
        if (r->src->read_at(r->src->ctx, off, r->buf, want) != 0)
            return -1;
        r->win = r->buf;
    }
    r->win_off = off;
    r->win_len = want;
    memcpy(dst, r->win, n);
    return 0;
}

/* Inline: the reader asks for every header and value, and nearly all of them are inside the window. */
static inline int rd_read(rd *r, uint64_t off, void *dst, size_t n)
{
    if (off > r->src->size || n > r->src->size - off)
        return -1;
    if (off >= r->win_off && off + n <= r->win_off + r->win_len) {
        memcpy(dst, r->win + (off - r->win_off), n);
        return 0;
    }
    if (n > RD_WINDOW)
        return r->src->read_at(r->src->ctx, off, dst, n);
    return rd_fill(r, off, dst, n);
}

/* The instance keeps the last window when it is no larger than a first fill: for a small file that is the
 * whole file after the preamble, pixel data included, which the writer then copies from memory instead of
 * reading the source a second time (one pread less per file: bench/RESULTS.md "Per-core rate against cp, fifth
 * pass"). A larger window is freed: at most RD_FIRST_FILL bytes stay with an instance. A window in the source's
 * own memory is kept as a view (the source outlives the instance: dv_reader_internal.h). The window's offsets
 * are in inst->data's coordinates (a deflated dataset's window restarts over the inflated stream). */
static void keep_window(dv_instance *inst, rd *r)
{
    if (r->win_len == 0 || r->win_len > RD_FIRST_FILL) {
        free(r->buf);
        return;
    }
    if (r->win != r->buf) {
        free(r->buf);
        inst->held = r->win;
    } else {
        /* A first fill's buffer is kept as it is (at most RD_FIRST_FILL bytes); a larger one is shrunk. */
        uint8_t *p = r->buf_cap > RD_FIRST_FILL ? realloc(r->buf, r->win_len) : r->buf;
        inst->held = inst->held_buf = p ? p : r->buf;
    }
    inst->held_off = r->win_off;
    inst->held_len = r->win_len;
}

static uint16_t get16(const rd *r, const uint8_t *p)
{
    return r->big_endian ? (uint16_t)((p[0] << 8) | p[1]) : (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get32(const rd *r, const uint8_t *p)
{
    if (r->big_endian)
        return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
    return p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint32_t get_tag(const rd *r, const uint8_t *p)
{
    return ((uint32_t)get16(r, p) << 16) | get16(r, p + 2);
}

/* A tag as a reader's error names it. Errors name tags and offsets, never values; but when the reader has lost
 * its place in a malformed file, the tag and length it reports are bytes of whatever value it stands in, a name
 * as often as not: `element (5A5A,5048) claims 1380995657 bytes` was the text "ZZHPIRPR" (stop 39's red team).
 * So a message names a tag only when the dictionary lists it (a public attribute, which no text spells but by
 * chance), and any other as "(private)" or "(unlisted)"; its offset says where to look, and a claimed length is
 * never printed, only that it passes what remains. [test_reader: test_errors_spell_no_bytes] */
#define TAG_LABEL_MAX 16
static const char *tag_label(uint32_t tag, char buf[TAG_LABEL_MAX])
{
    if (DV_TAG_IS_PRIVATE(tag))
        return "(private)";
    if (!dv_dict_lookup(tag) && tag != DV_TAG_ITEM && tag != DV_TAG_ITEM_DELIM && tag != DV_TAG_SEQ_DELIM)
        return "(unlisted)";
    snprintf(buf, TAG_LABEL_MAX, TAGF, TAGA(tag));
    return buf;
}

static int nomem(rd *r)
{
    return dv_fail(r->err, DV_ERR_LIMIT, "metadata exceeds the %llu-byte limit",
                   (unsigned long long)r->inst->limits.max_metadata_bytes);
}

static int parse_dataset(rd *r, dv_ds *ds, uint64_t *pos, uint64_t limit, int until_item_delim, uint32_t depth);

/* Items of a sequence value starting at *pos. seq_end is the end for defined length, or 0 with undefined. */
static int parse_items(rd *r, dv_elem *e, uint64_t *pos, uint64_t limit, int undefined, uint32_t depth)
{
    char lb[TAG_LABEL_MAX], lb2[TAG_LABEL_MAX]; /* tag_label's buffer for an error message */
    if (depth + 1 > r->inst->limits.max_depth)
        return dv_fail(r->err, DV_ERR_LIMIT, "sequence %s nests deeper than %u levels",
                       tag_label(e->tag, lb), r->inst->limits.max_depth);
    dv_item *last = NULL;
    for (;;) {
        if (!undefined && *pos == limit)
            return 0;
        uint8_t h[8];
        if (limit - *pos < 8 || rd_read(r, *pos, h, 8) != 0)
            return dv_fail(r->err, DV_ERR_MALFORMED, "sequence %s truncated at offset %llu", tag_label(e->tag, lb),
                           (unsigned long long)*pos);
        uint32_t tag = get_tag(r, h), len = get32(r, h + 4);
        *pos += 8;
        if (tag == DV_TAG_SEQ_DELIM && undefined)
            return 0;
        /* A defined-length sequence that ends with a delimiter as well (fo-dicom's GH064.dcm, a private sequence
         * written as UN): its items, as dcmtk and pydicom read it. Kept opaque, the standard attributes inside
         * passed DEIDENTIFY_TAG_CONTENTS and KEEP_ALL with their source UIDs and dates. Only an empty delimiter
         * that ends the value. [test_reader: test_sequence_delimiter_after_defined_length] */
        if (tag == DV_TAG_SEQ_DELIM && !undefined && len == 0 && *pos == limit)
            return 0;
        if (tag != DV_TAG_ITEM)
            return dv_fail(r->err, DV_ERR_MALFORMED, "sequence %s holds tag %s where an item belongs (offset %llu)",
                           tag_label(e->tag, lb), tag_label(tag, lb2), (unsigned long long)(*pos - 8));
        dv_item *it = dv_arena_alloc(&r->inst->arena, sizeof *it);
        if (!it)
            return nomem(r);
        if (len == DV_UNDEFINED_LENGTH) {
            it->undefined_length = 1;
            if (parse_dataset(r, &it->ds, pos, limit, 1, depth + 1) != 0)
                return -1;
        } else {
            if (len > limit - *pos)
                return dv_fail(r->err, DV_ERR_MALFORMED, "item of %s at offset %llu claims more than the %llu bytes "
                               "that remain", tag_label(e->tag, lb), (unsigned long long)(*pos - 8),
                               (unsigned long long)(limit - *pos));
            uint64_t item_end = *pos + len;
            if (parse_dataset(r, &it->ds, pos, item_end, 0, depth + 1) != 0)
                return -1;
        }
        if (last)
            last->next = it;
        else
            e->items = it;
        last = it;
        e->nitems++;
    }
}

/* Encapsulated pixel data: walk the fragment items to find the end; the bytes are copied later untouched. */
static int skip_fragments(rd *r, dv_elem *e, uint64_t *pos, uint64_t limit)
{
    char lb[TAG_LABEL_MAX]; /* tag_label's buffer for an error message */
    uint64_t start = *pos;
    for (;;) {
        uint8_t h[8];
        if (limit - *pos < 8 || rd_read(r, *pos, h, 8) != 0)
            return dv_fail(r->err, DV_ERR_MALFORMED, "encapsulated %s truncated at offset %llu", tag_label(e->tag, lb),
                           (unsigned long long)*pos);
        uint32_t tag = get_tag(r, h), len = get32(r, h + 4);
        *pos += 8;
        if (tag == DV_TAG_SEQ_DELIM)
            break;
        if (tag != DV_TAG_ITEM || len == DV_UNDEFINED_LENGTH)
            return dv_fail(r->err, DV_ERR_MALFORMED, "encapsulated %s: bad fragment header at offset %llu",
                           tag_label(e->tag, lb), (unsigned long long)(*pos - 8));
        if (len > limit - *pos)
            return dv_fail(r->err, DV_ERR_MALFORMED, "fragment of %s at offset %llu claims more than the %llu bytes "
                           "that remain", tag_label(e->tag, lb), (unsigned long long)(*pos - 8),
                           (unsigned long long)(limit - *pos));
        *pos += len;
    }
    e->flags |= DV_ELEM_ENCAPSULATED | DV_ELEM_UNDEF_LEN | DV_ELEM_BULK;
    if (!r->explicit_vr)
        e->vr = DV_VR_OB; /* read without a VR: encapsulated values are OB (PS3.5 A.4) */
    e->offset = start;
    e->length = *pos - start;
    return 0;
}

/* A defined-length value of another VR that holds a sequence when it starts with an item (docs/decisions.md "UN
 * elements"): a standard SQ written in explicit VR with another VR (UN is CP-246's; OB, UT, LO ... come from
 * writers that did not know the attribute), or an attribute the dictionary does not know (a sequence newer than
 * the dictionary, a vendor's private sequence), written as UN or in implicit VR. Read as one, the profile and the
 * text stage reach the names inside; kept opaque, they were copied through. */
static int may_hold_items(rd *r, const dv_elem *e, uint64_t pos)
{
    if (e->vr == DV_VR_SQ || e->tag == DV_TAG_PIXEL_DATA || dv_tag_is_group_length(e->tag))
        return 0;
    /* Only a value that starts with an item (FFFE,E000 little endian, as parse_value then reads it) can be one;
     * the dictionary is asked after that look, not for every value (its entries are cold in the cache after an
     * instance's pixel data streamed through: bench/RESULTS.md "Per-core rate against cp, eighth pass"). */
    uint8_t t[4];
    if (rd_read(r, pos, t, 4) != 0 || t[0] != 0xFE || t[1] != 0xFF || t[2] != 0x00 || t[3] != 0xE0)
        return 0;
    if (!r->explicit_vr)
        return e->vr == DV_VR_UN; /* a dictionary SQ was read as SQ (read_header) */
    const dv_dict_entry *de = dv_dict_lookup(e->tag);
    return de ? de->vr == DV_VR_SQ : e->vr == DV_VR_UN;
}

static int parse_value(rd *r, dv_elem *e, uint64_t *pos, uint64_t limit, uint32_t len, uint32_t depth)
{
    char lb[TAG_LABEL_MAX]; /* tag_label's buffer for an error message */
    /* Only an explicit UN asks the dictionary here: an implicit VR was already read from it (read_header). */
    int dict_sq = 0;
    if (e->vr == DV_VR_UN && r->explicit_vr) {
        const dv_dict_entry *de = dv_dict_lookup(e->tag);
        dict_sq = de && de->vr == DV_VR_SQ;
    }
    int seq = e->vr == DV_VR_SQ;
    int as_implicit = 0; /* CP-246: a UN sequence is encoded in implicit VR little endian */
    int guessed = 0;     /* a value of another VR read as a sequence when it starts with an item */
    uint16_t orig_vr = e->vr;
    if (len == DV_UNDEFINED_LENGTH) {
        if (!seq && (e->vr == DV_VR_UN || !r->explicit_vr) && e->tag != DV_TAG_PIXEL_DATA) {
            seq = 1;
            as_implicit = r->explicit_vr;
        } else if (!seq) {
            return skip_fragments(r, e, pos, limit);
        }
    } else if (e->vr == DV_VR_UN && r->explicit_vr && dict_sq) {
        seq = 1;
        as_implicit = 1;
    } else if (!seq && len >= 8 && may_hold_items(r, e, *pos)) {
        seq = guessed = 1;
        as_implicit = r->explicit_vr;
    }
    if (seq && len != DV_UNDEFINED_LENGTH && len >= 4 && (!r->explicit_vr || as_implicit)) {
        /* Implicit VR gives no VR: a dictionary SQ whose value does not start with an item was written
         * with another VR (seen in the wild). Keep it as opaque bytes rather than fail the instance
         * (a guessed one keeps the VR it was written with). */
        uint8_t t[4];
        rd saved = *r;
        r->big_endian = as_implicit ? 0 : r->big_endian;
        int item = rd_read(r, *pos, t, 4) == 0 && get_tag(r, t) == DV_TAG_ITEM;
        r->big_endian = saved.big_endian;
        if (!item) {
            seq = 0;
            if (!guessed)
                e->vr = DV_VR_UN;
        }
    }
    if (seq) {
        e->flags |= DV_ELEM_SEQUENCE;
        if (e->vr == DV_VR_UN || guessed)
            e->vr = DV_VR_SQ;
        int saved_explicit = r->explicit_vr, saved_be = r->big_endian;
        if (as_implicit) {
            r->explicit_vr = 0;
            r->big_endian = 0;
        }
        int rc;
        uint64_t start = *pos;
        if (len == DV_UNDEFINED_LENGTH) {
            e->flags |= DV_ELEM_UNDEF_LEN;
            rc = parse_items(r, e, pos, limit, 1, depth);
        } else {
            if (len > limit - *pos) {
                r->explicit_vr = saved_explicit;
                r->big_endian = saved_be;
                return dv_fail(r->err, DV_ERR_MALFORMED, "sequence %s claims more than the %llu bytes that remain "
                               "at offset %llu", tag_label(e->tag, lb), (unsigned long long)(limit - *pos),
                               (unsigned long long)*pos);
            }
            rc = parse_items(r, e, pos, *pos + len, 0, depth);
        }
        r->explicit_vr = saved_explicit;
        r->big_endian = saved_be;
        /* A guessed private value that is no sequence stays opaque: the profiles delete it, and failing the
         * instance for it would refuse a file they de-identify. A standard one fails closed (it is kept). */
        if (rc == 0 || !guessed || !DV_TAG_IS_PRIVATE(e->tag) || r->err->code != DV_ERR_MALFORMED)
            return rc;
        e->flags &= ~DV_ELEM_SEQUENCE;
        e->items = NULL;
        e->nitems = 0;
        e->vr = orig_vr;
        *pos = start;
        r->err->code = DV_OK;
        r->err->message[0] = '\0';
    }
    if (len > limit - *pos)
        return dv_fail(r->err, DV_ERR_MALFORMED, "element %s claims more than the %llu bytes that remain at offset "
                       "%llu", tag_label(e->tag, lb), (unsigned long long)(limit - *pos), (unsigned long long)*pos);
    e->length = len;
    if (e->tag == DV_TAG_PIXEL_DATA || len > r->inst->limits.inline_threshold) {
        e->flags |= DV_ELEM_BULK;
        e->offset = *pos;
    } else if (len) {
        uint8_t *v = dv_arena_take(&r->inst->arena, len); /* filled whole by the read, or the instance fails */
        if (!v)
            return nomem(r);
        if (rd_read(r, *pos, v, len) != 0)
            return dv_fail(r->err, DV_ERR_IO, "read failed at offset %llu", (unsigned long long)*pos);
        e->value = v;
    }
    *pos += len;
    return 0;
}

/* Tag, VR and length of the element whose first 8 bytes (h) are at pos. */
typedef struct elem_header {
    uint32_t tag, len;
    uint16_t vr;
    uint64_t size; /* header bytes: 8, or 12 for explicit VRs with a 32-bit length */
} elem_header;

static int read_header(rd *r, uint64_t pos, uint64_t limit, const uint8_t h[8], elem_header *out)
{
    char lb[TAG_LABEL_MAX]; /* tag_label's buffer for an error message */
    out->tag = get_tag(r, h);
    if (!r->explicit_vr) {
        out->vr = dv_dict_implicit_vr(out->tag);
        out->len = get32(r, h + 4);
        out->size = 8;
        return 0;
    }
    char vc[2] = { (char)h[4], (char)h[5] };
    out->vr = dv_vr_from_chars(vc);
    if (!out->vr) {
        /* Two upper-case letters that name no VR of PS3.5 Table 6.2-1: a VR this version does not know.
         * PS3.5 7.1.2 gives every VR defined since 2013 the 32-bit length form, and so does dcmtk for an
         * unknown VR: read it that way, as UN (docs/decisions.md "Recovered encodings";
         * test_reader_limits: test_unknown_vr_read_as_un). Anything else is not a VR: refused. */
        if (r->strict_vr || h[4] < 'A' || h[4] > 'Z' || h[5] < 'A' || h[5] > 'Z')
            return dv_fail(r->err, DV_ERR_MALFORMED, "invalid VR for %s at offset %llu", tag_label(out->tag, lb),
                           (unsigned long long)pos);
        out->vr = DV_VR_UN;
    }
    if (!dv_vr_has_long_length(out->vr)) {
        out->len = get16(r, h + 6);
        out->size = 8;
        return 0;
    }
    uint8_t h12[12];
    if (limit - pos < 12 || rd_read(r, pos, h12, 12) != 0)
        return dv_fail(r->err, DV_ERR_MALFORMED, "truncated element header at offset %llu", (unsigned long long)pos);
    out->len = get32(r, h12 + 8);
    out->size = 12;
    return 0;
}

static void append(dv_ds *ds, dv_elem *e)
{
    if (ds->last)
        ds->last->next = e;
    else
        ds->first = e;
    ds->last = e;
}

/* Are the bytes from off to limit all zero? Media writers pad a file to a sector with bare zeros after its last
 * element (PS3.10's DataSetTrailingPadding is the conformant way): they hold nothing, so the dataset ends where
 * they begin. Only in a file's own bytes and up to DV_ZERO_PAD_MAX: zeros inside a deflated stream are no
 * sector padding, and scanning them would let a small file of compressed zeros cost gigabytes of inflation
 * (found by fuzz_reader). Read in blocks through the window; a read that fails is no padding. */
#define DV_ZERO_PAD_MAX (1u << 20)
__attribute__((cold, noinline)) static int zero_tail(rd *r, uint64_t off, uint64_t limit)
{
    if (limit - off >= 8 && (!r->zero_pad_ok || limit - off > DV_ZERO_PAD_MAX))
        return 0; /* fewer than 8 (no element header fits) were always padding */
    uint8_t b[4096];
    while (off < limit) {
        size_t n = limit - off < sizeof b ? (size_t)(limit - off) : sizeof b;
        if (rd_read(r, off, b, n) != 0)
            return 0;
        for (size_t i = 0; i < n; i++)
            if (b[i])
                return 0;
        off += n;
    }
    return 1;
}

/* The elements of one dataset or item; a dataset read out of order, or with a tag repeated, is put in order with
 * each tag once before anything else sees it (dv_ds_sort): the plan, dv_ds_put and the writer all take a dataset
 * in ascending order, and PS3.5 7.1 makes that the only valid encoding. [test_reader: test_out_of_order_sorted] */
static int parse_elements(rd *r, dv_ds *ds, uint64_t *pos, uint64_t limit, int until_item_delim, uint32_t depth,
                          int *unordered);

static int parse_dataset(rd *r, dv_ds *ds, uint64_t *pos, uint64_t limit, int until_item_delim, uint32_t depth)
{
    int unordered = 0;
    int rc = parse_elements(r, ds, pos, limit, until_item_delim, depth, &unordered);
    if (rc == 0 && unordered) {
        dv_ds_sort(ds);
        r->unordered = 1;
    }
    return rc;
}

static int parse_elements(rd *r, dv_ds *ds, uint64_t *pos, uint64_t limit, int until_item_delim, uint32_t depth,
                          int *unordered)
{
    char lb[TAG_LABEL_MAX]; /* tag_label's buffer for an error message */
    while (*pos < limit) {
        uint8_t h[12];
        /* Zero bytes to the end of the file after the top level's last element: padding, the end.
         * [test_reader: test_zero_tail] */
        int top = depth == 0 && !until_item_delim;
        if (limit - *pos < 8) {
            if (top && zero_tail(r, *pos, limit)) {
                *pos = limit;
                return 0;
            }
            return dv_fail(r->err, DV_ERR_MALFORMED, "truncated element header at offset %llu", (unsigned long long)*pos);
        }
        if (rd_read(r, *pos, h, 8) != 0)
            return dv_fail(r->err, DV_ERR_IO, "read failed at offset %llu", (unsigned long long)*pos);
        uint32_t tag = get_tag(r, h);
        if (tag == 0 && top && get32(r, h + 4) == 0 && zero_tail(r, *pos + 8, limit)) {
            *pos = limit; /* (0000,0000) with a zero VR and length: the padding's start, not an element */
            return 0;
        }
        if (tag == DV_TAG_ITEM_DELIM) {
            if (!until_item_delim)
                return dv_fail(r->err, DV_ERR_MALFORMED, "unexpected item delimiter at offset %llu", (unsigned long long)*pos);
            *pos += 8;
            return 0;
        }
        if (DV_TAG_GROUP(tag) == 0xFFFE)
            return dv_fail(r->err, DV_ERR_MALFORMED, "unexpected %s at offset %llu", tag_label(tag, lb),
                           (unsigned long long)*pos);
        elem_header eh = {0};
        if (read_header(r, *pos, limit, h, &eh) != 0)
            return -1;
        *pos += eh.size;
        dv_elem *e = dv_arena_alloc(&r->inst->arena, sizeof *e);
        if (!e)
            return nomem(r);
        e->tag = eh.tag;
        e->vr = eh.vr;
        if (parse_value(r, e, pos, limit, eh.len, depth) != 0)
            return -1;
        if (ds->last && e->tag <= ds->last->tag)
            *unordered = 1;
        append(ds, e);
    }
    if (until_item_delim)
        return dv_fail(r->err, DV_ERR_MALFORMED, "item without delimiter ends at offset %llu", (unsigned long long)*pos);
    return 0;
}

static int looks_like_vr(const uint8_t *p)
{
    char vc[2] = { (char)p[0], (char)p[1] };
    return dv_vr_from_chars(vc) != 0;
}

/* --- A streamed deflated dataset read out of order ------------------------------------------------------
 *
 * Bulk values of a deflated dataset stay offsets into the inflated stream, and every later reader of them (the
 * writer, the engine's searches) walks the sorted tree. In a dataset read out of order that walk goes backwards
 * through the stream, and each backward read re-inflates from the access point before it: up to a whole span
 * (1 MiB, doubling with the stream: 8 MiB at 512 MiB). Measured through the CLI on a sequence of 16,000
 * items of two 16.4 KB bulk values each (525 MB inflated from a 1.2 MB file): 2.2 s in order, 36.8 s with each
 * item's two values swapped, growing with the square of the size (a 4 GiB bomb-capped stream: most of an hour).
 * With 64 windows of memory no access-point spacing makes every order cheap (a read costs up to a span whatever
 * the spacing), so the order is fixed instead. After parsing, the walk's cost is computed with deflate.c's own
 * arithmetic (dv_inflated_read_cost): within two sequential inflations (a few values out of place, or one
 * large value swapped with another: 400 MB, 1.1 s either way) nothing changes. Beyond, the bulk values the walk
 * would read against the stream order are read once, in stream order, into the instance's arena and served from
 * there (dv_inflated_hold); the rest are then read forward, one sequential inflation at most per walk. What stays
 * in the stream is the heaviest increasing run of the walk's offsets (a weighted longest increasing subsequence,
 * O(n log n)), so the usual damage, one attribute appended after the PixelData, holds that attribute, never the
 * pixels. Held bytes count against max_metadata_bytes; past it the walk is read as it is when that costs at most
 * DV_UNORDERED_COST_MAX sequential inflations and DV_UNORDERED_BYTES_MAX bytes in all, else the instance fails
 * alone with DV_ERR_LIMIT naming a tag and an offset, never a value (the file above: 0.5 s). An in-order
 * dataset, or one kept whole in memory, never gets here. Counting re-inflated bytes and failing past a multiple
 * instead was weighed and not taken: it fails files that a bounded hold de-identifies, and bounds the time only by
 * that multiple. [test_deflate_order: test_out_of_order_reads_forward, test_out_of_order_over_cap_is_limit,
 * test_one_swap_holds_nothing, test_large_unordered_walk_is_limit] */
/* At most this many sequential inflations' worth of re-inflation is allowed for a walk whose out-of-place values do
 * not fit in the metadata limit; past it the instance fails with DV_ERR_LIMIT. Measured through the CLI on items of
 * two swapped 16.4 KB values: 4,000 items (131 MB inflated) 3.5 s against 0.5 s in order, de-identified as before;
 * 8,000 items (12.7 s before) refused in 0.3 s. */
#define DV_UNORDERED_COST_MAX 64u
/* ...and at most this many bytes of re-inflation in all, however large the stream (or twice the stream, which an
 * in-order walk may cost anyway): 64 inflations of a stream at the 4 GiB inflation cap were 256 GiB, minutes of
 * CPU from a file of a few MB (stop 35's third review). 8 GiB is seconds to half a minute, as the data inflate (the
 * file of test_large_unordered_walk_is_limit, all zeros: 11.8 GB estimated, read as it is in 2.1 s; refused in 0.07 s). */
#define DV_UNORDERED_BYTES_MAX (8ull << 30)

typedef struct bulk_ref {
    uint64_t off, len;
    const dv_elem *e;
} bulk_ref;

/* The tree's stream-resident bulk values in walk order (the writer's): counts them when refs is NULL. */
static size_t collect_bulk(const dv_ds *ds, bulk_ref *refs, size_t n)
{
    for (const dv_elem *e = ds->first; e; e = e->next) {
        if (e->flags & DV_ELEM_SEQUENCE) {
            for (const dv_item *it = e->items; it; it = it->next)
                n = collect_bulk(&it->ds, refs, n);
        } else if ((e->flags & DV_ELEM_BULK) && !(e->flags & DV_ELEM_EXTERNAL)) {
            if (refs)
                refs[n] = (bulk_ref){ .off = e->offset, .len = e->length, .e = e };
            n++;
        }
    }
    return n;
}

typedef struct by_off {
    uint64_t off;
    uint32_t i; /* walk position */
} by_off;

static int cmp_off(const void *a, const void *b)
{
    uint64_t x = ((const by_off *)a)->off, y = ((const by_off *)b)->off;
    return x < y ? -1 : x > y;
}

static int hold_displaced(rd *r)
{
    char lb[TAG_LABEL_MAX]; /* tag_label's buffer for an error message */
    dv_instance *inst = r->inst;
    size_t m = collect_bulk(&inst->ds, NULL, 0);
    if (m < 2)
        return 0;
    if (m > UINT32_MAX - 1)
        return nomem(r);
    bulk_ref *refs = malloc(m * sizeof *refs);
    by_off *sorted = malloc(m * sizeof *sorted);
    uint32_t *rank = malloc(m * sizeof *rank), *pred = malloc(m * sizeof *pred);
    uint32_t *fidx = malloc((m + 1) * sizeof *fidx);
    uint64_t *best = malloc(m * sizeof *best), *fbest = malloc((m + 1) * sizeof *fbest);
    int rc = -1;
    if (!refs || !sorted || !rank || !pred || !fidx || !best || !fbest) {
        dv_fail(r->err, DV_ERR_NOMEM, "out of memory");
        goto done;
    }
    collect_bulk(&inst->ds, refs, 0);
    /* What the walk costs as it is (deflate.c's own arithmetic): when within two sequential inflations (no
     * bulk value out of place, or a few, such as one large value swapped with another), nothing is held. Counted
     * up to DV_UNORDERED_COST_MAX inflations: what is allowed when the values to hold do not fit in memory. */
    uint64_t pos = dv_inflated_position(inst->inflated), cost = 0, size = r->src->size;
    uint64_t cap = size > UINT64_MAX / DV_UNORDERED_COST_MAX ? UINT64_MAX : size * DV_UNORDERED_COST_MAX;
    uint64_t abs_cap = size > DV_UNORDERED_BYTES_MAX / 2 ? 2 * size : DV_UNORDERED_BYTES_MAX;
    if (cap > abs_cap)
        cap = abs_cap;
    size_t i;
    for (i = 0; i < m && cost <= cap; i++)
        cost += dv_inflated_read_cost(inst->inflated, &pos, refs[i].off, refs[i].len);
    if (cost <= 2 * size) {
        rc = 0;
        goto done;
    }
    for (i = 0; i < m; i++)
        sorted[i] = (by_off){ .off = refs[i].off, .i = (uint32_t)i };
    qsort(sorted, m, sizeof *sorted, cmp_off);
    for (i = 0; i < m; i++)
        rank[sorted[i].i] = (uint32_t)(i + 1);
    /* best[i]: the most bytes an increasing run ending at walk position i keeps in the stream; a Fenwick tree
     * over offset ranks gives the best run ending below a rank. */
    memset(fbest, 0, (m + 1) * sizeof *fbest);
    for (i = 0; i <= m; i++)
        fidx[i] = UINT32_MAX;
    uint32_t top = 0;
    for (i = 0; i < m; i++) {
        uint64_t b = 0;
        uint32_t j = UINT32_MAX;
        for (uint32_t k = rank[i] - 1; k > 0; k -= k & -k)
            if (fbest[k] > b || (j == UINT32_MAX && fidx[k] != UINT32_MAX))
                b = fbest[k], j = fidx[k];
        best[i] = b + refs[i].len;
        pred[i] = j;
        for (uint32_t k = rank[i]; k <= m; k += k & -k)
            if (fidx[k] == UINT32_MAX || best[i] > fbest[k])
                fbest[k] = best[i], fidx[k] = (uint32_t)i;
        if (best[i] > best[top])
            top = (uint32_t)i;
    }
    /* rank doubles as the mark: 0 = stays in the stream. */
    for (uint32_t k = top; k != UINT32_MAX; k = pred[k])
        rank[k] = 0;
    size_t nheld = 0;
    uint64_t bytes = 0;
    const bulk_ref *first = NULL;
    for (i = 0; i < m; i++) {
        const bulk_ref *b = &refs[sorted[i].i];
        if (!rank[sorted[i].i])
            continue;
        nheld++;
        bytes += b->len;
        if (!first)
            first = b;
    }
    uint64_t room = inst->arena.cap ? inst->arena.cap - (inst->arena.used < inst->arena.cap ? inst->arena.used
                                                                                              : inst->arena.cap)
                                    : UINT64_MAX;
    uint64_t need = bytes + (uint64_t)nheld * (sizeof(dv_held_range) + 16u);
    if (need > room && cost <= cap) {
        rc = 0; /* too much to hold, but the walk as it is costs a bounded number of inflations: read it so */
        goto done;
    }
    if (need > room) {
        dv_fail(r->err, DV_ERR_LIMIT, "deflated dataset read out of order: %llu bytes of %zu values before "
                "their place in the stream (the first %s at inflated offset %llu) must be held in memory, "
                "over the %llu-byte metadata limit", (unsigned long long)bytes, nheld, tag_label(first->e->tag, lb),
                (unsigned long long)first->off, (unsigned long long)inst->limits.max_metadata_bytes);
        goto done;
    }
    if (nheld == 0) {
        rc = 0;
        goto done;
    }
    dv_held_range *held = dv_arena_take(&inst->arena, nheld * sizeof *held);
    if (!held) {
        nomem(r);
        goto done;
    }
    size_t k = 0;
    for (i = 0; i < m; i++) { /* in stream order: one forward pass */
        const bulk_ref *b = &refs[sorted[i].i];
        if (!rank[sorted[i].i])
            continue;
        uint8_t *v = dv_arena_take(&inst->arena, (size_t)b->len);
        if (!v) {
            nomem(r);
            goto done;
        }
        if (b->len && r->src->read_at(r->src->ctx, b->off, v, (size_t)b->len) != 0) {
            dv_fail(r->err, DV_ERR_IO, "read failed at offset %llu", (unsigned long long)b->off);
            goto done;
        }
        held[k++] = (dv_held_range){ .off = b->off, .len = b->len, .bytes = v };
    }
    dv_inflated_hold(inst->inflated, held, nheld);
    rc = 0;
done:
    free(refs);
    free(sorted);
    free(rank);
    free(pred);
    free(fidx);
    free(best);
    free(fbest);
    return rc;
}

/* File meta information: always explicit VR little endian in valid files; a few writers use implicit VR. */
static int parse_meta(rd *r, uint64_t *pos)
{
    char lb[TAG_LABEL_MAX]; /* tag_label's buffer for an error message */
    uint8_t h[8];
    if (r->src->size - *pos < 8 || rd_read(r, *pos, h, 8) != 0)
        return dv_fail(r->err, DV_ERR_MALFORMED, "file meta information truncated");
    r->explicit_vr = looks_like_vr(h + 4);
    r->big_endian = 0;
    dv_ds *meta = &r->inst->meta;
    while (r->src->size - *pos >= 8) {
        if (rd_read(r, *pos, h, 8) != 0)
            return dv_fail(r->err, DV_ERR_IO, "read failed at offset %llu", (unsigned long long)*pos);
        if (get16(r, h) != 0x0002)
            break;
        uint64_t p = *pos;
        elem_header eh = {0};
        if (read_header(r, p, r->src->size, h, &eh) != 0)
            return -1;
        uint32_t tag = eh.tag, len = eh.len;
        uint64_t hdr = eh.size;
        if (len == DV_UNDEFINED_LENGTH || len > r->src->size - p - hdr)
            return dv_fail(r->err, DV_ERR_MALFORMED, "file meta element %s at offset %llu has a bad length",
                           tag_label(tag, lb), (unsigned long long)p);
        if (len > DV_META_VALUE_MAX) /* a cap is a limit, never "malformed" (issue 5 item 12) */
            return dv_fail(r->err, DV_ERR_LIMIT, "file meta element %s at offset %llu exceeds the %u-byte limit",
                           tag_label(tag, lb), (unsigned long long)p, DV_META_VALUE_MAX);
        p += hdr;
        uint8_t *v = NULL;
        if (len) {
            v = dv_arena_take(&r->inst->arena, len); /* filled whole by the read, or the instance fails */
            if (!v)
                return nomem(r);
            if (rd_read(r, p, v, len) != 0)
                return dv_fail(r->err, DV_ERR_IO, "read failed at offset %llu", (unsigned long long)p);
        }
        dv_elem *e = dv_arena_alloc(&r->inst->arena, sizeof *e);
        if (!e)
            return nomem(r);
        e->tag = tag;
        e->vr = eh.vr;
        e->value = v;
        e->length = len;
        append(meta, e);
        *pos = p + len;
    }
    return 0;
}

/* Transfer syntaxes of PS3.6 Annex A (2025, retired ones included). Every one but the implicit and the big
 * endian ones encodes the dataset in explicit VR little endian (PS3.5 10, A.4); `encapsulated` says where
 * PixelData must be encapsulated (PS3.5 A.4). An unknown UID is accepted only under the rules of
 * docs/decisions.md "Transfer syntaxes" (test_reader_limits: test_unknown_transfer_syntax). */
typedef struct ts_info {
    const char *uid;
    uint8_t kind;         /* dv_ts_kind */
    uint8_t encapsulated; /* PixelData (7FE0,0010), when present, is encapsulated */
} ts_info;

static const ts_info ts_table[] = {
    { "1.2.840.10008.1.2", DV_TS_IMPLICIT_LE, 0 },
    { "1.2.840.10008.1.2.1", DV_TS_EXPLICIT_LE, 0 },
    { "1.2.840.10008.1.2.1.98", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.1.99", DV_TS_DEFLATED_LE, 0 },
    { "1.2.840.10008.1.2.2", DV_TS_EXPLICIT_BE, 0 },
    { "1.2.840.10008.1.2.4.50", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.51", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.52", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.53", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.54", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.55", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.56", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.57", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.58", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.59", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.60", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.61", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.62", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.63", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.64", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.65", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.66", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.70", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.80", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.81", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.90", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.91", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.92", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.93", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.94", DV_TS_EXPLICIT_LE, 0 },  /* JPIP Referenced: no PixelData */
    { "1.2.840.10008.1.2.4.95", DV_TS_DEFLATED_LE, 0 },  /* JPIP Referenced Deflate */
    { "1.2.840.10008.1.2.4.100", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.100.1", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.101", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.101.1", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.102", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.102.1", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.103", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.103.1", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.104", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.104.1", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.105", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.105.1", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.106", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.106.1", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.107", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.108", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.110", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.111", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.112", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.201", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.202", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.203", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.4.204", DV_TS_EXPLICIT_LE, 0 },  /* JPIP HTJ2K Referenced: no PixelData */
    { "1.2.840.10008.1.2.4.205", DV_TS_DEFLATED_LE, 0 },  /* JPIP HTJ2K Referenced Deflate */
    { "1.2.840.10008.1.2.5", DV_TS_EXPLICIT_LE, 1 },
    { "1.2.840.10008.1.2.7.1", DV_TS_EXPLICIT_LE, 0 },    /* SMPTE ST 2110: the essence is not in the dataset */
    { "1.2.840.10008.1.2.7.2", DV_TS_EXPLICIT_LE, 0 },
    { "1.2.840.10008.1.2.7.3", DV_TS_EXPLICIT_LE, 0 },
    { "1.2.840.10008.1.20", DV_TS_IMPLICIT_LE, 0 },       /* Papyrus 3 Implicit VR Little Endian */
};

/* NULL for a UID this version does not know. */
static const ts_info *ts_lookup(const char *uid)
{
    for (size_t i = 0; i < sizeof ts_table / sizeof ts_table[0]; i++)
        if (!strcmp(ts_table[i].uid, uid))
            return &ts_table[i];
    return NULL;
}

static void set_ts(dv_instance *inst, const char *uid)
{
    /* a bounded copy, as snprintf's "%s" made it, without its ~600 instructions an instance */
    size_t n = strnlen(uid, sizeof inst->ts_uid - 1);
    memcpy(inst->ts_uid, uid, n);
    inst->ts_uid[n] = '\0';
    const ts_info *t = ts_lookup(uid);
    inst->ts_kind = t ? (dv_ts_kind)t->kind : DV_TS_EXPLICIT_LE;
}

/* An explicit-VR transfer syntax whose dataset is implicit VR (seen in the wild: pydicom's
 * SC_rgb_jpeg.dcm): the first element has no VR where one belongs, but parses as implicit VR. The whole
 * dataset is then read as implicit VR (with dictionary VRs) and written back in the transfer syntax it
 * declares, which is the repair (docs/decisions.md "Recovered encodings";
 * test_reader_limits: test_implicit_dataset_labelled_explicit). */
static int implicit_mislabelled(rd *r, uint64_t pos, uint64_t limit)
{
    uint8_t h[8];
    if (!r->explicit_vr || r->big_endian || r->strict_vr || limit - pos < 8 || rd_read(r, pos, h, 8) != 0)
        return 0;
    if (looks_like_vr(h + 4) || (h[4] >= 'A' && h[4] <= 'Z' && h[5] >= 'A' && h[5] <= 'Z'))
        return 0;
    uint16_t group = (uint16_t)(h[0] | (h[1] << 8));
    uint32_t len = h[4] | ((uint32_t)h[5] << 8) | ((uint32_t)h[6] << 16) | ((uint32_t)h[7] << 24);
    return group != 0xFFFE && group != 0x0000 && (len == DV_UNDEFINED_LENGTH || len <= limit - pos - 8);
}

/* The dataset's PixelData agrees with the transfer syntax: a native (defined-length) PixelData under an
 * encapsulated transfer syntax would be written as it came, and dcmtk rejects such a file: refused
 * (docs/decisions.md "Transfer syntaxes"; test_reader_limits: test_native_pixels_under_encapsulated_ts). */
static int check_pixel_data(dv_instance *inst, const ts_info *t, dv_error *err)
{
    const dv_elem *px = NULL;
    for (const dv_elem *e = inst->ds.first; e; e = e->next)
        if (e->tag == DV_TAG_PIXEL_DATA)
            px = e;
    if (!px || (px->flags & DV_ELEM_ENCAPSULATED))
        return 0;
    if (!t)
        return dv_fail(err, DV_ERR_UNSUPPORTED, "unknown transfer syntax (0002,0010) with native PixelData "
                       TAGF ": the pixel encoding is unknown", TAGA(px->tag));
    if (t->encapsulated)
        return dv_fail(err, DV_ERR_MALFORMED, "transfer syntax (0002,0010) is encapsulated but PixelData " TAGF
                       " is native (defined length %llu)", TAGA(px->tag), (unsigned long long)px->length);
    return 0;
}

/* A raw dataset (no preamble): accept it only when the first element is plausible DICOM. */
static int sniff_raw(rd *r, uint64_t pos)
{
    uint8_t h[8];
    if (r->src->size - pos < 8 || rd_read(r, pos, h, 8) != 0)
        return -1;
    uint16_t g_le = (uint16_t)(h[0] | (h[1] << 8));
    uint16_t g_be = (uint16_t)((h[0] << 8) | h[1]);
    int ok_le = g_le == 0x0002 || g_le == 0x0008;
    int ok_be = g_be == 0x0008;
    if (!ok_le && !ok_be)
        return -1;
    if (ok_le) {
        uint16_t el = (uint16_t)(h[2] | (h[3] << 8));
        if (el > 0x0100)
            return -1;
        if (looks_like_vr(h + 4))
            return (int)DV_TS_EXPLICIT_LE;
        uint32_t len = h[4] | ((uint32_t)h[5] << 8) | ((uint32_t)h[6] << 16) | ((uint32_t)h[7] << 24);
        if (len > 1024 * 1024 && len != DV_UNDEFINED_LENGTH)
            return -1;
        return (int)DV_TS_IMPLICIT_LE;
    }
    return looks_like_vr(h + 4) ? (int)DV_TS_EXPLICIT_BE : -1;
}

dv_instance *dv_instance_read(const dv_source *src, const dv_limits *lim, dv_error *err)
{
    dv_error_clear(err);
    dv_instance *inst = calloc(1, sizeof *inst);
    if (!inst) {
        dv_fail(err, DV_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (dv_limits_import(&inst->limits, lim, err) != 0) {
        free(inst);
        return NULL;
    }
    dv_arena_init(&inst->arena, inst->limits.max_metadata_bytes);
    dv_arena_use_budget(&inst->arena, inst->limits.budget, dv_limits_memory_max(&inst->limits));
    inst->src = src;
    inst->data = *src;

    rd r = { .inst = inst, .src = src, .err = err };
    uint64_t pos = 0;
    uint8_t magic[6];
    /* "DICM" at 128 followed by a group 0002 element is Part 10. "DICM" followed by anything else may be a
     * raw dataset whose values happen to contain those bytes (a known false-positive trap): prefer the raw
     * reading when the file starts like a dataset. */
    /* Every read below goes through the reader's window: the first (at 128) fills it, so the magic, the file
     * meta group and the start of the dataset (all of it, for a typical header) cost one pread instead of one
     * per probe (bench/RESULTS.md "Per-file cost"). */
    int dicm128 = src->size >= 134 && rd_read(&r, 128, magic, 6) == 0 && !memcmp(magic, "DICM", 4);
    if (dicm128 && magic[4] == 0x02 && magic[5] == 0x00)
        pos = 132;
    else if (dicm128 && sniff_raw(&r, 0) < 0)
        pos = 132;
    else if (src->size >= 4 && rd_read(&r, 0, magic, 4) == 0 && !memcmp(magic, "DICM", 4))
        pos = 4;
    if (pos == 0) {
        if (sniff_raw(&r, 0) < 0) {
            dv_fail(err, DV_ERR_NOT_DICOM, "not a DICOM file (no DICM magic, no plausible dataset)");
            goto fail;
        }
    }
    /* File meta group (also accepted on a raw dataset that starts with group 0002). */
    uint8_t g[2];
    if (src->size - pos >= 2 && rd_read(&r, pos, g, 2) == 0 && g[0] == 0x02 && g[1] == 0x00) {
        if (parse_meta(&r, &pos) != 0)
            goto fail;
        inst->had_meta = 1;
    }
    char ts[65], cls[65];
    dv_elem_uid_text(dv_ds_find(&inst->meta, DV_TAG_TRANSFER_SYNTAX_UID), ts, sizeof ts);
    dv_elem_uid_text(dv_ds_find(&inst->meta, DV_TAG_MEDIA_STORAGE_SOP_CLASS_UID), cls, sizeof cls);
    inst->is_directory = !strcmp(cls, "1.2.840.10008.1.3.10");
    if (!ts[0]) {
        int k = sniff_raw(&r, pos);
        if (k < 0)
            k = DV_TS_IMPLICIT_LE;
        set_ts(inst, k == DV_TS_EXPLICIT_LE ? "1.2.840.10008.1.2.1"
                     : k == DV_TS_EXPLICIT_BE ? "1.2.840.10008.1.2.2" : "1.2.840.10008.1.2");
    } else {
        set_ts(inst, ts);
    }
    const ts_info *tsi = ts_lookup(inst->ts_uid);
    uint64_t limit = src->size;
    if (inst->ts_kind == DV_TS_DEFLATED_LE) {
        /* Streamed, never held whole: bulk values stay offsets into the inflated stream (deflate.c). */
        /* Small datasets are kept whole (fast); "small" scales with the inline threshold so the fuzzer,
         * which lowers it, reaches the streaming path too. */
        uint64_t keep = (uint64_t)inst->limits.inline_threshold * 256u;
        if (keep > DV_INFLATE_KEEP_MAX)
            keep = DV_INFLATE_KEEP_MAX;
        if (dv_inflated_open(src, pos, inst->limits.max_inflated_bytes, keep, &inst->arena, &inst->inflated, err) != 0)
            goto fail;
        inst->data = dv_inflated_source(inst->inflated);
        r.src = &inst->data;
        r.win_len = 0;
        pos = 0;
        limit = inst->data.size;
    }
    r.explicit_vr = inst->ts_kind != DV_TS_IMPLICIT_LE;
    r.big_endian = inst->ts_kind == DV_TS_EXPLICIT_BE;
    r.zero_pad_ok = inst->ts_kind != DV_TS_DEFLATED_LE;
    r.strict_vr = tsi == NULL;
    if (implicit_mislabelled(&r, pos, limit))
        r.explicit_vr = 0;
    if (parse_dataset(&r, &inst->ds, &pos, limit, 0, 0) != 0) {
        if (!tsi && err && err->code == DV_ERR_MALFORMED)
            dv_fail(err, DV_ERR_UNSUPPORTED, "unknown transfer syntax (0002,0010) and the dataset does not parse "
                    "as explicit VR little endian");
        goto fail;
    }
    if (r.unordered && inst->inflated && dv_inflated_streams(inst->inflated) && hold_displaced(&r) != 0)
        goto fail;
    if (check_pixel_data(inst, tsi, err) != 0)
        goto fail;
    keep_window(inst, &r);
    return inst;
fail:
    free(r.buf);
    dv_instance_free(inst);
    return NULL;
}
