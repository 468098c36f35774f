/* Test helper (not the product binary): redact frame N of a JPEG Baseline DICOM file in the DCT domain.
 *
 *   dv_jpeg_dct FILE FRAME IN.jpg OUT.jpg X,Y,W,H...
 *
 * Writes the frame's stored JPEG stream to IN.jpg and dv_jpeg_dct_redact's output to OUT.jpg, and prints one
 * line "covered X Y W H" per box (the MCU-aligned rectangle actually covered). Exit 2 with
 * "error <class>: <message>" on stderr when reading or redaction fails. Used by integration.test_jpeg_dct. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dicomveil/dv_frames.h"
#include "image/dv_image.h"
#include "image/dv_jpeg_dct.h"
#include "dv_build.h"
#include "dv_testkit.h"

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: dv_jpeg_dct FILE FRAME IN.jpg OUT.jpg X,Y,W,H...\n");
        return 64;
    }
    dv_error err = {0};
    size_t flen = 0;
    uint8_t *file = dvt_slurp(argv[1], &flen);
    if (!file) {
        fprintf(stderr, "error io: cannot read input\n");
        return 2;
    }
    dv_mem_source ms;
    dv_source src = dv_source_memory(&ms, file, flen);
    dv_instance *inst = dv_instance_read(&src, NULL, &err);
    dv_frames *frames = NULL;
    uint8_t *fb = NULL, *out = NULL;
    size_t on = 0, nb = (size_t)(argc - 5);
    dv_box *bx = calloc(nb, sizeof *bx), *cov = calloc(nb, sizeof *cov);
    int rc = 2;
    dv_pixel_attrs pa;
    if (!inst || dv_pixel_attrs_read(inst, NULL, &pa, &err) || !(frames = dv_frames_index(inst, &err)))
        goto fail;
    uint32_t frame = (uint32_t)strtoul(argv[2], NULL, 10);
    uint64_t n = dv_frames_size(frames, frame);
    if (!n || !(fb = malloc(n)) || dv_frames_read(inst, frames, frame, fb, n, &err))
        goto fail;
    for (size_t i = 0; i < nb; i++)
        if (sscanf(argv[5 + i], "%u,%u,%u,%u", &bx[i].x, &bx[i].y, &bx[i].w, &bx[i].h) != 4) {
            dv_fail(&err, DV_ERR_USAGE, "box %zu", i);
            goto fail;
        }
    dv_boxes boxes = {bx, nb, nb};
    if (dv_jpeg_dct_redact(&pa, fb, n, &boxes, &out, &on, cov, &err))
        goto fail;
    if (dvb_write_file(argv[3], fb, n) || dvb_write_file(argv[4], out, on)) {
        dv_fail(&err, DV_ERR_IO, "cannot write output");
        goto fail;
    }
    for (size_t i = 0; i < nb; i++)
        printf("covered %u %u %u %u\n", cov[i].x, cov[i].y, cov[i].w, cov[i].h);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "error %s: %s\n", dv_code_name(err.code), err.message);
out:
    free(out);
    free(fb);
    free(bx);
    free(cov);
    dv_frames_free(frames);
    dv_instance_free(inst);
    free(file);
    return rc;
}
