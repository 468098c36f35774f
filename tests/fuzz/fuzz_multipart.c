/* libFuzzer target: the STOW multipart parser and Content-Type parsing (src/http/multipart.c).
 *
 * The input's first line is a Content-Type value; when it parses and has a boundary, the rest is a body fed
 * twice: whole, and in chunks whose sizes come from the body's own bytes. Checks: both feedings agree
 * (same result, same parts, byte for byte), every part reaches its end callback before the next begins, and
 * the parser never reports more parts than the cap. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/multipart.h"

static void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_multipart: invariant violated: %s\n", what);
    abort();
}

typedef struct sink {
    uint8_t *buf; /* every part's bytes, each followed by a marker recorded in ends */
    size_t len, cap;
    size_t parts, ended;
    int open;
} sink;

static int put(sink *s, const uint8_t *d, size_t n)
{
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        while (cap < s->len + n)
            cap *= 2;
        uint8_t *b = realloc(s->buf, cap);
        if (b == NULL)
            return 1;
        s->buf = b;
        s->cap = cap;
    }
    if (n)
        memcpy(s->buf + s->len, d, n);
    s->len += n;
    return 0;
}

static int on_begin(void *u, const char *ct)
{
    sink *s = u;
    if (s->open)
        fuzz_fail("a part began before the previous one ended");
    s->open = 1;
    s->parts++;
    return put(s, (const uint8_t *)ct, strlen(ct) + 1);
}

static int on_data(void *u, const uint8_t *d, size_t n)
{
    sink *s = u;
    if (!s->open)
        fuzz_fail("data outside a part");
    return put(s, d, n);
}

static int on_end(void *u)
{
    sink *s = u;
    if (!s->open)
        fuzz_fail("end without a part");
    s->open = 0;
    s->ended++;
    return put(s, (const uint8_t *)"\xff\xfe", 2);
}

static const dvh_mp_callbacks cbs = {on_begin, on_data, on_end};

static int run(const char *boundary, const uint8_t *body, size_t n, int chunked, sink *s)
{
    dvh_multipart *mp = dvh_mp_new(boundary, &cbs, s);
    if (mp == NULL)
        return -2;
    dvh_err e;
    memset(&e, 0, sizeof e);
    int rc = 0;
    size_t i = 0;
    while (i < n && rc == 0) {
        size_t step = chunked ? (size_t)(body[i] % 17) + 1 : n;
        if (step > n - i)
            step = n - i;
        rc = dvh_mp_feed(mp, body + i, step, &e);
        i += step;
    }
    if (rc == 0)
        rc = dvh_mp_finish(mp, &e);
    if (memchr(e.message, '\0', sizeof e.message) == NULL)
        fuzz_fail("error message not NUL-terminated");
    if (dvh_mp_parts(mp) > DVH_MP_PARTS_MAX)
        fuzz_fail("more parts than the cap");
    dvh_mp_free(mp);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    if (nl == NULL || (size_t)(nl - data) > 512)
        return 0;
    char header[513];
    memcpy(header, data, (size_t)(nl - data));
    header[nl - data] = '\0';
    dvh_ctype ct;
    dvh_err e;
    if (dvh_ctype_parse(header, &ct, &e) != 0 || ct.boundary[0] == '\0')
        return 0;
    const uint8_t *body = nl + 1;
    size_t n = size - (size_t)(body - data);
    uint8_t *copy = malloc(n ? n : 1); /* exactly sized: a read past the end is an ASan report */
    if (copy == NULL)
        return 0;
    memcpy(copy, body, n);
    sink a = {0}, b = {0};
    int ra = run(ct.boundary, copy, n, 0, &a);
    int rb = run(ct.boundary, copy, n, 1, &b);
    if (ra != rb || a.len != b.len || (a.len && memcmp(a.buf, b.buf, a.len) != 0) || a.parts != b.parts)
        fuzz_fail("whole and chunked feeding disagree");
    free(a.buf);
    free(b.buf);
    free(copy);
    return 0;
}
