#!/usr/bin/env bats
# webhook.bats - promo-webhook: the command line; end to end with promo-sim
# sending the webhooks GitHub, GitLab, Jenkins and Argo CD send, while
# polling is stretched (pollInterval 60s, webhook.pollStretch 60s) so that
# only a webhook can make promo act within seconds; requests that must
# change nothing (bad signature, replay, malformed, huge, unknown run, wrong
# method); the rate limits, per client address and of all clients; and the
# pipeline without promo-webhook, finishing by polling.

load 'helpers'
bats_require_minimum_version 1.5.0

setup() {
    for p in promo-webhook promo-watcher promo-policy promo-trigger promo-monitor promo-promoter promo-sim; do
        [ -x "$PROMO_BIN/$p" ] || skip "$p is not built"
    done
    promo_setup
    printf 'gh-webhook-secret\n' > "$T/gh.secret"
    printf 'gl-webhook-token\n' > "$T/gl.token"
    printf 'jk-webhook-token\n' > "$T/jk.token"
    printf 'ar-webhook-token\n' > "$T/ar.token"
    chmod 600 "$T"/*.secret "$T"/*.token
    cat > "$T/sim-secrets.yaml" <<'YAML'
github: {secret: gh-webhook-secret}
gitlab: {token: gl-webhook-token}
jenkins: {token: jk-webhook-token}
argocd: {token: ar-webhook-token}
YAML
}

teardown() {
    promo_teardown
}

# webhook_up [YAML] - slow polling, the webhook section (and YAML lines
# under it), promo-webhook on a free port ($WH).
webhook_up() {
    sed -i 's/^pollInterval: .*/pollInterval: 60s/' "$T/promo.yaml"
    cat >> "$T/promo.yaml" <<YAML
webhook:
  listen: 127.0.0.1:0
  githubSecretFile: $T/gh.secret
  gitlabTokenFile: $T/gl.token
  jenkinsTokenFile: $T/jk.token
  argocdTokenFile: $T/ar.token
  pollStretch: 60s
${1:-}
YAML
    promo_start webhook promo-webhook --port-file "$T/webhook.port"
    wait_for 10 test -s "$T/webhook.port"
    WH="http://127.0.0.1:$(cat "$T/webhook.port")"
}

# sim_up [--webhooks] - promo-sim (runs take 2.5 s, Argo CD syncs in 1.5 s),
# sending webhooks to $WH with --webhooks; the config pointed at it.
sim_up() {
    cat > "$T/scenario.yaml" <<'YAML'
queueMs: 50
runMs: 2500
argocd:
  syncDelay: 1500ms
YAML
    if [ "${1:-}" = --webhooks ]; then
        sim_start --log "$T/requests.ndjson" --scenario "$T/scenario.yaml" --webhook-url "$WH" \
            --webhook-secrets "$T/sim-secrets.yaml"
    else
        sim_start --log "$T/requests.ndjson" --scenario "$T/scenario.yaml"
    fi
    sim_yaml "$SIM" "$T" >> "$T/promo.yaml"
}

# policy PROVIDER JOB - dev -> staging with one required test, promoting shop-staging.
policy() {
    cat > "$T/policies/dev-to-staging.yaml" <<YAML
apiVersion: promo.dev/v1alpha1
kind: PromotionPolicy
metadata:
  name: dev-to-staging
spec:
  sourceEnvironment: dev
  targetEnvironment: staging
  timeout: 5m
  externalTests:
    - name: t
      provider: $1
      job: $2
  promotion:
    argocd:
      cluster: default
      application: shop-staging
YAML
}

# pipeline_up - the five stages.
pipeline_up() {
    local p
    for p in promoter monitor trigger policy watcher; do
        promo_start "$p" "promo-$p" -v
    done
}

track() {
    sim_deploy "$SIM" shop "$(sha_of 1)"
    promoctl track --repo acme/shop --pr 1 --sha "$(sha_of 1)" --env dev --app shop --ref feature/x --state synced >/dev/null
}

