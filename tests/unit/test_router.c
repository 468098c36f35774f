/* The resource-name router (src/http/router.c): every route of the API we serve maps to its kind and IDs;
 * IDs follow the discovery document's patterns; no traversal form gets through (400); unknown paths are 404
 * and wrong methods 405 with the route's allowed methods. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "http/router.h"

#define P "/v1beta1/projects/p1/locations/us-central1/datasets"

static int route(dvh_method m, const char *path, dvh_route *r, dvh_err *e)
{
    memset(e, 0, sizeof *e);
    return dvh_route_match(m, path, strlen(path), r, e);
}

static void test_resource_routes(void **state)
{
    (void)state;
    dvh_route r;
    dvh_err e;
    assert_int_equal(route(DVH_GET, P, &r, &e), 0);
    assert_int_equal(r.kind, DVH_R_DATASETS);
    assert_string_equal(r.name, "datasets.list");
    assert_string_equal(r.project, "p1");
    assert_string_equal(r.location, "us-central1");
    assert_int_equal(route(DVH_POST, P, &r, &e), 0);
    assert_string_equal(r.name, "datasets.create");
    assert_int_equal(route(DVH_GET, P "/my.data_set-1", &r, &e), 0);
    assert_int_equal(r.kind, DVH_R_DATASET);
    assert_string_equal(r.dataset, "my.data_set-1");
    assert_int_equal(route(DVH_DELETE, P "/d", &r, &e), 0);
    assert_string_equal(r.name, "datasets.delete");
    assert_int_equal(route(DVH_POST, P "/d:deidentify", &r, &e), 0);
    assert_int_equal(r.kind, DVH_R_DATASET_DEIDENTIFY);
    assert_string_equal(r.dataset, "d");
    assert_int_equal(route(DVH_GET, P "/d/operations", &r, &e), 0);
    assert_int_equal(r.kind, DVH_R_OPERATIONS);
    assert_int_equal(route(DVH_GET, P "/d/operations/123", &r, &e), 0);
    assert_int_equal(r.kind, DVH_R_OPERATION);
    assert_string_equal(r.operation, "123");
    assert_int_equal(route(DVH_POST, P "/d/operations/123:cancel", &r, &e), 0);
    assert_int_equal(r.kind, DVH_R_OPERATION_CANCEL);
    /* our error log (an operation's logsUrl) */
    assert_int_equal(route(DVH_GET, P "/d/operations/123/errors", &r, &e), 0);
    assert_int_equal(r.kind, DVH_R_OPERATION_ERRORS);
    assert_string_equal(r.operation, "123");
    assert_string_equal(r.name, "operations.errors");
    assert_int_equal(route(DVH_POST, P "/d/operations/123/errors", &r, &e), -1);
    assert_int_equal(e.status, DVH_METHOD);
    assert_int_equal(route(DVH_GET, P "/d/operations/123/logs", &r, &e), -1);
    assert_int_equal(e.status, DVH_NOT_FOUND);
    assert_int_equal(route(DVH_GET, P "/d/operations/123/errors:x", &r, &e), -1);
    assert_int_equal(e.status, DVH_NOT_FOUND);
    assert_int_equal(route(DVH_GET, P "/d/operations/../errors", &r, &e), -1);
    assert_int_equal(e.status, DVH_INVALID_ARGUMENT);
    assert_int_equal(route(DVH_POST, P "/d/dicomStores", &r, &e), 0);
    assert_int_equal(r.kind, DVH_R_STORES);
    assert_int_equal(route(DVH_GET, P "/d/dicomStores/s", &r, &e), 0);
    assert_int_equal(r.kind, DVH_R_STORE);
    assert_string_equal(r.store, "s");
    assert_int_equal(route(DVH_GET, P "/d/dicomStores/s:getDICOMStoreMetrics", &r, &e), 0);
    assert_int_equal(r.kind, DVH_R_STORE_METRICS);
    assert_string_equal(r.store, "s");
    assert_int_equal(route(DVH_POST, P "/d/dicomStores/s:deidentify", &r, &e), 0);
    assert_int_equal(r.kind, DVH_R_STORE_DEIDENTIFY);
    assert_int_equal(route(DVH_POST, P "/d/dicomStores/s:import", &r, &e), 0);
    assert_int_equal(r.kind, DVH_R_STORE_IMPORT);
    assert_int_equal(route(DVH_POST, P "/d/dicomStores/s:export", &r, &e), 0);
    assert_int_equal(r.kind, DVH_R_STORE_EXPORT);
    assert_string_equal(r.version, "v1beta1");
    /* v1 paths are the same shape; the version is kept, as answers name types and links by it. */
    assert_int_equal(route(DVH_GET, "/v1/projects/p/locations/l/datasets/d", &r, &e), 0);
    assert_int_equal(r.kind, DVH_R_DATASET);
    assert_string_equal(r.version, "v1");
    assert_int_not_equal(route(DVH_GET, "/v1beta2/projects/p/locations/l/datasets/d", &r, &e), 0);
}

