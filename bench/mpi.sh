#!/usr/bin/env bash
# deidentify --mpi benchmark (issue 8 targets; docs/SCALING.md), part of `make bench`, writes bench/MPI.md.
# Runs standalone after `make build` (bash bench/mpi.sh: a few minutes at the default sizes).
#  1. 2 ranks x 1 thread vs 1 rank x 1 thread (and the plain CLI at --jobs 1) on the generated CT corpus
#     (bench/gen_ct_corpus.py, N_CT instances, large enough that start-up does not dominate): target >= 1.8x;
#  2. listing and dealing overhead on N_SMALL small files (distinct 2 KB instances, 1000 per folder): rank 0's
#     lister thread and its coordinator (dealing, names, results) against the run: target <= 5 %;
#  3. per-core metadata rate on N_META_CT CT instances and N_META of those small files, by bench/percore.py
#     (the one home of the method, shared with bench/peers.py: a fresh ext4 per run, PERCORE_RUNS (5)
#     interleaved rounds, median and spread): dicomveil --jobs 1 against dcmodify (one process over all files)
#     and cp -r, per CPU second and per wall second: targets >= 10x dcmodify and >= cp.
# Every figure is given twice: wall clock (the report's elapsed_seconds, MPI start-up excluded) and CPU seconds
# (the per-rank lines deidentify --mpi prints: process = workers + main + lister + other; getrusage of the
# children for the tools without them). On a machine shared with other work the wall clock measures the
# scheduler; CPU seconds still say what the run cost. CPU speedup: the 1-rank run's process CPU against half of
# both ranks' CPU (rank 0 deals on demand, so on idle cores the ranks end together): what 2 ranks on 2 idle
# cores would take. Runs of 1 and 2 ranks alternate, so load
# that drifts hits both; medians of RUNS. DST is on tmpfs (/dev/shm) when there is one: the figures are the
# engine's and the protocol's, not ext4's inode allocator (deleting the previous run's outputs just before
# made every new inode scan the recently deleted ones: up to 2x the CPU on the next run).
#  1b. the same on N_LONG CT instances from the same generator (a run of a few seconds: a real MPI job runs for
#     minutes to hours, so the fixed costs of start-up, first chunk and the final report weigh less), LONG_RUNS
#     runs; its DST on tmpfs when /dev/shm has room for the outputs, else in the temp directory. Both corpora's
#     figures are printed, each target row names its corpus.
# Env: DV_BIN (build/dicomveil), RUNS (3), N_CT (4000: a 1-rank run of ~0.85 s; at 1000 the 0.2-0.3 s runs left the wall ratio to timer and scheduling noise), N_LONG (16000; 0: skip), LONG_RUNS (3), N_SMALL (50000), N_META (2000), N_META_CT (1000), PERCORE_RUNS (5), OUT (bench/MPI.md).
set -euo pipefail
cd "$(dirname "$0")/.."
DV_BIN=${DV_BIN:-build/dicomveil}
RUNS=${RUNS:-3}
N_CT=${N_CT:-4000}
N_LONG=${N_LONG:-16000}
LONG_RUNS=${LONG_RUNS:-3}
N_SMALL=${N_SMALL:-50000}
N_META=${N_META:-2000}
N_META_CT=${N_META_CT:-1000}
OUT=${OUT:-bench/MPI.md}
CACHE=build/bench/cache
for t in mpirun dcmodify /usr/bin/time; do
    command -v "$t" >/dev/null || { echo "bench/mpi.sh: $t is required (make deps)" >&2; exit 1; }
