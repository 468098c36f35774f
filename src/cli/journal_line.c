/* The --resume journal's D line, its one home: journal.c writes every line through dvc_jline_format_d and reads
 * every one back through dvc_jline_parse_d (and the findings / pixels fields through dvc_jline_findings /
 * dvc_jline_pixels); names are checked by dvc_jline_name_ok before anything uses them as a path below DST.
 * A journal is a file beside the report that anything could have damaged or edited, so every field is
 * bounded and a line that is not exactly what dvc_jline_format_d writes is no line at all (the input is
 * redone). Kept apart from the file handling so fuzz_journal_line can take the grammar alone.
 *
 *   D <index> <path id> <size> <mtime ns> <ok|duplicate> <name|-> <sha256|-> <findings|-> <pixels|->
 *   findings: t:c,t:c... (infoType number : count), pixels: ran:frames:boxes:nested:burned:transfer syntax
 *
 * Every C and D line then ends in " <mac>" (dvc_jline_seal): anyone who can write the file beside the report
 * could otherwise have a resume delete a foreign file in DST (a forged C line) or accept a swapped output (a
 * forged D hash), so a line is trusted only with the MAC of its body under the run's journal MAC key.
 *
 * [tests/fuzz/fuzz_journal_line.c, test_cli_resume.sh "pixels resumed", test_journal_line: test_mac] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "engine/dv_plan.h" /* dv_key_hmac: the key's pre-keyed HMAC-SHA256 */

