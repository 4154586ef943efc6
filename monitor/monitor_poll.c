/* monitor_poll.c - promo-monitor's poll table: each test with a run is asked
 * for its status through its adapter, at an interval that adapts to the
 * test's age, the provider's remaining rate limit and its Retry-After
 * (util/pollsched.h), with If-None-Match handled by the adapter through
 * run.etag (an answer "not modified" changes nothing). An unreachable CI or
 * a 5xx is an infrastructure error: retried with backoff until the deadline
 * and recorded for the "waiting on" text, never a failure by itself. At its
 * deadline a test without a final status is timed out (a failure when
 * required) and cancelled in its CI where the CI allows it. */
#include <stdio.h>
#include <string.h>

#include "util/http.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/pollsched.h"
#include "util/util.h"
#include "monitor/monitor.h"

#define MONITOR_CANCEL_TRIES 3      /* cancel requests for one timed-out run */
#define MONITOR_RATE_WINDOW_MS 60000 /* promo_requests_per_test_per_minute: over this long */

/* The window of promo_requests_per_test_per_minute: the HTTP attempts the
 * monitor sent and the tests it polled since start_ms. */
static struct {
    int64_t start_ms;
    uint64_t sent0;
    uint64_t tests;
} monitor_rate;

static void monitor_poll_fire(struct loop *l, void *arg);
static void monitor_poll_deadline(struct loop *l, void *arg);

/* monitor_poll_wanted - a run to poll, not final, and still to be learnt:
 * any test of an undecided hop, the optional ones of a decided hop. */
int monitor_poll_wanted(const struct mon_test *t)
{
    if (!t->hop || !t->has_run || t->error || t->timed_out || run_status_final(t->status))
        return 0;
    return !monitor_hop_decided(t->hop) || !t->required;
}

/* monitor_poll_deadline_wanted - the deadline still matters: t is not final
 * and its result is still to be learnt (it may have no run yet). */
static int monitor_poll_deadline_wanted(const struct mon_test *t)
{
    if (!t->hop || t->error || t->timed_out || run_status_final(t->status))
        return 0;
    return !monitor_hop_decided(t->hop) || !t->required;
}

/* monitor_poll_stop - disarm both timers. */
void monitor_poll_stop(struct stage *st, struct mon_test *t)
{
    loop_cancel(st->loop, t->poll_tmr);
    t->poll_tmr = NULL;
    loop_cancel(st->loop, t->deadline_tmr);
    t->deadline_tmr = NULL;
}

/* monitor_poll_schedule - arm or disarm t's poll (in ms; ms < 0: only
 * disarm) and deadline timers as its state asks. */
void monitor_poll_schedule(struct stage *st, struct mon_test *t, int64_t ms)
{
    if (!monitor_poll_wanted(t)) {
        loop_cancel(st->loop, t->poll_tmr);
        t->poll_tmr = NULL;
    } else if (ms >= 0 && !t->polling && !t->poll_tmr) {
        t->poll_tmr = loop_after(st->loop, ms, monitor_poll_fire, t);
    }
    if (!monitor_poll_deadline_wanted(t)) {
        loop_cancel(st->loop, t->deadline_tmr);
        t->deadline_tmr = NULL;
    } else if (!t->deadline_tmr || t->armed_deadline != t->deadline_ms) {
        int64_t d = t->deadline_ms - wall_ms();

        loop_cancel(st->loop, t->deadline_tmr);
        t->armed_deadline = t->deadline_ms;
        t->deadline_tmr = loop_after(st->loop, d > 0 ? d : 0, monitor_poll_deadline, t);
    }
}

/* monitor_poll_hint - see monitor.h. */
int monitor_poll_hint(struct stage *st, struct mon_test *t)
{
    if (!monitor_poll_wanted(t))
        return 0;
    t->fresh = 1;                    /* from the CI itself, not a list kept or shared */
    if (t->polling) {                /* its answer may predate the event */
        t->hint_pending = 1;
        return 1;
    }
    loop_cancel(st->loop, t->poll_tmr);
    t->poll_tmr = NULL;
    monitor_poll_schedule(st, t, 0);
    return 1;
}

/* monitor_poll_stretched - see monitor.h: while a hint came within
 * MONITOR_HINT_LIVE_MS (counted from the start, when webhooks are
 * expected), polls are at least webhook.pollStretch apart. */
int64_t monitor_poll_stretched(struct stage *st, int64_t ms)
{
    struct monitor_stage *ms_ = st->data;
    int64_t stretch = st->cfg.webhook.poll_stretch_ms;

    if (stretch > ms && now_ms() - ms_->hint_ms < MONITOR_HINT_LIVE_MS)
        return stretch;
    return ms;
}

/* monitor_poll_begin - count one request of t in flight; what to hand the
 * adapter (monitor_test_lend). */
