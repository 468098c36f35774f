/* A Japanese name written in kana, in the Latin letters a report or a letter in English spells it with (the i18n
 * audit: PatientName `ﾂｷﾓﾘ^ｻﾕﾘ=月森^小百合=つきもり^さゆり`, whose alphabetic group is in half-width katakana as
 * JIS X 0201 allows, was kept as `Tsukimori Sayuri` in a referral). The deny-list adds each form of a kana
 * component as a part of the same name (denylist.c add_component).
 *
 * Hepburn, as names are written, in three forms that differ only where the name has a long vowel or ん before
 * b, m or p, and Kunrei-shiki:
 *   DV_ROMAJI_PLAIN    long vowels unmarked, ん as n:          さとう しょうた -> sato shota, ほんま -> honma
 *   DV_ROMAJI_KANA     long vowels spelled as the kana are:   satou shouta, ゆうき -> yuuki, タロー -> taroo
 *   DV_ROMAJI_PASSPORT Japan's passport spelling: long o as oh, ん as m before b m p: satoh, ohno, homma
 *   DV_ROMAJI_KUNREI   Kunrei-shiki, long vowels unmarked:   syota, tukimori, hukuda, zyunko (the second review:
 *                      `Syota` was kept)
 * (macrons, ō, are folded by the tokens' keys to o: PLAIN). Yōon (しょ sho, きゃ kya), the sokuon (っ: the next
 * consonant doubled, tch before ch), small vowels after a syllable (ファ fa, ティ ti) and ヴ ヷ-ヺ (v) are read.
 * [test_denylist: test_romaji_forms, test_romaji_names] */
#ifndef DV_TEXT_ROMAJI_H
#define DV_TEXT_ROMAJI_H

#include <stddef.h>

enum { DV_ROMAJI_PLAIN = 0, DV_ROMAJI_KANA, DV_ROMAJI_PASSPORT, DV_ROMAJI_KUNREI, DV_ROMAJI_FORMS };

/* The romaji of s[0, len), full-width hiragana and katakana only (ー and ・ too: ・ becomes a space), in form
 * (DV_ROMAJI_*), lower case, into out (cap bytes; 4/3 of len is always enough). Returns its length; 0 when s holds
 * anything else (a Han character, a half-width kana: the caller gives its full-width twin), is empty, or out is
 * too small. */
size_t dv_romaji(const char *s, size_t len, int form, char *out, size_t cap);

#endif
