#!/usr/bin/env bats
# promoter.bats - promo-promoter: the command line; and standalone runs
# against promo-sim (Argo CD and GitHub) fed with hand-built messages on
# stdin and hand-built tracker, trigger, monitor and approvals records, so
# nothing here depends on the other stages: a promotion done exactly once
# (also when the message comes again and after crashes at several crash
# points), a required failure reported, the approval path, a stale message,
# and Argo CD busy with another operation on the first sync.

load 'helpers'
bats_require_minimum_version 1.5.0

NAME=acme-shop-42
APP=shop-staging

setup() {
    promo_setup
    printf 'sekrit\n' > "$T/token"
    chmod 600 "$T/token"
    SHA="$(sha_of 42)"
}

teardown() {
    promo_teardown
}

# start_sim [SCENARIO-FILE] - promo-sim on a free port; Argo CD and GitHub
# of promo.yaml point at it. $SIM is its base URL.
start_sim() {
    promo_start sim env ${SIM_ENV:-} promo-sim --listen 127.0.0.1:0 --port-file "$T/sim.port" ${1:+--scenario "$1"}
    wait_for 10 test -s "$T/sim.port"
    SIM="http://127.0.0.1:$(cat "$T/sim.port")"
    cat >> "$T/promo.yaml" <<YAML
github:
  apiUrl: $SIM/github
  tokenFile: $T/token
argocd:
  clusters:
    default:
      url: $SIM/argocd
      tokenFile: $T/token
YAML
}

# tracker_doc GEN SHA - the tracker document, in dev, testing.
tracker_doc() {
    jq -nc --argjson g "$1" --arg sha "$2" --arg n "$NAME" \
        '{apiVersion:"promo.dev/v1alpha1",kind:"PullRequestTracker",
          metadata:{name:$n,generation:$g,creationTimestamp:"2026-11-28T04:00:00Z"},
          spec:{repository:"acme/shop",number:42,headSHA:$sha,headRef:"feature/cart",
                application:"shop",environment:"dev"},
          status:{environment:"dev",state:"testing"}}'
}

# policy_doc AUTO - the dev-to-staging policy (autoPromote AUTO); $ARGO (a
# JSON object) is merged into its spec.promotion.argocd.
policy_doc() {
    jq -nc --argjson auto "$1" --arg app "$APP" --argjson argo "${ARGO:-"{}"}" \
        '{apiVersion:"promo.dev/v1alpha1",kind:"PromotionPolicy",metadata:{name:"dev-to-staging"},
          spec:{sourceEnvironment:"dev",targetEnvironment:"staging",autoPromote:$auto,timeout:"1h",
                externalTests:[{name:"smoke",provider:"jenkins",job:"promo/smoke"},
                               {name:"lint",provider:"gitlab",job:"acme/shop",required:false}],
                promotion:{argocd:({application:$app} + $argo),
                           github:{addLabels:["promoted/${TARGET_ENV}"],removeLabels:["needs-promotion"],
                                   commitStatus:"promo/staging"}}}}'
}

# key TEST - a fixed idempotency key per test.
key() {
    printf 'pk-%s' "$(printf '%s' "$1" | sha1sum | cut -c1-24)"
}

# records GEN SHA SMOKE LINT [AUTO] - write the tracker, the trigger record
# and the monitor record: smoke (required) ended SMOKE, lint (optional) LINT.
records() {
    local gen="$1" sha="$2" smoke="$3" lint="$4" auto="${5:-true}"
    local all=true fail=false reasons='[]'
    [ "$smoke" = passed ] || { all=false; fail=true; reasons='["smoke: failed (FAILURE) http://ci.example/smoke/17/"]'; }
    [ "$lint" = passed ] || reasons="$(jq -c '. + ["lint (optional): failed"]' <<< "$reasons")"
    mkdir -p "$T/state/trackers" "$T/state/trigger" "$T/state/monitor"
    tracker_doc "$gen" "$sha" > "$T/state/trackers/$NAME.json"
    jq -nc --argjson g "$gen" --arg sha "$sha" --arg n "$NAME" --argjson auto "$auto" \
        --arg ks "$(key smoke)" --arg kl "$(key lint)" \
        '{name:$n,generation:$g,headSHA:$sha,hops:{dev:{source:"dev",target:"staging",policy:"dev-to-staging",
          autoPromote:$auto,tests:[
           {name:"smoke",provider:"jenkins",job:"promo/smoke",required:true,attempt:1,key:$ks,phase:"triggered",
            run:{id:"17",url:"http://ci.example/smoke/17/",api:"http://ci.example/smoke/17/api/json",status:"queued"},error:null},
           {name:"lint",provider:"gitlab",job:"acme/shop",required:false,attempt:1,key:$kl,phase:"triggered",
            run:{id:"9",url:"http://ci.example/lint/9/",api:"http://ci.example/lint/9",status:"queued"},error:null}]}}}' \
        > "$T/state/trigger/$NAME.json"
    jq -nc --argjson g "$gen" --arg sha "$sha" --arg n "$NAME" --arg ks "$(key smoke)" --arg kl "$(key lint)" \
        --arg smoke "$smoke" --arg lint "$lint" --argjson all "$all" --argjson fail "$fail" \
        --argjson reasons "$reasons" \
        '{name:$n,generation:$g,headSHA:$sha,hops:{dev:{source:"dev",target:"staging",policy:"dev-to-staging",
          tests:{smoke:{key:$ks,required:true,provider:"jenkins",status:$smoke,url:"http://ci.example/smoke/17/",durationMs:5300},
                 lint:{key:$kl,required:false,provider:"gitlab",status:$lint,url:"http://ci.example/lint/9/",durationMs:1200}},
          aggregate:{decided:true,allPassed:$all,anyFailed:$fail,anyRunning:false,anyTimeout:false,
                     optionalTestsFailed:($lint != "passed"),failureReasons:$reasons,decidedAt:"2026-11-28T04:31:00.000Z"}}}}' \
        > "$T/state/monitor/$NAME.json"
}

