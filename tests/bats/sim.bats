#!/usr/bin/env bats
# promo-sim: the Jenkins, GitHub, GitLab and Argo CD simulators, their errors,
# the request log and the /_sim controls, checked with curl and jq.

load helpers

setup() { promo_setup; }
teardown() { promo_teardown; }

# sim_start [ARGS...] - start promo-sim on a free port; sets $B (base URL).
sim_start() {
    promo_start sim promo-sim --listen 127.0.0.1:0 --port-file "$T/sim.port" \
        --log "$T/requests.ndjson" "$@"
    wait_for 5 test -s "$T/sim.port"
    B="http://127.0.0.1:$(cat "$T/sim.port")"
    export B
}

# scn FORMAT - write a scenario (printf format) to a fresh file; print its path.
scn() {
    local f; f="$(mktemp "$T/scenario.XXXXXX")"
    printf "$1" > "$f"
    echo "$f"
}

# code OUTFILE CURL-ARGS... - run curl, body to OUTFILE, print the status.
code() {
    local out="$1"; shift
    curl -s -o "$out" -D "$out.h" -w '%{http_code}' "$@"
}

jk() { curl -s -u alice:0123456789abcdef0123456789abcdef "$@"; }
gh() { curl -s -H 'Authorization: Bearer ghtok' -H 'User-Agent: promo-bats' \
            -H 'Accept: application/vnd.github+json' -H 'X-GitHub-Api-Version: 2022-11-28' "$@"; }
gl() { curl -s -H 'PRIVATE-TOKEN: gltok' "$@"; }
ar() { curl -s -H 'Authorization: Bearer argotok' "$@"; }

# jenkins_result N JOBPATH - the result of build N ("null" while building).
jenkins_build() { jk "$B/jenkins/$2/$1/api/json" | jq -r .result; }
gh_run() { gh "$B/github/repos/acme/shop/actions/runs/$1" | jq -r "$2"; }
gl_pipe() { gl "$B/gitlab/api/v4/projects/$1/pipelines/$2" | jq -r .status; }

@test "promo-sim: --help, --version, usage errors exit 100, secrets are not flags" {
    run promo-sim --help
    assert_success
    assert_output --partial "--port-file"
    assert_output --partial "--auth"
    run promo-sim --version
    assert_success
    assert_output --regexp '^promo-sim [0-9]'
    run promo-sim --frobnicate
    assert_failure 100
    run promo-sim --token abc
    assert_failure 100
    run promo-sim --listen nonsense
    assert_failure 100
    run promo-sim --listen 127.0.0.1:0 extra-arg
    assert_failure 100
    printf 'jenkins: [unclosed\n' > "$T/bad.yaml"
    run promo-sim --scenario "$T/bad.yaml"
    assert_failure 100
    assert_output --partial "bad.yaml"
}

@test "promo-sim: --port-file, --notify-fd, and a clean exit on SIGTERM" {
    promo-sim --listen 127.0.0.1:0 --port-file "$T/p" --notify-fd 3 3> "$T/ready" 2> "$T/err" &
    pid=$!
    wait_for 5 test -s "$T/ready"
    [ -s "$T/p" ]
    port="$(cat "$T/p")"
    [ "$port" -gt 0 ]
    run curl -s "http://127.0.0.1:$port/_sim/health"
    assert_output '{"ok":true}'
    kill -TERM "$pid"
    rc=0
    wait "$pid" || rc=$?
    [ "$rc" = 0 ]
    grep -q "event=stop" "$T/err"
}

@test "jenkins: buildWithParameters -> queue item -> build SUCCESS with its parameters" {
    # the queue item waits 1.5 s: long enough to be seen waiting on a loaded machine
    sim_start --scenario "$(scn 'jenkins:\n  queueMs: 1500\n')"
    [ "$(code "$T/o" -u alice:0123456789abcdef0123456789abcdef -X POST \
        "$B/jenkins/job/team/job/e2e/buildWithParameters" -d PROMO_KEY=k-1 -d SHA=abc)" = 201 ]
    grep -qi "^Location: $B/jenkins/queue/item/1/" "$T/o.h"
    run jk "$B/jenkins/queue/item/1/api/json"
    [ "$(jq -r ._class <<<"$output")" = 'hudson.model.Queue$WaitingItem' ]
    [ "$(jq -r '.task.url' <<<"$output")" = "$B/jenkins/job/team/job/e2e/" ]
    [ "$(jq -r '.actions[] | select(._class=="hudson.model.ParametersAction") | .parameters[] | select(.name=="PROMO_KEY") | .value' <<<"$output")" = k-1 ]
    wait_for 3 sh -c "curl -s -u a:0123456789abcdef0123456789abcdef $B/jenkins/queue/item/1/api/json | jq -e .executable.number"
    run jk "$B/jenkins/queue/item/1/api/json"
    [ "$(jq -r .executable.url <<<"$output")" = "$B/jenkins/job/team/job/e2e/1/" ]
    [ "$(jq -r .cancelled <<<"$output")" = false ]
    wait_for 3 sh -c "curl -s -u a:0123456789abcdef0123456789abcdef $B/jenkins/job/team/job/e2e/1/api/json | jq -e '.result == \"SUCCESS\"'"
    run jk "$B/jenkins/job/team/job/e2e/1/api/json"
    [ "$(jq -r .building <<<"$output")" = false ]
    [ "$(jq -r .queueId <<<"$output")" = 1 ]
    [ "$(jq -r .number <<<"$output")" = 1 ]
    [ "$(jq -r '.actions[] | select(._class=="hudson.model.ParametersAction") | .parameters | map(.name) | sort | join(",")' <<<"$output")" = PROMO_KEY,SHA ]
}

@test "jenkins: job api with ?tree= gives builds with their parameters; queue api lists waiting items" {
    sim_start --scenario "$(scn 'jenkins:\n  queueMs: 0\n')"
    jk -X POST "$B/jenkins/job/app/buildWithParameters?PROMO_KEY=a" >/dev/null
    jk -X POST "$B/jenkins/job/app/buildWithParameters?PROMO_KEY=b" >/dev/null
    wait_for 3 sh -c "curl -s -u a:0123456789abcdef0123456789abcdef '$B/jenkins/job/app/2/api/json' | jq -e '.result'"
    run jk "$B/jenkins/job/app/api/json?tree=builds%5Bnumber,url,result,building,queueId,actions%5Bparameters%5Bname,value%5D%5D%5D%7B0,50%7D"
    [ "$(jq -r '.builds | length' <<<"$output")" = 2 ]
    [ "$(jq -r '.builds[0].number' <<<"$output")" = 2 ]
    [ "$(jq -r '[.builds[0].actions[] | select(.parameters) | .parameters[0].value][0]' <<<"$output")" = b ]
    [ "$(jq -r '.builds[1].queueId' <<<"$output")" = 1 ]
    [ "$(jq -r '.builds[0] | has("displayName")' <<<"$output")" = false ]
    run jk "$B/jenkins/job/app/api/json"
    [ "$(jq -r '.builds[0] | keys | join(",")' <<<"$output")" = _class,number,url ]
    # a queued item shows in /queue/api/json
    sim_stop_and_start_slow_queue
}

