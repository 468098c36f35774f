/* Pixel data as frames: the one frame interface every codec sits behind (internal).
 *
 * The pipeline is: read the Image Pixel attributes of an instance once (dv_pixel_attrs_read, strict
 * validation), get one frame's stored bytes (native: a slice of PixelData; encapsulated: the fragments of
 * one frame), then decode them with dv_image_decode_frame into a caller-owned buffer holding the canonical
 * frame described below. Codecs live one file per transfer-syntax family (codec_*.c); none is called any
 * other way, so the per-context counter sees every decode ("metadata-only configs decode nothing", issue 11).
 *
 * Canonical decoded frame (dv_frame):
 *   - samples interleaved (planar configuration normalised to 0), row-major, no padding;
 *   - one integer per sample in a container of 1, 2 or 4 bytes (native byte order) chosen by BitsAllocated
 *     alone (1 and 8: 1 byte, 16: 2, 32: 4), whatever the transfer syntax, so a frame's size never depends
 *     on the compressed data. Bits above BitsStored are masked off; signed data (PixelRepresentation 1) is
 *     sign-extended into int8/int16/int32, so the buffer can be read as the C type directly;
 *   - photometric is what the samples ARE after decoding: a JPEG Baseline YBR_FULL_422 frame comes out of
 *     libjpeg as RGB, a JPEG 2000 YBR_RCT/ICT frame as RGB (the inverse colour transform is in the codec),
 *     native YBR_FULL_422 is upsampled to full-resolution YBR_FULL; everything else keeps its stored
 *     colour space. PALETTE COLOR frames are kept as indices (the LUT stays in the instance);
 *   - dv_frame.src remembers how the frame was stored (photometric, planar configuration, BitsAllocated,
 *     transfer syntax family) so a caller can re-encode it the same way.
 *
 * Bounds (hostile input is normal input): the attributes are validated before any allocation; a frame's
 * decoded size is computed with overflow checks and capped by dv_image_limits; every compressed frame is
 * capped before it reaches a library, and every library's header is checked against the attributes
 * before the library decodes. Errors: DV_ERR_MALFORMED (lying input), DV_ERR_LIMIT (a cap),
 * DV_ERR_UNSUPPORTED (valid input we cannot decode), DV_ERR_NOMEM. Messages carry sizes, never values
 * (the rule for numbers is at dv_mismatch_text below). */
#ifndef DV_IMAGE_H
#define DV_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include "dicomveil/dv_error.h"
#include "dicomveil/dv_instance.h"

typedef enum dv_photometric {
    DV_PHOTO_UNKNOWN = 0,
    DV_PHOTO_MONOCHROME1,
    DV_PHOTO_MONOCHROME2,
    DV_PHOTO_RGB,
    DV_PHOTO_YBR_FULL,
    DV_PHOTO_YBR_FULL_422,
    DV_PHOTO_PALETTE_COLOR,
    DV_PHOTO_YBR_ICT,   /* JPEG 2000 irreversible colour transform (decodes to RGB) */
    DV_PHOTO_YBR_RCT,   /* JPEG 2000 reversible colour transform (decodes to RGB) */
    DV_PHOTO_YBR_PARTIAL_420 /* MPEG-2 only; recognised to be refused */
} dv_photometric;

/* The defined term, e.g. "YBR_FULL_422" (never NULL; "" for DV_PHOTO_UNKNOWN). */
const char *dv_photometric_name(dv_photometric p);

/* Transfer-syntax families: one codec file each. */
typedef enum dv_ts_family {
    DV_TSF_UNKNOWN = 0,
    DV_TSF_NATIVE,          /* implicit/explicit LE, explicit BE, deflated explicit LE (dataset deflate) */
    DV_TSF_DEFLATE_FRAME,   /* 1.2.840.10008.1.2.8.1 Deflated Image Frame Compression */
    DV_TSF_RLE,             /* 1.2.840.10008.1.2.5 */
    DV_TSF_JPEG_BASELINE,   /* .4.50 (8-bit), .4.51 (8-bit frames; 12-bit refused, see docs/pixels.md) */
    DV_TSF_JPEG_LOSSLESS,   /* .4.57, .4.70 (process 14) */
    DV_TSF_JPEG_LS,         /* .4.80, .4.81 */
    DV_TSF_J2K,             /* .4.90, .4.91, .4.92, .4.93 and HTJ2K .4.201-.4.203 */
    DV_TSF_UNSUPPORTED      /* recognised, no decoder (MPEG, HEVC, JPEG XL ...) */
} dv_ts_family;

