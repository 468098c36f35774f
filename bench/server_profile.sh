#!/usr/bin/env bash
# Where a STOW's cost goes, in counts that do not depend on how busy the machine is (bench/RESULTS.md "Server
# load"): `dicomveil serve` under callgrind (instructions of the whole server, zeroed after start-up) and under
# strace -c (syscalls), while bench/load_client.c STOWs N_CT generated CT instances and N_TINY tiny ones with
# CLIENTS clients; the CLI `deidentify --jobs 1` of the same CT files under callgrind for comparison. Then,
# natively (instructions are not time: the kernel's share is not in callgrind's counts), the server's CPU per
# CT instance from its /proc stat and, when perf can sample, perf record's top symbols of the server during
# the CT STOW.
# Prints instructions, syscalls and CPU ms per instance. Small sizes: callgrind runs ~50x slower.
#
# Environment: DV_BIN (default build/dicomveil), N_CT (20), N_TINY (400), CLIENTS (8), N_PERF (CT instances of
# the native phase, 200), KEEP (a folder that receives the callgrind, strace and perf outputs; default: none).
set -euo pipefail
for t in valgrind callgrind_control strace; do
  command -v "$t" > /dev/null || { echo "server_profile.sh: needs $t (Debian: apt-get install valgrind strace)" >&2; exit 2; }
done
REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN=${DV_BIN:-$REPO/build/dicomveil}
PY=/usr/bin/python3
N_CT=${N_CT:-20}
N_TINY=${N_TINY:-400}
CLIENTS=${CLIENTS:-8}
N_PERF=${N_PERF:-200}
W=$(mktemp -d /tmp/dv-server-profile-XXXXXX)
. "$REPO/bench/lib_server.sh"
CLIENT=$(dv_load_client_path)
SRV_PID=
cleanup() {
  dv_server_stop
  rm -rf "$W"
}
trap cleanup EXIT
corpus() {
  local d=$REPO/build/bench/cache/ct_n${1}_seed1
  if [ ! -d "$d" ]; then mkdir -p "$(dirname "$d")"; $PY "$REPO/bench/gen_ct_corpus.py" "$d" -n "$1" > /dev/null 2>&1; fi
  echo "$d"
}
CT=$(corpus "$N_CT")
head -c 32 /dev/urandom > "$W/key"; chmod 600 "$W/key"; echo '{}' > "$W/config.json"

start() { dv_server_start "$@"; dv_server_stores ct idx; }
stop() { dv_server_stop; }
total() { awk '/^(summary|totals):/ {print $2; exit}' "$1"; }

echo "== server profile: N_CT=$N_CT N_TINY=$N_TINY CLIENTS=$CLIENTS; load $(cut -d' ' -f1-3 /proc/loadavg)"
# --- instructions ---
start valgrind --tool=callgrind --callgrind-out-file="$W/cg.%p" --dump-instr=no
callgrind_control -z "$SRV_PID" > /dev/null
$CLIENT stow-files "$WEB/ct/dicomWeb" "$CT" --clients "$CLIENTS" --batch 10 > "$W/r1"
callgrind_control -d ct "$SRV_PID" > /dev/null
callgrind_control -z "$SRV_PID" > /dev/null
$CLIENT fill "$WEB/idx/dicomWeb" --count "$N_TINY" --clients "$CLIENTS" --batch 10 > "$W/r2"
callgrind_control -d tiny "$SRV_PID" > /dev/null
stop
CT_I=$(total "$(ls "$W"/cg.*.1 | head -1)")
TINY_I=$(total "$(ls "$W"/cg.*.2 | head -1)")
valgrind --tool=callgrind --callgrind-out-file="$W/cli.cg" "$BIN" deidentify --config "$W/config.json" \
  --key-file "$W/key" --jobs 1 --quiet "$CT" "$W/cli-out" 2> /dev/null
CLI_I=$(total "$W/cli.cg")
# --- syscalls ---
start strace -f -c -o "$W/strace.txt"
$CLIENT stow-files "$WEB/ct/dicomWeb" "$CT" --clients "$CLIENTS" --batch 10 > /dev/null
$CLIENT fill "$WEB/idx/dicomWeb" --count "$N_TINY" --clients "$CLIENTS" --batch 10 > /dev/null
stop
per() { echo "scale=0; $1 / $2" | bc; }
printf '%-46s %s\n' "server instructions per CT instance STOWed" "$(per "$CT_I" "$N_CT")"
printf '%-46s %s\n' "CLI deidentify instructions per CT instance" "$(per "$CLI_I" "$N_CT")"
printf '%-46s %s\n' "server instructions per tiny instance STOWed" "$(per "$TINY_I" "$N_TINY")"
echo "server syscalls per instance ($((N_CT + N_TINY)) instances, batches of 10), top 12:"
awk -v n=$((N_CT + N_TINY)) 'NR > 2 && $NF != "total" && $4 ~ /^[0-9]+$/ {printf "  %-16s %8.2f\n", $NF, $4 / n}' \
  "$W/strace.txt" | sort -k2 -nr | head -12
awk -v n=$((N_CT + N_TINY)) '$NF == "total" {printf "  %-16s %8.2f\n", "all", $4 / n}' "$W/strace.txt"
# --- native CPU per CT instance (and where it goes, when perf can sample) ---
CTP=$(corpus "$N_PERF")
find "$CTP" -type f -print0 | xargs -0 cat > /dev/null
start
c0=$(dv_server_cpu)
PERF_PID=
if command -v perf > /dev/null && perf record -o "$W/probe.data" -- true > /dev/null 2>&1; then
  perf record -g -o "$W/perf.data" -p "$(dv_server_pid)" > /dev/null 2>&1 &
  PERF_PID=$!
  sleep 0.5
fi
R=$($CLIENT stow-files "$WEB/ct/dicomWeb" "$CTP" --clients "$CLIENTS" --batch 10)
c1=$(dv_server_cpu)
if [ -n "$PERF_PID" ]; then kill -INT "$PERF_PID"; wait "$PERF_PID" || true; fi
stop
echo "native, $N_PERF CT instances, $CLIENTS clients: $R"
printf '%-46s %s\n' "server CPU ms per CT instance STOWed" "$(echo "scale=2; 1000 * ($c1 - $c0) / $N_PERF" | bc)"
printf '%-46s %s\n' "client CPU ms per CT instance" \
  "$($PY -c "import json,sys; print(round(1000 * json.loads(sys.argv[1])['client_cpu_s'] / $N_PERF, 2))" "$R")"
if [ -n "$PERF_PID" ]; then
  echo "server CPU by symbol (perf, self, top 15):"
  { perf report -i "$W/perf.data" --stdio --no-children --sort symbol 2>/dev/null || true; } | grep -E '^ +[0-9.]+%' | head -15 || true
fi
if [ -n "${KEEP:-}" ]; then
  mkdir -p "$KEEP"; cp "$W"/cg.* "$W/cli.cg" "$W/strace.txt" "$KEEP/"; [ ! -f "$W/perf.data" ] || cp "$W/perf.data" "$KEEP/"
fi
