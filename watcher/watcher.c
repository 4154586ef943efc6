/* watcher.c - promo-watcher: finds trackers that need work and sends them down the pipeline,
 * and watches each promoted deployment until it is Synced and Healthy.
 *
 * Level-triggered (DESIGN.md principle 2): at start and every resyncInterval
 * every active tracker is emitted again; between resyncs inotify on
 * STATE/trackers/ reports each change within milliseconds. Names wait in a
 * deduplicated FIFO and each tracker is read from disk only when its message
 * is about to go out, so a burst of writes costs one message and what is
 * sent is always the latest state. A full output queue simply leaves names
 * waiting (backpressure); nothing here exists only in memory and matters.
 *
 * Where a tracker is and what it is doing come from domain/view.h (the
 * tracker document, then the chain of promotions the promoter recorded);
 * the message's "tracker" is the document with its status.environment and
 * status.state replaced by the view's (docs/protocol.md). A tracker
 * deploying in an environment it was promoted to has its target Argo CD
 * application read every pollInterval (one request in flight per tracker)
 * until it is Synced and Healthy at the head SHA: then STATE/watcher/NAME.json
 * says synced there and the tracker is emitted at once, so the next policy
 * applies. Past deployTimeout after the promotion, the record gets a
 * DeployTimeout condition (and the audit log an event) instead. Its input,
 * watcher.sock, takes only "hint" messages from promo-webhook (an Argo CD
 * notification): the application is then read at once (docs/webhook.md). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <zmq.h>

#include "adapters/argocd.h"
#include "domain/audit.h"
#include "util/http.h"
#include "util/log.h"
#include "domain/promokey.h"
#include "domain/rec_watcher.h"
#include "util/strmap.h"
#include "domain/tracker.h"
#include "util/util.h"
#include "domain/view.h"
#include "ipc/stage.h"

#define WATCHER_HINT_LIVE_MS 600000  /* webhooks count as arriving this long after the last hint */

/* One promoted deployment being watched (a value of watcher.deploys). */
struct watcher_deploy {
    struct stage *st;
    char name[254];
    int64_t generation;
    char sha[65];
    char env[64];                /* the target environment */
    char cluster[64], app[254];  /* its Argo CD application (promoter hop "argocd") */
    char project[254], ns[254];  /* sent on every read ("" when the policy named none) */
    char digest[32];             /* "": at the SHA; else argocd_app_reached (view.h) */
    int64_t deadline_ms;         /* wall: promotedAt + deployTimeout */
    struct loop_timer *tmr;       /* the next poll, or NULL */
    int inflight;                /* an argocd_get is outstanding */
    int orphan;                  /* dropped meanwhile: its callback frees it */
    int hinted;                  /* a webhook hint came during a read: read again at once */
    char last[300];              /* what Argo CD said last */
    struct watcher_deploy *next; /* in watcher.orphans while orphaned */
};

/* A FIFO of tracker names, each at most once. */
struct wqueue {
    struct strmap *queued;      /* names in the FIFO */
    char **fifo;                /* ring of names */
    size_t head, len, cap;
};

struct watcher {
    int inotify;
    int64_t hint_ms;            /* monotonic: the last webhook hint (or the start) */
    uint64_t hints;
    int run_wd;                 /* the watch on runDir (stage restarts), or -1 */
    struct strmap *deploys;     /* name -> struct watcher_deploy */
    struct adapter_ctx actx;    /* for adapters/argocd.h */
    struct watcher_deploy *orphans;   /* dropped while a read was in flight */
    struct wqueue changed;      /* names with news (inotify, Argo CD, starts): first */
    struct wqueue paced;        /* names of a periodic resync: spread over the interval */
    struct strmap *sent;        /* name -> digest of what was last emitted for it */
    struct strmap *judged;      /* name -> struct watcher_judged (periodic resyncs) */
    int64_t pace_start;         /* monotonic ms: when the periodic resync began */
    size_t pace_total, pace_sent;
    struct loop_timer *pace_tmr;
    uint64_t ticks;             /* periodic resyncs so far */
    int trackers_wd;            /* the watch on STATE/trackers */
    struct strmap *settling;    /* names with a promoter or approvals record written lately */
    struct loop_timer *settle_tmr;
    uint64_t resyncs, emitted, skipped, unchanged, synced, timeouts, cheap;
};

/* What the watcher found of a tracker at a version of its records
 * (store_version): a periodic resync of a tracker whose records have not
 * changed since sends what it sent then without reading them again. */
struct watcher_judged {
    uint64_t version;
    int active;
    int64_t generation;
    char sha[65];
};

#define WATCHER_FULL_EVERY 10        /* every 10th periodic resync is a full one */
#define WATCHER_PACE_SHARE 80        /* a periodic resync is spread over 80 % of the interval */
#define WATCHER_PACE_BURST 64        /* in bursts of this many names */
#define WATCHER_SETTLE_MS 50         /* promoter and approvals writes settle this long */

