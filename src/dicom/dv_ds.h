/* The in-memory dataset tree shared by the reader, the engine and the writer (internal).
 *
 * Every node is allocated in the owning instance's arena. A dataset is an ordered singly linked list of
 * elements (ascending tag order as read; inserts keep the order). Values are either inline (value/length),
 * bulk (offset/length in the instance's data source) or external (a caller's buffer or another source:
 * DV_ELEM_EXTERNAL); bulk and external values are streamed through by the writer. */
#ifndef DV_DS_H
#define DV_DS_H

#include <stddef.h>
#include <stdint.h>
#include "dicomveil/dv_instance.h"
#include "../util/dv_arena.h"

#define DV_UNDEFINED_LENGTH 0xFFFFFFFFu

#define DV_TAG(g, e) ((uint32_t)(((uint32_t)(g) << 16) | (uint32_t)(e)))
#define DV_TAG_GROUP(t) ((uint16_t)((t) >> 16))
#define DV_TAG_ELEMENT(t) ((uint16_t)((t) & 0xFFFF))
#define DV_TAG_IS_PRIVATE(t) ((DV_TAG_GROUP(t) & 1) != 0)
/* Private creator: odd group, element 0x0010-0x00FF. */
#define DV_TAG_IS_PRIVATE_CREATOR(t) (DV_TAG_IS_PRIVATE(t) && DV_TAG_ELEMENT(t) >= 0x10 && DV_TAG_ELEMENT(t) <= 0xFF)

/* Messages name tags, never values: printf("element " TAGF, TAGA(tag)) -> "element (0010,0010)". */
#define TAGF "(%04X,%04X)"
#define TAGA(t) (unsigned)DV_TAG_GROUP(t), (unsigned)DV_TAG_ELEMENT(t)

#define DV_TAG_ITEM 0xFFFEE000u
#define DV_TAG_ITEM_DELIM 0xFFFEE00Du
#define DV_TAG_SEQ_DELIM 0xFFFEE0DDu
#define DV_TAG_PIXEL_DATA 0x7FE00010u
#define DV_TAG_EXTENDED_OFFSET_TABLE 0x7FE00001u
#define DV_TAG_EXTENDED_OFFSET_TABLE_LENGTHS 0x7FE00002u

/* Group lengths (gggg,0000): retired outside group 0002, and wrong after any edit. The one home of the rule
 * (issue 5 item 6): the tree may hold them as read, nothing decides on them, the writer never writes them
 * (it regenerates the file meta's own group length). [test_engine: test_group_lengths, test_nested_basic] */
static inline int dv_tag_is_group_length(uint32_t tag)
{
    return (tag & 0xFFFFu) == 0;
}

/* The UIDs of the two explicit VR native syntaxes, which answers and re-encoded outputs name. */
#define DV_TS_UID_EXPLICIT_LE "1.2.840.10008.1.2.1"
#define DV_TS_UID_EXPLICIT_BE "1.2.840.10008.1.2.2"

typedef enum dv_ts_kind {
    DV_TS_IMPLICIT_LE = 0,
    DV_TS_EXPLICIT_LE,
    DV_TS_EXPLICIT_BE,
    DV_TS_DEFLATED_LE   /* Deflated Explicit VR Little Endian */
} dv_ts_kind;

typedef struct dv_elem dv_elem;
typedef struct dv_item dv_item;

typedef struct dv_ds {
    dv_elem *first, *last;
} dv_ds;

/* Items are the one node a file can multiply cheaply (8 bytes each on disk when empty), so they are kept at
 * 32 bytes, the arena's 16-byte granule x 2: one sequence of 1 million empty items fits the default 32 MiB
 * metadata cap (test_reader_limits: test_million_empty_items). */
struct dv_item {
    dv_ds ds;
    dv_item *next;
    uint32_t enc_len;          /* scratch for the writer: the encoded length (saturates at 0xFFFFFFFF) */
    uint32_t undefined_length; /* written back the way it was read (0 or 1) */
};

