#!/usr/bin/env bash
# run.sh - the chaos run: many trackers through the chain dev -> staging ->
# prod while a random stage is killed with SIGKILL at random moments.
#
#   tests/chaos/run.sh [--kills N] [--trackers N] [--duration SECONDS]
#                      [--settle SECONDS] [--seed N] [--bin DIR] [--keep] [-v]
#
# promo-sim plays the CI systems and Argo CD; the five stages run under
# supervisord with the repository's supervisor.conf (tests/chaos/lib.bash).
# Over DURATION seconds, N kills are spread at random intervals (uniform in
# 0..2x the mean); each picks a random stage and SIGKILLs the PID supervisorctl
# gives for it (a stage that is not running, in its restart backoff, is
# skipped and another is picked). Trackers are added over the first three
# quarters of the kills, so kills land on every step of their way. After the
# last kill, every tracker must reach done in prod within SETTLE seconds.
# Then promo-sim's request log is checked (tests/chaos/check.jq): each test of
# each hop triggered exactly once, each hop promoted exactly once, and no PR
# deployed into a shared application another PR still held.
#
# Prints one summary line and exits 0 when every tracker is done in prod with
# no duplicate, no loss and no intrusion, 1 otherwise (the problems are listed), 2 when the
# session could not start:
#   chaos: kills=1000 trackers=50 done=50 promotions=100 duplicates=0 losses=0 ...
# Everything runs in its own temp dir; only the processes started here are
# stopped, by PID. --keep keeps the dir.
set -u
cd "$(dirname "$0")/../.."
REPO=$(pwd)
PROMO_BIN="$REPO/bin"
KILLS=20 TRACKERS=5 DURATION=20 SETTLE=180 SEED=$(( $(date +%s) % 32768 )) KEEP=
while [ $# -gt 0 ]; do
    case "$1" in
        --kills) KILLS=$2; shift 2 ;;
        --trackers) TRACKERS=$2; shift 2 ;;
        --duration) DURATION=$2; shift 2 ;;
        --settle) SETTLE=$2; shift 2 ;;
        --seed) SEED=$2; shift 2 ;;
        --bin) PROMO_BIN=$(cd "$2" && pwd); shift 2 ;;
        --keep) KEEP=1; shift ;;
        -v) CHAOS_VERBOSE=1; shift ;;
        *) echo "chaos: usage: tests/chaos/run.sh [--kills N] [--trackers N] [--duration SECONDS] [--settle SECONDS] [--seed N] [--bin DIR] [--keep] [-v]" >&2
           exit 100 ;;
    esac
done
for v in "$KILLS" "$TRACKERS" "$DURATION" "$SETTLE" "$SEED"; do
    case "$v" in ''|*[!0-9]*) echo "chaos: not a number: $v" >&2; exit 100 ;; esac
done
[ "$TRACKERS" -ge 1 ] || { echo "chaos: --trackers must be at least 1" >&2; exit 100; }
export REPO PROMO_BIN CHAOS_VERBOSE
. "$REPO/tests/chaos/lib.bash"

T=$(mktemp -d "${TMPDIR:-/tmp}/promo-chaos.XXXXXX")
export T
: > "$T/pids"
: > "$T/trackers"
finish() {
    chaos_stop_all
    if [ -n "$KEEP" ]; then echo "chaos: files kept in $T" >&2; else rm -rf "$T"; fi
}
trap finish EXIT
trap 'exit 130' INT TERM

RANDOM=$SEED
chaos_config
chaos_policies
chaos_sim_up || exit 2
chaos_sup_conf
chaos_sup_start || exit 2
chaos_log "session in $T, seed $SEED: $KILLS kills over ${DURATION}s, $TRACKERS trackers"

START=$(date +%s)
mean_ms=$(( KILLS > 0 ? DURATION * 1000 / KILLS : 0 ))
feed=$(( KILLS * 3 / 4 )); [ "$feed" -ge 1 ] || feed=1
added=0 kills=0 skipped=0
declare -A per_stage=()

# add_trackers UPTO - track acme/shop#N up to UPTO.
add_trackers() {
    while [ "$added" -lt "$1" ]; do
        added=$((added + 1))
        chaos_track "$added" || echo "chaos: cannot track #$added" >&2
    done
}

add_trackers 1
i=0
while [ "$i" -lt "$KILLS" ]; do
    i=$((i + 1))
    want=$(( (TRACKERS * i + feed - 1) / feed ))
    [ "$want" -le "$TRACKERS" ] || want=$TRACKERS
    add_trackers "$want"
    ms=$(( mean_ms > 0 ? (RANDOM * 32768 + RANDOM) % (2 * mean_ms + 1) : 0 ))
    sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        set -- $CHAOS_STAGES
        shift $((RANDOM % 5))
        stage=$1
        pid=$(chaos_ctl pid "promo:$stage" 2>/dev/null)
        case "$pid" in ''|0|*[!0-9]*) skipped=$((skipped + 1)); sleep 0.1; continue ;; esac
        if kill -KILL "$pid" 2>/dev/null; then
            kills=$((kills + 1))
            per_stage[$stage]=$(( ${per_stage[$stage]:-0} + 1 ))
            chaos_log "kill $kills: promo-$stage (pid $pid); $(chaos_not_done) of $added trackers not done"
            break
        fi
    done
done
add_trackers "$TRACKERS"
KILLED_AT=$(date +%s)
chaos_log "kills over after $((KILLED_AT - START))s; waiting for every tracker to reach prod"

chaos_wait_done "$SETTLE"
sleep 2.5                      # one more resync: anything late shows now
chaos_check > "$T/check.json"
END=$(date +%s)
stages=$(for s in $CHAOS_STAGES; do printf ' %s=%s' "$s" "${per_stage[$s]:-0}"; done)
restarts=$(grep -c 'spawned: ' "$T/supervise/supervisord.log" 2>/dev/null)
restarts=$(( ${restarts:-5} - 5 ))
jq -r --arg k "$kills" --arg s "$SEED" --arg st "$stages" --arg sec "$((END - START))" \
    --arg settle "$((END - KILLED_AT))" --arg skip "$skipped" --arg rs "$restarts" \
    '"chaos: kills=\($k) trackers=\(.trackers) done=\(.done) promotions=\(.promotions) duplicates=\(.duplicates) losses=\(.losses) intrusions=\(.intrusions) triggers=\(.triggers) seconds=\($sec) settle=\($settle)s restarts=\($rs) skipped=\($skip) seed=\($s) killed:\($st)"' \
    "$T/check.json"
jq -r '.problems[] | "chaos: problem: " + .' "$T/check.json"
grep -l 'ERROR: AddressSanitizer\|runtime error:' "$T"/supervise/*.log 2>/dev/null | sed 's/^/chaos: sanitizer report in /'
[ "$(jq -r '.duplicates + .losses + .intrusions' "$T/check.json")" = 0 ] &&
    [ "$(jq -r '.done == .trackers' "$T/check.json")" = true ]
