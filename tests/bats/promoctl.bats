#!/usr/bin/env bats
# promoctl: command line, track/get/list, exit codes.

load helpers
bats_require_minimum_version 1.5.0

setup() { promo_setup; }
teardown() { promo_teardown; }

SHA1=0123456789abcdef0123456789abcdef01234567
SHA2=89abcdef0123456789abcdef0123456789abcdef

@test "promoctl --help prints usage and exits 0" {
    run promoctl --help
    assert_success
    assert_output --partial "usage: promoctl"
    assert_output --partial "track --repo OWNER/NAME"
}

@test "promoctl --version" {
    run promoctl --version
    assert_success
    assert_output --regexp '^promoctl [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "promoctl without a command is a usage error (100)" {
    run promoctl
    assert_failure 100
    assert_output --partial "missing COMMAND"
}

@test "promoctl with an unknown command or flag exits 100" {
    run promoctl frobnicate
    assert_failure 100
    assert_output --partial "unknown command"
    run promoctl --bogus list
    assert_failure 100
}

@test "promoctl with an invalid config exits 100 naming file, line and key" {
    printf 'stateDir: %s\nresyncIntervall: 5s\n' "$T/state" > "$T/bad.yaml"
    run promoctl -c "$T/bad.yaml" list
    assert_failure 100
    assert_output --partial "bad.yaml:2:"
    assert_output --partial "resyncIntervall"
}

@test "promoctl with a missing config file given by -c exits 100" {
    run promoctl -c "$T/nope.yaml" list
    assert_failure 100
}

@test "track creates a tracker at generation 1" {
    run promoctl track --repo acme/shop --pr 42 --sha "$SHA1" --env dev --app shop-dev --state synced
    assert_success
    assert_output --partial "tracker acme-shop-42 created: generation 1, synced in dev"
    assert_file_exists "$T/state/trackers/acme-shop-42.json"
    run promoctl get acme-shop-42 --json
    assert_success
    assert_output --partial '"apiVersion":	"promo.dev/v1alpha1"'
    assert_output --partial '"kind":	"PullRequestTracker"'
    [ "$(promoctl get acme-shop-42 --json | jq -r .metadata.generation)" = 1 ]
    [ "$(promoctl get acme-shop-42 --json | jq -r .spec.headSHA)" = "$SHA1" ]
    [ "$(promoctl get acme-shop-42 --json | jq -r .status.state)" = synced ]
}

@test "track with the same SHA keeps the generation; a new SHA bumps it and restarts" {
    promoctl track --repo acme/shop --pr 42 --sha "$SHA1" --env dev --app shop-dev
    promoctl track --repo acme/shop --pr 42 --sha "$SHA1" --env dev --app shop-dev --state synced
    [ "$(promoctl get acme-shop-42 --json | jq -r .metadata.generation)" = 1 ]
    [ "$(promoctl get acme-shop-42 --json | jq -r .status.state)" = synced ]
    run promoctl track --repo acme/shop --pr 42 --sha "$SHA2" --env dev --app shop-dev
    assert_success
    assert_output --partial "new head SHA"
    [ "$(promoctl get acme-shop-42 --json | jq -r .metadata.generation)" = 2 ]
    [ "$(promoctl get acme-shop-42 --json | jq -r .status.state)" = deploying ]
}

@test "track keeps fields it does not know" {
    promoctl track --repo acme/shop --pr 7 --sha "$SHA1" --env dev --app shop-dev
    f="$T/state/trackers/acme-shop-7.json"
    jq -c '.metadata.labels = {"team":"payments"}' "$f" > "$T/x" && mv "$T/x" "$f"
    promoctl track --repo acme/shop --pr 7 --sha "$SHA2" --env dev --app shop-dev
    [ "$(jq -r .metadata.labels.team "$f")" = payments ]
}

@test "track uppercase SHA is stored lowercase and a ref is kept" {
    run promoctl track --repo Acme/Shop.Web --pr 3 --sha "${SHA1^^}" --env dev --app web --ref feature/x
    assert_success
    assert_output --partial "acme-shop-web-3"
    [ "$(promoctl get acme-shop-web-3 --json | jq -r .spec.headSHA)" = "$SHA1" ]
    [ "$(promoctl get acme-shop-web-3 --json | jq -r .spec.headRef)" = feature/x ]
}

