#!/usr/bin/env bats
# resync.bats - the cheap resync (issue 15): a periodic resync message
# ("resync": "timer") about a tracker a stage has fully handled, with its
# records unchanged since, is passed on unhandled; any change to one of the
# tracker's records, by any process, makes the stage handle it again; a
# message the stage handled loses the mark; the watcher's periodic resync
# sends unchanged trackers without a snapshot.

load 'helpers'
bats_require_minimum_version 1.5.0

setup() {
    promo_setup
    cp "$REPO/examples/policies/dev-to-staging.yaml" "$REPO/examples/policies/staging-to-prod.yaml" "$T/policies/"
    promoctl track --repo acme/shop --pr 7 --sha "$(sha_of 7)" --env dev --app shop --state synced >/dev/null
}

teardown() {
    promo_teardown
}

# msg [RESYNC] - the watcher's message for acme-shop-7, marked as a periodic
# resync when RESYNC is given.
msg() {
    jq -c --arg r "${1:-}" '{v: 1, kind: "tracker", from: "test", name: "acme-shop-7", generation: 1, tracker: .}
        + (if $r == "" then {} else {resync: $r} end)' "$T/state/trackers/acme-shop-7.json"
}

# feed - promo-policy on stdin/stdout, fed lines with pauses (so that each
# is handled before the next, and a record changed in between is seen).
feed() {
    { msg; sleep 0.5; msg timer; sleep 0.5
      "$@"; sleep 0.5
      msg timer; sleep 0.5; } | promo-policy -c "$PROMO_CONFIG" --in - --out - >"$T/out.ndjson" 2>"$T/policy.log"
}

@test "a periodic resync message about a tracker handled at the same record versions is passed on as it came" {
    feed true
    [ "$(wc -l <"$T/out.ndjson")" = 3 ]
    # the first: handled (the policy attached, the mark gone); the second:
    # passed on unhandled, byte for byte; the third too (nothing changed)
    [ "$(sed -n 1p "$T/out.ndjson" | jq -r '.policy.metadata.name')" = dev-to-staging ]
    [ "$(sed -n 2p "$T/out.ndjson")" = "$(msg timer)" ]
    [ "$(sed -n 3p "$T/out.ndjson")" = "$(msg timer)" ]
    grep -q 'event=stop .*skipped=2' "$T/policy.log"
}

@test "a record of the tracker changed by another process in between makes the stage handle it again" {
    before="$(msg timer)"
    feed sh -c "jq -c '.metadata.labels.note = \"changed\"' '$T/state/trackers/acme-shop-7.json' > '$T/t.json' && mv '$T/t.json' '$T/state/trackers/acme-shop-7.json'"
    [ "$(wc -l <"$T/out.ndjson")" = 3 ]
    [ "$(sed -n 2p "$T/out.ndjson")" = "$before" ]
    [ "$(sed -n 3p "$T/out.ndjson" | jq -r '.policy.metadata.name')" = dev-to-staging ]
    [ "$(sed -n 3p "$T/out.ndjson" | jq -r '.resync // "none"')" = none ]
    grep -q 'event=stop .*skipped=1' "$T/policy.log"
}

@test "a record written in place, or another stage's record of the tracker, counts as a change too" {
    feed sh -c "printf '{}' > '$T/state/approvals/acme-shop-7.json'"
    [ "$(sed -n 3p "$T/out.ndjson" | jq -r '.policy.metadata.name')" = dev-to-staging ]
    grep -q 'event=stop .*skipped=1' "$T/policy.log"
}

@test "a message that is not a periodic resync is always handled" {
    { msg; sleep 0.5; msg; sleep 0.5; msg full; sleep 0.5; } |
        promo-policy -c "$PROMO_CONFIG" --in - --out - >"$T/out.ndjson" 2>"$T/policy.log"
    [ "$(jq -r '.policy.metadata.name' "$T/out.ndjson" | sort -u)" = dev-to-staging ]
    grep -q 'event=stop .*skipped=0' "$T/policy.log"
}

