#!/usr/bin/env bash
# The Debian package (issue 10 item 3; docs/decisions.md "Debian package"), run by `make test-deb` as the last
# phase of `make test` (not by ctest: it installs a package on this machine). As root:
#   - the .deb that `make deb` built (DV_DEB_DIR) passes lintian with no E: line;
#   - `apt install ./dicomveil_*.deb` installs it (its Depends are met from the system's packages);
#   - the packaged /usr/bin/dicomveil de-identifies sample data, and runs OCR (REDACT_SENSITIVE_TEXT: Tesseract is
#     loaded on first use, not linked, so this proves the package depends on it); its internal modules are in
#     /usr/lib/dicomveil (the service below runs the server module); the man pages and completion are in place;
#   - the service unit: hardened as promised, disabled (no enablement link), and its ExecStart command line,
#     run by hand as the unit would (user dicomveil, the unit's environment with a loopback port), serves a route
#     with the token and refuses one without it;
#   - `apt purge` removes every file it installed, the data and token directories.
# Writes DV_DEB_DIR/test-deb.summary (result and seconds) for make test's summary.
set -euo pipefail
start=$(date +%s)
SRCDIR="${DV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
DEB_DIR=$(cd "${DV_DEB_DIR:?DV_DEB_DIR must name the directory holding the .deb}" && pwd)
DATA="${DV_SHARED_DATA:-$SRCDIR/../shared/data}/dicom"
T=$(mktemp -d)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
phase() { echo "test-deb: $1 at $(($(date +%s) - start)) s"; }
summary() { echo "test-deb: $1 ($(($(date +%s) - start)) s)" | tee "$DEB_DIR/test-deb.summary"; }

if [ "$(id -u)" != 0 ]; then
    summary "FAIL: not root (apt install needs root)"
    exit 1
fi
deb=$(ls "$DEB_DIR"/dicomveil_*.deb)
[ "$(wc -w <<<"$deb")" = 1 ] || { summary "FAIL: want one .deb in $DEB_DIR, found: $deb"; exit 1; }
# apt (not apt-get), as a user installs a downloaded package; the lock timeout waits for other dpkg runs.
APT=(apt -o DPkg::Lock::Timeout=600 -y -q)
export DEBIAN_FRONTEND=noninteractive

# ---- lintian: started now, it reads only the .deb; its verdict is checked at the end (saves ~30 s) ----
lintian --tag-display-limit 0 "$deb" >"$T/lintian" 2>&1 &
lintian_pid=$!

# ---- contents before installing ----
phase contents
dpkg-deb -c "$deb" >"$T/contents"
for f in ./usr/bin/dicomveil ./usr/lib/dicomveil/server.so ./usr/lib/dicomveil/mpi.so \
    ./lib/systemd/system/dicomveil.service ./etc/default/dicomveil \
    ./usr/share/man/man1/dicomveil.1.gz ./usr/share/man/man5/dicomveil-config.5.gz \
    ./usr/share/bash-completion/completions/dicomveil ./usr/share/doc/dicomveil/copyright; do
    grep -qF " $f" "$T/contents" || fail "the package lacks $f"
done
# The web console's assets, when the tree has them, where `serve` looks: <bin>/../share/dicomveil/console.
if [ -f "$SRCDIR/console/index.html" ]; then
    grep -qF " ./usr/share/dicomveil/console/index.html" "$T/contents" || fail "the package lacks the console assets"
fi
depends=$(dpkg-deb -f "$deb" Depends)
for d in libc6 libjansson4 libtesseract5 libcharls2 libmicrohttpd12 libsqlite3-0 libpq5 libopenmpi3 adduser \
    tesseract-ocr-eng; do
    grep -qE "(^|, )$d( |,|$)" <<<"$depends" || fail "Depends lacks $d: $depends"
done

# ---- install ----
phase install
if dpkg-query -W -f='${Status}' dicomveil 2>/dev/null | grep 'install ok installed' >/dev/null; then
    "${APT[@]}" purge dicomveil >/dev/null
