#!/usr/bin/env bash
# dicomveil deidentify --mpi (docs/decisions.md "MPI batch mode"): `mpirun -np 2` over several hundred
# generated instances with duplicates (exact copies, and same-UID copies with other pixel bytes sorting before
# and after the original), broken files, symbolic links and a FIFO gives DST byte for byte equal to the single-process run with the
# same key, the same report (but its elapsed time) whose counts add up; a rank killed mid-way (the job then
# ends) and, separately, the whole job killed mid-way, then `--resume` under mpirun, end with each instance
# exactly once and DST and report identical to the uninterrupted run, and a killed rank loses at most its chunks
# in flight. --mpi without --key-file is refused with nothing written. Fails when mpirun is missing.
set -euo pipefail

# shellcheck source=tests/integration/cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"
pids=()
cleanup() {
    local p
    for p in ${pids[@]+"${pids[@]}"}; do
        # shellcheck disable=SC2046
        kill -9 $(pgrep -P "$p") "$p" 2>/dev/null || true
    done
    rm -rf "$T"
}
trap cleanup EXIT
command -v dcmdump >/dev/null || { echo "FAIL: dcmdump (dcmtk) is required" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "FAIL: mpirun is required (Debian openmpi-bin; make deps)" >&2; exit 1; }

# Open MPI as root in a container without a network: root allowed, shared memory and self transports only
# (no TCP probing), no ssh (one node), no single-copy kernel mechanism (CMA needs ptrace rights containers
# often lack), two ranks on however many cores.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader \
    OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_plm=isolated OMPI_MCA_rmaps_base_oversubscribe=1 \
    OMPI_MCA_btl_base_warn_component_unused=0 OMPI_MCA_mpi_warn_on_fork=0
# Under ASan (ctest-asan): Open MPI does not free everything at MPI_Finalize and unloads its components, so
# leaks are unwound fully (their frames then name Open MPI's libraries) and Open MPI's are suppressed; leaks of
# dicomveil's own code still fail the run.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$SRCDIR/tests/integration/openmpi-lsan.supp:print_suppressions=0"
# Small chunks, so the job is dealt in many pieces and a kill lands between them.
CHUNK=4
export DICOMVEIL_MPI_CHUNK=$CHUNK
MPIRUN=(mpirun -np 2 --oversubscribe)

N=300
head -c 32 /dev/urandom >"$T/key" && chmod 600 "$T/key"
echo '{"dicomTagConfig":{"profileType":"ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"}}' >"$T/cfg.json"
mkdir -p "$T/src"
gen_duplicates "$T/src" "$N"
# Entries that are neither files nor folders (docs/decisions.md "Every entry of a source folder is accounted
# for"): skipped with reason not_regular_file, in the MPI report as in the single-process one (the reason was
# lost on the way to rank 0).
cp "$T/src/ct00000.dcm" "$T/outside.dcm"
ln -s "$T/outside.dcm" "$T/src/link_out.dcm"
ln -s nowhere "$T/src/link_dangling.dcm"
mkfifo "$T/src/fifo.dcm"
MUST_NOT_PRINT=("$T/src")

# reports_equal A B [resumed]: the same report but for elapsed_seconds (instances in input order, counts, input
# bytes; not those after a resume, which reads only what it redoes, as the local --resume).
reports_equal() {
    python3 - "$1" "$2" "${3:-}" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for d in (a, b):
    d.pop("elapsed_seconds")
    if sys.argv[3]:
        d["counts"].pop("input_bytes")
sys.exit(0 if a == b else 1)
EOF
}

# ---- the single-process reference ----
run 1 reference deidentify -q --jobs 2 --config "$T/cfg.json" --key-file "$T/key" --report "$T/ref.json" \
    "$T/src" "$T/ref"
[ "$(json "$T/ref.json" 'd["counts"]["duplicate"] > 40 and d["counts"]["failed"] >= 5 and d["counts"]["skipped"] >= 1')" = True ] ||
    fail "reference: the corpus lacks duplicates or broken files: $(counts "$T/ref.json")"

