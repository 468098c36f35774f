/* cryptoHashConfig (DECISIONS 13): base64 of HMAC-SHA256(key, value); and the base64 cryptoKey of
 * dateShiftConfig / cryptoHashConfig (gcp-api.md 6.2: an AES 128/192/256-bit key). */
#include "text/dv_transform.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int dv_crypto_hash_b64(const uint8_t *key, size_t key_len, const char *msg, size_t len, char out[45])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!key || key_len == 0 || key_len > 1024 ||
        !HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)(msg ? msg : ""), len, md, &mdlen) ||
        mdlen != 32)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < 32; i += 3) {
        uint32_t v = (uint32_t)md[i] << 16;
        size_t have = 32 - i < 3 ? 32 - i : 3;
        if (have > 1)
            v |= (uint32_t)md[i + 1] << 8;
        if (have > 2)
            v |= md[i + 2];
        out[o++] = B64[(v >> 18) & 63];
        out[o++] = B64[(v >> 12) & 63];
        out[o++] = have > 1 ? B64[(v >> 6) & 63] : '=';
        out[o++] = have > 2 ? B64[v & 63] : '=';
    }
    out[o] = '\0';
    return 0;
}

/* The value of c in the standard alphabet, or (url_safe) in the URL-safe one, where - and _ stand for + and /. */
static int b64_value(char c, int url_safe)
{
    if (url_safe && (c == '+' || c == '/'))
        return -1;
    if (url_safe && (c == '-' || c == '_'))
        return c == '-' ? 62 : 63;
    const char *p = c ? strchr(B64, c) : NULL;
    return p ? (int)(p - B64) : -1;
}

/* proto3 JSON (the API's wire format) reads a bytes field in either alphabet, padded or not, so a cryptoKey
 * Google's service takes is taken here too; one string is in one alphabet (a mix is neither).
 * [test_text_transform: test_key_from_base64] */
int dv_key_from_base64(const char *b64, size_t len, uint8_t out[DV_TEXT_KEY_MAX])
{
    while (len > 0 && b64[len - 1] == '=')
        len--;
    int url_safe = len > 0 && (memchr(b64, '-', len) != NULL || memchr(b64, '_', len) != NULL);
    if (len % 4 == 1)
        return -1;
    size_t n = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
    if (n != 16 && n != 24 && n != 32)
        return -1;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64_value(b64[i], url_safe);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o < n)
                out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return o == n ? (int)n : -1;
}
