/* Pixel data's containers (dv_pixel_container.h). The codestream walk is image/codestream_meta.c; this file
 * finds the values to walk, lists their fragments and turns what the walk reports into the writer's patches
 * (dicom/patch.c), so that the pixel data is still copied from its source, never held whole in memory. */
#include "engine/dv_pixel_container.h"

#include <stdlib.h>

#include "dicomveil/dv_frames.h"
#include "dicom/dv_ds.h"
#include "dict/dv_tags.h"
#include "image/dv_codestream_meta.h"
#include "util/dv_grow.h"

typedef struct frags {
    const dv_instance *inst;
    dv_cs_frag *v;
    size_t n, cap;
    dv_error *err;
} frags;

static int add_frag(void *user, uint32_t k, uint64_t header, uint64_t value, uint32_t len)
{
    (void)header;
    frags *f = user;
    if (k == 0) /* the Basic Offset Table */
        return 0;
    if ((f->n + 1) * sizeof *f->v > f->inst->limits.max_metadata_bytes)
        return dv_fail(f->err, DV_ERR_LIMIT, "limit: more fragments than the metadata cap holds");
    if (dv_grow(&f->v, &f->cap, f->n + 1, sizeof *f->v, 64) != 0)
        return dv_fail(f->err, DV_ERR_NOMEM, "out of memory (fragments)");
    f->v[f->n].offset = value;
    f->v[f->n].length = len;
    f->n++;
    return 0;
}

typedef struct patcher {
    dv_instance *inst;
    const dv_elem *e;
    uint64_t start; /* the value's offset in its source */
    dv_error *err;
} patcher;

static int add_patch(void *user, uint64_t src_off, uint64_t len, const uint8_t *lit)
{
    patcher *p = user;
    return dv_instance_add_patch(p->inst, p->e, src_off - p->start, len, lit, lit ? (unsigned)len : 0, p->err);
}

/* The first fragment of each frame of the top-level PixelData, from its offset tables (dv_frames.h): *first
 * malloc'd (the caller frees), NULL when they cannot be told (the walk then goes by the codestreams' markers). */
static uint32_t frame_starts(const dv_instance *inst, const dv_elem *e, uint32_t nfrags, uint32_t **first)
{
    *first = NULL;
    if (dv_ds_find(&inst->ds, DV_TAG_PIXEL_DATA) != e)
        return 0;
    dv_error ignored;
    dv_frames *f = dv_frames_index(inst, &ignored);
    uint32_t n = f ? dv_frames_count(f) : 0;
    if (!f || dv_frames_fragment_count(f) != nfrags || !(*first = malloc((size_t)n * sizeof **first)))
        n = 0;
    for (uint32_t i = 0, c; i < n; i++)
        if (dv_frames_frame_fragments(f, i, &(*first)[i], &c) != 0)
            n = 0;
    dv_frames_free(f);
    if (n == 0) {
        free(*first);
        *first = NULL;
    }
    return n;
}

static int clean_value(dv_instance *inst, dv_cs_family fam, const dv_elem *e, frags *f, dv_error *err)
{
    uint64_t start;
    const dv_source *src = dv_elem_source(inst, e, &start);
    if (!src || start > src->size || e->length > src->size - start)
        return dv_fail(err, DV_ERR_MALFORMED, "encapsulated " TAGF " passes the end of its source", TAGA(e->tag));
    f->n = 0;
    if (dv_encapsulated_items(src, e->tag, start, start + e->length, add_frag, f, err) != 0)
        return -1;
    if (f->n > UINT32_MAX)
        return dv_fail(err, DV_ERR_LIMIT, "limit: too many fragments in " TAGF, TAGA(e->tag));
    uint32_t *first;
    uint32_t nframes = frame_starts(inst, e, (uint32_t)f->n, &first);
    patcher p = {inst, e, start, err};
    int rc = dv_codestream_clean(fam, src, f->v, (uint32_t)f->n, first, nframes, add_patch, &p, err);
    free(first);
    return rc;
}

static int clean_ds(dv_instance *inst, dv_cs_family fam, const dv_ds *ds, frags *f, dv_error *err)
{
    for (const dv_elem *e = ds->first; e; e = e->next) {
        if ((e->flags & DV_ELEM_ENCAPSULATED) && clean_value(inst, fam, e, f, err) != 0)
            return -1;
        if (e->flags & DV_ELEM_SEQUENCE)
            for (const dv_item *it = e->items; it; it = it->next)
                if (clean_ds(inst, fam, &it->ds, f, err) != 0)
                    return -1;
    }
    return 0;
}

int dv_pixel_container_clean(dv_instance *inst, dv_error *err)
{
    /* Native: bytes past the last frame are no pixel a viewer shows, and may be anything (a buffer's old
     * contents). The value is cut to its frames (the writer pads an odd length). */
    uint64_t need;
    dv_elem *px = dv_native_pixels(inst, &need);
    if (px && need && px->length > need + (need & 1))
        px->length = need;
    dv_cs_family fam = dv_cs_family_of(dv_instance_transfer_syntax(inst));
    if (fam == DV_CS_NONE)
        return 0;
    frags f = {inst, NULL, 0, 0, err};
    int rc = clean_ds(inst, fam, &inst->ds, &f, err);
    free(f.v);
    return rc;
}
