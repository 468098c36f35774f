#!/usr/bin/env bash
# dicomveil deidentify with several inputs that are the same instance (DECISIONS.md item 15): the output does
# not depend on --jobs or thread timing. For each group of same-instance inputs (same UIDs, different bytes:
# other transfer syntaxes and a Manufacturer naming the copy), the lowest input index is written and reported
# "ok", every other copy "duplicate"; --jobs 8 runs (O_TMPFILE and named-temp paths) give a DST byte-identical
# to the --jobs 1 run and the same report; a re-run into a DST never overwrites (all duplicate, files
# untouched, same inodes), and a file that already existed at an output path before the run is never replaced.
set -euo pipefail

# shellcheck source=tests/integration/cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"
for tool in dcmdump dcmconv dcmodify; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool (dcmtk) is required" >&2; exit 1; }
done

G=32       # groups (distinct instances)
C=4        # copies per group (same instance, different bytes)
RUNS=5     # --jobs 8 runs per temp-file method
head -c 32 /dev/urandom >"$T/key" && chmod 600 "$T/key"
echo '{"dicomTagConfig":{"profileType":"ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"}}' >"$T/cfg.json"

# ---- inputs: g<GG>_<c>.dcm, so the input order is group by group, copy 1 first ----
# Bases alternate between a CT and an MR; each group gets its own SOPInstanceUID (dataset and file meta).
# Copy c of group g: Manufacturer "g<GG>c<c>", in the c-th transfer syntax of a per-group rotation, so the
# lowest-index copy is sometimes the slowest one (deflate) and sometimes the fastest.
# dcmtk makes one template per base and transfer syntax, with placeholder UID and Manufacturer values of the
# final lengths; the 128 inputs are the templates with the placeholders replaced (inside the raw deflate
# stream for the deflated ones): 12 dcmtk runs instead of ~450, the same datasets.
SRC="$T/src"
mkdir -p "$SRC" "$T/work"
bases=("$DATA/pydicom/CT_small.dcm" "$DATA/pydicom/MR_small.dcm")
tss=(+te +ti +tb +td)
UID_PH=1.2.826.0.1.3680043.10.543.7.999 # group g: ...7.<100+g>, the same length
for b in 0 1; do
    base="$T/work/base$b.dcm"
    dcmconv -q +te "${bases[$b]}" "$base"
    # StudyDescription: text for the DEIDENTIFY_TAG_CONTENTS runs to find (report section below)
    dcmodify -nb -q -m "(0008,0018)=$UID_PH" -m "(0008,0070)=QQQQQ" \
        -i "(0008,1030)=Seen by Dr Homer Simpson on 2019-10-19" "$base"
    for k in 0 1 2 3; do dcmconv -q "${tss[$k]}" "$base" "$T/work/tpl${b}_$k.dcm"; done
done
python3 - "$T/work" "$SRC" "$G" "$C" "$UID_PH" <<'EOF' || { echo "FAIL: could not build the inputs" >&2; exit 1; }
import sys, zlib
work, src, G, C, ph = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5].encode()
MAN = b"QQQQQ "  # LO padded to even length, as "g00c1 "
for g in range(G):
    uid = ph[:-3] + b"%d" % (100 + g)
    for c in range(1, C + 1):
        k = (g + c) % 4  # index into tss: 3 is deflate
        d = open(f"{work}/tpl{g % 2}_{k}.dcm", "rb").read()
        man = b"g%02dc%d " % (g, c)
        if k == 3:  # the file meta (group length at 140) is plain, the dataset after it raw deflate
            assert d[128:132] == b"DICM" and d[132:136] == b"\x02\x00\x00\x00"
            e = 144 + int.from_bytes(d[140:144], "little")
            body = zlib.decompress(d[e:], -15)
            assert d[:e].count(ph) == 1 and body.count(ph) == 1 and body.count(MAN) == 1
            z = zlib.compressobj(6, zlib.DEFLATED, -15)
            d = d[:e].replace(ph, uid) + z.compress(body.replace(ph, uid).replace(MAN, man)) + z.flush()
        else:
            assert d.count(ph) == 2 and d.count(MAN) == 1
            d = d.replace(ph, uid).replace(MAN, man)
        open(f"{src}/g{g:02d}_{c}.dcm", "wb").write(d)
EOF
[ "$(find "$SRC" -type f | wc -l)" -eq $((G * C)) ] || { echo "FAIL: could not build the inputs" >&2; exit 1; }
[ "$(dcmdump -q +P MediaStorageSOPInstanceUID "$SRC/g03_2.dcm" | sed -nE 's/^[^[]*\[([^]]*)\].*/\1/p')" = \
  "1.2.826.0.1.3680043.10.543.7.103" ] || { echo "FAIL: the file meta does not have the group's UID" >&2; exit 1; }
