#!/bin/bash
# dicomveil throughput benchmark against the physical limit (cp -r) and its peers.
#
#   bench/run.sh [--quick] [--no-shared] [--no-stream] [--keep]
#
# Corpora: (1) N generated CT-like instances (bench/gen_ct_corpus.py, default 200 x 512x512x16-bit, ~0.5 MB
# each), (2) the shared real-world corpus ../shared/data/dicom (257 of its 258 files incl. 16 non-DICOM and
# ~15 broken ones; the one file that crashes DCMTK and GDCM is left out; every tool gets the same files;
# rates are files/s and input MB/s), (3) one ~1 GiB multi-frame instance for the streaming / RSS check.
# Tools: cp -r; dicomveil --jobs 1 and --jobs $(nproc); dcmtk dcmodify (one invocation over all files, and an
# xargs -P $(nproc) variant) erasing/blanking the Basic-profile attributes built from the PS3.15 2025c table;
# GDCM gdcmanon --dumb (recursive) with the same remove/empty lists; bench/pydicom_basic.py (1 and $(nproc)
# processes). Sources are never modified: dcmodify works in place on a fresh copy made before each timed run.
# Each measurement: page cache warmed first, RUNS runs (default 3), median wall time; peak RSS = GNU time %M
# (max over the process tree's processes, not a sum). Outputs go to build/bench/run.XXXX (removed at the end
# unless --keep). Not a test: it exits non-zero only on errors; it prints TARGET MET/NOT MET lines.
#
# Env: DV_BIN (default build/dicomveil), DV_SHARED_DATA (default ../shared/data), BENCH_N (200), RUNS (3),
#      BENCH_MF_GB (1).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN=${DV_BIN:-$REPO/build/dicomveil}
SHARED=${DV_SHARED_DATA:-$REPO/../shared/data}
PY=/usr/bin/python3
N=${BENCH_N:-200}
RUNS=${RUNS:-3}
MF_GB=${BENCH_MF_GB:-1}
NPROC=$(nproc)
DO_SHARED=1 DO_STREAM=1 KEEP=0
for a in "$@"; do
  case $a in
    --quick) N=40; RUNS=1; MF_GB=0.25 ;;
    --no-shared) DO_SHARED=0 ;;
    --no-stream) DO_STREAM=0 ;;
    --keep) KEEP=1 ;;
    -h|--help) sed -n 2,22p "$0"; exit 0 ;;
    *) echo "unknown option $a" >&2; exit 2 ;;
  esac
done
[ -x "$BIN" ] || { echo "dicomveil binary not found: $BIN (build it or set DV_BIN)" >&2; exit 2; }
for t in dcmodify gdcmanon /usr/bin/time; do command -v "$t" >/dev/null || { echo "missing $t" >&2; exit 2; }; done
TABLE=$SHARED/ps315/bsc_2025c_dicom_part15_table_E1-1.csv

mkdir -p "$REPO/build/bench/cache"
W=$(mktemp -d "$REPO/build/bench/run.XXXXXX")
cleanup() { if [ "$KEEP" = 0 ]; then chmod -R u+rwX "$W" 2>/dev/null; rm -rf "$W"; else echo "kept $W"; fi; }
trap cleanup EXIT
RES=$W/results.tsv
: > "$RES"

echo "== dicomveil benchmark $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "   machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/Mem:/{print $2}') GB RAM, $(uname -sr)"
echo "   commit:  $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo none)$(git -C "$REPO" diff --quiet 2>/dev/null || echo ' (+ uncommitted changes)')"
echo "   dicomveil: $("$BIN" --version 2>&1 | head -1) ($BIN)"
echo "   peers: $(dcmodify --version 2>&1 | head -1 | tr -d '$'); $(gdcmanon --version 2>&1 | head -1); pydicom $($PY -c 'import pydicom;print(pydicom.__version__)')"
echo "   runs per measurement: $RUNS (median)"

# ---------------------------------------------------------------------------------------------------------
# Argument lists from the PS3.15 table (Basic Profile column): bench/basic_args.py (shared with bench/peers.py)
# says how each code maps to dcmodify / gdcmanon --dumb options and probes the tags gdcmanon accepts (cached).
mapfile -t DCMODIFY_ARGS < <($PY "$REPO/bench/basic_args.py" dcmodify "$TABLE")
mapfile -t GDCM_RAW < <($PY "$REPO/bench/basic_args.py" gdcm "$TABLE")
probe_dir=$W/probe; $PY "$REPO/bench/gen_ct_corpus.py" "$probe_dir" -n 1 2>/dev/null
mapfile -t GDCM_ARGS < <($PY "$REPO/bench/basic_args.py" gdcm "$TABLE" --probe "$probe_dir/ct_00000.dcm" \
  --cache "$REPO/build/bench/cache")
