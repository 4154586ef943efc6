#!/bin/sh
# deps.sh - install the Debian packages promo needs, when they are missing.
# As root it runs apt-get; otherwise it prints the exact command and fails.
# `deps.sh fuzz` adds what make fuzz needs (clang and libFuzzer); make test
# does not need them.
set -eu

PKGS="gcc make pkg-config libc6-dev libcurl4-openssl-dev libcjson-dev libyaml-dev
libzmq3-dev libmicrohttpd-dev libssl-dev bats bats-support bats-assert bats-file
supervisor s6 jq procps"
FUZZ_PKGS="clang libclang-rt-14-dev"
[ "${1:-}" = fuzz ] && PKGS="$PKGS $FUZZ_PKGS"
# `deps.sh bench` adds what make bench needs for its plot; make test does not.
BENCH_PKGS="python3 python3-matplotlib"
[ "${1:-}" = bench ] && PKGS="$PKGS $BENCH_PKGS"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing Debian packages:$missing" >&2
    echo "deps: run: sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
