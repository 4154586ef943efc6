#!/bin/sh
# fuzz/run.sh - run libFuzzer harnesses for a while each (make fuzz).
#
#   fuzz/run.sh SECONDS NAME...       (FUZZ_JOBS harnesses at a time, default 2)
#   fuzz/run.sh --one SECONDS NAME    (one harness; what the first form runs)
#
# Each harness build/fuzz/bin/fuzz_NAME runs on its seed corpus
# fuzz/corpus/NAME (read only) and a work corpus build/fuzz/work/NAME (where
# new inputs go), with its dictionary fuzz/NAME.dict and its -max_len.
# Crashes, leaks, timeouts and out-of-memory inputs land in fuzz/crashes/ as
# NAME-crash-<sha1> (see docs/fuzzing.md for turning one into a regression
# test). The log of a run is build/fuzz/logs/NAME.log; one summary line per
# harness; exits 1 when any harness found something.
set -u
cd "$(dirname "$0")/.."
secs=${1:?usage: fuzz/run.sh SECONDS NAME...}
shift
jobs=${FUZZ_JOBS:-2}
mkdir -p fuzz/crashes build/fuzz/logs build/fuzz/work

# maxlen NAME - the largest input worth trying for that decoder.
maxlen() {
    case "$1" in
        frame) echo 65536 ;;
        policy|yamljson|config|tracker) echo 16384 ;;
        argocd|ghpr|github|jenkins|gitlab) echo 16384 ;;
        *) echo 8192 ;;
    esac
}

# one NAME - run one harness; print its summary line.
one() {
    n=$1
    bin=build/fuzz/bin/fuzz_$n
    log=build/fuzz/logs/$n.log
    mkdir -p "build/fuzz/work/$n"
    set -- -max_total_time="$secs" -print_final_stats=1 -max_len="$(maxlen "$n")" \
        -timeout=10 -rss_limit_mb=2048 -artifact_prefix="fuzz/crashes/$n-"
    [ -f "fuzz/$n.dict" ] && set -- "$@" -dict="fuzz/$n.dict"
    start=$(date +%s)
    "$bin" "$@" "build/fuzz/work/$n" "fuzz/corpus/$n" >"$log" 2>&1
    rc=$?
    end=$(date +%s)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    if [ $rc -eq 0 ]; then
        echo "fuzz $n: ok, ${execs:-?} executions in $((end - start)) s, $cov"
    else
        echo "fuzz $n: FAILED (exit $rc) after ${execs:-?} executions in $((end - start)) s; see $log"
        grep -m3 -E '^==[0-9]+==ERROR|SUMMARY|invariant failed|Test unit written' "$log" | sed 's/^/    /'
        return 1
    fi
}

[ "$secs" = --one ] && { secs=$1; one "$2"; exit $?; }

fail=0
printf '%s\n' "$@" | xargs -P "$jobs" -I{} sh fuzz/run.sh --one "$secs" {} \
    > build/fuzz/logs/summary.txt || fail=1
sort build/fuzz/logs/summary.txt
exit $fail
