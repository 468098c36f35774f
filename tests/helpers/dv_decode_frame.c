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
 * Exit 2 with "error <class>: <message>" on stderr when decoding fails.
 *
 *   dv_decode_frame -
 *
 * Batch mode, for a caller with many frames (test_image_decode): one process serves them all, so an ASan
 * build pays its start-up (~0.1 s CPU) once instead of once per frame. Each stdin line is one job,
 * "FILE<TAB>FRAME<TAB>OUT.raw<TAB>OUT.rle<TAB>JPEGLS<TAB>J2K" (an empty field: not asked; the last three are the
 * optional argument and the two environment variables above), run exactly as the single form runs it, with
 * a context of its own; its answer is one stdout line, flushed before the next job is read: "0 " and the line
 * above, or the exit status (2, 3) and the "error ..." line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "dicomveil/dv_frames.h"
#include "image/dv_image.h"
#include "dv_build.h"
#include "dv_testkit.h"

/* One frame's work (the files a job asks for). rle, jls, j2k: NULL when not asked. */
typedef struct {
    const char *file, *frame, *raw, *rle, *jls, *j2k;
} job;

/* Runs one job. Returns 0 with the "rows ... photometric" line in msg, 2 (decode or I/O failure) or 3 (a
 * re-decode differs) with the "error <class>: <message>" line in msg. msg never holds a newline. */
static int decode_job(const job *jb, char *msg, size_t msgcap)
{
    dv_error err = {0};
    size_t flen = 0;
    uint8_t *file = dvt_slurp(jb->file, &flen);
    if (!file) {
        snprintf(msg, msgcap, "error io: cannot read input");
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
    uint32_t frame = (uint32_t)strtoul(jb->frame, NULL, 10);
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
    if (dvb_write_file(jb->raw, pix, dv_frame_bytes(&f))) {
        dv_fail(&err, DV_ERR_IO, "cannot write output");
        goto fail;
    }
    if (f.photometric == DV_PHOTO_PALETTE_COLOR) { /* OUT.raw.lut: red, green, blue uint16 tables */
        dv_palette pal;
        char lut_path[4096];
        snprintf(lut_path, sizeof lut_path, "%s.lut", jb->raw);
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
    if (jb->rle) {
        if (dv_image_encode_rle(ctx, &pa, &f, &rle, &rlelen, &err) || dvb_write_file(jb->rle, rle, rlelen))
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
            snprintf(msg, msgcap, "error roundtrip: RLE re-decode differs");
            rc = 3;
            goto out;
        }
    }
    const char *jls_path = jb->jls; /* lossless JPEG-LS encode + our re-decode */
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
            snprintf(msg, msgcap, "error roundtrip: JPEG-LS re-decode differs");
            rc = 3;
            goto out;
        }
    }
    const char *j2k_path = jb->j2k; /* lossless JPEG 2000 encode + our re-decode */
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
            snprintf(msg, msgcap, "error roundtrip: JPEG 2000 re-decode differs");
            rc = 3;
            goto out;
        }
    }
    snprintf(msg, msgcap, "%u %u %u %u %d %u %llu %s", f.height, f.width, f.samples, f.sample_bytes, f.is_signed,
             pa.number_of_frames, (unsigned long long)dv_image_ctx_decode_calls(ctx),
             dv_photometric_name(f.photometric));
    rc = 0;
    goto out;
fail:
    snprintf(msg, msgcap, "error %s: %s", dv_code_name(err.code), err.message);
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

/* Splits a batch line at its tabs into the job's six fields; an empty optional field is NULL. Returns 0, or -1
 * when the line does not have six fields or a required one is empty. */
static int parse_job(char *line, job *jb)
{
    const char *f[6];
    size_t n = 0;
    line[strcspn(line, "\n")] = '\0';
    for (char *p = line; p && n < 6; n++) {
        f[n] = p;
        char *tab = strchr(p, '\t');
        if (tab)
            *tab++ = '\0';
        p = tab;
        if (n == 5 && tab) /* a seventh field */
            return -1;
    }
    if (n != 6 || !*f[0] || !*f[1] || !*f[2])
        return -1;
    *jb = (job){f[0], f[1], f[2], *f[3] ? f[3] : NULL, *f[4] ? f[4] : NULL, *f[5] ? f[5] : NULL};
    return 0;
}

/* The batch mode: a job per stdin line, an answer per stdout line. Returns 0 at end of input, 64 on a line
 * that is not a job. */
static int run_batch(void)
{
    char *line = NULL, msg[1024];
    size_t cap = 0;
    int rc = 0;
    while (getline(&line, &cap, stdin) > 0) {
        job jb;
        if (parse_job(line, &jb)) {
            fprintf(stderr, "dv_decode_frame -: expected six tab-separated fields\n");
            rc = 64;
            break;
        }
        int jrc = decode_job(&jb, msg, sizeof msg);
        printf("%d %s\n", jrc, msg);
        fflush(stdout);
    }
    free(line);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "-") == 0)
        return run_batch();
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: dv_decode_frame FILE FRAME OUT.raw [OUT.rle] | dv_decode_frame -\n");
        return 64;
    }
    job jb = {argv[1], argv[2], argv[3], argc == 5 ? argv[4] : NULL, getenv("DV_ENCODE_JPEGLS"),
              getenv("DV_ENCODE_J2K")};
    char msg[1024];
    int rc = decode_job(&jb, msg, sizeof msg);
    fprintf(rc ? stderr : stdout, "%s\n", msg);
    return rc;
}
