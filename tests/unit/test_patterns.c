/* The pattern detectors (src/text/patterns.c, checksums.c; issue 6 item 2; docs/text-detectors.md):
 * per infoType positives and negatives, check digits, exact byte spans in UTF-8 text, the non-PHI clinical
 * phrases, and two threads sharing one dv_patterns with their own scratch. */
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <pthread.h>
#include <cmocka.h>

#include "text/checksums.h"
#include "text/months.h"
#include "text/patterns.h"
#include "text/widthfold.h"

static dv_patterns *P;
static dv_text_scratch *S;

static int setup(void **state)
{
    (void)state;
    dv_error err;
    P = dv_patterns_new(&err);
    S = dv_text_scratch_new(&err);
    return P && S ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    dv_text_scratch_free(S);
    dv_patterns_free(P);
    return 0;
}

/* The findings of text[0, n) with the pre-filters (prefilter.h) must be exactly those of every pattern run on
 * it (same spans, types, scores, order): a pre-filter only skips a pattern that cannot match. */
static void same_with_and_without_prefilters(const char *text, size_t n, dv_infotype_set want)
{
    dv_findings a = {0}, b = {0};
    dv_error err;
    int ra = dv_detect_patterns(P, S, text, n, want, &a, &err);
    dv_text_scratch_set_exhaustive(S, 1);
    int rb = dv_detect_patterns(P, S, text, n, want, &b, &err);
    dv_text_scratch_set_exhaustive(S, 0);
    assert_int_equal(ra, rb);
    if (a.n != b.n || (a.n && memcmp(a.v, b.v, a.n * sizeof a.v[0]) != 0))
        fail_msg("pre-filters changed the findings of \"%.*s\": %zu vs %zu", (int)(n > 200 ? 200 : n), text, a.n, b.n);
    dv_findings_free(&a);
    dv_findings_free(&b);
}

/* Findings (normalised) of text as "TYPE[covered text]" joined by ' '. Every text a test looks at is also
 * checked with and without the pre-filters. */
static void detect(const char *text, char *out, size_t cap)
{
    dv_findings f = {0};
    dv_error err;
    same_with_and_without_prefilters(text, strlen(text), ~(dv_infotype_set)0);
    assert_int_equal(dv_detect_patterns(P, S, text, strlen(text), ~(dv_infotype_set)0, &f, &err), 0);
    dv_findings_normalise(&f);
    out[0] = '\0';
    for (size_t i = 0; i < f.n; i++) {
        size_t l = strlen(out);
        snprintf(out + l, cap - l, "%s%s[%.*s]", l ? " " : "", dv_infotype_name(f.v[i].type),
                 (int)(f.v[i].end - f.v[i].start), text + f.v[i].start);
    }
    dv_findings_free(&f);
}

/* text must yield exactly one finding: type over the covered substring. */
static void one(const char *text, dv_infotype type, const char *covered)
{
    char got[1024], want[512];
    detect(text, got, sizeof got);
    snprintf(want, sizeof want, "%s[%s]", dv_infotype_name(type), covered);
    if (strcmp(got, want) != 0)
        fail_msg("\"%s\": want %s, got %s", text, want, got);
}

static void none(const char *text)
{
    char got[1024];
    detect(text, got, sizeof got);
    if (got[0])
        fail_msg("\"%s\": want no finding, got %s", text, got);
}

static void test_date(void **state)
{
    (void)state;
    one("Exam 20190314", DV_IT_DATE, "20190314");
    one("DT 20190314142305.123+0100 end", DV_IT_DATE, "20190314142305.123+0100");
    one("on 2019-03-14.", DV_IT_DATE, "2019-03-14");
    one("on 14/03/2019", DV_IT_DATE, "14/03/2019");
    one("on 03/14/2019", DV_IT_DATE, "03/14/2019");
    one("am 14.03.2019 untersucht", DV_IT_DATE, "14.03.2019");
    one("seen 3/14/19", DV_IT_DATE, "3/14/19");
    one("March 14, 2019 CT", DV_IT_DATE, "March 14, 2019");
    one("scan 14 Mar 2019", DV_IT_DATE, "14 Mar 2019");
    one("scan 14-MAR-2019", DV_IT_DATE, "14-MAR-2019");
    one("since Mar 2019", DV_IT_DATE, "Mar 2019");
    one("Study Date: 1988 Jun 09", DV_IT_DATE, "1988 Jun 09");
    one("scan 2019-MAR-14 done", DV_IT_DATE, "2019-MAR-14");
    one("on 2008 January 5th", DV_IT_DATE, "2008 January 5th");
    one("on the 14th of March", DV_IT_DATE, "14th of March");
    one("2020-02-29 leap", DV_IT_DATE, "2020-02-29");
    /* an ID made of the study's date and time (stop 44's audit: both kept beside the shifted StudyDate) */
    one("MR20140310133834", DV_IT_DATE, "20140310133834");
    one("PPS MR20140310", DV_IT_DATE, "20140310");
    one("20170302.172449", DV_IT_DATE, "20170302");
    one("MR_20140310133834", DV_IT_DATE, "20140310133834"); /* the review's */
    one("Scan20140310_1", DV_IT_DATE, "20140310");
    one("MR20140310T133834", DV_IT_DATE, "20140310");
    one("at 20140310T1338", DV_IT_DATE, "20140310");
    /* German and French month names, any case */
    one("am 14. M\xc3\xa4rz 2019", DV_IT_DATE, "14. M\xc3\xa4rz 2019");
    one("am 3. M\xc3\x84RZ 2020", DV_IT_DATE, "3. M\xc3\x84RZ 2020");
    one("le 1er ao\xc3\xbbt 2021", DV_IT_DATE, "1er ao\xc3\xbbt 2021");
    one("le 5 f\xc3\xa9vr. 2020", DV_IT_DATE, "5 f\xc3\xa9vr. 2020");
    one("vom 14. Mai", DV_IT_DATE, "14. Mai");
    /* negatives: invalid calendar dates, versions, UIDs, fractions, ratios */
    none("2019-02-29");
    none("31/04/2019");
    none("13/13/2019");
    none("20191301");
    none("20190230");
    none("version 10.12.14");
    none("1988 Jun 31");
    none("1988 Feb 30");
    none("1.2.840.10008.20190314.1");
    none("Im 1/120 slice 5/24");
    none("BP 120/80");
    none("1-2-19");
    none("May be 5 mm");
    none("MR2014031013383");   /* the digits run on past the date and a time */
    none("SN201403109");
    none("MR20140310X");       /* a letter after it: another code */
    none("20170302.5");        /* a decimal */
    none("20170302.172499");   /* no time after the full stop */
    none("20170302.1724490");
}

/* Every word of the month table (src/text/months.c) is a month to the MON pattern and to dv_month_of: the
 * pattern spells the table's words as a regular expression, so a word added to one and not the other fails here. */
static void test_month_words_are_dates(void **state)
{
    (void)state;
    for (size_t k = 0; k < dv_month_words_n; k++) {
        const dv_month_word *e = &dv_month_words[k];
        char text[64], covered[48];
        snprintf(covered, sizeof covered, "5 %s 2020", e->word);
        snprintf(text, sizeof text, "on %s CT", covered);
        one(text, DV_IT_DATE, covered);
        assert_int_equal(dv_month_of(e->word, strlen(e->word)), e->month);
        assert_non_null(dv_month_name(e->lang, e->form, e->month));
    }
}

/* A two-digit year written with an apostrophe after a month name and a day (`Mar. 5, '20`, `March 5 '20`,
 * `5 Mar '20`) is a DATE, valid by the calendar as the other two-digit years are (00-30 as 20xx, for 29 February);
 * an apostrophe year alone, or after a month without a day, is not. Before: none was found (`March 5 '20` left
 * its year out). */
static void test_date_apostrophe_year(void **state)
{
    (void)state;
    one("seen Mar. 5, '20 in clinic", DV_IT_DATE, "Mar. 5, '20");
    one("March 5 '20 CT", DV_IT_DATE, "March 5 '20");
    one("CT 5 Mar '20", DV_IT_DATE, "5 Mar '20");
    one("on Mar 25th, '20", DV_IT_DATE, "Mar 25th, '20");
    one("on 5-MAR-'20", DV_IT_DATE, "5-MAR-'20");
    one("Feb 29 '00", DV_IT_DATE, "Feb 29 '00");
    one("DOB: Mar. 5, '61", DV_IT_DATE_OF_BIRTH, "Mar. 5, '61");
    none("Feb 29 '21");
    none("Feb. 30, '20");
    none("'20");
    none("class of '20");
    none("since '20 worse");
    none("in the '90s");
    none("Mar 5 '20s");
}

/* F22 (red team 51): a bare two-digit year after a day and a month name (`5 Mar 20`, Oracle's `05-MAR-20`) and an
 * ISO 8601 ordinal date (`2020-065`) are DATEs; a dose, a range, a split number or a longer code is not. Before,
 * neither form was found (the text kept the true date beside the shifted ones). */
