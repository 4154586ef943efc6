#!/bin/bash
# bench/ratelimit.sh - GitHub requests per hour for N running Actions runs,
# no webhooks, and how soon each run's result is seen (issue 15's target:
# < 5,000 requests an hour, one token's limit, for 1,000 runs, every result
# seen within 60 s).
#
# promo-sim plays GitHub with its real primary limit (5,000 an hour) and
# Argo CD; the five stages run from bin/. BENCH_RL_REPOS repositories
# (default 10) x BENCH_RL_PRS pull requests (default 100) trackers are
# written at BENCH_RL_RATE a second (default 100), each with one required
# test, the workflow ci.yml of its repository; every run is queued
# BENCH_RL_QUEUE_MS (default 1000) and then runs BENCH_RL_RUN_MS (default
# 150000) before it passes. The window is from the first dispatch to the
# last result the monitor sees (or BENCH_RL_TIMEOUT s, default 330, after
# the start). Prints one JSON object on stdout:
#
#   runs                        runs dispatched
#   window_s                    the window
#   github_requests             GitHub Actions GETs in the window (`/actions/`:
#                               the monitor's status reads, lists and single
#                               runs, and lookups; not the dispatches, not the
#                               promotion's comments and statuses)
#   github_requests_counted     of them, those that count against the limit
#                               (every answer but 304)
#   github_dispatches           the workflow_dispatch POSTs (once per run)
#   github_promotion_requests   the promoter's GitHub requests (statuses,
#                               comments, labels) in the window: steps, not polls
#   requests_per_hour           github_requests_counted per hour of window
#   max_result_delay_s, p99_result_delay_s
#                               from a run's end (its dispatch + queue + run
#                               time) to the monitor's "result" log line
#   requests_per_test_per_min   github_requests / runs / minutes of window
#   results                     results seen; limited: 403/429 answers
#
# Everything runs in a temp dir (BENCH_DIR, default /var/tmp; BENCH_KEEP=1
# keeps it); every process started is stopped by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
BIN="$REPO/bin"
REPOS=${BENCH_RL_REPOS:-10}
PRS=${BENCH_RL_PRS:-100}
RATE=${BENCH_RL_RATE:-100}
QUEUE_MS=${BENCH_RL_QUEUE_MS:-1000}
RUN_MS=${BENCH_RL_RUN_MS:-150000}
TIMEOUT=${BENCH_RL_TIMEOUT:-330}
D=$(mktemp -d "${BENCH_DIR:-/var/tmp}/promo-rl.XXXXXX")
PIDS=()

cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ -n "${BENCH_KEEP:-}" ]; then echo "ratelimit: files kept in $D" >&2; else rm -rf "$D"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf 'ratelimit: %s\n' "$*" >&2; }

for p in promo-sim promo-watcher promo-policy promo-trigger promo-monitor promo-promoter; do
    [ -x "$BIN/$p" ] || { say "$p is not built"; exit 1; }
done
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
N=$(( REPOS * PRS ))

mkdir -p "$D/state" "$D/policies" "$D/secrets"
mkdir -p -m 700 "$D/run"
for s in github argocd; do printf 'bench-%s-token\n' "$s" > "$D/secrets/$s"; done
chmod 600 "$D/secrets/"*
printf 'queueMs: %d\nrunMs: %d\nargocd: {syncDelay: 0}\ngithub: {rateLimit: {limit: 5000, window: 1h}}\n' \
    "$QUEUE_MS" "$RUN_MS" > "$D/scenario.yaml"
cat > "$D/policies/dev-to-staging.yaml" <<'YAML'
apiVersion: promo.dev/v1alpha1
kind: PromotionPolicy
metadata:
  name: dev-to-staging
spec:
  sourceEnvironment: dev
  targetEnvironment: staging
  autoPromote: true
  timeout: 1h
  externalTests:
    - name: ci
      provider: github-actions
      job: ci.yml
  promotion:
    argocd:
      cluster: default
      application: ${APPLICATION}-${TARGET_ENV}
YAML
"$BIN/promo-sim" --listen 127.0.0.1:0 --port-file "$D/sim.port" --log "$D/requests.ndjson" \
    --scenario "$D/scenario.yaml" 2> "$D/sim.log" &
