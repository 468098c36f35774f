/* Image Pixel module attributes: read once per instance, validated before any byte is allocated.
 * Every later size (decoded frame, native frame slice, codec output) derives from these checked values, so
 * a lying header is refused here, never discovered by an allocation (issue 11 item 1; test_image_attrs). */
#include "dv_image.h"

#include <string.h>
#include "../dicom/dv_ds.h"
#include "../dict/dv_tags.h"

void dv_image_limits_default(dv_image_limits *lim)
{
    lim->max_frame_bytes = 512ull << 20;
    lim->max_encoded_bytes = 512ull << 20;
    lim->max_frames = 65536;
    lim->max_dimension = 65535;
}

static const struct {
    const char *name;
    dv_photometric p;
} photometric_names[] = {
    {"MONOCHROME1", DV_PHOTO_MONOCHROME1}, {"MONOCHROME2", DV_PHOTO_MONOCHROME2},
    {"RGB", DV_PHOTO_RGB},                 {"YBR_FULL", DV_PHOTO_YBR_FULL},
    {"YBR_FULL_422", DV_PHOTO_YBR_FULL_422}, {"PALETTE COLOR", DV_PHOTO_PALETTE_COLOR},
    {"YBR_ICT", DV_PHOTO_YBR_ICT},         {"YBR_RCT", DV_PHOTO_YBR_RCT},
    {"YBR_PARTIAL_420", DV_PHOTO_YBR_PARTIAL_420},
};

const char *dv_photometric_name(dv_photometric p)
{
    for (size_t i = 0; i < sizeof photometric_names / sizeof photometric_names[0]; i++)
        if (photometric_names[i].p == p)
            return photometric_names[i].name;
    return "";
}

static dv_photometric photometric_parse(const char *s)
{
    for (size_t i = 0; i < sizeof photometric_names / sizeof photometric_names[0]; i++)
        if (strcmp(photometric_names[i].name, s) == 0)
            return photometric_names[i].p;
    return DV_PHOTO_UNKNOWN;
}

/* A US value of the top-level dataset in the instance's byte order. Returns 1 found, 0 absent, -1 bad. */
static int get_us(const dv_instance *inst, uint32_t tag, uint32_t *out)
{
    const dv_elem *e = dv_ds_find(&inst->ds, tag);
    if (!e || e->length == 0)
        return 0;
    if (e->length < 2 || !e->value || (e->flags & (DV_ELEM_BULK | DV_ELEM_SEQUENCE | DV_ELEM_ENCAPSULATED)))
        return -1;
    const uint8_t *v = e->value;
    *out = inst->ts_kind == DV_TS_EXPLICIT_BE ? (uint32_t)v[0] << 8 | v[1] : (uint32_t)v[1] << 8 | v[0];
    return 1;
}

static int need_us(const dv_instance *inst, uint32_t tag, uint32_t *out, dv_error *err)
{
    int rc = get_us(inst, tag, out);
    if (rc < 0)
        return dv_fail(err, DV_ERR_MALFORMED, "pixel attribute " TAGF " is not a 2-byte US value", TAGA(tag));
    if (rc == 0)
        return dv_fail(err, DV_ERR_MALFORMED, "pixel attribute " TAGF " is missing", TAGA(tag));
    return 0;
}

int dv_frame_count_read(const dv_instance *inst, uint32_t tag, const char *name, uint32_t *out, dv_error *err)
{
    char buf[32];
    const dv_elem *e = dv_ds_find(&inst->ds, tag);
    *out = 1;
    if (!e || e->length == 0)
        return 0;
    if (dv_instance_get_string(inst, tag, buf, sizeof buf) < 0)
        return dv_fail(err, DV_ERR_MALFORMED, "%s " TAGF " is not a short IS value", name, TAGA(tag));
    const char *p = buf;
    while (*p == ' ')
        p++;
    if (*p == '+')
        p++;
    if (*p == '\0')
        return 0;
    uint64_t n = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        n = n * 10 + (uint64_t)(*p - '0');
        if (n > 0xFFFFFFFFull)
            return dv_fail(err, DV_ERR_LIMIT, "%s " TAGF " exceeds 2^32", name, TAGA(tag));
    }
    while (*p == ' ')
        p++;
    if (*p != '\0')
        return dv_fail(err, DV_ERR_MALFORMED, "%s " TAGF " is not an unsigned integer", name, TAGA(tag));
    *out = (uint32_t)n;
    return 0;
}

static int get_frames(const dv_instance *inst, uint32_t *out, dv_error *err)
{
    return dv_frame_count_read(inst, DV_TAG_NUMBER_OF_FRAMES, "NumberOfFrames", out, err);
}