static void test_date_bare_two_digit_year_and_ordinal(void **state)
{
    (void)state;
    one("Exam done 5 Mar 20.", DV_IT_DATE, "5 Mar 20");
    one("CT chest 05 Mar 20", DV_IT_DATE, "05 Mar 20");
    one("seen 05-MAR-20", DV_IT_DATE, "05-MAR-20");
    one("on 29 Feb 20, stable", DV_IT_DATE, "29 Feb 20");
    one("DOB: 4 Mar 61", DV_IT_DATE_OF_BIRTH, "4 Mar 61");
    one("CT chest 2020-065", DV_IT_DATE, "2020-065");
    one("day 2020-366.", DV_IT_DATE, "2020-366");
    none("given 5 Mar 20 mg daily");
    none("Mar 20 mg");
    none("5 Mar 2 0");
    none("29 Feb 21");
    none("5 Mar 20.5");
    none("5 Mar-20");
    none("5 Mar 20-25");
    none("we 5 may 20");
    none("ISO 2020-065-A");
    none("ISO-2020-065");
    none("2020-400");
    none("2019-366");
    none("2020-000");
    none("lot 2020-0651");
    none("v2020-100");
    /* a protocol's, trial's or case's number of that shape (stop 51's review: shifted per patient, one protocol
     * became as many) */
    none("IRB 2019-012 approved");
    none("Protocol 2021-104");
    none("trial 2020-065 arm B");
    none("cohort 2020-065 enrolled");
    one("scanned 2020-065 per protocol", DV_IT_DATE, "2020-065");
}

static void test_date_of_birth(void **state)
{
    (void)state;
    one("DOB: 14/03/1961", DV_IT_DATE_OF_BIRTH, "14/03/1961");
    one("D.O.B. 1961-03-14", DV_IT_DATE_OF_BIRTH, "1961-03-14");
    one("born on March 4, 1961", DV_IT_DATE_OF_BIRTH, "March 4, 1961");
    one("geb. 04.03.1961", DV_IT_DATE_OF_BIRTH, "04.03.1961");
    one("Date of birth 19610304", DV_IT_DATE_OF_BIRTH, "19610304");
    one("birthdate: 4 Mar 1961", DV_IT_DATE_OF_BIRTH, "4 Mar 1961");
    one("n\xc3\xa9" "e le 04/03/1961", DV_IT_DATE_OF_BIRTH, "04/03/1961");
    one("n\xc3\xa9" "e le 4 mars 1961", DV_IT_DATE_OF_BIRTH, "4 mars 1961");
    one("Geburtsdatum 04.03.1961", DV_IT_DATE_OF_BIRTH, "04.03.1961");
    one("DOB 3/4/61", DV_IT_DATE_OF_BIRTH, "3/4/61");
    one("Pt born 1961-03-04", DV_IT_DATE_OF_BIRTH, "1961-03-04");
    /* a date without birth context stays DATE */
    one("scan 1961-03-04 born", DV_IT_DATE, "1961-03-04");
    one("DOB unknown, scanned 2019-03-14", DV_IT_DATE, "2019-03-14");
}

static void test_age(void **state)
{
    (void)state;
    one("45 y male", DV_IT_AGE, "45 y");
    one("a 45-year-old woman", DV_IT_AGE, "45-year-old");
    one("45 yo F", DV_IT_AGE, "45 yo");
    one("45 y/o F", DV_IT_AGE, "45 y/o");
    one("Patient 045Y", DV_IT_AGE, "045Y");
    one("age 45", DV_IT_AGE, "45");
    one("aged 67 years", DV_IT_AGE, "67 years");
    one("80 years of age", DV_IT_AGE, "80 years of age");
    one("Alter: 71 J", DV_IT_AGE, "71 J");
    one("6 month old infant", DV_IT_AGE, "6 month old");
    none("for 5 years");
    none("2 years ago");
    none("follow-up in 6 months");
    none("Age unknown");
    none("200 years old");
    none("120D");
    none("36 weeks gestation");
    none("within 2 y");
    none("ECG 12-lead");
    none("Se 3 Im 45");
}

static void test_time(void **state)
{
    (void)state;
    one("at 14:23", DV_IT_TIME, "14:23");
    one("14:23:05 acquired", DV_IT_TIME, "14:23:05");
    one("injected 2:30 pm", DV_IT_TIME, "2:30 pm");
    one("at 9:15", DV_IT_TIME, "9:15");
    one("scan 7 am", DV_IT_TIME, "7 am");
    one("um 14h30", DV_IT_TIME, "14h30");
    one("started 08:05:59.123", DV_IT_TIME, "08:05:59.123");
    one("11 P.M. arrival", DV_IT_TIME, "11 P.M.");
    one("23:59 end", DV_IT_TIME, "23:59");
    one("from 9:00", DV_IT_TIME, "9:00");
    none("1:2");
    none("1:1000");
    none("ratio 1:10");
    none("dilution 12:30");
    none("24:00");
    none("9:60");
    none("13:30 pm");
    none("mix 1:10 solution");
    none("C3:C4");
    none("TR 2000 TE 90");
}

static void test_phone(void **state)
{
    (void)state;
    one("call +1 (555) 123-4567", DV_IT_PHONE_NUMBER, "+1 (555) 123-4567");
    one("call 555-123-4567", DV_IT_PHONE_NUMBER, "555-123-4567");
    one("call (555) 123-4567", DV_IT_PHONE_NUMBER, "(555) 123-4567");
    one("+44 20 7946 0958", DV_IT_PHONE_NUMBER, "+44 20 7946 0958");
    one("06 12 34 56 78", DV_IT_PHONE_NUMBER, "06 12 34 56 78");
    one("020 7946 0958", DV_IT_PHONE_NUMBER, "020 7946 0958");
    one("Tel 5551234567", DV_IT_PHONE_NUMBER, "5551234567");
    one("fax: 0171/1234567", DV_IT_PHONE_NUMBER, "0171/1234567");
    one("0049 30 1234567", DV_IT_PHONE_NUMBER, "0049 30 1234567");
    one("ph 555.123.4567", DV_IT_PHONE_NUMBER, "555.123.4567");
    /* Japan's 2-digit area codes, without a phone word */
    one("\xe9\x80\xa3\xe7\xb5\xa1\xe5\x85\x88 03-1234-5678", DV_IT_PHONE_NUMBER, "03-1234-5678");
    one("\xe9\x80\xa3\xe7\xb5\xa1\xe5\x85\x88 \xef\xbc\x90\xef\xbc\x96\xef\xbc\x8d\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93\xef\xbc\x94\xef\xbc\x8d\xef\xbc\x95\xef\xbc\x96\xef\xbc\x97\xef\xbc\x98", DV_IT_PHONE_NUMBER,
        "\xef\xbc\x90\xef\xbc\x96\xef\xbc\x8d\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93\xef\xbc\x94\xef\xbc\x8d\xef\xbc\x95\xef\xbc\x96\xef\xbc\x97\xef\xbc\x98");
    none("03-1234-567");      /* 9 digits: not that form */
    none("2003-1234-5678");   /* digits before: part of another number */
    none("ref 03-1234-56789");
    none("5551234567");
    none("120 kVp");
    none("TR 2000 TE 90");
    none("12 x 8 x 7 mm");
    none("0.5 mSv");
    none("Series 1234 5678");
    none("+5 mm");
    none("Im 45 of 120");
    none("pitch 0.984");
    none("tel");
}

static void test_email_url(void **state)
{
    (void)state;
    one("mail john.doe@example.org.", DV_IT_EMAIL_ADDRESS, "john.doe@example.org");
    one("<a.b+c@sub.example.co.uk>", DV_IT_EMAIL_ADDRESS, "a.b+c@sub.example.co.uk");
    one("see https://example.org/x?y=1.", DV_IT_URL, "https://example.org/x?y=1");
    one("(www.hospital.example.com)", DV_IT_URL, "www.hospital.example.com");
    one("http://10.0.0.1:8042/dicom-web", DV_IT_URL, "http://10.0.0.1:8042/dicom-web");
    none("user@localhost");
    none("@ 5 mm");
    none("a@b");
    none("report.pdf");
    none("http:");
}

static void test_ip_mac(void **state)
{
    (void)state;
    one("IP 192.168.1.10", DV_IT_IP_ADDRESS, "192.168.1.10");
    one("host 10.0.0.1:104", DV_IT_IP_ADDRESS, "10.0.0.1:104");
    one("fe80::1ff:fe23:4567:890a", DV_IT_IP_ADDRESS, "fe80::1ff:fe23:4567:890a");
    one("addr 2001:db8::1.", DV_IT_IP_ADDRESS, "2001:db8::1");
    one("MAC 00:1A:2B:3C:4D:5E", DV_IT_MAC_ADDRESS, "00:1A:2B:3C:4D:5E");
    one("MAC 00-1a-2b-3c-4d-5e", DV_IT_MAC_ADDRESS, "00-1a-2b-3c-4d-5e");
    one("MAC 001a.2b3c.4d5e", DV_IT_MAC_ADDRESS, "001a.2b3c.4d5e");
    none("1.2.840.10008.5.1.4.1.1.2");
    none("1.2.3.4.5");
    none("256.1.1.1");
    none("version 4.5.2.1");
    one("14:23:05", DV_IT_TIME, "14:23:05"); /* a time, not an IPv6 address */
    none("00:1A:2B:3C:4D");
    none("1.5.2");
    none("3.0 T");
    none("00:1A:2B:3C:4D:5E:6F");
}