# ---- two ranks, one thread each: byte for byte the reference ----
DV_LAUNCH=("${MPIRUN[@]}")
run 1 "mpi" deidentify --mpi -q --jobs 1 --config "$T/cfg.json" --key-file "$T/key" --report "$T/m.json" \
    "$T/src" "$T/m"
grep -q "mpi: 2 ranks x 1 threads; $(json "$T/ref.json" 'd["counts"]["total"]') inputs listed" "$T/err" ||
    fail "mpi: no summary of 2 ranks: $(head -c 400 "$T/err")"
same mpi "$T/m" "$T/m.json" "$T/ref" "$T/ref.json"
reports_equal "$T/m.json" "$T/ref.json" || fail "mpi: the report differs from the single-process one"
[ "$(json "$T/m.json" 'sum(e.get("reason") == "not_regular_file" for e in d["instances"])')" = 3 ] ||
    fail "mpi: links and the FIFO are not skipped as not_regular_file"
# The default pixel memory is half the node's memory shared among its ranks (2 here), at least 256 MiB each
# (dv_pixel_budget_default_share); before, each rank took half.
python3 - "$T/err" <<'EOF' || fail "mpi: rank 0's pixel memory is not half the node's memory over 2 ranks"
import os, re, sys
mem = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
for f in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
    try:
        v = open(f).read().strip()
        if v.isdigit() and 0 < int(v) < mem:
            mem = int(v)
    except OSError:
        pass
