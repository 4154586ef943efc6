#!/usr/bin/env bats
# trigger.bats - promo-trigger: the command line, --dry-run, and against
# promo-sim: each provider triggered exactly once with its idempotency key,
# level-triggered forwarding, crash and restart at named crash points with the
# run adopted by key, and a new head SHA superseding (cancelling) old runs.
# The stage runs with --in - --out -, so nothing here depends on promo-monitor.

load 'helpers'
bats_require_minimum_version 1.5.0

SHA1=0123456789abcdef0123456789abcdef01234567
SHA2=89abcdef0123456789abcdef0123456789abcdef

setup() {
    promo_setup
    cat > "$T/policies/dev.yaml" <<'YAML'
apiVersion: promo.dev/v1alpha1
kind: PromotionPolicy
metadata:
  name: dev-to-staging
spec:
  sourceEnvironment: dev
  targetEnvironment: staging
  timeout: 30m
  externalTests:
    - name: smoke
      provider: jenkins
      job: promo/smoke
      parameters:
        PR: "${PR_NUMBER}"
        COMMIT: "${SHORT_SHA}"
    - name: e2e
      provider: github-actions
      job: e2e.yml
      parameters:
        target: "${TARGET_ENV}"
    - name: lint
      provider: gitlab
      job: acme/shop
      required: false
      parameters:
        APP: "${APPLICATION}"
YAML
}

teardown() {
    promo_teardown
}

# sim_up - start promo-sim on a free port and point the config at it.
sim_up() {
    sim_start --log "$T/requests.ndjson"
    sim_yaml "$SIM" "$T" jenkins github gitlab >> "$T/promo.yaml"
}

# track PR SHA - a synced tracker acme-shop-PR in dev at SHA.
track() {
    promoctl track --repo acme/shop --pr "$1" --sha "$2" --env dev --app shop --ref feature/x --state synced >/dev/null
}

# msg PR - promo-policy's message for tracker acme-shop-PR, from the state dir.
msg() {
    local name="acme-shop-$1"
    jq -c '{v: 1, kind: "tracker", from: "test", name: .metadata.name, generation: .metadata.generation, tracker: .}' \
        "$T/state/trackers/$name.json" | promo-policy --in - --out - 2>/dev/null
}

# key_of TRACKER SHA TEST - the idempotency key, computed independently.
key_of() {
    printf '%s\n%s\n%s\n%s\n%s\n%s' "$1" "$2" dev staging "$3" 1 | sha256sum | cut -c1-24 | sed 's/^/pk-/'
}

# requests - the sim's request log.
requests() {
    curl -sf "http://127.0.0.1:$PORT/_sim/requests"
}

# triggers_with KEY - trigger requests (Jenkins buildWithParameters, GitHub
# dispatches, GitLab pipeline) carrying KEY.
triggers_with() {
    requests | jq --arg k "$1" '[.[] | select(.method == "POST")
        | select(.path | test("buildWithParameters$|/dispatches$|/pipeline$"))
        | select(tostring | contains($k))] | length'
}

# trigger_count - every trigger request the sim served.
trigger_count() {
    requests | jq '[.[] | select(.method == "POST")
        | select(.path | test("buildWithParameters$|/dispatches$|/pipeline$"))] | length'
}

# run_trigger MSGFILE OUTFILE - the stage on one message, to its end.
run_trigger() {
    promo-trigger --in - --out - < "$1" > "$2" 2>> "$T/trigger.log"
}

@test "--help and --version exit 0" {
    run promo-trigger --help
    assert_success
    assert_output --partial "promo-trigger"
    assert_output --partial "--dry-run"
    run promo-trigger --version
    assert_success
    assert_output --partial "promo-trigger"
}

@test "a bad flag or argument exits 100" {
    run promo-trigger --no-such-flag
    assert_failure 100
    run promo-trigger --in
    assert_failure 100
    run promo-trigger extra-argument
    assert_failure 100
}

