#!/usr/bin/env bats
# promo-pipe: its command line; a child that writes garbage, one that exits,
# one that is slow (backpressure, bounded memory), one stopped by SIGTERM;
# and issue 9 end to end: the built-in trigger and monitor swapped for
# examples/custom-stage/acme-ci-stage under supervisord, a tracker promoted.

load helpers

SHA1=0123456789abcdef0123456789abcdef01234567

setup() {
    [ -x "$PROMO_BIN/promo-pipe" ] || skip "promo-pipe is not built"
    promo_setup
}

teardown() {
    promo_teardown
}

# msg N - one valid tracker message line, N in its name.
msg() {
    printf '{"v":1,"kind":"tracker","name":"t-%s","generation":1}\n' "$1"
}

# rss_kb PID - resident set size in KiB.
rss_kb() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# ---- command line ----

@test "pipe: --help names the command operand and exits 0" {
    run promo-pipe --help
    assert_success
    assert_output --partial "-- COMMAND [ARG...]"
    assert_output --partial "--in ENDPOINT"
}

@test "pipe: --version exits 0" {
    run promo-pipe --version
    assert_success
    assert_output --regexp '^promo-pipe [0-9]'
}

@test "pipe: an unknown flag is a usage error (100)" {
    run promo-pipe --bogus -- cat
    [ "$status" -eq 100 ]
    assert_output --partial "unknown option: --bogus"
}

@test "pipe: a missing command is a usage error (100), also with a bare --" {
    run promo-pipe --in - --out -
    [ "$status" -eq 100 ]
    assert_output --partial "missing command"
    run promo-pipe --in - --out - --
    [ "$status" -eq 100 ]
    assert_output --partial "missing command"
}

@test "pipe: --once is refused (100): the command decides when it ends" {
    run promo-pipe --once -- cat
    [ "$status" -eq 100 ]
    assert_output --partial "--once is not supported"
}

@test "pipe: a command that cannot be started exits 100 and binds nothing for long" {
    run promo-pipe --in "ipc://$T/run/x.sock" -- "$T/no-such-program"
    [ "$status" -eq 100 ]
    assert_output --partial "event=exec_failed"
}

@test "pipe: the command's own flags are not parsed by promo-pipe" {
    msg 1 > "$T/in"
    # -v is promo-pipe's flag too: after the command name it is grep's
    run sh -c 'promo-pipe --in - --out - -- grep -v -e nothing < "$1" 2>/dev/null' _ "$T/in"
    assert_success
    [ "$output" = "$(msg 1)" ]
}

# ---- stdio: lines through, garbage, exit status ----

@test "pipe: stdin to cat to stdout: every message through, in order, exit 0" {
    for i in 1 2 3; do msg "$i"; done > "$T/in"
    run sh -c 'promo-pipe --in - --out - -- cat < "$1" 2>"$2"' _ "$T/in" "$T/err"
    assert_success
    [ "$(printf '%s\n' "$output" | jq -r .name | tr '\n' ' ')" = "t-1 t-2 t-3 " ]
}

@test "pipe: a child that writes garbage: quarantined, counted, nothing forwarded" {
    cat > "$T/garbage.sh" <<'SH'
#!/bin/sh
echo 'not json at all'
echo '{"v":1,"kind":"tracker"'
echo '{"v":2,"kind":"tracker","name":"x"}'
echo '["an","array"]'
printf '{"v":1,"kind":"tracker","name":"\377"}\n'
cat > /dev/null
SH
    chmod +x "$T/garbage.sh"
    msg 1 > "$T/in"
    run sh -c 'promo-pipe --in - --out - -- "$1" < "$2" 2>"$3"' _ "$T/garbage.sh" "$T/in" "$T/err"
    assert_success
    [ -z "$output" ]                                  # nothing forwarded
    grep -q 'event=pipe_stop .*bad=5' "$T/err"        # counted
    [ "$(grep -c 'event=bad_message from=child' "$T/err")" -eq 5 ]
    grep -q 'reason="unsupported version 2"' "$T/err"
    grep -q 'reason="invalid utf-8"' "$T/err"
    [ "$(ls "$T/state/quarantine" | grep -c '^pipe\.child\..*\.bad$')" -eq 5 ]
    grep -rq 'not json at all' "$T/state/quarantine"
}

