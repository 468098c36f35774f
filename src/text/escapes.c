/* Character escapes in text (escapes.h): the decoded copy, its map back to the text as written, and the text a
 * transformation reads. Moved here from document_text.c (the markup documents' character references), where it
 * was written first, and extended to element values and URL %-escapes (stop 50). */
#include "text/escapes.h"

#include <stdlib.h>
#include <string.h>

#include "util/dv_hex.h"
#include "util/dv_utf8.h"

/* The named references decoded, sorted by name (byte order) for a binary search: XML's five predefined entities,
 * nbsp, times and divide (HTML 4's Latin-1 names that are no letters), and every name HTML gives a letter of
 * U+00C0-U+017F (the letters of European names: Latin-1 Supplement and Latin Extended-A). Generated from the
 * WHATWG list of named character references as Python 3 ships it (html.entities.html5: the names ending in `;`
 * whose value is one such letter; angst and imath are HTML's other names of Å and ı), checked by hand against
 * the HTML 4 Latin-1 table this replaces. 192 names. */
static const struct named_ref {
    const char *name;
    uint16_t cp;
} k_named[] = {
    {"AElig", 0xC6}, {"Aacute", 0xC1}, {"Abreve", 0x102}, {"Acirc", 0xC2}, {"Agrave", 0xC0}, {"Amacr", 0x100},
    {"Aogon", 0x104}, {"Aring", 0xC5}, {"Atilde", 0xC3}, {"Auml", 0xC4}, {"Cacute", 0x106}, {"Ccaron", 0x10C},
    {"Ccedil", 0xC7}, {"Ccirc", 0x108}, {"Cdot", 0x10A}, {"Dcaron", 0x10E}, {"Dstrok", 0x110}, {"ENG", 0x14A},
    {"ETH", 0xD0}, {"Eacute", 0xC9}, {"Ecaron", 0x11A}, {"Ecirc", 0xCA}, {"Edot", 0x116}, {"Egrave", 0xC8},
    {"Emacr", 0x112}, {"Eogon", 0x118}, {"Euml", 0xCB}, {"Gbreve", 0x11E}, {"Gcedil", 0x122}, {"Gcirc", 0x11C},
    {"Gdot", 0x120}, {"Hcirc", 0x124}, {"Hstrok", 0x126}, {"IJlig", 0x132}, {"Iacute", 0xCD}, {"Icirc", 0xCE},
    {"Idot", 0x130}, {"Igrave", 0xCC}, {"Imacr", 0x12A}, {"Iogon", 0x12E}, {"Itilde", 0x128}, {"Iuml", 0xCF},
    {"Jcirc", 0x134}, {"Kcedil", 0x136}, {"Lacute", 0x139}, {"Lcaron", 0x13D}, {"Lcedil", 0x13B}, {"Lmidot", 0x13F},
    {"Lstrok", 0x141}, {"Nacute", 0x143}, {"Ncaron", 0x147}, {"Ncedil", 0x145}, {"Ntilde", 0xD1}, {"OElig", 0x152},
    {"Oacute", 0xD3}, {"Ocirc", 0xD4}, {"Odblac", 0x150}, {"Ograve", 0xD2}, {"Omacr", 0x14C}, {"Oslash", 0xD8},
    {"Otilde", 0xD5}, {"Ouml", 0xD6}, {"Racute", 0x154}, {"Rcaron", 0x158}, {"Rcedil", 0x156}, {"Sacute", 0x15A},
    {"Scaron", 0x160}, {"Scedil", 0x15E}, {"Scirc", 0x15C}, {"THORN", 0xDE}, {"Tcaron", 0x164}, {"Tcedil", 0x162},
    {"Tstrok", 0x166}, {"Uacute", 0xDA}, {"Ubreve", 0x16C}, {"Ucirc", 0xDB}, {"Udblac", 0x170}, {"Ugrave", 0xD9},
    {"Umacr", 0x16A}, {"Uogon", 0x172}, {"Uring", 0x16E}, {"Utilde", 0x168}, {"Uuml", 0xDC}, {"Wcirc", 0x174},
    {"Yacute", 0xDD}, {"Ycirc", 0x176}, {"Yuml", 0x178}, {"Zacute", 0x179}, {"Zcaron", 0x17D}, {"Zdot", 0x17B},
    {"aacute", 0xE1}, {"abreve", 0x103}, {"acirc", 0xE2}, {"aelig", 0xE6}, {"agrave", 0xE0}, {"amacr", 0x101},
    {"amp", 0x26}, {"angst", 0xC5}, {"aogon", 0x105}, {"apos", 0x27}, {"aring", 0xE5}, {"atilde", 0xE3},
    {"auml", 0xE4}, {"cacute", 0x107}, {"ccaron", 0x10D}, {"ccedil", 0xE7}, {"ccirc", 0x109}, {"cdot", 0x10B},
    {"dcaron", 0x10F}, {"divide", 0xF7}, {"dstrok", 0x111}, {"eacute", 0xE9}, {"ecaron", 0x11B}, {"ecirc", 0xEA},
    {"edot", 0x117}, {"egrave", 0xE8}, {"emacr", 0x113}, {"eng", 0x14B}, {"eogon", 0x119}, {"eth", 0xF0},
    {"euml", 0xEB}, {"gbreve", 0x11F}, {"gcirc", 0x11D}, {"gdot", 0x121}, {"gt", 0x3E}, {"hcirc", 0x125},
    {"hstrok", 0x127}, {"iacute", 0xED}, {"icirc", 0xEE}, {"igrave", 0xEC}, {"ijlig", 0x133}, {"imacr", 0x12B},
    {"imath", 0x131}, {"inodot", 0x131}, {"iogon", 0x12F}, {"itilde", 0x129}, {"iuml", 0xEF}, {"jcirc", 0x135},
    {"kcedil", 0x137}, {"kgreen", 0x138}, {"lacute", 0x13A}, {"lcaron", 0x13E}, {"lcedil", 0x13C},
    {"lmidot", 0x140}, {"lstrok", 0x142}, {"lt", 0x3C}, {"nacute", 0x144}, {"napos", 0x149}, {"nbsp", 0xA0},
    {"ncaron", 0x148}, {"ncedil", 0x146}, {"ntilde", 0xF1}, {"oacute", 0xF3}, {"ocirc", 0xF4}, {"odblac", 0x151},
    {"oelig", 0x153}, {"ograve", 0xF2}, {"omacr", 0x14D}, {"oslash", 0xF8}, {"otilde", 0xF5}, {"ouml", 0xF6},
    {"quot", 0x22}, {"racute", 0x155}, {"rcaron", 0x159}, {"rcedil", 0x157}, {"sacute", 0x15B}, {"scaron", 0x161},
    {"scedil", 0x15F}, {"scirc", 0x15D}, {"szlig", 0xDF}, {"tcaron", 0x165}, {"tcedil", 0x163}, {"thorn", 0xFE},
    {"times", 0xD7}, {"tstrok", 0x167}, {"uacute", 0xFA}, {"ubreve", 0x16D}, {"ucirc", 0xFB}, {"udblac", 0x171},
    {"ugrave", 0xF9}, {"umacr", 0x16B}, {"uogon", 0x173}, {"uring", 0x16F}, {"utilde", 0x169}, {"uuml", 0xFC},
    {"wcirc", 0x175}, {"yacute", 0xFD}, {"ycirc", 0x177}, {"yuml", 0xFF}, {"zacute", 0x17A}, {"zcaron", 0x17E},
    {"zdot", 0x17C},
};

