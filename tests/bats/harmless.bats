#!/usr/bin/env bats
# Harmless invocations write nothing: --help, --version, usage errors and
# promoctl's read commands make no state dir (nor its areas) and no runDir.
# Each program runs with a config whose stateDir and runDir do not exist
# yet, so a mkdir would show; without a config those are /var/lib/promo and
# /run/promo, which tests/run's guard checks around every bats file.

load helpers

setup() {
    promo_setup
    rmdir "$T/state"
    sed -i "s|^stateDir: .*|stateDir: $T/nostate|; s|^runDir: .*|runDir: $T/norun|" "$PROMO_CONFIG"
}

teardown() {
    promo_teardown
}

# nothing_made - neither the state dir nor the run dir exists.
nothing_made() {
    [ ! -e "$T/nostate" ] || { echo "# made: $(find "$T/nostate" | head -5 | tr '\n' ' ')" >&3; return 1; }
    [ ! -e "$T/norun" ] || { echo "# made: $T/norun" >&3; return 1; }
}

@test "stages: --help, --version and usage errors make no state dir and no run dir" {
    local p ran=0
    for p in promo-watcher promo-policy promo-trigger promo-monitor promo-promoter promo-webhook promo-pipe; do
        [ -x "$PROMO_BIN/$p" ] || continue
        ran=$((ran + 1))
        run "$p" --help
        assert_success
        run "$p" --version
        assert_success
        run "$p" --no-such-flag
        [ "$status" -eq 100 ]
        run "$p" --in
        [ "$status" -eq 100 ]
        nothing_made
    done
    [ "$ran" -gt 0 ]
    run promo-policy --validate "$REPO/examples/policies"
    assert_success
    nothing_made
}

@test "promoctl: --help, usage errors and read commands make no state dir" {
    run promoctl --help
    assert_success
    run promoctl no-such-command
    [ "$status" -eq 100 ]
    run promoctl list --no-such-flag
    [ "$status" -ne 0 ]
    for cmd in list "get acme-shop-1" "show acme-shop-1" events policies; do
        # shellcheck disable=SC2086
        run promoctl $cmd
        nothing_made
    done
    # a reader says the state dir is missing: a temporary error (111)
    run promoctl list
    [ "$status" -eq 111 ]
    assert_output --partial "$T/nostate"
    # a writer makes it, as the stages do
    run promoctl track --repo acme/shop --pr 1 --sha "$(sha_of 1)" --env dev --app shop-dev
    assert_success
    [ -d "$T/nostate/trackers" ]
    run promoctl list
    assert_success
    assert_output --partial acme-shop-1
}

@test "a stage on stdin/stdout with no config file makes no state dir (it runs standalone)" {
    [ ! -e /var/lib/promo ] || skip "/var/lib/promo exists on this machine"
    mkdir "$T/noconf" && cd "$T/noconf"
    run env -u PROMO_CONFIG promo-policy --in - --out - --once < /dev/null
    assert_success
    assert_output --partial "event=no_state_dir"
    [ ! -e /var/lib/promo ]
}
