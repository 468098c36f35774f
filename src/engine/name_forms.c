/* The byte forms of a name part in vendors' encodings (name_forms.h). */
#include "engine/name_forms.h"
#include "util/dv_utf8.h"

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

/* The scripts of utf8[0, n)'s characters outside ASCII; 0 when it is not UTF-8 (dv_utf8_next: strict). */
static unsigned scripts_of(const uint8_t *s, size_t n)
{
    unsigned m = 0;
    for (size_t i = 0; i < n;) {
        int32_t c = dv_utf8_next(s, n, &i);
        if (c < 0)
            return 0;
        uint32_t cp = (uint32_t)c;
        if (cp >= 0x80)
            m |= cp < 0x370 ? S_LATIN : cp < 0x400 ? S_GREEK : cp < 0x530 ? S_CYRILLIC : cp < 0x590 ? 0
                 : cp < 0x600 ? S_HEBREW : cp < 0x700 ? S_ARABIC : cp >= 0xE00 && cp < 0xE80 ? S_THAI
                 : cp >= 0x1E00 && cp < 0x1F00 ? S_LATIN : cp >= 0x2000 && cp < 0x2070 ? S_LATIN /* O’Brien */
                 : cp >= 0x2E80 ? S_CJK : 0;
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

/* The other case of a letter a name is written in (Latin-1, Latin Extended-A, Greek, Cyrillic), or cp itself:
 * upper when up, else lower. Only pairs whose two UTF-8 forms have the same length (two bytes), so a name keeps its
 * length; the dotted and dotless I of Turkish, the long s and sharp s stay as they are. */
static uint32_t other_case(uint32_t cp, int up)
{
    if (cp < 0x80)
        return up ? (cp >= 'a' && cp <= 'z' ? cp - 0x20 : cp) : (cp >= 'A' && cp <= 'Z' ? cp + 0x20 : cp);
    if (cp >= 0xC0 && cp <= 0xFE && cp != 0xD7 && cp != 0xF7 && cp != 0xDF) /* Latin-1: 0x20 apart */
        return up ? (cp >= 0xE0 ? cp - 0x20 : cp) : (cp < 0xE0 ? cp + 0x20 : cp);
    if (cp == 0xFF || cp == 0x178) /* ÿ, Ÿ */
        return up ? 0x178 : 0xFF;
    /* Latin Extended-A: pairs, the capital on an even code point but in 0139-0148 and 0179-017E (odd) */
    if ((cp >= 0x100 && cp <= 0x12F) || (cp >= 0x132 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177) ||
        (cp >= 0x460 && cp <= 0x481) || (cp >= 0x48A && cp <= 0x4BF) || (cp >= 0x4D0 && cp <= 0x4FF))
        return up ? cp & ~1u : cp | 1u; /* and Cyrillic's pairs laid out the same way */
    if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E) || (cp >= 0x4C1 && cp <= 0x4CE))
        return up ? ((cp & 1u) ? cp : cp - 1) : ((cp & 1u) ? cp + 1 : cp);
    if ((cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) || (cp >= 0x3B1 && cp <= 0x3CB)) /* Greek, Ϊ Ϋ; ς below */
        return up ? (cp >= 0x3B1 ? (cp == 0x3C2 ? 0x3A3 : cp - 0x20) : cp) : (cp <= 0x3AB ? cp + 0x20 : cp);
    if (cp == 0x386 || cp == 0x3AC) /* Ά ά */
        return up ? 0x386 : 0x3AC;
    if ((cp >= 0x388 && cp <= 0x38A) || (cp >= 0x3AD && cp <= 0x3AF)) /* Έ Ή Ί */
        return up ? (cp >= 0x3AD ? cp - 0x25 : cp) : (cp <= 0x38A ? cp + 0x25 : cp);
    if (cp == 0x38C || cp == 0x3CC) /* Ό ό */
        return up ? 0x38C : 0x3CC;
    if (cp == 0x38E || cp == 0x38F || cp == 0x3CD || cp == 0x3CE) /* Ύ Ώ */
        return up ? (cp >= 0x3CD ? cp - 0x3F : cp) : (cp <= 0x38F ? cp + 0x3F : cp);
    if (cp >= 0x410 && cp <= 0x44F) /* Cyrillic А-я */
        return up ? (cp >= 0x430 ? cp - 0x20 : cp) : (cp < 0x430 ? cp + 0x20 : cp);
    if (cp >= 0x400 && cp <= 0x45F) /* Ѐ-Џ, ѐ-џ */
        return up ? (cp >= 0x450 ? cp - 0x50 : cp) : (cp < 0x410 ? cp + 0x50 : cp);
    return cp;
}