/* wq_push - queue name unless it already waits there. */
static void wq_push(struct wqueue *q, const char *name)
{
    if (strmap_has(q->queued, name))
        return;
    if (q->len == q->cap) {
        size_t ncap = q->cap ? q->cap * 2 : 256, i;
        char **n = xcalloc(ncap, sizeof(*n));
        for (i = 0; i < q->len; i++)
            n[i] = q->fifo[(q->head + i) % q->cap];
        free(q->fifo);
        q->fifo = n;
        q->head = 0;
        q->cap = ncap;
    }
    q->fifo[(q->head + q->len) % q->cap] = xstrdup(name);
    q->len++;
    strmap_put(q->queued, name, NULL);
}

/* wq_pop - the oldest queued name (caller frees), or NULL. */
static char *wq_pop(struct wqueue *q)
{
    char *name;

    if (!q->len)
        return NULL;
    name = q->fifo[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    strmap_del(q->queued, name);
    return name;
}

/* wq_free - empty q and release it. */
static void wq_free(struct wqueue *q)
{
    char *name;

    while ((name = wq_pop(q)) != NULL)
        free(name);
    free(q->fifo);
    strmap_free(q->queued, NULL);
    memset(q, 0, sizeof(*q));
}

static size_t watcher_pace_room(struct stage *st);
static void watcher_fill(struct stage *st);

/* watcher_settle_push - strmap_each: queue a settled name as news. */
static void watcher_settle_push(const char *key, void *val, void *arg)
{
    (void)val;
    wq_push(&((struct watcher *)arg)->changed, key);
}

/* watcher_push - name has news: it goes ahead of a periodic resync. */
static void watcher_push(struct watcher *w, const char *name)
{
    wq_push(&w->changed, name);
}

/* watcher_resync - queue every tracker in the state dir. A full resync
 * (start, a stage restart, SIGHUP, an overflow, every WATCHER_FULL_EVERY-th
 * timer) sends each at once, read again, as news; a periodic one queues them
 * apart (paced: watcher_fill), marked "resync": "timer" so that a stage
 * that has fully handled a tracker at the current version of its records
 * passes it on unhandled (ipc/stage.h, stage_memo). */
static void watcher_resync(struct stage *st, const char *why, int paced)
{
    struct watcher *w = st->data;
    char **names;
    int n, i;

    n = store_list(st->store, "trackers", &names);
    if (n < 0) {
        log_error("resync_failed", "reason=%s", log_q(strerror(-n)));
        return;
    }
    /* A resync sends every active tracker again, changed or not: it is
     * what repairs a message lost on the way. */
    strmap_free(w->sent, free);
    w->sent = strmap_new();
    if (!paced) {
        strmap_free(w->judged, free);
        w->judged = strmap_new();
    }
    for (i = 0; i < n; i++)
        wq_push(paced ? &w->paced : &w->changed, names[i]);
    store_list_free(names);
    w->resyncs++;
    w->pace_start = now_ms();
    w->pace_total = w->paced.len;
    w->pace_sent = 0;
    log_debug("resync", "why=%s trackers=%d paced=%d", why, n, paced);
}

/* watcher_record_same - 1 when old says what rec says (observedAt aside;
 * with a timeout, any recorded DeployTimeout stays as it was). */
static int watcher_record_same(const struct rec_watcher *old, const struct rec_watcher *rec, int timeout)
{
    int i;

    if (strcmp(old->name, rec->name) != 0 || old->generation != rec->generation ||
        strcmp(old->head_sha, rec->head_sha) != 0 || strcmp(old->environment, rec->environment) != 0 ||
        strcmp(old->state, rec->state) != 0 || strcmp(old->deploy_deadline, rec->deploy_deadline) != 0)
        return 0;
    if (timeout) {
        for (i = 0; i < old->nconditions; i++)
            if (strcmp(old->conditions[i].type, "DeployTimeout") == 0)
                return 1;
        return 0;
    }
    if (old->nconditions != rec->nconditions)
        return 0;
    for (i = 0; i < rec->nconditions; i++) {
        const struct rec_condition *a = &old->conditions[i], *b = &rec->conditions[i];
        if (strcmp(a->type, b->type) || strcmp(a->status, b->status) || strcmp(a->reason, b->reason) ||
            strcmp(a->message, b->message) || strcmp(a->last_transition, b->last_transition))
            return 0;
    }
    return 1;
}

/* watcher_record_write - STATE/watcher/NAME.json for d: state ("deploying"
 * or "synced") and, with why, a DeployTimeout condition. Written only when
 * it changes (observedAt aside), through the record's encoder
 * (domain/rec_watcher.h). Returns 1 written, 0 unchanged, -1 on error. */
static int watcher_record_write(struct stage *st, const struct watcher_deploy *d, const char *state,
                                const char *why)
{
    struct rec_watcher rec, old;
    cJSON *doc, *o = NULL;
    char ts[40], deadline[40], err[256];
    int rc, same = 0;

    memset(&rec, 0, sizeof(rec));
    rec.name = d->name;
    rec.generation = d->generation;
    rec.head_sha = d->sha;
    rec.environment = d->env;
    rec.state = state;
    rec.observed_at = time_format_iso(wall_ms(), ts, sizeof(ts));
    rec.deploy_deadline = time_format_iso(d->deadline_ms, deadline, sizeof(deadline));
    if (why) {
        struct rec_condition *c = &rec.conditions[rec.nconditions++];
        c->type = "DeployTimeout";
        c->status = "True";
        c->reason = "";
        c->message = why;
        c->last_transition = ts;
    }
    if (store_read(st->store, "watcher", d->name, &o) == 0) {
        if (rec_watcher_decode(o, d->name, &old, err, sizeof(err)) == 0)
            same = watcher_record_same(&old, &rec, why != NULL);
        rec_watcher_free(&old);
        cJSON_Delete(o);
    }
    if (same)
        return 0;
    crash_point("watcher.before_record");
    doc = rec_watcher_encode(&rec);
    rc = store_write(st->store, "watcher", d->name, doc);
    cJSON_Delete(doc);
    if (rc < 0) {
        log_error("record_write_failed", "tracker=%s error=%s", d->name, log_q(strerror(-rc)));
        return -1;
    }
    crash_point("watcher.after_record");
    return 1;
}

/* watcher_deploy_free - strmap destructor: free d, or leave it to its callback. */
static void watcher_deploy_free(void *p)
{
    struct watcher_deploy *d = p;

    if (!d)
        return;
    loop_cancel(d->st->loop, d->tmr);
    d->tmr = NULL;
    if (d->inflight) {
        struct watcher *w = d->st->data;
        d->orphan = 1;
        d->next = w->orphans;
        w->orphans = d;
    } else {
        free(d);
    }
}

/* watcher_deploy_drop - stop watching name's deployment. */
static void watcher_deploy_drop(struct stage *st, const char *name)
{
    struct watcher *w = st->data;

    watcher_deploy_free(strmap_del(w->deploys, name));
}

/* watcher_deploy_current - 1 when the view of d's tracker is still
 * deploying in d's environment, at d's generation and head SHA. */
static int watcher_deploy_current(struct stage *st, const struct watcher_deploy *d)
{
    struct view *v = xmalloc(sizeof(*v));
    char err[256];
    int cur = view_load(st->store, d->name, v, err, sizeof(err)) == 0 && v->deploy_promoted &&
              v->state == TS_DEPLOYING && v->t.generation == d->generation &&
              strcmp(v->t.head_sha, d->sha) == 0 && strcmp(v->environment, d->env) == 0;

    free(v);
    return cur;
}

static void watcher_deploy_poll(struct loop *l, void *arg);

/* watcher_deploy_done - Argo CD answered (or failed to): synced, timed out,
 * or poll again after pollInterval (longer when Argo CD asked for it). */
static void watcher_deploy_done(void *arg, const struct argocd_result *res)
{
    struct watcher_deploy *d = arg;
    struct stage *st = d->st;
    struct watcher *w = st->data;
    int64_t delay = st->cfg.poll_interval_ms;

    /* while webhooks arrive (docs/webhook.md), poll at most every webhook.pollStretch */
    if (st->cfg.webhook.poll_stretch_ms > delay && now_ms() - w->hint_ms < WATCHER_HINT_LIVE_MS)
        delay = st->cfg.webhook.poll_stretch_ms;
    d->inflight = 0;
    if (d->orphan) {
        struct watcher_deploy **pp;
        for (pp = &w->orphans; *pp; pp = &(*pp)->next)
            if (*pp == d) {
                *pp = d->next;
                break;
            }
        free(d);
        return;
    }
    if (res->error)
        snprintf(d->last, sizeof(d->last), "%s", res->errmsg);
    else if (res->have_app)
        snprintf(d->last, sizeof(d->last), "%s and %s at %.40s", argocd_sync_name(res->app.sync),
                 argocd_health_name(res->app.health), res->app.revision[0] ? res->app.revision : "no revision");
    if (!watcher_deploy_current(st, d)) {
        log_info("deploy_unwatched", "tracker=%s env=%s reason=%s", d->name, d->env,
                 log_q("no longer deploying there at this generation"));
        watcher_deploy_drop(st, d->name);
        return;
    }
    if (!res->error && res->have_app &&
        (d->digest[0] ? argocd_app_reached(res->doc, &res->app, d->digest) : argocd_app_at(&res->app, d->sha))) {
        if (watcher_record_write(st, d, "synced", NULL) < 0) {
            d->tmr = loop_after(st->loop, delay, watcher_deploy_poll, d);
            return;
        }
        w->synced++;
        log_info("deploy_synced", "tracker=%s gen=%lld env=%s app=%s sha=%.12s", d->name,
                 (long long)d->generation, d->env, d->app, d->sha);
        watcher_push(w, d->name);
        watcher_deploy_drop(st, d->name);
        return;
    }
    if (wall_ms() >= d->deadline_ms) {
        char key[PROMO_KEY_SIZE], why[1024], dl[40];
        char dur[32];

        snprintf(dur, sizeof(dur), "%llds", (long long)(st->cfg.deploy_timeout_ms / 1000));
        snprintf(why, sizeof(why), "%s (Argo CD %s) in %s was not Synced and Healthy at %.12s within %s of the "
                 "promotion (deadline %s); last seen: %s", d->app, d->cluster[0] ? d->cluster : "default", d->env,
                 d->sha, st->cfg.deploy_timeout_ms % 1000 ? "deployTimeout" : dur,
                 time_format_iso(d->deadline_ms, dl, sizeof(dl)), d->last[0] ? d->last : "no answer");
        promo_key(d->name, d->sha, d->env, d->env, "deploy", 1, key, sizeof(key));
        if (audit_has_key(st->store, key, "DeployTimeout") == 0 &&
            audit_append(st->store, d->name, "Warning", "DeployTimeout", why, key) < 0) {
            log_error("audit_failed", "tracker=%s key=%s effect=%s", d->name, key, log_q("retried at the next poll"));
            d->tmr = loop_after(st->loop, delay, watcher_deploy_poll, d);
            return;
        }
        if (watcher_record_write(st, d, "deploying", why) < 0) {
            d->tmr = loop_after(st->loop, delay, watcher_deploy_poll, d);
            return;
        }
        w->timeouts++;
        log_warn("deploy_timeout", "tracker=%s gen=%lld env=%s app=%s reason=%s", d->name,
                 (long long)d->generation, d->env, d->app, log_q(why));
        watcher_deploy_drop(st, d->name);
        return;
    }
    if (res->error)
        log_info("deploy_poll_failed", "tracker=%s env=%s app=%s error=%s", d->name, d->env, d->app, log_q(res->errmsg));
    if (res->retry_after_ms > delay)
        delay = res->retry_after_ms;
    if (d->hinted && !res->error)
        delay = 0;
    d->hinted = 0;
    if (d->deadline_ms - wall_ms() < delay)
        delay = d->deadline_ms - wall_ms() > 0 ? d->deadline_ms - wall_ms() : 0;
    d->tmr = loop_after(st->loop, delay, watcher_deploy_poll, d);
}

/* watcher_deploy_poll - the timer: read the application, unless a read is out. */
static void watcher_deploy_poll(struct loop *l, void *arg)
{
    struct stage *st = loop_owner(l);
    struct watcher *w = st->data;
    struct watcher_deploy *d = arg;

    d->tmr = NULL;
    if (d->inflight)
        return;
    d->inflight = 1;
    argocd_get(&w->actx, d->cluster[0] ? d->cluster : NULL, d->app, d->ns, d->project, watcher_deploy_done, d);
}

/* watcher_deploy_watch - make sure v's promoted deployment is watched. */
static void watcher_deploy_watch(struct stage *st, const struct view *v)
{
    struct watcher *w = st->data;
    struct watcher_deploy *d = strmap_get(w->deploys, v->t.name);
    int64_t promoted = v->promoted_at[0] ? time_parse_iso(v->promoted_at) : -1;

    if (d && d->generation == v->t.generation && strcmp(d->sha, v->t.head_sha) == 0 &&
        strcmp(d->env, v->environment) == 0)
        return;
    if (d)
        watcher_deploy_drop(st, v->t.name);
    if (!v->argocd_app[0]) {
        log_warn("deploy_unknown_app", "tracker=%s env=%s reason=%s", v->t.name, v->environment,
                 log_q("the promoter record names no Argo CD application for the hop"));
        return;
    }
    d = xcalloc(1, sizeof(*d));
    d->st = st;
    str_copy(d->name, v->t.name, sizeof(d->name));
    d->generation = v->t.generation;
    str_copy(d->sha, v->t.head_sha, sizeof(d->sha));
    str_copy(d->env, v->environment, sizeof(d->env));
    str_copy(d->cluster, v->argocd_cluster, sizeof(d->cluster));
    str_copy(d->app, v->argocd_app, sizeof(d->app));
    str_copy(d->project, v->argocd_project, sizeof(d->project));
    str_copy(d->ns, v->argocd_namespace, sizeof(d->ns));
    str_copy(d->digest, v->argocd_digest, sizeof(d->digest));
    d->deadline_ms = (promoted > 0 ? promoted : wall_ms()) + st->cfg.deploy_timeout_ms;
    strmap_put(w->deploys, d->name, d);
    watcher_record_write(st, d, "deploying", NULL);
    log_info("deploy_watch", "tracker=%s gen=%lld env=%s cluster=%s app=%s sha=%.12s", d->name,
             (long long)d->generation, d->env, d->cluster[0] ? d->cluster : "default", d->app, d->sha);
    d->tmr = loop_after(st->loop, 0, watcher_deploy_poll, d);
}

/* watcher_emit - read one tracker and send it if it is active (its effective
 * state, domain/view.h: synced, testing so the monitor adopts runs after a
 * restart, awaiting-approval, promoting, failed until the promoter has
 * recorded it); start watching a promoted deployment. When the stages'
 * records cannot be read, the tracker's own state decides.
 * Returns 0 when handled (sent or skipped), -1 when the queue was full. */
/* watcher_digest - what a message about the tracker says, in 32 hex
 * digits: the document as sent (its status overlaid from the view) and
 * what the stages act on that the document does not show (the current
 * hop's approval, retry, failure and promotion). The same digest twice
 * means nothing new for the stages. NULL when it cannot be computed. */
static char *watcher_digest(const cJSON *doc, const struct view *v, int have_view)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char *text = cJSON_PrintUnformatted(doc), extra[768], *hex;
    const struct view_hop *h = have_view && v->nhops > 0 ? &v->hops[v->nhops - 1] : NULL;
    EVP_MD_CTX *ctx;
    int ok;

    if (!text)
        return NULL;
    snprintf(extra, sizeof(extra), "\n%d|%d|%s|%s|%s|%d|%s|%s|%s",
             have_view ? (int)v->state : -1, have_view ? v->failure_reported : -1,
             h ? h->state : "", h ? h->approved_by : "", h ? h->approved_at : "",
             h ? h->retry_attempt : 0, h ? h->failed_at : "", h ? h->promoted_at : "",
             h ? h->last_error : "");
    ctx = EVP_MD_CTX_new();
    ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
         EVP_DigestUpdate(ctx, text, strlen(text)) == 1 &&
         EVP_DigestUpdate(ctx, extra, strlen(extra)) == 1 &&
         EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen >= 16;
    EVP_MD_CTX_free(ctx);
    free(text);
    if (!ok)
        return NULL;
    hex = xmalloc(33);
    for (ok = 0; ok < 16; ok++)
        snprintf(hex + 2 * ok, 3, "%02x", md[ok]);
    return hex;
}

