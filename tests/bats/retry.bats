#!/usr/bin/env bats
# promoctl retry end to end: promo-sim plays Jenkins, GitLab and Argo CD; the
# five stages run with -c $PROMO_CONFIG. A required Jenkins test whose job
# never finishes on its own (the sim's `timeout` name convention) is finished
# by POST /_sim/complete: first as a failure (the tracker fails in dev), then,
# after promoctl retry, its second attempt as a pass (the tracker is promoted
# to staging). Each test checks the state dir, promoctl, the audit log and the
# requests promo-sim received.

load helpers

SHA1=0123456789abcdef0123456789abcdef01234567
TR=acme-shop-1
SMOKE_JOB=promo/smoke-timeout

setup() {
    for p in promo-watcher promo-policy promo-trigger promo-monitor promo-promoter promo-sim promoctl; do
        [ -x "$PROMO_BIN/$p" ] || skip "$p is not built"
    done
    promo_setup
}

teardown() {
    promo_teardown
}

# policy - dev -> staging with a required Jenkins test that never finishes on
# its own (smoke) and a GitLab test that passes (e2e); staging has no policy,
# so it ends the chain.
policy() {
    cat > "$T/policies/dev-to-staging.yaml" <<YAML
apiVersion: promo.dev/v1alpha1
kind: PromotionPolicy
metadata:
  name: dev-to-staging
spec:
  sourceEnvironment: dev
  targetEnvironment: staging
  timeout: 10m
  externalTests:
    - name: smoke
      provider: jenkins
      job: $SMOKE_JOB
      parameters:
        GIT_COMMIT: "\${HEAD_SHA}"
    - name: e2e
      provider: gitlab
      job: acme/e2e
  promotion:
    argocd:
      cluster: default
      application: shop-\${TARGET_ENV}
YAML
}

# sim_up - promo-sim on a free port, the config pointed at it.
sim_up() {
    sim_start --log "$T/requests.ndjson"
    sim_yaml "$SIM" "$T" >> "$T/promo.yaml"
}

# track SHA - acme-shop-1 synced in dev at SHA (its application shop runs
# SHA in the sim's Argo CD: the monitor confirms it before tests count).
track() {
    sim_deploy "$SIM" shop "$1"
    promoctl track --repo acme/shop --pr 1 --sha "$1" --env dev --app shop --ref feature/x --state synced >/dev/null
}

# state_is STATE ENV - the view of acme-shop-1 says STATE in ENV.
state_is() {
    [ "$(promoctl list --json | jq -r --arg n "$TR" '.[] | select(.name == $n) | .state + " " + .environment')" = "$1 $2" ]
}

# wait_state SECONDS STATE ENV - wait for it, or show where it is and fail.
wait_state() {
    if ! wait_for "$1" state_is "$2" "$3"; then
        promoctl show "$TR" >&3 || true
        return 1
    fi
}

# sim_requests - promo-sim's request log, as it serves it (GET /_sim/requests), NDJSON.
sim_requests() {
    curl -fsS "$SIM/_sim/requests" | jq -c '.[]'
}

# smoke_triggers - the Jenkins triggers of the smoke job the sim received, NDJSON.
smoke_triggers() {
    sim_requests | jq -c 'select(.system == "jenkins" and .method == "POST"
        and (.path | endswith("/job/promo/job/smoke-timeout/buildWithParameters")))'
}

# smoke_keys - the PROMO_KEY of each smoke trigger, in order.
smoke_keys() {
    smoke_triggers | jq -r '.body.PROMO_KEY'
}

# has_smoke_triggers N - the sim has served exactly N smoke triggers.
has_smoke_triggers() {
    [ "$(smoke_triggers | jq -s length)" = "$1" ]
}

# queue_item KEY - the Jenkins queue item id of the run whose PROMO_KEY is KEY.
queue_item() {
    curl -fsS "$SIM/_sim/state" |
        jq -er --arg k "$1" '[.jenkins.queue[] | select(.parameters.PROMO_KEY == $k) | .id] | if length == 1 then .[0] else error("not exactly one") end'
}

# test_status NAME - the status of test NAME in the current (dev) hop, per promoctl show.
test_status() {
    promoctl show "$TR" --json | jq -r --arg t "$1" '.view.hops[0].tests[] | select(.name == $t) | .status'
}

# test_is NAME STATUS
test_is() {
    [ "$(test_status "$1")" = "$2" ]
}

