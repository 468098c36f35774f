/* Stand-ins for gray8.c, boxes.c and textdetect.c (wp-pix-detect) so the pixel stage links before they are
 * merged; this file is deleted by that merge. Detection FAILS CLOSED here (an instance asking for redaction
 * fails with DV_ERR_UNSUPPORTED), so nothing is ever written as "redacted" without a detector. */
#include "dv_redact.h"
#include <stdlib.h>
#include <string.h>
int dv_gray8_from_frame(const dv_frame *f, const dv_palette *pal, dv_gray8 *g, dv_error *err)
{
    (void)pal;
    size_t n = (size_t)f->width * f->height;
    if (g->cap < n) { free(g->px); g->px = malloc(n); g->cap = n; if (!g->px) return dv_fail(err, DV_ERR_NOMEM, "x"); }
    g->width = f->width; g->height = f->height;
    memset(g->px, 0, n);
    return 0;
}
void dv_gray8_free(dv_gray8 *g) { free(g->px); memset(g, 0, sizeof *g); }
int dv_boxes_add(dv_boxes *b, dv_box box, dv_error *err)
{
    if (b->n == b->cap) { size_t c = b->cap ? b->cap * 2 : 8; dv_box *v = realloc(b->v, c * sizeof *v); if (!v) return dv_fail(err, DV_ERR_NOMEM, "x"); b->v = v; b->cap = c; }
    b->v[b->n++] = box; return 0;
}
void dv_boxes_clear(dv_boxes *b) { b->n = 0; }
void dv_boxes_free(dv_boxes *b) { free(b->v); memset(b, 0, sizeof *b); }
struct dv_textdetect { int x; };
dv_textdetect *dv_textdetect_new(void) { return calloc(1, sizeof(dv_textdetect)); }
void dv_textdetect_free(dv_textdetect *td) { free(td); }
void dv_textdetect_reset(dv_textdetect *td) { (void)td; }
int dv_textdetect_find(dv_textdetect *td, const dv_gray8 *g, uint32_t d, dv_boxes *l, dv_error *e) { (void)td; (void)g; (void)d; (void)l; return dv_fail(e, DV_ERR_UNSUPPORTED, "text detection is not built yet"); }