# promoted - the promoter patched shop-staging in the sim's Argo CD.
promoted() {
    [ "$(jq -s '[.[] | select(.system == "argocd" and .method == "PATCH" and (.path | test("shop-staging")))] | length' \
        "$T/requests.ndjson")" -ge 1 ]
}

# sim_requests JQ-SELECT - how many logged sim requests match.
sim_requests() {
    jq -s "[.[] | select($1)] | length" "$T/requests.ndjson"
}

# trigger_run FIELD - FIELD of the run of test t in the trigger record.
trigger_run() {
    jq -r ".hops.dev.tests[0].$1" "$T/state/trigger/acme-shop-1.json"
}

# gh_post BODY [SECRET] - POST BODY to /github signed with SECRET; prints the HTTP status.
gh_post() {
    local sig
    sig=$(printf '%s' "$1" | openssl dgst -sha256 -hmac "${2:-gh-webhook-secret}" -r | cut -d' ' -f1)
    curl -s -o "$T/resp.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        -H 'X-GitHub-Event: workflow_run' -H "X-Hub-Signature-256: sha256=$sig" --data-binary "$1" "$WH/github"
}

# e2e PROVIDER JOB - everything up with webhooks; track; promoted within 10 s
# although polling alone would take a minute; the run was polled at most
# twice (once at the start, once re-checked on the hint).
e2e() {
    webhook_up
    sim_up --webhooks
    policy "$1" "$2"
    pipeline_up
    local t0=$(date +%s)
    track
    wait_for 15 promoted || { cat "$T/webhook.log" "$T/monitor.log" >&3; false; }
    [ $(( $(date +%s) - t0 )) -le 10 ]
    grep -q 'hinted' "$T/webhook.log"
    grep -q 'effect="poll now"' "$T/monitor.log"
    polls=$(sim_requests ".method == \"GET\" and .system == \"$3\"")
    [ "$polls" -le 3 ] || { echo "polls=$polls" >&3; false; }
    # the sim logged the completion webhook it sent, about the run promo
    # triggered (its key), answered "hinted"
    local key sent patched
    key=$(trigger_run key)
    [ "$(sim_requests ".system == \"webhook\" and .source == \"$3\" and .key == \"$key\" and .status == 200")" = 1 ]
    # the figure: from the sim sending the completion webhook to Argo CD receiving the update
    sent=$(jq -rs --arg k "$key" '[.[] | select(.system == "webhook" and .key == $k)][0].sentAt' "$T/requests.ndjson")
    patched=$(jq -rs '[.[] | select(.system == "argocd" and .method == "PATCH")][0].time' "$T/requests.ndjson")
    patched=$(date -d "$patched" +%s%3N)
    [ "$sent" -le "$patched" ]
    echo "# $1: webhook sent -> Argo CD PATCH: $(( patched - sent )) ms" >&3
}

# --- command line ---

@test "--help describes the receiver and exits 0" {
    run promo-webhook --help
    assert_success
    assert_output --partial "promo-webhook"
    assert_output --partial "/github"
    assert_output --partial "monitor.sock"
}

@test "a bad webhook.listen exits 100" {
    printf 'webhook:\n  listen: nowhere\n' >> "$T/promo.yaml"
    run promo-webhook
    assert_failure 100
    assert_output --partial "webhook.listen"
}

@test "a missing secret file is a config error naming the key" {
    printf 'webhook:\n  githubSecretFile: %s/none\n' "$T" >> "$T/promo.yaml"
    run promo-webhook
    assert_failure 100
    assert_output --partial "githubSecretFile"
}

# --- each kind of event promotes without waiting for a poll ---

@test "GitHub workflow_run completed: promoted within seconds, with one re-check" {
    e2e github-actions e2e.yml github
}

@test "GitLab Pipeline Hook: promoted within seconds, with one re-check" {
    e2e gitlab acme/e2e gitlab
}

