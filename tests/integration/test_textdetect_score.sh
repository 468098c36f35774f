#!/bin/bash
# Scores of the text-region detector (issue 11 item 2a), and of REDACT_SENSITIVE_TEXT end to end, against floors near what it reaches, so that a
# change that loses text fails here. The full figures are `make bench` (bench/redact.sh, bench/RESULTS.md).
#   - a small synthetic set, generator seed 2 (held out until wp-pix-recall looked at its full set's misses;
#     the held-out figures are now seeds 5 and 6's, bench/redact.sh), built here;
#   - the real answer-keyed files of ../shared/data/dicom/jsl-burned-in (looked at while tuning) and
#     ../shared/data/dicom/presidio (not tuned on).
# Recall: a box counts when >= 95 % of its ink is covered; area: share of a frame without text covered.
set -u
: "${DV_BUILD_DIR:?DV_BUILD_DIR must name the build tree}"
SRCDIR="${DV_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
DATA="${DV_SHARED_DATA:-$SRCDIR/../shared/data}/dicom"
SCORER="$DV_BUILD_DIR/tests/score_textdetect"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

/usr/bin/python3 "$SRCDIR/tools/gen_burned_in.py" --seed 2 --set small --out "$T/gen" || fail "generator"
# floors: the figures of wp-pixall2 (seed 2 small 1.000 = 189/189, JSL 1.000 = 94/94) minus a margin of one box
# (188/189 = 0.9947, 93/94 = 0.9894): a change that loses two boxes of either set fails (wp-pixall's floors,
# 0.985, let seed 2 small lose three)
"$SCORER" --name generator-seed2-small --min-recall 0.994 --max-empty-area 0.01 "$T/gen" || fail "generator set below its floors"
"$SCORER" --name jsl-burned-in --min-recall 0.989 --max-empty-area 0.01 "$DATA/jsl-burned-in" || fail "jsl-burned-in below its floor"
"$SCORER" --name presidio --min-recall 0.99 --max-empty-area 0.01 "$DATA/presidio" || fail "presidio below its floors"
# REDACT_SENSITIVE_TEXT end to end (the pixel stage: detected boxes, OCR, the sensitive-box decision, painting):
# PHI boxes >= 95 % of their ink covered, non-PHI boxes intact (<= 5 % covered). Floors near what it reaches
# (wp-pixsens2: 0.989 / 0.936, i.e. 94/95 and 88/94; a margin of one box (PHI: 93/95 = 0.979 passes) and two
# (intact: 86/94 = 0.915 fails); wp-pixsens reached 0.979 / 0.947; issue 11 targets: 0.98 / 0.85;
# docs/pixels.md "REDACT_SENSITIVE_TEXT end to end").
"$SCORER" --mode sensitive --name sensitive-generator-seed2-small --min-phi-recall 0.975 --min-intact 0.92 \
    --max-empty-area 0.01 "$T/gen" || fail "REDACT_SENSITIVE_TEXT on the generator set below its floors"
"$SCORER" --mode sensitive --name sensitive-presidio --min-phi-recall 0.99 "$DATA/presidio" ||
    fail "REDACT_SENSITIVE_TEXT on presidio below its floor"
# JSL (real, looked at): 48/48 since wp-me8's year-first dates, AGE cue, weak KEEP and wrapped middle line
# (0.8125 before); 47/48 = 0.979 fails: the floor fails at the first PHI box lost
"$SCORER" --mode sensitive --name sensitive-jsl-burned-in --min-phi-recall 0.99 "$DATA/jsl-burned-in" ||
    fail "REDACT_SENSITIVE_TEXT on jsl-burned-in below its floor"
# the generator is deterministic: the same seed gives the same answer keys
/usr/bin/python3 "$SRCDIR/tools/gen_burned_in.py" --seed 2 --set small --limit 4 --out "$T/again" || fail "generator (again)"
[ "$(ls "$T"/again/*.json | wc -l)" -eq 4 ] || fail "generator --limit"
for k in "$T"/again/*.json "$T"/again/*.dcm; do
    cmp -s "$k" "$T/gen/$(basename "$k")" || fail "generator not deterministic: $(basename "$k")"
done
if [ "$fails" -ne 0 ]; then
    echo "test_textdetect_score: $fails check(s) failed" >&2
    exit 1
fi
echo "test_textdetect_score: PASS"
