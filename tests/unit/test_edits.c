/* The edit-distance step shared by the overlay cues and the OCR-tolerant deny-list match (src/text/edits.c):
 * the whole distance, the column step's running minimum (what lets a caller stop early) and the bound. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <string.h>

#include "text/edits.h"

static unsigned dist(const char *a, const char *b)
{
    return dv_edit_distance(a, strlen(a), b, strlen(b));
}

static void test_distance(void **state)
{
    (void)state;
    assert_int_equal(dist("", ""), 0);
    assert_int_equal(dist("HOSPITAL", "HOSPITAL"), 0);
    assert_int_equal(dist("HOSPTAL", "HOSPITAL"), 1);  /* a letter lost */
    assert_int_equal(dist("HOSPIITAL", "HOSPITAL"), 1); /* one too many */
    assert_int_equal(dist("H0SPITAL", "HOSPITAL"), 1); /* one misread */
    assert_int_equal(dist("HSOPITAL", "HOSPITAL"), 2); /* a swap is two */
    assert_int_equal(dist("", "CLINIC"), 6);
    assert_int_equal(dist("CLINIC", ""), 6);
    assert_int_equal(dist("KITTEN", "SITTING"), 3);
    assert_int_equal(dist("SITTING", "KITTEN"), 3);
    char big[DV_EDITS_MAX + 2];
    memset(big, 'A', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(dv_edit_distance(big, DV_EDITS_MAX, big, DV_EDITS_MAX), 0);
    assert_int_equal(dv_edit_distance(big, DV_EDITS_MAX + 1, "A", 1), UINT_MAX);
}

/* The step's return is the smallest entry of the new column: once it exceeds k, no longer text is within k
 * of any prefix of the key; row[m] is the distance to the whole key so far. */
static void test_step(void **state)
{
    (void)state;
    const char *key = "NORTHFIELD";
    size_t m = strlen(key);
    unsigned row[16];
    for (size_t j = 0; j <= m; j++)
        row[j] = (unsigned)j;
    const char *text = "N0RTHFIELDS";
    unsigned best = 0;
    for (size_t c = 0; c < 10; c++)
        best = dv_edits_step(row, key, m, text[c]);
    assert_int_equal(row[0], 10);
    assert_int_equal(row[m], 1); /* O read as 0 */
    assert_int_equal(best, 1);
    for (size_t j = 0; j <= m; j++)
        row[j] = (unsigned)j;
    const char *far = "XYZQW";
    for (size_t c = 0; c < 5; c++)
        best = dv_edits_step(row, key, m, far[c]);
    assert_int_equal(best, 5); /* nothing of the key in it: every prefix is 5 edits away or more */
    assert_int_equal(row[m], 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distance),
        cmocka_unit_test(test_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
