/* Test helper (not the product binary): decode frame N of a DICOM file to raw canonical samples.
 *
 *   dv_decode_frame FILE FRAME OUT.raw [OUT.rle]
 *
 * Prints "rows columns samples sample_bytes signed frames decode_calls photometric" on stdout and writes the
 * decoded samples (native byte order) to OUT.raw; PALETTE COLOR frames also get OUT.raw.lut (the red, green
 * and blue tables as uint16, dv_palette_read). With OUT.rle, the frame is also encoded with our RLE
 * encoder into OUT.rle, decoded again, and the helper exits 3 unless the second decode is identical (the
 * round trip of test_image_decode). DV_DECODE_REPEAT=N times N further decodes (CPU ms per frame on stderr);
 * DV_ENCODE_JPEGLS=PATH also encodes the frame as lossless JPEG-LS into PATH and checks our re-decode (exit 3);
 * DV_ENCODE_J2K=PATH the same with lossless JPEG 2000 (the decoded photometric: YBR_RCT frames come out RGB).
 * Exit 2 with "error <class>: <message>" on stderr when decoding fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "dicomveil/dv_frames.h"
#include "image/dv_image.h"
#include "dv_build.h"
#include "dv_testkit.h"

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: dv_decode_frame FILE FRAME OUT.raw [OUT.rle]\n");
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
    int rc = 2;
    dv_image_ctx *ctx = dv_image_ctx_new(NULL);
    uint8_t *pix = NULL, *rle = NULL, *pix2 = NULL;
    size_t rlelen = 0;
    dv_frames *frames = NULL;
    dv_pixel_attrs pa;
    if (!inst || !ctx || dv_pixel_attrs_read(inst, NULL, &pa, &err))
        goto fail;
    uint32_t frame = (uint32_t)strtoul(argv[2], NULL, 10);
    if (frame >= pa.number_of_frames) {
        dv_fail(&err, DV_ERR_USAGE, "frame %u of %u", frame, pa.number_of_frames);
        goto fail;
    }
    const char *ts = dv_instance_transfer_syntax(inst);
    dv_ts_family fam = dv_ts_family_of(ts);
    size_t cap = dv_image_frame_capacity(&pa, fam, NULL, &err);
    if (!cap || (dv_ts_family_encapsulated(fam) && !(frames = dv_frames_index(inst, &err))))
        goto fail;
    pix = malloc(cap);
    dv_frame f = {.data = pix, .cap = cap};
    if (!pix || dv_image_decode_instance_frame(ctx, inst, frames, &pa, frame, &f, &err))
        goto fail;
    const char *rep = getenv("DV_DECODE_REPEAT"); /* timing: decode N more times, ms per frame on stderr */
    if (rep && atoi(rep) > 0) {
        struct timespec t0, t1;
        int n = atoi(rep);
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
        for (int i = 0; i < n; i++)
            if (dv_image_decode_instance_frame(ctx, inst, frames, &pa, frame, &f, &err))
                goto fail;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
        double ms = ((double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6) / n;
        fprintf(stderr, "decode: %.2f ms CPU per frame (%d runs)\n", ms, n);
    }
    if (dvb_write_file(argv[3], pix, dv_frame_bytes(&f))) {
        dv_fail(&err, DV_ERR_IO, "cannot write output");
        goto fail;
    }
    if (f.photometric == DV_PHOTO_PALETTE_COLOR) { /* OUT.raw.lut: red, green, blue uint16 tables */
        dv_palette pal;
        char lut_path[4096];
        snprintf(lut_path, sizeof lut_path, "%s.lut", argv[3]);
        dv_error perr = {0};
        int w = 0;
        if (dv_palette_read(inst, &pal, &perr) == 0) { /* segmented tables: unsupported, no file */
            w = dvb_write_file(lut_path, pal.lut, (size_t)3 * pal.entries * sizeof *pal.lut);
            dv_palette_free(&pal);
        } else if (perr.code != DV_ERR_UNSUPPORTED) {
            err = perr;
            goto fail;
        }
        if (w) {
            dv_fail(&err, DV_ERR_IO, "cannot write the palette");
            goto fail;
        }
    }
    if (argc == 5) {
        if (dv_image_encode_rle(ctx, &pa, &f, &rle, &rlelen, &err) || dvb_write_file(argv[4], rle, rlelen))
            goto fail;
        pix2 = malloc(cap);
        dv_pixel_attrs pr = pa;
        pr.number_of_frames = 1;
        pr.photometric = f.photometric; /* the RLE frame holds the decoded (e.g. upsampled) samples */
        if (pr.photometric == DV_PHOTO_YBR_FULL_422)
            pr.photometric = DV_PHOTO_YBR_FULL;
        dv_frame g = {.data = pix2, .cap = cap};
        if (!pix2 || dv_image_decode_frame(ctx, "1.2.840.10008.1.2.5", &pr, 0, rle, rlelen, &g, &err))
            goto fail;
        if (memcmp(pix, pix2, dv_frame_bytes(&f)) != 0) {
            fprintf(stderr, "error roundtrip: RLE re-decode differs\n");
            rc = 3;
            goto out;
        }
    }
    const char *jls_path = getenv("DV_ENCODE_JPEGLS"); /* lossless JPEG-LS encode + our re-decode */
    if (jls_path && f.sample_bytes <= 2 && pa.bits_stored >= 2) {
        uint8_t *jls = NULL, *pix3 = NULL;
        size_t jlen = 0;
        dv_pixel_attrs pj = pa;
        pj.number_of_frames = 1;
        pj.photometric = f.photometric;
        int ok = dv_image_encode_jpegls(ctx, &pa, &f, &jls, &jlen, &err) == 0 && dvb_write_file(jls_path, jls, jlen) == 0;
        dv_frame g = {.data = pix3 = malloc(cap), .cap = cap};
        ok = ok && pix3 && dv_image_decode_frame(ctx, "1.2.840.10008.1.2.4.80", &pj, 0, jls, jlen, &g, &err) == 0;
        int same = ok && memcmp(pix, pix3, dv_frame_bytes(&f)) == 0;
        free(jls);
        free(pix3);
        if (!ok)
            goto fail;
        if (!same) {
            fprintf(stderr, "error roundtrip: JPEG-LS re-decode differs\n");
            rc = 3;
            goto out;
        }
    }
    const char *j2k_path = getenv("DV_ENCODE_J2K"); /* lossless JPEG 2000 encode + our re-decode */
    if (j2k_path && (pa.bits_allocated == 8 || pa.bits_allocated == 16)) {
        uint8_t *j2k = NULL, *pix4 = NULL;
        size_t jlen = 0;
        dv_pixel_attrs pj = pa;
        pj.number_of_frames = 1;
        pj.photometric = f.photometric;
        int ok = dv_image_encode_j2k(ctx, &pj, &f, &j2k, &jlen, &err) == 0 && dvb_write_file(j2k_path, j2k, jlen) == 0;
        dv_frame g = {.data = pix4 = malloc(cap), .cap = cap};
        ok = ok && pix4 && dv_image_decode_frame(ctx, "1.2.840.10008.1.2.4.90", &pj, 0, j2k, jlen, &g, &err) == 0;
        int same = ok && memcmp(pix, pix4, dv_frame_bytes(&f)) == 0;
        free(j2k);
        free(pix4);
        if (!ok)
            goto fail;
        if (!same) {
            fprintf(stderr, "error roundtrip: JPEG 2000 re-decode differs\n");
            rc = 3;
            goto out;
        }
    }
    printf("%u %u %u %u %d %u %llu %s\n", f.height, f.width, f.samples, f.sample_bytes, f.is_signed,
           pa.number_of_frames, (unsigned long long)dv_image_ctx_decode_calls(ctx),
           dv_photometric_name(f.photometric));
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "error %s: %s\n", dv_code_name(err.code), err.message);
out:
    free(pix2);
    free(rle);
    free(pix);
    dv_frames_free(frames);
    dv_image_ctx_free(ctx);
    dv_instance_free(inst);
    free(file);
    return rc;
}