# message GEN SHA [AUTO] - the tracker message as promo-monitor sends it.
message() {
    local agg
    agg="$(jq -c '.hops.dev.aggregate + {source:"dev",target:"staging",policy:"dev-to-staging"}' \
        "$T/state/monitor/$NAME.json")"
    jq -nc --argjson g "$1" --arg n "$NAME" --argjson tr "$(tracker_doc "$1" "$2")" \
        --argjson pol "$(policy_doc "${3:-true}")" --argjson agg "$agg" \
        '{v:1,kind:"tracker",from:"promo-monitor",sent:"2026-11-28T04:31:00.000Z",name:$n,generation:$g,
          tracker:$tr,policy:$pol,aggregate:$agg}'
}

# promote [ENV...] - run promo-promoter once on $T/msg.ndjson (stderr to $T/promoter.log).
promote() {
    env "$@" timeout 60 promo-promoter --in - < "$T/msg.ndjson" 2>> "$T/promoter.log"
}

# requests SYSTEM METHOD PATH-PREFIX - how many such requests the sim received.
requests() {
    curl -fsS "$SIM/_sim/requests?system=$1&method=$2&path_prefix=$3" | jq length
}

# calls - requests the sim received for Argo CD and GitHub (not /_sim).
calls() {
    curl -fsS "$SIM/_sim/requests" | jq '[.[] | select(.system == "argocd" or .system == "github")] | length'
}

patches() { requests argocd PATCH "/argocd/api/v1/applications/$APP"; }
syncs() { requests argocd POST "/argocd/api/v1/applications/$APP/sync"; }
statuses() { requests github POST "/github/repos/acme/shop/statuses/$SHA"; }

# gh_post PATH JSON - what an earlier promoter (or a person) did on GitHub.
gh_post() {
    curl -fsS -X POST -H 'Authorization: Bearer sekrit' -H 'Content-Type: application/json' -d "$2" \
        "$SIM/github/repos/acme/shop/$1" > /dev/null
}

# audit_count REASON - events of that reason in the audit log.
audit_count() {
    [ -f "$T/state/audit.log" ] || { echo 0; return; }
    jq -s --arg r "$1" '[.[] | select(.reason == $r)] | length' "$T/state/audit.log"
}

# promotions - PromotionRecords in the promoter record.
promotions() {
    jq '.promotions | length' "$T/state/promoter/$NAME.json"
}

# sim_state - the sim's GitHub and Argo CD state.
sim_state() {
    curl -fsS "$SIM/_sim/state"
}

# check_promoted_once - the sim saw exactly one update and one sync at the
# SHA; one record, one Promoted event.
check_promoted_once() {
    [ "$(patches)" = 1 ]
    [ "$(syncs)" = 1 ]
    curl -fsS "$SIM/_sim/requests?system=argocd&method=PATCH" | jq -e --arg sha "$SHA" \
        '.[0].body.patch | fromjson | .spec.source.targetRevision == $sha'
    curl -fsS "$SIM/_sim/requests?system=argocd&method=POST" | jq -e --arg sha "$SHA" \
        '[.[] | select(.path | endswith("/sync"))][0].body.revision == $sha'
    [ "$(promotions)" = 1 ]
    [ "$(audit_count Promoted)" = 1 ]
    jq -e '.hops.dev.phase == "done"' "$T/state/promoter/$NAME.json"
}

@test "promo-promoter --help describes it and exits 0" {
    run promo-promoter --help
    assert_success
    assert_output --partial "promote each tracker"
    assert_output --partial "--dry-run"
}

@test "promo-promoter: an unknown flag exits 100" {
    run promo-promoter --no-such-flag
    assert_equal "$status" 100
    assert_output --partial "unknown option"
}

@test "promo-promoter: a bad config exits 100" {
    printf 'stateDir: [unclosed\n' > "$T/bad.yaml"
    run promo-promoter -c "$T/bad.yaml" --in - < /dev/null
    assert_equal "$status" 100
}

@test "promo-promoter: all required passed -> one update, one sync, labels, status, comment, record, event; again changes nothing" {
    start_sim
    records 2 "$SHA" passed failed
    message 2 "$SHA" > "$T/msg.ndjson"
    run promote
    assert_success
    check_promoted_once
    sim_state > "$T/sim1.json"
    jq -e '.github.labels | tostring | contains("promoted/staging")' "$T/sim1.json"
    [ "$(requests github DELETE /github/repos/acme/shop/issues/42/labels/needs-promotion)" = 1 ]
    [ "$(statuses)" = 1 ]
    curl -fsS "$SIM/_sim/requests?system=github&method=POST&path_prefix=/github/repos/acme/shop/statuses/" |
        jq -e '.[0].body.state == "success" and .[0].body.context == "promo/staging" and
               .[0].body.target_url == "http://ci.example/smoke/17/"'
    [ "$(requests github POST /github/repos/acme/shop/issues/42/comments)" = 1 ]
    # a hop whose intent this process wrote looks nothing up before its steps
    [ "$(requests github GET /github/repos/acme/shop/issues/42/labels)" = 0 ]
    [ "$(requests github GET /github/repos/acme/shop/commits/)" = 0 ]
    jq -e '.github.comments | length == 1' "$T/sim1.json"
    jq -e '.github.comments[0].body | contains("<!-- promo:acme-shop-42 -->") and contains("smoke")' "$T/sim1.json"
    jq -e --arg sha "$SHA" '.promotions[0] | .outcome == "Promoted" and .sourceEnvironment == "dev" and
        .targetEnvironment == "staging" and .headSHA == $sha and .generation == 2 and
        .promotedBy == "promo-promoter" and .policy == "dev-to-staging" and (.key | startswith("pk-")) and
        (.testRuns | length == 2) and .testRuns[0].name == "smoke" and .testRuns[0].status == "passed"' \
        "$T/state/promoter/$NAME.json"
    jq -e '.hops.dev.steps | .argocdUpdated and .argocdSynced and .labels and .status and .comment and
        .recorded and .audited' "$T/state/promoter/$NAME.json"
    jq -se '[.[] | select(.reason == "Promoted")][0] | .type == "Normal" and
        (.message | test("^promoted dev -> staging at [0-9a-f]{7} \\(policy dev-to-staging, 1 test passed, optional tests failed: lint\\)$"))' \
        "$T/state/audit.log"
    n_before="$(calls)"
    # the same message again, twice (a restarted stage): nothing more is sent
    run promote
    assert_success
    run promote
    assert_success
    [ "$(calls)" = "$n_before" ]
    check_promoted_once
    # the tracker is now in staging (the view of domain/view.c): the dev hop's message is not for it
    grep -q 'event=not_this_hop' "$T/promoter.log"
}

