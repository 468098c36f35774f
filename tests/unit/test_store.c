/* The store (src/store): instance files named by content hash only and written atomically, and the SQLite
 * index behind the dvs_index interface (datasets, stores, instances, duplicates, QIDO queries, metrics,
 * cascading deletes, long-running operations and their work items). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "dicomveil/dv_engine.h"
#include "store/dvs_blobs.h"
#include "store/dvs_index.h"
#include "store/dvs_keys.h"

static char tmpdir[] = "/tmp/dv-test-store-XXXXXX";

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.' || (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0))
            n++;
    closedir(d);
    return n;
}

/* A blob's name is the SHA-256 of its bytes (never anything a client sent); the same bytes twice are one
 * file; an aborted or over-limit write leaves nothing. [docs/decisions.md "Server storage"] */
static void test_blob_names(void **state)
{
    (void)state;
    int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);
    dv_error err;
    char hex[65];
    for (int round = 0; round < 2; round++) {
        dvs_blob_writer *w = dvs_blob_begin(dfd, 7, 1000, &err);
        assert_non_null(w);
        assert_int_equal(dvs_blob_write(w, "abc", 3, &err), 0);
        dvs_blob_hash(w, hex);
        assert_int_equal(dvs_blob_commit(w, &err), 0);
    }
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    char dir[128], path[256];
    snprintf(dir, sizeof dir, "%s/stores/7", tmpdir);
    assert_int_equal(count_files(dir), 1);
    snprintf(path, sizeof path, "%s/%s.dcm", dir, hex);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 3);
    /* Over the limit: DV_ERR_LIMIT, and aborting leaves no file behind. */
    dvs_blob_writer *w = dvs_blob_begin(dfd, 7, 4, &err);
    assert_non_null(w);
    assert_int_equal(dvs_blob_write(w, "abcd", 4, &err), 0);
    assert_int_equal(dvs_blob_write(w, "e", 1, &err), -1);
    assert_int_equal(err.code, DV_ERR_LIMIT);
    dvs_blob_abort(w);
    assert_int_equal(count_files(dir), 1);
    /* Reading back by name; a malformed name is refused before any file system call. */
    int fd = dvs_blob_open(dfd, 7, hex, &err);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(dvs_blob_open(dfd, 7, "../../etc/passwd", &err), -1);
    assert_int_equal(dvs_store_dir_remove(dfd, 7), 0);
    assert_int_equal(count_files(dir), -1);
    close(dfd);
}

static int collect_uid(const dvs_row *row, void *user)
{
    char *out = user;
    for (size_t i = 0; i < dvs_nattrs; i++)
        if (dvs_attrs[i].tag == 0x00080018 && row->attr[i]) {
            strcat(out, row->attr[i]);
            strcat(out, ";");
        }
    return 0;
}

static void put(dvs_index *ix, int64_t store, const char *study, const char *series, const char *sop,
                const char *patient_id, const char *date, const char *modality, int expect)
{
    dvs_instance_rec rec;
    memset(&rec, 0, sizeof rec);
    snprintf(rec.study_uid, sizeof rec.study_uid, "%s", study);
    snprintf(rec.series_uid, sizeof rec.series_uid, "%s", series);
    snprintf(rec.sop_uid, sizeof rec.sop_uid, "%s", sop);
    snprintf(rec.sop_class_uid, sizeof rec.sop_class_uid, "1.2.840.10008.5.1.4.1.1.2");
    snprintf(rec.transfer_syntax, sizeof rec.transfer_syntax, "1.2.840.10008.1.2.1");
    memset(rec.blob, 'a', 64);
    rec.size = 100;
    for (size_t i = 0; i < dvs_nattrs; i++) {
        if (dvs_attrs[i].tag == 0x00100020)
            rec.attr[i] = patient_id;
        if (dvs_attrs[i].tag == 0x00080020)
            rec.attr[i] = date;
        if (dvs_attrs[i].tag == 0x00080060)
            rec.attr[i] = modality;
        if (dvs_attrs[i].tag == 0x00080016)
            rec.attr[i] = rec.sop_class_uid;
    }
    char existing[65];
    dv_error err;
    assert_int_equal(ix->ops->instance_put(ix, store, &rec, existing, &err), expect);
}