# helper for the test above: a second simulator with a long queue
sim_stop_and_start_slow_queue() {
    promo_stop sim
    rm -f "$T/sim.port"
    sim_start --scenario "$(scn 'queueMs: 5000\n')"
    jk -X POST "$B/jenkins/job/app/buildWithParameters?PROMO_KEY=q" >/dev/null
    run jk "$B/jenkins/queue/api/json?tree=items%5Bid,actions%5Bparameters%5Bname,value%5D%5D%5D"
    [ "$(jq -r '.items[0].id' <<<"$output")" = 1 ]
    [ "$(jq -r '.items[0].actions[] | select(.parameters) | .parameters[0].value' <<<"$output")" = q ]
    # an identical request while queued is merged: 303 to the same item
    [ "$(code "$T/o" -u a:0123456789abcdef0123456789abcdef -X POST "$B/jenkins/job/app/buildWithParameters?PROMO_KEY=q")" = 303 ]
    grep -qi "^Location: .*/queue/item/1/" "$T/o.h"
}

@test "jenkins: auth (403 anonymous, 401 bad token with WWW-Authenticate), 405 on GET, 404 restricted job, 400 not parameterized" {
    printf 'jenkins:\n  user: alice\n  token: 11aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n' > "$T/auth.yaml"
    printf 'jenkins:\n  restrictJobs: true\n  jobs:\n    known: {}\n    plain: {parameterized: false}\n' > "$T/sc.yaml"
    sim_start --auth "$T/auth.yaml" --scenario "$T/sc.yaml"
    [ "$(code "$T/o" -X POST "$B/jenkins/job/known/buildWithParameters")" = 403 ]
    [ "$(code "$T/o" -u alice:wrong -X POST "$B/jenkins/job/known/buildWithParameters")" = 401 ]
    grep -qi '^WWW-Authenticate: Basic' "$T/o.h"
    [ "$(code "$T/o" -u bob:11aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa -X POST "$B/jenkins/job/known/buildWithParameters")" = 401 ]
    A=(-u alice:11aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa)
    [ "$(code "$T/o" "${A[@]}" "$B/jenkins/job/known/buildWithParameters")" = 405 ]
    [ "$(code "$T/o" "${A[@]}" -X POST "$B/jenkins/job/unknown/buildWithParameters")" = 404 ]
    [ "$(code "$T/o" "${A[@]}" -X POST "$B/jenkins/job/plain/buildWithParameters?X=1")" = 400 ]
    grep -q "not parameterized" "$T/o"
    [ "$(code "$T/o" "${A[@]}" -X POST "$B/jenkins/job/plain/build")" = 201 ]
    [ "$(code "$T/o" "${A[@]}" -X POST "$B/jenkins/job/known/buildWithParameters?X=1")" = 201 ]
    [ "$(code "$T/o" "${A[@]}" "$B/jenkins/job/known/99/api/json")" = 404 ]
    grep -q "<html>" "$T/o"
}

@test "jenkins: outcomes by name (fail, unstable) and by PROMO_SIM_OUTCOME" {
    sim_start
    jk -X POST "$B/jenkins/job/it-fails/buildWithParameters?K=1" >/dev/null
    jk -X POST "$B/jenkins/job/shaky-unstable/buildWithParameters?K=1" >/dev/null
    jk -X POST "$B/jenkins/job/fine/buildWithParameters?PROMO_SIM_OUTCOME=fail" >/dev/null
    jk -X POST "$B/jenkins/job/never-timeout/buildWithParameters?K=1" >/dev/null
    wait_for 3 sh -c "[ \"\$(curl -s -u a:0123456789abcdef0123456789abcdef $B/jenkins/job/fine/1/api/json | jq -r .result)\" = FAILURE ]"
    [ "$(jenkins_build 1 job/it-fails)" = FAILURE ]
    [ "$(jenkins_build 1 job/shaky-unstable)" = UNSTABLE ]
    [ "$(jk "$B/jenkins/job/never-timeout/1/api/json" | jq -r .building)" = true ]
    [ "$(jenkins_build 1 job/never-timeout)" = null ]
}

@test "jenkins: stop aborts a build (302), cancelItem cancels a queued item (204)" {
    sim_start --scenario "$(scn 'jenkins:\n  jobs:\n    long: {runMs: 60000, queueMs: 0}\n    queued: {queueMs: 60000}\n')"
    jk -X POST "$B/jenkins/job/long/buildWithParameters?K=1" >/dev/null
    wait_for 3 sh -c "curl -s -u a:0123456789abcdef0123456789abcdef $B/jenkins/job/long/1/api/json | jq -e .building"
    [ "$(code "$T/o" -u a:0123456789abcdef0123456789abcdef -X POST "$B/jenkins/job/long/1/stop")" = 302 ]
    [ "$(jenkins_build 1 job/long)" = ABORTED ]
    jk -X POST "$B/jenkins/job/queued/buildWithParameters?K=1" >/dev/null
    [ "$(code "$T/o" -u a:0123456789abcdef0123456789abcdef -X POST "$B/jenkins/queue/cancelItem?id=2")" = 204 ]
    run jk "$B/jenkins/queue/item/2/api/json"
    [ "$(jq -r .cancelled <<<"$output")" = true ]
    [ "$(jq -r .executable <<<"$output")" = null ]
    [ "$(code "$T/o" -u a:0123456789abcdef0123456789abcdef -X POST "$B/jenkins/queue/cancelItem?id=2")" = 404 ]
}

@test "jenkins: CSRF mode wants a crumb and its session for password auth, not for API tokens" {
    printf 'jenkins:\n  user: alice\n  token: 11bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n  password: hunter2\n' > "$T/auth.yaml"
    sim_start --auth "$T/auth.yaml" --scenario "$(scn 'jenkins:\n  csrf: true\n')"
    [ "$(code "$T/o" -u alice:hunter2 -X POST "$B/jenkins/job/j/buildWithParameters?K=1")" = 403 ]
    grep -q "No valid crumb" "$T/o"
    curl -s -u alice:hunter2 -c "$T/jar" "$B/jenkins/crumbIssuer/api/json" > "$T/crumb"
    [ "$(jq -r .crumbRequestField "$T/crumb")" = Jenkins-Crumb ]
    [ "$(jq -r ._class "$T/crumb")" = hudson.security.csrf.DefaultCrumbIssuer ]
    crumb="$(jq -r .crumb "$T/crumb")"
    # the crumb without its session cookie is refused
    [ "$(code "$T/o" -u alice:hunter2 -H "Jenkins-Crumb: $crumb" -X POST "$B/jenkins/job/j/buildWithParameters?K=1")" = 403 ]
    [ "$(code "$T/o" -u alice:hunter2 -b "$T/jar" -H "Jenkins-Crumb: $crumb" -X POST "$B/jenkins/job/j/buildWithParameters?K=1")" = 201 ]
    [ "$(code "$T/o" -u alice:11bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb -X POST "$B/jenkins/job/j/buildWithParameters?K=2")" = 201 ]
}

