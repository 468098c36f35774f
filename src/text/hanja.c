/* Hanja to Hangul for the deny-list (hanja.h). */
#include "text/hanja.h"
#include "text/surname_table.h"

#include <string.h>

#include "text/pinyin.h"
#include "text/spell_buf.h"
#include "util/dv_utf8.h"

/* The commonest Korean surnames in Hanja (Statistics Korea's census list, roughly its order, and the brief's 100 of
 * stop 52), each with its Hangul as the South writes the surname: one reading of Unihan's kHangul, the initial-sound
 * rule applied (李 리 이 -> 이, 林 임, 梁 양, 盧 노, 羅 나, 廉 염, 呂 여, 陸 육, 龍 용), the other reading dropped where
 * it is no surname's (金 금, 車 거, 愼 진, 沈 침); 柳 and 劉 keep both 유 and 류 (류 is allowed since 2007). Each
 * reading was checked against Unihan_Readings.txt (Unicode 15.0) kHangul, the rule undone: all 106 agree. 曺 and 曹
 * are both 조 (曺 the Korean form), 裵 and 裴 배. `read`: the readings, a space between. */
static const dv_surname surnames[] = {
    {"金", "김"}, {"李", "이"}, {"朴", "박"}, {"崔", "최"}, {"鄭", "정"}, {"姜", "강"}, {"趙", "조"}, {"曺", "조"}, {"尹", "윤"},
    {"張", "장"}, {"林", "임"}, {"任", "임"}, {"韓", "한"}, {"吳", "오"}, {"徐", "서"}, {"申", "신"}, {"辛", "신"}, {"權", "권"},
    {"黃", "황"}, {"安", "안"}, {"宋", "송"}, {"柳", "유 류"}, {"劉", "유 류"}, {"兪", "유"}, {"全", "전"}, {"洪", "홍"}, {"高", "고"},
    {"文", "문"}, {"梁", "양"}, {"孫", "손"}, {"裵", "배"}, {"裴", "배"}, {"白", "백"}, {"許", "허"}, {"南", "남"}, {"盧", "노"},
    {"河", "하"}, {"郭", "곽"}, {"成", "성"}, {"車", "차"}, {"朱", "주"}, {"禹", "우"}, {"閔", "민"}, {"羅", "나"}, {"陳", "진"},
    {"嚴", "엄"}, {"蔡", "채"}, {"元", "원"}, {"千", "천"}, {"方", "방"}, {"孔", "공"}, {"玄", "현"}, {"咸", "함"}, {"卞", "변"},
    {"廉", "염"}, {"楊", "양"}, {"邊", "변"}, {"呂", "여"}, {"秋", "추"}, {"魯", "노"}, {"都", "도"}, {"蘇", "소"}, {"愼", "신"},
    {"石", "석"}, {"宣", "선"}, {"薛", "설"}, {"馬", "마"}, {"吉", "길"}, {"周", "주"}, {"延", "연"}, {"房", "방"}, {"魏", "위"},
    {"表", "표"}, {"明", "명"}, {"奇", "기"}, {"潘", "반"}, {"王", "왕"}, {"琴", "금"}, {"玉", "옥"}, {"陸", "육"}, {"印", "인"},
    {"孟", "맹"}, {"諸", "제"}, {"牟", "모"}, {"卓", "탁"}, {"鞠", "국"}, {"魚", "어"}, {"殷", "은"}, {"片", "편"}, {"龍", "용"},
    {"芮", "예"}, {"慶", "경"}, {"奉", "봉"}, {"史", "사"}, {"夫", "부"}, {"丁", "정"}, {"池", "지"}, {"具", "구"}, {"沈", "심"},
    {"曹", "조"}, {"皇甫", "황보"}, {"南宮", "남궁"}, {"諸葛", "제갈"}, {"鮮于", "선우"}, {"獨孤", "독고"}, {"司空", "사공"},
};

/* The table's longest surname that s[0, len) starts with: its index, its byte length in *n; -1 for none. */
static long surname_at(const char *s, size_t len, size_t *n)
{
    return dv_surname_longest(surnames, sizeof surnames / sizeof surnames[0], s, len, n);
}

/* cp's readings in the generated table, NULL for none. */
static const uint16_t *readings_of(uint32_t cp)
{
    size_t lo = 0, hi = DV_HANJA_CHARS;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (dv_hanja_cp[mid] < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < DV_HANJA_CHARS && dv_hanja_cp[lo] == cp ? dv_hanja_read[lo] : NULL;
}

/* Reading d of a surname's "r1 r2" into b. */
static void put_surname(dv_spell_buf *b, const char *readings, unsigned d)
{
    const char *r = readings;
    for (unsigned j = 0; j < d; j++)
        r += strcspn(r, " ") + 1;
    dv_spell_put(b, r, strcspn(r, " "));
}

size_t dv_hanja_hangul(const char *s, size_t len, int family, unsigned k, char *out, size_t cap)
{
    if (len == 0 || k >= DV_HANJA_FORMS)
        return 0;
    dv_spell_buf b = {out, 0, cap, 1};
    unsigned long rest = k; /* form k's combination, one reading digit per character */
    size_t i = 0;
    long sur = family ? surname_at(s, len, &i) : -1;
    if (sur >= 0) {
        unsigned nr = strchr(surnames[sur].read, ' ') ? 2 : 1;
        put_surname(&b, surnames[sur].read, (unsigned)(rest % nr));
        rest /= nr;
    }
    while (i < len) {
        int32_t cp = dv_utf8_next((const uint8_t *)s, len, &i);
        const uint16_t *r = dv_han_char(cp) ? readings_of((uint32_t)cp) : NULL;
        if (!r || r[0] == 0)
            return 0; /* no reading: Hangul, kana, Latin, a space, invalid UTF-8, a Chinese simplified form */
        unsigned nr = DV_HANJA_READINGS > 1 && r[1] ? 2 : 1;
        char u[4];
        size_t w = dv_utf8_put(0xAC00u + r[rest % nr] - 1u, u);
        rest /= nr;
        dv_spell_put(&b, u, w);
    }
    if (rest > 0) /* every combination was given before form k */
        return 0;
    return b.ok ? b.n : 0;
}
