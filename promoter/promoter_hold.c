/* promoter_hold.c - one tracker at a time in a shared target application.
 *
 * A target application (cluster, appNamespace, application) of a policy
 * with spec.promotion.exclusive (the default) is held by one tracker from
 * the moment this stage decides to promote into it until the tracker leaves
 * the environment: promoted onward, failed, superseded by a new commit,
 * removed, or, at the end of its chain, verified synced and healthy there.
 * Trackers ready meanwhile wait, first come first served; a release grants
 * the application to the first waiter still ready, in the same atomic
 * write. Everything is in STATE/targets/KEY.json (domain/rec_target.h),
 * written by this stage only, synchronously: a restart reads it back and the
 * sweep re-judges every holder against the state dir, so a release missed
 * by a crash happens at the next sweep, and a grant whose tracker's message
 * was lost is acted on when the resync brings that tracker again.
 *
 * The audit events (Queued, Dequeued, HoldExpired) are appended before the
 * write that makes them true, each only when audit_has_key finds none: a
 * crash in between repeats the same decision, and the event is not doubled.
 * docs/state.md ("The target record") and docs/crash-points.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "domain/audit.h"
#include "domain/rec_target.h"
#include "domain/view.h"
#include "promoter/promoter.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/util.h"
#include "util/json.h"

#define HOLD_SWEEP_WAITING_MS 1000   /* sweep period while someone waits; while
                                      * something is held and nobody waits, the
                                      * resync interval */

static void hold_arm(struct stage *st);
static void hold_arm_at(struct stage *st, int64_t period);
static void hold_sweep_cb(struct loop *l, void *arg);

/* hold_now - the current time as ISO into buf. */
static const char *hold_now(char *buf, size_t len)
{
    return time_format_iso(wall_ms(), buf, len);
}

/* hold_view - the stage's view buffer (a view is large). */
static struct view *hold_view(struct promoter_stage *ps)
{
    if (!ps->hold_view)
        ps->hold_view = xmalloc(sizeof(struct view));
    return ps->hold_view;
}

/* hold_write - r on disk; a record neither held nor waited for is removed
 * (it says nothing a missing one would not). Returns 0 or -errno (logged). */
static int hold_write(struct stage *st, const struct target_rec *r)
{
    cJSON *o;
    int rc;

    if (!r->held && r->nwaiting == 0) {
        rc = store_remove(st->store, TARGET_AREA, r->key);
        if (rc == -ENOENT)
            rc = 0;
    } else {
        o = target_encode(r);
        rc = store_write(st->store, TARGET_AREA, r->key, o);
        cJSON_Delete(o);
    }
    if (rc < 0)
        log_error("record_write_failed", "area=%s name=%s error=%s effect=%s", TARGET_AREA, r->key,
                  log_q(strerror(-rc)), log_q("nothing changed; the next message or sweep tries again"));
    return rc;
}

/* hold_audit - append one event about tracker unless key has it already. */
static void hold_audit(struct stage *st, const char *tracker, const char *type, const char *reason,
                       const char *message, const char *key)
{
    if (key[0] && audit_has_key(st->store, key, reason) != 0)
        return;                       /* there (1), or the log unreadable (<0): not doubled */
    audit_append(st->store, tracker, type, reason, message, key);
}

/* hold_sig - the version of tracker's records (store_version: inotify,
 * any writer): a holder whose version has not changed since it was last
 * judged is not judged again (a view reads seven files). Without versions
 * every sweep judges every holder. */
static uint64_t hold_sig(struct stage *st, const char *tracker)
{
    static uint64_t unknown;

    if (!store_version_known(st->store))
        return ++unknown;
    return store_version(st->store, tracker);
}

/* hold_judge - why the tracker of entry e no longer holds (holder) or waits
 * for (waiter) r, in words into why; NULL when it still does, or when it
 * cannot be told (an unreadable tracker keeps what it has: fail closed).
 * observed gets "ENV/STATE" of the tracker when it still does. */
