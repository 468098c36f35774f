/* Streaming multipart parser (see multipart.h).
 *
 * The delimiter is CRLF "--" boundary. The body is read as if preceded by CRLF, so a first delimiter at
 * offset 0 is found like every other. Matching is a single index into the delimiter: the boundary's
 * characters (RFC 2046 bchars) never include CR, so after a mismatch at index k > 0 the only place a new
 * match can start is the current byte, and the k matched bytes are plain data. That keeps the search O(n)
 * with no look-behind buffer beyond the delimiter itself.
 *
 * Outside a match, a chunk is searched for a whole delimiter with Horspool's skips (find_delim): the probe
 * reads one byte per up to dlen, where a scan for CR read every byte and stopped at each CR (1 in 256 bytes of
 * binary pixel data): that scan was ~9 % of a STOW's server CPU (bench/RESULTS.md "STOW group durability").
 * Only the chunk's last dlen - 1 bytes, which may begin a delimiter the next chunk completes, are scanned
 * byte by byte. [test_multipart; fuzz_multipart] */
#include "http/multipart.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef enum mp_state {
    MP_PREAMBLE,   /* before the first delimiter: ignored */
    MP_AFTER_DELIM,/* just after a delimiter: transport padding, then CRLF (a part) or "--" (the end) */
    MP_AFTER_DASH, /* saw one '-' after the delimiter */
    MP_AFTER_CR,   /* saw CR after the delimiter (and padding) */
    MP_HEADERS,    /* a part's header block, up to the empty line */
    MP_BODY,       /* a part's data, up to the next delimiter */
    MP_EPILOGUE,   /* after the close delimiter: ignored */
    MP_FAILED
} mp_state;

struct dvh_multipart {
    const dvh_mp_callbacks *cb;
    void *user;
    mp_state state;
    char delim[4 + DVH_MP_BOUNDARY_MAX];
    size_t dlen;
    size_t match; /* bytes of delim matched so far */
    uint8_t skip[256]; /* Horspool: how far a probe ending on byte c may move (dlen <= 204) */
    char hdr[DVH_MP_HEADER_MAX + 1];
    size_t hlen;
    size_t parts;
    dvh_err err;
};

static int bchar(unsigned char c)
{
    return isalnum(c) || strchr("'()+_,-./:=? ", c) != NULL;
}

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/* Copy a token or quoted string starting at *p into out[cap]; advance *p. -1 when malformed or too long. */
static int read_value(const char **p, char *out, size_t cap)
{
    const char *s = *p;
    size_t n = 0;
    if (*s == '"') {
        s++;
        while (*s && *s != '"') {
            if (*s == '\\' && s[1])
                s++;
            if (n + 1 >= cap)
                return -1;
            out[n++] = *s++;
        }
        if (*s != '"')
            return -1;
        s++;
    } else {
        while (*s && *s != ';' && *s != ' ' && *s != '\t') {
            if (n + 1 >= cap || (unsigned char)*s < 0x20)
                return -1;
            out[n++] = *s++;
        }
    }
    out[n] = '\0';
    *p = s;
    return 0;
}

