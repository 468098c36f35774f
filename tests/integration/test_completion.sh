#!/usr/bin/env bash
# Bash completion (packaging/bash-completion/dicomveil; issue 10 item 2): completes the commands and each
# command's options by asking the binary's --help, so every long option of every command's option table
# (src/cli/cmd_*.c) is offered ("every option completes"). Run with bash-completion's _init_completion when the
# system has it and with the script's own fallback.
set -euo pipefail
# shellcheck source=tests/integration/cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"

mkdir -p "$T/bin"
ln -s "$(realpath "$DV_BIN")" "$T/bin/dicomveil"
COMPLETION="$SRCDIR/packaging/bash-completion/dicomveil"

# complete MODE WORD...: COMPREPLY (one per line) for the command line WORD... with the cursor on the last word.
complete_words() {
    local mode=$1
    shift
    PATH="$T/bin:$PATH" MODE=$mode COMPLETION=$COMPLETION bash --norc --noprofile -c '
        if [ "$MODE" = bash-completion ]; then source /usr/share/bash-completion/bash_completion; fi
        source "$COMPLETION"
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
        COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
        _dicomveil dicomveil "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        printf "%s\n" "${COMPREPLY[@]}"' complete "$@"
}

# The full sweep runs in one mode (bash-completion's when the system has it, as users run it); the other mode
# gets the first checks only (each completion runs the binary: slow under the sanitizers).
modes=(fallback)
if [ -f /usr/share/bash-completion/bash_completion ]; then modes=(bash-completion fallback); fi
for mode in "${modes[@]}"; do
    got=$(complete_words "$mode" dicomveil de)
    [ "$got" = deidentify ] || fail "$mode: 'dicomveil de' completes to '$got'"
    got=$(complete_words "$mode" dicomveil "" | sort | tr '\n' ' ')
    for c in deidentify inspect render serve --help --version; do
        grep -qw -- "$c" <<<"$got" || fail "$mode: 'dicomveil ' does not offer $c (got: $got)"
    done
    got=$(complete_words "$mode" dicomveil deidentify --con)
    [ "$got" = --config ] || fail "$mode: 'deidentify --con' completes to '$got'"
    got=$(complete_words "$mode" dicomveil inspect --format j)
    [ "$got" = json ] || fail "$mode: 'inspect --format j' completes to '$got'"
    [ "$mode" = "${modes[0]}" ] || continue
    # Every long option of every command's option table is offered after "--".
    for src in "$SRCDIR"/src/cli/cmd_*.c; do
        cmd=$(basename "$src" .c)
        cmd=${cmd#cmd_}
        offered=$(complete_words "$mode" dicomveil "$cmd" --)
        opts=$(grep -ohE '\{"[a-z][a-z-]*", (no|required|optional)_argument' "$src" | sed -E 's/\{"([^"]*)".*/--\1/' | sort -u)
        [ -n "$opts" ] || fail "no option table in $src"
        for o in $opts; do
            grep -qx -- "$o" <<<"$offered" || fail "$mode: every option completes: '$cmd --' does not offer $o"
        done
    done
    # A file argument completes to files.
    touch "$T/scan_one.dcm"
    got=$(cd "$T" && complete_words "$mode" dicomveil render scan_o)
    [ "$got" = scan_one.dcm ] || fail "$mode: 'render scan_o' completes to '$got'"
done
finish test_completion
