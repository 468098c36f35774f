/* The K x K min and max filters (dv_morph.h), separable: each row, then each column, every 1-D window done
 * by doubling. */
#include "dv_morph.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define R (DV_MINMAX_K / 2)

/* o[x] = min or max(a[x], b[x]) for x < n: the inner loop of every filter, 16 bytes at a time where SSE2
 * exists (every x86-64), plain C elsewhere. o may be a, and b may lie ahead of a in the same buffer (b = a + d,
 * d > 0): each block of o is stored after both its sources were loaded, and no later block reads it. */
static void combine(uint8_t *o, const uint8_t *a, const uint8_t *b, size_t n, int is_max)
{
    size_t x = 0;
#ifdef __SSE2__
    if (is_max)
        for (; x + 16 <= n; x += 16)
            _mm_storeu_si128((__m128i *)(o + x), _mm_max_epu8(_mm_loadu_si128((const __m128i *)(a + x)),
                                                              _mm_loadu_si128((const __m128i *)(b + x))));
    else
        for (; x + 16 <= n; x += 16)
            _mm_storeu_si128((__m128i *)(o + x), _mm_min_epu8(_mm_loadu_si128((const __m128i *)(a + x)),
                                                              _mm_loadu_si128((const __m128i *)(b + x))));
#endif
    if (is_max)
        for (; x < n; x++)
            o[x] = a[x] > b[x] ? a[x] : b[x];
    else
        for (; x < n; x++)
            o[x] = a[x] < b[x] ? a[x] : b[x];
}

/* The 11-wide windows by doubling: windows of 2, 4 and 8 in place, then two windows of 8 three apart make the
 * 11 (positions x..x+7 and x+3..x+10): 4 passes where one pass per position of the window was 10. */
_Static_assert(DV_MINMAX_K == 11, "the doubling below makes windows of 11");

/* out[x] = min or max of in[x - R .. x + R], the row padded with the neutral value; pad: w + 2R bytes. */
static void row_minmax(const uint8_t *in, uint8_t *out, uint8_t *pad, uint32_t w, int is_max)
{
    uint8_t neutral = is_max ? 0 : 255;
    memset(pad, neutral, R);
    memcpy(pad + R, in, w);
    memset(pad + R + w, neutral, R);
    size_t n = (size_t)w + 2 * R;
    combine(pad, pad, pad + 1, n - 1, is_max); /* pad[x]: window [x, x + 2) */
    combine(pad, pad, pad + 2, n - 3, is_max); /* [x, x + 4) */
    combine(pad, pad, pad + 4, n - 7, is_max); /* [x, x + 8) */
    combine(out, pad, pad + 3, w, is_max);     /* [x, x + 11) */
}

/* out row y = min or max of in rows y - R .. y + R (those inside the image), column by column; s: the
 * padded rows, (h + 2R) * w bytes: s row r stands for in row r - R (neutral outside the image), and is
 * doubled in place as row_minmax's pad is. */
static void col_minmax(const uint8_t *in, uint8_t *out, uint8_t *s, uint32_t w, uint32_t h, int is_max)
{
    uint8_t neutral = is_max ? 0 : 255;
    size_t rows = (size_t)h + 2 * R;
    /* s[r] = window [r, r + 2) of the padded rows, made from in directly */
    for (size_t r = 0; r + 1 < rows; r++) {
        uint8_t *o = s + r * w;
        int a_in = r >= R && r < (size_t)R + h, b_in = r + 1 >= R && r + 1 < (size_t)R + h;
        if (a_in && b_in)
            combine(o, in + (r - R) * w, in + (r + 1 - R) * w, w, is_max);
        else if (a_in)
            memcpy(o, in + (r - R) * w, w);
        else if (b_in)
            memcpy(o, in + (r + 1 - R) * w, w);
        else
            memset(o, neutral, w);
    }
    for (size_t r = 0; r + 3 < rows; r++) /* [r, r + 4) */
        combine(s + r * w, s + r * w, s + (r + 2) * w, w, is_max);
    for (size_t r = 0; r + 7 < rows; r++) /* [r, r + 8) */
        combine(s + r * w, s + r * w, s + (r + 4) * w, w, is_max);
    for (uint32_t y = 0; y < h; y++) /* [y, y + 11) of the padded rows: in rows y - R .. y + R */
        combine(out + (size_t)y * w, s + (size_t)y * w, s + ((size_t)y + 3) * w, w, is_max);
}

void dv_minmax11(const uint8_t *in, uint8_t *tmp, uint8_t *out, uint32_t w, uint32_t h, int is_max, uint8_t *row,
                 uint8_t *col)
{
    for (uint32_t y = 0; y < h; y++)
        row_minmax(in + (size_t)y * w, tmp + (size_t)y * w, row, w, is_max);
    col_minmax(tmp, out, col, w, h, is_max);
}
