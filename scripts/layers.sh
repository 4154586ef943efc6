#!/bin/sh
# layers.sh - check that promo's dependencies point down only.
#
#   scripts/layers.sh [BUILD [ROOT]]
#
# BUILD: the object folder (default build, relative to ROOT); ROOT: the
# source tree (default this script's repository).
#
# The floors, lowest first (README "Layout", docs/hacking.md):
#
#   util/      generic: knows nothing of promo
#   domain/    promo's model: documents, records, policy, the view, the store
#   ipc/       messages, transports, the stage skeleton     (beside adapters/)
#   adapters/  one file per external system                 (beside ipc/)
#   programs   watcher/ policy/ trigger/ monitor/ promoter/ webhook/ pipe/ ctl/
#   sim/       promo-sim: the generic layer only, nothing of adapters/
#
# Two checks, each naming every offence:
#  1. includes: a file includes only headers of its own floor or below, and a
#     program only its own folder's headers besides the libraries';
#  2. symbols (when BUILD has the objects): no object of a floor leaves
#     undefined a symbol that only a higher floor or a program defines.
# Exit 0 when clean, 1 with one line per offence on stdout.
set -u
cd "${2:-$(dirname "$0")/..}" || exit 100
BUILD=${1:-build}
PROGRAMS="watcher policy trigger monitor promoter webhook pipe ctl"

# allowed DIR - the folders whose headers DIR may include.
allowed() {
    case $1 in
    util) echo "util" ;;
    domain) echo "util domain" ;;
    ipc) echo "util domain ipc" ;;
    adapters) echo "util domain adapters" ;;
    sim) echo "util sim" ;;
    *) echo "util domain ipc adapters $1" ;;
    esac
}

bad=0
for dir in util domain ipc adapters sim $PROGRAMS; do
    [ -d "$dir" ] || continue
    ok=$(allowed "$dir")
    for f in "$dir"/*.c "$dir"/*.h; do
        [ -f "$f" ] || continue
        # every #include "..." resolved from the root (-I.) or from the file's folder
        sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
        while read -r inc; do
            if [ -f "$dir/$inc" ] && [ "${inc#*/}" = "$inc" ]; then
                target=$dir                         # "x.h": its own folder
            else
                target=$(realpath -m --relative-to=. "$dir/$inc" 2>/dev/null)
                [ -f "$target" ] || target=$inc    # "util/x.h": from the root
                target=${target%%/*}
            fi
            case " $ok " in
            *" $target "*) ;;
            *) echo "layers: $f includes $inc ($dir may include only: $ok)" ;;
            esac
        done
    done
done > "${TMPDIR:-/tmp}/layers.$$"
if [ -s "${TMPDIR:-/tmp}/layers.$$" ]; then
    cat "${TMPDIR:-/tmp}/layers.$$"
    bad=1
fi
rm -f "${TMPDIR:-/tmp}/layers.$$"

# defined FLOOR... - the global symbols the objects of those folders define.
defined() {
    for d in "$@"; do
        ls "$BUILD/$d"/*.o 2>/dev/null
    done | xargs -r nm --defined-only -g 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u
}
# undefined FLOOR - the symbols the objects of FLOOR use but do not define.
undefined() {
    ls "$BUILD/$1"/*.o 2>/dev/null | xargs -r nm -u 2>/dev/null | awk 'NF == 2 { print $2 }' | sort -u
}

if [ -d "$BUILD/util" ]; then
    above() {
        case $1 in
        util) echo "domain ipc adapters sim $PROGRAMS" ;;
        domain) echo "ipc adapters sim $PROGRAMS" ;;
        ipc) echo "adapters sim $PROGRAMS" ;;
        adapters) echo "ipc sim $PROGRAMS" ;;
        sim) echo "domain ipc adapters $PROGRAMS" ;;
        esac
    }
    for floor in util domain ipc adapters sim; do
        # shellcheck disable=SC2046
        defined $(allowed $floor) > "${TMPDIR:-/tmp}/layers-own.$$"
        # shellcheck disable=SC2086
        defined $(above $floor) | comm -23 - "${TMPDIR:-/tmp}/layers-own.$$" > "${TMPDIR:-/tmp}/layers-up.$$"
        undefined $floor | comm -12 - "${TMPDIR:-/tmp}/layers-up.$$" | while read -r sym; do
            echo "layers: $floor/ calls $sym, defined above it"
        done
    done > "${TMPDIR:-/tmp}/layers.$$"
    rm -f "${TMPDIR:-/tmp}/layers-up.$$" "${TMPDIR:-/tmp}/layers-own.$$"
    if [ -s "${TMPDIR:-/tmp}/layers.$$" ]; then
        cat "${TMPDIR:-/tmp}/layers.$$"
        bad=1
    fi
    rm -f "${TMPDIR:-/tmp}/layers.$$"
fi
exit $bad