[ "$(dcmdump -q +P Manufacturer "$SRC/g05_2.dcm" | sed -nE 's/^[^[]*\[([^]]*)\].*/\1/p')" = g05c2 ] ||
    { echo "FAIL: a deflated input does not have its copy's Manufacturer" >&2; exit 1; }

# run NAME JOBS DST REPORT [ENV...]: one deidentify run, exit 0 expected.
run() {
    local name=$1 jobs=$2 dst=$3 rep=$4
    shift 4
    local rc=0
    env "$@" "$DV_BIN" deidentify -q --jobs "$jobs" --config "$T/cfg.json" --key-file "$T/key" \
        --report "$rep" "$SRC" "$dst" >"$T/out" 2>"$T/err" || rc=$?
    [ "$rc" -eq 0 ] || fail "$name: exit $rc; stderr: $(head -c 400 "$T/err")"
}
# statuses REPORT: "name:status" per input, in report order; counts REPORT: the counts object.
statuses() {
    python3 -c "import json,sys,os; d=json.load(open(sys.argv[1]))
print(' '.join(os.path.basename(i['source'])+':'+i['status'] for i in d['instances']))" "$1"
}
counts() {
    python3 -c "import json,sys; c=json.load(open(sys.argv[1]))['counts']
print(' '.join('%s=%s' % (k, c[k]) for k in ('total','ok','failed','skipped','duplicate')))" "$1"
}
# The expected report: copy 1 of each group ok, the others duplicate.
expected=$(for ((g = 0; g < G; g++)); do
    for ((c = 1; c <= C; c++)); do
        if [ "$c" -eq 1 ]; then s=ok; else s=duplicate; fi
        printf 'g%02d_%d.dcm:%s\n' "$g" "$c" "$s"
    done
done | paste -sd' ')
exp_counts="total=$((G * C)) ok=$G failed=0 skipped=0 duplicate=$((G * C - G))"
# check_run NAME DST REPORT: report, counts, exactly G files and no temp names.
check_run() {
    local name=$1 dst=$2 rep=$3
    [ "$(statuses "$rep")" = "$expected" ] || fail "$name: report statuses differ from lowest-index-wins: $(
        diff <(tr ' ' '\n' <<<"$expected") <(statuses "$rep" | tr ' ' '\n') | grep '^>' | head -5 | paste -sd' ')"
    [ "$(counts "$rep")" = "$exp_counts" ] || fail "$name: counts are '$(counts "$rep")', expected '$exp_counts'"
    local nfiles
    nfiles=$(find "$dst" -type f | wc -l)
    [ "$nfiles" -eq "$G" ] || fail "$name: $nfiles files in DST, expected $G"
    [ -z "$(find "$dst" -name '.dvtmp-*')" ] || fail "$name: a temp name was left in DST"
}

# ---- reference: --jobs 1 ----
run "jobs 1" 1 "$T/ref" "$T/ref.json"
check_run "jobs 1" "$T/ref" "$T/ref.json"
# The written copy of every group is copy 1 (Manufacturer g<GG>c1, and copy 1's transfer syntax).
got=$(find "$T/ref" -type f -name '*.dcm' -exec dcmdump -q +P Manufacturer {} + |
    sed -nE 's/^[^[]*\[([^]]*)\].*/\1/p' | sort | paste -sd' ')
want=$(for ((g = 0; g < G; g++)); do printf 'g%02dc1\n' "$g"; done | paste -sd' ')
[ "$got" = "$want" ] || fail "jobs 1: written copies are '$got', expected copy 1 of each group"
n_ts=$(find "$T/ref" -type f -name '*.dcm' -exec dcmdump -q +P TransferSyntaxUID {} + | grep -o '=[A-Za-z]*' |
    sort -u | wc -l)
[ "$n_ts" -eq 4 ] || fail "jobs 1: expected outputs in 4 transfer syntaxes, found $n_ts"
( cd "$T/ref" && find . -type f -print0 | sort -z | xargs -0 sha256sum ) >"$T/ref.sha256"

# ---- --jobs 8, several runs, both temp-file methods: byte-identical to the reference ----
for method in tmpfile named; do
    envs=()
    [ "$method" = named ] && envs=(DICOMVEIL_NO_O_TMPFILE=1)
    for ((r = 1; r <= RUNS; r++)); do
        name="jobs 8 $method run $r"
        dst="$T/dst-$method-$r"
        run "$name" 8 "$dst" "$T/rep-$method-$r.json" "${envs[@]}"
        check_run "$name" "$dst" "$T/rep-$method-$r.json"
        diff -r "$T/ref" "$dst" >/dev/null || fail "$name: DST differs from the --jobs 1 DST"
    done