@test "Jenkins notification: promoted within seconds, with one re-check" {
    e2e jenkins promo/smoke jenkins
    # the notification names the build as Jenkins does, folders as /job/A/job/B/
    # (only Jenkins's: Argo CD's, sent once staging syncs, has no build)
    [ "$(sim_requests '.system == "webhook" and .source == "jenkins" and
        (.body.build.full_url | test("/jenkins/job/promo/job/smoke/[0-9]+/$"))')" = 1 ]
}

@test "Argo CD notification: the watcher sees staging synced without waiting for its poll" {
    e2e github-actions e2e.yml github
    wait_for 8 sh -c 'jq -e ".state == \"synced\" and .environment == \"staging\"" "$T/state/watcher/acme-shop-1.json"' \
        || { cat "$T/watcher.log" "$T/webhook.log" >&3; false; }
    grep -q 'source=argocd' "$T/webhook.log"
    grep -q 'effect="read now"' "$T/watcher.log"
}

# --- requests that change nothing ---

@test "bad signature 401, replay duplicate, malformed 400, huge 413, unknown run 202, GET 405: nothing changes" {
    e2e github-actions e2e.yml github
    wait_for 8 sh -c 'jq -e ".state == \"synced\" and .environment == \"staging\"" "$T/state/watcher/acme-shop-1.json"'
    sleep 1
    cp -r "$T/state" "$T/before"
    local run_id before body
    run_id=$(trigger_run run.id)
    before=$(sim_requests '.system == "github" or (.system == "argocd" and .method != "GET")')
    body=$(jq -cn --argjson id "$run_id" '{action: "completed", workflow_run: {id: $id, status: "completed", conclusion: "success"}}')

    [ "$(gh_post "$body" wrong-secret)" = 401 ]
    [ "$(jq -r .status "$T/resp.json")" = unverified ]
    [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'X-GitHub-Event: workflow_run' --data-binary "$body" "$WH/github")" = 401 ]
    [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'X-Gitlab-Event: Pipeline Hook' -H 'X-Gitlab-Token: nope' \
        --data-binary '{}' "$WH/gitlab")" = 401 ]

    [ "$(gh_post "$body")" = 200 ]            # genuine but late: a hint; the monitor knows the run is final
    [ "$(gh_post "$body")" = 200 ]            # the same body again
    [ "$(jq -r .status "$T/resp.json")" = duplicate ]

    [ "$(gh_post 'not json {')" = 400 ]
    [ "$(gh_post '{"action":"completed"}')" = 400 ]

    head -c 2000000 /dev/zero | tr '\0' 'a' > "$T/huge"
    [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'X-GitHub-Event: workflow_run' \
        -H 'X-Hub-Signature-256: sha256=00' --data-binary @"$T/huge" "$WH/github")" = 413 ]

    [ "$(gh_post '{"action":"completed","workflow_run":{"id":987654321}}')" = 202 ]
    [ "$(jq -r .status "$T/resp.json")" = unmatched ]

    [ "$(curl -s -o /dev/null -w '%{http_code}' "$WH/github")" = 405 ]
    [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$WH/nowhere")" = 404 ]

    sleep 1
    # nothing changed: no request to any system, the state dir as it was
    # (but for its metrics/, rewritten every few seconds, which count the
    # monitor's message of the late hint above)
    [ "$(sim_requests '.system == "github" or (.system == "argocd" and .method != "GET")')" = "$before" ]
    diff -r -x metrics "$T/before" "$T/state"
    grep -q 'unverified' "$T/webhook.log"
    grep -q 'unmatched' "$T/webhook.log"
    grep -q 'duplicate' "$T/webhook.log"
    grep -q 'malformed' "$T/webhook.log"
    grep -q 'oversized' "$T/webhook.log"
    ! grep -q 'gh-webhook-secret\|gl-webhook-token' "$T/webhook.log" "$T/sim.log"
}

# --- rate limits ---

# flood FROM N [RUN [RUN_FROM]] - N unsigned POSTs to /github from source
# address FROM over one connection (one curl), and then, with RUN, a signed
# one about RUN from RUN_FROM (default FROM, on the same connection): as
# status_from, but within a millisecond of the flood, before a bucket earns
# a token back; prints each status, one a line.
flood() {
    local i body sig
    {
        for i in $(seq 1 "$2"); do
            [ "$i" = 1 ] || echo next
            printf 'url = "%s/github"\ninterface = "%s"\nrequest = "POST"\ndata = "{}"\n' "$WH" "$1"
            printf 'output = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n'
        done
        if [ -n "${3:-}" ]; then
            body="{\"action\":\"completed\",\"workflow_run\":{\"id\":$3}}"
            sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac gh-webhook-secret -r | cut -d' ' -f1)
            printf 'next\nurl = "%s/github"\ninterface = "%s"\nrequest = "POST"\n' "$WH" "${4:-$1}"
            printf 'header = "X-GitHub-Event: workflow_run"\nheader = "X-Hub-Signature-256: sha256=%s"\n' "$sig"
            printf 'data-binary = "%s"\n' "${body//\"/\\\"}"
            printf 'output = "%s"\ndump-header = "%s"\nwrite-out = "%%{http_code}\\n"\n' "$T/resp.json" \
                "$T/resp.headers"
        fi
    } > "$T/flood.curlrc"
    curl -s -K "$T/flood.curlrc"
}

