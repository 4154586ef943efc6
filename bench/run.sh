#!/bin/bash
# bench/run.sh - make bench: the real pipeline against promo-sim, measured.
#
# For each size (BENCH_SIZES, default "1000 10000") one "pass" run: promo-sim
# with runs that finish at once, the five stages started from bin/ with
# durable writes on, and SIZE trackers written into STATE/trackers at
# BENCH_RATE per second (open loop; default 250/s), each with two tests
# (Jenkins and GitLab) on one hop, dev -> staging, promoted through Argo CD.
# Then one "webhook" run (BENCH_WEBHOOK_SIZE trackers, default 1000; 0 skips
# it) at BENCH_WEBHOOK_RATE a second (default 100, a rate the pipeline keeps
# up with, so that the figure is latency, not queueing): promo-webhook started too, promo-sim sending the completion webhooks
# of its runs (and Argo CD's notifications) to it, runs that finish after
# BENCH_WEBHOOK_RUN_MS (default 2000: after the monitor's first poll), and
# polling stretched to BENCH_WEBHOOK_STRETCH (default 10m), so that each
# promotion is started by a webhook.
# Then one "idle" run at the largest size: runs that never finish, every
# tracker triggered and waiting, and the stages' CPU measured over
# BENCH_IDLE_SECONDS (default 30: one resync interval); then the same
# stages restarted with webhooks on (promo-webhook running, polling
# stretched), and measured again after the restart's polls have settled
# (BENCH_NO_IDLE_WEBHOOKS=1 skips that).
#
# Every run samples each process's RssAnon once a second (BENCH_SAMPLE_S)
# into anon.tsv, for the peak of all stages together and of each.
# Last, when bench/ratelimit.sh (BENCH_RATELIMIT_SCRIPT) is there and
# executable and BENCH_NO_RATELIMIT is not set, it runs (the GitHub request
# budget of 1,000 Actions runs) and its one JSON object goes into
# results.json as "github_budget".
#
# bench/analyze.py turns the logs into bench/results.json and
# bench/results.png (docs/operations.md, "Benchmark", says what each figure
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
WEBHOOK_SIZE=${BENCH_WEBHOOK_SIZE-1000}
WEBHOOK_RATE=${BENCH_WEBHOOK_RATE:-100}   # a rate the pipeline keeps up with: latency, not queueing
WEBHOOK_RUN_MS=${BENCH_WEBHOOK_RUN_MS:-2000}
WEBHOOK_STRETCH=${BENCH_WEBHOOK_STRETCH:-10m}
SAMPLE_S=${BENCH_SAMPLE_S:-1}       # RssAnon sampling period, seconds
RATELIMIT=${BENCH_RATELIMIT_SCRIPT:-$REPO/bench/ratelimit.sh}
OUT=${BENCH_OUT:-$REPO/bench}
mkdir -p "$OUT"
D=$(mktemp -d "${BENCH_DIR:-/var/tmp}/promo-bench.XXXXXX")
PIDS=()
SAMPLER=

cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ -n "${BENCH_KEEP:-}" ]; then echo "bench: files kept in $D" >&2; else rm -rf "$D"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf 'bench: %s\n' "$*" >&2; }

for p in promo-sim promo-watcher promo-policy promo-trigger promo-monitor promo-promoter promoctl promo-webhook; do
    [ -x "$BIN/$p" ] || { say "$p is not built"; exit 1; }
