#!/usr/bin/env bash
# Install from source (issue 10 items 1, 2, 4; docs/decisions.md "Install"): `cmake --install` of this build
# tree into a temporary prefix (what `make install PREFIX=...` runs), then as a user of the installed tree would:
#   - the layout: binary, libdicomveil.so with its SONAME and version, libdicomveil.a, every public header,
#     dicomveil.pc, the man pages, the bash completion, the docs;
#   - a small C program (install_client.c) built via pkg-config against the installed library, once shared and
#     once static (Requires.private / Libs.private), de-identifies an instance built here through the public API;
#   - the installed binary's --help and --version, every man page through `man -l` without a groff warning;
#   - tools/uninstall.sh (what `make uninstall` runs) leaves no file and no directory of ours.
set -euo pipefail
# shellcheck source=tests/integration/cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"
: "${DV_BUILD_DIR:?DV_BUILD_DIR must name the build tree}"

# No space in the prefix: pkg-config output is split on white space by every build system that uses it.
P="$T/prefix"
cmake --install "$DV_BUILD_DIR" --prefix "$P" >"$T/install.log" 2>&1 || { cat "$T/install.log" >&2; fail "cmake --install failed"; finish test_install; }
# The manifest of THIS install (the build tree's install_manifest.txt is rewritten by every install).
cp "$DV_BUILD_DIR/install_manifest.txt" "$T/manifest"
[ "$(wc -l <"$T/manifest")" -ge 20 ] || fail "install manifest lists only $(wc -l <"$T/manifest") files"

