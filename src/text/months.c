/* Month names (months.h): the one table the date detectors, the date shifter and the deny-list read. Two
 * derived spellings remain: the MON, TH_FULL and TH_ABBR patterns of patterns.c (regular expressions, each word
 * before its prefixes, as PCRE2 tries them in order) and the 3-letter month prefixes of prefilter.c (W_MONTH; Thai
 * words are PRE_THAI's); test_patterns: test_month_words_are_dates finds a date with every word of this table, with and
 * without the pre-filters, so a word added here and not there fails. */
#include "text/months.h"

#include <string.h>

#define EN DV_MONTH_EN
#define DE DV_MONTH_DE
#define FR DV_MONTH_FR
#define TH DV_MONTH_TH
#define FULL DV_MONTH_FULL
#define ABBR DV_MONTH_ABBR
#define VARIANT DV_MONTH_VARIANT

const dv_month_word dv_month_words[] = {
    {"january", EN, 1, FULL}, {"february", EN, 2, FULL}, {"march", EN, 3, FULL}, {"april", EN, 4, FULL},
    {"may", EN, 5, FULL}, {"june", EN, 6, FULL}, {"july", EN, 7, FULL}, {"august", EN, 8, FULL},
    {"september", EN, 9, FULL}, {"october", EN, 10, FULL}, {"november", EN, 11, FULL}, {"december", EN, 12, FULL},
    /* English abbreviations: the shifter writes the full name's first 3 letters, and reads any prefix of 3 letters
     * or more of a full name (dateshift.c month_of); these are the ones the detectors know */
    {"jan", EN, 1, ABBR}, {"feb", EN, 2, ABBR}, {"febr", EN, 2, ABBR}, {"mar", EN, 3, ABBR}, {"apr", EN, 4, ABBR},
    {"jun", EN, 6, ABBR}, {"jul", EN, 7, ABBR}, {"aug", EN, 8, ABBR}, {"sep", EN, 9, ABBR}, {"sept", EN, 9, ABBR},
    {"oct", EN, 10, ABBR}, {"nov", EN, 11, ABBR}, {"dec", EN, 12, ABBR},

    {"januar", DE, 1, FULL}, {"februar", DE, 2, FULL}, {"m\xc3\xa4rz", DE, 3, FULL}, {"april", DE, 4, FULL},
    {"mai", DE, 5, FULL}, {"juni", DE, 6, FULL}, {"juli", DE, 7, FULL}, {"august", DE, 8, FULL},
    {"september", DE, 9, FULL}, {"oktober", DE, 10, FULL}, {"november", DE, 11, FULL}, {"dezember", DE, 12, FULL},
    {"jan", DE, 1, ABBR}, {"feb", DE, 2, ABBR}, {"m\xc3\xa4r", DE, 3, ABBR}, {"apr", DE, 4, ABBR},
    {"mai", DE, 5, ABBR}, {"jun", DE, 6, ABBR}, {"jul", DE, 7, ABBR}, {"aug", DE, 8, ABBR},
    {"sep", DE, 9, ABBR}, {"okt", DE, 10, ABBR}, {"nov", DE, 11, ABBR}, {"dez", DE, 12, ABBR},
    {"maerz", DE, 3, VARIANT}, {"j\xc3\xa4nner", DE, 1, VARIANT},

    {"janvier", FR, 1, FULL}, {"f\xc3\xa9vrier", FR, 2, FULL}, {"mars", FR, 3, FULL}, {"avril", FR, 4, FULL},
    {"mai", FR, 5, FULL}, {"juin", FR, 6, FULL}, {"juillet", FR, 7, FULL}, {"ao\xc3\xbbt", FR, 8, FULL},
    {"septembre", FR, 9, FULL}, {"octobre", FR, 10, FULL}, {"novembre", FR, 11, FULL},
    {"d\xc3\xa9" "cembre", FR, 12, FULL},
    {"janv", FR, 1, ABBR}, {"f\xc3\xa9vr", FR, 2, ABBR}, {"mars", FR, 3, ABBR}, {"avr", FR, 4, ABBR},
    {"mai", FR, 5, ABBR}, {"juin", FR, 6, ABBR}, {"juil", FR, 7, ABBR}, {"ao\xc3\xbbt", FR, 8, ABBR},
    {"sept", FR, 9, ABBR}, {"oct", FR, 10, ABBR}, {"nov", FR, 11, ABBR}, {"d\xc3\xa9" "c", FR, 12, ABBR},
    {"fevrier", FR, 2, VARIANT}, {"aout", FR, 8, VARIANT}, {"decembre", FR, 12, VARIANT},
    /* Thai (no letter case): the full names and the usual abbreviations, the latter without their final stop */
    {"\xe0\xb8\xa1\xe0\xb8\x81\xe0\xb8\xa3\xe0\xb8\xb2\xe0\xb8\x84\xe0\xb8\xa1", TH, 1, FULL}, /* มกราคม */
    {"\xe0\xb8\x81\xe0\xb8\xb8\xe0\xb8\xa1\xe0\xb8\xa0\xe0\xb8\xb2\xe0\xb8\x9e\xe0\xb8\xb1\xe0\xb8\x99\xe0\xb8\x98"
     "\xe0\xb9\x8c", TH, 2, FULL}, /* กุมภาพันธ์ */
    {"\xe0\xb8\xa1\xe0\xb8\xb5\xe0\xb8\x99\xe0\xb8\xb2\xe0\xb8\x84\xe0\xb8\xa1", TH, 3, FULL}, /* มีนาคม */
    {"\xe0\xb9\x80\xe0\xb8\xa1\xe0\xb8\xa9\xe0\xb8\xb2\xe0\xb8\xa2\xe0\xb8\x99", TH, 4, FULL}, /* เมษายน */
    {"\xe0\xb8\x9e\xe0\xb8\xa4\xe0\xb8\xa9\xe0\xb8\xa0\xe0\xb8\xb2\xe0\xb8\x84\xe0\xb8\xa1", TH, 5, FULL}, /* พฤษภาคม */
    {"\xe0\xb8\xa1\xe0\xb8\xb4\xe0\xb8\x96\xe0\xb8\xb8\xe0\xb8\x99\xe0\xb8\xb2\xe0\xb8\xa2\xe0\xb8\x99", TH, 6,
     FULL}, /* มิถุนายน */
    {"\xe0\xb8\x81\xe0\xb8\xa3\xe0\xb8\x81\xe0\xb8\x8e\xe0\xb8\xb2\xe0\xb8\x84\xe0\xb8\xa1", TH, 7, FULL}, /* กรกฎาคม */
    {"\xe0\xb8\xaa\xe0\xb8\xb4\xe0\xb8\x87\xe0\xb8\xab\xe0\xb8\xb2\xe0\xb8\x84\xe0\xb8\xa1", TH, 8, FULL}, /* สิงหาคม */
    {"\xe0\xb8\x81\xe0\xb8\xb1\xe0\xb8\x99\xe0\xb8\xa2\xe0\xb8\xb2\xe0\xb8\xa2\xe0\xb8\x99", TH, 9, FULL}, /* กันยายน */
    {"\xe0\xb8\x95\xe0\xb8\xb8\xe0\xb8\xa5\xe0\xb8\xb2\xe0\xb8\x84\xe0\xb8\xa1", TH, 10, FULL}, /* ตุลาคม */
    {"\xe0\xb8\x9e\xe0\xb8\xa4\xe0\xb8\xa8\xe0\xb8\x88\xe0\xb8\xb4\xe0\xb8\x81\xe0\xb8\xb2\xe0\xb8\xa2\xe0\xb8\x99",
     TH, 11, FULL}, /* พฤศจิกายน */
    {"\xe0\xb8\x98\xe0\xb8\xb1\xe0\xb8\x99\xe0\xb8\xa7\xe0\xb8\xb2\xe0\xb8\x84\xe0\xb8\xa1", TH, 12, FULL}, /* ธันวาคม */
    {"\xe0\xb8\xa1.\xe0\xb8\x84", TH, 1, ABBR},             /* ม.ค. */
    {"\xe0\xb8\x81.\xe0\xb8\x9e", TH, 2, ABBR},             /* ก.พ. */
    {"\xe0\xb8\xa1\xe0\xb8\xb5.\xe0\xb8\x84", TH, 3, ABBR}, /* มี.ค. */
    {"\xe0\xb9\x80\xe0\xb8\xa1.\xe0\xb8\xa2", TH, 4, ABBR}, /* เม.ย. */
    {"\xe0\xb8\x9e.\xe0\xb8\x84", TH, 5, ABBR},             /* พ.ค. */
    {"\xe0\xb8\xa1\xe0\xb8\xb4.\xe0\xb8\xa2", TH, 6, ABBR}, /* มิ.ย. */
    {"\xe0\xb8\x81.\xe0\xb8\x84", TH, 7, ABBR},             /* ก.ค. */
    {"\xe0\xb8\xaa.\xe0\xb8\x84", TH, 8, ABBR},             /* ส.ค. */
    {"\xe0\xb8\x81.\xe0\xb8\xa2", TH, 9, ABBR},             /* ก.ย. */
    {"\xe0\xb8\x95.\xe0\xb8\x84", TH, 10, ABBR},            /* ต.ค. */
    {"\xe0\xb8\x9e.\xe0\xb8\xa2", TH, 11, ABBR},            /* พ.ย. */
    {"\xe0\xb8\x98.\xe0\xb8\x84", TH, 12, ABBR},            /* ธ.ค. */
};
const size_t dv_month_words_n = sizeof dv_month_words / sizeof dv_month_words[0];

void dv_month_lower(const char *w, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)w[i];
        if (c >= 'A' && c <= 'Z')
            c |= 0x20;
        else if (i > 0 && (unsigned char)w[i - 1] == 0xC3 && c >= 0x80 && c <= 0x9E)
            c += 0x20; /* U+00C0..U+00DE -> U+00E0..U+00FE */
        out[i] = (char)c;
    }
}

const dv_month_word *dv_month_find(const char *w, size_t n, int lang, int form)
{
    char l[DV_MONTH_WORD_MAX];
    if (n >= sizeof l)
        return NULL;
    dv_month_lower(w, n, l);
    for (size_t k = 0; k < dv_month_words_n; k++) {
        const dv_month_word *e = &dv_month_words[k];
        if ((lang < 0 || e->lang == lang) && (form < 0 || e->form == form) && strlen(e->word) == n &&
            !memcmp(e->word, l, n))
            return e;
    }
    return NULL;
}

const char *dv_month_name(int lang, int form, int m)
{
    for (size_t k = 0; k < dv_month_words_n; k++)
        if (dv_month_words[k].lang == lang && dv_month_words[k].form == form && dv_month_words[k].month == m)
            return dv_month_words[k].word;
    return NULL;
}
