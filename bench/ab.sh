#!/bin/bash
# A/B throughput check: this tree's dicomveil against the binary of a reference commit, on the same generated
# CT-like corpus, runs interleaved (A B A B ...) so machine load hits both alike. Prints each side's median
# wall time, instances/s and the ratio new/ref. Not a test: it exits non-zero only on errors.
#
#   bench/ab.sh [REF_COMMIT]      (default: the commit bench/RESULTS.md's last record names, b2c4df9)
#
# Env: DV_BIN (default build/dicomveil), BENCH_N (instances, default 400), RUNS (pairs, default 7),
#      JOBS (--jobs for both, default $(nproc)).
# The reference is built once into build/bench/ref-<commit>/ from `git worktree add --detach` (removed after).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
REF=${1:-b2c4df9}
BIN=${DV_BIN:-$REPO/build/dicomveil}
N=${BENCH_N:-400}
RUNS=${RUNS:-7}
JOBS=${JOBS:-$(nproc)}
PY=/usr/bin/python3
[ -x "$BIN" ] || { echo "dicomveil binary not found: $BIN (make build)" >&2; exit 2; }

CACHE=$REPO/build/bench/cache
mkdir -p "$CACHE"
REF_SHA=$(git -C "$REPO" rev-parse --short "$REF")
REF_DIR=$REPO/build/bench/ref-$REF_SHA
if [ ! -x "$REF_DIR/build/dicomveil" ]; then
  rm -rf "$REF_DIR"
  git -C "$REPO" worktree add -q --detach "$REF_DIR/src" "$REF_SHA"
  cmake -S "$REF_DIR/src" -B "$REF_DIR/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDV_TESTS=OFF >/dev/null
  cmake --build "$REF_DIR/build" -j"$JOBS" --target dicomveil_cli >/dev/null
  git -C "$REPO" worktree remove --force "$REF_DIR/src"
fi
REF_BIN=$REF_DIR/build/dicomveil

CORPUS=$CACHE/ct_n${N}_seed1
[ -d "$CORPUS" ] || $PY "$REPO/bench/gen_ct_corpus.py" "$CORPUS" -n "$N" >/dev/null
W=$(mktemp -d "$REPO/build/bench/ab.XXXXXX")
trap 'rm -rf "$W"' EXIT
head -c 32 /dev/urandom > "$W/key"
echo '{}' > "$W/config.json"
cp -r "$CORPUS" "$W/warm" && rm -rf "$W/warm" # warm the page cache

one() { # BIN -> seconds
  local out=$W/out.$RANDOM
  local t0 t1
  t0=$(date +%s.%N)
  "$1" deidentify -q --config "$W/config.json" --key-file "$W/key" --jobs "$JOBS" "$CORPUS" "$out" >/dev/null 2>&1
  t1=$(date +%s.%N)
  rm -rf "$out"
  echo "$t1 - $t0" | bc -l
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

one "$REF_BIN" >/dev/null; one "$BIN" >/dev/null # warm-up pair
: > "$W/ref.t"; : > "$W/new.t"
for ((i = 0; i < RUNS; i++)); do
  one "$REF_BIN" >> "$W/ref.t"
  one "$BIN" >> "$W/new.t"
done
ref=$(median < "$W/ref.t"); new=$(median < "$W/new.t")
echo "== A/B on $N CT-like instances, --jobs $JOBS, $RUNS interleaved pairs, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '   ref %s  median %.3f s  %.0f instances/s\n' "$REF_SHA" "$ref" "$(echo "$N / $ref" | bc -l)"
printf '   new %s  median %.3f s  %.0f instances/s\n' "$(git -C "$REPO" rev-parse --short HEAD)" "$new" "$(echo "$N / $new" | bc -l)"
printf '   throughput new/ref: %.3f (>= 0.95: no loss beyond 5%%)\n' "$(echo "$ref / $new" | bc -l)"
