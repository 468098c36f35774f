/* JPEG 2000 (.4.90-.4.93) and HTJ2K (.4.201-.4.203) with OpenJPEG 2.5 (which decodes HT code-blocks,
 * Part 15, since 2.5.0), from a J2K codestream or a JP2 file (some writers wrap the codestream).
 *
 * The header OpenJPEG reads must match Rows, Columns and SamplesPerPixel (every component full size, no
 * subsampling) and its precision must fit BitsAllocated before anything is decoded; OpenJPEG applies the
 * inverse multi-component transform itself, so YBR_RCT / YBR_ICT frames come out as RGB. The library's
 * error is kept for our message with its numbers scrubbed (it prints SIZ and tile fields; dv_image.h, numbers
 * in pixel errors); its warnings and information are not printed (the CLI owns the terminal).
 * [fuzz_image_decode, integration.test_image_decode] */
#include "dv_image.h"

#include <string.h>
#include <openjpeg.h>

typedef struct memstream {
    const uint8_t *data;
    size_t len, pos;
} memstream;

static OPJ_SIZE_T ms_read(void *buf, OPJ_SIZE_T n, void *user)
{
    memstream *m = user;
    if (m->pos >= m->len)
        return (OPJ_SIZE_T)-1;
    size_t k = m->len - m->pos < n ? m->len - m->pos : n;
    memcpy(buf, m->data + m->pos, k);
    m->pos += k;
    return k;
}

static OPJ_OFF_T ms_skip(OPJ_OFF_T n, void *user)
{
    memstream *m = user;
    if (n < 0)
        return -1;
    size_t k = m->len - m->pos < (uint64_t)n ? m->len - m->pos : (size_t)n;
    m->pos += k;
    return (OPJ_OFF_T)k;
}

static OPJ_BOOL ms_seek(OPJ_OFF_T n, void *user)
{
    memstream *m = user;
    if (n < 0 || (uint64_t)n > m->len)
        return OPJ_FALSE;
    m->pos = (size_t)n;
    return OPJ_TRUE;
}

#define DV_J2K_MAX_TILES 4096u

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Our own look at the SIZ marker before OpenJPEG sees the stream: OpenJPEG sizes its tile structures from
 * SIZ in opj_read_header, so a SIZ claiming millions of rows or tiles costs seconds and memory before our
 * header check could refuse it (found by fuzz_image_decode; tests/fuzz/regressions/image_decode/
 * j2k-siz-huge-height). The SIZ must follow SOC (codestream) or sit within the first 4 KiB (JP2 boxes). */
static int check_siz(const dv_pixel_attrs *pa, const uint8_t *d, size_t n, dv_error *err)
{
    size_t i = 0, lim = n < 4096 ? n : 4096;
    while (i + 1 < lim && !(d[i] == 0xFF && d[i + 1] == 0x4F && i + 3 < n && d[i + 2] == 0xFF && d[i + 3] == 0x51))
        i++;
    if (i + 1 >= lim)
        return dv_fail(err, DV_ERR_MALFORMED, "JPEG 2000: no SOC+SIZ in the first %zu bytes", lim);
    const uint8_t *s = d + i + 4; /* Lsiz Rsiz Xsiz Ysiz XOsiz YOsiz XTsiz YTsiz XTOsiz YTOsiz Csiz */
    if (n - (i + 4) < 38)
        return dv_fail(err, DV_ERR_MALFORMED, "JPEG 2000: SIZ truncated");
    uint32_t xs = be32(s + 4), ys = be32(s + 8), xo = be32(s + 12), yo = be32(s + 16);
    uint32_t xt = be32(s + 20), yt = be32(s + 24), xto = be32(s + 28), yto = be32(s + 32);
    uint32_t cs = (uint32_t)s[36] << 8 | s[37];
    int dw = xs <= xo || xs - xo != pa->columns, dh = ys <= yo || ys - yo != pa->rows;
    if (dw || dh || cs != pa->samples_per_pixel) {
        char what[160];
        dv_mismatch_text(what, sizeof what, dw, dh, cs != pa->samples_per_pixel, pa);
        return dv_fail(err, DV_ERR_MALFORMED, "JPEG 2000 SIZ does not match the attributes: %s", what);
    }
    if (xt == 0 || yt == 0 || xto > xo || yto > yo)
        return dv_fail(err, DV_ERR_MALFORMED, "JPEG 2000 SIZ: bad tile grid");
    uint64_t tx = ((uint64_t)xs - xto + xt - 1) / xt, ty = ((uint64_t)ys - yto + yt - 1) / yt;
    if (tx * ty > DV_J2K_MAX_TILES)
        return dv_fail(err, DV_ERR_LIMIT, "JPEG 2000 frame of more than %u tiles", DV_J2K_MAX_TILES);
    return 0;
}

static void quiet(const char *msg, void *user)
{
    (void)msg;
    (void)user;
}

static void keep_error(const char *msg, void *user)
{
    char *dst = user;
    if (dst[0] == '\0' && msg) {
        size_t n = strlen(msg);
        if (n > 200)
            n = 200;
        memcpy(dst, msg, n);
        while (n > 0 && (dst[n - 1] == '\n' || dst[n - 1] == ' '))
            n--;
        dst[n] = '\0';
    }
}

