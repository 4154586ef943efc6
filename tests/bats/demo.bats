#!/usr/bin/env bats
# demo.bats - make demo's script (scripts/demo.sh), the README's first
# command, run as a user runs it: promo-sim, the whole group under
# supervisord from supervisor.conf, two PRs through dev -> staging -> prod,
# taking turns in staging and prod, with an operator's approval, everything it started stopped again.

load 'helpers'

@test "scripts/demo.sh takes a PR to prod under supervisord and stops what it started" {
    for p in promo-watcher promo-policy promo-trigger promo-monitor promo-promoter promo-webhook promo-sim promoctl; do
        [ -x "$PROMO_BIN/$p" ] || skip "$p is not built"
    done
    command -v supervisord >/dev/null || skip "supervisord is not installed"
    T="$(mktemp -d "${BATS_TMPDIR:-/tmp}/promo-demo-test.XXXXXX")"
    run env PROMO_DEMO_BIN="$PROMO_BIN" TMPDIR="$T" timeout 180 sh "$REPO/scripts/demo.sh"
    [ "$status" = 0 ] || echo "$output" | tail -40 | sed 's/^/# /' >&3
    assert_success
    assert_output --regexp 'promo:webhook +RUNNING'
    assert_output --partial "an operator approves the promotion of acme-shop-42 to prod"
    assert_output --partial "an operator approves the promotion of acme-shop-43 to prod"
    assert_output --regexp "waiting for shop-staging \(position 1 of 1\), held by acme-shop-4[23] since"
    assert_output --partial "PRs acme/shop#42 and #43 are in prod, one after the other"
    # its temp dir is gone: it stopped and cleaned up after itself
    [ -z "$(ls -A "$T")" ]
    rm -rf "$T"
}