@test "track rejects bad input with exit 100 and writes nothing" {
    run promoctl track --repo acme --pr 1 --sha "$SHA1" --env dev --app a
    assert_failure 100; assert_output --partial "OWNER/NAME"
    run promoctl track --repo acme/shop --pr -1 --sha "$SHA1" --env dev --app a
    assert_failure 100; assert_output --partial "--pr"
    run promoctl track --repo acme/shop --pr 1x --sha "$SHA1" --env dev --app a
    assert_failure 100
    run promoctl track --repo acme/shop --pr 1 --sha xyz --env dev --app a
    assert_failure 100; assert_output --partial "hex"
    run promoctl track --repo acme/shop --pr 1 --sha "$SHA1" --env Dev --app a
    assert_failure 100
    run promoctl track --repo acme/shop --pr 1 --sha "$SHA1" --env dev --app a --state done
    assert_failure 100; assert_output --partial "deploying or synced"
    run promoctl track --repo acme/shop --pr 1 --sha "$SHA1" --env dev
    assert_failure 100; assert_output --partial "required"
    run promoctl track --repo acme/shop --pr 1 --sha "$SHA1" --env dev --app a extra
    assert_failure 100
    run ls "$T/state/trackers"
    refute_output --partial ".json"
}

@test "track takes PR numbers up to 2^31 (docs/state.md), refuses 2^31 + 1; every reader takes them" {
    run promoctl track --repo acme/shop --pr 2147483648 --sha "$SHA1" --env dev --app shop-dev --state synced
    assert_success
    assert_output --partial "tracker acme-shop-2147483648 created"
    [ "$(promoctl get acme-shop-2147483648 --json | jq -r .spec.number)" = 2147483648 ]
    run promoctl get acme-shop-2147483648
    assert_success
    assert_output --partial "Pull request: acme/shop#2147483648"
    run promoctl list
    assert_output --regexp 'acme-shop-2147483648 +dev +synced'
    run promo-watcher --once --out -
    assert_success
    [ "$(printf '%s\n' "$output" | grep '^{' | jq -r .tracker.spec.number)" = 2147483648 ]
    assert_file_exists "$T/state/trackers/acme-shop-2147483648.json"
    run promoctl track --repo acme/shop --pr 2147483649 --sha "$SHA1" --env dev --app shop-dev
    assert_failure 100
    assert_output --partial "--pr must be an integer in 1..2147483648, not '2147483649'"
    assert_file_not_exists "$T/state/trackers/acme-shop-2147483649.json"
}

@test "track refuses a --name that belongs to another PR" {
    promoctl track --repo acme/shop --pr 1 --sha "$SHA1" --env dev --app a --name shared
    run promoctl track --repo acme/shop --pr 2 --sha "$SHA1" --env dev --app a --name shared
    assert_failure 100
    assert_output --partial "belongs to acme/shop#1"
}

@test "get shows a tracker for people and says what it waits on" {
    promoctl track --repo acme/shop --pr 42 --sha "$SHA1" --env dev --app shop-dev
    run promoctl get acme-shop-42
    assert_success
    assert_output --partial "Pull request: acme/shop#42"
    assert_output --partial "generation 1"
    assert_output --partial "State:        deploying"
    assert_output --partial "Waiting on:   deployment of shop-dev in dev"
}

@test "get of an unknown tracker exits 100; a bad name is a usage error" {
    run promoctl get nope
    assert_failure 100
    assert_output --partial "no tracker named nope"
    run promoctl get ../etc/passwd
    assert_failure 100
    run promoctl get
    assert_failure 100
}

@test "get of a corrupt tracker quarantines it" {
    mkdir -p "$T/state/trackers"
    printf '{"apiVersion": "promo.dev/v1al' > "$T/state/trackers/torn.json"
    run promoctl get torn
    assert_failure 100
    assert_output --partial "invalid JSON at byte 16 of 30 (quarantined)"
    assert_file_not_exists "$T/state/trackers/torn.json"
    run sh -c "ls '$T/state/quarantine' | grep -c '^trackers.torn'"
    assert_output 2
}

