#!/usr/bin/env bash
# Heavy libraries are loaded only by the commands that use them (docs/decisions.md "Heavy libraries loaded on
# demand"; issue 8, bench/RESULTS.md "Start-up"). What the dynamic loader maps is read with LD_DEBUG=files:
#   - a metadata-only deidentify (of a JPEG-LS file too), inspect and --help map none of Tesseract/Leptonica/
#     libgomp, CharLS/the C++ runtime, Open MPI, libpq, libmicrohttpd/GnuTLS, SQLite;
#   - a deidentify whose image config needs OCR maps Tesseract (and writes its output as before); "JPEG-LS":
#     rendering a JPEG-LS frame maps CharLS (and writes the PNG);
#   - "serve": serve maps libmicrohttpd, GnuTLS, SQLite and libpq (its server module) and answers a request;
#     "server module missing": with DV_MODULE_DIR at an empty folder, serve exits 1 naming the module;
#   - "ocr library missing": with the OCR engine unloadable (DV_OCR_LIBRARY naming a missing file) that
#     deidentify fails closed exactly as without a model: the instance fails `unsupported` with an OCR message
#     naming the library, nothing is written, exit 1.
# That --mpi loads Open MPI and works is test_cli_mpi.sh's (it runs it under mpirun).
set -euo pipefail

# shellcheck source=tests/integration/cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"

HEAVY='libtesseract|liblept|libgomp|libcharls|libmpi|libopen-pal|libpq|libmicrohttpd|libgnutls|libsqlite3|libcurl|libarchive|libicu'
# The C++ runtime comes with CharLS and Tesseract; under ASan the sanitizer runtime (libasan) needs it itself.
ldd "$DV_BIN" >"$T/ldd"
grep -q 'libasan' "$T/ldd" || HEAVY="$HEAVY|libstdc\+\+"
head -c 32 /dev/urandom >"$T/key" && chmod 600 "$T/key"
echo '{}' >"$T/meta.json"
echo '{"dicomTagConfig":{"options":{"cleanImage":{"textRedactionMode":"REDACT_SENSITIVE_TEXT"}}}}' >"$T/ocr.json"
mkdir "$T/in"
cp "$DATA/pydicom/CT_small.dcm" "$T/in/"

# maps NAME EXPECTED_RC ARGS...: run $DV_BIN ARGS under LD_DEBUG=files; the SONAMEs it mapped go to $T/maps.
maps() {
    local name=$1 want=$2
    shift 2
    rm -f "$T"/ld.*
    local rc=0
    LD_DEBUG=files LD_DEBUG_OUTPUT="$T/ld" "$DV_BIN" "$@" >"$T/out" 2>"$T/err" || rc=$?
    [ "$rc" = "$want" ] || fail "$name: exit $rc, expected $want: $(head -c 400 "$T/err")"
    cat "$T"/ld.* 2>/dev/null | sed -nE 's/.*file=([^ ]+) \[[0-9]+\];  generating link map.*/\1/p' | sort -u >"$T/maps"
    [ -s "$T/maps" ] || fail "$name: LD_DEBUG=files reported no library at all"
}
none_heavy() {
    local bad
    bad=$(grep -E "$HEAVY" "$T/maps" | tr '\n' ' ' || true)
    [ -z "$bad" ] || fail "$1 loaded $bad"
}

# ---- nothing heavy where nothing needs it ----
maps "metadata-only deidentify" 0 deidentify -q -j 1 -c "$T/meta.json" -k "$T/key" "$T/in" "$T/out1"
none_heavy "a metadata-only deidentify"
[ "$(find "$T/out1" -name '*.dcm' | wc -l)" = 1 ] || fail "the metadata-only deidentify wrote no output"
maps "inspect" 0 inspect -c "$T/meta.json" "$T/in"
none_heavy "inspect"
maps "--help" 0 --help
none_heavy "--help"
JLS="$DATA/pydicom-data/emri_small_jpeg_ls_lossless.dcm"
maps "metadata-only deidentify of JPEG-LS" 0 deidentify -q -j 1 -c "$T/meta.json" -k "$T/key" "$JLS" "$T/out4"
none_heavy "a metadata-only deidentify of a JPEG-LS file"

