/* An identifier's number: the longest run of ASCII digits in an ID value (`4471902` of `MRN4471902`), which a
 * writer often gives alone (`chart 4471902`). One rule for the two places that look for it: the text stage's
 * deny-list (denylist.c add_words) and the search of kept values for the instance's own IDs (held_values.c hold_word).
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

/* Is an ID distinctive enough to be found glued to letters, a prefix or suffix written onto it (Agfa/MITRA's Global
 * Patient ID `GPI` + PatientID, `MRNZQ778812`, `4471902b`)? Letters and digits only, with a digit: 5 characters or
 * more holding letters too, or DV_ID_NUMBER_MIN digits or more. Never an all-letter value (a name part, `SMITH` in
 * `SMITHSON`), nor a short one (`A12` in `XA12`). What stands beside it is told by dv_id_glue_edge. One rule
 * for the kept-value search (opaque_ids.c, DV_OWN_WORD) and the text stage's deny-list (denylist.c, which keeps
 * its earlier wider rule of 4 digits beside it: a token is replaced there, not a value deleted). [test_engine: test_private_id_glued_to_letters; test_denylist: test_identifier_inside_token] */
static inline int dv_id_glues(const char *v, size_t n)
{
    size_t digits = 0, letters = 0;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (c >= '0' && c <= '9')
            digits++;
        else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
            letters++;
        else
            return 0;
    }
    return digits > 0 && ((letters > 0 && n >= 5) || digits >= DV_ID_NUMBER_MIN);
}

/* May the byte beside stand next to an ID's first or last byte edge in a longer run (dv_id_glues)? A digit beside a
 * digit continues the number, so it is another one (4471902 is not in 44719020, nor ZQ778812 in ZQ7788123); any
 * other byte (a letter: `GPIIBBQ47`, `ZQ778812A`; a digit beside a letter: `9IBBQ47`) leaves the ID whole. */
static inline int dv_id_glue_edge(char edge, char beside)
{
    return !(edge >= '0' && edge <= '9' && beside >= '0' && beside <= '9');
}

#endif
