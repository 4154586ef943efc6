#!/usr/bin/env bats
# monitor.bats - promo-monitor: the command line; standalone runs on
# hand-made trigger records (--in - until decided, --dry-run, stale
# messages, a crash after persisting the decision); and end to end against
# promo-sim with promo-watcher, promo-policy and promo-trigger for each CI
# provider: required pass, required fail, optional fail, timeout with the
# run cancelled, 5xx then recovery, 429 with Retry-After obeyed.

load 'helpers'
bats_require_minimum_version 1.5.0

setup() {
    promo_setup
}

teardown() {
    promo_teardown
}

# start_sim [SCENARIO-FILE] - promo-sim on a free port; the CI sections of
# promo.yaml point at it. $SIM is its base URL.
start_sim() {
    sim_start --log "$T/requests.ndjson" ${1:+--scenario "$1"}
    sim_yaml "$SIM" "$T" jenkins github gitlab argocd >> "$T/promo.yaml"
}

# policy TEST-YAML... - the dev-to-staging policy with these externalTests
# entries (each a "- name: ..." block, indented by 4).
policy() {
    {
        cat <<'YAML'
apiVersion: promo.dev/v1alpha1
kind: PromotionPolicy
metadata:
  name: dev-to-staging
spec:
  sourceEnvironment: dev
  targetEnvironment: staging
  timeout: 1m
  externalTests:
YAML
        printf '%s\n' "$@"
    } > "$T/policies/dev-to-staging.yaml"
}

# entry NAME PROVIDER JOB [REQUIRED [TIMEOUT]] - one externalTests entry.
entry() {
    printf '    - name: %s\n      provider: %s\n      job: %s\n      required: %s\n' \
        "$1" "$2" "$3" "${4:-true}"
    [ -z "${5:-}" ] || printf '      timeout: %s\n' "$5"
}

# job PROVIDER NAME - the job name for a provider: a Jenkins job, a GitHub
# workflow file, a GitLab project path.
job() {
    case "$1" in
        jenkins) echo "$2" ;;
        github-actions) echo "$2.yml" ;;
        gitlab) echo "acme/$2" ;;
    esac
}

# start_pipeline - watcher, policy, trigger, and the monitor with its
# output in $T/out.ndjson and its log in $T/monitor.err.
start_pipeline() {
    promo_start watcher promo-watcher
    promo_start policy promo-policy
    promo_start trigger promo-trigger
    start_monitor
}

# start_monitor [FLAGS...] - promo-monitor --out - (stdout to $T/out.ndjson).
start_monitor() {
    promo_start monitor sh -c 'exec promo-monitor --out - "$@" >> "$T/out.ndjson" 2>> "$T/monitor.err"' sh "$@"
}

# track PR - a synced tracker acme-shop-PR in dev.
track() {
    [ -z "${SIM:-}" ] || sim_deploy "$SIM" shop "$(sha_of "$1")"
    promoctl track --repo acme/shop --pr "$1" --sha "$(sha_of "$1")" --env dev --app shop --ref feature/cart --state synced >/dev/null
}

# forwarded - the monitor forwarded a decided aggregate.
forwarded() {
    grep -q '"aggregate"' "$T/out.ndjson" 2>/dev/null
}

# agg FILTER - FILTER over the first forwarded aggregate.
agg() {
    grep '"aggregate"' "$T/out.ndjson" | head -1 | jq -r ".aggregate | $1"
}

# record FILTER - FILTER over the monitor record of acme-shop-1.
record() {
    jq -r "$1" "$T/state/monitor/acme-shop-1.json"
}

# record_is FILTER VALUE - the monitor record says VALUE (for wait_for).
record_is() {
    [ "$(record "$1" 2>/dev/null)" = "$2" ]
}

# sim_requests JQ-SELECT - how many logged sim requests match.
sim_requests() {
    jq -s "[.[] | select($1)] | length" "$T/requests.ndjson"
}

