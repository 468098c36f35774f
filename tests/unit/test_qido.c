/* The QIDO-RS query parser (src/http/qido.c), the query-string splitter and the rule that a parameter is given
 * once (src/http/query_once.c): matching kinds per VR, the control parameters, and clean refusals that name
 * the key, never the value. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "http/qido.h"

static int parse_qs(dvs_level level, const char *qs, dvs_query *q, dvh_err *e)
{
    static char buf[4096];
    dvh_qparam p[64];
    size_t n = 0;
    memset(e, 0, sizeof *e);
    if (dvh_query_split(qs, strlen(qs), buf, sizeof buf, p, 64, &n, e))
        return -1;
    return dvh_qido_parse(level, "", "", p, n, q, e);
}

static void test_matching_kinds(void **state)
{
    (void)state;
    dvs_query q;
    dvh_err e;
    assert_int_equal(parse_qs(DVS_STUDY,
                              "PatientName=Doe*&00100020=A%3FB&StudyDate=20200101-20201231&StudyInstanceUID=1.2,3.4"
                              "&AccessionNumber=&StudyTime=-1200&ModalitiesInStudy=CT",
                              &q, &e),
                     0);
    assert_int_equal(q.nmatch, 7);
    assert_string_equal(q.match[0].attr->keyword, "PatientName");
    assert_int_equal(q.match[0].kind, DVS_MATCH_WILDCARD);
    assert_string_equal(q.match[0].value, "Doe*");
    assert_string_equal(q.match[1].attr->keyword, "PatientID");
    assert_int_equal(q.match[1].kind, DVS_MATCH_WILDCARD);
    assert_string_equal(q.match[1].value, "A?B");
    assert_int_equal(q.match[2].kind, DVS_MATCH_RANGE);
    assert_string_equal(q.match[2].value, "20200101");
    assert_string_equal(q.match[2].hi, "20201231");
    assert_int_equal(q.match[3].kind, DVS_MATCH_LIST);
    assert_int_equal(q.match[3].nlist, 2);
    assert_string_equal(q.match[3].list[1], "3.4");
    assert_int_equal(q.match[4].kind, DVS_MATCH_UNIVERSAL);
    assert_int_equal(q.match[5].kind, DVS_MATCH_RANGE);
    assert_string_equal(q.match[5].value, "");
    assert_string_equal(q.match[5].hi, "1200");
    assert_int_equal(q.match[6].kind, DVS_MATCH_SINGLE);
    assert_int_equal(q.limit, DVH_QIDO_LIMIT_DEFAULT);
}

/* "*" alone (or "**") is universal matching, for every VR: as a pattern it missed empty and absent values. */
static void test_star_is_universal(void **state)
{
    (void)state;
    dvs_query q;
    dvh_err e;
    assert_int_equal(parse_qs(DVS_STUDY, "AccessionNumber=*&ReferringPhysicianName=**&StudyDate=*&StudyInstanceUID=*"
                                         "&PatientName=*a",
                              &q, &e),
                     0);
    assert_int_equal(q.nmatch, 5);
    for (int i = 0; i < 4; i++)
        assert_int_equal(q.match[i].kind, DVS_MATCH_UNIVERSAL);
    assert_int_equal(q.match[4].kind, DVS_MATCH_WILDCARD);
}

static void test_controls(void **state)
{
    (void)state;
    dvs_query q;
    dvh_err e;
    assert_int_equal(parse_qs(DVS_INSTANCE,
                              "limit=10&offset=20&fuzzymatching=true&includefield=00080060&includefield="
                              "SeriesDescription,Manufacturer&alt=json&prettyPrint=false&SOPInstanceUID=1.2",
                              &q, &e),
                     0);
    assert_int_equal(q.limit, 10);
    assert_int_equal(q.offset, 20);
    assert_true(q.fuzzy);
    assert_false(q.include_all);
    assert_int_equal(q.ninclude, 2);
    assert_int_equal(q.nmatch, 1);
    assert_int_equal(q.match[0].kind, DVS_MATCH_SINGLE);
    /* `all` alone (beside other items it is 400: test_includefield_all_alone) */
    assert_int_equal(parse_qs(DVS_INSTANCE, "limit=10&includefield=all&alt=json", &q, &e), 0);
    assert_true(q.include_all);
    assert_int_equal(q.ninclude, 0);
}

