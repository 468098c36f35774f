#!/usr/bin/env bash
# dicomveil deidentify and its key (DECISIONS.md item 7): without --key-file a random key is created once at
# $XDG_CONFIG_HOME/dicomveil/key (default ~/.config/dicomveil/key), mode 0600 in a 0700 directory, atomically
# (concurrent first runs agree), and reused; a key inside DST is refused; the key is never printed or stored
# in the report or the output.
set -euo pipefail

# shellcheck source=tests/integration/cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"
unset XDG_CONFIG_HOME
mkdir -p "$HOME"

mkdir -p "$T/src"
cp "$DATA/pydicom/CT_small.dcm" "$DATA/pydicom/MR_small.dcm" "$T/src/"
echo '{"dicomTagConfig":{"profileType":"ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"}}' >"$T/cfg.json"

# deid EXPECTED_RC NAME DST [ARGS...] (environment as set by the caller, plus env(1) arguments in DEID_ENV)
DEID_ENV=()
deid() {
    local want=$1 name=$2 dst=$3
    shift 3
    local rc=0
    env "${DEID_ENV[@]}" "$DV_BIN" deidentify -q --config "$T/cfg.json" "$@" "$T/src" "$dst" >"$T/out" 2>"$T/err" ||
        rc=$?
    [ "$rc" -eq "$want" ] || fail "$name: exit $rc, expected $want: $(head -c 300 "$T/err")"
}
outputs() { (cd "$1" && find . -type f | sort); }
same_tree() { diff -r "$1" "$2" >/dev/null && [ -n "$(outputs "$1")" ]; }

# ---- first run creates the key under XDG_CONFIG_HOME (which does not exist yet) ----
export XDG_CONFIG_HOME="$T/xdg"
KEY="$XDG_CONFIG_HOME/dicomveil/key"
deid 0 "first run" "$T/dst1"
if [ -f "$KEY" ]; then
    [ "$(stat -c %a "$KEY")" = 600 ] || fail "key mode is $(stat -c %a "$KEY"), expected 600"
    [ "$(stat -c %a "$(dirname "$KEY")")" = 700 ] || fail "key directory mode is not 700"
    [ "$(stat -c %s "$KEY")" -ge 16 ] || fail "key has fewer than 16 bytes"
    [ "$(ls -A "$(dirname "$KEY")")" = key ] || fail "key directory holds more than the key: $(ls -A "$(dirname "$KEY")")"
else
    fail "no key created at \$XDG_CONFIG_HOME/dicomveil/key"
fi
[ "$(outputs "$T/dst1" | wc -l)" -eq 2 ] || fail "first run did not write 2 outputs"
sum1=$(sha256sum "$KEY" 2>/dev/null | cut -d' ' -f1)

# ---- reused: same key file, identical outputs; and it is the key actually used ----
deid 0 "second run" "$T/dst2"
[ "$(sha256sum "$KEY" | cut -d' ' -f1)" = "$sum1" ] || fail "the default key changed on the second run"
same_tree "$T/dst1" "$T/dst2" || fail "two runs with the default key gave different outputs"
deid 0 "explicit --key-file of the default key" "$T/dst3" --key-file "$KEY"
same_tree "$T/dst1" "$T/dst3" || fail "--key-file with the default key's file gives other outputs"
head -c 32 /dev/urandom >"$T/other_key"
deid 0 "another key" "$T/dst4" --key-file "$T/other_key"
same_tree "$T/dst1" "$T/dst4" && fail "another key gave the same outputs as the default key"

# ---- a fresh XDG dir gets a fresh key (the key is random, not derived) ----
XDG_CONFIG_HOME="$T/xdg_b" deid 0 "fresh XDG" "$T/dst5"
cmp -s "$KEY" "$T/xdg_b/dicomveil/key" && fail "two fresh default keys are identical"
same_tree "$T/dst1" "$T/dst5" && fail "two fresh default keys gave the same outputs"

# ---- without XDG_CONFIG_HOME (or with a relative one, which the XDG spec says to ignore): ~/.config ----
DEID_ENV=(-u XDG_CONFIG_HOME)
deid 0 "HOME fallback" "$T/dst6"
DEID_ENV=()
[ -f "$HOME/.config/dicomveil/key" ] || fail "no key at ~/.config/dicomveil/key without XDG_CONFIG_HOME"
[ "$(stat -c %a "$HOME/.config/dicomveil/key" 2>/dev/null)" = 600 ] || fail "the \$HOME/.config key mode is not 600"
pushd "$T" >/dev/null
XDG_CONFIG_HOME=relative_cfg deid 0 "relative XDG_CONFIG_HOME" "$T/dst7"
popd >/dev/null
[ -e "$T/relative_cfg" ] && fail "a relative XDG_CONFIG_HOME was used"
same_tree "$T/dst6" "$T/dst7" || fail "a relative XDG_CONFIG_HOME did not fall back to ~/.config"

# ---- concurrent first runs agree on one key ----
export XDG_CONFIG_HOME="$T/xdg_race"
pids=()
for i in 1 2 3 4 5 6; do
    "$DV_BIN" deidentify -q --jobs 1 --config "$T/cfg.json" "$T/src" "$T/race$i" 2>"$T/race$i.err" &
    pids+=($!)
done
for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || fail "concurrent first run $((i + 1)) failed: $(cat "$T/race$((i + 1)).err")"
done
for i in 2 3 4 5 6; do
    same_tree "$T/race1" "$T/race$i" || fail "concurrent first runs 1 and $i used different keys"
done
[ "$(ls -A "$XDG_CONFIG_HOME/dicomveil")" = key ] || fail "concurrent first runs left: $(ls -A "$XDG_CONFIG_HOME/dicomveil")"

# ---- a default key that would live inside DST is refused, before anything is created ----
export XDG_CONFIG_HOME="$T/dst_k/config"
deid 2 "default key inside DST" "$T/dst_k"
[ -e "$T/dst_k" ] && fail "default key inside DST: DST or the key was created"

# ---- a corrupt (too short) default key is an error, and is not replaced ----
export XDG_CONFIG_HOME="$T/xdg_short"
mkdir -p "$XDG_CONFIG_HOME/dicomveil"
printf 'short' >"$XDG_CONFIG_HOME/dicomveil/key"
deid 2 "short default key" "$T/dst_short"
[ "$(cat "$XDG_CONFIG_HOME/dicomveil/key")" = short ] || fail "a short default key was replaced"
[ -e "$T/dst_short" ] && fail "short default key: DST was created"

# ---- the key never shows up: not on stdout/stderr, not in the report, not in the outputs ----
export XDG_CONFIG_HOME="$T/xdg"
python3 -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())' >"$T/b64key"
chmod 644 "$T/b64key" # group/world-readable: the warning may name the file, never its content
deid 0 "base64 key file" "$T/dst8" --key-file "$T/b64key" --report "$T/report.json"
keytext=$(head -c 44 "$T/b64key")
grep -qF "$keytext" "$T/out" "$T/err" "$T/report.json" && fail "the key text was printed or reported"
grep -rqF "$keytext" "$T/dst8" && fail "the key text was written into an output"
grep -q "readable by other users" "$T/err" || fail "no warning for a world-readable key file"
[ -z "$(find "$T/dst8" -type f ! -name '*.dcm')" ] || fail "something besides .dcm files was written to DST"

finish test_cli_key
