/* Finding the instance's own primary UIDs or dates inside a value the plan keeps without reading it: a vendor's
 * private blob (OB, UN, a private text) that copies the study's, series' or instance's UID, or the study date.
 * apply.c deletes such a value where the plan regenerates that UID or changes that date (docs/decisions.md "A kept
 * private value holding the instance's own primary ID is deleted"). */
#include <stdlib.h>
#include <string.h>

#include "engine/opaque_ids.h"

/* A bulk value is read in pieces this big, each after the last DV_UID_MAX + 1 bytes of the one before, so a
 * UID across a piece boundary is found with the byte before it. */
#define SCAN_PIECE (64u * 1024u)
#define SCAN_CARRY (DV_UID_MAX + 1u)

static int uid_byte(uint8_t b)
{
    return (b >= '0' && b <= '9') || b == '.';
}

/* Look for the UIDs in b[0, n). The bytes before b are not known (first: the value starts at b) and b[n - 1] is
 * the value's last byte when last. A hit that reaches b's end while bytes follow is left to the next window
 * (whose carry holds it whole); a hit at b's start in a later window was looked at whole in the window before
 * (it lies inside that window's last SCAN_CARRY bytes with the byte after it). */
static int scan(const uint8_t *b, size_t n, int first, int last, const char (*uids)[DV_UID_MAX + 1],
                const size_t *lens, int nuids)
{
    for (int k = 0; k < nuids; k++) {
        size_t len = lens[k];
        if (len == 0 || len > n)
            continue;
        for (size_t i = 0; i + len <= n;) {
            const uint8_t *hit = memchr(b + i, (uint8_t)uids[k][0], n - len + 1 - i);
            if (!hit)
                break;
            size_t at = (size_t)(hit - b);
            i = at + 1;
            if (memcmp(hit, uids[k], len) != 0)
                continue;
            if (at == 0 && !first)
                continue;
            if (at > 0 && uid_byte(b[at - 1]))
                continue;
            if (at + len == n) {
                if (last)
                    return 1;
                continue;
            }
            if (!uid_byte(b[at + len]))
                return 1;
        }
    }
    return 0;
}

int dv_value_names_uid(const dv_instance *inst, const dv_elem *e, const char (*uids)[DV_UID_MAX + 1],
                       const size_t *lens, int n, dv_error *err)
{
    if (n <= 0 || e->length == 0 || e->length == DV_UNDEFINED_LENGTH ||
        (e->flags & (DV_ELEM_SEQUENCE | DV_ELEM_ENCAPSULATED)))
        return 0;
    const uint8_t *v = dv_elem_inline_value(e);
    if (v)
        return scan(v, (size_t)e->length, 1, 1, uids, lens, n);
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
        found = scan(buf, have, carry == 0, done == e->length, uids, lens, n);
        carry = have < SCAN_CARRY ? have : SCAN_CARRY;
        memmove(buf, buf + have - carry, carry);
    }
    free(buf);
    return found;
}