#define REF_NAME_MAX 8u /* longer than any name above: a long run of letters is no reference */

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static uint32_t named_ref(const char *s, size_t k)
{
    size_t lo = 0, hi = sizeof k_named / sizeof k_named[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *m = k_named[mid].name;
        size_t ml = strlen(m);
        int c = memcmp(s, m, k < ml ? k : ml);
        if (c == 0)
            c = k < ml ? -1 : k > ml;
        if (c == 0)
            return k_named[mid].cp;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return 0;
}

static int digit_of(char c, int hex)
{
    if (hex)
        return dv_hex_value((uint8_t)c); /* util/dv_hex.h: the one reader of a hex digit */
    return c >= '0' && c <= '9' ? c - '0' : -1;
}

/* A code point a numeric reference may stand for: no NUL, no surrogate, no control character but TAB, LF and CR
 * (XML 1.0 Char), at most U+10FFFF. */
static int ref_cp_ok(uint32_t v)
{
    if (v < 0x20)
        return v == '\t' || v == '\n' || v == '\r';
    return !(v >= 0x7F && v < 0xA0) && v <= 0x10FFFFu && !(v >= 0xD800u && v <= 0xDFFFu);
}

/* The reference at t[i] ('&'): its length (';' included, a numeric one's optional) and its code point in *cp; 0
 * when none stands there.
 * Digits are read however many (leading zeros), the value saturating past U+10FFFF: the run read holds no other
 * '&', so the scan of a text stays linear. */
static size_t ref_at(const char *t, size_t n, size_t i, uint32_t *cp)
{
    size_t j = i + 1;
    uint32_t v = 0;
    if (j < n && t[j] == '#') {
        int hex = j + 1 < n && lower(t[j + 1]) == 'x';
        j += 1 + (size_t)hex;
        size_t s = j;
        for (int d; j < n && (d = digit_of(t[j], hex)) >= 0; j++)
            v = v > 0x10FFFFu ? v : v * (hex ? 16u : 10u) + (uint32_t)d;
        if (j == s || !ref_cp_ok(v))
            return 0;
        /* without its ';' too, as HTML reads a numeric reference the next character ends (`Smi&#116hson`; the
         * second review: browsers show Smithson, and it was kept) */
        if (j == n || t[j] != ';') {
            *cp = v;
            return j - i;
        }
    } else {
        size_t s = j;
        while (j < n && j - s <= REF_NAME_MAX && (digit_of(t[j], 0) >= 0 || (lower(t[j]) >= 'a' && lower(t[j]) <= 'z')))
            j++;
        if (j == s || j >= n || t[j] != ';' || !(v = named_ref(t + s, j - s)))
            return 0;
    }
    *cp = v;
    return j + 1 - i;
}

/* The byte of the %-escape at t[i] ('%'), or -1. */
static int pct_byte(const char *t, size_t n, size_t i)
{
    if (i + 2 >= n || t[i] != '%')
        return -1;
    int h = digit_of(t[i + 1], 1), l = digit_of(t[i + 2], 1);
    return h < 0 || l < 0 ? -1 : h << 4 | l;
}

/* The %-escape run at t[i]: its length (3 bytes per escape) and its code point in *cp; 0 when it stands for
 * nothing decoded. A byte followed by %-escaped continuation bytes (80-BF) must be valid UTF-8 as a whole (an
 * overlong `%C0%AF`, a truncated `%E2%82` stays as written); a byte that no continuation byte follows can be no
 * UTF-8 but a character of the text's own set, as byte_fn reads it (`Jos%E9` in a Latin-1 value). */
static size_t pct_at(const char *t, size_t n, size_t i, dv_esc_byte_fn byte_fn, void *user, uint32_t *cp)
{
    int b = pct_byte(t, n, i);
    if (b < 0)
        return 0;
    if (b < 0x80) {
        *cp = (uint32_t)b;
        return b >= 0x20 && b != 0x7F ? 3 : 0;
    }
    uint8_t u[4] = {(uint8_t)b};
    size_t k = 1, want = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
    for (int c; k < want && (c = pct_byte(t, n, i + 3 * k)) >= 0x80 && c < 0xC0; k++)
        u[k] = (uint8_t)c;
    if (k > 1) { /* a lead byte and continuation bytes: meant as UTF-8 */
        size_t at = 0;
        int32_t c = k == want ? dv_utf8_next(u, k, &at) : -1;
        if (c < 0 || at != k)
            return 0;
        *cp = (uint32_t)c;
        return 3 * k;
    }
    if (b < 0xC0 && i >= 3 && pct_byte(t, n, i - 3) >= 0x80)
        return 0; /* a continuation byte of a sequence left as written (`%C0%AF`): left with it */
    int32_t c = byte_fn ? byte_fn(user, (uint8_t)b) : -1;
    if (c < 0xA0 || c > 0xFFFF || (c >= 0xD800 && c <= 0xDFFF)) /* a C1 control, no character of the set, or */
        return 0; /* more UTF-8 than its 3 bytes: the copy must stay no longer than the text (esc_reserve) */
    *cp = (uint32_t)c;
    return 3;
}

/* A character RFC 3986 reserves (or `%` itself, or no URL character): a %-escape of it is URL structure. */
static int url_reserved(uint32_t cp)
{
    return cp < 0x80 && !((cp >= '0' && cp <= '9') || (lower((int)cp) >= 'a' && lower((int)cp) <= 'z') ||
                          cp == '-' || cp == '.' || cp == '_' || cp == '~');
}

void dv_escapes_free(dv_escapes *r)
{
    free(r->dec);
    free(r->v);
    memset(r, 0, sizeof *r);
}

static int esc_reserve(dv_escapes *r, size_t n, dv_error *err)
{
    if (n > r->deccap) { /* the copy is never longer than the text: an escape is longer than its UTF-8 */
        char *d = realloc(r->dec, n);
        if (!d)
            return dv_fail(err, DV_ERR_NOMEM, "out of memory decoding escapes");
        r->dec = d;
        r->deccap = n;
    }
    return 0;
}

static int esc_push(dv_escapes *r, dv_esc x, dv_error *err)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        dv_esc *v = realloc(r->v, cap * sizeof *v);
        if (!v)
            return dv_fail(err, DV_ERR_NOMEM, "out of memory decoding escapes");
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n++] = x;
    return 0;
}

