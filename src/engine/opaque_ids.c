/* Finding the instance's own primary UIDs, dates, names or IDs inside a value the plan keeps without reading it:
 * a vendor's private blob (OB, UN, a private text) that copies the study's, series' or instance's UID, the study
 * date, or the patient's name or ID, and a kept address (UR). apply.c deletes (or empties) such a value where the
 * plan regenerates that UID or changes that date, name or ID (docs/decisions.md "A kept private value holding the
 * instance's own primary ID is deleted").
 *
 * One pass over the bytes for all the values at once: a value's first three bytes select it (a bit in three
 * 256-entry tables), so a byte that starts none costs one table read. The compares that follow (up to the first
 * byte that differs) are counted against a budget of 8 a byte: a value crafted to match the values' first bytes
 * everywhere (a blob of the digit a date is made of) is answered "found" (deleted) once the budget is spent,
 * never scanned for minutes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dicom/dv_vr.h"
#include "engine/opaque_ids.h"
#include "engine/packed_values.h"
#include "text/id_number.h"
#include "util/dv_hex.h"

/* The smallest value given a hex form: 4 bytes, 8 hex digits (32 bits), as a name part is looked for raw. */
#define HEX_MIN 4

/* The base64 characters of v[0, n) encoded after k bytes (k = 0, 1, 2: where the encoding starts modulo 3) that
 * v's bits alone decide, into out (cap bytes at most: a longer value's head, found wherever the whole is).
 * Character j of the encoding stands for bits [6j, 6j + 6) of the k bytes and v; the first wholly in v's starts
 * 0, 4 or 2 bits into v (k = 0, 1, 2), and the last ends where the bits left are fewer than 6. Their count: 4n/3 or
 * a character or two fewer. */
static size_t base64_inner(const uint8_t *v, size_t n, size_t k, uint8_t *out, size_t cap)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned skip = (unsigned)(2 * ((3 - k) % 3)), have = 0;
    uint32_t acc = 0; /* the bits read and not yet written: have of them, at most 13 */
    size_t o = 0;
    for (size_t i = 0; i < n && o < cap; i++) {
        acc = acc << 8 | v[i];
        have += i == 0 ? 8 - skip : 8;
        while (have >= 6 && o < cap) {
            have -= 6;
            out[o++] = (uint8_t)b64[(acc >> have) & 63];
        }
        acc &= (1u << have) - 1;
    }
    return o;
}

int dv_own_encoded_each(const uint8_t *v, size_t n, dv_own_form_fn fn, void *ud)
{
    uint8_t out[DV_UID_MAX];
    int rc = 0;
    for (size_t k = 0; k < 3 && n >= DV_OWN_BASE64_MIN && rc == 0; k++)
        rc = fn(ud, out, base64_inner(v, n, k, out, sizeof out), DV_OWN_BASE64);
    if (rc != 0 || n < HEX_MIN)
        return rc;
    static const char digits[] = "0123456789abcdef";
    size_t len = 0;
    for (size_t i = 0; i < n && len + 2 <= sizeof out; i++) {
        out[len++] = (uint8_t)digits[v[i] >> 4];
        out[len++] = (uint8_t)digits[v[i] & 15];
    }
    return fn(ud, out, len, DV_OWN_HEX);
}

/* A bulk value is read in pieces this big, each after the last SCAN_CARRY bytes of the one before: a value of up
 * to DV_UID_MAX bytes with the two bytes before it (a full stop and what precedes it) and the two after it, so one
 * across a piece boundary is found whole with what tells where it starts and ends. A later piece is scanned from
 * its byte 2: what starts at bytes 0 and 1 was told in the piece before. */
#define SCAN_PIECE (64u * 1024u)
#define SCAN_CARRY (DV_UID_MAX + 4u)

/* Compares (bytes of looked-for values compared, up to the first that differs, at a place their first three bytes
 * matched) allowed per byte of the value, and at least: numeric text beside UIDs that share its first bytes
 * (`1.25\1.25` beside `1.2.826...`) needs about 3 per byte. */
#define SCAN_BUDGET_PER_BYTE 8u
#define SCAN_BUDGET_MIN 4096u

