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
 * scans costs time, not memory). The libjpeg glue (errors, scan cap, header check, the RGB-or-YCbCr rule) is
 * jpeg_glue.c's, shared with the DCT-domain redactor (jpeg_dct_redact.c). [fuzz_image_decode] */
#include "dv_image.h"

#include <stdlib.h>
#include <string.h>

#include "jpeg_glue.h"

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
    dv_jpeg_err je;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = dv_jpeg_err_init(&je);
    /* volatile: modified between setjmp and a possible longjmp */
    JSAMPROW volatile row16 = NULL;
    if (setjmp(je.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free((void *)row16);
        return dv_fail(err, (dv_code)je.code, "JPEG: %s", je.msg);
    }
    jpeg_create_decompress(&cinfo);
    dv_jpeg_watch_scans(&cinfo, &je);
    jpeg_mem_src(&cinfo, data, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    dv_jpeg_check_header(pa, &cinfo, &je);
    if (pa->samples_per_pixel == 3) {
        if (ybr) {
            cinfo.jpeg_color_space = JCS_YCbCr;
            cinfo.out_color_space = JCS_YCbCr;
        } else if (dv_jpeg_components_are_rgb(pa, &cinfo)) {
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
        dv_jpeg_throw(&je, DV_ERR_MALFORMED, "decoder output does not match the attributes");
    }
    size_t row_samples = (size_t)pa->columns * pa->samples_per_pixel;
    if (out->sample_bytes == 2) {
        row16 = malloc(row_samples);
        if (!row16)
            dv_jpeg_throw(&je, DV_ERR_NOMEM, "row buffer");
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