static void test_checksums(void **state)
{
    (void)state;
    assert_true(dv_luhn_ok("79927398713", 11));
    assert_false(dv_luhn_ok("79927398710", 11));
    assert_true(dv_card_ok("4111111111111111", 16));
    assert_false(dv_card_ok("4111111111111112", 16));    /* Luhn */
    assert_false(dv_card_ok("9111111111111111", 16) && 0); /* unknown IIN */
    assert_false(dv_card_ok("1111111111111117", 16));    /* IIN 1 unassigned */
    assert_true(dv_card_ok("378282246310005", 15));
    assert_false(dv_card_ok("37828224631000", 14));      /* Amex length */
    assert_true(dv_npi_ok("1234567893", 10));
    assert_false(dv_npi_ok("1234567890", 10));
    assert_false(dv_npi_ok("3234567893", 10));           /* first digit 1 or 2 */
    assert_true(dv_nhs_ok("9434765919", 10));
    assert_false(dv_nhs_ok("9434765918", 10));
    assert_false(dv_nhs_ok("0000000000", 10));
    assert_true(dv_ssn_ok("078051120", 9));
    assert_false(dv_ssn_ok("000123456", 9));
    assert_false(dv_ssn_ok("666123456", 9));
    assert_false(dv_ssn_ok("912123456", 9));
    assert_false(dv_ssn_ok("123003456", 9));
    assert_false(dv_ssn_ok("123450000", 9));
    assert_true(dv_iban_ok("DE89370400440532013000", 22));
    assert_false(dv_iban_ok("DE89370400440532013001", 22));
    assert_true(dv_iban_ok("GB82WEST12345698765432", 22));
    assert_false(dv_iban_ok("GB82WEST1234569876543", 21)); /* length table */
    assert_false(dv_iban_ok("XX82WEST12345698765432", 22)); /* unknown country */
    assert_true(dv_date_ok(2000, 2, 29));
    assert_false(dv_date_ok(1900, 2, 29));
    assert_false(dv_date_ok(2019, 4, 31));
    assert_false(dv_date_ok(2019, 0, 1));
}

static void test_numbers_with_check_digits(void **state)
{
    (void)state;
    one("SSN 078-05-1120", DV_IT_US_SOCIAL_SECURITY_NUMBER, "078-05-1120");
    one("ssn: 123456789", DV_IT_US_SOCIAL_SECURITY_NUMBER, "123456789");
    one("id 123-45-6789 x", DV_IT_US_SOCIAL_SECURITY_NUMBER, "123-45-6789");
    none("000-12-3456");
    none("666-12-3456");
    none("923-12-3456");
    none("123-00-4567");
    none("123-45-0000");
    none("123456789");
    one("card 4111 1111 1111 1111", DV_IT_CREDIT_CARD_NUMBER, "4111 1111 1111 1111");
    one("card 5500-0000-0000-0004", DV_IT_CREDIT_CARD_NUMBER, "5500-0000-0000-0004");
    one("amex 378282246310005", DV_IT_CREDIT_CARD_NUMBER, "378282246310005");
    none("card 4111 1111 1111 1112");
    none("4111 1111-1111 1111");
    one("IBAN DE89 3704 0044 0532 0130 00 paid", DV_IT_IBAN_CODE, "DE89 3704 0044 0532 0130 00");
    one("GB82WEST12345698765432", DV_IT_IBAN_CODE, "GB82WEST12345698765432");
    none("DE89 3704 0044 0532 0130 01");
    none("DE89370400440532013000X");
    one("NPI 1234567893", DV_IT_US_HEALTHCARE_NPI, "1234567893");
    none("NPI 1234567890");
    one("NHS 943 476 5919", DV_IT_UK_NATIONAL_HEALTH_SERVICE_NUMBER, "943 476 5919");
    one("NHS no. 9434765919", DV_IT_UK_NATIONAL_HEALTH_SERVICE_NUMBER, "9434765919");
    none("NHS 9434765918");
}

static void test_record_numbers(void **state)
{
    (void)state;
    one("MRN: A1234567", DV_IT_MEDICAL_RECORD_NUMBER, "A1234567");
    one("MR# 889977", DV_IT_MEDICAL_RECORD_NUMBER, "889977");
    one("Patient ID: PX-20391", DV_IT_MEDICAL_RECORD_NUMBER, "PX-20391");
    one("Acc# 4452190", DV_IT_MEDICAL_RECORD_NUMBER, "4452190");
    one("accession number CT7788", DV_IT_MEDICAL_RECORD_NUMBER, "CT7788");
    one("case 12345", DV_IT_MEDICAL_RECORD_NUMBER, "12345");
    one("Study ID 7A2B9", DV_IT_MEDICAL_RECORD_NUMBER, "7A2B9");
    one("pt id 00451", DV_IT_MEDICAL_RECORD_NUMBER, "00451");
    one("Fallnummer 4711-0815", DV_IT_MEDICAL_RECORD_NUMBER, "4711-0815");
    one("ID=X99Z12", DV_IT_MEDICAL_RECORD_NUMBER, "X99Z12");
    none("MRN pending");
    none("ID 12");
    none("case report");
    none("Patient ID unknown");
    none("accession");
    none("Se 3 Im 45");
    none("ECG 12-lead");
    none("No contrast");
    none("ID: ABC");
    none("T2 FLAIR");
}

static void test_street_address(void **state)
{
    (void)state;
    one("lives at 221B Baker Street, Flat 3.", DV_IT_STREET_ADDRESS, "221B Baker Street, Flat 3");
    one("1600 Pennsylvania Avenue NW", DV_IT_STREET_ADDRESS, "1600 Pennsylvania Avenue");
    one("12 Main St. Apt 4", DV_IT_STREET_ADDRESS, "12 Main St. Apt 4");
    one("12 rue de la Paix", DV_IT_STREET_ADDRESS, "12 rue de la Paix");
    one("Hauptstra\xc3\x9f" "e 5", DV_IT_STREET_ADDRESS, "Hauptstra\xc3\x9f" "e 5");
    one("London NW1 6XE", DV_IT_STREET_ADDRESS, "NW1 6XE");
    one("Ottawa K1A 0B1", DV_IT_STREET_ADDRESS, "K1A 0B1");
    one("Boston, MA 02115", DV_IT_STREET_ADDRESS, "02115");
    one("D-80331 M\xc3\xbcnchen", DV_IT_STREET_ADDRESS, "D-80331");
    one("PO Box 1234", DV_IT_STREET_ADDRESS, "PO Box 1234");
    none("12 HEAD CT");
    none("CHEST WALL");
    none("L4-L5");
    none("3 Lesions Noted");
    none("CT 02115");
    none("12345 Series");
    none("Series 12 AXIAL T1 POST");
    none("5 mm");
    none("T2 FLAIR");
    none("C3-C4");
}

/* A US city, state and ZIP without the comma (`Springfield IL 62704`): found when the word before the state code is
 * capitalised (a capital, then a small letter) and the ZIP's first three digits are ones the state uses. The
 * state codes that are also views and modalities (PA, CT) stand before radiology CPT codes (7xxxx) in procedure
 * text: `Chest PA 71046`, `Head CT 70450` are no addresses (PA ZIPs are 150-196, CT's 060-069), nor is all-caps
 * `CHEST PA 15213`. The finding covers the ZIP, as after `City, ST`. Before: none was found. */
static void test_us_city_state_zip(void **state)
{
    (void)state;
    one("Springfield IL 62704", DV_IT_STREET_ADDRESS, "62704");
    one("mail to Hartford CT 06103-1234 today", DV_IT_STREET_ADDRESS, "06103-1234");
    one("San Francisco CA 94103", DV_IT_STREET_ADDRESS, "94103");
    one("Pittsburgh PA 15213", DV_IT_STREET_ADDRESS, "15213");
    one("Holtsville NY 00501", DV_IT_STREET_ADDRESS, "00501");
    one("El Paso TX 88510", DV_IT_STREET_ADDRESS, "88510");
    one("Boston, MA 02115", DV_IT_STREET_ADDRESS, "02115");
    none("XR Chest PA 71046");
    none("Head CT 70450");
    none("Pelvis CT 72192 w contrast");
    none("Hand PA 73130");
    none("CHEST PA 15213");
    none("HEAD CT 06103");
    none("Springfield IL 12345");
    none("Springfield IL 627041");
    none("series CT 06103");
    /* in capitals: a known place, or words that are no English, clinical or function words (docs/decisions.md
     * "All-caps US addresses") */
    one("SPRINGFIELD IL 62704", DV_IT_STREET_ADDRESS, "SPRINGFIELD IL 62704");
    one("MAIL TO SAN DIEGO CA 92101 TODAY", DV_IT_STREET_ADDRESS, "SAN DIEGO CA 92101");
    one("ORANGE CA 92868", DV_IT_STREET_ADDRESS, "ORANGE CA 92868");
    one("FROM QUIXBORO TX 75001", DV_IT_STREET_ADDRESS, "QUIXBORO TX 75001");
    one("PITTSBURGH PA 15213-3890", DV_IT_STREET_ADDRESS, "PITTSBURGH PA 15213-3890");
    none("LEFT HAND PA 15213");
    none("XR PA 15213");
    none("SPINE MD 20814");
    none("QUIXBORO TX 12345");
    assert_true(dv_us_zip_state_ok("IL", "62704"));
    assert_true(dv_us_zip_state_ok("TX", "73301")); /* Austin's IRS prefix, inside Oklahoma's range */
    assert_true(dv_us_zip_state_ok("OK", "73102"));
    assert_false(dv_us_zip_state_ok("CT", "70450"));
    assert_false(dv_us_zip_state_ok("PA", "71046"));
    assert_false(dv_us_zip_state_ok("XX", "62704"));
    assert_false(dv_us_zip_state_ok("IL", "6a704"));
}