/* watcher_judge - note what a periodic resync found of name at version. */
static void watcher_judge(struct watcher *w, const char *name, uint64_t version, int active,
                          const struct tracker *t)
{
    struct watcher_judged *j = strmap_get(w->judged, name);

    if (!j) {
        j = xcalloc(1, sizeof(*j));
        strmap_put(w->judged, name, j);
    }
    j->version = version;
    j->active = active;
    j->generation = t ? t->generation : 0;
    snprintf(j->sha, sizeof(j->sha), "%s", t ? t->head_sha : "");
}

/* watcher_emit_cheap - a periodic resync of name whose records have not
 * changed since the last one judged it: nothing for an inactive tracker;
 * for an active one the message of before, without the tracker snapshot
 * (its name, generation and head SHA: docs/protocol.md, "Resync"), since
 * every stage reads the tracker from the state dir anyway. Returns 1 when
 * handled, 0 when the tracker must be read (watcher_emit), -1 when the
 * output queue is full. */
static int watcher_emit_cheap(struct stage *st, const char *name, uint64_t version)
{
    struct watcher *w = st->data;
    const struct watcher_judged *j = strmap_get(w->judged, name);
    cJSON *msg;
    int rc;

    if (!j || j->version != version || !store_version_known(st->store))
        return 0;
    w->cheap++;
    if (!j->active) {
        w->skipped++;
        return 1;
    }
    msg = stage_message_new(st, "tracker");
    cJSON_AddStringToObject(msg, "name", name);
    cJSON_AddNumberToObject(msg, "generation", (double)j->generation);
    cJSON_AddStringToObject(msg, "headSHA", j->sha);
    cJSON_AddStringToObject(msg, "resync", "timer");
    rc = stage_emit(st, msg);
    cJSON_Delete(msg);
    if (rc == 0)
        return -1;
    w->emitted += rc > 0;
    return 1;
}