@test "pipe: a good line among bad ones is forwarded, the bad ones are not" {
    run sh -c 'promo-pipe --in - --out - -- sh -c "echo garbage; cat; echo {oops" < "$1" 2>/dev/null' _ \
        <(msg 7)
    assert_success
    [ "$output" = "$(msg 7)" ]
}

@test "pipe: a child that exits: promo-pipe exits with its status, lines written before are forwarded" {
    msg 9 > "$T/line"
    run sh -c 'promo-pipe --out - -- sh -c "cat \"\$1\"; exit 42" _ "$1" 2>/dev/null' _ "$T/line"
    [ "$status" -eq 42 ]
    [ "$output" = "$(msg 9)" ]
}

@test "pipe: a child killed by a signal: promo-pipe exits 128+N" {
    run sh -c 'promo-pipe --out - -- sh -c "kill -KILL \$\$" 2>/dev/null'
    [ "$status" -eq 137 ]
}

@test "pipe: a child that exits while promo-pipe serves a socket: promo-pipe exits too" {
    promo_start pipe promo-pipe --in "ipc://$T/run/in.sock" -- sh -c 'sleep 0.5; exit 3'
    pid="$(promo_pid pipe)"
    wait_for 10 sh -c "! kill -0 $pid 2>/dev/null"
    run wait "$pid"
    [ "$status" -eq 3 ]
}

@test "pipe: SIGTERM reaches the child; promo-pipe waits and exits with its status" {
    cat > "$T/trap.sh" <<SH
#!/bin/sh
trap 'echo got-term > "$T/term"; exit 7' TERM
while :; do sleep 0.1; done
SH
    chmod +x "$T/trap.sh"
    promo_start pipe promo-pipe --in "ipc://$T/run/in.sock" -- "$T/trap.sh"
    pid="$(promo_pid pipe)"
    wait_for 10 grep -q event=child_start "$T/pipe.log"
    kill -TERM "$pid"
    wait_for 10 sh -c "! kill -0 $pid 2>/dev/null"
    run wait "$pid"
    [ "$status" -eq 7 ]
    [ "$(cat "$T/term")" = got-term ]
}

@test "pipe: the child runs with an empty signal mask, default dispositions, only fds 0-2" {
    run promo-pipe --in "ipc://$T/run/in.sock" --notify-fd 2 -- sh -c \
        'grep -E "^Sig(Blk|Ign):" /proc/self/status > "$1"; ls /proc/self/fd > "$2"' _ "$T/sig" "$T/fds"
    assert_success
    grep -Eq '^SigBlk:[[:space:]]*0+$' "$T/sig"
    grep -Eq '^SigIgn:[[:space:]]*0+$' "$T/sig"
    # ls's own: 0 1 2, and 3 for the directory it lists; no zmq, signalfd or notify fd
    [ "$(sort -n "$T/fds" | tr '\n' ' ')" = "0 1 2 3 " ]
}

@test "pipe: the child's environment has PROMO_STATE_DIR, PROMO_RUN_DIR, PROMO_CONFIG" {
    run promo-pipe -- sh -c 'env > "$1"' _ "$T/env"
    assert_success
    grep -qx "PROMO_STATE_DIR=$T/state" "$T/env"
    grep -qx "PROMO_RUN_DIR=$T/run" "$T/env"
    grep -qx "PROMO_CONFIG=$PROMO_CONFIG" "$T/env"
    ! grep -q '^PROMO_DRY_RUN=' "$T/env"
    run promo-pipe --dry-run -- sh -c 'env > "$1"' _ "$T/env"
    grep -qx "PROMO_DRY_RUN=1" "$T/env"
}

# ---- ZeroMQ: binds like the stage it replaces, taps, backpressure ----

@test "pipe: --in binds and refuses an endpoint in use; a tee tap sees what is pushed" {
    promo_start tap promo-pipe --in "ipc://$T/run/promoter.sock" -- tee "$T/tap"
    wait_for 10 grep -q event=child_start "$T/tap.log"
    run promo-pipe --in "ipc://$T/run/promoter.sock" -- cat
    [ "$status" -eq 111 ]
    assert_output --partial "event=endpoint_in_use"
    for i in 1 2 3; do msg "$i"; done > "$T/in"
    # the sender stays up (sleep) so nothing is lost to libzmq's exit race
    promo_start push promo-pipe --out "ipc://$T/run/promoter.sock" -- sh -c "cat '$T/in'; exec sleep 600"
    wait_for 10 sh -c "[ \$(wc -l < '$T/tap') -eq 3 ]"
    [ "$(jq -r .name "$T/tap" | tr '\n' ' ')" = "t-1 t-2 t-3 " ]
}