/* Family of a transfer syntax UID (DV_TSF_UNKNOWN for an unrecognised UID). */
dv_ts_family dv_ts_family_of(const char *ts_uid);
/* 1 when the family stores frames as encapsulated fragments. */
int dv_ts_family_encapsulated(dv_ts_family f);

/* Image Pixel module attributes of one instance, validated (dv_pixel_attrs_read). */
typedef struct dv_pixel_attrs {
    uint32_t rows, columns;
    uint32_t samples_per_pixel;   /* 1 or 3 */
    uint32_t bits_allocated;      /* 1, 8, 16, 32 */
    uint32_t bits_stored;         /* 1..bits_allocated */
    uint32_t high_bit;            /* bits_stored - 1 (anything else is refused) */
    uint32_t pixel_representation;/* 0 unsigned, 1 two's complement */
    uint32_t planar_configuration;/* 0 interleaved, 1 planar (only meaningful when samples_per_pixel 3) */
    uint32_t number_of_frames;    /* >= 1 */
    dv_photometric photometric;
    int big_endian;               /* native data stored big endian (Explicit VR Big Endian) */
    /* Stored size of one native frame in bytes (BitsAllocated 1: bits packed across frames, see
     * native_frame_bit_offset); 0 is never valid. Computed with overflow checks. */
    uint64_t native_frame_bytes;
    uint64_t native_frame_bits;   /* rows*columns*spp*bits_allocated */
    uint32_t float_bits;          /* 32 FloatPixelData, 64 DoubleFloatPixelData (dv_pixel_attrs_read_float); 0 */
} dv_pixel_attrs;

typedef struct dv_image_limits {
    uint64_t max_frame_bytes;     /* decoded canonical frame (default 512 MiB) */
    uint64_t max_encoded_bytes;   /* one compressed frame handed to a decoder (default 512 MiB) */
    uint32_t max_frames;          /* NumberOfFrames cap (default 65536) */
    uint32_t max_dimension;       /* Rows / Columns cap (default 65535: the US VR maximum) */
} dv_image_limits;

void dv_image_limits_default(dv_image_limits *lim);

/* Read and validate the pixel attributes of inst's top-level dataset. Returns 0 or -1 with err:
 * DV_ERR_UNSUPPORTED when there is no PixelData or a value we do not handle (float pixel data, bits
 * allocated 12 ...), DV_ERR_MALFORMED for inconsistent values (BitsStored > BitsAllocated, Rows 0, a native
 * PixelData shorter than NumberOfFrames frames), DV_ERR_LIMIT when a cap of lim (NULL: defaults) is hit.
 * Never allocates. */
int dv_pixel_attrs_read(const dv_instance *inst, const dv_image_limits *lim, dv_pixel_attrs *out, dv_error *err);

/* The float pixel data of inst's top-level dataset (FloatPixelData (7FE0,0008) OF, DoubleFloatPixelData
 * (7FE0,0009) OD; PS3.3 C.7.6.24): native IEEE-754 frames of one sample, MONOCHROME2, BitsAllocated 32 or 64
 * (its tag's, when present). Fills out as dv_pixel_attrs_read does, with float_bits and bits_stored the
 * sample's width. Only the pixel stage reads floats (no codec decodes them): every other caller keeps
 * dv_pixel_attrs_read, which refuses them. Returns 0, or -1 with err: DV_ERR_UNSUPPORTED when there is no
 * float pixel data or another photometric interpretation or sample count, DV_ERR_MALFORMED for
 * inconsistent values (another BitsAllocated, an encapsulated value, a value shorter than its frames),
 * DV_ERR_LIMIT past lim (NULL: defaults). */
int dv_pixel_attrs_read_float(const dv_instance *inst, const dv_image_limits *lim, dv_pixel_attrs *out,
                              dv_error *err);

/* PALETTE COLOR lookup tables of inst (frames keep their indices). lut holds red, then green, then blue,
 * entries values each, as stored (16-bit words; 8-bit tables keep 0..255). An index i maps to entry
 * i - first_mapped, clamped to [0, entries-1]. Free with dv_palette_free. Returns 0 or -1 with err
 * (DV_ERR_MALFORMED for missing/short/inconsistent tables, DV_ERR_UNSUPPORTED for segmented tables). */
typedef struct dv_palette {
    uint32_t entries;      /* 1..65536 */
    uint32_t first_mapped; /* first pixel value mapped */
    uint32_t bits;         /* 8 or 16 */
    uint16_t *lut;         /* malloc'd: 3 * entries */
} dv_palette;
int dv_palette_read(const dv_instance *inst, dv_palette *out, dv_error *err);
void dv_palette_free(dv_palette *p);

