#!/usr/bin/env bash
# Server load benchmark (issue 7): `dicomveil serve` on a free loopback port, driven by a separate client
# process (bench/load_client.c: C threads, HTTP/1.1 keep-alive, writev from mmap'ed files; the server's start
# and stores come from bench/lib_server.sh). Bounded in count and time.
#
#   0. The CLI reference (`dicomveil deidentify --config {} --jobs 2` on the generated CT corpus,
#      bench/gen_ct_corpus.py, N_CT instances of 512x512x16-bit): its DISK-TO-DISK rate (the run plus `sync -f`
#      of the output's file system, timed together: until its outputs are on disk, the durability a STOW's 200
#      and an operation's counted item promise) is the reference of the verdicts; printed beside it, the rate
#      until the CLI exits (outputs only in the page cache) and, CLI_RUNS runs first, with --fsync.
#      A `sync` before each timed part (CLI run, STOW, operation): no part pays another's writeback.
#      (docs/decisions.md "CLI reference of the server bench".)
#   1. STOW rate, in ROUNDS rounds interleaved with the reference: REF, STOW, REF, STOW, ..., STOW, REF (each
#      STOW of the same CT files into a fresh store by CLIENTS concurrent clients, batches of 10). Each STOW is
#      divided by the mean of the two reference runs adjacent to it; the verdict (target >= 80 %) takes the
#      median of these per-round ratios and the worst round is printed beside it, with every raw figure
#      (docs/decisions.md "STOW against the CLI in interleaved rounds": the reference alone moves +-15 % between
#      runs minutes apart). Per round also the CPU of the STOW on each side (the client's getrusage, the
#      server's /proc stat user and system), per instance beside the CLI's, the server's fsync / fdatasync /
#      syncfs calls and all its syscalls per instance (perf stat, when perf may read syscall tracepoints), and
#      the load average.
#   2. Index fill to N_INDEX instances: generated tiny instances (one template, UIDs patched in place),
#      STOWed by CLIENTS clients in batches of 50; instances/s.
#   3. QIDO under load at N_INDEX instances: QIDO_CLIENTS clients query (exact PatientID, StudyDate range,
#      PatientName wildcard, series of a study, instances of a series) for QIDO_SECONDS while CLIENTS clients
#      keep STOWing new instances: p50/p99 (target p99 <= 50 ms with SQLite).
#   4. De-identify operation of a whole store vs the CLI: dicomStores.deidentify of the last STOWed CT store (config
#      {}, as the CLI row) polled to done; instances/s by the operation's own createTime..endTime (target >= 90 %
#      of the CLI's disk-to-disk rate: the median of all the rounds' reference runs), by the client's clock, and
#      the server's CPU per instance beside the CLI's.
# It ends with one table of the issue-7 figures, each with its target and PASS/FAIL, the load average at the
# start and end, the server's peak RSS (VmHWM) and the requests lost or failed (must be 0); exit 1 unless
# every target passes. The index is filled by STOW of generated tiny instances (the real put path).
#
# Environment: DV_BIN (default build/dicomveil), N_CT (1000: one CLI run >= 1 s), ROUNDS (STOW rounds, 3: ROUNDS + 1
# reference runs), CLI_RUNS (--fsync runs, 3), N_INDEX (100000), CLIENTS (8), QIDO_CLIENTS (2),
# QIDO_SECONDS (20), TIME_LIMIT (seconds for the whole run, 1800).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN=${DV_BIN:-$REPO/build/dicomveil}
PY=/usr/bin/python3
N_CT=${N_CT:-1000}
CLI_RUNS=${CLI_RUNS:-3}
ROUNDS=${ROUNDS:-3}
N_INDEX=${N_INDEX:-100000}
CLIENTS=${CLIENTS:-8}
QIDO_CLIENTS=${QIDO_CLIENTS:-2}
QIDO_SECONDS=${QIDO_SECONDS:-20}
TIME_LIMIT=${TIME_LIMIT:-1800}
. "$REPO/bench/lib_server.sh"
CLIENT=$(dv_load_client_path)
START=$(date +%s)
left() { echo $(( TIME_LIMIT - ($(date +%s) - START) )); }

W=$(mktemp -d /tmp/dv-server-load-XXXXXX)
SRV_PID=
cleanup() {
  dv_server_stop
  rm -rf "$W"
}
trap cleanup EXIT

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== server load: N_CT=$N_CT N_INDEX=$N_INDEX CLIENTS=$CLIENTS QIDO_CLIENTS=$QIDO_CLIENTS QIDO_SECONDS=$QIDO_SECONDS; load $LOAD_START on $(nproc) CPUs"