@test "pipe: a slow child: input stops being read, memory stays bounded, nothing is lost" {
    # 10,000 messages of ~8 KiB (80 MiB): far more than the pipe, the
    # ZeroMQ high-water marks and the one pending line together.
    pad="$(head -c 8000 /dev/zero | tr '\0' 'x')"
    awk -v pad="$pad" 'BEGIN { for (i = 1; i <= 10000; i++)
        printf "{\"v\":1,\"kind\":\"tracker\",\"name\":\"t-%d\",\"pad\":\"%s\"}\n", i, pad }' > "$T/in"
    # the child takes nothing until $T/go exists, then copies every line
    promo_start slow promo-pipe -v --in "ipc://$T/run/slow.sock" -- \
        sh -c "while [ ! -e '$T/go' ]; do sleep 0.1; done; exec cat > '$T/got'"
    wait_for 10 grep -q event=child_start "$T/slow.log"
    pid="$(promo_pid slow)"
    rss0="$(rss_kb "$pid")"
    promo_start push promo-pipe --out "ipc://$T/run/slow.sock" -- sh -c "cat '$T/in'; touch '$T/sent'; exec sleep 600"
    wait_for 20 grep -q event=input_paused "$T/slow.log"
    max=0
    for _ in $(seq 1 20); do
        r="$(rss_kb "$pid")"; [ "$r" -gt "$max" ] && max="$r"
        sleep 0.1
    done
    echo "# rss before ${rss0} KiB, max while stalled ${max} KiB" >&3
    # everything buffered unboundedly would be +80 MiB; bounded is a few
    [ $((max - rss0)) -lt 40000 ]
    # the input is not read while stalled, so the sender cannot finish
    [ ! -e "$T/sent" ]
    touch "$T/go"
    # then everything arrives, in full and in order
    wait_for 60 test -e "$T/sent"
    wait_for 60 sh -c "[ \$(wc -l < '$T/got') -eq 10000 ]"
    grep -q event=input_resumed "$T/slow.log"
    [ "$(head -n 1 "$T/got" | jq -r .name)" = t-1 ]
    [ "$(tail -n 1 "$T/got" | jq -r .name)" = t-10000 ]
}

# ---- issue 9 end to end: acme-ci-stage in place of promo-trigger and promo-monitor ----