static int watcher_emit(struct stage *st, const char *name, int paced)
{
    struct watcher *w = st->data;
    struct tracker t;
    struct view *v;
    char err[256];
    cJSON *doc, *msg;
    char *digest;
    uint64_t version = store_version(st->store, name);
    int rc, active, have_view = 0;

    if (paced && (rc = watcher_emit_cheap(st, name, version)) != 0)
        return rc < 0 ? -1 : 0;
    rc = tracker_read(st->store, name, &doc, &t, err, sizeof(err));
    if (rc < 0) {
        if (rc != -ENOENT && rc != -EBADMSG)
            log_error("read_failed", "tracker=%s reason=%s", name, log_q(strerror(-rc)));
        if (rc == -ENOENT) {
            watcher_deploy_drop(st, name);
            free(strmap_del(w->judged, name));
        }
        return 0;
    }
    v = xmalloc(sizeof(*v));
    if (view_apply(st->store, &t, doc, v) == 1) {
        if (v->deploy_promoted && v->state == TS_DEPLOYING)
            watcher_deploy_watch(st, v);
        else if (strmap_get(w->deploys, name))
            watcher_deploy_drop(st, name);
        active = view_active(v);
        have_view = 1;
    } else {
        active = t.state == TS_SYNCED || t.state == TS_TESTING || t.state == TS_AWAITING_APPROVAL ||
                 t.state == TS_PROMOTING;
    }
    /* a deploying tracker's judgement changes with Argo CD, not the records */
    if (!(have_view && v->deploy_promoted && v->state == TS_DEPLOYING))
        watcher_judge(w, name, version, active, &t);
    else
        free(strmap_del(w->judged, name));
    if (!active) {
        free(v);
        free(strmap_del(w->sent, name));
        w->skipped++;
        cJSON_Delete(doc);
        return 0;
    }
    /* A stage's record that changes nothing the stages act on (the
     * promoter's steps, say) is no news: not sent again. */
    digest = watcher_digest(doc, v, have_view);
    free(v);
    if (digest) {
        const char *last = strmap_get(w->sent, name);

        if (last && strcmp(last, digest) == 0 && !paced) {
            free(digest);
            w->unchanged++;
            cJSON_Delete(doc);
            return 0;
        }
    }
    msg = stage_message_new(st, "tracker");
    cJSON_AddStringToObject(msg, "name", t.name);
    cJSON_AddNumberToObject(msg, "generation", (double)t.generation);
    cJSON_AddItemToObject(msg, "tracker", doc);
    if (paced)
        cJSON_AddStringToObject(msg, "resync", "timer");
    rc = stage_emit(st, msg);
    cJSON_Delete(msg);
    if (rc == 0) {
        free(digest);
        return -1;
    }
    if (digest)
        free(strmap_put(w->sent, name, digest));
    if (rc > 0) {
        w->emitted++;
        log_debug("emit", "tracker=%s gen=%lld env=%s state=%s", t.name,
                  (long long)t.generation, t.status_env, tracker_state_name(t.state));
    }
    return 0;
}