static const dvs_attr *attr(const char *kw)
{
    const dvs_attr *a = dvs_attr_by_name(kw);
    assert_non_null(a);
    return a;
}

static void test_index(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/index.sqlite", tmpdir);
    dv_error err;
    dvs_index *ix = dvs_sqlite_open(path, &err);
    assert_non_null(ix);
    dvs_dataset d;
    memset(&d, 0, sizeof d);
    strcpy(d.project, "p");
    strcpy(d.location, "l");
    strcpy(d.name, "d");
    assert_int_equal(ix->ops->dataset_create(ix, &d, &err), DVS_OK);
    assert_int_equal(ix->ops->dataset_create(ix, &d, &err), DVS_EXISTS);
    dvs_dataset got;
    assert_int_equal(ix->ops->dataset_get(ix, "p", "l", "d", &got, &err), DVS_OK);
    assert_int_equal(got.id, d.id);
    assert_int_equal(ix->ops->dataset_get(ix, "p", "l", "x", &got, &err), DVS_NOT_FOUND);
    dvs_store st;
    assert_int_equal(ix->ops->store_create(ix, d.id, "s", NULL, &st, &err), DVS_OK);
    dvs_store_clear(&st);
    assert_int_equal(ix->ops->store_create(ix, d.id, "s", NULL, &st, &err), DVS_EXISTS);
    assert_int_equal(ix->ops->store_get(ix, d.id, "s", &st, &err), DVS_OK);
    int64_t sid = st.id;
    assert_string_equal(st.labels_json, "{}");
    dvs_store_clear(&st);

    put(ix, sid, "1.1", "1.1.1", "1.1.1.1", "PAT1", "20200101", "CT", DVS_OK);
    put(ix, sid, "1.1", "1.1.1", "1.1.1.2", "PAT1", "20200101", "CT", DVS_OK);
    put(ix, sid, "1.1", "1.1.2", "1.1.2.1", "PAT1", "20200101", "MR", DVS_OK);
    put(ix, sid, "2.1", "2.1.1", "2.1.1.1", "PAT2", "20210615", "CT", DVS_OK);
    put(ix, sid, "2.1", "2.1.1", "2.1.1.1", "PAT2", "20210615", "CT", DVS_EXISTS); /* same SOP UID */
    dvs_metrics m;
    assert_int_equal(ix->ops->store_metrics(ix, sid, &m, &err), DVS_OK);
    assert_int_equal(m.studies, 2);
    assert_int_equal(m.series, 3);
    assert_int_equal(m.instances, 4);
    assert_int_equal(m.bytes, 400);

    dvs_query q;
    memset(&q, 0, sizeof q);
    q.level = DVS_INSTANCE;
    q.limit = 100;
    q.nmatch = 1;
    q.match[0].attr = attr("PatientID");
    q.match[0].kind = DVS_MATCH_WILDCARD;
    strcpy(q.match[0].value, "PAT?");
    char uids[512] = "";
    assert_int_equal(ix->ops->query(ix, sid, &q, collect_uid, uids, &err), DVS_OK);
    assert_string_equal(uids, "1.1.1.1;1.1.1.2;1.1.2.1;2.1.1.1;");
    /* Date range, modality of a series, a study-scoped instance search, limit and offset. */
    q.match[0].attr = attr("StudyDate");
    q.match[0].kind = DVS_MATCH_RANGE;
    strcpy(q.match[0].value, "20210101");
    q.match[0].hi[0] = '\0';
    uids[0] = '\0';
    assert_int_equal(ix->ops->query(ix, sid, &q, collect_uid, uids, &err), DVS_OK);
    assert_string_equal(uids, "2.1.1.1;");
    q.match[0].attr = attr("Modality");
    q.match[0].kind = DVS_MATCH_SINGLE;
    strcpy(q.match[0].value, "MR");
    uids[0] = '\0';
    assert_int_equal(ix->ops->query(ix, sid, &q, collect_uid, uids, &err), DVS_OK);
    assert_string_equal(uids, "1.1.2.1;");
    q.nmatch = 0;
    strcpy(q.study, "1.1");
    q.limit = 2;
    q.offset = 1;
    uids[0] = '\0';
    assert_int_equal(ix->ops->query(ix, sid, &q, collect_uid, uids, &err), DVS_OK);
    assert_string_equal(uids, "1.1.1.2;1.1.2.1;");
    /* A value with GLOB's '[' matches literally. */
    memset(&q, 0, sizeof q);
    q.level = DVS_STUDY;
    q.limit = 10;
    q.nmatch = 1;
    q.match[0].attr = attr("PatientID");
    q.match[0].kind = DVS_MATCH_WILDCARD;
    strcpy(q.match[0].value, "[P]*");
    uids[0] = '\0';
    assert_int_equal(ix->ops->query(ix, sid, &q, collect_uid, uids, &err), DVS_OK);
    assert_string_equal(uids, "");

    /* Deleting the dataset removes everything under it and names the store's id. */
    int64_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(ix->ops->dataset_delete(ix, d.id, &ids, &n, &err), DVS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], sid);
    free(ids);
    assert_int_equal(ix->ops->store_metrics(ix, sid, &m, &err), DVS_OK);
    assert_int_equal(m.instances, 0);
    ix->ops->close(ix);
}

