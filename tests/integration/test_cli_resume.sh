#!/usr/bin/env bash
# dicomveil deidentify --resume (docs/decisions.md "Resumable runs"): a run killed with SIGKILL several times
# and resumed ends with a DST byte-identical to one uninterrupted run and the same per-input statuses and
# counts, over several hundred generated instances with duplicates (exact copies, and same-UID copies with
# other pixel bytes sorting before and after the original) and broken files. Also: the lowest input index wins
# a name across attempts (a lower index that failed in attempt 1 and succeeds in attempt 2 replaces the higher
# one's file); a corrupted or deleted output is redone; a journal of another run, --resume without --report or
# with --mapping are refused with nothing written; the journal holds no source path; a second run on the same
# report is refused while one runs (REPORT.lock), and the first ends as if alone; path ids are keyed, and a
# journal of format 1 (unkeyed) is refused; a duplicate whose holder failed or lost its output is redone; a
# journal line without its MAC (a forged C line, a forged D hash) is not trusted: what it names is redone.
set -euo pipefail

# shellcheck source=tests/integration/cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"
pids=()
cleanup() {
    for p in ${pids[@]+"${pids[@]}"}; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT
command -v dcmdump >/dev/null || { echo "FAIL: dcmdump (dcmtk) is required" >&2; exit 1; }

N=300
head -c 32 /dev/urandom >"$T/key" && chmod 600 "$T/key"
head -c 32 /dev/urandom >"$T/key2" && chmod 600 "$T/key2"
echo '{"dicomTagConfig":{"profileType":"ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"}}' >"$T/cfg.json"

mkdir -p "$T/src"
gen_duplicates "$T/src" "$N"
# PHI-looking source folder name: it must appear neither on stderr nor in the journal.
MUST_NOT_PRINT=("$T/src")

dv() { "$DV_BIN" deidentify -q --jobs 2 --config "$T/cfg.json" --key-file "$T/key" "$@"; }
# ---- the uninterrupted reference ----
run 1 reference deidentify -q --jobs 2 --config "$T/cfg.json" --key-file "$T/key" --report "$T/ref.json" \
    "$T/src" "$T/ref"
[ "$(json "$T/ref.json" 'd["counts"]["duplicate"] > 40 and d["counts"]["failed"] >= 5 and d["counts"]["skipped"] >= 1')" = True ] ||
    fail "reference: the corpus lacks duplicates or broken files: $(counts "$T/ref.json")"
grep -q "unfinished temporary" "$T/err" && fail "reference: warned of temp files in a fresh DST: $(cat "$T/err")"

# ---- killed with SIGKILL three times, then resumed to the end ----
# kill_three REPORT DST [ENV]: three attempts, each SIGKILLed once DST holds a quarter more outputs.
kill_three() {
    local report=$1 dst=$2 envspec=${3:-} midway=0 attempt pid want i rc
    for attempt in 1 2 3; do
        # shellcheck disable=SC2086 # envspec is empty or one word
        env $envspec "$DV_BIN" deidentify -q --jobs 2 --resume --config "$T/cfg.json" --key-file "$T/key" \
            --report "$report" "$T/src" "$dst" 2>"$T/err_k$attempt" &
        pid=$!
        pids+=("$pid")
        want=$((attempt * N / 4))
        i=0
        while [ "$(find "$dst" -name '*.dcm' 2>/dev/null | wc -l)" -lt "$want" ] && [ $i -lt 2000 ]; do
            sleep 0.02
            i=$((i + 1))
            kill -0 "$pid" 2>/dev/null || break
        done
        kill -9 "$pid" 2>/dev/null || true
        rc=0
        { wait "$pid"; } 2>/dev/null || rc=$?
        [ "$rc" -eq 137 ] && midway=$((midway + 1))
    done
    [ "$midway" -ge 2 ] || fail "kill: only $midway of 3 attempts were killed midway: the check proves little"
    [ -s "$report.journal" ] || fail "kill: no journal beside the report"
}
kill_three "$T/k.json" "$T/dst"
run 1 "resume after kills" deidentify -q --jobs 2 --resume --config "$T/cfg.json" --key-file "$T/key" \
    --report "$T/k.json" "$T/src" "$T/dst"
grep -qE "resume: [1-9][0-9]* of [0-9]+ inputs restored" "$T/err" || fail "resume: nothing restored: $(cat "$T/err")"
same kill "$T/dst" "$T/k.json" "$T/ref" "$T/ref.json"
grep -qF -- "$T/src" "$T/k.json.journal" && fail "journal: holds a source path"
# The same on the named-temp fallback (no O_TMPFILE: NFS, or forced), where a SIGKILL mid-write leaves the
# hidden .dvtmp-<12 hex> file it was writing (complete or truncated): the final resume removes those (a count on
# stderr), so DST again equals the uninterrupted run's with no temp file (same checks both). When no kill landed
# inside a write, one is planted as a SIGKILL leaves it (the head of an output, in its series folder, and alone in
# a folder of its own), so the check always proves something.
kill_three "$T/kn.json" "$T/dst_named" DICOMVEIL_NO_O_TMPFILE=1
if [ -z "$(find "$T/dst_named" -name '.dvtmp-*' -print -quit)" ]; then
    one=$(find "$T/dst_named" -name '*.dcm' -print -quit)
    head -c 1000 "$one" >"$(dirname "$one")/.dvtmp-0123456789ab"
    mkdir -p "$T/dst_named/2.25.1/2.25.2" && head -c 1000 "$one" >"$T/dst_named/2.25.1/2.25.2/.dvtmp-a1b2c3d4e5f6"
fi
# Not a temp name of ours (another pattern, or a link): never removed.
mkdir -p "$T/dst_named/.keep" && echo x >"$T/dst_named/.keep/.dvtmp-0123456789ab"
# A plain re-run (no --resume) removes the ones no process holds (every writer holds an flock on its temp name from
# creation until the name is gone, util/dv_locked_tmp.h: one no process holds is a killed writer's) once they are 10
# minutes old (flock is local to a host on some shared file systems: a younger one may be another host's, being
# written), says how many (a count, no name), warns of a younger unheld one, and leaves one a live writer holds
# (another run writing into the same DST); on a copy, so the resume below still meets them (stop 53's red team:
# before, the hidden partial files stayed in the release folder while the re-run exited 0; stop 53 only warned).
cp -a "$T/dst_named" "$T/dst_plain"
series=$(dirname "$(find "$T/dst_plain" -name '*.dcm' -print -quit)")
echo held >"$series/.dvtmp-00000000000b"
temps=$(find "$T/dst_plain" -path "$T/dst_plain/.keep" -prune -o -name '.dvtmp-*' -type f -print | wc -l)
find "$T/dst_plain" -path "$T/dst_plain/.keep" -prune -o -name '.dvtmp-*' -type f -exec touch -d '20 minutes ago' {} +
echo just-killed >"$series/.dvtmp-00000000000a"
# (the interpreter itself in the background, not cli_lib's python3 function, so $! is the process to kill)
/usr/bin/python3 -c 'import fcntl, sys, time
f = open(sys.argv[1]); fcntl.flock(f, fcntl.LOCK_EX); print("held", flush=True); time.sleep(120)' \
    "$series/.dvtmp-00000000000b" >"$T/holder.out" &
holder=$!
for _ in $(seq 100); do grep -q held "$T/holder.out" 2>/dev/null && break; sleep 0.05; done
DICOMVEIL_NO_O_TMPFILE=1 run 1 "plain re-run after kills" deidentify -q --jobs 2 --config "$T/cfg.json" \
    --key-file "$T/key" "$T/src" "$T/dst_plain"
kill "$holder" 2>/dev/null || true
wait "$holder" 2>/dev/null || true
grep -q "^dicomveil: $((temps - 1)) hidden unfinished temporary file(s) (.dvtmp-\*) of killed runs removed" "$T/err" ||
    fail "plain re-run after kills: its $((temps - 1)) dead temp files not reported removed: $(head -c 400 "$T/err")"
grep -q "warning: 1 hidden unfinished temporary file(s) (.dvtmp-\*) in the destination: left by a run killed" \
    "$T/err" || fail "plain re-run after kills: no warning of the young temp file: $(head -c 400 "$T/err")"
left=$(find "$T/dst_plain" -name '.dvtmp-*' -type f | sort | tr '\n' ' ')
want=$(printf '%s\n' "$T/dst_plain/.keep/.dvtmp-0123456789ab" "$series/.dvtmp-00000000000a" \
    "$series/.dvtmp-00000000000b" | sort | tr '\n' ' ')
[ "$left" = "$want" ] || fail "plain re-run after kills: left $left"
rm -rf "$T/dst_plain"
# ... which holds because every writer of a temp name holds its flock until the name is gone: traced, each output
# of a run on the named-temp path takes one (strace: a make deps package).
ndcm=$(find "$T/ref" -name '*.dcm' | wc -l)
DICOMVEIL_NO_O_TMPFILE=1 strace -f -qq -e trace=flock -o "$T/flock.trace" "$DV_BIN" deidentify -q --jobs 2 \
    --config "$T/cfg.json" --key-file "$T/key" "$T/src" "$T/dst_traced" 2>/dev/null || true
held=$(grep -c 'flock([0-9]*, LOCK_EX[) ]' "$T/flock.trace" || true) # a call, finished or not
[ "$held" -eq "$ndcm" ] || fail "temp names held: $held flocks taken for $ndcm outputs"
rm -rf "$T/dst_traced"
DICOMVEIL_NO_O_TMPFILE=1 run 1 "resume after kills without O_TMPFILE" deidentify -q --jobs 2 \
    --resume --config "$T/cfg.json" --key-file "$T/key" --report "$T/kn.json" "$T/src" "$T/dst_named"
grep -qE "resume: [1-9][0-9]* unfinished temporary file\(s\) of killed attempts removed" "$T/err" ||
    fail "resume after kills without O_TMPFILE: no temp file reported removed: $(cat "$T/err")"
[ -s "$T/dst_named/.keep/.dvtmp-0123456789ab" ] ||
    fail "resume without O_TMPFILE: removed a file outside the series folders"
rm -r "$T/dst_named/.keep"
same "kill without O_TMPFILE" "$T/dst_named" "$T/kn.json" "$T/ref" "$T/ref.json"
# Resuming a finished run redoes only what has no output (failed, skipped) and changes nothing.
run 1 "resume a finished run" deidentify -q --jobs 2 --resume --config "$T/cfg.json" --key-file "$T/key" \
    --report "$T/k.json" "$T/src" "$T/dst"
same finished "$T/dst" "$T/k.json" "$T/ref" "$T/ref.json"
# input bytes of a resumed run: the restored inputs count too, so input_bytes (and the rates) match the
# uninterrupted run's
[ "$(json "$T/k.json" 'd["counts"]["input_bytes"]')" = "$(json "$T/ref.json" 'd["counts"]["input_bytes"]')" ] ||
    fail "input bytes of a resumed run: $(json "$T/k.json" 'd["counts"]["input_bytes"]') != $(json "$T/ref.json" 'd["counts"]["input_bytes"]')"

# ---- a journal over the 4 GiB a resume reads (a job of more than ~8 million inputs; a sparse stand-in): refused
#      with exit 2 saying what to do, nothing written ----
truncate -s 4294967400 "$T/big.json.journal"
rc=0
dv --resume --report "$T/big.json" "$T/src" "$T/dst-big" 2> "$T/big.err" || rc=$?
[ "$rc" -eq 2 ] && grep -q "journal is over 4 GiB .* start over without --resume, or split the sources" "$T/big.err" &&
    [ ! -e "$T/dst-big" ] || fail "journal over 4 GiB: exit $rc, $(cat "$T/big.err")"
rm -f "$T/big.json.journal"
# ---- a run whose journal passes that limit says so when it happens, once, and goes on to the end (stop 45's
#      backlog: before, only the resume hours later said it); DICOMVEIL_JOURNAL_MAX lowers the limit for the test ----
rc=0
DICOMVEIL_JOURNAL_MAX=20000 dv --resume --report "$T/lim.json" "$T/src" "$T/dst-lim" 2> "$T/lim.err" || rc=$?
[ "$rc" -eq 1 ] && [ "$(grep -c "warning: the journal has passed 20000 bytes, more than a --resume reads" "$T/lim.err")" -eq 1 ] ||
    fail "journal past its limit: exit $rc, $(grep -c warning "$T/lim.err") warnings: $(head -c 400 "$T/lim.err")"
same "journal past its limit" "$T/dst-lim" "$T/lim.json" "$T/ref" "$T/ref.json"
rc=0
DICOMVEIL_JOURNAL_MAX=20000 dv --resume --report "$T/lim.json" "$T/src" "$T/dst-lim" 2> "$T/lim.err" || rc=$?
[ "$rc" -eq 2 ] && grep -q "journal is over 20000 bytes" "$T/lim.err" ||
    fail "resume of a journal past its limit: exit $rc, $(head -c 300 "$T/lim.err")"
cat "$T"/err_k* | grep -q "journal has passed" && fail "a run under the 4 GiB limit warned about it"
rc=0
DICOMVEIL_JOURNAL_MAX=12x dv --resume --report "$T/lim2.json" "$T/src" "$T/dst-lim2" 2> "$T/lim.err" || rc=$?
[ "$rc" -eq 2 ] && grep -q "DICOMVEIL_JOURNAL_MAX: expected a whole number of bytes" "$T/lim.err" && [ ! -e "$T/dst-lim2" ] ||
    fail "DICOMVEIL_JOURNAL_MAX=12x: exit $rc, $(head -c 300 "$T/lim.err")"
rm -rf "$T/dst-lim" "$T/lim.json" "$T/lim.json.journal"

# ---- one run at a time (docs/decisions.md "One run per journal") ----
# While REPORT.lock is held (here by this shell, as a first run would hold it), a resume is refused with exit 2
# and changes nothing: not the journal, not the report, not DST.
command -v flock >/dev/null || fail "flock (util-linux) is required"
snapshot() { { find "$T/dst" -type f -printf '%P %s\n' | sort; cat "$T/k.json" "$T/k.json.journal"; } | sha256sum; }
before=$(snapshot)
exec 9>>"$T/k.json.lock"
flock -n 9 || fail "lock: could not take REPORT.lock from the test"
run 2 "resume while the lock is held" deidentify -q --jobs 2 --resume --config "$T/cfg.json" --key-file "$T/key" \
    --report "$T/k.json" "$T/src" "$T/dst"
grep -q "another run is using this --report" "$T/err" || fail "lock held: $(head -c 300 "$T/err")"
[ "$(snapshot)" = "$before" ] || fail "lock held: the refused run changed the journal, the report or DST"
exec 9>&-
run 1 "resume after the lock is released" deidentify -q --jobs 2 --resume --config "$T/cfg.json" --key-file "$T/key" \
    --report "$T/k.json" "$T/src" "$T/dst"
same released "$T/dst" "$T/k.json" "$T/ref" "$T/ref.json"
[ -e "$T/k.json.lock" ] && fail "lock: the run left REPORT.lock beside the report"
# Two runs of one command at once: the second is refused while the first runs (stopped with SIGSTOP once its
# journal exists, i.e. once it holds the lock), and the first then ends as one uninterrupted run would. Retried when the
# first ended before it could be stopped (the run is fast).
run 1 "concurrent reference" deidentify -q --jobs 1 --config "$T/cfg.json" --key-file "$T/key" \
    --report "$T/cref.json" "$T/src" "$T/src" "$T/src" "$T/cref"
stopped=0
for try in 1 2 3; do
    rm -rf "$T/c1" "$T/c.json" "$T/c.json.journal"
    "$DV_BIN" deidentify -q --jobs 1 --fsync --resume --config "$T/cfg.json" --key-file "$T/key" \
        --report "$T/c.json" "$T/src" "$T/src" "$T/src" "$T/c1" 2>"$T/err_c1" &
    pid=$!
    pids+=("$pid")
    i=0
    until [ -e "$T/c.json.journal" ] || [ $i -ge 400000 ]; do i=$((i + 1)); done
    kill -STOP "$pid" 2>/dev/null || true
    if [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = T ]; then
        stopped=1
        listing=$( (find "$T/c1" -printf '%P %s\n'; cat "$T/c.json.journal") | sort | sha256sum)
        run 2 "second resume run while the first runs" deidentify -q --jobs 1 --resume --config "$T/cfg.json" \
            --key-file "$T/key" --report "$T/c.json" "$T/src" "$T/src" "$T/src" "$T/c1"
        grep -q "another run is using this --report" "$T/err" || fail "concurrent: $(head -c 300 "$T/err")"
        [ "$( (find "$T/c1" -printf '%P %s\n'; cat "$T/c.json.journal") | sort | sha256sum)" = "$listing" ] ||
            fail "concurrent: the refused run changed the first run's DST or journal"
    fi
    kill -CONT "$pid" 2>/dev/null || true
    rc=0
    wait "$pid" || rc=$?
    [ "$stopped" = 1 ] && break
done
[ "$stopped" = 1 ] || fail "concurrent: the first run always ended before it could be stopped: the check proves little"
[ "$rc" = 1 ] || fail "concurrent: the first run exited $rc: $(head -c 300 "$T/err_c1")"
same concurrent "$T/c1" "$T/c.json" "$T/cref" "$T/cref.json"
run 1 "resume after the concurrent run" deidentify -q --jobs 1 --resume --config "$T/cfg.json" --key-file "$T/key" \
    --report "$T/c.json" "$T/src" "$T/src" "$T/src" "$T/c1"
same "after concurrent" "$T/c1" "$T/c.json" "$T/cref" "$T/cref.json"
grep -qE "resume: $(counts "$T/cref.json" | awk '{print $2 + $5}') of [0-9]+ inputs restored" "$T/err" ||
    fail "after concurrent: not every ok and duplicate input was restored: $(cat "$T/err")"

# ---- a corrupted and a deleted output are redone ----
victim=$(find "$T/dst" -name '*.dcm' | sort | sed -n 1p)
gone=$(find "$T/dst" -name '*.dcm' | sort | tail -1)
printf 'X' | dd of="$victim" bs=1 seek=2000 conv=notrunc status=none
rm "$gone"
run 1 "resume after corruption" deidentify -q --jobs 2 --resume --config "$T/cfg.json" --key-file "$T/key" \
    --report "$T/k.json" "$T/src" "$T/dst"
same corrupted "$T/dst" "$T/k.json" "$T/ref" "$T/ref.json"

# ---- the lowest index wins across attempts ----
# Attempt 1: a.dcm (index 0) is broken, b.dcm (index 1) writes the name. Attempt 2: a.dcm is now the same
# instance with other pixel bytes: it must replace b's file, and b becomes the duplicate, as in one run.
mkdir -p "$T/low"
cp "$T/src/zz00005.dcm" "$T/low/b.dcm"
head -c 3000 "$T/src/aa00005.dcm" >"$T/low/a.dcm"
run 1 "low attempt 1" deidentify -q --jobs 2 --resume --config "$T/cfg.json" --key-file "$T/key" \
    --report "$T/low.json" "$T/low" "$T/lowdst"
cp "$T/src/aa00005.dcm" "$T/low/a.dcm"
run 0 "low attempt 2" deidentify -q --jobs 2 --resume --config "$T/cfg.json" --key-file "$T/key" \
    --report "$T/low.json" "$T/low" "$T/lowdst"
run 0 "low reference" deidentify -q --jobs 2 --config "$T/cfg.json" --key-file "$T/key" \
    --report "$T/lowref.json" "$T/low" "$T/lowref"
same lowest "$T/lowdst" "$T/low.json" "$T/lowref" "$T/lowref.json"
[ "$(statuses "$T/low.json" | tr '\n' ' ')" = "ok None duplicate None " ] ||
    fail "lowest: statuses $(statuses "$T/low.json" | tr '\n' ' ')"

# ---- a duplicate is restored only while its holder is (docs/decisions.md "What is skipped") ----
# a.dcm and b.dcm are one instance: b is a's duplicate. Then a is broken and its output deleted: the resume
# must redo b (it now holds the name), not restore it as the duplicate of an output that is gone.
mkdir -p "$T/dup"
cp "$T/src/ct00002.dcm" "$T/dup/a.dcm"
cp "$T/src/ct00002.dcm" "$T/dup/b.dcm"
run 0 "holder attempt 1" deidentify -q --jobs 1 --resume --config "$T/cfg.json" --key-file "$T/key" \
    --report "$T/dup.json" "$T/dup" "$T/dupdst"
[ "$(statuses "$T/dup.json" | tr '\n' ' ')" = "ok None duplicate None " ] ||
    fail "holder attempt 1: statuses $(statuses "$T/dup.json" | tr '\n' ' ')"
head -c 3000 "$T/src/ct00002.dcm" >"$T/dup/a.dcm"
find "$T/dupdst" -name '*.dcm' -delete
run 1 "holder gone" deidentify -q --jobs 1 --resume --config "$T/cfg.json" --key-file "$T/key" \
    --report "$T/dup.json" "$T/dup" "$T/dupdst"
run 1 "holder gone reference" deidentify -q --jobs 1 --config "$T/cfg.json" --key-file "$T/key" \
    --report "$T/dupref.json" "$T/dup" "$T/dupref"
same "holder gone" "$T/dupdst" "$T/dup.json" "$T/dupref" "$T/dupref.json"
[ "$(statuses "$T/dup.json" | tr '\n' ' ')" = "failed malformed ok None " ] ||
    fail "holder gone: statuses $(statuses "$T/dup.json" | tr '\n' ' ')"

# ---- the journal's path ids are keyed (docs/decisions.md "What a line holds") ----
# An unkeyed SHA-256 of the path would let anyone holding the journal confirm a guessed path. The path id is
# the first 16 bytes of HMAC-SHA256(HMAC-SHA256(key, "dicomveil-journal-path-id"), path): not sha256(path), not
# the same under another key, and neither the key nor the sub-key is in the journal.
mkdir -p "$T/one"
cp "$T/src/ct00001.dcm" "$T/one/x.dcm"
run 0 "path id with the key" deidentify -q --jobs 1 --resume --config "$T/cfg.json" --key-file "$T/key" \
    --report "$T/p1.json" "$T/one" "$T/p1"
run 0 "path id with another key" deidentify -q --jobs 1 --resume --config "$T/cfg.json" --key-file "$T/key2" \
    --report "$T/p2.json" "$T/one" "$T/p2"
python3 - "$T/key" "$T/key2" "$T/p1.json.journal" "$T/p2.json.journal" "$T/one/x.dcm" <<'PY' || fail "keyed path id (see above)"
import hashlib, hmac, sys
k1, k2, j1, j2, path = sys.argv[1:]
def pid(journal):
    ds = [l.split() for l in open(journal) if l.startswith("D ")]
    assert len(ds) == 1, "expected one D line in %s" % journal
    return ds[0][2]
bad = []
p1, p2 = pid(j1), pid(j2)
if p1 == hashlib.sha256(path.encode()).hexdigest()[:32]:
    bad.append("the path id is the unkeyed SHA-256 of the source path")
if p1 == p2:
    bad.append("the path id does not change with the key")
for k, p, j in ((k1, p1, j1), (k2, p2, j2)):
    key = open(k, "rb").read()
    # the sub-keys are HMAC(label, key) (dv_key_derive): HMAC(key, label) is what cryptoHashConfig without a
    # cryptoKey writes into an output holding the label (format 4; stop 54's review)
    sub = hmac.new(b"dicomveil-journal-path-id", key, "sha256").digest()
    if p != hmac.new(sub, path.encode(), "sha256").hexdigest()[:32]:
        bad.append("the path id is not HMAC(HMAC(label, key), path)")
    old = hmac.new(key, b"dicomveil-journal-path-id", "sha256").digest()
    if p == hmac.new(old, path.encode(), "sha256").hexdigest()[:32]:
        bad.append("the path id is keyed by HMAC(key, label), a crypto hash of the label")
    text = open(j).read()
    if key.hex() in text or sub.hex() in text or sub.hex()[:32] in text:
        bad.append("the journal holds the key or the path-id key")
    if not text.startswith("dicomveil-journal 5 "):
        bad.append("the journal's format is not 5")
    # Every C and D line ends in HMAC(HMAC("dicomveil-journal-mac " + run id, key), line before it)[:16].
    lines = text.splitlines()
    mk = hmac.new(b"dicomveil-journal-mac " + lines[0].split()[2].encode(), key, "sha256").digest()
    for l in lines[1:]:
        body, mac = l.rsplit(" ", 1)
        if mac != hmac.new(mk, body.encode(), "sha256").hexdigest()[:32]:
            bad.append("a line's MAC is not HMAC(HMAC(label + run id, key), line)")
    if mk.hex() in text or mk.hex()[:32] in text:
        bad.append("the journal holds the MAC key")
for b in bad:
    print("FAIL:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
run 0 "resume with keyed path ids" deidentify -q --jobs 1 --resume --config "$T/cfg.json" --key-file "$T/key" \
    --report "$T/p1.json" "$T/one" "$T/p1"
grep -q "resume: 1 of 1 inputs restored" "$T/err" || fail "keyed path id: not restored: $(cat "$T/err")"
# A journal of format 1 (unkeyed path ids) is refused with a message of its own, never misread.
{ printf 'dicomveil-journal 1 %064d\n' 0; printf 'D 0 %s 1 1 ok a/b/c.dcm %064d -\n' \
    "$(printf '%s' "$T/one/x.dcm" | sha256sum | cut -c1-32)" 0; } >"$T/old.json.journal"
cp "$T/old.json.journal" "$T/old.before"
run 2 "resume over a format-1 journal" deidentify -q --jobs 1 --resume --config "$T/cfg.json" --key-file "$T/key" \
    --report "$T/old.json" "$T/one" "$T/old"
grep -q "older dicomveil" "$T/err" || fail "format-1 journal: $(head -c 300 "$T/err")"
cmp -s "$T/old.json.journal" "$T/old.before" && [ ! -e "$T/old" ] && [ ! -e "$T/old.json.lock" ] ||
    fail "format-1 journal: the refused run wrote something"

# ---- a resumed report keeps every instance's pixel entry ----
# The journal carries what the report says of an instance's pixels (frames examined, boxes, the output transfer
# syntax, a declared burned-in annotation left unredacted), so a run whose inputs were all restored reports them
# as the run that wrote them did (docs/decisions.md "What a line holds"). dicognito's burned_in_yes.dcm has
# BurnedInAnnotation YES.
mkdir -p "$T/px"
cp "$DATA/dicognito/burned_in_yes.dcm" "$DATA/pydicom/CT_small.dcm" "$T/px/"
echo '{"dicomTagConfig": {"options": {"cleanImage": {"textRedactionMode": "REDACT_ALL_TEXT"}}}}' >"$T/cfg_img.json"
for c in cfg cfg_img; do
    run 0 "pixels resumed ($c, first)" deidentify -q --jobs 1 --resume --config "$T/$c.json" --key-file "$T/key" \
        --report "$T/px_$c.json" "$T/px" "$T/px_$c"
    cp "$T/px_$c.json" "$T/px_$c.first.json"
    run 0 "pixels resumed ($c, restored)" deidentify -q --jobs 1 --resume --config "$T/$c.json" --key-file "$T/key" \
        --report "$T/px_$c.json" "$T/px" "$T/px_$c"
    grep -q "resume: 2 of 2 inputs restored" "$T/err" || fail "pixels resumed ($c): not restored: $(cat "$T/err")"
    a=$(json "$T/px_$c.first.json" "d['counts'], [i.get('pixels') for i in d['instances']]")
    b=$(json "$T/px_$c.json" "d['counts'], [i.get('pixels') for i in d['instances']]")
    [ "$a" = "$b" ] || fail "pixels resumed ($c): the restored report says $b, the run that wrote them $a"
    case "$c:$a" in
    cfg:*"'burned_in_annotation_not_redacted': True"*) ;;
    cfg_img:*"'frames_examined': 1"*) ;;
    *) fail "pixels resumed ($c): the first report has no pixel entry to compare: $a" ;;
    esac
