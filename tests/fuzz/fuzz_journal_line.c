/* libFuzzer target: the --resume journal's D line grammar (src/cli/journal_line.c), which reads a file beside
 * the report that anything may have damaged or edited.
 *
 * The input is cut into lines (at most 64); each goes through dvc_jline_parse_d and, when it parses, through
 * the findings and pixels fields. Checks (abort, so libFuzzer keeps the input):
 *   1. a name dvc_jline_name_ok accepts is a relative path of exactly three components of [0-9a-z._-], none
 *      "." or "..": it can never name anything outside DST;
 *   2. what parses writes back (dvc_jline_format_d) to a line that parses to the same fields, findings and
 *      pixel entry: the writer and the reader agree on the grammar;
 *   3. the MAC field (dvc_jline_seal / dvc_jline_unseal, under a fixed key): a hostile line is never trusted
 *      (a forged MAC would need the key), any line sealed opens to exactly its body, and the sealed line with
 *      one MAC digit changed is refused. The grammar above is of the body, so the lines are fuzzed unsealed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_journal_line: invariant violated: %s\n", what);
    abort();
}

static void check_name(const char *s)
{
    if (!dvc_jline_name_ok(s))
        return;
    if (s[0] == '/')
        fuzz_fail("an absolute name passed");
    int slashes = 0;
    const char *comp = s;
    for (const char *c = s;; c++) {
        if (*c == '/' || *c == '\0') {
            size_t n = (size_t)(c - comp);
            if (n == 0 || (n == 1 && comp[0] == '.') || (n == 2 && comp[0] == '.' && comp[1] == '.'))
                fuzz_fail("an empty, . or .. component passed");
            if (*c == '\0')
                break;
            slashes++;
            comp = c + 1;
        } else if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') || *c == '.' || *c == '_' || *c == '-')) {
            fuzz_fail("a byte outside [0-9a-z._-] passed");
        }
    }
    if (slashes != 2)
        fuzz_fail("a name of other than three components passed");
}

static int same_findings(const uint32_t *a, const uint32_t *b)
{
    for (int t = 0; t < DV_RESULT_TEXT_TYPES; t++)
        if ((a ? a[t] : 0) != (b ? b[t] : 0))
            return 0;
    return 1;
}

static void check_line(const char *line, size_t len)
{
    dvc_jline d;
    if (dvc_jline_parse_d(line, len, &d) != 0)
        return;
    if (memchr(d.name, '\0', sizeof d.name) == NULL || memchr(d.hash, '\0', sizeof d.hash) == NULL ||
        memchr(d.pathid, '\0', sizeof d.pathid) == NULL)
        fuzz_fail("a parsed field is not NUL-terminated");
    check_name(d.name);
    uint32_t *f = dvc_jline_findings(line, len);
    dvc_pixels *px = dvc_jline_pixels(line, len);
    char out[DVC_JLINE_MAX];
    size_t n = dvc_jline_format_d(out, sizeof out, &d, f, px);
    if (n == 0 || out[n - 1] != '\n')
        fuzz_fail("a parsed line does not write back");
    dvc_jline d2;
    if (dvc_jline_parse_d(out, n - 1, &d2) != 0)
        fuzz_fail("a written line does not parse");
    if (d2.index != d.index || d2.dup != d.dup || d2.size != d.size || d2.mtime_ns != d.mtime_ns ||
        strcmp(d2.pathid, d.pathid) || strcmp(d2.name, d.name) || strcmp(d2.hash, d.hash))
        fuzz_fail("a written line parses to other fields");
    uint32_t *f2 = dvc_jline_findings(out, n - 1);
    dvc_pixels *px2 = dvc_jline_pixels(out, n - 1);
    if (!same_findings(f, f2))
        fuzz_fail("a written line parses to other findings");
    if (!px != !px2 || (px && (px->ran != px2->ran || px->frames != px2->frames || px->boxes != px2->boxes ||
                               px->nested_kept != px2->nested_kept ||
                               px->burned_in_unredacted != px2->burned_in_unredacted ||
                               strcmp(px->transfer_syntax, px2->transfer_syntax))))
        fuzz_fail("a written line parses to another pixel entry");
    free(f);
    free(f2);
    free(px);
    free(px2);
}

static void check_mac(const dv_key *k, const char *line, size_t len)
{
    long body = dvc_jline_unseal(k, line, len);
    if (body >= 0 && ((size_t)body + 1 + DVC_JLINE_MAC_HEX != len || line[body] != ' '))
        fuzz_fail("unseal gave a body that is not the line before its MAC field");
    char buf[DVC_JLINE_SEALED_MAX];
    if (len >= DVC_JLINE_MAX)
        return;
    memcpy(buf, line, len);
    size_t n = dvc_jline_seal(k, buf, len, sizeof buf);
    if (n == 0)
        fuzz_fail("a line of the grammar's size could not be sealed");
    if (dvc_jline_unseal(k, buf, n - 1) != (long)len || memcmp(buf, line, len) != 0)
        fuzz_fail("a sealed line does not open to its body");
    buf[n - 2] = buf[n - 2] == '0' ? '1' : '0';
    if (dvc_jline_unseal(k, buf, n - 1) >= 0)
        fuzz_fail("a sealed line with its MAC changed was trusted");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static dv_key *k;
    if (!k) {
        static const unsigned char kb[32] = {1, 2, 3, 4, 5, 6, 7, 8};
        dv_error err;
        dv_error_clear(&err);
        if (!(k = dv_key_new(kb, sizeof kb, &err)))
            fuzz_fail("no key");
    }
    const char *p = (const char *)data, *end = p + size;
    for (int lines = 0; p < end && lines < 64; lines++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        check_line(p, len);
        check_mac(k, p, len);
        p += len + (nl != NULL);
    }
    return 0;
}
