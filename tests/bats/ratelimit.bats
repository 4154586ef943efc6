#!/usr/bin/env bats
# ratelimit.bats - polling that a real CI accepts, against promo-sim's
# GitHub: the status reads of many runs of one workflow share one list
# request (conditional: 304s); with a small primary rate limit the monitor
# stretches its polls instead of meeting 403 or 429; and the promotion's
# own GitHub requests (labels, status, comment) still go out, answered 2xx,
# while the polls are held to what is above the reserve.

load 'helpers'
bats_require_minimum_version 1.5.0

setup() {
    for p in promo-watcher promo-policy promo-trigger promo-monitor promo-promoter promo-sim; do
        [ -x "$PROMO_BIN/$p" ] || skip "$p is not built"
    done
    promo_setup
}

teardown() {
    promo_teardown
}

# sim_up SCENARIO-YAML - promo-sim with that scenario, the config pointed at it.
sim_up() {
    printf '%s\n' "$1" > "$T/scenario.yaml"
    sim_start --log "$T/requests.ndjson" --scenario "$T/scenario.yaml"
    sim_yaml "$SIM" "$T" >> "$T/promo.yaml"
}

# policy_file TESTS [PROMOTION-YAML] - dev -> staging with TESTS (the
# externalTests lines) and the promotion section, if any.
policy_file() {
    {
        cat <<'YAML'
apiVersion: promo.dev/v1alpha1
kind: PromotionPolicy
metadata:
  name: dev-to-staging
spec:
  sourceEnvironment: dev
  targetEnvironment: staging
  timeout: 2m
  externalTests:
YAML
        printf '%s' "$1"
        printf '%s\n' "${2:-}"
    } > "$T/policies/dev-to-staging.yaml"
}

# policy [PROMOTION-YAML] - dev -> staging with six GitHub Actions tests,
# three on each of two workflows (one PR: six runs, two lists).
policy() {
    local i tests=
    for i in 1 2 3; do
        tests+="$(printf '    - {name: smoke%s, provider: github-actions, job: smoke.yml}' "$i")"$'\n'
        tests+="$(printf '    - {name: e2e%s, provider: github-actions, job: e2e.yml}' "$i")"$'\n'
    done
    policy_file "$tests" "${1:-}"
}

# track - acme-shop-1 synced in dev (its application runs the SHA).
track() {
    sim_deploy "$SIM" shop "$(sha_of 1)"
    promoctl track --repo acme/shop --pr 1 --sha "$(sha_of 1)" --env dev --app shop --ref feature/x \
        --state synced >/dev/null
}

# passed - all six tests of acme-shop-1 passed (the monitor's record).
passed() {
    [ "$(jq -r '[.hops.dev.tests[] | .status] | map(select(. == "passed")) | length' \
        "$T/state/monitor/acme-shop-1.json" 2>/dev/null)" = 6 ]
}

# sim_requests JQ-SELECT - how many logged sim requests match.
sim_requests() {
    jq -s "[.[] | select($1)] | length" "$T/requests.ndjson"
}

# limited - GitHub answers that say the rate limit was exceeded.
limited() {
    sim_requests '.system == "github" and (.status == 403 or .status == 429)'
}

@test "the runs of one workflow are read from one list request, conditionally; no run is read alone" {
    sim_up 'queueMs: 200
runMs: 3000'
    policy
    pipeline_up
    track
    wait_for 40 passed || { cat "$T/monitor.log" | tail -20 >&3; false; }
    lists=$(sim_requests '.system == "github" and .method == "GET" and (.path | test("/actions/workflows/[^/]+/runs$"))')
    alone=$(sim_requests '.system == "github" and .method == "GET" and (.path | test("/actions/runs/[0-9]+$"))')
    not_modified=$(sim_requests '.system == "github" and .status == 304')
    conditional=$(sim_requests '.system == "github" and (.path | test("/runs$")) and (.headers["if-none-match"] // "") != ""')
    echo "lists=$lists alone=$alone 304=$not_modified conditional=$conditional" >&3
    [ "$alone" -eq 0 ]
    [ "$lists" -ge 2 ]
    # six runs polled about every second for 3+ s would be 20 reads or more alone
    [ "$lists" -le 30 ]
    [ "$conditional" -ge 1 ]
    [ "$not_modified" -ge 1 ]
    [ "$(limited)" -eq 0 ]
}

