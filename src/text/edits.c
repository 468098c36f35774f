/* Edit distance, one column at a time (edits.h). */
#include "text/edits.h"

#include <limits.h>

unsigned dv_edits_step(unsigned *row, const char *key, size_t m, char c)
{
    unsigned diag = row[0];
    row[0] = diag + 1;
    unsigned best = row[0];
    for (size_t j = 1; j <= m; j++) {
        unsigned up = row[j], v = diag + (key[j - 1] != c);
        if (up + 1 < v)
            v = up + 1;
        if (row[j - 1] + 1 < v)
            v = row[j - 1] + 1;
        diag = up;
        row[j] = v;
        best = v < best ? v : best;
    }
    return best;
}

unsigned dv_edit_distance(const char *a, size_t n, const char *b, size_t m)
{
    unsigned row[DV_EDITS_MAX + 1];
    if (n > DV_EDITS_MAX || m > DV_EDITS_MAX)
        return UINT_MAX;
    for (size_t j = 0; j <= m; j++)
        row[j] = (unsigned)j;
    for (size_t i = 0; i < n; i++)
        dv_edits_step(row, b, m, a[i]);
    return row[m];
}
