/* The packed forms of a kept private value (packed_values.h): which one a value starts as, and the walk of a ZIP
 * archive's local headers to inflate each deflated entry (APPNOTE.TXT 4.3.7: local file header, data, optional data
 * descriptor, repeated; then the central directory, whose names the caller reads as the archive's bytes). */
#include <string.h>
#include <zlib.h>

#include "engine/document_text.h"
#include "engine/packed_values.h"

/* An archive of more entries than this is not all looked at: deleted (the safe answer), not walked for minutes. */
#define ZIP_ENTRIES_MAX 4096u

#define ZIP_LOCAL_HEADER 30u
#define ZIP_FLAG_ENCRYPTED 0x0001u
#define ZIP_FLAG_DESCRIPTOR 0x0008u /* sizes follow the data, the header's are 0 */
#define ZIP_STORED 0u
#define ZIP_DEFLATED 8u

static int starts(const uint8_t *v, size_t n, const char *sig, size_t k)
{
    return n >= k && memcmp(v, sig, k) == 0;
}

static uint32_t le16(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const uint8_t *p)
{
    return le16(p) | le16(p + 2) << 16;
}

/* zlib (RFC 1950: CM 8, a window of at most 32 KiB, a valid FCHECK, no preset dictionary) or gzip (1F 8B 08) */
static int zlib_or_gzip(const uint8_t *v, size_t n)
{
    if (n >= 3 && v[0] == 0x1F && v[1] == 0x8B && v[2] == 8)
        return 1;
    return n >= 2 && (v[0] & 0x0F) == 8 && (v[0] >> 4) <= 7 && ((unsigned)v[0] << 8 | v[1]) % 31 == 0 &&
           !(v[1] & 0x20);
}

/* bzip2 (`BZh` and a level, then a block's or the end's 48-bit magic), xz, zstd, LZ4 frames, 7-Zip, RAR, lzip,
 * and Unix compress (1F 9D, flags with bits 5 and 6 clear and 9 to 16 bits a code) */
static int other_packed(const uint8_t *v, size_t n)
{
    if (n >= 10 && v[0] == 'B' && v[1] == 'Z' && v[2] == 'h' && v[3] >= '1' && v[3] <= '9' &&
        (memcmp(v + 4, "\x31\x41\x59\x26\x53\x59", 6) == 0 || memcmp(v + 4, "\x17\x72\x45\x38\x50\x90", 6) == 0))
        return 1;
    if (n >= 3 && v[0] == 0x1F && v[1] == 0x9D && !(v[2] & 0x60) && (v[2] & 0x1F) >= 9 && (v[2] & 0x1F) <= 16)
        return 1;
    return starts(v, n, "\xFD" "7zXZ\x00", 6) || starts(v, n, "\x28\xB5\x2F\xFD", 4) ||
           starts(v, n, "\x04\x22\x4D\x18", 4) || starts(v, n, "7z\xBC\xAF\x27\x1C", 6) ||
           starts(v, n, "Rar!\x1A\x07", 6) || starts(v, n, "LZIP\x01", 5);
}

dv_packed_kind dv_packed_kind_of(const uint8_t *v, size_t n)
{
    if (zlib_or_gzip(v, n))
        return DV_PACKED_STREAM;
    if (starts(v, n, "PK\x03\x04", 4))
        return DV_PACKED_ZIP;
    return other_packed(v, n) ? DV_PACKED_UNREADABLE : DV_PACKED_NONE;
}

/* Output a trial inflate may make before the bytes are taken as a stream: past it they are one (fail closed). */
#define TRIAL_OUT_MAX (64u * 1024u)

/* Do v[0, n), which start with a valid zlib header (2 bytes: about 1 in 2,000 random starts pass, more for text
 * starting `x^` or `H`), inflate without an error? A trial inflate: one that ends, runs out of input, or makes
 * TRIAL_OUT_MAX bytes is a stream (or may be one: what follows is not at hand); one zlib calls data in error
 * within its first block (an invalid block type, code lengths or distance: text fails in its first bytes) is not,
 * and its bytes are looked at as they are (stop 53's reviewer: such text inflated from a stream was deleted as
 * packed twice). Out of memory: taken as a stream. */
static int zlib_inflates(const uint8_t *v, size_t n)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit(&zs) != Z_OK)
        return 1;
    uint8_t out[4096];
    zs.next_in = (Bytef *)v;
    zs.avail_in = (uInt)(n > UINT32_MAX ? UINT32_MAX : n);
    int rc, blocks = 0;
    do {
        zs.next_out = out;
        zs.avail_out = sizeof out;
        rc = inflate(&zs, Z_BLOCK); /* returns at each block's end: bit 128 of data_type */
        blocks += rc == Z_OK && (zs.data_type & 128) && zs.total_in > 2; /* past the header: a block ended */
    } while (rc == Z_OK && zs.avail_in > 0 && zs.total_out < TRIAL_OUT_MAX);
    inflateEnd(&zs);
    /* A whole block inflated before the error is a reader's too (a streaming inflate hands it out before it meets
     * the error): a stream (stop 54's second review: a name in a block, then an invalid one, was looked at as its
     * compressed bytes and kept). Text read as deflate fails within its first block. */
    return (rc != Z_DATA_ERROR && rc != Z_NEED_DICT) || blocks > 0;
}