@test "jenkins: a flaky job answers 503 twice, a ratelimit job 429 with Retry-After once" {
    sim_start
    A=(-u a:0123456789abcdef0123456789abcdef -X POST)
    [ "$(code "$T/o" "${A[@]}" "$B/jenkins/job/flaky-e2e/buildWithParameters?K=1")" = 503 ]
    [ "$(code "$T/o" "${A[@]}" "$B/jenkins/job/flaky-e2e/buildWithParameters?K=1")" = 503 ]
    [ "$(code "$T/o" "${A[@]}" "$B/jenkins/job/flaky-e2e/buildWithParameters?K=1")" = 201 ]
    [ "$(code "$T/o" "${A[@]}" "$B/jenkins/job/ratelimit-e2e/buildWithParameters?K=1")" = 429 ]
    grep -qi '^Retry-After: 1' "$T/o.h"
    [ "$(code "$T/o" "${A[@]}" "$B/jenkins/job/ratelimit-e2e/buildWithParameters?K=1")" = 201 ]
}

@test "github: workflow_dispatch 204, run found by display_title, queued -> in_progress -> completed success" {
    # queued and in progress 1.5 s each: each is seen even when the fifteen jq
    # calls between the dispatch and the first poll take a second
    sim_start --scenario "$(scn 'github:\n  queueMs: 1500\n  runMs: 1500\n')"
    [ "$(code "$T/o" -H 'Authorization: Bearer x' -H 'User-Agent: b' -X POST \
        "$B/github/repos/acme/shop/actions/workflows/e2e.yml/dispatches" \
        -d '{"ref":"main","inputs":{"promo_key":"acme-shop-1/abc/dev-staging/e2e/1"}}')" = 204 ]
    [ ! -s "$T/o" ]
    run gh "$B/github/repos/acme/shop/actions/workflows/e2e.yml/runs?event=workflow_dispatch&branch=main"
    [ "$(jq -r .total_count <<<"$output")" = 1 ]
    run_json="$(jq -c '.workflow_runs[0]' <<<"$output")"
    [ "$(jq -r .display_title <<<"$run_json")" = acme-shop-1/abc/dev-staging/e2e/1 ]
    [ "$(jq -r .status <<<"$run_json")" = queued ]
    [ "$(jq -r .conclusion <<<"$run_json")" = null ]
    [ "$(jq -r .head_branch <<<"$run_json")" = main ]
    [ "$(jq -r .event <<<"$run_json")" = workflow_dispatch ]
    [ "$(jq -r .name <<<"$run_json")" = e2e ]
    for k in id html_url head_sha run_number run_attempt created_at updated_at; do
        [ "$(jq -r "has(\"$k\")" <<<"$run_json")" = true ]
    done
    id="$(jq -r .id <<<"$run_json")"
    wait_for 3 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer x' -H 'User-Agent: b' $B/github/repos/acme/shop/actions/runs/$id | jq -r .status)\" = in_progress ]"
    wait_for 3 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer x' -H 'User-Agent: b' $B/github/repos/acme/shop/actions/runs/$id | jq -r .conclusion)\" = success ]"
    [ "$(gh_run "$id" .status)" = completed ]
    # filters
    [ "$(gh "$B/github/repos/acme/shop/actions/workflows/e2e.yml/runs?branch=other" | jq -r .total_count)" = 0 ]
    [ "$(gh "$B/github/repos/acme/shop/actions/workflows/e2e.yml/runs?status=success" | jq -r .total_count)" = 1 ]
    [ "$(gh "$B/github/repos/acme/shop/actions/workflows/e2e.yml/runs?status=queued" | jq -r .total_count)" = 0 ]
}

@test "github: return_run_details gives 200 {workflow_run_id, run_url, html_url}; failures by name and scenario status" {
    sim_start --scenario "$(scn 'github:\n  workflows:\n    odd.yml: {status: timed_out}\n')"
    run gh -X POST "$B/github/repos/acme/shop/actions/workflows/e2e-fail.yml/dispatches" \
        -d '{"ref":"main","inputs":{"promo_key":"k"},"return_run_details":true}'
    id="$(jq -r .workflow_run_id <<<"$output")"
    [ "$(jq -r .run_url <<<"$output")" = "$B/github/repos/acme/shop/actions/runs/$id" ]
    [ -n "$(jq -r .html_url <<<"$output")" ]
    id2="$(gh -X POST "$B/github/repos/acme/shop/actions/workflows/odd.yml/dispatches" \
        -d '{"ref":"main","return_run_details":true}' | jq -r .workflow_run_id)"
    id3="$(gh -X POST "$B/github/repos/acme/shop/actions/workflows/ok.yml/dispatches" \
        -d '{"ref":"main","inputs":{"promo_sim_outcome":"cancel"},"return_run_details":true}' | jq -r .workflow_run_id)"
    wait_for 3 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer x' -H 'User-Agent: b' $B/github/repos/acme/shop/actions/runs/$id3 | jq -r .status)\" = completed ]"
    [ "$(gh_run "$id" .conclusion)" = failure ]
    [ "$(gh_run "$id2" .conclusion)" = timed_out ]
    # API version 2026-03-10 always answers with the run details
    [ "$(code "$T/o" -H 'Authorization: Bearer x' -H 'User-Agent: b' -H 'X-GitHub-Api-Version: 2026-03-10' -X POST \
        "$B/github/repos/acme/shop/actions/workflows/ok.yml/dispatches" -d '{"ref":"main"}')" = 200 ]
    jq -e .workflow_run_id "$T/o"
    [ "$(code "$T/o" -H 'Authorization: Bearer x' -H 'User-Agent: b' -H 'X-GitHub-Api-Version: 1999-01-01' \
        "$B/github/repos/acme/shop/issues/1/labels")" = 400 ]
    [ "$(gh_run "$id3" .conclusion)" = cancelled ]
}

@test "github: 401 Bad credentials, 403 without User-Agent, 422 and 400 on bad dispatches, 404 restricted workflow" {
    printf 'github:\n  token: right\n' > "$T/auth.yaml"
    sim_start --auth "$T/auth.yaml" --scenario "$(scn 'github:\n  restrictWorkflows: true\n  workflows:\n    ok.yml: {}\n')"
    U="$B/github/repos/acme/shop/actions/workflows/ok.yml/dispatches"
    [ "$(code "$T/o" -H 'User-Agent: b' -H 'Authorization: Bearer wrong' -X POST "$U" -d '{"ref":"main"}')" = 401 ]
    [ "$(jq -r .message "$T/o")" = "Bad credentials" ]
    jq -e .documentation_url "$T/o"
    [ "$(code "$T/o" -H 'User-Agent: b' -X POST "$U" -d '{"ref":"main"}')" = 401 ]
    [ "$(code "$T/o" -A '' -H 'Authorization: Bearer right' -X POST "$U" -d '{"ref":"main"}')" = 403 ]
    H=(-H 'User-Agent: b' -H 'Authorization: token right')
    [ "$(code "$T/o" "${H[@]}" -X POST "$U" -d '{"inputs":{}}')" = 422 ]
    grep -q "ref" "$T/o"
    many="$(jq -nc '{ref:"main", inputs:([range(26)] | map({key:"i\(.)", value:"v"}) | from_entries)}')"
    [ "$(code "$T/o" "${H[@]}" -X POST "$U" -d "$many")" = 422 ]
    [ "$(code "$T/o" "${H[@]}" -X POST "$U" -d '{"ref":')" = 400 ]
    [ "$(jq -r .message "$T/o")" = "Problems parsing JSON" ]
    [ "$(code "$T/o" "${H[@]}" -X POST "$B/github/repos/acme/shop/actions/workflows/nope.yml/dispatches" -d '{"ref":"main"}')" = 404 ]
    [ "$(code "$T/o" "${H[@]}" "$B/github/repos/acme/shop/nothing/here")" = 404 ]
    [ "$(jq -r .message "$T/o")" = "Not Found" ]
    [ "$(code "$T/o" "${H[@]}" -X POST "$U" -d '{"ref":"main"}')" = 204 ]
}

@test "github: rate-limit headers on every answer, ETag and 304 that costs nothing" {
    sim_start
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -H 'User-Agent: b' "$B/github/repos/acme/shop/issues/1/labels")" = 200 ]
    for h in x-ratelimit-limit x-ratelimit-remaining x-ratelimit-used x-ratelimit-reset x-github-request-id etag; do
        grep -qi "^$h: " "$T/o.h"
    done
    etag="$(grep -i '^etag:' "$T/o.h" | cut -d' ' -f2- | tr -d '\r')"
    rem1="$(grep -i '^x-ratelimit-remaining:' "$T/o.h" | tr -dc 0-9)"
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -H 'User-Agent: b' -H "If-None-Match: $etag" "$B/github/repos/acme/shop/issues/1/labels")" = 304 ]
    rem2="$(grep -i '^x-ratelimit-remaining:' "$T/o.h" | tr -dc 0-9)"
    [ "$rem1" = "$rem2" ]
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -H 'User-Agent: b' "$B/github/repos/acme/shop/issues/1/labels")" = 200 ]
    rem3="$(grep -i '^x-ratelimit-remaining:' "$T/o.h" | tr -dc 0-9)"
    [ "$rem3" = $((rem1 - 1)) ]
    # a changed resource gets a new ETag
    gh -X POST "$B/github/repos/acme/shop/issues/1/labels" -d '{"labels":["x"]}' >/dev/null
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -H 'User-Agent: b' -H "If-None-Match: $etag" "$B/github/repos/acme/shop/issues/1/labels")" = 200 ]
}