@test "--dry-run never skips" {
    { msg; sleep 0.5; msg timer; sleep 0.5; } |
        promo-policy -c "$PROMO_CONFIG" --in - --out - --dry-run >"$T/out.ndjson" 2>"$T/policy.log"
    grep -q 'event=stop .*skipped=0' "$T/policy.log"
}

@test "a periodic resync message without a snapshot names its head SHA; a bad one is refused" {
    run --separate-stderr sh -c "printf '%s\n' '{\"v\":1,\"kind\":\"tracker\",\"name\":\"acme-shop-7\",\"generation\":1,\"headSHA\":\"$(sha_of 7)\",\"resync\":\"timer\"}' | promo-policy -c '$PROMO_CONFIG' --in - --out -"
    assert_success
    [ "$(jq -r '.policy.metadata.name' <<<"$output")" = dev-to-staging ]
    run --separate-stderr sh -c "printf '%s\n' '{\"v\":1,\"kind\":\"tracker\",\"name\":\"acme-shop-7\",\"generation\":1,\"headSHA\":\"nope\"}' | promo-policy -c '$PROMO_CONFIG' --in - --out -"
    assert_success
    [ -z "$output" ]
    [[ "$stderr" == *"field headSHA: not a commit SHA"* ]]
}

@test "promo-watcher: a periodic resync sends an unchanged active tracker without its snapshot, marked" {
    sed -i 's/^resyncInterval: .*/resyncInterval: 1s/' "$PROMO_CONFIG"
    grep -q '^resyncInterval: 1s' "$PROMO_CONFIG" || echo 'resyncInterval: 1s' >> "$PROMO_CONFIG"
    promo-watcher -c "$PROMO_CONFIG" --out - >"$T/w.ndjson" 2>"$T/w.log" &
    pid=$!
    wait_for 20 grep -q '"resync":"timer"' "$T/w.ndjson"
    kill -TERM "$pid"; wait "$pid" || true
    line="$(grep -m1 '"resync":"timer"' "$T/w.ndjson")"
    # the start's resync is a full one: read, the snapshot sent, unmarked;
    # the periodic one finds the records unchanged: no snapshot, the head SHA
    first="$(head -1 "$T/w.ndjson")"
    [ "$(jq -r '.tracker.spec.headSHA' <<<"$first")" = "$(sha_of 7)" ]
    [ "$(jq -r '.resync // "none"' <<<"$first")" = none ]
    [ "$(jq -r .name <<<"$line")" = acme-shop-7 ]
    [ "$(jq -r '.tracker // "none"' <<<"$line")" = none ]
    [ "$(jq -r .headSHA <<<"$line")" = "$(sha_of 7)" ]
    grep -q 'event=stats .*cheap=[1-9]' "$T/w.log"
}

@test "promo-watcher: a tracker changed since the last resync is read again and sent with its snapshot" {
    sed -i 's/^resyncInterval: .*/resyncInterval: 1s/' "$PROMO_CONFIG"
    grep -q '^resyncInterval: 1s' "$PROMO_CONFIG" || echo 'resyncInterval: 1s' >> "$PROMO_CONFIG"
    promo-watcher -c "$PROMO_CONFIG" --out - >"$T/w.ndjson" 2>"$T/w.log" &
    pid=$!
    wait_for 20 grep -q '"resync":"timer"' "$T/w.ndjson"
    # another stage's record changes: news (not the tracker file, so no inotify news for the watcher)
    printf '{}' > "$T/state/monitor/acme-shop-7.json"
    n="$(grep -c . "$T/w.ndjson")"
    more() { [ "$(grep -c . "$T/w.ndjson")" -gt "$n" ] && tail -n +"$((n + 1))" "$T/w.ndjson" | grep -q '"resync":"timer"'; }
    wait_for 20 more
    kill -TERM "$pid"; wait "$pid" || true
    line="$(tail -n +"$((n + 1))" "$T/w.ndjson" | grep -m1 '"resync":"timer"')"
    [ "$(jq -r '.tracker.spec.headSHA' <<<"$line")" = "$(sha_of 7)" ]
}