static int ascii_upper(uint8_t b)
{
    return b >= 'a' && b <= 'z' ? b - 'a' + 'A' : b;
}

/* Does b have a case partner b ^ 0x20 that a name may be written with? ASCII letters; Latin-1's letters
 * (0xC0-0xDE and 0xE0-0xFE but for the multiplication and division signs: M\xDCLLER against M\xFCller); and the
 * second byte of their UTF-8 forms (C3 80-9E and C3 A0-BE, C3 97 and B7 excluded: M\xC3\x9CLLER against
 * M\xC3\xBCller). DICOM writes names in capitals, a vendor's blob or XML often not. The same byte ranges happen to
 * pair most of Cyrillic's first half in UTF-8 (D0 90-9E with D0 B0-BE, but for 0x97 and 0x9F), not its second
 * (whose small letters have lead byte D1). A byte compared so out of its set's context (a lead byte of a CJK
 * character against another) can only make a rare extra match: a value deleted or emptied, never one kept. */
static int has_case(uint8_t b)
{
    uint8_t u = b & (uint8_t)~0x20u;
    if (u >= 'A' && u <= 'Z')
        return 1;
    return (u >= 0xC0 && u <= 0xDE && u != 0xD7) || (u >= 0x80 && u <= 0x9E && u != 0x97);
}

/* b with the case of a name's letter dropped (has_case). */
static uint8_t case_fold(uint8_t b)
{
    return has_case(b) ? (uint8_t)(b & ~0x20u) : b;
}

/* b in the standard base64 alphabet: the URL-safe one's - and _ are its + and /. */
static uint8_t b64_fold(uint8_t b)
{
    return b == '-' ? '+' : b == '_' ? '/' : b;
}

/* How a kind's bytes compare: as they are, without case (case_fold), or across base64's alphabets (b64_fold). */
enum { FOLD_NONE, FOLD_CASE, FOLD_B64 };

static int fold_of(dv_own_kind kind)
{
    return kind == DV_OWN_WORD || kind == DV_OWN_HEX ? FOLD_CASE : kind == DV_OWN_BASE64 ? FOLD_B64 : FOLD_NONE;
}

int dv_own_same(const uint8_t *a, const uint8_t *b, size_t n, dv_own_kind kind)
{
    int fold = fold_of(kind);
    if (fold == FOLD_NONE)
        return memcmp(a, b, n) == 0;
    for (size_t i = 0; i < n; i++)
        if (fold == FOLD_CASE ? case_fold(a[i]) != case_fold(b[i]) : b64_fold(a[i]) != b64_fold(b[i]))
            return 0;
    return 1;
}

static int is_digit(uint8_t b)
{
    return b >= '0' && b <= '9';
}

static int is_alnum(uint8_t b)
{
    return is_digit(b) || (ascii_upper(b) >= 'A' && ascii_upper(b) <= 'Z');
}

/* One looked-for value and how it must stand (dv_own_kind). */
typedef struct needle {
    const uint8_t *s;
    size_t len;
    int fold;   /* FOLD_CASE: letters compared without case (case_fold); FOLD_B64: across base64's alphabets */
    int number; /* digits continue it, and a full stop with a digit beyond it */
    int word;   /* letters and digits continue it */
    int date;   /* a time (2, 4 or 6 digits) may follow it: YYYYMMDD inside a DT */
    int prefix; /* whatever follows it: the head of a longer UID, a name in a multi-byte encoding */
    int glued;  /* a word that is an ID distinctive enough to be found glued to letters (id_number.h dv_id_glues):
                   only a digit beside a digit of its edge continues it (dv_id_glue_edge) */
} needle;

