#!/usr/bin/env bats
# layers.bats - the dependencies point down only (scripts/layers.sh,
# docs/hacking.md): includes and link symbols of the build under test.

load helpers

# objdir - the object folder of the build whose programs are under test.
objdir() {
    if [ "$(cd "$PROMO_BIN/.." && pwd)" = "$REPO" ]; then
        echo "$REPO/build"
    else
        dirname "$PROMO_BIN"
    fi
}

@test "layers: util, domain, ipc/adapters, programs; sim apart from adapters" {
    run sh "$REPO/scripts/layers.sh" "$(objdir)"
    assert_success
    assert_output ""
}

@test "layers: an upward include and a program including another's header are named" {
    T="$(mktemp -d "${BATS_TMPDIR:-/tmp}/promo-layers.XXXXXX")"
    mkdir -p "$T/util" "$T/domain" "$T/ctl" "$T/watcher" "$T/sim" "$T/adapters"
    printf '#include "domain/store.h"\n' > "$T/util/a.c"
    : > "$T/domain/store.h"
    printf '#include "../watcher/w.h"\n#include "util/u.h"\n' > "$T/ctl/c.c"
    : > "$T/watcher/w.h"
    printf '#include "adapters/adapter.h"\n' > "$T/sim/s.c"
    : > "$T/adapters/adapter.h"
    run sh "$REPO/scripts/layers.sh" "$T/nobuild" "$T"
    rm -rf "$T"
    assert_failure
    assert_line "layers: util/a.c includes domain/store.h (util may include only: util)"
    assert_line "layers: ctl/c.c includes ../watcher/w.h (ctl may include only: util domain ipc adapters ctl)"
    assert_line "layers: sim/s.c includes adapters/adapter.h (sim may include only: util sim)"
    refute_line --partial "util/u.h"
}
