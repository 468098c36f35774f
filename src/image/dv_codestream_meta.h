/* Text a codestream carries beside its pixels: JPEG and JPEG-LS comment (COM) and application (APPn)
 * segments, a JFIF thumbnail, JPEG 2000 comments (COM), JP2 boxes such as XML, UUID and IPR, and bytes after
 * the end of a codestream. A camera's EXIF block (dates, serial numbers, GPS), a vendor's patient name in a
 * JPEG comment or a thumbnail of the whole image survive a de-identification that only looks at attributes
 * and burned-in text. dv_codestream_clean finds them in an encapsulated value's fragments and reports the
 * byte ranges to overwrite; the pixels decode exactly as before (docs/decisions.md "Codestream metadata").
 * [test_pixel_container] */
#ifndef DV_CODESTREAM_META_H
#define DV_CODESTREAM_META_H

#include <stdint.h>

#include "dicomveil/dv_error.h"
#include "dicomveil/dv_io.h"

/* One fragment's value in the source (after its item header). */
typedef struct dv_cs_frag {
    uint64_t offset, length;
} dv_cs_frag;

/* Overwrite len bytes at src_off (an offset in the source) with zeros (nlit 0, lit NULL), with the nlit bytes of
 * lit (nlit == len, at most 4), or with len copies of lit[0] (nlit 1, len > 1: a fill). Ranges come in ascending
 * order and never cross a fragment's end. Return 0, or -1 to stop. */
typedef int (*dv_cs_patch_fn)(void *user, uint64_t src_off, uint64_t len, const uint8_t *lit, unsigned nlit);

/* Walk the fragments of one encapsulated value as the transfer syntax's codestreams (JPEG family: SOI at the
 * start of a fragment; JPEG 2000 / HTJ2K: SOC or the JP2 signature box) and report every range to clear:
 *   - JPEG, JPEG-LS: COM payloads; APPn segments other than JFIF (kept, its thumbnail zeroed), ICC_PROFILE,
 *     Adobe, and the SPIFF header, its end-of-directory entry and the HP colour transform (JPEG-LS), become
 *     COM segments of zeros;
 *     segments of unknown markers too; bytes between segments that are not a marker;
 *   - JPEG 2000: COM payloads (main and tile-part headers); unknown marker segments become COM of zeros;
 *     JP2 boxes other than the signature, file type, header (and its image boxes) and codestream become
 *     'free' boxes of zeros;
 *   - bytes after the end of a codestream (EOI, EOC) up to the end of its fragment; a whole fragment of a
 *     frame that begins no codestream after one ended is cleared when it holds a byte that is not zero.
 * Nothing is reported for bytes that are already zero. Returns 0, or -1 with err: DV_ERR_MALFORMED when a
 * frame's first fragment begins no codestream, or a segment or box cannot be delimited (its embedded
 * text cannot be checked, so the instance must not be written); DV_ERR_IO when the source fails; or the
 * callback's -1. Memory: one 64 KiB window. */
typedef enum dv_cs_family {
    DV_CS_NONE = 0, /* nothing to walk: native, deflated frames, video, JPEG XL */
    DV_CS_JPEG,     /* JPEG processes 1-14 (an image with a JPEG-LS frame header, SOF55, is walked as JPEG-LS) */
    DV_CS_J2K,      /* JPEG 2000, HTJ2K */
    DV_CS_RLE,      /* RLE Lossless: walked by dv_rle_clean, which needs the image's size */
    DV_CS_JPEG_LS   /* JPEG-LS (T.87): known from the transfer syntax, so its LSE segments are read as LSE before
                     * the frame header too (C.1.1 allows them there), not made comments */
} dv_cs_family;

dv_cs_family dv_cs_family_of(const char *ts_uid);
/* frame_first: the index of each frame's first fragment (ascending, nframes of them; from the offset tables,
 * dv_frames.h), each frame walked on its own; NULL when the frames are not known: an image then also ends
 * where a later fragment begins another codestream. */
int dv_codestream_clean(dv_cs_family fam, const dv_source *src, const dv_cs_frag *frags, uint32_t nfrags,
                        const uint32_t *frame_first, uint32_t nframes, dv_cs_patch_fn fn, void *user,
                        dv_error *err);

/* RLE Lossless (PS3.5 Annex G), each frame one fragment (A.4.2; frame_first NULL: every fragment a frame, as
 * A.4.2 requires) or the fragments frame_first gives it: what no decoder reads is reported to clear.
 *   - the header's offsets past its segment count (G.5: zero) and bytes between the header and the first
 *     segment: zeros;
 *   - a segment's bytes after the one that completes its plane of plane_bytes (Rows x Columns) bytes, up to
 *     the next segment or the frame's end (a decoder stops there: ours does, so do dcmtk and GDCM): a fill
 *     of 0x80, PackBits' no-op, so that a decoder that reads a segment to its end (pydicom) gets nothing
 *     from it either. A tail of zeros and 0x80 bytes only is left as it is.
 * A segment that decodes short has no tail (its pixels are the decoder's problem, not hidden text).
 * DV_ERR_MALFORMED (the instance must not be written) when a frame cannot be delimited: shorter than its
 * 64-byte header, a segment count outside 1..15, offsets inside the header, descending or past the frame's
 * end; or when plane_bytes is 0 (no Rows or Columns: a segment's end cannot be told). Memory: one 64 KiB
 * window; every segment's run headers are read once. */
int dv_rle_clean(const dv_source *src, const dv_cs_frag *frags, uint32_t nfrags, const uint32_t *frame_first,
                 uint32_t nframes, uint64_t plane_bytes, dv_cs_patch_fn fn, void *user, dv_error *err);

#endif