# run_e2e - start everything, track PR 1, wait for the decision.
run_e2e() {
    start_pipeline
    track 1
    wait_for "${1:-20}" forwarded || { cat "$T/monitor.err" "$T/trigger.log" >&3; false; }
}

# --- command line ---

@test "--help describes the stage and exits 0" {
    run promo-monitor --help
    assert_success
    assert_output --partial "promo-monitor"
    assert_output --partial "monitor.sock"
    assert_output --partial "promoter.sock"
    assert_output --partial "decided"
}

@test "a bad flag exits 100" {
    run promo-monitor --no-such-flag
    assert_failure 100
    run promo-monitor --in
    assert_failure 100
    run promo-monitor stray-argument
    assert_failure 100
}

@test "a bad config exits 100 and names the key" {
    printf 'pollInterval: often\n' >> "$T/promo.yaml"
    run promo-monitor --in - --out - < /dev/null
    assert_failure 100
    assert_output --partial "pollInterval"
}

# --- standalone, on hand-made trigger records ---

# hand_run PR JOB [TIMEOUT-MS] - trigger JOB in the sim's Jenkins with curl
# and write the trigger record promo-trigger would have written (test
# "smoke", required) and the message it would have sent ($T/msg.ndjson).
hand_run() {
    local name="acme-shop-$1" loc now
    loc=$(curl -s -o /dev/null -w '%header{location}' -u promo:sekrit -X POST \
        "$SIM/jenkins/job/$2/buildWithParameters?PROMO_KEY=pk-hand$1")
    [ -n "$loc" ]
    now=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
    jq -n --arg n "$name" --arg sha "$(sha_of "$1")" --arg now "$now" --arg q "$loc" --arg job "$2" \
        --argjson tmo "${3:-30000}" --arg key "pk-hand$1" \
        '{name: $n, generation: 1, headSHA: $sha, hops: {dev: {source: "dev", target: "staging",
          policy: "dev-to-staging", policyTimeoutMs: 60000, startedAt: $now,
          tests: [{name: "smoke", provider: "jenkins", job: $job, required: true, timeoutMs: $tmo,
                   attempt: 1, key: $key, params: {}, phase: "triggered", intentAt: $now,
                   triggeredAt: $now, run: {id: "", url: $q, api: ($q + "api/json"), status: "queued"},
                   error: null}]}}}' > "$T/state/trigger/$name.json"
    jq -c --arg n "$name" --slurpfile tr "$T/state/trigger/$name.json" \
        '{v: 1, kind: "tracker", from: "test", name: $n, generation: 1, tracker: .,
          runs: $tr[0].hops.dev.tests}' "$T/state/trackers/$name.json" > "$T/msg.ndjson"
}

@test "--in - polls until the hop is decided, records it, forwards it and exits 0" {
    start_sim
    track 1
    hand_run 1 slow-smoke
    run timeout 20 sh -c 'exec promo-monitor --in - --out - < "$T/msg.ndjson" 2> "$T/monitor.err"'
    [ "$status" -eq 0 ] || { cat "$T/monitor.err" >&3; false; }
    [ "$(echo "$output" | jq -r .aggregate.allPassed)" = true ]
    [ "$(echo "$output" | jq -r .aggregate.results[0].outcome)" = passed ]
    [ "$(echo "$output" | jq -r .runs[0].key)" = pk-hand1 ]
    [ "$(record .hops.dev.tests.smoke.status)" = passed ]
    [ "$(record .hops.dev.tests.smoke.detail)" = SUCCESS ]
    [ "$(record .hops.dev.aggregate.decided)" = true ]
    # a slow job (2 s) is polled about every second while young, not faster
    polls=$(sim_requests '.method == "GET" and (.path | test("slow-smoke|queue/item"))')
    [ "$polls" -ge 2 ] && [ "$polls" -le 6 ]
}

