/* PALETTE COLOR lookup tables (PS3.3 C.7.6.3.1.5-6): frames keep their indices; this reads the three
 * tables so a renderer (or a redaction that paints the darkest colour) can map them.
 * Descriptor: number of entries (0 means 65536), first mapped value, bits per entry (8 or 16). Data: OW,
 * one 16-bit word per entry, or for 8-bit tables sometimes one byte per entry (highdicom writes that;
 * recognised by the length). Returned as uint16_t values as stored. Segmented tables are refused (DV_ERR_UNSUPPORTED). [integration.test_image_decode] */
#include "dv_image.h"

#include <stdlib.h>
#include <string.h>
#include "../dicom/dv_ds.h"
#include "../dict/dv_tags.h"

static uint16_t rd16(const uint8_t *p, int be)
{
    return be ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static const uint32_t desc_tags[3] = {DV_TAG_RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
                                      DV_TAG_GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
                                      DV_TAG_BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR};
static const uint32_t data_tags[3] = {DV_TAG_RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
                                      DV_TAG_GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
                                      DV_TAG_BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA};

/* Table c (0 red, 1 green, 2 blue) into out; red sets the geometry and allocates all three. -1 with err: the
 * caller frees what was allocated (one place, so no failure of green or blue leaks red's table: stop 40's red
 * team found 393 KB a request leaking through a green descriptor of 12 bits). */
static int read_table(const dv_instance *inst, int c, int be, dv_palette *out, dv_error *err)
{
    const dv_elem *d = dv_ds_find(&inst->ds, desc_tags[c]);
    if (!d || !d->value || d->length < 6 || (d->flags & (DV_ELEM_BULK | DV_ELEM_SEQUENCE)))
        return dv_fail(err, DV_ERR_MALFORMED, "palette descriptor " TAGF " missing or short", TAGA(desc_tags[c]));
    uint32_t n = rd16(d->value, be), first = rd16(d->value + 2, be), bits = rd16(d->value + 4, be);
    if (n == 0)
        n = 65536;
    if (bits != 8 && bits != 16)
        return dv_fail(err, DV_ERR_MALFORMED, "palette descriptor " TAGF ": %u bits per entry", TAGA(desc_tags[c]),
                       bits);
    if (c == 0) {
        out->entries = n;
        out->first_mapped = first;
        out->bits = bits;
        out->lut = malloc((size_t)3 * n * sizeof *out->lut);
        if (!out->lut)
            return dv_fail(err, DV_ERR_NOMEM, "palette of %u entries", n);
    } else if (n != out->entries || first != out->first_mapped) {
        return dv_fail(err, DV_ERR_MALFORMED, "palette descriptors disagree");
    }
    const dv_elem *e = dv_ds_find(&inst->ds, data_tags[c]);
    /* 8-bit tables are sometimes written one byte per entry (odd ones padded): accept n or 2n bytes */
    uint64_t want = (uint64_t)n * 2;
    int bytes = e && e->length == ((uint64_t)n + 1) / 2 * 2 && e->length < want && bits == 8;
    if (!e || (e->flags & (DV_ELEM_SEQUENCE | DV_ELEM_ENCAPSULATED)) || (e->length < want && !bytes))
        return dv_fail(err, DV_ERR_MALFORMED, "palette data " TAGF " missing or shorter than %u entries",
                       TAGA(data_tags[c]), n);
    uint8_t *raw = malloc((size_t)e->length ? (size_t)e->length : 1);
    if (!raw || dv_elem_read_value(inst, e, raw, e->length)) {
        free(raw);
        return dv_fail(err, DV_ERR_IO, "palette data " TAGF " unreadable", TAGA(data_tags[c]));
    }
    uint16_t *dst = out->lut + (size_t)c * n;
    for (uint32_t i = 0; i < n; i++)
        dst[i] = bytes ? raw[i] : rd16(raw + 2 * (size_t)i, be);
    free(raw);
    return 0;
}

int dv_palette_read(const dv_instance *inst, dv_palette *out, dv_error *err)
{
    memset(out, 0, sizeof *out);
    int be = inst->ts_kind == DV_TS_EXPLICIT_BE;
    if (dv_ds_find(&inst->ds, DV_TAG_SEGMENTED_RED_PALETTE_COLOR_LOOKUP_TABLE_DATA))
        return dv_fail(err, DV_ERR_UNSUPPORTED, "segmented palette lookup tables");
    for (int c = 0; c < 3; c++)
        if (read_table(inst, c, be, out, err) != 0) {
            dv_palette_free(out);
            return -1;
        }
    return 0;
}

void dv_palette_free(dv_palette *p)
{
    free(p->lut);
    p->lut = NULL;
    p->entries = 0;
}
