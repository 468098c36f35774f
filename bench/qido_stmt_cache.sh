#!/bin/bash
# QIDO and instance puts on the SQLite index, before and after the per-connection statement cache
# (bench/RESULTS.md "QIDO statement cache"). Builds bench/qido_index.c twice: against the index of commit
# BEFORE (default b316f74: a prepare per call) and against the working tree; runs each under callgrind
# (instructions: exact on a shared machine) and for wall time. Not part of make test.
#   bench/qido_stmt_cache.sh [BEFORE]
set -euo pipefail
cd "$(dirname "$0")/.."
before=${1:-b316f74}
out=build/bench/qido_stmt_cache
mkdir -p "$out/before/store" "$out/tmp"
git show "$before:src/store/sqlite_index.c" > "$out/before/store/sqlite_index.c"
cflags=(-O2 -g -std=c11 -D_GNU_SOURCE -Iinclude -Isrc)
libs=(-lsqlite3 -lpthread)
gcc "${cflags[@]}" -o "$out/qido_before" bench/qido_index.c "$out/before/store/sqlite_index.c" \
    src/store/query_attrs.c src/util/error.c "${libs[@]}"
extra=()
[[ -f src/store/sqlite_ops.c ]] && extra+=(src/store/sqlite_ops.c)
gcc "${cflags[@]}" -o "$out/qido_after" bench/qido_index.c src/store/sqlite_index.c src/store/sql_build.c \
    src/store/query_attrs.c src/util/error.c "${extra[@]}" "${libs[@]}"
for v in before after; do
    echo "== $v"
    "$out/qido_$v" "$out/tmp" 500 5000
    valgrind --tool=callgrind --callgrind-out-file="$out/$v.cg" --collect-atstart=no \
        --toggle-collect=run_queries "$out/qido_$v" "$out/tmp" 500 1000 >/dev/null 2>"$out/$v.vg"
    ir=$(sed -n 's/^summary: *//p' "$out/$v.cg")
    echo "callgrind: $ir instructions for 1000 queries ($((ir / 1000)) per query)"
done