struct dv_own_scanner {
    needle nd[DV_OWN_SCAN_MAX];
    int n;
    /* Bit k of first[b] (second, third): value k's first (second, third) byte is b, either case when folded; set
     * for every b where value k is shorter than that. */
    uint64_t first[256], second[256], third[256];
    uint64_t budget; /* compares left in the value being looked at */
    /* A scanner of encoded forms only (DV_OWN_BASE64, DV_OWN_HEX): what software serialized as base64 or hex is
     * text, so a value whose head is not (mostly_text: a vendor's binary header, samples) is not looked at, nor
     * decoded from %-escapes (stop 50: looking at every kept private blob cost the shared corpus +11 %
     * instructions under DEIDENTIFY_TAG_CONTENTS, 2.9 MB of binary OB in 56 values). */
    int text_only;
    /* The value being looked at is a number written as text (DS, IS): a date followed by a full stop and zeros only
     * is the date (decimal_date_ends). */
    int decimal;
    /* pair[k], k two bytes read as a uint16_t: 1 where some value's first two bytes can be those (first & second),
     * made on the first look at a long piece (pair_table); pair_none: it could not be made. */
    uint8_t *pair;
    int pair_none;
};
typedef dv_own_scanner scanner;

static needle needle_of(const char *v, size_t len, unsigned char kind)
{
    /* found whatever stands around it: a multi-byte encoding's name, or an encoded value inside the longer text */
    int exact = kind == DV_OWN_EXACT || kind == DV_OWN_BASE64 || kind == DV_OWN_HEX;
    needle nd = {(const uint8_t *)v, len, fold_of((dv_own_kind)kind), kind != DV_OWN_WORD && !exact,
                 kind == DV_OWN_WORD, kind == DV_OWN_DATE, kind == DV_OWN_PREFIX || exact, 0};
    if (nd.word) {
        int digits = 1;
        for (size_t i = 0; i < len && digits; i++)
            digits = is_digit(nd.s[i]);
        nd.number = digits; /* an all-digit ID: 4471 is not found in 1.4471 */
        nd.glued = dv_id_glues(v, len); /* GPIIBBQ47 holds the ID IBBQ47 (red team 51, F16) */
    }
    return nd;
}

static void mark(uint64_t *table, const needle *nd, size_t at, uint64_t bit)
{
    if (at >= nd->len) {
        for (int b = 0; b < 256; b++)
            table[b] |= bit;
        return;
    }
    uint8_t c = nd->s[at];
    table[c] |= bit;
    if (nd->fold == FOLD_CASE && has_case(c))
        table[c ^ 0x20u] |= bit;
    else if (nd->fold == FOLD_B64 && (c == '+' || c == '/'))
        table[c == '+' ? '-' : '_'] |= bit;
}

dv_own_scanner *dv_own_scanner_new(const char (*vals)[DV_UID_MAX + 1], const size_t *lens,
                                   const unsigned char *kinds, int n)
{
    scanner *sc = calloc(1, sizeof *sc);
    if (!sc)
        return NULL;
    sc->text_only = 1;
    for (int k = 0; k < n; k++)
        if (lens[k] && lens[k] <= DV_UID_MAX && kinds[k] != DV_OWN_BASE64 && kinds[k] != DV_OWN_HEX)
            sc->text_only = 0;
    for (int k = 0; k < n && sc->n < DV_OWN_SCAN_MAX; k++) {
        if (lens[k] == 0 || lens[k] > DV_UID_MAX)
            continue;
        needle *nd = &sc->nd[sc->n];
        *nd = needle_of(vals[k], lens[k], kinds[k]);
        uint64_t bit = (uint64_t)1 << sc->n++;
        mark(sc->first, nd, 0, bit);
        mark(sc->second, nd, 1, bit);
        mark(sc->third, nd, 2, bit);
    }
    return sc;
}

void dv_own_scanner_free(dv_own_scanner *sc)
{
    if (sc)
        free(sc->pair);
    free(sc);
}

/* The pair table's use: pieces this long at least (a bulk value's: inline values are short), where making its
 * 64 KiB once pays for itself within the piece. */
#define PAIR_MIN 4096u

static uint16_t two_bytes(const uint8_t *p)
{
    uint16_t k;
    memcpy(&k, p, 2);
    return k;
}

static const uint8_t *pair_table(scanner *sc)
{
    if (sc->pair || sc->pair_none)
        return sc->pair;
    uint8_t *t = calloc(65536, 1);
    if (!t) {
        sc->pair_none = 1; /* looked at byte by byte, as without it */
        return NULL;
    }
    for (int a = 0; a < 256; a++) {
        if (!sc->first[a])
            continue;
        for (int b = 0; b < 256; b++)
            if (sc->first[a] & sc->second[b]) {
                const uint8_t ab[2] = {(uint8_t)a, (uint8_t)b};
                t[two_bytes(ab)] = 1;
            }
    }
    sc->pair = t;
    return t;
}

