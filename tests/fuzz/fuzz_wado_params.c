/* libFuzzer target: the WADO-RS parameter parsers (src/http/wado_params.c).
 *
 * The input is "<frame list>\n<query string>": the frame list goes to dvh_frame_list_parse, the query string
 * through dvh_query_split and the server's rule that a parameter is given once (dvh_query_once, src/http/
 * query_once.c) to dvh_render_opts_parse. Checks: a parsed list has 1..DVH_FRAME_LIST_MAX numbers,
 * each >= 1; parsed options respect their ranges (quality 1-100, viewport 1..DVH_VIEWPORT_MAX or none, a
 * window width >= 1 for linear and > 0 otherwise); errors are INVALID_ARGUMENT with a NUL-terminated
 * message. The whole input (up to a NUL) is also an Accept header for dvh_accept_weigh (src/http/accept.c), with
 * and without a transfer syntax to weigh (transfer-syntax=, PS3.18 8.7.3): every weight is 0..1000, the range it
 * names is one of the list's, and without any transfer-syntax= in the header a weighed syntax changes nothing
 * where no default applies. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/accept.h"
#include "http/wado_params.h"

static void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_wado_params: invariant violated: %s\n", what);
    abort();
}

static void check_err(const dvh_err *e)
{
    if (e->status != DVH_INVALID_ARGUMENT || memchr(e->message, '\0', sizeof e->message) == NULL)
        fuzz_fail("bad error");
}

/* 1 when a holds "transfer-syntax" in any case (the parser compares parameter names so). */
static int names_ts(const char *a)
{
    for (; *a; a++)
        if (strncasecmp(a, "transfer-syntax", 15) == 0)
            return 1;
    return 0;
}

static void check_accept(const uint8_t *data, size_t size)
{
    char *a = malloc(size + 1);
    if (a == NULL)
        return;
    memcpy(a, data, size);
    a[size] = '\0';
    size_t ranges = 1;
    for (const char *p = a; *p; p++)
        ranges += *p == ',';
    /* The answers the WADO-RS routes weigh: transfer-syntax= not weighed (JSON, PNG), and weighed with and
     * without a default (application/octet-stream frames and bulkdata; application/dicom and image/jpeg). */
    static const dvh_accept_want wants[] = {
        {"multipart/related", "application/dicom", NULL, NULL},
        {"image/png", NULL, NULL, NULL},
        {"application/dicom", NULL, NULL, NULL},
        {"multipart/related", "image/jpeg", NULL, NULL},
        {"multipart/related", "application/dicom", "1.2.840.10008.1.2.4.50", NULL},
        {"application/dicom", NULL, "1.2.840.10008.1.2.1", NULL},
        {"multipart/related", "application/octet-stream", "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.1"},
        {"multipart/related", "application/octet-stream", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1"},
        {"application/octet-stream", NULL, "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1"},
        {"multipart/related", "image/jpeg", "1.2.840.10008.1.2.4.50", NULL},
    };
    for (size_t i = 0; i < sizeof wants / sizeof wants[0]; i++) {
        int at = -2;
        int q = dvh_accept_weigh(a, &wants[i], &at);
        if (q < 0 || q > 1000 || at < -1 || (size_t)(at + 1) > ranges || (q > 0 && at < 0 && a[strspn(a, " \t")]))
            fuzz_fail("an Accept weight or range index out of bounds");
        /* where no range names a syntax and no default applies, weighing one changes nothing */
        if (wants[i].ts && wants[i].ts_default == NULL && !names_ts(a) &&
            q != dvh_accept_q(a, wants[i].media, wants[i].part_type, NULL))
            fuzz_fail("transfer-syntax weighing changed a weight no transfer-syntax= asked for");
    }
    free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_accept(data, size);
    const uint8_t *nl = memchr(data, '\n', size);
    size_t flen = nl ? (size_t)(nl - data) : size;
    char *list = malloc(flen + 1);
    size_t qlen = nl ? size - flen - 1 : 0;
    char *buf = malloc(qlen + 64);
    if (list == NULL || buf == NULL) {
        free(list);
        free(buf);
        return 0;
    }
    memcpy(list, data, flen);
    list[flen] = '\0';
    uint32_t frames[DVH_FRAME_LIST_MAX];
    size_t n = 0;
    dvh_err e;
    memset(&e, 0, sizeof e);
    if (dvh_frame_list_parse(list, frames, &n, &e) == 0) {
        if (n == 0 || n > DVH_FRAME_LIST_MAX)
            fuzz_fail("frame count out of range");
        for (size_t i = 0; i < n; i++)
            if (frames[i] == 0)
                fuzz_fail("frame 0 accepted");
    } else {
        check_err(&e);
    }
    if (nl) {
        dvh_qparam p[32];
        size_t np = 0;
        memset(&e, 0, sizeof e);
        int split = dvh_query_split((const char *)nl + 1, qlen, buf, qlen + 64, p, 32, &np, &e);
        if (split == 0 && dvh_query_once(p, np, &e) != 0) {
            check_err(&e); /* the server refuses a repeated name before this parser sees it (query_once.c) */
        } else if (split == 0) {
            dvh_render_opts o;
            memset(&e, 0, sizeof e);
            if (dvh_render_opts_parse(p, np, &o, &e) == 0) {
                if (o.quality < 1 || o.quality > 100)
                    fuzz_fail("quality out of range");
                if ((o.vw == 0) != (o.vh == 0) || o.vw > DVH_VIEWPORT_MAX || o.vh > DVH_VIEWPORT_MAX)
                    fuzz_fail("viewport out of range");
                if (o.has_window && (o.function == DV_VOI_LINEAR ? !(o.width >= 1) : !(o.width > 0)))
                    fuzz_fail("window width out of range");
            } else {
                check_err(&e);
            }
        }
    }
    free(list);
    free(buf);
    return 0;
}