@test "a bad config exits 100" {
    printf 'stateDir: [\n' > "$T/bad.yaml"
    run promo-trigger -c "$T/bad.yaml" --in - --out - < /dev/null
    assert_failure 100
    printf 'noSuchKey: 1\n' > "$T/bad2.yaml"
    run promo-trigger -c "$T/bad2.yaml" --in - --out - < /dev/null
    assert_failure 100
}

@test "--dry-run prints each test with its key and substituted parameters, and does nothing" {
    track 42 "$SHA1"
    msg 42 > "$T/msg.ndjson"
    [ -s "$T/msg.ndjson" ]
    run --separate-stderr promo-trigger --in - --out - --dry-run < "$T/msg.ndjson"
    assert_success
    assert_equal "${#lines[@]}" 3
    [ "$(echo "$output" | jq -r 'select(.test == "smoke") | .key')" = "$(key_of acme-shop-42 "$SHA1" smoke)" ]
    [ "$(echo "$output" | jq -r 'select(.test == "smoke") | .params.PR')" = 42 ]
    [ "$(echo "$output" | jq -r 'select(.test == "smoke") | .params.COMMIT')" = 0123456 ]
    [ "$(echo "$output" | jq -r 'select(.test == "smoke") | .job')" = promo/smoke ]
    [ "$(echo "$output" | jq -r 'select(.test == "e2e") | .provider')" = github-actions ]
    [ "$(echo "$output" | jq -r 'select(.test == "e2e") | .params.target')" = staging ]
    [ "$(echo "$output" | jq -r 'select(.test == "lint") | .params.APP')" = shop ]
    [ "$(echo "$output" | jq -r 'select(.test == "lint") | .key')" = "$(key_of acme-shop-42 "$SHA1" lint)" ]
    [ "$(echo "$output" | jq -r .tracker | sort -u)" = acme-shop-42 ]
    assert_file_not_exists "$T/state/trigger/acme-shop-42.json"
}

@test "a message without a policy, or a stale one, is dropped" {
    track 42 "$SHA1"
    jq -c '{v: 1, kind: "tracker", name: .metadata.name, generation: .metadata.generation, tracker: .}' \
        "$T/state/trackers/acme-shop-42.json" > "$T/nopolicy.ndjson"
    run --separate-stderr promo-trigger --in - --out - < "$T/nopolicy.ndjson"
    assert_success
    assert_output ""
    [[ "$stderr" == *"event=no_policy"* ]]
    msg 42 | jq -c '.generation = 7' > "$T/stale.ndjson"
    run --separate-stderr promo-trigger --in - --out - < "$T/stale.ndjson"
    assert_success
    assert_output ""
    [[ "$stderr" == *"event=stale"* ]]
    assert_file_not_exists "$T/state/trigger/acme-shop-42.json"
}

@test "an invalid policy is dropped; a substitution error fails that test only" {
    promoctl track --repo acme/shop --pr 42 --sha "$SHA1" --env dev --app shop --state synced \
        --ref "feature/$(printf 'a%.0s' $(seq 1 240))" >/dev/null
    msg 42 > "$T/msg.ndjson"
    jq -c '.policy.spec.externalTests[0].parameters.PR = "${NO_SUCH}"' "$T/msg.ndjson" > "$T/bad.ndjson"
    run --separate-stderr promo-trigger --in - --out - --dry-run < "$T/bad.ndjson"
    assert_success
    assert_output ""
    [[ "$stderr" == *"event=policy_invalid"* ]]
    # 300 x a 248-byte ref is over the 64 KiB a substitution may produce
    jq -c '.policy.spec.externalTests[2].parameters.APP = ("${HEAD_REF}" * 300)' "$T/msg.ndjson" > "$T/big.ndjson"
    run --separate-stderr promo-trigger --in - --out - --dry-run < "$T/big.ndjson"
    assert_success
    [ -n "$(echo "$output" | jq -r 'select(.test == "lint") | .error')" ]
    [ "$(echo "$output" | jq -r 'select(.test == "lint") | .error')" != null ]
    [ "$(echo "$output" | jq -r 'select(.test == "smoke") | .error')" = null ]
    # without --dry-run the test is recorded in phase "error", with the reason
    sim_up
    run_trigger "$T/big.ndjson" "$T/out.ndjson"
    rec="$T/state/trigger/acme-shop-42.json"
    [ "$(jq -r '.hops.dev.tests[] | select(.name == "lint") | .phase' "$rec")" = error ]
    [[ "$(jq -r '.hops.dev.tests[] | select(.name == "lint") | .error' "$rec")" == *"parameters.APP"* ]]
    [ "$(jq -r '.hops.dev.tests[] | select(.name == "smoke") | .phase' "$rec")" = triggered ]
    [ "$(jq -r '.runs | length' "$T/out.ndjson")" = 3 ]
}

