#!/usr/bin/env bats
# Hardening: secrets stay secret (a canary token planted in every token file
# and token variable appears in no log line, no argv, no state file, no audit
# event and no message), token files readable by others are warned about,
# and the HTTP client meets hostile servers (hanging, endless body, redirect
# or Location to another host, garbage JSON) through a real stage without
# hanging past its timeout, following a redirect, or crashing.

load helpers

setup() {
    promo_setup
    mkdir -p -m 700 "$T/run"
}

teardown() {
    promo_teardown
}

# ---- secrets ----

# canary_policy - dev -> staging with a Jenkins, a GitHub Actions and a
# GitLab test, promoted through Argo CD and GitHub (labels, status, comment).
canary_policy() {
    cat > "$T/policies/dev-to-staging.yaml" <<'YAML'
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
      job: promo/smoke
    - name: e2e
      provider: github-actions
      job: e2e.yml
    - name: lint
      provider: gitlab
      job: acme/shop
  promotion:
    argocd:
      cluster: default
      application: shop-${TARGET_ENV}
    github:
      addLabels: ["promoted:${TARGET_ENV}"]
      commitStatus: promo/${TARGET_ENV}
      comment: "Promoted ${SHORT_SHA} to ${TARGET_ENV}."
YAML
}

# tap NAME - a promo-pipe between the stage that sends to NAME.sock and the
# one that binds it: every message is copied to $T/tap-NAME.ndjson.
tap() {
    promo_start "tap-$1" promo-pipe -c "$PROMO_CONFIG" --in "ipc://$T/run/tap-$1.sock" \
        --out "ipc://$T/run/$1.sock" -- tee -a "$T/tap-$1.ndjson"
}