enum {
    DV_ELEM_BULK = 1u << 0,          /* value is in the data source at offset */
    DV_ELEM_UNDEF_LEN = 1u << 1,     /* SQ or encapsulated pixel data read with undefined length */
    DV_ELEM_ENCAPSULATED = 1u << 2,  /* raw encapsulated fragments incl. the sequence delimiter, copied as is */
    DV_ELEM_SEQUENCE = 1u << 3,      /* items are valid (SQ, or UN parsed as SQ per CP-246) */
    /* The value lives outside the instance's arena and source (dv_elem_set_external / _stream): value
     * points at a dv_ext (dataset.c), always together with DV_ELEM_BULK so code that does not know external
     * values treats them as bulk (not inline). With DV_ELEM_ENCAPSULATED: raw fragment items incl. the
     * sequence delimiter. */
    DV_ELEM_EXTERNAL = 1u << 4
};

struct dv_elem {
    uint32_t tag;
    uint16_t vr;         /* VR used for writing (explicit) and for decisions; dictionary VR for implicit */
    uint16_t flags;
    uint64_t length;     /* value bytes (inline or bulk); for encapsulated: bytes of the raw fragment region */
    const uint8_t *value;/* inline value (arena), NULL when bulk or sequence */
    uint64_t offset;     /* bulk: offset in the instance data source */
    dv_item *items;      /* sequence items, in order */
    uint32_t nitems;
    uint64_t enc_len;    /* scratch for the writer (encoded length of a defined-length sequence) */
    dv_elem *next;
};

struct dv_instance {
    dv_arena arena;
    dv_limits limits;
    const dv_source *src;      /* caller's source */
    dv_source data;            /* where bulk offsets point: the caller's source, or the inflated stream */
    struct dv_inflated *inflated; /* the streaming inflater behind data (deflated transfer syntax) or NULL */
    dv_ts_kind ts_kind;
    char ts_uid[65];
    int had_meta;              /* input was Part 10 with a file meta group */
    int is_directory;
    dv_ds meta;                /* input file meta elements (read-only; regenerated on write) */
    dv_ds ds;                  /* the dataset */
    struct dv_ext *externals;  /* external values, released by dv_instance_free (dataset.c) */
    int ts_changed;            /* dv_instance_set_transfer_syntax ran: values_big_endian is the stored order */
    int values_big_endian;     /* inline and bulk binary values are big endian (read from explicit VR BE) */
    const uint8_t *held;       /* the reader's last window over data, kept when small (reader.c), or NULL: in */
    uint8_t *held_buf;         /* held_buf (owned), or in the source's own memory (data.mem, borrowed) */
    uint64_t held_off;
    size_t held_len;
    struct dv_patch *patches;  /* byte ranges the writer writes in place of an encapsulated value's (patch.c) */
    size_t npatches, patches_cap;
};

/* --- tree helpers (dataset.c) --- */
dv_elem *dv_ds_find(const dv_ds *ds, uint32_t tag);
/* Insert or replace a top-level inline element keeping ascending tag order. value is copied. */
dv_elem *dv_ds_put(dv_instance *inst, dv_ds *ds, uint32_t tag, uint16_t vr, const void *value, uint64_t len);
/* Unlink (delete) the element e from ds (searches for its predecessor). */
void dv_ds_remove(dv_ds *ds, dv_elem *e);
/* O(1) unlink when the caller holds e's predecessor (NULL when e is first): for walks that delete. */
void dv_ds_unlink(dv_ds *ds, dv_elem *prev, dv_elem *e);
/* Put ds's elements in ascending tag order (stable), keeping the first of a repeated tag and dropping the others
 * (docs/decisions.md "Elements are written in ascending order, once"). Returns how many were dropped. The
 * reader calls it for a dataset or item it read out of order. */