@test "against promo-sim: each provider triggered once with its key; record written; runs forwarded" {
    sim_up
    track 42 "$SHA1"
    msg 42 > "$T/msg.ndjson"
    run_trigger "$T/msg.ndjson" "$T/out1.ndjson"
    for t in smoke e2e lint; do
        k="$(key_of acme-shop-42 "$SHA1" "$t")"
        [ "$(triggers_with "$k")" = 1 ] || { echo "test $t key $k: $(triggers_with "$k") triggers"; requests | jq -c '.[]'; false; }
    done
    [ "$(trigger_count)" = 3 ]
    # Jenkins parameter, GitHub input, GitLab variable
    requests | jq -e --arg k "$(key_of acme-shop-42 "$SHA1" smoke)" \
        '[.[] | select(.path | test("buildWithParameters$")) | select(.body.PROMO_KEY == $k)] | length == 1'
    requests | jq -e --arg k "$(key_of acme-shop-42 "$SHA1" e2e)" \
        '[.[] | select(.path | test("/dispatches$")) | select(.body.inputs.promo_key == $k)] | length == 1'
    requests | jq -e --arg k "$(key_of acme-shop-42 "$SHA1" lint)" \
        '[.[] | select(.path | test("/pipeline$")) | select(tostring | contains("PROMO_KEY")) | select(tostring | contains($k))] | length == 1'
    # the record
    rec="$T/state/trigger/acme-shop-42.json"
    [ "$(jq -r '.hops.dev.tests | map(.phase) | unique | join(",")' "$rec")" = triggered ]
    [ "$(jq -r '.generation' "$rec")" = 1 ]
    [ "$(jq -r '.headSHA' "$rec")" = "$SHA1" ]
    [ "$(jq -r '.hops.dev.target' "$rec")" = staging ]
    [ "$(jq -r '.hops.dev.autoPromote' "$rec")" = true ]
    jq -e '.hops.dev.tests | all(.run.url | length > 0)' "$rec"
    # the forwarded message
    [ "$(wc -l < "$T/out1.ndjson")" = 1 ]
    [ "$(jq -r '.runs | length' "$T/out1.ndjson")" = 3 ]
    [ "$(jq -r '.from' "$T/out1.ndjson")" = promo-trigger ]
    [ "$(jq -r '.policy.metadata.name' "$T/out1.ndjson")" = dev-to-staging ]
    jq -e --slurpfile r "$rec" '.runs == $r[0].hops.dev.tests' "$T/out1.ndjson"
    # promoctl sees it testing, with its tests
    run promoctl get acme-shop-42
    assert_output --partial "State:        testing"
    assert_output --partial "smoke"
    # a second delivery triggers nothing more, writes nothing, and forwards again
    before="$(stat -c %Y.%i "$rec")"
    run_trigger "$T/msg.ndjson" "$T/out2.ndjson"
    [ "$(trigger_count)" = 3 ]
    [ "$(stat -c %Y.%i "$rec")" = "$before" ]
    [ "$(jq -r '.runs | length' "$T/out2.ndjson")" = 3 ]
}

