#!/usr/bin/env bats
# promoctl: command line, track/get/list, exit codes.

load helpers

setup() { promo_setup; }
teardown() { promo_teardown; }

SHA1=0123456789abcdef0123456789abcdef01234567
SHA2=89abcdef0123456789abcdef0123456789abcdef

@test "promoctl --help prints usage and exits 0" {
    run promoctl --help
    assert_success
    assert_output --partial "usage: promoctl"
    assert_output --partial "track --repo OWNER/NAME"
}

@test "promoctl --version" {
    run promoctl --version
    assert_success
    assert_output --regexp '^promoctl [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "promoctl without a command is a usage error (100)" {
    run promoctl
    assert_failure 100
    assert_output --partial "missing COMMAND"
}

@test "promoctl with an unknown command or flag exits 100" {
    run promoctl frobnicate
    assert_failure 100
    assert_output --partial "unknown command"
    run promoctl --bogus list
    assert_failure 100
}

@test "promoctl with an invalid config exits 100 naming file, line and key" {
    printf 'stateDir: %s\nresyncIntervall: 5s\n' "$T/state" > "$T/bad.yaml"
    run promoctl -c "$T/bad.yaml" list
    assert_failure 100
    assert_output --partial "bad.yaml:2:"
    assert_output --partial "resyncIntervall"
}

@test "promoctl with a missing config file given by -c exits 100" {
    run promoctl -c "$T/nope.yaml" list
    assert_failure 100
}

@test "track creates a tracker at generation 1" {
    run promoctl track --repo acme/shop --pr 42 --sha "$SHA1" --env dev --app shop-dev --state synced
    assert_success
    assert_output --partial "tracker acme-shop-42 created: generation 1, synced in dev"
    assert_file_exists "$T/state/trackers/acme-shop-42.json"
    run promoctl get acme-shop-42 --json
    assert_success
    assert_output --partial '"apiVersion":	"promo.dev/v1alpha1"'
    assert_output --partial '"kind":	"PullRequestTracker"'
    [ "$(promoctl get acme-shop-42 --json | jq -r .metadata.generation)" = 1 ]
    [ "$(promoctl get acme-shop-42 --json | jq -r .spec.headSHA)" = "$SHA1" ]
    [ "$(promoctl get acme-shop-42 --json | jq -r .status.state)" = synced ]
}

@test "track with the same SHA keeps the generation; a new SHA bumps it and restarts" {
    promoctl track --repo acme/shop --pr 42 --sha "$SHA1" --env dev --app shop-dev
    promoctl track --repo acme/shop --pr 42 --sha "$SHA1" --env dev --app shop-dev --state synced
    [ "$(promoctl get acme-shop-42 --json | jq -r .metadata.generation)" = 1 ]
    [ "$(promoctl get acme-shop-42 --json | jq -r .status.state)" = synced ]
    run promoctl track --repo acme/shop --pr 42 --sha "$SHA2" --env dev --app shop-dev
    assert_success
    assert_output --partial "new head SHA"
    [ "$(promoctl get acme-shop-42 --json | jq -r .metadata.generation)" = 2 ]
    [ "$(promoctl get acme-shop-42 --json | jq -r .status.state)" = deploying ]
}

@test "track keeps fields it does not know" {
    promoctl track --repo acme/shop --pr 7 --sha "$SHA1" --env dev --app shop-dev
    f="$T/state/trackers/acme-shop-7.json"
    jq -c '.metadata.labels = {"team":"payments"}' "$f" > "$T/x" && mv "$T/x" "$f"
    promoctl track --repo acme/shop --pr 7 --sha "$SHA2" --env dev --app shop-dev
    [ "$(jq -r .metadata.labels.team "$f")" = payments ]
}

@test "track uppercase SHA is stored lowercase and a ref is kept" {
    run promoctl track --repo Acme/Shop.Web --pr 3 --sha "${SHA1^^}" --env dev --app web --ref feature/x
    assert_success
    assert_output --partial "acme-shop-web-3"
    [ "$(promoctl get acme-shop-web-3 --json | jq -r .spec.headSHA)" = "$SHA1" ]
    [ "$(promoctl get acme-shop-web-3 --json | jq -r .spec.headRef)" = feature/x ]
}

@test "track rejects bad input with exit 100 and writes nothing" {
    run promoctl track --repo acme --pr 1 --sha "$SHA1" --env dev --app a
    assert_failure 100; assert_output --partial "OWNER/NAME"
    run promoctl track --repo acme/shop --pr -1 --sha "$SHA1" --env dev --app a
    assert_failure 100; assert_output --partial "--pr"
    run promoctl track --repo acme/shop --pr 1x --sha "$SHA1" --env dev --app a
    assert_failure 100
    run promoctl track --repo acme/shop --pr 1 --sha xyz --env dev --app a
    assert_failure 100; assert_output --partial "hex"
    run promoctl track --repo acme/shop --pr 1 --sha "$SHA1" --env Dev --app a
    assert_failure 100
    run promoctl track --repo acme/shop --pr 1 --sha "$SHA1" --env dev --app a --state done
    assert_failure 100; assert_output --partial "deploying or synced"
    run promoctl track --repo acme/shop --pr 1 --sha "$SHA1" --env dev
    assert_failure 100; assert_output --partial "required"
    run promoctl track --repo acme/shop --pr 1 --sha "$SHA1" --env dev --app a extra
    assert_failure 100
    run ls "$T/state/trackers"
    refute_output --partial ".json"
}