# complete_smoke KEY RESULT - finish the smoke run keyed KEY with RESULT (pass, fail).
complete_smoke() {
    local id; id="$(queue_item "$1")"
    run curl -fsS -X POST "$SIM/_sim/complete?system=jenkins&id=$id&result=$2"
    assert_success
    assert_output --partial '"completed":true'
}

# argocd_writes APP - the sim's PATCH and POST requests for Argo CD application APP, NDJSON.
argocd_writes() {
    sim_requests | jq -c --arg a "$1" \
        'select(.system == "argocd" and .method != "GET" and (.path | test("/applications/" + $a + "($|/)")))'
}

# resyncs - how many resyncs the watcher has logged.
resyncs() {
    grep -c 'event=resync why=' "$T/watcher.log" || true
}

# after_resyncs N - wait until the watcher has resynced N more times from now
# (so every stage has been sent every tracker again), for "nothing more happens".
after_resyncs() {
    local want=$(( $(resyncs) + $1 ))
    wait_for 30 eval '[ "$(resyncs)" -ge '"$want"' ]'
}

# fail_in_dev - start the pipeline, fail the first smoke run by /_sim/complete,
# and wait for the tracker to be failed in dev. Sets KEY1.
fail_in_dev() {
    policy
    sim_up
    pipeline_up
    track "$SHA1"
    wait_for 60 has_smoke_triggers 1
    KEY1="$(smoke_keys)"
    [[ "$KEY1" =~ ^pk-[0-9a-f]{24}$ ]]
    wait_for 60 test_is e2e passed
    wait_for 30 test_is smoke running
    state_is testing dev
    complete_smoke "$KEY1" fail
    wait_state 60 failed dev
}

