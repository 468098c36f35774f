# Sourced by tests/integration/test_cli_*.sh (not a test itself): the shared preamble and verdict.
# Gives: DV_BIN (required), DATA (the shared DICOM corpus), T (a temp dir removed on exit), a private
# XDG_CONFIG_HOME/HOME under T (the real default key is never touched), fail MSG (count a failed check) and
# finish NAME (print the verdict, exit 1 when any check failed).
: "${DV_BIN:?DV_BIN must name the dicomveil binary}"
DATA="${DV_SHARED_DATA:-/work/shared/data}/dicom"
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