done
# A journal of format 2 (no pixel entries) is refused like format 1, never misread.
{ printf 'dicomveil-journal 2 %064d\n' 0; } >"$T/old2.json.journal"
run 2 "resume over a format-2 journal" deidentify -q --jobs 1 --resume --config "$T/cfg.json" --key-file "$T/key" \
    --report "$T/old2.json" "$T/one" "$T/old2"
grep -q "older dicomveil" "$T/err" || fail "format-2 journal: $(head -c 300 "$T/err")"
# A journal of format 3 (lines without MACs) is refused too: none of its lines could be trusted.
{ printf 'dicomveil-journal 3 %064d\n' 0; } >"$T/old3.json.journal"
run 2 "resume over a format-3 journal" deidentify -q --jobs 1 --resume --config "$T/cfg.json" --key-file "$T/key" \
    --report "$T/old3.json" "$T/one" "$T/old3"
grep -q "older dicomveil" "$T/err" || fail "format-3 journal: $(head -c 300 "$T/err")"
grep -q -- "--resume" "$T/err" || fail "format-3 journal: the message does not name --resume"
[ ! -e "$T/old3" ] || fail "format-3 journal: the refused run wrote DST"
# A journal of format 4 (sub-keys HMAC(run key, label), which a crypto-hashed value equal to the label gave away)
# is refused too: its path ids and MACs would never match.
{ printf 'dicomveil-journal 4 %064d\n' 0; } >"$T/old4.json.journal"
run 2 "resume over a format-4 journal" deidentify -q --jobs 1 --resume --config "$T/cfg.json" --key-file "$T/key" \
    --report "$T/old4.json" "$T/one" "$T/old4"