fi
"${APT[@]}" install "$deb" >"$T/apt-install" 2>&1 || { cat "$T/apt-install" >&2; fail "apt install failed"; }
# The package's files and links (not its directories, which it shares with others: /lib, /usr/share/man...).
sed -nE 's|^[-l][^ ]* +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +\.(/[^ ]+).*|\1|p' "$T/contents" >"$T/files"
[ "$(wc -l <"$T/files")" -ge 10 ] || fail "only $(wc -l <"$T/files") files read from the package's contents"
getent passwd dicomveil >/dev/null || fail "postinst did not create the user dicomveil"
[ "$(stat -c %U:%a /var/lib/dicomveil 2>/dev/null)" = dicomveil:750 ] || fail "/var/lib/dicomveil is not dicomveil's, 0750"
[ "$(stat -c %U:%G:%a /etc/dicomveil 2>/dev/null)" = root:dicomveil:750 ] || fail "/etc/dicomveil is not root:dicomveil 0750"

# ---- the packaged binary on sample data ----
phase deidentify
head -c 32 /dev/urandom >"$T/key"
echo '{"dicomTagConfig": {"profileType": "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"}}' >"$T/basic.json"
mkdir "$T/in"
cp "$DATA/pydicom/CT_small.dcm" "$DATA/pydicom/MR_small.dcm" "$T/in/"
/usr/bin/dicomveil deidentify -q --config "$T/basic.json" --key-file "$T/key" "$T/in" "$T/out" 2>"$T/deid.err" \
    || fail "packaged dicomveil deidentify failed: $(cat "$T/deid.err")"
n=$(find "$T/out" -name '*.dcm' | wc -l)
[ "$n" = 2 ] || fail "packaged dicomveil deidentify wrote $n instances, expected 2"
for f in $(find "$T/out" -name '*.dcm'); do
    name=$(dcmdump -q +P PatientName "$f" 2>/dev/null | sed -nE 's/^[^[]*\[([^]]*)\].*/\1/p')
    [ -z "$name" ] || fail "an output still has a PatientName"
done
/usr/bin/dicomveil --version | head -1 | grep -x "dicomveil $(dpkg-deb -f "$deb" Version)" >/dev/null \
    || fail "--version does not match the package version"
# One OCR: burned-in text read and its box redacted by the packaged binary (Tesseract loaded on first use).
echo '{"dicomTagConfig":{"options":{"cleanImage":{"textRedactionMode":"REDACT_SENSITIVE_TEXT"}}}}' >"$T/ocr.json"
/usr/bin/dicomveil deidentify -q --config "$T/ocr.json" --key-file "$T/key" --report "$T/ocr-report.json" \
    "$DATA/presidio/2_ORIGINAL.dcm" "$T/ocr-out" 2>"$T/ocr.err" || fail "packaged OCR deidentify failed: $(cat "$T/ocr.err")"
