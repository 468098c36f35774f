/* The writer: a valid Part 10 file with regenerated file meta, the dataset in the input's transfer syntax or
 * the one set by dv_instance_set_transfer_syntax. Kept values are written byte for byte (odd lengths get the
 * VR's pad byte), byte-swapped per VR only when a big endian input is written little endian; bulk, external
 * values and encapsulated pixel data are streamed from their source, never loaded. */
#include "dv_ds.h"
#include "dv_uid_syntax.h"
#include "dv_vr.h"
#include "dv_reader_internal.h"
#include "dicomveil/dicomveil.h"
#include "../dict/dv_tags.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Our implementation identity (file meta 0002,0012 / 0002,0013): a UUID-derived UID (PS3.5 B.2). */
#define DV_IMPLEMENTATION_CLASS_UID "2.25.149117742594802342229202323164192353154"
#define DV_IMPLEMENTATION_VERSION "DICOMVEIL_010"

#define WBUF 8192

typedef struct wr {
    dv_sink *sink;
    const dv_instance *inst;
    dv_error *err;
    int explicit_vr, big_endian;
    int swap;          /* values are stored in the other byte order than the output's (BE read, LE written) */
    uint8_t buf[WBUF];
    size_t n;
} wr;

static int w_flush(wr *w)
{
    if (w->n && w->sink->write(w->sink->ctx, w->buf, w->n) != 0)
        return dv_fail(w->err, DV_ERR_IO, "write failed");
    w->n = 0;
    return 0;
}

static int w_bytes(wr *w, const void *p, size_t len)
{
    if (len > WBUF - w->n) {
        if (w_flush(w) != 0)
            return -1;
        if (len > WBUF)
            return w->sink->write(w->sink->ctx, p, len) == 0 ? 0 : dv_fail(w->err, DV_ERR_IO, "write failed");
    }
    memcpy(w->buf + w->n, p, len);
    w->n += len;
    return 0;
}

/* be: the output's byte order, passed by value (a store through uint8_t * may alias *w, so reading w->big_endian
 * here would reload it after every byte). */
static inline void put_u16(int be, uint8_t *b, uint16_t v)
{
    if (be)
        b[0] = (uint8_t)(v >> 8), b[1] = (uint8_t)v;
    else
        b[0] = (uint8_t)v, b[1] = (uint8_t)(v >> 8);
}

static inline void put_u32(int be, uint8_t *b, uint32_t v)
{
    if (be) {
        b[0] = (uint8_t)(v >> 24), b[1] = (uint8_t)(v >> 16), b[2] = (uint8_t)(v >> 8), b[3] = (uint8_t)v;
    } else {
        b[0] = (uint8_t)v, b[1] = (uint8_t)(v >> 8), b[2] = (uint8_t)(v >> 16), b[3] = (uint8_t)(v >> 24);
    }
}

/* An encoded header of n <= 12 bytes: one fixed-size copy when the buffer has room (most headers), so the
 * per-element cost is a few stores, not one call per field. */
static int w_head_bytes(wr *w, const uint8_t h[12], size_t n)
{
    if (WBUF - w->n >= 12) {
        memcpy(w->buf + w->n, h, 12);
        w->n += n;
        return 0;
    }
    return w_bytes(w, h, n);
}

static inline void put_tag(int be, uint8_t *b, uint32_t tag)
{
    put_u16(be, b, DV_TAG_GROUP(tag));
    put_u16(be, b + 2, DV_TAG_ELEMENT(tag));
}

/* A tag and a 32-bit length: item, item delimiter, sequence delimiter (and an implicit-VR header). */
static int w_tag_len(wr *w, uint32_t tag, uint32_t len)
{
    uint8_t h[12] = {0};
    int be = w->big_endian;
    put_tag(be, h, tag);
    put_u32(be, h + 4, len);
    return w_head_bytes(w, h, 8);
}

static uint64_t padded(uint64_t len)
{
    return len + (len & 1);
}

/* A short-length VR whose (padded) value does not fit 16 bits is written as UN (long length). */
static uint16_t write_vr(const dv_elem *e)
{
    uint16_t vr = e->vr ? e->vr : DV_VR_UN;
    if (!dv_vr_has_long_length(vr) && padded(e->length) > 0xFFFF)
        return DV_VR_UN;
    return vr;
}

static uint64_t header_size(const wr *w, const dv_elem *e)
{
    if (!w->explicit_vr)
        return 8;
    return dv_vr_has_long_length(write_vr(e)) ? 12 : 8;
}

