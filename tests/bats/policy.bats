#!/usr/bin/env bats
# policy.bats - promo-policy: --validate, the command line, attaching policies,
# and reload with the stage running (valid edit, invalid edit, deleted file);
# promoctl policies.

load 'helpers'
bats_require_minimum_version 1.5.0

setup() {
    promo_setup
    cp "$REPO/examples/policies/dev-to-staging.yaml" "$REPO/examples/policies/staging-to-prod.yaml" "$T/policies/"
}

teardown() {
    promo_teardown
}

# track NAME-SUFFIX PR ENV - a synced tracker acme-shop-PR in ENV.
track() {
    promoctl track --repo acme/shop --pr "$1" --sha "$(sha_of "$1")" --env "$2" --app shop --state synced >/dev/null
}

# msg PR [GEN] - the watcher's message for tracker acme-shop-PR, from the state dir.
msg() {
    local name="acme-shop-$1"
    jq -c --arg n "$name" --argjson g "${2:-1}" \
        '{v: 1, kind: "tracker", from: "test", name: $n, generation: $g, tracker: .}' \
        "$T/state/trackers/$name.json"
}

# record PR FILTER - a field of promo-policy's record of acme-shop-PR.
record() {
    jq -r "$2" "$T/state/policy/acme-shop-$1.json" 2>/dev/null
}

record_is() {
    [ "$(record "$1" "$2")" = "$3" ]
}

# lines_more_than N - out.ndjson holds more than N lines (the stage still forwards).
lines_more_than() {
    [ "$(grep -c '"dev-to-staging-v2"' "$T/out.ndjson")" -gt "$1" ]
}

bad_policy() {
    cat > "$1" <<'YAML'
apiVersion: promo.dev/v1alpha1
kind: PromotionPolicy
metadata:
  name: broken
spec:
  sourceEnvironment: qa
  targetEnvironment: qa
  timeout: soon
  externalTests:
    - name: t
      provider: circleci
      job: ci-${ENV}
YAML
}

@test "--help lists --validate and exits 0" {
    run promo-policy --help
    assert_success
    assert_output --partial "--validate"
    assert_output --partial "promo-policy"
}

@test "--version exits 0" {
    run promo-policy --version
    assert_success
    assert_output --partial "promo-policy"
}

@test "a bad flag exits 100" {
    run promo-policy --no-such-flag
    assert_failure 100
    run promo-policy --in
    assert_failure 100
    run promo-policy extra-argument
    assert_failure 100
}

@test "--validate: the example set is valid, exit 0, chain printed" {
    run promo-policy --validate "$REPO/examples/policies"
    assert_success
    assert_output --partial "valid: 2 policies in 2 files"
    assert_output --partial "chain: dev → staging → prod"
    run promo-policy --validate "$REPO/examples/policies/dev-to-staging.yaml" "$REPO/examples/policies/staging-to-prod.yaml"
    assert_success
}

@test "--validate: an invalid file exits 100 with every error as file:line:col: message" {
    bad_policy "$T/bad.yaml"
    run --separate-stderr promo-policy --validate "$T/bad.yaml"
    assert_failure 100
    [ "$(printf '%s\n' "$stderr" | grep -c "^$T/bad.yaml:[0-9]*:[0-9]*: ")" -eq 4 ]
    printf '%s\n' "$stderr" | grep -q "^$T/bad.yaml:7:22: spec.targetEnvironment: must differ"
    printf '%s\n' "$stderr" | grep -q "^$T/bad.yaml:8:12: spec.timeout: "
    printf '%s\n' "$stderr" | grep -q "^$T/bad.yaml:11:17: spec.externalTests\[0\].provider: unknown provider \"circleci\""
    printf '%s\n' "$stderr" | grep -q "^$T/bad.yaml:12:12: spec.externalTests\[0\].job: unknown variable '\${ENV}'"
}

# argo_policy FILE ARGOCD-YAML - a dev-to-staging policy whose
# spec.promotion.argocd is ARGOCD-YAML (indented by the caller under "argocd:").
argo_policy() {
    cat > "$1" <<YAML
apiVersion: promo.dev/v1alpha1
kind: PromotionPolicy
metadata:
  name: argo
spec:
  sourceEnvironment: dev
  targetEnvironment: staging
  externalTests:
    - {name: smoke, provider: jenkins, job: promo/smoke}
  promotion:
    argocd:
$2
YAML
}