int dv_packed_nested(const uint8_t *v, size_t n)
{
    dv_packed_kind kind = dv_packed_kind_of(v, n);
    if (kind == DV_PACKED_STREAM && v[0] != 0x1F && !zlib_inflates(v, n))
        kind = other_packed(v, n) ? DV_PACKED_UNREADABLE : DV_PACKED_NONE; /* zlib's 2 bytes by chance */
    return kind != DV_PACKED_NONE || dv_doc_has_pdf_header(v, n);
}

/* A stored entry's first bytes: packed again, or a PDF (a header in its first KiB, where readers look for it, as
 * the value's own first KiB is judged), it is not read here (found); else its bytes are the archive's, which the
 * caller looks at as they are. */
static int stored_entry_holds(const uint8_t *v, size_t n)
{
    return dv_packed_nested(v, n < 1024 ? n : 1024);
}

/* Did the walk of the local headers end where the central directory (or, with no entry read, the end record)
 * starts? Anything else there (a byte between two entries, a ZIP64 data descriptor of 8-byte sizes read as one of
 * 4-byte sizes, a cut archive) may be followed by entries a reader finds through the central directory, which the
 * walk never inflated: the archive was not all read. */
static int walk_ended_at_directory(const uint8_t *z, size_t zn, size_t off)
{
    return zn - off >= 4 && (memcmp(z + off, "PK\x01\x02", 4) == 0 || memcmp(z + off, "PK\x05\x06", 4) == 0);
}

/* The end record's offset in z[0, zn): the last `PK 5 6` with its 22 bytes, within the 64 KiB of comment it may be
 * followed by (and a DICOM value's padding byte); SIZE_MAX when there is none. Found forward by memchr of its `P`
 * (vectorized): every kept private value's end is looked at (dv_zip_ends_value), and a byte-by-byte compare cost
 * the shared corpus 1.2 % instructions under DEIDENTIFY_TAG_CONTENTS. */
static size_t end_record(const uint8_t *z, size_t zn)
{
    if (zn < 22)
        return SIZE_MAX;
    size_t lo = zn - 22 > 65536 ? zn - 22 - 65536 : 0, last = SIZE_MAX;
    const uint8_t *end = z + zn - 22 + 4; /* a signature's bytes lie before it */
    for (const uint8_t *p = z + lo; (p = memchr(p, 'P', (size_t)(end - p))) != NULL; p++)
        if (end - p >= 4 && memcmp(p, "PK\x05\x06", 4) == 0)
            last = (size_t)(p - z);
    return last;
}

/* A ZIP archive's central directory where readers find it: its size's bytes before the end record, every offset it
 * names `concat` bytes further on (Python's zipfile and unzip: the bytes before the archive of a self-extracting
 * one, whose offsets count from the archive's start; 0 for an archive starting at the value's first byte). */
typedef struct zip_dir {
    size_t at, end;  /* the directory's bytes */
    size_t concat;   /* added to every offset it names */
    uint32_t count;  /* its entries */
} zip_dir;

/* The directory that the end record rec, at offset e of its value, places: 1, -1 ZIP64's (its sizes and offsets
 * elsewhere), 0 one that does not fit in the value before the record. */
static int directory_placed(const uint8_t *rec, size_t e, zip_dir *d)
{
    uint32_t count = le16(rec + 10), size = le32(rec + 12), at = le32(rec + 16);
    if (count == 0xFFFFu || size == UINT32_MAX || at == UINT32_MAX)
        return -1;
    if (size > e || at > e - size)
        return 0;
    d->at = e - size;
    d->end = e;
    d->concat = e - size - at;
    d->count = count;
    return 1;
}

/* The directory the last end record of z[0, zn) places; 0 when there is none (no end record, ZIP64's, a directory
 * that does not fit before the record). */
static int zip_directory(const uint8_t *z, size_t zn, zip_dir *d)
{
    size_t e = end_record(z, zn);
    return e != SIZE_MAX && directory_placed(z + e, e, d) > 0;
}

/* Is there a 4-byte signature sig at the value's offset at, which t[0, tn), the value's last tn bytes of n, may
 * hold? 1 when it is there or lies before t (not read: taken as there, fail closed), 0 when t shows another. */
static int tail_sig_at(const uint8_t *t, size_t tn, uint64_t n, uint64_t at, const char *sig)
{
    uint64_t base = n - tn;
    return at < base || (at - base <= tn - 4 && memcmp(t + (at - base), sig, 4) == 0);
}

int dv_zip_ends_value(const uint8_t *t, size_t tn, uint64_t n)
{
    size_t e = end_record(t, tn);
    if (e == SIZE_MAX || n > SIZE_MAX)
        return 0;
    size_t at_e = (size_t)(n - tn) + e; /* the end record's offset in the value */
    zip_dir d;
    int placed = directory_placed(t + e, at_e, &d);
    if (placed < 0) /* ZIP64's: its locator 20 bytes before */
        return at_e >= 20 && tail_sig_at(t, tn, n, at_e - 20, "PK\x06\x07");
    /* no directory (an empty archive) or one that does not fit before the record: nothing a reader extracts */
    return placed > 0 && d.end > d.at && tail_sig_at(t, tn, n, d.at, "PK\x01\x02");
}

