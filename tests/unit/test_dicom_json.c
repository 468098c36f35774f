/* The DICOM JSON model writer (src/http/dicom_json.c, PS3.18 F.2): values by VR (PN groups, numbers,
 * multi-values with empty ones as null, single-valued text kept whole), and a whole corpus instance with its
 * text decoded from its character set and PixelData as a BulkDataURI. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/dicom_json.h"
#include "store/dvs_blobs.h"

static char *dump(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(s);
    return s;
}

static void test_values_by_vr(void **state)
{
    (void)state;
    json_t *o = json_object();
    assert_int_equal(dvh_json_put_text(o, 0x00100010, "PN", "Doe^John=\xe5\xb1\xb1\xe7\x94\xb0=yamada"), 0);
    assert_int_equal(dvh_json_put_text(o, 0x00200013, "IS", " 12 "), 0);
    assert_int_equal(dvh_json_put_text(o, 0x00280030, "DS", "0.5\\1e2"), 0);
    assert_int_equal(dvh_json_put_text(o, 0x00080008, "CS", "ORIGINAL\\\\PRIMARY"), 0);
    assert_int_equal(dvh_json_put_text(o, 0x00081030, "LT", "a\\b "), 0);
    assert_int_equal(dvh_json_put_text(o, 0x00200011, "IS", "x1"), 0);
    assert_int_equal(dvh_json_put_text(o, 0x00080050, "SH", ""), 0);
    assert_int_equal(dvh_json_put_us(o, 0x00081197, 0xA700), 0);
    char *s = dump(o);
    assert_string_equal(s,
                        "{\"00080008\":{\"Value\":[\"ORIGINAL\",null,\"PRIMARY\"],\"vr\":\"CS\"},"
                        "\"00080050\":{\"vr\":\"SH\"},"
                        "\"00081030\":{\"Value\":[\"a\\\\b\"],\"vr\":\"LT\"},"
                        "\"00081197\":{\"Value\":[42752],\"vr\":\"US\"},"
                        "\"00100010\":{\"Value\":[{\"Alphabetic\":\"Doe^John\",\"Ideographic\":\"\xe5\xb1\xb1\xe7\x94\xb0\","
                        "\"Phonetic\":\"yamada\"}],\"vr\":\"PN\"},"
                        "\"00200011\":{\"Value\":[null],\"vr\":\"IS\"},"
                        "\"00200013\":{\"Value\":[12],\"vr\":\"IS\"},"
                        "\"00280030\":{\"Value\":[0.5,100.0],\"vr\":\"DS\"}}");
    free(s);
    json_decref(o);
}

static void test_corpus_instance(void **state)
{
    (void)state;
    int fd = open(DV_SHARED_DATA "/dicom/dcm_qa_ts/3.dcm", O_RDONLY); /* explicit VR big endian */
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    dv_fd_source fs;
    dv_source src = dv_source_fd(&fs, fd, (uint64_t)st.st_size);
    dv_error err;
    dv_instance *inst = dv_instance_read(&src, NULL, &err);
    assert_non_null(inst);
    json_t *o = dvh_json_instance(inst, "http://h/bulk", &err);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(o, "00080005"), "Value"), 0)),
                        "ISO_IR 192");
    json_t *rows = json_object_get(o, "00280010");
    assert_string_equal(json_string_value(json_object_get(rows, "vr")), "US");
    json_int_t r = json_integer_value(json_array_get(json_object_get(rows, "Value"), 0));
    assert_true(r > 0 && r < 4096); /* read big endian, reported as a number */
    json_t *px = json_object_get(o, "7FE00010");
    assert_non_null(px);
    assert_string_equal(json_string_value(json_object_get(px, "BulkDataURI")), "http://h/bulk/7FE00010");
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(o, "00100010"),
                                                                                         "Value"), 0), "Alphabetic")),
                        "stc_test");
    json_decref(o);
    dv_instance_free(inst);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_by_vr),
        cmocka_unit_test(test_corpus_instance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
