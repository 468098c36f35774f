/* The sensitive-box decision (engine/dv_pixel_classify.h; issue 11 item 3): recognised box texts, as OCR
 * returns them, decided against a synthetic instance's own values, the patterns and the dictionaries.
 * The end-to-end figures (OCR + decision on rendered overlays) are ocr.score_pixel_classify. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config/dv_config_ir.h"
#include "dicomveil/dicomveil.h"
#include "dv_build.h"
#include "dv_testkit.h"
#include "engine/dv_pixel_classify.h"
#include "engine/dv_plan.h"

static const uint8_t KEYB[32] = "0123456789abcdef0123456789abcdef";

typedef struct fixture {
    dv_plan *plan;
    dv_pixel_policy pol;
    dv_key *key;
    dv_text_worker *tw;
    dv_pixclass *pc;
    parsed p;
    uint8_t *data;
} fixture;

/* The patient every test text is about. */
static uint8_t *instance(size_t *len)
{
    dvb *b = dvb_new(DVB_EXPLICIT_LE, 1);
    dvb_str(b, 0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.6.1");
    dvb_str(b, 0x00080018, "UI", "1.2.3.4.5.6");
    dvb_str(b, 0x00080020, "DA", "20230115");
    dvb_str(b, 0x00080060, "CS", "US");
    dvb_str(b, 0x00080080, "LO", "ST MARY HOSPITAL");
    dvb_str(b, 0x00100010, "PN", "JOHNSON^ANNA");
    dvb_str(b, 0x00100020, "LO", "48213377");
    dvb_str(b, 0x00100030, "DA", "19610314");
    dvb_str(b, 0x001021F0, "LO", "LUTHERAN"); /* Basic profile X, no Clean Descriptors C: a [CTX] phrase */
    dvb_str(b, 0x0020000D, "UI", "1.2.3.4");
    dvb_str(b, 0x0020000E, "UI", "1.2.3.4.5");
    return dvb_finish(b, len);
}

/* Compile image_json (an ImageConfig body) as options.cleanImage and begin the instance. */
static void setup_with(fixture *f, const char *image_json)
{
    memset(f, 0, sizeof *f);
    char json[1024];
    snprintf(json, sizeof json,
             "{\"dicomTagConfig\": {\"profileType\": \"KEEP_ALL_PROFILE\", \"options\": {\"cleanImage\": %s}}}",
             image_json);
    dv_error err = {0};
    dv_config cfg;
    if (dv_config_parse_all(json, strlen(json), &cfg, &err))
        fprintf(stderr, "config: %s\n", err.message);
    assert_int_equal(err.code, DV_OK);
    f->plan = dv_plan_compile_all(&cfg, &err);
    assert_non_null(f->plan);
    assert_int_equal(dv_pixel_policy_make(&cfg.clean_image, &f->pol, &err), 0);
    dv_config_clear(&cfg);
    assert_non_null(f->key = dv_key_new(KEYB, sizeof KEYB, &err));
    assert_non_null(f->tw = dv_text_worker_new());
    assert_non_null(f->pc = dv_pixclass_new());
    size_t len;
    f->data = instance(&len);
    assert_int_equal(dvt_parse(&f->p, f->data, len, &err), 0);
    assert_int_equal(dv_text_begin_instance(f->tw, f->plan, f->key, f->p.inst, &err), 0);
}

static void teardown_fx(fixture *f)
{
    dv_instance_free(f->p.inst);
    free(f->data);
    dv_pixclass_free(f->pc);
    dv_text_worker_free(f->tw);
    dv_key_free(f->key);
    dv_plan_free(f->plan);
}

static dv_pixel_verdict decide(fixture *f, const char *text, int conf, dv_infotype *why)
{
    dv_error err = {0};
    dv_pixel_verdict v;
    dv_infotype w;
    if (dv_pixel_classify(f->pc, &f->pol, f->tw, f->plan, text, strlen(text), conf, &v, &w, &err))
        fprintf(stderr, "classify: %s\n", err.message);
    assert_int_equal(err.code, DV_OK);
    if (why)
        *why = w;
    return v;
}

static void expect(fixture *f, const char *text, dv_pixel_verdict want)
{
    dv_infotype why;
    dv_pixel_verdict v = decide(f, text, 90, &why);
    if (v != want)
        fprintf(stderr, "\"%s\": verdict %d, want %d (%s)\n", text, v, want,
                why < DV_IT_COUNT ? dv_infotype_name(why) : "-");
    assert_int_equal(v, want);
}

/* The instance's own values, as OCR reads them: name orders, PN delimiters read as * or quotes, digits for
 * letters and letters for digits, run-together words, dates in any written form. */
static void test_own_values_through_ocr_noise(void **state)
{
    (void)state;
    fixture f;
    setup_with(&f, "{\"textRedactionMode\": \"REDACT_SENSITIVE_TEXT\"}");
    static const char *const phi[] = {
        "JOHNSON^ANNA", "Anna Johnson", "JOHNSON, ANNA", "JOHNSON*ANNA**", "JOHNSON\xE2\x80\x9C" "ANNA",
        "J0HNS0N ANNA", "JOHNS0N^ANNA", "JOHNSONANNA", "ANNAJOHNSON", "johnson anna",
        "48213377", "ID: 48213377", "ID:48213377", "MRN 482l3377", "4821 3377", "PID 48213377",
        "03/14/1961", "DOB 03/14/1961", "DOB03/14/1961", "1961-03-14", "14-MAR-1961", "14.03.1961",
        "O3/l4/l961", "March 14, 1961", "19610314",
        "01/15/2023", "2023-01-15 10:32:11", "15 Jan 2023",
        "ST MARY HOSPITAL", "St Mary Hospital", "ST MARY H0SPITAL",
    };
    for (size_t i = 0; i < sizeof phi / sizeof *phi; i++)
        expect(&f, phi[i], DV_PIXEL_SENSITIVE);
    dv_infotype why;
    assert_int_equal(decide(&f, "JOHNSON^ANNA", 90, &why), DV_PIXEL_SENSITIVE);
    assert_int_equal(why, DV_IT_PERSON_NAME);
    teardown_fx(&f);
}

/* The instance's own values misread beyond the per-token repairs (a letter lost or misread, mixed
 * confusions): the OCR-tolerant match of the deny-list covers them (dv_denylist_match_ocr; these readings
 * are no dictionary name, no digit run and no date: without the match they are kept); the overlay's labels
 * stay. */
static void test_own_values_misread(void **state)
{
    (void)state;
    fixture f;
    setup_with(&f, "{\"textRedactionMode\": \"REDACT_SENSITIVE_TEXT\"}");
    static const char *const phi[] = {"J0HNSQN", "JOHNS0M", "JOHNSN", "Luthe JOHNSQN"};
    for (size_t i = 0; i < sizeof phi / sizeof *phi; i++)
        expect(&f, phi[i], DV_PIXEL_SENSITIVE);
    static const char *const keep[] = {"TIS 0.4", "GAIN 52", "FR 30Hz", "5 cm", "MI 1.1", "RT KIDNEY", "AX T2 FS"};
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++)
        expect(&f, keep[i], DV_PIXEL_KEEP);
    teardown_fx(&f);
}

