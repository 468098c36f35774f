/* The byte forms of a name part in vendors' encodings (name_forms.h). */
#include "engine/name_forms.h"

#include <iconv.h>
#include <stdlib.h>
#include <string.h>

/* Scripts, so a name opens only the converters that can hold it. */
enum { S_LATIN = 1, S_GREEK = 2, S_CYRILLIC = 4, S_HEBREW = 8, S_ARABIC = 16, S_THAI = 32, S_CJK = 64 };

/* The encodings looked for, beside the instance's own and UTF-8: the single-byte sets of the DICOM terms and their
 * Windows and KOI8 relatives, then the national multi-byte ones. iconv names (glibc's gconv, part of libc6). */
static const struct {
    const char *name;
    unsigned scripts;
    dv_own_kind kind;
} k_forms[] = {
    {"ISO-8859-1", S_LATIN, DV_OWN_WORD},    {"ISO-8859-2", S_LATIN, DV_OWN_WORD},
    {"ISO-8859-3", S_LATIN, DV_OWN_WORD},    {"ISO-8859-4", S_LATIN, DV_OWN_WORD},
    {"ISO-8859-9", S_LATIN, DV_OWN_WORD},    {"ISO-8859-15", S_LATIN, DV_OWN_WORD},
    {"CP1250", S_LATIN, DV_OWN_WORD},        {"CP1252", S_LATIN, DV_OWN_WORD},
    {"ISO-8859-7", S_GREEK, DV_OWN_WORD},    {"CP1253", S_GREEK, DV_OWN_WORD},
    {"ISO-8859-5", S_CYRILLIC, DV_OWN_WORD}, {"CP1251", S_CYRILLIC, DV_OWN_WORD},
    {"KOI8-R", S_CYRILLIC, DV_OWN_WORD},     {"ISO-8859-8", S_HEBREW, DV_OWN_WORD},
    {"CP1255", S_HEBREW, DV_OWN_WORD},       {"ISO-8859-6", S_ARABIC, DV_OWN_WORD},
    {"CP1256", S_ARABIC, DV_OWN_WORD},       {"TIS-620", S_THAI, DV_OWN_WORD},
    {"CP932", S_CJK, DV_OWN_EXACT},          {"EUC-JP", S_CJK, DV_OWN_EXACT},
    {"ISO-2022-JP", S_CJK, DV_OWN_EXACT},    {"CP949", S_CJK, DV_OWN_EXACT},
    {"GB18030", S_CJK, DV_OWN_EXACT},        {"BIG5", S_CJK, DV_OWN_EXACT},
};
#define NFORMS (sizeof k_forms / sizeof k_forms[0])

struct dv_name_forms {
    iconv_t cd[NFORMS];
    unsigned char tried[NFORMS]; /* opened, or found missing: not tried again */
};

dv_name_forms *dv_name_forms_new(void)
{
    dv_name_forms *nf = calloc(1, sizeof *nf);
    if (nf)
        for (size_t i = 0; i < NFORMS; i++)
            nf->cd[i] = (iconv_t)-1;
    return nf;
}

void dv_name_forms_free(dv_name_forms *nf)
{
    if (!nf)
        return;
    for (size_t i = 0; i < NFORMS; i++)
        if (nf->cd[i] != (iconv_t)-1)
            iconv_close(nf->cd[i]);
    free(nf);
}

/* The scripts of utf8[0, n)'s characters outside ASCII; 0 when it is not UTF-8. */
static unsigned scripts_of(const uint8_t *s, size_t n)
{
    unsigned m = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp = s[i];
        size_t k = cp < 0x80 ? 1 : (cp & 0xE0) == 0xC0 ? 2 : (cp & 0xF0) == 0xE0 ? 3 : (cp & 0xF8) == 0xF0 ? 4 : 0;
        if (k == 0 || k > n - i)
            return 0;
        if (k > 1) {
            cp &= 0x3Fu >> (k - 1);
            for (size_t j = 1; j < k; j++) {
                if ((s[i + j] & 0xC0) != 0x80)
                    return 0;
                cp = cp << 6 | (s[i + j] & 0x3Fu);
            }
            m |= cp < 0x370 ? S_LATIN : cp < 0x400 ? S_GREEK : cp < 0x530 ? S_CYRILLIC : cp < 0x590 ? 0
                 : cp < 0x600 ? S_HEBREW : cp < 0x700 ? S_ARABIC : cp >= 0xE00 && cp < 0xE80 ? S_THAI
                 : cp >= 0x1E00 && cp < 0x1F00 ? S_LATIN : cp >= 0x2000 && cp < 0x2070 ? S_LATIN /* O’Brien */
                 : cp >= 0x2E80 ? S_CJK : 0;
        }
        i += k;
    }
    return m;
}

/* utf8[0, n) in the encoding cd converts to, into out (cap bytes): its length, 0 when a character has no form
 * there or it does not fit. */
static size_t convert(iconv_t cd, const uint8_t *utf8, size_t n, uint8_t *out, size_t cap)
{
    char *in = (char *)(uintptr_t)utf8, *o = (char *)out;
    size_t il = n, ol = cap;
    iconv(cd, NULL, NULL, NULL, NULL); /* the initial state: a failed conversion may have left another */
    if (iconv(cd, &in, &il, &o, &ol) == (size_t)-1 || il != 0)
        return 0;
    if (iconv(cd, NULL, NULL, &o, &ol) == (size_t)-1) /* a stateful encoding's return to ASCII (ISO-2022-JP) */
        return 0;
    return cap - ol;
}

int dv_name_forms_each(dv_name_forms *nf, const uint8_t *utf8, size_t n, dv_name_form_fn fn, void *ud)
{
    unsigned scripts = scripts_of(utf8, n);
    for (size_t i = 0; i < NFORMS && scripts; i++) {
        if (!(k_forms[i].scripts & scripts))
            continue;
        if (!nf->tried[i]) {
            nf->tried[i] = 1;
            nf->cd[i] = iconv_open(k_forms[i].name, "UTF-8"); /* -1: not in this C library (Debian's libc6 has all) */
        }
        if (nf->cd[i] == (iconv_t)-1)
            continue;
        uint8_t out[DV_NAME_FORM_MAX];
        size_t len = convert(nf->cd[i], utf8, n, out, sizeof out);
        if (len == 0 || (len == n && memcmp(out, utf8, n) == 0))
            continue;
        int rc = fn(ud, out, len, k_forms[i].kind);
        if (rc)
            return rc;
    }
    return 0;
}
