#!/usr/bin/env bats
# Metrics: every stage writes STATE/metrics/promo_<stage>.prom in the
# Prometheus text format (node_exporter textfile collector), atomically,
# every 5 s and at exit; the counters move when messages are handled and
# HTTP calls are made (util/metrics.c, docs/operations.md).

load helpers

STAGES="watcher policy trigger monitor promoter"

setup() {
    promo_setup
}

teardown() {
    promo_teardown
}

# prom_valid FILE - check FILE is Prometheus text exposition format 0.0.4:
# HELP/TYPE lines well formed, one TYPE per family and before its samples,
# sample names, label sets and values well formed, every sample has a
# stage label, histogram buckets cumulative with +Inf equal to _count, and
# the file ends with a newline. Prints what is wrong and fails.
prom_valid() {
    [ -s "$1" ] || { echo "$1: empty or missing"; return 1; }
    [ "$(tail -c1 "$1" | od -An -c | tr -d ' ')" = '\n' ] || { echo "$1: no final newline"; return 1; }
    awk '
    function bad(why) { printf "%s:%d: %s: %s\n", FILENAME, NR, why, $0; err = 1 }
    BEGIN { NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*"; LNAME = "[a-zA-Z_][a-zA-Z0-9_]*" }
    /^# HELP / { if ($3 !~ "^" NAME "$") bad("bad HELP name"); next }
    /^# TYPE / {
        if (NF != 4 || $3 !~ "^" NAME "$" || $4 !~ /^(counter|gauge|histogram|summary|untyped)$/) bad("bad TYPE")
        if ($3 in type) bad("second TYPE")
        if ($3 in seen) bad("TYPE after samples")
        type[$3] = $4; next
    }
    /^#/ { next }
    /^$/ { bad("blank line"); next }
    {
        line = $0
        if (!match(line, "^" NAME)) { bad("bad name"); next }
        n = substr(line, 1, RLENGTH); rest = substr(line, RLENGTH + 1); labels = ""
        if (substr(rest, 1, 1) == "{") {
            if (!match(rest, "^\\{(" LNAME "=\"([^\"\\\\\n]|\\\\[\\\\\"n])*\")(," LNAME "=\"([^\"\\\\\n]|\\\\[\\\\\"n])*\")*\\}")) { bad("bad labels"); next }
            labels = substr(rest, 2, RLENGTH - 2); rest = substr(rest, RLENGTH + 1)
        }
        if (rest !~ /^ (-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|[+-]Inf|NaN)( -?[0-9]+)?$/) bad("bad value")
        if (labels !~ /(^|,)stage="[^"]+"/) bad("no stage label")
        base = n; sub(/_(bucket|sum|count)$/, "", base)
        if (n in type) seen[n] = 1
        else if (base in type && type[base] == "histogram") seen[base] = 1
        else bad("sample without TYPE")
        v = rest; sub(/^ /, "", v); sub(/ .*/, "", v)
        if (base in type && type[base] == "histogram" && n != base) {
            key = labels; sub(/,?le="[^"]*"/, "", key); key = base "{" key "}"
            if (n ~ /_bucket$/) {
                if (labels !~ /le="/) bad("bucket without le")
                if ((key in last) && v + 0 < last[key]) bad("buckets not cumulative")
                last[key] = v + 0
                if (labels ~ /le="\+Inf"/) inf[key] = v + 0
            } else if (n ~ /_count$/) {
                if (!(key in inf) || inf[key] != v + 0) bad("_count differs from the +Inf bucket")
            }
        }
    }
    END { exit err }' "$1"
}

# metric FILE SERIES - the value of the sample whose name{labels} is SERIES
# exactly (labels in the order written), or nothing.
metric() {
    awk -v s="$2" 'index($0, s " ") == 1 { print $2 }' "$1"
}

# metric_ge FILE SERIES N - the sample is there and >= N.
metric_ge() {
    local v; v="$(metric "$1" "$2")"
    [ -n "$v" ] && awk -v v="$v" -v n="$3" 'BEGIN { exit !(v + 0 >= n + 0) }'
}

@test "prom_valid: the validator accepts good text and rejects bad text" {
    cat > "$T/good.prom" <<'PROM'
# HELP a_total A.
# TYPE a_total counter
a_total{stage="x",k="a \"q\" \\ \n"} 3
# TYPE h histogram
h_bucket{stage="x",le="0.1"} 1
h_bucket{stage="x",le="+Inf"} 2
h_sum{stage="x"} 0.5
h_count{stage="x"} 2
PROM
    run prom_valid "$T/good.prom"
    assert_success
    printf '# TYPE a counter\na{stage="x"} one\n' > "$T/bad1.prom"
    run prom_valid "$T/bad1.prom"
    assert_failure
    assert_output --partial "bad value"
    printf 'b{stage="x"} 1\n' > "$T/bad2.prom"
    run prom_valid "$T/bad2.prom"
    assert_failure
    assert_output --partial "sample without TYPE"
    printf '# TYPE h histogram\nh_bucket{stage="x",le="1"} 2\nh_bucket{stage="x",le="+Inf"} 1\nh_count{stage="x"} 1\n' > "$T/bad3.prom"
    run prom_valid "$T/bad3.prom"
    assert_failure
    assert_output --partial "not cumulative"
    printf '# TYPE a counter\na{stage="x",k="un"closed"} 1\n' > "$T/bad4.prom"
    run prom_valid "$T/bad4.prom"
    assert_failure
}

@test "each of the five stages writes STATE/metrics/promo_<stage>.prom at start, valid, refreshed every 5 s" {
    local s
    for s in promoter monitor trigger policy watcher; do
        promo_start "$s" "promo-$s" -c "$PROMO_CONFIG"
    done
    for s in $STAGES; do
        wait_for 10 test -s "$T/state/metrics/promo_$s.prom"
    done
    for s in $STAGES; do
        run prom_valid "$T/state/metrics/promo_$s.prom"
        assert_success
        metric_ge "$T/state/metrics/promo_$s.prom" "promo_messages_in_total{stage=\"$s\"}" 0
        metric_ge "$T/state/metrics/promo_$s.prom" "promo_process_cpu_seconds_total{stage=\"$s\"}" 0
        metric_ge "$T/state/metrics/promo_$s.prom" "promo_process_max_resident_bytes{stage=\"$s\"}" 1
    done
    [ "$(stat -c %a "$T/state/metrics/promo_policy.prom")" = 644 ] || [ "$(stat -c %a "$T/state/metrics/promo_policy.prom")" = 600 ]
    t0="$(metric "$T/state/metrics/promo_policy.prom" 'promo_metrics_written_timestamp_seconds{stage="policy"}')"
    changed() { [ "$(metric "$T/state/metrics/promo_policy.prom" 'promo_metrics_written_timestamp_seconds{stage="policy"}')" != "$t0" ]; }
    wait_for 9 changed
    # atomic replacement: no temp file is left beside it
    [ -z "$(find "$T/state/metrics" -name '.*' -type f)" ]
}

@test "counters move when a message is handled: in, bad, quarantined, handle latency; written at exit" {
    printf 'not json\n{"v":1,"kind":"tracker","name":"acme-shop-1","generation":1}\n\n' |
        promo-policy --in - --out - --once > "$T/out.ndjson" 2> "$T/policy.log"
    f="$T/state/metrics/promo_policy.prom"
    run prom_valid "$f"
    assert_success
    [ "$(metric "$f" 'promo_messages_in_total{stage="policy"}')" = 2 ]
    [ "$(metric "$f" 'promo_messages_bad_total{stage="policy"}')" = 1 ]
    [ "$(metric "$f" 'promo_quarantined_total{stage="policy",what="policy"}')" = 1 ]
    [ "$(metric "$f" 'promo_handle_seconds_count{stage="policy"}')" = 1 ]
    [ "$(metric "$f" 'promo_handle_seconds_bucket{stage="policy",le="+Inf"}')" = 1 ]
    # again: a fresh process starts its counters at zero (counters reset on restart, as Prometheus expects)
    printf '{"v":1,"kind":"tracker","name":"acme-shop-1","generation":1}\n' | promo-policy --in - --out - --once >/dev/null 2>&1
    [ "$(metric "$f" 'promo_messages_in_total{stage="policy"}')" = 1 ]
    # --dry-run has no side effect, not even the metrics file
    rm -f "$f"
    printf '{"v":1,"kind":"tracker","name":"acme-shop-1","generation":1}\n' | promo-policy --in - --out - --once --dry-run >/dev/null 2>&1
    [ ! -e "$f" ]
}

@test "through the pipeline: HTTP requests by system and code, rate limit left, triggers, results, decisions, promotions" {
    for p in promo-watcher promo-policy promo-trigger promo-monitor promo-promoter promo-sim; do
        [ -x "$PROMO_BIN/$p" ] || skip "$p is not built"
    done
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
  promotion:
    argocd:
      cluster: default
      application: shop-${TARGET_ENV}
YAML
    printf 'queueMs: 10\nrunMs: 20\n' > "$T/scenario.yaml"
    sim_start --scenario "$T/scenario.yaml"
    sim_yaml "$SIM" "$T" jenkins github argocd >> "$T/promo.yaml"
    for p in promoter monitor trigger policy watcher; do
        promo_start "$p" "promo-$p" -c "$PROMO_CONFIG"
    done
    sim_deploy "$SIM" shop "$(sha_of 1)"
    promoctl track --repo acme/shop --pr 1 --sha "$(sha_of 1)" --env dev --app shop --ref feature/x --state synced >/dev/null
    M="$T/state/metrics"
    promoted() { metric_ge "$M/promo_promoter.prom" 'promo_promotions_total{stage="promoter",target="staging"}' 1; }
    wait_for 40 promoted || { cat "$M/promo_promoter.prom" >&3; promoctl show acme-shop-1 >&3; false; }
    triggered() {
        metric_ge "$M/promo_trigger.prom" 'promo_triggers_total{stage="trigger",provider="jenkins"}' 1 &&
        metric_ge "$M/promo_trigger.prom" 'promo_triggers_total{stage="trigger",provider="github-actions"}' 1
    }
    wait_for 10 triggered
    f="$M/promo_trigger.prom"
    metric_ge "$f" 'promo_http_requests_total{stage="trigger",system="jenkins",code="201"}' 1
    metric_ge "$f" 'promo_http_request_seconds_count{stage="trigger",system="jenkins"}' 1
    metric_ge "$f" 'promo_ratelimit_remaining{stage="trigger",system="github"}' 1
    metric_ge "$f" 'promo_messages_in_total{stage="trigger"}' 1
    metric_ge "$f" 'promo_handle_seconds_count{stage="trigger"}' 1
    results() { metric_ge "$M/promo_monitor.prom" 'promo_decisions_total{stage="monitor",outcome="passed"}' 1; }
    wait_for 10 results
    metric_ge "$M/promo_monitor.prom" 'promo_test_results_total{stage="monitor",provider="jenkins",status="passed"}' 1
    metric_ge "$M/promo_promoter.prom" 'promo_http_requests_total{stage="promoter",system="argocd",code="200"}' 1
    metric_ge "$M/promo_watcher.prom" 'promo_messages_out_total{stage="watcher"}' 1
    for s in $STAGES; do
        run prom_valid "$M/promo_$s.prom"
        assert_success
    done
    # one family, many files: the same name has the same TYPE in every file
    [ "$(cat "$M"/*.prom | grep '^# TYPE ' | sort -u | awk '{ print $3 }' | uniq -d)" = "" ]
}