/* Institution words misread (cue_near): one edit in a 7+ letter cue, or the line cut after the first 4+
 * letters of one; labels and words that only start alike stay. */
static void test_cue_misread(void **state)
{
    (void)state;
    fixture f;
    setup_with(&f, "{\"textRedactionMode\": \"REDACT_SENSITIVE_TEXT\"}");
    static const char *const phi[] = {"Northfeld HOSPTAL", "Kestrel lMAGING", "Kestrel H0SPITA1", "Kestrel imag,",
                                      "Northfeld Hosp"};
    for (size_t i = 0; i < sizeof phi / sizeof *phi; i++) {
        dv_infotype why;
        assert_int_equal(decide(&f, phi[i], 90, &why), DV_PIXEL_SENSITIVE);
        assert_int_equal(why, DV_IT_ORGANIZATION_NAME);
    }
    static const char *const keep[] = {"imag 4", "GAIN 52", "RT KIDNEY", "LIVER LONG", "AX T2 FS", "HEA"};
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++)
        expect(&f, keep[i], DV_PIXEL_KEEP);
    teardown_fx(&f);
}

/* The frames of a multi-frame instance together (dv_pixel_spread): a confident sensitive box of one frame
 * is added to every other frame that has boxes and does not already hold it; frames without boxes stay. */
