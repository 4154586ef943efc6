/* policy_reload.c - the policy set in force: load policyDir, watch it, reload.
 *
 * inotify on policyDir schedules a reload POLICY_DEBOUNCE_MS after the last
 * change (an editor's write-rename dance counts once); the resync timer
 * reloads every resyncInterval whatever inotify said, and re-adds the watch
 * when the directory was missing or replaced. A load whose files did not
 * change (same fingerprint) is a no-op. A valid set replaces the one in
 * force; an invalid one is logged error by error and the old set stays, so a
 * typo never stops promotions nor lets an unvalidated policy through. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>
#include <zmq.h>

#include "util/log.h"
#include "util/util.h"
#include "policy/policy_stage.h"

static void policy_reload_fd(struct loop *l, int fd, short revents, void *arg);
static void policy_reload_tick(struct loop *l, void *arg);
static void policy_reload_wake(struct stage *st, int64_t ms);

#define POLICY_WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | \
                           IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

/* policy_reload_watch - (re)add the inotify watch on policyDir. */
static void policy_reload_watch(struct stage *st)
{
    struct policy_stage *ps = st->data;

    if (ps->inotify < 0 || ps->wd >= 0)
        return;
    ps->wd = inotify_add_watch(ps->inotify, st->cfg.policy_dir, POLICY_WATCH_MASK);
    if (ps->wd < 0)
        log_warn("watch_failed", "dir=%s error=%s retry=resync", log_q(st->cfg.policy_dir),
                 log_q(strerror(errno)));
}

/* policy_reload_reason - the first errors of s, joined, into ps->reason. */
static void policy_reload_reason(struct policy_stage *ps, const struct policy_set *s)
{
    size_t len = 0;
    int i, kept = 0;

    ps->reason[0] = 0;
    for (i = 0; i < s->diag.n && kept < 3; i++) {
        if (!s->diag.msg[i].error)
            continue;
        len += (size_t)snprintf(ps->reason + len, sizeof(ps->reason) - len, "%s%s",
                                kept ? "; " : "", s->diag.msg[i].text);
        if (len >= sizeof(ps->reason))
            break;
        kept++;
    }
    ps->nerrors = s->diag.nerrors;
}

/* policy_reload_now - load, compare, install or reject. */
void policy_reload_now(struct stage *st, const char *why)
{
    struct policy_stage *ps = st->data;
    struct policy_set *s = xmalloc(sizeof(*s));
    uint64_t fp;
    int i, was_invalid = ps->invalid;
    char *chain;

    policy_set_load_dir(s, st->cfg.policy_dir);
    fp = s->fingerprint ^ ((uint64_t)s->diag.nerrors * 0x9E3779B97F4A7C15ULL);
    if (ps->loaded && fp == ps->disk_fp) {
        policy_set_free(s);
        free(s);
        return;
    }
    ps->loaded = 1;
    ps->disk_fp = fp;
    ps->reloads++;
    for (i = 0; i < s->diag.n; i++)
        if (!s->diag.msg[i].error)
            log_warn("policy_warning", "why=%s msg=%s", why, log_q(s->diag.msg[i].text));
    if (policy_set_valid(s)) {
        chain = policy_set_chain_text(s);
        if (ps->cur) {
            policy_set_free(ps->cur);
            free(ps->cur);
        }
        ps->cur = s;
        ps->invalid = 0;
        ps->reason[0] = 0;
        ps->nerrors = 0;
        ps->loaded_at = wall_ms();
        log_info("policies_loaded", "why=%s dir=%s files=%d policies=%d chain=%s", why,
                 log_q(st->cfg.policy_dir), s->nfiles, s->n, log_q(chain));
        if (s->n == 0)
            log_warn("no_policies", "dir=%s effect=\"every tracker is blocked with PolicyNotFound\"",
                     log_q(st->cfg.policy_dir));
        free(chain);
    } else {
        ps->invalid = 1;
        ps->rejected++;
        policy_reload_reason(ps, s);
        for (i = 0; i < s->diag.n; i++)
            if (s->diag.msg[i].error)
                log_error("policy_invalid", "why=%s error=%s", why, log_q(s->diag.msg[i].text));
        if (s->diag.nerrors > s->diag.n)
            log_error("policy_invalid", "why=%s more_errors=%d", why, s->diag.nerrors - s->diag.n);
        log_error("policies_rejected", "dir=%s errors=%d kept=%s", log_q(st->cfg.policy_dir),
                  s->diag.nerrors, ps->cur ? "last-valid-set" : "none");
        policy_set_free(s);
        free(s);
    }
    if (was_invalid || ps->invalid)
        log_info("policy_validity", "was=%s now=%s", was_invalid ? "invalid" : "valid",
                 ps->invalid ? "invalid" : "valid");
    stage_memo_clear(st);              /* what was handled was handled with the old set */
    policy_record_refresh_all(st);     /* something changed: every record follows */
}