@test "--dry-run polls, writes nothing and prints the decision as JSON" {
    start_sim
    track 1
    hand_run 1 smoke-fail
    run --separate-stderr timeout 20 promo-monitor --in - --out none --dry-run < "$T/msg.ndjson"
    assert_success
    [ "$(echo "$output" | jq -r .dryRun)" = true ]
    [ "$(echo "$output" | jq -r .aggregate.anyFailed)" = true ]
    [ "$(echo "$output" | jq -r '.aggregate.failureReasons[0]')" = "smoke: failed (FAILURE) $SIM/jenkins/job/smoke-fail/1/" ]
    [ ! -e "$T/state/monitor/acme-shop-1.json" ]
}

@test "a message for another generation is stale: dropped, nothing polled" {
    start_sim
    track 1
    hand_run 1 smoke
    jq -c '.generation = 7' "$T/msg.ndjson" > "$T/stale.ndjson"
    run --separate-stderr timeout 10 promo-monitor --in - --out - < "$T/stale.ndjson"
    assert_success
    assert_output ""
    [ "$(sim_requests '.method == "GET"')" -eq 0 ]
    [ ! -e "$T/state/monitor/acme-shop-1.json" ]
}

@test "at the test's deadline a running job is timed out, recorded and cancelled" {
    start_sim
    track 1
    hand_run 1 smoke-timeout 1500
    run --separate-stderr timeout 20 promo-monitor --in - --out - < "$T/msg.ndjson"
    assert_success
    [ "$(echo "$output" | jq -r .aggregate.anyTimeout)" = true ]
    [ "$(echo "$output" | jq -r .aggregate.anyFailed)" = true ]
    echo "$output" | jq -r '.aggregate.failureReasons[0]' | grep -q '^smoke: timed out (no result within the test timeout 1s500ms'
    [ "$(record .hops.dev.tests.smoke.status)" = timed-out ]
    [ "$(record .hops.dev.tests.smoke.cancelled)" = true ]
    [ "$(sim_requests '.method == "POST" and (.path | test("/stop$|cancelItem"))')" -ge 1 ]
}

@test "a crash after persisting the decision: the restarted monitor forwards it without polling again" {
    start_sim
    track 1
    hand_run 1 smoke
    run env PROMO_CRASH_AT=monitor.after_persist timeout 20 promo-monitor --in - --out - < "$T/msg.ndjson"
    assert_failure 111
    [ "$(record .hops.dev.aggregate.allPassed)" = true ]
    before=$(sim_requests '.method == "GET"')
    run --separate-stderr timeout 20 promo-monitor --in - --out - < "$T/msg.ndjson"
    assert_success
    [ "$(echo "$output" | jq -r .aggregate.allPassed)" = true ]
    [ "$(sim_requests '.method == "GET"')" -eq "$before" ]
}

# --- end to end, for each provider ---


e2e_pass() {
    start_sim
    policy "$(entry smoke "$1" "$(job "$1" smoke)")"
    run_e2e
    [ "$(agg .allPassed)" = true ]
    [ "$(agg .anyFailed)" = false ]
    [ "$(agg .decided)" = true ]
    [ "$(agg '.failureReasons | length')" = 0 ]
    [ "$(agg .results[0].outcome)" = passed ]
    [ "$(record .hops.dev.tests.smoke.status)" = passed ]
}

e2e_fail() {
    start_sim
    policy "$(entry smoke "$1" "$(job "$1" smoke-fail)")"
    run_e2e
    [ "$(agg .anyFailed)" = true ]
    [ "$(agg .allPassed)" = false ]
    url=$(record .hops.dev.tests.smoke.url)
    [ -n "$url" ] && [ "$url" != null ]
    reason=$(agg '.failureReasons[0]')
    [[ "$reason" == "smoke: failed ("*") $url" ]]
}