/* Does every entry the central directory d names start where the walk read a local header (walked[0, n),
 * ascending)? A reader extracts what the directory names: one pointing into another entry's data (an entry hidden
 * in a stored entry's bytes, deflated, which the walk looked at only as those bytes) or past the walk gives it an
 * entry the walk never inflated (stop 53's second review). A directory that is not one, or holds bytes past its
 * entries: not all read. */
static int directory_names_walked(const uint8_t *z, const zip_dir *d, const uint32_t *walked, unsigned n)
{
    uint32_t count = d->count;
    /* the entries the end record counts (unzip's) and every one the directory's size holds (zipfile's) */
    for (size_t p = d->at, end = d->end; count > 0 || p < end; count -= count > 0) {
        if (end - p < 46 || memcmp(z + p, "PK\x01\x02", 4) != 0)
            return 0;
        uint64_t local = (uint64_t)le32(z + p + 42) + d->concat;
        unsigned lo = 0, hi = n; /* binary search: the walk read its headers in ascending order */
        while (lo < hi) {
            unsigned mid = lo + (hi - lo) / 2;
            if (walked[mid] < local)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == n || walked[lo] != local)
            return 0;
        size_t len = 46u + le16(z + p + 28) + le16(z + p + 30) + le16(z + p + 32);
        if (len > end - p)
            return 0;
        p += len;
    }
    return 1;
}

/* Where the walk of z[0, zn)'s local headers starts: its first byte for an archive starting there, else (behind a
 * prefix) the first entry its directory names; SIZE_MAX when there is none to walk (not all read), or when the
 * prefix holds a local header: an entry there (another archive in a stub) is never walked, and a reader scanning
 * for local headers (7-Zip, `zip -FF`) extracts it (stop 54's second review). */
static size_t walk_start(const uint8_t *z, size_t zn, const zip_dir *d, int dir)
{
    if (zn >= 4 && memcmp(z, "PK\x03\x04", 4) == 0)
        return 0;
    if (!dir || d->end - d->at < 46 || memcmp(z + d->at, "PK\x01\x02", 4) != 0)
        return SIZE_MAX;
    uint64_t first = (uint64_t)le32(z + d->at + 42) + d->concat;
    return first < zn && !memmem(z, (size_t)first, "PK\x03\x04", 4) ? (size_t)first : SIZE_MAX;
}

int dv_zip_holds_own(dv_own_scanner *sc, const uint8_t *z, size_t zn, uint64_t *left, uint32_t tag, dv_error *err)
{
    dv_own_scanner_budget(sc, *left);
    if (zn > UINT32_MAX)
        return 1; /* ZIP's offsets are 32 bits: a longer value is ZIP64's */
    zip_dir d;
    int dir = zip_directory(z, zn, &d);
    size_t off = walk_start(z, zn, &d, dir);
    if (off == SIZE_MAX)
        return 1;
    uint32_t walked[ZIP_ENTRIES_MAX];
    unsigned entries = 0;
    for (; zn - off >= 4 && memcmp(z + off, "PK\x03\x04", 4) == 0; entries++) {
        if (entries == ZIP_ENTRIES_MAX || zn - off < ZIP_LOCAL_HEADER)
            return 1;
        walked[entries] = (uint32_t)off;
        const uint8_t *h = z + off;
        uint32_t flags = le16(h + 6), method = le16(h + 8), csize = le32(h + 18), usize = le32(h + 22);
        size_t data = off + ZIP_LOCAL_HEADER + le16(h + 26) + le16(h + 28);
        if ((flags & ZIP_FLAG_ENCRYPTED) || csize == UINT32_MAX || usize == UINT32_MAX || data > zn)
            return 1;
        int descriptor = (flags & ZIP_FLAG_DESCRIPTOR) != 0;
        size_t avail = zn - data;
        if (method == ZIP_STORED) {
            if (descriptor || csize > avail || stored_entry_holds(z + data, csize))
                return 1;
            off = data + csize;
            continue;
        }
        if (method != ZIP_DEFLATED)
            return 1;
        size_t used;
        int ended;
        int rc = dv_deflated_holds_own(sc, z + data, descriptor ? avail : (csize < avail ? csize : avail), left,
                                       &used, &ended, tag, err);
        if (rc != 0 || !ended)
            return rc != 0 ? rc : 1;
        if (!descriptor && used != csize) /* bytes after the stream within the entry: what they hold is unread */
            return 1;
        off = data + (descriptor ? used : csize);
        if (descriptor) /* CRC-32 and the two sizes, after an optional signature */
            off += zn - off >= 4 && memcmp(z + off, "PK\x07\x08", 4) == 0 ? 16 : 12;
        if (off > zn)
            return 1;
    }
    return walk_ended_at_directory(z, zn, off) && dir && directory_names_walked(z, &d, walked, entries) ? 0 : 1;
}