int dv_pixel_attrs_validate(dv_pixel_attrs *pa, const dv_image_limits *lim, dv_error *err)
{
    dv_image_limits def;
    if (!lim) {
        dv_image_limits_default(&def);
        lim = &def;
    }
    if (pa->rows == 0 || pa->columns == 0)
        return dv_fail(err, DV_ERR_MALFORMED, "pixel attributes: Rows %u x Columns %u is empty", pa->rows,
                       pa->columns);
    if (pa->rows > lim->max_dimension || pa->columns > lim->max_dimension)
        return dv_fail(err, DV_ERR_LIMIT, "Rows %u x Columns %u exceeds %u", pa->rows, pa->columns,
                       lim->max_dimension);
    if (pa->samples_per_pixel != 1 && pa->samples_per_pixel != 3)
        return dv_fail(err, DV_ERR_UNSUPPORTED, "SamplesPerPixel %u (only 1 or 3)", pa->samples_per_pixel);
    if (pa->bits_allocated != 1 && pa->bits_allocated != 8 && pa->bits_allocated != 16 &&
        pa->bits_allocated != 32)
        return dv_fail(err, DV_ERR_UNSUPPORTED, "BitsAllocated %u (only 1, 8, 16, 32)", pa->bits_allocated);
    if (pa->bits_stored == 0 || pa->bits_stored > pa->bits_allocated)
        return dv_fail(err, DV_ERR_MALFORMED, "BitsStored %u with BitsAllocated %u", pa->bits_stored,
                       pa->bits_allocated);
    /* HighBit other than BitsStored - 1 (data in the low bits) is retired usage; refuse rather than guess. */
    if (pa->high_bit != pa->bits_stored - 1)
        return dv_fail(err, DV_ERR_UNSUPPORTED, "HighBit %u with BitsStored %u", pa->high_bit, pa->bits_stored);
    if (pa->pixel_representation > 1)
        return dv_fail(err, DV_ERR_MALFORMED, "PixelRepresentation %u", pa->pixel_representation);
    /* 1-bit samples are 0 or 1 (segmentations, overlays): signed 1-bit data has no meaning (fuzz_image_decode
     * finding; tests/fuzz/regressions/image_decode/native-1bit-signed) */
    if (pa->bits_allocated == 1 && pa->pixel_representation != 0)
        return dv_fail(err, DV_ERR_MALFORMED, "BitsAllocated 1 with PixelRepresentation 1");
    if (pa->planar_configuration > 1)
        return dv_fail(err, DV_ERR_MALFORMED, "PlanarConfiguration %u", pa->planar_configuration);
    if (pa->samples_per_pixel == 1)
        pa->planar_configuration = 0;
    if (pa->number_of_frames == 0)
        return dv_fail(err, DV_ERR_MALFORMED, "NumberOfFrames 0 with pixel data");
    if (pa->number_of_frames > lim->max_frames)
        return dv_fail(err, DV_ERR_LIMIT, "NumberOfFrames exceeds %u", lim->max_frames);
    switch (pa->photometric) {
    case DV_PHOTO_MONOCHROME1:
    case DV_PHOTO_MONOCHROME2:
    case DV_PHOTO_PALETTE_COLOR:
        if (pa->samples_per_pixel != 1)
            return dv_fail(err, DV_ERR_MALFORMED, "%s with SamplesPerPixel %u",
                           dv_photometric_name(pa->photometric), pa->samples_per_pixel);
        if (pa->photometric == DV_PHOTO_PALETTE_COLOR && pa->bits_allocated != 8 && pa->bits_allocated != 16)
            return dv_fail(err, DV_ERR_MALFORMED, "PALETTE COLOR with BitsAllocated %u", pa->bits_allocated);
        break;
    case DV_PHOTO_RGB:
    case DV_PHOTO_YBR_FULL:
    case DV_PHOTO_YBR_FULL_422:
    case DV_PHOTO_YBR_ICT:
    case DV_PHOTO_YBR_RCT:
        if (pa->samples_per_pixel != 3)
            return dv_fail(err, DV_ERR_MALFORMED, "%s with SamplesPerPixel %u",
                           dv_photometric_name(pa->photometric), pa->samples_per_pixel);
        if (pa->bits_allocated == 1)
            return dv_fail(err, DV_ERR_MALFORMED, "colour with BitsAllocated 1");
        break;
    case DV_PHOTO_YBR_PARTIAL_420:
        return dv_fail(err, DV_ERR_UNSUPPORTED, "PhotometricInterpretation YBR_PARTIAL_420");
    default:
        return dv_fail(err, DV_ERR_UNSUPPORTED, "PhotometricInterpretation not recognised");
    }
    /* Rows, Columns <= 65535, spp <= 3, bits <= 32: the product fits in 64 bits (< 2^32 * 2^2 * 2^5). */
    pa->native_frame_bits =
        (uint64_t)pa->rows * pa->columns * pa->samples_per_pixel * pa->bits_allocated;
    if (pa->photometric == DV_PHOTO_YBR_FULL_422) /* two luminance + one Cb + one Cr per pixel pair */
        pa->native_frame_bits = pa->native_frame_bits * 2 / 3;
    pa->native_frame_bytes = (pa->native_frame_bits + 7) / 8;
    if (pa->native_frame_bytes > lim->max_frame_bytes)
        return dv_fail(err, DV_ERR_LIMIT, "one frame of %llu bytes exceeds %llu",
                       (unsigned long long)pa->native_frame_bytes, (unsigned long long)lim->max_frame_bytes);
    return 0;
}