@test "promo-promoter: a required failure -> failure status, comment, TestsFailed event, no Argo CD call" {
    start_sim
    records 2 "$SHA" failed passed
    message 2 "$SHA" > "$T/msg.ndjson"
    run promote
    assert_success
    [ "$(curl -fsS "$SIM/_sim/requests?system=argocd" | jq length)" = 0 ]
    curl -fsS "$SIM/_sim/requests?system=github&method=POST&path_prefix=/github/repos/acme/shop/statuses/" |
        jq -e 'length == 1 and .[0].body.state == "failure" and .[0].body.target_url == "http://ci.example/smoke/17/" and
               (.[0].body.description | contains("smoke"))'
    sim_state | jq -e '.github.comments | length == 1'
    [ "$(audit_count TestsFailed)" = 1 ]
    jq -se '[.[] | select(.reason == "TestsFailed")][0] | .type == "Warning" and (.message | contains("smoke: failed"))' \
        "$T/state/audit.log"
    # no promotion, but the failure has its record (outcome Failed, not promoted)
    jq -e '.hops.dev.phase == "failed" and .hops.dev.failure == "tests" and (.promotions | length == 1) and
        .promotions[0].outcome == "Failed" and .promotions[0].promoted == false' \
        "$T/state/promoter/$NAME.json"
    run promote
    assert_success
    [ "$(audit_count TestsFailed)" = 1 ]
    [ "$(statuses)" = 1 ]
    [ "$(audit_count Promoted)" = 0 ]
}

# run_urls SMOKE-URL LINT-URL - the run URLs of the two tests in the trigger
# and monitor records; smoke becomes an exec test (its URL a file:// log).
run_urls() {
    jq -c --arg s "$1" --arg l "$2" '.hops.dev.tests[0] |= (.provider = "exec" | .run.url = $s) |
        .hops.dev.tests[1].run.url = $l' "$T/state/trigger/$NAME.json" > "$T/trig.json"
    mv "$T/trig.json" "$T/state/trigger/$NAME.json"
    jq -c --arg s "$1" --arg l "$2" '.hops.dev.tests.smoke |= (.provider = "exec" | .url = $s) |
        .hops.dev.tests.lint.url = $l' "$T/state/monitor/$NAME.json" > "$T/mon.json"
    mv "$T/mon.json" "$T/state/monitor/$NAME.json"
}

@test "promo-promoter: a first test with a file:// URL (exec) -> the status links the first http(s) one" {
    start_sim
    records 2 "$SHA" passed passed
    run_urls "file://$T/runs/smoke/output.log" "http://ci.example/lint/9/"
    message 2 "$SHA" > "$T/msg.ndjson"
    run promote
    assert_success
    check_promoted_once
    curl -fsS "$SIM/_sim/requests?system=github&method=POST&path_prefix=/github/repos/acme/shop/statuses/" |
        jq -e 'length == 1 and .[0].body.state == "success" and .[0].body.target_url == "http://ci.example/lint/9/"'
    jq -e '.hops.dev.steps.status == true and (.hops.dev.githubErrors // {} | has("status") | not)' \
        "$T/state/promoter/$NAME.json"
}

@test "promo-promoter: no test with an http(s) URL -> the status is sent without target_url" {
    start_sim
    records 2 "$SHA" failed passed
    run_urls "file://$T/runs/smoke/output.log" ""
    message 2 "$SHA" > "$T/msg.ndjson"
    run promote
    assert_success
    curl -fsS "$SIM/_sim/requests?system=github&method=POST&path_prefix=/github/repos/acme/shop/statuses/" |
        jq -e 'length == 1 and .[0].body.state == "failure" and (.[0].body | has("target_url") | not)'
    jq -e '.hops.dev.steps.status == true' "$T/state/promoter/$NAME.json"
}

@test "promo-promoter: autoPromote false waits for approval, then promotes naming the approver" {
    start_sim
    records 2 "$SHA" passed passed false
    message 2 "$SHA" false > "$T/msg.ndjson"
    run promote
    assert_success
    jq -e '.hops.dev.phase == "awaiting-approval" and .hops.dev.statusPending == true' "$T/state/promoter/$NAME.json"
    [ "$(curl -fsS "$SIM/_sim/requests?system=argocd" | jq length)" = 0 ]
    [ "$(audit_count AwaitingApproval)" = 1 ]
    curl -fsS "$SIM/_sim/requests?system=github&method=POST&path_prefix=/github/repos/acme/shop/statuses/" |
        jq -e 'length == 1 and .[0].body.state == "pending"'
    # again without an approval: still waiting, nothing more sent
    run promote
    assert_success
    [ "$(curl -fsS "$SIM/_sim/requests?system=argocd" | jq length)" = 0 ]
    [ "$(audit_count AwaitingApproval)" = 1 ]
    # an approval of another generation does not count
    mkdir -p "$T/state/approvals"
    jq -nc --arg n "$NAME" --arg sha "$SHA" \
        '{name:$n,generation:1,headSHA:$sha,hops:{dev:{approvedBy:"mallory",approvedAt:"2026-11-28T04:40:00.000Z"}}}' \
        > "$T/state/approvals/$NAME.json"
    run promote
    [ "$(curl -fsS "$SIM/_sim/requests?system=argocd" | jq length)" = 0 ]
    jq -nc --arg n "$NAME" --arg sha "$SHA" \
        '{name:$n,generation:2,headSHA:$sha,hops:{dev:{approvedBy:"alice",approvedAt:"2026-11-28T04:40:00.000Z"}}}' \
        > "$T/state/approvals/$NAME.json"
    run promote
    assert_success
    check_promoted_once
    jq -e '.promotions[0].promotedBy == "alice" and .hops.dev.approvedBy == "alice"' \
        "$T/state/promoter/$NAME.json"
}