@test "a canary token in every token file and variable is in no log, argv, state file, audit event or message" {
    for p in promo-watcher promo-policy promo-trigger promo-monitor promo-promoter promo-sim promo-pipe; do
        [ -x "$PROMO_BIN/$p" ] || skip "$p is not built"
    done
    CANARY="canary$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
    printf '%sjenkins\n' "$CANARY" > "$T/jenkins.token"
    printf '%sgithub\n' "$CANARY" > "$T/github.token"
    printf '%sargocd\n' "$CANARY" > "$T/argocd.token"
    chmod 600 "$T"/*.token
    export PROMO_GITLAB_TOKEN="${CANARY}gitlab"          # this one from the environment
    cat > "$T/sim-auth.yaml" <<YAML
jenkins: {user: promo, token: ${CANARY}jenkins}
github: {token: ${CANARY}github}
gitlab: {token: ${CANARY}gitlab}
argocd: {token: ${CANARY}argocd}
YAML
    printf 'queueMs: 10\nrunMs: 30\n' > "$T/scenario.yaml"
    promo_start sim promo-sim --listen 127.0.0.1:0 --port-file "$T/sim.port" --scenario "$T/scenario.yaml" \
        --auth "$T/sim-auth.yaml" --log "$T/sim-requests.ndjson"
    wait_for 10 test -s "$T/sim.port"
    PORT="$(cat "$T/sim.port")"
    cat >> "$T/promo.yaml" <<YAML
jenkins: {url: http://127.0.0.1:$PORT/jenkins, user: promo, tokenFile: $T/jenkins.token}
github: {apiUrl: http://127.0.0.1:$PORT/github, tokenFile: $T/github.token}
gitlab: {url: http://127.0.0.1:$PORT/gitlab}
argocd:
  clusters:
    default: {url: http://127.0.0.1:$PORT/argocd, tokenFile: $T/argocd.token}
YAML
    canary_policy
    for s in policy trigger monitor promoter; do tap "$s"; done
    promo_start promoter promo-promoter -c "$PROMO_CONFIG" -v
    promo_start monitor promo-monitor -c "$PROMO_CONFIG" -v --out "ipc://$T/run/tap-promoter.sock"
    promo_start trigger promo-trigger -c "$PROMO_CONFIG" -v --out "ipc://$T/run/tap-monitor.sock"
    promo_start policy promo-policy -c "$PROMO_CONFIG" -v --out "ipc://$T/run/tap-trigger.sock"
    promo_start watcher promo-watcher -c "$PROMO_CONFIG" -v --out "ipc://$T/run/tap-policy.sock"
    sim_deploy "http://127.0.0.1:$PORT" shop "$(sha_of 1)"
    promoctl track --repo acme/shop --pr 1 --sha "$(sha_of 1)" --env dev --app shop --ref feature/x --state synced >/dev/null
    # argv of every running stage, while they work
    for s in watcher policy trigger monitor promoter; do
        pid="$(promo_pid "$s")"
        tr '\0' ' ' < "/proc/$pid/cmdline" > "$T/argv-$s"
        [ -s "$T/argv-$s" ]
    done
    promoted() { [ -n "$(promoctl events --json 2>/dev/null | jq -r 'select(.reason == "Promoted")')" ]; }
    wait_for 60 promoted || { promoctl show acme-shop-1 >&3; false; }
    sleep 1
    # the tokens were really used: the sim accepted each system's credential
    for sys in jenkins github gitlab argocd; do
        [ "$(jq -r --arg s "$sys" 'select(.system == $s) | .headers | (.authorization // .["private-token"] // "")' \
            "$T/sim-requests.ndjson" | sort -u)" = "<redacted:ok>" ]
    done
    for s in watcher policy trigger monitor promoter; do
        pid="$(promo_pid "$s")"
        tr '\0' ' ' < "/proc/$pid/cmdline" >> "$T/argv-$s"
    done
    [ -s "$T/tap-trigger.ndjson" ] && [ -s "$T/tap-monitor.ndjson" ] && [ -s "$T/tap-promoter.ndjson" ]
    [ -s "$T/state/audit.log" ]
    # the canary, whole, and as Basic-auth base64 (promo:<token>)
    b64="$(printf 'promo:%sjenkins' "$CANARY" | base64 -w0)"
    files=("$T"/{watcher,policy,trigger,monitor,promoter}.log "$T"/tap-*.log "$T"/tap-*.ndjson "$T"/argv-*)
    run grep -rl -e "$CANARY" -e "$b64" "${files[@]}" "$T/state"
    assert_failure 1
    refute_output
    # and the logs do say what was done: this is not an empty test
    grep -q 'event=triggered' "$T/trigger.log"
    grep -q 'event=promoted' "$T/promoter.log"
}

@test "a token file readable by group or others is warned about; 0600 is not" {
    printf 'secret-token-1\n' > "$T/github.token"
    chmod 644 "$T/github.token"
    printf 'github: {apiUrl: http://127.0.0.1:1/github, tokenFile: %s}\n' "$T/github.token" >> "$T/promo.yaml"
    run promo-policy --in - --out - --once < /dev/null
    assert_output --partial "event=config_token_mode"
    assert_output --partial "github.token"
    refute_output --partial "secret-token-1"
    chmod 640 "$T/github.token"
    run promo-policy --in - --out - --once < /dev/null
    assert_output --partial "event=config_token_mode"
    chmod 600 "$T/github.token"
    run promo-policy --in - --out - --once < /dev/null
    assert_success
    refute_output --partial "config_token_mode"
}

# ---- hostile HTTP servers ----

# hostile MODE NAME [OTHER_URL] - start tests/bats/fixtures/hostile.py; its
# port in $T/NAME.port, its requests in $T/NAME.requests.
hostile() {
    command -v python3 >/dev/null || skip "python3 is not installed"
    : > "$T/$2.requests"
    promo_start "$2" python3 "$REPO/tests/bats/fixtures/hostile.py" "$1" "$T/$2.port" "$T/$2.requests" "${3:-}"
    wait_for 10 test -s "$T/$2.port"
}

# trigger_against PROVIDER URL - a tracker with one required PROVIDER test,
# the CI at URL, promo-trigger (-v, PROMO_HTTP_TIMEOUT_MS=1500) on its
# socket, and promo-policy's message for the tracker sent to it.
trigger_against() {
    printf 'jenkins-token\n' > "$T/jenkins.token"
    printf 'gitlab-token\n' > "$T/gitlab.token"
    chmod 600 "$T"/*.token
    cat >> "$T/promo.yaml" <<YAML
jenkins: {url: $2, user: promo, tokenFile: $T/jenkins.token}
gitlab: {url: $2, tokenFile: $T/gitlab.token}
YAML
    cat > "$T/policies/p.yaml" <<YAML
apiVersion: promo.dev/v1alpha1
kind: PromotionPolicy
metadata: {name: dev-to-staging}
spec:
  sourceEnvironment: dev
  targetEnvironment: staging
  timeout: 2m
  externalTests:
    - {name: t1, provider: $1, job: acme/shop}
YAML
    promoctl track --repo acme/shop --pr 1 --sha "$(sha_of 1)" --env dev --app shop --ref feature/x --state synced >/dev/null
    promo_start trigger env PROMO_HTTP_TIMEOUT_MS=1500 promo-trigger -v --out -
    wait_for 10 test -S "$T/run/trigger.sock"
    T0=$(( $(date +%s%N) / 1000000 ))
    jq -c '{v: 1, kind: "tracker", from: "test", name: .metadata.name, generation: .metadata.generation, tracker: .}' \
        "$T/state/trackers/acme-shop-1.json" | promo-policy --in - 2>/dev/null
}

# alive NAME - the process started as NAME still runs.
alive() {
    kill -0 "$(promo_pid "$1")"
}

# no_sanitizer_report - the trigger's log has no sanitizer report or crash.
no_crash() {
    ! grep -Eq 'ERROR: AddressSanitizer|runtime error:|Segmentation|Aborted' "$T/trigger.log"
}

@test "hostile: a server that hangs costs one timeout per attempt, no more; the stage lives on" {
    hostile hang h
    trigger_against jenkins "http://127.0.0.1:$(cat "$T/h.port")/jenkins"
    timed_out() { grep -q 'event=http .*error=timeout' "$T/trigger.log"; }
    wait_for 6 timed_out || { cat "$T/trigger.log" >&3; false; }
    t1=$(( $(date +%s%N) / 1000000 ))
    [ $(( t1 - T0 )) -lt 5000 ]
    ms="$(grep -m1 'event=http .*error=timeout' "$T/trigger.log" | sed 's/.* ms=\([0-9]*\).*/\1/')"
    [ "$ms" -ge 1400 ] && [ "$ms" -le 2500 ]
    alive trigger
    no_crash
    # nothing was recorded as triggered on an answer that never came
    ! grep -q 'event=triggered' "$T/trigger.log"
}

