#!/usr/bin/env bash
# Server load benchmark (issue 7): `dicomveil serve` on a free loopback port, driven by a separate client
# process (bench/server_load_client.py, python3 threads, http.client keep-alive). Bounded in count and time.
#
#   1. STOW rate: the generated CT corpus (bench/gen_ct_corpus.py, N_CT instances of 512x512x16-bit) STOWed by
#      CLIENTS concurrent clients (batches of 10), against the CLI's disk-to-disk rate on the same files
#      (`dicomveil deidentify --config {} --jobs 2`): instances/s of each and the ratio (target >= 80 %).
#   2. Index fill to N_INDEX instances: generated tiny instances (one pydicom template, UIDs patched in place),
#      STOWed by CLIENTS clients in batches of 50; instances/s.
#   3. QIDO under load at N_INDEX instances: QIDO_CLIENTS clients query (exact PatientID, StudyDate range,
#      PatientName wildcard, series of a study, instances of a series) for QIDO_SECONDS while CLIENTS clients
#      keep STOWing new instances: p50/p99 (target p99 <= 50 ms with SQLite).
#   4. De-identify operation of a whole store vs the CLI: the hook deidentify_operation_bench below (the
#      operations come with wp-srv-ops; until then it prints that it is not built).
# It prints the server's peak RSS (VmHWM) and the requests lost or failed (must be 0: exit 1 otherwise).
#
# Environment: DV_BIN (default build/dicomveil), N_CT (200), N_INDEX (100000), CLIENTS (8), QIDO_CLIENTS (2),
# QIDO_SECONDS (20), WORKERS (server --workers, 8), TIME_LIMIT (seconds for the whole run, 1800).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN=${DV_BIN:-$REPO/build/dicomveil}
PY=/usr/bin/python3
N_CT=${N_CT:-200}
N_INDEX=${N_INDEX:-100000}
CLIENTS=${CLIENTS:-8}
QIDO_CLIENTS=${QIDO_CLIENTS:-2}
QIDO_SECONDS=${QIDO_SECONDS:-20}
WORKERS=${WORKERS:-8}
TIME_LIMIT=${TIME_LIMIT:-1800}
CLIENT="$PY $REPO/bench/server_load_client.py"
START=$(date +%s)
left() { echo $(( TIME_LIMIT - ($(date +%s) - START) )); }

W=$(mktemp -d /tmp/dv-server-load-XXXXXX)
SRV_PID=
cleanup() {
  if [ -n "$SRV_PID" ] && kill -0 "$SRV_PID" 2>/dev/null; then kill -TERM "$SRV_PID"; wait "$SRV_PID" || true; fi
  rm -rf "$W"
}
trap cleanup EXIT

echo "== server load: N_CT=$N_CT N_INDEX=$N_INDEX CLIENTS=$CLIENTS QIDO_CLIENTS=$QIDO_CLIENTS QIDO_SECONDS=$QIDO_SECONDS WORKERS=$WORKERS; load $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"

CT=$REPO/build/bench/cache/ct_n${N_CT}_seed1
if [ ! -d "$CT" ]; then mkdir -p "$(dirname "$CT")"; $PY "$REPO/bench/gen_ct_corpus.py" "$CT" -n "$N_CT"; fi
find "$CT" -type f -print0 | xargs -0 cat > /dev/null   # page cache warm for both sides

# --- the CLI on the same files (disk to disk) ---
head -c 32 /dev/urandom > "$W/key"; chmod 600 "$W/key"; echo '{}' > "$W/config.json"
t0=$(date +%s.%N)
"$BIN" deidentify --config "$W/config.json" --key-file "$W/key" --jobs 2 --quiet "$CT" "$W/cli-out" 2>"$W/cli.err"
t1=$(date +%s.%N)
CLI_RATE=$(echo "scale=1; $N_CT / ($t1 - $t0)" | bc)
rm -rf "$W/cli-out"

# --- the server ---
"$BIN" serve --data "$W/data" --listen 127.0.0.1:0 --workers "$WORKERS" --max-connections 512 \
  2>"$W/server.log" &