static const char *hold_judge(struct stage *st, const struct target_rec *r, const struct target_entry *e,
                              int holder, char *why, size_t whylen, char *observed, size_t oblen)
{
    struct promoter_stage *ps = st->data;
    struct view *v = hold_view(ps);
    struct rec_promoter pr;
    const struct rec_promoter_hop *out;
    char err[512];
    int rc = view_load(st->store, e->tracker, v, err, sizeof(err));

    if (observed)
        observed[0] = '\0';
    if (rc == -ENOENT) {
        snprintf(why, whylen, "tracker %s was removed", e->tracker);
        return "Aborted";
    }
    if (rc < 0)
        return NULL;
    if (v->t.generation != e->generation || strcmp(v->t.head_sha, e->head_sha) != 0) {
        snprintf(why, whylen, "%s was superseded by generation %lld at %.7s", e->tracker,
                 (long long)v->t.generation, v->t.head_sha);
        return "Superseded";
    }
    if (observed)
        snprintf(observed, oblen, "%s/%s", v->environment, tracker_state_name(v->state));
    if (!holder) {
        if (strcmp(v->environment, e->source) != 0) {
            snprintf(why, whylen, "%s is in %s now, not %s", e->tracker, v->environment, e->source);
            return "Left";
        }
        if (v->state == TS_FAILED) {
            snprintf(why, whylen, "%s failed in %s", e->tracker, v->environment);
            return "Failed";
        }
        return NULL;
    }
    if (strcmp(v->environment, r->environment) == 0) {
        if (v->state == TS_DONE) {
            snprintf(why, whylen, "%s is verified synced and healthy in %s, the end of its chain", e->tracker,
                     r->environment);
            return "Verified";
        }
        if (v->state == TS_FAILED) {
            if (snprintf(why, whylen, "%s failed in %s: %s", e->tracker, r->environment, v->waiting) < 0)
                why[0] = '\0';
            return "Failed";
        }
        memset(&pr, 0, sizeof(pr));
        if (rec_promoter_load(st->store, e->tracker, &v->t, &pr, err, sizeof(err)) == 0 &&
            (out = rec_promoter_hop(&pr, r->environment)) && (out->phase == PH_INTENT || out->phase == PH_DONE)) {
            snprintf(why, whylen, "%s is being promoted from %s to %s", e->tracker, r->environment, out->target);
            rec_promoter_free(&pr);
            return "PromotedOnward";
        }
        rec_promoter_free(&pr);
        return NULL;
    }
    if (strcmp(v->environment, e->source) == 0) {
        if (v->state == TS_FAILED) {
            snprintf(why, whylen, "the promotion of %s from %s to %s failed", e->tracker, e->source,
                     r->environment);
            return "PromotionFailed";
        }
        return NULL;                  /* granted, about to be promoted in */
    }
    snprintf(why, whylen, "%s has moved on to %s", e->tracker, v->environment);
    return "PromotedOnward";
}

/* hold_kick - a granted waiter's last message, handled again now (the state
 * dir decides; without one the resync brings the tracker). */
static void hold_kick_cb(struct loop *l, void *arg)
{
    struct stage *st = loop_owner(l);
    cJSON *msg = arg;

    promoter_message_again(st, msg);
    cJSON_Delete(msg);
}

static void hold_kick(struct stage *st, const char *tracker)
{
    struct promoter_stage *ps = st->data;
    cJSON *msg = strmap_del(ps->hold_msgs, tracker);

    if (msg && !ps->stopping)
        loop_after(st->loop, 0, hold_kick_cb, msg);
    else
        cJSON_Delete(msg);
}

/* hold_grant_next - r is free: the first waiter still ready becomes its
 * holder (in memory; the caller writes). Waiters that are not ready any
 * more are dropped. Returns the index-free copy in *granted, 1 when one was
 * granted. Events are appended here (before the write, see above). */
static int hold_grant_next(struct stage *st, struct target_rec *r, struct target_entry *granted)
{
    char why[512], msg[1024], ts[40];
    const char *reason;

    while (r->nwaiting > 0) {
        struct target_entry e = r->waiting[0];

        reason = hold_judge(st, r, &e, 0, why, sizeof(why), NULL, 0);
        target_waiting_remove(r, 0);
        if (reason) {
            snprintf(msg, sizeof(msg), "no longer waits for %s (%s): %s", r->application, reason, why);
            hold_audit(st, e.tracker, "Normal", "Dequeued", msg, e.key);
            log_info("dequeued", "tracker=%s target=%s reason=%s why=%s", e.tracker, r->key, reason, log_q(why));
            cJSON_Delete(strmap_del(((struct promoter_stage *)st->data)->hold_msgs, e.tracker));
            continue;
        }
        snprintf(msg, sizeof(msg), "%s is its turn: it may now be promoted into %s (%s)", e.tracker,
                 r->application, r->environment);
        hold_audit(st, e.tracker, "Normal", "Dequeued", msg, e.key);
        r->held = 1;
        r->holder = e;
        hold_now(r->holder.at, sizeof(r->holder.at));
        snprintf(r->progress_at, sizeof(r->progress_at), "%s", hold_now(ts, sizeof(ts)));
        r->observed[0] = '\0';
        *granted = r->holder;
        return 1;
    }
    return 0;
}

