/* A Korean name written in Hangul, in the Latin letters a report or a letter in English spells it with (the i18n
 * audit: PatientName `=洪^吉洞=홍^길동`, or `홍^길동` alone as Korean sites write it, kept `Hong Gildong`,
 * `HONG GIL DONG`, `Gil-dong Hong`). The deny-list adds each form of a Hangul component as a part of the same name
 * (denylist.c add_component), where the name's other Latin parts go: the rules for short and common words are a
 * Latin PN's.
 *
 * Each syllable (U+AC00-U+D7A3) is romanised on its own, as names are (`Gil-dong`, not RR's assimilated
 * `Gildong` across a boundary that changes a sound: 신라 Silla is a place, not a name), in four spellings:
 *   RR       Revised Romanization (2000), its consonant letters:   길 gil, 동 dong, 정 jeong, 영 yeong
 *   MR       McCune-Reischauer as people type it, without breves   길 kil, 동 tong, 정 chong, 영 yong
 *            and apostrophes (ŏ o, ŭ u; ch' k' t' p' as ch k t p)
 *   POP      the customary vowels with RR's consonants:            정 jung, 수 soo, 준 joon, 영 young, 희 hee
 *            (ㅓ u, ㅕ yu, ㅜ oo in an open syllable or before n/ng, ㅢ ee after a consonant)
 *   POP_MR   the customary vowels with MR's consonants:           경 kyung, 철 chul, 준 choon
 * A family component that is one of the ~100 commonest surnames (a hand-checked table: 김 Kim Gim, 이 Lee Yi
 * Rhee, 박 Park Pak Bak, 남궁 Namgung Namkoong ...) has its customary spellings instead of POP's.
 * [test_denylist: test_hangul_romanisation_forms, test_korean_names_in_latin] */
#ifndef DV_TEXT_HANGUL_LATIN_H
#define DV_TEXT_HANGUL_LATIN_H

#include <stddef.h>

/* Forms asked of one component at most: the four uniform ones (every syllable in RR, in MR ...) first, then the
 * syllables' spellings mixed (`Gil-tong`), in order, until this many: a two-syllable given name has at most 16
 * mixes, all held but those that repeat a uniform form; a three-syllable one its first 20. A component of more
 * than DV_HANGUL_MIX_SYLLABLES syllables (no name: a whole sentence typed into PatientName) has its four uniform
 * forms only, so its parts stay within what a Latin or kana component of that length gives. */
#define DV_HANGUL_FORMS 24
#define DV_HANGUL_MIX_SYLLABLES 4

/* Form k (0 <= k < DV_HANGUL_FORMS) of s[0, len), lower case, into out (cap bytes). s must be Hangul syllables,
 * with a space or hyphen between them if any (copied as they are); family: the PN's family-name component (the
 * surname table applies when the whole component is a surname in it). Returns the form's length; 0 when s holds
 * anything else (jamo, Han, Latin, invalid UTF-8), is empty, has no form k, or out is too small. */
size_t dv_hangul_latin(const char *s, size_t len, int family, unsigned k, char *out, size_t cap);

/* The byte length of the surname a whole Korean name written in one component (`홍길동`, `남궁민수`) starts with:
 * the first two syllables when they are one of the surname table's two-syllable surnames (남궁 황보 제갈 선우 독고
 * 사공) and a syllable follows them, else the first syllable's 3 bytes; 0 when s does not start with a Hangul
 * syllable. [test_denylist: test_whole_name_one_component] */
size_t dv_hangul_surname_len(const char *s, size_t len);

#endif