/* From i, the first position whose two bytes start some value, or where fewer than two bytes are left: the
 * positions passed over are those where scan's first & second masks are 0 (it would pass them over too). Eight
 * positions a round: the first two bytes of nearly every position of a blob start no value (0.3 % of the shared
 * corpus's do), and one table read a position is a third of what the masks cost. */
static size_t skip_pairs(const uint8_t *pair, const uint8_t *b, size_t i, size_t n)
{
    while (i + 8 < n) {
        const uint8_t *p = b + i;
        if (pair[two_bytes(p)] | pair[two_bytes(p + 1)] | pair[two_bytes(p + 2)] | pair[two_bytes(p + 3)] |
            pair[two_bytes(p + 4)] | pair[two_bytes(p + 5)] | pair[two_bytes(p + 6)] | pair[two_bytes(p + 7)])
            break;
        i += 8;
    }
    while (i + 1 < n && !pair[two_bytes(b + i)])
        i++;
    return i;
}

static int continues(const needle *nd, uint8_t b)
{
    return (nd->number && is_digit(b)) || (nd->word && is_alnum(b));
}

/* Does an ISO 2022 escape sequence (ESC, 1-3 intermediate bytes 0x20-0x2F, a final byte) end at b[i - 1]? Its
 * final byte is often a letter (`ESC ) I` before half-width katakana, `ESC - A` before Latin-1, `ESC $ ) C`), and
 * a name right after it starts a word: a JIS X 0201 or Latin-1 name in an ISO 2022 blob was kept (the i18n
 * audit). Fewer than 3 known bytes before: not one (the piece before looked at that hit whole). */
static int escape_ends_at(const uint8_t *b, size_t i)
{
    if (i < 3 || b[i - 1] < 0x30 || b[i - 1] > 0x7E)
        return 0;
    size_t j = i - 1, inter = 0;
    while (j > 0 && inter < 3 && b[j - 1] >= 0x20 && b[j - 1] <= 0x2F) {
        j--;
        inter++;
    }
    return inter > 0 && j > 0 && b[j - 1] == 0x1B;
}

/* Does the byte before a hit at b + i continue it? A full stop does for a number when a digit stands before it
 * (1.2.3 inside 9.1.2.3). A later piece is scanned from its byte 2 (scan), so both bytes are known there; before
 * a value's first byte there are none. */
static int continued_before(const needle *nd, const uint8_t *b, size_t i)
{
    if (i == 0)
        return 0;
    if (nd->number && b[i - 1] == '.')
        return i >= 2 && is_digit(b[i - 2]);
    if (nd->glued)
        return !dv_id_glue_edge((char)nd->s[0], (char)b[i - 1]);
    return continues(nd, b[i - 1]) && !escape_ends_at(b, i);
}

/* A full stop after a number ends it unless a digit follows (1.2.3.4, 20191019.5). */
static int dot_ends(const uint8_t *p, size_t m, int last)
{
    if (m == 1)
        return last ? 1 : -1;
    return !is_digit(p[1]);
}

/* In a DS or IS value, a date written as a decimal number (`20200305.0`, `20200305.000`: red team 51, F20): a full
 * stop and zeros only, then the value's or a value's end (`\`, or the space padding a value to even length). Any
 * other digit makes another number (`20200305.5`), as dot_ends reads it. 1 yes, 0 no, -1 not known yet. */
static int decimal_date_ends(const uint8_t *p, size_t m, int last)
{
    size_t k = 1;
    while (k < m && p[k] == '0')
        k++;
    if (k == m)
        return last ? 1 : -1;
    return p[k] == '\\' || p[k] == ' ';
}

/* Does a hit end at p, with m bytes known after it (last: they are all the value has)? 1 yes, 0 no, -1 when the
 * bytes to tell are not known yet (the next piece has them). A date may be followed by HH, HHMM or HHMMSS (and a
 * fraction, a time zone): 7 bytes tell, so a hit's needle and tail fit in the carry (SCAN_CARRY). decimal: the value
 * is a DS or IS (decimal_date_ends). */