e2e_optional_fail() {
    start_sim
    # the required test runs 2 s, the optional one fails at once: both are
    # known when the hop is decided (optional tests are never waited for)
    policy "$(entry smoke "$1" "$(job "$1" slow-smoke)")" "$(entry lint "$1" "$(job "$1" lint-fail)" false)"
    run_e2e
    [ "$(agg .allPassed)" = true ]
    [ "$(agg .anyFailed)" = false ]
    [ "$(agg .optionalTestsFailed)" = true ]
    agg '.failureReasons[0]' | grep -q '^lint (optional): failed'
    [ "$(record .hops.dev.tests.lint.status)" = failed ]
}

@test "an optional test still running when the hop is decided is not waited for, and its end is recorded" {
    start_sim
    policy "$(entry smoke jenkins smoke)" "$(entry lint jenkins slow-lint-fail false)"
    run_e2e
    [ "$(agg .allPassed)" = true ]
    [ "$(agg .anyRunning)" = true ]
    [ "$(agg .optionalTestsFailed)" = false ]
    wait_for 10 record_is .hops.dev.tests.lint.status failed
    # the decision does not change
    [ "$(record .hops.dev.aggregate.optionalTestsFailed)" = false ]
    [ "$(record .hops.dev.aggregate.allPassed)" = true ]
}

e2e_timeout() {
    start_sim
    policy "$(entry smoke "$1" "$(job "$1" smoke-timeout)" true 2s)"
    run_e2e 25
    [ "$(agg .anyTimeout)" = true ]
    [ "$(agg .anyFailed)" = true ]
    agg '.failureReasons[0]' | grep -q '^smoke: timed out (no result within the test timeout 2s'
    wait_for 10 record_is .hops.dev.tests.smoke.cancelled true
    [ "$(sim_requests '.method == "POST" and (.path | test("/stop$|cancelItem|/cancel$"))')" -ge 1 ]
}

e2e_flaky() {
    start_sim
    policy "$(entry smoke "$1" "$(job "$1" smoke-flaky)")"
    run_e2e 30
    [ "$(agg .allPassed)" = true ]
    [ "$(agg .anyFailed)" = false ]
    [ "$(sim_requests '.status == 503')" -ge 1 ]
}

@test "jenkins: a required test passes: allPassed forwarded" {
    e2e_pass jenkins
}

@test "jenkins: a required test fails: anyFailed, the reason names the test and its URL" {
    e2e_fail jenkins
}

@test "jenkins: an optional test fails: it does not block" {
    e2e_optional_fail jenkins
}

@test "jenkins: a test past its timeout: anyTimeout, failed, cancelled in the CI" {
    e2e_timeout jenkins
}

@test "jenkins: 5xx then recovery: passes, not failed" {
    e2e_flaky jenkins
}

@test "github-actions: a required test passes: allPassed forwarded" {
    e2e_pass github-actions
}

@test "github-actions: a required test fails: anyFailed, the reason names the test and its URL" {
    e2e_fail github-actions
}

@test "github-actions: an optional test fails: it does not block" {
    e2e_optional_fail github-actions
}

@test "github-actions: a test past its timeout: anyTimeout, failed, cancelled in the CI" {
    e2e_timeout github-actions
}

@test "github-actions: 5xx then recovery: passes, not failed" {
    e2e_flaky github-actions
}

@test "gitlab: a required test passes: allPassed forwarded" {
    e2e_pass gitlab
}

@test "gitlab: a required test fails: anyFailed, the reason names the test and its URL" {
    e2e_fail gitlab
}

@test "gitlab: an optional test fails: it does not block" {
    e2e_optional_fail gitlab
}

@test "gitlab: a test past its timeout: anyTimeout, failed, cancelled in the CI" {
    e2e_timeout gitlab
}

@test "gitlab: 5xx then recovery: passes, not failed" {
    e2e_flaky gitlab
}

# exec_job NAME BODY - a local test program $T/NAME running BODY.
exec_job() {
    printf '#!/bin/sh\n%s\n' "$2" > "$T/$1"
    chmod 755 "$T/$1"
    echo "$T/$1"
}