/* hold_record_outcome - the holder e leaves unfinished (reason Aborted: the
 * tracker was removed; Superseded: it has a new generation or head SHA):
 * each hop of its promoter record (e's generation and head SHA) still
 * unfinished gets its PromotionRecord (promoter_record_outcome), written
 * before the release so that a crash between them repeats it (it is once
 * per hop key). Not while a job of the tracker runs (its record in memory
 * would be overwritten; promoter_record_for writes Superseded at the next
 * message anyway). Best effort: a failure is logged. */
static void hold_record_outcome(struct stage *st, const struct target_entry *e, const char *reason, const char *why)
{
    struct promoter_stage *ps = st->data;
    enum prom_outcome o;
    struct tracker now, *succ = NULL;
    const cJSON *gen;
    cJSON *rec = NULL, *h;
    char err[256];
    int n = 0, rc;

    if (strcmp(reason, "Aborted") == 0)
        o = PO_ABORTED;
    else if (strcmp(reason, "Superseded") == 0)
        o = PO_SUPERSEDED;
    else
        return;
    if (!st->store || strmap_get(ps->jobs, e->tracker))
        return;
    if (o == PO_SUPERSEDED) {
        if (tracker_read(st->store, e->tracker, NULL, &now, err, sizeof(err)) < 0)
            return;
        succ = &now;
    }
    if (store_read(st->store, PROMOTER_AREA, e->tracker, &rec) < 0)
        return;
    gen = cJSON_GetObjectItemCaseSensitive(rec, "generation");
    if (cJSON_IsNumber(gen) && (int64_t)gen->valuedouble == e->generation &&
        strcasecmp(json_str(rec, "headSHA", ""), e->head_sha) == 0)
        cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(rec, "hops"))
            if (h->string && promoter_record_outcome(rec, h->string, o, NULL, why, succ, wall_ms()) == 1)
                n++;
    if (n > 0 && (rc = store_write(st->store, PROMOTER_AREA, e->tracker, rec)) < 0)
        log_warn("outcome_write_failed", "tracker=%s outcome=%s error=%s", e->tracker, prom_outcome_name(o),
                 log_q(strerror(-rc)));
    else if (n > 0)
        log_info("hop_outcome", "tracker=%s outcome=%s hops=%d why=%s", e->tracker, prom_outcome_name(o), n,
                 log_q(why));
    cJSON_Delete(rec);
}

/* hold_release - the holder of r leaves (reason, why); the next waiter
 * gets it, in one write. Returns 0 or -errno. */
static int hold_release(struct stage *st, struct target_rec *r, const char *reason, const char *why)
{
    struct target_entry old = r->holder, granted;
    char msg[1024];
    int got, rc;

    hold_record_outcome(st, &old, reason, why);

    if (strcmp(reason, "HoldExpired") == 0) {
        snprintf(msg, sizeof(msg), "released %s (%s): %s", r->application, r->environment, why);
        hold_audit(st, old.tracker, "Warning", "HoldExpired", msg, old.key);
    }
    r->held = 0;
    memset(&r->holder, 0, sizeof(r->holder));
    r->progress_at[0] = r->observed[0] = '\0';
    got = hold_grant_next(st, r, &granted);
    rc = hold_write(st, r);
    if (rc < 0) {
        r->held = 1;                  /* as on disk, near enough: the sweep judges again */
        r->holder = old;
        return rc;
    }
    log_info("released", "tracker=%s target=%s env=%s reason=%s why=%s next=%s", old.tracker, r->key,
             r->environment, reason, log_q(why), got ? granted.tracker : "none");
    metrics_inc("promo_target_releases_total", "reason", reason);
    crash_point("promoter.after_release");
    if (got)
        hold_kick(st, granted.tracker);
    hold_arm_at(st, r->nwaiting ? HOLD_SWEEP_WAITING_MS : st->cfg.resync_interval_ms);
    return 0;
}

/* hold_forget_free - records neither held nor waited for (their files are
 * gone: hold_write) are dropped from memory too. */
/* A list filled by strmap_each (its end kept: no walk per item). */
struct hold_list {
    void **item;
    size_t n;
};