@test "a tracker file whose metadata.name is not its file name: quarantined naming both, by every reader" {
    promoctl track --repo acme/shop --pr 1 --sha "$SHA1" --env dev --app shop-dev
    promoctl track --repo acme/shop --pr 2 --sha "$SHA1" --env dev --app shop-dev
    cp "$T/state/trackers/acme-shop-1.json" "$T/state/trackers/renamed.json"
    # get finds it under neither name
    run promoctl get acme-shop-1-nope
    assert_failure 100
    run promoctl get renamed
    assert_failure 100
    assert_output --partial 'metadata.name: "acme-shop-1" is not the name of its file trackers/renamed.json'
    assert_file_not_exists "$T/state/trackers/renamed.json"
    assert_file_exists "$T/state/trackers/acme-shop-1.json"
    run sh -c "cat '$T'/state/quarantine/trackers.renamed.*.reason"
    assert_output 'metadata.name: "acme-shop-1" is not the name of its file trackers/renamed.json'
    # list: named by its file, said invalid, quarantined; the others as ever
    cp "$T/state/trackers/acme-shop-2.json" "$T/state/trackers/moved.json"
    run promoctl list
    assert_success
    assert_output --regexp 'moved +- +- +- +invalid: metadata.name: "acme-shop-2" is not the name of its file trackers/moved.json'
    assert_output --regexp 'acme-shop-1 +dev +deploying'
    assert_output --regexp 'acme-shop-2 +dev +deploying'
    assert_file_not_exists "$T/state/trackers/moved.json"
    run sh -c "promoctl list --json | jq -r '.[].name' | tr '\n' ' '"
    assert_output "acme-shop-1 acme-shop-2 "
}

@test "list prints a table and --json an array" {
    promoctl track --repo acme/shop --pr 1 --sha "$SHA1" --env dev --app shop-dev --state synced
    promoctl track --repo acme/shop --pr 2 --sha "$SHA2" --env staging --app shop-staging
    run promoctl list
    assert_success
    assert_line --index 0 --regexp '^TRACKER +ENV +STATE +AGE +WAITING ON$'
    assert_output --regexp 'acme-shop-1 +dev +synced +[0-9]+s +promotion tests'
    assert_output --regexp 'acme-shop-2 +staging +deploying'
    run sh -c "promoctl list --json | jq -r '.[].name' | tr '\n' ' '"
    assert_output "acme-shop-1 acme-shop-2 "
}

@test "list on an empty state dir prints only the header" {
    run promoctl list
    assert_success
    assert_equal "${#lines[@]}" 1
    run promoctl list --json
    assert_output "[]"
}

# audit_line TRACKER REASON MESSAGE KEY - one audit event line.
audit_line() {
    jq -cn --arg t "$1" --arg r "$2" --arg m "$3" --arg k "$4" \
        '{time:"2026-11-28T04:30:00.000Z",tracker:$t,type:"Normal",reason:$r,message:$m,key:$k}'
}

@test "events prints the audit log as a table, as JSON, filtered by tracker" {
    { audit_line acme-shop-1 Promoted "dev -> staging" pk-1
      audit_line acme-shop-2 TestsFailed "lint failed" pk-2; } > "$T/state/audit.log"
    run promoctl events
    assert_success
    assert_line --index 0 --regexp '^TIME +TRACKER +TYPE +REASON +MESSAGE$'
    assert_output --regexp 'acme-shop-1 +Normal +Promoted +dev -> staging'
    run promoctl events --json --tracker acme-shop-2
    assert_success
    assert_equal "${#lines[@]}" 1
    [ "$(jq -r .reason <<<"$output")" = TestsFailed ]
}

@test "events skips a corrupt line with a warning and never prints it as an event" {
    { audit_line acme-shop-1 Promoted "ok" pk-1; echo '{"time":"torn'; } > "$T/state/audit.log"
    run promoctl events --json
    assert_success
    assert_output --partial "audit.log:2: not a JSON object"
    [ "$(promoctl events --json 2>/dev/null | wc -l)" = 1 ]
}

