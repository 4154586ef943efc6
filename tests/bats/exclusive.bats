#!/usr/bin/env bats
# One PR at a time in a shared environment (issue 14, section 1): two
# trackers bound for the same target application. Each hop's one test is an
# exec program that waits for a gate file the test opens ($T/gates/TRACKER.ENV
# holding 0 for pass, 1 for fail), so the order of events is the test's, not
# the clock's. promo-sim plays Argo CD and GitHub; the five stages run with
# -c $PROMO_CONFIG. Checked: the target records (STATE/targets), promoctl, the
# audit log (Queued, Dequeued, HoldExpired) and the sim's Argo CD requests: a
# PR is never deployed into an application another PR holds.

load helpers

A=acme-shop-1
B=acme-shop-2

setup() {
    for p in promo-watcher promo-policy promo-trigger promo-monitor promo-promoter promo-sim promoctl; do
        [ -x "$PROMO_BIN/$p" ] || skip "$p is not built"
    done
    promo_setup
    SHA_A="$(sha_of a1)"
    SHA_B="$(sha_of b1)"
    mkdir -p "$T/gates"
    cat > "$T/gate" <<SH
#!/bin/sh
# waits for \$T/gates/TRACKER.ENV, exits with the number in it; ends (2)
# once the test's directory is gone, so that no run outlives its test
f="$T/gates/\$PROMO_TRACKER.\$PROMO_PARAM_ENV"
while [ ! -s "\$f" ]; do [ -d "$T/gates" ] || exit 2; sleep 0.1; done
exit "\$(cat "\$f")"
SH
    chmod +x "$T/gate"
}

teardown() {
    promo_teardown
}

# policies PROD_AUTO [EXCLUSIVE [STAGING_APP]] - dev -> staging -> prod, one
# gated exec test per hop; staging -> prod autoPromote PROD_AUTO.
policies() {
    local excl="${2:-}"
    cat > "$T/policies/dev-to-staging.yaml" <<YAML
apiVersion: promo.dev/v1alpha1
kind: PromotionPolicy
metadata:
  name: dev-to-staging
spec:
  sourceEnvironment: dev
  targetEnvironment: staging
  timeout: ${DEV_TIMEOUT:-2m}
  externalTests:
    - name: gate
      provider: exec
      job: $T/gate
      parameters:
        env: "\${SOURCE_ENV}"
  promotion:
${excl:+    exclusive: $excl}
    argocd:
      application: ${3:-shop-staging}
YAML
    cat > "$T/policies/staging-to-prod.yaml" <<YAML
apiVersion: promo.dev/v1alpha1
kind: PromotionPolicy
metadata:
  name: staging-to-prod
spec:
  sourceEnvironment: staging
  targetEnvironment: prod
  autoPromote: $1
  timeout: 2m
  externalTests:
    - name: gate
      provider: exec
      job: $T/gate
      parameters:
        env: "\${SOURCE_ENV}"
  promotion:
    argocd:
      application: shop-prod
YAML
}

up() {
    sim_start --log "$T/requests.ndjson"
    sim_yaml "$SIM" "$T" argocd github >> "$T/promo.yaml"
    local p
    for p in promoter monitor trigger policy watcher; do
        promo_start "$p" "promo-$p" -c "$PROMO_CONFIG" -v
    done
    track 1 "$SHA_A"
    track 2 "$SHA_B"
}

# track PR SHA - acme/shop#PR deployed (its own dev application shop-pr-PR,
# at SHA in promo-sim's Argo CD) and synced in dev.
track() {
    sim_deploy "$SIM" "shop-pr-$1" "$2"
    promoctl track --repo acme/shop --pr "$1" --sha "$2" --env dev --app "shop-pr-$1" --state synced >/dev/null
}

# gate TRACKER ENV RESULT - let that test end (0 pass, 1 fail).
gate() { printf '%s\n' "$3" > "$T/gates/$1.$2.tmp" && mv "$T/gates/$1.$2.tmp" "$T/gates/$1.$2"; }

where() { promoctl list --json | jq -r --arg n "$1" '.[] | select(.name == $n) | .state + " " + .environment'; }
is_at() { [ "$(where "$1")" = "$2 $3" ]; }
wait_at() {
    if ! wait_for "$1" is_at "$2" "$3" "$4"; then
        echo "# $2 is $(where "$2"), not $3 $4" >&3
        promoctl show "$2" >&3 || true
        return 1
    fi
}