int dvh_ctype_parse(const char *value, dvh_ctype *out, dvh_err *e)
{
    memset(out, 0, sizeof *out);
    const char *p = value;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = 0;
    while (*p && *p != ';' && *p != ' ' && *p != '\t') {
        unsigned char c = (unsigned char)*p;
        if (n + 1 >= sizeof out->media || c < 0x21 || c > 0x7e)
            return dvh_fail(e, DVH_UNSUPPORTED_MEDIA, "Content-Type: malformed media type");
        out->media[n++] = (char)tolower(c);
        p++;
    }
    out->media[n] = '\0';
    const char *slash = strchr(out->media, '/');
    if (n == 0 || slash == NULL || slash == out->media || slash[1] == '\0' || strchr(slash + 1, '/'))
        return dvh_fail(e, DVH_UNSUPPORTED_MEDIA, "Content-Type: malformed media type");
    /* The parameters read here, each at most once: a second boundary= (or type=, transfer-syntax=) is
     * ambiguous, and taking either would be a guess. [test_multipart: test_content_type] */
    unsigned seen = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        if (*p != ';')
            return dvh_fail(e, DVH_INVALID_ARGUMENT, "Content-Type: malformed parameters");
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break; /* a trailing ';' */
        char name[64];
        size_t k = 0;
        while (*p && *p != '=' && *p != ';' && *p != ' ') {
            if (k + 1 >= sizeof name)
                return dvh_fail(e, DVH_INVALID_ARGUMENT, "Content-Type: parameter name too long");
            name[k++] = (char)tolower((unsigned char)*p++);
        }
        name[k] = '\0';
        if (*p != '=' || k == 0)
            return dvh_fail(e, DVH_INVALID_ARGUMENT, "Content-Type: malformed parameter");
        p++;
        char val[256];
        if (read_value(&p, val, sizeof val))
            return dvh_fail(e, DVH_INVALID_ARGUMENT, "Content-Type: malformed or long parameter value");
        unsigned bit = strcmp(name, "boundary") == 0 ? 1u : strcmp(name, "type") == 0 ? 2u
                       : strcmp(name, "transfer-syntax") == 0 ? 4u : 0u;
        if (seen & bit) /* bit set: name is one of the three above, not client text */
            return dvh_fail(e, DVH_INVALID_ARGUMENT, "Content-Type: %s given more than once", name);
        seen |= bit;
        if (strcmp(name, "boundary") == 0) {
            size_t bl = strlen(val);
            if (bl == 0 || bl > DVH_MP_BOUNDARY_MAX || val[bl - 1] == ' ')
                return dvh_fail(e, DVH_INVALID_ARGUMENT, "Content-Type: boundary must be 1-%d characters",
                                DVH_MP_BOUNDARY_MAX);
            for (size_t i = 0; i < bl; i++)
                if (!bchar((unsigned char)val[i]))
                    return dvh_fail(e, DVH_INVALID_ARGUMENT, "Content-Type: boundary character not allowed");
            memcpy(out->boundary, val, bl + 1);
        } else if (strcmp(name, "type") == 0) {
            if (strlen(val) >= sizeof out->type)
                return dvh_fail(e, DVH_INVALID_ARGUMENT, "Content-Type: type parameter too long");
            strcpy(out->type, val);
            lower(out->type);
        } else if (strcmp(name, "transfer-syntax") == 0) {
            if (strlen(val) >= sizeof out->transfer_syntax)
                return dvh_fail(e, DVH_INVALID_ARGUMENT, "Content-Type: transfer-syntax too long");
            strcpy(out->transfer_syntax, val);
        }
    }
    return 0;
}

dvh_multipart *dvh_mp_new(const char *boundary, const dvh_mp_callbacks *cb, void *user)
{
    size_t bl = strlen(boundary);
    if (bl == 0 || bl > DVH_MP_BOUNDARY_MAX)
        return NULL;
    dvh_multipart *mp = calloc(1, sizeof *mp);
    if (mp == NULL)
        return NULL;
    mp->cb = cb;
    mp->user = user;
    memcpy(mp->delim, "\r\n--", 4);
    memcpy(mp->delim + 4, boundary, bl);
    mp->dlen = 4 + bl;
    for (size_t c = 0; c < 256; c++)
        mp->skip[c] = (uint8_t)mp->dlen;
    for (size_t k = 0; k + 1 < mp->dlen; k++)
        mp->skip[(uint8_t)mp->delim[k]] = (uint8_t)(mp->dlen - 1 - k);
    /* The body reads as if preceded by CRLF: a delimiter at offset 0 is "--boundary". */
    mp->match = 2;
    mp->state = MP_PREAMBLE;
    return mp;
}

void dvh_mp_free(dvh_multipart *mp)
{
    free(mp);
}

size_t dvh_mp_parts(const dvh_multipart *mp)
{
    return mp->parts;
}

dvh_err *dvh_mp_error(dvh_multipart *mp)
{
    return &mp->err;
}

static int fail(dvh_multipart *mp, dvh_err *e, dvh_status s, const char *msg)
{
    mp->state = MP_FAILED;
    if (s == DVH_OK) { /* a callback stopped us: report what it left */
        if (mp->err.status == DVH_OK)
            dvh_fail(&mp->err, DVH_INTERNAL, "multipart: part handler failed");
        if (e)
            *e = mp->err;
        return -1;
    }
    return dvh_fail(e, s, "multipart body: %s", msg);
}

