/* A table of surnames written in one script and read or spelled in another (hanja.c: Hanja to Hangul; pinyin.c: Han
 * to pinyin), looked up by the longest surname a name starts with: a compound surname (皇甫, 尉迟) before its first
 * character's own entry. One home for the look-up both tables need. */
#ifndef DV_TEXT_SURNAME_TABLE_H
#define DV_TEXT_SURNAME_TABLE_H

#include <stddef.h>
#include <string.h>

typedef struct dv_surname {
    const char *written; /* UTF-8, as a PatientName writes it */
    const char *read;    /* its reading(s) or spelling(s), as the table's file says */
} dv_surname;

/* The entry of t[0, n) with the longest `written` that s[0, len) starts with, its byte length in *m; -1 for none
 * (*m 0). */
static inline long dv_surname_longest(const dv_surname *t, size_t n, const char *s, size_t len, size_t *m)
{
    long best = -1;
    *m = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = strlen(t[i].written);
        if (k <= len && k > *m && memcmp(t[i].written, s, k) == 0) {
            best = (long)i;
            *m = k;
        }
    }
    return best;
}

#endif
