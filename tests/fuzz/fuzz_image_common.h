/* Shared by the image fuzz targets: an 8-byte prefix chooses the pixel attributes, the rest is the frame.
 *
 *   byte 0      transfer-syntax selector (fuzz_image_decode) / unused
 *   bytes 1-2   Rows    = 1 + (LE16 % 1024)
 *   bytes 3-4   Columns = 1 + (LE16 % 1024)
 *   byte 5      bit 0: SamplesPerPixel 3 (else 1); bits 1-2: BitsAllocated {8,16,32,1}; bit 3: signed;
 *               bit 4: planar configuration 1; bits 5-7: photometric (table below)
 *   byte 6      BitsStored = 1 + byte % BitsAllocated
 *   byte 7      NumberOfFrames = 1 + byte % 4
 * Attributes that fail validation end the run (that path is unit-tested). tests/fuzz/make_image_seeds.py
 * writes the committed seeds in this layout from corpus frames. */
#ifndef FUZZ_IMAGE_COMMON_H
#define FUZZ_IMAGE_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "image/dv_image.h"

#define FUZZ_IMAGE_PREFIX 8

static inline int fuzz_image_attrs(const uint8_t *d, size_t n, dv_pixel_attrs *pa)
{
    static const dv_photometric photo[8] = {DV_PHOTO_MONOCHROME2, DV_PHOTO_MONOCHROME1, DV_PHOTO_RGB,
                                            DV_PHOTO_YBR_FULL,    DV_PHOTO_YBR_FULL_422, DV_PHOTO_PALETTE_COLOR,
                                            DV_PHOTO_YBR_RCT,     DV_PHOTO_YBR_ICT};
    static const uint32_t ba[4] = {8, 16, 32, 1};
    if (n < FUZZ_IMAGE_PREFIX)
        return -1;
    memset(pa, 0, sizeof *pa);
    pa->rows = 1 + (uint32_t)(d[1] | d[2] << 8) % 1024;
    pa->columns = 1 + (uint32_t)(d[3] | d[4] << 8) % 1024;
    pa->samples_per_pixel = d[5] & 1 ? 3 : 1;
    pa->bits_allocated = ba[(d[5] >> 1) & 3];
    pa->pixel_representation = (d[5] >> 3) & 1;
    pa->planar_configuration = (d[5] >> 4) & 1;
    pa->photometric = photo[d[5] >> 5];
    pa->bits_stored = 1 + d[6] % pa->bits_allocated;
    pa->high_bit = pa->bits_stored - 1;
    pa->number_of_frames = 1 + d[7] % 4;
    return dv_pixel_attrs_validate(pa, NULL, NULL);
}

static inline void fuzz_image_fail(const char *target, const char *what)
{
    fprintf(stderr, "%s: invariant violated: %s\n", target, what);
    abort();
}

/* Every decoded sample lies within BitsStored (unsigned) or is sign-extended from it (signed). */
static inline void fuzz_image_check_range(const char *target, const dv_frame *f)
{
    size_t n = (size_t)f->width * f->height * f->samples;
    uint32_t bs = f->bits_stored;
    for (size_t i = 0; i < n; i++) {
        int64_t v;
        if (f->sample_bytes == 1)
            v = f->is_signed ? (int64_t)((int8_t *)f->data)[i] : (int64_t)((uint8_t *)f->data)[i];
        else if (f->sample_bytes == 2)
            v = f->is_signed ? (int64_t)((int16_t *)f->data)[i] : (int64_t)((uint16_t *)f->data)[i];
        else
            v = f->is_signed ? (int64_t)((int32_t *)f->data)[i] : (int64_t)((uint32_t *)f->data)[i];
        int64_t lo = f->is_signed ? -((int64_t)1 << (bs - 1)) : 0;
        int64_t hi = f->is_signed ? ((int64_t)1 << (bs - 1)) - 1 : ((int64_t)1 << bs) - 1;
        if (v < lo || v > hi)
            fuzz_image_fail(target, "decoded sample outside BitsStored");
    }
}

/* One run's decode (fuzz_image_decode_input): the context, the frame and its buffer (capacity cap), and whether
 * the decode succeeded. fuzz_decoded_free releases it. */
typedef struct fuzz_decoded {
    dv_image_ctx *ctx;
    uint8_t *buf;
    size_t cap;
    dv_frame f;
    int ok;
} fuzz_decoded;

/* Decodes frame FRAME of the input after the prefix as transfer syntax TS with pa, from an exactly-sized copy
 * (any read past the frame is an ASan report): a decoded frame is range-checked, a refusal must carry a
 * terminated message (else abort, naming TARGET). 0 with d->ok said; -1 when the setup ran out of memory.
 * Either way the caller calls fuzz_decoded_free(d). */
static inline int fuzz_image_decode_input(const char *target, const uint8_t *data, size_t size, const char *ts,
                                          const dv_pixel_attrs *pa, uint32_t frame, fuzz_decoded *d)
{
    memset(d, 0, sizeof *d);
    d->ctx = dv_image_ctx_new(NULL);
    d->cap = dv_image_frame_capacity(pa, dv_ts_family_of(ts), NULL, NULL);
    d->buf = d->cap ? malloc(d->cap) : NULL;
    size_t n = size - FUZZ_IMAGE_PREFIX;
    uint8_t *in = malloc(n ? n : 1);
    int rc = -1;
    if (d->ctx && d->buf && in) {
        memcpy(in, data + FUZZ_IMAGE_PREFIX, n);
        dv_error err = {0};
        d->f = (dv_frame){.data = d->buf, .cap = d->cap};
        d->ok = dv_image_decode_frame(d->ctx, ts, pa, frame, in, n, &d->f, &err) == 0;
        if (d->ok)
            fuzz_image_check_range(target, &d->f);
        else if (memchr(err.message, '\0', sizeof err.message) == NULL)
            fuzz_image_fail(target, "error message not terminated");
        rc = 0;
    }
    free(in);
    return rc;
}

static inline void fuzz_decoded_free(fuzz_decoded *d)
{
    free(d->buf);
    dv_image_ctx_free(d->ctx);
}

#endif
