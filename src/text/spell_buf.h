/* The bounded output buffer a romanisation spells a name into (romaji.c, hangul_latin.c, pinyin.c): what does not
 * fit fails the whole spelling (ok = 0), never leaves a cut one. */
#ifndef DV_TEXT_SPELL_BUF_H
#define DV_TEXT_SPELL_BUF_H

#include <stddef.h>
#include <string.h>

typedef struct dv_spell_buf {
    char *out;
    size_t n, cap;
    int ok;
} dv_spell_buf;

/* s[0, k) after what is spelled, or ok = 0 when it does not fit (or an earlier piece did not). */
static inline void dv_spell_put(dv_spell_buf *b, const char *s, size_t k)
{
    if (!b->ok || b->n + k > b->cap) {
        b->ok = 0;
        return;
    }
    memcpy(b->out + b->n, s, k);
    b->n += k;
}

#endif