# ---- JPEG-LS maps CharLS, on first use ----
maps "render JPEG-LS" 0 render "$JLS" "$T/jls.png"
grep -q '^libcharls\.so' "$T/maps" || fail "rendering a JPEG-LS frame did not load CharLS"
[ "$(head -c 4 "$T/jls.png" | od -An -tx1 | tr -d ' ')" = 89504e47 ] || fail "render JPEG-LS wrote no PNG"

# ---- OCR maps Tesseract, on first use ----
maps "ocr deidentify" 0 deidentify -q -j 1 -c "$T/ocr.json" -k "$T/key" "$T/in" "$T/out2"
grep -q '^libtesseract\.so' "$T/maps" || fail "a deidentify with REDACT_SENSITIVE_TEXT did not load Tesseract"
grep -qE 'libmpi|libmicrohttpd|libpq' "$T/maps" && fail "the OCR deidentify loaded a server or MPI library"
[ "$(find "$T/out2" -name '*.dcm' | wc -l)" = 1 ] || fail "the OCR deidentify wrote no output"

# ---- ocr library missing: fails closed as without a model ----
rc=0
DV_OCR_LIBRARY="$T/no-such-libtesseract.so" "$DV_BIN" deidentify -q -j 1 -c "$T/ocr.json" -k "$T/key" \
    -r "$T/rep.json" "$T/in" "$T/out3" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 1 ] || fail "ocr library missing: exit $rc, expected 1: $(head -c 400 "$T/err")"
st=$(json "$T/rep.json" 'd["instances"][0]["status"] + " " + str(d["instances"][0]["error_class"])') || st=""
[ "$st" = "failed unsupported" ] || fail "ocr library missing: the instance is '$st', expected failed unsupported"
msg=$(json "$T/rep.json" 'd["instances"][0]["error"]') || msg=""
grep -q "OCR engine unavailable" <<<"$msg" || fail "ocr library missing: the error is '$msg'"
grep -q "DV_OCR_LIBRARY" <<<"$msg" || fail "ocr library missing: the error does not name what was loaded: '$msg'"
[ -z "$(find "$T/out3" -type f 2>/dev/null)" ] || fail "ocr library missing: an output was written"

# ---- serve maps the server module's libraries, and answers ----
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
rm -f "$T"/ld.*
LD_DEBUG=files LD_DEBUG_OUTPUT="$T/ld" "$DV_BIN" serve --quiet --data "$T/data" --listen "127.0.0.1:$port" \
    2>"$T/serve.err" &
pid=$!
code=000
for _ in $(seq 1 300); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v1beta1/projects/p/locations/l/datasets" \
        2>/dev/null || true)
    [ "$code" = 200 ] && break
    sleep 0.1
done
[ "$code" = 200 ] || fail "serve: GET datasets answered $code: $(head -c 400 "$T/serve.err")"
kill -TERM "$pid"
wait "$pid" || fail "serve did not stop cleanly on SIGTERM"
cat "$T"/ld.* 2>/dev/null | sed -nE 's/.*file=([^ ]+) \[[0-9]+\];  generating link map.*/\1/p' | sort -u >"$T/maps"
for lib in libmicrohttpd libgnutls libsqlite3 libpq; do
    grep -q "^$lib\.so" "$T/maps" || fail "serve did not load $lib"
done
grep -qE 'libmpi|libtesseract' "$T/maps" && fail "serve loaded Open MPI or Tesseract at start"

# ---- server module missing: a clear error, exit 1 ----
mkdir "$T/nomodules"
rc=0
DV_MODULE_DIR="$T/nomodules" timeout 60 "$DV_BIN" serve --quiet --data "$T/data2" --listen 127.0.0.1:0 >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" = 1 ] || fail "server module missing: exit $rc, expected 1"
grep -q "server.so" "$T/err" || fail "server module missing: the message does not name the module: $(cat "$T/err")"
[ -e "$T/data2" ] && fail "server module missing: serve created its data directory anyway"

finish test_cli_lazy_libs
