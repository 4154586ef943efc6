#!/usr/bin/env bats
# revision.bats - results count only for the revision they tested (issue 14,
# section 2; DESIGN.md principle 5). End to end with promo-sim and the five
# stages:
#
#   - before passed tests count, promo-monitor confirms in Argo CD that the
#     hop's source application still runs the head SHA: another revision
#     deployed meanwhile voids them (DeployedRevisionChanged: failed hop,
#     one audit event, named by promoctl show, nothing patched); an
#     application still at the SHA is promoted as before; Argo CD answering
#     503 decides nothing until it answers; an application Argo CD does not
#     know fails the hop (DeployedRevisionUnverified);
#   - a new head SHA while tests run: the old runs are cancelled in the CI,
#     the old SHA is never promoted, and an approval given for the old SHA
#     never promotes the new one.

load helpers

SHA1=0123456789abcdef0123456789abcdef01234567
SHA2=89abcdef0123456789abcdef0123456789abcdef
OTHER=fedcba9876543210fedcba9876543210fedcba98

setup() {
    for p in promo-watcher promo-policy promo-trigger promo-monitor promo-promoter promo-sim promoctl; do
        [ -x "$PROMO_BIN/$p" ] || skip "$p is not built"
    done
    promo_setup
}

teardown() {
    promo_teardown
}

# policy AUTO [JOB] - dev -> staging, one required Jenkins test JOB (default
# promo/smoke), autoPromote AUTO, into shop-staging; no policy for staging.
policy() {
    cat > "$T/policies/dev-to-staging.yaml" <<YAML
apiVersion: promo.dev/v1alpha1
kind: PromotionPolicy
metadata:
  name: dev-to-staging
spec:
  sourceEnvironment: dev
  targetEnvironment: staging
  autoPromote: $1
  timeout: 2m
  externalTests:
    - name: smoke
      provider: jenkins
      job: ${2:-promo/smoke}
      parameters:
        GIT_COMMIT: "\${HEAD_SHA}"
  promotion:
    argocd:
      cluster: default
      application: shop-\${TARGET_ENV}
YAML
}

# sim_up [SCENARIO_YAML] - promo-sim on a free port, the config pointed at it.
sim_up() {
    printf '%s\n' "${1:-queueMs: 50}" > "$T/scenario.yaml"
    sim_start --log "$T/requests.ndjson" --scenario "$T/scenario.yaml"
    sim_yaml "$SIM" "$T" >> "$T/promo.yaml"
}

# stages_up STAGE... - those stages, each with the test's config.
stages_up() {
    local p
    for p in "$@"; do
        promo_start "$p" "promo-$p" -c "$PROMO_CONFIG" -v
    done
}

# track SHA [NODEPLOY] - acme-shop-1 synced in dev at SHA; its application
# shop runs SHA in the sim's Argo CD (unless NODEPLOY is given).
track() {
    [ -n "${2:-}" ] || sim_deploy "$SIM" shop "$1"
    promoctl track --repo acme/shop --pr 1 --sha "$1" --env dev --app shop --ref feature/x --state synced >/dev/null
}

# state_is STATE ENV - the view of acme-shop-1 says STATE in ENV.
state_is() {
    [ "$(promoctl list --json | jq -r '.[] | select(.name == "acme-shop-1") | .state + " " + .environment')" = "$1 $2" ]
}

# wait_state SECONDS STATE ENV - wait for it, or show where it is and fail.
wait_state() {
    if ! wait_for "$1" state_is "$2" "$3"; then
        promoctl show acme-shop-1 >&3 || true
        return 1
    fi
}

# mon [JQ] - the monitor record of acme-shop-1 (through jq).
mon() {
    jq -r "${1:-.}" "$T/state/monitor/acme-shop-1.json"
}

# jenkins_running - the monitor saw the Jenkins build of the test running.
jenkins_running() {
    [ "$(jq -r '.hops.dev.tests.smoke.status + " " + (.hops.dev.tests.smoke.runId // "")' \
        "$T/state/monitor/acme-shop-1.json")" = "running 1" ]
}

# argocd_requests METHOD APP - the sim's Argo CD requests for APP (NDJSON).
argocd_requests() {
    jq -c --arg m "$1" --arg a "$2" \
        'select(.system == "argocd" and .method == $m and (.path | test("/applications/" + $a + "($|/)")))' \
        "$T/requests.ndjson"
}

