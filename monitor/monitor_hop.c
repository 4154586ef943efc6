/* monitor_hop.c - the lifecycle of a hop's decision in promo-monitor.
 *
 * A hop is undecided while its tests run; once the aggregate is decided it
 * is frozen, written to the record (intent before side effect: the promoter
 * acts on what is on disk), and only then forwarded, again at every message
 * for it. These were four booleans set in five places; they are one state
 * now, moved only through the table below (docs/state.md, "The monitor
 * record", has the same table). */
#include "util/log.h"
#include "monitor/monitor.h"

static const char *const monitor_hop_states[MH_COUNT] = {
    [MH_OPEN] = "open",
    [MH_DECIDED] = "decided",
    [MH_WRITING] = "writing",
    [MH_RECORDED] = "recorded",
    [MH_TO_FORWARD] = "to-forward",
};

static const char *const monitor_hop_events[MHE_COUNT] = {
    [MHE_DECIDE] = "decide",
    [MHE_RESTORE] = "restore",
    [MHE_WRITE_QUEUED] = "write-queued",
    [MHE_WRITTEN] = "written",
    [MHE_WRITE_FAILED] = "write-failed",
    [MHE_FORWARD_DUE] = "forward-due",
    [MHE_EMITTED] = "emitted",
    [MHE_RESET] = "reset",
};

/* monitor_hop_next[state][event]: the next state, +1 (so that 0 means "does
 * not apply: unchanged"). */
static const unsigned char monitor_hop_next[MH_COUNT][MHE_COUNT] = {
    [MH_OPEN] = {
        [MHE_DECIDE] = MH_DECIDED + 1,
        [MHE_RESTORE] = MH_RECORDED + 1,
        [MHE_RESET] = MH_OPEN + 1,
    },
    [MH_DECIDED] = {
        [MHE_WRITE_QUEUED] = MH_WRITING + 1,
        [MHE_WRITTEN] = MH_RECORDED + 1,
        [MHE_RESET] = MH_OPEN + 1,
    },
    [MH_WRITING] = {
        [MHE_WRITTEN] = MH_RECORDED + 1,
        [MHE_WRITE_FAILED] = MH_DECIDED + 1,
        [MHE_RESET] = MH_OPEN + 1,
    },
    [MH_RECORDED] = {
        [MHE_FORWARD_DUE] = MH_TO_FORWARD + 1,
        [MHE_RESET] = MH_OPEN + 1,
    },
    [MH_TO_FORWARD] = {
        [MHE_FORWARD_DUE] = MH_TO_FORWARD + 1,
        [MHE_EMITTED] = MH_RECORDED + 1,
        [MHE_RESET] = MH_OPEN + 1,
    },
};

/* monitor_hop_move - one lookup; see monitor.h. */
enum mon_hop_state monitor_hop_move(struct mon_hop *hop, enum mon_hop_event ev)
{
    int next = (int)ev >= 0 && ev < MHE_COUNT ? monitor_hop_next[hop->state][ev] : 0;

    if (next && next - 1 != (int)hop->state) {
        log_debug("hop_state", "tracker=%s env=%s from=%s event=%s to=%s", hop->tr->name, hop->source,
                  monitor_hop_states[hop->state], monitor_hop_events[ev], monitor_hop_states[next - 1]);
        hop->state = (enum mon_hop_state)(next - 1);
    }
    return hop->state;
}

/* monitor_hop_decided - decided, whether or not written and forwarded. */
int monitor_hop_decided(const struct mon_hop *hop)
{
    return hop->state != MH_OPEN;
}

/* monitor_hop_state_name - for logs. */
const char *monitor_hop_state_name(enum mon_hop_state s)
{
    return (int)s >= 0 && s < MH_COUNT ? monitor_hop_states[s] : "?";
}

/* monitor_hop_event_name - for logs. */
const char *monitor_hop_event_name(enum mon_hop_event e)
{
    return (int)e >= 0 && e < MHE_COUNT ? monitor_hop_events[e] : "?";
}