/* Byte offsets are exact inside multi-byte UTF-8 text. */
static void test_spans_exact_in_utf8(void **state)
{
    (void)state;
    const char *t = "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x94 Untersuchung am 14.03.2019 \xe2\x80\x94 Tel. +49 30 1234567";
    dv_findings f = {0};
    dv_error err;
    assert_int_equal(dv_detect_patterns(P, S, t, strlen(t), ~(dv_infotype_set)0, &f, &err), 0);
    dv_findings_normalise(&f);
    assert_int_equal(f.n, 2);
    const char *d = strstr(t, "14.03.2019"), *ph = strstr(t, "+49");
    assert_int_equal(f.v[0].start, d - t);
    assert_int_equal(f.v[0].end, d - t + 10);
    assert_int_equal(f.v[0].type, DV_IT_DATE);
    assert_int_equal(f.v[1].start, ph - t);
    assert_int_equal(f.v[1].end, strlen(t));
    assert_int_equal(f.v[1].type, DV_IT_PHONE_NUMBER);
    assert_int_equal(f.v[0].detector, DV_DET_PATTERN);
    /* invalid UTF-8 bytes act as separators */
    const char bad[] = "\xff" "2019-03-14" "\xc3";
    dv_findings_clear(&f);
    assert_int_equal(dv_detect_patterns(P, S, bad, sizeof bad - 1, DV_IT_BIT(DV_IT_DATE), &f, &err), 0);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.v[0].start, 1);
    assert_int_equal(f.v[0].end, 11);
    dv_findings_free(&f);
}

/* Only the infoTypes asked for are reported; DOB asks the date patterns. */
/* Full-width ASCII (U+FF01-U+FF5E) and U+3000, as Japanese / Chinese / Korean input methods write digits and
 * punctuation: the patterns run on a folded copy and each span covers exactly the original full-width bytes.
 * CJK dates (2020年3月5日, 2020년 3월 5일) with ASCII or full-width digits, validated like the other dates.
 * Before: every full-width form below was missed, and no CJK date was a date. */
static void test_full_width(void **state)
{
    (void)state;
    one("検査日 ２０２０／０３／０５ 実施", DV_IT_DATE, "２０２０／０３／０５");
    one("検査日 ２０２０－０３－０５", DV_IT_DATE, "２０２０－０３－０５");
    one("検査日 2020年3月5日 実施", DV_IT_DATE, "2020年3月5日");
    one("検査日：２０２０年３月５日", DV_IT_DATE, "２０２０年３月５日");
    one("2020年 3月 5日", DV_IT_DATE, "2020年 3月 5日");
    one("２０２０年　３月　５日に", DV_IT_DATE, "２０２０年　３月　５日"); /* U+3000 between the parts */
    one("검사일 2020년 3월 5일", DV_IT_DATE, "2020년 3월 5일");
    one("2019年12月31日", DV_IT_DATE, "2019年12月31日");
    one("2020年3月から", DV_IT_DATE, "2020年3月"); /* month precision */
    one("生年月日：１９６１年３月１４日", DV_IT_DATE_OF_BIRTH, "１９６１年３月１４日");
    one("携帯 ０９０－１２３４－５６７８", DV_IT_PHONE_NUMBER, "０９０－１２３４－５６７８");
    one("ＴＥＬ：０３－１２３４－５６７８", DV_IT_PHONE_NUMBER, "０３－１２３４－５６７８");
    one("ＳＳＮ　１２３－４５－６７８９", DV_IT_US_SOCIAL_SECURITY_NUMBER, "１２３－４５－６７８９");
    one("連絡先 ｙａｍａｄａ＠ｅｘａｍｐｌｅ．ｃｏｍ まで", DV_IT_EMAIL_ADDRESS, "ｙａｍａｄａ＠ｅｘａｍｐｌｅ．ｃｏｍ");
    one("mixed yamada＠example.com", DV_IT_EMAIL_ADDRESS, "yamada＠example.com");
    /* invalid calendar dates, years outside 19xx/20xx, and numbers that are not dates stay unfound */
    none("2020年13月40日");
    none("２０２０年１３月４０日");
    none("2021年2月29日");
    none("1850年3月5日");
    none("2020年123月");
    none("第３回 ３年前");
    none("ＣＴ　ＣＨＥＳＴ　１２０ｍＬ");
    /* exact byte spans: start at the first original byte, end after the last */
    const char *text = "\xe3\x80\x80ＤＯＢ　２０２０／０３／０５。";
    dv_findings f = {0};
    dv_error err;
    assert_int_equal(dv_detect_patterns(P, S, text, strlen(text), ~(dv_infotype_set)0, &f, &err), 0);
    dv_findings_normalise(&f);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.v[0].type, DV_IT_DATE_OF_BIRTH);
    assert_int_equal(f.v[0].start, 3 + 3 * 3 + 3);
    assert_int_equal(f.v[0].end, 3 + 3 * 3 + 3 + 10 * 3);
    dv_findings_free(&f);
    /* ASCII text is unchanged by the folding path (it never takes it) */
    one("on 2019-03-14.", DV_IT_DATE, "2019-03-14");
    one("Call 555-123-4567", DV_IT_PHONE_NUMBER, "555-123-4567");
}

/* Digits of other scripts (Arabic-Indic, Extended Arabic-Indic as Persian and Urdu write them, Devanagari, Thai)
 * fold to ASCII digits for the patterns as full-width ones do (widthfold.h), and each span covers exactly the
 * original 2- or 3-byte digits. Before (the i18n audit), a date, phone number or ID written in them was no number
 * to the patterns: a study date `٢٣/٠٤/٢٠٢٠` in a comment was neither found nor shifted. */
static void test_other_script_digits(void **state)
{
    (void)state;
    one("تاريخ الفحص ٢٣/٠٤/٢٠٢٠ في المستشفى", DV_IT_DATE, "٢٣/٠٤/٢٠٢٠");
    one("تاریخ ۲۳/۰۴/۲۰۲۰", DV_IT_DATE, "۲۳/۰۴/۲۰۲۰");
    one("जांच २०२०-०४-२३ को हुई", DV_IT_DATE, "२०२०-०४-२३");
    one("ตรวจวันที่ ๒๓/๐๔/๒๐๒๐ ที่", DV_IT_DATE, "๒๓/๐๔/๒๐๒๐");
    one("هاتف ٥٥٥-١٢٣-٤٥٦٧", DV_IT_PHONE_NUMBER, "٥٥٥-١٢٣-٤٥٦٧");
    one("SSN ١٢٣-٤٥-٦٧٨٩", DV_IT_US_SOCIAL_SECURITY_NUMBER, "١٢٣-٤٥-٦٧٨٩");
    /* 2- and 3-byte digits and full-width ones in one text: every span maps back to its own bytes */
    char got[1024];
    detect("a ٢٣/٠٤/٢٠٢٠ b २०२०-०४-२३ c ２０２０／０３／０５ d 2019-03-14", got, sizeof got);
    assert_string_equal(got, "DATE[٢٣/٠٤/٢٠٢٠] DATE[२०२०-०४-२३] DATE[２０２０／０３／０５] DATE[2019-03-14]");
    /* validated as the same text in ASCII digits is */
    none("تاريخ ٢٣/٤٠/٢٠٢٠");
    none("١٨٥٠-٠٣-٠٥");
    /* a text of the script without digits takes the folding path for nothing and finds nothing */
    none("مريض في المستشفى");
}

/* Thai dates: the Buddhist-era year Thai records write (2563 = 2020; eras.h) in a numeric date, and the Thai month
 * names (months.c) in full or abbreviated (`เม.ย.`), with the word เดือน (month) and the era marks พ.ศ. / ค.ศ.,
 * in ASCII or Thai digits. Before, none was a date (the i18n audit's backlog: the years the patterns read were
 * 1900-2099 and no Thai word was a month), so `๒๓/๐๔/๒๕๖๓` or `23 เม.ย. 2504` in a comment stayed. */
