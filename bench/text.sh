#!/bin/bash
# Text stage benchmark (issue 6 acceptance): cost of DEIDENTIFY_TAG_CONTENTS and of Basic + cleanDescriptors
# against the Basic profile alone, and memory per worker with the dictionaries loaded.
#
#   bench/text.sh [--quick] [--no-callgrind]
#
# Corpora: (1) the generated CT corpus of bench/gen_ct_corpus.py (BENCH_N instances, cached in
# build/bench/cache/), (2) ../shared/data/dicom (without the one pathologically nested file bench/run.sh also
# leaves out), (3) BENCH_N instances with realistic free text from bench/gen_text_corpus.py (descriptions,
# comments, histories, SR TextValue paragraphs: the text stage's worst case).
# Configs: basic = {} (the Basic profile), dtc = DEIDENTIFY_TAG_CONTENTS, basic_cd = Basic + cleanDescriptors.
#
# Two measures of time, because the machine may be shared:
#   - wall clock: `deidentify --jobs 1` and `--jobs $(nproc)`, RUNS repetitions interleaved (basic, dtc,
#     basic_cd, basic, ...) so load hits every config alike; the MINIMUM of the repetitions is kept;
#   - instructions (valgrind --tool=callgrind, --jobs 1, unless --no-callgrind or no valgrind): the total Ir
#     of the run minus the Ir of the same command over an empty folder (start-up, config, key), divided by the
#     instances: per-instance instruction counts are independent of load. Pixel data copied by the kernel
#     (copy_file_range) costs no instructions, so these ratios are the CPU-side worst case.
# Memory: GNU time's peak RSS of dtc over the text corpus with --jobs 1, 2 and 8 (threads: one process). The
# lexicon tables are read-only data of the binary, shared by every worker; per-worker growth is
# (RSS(8) - RSS(1)) / 7. Not a test: exits non-zero only on errors; prints TARGET MET / NOT MET lines.
#
# Env: DV_BIN (build/dicomveil), DV_SHARED_DATA (../shared/data), BENCH_N (200), RUNS (5).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN=${DV_BIN:-$REPO/build/dicomveil}
SHARED=${DV_SHARED_DATA:-$REPO/../shared/data}
PY=/usr/bin/python3
N=${BENCH_N:-200}
RUNS=${RUNS:-5}
NPROC=$(nproc)
CALLGRIND=1
for a in "$@"; do
  case $a in
    --quick) N=40; RUNS=2 ;;
    --no-callgrind) CALLGRIND=0 ;;
    -h|--help) sed -n 2,24p "$0"; exit 0 ;;
    *) echo "unknown option $a" >&2; exit 2 ;;
  esac
done
[ -x "$BIN" ] || { echo "dicomveil binary not found: $BIN (build it or set DV_BIN)" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "missing /usr/bin/time" >&2; exit 2; }
command -v valgrind >/dev/null || CALLGRIND=0

CACHE=$REPO/build/bench/cache
mkdir -p "$CACHE"
W=$(mktemp -d "$REPO/build/bench/text.XXXXXX")
trap 'chmod -R u+rwX "$W" 2>/dev/null; rm -rf "$W"' EXIT
head -c 32 /dev/urandom > "$W/key"; chmod 600 "$W/key"
echo '{}' > "$W/basic.json"
echo '{"dicomTagConfig": {"profileType": "DEIDENTIFY_TAG_CONTENTS"}}' > "$W/dtc.json"
echo '{"dicomTagConfig": {"options": {"cleanDescriptors": {}}}}' > "$W/basic_cd.json"
CONFIGS=(basic dtc basic_cd)
mkdir -p "$W/empty"
for c in dtc basic_cd; do # a dicomveil that still refuses text cleaning has nothing to measure
  if ! "$BIN" deidentify -q --config "$W/$c.json" --key-file "$W/key" "$W/empty" "$W/probe.$c" 2>"$W/err"; then
    echo "dicomveil refuses the $c config: $(cat "$W/err")" >&2
    exit 2
  fi