@test "events on a missing log prints only the header; -f follows appended events" {
    run promoctl events
    assert_success
    assert_equal "${#lines[@]}" 1
    promo_start follow promoctl events -f --json
    sleep 0.3
    audit_line acme-shop-9 Promoted "live" pk-9 >> "$T/state/audit.log"
    wait_for 3 grep -q '"tracker":"acme-shop-9"' "$T/follow.log"
}

# hop_records AUTO MONITOR_STATUS AGG - trigger and monitor records of
# acme-shop-7 (generation 1, $SHA1) for hop dev -> staging: smoke (required)
# with the given monitor status and aggregate; autoPromote AUTO.
hop_records() {
    local gen="${HOP_GEN:-1}" sha="${HOP_SHA:-$SHA1}"
    mkdir -p "$T/state/trigger" "$T/state/monitor"
    printf '{"name":"acme-shop-7","generation":%s,"headSHA":"%s","hops":{"dev":{"source":"dev","target":"staging","policy":"dev-to-staging","autoPromote":%s,"startedAt":"2026-11-28T04:30:00.000Z","tests":[{"name":"smoke","provider":"jenkins","required":true,"attempt":1,"key":"pk-000000000000000000000001","phase":"triggered","run":{"id":"3","url":"http://ci/job/smoke/3/","status":"queued"}}]}},"superseded":[]}\n' \
        "$gen" "$sha" "$1" > "$T/state/trigger/acme-shop-7.json"
    printf '{"name":"acme-shop-7","generation":%s,"headSHA":"%s","hops":{"dev":{"tests":{"smoke":{"key":"pk-000000000000000000000001","status":"%s","url":"http://ci/job/smoke/3/","durationMs":4200}},"aggregate":%s}}}\n' \
        "$gen" "$sha" "$2" "$3" > "$T/state/monitor/acme-shop-7.json"
}

track7() {
    promoctl track --repo acme/shop --pr 7 --sha "$SHA1" --env dev --app shop --state synced >/dev/null
}

@test "show: usage errors and an unknown tracker exit 100" {
    run promoctl show
    assert_failure 100
    assert_output --partial "expected one TRACKER"
    run promoctl show Not_A_Name
    assert_failure 100
    run promoctl show nobody-1
    assert_failure 100
    assert_output --partial "no tracker named nobody-1"
    run promoctl show nobody-1 --bogus
    assert_failure 100
}

@test "show prints the timeline of the hop with each test, and --json the hops" {
    track7
    hop_records true passed '{"decided":false}'
    run promoctl show acme-shop-7
    assert_success
    assert_output --partial "State:        testing"
    assert_output --partial "Timeline:"
    assert_output --partial "dev -> staging   policy dev-to-staging"
    assert_output --partial "tests started  2026-11-28T04:30:00.000Z"
    assert_line --regexp '^ +smoke +jenkins +yes +1 +passed +4\.2s +http://ci/job/smoke/3/'
    run promoctl show acme-shop-7 --json
    assert_success
    [ "$(jq -r '.view.hops[0].source + ">" + .view.hops[0].target' <<<"$output")" = "dev>staging" ]
    [ "$(jq -r '.view.hops[0].tests[0].durationMs' <<<"$output")" = "4200" ]
    [ "$(jq -r '.metadata.name' <<<"$output")" = "acme-shop-7" ]
}