static void test_thai_dates(void **state)
{
    (void)state;
    one("ตรวจวันที่ 23/04/2563 ที่", DV_IT_DATE, "23/04/2563");
    one("ตรวจวันที่ ๒๓/๐๔/๒๕๖๓ ที่", DV_IT_DATE, "๒๓/๐๔/๒๕๖๓");
    one("นัดวันที่ 23 เม.ย. 2563 เวลา", DV_IT_DATE, "23 เม.ย. 2563");
    one("นัดวันที่ 23 เมษายน พ.ศ. 2563 ที่", DV_IT_DATE, "23 เมษายน พ.ศ. 2563");
    one("วันที่23เดือนเมษายนพ.ศ.2563", DV_IT_DATE, "23เดือนเมษายนพ.ศ.2563");
    one("วันที่ ๒๓ ก.พ. ๒๕๖๓", DV_IT_DATE, "๒๓ ก.พ. ๒๕๖๓");
    one("วันที่ 5 ม.ค. 63 ตรวจ", DV_IT_DATE, "5 ม.ค. 63");
    one("on 29 ก.พ. 63", DV_IT_DATE, "29 ก.พ. 63"); /* BE 2563 = 2020, a leap year */
    one("วันที่ 23 เม.ย. ค.ศ. 2020", DV_IT_DATE, "23 เม.ย. ค.ศ. 2020");
    one("ผ่าตัดเมื่อเดือนธันวาคม 2562", DV_IT_DATE, "เดือนธันวาคม 2562");
    one("นัดครั้งต่อไป 23 เมษายน ที่", DV_IT_DATE, "23 เมษายน");
    one("วันเกิด 23 เม.ย. 2504", DV_IT_DATE_OF_BIRTH, "23 เม.ย. 2504");
    one("ปีเกิด: 23/04/2504", DV_IT_DATE_OF_BIRTH, "23/04/2504");
    /* not dates: a year outside 1900-2099 in either era, the marked era's other years, no such day */
    none("ครั้งที่ 23/04/2700");
    none("วันที่ 23 เม.ย. พ.ศ. 2020");
    none("วันที่ 23 เม.ย. ค.ศ. 2563");
    none("วันที่ 30 ก.พ. 2563");
    none("วันที่ 29 ก.พ. 2562"); /* 2019: no 29 February, and the day and month alone are not taken out of it */
    none("ผู้ป่วยมาตรวจ 3 ครั้ง");
    /* the review: a time or a count after a day and month leaves them a date; a subdistrict (ต.) before a place
     * name starting with ค is no October; a Thai short year's 29 February */
    one("นัดวันที่ 5 ม.ค. 10.00 น.", DV_IT_DATE, "5 ม.ค");
    one("ตรวจ 23 เม.ย. 3 ครั้ง", DV_IT_DATE, "23 เม.ย");
    none("99 ม.4 ต.คลองหนึ่ง อ.คลองหลวง");
    none("12/3 ม.2 ต.คูคต");
    one("ตรวจวันที่ 29/02/63", DV_IT_DATE, "29/02/63");
}

/* Mathematical alphanumeric symbols (U+1D400-U+1D7FF) and enclosed alphanumerics fold to ASCII letters and digits
 * for the patterns as full-width ones do (widthfold.h dv_math_ascii), and each span covers exactly the original 3-
 * or 4-byte characters. Before, a birth date or phone number written `𝟏𝟗𝟔𝟏-𝟎𝟑-𝟏𝟒` or `𝟻𝟻𝟻-𝟷𝟸𝟹-𝟺𝟻𝟼𝟽` was no number
 * to the patterns and was kept. Circled digits read as digits (NFKC) except beside other digits, where they
 * number a list (widthfold.h dv_circled_digit_ascii). */
static void test_math_letters(void **state)
{
    (void)state;
    one("DOB: 𝟏𝟗𝟔𝟏-𝟎𝟑-𝟏𝟒 (bold)", DV_IT_DATE_OF_BIRTH, "𝟏𝟗𝟔𝟏-𝟎𝟑-𝟏𝟒");
    one("DOB 𝟘𝟛/𝟙𝟜/𝟙𝟡𝟞𝟙", DV_IT_DATE_OF_BIRTH, "𝟘𝟛/𝟙𝟜/𝟙𝟡𝟞𝟙"); /* double-struck */
    one("Call 𝟻𝟻𝟻-𝟷𝟸𝟹-𝟺𝟻𝟼𝟽 today", DV_IT_PHONE_NUMBER, "𝟻𝟻𝟻-𝟷𝟸𝟹-𝟺𝟻𝟼𝟽"); /* monospace */
    one("Call 𝟓𝟓𝟓-𝟙𝟐𝟯-𝟦𝟱𝟼𝟳", DV_IT_PHONE_NUMBER, "𝟓𝟓𝟓-𝟙𝟐𝟯-𝟦𝟱𝟼𝟳"); /* five digit sets mixed */
    one("mail 𝐣𝐚𝐧𝐞@𝐞𝐱𝐚𝐦𝐩𝐥𝐞.𝐜𝐨𝐦 ok", DV_IT_EMAIL_ADDRESS, "𝐣𝐚𝐧𝐞@𝐞𝐱𝐚𝐦𝐩𝐥𝐞.𝐜𝐨𝐦");
    one("DOB ①⑨⑥①-⓪③-①④", DV_IT_DATE_OF_BIRTH, "①⑨⑥①-⓪③-①④"); /* circled digits, away from others */
    /* a circled digit glued to a number is a list number: the true dates stay dates (12020/3/5 would be none) */
    char got[512];
    detect("①2020-03-05 CT②2021-04-06③", got, sizeof got);
    assert_string_equal(got, "DATE[2020-03-05] DATE[2021-04-06]");
    none("①②③ ⑩⑪⑫ ⑴⑵ ⒈⒉"); /* list numbers: ⑩-⑳, ⑴ and ⒈ never fold */
    none("𝛼𝛽 𝚨𝚩 𝟏𝟐𝟑"); /* Greek math letters stay; three digits are no pattern */
    /* validated as the ASCII text is */
    none("DOB 𝟏𝟗𝟔𝟏-𝟏𝟑-𝟒𝟎");
    /* exact byte spans over 4-byte characters */
    const char *text = "DOB \xF0\x9D\x9F\x8F\xF0\x9D\x9F\x97\xF0\x9D\x9F\x94\xF0\x9D\x9F\x8F-03-14.";
    dv_findings f = {0};
    dv_error err;
    assert_int_equal(dv_detect_patterns(P, S, text, strlen(text), ~(dv_infotype_set)0, &f, &err), 0);
    dv_findings_normalise(&f);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.v[0].start, 4);
    assert_int_equal(f.v[0].end, 4 + 4 * 4 + 6);
    dv_findings_free(&f);
}

/* The offset map of a folded copy with 2-, 3- and 4-byte folds mixed (Arabic-Indic ٢, full-width ２, circled ②,
 * mathematical 𝟐 and 𝐐): every folded offset maps to the start of its original character, and the end of the
 * copy to the end of the text. dv_width_fold_into's at/cum hold at most len / 2 entries: a fold takes 2 bytes at
 * least, so 4-byte folds need no more room. */
static void test_fold_map_mixed_widths(void **state)
{
    (void)state;
    const char *in = "a\xD9\xA2" "b\xEF\xBC\x92" "c\xE2\x91\xA1" "d\xF0\x9D\x9F\x90" "e\xF0\x9D\x90\x90"
                     "\xE2\x92\xB6" "f";
    /* a ٢ b ２ c ② d 𝟐 e 𝐐 Ⓐ f: original offsets of each character */
    static const size_t orig[] = {0, 1, 3, 4, 7, 8, 11, 12, 16, 17, 21, 24, 25};
    dv_width_buf b = {0};
    dv_error err;
    assert_int_equal(dv_width_fold(&b, in, strlen(in), &err), 6);
    assert_int_equal(b.len, 12);
    assert_memory_equal(b.text, "a2b2c2d2eQAf", 12);
    for (size_t k = 0; k <= b.len; k++)
        assert_int_equal(dv_width_orig(&b, k), orig[k]);
    /* a text of 4-byte folds only: len / 4 folds, within the len / 2 the map has room for */
    const char *math = "\xF0\x9D\x90\x90\xF0\x9D\x90\xAE\xF0\x9D\x90\xA2"; /* 𝐐𝐮𝐢 */
    assert_int_equal(dv_width_fold(&b, math, strlen(math), &err), 3);
    assert_memory_equal(b.text, "Qui", 3);
    assert_int_equal(dv_width_orig(&b, 1), 4);
    assert_int_equal(dv_width_orig(&b, 3), 12);
    dv_width_buf_free(&b);
    /* dv_width_fold_map (the [CTX] phrases' fold) gives the same copy */
    char out[32];
    uint32_t om[33];
    assert_int_equal(dv_width_fold_map(in, strlen(in), out, om), 12);
    assert_memory_equal(out, "a2b2c2d2eQAf", 12);
    for (size_t k = 0; k <= 12; k++)
        assert_int_equal(om[k], orig[k]);
}