# status_from FROM RUN - the status of one signed POST to /github from FROM
# about run RUN (unknown: 202; each RUN once, or it is a duplicate).
status_from() {
    local body="{\"action\":\"completed\",\"workflow_run\":{\"id\":$2}}" sig
    sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac gh-webhook-secret -r | cut -d' ' -f1)
    curl -s -o "$T/resp.json" -D "$T/resp.headers" -w '%{http_code}' --interface "$1" -X POST \
        -H 'X-GitHub-Event: workflow_run' -H "X-Hub-Signature-256: sha256=$sig" --data-binary "$body" "$WH/github"
}

@test "rate limit: one client over its rate (429) does not stop another" {
    curl -s -o /dev/null --interface 127.0.0.2 http://127.0.0.1:1/ 2>/dev/null || [ $? != 45 ] \
        || skip "cannot send from 127.0.0.2 here"
    webhook_up '  clientRateLimit: 5
  rateLimit: 1000'
    # 127.0.0.1: a burst of 10 (twice the rate) goes through to verification
    # (401: unsigned), the rest is refused before anything is read, and so is
    # a signed webhook right after them (a separate curl would start 200 ms
    # or more later on a busy machine, time enough to earn a token back)
    flood 127.0.0.1 40 1001 > "$T/codes"
    [ "$(tail -n 1 "$T/codes")" = 429 ]
    sed -i '$d' "$T/codes"
    [ "$(grep -c '^401$' "$T/codes")" -ge 10 ]
    [ "$(grep -c '^429$' "$T/codes")" -ge 20 ]
    [ "$(grep -c -v '^401$\|^429$' "$T/codes")" = 0 ]
    [ "$(jq -r .status "$T/resp.json")" = rate_limited ]
    grep -qi '^retry-after: 1' "$T/resp.headers"
    # 127.0.0.2 meanwhile: its own bucket, full; its webhook is verified and answered
    [ "$(status_from 127.0.0.2 1002)" = 202 ]
    [ "$(jq -r .status "$T/resp.json")" = unmatched ]
    flood 127.0.0.2 8 > "$T/codes2"
    [ "$(grep -c '^401$' "$T/codes2")" = 8 ]
    grep -q 'event=rate_limited .*detail="client 127.0.0.1 over 5 requests/s"' "$T/webhook.log"
    ! grep -q 'detail="client 127.0.0.2' "$T/webhook.log"
    # 127.0.0.1 earns 5 tokens a second again
    sleep 1.2
    [ "$(status_from 127.0.0.1 1003)" = 202 ]
}

@test "rate limit: all clients together are capped too" {
    curl -s -o /dev/null --interface 127.0.0.2 http://127.0.0.1:1/ 2>/dev/null || [ $? != 45 ] \
        || skip "cannot send from 127.0.0.2 here"
    webhook_up '  clientRateLimit: 1000
  rateLimit: 5'
    # a flood from 127.0.0.1, then at once a signed webhook from 127.0.0.2
    flood 127.0.0.1 40 1001 127.0.0.2 > "$T/codes"
    [ "$(tail -n 1 "$T/codes")" = 429 ]
    [ "$(grep -c '^429$' "$T/codes")" -ge 21 ]
    grep -q 'event=rate_limited .*detail="all clients over 5 requests/s"' "$T/webhook.log"
}

