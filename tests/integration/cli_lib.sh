# Sourced by tests/integration/test_cli_*.sh (not a test itself): the shared preamble and verdict.
# Gives: DV_BIN (required), SRCDIR (the repository: DV_SOURCE_DIR, else found from this file's location),
# DATA (the shared DICOM corpus: $DV_SHARED_DATA/dicom, else ../shared/data/dicom beside the repository, as in
# a fresh clone), T (a temp dir removed on exit), a private XDG_CONFIG_HOME/HOME under T (the real default key
# is never touched), fail MSG (count a failed check) and finish NAME (print the verdict, exit 1 when any
# check failed).
: "${DV_BIN:?DV_BIN must name the dicomveil binary}"
SRCDIR="${DV_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
DATA="${DV_SHARED_DATA:-$SRCDIR/../shared/data}/dicom"
if [ ! -d "$DATA" ]; then
    echo "FAIL: no DICOM corpus at $DATA (set DV_SHARED_DATA, or put shared/ beside the repository)" >&2
    exit 1
fi
# Every python3 of these scripts is Debian's interpreter (the Makefile's PYTHON, the ctest runner of the .py
# tests): a pyenv shim first on PATH costs ~0.6 CPU-s per start where /usr/bin/python3 costs ~0.07 (the dupes,
# resume, kill and mapping tests start dozens), and its python may lack python3-pydicom / numpy.
python3() { /usr/bin/python3 "$@"; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export XDG_CONFIG_HOME="$T/xdg" HOME="$T/home"
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
finish() {
    if [ "$fails" -ne 0 ]; then
        echo "$1: $fails check(s) failed" >&2
        exit 1
    fi
    echo "$1: PASS"
}

# MUST_NOT_PRINT: fixed strings (the PHI of a test's inputs, PHI-looking source folder names) that no stdout or
# stderr of the binary may contain; a test fills it before calling run.
MUST_NOT_PRINT=()
# DV_LAUNCH: a command run() puts before $DV_BIN (test_cli_mpi.sh: mpirun -np 2 ...); empty by default.
DV_LAUNCH=()
# run EXPECTED_RC NAME ARGS...: runs $DV_BIN ARGS with stdout/stderr in $T/out, $T/err. Counts a failure when
# the exit status differs (then RUN_OK=0, so a caller can skip the checks that follow: `[ "$RUN_OK" = 1 ] ||
# return 0`) and one when any MUST_NOT_PRINT string appears. Always returns 0 (the scripts run under set -e).
RUN_OK=1
run() {
    local want=$1 name=$2
    shift 2
    local rc=0
    RUN_OK=1
    ${DV_LAUNCH[@]+"${DV_LAUNCH[@]}"} "$DV_BIN" "$@" >"$T/out" 2>"$T/err" || rc=$?
    if [ "$rc" -ne "$want" ]; then
        fail "$name: exit $rc, expected $want; stderr: $(head -c 400 "$T/err")"
        RUN_OK=0
    fi
    local v
    for v in ${MUST_NOT_PRINT[@]+"${MUST_NOT_PRINT[@]}"}; do
        [ -n "$v" ] || continue
        if grep -qF -- "$v" "$T/err" "$T/out"; then fail "$name: stdout/stderr shows a PHI-bearing value or path"; fi
    done
    return 0
}
# tag FILE KEYWORD: the first value dcmdump prints for KEYWORD (top level or nested), or "".
tag() { dcmdump -q +P "$2" "$1" 2>/dev/null | sed -nE 's/^[^[]*\[([^]]*)\].*/\1/p' | sed -n 1p; }
# json FILE EXPR: print the Python expression EXPR over the parsed JSON document d of FILE.
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

# gen_instances DIR N [DUPES]: N distinct instances ct<i>.dcm (CT_small with its SOPInstanceUID, file meta and
# dataset, varied at equal length), written by one python3 (a cp per file forks N times); needs dcmdump. With
# DUPES=1, also the duplicates of gen_duplicates below.
gen_instances() {
    python3 - "$DATA/pydicom/CT_small.dcm" "$1" "$2" "${3:-0}" <<'EOF'
import re, subprocess, sys
src, out, n, dupes = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
dump = subprocess.run(["dcmdump", "-q", "+P", "SOPInstanceUID", src], capture_output=True, text=True).stdout
old = re.search(r"\[([^\]]+)\]", dump).group(1).encode()
data = open(src, "rb").read()
assert data.count(old) == 2, "expected the SOPInstanceUID in the file meta and the dataset"
def inst(i):
    return data.replace(old, old[:-6] + b"%06d" % i)
for i in range(n):
    open(f"{out}/ct{i:05d}.dcm", "wb").write(inst(i))
if not dupes:
    sys.exit(0)
for i in range(0, n, 13):
    open(f"{out}/cp{i:05d}.dcm", "wb").write(inst(i))
for i in range(5, n, 17):
    d = inst(i)
    open(f"{out}/aa{i:05d}.dcm", "wb").write(d[:-1] + bytes([d[-1] ^ 0x55]))
    open(f"{out}/zz{i:05d}.dcm", "wb").write(d[:-1] + bytes([d[-1] ^ 0x33]))
for i in range(7, n, 50):
    open(f"{out}/ct{i:05d}_trunc.dcm", "wb").write(inst(i)[:3000])
open(f"{out}/notes.txt", "wb").write(b"not dicom\n")
open(f"{out}/empty.dcm", "wb").write(b"")
EOF
}
# gen_distinct DIR N: the N distinct instances alone (test_cli_kill.sh, test_cli_mapping.sh).
gen_distinct() { gen_instances "$1" "$2" 0; }
# The corpus of the resume and MPI tests (test_cli_resume.sh, test_cli_mpi.sh).
# gen_duplicates DIR N: the N distinct instances, exact copies cp<i>.dcm (sort before "ct": the copy is the lower
# index), pixel variants aa<i>.dcm (same UIDs, other last byte, lower index) and zz<i>.dcm (higher index), and
# broken files (truncated, text, empty).
gen_duplicates() { gen_instances "$1" "$2" 1; }

# Comparing a run with its reference (test_cli_resume.sh, test_cli_mpi.sh).
# statuses REPORT / counts REPORT: per-input "status error_class" lines / "total ok failed skipped duplicate".
statuses() { json "$1" '"\n".join(e["status"] + " " + str(e["error_class"]) for e in d["instances"])'; }
counts() { json "$1" '" ".join(str(d["counts"][k]) for k in ("total","ok","failed","skipped","duplicate"))'; }
# same NAME DST REPORT REFDST REFREPORT: byte-identical DST, same statuses, same counts that add up.
# The report checks are one python3 (a start costs ~0.07 CPU-s, and the tests call same dozens of times; they
# were six); a report that is missing or unreadable fails them as its empty statuses and counts did.
same() {
    local name=$1 dst=$2 rep=$3 refdst=$4 refrep=$5 ndcm msg checked=0
    diff -r "$refdst" "$dst" >/dev/null || fail "$name: DST differs from the uninterrupted run"
    ndcm=$(find "$dst" -type f -name '*.dcm' | wc -l)
    while IFS= read -r msg; do
        if [ "$msg" = "=checked" ]; then checked=1; else fail "$name: $msg"; fi
    done < <(python3 - "$rep" "$refrep" "$ndcm" <<'EOF'
import json, sys
def load(p):
    try:
        with open(p) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
def get(fn, d):
    try:
        return fn(d)
    except (TypeError, KeyError):
        return ""
def statuses(d):
    return "\n".join(e["status"] + " " + str(e["error_class"]) for e in d["instances"])
def counts(d):
    return " ".join(str(d["counts"][k]) for k in ("total", "ok", "failed", "skipped", "duplicate"))
def adds_up(d):
    c = d["counts"]
    return c["total"] == len(d["instances"]) == c["ok"] + c["failed"] + c["skipped"] + c["duplicate"]
d, ref = load(sys.argv[1]), load(sys.argv[2])
if get(statuses, d) != get(statuses, ref):
    print("statuses differ from the uninterrupted run")
if get(counts, d) != get(counts, ref):
    print("counts %s != %s" % (get(counts, d), get(counts, ref)))
if get(adds_up, d) is not True:
    print("counts do not add up")
nok = get(lambda d: str(d["counts"]["ok"]), d)
if nok != sys.argv[3]:
    print("%s ok but %s files in DST" % (nok, sys.argv[3]))
print("=checked")
EOF
)
    [ "$checked" = 1 ] || fail "$name: the report checks did not run"
    [ -z "$(find "$dst" -name '.dvtmp-*' -print -quit)" ] || fail "$name: temp file left"
}