static int ends_at(const needle *nd, const uint8_t *p, size_t m, int last, int decimal)
{
    if (nd->prefix)
        return 1;
    if (m == 0)
        return last ? 1 : -1;
    if (decimal && nd->date && p[0] == '.' && m > 1 && p[1] == '0')
        return decimal_date_ends(p, m, last);
    if (nd->number && p[0] == '.')
        return dot_ends(p, m, last);
    if (nd->glued)
        return dv_id_glue_edge((char)nd->s[nd->len - 1], (char)p[0]);
    if (!nd->date)
        return !continues(nd, p[0]);
    size_t k = 0;
    while (k < m && k < 7 && is_digit(p[k]))
        k++;
    if (k == m && k < 7 && !last)
        return -1;
    return k == 0 || k == 2 || k == 4 || k == 6;
}

/* How many of nd's bytes p matches from its start (nd->len: all of them). */
static size_t matched(const needle *nd, const uint8_t *p)
{
    size_t i = 0;
    if (nd->fold == FOLD_NONE) {
        while (i < nd->len && p[i] == nd->s[i])
            i++;
    } else if (nd->fold == FOLD_CASE) {
        while (i < nd->len && case_fold(p[i]) == case_fold(nd->s[i]))
            i++;
    } else {
        while (i < nd->len && b64_fold(p[i]) == nd->s[i]) /* held in the standard alphabet */
            i++;
    }
    return i;
}

/* Look for the values in b[0, n). The bytes before b are not known (first: the value starts at b) and b[n - 1] is
 * the value's last byte when last. A hit whose end cannot be told before b's end while bytes follow is left to
 * the next piece (whose carry holds it whole with what follows); a hit at b's start in a later piece was looked
 * at whole in the piece before (it lies inside that piece's last SCAN_CARRY bytes with the bytes that tell its
 * end). 1 found (or the budget spent), 0 not. */
static int scan(scanner *sc, const uint8_t *b, size_t n, int first, int last)
{
    const uint8_t *pair = n >= PAIR_MIN ? pair_table(sc) : NULL;
    for (size_t i = first ? 0 : 2; i < n; i++) {
        if (pair)
            i = skip_pairs(pair, b, i, n);
        uint64_t m = sc->first[b[i]];
        if (!m)
            continue;
        if (i + 1 < n)
            m &= sc->second[b[i + 1]];
        if (m && i + 2 < n)
            m &= sc->third[b[i + 2]];
        while (m) {
            int k = __builtin_ctzll(m);
            m &= m - 1;
            const needle *nd = &sc->nd[k];
            if (nd->len > n - i)
                continue; /* the next piece has it whole (or the value ends first) */
            size_t got = matched(nd, b + i), cost = got < nd->len ? got + 1 : got;
            if (sc->budget < cost)
                return 1;
            sc->budget -= cost;
            if (got < nd->len || continued_before(nd, b, i))
                continue;
            if (ends_at(nd, b + i + nd->len, n - i - nd->len, last, sc->decimal) > 0)
                return 1;
        }
    }
    return 0;
}

/* Where a bulk value's bytes come from: the value as it is, or for an encapsulated value (an undefined-length
 * private OB: fragment items) the payloads of its fragments one after another, so a value a vendor split across
 * two fragments is found whole. The reader validated the items; a header that is not an item (a big-endian
 * writer's) ends the walk and the rest is read as it is. */
typedef struct value_reader {
    const dv_source *src;
    uint64_t off, end;   /* next source offset; end of the value */
    int fragments;       /* walking fragment items */
    uint64_t frag_left;  /* payload bytes left in the current fragment */
} value_reader;

