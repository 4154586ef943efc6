#!/bin/bash
# bench/run.sh - make bench: the real pipeline against promo-sim, measured.
#
# For each size (BENCH_SIZES, default "1000 10000") one "pass" run: promo-sim
# with runs that finish at once, the five stages started from bin/ with
# durable writes on, and SIZE trackers written into STATE/trackers at
# BENCH_RATE per second (open loop; default 250/s), each with two tests
# (Jenkins and GitLab) on one hop, dev -> staging, promoted through Argo CD.
# Then one "idle" run at the largest size: runs that never finish, every
# tracker triggered and waiting, and the stages' CPU measured over
# BENCH_IDLE_SECONDS (default 30: one resync interval).
#
# bench/analyze.py turns the logs into bench/results.json and
# bench/latency.png (docs/operations.md, "Benchmark", says what each figure
# is). Everything runs in a temp dir on disk (BENCH_DIR, default /var/tmp;
# BENCH_KEEP=1 keeps it) and every process started is stopped by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
BIN="$REPO/bin"
SIZES=${BENCH_SIZES-"1000 10000"}   # "" with BENCH_IDLE_SIZE: the idle run only
RATE=${BENCH_RATE:-250}
DURABLE=${BENCH_DURABLE:-true}      # false: what the fsyncs cost, by difference
IDLE_SECONDS=${BENCH_IDLE_SECONDS:-30}
IDLE_SETTLE=${BENCH_IDLE_SETTLE:-15}
OUT=${BENCH_OUT:-$REPO/bench}
mkdir -p "$OUT"
D=$(mktemp -d "${BENCH_DIR:-/var/tmp}/promo-bench.XXXXXX")
PIDS=()

cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ -n "${BENCH_KEEP:-}" ]; then echo "bench: files kept in $D" >&2; else rm -rf "$D"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf 'bench: %s\n' "$*" >&2; }

for p in promo-sim promo-watcher promo-policy promo-trigger promo-monitor promo-promoter promoctl; do
    [ -x "$BIN/$p" ] || { say "$p is not built"; exit 1; }
