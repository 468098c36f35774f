/* A worker's memo of keyed UID mappings (uid.c). A UID's replacement is a pure function of the key and the UID,
 * and the instances of a series repeat most of their UIDs (study, series, frame of reference, the file meta's
 * copy of the SOP Instance UID, the instances they reference): a UID seen before is looked up instead of
 * hashed and converted again (an HMAC-SHA256 and a 128-bit decimal conversion; 9 of the 11 UIDs of each file of
 * the small-file corpus). The stored UID is compared byte for byte (no hash is trusted alone), and with it the
 * key it was mapped with, so a memo never answers for another key. PHI: original UIDs live in worker memory only,
 * are never logged or written, and are wiped when the memo is freed. Bounded: DV_UID_MEMO_SLOTS entries (a new
 * UID replaces the one in its slot), ~150 KB per worker. Per worker, never shared (dv_run's pool).
 * docs/decisions.md "UID mappings are memoised per worker". [test_uid_hmac: test_uid_memo_same_mapping] */
#ifndef DV_ENGINE_UID_MEMO_H
#define DV_ENGINE_UID_MEMO_H

#include <stddef.h>

#include "dicomveil/dicomveil.h"

#define DV_UID_MEMO_SLOTS 1024u

typedef struct dv_uid_memo dv_uid_memo;

dv_uid_memo *dv_uid_memo_new(void); /* NULL when out of memory (then nothing is memoised) */
void dv_uid_memo_free(dv_uid_memo *m);

/* The stored replacement of uid (len bytes, padding already trimmed) under key into out: its length, or 0 when
 * not stored (m NULL, a UID longer than DV_UID_MAX, or not seen). */
size_t dv_uid_memo_get(const dv_uid_memo *m, const dv_key *key, const char *uid, size_t len,
                       char out[DV_UID_MAX + 1]);
/* Store uid -> rep (rep_len bytes) under key. A UID or replacement longer than DV_UID_MAX is not stored. */
void dv_uid_memo_put(dv_uid_memo *m, const dv_key *key, const char *uid, size_t len, const char *rep,
                     size_t rep_len);

#endif