/* Up to want bytes into buf: how many were read (fewer only at the value's end), -1 when unreadable. */
static long read_some(value_reader *r, uint8_t *buf, size_t want)
{
    size_t got = 0;
    while (got < want && r->off < r->end) {
        if (r->fragments && r->frag_left == 0) {
            uint8_t h[8];
            if (r->end - r->off < 8 || r->src->read_at(r->src->ctx, r->off, h, 8) != 0)
                return -1;
            if (h[0] == 0xFE && h[1] == 0xFF && h[2] == 0xDD && h[3] == 0xE0) { /* sequence delimiter */
                r->off = r->end;
                break;
            }
            if (!(h[0] == 0xFE && h[1] == 0xFF && h[2] == 0x00 && h[3] == 0xE0)) {
                r->fragments = 0; /* not an item: the rest as it is */
                continue;
            }
            r->off += 8;
            uint64_t len = (uint64_t)h[4] | (uint64_t)h[5] << 8 | (uint64_t)h[6] << 16 | (uint64_t)h[7] << 24;
            r->frag_left = len < r->end - r->off ? len : r->end - r->off;
            continue;
        }
        uint64_t avail = r->fragments ? r->frag_left : r->end - r->off;
        size_t n = avail < want - got ? (size_t)avail : want - got;
        if (n && r->src->read_at(r->src->ctx, r->off, buf + got, n) != 0)
            return -1;
        r->off += n;
        got += n;
        if (r->fragments)
            r->frag_left -= n;
    }
    return (long)got;
}

/* opaque_ids.h says what; the old byte-at-a-time loop is the test's oracle. */
int dv_own_unescape(uint8_t *b, size_t *n, int last, uint8_t pend[2], size_t *npend)
{
    size_t len = *n, k = 0, i = 0;
    int any = 0;
    *npend = 0;
    while (i < len) {
        /* the run up to the next '%' moved as one (not at all before the first escape decoded: k == i there) */
        const uint8_t *pct = memchr(b + i, '%', len - i);
        size_t stop = pct ? (size_t)(pct - b) : len;
        if (k != i)
            memmove(b + k, b + i, stop - i);
        k += stop - i;
        i = stop;
        if (i == len)
            break;
        if (!last && len - i < 3) { /* '%' or '%X' whose rest is in the next piece */
            int hex = len - i < 2 || dv_hex_value(b[i + 1]) >= 0;
            if (hex) {
                memcpy(pend, b + i, len - i);
                *npend = len - i;
                break;
            }
        }
        int hi, lo;
        if (i + 2 < len && (hi = dv_hex_value(b[i + 1])) >= 0 && (lo = dv_hex_value(b[i + 2])) >= 0) {
            b[k++] = (uint8_t)(hi << 4 | lo);
            i += 3;
            any = 1;
        } else {
            b[k++] = b[i++];
        }
    }
    *n = k;
    return any;
}

/* Does b[0, n) hold a %XX escape, or a '%' in its last two bytes when more follow (!last: an escape the next piece
 * may complete)? */
static int has_escape(const uint8_t *b, size_t n, int last)
{
    for (const uint8_t *p = memchr(b, '%', n), *end = b + n; p; p = memchr(p + 1, '%', (size_t)(end - p - 1))) {
        if (end - p < 3)
            return !last;
        if (dv_hex_value(p[1]) >= 0 && dv_hex_value(p[2]) >= 0)
            return 1;
    }
    return 0;
}

/* Is the head of a value (its first TEXT_HEAD bytes) text: at least 7 in 8 of them printable ASCII, tab or line
 * breaks? A base64 or hex serialization is (a config `\x01cfg=...\x00` too); a vendor's binary header is not. */
#define TEXT_HEAD 4096u
static int mostly_text(const uint8_t *b, size_t n)
{
    if (n > TEXT_HEAD)
        n = TEXT_HEAD;
    size_t text = 0;
    for (size_t i = 0; i < n; i++)
        text += (b[i] >= 0x20 && b[i] < 0x7F) || b[i] == '\t' || b[i] == '\n' || b[i] == '\r';
    return text * 8 >= n * 7;
}

/* Look for the values in an inline value v[0, n), then, when it has %XX escapes, in a decoded copy of it (with what
 * is left of the budget; a scanner of encoded forms alone, text_only, neither in a value that is not text nor in a
 * decoded copy). 1 found, 0 not, -1 out of memory (err set). */