/* policy_reload_start - inotify first, so no change between load and watch is lost. */
int policy_reload_start(struct stage *st)
{
    struct policy_stage *ps = st->data;

    ps->wd = -1;
    ps->inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (ps->inotify < 0)
        log_warn("inotify_failed", "error=%s fallback=resync", log_q(strerror(errno)));
    else if (loop_watch_fd(st->loop, ps->inotify, LOOP_READ, policy_reload_fd, NULL) < 0)
        log_warn("watch_fd_failed", "fallback=resync");
    policy_reload_watch(st);
    policy_reload_now(st, "start");
    if (st->cfg.resync_interval_ms <= 0)
        st->cfg.resync_interval_ms = 30000;
    ps->resync_at = now_ms() + st->cfg.resync_interval_ms;
    policy_reload_wake(st, st->cfg.resync_interval_ms);
    return 0;
}

/* policy_reload_fd - drain the events; schedule one debounced reload. */
static void policy_reload_fd(struct loop *l, int fd, short revents, void *arg)
{
    struct stage *st = loop_owner(l);
    struct policy_stage *ps = st->data;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        char *p = buf;
        while (p < buf + n) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            if (ev->mask & IN_IGNORED)      /* the directory went away: re-watch on a tick */
                ps->wd = -1;
            p += sizeof(*ev) + ev->len;
        }
    }
    if (!ps->reload_at)
        ps->reload_at = now_ms() + POLICY_DEBOUNCE_MS;
    policy_reload_wake(st, POLICY_DEBOUNCE_MS);
}

/* policy_reload_tick - due work, then the next wake-up. */
static void policy_reload_tick(struct loop *l, void *arg)
{
    struct stage *st = loop_owner(l);
    struct policy_stage *ps = st->data;
    int64_t now = now_ms(), next;

    ps->tick = NULL;
    ps->tick_at = 0;
    if (ps->wd < 0)
        policy_reload_watch(st);
    if (ps->reload_at && now >= ps->reload_at) {
        ps->reload_at = 0;
        policy_reload_now(st, "change");
    }
    if (now >= ps->resync_at) {
        ps->resync_at = now + st->cfg.resync_interval_ms;
        policy_reload_now(st, "resync");
    }
    next = ps->resync_at;
    if (ps->reload_at && ps->reload_at < next)
        next = ps->reload_at;
    policy_reload_wake(st, next > now ? next - now : 0);
}

/* policy_reload_wake - run policy_reload_tick no later than ms from now
 * (the earliest request wins). */
static void policy_reload_wake(struct stage *st, int64_t ms)
{
    struct policy_stage *ps = st->data;
    int64_t at = now_ms() + (ms > 0 ? ms : 0);

    if (ps->tick && ps->tick_at <= at)
        return;
    loop_cancel(st->loop, ps->tick);
    ps->tick = loop_after(st->loop, ms, policy_reload_tick, NULL);
    ps->tick_at = at;
}

/* policy_reload_stop - release the set and the watch. */
void policy_reload_stop(struct stage *st)
{
    struct policy_stage *ps = st->data;

    loop_cancel(st->loop, ps->tick);
    ps->tick = NULL;
    if (ps->inotify >= 0) {
        loop_unwatch_fd(st->loop, ps->inotify);
        close(ps->inotify);
        ps->inotify = -1;
    }
    if (ps->cur) {
        policy_set_free(ps->cur);
        free(ps->cur);
        ps->cur = NULL;
    }
}