static void hold_empty_one(const char *key, void *val, void *arg)
{
    const struct target_rec *r = val;
    struct hold_list *l = arg;

    if (!r->held && r->nwaiting == 0)
        l->item[l->n++] = (char *)key;
}

static void hold_forget_free(struct stage *st)
{
    struct promoter_stage *ps = st->data;
    char **keys = xcalloc(strmap_count(ps->targets) + 1, sizeof(*keys)), **k;
    struct hold_list l = { (void **)keys, 0 };

    strmap_each(ps->targets, hold_empty_one, &l);
    for (k = keys; *k; k++) {
        struct target_rec *r = strmap_del(ps->targets, *k);   /* *k: the map's copy, freed by this call after its lookup */

        target_free(r);
        free(r);
    }
    free(keys);
}

/* hold_sweep - judge every holder: release those that left, expire those
 * quiet for longer than their timeout, note the progress of the others. */
struct hold_sweep_ctx {
    struct stage *st;
    int64_t now;
};

static void hold_sweep_one(const char *key, void *val, void *arg)
{
    struct hold_sweep_ctx *c = arg;
    struct promoter_stage *ps = c->st->data;
    struct target_rec *r = val;
    char why[512], observed[128];
    const char *reason;
    int64_t since;
    uint64_t sig;

    (void)key;
    if (!r->held) {
        struct target_entry g;

        if (r->nwaiting > 0 && hold_grant_next(c->st, r, &g) && hold_write(c->st, r) == 0)
            hold_kick(c->st, g.tracker);
        return;
    }
    sig = hold_sig(c->st, r->holder.tracker);
    if (sig != r->sig || !r->observed[0]) {
        reason = hold_judge(c->st, r, &r->holder, 1, why, sizeof(why), observed, sizeof(observed));
        if (reason) {
            hold_release(c->st, r, reason, why);
            return;
        }
        r->sig = sig;
    } else {
        snprintf(observed, sizeof(observed), "%s", r->observed);   /* nothing changed */
    }
    if (!observed[0] || strmap_get(ps->jobs, r->holder.tracker))
        return;                       /* unreadable, or a job of it runs: not quiet */
    if (strcmp(observed, r->observed) != 0) {
        char ts[40];

        snprintf(r->observed, sizeof(r->observed), "%s", observed);
        snprintf(r->progress_at, sizeof(r->progress_at), "%s", hold_now(ts, sizeof(ts)));
        hold_write(c->st, r);
        return;
    }
    if (strstr(observed, "/awaiting-approval") || r->timeout_ms <= 0)
        return;                       /* a person decides: never quiet */
    since = time_parse_iso(r->progress_at);
    if (since > 0 && c->now - since > r->timeout_ms) {
        snprintf(why, sizeof(why), "%s has been %s for %lld s, longer than its hold timeout of %lld s",
                 r->holder.tracker, observed, (long long)((c->now - since) / 1000),
                 (long long)(r->timeout_ms / 1000));
        hold_release(c->st, r, "HoldExpired", why);
    }
}

static void hold_sweep_cb(struct loop *l, void *arg)
{
    struct stage *st = loop_owner(l);
    struct promoter_stage *ps = st->data;
    struct hold_sweep_ctx c = { st, wall_ms() };

    (void)arg;
    ps->hold_tmr = NULL;
    if (ps->stopping)
        return;
    strmap_each(ps->targets, hold_sweep_one, &c);
    hold_forget_free(st);
    hold_arm(st);
}

/* hold_count - how many targets are held and how many trackers wait. */
struct hold_counts {
    int held, waiting;
};

static void hold_count_one(const char *key, void *val, void *arg)
{
    const struct target_rec *r = val;
    struct hold_counts *n = arg;

    (void)key;
    n->held += r->held;
    n->waiting += r->nwaiting;
}

/* hold_arm_at - the next sweep in at most period ms (0: none needed). */
static void hold_arm_at(struct stage *st, int64_t period)
{
    struct promoter_stage *ps = st->data;

    if (!ps->targets || ps->stopping || period <= 0)
        return;
    if (ps->hold_tmr && period < ps->hold_period) {
        loop_cancel(st->loop, ps->hold_tmr);
        ps->hold_tmr = NULL;
    }
    if (!ps->hold_tmr) {
        ps->hold_period = period;
        ps->hold_tmr = loop_after(st->loop, period, hold_sweep_cb, NULL);
    }
}

/* hold_arm - count what there is to watch (one pass: after a sweep and at
 * start), publish it, and schedule the next sweep for it. */