# failure_status_is DESCRIPTION - promo-sim's GitHub got a failure commit status saying it.
failure_status_is() {
    jq -r 'select(.system == "github" and .method == "POST" and (.path | test("/statuses/"))) |
        .body.state + " " + .body.description' "$T/requests.ndjson" | grep -qxF "failure $1"
}

# events REASON - how many audit events of acme-shop-1 have that reason.
events() {
    promoctl events --json --tracker acme-shop-1 | jq -s --arg r "$1" 'map(select(.reason == $r)) | length'
}

@test "the source application still runs the SHA: confirmed in Argo CD, then promoted as before" {
    policy true
    sim_up
    stages_up promoter monitor trigger policy watcher
    track "$SHA1"
    wait_state 60 done staging
    [ "$(mon .hops.dev.revisionCheck.outcome)" = confirmed ]
    [ "$(mon .hops.dev.revisionCheck.application)" = shop ]
    [ "$(mon .hops.dev.revisionCheck.cluster)" = default ]
    [ "$(mon .hops.dev.revisionCheck.revision)" = "$SHA1" ]
    [ "$(mon .hops.dev.aggregate.allPassed)" = true ]
    # asked once, after the tests passed and before the promotion
    [ "$(argocd_requests GET shop | jq -s length)" = 1 ]
    get_seq=$(argocd_requests GET shop | jq -s '.[0].seq')
    patch_seq=$(argocd_requests PATCH shop-staging | jq -s '.[0].seq')
    [ "$get_seq" -lt "$patch_seq" ]
    [ "$(argocd_requests PATCH shop-staging | jq -s 'map(select(.status == 200)) | length')" = 1 ]
    [ "$(events Promoted)" = 1 ]
    [ "$(events DeployedRevisionChanged)" = 0 ]
    run promoctl show acme-shop-1
    assert_output --partial "revision       confirmed: shop (Argo CD default) Synced and Healthy at 0123456"
    run promoctl show acme-shop-1 --json
    [[ "$(jq -r '.view.hops[0].revisionCheck' <<<"$output")" == "confirmed: shop (Argo CD default) Synced and Healthy at 0123456"* ]]
}

@test "DeployedRevisionChanged: another revision deployed while the tests ran voids them; failed, audited once, shown, never patched" {
    policy true promo/long
    sim_up "$(printf 'queueMs: 50\njenkins:\n  jobs:\n    promo/long: {runMs: 4000}\n')"
    # the monitor dies once, right after it recorded its decision (before
    # the audit event and the forward): the restarted one does not ask again
    promo_start monitor env PROMO_CRASH_AT=monitor.after_persist PROMO_CRASH_ONCE="$T/crash.once" \
        promo-monitor -c "$PROMO_CONFIG" -v
    stages_up promoter trigger policy watcher
    track "$SHA1"
    wait_for 30 jenkins_running
    sim_deploy "$SIM" shop "$OTHER"           # someone deploys another revision in dev
    wait_for 30 grep -q 'event=crash_point point=monitor.after_persist' "$T/monitor.log"
    [ "$(mon .hops.dev.revisionCheck.outcome)" = changed ]
    [ "$(events DeployedRevisionChanged)" = 0 ]
    gets=$(argocd_requests GET shop | jq -s length)
    [ "$gets" -ge 1 ]
    stages_up monitor
    wait_for 20 grep -q 'event=restored' "$T/monitor.log"
    wait_state 60 failed dev
    # the monitor voided the pass: the reason first, the check recorded
    [ "$(mon .hops.dev.aggregate.anyFailed)" = true ]
    [ "$(mon .hops.dev.aggregate.allPassed)" = false ]
    [ "$(mon '.hops.dev.aggregate.failureReasons[0]')" = "DeployedRevisionChanged: source application shop runs fedcba9, not 0123456" ]
    [ "$(mon .hops.dev.tests.smoke.status)" = passed ]
    [ "$(mon .hops.dev.revisionCheck.outcome)" = changed ]
    [ "$(mon .hops.dev.revisionCheck.revision)" = "$OTHER" ]
    # the promoter reports it as a failed hop and never promotes it
    wait_for 20 sh -c "[ \"\$(jq -r .hops.dev.phase '$T/state/promoter/acme-shop-1.json')\" = failed ]"
    [ "$(jq -r .hops.dev.failure "$T/state/promoter/acme-shop-1.json")" = tests ]
    # the commit status says why, not "required test failed"
    wait_for 20 failure_status_is "DeployedRevisionChanged: source application shop runs fedcba9, not 0123456"
    run promoctl show acme-shop-1
    assert_success
    assert_output --partial "DeployedRevisionChanged: source application shop runs fedcba9, not 0123456"
    assert_output --partial "revision       changed: DeployedRevisionChanged: source application shop runs fedcba9"
    run promoctl get acme-shop-1
    assert_output --partial "DeployedRevisionChanged"
    [ "$(events DeployedRevisionChanged)" = 1 ]
    [ "$(promoctl events --json --tracker acme-shop-1 | jq -r 'select(.reason == "DeployedRevisionChanged") | .type')" = Warning ]
    [ "$(events Promoted)" = 0 ]
    [ -z "$(argocd_requests PATCH shop-staging)" ]
    [ -z "$(argocd_requests POST shop-staging)" ]
    # the restarted monitor forwarded the recorded decision without asking Argo CD again
    [ "$(argocd_requests GET shop | jq -s length)" = "$gets" ]
    sleep 3                                   # resyncs: nothing more
    [ "$(events DeployedRevisionChanged)" = 1 ]
    [ "$(argocd_requests GET shop | jq -s length)" = "$gets" ]
    state_is failed dev
}