@test "--validate: each Argo CD update strategy, with project, appNamespace and source, is valid" {
    argo_policy "$T/kust.yaml" '      application: shop-${TARGET_ENV}
      project: shop
      appNamespace: team-apps
      update:
        kustomizeImage: {image: ghcr.io/acme/shop, tag: "${SHORT_SHA}"}'
    argo_policy "$T/helm.yaml" '      project: "${REPO_OWNER}"
      source: 1
      update:
        helmParameter: {name: image.tag, value: "${HEAD_SHA}"}'
    argo_policy "$T/merge.yaml" '      update:
        mergePatch: |
          {"spec": {"source": {"helm": {"valuesObject": {"image": {"tag": "${SHORT_SHA}"}}}}}}'
    argo_policy "$T/rev.yaml" '      source: 0
      update: targetRevision'
    for f in kust helm merge rev; do
        run --separate-stderr promo-policy --validate "$T/$f.yaml"
        assert_success
        [ -z "$stderr" ]
    done
}

@test "--validate: bad Argo CD update settings exit 100, each error as file:line:col: field.path: message" {
    argo_policy "$T/bad.yaml" '      project: "shop team"
      appNamespace: "${NAMESPACE}"
      source: 64
      update:
        kustomizeImage: {image: "a=b"}'
    run --separate-stderr promo-policy --validate "$T/bad.yaml"
    assert_failure 100
    [ "$(printf '%s\n' "$stderr" | grep -c "^$T/bad.yaml:[0-9]*:[0-9]*: ")" -eq 5 ]
    printf '%s\n' "$stderr" | grep -q "^$T/bad.yaml:12:16: spec.promotion.argocd.project: \"shop team\" is not a valid Argo CD name"
    printf '%s\n' "$stderr" | grep -q "^$T/bad.yaml:13:21: spec.promotion.argocd.appNamespace: unknown variable '\${NAMESPACE}'"
    printf '%s\n' "$stderr" | grep -q "^$T/bad.yaml:14:15: spec.promotion.argocd.source: must be an integer from 0 to 63, not 64"
    printf '%s\n' "$stderr" | grep -q "^$T/bad.yaml:16:33: spec.promotion.argocd.update.kustomizeImage.image: \"a=b\" is not an image name"
    printf '%s\n' "$stderr" | grep -q "^$T/bad.yaml:16:[0-9]*: spec.promotion.argocd.update.kustomizeImage.tag: required field is missing"
    argo_policy "$T/two.yaml" '      update:
        targetRevision: {}
        mergePatch: "{}"'
    run --separate-stderr promo-policy --validate "$T/two.yaml"
    assert_failure 100
    printf '%s\n' "$stderr" | grep -q "^$T/two.yaml:[0-9]*:[0-9]*: spec.promotion.argocd.update: must hold exactly one of targetRevision, kustomizeImage, helmParameter, mergePatch (found 2)"
    argo_policy "$T/json.yaml" '      source: "1"
      update:
        mergePatch: "{\"spec\": ${SHORT_SHA}}"'
    run --separate-stderr promo-policy --validate "$T/json.yaml"
    assert_failure 100
    printf '%s\n' "$stderr" | grep -q "^$T/json.yaml:12:15: spec.promotion.argocd.source: must be an index of spec.sources (an integer 0 to 63), not a string"
    printf '%s\n' "$stderr" | grep -q "^$T/json.yaml:14:21: spec.promotion.argocd.update.mergePatch: not valid JSON once its variables are filled in"
    argo_policy "$T/helm.yaml" '      update:
        helmParameter: {name: replicas, value: 3, forceString: true}'
    run --separate-stderr promo-policy --validate "$T/helm.yaml"
    assert_failure 100
    printf '%s\n' "$stderr" | grep -q "spec.promotion.argocd.update.helmParameter.value: must be a string, not a number"
    printf '%s\n' "$stderr" | grep -q "warning: spec.promotion.argocd.update.helmParameter: unknown field \"forceString\" ignored"
}

