/* JPEG-LS lossless and near-lossless (.4.80 / .4.81) with CharLS 2.4 (C API).
 *
 * The frame header CharLS reads must match Rows, Columns and SamplesPerPixel, and its sample precision must
 * fit BitsAllocated, before CharLS decodes; the destination size is computed by us from the attributes and
 * checked against CharLS's own figure. Interleave mode "none" arrives planar and is interleaved here.
 * [fuzz_image_decode, integration.test_image_decode] */
#include "dv_image.h"

#include <stdlib.h>
#include <string.h>
#include <charls/charls.h>

static int jls_fail(dv_error *err, charls_jpegls_errc ec, const char *what)
{
    return dv_fail(err, DV_ERR_MALFORMED, "JPEG-LS %s: %s", what, charls_get_error_message(ec));
}

/* T.87 streams end with EOI. CharLS 2.4.1 spends 5-7 s of CPU on a scan that runs off the end of its
 * buffer with no marker (fuzz_image_decode; tests/fuzz/slow/README.md) and fails fast when an EOI follows,
 * so a frame without EOI (after at most 16 bytes of padding: fragments are padded to even length) is
 * refused before CharLS sees it (padding: 0x00, or 0xFF as some writers do). [test_fuzz_regressions_replay] */
static int ends_with_eoi(const uint8_t *d, size_t n)
{
    size_t pad = 0;
    while (n > 2 && pad < 16 && (d[n - 1] == 0x00 || d[n - 1] == 0xFF)) { /* orthanc's .4.80/.4.81 pad with FF */
        n--;
        pad++;
    }
    return n >= 2 && d[n - 2] == 0xFF && d[n - 1] == 0xD9;
}

