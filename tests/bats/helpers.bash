# helpers.bash - shared set-up for promo's bats suites.
#
# Every test gets its own temp dir ($T), its own state dir, run dir (ipc
# sockets) and policy dir, and a promo.yaml pointing at them ($PROMO_CONFIG).
# Processes started with promo_start are stopped by promo_teardown, by PID.
# $PROMO_BIN names the folder of the programs under test (bin/ or the
# sanitizer build's); tests/run sets it.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load '/usr/lib/bats/bats-file/load'

REPO="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
: "${PROMO_BIN:=$REPO/bin}"
PATH="$PROMO_BIN:$PATH"
export PATH PROMO_BIN REPO
source "$REPO/tests/shared.bash"

# promo_setup - fresh dirs and config; extra YAML lines may be given as $1.
promo_setup() {
    T="$(mktemp -d "${BATS_TMPDIR:-/tmp}/promo-test.XXXXXX")"
    mkdir -p "$T/state" "$T/policies"
    cat > "$T/promo.yaml" <<YAML
stateDir: $T/state
runDir: $T/run
policyDir: $T/policies
resyncInterval: 2s
pollInterval: 1s
durableWrites: false
${1:-}
YAML
    PROMO_CONFIG="$T/promo.yaml"
    export T PROMO_CONFIG
    : > "$T/pids"
}

# promo_start NAME CMD... - run CMD in the background, stderr+stdout to $T/NAME.log.
promo_start() {
    local name="$1"; shift
    "$@" > "$T/$name.log" 2>&1 &
    echo "$! $name" >> "$T/pids"
}

# promo_pid NAME - the PID of a process started by promo_start.
promo_pid() {
    awk -v n="$1" '$2 == n { p = $1 } END { print p }' "$T/pids"
}

# promo_stop NAME - TERM then KILL one started process, by PID.
promo_stop() {
    local pid; pid="$(promo_pid "$1")"
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# promo_teardown - stop everything promo_start started, then remove $T.
promo_teardown() {
    [ -n "${T:-}" ] && [ -f "$T/pids" ] || return 0
    local pid name
    while read -r pid name; do
        kill -TERM "$pid" 2>/dev/null || true
    done < "$T/pids"
    while read -r pid name; do
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    done < "$T/pids"
    if [ -n "${PROMO_KEEP:-}" ]; then echo "# kept $T" >&3; else rm -rf "$T"; fi
}

# sim_start [ARG...] - promo-sim on a free port (more arguments given to
# it), the token files of every system in $T; $PORT and $SIM (its base URL)
# set and exported. The caller adds sim_yaml "$SIM" "$T" to promo.yaml.
sim_start() {
    sim_tokens "$T"
    promo_start sim promo-sim --listen 127.0.0.1:0 --port-file "$T/sim.port" "$@"
    wait_for 10 test -s "$T/sim.port"
    PORT="$(cat "$T/sim.port")"
    SIM="http://127.0.0.1:$PORT"
    export PORT SIM
}

# pipeline_up - the five stages, each with the test's config.
pipeline_up() {
    local p
    for p in promoter monitor trigger policy watcher; do
        promo_start "$p" "promo-$p" -c "$PROMO_CONFIG" -v
    done
}

# sha_of N - a deterministic 40-hex SHA for tests.
sha_of() {
    printf '%s' "$1" | sha1sum | cut -c1-40
}
