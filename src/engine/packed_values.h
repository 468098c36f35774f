/* What a kept private value packs: a zlib or gzip stream, a ZIP archive, or a packed form dicomveil does not read
 * (bzip2, xz, zstd, LZ4, 7-Zip, RAR, Unix compress). Its bytes as they are show nothing of what it holds, so
 * kept_own.c inflates what it can read and deletes what it cannot while the patient's values are held
 * (docs/decisions.md "A kept private value holding the instance's own primary ID is deleted"). */
#ifndef DV_ENGINE_PACKED_VALUES_H
#define DV_ENGINE_PACKED_VALUES_H

#include <stddef.h>
#include <stdint.h>

#include "dicomveil/dv_error.h"
#include "engine/opaque_ids.h"

typedef enum {
    DV_PACKED_NONE,       /* bytes as they are */
    DV_PACKED_STREAM,     /* zlib or gzip: dv_inflated_holds_own */
    DV_PACKED_ZIP,        /* a ZIP archive's first local header (one behind a prefix: dv_zip_ends_value) */
    DV_PACKED_UNREADABLE, /* a packed form with a signature of its own that is not inflated here */
} dv_packed_kind;

/* What v[0, n), a value's first bytes, starts as. zlib's header is 2 bytes (about 1 in 2,000 random pairs pass
 * its checks: a value that only starts like one fails to inflate and is left to its bytes, and dv_packed_nested
 * confirms one by a trial inflate), gzip's 3, Unix compress's 1F 9D with a valid flags byte; every other signature
 * is 4 bytes or more: a vendor's binary header meets a shorter one by chance. */
dv_packed_kind dv_packed_kind_of(const uint8_t *v, size_t n);

/* Is v[0, n), the first bytes of what a stream inflated to or of a stored entry, packed again (dv_packed_kind_of;
 * zlib's 2-byte header only when a trial inflate of v does not fail) or a PDF (a header anywhere in them)? What it
 * holds is not read here: the caller takes it as found (a private value is never required). */
int dv_packed_nested(const uint8_t *v, size_t n);

/* The bytes at a value's end that dv_zip_ends_value reads: the end record and the 64 KiB of comment it may be
 * followed by, as zip readers look for it. */
#define DV_ZIP_TAIL_MAX (65536u + 22u)

/* Does a value of n bytes, whose last tn (min(n, DV_ZIP_TAIL_MAX)) are t[0, tn), end as a ZIP archive a reader
 * (Python's zipfile, Info-ZIP's unzip) extracts, wherever it starts (a self-extracting archive: a program, then
 * the archive; dv_zip_holds_own walks it)? Its last end record (`PK 5 6`) in t, naming a central directory that
 * lies before it in the value and starts with `PK 1 2` (ZIP64's: its locator `PK 6 7` 20 bytes before); a
 * signature before t is not read and taken as there. Random bytes pass by chance about once in 2^33 values of
 * 16 MiB, 2^40 of 1 MiB, 2^80 of 64 KiB: 65,559 places for the record's 32-bit signature (2^-16), a directory
 * size and offset (32 bits each) that fit in the value before it, and the directory's 32-bit signature where t
 * holds it. */
int dv_zip_ends_value(const uint8_t *t, size_t tn, uint64_t n);

/* Does the ZIP archive z[0, zn) hold one of sc's values in an entry? Walked from its first byte, or behind a
 * prefix (dv_zip_ends_value) from the first entry its central directory names, each offset it names counted from
 * the archive's start as readers count them (zipfile's concat). Stored entries and the names are in the archive's
 * bytes (the caller looks at those, and a prefix, as they are); each deflated entry is inflated and looked at, at
 * most *left bytes out over all of them (decremented by what came out). 1 found, or not all could be read (an
 * encrypted entry, another method, ZIP64, a stored entry of unknown length, a deflate stream that does not end or
 * does not fill its entry, the walk not ending where the central directory starts, a directory entry the walk did
 * not read, too many entries, past *left): the safe answer; 0 every entry read and none found; -1 out of memory
 * (err set, naming tag). */
int dv_zip_holds_own(dv_own_scanner *sc, const uint8_t *z, size_t zn, uint64_t *left, uint32_t tag, dv_error *err);

#endif