/* cp as UTF-8 into u: its length. */
static size_t utf8_put(uint32_t cp, unsigned char *u)
{
    if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | cp >> 12);
        u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    u[0] = (unsigned char)(0xF0 | cp >> 18);
    u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    u[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* What UnicodeData.txt says cp (named name, decomposition dec) stands for, by the rules of widthfold.h
 * dv_math_ascii: a math letter or digit's <font> ASCII twin; a parenthesized, circled or squared Latin letter's
 * ASCII letter (from its decomposition), a negative circled / squared one's (from its name: no decomposition).
 * The Letterlike fillers are found apart (holes). */
static char unicode_ascii(uint32_t cp, const char *name, const char *dec)
{
    unsigned a = 0, b = 0, c = 0;
    if (cp >= 0x1D400 && cp <= 0x1D7FF)
        return sscanf(dec, "<font> %4x", &a) == 1 && a < 0x80 && isalnum((int)a) ? (char)a : 0;
    if ((cp >= 0x2460 && cp <= 0x24FF) || (cp >= 0x1F100 && cp <= 0x1F1FF)) {
        /* the circled italic C and R (U+1F12B, U+1F12C) are signs like © and ®, no letters of a word */
        if ((sscanf(dec, "<circle> %4x", &a) == 1 || sscanf(dec, "<square> %4x", &a) == 1) && strlen(dec) == 13)
            return isalpha((int)a) && !strstr(name, "ITALIC") ? (char)a : 0; /* digits: dv_circled_digit_ascii */
        if (sscanf(dec, "<compat> %4x %4x %4x", &a, &b, &c) == 3 && a == '(' && c == ')' && isalpha((int)b))
            return (char)b;
        const char *neg[] = {"NEGATIVE CIRCLED LATIN CAPITAL LETTER ", "NEGATIVE SQUARED LATIN CAPITAL LETTER "};
        for (size_t k = 0; k < 2; k++)
            if (strncmp(name, neg[k], strlen(neg[k])) == 0 && strlen(name) == strlen(neg[k]) + 1)
                return name[strlen(neg[k])];
    }
    return 0;
}

/* The fold read from Debian's UnicodeData.txt (package unicode-data), not from the code's own arithmetic: every
 * code point of U+2100-U+214F, U+2460-U+24FF, U+1D400-U+1D7FF and U+1F100-U+1F1FF folds (dv_math_ascii, and
 * dv_width_fold_char on its UTF-8, as long as its UTF-8) to what unicode_ascii says, the math alphabets' 24 holes
 * to the Letterlike letter of their style that Unicode puts there, and nothing else folds. */
static void test_math_fold_matches_unicode_data(void **state)
{
    (void)state;
    FILE *fp = fopen("/usr/share/unicode/UnicodeData.txt", "r");
    if (!fp) /* a dependency (Makefile DEB_PACKAGES): missing, the check fails rather than skips */
        fail_msg("/usr/share/unicode/UnicodeData.txt missing: `make deps` installs unicode-data");
    static char want[0x1F200];
    static unsigned char assigned[0x1F200];
    static char names[0x50][96];
    char line[512];
    while (fgets(line, sizeof line, fp)) {
        char *f[7]; /* code point; name; category; combining class; bidi class; decomposition; ... */
        size_t nf = 0;
        for (char *p = line; nf < 7 && p; nf++) {
            f[nf] = p;
            p = strchr(p, ';');
            if (p)
                *p++ = '\0';
        }
        unsigned cp = (unsigned)strtoul(f[0], NULL, 16);
        if (nf < 7 || cp >= sizeof want)
            continue;
        assigned[cp] = 1;
        want[cp] = unicode_ascii(cp, f[1], f[5]);
        if (cp >= 0x2100 && cp < 0x2150)
            snprintf(names[cp - 0x2100], sizeof names[0], "%s;%s", f[1], f[5]);
    }
    fclose(fp);
    /* the holes: alphabet a, letter k unassigned; the filler is the Letterlike <font> letter of a's style */
    static const char *const style[13] = {[1] = "PLANCK CONSTANT;", [3] = "SCRIPT ", [5] = "BLACK-LETTER ",
                                          [6] = "DOUBLE-STRUCK "};
    int holes = 0;
    for (unsigned a = 0; a < 13; a++) {
        for (unsigned k = 0; k < 52; k++) {
            if (assigned[0x1D400 + a * 52 + k])
                continue;
            char letter = (char)(k < 26 ? 'A' + k : 'a' + k - 26), font[16];
            snprintf(font, sizeof font, "<font> %04X", (unsigned)letter);
            int fillers = 0;
            for (unsigned l = 0; l < 0x50; l++) {
                const char *dec = strchr(names[l], ';');
                if (style[a] && dec && strcmp(dec + 1, font) == 0 && strstr(names[l], style[a]) == names[l] &&
                    !strstr(names[l], "ITALIC")) {
                    want[0x2100 + l] = letter;
                    fillers++;
                }
            }
            assert_int_equal(fillers, 1);
            holes++;
        }
    }
    assert_int_equal(holes, 24);
    static const uint32_t ranges[][2] = {{0x2100, 0x214F}, {0x2460, 0x24FF}, {0x1D400, 0x1D7FF}, {0x1F100, 0x1F1FF}};
    int folds = 0;
    for (size_t r = 0; r < 4; r++) {
        for (uint32_t cp = ranges[r][0]; cp <= ranges[r][1]; cp++) {
            unsigned char u[8] = {0};
            size_t n = utf8_put(cp, u), clen = 0;
            if (dv_math_ascii(cp) != want[cp])
                fail_msg("U+%04X folds to '%c', UnicodeData.txt says '%c'", cp, dv_math_ascii(cp) ?: '0',
                         want[cp] ?: '0');
            char got = dv_width_fold_char(u, 0, n, &clen);
            if (cp >= 0x2460 && cp <= 0x24FF && assigned[cp] && isdigit((int)got))
                continue; /* a circled digit alone: dv_circled_digit_ascii, below */
            assert_int_equal(got, want[cp]);
            assert_true(!got || clen == n);
            folds += want[cp] != 0;
        }
    }
    assert_int_equal(folds, 13 * 52 - 24 + 50 + 24 + 3 * 26 + 4 * 26);
    /* circled digits: ⓪ and ①-⑨ alone are their digits, as their <circle> decomposition says; ⑩-⑳ are not */
    for (uint32_t cp = 0x2460; cp <= 0x2473; cp++) {
        unsigned char u[4];
        size_t clen = 0;
        utf8_put(cp, u);
        assert_int_equal(dv_width_fold_char(u, 0, 3, &clen), cp <= 0x2468 ? (char)('1' + (cp - 0x2460)) : 0);
    }
    const unsigned char zero[] = {0xE2, 0x93, 0xAA};
    size_t clen;
    assert_int_equal(dv_width_fold_char(zero, 0, 3, &clen), '0');
}

/* The small form variants of ASCII punctuation (U+FE50-U+FE6B: ﹣ U+FE63, ﹕ U+FE55, ﹒ U+FE52, ...) fold to ASCII
 * as the full-width forms do (widthfold.h), so an ID, date, phone or address written with them is found as the
 * same text with '-' (or full-width －) is, over the same characters. Before, ﹣ was no '-' to the patterns:
 * 2019﹣10﹣19 was no date and `Fallnummer 4711﹣0815` gave 4711 only, leaving 0815. */
/* s with each ASCII character map[k][0] written as map[k] + 1. */
static void to_small(const char *s, const char *const *map, size_t nmap, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (; *s && n < cap; s++) {
        const char *u = NULL;
        for (size_t k = 0; k < nmap && !u; k++)
            u = map[k][0] == *s ? map[k] + 1 : NULL;
        char one[2] = {*s, '\0'};
        n += (size_t)snprintf(out + n, cap - n, "%s", u ? u : one);
    }
    assert_true(n < cap);
}

static void test_small_form_variants(void **state)
{
    (void)state;
    one("Fallnummer 4711﹣0815", DV_IT_MEDICAL_RECORD_NUMBER, "4711﹣0815");
    one("Patient ID﹕ PX﹣20391", DV_IT_MEDICAL_RECORD_NUMBER, "PX﹣20391");
    one("on 2019﹣10﹣19 x", DV_IT_DATE, "2019﹣10﹣19");
    one("am 19﹒10﹒2019 untersucht", DV_IT_DATE, "19﹒10﹒2019");
    one("Call 555﹣123﹣4567", DV_IT_PHONE_NUMBER, "555﹣123﹣4567");
    one("SSN 123﹣45﹣6789", DV_IT_US_SOCIAL_SECURITY_NUMBER, "123﹣45﹣6789");
    one("mail jane﹫example﹒com", DV_IT_EMAIL_ADDRESS, "jane﹫example﹒com");
    /* every ASCII line below, its punctuation written as small forms: the same findings over the same characters
     * (the ASCII line with '-' and the full-width one with － are found alike in test_full_width) */
    static const char *const ascii[] = {"Fallnummer 4711-0815", "on 2019-10-19 x", "Call 555-123-4567",
                                        "SSN 123-45-6789",      "MR# 889977",      "ID=X99Z12",
                                        "IP 10.1.2.3 (host)",   "am 14.03.2019",   "Call (555) 123-4567"};
    static const char *const small[] = {"-\xEF\xB9\xA3", ".\xEF\xB9\x92", ":\xEF\xB9\x95", "#\xEF\xB9\x9F",
                                        "=\xEF\xB9\xA6", "(\xEF\xB9\x99", ")\xEF\xB9\x9A", "@\xEF\xB9\xAB"};
    for (size_t i = 0; i < sizeof ascii / sizeof *ascii; i++) {
        char text[128], want[512], got[512];
        to_small(ascii[i], small, sizeof small / sizeof *small, text, sizeof text);
        detect(ascii[i], want, sizeof want);
        detect(text, got, sizeof got);
        assert_true(want[0] != '\0');
        /* the spans cover the same characters: the small-form findings are the ASCII ones written small (no
         * infoType name holds a character of small[]) */
        char wsmall[1024];
        to_small(want, small, sizeof small / sizeof *small, wsmall, sizeof wsmall);
        if (strcmp(got, wsmall) != 0)
            fail_msg("\"%s\": want %s, got %s", text, wsmall, got);
    }
}

/* Japanese era dates (令和2年3月5日, 令和元年5月1日, 平成31年4月30日), the Chinese day mark 号 (2020年3月5号), and CJK
 * dates without a year (3月5日, 3月5号, 3월 5일), as a month and day are a date under Safe Harbor and English
 * `March 5` is one. An era year outside its era, or a day the era had not begun or had ended, is no date.
 * Before: all of these were kept. */
/* Dates in kanji numerals (kanjinum.h): a year digit by digit, a month and a day either digit by digit or
 * counted with 十, Japanese eras too. Before: none was found, so DEIDENTIFY_TAG_CONTENTS kept them. */
static void test_kanji_numeral_dates(void **state)
{
    (void)state;
    one("检查日期 二〇二四年三月五日", DV_IT_DATE, "二〇二四年三月五日");
    one("二零二四年十二月二十五号", DV_IT_DATE, "二零二四年十二月二十五号");
    one("一九八五年一〇月〇三日", DV_IT_DATE, "一九八五年一〇月〇三日");
    one("令和六年三月五日", DV_IT_DATE, "令和六年三月五日");
    one("平成三十一年四月三十日", DV_IT_DATE, "平成三十一年四月三十日");
    one("令和元年五月一日", DV_IT_DATE, "令和元年五月一日");
    one("二〇二四年三月 撮影", DV_IT_DATE, "二〇二四年三月");
    one("受診 十二月二十五日 午前", DV_IT_DATE, "十二月二十五日");
    none("二〇二四年十三月五日"); /* no 13th month */
    none("二〇二四年二月三十日");
    none("二〇二四年十十月五日"); /* no kanji number */
    none("平成三十二年一月一日"); /* 平成 ended in its 31st year */
    none("三三三三年三月三日");   /* a year this product does not read */
    none("一つ目の三月");
}

static void test_cjk_eras_and_year_less(void **state)
{
    (void)state;
    one("検査日 令和2年3月5日 実施", DV_IT_DATE, "令和2年3月5日");
    one("令和元年5月1日", DV_IT_DATE, "令和元年5月1日");
    one("平成31年4月30日に撮影", DV_IT_DATE, "平成31年4月30日");
    one("昭和３６年３月１４日生", DV_IT_DATE, "昭和３６年３月１４日");
    one("大正15年12月24日", DV_IT_DATE, "大正15年12月24日");
    one("令和 2 年 3 月 5 日", DV_IT_DATE, "令和 2 年 3 月 5 日");
    one("令和2年3月", DV_IT_DATE, "令和2年3月"); /* month precision, as 2020年3月 */
    one("2020年3月5号", DV_IT_DATE, "2020年3月5号");
    one("检查 3月5号", DV_IT_DATE, "3月5号");
    one("受診 3月5日 午前", DV_IT_DATE, "3月5日");
    one("３月５日", DV_IT_DATE, "３月５日");
    one("3월 5일 검사", DV_IT_DATE, "3월 5일");
    none("平成32年1月1日");  /* 平成 ended in its 31st year */
    none("昭和65年1月1日");
    /* checked by year: 平成31年5月1日 is how systems not yet updated wrote 2019-05-01 (before: kept whole) */
    one("平成31年5月1日", DV_IT_DATE, "平成31年5月1日");
    one("令和元年4月", DV_IT_DATE, "令和元年4月");
    none("2021年\n2月29日"); /* a line break is white space between a year and its month */
    none("13月5日");
    none("2月30日");
    none("5号室 3号機"); /* 号 alone is a number mark */
}

static void test_want_filters(void **state)
{
    (void)state;
    const char *t = "DOB 14/03/1961 seen 2019-03-14 tel 555-123-4567";
    dv_findings f = {0};
    dv_error err;
    assert_int_equal(dv_detect_patterns(P, S, t, strlen(t), DV_IT_BIT(DV_IT_DATE_OF_BIRTH), &f, &err), 0);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.v[0].type, DV_IT_DATE_OF_BIRTH);
    dv_findings_clear(&f);
    assert_int_equal(dv_detect_patterns(P, S, t, strlen(t), 0, &f, &err), 0);
    assert_int_equal(f.n, 0);
    dv_findings_free(&f);
}