static void test_spread(void **state)
{
    (void)state;
    const dv_box A = {10, 10, 80, 12}, B = {200, 50, 40, 10}, big = {8, 8, 90, 20};
    /* frame 0: A; frame 1: B; frame 2: nothing; frame 3: a box holding A */
    dv_box all[3] = {A, B, big};
    size_t start[5] = {0, 1, 2, 2, 3};
    dv_box out[3 + 4 * 1];
    size_t n = dv_pixel_spread(all, start, 4, &A, 1, out);
    assert_int_equal(n, 4);
    assert_int_equal(start[0], 0);
    assert_int_equal(start[1], 1);
    assert_int_equal(start[2], 3);
    assert_int_equal(start[3], 3); /* frame 2 stays without boxes */
    assert_int_equal(start[4], 4); /* frame 3 already covers A */
    assert_memory_equal(&out[0], &A, sizeof A);
    assert_memory_equal(&out[1], &B, sizeof B);
    assert_memory_equal(&out[2], &A, sizeof A);
    assert_memory_equal(&out[3], &big, sizeof big);
    assert_true(dv_pixel_box_within(&A, &big));
    assert_false(dv_pixel_box_within(&big, &A));
    assert_true(dv_pixel_box_within(&(dv_box){9, 9, 82, 13}, &A)); /* 2 px of slack */
}

/* dv_pixel_box_share_in: at least a share of a's area inside one box (overlaps with different boxes do not
 * add up); checked against a pixel count on a small grid for several shares, and at the edges of the 32-bit
 * range. */
static void test_share_in(void **state)
{
    (void)state;
    const dv_box b[2] = {{10, 10, 20, 10}, {40, 10, 20, 10}};
    assert_true(dv_pixel_box_share_in(&(dv_box){10, 10, 20, 10}, b, 2, 5));  /* the same box */
    assert_true(dv_pixel_box_share_in(&(dv_box){20, 10, 20, 10}, b, 2, 5));  /* exactly half */
    assert_false(dv_pixel_box_share_in(&(dv_box){21, 10, 20, 10}, b, 2, 5)); /* just under half */
    assert_false(dv_pixel_box_share_in(&(dv_box){20, 10, 50, 10}, b, 2, 5)); /* 10+20 of 50 wide, split in two */
    assert_false(dv_pixel_box_share_in(&(dv_box){12, 12, 0, 5}, b, 2, 5));   /* empty */
    assert_false(dv_pixel_box_share_in(&(dv_box){10, 10, 20, 10}, b, 0, 5)); /* no boxes */
    const dv_box far = {UINT32_MAX - 10, UINT32_MAX - 10, 10, 10};
    assert_true(dv_pixel_box_share_in(&far, &far, 1, 5));
    assert_true(dv_pixel_box_share_in(&far, &far, 1, 10));
    assert_true(dv_pixel_box_share_in(&(dv_box){10, 10, 20, 10}, b, 2, 10));  /* all of it */
    assert_false(dv_pixel_box_share_in(&(dv_box){10, 10, 20, 11}, b, 2, 10)); /* one row out */
    assert_true(dv_pixel_box_share_in(&(dv_box){10, 10, 20, 11}, b, 2, 9));   /* 10 of 11 rows */
    /* every placement of small boxes on a 12x12 grid against a pixel count */
    const dv_box ref = {3, 4, 5, 4};
    for (uint32_t x = 0; x < 12; x++)
        for (uint32_t y = 0; y < 12; y++)
            for (uint32_t w = 1; w <= 7; w += 2)
                for (uint32_t h = 1; h <= 6; h++)
                    for (unsigned t = 0; t <= 10; t++) {
                        unsigned in = 0;
                        for (uint32_t i = x; i < x + w; i++)
                            for (uint32_t j = y; j < y + h; j++)
                                in += i >= ref.x && i < ref.x + ref.w && j >= ref.y && j < ref.y + ref.h;
                        dv_box a = {x, y, w, h};
                        assert_int_equal(dv_pixel_box_share_in(&a, &ref, 1, t), in > 0 && 10 * in >= t * w * h);
                    }
}