done
# Debian's python3 (with python3-matplotlib from scripts/deps.sh bench), not a
# python3 of one's own that may lack it.
PY=${PYTHON:-python3}
[ -z "${PYTHON:-}" ] && [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
command -v "$PY" >/dev/null || { say "python3 is needed"; exit 1; }
[[ "$SAMPLE_S" =~ ^[0-9]{1,4}(\.[0-9]{1,3})?$ ]] && [[ ! "$SAMPLE_S" =~ ^0+(\.0*)?$ ]] ||
    { say "BENCH_SAMPLE_S: $SAMPLE_S is not a number of seconds above 0 (at most 3 decimals)"; exit 2; }

# cpu_ticks PID... - utime+stime of the processes, in clock ticks.
cpu_ticks() {
    local p t=0 f
    for p in "$@"; do
        f=$(sed 's/^.*) //' "/proc/$p/stat")     # after "(comm) ": field 3 onwards
        t=$(( t + $(echo "$f" | awk '{ print $12 + $13 }') ))
    done
    echo "$t"
}

# count FILE REGEX - lines of FILE matching REGEX (0 when none, or no FILE yet).
count() {
    local c
    c=$(grep -c -E "$2" "$1" 2>/dev/null) || true
    echo "${c:-0}"
}

# webhook_config DIR PORT - the webhook section of promo.yaml (on a free port
# when PORT is 0), polling stretched while webhooks arrive.
webhook_config() {
    cat <<YAML
webhook:
  listen: 127.0.0.1:$2
  jenkinsTokenFile: $1/secrets/wh-jenkins
  gitlabTokenFile: $1/secrets/wh-gitlab
  argocdTokenFile: $1/secrets/wh-argocd
  pollStretch: $WEBHOOK_STRETCH
YAML
}

# start_webhook DIR - promo-webhook on DIR/promo.yaml; sets WHPORT.
start_webhook() {
    local dir=$1
    rm -f "$dir/webhook.port"
    "$BIN/promo-webhook" -c "$dir/promo.yaml" --port-file "$dir/webhook.port" 2>> "$dir/webhook.log" &
    PIDS+=($!)
    echo "webhook $!" >> "$dir/pids"
    for _ in $(seq 1 100); do [ -s "$dir/webhook.port" ] && break; sleep 0.05; done
    WHPORT=$(cat "$dir/webhook.port")
}

# start_stages DIR - the five stages on DIR/promo.yaml (their pids in DIR/pids).
start_stages() {
    local dir=$1 s pid
    for s in promoter monitor trigger policy watcher; do
        "$BIN/promo-$s" -c "$dir/promo.yaml" 2>> "$dir/$s.log" &
        pid=$!
        PIDS+=("$pid")
        echo "$s $pid" >> "$dir/pids"
        if [ "$s" != watcher ]; then
            for _ in $(seq 1 100); do [ -S "$dir/run/$s.sock" ] && break; sleep 0.05; done
        fi
    done
}

# procs DIR - the pids of the processes running now (DIR/pids, last of each name).
procs() {
    awk '{ p[$1] = $2 } END { for (s in p) print p[s] }' "$1/pids"
}

# stop_procs DIR - TERM the processes of DIR/pids (not promo-sim), wait for them.
stop_procs() {
    local pid
    for pid in $(procs "$1"); do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in $(procs "$1"); do wait "$pid" 2>/dev/null || true; done
}

# sample_anon DIR OUT - every SAMPLE_S seconds, one line "epoch_ms name kB
# name kB ..." into OUT: the RssAnon of each process of DIR/pids running now
# (the last of each name), from /proc/PID/statm (resident - shared pages:
# RssAnon of /proc/PID/status, in one short line). Bash builtins only, and
# it waits on a pipe nothing writes to rather than forking sleep: about 1 ms
# of CPU per sample. Runs in the background until killed (stop_sampler).
sample_anon() {
    local dir=$1 out=$2 s pid res shr line now fd page
    local -A cur
    set +e
    page=$(( $(getconf PAGESIZE) / 1024 ))
    exec {fd}<> <(:)
    while :; do
        cur=()
        while read -r s pid; do cur[$s]=$pid; done < "$dir/pids"
        now=${EPOCHREALTIME//[.,]/}
        line=${now:0:13}
        for s in "${!cur[@]}"; do
            read -r _ res shr _ 2>/dev/null < "/proc/${cur[$s]}/statm" && line+=" $s $(( (res - shr) * page ))"
        done
        printf '%s\n' "$line" >> "$out"
        read -r -t "$SAMPLE_S" -u "$fd" _
    done
}

# start_sampler DIR OUT - sample_anon in the background; sets SAMPLER.
start_sampler() {
    sample_anon "$1" "$2" &
    SAMPLER=$!
    PIDS+=("$SAMPLER")
}

# stop_sampler - stop the sampler started last, if any.
stop_sampler() {
    [ -n "$SAMPLER" ] || return 0
    kill -TERM "$SAMPLER" 2>/dev/null || true
    wait "$SAMPLER" 2>/dev/null || true
    SAMPLER=
}

# proc_figures DIR OUT - CPU ticks and memory of each process of DIR/pids, into OUT/.
proc_figures() {
    local s pid
    : > "$2/cpu_ticks_end"
    : > "$2/rss_kb"
    while read -r s pid; do
        echo "$s $(cpu_ticks "$pid")" >> "$2/cpu_ticks_end"
        echo "$s $(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status") $(awk '/^RssAnon/ { print $2 }' "/proc/$pid/status")" >> "$2/rss_kb"
    done < <(awk '{ p[$1] = $2 } END { for (s in p) print s, p[s] }' "$1/pids")
}

# proc_ticks DIR - "name ticks" of each process of DIR/pids running now.
proc_ticks() {
    local s pid
    while read -r s pid; do
        echo "$s $(cpu_ticks "$pid")"
    done < <(awk '{ p[$1] = $2 } END { for (s in p) print s, p[s] }' "$1/pids")
}

# idle_measure DIR OUT N - the processes' CPU over the idle window, into OUT/
# (in all: run.json; each: cpu_ticks_window, "name ticks_before ticks_after").
idle_measure() {
    local dir=$1 out=$2 cpu0 cpu1 t0 t1 r0 r1
    mkdir -p "$out"
    proc_ticks "$dir" | sort > "$out/ticks0"
    cpu0=$(cpu_ticks $(procs "$dir"))
    t0=$(date +%s%3N)
    r0=$(wc -l < "$dir/requests.ndjson")
    sleep "$IDLE_SECONDS"
    t1=$(date +%s%3N)
    cpu1=$(cpu_ticks $(procs "$dir"))
    r1=$(wc -l < "$dir/requests.ndjson")
    proc_ticks "$dir" | sort | join "$out/ticks0" - > "$out/cpu_ticks_window"
    echo "$r0 $r1" > "$out/idle-requests"
    proc_figures "$dir" "$out"
    printf '{"mode":"idle","durable":%s,"n":%d,"rate":0,"cpu_ticks":%d,"clk_tck":%d,"t0_ms":%s,"t1_ms":%s,"requests_log":"%s"}\n' \
        "$DURABLE" "$3" $(( cpu1 - cpu0 )) "$(getconf CLK_TCK)" "$t0" "$t1" "$dir/requests.ndjson" > "$out/run.json"
}

# run MODE SIZE - one run in $D/MODE-SIZE; leaves its figures in run.json there.
run() {
    local mode=$1 n=$2 dir="$D/$1-$2" s simpid want deadline jobs
    local -a whargs=()
    mkdir -p "$dir/state" "$dir/policies" "$dir/secrets"
    mkdir -p -m 700 "$dir/run"
    : > "$dir/pids"
    for s in jenkins gitlab github argocd; do
        printf 'bench-%s-token\n' "$s" > "$dir/secrets/$s"
        printf 'bench-%s-webhook-secret\n' "$s" > "$dir/secrets/wh-$s"
    done
    chmod 600 "$dir/secrets/"*
    printf 'jenkins: {token: bench-jenkins-webhook-secret}\ngitlab: {token: bench-gitlab-webhook-secret}\nargocd: {token: bench-argocd-webhook-secret}\n' \
        > "$dir/secrets/sim-webhooks.yaml"
    if [ "$mode" = pass ]; then
        jobs="bench/smoke bench/e2e"
        printf 'queueMs: 0\nrunMs: 0\nargocd: {syncDelay: 0}\ngithub: {rateLimit: {limit: 10000000}}\n' > "$dir/scenario.yaml"
    elif [ "$mode" = webhook ]; then
        jobs="bench/smoke bench/e2e"
        printf 'queueMs: 0\nrunMs: %d\nargocd: {syncDelay: 0}\ngithub: {rateLimit: {limit: 10000000}}\n' \
            "$WEBHOOK_RUN_MS" > "$dir/scenario.yaml"
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
    cat > "$dir/promo.yaml" <<YAML
stateDir: $dir/state
runDir: $dir/run
policyDir: $dir/policies
durableWrites: $DURABLE
YAML
    if [ "$mode" = webhook ]; then
        # promo-webhook first (promo-sim needs its URL); the CI sections it
        # does not read are appended once promo-sim listens
        webhook_config "$dir" 0 >> "$dir/promo.yaml"
        start_webhook "$dir"
        whargs=(--webhook-url "http://127.0.0.1:$WHPORT" --webhook-secrets "$dir/secrets/sim-webhooks.yaml")
    fi
    "$BIN/promo-sim" --listen 127.0.0.1:0 --port-file "$dir/sim.port" --log "$dir/requests.ndjson" \
        --scenario "$dir/scenario.yaml" "${whargs[@]}" 2> "$dir/sim.log" &
    simpid=$!
    PIDS+=("$simpid")
    for _ in $(seq 1 100); do [ -s "$dir/sim.port" ] && break; sleep 0.05; done
    port=$(cat "$dir/sim.port")
    cat >> "$dir/promo.yaml" <<YAML
jenkins: {url: http://127.0.0.1:$port/jenkins, user: bench, tokenFile: $dir/secrets/jenkins}
gitlab: {url: http://127.0.0.1:$port/gitlab, tokenFile: $dir/secrets/gitlab}
github: {apiUrl: http://127.0.0.1:$port/github, tokenFile: $dir/secrets/github}
argocd:
  clusters:
    default: {url: http://127.0.0.1:$port/argocd, tokenFile: $dir/secrets/argocd}
YAML
    start_stages "$dir"
    start_sampler "$dir" "$dir/anon.tsv"
    sleep 1
    cpu0=$(cpu_ticks $(procs "$dir"))
    t0=$(date +%s%3N)
    rate=$RATE
    [ "$mode" = webhook ] && rate=$WEBHOOK_RATE
    if [ "$mode" != idle ]; then
        say "$mode run: $n trackers at $rate/s"
        "$PY" "$REPO/bench/mktrackers.py" "$dir/state/trackers" "$n" "$rate" "$dir/created.tsv" \
            "http://127.0.0.1:$port"
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
        cpu1=$(cpu_ticks $(procs "$dir"))
        sleep 1
        proc_figures "$dir" "$dir"
        printf '{"mode":"%s","durable":%s,"n":%d,"rate":%s,"cpu_ticks":%d,"clk_tck":%d,"t0_ms":%s,"t1_ms":%s,"run_ms":%s,"poll_stretch":"%s"}\n' \
            "$mode" "$DURABLE" "$n" "$rate" $(( cpu1 - cpu0 )) "$(getconf CLK_TCK)" "$t0" "$t1" \
            "$([ "$mode" = webhook ] && echo "$WEBHOOK_RUN_MS" || echo 0)" \
            "$([ "$mode" = webhook ] && echo "$WEBHOOK_STRETCH")" > "$dir/run.json"
    else
        say "idle run: $n trackers, runs that never finish"
        "$PY" "$REPO/bench/mktrackers.py" "$dir/state/trackers" "$n" 0 "$dir/created.tsv" "http://127.0.0.1:$port"
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
        idle_measure "$dir" "$dir" "$n"
        if [ -z "${BENCH_NO_IDLE_WEBHOOKS:-}" ]; then
            # the same trackers, waiting on the same runs, with webhooks on:
            # restart the stages on a config with polling stretched, and
            # promo-webhook; measure once the restart's polls are over
            say "idle run with webhooks: restarting the stages with pollStretch $WEBHOOK_STRETCH"
            stop_sampler
            stop_procs "$dir"
            webhook_config "$dir" 0 >> "$dir/promo.yaml"
            start_webhook "$dir"
            start_stages "$dir"
            mkdir -p "$D/idle-webhooks-$n"
            start_sampler "$dir" "$D/idle-webhooks-$n/anon.tsv"
            deadline=$(( $(date +%s) + n / 20 + 120 ))
            last=-1 still=0
            while :; do
                got=$(wc -l < "$dir/requests.ndjson")
                if [ "$got" = "$last" ]; then still=$((still + 1)); else still=0; last=$got; fi
                [ "$still" -lt 6 ] || break                 # no request for 3 s
                [ "$(date +%s)" -lt "$deadline" ] || { say "requests still coming after the restart: measuring"; break; }
                sleep 0.5
            done
            say "restart settled; settling ${IDLE_SETTLE}s, then measuring ${IDLE_SECONDS}s"
            sleep "$IDLE_SETTLE"
            idle_measure "$dir" "$D/idle-webhooks-$n" "$n"
            cp "$dir/triggered" "$D/idle-webhooks-$n/"
        fi
    fi
    stop_sampler
    stop_procs "$dir"
    kill -TERM "$simpid" 2>/dev/null || true
    wait "$simpid" 2>/dev/null || true
    PIDS=()
}

# the commit measured: HEAD, and whether a tracked file (but the results)
# differed from it when the run began
{
    git rev-parse HEAD 2>/dev/null || echo unknown
    if git diff --quiet HEAD -- . ':!bench/results.json' ':!bench/results.png' 2>/dev/null; then echo clean; else echo dirty; fi
} > "$D/commit"

largest=0
for n in $SIZES; do
    run pass "$n"
    [ "$n" -gt "$largest" ] && largest=$n
done
[ -z "$WEBHOOK_SIZE" ] || [ "$WEBHOOK_SIZE" = 0 ] || run webhook "$WEBHOOK_SIZE"
[ -n "${BENCH_NO_IDLE:-}" ] || run idle "${BENCH_IDLE_SIZE:-$largest}"
# the GitHub request budget (bench/ratelimit.sh: one JSON object on stdout);
# analyze.py checks its shape; a failure is reported, not fatal
if [ -z "${BENCH_NO_RATELIMIT:-}" ] && [ -f "$RATELIMIT" ] && [ -x "$RATELIMIT" ]; then
    say "GitHub budget run: $RATELIMIT"
    rc=0
    "$RATELIMIT" > "$D/github-budget.json" || rc=$?
    [ "$rc" = 0 ] || { say "$RATELIMIT failed (exit $rc)"; echo "$rc" > "$D/github-budget.rc"; }
fi
"$PY" "$REPO/bench/analyze.py" "$D" "$OUT"
