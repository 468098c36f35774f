/* The findings list of the text stage (src/text/findings.c, contract in dv_text.h; issue 6): infoType
 * names both ways, the cap, and normalisation (sorted, disjoint; the higher score, then the longer span
 * wins; a loser sticking out of a winner keeps only its outside bytes, so no covered byte is lost). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "text/dv_text.h"

static void test_infotype_names_round_trip(void **state)
{
    (void)state;
    for (int t = 0; t < DV_IT_COUNT; t++) {
        const char *name = dv_infotype_name((dv_infotype)t);
        assert_non_null(name);
        assert_int_equal(dv_infotype_from_name(name, strlen(name)), t);
    }
    assert_string_equal(dv_infotype_name(DV_IT_US_HEALTHCARE_NPI), "US_HEALTHCARE_NPI");
    assert_string_equal(dv_infotype_name(DV_IT_CTX), "CTX");
    assert_null(dv_infotype_name(DV_IT_COUNT));
    assert_null(dv_infotype_name((dv_infotype)-1));
    assert_int_equal(dv_infotype_from_name("date", 4), -1);          /* exact, upper case */
    assert_int_equal(dv_infotype_from_name("DATE_OF", 7), -1);       /* no prefix match */
    assert_int_equal(dv_infotype_from_name("DATE_OF_BIRTH", 4), DV_IT_DATE); /* len counts */
    assert_int_equal(dv_infotype_from_name(NULL, 0), -1);
}

static void test_findings_add_clear_cap(void **state)
{
    (void)state;
    dv_findings f = {0};
    assert_int_equal(dv_findings_add(&f, 3, 7, DV_IT_DATE, DV_DET_PATTERN, 90), 0);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.v[0].start, 3);
    assert_int_equal(f.v[0].end, 7);
    assert_int_equal(f.v[0].type, DV_IT_DATE);
    assert_int_equal(f.v[0].detector, DV_DET_PATTERN);
    assert_int_equal(f.v[0].score, 90);
    dv_findings_clear(&f);
    assert_int_equal(f.n, 0);
    assert_true(f.cap > 0);
    for (uint32_t i = 0; i < DV_FINDINGS_MAX; i++)
        assert_int_equal(dv_findings_add(&f, i, i + 1, DV_IT_AGE, DV_DET_PATTERN, 50), 0);
    assert_int_equal(dv_findings_add(&f, 0, 1, DV_IT_AGE, DV_DET_PATTERN, 50), -1);
    assert_int_equal(f.n, DV_FINDINGS_MAX);
    dv_findings_free(&f);
    assert_null(f.v);
    assert_int_equal(f.n, 0);
}

static void add(dv_findings *f, uint32_t s, uint32_t e, dv_infotype t, uint8_t score)
{
    assert_int_equal(dv_findings_add(f, s, e, t, DV_DET_PATTERN, score), 0);
}

static void expect(const dv_findings *f, size_t i, uint32_t s, uint32_t e, dv_infotype t)
{
    assert_true(i < f->n);
    assert_int_equal(f->v[i].start, s);
    assert_int_equal(f->v[i].end, e);
    assert_int_equal(f->v[i].type, t);
}

static void test_normalise_sorts_and_resolves_overlaps(void **state)
{
    (void)state;
    dv_findings f = {0};
    add(&f, 20, 30, DV_IT_PHONE_NUMBER, 80);
    add(&f, 0, 10, DV_IT_DATE, 90);
    add(&f, 2, 8, DV_IT_AGE, 50);   /* inside a winner: dropped */
    add(&f, 5, 12, DV_IT_TIME, 60); /* sticks out: keeps [10,12) */
    add(&f, 40, 40, DV_IT_URL, 99); /* empty: dropped */
    dv_findings_normalise(&f);
    assert_int_equal(f.n, 3);
    expect(&f, 0, 0, 10, DV_IT_DATE);
    expect(&f, 1, 10, 12, DV_IT_TIME);
    expect(&f, 2, 20, 30, DV_IT_PHONE_NUMBER);
    dv_findings_free(&f);
}

static void test_normalise_equal_score_longer_wins(void **state)
{
    (void)state;
    dv_findings f = {0};
    add(&f, 4, 14, DV_IT_DATE, 70);
    add(&f, 0, 20, DV_IT_DATE_OF_BIRTH, 70);
    add(&f, 4, 14, DV_IT_DATE, 70); /* duplicate */
    dv_findings_normalise(&f);
    assert_int_equal(f.n, 1);
    expect(&f, 0, 0, 20, DV_IT_DATE_OF_BIRTH);
    dv_findings_free(&f);
}

