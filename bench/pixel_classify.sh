#!/bin/bash
# Burned-in text: recognition + the sensitive-box decision on rendered overlay lines (issue 11 item 3;
# docs/pixels.md "Sensitive text"). The fuller run of the ctest ocr.score_pixel_classify: BENCH_OCR_N lines
# (default 1000) for two seeds, with the instance's own values (deny-list) and without. Prints PHI recall,
# non-PHI boxes intact and CPU ms per box; exits non-zero when a floor (recall 0.98, intact 0.85) is missed
# with the deny-list (without it the figure is informative only).
#
# Env: BENCH_OCR_N (1000), DV_BUILD_DIR (default build).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${DV_BUILD_DIR:-$REPO/build}
N=${BENCH_OCR_N:-1000}
SCORE=$BUILD/tests/score_pixel_classify
[ -x "$SCORE" ] || { echo "pixel_classify.sh: build first (make build)" >&2; exit 2; }
rc=0
for seed in 101 202; do
  "$SCORE" --count "$N" --seed "$seed" || rc=1
  "$SCORE" --count "$N" --seed "$seed" --no-denylist --min-recall 0 --min-intact 0
done
exit $rc