# ---- layout ----
version=$(sed -nE 's/^#define DICOMVEIL_VERSION "([0-9.]+)"$/\1/p' "$SRCDIR/include/dicomveil/dicomveil.h")
[ -n "$version" ] || fail "no DICOMVEIL_VERSION in include/dicomveil/dicomveil.h"
major=${version%%.*}
rest=${version#*.}
minor=${rest%%.*}
if [ "$major" = 0 ]; then soname="libdicomveil.so.$major.$minor"; else soname="libdicomveil.so.$major"; fi
libdir=$(dirname "$(find "$P" -name "libdicomveil.so.$version" -type f | sed -n 1p)")
[ -f "$libdir/libdicomveil.so.$version" ] || fail "no libdicomveil.so.$version installed"
[ "$(readlink "$libdir/$soname")" = "libdicomveil.so.$version" ] || fail "$soname is not a link to libdicomveil.so.$version"
[ "$(readlink "$libdir/libdicomveil.so")" = "$soname" ] || fail "libdicomveil.so is not a link to $soname"
got_soname=$(objdump -p "$libdir/libdicomveil.so.$version" | awk '$1 == "SONAME" {print $2}')
[ "$got_soname" = "$soname" ] || fail "SONAME is '$got_soname', expected $soname"
[ -f "$libdir/libdicomveil.a" ] || fail "no libdicomveil.a"
[ -x "$P/bin/dicomveil" ] || fail "no bin/dicomveil"
for h in "$SRCDIR"/include/dicomveil/*.h; do
    cmp -s "$h" "$P/include/dicomveil/$(basename "$h")" || fail "header $(basename "$h") not installed as is"
done
for page in man1/dicomveil.1 man1/dicomveil-deidentify.1 man1/dicomveil-inspect.1 man1/dicomveil-render.1 \
    man1/dicomveil-serve.1 man5/dicomveil-config.5; do
    [ -s "$P/share/man/$page" ] || fail "man page $page not installed"
done
[ -s "$P/share/bash-completion/completions/dicomveil" ] || fail "bash completion not installed"
[ -s "$P/share/doc/dicomveil/CHANGELOG.md" ] || fail "CHANGELOG.md not installed"
if [ -d "$SRCDIR/console" ]; then
    [ -d "$P/share/dicomveil/console" ] || fail "console/ not installed to share/dicomveil/console"
fi

# ---- a client via pkg-config, shared and static ----
export PKG_CONFIG_PATH="$libdir/pkgconfig"
[ "$(pkg-config --modversion dicomveil)" = "$version" ] || fail "pkg-config --modversion is not $version"
# The .pc file finds its prefix from where it lies: the include dir must be the installed one.
inc=$(pkg-config --variable=includedir dicomveil)
[ "$(realpath "$inc")" = "$(realpath "$P/include")" ] || fail "dicomveil.pc's includedir is $inc, not $P/include"
# shellcheck disable=SC2086 # word splitting of the flags is intended
{
    cc -std=c11 -Wall -Wextra -Werror ${DV_CLIENT_FLAGS:-} $(pkg-config --cflags dicomveil) \
        "$SRCDIR/tests/integration/install_client.c" -o "$T/client_shared" $(pkg-config --libs dicomveil) \
        2>"$T/cc_shared.err" || fail "client does not build against libdicomveil.so: $(head -c 600 "$T/cc_shared.err")"
    # libdicomveil.a, and what the .pc says it needs: each Requires.private module (linked as the system has
    # it) and Libs.private. (pkg-config --static would also ask for the private dependencies of those modules,
    # e.g. Leptonica's static image libraries, which a shared link of them does not need.)
    reqs=$(pkg-config --print-requires-private dicomveil | awk '{print $1}')
    [ -n "$reqs" ] || fail "dicomveil.pc has no Requires.private"
    static_libs="-L$libdir -l:libdicomveil.a $(pkg-config --libs $reqs) $(sed -n 's/^Libs.private: //p' "$libdir/pkgconfig/dicomveil.pc")"
    cc -std=c11 -Wall -Wextra -Werror ${DV_CLIENT_FLAGS:-} $(pkg-config --cflags dicomveil) \
        "$SRCDIR/tests/integration/install_client.c" -o "$T/client_static" $static_libs \
        2>"$T/cc_static.err" || fail "client does not build against libdicomveil.a: $(head -c 600 "$T/cc_static.err")"
}
# An instance built here (pydicom), with identifying values the Basic profile must remove.
/usr/bin/python3 - "$T/in.dcm" <<'PY'
import sys
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian
meta = FileMetaDataset()
meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.10.1.1"
meta.TransferSyntaxUID = ExplicitVRLittleEndian
ds = Dataset()
ds.file_meta = meta
ds.SOPClassUID = meta.MediaStorageSOPClassUID
ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
ds.StudyInstanceUID = "1.2.826.0.1.3680043.10.1.2"
ds.SeriesInstanceUID = "1.2.826.0.1.3680043.10.1.3"
ds.PatientName = "Installclient^Jane"
ds.PatientID = "PID-INSTALL-42"
ds.Modality = "OT"
ds.is_little_endian, ds.is_implicit_VR = True, False
ds.preamble = b"\0" * 128
ds.save_as(sys.argv[1], write_like_original=False)
PY
echo '{"dicomTagConfig": {"profileType": "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"}}' >"$T/basic.json"
check_output() { # NAME OUT.dcm STDOUT
    /usr/bin/python3 - "$2" <<'PY' || fail "$1: the output still holds the patient's name or ID, or kept the SOP UID"
import sys, pydicom
d = pydicom.dcmread(sys.argv[1])
assert "Installclient" not in str(d.get("PatientName", "")), "name"
assert "PID-INSTALL-42" not in str(d.get("PatientID", "")), "id"
assert d.SOPInstanceUID.startswith("2.25."), d.SOPInstanceUID
PY
    grep -qE "^dv_version=$version header=$version sop=2\.25\.[0-9]+$" "$3" || fail "$1 printed '$(cat "$3")'"
}
if [ -x "$T/client_shared" ]; then
    LD_LIBRARY_PATH="$libdir" "$T/client_shared" "$T/basic.json" "$T/in.dcm" "$T/out_shared.dcm" >"$T/shared.out" \
        2>"$T/shared.err" || fail "shared client failed: $(cat "$T/shared.err")"
    # It really ran against the installed shared library.
    deps=$(LD_LIBRARY_PATH="$libdir" ldd "$T/client_shared")
    grep -qF "$libdir/$soname" <<<"$deps" || fail "the shared client does not load $libdir/$soname"
    check_output "shared client" "$T/out_shared.dcm" "$T/shared.out"
fi
if [ -x "$T/client_static" ]; then
    deps=$(ldd "$T/client_static")
    grep -q libdicomveil <<<"$deps" && fail "the static client loads libdicomveil.so"
    "$T/client_static" "$T/basic.json" "$T/in.dcm" "$T/out_static.dcm" >"$T/static.out" 2>"$T/static.err" \
        || fail "static client failed: $(cat "$T/static.err")"
    check_output "static client" "$T/out_static.dcm" "$T/static.out"
    cmp -s "$T/out_static.dcm" "$T/out_shared.dcm" || fail "shared and static clients wrote different outputs"
fi

# ---- the installed binary and its man pages ----
"$P/bin/dicomveil" --help >"$T/help" 2>&1 || fail "installed dicomveil --help exits non-zero"
grep -q '^Usage: dicomveil' "$T/help" || fail "installed dicomveil --help prints no usage"
"$P/bin/dicomveil" --version >"$T/version" || fail "installed dicomveil --version exits non-zero"
[ "$(head -1 "$T/version")" = "dicomveil $version" ] || fail "installed --version says '$(head -1 "$T/version")'"
for page in "$P"/share/man/man*/*; do
    name=$(basename "$page")
    MANWIDTH=100 man --warnings -E ascii -l "$page" >"$T/man.out" 2>"$T/man.err" || fail "man -l $name failed"
    [ -s "$T/man.err" ] && fail "man -l $name warns: $(head -c 400 "$T/man.err")"
    grep -q '^NAME' "$T/man.out" || fail "man -l $name has no NAME section"
    grep -q "dicomveil $version" "$T/man.out" || fail "man -l $name does not name version $version"
done

# ---- uninstall ----
bash "$SRCDIR/tools/uninstall.sh" "$T/manifest" >/dev/null || fail "uninstall.sh failed"
left=$(find "$P" \( -type f -o -type l \) | head -5)
[ -z "$left" ] || fail "uninstall left files: $left"
ours=$(find "$P" -name '*dicomveil*' | head -5)
[ -z "$ours" ] || fail "uninstall left directories: $ours"
finish test_install
