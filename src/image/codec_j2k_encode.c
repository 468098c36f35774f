/* Lossless JPEG 2000 encode (reversible 5/3 wavelet, one quality layer, no quantisation) with OpenJPEG, so a
 * JPEG 2000 Lossless (.4.90) input keeps its transfer syntax after redaction (issue 11 item 4; docs/pixels.md
 * "Output transfer syntax"; docs/decisions.md).
 *
 * A raw J2K codestream (no JP2 boxes: PS3.5 A.4.4), one tile, precision = BitsStored, signedness =
 * PixelRepresentation, each component full size. The multi-component transform follows the input's
 * PhotometricInterpretation, the attribute the output keeps: YBR_RCT -> RCT on (the decoder hands us RGB and
 * the reader of our output applies the inverse RCT), anything else -> off (RGB stays RGB, YBR_FULL stays
 * YBR_FULL). Our input is trusted (a frame we decoded), but the output buffer is still capped: a lossless
 * codestream larger than twice the raw frame plus 64 KiB, or over the caller's cap, is DV_ERR_LIMIT.
 * [test_image: test_j2k_encode_round_trip, integration.test_image_decode, integration.test_pixel_stage_corpus] */
#include "dv_image.h"

#include <stdlib.h>
#include <string.h>
#include <openjpeg.h>

typedef struct outstream {
    uint8_t *data;
    size_t len, pos, cap, limit;
    int over;  /* the limit was hit */
    int nomem; /* realloc failed */
} outstream;

static int os_reserve(outstream *o, size_t end)
{
    if (end <= o->cap)
        return 0;
    if (end > o->limit) {
        o->over = 1;
        return -1;
    }
    size_t n = o->cap ? o->cap : 65536;
    while (n < end)
        n = n > o->limit / 2 ? o->limit : n * 2;
    uint8_t *p = realloc(o->data, n);
    if (!p) {
        o->nomem = 1;
        return -1;
    }
    o->data = p;
    o->cap = n;
    return 0;
}

static OPJ_SIZE_T os_write(void *buf, OPJ_SIZE_T n, void *user)
{
    outstream *o = user;
    if (n > o->limit || o->pos > o->limit - n) {
        o->over = 1;
        return (OPJ_SIZE_T)-1;
    }
    if (os_reserve(o, o->pos + n) != 0)
        return (OPJ_SIZE_T)-1;
    memcpy(o->data + o->pos, buf, n);
    o->pos += n;
    if (o->pos > o->len)
        o->len = o->pos;
    return n;
}

static OPJ_BOOL os_seek(OPJ_OFF_T n, void *user)
{
    outstream *o = user;
    if (n < 0 || (uint64_t)n > o->limit)
        return OPJ_FALSE;
    if ((size_t)n > o->len) { /* past the end: zero-filled, as a file would be */
        if (os_reserve(o, (size_t)n) != 0)
            return OPJ_FALSE;
        memset(o->data + o->len, 0, (size_t)n - o->len);
        o->len = (size_t)n;
    }
    o->pos = (size_t)n;
    return OPJ_TRUE;
}

static OPJ_OFF_T os_skip(OPJ_OFF_T n, void *user)
{
    outstream *o = user;
    if (n < 0 || (uint64_t)n > o->limit - o->pos)
        return -1;
    return os_seek((OPJ_OFF_T)(o->pos + (size_t)n), user) ? n : -1;
}

static void quiet(const char *msg, void *user)
{
    (void)msg;
    (void)user;
}