static dvs_index *open_ops_index(const char *name, int64_t *dataset_id)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    dv_error err;
    dvs_index *ix = dvs_sqlite_open(path, &err);
    assert_non_null(ix);
    dvs_dataset d;
    memset(&d, 0, sizeof d);
    strcpy(d.project, "p");
    strcpy(d.location, "l");
    strcpy(d.name, "d");
    assert_int_equal(ix->ops->dataset_create(ix, &d, &err), DVS_OK);
    *dataset_id = d.id;
    return ix;
}

/* Operations: create, get (by dataset or any), list filtered on done and paged, cancel, finish once; the
 * request is kept for the runner, a list never carries it. [docs/server.md "Operations"] */
static void test_operations(void **state)
{
    (void)state;
    int64_t ds;
    dvs_index *ix = open_ops_index("ops.sqlite", &ds);
    dv_error err;
    int64_t ids[5];
    for (int i = 0; i < 5; i++) {
        dvs_operation op;
        memset(&op, 0, sizeof op);
        op.dataset_id = ds;
        snprintf(op.api_method, sizeof op.api_method, "m%d", i);
        op.request_json = (char *)"{\"k\":1}";
        assert_int_equal(ix->ops->op_create(ix, &op, &err), DVS_OK);
        assert_true(op.id > 0);
        assert_int_equal(strlen(op.create_time), 27);
        ids[i] = op.id;
    }
    dvs_operation got;
    assert_int_equal(ix->ops->op_get(ix, ds, ids[2], &got, &err), DVS_OK);
    assert_string_equal(got.api_method, "m2");
    assert_string_equal(got.request_json, "{\"k\":1}");
    assert_null(got.result_json);
    assert_int_equal(got.done, 0);
    assert_string_equal(got.end_time, "");
    dvs_operation_clear(&got);
    assert_int_equal(ix->ops->op_get(ix, 0, ids[2], &got, &err), DVS_OK);
    dvs_operation_clear(&got);
    assert_int_equal(ix->ops->op_get(ix, ds + 1, ids[2], &got, &err), DVS_NOT_FOUND);
    assert_int_equal(ix->ops->op_get(ix, ds, 9999, &got, &err), DVS_NOT_FOUND);

    /* Finish 1 and 3; a second finish changes nothing. */
    assert_int_equal(ix->ops->op_finish(ix, ids[1], "{\"response\":{}}", &err), DVS_OK);
    assert_int_equal(ix->ops->op_finish(ix, ids[3], "{\"error\":{\"code\":1}}", &err), DVS_OK);
    assert_int_equal(ix->ops->op_finish(ix, ids[3], "{\"response\":{}}", &err), DVS_EXISTS);
    assert_int_equal(ix->ops->op_finish(ix, 9999, "{}", &err), DVS_NOT_FOUND);
    assert_int_equal(ix->ops->op_get(ix, ds, ids[3], &got, &err), DVS_OK);
    assert_int_equal(got.done, 1);
    assert_string_equal(got.result_json, "{\"error\":{\"code\":1}}");
    assert_int_equal(strlen(got.end_time), 27);
    dvs_operation_clear(&got);

    /* List: done=1 gives 1 and 3; done=0 pages 2 at a time over 0, 2, 4. */
    dvs_operation v[3];
    size_t n;
    int64_t next;
    assert_int_equal(ix->ops->op_list(ix, ds, 1, 0, 10, v, &n, &next, &err), DVS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(next, 0);
    assert_int_equal(v[0].id, ids[1]);
    assert_int_equal(v[1].id, ids[3]);
    assert_null(v[0].request_json);
    assert_non_null(v[0].result_json);
    for (size_t i = 0; i < n; i++)
        dvs_operation_clear(&v[i]);
    assert_int_equal(ix->ops->op_list(ix, ds, 0, 0, 2, v, &n, &next, &err), DVS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(v[0].id, ids[0]);
    assert_int_equal(v[1].id, ids[2]);
    assert_int_equal(next, ids[2]);
    for (size_t i = 0; i < n; i++)
        dvs_operation_clear(&v[i]);
    assert_int_equal(ix->ops->op_list(ix, ds, 0, next, 2, v, &n, &next, &err), DVS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].id, ids[4]);
    assert_int_equal(next, 0);
    dvs_operation_clear(&v[0]);
    assert_int_equal(ix->ops->op_list(ix, 0, -1, 0, 3, v, &n, &next, &err), DVS_OK);
    assert_int_equal(n, 3);
    assert_int_equal(next, ids[2]);
    for (size_t i = 0; i < n; i++)
        dvs_operation_clear(&v[i]);
    assert_int_equal(ix->ops->op_list(ix, ds + 1, -1, 0, 3, v, &n, &next, &err), DVS_OK);
    assert_int_equal(n, 0);

    /* Cancel: sets the flag on a running one, a no-op on a finished one, 404 on none. */
    assert_int_equal(ix->ops->op_cancel(ix, ids[0], &err), DVS_OK);
    assert_int_equal(ix->ops->op_cancel(ix, ids[1], &err), DVS_OK);
    assert_int_equal(ix->ops->op_cancel(ix, 9999, &err), DVS_NOT_FOUND);
    assert_int_equal(ix->ops->op_get(ix, ds, ids[0], &got, &err), DVS_OK);
    assert_int_equal(got.cancel_requested, 1);
    dvs_operation_clear(&got);
    assert_int_equal(ix->ops->op_get(ix, ds, ids[1], &got, &err), DVS_OK);
    assert_int_equal(got.cancel_requested, 0);
    dvs_operation_clear(&got);

    /* Deleting the dataset deletes its operations. */
    int64_t *stores = NULL;
    size_t ns = 0;
    assert_int_equal(ix->ops->dataset_delete(ix, ds, &stores, &ns, &err), DVS_OK);
    free(stores);
    assert_int_equal(ix->ops->op_get(ix, 0, ids[0], &got, &err), DVS_NOT_FOUND);
    ix->ops->close(ix);
}

/* Work items: planning adds them (a taken seq refused whole), planned counts them pending; a finish moves
 * one count once (a second finish of the same item, as after a crash, counts nothing); pending items page
 * in seq order; failed ones are the error log; the state survives closing and reopening the index; a reset
 * drops an interrupted planning. [docs/server.md "Operations"] */
static void test_operation_items(void **state)
{
    (void)state;
    int64_t ds;
    dvs_index *ix = open_ops_index("items.sqlite", &ds);
    dv_error err;
    dvs_operation op;
    memset(&op, 0, sizeof op);
    op.dataset_id = ds;
    strcpy(op.api_method, "deid");
    assert_int_equal(ix->ops->op_create(ix, &op, &err), DVS_OK);
    dvs_op_item *items = calloc(10, sizeof *items);
    assert_non_null(items);
    for (int i = 0; i < 10; i++) {
        items[i].seq = i + 1;
        items[i].src_store_id = 7;
        items[i].dst_store_id = 8;
        snprintf(items[i].study_uid, sizeof items[i].study_uid, "1.2");
        snprintf(items[i].series_uid, sizeof items[i].series_uid, "1.2.3");
        snprintf(items[i].sop_uid, sizeof items[i].sop_uid, "1.2.3.%d", i + 1);
        memset(items[i].blob, 'a' + i, 64);
    }
    assert_int_equal(ix->ops->op_items_add(ix, op.id, items, 6, &err), DVS_OK);
    /* items 5..10: 5 and 6 are taken, so none of them is added */
    assert_int_equal(ix->ops->op_items_add(ix, op.id, items + 4, 6, &err), DVS_EXISTS);
    assert_int_equal(ix->ops->op_items_add(ix, op.id, items + 6, 4, &err), DVS_OK);
    assert_int_equal(ix->ops->op_items_add(ix, 9999, items, 1, &err), DVS_NOT_FOUND);
    assert_int_equal(ix->ops->op_planned(ix, op.id, &err), DVS_OK);
    dvs_operation got;
    assert_int_equal(ix->ops->op_get(ix, ds, op.id, &got, &err), DVS_OK);
    assert_int_equal(got.planned, 1);
    assert_int_equal(got.pending, 10);
    dvs_operation_clear(&got);

    assert_int_equal(ix->ops->op_item_finish(ix, op.id, 1, DVS_ITEM_OK, NULL, &err), DVS_OK);
    assert_int_equal(ix->ops->op_item_finish(ix, op.id, 1, DVS_ITEM_OK, NULL, &err), DVS_EXISTS);
    assert_int_equal(ix->ops->op_item_finish(ix, op.id, 3, DVS_ITEM_FAILED, "NOT_DICOM", &err), DVS_OK);
    assert_int_equal(ix->ops->op_item_finish(ix, op.id, 3, DVS_ITEM_OK, NULL, &err), DVS_EXISTS);
    assert_int_equal(ix->ops->op_item_finish(ix, op.id, 4, DVS_ITEM_OK, NULL, &err), DVS_OK);
    assert_int_equal(ix->ops->op_item_finish(ix, op.id, 99, DVS_ITEM_OK, NULL, &err), DVS_NOT_FOUND);
    assert_int_equal(ix->ops->op_item_finish(ix, op.id, 5, DVS_ITEM_PENDING, NULL, &err), -1);
    assert_int_equal(err.code, DV_ERR_USAGE);

    /* Closed and opened again (a restart): the same state. */
    ix->ops->close(ix);
    char path[256];
    snprintf(path, sizeof path, "%s/items.sqlite", tmpdir);
    ix = dvs_sqlite_open(path, &err);
    assert_non_null(ix);
    assert_int_equal(ix->ops->op_get(ix, ds, op.id, &got, &err), DVS_OK);
    assert_int_equal(got.success, 2);
    assert_int_equal(got.failure, 1);
    assert_int_equal(got.pending, 7);
    dvs_operation_clear(&got);
    dvs_op_item page[4];
    size_t n;
    assert_int_equal(ix->ops->op_items_pending(ix, op.id, 0, 4, page, &n, &err), DVS_OK);
    assert_int_equal(n, 4);
    assert_int_equal(page[0].seq, 2);
    assert_int_equal(page[1].seq, 5);
    assert_int_equal(page[3].seq, 7);
    assert_string_equal(page[1].sop_uid, "1.2.3.5");
    assert_int_equal(page[1].src_store_id, 7);
    assert_int_equal(page[1].dst_store_id, 8);
    assert_int_equal(strlen(page[1].blob), 64);
    assert_int_equal(page[1].state, DVS_ITEM_PENDING);
    assert_int_equal(ix->ops->op_items_pending(ix, op.id, 7, 4, page, &n, &err), DVS_OK);
    assert_int_equal(n, 3);
    assert_int_equal(page[0].seq, 8);
    int64_t next;
    assert_int_equal(ix->ops->op_errors(ix, op.id, 0, 4, page, &n, &next, &err), DVS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(next, 0);
    assert_int_equal(page[0].seq, 3);
    assert_string_equal(page[0].error_class, "NOT_DICOM");
    assert_int_equal(page[0].state, DVS_ITEM_FAILED);

    /* An interrupted planning is redone from nothing. */
    assert_int_equal(ix->ops->op_items_reset(ix, op.id, &err), DVS_OK);
    assert_int_equal(ix->ops->op_get(ix, ds, op.id, &got, &err), DVS_OK);
    assert_int_equal(got.planned, 0);
    assert_int_equal(got.success + got.failure + got.pending, 0);
    dvs_operation_clear(&got);
    assert_int_equal(ix->ops->op_items_pending(ix, op.id, 0, 4, page, &n, &err), DVS_OK);
    assert_int_equal(n, 0);
    assert_int_equal(ix->ops->op_items_add(ix, op.id, items, 10, &err), DVS_OK);
    free(items);
    ix->ops->close(ix);
}

/* A dataset's key: created once (0600 in a 0700 DATA/keys), the same key at every later use (same UIDs),
 * one per dataset, gone with its dataset. [docs/server.md "The dataset key"] */
static void test_dataset_key(void **state)
{
    (void)state;
    int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);
    dv_error err = {0};
    dv_key *a = dvs_dataset_key(dfd, 5, &err);
    assert_non_null(a);
    dv_key *b = dvs_dataset_key(dfd, 5, &err);
    assert_non_null(b);
    dv_key *c = dvs_dataset_key(dfd, 6, &err);
    assert_non_null(c);
    char ua[DV_UID_MAX + 1], ub[DV_UID_MAX + 1], uc[DV_UID_MAX + 1];
    dv_uid_regenerate(a, "1.2.3", 5, ua);
    dv_uid_regenerate(b, "1.2.3", 5, ub);
    dv_uid_regenerate(c, "1.2.3", 5, uc);
    assert_string_equal(ua, ub);
    assert_string_not_equal(ua, uc);
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/keys/5.key", tmpdir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 32);
    snprintf(path, sizeof path, "%s/keys", tmpdir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(count_files(path), 2);
    dvs_dataset_key_remove(dfd, 5);
    assert_int_equal(count_files(path), 1);
    dv_key *d = dvs_dataset_key(dfd, 5, &err); /* a new dataset with that row id gets a new key */
    dv_uid_regenerate(d, "1.2.3", 5, ub);
    assert_string_not_equal(ua, ub);
    dv_key_free(a);
    dv_key_free(b);
    dv_key_free(c);
    dv_key_free(d);
    close(dfd);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blob_names),
        cmocka_unit_test(test_index),
        cmocka_unit_test(test_operations),
        cmocka_unit_test(test_operation_items),
        cmocka_unit_test(test_dataset_key),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
