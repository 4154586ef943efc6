#!/bin/sh
# demo.sh - make demo: the whole pipeline on an embedded default, end to end.
#
# Starts promo-sim (playing Jenkins, GitHub, GitLab and Argo CD) and the five
# stages under supervisord with supervisor.conf, loads a three-environment
# chain (dev -> staging -> prod), tracks two PRs that take turns in the shared
# staging and prod applications, shows their progress live, approves the
# last hop as an operator would, prints the audit trail, and
# stops everything it started (by PID). PROMO_KEEP=1 keeps the temp dir.
set -eu
cd "$(dirname "$0")/.."
REPO=$(pwd)
BIN="${PROMO_DEMO_BIN:-$REPO/bin}"      # the programs (tests/bats/demo.bats: the build under test)
D=$(mktemp -d "${TMPDIR:-/tmp}/promo-demo.XXXXXX")
SIM_PID= SUP_PID=

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

cleanup() {
    [ -n "$SUP_PID" ] && kill -TERM "$SUP_PID" 2>/dev/null && wait "$SUP_PID" 2>/dev/null || true
    [ -n "$SIM_PID" ] && kill -TERM "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null || true
    if [ -n "${PROMO_KEEP:-}" ]; then echo "demo files kept in $D"; else rm -rf "$D"; fi
}
trap cleanup EXIT INT TERM

for p in promo-sim promo-watcher promo-policy promo-trigger promo-monitor promo-promoter promoctl; do
    if [ ! -x "$BIN/$p" ]; then
        echo "demo: $p is not built yet: this demo needs the whole pipeline" >&2
        exit 1
    fi
done

say "promo-sim plays Jenkins, GitHub, GitLab and Argo CD on 127.0.0.1"
mkdir -p "$D/policies" "$D/secrets" "$D/supervise"
for s in jenkins github gitlab argocd; do
    printf 'demo-%s-token-%s\n' "$s" "$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" > "$D/secrets/$s"
done
chmod 600 "$D/secrets/"*
cat > "$D/sim-auth.yaml" <<YAML
jenkins: {user: promo, token: "$(cat "$D/secrets/jenkins")"}
github: {token: "$(cat "$D/secrets/github")"}
gitlab: {token: "$(cat "$D/secrets/gitlab")"}
argocd: {token: "$(cat "$D/secrets/argocd")"}
YAML
"$BIN/promo-sim" --listen 127.0.0.1:0 --port-file "$D/sim.port" --log "$D/requests.ndjson" \
    --auth "$D/sim-auth.yaml" 2> "$D/sim.log" &
SIM_PID=$!
i=0; while [ ! -s "$D/sim.port" ]; do i=$((i+1)); [ $i -lt 100 ] || { echo "demo: promo-sim did not start" >&2; cat "$D/sim.log" >&2; exit 1; }; sleep 0.05; done
PORT=$(cat "$D/sim.port")
SIM="http://127.0.0.1:$PORT"
echo "listening on $SIM (request log: requests.ndjson)"

cat > "$D/promo.yaml" <<YAML
stateDir: $D/state
runDir: $D/run
policyDir: $D/policies
resyncInterval: 5s
pollInterval: 1s
jenkins: {url: $SIM/jenkins, user: promo, tokenFile: $D/secrets/jenkins}
github: {apiUrl: $SIM/github, tokenFile: $D/secrets/github}
gitlab: {url: $SIM/gitlab, tokenFile: $D/secrets/gitlab}
argocd:
  clusters:
    default: {url: $SIM/argocd, tokenFile: $D/secrets/argocd}
webhook: {listen: "127.0.0.1:0"}
YAML
for f in "$REPO"/examples/demo/policies/*.yaml; do
    sed "s|@DEMO_DIR@|$REPO/examples/demo|" "$f" > "$D/policies/$(basename "$f")"
done
export PROMO_CONFIG="$D/promo.yaml" PROMO_BIN="$BIN" PROMO_SUPERVISE="$D/supervise"

say "the policy set"
"$BIN/promoctl" policies

say "the five stages and promo-webhook start under supervisord (supervisor.conf)"
supervisord -c "$REPO/supervisor.conf" > "$D/supervise/supervisord.out" 2>&1 &
SUP_PID=$!
i=0
# every program of the group (supervisor.conf: the five stages and promo-webhook) RUNNING
want=$(sed -n 's/^programs = //p' "$REPO/supervisor.conf" | tr ',' '\n' | grep -c .)
until [ "$(supervisorctl -c "$REPO/supervisor.conf" status 2>/dev/null | grep -c ' RUNNING ')" = "$want" ]; do
    i=$((i+1)); [ $i -lt 100 ] || { echo "demo: the stages did not start" >&2; supervisorctl -c "$REPO/supervisor.conf" status >&2 || true; exit 1; }
    sleep 0.1
done
supervisorctl -c "$REPO/supervisor.conf" status

SHA=$(printf 'demo %s' "$$" | sha1sum | cut -c1-40)
SHA2=$(printf 'demo %s second' "$$" | sha1sum | cut -c1-40)
say "PRs acme/shop#42 and #43 are deployed and synced in dev (each in its own preview app)"
"$BIN/promoctl" track --repo acme/shop --pr 42 --sha "$SHA" --ref feature/checkout --env dev --app shop-pr-42 --state synced
"$BIN/promoctl" track --repo acme/shop --pr 43 --sha "$SHA2" --ref feature/search --env dev --app shop-pr-43 --state synced

say "progress, live: staging and prod hold one PR at a time, the other waits its turn"
last= approved=' ' start=$(date +%s)
while :; do
    lines=$("$BIN/promoctl" list | awk 'NR > 1')
    if [ "$lines" != "$last" ]; then
        printf '%s\n' "$lines" | sed "s/^/$(printf '%5ss' "$(( $(date +%s) - start ))")  /"
        last=$lines
    fi
    for t in $(printf '%s\n' "$lines" | awk '$3 == "awaiting-approval" { print $1 }'); do
        case "$approved" in *" $t "*) continue ;; esac
        say "an operator approves the promotion of $t to prod"
        "$BIN/promoctl" approve "$t" --by "demo-operator"
        approved="$approved$t "
    done
    [ "$(printf '%s\n' "$lines" | grep -cE ' (done|failed) ')" -ge 2 ] && break
    [ $(( $(date +%s) - start )) -lt 120 ] || { echo "demo: no end after 120 s" >&2; break; }
    sleep 0.2
done

say "the trackers"
"$BIN/promoctl" show acme-shop-42
"$BIN/promoctl" show acme-shop-43

say "the audit trail"
"$BIN/promoctl" events

say "what the simulated CI and Argo CD received"
jq -r '"\(.system)\t\(.method)\t\(.path)\t\(.status)"' "$D/requests.ndjson" |
    awk -F'\t' '{ n[$1" "$2" "$3" -> "$4]++ } END { for (k in n) printf "%4d  %s\n", n[k], k }' | sort -k2 | head -40

if [ "$(printf '%s\n' "$last" | grep -cE ' prod +done ')" = 2 ]; then
    say "PRs acme/shop#42 and #43 are in prod, one after the other"; status=0
else
    say "the demo did not reach prod"; status=1
fi
exit $status