@test "github: the primary rate limit runs out: 403 (or 429) with retry-after and remaining 0" {
    sim_start --scenario "$(scn 'github:\n  rateLimit: {limit: 3, status: 429, retryAfter: 2}\n')"
    for i in 1 2 3; do
        [ "$(code "$T/o" -H 'Authorization: Bearer t' -H 'User-Agent: b' "$B/github/repos/a/b/issues/1/labels")" = 200 ]
    done
    grep -qi '^x-ratelimit-remaining: 0' "$T/o.h"
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -H 'User-Agent: b' "$B/github/repos/a/b/issues/1/labels")" = 429 ]
    grep -qi '^retry-after: 2' "$T/o.h"
    grep -qi '^x-ratelimit-remaining: 0' "$T/o.h"
    jq -e '.message | test("rate limit")' "$T/o"
}

@test "github: cancel answers 202, then 409 once completed; ratelimit and flaky workflows" {
    sim_start --scenario "$(scn 'github:\n  runMs: 60000\n')"
    id="$(gh -X POST "$B/github/repos/acme/shop/actions/workflows/w.yml/dispatches" -d '{"ref":"main","return_run_details":true}' | jq -r .workflow_run_id)"
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -H 'User-Agent: b' -X POST "$B/github/repos/acme/shop/actions/runs/$id/cancel")" = 202 ]
    [ "$(gh_run "$id" .conclusion)" = cancelled ]
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -H 'User-Agent: b' -X POST "$B/github/repos/acme/shop/actions/runs/$id/cancel")" = 409 ]
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -H 'User-Agent: b' "$B/github/repos/acme/shop/actions/runs/999")" = 404 ]
    U="$B/github/repos/acme/shop/actions/workflows/ratelimit.yml/dispatches"
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -H 'User-Agent: b' -X POST "$U" -d '{"ref":"main"}')" = 429 ]
    grep -qi '^retry-after: 1' "$T/o.h"
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -H 'User-Agent: b' -X POST "$U" -d '{"ref":"main"}')" = 204 ]
    U="$B/github/repos/acme/shop/actions/workflows/flaky.yml/dispatches"
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -H 'User-Agent: b' -X POST "$U" -d '{"ref":"main"}')" = 503 ]
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -H 'User-Agent: b' -X POST "$U" -d '{"ref":"main"}')" = 503 ]
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -H 'User-Agent: b' -X POST "$U" -d '{"ref":"main"}')" = 204 ]
}

@test "github: labels added, listed, removed; removing an absent label is 404 Label does not exist" {
    sim_start
    L="$B/github/repos/acme/shop/issues/42/labels"
    run gh -X POST "$L" -d '{"labels":["promoted-to-staging","tested"]}'
    [ "$(jq -r 'map(.name) | join(",")' <<<"$output")" = promoted-to-staging,tested ]
    [ "$(jq -r '.[0] | has("id") and has("color")' <<<"$output")" = true ]
    run gh -X POST "$L" -d '{"labels":["tested"]}'
    [ "$(jq -r length <<<"$output")" = 2 ]
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -H 'User-Agent: b' -X DELETE "$L/tested")" = 200 ]
    [ "$(jq -r 'map(.name) | join(",")' "$T/o")" = promoted-to-staging ]
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -H 'User-Agent: b' -X DELETE "$L/tested")" = 404 ]
    [ "$(jq -r .message "$T/o")" = "Label does not exist" ]
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -H 'User-Agent: b' -X POST "$L" -d '{"labels":[]}')" = 422 ]
    [ "$(gh "$L" | jq -r 'map(.name) | join(",")')" = promoted-to-staging ]
    [ "$(curl -s "$B/_sim/state" | jq -r '.github.labels["acme/shop#42"] | map(.name) | join(",")')" = promoted-to-staging ]
}