@test "rate limit: a flood of addresses fills a bounded table (1024 clients, least recently seen evicted)" {
    curl -s -o /dev/null --interface 127.0.1.1 http://127.0.0.1:1/ 2>/dev/null || [ $? != 45 ] \
        || skip "cannot send from 127.0.1.1 here"
    webhook_up
    local i
    {
        for i in $(seq 0 1099); do
            [ "$i" = 0 ] || echo next
            printf 'url = "%s/github"\ninterface = "127.0.%d.%d"\nrequest = "POST"\ndata = "{}"\n' \
                "$WH" $(( 1 + i / 250 )) $(( 1 + i % 250 ))
            printf 'output = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n'
        done
    } > "$T/many.curlrc"
    curl -s -K "$T/many.curlrc" > "$T/codes"
    [ "$(grep -c '^401$' "$T/codes")" = 1100 ]
    promo_stop webhook
    grep -q 'event=stop .*unverified=1100 .*clients=1024 clients_evicted=76 ' "$T/webhook.log" \
        || { grep 'event=stop' "$T/webhook.log" >&3; false; }
}

# --- slow and large requests ---

# trickle PORT OUT N ADDR... - N connections from each ADDR that each send
# "POST /github" and then one header line every 2 s, never ending the
# headers (slowloris); touches OUT.ready once all are open, and exits when
# the server has closed every one (or after 30 s), writing to OUT one line
# per connection: the seconds it stayed open, or "open" if it still was.
trickle() {
    python3 - "$@" <<'PY'
import select, socket, sys, time
port, out, n, addrs = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4:]
conns = []                                    # [socket, opened, closed]
for a in addrs:
    for _ in range(n):
        s = socket.socket()
        s.bind((a, 0))
        s.connect(("127.0.0.1", port))
        s.sendall(b"POST /github HTTP/1.1\r\nHost: promo\r\n")
        conns.append([s, time.monotonic(), None])
open(out + ".ready", "w").close()
end, nxt, i = time.monotonic() + 30, time.monotonic() + 2, 0
while time.monotonic() < end and any(c[2] is None for c in conns):
    live = [c for c in conns if c[2] is None]
    r, _, _ = select.select([c[0] for c in live], [], [], 0.1)
    now = time.monotonic()
    for c in live:
        try:
            if c[0] in r and not c[0].recv(4096):
                c[2] = now                   # the server closed it (FIN)
            elif now >= nxt:
                c[0].sendall(b"X-Trickle-%d: 1\r\n" % i)
        except OSError:
            c[2] = now                       # reset
    if now >= nxt:
        nxt, i = now + 2, i + 1
with open(out, "w") as f:
    for s, t0, t1 in conns:
        f.write("open\n" if t1 is None else "%.2f\n" % (t1 - t0))
PY
}