boxes=$(/usr/bin/python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["instances"][0]; print(e["status"], (e.get("pixels") or {}).get("boxes_redacted"))' "$T/ocr-report.json" 2>/dev/null || true)
# Two boxes: the image's two lines of PHI (name and date at y 25, birth date at y 40: presidio's answer key),
# each covered on its own since a sensitive block covers its lines one by one (docs/decisions.md, wp-pixsens2).
[ "$boxes" = "ok 2" ] || fail "packaged OCR deidentify: want status ok with 2 boxes redacted, got '$boxes'"
man -w dicomveil-deidentify >/dev/null 2>&1 || fail "man dicomveil-deidentify is not found"

# ---- the service unit ----
phase service
unit=/lib/systemd/system/dicomveil.service
for k in 'User=dicomveil' 'ProtectSystem=strict' 'ReadWritePaths=/var/lib/dicomveil' 'NoNewPrivileges=yes' \
    'PrivateTmp=yes' 'ProtectHome=yes' 'CapabilityBoundingSet=' 'ConditionPathExists=/etc/dicomveil/token'; do
    grep -qx "$k" "$unit" || fail "the unit lacks $k"
done
if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify "$unit" >"$T/verify" 2>&1 || fail "systemd-analyze verify: $(head -c 600 "$T/verify")"
fi
# Not enabled by the package: no enablement link anywhere.
[ -z "$(find /etc/systemd/system -name dicomveil.service 2>/dev/null)" ] || fail "the package enabled the unit"
# The unit's command line, by hand: its ExecStart with its environment (Environment=, then the
# EnvironmentFile the package ships, then a free loopback port for this test), as the unit's user.
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token=$(head -c 24 /dev/urandom | base64)
(umask 027 && echo "$token" >/etc/dicomveil/token)
chgrp dicomveil /etc/dicomveil/token
cmdline=$(
    set -a
    eval "$(sed -n 's/^Environment=//p' "$unit")"
    # shellcheck disable=SC1091
    . /etc/default/dicomveil
    DICOMVEIL_LISTEN=127.0.0.1:$port
    # systemd's ${VAR} is one word, $VAR splits on white space: the unit uses each as such.
    echo "${exec_start//\$\{DICOMVEIL_LISTEN\}/$DICOMVEIL_LISTEN}" | sed "s|\\\$DICOMVEIL_OPTIONS|$DICOMVEIL_OPTIONS|"
)
grep -q -- "--listen 127.0.0.1:$port" <<<"$cmdline" || fail "ExecStart did not take the listen address: $cmdline"
# shellcheck disable=SC2086 # the command line is split into words as systemd does
setpriv --reuid=dicomveil --regid=dicomveil --init-groups -- $cmdline 2>"$T/serve.err" &
server_pid=$!
base="http://127.0.0.1:$port/v1beta1/projects/p/locations/l"
ok=0
for _ in $(seq 1 100); do
    if curl -s -o /dev/null "$base/datasets" 2>/dev/null; then ok=1; break; fi
    sleep 0.1
done
[ "$ok" = 1 ] || fail "the service command line did not listen on 127.0.0.1:$port: $(head -c 400 "$T/serve.err")"
code=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $token" "$base/datasets")
[ "$code" = 200 ] || fail "GET datasets with the token: $code $(head -c 200 "$T/body")"
code=$(curl -s -o /dev/null -w '%{http_code}' "$base/datasets")
[ "$code" = 401 ] || fail "GET datasets without the token: $code, expected 401"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $token" -d '{}' "$base/datasets?datasetId=ds")
[ "$code" = 200 ] || fail "POST datasets (writes /var/lib/dicomveil as the user dicomveil): $code"
[ -f /var/lib/dicomveil/index.sqlite ] || fail "the service wrote no index.sqlite in /var/lib/dicomveil"
kill -TERM "$server_pid"
wait "$server_pid" || fail "the service did not stop cleanly on SIGTERM (exit $?)"
server_pid=

# ---- purge ----
phase purge
"${APT[@]}" purge dicomveil >"$T/apt-purge" 2>&1 || { cat "$T/apt-purge" >&2; fail "apt purge failed"; }
dpkg-query -W -f='${Status}' dicomveil 2>/dev/null | grep 'installed' >/dev/null && fail "dicomveil is still installed"
while IFS= read -r f; do
    [ -f "$f" ] || [ -L "$f" ] || continue
    fail "purge left $f"
done <"$T/files"
for d in /var/lib/dicomveil /etc/dicomveil /usr/share/doc/dicomveil /etc/default/dicomveil; do
    [ -e "$d" ] && fail "purge left $d"
done

phase "lintian wait"
lrc=0
wait "$lintian_pid" || lrc=$?
cat "$T/lintian"
# lintian exits 0 without error tags (its default --fail-on error), 2 with some, other codes when it failed.
grep -q '^E: ' "$T/lintian" && fail "lintian reports errors"
[ "$lrc" = 0 ] || fail "lintian exited $lrc"

if [ "$fails" -ne 0 ]; then
    summary "FAIL: $fails check(s) failed"
    exit 1
fi
summary "PASS: lintian (no errors), apt install, deidentify, OCR, service command line, purge"