/* A frame count of IS VR at the top level of inst (NumberOfFrames; an overlay's NumberOfFramesInOverlay,
 * 60xx,0015): decimal digits with optional sign and spaces; absent or empty means 1 (0 is returned as read: the
 * caller refuses it). name names the attribute in err's message, never its value. 0, or -1 with err
 * (DV_ERR_MALFORMED, DV_ERR_LIMIT past 2^32). */
int dv_frame_count_read(const dv_instance *inst, uint32_t tag, const char *name, uint32_t *out, dv_error *err);

/* Validate attrs filled by hand (tests, fuzzers, a codec wrapper): the same rules as dv_pixel_attrs_read
 * except the PixelData length check; fills native_frame_bytes/bits. */
int dv_pixel_attrs_validate(dv_pixel_attrs *pa, const dv_image_limits *lim, dv_error *err);

/* How a decoded frame was stored, for re-encoding it the same way. */
typedef struct dv_frame_source {
    dv_ts_family family;
    dv_photometric photometric;   /* as stored (e.g. YBR_FULL_422) */
    uint32_t planar_configuration;
    uint32_t bits_allocated;
    uint32_t precision;           /* codestream sample precision (compressed; the greatest of its components'),
                                     else bits_stored */
    int is_signed;                /* the codestream's samples are signed (a JPEG 2000 SIZ may say so; JPEG and
                                     JPEG-LS samples never are): a negative one's bits above BitsStored are its
                                     sign extension */
    int lossy;                    /* the codestream was lossy (JPEG baseline, JPEG-LS near, J2K irreversible) */
} dv_frame_source;

/* A decoded frame in the canonical layout above. data is caller-owned (capacity cap bytes); the decoder
 * fills every other field. */
typedef struct dv_frame {
    void *data;
    size_t cap;
    uint32_t width, height;
    uint32_t samples;            /* 1 or 3 */
    uint32_t sample_bytes;       /* 1, 2 or 4 */
    uint32_t bits_stored;        /* significant bits per sample */
    int is_signed;
    dv_photometric photometric;  /* of the decoded samples */
    dv_frame_source src;
    int is_float;                /* samples are IEEE-754 float (sample_bytes 4) or double (8), MONOCHROME2:
                                    the pixel stage's float frames (dv_pixel_attrs_read_float); no codec */
    int had_unused_bits;         /* its encoded bytes carry bits outside the stored ones (text an old console
                                    drew there), which the decoded frame no longer shows (dv_frame_normalise):
                                    native and RLE frames, normalise changed a sample; codestreams (JPEG,
                                    JPEG-LS, JPEG 2000), a sample's bits from BitsStored up to the codestream's
                                    precision are neither all clear nor a sign extension */
} dv_frame;

/* Bytes a caller must provide for one decoded frame of this family (0 with err on overflow/limit). The
 * size never depends on the compressed data. */
size_t dv_image_frame_capacity(const dv_pixel_attrs *pa, dv_ts_family fam, const dv_image_limits *lim,
                               dv_error *err);

/* Per-context state: limits and counters (no globals; one context per worker or per run). */
typedef struct dv_image_ctx dv_image_ctx;
/* lim NULL: defaults. Returns NULL only when out of memory. Free with dv_image_ctx_free. */
dv_image_ctx *dv_image_ctx_new(const dv_image_limits *lim);
void dv_image_ctx_free(dv_image_ctx *ctx);
const dv_image_limits *dv_image_ctx_limits(const dv_image_ctx *ctx);
/* Decoder calls made through this context (successful or not): "metadata-only configs decode nothing". */
uint64_t dv_image_ctx_decode_calls(const dv_image_ctx *ctx);
uint64_t dv_image_ctx_encode_calls(const dv_image_ctx *ctx);

/* Decode one frame. data/len: for native families the whole PixelData value (the frame is selected by
 * frame_index; BitsAllocated 1 frames may start mid-byte), for encapsulated families exactly the bytes of
 * frame frame_index (its fragments concatenated). out->data/out->cap are the caller's buffer of at least
 * dv_image_frame_capacity bytes. Returns 0, or -1 with err (out->data contents are then unspecified). */
int dv_image_decode_frame(dv_image_ctx *ctx, const char *ts_uid, const dv_pixel_attrs *pa, uint32_t frame_index,
                          const uint8_t *data, size_t len, dv_frame *out, dv_error *err);