/* watcher_fill - emit queued trackers while the output has room. */
static void watcher_fill(struct stage *st)
{
    struct watcher *w = st->data;

    while (w->changed.len && stage_out_room(st) > 0) {
        char *name = wq_pop(&w->changed);
        if (watcher_emit(st, name, 0) < 0)
            wq_push(&w->changed, name);      /* raced with a full queue: later */
        free(name);
    }
    while (w->paced.len && stage_out_room(st) > 0 && watcher_pace_room(st) > 0) {
        char *name = wq_pop(&w->paced);

        w->pace_sent++;
        if (strmap_has(w->changed.queued, name)) {
            free(name);                       /* news goes first anyway */
            continue;
        }
        if (watcher_emit(st, name, 1) < 0) {
            wq_push(&w->paced, name);
            w->pace_sent--;
        }
        free(name);
    }
}

/* watcher_settle - a promoter or an approvals record of name was written:
 * news, once the writes settle. A promotion writes its promoter record at
 * each of its steps, milliseconds apart; read at each, the tracker would be
 * read eight times for one piece of news (the last step). The names are
 * held for WATCHER_SETTLE_MS, then queued as news, each once. */
static void watcher_settle_cb(struct loop *l, void *arg)
{
    struct stage *st = loop_owner(l);
    struct watcher *w = st->data;

    (void)arg;
    w->settle_tmr = NULL;
    strmap_each(w->settling, watcher_settle_push, w);
    strmap_free(w->settling, NULL);
    w->settling = strmap_new();
    watcher_fill(st);
}

