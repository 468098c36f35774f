/* JPEG Baseline redaction in the DCT domain (dv_jpeg_dct.h): read the quantised coefficients, make the blocks
 * of every MCU under a box flat and dark, write all coefficients back with the input's tables, markers and
 * restart interval. Nothing outside the covered MCUs is dequantised or re-quantised, so those blocks are
 * copied bit for bit (no generation loss). [test_jpeg_dct, fuzz_jpeg_dct]
 *
 * Error handling: every libjpeg object and buffer lives in one heap-allocated job, so the longjmp of an error
 * (jpeg_glue.c) lands in dv_jpeg_dct_redact, which releases everything the job holds whatever stage failed;
 * the output goes to a destination manager of ours (not jpeg_mem_dest, whose buffer cannot be freed safely
 * after an error mid-stream), capped by the encoded-size limit. */
#include "dv_jpeg_dct.h"

#include <stdlib.h>
#include <string.h>

#include "jpeg_glue.h"

typedef struct dct_job {
    struct jpeg_decompress_struct src;
    struct jpeg_compress_struct dst;
    dv_jpeg_err je;
    dv_jpeg_dest ob;
} dct_job;

/* Quantised DC of a flat block that decodes to the darkest (want_max 0: 0) or brightest (255) 8-bit sample:
 * a flat block's samples are DC * Q0 / 8 + 128, clamped, so DC * Q0 must reach -1024 (or +1016). Rounded away
 * from zero: the decoder's clamp absorbs the overshoot (at most Q0 / 8 levels), never an undershoot. */
static int flat_dc(unsigned q0, int want_max)
{
    return want_max ? (int)((1016 + q0 - 1) / q0) : -(int)((1024 + q0 - 1) / q0);
}

/* Make every block of every component in MCUs [mx0, mx1) x [my0, my1) flat. */
static void cover_mcus(dct_job *j, jvirt_barray_ptr *coef, const int *dc, uint32_t mx0, uint32_t mx1, uint32_t my0,
                       uint32_t my1)
{
    j_decompress_ptr s = &j->src;
    for (int c = 0; c < s->num_components; c++) {
        jpeg_component_info *ci = &s->comp_info[c];
        /* A single-component stream is coded one block per MCU whatever its sampling factors say. */
        uint32_t bw = s->num_components == 1 ? 1 : (uint32_t)ci->h_samp_factor;
        uint32_t bh = s->num_components == 1 ? 1 : (uint32_t)ci->v_samp_factor;
        uint32_t bx0 = mx0 * bw, bx1 = mx1 * bw, by0 = my0 * bh, by1 = my1 * bh;
        if (bx1 > ci->width_in_blocks) /* edge MCUs' dummy blocks are not stored: the encoder makes them */
            bx1 = ci->width_in_blocks;
        if (by1 > ci->height_in_blocks)
            by1 = ci->height_in_blocks;
        for (uint32_t by = by0; by < by1; by++) {
            JBLOCKARRAY row = (*s->mem->access_virt_barray)((j_common_ptr)s, coef[c], by, 1, TRUE);
            for (uint32_t bx = bx0; bx < bx1; bx++) {
                memset(row[0][bx], 0, sizeof(JBLOCK));
                row[0][bx][0] = (JCOEF)dc[c];
            }
        }
    }
}

/* Every coefficient within what an 8-bit sequential Huffman stream can carry (DC -1024..1023 after the flat
 * DC of -1024, so a DC difference stays within category 11; AC -1023..1023, category 10). A hostile stream
 * can code larger values (its tables may hold categories up to 15) which libjpeg decodes but its encoder
 * would write as garbage: copying them would make the output differ from the input outside the boxes.
 * Found by fuzz_jpeg_dct (tests/fuzz/regressions/jpeg_dct/). */
static void check_coefficients(dct_job *j, jvirt_barray_ptr *coef)
{
    j_decompress_ptr s = &j->src;
    for (int c = 0; c < s->num_components; c++) {
        jpeg_component_info *ci = &s->comp_info[c];
        for (JDIMENSION by = 0; by < ci->height_in_blocks; by++) {
            JBLOCKARRAY row = (*s->mem->access_virt_barray)((j_common_ptr)s, coef[c], by, 1, FALSE);
            for (JDIMENSION bx = 0; bx < ci->width_in_blocks; bx++) {
                const JCOEF *b = row[0][bx];
                int bad = b[0] < -1024 || b[0] > 1023;
                for (int k = 1; k < DCTSIZE2; k++)
                    bad |= b[k] < -1023 || b[k] > 1023;
                if (bad)
                    dv_jpeg_throw(&j->je, DV_ERR_MALFORMED,
                                  "DCT coefficient outside the 8-bit range (component %d, block row %u)", c,
                                  (unsigned)by);
            }
        }
    }
}