grep -q "older dicomveil" "$T/err" || fail "format-4 journal: $(head -c 300 "$T/err")"

# ---- an input withdrawn from SRC takes its output with it (docs/decisions.md "Withdrawn inputs") ----
# A file is withdrawn from SRC because it must not be shared (consent withdrawn, wrong patient): a resume must end
# with the DST a fresh run over the current SRC writes, so the output an earlier attempt wrote for it goes, and
# the report counts it (counts.stale_outputs_removed; no path). SRC = {a.dcm: CT_small, b.dcm: MR_small} run to
# the end first, then changed; each case is compared with a fresh run over the changed SRC.
# wd_first CASE: the first attempt, both outputs written, into $T/wd_CASE.
wd_first() {
    rm -rf "$T/wd_$1" "$T/wd_$1.json" "$T/wd_$1.json.journal"
    mkdir -p "$T/wd_$1/src"
    cp "$DATA/pydicom/CT_small.dcm" "$T/wd_$1/src/a.dcm"
    cp "$DATA/pydicom/MR_small.dcm" "$T/wd_$1/src/b.dcm"
    chmod u+w "$T/wd_$1/src/"*
    run 0 "$1 (first attempt)" deidentify -q --jobs 1 --resume --config "$T/cfg.json" --key-file "$T/key" \
        --report "$T/wd_$1.json" "$T/wd_$1/src" "$T/wd_$1/dst"
    [ "$(find "$T/wd_$1/dst" -name '*.dcm' | wc -l)" = 2 ] || fail "$1: the first attempt did not write 2 outputs"
}
# wd_check CASE RC REMOVED: resume over the changed SRC (exit RC), then DST, statuses and counts as a fresh run
# over it, REMOVED stale outputs in the report and on stderr (a count, no path).
wd_check() {
    run "$2" "$1" deidentify -q --jobs 1 --resume --config "$T/cfg.json" --key-file "$T/key" \
        --report "$T/wd_$1.json" "$T/wd_$1/src" "$T/wd_$1/dst"
    cp "$T/err" "$T/err_wd_$1"
    run "$2" "$1 (fresh run)" deidentify -q --jobs 1 --config "$T/cfg.json" --key-file "$T/key" \
        --report "$T/wd_$1.ref.json" "$T/wd_$1/src" "$T/wd_$1/ref"
    same "$1" "$T/wd_$1/dst" "$T/wd_$1.json" "$T/wd_$1/ref" "$T/wd_$1.ref.json"
    [ "$(json "$T/wd_$1.json" 'd["counts"].get("stale_outputs_removed")')" = "$3" ] ||
        fail "$1: the report's counts.stale_outputs_removed is $(json "$T/wd_$1.json" 'd["counts"].get("stale_outputs_removed")'), expected $3"
    if [ "$3" != 0 ]; then
        grep -q "resume: $3 stale output(s) removed" "$T/err_wd_$1" || fail "$1: stderr does not say it: $(cat "$T/err_wd_$1")"
    fi
    grep -qF -- "$T/wd_$1" "$T/err_wd_$1" && fail "$1: stderr names a path"
    return 0
}
# The input deleted from SRC.
wd_first "withdrawn input"
rm "$T/wd_withdrawn input/src/b.dcm"
wd_check "withdrawn input" 0 1
# An attempt killed after it wrote both outputs but before their D lines: the names are known by their C lines
# alone (restored as an earlier attempt's, DVC_OURS_UNKNOWN).
wd_first "withdrawn before its D line"
sed -i '/^D /d' "$T/wd_withdrawn before its D line.json.journal"
rm "$T/wd_withdrawn before its D line/src/b.dcm"
wd_check "withdrawn before its D line" 0 1
# The input now fails (truncated): a fresh run writes nothing for it.
wd_first "input now failing"
head -c 3000 "$DATA/pydicom/MR_small.dcm" >"$T/wd_input now failing/src/b.dcm"
wd_check "input now failing" 1 1
# The input is now the same instance as a lower one: a duplicate, whose name a.dcm holds: a.dcm's output stays,
# b.dcm's old one goes.
wd_first "input now a duplicate"
cp "$DATA/pydicom/CT_small.dcm" "$T/wd_input now a duplicate/src/b.dcm"
wd_check "input now a duplicate" 0 1
[ "$(statuses "$T/wd_input now a duplicate.json" | tr '\n' ' ')" = "ok None duplicate None " ] ||
    fail "input now a duplicate: statuses $(statuses "$T/wd_input now a duplicate.json" | tr '\n' ' ')"