/* The Content-Type of the header block in mp->hdr ("" when none). Header names are case-insensitive. */
static void part_content_type(dvh_multipart *mp, char *out, size_t cap)
{
    out[0] = '\0';
    mp->hdr[mp->hlen] = '\0';
    char *line = mp->hdr;
    while (*line) {
        char *end = strstr(line, "\r\n");
        if (end == NULL)
            break;
        *end = '\0';
        if (strncasecmp(line, "content-type:", 13) == 0) {
            const char *v = line + 13;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t n = strlen(v);
            while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
                n--;
            if (n >= cap)
                n = cap - 1;
            memcpy(out, v, n);
            out[n] = '\0';
        }
        line = end + 2;
    }
}

/* The offset of the first whole delimiter in s[0..n), or n when none lies wholly inside.
 * With SSE2 (every x86-64), 16 start positions at a time: a delimiter starts where its first byte (CR) and its
 * last byte lie m - 1 apart, a pair that binary pixel data holds about once in 64 KiB, so nearly every block is
 * rejected by two loads and two compares, and a candidate is confirmed by memcmp. Horspool's skips alone were a
 * chain of dependent loads (the next probe's address depends on the byte just read): ~10 % of the server's CPU
 * per STOWed CT instance (bench/RESULTS.md "STOW, fourth pass"). Horspool finishes the tail (and is the whole
 * search elsewhere). [test_multipart: test_skip_search_random] */
static size_t find_delim(const dvh_multipart *mp, const uint8_t *s, size_t n)
{
    size_t m = mp->dlen;
    uint8_t last = (uint8_t)mp->delim[m - 1];
    size_t pos = 0;
#if defined(__SSE2__)
    const __m128i vfirst = _mm_set1_epi8(mp->delim[0]), vlast = _mm_set1_epi8((char)last);
    for (; n >= m + 15 && pos <= n - m - 15; pos += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(s + pos));
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(s + pos + m - 1));
        unsigned bits = (unsigned)_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, vfirst), _mm_cmpeq_epi8(b, vlast)));
        while (bits) {
            unsigned k = (unsigned)__builtin_ctz(bits);
            if (memcmp(s + pos + k + 1, mp->delim + 1, m - 2) == 0) /* m >= 5: "\r\n--" and a boundary */
                return pos + k;
            bits &= bits - 1;
        }
    }
#endif
    while (n >= m && pos <= n - m) {
        uint8_t c = s[pos + m - 1];
        if (c == last && memcmp(s + pos, mp->delim, m - 1) == 0)
            return pos;
        pos += mp->skip[c];
    }
    return n;
}