static void watcher_settle(struct stage *st, const char *name)
{
    struct watcher *w = st->data;

    strmap_put(w->settling, name, NULL);
    if (!w->settle_tmr)
        w->settle_tmr = loop_after(st->loop, WATCHER_SETTLE_MS, watcher_settle_cb, NULL);
}

/* watcher_pace_cb - the pace allows more of a periodic resync now. */
static void watcher_pace_cb(struct loop *l, void *arg)
{
    struct stage *st = loop_owner(l);
    struct watcher *w = st->data;

    (void)arg;
    w->pace_tmr = NULL;
    watcher_fill(st);
}

/* watcher_pace_room - how many names of the periodic resync may go now:
 * they are spread evenly over WATCHER_PACE_SHARE % of resyncInterval, so
 * that a resync of many trackers never holds back news for long. When
 * none may, a timer calls watcher_fill again. */
static size_t watcher_pace_room(struct stage *st)
{
    struct watcher *w = st->data;
    int64_t span = st->cfg.resync_interval_ms * WATCHER_PACE_SHARE / 100;
    int64_t el = now_ms() - w->pace_start;
    size_t allowed;

    if (span <= 0 || el >= span)
        return w->paced.len;
    /* in bursts of WATCHER_PACE_BURST: one wakeup of every stage per burst,
     * not per tracker (a wakeup costs more than a skipped message) */
    allowed = ((size_t)((double)w->pace_total * (double)el / (double)span) / WATCHER_PACE_BURST + 1) *
              WATCHER_PACE_BURST;
    if (allowed > w->pace_sent)
        return allowed - w->pace_sent;
    if (!w->pace_tmr)
        w->pace_tmr = loop_after(st->loop, 1 + span * WATCHER_PACE_BURST / (int64_t)(w->pace_total + 1),
                                 watcher_pace_cb, NULL);
    return 0;
}

