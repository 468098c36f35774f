/* libFuzzer target: the look inside a kept private value that is a zlib or gzip stream or a ZIP archive
 * (src/engine/packed_values.c dv_packed_kind_of, dv_zip_holds_own; src/engine/opaque_ids.c dv_inflated_holds_own):
 * a vendor's compressed block, whose bytes are the file's, hostile.
 *
 * The input is the value. When it starts like a stream or an archive it is inflated (at most 1 MiB here: the
 * product's cap is 64 MiB, the loop is the same) and looked at for a few held values of every kind. Checks
 * (abort, so libFuzzer keeps the input):
 *   1. the answer is 0 or 1 (never an error: the only error is out of memory);
 *   2. a value that inflates to bytes holding one of the values as a word is found: the input's own inflation
 *      (zlib's uncompress into a bounded buffer) is compared with the answer when it fits. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "engine/opaque_ids.h"
#include "engine/packed_values.h"

#define CAP (1u << 20)

static void fuzz_fail(const char *what)
{
    fprintf(stderr, "fuzz_inflated: invariant violated: %s\n", what);
    abort();
}

static const char vals[3][DV_UID_MAX + 1] = {"SMITHSON", "4471902", "19610423"};
static const size_t lens[3] = {8, 7, 8};
static const unsigned char kinds[3] = {DV_OWN_WORD, DV_OWN_WORD, DV_OWN_DATE};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dv_packed_kind kind = dv_packed_kind_of(data, size);
    if (kind != DV_PACKED_STREAM && kind != DV_PACKED_ZIP)
        return 0;
    dv_own_scanner *sc = dv_own_scanner_new(vals, lens, kinds, 3);
    if (!sc)
        return 0;
    dv_error err;
    memset(&err, 0, sizeof err);
    int rc = kind == DV_PACKED_ZIP ? dv_zip_holds_own(sc, data, size, CAP, 0x0025101Bu, &err)
                                   : dv_inflated_holds_own(sc, data, size, CAP, 0x0025101Bu, &err);
    if (rc < 0 && err.code != DV_ERR_NOMEM)
        fuzz_fail("an error other than out of memory");
    if (rc > 1)
        fuzz_fail("an answer other than 0 or 1");
    /* zlib streams only (uncompress reads no gzip): one that inflates whole within CAP is inflated once more by
     * zlib itself; SMITHSON standing between spaces (or the ends) in it must have been found */
    uint8_t *out = malloc(CAP);
    uLongf n = CAP;
    if (out && kind == DV_PACKED_STREAM && data[0] != 0x1F && uncompress(out, &n, data, (uLong)size) == Z_OK) {
        int plain = 0;
        for (size_t i = 0; i + 8 <= n && !plain; i++)
            plain = memcmp(out + i, "SMITHSON", 8) == 0 && (i == 0 || out[i - 1] == ' ') &&
                    (i + 8 == n || out[i + 8] == ' ');
        if (plain && rc == 0)
            fuzz_fail("a stream inflating to a held word was not found");
    }
    free(out);
    dv_own_scanner_free(sc);
    return 0;
}