int dv_jpegls_decode(const dv_pixel_attrs *pa, const uint8_t *data, size_t len, dv_frame *out, dv_error *err)
{
    if (pa->bits_allocated == 1 || pa->bits_allocated > 16)
        return dv_fail(err, DV_ERR_MALFORMED, "JPEG-LS with BitsAllocated %u", pa->bits_allocated);
    if (dv_frame_prepare(pa, out, pa->photometric == DV_PHOTO_YBR_FULL_422 ? DV_PHOTO_YBR_FULL : pa->photometric,
                         err))
        return -1;
    if (!ends_with_eoi(data, len))
        return dv_fail(err, DV_ERR_MALFORMED, "JPEG-LS frame of %zu bytes does not end with EOI", len);
    if (dv_jpegls_codec_load(err) != 0) /* CharLS is loaded on first use (jpegls_lazy.c) */
        return -1;
    charls_jpegls_decoder *dec = charls_jpegls_decoder_create();
    if (!dec)
        return dv_fail(err, DV_ERR_NOMEM, "JPEG-LS decoder");
    int rc = -1;
    uint8_t *tmp = NULL;
    charls_frame_info fi;
    charls_interleave_mode im;
    int32_t near = 0;
    charls_jpegls_errc ec = charls_jpegls_decoder_set_source_buffer(dec, data, len);
    if (ec == CHARLS_JPEGLS_ERRC_SUCCESS)
        ec = charls_jpegls_decoder_read_header(dec);
    if (ec != CHARLS_JPEGLS_ERRC_SUCCESS) {
        jls_fail(err, ec, "header");
        goto done;
    }
    if ((ec = charls_jpegls_decoder_get_frame_info(dec, &fi)) != CHARLS_JPEGLS_ERRC_SUCCESS ||
        (ec = charls_jpegls_decoder_get_interleave_mode(dec, &im)) != CHARLS_JPEGLS_ERRC_SUCCESS ||
        (ec = charls_jpegls_decoder_get_near_lossless(dec, 0, &near)) != CHARLS_JPEGLS_ERRC_SUCCESS) {
        jls_fail(err, ec, "header");
        goto done;
    }
    int dw = fi.width != pa->columns, dh = fi.height != pa->rows;
    if (dw || dh || fi.component_count != (int32_t)pa->samples_per_pixel) {
        char what[160];
        dv_mismatch_text(what, sizeof what, dw, dh, fi.component_count != (int32_t)pa->samples_per_pixel, pa);
        dv_fail(err, DV_ERR_MALFORMED, "JPEG-LS codestream does not match the attributes: %s", what);
        goto done;
    }
    if (fi.bits_per_sample < 2 || fi.bits_per_sample > 16 || (uint32_t)fi.bits_per_sample > pa->bits_allocated) {
        dv_fail(err, DV_ERR_MALFORMED, "JPEG-LS precision %d with BitsAllocated %u", fi.bits_per_sample,
                pa->bits_allocated);
        goto done;
    }
    out->src.precision = (uint32_t)fi.bits_per_sample;
    out->src.lossy = near != 0;
    /* CharLS writes 1 byte per sample up to 8 bits, else 2; its output size is ours to compute. */
    uint32_t lib_bytes = fi.bits_per_sample <= 8 ? 1u : 2u;
    size_t nsamples = (size_t)fi.width * fi.height * (size_t)fi.component_count;
    size_t need = nsamples * lib_bytes, lib_need = 0;
    if ((ec = charls_jpegls_decoder_get_destination_size(dec, 0, &lib_need)) != CHARLS_JPEGLS_ERRC_SUCCESS) {
        jls_fail(err, ec, "size");
        goto done;
    }
    if (lib_need != need) {
        dv_fail(err, DV_ERR_MALFORMED, "JPEG-LS destination %zu bytes, expected %zu", lib_need, need);
        goto done;
    }
    int direct = lib_bytes == out->sample_bytes && (im != CHARLS_INTERLEAVE_MODE_NONE || fi.component_count == 1);
    uint8_t *dst = out->data;
    if (!direct) {
        tmp = malloc(need);
        if (!tmp) {
            dv_fail(err, DV_ERR_NOMEM, "JPEG-LS scratch of %zu bytes", need);
            goto done;
        }
        dst = tmp;
    }
    if ((ec = charls_jpegls_decoder_decode_to_buffer(dec, dst, need, 0)) != CHARLS_JPEGLS_ERRC_SUCCESS) {
        jls_fail(err, ec, "decode");
        goto done;
    }
    if (!direct) {
        size_t npix = (size_t)fi.width * fi.height;
        uint32_t spp = (uint32_t)fi.component_count;
        int planar = im == CHARLS_INTERLEAVE_MODE_NONE && spp > 1;
        for (size_t p = 0; p < npix; p++)
            for (uint32_t s = 0; s < spp; s++) {
                size_t si = planar ? (size_t)s * npix + p : p * spp + s;
                uint32_t v = lib_bytes == 1 ? tmp[si] : ((const uint16_t *)(const void *)tmp)[si];
                size_t di = p * spp + s;
                if (out->sample_bytes == 1)
                    ((uint8_t *)out->data)[di] = (uint8_t)v;
                else
                    ((uint16_t *)out->data)[di] = (uint16_t)v;
            }
    }
    dv_frame_normalise(out);
    rc = 0;
done:
    free(tmp);
    charls_jpegls_decoder_destroy(dec);
    return rc;
}

/* Lossless JPEG-LS encode of a canonical frame (so a JPEG-LS Lossless input can keep its syntax, issue 11
 * item 4). Samples are coded as their stored bit patterns (masked to BitsStored; the decoder sign-extends
 * them back), precision = BitsStored (2..16), sample-interleaved for 3 samples. */