done

# ---- naming through /proc/self/fd: where linkat(AT_EMPTY_PATH) is refused (kernels before 6.10 without
# CAP_DAC_READ_SEARCH), output.c link_fd names the unnamed files through /proc/self/fd instead; forced here
# (DICOMVEIL_LINK_VIA_PROC=1), the DST is the same (and strace, when present, shows that path taken) ----
name="jobs 8 linkat via /proc"
run "$name" 8 "$T/dst-proc" "$T/rep-proc.json" DICOMVEIL_LINK_VIA_PROC=1
check_run "$name" "$T/dst-proc" "$T/rep-proc.json"
diff -r "$T/ref" "$T/dst-proc" >/dev/null || fail "$name: DST differs from the --jobs 1 DST"
# LeakSanitizer cannot run in a traced process (the ASan build): leaks are checked by every other run here.
untraced_leaks=(ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0")
if command -v strace >/dev/null; then
    for via in proc empty; do
        rm -rf "$T/dst-st"
        envs=()
        [ "$via" = proc ] && envs=(DICOMVEIL_LINK_VIA_PROC=1)
        env "${envs[@]}" "${untraced_leaks[@]}" strace -f -qq -e trace=linkat -o "$T/st-$via" \
            "$DV_BIN" deidentify -q --jobs 1 --config "$T/cfg.json" --key-file "$T/key" "$SRC" "$T/dst-st" \
            >/dev/null 2>&1 ||
            fail "$name: the run under strace failed"
        n_proc=$(grep -c '"/proc/self/fd/' "$T/st-$via" || true)
        n_empty=$(grep -c 'AT_EMPTY_PATH' "$T/st-$via" || true)
        if [ "$via" = proc ]; then
            [ "$n_proc" -eq "$G" ] && [ "$n_empty" -eq 0 ] ||
                fail "$name: expected $G links through /proc and none with AT_EMPTY_PATH, got $n_proc / $n_empty"
        elif [ "$n_empty" -ne "$G" ]; then
            # a kernel that refuses AT_EMPTY_PATH (no CAP_DAC_READ_SEARCH, before 6.10) asks once, then /proc
            [ "$n_empty" -le 2 ] && [ "$n_proc" -eq "$G" ] ||
                fail "linkat: expected $G links with AT_EMPTY_PATH (or one refusal per worker and /proc), got $n_empty / $n_proc"
        fi
    done
fi

# ---- a worker's cached series directory removed during the run (DST cleaned meanwhile): the next file of
# that series makes it again (output.c forget_dirs), as when every file opened its directories afresh. strace
# holds the run after its first link until the test has removed what it wrote. ----
if command -v strace >/dev/null; then
    name="series directory removed during the run"
    mkdir -p "$T/two" && cp "$SRC/g00_1.dcm" "$SRC/g02_1.dcm" "$T/two/" # one series (the CT base), two SOPs
    rm -rf "$T/dst-rm"
    env "${untraced_leaks[@]}" strace -f -qq -e trace=linkat -e inject=linkat:delay_exit=3000000 -o /dev/null \
        "$DV_BIN" deidentify -q \
        --jobs 1 --config "$T/cfg.json" --key-file "$T/key" "$T/two" "$T/dst-rm" >"$T/out" 2>"$T/err" &
    pid=$!
    for ((i = 0; i < 200; i++)); do
        [ -n "$(find "$T/dst-rm" -type f -name '*.dcm' 2>/dev/null)" ] && break
        sleep 0.1
    done
    [ -n "$(find "$T/dst-rm" -type f -name '*.dcm' 2>/dev/null)" ] || fail "$name: the first output never appeared"
    find "$T/dst-rm" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" -eq 0 ] || fail "$name: exit $rc; stderr: $(head -c 300 "$T/err")"
    [ "$(find "$T/dst-rm" -type f -name '*.dcm' | wc -l)" -eq 1 ] ||
        fail "$name: expected the second file written into the re-made directory"
fi

# ---- the whole report, not only the statuses: under DEIDENTIFY_TAG_CONTENTS (text findings per input) every
# --jobs 8 report equals the --jobs 1 report but for the elapsed time. A copy written first and displaced by a
# lower index later reports no findings, as one found a duplicate at once does (before, it kept them: the
# report depended on thread timing). ----
echo '{"dicomTagConfig":{"profileType":"DEIDENTIFY_TAG_CONTENTS"}}' >"$T/dtc.json"
same_report() { # A B: 0 when equal but for elapsed_seconds
    python3 -c "import json,sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
for d in (a, b): d.pop('elapsed_seconds')
sys.exit(a != b)" "$1" "$2"
}
for ((r = 0; r <= RUNS; r++)); do
    jobs=8
    [ "$r" -eq 0 ] && jobs=1
    name="report jobs $jobs run $r"
    rc=0
    "$DV_BIN" deidentify -q --jobs "$jobs" --config "$T/dtc.json" --key-file "$T/key" --report "$T/dtc-$r.json" \
        "$SRC" "$T/dst-dtc-$r" >"$T/out" 2>"$T/err" || rc=$?
    [ "$rc" -eq 0 ] || fail "$name: exit $rc; stderr: $(head -c 400 "$T/err")"
    [ "$(statuses "$T/dtc-$r.json")" = "$expected" ] || fail "$name: report statuses differ from lowest-index-wins"
    if [ "$r" -eq 0 ]; then
        python3 -c "import json,sys
d = json.load(open(sys.argv[1]))['instances']
assert all('text_findings' in i for i in d if i['status'] == 'ok'), 'an ok input without findings'
assert not any('text_findings' in i for i in d if i['status'] != 'ok'), 'a duplicate with findings'" \
            "$T/dtc-0.json" || fail "$name: findings are not on the written inputs alone"
    else
        same_report "$T/dtc-0.json" "$T/dtc-$r.json" || fail "$name: the report differs from the --jobs 1 report"
        diff -r "$T/dst-dtc-0" "$T/dst-dtc-$r" >/dev/null || fail "$name: DST differs from the --jobs 1 DST"
    fi
done

# ---- re-run into an existing DST: nothing new, nothing overwritten ----
snapshot() { ( cd "$1" && find . -printf '%p %i %s %T@\n' | sort ); }
DST="$T/dst-tmpfile-1"
snapshot "$DST" >"$T/before"
for jobs in 8 1; do
    run "re-run jobs $jobs" "$jobs" "$DST" "$T/rerun.json"
    [ "$(counts "$T/rerun.json")" = "total=$((G * C)) ok=0 failed=0 skipped=0 duplicate=$((G * C))" ] ||
        fail "re-run jobs $jobs: counts are '$(counts "$T/rerun.json")', expected all duplicate"
    snapshot "$DST" >"$T/after"
    diff -q "$T/before" "$T/after" >/dev/null || fail "re-run jobs $jobs: DST changed (files, inodes or mtimes)"
    ( cd "$DST" && sha256sum --quiet -c "$T/ref.sha256" ) || fail "re-run jobs $jobs: DST contents changed"
done

# ---- a file that existed before the run is never replaced, even by the lowest-index copy ----
# Plant foreign bytes at the output paths of groups 0 and 5; every copy of those groups is a duplicate.
mapfile -t planted < <(cd "$T/ref" && for f in $(find . -type f -name '*.dcm' | sort); do
    case "$(dcmdump -q +P Manufacturer "$f")" in *'[g00c1]'* | *'[g05c1]'*) echo "${f#./}" ;; esac
done)
[ "${#planted[@]}" -eq 2 ] || fail "pre-existing: could not locate the outputs of groups 00 and 05"
for method in tmpfile named; do
    envs=()
    [ "$method" = named ] && envs=(DICOMVEIL_NO_O_TMPFILE=1)
    dst="$T/pre-$method"
    for f in "${planted[@]}"; do
        mkdir -p "$(dirname "$dst/$f")"
        echo "not ours" >"$dst/$f"
    done
    run "pre-existing $method" 8 "$dst" "$T/pre.json" "${envs[@]}"
    for f in "${planted[@]}"; do
        [ "$(cat "$dst/$f")" = "not ours" ] || fail "pre-existing $method: a file that existed before was replaced"
    done
    exp_pre=$(tr ' ' '\n' <<<"$expected" | sed -E 's/^(g0[05]_1\.dcm):ok$/\1:duplicate/' | paste -sd' ')
    [ "$(statuses "$T/pre.json")" = "$exp_pre" ] || fail "pre-existing $method: report statuses"
    [ "$(counts "$T/pre.json")" = "total=$((G * C)) ok=$((G - 2)) failed=0 skipped=0 duplicate=$((G * C - G + 2))" ] ||
        fail "pre-existing $method: counts are '$(counts "$T/pre.json")'"
    for f in "${planted[@]}"; do rm "$dst/$f"; done
    [ "$(find "$dst" -type f | wc -l)" -eq $((G - 2)) ] || fail "pre-existing $method: wrong number of outputs"
    for f in $(cd "$dst" && find . -type f); do
        cmp -s "$T/ref/$f" "$dst/$f" || fail "pre-existing $method: $f differs from the reference"
    done
done

finish test_cli_dupes
