#!/usr/bin/env bats
# The s6 service directories: readiness through notification-fd, and no
# restart loop on a permanent error (exit 100).

load helpers

setup() {
    promo_setup
    mkdir -p "$T/scan"
    cp -r "$REPO/s6/promo-watcher" "$T/scan/"
    mkdir -p "$T/scan/promo-watcher/env"
    printf '%s' "$PROMO_BIN" > "$T/scan/promo-watcher/env/PROMO_BIN"
    printf '%s' "$PROMO_CONFIG" > "$T/scan/promo-watcher/env/PROMO_CONFIG"
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