/* dv_pixel_weak_keep: only a weak, non-label first reading whose two further readings were both UNREADABLE. */
static void test_weak_keep(void **state)
{
    (void)state;
    assert_true(dv_pixel_weak_keep(33, 0, 2, 2));                               /* JSL's `aa ec` */
    assert_true(dv_pixel_weak_keep(0, 0, 2, 2));
    assert_false(dv_pixel_weak_keep(DV_PIXEL_WEAK_KEEP_CONF, 0, 2, 2));         /* confident enough */
    assert_false(dv_pixel_weak_keep(33, 1, 2, 2));                              /* overlay vocabulary */
    assert_false(dv_pixel_weak_keep(33, 0, 2, 1));                              /* one other reading read it */
    assert_false(dv_pixel_weak_keep(33, 0, 1, 1));                              /* no levelled reading made */
    assert_false(dv_pixel_weak_keep(33, 0, 0, 0));
    assert_false(dv_pixel_weak_keep(-1, 0, 2, 2));                              /* no confidence given */
}

/* Without the instance's values: field labels, long digit runs and written dates still decide. */
static void test_overlay_rules_without_own_values(void **state)
{
    (void)state;
    fixture f;
    setup_with(&f, "{\"textRedactionMode\": \"REDACT_SENSITIVE_TEXT\"}");
    static const char *const phi[] = {
        "Name: XQWERTZ YUIOP", "Patient: QWERTZ", "ID 7734", "DOB ??", "Acc# 0001", "9153342",
        "SN0084213", "Riverside Medical Center", "Northfield Imaging Centre", "07/04/2019 12:01",
        "SMITHSON, ANNA", "NAKAMURA^YUKI", "Hartley, Emma J.", "MILLER*JOHN**", "St. Elsewhere General",
        "SAINT LUKE", "ST. JUDE", "OKAFOR\xC2\xAE CARLOS", "OKAFOR\xC2\xB0" "CARLOS",
        "age", "Age: ?", /* the age field whose value the OCR lost (JSL's 5-px MR overlay) */
    };
    for (size_t i = 0; i < sizeof phi / sizeof *phi; i++)
        expect(&f, phi[i], DV_PIXEL_SENSITIVE);
    static const char *const keep[] = {"Stage 2", "IMAGE 4", "Image"};
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++)
        expect(&f, keep[i], DV_PIXEL_KEEP);
    teardown_fx(&f);
    /* the age cue only when AGE is wanted */
    setup_with(&f, "{\"textRedactionMode\": \"REDACT_SENSITIVE_TEXT\", \"excludeInfoTypes\": [\"AGE\"]}");
    expect(&f, "age", DV_PIXEL_KEEP);
    teardown_fx(&f);
}

/* Overlay labels that carry no PHI stay (the mode's target is >= 0.85 of them intact). */
static void test_labels_stay(void **state)
{
    (void)state;
    fixture f;
    setup_with(&f, "{\"textRedactionMode\": \"REDACT_SENSITIVE_TEXT\"}");
    static const char *const keep[] = {
        "L", "R", "5 cm", "12 cm", "TIS 0.4", "TIB 0.3", "GAIN 52", "Gain 60%", "FR 30Hz", "FR 25 Hz", "MI 1.2",
        "MI 0.8", "C5-1", "L12-5", "P4-2", "DR 60", "2D", "PWR 100%", "CHEST PA", "AP", "Z 1.0", "HR 72 bpm",
        "Gen", "Res", "F 3.5 MHz", "WL 40 WW 400", "kV 120 mA 250", "Se: 3 Im: 12", "THK 5.0 mm", "Mag 1.0",
        "LOGIQ E9", "ACUSON S2000", "Probe C1-5-D", "ABD 4C", "CF 4.0MHz", "PRF 1.5kHz", "WF 150Hz",
        "Depth 16 cm", "Focus 8 cm", "PORTABLE", "SUPINE", "UPRIGHT", "LAT", "HD Zoom", "Harm", "DYN R 3",
        "M5S-D", "THI", "CPA", "Color", "PW", "-10.0", "+20.0", "S 1.0", "L^R", "LUTHERAN", "L, R",
        "CHEST, PA VIEW", "AP, LAT", "W 400 L 40", "10:00:07", "00:01:35", "ST 1.2",
        "ST seg",
        /* a measurement whose digit was read as letters, the unit read right (held-out seed 4) */
        "Simm", "Smm", "S mm", "Ocm",
    };
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++)
        expect(&f, keep[i], DV_PIXEL_KEEP);
    teardown_fx(&f);
}

/* A reading the OCR could not make is covered: nothing, only symbols, mostly symbols, or a confidence under
 * 30. A clean reading at normal confidence is not. */