static uint64_t ds_size(wr *w, const dv_ds *ds);
static int skipped_on_write(const dv_elem *e);

static uint64_t elem_size(wr *w, dv_elem *e)
{
    uint64_t h = header_size(w, e);
    if (e->flags & DV_ELEM_SEQUENCE) {
        uint64_t body = 0;
        for (dv_item *it = e->items; it; it = it->next) {
            uint64_t n = ds_size(w, &it->ds);
            it->enc_len = n >= DV_UNDEFINED_LENGTH ? DV_UNDEFINED_LENGTH : (uint32_t)n;
            body += 8 + n + (it->undefined_length || n >= DV_UNDEFINED_LENGTH ? 8 : 0);
        }
        e->enc_len = body;
        return h + body + ((e->flags & DV_ELEM_UNDEF_LEN) || body >= DV_UNDEFINED_LENGTH ? 8 : 0);
    }
    return h + (e->flags & DV_ELEM_ENCAPSULATED ? e->length : padded(e->length));
}

/* Never written from the dataset: group lengths (dv_tag_is_group_length: the one place they are dropped), file meta
 * elements (group 0002) found in the dataset (the file meta is regenerated), and command elements (group 0000,
 * PS3.5 7.1: a DIMSE message's, never a stored instance's), whatever the profile: a value there is no attribute of
 * the instance and none decides on it, so an element of group 0000 that a writer left between the file meta and
 * the dataset kept the patient's name under Basic (stop 37's red team). Group 0004 (a DICOMDIR's) stays with the
 * plan: PS3.15 gives ReferencedSOPInstanceUIDInFile a row (U). [test_reader: test_foreign_groups_dropped] */
static int skipped_on_write(const dv_elem *e)
{
    uint16_t g = DV_TAG_GROUP(e->tag);
    return dv_tag_is_group_length(e->tag) || g == 0x0000 || g == 0x0002;
}

static uint64_t ds_size(wr *w, const dv_ds *ds)
{
    uint64_t total = 0;
    for (dv_elem *e = ds->first; e; e = e->next)
        if (!skipped_on_write(e))
            total += elem_size(w, e);
    return total;
}

static int w_header(wr *w, uint32_t tag, uint16_t vr, uint32_t len)
{
    if (!w->explicit_vr)
        return w_tag_len(w, tag, len);
    uint8_t h[12] = {0};
    int be = w->big_endian;
    put_tag(be, h, tag);
    char vc[3];
    dv_vr_to_chars(vr, vc);
    h[4] = (uint8_t)vc[0];
    h[5] = (uint8_t)vc[1];
    if (dv_vr_has_long_length(vr)) { /* 2 reserved bytes (zero), then a 32-bit length */
        put_u32(be, h + 8, len);
        return w_head_bytes(w, h, 12);
    }
    put_u16(be, h + 6, (uint16_t)len);
    return w_head_bytes(w, h, 8);
}

static int w_ds(wr *w, const dv_ds *ds);

/* A value written in the other byte order: through the write buffer in chunks (bulk values stream). */
static int w_value_swapped(wr *w, const dv_elem *e, unsigned unit)
{
    uint64_t off;
    const dv_source *src = (e->flags & DV_ELEM_BULK) ? dv_elem_source(w->inst, e, &off) : NULL;
    uint64_t done = 0;
    while (done < e->length) {
        size_t room = (WBUF - w->n) / 8 * 8;
        if (room == 0) {
            if (w_flush(w) != 0)
                return -1;
            room = WBUF;
        }
        size_t n = e->length - done < room ? (size_t)(e->length - done) : room;
        uint8_t *p = w->buf + w->n;
        if (src) {
            if (src->read_at(src->ctx, off + done, p, n) != 0)
                return dv_fail(w->err, DV_ERR_IO, "reading " TAGF " failed", TAGA(e->tag));
        } else {
            memcpy(p, e->value + done, n);
        }
        dv_swap_bytes(p, n, unit);
        w->n += n;
        done += n;
    }
    return 0;
}

/* A bulk value or the raw fragments of an encapsulated one: what the reader still holds of it comes from
 * memory (dv_instance_held), the rest from its source (dv_sink_copy). */