/* Decode one frame given as its own bytes, the way the frame index (src/dicom/frames.c, dv_frames_read)
 * hands them out: for native families exactly one frame, little endian, a BitsAllocated 1 frame starting
 * at bit 0; for encapsulated families the frame's fragments concatenated. Same contract as
 * dv_image_decode_frame otherwise (counted once). */
int dv_image_decode_frame_bytes(dv_image_ctx *ctx, const char *ts_uid, const dv_pixel_attrs *pa,
                                const uint8_t *data, size_t len, dv_frame *out, dv_error *err);

/* Decode frame i of inst. Encapsulated: the bytes come from the frame index (frames = dv_frames_index(inst);
 * include/dicomveil/dv_frames.h); native: sliced from PixelData here (frames may be NULL). Reads are capped
 * by the context's max_encoded_bytes first. pa from dv_pixel_attrs_read(inst). Same contract as
 * dv_image_decode_frame (counted once). */
typedef struct dv_frames dv_frames;
int dv_image_decode_instance_frame(dv_image_ctx *ctx, const dv_instance *inst, const dv_frames *frames,
                                   const dv_pixel_attrs *pa, uint32_t i, dv_frame *out, dv_error *err);

/* Encode a decoded frame as RLE Lossless through ctx (counted). See dv_rle_encode. */
int dv_image_encode_rle(dv_image_ctx *ctx, const dv_pixel_attrs *pa, const dv_frame *frame, uint8_t **out_buf,
                        size_t *out_len, dv_error *err);

/* Encode a decoded frame as lossless JPEG-LS (CharLS) through ctx (counted). BitsStored 2..16, containers
 * of 1 or 2 bytes. *out_buf is malloc'd, even length, owned by the caller. Returns 0 or -1 with err. */
int dv_image_encode_jpegls(dv_image_ctx *ctx, const dv_pixel_attrs *pa, const dv_frame *frame, uint8_t **out_buf,
                           size_t *out_len, dv_error *err);

/* Encode a decoded frame as lossless JPEG 2000 (reversible 5/3, raw codestream; OpenJPEG) through ctx
 * (counted). BitsStored 1..16, containers of 1 or 2 bytes, 1 or 3 samples; RCT on only for YBR_RCT. The
 * output is capped by the context's max_encoded_bytes (and 2x the raw frame + 64 KiB): DV_ERR_LIMIT.
 * *out_buf is malloc'd, even length, owned by the caller. Returns 0 or -1 with err. */
int dv_image_encode_j2k(dv_image_ctx *ctx, const dv_pixel_attrs *pa, const dv_frame *frame, uint8_t **out_buf,
                        size_t *out_len, dv_error *err);

/* ---- codecs (one file each; called only through dv_image_decode_frame / dv_image_encode_*) ---- */

/* codec_native.c: frame frame_index out of a native PixelData value of len bytes. */
int dv_native_decode(const dv_pixel_attrs *pa, uint32_t frame_index, const uint8_t *data, size_t len,
                     dv_frame *out, dv_error *err);
/* codec_rle.c: PS3.5 Annex G. */
int dv_rle_decode(const dv_pixel_attrs *pa, const uint8_t *data, size_t len, dv_frame *out, dv_error *err);
/* Encode a canonical frame (samples/sample_bytes/width/height as decoded from pa) into a malloc'd RLE frame
 * (header + segments, even length). *out_buf is owned by the caller (free()). bits_allocated gives the
 * segment count per sample (1 per 8 bits). Returns 0 or -1 with err. */
int dv_rle_encode(const dv_pixel_attrs *pa, const dv_frame *frame, uint8_t **out_buf, size_t *out_len,
                  dv_error *err);
/* codec_jpeg_baseline.c: libjpeg-turbo, 8-bit processes 1/2/4. */
int dv_jpeg_baseline_decode(const dv_pixel_attrs *pa, const uint8_t *data, size_t len, dv_frame *out,
                            dv_error *err);
/* codec_jpeg_lossless.c: ours, process 14 (any selection value 1-7, point transform, restarts). */
int dv_jpeg_lossless_decode(const dv_pixel_attrs *pa, const uint8_t *data, size_t len, dv_frame *out,
                            dv_error *err);
/* codec_jpegls.c: CharLS. */
/* jpegls_lazy.c: load CharLS now, once per process (it is not linked); 0, or -1 with err DV_ERR_UNSUPPORTED
 * naming the library. The codec calls it first; nothing else needs to. */