/* A Greek capital without its tonos: words in capitals are written without accents (ΠΑΠΑΔΟΠΟΥΛΟΣ for
 * Παπαδόπουλος; stop 40's limit), so the upper-case form of an accented name is looked for both ways. ΐ and ΰ keep
 * their dialytika. Every pair is two bytes in UTF-8, so the name keeps its length. */
static uint32_t without_tonos(uint32_t cp)
{
    static const uint16_t plain[] = {[0x386 - 0x386] = 0x391, [0x388 - 0x386] = 0x395, [0x389 - 0x386] = 0x397,
                                     [0x38A - 0x386] = 0x399, [0x38C - 0x386] = 0x39F, [0x38E - 0x386] = 0x3A5,
                                     [0x38F - 0x386] = 0x3A9, [0x390 - 0x386] = 0x3AA};
    if (cp >= 0x386 && cp <= 0x390 && plain[cp - 0x386])
        return plain[cp - 0x386];
    return cp == 0x3B0 ? 0x3AB : cp;
}

/* One UTF-8 character of s[0, n) at *i: its code point, *i moved past it (the input was checked by scripts_of,
 * so dv_utf8_next never says -1 here). */
static uint32_t next_cp(const uint8_t *s, size_t n, size_t *i)
{
    return (uint32_t)dv_utf8_next(s, n, i);
}

static int is_letter(uint32_t cp)
{
    return other_case(cp, 0) != other_case(cp, 1) || cp == 0xDF || cp == 0x3C2;
}

/* utf8[0, n) in upper case (CASE_UPPER), lower case, or with each word's first letter upper and the rest lower
 * (CASE_TITLE), or in capitals without the Greek tonos (CASE_UPPER_PLAIN) into out, the same length: a header
 * writes IVANOV in capitals, a vendor's blob Ivanov. A Greek capital sigma lowered at a word's end is the final ς. */
enum { CASE_UPPER, CASE_LOWER, CASE_TITLE, CASE_UPPER_PLAIN, CASE_MODES };
static void recase(const uint8_t *utf8, size_t n, int mode, uint8_t *out)
{
    int word_start = 1;
    for (size_t i = 0; i < n;) {
        size_t at = i;
        uint32_t cp = next_cp(utf8, n, &i);
        int up = mode == CASE_UPPER || mode == CASE_UPPER_PLAIN || (mode == CASE_TITLE && word_start);
        uint32_t c = other_case(cp, up);
        if (mode == CASE_UPPER_PLAIN)
            c = without_tonos(c);
        if (!up && c == 0x3C3) { /* σ at a word's end is ς */
            size_t j = i;
            if (j >= n || !is_letter(next_cp(utf8, n, &j)))
                c = 0x3C2;
        }
        word_start = !is_letter(cp);
        size_t k = i - at;
        if (k == 1)
            out[at] = (uint8_t)c;
        else if (k == 2 && c < 0x800) {
            out[at] = (uint8_t)(0xC0 | c >> 6);
            out[at + 1] = (uint8_t)(0x80 | (c & 0x3F));
        } else {
            memcpy(out + at, utf8 + at, k); /* a character other_case leaves alone */
        }
    }
}

/* The forms of one case variant v[0, n) of the name part: itself in UTF-8 when it is not the part as written
 * (original), then in each encoding of its scripts. */
