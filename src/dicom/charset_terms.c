/* SpecificCharacterSet (0008,0005): its defined terms, how a value is read, and its inheritance into
 * sequence items. Pure functions over constant tables (no allocation, no state). */
#include "charset_internal.h"
#include "util/dv_utf8.h"
#include "dv_vr.h"
#include "../dict/dv_tags.h"

#include <string.h>

/* PS3.3 Tables C.12-2 .. C.12-5. g0/g1: what the term designates under code extensions. */
const cs_term_info cs_terms[DV_CST_COUNT] = {
    [DV_CST_DEFAULT] = { "ISO_IR 6", "ISO 2022 IR 6", GS_ASCII, GS_NONE },
    [DV_CST_IR100] = { "ISO_IR 100", "ISO 2022 IR 100", GS_ASCII, GS_8859_1 },
    [DV_CST_IR101] = { "ISO_IR 101", "ISO 2022 IR 101", GS_ASCII, GS_8859_2 },
    [DV_CST_IR109] = { "ISO_IR 109", "ISO 2022 IR 109", GS_ASCII, GS_8859_3 },
    [DV_CST_IR110] = { "ISO_IR 110", "ISO 2022 IR 110", GS_ASCII, GS_8859_4 },
    [DV_CST_IR144] = { "ISO_IR 144", "ISO 2022 IR 144", GS_ASCII, GS_8859_5 },
    [DV_CST_IR127] = { "ISO_IR 127", "ISO 2022 IR 127", GS_ASCII, GS_8859_6 },
    [DV_CST_IR126] = { "ISO_IR 126", "ISO 2022 IR 126", GS_ASCII, GS_8859_7 },
    [DV_CST_IR138] = { "ISO_IR 138", "ISO 2022 IR 138", GS_ASCII, GS_8859_8 },
    [DV_CST_IR148] = { "ISO_IR 148", "ISO 2022 IR 148", GS_ASCII, GS_8859_9 },
    [DV_CST_IR203] = { "ISO_IR 203", "ISO 2022 IR 203", GS_ASCII, GS_8859_15 },
    [DV_CST_IR166] = { "ISO_IR 166", "ISO 2022 IR 166", GS_ASCII, GS_TIS620 },
    [DV_CST_IR13] = { "ISO_IR 13", "ISO 2022 IR 13", GS_ROMAJI, GS_KATAKANA },
    [DV_CST_IR87] = { NULL, "ISO 2022 IR 87", GS_JISX0208, GS_NONE },
    [DV_CST_IR159] = { NULL, "ISO 2022 IR 159", GS_JISX0212, GS_NONE },
    [DV_CST_IR149] = { NULL, "ISO 2022 IR 149", GS_NONE, GS_KSX1001 },
    [DV_CST_IR58] = { NULL, "ISO 2022 IR 58", GS_NONE, GS_GB2312 },
    [DV_CST_IR192] = { "ISO_IR 192", NULL, GS_NONE, GS_NONE },
    [DV_CST_GB18030] = { "GB18030", NULL, GS_NONE, GS_NONE },
    [DV_CST_GBK] = { "GBK", NULL, GS_NONE, GS_NONE },
    [DV_CST_UNKNOWN] = { NULL, NULL, GS_ASCII, GS_NONE },
};

/* ESC sequences of PS3.3 Tables C.12-3 / C.12-4 (bytes after ESC). */
const cs_escape cs_escapes[] = {
    { "(B", 2, GS_ASCII },    { "(J", 2, GS_ROMAJI },    { ")I", 2, GS_KATAKANA },
    { "-A", 2, GS_8859_1 },   { "-B", 2, GS_8859_2 },    { "-C", 2, GS_8859_3 },  { "-D", 2, GS_8859_4 },
    { "-L", 2, GS_8859_5 },   { "-G", 2, GS_8859_6 },    { "-F", 2, GS_8859_7 },  { "-H", 2, GS_8859_8 },
    { "-M", 2, GS_8859_9 },   { "-b", 2, GS_8859_15 },   { "-T", 2, GS_TIS620 },
    { "$B", 2, GS_JISX0208 }, { "$(D", 3, GS_JISX0212 }, { "$)C", 3, GS_KSX1001 }, { "$)A", 3, GS_GB2312 },
};
const size_t cs_nescapes = sizeof cs_escapes / sizeof cs_escapes[0];