@test "slowloris: connections trickling headers from three addresses do not lock out a fourth, and are closed at webhook.requestTimeout" {
    curl -s -o /dev/null --interface 127.0.0.4 http://127.0.0.1:1/ 2>/dev/null || [ $? != 45 ] \
        || skip "cannot send from 127.0.0.4 here"
    webhook_up '  requestTimeout: 4s'
    local port; port=$(cat "$T/webhook.port")
    # 66 connections, 22 from each address: more than the 64 slots
    trickle "$port" "$T/trickle" 22 127.0.0.1 127.0.0.2 127.0.0.3 &
    local tp=$!
    echo "$tp trickle" >> "$T/pids"          # stopped by promo_teardown if the test fails
    wait_for 10 test -e "$T/trickle.ready"
    sleep 0.5
    # a webhook from a fourth address is answered at once, long before the
    # deadline frees a slot (3 s: 300 times what it takes on an idle machine)
    local body='{"action":"completed","workflow_run":{"id":4004}}' sig out
    sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac gh-webhook-secret -r | cut -d' ' -f1)
    out=$(curl -s -o "$T/resp.json" -w '%{http_code} %{time_total}' -m 10 --interface 127.0.0.4 -X POST \
        -H 'X-GitHub-Event: workflow_run' -H "X-Hub-Signature-256: sha256=$sig" --data-binary "$body" "$WH/github") || true
    echo "# slowloris: fourth address answered: $out" >&3
    [ "${out%% *}" = 202 ] || { cat "$T/webhook.log" >&3; false; }
    awk -v t="${out#* }" 'BEGIN { exit !(t < 3) }'
    # every trickling connection is closed: those refused at once (over an
    # address's share), the others at the 4 s deadline (their headers were
    # never whole), none still open
    wait "$tp"
    [ "$(grep -c . "$T/trickle")" = 66 ]
    ! grep -q open "$T/trickle"
    local held; held=$(awk '$1 >= 3.5' "$T/trickle" | wc -l)
    echo "# slowloris: $held of 66 held until the deadline, closed after $(sort -n "$T/trickle" | tail -n 1) s at most" >&3
    [ "$held" -ge 24 ]
    awk '$1 >= 1 && $1 < 3.5 { bad = 1 } $1 > 12 { bad = 1 } END { exit bad }' "$T/trickle" \
        || { sort -n "$T/trickle" | uniq -c >&3; false; }
    grep -q 'event=request_timeout ' "$T/webhook.log"
}

@test "slowloris from five addresses: with the slots nearly all taken a request gets 2 s, and a client waiting in the listen queue is answered" {
    curl -s -o /dev/null --interface 127.0.0.9 http://127.0.0.1:1/ 2>/dev/null || [ $? != 45 ] \
        || skip "cannot send from 127.0.0.9 here"
    webhook_up '  requestTimeout: 8s'
    # 80 connections, 16 from each address (its share): 64 take every slot, 16 wait
    trickle "$(cat "$T/webhook.port")" "$T/trickle" 16 127.0.0.1 127.0.0.2 127.0.0.3 127.0.0.5 127.0.0.6 &
    echo "$! trickle" >> "$T/pids"
    wait_for 10 test -e "$T/trickle.ready"
    # a webhook from a sixth address waits for a slot: it gets one when the
    # oldest requests are closed at 2 s, long before the 8 s deadline
    local body='{"action":"completed","workflow_run":{"id":4009}}' sig out
    sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac gh-webhook-secret -r | cut -d' ' -f1)
    out=$(curl -s -o "$T/resp.json" -w '%{http_code} %{time_total}' -m 20 --interface 127.0.0.9 -X POST \
        -H 'X-GitHub-Event: workflow_run' -H "X-Hub-Signature-256: sha256=$sig" --data-binary "$body" "$WH/github") || true
    echo "# slowloris, 64 slots taken: sixth address answered: $out" >&3
    [ "${out%% *}" = 202 ] || { cat "$T/webhook.log" >&3; false; }
    awk -v t="${out#* }" 'BEGIN { exit !(t < 6) }'
    grep -q 'event=request_timeout .*timeout_ms=2000 .*busy=1 ' "$T/webhook.log"
}

# signed_pad SIZE - a signed workflow_run body of about SIZE bytes (a
# padding field), in $T/body, its signature in $T/body.sig.
signed_pad() {
    { printf '{"action":"completed","workflow_run":{"id":%d},"pad":"' $(( 5000 + $1 % 1000 ))
      head -c "$(( $1 - 80 ))" /dev/zero | tr '\0' 'a'
      printf '"}'; } > "$T/body"
    openssl dgst -sha256 -hmac gh-webhook-secret -r < "$T/body" | cut -d' ' -f1 > "$T/body.sig"
}

# post_body [CURL-ARG...] - POST $T/body to /github, signed; prints "STATUS SECONDS".
post_body() {
    curl -s -o "$T/resp.json" -w '%{http_code} %{time_total}' -m 30 -X POST -H 'X-GitHub-Event: workflow_run' \
        -H "X-Hub-Signature-256: sha256=$(cat "$T/body.sig")" "$@" --data-binary @"$T/body" "$WH/github" || true
}