int dv_j2k_decode(const dv_pixel_attrs *pa, const uint8_t *data, size_t len, dv_frame *out, dv_error *err)
{
    if (pa->bits_allocated == 1 || pa->bits_allocated > 16)
        return dv_fail(err, DV_ERR_MALFORMED, "JPEG 2000 with BitsAllocated %u", pa->bits_allocated);
    int mct_photo = pa->photometric == DV_PHOTO_YBR_ICT || pa->photometric == DV_PHOTO_YBR_RCT;
    if (dv_frame_prepare(pa, out, mct_photo ? DV_PHOTO_RGB : pa->photometric, err))
        return -1;
    if (len < 12)
        return dv_fail(err, DV_ERR_MALFORMED, "JPEG 2000 frame of %zu bytes", len);
    static const uint8_t jp2_sig[12] = {0, 0, 0, 0x0C, 'j', 'P', ' ', ' ', 0x0D, 0x0A, 0x87, 0x0A};
    OPJ_CODEC_FORMAT fmt = memcmp(data, jp2_sig, 12) == 0 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K;
    if (check_siz(pa, data, len, err))
        return -1;

    memstream ms = {data, len, 0};
    char msg[256] = "";
    int rc = -1;
    opj_image_t *img = NULL;
    opj_stream_t *st = opj_stream_create(len < 65536 ? len : 65536, OPJ_TRUE);
    opj_codec_t *codec = opj_create_decompress(fmt);
    if (!st || !codec) {
        dv_fail(err, DV_ERR_NOMEM, "JPEG 2000 decoder");
        goto done;
    }
    opj_stream_set_user_data(st, &ms, NULL);
    opj_stream_set_user_data_length(st, len);
    opj_stream_set_read_function(st, ms_read);
    opj_stream_set_skip_function(st, ms_skip);
    opj_stream_set_seek_function(st, ms_seek);
    opj_set_info_handler(codec, quiet, NULL);
    opj_set_warning_handler(codec, quiet, NULL);
    opj_set_error_handler(codec, keep_error, msg);
    opj_dparameters_t params;
    opj_set_default_decoder_parameters(&params);
    if (!opj_setup_decoder(codec, &params) || !opj_read_header(st, codec, &img) || !img) {
        dv_scrub_numbers(msg);
        dv_fail(err, DV_ERR_MALFORMED, "JPEG 2000 header: %s", msg[0] ? msg : "unreadable");
        goto done;
    }
    int dw = img->x1 <= img->x0 || img->x1 - img->x0 != pa->columns;
    int dh = img->y1 <= img->y0 || img->y1 - img->y0 != pa->rows;
    if (dw || dh || img->numcomps != pa->samples_per_pixel) {
        char what[160];
        dv_mismatch_text(what, sizeof what, dw, dh, img->numcomps != pa->samples_per_pixel, pa);
        dv_fail(err, DV_ERR_MALFORMED, "JPEG 2000 codestream does not match the attributes: %s", what);
        goto done;
    }
    for (uint32_t c = 0; c < img->numcomps; c++) {
        const opj_image_comp_t *cp = &img->comps[c];
        if (cp->dx != 1 || cp->dy != 1 || cp->prec == 0 || cp->prec > pa->bits_allocated) {
            dv_fail(err, DV_ERR_MALFORMED, "JPEG 2000 component %u: subsampled or precision %u with BitsAllocated %u",
                    c, cp->prec, pa->bits_allocated);
            goto done;
        }
    }
    if (!opj_decode(codec, st, img) || !opj_end_decompress(codec, st)) {
        dv_scrub_numbers(msg);
        dv_fail(err, DV_ERR_MALFORMED, "JPEG 2000 decode: %s", msg[0] ? msg : "failed");
        goto done;
    }
    /* the greatest precision and any signed component: what normalise needs to tell bits above BitsStored
     * that hold content from a sign extension (dv_frame.had_unused_bits) */
    out->src.precision = 0;
    for (uint32_t c = 0; c < img->numcomps; c++) {
        out->src.precision = img->comps[c].prec > out->src.precision ? img->comps[c].prec : out->src.precision;
        out->src.is_signed |= img->comps[c].sgnd != 0;
    }
    out->src.lossy = 0; /* the transfer syntax says (.4.91 may be lossy); the codestream is not inspected */
    size_t npix = (size_t)pa->rows * pa->columns;
    uint32_t spp = pa->samples_per_pixel;
    for (uint32_t c = 0; c < spp; c++) {
        const opj_image_comp_t *cp = &img->comps[c];
        if (!cp->data || (size_t)cp->w * cp->h != npix) {
            dv_fail(err, DV_ERR_MALFORMED, "JPEG 2000 component %u was not decoded in full", c);
            goto done;
        }
        const OPJ_INT32 *s = cp->data;
        if (out->sample_bytes == 1) {
            uint8_t *d = (uint8_t *)out->data + c;
            for (size_t p = 0; p < npix; p++)
                d[p * spp] = (uint8_t)s[p];
        } else {
            uint16_t *d = (uint16_t *)out->data + c;
            for (size_t p = 0; p < npix; p++)
                d[p * spp] = (uint16_t)s[p];
        }
    }
    dv_frame_normalise(out);
    rc = 0;
done:
    if (img)
        opj_image_destroy(img);
    if (codec)
        opj_destroy_codec(codec);
    if (st)
        opj_stream_destroy(st);
    return rc;
}
