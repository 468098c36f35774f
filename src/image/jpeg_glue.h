/* libjpeg-turbo glue shared by the JPEG Baseline decoder (codec_jpeg_baseline.c) and the DCT-domain redactor
 * (jpeg_dct_redact.c), internal to src/image: one error manager that never lets libjpeg exit or print, the
 * scan cap, the check of the codestream header against the DICOM attributes, and the rule that says whether
 * a 3-component stream holds RGB or YCbCr. One home for each, so decoding and redaction accept exactly the
 * same streams. [test_image: test_library_wrappers_fail_closed, test_jpeg_dct: test_dct_refuses]
 *
 * Use: a dv_jpeg_err per libjpeg object pair; dv_jpeg_err_init, then setjmp(e->jump) in the function that owns
 * the cleanup; every libjpeg error (and dv_jpeg_throw) longjmps there with e->code and e->msg set. Messages
 * name markers and sizes (libjpeg's own texts), never sample values. */
#ifndef DV_JPEG_GLUE_H
#define DV_JPEG_GLUE_H

#include <setjmp.h>
#include <stdio.h>
#include <jpeglib.h>

#include "dv_image.h"

#define DV_JPEG_MAX_SCANS 128

typedef struct dv_jpeg_err {
    struct jpeg_error_mgr pub;
    struct jpeg_progress_mgr prog;
    jmp_buf jump;
    int code; /* dv_code to report */
    char msg[JMSG_LENGTH_MAX];
} dv_jpeg_err;

/* Fill e's error manager: errors longjmp to e->jump (BAD_PRECISION, i.e. 12-bit, and SOF types or arithmetic
 * coding this build lacks, fractional sampling factors are DV_ERR_UNSUPPORTED, everything else DV_ERR_MALFORMED); the warning "premature
 * end of data" is an error too (libjpeg would fill the rest with grey: fail closed); other warnings are
 * ignored. Returns &e->pub for cinfo.err. */
struct jpeg_error_mgr *dv_jpeg_err_init(dv_jpeg_err *e);

/* Cap the number of scans d reads at DV_JPEG_MAX_SCANS (DV_ERR_LIMIT): a hostile progressive stream of
 * thousands of scans costs time, not memory. */
void dv_jpeg_watch_scans(j_decompress_ptr d, dv_jpeg_err *e);

/* Set e's code and message and longjmp to e->jump. */
void dv_jpeg_throw(dv_jpeg_err *e, int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 3, 4)));

/* After jpeg_read_header: the codestream must be exactly Columns x Rows x SamplesPerPixel; throws
 * DV_ERR_MALFORMED otherwise (before libjpeg allocates anything sized by the image). */
void dv_jpeg_check_header(const dv_pixel_attrs *pa, j_decompress_ptr d, dv_jpeg_err *e);

/* After jpeg_read_header of a 3-component stream: 1 when its components are stored R, G, B untransformed
 * (PhotometricInterpretation RGB without an Adobe APP14 marker that says the encoder transformed them), 0 when
 * they are Y, Cb, Cr (YBR_* photometric, or RGB with an Adobe transform). The same rule pydicom + Pillow
 * apply (docs/pixels.md). */
int dv_jpeg_components_are_rgb(const dv_pixel_attrs *pa, j_decompress_ptr d);

/* A libjpeg destination that writes into one malloc'd buffer, grown by doubling up to max bytes (then
 * dv_jpeg_throw DV_ERR_LIMIT naming what). Set buf (malloc'd, cap bytes), max, je and what, then
 * dv_jpeg_dest_attach; after jpeg_finish_compress / jpeg_write_coefficients + finish, buf holds len bytes
 * (the caller owns buf, also on the error path). Used by the rendered-JPEG encoder (jpeg_write.c) and the
 * DCT-domain redactor (jpeg_dct_redact.c). */
typedef struct dv_jpeg_dest {
    struct jpeg_destination_mgr pub;
    uint8_t *buf;
    size_t cap, len, max;
    dv_jpeg_err *je;
    const char *what; /* "rendered JPEG", "redacted JPEG frame": for the limit message */
} dv_jpeg_dest;
void dv_jpeg_dest_attach(j_compress_ptr c, dv_jpeg_dest *d);

#endif