static int scan_inline(scanner *sc, const uint8_t *v, size_t n, const dv_elem *e, dv_error *err)
{
    if (sc->text_only && !mostly_text(v, n))
        return 0;
    if (scan(sc, v, n, 1, 1))
        return 1;
    if (sc->text_only || n < 3 || !memchr(v, '%', n - 2))
        return 0;
    uint8_t *d = malloc(n), pend[2];
    if (!d)
        return dv_fail(err, DV_ERR_NOMEM, "out of memory reading " TAGF, TAGA(e->tag));
    memcpy(d, v, n);
    size_t dn = n, npend;
    int found = dv_own_unescape(d, &dn, 1, pend, &npend) && scan(sc, d, dn, 1, 1);
    free(d);
    return found;
}

/* After a piece of have bytes at buf is looked at, its last SCAN_CARRY bytes (or all it has) moved to buf's start,
 * where the next piece follows them: how many. */
static size_t carry_tail(uint8_t *buf, size_t have)
{
    size_t carry = have < SCAN_CARRY ? have : SCAN_CARRY;
    memmove(buf, buf + have - carry, carry);
    return carry;
}

/* Look for the values in a bulk value, read in pieces (SCAN_PIECE after a carry of SCAN_CARRY bytes); with decode,
 * in its bytes with their %XX escapes decoded (a name in an address: Homer%20Simpson), an escape cut by a piece's
 * end decoded with the next piece. *escapes: whether any %XX escape was seen (asked for by the caller, to know
 * whether a decoded pass can find anything the plain one did not). 1 found, 0 not, -1 unreadable. */
static int scan_bulk(scanner *sc, const dv_instance *inst, const dv_elem *e, uint8_t *buf, int decode, int *escapes)
{
    value_reader r = {NULL, 0, 0, (e->flags & DV_ELEM_ENCAPSULATED) != 0, 0};
    r.src = dv_elem_source(inst, e, &r.off);
    if (!r.src)
        return -1;
    r.end = r.off + e->length;
    int found = 0, first = 1;
    size_t carry = 0, npend = 0;
    uint8_t pend[2];
    while (!found) {
        memcpy(buf + carry, pend, npend);
        long got = read_some(&r, buf + carry + npend, SCAN_PIECE - npend);
        if (got < 0)
            return -1;
        int last = r.off >= r.end; /* read_some reads fewer than asked only at the value's end */
        size_t fresh = npend + (size_t)got;
        if (decode) {
            dv_own_unescape(buf + carry, &fresh, last, pend, &npend);
        } else if (escapes && !*escapes) {
            *escapes = has_escape(buf + carry, fresh, last);
        }
        size_t have = carry + fresh;
        if (first && sc->text_only && !mostly_text(buf, have))
            return 0;
        found = scan(sc, buf, have, first, last);
        if (last)
            break;
        first = 0;
        carry = carry_tail(buf, have);
    }
    return found;
}

int dv_value_holds_own(const dv_instance *inst, const dv_elem *e, dv_own_scanner *sc, dv_error *err)
{
    if (!sc || sc->n == 0 || e->length == 0 || e->length == DV_UNDEFINED_LENGTH || (e->flags & DV_ELEM_SEQUENCE))
        return 0;
    uint64_t budget = e->length * SCAN_BUDGET_PER_BYTE;
    if (budget < SCAN_BUDGET_MIN || budget / SCAN_BUDGET_PER_BYTE != e->length)
        budget = SCAN_BUDGET_MIN;
    sc->budget = budget;
    /* UN too: a private DS of an implicit VR file reads as UN (its VR unknown, it may be a number) */
    sc->decimal = e->vr == DV_VR_DS || e->vr == DV_VR_IS || e->vr == DV_VR_UN;
    const uint8_t *v = dv_elem_inline_value(e);
    if (v)
        return scan_inline(sc, v, (size_t)e->length, e, err);
    uint8_t *buf = malloc(SCAN_CARRY + SCAN_PIECE);
    if (!buf)
        return dv_fail(err, DV_ERR_NOMEM, "out of memory reading " TAGF, TAGA(e->tag));
    int escapes = 0;
    int found = scan_bulk(sc, inst, e, buf, 0, sc->text_only ? NULL : &escapes);
    if (found == 0 && escapes) { /* a second pass, decoded, with a budget of its own */
        sc->budget = budget;
        found = scan_bulk(sc, inst, e, buf, 1, NULL);
    }
    free(buf);
    if (found < 0)
        return dv_fail(err, DV_ERR_IO, "cannot read the value of " TAGF, TAGA(e->tag));
    return found;
}

