#!/usr/bin/env bash
# dicomveil CLI: help/version, and every refusal path. Contract (DECISIONS.md items 10, 15): a usage, config or
# key error exits 2 and writes NOTHING (no DST, nothing in an existing DST, no report, no default key).
set -euo pipefail

# shellcheck source=tests/integration/cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"

# Inputs under a PHI-looking folder name: no message may echo it.
PHI_DIR="$T/Doe^John_1961"
mkdir -p "$PHI_DIR" "$HOME"
cp "$DATA/pydicom/CT_small.dcm" "$PHI_DIR/CT_small.dcm"
head -c 32 /dev/urandom >"$T/key" && chmod 600 "$T/key"
echo '{"dicomTagConfig":{"profileType":"ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"}}' >"$T/good.json"

# No message may echo the PHI-looking source folder.
MUST_NOT_PRINT=("Doe^John")

# ---- help and version ----
run 0 "--help" --help
cp "$T/out" "$T/help_main"
run 0 "deidentify --help" deidentify --help
cp "$T/out" "$T/help_deid"
run 0 "deidentify -h" deidentify -h
cmp -s "$T/out" "$T/help_deid" || fail "deidentify -h differs from deidentify --help"
# Every long option a command defines (read from its option table in src/cli/cmd_<command>.c, so a new option
# or a new command cannot go undocumented) must appear in that command's --help and in the global --help.
for src in "$SRCDIR"/src/cli/cmd_*.c; do
    cmd=$(basename "$src" .c)
    cmd=${cmd#cmd_}
    "$DV_BIN" "$cmd" --help >"$T/help_$cmd" 2>&1 || fail "$cmd --help exits non-zero"
    grep -qe "$cmd" "$T/help_main" || fail "--help does not mention the command $cmd"
    opts=$(grep -ohE '\{"[a-z][a-z-]*", (no|required|optional)_argument' "$src" | sed -E 's/\{"([^"]*)".*/--\1/' | sort -u)
    [ -n "$opts" ] || fail "could not extract the option table from $src"
    for o in $opts; do
        grep -qe "$o" "$T/help_main" || fail "--help does not document $cmd's $o"
        grep -qe "$o" "$T/help_$cmd" || fail "$cmd --help does not document $o"
    done
done
for o in --config --key-file --jobs --report --quiet --fsync --help --version -- deidentify inspect serve \
    XDG_CONFIG_HOME "Exit status"; do
    grep -qe "$o" "$T/help_main" || fail "--help does not mention $o"
done
run 0 "--version" --version
grep -qE '^dicomveil [0-9]+\.[0-9]+\.[0-9]+' "$T/out" || fail "--version prints '$(cat "$T/out")'"
# --version names the git commit it was built from and the run-time version of every library the binary links
# (src/cli/version.c): each linked shared library of these families (ldd) must have its line.
head=$(git -C "$SRCDIR" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
grep -qE "^commit $head(-dirty)?\$" "$T/out" || fail "--version names commit '$(sed -n 's/^commit //p' "$T/out")', not $head"
linked=$(ldd "$DV_BIN")
for pair in libz.so:zlib libcrypto.so:OpenSSL libjansson.so:jansson libpcre2-8.so:PCRE2 libjpeg.so:libjpeg-turbo \
    libopenjp2.so:OpenJPEG libcharls.so:CharLS libtesseract.so:Tesseract liblept.so:Leptonica \
    libleptonica.so:Leptonica libmicrohttpd.so:libmicrohttpd libsqlite3.so:SQLite libpq.so:PostgreSQL; do
    so=${pair%%:*} label=${pair#*:}
    grep -qF "$so" <<<"$linked" || continue
    grep -qE "^  $label [0-9]" "$T/out" || fail "--version names no $label version although the binary links $so"
done
# The libraries loaded on demand (OCR engine, server module: docs/decisions.md "Heavy libraries loaded on demand")
# are not in ldd's list: --version loads them to ask, so their lines are always there.
for label in Tesseract Leptonica libmicrohttpd SQLite PostgreSQL; do
    grep -qE "^  $label [0-9]" "$T/out" || fail "--version names no $label version"
done

# ---- usage errors: exit 2 ----
run 2 "no arguments"
run 2 "unknown command" frobnicate
# serve exists now (issue 7): without --data it is a usage error naming the option.
run 2 "serve without --data" serve
grep -q -- "--data DIR is required" "$T/err" || fail "serve without --data does not name --data"
run 2 "serve on a non-loopback address without a token" serve --data "$T/srv" --listen 0.0.0.0:0
grep -q -- "--token-file" "$T/err" || fail "non-loopback serve without a token does not name --token-file"
run 2 "unknown option" deidentify --config "$T/good.json" --bogus "$PHI_DIR" "$T/dst_u1"
run 2 "missing --config" deidentify "$PHI_DIR" "$T/dst_u2"
run 2 "missing DST" deidentify --config "$T/good.json" --key-file "$T/key" "$PHI_DIR"
run 2 "--jobs 0" deidentify --config "$T/good.json" --key-file "$T/key" --jobs 0 "$PHI_DIR" "$T/dst_u3"
run 2 "--jobs abc" deidentify --config "$T/good.json" --key-file "$T/key" --jobs abc "$PHI_DIR" "$T/dst_u4"
run 2 "--config without value" deidentify "$PHI_DIR" "$T/dst_u5" --config
run 2 "missing source" deidentify --config "$T/good.json" --key-file "$T/key" "$T/Nobody^Here" "$T/dst_u6"
grep -qF "Nobody^Here" "$T/err" && fail "missing source: message echoes the source path"
for d in "$T"/dst_u*; do [ -e "$d" ] && fail "usage error created $(basename "$d")"; done

# ---- config errors: exit 2, DST not created, pre-existing DST stays empty, no report ----
cfg_error() {
    local name=$1 json=$2
    printf '%s' "$json" >"$T/bad.json"
    rm -rf "$T/dst_cfg" "$T/report.json"
    run 2 "config: $name" deidentify --config "$T/bad.json" --key-file "$T/key" --report "$T/report.json" \
        "$PHI_DIR" "$T/dst_cfg"
    [ "$RUN_OK" = 1 ] || return 0
    [ -e "$T/dst_cfg" ] && fail "config: $name: DST was created"
    [ -e "$T/report.json" ] && fail "config: $name: a report was written"
    grep -q "config" "$T/err" || fail "config: $name: stderr does not say it is a config error"
    # An existing, empty DST must stay empty.
    mkdir "$T/dst_cfg"
    run 2 "config: $name (existing DST)" deidentify --config="$T/bad.json" --key-file="$T/key" "$PHI_DIR" \
        "$T/dst_cfg"
    [ "$RUN_OK" = 1 ] || return 0
    [ -z "$(ls -A "$T/dst_cfg")" ] || fail "config: $name: something was written into the existing DST"
}
cfg_error "dicom + dicomTagConfig" \
    '{"dicom":{"filterProfile":"KEEP_ALL_PROFILE"},"dicomTagConfig":{"profileType":"KEEP_ALL_PROFILE"}}'
cfg_error "keepList + removeList" \
    '{"dicom":{"keepList":{"tags":["PatientID"]},"removeList":{"tags":["PatientName"]}}}'
cfg_error "image + dicomTagConfig" '{"image":{"textRedactionMode":"REDACT_NO_TEXT"},"dicomTagConfig":{}}'
cfg_error "unknown keyword" '{"dicomTagConfig":{"actions":[{"queries":["NoSuchKeyword"],"removeTag":{}}]}}'
cfg_error "bad profileType" '{"dicomTagConfig":{"profileType":"BOGUS"}}'
cfg_error "invalid JSON" '{not json'
# burned-in text is built (issue 11): cleanImageTag on anything but PixelData is the config error
cfg_error "cleanImageTag not on PixelData" '{"dicomTagConfig":{"actions":[{"queries":["PatientName"],"cleanImageTag":{"textRedactionMode":"REDACT_ALL_TEXT"}}]}}'
cfg_error "excludeInfoTypes with REDACT_ALL_TEXT" '{"dicomTagConfig":{"options":{"cleanImage":{"textRedactionMode":"REDACT_ALL_TEXT","excludeInfoTypes":["AGE"]}}}}'
# Over the 1 MiB cap (valid JSON: the size alone must refuse it).
python3 -c 'import json,sys; sys.stdout.write(json.dumps({"dicomTagConfig":{"profileType":"KEEP_ALL_PROFILE"},"pad":"x"*(1<<20)}))' >"$T/big.json"
rm -rf "$T/dst_big"
run 2 "config over 1 MiB" deidentify --config "$T/big.json" --key-file "$T/key" "$PHI_DIR" "$T/dst_big"
[ -e "$T/dst_big" ] && fail "config over 1 MiB: DST was created"
run 2 "config missing" deidentify --config "$T/nope.json" --key-file "$T/key" "$PHI_DIR" "$T/dst_big"

# ---- key errors ----
key_error() {
    local name=$1 bytes=$2
    head -c "$bytes" /dev/urandom >"$T/shortkey"
    rm -rf "$T/dst_key"
    run 2 "key of $bytes bytes" deidentify --config "$T/good.json" --key-file "$T/shortkey" "$PHI_DIR" \
        "$T/dst_key"
    [ "$RUN_OK" = 1 ] || return 0
    [ -e "$T/dst_key" ] && fail "$name: DST was created"
    grep -q "16" "$T/err" || fail "$name: the message does not give the 16-byte minimum"
}
key_error "short key" 15
key_error "empty key" 0
run 2 "missing key file" deidentify --config "$T/good.json" --key-file "$T/nokey" "$PHI_DIR" "$T/dst_key"
[ -e "$T/dst_key" ] && fail "missing key file: DST was created"
head -c 16 /dev/urandom >"$T/key16"
run 0 "key of exactly 16 bytes" deidentify -q --config "$T/good.json" --key-file "$T/key16" "$PHI_DIR" \
    "$T/dst_key16"
[ -n "$(find "$T/dst_key16" -name '*.dcm' 2>/dev/null)" ] || fail "key of 16 bytes: nothing written"
[ -e "$XDG_CONFIG_HOME/dicomveil/key" ] && fail "a default key was created although --key-file was given"

# ---- path refusals ----
mkdir -p "$T/srcp/inner"
cp "$DATA/pydicom/MR_small.dcm" "$T/srcp/MR_small.dcm"
run 2 "DST inside SRC" deidentify --config "$T/good.json" --key-file "$T/key" "$T/srcp" "$T/srcp/inner/out"
[ -e "$T/srcp/inner/out" ] && fail "DST inside SRC: DST was created"
run 2 "DST equals SRC" deidentify --config "$T/good.json" --key-file "$T/key" "$T/srcp" "$T/srcp"
run 2 "DST is the parent of SRC" deidentify --config "$T/good.json" --key-file "$T/key" "$T/srcp/inner" "$T/srcp"
ln -s "$T/srcp" "$T/srclink"
run 2 "DST inside SRC via symlink" deidentify --config "$T/good.json" --key-file "$T/key" "$T/srclink" \
    "$T/srcp/out2"
[ -e "$T/srcp/out2" ] && fail "DST inside SRC via symlink: DST was created"
# A second name for SRC the path check cannot see: a bind mount (root, as in CI; skipped with a note where the
# kernel refuses the mount, e.g. an unprivileged container).
mkdir -p "$T/bindsrc"
if mount --bind "$T/srcp" "$T/bindsrc" 2>/dev/null; then
    run 2 "DST inside SRC through a bind mount" deidentify --config "$T/good.json" --key-file "$T/key" "$T/srcp" \
        "$T/bindsrc/out3"
    [ -e "$T/srcp/out3" ] && fail "DST inside SRC through a bind mount: DST was created in the source"
    run 2 "SRC inside DST through a bind mount" deidentify --config "$T/good.json" --key-file "$T/key" \
        "$T/srcp/inner" "$T/bindsrc"
    # Side files inside DST or a SRC through a bind mount: the crosswalk, the PHI pictures and the report are
    # refused as by name (their parent's device and inode; the file itself does not exist yet).
    mkdir -p "$T/dstb" "$T/binddst"
    if mount --bind "$T/dstb" "$T/binddst" 2>/dev/null; then
        for side in "--mapping $T/binddst/map.csv" "--preview $T/binddst/pics" "--report $T/bindsrc/r.json" \
            "--mapping $T/bindsrc/sub/../map.csv" "--preview $T/bindsrc/inner/pics"; do
            # shellcheck disable=SC2086  # "option path": two words
            run 2 "side file through a bind mount (${side%% *})" deidentify -q --config "$T/good.json" \
                --key-file "$T/key" $side "$T/srcp" "$T/dstb"
            grep -qF -- "refusing ${side%% *} inside the destination or a source" "$T/err" ||
                fail "side file through a bind mount (${side%% *}): $(head -c 300 "$T/err")"
        done
        [ -z "$(ls -A "$T/dstb")" ] || fail "side files through a bind mount: something was written into DST"
        [ -e "$T/srcp/r.json" ] || [ -e "$T/srcp/inner/pics" ] &&
            fail "side files through a bind mount: something was written into SRC"
        umount "$T/binddst"
    else
        echo "NOTE: mount --bind refused here: side files through a bind mount are not checked on this machine"
    fi
    umount "$T/bindsrc"
else
    echo "NOTE: mount --bind refused here: the bind-mount case is not checked on this machine"
fi
run 2 "DST is a file" deidentify --config "$T/good.json" --key-file "$T/key" "$PHI_DIR" "$T/key"
rm -rf "$T/dst_rep"
run 2 "report inside DST" deidentify --config "$T/good.json" --key-file "$T/key" --report "$T/dst_rep/r.json" \
    "$PHI_DIR" "$T/dst_rep"
[ -e "$T/dst_rep" ] && fail "report inside DST: DST was created"
run 2 "report inside SRC" deidentify --config "$T/good.json" --key-file "$T/key" --report "$PHI_DIR/r.json" \
    "$PHI_DIR" "$T/dst_rep"
[ -e "$PHI_DIR/r.json" ] && fail "report inside SRC: it was written"
run 2 "report directory missing" deidentify --config "$T/good.json" --key-file "$T/key" \
    --report "$T/no/such/dir/r.json" "$PHI_DIR" "$T/dst_rep"
[ -e "$T/dst_rep" ] && fail "report directory missing: DST was created"
mkdir -p "$T/dst_k"
head -c 32 /dev/urandom >"$T/dst_k/key"
run 2 "key file inside DST" deidentify --config "$T/good.json" --key-file "$T/dst_k/key" "$PHI_DIR" "$T/dst_k"
[ "$(ls -A "$T/dst_k")" = "key" ] || fail "key file inside DST: something was written into DST"

# ---- a file the run writes onto a file it reads, or onto another it writes (docs/decisions.md "Files the run
# writes"): exit 2, nothing written, the read file unchanged; the message names the options, not the paths ----
# refused NAME WANT_IN_STDERR FILE... -- ARGS: the run is refused, no DST, every FILE keeps its bytes.
refused() {
    local name=$1 want=$2
    shift 2
    local files=()
    while [ "$1" != -- ]; do files+=("$1"); shift; done
    shift
    local f
    for f in "${files[@]}"; do cp -p "$f" "$f.before"; done
    rm -rf "$T/dst_side"
    run 2 "$name" deidentify -q "$@" "$PHI_DIR" "$T/dst_side"
    grep -qF -- "$want" "$T/err" || fail "$name: stderr does not name $want: $(head -c 300 "$T/err")"
    [ -e "$T/dst_side" ] && fail "$name: DST was created"
    for f in "${files[@]}"; do
        cmp -s "$f" "$f.before" || fail "$name: $(basename "$f") was changed"
        grep -qF -- "$f" "$T/err" && fail "$name: the message names a path"
        rm -f "$f.before"
    done
    return 0
}
head -c 32 /dev/urandom >"$T/key2" && chmod 600 "$T/key2"
cp "$T/good.json" "$T/cfg2.json"
refused "report onto the key file" "--key-file and --report" "$T/key2" -- \
    --config "$T/good.json" --key-file "$T/key2" --report "$T/key2"
refused "report onto the config" "--config and --report" "$T/cfg2.json" -- \
    --config "$T/cfg2.json" --key-file "$T/key" --report "$T/cfg2.json"
refused "mapping onto the config" "--config and --mapping" "$T/cfg2.json" -- \
    --config "$T/cfg2.json" --key-file "$T/key" --mapping "$T/cfg2.json"
ln "$T/key2" "$T/key2_link"
refused "report onto a hard link of the key" "--key-file and --report" "$T/key2" -- \
    --config "$T/good.json" --key-file "$T/key2" --report "$T/key2_link"
ln "$T/cfg2.json" "$T/cfg2_link.json"
refused "mapping onto a hard link of the config" "--config and --mapping" "$T/cfg2.json" -- \
    --config "$T/cfg2.json" --key-file "$T/key" --mapping "$T/cfg2_link.json"
ln -s "$T/key2" "$T/key2_sym"
refused "report onto a symlink to the key" "--key-file and --report" "$T/key2" -- \
    --config "$T/good.json" --key-file "$T/key2_sym" --report "$T/key2"
cp "$T/key2" "$T/rep.journal"
refused "resume journal onto the key" "--key-file and the journal of --report" "$T/rep.journal" -- \
    --config "$T/good.json" --key-file "$T/rep.journal" --report "$T/rep" --resume
refused "preview onto the report" "--report and --preview" "$T/key2" -- \
    --config "$T/good.json" --key-file "$T/key2" --report "$T/side_pv" --preview "$T/side_pv"
[ -e "$T/side_pv" ] && fail "preview onto the report: the preview directory was created"
# The default key ($XDG_CONFIG_HOME/dicomveil/key): refused before it is created (its directory exists, so only
# the rule can refuse), and once it exists.
DEFKEY="$XDG_CONFIG_HOME/dicomveil/key"
rm -rf "$XDG_CONFIG_HOME" && mkdir -p "$XDG_CONFIG_HOME/dicomveil"
run 2 "report onto the default key (not yet created)" deidentify -q --config "$T/good.json" --report "$DEFKEY" \
    "$PHI_DIR" "$T/dst_side"
grep -qF -- "the default key" "$T/err" || fail "report onto the default key: $(head -c 300 "$T/err")"
[ -e "$DEFKEY" ] && fail "report onto the default key (not yet created): the key or the report was written"
[ -e "$T/dst_side" ] && fail "report onto the default key (not yet created): DST was created"
head -c 32 /dev/urandom >"$DEFKEY" && chmod 600 "$DEFKEY"
refused "report onto the default key" "the default key (see --key-file) and --report" "$DEFKEY" -- \
    --config "$T/good.json" --report "$DEFKEY"
refused "mapping onto the default key" "the default key (see --key-file) and --mapping" "$DEFKEY" -- \
    --config "$T/good.json" --mapping "$DEFKEY"
rm -rf "$XDG_CONFIG_HOME"
# Distinct files still run (exit 0, the report written, the key kept).
cp -p "$T/key2" "$T/key2.before"
run 0 "distinct side files" deidentify -q --config "$T/good.json" --key-file "$T/key2" --report "$T/side.json" \
    --resume "$PHI_DIR" "$T/dst_side"
cmp -s "$T/key2" "$T/key2.before" && [ -s "$T/side.json" ] || fail "distinct side files: key changed or no report"

finish test_cli_errors
