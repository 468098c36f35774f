/* The byte forms a name part takes in the encodings vendors write their private blobs in (name_forms.c).
 *
 * A kept private or opaque value that holds the patient's name is deleted (kept_own.c dv_kept_holds_own), but a
 * vendor writes the name in its own encoding whatever the instance declares: Shift-JIS in a Japanese
 * scanner's private block of an ISO 2022 IR 87 or UTF-8 instance, Windows-1251 beside an ISO_IR 144 header,
 * EUC-KR, GB18030 or Big5 beside a UTF-8 one. The instance's own form and its UTF-8 (or Latin-1) form are
 * looked for already; these are the rest. */
#ifndef DV_ENGINE_NAME_FORMS_H
#define DV_ENGINE_NAME_FORMS_H

#include <stddef.h>
#include <stdint.h>

#include "engine/opaque_ids.h"

/* Each form is at most this long (longer ones are not looked for: DV_UID_MAX, the scanner's length). */
#define DV_NAME_FORM_MAX DV_UID_MAX

/* glibc iconv converters, each opened when a name first needs it and kept: opening one costs ~0.1 ms (its
 * module is loaded again once the last converter of it is closed), so a worker keeps one set (the text
 * worker's, dv_text_worker_name_forms) for all its instances. Not thread-safe: one per worker. */
typedef struct dv_name_forms dv_name_forms;
dv_name_forms *dv_name_forms_new(void); /* NULL when out of memory */
void dv_name_forms_free(dv_name_forms *nf);

/* Called for each form of a name part: its bytes and how they must stand (DV_OWN_WORD for a single-byte
 * encoding, whose ASCII letters keep their case rules and word boundaries; DV_OWN_EXACT for a multi-byte one).
 * Nonzero stops the walk. */
typedef dv_own_form_fn dv_name_form_fn;

/* The forms of utf8[0, n), a name part with a character outside ASCII, in each encoding of its scripts
 * (Latin, Greek, Cyrillic, Hebrew, Arabic, Thai, or Chinese, Japanese and Korean) that has all its characters;
 * then the same for the part in upper, lower and title case (given in UTF-8 too, as DV_OWN_WORD) where those
 * differ from it; a form equal to the UTF-8 bytes as written, or one of an encoding this C library lacks, is not
 * given, and encodings that agree give the same bytes more than once. Invalid UTF-8 gives none. 0 when every form was given, else
 * what fn returned. [test_engine: test_private_blob_foreign_name_forms] */
int dv_name_forms_each(dv_name_forms *nf, const uint8_t *utf8, size_t n, dv_name_form_fn fn, void *ud);

/* A Greek name part written without accents (ΝΙΚΟΣ: capitals drop them; a header may drop them in any case) in
 * title and lower case with the tonos guessed: on each word of more than one syllable, each of its last three
 * syllables in turn (the Greek accent stands on one of them; a digraph's second vowel takes it), at most 27
 * choices a part; each in UTF-8 and the Greek encodings, as dv_name_forms_each. None for a part with a tonos
 * already or without Greek. Called after every part's dv_name_forms_each, so guesses take the places left.
 * [test_engine: test_private_blob_foreign_name_forms] */
int dv_name_forms_accented_each(dv_name_forms *nf, const uint8_t *utf8, size_t n, dv_name_form_fn fn, void *ud);

#endif