/* watcher_tick - the periodic resync. */
static void watcher_tick(struct loop *l, void *arg)
{
    struct stage *st = loop_owner(l);
    struct watcher *w = st->data;

    (void)arg;
    w->ticks++;
    watcher_resync(st, "timer", w->ticks % WATCHER_FULL_EVERY != 0);
    loop_after(l, st->cfg.resync_interval_ms, watcher_tick, NULL);
    watcher_fill(st);
}

/* watcher_inotify - turn inotify events on STATE/trackers into queued names. */
static void watcher_inotify(struct loop *l, int fd, short revents, void *arg)
{
    struct stage *st = loop_owner(l);
    struct watcher *w = st->data;
    char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));

    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        char *p;

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (p = buf; p < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            p += sizeof(*ev) + ev->len;
            if (ev->mask & IN_Q_OVERFLOW) {
                watcher_resync(st, "inotify_overflow", 0);
                continue;
            }
            if (w->run_wd >= 0 && ev->wd == w->run_wd) {
                size_t nl = ev->len ? strlen(ev->name) : 0;
                if (nl > 5 && strcmp(ev->name + nl - 5, ".sock") == 0) {
                    log_info("stage_restart", "socket=%s effect=%s", log_q(ev->name), log_q("resync"));
                    watcher_resync(st, "stage_restart", 0);
                }
                continue;
            }
            if (ev->len && ev->name[0] != '.') {
                size_t nl = strlen(ev->name);
                if (nl > 5 && strcmp(ev->name + nl - 5, ".json") == 0) {
                    ev->name[nl - 5] = 0;
                    if (name_valid(ev->name) && ev->wd == w->trackers_wd)
                        watcher_push(w, ev->name);
                    else if (name_valid(ev->name))
                        watcher_settle(st, ev->name);
                }
            }
        }
    }
}

/* watcher_watch_run - watch runDir for ipc sockets being bound: a receiving
 * stage binds its socket there each time it starts, so a new *.sock means a
 * stage (re)started and may have lost the messages it held; the watcher then
 * resyncs at once instead of at the next timer. Makes runDir (0700) if it is
 * not there yet. Returns the watch descriptor, or -1 (logged; restarts are
 * then caught up by the resync timer alone). */