static const char *const clinical[] = {
    "5 mm", "T2 FLAIR", "L4-L5", "C3-C4", "MAY-THURNER", "3.0 T", "TR 2000 TE 90", "1:1000", "120 kVp",
    "ECG 12-lead", "Se 3 Im 45", "syngo MR E11", "software VE11C", "v2.3.1", "version 4.5.2.1",
    "1.2.840.10008.5.1.4.1.1.2", "1.2.826.0.1.3680043.2.1125.1.12345678901234567890", "0.5 mSv",
    "CHEST WALL", "BP 120/80 HR 72 bpm", "matrix 256x256 FOV 240 mm", "Gleason 3+4=7", "PI-RADS 4",
    "CTDIvol 12.3 mGy DLP 456.7 mGy*cm", "EF 55%", "DWI b=1000", "Im 1/120", "Lesion 12 x 8 x 7 mm",
    "kV 120 mAs 250 pitch 0.984", "S1 radiculopathy",
};

static void test_clinical_phrases_do_not_fire(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof clinical / sizeof clinical[0]; i++)
        none(clinical[i]);
}

static void test_limits(void **state)
{
    (void)state;
    dv_findings f = {0};
    dv_error err;
    assert_int_equal(dv_detect_patterns(P, S, "x", (size_t)DV_PATTERNS_MAX_TEXT + 1, 1, &f, &err), -1);
    assert_int_equal(err.code, DV_ERR_LIMIT);
    assert_int_equal(dv_detect_patterns(P, S, NULL, 0, 1, &f, &err), 0);
    assert_int_equal(f.n, 0);
}

/* Every committed fuzz_text_detect regression replays here in the normal (and ASan) build: the spans stay
 * in bounds and normalise to sorted, disjoint spans. */
static void test_fuzz_regressions_replay(void **state)
{
    (void)state;
    const char *dir = DV_SOURCE_DIR "/tests/fuzz/regressions/text_detect";
    DIR *d = opendir(dir);
    assert_non_null(d);
    int files = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        char buf[65536];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        dv_findings fs = {0};
        dv_error err;
        assert_int_equal(dv_detect_patterns(P, S, buf, n, ~(dv_infotype_set)0, &fs, &err), 0);
        for (size_t i = 0; i < fs.n; i++)
            assert_true(fs.v[i].start < fs.v[i].end && fs.v[i].end <= n);
        dv_findings_normalise(&fs);
        for (size_t i = 1; i < fs.n; i++)
            assert_true(fs.v[i - 1].end <= fs.v[i].start);
        dv_findings_free(&fs);
        files++;
    }
    closedir(d);
    assert_true(files >= 1);
}

/* The pre-filters (src/text/prefilter.c) never change a finding: every line of the labelled corpora (as written
 * and with its {{TYPE|...}} marks removed) and many generated strings built from the pieces the patterns and
 * their pre-filters look at (digits, separators, month names, context words, postcodes, hex groups) give the
 * same findings with and without them. */
static void check_file_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[8192], plain[8192];
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        size_t n = strcspn(line, "\n");
        line[n] = 0;
        same_with_and_without_prefilters(line, n, ~(dv_infotype_set)0);
        size_t o = 0; /* {{TYPE|text}} -> text */
        for (size_t i = 0; i < n;) {
            if (line[i] == '{' && line[i + 1] == '{') {
                const char *bar = strchr(line + i, '|');
                if (bar) {
                    i = (size_t)(bar - line) + 1;
                    continue;
                }
            }
            if (line[i] == '}' && line[i + 1] == '}') {
                i += 2;
                continue;
            }
            plain[o++] = line[i++];
        }
        same_with_and_without_prefilters(plain, o, ~(dv_infotype_set)0);
        same_with_and_without_prefilters(plain, o, DV_IT_BIT(DV_IT_DATE_OF_BIRTH));
        lines++;
    }
    fclose(f);
    assert_true(lines > 300);
}

