#!/usr/bin/env bash
# Run dicomveil's libFuzzer targets (called by `make fuzz-smoke` and `make fuzz`).
#
#   tools/run_fuzz.sh [--dir build-fuzz] [--seconds N] [--seed N] [--jobs N] [--regressions] TARGET...
#
# For each target (fuzz_reader, fuzz_deidentify and fuzz_text_stage use tests/fuzz/corpus/reader/, the others use
# tests/fuzz/corpus/<name without fuzz_>/, e.g. fuzz_text_lexicon -> corpus/text_lexicon/; regressions likewise under tests/fuzz/regressions/<corpus>/):
#   1. with --regressions, every file under tests/fuzz/regressions/<corpus>/ is run once;
#   2. the target fuzzes for N seconds over the committed corpus. New interesting inputs go to the scratch
#      corpus DIR/corpus-new/<corpus>/ (listed first, so libFuzzer writes there), never into the committed
#      corpus; crashes, leaks, timeouts and OOMs are kept as files under DIR/artifacts/<target>/.
# Exits 1 when any target crashed (after running all of them), printing the stack and the saved input.
# A per-target summary is printed and written to DIR/fuzz.summary (in the order the targets were given).
# --jobs N runs up to N targets at once (each libFuzzer process is single-threaded, so make fuzz-smoke uses one
# per core). Targets that share a corpus never run at the same time, and keep their given order: each one
# starts from the scratch units the previous one added, exactly as in a one-at-a-time run.
# The caller sets ASAN_OPTIONS / UBSAN_OPTIONS (the Makefile does); DV_FUZZ_NO_INVARIANTS=1 limits fuzz_reader
# to memory safety (no write/re-read invariants), e.g. to keep fuzzing while a known invariant bug is open.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=build-fuzz
secs=20
regress=0
seed=""
jobs=1
targets=()
while (($#)); do
    case "$1" in
        --dir) dir=$2; shift 2 ;;
        --seconds) secs=$2; shift 2 ;;
        --regressions) regress=1; shift ;;
        --seed) seed=$2; shift 2 ;;  # fixed libFuzzer seed: the smoke in make test/CI is reproducible
        --jobs) jobs=$2; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        -*) echo "run_fuzz: unknown option $1" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
