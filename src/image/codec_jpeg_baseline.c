/* JPEG Baseline (process 1) and Extended (processes 2 & 4) with libjpeg-turbo.
 *
 * Debian's libjpeg-turbo 2.1.5 is built for 8-bit samples only (jconfig.h BITS_IN_JSAMPLE 8; the 12-bit API
 * arrived in 3.0), so 12-bit Extended frames are refused with DV_ERR_UNSUPPORTED (docs/pixels.md).
 *
 * Colour follows the DICOM meaning of PhotometricInterpretation, not libjpeg's guess: YBR_* frames are
 * decoded without colour conversion (upsampled to full-resolution YBR_FULL); RGB frames are not converted
 * unless an Adobe APP14 marker says the encoder transformed them (the same rule pydicom + Pillow apply, which
 * is what integration.test_image_decode compares against). The codestream header must match Rows, Columns
 * and SamplesPerPixel before libjpeg decodes; progressive scans are capped (a hostile stream of thousands of
 * scans costs time, not memory). [fuzz_image_decode] */
#include "dv_image.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

#define DV_JPEG_MAX_SCANS 128

typedef struct jerr_ctx {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    int code;             /* dv_code to report */
    char msg[JMSG_LENGTH_MAX];
} jerr_ctx;

static void on_error(j_common_ptr cinfo)
{
    jerr_ctx *e = (jerr_ctx *)cinfo->err;
    e->code = e->pub.msg_code == JERR_BAD_PRECISION ? DV_ERR_UNSUPPORTED : DV_ERR_MALFORMED;
    /* libjpeg's messages name markers and sizes, never pixel values. */
    e->pub.format_message(cinfo, e->msg);
    longjmp(e->jump, 1);
}

static void on_message(j_common_ptr cinfo, int level)
{
    jerr_ctx *e = (jerr_ctx *)cinfo->err;
    /* A stream that ends early would be filled with grey by libjpeg: refuse it (fail closed). Other
     * warnings (extraneous bytes between markers) are common in DICOM and harmless. */
    if (level < 0 && e->pub.msg_code == JWRN_JPEG_EOF) {
        e->code = DV_ERR_MALFORMED;
        snprintf(e->msg, sizeof e->msg, "premature end of JPEG data");
        longjmp(e->jump, 1);
    }
}

static void on_progress(j_common_ptr cinfo)
{
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > DV_JPEG_MAX_SCANS) {
        jerr_ctx *e = (jerr_ctx *)cinfo->err;
        e->code = DV_ERR_LIMIT;
        snprintf(e->msg, sizeof e->msg, "limit: more than %d JPEG scans", DV_JPEG_MAX_SCANS);
        longjmp(e->jump, 1);
    }
}

int dv_jpeg_baseline_decode(const dv_pixel_attrs *pa, const uint8_t *data, size_t len, dv_frame *out,
                            dv_error *err)
{
    int ybr = pa->photometric == DV_PHOTO_YBR_FULL || pa->photometric == DV_PHOTO_YBR_FULL_422;
    if (dv_frame_prepare(pa, out, ybr ? DV_PHOTO_YBR_FULL : pa->photometric, err))
        return -1;
    if (pa->bits_allocated > 16)
        return dv_fail(err, DV_ERR_MALFORMED, "JPEG with BitsAllocated %u", pa->bits_allocated);
    if (len == 0 || len > 0xFFFFFFFFu)
        return dv_fail(err, DV_ERR_MALFORMED, "JPEG frame of %zu bytes", len);
    out->src.lossy = 1;
    out->src.precision = 8;

    struct jpeg_decompress_struct cinfo;
    jerr_ctx je;
    struct jpeg_progress_mgr prog;
    memset(&cinfo, 0, sizeof cinfo);
    memset(&je, 0, sizeof je);
    cinfo.err = jpeg_std_error(&je.pub);
    je.pub.error_exit = on_error;
    je.pub.emit_message = on_message;
    /* volatile: modified between setjmp and a possible longjmp */
    JSAMPROW volatile row16 = NULL;
    if (setjmp(je.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free((void *)row16);
        return dv_fail(err, (dv_code)je.code, "JPEG: %s", je.msg);
    }
    jpeg_create_decompress(&cinfo);
    prog.progress_monitor = on_progress;
    cinfo.progress = &prog;
    jpeg_mem_src(&cinfo, data, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.image_width != pa->columns || cinfo.image_height != pa->rows ||
        (uint32_t)cinfo.num_components != pa->samples_per_pixel) {
        je.code = DV_ERR_MALFORMED;
        snprintf(je.msg, sizeof je.msg, "codestream is %ux%u x%d, the attributes say %ux%u x%u", cinfo.image_width,
                 cinfo.image_height, cinfo.num_components, pa->columns, pa->rows, pa->samples_per_pixel);
        longjmp(je.jump, 1);
    }
    if (pa->samples_per_pixel == 3) {
        if (ybr) {
            cinfo.jpeg_color_space = JCS_YCbCr;
            cinfo.out_color_space = JCS_YCbCr;
        } else if (!cinfo.saw_Adobe_marker || cinfo.Adobe_transform == 0) {
            cinfo.jpeg_color_space = JCS_RGB; /* stored untransformed: no YCbCr->RGB */
            cinfo.out_color_space = JCS_RGB;
        } else {
            cinfo.out_color_space = JCS_RGB;
        }
    } else {
        cinfo.out_color_space = JCS_GRAYSCALE;
    }
    cinfo.dct_method = JDCT_ISLOW;
    jpeg_start_decompress(&cinfo);
    if ((uint32_t)cinfo.output_components != pa->samples_per_pixel || cinfo.output_width != pa->columns ||
        cinfo.output_height != pa->rows) {
        je.code = DV_ERR_MALFORMED;
        snprintf(je.msg, sizeof je.msg, "decoder output does not match the attributes");
        longjmp(je.jump, 1);
    }
    size_t row_samples = (size_t)pa->columns * pa->samples_per_pixel;
    if (out->sample_bytes == 2) {
        row16 = malloc(row_samples);
        if (!row16) {
            je.code = DV_ERR_NOMEM;
            snprintf(je.msg, sizeof je.msg, "row buffer");
            longjmp(je.jump, 1);
        }
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        size_t y = cinfo.output_scanline;
        if (out->sample_bytes == 1) {
            JSAMPROW r = (uint8_t *)out->data + y * row_samples;
            jpeg_read_scanlines(&cinfo, &r, 1);
        } else {
            JSAMPROW r = row16;
            jpeg_read_scanlines(&cinfo, &r, 1);
            uint16_t *d = (uint16_t *)out->data + y * row_samples;
            for (size_t i = 0; i < row_samples; i++)
                d[i] = r[i];
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free((void *)row16);
    dv_frame_normalise(out);
    return 0;
}
