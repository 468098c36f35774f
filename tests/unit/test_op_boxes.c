/* Redaction boxes of de-identify operations (src/http/op_boxes.h): what the collector keeps from the box
 * observer's events, the record saved with the operation under the data directory (named by a hash of the
 * output instance's path, written atomically), the cap, and reading a bad record back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "http/op_boxes.h"

#define KEY "/studies/2.25.1/series/2.25.2/instances/2.25.3"

static int tmp_dir(char *path, size_t cap)
{
    snprintf(path, cap, "/tmp/dv-op-boxes-XXXXXX");
    assert_non_null(mkdtemp(path));
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    return fd;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(path);
}

static void rm_tree(const char *path)
{
    assert_int_equal(nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* The entries of dir (relative to dfd); the name of the last one in last (when given). */
static unsigned entries(int dfd, const char *dir, char *last, size_t cap)
{
    int fd = openat(dfd, dir, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    DIR *d = fdopendir(fd);
    assert_non_null(d);
    unsigned n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' && (de->d_name[1] == '\0' || (de->d_name[1] == '.' && de->d_name[2] == '\0')))
            continue;
        n++;
        if (last)
            snprintf(last, cap, "%.40s/%.200s", dir, de->d_name);
    }
    closedir(d);
    return n;
}

static void event(dvh_boxes *b, uint32_t frame, const dv_frame_box *boxes, size_t n)
{
    dv_frame_event ev;
    memset(&ev, 0, sizeof ev);
    ev.struct_size = sizeof ev;
    ev.frame_index = frame;
    ev.frame_count = 3;
    ev.sop_uid = "2.25.3";
    ev.boxes = boxes;
    ev.nboxes = n;
    dvh_boxes_add(b, &ev);
}

static void result(dv_result *res, int ran, uint32_t frames)
{
    dv_result_init(res);
    snprintf(res->study_uid, sizeof res->study_uid, "2.25.1");
    snprintf(res->series_uid, sizeof res->series_uid, "2.25.2");
    snprintf(res->sop_uid, sizeof res->sop_uid, "2.25.3");
    res->pixel_stage_ran = ran;
    res->pixel_frames = frames;
}

static json_int_t box_field(json_t *rec, size_t i, const char *f)
{
    return json_integer_value(json_object_get(json_array_get(json_object_get(rec, "boxes"), i), f));
}

/* Frames in order (DICOMweb numbers, from 1), a frame painted twice keeps its last painting, the record is
 * found by the output instance's path and only there, and holds coordinates and counts only. */