size_t dv_ds_sort(dv_ds *ds);
/* Replace e's value with an inline copy of value (clears bulk/sequence state). Returns 0 or -1 (arena cap). */
int dv_elem_set_value(dv_instance *inst, dv_elem *e, const void *value, uint64_t len);
/* Make e an empty sequence (SQ) or an empty value. */
void dv_elem_set_empty(dv_elem *e);
/* 1 when e has no value and no items (an empty value or an empty sequence). */
int dv_elem_is_empty(const dv_elem *e);
/* 1 when e is an inline (non-sequence) value of VR vr equal to the n bytes at v. */
int dv_elem_value_equals(const dv_elem *e, uint16_t vr, const void *v, uint64_t n);
/* The inline value bytes of e (e->length of them), or NULL when the value is bulk, external or a sequence. */
const uint8_t *dv_elem_inline_value(const dv_elem *e);
/* The UID text of an inline element: up to its first NUL or backslash (its first value), trailing spaces
 * removed, NUL-terminated in out. Returns the length, or -1 (out = "") when e is NULL, bulk, a sequence, or
 * the text does not fit cap - 1.
 * The reader, the writer and the engine all use this one reading, so a rewritten file reads back the same. */
int dv_elem_uid_text(const dv_elem *e, char *out, size_t cap);
/* The bytes of inst->data from off on that the reader still holds (its last window, reader.c): a pointer to
 * them, with *len cut to how many of the *len asked for are held; NULL when off is not held. Serving bulk values
 * from them spares a read of the source (a small file's pixel data: one pread less per file). */
const uint8_t *dv_instance_held(const dv_instance *inst, uint64_t off, uint64_t *len);
/* Load a value into buf (inline, bulk or external). Returns 0 or -1. len = e->length must fit in cap. */
int dv_elem_read_value(const dv_instance *inst, const dv_elem *e, void *buf, uint64_t cap);

/* --- tree building (dataset.c): the engine never sets flags, items or links by hand (issue 5 item 4) --- */
/* Make e an empty defined-length sequence (VR SQ, no items), dropping any value it had. */
void dv_elem_set_sequence(dv_elem *e);
/* Insert or replace the element tag of ds with an empty sequence. NULL when the arena cap is hit. */
dv_elem *dv_ds_put_sequence(dv_instance *inst, dv_ds *ds, uint32_t tag);
/* Append a new empty defined-length item to the sequence seq (which must be a sequence). NULL on cap. */
dv_item *dv_seq_append_item(dv_instance *inst, dv_elem *seq);
/* Insert or replace an inline element of an item (tag order kept); value is copied. */
dv_elem *dv_item_put(dv_instance *inst, dv_item *item, uint32_t tag, uint16_t vr, const void *value, uint64_t len);
/* Insert or replace a top-level binary value of one number encoded in the order the instance's values are
 * stored in (big endian after an explicit VR BE read): for image-pixel attributes (Rows, BitsAllocated...). */
dv_elem *dv_ds_put_u16(dv_instance *inst, dv_ds *ds, uint32_t tag, uint16_t v);
/* The same for a UL (EncapsulatedDocumentLength after a document is cleaned). */
dv_elem *dv_ds_put_u32(dv_instance *inst, dv_ds *ds, uint32_t tag, uint32_t v);

/* Values owned outside the arena. The release callback of dv_elem_set_external runs once, when the instance
 * is freed (even when the element was replaced or removed meanwhile). On failure (-1: arena cap) nothing is
 * taken over: the caller still owns data. */
typedef void (*dv_release_fn)(void *user, void *data);
/* e's value becomes len bytes at data (caller-allocated). encapsulated = 1: data is the raw fragment items
 * (offset table item, fragments, sequence delimiter) of encapsulated pixel data. */
int dv_elem_set_external(dv_instance *inst, dv_elem *e, uint16_t vr, void *data, uint64_t len, int encapsulated,
                         dv_release_fn release, void *user);
/* e's value becomes len bytes at offset in src (src is copied; its context must outlive the instance). */
int dv_elem_set_stream(dv_instance *inst, dv_elem *e, uint16_t vr, const dv_source *src, uint64_t offset,
                       uint64_t len, int encapsulated);