@test "Argo CD answering 503: passed tests are not decided until it answers, then the hop is promoted" {
    policy true
    sim_up "$(printf 'queueMs: 50\nargocd:\n  applications:\n    shop: {flaky: 12, revision: %s}\n' "$SHA1")"
    stages_up promoter monitor trigger policy watcher
    track "$SHA1" nodeploy
    # the tests pass, Argo CD fails: pending, nothing decided, nothing promoted
    wait_for 30 sh -c "[ \"\$(jq -r '.hops.dev.revisionCheck.attempts // 0' '$T/state/monitor/acme-shop-1.json')\" -ge 1 ]"
    [ "$(mon .hops.dev.revisionCheck.outcome)" = pending ]
    [ "$(mon .hops.dev.aggregate.decided)" = false ]
    [ "$(mon .hops.dev.tests.smoke.status)" = passed ]
    mon '.hops.dev.waitingOn[]' | grep -q 'Argo CD to confirm that shop (default) in dev runs 0123456'
    run promoctl show acme-shop-1
    assert_output --partial "Argo CD to confirm that shop (default) in dev runs 0123456"
    state_is testing dev
    [ -z "$(argocd_requests PATCH shop-staging)" ]
    [ ! -s "$T/state/promoter/acme-shop-1.json" ] || [ "$(jq -r '.hops.dev // empty' "$T/state/promoter/acme-shop-1.json")" = "" ]
    # once it answers: confirmed and promoted
    wait_state 60 done staging
    [ "$(mon .hops.dev.revisionCheck.outcome)" = confirmed ]
    [ "$(argocd_requests GET shop | jq -s 'map(select(.status == 503)) | length')" = 12 ]
    [ "$(mon .hops.dev.revisionCheck.attempts)" -ge 2 ]
    # the PATCH came after Argo CD answered the monitor
    ok_seq=$(argocd_requests GET shop | jq -s 'map(select(.status == 200)) | .[0].seq')
    patch_seq=$(argocd_requests PATCH shop-staging | jq -s '.[0].seq')
    [ "$ok_seq" -lt "$patch_seq" ]
    [ "$(argocd_requests PATCH shop-staging | jq -s 'map(select(.status == 200)) | length')" = 1 ]
    [ "$(events DeployedRevisionChanged)" = 0 ]
}

@test "DeployedRevisionUnverified: a source application Argo CD does not know fails the hop with the reason" {
    policy true
    sim_up "$(printf 'queueMs: 50\nargocd:\n  autoCreate: false\n')"
    stages_up promoter monitor trigger policy watcher
    track "$SHA1" nodeploy
    wait_state 60 failed dev
    mon '.hops.dev.aggregate.failureReasons[0]' | grep -q '^DeployedRevisionUnverified: cannot confirm that source application shop (Argo CD default) in dev runs 0123456: '
    [ "$(mon .hops.dev.revisionCheck.outcome)" = unverified ]
    run promoctl show acme-shop-1
    assert_output --partial "DeployedRevisionUnverified"
    [ "$(events DeployedRevisionUnverified)" = 1 ]
    [ -z "$(argocd_requests PATCH shop-staging)" ]
}