CT=$REPO/build/bench/cache/ct_n${N_CT}_seed1
if [ ! -d "$CT" ]; then mkdir -p "$(dirname "$CT")"; $PY "$REPO/bench/gen_ct_corpus.py" "$CT" -n "$N_CT"; fi
find "$CT" -type f -print0 | xargs -0 cat > /dev/null   # page cache warm for both sides

# --- the CLI on the same files, and STOW in rounds interleaved with it ---
# The verdicts use the CLI's DISK-TO-DISK rate: the run plus the time until its outputs are on disk (`sync -f`
# of the output's file system right after it exits, timed together), because a STOW's 200 and an operation's
# counted item survive a power cut (docs/server.md "Durability"; docs/decisions.md "CLI reference of the server
# bench"). Printed beside it: the CLI until it exits (its outputs then only in the page cache: with 23 GB of
# RAM and dirty_ratio 20 it never waits for the disk, and the same files gave 3,272 and 1,207 inst/s minutes
# apart) and the CLI with --fsync (one fsync per output and its directory). A `sync` before each timed run
# so no run pays the writeback of the phase before it (dv_cli_run, bench/lib_server.sh).
head -c 32 /dev/urandom > "$W/key"; chmod 600 "$W/key"; echo '{}' > "$W/config.json"
rate() { echo "scale=1; $N_CT / $1" | bc; }
CLI_EXIT_S=(); CLI_DISK_S=(); CLI_CPU=(); CLI_FSYNC_S=(); CLI_FSYNC_CPU=()
for _ in $(seq "$CLI_RUNS"); do
  read -r e d c < <(dv_cli_run "$CT" "$N_CT" --fsync || true)
  [ -n "${c:-}" ] || { echo "server_load.sh: the CLI --fsync run failed ($W/cli.err)" >&2; exit 1; }
  CLI_FSYNC_S+=("$e"); CLI_FSYNC_CPU+=("$c")
done
# cli_reference: one disk-to-disk run of the reference (its exit time and CPU kept too).
cli_reference() {
  local e d c
  read -r e d c < <(dv_cli_run "$CT" "$N_CT" || true)
  [ -n "${c:-}" ] || { echo "server_load.sh: the CLI reference run failed ($W/cli.err)" >&2; exit 1; }
  CLI_EXIT_S+=("$e"); CLI_DISK_S+=("$d"); CLI_CPU+=("$c")
  echo "-- reference run ${#CLI_DISK_S[@]}: CLI until on disk $(rate "$d") inst/s, until exit $(rate "$e") inst/s, CPU $c ms/inst; load $(cut -d' ' -f1 /proc/loadavg)"
}

# --- the server ---
dv_server_start

field() { $PY -c "import json,sys; print(json.loads(sys.argv[1])$2)" "$1"; }