@test "--validate: cross-policy errors (ambiguous source, cycle) exit 100" {
    sed 's/name: staging-to-prod/name: other/; s/sourceEnvironment: staging/sourceEnvironment: dev/' \
        "$T/policies/staging-to-prod.yaml" > "$T/policies/other.yaml"
    run promo-policy --validate "$T/policies"
    assert_failure 100
    assert_output --partial "ambiguous"
    rm "$T/policies/other.yaml"
    sed 's/name: staging-to-prod/name: back/; s/targetEnvironment: prod/targetEnvironment: dev/' \
        "$T/policies/staging-to-prod.yaml" > "$T/policies/staging-to-prod.yaml.new"
    mv "$T/policies/staging-to-prod.yaml.new" "$T/policies/staging-to-prod.yaml"
    run promo-policy --validate "$T/policies"
    assert_failure 100
    assert_output --partial "cycle in the environment chain"
}

@test "--validate: warnings alone exit 0; usage errors and missing files exit 100" {
    sed 's/autoPromote: true/autoPromte: true/' "$T/policies/dev-to-staging.yaml" > "$T/warn.yaml"
    run --separate-stderr promo-policy --validate "$T/warn.yaml"
    assert_success
    [[ "$stderr" == *"warning: spec: unknown field \"autoPromte\" ignored (did you mean \"autoPromote\"?)"* ]]
    run promo-policy --validate
    assert_failure 100
    run promo-policy --validate --bogus "$T/warn.yaml"
    assert_failure 100
    run promo-policy --validate "$T/nope.yaml"
    assert_failure 100
    assert_output --partial "nope.yaml: cannot read"
}

@test "stage on stdio attaches the policy of the tracker's environment" {
    track 1 dev
    track 2 staging
    run --separate-stderr sh -c "{ $(printf '%q ' echo "$(msg 1)"); $(printf '%q ' echo "$(msg 2)"); } | promo-policy --in - --out -"
    assert_success
    [ "$(printf '%s\n' "$output" | wc -l)" -eq 2 ]
    [ "$(printf '%s\n' "$output" | jq -r 'select(.name == "acme-shop-1") | .policy.metadata.name')" = dev-to-staging ]
    [ "$(printf '%s\n' "$output" | jq -r 'select(.name == "acme-shop-2") | .policy.metadata.name')" = staging-to-prod ]
    [ "$(printf '%s\n' "$output" | jq -r 'select(.name == "acme-shop-2") | .policy.spec.autoPromote')" = false ]
    [ "$(printf '%s\n' "$output" | jq -r 'select(.name == "acme-shop-1") | .kind + " " + (.v|tostring) + " " + .from')" = "tracker 1 promo-policy" ]
    # the optional test keeps required: false, defaults are filled in
    [ "$(printf '%s\n' "$output" | jq -r 'select(.name == "acme-shop-2") | .policy.spec.externalTests[2].required')" = false ]
    [ "$(printf '%s\n' "$output" | jq -r 'select(.name == "acme-shop-1") | .policy.spec.externalTests[1].required')" = true ]
    record_is 1 .state attached
    record_is 1 .policy dev-to-staging
    record_is 2 .targetEnvironment prod
}

@test "stage: end of chain is done, an unknown environment is PolicyNotFound, nothing forwarded" {
    track 3 prod
    track 4 qa
    run --separate-stderr sh -c "{ $(printf '%q ' echo "$(msg 3)"); $(printf '%q ' echo "$(msg 4)"); } | promo-policy --in - --out -"
    assert_success
    assert_output ""
    record_is 3 .state done
    [[ "$(record 3 .reason)" == *"end of its chain (dev → staging → prod)"* ]]
    record_is 4 .state blocked
    record_is 4 '.conditions[0].type' PolicyNotFound
    [[ "$(record 4 '.conditions[0].message')" == *'"qa"'* ]]
}

@test "stage: a stale generation is dropped, unknown fields travel on" {
    track 5 dev
    old="$(msg 5 1)"
    promoctl track --repo acme/shop --pr 5 --sha "$(sha_of 55)" --env dev --app shop --state synced >/dev/null
    run --separate-stderr sh -c "$(printf '%q ' echo "$old") | promo-policy --in - --out -"
    assert_success
    assert_output ""
    new="$(msg 5 2 | jq -c '. + {future: {x: 1}}')"
    run --separate-stderr sh -c "$(printf '%q ' echo "$new") | promo-policy --in - --out -"
    assert_success
    [ "$(printf '%s\n' "$output" | jq -r '.generation')" = 2 ]
    [ "$(printf '%s\n' "$output" | jq -r '.future.x')" = 1 ]
    [ "$(printf '%s\n' "$output" | jq -r '.tracker.spec.headSHA')" = "$(sha_of 55)" ]
}