@test "github: commit statuses 201 (422 for a bad state), listed newest first; comments created and edited in place" {
    sim_start
    S=0123456789abcdef0123456789abcdef01234567
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -H 'User-Agent: b' -X POST "$B/github/repos/acme/shop/statuses/$S" \
        -d '{"state":"pending","target_url":"http://ci/1","description":"tests running","context":"promo/staging"}')" = 201 ]
    [ "$(jq -r .state "$T/o")" = pending ]
    [ "$(jq -r .context "$T/o")" = promo/staging ]
    gh -X POST "$B/github/repos/acme/shop/statuses/$S" -d '{"state":"success","context":"promo/staging"}' >/dev/null
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -H 'User-Agent: b' -X POST "$B/github/repos/acme/shop/statuses/$S" -d '{"state":"great"}')" = 422 ]
    [ "$(jq -r .message "$T/o")" = "Validation Failed" ]
    [ "$(gh "$B/github/repos/acme/shop/commits/$S/statuses" | jq -r 'map(.state) | join(",")')" = success,pending ]
    [ "$(gh "$B/github/repos/acme/shop/commits/$S/status" | jq -r .state)" = success ]
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -H 'User-Agent: b' -X POST "$B/github/repos/acme/shop/issues/42/comments" -d '{"body":"| test | result |"}')" = 201 ]
    cid="$(jq -r .id "$T/o")"
    [ -n "$(jq -r .html_url "$T/o")" ]
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -H 'User-Agent: b' -X PATCH "$B/github/repos/acme/shop/issues/comments/$cid" -d '{"body":"updated"}')" = 200 ]
    [ "$(jq -r .body "$T/o")" = updated ]
    run gh "$B/github/repos/acme/shop/issues/42/comments"
    [ "$(jq -r length <<<"$output")" = 1 ]
    [ "$(jq -r '.[0].body' <<<"$output")" = updated ]
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -H 'User-Agent: b' -X PATCH "$B/github/repos/acme/shop/issues/comments/1" -d '{"body":"x"}')" = 404 ]
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -H 'User-Agent: b' -X POST "$B/github/repos/acme/shop/issues/42/comments" -d '{}')" = 422 ]
}