static int forms_of(dv_name_forms *nf, const uint8_t *v, size_t n, int original, unsigned scripts, dv_name_form_fn fn,
                    void *ud)
{
    int rc = original ? 0 : fn(ud, v, n, DV_OWN_WORD);
    for (size_t i = 0; i < NFORMS && rc == 0; i++) {
        if (!(k_forms[i].scripts & scripts))
            continue;
        if (!nf->tried[i]) {
            nf->tried[i] = 1;
            nf->cd[i] = iconv_open(k_forms[i].name, "UTF-8"); /* -1: not in this C library (Debian's libc6 has all) */
        }
        if (nf->cd[i] == (iconv_t)-1)
            continue;
        uint8_t out[DV_NAME_FORM_MAX];
        size_t len = convert(nf->cd[i], v, n, out, sizeof out);
        if (len == 0 || (len == n && memcmp(out, v, n) == 0))
            continue;
        /* ISO-2022-JP: without the return to ASCII that closes the converted part. A writer returns only where its
         * text leaves JIS X 0208, so a family name is followed by the given name's kanji in the same run
         * (`ESC $ B` 月森小百合), never by `ESC ( B` (the i18n audit: such a blob was kept). Found from the run's
         * designation on; a longer name it begins is found too (an over-match deletes a blob, never keeps one). */
        if (len > 6 && out[len - 3] == 0x1B && out[len - 2] == '(' && out[len - 1] == 'B' &&
            strcmp(k_forms[i].name, "ISO-2022-JP") == 0)
            len -= 3;
        rc = fn(ud, out, len, k_forms[i].kind);
    }
    return rc;
}

/* A Greek letter with a tonos (Ά-ΰ, ά-ώ): the name was written with its accents. */
static int has_tonos(uint32_t cp)
{
    return (cp >= 0x386 && cp <= 0x390 && cp != 0x387) || (cp >= 0x3AC && cp <= 0x3B0) || (cp >= 0x3CC && cp <= 0x3CE);
}

