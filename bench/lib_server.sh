# Sourced by bench/server_load.sh and bench/server_profile.sh: `dicomveil serve` on a free loopback port with a
# dataset "ds" and stores, for a benchmark client (bench/load_client.c). Expects BIN (the dicomveil binary) and
# W (the run's scratch folder, removed by the caller); sets SRV_PID, PORT, B (the location's base URL) and WEB
# (the dicomStores URL). The caller's EXIT trap calls dv_server_stop.

# dv_server_start [WRAPPER...]: the server (under a tool such as valgrind or strace when given: SRV_PID is then
# the tool's process, which execs in place or stays the parent), on port 0 (the kernel picks a free one,
# printed in the server's "listening" log line), over a fresh $W/data; OP_WORKERS, when set, is its --op-workers.
dv_server_start() {
  rm -rf "$W/data"
  "$@" "$BIN" serve --data "$W/data" --listen 127.0.0.1:0 --max-connections 512 \
    ${OP_WORKERS:+--op-workers "$OP_WORKERS"} 2>"$W/server.log" &
  SRV_PID=$!
  local _
  for _ in $(seq 600); do grep -q '"event":"listening"' "$W/server.log" 2>/dev/null && break; sleep 0.1; done
  PORT=$(grep -o '"port":[0-9]*' "$W/server.log" | head -1 | cut -d: -f2)
  [ -n "$PORT" ] || { echo "lib_server.sh: the server did not start" >&2; return 1; }
  B=http://127.0.0.1:$PORT/v1beta1/projects/p/locations/l
  WEB=$B/datasets/ds/dicomStores
  curl -sf -X POST "$B/datasets?datasetId=ds" -d '{}' > /dev/null
}

# dv_server_stores ID...: a DICOM store per ID in dataset ds.
dv_server_stores() {
  local s
  for s in "$@"; do curl -sf -X POST "$WEB?dicomStoreId=$s" -d '{}' > /dev/null; done
}

# dv_server_pid: the server process itself (under strace, the tracer's child; else SRV_PID).
dv_server_pid() {
  local kids
  kids=$(cat "/proc/$SRV_PID/task/$SRV_PID/children" 2>/dev/null || true)
  echo "${kids:-$SRV_PID}"
}

# dv_server_cpu: the server's user+system CPU seconds so far (/proc/PID/stat, clock ticks).
dv_server_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '{printf "%.3f\n", ($14 + $15) / hz}' "/proc/$(dv_server_pid)/stat"
}

# dv_server_stop: SIGTERM to the server itself (a tool around it then ends), and wait.
dv_server_stop() {
  [ -n "${SRV_PID:-}" ] || return 0
  if kill -0 "$SRV_PID" 2>/dev/null; then
    kill -TERM "$(dv_server_pid)" 2>/dev/null || true
    wait "$SRV_PID" || true
  fi
  SRV_PID=
}

# dv_load_client_path: the C load client, built with the server (CMake target dv_load_client).
dv_load_client_path() {
  local c=${DV_LOAD_CLIENT:-$(dirname "$BIN")/dv_load_client}
  [ -x "$c" ] || { echo "lib_server.sh: no $c (make build)" >&2; return 1; }
  echo "$c"
}

# dv_cli_run SRC N [OPTION...]: one run of the CLI reference, `deidentify --config $W/config.json --key-file
# $W/key --jobs 2` over the N files of SRC into $W/cli-out (removed after); prints "EXIT DISK CPU_MS": the
# seconds until the CLI exits, the seconds until its outputs are on disk (the run plus `sync -f` of the
# output's file system right after it exits, timed together: the durability a STOW's 200 promises), and its
# user+sys ms per instance. A `sync` first: the writeback of what ran before is not this run's.
# (docs/decisions.md "CLI reference of the server bench")
dv_cli_run() {
  local src=$1 n=$2 t0 t1 t2
  shift 2
  rm -rf "$W/cli-out"
  sync
  t0=$(date +%s.%N)
  /usr/bin/time -f '%U %S' -o "$W/cli.time" "$BIN" deidentify --config "$W/config.json" --key-file "$W/key" \
    --jobs 2 --quiet "$@" "$src" "$W/cli-out" 2>"$W/cli.err"
  t1=$(date +%s.%N)
  sync -f "$W/cli-out"
  t2=$(date +%s.%N)
  rm -rf "$W/cli-out"
  awk -v a="$t0" -v b="$t1" -v c="$t2" -v n="$n" '{printf "%.4f %.4f %.3f\n", b - a, c - a, ($1 + $2) * 1000 / n}' \
    "$W/cli.time"
}

# dv_median X...: the median of the numbers (the middle one; the upper middle of an even count).
dv_median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int(NR / 2) + 1]}'; }

# dv_server_cpu_split: the server's user and system CPU seconds so far, "USER SYS" (/proc/PID/stat).
dv_server_cpu_split() {
  awk -v hz="$(getconf CLK_TCK)" '{printf "%.3f %.3f\n", $14 / hz, $15 / hz}' "/proc/$(dv_server_pid)/stat"
}

# dv_stow_rounds "REF0 REF1 ... REFN" "STOW1 ... STOWN": STOW against the CLI reference measured in interleaved
# rounds (REF0, STOW1, REF1, STOW2, ..., STOWN, REFN; rates in inst/s). Each STOW is divided by the mean of the
# two reference runs adjacent to it (the reference alone moved +-15 % between runs minutes apart: docs/decisions.md
# "STOW against the CLI in interleaved rounds"). Prints one "-- round i: ..." line per STOW with its raw figures,
# then "= MEDIAN WORST BEST" (per cent, one decimal): the median per-round ratio, the lowest and the highest.
# Fails (1) unless there is one more reference than STOWs and at least one STOW.
dv_stow_rounds() {
  awk -v refs="$1" -v stows="$2" 'BEGIN {
    nr = split(refs, r, " "); ns = split(stows, s, " ")
    if (ns < 1 || nr != ns + 1) exit 1
    for (i = 1; i <= ns; i++) {
      m = (r[i] + r[i + 1]) / 2; q[i] = 100 * s[i] / m
      printf "-- round %d: CLI disk-to-disk %.1f and %.1f inst/s adjacent (mean %.1f), STOW %.1f inst/s = %.1f %%\n", \
        i, r[i], r[i + 1], m, s[i], q[i]
    }
    for (i = 1; i <= ns; i++) for (j = i + 1; j <= ns; j++) if (q[j] < q[i]) { t = q[i]; q[i] = q[j]; q[j] = t }
    printf "= %.1f %.1f %.1f\n", q[int(ns / 2) + 1], q[1], q[ns]
  }'
}