@test "gitlab: create a pipeline by URL-encoded path, follow it to success, read its variables" {
    sim_start
    [ "$(code "$T/o" -H 'PRIVATE-TOKEN: t' -H 'Content-Type: application/json' -X POST \
        "$B/gitlab/api/v4/projects/group%2Fshop/pipeline" \
        -d '{"ref":"main","variables":[{"key":"PROMO_KEY","value":"k1","variable_type":"env_var"}]}')" = 201 ]
    for k in id iid project_id sha ref status source web_url created_at updated_at started_at finished_at duration; do
        [ "$(jq -r "has(\"$k\")" "$T/o")" = true ]
    done
    [ "$(jq -r .source "$T/o")" = api ]
    [ "$(jq -r .status "$T/o")" = pending ]
    id="$(jq -r .id "$T/o")"; pid="$(jq -r .project_id "$T/o")"
    wait_for 3 sh -c "[ \"\$(curl -s -H 'PRIVATE-TOKEN: t' $B/gitlab/api/v4/projects/$pid/pipelines/$id | jq -r .status)\" = success ]"
    [ "$(gl_pipe group%2Fshop "$id")" = success ]
    [ "$(gl "$B/gitlab/api/v4/projects/$pid/pipelines/$id" | jq -r .finished_at)" != null ]
    run gl "$B/gitlab/api/v4/projects/$pid/pipelines/$id/variables"
    [ "$(jq -r '.[0].key + "=" + .[0].value + ":" + .[0].variable_type' <<<"$output")" = PROMO_KEY=k1:env_var ]
    [ "$(gl "$B/gitlab/api/v4/projects/$pid/pipelines?ref=main&status=success" | jq -r length)" = 1 ]
    [ "$(gl "$B/gitlab/api/v4/projects/$pid/pipelines?ref=other" | jq -r length)" = 0 ]
}

@test "gitlab: 401, 404 project not found when restricted, 400 for a missing or empty ref, cancel, scenario statuses" {
    printf 'gitlab:\n  token: good\n' > "$T/auth.yaml"
    sim_start --auth "$T/auth.yaml" --scenario "$(scn 'gitlab:\n  restrictProjects: true\n  projects:\n    g/ok: {id: 77, runMs: 60000}\n    g/skip: {id: 78, status: skipped}\n    g/manual: {id: 79, status: manual}\n')"
    [ "$(code "$T/o" -X POST "$B/gitlab/api/v4/projects/77/pipeline" -d '{"ref":"main"}')" = 401 ]
    [ "$(jq -r .message "$T/o")" = "401 Unauthorized" ]
    [ "$(code "$T/o" -H 'PRIVATE-TOKEN: bad' -X POST "$B/gitlab/api/v4/projects/77/pipeline" -d '{"ref":"main"}')" = 401 ]
    [ "$(code "$T/o" -H 'Authorization: Bearer good' -X POST "$B/gitlab/api/v4/projects/g%2Fnope/pipeline" -d '{"ref":"main"}')" = 404 ]
    [ "$(jq -r .message "$T/o")" = "404 Project Not Found" ]
    [ "$(code "$T/o" -H 'PRIVATE-TOKEN: good' -H 'Content-Type: application/json' -X POST "$B/gitlab/api/v4/projects/77/pipeline" -d '{}')" = 400 ]
    [ "$(code "$T/o" -H 'PRIVATE-TOKEN: good' -H 'Content-Type: application/json' -X POST "$B/gitlab/api/v4/projects/77/pipeline" -d '{"ref":""}')" = 400 ]
    [ "$(jq -r '.message.base[0]' "$T/o")" = "Reference not found" ]
    id="$(curl -s -H 'PRIVATE-TOKEN: good' -X POST "$B/gitlab/api/v4/projects/g%2Fok/pipeline" -d '{"ref":"main"}' | jq -r .id)"
    [ "$(curl -s -H 'PRIVATE-TOKEN: good' "$B/gitlab/api/v4/projects/77/pipelines/$id" | jq -r .project_id)" = 77 ]
    [ "$(code "$T/o" -H 'PRIVATE-TOKEN: good' -X POST "$B/gitlab/api/v4/projects/77/pipelines/$id/cancel")" = 200 ]
    [ "$(jq -r .status "$T/o")" = canceled ]
    [ "$(code "$T/o" -H 'PRIVATE-TOKEN: good' -X POST "$B/gitlab/api/v4/projects/77/pipelines/$id/cancel")" = 200 ]
    [ "$(jq -r .status "$T/o")" = canceled ]
    [ "$(code "$T/o" -H 'PRIVATE-TOKEN: good' "$B/gitlab/api/v4/projects/77/pipelines/424242")" = 404 ]
    s1="$(curl -s -H 'PRIVATE-TOKEN: good' -X POST "$B/gitlab/api/v4/projects/78/pipeline" -d '{"ref":"main"}' | jq -r .id)"
    s2="$(curl -s -H 'PRIVATE-TOKEN: good' -X POST "$B/gitlab/api/v4/projects/79/pipeline" -d '{"ref":"main"}' | jq -r .id)"
    wait_for 3 sh -c "[ \"\$(curl -s -H 'PRIVATE-TOKEN: good' $B/gitlab/api/v4/projects/78/pipelines/$s1 | jq -r .status)\" = skipped ]"
    wait_for 3 sh -c "[ \"\$(curl -s -H 'PRIVATE-TOKEN: good' $B/gitlab/api/v4/projects/79/pipelines/$s2 | jq -r .status)\" = manual ]"
}

@test "gitlab: outcomes by name and variable; flaky 503 then recovery; ratelimit 429 Retry-After" {
    sim_start
    f="$(gl -X POST "$B/gitlab/api/v4/projects/g%2Fwill-fail/pipeline" -d '{"ref":"main"}' | jq -r .id)"
    v="$(gl -X POST "$B/gitlab/api/v4/projects/g%2Fok/pipeline" -d '{"ref":"main","variables":[{"key":"PROMO_SIM_OUTCOME","value":"fail"}]}' | jq -r .id)"
    wait_for 3 sh -c "[ \"\$(curl -s -H 'PRIVATE-TOKEN: t' $B/gitlab/api/v4/projects/g%2Fok/pipelines/$v | jq -r .status)\" = failed ]"
    [ "$(gl_pipe g%2Fwill-fail "$f")" = failed ]
    [ "$(code "$T/o" -H 'PRIVATE-TOKEN: t' -X POST "$B/gitlab/api/v4/projects/g%2Fflaky/pipeline" -d '{"ref":"main"}')" = 503 ]
    [ "$(code "$T/o" -H 'PRIVATE-TOKEN: t' -X POST "$B/gitlab/api/v4/projects/g%2Fflaky/pipeline" -d '{"ref":"main"}')" = 503 ]
    [ "$(code "$T/o" -H 'PRIVATE-TOKEN: t' -X POST "$B/gitlab/api/v4/projects/g%2Fflaky/pipeline" -d '{"ref":"main"}')" = 201 ]
    [ "$(code "$T/o" -H 'PRIVATE-TOKEN: t' -X POST "$B/gitlab/api/v4/projects/g%2Fratelimit/pipeline" -d '{"ref":"main"}')" = 429 ]
    grep -qi '^Retry-After: 1' "$T/o.h"
    [ "$(code "$T/o" -H 'PRIVATE-TOKEN: t' -X POST "$B/gitlab/api/v4/projects/g%2Fratelimit/pipeline" -d '{"ref":"main"}')" = 201 ]
    [ "$(code "$T/o" -H 'PRIVATE-TOKEN: t' "$B/gitlab/api/v4/nothing")" = 404 ]
    [ "$(jq -r .error "$T/o")" = "404 Not Found" ]
}

@test "argocd: 401 without a session, 403 unknown app without project, 404 with project" {
    printf 'argocd:\n  token: argotok\n' > "$T/auth.yaml"
    sim_start --auth "$T/auth.yaml" --scenario "$(scn 'argocd:\n  autoCreate: false\n  applications:\n    shop-staging: {project: shop, targetRevision: main}\n')"
    [ "$(code "$T/o" "$B/argocd/api/v1/applications/shop-staging")" = 401 ]
    [ "$(jq -r .code "$T/o")" = 16 ]
    [ "$(jq -r .error "$T/o")" = "no session information" ]
    [ "$(code "$T/o" -H 'Authorization: Bearer nope' "$B/argocd/api/v1/applications/shop-staging")" = 401 ]
    [ "$(code "$T/o" -H 'Authorization: Bearer argotok' "$B/argocd/api/v1/applications/missing")" = 403 ]
    [ "$(jq -r .code "$T/o")" = 7 ]
    [ "$(code "$T/o" -H 'Authorization: Bearer argotok' "$B/argocd/api/v1/applications/missing?project=shop")" = 404 ]
    [ "$(jq -r .code "$T/o")" = 5 ]
    [ "$(code "$T/o" -H 'Authorization: Bearer argotok' "$B/argocd/api/v1/applications/shop-staging?project=shop&appNamespace=argocd")" = 200 ]
    [ "$(jq -r .metadata.name "$T/o")" = shop-staging ]
    [ "$(jq -r .spec.project "$T/o")" = shop ]
    [ "$(jq -r .spec.source.targetRevision "$T/o")" = main ]
    [ "$(jq -r .status.sync.status "$T/o")" = Synced ]
    [ "$(jq -r .status.health.status "$T/o")" = Healthy ]
    [ "$(jq -r .status.operationState.phase "$T/o")" = Succeeded ]
}

@test "argocd: merge patch, sync Running -> Synced+Healthy at the revision, and another operation in progress" {
    sim_start --scenario "$(scn 'argocd:\n  syncDelay: 500ms\n')"
    S=89abcdef0123456789abcdef0123456789abcdef
    A="$B/argocd/api/v1/applications/shop-staging"
    patch="$(jq -nc --arg s "$S" '{name:"shop-staging", patchType:"merge", patch:({spec:{source:{targetRevision:$s}}} | tojson)}')"
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -X PATCH "$A" -d "$patch")" = 200 ]
    [ "$(jq -r .spec.source.targetRevision "$T/o")" = "$S" ]
    [ "$(jq -r .spec.source.path "$T/o")" = . ]
    [ "$(jq -r .status.sync.status "$T/o")" = OutOfSync ]
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -X POST "$A/sync" -d "{\"revision\":\"$S\"}")" = 200 ]
    [ "$(jq -r .status.operationState.phase "$T/o")" = Running ]
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -X POST "$A/sync" -d "{\"revision\":\"$S\"}")" = 400 ]
    [ "$(jq -r .code "$T/o")" = 9 ]
    jq -e '.message | test("another operation is already in progress")' "$T/o"
    wait_for 3 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer t' $A | jq -r .status.operationState.phase)\" = Succeeded ]"
    run ar "$A"
    [ "$(jq -r .status.sync.status <<<"$output")" = Synced ]
    [ "$(jq -r .status.sync.revision <<<"$output")" = "$S" ]
    [ "$(jq -r .status.health.status <<<"$output")" = Healthy ]
    [ "$(jq -r .status.operationState.syncResult.revision <<<"$output")" = "$S" ]
    # a JSON patch works too; a bad patch is 400
    jp="$(jq -nc '{patchType:"json", patch:([{op:"replace", path:"/spec/source/path", value:"deploy"}] | tojson)}')"
    [ "$(ar -X PATCH "$A" -d "$jp" | jq -r .spec.source.path)" = deploy ]
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -X PATCH "$A" -d '{"patchType":"merge","patch":"{nope"}')" = 400 ]
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -X PATCH "$A" -d '{"patch":')" = 400 ]
    [ "$(jq -r .code "$T/o")" = 3 ]
}

