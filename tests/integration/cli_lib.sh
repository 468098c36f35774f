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
