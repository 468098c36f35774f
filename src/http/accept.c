/* Accept header weights (see accept.h). Before this, each WADO-RS route looked for substrings: q=0 was
 * ignored, "application/dicom+json" counted as "application/dicom", and a multipart type= naming
 * application/dicom+xml was served DICOM. [test_accept; test_server_web.py "Accept"] */
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

/* "q=0.5" -> 500; a malformed q counts as 1 (the range stays usable). */
static int q_value(const char *v)
{
    if (v[0] == '0' || v[0] == '1') {
        int q = (v[0] - '0') * 1000;
        if (v[1] == '\0')
            return q;
        if (v[1] == '.') {
            int scale = 100;
            for (const char *d = v + 2; *d >= '0' && *d <= '9' && scale; d++, scale /= 10)
                q += (*d - '0') * scale;
            return q > 1000 ? 1000 : q;
        }
    }
    return 1000;
}

int dvh_accept_q(const char *accept, const char *media, const char *part_type, int *at)
{
    if (at)
        *at = -1;
    if (accept == NULL || *skip_ws(accept) == '\0')
        return 1000;
    int best_spec = 0, best_q = 0, index = 0;
    for (const char *p = accept; *p; index++) {
        size_t n = strcspn(p, ",");
        const char *end = p + n;
        size_t mn = strcspn(p, ";,");
        char range[RANGE_MAX];
        trimmed(p, mn, range, sizeof range);
        int spec = range[0] ? media_match(range, media) : 0;
        int q = 1000;
        int type_ok = 1;
        for (const char *r = p + mn; spec && r < end && *r == ';';) {
            r++;
            size_t pn = strcspn(r, ";,");
            const char *eq = memchr(r, '=', pn);
            if (eq) {
                char key[32], val[RANGE_MAX];
                trimmed(r, (size_t)(eq - r), key, sizeof key);
                trimmed(eq + 1, pn - (size_t)(eq + 1 - r), val, sizeof val);
                if (strcasecmp(key, "q") == 0)
                    q = q_value(val);
                else if (strcasecmp(key, "type") == 0 && part_type)
                    type_ok = media_match(val, part_type) != 0;
            }
            r += pn;
        }
        if (spec && type_ok && spec > best_spec) {
            best_spec = spec;
            best_q = q;
            if (at)
                *at = index;
        }
        p = *end ? end + 1 : end;
    }
    return best_q;
}