static int w_copy(wr *w, const dv_source *src, uint64_t off, uint64_t len)
{
    uint64_t n = len;
    /* A range in the source's own memory goes to the sink whole (a file sink writes it from there). */
    int in_mem = dv_source_mem_at(src, off, len) != NULL;
    const uint8_t *held = !in_mem && src == &w->inst->data && len ? dv_instance_held(w->inst, off, &n) : NULL;
    if (held) {
        if (w->sink->write(w->sink->ctx, held, (size_t)n) != 0)
            return -1;
        off += n;
        len -= n;
    }
    return dv_sink_copy(w->sink, src, off, len);
}

/* An encapsulated value as it is, but for its patches (patch.c): the bytes between them copied, each patch's
 * own bytes (zeros, its literal, or a fill of its one byte) written in place of the value's. */
static int w_copy_patched(wr *w, const dv_elem *e, const dv_source *src, uint64_t off)
{
    static const uint8_t zeros[4096];
    uint8_t fill[4096];
    const dv_patch *p;
    size_t np = dv_instance_patches(w->inst, e, &p);
    uint64_t done = 0;
    for (size_t i = 0; i < np; i++, p++) {
        if (w_copy(w, src, off + done, p->at - done) != 0)
            return -1;
        int is_fill = p->nlit == 1 && p->len > 1;
        const uint8_t *bytes = p->nlit && !is_fill ? p->lit : zeros;
        if (is_fill && p->lit[0]) {
            memset(fill, p->lit[0], sizeof fill);
            bytes = fill;
        }
        for (uint64_t left = p->len; left;) {
            size_t n = p->nlit && !is_fill ? p->nlit : left < sizeof zeros ? (size_t)left : sizeof zeros;
            if (w->sink->write(w->sink->ctx, bytes, n) != 0)
                return -1;
            left -= n;
        }
        done = p->at + p->len;
    }
    return w_copy(w, src, off + done, e->length - done);
}

static int w_elem(wr *w, const dv_ds *ds, const dv_elem *e)
{
    uint16_t vr = write_vr(e);
    if (e->flags & DV_ELEM_SEQUENCE) {
        int undef = (e->flags & DV_ELEM_UNDEF_LEN) || e->enc_len >= DV_UNDEFINED_LENGTH;
        if (w_header(w, e->tag, DV_VR_SQ, undef ? DV_UNDEFINED_LENGTH : (uint32_t)e->enc_len) != 0)
            return -1;
        for (const dv_item *it = e->items; it; it = it->next) {
            int iundef = it->undefined_length || it->enc_len >= DV_UNDEFINED_LENGTH;
            if (w_tag_len(w, DV_TAG_ITEM, iundef ? DV_UNDEFINED_LENGTH : (uint32_t)it->enc_len) || w_ds(w, &it->ds))
                return -1;
            if (iundef && w_tag_len(w, DV_TAG_ITEM_DELIM, 0))
                return -1;
        }
        if (undef && w_tag_len(w, DV_TAG_SEQ_DELIM, 0))
            return -1;
        return 0;
    }
    if (e->flags & DV_ELEM_ENCAPSULATED) {
        /* Raw fragments including the sequence delimiter, copied untouched. */
        if (w_header(w, e->tag, vr, DV_UNDEFINED_LENGTH) != 0 || w_flush(w) != 0)
            return -1;
        uint64_t off;
        const dv_source *src = dv_elem_source(w->inst, e, &off);
        if (w_copy_patched(w, e, src, off) != 0)
            return dv_fail(w->err, DV_ERR_IO, "copying " TAGF " failed", TAGA(e->tag));
        return 0;
    }
    uint64_t len = padded(e->length);
    if (len > 0xFFFFFFFEu)
        return dv_fail(w->err, DV_ERR_INVALID, "element " TAGF " is too long to encode", TAGA(e->tag));
    if (w_header(w, e->tag, vr, (uint32_t)len) != 0)
        return -1;
    unsigned unit = 1;
    if (w->swap && !(e->flags & DV_ELEM_EXTERNAL)) /* only after a transfer syntax change from big endian */
        unit = e->tag == DV_TAG_PIXEL_DATA ? dv_pixel_swap_unit(w->inst, ds, e) : dv_vr_swap_unit(e->vr);
    if (unit > 1) {
        if (w_value_swapped(w, e, unit) != 0)
            return -1;
    } else if (e->flags & DV_ELEM_BULK) {
        uint64_t off;
        const dv_source *src = dv_elem_source(w->inst, e, &off);
        if (w_flush(w) != 0)
            return -1;
        if (w_copy(w, src, off, e->length) != 0)
            return dv_fail(w->err, DV_ERR_IO, "copying " TAGF " failed", TAGA(e->tag));
    } else if (e->length && w_bytes(w, e->value, (size_t)e->length) != 0) {
        return -1;
    }
    if (e->length & 1) {
        /* A private creator is LO whatever VR it arrived with (PS3.5 7.8.1): an odd one read as OB/UN is padded
         * with a space, not a NUL (dciodvfy: "Trailing character invalid"; test_text_nci_config's sample). */
        uint8_t pad = dv_vr_is_text(e->vr) || DV_TAG_IS_PRIVATE_CREATOR(e->tag) ? ' ' : 0;
        return w_bytes(w, &pad, 1);
    }
    return 0;
}