static void test_unreadable_is_covered(void **state)
{
    (void)state;
    fixture f;
    setup_with(&f, "{\"textRedactionMode\": \"REDACT_SENSITIVE_TEXT\"}");
    assert_int_equal(decide(&f, "", 90, NULL), DV_PIXEL_UNREADABLE);
    assert_int_equal(decide(&f, "~ ** .", 90, NULL), DV_PIXEL_UNREADABLE);
    assert_int_equal(decide(&f, "|;:~ a", 90, NULL), DV_PIXEL_UNREADABLE);
    assert_int_equal(decide(&f, "xq vb", 12, NULL), DV_PIXEL_UNREADABLE);
    assert_int_equal(decide(&f, "xq vb", -1, NULL), DV_PIXEL_KEEP); /* confidence unknown */
    assert_int_equal(decide(&f, "L", 90, NULL), DV_PIXEL_KEEP);
    teardown_fx(&f);
}

/* Lines made only of overlay vocabulary (labels, units, numbers, probe names) stay whatever the OCR's
 * confidence and whatever a dictionary says (Abd is a given name to it); a bare number keeps the usual rules
 * (a misread ID can come out as "6"); a word outside the vocabulary keeps them too. */
static void test_vocabulary_stays(void **state)
{
    (void)state;
    fixture f;
    setup_with(&f, "{\"textRedactionMode\": \"REDACT_SENSITIVE_TEXT\"}");
    static const char *const keep[] = {"Abd", "DR 60 Abd", "MI 1.1", "AX T2 FS", "RT KIDNEY", "LIVER LONG", "GB",
                                       "TIS 0.4 MI 1.1", "FR 30Hz", "5 cm", "C5-1", "L12-5 GAIN 52", "(R)"};
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++) {
        assert_int_equal(decide(&f, keep[i], 0, NULL), DV_PIXEL_KEEP);
        assert_int_equal(decide(&f, keep[i], 90, NULL), DV_PIXEL_KEEP);
    }
    assert_int_equal(decide(&f, "6", 10, NULL), DV_PIXEL_UNREADABLE);      /* a bare number: usual rules */
    assert_int_equal(decide(&f, "GAIN 52 Xq", 10, NULL), DV_PIXEL_UNREADABLE); /* not all vocabulary */
    assert_int_equal(decide(&f, "MRN 4821", 90, NULL), DV_PIXEL_SENSITIVE); /* a field label is no vocabulary */
    assert_int_equal(decide(&f, "R 48213377", 90, NULL), DV_PIXEL_SENSITIVE); /* > 4 digits: an ID, not a label */
    teardown_fx(&f);
}

/* A token in the shape of a date is a date even when a misread digit makes it impossible (month 22, year
 * 1330) or a letter slipped in, a separator is misread, a space is read after one, or the line was cut
 * after the month (a year and month ending the box); times, decimals, ranges and versions are not. */
static void test_date_shape(void **state)
{
    (void)state;
    fixture f;
    setup_with(&f, "{\"textRedactionMode\": \"REDACT_SENSITIVE_TEXT\"}");
    static const char *const dates[] = {"12/13/1330", "61/22/1941", "04.11.198F4", "1955-19-42", "DOB 31/31/31",
                                        /* held-out seed 4's misreads: a separator misread, a space read after
                                         * a separator, a year and month at the end of a cut line */
                                        "1939-12.13 al", "28.02. 197 al", "1992-1", "1992-11", "28/02/ 1977",
                                        /* a month between numbers, the year misread (JSL's CT study date) */
                                        "99 Sep 23", "Date 23 SEPT. 99", "5 january 198",
                                        /* German and French month names: the text detectors' one list */
                                        "12 Okt 99", "3 f\xc3\xa9vr. 99", "7 M\xc3\x84RZ 19"};
    for (size_t i = 0; i < sizeof dates / sizeof *dates; i++) {
        dv_infotype why;
        assert_int_equal(decide(&f, dates[i], 90, &why), DV_PIXEL_SENSITIVE);
    }
    dv_infotype why;
    assert_int_equal(decide(&f, "61/22/1941", 90, &why), DV_PIXEL_SENSITIVE);
    assert_int_equal(why, DV_IT_DATE);
    static const char *const keep[] = {"10:00:14", "0.4", "1.2.3", "12/13", "5.0 mm", "W 400 L 40", "ST 1.2",
                                       "12-3.5", "5.0-7.5 MHz", "2.5 - 3.5", "1992-1 GAIN 52", "Sep 23",
                                       "12 Marks 3", "5 Septembers 3", "FR 30 Hz"};
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++)
        expect(&f, keep[i], DV_PIXEL_KEEP);
    teardown_fx(&f);
    /* only when dates are wanted */
    setup_with(&f, "{\"textRedactionMode\": \"REDACT_SENSITIVE_TEXT\", \"excludeInfoTypes\": [\"DATE\", "
                   "\"DATE_OF_BIRTH\"]}");
    expect(&f, "61/22/1941", DV_PIXEL_KEEP);
    teardown_fx(&f);
}