static void hold_arm(struct stage *st)
{
    struct promoter_stage *ps = st->data;
    struct hold_counts n = { 0, 0 };

    if (!ps->targets || ps->stopping)
        return;
    strmap_each(ps->targets, hold_count_one, &n);
    metrics_set("promo_targets_held", NULL, NULL, (double)n.held);
    metrics_set("promo_targets_waiting", NULL, NULL, (double)n.waiting);
    hold_arm_at(st, n.waiting ? HOLD_SWEEP_WAITING_MS : n.held ? st->cfg.resync_interval_ms : 0);
}

/* hold_target - the record of p's target application (created in memory,
 * not held, when there is none). NULL when it cannot be named. */
static struct target_rec *hold_target(struct stage *st, const struct prom_plan *p)
{
    struct promoter_stage *ps = st->data;
    struct target_rec *r;
    char key[254];

    if (target_key(p->cluster, p->app_namespace ? p->app_namespace : "", p->app, key, sizeof(key)) < 0)
        return NULL;
    r = strmap_get(ps->targets, key);
    if (r)
        return r;
    r = xcalloc(1, sizeof(*r));
    snprintf(r->key, sizeof(r->key), "%s", key);
    snprintf(r->cluster, sizeof(r->cluster), "%s", p->cluster);
    snprintf(r->app_namespace, sizeof(r->app_namespace), "%s", p->app_namespace ? p->app_namespace : "");
    snprintf(r->application, sizeof(r->application), "%s", p->app);
    snprintf(r->environment, sizeof(r->environment), "%s", p->target);
    strmap_put(ps->targets, r->key, r);
    return r;
}

int promoter_hold_acquire(struct stage *st, const struct prom_plan *p, const cJSON *msg, char *why, size_t whylen)
{
    struct promoter_stage *ps = st->data;
    struct target_rec *r;
    struct target_entry me;
    char reason_why[512], ts[40], text[1024];
    const char *reason;
    int i, tries;

    why[0] = '\0';
    if (!p->exclusive || st->dry_run || !st->store || !ps->targets)
        return 1;
    r = hold_target(st, p);
    if (!r) {
        snprintf(why, whylen, "the target application %s cannot be named", p->app);
        return -1;
    }
    target_entry_set(&me, p->t.name, p->t.generation, p->t.head_sha, p->source, p->key, hold_now(ts, sizeof(ts)));
    for (tries = 0; tries < 4 && r->held; tries++) {
        if (strcmp(r->holder.tracker, me.tracker) == 0 && r->holder.generation == me.generation &&
            strcmp(r->holder.head_sha, me.head_sha) == 0)
            return 1;                 /* ours already (granted, or a resumed hop) */
        reason = hold_judge(st, r, &r->holder, 1, reason_why, sizeof(reason_why), NULL, 0);
        if (!reason)
            break;
        if (hold_release(st, r, reason, reason_why) < 0) {
            snprintf(why, whylen, "cannot write the record of %s", r->application);
            return -1;
        }
    }
    if (r->held && strcmp(r->holder.tracker, me.tracker) == 0 && r->holder.generation == me.generation &&
        strcmp(r->holder.head_sha, me.head_sha) == 0)
        return 1;                     /* the release granted it to us */
    i = target_waiting_find(r, me.tracker);
    if (!r->held && (r->nwaiting == 0 || i == 0)) {
        /* free, and nobody ready before us: ours */
        if (i == 0) {
            snprintf(text, sizeof(text), "%s is its turn: it may now be promoted into %s (%s)", me.tracker,
                     r->application, r->environment);
            hold_audit(st, me.tracker, "Normal", "Dequeued", text, me.key);
            target_waiting_remove(r, 0);
        }
        r->held = 1;
        r->holder = me;
        snprintf(r->progress_at, sizeof(r->progress_at), "%s", me.at);
        r->observed[0] = '\0';
        r->timeout_ms = p->timeout_ms + st->cfg.deploy_timeout_ms;
        crash_point("promoter.before_hold");
        if (hold_write(st, r) < 0) {
            r->held = 0;
            memset(&r->holder, 0, sizeof(r->holder));
            snprintf(why, whylen, "cannot write the record of %s", r->application);
            return -1;
        }
        log_info("held", "tracker=%s target=%s env=%s application=%s key=%s", me.tracker, r->key, r->environment,
                 r->application, me.key);
        crash_point("promoter.after_hold");
        cJSON_Delete(strmap_del(ps->hold_msgs, me.tracker));
        hold_arm_at(st, st->cfg.resync_interval_ms);
        return 1;
    }
    /* held by another (or others were ready first): wait in line */
    if (i >= 0 && (r->waiting[i].generation != me.generation || strcmp(r->waiting[i].head_sha, me.head_sha) != 0)) {
        target_waiting_remove(r, i);  /* an older commit waited: a new readiness, at the end */
        i = -1;
    }
    if (i < 0) {
        if (r->held)
            snprintf(text, sizeof(text), "waits for %s (%s), held by %s since %s", r->application, r->environment,
                     r->holder.tracker, r->holder.at);
        else
            snprintf(text, sizeof(text), "waits for %s (%s) behind %d ready before it", r->application,
                     r->environment, r->nwaiting);
        hold_audit(st, me.tracker, "Normal", "Queued", text, me.key);
        target_waiting_add(r, &me);
        if (hold_write(st, r) < 0) {
            target_waiting_remove(r, r->nwaiting - 1);
            snprintf(why, whylen, "cannot write the record of %s", r->application);
            return -1;
        }
        log_info("queued", "tracker=%s target=%s env=%s holder=%s position=%d", me.tracker, r->key,
                 r->environment, r->held ? r->holder.tracker : "none", r->nwaiting);
        i = r->nwaiting - 1;
    }
    if (msg)
        cJSON_Delete(strmap_put(ps->hold_msgs, me.tracker, cJSON_Duplicate(msg, 1)));
    if (r->held)
        snprintf(why, whylen, "waiting for %s (position %d of %d), held by %s since %s", r->application, i + 1,
                 r->nwaiting, r->holder.tracker, r->holder.at);
    else
        snprintf(why, whylen, "waiting for %s (position %d of %d)", r->application, i + 1, r->nwaiting);
    hold_arm_at(st, HOLD_SWEEP_WAITING_MS);
    return 0;
}