@test "large bodies: up to the limit answered at once, over it 413 at once (Content-Length or chunked)" {
    webhook_up
    local size out
    # each takes milliseconds on an idle machine: 3 s is room for a loaded
    # one under ASan, and far below the 12 s a 1 MB body took when read 16
    # KiB per 250 ms tick
    for size in 100000 1000000 1048000; do
        signed_pad "$size"
        out=$(post_body)
        echo "# body of $size bytes: $out" >&3
        [ "${out%% *}" = 202 ]
        awk -v t="${out#* }" 'BEGIN { exit !(t < 3) }'
        out=$(post_body -H 'Transfer-Encoding: chunked')
        echo "# body of $size bytes, chunked: $out" >&3
        [ "${out%% *}" = 200 ] && [ "$(jq -r .status "$T/resp.json")" = duplicate ]
        awk -v t="${out#* }" 'BEGIN { exit !(t < 3) }'
    done
    signed_pad 2000000
    out=$(post_body)
    echo "# body of 2000000 bytes: $out" >&3
    [ "${out%% *}" = 413 ]
    awk -v t="${out#* }" 'BEGIN { exit !(t < 3) }'
    out=$(post_body -H 'Transfer-Encoding: chunked')
    echo "# body of 2000000 bytes, chunked: $out" >&3
    [ "${out%% *}" = 413 ]
    awk -v t="${out#* }" 'BEGIN { exit !(t < 3) }'
    [ "$(jq -r .status "$T/resp.json")" = oversized ]
}

@test "without promo-webhook the pipeline still finishes by polling" {
    sim_up
    policy gitlab acme/e2e
    pipeline_up
    track
    wait_for 20 promoted || { cat "$T/monitor.log" >&3; false; }
    ! grep -q 'effect="poll now"' "$T/monitor.log"
}

# promoter_done NAME APP - the record promo-promoter leaves once tracker
# NAME's dev -> staging hop has promoted APP (docs/state.md, "The promoter
# record"; promoter/promoter_record.c): at the generation and head SHA of
# the tracker as promoctl track left it, so the strict decoder promo-webhook
# reads it with (domain/rec_promoter.c) takes it as the stages do; renamed
# into place, as the store writes.
promoter_done() {
    local key tkey
    key="pk-$(sha_of "promotion $1" | cut -c1-24)"
    tkey="pk-$(sha_of "test $1" | cut -c1-24)"
    jq -c --arg app "$2" --arg key "$key" --arg tkey "$tkey" --arg at 2026-12-01T10:00:00.000Z '
        {name: .metadata.name, generation: .metadata.generation, headSHA: .spec.headSHA,
         hops: {dev: {source: "dev", target: "staging", policy: "dev-to-staging", key: $key,
                      argocd: {cluster: "default", application: $app},
                      phase: "done", phaseAt: $at, doneAt: $at, statusPending: false, commentId: 1001,
                      attempts: 0, lastError: null, nextRetryAt: null, approvedBy: null, testKeys: [$tkey],
                      steps: {argocdUpdated: true, argocdSynced: true, labels: true, status: true,
                              comment: true, recorded: true, audited: true}}},
         promotions: [{outcome: "Promoted", sourceEnvironment: "dev", targetEnvironment: "staging",
                       headSHA: .spec.headSHA, generation: .metadata.generation, promotedAt: $at,
                       promotedBy: "promo-promoter", policy: "dev-to-staging", key: $key,
                       testRuns: [{name: "t", provider: "jenkins", required: true, status: "passed",
                                   url: "http://127.0.0.1:9/job/t/1/", durationMs: 2500, key: $tkey}]}]}' \
        "$T/state/trackers/$1.json" > "$T/state/promoter/.tmp-$1"
    mv "$T/state/promoter/.tmp-$1" "$T/state/promoter/$1.json"
}

