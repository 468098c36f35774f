#!/bin/bash
# The benchmark record cannot silently rot (issue 8 item 3): every bench/*.sh parses (bash -n), every
# bench/*.py compiles, and bench/peers_report.py turns a tiny fixture (results.tsv + meta.json, written here)
# into a well-formed section of a RESULTS.md (rows as wide as their header, targets computed from the
# figures, the loaded-machine warning, text outside the markers kept, a second run replacing the section)
# and two PNG plots. Nothing is measured here: `make bench` runs the benchmarks. Needs gnuplot (gnuplot-nox).
set -euo pipefail
SRC=${DV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1" >&2; fail=1; }

n=0
for f in "$SRC"/bench/*.sh; do
  if bash -n "$f"; then n=$((n + 1)); else bad "bash -n $(basename "$f")"; fi
done
[ "$n" -ge 5 ] && ok "$n bench scripts parse" || bad "only $n bench scripts parse"
if /usr/bin/python3 - "$SRC"/bench/*.py <<'EOF'
import ast, sys
for f in sys.argv[1:]:
    ast.parse(open(f).read(), f)
EOF
then ok "bench/*.py compile"; else bad "a bench/*.py does not compile"; fi

# the fixture: two CT sizes, then each main corpus; dicomveil 1 thread = 1000/s, dcmodify 80/s (12.5x: MET),
# cp 2000/s (0.5: NOT MET); one row with a failing exit code
R=$T/res
mkdir -p "$R"
{
  printf 'corpus\ttool\tlabel\tfiles\tbytes\tseconds\trss_kb\trc\toutputs\tnote\truns\telapsed\n'
  for c in ct-10 ct-20 mr us shared; do
    files=20; [ "$c" = ct-10 ] && files=10
    for row in "cp:cp -r (the limit):0.5" "dv1:dicomveil --jobs 1:1" "dvN:dicomveil --jobs 2:0.6" \
               "mpi1:dicomveil mpirun -np 1 --mpi --jobs 1:1.2" "mpi2:dicomveil mpirun -np 2 --mpi --jobs 1:0.7" \
               "dcmodify:dcmodify, 1 process:12.5" "gdcm_e:gdcmanon -e -r:3" "py1:pydicom_basic.py --jobs 1:9" \
               "orthanc:Orthanc /anonymize, 2 connections:4"; do
      IFS=: read -r tid label per <<<"$row"
      secs=$(awk -v f="$files" -v p="$per" 'BEGIN{printf "%.4f", f * p / 1000}')
      rc=0; [ "$c" = shared ] && [ "$tid" = dv1 ] && rc=1
      el=""; case $tid in dv*|mpi*) el=$(awk -v s="$secs" 'BEGIN{printf "%.4f", s / 2}') ;; esac
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$tid" "$label" "$files" $((files * 500000)) \
        "$secs" 6000 "$rc" "$files" "" "$secs" "$el"
    done
  done
} > "$R/results.tsv"
cat > "$R/meta.json" <<'EOF'
{"date": "2026-01-01 00:00 UTC", "size": "small", "runs": 1, "nproc": 2, "cpu": "fixture", "kernel": "6",
 "commit": "abc1234", "dirty": false, "dicomveil": "dicomveil 0.1.0", "dcmtk": "3.6.7", "gdcm": "3.0.21",
 "orthanc": "1.10.1", "pydicom": "2.3.1", "openmpi": "4.1.4", "dcmodify_args": 10, "gdcm_tags": 5,
 "ct_sizes": [10, 20], "mr_frames": 24, "seconds": 12.0,
 "loads": {"ct-10": ["0.10 0.20 0.30", "0.20 0.20 0.30"], "ct-20": ["7.50 5.00 4.00", "8.00 5.00 4.00"],
           "mr": ["1 1 1", "1 1 1"], "us": ["1 1 1", "1 1 1"], "shared": ["1 1 1", "1 1 1"]}}
EOF
MD=$T/RESULTS.md
printf '# Benchmark results\n\nhand-written text above\n' > "$MD"
/usr/bin/python3 "$SRC/bench/peers_report.py" --results "$R" --markdown "$MD" --img "$T/img"
cp "$MD" "$T/first.md"
/usr/bin/python3 "$SRC/bench/peers_report.py" --results "$R" --markdown "$MD" --no-plot
cmp -s "$MD" "$T/first.md" && ok "a second run replaces the section (same file)" || bad "second run changed the file"
[ "$(grep -c 'PEERS_BEGIN' "$MD")" = 1 ] && [ "$(grep -c 'PEERS_END' "$MD")" = 1 ] && ok "one pair of markers" \
  || bad "markers missing or repeated"
grep -q '^hand-written text above$' "$MD" && ok "text outside the markers kept" || bad "text outside the markers lost"
/usr/bin/python3 - "$MD" <<'EOF' && ok "every table row is as wide as its header" || bad "malformed table"
import sys
lines = open(sys.argv[1]).read().split("\n")
tables, cur = [], None
for l in lines:
    if l.startswith("|"):
        if cur is None:
            cur = []
            tables.append(cur)
        cur.append(l)
    else:
        cur = None
assert len(tables) >= 7, f"{len(tables)} tables"   # 4 corpora + size + workers + targets
for t in tables:
    w = t[0].count("|")
    assert set(t[1].replace("|", "").replace("-", "").replace(":", "")) == set(), t[1]
    for row in t:
        assert row.count("|") == w, row
        assert "nan" not in row.lower(), row
EOF
grep -q '| ct-20 | per-core rate ≥ 10× dcmodify (1 process) | 12.50× | \*\*MET\*\* |' "$MD" \
  && ok "10x dcmodify target computed (12.5x, MET)" || bad "dcmodify target row"
grep -q '| ct-20 | per-core rate ≥ cp -r (single process) | 0.50× | \*\*NOT MET\*\* |' "$MD" \
  && ok "cp target computed (0.50x, NOT MET)" || bad "cp target row"
grep -q 'Loaded machine: the 1-minute load average reached 8.0 on 2 CPUs' "$MD" && ok "loaded-machine warning" \
  || bad "no loaded-machine warning"
grep -q '| \*\*dicomveil --jobs 1\*\* | 1000.0 | 500.0 | 5.9 | 0.50 | 1.00× | 1.67× | 20 | run clock 0.010 s; exit 1 |' "$MD" \
  && ok "a row's figures (rate, MB/s, RSS, ratios, exit code)" || bad "row figures"
grep -q '^| 10 | 2000.0 | 1000.0 | 1666.7 | 1428.6 | 80.0 | 333.3 | 111.1 | 250.0 |$' "$MD" \
  && ok "size sweep row" || bad "size sweep row"
# workers: 1 thread 1000/s, 2 threads 1666.7/s, 1 rank 833.3/s, 2 ranks 1428.6/s; the run clock twice as fast
grep -q '^| 2 | 1666.7 | 1428.6 | 3333.3 | 2857.1 |$' "$MD" && ok "threads / ranks row" || bad "threads / ranks row"
for p in peers_size peers_workers; do
  if [ "$(head -c 4 "$T/img/$p.png" 2>/dev/null | od -An -c | tr -d ' ')" = '211PNG' ]; then ok "$p.png is a PNG"
  else bad "$p.png missing or not a PNG"; fi
done
exit $fail