@test "a small rate limit: polling stretches, no 403 or 429, every test still passes" {
    # 40 requests a minute: the six dispatches leave 34, of which polls may
    # spend what is above the reserve (4, for the promotion's status and
    # comment), paced over the minute; unpaced, the monitor would poll two
    # lists about every half second for the 8 s of the runs (some 32
    # requests) and be answered 403 when the promotion's requests come
    sim_up 'queueMs: 200
runMs: 8000
github:
  rateLimit: {limit: 40, window: 60s, status: 403, retryAfter: 1}'
    policy
    pipeline_up
    track
    wait_for 60 passed || { tail -20 "$T/monitor.log" >&3; false; }
    sleep 2                              # the promotion's status and comment
    [ "$(limited)" -eq 0 ]
    gets=$(sim_requests '.system == "github" and .method == "GET" and .status == 200')
    echo "counted GETs=$gets" >&3
    [ "$gets" -le 20 ]
    # the shared budget file is in runDir and holds no token
    [ -s "$T/run/ratelimit.budget" ]
    ! grep -qa "$(cat "$T/github.token")" "$T/run/ratelimit.budget"
}

@test "promotion steps go out first: the promoter's GitHub requests are answered 2xx while polls are held back" {
    # 30 requests a minute: 6 dispatches, polls only above the reserve of 3,
    # and the promotion's three GitHub requests (label, status, comment)
    sim_up 'queueMs: 200
runMs: 2000
github:
  rateLimit: {limit: 30, window: 60s, status: 403, retryAfter: 1}'
    policy '  promotion:
    argocd:
      cluster: default
      application: shop-${TARGET_ENV}
    github:
      addLabels: ["promoted:${TARGET_ENV}"]
      commitStatus: promo/${TARGET_ENV}
      comment: "Promoted ${SHORT_SHA} to ${TARGET_ENV}."'
    pipeline_up
    track
    promoted() { [ -n "$(promoctl events --json 2>/dev/null | jq -r 'select(.reason == "Promoted")')" ]; }
    wait_for 90 promoted || { promoctl show acme-shop-1 >&3; tail -20 "$T/monitor.log" >&3; false; }
    wait_for 20 test "$(sim_requests '.system == "github" and .method == "POST" and (.path | test("/comments$"))')" -ge 1
    steps=$(sim_requests '.system == "github" and .method == "POST" and (.path | test("/labels$|/statuses/|/comments$"))')
    steps_ok=$(sim_requests '.system == "github" and .method == "POST" and (.path | test("/labels$|/statuses/|/comments$")) and .status < 300')
    echo "steps=$steps ok=$steps_ok" >&3
    [ "$steps" -ge 3 ]
    [ "$steps_ok" -eq "$steps" ]
    [ "$(limited)" -eq 0 ]
}

@test "jenkins: the builds of one job are read from one tree= query, not build by build" {
    sim_up 'queueMs: 200
runMs: 3000'
    tests=
    for i in 1 2 3 4 5 6; do
        tests+="$(printf '    - {name: smoke%s, provider: jenkins, job: promo/smoke}' "$i")"$'\n'
    done
    policy_file "$tests"
    pipeline_up
    track
    wait_for 40 passed || { tail -20 "$T/monitor.log" >&3; false; }
    lists=$(sim_requests '.system == "jenkins" and .method == "GET" and (.path | test("/job/promo/job/smoke/api/json$"))')
    alone=$(sim_requests '.system == "jenkins" and .method == "GET" and (.path | test("/job/smoke/[0-9]+/api/json$"))')
    echo "lists=$lists alone=$alone" >&3
    [ "$lists" -ge 1 ]
    [ "$alone" -eq 0 ]
}
