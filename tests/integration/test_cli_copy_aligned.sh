#!/usr/bin/env bash
# The pixel data's kernel copy starts on an output page boundary (src/cli/file_io.c sink_copy_from; bench/RESULTS.md
# "Per-core rates on a fresh file system per run"): the header changes length, so the pixel data lands at another
# offset modulo 4096 than in the source; the bytes up to the next boundary go through the buffer and every
# copy_file_range then starts at a multiple of 4096 of the output, which fills each destination page in one
# piece. The output bytes do not change (the byte-for-byte tests elsewhere; here: the same key gives the same
# files with and without the probe). The probe is an LD_PRELOAD shim, built here, that logs where each
# copy_file_range of the binary starts in its output.
set -euo pipefail

# shellcheck source=tests/integration/cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"
command -v cc >/dev/null || { echo "FAIL: a C compiler is required (build-essential)" >&2; exit 1; }

cat >"$T/shim.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
ssize_t copy_file_range(int in, loff_t *in_off, int out, loff_t *out_off, size_t len, unsigned flags)
{
    ssize_t (*real)(int, loff_t *, int, loff_t *, size_t, unsigned) =
        (ssize_t(*)(int, loff_t *, int, loff_t *, size_t, unsigned))dlsym(RTLD_NEXT, "copy_file_range");
    long long at = out_off ? (long long)*out_off : (long long)lseek(out, 0, SEEK_CUR);
    int fd = open(getenv("COPY_LOG"), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
        dprintf(fd, "%lld %zu\n", at, len);
        close(fd);
    }
    return real(in, in_off, out, out_off, len, flags);
}
C
cc -shared -fPIC -O1 -o "$T/shim.so" "$T/shim.c" -ldl

# Two CT-like instances (512x512x16-bit: 512 KiB of pixel data each, copied by the kernel) and a real one.
/usr/bin/python3 "$SRCDIR/bench/gen_ct_corpus.py" "$T/src" -n 2 >/dev/null
cp "$DATA/pydicom/CT_small.dcm" "$T/src/"
head -c 32 /dev/urandom >"$T/key" && chmod 600 "$T/key"
echo '{}' >"$T/cfg.json"

# The sanitizer build's runtime must come first in the link order; the shim is preloaded before it.
COPY_LOG="$T/copies" ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" LD_PRELOAD="$T/shim.so" \
    "$DV_BIN" deidentify -q --jobs 1 -c "$T/cfg.json" -k "$T/key" "$T/src" "$T/out_probe" || fail "the probed run failed"
"$DV_BIN" deidentify -q --jobs 1 -c "$T/cfg.json" -k "$T/key" "$T/src" "$T/out" || fail "the plain run failed"

n=$(wc -l <"$T/copies" 2>/dev/null || echo 0)
[ "$n" -ge 2 ] && echo "ok: $n kernel copies seen" || fail "expected >= 2 copy_file_range calls, saw $n"
odd=$(awk '$1 % 4096 != 0' "$T/copies" 2>/dev/null | wc -l)
[ "$odd" = 0 ] && echo "ok: every kernel copy starts on an output page boundary" \
    || fail "$odd copy_file_range calls start off a page boundary: $(head -n 3 "$T/copies" | tr '\n' ' ')"
# the source offsets differ from the output's modulo 4096 (else this test would prove nothing)
src_mod=$(/usr/bin/python3 - "$T/src" <<'PY'
import os, sys
d = sys.argv[1]
f = sorted(x for x in os.listdir(d) if x.startswith("ct_"))[0]
b = open(os.path.join(d, f), "rb").read()
print(b.rfind(b"\xe0\x7f\x10\x00") % 4096)
PY
)
[ "$src_mod" != 0 ] && echo "ok: the source's pixel data is not page-aligned ($src_mod)" || fail "the source is aligned"
if diff -r "$T/out" "$T/out_probe" >/dev/null; then echo "ok: same bytes with and without the probe"
else fail "the probed run wrote other bytes"; fi
[ "$(find "$T/out" -name '*.dcm' | wc -l)" = 3 ] && echo "ok: 3 outputs" || fail "expected 3 outputs"
finish test_cli_copy_aligned