# Nothing changed: nothing removed.
wd_first "nothing withdrawn"
wd_check "nothing withdrawn" 0 0
# Never a file no C line names (a foreign file in DST), never through a symbolic link: b.dcm's study folder is
# replaced by a link to a copy outside DST, so its name resolves to a regular file there, which must stay.
wd_first "stale name behind a link"
wdl="$T/wd_stale name behind a link"
mkdir -p "$wdl/dst/9.9/9.9" "$wdl/outside"
cp "$DATA/pydicom/CT_small.dcm" "$wdl/dst/9.9/9.9/9.9.dcm"
bstudy=$(find "$wdl/dst" -mindepth 1 -maxdepth 1 -type d ! -name 9.9 | while read -r d; do
    if [ "$(find "$d" -name '*.dcm' -size -12k | wc -l)" = 1 ]; then basename "$d"; fi; done)
[ -n "$bstudy" ] || fail "stale name behind a link: b.dcm's study folder not found"
mv "$wdl/dst/$bstudy" "$wdl/outside/$bstudy"
ln -s "$wdl/outside/$bstudy" "$wdl/dst/$bstudy"
rm "$wdl/src/b.dcm"
run 0 "stale name behind a link" deidentify -q --jobs 1 --resume --config "$T/cfg.json" --key-file "$T/key" \
    --report "$wdl.json" "$wdl/src" "$wdl/dst"