done

echo "== dicomveil text benchmark $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "   machine: $NPROC CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "   commit:  $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo none)$(git -C "$REPO" diff --quiet 2>/dev/null || echo ' (+ uncommitted changes)')"
echo "   wall clock: min of $RUNS interleaved repetitions; instructions: $([ $CALLGRIND = 1 ] && echo "callgrind, --jobs 1" || echo "not measured")"

CT=$CACHE/ct_n${N}_seed1
if [ ! -f "$CT/.complete" ]; then
  rm -rf "$CT"; $PY "$REPO/bench/gen_ct_corpus.py" "$CT" -n "$N" && touch "$CT/.complete"
fi
TX=$CACHE/text_n${N}_seed1
if [ ! -f "$TX/.complete" ]; then
  rm -rf "$TX"; $PY -W ignore "$REPO/bench/gen_text_corpus.py" "$TX" -n "$N" && touch "$TX/.complete"
fi
mkdir -p "$W/in/ct" "$W/in/text" "$W/empty"
cp "$CT"/*.dcm "$W/in/ct/"; cp "$TX"/*.dcm "$W/in/text/"
cp -r "$SHARED/dicom" "$W/in/shared"; chmod -R u+rwX "$W/in/shared"
rm -f "$W/in/shared/orthanc-tests/2026-05-06-Deeply-Nested-Sequence.dcm"
CORPORA=(ct shared text)

RES=$W/res.tsv; : > "$RES"
dv() { # CONFIG JOBS SRC -> seconds (outputs removed)
  local out=$W/out.$RANDOM t0 t1
  t0=$(date +%s%N)
  "$BIN" deidentify -q --config "$W/$1.json" --key-file "$W/key" --jobs "$2" "$3" "$out" >/dev/null 2>"$W/dv.err" || true
  t1=$(date +%s%N)
  rm -rf "$out"
  echo $(( (t1 - t0) / 1000 ))
}
for corpus in "${CORPORA[@]}"; do
  src=$W/in/$corpus
  find "$src" -type f -print0 | xargs -0 cat > /dev/null
  nf=$(find "$src" -type f | wc -l)
  for jobs in 1 "$NPROC"; do
    for c in "${CONFIGS[@]}"; do dv "$c" "$jobs" "$src" >/dev/null; done # warm-up
    for ((r = 0; r < RUNS; r++)); do
      for c in "${CONFIGS[@]}"; do
        printf 'wall\t%s\t%s\t%s\t%s\t%s\n' "$corpus" "$c" "$jobs" "$nf" "$(dv "$c" "$jobs" "$src")" >> "$RES"
      done
    done
  done
  if [ "$CALLGRIND" = 1 ]; then
    for c in "${CONFIGS[@]}"; do
      ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" deidentify -q --config "$W/$c.json" \
               --key-file "$W/key" --jobs 1 "$1" "$W/cg.out" 2>&1 >/dev/null | awk '/Collected :/ {print $NF}'
             rm -rf "$W/cg.out"; }
      base=$(ir "$W/empty"); all=$(ir "$src")
      printf 'ir\t%s\t%s\t1\t%s\t%s\n' "$corpus" "$c" "$nf" "$(( all - base ))" >> "$RES"
    done
  fi
done

# Memory: dtc over the text corpus, 1 / 2 / 8 workers; Basic with 1 worker for reference.
rss() { /usr/bin/time -f '%M' -o "$W/time.out" "$BIN" deidentify -q --config "$W/$1.json" --key-file "$W/key" \
          --jobs "$2" "$W/in/text" "$W/out.rss" >/dev/null 2>&1 || true; rm -rf "$W/out.rss"; tail -1 "$W/time.out"; }
for j in 1 2 8; do printf 'rss\ttext\tdtc\t%s\t0\t%s\n' "$j" "$(rss dtc "$j")" >> "$RES"; done
printf 'rss\ttext\tbasic\t1\t0\t%s\n' "$(rss basic 1)" >> "$RES"
printf 'rss\ttext\tbasic\t8\t0\t%s\n' "$(rss basic 8)" >> "$RES"
LEX=$(size -A "$BIN" 2>/dev/null | awk '$1 == ".rodata" {print $2}')

$PY - "$RES" "$NPROC" "${LEX:-0}" <<'EOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
nproc, rodata = sys.argv[2], int(sys.argv[3])
wall, ir, rss = {}, {}, {}
for kind, corpus, cfg, jobs, nf, v in rows:
    if kind == "wall":
        wall.setdefault((corpus, cfg, jobs), []).append(int(v) / 1e6)
        wall[(corpus, "n")] = int(nf)
    elif kind == "ir":
        ir[(corpus, cfg)] = (int(v), int(nf))
    else:
        rss[(cfg, int(jobs))] = int(v) / 1024
targets = []
for corpus in ("ct", "shared", "text"):
    n = wall.get((corpus, "n"))
    if not n:
        continue
    print(f"corpus {corpus}: {n} files")
    print(f"  {'config':10s} {'jobs':>4s} {'min s':>8s} {'inst/s':>8s} {'us/inst':>9s} {'x basic':>8s}")
    for jobs in ("1", nproc):
        b = min(wall[(corpus, "basic", jobs)])
        for cfg in ("basic", "dtc", "basic_cd"):
            t = min(wall[(corpus, cfg, jobs)])
            print(f"  {cfg:10s} {jobs:>4s} {t:8.3f} {n / t:8.1f} {1e6 * t / n:9.1f} {t / b:8.2f}")
            if cfg != "basic":
                targets.append((f"[{corpus}] {cfg} wall time per instance <= 2x basic (--jobs {jobs}, min of runs)",
                                t / b <= 2.0, f"{t / b:.2f}x"))
    if (corpus, "basic") in ir:
        b = ir[(corpus, "basic")][0]
        print(f"  instructions per instance (callgrind, --jobs 1, start-up subtracted):")
        for cfg in ("basic", "dtc", "basic_cd"):
            v, nf = ir[(corpus, cfg)]
            print(f"  {cfg:10s} {v / nf:14,.0f} Ir/inst {v / b:8.2f}x basic")
            if cfg != "basic":
                targets.append((f"[{corpus}] {cfg} instructions per instance <= 2x basic (callgrind)", v / b <= 2.0,
                                f"{v / b:.2f}x"))
    print()
if rss:
    r1, r2, r8 = rss[("dtc", 1)], rss[("dtc", 2)], rss[("dtc", 8)]
    per = (r8 - r1) / 7
    print(f"memory (text corpus, peak RSS MB): dtc --jobs 1 {r1:.1f}, --jobs 2 {r2:.1f}, --jobs 8 {r8:.1f}; "
          f"basic --jobs 1 {rss[('basic', 1)]:.1f}, --jobs 8 {rss[('basic', 8)]:.1f}")
    print(f"  shared read-only data in the binary (.rodata, incl. the lexicon tables): {rodata / 2**20:.2f} MB")
    print(f"  per extra worker: {per:.2f} MB with dtc ((RSS8 - RSS1) / 7), "
          f"{(rss[('basic', 8)] - rss[('basic', 1)]) / 7:.2f} MB with basic")
    targets.append(("[text] RSS growth per worker beyond the shared dictionaries <= 64 MB (dtc)", per <= 64,
                    f"{per:.2f} MB"))
    targets.append(("[text] RSS of one dtc worker beyond basic <= 64 MB", r1 - rss[("basic", 1)] <= 64,
                    f"{r1 - rss[('basic', 1)]:.2f} MB"))
for what, ok, val in targets:
    print(f"TARGET {'MET    ' if ok else 'NOT MET'} {what}: {val}")
EOF
