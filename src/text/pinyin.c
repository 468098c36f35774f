/* Han characters to toneless pinyin for the deny-list (pinyin.h). */
#include "text/pinyin.h"

#include <string.h>

#include "text/spell_buf.h"
#include "util/dv_utf8.h"

/* Surnames read otherwise than their characters' commonest reading (kMandarin's first), simplified and
 * traditional; hand-checked against the lists of Chinese surnames (百家姓 and the census's commonest). */
static const struct {
    const char *han, *pinyin;
} surnames[] = {
    {"单", "shan"},  {"單", "shan"},      {"曾", "zeng"},     {"仇", "qiu"},     {"区", "ou"},       {"區", "ou"},
    {"解", "xie"},   {"查", "zha"},       {"朴", "piao"},     {"覃", "qin"},     {"尉迟", "yuchi"},  {"尉遲", "yuchi"},
    {"乐", "yue"},   {"樂", "yue"},       {"盖", "ge"},       {"蓋", "ge"},      {"缪", "miao"},     {"繆", "miao"},
    {"翟", "zhai"},  {"召", "shao"},      {"种", "chong"},    {"種", "chong"},   {"员", "yun"},      {"員", "yun"},
    {"秘", "bi"},    {"万俟", "moqi"},    {"萬俟", "moqi"},   {"长", "chang"},   {"長", "chang"},    {"长孙", "zhangsun"},
    {"長孫", "zhangsun"}, {"重", "chong"}, {"藏", "zang"},    {"句", "gou"},     {"黑", "he"},       {"都", "du"},
    {"薄", "bo"},    {"能", "nai"},       {"繁", "po"},       {"澹台", "tantai"}, {"隗", "wei"},     {"洗", "xian"},
    {"折", "she"},   {"贲", "ben"},       {"賁", "ben"},
};

/* The list's longest surname that s[0, len) starts with: its entry, its byte length in *n; -1 for none. */
static long surname_at(const char *s, size_t len, size_t *n)
{
    long best = -1;
    *n = 0;
    for (size_t i = 0; i < sizeof surnames / sizeof surnames[0]; i++) {
        size_t m = strlen(surnames[i].han);
        if (m <= len && m > *n && memcmp(surnames[i].han, s, m) == 0) {
            best = (long)i;
            *n = m;
        }
    }
    return best;
}

/* A syllable with ü (the table's v) spelled u, v or yu (uform 0, 1, 2). */
static void put_syllable(dv_spell_buf *b, int *umlaut, const char *syl, unsigned uform)
{
    static const char *const u[3] = {"u", "v", "yu"};
    for (const char *p = syl; *p; p++) {
        if (*p == 'v') {
            dv_spell_put(b, u[uform], strlen(u[uform]));
            *umlaut = 1;
        } else {
            dv_spell_put(b, p, 1);
        }
    }
}

size_t dv_pinyin(const char *s, size_t len, int family, unsigned k, char *out, size_t cap)
{
    if (len == 0 || k >= DV_PINYIN_FORMS)
        return 0;
    unsigned uform = k % 3;
    int commonest = k >= 3; /* the surname read by its characters' commonest reading */
    dv_spell_buf b = {out, 0, cap, 1};
    int umlaut = 0; /* a ü was written */
    size_t i = 0, sn = 0;
    long sur = family ? surname_at(s, len, &sn) : -1;
    if (commonest && sur < 0)
        return 0; /* form k - 3 again */
    if (sur >= 0 && !commonest) {
        put_syllable(&b, &umlaut, surnames[sur].pinyin, uform);
        i = sn;
    }
    while (i < len) {
        int32_t cp = dv_utf8_next((const uint8_t *)s, len, &i);
        if (cp < (int32_t)DV_PINYIN_LO || cp > (int32_t)DV_PINYIN_HI)
            return 0; /* not a Han character of the table's range (kana, Hangul, Latin, invalid UTF-8) */
        uint16_t syl = dv_pinyin_of[cp - DV_PINYIN_LO];
        if (syl == 0 || syl > DV_PINYIN_SYLLABLES)
            return 0; /* no reading */
        put_syllable(&b, &umlaut, dv_pinyin_syllables[syl - 1], uform);
    }
    if (uform && !umlaut)
        return 0; /* no ü: the same as form k - uform */
    return b.ok ? b.n : 0;
}

/* Two-character surnames (百家姓's compound ones still common; the Korean four of hangul_latin.c's table in Hanja,
 * 諸葛 and 皇甫 being shared), simplified and traditional. */
static const char *const compound_surnames[] = {
    "欧阳", "歐陽", "司马", "司馬", "上官", "诸葛", "諸葛", "东方", "東方", "皇甫", "尉迟", "尉遲", "公孙", "公孫",
    "慕容", "夏侯", "司徒", "澹台", "万俟", "萬俟", "长孙", "長孫", "南宮", "鮮于", "獨孤", "司空",
};

size_t dv_han_surname_len(const char *s, size_t len, int *compound)
{
    *compound = 0;
    size_t i = 0;
    if (!dv_han_char(dv_utf8_next((const uint8_t *)s, len, &i)))
        return 0;
    for (size_t c = 0; c < sizeof compound_surnames / sizeof compound_surnames[0]; c++) {
        size_t m = strlen(compound_surnames[c]);
        if (m <= len && memcmp(compound_surnames[c], s, m) == 0) {
            *compound = 1;
            return m;
        }
    }
    return i;
}