@test "argocd: multi-source, kustomize and helm applications from the scenario; JSON patch test guards; a spec that does not decode is 400" {
    sim_start --scenario "$(scn 'argocd:\n  syncDelay: 50ms\n  applications:\n    multi:\n      sources:\n        - {repoURL: https://charts.example.com, chart: shop, targetRevision: 1.2.0, helm: {parameters: [{name: image.tag, value: old}]}}\n        - {repoURL: https://git.example.com/cfg.git, path: envs/prod, targetRevision: main}\n    kust:\n      kustomize: {images: [\"redis:7\"]}\n    chart:\n      chart: shop\n      helm: {parameters: [{name: replicas, value: \"2\"}]}\n')"
    M="$B/argocd/api/v1/applications/multi"
    run ar "$M"
    jq -e '(.spec | has("source") | not) and (.spec.sources | length == 2) and
        (.status.sync.revisions | length == 2) and (.status.sync | has("revision") | not) and
        .status.sync.comparedTo.sources == .spec.sources' <<<"$output"
    ar "$B/argocd/api/v1/applications/kust" | jq -e '.spec.source.kustomize.images == ["redis:7"]'
    ar "$B/argocd/api/v1/applications/chart" | jq -e '.spec.source.chart == "shop" and
        .spec.source.helm.parameters == [{name:"replicas",value:"2"}]'
    # a JSON patch of one source, guarded by a test of it as read
    old="$(ar "$M" | jq -c '.spec.sources[1]')"
    jp="$(jq -nc --argjson o "$old" '{patchType:"json", patch:([{op:"test",path:"/spec/sources/1",value:$o},
        {op:"replace",path:"/spec/sources/1",value:($o + {targetRevision:"v2"})}] | tojson)}')"
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -X PATCH "$M" -d "$jp")" = 200 ]
    jq -e '.spec.sources[1].targetRevision == "v2" and .spec.sources[0].targetRevision == "1.2.0" and
        .status.sync.status == "OutOfSync"' "$T/o"
    # the same patch again: the source is no longer what was read -> 400, nothing changed
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -X PATCH "$M" -d "$jp")" = 400 ]
    jq -e '.code == 3 and (.message | test("test failed"))' "$T/o"
    # a sync of a multi-source app: every source at its targetRevision
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -X POST "$M/sync" -d '{}')" = 200 ]
    jq -e '.operation.sync.revisions == ["1.2.0", "v2"]' "$T/o"
    wait_for 3 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer t' $M | jq -r .status.operationState.phase)\" = Succeeded ]"
    ar "$M" | jq -e '.status.sync.status == "Synced" and .status.sync.revisions == ["1.2.0", "v2"] and
        .status.sync.comparedTo.sources == .spec.sources and .status.operationState.syncResult.revisions == ["1.2.0", "v2"]'
    # a patch leaving a spec Argo CD cannot decode: 400, the app unchanged
    bad="$(jq -nc '{patchType:"merge", patch:({spec:{source:{kustomize:{images:[7]}}}} | tojson)}')"
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -X PATCH "$B/argocd/api/v1/applications/kust" -d "$bad")" = 400 ]
    jq -e '.code == 3 and (.message | test("kustomize.images"))' "$T/o"
    bad="$(jq -nc '{patchType:"merge", patch:({spec:{source:{helm:{parameters:[{value:"x"}]}}}} | tojson)}')"
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -X PATCH "$B/argocd/api/v1/applications/chart" -d "$bad")" = 400 ]
    bad="$(jq -nc '{patchType:"json", patch:([{op:"remove",path:"/spec/source"}] | tojson)}')"
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -X PATCH "$B/argocd/api/v1/applications/kust" -d "$bad")" = 400 ]
    ar "$B/argocd/api/v1/applications/kust" | jq -e '.spec.source.kustomize.images == ["redis:7"]'
}

@test "argocd: scenario sync outcomes degraded and failed; flaky app 503 then recovery" {
    sim_start --scenario "$(scn 'argocd:\n  syncDelay: 50ms\n  applications:\n    bad: {syncOutcome: degraded}\n    worse: {syncOutcome: failed}\n    wobbly: {flaky: 1}\n')"
    ar -X POST "$B/argocd/api/v1/applications/bad/sync" -d '{"revision":"r1"}' >/dev/null
    ar -X POST "$B/argocd/api/v1/applications/worse/sync" -d '{"revision":"r1"}' >/dev/null
    sleep 0.2
    [ "$(ar "$B/argocd/api/v1/applications/bad" | jq -r .status.health.status)" = Degraded ]
    [ "$(ar "$B/argocd/api/v1/applications/worse" | jq -r .status.operationState.phase)" = Failed ]
    [ "$(code "$T/o" -H 'Authorization: Bearer t' "$B/argocd/api/v1/applications/wobbly")" = 503 ]
    [ "$(code "$T/o" -H 'Authorization: Bearer t' "$B/argocd/api/v1/applications/wobbly")" = 200 ]
}