# e2e_up - promo-sim (Acme CI through its GitLab API, GitHub, Argo CD), the
# policy, PROMO_BIN with the example beside the programs, and supervisord
# on a config made from the repository's supervisor.conf with the trigger
# and monitor programs replaced by the example's [program:acmeci].
e2e_up() {
    for p in promo-watcher promo-policy promo-promoter promo-sim promoctl; do
        [ -x "$PROMO_BIN/$p" ] || skip "$p is not built"
    done
    command -v supervisord >/dev/null || skip "supervisord is not installed"
    sim_tokens "$T" acme-ci
    printf 'queueMs: 50\nrunMs: 300\n' > "$T/scenario.yaml"
    sim_start --log "$T/requests.ndjson" --scenario "$T/scenario.yaml"
    sim_yaml "$SIM" "$T" github argocd >> "$T/promo.yaml"
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
      provider: gitlab
      job: acme/smoke-slow
      parameters:
        GIT_COMMIT: "${HEAD_SHA}"
    - name: lint
      provider: gitlab
      job: acme/lint-fail
      required: false
  promotion:
    argocd:
      application: shop-${TARGET_ENV}
YAML
    mkdir -p "$T/bin" "$T/sup"
    ln -s "$PROMO_BIN"/* "$T/bin/"
    ln -s "$REPO/examples/custom-stage/acme-ci-stage" "$T/bin/acme-ci-stage"
    awk '
        /^\[program:(trigger|monitor|webhook)\]/ { skip = 1; next }
        /^\[/ { skip = 0 }
        skip { next }
        /^programs = / { sub(/trigger,monitor/, "acmeci"); sub(/,webhook/, "") }
        { print }' "$REPO/supervisor.conf" > "$T/supervisord.conf"
    sed -n '/^\[program:acmeci\]/,$p' "$REPO/examples/custom-stage/supervisor.conf" >> "$T/supervisord.conf"
    grep -q '^programs = watcher,policy,acmeci,promoter$' "$T/supervisord.conf"
    ! grep -q 'promo-trigger\|promo-monitor' "$T/supervisord.conf"
    promo_start supervisord env PROMO_BIN="$T/bin" PROMO_SUPERVISE="$T/sup" PROMO_RUN_DIR="$T/run" \
        ACME_CI_URL="http://127.0.0.1:$PORT/gitlab/api/v4" ACME_CI_TOKEN_FILE="$T/acme-ci.token" \
        supervisord -c "$T/supervisord.conf"
    wait_for 20 test -S "$T/run/trigger.sock"
    wait_for 20 test -S "$T/run/promoter.sock"
}

# sup CMD... - supervisorctl on the test's supervisord.
sup() {
    PROMO_SUPERVISE="$T/sup" supervisorctl -c "$T/supervisord.conf" "$@"
}

# pipelines_posted - how many runs the CI was asked to start.
pipelines_posted() {
    jq -s '[.[] | select(.system == "gitlab" and .method == "POST" and (.path | endswith("/pipeline")))] | length' \
        "$T/requests.ndjson"
}

# promoted - the promoter recorded the dev hop done.
promoted() {
    [ "$(jq -r '.hops.dev.phase' "$T/state/promoter/acme-shop-1.json")" = done ]
}

@test "pipe e2e: acme-ci-stage swapped in under supervisord promotes a tracker; a restart repeats no run" {
    e2e_up
    promoctl track --repo acme/shop --pr 1 --sha "$SHA1" --env dev --app shop --ref feature/x --state synced >/dev/null
    # the slow smoke run is under way: kill the script; promo-pipe exits with
    # its status (137) and supervisord restarts both
    wait_for 30 sh -c "ls '$T/state/acme-ci/'*.json >/dev/null 2>&1 && [ \$(jq -s '[.[] | select(.phase == \"triggered\")] | length' '$T/state/acme-ci/'*.json) -eq 2 ]"
    pp="$(sup pid promo:acmeci)"
    child="$(pgrep -P "$pp" | head -n 1)"
    [ -n "$child" ]
    kill -KILL "$child"
    wait_for 20 sh -c "[ \"\$(PROMO_SUPERVISE='$T/sup' supervisorctl -c '$T/supervisord.conf' pid promo:acmeci)\" != '$pp' ]"
    grep -q 'event=child_exit .*code=137' "$T/sup/acmeci.log"
    grep -q "exited: acmeci (exit status 137" "$T/sup/supervisord.log"
    if ! wait_for 60 promoted; then
        promoctl show acme-shop-1 >&3 || true
        cat "$T/sup/acmeci.log" >&3
        return 1
    fi
    # each test triggered exactly once, with its idempotency key
    [ "$(pipelines_posted)" -eq 2 ]
    trig="$T/state/trigger/acme-shop-1.json"
    for name in smoke lint; do
        key="$(jq -r --arg n "$name" '.hops.dev.tests[] | select(.name == $n) | .key' "$trig")"
        [ "$(jq -s --arg k "$key" '[.[] | select(.system == "gitlab" and .method == "POST")
              | .body.variables[]? | select(.key == "PROMO_KEY" and .value == $k)] | length' "$T/requests.ndjson")" -eq 1 ]
    done
    # the key is promo's own (domain/promokey.c), the parameters substituted
    jq -e '.hops.dev.tests[0].key | test("^pk-[0-9a-f]{24}$")' "$trig"
    jq -s -e --arg sha "$SHA1" 'any(.[]; .system == "gitlab" and .method == "POST"
        and any(.body.variables[]?; .key == "GIT_COMMIT" and .value == $sha))' "$T/requests.ndjson"
    # the monitor record's aggregate: decided, passed, the optional lint failed
    mon="$T/state/monitor/acme-shop-1.json"
    jq -e '.hops.dev.aggregate | .decided and .allPassed and (.anyFailed | not) and .optionalTestsFailed' "$mon"
    jq -e '.hops.dev.aggregate.failureReasons[0] | startswith("lint (optional): failed")' "$mon"
    # the promoter promoted on these tests, and Argo CD got the SHA
    jq -e --arg sha "$SHA1" '.promotions[0] | .outcome == "Promoted" and .headSHA == $sha
        and ([.testRuns[].name] | sort) == ["lint", "smoke"]' "$T/state/promoter/acme-shop-1.json"
    jq -s -e --arg sha "$SHA1" 'any(.[]; .system == "argocd" and .method == "PATCH"
        and (.path | endswith("/applications/shop-staging")))' "$T/requests.ndjson"
    # promo-pipe forwarded every line the script wrote, none was bad
    ! grep -q 'event=bad_message' "$T/sup/acmeci.log"
}

@test "pipe e2e: with no promoter built, a tee tap in its place receives the aggregate" {
    e2e_up
    # take the promoter's socket: stop it and tap promoter.sock instead
    sup stop promo:promoter >/dev/null
    wait_for 10 sh -c "! test -S '$T/run/promoter.sock'" || rm -f "$T/run/promoter.sock"
    promo_start tap promo-pipe --in "ipc://$T/run/promoter.sock" -- tee "$T/tap"
    wait_for 10 grep -q event=child_start "$T/tap.log"
    promoctl track --repo acme/shop --pr 1 --sha "$SHA1" --env dev --app shop --ref feature/x --state synced >/dev/null
    wait_for 60 test -s "$T/tap"
    head -n 1 "$T/tap" | jq -e --arg sha "$SHA1" '.from == "acme-ci-stage" and .name == "acme-shop-1"
        and .aggregate.decided and .aggregate.allPassed and .aggregate.headSHA == $sha
        and .aggregate.source == "dev" and .aggregate.target == "staging"
        and ([.runs[].name] == ["smoke", "lint"]) and (.policy.metadata.name == "dev-to-staging")'
}

@test "pipe e2e: acme-ci-stage crashing between the CI's answer and its record finds the run by key" {
    [ -x "$PROMO_BIN/promo-sim" ] && [ -x "$PROMO_BIN/promoctl" ] || skip "promo-sim or promoctl is not built"
    printf 'queueMs: 50\nrunMs: 100\n' > "$T/scenario.yaml"
    promo_start sim promo-sim --listen 127.0.0.1:0 --port-file "$T/sim.port" --log "$T/requests.ndjson" \
        --scenario "$T/scenario.yaml"
    wait_for 10 test -s "$T/sim.port"
    printf 'acme-ci-token\n' > "$T/acme-ci.token"
    promoctl track --repo acme/shop --pr 1 --sha "$SHA1" --env dev --app shop --ref feature/x --state synced >/dev/null
    jq -c '{v: 1, kind: "tracker", name: .metadata.name, generation: .metadata.generation, tracker: .,
            policy: {apiVersion: "promo.dev/v1alpha1", kind: "PromotionPolicy", metadata: {name: "dev-to-staging"},
                     spec: {sourceEnvironment: "dev", targetEnvironment: "staging", autoPromote: true, timeout: "1m",
                            externalTests: [{name: "smoke", provider: "gitlab", job: "acme/smoke", required: true,
                                             timeout: "1m", parameters: {}}]}}}' \
        "$T/state/trackers/acme-shop-1.json" > "$T/msg"
    export ACME_CI_URL="http://127.0.0.1:$(cat "$T/sim.port")/gitlab/api/v4" ACME_CI_TOKEN_FILE="$T/acme-ci.token"
    run env PROMO_CRASH_AT=acme-ci.after_trigger promo-pipe --in - --out - -- "$REPO/examples/custom-stage/acme-ci-stage" < "$T/msg"
    [ "$status" -eq 111 ]                      # the script's status, through promo-pipe
    jq -e '.phase == "intent" and .asked' "$T/state/acme-ci/"*.json
    # the restarted stage looks the run up by PROMO_KEY instead of starting another
    for _ in 1 2 3 4 5 6; do cat "$T/msg"; sleep 0.5; done > "$T/msgs"
    run sh -c 'promo-pipe --in - --out - -- "$1" < "$2" 2>"$3"' _ "$REPO/examples/custom-stage/acme-ci-stage" "$T/msgs" "$T/err"
    assert_success
    grep -q 'event=adopted' "$T/err"
    [ "$(jq -s '[.[] | select(.system == "gitlab" and .method == "POST")] | length' "$T/requests.ndjson")" -eq 1 ]
    [ "$(printf '%s\n' "$output" | head -n 1 | jq -r '.aggregate.allPassed')" = true ]
}