/* One frame's lines decided together (dv_pixel_lines_cover). */
static void test_lines_cover(void **state)
{
    (void)state;
    enum { K = DV_PIXEL_KEEP, S = DV_PIXEL_SENSITIVE, U = DV_PIXEL_UNREADABLE };
    /* the usual: sensitive covered, kept kept, an unreadable line on its own covered (privacy first) */
    {
        dv_box b[] = {{0, 0, 100, 20}, {0, 100, 60, 20}, {300, 300, 80, 20}};
        uint8_t v[] = {S, K, U};
        dv_pixel_lines_cover(b, 3, v);
        assert_int_equal(v[0], 1);
        assert_int_equal(v[1], 0);
        assert_int_equal(v[2], 1);
    }
    /* a line cut in two: the piece next to a sensitive box on its row is covered; a box on another row, a
     * box far along the row, or a much taller one, is not */
    {
        dv_box b[] = {{8, 3, 43, 18}, {55, 2, 87, 19}, {400, 3, 60, 18}, {8, 40, 60, 18}, {0, 0, 52, 60}};
        uint8_t v[] = {K, S, K, K, K};
        dv_pixel_lines_cover(b, 5, v);
        assert_int_equal(v[0], 1);
        assert_int_equal(v[1], 1);
        assert_int_equal(v[2], 0);
        assert_int_equal(v[3], 0);
        assert_int_equal(v[4], 0);
    }
    /* a line between two sensitive lines whose boxes overlap it, one above and one below (a name wrapped over
     * three lines: JSL's CT institution), is covered; one with a sensitive line above only, or between two that
     * do not reach it, is not */
    {
        dv_box b[] = {{396, 425, 91, 18}, {397, 440, 88, 17}, {398, 454, 69, 17},
                      {10, 10, 90, 18}, {10, 26, 90, 18}, {10, 60, 90, 18},
                      {200, 100, 90, 18}, {200, 130, 90, 18}, {200, 160, 90, 18}};
        uint8_t v[] = {S, K, S, S, K, K, S, K, S};
        dv_pixel_lines_cover(b, 9, v);
        assert_int_equal(v[1], 1);
        assert_int_equal(v[4], 0);
        assert_int_equal(v[5], 0);
        assert_int_equal(v[7], 0);
    }
    /* an unreadable box holding lines that were read (texture grouped with labels) is not covered; the lines
     * inside decide; one inside a line read as KEEP is not covered; one next to nothing read is */
    {
        dv_box b[] = {{0, 178, 581, 146}, {0, 178, 62, 22}, {0, 202, 93, 22}, {58, 416, 582, 64},
                      {423, 437, 200, 40}, {0, 400, 40, 30}};
        uint8_t v[] = {U, K, K, K, U, U};
        dv_pixel_lines_cover(b, 6, v);
        assert_int_equal(v[0], 0);
        assert_int_equal(v[1], 0);
        assert_int_equal(v[2], 0);
        assert_int_equal(v[3], 0);
        assert_int_equal(v[4], 0);
        assert_int_equal(v[5], 1);
    }
    /* an unreadable box holding only unreadable boxes stays covered, and so do they */
    {
        dv_box b[] = {{0, 0, 400, 100}, {10, 10, 50, 20}};
        uint8_t v[] = {U, U};
        dv_pixel_lines_cover(b, 2, v);
        assert_int_equal(v[0], 1);
        assert_int_equal(v[1], 1);
    }
    /* overlapping a sensitive line, an unreadable box is covered whatever else it holds (privacy first) */
    {
        dv_box b[] = {{0, 0, 400, 150}, {100, 50, 150, 20}, {0, 0, 60, 20}};
        uint8_t v[] = {U, S, K};
        dv_pixel_lines_cover(b, 3, v);
        assert_int_equal(v[0], 1);
        assert_int_equal(v[1], 1);
        assert_int_equal(v[2], 0);
    }
    dv_pixel_lines_cover(NULL, 0, NULL); /* no lines */
    /* pieces of one line: symmetric; not across rows, not far apart, not 2:1 in height */
    dv_box p = {8, 3, 43, 18}, q = {55, 2, 87, 19}, far = {200, 3, 40, 18}, below = {8, 30, 43, 18}, tall = {55, 0, 40, 40};
    assert_true(dv_pixel_same_line(&p, &q));
    assert_true(dv_pixel_same_line(&q, &p));
    assert_false(dv_pixel_same_line(&p, &far));
    assert_false(dv_pixel_same_line(&p, &below));
    assert_false(dv_pixel_same_line(&p, &tall));
}

