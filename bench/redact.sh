#!/bin/bash
# Text-region detection benchmark (issue 11 item 2a; figures in bench/RESULTS.md).
#
#   bench/redact.sh [--keep]
#
# Builds the answer-keyed sets with tools/gen_burned_in.py into build/bench/redact/ (seed 1: the seed the
# detector and the sensitive decision were tuned on; seed 2: held out until wp-pix-recall looked at its
# misses; seed 3: held out until wp-pixall scored it (the detector's misses never looked at; its small
# set's sensitive misses looked at by wp-pixsens); seed 4: held out until wp-pixall2 looked at the
# detector's misses and wp-pixsens2 at its sensitive misses; seeds 5 and 6: generated after both
# packages' last change, held out until wp-sens3 looked at seed 6's sensitive misses (seed 5 still held
# out: scored, never looked at, until 2026-12-03); seeds 7 and 8: generated after wp-sens3's last change, held
# out — never looked at or tuned on (seed 7 until 2026-12-03) —, scored for REDACT_SENSITIVE_TEXT twice: with
# the generator's fixed header
# (`--metadata fixed`, the OCR and detectors alone) and with the header values the burned-in PHI shows
# (`--metadata consistent`, the instance's own values as a scanner writes them). On 2026-12-03 the levelled
# reading's change for seed 6 lost boxes on seeds 5 and 7, which were looked at to correct it (one MR each of
# seed 5's and two of seed 7's); seed 8 stays held out. Plus a 100-frame 640x480 cine and
# four 1024x1024 frames of seeds 3 and 4) and
# scores build/tests/score_textdetect on each, then on the real answer-keyed files of
# ../shared/data/dicom/jsl-burned-in (looked at while tuning) and ../shared/data/dicom/presidio (not).
# Printed per set: recall (a box counts when >= 95 % of its ink is covered; PHI boxes apart), the share of
# the area covered on frames without text, CPU ms per frame of gray8 + detection (this thread), ms per
# megapixel, and per multi-frame file; peak RSS of the scorer (GNU time). TARGET lines compare with issue 11:
# recall >= 0.99 with <= 1 % of the area covered on frames without text, <= 150 ms per 1024x1024 frame, a
# 100-frame 640x480 cine in <= 2 s; for REDACT_SENSITIVE_TEXT the TARGET lines print the whole stage's CPU per
# 1024x1024 frame and per 100-frame cine with PASS/FAIL. Not a test: it exits non-zero only on errors.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
SCORER=${DV_SCORER:-$REPO/build/tests/score_textdetect}
SHARED=${DV_SHARED_DATA:-$REPO/../shared/data}
PY=/usr/bin/python3
OUT=$REPO/build/bench/redact
KEEP=0
[ "${1:-}" = "--keep" ] && KEEP=1
[ -x "$SCORER" ] || { echo "redact.sh: build first (make build): no $SCORER" >&2; exit 1; }
mkdir -p "$OUT"
gen() { # seed set dir [--metadata M]
  [ -f "$OUT/$3/.done" ] && return 0
  rm -rf "${OUT:?}/$3"
  $PY "$REPO/tools/gen_burned_in.py" --seed "$1" --set "$2" --out "$OUT/$3" "${@:4}"
  touch "$OUT/$3/.done"
}
echo "== generating (cached in $OUT)"
gen 1 full seed1-tuned
gen 2 full seed2-looked-at
gen 3 full seed3-scored
gen 4 full seed4-looked-at
gen 5 full seed5-heldout
gen 6 full seed6-looked-at
gen 7 full seed7-heldout
gen 7 full seed7-heldout-meta --metadata consistent
gen 8 full seed8-heldout
gen 8 full seed8-heldout-meta --metadata consistent
gen 3 cine cine100
gen 4 cine cine100-seed4
gen 3 big big1024
gen 4 big big1024-seed4
score() { # name [options] dir...
  local name=$1; shift
  echo
  /usr/bin/time -f "  peak RSS %M KB" "$SCORER" --name "$name" "$@" 2>&1 | grep -v '^  file .*: 1 frames'
}
score "generator seed 1 (tuned on)" "$OUT/seed1-tuned"
score "generator seed 2 (looked at)" "$OUT/seed2-looked-at"
score "generator seed 3 (scored, misses not looked at)" "$OUT/seed3-scored"
score "generator seed 4 (looked at)" "$OUT/seed4-looked-at"
score "generator seed 5 (held out; sensitive misses looked at 2026-12-03)" "$OUT/seed5-heldout"
score "generator seed 6 (looked at)" "$OUT/seed6-looked-at"
score "jsl-burned-in (real; looked at while tuning)" "$SHARED/dicom/jsl-burned-in"
score "presidio (real; held out)" "$SHARED/dicom/presidio"
score "100-frame 640x480 cine (seed 3)" "$OUT/cine100"
score "100-frame 640x480 cine (seed 4)" "$OUT/cine100-seed4"
score "1024x1024 frames (seed 3)" --verbose "$OUT/big1024" | grep -v '^  miss'
score "1024x1024 frames (seed 4)" --verbose "$OUT/big1024-seed4" | grep -v '^  miss'
# REDACT_SENSITIVE_TEXT end to end: the pixel stage over each instance (detected boxes, OCR, decision, paint);
# PHI recall on the boxes painted, non-PHI boxes intact (<= 5 % of their ink covered), CPU per frame.
score "SENSITIVE generator seed 1 (tuned on)" --mode sensitive "$OUT/seed1-tuned"
score "SENSITIVE generator seed 2 (looked at)" --mode sensitive "$OUT/seed2-looked-at"
score "SENSITIVE generator seed 3 (small set looked at)" --mode sensitive "$OUT/seed3-scored"
score "SENSITIVE generator seed 4 (looked at)" --mode sensitive "$OUT/seed4-looked-at"
score "SENSITIVE generator seed 5 (sensitive misses looked at 2026-12-03)" --mode sensitive "$OUT/seed5-heldout"
score "SENSITIVE generator seed 6 (looked at)" --mode sensitive "$OUT/seed6-looked-at"
score "SENSITIVE generator seed 7 (fixed header; misses looked at 2026-12-03)" --mode sensitive "$OUT/seed7-heldout"
score "SENSITIVE generator seed 7 (header = burned-in values; misses looked at 2026-12-03)" --mode sensitive "$OUT/seed7-heldout-meta"
score "SENSITIVE generator seed 8 (held out; fixed header)" --mode sensitive "$OUT/seed8-heldout"
score "SENSITIVE generator seed 8 (held out; header = burned-in values)" --mode sensitive "$OUT/seed8-heldout-meta"
score "SENSITIVE jsl-burned-in (real)" --mode sensitive "$SHARED/dicom/jsl-burned-in"
score "SENSITIVE presidio (real)" --mode sensitive "$SHARED/dicom/presidio"
# The sensitive stage's time against issue 11's targets (bench/RESULTS.md "Sensitive stage time"): CPU of the
# whole stage per frame (decode, detection, OCR, decision, paint), the OCR model's load (once per worker, on
# its first instance) printed apart; a cine's unchanged boxes are read once (the per-instance memo).
# Each timed set runs TIMED_RUNS times (default 3; CPU time on this VM moves by up to a third from one run to
# the next with nothing else running: the seed-4 cine took 1.62-2.20 s over 12 runs of two builds,
# bench/RESULTS.md): the first run's output is shown, every run's figure is listed, the verdict is the median's.
TIMED_RUNS=${TIMED_RUNS:-3}
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
timed() { # name target-kind dir...
  local name=$1 kind=$2; shift 2
  local out load means="" maxes="" cines="" i
  for i in $(seq "$TIMED_RUNS"); do
    out=$(score "$name" --mode sensitive "$@")
    [ "$i" = 1 ] && echo "$out" && load=$(echo "$out" | sed -n 's/.*model load \([0-9.]*\) ms.*/\1/p')
    means="$means $(echo "$out" | sed -n 's/.*CPU (whole stage[^)]*): \([0-9.]*\) ms per frame mean, \([0-9.]*\) max.*/\1/p')"
    maxes="$maxes $(echo "$out" | sed -n 's/.*CPU (whole stage[^)]*): \([0-9.]*\) ms per frame mean, \([0-9.]*\) max.*/\2/p')"
    cines="$cines $(echo "$out" | sed -n 's/.*: 100 frames, whole stage \([0-9.]*\) ms CPU.*/\1/p')"
  done
  local mean max cine
  mean=$(echo "$means" | median) max=$(echo "$maxes" | median)
  if [ "$kind" = big ]; then
    # issue 11: <= 150 ms for every 1024x1024 frame, not only on average: the max frame has its own line
    echo "  runs: mean per frame$means ms; slowest frame$maxes ms (medians below)"
    awk -v m="$mean" -v l="$load" -v n="$name" 'BEGIN { printf "TARGET %s: %.1f ms per 1024x1024 frame, mean (<= 150): %s; model load %.1f ms once per worker, apart\n", n, m, m <= 150 ? "PASS" : "FAIL", l }'
    awk -v x="$max" -v n="$name" 'BEGIN { printf "TARGET %s: %.1f ms for the slowest 1024x1024 frame (every frame <= 150): %s\n", n, x, x <= 150 ? "PASS" : "FAIL" }'
  else
    cine=$(echo "$cines" | median)
    echo "  runs: whole cine$cines ms CPU (median below)"
    awk -v c="$cine" -v l="$load" -v n="$name" 'BEGIN { printf "TARGET %s: %.2f s per 100-frame 640x480 cine (<= 2 s): %s; with the model load (%.1f ms, once per worker) %.2f s: %s\n", n, c / 1000, c <= 2000 ? "PASS" : "FAIL", l, (c + l) / 1000, c + l <= 2000 ? "PASS" : "FAIL" }'
  fi
}
echo
timed "SENSITIVE 1024x1024 frames (seed 3)" big "$OUT/big1024"
timed "SENSITIVE 1024x1024 frames (seed 4)" big "$OUT/big1024-seed4"
timed "SENSITIVE 100-frame 640x480 cine (seed 3)" cine "$OUT/cine100"
timed "SENSITIVE 100-frame 640x480 cine (seed 4)" cine "$OUT/cine100-seed4"
echo
echo "TARGETS (issue 11): recall >= 0.99 with <= 1 % of the area covered on frames without text;"
echo "  <= 150 ms per 1024x1024 frame; 100-frame 640x480 cine <= 2 s (REDACT_SENSITIVE_TEXT: the TARGET lines"
echo "  above); REDACT_SENSITIVE_TEXT PHI recall >= 0.98 with >= 0.85 of non-PHI boxes intact (compare the figures"
echo "  above)."
[ "$KEEP" = 1 ] || rm -rf "$OUT"