int dv_jpegls_codec_load(dv_error *err);
int dv_jpegls_decode(const dv_pixel_attrs *pa, const uint8_t *data, size_t len, dv_frame *out, dv_error *err);
int dv_jpegls_encode(const dv_pixel_attrs *pa, const dv_frame *frame, uint8_t **out_buf, size_t *out_len,
                     dv_error *err);
/* codec_j2k.c: OpenJPEG (J2K and HTJ2K codestreams, JP2 boxes tolerated). */
int dv_j2k_decode(const dv_pixel_attrs *pa, const uint8_t *data, size_t len, dv_frame *out, dv_error *err);
/* codec_j2k_encode.c: lossless J2K codestream of a canonical frame; max_bytes 0: only the 2x raw cap. */
int dv_j2k_encode(const dv_pixel_attrs *pa, const dv_frame *frame, uint64_t max_bytes, uint8_t **out_buf,
                  size_t *out_len, dv_error *err);
/* codec_deflate_frame.c: zlib-deflated native frame (Deflated Image Frame Compression). */
int dv_deflate_frame_decode(const dv_pixel_attrs *pa, const uint8_t *data, size_t len, dv_frame *out,
                            dv_error *err);

/* frame.c helpers shared by the codecs. */
/* Container size in bytes of one decoded sample for pa (BitsAllocated 1 and 8: 1, 16: 2, 32: 4). */
uint32_t dv_sample_bytes(const dv_pixel_attrs *pa);
/* Fill the geometry fields of out from pa (samples = pa->samples_per_pixel, bits_stored, signedness from
 * PixelRepresentation) with the given decoded photometric; checks that out->cap holds the frame. */
int dv_frame_prepare(const dv_pixel_attrs *pa, dv_frame *out, dv_photometric photometric, dv_error *err);
/* Mask to bits_stored and sign-extend (when is_signed) every sample of out in place, setting had_unused_bits.
 * A codestream decoder sets out->src (family, precision, is_signed) first. */
void dv_frame_normalise(dv_frame *out);
/* The least and greatest finite sample of a float frame (is_float); NaN and the infinities are no value of its
 * range. 1, or 0 when it has no finite sample (*lo, *hi then 0). */
int dv_frame_float_range(const dv_frame *f, double *lo, double *hi);
/* Bytes of the decoded frame in out (width*height*samples*sample_bytes; fits in size_t once prepared). */
size_t dv_frame_bytes(const dv_frame *out);

/* Numbers in pixel errors. Errors reach reports, logs and server records, where no value may go, and a number
 * read from a file is its bytes: a 32-bit field printed in decimal spells 4 characters, and a codestream read
 * from the wrong place (a lying offset table, text taken for a marker segment) holds a name as often as not
 * (`JPEG 2000 SIZ 2393921983x0`; the reader's `tag_label` tells the same story). So a pixel error prints only
 *   (a) our own limits and constants;
 *   (b) what we computed: offsets, frame, fragment, segment and component indices, rows reached, bytes that
 *       remain or that a decoder produced, the size of a value or frame we hold (the reader checked its length
 *       against the bytes the file has);
 *   (c) a number read from the file when it is at most one byte wide or was checked to be at most 255 (a
 *       marker, a precision, a component or table count: one character names no one), or a US Image Pixel
 *       attribute read at its own tag (Rows, Columns, SamplesPerPixel, BitsAllocated, BitsStored, HighBit,
 *       PixelRepresentation, PlanarConfiguration, the palette descriptor: two bytes where the reader knows it
 *       stands, the geometry every viewer shows), or NumberOfFrames once it passed the frame cap (<= 65536).
 * Anything else -- codestream dimensions (even JPEG's 16-bit ones: two of them are four characters), tile
 * sizes, segment counts and offsets, a length claiming more than remains, offset-table entries, an IS or UL
 * count that failed its check -- is described instead: "width differs from Columns 512", "claims more than
 * the N bytes that remain", "out of range". A library's message passes through dv_scrub_numbers.
 * (docs/decisions.md "A codec's error spells no field of the codestream") [test_image: test_errors_spell_no_fields]
 */

/* "width differs from Columns 512, component count differs from SamplesPerPixel 1" into buf: which of a codestream's
 * fields disagree with the attributes, naming the attributes' values only. */
void dv_mismatch_text(char *buf, size_t n, int width_differs, int height_differs, int samples_differs,
                      const dv_pixel_attrs *pa);
/* A library's message with its numbers replaced by "#", in place (every run of two or more hex digits that holds a
 * decimal digit): OpenJPEG and libjpeg print the codestream's fields. */
void dv_scrub_numbers(char *s);

#endif
