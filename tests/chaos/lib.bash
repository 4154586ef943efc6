# lib.bash - the crash-safety harness shared by tests/bats/crash.bats,
# tests/bats/chaos.bats and tests/chaos/run.sh (make chaos).
#
# A session is: promo-sim on a free port (playing Jenkins, GitHub, GitLab and
# Argo CD, with its request log), the five stages under supervisord started
# from the repository's supervisor.conf (optionally with a crash point armed
# per stage), and trackers acme/shop#N going through the three-environment
# chain dev -> staging -> prod. chaos_check then counts, from promo-sim's
# request log and the state dir, what promo did to every tracker: each test
# triggered exactly once per hop (by its PROMO_KEY), each hop promoted exactly
# once (one Argo CD PATCH and one sync per application and revision, one
# label set, one commit status, one comment), and where the tracker ended.
#
# Everything lives in $T (set by the caller). Processes started here are
# recorded in $T/pids ("PID NAME", the format of tests/bats/helpers.bash) and
# stopped by PID. Needs: $PROMO_BIN, $REPO, jq, supervisord, supervisorctl.

CHAOS_STAGES="watcher policy trigger monitor promoter"

# chaos_log MSG - a progress line on stderr (tests/chaos/run.sh) or nowhere.
chaos_log() {
    [ -n "${CHAOS_VERBOSE:-}" ] && printf '%s chaos: %s\n' "$(date +%T)" "$*" >&2
    return 0
}

source "$REPO/tests/shared.bash"

# chaos_config [EXTRA_YAML] - $T/promo.yaml for the session, short intervals.
chaos_config() {
    mkdir -p "$T/state" "$T/policies" "$T/supervise"
    cat > "$T/promo.yaml" <<YAML
stateDir: $T/state
runDir: $T/run
policyDir: $T/policies
resyncInterval: 2s
pollInterval: 1s
durableWrites: false
${1:-}
YAML
    # promo-webhook, when built, runs in the group too: on a free port, so
    # sessions (and anything else on the machine) do not compete for 8090
    [ -x "$PROMO_BIN/promo-webhook" ] && printf 'webhook:\n  listen: 127.0.0.1:0\n' >> "$T/promo.yaml"
    PROMO_CONFIG="$T/promo.yaml"
    export PROMO_CONFIG
    : >> "$T/pids"
}

# chaos_policies - the chain: dev -> staging tested on Jenkins, GitHub
# Actions and GitLab; staging -> prod on Jenkins; both promote automatically
# and label, set a commit status and comment on the PR. The trackers share
# their staging and prod Argo CD applications in groups of $CHAOS_GROUP
# (default 2): acme/shop#N is tracked as repository acme/gG (G = its group,
# chaos_group) under the name acme-shop-N, and the applications are
# shop-gG-<env>, so the trackers of a group take turns in each environment
# (issue 14: one PR at a time in a shared application).
chaos_policies() {
    cat > "$T/policies/dev-to-staging.yaml" <<'YAML'
apiVersion: promo.dev/v1alpha1
kind: PromotionPolicy
metadata:
  name: dev-to-staging
spec:
  sourceEnvironment: dev
  targetEnvironment: staging
  autoPromote: true
  timeout: 5m
  externalTests:
    - name: smoke
      provider: jenkins
      job: promo/smoke
      parameters:
        GIT_COMMIT: "${HEAD_SHA}"
    - name: e2e
      provider: github-actions
      job: e2e.yml
      parameters:
        sha: "${HEAD_SHA}"
    - name: api
      provider: gitlab
      job: acme/api
      parameters:
        TARGET: "${TARGET_ENV}"
  promotion:
    argocd:
      cluster: default
      application: shop-${REPO_NAME}-${TARGET_ENV}
    github:
      addLabels: ["promoted:${TARGET_ENV}"]
      removeLabels: ["promoted:${SOURCE_ENV}"]
      commitStatus: promo/${TARGET_ENV}
      comment: "Promoted ${SHORT_SHA} to ${TARGET_ENV}."
YAML
    cat > "$T/policies/staging-to-prod.yaml" <<'YAML'
apiVersion: promo.dev/v1alpha1
kind: PromotionPolicy
metadata:
  name: staging-to-prod
spec:
  sourceEnvironment: staging
  targetEnvironment: prod
  autoPromote: true
  timeout: 5m
  externalTests:
    - name: smoke
      provider: jenkins
      job: promo/smoke-staging
      parameters:
        GIT_COMMIT: "${HEAD_SHA}"
  promotion:
    argocd:
      cluster: default
      application: shop-${REPO_NAME}-${TARGET_ENV}
    github:
      addLabels: ["promoted:${TARGET_ENV}"]
      removeLabels: ["promoted:${SOURCE_ENV}"]
      commitStatus: promo/${TARGET_ENV}
      comment: "Promoted ${SHORT_SHA} to ${TARGET_ENV}."
YAML
}