done
[ -x "$DV_BIN" ] || { echo "bench/mpi.sh: $DV_BIN is missing (make build)" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader \
    OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_plm=isolated OMPI_MCA_rmaps_base_oversubscribe=1 \
    OMPI_MCA_btl_base_warn_component_unused=0
W=$(mktemp -d)
if [ -d /dev/shm ] && [ -w /dev/shm ]; then D=$(mktemp -d -p /dev/shm dv-mpi-bench.XXXXXX); else D=$(mktemp -d); fi
dst_fs_name=$([ "${D#/dev/shm}" != "$D" ] && echo tmpfs || echo "the temp directory")
# The hypervisor's lazily backed memory out of the MPI runs' figures (bench/vm_memory.py, the one home of the
# method): free page reporting paused for parts 1 and 2 (bench/percore.py pauses it for part 3 itself), and before
# every timed run its outputs' size plus 512 MiB of memory touched and freed. Without it the 2-rank runs on 4000 CT
# instances into tmpfs took 1.42 and 1.52 s where the third took 0.41 s: the previous run's deleted outputs had
# been handed back to the host and re-faulted there inside the workers' writes (bench/RESULTS.md "MPI
# coordinator, fifth pass").
VM_PAUSE=$(/usr/bin/python3 bench/vm_memory.py pause)
VM_OLD=$(echo "$VM_PAUSE" | head -n 1)
VM_NOTE=$(echo "$VM_PAUSE" | tail -n 1)
vm_restore() { [ -z "$VM_OLD" ] || /usr/bin/python3 bench/vm_memory.py restore "$VM_OLD"; VM_OLD=; }
PREFAULT=0
trap 'vm_restore; rm -rf "$W" "$D"' EXIT
head -c 32 /dev/urandom >"$W/key" && chmod 600 "$W/key"
echo '{"dicomTagConfig":{"profileType":"ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"}}' >"$W/cfg.json"
: >"$W/parts"
T_PART=$SECONDS
part() { echo "$1	$((SECONDS - T_PART))" >>"$W/parts"; T_PART=$SECONDS; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "load $(load)" >"$W/loads"

mkdir -p "$CACHE"
CT="$CACHE/ct_n${N_CT}_seed1"
[ -d "$CT" ] || /usr/bin/python3 bench/gen_ct_corpus.py "$CT" -n "$N_CT" >/dev/null
part "generate the CT corpus ($N_CT instances; cached in $CACHE)"
SMALL="$CACHE/small_${N_SMALL}"
if [ ! -d "$SMALL" ]; then
    /usr/bin/python3 - "../shared/data/dicom/pydicom/rtdose_1frame.dcm" "$SMALL.tmp" "$N_SMALL" <<'EOF'
import os, re, subprocess, sys
src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
dump = subprocess.run(["dcmdump", "-q", "+P", "SOPInstanceUID", src], capture_output=True, text=True).stdout
old = re.search(r"\[([^\]]+)\]", dump).group(1).encode()
data = open(src, "rb").read()
for i in range(n):
    d = f"{out}/d{i // 1000:03d}"
    if i % 1000 == 0:
        os.makedirs(d, exist_ok=True)
    open(f"{d}/f{i:06d}.dcm", "wb").write(data.replace(old, old[:-6] + b"%06d" % i))
EOF
    mv "$SMALL.tmp" "$SMALL"
fi
part "generate the small-file corpus ($N_SMALL files; cached)"

# once NAME LAUNCH... -- ARGS: one run into $D/dst; appends "elapsed<TAB>rank<TAB>process<TAB>workers<TAB>main
# <TAB>lister<TAB>turns" lines (one per rank; rank -1 and /usr/bin/time's CPU for a run without --mpi) to $W/NAME.tsv and
# keeps its stderr in $W/NAME.err.
once() {
    local name=$1
    shift
    local launch=()
    while [ "$1" != -- ]; do launch+=("$1"); shift; done
    shift
    local dst=${DST_ROOT:-$D}/dst
    rm -rf "$dst" "$W/r.json"
    /usr/bin/python3 bench/vm_memory.py prefault "$PREFAULT"
    /usr/bin/time -f "TIME %U %S" -o "$W/time" ${launch[@]+"${launch[@]}"} "$DV_BIN" deidentify -q \
        --config "$W/cfg.json" --key-file "$W/key" --report "$W/r.json" "$@" "$dst" 2>"$W/$name.err" || true
    [ -s "$W/r.json" ] || { echo "bench/mpi.sh: the $name run failed: $(head -c 600 "$W/$name.err")" >&2; exit 1; }
    grep 'timeline' "$W/$name.err" >>"$W/$name.timeline" || true # the ranks' timelines (where wall time goes)
    python3 - "$W/r.json" "$W/$name.err" "$W/time" >>"$W/$name.tsv" <<'EOF'
import json, re, sys
el = json.load(open(sys.argv[1]))["elapsed_seconds"]
rows = re.findall(r"rank (\d+) CPU seconds during the run: process ([\d.]+) = workers ([\d.]+) \+ main ([\d.]+) "
                  r"\+ lister ([\d.]+) \+ other [\d.-]+; main thread turns (\d+)", open(sys.argv[2]).read())
if not rows:
    u, s = open(sys.argv[3]).read().split("TIME ")[-1].split()
    rows = [("-1", str(float(u) + float(s)), "0", "0", "0", "0")]
for r in rows:
    print("\t".join([str(el), *r]))
EOF
}

# Every corpus is read once, untimed, before its runs: a freshly generated corpus is not all in the page cache, and
# the first run read it from disk (the first 1-rank run of 16000 CT instances took 122 s against 27 s next).
warm() { find "$1" -type f -exec cat {} + >/dev/null; }
warm "$CT"
bytes_of() { echo $(( $(du -sb "$1" | cut -f1) + (512 << 20) )); }
PREFAULT=$(bytes_of "$CT")
for i in $(seq "$RUNS"); do
    once cli -- --jobs 1 "$CT"
    once r1 mpirun -np 1 -- --mpi --jobs 1 "$CT"
    once r2 mpirun -np 2 --oversubscribe -- --mpi --jobs 1 "$CT"
done
echo "load $(load)" >>"$W/loads"
part "2 ranks vs 1 rank: $RUNS x (plain CLI, 1 rank, 2 ranks) on $N_CT CT instances"

: >"$W/l1.tsv"
: >"$W/l2.tsv"
: >"$W/l2.timeline"
long_dst="none"
if [ "$N_LONG" -gt 0 ]; then
    LONG="$CACHE/ct_n${N_LONG}_seed1"
    [ -d "$LONG" ] || { rm -rf "$LONG.tmp"; /usr/bin/python3 bench/gen_ct_corpus.py "$LONG.tmp" -n "$N_LONG" >/dev/null &&
        mv "$LONG.tmp" "$LONG"; }
    part "generate the long CT corpus ($N_LONG instances; cached in $CACHE)"
    # the outputs are as large as the corpus: tmpfs only when it has room for them (with a fifth to spare)
    need=$(du -sk "$LONG" | cut -f1)
    room=$(df -Pk "$D" | awk 'NR == 2 {print $4}')
    if [ "$room" -gt $((need * 6 / 5)) ]; then DL=$D; long_dst=$dst_fs_name; else DL=$W; long_dst="the temp directory"; fi
    warm "$LONG"
    PREFAULT=$(bytes_of "$LONG")
    for i in $(seq "$LONG_RUNS"); do
        DST_ROOT=$DL once l1 mpirun -np 1 -- --mpi --jobs 1 "$LONG"
        DST_ROOT=$DL once l2 mpirun -np 2 --oversubscribe -- --mpi --jobs 1 "$LONG"
    done
    rm -rf "$DL/dst"
    echo "load $(load)" >>"$W/loads"
    part "2 ranks vs 1 rank, long: $LONG_RUNS x (1 rank, 2 ranks) on $N_LONG CT instances"
fi
PREFAULT=$(bytes_of "$SMALL")
for i in $(seq "$RUNS"); do
    once small mpirun -np 2 --oversubscribe -- --mpi --jobs 1 "$SMALL"
    grep 'mpi: 2 ranks' "$W/small.err" >>"$W/small.lines" # every run's line: the verdict is their median
done
small_line=$(grep 'mpi: 2 ranks' "$W/small.err")
echo "load $(load)" >>"$W/loads"
part "listing and dealing: $RUNS runs of 2 ranks on $N_SMALL small files"

# Per-core metadata rate: bench/percore.py, the one home of the method (docs/decisions.md "Per-core rates are
# measured on a fresh file system per run"; bench/peers.py's targets rows use it too): the first N_META_CT CT
# instances and the first N_META small files, each tool's run writing into an ext4 made for that run alone (no
# run sees another's deleted inodes), interleaved rounds, CPU and wall, median and spread; it falls back with a
# printed warning to a fresh directory per run where loop mounts are refused.
M=$(mktemp -d -p build/bench mpi-meta.XXXXXX)
trap 'vm_restore; rm -rf "$W" "$D" "$M"' EXIT
vm_restore # bench/percore.py pauses reporting for its own part and says so in its method line
/usr/bin/python3 - "$CT" "$M/ct_src" "$N_META_CT" "$SMALL" "$M/small_src" "$N_META" <<'EOF2'
import os, shutil, sys
for src, dst, n in ((sys.argv[1], sys.argv[2], int(sys.argv[3])), (sys.argv[4], sys.argv[5], int(sys.argv[6]))):
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs)[:n]
    for f in files:
        rel = os.path.relpath(f, src)
        os.makedirs(os.path.join(dst, os.path.dirname(rel)), exist_ok=True)
        shutil.copyfile(f, os.path.join(dst, rel))
EOF2
DV_BIN="$DV_BIN" /usr/bin/python3 bench/percore.py --runs "${PERCORE_RUNS:-5}" --corpus "ct=$M/ct_src" \
    --corpus "small=$M/small_src" --json "$W/percore.json" --markdown "$W/percore.md" >/dev/null
rm -rf "$M"
echo "load $(load)" >>"$W/loads"
part "per-core metadata rate: ${PERCORE_RUNS:-5} rounds of (dicomveil --jobs 1, cp -r, dcmodify) on $N_META_CT CT instances and $N_META small files, a fresh ext4 per run (bench/percore.py)"

/usr/bin/python3 - "$W" "$OUT" "$N_CT" "$N_SMALL" "$N_META" "$RUNS" "$(git rev-parse --short HEAD)" "$(nproc)" \
    "$(mpirun --version | sed -nE 's/.*\) ([0-9.]+).*/\1/p' | head -1)" "$(dcmodify --version 2>&1 | head -1 | tr -d '$')" \
    "$small_line" "$([ "${D#/dev/shm}" != "$D" ] && echo tmpfs || echo "the temp directory")" "$N_META_CT" \
    "$(df -PT build/bench | awk 'NR == 2 {print $2}')" "$N_LONG" "$LONG_RUNS" "$long_dst" "$VM_NOTE" <<'EOF'
import datetime, re, statistics, sys
w, out, n_ct, n_small, n_meta, runs, commit, ncpu, ompi, dcmodify, small_line, dst_fs, n_meta_ct, meta_fs, n_long, \
    long_runs, long_dst, vm_note = sys.argv[1:19]
n_long = int(n_long)
n_ct, n_small, n_meta, n_meta_ct, ncpu = int(n_ct), int(n_small), int(n_meta), int(n_meta_ct), int(ncpu)
med = statistics.median

def runs_of(name):
    """[(elapsed, {rank: (process, workers, main, lister, turns)})] in run order."""
    out, cur = [], None
    for line in open(f"{w}/{name}.tsv"):
        el, rank, p, wk, mn, ls, tn = line.split("\t")
        rank = int(rank)
        if cur is None or rank in cur[1] or rank == -1 or rank == 0:
            cur = (float(el), {})
            out.append(cur)
        cur[1][rank] = tuple(float(x) for x in (p, wk, mn, ls, tn))
    return out

cli, r1, r2, small, l1, l2 = (runs_of(n) for n in ("cli", "r1", "r2", "small", "l1", "l2"))
wall = {k: med([e for e, _ in v]) for k, v in (("cli", cli), ("r1", r1), ("r2", r2), ("small", small))}
# the long corpus: the same figures (wall clock and CPU, 1 rank against 2)
if l1 and l2:
    wall_l1, wall_l2 = med([e for e, _ in l1]), med([e for e, _ in l2])
    cpu_l1 = med([c[0][0] for _, c in l1])
    cpu_l2 = med([sum(v[0] for v in c.values()) / 2 for _, c in l2])
    long_wall, long_cpu = wall_l1 / wall_l2, cpu_l1 / cpu_l2
cpu_cli = med([c[-1][0] for _, c in cli])
cpu_r1 = med([c[0][0] for _, c in r1])
work_r1 = med([c[0][1] for _, c in r1])
# what 2 ranks take on 2 idle cores: half of both ranks' CPU. Rank 0 deals on demand, so on idle cores the
# ranks end together; under load the scheduler decides which rank gets more inputs, so the busier rank's CPU
# measures the load, not dicomveil (it is shown per run below).
cpu_r2 = med([sum(v[0] for v in c.values()) / 2 for _, c in r2])
cpu_r2_sum = med([sum(v[0] for v in c.values()) for _, c in r2])
work_r2 = med([sum(v[1] for v in c.values()) for _, c in r2])
main_r2 = med([sum(v[2] for v in c.values()) for _, c in r2])
per_rank = [" / ".join(f"{v[0]:.3f}" for _, v in sorted(c.items())) for _, c in r2]
speed_wall, speed_cpu = wall["r1"] / wall["r2"], cpu_r1 / cpu_r2

m = re.search(r"listed in ([\d.]+)s \(streamed, ([\d.]+)s CPU\); rank 0 coordinated for ([\d.]+)s CPU", small_line)
list_wall, list_cpu, coord_cpu = (float(x) for x in m.groups()) if m else (0.0, 0.0, 0.0)
small_last = small[-1][1]
small_sum = sum(v[0] for v in small_last.values())
# The overhead of each run (its own listing + coordinator CPU against its own run), the verdict on their
# median: one run's share moved 4.1-5.1 % between idle runs minutes apart (the run's CPU, the denominator, moves
# with the workers' speed; bench/RESULTS.md "Integrated re-run ... 17:2x UTC").
runs_over = []
for line, (el, ranks) in zip(open(f"{w}/small.lines").read().splitlines(), small):
    mm = re.search(r"listed in ([\d.]+)s \(streamed, ([\d.]+)s CPU\); rank 0 coordinated for ([\d.]+)s CPU", line)
    if mm:
        o = float(mm.group(2)) + float(mm.group(3))
        runs_over.append((100 * o / el, 100 * o / sum(v[0] for v in ranks.values())))
over_wall = med([a for a, _ in runs_over]) if runs_over else 100 * (list_cpu + coord_cpu) / small[-1][0]
over_cpu = med([b for _, b in runs_over]) if runs_over else 100 * (list_cpu + coord_cpu) / small_sum
over_core = 2 * over_cpu  # the share of one core over the run on 2 idle cores
over_runs = ", ".join(f"{b:.1f}" for _, b in runs_over)
main0 = small_last[0][2]

import json
percore = json.load(open(f"{w}/percore.json"))
sys.path.insert(0, "bench")
import percore as pc  # the one home of the per-core method and its rows
loads = [l.split(" ", 1)[1].strip() for l in open(f"{w}/loads")]
parts = [l.rstrip("\n").split("\t") for l in open(f"{w}/parts")]

def verdict(ok):
    return "**PASS**" if ok else "**FAIL**"

L = []
p = L.append
p("# deidentify --mpi benchmark")
p("")
p(f"Generated by `bench/mpi.sh` (part of `make bench`; runs alone after `make build`) on "
  f"{datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC, commit `{commit}`, {ncpu} cores, Open MPI {ompi}; DST of the MPI runs on "
  f"{dst_fs}, of the per-core runs on a fresh file system per run ({percore['method']}, bench/percore.py); medians of {runs} runs, 1-rank and 2-rank "
  f"runs alternating; for the MPI runs {vm_note}, and before each of them its outputs' size plus 512 MiB of memory "
  "touched and freed (bench/vm_memory.py).")
p(f"**Load average (1/5/15 min) before / after each part: {' -> '.join(loads)}.** Wall-clock figures on a "
  "machine shared with other work measure the scheduler as much as dicomveil; the CPU figures (CPU seconds "
  "the run's threads used, from the per-rank lines `deidentify --mpi` prints) hold under load, but caches and "
  "preemption still inflate them somewhat. Re-run `bash bench/mpi.sh` on an idle machine before quoting wall "
  "clock.")
p("")
p("| target | wall clock | CPU | |")
p("|---|---:|---:|---|")
p(f"| 2 ranks >= 1.8x 1 rank (1 thread each); CT, {n_ct} instances (1 rank: {wall['r1']:.2f} s) | {speed_wall:.2f}x | {speed_cpu:.2f}x | wall {verdict(speed_wall >= 1.8)}, CPU {verdict(speed_cpu >= 1.8)} |")
if l1 and l2:
    p(f"| 2 ranks >= 1.8x 1 rank (1 thread each); CT, {n_long} instances (1 rank: {wall_l1:.2f} s) | {long_wall:.2f}x | {long_cpu:.2f}x | wall {verdict(long_wall >= 1.8)}, CPU {verdict(long_cpu >= 1.8)} |")
p(f"| listing + dealing <= 5 % of the run ({n_small} files) | {over_wall:.1f} % of one core | {over_cpu:.1f} % of the run's CPU ({over_core:.1f} % of one core on idle cores) | wall {verdict(over_wall <= 5)}, CPU {verdict(over_cpu <= 5)} |")
for c, what, goal, cpu, wl in pc.targets(percore):  # medians of per-round ratios (spread), start-up excluded
    what += f"; {f'CT, {n_meta_ct} instances' if c == 'ct' else f'small files, {n_meta}'}; start-up excluded"
    p(f"| {what} | {pc.fmt_r(wl)} | {pc.fmt_r(cpu)} | wall {pc.verdict(wl, goal, '**PASS**', '**FAIL**')}, "
      f"CPU {pc.verdict(cpu, goal, '**PASS**', '**FAIL**')} |")
p("")
p(f"## 2 ranks vs 1 rank, one worker thread each: CT corpus, {n_ct} instances 512x512x16-bit")
p("")
p("| run | wall seconds | instances/s | wall vs 1 rank | CPU seconds | CPU vs 1 rank |")
p("|---|---:|---:|---:|---:|---:|")
p(f"| plain CLI, --jobs 1 | {wall['cli']:.3f} | {n_ct / wall['cli']:.0f} | {wall['r1'] / wall['cli']:.2f}x | {cpu_cli:.3f} (process, start-up included) | {cpu_r1 / cpu_cli:.2f}x |")
p(f"| mpirun -np 1 --mpi --jobs 1 | {wall['r1']:.3f} | {n_ct / wall['r1']:.0f} | 1.00x | {cpu_r1:.3f} (workers {work_r1:.3f}) | 1.00x |")
p(f"| mpirun -np 2 --mpi --jobs 1 | {wall['r2']:.3f} | {n_ct / wall['r2']:.0f} | **{speed_wall:.2f}x** | {cpu_r2:.3f} (half of both ranks' {cpu_r2_sum:.3f}: workers {work_r2:.3f}, main threads {main_r2:.3f}) | **{speed_cpu:.2f}x** |")
p("")
turns_r2 = [" / ".join(f"{v[4]:.0f}" for _, v in sorted(c.items())) for _, c in r2]
p(f"Main-thread turns per rank (rank 0 / rank 1), each run: {'; '.join(turns_r2)}. ")
p(f"Process CPU seconds per rank (rank 0 / rank 1), each run: {'; '.join(per_rank)}. Inputs dealt per rank in "
  f"the last run: {open(w + '/r2.err').read().split('inputs dealt per rank: ')[-1].splitlines()[0]}.")
p("")
# Where the 2-rank run's wall time goes against half the 1-rank run's (the ranks' timelines, one monotonic
# clock): per rank, the time before its first chunk (start-up skew and the first deal), its workers' waits for
# later chunks, the tail from its last input to the end of the run (the report's elapsed), and of the rest (its
# worker busy) how much was the worker's own CPU, the rank's main thread, or neither (preempted by anything else
# on the machine, e.g. the other rank's main thread or other users' work).
tl_re = re.compile(r"rank (\d+) CPU seconds during the run: process ([\d.]+) = workers ([\d.]+) \+ main ([\d.]+) .*"
                   r"report ([\d.]+) of main; .*"
                   r"start ([-\d.]+), first chunk ([-\d.]+), last input done ([-\d.]+), end ([-\d.]+); "
                   r"workers waited ([\d.]+) s")

def where(name, runs2, half, work1):
    """The table of where each 2-rank run's wall time went (the ranks' timelines, one monotonic clock)."""
    tl_runs = []
    for line in open(f"{w}/{name}.timeline"):
        m = tl_re.search(line)
        if m:
            rank = int(m.group(1))
            if rank == 0:
                tl_runs.append({})
            if tl_runs:
                tl_runs[-1][rank] = [float(x) for x in m.groups()[1:]]
    p(f"| run | rank | wall | before the first chunk | waits for later chunks | tail after its last input | worker busy: its CPU | main thread CPU during the work (+ the report, after it) | preempted / other |")
    p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for i, ((el, _), ranks) in enumerate(zip(runs2, tl_runs)):
        for rank, (proc, wk, mn, rep, st, first, last, end, waited) in sorted(ranks.items()):
            lead = max(first - st, 0)
            mid = max(waited - lead, 0)
            tail = max(el - last, 0)
            busy = el - lead - mid - tail
            during = mn - rep
            p(f"| {i + 1} | {rank} | {el:.3f} | {lead:.3f} | {mid:.3f} | {tail:.3f} | {wk:.3f} | {during:.3f}"
              f"{f' (+ {rep:.3f})' if rep > 0 else ''} | {busy - wk - during:.3f} |")
    p("")
    p("Per rank: wall = before the first chunk + waits + tail + worker busy; worker busy = its CPU + the main "
      "thread's CPU on the same core during the work + time neither ran (preempted). Rank 0's main thread writes "
      "the report after the last result (jansson; the 1-rank run and the plain CLI write the same report), which "
      "is after the wall clock the report gives, so it is shown apart. The gap to 2.0x is wall - half the 1-rank "
      "run; the 1-rank run's worker CPU over 2 is the work each rank would do on a core of its own "
      f"({work1 / 2:.3f} s).")
    p("")

p(f"### Where the 2-rank wall time goes (against half the 1-rank run: {wall['r1'] / 2:.3f} s)")
p("")
where("r2", r2, wall["r1"] / 2, work_r1)
if l1 and l2:
    work_l1 = med([c[0][1] for _, c in l1])
    p(f"## 2 ranks vs 1 rank, one worker thread each: the long CT corpus, {n_long} instances (same generator)")
    p("")
    p(f"DST on {long_dst}; medians of {long_runs} runs, 1-rank and 2-rank runs alternating.")
    p("")
    p("| run | wall seconds | instances/s | wall vs 1 rank | CPU seconds | CPU vs 1 rank |")
    p("|---|---:|---:|---:|---:|---:|")
    p(f"| mpirun -np 1 --mpi --jobs 1 | {wall_l1:.3f} | {n_long / wall_l1:.0f} | 1.00x | {cpu_l1:.3f} (workers {work_l1:.3f}) | 1.00x |")
    p(f"| mpirun -np 2 --mpi --jobs 1 | {wall_l2:.3f} | {n_long / wall_l2:.0f} | **{long_wall:.2f}x** | {cpu_l2:.3f} (half of both ranks') | **{long_cpu:.2f}x** |")
    p("")
    p(f"### Where the long 2-rank wall time goes (against half the 1-rank run: {wall_l1 / 2:.3f} s)")
    p("")
    where("l2", l2, wall_l1 / 2, work_l1)
p(f"## Listing and dealing: {n_small} small files (2 KB instances, 1000 per folder), 2 ranks x 1 thread")
p("")
p("| run wall seconds | listing wall (streamed) / CPU | rank 0 coordinator CPU | rank 0 main thread CPU (all of it) | both ranks' CPU | overhead / wall | overhead / the run's CPU | overhead / one core on idle cores |")
p("|---:|---:|---:|---:|---:|---:|---:|---:|")
p(f"| {small[-1][0]:.3f} | {list_wall:.3f} / {list_cpu:.3f} | {coord_cpu:.3f} | {main0:.3f} | {small_sum:.3f} | {100 * (list_cpu + coord_cpu) / small[-1][0]:.1f} % | {100 * (list_cpu + coord_cpu) / small_sum:.1f} % | {200 * (list_cpu + coord_cpu) / small_sum:.1f} % |")
p("")
p(f"Overhead / the run's CPU in each of the {len(runs_over)} runs: {over_runs} %; the targets row above gives their median "
  f"({over_cpu:.1f} %; of the wall clock {over_wall:.1f} %). The table row is the last run.")
p("")
p("Overhead: CPU seconds of rank 0's lister thread plus its coordinator (dealing, the table of names, gathering "
  "results), last run; against the wall clock (the share of one core they take from the workers), against all "
  "the CPU the run used (both ranks, every thread: the target's figure), and against one core over the time the "
  "run would take on 2 idle cores (half of that CPU). Rank 0's whole main thread also moves the messages of its "
  f"own workers and takes turns (the main threads' turns in this run, rank 0 / rank 1: "
  f"{' / '.join(f'{v[4]:.0f}' for _, v in sorted(small_last.items()))}).")
p("")
p(f"## Per-core metadata rate: one process on one core, a fresh file system per run (bench/percore.py)")
p("")
p(pc.markdown(percore).rstrip("\n"))
p("")
p(f"dcmodify ({dcmodify}) is given the Basic profile as bench/peers.py gives it (bench/basic_args.py: every X "
  "attribute erased, every Z/D/U one blanked, new study/series/instance UIDs, private data erased; it cannot "
  "make dummies, HMAC UIDs or recurse into sequences conditionally, so it still does less than dicomveil). ")
p("The full peer comparison (wall clock, every peer) is bench/RESULTS.md 'Side by side with every peer' "
  "(bench/peers.sh).")
p("")
p("## Seconds per part of this benchmark")
p("")
p("| part | seconds |")
p("|---|---:|")
for name, s in parts:
    p(f"| {name} | {s} |")
open(out, "w").write("\n".join(L) + "\n")
EOF
cat "$OUT"