/* Where a URL query stands: after a `?` that follows a non-space, `=` seen; white space or `#` ends it. */
typedef struct query_state {
    int in, eq;
} query_state;

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void query_step(query_state *q, const char *t, size_t i)
{
    char c = t[i];
    if (c == '?' && i > 0 && !is_space(t[i - 1])) {
        q->in = 1;
        q->eq = 0;
    } else if (is_space(c) || c == '#') {
        q->in = q->eq = 0;
    } else if (c == '=' && q->in) {
        q->eq = 1;
    }
}

/* The structure code point cp is where an escape stands (dv_esc.keep): ref, a character reference (else a
 * %-escape or a query's `+`). */
static uint8_t keep_of(uint32_t cp, int ref, unsigned flags)
{
    if (cp >= 0x80)
        return 0;
    if (!(flags & DV_ESC_MARKUP) && (cp == '\\' || cp == '^' || cp == '='))
        return DV_ESC_KEEP_ALWAYS;
    if (ref)
        return cp && strchr("<>&\"'", (int)cp) ? DV_ESC_KEEP_WRITTEN : 0;
    return url_reserved(cp) ? DV_ESC_KEEP_WRITTEN : 0;
}

/* The escape at t[i], or olen 0. */
static dv_esc esc_at(const char *t, size_t n, size_t i, unsigned flags, const query_state *q, dv_esc_byte_fn byte_fn,
                     void *user, uint32_t *cp)
{
    dv_esc x = {(uint32_t)i, 0, 0, 0, 0};
    if (t[i] == '&') {
        x.olen = (uint32_t)ref_at(t, n, i, cp);
    } else if (t[i] == '%') {
        x.olen = (uint32_t)pct_at(t, n, i, byte_fn, user, cp);
    } else if (t[i] == '+' && q->in && q->eq) {
        x.olen = 1;
        *cp = ' ';
    }
    if (x.olen)
        x.keep = t[i] == '+' ? DV_ESC_KEEP_WRITTEN : keep_of(*cp, t[i] == '&', flags);
    return x;
}

