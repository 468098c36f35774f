/* Accept header weights (see accept.h). Before this, each WADO-RS route looked for substrings: q=0 was
 * ignored, "application/dicom+json" counted as "application/dicom", and a multipart type= naming
 * application/dicom+xml was served DICOM. [test_accept; test_server_web.py "Accept"]
 *
 * transfer-syntax= is weighed too (PS3.18 8.7.3): the server never transcodes, so a range naming a syntax
 * other than the stored one cannot be served and must not count, or a client that asked for explicit VR little
 * endian got JPEG under 200. The default an absent parameter stands for is the caller's (ts_default): our
 * deviation (as stored for application/dicom and the image types) lives where the answer is built, not here.
 * [test_accept: test_transfer_syntax; test_server_web.py "transfer-syntax"] */
#include "http/accept.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RANGE_MAX 256

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* n bytes of s, outer spaces and one pair of quotes removed, into out (cap bytes). */
static void trimmed(const char *s, size_t n, char *out, size_t cap)
{
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"')
        s++, n -= 2;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

/* 3 exact, 2 a "type/" wildcard, 1 the any-type wildcard, 0 no match (pattern against a "type/subtype"). */
static int media_match(const char *pattern, const char *media)
{
    if (strcmp(pattern, "*/*") == 0)
        return 1;
    const char *slash = strchr(media, '/');
    size_t tl = slash ? (size_t)(slash - media) : strlen(media);
    if (strncasecmp(pattern, media, tl) == 0 && pattern[tl] == '/' && strcmp(pattern + tl + 1, "*") == 0)
        return 2;
    return strcasecmp(pattern, media) == 0 ? 3 : 0;
}

/* "q=0.5" -> 500. RFC 9110 12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ); anything
 * else ("0.0005", "0.5xyz", ".5", "00", "1.5") is malformed and counts as 1, the range staying usable (before,
 * a fourth decimal was dropped, so q=0.0005 refused the range, while trailing junk was ignored). */
static int q_value(const char *v)
{
    if (v[0] != '0' && v[0] != '1')
        return 1000;
    int q = (v[0] - '0') * 1000, scale = 100;
    if (v[1] == '.') {
        const char *d = v + 2;
        for (; *d >= '0' && *d <= '9' && scale; d++, scale /= 10)
            q += (*d - '0') * scale;
        v = d - 1; /* its last digit (or the '.') */
    }
    return v[1] != '\0' || q > 1000 ? 1000 : q;
}

/* One media range's parameters as they bear on w. */
typedef struct range_params {
    int q;         /* 0-1000 */
    int type_spec; /* type=: 0 absent, 1-3 media_match against w->part_type, -1 another type */
    int ts_spec;   /* transfer-syntax=: 0 absent, 1 "*", 2 w->ts, -1 another syntax */
    int dup;       /* type= or transfer-syntax= given twice: which one the client meant is a guess */
} range_params;

#define SEEN_TYPE 1u
#define SEEN_TS 2u

/* The parameters of the range whose first ';' is r (or r == end: none), up to end (its ',' or NUL). */
static void read_params(const char *r, const char *end, const dvh_accept_want *w, range_params *rp)
{
    unsigned seen = 0;
    rp->q = 1000;
    rp->type_spec = rp->ts_spec = rp->dup = 0;
    while (r < end && *r == ';') {
        r++;
        size_t pn = strcspn(r, ";,");
        const char *eq = memchr(r, '=', pn);
        if (eq) {
            char key[32], val[RANGE_MAX];
            trimmed(r, (size_t)(eq - r), key, sizeof key);
            trimmed(eq + 1, pn - (size_t)(eq + 1 - r), val, sizeof val);
            if (strcasecmp(key, "q") == 0) {
                rp->q = q_value(val);
            } else if (strcasecmp(key, "type") == 0 && w->part_type) {
                rp->dup |= (seen & SEEN_TYPE) != 0;
                seen |= SEEN_TYPE;
                int m = media_match(val, w->part_type);
                rp->type_spec = m ? m : -1;
            } else if (strcasecmp(key, "transfer-syntax") == 0 && w->ts) {
                rp->dup |= (seen & SEEN_TS) != 0;
                seen |= SEEN_TS;
                /* UIDs compare exactly (digits and dots); a truncated overlong value never equals one. */
                rp->ts_spec = strcmp(val, "*") == 0 ? 1 : strcmp(val, w->ts) == 0 ? 2 : -1;
            }
        }
        r += pn;
    }
}

/* 0 when the range (media match spec, parameters rp) cannot give w; else its specificity (higher: more
 * specific): media range, then type=, then transfer-syntax=. */
static int range_rank(int spec, range_params *rp, const dvh_accept_want *w)
{
    if (spec == 0 || rp->dup || rp->type_spec < 0)
        return 0;
    /* No transfer-syntax= on a range naming the (part) media type itself asks for that type's default; a
     * wildcard range says nothing about syntaxes. */
    int exact = w->part_type ? rp->type_spec == 3 : spec == 3;
    if (rp->ts_spec == 0 && w->ts && w->ts_default && exact && strcmp(w->ts_default, w->ts) != 0)
        rp->ts_spec = -1;
    if (rp->ts_spec < 0)
        return 0;
    return spec * 16 + rp->type_spec * 4 + rp->ts_spec;
}

int dvh_accept_weigh(const char *accept, const dvh_accept_want *w, int *at)
{
    if (at)
        *at = -1;
    if (accept == NULL || *skip_ws(accept) == '\0')
        return 1000;
    int best_rank = 0, best_q = 0, index = 0;
    for (const char *p = accept; *p; index++) {
        size_t n = strcspn(p, ",");
        const char *end = p + n;
        size_t mn = strcspn(p, ";,");
        char range[RANGE_MAX];
        trimmed(p, mn, range, sizeof range);
        int spec = range[0] ? media_match(range, w->media) : 0;
        int rank = 0;
        range_params rp = {0};
        if (spec) {
            read_params(p + mn, end, w, &rp);
            rank = range_rank(spec, &rp, w);
        }
        if (rank > best_rank) {
            best_rank = rank;
            best_q = rp.q;
            if (at)
                *at = index;
        }
        p = *end ? end + 1 : end;
    }
    return best_q;
}

int dvh_accept_q(const char *accept, const char *media, const char *part_type, int *at)
{
    dvh_accept_want w = {media, part_type, NULL, NULL};
    return dvh_accept_weigh(accept, &w, at);
}