/* Everything that can longjmp. */
static void transcode(dct_job *j, const dv_pixel_attrs *pa, const uint8_t *in, size_t len, const dv_boxes *boxes,
                      dv_box *covered)
{
    j_decompress_ptr s = &j->src;
    jpeg_create_decompress(s);
    dv_jpeg_watch_scans(s, &j->je);
    /* Keep every APPn and COM marker so the output carries what the input did (JFIF, Adobe transform flag,
     * vendor data), byte for byte. */
    jpeg_save_markers(s, JPEG_COM, 0xFFFF);
    for (int m = 0; m < 16; m++)
        jpeg_save_markers(s, JPEG_APP0 + m, 0xFFFF);
    jpeg_mem_src(s, in, (unsigned long)len);
    jpeg_read_header(s, TRUE);
    dv_jpeg_check_header(pa, s, &j->je);
    if (s->progressive_mode || s->arith_code)
        dv_jpeg_throw(&j->je, DV_ERR_UNSUPPORTED, "DCT-domain redaction of a %s JPEG",
                      s->progressive_mode ? "progressive" : "arithmetic-coded");
    if (s->data_precision != 8) /* libjpeg refuses other precisions already; kept for a 12-bit build */
        dv_jpeg_throw(&j->je, DV_ERR_UNSUPPORTED, "DCT-domain redaction of %d-bit JPEG", s->data_precision);

    /* Sampling factors that do not divide the largest (3:2 ...) are readable as coefficients but libjpeg
     * cannot decode them (JERR_FRACT_SAMPLE_NOTIMPL): refused here as the decoder refuses them, so no output
     * is written that our decoder could not check. (fuzz_jpeg_dct) */
    for (int c = 0; c < s->num_components && s->num_components > 1; c++)
        if (s->max_h_samp_factor % s->comp_info[c].h_samp_factor || s->max_v_samp_factor % s->comp_info[c].v_samp_factor)
            dv_jpeg_throw(&j->je, DV_ERR_UNSUPPORTED, "fractional JPEG sampling factors");
    /* The flat DC of each component (before reading the coefficients: a missing table fails early). */
    int rgb = s->num_components == 3 && dv_jpeg_components_are_rgb(pa, s);
    int want_max = pa->photometric == DV_PHOTO_MONOCHROME1;
    int dc[MAX_COMPONENTS] = {0};
    UINT16 tables[MAX_COMPONENTS][DCTSIZE2];
    for (int c = 0; c < s->num_components; c++) {
        int q = s->comp_info[c].quant_tbl_no;
        JQUANT_TBL *qt = q >= 0 && q < NUM_QUANT_TBLS ? s->quant_tbl_ptrs[q] : NULL;
        if (!qt || qt->quantval[0] == 0)
            dv_jpeg_throw(&j->je, DV_ERR_MALFORMED, "component %d has no usable quantisation table", c);
        memcpy(tables[c], qt->quantval, sizeof tables[c]);
        /* Y (or greyscale, or each of R, G, B) dark; Cb, Cr neutral (DC 0 decodes to 128). */
        dc[c] = c == 0 || rgb ? flat_dc(qt->quantval[0], want_max) : 0;
    }
    jvirt_barray_ptr *coef = jpeg_read_coefficients(s);
    check_coefficients(j, coef);
    /* The output carries the tables as they stand after the last scan. A DQT between scans that redefines a
     * table is refused: the flat DC above was computed from the first definition, and libjpeg only checks the
     * redefinition for components that appeared in a scan (a component in no scan slipped through: its output
     * table was unusable, fuzz_jpeg_dct "table-redefined"). */
    for (int c = 0; c < s->num_components; c++) {
        JQUANT_TBL *qt = s->quant_tbl_ptrs[s->comp_info[c].quant_tbl_no];
        if (!qt || memcmp(qt->quantval, tables[c], sizeof tables[c]) != 0)
            dv_jpeg_throw(&j->je, DV_ERR_MALFORMED, "quantisation table of component %d redefined between scans", c);
    }

    uint32_t W = s->image_width, H = s->image_height;
    uint32_t mcu_w = s->num_components == 1 ? 8 : 8u * (uint32_t)s->max_h_samp_factor;
    uint32_t mcu_h = s->num_components == 1 ? 8 : 8u * (uint32_t)s->max_v_samp_factor;
    for (size_t i = 0; i < boxes->n; i++) {
        dv_box b = boxes->v[i];
        if (covered)
            covered[i] = (dv_box){0, 0, 0, 0};
        if (b.w == 0 || b.h == 0 || b.x >= W || b.y >= H)
            continue;
        uint64_t x1 = (uint64_t)b.x + b.w, y1 = (uint64_t)b.y + b.h;
        if (x1 > W)
            x1 = W;
        if (y1 > H)
            y1 = H;
        uint32_t mx0 = b.x / mcu_w, my0 = b.y / mcu_h;
        uint32_t mx1 = (uint32_t)((x1 + mcu_w - 1) / mcu_w), my1 = (uint32_t)((y1 + mcu_h - 1) / mcu_h);
        cover_mcus(j, coef, dc, mx0, mx1, my0, my1);
        if (covered) {
            uint64_t cx1 = (uint64_t)mx1 * mcu_w, cy1 = (uint64_t)my1 * mcu_h;
            covered[i] = (dv_box){mx0 * mcu_w, my0 * mcu_h, (uint32_t)((cx1 > W ? W : cx1) - mx0 * mcu_w),
                                  (uint32_t)((cy1 > H ? H : cy1) - my0 * mcu_h)};
        }
    }

    j_compress_ptr d = &j->dst;
    jpeg_create_compress(d);
    /* Component ids, sampling factors and quantisation tables as the input's (libjpeg refuses a table that
     * was redefined between scans: the coefficients would not match it). */
    jpeg_copy_critical_parameters(s, d);
    d->write_JFIF_header = FALSE; /* the input's own APP0/APP14 are copied below, as they were */
    d->write_Adobe_marker = FALSE;
    d->restart_interval = s->restart_interval;
    dv_jpeg_dest_attach(d, &j->ob);
    jpeg_write_coefficients(d, coef);
    for (jpeg_saved_marker_ptr m = s->marker_list; m; m = m->next)
        jpeg_write_marker(d, m->marker, m->data, m->data_length);
    jpeg_finish_compress(d);
    jpeg_finish_decompress(s);
}

