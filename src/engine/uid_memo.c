/* Per-worker memo of keyed UID mappings (uid_memo.h): a direct-mapped table keyed by a hash of the UID, the UID
 * itself and the key compared exactly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "engine/uid_memo.h"

typedef struct memo_slot {
    uint64_t hash;
    const dv_key *key; /* NULL: empty */
    uint8_t len, rep_len;
    char uid[DV_UID_MAX];
    char rep[DV_UID_MAX];
} memo_slot;

struct dv_uid_memo {
    memo_slot slot[DV_UID_MEMO_SLOTS];
};

/* Eight bytes a step (a UID is ~20-64 bytes): a multiply-xorshift mix, the length folded in so "1.2" and
 * "1.2\0" cannot share a hash by their zero-filled tail. Not a defence against chosen collisions: a collision
 * only costs a recomputation. */
static uint64_t hash_of(const char *s, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t w = 0;
        memcpy(&w, s + i, n - i < 8 ? n - i : 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
    }
    return h;
}

dv_uid_memo *dv_uid_memo_new(void)
{
    return calloc(1, sizeof(dv_uid_memo));
}

void dv_uid_memo_free(dv_uid_memo *m)
{
    if (!m)
        return;
    OPENSSL_cleanse(m, sizeof *m); /* PHI: original UIDs are not left behind in freed memory */
    free(m);
}

size_t dv_uid_memo_get(const dv_uid_memo *m, const dv_key *key, const char *uid, size_t len,
                       char out[DV_UID_MAX + 1])
{
    if (!m || !key || len == 0 || len > DV_UID_MAX)
        return 0;
    uint64_t h = hash_of(uid, len);
    const memo_slot *s = &m->slot[h & (DV_UID_MEMO_SLOTS - 1)];
    if (s->key != key || s->hash != h || s->len != len || memcmp(s->uid, uid, len) != 0)
        return 0;
    memcpy(out, s->rep, s->rep_len);
    out[s->rep_len] = '\0';
    return s->rep_len;
}

void dv_uid_memo_put(dv_uid_memo *m, const dv_key *key, const char *uid, size_t len, const char *rep,
                     size_t rep_len)
{
    if (!m || !key || len == 0 || len > DV_UID_MAX || rep_len == 0 || rep_len > DV_UID_MAX)
        return;
    uint64_t h = hash_of(uid, len);
    memo_slot *s = &m->slot[h & (DV_UID_MEMO_SLOTS - 1)];
    s->hash = h;
    s->key = key;
    s->len = (uint8_t)len;
    s->rep_len = (uint8_t)rep_len;
    memcpy(s->uid, uid, len);
    memcpy(s->rep, rep, rep_len);
}