/* Policies: the default set, additional and exclude, UNSPECIFIED with additionalInfoTypes, ALL/NO text. */
static void test_policy(void **state)
{
    (void)state;
    fixture f;
    /* PERSON_NAME and its parts excluded: the patient's name stays, the ID does not. */
    setup_with(&f, "{\"textRedactionMode\": \"REDACT_SENSITIVE_TEXT\", \"excludeInfoTypes\": [\"PERSON_NAME\", "
                   "\"FIRST_NAME\", \"LAST_NAME\", \"NOT_A_TYPE\"]}");
    assert_true(f.pol.classify);
    assert_false(f.pol.want & DV_IT_BIT(DV_IT_PERSON_NAME));
    assert_true(f.pol.want & DV_IT_BIT(DV_IT_DATE));
    assert_false(f.pol.want & DV_IT_BIT(DV_IT_CTX));
    expect(&f, "JOHNSON^ANNA", DV_PIXEL_KEEP);
    expect(&f, "Name: JOHNSON ANNA", DV_PIXEL_KEEP);
    expect(&f, "ID: 48213377", DV_PIXEL_SENSITIVE);
    teardown_fx(&f);

    /* UNSPECIFIED + additionalInfoTypes: only those (DATE), so the name stays and the date goes. */
    setup_with(&f, "{\"additionalInfoTypes\": [\"DATE\"]}");
    assert_true(f.pol.classify);
    assert_int_equal(f.pol.want, DV_IT_BIT(DV_IT_DATE));
    expect(&f, "JOHNSON^ANNA", DV_PIXEL_KEEP);
    expect(&f, "01/15/2023", DV_PIXEL_SENSITIVE);
    teardown_fx(&f);

    setup_with(&f, "{\"textRedactionMode\": \"REDACT_ALL_TEXT\"}");
    assert_false(f.pol.classify);
    teardown_fx(&f);
    setup_with(&f, "{\"textRedactionMode\": \"REDACT_NO_TEXT\"}");
    assert_false(f.pol.classify);
    teardown_fx(&f);
    setup_with(&f, "{\"textRedactionMode\": \"REDACT_SENSITIVE_TEXT\"}");
    assert_int_equal(f.pol.want, DV_PIXEL_DEFAULT_INFOTYPES);
    assert_false(f.pol.want & DV_IT_BIT(DV_IT_TIME));
    teardown_fx(&f);
    /* TIME only when asked for: a running clock stays by default. */
    setup_with(&f, "{\"textRedactionMode\": \"REDACT_SENSITIVE_TEXT\", \"additionalInfoTypes\": [\"TIME\"]}");
    expect(&f, "10:00:07", DV_PIXEL_SENSITIVE);
    assert_true(f.plan->image_detects_text);
    assert_false(f.plan->image_ctx);
    teardown_fx(&f);

    /* An additional infoType dicomveil cannot detect is a config error naming the field. */
    dv_image_config ic = {0};
    char *names[] = {"PASSPORT"};
    ic.mode = DV_REDACT_SENSITIVE_TEXT;
    ic.additional_info_types = names;
    ic.nadditional = 1;
    dv_pixel_policy pol;
    dv_error err = {0};
    assert_int_equal(dv_pixel_policy_make(&ic, &pol, &err), -1);
    assert_int_equal(err.code, DV_ERR_CONFIG);
    assert_non_null(strstr(err.message, "additionalInfoTypes[0]"));
}

/* REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS: a phrase of a Basic-profile X attribute ([CTX]) is sensitive too,
 * without options.cleanDescriptors; REDACT_SENSITIVE_TEXT keeps it. */