/* hold_collect - the records into a NULL-terminated array (arg). */
static void hold_collect(const char *key, void *val, void *arg)
{
    struct hold_list *l = arg;

    (void)key;
    l->item[l->n++] = val;
}

void promoter_hold_leave(struct stage *st, const char *tracker, const char *env, const char *reason, const char *why)
{
    struct promoter_stage *ps = st->data;
    struct target_rec **list;
    struct hold_list l;
    size_t n = 0, i;

    if (!ps->targets || st->dry_run || !st->store)
        return;
    list = xcalloc(strmap_count(ps->targets) + 1, sizeof(*list));
    l.item = (void **)list;
    l.n = 0;
    strmap_each(ps->targets, hold_collect, &l);
    n = l.n;
    for (i = 0; i < n; i++)
        if (list[i]->held && strcmp(list[i]->holder.tracker, tracker) == 0 &&
            strcmp(list[i]->environment, env) == 0)
            hold_release(st, list[i], reason, why);
    free(list);
}

int promoter_hold_init(struct stage *st)
{
    struct promoter_stage *ps = st->data;
    struct target_table tt;
    int i, n;

    ps->targets = strmap_new();
    ps->hold_msgs = strmap_new();
    if (!st->store)
        return 0;
    n = target_table_load(st->store, &tt);
    if (n < 0) {
        log_error("targets_unreadable", "error=%s effect=%s", log_q(strerror(-n)), log_q("cannot start"));
        return -1;
    }
    for (i = 0; i < tt.n; i++) {
        struct target_rec *r = xmalloc(sizeof(*r));

        *r = tt.v[i];                 /* moved: the table keeps nothing */
        strmap_put(ps->targets, r->key, r);
    }
    free(tt.v);
    if (tt.n > 0)
        log_info("targets_loaded", "count=%d", tt.n);
    hold_arm(st);
    return 0;
}

static void hold_free_rec(void *v)
{
    target_free(v);
    free(v);
}

static void hold_free_msg(void *v)
{
    cJSON_Delete(v);
}

void promoter_hold_free(struct stage *st)
{
    struct promoter_stage *ps = st->data;

    if (ps->hold_tmr)
        loop_cancel(st->loop, ps->hold_tmr);
    ps->hold_tmr = NULL;
    if (ps->targets)
        strmap_free(ps->targets, hold_free_rec);
    if (ps->hold_msgs)
        strmap_free(ps->hold_msgs, hold_free_msg);
    ps->targets = ps->hold_msgs = NULL;
    free(ps->hold_view);
    ps->hold_view = NULL;
}