int dvh_mp_feed(dvh_multipart *mp, const uint8_t *data, size_t len, dvh_err *e)
{
    if (mp->state == MP_FAILED)
        return dvh_fail(e, DVH_INVALID_ARGUMENT, "multipart body: parsing already failed");
    size_t i = 0;
    while (i < len) {
        switch (mp->state) {
        case MP_PREAMBLE:
        case MP_BODY: {
            /* Data runs from run_start; bytes of a partial delimiter match are held back in mp->match. */
            size_t run_start = i;
            int in_body = mp->state == MP_BODY;
            while (i < len) {
                if (mp->match == 0) {
                    size_t rest = len - i, at = find_delim(mp, data + i, rest);
                    if (at < rest) {
                        i += at; /* a whole delimiter starts here: matched below */
                    } else {
                        /* None wholly here: only the last dlen - 1 bytes may begin one. */
                        size_t from = rest >= mp->dlen ? len - (mp->dlen - 1) : i;
                        const uint8_t *cr = memchr(data + from, '\r', len - from);
                        if (cr == NULL) {
                            i = len;
                            break;
                        }
                        i = (size_t)(cr - data);
                    }
                }
                uint8_t c = data[i];
                if (c == (uint8_t)mp->delim[mp->match]) {
                    mp->match++;
                    i++;
                    if (mp->match == mp->dlen)
                        break;
                    continue;
                }
                /* Mismatch: the held-back bytes were data. Those inside this chunk stay in the run (they
                 * are contiguous with it); those held from earlier chunks (only when the whole run so far is
                 * matched bytes, so nothing of this chunk was emitted) go out first, from delim. Then this
                 * byte is retried at index 0. The run is not cut here: a CR in the data (1 byte in 256 of
                 * binary pixel data) used to end a part_data call, ~2,000 calls per 512 KB instance, each
                 * paying the blob writer's hash and copy setup (bench/RESULTS.md "STOW path"). */
                if (mp->match > 0) {
                    size_t in_chunk = i - run_start; /* bytes of this chunk not yet emitted */
                    size_t held_before = mp->match > in_chunk ? mp->match - in_chunk : 0;
                    if (in_body && held_before &&
                        mp->cb->part_data(mp->user, (const uint8_t *)mp->delim, held_before))
                        return fail(mp, e, DVH_OK, NULL);
                    mp->match = 0;
                    continue;
                }
                i++;
            }
            if (mp->match == mp->dlen) {
                /* Delimiter complete: emit the data before it (none of the delimiter). */
                size_t in_chunk = i - run_start;
                size_t data_here = in_chunk > mp->dlen ? in_chunk - mp->dlen : 0;
                if (in_body) {
                    if (data_here && mp->cb->part_data(mp->user, data + run_start, data_here))
                        return fail(mp, e, DVH_OK, NULL);
                    if (mp->cb->part_end(mp->user))
                        return fail(mp, e, DVH_OK, NULL);
                }
                mp->match = 0;
                mp->state = MP_AFTER_DELIM;
            } else if (in_body) {
                /* Chunk ended: emit everything except the held-back partial match. */
                size_t in_chunk = i - run_start;
                size_t keep = mp->match < in_chunk ? mp->match : in_chunk;
                size_t emit = in_chunk - keep;
                if (emit && mp->cb->part_data(mp->user, data + run_start, emit))
                    return fail(mp, e, DVH_OK, NULL);
                /* The held-back bytes are a prefix of delim, so they can be re-emitted from delim later. */
            }
            break;
        }
        case MP_AFTER_DELIM: {
            uint8_t c = data[i++];
            if (c == ' ' || c == '\t')
                break; /* transport padding (RFC 2046) */
            if (c == '-')
                mp->state = MP_AFTER_DASH;
            else if (c == '\r')
                mp->state = MP_AFTER_CR;
            else
                return fail(mp, e, DVH_INVALID_ARGUMENT, "delimiter not followed by CRLF or '--'");
            break;
        }
        case MP_AFTER_DASH:
            if (data[i++] != '-')
                return fail(mp, e, DVH_INVALID_ARGUMENT, "delimiter not followed by CRLF or '--'");
            mp->state = MP_EPILOGUE;
            break;
        case MP_AFTER_CR:
            if (data[i++] != '\n')
                return fail(mp, e, DVH_INVALID_ARGUMENT, "delimiter not followed by CRLF");
            if (mp->parts >= DVH_MP_PARTS_MAX)
                return fail(mp, e, DVH_TOO_LARGE, "too many parts");
            mp->hlen = 0;
            mp->state = MP_HEADERS;
            break;
        case MP_HEADERS: {
            if (mp->hlen >= DVH_MP_HEADER_MAX)
                return fail(mp, e, DVH_TOO_LARGE, "part header block over the limit");
            mp->hdr[mp->hlen++] = (char)data[i++];
            int end = (mp->hlen == 2 && memcmp(mp->hdr, "\r\n", 2) == 0) ||
                      (mp->hlen >= 4 && memcmp(mp->hdr + mp->hlen - 4, "\r\n\r\n", 4) == 0);
            if (end) {
                char ct[256];
                part_content_type(mp, ct, sizeof ct);
                mp->parts++;
                mp->err.status = DVH_OK;
                if (mp->cb->part_begin(mp->user, ct))
                    return fail(mp, e, DVH_OK, NULL);
                mp->state = MP_BODY;
                mp->match = 0;
            }
            break;
        }
        case MP_EPILOGUE:
            i = len;
            break;
        case MP_FAILED:
            return dvh_fail(e, DVH_INVALID_ARGUMENT, "multipart body: parsing already failed");
        }
    }
    return 0;
}

int dvh_mp_finish(dvh_multipart *mp, dvh_err *e)
{
    if (mp->state == MP_EPILOGUE)
        return 0;
    if (mp->state != MP_FAILED)
        mp->state = MP_FAILED;
    return dvh_fail(e, DVH_INVALID_ARGUMENT, "multipart body: truncated (no close delimiter)");
}