want = max(256 << 20, mem // 2 // 2) >> 20
got = re.search(r"rank 0's pixel memory (\d+) MiB;", open(sys.argv[1]).read())
print("rank 0's pixel memory: %s MiB, expected %d" % (got and got.group(1), want))
sys.exit(0 if got and int(got.group(1)) == want else 1)
EOF
# Both ranks worked, and every failed instance is named once on stderr (by the rank that ran it).
grep -qE "inputs dealt per rank: [1-9][0-9]* [1-9][0-9]*$" "$T/err" ||
    fail "mpi: the work was not shared by both ranks: $(grep 'dealt' "$T/err")"
# Each rank's CPU seconds (bench/mpi.sh reads them): one line per rank, the parts within the process total.
python3 - "$T/err" <<'EOF' || fail "mpi: no CPU seconds per rank: $(grep 'CPU seconds' "$T/err" | head -c 400)"
import re, sys
rows = re.findall(r"rank (\d) CPU seconds during the run: process ([\d.]+) = workers ([\d.]+) \+ main ([\d.]+) "
                  r"\+ lister ([\d.]+) \+ other (-?[\d.]+); main thread turns (\d+) \((\d+) short\), report ([\d.]+) "
                  r"of main", open(sys.argv[1]).read())
ok = sorted(r[0] for r in rows) == ["0", "1"]
for rank, p, w, m, l, o, turns, short, rep in rows:
    ok = ok and float(w) > 0 and float(p) + 0.002 >= float(w) + float(m) + float(l)
    ok = ok and 0 < int(turns) and int(short) <= int(turns)
    # the report's CPU is rank 0's (it writes the report), a part of its main thread's
    ok = ok and (float(rep) == 0 if rank != "0" else 0 < float(rep) <= float(m))
sys.exit(0 if ok else 1)
EOF
# Each rank's timeline (bench/mpi.sh's account of the wall time): in order on the one clock, work done in it.
python3 - "$T/err" <<'EOF' || fail "mpi: no timeline per rank: $(grep 'timeline' "$T/err" | head -c 400)"
import re, sys
rows = re.findall(r"rank (\d) CPU seconds .*timeline \(s after rank 0's start\): start (-?[\d.]+), first chunk "
                  r"(-?[\d.]+), last input done (-?[\d.]+), end (-?[\d.]+); workers waited ([\d.]+) s for chunks",
                  open(sys.argv[1]).read())
ok = sorted(r[0] for r in rows) == ["0", "1"]
for rank, start, first, last, end, waited in rows:
    start, first, last, end, waited = map(float, (start, first, last, end, waited))
    ok = ok and (rank != "0" or start == 0) and start <= first < last <= end and 0 <= waited < end - start
sys.exit(0 if ok else 1)
EOF
[ "$(grep -c 'instance #' "$T/err")" = "$(json "$T/ref.json" 'd["counts"]["failed"]')" ] ||
    fail "mpi: each failed instance should be named once on stderr"
# Two ranks x two threads, two SRC arguments (the list continues across them), --resume from the start.
mkdir -p "$T/src2"
mv "$T/src/zz"* "$T/src2/"
DV_LAUNCH=()
run 1 "reference 2" deidentify -q --jobs 2 --config "$T/cfg.json" --key-file "$T/key" --report "$T/ref2.json" \
    "$T/src" "$T/src2" "$T/ref2"
DV_LAUNCH=("${MPIRUN[@]}")
# The default chunk size here (DICOMVEIL_MPI_CHUNK empty): chunks of up to 512, the guided tail down to its floor
# of 16 (mpi_coord.c chunk_floor), paths prefix-compressed across a whole folder (mpi_coord.c dvm_coord_step).
DICOMVEIL_MPI_CHUNK= run 1 "mpi 2" deidentify --mpi -q --jobs 2 --resume --config "$T/cfg.json" --key-file "$T/key" \
    --report "$T/m2.json" "$T/src" "$T/src2" "$T/m2"
same "mpi 2" "$T/m2" "$T/m2.json" "$T/ref2" "$T/ref2.json"
# A first --resume says that nothing was restored, as one process does ("0 of N"; N is not known while listing)
grep -qF "resume: 0 inputs restored (no journal from an earlier attempt)" "$T/err" ||
    fail "mpi 2: a first --resume should say that nothing was restored: $(grep resume: "$T/err")"
reports_equal "$T/m2.json" "$T/ref2.json" || fail "mpi 2: the report differs from the single-process one"
# The same job resumed once it is complete redoes nothing: every ok and every duplicate input is restored (a
# duplicate is journaled with the name it duplicates, as in one process; docs/decisions.md "What is skipped").
DICOMVEIL_MPI_CHUNK= run 1 "mpi 2 resumed complete" deidentify --mpi -q --jobs 2 --resume --config "$T/cfg.json" \
    --key-file "$T/key" --report "$T/m2.json" "$T/src" "$T/src2" "$T/m2"
want=$(json "$T/ref2.json" 'd["counts"]["ok"] + d["counts"]["duplicate"]')
grep -qE "resume: $want of [0-9]+ inputs restored" "$T/err" ||
    fail "mpi 2 resumed complete: not every ok and duplicate input restored ($want): $(grep resume: "$T/err")"
same "mpi 2 resumed complete" "$T/m2" "$T/m2.json" "$T/ref2" "$T/ref2.json"
mv "$T/src2/"* "$T/src/"
rmdir "$T/src2"

# ---- kills, then --resume under mpirun ----
# start_job NAME DST: the MPI job in the background; JOB is mpirun's pid (Open MPI starts each rank in a process
# group of its own, so the job is mpirun and its children).
start_job() {
    "${MPIRUN[@]}" "$DV_BIN" deidentify --mpi -q --jobs 1 --resume --fsync --config "$T/cfg.json" \
        --key-file "$T/key" --report "$T/$1.json" "$T/src" "$T/$2" >"$T/out_$1" 2>"$T/err_$1" &
    JOB=$!
    pids+=("$JOB")
}
# outputs DST: how many outputs DST holds (0 before it exists).
outputs() { { find "$T/$1" -name '*.dcm' 2>/dev/null || true; } | wc -l; }
# wait_files DST COUNT: until DST holds COUNT outputs (or the job ended).
wait_files() {
    local i=0
    while [ "$(outputs "$1")" -lt "$2" ]; do
        kill -0 "$JOB" 2>/dev/null && [ $i -lt 2000 ] || return 1
        sleep 0.01
        i=$((i + 1))
    done
}
# rank_pid R: the pid of rank R of the job (Open MPI puts OMPI_COMM_WORLD_RANK in each rank's environment).
rank_pid() {
    local p
    for p in $(pgrep -P "$JOB"); do
        if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -x "OMPI_COMM_WORLD_RANK=$1" >/dev/null &&
            [ "$(cat "/proc/$p/comm" 2>/dev/null)" = dicomveil ]; then
            echo "$p"
            return 0
        fi
    done
    return 1
}
# kill_job: SIGKILL to the ranks and mpirun at once.
kill_job() {
    # shellcheck disable=SC2046
    kill -9 $(pgrep -P "$JOB") "$JOB" 2>/dev/null
}
# job_end: wait for mpirun (at most ~20 s), then make sure nothing of the job is left.
job_end() {
    local i=0
    while kill -0 "$JOB" 2>/dev/null && [ $i -lt 1000 ]; do sleep 0.02; i=$((i + 1)); done
    kill_job || true
    wait "$JOB" 2>/dev/null || true
}
total=$(json "$T/ref.json" 'd["counts"]["total"]')

# Mid-way, however fast the machine: rank 1 is stopped (SIGSTOP) as soon as its worker pool runs (its threads are
# named dv-worker; every rank is then past MPI's start and the ranks' agreement), so the job cannot end (rank 0
# deals on and works alone, then waits for rank 1's chunks); the kill comes once rank 0 has written more.
# stop_rank1: 0 when rank 1 was found and stopped (its pid in stopped_pid).
stop_rank1() {
    local i=0 p="" t name
    stopped_pid=""
    while [ $i -lt 5000 ]; do
        [ -n "$p" ] || p=$(rank_pid 1) || p=""
        for t in ${p:+/proc/$p/task/*/comm}; do
            read -r name <"$t" 2>/dev/null || continue
            if [ "$name" = dv-worker ]; then
                kill -STOP "$p" && stopped_pid=$p
                return
            fi
        done
        kill -0 "$JOB" 2>/dev/null || return 1
        sleep 0.002
        i=$((i + 1))
    done
    return 1
}

# One rank (rank 1) killed with SIGKILL: mpirun then ends the job. On a loaded machine the whole job can end
# before the polling above sees rank 1's workers; that attempt proves nothing, so it is made again (at most 3).
# stopped_mid_way: 0 once rank 1 is stopped and rank 0 has written a third of the outputs (victim: rank 1).
stopped_mid_way() {
    local attempt
    for attempt in 1 2 3; do
        rm -rf "$T/rk" "$T/rk.json" "$T/rk.json.journal"
        start_job rk rk
        step="stopping rank 1"
        stop_rank1 && step="waiting for a third of the outputs" && wait_files rk $((N / 3)) &&
            step="finding rank 1 again" && victim=$stopped_pid && kill -0 "$victim" 2>/dev/null && return 0
        [ "$step" = "stopping rank 1" ] && ! kill -0 "$JOB" 2>/dev/null || return 1
        job_end
    done
    return 1
}
if stopped_mid_way; then
    kill -9 "$victim"
    job_end
    files=$(outputs rk)
    journaled=$(grep -c '^D .* ok ' "$T/rk.json.journal" || true)
    [ ! -e "$T/rk.json" ] || fail "rank kill: the job had finished before the kill: the check proves little"
    # Every output whose result reached rank 0 is journaled; only the chunks a rank holds can have outputs without
    # a line: up to DVM_STORE (4, src/cli/cli_mpi.h) per rank since a rank asks for its next chunk when every input
    # of one is taken (07473a2), and mpirun ends rank 0 too once rank 1 is killed, so both ranks' are lost. The
    # bound was 2 chunks a rank, left from before that change: a loaded run had 17 outputs without a line (stop 36).
    [ $((files - journaled)) -le $((2 * 4 * CHUNK)) ] ||
        fail "rank kill: $files outputs but only $journaled journaled: more than the chunks in flight lost"
    run 1 "resume after a rank kill" deidentify --mpi -q --jobs 1 --resume --config "$T/cfg.json" \
        --key-file "$T/key" --report "$T/rk.json" "$T/src" "$T/rk"
    grep -qE "resume: [1-9][0-9]* of $total inputs restored" "$T/err" ||
        fail "rank kill: nothing restored: $(head -c 400 "$T/err")"
    same "rank kill" "$T/rk" "$T/rk.json" "$T/ref" "$T/ref.json"
    reports_equal "$T/rk.json" "$T/ref.json" resumed || fail "rank kill: the report differs from the uninterrupted one"
else
    state="$(outputs rk) outputs; the job $(kill -0 "$JOB" 2>/dev/null && echo was still running || echo had ended)"
    job_end
    fail "rank kill: failed while $step ($state)"
fi

# The whole job (mpirun and both ranks) killed with SIGKILL, twice, then resumed to the end. As above, a job that
# ended before rank 1 could be stopped proves nothing: the two kills are then made again on a fresh DST (at most 3).
# Every batch between ranks is sealed (src/cli/mpi_seal.c): the shared-memory segments such a kill leaves in
# /dev/shm (Open MPI removes them only at a job's end) hold no source path (stop 53's red team found the last dealt
# paths there; test_mpi_seal takes the sealing apart). The segments these kills leave are removed afterwards.
shm_before=$(ls /dev/shm)
killed=0
for series in 1 2 3; do
    rm -rf "$T/all" "$T/all.json" "$T/all.json.journal"
    killed=0 raced=0
    for attempt in 1 2; do
        before=$(outputs all)
        start_job all all
        if stop_rank1; then
            wait_files all $((before + (N - before) / 3 + 1)) && kill_job && killed=$((killed + 1))
        elif ! kill -0 "$JOB" 2>/dev/null; then
            raced=1
        fi
        job_end
    done
    if [ "$raced" -eq 0 ] || [ "$killed" -eq 2 ]; then break; fi
done
[ "$killed" -eq 2 ] || fail "job kill: only $killed of 2 attempts were killed mid-way: the check proves little"
segments=$(find /dev/shm -maxdepth 1 -type f -user "$(id -u)" -name 'vader_segment.*' | sort)
[ -n "$segments" ] || fail "job kill: no Open MPI segment left in /dev/shm: the check below proves nothing"
# shellcheck disable=SC2086
leaked=$(grep -lF -- "$T/src" $segments 2>/dev/null | wc -l || true)
[ "$leaked" -eq 0 ] || fail "job kill: $leaked shared-memory segment(s) in /dev/shm hold source paths"
for f in $segments; do
    grep -qxF -- "$(basename "$f")" <<<"$shm_before" || rm -f "$f"
done
run 1 "resume after job kills" deidentify --mpi -q --jobs 1 --resume --config "$T/cfg.json" \
    --key-file "$T/key" --report "$T/all.json" "$T/src" "$T/all"
same "job kill" "$T/all" "$T/all.json" "$T/ref" "$T/ref.json"
reports_equal "$T/all.json" "$T/ref.json" resumed || fail "job kill: the report differs from the uninterrupted one"
grep -qF -- "$T/src" "$T/all.json.journal" && fail "journal: holds a source path"

# ---- ranks given different key files would write different UIDs into one DST: the first sealed batch between
# them fails its check and the job is aborted ----
head -c 32 /dev/urandom >"$T/key2" && chmod 600 "$T/key2"
rc=0
mpirun -np 1 "$DV_BIN" deidentify --mpi -q --jobs 1 --config "$T/cfg.json" --key-file "$T/key" "$T/src" "$T/k2" : \
    -np 1 "$DV_BIN" deidentify --mpi -q --jobs 1 --config "$T/cfg.json" --key-file "$T/key2" "$T/src" "$T/k2" \
    >/dev/null 2>"$T/k2.err" || rc=$?
[ "$rc" -ne 0 ] && grep -q "mpi: a batch from rank [01] failed its check (was that rank given another --key-file?)" \
    "$T/k2.err" || fail "ranks with different key files: exit $rc, $(grep -v '^\s*$' "$T/k2.err" | head -c 400)"

# ---- an input withdrawn from SRC between two attempts takes its output with it (docs/decisions.md "Withdrawn
# inputs"): rank 0 holds the names and the journal, and removes what no input holds at the end ----
mkdir -p "$T/wd/src"
cp "$DATA/pydicom/CT_small.dcm" "$T/wd/src/a.dcm"
cp "$DATA/pydicom/MR_small.dcm" "$T/wd/src/b.dcm"
run 0 "mpi withdrawn input (first attempt)" deidentify --mpi -q --jobs 1 --resume --config "$T/cfg.json" \
    --key-file "$T/key" --report "$T/wd.json" "$T/wd/src" "$T/wd/dst"
[ "$(outputs wd/dst)" = 2 ] || fail "mpi withdrawn input: the first attempt did not write 2 outputs"
rm -f "$T/wd/src/b.dcm"
run 0 "mpi withdrawn input" deidentify --mpi -q --jobs 1 --resume --config "$T/cfg.json" --key-file "$T/key" \
    --report "$T/wd.json" "$T/wd/src" "$T/wd/dst"
grep -q "resume: 1 stale output(s) removed" "$T/err" || fail "mpi withdrawn input: stderr does not say it: $(head -c 400 "$T/err")"
DV_LAUNCH=()
run 0 "mpi withdrawn input (fresh run)" deidentify -q --jobs 1 --config "$T/cfg.json" --key-file "$T/key" \
    --report "$T/wd.ref.json" "$T/wd/src" "$T/wd/ref"
DV_LAUNCH=("${MPIRUN[@]}")
same "mpi withdrawn input" "$T/wd/dst" "$T/wd.json" "$T/wd/ref" "$T/wd.ref.json"
[ "$(json "$T/wd.json" 'd["counts"].get("stale_outputs_removed")')" = 1 ] ||
    fail "mpi withdrawn input: counts.stale_outputs_removed is $(json "$T/wd.json" 'd["counts"].get("stale_outputs_removed")')"

# ---- a forged journal line is not trusted under --mpi either (docs/decisions.md "A journal line is trusted
# only with its MAC"): rank 0 reads and writes the journal through journal.c, so a C line without its MAC never
# has a foreign file in DST removed ----
mkdir -p "$T/wd/dst/1.2.3/4.5.6"
echo "not dicomveil's" >"$T/wd/dst/1.2.3/4.5.6/7.8.9.dcm"
echo "C 0 1.2.3/4.5.6/7.8.9.dcm" >>"$T/wd.json.journal"
run 0 "mpi forged C line" deidentify --mpi -q --jobs 1 --resume --config "$T/cfg.json" --key-file "$T/key" \
    --report "$T/wd.json" "$T/wd/src" "$T/wd/dst"
[ -f "$T/wd/dst/1.2.3/4.5.6/7.8.9.dcm" ] || fail "mpi forged C line: resume removed a file the run never wrote"
grep -q "1 journal line(s) refused" "$T/err" || fail "mpi forged C line: not counted: $(head -c 400 "$T/err")"
[ "$(json "$T/wd.json" 'd["counts"].get("stale_outputs_removed")')" = 0 ] || fail "mpi forged C line: counted removed"

# ---- refusals: exit 2, nothing written ----
DV_LAUNCH=()
run 2 "mpi without a key file" deidentify --mpi -q --config "$T/cfg.json" "$T/src" "$T/r1"
run 2 "mpi with mapping" deidentify --mpi -q --config "$T/cfg.json" --key-file "$T/key" --mapping "$T/r2.csv" \
    "$T/src" "$T/r2"
for d in r1 r2; do [ ! -e "$T/$d" ] || fail "refused run created $d"; done
# A rank that refuses (here every rank: the config is missing) stops every rank before anything is written.
DV_LAUNCH=("${MPIRUN[@]}")
run 2 "mpi with a missing config" deidentify --mpi -q --config "$T/nope.json" --key-file "$T/key" "$T/src" "$T/r3"
[ ! -e "$T/r3" ] || fail "refused mpi run created its DST"
# DICOMVEIL_MPI_CHUNK is refused like a bad option unless a whole number from 1 to 4096 (it was replaced by the
# default, or cut at its first non-digit, without a word)
for v in 0 4097 abc 5x; do
    DICOMVEIL_MPI_CHUNK=$v run 2 "mpi chunk '$v'" deidentify --mpi -q --config "$T/cfg.json" --key-file "$T/key" \
        "$T/src" "$T/r4"
    grep -q "DICOMVEIL_MPI_CHUNK: expected a whole number from 1 to 4096" "$T/err" ||
        fail "mpi chunk '$v': not said: $(head -c 300 "$T/err")"
    [ ! -e "$T/r4" ] || fail "mpi chunk '$v': the refused run created its DST"
done

finish test_cli_mpi