[ "$(find "$wdl/outside" -name '*.dcm' | wc -l)" = 1 ] || fail "stale name behind a link: the file outside DST was removed"
[ -L "$wdl/dst/$bstudy" ] || fail "stale name behind a link: the link was removed"
[ -f "$wdl/dst/9.9/9.9/9.9.dcm" ] || fail "stale name behind a link: a file no C line names was removed"
[ "$(json "$wdl.json" 'd["counts"].get("stale_outputs_removed")')" = 0 ] ||
    fail "stale name behind a link: counted $(json "$wdl.json" 'd["counts"].get("stale_outputs_removed")') removed"
# ---- the journal's lines are authenticated (docs/decisions.md "A journal line is trusted only with its MAC") ----
# The journal is a file beside the report: whoever can write there could have a resume delete a foreign file in
# DST (a forged C line) or accept a swapped output (a forged D hash). Every C and D line ends in a MAC; a line
# without the right one is refused: what it names is redone, never removed, and stderr counts the refused lines.
# A forged C line naming a foreign file in DST: the file stays, nothing is counted removed.
wd_first "forged C line"
wdf="$T/wd_forged C line"
mkdir -p "$wdf/dst/1.2.3/4.5.6"
echo "not dicomveil's" >"$wdf/dst/1.2.3/4.5.6/7.8.9.dcm"
echo "C 0 1.2.3/4.5.6/7.8.9.dcm" >>"$wdf.json.journal"
echo "C 0 1.2.3/4.5.6/7.8.9.dcm 00000000000000000000000000000000" >>"$wdf.json.journal"
run 0 "forged C line" deidentify -q --jobs 1 --resume --config "$T/cfg.json" --key-file "$T/key" \
    --report "$wdf.json" "$wdf/src" "$wdf/dst"