int dv_esc_decode(const char *t, size_t n, unsigned flags, dv_esc_byte_fn byte_fn, void *user, dv_escapes *r,
                  dv_error *err)
{
    r->dn = r->n = 0;
    if (!dv_esc_possible(t, n))
        return 0;
    if (esc_reserve(r, n, err))
        return -1;
    query_state q = {0, 0};
    for (size_t i = 0; i < n;) {
        uint32_t cp = 0;
        dv_esc x = esc_at(t, n, i, flags, &q, byte_fn, user, &cp);
        if (x.olen == 0) {
            query_step(&q, t, i);
            r->dec[r->dn++] = t[i++];
            continue;
        }
        x.dpos = (uint32_t)r->dn;
        x.dlen = (uint8_t)dv_utf8_put(cp, r->dec + r->dn); /* it fits: an escape is longer than its UTF-8 */
        if (esc_push(r, x, err))
            return -1;
        r->dn += x.dlen;
        i += x.olen;
    }
    if (r->n == 0)
        r->dn = 0;
    return 0;
}

/* The last escape whose position (decoded: dpos, else opos) is at most p, or r->n when none is. */
static size_t esc_before(const dv_escapes *r, size_t p, int decoded)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((decoded ? r->v[mid].dpos : r->v[mid].opos) <= p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? lo - 1 : r->n;
}

