/* libFuzzer target: the text-region detector (src/image/textdetect.c) and the gray8 view (gray8.c).
 *
 * Input: byte 0 -> width 1 + b % 160, byte 1 -> height 1 + b % 160, byte 2 -> mode (bit 0: the picture is
 * 16-bit MONOCHROME1 samples through dv_gray8_from_frame instead of raw gray8 bytes; bits 1-6: the number
 * of bottom rows inverted before a second search, exercising the cine reuse and partial search; bit 7:
 * both sizes x 4), then the pixels (repeated to fill the frame). Invariants (abort): every search succeeds, every box is non-empty and inside the
 * frame, and the second frame's boxes equal a fresh detector's. The same bytes also go through the colour views
 * (colour_views). Memory safety and leaks: ASan/LSan. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "image/dv_redact.h"
#include "dv_invariants.h"

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_textdetect: invariant violated: %s\n", what);
    abort();
}

static void check(const dv_boxes *b, uint32_t w, uint32_t h)
{
    for (size_t i = 0; i < b->n; i++) {
        if (b->v[i].w == 0 || b->v[i].h == 0)
            fail("empty box");
        if ((uint64_t)b->v[i].x + b->v[i].w > w || (uint64_t)b->v[i].y + b->v[i].h > h)
            fail("box outside the frame");
    }
}

/* The colour views (dv_gray8_from_frame's brightest channel and chroma count, dv_gray8_planes' channels) of the
 * same bytes as a colour frame: 8-bit RGB or YBR_FULL (bit 0 of the mode), or 16-bit RGB of 12 bits stored.
 * Invariants: both accept a valid frame, the chroma count is at most the pixel count, and the brightest view is
 * the largest of the three channel views wherever the frame is RGB. */
static void colour_views(const uint8_t *px, size_t npx, uint32_t w, uint32_t h, uint8_t mode)
{
    size_t n = (size_t)w * h;
    int wide = (mode & 0x40) != 0, ybr = !wide && (mode & 1);
    size_t bytes = n * 3 * (wide ? 2 : 1);
    uint8_t *s = malloc(bytes);
    dv_gray8 g = {0}, planes[4] = {{0}};
    if (!s)
        return;
    for (size_t i = 0; i < bytes; i++)
        s[i] = wide && i % 2 ? px[i % npx] & 0x0F : px[i % npx];
    dv_frame f = {.data = s, .cap = bytes, .width = w, .height = h, .samples = 3, .sample_bytes = wide ? 2 : 1,
                  .bits_stored = wide ? 12 : 8, .photometric = ybr ? DV_PHOTO_YBR_FULL : DV_PHOTO_RGB};
    dv_error err = {0};
    if (dv_gray8_from_frame(&f, NULL, &g, &err) || dv_gray8_planes(&f, NULL, planes, &err))
        fail("a colour view refused a valid frame");
    if (g.chroma_px > n)
        fail("more coloured pixels than pixels");
    for (size_t i = 0; i < n && !ybr; i++) {
        uint8_t m = planes[0].px[i] > planes[1].px[i] ? planes[0].px[i] : planes[1].px[i];
        m = m > planes[2].px[i] ? m : planes[2].px[i];
        if (m != g.px[i])
            fail("the brightest view is not the brightest channel");
    }
    free(s);
    dv_gray8_free(&g);
    for (int k = 0; k < 4; k++)
        dv_gray8_free(&planes[k]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    uint8_t mode = data[2];
    uint32_t scale = mode & 0x80 ? 4 : 1; /* up to 640 x 640: large enough for the cine window search */
    uint32_t w = (1 + data[0] % 160) * scale, h = (1 + data[1] % 160) * scale;
    const uint8_t *px = data + 3;
    size_t npx = size - 3, n = (size_t)w * h;
    dv_gray8 g = {0};
    dv_error err = {0};
    colour_views(px, npx, w, h, mode);
    if (mode & 1) { /* through the gray8 view: 16-bit MONOCHROME1 */
        uint16_t *s = malloc(n * sizeof *s);
        if (!s)
            return 0;
        for (size_t i = 0; i < n; i++)
            s[i] = (uint16_t)(px[(2 * i) % npx] | px[(2 * i + 1) % npx] << 8);
        dv_frame f = {.data = s, .cap = n * sizeof *s, .width = w, .height = h, .samples = 1, .sample_bytes = 2,
                      .bits_stored = 16, .photometric = DV_PHOTO_MONOCHROME1};
        int rc = dv_gray8_from_frame(&f, NULL, &g, &err);
        free(s);
        if (rc)
            fail("gray8 refused a valid frame");
    } else {
        g.px = malloc(n);
        if (!g.px)
            return 0;
        g.width = w, g.height = h, g.cap = n;
        for (size_t i = 0; i < n; i++)
            g.px[i] = px[i % npx];
    }
    dv_textdetect *td = dv_textdetect_new(), *fresh = dv_textdetect_new();
    dv_boxes a = {0}, b = {0};
    if (!td || !fresh)
        goto out;
    if (dv_textdetect_find(td, &g, 0, &a, &err))
        fail("search failed");
    check(&a, w, h);
    /* a second frame: a band of rows inverted (or nothing when the band is empty) */
    uint32_t band = ((mode >> 1) & 0x3F) % (h + 1);
    for (uint32_t y = 0; y < band; y++)
        for (uint32_t x = 0; x < w; x++)
            g.px[(size_t)(h - 1 - y) * w + x] ^= 0xFF;
    dv_boxes_clear(&a);
    if (dv_textdetect_find(td, &g, 0, &a, &err) || dv_textdetect_find(fresh, &g, 0, &b, &err))
        fail("second search failed");
    check(&a, w, h);
    if (!dvi_boxes_same(&a, &b))
        fail("the cine path differs from a fresh search");
out:
    dv_boxes_free(&a);
    dv_boxes_free(&b);
    dv_textdetect_free(td);
    dv_textdetect_free(fresh);
    dv_gray8_free(&g);
    return 0;
}