/* A Greek vowel (either case) with the tonos added, or 0: α ε η ι ο υ ω and their capitals. */
static uint32_t tonos_of(uint32_t cp)
{
    static const struct {
        uint16_t plain, accented;
    } pairs[] = {{0x3B1, 0x3AC}, {0x3B5, 0x3AD}, {0x3B7, 0x3AE}, {0x3B9, 0x3AF}, {0x3BF, 0x3CC}, {0x3C5, 0x3CD},
                 {0x3C9, 0x3CE}, {0x391, 0x386}, {0x395, 0x388}, {0x397, 0x389}, {0x399, 0x38A}, {0x39F, 0x38C},
                 {0x3A5, 0x38E}, {0x3A9, 0x38F}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        if (pairs[i].plain == cp)
            return pairs[i].accented;
    return 0;
}

/* The second vowel of a Greek digraph the accent falls on (αί, εί, οί, υί, ού, αύ, εύ, ηύ), lower case. */
static int digraph(uint32_t first, uint32_t second)
{
    if (second == 0x3B9) /* ι after α ε ο υ */
        return first == 0x3B1 || first == 0x3B5 || first == 0x3BF || first == 0x3C5;
    if (second == 0x3C5) /* υ after α ε η ο */
        return first == 0x3B1 || first == 0x3B5 || first == 0x3B7 || first == 0x3BF;
    return 0;
}

#define ACCENT_WORDS 4   /* words of a part given accents; more stay as written */
#define ACCENT_PLACES 3  /* a Greek word is accented on one of its last three syllables */
#define ACCENT_VARIANTS 27

/* The byte offsets in v[0, n) (a Greek word's letters, any case) where a word's accent may stand, one per
 * syllable of its last three, into at[]: 0 for a word of one syllable (it takes no tonos). A syllable is a vowel
 * or a digraph; the digraph's second vowel carries the accent. */
static int accent_places(const uint8_t *v, size_t from, size_t to, size_t at[ACCENT_PLACES])
{
    size_t place[64];
    int np = 0;
    uint32_t prev = 0;
    int prev_grouped = 0;
    for (size_t i = from; i < to;) {
        size_t here = i;
        uint32_t lc = other_case(next_cp(v, to, &i), 0);
        if (!tonos_of(lc)) {
            prev = 0;
            continue;
        }
        if (prev && !prev_grouped && digraph(prev, lc)) {
            place[np - 1] = here; /* the digraph's accent, on its second vowel */
            prev_grouped = 1;
        } else if (np < (int)(sizeof place / sizeof place[0])) {
            place[np++] = here;
            prev_grouped = 0;
        }
        prev = lc;
    }
    if (np < 2)
        return 0;
    int k = np < ACCENT_PLACES ? np : ACCENT_PLACES;
    for (int j = 0; j < k; j++)
        at[j] = place[np - k + j];
    return k;
}

/* The forms of v[0, n) (a recased Greek name part) with a tonos guessed on each word of more than one syllable:
 * every choice of one of its last three syllables, at most ACCENT_VARIANTS choices for the part. */
static int accented_forms(dv_name_forms *nf, const uint8_t *v, size_t n, unsigned scripts, dv_name_form_fn fn,
                          void *ud)
{
    size_t at[ACCENT_WORDS][ACCENT_PLACES];
    int nat[ACCENT_WORDS], nw = 0;
    for (size_t i = 0; i < n && nw < ACCENT_WORDS;) {
        size_t j = i, start = i;
        while (j < n) { /* a word: a run of letters */
            size_t k = j;
            if (!is_letter(next_cp(v, n, &k)))
                break;
            j = k;
        }
        if (j > start && (nat[nw] = accent_places(v, start, j, at[nw])) > 0)
            nw++;
        if (j == start)
            next_cp(v, n, &j);
        i = j;
    }
    if (nw == 0)
        return 0;
    int choice[ACCENT_WORDS] = {0}, rc = 0;
    for (int made = 0; made < ACCENT_VARIANTS && rc == 0; made++) {
        uint8_t out[DV_NAME_FORM_MAX];
        memcpy(out, v, n);
        for (int w = 0; w < nw; w++) {
            size_t p = at[w][choice[w]], q = p;
            uint32_t c = tonos_of(next_cp(v, n, &q)); /* two bytes either way (Greek is U+0370-03FF) */
            out[p] = (uint8_t)(0xC0 | c >> 6);
            out[p + 1] = (uint8_t)(0x80 | (c & 0x3F));
        }
        rc = forms_of(nf, out, n, 0, scripts, fn, ud);
        int w = 0; /* the next choice, as an odometer */
        while (w < nw && ++choice[w] == nat[w])
            choice[w++] = 0;
        if (w == nw)
            break;
    }
    return rc;
}

int dv_name_forms_accented_each(dv_name_forms *nf, const uint8_t *utf8, size_t n, dv_name_form_fn fn, void *ud)
{
    unsigned scripts = scripts_of(utf8, n);
    if (!(scripts & S_GREEK) || n > DV_NAME_FORM_MAX) /* scripts_of is 0 for what is not UTF-8 */
        return 0;
    for (size_t i = 0; i < n;)
        if (has_tonos(next_cp(utf8, n, &i)))
            return 0; /* written with its accents: nothing to guess */
    uint8_t v[DV_NAME_FORM_MAX];
    int rc = 0;
    for (int mode = CASE_TITLE; mode >= CASE_LOWER && rc == 0; mode--) {
        recase(utf8, n, mode, v);
        rc = accented_forms(nf, v, n, scripts, fn, ud);
    }
    return rc;
}

int dv_name_forms_each(dv_name_forms *nf, const uint8_t *utf8, size_t n, dv_name_form_fn fn, void *ud)
{
    unsigned scripts = scripts_of(utf8, n);
    if (!scripts || n > DV_NAME_FORM_MAX)
        return 0;
    int rc = forms_of(nf, utf8, n, 1, scripts, fn, ud);
    /* and in the other cases, for the letters the scanner's byte fold cannot pair (opaque_ids.c has_case: Р/р and
     * Я/я of Cyrillic's second half in UTF-8, В/в of KOI8-R, Ł/ł, Π/π); the caller drops the forms it finds
     * already (dv_own_same) */
    uint8_t v[CASE_MODES][DV_NAME_FORM_MAX];
    for (int mode = CASE_UPPER; mode < CASE_MODES && rc == 0; mode++) {
        recase(utf8, n, mode, v[mode]);
        int seen = memcmp(v[mode], utf8, n) == 0;
        for (int m = CASE_UPPER; m < mode && !seen; m++)
            seen = memcmp(v[mode], v[m], n) == 0;
        if (!seen)
            rc = forms_of(nf, v[mode], n, 0, scripts, fn, ud);
    }
    return rc;
}