# stow_round R: the CT files STOWed into a fresh store ctR. The server's syscalls during it (fsync, fdatasync,
# syncfs, and all of them) are counted by `perf stat` on the syscall tracepoints when this machine lets perf
# read them (else "n/a"): what the group durability shares (docs/server.md "Durability"; bench/RESULTS.md
# "STOW group durability", "STOW, fourth pass").
SYNC_EVENTS=syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync,syscalls:sys_enter_syncfs,raw_syscalls:sys_enter
PERF_OK=
if command -v perf > /dev/null && perf stat -e "$SYNC_EVENTS" -x, -o /dev/null true 2> /dev/null; then PERF_OK=1; fi
STOW_RATES=(); STOW_USER_MS=(); STOW_SYS_MS=(); STOW_CLIENT_MS=(); STOW_LOST=0; STOW_RESULTS=(); STOW_SYNCS=()
stow_round() {
  local r=$1 perf_pid= u0 s0 u1 s1 res syncs="n/a" load
  dv_server_stores "ct$r"
  sync # the reference's writeback is not STOW's to pay
  if [ -n "$PERF_OK" ]; then
    perf stat -e "$SYNC_EVENTS" -x, -o "$W/stow_syncs.csv" -p "$(dv_server_pid)" 2> /dev/null &
    perf_pid=$!
    sleep 0.3 # attached before the first request
  fi
  load=$(cut -d' ' -f1 /proc/loadavg)
  read -r u0 s0 < <(dv_server_cpu_split)
  res=$(timeout "$(left)" $CLIENT stow-files "$WEB/ct$r/dicomWeb" "$CT" --clients "$CLIENTS" --batch 10 --deadline "$(left)")
  read -r u1 s1 < <(dv_server_cpu_split)
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid"; wait "$perf_pid" || true
    syncs=$(awk -F, -v n="$N_CT" '/sys_enter/ { sub(/.*sys_enter_?/, "", $3); v[$3 == "" ? "all" : $3] = $1 + 0 }
      END { printf "fsync %.3f, fdatasync %.3f, syncfs %.3f; all syscalls %.1f", v["fsync"] / n, v["fdatasync"] / n,
            v["syncfs"] / n, v["all"] / n }' "$W/stow_syncs.csv")
  fi
  STOW_RESULTS+=("$res"); STOW_SYNCS+=("$syncs")
  STOW_RATES+=("$(field "$res" "['instances'] / json.loads(sys.argv[1])['seconds']")")
  STOW_USER_MS+=("$(echo "scale=3; ($u1 - $u0) * 1000 / $N_CT" | bc)")
  STOW_SYS_MS+=("$(echo "scale=3; ($s1 - $s0) * 1000 / $N_CT" | bc)")
  STOW_CLIENT_MS+=("$(echo "scale=3; $(field "$res" "['client_cpu_s']") * 1000 / $N_CT" | bc)")
  STOW_LOST=$(( STOW_LOST + $(field "$res" "['lost'] + json.loads(sys.argv[1])['failed']") ))
  echo "-- STOW round $r ($N_CT CT instances, $CLIENTS clients; load $load at its start): $(printf '%.1f' "${STOW_RATES[-1]}") inst/s; CPU ms/inst server user ${STOW_USER_MS[-1]} + sys ${STOW_SYS_MS[-1]}, client ${STOW_CLIENT_MS[-1]}; per instance: $syncs; $res"
}

cli_reference
for r in $(seq "$ROUNDS"); do
  stow_round "$r"
  cli_reference
done
CLI_RATE=$(rate "$(dv_median "${CLI_DISK_S[@]}")")       # the operation's reference (STOW's: per round)
CLI_EXIT_RATE=$(rate "$(dv_median "${CLI_EXIT_S[@]}")")
CLI_FSYNC_RATE=$(rate "$(dv_median "${CLI_FSYNC_S[@]}")")
CLI_CPU_MS=$(dv_median "${CLI_CPU[@]}")
CLI_FSYNC_CPU_MS=$(dv_median "${CLI_FSYNC_CPU[@]}")
runs() { local r= x; for x in "$@"; do r="$r${r:+, }$(rate "$x")"; done; echo "$r"; }
echo "-- CLI runs (inst/s): until on disk $(runs "${CLI_DISK_S[@]}"); until exit $(runs "${CLI_EXIT_S[@]}"); --fsync $(runs "${CLI_FSYNC_S[@]}")"
REF_RATES=(); for x in "${CLI_DISK_S[@]}"; do REF_RATES+=("$(rate "$x")"); done
ROUND_OUT=$(dv_stow_rounds "${REF_RATES[*]}" "${STOW_RATES[*]}")
echo "$ROUND_OUT" | grep '^-- round'
read -r STOW_RATIO_MED STOW_RATIO_WORST STOW_RATIO_BEST < <(echo "$ROUND_OUT" | sed -n 's/^= //p')
STOW_RATIO_LIST=$(echo "$ROUND_OUT" | sed -n 's/^-- round .* = \([0-9.]*\) %$/\1/p' | paste -sd, | sed 's/,/, /g')

dv_server_stores idx
R2=$(timeout "$(left)" $CLIENT fill "$WEB/idx/dicomWeb" --count "$N_INDEX" --clients "$CLIENTS" --batch 50 \
  --deadline "$(left)")
R3=$(timeout "$(left)" $CLIENT qido "$WEB/idx/dicomWeb" --indexed "$N_INDEX" --first "$N_INDEX" \
  --clients "$QIDO_CLIENTS" --load-clients "$CLIENTS" --batch 10 --seconds "$QIDO_SECONDS" --deadline "$(left)")

# --- the de-identify operation of a whole store (the STOWed CT corpus) vs the CLI on the same files ---
# dicomStores.deidentify of the last STOW round's store into a new store of the same dataset, with the same config ({}) as the CLI
# row. Two clocks: the operation's own record (createTime, set when the request arrived, to endTime, set when
# its last item was stored: planning included, no HTTP or polling) gives the rate the verdict uses; the
# client's (from the POST to the poll, every 20 ms, that saw done) is printed beside it. The server's CPU
# (utime + stime of the whole process over the operation) per instance is printed beside the CLI's.
deidentify_operation_bench() {
  curl -sf -X POST "$B/datasets/ds/dicomStores?dicomStoreId=ctdeid" -d '{}' > /dev/null
  local t0 t1 c0 c1 op name done=
  sync # the STOW phases' dirty pages are not the operation's to write
  c0=$(dv_server_cpu)
  t0=$(date +%s.%N)
  op=$(curl -sf -X POST "$WEB/ct$ROUNDS:deidentify" \
    -d "{\"destinationStore\": \"projects/p/locations/l/datasets/ds/dicomStores/ctdeid\", \"config\": {}}")
  name=$(field "$op" "['name']")
  while [ "$(left)" -gt 0 ]; do
    op=$(curl -sf "http://127.0.0.1:$PORT/v1beta1/$name")
    if grep -q '"done": *true' <<<"$op"; then done=1; break; fi
    sleep 0.02
  done
  t1=$(date +%s.%N)
  c1=$(dv_server_cpu)
  OP_OK=$(field "$op" "['metadata']['counter'].get('success', '0')")
  OP_FAILED=$(field "$op" "['metadata']['counter'].get('failure', '0')")
  [ -n "$done" ] || OP_FAILED=$((N_CT - OP_OK))
  OP_RATE_CLIENT=$(echo "scale=1; $OP_OK / ($t1 - $t0)" | bc)
  OP_SECONDS=$($PY -c "
import datetime, json, sys
m = json.loads(sys.argv[1])['metadata']
t = lambda s: datetime.datetime.strptime(s, '%Y-%m-%dT%H:%M:%S.%fZ')
print('%.3f' % (t(m['endTime']) - t(m['createTime'])).total_seconds())" "$op" 2>/dev/null || echo "$t1 - $t0" | bc)
  OP_RATE=$(echo "scale=1; $OP_OK / $OP_SECONDS" | bc)
  OP_CPU_MS=$(echo "scale=2; ($c1 - $c0) * 1000 / $N_CT" | bc)
}
deidentify_operation_bench

PEAK_KB=$(awk '/VmHWM/ {print $2}' "/proc/$SRV_PID/status")
METRICS=$(curl -sf "$WEB/idx:getDICOMStoreMetrics")
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
echo "-- fill, $N_INDEX tiny instances, $CLIENTS clients: $R2"
echo "-- QIDO under load, $QIDO_CLIENTS query clients + $CLIENTS STOW clients: $R3"
echo "-- index store metrics at the end: $METRICS"
echo "-- de-identify operation: $OP_OK ok, $OP_FAILED failed"
# Its phases from the server's own log (src/http/op_timing.c: planning, first chunk, last hand-over to the
# durability stage, last item finished; syncfs rounds and their time, commit, finish, the pool's wait for room)
echo "-- de-identify operation phases: $(grep '"event":"operation pipeline"' "$W/server.log" | tail -1 || true)"

LOST=$(( STOW_LOST + $(field "$R2" "['lost'] + json.loads(sys.argv[1])['failed']") \
  + $(field "$R3" "['failed'] + json.loads(sys.argv[1])['stow_under_load']['failed']") + OP_FAILED + N_CT - OP_OK - OP_FAILED ))
STOW_RATE=$(printf '%.1f' "$(dv_median "${STOW_RATES[@]}")")
FILL_RATE=$($PY -c "import json,sys; j=json.loads(sys.argv[1]); print(round(j['ok'] / j['seconds'], 1))" "$R2")
P50=$(field "$R3" "['p50_ms']")
P99=$(field "$R3" "['p99_ms']")
pct() { echo "scale=0; 100 * $1 / $2" | bc; }
verdict() { if [ "$(echo "$1" | bc)" = 1 ]; then echo PASS; else echo FAIL; fi; }
V_STOW=$(verdict "$STOW_RATIO_MED >= 80")   # the median of the per-round ratios (dv_stow_rounds)
V_QIDO=$(verdict "$P99 <= 50")
V_OP=$(verdict "$OP_RATE >= 0.9 * $CLI_RATE")
V_LOST=$(verdict "$LOST == 0")
echo
echo "load average: $LOAD_START at the start, $LOAD_END at the end, on $(nproc) CPUs"
printf '%-52s %-26s %-16s %s\n' "issue 7 figure" "measured" "target" "verdict"
printf '%-52s %-26s %-16s %s\n' "CLI deidentify --jobs 2, $N_CT CT files, until on disk" "$CLI_RATE inst/s" "(reference)" ""
printf '%-52s %-26s %-16s %s\n' "  (median of ${#CLI_DISK_S[@]} runs interleaved with STOW)" "$(runs "${CLI_DISK_S[@]}")" "" ""
printf '%-52s %-26s %-16s %s\n' "  same, until the CLI exits (page cache)" "$CLI_EXIT_RATE inst/s" "" ""
printf '%-52s %-26s %-16s %s\n' "  same with --fsync" "$CLI_FSYNC_RATE inst/s" "" ""
printf '%-52s %-26s %-16s %s\n' "STOW, $CLIENTS clients, same files, $ROUNDS rounds" "median ratio $STOW_RATIO_MED %" ">= 80 % of disk" "$V_STOW"
printf '%-52s %-26s %-16s %s\n' "  (per round, to its adjacent references; worst)" "$STOW_RATIO_LIST %; worst $STOW_RATIO_WORST %" "" ""
printf '%-52s %-26s %-16s %s\n' "  (STOW inst/s per round; median)" "$(printf '%.1f\n' "${STOW_RATES[@]}" | paste -sd, | sed 's/,/, /g'); $STOW_RATE" "" ""
printf '%-52s %-26s %-16s %s\n' "  (median of the CLI until exit; of --fsync)" "$(pct "$STOW_RATE" "$CLI_EXIT_RATE") %; $(pct "$STOW_RATE" "$CLI_FSYNC_RATE") %" "" ""
printf '%-52s %-26s %-16s %s\n' "  (CPU ms/inst: server user + sys, client / CLI)" "$(dv_median "${STOW_USER_MS[@]}") + $(dv_median "${STOW_SYS_MS[@]}"), $(dv_median "${STOW_CLIENT_MS[@]}") / $CLI_CPU_MS" "" ""
printf '%-52s %-26s %-16s %s\n' "  (syncs and syscalls per instance, round 1)" "${STOW_SYNCS[0]}" "" ""
printf '%-52s %-26s %-16s %s\n' "STOW fill, $N_INDEX tiny instances" "$FILL_RATE inst/s ($(field "$R2" "['seconds']") s)" "" ""
printf '%-52s %-26s %-16s %s\n' "QIDO p99 at $N_INDEX instances, under STOW load" "p50 $P50 ms, p99 $P99 ms" "p99 <= 50 ms" "$V_QIDO"
printf '%-52s %-26s %-16s %s\n' "  (queries; instances/s STOWed meanwhile)" "$(field "$R3" "['queries']"); $(field "$R3" "['stow_under_load']['per_s']")" "" ""
printf '%-52s %-26s %-16s %s\n' "dicomStores.deidentify of the $N_CT CT instances" "$OP_RATE inst/s = $(pct "$OP_RATE" "$CLI_RATE") %" ">= 90 % of disk" "$V_OP"
printf '%-52s %-26s %-16s %s\n' "  (of the CLI until exit; of --fsync)" "$(pct "$OP_RATE" "$CLI_EXIT_RATE") %; $(pct "$OP_RATE" "$CLI_FSYNC_RATE") %" "" ""
printf '%-52s %-26s %-16s %s\n' "  (by the client's clock, POST to done)" "$OP_RATE_CLIENT inst/s = $(pct "$OP_RATE_CLIENT" "$CLI_RATE") %" "" ""
printf '%-52s %-26s %-16s %s\n' "  (CPU ms per instance: server / CLI; CLI --fsync)" "$OP_CPU_MS / $CLI_CPU_MS; $CLI_FSYNC_CPU_MS" "" ""
printf '%-52s %-26s %-16s %s\n' "requests lost or failed" "$LOST" "0" "$V_LOST"
printf '%-52s %-26s %-16s %s\n' "server peak RSS (VmHWM)" "$(( PEAK_KB / 1024 )) MB" "" ""
[ "$V_STOW$V_QIDO$V_OP$V_LOST" = PASSPASSPASSPASS ]