@test "promo-promoter: a stale message (generation differs) does nothing" {
    start_sim
    records 3 "$SHA" passed passed
    message 2 "$SHA" > "$T/msg.ndjson"
    run promote
    assert_success
    [ "$(calls)" = 0 ]
    [ ! -e "$T/state/promoter/$NAME.json" ]
    grep -q 'event=stale' "$T/promoter.log"
    # a new head SHA with the same generation is stale too
    message 3 "$(sha_of 43)" > "$T/msg.ndjson"
    run promote
    [ "$(calls)" = 0 ]
}

@test "promo-promoter: monitor results for other test keys are not promoted" {
    start_sim
    records 2 "$SHA" passed passed
    jq -c '.hops.dev.tests.smoke.key = "pk-000000000000000000000000"' "$T/state/monitor/$NAME.json" > "$T/m.json"
    mv "$T/m.json" "$T/state/monitor/$NAME.json"
    message 2 "$SHA" > "$T/msg.ndjson"
    run promote
    assert_success
    [ "$(calls)" = 0 ]
    grep -q 'event=tests_unmatched' "$T/promoter.log"
}

@test "promo-promoter: --dry-run prints the decision and touches nothing" {
    start_sim
    records 2 "$SHA" passed passed
    message 2 "$SHA" > "$T/msg.ndjson"
    run -0 --separate-stderr promo-promoter --in - --dry-run < "$T/msg.ndjson"
    echo "$output" | jq -e --arg sha "$SHA" '.dryRun and .action == "promote" and .argocd.application == "shop-staging"
        and .argocd.revision == $sha and (.steps | index("argocdUpdated") != null)'
    [ "$(calls)" = 0 ]
    [ ! -e "$T/state/promoter/$NAME.json" ]
    [ ! -e "$T/state/audit.log" ]
}

# crash_then_restart POINT - crash once at POINT, restart with the same message.
crash_then_restart() {
    start_sim
    records 2 "$SHA" passed passed
    message 2 "$SHA" > "$T/msg.ndjson"
    run promote PROMO_CRASH_AT="$1" PROMO_CRASH_ONCE="$T/crashed"
    assert_equal "$status" 111
    [ -e "$T/crashed" ]
    grep -q "point=$1" "$T/promoter.log"
    run promote PROMO_CRASH_AT="$1" PROMO_CRASH_ONCE="$T/crashed"
    assert_success
    check_promoted_once
    [ "$(statuses)" -ge 1 ]
    sim_state | jq -e '.github.comments | length == 1'
}

# resume_after STEPS... - crash after the sync, then mark STEPS done in the
# record: an earlier process got that far and was killed before the next
# step it did (set up by the caller on the sim) was on disk.
resume_after() {
    start_sim
    records 2 "$SHA" passed passed
    message 2 "$SHA" > "$T/msg.ndjson"
    run promote PROMO_CRASH_AT=promoter.after_argocd_sync PROMO_CRASH_ONCE="$T/crashed"
    assert_equal "$status" 111
    jq --args '.hops.dev.steps += (reduce $ARGS.positional[] as $s ({}; .[$s] = true))' "$@" \
        < "$T/state/promoter/$NAME.json" > "$T/rec"
    mv "$T/rec" "$T/state/promoter/$NAME.json"
}

@test "promo-promoter: resumed after a crash, labels already on the PR are looked up, not added again" {
    resume_after argocdSynced
    gh_post issues/42/labels '{"labels":["Promoted/Staging"]}'
    run promote
    assert_success
    check_promoted_once
    [ "$(requests github POST /github/repos/acme/shop/issues/42/labels)" = 1 ]
    [ "$(requests github GET /github/repos/acme/shop/issues/42/labels)" = 1 ]
    grep -q 'event=github_present .*step=labels' "$T/promoter.log"
    # the removal still happens; the next steps are sent without a lookup
    [ "$(requests github DELETE /github/repos/acme/shop/issues/42/labels/needs-promotion)" = 1 ]
    [ "$(statuses)" = 1 ]
    [ "$(requests github GET /github/repos/acme/shop/commits/)" = 0 ]
    [ "$(requests github POST /github/repos/acme/shop/issues/42/comments)" = 1 ]
    jq -e '.hops.dev.steps | .labels and .status and .comment' "$T/state/promoter/$NAME.json"
}

@test "promo-promoter: resumed after a crash, the status already set is looked up (past a page of others), not set again" {
    resume_after argocdSynced labels
    gh_post "statuses/$SHA" '{"state":"success","context":"promo/staging","description":"promoted dev -> staging: 2 tests"}'
    for i in $(seq 100); do
        gh_post "statuses/$SHA" '{"state":"pending","context":"ci/other"}'
    done
    run promote
    assert_success
    check_promoted_once
    [ "$(statuses)" = 101 ]
    [ "$(requests github GET "/github/repos/acme/shop/commits/$SHA/statuses")" = 2 ]
    grep -q 'event=github_present .*step=status' "$T/promoter.log"
    [ "$(requests github POST /github/repos/acme/shop/issues/42/comments)" = 1 ]
    jq -e '.hops.dev.steps | .status and .comment and .recorded' "$T/state/promoter/$NAME.json"
}

