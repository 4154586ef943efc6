/* monitor_gate.c - at most MONITOR_POLLS_OUT status polls out at once.
 *
 * A poll that is due while that many are out waits here, in a FIFO, and
 * goes when one ends; waiting costs a test nothing but its place in the
 * line. Without the gate every due poll went to the HTTP client, which
 * queues what it cannot send: with 20,000 running tests nearly every test
 * had a request queued there, each with its copies (adapter call, HTTP
 * transfer, the lent run), some 10 KB apiece (docs/operations.md, "Memory
 * (issue 15)"). The CI sees the same requests in the same order; only where
 * they wait changes. Cancels do not pass through the gate. */
#include "monitor/monitor.h"

/* monitor_gate_enter - see monitor.h. */
int monitor_gate_enter(struct stage *st, struct mon_test *t)
{
    struct monitor_stage *ms = st->data;

    if (ms->polls_out < MONITOR_POLLS_OUT && !ms->gate_head) {
        ms->polls_out++;
        return 1;
    }
    if (!t->gated) {              /* to the end of the line */
        t->gated = 1;
        t->gate_next = NULL;
        t->gate_prev = ms->gate_tail;
        if (ms->gate_tail)
            ms->gate_tail->gate_next = t;
        else
            ms->gate_head = t;
        ms->gate_tail = t;
    }
    return 0;
}

/* monitor_gate_forget - see monitor.h. */
void monitor_gate_forget(struct stage *st, struct mon_test *t)
{
    struct monitor_stage *ms = st->data;

    if (!t->gated)
        return;
    if (t->gate_prev)
        t->gate_prev->gate_next = t->gate_next;
    else
        ms->gate_head = t->gate_next;
    if (t->gate_next)
        t->gate_next->gate_prev = t->gate_prev;
    else
        ms->gate_tail = t->gate_prev;
    t->gated = 0;
    t->gate_next = t->gate_prev = NULL;
}

/* monitor_gate_leave - see monitor.h. The first in line that still wants
 * its poll is polled now (the slot passes to it). */
void monitor_gate_leave(struct stage *st)
{
    struct monitor_stage *ms = st->data;

    if (ms->polls_out > 0)
        ms->polls_out--;
    while (ms->gate_head && ms->polls_out < MONITOR_POLLS_OUT && !ms->stopping) {
        struct mon_test *t = ms->gate_head;

        monitor_gate_forget(st, t);
        if (!monitor_poll_wanted(t) || t->polling)
            continue;
        ms->polls_out++;
        monitor_poll_start(st, t);
    }
}
