/* The store (src/store): instance files named by content hash only and written atomically, and the SQLite
 * index behind the dvs_index interface (datasets, stores, instances, duplicates, QIDO queries, metrics,
 * cascading deletes). */
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

#include "store/dvs_blobs.h"
#include "store/dvs_index.h"

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

static int count_ref(const dvs_blob_ref *r, void *user)
{
    (void)r;
    (*(int *)user)++;
    return 0;
}

/* instances_delete: one instance, a series, a study; emptied series and studies go with them; nothing to
 * delete is DVS_NOT_FOUND; another store's rows are untouched. */
static void test_instances_delete(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/index-del.sqlite", tmpdir);
    dv_error err;
    dvs_index *ix = dvs_sqlite_open(path, &err);
    assert_non_null(ix);
    dvs_dataset d;
    memset(&d, 0, sizeof d);
    strcpy(d.project, "p");
    strcpy(d.location, "l");
    strcpy(d.name, "d");
    assert_int_equal(ix->ops->dataset_create(ix, &d, &err), DVS_OK);
    dvs_store a, b;
    assert_int_equal(ix->ops->store_create(ix, d.id, "a", NULL, &a, &err), DVS_OK);
    assert_int_equal(ix->ops->store_create(ix, d.id, "b", NULL, &b, &err), DVS_OK);
    dvs_store_clear(&a);
    dvs_store_clear(&b);
    put(ix, a.id, "1.1", "1.1.1", "1.1.1.1", "P", "20200101", "CT", DVS_OK);
    put(ix, a.id, "1.1", "1.1.1", "1.1.1.2", "P", "20200101", "CT", DVS_OK);
    put(ix, a.id, "1.1", "1.1.2", "1.1.2.1", "P", "20200101", "MR", DVS_OK);
    put(ix, a.id, "1.2", "1.2.1", "1.2.1.1", "Q", "20200101", "CT", DVS_OK);
    put(ix, b.id, "1.1", "1.1.1", "1.1.1.1", "P", "20200101", "CT", DVS_OK);
    int n = 0;
    assert_int_equal(ix->ops->instances_delete(ix, a.id, "1.1", "1.1.1", "1.1.1.1", count_ref, &n, &err), DVS_OK);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(ix->ops->instances_delete(ix, a.id, "1.1", "1.1.1", "1.1.1.1", count_ref, &n, &err),
                     DVS_NOT_FOUND);
    assert_int_equal(n, 0);
    uint64_t refs = 9;
    char blob[65];
    memset(blob, 'a', 64);
    blob[64] = '\0';
    assert_int_equal(ix->ops->blob_refs(ix, a.id, blob, &refs, &err), DVS_OK);
    assert_int_equal(refs, 3);
    assert_int_equal(ix->ops->instances_delete(ix, a.id, "1.1", "1.1.2", NULL, count_ref, &n, &err), DVS_OK);
    assert_int_equal(n, 1);
    dvs_metrics m;
    assert_int_equal(ix->ops->store_metrics(ix, a.id, &m, &err), DVS_OK);
    assert_int_equal(m.instances, 2);
    assert_int_equal(m.series, 2); /* 1.1.2 went with its last instance */
    n = 0;
    assert_int_equal(ix->ops->instances_delete(ix, a.id, "1.1", NULL, NULL, count_ref, &n, &err), DVS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ix->ops->store_metrics(ix, a.id, &m, &err), DVS_OK);
    assert_int_equal(m.studies, 1);
    assert_int_equal(m.series, 1);
    assert_int_equal(m.instances, 1);
    assert_int_equal(ix->ops->store_metrics(ix, b.id, &m, &err), DVS_OK);
    assert_int_equal(m.instances, 1); /* the other store kept its copy */
    assert_int_equal(ix->ops->blob_refs(ix, b.id, blob, &refs, &err), DVS_OK);
    assert_int_equal(refs, 1);
    ix->ops->close(ix);
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
        cmocka_unit_test(test_instances_delete),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