@test "promo-promoter: resumed after a crash, a status that says something else is set again" {
    resume_after argocdSynced labels
    gh_post "statuses/$SHA" '{"state":"pending","context":"promo/staging","description":"promoted dev -> staging: 2 tests"}'
    run promote
    assert_success
    check_promoted_once
    [ "$(statuses)" = 2 ]
    [ "$(requests github GET "/github/repos/acme/shop/commits/$SHA/statuses")" = 1 ]
    run ! grep -q 'event=github_present' "$T/promoter.log"
    curl -fsS -H 'Authorization: Bearer sekrit' "$SIM/github/repos/acme/shop/commits/$SHA/status" |
        jq -e '.statuses[] | select(.context == "promo/staging") | .state == "success"'
}

@test "promo-promoter: resumed after a crash, a lookup GitHub refuses for good: the step is sent anyway, the promotion goes on" {
    SIM_ENV=PROMO_SIM_GITHUB_TOKEN=another-token resume_after argocdSynced
    run promote
    assert_success
    check_promoted_once
    grep -q 'event=github_lookup_failed .*step=labels' "$T/promoter.log"
    [ "$(requests github GET /github/repos/acme/shop/issues/42/labels)" = 1 ]
    [ "$(requests github POST /github/repos/acme/shop/issues/42/labels)" = 1 ]
    jq -e '.hops.dev.githubErrors | has("labels") and has("status") and has("comment")' \
        "$T/state/promoter/$NAME.json"
}

@test "promo-promoter: crash after the Argo CD update, restart -> promoted once" {
    crash_then_restart promoter.after_argocd_update
}

@test "promo-promoter: crash after the record, restart -> promoted once" {
    crash_then_restart promoter.after_record
}

@test "promo-promoter: crash after the audit event, restart -> promoted once" {
    crash_then_restart promoter.after_audit
}

@test "promo-promoter: crash after the sync, restart -> promoted once" {
    crash_then_restart promoter.after_argocd_sync
}

@test "promo-promoter: Argo CD busy with another operation on the first sync -> retried, promoted" {
    cat > "$T/scenario.yaml" <<YAML
argocd:
  applications:
    $APP:
      syncDelay: 1500ms
YAML
    start_sim "$T/scenario.yaml"
    records 2 "$SHA" passed passed
    message 2 "$SHA" > "$T/msg.ndjson"
    curl -fsS -X POST -H 'Authorization: Bearer sekrit' -H 'Content-Type: application/json' \
        -d "{\"name\":\"$APP\",\"revision\":\"HEAD\"}" "$SIM/argocd/api/v1/applications/$APP/sync" > /dev/null
    run promote
    assert_success
    [ "$(syncs)" -ge 3 ]      # ours refused at least once, then accepted
    curl -fsS "$SIM/_sim/requests?system=argocd&method=POST" |
        jq -e '[.[] | select(.path | endswith("/sync")) | .status] | .[1] == 400 and .[-1] == 200'
    grep -q 'event=step_retry.*another operation' "$T/promoter.log"
    [ "$(promotions)" = 1 ]
    [ "$(audit_count Promoted)" = 1 ]
    jq -e '.hops.dev.phase == "done" and .hops.dev.attempts == 0 and .hops.dev.lastError == null' "$T/state/promoter/$NAME.json"
}

@test "promo-promoter: GitHub refusing for good does not block the Argo CD promotion" {
    SIM_ENV=PROMO_SIM_GITHUB_TOKEN=another-token start_sim
    records 2 "$SHA" passed passed
    message 2 "$SHA" > "$T/msg.ndjson"
    run promote
    assert_success
    check_promoted_once
    jq -e '(.hops.dev.lastError | test("authentication failed")) and
        (.hops.dev.githubErrors | has("labels") and has("status") and has("comment"))' \
        "$T/state/promoter/$NAME.json"
    grep -q 'event=github_failed' "$T/promoter.log"
}

@test "promo-promoter: an Argo CD application that cannot be found fails the hop once, with the reason" {
    printf 'argocd:\n  autoCreate: false\n' > "$T/scenario.yaml"
    start_sim "$T/scenario.yaml"
    records 2 "$SHA" passed passed
    message 2 "$SHA" > "$T/msg.ndjson"
    run promote
    assert_success
    jq -e '.hops.dev.phase == "failed" and .hops.dev.failure == "promotion" and
        (.hops.dev.lastError | test("not found"))' "$T/state/promoter/$NAME.json"
    [ "$(audit_count PromotionFailed)" = 1 ]
    [ "$(requests github POST /github)" = 0 ]
    grep -q 'event=promotion_failed' "$T/promoter.log"
    run promote
    assert_success
    [ "$(audit_count PromotionFailed)" = 1 ]
    [ "$(requests argocd GET /argocd)" = 1 ]
    # promoctl retry: a retry request later than the failure starts it again
    mkdir -p "$T/state/approvals"
    jq -nc --arg n "$NAME" --arg sha "$SHA" --arg at "$(date -u -d '+1 min' +%Y-%m-%dT%H:%M:%S.000Z)" \
        '{name:$n,generation:2,headSHA:$sha,hops:{dev:{retry:{attempt:2,requestedBy:"bob",requestedAt:$at}}}}' > "$T/state/approvals/$NAME.json"
    run promote
    [ "$(requests argocd GET /argocd)" = 2 ]
}

# add_timed_out_e2e - a third test, e2e (required), that timed out: in the
# trigger and monitor records and in the aggregate.
add_timed_out_e2e() {
    jq -c --arg k "$(key e2e)" '.hops.dev.tests += [{name:"e2e",provider:"jenkins",job:"promo/e2e",required:true,
        attempt:1,key:$k,phase:"triggered",run:{id:"5",url:"http://ci.example/e2e/5/",api:"http://ci.example/e2e/5/api/json",
        status:"running"},error:null}]' "$T/state/trigger/$NAME.json" > "$T/trig.json"
    mv "$T/trig.json" "$T/state/trigger/$NAME.json"
    jq -c --arg k "$(key e2e)" '.hops.dev.tests.e2e = {key:$k,required:true,provider:"jenkins",status:"timed-out",
        timedOut:true,url:"http://ci.example/e2e/5/",durationMs:null} |
        .hops.dev.aggregate.anyTimeout = true |
        .hops.dev.aggregate.failureReasons += ["e2e: timed out (test timeout 30m) http://ci.example/e2e/5/"]' \
        "$T/state/monitor/$NAME.json" > "$T/mon.json"
    mv "$T/mon.json" "$T/state/monitor/$NAME.json"
}