static void test_record_roundtrip(void **state)
{
    (void)state;
    char dir[64];
    int dfd = tmp_dir(dir, sizeof dir);
    dvh_boxes *b = dvh_boxes_new();
    assert_non_null(b);
    dvh_boxes_begin(b);
    dv_frame_box f2[] = {{5, 6, 7, 8}};
    dv_frame_box f0[] = {{1, 2, 3, 4}, {10, 20, 30, 40}};
    dv_frame_box f0_again[] = {{16, 16, 32, 16}};
    event(b, 2, f2, 1);
    event(b, 0, f0, 2);
    event(b, 1, NULL, 0);       /* examined, nothing found */
    event(b, 0, f0_again, 1);   /* painted again (DCT domain, then native): the last painting is the output */
    dv_result res;
    result(&res, 1, 3);
    dv_error err = {0};
    assert_int_equal(dvh_boxes_save(b, dfd, 7, &res, &err), 0);

    json_t *rec = NULL;
    assert_int_equal(dvh_boxes_load(dfd, 7, KEY, &rec, &err), 1);
    assert_string_equal(json_string_value(json_object_get(rec, "instance")), KEY);
    assert_int_equal(json_integer_value(json_object_get(rec, "framesExamined")), 3);
    assert_int_equal(json_integer_value(json_object_get(rec, "boxCount")), 2);
    assert_true(json_is_false(json_object_get(rec, "truncated")));
    assert_int_equal(json_array_size(json_object_get(rec, "boxes")), 2);
    assert_int_equal(box_field(rec, 0, "frame"), 1);
    assert_int_equal(box_field(rec, 0, "x"), 16);
    assert_int_equal(box_field(rec, 0, "w"), 32);
    assert_int_equal(box_field(rec, 1, "frame"), 3);
    assert_int_equal(box_field(rec, 1, "y"), 6);
    assert_int_equal(box_field(rec, 1, "h"), 8);
    assert_int_equal(json_object_size(json_array_get(json_object_get(rec, "boxes"), 0)), 5); /* frame x y w h */
    assert_int_equal(json_object_size(rec), 5);
    json_decref(rec);

    /* Another operation, another instance: nothing. */
    assert_int_equal(dvh_boxes_load(dfd, 8, KEY, &rec, &err), 0);
    assert_int_equal(dvh_boxes_load(dfd, 7, "/studies/2.25.1/series/2.25.2/instances/2.25.4", &rec, &err), 0);
    assert_null(rec);

    /* The stage did not run (no cleanImage for it): no record; examined without boxes: an empty list. */
    dvh_boxes_begin(b);
    res.pixel_stage_ran = 0;
    snprintf(res.sop_uid, sizeof res.sop_uid, "2.25.5");
    assert_int_equal(dvh_boxes_save(b, dfd, 7, &res, &err), 0);
    assert_int_equal(dvh_boxes_load(dfd, 7, "/studies/2.25.1/series/2.25.2/instances/2.25.5", &rec, &err), 0);
    res.pixel_stage_ran = 1;
    assert_int_equal(dvh_boxes_save(b, dfd, 7, &res, &err), 0);
    assert_int_equal(dvh_boxes_load(dfd, 7, "/studies/2.25.1/series/2.25.2/instances/2.25.5", &rec, &err), 1);
    assert_int_equal(json_array_size(json_object_get(rec, "boxes")), 0);
    assert_int_equal(json_integer_value(json_object_get(rec, "boxCount")), 0);
    json_decref(rec);

    /* Written atomically: no temporary file stays; the folder is private. */
    struct stat st;
    assert_int_equal(fstatat(dfd, "boxes/7", &st, 0), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(entries(dfd, "boxes/7", NULL, 0), 2); /* the two records, no temporary file */
    dvh_boxes_free(b);
    close(dfd);
    rm_tree(dir);
}

/* Past DVH_BOXES_MAX boxes are counted, not kept, and the record says it is truncated. */
static void test_cap(void **state)
{
    (void)state;
    char dir[64];
    int dfd = tmp_dir(dir, sizeof dir);
    dvh_boxes *b = dvh_boxes_new();
    dvh_boxes_begin(b);
    dv_frame_box many[100];
    for (unsigned i = 0; i < 100; i++)
        many[i] = (dv_frame_box){i, i, 2, 2};
    unsigned frames = DVH_BOXES_MAX / 100 + 2;
    for (unsigned f = 0; f < frames; f++)
        event(b, f, many, 100);
    dv_result res;
    result(&res, 1, frames);
    dv_error err = {0};
    assert_int_equal(dvh_boxes_save(b, dfd, 1, &res, &err), 0);
    json_t *rec = NULL;
    assert_int_equal(dvh_boxes_load(dfd, 1, KEY, &rec, &err), 1);
    assert_int_equal(json_array_size(json_object_get(rec, "boxes")), DVH_BOXES_MAX);
    assert_int_equal(json_integer_value(json_object_get(rec, "boxCount")), (json_int_t)frames * 100);
    assert_true(json_is_true(json_object_get(rec, "truncated")));
    json_decref(rec);
    dvh_boxes_free(b);
    close(dfd);
    rm_tree(dir);
}

/* A record that is not ours (garbage, a link, too large) is an error, never followed or served. */
static void test_bad_record(void **state)
{
    (void)state;
    char dir[64];
    int dfd = tmp_dir(dir, sizeof dir);
    dvh_boxes *b = dvh_boxes_new();
    dvh_boxes_begin(b);
    dv_result res;
    result(&res, 1, 1);
    dv_error err = {0};
    assert_int_equal(dvh_boxes_save(b, dfd, 3, &res, &err), 0);
    /* the one record file of operation 3, overwritten with garbage */
    char f[300];
    assert_int_equal(entries(dfd, "boxes/3", f, sizeof f), 1);
    int fd = openat(dfd, f, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "not json", 8), 8);
    json_t *rec = NULL;
    assert_int_equal(dvh_boxes_load(dfd, 3, KEY, &rec, &err), -1);
    assert_int_equal(err.code, DV_ERR_MALFORMED);
    assert_int_equal(ftruncate(fd, DVH_BOXES_FILE_MAX + 1), 0);
    close(fd);
    assert_int_equal(dvh_boxes_load(dfd, 3, KEY, &rec, &err), -1);
    assert_int_equal(err.code, DV_ERR_LIMIT);
    assert_int_equal(unlinkat(dfd, f, 0), 0);
    assert_int_equal(symlinkat("/etc/hostname", dfd, f), 0);
    assert_int_equal(dvh_boxes_load(dfd, 3, KEY, &rec, &err), -1);
    assert_int_equal(err.code, DV_ERR_IO);
    assert_null(rec);
    dvh_boxes_free(b);
    close(dfd);
    rm_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_roundtrip),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_bad_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