static int w_ds(wr *w, const dv_ds *ds)
{
    for (const dv_elem *e = ds->first; e; e = e->next) {
        if (skipped_on_write(e))
            continue;
        if (w_elem(w, ds, e) != 0)
            return -1;
    }
    return 0;
}


/* File meta: explicit VR little endian, always. */
static int w_meta_elem(wr *w, uint32_t tag, uint16_t vr, const void *v, size_t len, uint8_t pad)
{
    size_t plen = len + (len & 1);
    if (w_header(w, tag, vr, (uint32_t)plen) != 0 || (len && w_bytes(w, v, len) != 0))
        return -1;
    return (len & 1) ? w_bytes(w, &pad, 1) : 0;
}

static size_t meta_elem_size(uint16_t vr, size_t len)
{
    return (dv_vr_has_long_length(vr) ? 12 : 8) + len + (len & 1);
}

/* Transfer syntaxes whose pixel data is native (not encapsulated). */
static int ts_is_native(dv_ts_kind k, const char *uid)
{
    return k != DV_TS_EXPLICIT_LE || !strcmp(uid, "1.2.840.10008.1.2.1");
}

int dv_instance_set_transfer_syntax(dv_instance *inst, const char *uid, dv_error *err)
{
    dv_error_clear(err);
    size_t n = uid ? strlen(uid) : 0;
    if (!uid || !dv_uid_valid(uid, n))
        return dv_fail(err, DV_ERR_USAGE, "transfer syntax: not a UID");
    if (!strcmp(uid, "1.2.840.10008.1.2.2"))
        return dv_fail(err, DV_ERR_UNSUPPORTED, "transfer syntax: explicit VR big endian is retired; not written");
    if (!inst->ts_changed) {
        /* The values keep the byte order they were read in; the writer swaps them (DECISIONS: docs/decisions.md
         * "transfer syntax change"). */
        inst->values_big_endian = inst->ts_kind == DV_TS_EXPLICIT_BE;
        inst->ts_changed = 1;
    }
    memcpy(inst->ts_uid, uid, n + 1);
    if (!strcmp(uid, "1.2.840.10008.1.2"))
        inst->ts_kind = DV_TS_IMPLICIT_LE;
    else if (!strcmp(uid, "1.2.840.10008.1.2.1.99"))
        inst->ts_kind = DV_TS_DEFLATED_LE;
    else
        inst->ts_kind = DV_TS_EXPLICIT_LE;
    return 0;
}

/* After a transfer syntax change the pixel data must match it: native pixels in a native syntax, fragments in
 * an encapsulated one (the caller replaces the pixel data when it re-encodes). */
static int check_pixel_encoding(const dv_instance *inst, dv_error *err)
{
    const dv_elem *px = dv_ds_find(&inst->ds, DV_TAG_PIXEL_DATA);
    if (!px || (px->flags & DV_ELEM_SEQUENCE))
        return 0;
    int encapsulated = (px->flags & DV_ELEM_ENCAPSULATED) != 0;
    if (ts_is_native(inst->ts_kind, inst->ts_uid) && encapsulated)
        return dv_fail(err, DV_ERR_INVALID, "encapsulated " TAGF " in a native transfer syntax", TAGA(px->tag));
    if (!ts_is_native(inst->ts_kind, inst->ts_uid) && !encapsulated)
        return dv_fail(err, DV_ERR_INVALID, "native " TAGF " in an encapsulated transfer syntax", TAGA(px->tag));
    return 0;
}