# crash_then_adopt POINT - the stage dies at POINT, is restarted, and every
# test ends up triggered exactly once.
crash_then_adopt() {
    sim_up
    track 42 "$SHA1"
    msg 42 > "$T/msg.ndjson"
    run env PROMO_CRASH_AT="$1" PROMO_CRASH_ONCE="$T/crashed" promo-trigger --in - --out - < "$T/msg.ndjson"
    assert_failure 111
    assert_file_exists "$T/crashed"
    [ "$(jq -r '.hops.dev.tests | map(.phase) | index("intent") != null' "$T/state/trigger/acme-shop-42.json")" = true ]
    PROMO_CRASH_AT="$1" PROMO_CRASH_ONCE="$T/crashed" run_trigger "$T/msg.ndjson" "$T/out.ndjson"
    for t in smoke e2e lint; do
        k="$(key_of acme-shop-42 "$SHA1" "$t")"
        [ "$(triggers_with "$k")" = 1 ] || { echo "test $t: $(triggers_with "$k") triggers"; cat "$T/trigger.log"; false; }
    done
    [ "$(trigger_count)" = 3 ]
    [ "$(jq -r '.hops.dev.tests | map(.phase) | unique | join(",")' "$T/state/trigger/acme-shop-42.json")" = triggered ]
    [ "$(jq -r '.runs | length' "$T/out.ndjson")" = 3 ]
    grep -q 'event=adopt ' "$T/trigger.log"
}

@test "a crash after the CI got the request (trigger.after_request): restarted, the run is adopted by key" {
    crash_then_adopt trigger.after_request
    # the first test's run was found by key, not triggered again
    grep -q 'event=adopted ' "$T/trigger.log"
}

@test "a crash after the intent was persisted (trigger.after_intent): restarted, each test triggered once" {
    crash_then_adopt trigger.after_intent
    [ "$(trigger_count)" = 3 ]
}

@test "a new head SHA supersedes: old runs cancelled, new runs with new keys" {
    sim_up
    track 42 "$SHA1"
    msg 42 > "$T/msg1.ndjson"
    run_trigger "$T/msg1.ndjson" "$T/out1.ndjson"
    [ "$(trigger_count)" = 3 ]
    track 42 "$SHA2"
    msg 42 > "$T/msg2.ndjson"
    # the old message is stale now
    run_trigger "$T/msg1.ndjson" "$T/stale.ndjson"
    [ ! -s "$T/stale.ndjson" ]
    [ "$(trigger_count)" = 3 ]
    run_trigger "$T/msg2.ndjson" "$T/out2.ndjson"
    rec="$T/state/trigger/acme-shop-42.json"
    [ "$(jq -r .headSHA "$rec")" = "$SHA2" ]
    [ "$(jq -r .generation "$rec")" = 2 ]
    [ "$(jq -r '.superseded | length' "$rec")" = 3 ]
    for t in smoke e2e lint; do
        old="$(key_of acme-shop-42 "$SHA1" "$t")" new="$(key_of acme-shop-42 "$SHA2" "$t")"
        [ "$old" != "$new" ]
        [ "$(triggers_with "$new")" = 1 ]
        [ "$(triggers_with "$old")" = 1 ]
        [ "$(jq -r --arg k "$old" '.superseded[] | select(.key == $k) | .cancel' "$rec")" != pending ]
    done
    [ "$(trigger_count)" = 6 ]
    # the CIs got the cancel / stop requests
    requests | jq -e '[.[] | select(.method == "POST") | select(.path | test("/stop$|/cancel$|cancelItem"))] | length >= 3'
    [ "$(jq -r '[.superseded[] | select(.cancelled)] | length' "$rec")" = 3 ]
    jq -e --arg k "$(key_of acme-shop-42 "$SHA2" smoke)" '.runs | map(.key) | index($k) != null' "$T/out2.ndjson"
}