static void test_clean_descriptors(void **state)
{
    (void)state;
    fixture f;
    setup_with(&f, "{\"textRedactionMode\": \"REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS\"}");
    assert_true(f.plan->image_ctx);
    assert_false(f.plan->clean_descriptors);
    assert_true(f.pol.want & DV_IT_BIT(DV_IT_CTX));
    dv_infotype why;
    assert_int_equal(decide(&f, "LUTHERAN", 90, &why), DV_PIXEL_SENSITIVE);
    assert_int_equal(why, DV_IT_CTX);
    expect(&f, "GAIN 52", DV_PIXEL_KEEP);
    expect(&f, "JOHNSON^ANNA", DV_PIXEL_SENSITIVE);
    teardown_fx(&f);
}

/* Hostile readings: long, invalid UTF-8, NULs inside. Decided without error, nothing read out of bounds. */
static void test_hostile_text(void **state)
{
    (void)state;
    fixture f;
    setup_with(&f, "{\"textRedactionMode\": \"REDACT_SENSITIVE_TEXT\"}");
    size_t n = 100000;
    char *big = malloc(n + 1);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = "AB1 \xC3\xE2\x80*^O0"[i % 12];
    big[n] = '\0';
    dv_error err = {0};
    dv_pixel_verdict v;
    dv_infotype why;
    assert_int_equal(dv_pixel_classify(f.pc, &f.pol, f.tw, f.plan, big, n, 50, &v, &why, &err), 0);
    memcpy(big, "JOHNSON\0ANNA", 12);
    assert_int_equal(dv_pixel_classify(f.pc, &f.pol, f.tw, f.plan, big, 12, 50, &v, &why, &err), 0);
    assert_int_equal(v, DV_PIXEL_SENSITIVE);
    free(big);
    teardown_fx(&f);
}

/* fuzz_pixel_classify's regressions (tests/fuzz/regressions/pixel_classify/), each in a buffer of exactly
 * its size so ASan sees a read past the reading: restore-pn-run-at-end (a run of PN look-alikes at the end
 * of the text was scanned one byte past it). */
static void test_fuzz_regressions_replay(void **state)
{
    (void)state;
    fixture f;
    setup_with(&f, "{\"textRedactionMode\": \"REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS\"}");
    static const char *const files[] = {"restore-pn-run-at-end"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/tests/fuzz/regressions/pixel_classify/%s", DV_SOURCE_DIR, files[i]);
        FILE *fp = fopen(path, "rb");
        assert_non_null(fp);
        uint8_t tmp[4096];
        size_t n = fread(tmp, 1, sizeof tmp, fp);
        fclose(fp);
        assert_true(n >= 1);
        char *exact = malloc(n - 1 ? n - 1 : 1);
        assert_non_null(exact);
        memcpy(exact, tmp + 1, n - 1);
        dv_error err = {0};
        dv_pixel_verdict v;
        dv_infotype why;
        assert_int_equal(dv_pixel_classify(f.pc, &f.pol, f.tw, f.plan, exact, n - 1, tmp[0], &v, &why, &err), 0);
        free(exact);
    }
    /* The same shape built here: a name whose PN delimiters ran to the end of the reading. */
    char *t = malloc(17);
    assert_non_null(t);
    memcpy(t, "SCHMIDT*LUCIA**~*", 17);
    dv_pixel_verdict v;
    dv_infotype why;
    dv_error err = {0};
    assert_int_equal(dv_pixel_classify(f.pc, &f.pol, f.tw, f.plan, t, 17, 90, &v, &why, &err), 0);
    assert_int_equal(v, DV_PIXEL_SENSITIVE);
    free(t);
    teardown_fx(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_own_values_through_ocr_noise),
        cmocka_unit_test(test_own_values_misread),
        cmocka_unit_test(test_cue_misread),
        cmocka_unit_test(test_spread),
        cmocka_unit_test(test_share_in),
        cmocka_unit_test(test_weak_keep),
        cmocka_unit_test(test_overlay_rules_without_own_values),
        cmocka_unit_test(test_labels_stay),
        cmocka_unit_test(test_unreadable_is_covered),
        cmocka_unit_test(test_vocabulary_stays),
        cmocka_unit_test(test_date_shape),
        cmocka_unit_test(test_lines_cover),
        cmocka_unit_test(test_policy),
        cmocka_unit_test(test_clean_descriptors),
        cmocka_unit_test(test_hostile_text),
        cmocka_unit_test(test_fuzz_regressions_replay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