PIDS+=($!)
for _ in $(seq 1 100); do [ -s "$D/sim.port" ] && break; sleep 0.05; done
PORT=$(cat "$D/sim.port")
cat > "$D/promo.yaml" <<YAML
stateDir: $D/state
runDir: $D/run
policyDir: $D/policies
durableWrites: false
github: {apiUrl: http://127.0.0.1:$PORT/github, tokenFile: $D/secrets/github}
argocd:
  clusters:
    default: {url: http://127.0.0.1:$PORT/argocd, tokenFile: $D/secrets/argocd}
YAML
for s in promoter monitor trigger policy watcher; do
    "$BIN/promo-$s" -c "$D/promo.yaml" -v 2> "$D/$s.log" &
    PIDS+=($!)
    if [ "$s" != watcher ]; then
        for _ in $(seq 1 100); do [ -S "$D/run/$s.sock" ] && break; sleep 0.05; done
    fi
done
sleep 1
START=$(date +%s)
say "$N trackers ($REPOS repositories x $PRS PRs) at $RATE/s; runs of ${RUN_MS} ms"

# the trackers: bench/r<R> PR <P>, application r<R>-<P> deployed at its SHA
"$PY" - "$D/state/trackers" "$REPOS" "$PRS" "$RATE" "127.0.0.1" "$PORT" <<'PY'
import hashlib, http.client, json, os, sys, time
tdir, repos, prs, rate, host, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5], int(sys.argv[6])
sim = http.client.HTTPConnection(host, port, timeout=30)
t0, i = time.time(), 0
for p in range(1, prs + 1):
    for r in range(1, repos + 1):
        d = t0 + i / rate - time.time()
        if d > 0:
            time.sleep(d)
        i += 1
        name, app = "bench-r%d-%d" % (r, p), "r%d-%d" % (r, p)
        sha = hashlib.sha1(name.encode()).hexdigest()
        sim.request("POST", "/_sim/deploy?app=%s&revision=%s" % (app, sha))
        resp = sim.getresponse(); resp.read()
        now = time.time()
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%03dZ" % int(now * 1000 % 1000)
        doc = {"apiVersion": "promo.dev/v1alpha1", "kind": "PullRequestTracker",
               "metadata": {"name": name, "creationTimestamp": ts, "generation": 1},
               "spec": {"repository": "bench/r%d" % r, "number": p, "headSHA": sha,
                        "headRef": "feature/pr%d" % p, "application": app, "environment": "dev"},
               "status": {"environment": "dev", "state": "synced", "updatedAt": ts}}
        tmp = os.path.join(tdir, ".%s.tmp" % name)
        with open(tmp, "w") as f:
            f.write(json.dumps(doc, separators=(",", ":")) + "\n")
        os.chmod(tmp, 0o600)
        os.rename(tmp, os.path.join(tdir, name + ".json"))
PY

# wait until every run's result is seen (or the timeout)
while :; do
    seen=$(grep -c 'event=result ' "$D/monitor.log" 2>/dev/null || true)
    [ "${seen:-0}" -ge "$N" ] && break
    [ $(( $(date +%s) - START )) -ge "$TIMEOUT" ] && { say "timeout: $seen of $N results"; break; }
    sleep 2
done
sleep 1

"$PY" - "$D" "$N" "$QUEUE_MS" "$RUN_MS" <<'PY'
import json, re, sys, datetime
d, n, queue_ms, run_ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def ms(ts):
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp() * 1000
trig, res = {}, {}
for line in open(d + "/trigger.log"):
    m = re.search(r'^ts=(\S+) .*event=adapter_triggered system=github .* run=(\d+)', line)
    if m:
        trig[m.group(2)] = ms(m.group(1))
for line in open(d + "/monitor.log"):
    m = re.search(r'^ts=(\S+) .*event=result .* run=(\d+) status=', line)
    if m:
        res.setdefault(m.group(2), ms(m.group(1)))
reqs = [json.loads(l) for l in open(d + "/requests.ndjson")]
gh = [r for r in reqs if r.get("system") == "github"]
t0 = min(trig.values()) if trig else 0
t1 = max(res.values()) if res else t0
def when(r):
    return ms(r["ts"]) if "ts" in r else ms(r["time"])
win = [r for r in gh if t0 <= when(r) <= t1]
gets = [r for r in win if r["method"] == "GET" and "/actions/" in r["path"]]
counted = [r for r in gets if r["status"] != 304]
delays = sorted((res[k] - (trig[k] + queue_ms + run_ms)) / 1000.0 for k in res if k in trig)
window_s = (t1 - t0) / 1000.0 if t1 > t0 else 0.0
p99 = delays[min(len(delays) - 1, int(0.99 * len(delays)))] if delays else None
print(json.dumps({
    "runs": len(trig), "window_s": round(window_s, 1),
    "github_requests": len(gets), "github_requests_counted": len(counted),
    "github_dispatches": len([r for r in gh if r["method"] == "POST" and r["path"].endswith("/dispatches")]),
    "github_promotion_requests": len([r for r in win if "/actions/" not in r["path"]]),
    "requests_per_hour": round(len(counted) / window_s * 3600, 1) if window_s else None,
    "max_result_delay_s": round(delays[-1], 2) if delays else None,
    "p99_result_delay_s": round(p99, 2) if p99 is not None else None,
    "requests_per_test_per_min": round(len(gets) / max(1, len(trig)) / (window_s / 60), 4) if window_s else None,
    "results": len(res), "limited": len([r for r in gh if r["status"] in (403, 429)]),
}))
PY