static void test_normalise_splits_a_loser_around_a_winner(void **state)
{
    (void)state;
    dv_findings f = {0};
    add(&f, 0, 30, DV_IT_STREET_ADDRESS, 60);
    add(&f, 10, 15, DV_IT_PHONE_NUMBER, 95);
    dv_findings_normalise(&f);
    assert_int_equal(f.n, 3);
    expect(&f, 0, 0, 10, DV_IT_STREET_ADDRESS);
    expect(&f, 1, 10, 15, DV_IT_PHONE_NUMBER);
    expect(&f, 2, 15, 30, DV_IT_STREET_ADDRESS);
    dv_findings_normalise(&f); /* idempotent */
    assert_int_equal(f.n, 3);
    dv_findings_free(&f);
}

/* With the text: a piece cut out of a loser loses the separators at its cut sides and goes when only
 * separators are left; whole findings keep their spans; without the text nothing is trimmed. */
static void test_normalise_text_trims_cut_pieces(void **state)
{
    (void)state;
    const char *t = "Mei Zhang^Wei=X, (617) 555";
    dv_findings f = {0};
    add(&f, 0, 16, DV_IT_PERSON_NAME, 60);  /* "Mei Zhang^Wei=X," */
    add(&f, 4, 9, DV_IT_PERSON_NAME, 95);   /* "Zhang" */
    add(&f, 10, 13, DV_IT_PERSON_NAME, 95); /* "Wei" */
    add(&f, 17, 26, DV_IT_PHONE_NUMBER, 80); /* "(617) 555": a whole finding keeps its "(" */
    dv_findings_normalise_text(&f, t, strlen(t));
    assert_int_equal(f.n, 5);
    expect(&f, 0, 0, 3, DV_IT_PERSON_NAME);   /* "Mei", not "Mei " */
    expect(&f, 1, 4, 9, DV_IT_PERSON_NAME);
    expect(&f, 2, 10, 13, DV_IT_PERSON_NAME); /* the lone "^" between them is gone */
    expect(&f, 3, 14, 16, DV_IT_PERSON_NAME); /* "X,": "=" trimmed; the right end is the loser's own */
    expect(&f, 4, 17, 26, DV_IT_PHONE_NUMBER);
    dv_findings_free(&f);
    f = (dv_findings){0};
    add(&f, 0, 16, DV_IT_PERSON_NAME, 60);
    add(&f, 4, 9, DV_IT_PERSON_NAME, 95);
    dv_findings_normalise(&f);
    expect(&f, 0, 0, 4, DV_IT_PERSON_NAME); /* no text: the bytes stay covered */
    dv_findings_free(&f);
    f = (dv_findings){0};
    const char *h = "Smith-Jones";
    add(&f, 0, 11, DV_IT_PERSON_NAME, 60);
    add(&f, 0, 5, DV_IT_PERSON_NAME, 95);
    add(&f, 6, 11, DV_IT_PERSON_NAME, 95);
    dv_findings_normalise_text(&f, h, strlen(h));
    assert_int_equal(f.n, 3); /* a hyphen inside a name stays covered: masks keep one '*' per character */
    expect(&f, 1, 5, 6, DV_IT_PERSON_NAME);
    dv_findings_free(&f);
}

/* Random lists: output sorted, disjoint, and covering exactly the bytes the input covered. */
static void test_normalise_random_invariants(void **state)
{
    (void)state;
    srand(12345);
    for (int round = 0; round < 500; round++) {
        dv_findings f = {0};
        unsigned char covered[128] = {0};
        int n = rand() % 12;
        for (int i = 0; i < n; i++) {
            uint32_t s = (uint32_t)(rand() % 100), e = s + (uint32_t)(rand() % 20);
            add(&f, s, e, (dv_infotype)(rand() % DV_IT_COUNT), (uint8_t)(rand() % 4 * 25));
            for (uint32_t b = s; b < e; b++)
                covered[b] = 1;
        }
        dv_findings_normalise(&f);
        unsigned char got[128] = {0};
        for (size_t i = 0; i < f.n; i++) {
            assert_true(f.v[i].start < f.v[i].end);
            if (i > 0)
                assert_true(f.v[i - 1].end <= f.v[i].start);
            for (uint32_t b = f.v[i].start; b < f.v[i].end; b++)
                got[b] = 1;
        }
        assert_memory_equal(got, covered, sizeof got);
        dv_findings_free(&f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_infotype_names_round_trip),
        cmocka_unit_test(test_findings_add_clear_cap),
        cmocka_unit_test(test_normalise_sorts_and_resolves_overlaps),
        cmocka_unit_test(test_normalise_equal_score_longer_wins),
        cmocka_unit_test(test_normalise_splits_a_loser_around_a_winner),
        cmocka_unit_test(test_normalise_random_invariants),
        cmocka_unit_test(test_normalise_text_trims_cut_pieces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