size_t dv_esc_to_original(const dv_escapes *r, size_t p, int end)
{
    size_t k = esc_before(r, p, 1);
    if (k == r->n)
        return p; /* before the first escape, the copy is the text */
    const dv_esc *x = &r->v[k];
    if (p == x->dpos)
        return x->opos;
    if (p < x->dpos + x->dlen)
        return end ? x->opos + x->olen : x->opos;
    return x->opos + x->olen + (p - x->dpos - x->dlen);
}

/* Position p of the text moved out of an escape it cuts: back to its start, or (end) on to its end. */
static uint32_t widen_at(const dv_escapes *r, uint32_t p, int end)
{
    size_t k = esc_before(r, p, 0);
    if (k == r->n || p == r->v[k].opos || p >= r->v[k].opos + r->v[k].olen)
        return p;
    return end ? r->v[k].opos + r->v[k].olen : r->v[k].opos;
}

void dv_esc_widen(const dv_escapes *r, dv_findings *f)
{
    size_t w = 0;
    for (size_t i = 0; i < f->n; i++) {
        dv_finding x = f->v[i];
        x.start = widen_at(r, x.start, 0);
        x.end = widen_at(r, x.end, 1);
        if (w > 0 && x.start < f->v[w - 1].end) {
            if (x.end > f->v[w - 1].end)
                f->v[w - 1].end = x.end;
            continue;
        }
        f->v[w++] = x;
    }
    f->n = w;
}

size_t dv_esc_substitute(const dv_escapes *r, const char *t, size_t n, dv_infotype_set as_written,
                         dv_infotype_set writes_back, dv_findings *f, char *out)
{
    size_t o = 0, at = 0, k = 0;
    for (size_t i = 0; i < f->n; i++) {
        dv_finding *x = &f->v[i];
        if (x->start < at || x->end > n || x->start >= x->end) { /* never, once normalised: made empty */
            x->start = x->end = (uint32_t)o;
            continue;
        }
        memcpy(out + o, t + at, x->start - at);
        o += x->start - at;
        size_t p = x->start, start = o;
        if (x->type < DV_IT_COUNT && !(as_written & DV_IT_BIT(x->type))) {
            int back = (writes_back & DV_IT_BIT(x->type)) != 0;
            while (k < r->n && r->v[k].opos < x->start)
                k++;
            for (; k < r->n && r->v[k].opos + r->v[k].olen <= x->end; k++) {
                const dv_esc *e = &r->v[k];
                memcpy(out + o, t + p, e->opos - p);
                o += e->opos - p;
                /* structure stays as written: a raw `\` would be a new value, and in a shifted date a raw
                 * markup character markup, a raw `/` a new URL path segment */
                int keep = e->keep == DV_ESC_KEEP_ALWAYS || (e->keep && back);
                const char *src = keep ? t + e->opos : r->dec + e->dpos;
                size_t len = keep ? e->olen : e->dlen;
                memcpy(out + o, src, len);
                o += len;
                p = e->opos + e->olen;
            }
        }
        memcpy(out + o, t + p, x->end - p);
        o += x->end - p;
        at = x->end;
        x->start = (uint32_t)start;
        x->end = (uint32_t)o;
    }
    memcpy(out + o, t + at, n - at);
    return o + n - at;
}