static int read_photometric(const dv_instance *inst, dv_photometric *out, dv_error *err)
{
    char pi[32];
    if (dv_instance_get_string(inst, DV_TAG_PHOTOMETRIC_INTERPRETATION, pi, sizeof pi) < 0)
        return dv_fail(err, DV_ERR_MALFORMED, "PhotometricInterpretation " TAGF " missing or too long",
                       TAGA(DV_TAG_PHOTOMETRIC_INTERPRETATION));
    const char *p = pi;
    while (*p == ' ')
        p++;
    *out = photometric_parse(p);
    return 0;
}

int dv_pixel_attrs_read(const dv_instance *inst, const dv_image_limits *lim, dv_pixel_attrs *out, dv_error *err)
{
    memset(out, 0, sizeof *out);
    const dv_elem *pd = dv_ds_find(&inst->ds, DV_TAG_PIXEL_DATA);
    if (!pd)
        return dv_fail(err, DV_ERR_UNSUPPORTED, "no PixelData " TAGF " (float/double pixel data is not decoded)",
                       TAGA(DV_TAG_PIXEL_DATA));
    if (need_us(inst, DV_TAG_ROWS, &out->rows, err) || need_us(inst, DV_TAG_COLUMNS, &out->columns, err) ||
        need_us(inst, DV_TAG_BITS_ALLOCATED, &out->bits_allocated, err))
        return -1;
    out->samples_per_pixel = 1;
    if (get_us(inst, DV_TAG_SAMPLES_PER_PIXEL, &out->samples_per_pixel) < 0)
        return dv_fail(err, DV_ERR_MALFORMED, "SamplesPerPixel " TAGF " is not a US value",
                       TAGA(DV_TAG_SAMPLES_PER_PIXEL));
    out->bits_stored = out->bits_allocated;
    if (get_us(inst, DV_TAG_BITS_STORED, &out->bits_stored) < 0)
        return dv_fail(err, DV_ERR_MALFORMED, "BitsStored " TAGF " is not a US value", TAGA(DV_TAG_BITS_STORED));
    out->high_bit = out->bits_stored ? out->bits_stored - 1 : 0;
    if (get_us(inst, DV_TAG_HIGH_BIT, &out->high_bit) < 0 ||
        get_us(inst, DV_TAG_PIXEL_REPRESENTATION, &out->pixel_representation) < 0 ||
        get_us(inst, DV_TAG_PLANAR_CONFIGURATION, &out->planar_configuration) < 0)
        return dv_fail(err, DV_ERR_MALFORMED, "HighBit, PixelRepresentation or PlanarConfiguration is not US");
    if (get_frames(inst, &out->number_of_frames, err))
        return -1;
    if (read_photometric(inst, &out->photometric, err) != 0)
        return -1;
    out->big_endian = inst->ts_kind == DV_TS_EXPLICIT_BE;
    if (dv_pixel_attrs_validate(out, lim, err))
        return -1;

    dv_ts_family fam = dv_ts_family_of(inst->ts_uid);
    int encapsulated = (pd->flags & DV_ELEM_ENCAPSULATED) != 0;
    if (fam == DV_TSF_UNKNOWN || fam == DV_TSF_UNSUPPORTED)
        return dv_fail(err, DV_ERR_UNSUPPORTED, "transfer syntax has no pixel decoder");
    if (encapsulated != dv_ts_family_encapsulated(fam))
        return dv_fail(err, DV_ERR_MALFORMED, "PixelData " TAGF " is %s but the transfer syntax says otherwise",
                       TAGA(DV_TAG_PIXEL_DATA), encapsulated ? "encapsulated" : "native");
    if (!encapsulated) {
        /* Every frame must be present: a short value is a lying header, never padded with invented pixels.
         * BitsAllocated 1 frames are packed bit after bit across frame boundaries (PS3.5 8.1.1). */
        if (out->native_frame_bits > UINT64_MAX / out->number_of_frames)
            return dv_fail(err, DV_ERR_LIMIT, "%u frames overflow the pixel data size", out->number_of_frames);
        uint64_t need = (out->native_frame_bits * out->number_of_frames + 7) / 8;
        if (pd->length < need)
            return dv_fail(err, DV_ERR_MALFORMED, "PixelData " TAGF " has %llu bytes, %u frames need %llu",
                           TAGA(DV_TAG_PIXEL_DATA), (unsigned long long)pd->length, out->number_of_frames,
                           (unsigned long long)need);
    }
    return 0;
}