@test "a new head SHA while tests run: the old runs are cancelled in the CI" {
    policy true promo/long
    sim_up "$(printf 'queueMs: 50\njenkins:\n  jobs:\n    promo/long: {runMs: 6000}\n')"
    stages_up promoter monitor trigger policy watcher
    track "$SHA1"
    wait_for 30 jenkins_running
    key=$(mon .hops.dev.tests.smoke.key)
    track "$SHA2"
    rec="$T/state/trigger/acme-shop-1.json"
    wait_for 20 sh -c "[ \"\$(jq -r '.superseded[0].cancel // empty' '$rec')\" = cancelled ]"
    [ "$(jq -r '.superseded[0].headSHA' "$rec")" = "$SHA1" ]
    [ "$(jq -r '.superseded[0].key' "$rec")" = "$key" ]
    [ "$(jq -r '.superseded[0].cancelled' "$rec")" = true ]
    # Jenkins got the stop of the old build (build 1), once; the new SHA's test runs under a new key
    [ "$(jq -c 'select(.system == "jenkins" and .method == "POST" and (.path | test("/job/long/1/stop$")))' "$T/requests.ndjson" | wc -l)" = 1 ]
    [ "$(jq -r '.hops.dev.tests[0].key' "$rec")" != "$key" ]
    [ "$(jq -r .headSHA "$rec")" = "$SHA2" ]
}

@test "a new head SHA while tests run: the old SHA is never promoted, the new one is" {
    policy true promo/long
    sim_up "$(printf 'queueMs: 50\njenkins:\n  jobs:\n    promo/long: {runMs: 3000}\n')"
    stages_up promoter monitor trigger policy watcher
    track "$SHA1"
    wait_for 30 jenkins_running
    track "$SHA2"
    wait_state 60 done staging
    # Argo CD: nothing ever at the old SHA, the target patched and synced once at the new one
    [ -z "$(jq -c --arg s "$SHA1" 'select(.system == "argocd" and .method != "GET" and (tostring | contains($s)))' "$T/requests.ndjson")" ]
    [ "$(argocd_requests PATCH shop-staging | jq -s 'map(select(.status == 200)) | length')" = 1 ]
    [ "$(argocd_requests POST shop-staging | jq -r 'select(.status == 200) | .body.revision')" = "$SHA2" ]
    # the record and the audit log know of the new SHA only
    [ "$(jq -r '[.promotions[].headSHA] | unique | join(" ")' "$T/state/promoter/acme-shop-1.json")" = "$SHA2" ]
    [ "$(promoctl events --json --tracker acme-shop-1 | jq -r 'select(.reason == "Promoted") | .message' | grep -c 'at 89abcde')" = 1 ]
    [ "$(promoctl events --json --tracker acme-shop-1 | jq -r 'select(.reason == "Promoted") | .message' | grep -c 'at 0123456')" = 0 ]
    [ "$(mon .headSHA)" = "$SHA2" ]
    [ "$(mon .hops.dev.revisionCheck.revision)" = "$SHA2" ]
}

@test "a new head SHA: an approval given for the old SHA never promotes the new one" {
    policy false
    sim_up
    stages_up monitor trigger policy watcher        # no promoter yet: the approval waits
    track "$SHA1"
    wait_state 60 awaiting-approval dev
    run promoctl approve acme-shop-1 --sha "$SHA1" --by alice
    assert_success
    [ "$(jq -r .headSHA "$T/state/approvals/acme-shop-1.json")" = "$SHA1" ]
    track "$SHA2"                                   # a new commit before anyone promoted
    run promoctl approve acme-shop-1 --sha "$SHA1" --by alice
    [ "$status" -eq 100 ]
    assert_output --partial "moved on"
    stages_up promoter
    wait_for 60 sh -c "[ \"\$(jq -r '.headSHA + \" \" + (.hops.dev.phase // \"\")' '$T/state/promoter/acme-shop-1.json' 2>/dev/null)\" = '$SHA2 awaiting-approval' ]"
    sleep 3                                         # resyncs come and go: still waiting
    state_is awaiting-approval dev
    [ -z "$(jq -c 'select(.system == "argocd" and .method != "GET")' "$T/requests.ndjson")" ]
    [ "$(events Promoted)" = 0 ]
    # approving the new SHA promotes it (the test above could fail)
    run promoctl approve acme-shop-1 --sha "$SHA2" --by bob
    assert_success
    wait_state 60 done staging
    [ "$(argocd_requests POST shop-staging | jq -r 'select(.status == 200) | .body.revision')" = "$SHA2" ]
    [[ "$(jq -r '.promotions[0].promotedBy' "$T/state/promoter/acme-shop-1.json")" == *bob* ]]
    [ "$(jq -r '.promotions[0].headSHA' "$T/state/promoter/acme-shop-1.json")" = "$SHA2" ]
}