# waiting_text NAME - what promoctl list says it waits on.
waiting_text() { promoctl list --json | jq -r --arg n "$1" '.[] | select(.name == $n) | .waitingOn'; }
queued() { [[ "$(waiting_text "$1")" == "waiting for shop-staging"* ]]; }
events_of() { jq -r --arg n "$1" --arg r "$2" 'select(.tracker == $n and .reason == $r) | .message' "$T/state/audit.log"; }

# patches APP - the SHAs PATCHed into APP, in order.
patches() {
    jq -r --arg a "$1" 'select(.system == "argocd" and .method == "PATCH" and (.path | endswith("/applications/" + $a)))
        | .body.patch | fromjson | .spec.source.targetRevision' "$T/requests.ndjson"
}

# holder APP - the tracker holding it, per its target record ("none" when
# free: a record neither held nor waited for is removed).
holder() {
    local f h=
    for f in "$T"/state/targets/*.json; do
        [ -e "$f" ] || continue
        h="$h$(jq -r --arg a "$1" 'select(.target.application == $a) | .holder.tracker // "none"' "$f")"
    done
    echo "${h:-none}"
}

holder_is() { [ "$(holder "$1")" = "$2" ]; }

# a_holds_staging_b_waits - A promoted into staging and testing there, B's
# dev test passed: B is queued behind A, nothing of B reached shop-staging.
a_holds_staging_b_waits() {
    gate "$A" dev 0
    wait_at 60 "$A" testing staging
    gate "$B" dev 0
    wait_for 30 queued "$B"
    run waiting_text "$B"
    assert_output --partial "held by $A since"
    [ "$(holder shop-staging)" = "$A" ]
    [ "$(events_of "$B" Queued | wc -l)" = 1 ]
    [ "$(patches shop-staging)" = "$SHA_A" ]
}

@test "exclusive: the second PR ready while the first tests in staging waits, then follows it once the first is promoted to prod" {
    policies true
    up
    a_holds_staging_b_waits
    run promoctl show "$B"
    assert_output --partial "waiting for shop-staging"
    sleep 2                            # a resync or two: still waiting
    [ "$(patches shop-staging)" = "$SHA_A" ]
    gate "$A" staging 0
    wait_at 60 "$A" done prod
    wait_at 60 "$B" testing staging
    [ "$(patches shop-staging | tr '\n' ' ')" = "$SHA_A $SHA_B " ]
    [ "$(events_of "$B" Dequeued | wc -l)" = 1 ]
    [ "$(holder shop-staging)" = "$B" ]
    wait_for 15 holder_is shop-prod none   # prod ends the chain: released once verified
    gate "$B" staging 0
    wait_at 60 "$B" done prod
    [ "$(patches shop-prod | tr '\n' ' ')" = "$SHA_A $SHA_B " ]
    wait_for 15 holder_is shop-staging none
}

@test "exclusive: the second PR waits while the first awaits approval for prod, and goes once it is approved" {
    policies false
    up
    a_holds_staging_b_waits
    gate "$A" staging 0
    wait_at 60 "$A" awaiting-approval staging
    sleep 3                            # awaiting approval is not quiet: still held
    [ "$(holder shop-staging)" = "$A" ]
    queued "$B"
    promoctl approve "$A" --by rm >/dev/null
    wait_at 60 "$A" done prod
    wait_at 60 "$B" testing staging
    [ "$(patches shop-staging | tr '\n' ' ')" = "$SHA_A $SHA_B " ]
}

@test "exclusive: the second PR gets staging when the first fails its staging tests" {
    policies true
    up
    a_holds_staging_b_waits
    gate "$A" staging 1
    wait_at 60 "$A" failed staging
    wait_at 60 "$B" testing staging
    [ "$(patches shop-staging | tr '\n' ' ')" = "$SHA_A $SHA_B " ]
    [ -z "$(patches shop-prod)" ]
    # released by the failure's message (TestsFailed) or, when the sweep
    # judges first, by the failed state it finds (Failed): both are right
    grep -Eq 'event=released .*tracker='"$A"'.*reason=(TestsFailed|Failed) ' "$T/promoter.log"
}

@test "exclusive: a new commit on the holder releases staging to the one waiting" {
    policies true
    up
    a_holds_staging_b_waits
    track 1 "$(sha_of a2)"
    wait_at 60 "$B" testing staging
    grep -q 'event=released .*tracker='"$A"'.*reason=Superseded' "$T/promoter.log"
    [ "$(patches shop-staging | tr '\n' ' ')" = "$SHA_A $SHA_B " ]
}

@test "exclusive: a holder awaiting approval whose tracker is removed: its hop's PromotionRecord says Aborted, staging goes on" {
    policies false
    up
    a_holds_staging_b_waits
    gate "$A" staging 0
    wait_at 60 "$A" awaiting-approval staging
    rm "$T/state/trackers/$A.json"
    wait_at 60 "$B" testing staging
    grep -q 'event=released .*tracker='"$A"'.*reason=Aborted' "$T/promoter.log"
    jq -e '[.promotions[].outcome] == ["Promoted", "Aborted"] and (.promotions[1] |
        .sourceEnvironment == "staging" and .targetEnvironment == "prod" and .promoted == false and
        (.error | contains("removed")) and .recordedBy == "promo-promoter")' "$T/state/promoter/$A.json"
}

@test "exclusive: a new commit on a holder awaiting approval: its hop's PromotionRecord says Superseded by the new SHA" {
    policies false
    up
    a_holds_staging_b_waits
    gate "$A" staging 0
    wait_at 60 "$A" awaiting-approval staging
    promoctl track --repo acme/shop --pr 1 --sha "$(sha_of a2)" --env dev --app shop --state synced >/dev/null
    wait_at 60 "$B" testing staging
    grep -q 'event=released .*tracker='"$A"'.*reason=Superseded' "$T/promoter.log"
    wait_for 30 jq -e '[.promotions[] | select(.outcome == "Superseded")] | length == 1' "$T/state/promoter/$A.json"
    jq -e --arg old "$SHA_A" --arg new "$(sha_of a2)" '[.promotions[] | select(.outcome == "Superseded")][0] |
        .sourceEnvironment == "staging" and .headSHA == $old and .generation == 1 and
        .supersededBy.headSHA == $new and .supersededBy.generation == 2' "$T/state/promoter/$A.json"
}

@test "exclusive: false lets both PRs into the shared application at once" {
    policies true false
    up
    gate "$A" dev 0
    wait_at 60 "$A" testing staging
    gate "$B" dev 0
    wait_at 60 "$B" testing staging
    [ "$(patches shop-staging | tr '\n' ' ')" = "$SHA_A $SHA_B " ]
    [ -z "$(events_of "$B" Queued)" ]
    [ ! -e "$T/state/targets" ] || [ -z "$(ls "$T/state/targets")" ]
}

@test "exclusive: per-PR preview applications never wait for each other" {
    policies true true 'shop-staging-pr-${PR_NUMBER}'
    up
    gate "$A" dev 0
    gate "$B" dev 0
    wait_at 60 "$A" testing staging
    wait_at 60 "$B" testing staging
    [ "$(patches shop-staging-pr-1)" = "$SHA_A" ]
    [ "$(patches shop-staging-pr-2)" = "$SHA_B" ]
    [ -z "$(events_of "$B" Queued)" ]
}

@test "exclusive: a holder quiet for longer than its hold timeout releases it (HoldExpired), the next in line goes" {
    # the hold timeout is dev-to-staging's timeout (8 s) plus deployTimeout (4 s)
    printf 'deployTimeout: 4s\n' >> "$T/promo.yaml"
    DEV_TIMEOUT=8s policies true
    up
    a_holds_staging_b_waits            # A's staging test never ends: A is quiet
    [ "$(jq -r .timeoutMs "$T"/state/targets/shop-staging-*.json)" = 12000 ]
    [ "$(jq -r '.waiting | map(.tracker) | join(" ")' "$T"/state/targets/shop-staging-*.json)" = "$B" ]
    wait_at 60 "$B" testing staging
    [ "$(events_of "$A" HoldExpired | wc -l)" = 1 ]
    run events_of "$A" HoldExpired
    assert_output --partial "longer than its hold timeout of 12 s"
    [ "$(patches shop-staging | tr '\n' ' ')" = "$SHA_A $SHA_B " ]
    [ "$(holder shop-staging)" = "$B" ]
}