@test "approve: only when awaiting approval (else 100 with the reason); records who, audits once" {
    track7
    run promoctl approve acme-shop-7 --by alice
    assert_failure 100
    assert_output --partial "not awaiting approval: it is synced in dev"
    [ ! -e "$T/state/approvals/acme-shop-7.json" ]
    hop_records false passed '{"decided":true,"allPassed":true,"anyFailed":false}'
    run promoctl list
    assert_output --partial "awaiting-approval"
    run promoctl approve acme-shop-7 --by alice
    assert_success
    assert_output --partial "approved by alice"
    run jq -r '.hops.dev.approvedBy + " " + (.generation|tostring) + " " + .headSHA' "$T/state/approvals/acme-shop-7.json"
    assert_output "alice 1 $SHA1"
    run promoctl events --json
    assert_success
    [ "$(jq -r 'select(.reason == "Approved") | .tracker' <<<"$output")" = "acme-shop-7" ]
    [ "$(jq -r 'select(.reason == "Approved") | .key' <<<"$output" | grep -c '^pk-[0-9a-f]\{24\}$')" = 1 ]
    run promoctl show acme-shop-7
    assert_output --partial "State:        promoting"
    assert_output --partial "approved       by alice"
    run promoctl approve acme-shop-7 --by bob
    assert_failure 100
    assert_output --partial "not awaiting approval"
    [ "$(grep -c '"Approved"' "$T/state/audit.log")" = 1 ]
}

@test "approve: --by defaults to \$SUDO_USER, then \$USER, then operator; bad --by is a usage error" {
    track7
    hop_records false passed '{"decided":true,"allPassed":true,"anyFailed":false}'
    run env -u SUDO_USER USER=carol promoctl approve acme-shop-7 --json
    assert_success
    [ "$(jq -r .approvedBy <<<"$output")" = "carol" ]
    [ "$(jq -r .source <<<"$output")" = "dev" ]
    rm "$T/state/approvals/acme-shop-7.json"
    run env SUDO_USER=dave USER=carol promoctl approve acme-shop-7 --json
    [ "$(jq -r .approvedBy <<<"$output")" = "dave" ]
    rm "$T/state/approvals/acme-shop-7.json"
    run env -u SUDO_USER -u USER promoctl approve acme-shop-7 --json
    [ "$(jq -r .approvedBy <<<"$output")" = "operator" ]
    run promoctl approve acme-shop-7 --by ""
    assert_failure 100
    run promoctl approve
    assert_failure 100
    run promoctl approve nobody-1
    assert_failure 100
}

@test "approve --sha: the head SHA (full, or a prefix of 7+ hex digits in any case) approves it" {
    track7
    hop_records false passed '{"decided":true,"allPassed":true,"anyFailed":false}'
    run promoctl approve acme-shop-7 --sha "$SHA1" --by alice --json
    assert_success
    [ "$(jq -r .headSHA <<<"$output")" = "$SHA1" ]
    run jq -r '.hops.dev.approvedBy + " " + .headSHA' "$T/state/approvals/acme-shop-7.json"
    assert_output "alice $SHA1"
    rm "$T/state/approvals/acme-shop-7.json"
    run promoctl approve acme-shop-7 --sha "$(printf '%s' "${SHA1:0:7}" | tr a-f A-F)" --by bob
    assert_success
    assert_output --partial "approved by bob"
    # not hex, or shorter than 7: a usage error
    run promoctl approve acme-shop-7 --sha 012345
    assert_failure 100
    assert_output --partial "at least 7 hex digits"
    run promoctl approve acme-shop-7 --sha xyz1234
    assert_failure 100
    run promoctl retry acme-shop-7 --sha "$SHA1"
    assert_failure 100
}

@test "approve --sha: a tracker that moved on to another commit is refused (100), nothing written" {
    track7
    hop_records false passed '{"decided":true,"allPassed":true,"anyFailed":false}'
    # the operator looked at $SHA1; meanwhile a new commit came and got as far
    promoctl track --repo acme/shop --pr 7 --sha "$SHA2" --env dev --app shop --state synced >/dev/null
    HOP_GEN=2 HOP_SHA="$SHA2" hop_records false passed '{"decided":true,"allPassed":true,"anyFailed":false}'
    run promoctl list
    assert_output --regexp 'acme-shop-7 +dev +awaiting-approval'
    run promoctl approve acme-shop-7 --sha "$SHA1" --by alice
    assert_failure 100
    assert_output --partial "tracker acme-shop-7 is at $SHA2 (generation 2), not $SHA1: it moved on; nothing approved"
    run promoctl approve acme-shop-7 --sha "${SHA1:0:7}" --by alice
    assert_failure 100
    assert_output --partial "it moved on"
    [ ! -e "$T/state/approvals/acme-shop-7.json" ]
    [ ! -e "$T/state/audit.log" ] || ! grep -q '"Approved"' "$T/state/audit.log"
    run promoctl list
    assert_output --regexp 'acme-shop-7 +dev +awaiting-approval'
    # the commit now at the head is approved when named
    run promoctl approve acme-shop-7 --sha "$SHA2" --by alice
    assert_success
    run jq -r '.generation|tostring' "$T/state/approvals/acme-shop-7.json"
    assert_output 2
}

