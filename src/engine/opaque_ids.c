/* Finding the instance's own primary UIDs, dates, names or IDs inside a value the plan keeps without reading it:
 * a vendor's private blob (OB, UN, a private text) that copies the study's, series' or instance's UID, the study
 * date, or the patient's name or ID. apply.c deletes such a value where the plan regenerates that UID or changes
 * that date, name or ID (docs/decisions.md "A kept private value holding the instance's own primary ID is
 * deleted"). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/opaque_ids.h"

/* A bulk value is read in pieces this big, each after the last DV_UID_MAX + 1 bytes of the one before, so a
 * UID across a piece boundary is found with the byte before it. */
#define SCAN_PIECE (64u * 1024u)
#define SCAN_CARRY (DV_UID_MAX + 1u)

static int ascii_upper(uint8_t b)
{
    return b >= 'a' && b <= 'z' ? b - 'a' + 'A' : b;
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
    int fold;   /* ASCII letters compared without case */
    int number; /* digits and dots continue it */
    int word;   /* letters and digits continue it */
    int date;   /* a time (2, 4 or 6 digits) may follow it: YYYYMMDD inside a DT */
} needle;

static needle needle_of(const char *v, size_t len, unsigned char kind)
{
    needle nd = {(const uint8_t *)v, len, kind == DV_OWN_WORD, kind != DV_OWN_WORD, kind == DV_OWN_WORD,
                 kind == DV_OWN_DATE};
    if (nd.word) {
        int digits = 1;
        for (size_t i = 0; i < len && digits; i++)
            digits = is_digit(nd.s[i]);
        nd.number = digits; /* an all-digit ID: 4471 is not found in 1.4471 */
    }
    return nd;
}

static int continues(const needle *nd, uint8_t b)
{
    return (nd->number && (is_digit(b) || b == '.')) || (nd->word && is_alnum(b));
}

/* Does a hit end at p, with m bytes known after it (last: they are all the value has)? 1 yes, 0 no, -1 when the
 * bytes to tell are not known yet (the next window has them). A date may be followed by HH, HHMM or HHMMSS (and a
 * fraction, a time zone): 7 bytes tell, so a hit's needle and tail fit in the carry (SCAN_CARRY). */
static int ends_at(const needle *nd, const uint8_t *p, size_t m, int last)
{
    if (!nd->date) {
        if (m == 0)
            return last ? 1 : -1;
        return !continues(nd, p[0]);
    }
    size_t k = 0;
    while (k < m && k < 7 && is_digit(p[k]))
        k++;
    if (k == m && k < 7 && !last)
        return -1;
    if (k == 0)
        return m == 0 || p[0] != '.';
    return k == 2 || k == 4 || k == 6;
}

static int same(const needle *nd, const uint8_t *p)
{
    if (!nd->fold)
        return memcmp(p, nd->s, nd->len) == 0;
    for (size_t i = 0; i < nd->len; i++)
        if (ascii_upper(p[i]) != ascii_upper(nd->s[i]))
            return 0;
    return 1;
}

/* The next place at or after b + i, before b + lim, where nd's first byte stands (either case when folded):
 * memchr for each case, each result kept until passed, so a folded search reads the bytes about twice. */
typedef struct first_finder {
    uint8_t c[2];
    const uint8_t *next[2];
    size_t from[2]; /* where next[j] was searched from (SIZE_MAX: not yet); NULL there: none up to lim */
} first_finder;

static const uint8_t *find_first(first_finder *f, const uint8_t *b, size_t i, size_t lim)
{
    const uint8_t *best = NULL;
    int ncase = f->c[0] == f->c[1] ? 1 : 2;
    for (int j = 0; j < ncase; j++) {
        if (f->from[j] == SIZE_MAX || (f->next[j] && f->next[j] < b + i)) {
            f->next[j] = memchr(b + i, f->c[j], lim - i);
            f->from[j] = i;
        }
        if (f->next[j] && (!best || f->next[j] < best))
            best = f->next[j];
    }
    return best;
}

/* Look for the values in b[0, n). The bytes before b are not known (first: the value starts at b) and b[n - 1] is
 * the value's last byte when last. A hit whose end cannot be told before b's end while bytes follow is left to
 * the next window (whose carry holds it whole with what follows); a hit at b's start in a later window was looked
 * at whole in the window before (it lies inside that window's last SCAN_CARRY bytes with the bytes that tell its
 * end). */
static int scan(const uint8_t *b, size_t n, int first, int last, const char (*vals)[DV_UID_MAX + 1],
                const size_t *lens, const unsigned char *kinds, int nvals)
{
    for (int k = 0; k < nvals; k++) {
        needle nd = needle_of(vals[k], lens[k], kinds[k]);
        if (nd.len == 0 || nd.len > n)
            continue;
        uint8_t up = (uint8_t)ascii_upper(nd.s[0]);
        int letter = nd.fold && up >= 'A' && up <= 'Z';
        first_finder f = {{up, letter ? (uint8_t)(up - 'A' + 'a') : nd.s[0]}, {NULL, NULL}, {SIZE_MAX, SIZE_MAX}};
        if (!letter)
            f.c[0] = nd.s[0];
        size_t lim = n - nd.len + 1;
        for (size_t i = 0; i < lim;) {
            const uint8_t *hit = find_first(&f, b, i, lim);
            if (!hit)
                break;
            size_t at = (size_t)(hit - b);
            i = at + 1;
            if (!same(&nd, hit))
                continue;
            if (at == 0 && !first)
                continue;
            if (at > 0 && continues(&nd, b[at - 1]))
                continue;
            int end = ends_at(&nd, hit + nd.len, n - at - nd.len, last);
            if (end > 0)
                return 1;
        }
    }
    return 0;
}

int dv_value_holds_own(const dv_instance *inst, const dv_elem *e, const char (*vals)[DV_UID_MAX + 1],
                       const size_t *lens, const unsigned char *kinds, int n, dv_error *err)
{
    if (n <= 0 || e->length == 0 || e->length == DV_UNDEFINED_LENGTH ||
        (e->flags & (DV_ELEM_SEQUENCE | DV_ELEM_ENCAPSULATED)))
        return 0;
    const uint8_t *v = dv_elem_inline_value(e);
    if (v)
        return scan(v, (size_t)e->length, 1, 1, vals, lens, kinds, n);
    uint64_t off;
    const dv_source *src = dv_elem_source(inst, e, &off);
    uint8_t *buf = src ? malloc(SCAN_CARRY + SCAN_PIECE) : NULL;
    if (!buf)
        return src ? dv_fail(err, DV_ERR_NOMEM, "out of memory reading " TAGF, TAGA(e->tag))
                   : dv_fail(err, DV_ERR_IO, "cannot read the value of " TAGF, TAGA(e->tag));
    int found = 0;
    size_t carry = 0;
    for (uint64_t done = 0; done < e->length && !found;) {
        uint64_t left = e->length - done;
        size_t piece = left < SCAN_PIECE ? (size_t)left : SCAN_PIECE;
        if (src->read_at(src->ctx, off + done, buf + carry, piece) != 0) {
            free(buf);
            return dv_fail(err, DV_ERR_IO, "cannot read the value of " TAGF, TAGA(e->tag));
        }
        size_t have = carry + piece;
        done += piece;
        found = scan(buf, have, carry == 0, done == e->length, vals, lens, kinds, n);
        carry = have < SCAN_CARRY ? have : SCAN_CARRY;
        memmove(buf, buf + have - carry, carry);
    }
    free(buf);
    return found;
}