# chaos_sim_up [SCENARIO_YAML] - promo-sim on a free port; the config points
# every system at it.
chaos_sim_up() {
    local port
    sim_tokens "$T"
    printf '%s\n' "${1:-queueMs: 50}" > "$T/scenario.yaml"
    rm -f "$T/sim.port" "$T/requests.ndjson"
    "$PROMO_BIN/promo-sim" --listen 127.0.0.1:0 --port-file "$T/sim.port" --log "$T/requests.ndjson" \
        --scenario "$T/scenario.yaml" > "$T/sim.log" 2>&1 &
    echo "$! sim" >> "$T/pids"
    wait_for 10 test -s "$T/sim.port" || { echo "chaos: promo-sim did not start" >&2; return 1; }
    port="$(cat "$T/sim.port")"
    sim_yaml "http://127.0.0.1:$port" "$T" >> "$T/promo.yaml"
    SIM_PORT=$port
    export SIM_PORT
}

# chaos_sup_conf [STAGE=POINT...] - $T/supervisor.conf: the repository's
# supervisor.conf, each named stage given PROMO_CRASH_AT=POINT and its own
# PROMO_CRASH_ONCE file ($T/once/STAGE.POINT) in its environment.
chaos_sup_conf() {
    local arg envs=""
    mkdir -p "$T/once" "$T/supervise"
    export PROMO_SUPERVISE="$T/supervise"
    for arg in "$@"; do
        envs="$envs ${arg%%=*}=PROMO_CRASH_AT=\"${arg#*=}\",PROMO_CRASH_ONCE=\"$T/once/${arg%%=*}.${arg#*=}\""
    done
    awk -v envs="$envs" '
        BEGIN { n = split(envs, e, " "); for (i = 1; i <= n; i++) { k = e[i]; sub(/=.*/, "", k); v = e[i]; sub(/^[^=]*=/, "", v); env[k] = v } }
        { print }
        /^\[program:/ { p = $0; sub(/^\[program:/, "", p); sub(/\].*/, "", p); if (p in env) print "environment = " env[p] }
    ' "$REPO/supervisor.conf" > "$T/supervisor.conf"
}

# chaos_ctl ARGS... - supervisorctl on the session's supervisord.
chaos_ctl() {
    supervisorctl -c "$T/supervisor.conf" "$@"
}

# chaos_running - the number of stages RUNNING (the five of the pipeline;
# promo:webhook, the optional sixth program, is not counted).
chaos_running() {
    chaos_ctl status 2>/dev/null | grep -v '^promo:webhook ' | grep -c ' RUNNING ' || true
}

# chaos_all_running - all five stages RUNNING.
chaos_all_running() {
    [ "$(chaos_running)" = 5 ]
}

# chaos_sup_start - supervisord (foreground, by PID) with $T/supervisor.conf;
# waits until the five stages run.
chaos_sup_start() {
    PROMO_SUPERVISE="$T/supervise" PROMO_BIN="$PROMO_BIN" PROMO_CONFIG="$PROMO_CONFIG" \
        supervisord -c "$T/supervisor.conf" > "$T/supervise/supervisord.out" 2>&1 &
    SUP_PID=$!
    echo "$SUP_PID supervisord" >> "$T/pids"
    export PROMO_SUPERVISE="$T/supervise"
    if ! wait_for 30 chaos_all_running; then
        echo "chaos: the stages did not start" >&2
        chaos_ctl status >&2 || true
        return 1
    fi
}

# chaos_sup_stop - TERM supervisord (it stops the stages), wait for it.
chaos_sup_stop() {
    local pid
    pid="$(awk '$2 == "supervisord" { p = $1 } END { print p }' "$T/pids")"
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    sed -i '/ supervisord$/d' "$T/pids"
}

# chaos_stop_all - stop everything started here (supervisord first), by PID.
chaos_stop_all() {
    local pid name
    [ -f "$T/pids" ] || return 0
    chaos_sup_stop
    while read -r pid name; do
        kill -TERM "$pid" 2>/dev/null || true
    done < "$T/pids"
    while read -r pid name; do
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done < "$T/pids"
    : > "$T/pids"
}

# chaos_sha N - the head SHA of tracker N (40 hex, deterministic).
chaos_sha() {
    printf 'chaos %s' "$1" | sha1sum | cut -c1-40
}

# chaos_group N - the group of tracker N: trackers 1..G are group 1, and so on.
chaos_group() {
    echo $(( ($1 + ${CHAOS_GROUP:-2} - 1) / ${CHAOS_GROUP:-2} ))
}

# chaos_track N... - PR N of acme/gG (its group), named acme-shop-N,
# deployed and synced in dev (its own application shop-N-dev) at chaos_sha N.
chaos_track() {
    local n
    for n in "$@"; do
        PROMO_CONFIG="$T/promo.yaml" "$PROMO_BIN/promoctl" track --repo "acme/g$(chaos_group "$n")" --name "acme-shop-$n" \
            --pr "$n" --sha "$(chaos_sha "$n")" --ref "feature/$n" \
            --env dev --app "shop-$n-dev" --state synced > /dev/null || return 1
        echo "$n" >> "$T/trackers"
    done
}

# chaos_not_done - how many of the session's trackers are not done in prod
# yet (0 when all are); failed trackers count as not done.
chaos_not_done() {
    PROMO_CONFIG="$T/promo.yaml" "$PROMO_BIN/promoctl" list --json 2>/dev/null |
        jq -r '[.[] | select(.state == "done" and .environment == "prod") | .name] | length' |
        { read -r done; echo $(( $(wc -l < "$T/trackers") - ${done:-0} )); }
}

# chaos_all_done - every tracker done in prod.
chaos_all_done() {
    [ "$(chaos_not_done)" = 0 ]
}

# chaos_wait_done SECONDS - wait until every tracker is done in prod.
chaos_wait_done() {
    wait_for "$1" chaos_all_done
}

# chaos_check - what promo did, from promo-sim's request log and the state
# dir, as one JSON object on stdout:
#   {trackers, done, promotions, duplicates, losses, problems: [...]}
# promotions counts hops promoted (PATCH+sync seen at the right revision);
# duplicates counts side effects done more than once (a test triggered twice
# with one key; a second Argo CD PATCH or sync of an application at one
# revision; a label set, commit status or comment created twice for a hop;
# a second Promoted audit event); losses counts what should have happened
# and did not (a test never triggered, a hop never promoted, a tracker not
# done in prod). problems names each one.
chaos_check() {
    PROMO_CONFIG="$T/promo.yaml" "$PROMO_BIN/promoctl" list --json > "$T/list.json" 2>/dev/null || echo '[]' > "$T/list.json"
    PROMO_CONFIG="$T/promo.yaml" "$PROMO_BIN/promoctl" events --json 2>/dev/null | jq -s . > "$T/events.json" || echo '[]' > "$T/events.json"
    while read -r n; do
        jq -n --arg n "$n" --slurpfile m "$T/state/monitor/acme-shop-$n.json" \
            --slurpfile w "$T/state/watcher/acme-shop-$n.json" \
            '{($n): {stagingDecidedAt: ($m[0].hops.staging.aggregate.decidedAt // null),
                     prodSyncedAt: (if $w[0].environment == "prod" and $w[0].state == "synced"
                                    then $w[0].observedAt else null end)}}' 2>/dev/null || echo '{}'
    done < "$T/trackers" | jq -s 'add // {}' > "$T/left.json"
    jq -n --slurpfile reqs "$T/requests.ndjson" --slurpfile list "$T/list.json" --slurpfile left "$T/left.json" \
        --slurpfile events "$T/events.json" --rawfile trackers "$T/trackers" \
        --arg shas "$(while read -r n; do printf '%s %s\n' "$n" "$(chaos_sha "$n")"; done < "$T/trackers")" \
        --arg groups "$(while read -r n; do printf '%s %s\n' "$n" "$(chaos_group "$n")"; done < "$T/trackers")" \
        -f "$REPO/tests/chaos/check.jq"
}