int dv_jpeg_dct_redact(const dv_pixel_attrs *pa, const uint8_t *in, size_t len, const dv_boxes *boxes,
                       uint8_t **out, size_t *out_len, dv_box *covered, dv_error *err)
{
    *out = NULL;
    *out_len = 0;
    dv_image_limits lim;
    dv_image_limits_default(&lim);
    if (len == 0 || !in)
        return dv_fail(err, DV_ERR_MALFORMED, "empty JPEG frame");
    if (len > lim.max_encoded_bytes || len > 0xFFFFFFFFu)
        return dv_fail(err, DV_ERR_LIMIT, "JPEG frame of %zu bytes (max %llu)", len,
                       (unsigned long long)lim.max_encoded_bytes);
    if (pa->bits_allocated > 16)
        return dv_fail(err, DV_ERR_MALFORMED, "JPEG with BitsAllocated %u", pa->bits_allocated);
    if (!dv_image_frame_capacity(pa, DV_TSF_JPEG_BASELINE, &lim, err))
        return -1;
    if (boxes->n > DV_BOXES_MAX)
        return dv_fail(err, DV_ERR_LIMIT, "%zu boxes in one frame", boxes->n);

    dct_job *j = calloc(1, sizeof *j);
    if (!j)
        return dv_fail(err, DV_ERR_NOMEM, "DCT redaction state");
    j->src.err = dv_jpeg_err_init(&j->je);
    j->dst.err = &j->je.pub;
    /* The output is about the input's size (same coefficients, standard tables); start there, grow by
     * doubling up to the encoded-frame cap. */
    j->ob.je = &j->je;
    j->ob.what = "redacted JPEG frame";
    j->ob.max = (size_t)lim.max_encoded_bytes;
    j->ob.cap = len + 4096 < j->ob.max ? len + 4096 : j->ob.max;
    if (!(j->ob.buf = malloc(j->ob.cap))) {
        free(j);
        return dv_fail(err, DV_ERR_NOMEM, "output buffer of %zu bytes", len);
    }
    if (setjmp(j->je.jump)) {
        jpeg_destroy_compress(&j->dst);
        jpeg_destroy_decompress(&j->src);
        free(j->ob.buf);
        int code = j->je.code;
        dv_fail(err, (dv_code)code, "JPEG: %s", j->je.msg);
        free(j);
        if (covered)
            memset(covered, 0, boxes->n * sizeof *covered);
        return -1;
    }
    transcode(j, pa, in, len, boxes, covered);
    jpeg_destroy_compress(&j->dst);
    jpeg_destroy_decompress(&j->src);
    uint8_t *buf = j->ob.buf;
    size_t n = j->ob.len;
    free(j);
    if (n & 1) { /* DICOM fragments are even: one 0x00 after EOI (PS3.5 A.4) */
        uint8_t *nb = realloc(buf, n + 1);
        if (!nb) {
            free(buf);
            return dv_fail(err, DV_ERR_NOMEM, "output buffer of %zu bytes", n + 1);
        }
        buf = nb;
        buf[n++] = 0;
    }
    *out = buf;
    *out_len = n;
    return 0;
}