@test "exec: a required test passes: allPassed forwarded" {
    start_sim
    policy "$(entry smoke exec "$(exec_job ok 'exit 0')")"
    run_e2e
    [ "$(agg .allPassed)" = true ]
    [ "$(record .hops.dev.tests.smoke.status)" = passed ]
}

@test "exec: a required test fails: anyFailed, the reason names the test" {
    start_sim
    policy "$(entry smoke exec "$(exec_job bad 'exit 3')")"
    run_e2e
    [ "$(agg .anyFailed)" = true ]
    agg '.failureReasons[0]' | grep -q '^smoke: failed'
}

@test "exec: an optional test fails: it does not block" {
    start_sim
    # smoke passes only once the monitor has recorded lint's failure, so the
    # decision sees both (optional tests never block: had smoke passed first,
    # the decision would rightly go out without waiting for lint)
    policy "$(entry smoke exec "$(exec_job ok "for i in \$(seq 300); do jq -e '.hops.dev.tests.lint.status == \"failed\"' '$T/state/monitor/acme-shop-1.json' >/dev/null 2>&1 && exit 0; sleep 0.1; done; exit 1")")" \
        "$(entry lint exec "$(exec_job bad 'exit 1')" false)"
    run_e2e
    [ "$(agg .allPassed)" = true ]
    [ "$(agg .optionalTestsFailed)" = true ]
    agg '.failureReasons[0]' | grep -q '^lint (optional): failed'
}

@test "exec: a test past its timeout: anyTimeout and failed" {
    start_sim
    policy "$(entry smoke exec "$(exec_job hang 'sleep 60')" true 2s)"
    run_e2e 25
    [ "$(agg .anyTimeout)" = true ]
    [ "$(agg .anyFailed)" = true ]
    agg '.failureReasons[0]' | grep -q '^smoke: timed out'
}

# gap_after_429 - the smallest gap in ms between a 429 answer and the next
# request on the same path (a large number when there was no 429).
gap_after_429() {
    jq -s '[ . as $all | range(0; length) as $i | select($all[$i].status == 429)
             | $all[$i] as $r
             | [ $all[$i + 1:][] | select(.path == $r.path) ][0]
             | select(. != null)
             | ((.time | sub("\\.[0-9]+Z$"; "Z") | fromdate) * 1000 + (.time | capture("\\.(?<ms>[0-9]+)Z$").ms | tonumber))
               - (($r.time | sub("\\.[0-9]+Z$"; "Z") | fromdate) * 1000 + ($r.time | capture("\\.(?<ms>[0-9]+)Z$").ms | tonumber)) ]
           | min // 999999' "$T/requests.ndjson"
}

@test "jenkins: 429 with Retry-After: the request is repeated only after the wait, and passes" {
    start_sim
    policy "$(entry smoke jenkins smoke-ratelimit)"
    run_e2e 30
    [ "$(agg .allPassed)" = true ]
    [ "$(sim_requests '.status == 429')" -ge 1 ]
    [ "$(gap_after_429)" -ge 950 ]
}

@test "github-actions: 429 with Retry-After on status polls: obeyed, and the tests pass" {
    # two dispatches use up the limit of 2, so the first status poll is
    # answered 429 with Retry-After: 2; the limit resets after 4 s
    cat > "$T/scenario.yaml" <<'YAML'
github:
  rateLimit:
    limit: 2
    window: 4s
    status: 429
    retryAfter: 2
YAML
    start_sim "$T/scenario.yaml"
    policy "$(entry smoke github-actions smoke.yml)" "$(entry e2e github-actions e2e.yml)"
    run_e2e 40
    [ "$(agg .allPassed)" = true ]
    [ "$(agg .anyFailed)" = false ]
    [ "$(sim_requests '.status == 429 and .method == "GET"')" -ge 1 ]
    [ "$(gap_after_429)" -ge 1950 ]
}