int dv_jpegls_encode(const dv_pixel_attrs *pa, const dv_frame *frame, uint8_t **out_buf, size_t *out_len,
                     dv_error *err)
{
    *out_buf = NULL;
    *out_len = 0;
    if (frame->width != pa->columns || frame->height != pa->rows || frame->samples != pa->samples_per_pixel ||
        frame->sample_bytes != dv_sample_bytes(pa) || frame->sample_bytes > 2)
        return dv_fail(err, DV_ERR_USAGE, "JPEG-LS encode: frame does not match the pixel attributes");
    if (pa->bits_stored < 2 || pa->bits_stored > 16)
        return dv_fail(err, DV_ERR_UNSUPPORTED, "JPEG-LS encode: BitsStored %u (2..16)", pa->bits_stored);
    size_t nsamples = (size_t)frame->width * frame->height * frame->samples;
    /* CharLS takes 1 byte per sample up to 8 bits, else 2: a 16-bit container holding <= 8 stored bits is
     * narrowed (fuzz_image_decode finding), signed samples are masked to their stored bit pattern */
    uint32_t lib_bytes = pa->bits_stored <= 8 ? 1u : 2u;
    size_t in_bytes = nsamples * lib_bytes;
    const void *src = frame->data;
    void *masked = NULL;
    if (lib_bytes != frame->sample_bytes || (frame->is_signed && pa->bits_stored < frame->sample_bytes * 8)) {
        masked = malloc(in_bytes);
        if (!masked)
            return dv_fail(err, DV_ERR_NOMEM, "JPEG-LS encode scratch");
        uint32_t mask = (1u << pa->bits_stored) - 1u;
        for (size_t i = 0; i < nsamples; i++) {
            uint32_t v = frame->sample_bytes == 1 ? ((const uint8_t *)frame->data)[i]
                                                  : ((const uint16_t *)frame->data)[i];
            if (lib_bytes == 1)
                ((uint8_t *)masked)[i] = (uint8_t)(v & mask);
            else
                ((uint16_t *)masked)[i] = (uint16_t)(v & mask);
        }
        src = masked;
    }
    int rc = -1;
    uint8_t *buf = NULL;
    charls_jpegls_encoder *enc = NULL;
    if (dv_jpegls_codec_load(err) != 0) /* CharLS is loaded on first use (jpegls_lazy.c) */
        goto done;
    enc = charls_jpegls_encoder_create();
    if (!enc) {
        dv_fail(err, DV_ERR_NOMEM, "JPEG-LS encoder");
        goto done;
    }
    charls_frame_info fi = {frame->width, frame->height, (int32_t)pa->bits_stored, (int32_t)frame->samples};
    size_t cap = 0, written = 0;
    charls_jpegls_errc ec = charls_jpegls_encoder_set_frame_info(enc, &fi);
    if (ec == CHARLS_JPEGLS_ERRC_SUCCESS && frame->samples == 3)
        ec = charls_jpegls_encoder_set_interleave_mode(enc, CHARLS_INTERLEAVE_MODE_SAMPLE);
    if (ec == CHARLS_JPEGLS_ERRC_SUCCESS)
        ec = charls_jpegls_encoder_get_estimated_destination_size(enc, &cap);
    if (ec != CHARLS_JPEGLS_ERRC_SUCCESS) {
        jls_fail(err, ec, "encode setup");
        goto done;
    }
    buf = malloc(cap + 1);
    if (!buf) {
        dv_fail(err, DV_ERR_NOMEM, "JPEG-LS output of %zu bytes", cap);
        goto done;
    }
    if ((ec = charls_jpegls_encoder_set_destination_buffer(enc, buf, cap)) != CHARLS_JPEGLS_ERRC_SUCCESS ||
        (ec = charls_jpegls_encoder_encode_from_buffer(enc, src, in_bytes, 0)) != CHARLS_JPEGLS_ERRC_SUCCESS ||
        (ec = charls_jpegls_encoder_get_bytes_written(enc, &written)) != CHARLS_JPEGLS_ERRC_SUCCESS) {
        jls_fail(err, ec, "encode");
        goto done;
    }
    if (written & 1)
        buf[written++] = 0x00; /* even fragment length; the decoder skips the padding after EOI */
    *out_buf = buf;
    *out_len = written;
    buf = NULL;
    rc = 0;
done:
    free(buf);
    free(masked);
    charls_jpegls_encoder_destroy(enc);
    return rc;
}