static int watcher_watch_run(struct stage *st, int fd)
{
    const char *dir = st->cfg.run_dir;
    int wd;

    if (!dir || !*dir)
        return -1;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        log_warn("inotify_failed", "dir=%s reason=%s effect=%s", log_q(dir), log_q(strerror(errno)),
                 log_q("stage restarts are seen at the next resync"));
    wd = inotify_add_watch(fd, dir, IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
    if (wd < 0)
        log_warn("inotify_failed", "dir=%s reason=%s effect=%s", log_q(dir), log_q(strerror(errno)),
                 log_q("stage restarts are seen at the next resync"));
    return wd;
}

/* watcher_start - inotify, the first resync, the resync timer. */
static int watcher_start(struct stage *st)
{
    static const char *const extra[] = { "promoter", "approvals" };
    struct watcher *w = xcalloc(1, sizeof(*w));
    char dir[PATH_MAX];
    size_t i;

    if (!st->store) {
        log_error("no_state_dir", "dir=%s", log_q(st->cfg.state_dir));
        free(w);
        return EXIT_TEMP;
    }
    st->data = w;
    w->hint_ms = now_ms();       /* webhooks are expected from the start */
    w->changed.queued = strmap_new();
    w->paced.queued = strmap_new();
    w->sent = strmap_new();
    w->judged = strmap_new();
    w->settling = strmap_new();
    w->deploys = strmap_new();
    w->actx.loop = st->loop;
    w->actx.cfg = &st->cfg;
    w->actx.store = st->store;
    w->actx.http = http_new(st->loop);
    if (!w->actx.http) {
        log_error("http_init_failed", "effect=%s", log_q("cannot read Argo CD"));
        return EXIT_TEMP;
    }
    w->inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->inotify < 0) {
        log_error("inotify_failed", "reason=%s", log_q(strerror(errno)));
        return EXIT_TEMP;
    }
    store_area_path(st->store, "trackers", dir, sizeof(dir));
    w->trackers_wd = inotify_add_watch(w->inotify, dir, IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM);
    if (w->trackers_wd < 0) {
        log_error("inotify_failed", "dir=%s reason=%s", log_q(dir), log_q(strerror(errno)));
        return EXIT_TEMP;
    }
    /* a promotion or an approval is news for the tracker of the same name */
    for (i = 0; i < ARRAY_LEN(extra); i++) {
        store_area_path(st->store, extra[i], dir, sizeof(dir));
        if (inotify_add_watch(w->inotify, dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
            log_warn("inotify_failed", "dir=%s reason=%s effect=%s", log_q(dir), log_q(strerror(errno)),
                     log_q("seen at the next resync"));
    }
    w->run_wd = watcher_watch_run(st, w->inotify);
    loop_watch_fd(st->loop, w->inotify, LOOP_READ, watcher_inotify, NULL);
    watcher_resync(st, "start", 0);
    loop_after(st->loop, st->cfg.resync_interval_ms, watcher_tick, NULL);
    return 0;
}

/* watcher_busy - names still waiting to be sent. */
static int watcher_busy(struct stage *st)
{
    struct watcher *w = st->data;

    return w && (w->changed.len > 0 || w->paced.len > 0 || strmap_count(w->settling) > 0);
}

/* watcher_reload - SIGHUP: resync now. */
static void watcher_reload(struct stage *st)
{
    watcher_resync(st, "sighup", 0);
}

/* watcher_deploy_stop_free - at stop, after http_free: free whatever is left. */
static void watcher_deploy_stop_free(void *p)
{
    struct watcher_deploy *d = p;

    loop_cancel(d->st->loop, d->tmr);
    free(d);
}

/* watcher_stop - release everything. */
static void watcher_stop(struct stage *st)
{
    struct watcher *w = st->data;

    if (!w)
        return;
    log_info("stats", "resyncs=%llu emitted=%llu skipped=%llu unchanged=%llu synced=%llu timeouts=%llu "
             "cheap=%llu", (unsigned long long)w->resyncs, (unsigned long long)w->emitted,
             (unsigned long long)w->skipped, (unsigned long long)w->unchanged,
             (unsigned long long)w->synced, (unsigned long long)w->timeouts, (unsigned long long)w->cheap);
    if (w->actx.http)
        http_free(w->actx.http);       /* no callback runs after this */
    w->actx.http = NULL;
    if (w->deploys) {
        strmap_free(w->deploys, watcher_deploy_stop_free);
        w->deploys = NULL;
    }
    while (w->orphans) {
        struct watcher_deploy *d = w->orphans;
        w->orphans = d->next;
        free(d);
    }
    wq_free(&w->changed);
    wq_free(&w->paced);
    if (w->pace_tmr)
        loop_cancel(st->loop, w->pace_tmr);
    if (w->settle_tmr)
        loop_cancel(st->loop, w->settle_tmr);
    strmap_free(w->settling, NULL);
    strmap_free(w->sent, free);
    strmap_free(w->judged, free);
    if (w->inotify >= 0)
        close(w->inotify);
    free(w);
    st->data = NULL;
}

/* watcher_message - the input (watcher.sock) takes only "hint" messages
 * from promo-webhook: Argo CD says the application of tracker "name"
 * changed, so its deployment is read now instead of at the next poll. */
static void watcher_message(struct stage *st, cJSON *msg)
{
    struct watcher *w = st->data;
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(msg, "kind");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(msg, "name");
    struct watcher_deploy *d;

    if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "hint") != 0) {
        log_warn("bad_message", "reason=%s", log_q("the watcher's input takes only hints"));
        st->msgs_bad++;
        return;
    }
    w->hints++;
    w->hint_ms = now_ms();
    d = cJSON_IsString(name) ? strmap_get(w->deploys, name->valuestring) : NULL;
    log_info("hint", "tracker=%s effect=%s", cJSON_IsString(name) ? name->valuestring : "-",
             log_q(!d ? "not deploying here" : d->inflight ? "read again after the one out" : "read now"));
    if (d && d->inflight)
        d->hinted = 1;
    if (d && !d->inflight) {
        loop_cancel(st->loop, d->tmr);
        d->tmr = NULL;
        watcher_deploy_poll(st->loop, d);
    }
}

int main(int argc, char **argv)
{
    static const struct stage_ops ops = {
        .prog = "promo-watcher",
        .summary = "find trackers that need work and send them to promo-policy",
        .in_default = "watcher.sock",
        .message = watcher_message,
        .out_default = "policy.sock",
        .start = watcher_start,
        .fill = watcher_fill,
        .busy = watcher_busy,
        .reload = watcher_reload,
        .stop = watcher_stop,
    };

    return stage_main(argc, argv, &ops);
}