int dv_j2k_encode(const dv_pixel_attrs *pa, const dv_frame *frame, uint64_t max_bytes, uint8_t **out_buf,
                  size_t *out_len, dv_error *err)
{
    *out_buf = NULL;
    *out_len = 0;
    if (frame->width != pa->columns || frame->height != pa->rows || frame->samples != pa->samples_per_pixel ||
        frame->sample_bytes != dv_sample_bytes(pa) || frame->sample_bytes > 2 ||
        (frame->samples != 1 && frame->samples != 3))
        return dv_fail(err, DV_ERR_USAGE, "JPEG 2000 encode: frame does not match the pixel attributes");
    if (pa->bits_stored < 1 || pa->bits_stored > 16)
        return dv_fail(err, DV_ERR_UNSUPPORTED, "JPEG 2000 encode: BitsStored %u (1..16)", pa->bits_stored);
    size_t npix = (size_t)frame->width * frame->height;
    size_t raw = npix * frame->samples * frame->sample_bytes;
    uint64_t limit = (uint64_t)raw * 2 + 65536;
    if (max_bytes && limit > max_bytes)
        limit = max_bytes;
    if (limit > SIZE_MAX)
        limit = SIZE_MAX;

    opj_image_cmptparm_t cp[3];
    memset(cp, 0, sizeof cp);
    for (uint32_t c = 0; c < frame->samples; c++) {
        cp[c].dx = cp[c].dy = 1;
        cp[c].w = frame->width;
        cp[c].h = frame->height;
        cp[c].prec = pa->bits_stored;
        cp[c].sgnd = frame->is_signed ? 1 : 0;
    }
    int rc = -1;
    outstream o = {NULL, 0, 0, 0, (size_t)limit, 0, 0};
    opj_codec_t *codec = NULL;
    opj_stream_t *st = NULL;
    opj_image_t *img = opj_image_create(frame->samples, cp, frame->samples == 3 ? OPJ_CLRSPC_SRGB : OPJ_CLRSPC_GRAY);
    if (!img) {
        dv_fail(err, DV_ERR_NOMEM, "JPEG 2000 encode image of %zu bytes", raw);
        goto done;
    }
    img->x0 = img->y0 = 0;
    img->x1 = frame->width;
    img->y1 = frame->height;
    /* the canonical samples (already masked and sign-extended) are the component values */
    uint32_t spp = frame->samples;
    for (uint32_t c = 0; c < spp; c++) {
        OPJ_INT32 *d = img->comps[c].data;
        if (frame->sample_bytes == 1) {
            const uint8_t *s = (const uint8_t *)frame->data + c;
            for (size_t p = 0; p < npix; p++)
                d[p] = frame->is_signed ? (OPJ_INT32)(int8_t)s[p * spp] : (OPJ_INT32)s[p * spp];
        } else {
            const uint16_t *s = (const uint16_t *)frame->data + c;
            for (size_t p = 0; p < npix; p++)
                d[p] = frame->is_signed ? (OPJ_INT32)(int16_t)s[p * spp] : (OPJ_INT32)s[p * spp];
        }
    }
    opj_cparameters_t par;
    opj_set_default_encoder_parameters(&par);
    par.tcp_numlayers = 1;
    par.tcp_rates[0] = 0; /* lossless */
    par.cp_disto_alloc = 1;
    par.irreversible = 0; /* 5/3 reversible wavelet */
    par.tcp_mct = (char)(spp == 3 && pa->photometric == DV_PHOTO_YBR_RCT ? 1 : 0);
    /* as many decomposition levels as the smaller side allows, at most 5 (OpenJPEG's default) */
    uint32_t m = frame->width < frame->height ? frame->width : frame->height;
    par.numresolution = 1;
    while (par.numresolution < 6 && (m >> par.numresolution) >= 1)
        par.numresolution++;
    if (!(codec = opj_create_compress(OPJ_CODEC_J2K)) || !(st = opj_stream_create(65536, OPJ_FALSE))) {
        dv_fail(err, DV_ERR_NOMEM, "JPEG 2000 encoder");
        goto done;
    }
    opj_set_info_handler(codec, quiet, NULL);
    opj_set_warning_handler(codec, quiet, NULL);
    opj_set_error_handler(codec, quiet, NULL);
    opj_stream_set_user_data(st, &o, NULL);
    opj_stream_set_write_function(st, os_write);
    opj_stream_set_skip_function(st, os_skip);
    opj_stream_set_seek_function(st, os_seek);
    if (!opj_setup_encoder(codec, &par, img) || !opj_start_compress(codec, img, st) || !opj_encode(codec, st) ||
        !opj_end_compress(codec, st)) {
        if (o.over)
            dv_fail(err, DV_ERR_LIMIT, "JPEG 2000 output over %llu bytes for a %zu-byte frame",
                    (unsigned long long)limit, raw);
        else if (o.nomem)
            dv_fail(err, DV_ERR_NOMEM, "out of memory (JPEG 2000 output of %zu bytes)", o.cap);
        else
            dv_fail(err, DV_ERR_INVALID, "JPEG 2000 encode of a %ux%u x%u frame failed", frame->width,
                    frame->height, spp);
        goto done;
    }
    if (o.len & 1) { /* even fragment length; decoders ignore the byte after EOC */
        if (os_reserve(&o, o.len + 1) != 0) {
            dv_fail(err, DV_ERR_LIMIT, "JPEG 2000 output over %llu bytes", (unsigned long long)limit);
            goto done;
        }
        o.data[o.len++] = 0x00;
    }
    *out_buf = o.data;
    *out_len = o.len;
    o.data = NULL;
    rc = 0;
done:
    free(o.data);
    if (st)
        opj_stream_destroy(st);
    if (codec)
        opj_destroy_codec(codec);
    if (img)
        opj_image_destroy(img);
    return rc;
}
