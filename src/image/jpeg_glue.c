/* libjpeg-turbo glue shared by the JPEG decoder and the DCT-domain redactor (see jpeg_glue.h). */
#include "jpeg_glue.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <jerror.h>

static void on_error(j_common_ptr cinfo)
{
    dv_jpeg_err *e = (dv_jpeg_err *)cinfo->err;
    switch (e->pub.msg_code) {
    case JERR_BAD_PRECISION:    /* 12-bit: Debian's 2.1.5 is built 8-bit only (docs/pixels.md) */
    case JERR_SOF_UNSUPPORTED:  /* lossless / hierarchical SOF in a baseline-family stream */
    case JERR_ARITH_NOTIMPL:
    case JERR_NOT_COMPILED:
    case JERR_FRACT_SAMPLE_NOTIMPL: /* sampling factors that do not divide each other */
        e->code = DV_ERR_UNSUPPORTED;
        break;
    case JERR_OUT_OF_MEMORY:
        e->code = DV_ERR_NOMEM;
        break;
    default:
        e->code = DV_ERR_MALFORMED;
    }
    /* libjpeg's messages name markers and the codestream's fields (sizes, ids, parameters): the numbers are
     * scrubbed (dv_image.h, numbers in pixel errors). */
    e->pub.format_message(cinfo, e->msg);
    dv_scrub_numbers(e->msg);
    longjmp(e->jump, 1);
}

static void on_message(j_common_ptr cinfo, int level)
{
    dv_jpeg_err *e = (dv_jpeg_err *)cinfo->err;
    /* A stream that ends early would be filled with grey by libjpeg: refuse it (fail closed). Other
     * warnings (extraneous bytes between markers) are common in DICOM and harmless. */
    if (level < 0 && e->pub.msg_code == JWRN_JPEG_EOF)
        dv_jpeg_throw(e, DV_ERR_MALFORMED, "premature end of JPEG data");
}

static void on_progress(j_common_ptr cinfo)
{
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > DV_JPEG_MAX_SCANS)
        dv_jpeg_throw((dv_jpeg_err *)cinfo->err, DV_ERR_LIMIT, "more than %d JPEG scans", DV_JPEG_MAX_SCANS);
}

struct jpeg_error_mgr *dv_jpeg_err_init(dv_jpeg_err *e)
{
    memset(e, 0, sizeof *e);
    jpeg_std_error(&e->pub);
    e->pub.error_exit = on_error;
    e->pub.emit_message = on_message;
    return &e->pub;
}

void dv_jpeg_watch_scans(j_decompress_ptr d, dv_jpeg_err *e)
{
    e->prog.progress_monitor = on_progress;
    d->progress = &e->prog;
}

void dv_jpeg_throw(dv_jpeg_err *e, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->code = code;
    longjmp(e->jump, 1);
}

void dv_jpeg_check_header(const dv_pixel_attrs *pa, j_decompress_ptr d, dv_jpeg_err *e)
{
    int dw = d->image_width != pa->columns, dh = d->image_height != pa->rows;
    int dc = (uint32_t)d->num_components != pa->samples_per_pixel;
    if (dw || dh || dc) {
        char what[160];
        dv_mismatch_text(what, sizeof what, dw, dh, dc, pa);
        dv_jpeg_throw(e, DV_ERR_MALFORMED, "codestream does not match the attributes: %s", what);
    }
}

int dv_jpeg_components_are_rgb(const dv_pixel_attrs *pa, j_decompress_ptr d)
{
    if (pa->photometric == DV_PHOTO_YBR_FULL || pa->photometric == DV_PHOTO_YBR_FULL_422)
        return 0;
    return !d->saw_Adobe_marker || d->Adobe_transform == 0;
}

static void dest_init(j_compress_ptr c)
{
    dv_jpeg_dest *o = (dv_jpeg_dest *)c->dest;
    o->pub.next_output_byte = o->buf;
    o->pub.free_in_buffer = o->cap;
}

static boolean dest_grow(j_compress_ptr c)
{
    dv_jpeg_dest *o = (dv_jpeg_dest *)c->dest;
    /* libjpeg calls this only when the buffer is full (free_in_buffer 0): the whole of it is data. */
    if (o->cap >= o->max)
        dv_jpeg_throw(o->je, DV_ERR_LIMIT, "%s larger than %zu bytes", o->what, o->max);
    size_t ncap = o->cap > o->max / 2 ? o->max : o->cap * 2;
    uint8_t *nb = realloc(o->buf, ncap);
    if (!nb)
        dv_jpeg_throw(o->je, DV_ERR_NOMEM, "output buffer of %zu bytes", ncap);
    o->buf = nb;
    o->pub.next_output_byte = nb + o->cap;
    o->pub.free_in_buffer = ncap - o->cap;
    o->cap = ncap;
    return TRUE;
}

static void dest_term(j_compress_ptr c)
{
    dv_jpeg_dest *o = (dv_jpeg_dest *)c->dest;
    o->len = o->cap - o->pub.free_in_buffer;
}

void dv_jpeg_dest_attach(j_compress_ptr c, dv_jpeg_dest *d)
{
    d->pub.init_destination = dest_init;
    d->pub.empty_output_buffer = dest_grow;
    d->pub.term_destination = dest_term;
    c->dest = &d->pub;
}
