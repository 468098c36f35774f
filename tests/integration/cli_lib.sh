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
# run EXPECTED_RC NAME ARGS...: runs $DV_BIN ARGS with stdout/stderr in $T/out, $T/err. Counts a failure when
# the exit status differs (then RUN_OK=0, so a caller can skip the checks that follow: `[ "$RUN_OK" = 1 ] ||
# return 0`) and one when any MUST_NOT_PRINT string appears. Always returns 0 (the scripts run under set -e).
RUN_OK=1
run() {
    local want=$1 name=$2
    shift 2
    local rc=0
    RUN_OK=1
    "$DV_BIN" "$@" >"$T/out" 2>"$T/err" || rc=$?
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
tag() { dcmdump -q +P "$2" "$1" 2>/dev/null | sed -nE 's/^[^[]*\[([^]]*)\].*/\1/p' | head -1; }
# json FILE EXPR: print the Python expression EXPR over the parsed JSON document d of FILE.
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