const cs_escape *cs_escape_for(cs_gset g)
{
    for (size_t i = 0; i < cs_nescapes; i++) {
        if (cs_escapes[i].gset == g)
            return &cs_escapes[i];
    }
    return NULL;
}

void dv_charset_default(dv_charset *cs)
{
    memset(cs, 0, sizeof *cs);
    cs->nterms = 1;
    cs->terms[0] = DV_CST_DEFAULT;
}

/* The term named by one trimmed value. *is2022 says it was spelled "ISO 2022 ..."; *exact that it was
 * spelled exactly as a defined term. Lenient on separators and case ("ISO IR 100", "iso_ir_100"): such
 * files exist and their intent is unambiguous. */
static dv_cs_term term_of(const uint8_t *s, size_t n, int *is2022, int *exact)
{
    char norm[32];
    size_t k = 0;
    *is2022 = 0;
    *exact = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c >= 'a' && c <= 'z')
            c = (uint8_t)(c - 'a' + 'A');
        if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
            if (k + 1 >= sizeof norm)
                return DV_CST_UNKNOWN;
            norm[k++] = (char)c;
        }
    }
    norm[k] = '\0';
    dv_cs_term t = DV_CST_UNKNOWN;
    const char *num = NULL;
    if (strncmp(norm, "ISO2022IR", 9) == 0) {
        *is2022 = 1;
        num = norm + 9;
    } else if (strncmp(norm, "ISOIR", 5) == 0) {
        num = norm + 5;
    } else if (strcmp(norm, "GB18030") == 0) {
        t = DV_CST_GB18030;
    } else if (strcmp(norm, "GBK") == 0) {
        t = DV_CST_GBK;
    } else if (strcmp(norm, "UTF8") == 0) {
        t = DV_CST_IR192;
    }
    if (num) {
        static const struct { const char *n; dv_cs_term t; } nums[] = {
            { "6", DV_CST_DEFAULT },   { "100", DV_CST_IR100 }, { "101", DV_CST_IR101 }, { "109", DV_CST_IR109 },
            { "110", DV_CST_IR110 },   { "144", DV_CST_IR144 }, { "127", DV_CST_IR127 }, { "126", DV_CST_IR126 },
            { "138", DV_CST_IR138 },   { "148", DV_CST_IR148 }, { "203", DV_CST_IR203 }, { "166", DV_CST_IR166 },
            { "13", DV_CST_IR13 },     { "87", DV_CST_IR87 },   { "159", DV_CST_IR159 }, { "149", DV_CST_IR149 },
            { "58", DV_CST_IR58 },     { "192", DV_CST_IR192 },
        };
        for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
            if (strcmp(num, nums[i].n) == 0) {
                t = nums[i].t;
                break;
            }
        }
    }
    if (t != DV_CST_UNKNOWN) {
        const char *want = *is2022 ? cs_terms[t].iso2022 : cs_terms[t].iso_ir;
        *exact = want && strlen(want) == n && memcmp(want, s, n) == 0;
    }
    return t;
}

static int is_pad(uint8_t c)
{
    return c == ' ' || c == '\0';
}

