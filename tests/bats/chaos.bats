#!/usr/bin/env bats
# The short chaos run: five trackers through the chain dev -> staging -> prod
# while a random stage is killed with SIGKILL twenty times at random moments
# (tests/chaos/run.sh; `make chaos` runs a long one). promo-sim's request log
# must show every test of every hop triggered exactly once and every hop
# promoted exactly once, and every tracker must end done in prod.

load helpers

setup() {
    for p in promo-watcher promo-policy promo-trigger promo-monitor promo-promoter promo-sim promoctl; do
        [ -x "$PROMO_BIN/$p" ] || skip "$p is not built"
    done
    command -v supervisord >/dev/null || skip "supervisord is not installed"
}

@test "chaos: 5 trackers, 20 SIGKILLs of random stages at random moments: 0 duplicates, 0 losses" {
    run bash "$REPO/tests/chaos/run.sh" --bin "$PROMO_BIN" --kills 20 --trackers 5 --duration 20 --settle 120
    echo "# ${lines[0]}" >&3
    [ "$status" -eq 0 ] || { printf '# %s\n' "${lines[@]}" >&3; false; }
    assert_line --regexp '^chaos: kills=20 trackers=5 done=5 promotions=10 duplicates=0 losses=0 intrusions=0 '
}