@test "promo-promoter: a required failure -> one Failed PromotionRecord naming the failed and timed-out tests; promoctl shows it" {
    start_sim
    records 2 "$SHA" failed failed
    add_timed_out_e2e
    message 2 "$SHA" > "$T/msg.ndjson"
    run promote
    assert_success
    jq -e --arg sha "$SHA" '.promotions | length == 1 and (.[0] |
        .outcome == "Failed" and .promoted == false and .failure == "tests" and .headSHA == $sha and
        .generation == 2 and .sourceEnvironment == "dev" and .targetEnvironment == "staging" and
        .promotedAt == null and .promotedBy == null and .recordedBy == "promo-promoter" and
        (.recordedAt | test("^2[0-9-]+T")) and .policy == "dev-to-staging" and (.key | startswith("pk-")) and
        .testResults.requiredFailed == ["smoke"] and .testResults.requiredTimedOut == ["e2e"] and
        .testResults.optionalFailed == ["lint"] and .testResults.anyFailed and .testResults.anyTimeout and
        .testResults.allPassed == false and .testResults.optionalTestsFailed and
        (.testResults.failureReasons | length == 3) and
        .error == "required tests failed: smoke; timed out: e2e" and (.testRuns | length == 3))' \
        "$T/state/promoter/$NAME.json"
    # its key is the hop's, and it is written with the last reporting step
    jq -e '.promotions[0].key == .hops.dev.key and .hops.dev.steps.audited' "$T/state/promoter/$NAME.json"
    # once per hop key: the same message again appends nothing
    run promote
    assert_success
    [ "$(promotions)" = 1 ]
    run promoctl show "$NAME"
    assert_success
    assert_output --partial "outcome        failed: required tests failed: smoke; timed out: e2e"
    assert_output --partial "Outcomes:"
    run promoctl get "$NAME" -o json
    assert_success
    echo "$output" | jq -e '.status.state == "failed" and (.status.promotions | length == 1) and
        .status.promotions[0].outcome == "Failed" and
        ([.status.conditions[] | select(.type == "Failed")][0] | .status == "True" and .reason == "TestsFailed") and
        ([.status.conditions[] | select(.type == "TestsPassed")][0].status == "False") and
        ([.status.testRuns[] | select(.name == "e2e")][0] | .result == "timed-out" and .runId == "5")'
}

@test "promo-promoter: a failed promotion -> Failed (promotion); promoctl retry that succeeds -> Promoted too, the failure kept" {
    printf 'argocd:\n  autoCreate: false\n  applications:\n    shop-staging: {}\n' > "$T/scenario.yaml"
    start_sim "$T/scenario.yaml"
    records 2 "$SHA" passed passed
    APP=shop-missing message 2 "$SHA" > "$T/msg.ndjson"
    run promote
    assert_success
    jq -e '.hops.dev.phase == "failed" and .hops.dev.failure == "promotion" and (.promotions | length == 1) and
        (.promotions[0] | .outcome == "Failed" and .failure == "promotion" and .promoted == false and
         (.error | test("permission denied|not found")) and .error == $rec.hops.dev.lastError and
         .testResults.requiredFailed == [] and (.testRuns | length == 2))' \
        --argjson rec "$(cat "$T/state/promoter/$NAME.json")" "$T/state/promoter/$NAME.json"
    run promote
    assert_success
    [ "$(promotions)" = 1 ]
    # promoctl retry, then the application the policy now names exists
    mkdir -p "$T/state/approvals"
    jq -nc --arg n "$NAME" --arg sha "$SHA" --arg at "$(date -u -d '+1 min' +%Y-%m-%dT%H:%M:%S.000Z)" \
        '{name:$n,generation:2,headSHA:$sha,hops:{dev:{retry:{attempt:2,requestedBy:"bob",requestedAt:$at}}}}' \
        > "$T/state/approvals/$NAME.json"
    message 2 "$SHA" > "$T/msg.ndjson"
    run promote
    assert_success
    jq -e '[.promotions[].outcome] == ["Failed", "Promoted"] and .promotions[0].key == .promotions[1].key and
        .promotions[1].promoted and .promotions[1].error == null and .promotions[1].failure == null and
        .hops.dev.phase == "done"' "$T/state/promoter/$NAME.json"
    [ "$(audit_count Promoted)" = 1 ]
    [ "$(audit_count PromotionFailed)" = 1 ]
}

@test "promo-promoter: a new generation while a hop awaits approval -> Superseded naming the new SHA, then the new one is Promoted" {
    start_sim
    records 2 "$SHA" passed passed false
    message 2 "$SHA" false > "$T/msg.ndjson"
    run promote
    assert_success
    jq -e '.hops.dev.phase == "awaiting-approval" and (.promotions | length == 0)' "$T/state/promoter/$NAME.json"
    old_key="$(jq -r .hops.dev.key "$T/state/promoter/$NAME.json")"
    SHA3="$(sha_of 43)"
    records 3 "$SHA3" passed passed
    message 3 "$SHA3" > "$T/msg.ndjson"
    run promote
    assert_success
    jq -e --arg old "$SHA" --arg new "$SHA3" --arg k "$old_key" '[.promotions[].outcome] == ["Superseded", "Promoted"] and
        (.promotions[0] | .headSHA == $old and .generation == 2 and .key == $k and .promoted == false and
         .supersededBy.headSHA == $new and .supersededBy.generation == 3 and
         (.error | startswith("superseded by " + $new[0:7])) and (.testRuns | length == 2)) and
        (.promotions[1] | .headSHA == $new and .generation == 3) and .generation == 3 and .hops.dev.phase == "done"' \
        "$T/state/promoter/$NAME.json"
    grep -q 'event=hop_superseded' "$T/promoter.log"
    run promoctl show "$NAME"
    assert_success
    assert_output --partial "superseded by ${SHA3:0:7} (generation 3)"
    # get -o yaml is real YAML: parsed back, it is get -o json
    run --separate-stderr promoctl get "$NAME" -o yaml
    assert_success
    printf '%s\n' "$output" > "$T/get.yaml"
    python3 -c 'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' "$T/get.yaml" > "$T/get.yaml.json"
    promoctl get "$NAME" -o json > "$T/get.json"
    jq -e --slurpfile y "$T/get.yaml.json" '. == $y[0]' "$T/get.json"
    jq -e --arg new "$SHA3" '.apiVersion == "promo.dev/v1alpha1" and .kind == "PullRequestTracker" and
        .metadata.generation == 3 and .spec.headSHA == $new and .status.environment == "staging" and
        .status.state == "deploying" and ([.status.promotions[].outcome] == ["Superseded", "Promoted"]) and
        ([.status.conditions[] | select(.type == "Promoted")][0] | .status == "True" and (.lastTransitionTime | type == "string"))' \
        "$T/get.json"
}

