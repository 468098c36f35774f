/* Han characters to toneless pinyin for the deny-list (pinyin.h). */
#include "text/pinyin.h"
#include "text/surname_table.h"

#include <string.h>

#include "text/spell_buf.h"
#include "util/dv_utf8.h"

/* Surnames read otherwise than their characters' commonest reading (kMandarin's first), simplified and
 * traditional; hand-checked against the lists of Chinese surnames (百家姓 and the census's commonest). */
static const dv_surname surnames[] = {
    {"单", "shan"},  {"單", "shan"},      {"曾", "zeng"},     {"仇", "qiu"},     {"区", "ou"},       {"區", "ou"},
    {"解", "xie"},   {"查", "zha"},       {"朴", "piao"},     {"覃", "qin"},     {"尉迟", "yuchi"},  {"尉遲", "yuchi"},
    {"乐", "yue"},   {"樂", "yue"},       {"盖", "ge"},       {"蓋", "ge"},      {"缪", "miao"},     {"繆", "miao"},
    {"翟", "zhai"},  {"召", "shao"},      {"种", "chong"},    {"種", "chong"},   {"员", "yun"},      {"員", "yun"},
    {"秘", "bi"},    {"万俟", "moqi"},    {"萬俟", "moqi"},   {"长", "chang"},   {"長", "chang"},    {"长孙", "zhangsun"},
    {"長孫", "zhangsun"}, {"重", "chong"}, {"藏", "zang"},    {"句", "gou"},     {"黑", "he"},       {"都", "du"},
    {"薄", "bo"},    {"能", "nai"},       {"繁", "po"},       {"澹台", "tantai"}, {"隗", "wei"},     {"洗", "xian"},
    {"折", "she"},   {"贲", "ben"},       {"賁", "ben"},
};

/* The commonest Chinese surnames in the other spellings passports and records of Hong Kong, Macau, Taiwan,
 * Singapore, Malaysia and the diaspora write them, besides pinyin (forms 0-5 make that): Cantonese (Hong Kong
 * government romanisation: Chan, Wong, Cheung, Tsang), Wade-Giles as Taiwan's passports wrote it (Chang, Hsu,
 * Tseng, Hsieh, without apostrophes), Hokkien and Teochew (Tan, Ng, Ong, Lim, Koh, Quek, Chua, Teo, Tay, Png,
 * Phua), Hakka (Foo, Phang, Yap, Liew). Simplified and traditional characters share an entry. Hand-checked, each
 * spelling against the surname's reading in that dialect (Cantonese Jyutping, Hokkien Pe̍h-ōe-jī); stop 52's brief
 * listed 許 Khoo and 羅 Lok, which are 邱's (Khu) and 駱's: 許 (Khó·) is Koh/Khor here, 羅 (Lô) Loh. The spellings
 * that are common words to the deny-list (denylist_internal.h common_word: chew chin chow foo hoe hung lam law lee
 * lei pang see sim soon tam tan tang tee tong tse wan wee woo yap yen yip), and every 2-letter one (ng so to oh ho
 * lo au ee ko tu wu), get its treatment of a Latin surname that is one (denylist.c add_part: a common part matches
 * alone only in capitals, after a title or trigger word, or capitalised next to another part), as a Latin PN
 * `Tan^Ming` would: the PHI-free-line scorers' lines stay. Given names in Cantonese or Hokkien are not made (each
 * dialect's reading of every character would need its own dictionary). At most DV_PINYIN_CUSTOMARY (4) spellings
 * an entry (dv_pinyin_customary_most, held to it by the test). [test_denylist:
 * test_chinese_surname_spellings] */
