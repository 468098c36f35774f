/* DICOM JSON model writer (see dicom_json.h). */
#include "http/dicom_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dicom/dv_charset.h"
#include "dicom/dv_ds.h"
#include "dicom/dv_vr.h"

#define INLINE_BINARY_MAX 1024
#define TEXT_VALUE_MAX (4u << 20) /* a text value read back from the source for metadata */

void dvh_tag_hex(uint32_t tag, char out[9])
{
    snprintf(out, 9, "%08X", (unsigned)tag);
}

static int is_number_vr(const char *vr)
{
    return strcmp(vr, "IS") == 0 || strcmp(vr, "DS") == 0;
}

static int is_single_valued(const char *vr)
{
    /* PS3.5 6.2: LT, ST, UT, UR are single-valued and may hold backslashes. */
    return strcmp(vr, "LT") == 0 || strcmp(vr, "ST") == 0 || strcmp(vr, "UT") == 0 || strcmp(vr, "UR") == 0;
}

static json_t *number_value(const char *vr, const char *s, size_t n)
{
    char buf[64];
    while (n && (*s == ' ')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\0'))
        n--;
    if (n == 0 || n >= sizeof buf)
        return NULL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end = NULL;
    if (strcmp(vr, "IS") == 0 || strcmp(vr, "US") == 0) {
        long long v = strtoll(buf, &end, 10);
        return *end == '\0' ? json_integer(v) : NULL;
    }
    double d = strtod(buf, &end);
    return *end == '\0' ? json_real(d) : NULL;
}

/* One PN value "A^B=C^D=E" -> {"Alphabetic": "A^B", "Ideographic": "C^D", "Phonetic": "E"}. */
static json_t *pn_value(const char *s, size_t n)
{
    static const char *const groups[] = {"Alphabetic", "Ideographic", "Phonetic"};
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    for (int g = 0; g < 3; g++) {
        const char *eq = memchr(s, '=', n);
        size_t k = eq ? (size_t)(eq - s) : n;
        if (k)
            json_object_set_new(o, groups[g], json_stringn(s, k));
        if (eq == NULL)
            break;
        s += k + 1;
        n -= k + 1;
    }
    return o;
}

/* Values of a text VR from UTF-8 text (len bytes, trailing padding allowed) into a Value array, or NULL
 * (no Value) when empty. */
static json_t *text_values(const char *vr, const char *text, size_t len)
{
    while (len && (text[len - 1] == ' ' || text[len - 1] == '\0'))
        len--;
    if (len == 0)
        return NULL;
    json_t *arr = json_array();
    if (arr == NULL)
        return NULL;
    int single = is_single_valued(vr);
    const char *p = text;
    size_t left = len;
    for (;;) {
        const char *bs = single ? NULL : memchr(p, '\\', left);
        size_t k = bs ? (size_t)(bs - p) : left;
        size_t a = 0, b = k; /* trim: leading spaces are insignificant except in LT/ST/UT (PS3.5 6.2) */
        if (!single)
            while (a < b && p[a] == ' ')
                a++;
        while (b > a && (p[b - 1] == ' ' || p[b - 1] == '\0'))
            b--;
        json_t *v = NULL;
        if (b > a) {
            if (is_number_vr(vr))
                v = number_value(vr, p + a, b - a);
            else if (strcmp(vr, "PN") == 0)
                v = pn_value(p + a, b - a);
            else
                v = json_stringn(p + a, b - a);
        }
        json_array_append_new(arr, v ? v : json_null());
        if (bs == NULL)
            break;
        p = bs + 1;
        left -= k + 1;
    }
    return arr;
}

static json_t *element(const char *vr)
{
    return json_pack("{s:s}", "vr", vr);
}

int dvh_json_put_text(json_t *obj, uint32_t tag, const char *vr, const char *text)
{
    char key[9];
    dvh_tag_hex(tag, key);
    json_t *el = element(vr);
    if (el == NULL)
        return -1;
    if (text && text[0]) {
        json_t *vals;
        if (strcmp(vr, "US") == 0 || strcmp(vr, "UL") == 0) {
            vals = json_array();
            json_t *v = number_value("US", text, strlen(text));
            if (vals && v)
                json_array_append_new(vals, v);
            else
                json_decref(v);
        } else {
            vals = text_values(vr, text, strlen(text));
        }
        if (vals && json_array_size(vals))
            json_object_set_new(el, "Value", vals);
        else
            json_decref(vals);
    }
    return json_object_set_new(obj, key, el);
}

int dvh_json_put_items(json_t *obj, uint32_t tag, json_t *items)
{
    char key[9];
    dvh_tag_hex(tag, key);
    json_t *el = element("SQ");
    if (el == NULL) {
        json_decref(items);
        return -1;
    }
    if (items && json_array_size(items))
        json_object_set_new(el, "Value", items);
    else
        json_decref(items);
    return json_object_set_new(obj, key, el);
}

int dvh_json_put_us(json_t *obj, uint32_t tag, unsigned v)
{
    char key[9];
    dvh_tag_hex(tag, key);
    json_t *el = json_pack("{s:s, s:[i]}", "vr", "US", "Value", (json_int_t)v);
    return el ? json_object_set_new(obj, key, el) : -1;
}

/* --- instances --- */

typedef struct walk {
    const dv_instance *inst;
    const char *bulk_base;
    dv_charset_ctx *cs_ctx;
    dv_error *err;
    int be;
    char *buf; /* scratch for values read from the source */
    size_t cap;
} walk;

static json_t *dataset_json(walk *w, const dv_ds *ds, const dv_charset *cs, const char *path);

static json_t *binary_numbers(walk *w, uint16_t vr, const uint8_t *v, uint64_t len)
{
    unsigned unit = (unsigned)dv_vr_binary_size(vr);
    json_t *arr = json_array();
    if (arr == NULL || unit == 0)
        return arr;
    for (uint64_t off = 0; off + unit <= len; off += unit) {
        uint8_t b[8];
        memcpy(b, v + off, unit);
        if (w->be) /* values stored big endian (read from explicit VR BE): host order is little endian here */
            dv_swap_bytes(b, unit, unit);
        json_t *x = NULL;
        switch (vr) {
        case DV_VR_US: { uint16_t u; memcpy(&u, b, 2); x = json_integer(u); break; }
        case DV_VR_SS: { int16_t u; memcpy(&u, b, 2); x = json_integer(u); break; }
        case DV_VR_UL: { uint32_t u; memcpy(&u, b, 4); x = json_integer(u); break; }
        case DV_VR_SL: { int32_t u; memcpy(&u, b, 4); x = json_integer(u); break; }
        case DV_VR_SV: { int64_t u; memcpy(&u, b, 8); x = json_integer(u); break; }
        case DV_VR_UV: { uint64_t u; memcpy(&u, b, 8); x = json_integer((json_int_t)u); break; }
        case DV_VR_FL: { float f; memcpy(&f, b, 4); x = json_real(f); break; }
        case DV_VR_FD: { double f; memcpy(&f, b, 8); x = json_real(f); break; }
        case DV_VR_AT: {
            uint16_t g, e;
            memcpy(&g, b, 2);
            memcpy(&e, b + 2, 2);
            char s[9];
            snprintf(s, sizeof s, "%04X%04X", g, e);
            x = json_string(s);
            break;
        }
        default: break;
        }
        json_array_append_new(arr, x ? x : json_null());
    }
    return arr;
}

static int is_binary_bulk_vr(uint16_t vr)
{
    return vr == DV_VR_OB || vr == DV_VR_OW || vr == DV_VR_OF || vr == DV_VR_OD || vr == DV_VR_OL ||
           vr == DV_VR_OV || vr == DV_VR_UN;
}

static json_t *element_json(walk *w, const dv_ds *ds, const dv_elem *e, const dv_charset *cs, const char *path)
{
    char vrs[3];
    dv_vr_to_chars(e->vr ? e->vr : DV_VR_UN, vrs);
    if (!dv_vr_is_known(e->vr))
        snprintf(vrs, sizeof vrs, "UN");
    json_t *el = element(e->flags & DV_ELEM_SEQUENCE ? "SQ" : vrs);
    if (el == NULL)
        return NULL;
    char tagpath[512];
    char key[9];
    dvh_tag_hex(e->tag, key);
    snprintf(tagpath, sizeof tagpath, "%s%s%s", path, path[0] ? "/" : "", key);
    if (e->flags & DV_ELEM_SEQUENCE) {
        json_t *items = json_array();
        size_t idx = 0;
        for (const dv_item *it = e->items; it && items; it = it->next, idx++) {
            dv_charset own;
            const dv_charset *ics = dv_charset_for_item(cs, it, &own);
            char ipath[600];
            snprintf(ipath, sizeof ipath, "%s/%zu", tagpath, idx);
            json_t *o = dataset_json(w, &it->ds, ics, ipath);
            if (o == NULL) {
                json_decref(items);
                json_decref(el);
                return NULL;
            }
            json_array_append_new(items, o);
        }
        if (items && json_array_size(items))
            json_object_set_new(el, "Value", items);
        else
            json_decref(items);
        return el;
    }
    if (e->length == 0)
        return el;
    int bulk = (e->flags & (DV_ELEM_BULK | DV_ELEM_ENCAPSULATED | DV_ELEM_EXTERNAL)) != 0;
    if (is_binary_bulk_vr(e->vr) || (e->flags & DV_ELEM_ENCAPSULATED)) {
        const uint8_t *v = dv_elem_inline_value(e);
        if (!bulk && v && e->length <= INLINE_BINARY_MAX) {
            size_t outn = 4 * ((e->length + 2) / 3) + 1;
            char *b64 = malloc(outn);
            /* A big endian file's value is sent little endian, swapped per its VR (PixelData per its dataset's
             * BitsAllocated), as its BulkDataURI and frames are (wado_frames.c): a JSON part carries no
             * transfer syntax, and the same value must not come in two byte orders by its size alone. */
            uint8_t *le = w->be ? malloc(e->length) : NULL;
            if (b64 == NULL || (w->be && le == NULL)) {
                free(b64);
                json_decref(el);
                return NULL;
            }
            if (le) {
                memcpy(le, v, e->length);
                dv_swap_bytes(le, e->length, e->tag == DV_TAG_PIXEL_DATA ? dv_pixel_swap_unit(w->inst, ds, e)
                                                                          : dv_vr_swap_unit(e->vr));
                v = le;
            }
            EVP_EncodeBlock((unsigned char *)b64, v, (int)e->length);
            json_object_set_new(el, "InlineBinary", json_string(b64));
            free(b64);
            free(le);
        } else {
            char uri[1200];
            snprintf(uri, sizeof uri, "%s/%s", w->bulk_base, tagpath);
            json_object_set_new(el, "BulkDataURI", json_string(uri));
        }
        return el;
    }
    /* Text or binary number: load the value (inline, or read back when it stayed in the source). */
    const uint8_t *v = dv_elem_inline_value(e);
    if (v == NULL) {
        if (e->length > TEXT_VALUE_MAX) {
            char uri[1200];
            snprintf(uri, sizeof uri, "%s/%s", w->bulk_base, tagpath);
            json_object_set_new(el, "BulkDataURI", json_string(uri));
            return el;
        }
        if (e->length > w->cap) {
            char *nb = realloc(w->buf, e->length);
            if (nb == NULL) {
                json_decref(el);
                return NULL;
            }
            w->buf = nb;
            w->cap = e->length;
        }
        if (dv_elem_read_value(w->inst, e, w->buf, w->cap) != 0) {
            dv_fail(w->err, DV_ERR_IO, "metadata: value of " TAGF " unreadable", TAGA(e->tag));
            json_decref(el);
            return NULL;
        }
        v = (const uint8_t *)w->buf;
    }
    json_t *vals = NULL;
    if (dv_vr_binary_size(e->vr) > 0) {
        vals = binary_numbers(w, e->vr, v, e->length);
    } else {
        size_t cap = DV_CHARSET_DECODE_BOUND(e->length) + 1;
        char *utf8 = malloc(cap);
        if (utf8 == NULL) {
            json_decref(el);
            return NULL;
        }
        dv_cs_decoded dec;
        dv_error derr;
        size_t n;
        if (dv_charset_vr_applies(e->vr) &&
            dv_charset_decode(w->cs_ctx, cs, e->vr, v, (size_t)e->length, utf8, cap, &dec, &derr) == 0) {
            n = dec.len;
        } else {
            /* Default repertoire VRs (and a set we cannot decode): bytes as they are; non-ASCII bytes would
             * not be valid JSON strings, so they become U+FFFD's ASCII stand-in '?'. */
            n = (size_t)e->length;
            for (size_t i = 0; i < n; i++)
                utf8[i] = (v[i] < 0x80) ? (char)v[i] : '?';
        }
        vals = text_values(vrs, utf8, n);
        free(utf8);
    }
    if (vals && json_array_size(vals))
        json_object_set_new(el, "Value", vals);
    else
        json_decref(vals);
    return el;
}

static json_t *dataset_json(walk *w, const dv_ds *ds, const dv_charset *cs, const char *path)
{
    json_t *obj = json_object();
    if (obj == NULL)
        return NULL;
    dv_charset own;
    const dv_charset *dcs = path[0] ? cs : dv_charset_for_ds(cs, ds, &own);
    for (const dv_elem *e = ds->first; e; e = e->next) {
        if (dv_tag_is_group_length(e->tag))
            continue;
        /* Every string here is UTF-8 (PS3.18 F.2), whatever set the instance declared. */
        json_t *el = e->tag == 0x00080005 ? json_pack("{s:s, s:[s]}", "vr", "CS", "Value", "ISO_IR 192")
                                          : element_json(w, ds, e, dcs, path);
        if (el == NULL) {
            json_decref(obj);
            return NULL;
        }
        char key[9];
        dvh_tag_hex(e->tag, key);
        json_object_set_new(obj, key, el);
    }
    return obj;
}

json_t *dvh_json_instance(const dv_instance *inst, const char *bulk_base, dv_error *err)
{
    walk w = {.inst = inst, .bulk_base = bulk_base, .err = err, .be = dv_values_big_endian(inst)};
    w.cs_ctx = dv_charset_ctx_new();
    if (w.cs_ctx == NULL) {
        dv_fail(err, DV_ERR_NOMEM, "metadata: charset context");
        return NULL;
    }
    dv_charset def;
    dv_charset_default(&def);
    json_t *o = dataset_json(&w, &inst->ds, &def, "");
    if (o == NULL && err && err->code == DV_OK)
        dv_fail(err, DV_ERR_NOMEM, "metadata: out of memory");
    dv_charset_ctx_free(w.cs_ctx);
    free(w.buf);
    return o;
}