int dv_instance_write(const dv_instance *inst, dv_sink *sink, dv_error *err)
{
    dv_error_clear(err);
    char cls[65], sop[65];
    dv_elem_uid_text(dv_ds_find(&inst->ds, DV_TAG_SOP_CLASS_UID), cls, sizeof cls);
    if (!cls[0])
        dv_elem_uid_text(dv_ds_find(&inst->meta, DV_TAG_MEDIA_STORAGE_SOP_CLASS_UID), cls, sizeof cls);
    dv_elem_uid_text(dv_ds_find(&inst->ds, DV_TAG_SOP_INSTANCE_UID), sop, sizeof sop);
    if (!cls[0])
        return dv_fail(err, DV_ERR_INVALID, "instance has no SOPClassUID");
    if (!sop[0])
        return dv_fail(err, DV_ERR_INVALID, "instance has no SOPInstanceUID");
    if (inst->ts_changed && check_pixel_encoding(inst, err) != 0)
        return -1;

    /* Fields set one by one: zeroing the whole struct (malloc + memset, which the compiler makes a calloc)
     * also cleared the 8 KiB buffer, 6 % of a small-file run's instructions. */
    wr *w = malloc(sizeof *w);
    if (!w)
        return dv_fail(err, DV_ERR_NOMEM, "out of memory");
    w->sink = sink;
    w->inst = inst;
    w->err = err;
    w->explicit_vr = 1;
    w->big_endian = 0;
    w->swap = 0;
    w->n = 0;

    static const uint8_t version[2] = { 0x00, 0x01 };
    const char *ts = inst->ts_uid;
    size_t group_len = meta_elem_size(DV_VR_OB, 2) + meta_elem_size(DV_VR_UI, strlen(cls)) +
                       meta_elem_size(DV_VR_UI, strlen(sop)) + meta_elem_size(DV_VR_UI, strlen(ts)) +
                       meta_elem_size(DV_VR_UI, strlen(DV_IMPLEMENTATION_CLASS_UID)) +
                       meta_elem_size(DV_VR_SH, strlen(DV_IMPLEMENTATION_VERSION));
    uint8_t preamble[132] = { 0 };
    memcpy(preamble + 128, "DICM", 4);
    uint8_t gl[4] = { (uint8_t)group_len, (uint8_t)(group_len >> 8), (uint8_t)(group_len >> 16),
                      (uint8_t)(group_len >> 24) };
    int rc = -1;
    if (w_bytes(w, preamble, sizeof preamble) || w_meta_elem(w, DV_TAG_FILE_META_INFORMATION_GROUP_LENGTH, DV_VR_UL, gl, 4, 0) ||
        w_meta_elem(w, DV_TAG_FILE_META_INFORMATION_VERSION, DV_VR_OB, version, 2, 0) || w_meta_elem(w, DV_TAG_MEDIA_STORAGE_SOP_CLASS_UID, DV_VR_UI, cls, strlen(cls), 0) ||
        w_meta_elem(w, DV_TAG_MEDIA_STORAGE_SOP_INSTANCE_UID, DV_VR_UI, sop, strlen(sop), 0) || w_meta_elem(w, DV_TAG_TRANSFER_SYNTAX_UID, DV_VR_UI, ts, strlen(ts), 0) ||
        w_meta_elem(w, DV_TAG_IMPLEMENTATION_CLASS_UID, DV_VR_UI, DV_IMPLEMENTATION_CLASS_UID, strlen(DV_IMPLEMENTATION_CLASS_UID), 0) ||
        w_meta_elem(w, DV_TAG_IMPLEMENTATION_VERSION_NAME, DV_VR_SH, DV_IMPLEMENTATION_VERSION, strlen(DV_IMPLEMENTATION_VERSION), ' ') ||
        w_flush(w))
        goto done;

    w->explicit_vr = inst->ts_kind != DV_TS_IMPLICIT_LE;
    w->big_endian = inst->ts_kind == DV_TS_EXPLICIT_BE;
    w->swap = inst->ts_changed && inst->values_big_endian != w->big_endian;
    (void)ds_size(w, &inst->ds); /* fills the defined lengths of sequences and items */
    if (inst->ts_kind == DV_TS_DEFLATED_LE) {
        dv_deflate_sink *d = dv_deflate_sink_new(sink);
        if (!d) {
            dv_fail(err, DV_ERR_NOMEM, "out of memory");
            goto done;
        }
        dv_sink ds = dv_deflate_sink_as_sink(d);
        w->sink = &ds;
        if (w_ds(w, &inst->ds) || w_flush(w)) {
            dv_deflate_sink_abort(d);
            goto done;
        }
        w->sink = sink;
        if (dv_deflate_sink_finish(d) != 0) {
            dv_fail(err, DV_ERR_IO, "write failed");
            goto done;
        }
    } else if (w_ds(w, &inst->ds) || w_flush(w)) {
        goto done;
    }
    rc = 0;
done:
    free(w);
    return rc;
}