/* The MAC of body[0, len) in hex (DVC_JLINE_MAC_HEX digits and a NUL); 0, or -1 (out of memory). */
static int line_mac(const dv_key *k, const char *body, size_t len, char out[DVC_JLINE_MAC_HEX + 1])
{
    unsigned char md[32];
    if (dv_key_hmac(k, body, len, md) != 0)
        return -1;
    for (int i = 0; i < DVC_JLINE_MAC_HEX / 2; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    OPENSSL_cleanse(md, sizeof md);
    return 0;
}

size_t dvc_jline_seal(const dv_key *mac_key, char *line, size_t len, size_t cap)
{
    char mac[DVC_JLINE_MAC_HEX + 1];
    if (len + 1 + DVC_JLINE_MAC_HEX + 2 > cap || line_mac(mac_key, line, len, mac) != 0)
        return 0;
    line[len] = ' ';
    memcpy(line + len + 1, mac, DVC_JLINE_MAC_HEX);
    len += 1 + DVC_JLINE_MAC_HEX;
    line[len++] = '\n';
    line[len] = '\0';
    return len;
}

long dvc_jline_unseal(const dv_key *mac_key, const char *line, size_t len)
{
    if (len < 1 + DVC_JLINE_MAC_HEX || len >= DVC_JLINE_SEALED_MAX)
        return -1;
    size_t body = len - 1 - DVC_JLINE_MAC_HEX;
    if (line[body] != ' ')
        return -1;
    char mac[DVC_JLINE_MAC_HEX + 1];
    if (line_mac(mac_key, line, body, mac) != 0)
        return -1;
    /* Constant time: the comparison must not tell a forger how many leading digits were right. Lowercase only,
     * as written, so one body has exactly one sealed form. */
    return CRYPTO_memcmp(mac, line + body + 1, DVC_JLINE_MAC_HEX) == 0 ? (long)body : -1;
}

int dvc_jline_name_ok(const char *s)
{
    int slashes = 0;
    size_t comp = 0;
    for (const char *c = s;; c++) {
        if (*c == '/' || *c == '\0') {
            if (comp == 0 || (comp == 1 && c[-1] == '.') || (comp == 2 && c[-1] == '.' && c[-2] == '.'))
                return 0;
            if (*c == '\0')
                break;
            slashes++;
            comp = 0;
            continue;
        }
        if (!dvc_component_char(*c))
            return 0;
        comp++;
    }
    return slashes == 2 && strlen(s) < DVC_JLINE_NAME_MAX;
}

size_t dvc_jline_format_d(char *line, size_t cap, const dvc_jline *d, const uint32_t *findings,
                          const dvc_pixels *px)
{
    int n = snprintf(line, cap, "D %zu %s %llu %lld %s %s %s ", d->index, d->pathid, d->size, d->mtime_ns,
                     d->dup ? "duplicate" : "ok", d->name, d->hash);
    int any = 0;
    for (int t = 0; findings && t < DV_RESULT_TEXT_TYPES && n > 0 && (size_t)n < cap; t++)
        if (findings[t]) {
            n += snprintf(line + n, cap - (size_t)n, "%s%d:%u", any ? "," : "", t, findings[t]);
            any = 1;
        }
    if (n > 0 && !any && (size_t)n + 1 < cap)
        line[n++] = '-';
    /* The report's pixel entry (counts and a transfer syntax UID: no PHI), so a resumed report has it too. */
    if (n > 0 && (size_t)n < cap)
        n += px ? snprintf(line + n, cap - (size_t)n, " %d:%u:%u:%u:%d:%s", px->ran ? 1 : 0, px->frames, px->boxes,
                           px->nested_kept, px->burned_in_unredacted ? 1 : 0, px->transfer_syntax)
                : snprintf(line + n, cap - (size_t)n, " -");
    if (n <= 0 || (size_t)n + 1 >= cap)
        return 0; /* cannot happen with DVC_JLINE_MAX; no line rather than a cut one */
    line[n++] = '\n';
    line[n] = '\0';
    return (size_t)n;
}

int dvc_jline_parse_d(const char *line, size_t len, dvc_jline *d)
{
    char status[16], findings[DVC_JLINE_MAX], pixels[128];
    unsigned long long idx;
    char buf[DVC_JLINE_MAX];
    if (len >= sizeof buf)
        return -1;
    memcpy(buf, line, len);
    buf[len] = '\0';
    int used = 0;
    memset(d, 0, sizeof *d);
    if (sscanf(buf, "D %llu %32s %llu %lld %15s %199s %64s %511s %127s%n", &idx, d->pathid, &d->size, &d->mtime_ns,
               status, d->name, d->hash, findings, pixels, &used) != 9 || (size_t)used != len)
        return -1;
    if (strcmp(status, "ok") == 0)
        d->dup = 0;
    else if (strcmp(status, "duplicate") == 0)
        d->dup = 1;
    else
        return -1;
    d->index = (size_t)idx;
    /* Canonical form only: sscanf also takes tabs for spaces, a sign or leading zeros in a number, a number
     * glued to the next field ("1f36..." read as index 1, path id "f36...") and fields it cannot read back
     * alike. The line must be byte for byte what dvc_jline_format_d writes for what was read, or it is no line
     * (the input is redone). [fuzz_journal_line: its first find, tests/fuzz/regressions/journal_line/] */
    uint32_t *f = dvc_jline_findings(line, len);
    dvc_pixels *px = dvc_jline_pixels(line, len);
    size_t n = dvc_jline_format_d(buf, sizeof buf, d, f, px);
    free(f);
    free(px);
    if (n != len + 1 || memcmp(buf, line, len) != 0)
        return -1;
    return 0;
}

/* Where the k-th field from the end of a D line starts (k = 0: the last), and its length. */
static const char *field_from_end(const char *line, size_t len, int k, size_t *flen)
{
    const char *end = line + len, *f = end;
    for (;;) {
        while (f > line && f[-1] != ' ')
            f--;
        if (k-- == 0 || f == line)
            break;
        end = --f;
    }
    *flen = (size_t)(end - f);
    return f;
}

dvc_pixels *dvc_jline_pixels(const char *line, size_t len)
{
    size_t n;
    const char *f = field_from_end(line, len, 0, &n);
    char buf[128];
    if (n == 0 || n >= sizeof buf || *f == '-')
        return NULL;
    memcpy(buf, f, n);
    buf[n] = '\0';
    dvc_pixels px = {0};
    int used = 0;
    if (sscanf(buf, "%d:%u:%u:%u:%d:%n", &px.ran, &px.frames, &px.boxes, &px.nested_kept, &px.burned_in_unredacted,
               &used) != 5 || used <= 0 || n - (size_t)used >= sizeof px.transfer_syntax)
        return NULL;
    memcpy(px.transfer_syntax, buf + used, n - (size_t)used + 1);
    px.ran = px.ran != 0;
    px.burned_in_unredacted = px.burned_in_unredacted != 0;
    dvc_pixels *p = malloc(sizeof *p);
    if (p)
        *p = px;
    return p;
}

uint32_t *dvc_jline_findings(const char *line, size_t len)
{
    size_t n;
    const char *f = field_from_end(line, len, 1, &n);
    char buf[DVC_JLINE_MAX];
    if (n == 0 || n >= sizeof buf || *f == '-')
        return NULL;
    memcpy(buf, f, n);
    buf[n] = '\0';
    uint32_t *v = calloc(DV_RESULT_TEXT_TYPES, sizeof *v);
    if (!v)
        return NULL;
    for (char *p = buf, *end; *p;) {
        if (*p < '0' || *p > '9')
            goto bad;
        unsigned long t = strtoul(p, &end, 10);
        if (*end != ':' || t >= DV_RESULT_TEXT_TYPES || end[1] < '0' || end[1] > '9')
            goto bad;
        unsigned long c = strtoul(end + 1, &end, 10);
        if (c > UINT32_MAX || (*end != ',' && *end != '\0'))
            goto bad;
        v[t] = (uint32_t)c;
        p = *end ? end + 1 : end;
    }
    return v;
bad:
    free(v);
    return NULL;
}