/* Where a bulk, encapsulated or external value's bytes are: the source and the offset in it. External values
 * are little endian (never swapped by the writer); the instance's own values are in the input's order. */
const dv_source *dv_elem_source(const dv_instance *inst, const dv_elem *e, uint64_t *offset);

/* --- encapsulated values (frames.c) --- */
/* fn(user, k, item header offset, value offset, value length) for each item of the encapsulated value of
 * element tag at [start, end) of src, up to its sequence delimiter; item 0 is the Basic Offset Table. Returns 0,
 * or -1 with err: DV_ERR_MALFORMED (a truncated value, a bad item header), DV_ERR_LIMIT, or fn's -1. */
typedef int (*dv_item_fn)(void *user, uint32_t k, uint64_t header, uint64_t value, uint32_t len);
int dv_encapsulated_items(const dv_source *src, uint32_t tag, uint64_t start, uint64_t end, dv_item_fn fn,
                          void *user, dv_error *err);

/* The top-level native PixelData (NULL when absent, encapsulated or a sequence) and in *need the bytes its
 * attributes say it holds: NumberOfFrames x Rows x Columns x samples x BitsAllocated bits, rounded up to a byte
 * (two samples a pixel for YBR_FULL_422 / YBR_PARTIAL_422); 0 when an attribute is missing or unusable. */
dv_elem *dv_native_pixels(dv_instance *inst, uint64_t *need);

/* --- patches (patch.c) ---
 * Byte ranges of an encapsulated value that the writer writes instead of the value's own bytes, the value's
 * length unchanged: how embedded comments and application segments of a codestream are cleared without
 * reading the whole value into memory (src/engine/pixel_container.c). A patch is len zero bytes, the nlit
 * (<= 4) bytes of lit (then len == nlit), or len copies of one byte (nlit 1, len > 1: how an RLE segment's
 * tail becomes no-ops). at counts from the start of the value (the first item header). */
typedef struct dv_patch {
    const dv_elem *e;
    uint64_t at, len;
    uint8_t lit[4];
    uint8_t nlit;
} dv_patch;
/* Add a patch of e: the patches of one element are added in ascending order and do not overlap, and every
 * one lies inside the value. Returns 0, or -1 with err (DV_ERR_USAGE: out of order, outside the value, not an
 * encapsulated value; DV_ERR_LIMIT: past the metadata cap). */
int dv_instance_add_patch(dv_instance *inst, const dv_elem *e, uint64_t at, uint64_t len, const uint8_t *lit,
                          unsigned nlit, dv_error *err);
/* e's patches, in order: *first and their count (0: none). */
size_t dv_instance_patches(const dv_instance *inst, const dv_elem *e, const dv_patch **first);
/* Forget every patch (the pixel data was replaced). */
void dv_instance_drop_patches(dv_instance *inst);

/* --- byte order (byteorder.c) --- */
/* 1 when the instance's inline and bulk binary values are stored big endian (read from explicit VR BE). */
int dv_values_big_endian(const dv_instance *inst);
/* A US value of ds (stored order). Returns 0, or -1 when absent, not inline or shorter than 2 bytes. */
int dv_ds_get_u16(const dv_instance *inst, const dv_ds *ds, uint32_t tag, uint16_t *out);
/* Size of the number a VR's value is made of when its byte order changes (PS3.5 7.3): US/SS/OW/AT 2, UL/SL/FL/
 * OL/OF 4, FD/SV/UV/OD/OV 8, else 1 (bytes, text, UN). */
unsigned dv_vr_swap_unit(uint16_t vr);
/* The same for PixelData px of dataset ds: OW pixels up to 16 bits are 16-bit words (8-bit pixels in OW swap
 * in pairs, as the standard's OW and dcmtk do); 32/64-bit pixels swap per pixel (as pydicom reads them). */
unsigned dv_pixel_swap_unit(const dv_instance *inst, const dv_ds *ds, const dv_elem *px);
void dv_swap_bytes(uint8_t *p, size_t n, unsigned unit);

#endif