@test "retry: only when failed with failed tests (else 100); asks attempt 2, audits, then testing" {
    track7
    run promoctl retry acme-shop-7
    assert_failure 100
    assert_output --partial "nothing to retry"
    hop_records true failed '{"decided":true,"allPassed":false,"anyFailed":true,"failureReasons":["smoke: failed"]}'
    run promoctl list
    assert_output --partial "failed"
    run promoctl retry acme-shop-7 --by bob
    assert_success
    assert_output --partial "attempt 2"
    run jq -r '.hops.dev.retry | (.attempt|tostring) + " " + .requestedBy' "$T/state/approvals/acme-shop-7.json"
    assert_output "2 bob"
    run promoctl events --json
    [ "$(jq -r 'select(.reason == "RetryRequested") | .message' <<<"$output")" = "attempt 2 of 1 failed test in dev requested by bob" ]
    run promoctl show acme-shop-7 --json
    [ "$(jq -r .view.state <<<"$output")" = "testing" ]
    [ "$(jq -r .view.hops[0].retryAttempt <<<"$output")" = "2" ]
    run promoctl retry acme-shop-7
    assert_failure 100
    run promoctl retry acme-shop-7 extra
    assert_failure 100
}

@test "--help lists show, approve and retry" {
    run promoctl --help
    assert_output --partial "show NAME [--json]"
    assert_output --partial "approve NAME [--sha SHA] [--by WHO]"
    assert_output --partial "retry NAME [--by WHO]"
}

# testing_records - trigger and monitor records of acme-shop-42 (generation
# 1, SHA1) in dev: smoke (required) running as run 17, lint (optional) failed.
testing_records() {
    mkdir -p "$T/state/trigger" "$T/state/monitor"
    jq -nc --arg sha "$SHA1" '{name:"acme-shop-42",generation:1,headSHA:$sha,hops:{dev:{source:"dev",target:"staging",
        policy:"dev-to-staging",autoPromote:true,startedAt:"2026-11-28T04:30:00.120Z",tests:[
        {name:"smoke",provider:"jenkins",job:"promo/smoke",required:true,attempt:1,key:"pk-111111111111111111111111",
         phase:"triggered",triggeredAt:"2026-11-28T04:30:00.140Z",
         run:{id:"17",url:"http://ci.example/smoke/17/",api:"http://ci.example/smoke/17/api/json",status:"queued"}},
        {name:"lint",provider:"gitlab",job:"acme/shop",required:false,attempt:1,key:"pk-222222222222222222222222",
         phase:"triggered",triggeredAt:"2026-11-28T04:30:00.141Z",
         run:{id:"9",url:"http://ci.example/lint/9/",api:"http://ci.example/lint/9",status:"queued"}}]}}}' \
        > "$T/state/trigger/acme-shop-42.json"
    jq -nc --arg sha "$SHA1" '{name:"acme-shop-42",generation:1,headSHA:$sha,hops:{dev:{source:"dev",target:"staging",
        policy:"dev-to-staging",tests:{
        smoke:{key:"pk-111111111111111111111111",required:true,provider:"jenkins",status:"running",runId:"17",
               url:"http://ci.example/smoke/17/"},
        lint:{key:"pk-222222222222222222222222",required:false,provider:"gitlab",status:"failed",runId:"9",
              url:"http://ci.example/lint/9/",finishedAt:"2026-11-28T04:31:00.000Z",durationMs:1200,detail:"FAILURE"}}}}}' \
        > "$T/state/monitor/acme-shop-42.json"
}