((${#targets[@]})) || targets=(fuzz_reader fuzz_deidentify fuzz_config fuzz_charset fuzz_text_detect fuzz_text_lexicon)

corpus_of() {
    case "$1" in
        fuzz_reader|fuzz_deidentify|fuzz_text_stage) echo reader ;;
        *) echo "${1#fuzz_}" ;;
    esac
}

[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || { echo "run_fuzz: --jobs wants a positive number" >&2; exit 2; }
for t in "${targets[@]}"; do
    if [[ ! -x "$dir/$t" ]]; then
        echo "run_fuzz: $dir/$t is not built (make build-fuzz)" >&2
        exit 1
    fi
done

summary_file="$dir/fuzz.summary"
: > "$summary_file"
mkdir -p "$dir/logs"

# run_target T: regressions + fuzzing of one target; its summary line goes to DIR/logs/T.summary, and it exits
# non-zero when the target failed (the caller collects both, in target order).
run_target() {
    local t=$1
    local bin="$dir/$t"
    local failed=()
    local c
    c=$(corpus_of "$t")
    seeds="tests/fuzz/corpus/$c"
    scratch="$dir/corpus-new/$c"
    artifacts="$dir/artifacts/$t"
    logs="$dir/logs"
    mkdir -p "$scratch" "$artifacts" "$logs"
    extra=()
    [[ -f "tests/fuzz/$c.dict" ]] && extra+=("-dict=tests/fuzz/$c.dict")

    # 1. crash regressions: each file once.
    nreg=0
    if ((regress)) && [[ -d "tests/fuzz/regressions/$c" ]]; then
        mapfile -t regs < <(find "tests/fuzz/regressions/$c" -type f ! -name 'README*' ! -name '.*' | sort)
        nreg=${#regs[@]}
        if ((nreg)); then
            log="$logs/$t.regressions.log"
            : > "$log"
            echo "run_fuzz: $t: replaying $nreg regression input(s) from tests/fuzz/regressions/$c/"
            bad=()
            for r in "${regs[@]}"; do
                if ! "$bin" -timeout=25 "${extra[@]}" "$r" >> "$log" 2>&1; then
                    bad+=("$r")
                    echo "run_fuzz: $t: REGRESSION fails again: $r" >&2
                    grep -E 'invariant violated|^==[0-9]+==ERROR|runtime error|SUMMARY:' "$log" | tail -n 2 >&2 || true
                fi
            done
            if ((${#bad[@]})); then
                failed+=("$t (${#bad[@]} regression(s))")
                echo "$t: ${#bad[@]} of $nreg REGRESSION(S) FAILED: ${bad[*]} (log: $log)" | tee -a "$dir/logs/$t.summary"
            fi
        fi
    fi

    # 2. fuzz.
    nseed=$(find "$seeds" -type f | wc -l)
    log="$logs/$t.log"
    echo "run_fuzz: $t: fuzzing ${secs}s over $nseed seeds ($seeds) + scratch $scratch"
    rc=0
    t0=$SECONDS
    seed_arg=()
    [ -n "$seed" ] && seed_arg=(-seed="$seed")
    "$bin" -max_total_time="$secs" "${seed_arg[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "${extra[@]}" "$scratch" "$seeds" > "$log" 2>&1 || rc=$?

    took=$((SECONDS - t0))
    stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
    execs=$(stat number_of_executed_units); eps=$(stat average_exec_per_sec)
    newu=$(stat new_units_added); rss=$(stat peak_rss_mb)
    covline=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -n 1 || true)
    line="$t: ${execs:-?} execs, ${eps:-?} exec/s, ${took}s, ${covline:-cov: ?}, new units ${newu:-?}, peak RSS ${rss:-?} MB, regressions replayed $nreg"
    if ((rc != 0)); then
        art=$(grep -Eo "Test unit written to [^ ]+" "$log" | tail -n 1 | sed 's/Test unit written to //' || true)
        echo "run_fuzz: $t: FAILED (exit $rc). Stack and input:" >&2
        grep -nE '^==[0-9]+==ERROR|SUMMARY:|runtime error|invariant violated|deadly signal|ERROR: libFuzzer' "$log" | head -n 5 >&2 || true
        tail -n 60 "$log" >&2
        echo "run_fuzz: input saved as: ${art:-<none>} (full log: $log)" >&2
        echo "run_fuzz: reproduce: $bin ${art:-ARTIFACT}; minimize: $bin -minimize_crash=1 -runs=100000 ${art:-ARTIFACT}" >&2
        echo "run_fuzz: then keep it: cp ${art:-ARTIFACT} tests/fuzz/regressions/$c/<short-name> and add a unit test" >&2
        failed+=("$t")
        line="$line, FAILED: ${art:-exit $rc}"
    else
        line="$line, 0 crashes"
    fi
    echo "$line" | tee -a "$dir/logs/$t.summary"
    ((${#failed[@]} == 0))
}

# Up to $jobs targets at once: the next one started is the first pending target whose corpus is not in use, so
# targets of one corpus keep their order and never overlap, and the others fill the free slots meanwhile.
declare -A running=()   # pid -> corpus
declare -A status=()    # target -> exit status
declare -A target_of=() # pid -> target
corpus_busy() {
    local p
    for p in "${!running[@]}"; do [[ "${running[$p]}" == "$1" ]] && return 0; done
    return 1
}
reap_one() {
    local p rc=0
    wait -n -p p "${!running[@]}" || rc=$?
    status[${target_of[$p]}]=$rc
    unset "running[$p]"
}
pending=("${targets[@]}")
while ((${#pending[@]})); do
    next=-1
    if ((${#running[@]} < jobs)); then
        for i in "${!pending[@]}"; do
            if ! corpus_busy "$(corpus_of "${pending[$i]}")"; then next=$i; break; fi
        done
    fi
    if ((next < 0)); then reap_one; continue; fi
    t=${pending[$next]}
    unset "pending[$next]"
    pending=(${pending[@]+"${pending[@]}"})
    rm -f "$dir/logs/$t.summary"
    run_target "$t" &
    running[$!]=$(corpus_of "$t")
    target_of[$!]=$t
done
while ((${#running[@]})); do reap_one; done

failed=()
for t in "${targets[@]}"; do
    cat "$dir/logs/$t.summary" >> "$summary_file" 2>/dev/null || echo "$t: no summary (the runner died)" >> "$summary_file"
    ((${status[$t]:-1} == 0)) || failed+=("$t")
done

if ((${#failed[@]})); then
    echo "run_fuzz: FAILED: ${failed[*]}" | tee -a "$summary_file" >&2
    exit 1
fi
echo "run_fuzz: all ${#targets[@]} target(s) clean" | tee -a "$summary_file"
