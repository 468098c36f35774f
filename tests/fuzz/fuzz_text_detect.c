/* libFuzzer: arbitrary bytes as text through the pattern detectors (issue 6 item 2). Invalid UTF-8 is
 * passed as is (the detectors treat invalid bytes as separators). Invariants: spans in bounds and on code
 * point boundaries; the same findings with the pre-filters off; after dv_findings_normalise, sorted and disjoint. Corpus: tests/fuzz/corpus/text_detect/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text/patterns.h"

/* Is position at inside a well-formed multi-byte sequence? A stray continuation byte is not part of a
 * code point (it is an invalid unit, a separator), so a span may start or end next to it. */
static int inside_code_point(const uint8_t *d, size_t n, size_t at)
{
    for (size_t back = 1; back <= 3 && back <= at; back++) {
        uint8_t lead = d[at - back];
        size_t len = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 && lead <= 0xEF ? 3 : lead >= 0xC2 && lead <= 0xDF ? 2 : 0;
        if (!len)
            continue;
        if (back >= len || at - back + len > n)
            return 0;
        for (size_t k = 1; k < len; k++)
            if ((d[at - back + k] & 0xC0) != 0x80)
                return 0;
        return 1;
    }
    return 0;
}

static int on_boundary(const uint8_t *d, size_t n, uint32_t at)
{
    return at <= n && (at == n || !inside_code_point(d, n, at));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Compiled once per fuzzing process (as a worker pool does), not per input. */
    static dv_patterns *p;
    static dv_text_scratch *s;
    dv_error err;
    if (!p && (!(p = dv_patterns_new(&err)) || !(s = dv_text_scratch_new(&err))))
        abort();
    dv_findings f = {0};
    if (dv_detect_patterns(p, s, (const char *)data, size, ~(dv_infotype_set)0, &f, &err) == 0) {
        for (size_t i = 0; i < f.n; i++) {
            const dv_finding *x = &f.v[i];
            if (x->start >= x->end || x->end > size || x->type >= DV_IT_COUNT ||
                !on_boundary(data, size, x->start) || !on_boundary(data, size, x->end))
                abort();
        }
        /* The pre-filters (src/text/prefilter.c) only skip patterns that cannot match: the findings with every
         * pattern run are the same, in the same order. */
        dv_findings all = {0};
        dv_text_scratch_set_exhaustive(s, 1);
        int rc = dv_detect_patterns(p, s, (const char *)data, size, ~(dv_infotype_set)0, &all, &err);
        dv_text_scratch_set_exhaustive(s, 0);
        if (rc != 0 || all.n != f.n || (f.n && memcmp(all.v, f.v, f.n * sizeof f.v[0]) != 0))
            abort();
        dv_findings_free(&all);
        dv_findings_normalise(&f);
        for (size_t i = 0; i < f.n; i++)
            if (f.v[i].start >= f.v[i].end || (i && f.v[i - 1].end > f.v[i].start))
                abort();
    } else if (err.code != DV_ERR_LIMIT) {
        abort();
    }
    dv_findings_free(&f);
    return 0;
}