DCMODIFY_ARGS=(-nb -q -imt -ie -ep -gst -gse -gin "${DCMODIFY_ARGS[@]}")
echo "   dcmodify: ${#DCMODIFY_ARGS[@]} arguments; gdcmanon: $(( ${#GDCM_ARGS[@]} / 2 )) of $(( ${#GDCM_RAW[@]} / 2 )) tags (it refuses the rest) (from $(basename "$TABLE"))"

KEYF=$W/key; head -c 32 /dev/urandom > "$KEYF"; chmod 600 "$KEYF"
CFG=$W/config.json; echo '{}' > "$CFG"

# ---------------------------------------------------------------------------------------------------------
# measure LABEL CORPUS_DIR PREP-FUNCTION RUN-FUNCTION: RUNS timed runs, median, RSS of the median run
warm() { find "$1" -type f -print0 | xargs -0 cat > /dev/null; }
corpus_stats() { find "$1" -type f | wc -l; find "$1" -type f -printf '%s\n' | awk '{s+=$1} END {print s}'; }

measure() {
  local label=$1 corpus=$2 prep=$3 runf=$4 i t0 t1 rss rc nout
  local -a times=() rsss=()
  read -r nfiles < <(find "$corpus" -type f | wc -l)
  local bytes; bytes=$(find "$corpus" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
  warm "$corpus"
  for ((i = 0; i < RUNS; i++)); do
    rmw "$W/out"; rmw "$W/work"; sync
    $prep "$corpus"
    t0=$(date +%s%N)
    rc=0; $runf "$corpus" || rc=$?
    t1=$(date +%s%N)
    rss=$(tail -1 "$W/time.out" 2>/dev/null || echo 0)
    if [ "$prep" = copyprep ]; then nout=in-place; else nout=$(find "$W/out" -type f 2>/dev/null | wc -l); fi
    times+=("$(( (t1 - t0) / 1000 ))"); rsss+=("$rss")
  done
  local med; med=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
  local mrss; mrss=$(printf '%s\n' "${rsss[@]}" | sort -n | tail -1)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$CUR" "$label" "$nfiles" "$bytes" "$med" "$mrss" "$rc" "$nout" >> "$RES"
  printf '   %-30s median %8.3f s  (runs: %s)  peak RSS %6.1f MB  exit %s  outputs %s\n' "$label" \
    "$(awk -v x="$med" 'BEGIN{print x/1e6}')" "$(printf '%s ' "${times[@]}" | awk '{for(i=1;i<=NF;i++) printf "%.3f ", $i/1e6}')" \
    "$(awk -v x="$mrss" 'BEGIN{print x/1024}')" "$rc" "$nout"
}
T() { /usr/bin/time -f '%M' -o "$W/time.out" "$@"; }
noprep() { :; }
rmw() { if [ -e "$1" ]; then chmod -R u+rwX "$1"; rm -rf "$1"; fi; }   # cp -r of read-only sources is read-only
copyprep() { cp -r "$1" "$W/work"; chmod -R u+rwX "$W/work"; }

run_cp()        { T cp -r "$1" "$W/out"; }
run_dv1()       { T "$BIN" deidentify --config "$CFG" --key-file "$KEYF" --jobs 1 --quiet "$1" "$W/out" 2>"$W/dv.err"; }
run_dvN()       { T "$BIN" deidentify --config "$CFG" --key-file "$KEYF" --jobs "$NPROC" --quiet "$1" "$W/out" 2>"$W/dv.err"; }
run_dcmodify()  { find "$W/work" -type f | sort > "$W/list"; T xargs -a "$W/list" -d '\n' dcmodify "${DCMODIFY_ARGS[@]}" >/dev/null 2>&1; }
run_dcmodifyP() { find "$W/work" -type f | sort > "$W/list"; local per=$(( ($(wc -l < "$W/list") + NPROC - 1) / NPROC ));
                  T xargs -a "$W/list" -d '\n' -P "$NPROC" -n "$per" dcmodify "${DCMODIFY_ARGS[@]}" >/dev/null 2>&1; }
run_gdcm()      { T gdcmanon --dumb -r --continue -i "$1" -o "$W/out" "${GDCM_ARGS[@]}" >/dev/null 2>&1; }
# gdcmanon -r stops at the first file it cannot write (--continue only skips non-DICOM input): this variant
# runs one gdcmanon per file (xargs -P), so every file is attempted; it includes one sh + mkdir per file.
run_gdcmP()     { find "$1" -type f | sort > "$W/list"; export GDCM_SRC=$1 GDCM_DST=$W/out;
                  T xargs -a "$W/list" -d '\n' -P "$NPROC" -I{} sh -c 'o="$GDCM_DST/${1#"$GDCM_SRC"/}"; mkdir -p "${o%/*}"; shift; exec gdcmanon --dumb -i "$0" -o "$o" "$@"' {} {} "${GDCM_ARGS[@]}" >/dev/null 2>&1; }
run_py1()       { T $PY "$REPO/bench/pydicom_basic.py" --table "$TABLE" --key-file "$KEYF" --jobs 1 "$1" "$W/out" 2>"$W/py.err"; }
run_pyN()       { T $PY "$REPO/bench/pydicom_basic.py" --table "$TABLE" --key-file "$KEYF" --jobs "$NPROC" "$1" "$W/out" 2>"$W/py.err"; }

bench_corpus() {
  local name=$1 dir=$2
  CUR=$name
  read -r nf < <(find "$dir" -type f | wc -l)
  echo; echo "== corpus '$name': $dir ($nf files, $(du -sh "$dir" | cut -f1))"
  measure "cp -r"                          "$dir" noprep   run_cp
  measure "dicomveil --jobs 1"             "$dir" noprep   run_dv1
  tail -1 "$W/dv.err" | sed 's/^/      /'
  measure "dicomveil --jobs $NPROC"        "$dir" noprep   run_dvN
  tail -1 "$W/dv.err" | sed 's/^/      /'
  measure "dcmodify (1 process)"           "$dir" copyprep run_dcmodify
  measure "dcmodify (xargs -P $NPROC)"     "$dir" copyprep run_dcmodifyP
  measure "gdcmanon --dumb -r"             "$dir" noprep   run_gdcm
  measure "gdcmanon --dumb (file, -P $NPROC)" "$dir" noprep   run_gdcmP
  measure "pydicom_basic --jobs 1"         "$dir" noprep   run_py1
  tail -1 "$W/py.err" | sed 's/^/      /'
  measure "pydicom_basic --jobs $NPROC"    "$dir" noprep   run_pyN
}

CT=$REPO/build/bench/cache/ct_n${N}_seed1
if [ ! -f "$CT/.complete" ]; then
  rm -rf "$CT"; echo "   generating $N CT instances into $CT"
  $PY "$REPO/bench/gen_ct_corpus.py" "$CT" -n "$N" && touch "$CT/.complete.tmp" && mv "$CT/.complete.tmp" "$CT/.complete"
fi
CTIN=$W/ct_in; mkdir -p "$CTIN"; cp "$CT"/*.dcm "$CTIN"/   # without the .complete marker
bench_corpus ct "$CTIN"
if [ "$DO_SHARED" = 1 ]; then
  # Same input for every tool: a writable copy of the shared corpus without the one file that crashes both
  # DCMTK and GDCM (SIGSEGV, stack overflow on pathological nesting; dcmodify/xargs and gdcmanon -r would
  # stop there and skip the rest). dicomveil rejects it cleanly (error class "limit").
  SH_IN=$W/shared_in; cp -r "$SHARED/dicom" "$SH_IN"; chmod -R u+rwX "$SH_IN"
  rm -f "$SH_IN/orthanc-tests/2026-05-06-Deeply-Nested-Sequence.dcm"
  bench_corpus shared "$SH_IN"
fi

# ---------------------------------------------------------------------------------------------------------
STREAM_RSS=""
if [ "$DO_STREAM" = 1 ]; then
  MF=$REPO/build/bench/cache/mf_${MF_GB}g
  if [ ! -f "$MF/.complete" ]; then
    rm -rf "$MF"; echo; echo "   generating a ${MF_GB} GiB multi-frame instance into $MF"
    $PY "$REPO/bench/gen_ct_corpus.py" "$MF" --multiframe-gb "$MF_GB" && touch "$MF/.complete"
  fi
  MFIN=$W/mf_in; mkdir -p "$MFIN"; ln "$MF"/*.dcm "$MFIN"/ 2>/dev/null || cp "$MF"/*.dcm "$MFIN"/
  echo; echo "== streaming: $(ls "$MFIN") ($(du -sh "$MFIN" | cut -f1))"
  CUR=stream
  measure "cp -r"                "$MFIN" noprep run_cp
  measure "dicomveil --jobs 1"   "$MFIN" noprep run_dv1
  tail -1 "$W/dv.err" | sed 's/^/      /'
  STREAM_RSS=$(awk -F'\t' '$1=="stream" && $2=="dicomveil --jobs 1" {print $6}' "$RES")
  # the output must be complete: same size class and pixel data intact (spot check the last 1 MB)
  o=$(find "$W/out" -type f -name '*.dcm' | head -1)
  if [ -n "$o" ]; then
    cmp -s <(tail -c 1048576 "$o") <(tail -c 1048576 "$MFIN"/*.dcm) && echo "      output ends with the input's last 1 MiB of pixel data: yes" \
      || echo "      WARNING: output tail differs from the input's pixel data tail"
  fi
fi

# ---------------------------------------------------------------------------------------------------------
echo
$PY - "$RES" "$NPROC" "${STREAM_RSS:-}" <<'EOF'
import sys, statistics
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
nproc = sys.argv[2]
stream_rss = sys.argv[3]
by = {}
for corpus, label, nf, nb, us, rss, rc, nout in rows:
    by.setdefault(corpus, []).append((label, int(nf), int(nb), int(us) / 1e6, int(rss) / 1024, rc, nout))
targets = []
for corpus, lst in by.items():
    d = {l: (nf, nb, s, r, rc) for l, nf, nb, s, r, rc, nout in lst}
    dvN = d.get(f"dicomveil --jobs {nproc}") or d.get("dicomveil --jobs 1")
    cp = d.get("cp -r")
    print(f"corpus {corpus}: {lst[0][1]} files, {lst[0][2] / 1e6:.1f} MB")
    print(f"  {'tool':30s} {'inst/s':>9s} {'MB/s':>8s} {'dv(all)/tool':>13s} {'tool/cp':>8s} {'peak RSS MB':>12s} {'outputs':>9s}")
    for l, nf, nb, s, r, rc, nout in lst:
        rate, mbs = nf / s, nb / 1e6 / s
        rel = (dvN[0] / dvN[2]) / rate if dvN else float("nan")
        vcp = rate / (cp[0] / cp[2]) if cp else float("nan")
        print(f"  {l:30s} {rate:9.1f} {mbs:8.1f} {rel:12.2f}x {100 * vcp:7.0f}% {r:12.1f} {nout:>9s}" + ("" if rc == "0" else f"  (exit {rc})"))
    if corpus == "stream":
        continue
    def best(prefix):
        c = [(nf / s, l) for l, (nf, nb, s, r, rc) in d.items() if l.startswith(prefix)]
        return max(c) if c else None
    dvr = dvN[0] / dvN[2]
    for name, prefix, need in (("dcmodify", "dcmodify", 2.0), ("pydicom", "pydicom_basic", 10.0)):
        b = best(prefix)
        if b:
            targets.append((f"[{corpus}] dicomveil(all cores) >= {need:g}x {name} (best variant: {b[1]})",
                            dvr / b[0] >= need, f"{dvr / b[0]:.2f}x"))
    if cp:
        targets.append((f"[{corpus}] dicomveil(all cores) >= 50% of cp -r", dvr / (cp[0] / cp[2]) >= 0.5,
                        f"{100 * dvr / (cp[0] / cp[2]):.0f}%"))
    print()
if stream_rss:
    mb = int(stream_rss) / 1024
    targets.append((f"[stream] dicomveil peak RSS <= 64 MB per worker ({rows[-1][3] and int([r for r in rows if r[0]=='stream'][0][3]) / 2**30:.2f} GiB multi-frame, --jobs 1)", mb <= 64, f"{mb:.1f} MB"))
for what, ok, val in targets:
    print(f"TARGET {'MET    ' if ok else 'NOT MET'} {what}: {val}")
EOF