void dv_own_scanner_budget(dv_own_scanner *sc, uint64_t bytes)
{
    sc->budget = bytes * SCAN_BUDGET_PER_BYTE;
}

/* One inflation of z[0, zn) (window_bits 15 + 32: zlib or gzip, told by the header; -15: raw deflate, a ZIP entry's
 * data), a piece at a time, each looked at after the carry of the one before, at most *left bytes out (*left is
 * decremented by what came out). A first piece that is itself packed (dv_packed_kind_of: a ZIP in a gzip) or a PDF
 * is taken as found: what it holds is not read here, and a private value is never required. *used: the input bytes
 * taken; *ended: the stream ended. 1 found (or past *left, or the budget spent), 0 not (an inflate error or a cut
 * stream: *ended 0), -1 out of memory (err set). */
static int inflate_look(scanner *sc, const uint8_t *z, size_t zn, int window_bits, uint64_t *left, size_t *used,
                        int *ended, uint32_t tag, dv_error *err)
{
    *used = 0;
    *ended = 0;
    uint8_t *buf = malloc(SCAN_CARRY + SCAN_PIECE);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (!buf || inflateInit2(&zs, window_bits) != Z_OK) {
        free(buf);
        return dv_fail(err, DV_ERR_NOMEM, "out of memory reading " TAGF, TAGA(tag));
    }
    sc->decimal = 0;
    zs.next_in = (Bytef *)z;
    zs.avail_in = (uInt)(zn > UINT32_MAX ? UINT32_MAX : zn);
    uint64_t out = 0;
    size_t carry = 0;
    int found = 0, first = 1, look = 1;
    for (;;) {
        zs.next_out = buf + carry;
        zs.avail_out = SCAN_PIECE;
        int rc = inflate(&zs, Z_NO_FLUSH);
        size_t fresh = SCAN_PIECE - zs.avail_out;
        if (rc != Z_OK && rc != Z_STREAM_END) {
            found = rc == Z_MEM_ERROR ? dv_fail(err, DV_ERR_NOMEM, "out of memory reading " TAGF, TAGA(tag)) : 0;
            break; /* not a stream after all (or cut short) */
        }
        out += fresh;
        *ended = rc == Z_STREAM_END;
        size_t have = carry + fresh;
        if (first && dv_packed_nested(buf, have)) {
            found = 1;
            break;
        }
        /* A scanner of encoded forms alone does not look in bytes that are not text. A ZIP entry's stream is still
         * inflated to its end, unlooked at: the walk needs where it ends, and an entry cut short is not all read. */
        if (first && sc->text_only && !mostly_text(buf, have)) {
            if (window_bits > 0)
                break;
            look = 0;
        }
        if ((look && (found = scan(sc, buf, have, first, *ended)) != 0) || *ended)
            break;
        if (out > *left || (fresh == 0 && zs.avail_in == 0)) {
            found = out > *left; /* longer than allowed: not all looked at; else the stream ends early (cut) */
            break;
        }
        first = 0;
        carry = carry_tail(buf, have);
    }
    *used = zs.total_in;
    *left = out > *left ? 0 : *left - out;
    inflateEnd(&zs);
    free(buf);
    return found;
}

int dv_inflated_holds_own(dv_own_scanner *sc, const uint8_t *z, size_t zn, uint64_t *left, uint32_t tag,
                          dv_error *err)
{
    if (!sc || sc->n == 0 || zn == 0)
        return 0;
    dv_own_scanner_budget(sc, *left);
    size_t used;
    int ended;
    return inflate_look(sc, z, zn, 15 + 32, left, &used, &ended, tag, err);
}

int dv_deflated_holds_own(dv_own_scanner *sc, const uint8_t *z, size_t zn, uint64_t *left, size_t *used,
                          int *ended, uint32_t tag, dv_error *err)
{
    return inflate_look(sc, z, zn, -15, left, used, ended, tag, err);
}