@test "retry: a required test failed in dev is run again once by promoctl retry, passes, and the tracker is promoted to staging once" {
    fail_in_dev

    # 1. failed in dev, saying why, nothing deployed
    run promoctl get "$TR"
    assert_success
    assert_output --partial "a required test failed in dev: smoke"
    run promoctl show "$TR"
    assert_success
    assert_output --partial "a required test failed in dev: smoke"
    assert_output --partial "promoctl retry"
    [ "$(test_status smoke)" = failed ]
    [ "$(test_status e2e)" = passed ]
    after_resyncs 2
    state_is failed dev
    has_smoke_triggers 1
    [ -z "$(sim_requests | jq -c 'select(.system == "argocd" and .method != "GET")')" ]
    [ "$(promoctl events --json --tracker "$TR" | jq -s 'map(select(.reason == "TestsFailed")) | length')" = 1 ]

    # 2. retry: recorded, the failed test (only) triggered again with a new key
    run promoctl retry "$TR" --by alice
    assert_success
    assert_output --partial "attempt 2 of the failed tests in dev requested by alice"
    run jq -r '.hops.dev.retry | (.attempt | tostring) + " " + .requestedBy' "$T/state/approvals/$TR.json"
    assert_output "2 alice"
    wait_for 60 has_smoke_triggers 2
    KEY2="$(smoke_keys | sed -n 2p)"
    [[ "$KEY2" =~ ^pk-[0-9a-f]{24}$ ]]
    [ "$KEY2" != "$KEY1" ]
    # the same parameters but the key: it is the same test at the same SHA
    [ "$(smoke_triggers | jq -c '.body | del(.PROMO_KEY)' | sort -u | wc -l)" = 1 ]
    [ "$(smoke_triggers | jq -r '.body.GIT_COMMIT' | sort -u)" = "$SHA1" ]
    [ "$(smoke_triggers | jq -r .status | sort -u)" = 201 ]
    run jq -r '.hops.dev.tests[] | select(.name == "smoke") | (.attempt | tostring) + " " + .key' "$T/state/trigger/$TR.json"
    assert_output "2 $KEY2"
    run jq -r '.superseded[] | .name + " " + (.attempt | tostring) + " " + .key + " " + .supersededBy' "$T/state/trigger/$TR.json"
    assert_output "smoke 1 $KEY1 retry"
    wait_for 30 test_is smoke running
    state_is testing dev

    # a second retry while the first one runs: refused, nothing changes
    cp "$T/state/approvals/$TR.json" "$T/approvals.before"
    run promoctl retry "$TR" --by bob
    assert_failure 100
    assert_output --partial "nothing to retry"
    cmp "$T/approvals.before" "$T/state/approvals/$TR.json"

    # the second attempt passes: promoted to staging, once
    complete_smoke "$KEY2" pass
    wait_state 60 done staging
    after_resyncs 2
    state_is done staging
    has_smoke_triggers 2
    [ "$(sim_requests | jq -s 'map(select(.system == "gitlab" and .method == "POST")) | length')" = 1 ]
    [ "$(argocd_writes shop-staging | jq -s 'map(select(.method == "PATCH" and .status == 200)) | length')" = 1 ]
    [ "$(argocd_writes shop-staging | jq -s 'map(select(.method == "POST" and .status == 200)) | length')" = 1 ]
    [ "$(argocd_writes shop-staging | jq -r 'select(.method == "POST") | .body.revision')" = "$SHA1" ]
    [ -z "$(sim_requests | jq -c 'select(.system == "argocd" and .method != "GET" and (.path | contains("shop-staging") | not))')" ]
    run promoctl show "$TR" --json
    [ "$(jq -r '.view.hops[0].source + ">" + .view.hops[0].target + ":" + .view.hops[0].state' <<<"$output")" = "dev>staging:promoted" ]
    [ "$(jq -r '.view.hops[0].retryAttempt' <<<"$output")" = 2 ]
    # promoted on what the second attempt tested, never on the failed run
    run jq -c '[.promotions[] | select(.outcome == "Promoted") | [.testRuns[].key] | sort]' "$T/state/promoter/$TR.json"
    [ "$output" = "$(jq -nc --arg a "$KEY2" --arg b "$(jq -r '.hops.dev.tests[] | select(.name == "e2e") | .key' "$T/state/trigger/$TR.json")" '[[$a, $b] | sort]')" ]
    PKEY="$(jq -r '.promotions[] | select(.outcome == "Promoted") | .key' "$T/state/promoter/$TR.json")"
    # the failed first attempt has its own record, under the first attempt's hop key
    jq -e '[.promotions[].outcome] == ["Failed", "Promoted"] and .promotions[0].failure == "tests" and
        .promotions[0].testResults.requiredFailed == ["smoke"] and .promotions[0].key != .promotions[1].key' \
        "$T/state/promoter/$TR.json"

    # the audit log: one failure, the retry by alice, one promotion
    run promoctl events --json --tracker "$TR"
    assert_success
    [ "$(jq -r 'select(.reason == "RetryRequested") | .message' <<<"$output")" = \
      "attempt 2 of 1 failed test in dev requested by alice" ]
    [ "$(jq -s 'map(select(.reason == "TestsFailed")) | length' <<<"$output")" = 1 ]
    [ "$(jq -s 'map(select(.reason == "Promoted")) | length' <<<"$output")" = 1 ]
    [ "$(jq -r 'select(.reason == "Promoted") | .message' <<<"$output")" = \
      "promoted dev -> staging at ${SHA1:0:7} (policy dev-to-staging, 2 tests passed)" ]
    [ "$(jq -r 'select(.reason == "Promoted") | .key' <<<"$output")" = "$PKEY" ]
    # in that order
    [ "$(jq -r 'select(.reason == "TestsFailed" or .reason == "RetryRequested" or .reason == "Promoted") | .reason' <<<"$output" | paste -sd' ')" = \
      "TestsFailed RetryRequested Promoted" ]

    # 3. nothing left to retry once promoted: refused, nothing changes
    cp "$T/state/approvals/$TR.json" "$T/approvals.before"
    nevents="$(promoctl events --json | wc -l)"
    run promoctl retry "$TR" --by alice
    assert_failure 100
    assert_output --partial "has nothing to retry: it is done in staging"
    cmp "$T/approvals.before" "$T/state/approvals/$TR.json"
    [ "$(promoctl events --json | wc -l)" = "$nevents" ]
}

@test "retry: refused while the tests run (not failed): exit 100, says why, records nothing, triggers nothing" {
    policy
    sim_up
    pipeline_up
    track "$SHA1"
    wait_for 60 has_smoke_triggers 1
    wait_for 60 test_is e2e passed
    state_is testing dev
    run promoctl retry "$TR" --by alice
    assert_failure 100
    assert_output --partial "promoctl: fatal: tracker $TR has nothing to retry: it is testing in dev"
    assert_file_not_exist "$T/state/approvals/$TR.json"
    [ -z "$(promoctl events --json | jq -c 'select(.reason == "RetryRequested")')" ]
    after_resyncs 2
    has_smoke_triggers 1
    state_is testing dev
    run promoctl show "$TR" --json
    [ "$(jq -r '.view.hops[0].retryAttempt // 0' <<<"$output")" = 0 ]
}