SRV_PID=$!
for _ in $(seq 100); do grep -q '"event":"listening"' "$W/server.log" 2>/dev/null && break; sleep 0.1; done
PORT=$(grep -o '"port":[0-9]*' "$W/server.log" | head -1 | cut -d: -f2)
B=http://127.0.0.1:$PORT/v1beta1/projects/p/locations/l
curl -sf -X POST "$B/datasets?datasetId=ds" -d '{}' > /dev/null
for s in ct idx; do curl -sf -X POST "$B/datasets/ds/dicomStores?dicomStoreId=$s" -d '{}' > /dev/null; done
WEB=$B/datasets/ds/dicomStores

field() { $PY -c "import json,sys; print(json.loads(sys.argv[1])$2)" "$1"; }

R1=$(timeout "$(left)" $CLIENT stow-files "$WEB/ct/dicomWeb" "$CT" --clients "$CLIENTS" --batch 10 --deadline "$(left)")
STOW_RATE=$(field "$R1" "['instances'] / json.loads(sys.argv[1])['seconds']")
R2=$(timeout "$(left)" $CLIENT fill "$WEB/idx/dicomWeb" --count "$N_INDEX" --clients "$CLIENTS" --batch 50 \
  --deadline "$(left)")
R3=$(timeout "$(left)" $CLIENT qido "$WEB/idx/dicomWeb" --indexed "$N_INDEX" --first "$N_INDEX" \
  --clients "$QIDO_CLIENTS" --load-clients "$CLIENTS" --batch 10 --seconds "$QIDO_SECONDS" --deadline "$(left)")

# --- hook: the de-identify operation of a whole store vs the CLI (wp-srv-ops fills this in) ---
deidentify_operation_bench() {
  echo "de-identify operation: not built yet (dicomStores.deidentify comes with wp-srv-ops; hook: deidentify_operation_bench in bench/server_load.sh)"
}

PEAK_KB=$(awk '/VmHWM/ {print $2}' "/proc/$SRV_PID/status")
METRICS=$(curl -sf "$WEB/idx:getDICOMStoreMetrics")
echo "-- STOW, $N_CT CT instances ($(du -sm "$CT" | cut -f1) MB), $CLIENTS clients: $R1"
echo "-- fill, $N_INDEX tiny instances, $CLIENTS clients: $R2"
echo "-- QIDO under load, $QIDO_CLIENTS query clients + $CLIENTS STOW clients: $R3"
echo "-- index store metrics at the end: $METRICS"
deidentify_operation_bench
printf '\n%-44s %s\n' "CLI deidentify --jobs 2 (disk to disk)" "$CLI_RATE instances/s"
printf '%-44s %.1f instances/s (%.0f %% of the CLI)\n' "STOW, $CLIENTS clients, same files" "$STOW_RATE" \
  "$(echo "100 * $STOW_RATE / $CLI_RATE" | bc -l)"
printf '%-44s %.1f instances/s\n' "STOW fill, tiny instances" "$(field "$R2" "['ok'] / json.loads(sys.argv[1])['seconds']")"
printf '%-44s p50 %s ms, p99 %s ms (%s queries, %s instances/s STOWed meanwhile)\n' \
  "QIDO at $N_INDEX instances, under load" "$(field "$R3" "['p50_ms']")" "$(field "$R3" "['p99_ms']")" \
  "$(field "$R3" "['queries']")" "$(field "$R3" "['stow_under_load']['per_s']")"
printf '%-44s %s MB\n' "server peak RSS (VmHWM)" "$(( PEAK_KB / 1024 ))"
LOST=$(( $(field "$R1" "['lost'] + json.loads(sys.argv[1])['failed']") + $(field "$R2" "['lost'] + json.loads(sys.argv[1])['failed']") \
  + $(field "$R3" "['failed'] + json.loads(sys.argv[1])['stow_under_load']['failed']") ))
printf '%-44s %s\n' "requests lost or failed" "$LOST"
[ "$LOST" -eq 0 ]