@test "hostile: an endless body is cut at the size cap (too_big), memory stays bounded, the stage lives on" {
    hostile endless e
    trigger_against gitlab "http://127.0.0.1:$(cat "$T/e.port")/gitlab"
    too_big() { grep -q 'event=http .*error=too_big' "$T/trigger.log"; }
    wait_for 15 too_big || { cat "$T/trigger.log" >&3; false; }
    alive trigger
    hwm="$(awk '/^VmHWM/ { print $2 }' "/proc/$(promo_pid trigger)/status")"
    [ "$hwm" -lt 200000 ]          # kB: the 4 MiB cap, not the gigabytes sent (ASan builds use more)
    no_crash
    ! grep -q 'event=triggered' "$T/trigger.log"
}

@test "hostile: a redirect to another host is not followed, and no credential reaches that host" {
    hostile record other
    hostile redirect r "http://localhost:$(cat "$T/other.port")/stolen"
    trigger_against gitlab "http://127.0.0.1:$(cat "$T/r.port")/gitlab"
    refused() { grep -q 'event=trigger_refused .*redirect to another host' "$T/trigger.log"; }
    wait_for 10 refused || { cat "$T/trigger.log" >&3; false; }
    sleep 1
    [ -s "$T/r.requests" ]
    [ ! -s "$T/other.requests" ]
    alive trigger
    no_crash
    ! grep -q 'event=triggered' "$T/trigger.log"
}

