#!/usr/bin/env bats
# promo-watcher: command line, what it emits, and delivery over ZeroMQ.

load helpers

setup() { promo_setup; }
teardown() { promo_teardown; }

SHA1=0123456789abcdef0123456789abcdef01234567
SHA2=89abcdef0123456789abcdef0123456789abcdef

@test "promo-watcher --help and --version exit 0" {
    run promo-watcher --help
    assert_success
    assert_output --partial "--notify-fd"
    assert_output --partial "--once"
    run promo-watcher --version
    assert_success
    assert_output --regexp '^promo-watcher [0-9]'
}

@test "promo-watcher with a bad flag exits 100" {
    run promo-watcher --frobnicate
    assert_failure 100
    assert_output --partial "usage"
    run promo-watcher --notify-fd
    assert_failure 100
}

@test "promo-watcher with an invalid config exits 100" {
    printf 'stateDir: [1, 2]\npollInterval: soon\n' > "$T/bad.yaml"
    run promo-watcher -c "$T/bad.yaml" --out - --once
    assert_failure 100
    assert_output --partial "bad.yaml:1:"
    assert_output --partial "bad.yaml:2:"
}

@test "--once --out - emits every active tracker once, as protocol v1 lines" {
    promoctl track --repo acme/shop --pr 1 --sha "$SHA1" --env dev --app shop --state synced
    promoctl track --repo acme/shop --pr 2 --sha "$SHA2" --env dev --app shop
    run promo-watcher --once --out -
    assert_success
    # only the synced tracker needs work downstream
    [ "$(printf '%s\n' "$output" | grep -c '^{')" = 1 ]
    line="$(printf '%s\n' "$output" | grep '^{')"
    [ "$(jq -r .v <<<"$line")" = 1 ]
    [ "$(jq -r .kind <<<"$line")" = tracker ]
    [ "$(jq -r .name <<<"$line")" = acme-shop-1 ]
    [ "$(jq -r .generation <<<"$line")" = 1 ]
    [ "$(jq -r .from <<<"$line")" = promo-watcher ]
    [ "$(jq -r .tracker.spec.headSHA <<<"$line")" = "$SHA1" ]
}

@test "a corrupt tracker is quarantined and the rest still flow" {
    promoctl track --repo acme/shop --pr 1 --sha "$SHA1" --env dev --app shop --state synced
    printf 'garbage\0bytes' > "$T/state/trackers/broken.json"
    : > "$T/state/trackers/empty.json"
    run promo-watcher --once --out -
    assert_success
    assert_output --partial '"name":"acme-shop-1"'
    assert_output --partial "event=quarantine"
    assert_file_not_exists "$T/state/trackers/broken.json"
    assert_file_not_exists "$T/state/trackers/empty.json"
}

@test "a tracker whose metadata.name is not its file name is quarantined with the reason, never emitted" {
    promoctl track --repo acme/shop --pr 1 --sha "$SHA1" --env dev --app shop --state synced
    jq -c '.metadata.name = "acme-shop-9"' "$T/state/trackers/acme-shop-1.json" > "$T/state/trackers/other.json"
    run promo-watcher --once --out -
    assert_success
    [ "$(printf '%s\n' "$output" | grep -c '^{')" = 1 ]
    assert_output --partial '"name":"acme-shop-1"'
    refute_output --partial '"name":"acme-shop-9"'
    refute_output --partial '"name":"other"'
    assert_output --regexp 'event=quarantine area=trackers name=other .*reason="metadata.name: \\"acme-shop-9\\" is not the name of its file trackers/other.json"'
    assert_file_not_exists "$T/state/trackers/other.json"
}

# receive_count - messages for acme-shop-1 that the receiving stage got.
receive_count() {
    grep -c '"name":"acme-shop-1"' "$T/received.ndjson" 2>/dev/null || echo 0
}

@test "a tracker written by promoctl reaches the next stage over ZeroMQ within a second" {
    cp "$REPO/tests/bats/fixtures/policy-dev.yaml" "$T/policies/"
    # promo-policy binds ipc://RUNDIR/policy.sock and prints what it forwards
    promo-policy --out - > "$T/received.ndjson" 2> "$T/policy.log" &
    echo "$! policy" >> "$T/pids"
    promo_start watcher promo-watcher -c "$PROMO_CONFIG"
    wait_for 5 test -S "$T/run/policy.sock"
    wait_for 5 grep -q event=start "$T/watcher.log"
    start=$(date +%s%N)
    promoctl track --repo acme/shop --pr 1 --sha "$SHA1" --env dev --app shop --state synced
    wait_for 1 grep -q '"name":"acme-shop-1"' "$T/received.ndjson"
    elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
    echo "# delivered in ${elapsed} ms" >&3
    [ "$(head -1 "$T/received.ndjson" | jq -r .policy.spec.targetEnvironment)" = staging ]
}

@test "a message lost while the receiver was down is delivered by the next resync" {
    cp "$REPO/tests/bats/fixtures/policy-dev.yaml" "$T/policies/"
    promo_start watcher promo-watcher
    wait_for 5 grep -q event=start "$T/watcher.log"
    promoctl track --repo acme/shop --pr 1 --sha "$SHA1" --env dev --app shop --state synced
    # The receiver takes the message and dies without acting on it ...
    promo-policy --out - > "$T/received.ndjson" 2> "$T/policy1.log" &
    echo "$! policy1" >> "$T/pids"
    wait_for 5 grep -q '"name":"acme-shop-1"' "$T/received.ndjson"
    pid1="$(promo_pid policy1)"
    kill -KILL "$pid1"
    wait_for 5 sh -c "! kill -0 $pid1 2>/dev/null"   # a supervisor restarts only after the death
    : > "$T/received.ndjson"
    # ... and a new receiver gets it again from the watcher's resync (2s).
    promo-policy --out - > "$T/received.ndjson" 2> "$T/policy2.log" &
    echo "$! policy2" >> "$T/pids"
    wait_for 6 grep -q '"name":"acme-shop-1"' "$T/received.ndjson"
    assert_file_contains "$T/watcher.log" "event=start"
}

@test "inotify: a burst of updates is coalesced and the latest state is sent" {
    cp "$REPO/tests/bats/fixtures/policy-dev.yaml" "$T/policies/"
    promo-policy --out - > "$T/received.ndjson" 2> "$T/policy.log" &
    echo "$! policy" >> "$T/pids"
    wait_for 5 test -S "$T/run/policy.sock"
    promo_start watcher promo-watcher
    wait_for 5 grep -q event=start "$T/watcher.log"
    promoctl track --repo acme/shop --pr 1 --sha "$SHA1" --env dev --app shop --state synced
    promoctl track --repo acme/shop --pr 1 --sha "$SHA2" --env dev --app shop --state synced
    wait_for 2 grep -q "\"headSHA\":\"$SHA2\"" "$T/received.ndjson"
    run tail -1 "$T/received.ndjson"
    assert_output --partial "\"generation\":2"
}

@test "promo-watcher stops cleanly on SIGTERM and says it is ready on --notify-fd" {
    exec 5> "$T/ready"
    promo_start watcher promo-watcher --notify-fd 5
    exec 5>&-
    wait_for 5 test -s "$T/ready"
    kill -TERM "$(promo_pid watcher)"
    wait_for 5 sh -c "! kill -0 $(promo_pid watcher) 2>/dev/null"
    run cat "$T/watcher.log"
    refute_output --partial "level=error"
}