static void test_dicomweb_routes(void **state)
{
    (void)state;
    dvh_route r;
    dvh_err e;
#define W P "/d/dicomStores/s/dicomWeb"
    /* Each row: the route, then what it must give (ANY / NULL: not looked at). */
    enum { ANY = -1 };
    static const struct {
        dvh_method m;
        const char *path;
        int collection, tail;
        const char *name, *study, *series, *instance, *frames;
    } cases[] = {
        {DVH_GET, W "/studies", DVH_LEVEL_STUDY, ANY, "dicomWeb.searchForStudies", NULL, NULL, NULL, NULL},
        {DVH_POST, W "/studies", ANY, ANY, "dicomWeb.storeInstances", NULL, NULL, NULL, NULL},
        {DVH_POST, W "/studies/1.2.3", ANY, ANY, "dicomWeb.storeInstances", "1.2.3", NULL, NULL, NULL},
        {DVH_GET, W "/series", DVH_LEVEL_SERIES, ANY, NULL, NULL, NULL, NULL, NULL},
        {DVH_GET, W "/instances", DVH_LEVEL_INSTANCE, ANY, NULL, NULL, NULL, NULL, NULL},
        {DVH_GET, W "/studies/1.2/series", DVH_LEVEL_SERIES, ANY, NULL, "1.2", NULL, NULL, NULL},
        {DVH_GET, W "/studies/1.2/instances", DVH_LEVEL_INSTANCE, ANY, NULL, NULL, NULL, NULL, NULL},
        {DVH_GET, W "/studies/1.2/series/3.4/instances", DVH_LEVEL_INSTANCE, ANY, NULL, NULL, "3.4", NULL, NULL},
        {DVH_GET, W "/studies/1.2/series/3.4/instances/5.6", DVH_LEVEL_NONE, ANY, "dicomWeb.retrieveInstance", NULL,
         NULL, "5.6", NULL},
        {DVH_GET, W "/studies/1.2/series/3.4", ANY, ANY, "dicomWeb.retrieveSeries", NULL, NULL, NULL, NULL},
        {DVH_GET, W "/studies/1.2", ANY, ANY, "dicomWeb.retrieveStudy", NULL, NULL, NULL, NULL},
        {DVH_GET, W "/studies/1.2/metadata", ANY, DVH_TAIL_METADATA, NULL, NULL, NULL, NULL, NULL},
        {DVH_GET, W "/studies/1.2/series/3.4/metadata", ANY, DVH_TAIL_METADATA, NULL, NULL, NULL, NULL, NULL},
        {DVH_GET, W "/studies/1.2/series/3.4/instances/5.6/metadata", ANY, DVH_TAIL_METADATA, NULL, NULL, NULL, NULL,
         NULL},
        {DVH_GET, W "/studies/1.2/series/3.4/instances/5.6/frames/1,2", ANY, DVH_TAIL_FRAMES, NULL, NULL, NULL, NULL,
         "1,2"},
        {DVH_GET, W "/studies/1.2/series/3.4/instances/5.6/frames/1/rendered", ANY, DVH_TAIL_FRAMES_RENDERED, NULL,
         NULL, NULL, NULL, NULL},
        {DVH_GET, W "/studies/1.2/series/3.4/instances/5.6/rendered", ANY, DVH_TAIL_RENDERED, NULL, NULL, NULL, NULL,
         NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(route(cases[i].m, cases[i].path, &r, &e), 0);
        assert_int_equal(r.kind, DVH_R_DICOMWEB);
        if (cases[i].collection != ANY)
            assert_int_equal(r.web.collection, cases[i].collection);
        if (cases[i].tail != ANY)
            assert_int_equal(r.web.tail, cases[i].tail);
        if (cases[i].name)
            assert_string_equal(r.name, cases[i].name);
        if (cases[i].study)
            assert_string_equal(r.web.study, cases[i].study);
        if (cases[i].series)
            assert_string_equal(r.web.series, cases[i].series);
        if (cases[i].instance)
            assert_string_equal(r.web.instance, cases[i].instance);
        if (cases[i].frames)
            assert_string_equal(r.web.frames, cases[i].frames);
    }
}

static void test_not_found(void **state)
{
    (void)state;
    dvh_route r;
    dvh_err e;
    static const char *const paths[] = {
        "/", "", "/v2/projects/p/locations/l/datasets", "/v1beta1/projects/p/locations/l",
        "/v1beta1/projects/p/locations/l/datasets/", "/v1beta1/projects/p/locations/l/datasets//x",
        "/v1beta1/projects/p/locations/l/datasets/d/other", P "/d:frobnicate", P "/d/dicomStores/s:nope",
        P ":deidentify", P "/d/dicomStores/s/dicomWeb", P "/d/dicomStores/s/dicomWeb/studies/1/x",
        P "/d/dicomStores/s/dicomWeb/series/1", P "/d:deidentify/dicomStores/s",
        P "/d/dicomStores/s/dicomWeb/studies/1/series/2/instances/3/frames/1/x",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        if (route(DVH_GET, paths[i], &r, &e) != -1 || e.status != DVH_NOT_FOUND)
            fail_msg("%s: expected 404, got status %d", paths[i], (int)e.status);
    }
}

/* Every ID position refuses a dot-segment, a separator or a byte outside the pattern: 400, and the message
 * names the field, never the text. [docs/decisions.md "Server resource names"] */
static void test_traversal_refused(void **state)
{
    (void)state;
    dvh_route r;
    dvh_err e;
    static const char *const bad[] = {
        "/v1beta1/projects/../locations/l/datasets",
        "/v1beta1/projects/p/locations/../datasets",
        P "/..",
        P "/.",
        P "/../dicomStores",
        P "/d/dicomStores/..",
        P "/d/dicomStores/../dicomWeb/studies",
        P "/d/dicomStores/s/dicomWeb/studies/..",
        P "/d/dicomStores/s/dicomWeb/studies/1.2/series/../instances",
        P "/a/../../../etc/dicomStores/s",
        P "/d%2F..",
        P "/d\\..\\x",
        P "/d$x",
        P "/d x",
        P "/d/dicomStores/s/dicomWeb/studies/1..2",
        P "/d/dicomStores/s/dicomWeb/studies/.1",
        P "/d/dicomStores/s/dicomWeb/studies/1.2a",
        P "/d/dicomStores/s/dicomWeb/studies/1.2/series/3/instances/4/frames/1;2",
        P "/d/operations/../x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (route(DVH_GET, bad[i], &r, &e) != -1 || e.status != DVH_INVALID_ARGUMENT)
            fail_msg("%s: expected 400, got status %d", bad[i], (int)e.status);
        assert_null(strchr(e.message, '/')); /* the path is never echoed */
        assert_null(strstr(e.message, "etc"));
    }
    /* A NUL inside the path (a %00 decoded by the HTTP library) is refused too. */
    const char nul[] = P "/d\0/dicomStores";
    assert_int_equal(dvh_route_match(DVH_GET, nul, sizeof nul - 1, &r, &e), -1);
    assert_int_equal(e.status, DVH_INVALID_ARGUMENT);
    /* Length caps: a 257-byte ID is refused, 256 is fine. */
    char path[600];
    char id[258];
    memset(id, 'a', 257);
    id[257] = '\0';
    snprintf(path, sizeof path, P "/%s", id);
    assert_int_equal(route(DVH_GET, path, &r, &e), -1);
    assert_int_equal(e.status, DVH_INVALID_ARGUMENT);
    id[256] = '\0';
    snprintf(path, sizeof path, P "/%s", id);
    assert_int_equal(route(DVH_GET, path, &r, &e), 0);
    /* A 65-digit UID is refused. */
    char uid[66];
    memset(uid, '1', 65);
    uid[65] = '\0';
    snprintf(path, sizeof path, P "/d/dicomStores/s/dicomWeb/studies/%s", uid);
    assert_int_equal(route(DVH_GET, path, &r, &e), -1);
    assert_int_equal(e.status, DVH_INVALID_ARGUMENT);
}

static void test_method_not_allowed(void **state)
{
    (void)state;
    dvh_route r;
    dvh_err e;
    assert_int_equal(route(DVH_PUT, P "/d", &r, &e), -1);
    assert_int_equal(e.status, DVH_METHOD);
    assert_int_equal(r.allow, DVH_GET | DVH_DELETE);
    assert_int_equal(route(DVH_DELETE, P, &r, &e), -1);
    assert_int_equal(e.status, DVH_METHOD);
    assert_int_equal(route(DVH_GET, P "/d:deidentify", &r, &e), -1);
    assert_int_equal(e.status, DVH_METHOD);
    assert_int_equal(route(DVH_POST, P "/d/dicomStores/s/dicomWeb/series", &r, &e), -1);
    assert_int_equal(e.status, DVH_METHOD);
    /* HEAD is GET without a body. */
    assert_int_equal(route(DVH_HEAD, P "/d", &r, &e), 0);
    assert_int_equal(dvh_method_parse("GET"), DVH_GET);
    assert_int_equal(dvh_method_parse("get"), DVH_OTHER);
    assert_int_equal(dvh_method_parse("BREW"), DVH_OTHER);
}

static void test_id_and_uid_rules(void **state)
{
    (void)state;
    assert_true(dvh_id_valid("a", 1));
    assert_true(dvh_id_valid("A-b_c.9", 7));
    assert_true(dvh_id_valid("...", 3));
    assert_false(dvh_id_valid("..", 2));
    assert_false(dvh_id_valid(".", 1));
    assert_false(dvh_id_valid("", 0));
    assert_false(dvh_id_valid("a/b", 3));
    assert_false(dvh_id_valid("a:b", 3));
    assert_false(dvh_id_valid("\xc3\xa9", 2));
    assert_true(dvh_uid_valid("1.2.840.10008", 13));
    assert_false(dvh_uid_valid("1.2.", 4));
    assert_false(dvh_uid_valid("1..2", 4));
    assert_false(dvh_uid_valid("1.2x", 4));
    /* A leading zero is no UID (dv_uid_valid), but a store must still answer for an instance a keepTag kept
     * with one: the routes accept it (docs/decisions.md "One home for UID syntax"). */
    assert_true(dvh_uid_valid("1.02", 4));
    assert_false(dvh_uid_valid("1.2 ", 4));
}

static void test_bulkdata_paths(void **state)
{
    (void)state;
    dvh_route r;
    dvh_err e;
#define I P "/d/dicomStores/s/dicomWeb/studies/1.2/series/1.3/instances/1.4/bulkdata"
    assert_int_equal(route(DVH_GET, I "/7FE00010", &r, &e), 0);
    assert_int_equal(r.web.tail, DVH_TAIL_BULKDATA);
    assert_string_equal(r.web.bulk, "7FE00010");
    assert_string_equal(r.name, "dicomWeb.retrieveBulkdata");
    assert_int_equal(route(DVH_GET, I "/00540016/0/00181072", &r, &e), 0);
    assert_string_equal(r.web.bulk, "00540016/0/00181072");
    assert_int_equal(route(DVH_GET, I "/00540016/0", &r, &e), -1); /* ends in an item: not a value */
    assert_int_equal(e.status, DVH_NOT_FOUND);
    assert_int_equal(route(DVH_GET, I "/7FE0001", &r, &e), -1);
    assert_int_equal(e.status, DVH_INVALID_ARGUMENT);
    assert_int_equal(route(DVH_GET, I "/00540016/x/00181072", &r, &e), -1);
    assert_int_equal(e.status, DVH_INVALID_ARGUMENT);
    assert_int_equal(route(DVH_DELETE, I "/7FE00010", &r, &e), -1);
    assert_int_equal(e.status, DVH_METHOD);
#undef I
}

/* A name has one spelling: the path as sent may not escape a character that needs no escape, nor a '/' (the
 * router reads the decoded path, where "%33" was "3"); an operation ID is decimal without leading zeros. */
static void test_path_spelling(void **state)
{
    (void)state;
    static const char *const plain[] = {
        "/v1beta1/projects/p/locations/l/datasets/ds/operations/3",
        "/v1beta1/projects/p/locations/l/datasets/ds/operations/3%3Acancel",
        "/v1/projects/p/locations/l/datasets/ds/dicomStores/s/dicomWeb/studies/1.2/series/1.3/instances/1.4/"
        "frames/1%2C2",
        "/v1beta1/projects/p/locations/l/datasets/a%20b", /* decodes to a name the router refuses (400) */
        "/x%", "/x%4", "/x%zz", "",
    };
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if (!dvh_path_spelled_plainly(plain[i], strlen(plain[i])))
            fail_msg("refused: %s", plain[i]);
    static const char *const alias[] = {
        "/v1beta1/projects/p/locations/l/datasets/ds/operations/%33",
        "/v1beta1/projects/p/locations/l/datasets/d%73",
        "/v1beta1/projects/p/locations/l/datasets/ds%2FdicomStores%2Fst",
        "/v1beta1/projects/p/locations/l/datasets/ds%2fdicomStores",
        "/v1beta1/projects/p/locations/l/datasets/ds%2D1", "/x%2E", "/x%5F", "/x%7e", "/%61",
    };
    for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
        if (dvh_path_spelled_plainly(alias[i], strlen(alias[i])))
            fail_msg("accepted: %s", alias[i]);
    int64_t id = 0;
    assert_int_equal(dvh_op_id_parse("3", &id), 0);
    assert_int_equal(id, 3);
    assert_int_equal(dvh_op_id_parse("123456789012345678", &id), 0);
    static const char *const bad_ids[] = {"", "0", "00003", "03", "+3", "-3", "3a", "1234567890123456789", " 3"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++)
        if (dvh_op_id_parse(bad_ids[i], &id) == 0)
            fail_msg("accepted operation ID: '%s'", bad_ids[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resource_routes), cmocka_unit_test(test_bulkdata_paths),  cmocka_unit_test(test_dicomweb_routes),
        cmocka_unit_test(test_not_found),        cmocka_unit_test(test_traversal_refused),
        cmocka_unit_test(test_method_not_allowed), cmocka_unit_test(test_id_and_uid_rules),
        cmocka_unit_test(test_path_spelling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