void dv_charset_parse(const uint8_t *value, size_t len, dv_charset *cs)
{
    dv_charset_default(cs);
    cs->nterms = 0;
    int any2022 = 0, any_iso_ir = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && value[i] != '\\')
            continue;
        size_t a = start, b = i;
        start = i + 1;
        while (a < b && is_pad(value[a]))
            a++;
        while (b > a && is_pad(value[b - 1]))
            b--;
        if (cs->nterms == DV_CHARSET_MAX_TERMS) {
            cs->flags |= DV_CHARSET_F_TOO_MANY;
            break;
        }
        dv_cs_term t = DV_CST_DEFAULT;
        int is2022 = 0, exact = 1;
        if (b > a) {
            t = term_of(value + a, b - a, &is2022, &exact);
            if (t == DV_CST_UNKNOWN)
                cs->flags |= DV_CHARSET_F_UNKNOWN_TERM;
            else if (!exact)
                cs->flags |= DV_CHARSET_F_NONSTANDARD;
        } else if (cs->nterms > 0) {
            continue; /* an empty later value adds nothing */
        }
        any2022 |= is2022;
        any_iso_ir |= b > a && !is2022 && t != DV_CST_UNKNOWN && cs_terms[t].iso2022;
        cs->terms[cs->nterms++] = (uint8_t)t;
    }
    if (cs->nterms == 0)
        dv_charset_default(cs);

    dv_cs_term first = (dv_cs_term)cs->terms[0];
    if (first == DV_CST_IR192 || first == DV_CST_GB18030 || first == DV_CST_GBK) {
        /* Sets without code extensions stand alone (PS3.3 C.12.1.1.2): later values are ignored. */
        if (cs->nterms > 1)
            cs->flags |= DV_CHARSET_F_NONSTANDARD;
        cs->nterms = 1;
        cs->iso2022 = 0;
        return;
    }
    if (cs->nterms > 1 && any_iso_ir)
        cs->flags |= DV_CHARSET_F_NONSTANDARD; /* "ISO_IR 13\\ISO 2022 IR 87": read as ISO 2022 IR 13 */
    /* (nterms never exceeds the array; the second bound lets GCC -O3 see it: -Wstringop-overflow otherwise) */
    for (unsigned i = 1; i < cs->nterms && i < DV_CHARSET_MAX_TERMS; i++) {
        dv_cs_term t = (dv_cs_term)cs->terms[i];
        if (t == DV_CST_IR192 || t == DV_CST_GB18030 || t == DV_CST_GBK) {
            cs->terms[i] = DV_CST_UNKNOWN; /* cannot be combined with code extensions */
            cs->flags |= DV_CHARSET_F_NONSTANDARD;
        }
    }
    /* Multi-byte ISO 2022 sets are values 2..n; as value 1 (a common Korean habit) they still work. */
    int db_first = first == DV_CST_IR87 || first == DV_CST_IR159 || first == DV_CST_IR149 || first == DV_CST_IR58;
    if (db_first)
        cs->flags |= DV_CHARSET_F_NONSTANDARD;
    cs->iso2022 = (uint8_t)(cs->nterms > 1 || any2022 || db_first);
}

int dv_charset_is_utf8(const dv_charset *cs)
{
    return cs->terms[0] == DV_CST_IR192;
}

int dv_charset_vr_applies(uint16_t vr)
{
    return vr == DV_VR_SH || vr == DV_VR_LO || vr == DV_VR_ST || vr == DV_VR_LT || vr == DV_VR_UC ||
           vr == DV_VR_UT || vr == DV_VR_PN;
}

int cs_is_delimiter(uint8_t b, uint16_t vr)
{
    if (b == '\\')
        return vr != DV_VR_ST && vr != DV_VR_LT && vr != DV_VR_UT; /* single-valued: backslash is text */
    if (b == '^' || b == '=')
        return vr == DV_VR_PN;
    return 0;
}

const char *dv_charset_term_name(const dv_charset *cs, unsigned i)
{
    if (i >= cs->nterms)
        return NULL;
    dv_cs_term t = (dv_cs_term)cs->terms[i];
    if (t == DV_CST_UNKNOWN)
        return "?";
    if (t == DV_CST_DEFAULT && i == 0 && (cs->nterms > 1 || !cs->iso2022))
        return ""; /* the default repertoire is written as an empty value 1 */
    const char *n = cs->iso2022 && cs_terms[t].iso2022 ? cs_terms[t].iso2022 : cs_terms[t].iso_ir;
    return n ? n : "?";
}

const dv_charset *dv_charset_for_ds(const dv_charset *inherited, const dv_ds *ds, dv_charset *own)
{
    const dv_elem *e = ds ? dv_ds_find(ds, DV_TAG_SPECIFIC_CHARACTER_SET) : NULL;
    if (!e) {
        if (inherited)
            return inherited;
        dv_charset_default(own);
        return own;
    }
    if (e->flags & (DV_ELEM_BULK | DV_ELEM_SEQUENCE | DV_ELEM_ENCAPSULATED)) {
        /* Over the inline threshold (16 KiB by default): no real SpecificCharacterSet is that long. */
        dv_charset_default(own);
        own->flags |= DV_CHARSET_F_UNREADABLE;
        return own;
    }
    dv_charset_parse(e->value, (size_t)e->length, own);
    return own;
}

const dv_charset *dv_charset_for_item(const dv_charset *parent, const dv_item *item, dv_charset *own)
{
    return dv_charset_for_ds(parent, item ? &item->ds : NULL, own);
}

int32_t cs_utf8_next(const uint8_t *s, size_t len, size_t *i)
{
    return dv_utf8_next(s, len, i);
}
