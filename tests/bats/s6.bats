#!/usr/bin/env bats
# The s6 service directories: readiness through notification-fd, and no
# restart loop on a permanent error (exit 100); promo-webhook's service
# reports readiness only once its HTTP server answers.

load helpers

# s6_service NAME - copy s6/NAME into the scan dir, with an envdir naming
# the programs under test and the test's config.
s6_service() {
    cp -r "$REPO/s6/$1" "$T/scan/"
    mkdir -p "$T/scan/$1/env"
    printf '%s' "$PROMO_BIN" > "$T/scan/$1/env/PROMO_BIN"
    printf '%s' "$PROMO_CONFIG" > "$T/scan/$1/env/PROMO_CONFIG"
}

setup() {
    promo_setup
    mkdir -p "$T/scan"
    s6_service promo-watcher
}

teardown() {
    # s6-svscan -t stops every supervised service, then exits.
    [ -n "${T:-}" ] && s6-svscanctl -t "$T/scan" 2>/dev/null || true
    promo_teardown
}

@test "s6: promo-watcher runs supervised and reports readiness" {
    promo_start svscan s6-svscan "$T/scan"
    wait_for 5 test -e "$T/scan/promo-watcher/supervise/status"
    run s6-svwait -U -t 10000 "$T/scan/promo-watcher"
    assert_success
    run s6-svstat "$T/scan/promo-watcher"
    assert_output --partial "up"
    assert_output --partial "ready"
}

@test "s6: a permanent error (exit 100) is not restarted" {
    printf '%s' "$T/missing.yaml" > "$T/scan/promo-watcher/env/PROMO_CONFIG"
    promo_start svscan s6-svscan "$T/scan"
    # finish exits 125: s6-supervise marks the service down and leaves it so
    wait_for 10 sh -c "s6-svstat '$T/scan/promo-watcher' | grep -q '^down'"
    sleep 2
    run s6-svstat "$T/scan/promo-watcher"
    assert_output --regexp '^down'
    assert_output --partial "exitcode 100"
}

@test "s6: promo-webhook runs supervised and is ready once it answers HTTP" {
    [ -x "$PROMO_BIN/promo-webhook" ] || skip "promo-webhook is not built"
    printf 'gh-secret\n' > "$T/gh.secret"
    chmod 600 "$T/gh.secret"
    printf 'webhook:\n  listen: 127.0.0.1:0\n  githubSecretFile: %s/gh.secret\n' "$T" >> "$T/promo.yaml"
    s6_service promo-webhook
    promo_start svscan s6-svscan "$T/scan"
    wait_for 5 test -e "$T/scan/promo-webhook/supervise/status"
    run s6-svwait -U -t 10000 "$T/scan/promo-webhook"
    assert_success
    run s6-svstat "$T/scan/promo-webhook"
    assert_output --partial "up"
    assert_output --partial "ready"
    # ready means listening: the port of its "listen" line answers at once
    port=$(grep 'prog=promo-webhook' "$T/svscan.log" | grep -o 'event=listen .*port=[0-9]*' | grep -o '[0-9]*$' | head -1)
    [ -n "$port" ]
    run curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz"
    assert_output 200
    # the watcher, in the same scan dir, is ready too (a group of services)
    run s6-svwait -U -t 10000 "$T/scan/promo-watcher"
    assert_success
}

@test "s6: promo-webhook with an invalid webhook.listen is left down (exit 100)" {
    [ -x "$PROMO_BIN/promo-webhook" ] || skip "promo-webhook is not built"
    printf 'webhook:\n  listen: nowhere\n' >> "$T/promo.yaml"
    rm -rf "$T/scan/promo-watcher"
    s6_service promo-webhook
    promo_start svscan s6-svscan "$T/scan"
    wait_for 10 sh -c "s6-svstat '$T/scan/promo-webhook' | grep -q '^down'"
    sleep 2
    run s6-svstat "$T/scan/promo-webhook"
    assert_output --regexp '^down'
    assert_output --partial "exitcode 100"
    grep -q 'webhook.listen' "$T/svscan.log"
}
