/* libFuzzer target: the path from a stored instance to a picture that `dicomveil render` and WADO-RS `rendered`
 * share (src/image/render_instance.c: pixel attributes, frame index, decode, PALETTE COLOR tables, VOI window),
 * then what they do with the picture (png_write.c, jpeg_write.c, dv_picture_fit, and --preview's dv_picture_to_rgb
 * and dv_picture_outline).
 *
 * Input: byte 0 chooses the frame (byte % 4) and the viewport and outline; the rest is a Part 10 file.
 * Invariants (abort): a refused instance names its step and an error class; a rendered picture has a size and 1
 * or 3 channels; its PNG starts with the signature; a fitted picture lies inside its viewport. Memory safety:
 * ASan/UBSan (stop 40's red team found a palette table leaked on a bad green descriptor, and the PNG Up filter's
 * s[i - row] wrapping a pointer, with a first version of this target). Seeds: tests/fuzz/corpus/render/
 * (tests/fuzz/make_render_seeds.py). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dicomveil/dv_instance.h"
#include "dicomveil/dv_io.h"
#include "image/dv_image.h"
#include "image/dv_render.h"

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_render: %s\n", what);
    abort();
}

/* The encoders and the picture helpers on one rendered picture. */
static void use_picture(dv_picture *pic, uint8_t b)
{
    if (pic->width == 0 || pic->height == 0 || (pic->channels != 1 && pic->channels != 3) || !pic->px)
        fail("a rendered picture without a size, pixels or 1 or 3 channels");
    dv_error err;
    uint8_t *out = NULL;
    size_t len = 0;
    if (dv_png_encode(pic, &out, &len, &err) == 0 && (len < 8 || memcmp(out, "\x89PNG\r\n\x1a\n", 8) != 0))
        fail("a PNG without its signature");
    free(out);
    out = NULL;
    if (dv_jpeg_encode(pic, 1 + b % 100, 1u << 24, &out, &len, &err) == 0 && (len < 2 || out[0] != 0xFF))
        fail("a JPEG without its SOI marker");
    free(out);
    dv_picture rgb = {0};
    if (dv_picture_to_rgb(pic, &rgb, &err) == 0) {
        static const uint8_t red[3] = {255, 0, 0};
        dv_picture_outline(&rgb, b, b / 2, 1000, 3, 1 + b % 3, red);
        dv_picture_outline(&rgb, 0, 0, UINT32_MAX, UINT32_MAX, 2, red);
        dv_picture_free(&rgb);
    }
    uint32_t vw = 1 + b % 64, vh = 1 + b / 4;
    if (dv_picture_fit(pic, vw, vh, &err) == 0 && (pic->width > vw || pic->height > vh))
        fail("a fitted picture outside its viewport");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    dv_error err;
    dv_error_clear(&err);
    dv_mem_source ms;
    dv_source src = dv_source_memory(&ms, data + 1, size - 1);
    dv_instance *inst = dv_instance_read(&src, NULL, &err);
    if (!inst)
        return 0;
    dv_image_limits lim;
    dv_image_limits_default(&lim);
    lim.max_frame_bytes = 16u << 20; /* a fast fuzzer: the caps themselves are unit-tested */
    dv_picture pic = {0};
    const char *stage = NULL;
    uint32_t nframes = 0;
    if (dv_render_instance_frame(inst, data[0] % 4, NULL, &lim, &pic, &nframes, &stage, &err) == 0)
        use_picture(&pic, data[0]);
    else if (!stage || err.code == DV_OK || !err.message[0])
        fail("a refused instance without its step or error");
    dv_picture_free(&pic);
    dv_instance_free(inst);
    return 0;
}
