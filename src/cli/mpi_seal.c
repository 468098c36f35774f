/* deidentify --mpi: every batch between ranks travels sealed (cli_mpi.h "mpi_seal.c"). A batch holds source
 * paths (a chunk dealt, a failed input's report line), which name patients where folders do. Open MPI moves it in
 * the clear: over TCP between nodes, and through shared-memory segments in /dev/shm that a job killed whole
 * leaves behind (stop 53's red team found the last dealt paths there). Sealed with AES-256-GCM under a key
 * derived from the run's key file, which every rank reads and which must stay secret anyway (it keys the UIDs),
 * a batch on the wire or left in /dev/shm shows its length only; and a rank given another key file is refused at
 * its first batch instead of writing other UIDs.
 *
 * Nonce: 8 random bytes a rank draws at start, then a 32-bit count of every batch the rank has sealed, whatever
 * its destination, so no two batches under one key share a nonce (two jobs or ranks drawing the same 64 bits:
 * ~n^2/2^65). A count per destination would not do: rank 0's first batch to rank 1 and its first to rank 2 would
 * share one, and GCM under a repeated nonce gives away the XOR of the two plain batches and its MAC key. The
 * associated data binds the batch to its tag, sender, receiver and its number among the sender's batches to this
 * receiver, counted from 0 on both sides (MPI keeps one sender's batches of one tag in order); with the prefix
 * the same throughout, a batch replayed, dropped, reordered or sent to another rank is refused. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cli_mpi.h"
#include "engine/dv_plan.h" /* dv_key_derive */

#define WIRE_LABEL "dicomveil-mpi-wire-1"
#define PREFIX_LEN 8
#define NONCE_LEN 12
#define TAG_LEN 16

struct dvm_seal {
    unsigned char key[32];
    unsigned char prefix[PREFIX_LEN];  /* this rank's */
    int me, nranks;
    uint32_t sealed;                   /* batches sealed so far, to any rank: the nonce's count */
    uint32_t *sent;                    /* per destination: batches sealed so far (the associated data) */
    uint32_t *seen;                    /* per sender: batches opened so far */
    unsigned char (*peer)[PREFIX_LEN]; /* per sender: its prefix, from its first batch */
    EVP_CIPHER_CTX *ctx;
};

dvm_seal *dvm_seal_new(const dv_key *key, int me, int nranks)
{
    dvm_seal *s = calloc(1, sizeof *s);
    if (!s || nranks < 1)
        goto fail;
    s->me = me;
    s->nranks = nranks;
    s->sent = calloc((size_t)nranks, sizeof *s->sent);
    s->seen = calloc((size_t)nranks, sizeof *s->seen);
    s->peer = calloc((size_t)nranks, sizeof *s->peer);
    s->ctx = EVP_CIPHER_CTX_new();
    if (!s->sent || !s->seen || !s->peer || !s->ctx || dv_key_derive(key, WIRE_LABEL, s->key) != 0 ||
        getrandom(s->prefix, sizeof s->prefix, 0) != (ssize_t)sizeof s->prefix)
        goto fail;
    return s;
fail:
    dvm_seal_free(s);
    return NULL;
}

void dvm_seal_free(dvm_seal *s)
{
    if (!s)
        return;
    OPENSSL_cleanse(s->key, sizeof s->key);
    EVP_CIPHER_CTX_free(s->ctx);
    free(s->sent);
    free(s->seen);
    free(s->peer);
    free(s);
}

/* The associated data: tag, sender, receiver, the batch's number from sender to receiver (4 bytes each,
 * little-endian). */
#define AAD_LEN 16
static void aad_of(unsigned char aad[AAD_LEN], int tag, int from, int to, uint32_t seq)
{
    dvm_put_u32(dvm_put_u32(dvm_put_u32(dvm_put_u32(aad, (uint32_t)tag), (uint32_t)from), (uint32_t)to), seq);
}

int dvm_seal_wrap(dvm_seal *s, dvm_buf *b, int to, int tag)
{
    if (b->oom || to < 0 || to >= s->nranks || b->len > (size_t)INT32_MAX - NONCE_LEN - TAG_LEN ||
        s->sent[to] == UINT32_MAX || s->sealed == UINT32_MAX)
        return -1;
    size_t n = NONCE_LEN + b->len + TAG_LEN;
    unsigned char *out = malloc(n), aad[AAD_LEN];
    if (!out)
        return -1;
    memcpy(out, s->prefix, PREFIX_LEN);
    dvm_put_u32(out + PREFIX_LEN, s->sealed);
    aad_of(aad, tag, s->me, to, s->sent[to]);
    int len = 0, fin = 0;
    int ok = EVP_EncryptInit_ex(s->ctx, EVP_aes_256_gcm(), NULL, s->key, out) == 1 &&
             EVP_EncryptUpdate(s->ctx, NULL, &len, aad, sizeof aad) == 1 &&
             (b->len == 0 || EVP_EncryptUpdate(s->ctx, out + NONCE_LEN, &len, b->p, (int)b->len) == 1) &&
             EVP_EncryptFinal_ex(s->ctx, out + NONCE_LEN + b->len, &fin) == 1 && /* GCM: nothing more */
             EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, out + NONCE_LEN + b->len) == 1;
    if (!ok) {
        free(out);
        return -1;
    }
    s->sent[to]++;
    s->sealed++;
    OPENSSL_cleanse(b->p, b->len); /* the plain batch goes; the sealed one takes its place */
    free(b->p);
    b->p = out;
    b->len = b->cap = n;
    return 0;
}

int dvm_seal_open(dvm_seal *s, uint8_t *buf, size_t n, int from, int tag, const uint8_t **plain, size_t *plain_n)
{
    if (from < 0 || from >= s->nranks || n < NONCE_LEN + TAG_LEN || n > (size_t)INT32_MAX)
        return -1;
    if (s->seen[from] == UINT32_MAX || (s->seen[from] > 0 && memcmp(s->peer[from], buf, PREFIX_LEN) != 0))
        return -1;
    size_t len = n - NONCE_LEN - TAG_LEN;
    unsigned char aad[AAD_LEN];
    aad_of(aad, tag, from, s->me, s->seen[from]); /* a batch out of its place fails the tag check */
    int out = 0, fin = 0;
    int ok = EVP_DecryptInit_ex(s->ctx, EVP_aes_256_gcm(), NULL, s->key, buf) == 1 &&
             EVP_DecryptUpdate(s->ctx, NULL, &out, aad, sizeof aad) == 1 &&
             (len == 0 || EVP_DecryptUpdate(s->ctx, buf + NONCE_LEN, &out, buf + NONCE_LEN, (int)len) == 1) &&
             EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, buf + NONCE_LEN + len) == 1 &&
             EVP_DecryptFinal_ex(s->ctx, buf + NONCE_LEN + len, &fin) == 1;
    if (!ok) {
        OPENSSL_cleanse(buf + NONCE_LEN, len); /* what a failed check decrypted is not trusted, nor kept */
        return -1;
    }
    if (s->seen[from] == 0)
        memcpy(s->peer[from], buf, PREFIX_LEN);
    s->seen[from]++;
    *plain = buf + NONCE_LEN;
    *plain_n = len;
    return 0;
}