@test "Argo CD notification for an application two trackers promote to: both get a hint, from records changed after start" {
    mkdir -p "$T/state/promoter" "$T/state/trigger"
    promo_start hints "$PROMO_BIN/promo-pipe" --in "ipc://$T/run/hints.sock" --out none -- sh -c "cat >> '$T/hints.ndjson'"
    webhook_up
    promo_stop webhook
    promo_start webhook promo-webhook -v --port-file "$T/webhook.port" --watcher "ipc://$T/run/hints.sock"
    rm -f "$T/webhook.port"
    wait_for 10 test -s "$T/webhook.port"
    WH="http://127.0.0.1:$(cat "$T/webhook.port")"
    local n
    for n in 1 2 3; do
        promoctl track --repo acme/shop --pr "$n" --sha "$(sha_of "$n")" --env dev --app shop --ref "feature/$n" \
            --state synced >/dev/null
    done
    # the records appear after promo-webhook started: it learns of them by
    # inotify; two trackers promoted to shop-staging, the third elsewhere
    promoter_done acme-shop-1 shop-staging
    promoter_done acme-shop-2 shop-staging
    promoter_done acme-shop-3 other-staging
    local code
    code=$(curl -s -o "$T/resp.json" -w '%{http_code}' -X POST -H 'X-Promo-Token: ar-webhook-token' \
        -H 'Content-Type: application/json' --data-binary '{"app":"shop-staging","sync":"Synced","health":"Healthy"}' "$WH/argocd")
    [ "$code" = 200 ] || { cat "$T/resp.json" "$T/webhook.log" >&3; false; }
    wait_for 5 sh -c '[ "$(wc -l < "$T/hints.ndjson")" -ge 2 ]' || { cat "$T/webhook.log" "$T/hints.log" >&3; false; }
    sleep 0.3
    [ "$(jq -r .name "$T/hints.ndjson" | sort | tr '\n' ' ')" = "acme-shop-1 acme-shop-2 " ]
    [ "$(jq -r .application "$T/hints.ndjson" | sort -u)" = shop-staging ]
    grep -q 'trackers=2' "$T/webhook.log"
    # a new commit on acme-shop-2: the promoter makes its record current for
    # the new generation (promoter_record_for: no hop yet, the history kept),
    # and a record rewritten without the application leaves the index with it
    promoctl track --repo acme/shop --pr 2 --sha "$(sha_of 2b)" --env dev --app shop --ref feature/2 \
        --state synced >/dev/null
    jq -c --slurpfile tr "$T/state/trackers/acme-shop-2.json" \
        '{name, generation: $tr[0].metadata.generation, headSHA: $tr[0].spec.headSHA, hops: {}, promotions}' \
        "$T/state/promoter/acme-shop-2.json" > "$T/state/promoter/.tmp"
    [ "$(jq .generation "$T/state/promoter/.tmp")" = 2 ]
    mv "$T/state/promoter/.tmp" "$T/state/promoter/acme-shop-2.json"
    # a record its decoder refuses (no 40-hex head SHA, a hop with no
    # phase) is absent to promo-webhook, as to the stages: no hint for it
    jq -n '{name: "acme-shop-3", generation: 1, headSHA: "abc",
        hops: {dev: {argocd: {application: "shop-staging"}}}}' > "$T/state/promoter/.tmp"
    mv "$T/state/promoter/.tmp" "$T/state/promoter/acme-shop-3.json"
    code=$(curl -s -o "$T/resp.json" -w '%{http_code}' -X POST -H 'X-Promo-Token: ar-webhook-token' \
        --data-binary '{"app":"shop-staging","sync":"Synced","health":"Degraded"}' "$WH/argocd")
    [ "$code" = 200 ]
    wait_for 5 sh -c '[ "$(wc -l < "$T/hints.ndjson")" -ge 3 ]'
    sleep 0.3
    [ "$(tail -n 1 "$T/hints.ndjson" | jq -r .name)" = acme-shop-1 ]
    [ "$(wc -l < "$T/hints.ndjson")" -eq 3 ]
    grep 'event=record_invalid' "$T/webhook.log" | grep -q 'area=promoter tracker=acme-shop-3 error="headSHA'
}
