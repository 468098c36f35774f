/* The forms a Hebrew or Arabic name takes with the one-letter words written glued to it (the i18n audit: a
 * PatientName `רוזנבלום^דניאל` written `לרוזנבלום` "to Rosenblum", `العتيبي` written `والعتيبي` "and al-Otaibi" or
 * `للعتيبي` "for al-Otaibi", were kept: the text's word was no part of the name). The deny-list adds each form of a
 * part as a part of the same name (denylist.c add_component), so a form glued in the text is one word it knows.
 *
 * Arabic (a part of Arabic letters only; its base is the part without the article ال):
 *   the base alone (the part had ال) and ال + base (it had none), when the base has 3 letters or more;
 *   و ف ب ك + ال + base, and لل + base and و + لل + base (ل + ال is written لل), likewise;
 *   و ف ب ل ك + base, when the base has 4 letters or more (a 3-letter base with one letter glued is too often
 *   a word: ل + علي is لعلي "perhaps I").
 * Hebrew (a part of Hebrew letters only, 3 or more): ו ה ב כ ל מ ש + part, and ו + ה ב כ ל מ ש + part; for a part of
 *   4 or more every stack of [ו] [ש or כש] [ב כ ל מ or ה] in that order (כשלרוזנבלום, וכשלרוזנבלום, שברוזנבלום).
 * Anything else has no forms. [test_denylist: test_arabic_article, test_clitic_prefixes] */
#ifndef DV_TEXT_CLITICS_H
#define DV_TEXT_CLITICS_H

#include <stddef.h>

/* The longest part that gets forms (bytes; a name's part is far shorter). */
#define DV_CLITIC_PART_MAX 128

/* Calls fn(ud, form, len) for each form of the part k[0, n) other than itself; stops at and returns fn's first
 * non-zero result, else 0. */
int dv_clitic_forms(const char *k, size_t n, int (*fn)(void *ud, const char *form, size_t len), void *ud);

#endif
