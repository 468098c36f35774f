#!/usr/bin/env bash
# packaging/deb/build.sh BUILD_DIR OUT_DIR: `make deb`. Builds OUT_DIR/dicomveil_<version>_<arch>.deb with
# dpkg-deb from a staged install of the already-built tree (docs/decisions.md "Debian package"):
#   - `cmake --install --component cli` into a staging root with prefix /usr: the binary and its internal modules
#     /usr/lib/dicomveil/*.so (stripped; docs/decisions.md "Heavy libraries loaded on demand"), the man pages
#     (gzip -9n), the bash completion, the docs (README, CHANGELOG, NOTICE), console assets if any;
#   - the systemd unit, /etc/default/dicomveil (a conffile), the maintainer scripts, the copyright file and a
#     Debian changelog, from packaging/deb/;
#   - Depends: what dpkg-shlibdeps computes from the libraries the binary and its modules link, the packages of
#     the libraries the binary loads on first use (Tesseract, CharLS: build/gen/dv_lazy_sonames.list, with the
#     version their shlibs file asks for), plus adduser (postinst) and tesseract-ocr-eng (the OCR model is read at
#     run time, not linked).
# The library and headers are not packaged (install from source for them: README "Install from source").
# Prints the .deb's path last. [test_deb.sh "dpkg-deb --build"]
set -euo pipefail
build=$(cd "${1:?usage: build.sh BUILD_DIR OUT_DIR}" && pwd)
mkdir -p "${2:?usage: build.sh BUILD_DIR OUT_DIR}"
out=$(cd "$2" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
here="$src/packaging/deb"

version=$(sed -nE 's/^#define DICOMVEIL_VERSION "([0-9.]+)"$/\1/p' "$src/include/dicomveil/dicomveil.h")
[ -n "$version" ] || { echo "deb: no DICOMVEIL_VERSION in include/dicomveil/dicomveil.h" >&2; exit 1; }
arch=$(dpkg --print-architecture)
stage="$out/stage"
rm -rf "$stage" "$out/shlibs"
mkdir -p "$stage/DEBIAN"
umask 022

DESTDIR="$stage" cmake --install "$build" --prefix /usr --component cli >/dev/null
[ -x "$stage/usr/bin/dicomveil" ] || { echo "deb: the cli component installed no /usr/bin/dicomveil" >&2; exit 1; }
modules=("$stage"/usr/lib/dicomveil/*.so)
[ -f "${modules[0]}" ] || { echo "deb: the cli component installed no /usr/lib/dicomveil/*.so modules" >&2; exit 1; }
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$stage/usr/bin/dicomveil" "${modules[@]}"
chmod 0644 "${modules[@]}" # shared objects are not executables (lintian: shared-library-is-executable)
find "$stage/usr/share/man" -type f -name '*.[0-9]' -exec gzip -9n {} +

install -D -m 0644 "$here/dicomveil.service" "$stage/lib/systemd/system/dicomveil.service"
install -D -m 0644 "$here/default" "$stage/etc/default/dicomveil"
install -D -m 0644 "$here/copyright" "$stage/usr/share/doc/dicomveil/copyright"
# A native package's Debian changelog: one entry per version, pointing at the user-facing CHANGELOG.md.
date=$(sed -nE "s/^## \[$version\] - ([0-9-]+).*/\1/p" "$src/CHANGELOG.md" | head -1)
[ -n "$date" ] || { echo "deb: CHANGELOG.md has no '## [$version] - YYYY-MM-DD' entry" >&2; exit 1; }
{
    echo "dicomveil ($version) unstable; urgency=medium"
    echo
    echo "  * Release $version: user-visible changes in CHANGELOG.md."
    echo
    echo " -- dicomveil developers <dicomveil@example.org>  $(date -u -R -d "$date 12:00:00")"
} | gzip -9n >"$stage/usr/share/doc/dicomveil/changelog.gz"
chmod 0644 "$stage/usr/share/doc/dicomveil/changelog.gz"

for s in postinst prerm postrm; do install -m 0755 "$here/$s" "$stage/DEBIAN/$s"; done
echo /etc/default/dicomveil >"$stage/DEBIAN/conffiles"

# dpkg-shlibdeps wants a debian/control naming the package; a two-paragraph one in a scratch directory.
mkdir -p "$out/shlibs/debian"
printf 'Source: dicomveil\n\nPackage: dicomveil\nArchitecture: any\n' >"$out/shlibs/debian/control"
elfs=("-e$stage/usr/bin/dicomveil")
for m in "${modules[@]}"; do elfs+=("-e$m"); done
shlibs=$(cd "$out/shlibs" && dpkg-shlibdeps -O "${elfs[@]}" 2>"$out/shlibdeps.log" \
    | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { cat "$out/shlibdeps.log" >&2; echo "deb: dpkg-shlibdeps found no dependency" >&2; exit 1; }
# The libraries loaded with dlopen are invisible to dpkg-shlibdeps: the package shipping the file the build linked
# against, with the dependency its shlibs line for that SONAME gives (e.g. "libtesseract5 (>= 5.3.0)").
[ -f "$build/gen/dv_lazy_sonames.list" ] || { echo "deb: no $build/gen/dv_lazy_sonames.list" >&2; exit 1; }
while read -r soname path; do
    [ -n "$soname" ] || continue
    pkg=$(dpkg-query -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)
    [ -n "$pkg" ] || { echo "deb: no Debian package ships $soname ($path)" >&2; exit 1; }
    dep=$(dpkg-query --control-show "$pkg" shlibs 2>/dev/null \
        | awk -v n="${soname%%.so*}" -v m="${soname##*.so.}" '$1 == n && $2 == m {$1 = $2 = ""; sub(/^ +/, ""); print; exit}')
    shlibs="$shlibs, ${dep:-$pkg}"
done <"$build/gen/dv_lazy_sonames.list"

size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<CONTROL
Package: dicomveil
Version: $version
Architecture: $arch
Maintainer: dicomveil developers <dicomveil@example.org>
Installed-Size: $size
Depends: $shlibs, adduser, tesseract-ocr-eng
Section: science
Priority: optional
Description: self-hosted DICOM de-identification (Healthcare API DeidentifyConfig)
 dicomveil de-identifies DICOM files with the Google Cloud Healthcare API's
 DeidentifyConfig semantics on the local machine: tag profiles and actions,
 keyed UID regeneration, text cleaning inside values and burned-in text
 redaction in pixel data. It writes valid Part 10 output.
 .
 The package ships the dicomveil command (deidentify, inspect, render, serve)
 and a systemd unit for the Healthcare API-compatible REST and DICOMweb
 service, which is not enabled until configured.
CONTROL
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) \
    >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles" "$stage/DEBIAN/md5sums"

deb="$out/dicomveil_${version}_${arch}.deb"
rm -f "$out"/dicomveil_*.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