static void test_refusals(void **state)
{
    (void)state;
    dvs_query q;
    dvh_err e;
    static const struct {
        dvs_level level;
        const char *qs;
        const char *named; /* what the message must name ("" for nothing in particular) */
    } bad[] = {
        {DVS_STUDY, "limit=0", "limit"},
        {DVS_STUDY, "limit=5001", "limit"},
        {DVS_STUDY, "limit=1&limit=2", "limit"},
        {DVS_STUDY, "offset=-1", "offset"},
        {DVS_STUDY, "fuzzymatching=yes", "fuzzymatching"},
        {DVS_STUDY, "SecretTag=Smith", "parameter 1"},
        {DVS_STUDY, "Modality=CT", "Modality"},
        {DVS_SERIES, "SOPInstanceUID=1.2", "SOPInstanceUID"},
        {DVS_STUDY, "StudyDate=2020", "StudyDate"},
        {DVS_STUDY, "StudyDate=2020010a-", "StudyDate"},
        {DVS_STUDY, "StudyDate=-", "StudyDate"},
        {DVS_STUDY, "StudyDate=2020*", "StudyDate"},
        {DVS_STUDY, "StudyInstanceUID=1.2*", "StudyInstanceUID"},
        {DVS_STUDY, "StudyInstanceUID=1.2,,3", "StudyInstanceUID"},
        {DVS_INSTANCE, "InstanceNumber=1x", "InstanceNumber"},
        {DVS_STUDY, "PatientName=a&PatientName=b", "PatientName"},
        {DVS_STUDY, "NumberOfStudyRelatedSeries=3", "NumberOfStudyRelatedSeries"},
        {DVS_STUDY, "includefield=a/b", "includefield"},
        {DVS_STUDY, "StudyDate=20201301", "StudyDate"},          /* no 13th month */
        {DVS_STUDY, "StudyDate=20200230", "StudyDate"},          /* no 30 February */
        {DVS_STUDY, "StudyDate=20210229", "StudyDate"},          /* 2021 is no leap year */
        {DVS_STUDY, "StudyDate=20201231-20200101", "StudyDate"}, /* ends before it starts */
        {DVS_STUDY, "StudyTime=256000", "StudyTime"},
        {DVS_STUDY, "StudyTime=126000", "StudyTime"},
        {DVS_STUDY, "StudyTime=1300-1200", "StudyTime"},
        {DVS_STUDY, "PatientName=%zz", "escape"},
        {DVS_STUDY, "PatientName=%00", "escape"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse_qs(bad[i].level, bad[i].qs, &q, &e) != -1)
            fail_msg("accepted: %s", bad[i].qs);
        assert_int_equal(e.status, DVH_INVALID_ARGUMENT);
        if (strstr(e.message, bad[i].named) == NULL)
            fail_msg("%s: message '%s' does not name %s", bad[i].qs, e.message, bad[i].named);
        /* Values never appear in messages. */
        assert_null(strstr(e.message, "Smith"));
    }
}

/* Real dates and times, and ranges in order, pass (the refusals are in test_refusals): a leap day, a leap
 * second, a one-day range, a TM range whose end is shorter than its start (12:30 to 12:59:59). */