@test "hostile: a Jenkins Location header (201 or 302) pointing at another host is refused; no credential reaches it" {
    hostile record other
    hostile location l "http://localhost:$(cat "$T/other.port")/queue/item/7/"
    trigger_against jenkins "http://127.0.0.1:$(cat "$T/l.port")/jenkins"
    refused() { grep -q 'event=trigger_refused .*is not a queue item' "$T/trigger.log"; }
    wait_for 10 refused || { cat "$T/trigger.log" >&3; false; }
    [ -s "$T/l.requests" ]
    [ ! -s "$T/other.requests" ]
    alive trigger
    no_crash
}

@test "hostile: garbage JSON answers fail closed with an error naming the input; no crash, no trigger recorded" {
    hostile garbage g
    trigger_against gitlab "http://127.0.0.1:$(cat "$T/g.port")/gitlab"
    complained() { grep -Eq 'event=(retry|trigger_refused|retry_exhausted)' "$T/trigger.log"; }
    wait_for 15 complained || { cat "$T/trigger.log" >&3; false; }
    sleep 2
    alive trigger
    no_crash
    [ "$(wc -l < "$T/g.requests")" -ge 1 ]
    ! grep -q 'event=triggered' "$T/trigger.log"
    # the record holds no run taken from a garbage answer
    if [ -f "$T/state/trigger/acme-shop-1.json" ]; then
        run jq -r '[.. | objects | select(has("runId")) | .runId] | map(select(. != null)) | length' \
            "$T/state/trigger/acme-shop-1.json"
        [ "$output" = 0 ] || [ "$output" = "" ]
    fi
}

# ---- valgrind ----

@test "valgrind: promo-watcher and promo-policy under traffic, then SIGTERM: no leak, no error" {
    command -v valgrind >/dev/null || skip "valgrind is not installed"
    ldd "$PROMO_BIN/promo-policy" | grep -q 'libasan' && skip "a sanitizer build (valgrind cannot run it)"
    cp "$REPO/tests/bats/fixtures/policy-dev.yaml" "$T/policies/"
    for i in $(seq 1 50); do
        promoctl track --repo acme/shop --pr "$i" --sha "$(sha_of "$i")" --env dev --app shop --ref f --state synced >/dev/null
    done
    vg=(valgrind --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --error-exitcode=99 --track-fds=no)
    promo_start policy "${vg[@]}" --log-file="$T/vg-policy.txt" "$PROMO_BIN/promo-policy" --out -
    wait_for 20 test -S "$T/run/policy.sock"
    promo_start watcher "${vg[@]}" --log-file="$T/vg-watcher.txt" "$PROMO_BIN/promo-watcher"
    # traffic: the start-up resync, trackers added and changed, resyncs every 2 s, a reload
    for i in $(seq 51 80); do
        promoctl track --repo acme/shop --pr "$i" --sha "$(sha_of "$i")" --env dev --app shop --ref f --state synced >/dev/null
    done
    sleep 3
    kill -HUP "$(promo_pid policy)"
    printf 'not json\n' > "$T/state/trackers/broken-1.json"
    sleep 4
    n="$(grep -c '"kind":"tracker"' "$T/policy.log" || true)"
    [ "$n" -ge 80 ] || { tail -5 "$T/policy.log" >&3; false; }
    promo_stop watcher
    promo_stop policy
    for s in watcher policy; do
        grep -q 'ERROR SUMMARY: 0 errors' "$T/vg-$s.txt" || { grep -A30 'ERROR SUMMARY\|definitely lost\|Invalid' "$T/vg-$s.txt" >&3; false; }
        if grep -q 'definitely lost:' "$T/vg-$s.txt"; then
            grep -q 'definitely lost: 0 bytes' "$T/vg-$s.txt"
        fi
        grep -q 'All heap blocks were freed\|definitely lost: 0 bytes' "$T/vg-$s.txt"
    done
}
