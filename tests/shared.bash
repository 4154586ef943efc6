# shared.bash - what the bats suites (tests/bats/helpers.bash) and the chaos
# harness (tests/chaos/lib.bash) both use: waiting for a condition, and
# promo-sim's token files and the sections of promo.yaml that point promo at
# it. Plain bash: no bats needed.

# wait_for SECONDS CMD... - poll CMD every 50 ms until it succeeds or time runs out.
wait_for() {
    local limit="$1"; shift
    local end=$(( $(date +%s%N) / 1000000 + limit * 1000 ))
    until "$@" >/dev/null 2>&1; do
        [ $(( $(date +%s%N) / 1000000 )) -lt "$end" ] || return 1
        sleep 0.05
    done
}

SIM_SYSTEMS="jenkins gitlab github argocd"

# sim_tokens DIR [SYSTEM...] - DIR/SYSTEM.token ("SYSTEM-token", mode 600)
# for each system (all four by default); promo-sim takes any token unless
# its --auth says otherwise.
sim_tokens() {
    local dir="$1" s
    shift
    for s in ${*:-$SIM_SYSTEMS}; do
        printf '%s-token\n' "$s" > "$dir/$s.token"
        chmod 600 "$dir/$s.token"
    done
}

# sim_yaml URL DIR [SYSTEM...] - on stdout, the config sections of each
# system (all four by default) for promo-sim at URL, with the token files of
# sim_tokens DIR; Argo CD as the cluster "default".
sim_yaml() {
    local url="$1" dir="$2" s
    shift 2
    for s in ${*:-$SIM_SYSTEMS}; do
        case "$s" in
        jenkins) printf 'jenkins:\n  url: %s/jenkins\n  user: promo\n  tokenFile: %s/jenkins.token\n' "$url" "$dir" ;;
        gitlab) printf 'gitlab:\n  url: %s/gitlab\n  tokenFile: %s/gitlab.token\n' "$url" "$dir" ;;
        github) printf 'github:\n  apiUrl: %s/github\n  tokenFile: %s/github.token\n' "$url" "$dir" ;;
        argocd) printf 'argocd:\n  clusters:\n    default:\n      url: %s/argocd\n      tokenFile: %s/argocd.token\n' \
                    "$url" "$dir" ;;
        *) echo "sim_yaml: unknown system $s" >&2; return 1 ;;
        esac
    done
}

# sim_deploy URL APP REVISION - promo-sim's Argo CD application APP (created
# when absent) now runs REVISION, Synced and Healthy (POST /_sim/deploy), as
# whatever deployed the PR in its first environment would leave it (or as
# another revision deployed meanwhile). promo-monitor counts passed tests
# only once Argo CD confirms the hop's source application runs the head SHA.
sim_deploy() {
    curl -fsS -X POST "$1/_sim/deploy?app=$2&revision=$3" >/dev/null
}
