#!/usr/bin/env bash
# tools/uninstall.sh MANIFEST: remove what an install recorded (CMake's install_manifest.txt: one absolute path
# per line, DESTDIR included), then the directories of ours it leaves empty: a directory is removed when it is
# empty and a component of its path is named "dicomveil" (include/dicomveil, share/dicomveil/console/...,
# share/doc/dicomveil), so shared directories such as share/man/man1 or lib/pkgconfig are never touched.
# Used by `make uninstall` and tests/integration/test_install.sh.
set -euo pipefail
manifest=${1:?usage: uninstall.sh MANIFEST}
[ -f "$manifest" ] || { echo "uninstall: no install manifest at $manifest (nothing was installed from this tree?)" >&2; exit 1; }
removed=0
dirs=()
while IFS= read -r f || [ -n "$f" ]; do
    [ -n "$f" ] || continue
    if [ -e "$f" ] || [ -L "$f" ]; then
        rm -f -- "$f"
        removed=$((removed + 1))
    fi
    dirs+=("$(dirname -- "$f")")
done <"$manifest"
ours() { case "/$1/" in */dicomveil/*) return 0 ;; *) return 1 ;; esac; }
for d in "${dirs[@]}"; do
    while [ "$d" != / ] && ours "$d" && [ -d "$d" ] && [ -z "$(ls -A -- "$d")" ]; do
        rmdir -- "$d"
        d=$(dirname -- "$d")
    done
done
echo "uninstall: removed $removed files listed in $manifest"
