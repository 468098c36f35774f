#!/usr/bin/env bash
# dicomveil deidentify killed midway never leaves a partial output or a temp file:
#  - SIGKILL on the O_TMPFILE path (nothing can clean up after SIGKILL, so the design itself must guarantee it);
#  - SIGTERM/SIGINT/SIGHUP, and SIGQUIT/SIGUSR1 (every terminating signal sent from outside is caught), on the
#    named-temp fallback (DICOMVEIL_NO_O_TMPFILE=1), whose handler removes temps.
# Every .dcm left behind must be byte-identical to the same file of a complete reference run (same key), and
# re-running into the killed DST must complete it to exactly the reference.
set -euo pipefail

# shellcheck source=tests/integration/cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT
command -v dcmdump >/dev/null || { echo "FAIL: dcmdump (dcmtk) is required" >&2; exit 1; }

N=1000
head -c 32 /dev/urandom >"$T/key" && chmod 600 "$T/key"
echo '{"dicomTagConfig":{"profileType":"ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"}}' >"$T/cfg.json"

mkdir -p "$T/src"
gen_distinct "$T/src" "$N"

"$DV_BIN" deidentify -q --jobs 2 --config "$T/cfg.json" --key-file "$T/key" "$T/src" "$T/ref" 2>"$T/err" ||
    { echo "FAIL: reference run: $(cat "$T/err")" >&2; exit 1; }
nref=$(find "$T/ref" -type f -name '*.dcm' | wc -l)
[ "$nref" -eq "$N" ] || { echo "FAIL: reference run wrote $nref of $N" >&2; exit 1; }

# check_dst NAME DST: only complete outputs, identical to the reference, no temp or stray files.
check_dst() {
    local name=$1 dst=$2
    local tmps stray bad=0
    tmps=$(find "$dst" -name '.dvtmp-*' | wc -l)
    [ "$tmps" -eq 0 ] || fail "$name: $tmps temp file(s) left behind"
    stray=$(cd "$dst" && find . -type f | sed 's|^\./||' | grep -vE '^2\.25\.[0-9]+/2\.25\.[0-9]+/2\.25\.[0-9]+\.dcm$' || true)
    [ -z "$stray" ] || fail "$name: unexpected files: $(echo "$stray" | head -3)"
    # One process compares them all (a cmp per file was ~1000 forks per check).
    bad=$(python3 - "$dst" "$T/ref" <<'EOF'
import os, sys
dst, ref = sys.argv[1], sys.argv[2]
bad = 0
for root, _, files in os.walk(dst):
    for f in files:
        if f.endswith(".dcm"):
            p = os.path.join(root, f)
            try:
                with open(p, "rb") as a, open(os.path.join(ref, os.path.relpath(p, dst)), "rb") as b:
                    bad += a.read() != b.read()
            except OSError:  # no such file in the reference: as cmp, a difference
                bad += 1
print(bad)
EOF
)
    [ "$bad" -eq 0 ] || fail "$name: $bad output file(s) partial or different from the reference"
    # And every one re-reads as DICOM (dcmdump exits non-zero when any file of a batch is truncated).
    find "$dst" -type f -name '*.dcm' -print0 | xargs -0 -r -n 200 dcmdump -q >/dev/null 2>&1 ||
        fail "$name: dcmdump cannot read every output"
}

# kill_midway NAME SIGNAL EXPECTED_RC ENV [ARGS...]: start a run (ENV: "" or VAR=VALUE; ARGS: extra options),
# wait for its first output, send SIGNAL, and check what it left. Background jobs of a script start with SIGINT
# and SIGQUIT ignored (and the CLI keeps an ignored signal ignored, as nohup needs), hence --default-signal.
# A run that had written all N outputs before the signal reached it proves nothing either way (on a loaded CI
# machine the 10 ms polling can lag a whole ~0.2 s run: it happened once beside other work, and once the signal
# landed after the last output, during the run's last steps, exit 131 with every output written): that attempt
# is void and is made again, up to 5 times; every other outcome is judged.
kill_midway() {
    local name=$1 sig=$2 want=$3 envspec=$4
    shift 4
    local dst="$T/dst_$name" attempt rc got
    for attempt in 1 2 3 4 5; do
        rm -rf "$dst"
        # shellcheck disable=SC2086 # envspec is empty or one word
        env --default-signal=INT,TERM,HUP,QUIT $envspec "$DV_BIN" deidentify -q --jobs 2 "$@" --config "$T/cfg.json" \
            --key-file "$T/key" "$T/src" "$dst" 2>"$T/err_$name" &
        local pid=$!
        pids+=("$pid")
        local i=0
        while [ -z "$(find "$dst" -name '*.dcm' -print -quit 2>/dev/null)" ] && [ $i -lt 3000 ]; do
            sleep 0.01
            i=$((i + 1))
        done
        kill -s "$sig" "$pid" 2>/dev/null || true
        rc=0
        { wait "$pid"; } 2>/dev/null || rc=$? # (no "Killed" job notice)
        got=$(find "$dst" -type f -name '*.dcm' | wc -l)
        [ "$got" -eq "$N" ] || break
        echo "$name: attempt $attempt wrote every output before SIG$sig reached it (exit $rc); again" >&2
    done
    [ "$rc" -eq "$want" ] || fail "$name: exit $rc after SIG$sig, expected $want (was it killed midway?)"
    if [ "$got" -eq 0 ] || [ "$got" -ge "$N" ]; then
        fail "$name: $got of $N outputs when killed: not midway, the check proves nothing"
    fi
    check_dst "$name" "$dst"
}

kill_midway sigkill KILL 137 ""
# --fsync makes each write slower, so the kill is even more likely to land inside one.
kill_midway sigkill_fsync KILL 137 "" --fsync
kill_midway sigterm_named TERM 143 DICOMVEIL_NO_O_TMPFILE=1
kill_midway sigint_named INT 130 DICOMVEIL_NO_O_TMPFILE=1
kill_midway sighup_named HUP 129 DICOMVEIL_NO_O_TMPFILE=1
# SIGQUIT would dump core: none is wanted from a test.
ulimit -c 0
kill_midway sigquit_named QUIT 131 DICOMVEIL_NO_O_TMPFILE=1
kill_midway sigusr1_named USR1 138 DICOMVEIL_NO_O_TMPFILE=1

# A complete run on the fallback path gives exactly the reference.
DICOMVEIL_NO_O_TMPFILE=1 "$DV_BIN" deidentify -q --jobs 2 --config "$T/cfg.json" --key-file "$T/key" "$T/src" \
    "$T/dst_named_full" 2>"$T/err" || fail "named-temp full run failed: $(cat "$T/err")"
check_dst named_full "$T/dst_named_full"
[ "$(find "$T/dst_named_full" -name '*.dcm' | wc -l)" -eq "$N" ] || fail "named-temp full run is incomplete"

# Resuming a killed run completes it: earlier outputs count as duplicates, and the result is the reference.
rc=0
"$DV_BIN" deidentify -q --jobs 2 --config "$T/cfg.json" --key-file "$T/key" "$T/src" "$T/dst_sigkill" 2>"$T/err" ||
    rc=$?
[ "$rc" -eq 0 ] || fail "resume after SIGKILL: exit $rc: $(tail -n 1 "$T/err")"
grep -qE "^instances: [0-9]+ ok, 0 failed, 0 skipped, [1-9][0-9]* duplicate;" "$T/err" ||
    fail "resume: summary '$(tail -n 1 "$T/err")'"
diff -r "$T/ref" "$T/dst_sigkill" >/dev/null || fail "resume: DST differs from the reference"

finish test_cli_kill