static const struct mon_lent *monitor_poll_begin(struct stage *st, struct mon_test *t)
{
    struct monitor_stage *ms = st->data;

    t->nreq++;
    ms->nreq++;
    return monitor_test_lend(st, t);
}

/* monitor_poll_release - one request of t ended; 1 when t was orphaned
 * meanwhile (then freed if it was its last: the caller must not touch it). */
static int monitor_poll_release(struct stage *st, struct mon_test *t)
{
    struct monitor_stage *ms = st->data;

    t->nreq--;
    if (ms->nreq > 0)
        ms->nreq--;
    if (!t->hop) {
        if (t->nreq == 0)
            monitor_orphan_release(st, t);
        return 1;
    }
    monitor_test_unlend(st, t);
    return 0;
}

/* monitor_poll_no_adapter - fail closed: a provider nobody can poll. */
static void monitor_poll_no_adapter(struct stage *st, struct mon_test *t)
{
    log_error("no_adapter", "tracker=%s test=%s provider=%s", t->tracker, t->name, log_q(t->provider));
    t->error = 1;
    monitor_setf(st, &t->detail, "no adapter for provider \"%s\"", t->provider);
    t->finished_ms = wall_ms();
    monitor_poll_schedule(st, t, -1);
    monitor_evaluate(st, t->hop);
}

/* monitor_poll_rate - t's poll answered at now: count t once per window;
 * at a window's end, set the gauge promo_requests_per_test_per_minute
 * (the monitor's CI and Argo CD requests per polled test and minute). */
static void monitor_poll_rate(struct stage *st, struct mon_test *t, int64_t now)
{
    struct monitor_stage *ms = st->data;
    uint64_t sent = http_sent(ms->actx.http);

    if (!monitor_rate.start_ms) {
        monitor_rate.start_ms = now;
        monitor_rate.sent0 = sent;
    }
    if (t->polled_ms < monitor_rate.start_ms)
        monitor_rate.tests++;
    if (now - monitor_rate.start_ms < MONITOR_RATE_WINDOW_MS)
        return;
    if (monitor_rate.tests)
        metrics_set("promo_requests_per_test_per_minute", NULL, NULL,
                    (double)(sent - monitor_rate.sent0) / (double)monitor_rate.tests * 60000.0
                        / (double)(now - monitor_rate.start_ms));
    monitor_rate.start_ms = now;
    monitor_rate.sent0 = sent;
    monitor_rate.tests = 0;
}

/* monitor_poll_done - the status answer of one poll. */
static void monitor_poll_done(void *arg, const struct adapter_result *res)
{
    struct mon_test *t = arg;
    struct stage *st = t->st;
    struct monitor_stage *ms = st->data;
    int64_t now = wall_ms(), delay;
    int changed = 0;

    t->polling = 0;
    monitor_gate_leave(st);
    if (monitor_poll_release(st, t))
        return;
    monitor_poll_rate(st, t, now);
    t->polled_ms = now;
    if (res->rate_remaining >= 0)
        t->rate_remaining = res->rate_remaining;
    if (t->timed_out || !monitor_poll_wanted(t))
        return;                     /* the deadline, or the decision, came first */
    if (res->error) {
        t->etemp++;
        if (monitor_set(st, &t->lasterr, res->errmsg[0] ? res->errmsg : "error without a message"))
            changed = 1;
        log_warn("poll_failed", "tracker=%s test=%s run=%s kind=%s attempt=%d error=%s effect=%s",
                 t->tracker, t->name, t->run.id, res->error == ADAPTER_ETEMP ? "temporary" : "permanent",
                 t->etemp, log_q(res->errmsg), log_q("retry until the deadline"));
        delay = http_backoff_ms(t->etemp < 10 ? t->etemp : 10, MONITOR_ETEMP_BASE, MONITOR_ETEMP_CAP);
        if (res->error != ADAPTER_ETEMP && delay < st->cfg.poll_interval_ms)
            delay = st->cfg.poll_interval_ms;
        if (res->retry_after_ms > delay)
            delay = res->retry_after_ms;
    } else {
        t->etemp = 0;
        if (monitor_set(st, &t->lasterr, ""))
            changed = 1;
        if (!res->not_modified) {
            const struct adapter_run *r = &res->run;

            if (monitor_test_take_run(st, t, r) || r->status != t->status)
                changed = 1;
            t->status = r->status;
            if (monitor_set(st, &t->detail, r->detail))
                changed = 1;
            if (run_status_final(r->status)) {
                t->finished_ms = now;
                metrics_inc2("promo_test_results_total", "provider", t->provider, "status",
                             run_status_name(t->status));
                log_info("result", "tracker=%s test=%s run=%s status=%s detail=%s url=%s", t->tracker,
                         t->name, t->run.id, run_status_name(t->status), log_q(t->detail), log_q(t->run.url));
            }
        }
        delay = pollsched_interval(now - t->start_ms, st->cfg.poll_interval_ms, t->rate_remaining,
                                   res->retry_after_ms);
        delay = monitor_poll_stretched(st, delay);
    }
    if (t->hint_pending && !res->error) {
        t->hint_pending = 0;
        delay = 0;
    }
    if (changed) {
        ms->changes++;
        monitor_evaluate(st, t->hop);
    }
    monitor_poll_schedule(st, t, delay);
}

