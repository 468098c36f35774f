/* Kana to Hepburn romaji for the deny-list (romaji.h). */
#include "text/romaji.h"

#include <stdint.h>
#include <string.h>

#include "text/spell_buf.h"
#include "util/dv_utf8.h"

/* The hiragana U+3041-U+3096 (katakana are read 0x60 lower): each its romaji; "" for the sokuon っ, whose sound is
 * the next consonant's; small kana (ぁ ゃ ゎ ...) are marked by SMALL. */
#define HIRA_LO 0x3041u
#define HIRA_HI 0x3096u
static const char *const hira[HIRA_HI - HIRA_LO + 1] = {
    "a", "a", "i", "i", "u", "u", "e", "e", "o", "o",                                  /* ぁ-お */
    "ka", "ga", "ki", "gi", "ku", "gu", "ke", "ge", "ko", "go",                        /* か-ご */
    "sa", "za", "shi", "ji", "su", "zu", "se", "ze", "so", "zo",                       /* さ-ぞ */
    "ta", "da", "chi", "ji", "", "tsu", "zu", "te", "de", "to", "do",                  /* た-ど (っ) */
    "na", "ni", "nu", "ne", "no",                                                      /* な-の */
    "ha", "ba", "pa", "hi", "bi", "pi", "fu", "bu", "pu", "he", "be", "pe", "ho", "bo", "po", /* は-ぽ */
    "ma", "mi", "mu", "me", "mo",                                                      /* ま-も */
    "ya", "ya", "yu", "yu", "yo", "yo",                                                /* ゃ-よ */
    "ra", "ri", "ru", "re", "ro",                                                      /* ら-ろ */
    "wa", "wa", "i", "e", "o", "n", "vu", "ka", "ke",                                  /* ゎ-ゖ */
};

/* A Hepburn syllable's Kunrei-shiki spelling (the others are the same): si ti tu hu zi; yōon follows (sya, tya,
 * zya: the i dropped before ya yu yo, as for kya). */
static const char *kunrei(const char *r)
{
    static const char *const pairs[][2] = {{"shi", "si"}, {"chi", "ti"}, {"tsu", "tu"}, {"fu", "hu"}, {"ji", "zi"}};
    for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++)
        if (strcmp(r, pairs[k][0]) == 0)
            return pairs[k][1];
    return r;
}

static int small_kana(uint32_t h)
{
    return h == 0x3041 || h == 0x3043 || h == 0x3045 || h == 0x3047 || h == 0x3049 || h == 0x3083 ||
           h == 0x3085 || h == 0x3087 || h == 0x308E || h == 0x3095 || h == 0x3096;
}

static int is_vowel(char c)
{
    return c == 'a' || c == 'i' || c == 'u' || c == 'e' || c == 'o';
}

/* The next kana of s[i, len) as a hiragana code point (ー U+30FC and ・ U+30FB as they are, ヷ-ヺ as U+30F7-U+30FA),
 * its byte count in *k; 0 for anything else. */
static uint32_t next_kana(const unsigned char *u, size_t i, size_t len, size_t *k)
{
    size_t j = i;
    int32_t c = dv_utf8_next(u, len, &j);
    if (c < 0)
        return 0;
    *k = j - i;
    uint32_t cp = (uint32_t)c;
    if (cp >= 0x30A1 && cp <= 0x30F6)
        cp -= 0x60;
    if ((cp >= HIRA_LO && cp <= HIRA_HI) || (cp >= 0x30F7 && cp <= 0x30FC))
        return cp;
    return 0;
}

size_t dv_romaji(const char *s, size_t len, int form, char *out, size_t cap)
{
    const unsigned char *u = (const unsigned char *)s;
    dv_spell_buf b = {out, 0, cap, 1};
    int sokuon = 0;
    size_t syl = 0; /* where the last syllable's romaji starts in out (long vowels and yōon look at it) */
    for (size_t i = 0; i < len;) {
        size_t k = 0;
        uint32_t h = next_kana(u, i, len, &k);
        if (!h)
            return 0;
        i += k;
        char last = b.n > 0 ? out[b.n - 1] : 0;
        if (h == 0x30FB) { /* ・ between the words of a foreign name */
            dv_spell_put(&b, " ", 1);
            sokuon = 0;
            syl = b.n;
            continue;
        }
        if (h == 0x30FC) { /* ー: the previous vowel long (KANA: written twice; PASSPORT: o as oh) */
            if (is_vowel(last) && form == DV_ROMAJI_KANA)
                dv_spell_put(&b, &last, 1);
            else if (last == 'o' && form == DV_ROMAJI_PASSPORT)
                dv_spell_put(&b, "h", 1);
            continue;
        }
        const char *r;
        char v[4];
        if (h >= 0x30F7) { /* ヷ ヸ ヹ ヺ */
            static const char *const va[4] = {"va", "vi", "ve", "vo"};
            r = va[h - 0x30F7];
        } else {
            r = form == DV_ROMAJI_KUNREI ? kunrei(hira[h - HIRA_LO]) : hira[h - HIRA_LO];
        }
        size_t rn = strlen(r);
        if (h == 0x3063) { /* っ */
            sokuon = 1;
            continue;
        }
        if (small_kana(h) && b.n > syl && (h == 0x3083 || h == 0x3085 || h == 0x3087)) {
            /* yōon: き + ゃ kya, し + ゃ sha, ち + ゃ cha, じ + ゃ ja */
            if (last == 'i' && b.n - syl >= 2) {
                b.n--;
                int palatal = out[b.n - 1] == 'h' || out[b.n - 1] == 'j'; /* sh(i), ch(i), j(i) */
                dv_spell_put(&b, palatal ? r + 1 : r, palatal ? 1 : 2);
                continue;
            }
        } else if (small_kana(h) && rn == 1 && b.n > syl) {
            /* a small vowel after a syllable replaces its vowel (ファ fa, ティ ti, ウィ wi, イェ ye) */
            if (b.n - syl == 1 && (last == 'u' || last == 'i'))
                out[b.n - 1] = last == 'u' ? 'w' : 'y';
            else if (is_vowel(last))
                b.n--;
            dv_spell_put(&b, r, 1);
            continue;
        }
        /* a long vowel written with a kana: おう おお (o), うう (u) */
        if (!small_kana(h) && ((last == 'o' && (h == 0x3046 || h == 0x304A)) || (last == 'u' && h == 0x3046)) &&
            b.n > syl) {
            if (form == DV_ROMAJI_KANA)
                dv_spell_put(&b, r, 1);
            else if (form == DV_ROMAJI_PASSPORT && last == 'o')
                dv_spell_put(&b, "h", 1);
            syl = b.n;
            continue;
        }
        if (sokuon && rn >= 2 && !is_vowel(r[0])) {
            v[0] = r[0] == 'c' ? 't' : r[0];
            dv_spell_put(&b, v, 1);
        }
        sokuon = 0;
        syl = b.n;
        if (h == 0x3093 && form == DV_ROMAJI_PASSPORT && i < len) { /* ん before b m p: m */
            size_t k2 = 0;
            uint32_t nx = next_kana(u, i, len, &k2);
            const char *nr = nx >= HIRA_LO && nx <= HIRA_HI ? hira[nx - HIRA_LO] : "";
            if (nr[0] == 'b' || nr[0] == 'm' || nr[0] == 'p')
                r = "m";
        }
        dv_spell_put(&b, r, rn);
    }
    return b.ok ? b.n : 0;
}