@test "get -o json|yaml: the PullRequestTracker with the original's status (testRuns, promotions, conditions); YAML reads back as the JSON" {
    promoctl track --repo acme/shop --pr 42 --sha "$SHA1" --env dev --app shop-dev --state synced --ref 'yes: no'
    testing_records
    run --separate-stderr promoctl get acme-shop-42 -o json
    assert_success
    printf '%s\n' "$output" > "$T/get.json"
    # metadata and spec as stored; status from the records
    jq -e --slurpfile doc "$T/state/trackers/acme-shop-42.json" \
        '.apiVersion == "promo.dev/v1alpha1" and .kind == "PullRequestTracker" and
         .metadata == $doc[0].metadata and .spec == $doc[0].spec and .spec.headRef == "yes: no" and
         (.status | keys) == ["conditions", "environment", "promotions", "state", "testRuns"] and
         .status.environment == "dev" and .status.state == "testing" and .status.promotions == []' "$T/get.json"
    jq -e '.status.testRuns == [
        {name:"smoke",provider:"jenkins",runId:"17",url:"http://ci.example/smoke/17/",status:"running",result:null,
         required:true,attempt:1,key:"pk-111111111111111111111111",startedAt:"2026-11-28T04:30:00.140Z",
         completedAt:null,durationMs:null,detail:null},
        {name:"lint",provider:"gitlab",runId:"9",url:"http://ci.example/lint/9/",status:"failed",result:"failed",
         required:false,attempt:1,key:"pk-222222222222222222222222",startedAt:"2026-11-28T04:30:00.141Z",
         completedAt:"2026-11-28T04:31:00.000Z",durationMs:1200,detail:"FAILURE"}]' "$T/get.json"
    jq -e '[.status.conditions[] | .type] == ["Ready", "TestsPassed", "AwaitingApproval", "Promoted", "Failed"] and
        all(.status.conditions[]; (keys == ["lastTransitionTime", "message", "reason", "status", "type"]) and
            (.status | IN("True", "False", "Unknown"))) and
        (.status.conditions[0] | .status == "False" and .reason == "Testing" and (.message | contains("smoke"))) and
        (.status.conditions[1] | .status == "Unknown" and .reason == "TestsRunning") and
        (.status.conditions[3] | .status == "False" and .reason == "NotPromoted")' "$T/get.json"
    # -o yaml: real YAML (parsed by PyYAML, a YAML 1.1 reader), the same object
    run --separate-stderr promoctl get acme-shop-42 -o yaml
    assert_success
    printf '%s\n' "$output" > "$T/get.yaml"
    grep -q '^kind: PullRequestTracker$' "$T/get.yaml"
    python3 -c 'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' "$T/get.yaml" |
        jq -e --slurpfile j "$T/get.json" '. == $j[0]'
    # the other spellings of -o
    run promoctl get acme-shop-42 --output=yaml
    assert_success
    [ "$output" = "$(cat "$T/get.yaml")" ]
    run promoctl get -ojson acme-shop-42
    assert_success
    echo "$output" | jq -e '.status.state == "testing"'
    # --json is as before: the stored document, promo's view under "view"
    run promoctl get acme-shop-42 --json
    assert_success
    echo "$output" | jq -e --slurpfile doc "$T/state/trackers/acme-shop-42.json" \
        '.status == $doc[0].status and .view.state == "testing" and (.view.tests | length == 2) and (.status | has("testRuns") | not)'
}

@test "get -o: a bad value, a missing value, or -o with --json exits 100 with the reason" {
    promoctl track --repo acme/shop --pr 42 --sha "$SHA1" --env dev --app shop-dev
    run promoctl get acme-shop-42 -o xml
    assert_failure 100
    assert_output --partial "get: -o takes yaml or json, not 'xml'"
    run promoctl get acme-shop-42 -o YAML
    assert_failure 100
    assert_output --partial "not 'YAML'"
    run promoctl get acme-shop-42 -o
    assert_failure 100
    run promoctl get acme-shop-42 --json -o yaml
    assert_failure 100
    assert_output --partial "--json and -o cannot be given together"
    run promoctl get nope -o yaml
    assert_failure 100
    assert_output --partial "no tracker named nope"
}