@test "track refuses a --name that belongs to another PR" {
    promoctl track --repo acme/shop --pr 1 --sha "$SHA1" --env dev --app a --name shared
    run promoctl track --repo acme/shop --pr 2 --sha "$SHA1" --env dev --app a --name shared
    assert_failure 100
    assert_output --partial "belongs to acme/shop#1"
}

@test "get shows a tracker for people and says what it waits on" {
    promoctl track --repo acme/shop --pr 42 --sha "$SHA1" --env dev --app shop-dev
    run promoctl get acme-shop-42
    assert_success
    assert_output --partial "Pull request: acme/shop#42"
    assert_output --partial "generation 1"
    assert_output --partial "State:        deploying"
    assert_output --partial "Waiting on:   deployment of shop-dev in dev"
}

@test "get of an unknown tracker exits 100; a bad name is a usage error" {
    run promoctl get nope
    assert_failure 100
    assert_output --partial "no tracker named nope"
    run promoctl get ../etc/passwd
    assert_failure 100
    run promoctl get
    assert_failure 100
}

@test "get of a corrupt tracker quarantines it" {
    mkdir -p "$T/state/trackers"
    printf '{"apiVersion": "promo.dev/v1al' > "$T/state/trackers/torn.json"
    run promoctl get torn
    assert_failure 100
    assert_output --partial "corrupt"
    assert_file_not_exists "$T/state/trackers/torn.json"
    run sh -c "ls '$T/state/quarantine' | grep -c '^trackers.torn'"
    assert_output 2
}

@test "list prints a table and --json an array" {
    promoctl track --repo acme/shop --pr 1 --sha "$SHA1" --env dev --app shop-dev --state synced
    promoctl track --repo acme/shop --pr 2 --sha "$SHA2" --env staging --app shop-staging
    run promoctl list
    assert_success
    assert_line --index 0 --regexp '^TRACKER +ENV +STATE +AGE +WAITING ON$'
    assert_output --regexp 'acme-shop-1 +dev +synced +[0-9]+s +promotion tests'
    assert_output --regexp 'acme-shop-2 +staging +deploying'
    run sh -c "promoctl list --json | jq -r '.[].name' | tr '\n' ' '"
    assert_output "acme-shop-1 acme-shop-2 "
}

@test "list on an empty state dir prints only the header" {
    run promoctl list
    assert_success
    assert_equal "${#lines[@]}" 1
    run promoctl list --json
    assert_output "[]"
}

# audit_line TRACKER REASON MESSAGE KEY - one audit event line.
audit_line() {
    jq -cn --arg t "$1" --arg r "$2" --arg m "$3" --arg k "$4" \
        '{time:"2026-11-28T04:30:00.000Z",tracker:$t,type:"Normal",reason:$r,message:$m,key:$k}'
}

@test "events prints the audit log as a table, as JSON, filtered by tracker" {
    { audit_line acme-shop-1 Promoted "dev -> staging" pk-1
      audit_line acme-shop-2 TestsFailed "lint failed" pk-2; } > "$T/state/audit.log"
    run promoctl events
    assert_success
    assert_line --index 0 --regexp '^TIME +TRACKER +TYPE +REASON +MESSAGE$'
    assert_output --regexp 'acme-shop-1 +Normal +Promoted +dev -> staging'
    run promoctl events --json --tracker acme-shop-2
    assert_success
    assert_equal "${#lines[@]}" 1
    [ "$(jq -r .reason <<<"$output")" = TestsFailed ]
}

@test "events skips a corrupt line with a warning and never prints it as an event" {
    { audit_line acme-shop-1 Promoted "ok" pk-1; echo '{"time":"torn'; } > "$T/state/audit.log"
    run promoctl events --json
    assert_success
    assert_output --partial "audit.log:2: not a JSON object"
    [ "$(promoctl events --json 2>/dev/null | wc -l)" = 1 ]
}

@test "events on a missing log prints only the header; -f follows appended events" {
    run promoctl events
    assert_success
    assert_equal "${#lines[@]}" 1
    promo_start follow promoctl events -f --json
    sleep 0.3
    audit_line acme-shop-9 Promoted "live" pk-9 >> "$T/state/audit.log"
    wait_for 3 grep -q '"tracker":"acme-shop-9"' "$T/follow.log"
}