# ---- Argo CD update strategies (spec.promotion.argocd.update, source, project, appNamespace) ----

# argo_once SCENARIO-YAML - start the sim on SCENARIO-YAML, promote with a
# crash right after the Argo CD update, then again: promoted once.
argo_once() {
    printf '%s\n' "$1" > "$T/scenario.yaml"
    start_sim "$T/scenario.yaml"
    records 2 "$SHA" passed passed
    message 2 "$SHA" > "$T/msg.ndjson"
    run promote PROMO_CRASH_AT=promoter.after_argocd_update PROMO_CRASH_ONCE="$T/crashed"
    assert_equal "$status" 111
    grep -q "point=promoter.after_argocd_update" "$T/promoter.log"
    run promote PROMO_CRASH_AT=promoter.after_argocd_update PROMO_CRASH_ONCE="$T/crashed"
    assert_success
    [ "$(patches)" = 1 ]
    [ "$(syncs)" = 1 ]
    [ "$(promotions)" = 1 ]
    [ "$(audit_count Promoted)" = 1 ]
    jq -e '.hops.dev.phase == "done" and .hops.dev.steps.argocdUpdated and .hops.dev.steps.argocdSynced' \
        "$T/state/promoter/$NAME.json"
    grep -q 'event=argocd_has_change' "$T/promoter.log"
    # the sync names no revision: the application's own target revision(s)
    curl -fsS "$SIM/_sim/requests?system=argocd&method=POST" | jq -e '.[0].body | has("revision") | not'
}

# patch_body - the sim's one PATCH request body.
patch_body() {
    curl -fsS "$SIM/_sim/requests?system=argocd&method=PATCH" | jq -c '.[0].body'
}

# app_state - the application as the sim holds it now.
app_state() {
    sim_state | jq -c --arg a "$APP" '.argocd.applications[] | select(.metadata.name == $a)'
}

# every_call_names PROJECT NAMESPACE - every Argo CD request carried both
# (GET in its query, PATCH and POST in the body).
every_call_names() {
    curl -fsS "$SIM/_sim/requests?system=argocd" | jq -e --arg p "$1" --arg n "$2" \
        'length > 0 and all(.[]; (.query.project == $p and .query.appNamespace == $n) or
                                  (.body.project == $p and .body.appNamespace == $n))'
}