[ -f "$wdf/dst/1.2.3/4.5.6/7.8.9.dcm" ] || fail "forged C line: resume removed a file the run never wrote"
[ "$(json "$wdf.json" 'd["counts"].get("stale_outputs_removed")')" = 0 ] || fail "forged C line: counted removed"
grep -q "resume: 2 of 2 inputs restored" "$T/err" || fail "forged C line: genuine lines not trusted: $(cat "$T/err")"
grep -q "2 journal line(s) refused" "$T/err" || fail "forged C line: refused lines not counted: $(cat "$T/err")"
grep -qF -- "$wdf" "$T/err" && fail "forged C line: stderr names a path"
grep -q "7\.8\.9" "$T/err" && fail "forged C line: stderr names the forged name"
# A D line's hash edited to match an output swapped for the original (PHI) file, and the other D line's findings
# edited: both refused, both redone, so DST and the report are a fresh run's.
wd_first "forged D hash"
wdh="$T/wd_forged D hash"
line=$(grep '^D 0 ' "$wdh.json.journal")
name=$(echo "$line" | cut -d' ' -f7)
old=$(echo "$line" | cut -d' ' -f8)
cp "$wdh/src/a.dcm" "$wdh/dst/$name"
new=$(sha256sum "$wdh/dst/$name" | cut -d' ' -f1)
sed -i -e "s/$old/$new/" -e '/^D 1 /s/ [-0-9:,]* \([-0-9][^ ]*\) \([0-9a-f]*\)$/ 0:9999 \1 \2/' "$wdh.json.journal"
grep -q '^D 1 .* 0:9999 ' "$wdh.json.journal" || fail "forged D hash: the test did not edit the findings"
run 0 "forged D hash" deidentify -q --jobs 1 --resume --config "$T/cfg.json" --key-file "$T/key" \
    --report "$wdh.json" "$wdh/src" "$wdh/dst"
