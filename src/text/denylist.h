/* The per-instance deny-list: the instance's own identifying values (every PN component, IDs, birth
 * date, address and telephone parts, institution and physician names), matched in its text values
 * case- and accent-insensitively, on word boundaries, across name orders (Johnson^Ann matches Ann
 * Johnson, A. Johnson, JOHNSON A, Johnson, Ann). The strongest signal in DICOM (issue 6 item 2).
 *
 * Built per instance by the text stage (dv_text_begin_instance extracts the values by tag, decoded to
 * UTF-8), used for that instance's values (dv_text_detect), freed when the next instance begins. It holds folded copies of the values: it is PHI, lives only in
 * memory and is never logged or written. Matching rules and minimum lengths: docs/text-lexicons.md
 * "Deny-list"; decisions in docs/decisions.md. */
#ifndef DV_TEXT_DENYLIST_H
#define DV_TEXT_DENYLIST_H

#include <stddef.h>

#include "text/dv_text.h"

typedef struct dv_denylist dv_denylist;

/* At most this many values (names count each component) per instance: DV_ERR_LIMIT beyond. */
#define DV_DENYLIST_MAX_ENTRIES 4096u
/* Values longer than this are kept only as their first words (a LT/UT value is not an identifier). */
#define DV_DENYLIST_VALUE_MAX 1024u

/* A new, empty list (NULL when out of memory). The caller frees it with dv_denylist_free. */
dv_denylist *dv_denylist_new(void);
void dv_denylist_free(dv_denylist *dl);

/* Add one value of the given infoType. PERSON_NAME / FIRST_NAME / LAST_NAME values go through
 * dv_denylist_add_person_name; PHONE_NUMBER values match by their digits (at least 7); DATE and
 * DATE_OF_BIRTH values in DICOM DA form (YYYYMMDD, or a DT) go through dv_denylist_add_date; every other
 * type matches as a phrase of words (an identifier also without its separators). Values too short to be
 * safe to match (fewer than 3 letters/digits, or 4 for digits only) are ignored.
 * Returns 1 when the value was added, 0 when ignored, -1 with err (DV_ERR_LIMIT, DV_ERR_NOMEM). */
int dv_denylist_add(dv_denylist *dl, dv_infotype type, const char *utf8, size_t len, dv_error *err);

/* A PN value (UTF-8): its component groups (=), components (^: family, given, middle, prefix, suffix)
 * and their words each become a name part; an ä/ö/ü/ø/å part also gets its ae/oe/ue/oe/aa spelling.
 * Returns 1 / 0 / -1 as dv_denylist_add. */
int dv_denylist_add_person_name(dv_denylist *dl, const char *pn_utf8, size_t len, dv_error *err);

/* What the instance's SpecificCharacterSet says of a PN's Han characters (dv_denylist_add_person_name_cs): read in
 * Japanese (ISO 2022 IR 13, 87, 159) or Korean (IR 149), so never in pinyin (pinyin.h). */
#define DV_DL_PN_JAPANESE 1u
#define DV_DL_PN_KOREAN 2u
/* The PN is the patient's own name (PatientName): its family and given name are also held run together, as user
 * names and e-mail addresses write them (denylist.c add_joined_names). */
#define DV_DL_PN_PATIENT 4u

/* dv_denylist_add_person_name with the character set's hint (DV_DL_PN_*; 0: none, the PN's own characters
 * decide). */
int dv_denylist_add_person_name_cs(dv_denylist *dl, const char *pn_utf8, size_t len, unsigned cs_hint,
                                   dv_error *err);

/* A worker's memo of person names' parts (stop 54): the parts dv_denylist_add_person_name_cs adds for a PN depend
 * only on the PN and its hint (its dedup is within the name), so the calls it made are recorded, and a PN met again
 * (the next instance of a series names the same patient and physicians; its list is rebuilt because its
 * AccessionNumber differs) replays them instead of tokenising, transliterating and romanising again: the same parts
 * in the same order. PHI: names in worker memory only, wiped when freed. NULL from new when out of memory.
 * [test_denylist: test_pn_memo_same_list] */
typedef struct dv_pn_memo dv_pn_memo;
dv_pn_memo *dv_pn_memo_new(void);
void dv_pn_memo_free(dv_pn_memo *m);
/* dv_denylist_add_person_name_cs through memo m (NULL: none): the same list, the same answer. */
int dv_denylist_add_person_name_memo(dv_denylist *dl, dv_pn_memo *m, const char *pn_utf8, size_t len,
                                     unsigned cs_hint, dv_error *err);

/* A date (DA "YYYYMMDD", or the first 8 characters of a DT) and its written forms: 19610314,
 * 1961-03-14, 14/03/1961, 03/14/1961, 14.3.1961, 14 Mar 1961, 14th March 1961, March 14, 1961, ...
 * (any of / - . space as separator; two-digit years with day and month). type is DATE_OF_BIRTH or DATE.
 * Returns 1 / 0 (not a valid date) / -1 as dv_denylist_add. */
int dv_denylist_add_date(dv_denylist *dl, dv_infotype type, const char *da, size_t len, dv_error *err);

/* A postal address (PatientAddress: parts separated by ^, commas or line breaks): the first part as
 * STREET_ADDRESS, the others (city, region, postcode) as LOCATION / STREET_ADDRESS phrases. */
int dv_denylist_add_address(dv_denylist *dl, const char *utf8, size_t len, dv_error *err);

/* Number of entries (for tests and the report's counts; never the values). */
size_t dv_denylist_size(const dv_denylist *dl);

/* Append to out every match (detector DV_DET_DENYLIST, the type the value was added with; names as
 * PERSON_NAME) in utf8[0, len). Spans are on code point boundaries. 0, or -1 with err (DV_ERR_LIMIT,
 * DV_ERR_NOMEM). An empty list finds nothing. */
int dv_detect_denylist(const dv_denylist *dl, const char *utf8, size_t len, dv_findings *out, dv_error *err);
/* The same over the tokens of utf8[0, len) (dv_toks_init of that text), so a caller running several
 * token-based detectors on one value tokenises it once (text_stage.c). */
struct dv_toks;
int dv_detect_denylist_toks(const dv_denylist *dl, const struct dv_toks *tk, const char *utf8, size_t len,
                            dv_findings *out, dv_error *err);

/* OCR-tolerant matching (the burned-in pixel classifier, issue 11 item 3): 1 when utf8[0, len), an OCR
 * reading, holds one of the list's values of a type in want, compared in classes of the characters OCR
 * confuses (O/0/Q/D, I/1/l/|, S/5/$, B/8, Z/2, G/6), case and separators ignored, a value starting where a
 * word of the reading starts, within 1 edit for 7-9 classes (6 with a letter) and 2 from 10; values of 4-5
 * classes only as a whole word and exactly; name parts that are common words (dv_detect_denylist's context
 * rules), particles, titles, suffixes and shorter parts never; an institution of 3+ words also without
 * its last word (10+ classes left), and by one specific word of 6+ letters. *type: the value's type (names: PERSON_NAME, else LAST_NAME / FIRST_NAME as wanted). 0 when
 * none (or dl NULL). Reads no more than the first 512 letters and digits of the reading.
 * [test_denylist: test_match_ocr] */
int dv_denylist_match_ocr(const dv_denylist *dl, const char *utf8, size_t len, dv_infotype_set want,
                          dv_infotype *type);

#endif
