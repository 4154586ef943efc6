#!/usr/bin/env bats
# The chain end to end: promo-sim plays Jenkins, GitLab and Argo CD; the five
# stages run with -c $PROMO_CONFIG; a tracker goes dev -> staging -> prod.
# Each test checks what the stages did by the state dir, promoctl, and the
# requests promo-sim received.

load helpers

SHA1=0123456789abcdef0123456789abcdef01234567
SHA2=89abcdef0123456789abcdef0123456789abcdef

setup() {
    for p in promo-watcher promo-policy promo-trigger promo-monitor promo-promoter promo-sim; do
        [ -x "$PROMO_BIN/$p" ] || skip "$p is not built"
    done
    promo_setup
}

teardown() {
    promo_teardown
}

# policies PROD_AUTO [DEV_JOB] - dev -> staging (jenkins and gitlab tests,
# autoPromote) and staging -> prod (autoPromote PROD_AUTO); prod ends the chain.
policies() {
    cat > "$T/policies/dev-to-staging.yaml" <<YAML
apiVersion: promo.dev/v1alpha1
kind: PromotionPolicy
metadata:
  name: dev-to-staging
spec:
  sourceEnvironment: dev
  targetEnvironment: staging
  timeout: 2m
  externalTests:
    - name: smoke
      provider: jenkins
      job: ${2:-promo/smoke}
      parameters:
        GIT_COMMIT: "\${HEAD_SHA}"
    - name: e2e
      provider: gitlab
      job: acme/e2e
      parameters:
        TARGET: "\${TARGET_ENV}"
  promotion:
    argocd:
      cluster: default
      application: shop-\${TARGET_ENV}
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
    - name: smoke
      provider: jenkins
      job: promo/smoke-staging
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

# track SHA - acme-shop-1 synced in dev at SHA (its application shop runs
# SHA in the sim's Argo CD: the monitor confirms it before tests count).
track() {
    sim_deploy "$SIM" shop "$1"
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

# argocd_requests METHOD APP - the sim's Argo CD requests for APP (NDJSON).
argocd_requests() {
    jq -c --arg m "$1" --arg a "$2" \
        'select(.system == "argocd" and .method == $m and (.path | test("/applications/" + $a + "($|/)")))' \
        "$T/requests.ndjson"
}

@test "the full chain: dev -> staging -> prod, done; show has both hops; Argo CD synced each target once at the SHA" {
    policies true
    sim_up
    pipeline_up
    track "$SHA1"
    wait_state 90 done prod
    run promoctl show acme-shop-1 --json
    assert_success
    [ "$(jq -r '[.view.hops[] | .source + ">" + .target + ":" + .state] | join(" ")' <<<"$output")" = \
      "dev>staging:promoted staging>prod:promoted prod>:done" ]
    [ "$(jq -r '.view.hops[0].tests | map(.name + "=" + .status) | sort | join(",")' <<<"$output")" = "e2e=passed,smoke=passed" ]
    [ -n "$(jq -r '.view.hops[1].promotedAt' <<<"$output")" ]
    [ "$(jq -r '.view.hops[1].syncedAt' <<<"$output")" != "" ]      # prod seen synced by the watcher
    run promoctl show acme-shop-1
    assert_output --partial "dev -> staging"
    assert_output --partial "staging -> prod"
    assert_output --partial "nothing: prod is the end of its chain"
    [ "$(argocd_requests POST shop-staging | jq -r 'select(.status == 200) | .body.revision' | sort -u)" = "$SHA1" ]
    [ "$(argocd_requests POST shop-prod | jq -r 'select(.status == 200) | .body.revision' | sort -u)" = "$SHA1" ]
    [ "$(argocd_requests POST shop-staging | jq -s 'map(select(.status == 200)) | length')" = 1 ]
    [ -z "$(argocd_requests POST shop-dev)" ]
    run jq -r '.state + " " + .environment' "$T/state/watcher/acme-shop-1.json"
    assert_output "synced prod"
}

@test "the approval path: awaiting-approval before prod until promoctl approve; promotedBy names the approver" {
    policies false
    sim_up
    pipeline_up
    track "$SHA1"
    wait_state 60 awaiting-approval staging
    run promoctl show acme-shop-1
    assert_output --partial "approval: promoctl approve acme-shop-1"
    sleep 3                               # a resync or two: still waiting, nothing done to prod
    state_is awaiting-approval staging
    [ -z "$(argocd_requests PATCH shop-prod)" ]
    run promoctl approve acme-shop-1 --by alice
    assert_success
    wait_state 60 done prod
    run promoctl show acme-shop-1 --json
    [[ "$(jq -r '.view.hops[1].promotedBy' <<<"$output")" == *alice* ]]
    [ "$(jq -r '.view.hops[1].approvedBy' <<<"$output")" = "alice" ]
    run promoctl events --json --tracker acme-shop-1
    [ "$(jq -r 'select(.reason == "Approved") | .message' <<<"$output")" = \
      "promotion staging -> prod at ${SHA1:0:12} approved by alice" ]
}

@test "a required failure blocks: failed in dev, says why, and Argo CD is never patched" {
    policies true promo/smoke-fail
    sim_up
    pipeline_up
    track "$SHA1"
    wait_state 60 failed dev
    sleep 3
    state_is failed dev
    run promoctl list
    assert_output --partial "a required test failed in dev"
    [ -z "$(argocd_requests PATCH shop-staging)" ]
    [ -z "$(argocd_requests POST shop-staging)" ]
    run promoctl show acme-shop-1 --json
    [ "$(jq -r '.view.hops[0].tests[] | select(.name == "smoke") | .status' <<<"$output")" = "failed" ]
}

@test "a new SHA pushed mid-way restarts from dev and is never promoted on stale results" {
    policies false
    sim_up
    pipeline_up
    track "$SHA1"
    wait_state 60 awaiting-approval staging
    mark="$(wc -l < "$T/requests.ndjson")"
    track "$SHA2"
    run promoctl list --json
    [ "$(jq -r '.[0].generation' <<<"$output")" = 2 ]
    # the approval of the old SHA is no longer possible; the new one starts in dev
    wait_state 60 awaiting-approval staging
    run promoctl show acme-shop-1 --json
    [ "$(jq -r .headSHA <<<"$(jq .spec <<<"$output")")" = "$SHA2" ]
    run promoctl approve acme-shop-1 --by bob
    assert_success
    wait_state 60 done prod
    tail -n +"$((mark + 1))" "$T/requests.ndjson" > "$T/after.ndjson"
    # after the push: no Argo CD sync or patch at the old SHA, syncs at the new one
    [ -z "$(jq -c --arg s "$SHA1" 'select(.system == "argocd" and .method != "GET" and (tostring | contains($s)))' "$T/after.ndjson")" ]
    [ "$(jq -r 'select(.system == "argocd" and .method == "POST" and .status == 200) | .body.revision' "$T/after.ndjson" | sort -u)" = "$SHA2" ]
    # the new SHA's tests ran in dev again (a Jenkins trigger with GIT_COMMIT=SHA2)
    [ -n "$(jq -c --arg s "$SHA2" 'select(.system == "jenkins" and .method == "POST" and (tostring | contains($s)))' "$T/after.ndjson")" ]
}

@test "Argo CD answering 503 then recovering: the chain still completes, each target synced once" {
    policies true
    sim_up "$(printf 'argocd:\n  applications:\n    shop-staging: {flaky: 3}\n    shop-prod: {flaky: 2}\n')"
    pipeline_up
    track "$SHA1"
    wait_state 90 done prod
    [ "$(argocd_requests GET shop-staging | jq -s 'map(select(.status == 503)) | length')" -ge 1 ] ||
        [ "$(argocd_requests PATCH shop-staging | jq -s 'map(select(.status == 503)) | length')" -ge 1 ]
    [ "$(argocd_requests POST shop-staging | jq -s 'map(select(.status == 200)) | length')" = 1 ]
    [ "$(argocd_requests POST shop-prod | jq -s 'map(select(.status == 200)) | length')" = 1 ]
}

@test "the audit log tells the story: each promotion once, with its key" {
    policies true
    sim_up
    pipeline_up
    track "$SHA1"
    wait_state 90 done prod
    run promoctl events --json --tracker acme-shop-1
    assert_success
    [ "$(jq -r 'select(.reason == "Promoted") | .type' <<<"$output" | sort | uniq -c | awk '{print $1, $2}')" = "2 Normal" ]
    [ "$(jq -r 'select(.reason == "Promoted") | .message' <<<"$output" | grep -c 'dev -> staging')" = 1 ]
    [ "$(jq -r 'select(.reason == "Promoted") | .message' <<<"$output" | grep -c 'staging -> prod')" = 1 ]
    [ "$(jq -r 'select(.reason == "Promoted") | .key' <<<"$output" | sort -u | grep -c '^pk-[0-9a-f]\{24\}$')" = 2 ]
    [ "$(jq -r 'select(.tracker != "acme-shop-1")' <<<"$output")" = "" ]
    run promoctl events
    assert_output --partial "Promoted"
}

@test "DeployTimeout: a target that never gets healthy fails the tracker, says why, audits once" {
    printf 'deployTimeout: 2s\n' >> "$T/promo.yaml"
    policies true
    sim_up "$(printf 'argocd:\n  applications:\n    shop-staging: {syncOutcome: degraded}\n')"
    pipeline_up
    track "$SHA1"
    wait_state 60 failed staging
    run promoctl list
    assert_output --partial "DeployTimeout"
    run jq -r '.conditions[0].type + " " + .conditions[0].status + " " + .environment' "$T/state/watcher/acme-shop-1.json"
    assert_output "DeployTimeout True staging"
    sleep 3
    [ "$(promoctl events --json | jq -r 'select(.reason == "DeployTimeout") | .type')" = "Warning" ]
    [ -z "$(argocd_requests POST shop-prod)" ]
}

@test "spec-tracked promotions: a kustomize image into staging, a helm parameter of source 1 into prod; project and appNamespace on every call; the watcher sees each reached" {
    policies true
    # the dev -> staging policy sets an image of a kustomize app; staging ->
    # prod a helm parameter of the second source of a multi-source app
    python3 - "$T/policies" <<'PY'
import sys
d = sys.argv[1]
for f, extra in (("dev-to-staging.yaml",
                  "      project: shop\n      appNamespace: team-apps\n"
                  "      update:\n        kustomizeImage: {image: ghcr.io/acme/shop, tag: \"${SHORT_SHA}\"}\n"),
                 ("staging-to-prod.yaml",
                  "      project: shop\n      appNamespace: team-apps\n      source: 1\n"
                  "      update:\n        helmParameter: {name: image.tag, value: \"${HEAD_SHA}\"}\n")):
    p = d + "/" + f
    open(p, "a").write(extra)
PY
    sim_up "$(cat <<'YAML'
queueMs: 50
argocd:
  autoCreate: false
  applications:
    shop-staging:
      namespace: team-apps
      project: shop
      kustomize: {images: ["ghcr.io/acme/shop:old"]}
    shop-prod:
      namespace: team-apps
      project: shop
      sources:
        - {repoURL: https://git.example.com/cfg.git, path: envs/prod, targetRevision: main}
        - {repoURL: https://charts.example.com, chart: shop, targetRevision: 1.2.0, helm: {parameters: [{name: image.tag, value: old}]}}
YAML
)"
    promo-policy --validate "$T/policies"
    pipeline_up
    track "$SHA1"
    wait_state 90 done prod
    # every Argo CD request about the two applications named the project and the namespace
    [ "$(jq -s '[.[] | select(.system == "argocd" and (.path | test("/applications/shop-(staging|prod)")))] |
        length > 0 and all(.[]; .status == 200 and ((.query.project == "shop" and .query.appNamespace == "team-apps") or
                                                    (.body.project == "shop" and .body.appNamespace == "team-apps")))' \
        "$T/requests.ndjson")" = true ]
    [ "$(argocd_requests PATCH shop-staging | jq -s 'length')" = 1 ]
    [ "$(argocd_requests PATCH shop-prod | jq -s 'length')" = 1 ]
    [ "$(argocd_requests POST shop-prod | jq -s 'map(select(.status == 200)) | length')" = 1 ]
    [ "$(argocd_requests POST shop-prod | jq -r '.body | has("revision")')" = false ]
    curl -fsS "$SIM/_sim/state" | jq -e --arg s "$SHA1" '.argocd.applications[] |
        select(.metadata.name == "shop-prod") | .spec.sources[1].helm.parameters == [{name:"image.tag",value:$s}] and
        .status.sync.status == "Synced" and .status.sync.comparedTo.sources == .spec.sources'
    curl -fsS "$SIM/_sim/state" | jq -e --arg t "ghcr.io/acme/shop:${SHA1:0:7}" '.argocd.applications[] |
        select(.metadata.name == "shop-staging") | .spec.source.kustomize.images == [$t]'
    run jq -r '.state + " " + .environment' "$T/state/watcher/acme-shop-1.json"
    assert_output "synced prod"
    run promoctl show acme-shop-1 --json
    [ "$(jq -r '.view.hops[1].argocd.project + "/" + .view.hops[1].argocd.appNamespace' <<<"$output")" = "shop/team-apps" ]
}