@test "request log: one NDJSON line per request, secrets redacted ok/bad, bodies parsed; /_sim/requests filters" {
    printf 'github:\n  token: sekrit-gh\ngitlab:\n  token: sekrit-gl\n' > "$T/auth.yaml"
    sim_start --auth "$T/auth.yaml"
    curl -s -H 'Authorization: Bearer sekrit-gh' -H 'User-Agent: b' -X POST "$B/github/repos/a/b/actions/workflows/w.yml/dispatches" -d '{"ref":"main","inputs":{"promo_key":"K"}}' >/dev/null
    curl -s -H 'Authorization: Bearer wrong' -H 'User-Agent: b' "$B/github/repos/a/b/issues/1/labels" >/dev/null
    curl -s -H 'PRIVATE-TOKEN: sekrit-gl' -X POST "$B/gitlab/api/v4/projects/1/pipeline" -d '{"ref":"main"}' >/dev/null
    curl -s -u u:0123456789abcdef0123456789abcdef -X POST "$B/jenkins/job/j/buildWithParameters" -d 'PROMO_KEY=k&X=y' >/dev/null
    [ "$(wc -l < "$T/requests.ndjson")" = 4 ]
    ! grep -q sekrit "$T/requests.ndjson"
    ! grep -q 0123456789abcdef0123456789abcdef "$T/requests.ndjson"
    l1="$(sed -n 1p "$T/requests.ndjson")"
    [ "$(jq -r .seq <<<"$l1")" = 1 ]
    [ "$(jq -r .system <<<"$l1")" = github ]
    [ "$(jq -r .method <<<"$l1")" = POST ]
    [ "$(jq -r .path <<<"$l1")" = /github/repos/a/b/actions/workflows/w.yml/dispatches ]
    [ "$(jq -r .status <<<"$l1")" = 204 ]
    [ "$(jq -r .headers.authorization <<<"$l1")" = "<redacted:ok>" ]
    [ "$(jq -r '.headers["user-agent"]' <<<"$l1")" = b ]
    [ "$(jq -r .body.inputs.promo_key <<<"$l1")" = K ]
    jq -e '.time | test("^20[0-9-]+T")' <<<"$l1"
    [ "$(sed -n 2p "$T/requests.ndjson" | jq -r .headers.authorization)" = "<redacted:bad>" ]
    [ "$(sed -n 2p "$T/requests.ndjson" | jq -r .status)" = 401 ]
    [ "$(sed -n 3p "$T/requests.ndjson" | jq -r '.headers["private-token"]')" = "<redacted:ok>" ]
    [ "$(sed -n 4p "$T/requests.ndjson" | jq -r .body.PROMO_KEY)" = k ]
    run curl -s "$B/_sim/requests?system=github&method=POST"
    [ "$(jq -r length <<<"$output")" = 1 ]
    run curl -s "$B/_sim/requests?path_prefix=/gitlab/"
    [ "$(jq -r '.[0].system' <<<"$output")" = gitlab ]
    [ "$(jq -r length <<<"$output")" = 1 ]
}

@test "/_sim: state, complete by hand, reset" {
    sim_start --scenario "$(scn 'runMs: 60000\n')"
    jk -X POST "$B/jenkins/job/j/buildWithParameters?K=1" >/dev/null
    gid="$(gh -X POST "$B/github/repos/acme/shop/actions/workflows/w.yml/dispatches" -d '{"ref":"main","return_run_details":true}' | jq -r .workflow_run_id)"
    pid="$(gl -X POST "$B/gitlab/api/v4/projects/g%2Fp/pipeline" -d '{"ref":"main"}' | jq -r .id)"
    [ "$(code "$T/o" -X POST "$B/_sim/complete?system=jenkins&id=1&result=unstable")" = 200 ]
    [ "$(code "$T/o" -X POST "$B/_sim/complete?system=github&id=$gid&result=timed_out")" = 200 ]
    [ "$(code "$T/o" -X POST "$B/_sim/complete?system=gitlab&id=$pid&result=pass")" = 200 ]
    [ "$(code "$T/o" -X POST "$B/_sim/complete?system=gitlab&id=424242&result=pass")" = 404 ]
    [ "$(jenkins_build 1 job/j)" = UNSTABLE ]
    [ "$(gh_run "$gid" .conclusion)" = timed_out ]
    [ "$(gl_pipe g%2Fp "$pid")" = success ]
    run curl -s "$B/_sim/state"
    [ "$(jq -r '.jenkins.queue | length' <<<"$output")" = 1 ]
    [ "$(jq -r '.github.runs[0].id' <<<"$output")" = "$gid" ]
    [ "$(jq -r '.gitlab.pipelines[0].id' <<<"$output")" = "$pid" ]
    [ "$(jq -r '.argocd.applications | type' <<<"$output")" = array ]
    [ "$(code "$T/o" -X POST "$B/_sim/reset")" = 200 ]
    run curl -s "$B/_sim/state"
    [ "$(jq -r '.jenkins.queue | length' <<<"$output")" = 0 ]
    [ "$(jq -r '.github.runs | length' <<<"$output")" = 0 ]
    [ "$(curl -s "$B/_sim/requests?system=jenkins" | jq -r length)" = 0 ]
    [ "$(curl -s "$B/_sim/requests" | jq -r '.[0].path')" = /_sim/reset ]
}

@test "errors: a body over 1 MiB is 413; unknown paths get each system's own 404 shape" {
    sim_start
    head -c 1100000 /dev/zero | tr '\0' 'a' > "$T/big"
    [ "$(code "$T/o" -H 'Authorization: Bearer t' -H 'User-Agent: b' -X POST "$B/github/repos/a/b/issues/1/comments" --data-binary @"$T/big")" = 413 ]
    [ "$(code "$T/o" -H 'PRIVATE-TOKEN: t' -X POST "$B/gitlab/api/v4/projects/1/pipeline" --data-binary @"$T/big")" = 413 ]
    [ "$(code "$T/o" -u a:0123456789abcdef0123456789abcdef "$B/jenkins/nothing/here")" = 404 ]
    grep -q "<html>" "$T/o"
    [ "$(code "$T/o" -H 'Authorization: Bearer t' "$B/argocd/api/v1/nothing")" = 404 ]
    [ "$(jq -r .code "$T/o")" = 5 ]
    [ "$(code "$T/o" "$B/elsewhere")" = 404 ]
    [ "$(curl -s "$B/_sim/requests" | jq -r '.[0].status')" = 413 ]
}

@test "a slow job takes about 2 s; a timeout job never finishes" {
    sim_start --scenario "$(scn 'queueMs: 0\n')"
    id="$(gh -X POST "$B/github/repos/a/b/actions/workflows/slow.yml/dispatches" -d '{"ref":"main","return_run_details":true}' | jq -r .workflow_run_id)"
    tid="$(gh -X POST "$B/github/repos/a/b/actions/workflows/timeout.yml/dispatches" -d '{"ref":"main","return_run_details":true}' | jq -r .workflow_run_id)"
    sleep 0.5
    [ "$(gh "$B/github/repos/a/b/actions/runs/$id" | jq -r .status)" = in_progress ]
    wait_for 4 sh -c "[ \"\$(curl -s -H 'Authorization: Bearer x' -H 'User-Agent: b' $B/github/repos/a/b/actions/runs/$id | jq -r .status)\" = completed ]"
    [ "$(gh "$B/github/repos/a/b/actions/runs/$tid" | jq -r .status)" = in_progress ]
}