@test "promo-promoter: kustomizeImage with project and appNamespace -> a JSON patch of the image entry, once across a crash" {
    ARGO='{"project":"shop","appNamespace":"team-apps","update":{"kustomizeImage":{"image":"ghcr.io/acme/shop","tag":"pr-${PR_NUMBER}-${SHORT_SHA}"}}}'
    argo_once "argocd:
  autoCreate: false
  applications:
    $APP:
      namespace: team-apps
      project: shop
      path: envs/staging
      kustomize: {images: [\"redis:7\", \"ghcr.io/acme/shop:old\"]}"
    tag="pr-42-${SHA:0:7}"
    patch_body | jq -e --arg tag "$tag" '.patchType == "json" and .name == "shop-staging" and
        .project == "shop" and .appNamespace == "team-apps" and
        (.patch | fromjson | length == 2 and .[0].op == "test" and .[0].path == "/spec/source" and
         .[0].value.kustomize.images == ["redis:7", "ghcr.io/acme/shop:old"] and
         .[1].op == "replace" and .[1].path == "/spec/source" and
         .[1].value.kustomize.images == ["redis:7", ("ghcr.io/acme/shop:" + $tag)] and
         .[1].value.targetRevision == "HEAD" and .[1].value.path == "envs/staging")'
    app_state | jq -e --arg tag "$tag" '.spec.source.kustomize.images == ["redis:7", ("ghcr.io/acme/shop:" + $tag)] and
        .spec.source.targetRevision == "HEAD"'
    every_call_names shop team-apps
    jq -e '.hops.dev.argocd | .project == "shop" and .appNamespace == "team-apps" and
        .update == "kustomizeImage" and (.specDigest | test("^fnv1a64:[0-9a-f]{16}$"))' "$T/state/promoter/$NAME.json"
}

@test "promo-promoter: helmParameter of source 1 of a multi-source application -> that source's list replaced whole, once across a crash" {
    ARGO='{"source":1,"update":{"helmParameter":{"name":"image.tag","value":"${HEAD_SHA}"}}}'
    argo_once "argocd:
  autoCreate: false
  applications:
    $APP:
      sources:
        - {repoURL: https://git.example.com/cfg.git, path: envs/staging, targetRevision: main}
        - repoURL: https://charts.example.com
          chart: shop
          targetRevision: 1.2.0
          helm:
            parameters:
              - {name: image.tag, value: old, forceString: true}
              - {name: replicas, value: \"2\"}"
    patch_body | jq -e --arg sha "$SHA" '.patchType == "json" and (has("project") | not) and
        (.patch | fromjson | .[0].op == "test" and .[0].path == "/spec/sources/1" and
         .[1].path == "/spec/sources/1" and
         .[1].value.helm.parameters == [{name:"image.tag",value:$sha,forceString:true},{name:"replicas",value:"2"}])'
    app_state | jq -e --arg sha "$SHA" '(.spec | has("source") | not) and
        .spec.sources[0] == {repoURL:"https://git.example.com/cfg.git",path:"envs/staging",targetRevision:"main"} and
        .spec.sources[1].helm.parameters[0] == {name:"image.tag",value:$sha,forceString:true}'
    # the sync runs each source at its targetRevision; then comparedTo is the spec's sources
    sleep 0.4
    curl -fsS -H 'Authorization: Bearer sekrit' "$SIM/argocd/api/v1/applications/$APP" | jq -e '
        .status.sync.status == "Synced" and .status.sync.revisions == ["main", "1.2.0"] and
        .status.sync.comparedTo.sources == .spec.sources and .status.operationState.phase == "Succeeded" and
        .status.operationState.operation.sync.revisions == ["main", "1.2.0"]'
    jq -e '.hops.dev.argocd | .update == "helmParameter" and .source == 1' "$T/state/promoter/$NAME.json"
}

@test "promo-promoter: targetRevision of source 1 -> a JSON patch of that source only, a sync without revision" {
    ARGO='{"source":1}'
    argo_once "argocd:
  applications:
    $APP:
      sources:
        - {repoURL: https://charts.example.com, chart: shop, targetRevision: 1.2.0}
        - {repoURL: https://git.example.com/cfg.git, path: envs/staging, targetRevision: main}"
    patch_body | jq -e --arg sha "$SHA" '.patchType == "json" and
        (.patch | fromjson | .[1].path == "/spec/sources/1" and .[1].value.targetRevision == $sha)'
    app_state | jq -e --arg sha "$SHA" '.spec.sources[1].targetRevision == $sha and .spec.sources[0].targetRevision == "1.2.0"'
}

@test "promo-promoter: mergePatch -> the template expanded with JSON escapes, sent as a merge patch, once across a crash" {
    ARGO='{"update":{"mergePatch":"{\"spec\":{\"source\":{\"helm\":{\"valuesObject\":{\"image\":{\"tag\":\"${SHORT_SHA}\"},\"ref\":\"${HEAD_REF}\"}}}}}"}}'
    argo_once "argocd:
  applications:
    $APP:
      repoURL: https://git.example.com/shop.git
      path: chart"
    patch_body | jq -e --arg s "${SHA:0:7}" '.patchType == "merge" and
        (.patch | fromjson == {spec:{source:{helm:{valuesObject:{image:{tag:$s},ref:"feature/cart"}}}}})'
    app_state | jq -e --arg s "${SHA:0:7}" '.spec.source.helm.valuesObject.image.tag == $s and
        .spec.source.path == "chart" and .spec.source.targetRevision == "HEAD"'
}

@test "promo-promoter: a multi-source application and a policy naming no source -> the hop fails, nothing patched" {
    cat > "$T/scenario.yaml" <<YAML
argocd:
  applications:
    $APP:
      sources:
        - {repoURL: https://git.example.com/cfg.git, path: envs/staging, targetRevision: main}
YAML
    ARGO='{"update":{"kustomizeImage":{"image":"shop","tag":"${SHORT_SHA}"}}}'
    start_sim "$T/scenario.yaml"
    records 2 "$SHA" passed passed
    message 2 "$SHA" > "$T/msg.ndjson"
    run promote
    assert_success
    [ "$(patches)" = 0 ]
    jq -e '.hops.dev.phase == "failed" and (.hops.dev.lastError | test("multi-source application"))' \
        "$T/state/promoter/$NAME.json"
    [ "$(audit_count PromotionFailed)" = 1 ]
}

@test "promo-promoter: a project the application is not in -> 404 not found, the hop fails with the reason" {
    printf 'argocd:\n  autoCreate: false\n  applications:\n    %s: {project: shop}\n' "$APP" > "$T/scenario.yaml"
    ARGO='{"project":"other"}'
    start_sim "$T/scenario.yaml"
    records 2 "$SHA" passed passed
    message 2 "$SHA" > "$T/msg.ndjson"
    run promote
    assert_success
    curl -fsS "$SIM/_sim/requests?system=argocd" | jq -e '.[0].status == 404 and .[0].query.project == "other"'
    jq -e '.hops.dev.phase == "failed" and (.hops.dev.lastError | test("not found")) and
        .hops.dev.argocd.project == "other"' "$T/state/promoter/$NAME.json"
}

@test "promo-promoter: --dry-run names the update strategy and its expanded values, and sends nothing" {
    ARGO='{"project":"shop","appNamespace":"team-apps","source":1,"update":{"helmParameter":{"name":"image.tag","value":"${SHORT_SHA}"}}}'
    start_sim
    records 2 "$SHA" passed passed
    message 2 "$SHA" > "$T/msg.ndjson"
    run -0 --separate-stderr promo-promoter --in - --dry-run < "$T/msg.ndjson"
    echo "$output" | jq -e --arg s "${SHA:0:7}" '.argocd | .project == "shop" and .appNamespace == "team-apps" and
        .update == "helmParameter" and .source == 1 and .name == "image.tag" and .value == $s and .revision == ""'
    [ "$(calls)" = 0 ]
}

@test "promo-promoter: a kustomize tag that does not expand to a tag fails the hop before any Argo CD call" {
    ARGO='{"update":{"kustomizeImage":{"image":"shop","tag":"${HEAD_REF}"}}}'
    start_sim
    records 2 "$SHA" passed passed
    message 2 "$SHA" > "$T/msg.ndjson"
    run promote
    assert_success
    [ "$(requests argocd GET /argocd)" = 0 ]
    jq -e '.hops.dev.phase == "failed" and
        (.hops.dev.lastError | test("kustomizeImage.tag: \"feature/cart\" is not an image tag"))' \
        "$T/state/promoter/$NAME.json"
}