@test "stage: --dry-run writes no record" {
    track 6 dev
    run --separate-stderr sh -c "$(printf '%q ' echo "$(msg 6)") | promo-policy --in - --out - --dry-run"
    assert_success
    [ "$(printf '%s\n' "$output" | jq -r '.policy.metadata.name')" = dev-to-staging ]
    [ ! -e "$T/state/policy/acme-shop-6.json" ]
}

@test "stage: no valid policy set at start blocks with PolicyInvalid and forwards nothing" {
    rm "$T/policies/"*.yaml
    bad_policy "$T/policies/bad.yaml"
    track 7 dev
    run --separate-stderr sh -c "$(printf '%q ' echo "$(msg 7)") | promo-policy --in - --out -"
    assert_success
    assert_output ""
    record_is 7 .state blocked
    record_is 7 '.conditions[0].type' PolicyInvalid
    [[ "$stderr" == *"policies_rejected"* ]]
}

@test "reload with the stage running over ZeroMQ: valid edit, invalid edit, deleted file" {
    track 8 dev
    track 9 staging
    promo_start policy sh -c "exec promo-policy --out - > '$T/out.ndjson'"
    promo_start watcher promo-watcher
    wait_for 5 record_is 8 .policy dev-to-staging
    wait_for 5 grep -q '"dev-to-staging"' "$T/out.ndjson"

    # a valid edit takes effect within a second
    sed 's/name: dev-to-staging/name: dev-to-staging-v2/' "$T/policies/dev-to-staging.yaml" > "$T/edit.tmp"
    mv "$T/edit.tmp" "$T/policies/dev-to-staging.yaml"
    wait_for 1 record_is 8 .policy dev-to-staging-v2
    wait_for 5 grep -q '"dev-to-staging-v2"' "$T/out.ndjson"

    # an invalid edit keeps the last valid set, is logged and recorded on the trackers
    sed 's/provider: jenkins/provider: circleci/' "$T/policies/dev-to-staging.yaml" > "$T/edit.tmp"
    mv "$T/edit.tmp" "$T/policies/dev-to-staging.yaml"
    wait_for 2 record_is 8 '.conditions[0].type' PolicyInvalid
    record_is 8 .policy dev-to-staging-v2
    record_is 8 .state attached
    record_is 9 '.conditions[0].type' PolicyInvalid
    [[ "$(record 8 '.conditions[0].message')" == *'unknown provider "circleci"'* ]]
    grep -q 'event=policies_rejected' "$T/policy.log"
    grep -q 'event=policy_invalid.*circleci' "$T/policy.log"
    run promoctl policies
    assert_failure 100
    assert_output --partial 'unknown provider "circleci"'
    n0="$(grep -c '"dev-to-staging-v2"' "$T/out.ndjson")"
    wait_for 5 lines_more_than "$n0"

    # a deleted file: the set without it is valid; dev is no longer a source
    rm "$T/policies/dev-to-staging.yaml"
    wait_for 2 record_is 8 '.conditions[0].type' PolicyNotFound
    record_is 8 .state blocked
    record_is 9 .policy staging-to-prod
    [ "$(record 9 '.conditions | length')" = 0 ]
    kill -0 "$(promo_pid policy)"
}

@test "promoctl policies lists the set and its chain; --json" {
    run promoctl policies
    assert_success
    assert_output --partial "dev-to-staging"
    assert_output --partial "dev → staging"
    assert_output --partial "visual-diff?"
    assert_output --partial "chain: dev → staging → prod"
    run promoctl policies --json
    assert_success
    [ "$(printf '%s\n' "$output" | jq -r '.valid')" = true ]
    [ "$(printf '%s\n' "$output" | jq -r '.chains[0] | join(" ")')" = "dev staging prod" ]
    [ "$(printf '%s\n' "$output" | jq -r '.policies[1].autoPromote')" = false ]
    run promoctl policies --bogus
    assert_failure 100
}
