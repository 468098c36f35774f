#!/usr/bin/env bash
# dicomveil deidentify --pixel-frame-ms MS: the pixel stage's time bound per frame (issue 11 item 2c) is a
# documented option. A frame over it fails its instance with error class limit and nothing is written (fail
# closed); the default (30000 ms) and a generous bound let the same instance through; bad values are usage
# errors (exit 2). [docs/pixels.md "Limits", dv_run.h dv_run_set_pixel_frame_ms]
set -euo pipefail

# shellcheck source=tests/integration/cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"

IN="$DATA/presidio/2_ORIGINAL.dcm" # a 2140x1760 CR with burned-in text: ~140 ms of detection
# A frame over its bound is a failure whose message is built from timings: none of the instance's PHI may reach
# stdout, stderr (run: MUST_NOT_PRINT) or the report's error (no_phi below); the report names sources by path.
MUST_NOT_PRINT=("KAUFMAN" "6774825273" "20130912E801911" "19430722" "BAILEY" "Scott Kaufman"
    "64623095620594107951357986539673599478")
no_phi() {
    local v
    for v in "${MUST_NOT_PRINT[@]}"; do
        if json "$1" 'd["instances"][0].get("error") or ""' | grep -qF -- "$v"; then fail "$2: the error names PHI"; fi
    done
}
head -c 32 /dev/urandom >"$T/key" && chmod 600 "$T/key"
echo '{"dicomTagConfig":{"options":{"cleanImage":{"textRedactionMode":"REDACT_ALL_TEXT"}}}}' >"$T/all.json"

# 1 ms: the frame cannot be done in time -> the instance fails (limit), no output file
run 1 "1 ms bound" deidentify -q -c "$T/all.json" -k "$T/key" -r "$T/r1.json" --pixel-frame-ms 1 "$IN" "$T/o1"
if [ "$RUN_OK" = 1 ]; then
    [ "$(json "$T/r1.json" 'd["instances"][0]["error_class"]')" = limit ] || fail "1 ms: error class is not limit"
    json "$T/r1.json" 'd["instances"][0]["error"]' | grep '^pixels: ' >/dev/null || fail "1 ms: not a pixel stage error"
    [ -z "$(find "$T/o1" -type f 2>/dev/null)" ] || fail "1 ms: an output was written"
    no_phi "$T/r1.json" "1 ms"
fi
# the default and a generous explicit bound: written, boxes redacted
run 0 "default bound" deidentify -q -c "$T/all.json" -k "$T/key" -r "$T/r2.json" "$IN" "$T/o2"
[ "$(find "$T/o2" -type f | wc -l)" -eq 1 ] || fail "default: no output"
run 0 "600000 ms bound" deidentify -q -c "$T/all.json" -k "$T/key" -r "$T/r3.json" --pixel-frame-ms 600000 "$IN" "$T/o3"
[ "$(json "$T/r3.json" 'd["instances"][0]["pixels"]["boxes_redacted"] > 0')" = True ] || fail "600000 ms: no boxes"
# The bound starts before the frame's decode and is checked between its stages (stop 40 finding 4): a frame
# whose decode alone overruns fails right after it, and the detector is never started on it. A deflated
# 2048x2048 frame of zeros (8 KB on disk, 8 MiB decoded) cannot be inflated within 1 ms. Before, the
# detector still ran with a fresh full bound ("text detection exceeded its 1 ms budget").
python3 "$SRCDIR/tests/integration/gen_dfr_frame.py" 2048 2048 "$T/dfr.dcm"
run 1 "decode over the bound" deidentify -q -c "$T/all.json" -k "$T/key" -r "$T/r4.json" --pixel-frame-ms 1 \
    "$T/dfr.dcm" "$T/o4"
if [ "$RUN_OK" = 1 ]; then
    [ "$(json "$T/r4.json" 'd["instances"][0]["error_class"]')" = limit ] || fail "decode: error class is not limit"
    json "$T/r4.json" 'd["instances"][0]["error"]' | grep 'bound after decoding$' >/dev/null ||
        fail "decode: the frame did not fail right after its decode"
    [ -z "$(find "$T/o4" -type f 2>/dev/null)" ] || fail "decode: an output was written"
fi
# bad values: usage errors, nothing created
for bad in 0 -5 abc 12x 1M 3600001; do
    run 2 "--pixel-frame-ms $bad" deidentify -q -c "$T/all.json" -k "$T/key" --pixel-frame-ms "$bad" "$IN" "$T/bad"
    [ ! -e "$T/bad" ] || fail "--pixel-frame-ms $bad: created the destination"
done
finish test_cli_pixel_frame_ms