static void test_prefilter_same_findings(void **state)
{
    (void)state;
    check_file_lines(DV_SOURCE_DIR "/tests/text/corpus/patterns.tsv");
    check_file_lines(DV_SOURCE_DIR "/tests/text/corpus/names.tsv");
    static const char *const pieces[] = {
        "0", "1", "2", "9", "00", "07", "12", "19", "20", "31", "123", "065", "555", "1234", "2019", "1961", "0171",
        "99999",
        "4111", "12345", "1234567890", "0.0007475704769603908", " ", "  ", "-", "/", ".", ":", ",", ", ", "; ", "+",
        "(", ")", "#", "@", "h", "\t", "\n", "Jan", "march", "MAY", "mai", "Sept", "okt", "ao\xc3\xbbt", "M\xc3\xa4rz",
        "of ", "th", "y", "yo", " years", " y/o", "months old", "age", "Alter ", "am", "PM", "p.m.", "tel", "Phone:",
        "fax", "contact", "www.", "http://", "x.org", "a@b.de", "AB", "GB82", "WEST", "SW1A", "1AA", "K1A", "0B1",
        "NY", "Springfield, IL", "zip", "PLZ", "D-", "Berlin", "Hauptstra\xc3\x9f" "e", "Str.", "weg", "rue",
        "Avenue", "bis", "Baker", "Street", "St", "Apt", "PO Box", "MRN", "ID", "NHS", "NPI", "SSN", "ab", "cd",
        "EF", "1a", "2b", "fe80", "::", "version", "v", "DOB", "born", "\xc3\xa9", "\xc5\xbf", "\xe2\x84\xaa", "\xff",
        /* CJK dates: era names and abbreviations, 元, the marks, a full-width digit and space */
        "令和", "平成", "平", "大", "元", "年", "月", "日", "号", "월", "일", "２", "　",
    };
    const size_t np = sizeof pieces / sizeof pieces[0];
    uint32_t r = 12345;
    char buf[512];
    for (int k = 0; k < 20000; k++) {
        size_t n = 0, parts = 1 + k % 12;
        for (size_t i = 0; i < parts; i++) {
            r = r * 1103515245u + 12345u;
            const char *pc = pieces[(r >> 8) % np];
            size_t l = strlen(pc);
            if (n + l >= sizeof buf)
                break;
            memcpy(buf + n, pc, l);
            n += l;
        }
        same_with_and_without_prefilters(buf, n, ~(dv_infotype_set)0);
    }
}

typedef struct {
    int found;
} worker_arg;

static void *worker(void *a)
{
    worker_arg *w = a;
    dv_error err;
    dv_text_scratch *s = dv_text_scratch_new(&err);
    const char *t = "DOB 14/03/1961 tel +44 20 7946 0958 MRN A1234567 mail a@example.org";
    for (int i = 0; i < 2000; i++) {
        dv_findings f = {0};
        if (dv_detect_patterns(P, s, t, strlen(t), ~(dv_infotype_set)0, &f, &err) == 0) {
            dv_findings_normalise(&f);
            if (f.n == 4)
                w->found++;
        }
        dv_findings_free(&f);
    }
    dv_text_scratch_free(s);
    return NULL;
}

static void test_two_workers_share_patterns(void **state)
{
    (void)state;
    pthread_t t[2];
    worker_arg a[2] = {{0}, {0}};
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, &a[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(a[0].found, 2000);
    assert_int_equal(a[1].found, 2000);
}

/* Japanese era dates (元号): 令和2年3月5日 is 2020-03-05. Each era's years run to its last (平成 1-31, 昭和 1-64, 大正
 * 1-15, 明治 1-45, 令和 1-99), 元 is year 1, digits may be full width, and the one-character abbreviations count
 * only right before the year (平31年...). Before this, no era date was found. */
static void test_japanese_era(void **state)
{
    (void)state;
    one("検査日 令和2年3月5日 実施", DV_IT_DATE, "令和2年3月5日");
    one("平成31年4月30日", DV_IT_DATE, "平成31年4月30日");
    one("令和元年5月1日から", DV_IT_DATE, "令和元年5月1日");
    one("検査日：令和２年３月５日", DV_IT_DATE, "令和２年３月５日");
    one("令和　２年　３月　５日", DV_IT_DATE, "令和　２年　３月　５日");
    one("昭和64年1月7日", DV_IT_DATE, "昭和64年1月7日");
    one("大正15年12月24日", DV_IT_DATE, "大正15年12月24日");
    one("明治45年7月29日", DV_IT_DATE, "明治45年7月29日");
    one("平成元年1月8日", DV_IT_DATE, "平成元年1月8日");
    one("平31年4月30日", DV_IT_DATE, "平31年4月30日");
    one("受診日昭63年12月1日", DV_IT_DATE, "昭63年12月1日");
    one("令和2年2月29日", DV_IT_DATE, "令和2年2月29日"); /* 2020 is a leap year */
    one("生年月日：昭和36年3月14日", DV_IT_DATE_OF_BIRTH, "昭和36年3月14日");
    /* month precision, as 2020年3月 (70); not taken out of an impossible full date */
    one("令和2年3月から", DV_IT_DATE, "令和2年3月");
    one("平成元年　１２月頃", DV_IT_DATE, "平成元年　１２月");
    none("令和2年13月");
    none("平成32年3月");
    none("令和3年2月29日");
    /* years past an era's last, year 0, impossible days, and the abbreviations in ordinary words stay unfound */
    none("平成32年1月1日");
    none("昭和65年1月1日");
    none("大正16年1月1日");
    none("明治46年1月1日");
    none("令和100年1月1日");
    none("令和0年1月1日");
    none("令和3年2月29日");
    none("平成元年13月1日");
    none("最大2年");
    none("平均3年");
    none("平成");
}
/* A CJK month and day without a year (3月5日, Korean 3월 5일) is a date, as "March 14" is (score 65, full month
 * names only there); the Chinese day mark 号 (2020年3月5号, 3月5号) counts as 日. A month and day right after a
 * numbered year belong to that year's date (2021年2月29日 is no date, and 2月29日 is not taken out of it). Before this,
 * none of them was found. */
static void test_cjk_month_day(void **state)
{
    (void)state;
    one("検査日 3月5日 実施", DV_IT_DATE, "3月5日");
    one("12月31日に撮影", DV_IT_DATE, "12月31日");
    one("検査日：３月５日", DV_IT_DATE, "３月５日");
    one("３月　５日", DV_IT_DATE, "３月　５日");
    one("검사일 3월 5일", DV_IT_DATE, "3월 5일");
    one("2月29日", DV_IT_DATE, "2月29日"); /* a day of leap years */
    one("2020年3月5号", DV_IT_DATE, "2020年3月5号");
    one("２０２０年３月５号", DV_IT_DATE, "２０２０年３月５号");
    one("于3月5号入院", DV_IT_DATE, "3月5号");
    one("生年月日：3月14日", DV_IT_DATE_OF_BIRTH, "3月14日");
    one("昨年3月5日に手術", DV_IT_DATE, "3月5日"); /* last year: no numbered year, the month and day are a date */
    one("同年 12月1日", DV_IT_DATE, "12月1日");
    /* a year no dated pattern reads (the Latin era letters H31年, Taiwan's 民國109年) does not hide the month and day */
    one("H31年4月30日", DV_IT_DATE, "4月30日");
    one("民國109年3月5日", DV_IT_DATE, "3月5日");
    none("2月30日");
    none("13月1日");
    none("3月32日");
    none("1012月1日");
    none("2021年2月29号");
    none("2021年 2月29日");
    none("平成32年1月1日");
    none("1日3回");
    none("3か月5日");
    none("第5号");
    none("3号室");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_date),
        cmocka_unit_test(test_month_words_are_dates),
        cmocka_unit_test(test_date_apostrophe_year),
        cmocka_unit_test(test_date_bare_two_digit_year_and_ordinal),
        cmocka_unit_test(test_date_of_birth),
        cmocka_unit_test(test_age),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_phone),
        cmocka_unit_test(test_email_url),
        cmocka_unit_test(test_ip_mac),
        cmocka_unit_test(test_checksums),
        cmocka_unit_test(test_numbers_with_check_digits),
        cmocka_unit_test(test_record_numbers),
        cmocka_unit_test(test_street_address),
        cmocka_unit_test(test_us_city_state_zip),
        cmocka_unit_test(test_spans_exact_in_utf8),
        cmocka_unit_test(test_full_width),
        cmocka_unit_test(test_other_script_digits),
        cmocka_unit_test(test_thai_dates),
        cmocka_unit_test(test_small_form_variants),
        cmocka_unit_test(test_math_letters),
        cmocka_unit_test(test_fold_map_mixed_widths),
        cmocka_unit_test(test_math_fold_matches_unicode_data),
        cmocka_unit_test(test_cjk_eras_and_year_less),
        cmocka_unit_test(test_kanji_numeral_dates),
        cmocka_unit_test(test_japanese_era),
        cmocka_unit_test(test_cjk_month_day),
        cmocka_unit_test(test_want_filters),
        cmocka_unit_test(test_clinical_phrases_do_not_fire),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_two_workers_share_patterns),
        cmocka_unit_test(test_fuzz_regressions_replay),
        cmocka_unit_test(test_prefilter_same_findings),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
