/* An identifier's number: the longest run of ASCII digits in an ID value (`4471902` of `MRN4471902`), which a
 * writer often gives alone (`chart 4471902`). One rule for the two places that look for it: the text stage's
 * deny-list (denylist.c add_words) and the search of kept values for the instance's own IDs (apply.c hold_word).
 * [test_denylist: test_identifier_number_alone; test_engine: test_private_blob_naming_own_patient] */
#ifndef DV_TEXT_ID_NUMBER_H
#define DV_TEXT_ID_NUMBER_H

#include <stddef.h>

/* Shorter runs turn up by chance in any text (sizes, counts, the parts of a date). */
#define DV_ID_NUMBER_MIN 6u

/* The longest digit run of v[0, n) when it has DV_ID_NUMBER_MIN digits or more and is not the whole value: its
 * length, its start in *at; else 0. */
static inline size_t dv_id_number(const char *v, size_t n, size_t *at)
{
    size_t best = 0;
    *at = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && v[j] >= '0' && v[j] <= '9')
            j++;
        if (j - i > best)
            best = j - i, *at = i;
        i = j > i ? j : i + 1;
    }
    return best >= DV_ID_NUMBER_MIN && best < n ? best : 0;
}

#endif
