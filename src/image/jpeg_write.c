/* A picture as a baseline JPEG (dv_render.h dv_jpeg_encode), for WADO-RS rendered with Accept: image/jpeg.
 * The output goes to a destination manager of ours that grows a malloc'd buffer up to a cap, so a libjpeg
 * error (longjmp through jpeg_glue.h's error manager) never leaks or overruns it. */
#include <stdlib.h>
#include <string.h>

#include "dv_render.h"
#include "jpeg_glue.h"

typedef struct jw_job {
    struct jpeg_compress_struct c;
    dv_jpeg_err je;
    dv_jpeg_dest d;
} jw_job;

int dv_jpeg_encode(const dv_picture *p, int quality, size_t max_len, uint8_t **out, size_t *out_len, dv_error *err)
{
    *out = NULL;
    *out_len = 0;
    if (p->channels != 1 && p->channels != 3)
        return dv_fail(err, DV_ERR_USAGE, "jpeg: %u channels (1 or 3 expected)", p->channels);
    if (quality < 1 || quality > 100)
        return dv_fail(err, DV_ERR_USAGE, "jpeg: quality %d outside 1-100", quality);
    if (p->width == 0 || p->height == 0 || p->width > 65500 || p->height > 65500)
        return dv_fail(err, DV_ERR_LIMIT, "jpeg: %ux%u pixels (1-65500 per side)", p->width, p->height);
    if (max_len < 4096)
        max_len = 4096;
    /* Everything the error path touches lives in the heap job, not in locals changed after setjmp. */
    jw_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return dv_fail(err, DV_ERR_NOMEM, "jpeg: encoder");
    j->d.max = max_len;
    j->d.cap = max_len < 65536 ? max_len : 65536;
    j->d.buf = malloc(j->d.cap);
    j->d.je = &j->je;
    j->d.what = "rendered JPEG";
    if (j->d.buf == NULL) {
        free(j);
        return dv_fail(err, DV_ERR_NOMEM, "jpeg: output buffer");
    }
    j->c.err = dv_jpeg_err_init(&j->je);
    if (setjmp(j->je.jump)) {
        dv_fail(err, j->je.code, "jpeg: %s", j->je.msg);
        jpeg_destroy_compress(&j->c);
        free(j->d.buf);
        free(j);
        return -1;
    }
    jpeg_create_compress(&j->c);
    dv_jpeg_dest_attach(&j->c, &j->d);
    j->c.image_width = p->width;
    j->c.image_height = p->height;
    j->c.input_components = (int)p->channels;
    j->c.in_color_space = p->channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&j->c);
    jpeg_set_quality(&j->c, quality, TRUE);
    if (p->channels == 3) /* 4:4:4: no chroma subsampling, so thin coloured outlines stay sharp */
        for (int k = 0; k < 3; k++)
            j->c.comp_info[k].h_samp_factor = j->c.comp_info[k].v_samp_factor = 1;
    jpeg_start_compress(&j->c, TRUE);
    size_t stride = (size_t)p->width * p->channels;
    while (j->c.next_scanline < j->c.image_height) {
        JSAMPROW row = (JSAMPROW)(p->px + (size_t)j->c.next_scanline * stride);
        jpeg_write_scanlines(&j->c, &row, 1);
    }
    jpeg_finish_compress(&j->c);
    jpeg_destroy_compress(&j->c);
    *out = j->d.buf;
    *out_len = j->d.len;
    free(j);
    return 0;
}
