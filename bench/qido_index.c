/* QIDO on the SQLite index without HTTP (bench/qido_stmt_cache.sh; bench/RESULTS.md "QIDO statement
 * cache"): an index of N instances (STUDIES studies x 2 series x 5 instances, attributes shaped like the
 * corpus's), then Q queries of five usual shapes with changing values: PatientID exact, PatientName wildcard,
 * StudyDate range, the series of one study, the instances of one study. Prints the wall time per query;
 * under callgrind, --toggle-collect=run_queries counts the queries' instructions only.
 *
 *   qido_index DIR [STUDIES] [QUERIES] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/dvs_index.h"

static int count_row(const dvs_row *row, void *user)
{
    (void)row;
    (*(unsigned long *)user)++;
    return 0;
}

static void set(dvs_instance_rec *rec, const char *kw, const char *v)
{
    const dvs_attr *a = dvs_attr_by_name(kw);
    rec->attr[a - dvs_attrs] = v;
}

static void build(dvs_index *ix, int64_t store, int studies)
{
    dv_error err;
    char pid[32], name[64], date[16], num[16];
    for (int s = 0; s < studies; s++) {
        snprintf(pid, sizeof pid, "PID%05d", s);
        snprintf(name, sizeof name, "Patient%05d^Given", s);
        snprintf(date, sizeof date, "20%02d%02d%02d", 10 + s % 15, 1 + s % 12, 1 + s % 28);
        for (int k = 0; k < 10; k++) {
            dvs_instance_rec rec;
            memset(&rec, 0, sizeof rec);
            snprintf(rec.study_uid, sizeof rec.study_uid, "1.2.826.0.1.3680043.9.%d", s);
            snprintf(rec.series_uid, sizeof rec.series_uid, "1.2.826.0.1.3680043.9.%d.%d", s, k / 5);
            snprintf(rec.sop_uid, sizeof rec.sop_uid, "1.2.826.0.1.3680043.9.%d.%d.%d", s, k / 5, k);
            snprintf(rec.sop_class_uid, sizeof rec.sop_class_uid, "1.2.840.10008.5.1.4.1.1.4");
            snprintf(rec.transfer_syntax, sizeof rec.transfer_syntax, "1.2.840.10008.1.2.1");
            memset(rec.blob, 'a' + k, 64);
            rec.size = 100000;
            snprintf(num, sizeof num, "%d", k + 1);
            set(&rec, "PatientID", pid);
            set(&rec, "PatientName", name);
            set(&rec, "StudyDate", date);
            set(&rec, "Modality", k / 5 ? "MR" : "CT");
            set(&rec, "InstanceNumber", num);
            set(&rec, "SOPClassUID", rec.sop_class_uid);
            char existing[65];
            if (ix->ops->instance_put(ix, store, &rec, existing, &err) != DVS_OK) {
                fprintf(stderr, "put: %s\n", err.message);
                exit(1);
            }
        }
    }
}

static void one_match(dvs_query *q, const char *kw, dvs_match_kind kind, const char *v, const char *hi)
{
    q->nmatch = 1;
    q->match[0].attr = dvs_attr_by_name(kw);
    q->match[0].kind = kind;
    snprintf(q->match[0].value, sizeof q->match[0].value, "%s", v);
    snprintf(q->match[0].hi, sizeof q->match[0].hi, "%s", hi);
}

/* Not static and not inlined: callgrind's --toggle-collect names it. */
__attribute__((noinline)) unsigned long run_queries(dvs_index *ix, int64_t store, int studies, int queries)
{
    unsigned long rows = 0;
    dv_error err;
    for (int i = 0; i < queries; i++) {
        int s = (i * 7919) % studies;
        dvs_query q;
        memset(&q, 0, sizeof q);
        q.limit = 100;
        char v[80];
        switch (i % 5) {
        case 0:
            q.level = DVS_STUDY;
            snprintf(v, sizeof v, "PID%05d", s);
            one_match(&q, "PatientID", DVS_MATCH_SINGLE, v, "");
            break;
        case 1:
            q.level = DVS_STUDY;
            snprintf(v, sizeof v, "Patient%04d*", s / 10);
            one_match(&q, "PatientName", DVS_MATCH_WILDCARD, v, "");
            break;
        case 2:
            q.level = DVS_STUDY;
            snprintf(v, sizeof v, "20%02d0101", 10 + s % 15);
            one_match(&q, "StudyDate", DVS_MATCH_RANGE, v, "20101231");
            break;
        case 3:
            q.level = DVS_SERIES;
            snprintf(q.study, sizeof q.study, "1.2.826.0.1.3680043.9.%d", s);
            break;
        default:
            q.level = DVS_INSTANCE;
            snprintf(q.study, sizeof q.study, "1.2.826.0.1.3680043.9.%d", s);
            break;
        }
        if (ix->ops->query(ix, store, &q, count_row, &rows, &err) != DVS_OK) {
            fprintf(stderr, "query: %s\n", err.message);
            exit(1);
        }
    }
    return rows;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: qido_index DIR [STUDIES] [QUERIES]\n");
        return 2;
    }
    int studies = argc > 2 ? atoi(argv[2]) : 500;
    int queries = argc > 3 ? atoi(argv[3]) : 5000;
    char path[4096];
    snprintf(path, sizeof path, "%s/bench-index.sqlite", argv[1]);
    remove(path);
    dv_error err;
    dvs_index *ix = dvs_sqlite_open(path, &err);
    if (ix == NULL) {
        fprintf(stderr, "open: %s\n", err.message);
        return 1;
    }
    dvs_dataset d;
    memset(&d, 0, sizeof d);
    strcpy(d.project, "p");
    strcpy(d.location, "l");
    strcpy(d.name, "d");
    dvs_store st;
    if (ix->ops->dataset_create(ix, &d, &err) != DVS_OK ||
        ix->ops->store_create(ix, d.id, "s", NULL, &st, &err) != DVS_OK) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    dvs_store_clear(&st);
    struct timespec t0, t1, t2;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    build(ix, st.id, studies);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    unsigned long rows = run_queries(ix, st.id, studies, queries);
    clock_gettime(CLOCK_MONOTONIC, &t2);
    double put_us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / (studies * 10.0);
    double q_us = ((t2.tv_sec - t1.tv_sec) * 1e9 + (t2.tv_nsec - t1.tv_nsec)) / 1e3 / queries;
    printf("instances %d  put %.1f us/instance  queries %d  rows %lu  query %.1f us/query\n", studies * 10, put_us,
           queries, rows, q_us);
    ix->ops->close(ix);
    remove(path);
    return 0;
}