done
# Debian's python3 (with python3-matplotlib from scripts/deps.sh bench), not a
# python3 of one's own that may lack it.
PY=${PYTHON:-python3}
[ -z "${PYTHON:-}" ] && [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
command -v "$PY" >/dev/null || { say "python3 is needed"; exit 1; }

# cpu_ticks PID... - utime+stime of the processes, in clock ticks.
cpu_ticks() {
    local p t=0 f
    for p in "$@"; do
        f=$(sed 's/^.*) //' "/proc/$p/stat")     # after "(comm) ": field 3 onwards
        t=$(( t + $(echo "$f" | awk '{ print $12 + $13 }') ))
    done
    echo "$t"
}

# count FILE REGEX - lines of FILE matching REGEX (0 when none).
count() {
    grep -c -E "$2" "$1" 2>/dev/null || true
}

# run MODE SIZE - one run in $D/MODE-SIZE; leaves its figures in run.json there.
run() {
    local mode=$1 n=$2 dir="$D/$1-$2" port s pid want deadline jobs
    local -a spids=()
    mkdir -p "$dir/state" "$dir/policies" "$dir/secrets"
    mkdir -p -m 700 "$dir/run"
    for s in jenkins gitlab github argocd; do printf 'bench-%s-token\n' "$s" > "$dir/secrets/$s"; done
    chmod 600 "$dir/secrets/"*
    if [ "$mode" = pass ]; then
        jobs="bench/smoke bench/e2e"
        printf 'queueMs: 0\nrunMs: 0\nargocd: {syncDelay: 0}\ngithub: {rateLimit: {limit: 10000000}}\n' > "$dir/scenario.yaml"
    else
        jobs="bench/smoke-timeout bench/e2e-timeout"       # the sim's convention: never finishes
        printf 'queueMs: 0\nrunMs: 0\ngithub: {rateLimit: {limit: 10000000}}\n' > "$dir/scenario.yaml"
    fi
    set -- $jobs
    cat > "$dir/policies/dev-to-staging.yaml" <<YAML
apiVersion: promo.dev/v1alpha1
kind: PromotionPolicy
metadata:
  name: dev-to-staging
spec:
  sourceEnvironment: dev
  targetEnvironment: staging
  autoPromote: true
  timeout: 1h
  externalTests:
    - name: smoke
      provider: jenkins
      job: $1
      parameters:
        TRACKER: "\${TRACKER}"
    - name: e2e
      provider: gitlab
      job: $2
      parameters:
        TRACKER: "\${TRACKER}"
  promotion:
    argocd:
      cluster: default
      application: \${APPLICATION}-\${TARGET_ENV}
YAML
    "$BIN/promo-sim" --listen 127.0.0.1:0 --port-file "$dir/sim.port" --log "$dir/requests.ndjson" \
        --scenario "$dir/scenario.yaml" 2> "$dir/sim.log" &
    PIDS+=($!)
    for _ in $(seq 1 100); do [ -s "$dir/sim.port" ] && break; sleep 0.05; done
    port=$(cat "$dir/sim.port")
    cat > "$dir/promo.yaml" <<YAML
stateDir: $dir/state
runDir: $dir/run
policyDir: $dir/policies
durableWrites: $DURABLE
jenkins: {url: http://127.0.0.1:$port/jenkins, user: bench, tokenFile: $dir/secrets/jenkins}
gitlab: {url: http://127.0.0.1:$port/gitlab, tokenFile: $dir/secrets/gitlab}
github: {apiUrl: http://127.0.0.1:$port/github, tokenFile: $dir/secrets/github}
argocd:
  clusters:
    default: {url: http://127.0.0.1:$port/argocd, tokenFile: $dir/secrets/argocd}
YAML
    for s in promoter monitor trigger policy watcher; do
        "$BIN/promo-$s" -c "$dir/promo.yaml" 2> "$dir/$s.log" &
        pid=$!
        PIDS+=("$pid")
        spids+=("$pid")
        echo "$s $pid" >> "$dir/pids"
        if [ "$s" != watcher ]; then
            for _ in $(seq 1 100); do [ -S "$dir/run/$s.sock" ] && break; sleep 0.05; done
        fi
    done
    sleep 1
    cpu0=$(cpu_ticks "${spids[@]}")
    t0=$(date +%s%3N)
    if [ "$mode" = pass ]; then
        say "pass run: $n trackers at $RATE/s"
        "$PY" "$REPO/bench/mktrackers.py" "$dir/state/trackers" "$n" "$RATE" "$dir/created.tsv"
        deadline=$(( $(date +%s) + n / 20 + 120 ))
        while :; do
            # a promotion is done when its audit event is written: Argo CD,
            # GitHub and the record all behind it
            done_n=$(count "$dir/state/audit.log" '"reason":"Promoted"')
            [ "$done_n" -ge "$n" ] && break
            [ "$(date +%s)" -lt "$deadline" ] || { say "timeout: $done_n of $n promoted"; break; }
            sleep 0.5
        done
        t1=$(date +%s%3N)
        cpu1=$(cpu_ticks "${spids[@]}")
        sleep 1
    else
        say "idle run: $n trackers, runs that never finish"
        "$PY" "$REPO/bench/mktrackers.py" "$dir/state/trackers" "$n" 0 "$dir/created.tsv"
        want=$(( 2 * n ))
        deadline=$(( $(date +%s) + n / 10 + 120 ))
        last=-1 still=0
        while :; do
            got=$(count "$dir/requests.ndjson" '"method":"POST".*"path":"/(jenkins/.*/buildWithParameters|gitlab/api/v4/projects/[^/]*/pipeline)"')
            [ "$got" -ge "$want" ] && break
            # triggers that stopped coming for 20 s wait for a resync or a retry: measure anyway
            if [ "$got" = "$last" ]; then still=$((still + 1)); else still=0; last=$got; fi
            [ "$still" -lt 40 ] || { say "$got of $want triggered, none for 20 s: measuring"; break; }
            [ "$(date +%s)" -lt "$deadline" ] || { say "timeout: $got of $want triggered"; break; }
            sleep 0.5
        done
        echo "$got" > "$dir/triggered"
        say "all triggered; settling ${IDLE_SETTLE}s, then measuring ${IDLE_SECONDS}s"
        sleep "$IDLE_SETTLE"
        cpu0=$(cpu_ticks "${spids[@]}")
        t0=$(date +%s%3N)
        r0=$(wc -l < "$dir/requests.ndjson")
        sleep "$IDLE_SECONDS"
        t1=$(date +%s%3N)
        cpu1=$(cpu_ticks "${spids[@]}")
        r1=$(wc -l < "$dir/requests.ndjson")
        echo "$r0 $r1" > "$dir/idle-requests"
    fi
    for s in promoter monitor trigger policy watcher; do
        pid=$(awk -v s="$s" '$1 == s { print $2 }' "$dir/pids")
        echo "$s $(cpu_ticks "$pid")" >> "$dir/cpu_ticks_end"
        echo "$s $(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status") $(awk '/^RssAnon/ { print $2 }' "/proc/$pid/status")" >> "$dir/rss_kb"
    done
    printf '{"mode":"%s","durable":%s,"n":%d,"rate":%s,"cpu_ticks":%d,"clk_tck":%d,"t0_ms":%s,"t1_ms":%s}\n' \
        "$mode" "$DURABLE" "$n" "$RATE" $(( cpu1 - cpu0 )) "$(getconf CLK_TCK)" "$t0" "$t1" > "$dir/run.json"
    for pid in "${spids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${spids[@]}"; do wait "$pid" 2>/dev/null || true; done
    kill -TERM "${PIDS[0]}" 2>/dev/null || true
    wait "${PIDS[0]}" 2>/dev/null || true
    PIDS=()
}

largest=0
for n in $SIZES; do
    run pass "$n"
    [ "$n" -gt "$largest" ] && largest=$n
done
[ -n "${BENCH_NO_IDLE:-}" ] || run idle "${BENCH_IDLE_SIZE:-$largest}"
"$PY" "$REPO/bench/analyze.py" "$D" "$OUT"