/* monitor_poll_fire - the poll timer: ask the CI, once the gate lets it. */
static void monitor_poll_fire(struct loop *l, void *arg)
{
    struct stage *st = loop_owner(l);
    struct mon_test *t = arg;
    const struct adapter *ad;

    t->poll_tmr = NULL;
    if (!monitor_poll_wanted(t) || t->polling)
        return;
    ad = adapter_find(t->provider);
    if (!ad || !ad->status) {
        monitor_poll_no_adapter(st, t);
        return;
    }
    if (monitor_gate_enter(st, t))
        monitor_poll_start(st, t);
}

/* monitor_poll_start - see monitor.h. */
void monitor_poll_start(struct stage *st, struct mon_test *t)
{
    struct monitor_stage *ms = st->data;
    const struct adapter *ad = adapter_find(t->provider);
    const struct mon_lent *lent;

    t->polling = 1;
    lent = monitor_poll_begin(st, t);
    ms->polls++;
    log_debug("poll", "tracker=%s test=%s run=%s", t->tracker, t->name, t->run.id);
    t->lent->at.fresh = t->fresh;    /* after a hint: read from the CI, not a kept list */
    t->fresh = 0;
    ad->status(&ms->actx, &lent->at, &lent->run, monitor_poll_done, t);   /* done is called either way */
}

/* monitor_cancel_done - the CI's answer to the cancel of a timed-out run. */
static void monitor_cancel_done(void *arg, const struct adapter_result *res)
{
    struct mon_test *t = arg;
    struct stage *st = t->st;
    struct monitor_stage *ms = st->data;
    const struct adapter *ad;
    const struct mon_lent *lent;

    if (monitor_poll_release(st, t))
        return;
    if (!res->error) {
        log_info("cancelled", "tracker=%s test=%s run=%s url=%s", t->tracker, t->name, t->run.id,
                 log_q(t->run.url));
        t->cancelled = 1;
        monitor_evaluate(st, t->hop);
        return;
    }
    log_warn("cancel_failed", "tracker=%s test=%s run=%s try=%d error=%s", t->tracker, t->name, t->run.id,
             t->cancel_tries, log_q(res->errmsg));
    ad = adapter_find(t->provider);
    if (res->error == ADAPTER_ETEMP && t->cancel_tries < MONITOR_CANCEL_TRIES && ad && ad->cancel) {
        t->cancel_tries++;
        lent = monitor_poll_begin(st, t);
        ad->cancel(&ms->actx, &lent->at, &lent->run, monitor_cancel_done, t);
    }
}

/* monitor_poll_deadline - the deadline timer: time the test out and
 * cancel its run. */
static void monitor_poll_deadline(struct loop *l, void *arg)
{
    struct stage *st = loop_owner(l);
    struct monitor_stage *ms = st->data;
    struct mon_test *t = arg;
    const struct adapter *ad;
    const struct mon_lent *lent;
    char when[40];
    int64_t now = wall_ms();

    t->deadline_tmr = NULL;
    if (!monitor_poll_deadline_wanted(t))
        return;
    if (now < t->deadline_ms) {             /* the wall clock lags the timer: not yet */
        monitor_poll_schedule(st, t, -1);
        return;
    }
    t->timed_out = 1;
    t->finished_ms = now;
    ms->timeouts++;
    time_format_iso(t->deadline_ms, when, sizeof(when));
    monitor_setf(st, &t->detail, "no result within the %s, deadline %s%s%s%s", t->deadline_why,
                 when, t->has_run ? "" : "; never triggered", t->lasterr[0] ? "; last error: " : "", t->lasterr);
    metrics_inc2("promo_test_results_total", "provider", t->provider, "status", "timeout");
    log_warn("timeout", "tracker=%s test=%s run=%s required=%s detail=%s", t->tracker, t->name,
             t->has_run ? t->run.id : "-", t->required ? "true" : "false", log_q(t->detail));
    monitor_poll_stop(st, t);
    ad = adapter_find(t->provider);
    if (t->has_run && ad && ad->cancel) {
        if (st->dry_run) {
            log_info("dry_run", "tracker=%s test=%s run=%s would=cancel", t->tracker, t->name, t->run.id);
        } else {
            t->cancel_tries = 1;
            lent = monitor_poll_begin(st, t);
            ad->cancel(&ms->actx, &lent->at, &lent->run, monitor_cancel_done, t);
        }
    }
    monitor_evaluate(st, t->hop);
}