cp "$T/err" "$T/err_forged_d"
grep -q "resume: 0 of 2 inputs restored" "$T/err_forged_d" || fail "forged D hash: $(cat "$T/err_forged_d")"
grep -q "2 journal line(s) refused" "$T/err_forged_d" || fail "forged D hash: refused lines not counted"
cmp -s "$wdh/src/a.dcm" "$wdh/dst/$name" && fail "forged D hash: DST keeps the swapped-in source file"
run 0 "forged D hash (fresh run)" deidentify -q --jobs 1 --config "$T/cfg.json" --key-file "$T/key" \
    --report "$wdh.ref.json" "$wdh/src" "$wdh/ref"
same "forged D hash" "$wdh/dst" "$wdh.json" "$wdh/ref" "$wdh.ref.json"
# Without --resume there is no journal: nothing is ever removed (the withdrawn input's output of the resumed
# attempt stays, as every file that was in DST before a run does).
wd_first "without resume"
rm "$T/wd_without resume/src/b.dcm"
run 0 "without resume" deidentify -q --jobs 1 --config "$T/cfg.json" --key-file "$T/key" \
    --report "$T/wd_without resume.json" "$T/wd_without resume/src" "$T/wd_without resume/dst"
[ "$(find "$T/wd_without resume/dst" -name '*.dcm' | wc -l)" = 2 ] || fail "without resume: a file was removed"
[ "$(json "$T/wd_without resume.json" 'd["counts"].get("stale_outputs_removed")')" = 0 ] ||
    fail "without resume: the report does not say 0 stale outputs removed"

# ---- refusals: exit 2, nothing written ----
run 2 "resume without report" deidentify -q --resume --config "$T/cfg.json" --key-file "$T/key" "$T/src" "$T/r1"
run 2 "resume with mapping" deidentify -q --resume --config "$T/cfg.json" --key-file "$T/key" \
    --report "$T/r2.json" --mapping "$T/r2.csv" "$T/src" "$T/r2"
run 2 "resume with another key" deidentify -q --resume --config "$T/cfg.json" --key-file "$T/key2" \
    --report "$T/k.json" "$T/src" "$T/r3"
grep -q "different run" "$T/err" || fail "another key: $(cat "$T/err")"
for d in r1 r2 r3; do [ ! -e "$T/$d" ] || fail "refused run created $d"; done

finish test_cli_resume