/* The float pixel element of the top-level dataset and its sample width in bits (32 or 64); NULL when none. */
static const dv_elem *float_pixels(const dv_instance *inst, uint32_t *bits)
{
    const dv_elem *e = dv_ds_find(&inst->ds, DV_TAG_FLOAT_PIXEL_DATA);
    *bits = 32;
    if (!e) {
        e = dv_ds_find(&inst->ds, DV_TAG_DOUBLE_FLOAT_PIXEL_DATA);
        *bits = 64;
    }
    return e;
}

int dv_pixel_attrs_read_float(const dv_instance *inst, const dv_image_limits *lim, dv_pixel_attrs *out,
                              dv_error *err)
{
    dv_image_limits def;
    if (!lim) {
        dv_image_limits_default(&def);
        lim = &def;
    }
    memset(out, 0, sizeof *out);
    uint32_t bits;
    const dv_elem *pd = float_pixels(inst, &bits);
    if (!pd)
        return dv_fail(err, DV_ERR_UNSUPPORTED, "no float pixel data");
    if (pd->flags & (DV_ELEM_ENCAPSULATED | DV_ELEM_SEQUENCE))
        return dv_fail(err, DV_ERR_MALFORMED, "float pixel data " TAGF " is not a native value", TAGA(pd->tag));
    if (need_us(inst, DV_TAG_ROWS, &out->rows, err) || need_us(inst, DV_TAG_COLUMNS, &out->columns, err))
        return -1;
    /* BitsAllocated is Type 1 there, and the samples' width is the tag's: another value is a lying header. */
    out->bits_allocated = bits;
    out->samples_per_pixel = 1;
    if (get_us(inst, DV_TAG_BITS_ALLOCATED, &out->bits_allocated) < 0 || out->bits_allocated != bits)
        return dv_fail(err, DV_ERR_MALFORMED, "float pixel data " TAGF " with BitsAllocated other than %u",
                       TAGA(pd->tag), bits);
    if (get_us(inst, DV_TAG_SAMPLES_PER_PIXEL, &out->samples_per_pixel) < 0 || out->samples_per_pixel != 1)
        return dv_fail(err, DV_ERR_UNSUPPORTED, "float pixel data with SamplesPerPixel other than 1");
    if (get_frames(inst, &out->number_of_frames, err) || read_photometric(inst, &out->photometric, err))
        return -1;
    if (out->photometric != DV_PHOTO_MONOCHROME2)
        return dv_fail(err, DV_ERR_UNSUPPORTED, "float pixel data with PhotometricInterpretation other than "
                       "MONOCHROME2");
    if (out->rows == 0 || out->columns == 0 || out->number_of_frames == 0)
        return dv_fail(err, DV_ERR_MALFORMED, "float pixel data: %u x %u, %u frames", out->rows, out->columns,
                       out->number_of_frames);
    if (out->rows > lim->max_dimension || out->columns > lim->max_dimension || out->number_of_frames > lim->max_frames)
        return dv_fail(err, DV_ERR_LIMIT, "float pixel data of Rows %u x Columns %u over %u, or NumberOfFrames "
                       "over %u", out->rows, out->columns, lim->max_dimension, lim->max_frames);
    out->float_bits = out->bits_stored = bits;
    out->high_bit = bits - 1;
    out->big_endian = inst->ts_kind == DV_TS_EXPLICIT_BE;
    out->native_frame_bits = (uint64_t)out->rows * out->columns * bits; /* < 2^38 */
    out->native_frame_bytes = out->native_frame_bits / 8;
    if (out->native_frame_bytes > lim->max_frame_bytes)
        return dv_fail(err, DV_ERR_LIMIT, "one frame of %llu bytes exceeds %llu",
                       (unsigned long long)out->native_frame_bytes, (unsigned long long)lim->max_frame_bytes);
    if (pd->length / out->native_frame_bytes < out->number_of_frames)
        return dv_fail(err, DV_ERR_MALFORMED, "float pixel data " TAGF " has %llu bytes for %u frames of %llu",
                       TAGA(pd->tag), (unsigned long long)pd->length, out->number_of_frames,
                       (unsigned long long)out->native_frame_bytes);
    return 0;
}