static void test_calendar_accepted(void **state)
{
    (void)state;
    dvs_query q;
    dvh_err e;
    static const char *const good[] = {"StudyDate=20200229", "StudyDate=20000229", "StudyDate=20200101-20200101",
                                       "StudyDate=-20201231", "StudyTime=235960", "StudyTime=1230-12",
                                       "StudyTime=00-2359"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (parse_qs(DVS_STUDY, good[i], &q, &e) != 0)
            fail_msg("refused: %s (%s)", good[i], e.message);
}

/* An unknown matching key is refused rather than ignored. [dvs_query.h] */
static void test_unknown_key_refused(void **state)
{
    (void)state;
    dvs_query q;
    dvh_err e;
    assert_int_equal(parse_qs(DVS_INSTANCE, "00091010=x", &q, &e), -1);
    assert_int_equal(e.status, DVH_INVALID_ARGUMENT);
}

static void test_split(void **state)
{
    (void)state;
    char buf[64];
    dvh_qparam p[4];
    size_t n;
    dvh_err e;
    assert_int_equal(dvh_query_split("a=1&b&c=x+y%2Bz&=v", 18, buf, sizeof buf, p, 4, &n, &e), 0);
    assert_int_equal(n, 4);
    assert_string_equal(p[0].key, "a");
    assert_string_equal(p[0].value, "1");
    assert_string_equal(p[1].key, "b");
    assert_string_equal(p[1].value, "");
    assert_string_equal(p[2].value, "x y+z");
    assert_string_equal(p[3].key, "");
    assert_int_equal(dvh_query_split("a&b&c&d&e", 9, buf, sizeof buf, p, 4, &n, &e), -1);
    assert_int_equal(dvh_query_split("a=0123456789012345678901234567890123456789012345678901234567890123456789", 72, buf,
                                     sizeof buf, p, 4, &n, &e),
                     -1);
    assert_int_equal(dvh_query_split("a=%4", 4, buf, sizeof buf, p, 4, &n, &e), -1);
    assert_int_equal(dvh_query_split("", 0, buf, sizeof buf, p, 4, &n, &e), 0);
    assert_int_equal(n, 0);
}

/* One rule for every route (src/http/query_once.c): a parameter name given twice is refused, named when it is
 * one the server knows, by position when it is client text; never with a value. includefield may repeat. */
static void test_repeated_params(void **state)
{
    (void)state;
    static const struct {
        const char *qs;
        const char *message; /* NULL: accepted */
    } cases[] = {
        {"pageSize=5&pageSize=500", "pageSize: given more than once"},
        {"window=40,400&viewport=8,8&window=1,2", "window: given more than once"},
        {"PatientName=Doe&limit=1&PatientName=Roe", "PatientName: given more than once"},
        {"00100010=Doe&00100010=Roe", "00100010: given more than once"},
        {"alt=json&alt=media", "alt: given more than once"},
        {"Doe%5EJane=1&x=2&Doe%5EJane=3", "query parameter 3: the name of parameter 1 again"},
        {"includefield=PatientName&includefield=StudyDate&includefield=PatientName", NULL},
        {"pageSize=5&pagesize=500", NULL}, /* names are case-sensitive: the handler refuses the unknown one */
        {"a&b&c", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[256];
        dvh_qparam p[16];
        size_t n = 0;
        dvh_err e;
        memset(&e, 0, sizeof e);
        assert_int_equal(dvh_query_split(cases[i].qs, strlen(cases[i].qs), buf, sizeof buf, p, 16, &n, &e), 0);
        int rc = dvh_query_once(p, n, &e);
        if (cases[i].message == NULL) {
            if (rc != 0)
                fail_msg("refused: %s (%s)", cases[i].qs, e.message);
            continue;
        }
        if (rc != -1 || e.status != DVH_INVALID_ARGUMENT || strcmp(e.message, cases[i].message) != 0)
            fail_msg("%s: %d %s", cases[i].qs, rc, e.message);
        assert_null(strstr(e.message, "Doe"));
        assert_null(strstr(e.message, "500"));
    }
}

/* PS3.18 8.3: an invalid value of a supported parameter is 400. An includefield item that is neither a PS3.6
 * keyword nor a tag was accepted and ignored; a real attribute the index does not keep still is. */
static void test_includefield_unknown(void **state)
{
    (void)state;
    dvs_query q;
    dvh_err e;
    static const char *const bad[] = {
        "includefield=NotAKeyword", "includefield=PatientName,StudyDate,PatientNmae", "includefield=0008006",
        "includefield=0008006G", "includefield=patientname", "includefield=00081115..00081150",
        "includefield=PatientName&includefield=Nope",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse_qs(DVS_STUDY, bad[i], &q, &e) != -1)
            fail_msg("accepted: %s", bad[i]);
        assert_int_equal(e.status, DVH_INVALID_ARGUMENT);
        assert_non_null(strstr(e.message, "includefield"));
        assert_null(strstr(e.message, "Nmae"));
        assert_null(strstr(e.message, "NotAKeyword"));
    }
    assert_int_equal(parse_qs(DVS_STUDY, "includefield=PatientName,StudyDate,PatientNmae", &q, &e), -1);
    assert_non_null(strstr(e.message, "item 3"));
    static const char *const good[] = {
        "includefield=Manufacturer", "includefield=00080070", "includefield=00091010",
        "includefield=ReferencedSeriesSequence.SeriesInstanceUID", "includefield=00081115.0020000E",
        "includefield=all", "includefield=PatientName,00100020",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (parse_qs(DVS_STUDY, good[i], &q, &e) != 0)
            fail_msg("refused: %s (%s)", good[i], e.message);
    assert_int_equal(parse_qs(DVS_STUDY, "includefield=PatientName,00100020,Manufacturer", &q, &e), 0);
    assert_int_equal(q.ninclude, 2);
}

/* includefield is "all" or attributes (PS3.18 8.3.4.1): both at once could be read either way, so it is 400,
 * in one occurrence or across several; the message names no value. */
static void test_includefield_all_alone(void **state)
{
    (void)state;
    dvs_query q;
    dvh_err e;
    static const char *const bad[] = {
        "includefield=all,PatientName", "includefield=PatientName,all", "includefield=all&includefield=00100010",
        "includefield=00100010&includefield=all", "includefield=all,all", "includefield=all&includefield=all",
        "includefield=all&includefield=00091010", "includefield=all,Manufacturer",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse_qs(DVS_STUDY, bad[i], &q, &e) != -1)
            fail_msg("accepted: %s", bad[i]);
        assert_int_equal(e.status, DVH_INVALID_ARGUMENT);
        assert_string_equal(e.message, "includefield: 'all' cannot be combined with other items");
    }
    assert_int_equal(parse_qs(DVS_STUDY, "includefield=all&limit=5", &q, &e), 0);
    assert_int_equal(q.include_all, 1);
    assert_int_equal(parse_qs(DVS_STUDY, "includefield=PatientName&includefield=00100020", &q, &e), 0);
    assert_int_equal(q.include_all, 0);
    assert_int_equal(q.ninclude, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matching_kinds), cmocka_unit_test(test_controls),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_calendar_accepted),       cmocka_unit_test(test_unknown_key_refused),
        cmocka_unit_test(test_split),          cmocka_unit_test(test_star_is_universal),
        cmocka_unit_test(test_repeated_params), cmocka_unit_test(test_includefield_unknown),
        cmocka_unit_test(test_includefield_all_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