static const struct {
    const char *han, *forms; /* han: the surname's characters, simplified and traditional; forms: a space between */
} customary[] = {
    {"陈陳", "chan tan chin"},        {"黄黃", "wong ng wee ong"},       {"张張", "cheung chang teo chong"},
    {"李", "lee lei"},                {"吴吳", "ng goh woo"},             {"刘劉", "lau lao"},
    {"梁", "leung neo"},              {"何", "ho hoe"},                   {"曾", "tsang tseng chan"},
    {"周", "chow chou chew"},         {"徐", "tsui hsu chee"},            {"蔡", "choi tsai chua"},
    {"林", "lam lim"},                {"郭", "kwok kuo quek kwek"},       {"杨楊", "yeung yeo"},
    {"王", "wong ong"},               {"赵趙", "chiu chao"},              {"谢謝", "tse hsieh chia"},
    {"郑鄭", "cheng tay tee"},        {"邓鄧", "tang teng"},              {"许許", "hui hsu koh khor"},
    {"罗羅", "law lo loh"},           {"叶葉", "yip yeh yap"},            {"朱", "chu choo"},
    {"冯馮", "fung"},                 {"潘", "poon phua"},                {"彭", "pang phang"},
    {"苏蘇", "so soh"},               {"卢盧", "lo loh"},                 {"蒋蔣", "tseung chiang"},
    {"钟鍾鐘", "chung"},              {"萧蕭", "siu hsiao seow"},         {"高", "ko kao koh"},
    {"孙孫", "suen soon sng"},        {"马馬", "mah beh"},                {"胡", "wu oh foo"},
    {"麦麥", "mak"},                  {"区區", "au"},                     {"邱", "yau chiu khoo"},
    {"温溫", "wan woon"},             {"余", "yee ee"},                   {"庄莊", "chong chuang chng"},
    {"廖", "liu leow liew"},          {"方", "fong png"},                 {"袁", "yuen"},
    {"石", "shek shih"},              {"魏", "ngai"},                     {"江", "kong chiang"},
    {"董", "tung"},                   {"杜", "to tu"},                    {"程", "ching"},
    {"吕呂", "lui"},                  {"韩韓", "hon"},                    {"唐", "tong"},
    {"曹", "tso tsao"},               {"沈", "shum sim"},                 {"谭譚", "tam"},
    {"施", "sze shih see"},           {"姚", "yiu"},                      {"洪", "hung ang"},
    {"颜顏", "ngan yen gan"},         {"戴", "tai"},                      {"黎", "lai"},
};

/* The customary entry whose characters hold s's first character, its byte length in *n; -1 for none. */
static long customary_at(const char *s, size_t len, size_t *n)
{
    size_t i = 0;
    int32_t cp = dv_utf8_next((const uint8_t *)s, len, &i);
    *n = i;
    if (cp < 0x3400)
        return -1;
    for (size_t e = 0; e < sizeof customary / sizeof customary[0]; e++) {
        const char *h = customary[e].han;
        for (size_t j = 0, hl = strlen(h); j < hl;) {
            size_t at = j;
            if (dv_utf8_next((const uint8_t *)h, hl, &j) == cp && j - at == i)
                return (long)e;
        }
    }
    return -1;
}

/* The list's longest surname that s[0, len) starts with: its entry, its byte length in *n; -1 for none. */
static long surname_at(const char *s, size_t len, size_t *n)
{
    return dv_surname_longest(surnames, sizeof surnames / sizeof surnames[0], s, len, n);
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

unsigned dv_pinyin_customary_most(void)
{
    unsigned most = 0;
    for (size_t e = 0; e < sizeof customary / sizeof customary[0]; e++) {
        unsigned n = 1;
        for (const char *f = customary[e].forms; *f; f++)
            n += *f == ' ';
        most = n > most ? n : most;
    }
    return most;
}

/* Form DV_PINYIN_READINGS + j: the surname's customary spelling j, the rest of the component in pinyin. */
static size_t customary_form(const char *s, size_t len, unsigned j, char *out, size_t cap)
{
    size_t i;
    long e = customary_at(s, len, &i);
    if (e < 0)
        return 0;
    const char *f = customary[e].forms;
    for (unsigned w = 0; w < j; w++) {
        f += strcspn(f, " ");
        if (!*f)
            return 0; /* no spelling j */
        f++;
    }
    dv_spell_buf b = {out, 0, cap, 1};
    dv_spell_put(&b, f, strcspn(f, " "));
    int umlaut = 0;
    while (i < len) {
        int32_t cp = dv_utf8_next((const uint8_t *)s, len, &i);
        if (cp < (int32_t)DV_PINYIN_LO || cp > (int32_t)DV_PINYIN_HI)
            return 0;
        uint16_t syl = dv_pinyin_of[cp - DV_PINYIN_LO];
        if (syl == 0 || syl > DV_PINYIN_SYLLABLES)
            return 0;
        put_syllable(&b, &umlaut, dv_pinyin_syllables[syl - 1], 0);
    }
    return b.ok ? b.n : 0;
}

size_t dv_pinyin(const char *s, size_t len, int family, unsigned k, char *out, size_t cap)
{
    if (len == 0 || k >= DV_PINYIN_FORMS)
        return 0;
    if (k >= DV_PINYIN_READINGS)
        return family ? customary_form(s, len, k - DV_PINYIN_READINGS, out, cap) : 0;
    unsigned uform = k % 3;
    int commonest = k >= 3; /* the surname read by its characters' commonest reading */
    dv_spell_buf b = {out, 0, cap, 1};
    int umlaut = 0; /* a ü was written */
    size_t i = 0, sn = 0;
    long sur = family ? surname_at(s, len, &sn) : -1;
    if (commonest && sur < 0)
        return 0; /* form k - 3 again */
    if (sur >= 0 && !commonest) {
        put_syllable(&b, &umlaut, surnames[sur].read, uform);
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
