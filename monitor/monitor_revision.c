/* monitor_revision.c - results count only for the revision they tested.
 *
 * When the required tests of a hop have passed, and before that counts,
 * promo-monitor reads the hop's source application in Argo CD: it must be
 * Synced and Healthy at the tracker's head SHA (status.sync.revision, for a
 * multi-source application revisions[0]: argocd_parse_app). The source
 * application of the hop out of environment E is the one promo-promoter
 * promoted the tracker into E (the promoter record's hop into E, its
 * argocd {cluster, application}; domain/view.h), or, for the tracker's
 * first environment (spec.environment), spec.application on the cluster
 * "default".
 *
 *   Synced and Healthy at the SHA          MR_CONFIRMED: the pass is decided
 *   another revision, or an operation      MR_CHANGED: the results are void,
 *   requested or Running for one              the hop fails (DeployedRevisionChanged)
 *   not found, permission, no such         MR_UNVERIFIED: the hop fails
 *   cluster, no application known             (DeployedRevisionUnverified)
 *   5xx, 429, timeouts, at the SHA but     MR_PENDING: asked again after a backoff
 *   not (yet) Synced and Healthy              (Retry-After, else 1 s doubling to 60 s);
 *                                             nothing is decided meanwhile (fail closed)
 *
 * The outcome is part of the decision: recorded with it ("revisionCheck" in
 * STATE/monitor/NAME.json) before it is forwarded, so a restart does not ask
 * again; while pending nothing is decided, so a restart just asks again (it
 * is a read). A void result gets one audit event, by key, before it is
 * forwarded. Without a state dir (a standalone debugging run) nothing can be
 * promoted and there is no view to name the application: the check is
 * skipped with a warning. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/http.h"
#include "util/log.h"
#include "util/util.h"
#include "domain/audit.h"
#include "domain/promokey.h"
#include "domain/view.h"
#include "monitor/monitor.h"
#include "util/json.h"

#define MONITOR_REV_BASE_MS 1000
#define MONITOR_REV_CAP_MS  60000

static const char *const monitor_rev_names[MR_COUNT] = {
    [MR_NONE] = "none", [MR_PENDING] = "pending", [MR_CONFIRMED] = "confirmed",
    [MR_CHANGED] = "changed", [MR_UNVERIFIED] = "unverified", [MR_SKIPPED] = "skipped",
};

/* What a read of the application was for: its hop is found again by name,
 * generation, source and sequence (it may be gone by then). */
struct monitor_rev_req {
    struct monitor_rev_req *next;     /* in monitor_stage.rev_reqs */
    struct stage *st;
    int64_t gen;
    unsigned seq;
    char source[64];
    char name[];
};

static void monitor_revision_ask(struct stage *st, struct mon_hop *hop);
static unsigned monitor_rev_seq;  /* numbers every read: an answer finds only its own hop */

/* monitor_revision_text - hop's words of the check, made on first use. */
static struct mon_rev_text *monitor_revision_text(struct mon_hop *hop)
{
    if (!hop->rv)
        hop->rv = xcalloc(1, sizeof(*hop->rv));
    return hop->rv;
}

/* monitor_revision_short - the first 7 characters of a revision, or "no revision". */
static const char *monitor_revision_short(const char *rev, char *buf, size_t len)
{
    if (!rev || !*rev)
        return "no revision";
    snprintf(buf, len, "%.7s", rev);
    return buf;
}

/* monitor_revision_fail - decide the check: changed or unverified, why. */
static void monitor_revision_fail(struct mon_hop *hop, enum mon_rev rev, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void monitor_revision_fail(struct mon_hop *hop, enum mon_rev rev, const char *fmt, ...)
{
    va_list ap;

    monitor_revision_text(hop);
    hop->rev = rev;
    va_start(ap, fmt);
    vsnprintf(hop->rv->reason, sizeof(hop->rv->reason), fmt, ap);
    va_end(ap);
    log_warn("revision_void", "tracker=%s env=%s gen=%lld cluster=%s app=%s outcome=%s reason=%s", hop->tr->name,
             hop->source, (long long)hop->tr->generation, hop->rv->cluster, hop->rv->app, monitor_rev_names[rev],
             log_q(hop->rv->reason));
}

/* monitor_revision_app - name hop's source application from the view.
 * Returns 1 named, 0 when none can be named (hop decided unverified), -1
 * when the view cannot be read now (temporary, its error set). */
static int monitor_revision_app(struct stage *st, struct mon_hop *hop)
{
    struct view *v = xmalloc(sizeof(*v));
    char err[256];
    int i, rc = view_load(st->store, hop->tr->name, v, err, sizeof(err));

    if (rc == -ENOENT || rc == -EBADMSG) {
        /* gone or quarantined: nothing can be confirmed (fail closed); the
         * stages drop it anyway once they re-read it */
        monitor_revision_fail(hop, MR_UNVERIFIED, "DeployedRevisionUnverified: the tracker cannot be read: %s",
                              err[0] ? err : strerror(-rc));
        free(v);
        return 0;
    }
    if (rc < 0) {
        snprintf(hop->rv->error, sizeof(hop->rv->error), "cannot read the tracker: %s",
                 err[0] ? err : strerror(-rc));
        free(v);
        return -1;
    }
    if (v->t.generation != hop->tr->generation || strcasecmp(v->t.head_sha, hop->tr->sha) != 0) {
        /* a new commit: its message resets this hop; until then, nothing */
        snprintf(hop->rv->error, sizeof(hop->rv->error), "the tracker moved on to generation %lld at %.12s",
                 (long long)v->t.generation, v->t.head_sha);
        free(v);
        return -1;
    }
    hop->rv->cluster[0] = hop->rv->app[0] = hop->rv->project[0] = hop->rv->ns[0] = hop->rv->digest[0] = '\0';
    for (i = 0; i < v->nhops; i++) {
        const struct view_hop *h = &v->hops[i];
        if (strcmp(h->state, "promoted") == 0 && strcmp(h->target, hop->source) == 0) {
            str_copy(hop->rv->cluster, h->argocd_cluster[0] ? h->argocd_cluster : "default",
                     sizeof(hop->rv->cluster));
            str_copy(hop->rv->app, h->argocd_app, sizeof(hop->rv->app));
            str_copy(hop->rv->project, h->argocd_project, sizeof(hop->rv->project));
            str_copy(hop->rv->ns, h->argocd_namespace, sizeof(hop->rv->ns));
            str_copy(hop->rv->digest, h->argocd_digest, sizeof(hop->rv->digest));
            if (!hop->rv->app[0]) {
                monitor_revision_fail(hop, MR_UNVERIFIED, "DeployedRevisionUnverified: no Argo CD application "
                                      "is known for %s (the promoter record of the hop from %s names none)",
                                      hop->source, h->source);
                free(v);
                return 0;
            }
            free(v);
            return 1;
        }
    }
    if (strcmp(v->t.environment, hop->source) == 0) {
        str_copy(hop->rv->cluster, "default", sizeof(hop->rv->cluster));
        str_copy(hop->rv->app, v->t.application, sizeof(hop->rv->app));
        free(v);
        return 1;
    }
    monitor_revision_fail(hop, MR_UNVERIFIED, "DeployedRevisionUnverified: no Argo CD application is known for "
                          "%s (not the tracker's first environment %s, and no promotion into it is recorded)",
                          hop->source, v->t.environment);
    free(v);
    return 0;
}

/* monitor_revision_hop - the hop a read was for, or NULL when it is gone. */
static struct mon_hop *monitor_revision_hop(struct stage *st, const struct monitor_rev_req *rq)
{
    struct monitor_stage *ms = st->data;
    struct mon_tracker *tr = ms->trackers ? strmap_get(ms->trackers, rq->name) : NULL;
    struct mon_hop *hop;

    if (!tr || tr->generation != rq->gen)
        return NULL;
    for (hop = tr->hops; hop && strcmp(hop->source, rq->source) != 0; hop = hop->next)
        ;
    return hop && hop->rv && hop->rv->seq == rq->seq && hop->rv->inflight ? hop : NULL;
}

/* monitor_revision_retry - the timer: ask again. */
static void monitor_revision_retry(struct loop *l, void *arg)
{
    struct mon_hop *hop = arg;

    hop->rv->tmr = NULL;
    monitor_revision_ask(loop_owner(l), hop);
    if (hop->rev == MR_UNVERIFIED)
        monitor_evaluate(loop_owner(l), hop);   /* decided without asking Argo CD */
}

/* monitor_revision_done - Argo CD answered (or failed to). */
static void monitor_revision_done(void *arg, const struct argocd_result *res)
{
    struct monitor_rev_req *rq = arg;
    struct stage *st = rq->st;
    struct monitor_stage *ms = st->data;
    struct mon_hop *hop;
    const struct argocd_app *app = &res->app;
    struct monitor_rev_req **pp;
    char a[16], b[16];
    int64_t delay;

    for (pp = &ms->rev_reqs; *pp; pp = &(*pp)->next)
        if (*pp == rq) {
            *pp = rq->next;
            break;
        }
    ms->nreq--;
    hop = ms->stopping ? NULL : monitor_revision_hop(st, rq);
    free(rq);
    if (!hop)
        return;                   /* superseded, reset, or stopping */
    hop->rv->inflight = 0;
    hop->rv->at = wall_ms();
    if (res->have_app) {
        str_copy(hop->rv->seen, app->revision, sizeof(hop->rv->seen));
        str_copy(hop->rv->sync, argocd_sync_name(app->sync), sizeof(hop->rv->sync));
        str_copy(hop->rv->health, argocd_health_name(app->health), sizeof(hop->rv->health));
    }
    if (res->error == ADAPTER_EPERM) {
        str_copy(hop->rv->error, res->errmsg, sizeof(hop->rv->error));
        monitor_revision_fail(hop, MR_UNVERIFIED, "DeployedRevisionUnverified: cannot confirm that source "
                              "application %s (Argo CD %s) in %s runs %s: %s", hop->rv->app, hop->rv->cluster,
                              hop->source, monitor_revision_short(hop->tr->sha, a, sizeof(a)), res->errmsg);
    } else if (!res->error && res->have_app && hop->rv->digest[0]) {
        /* a spec-tracked promotion (kustomize image, helm parameter, merge
         * patch): its target revision is not the SHA; the application must
         * still carry the promoted spec, synced and healthy */
        char now[ARGOCD_DIGEST_SIZE];

        if (argocd_app_reached(res->doc, app, hop->rv->digest) && !argocd_app_busy(app)) {
            hop->rev = MR_CONFIRMED;
            hop->rv->error[0] = '\0';
            log_info("revision_confirmed", "tracker=%s env=%s gen=%lld cluster=%s app=%s digest=%s", hop->tr->name,
                     hop->source, (long long)hop->tr->generation, hop->rv->cluster, hop->rv->app, hop->rv->digest);
        } else if (argocd_sources_digest(res->doc, 0, now, sizeof(now)) == 0 && strcmp(now, hop->rv->digest) != 0) {
            hop->rv->error[0] = '\0';
            monitor_revision_fail(hop, MR_CHANGED, "DeployedRevisionChanged: source application %s no longer "
                                  "has the spec promoted for %s (its sources are %s, not %s)", hop->rv->app,
                                  monitor_revision_short(hop->tr->sha, a, sizeof(a)), now, hop->rv->digest);
        } else {
            snprintf(hop->rv->error, sizeof(hop->rv->error), "%s is %s and %s, its promoted spec not yet "
                     "compared and synced", hop->rv->app, hop->rv->sync, hop->rv->health);
            hop->rv->attempts++;
            delay = http_backoff_ms(hop->rv->attempts, MONITOR_REV_BASE_MS, MONITOR_REV_CAP_MS);
            log_info("revision_retry", "tracker=%s env=%s app=%s attempt=%d delay_ms=%lld error=%s", hop->tr->name,
                     hop->source, hop->rv->app, hop->rv->attempts, (long long)delay, log_q(hop->rv->error));
            hop->rv->tmr = loop_after(st->loop, delay, monitor_revision_retry, hop);
        }
    } else if (!res->error && res->have_app && argocd_app_at(app, hop->tr->sha) &&
               !(app->op_requested && app->op_requested_revision[0] &&
                 strcasecmp(app->op_requested_revision, hop->tr->sha) != 0) &&
               !(app->phase == ARGOCD_PHASE_RUNNING && app->op_revision[0] &&
                 strcasecmp(app->op_revision, hop->tr->sha) != 0)) {
        hop->rev = MR_CONFIRMED;
        hop->rv->error[0] = '\0';
        log_info("revision_confirmed", "tracker=%s env=%s gen=%lld cluster=%s app=%s sha=%.12s", hop->tr->name,
                 hop->source, (long long)hop->tr->generation, hop->rv->cluster, hop->rv->app, hop->tr->sha);
    } else if (!res->error && res->have_app && strcasecmp(app->revision, hop->tr->sha) != 0) {
        hop->rv->error[0] = '\0';
        monitor_revision_fail(hop, MR_CHANGED, "DeployedRevisionChanged: source application %s runs %s, not %s",
                              hop->rv->app, monitor_revision_short(app->revision, a, sizeof(a)),
                              monitor_revision_short(hop->tr->sha, b, sizeof(b)));
    } else if (!res->error && res->have_app && ((app->op_requested && app->op_requested_revision[0] &&
                                                 strcasecmp(app->op_requested_revision, hop->tr->sha) != 0) ||
                                                (app->phase == ARGOCD_PHASE_RUNNING && app->op_revision[0] &&
                                                 strcasecmp(app->op_revision, hop->tr->sha) != 0))) {
        hop->rv->error[0] = '\0';
        monitor_revision_fail(hop, MR_CHANGED, "DeployedRevisionChanged: source application %s is being synced "
                              "to %s, not %s", hop->rv->app,
                              monitor_revision_short(app->op_requested ? app->op_requested_revision
                                                                       : app->op_revision, a, sizeof(a)),
                              monitor_revision_short(hop->tr->sha, b, sizeof(b)));
    } else {
        /* a temporary error, or at the SHA but not (yet) Synced and Healthy */
        if (res->error)
            str_copy(hop->rv->error, res->errmsg, sizeof(hop->rv->error));
        else
            snprintf(hop->rv->error, sizeof(hop->rv->error), "%s is %s and %s at %s", hop->rv->app,
                     hop->rv->sync, hop->rv->health, monitor_revision_short(app->revision, a, sizeof(a)));
        hop->rv->attempts++;
        delay = http_backoff_ms(hop->rv->attempts, MONITOR_REV_BASE_MS, MONITOR_REV_CAP_MS);
        if (res->retry_after_ms > delay)
            delay = res->retry_after_ms;
        log_info("revision_retry", "tracker=%s env=%s app=%s attempt=%d delay_ms=%lld error=%s", hop->tr->name,
                 hop->source, hop->rv->app, hop->rv->attempts, (long long)delay, log_q(hop->rv->error));
        hop->rv->tmr = loop_after(st->loop, delay, monitor_revision_retry, hop);
    }
    monitor_evaluate(st, hop);
}

/* monitor_revision_ask - read hop's source application (unless a read is out). */
static void monitor_revision_ask(struct stage *st, struct mon_hop *hop)
{
    struct monitor_stage *ms = st->data;
    struct monitor_rev_req *rq;
    size_t n;

    if (hop->rev != MR_NONE && hop->rev != MR_PENDING)
        return;
    monitor_revision_text(hop);
    if (hop->rv->inflight || hop->rv->tmr)
        return;
    hop->rev = MR_PENDING;
    switch (monitor_revision_app(st, hop)) {
    case 0:                       /* decided: unverified (the caller evaluates) */
        return;
    case -1:                      /* the view cannot be read now */
        hop->rv->attempts++;
        hop->rv->tmr = loop_after(st->loop, http_backoff_ms(hop->rv->attempts, MONITOR_REV_BASE_MS,
                                                            MONITOR_REV_CAP_MS), monitor_revision_retry, hop);
        return;
    default:
        break;
    }
    n = strlen(hop->tr->name) + 1;
    rq = xmalloc(sizeof(*rq) + n);
    rq->st = st;
    rq->gen = hop->tr->generation;
    rq->seq = hop->rv->seq = ++monitor_rev_seq;
    str_copy(rq->source, hop->source, sizeof(rq->source));
    memcpy(rq->name, hop->tr->name, n);
    rq->next = ms->rev_reqs;
    ms->rev_reqs = rq;
    hop->rv->inflight = 1;
    ms->nreq++;
    log_debug("revision_check", "tracker=%s env=%s cluster=%s app=%s sha=%.12s", hop->tr->name, hop->source,
              hop->rv->cluster, hop->rv->app, hop->tr->sha);
    /* a call that cannot start (unknown cluster, a bad name) still calls
     * back, later, with ADAPTER_EPERM */
    argocd_get(&ms->actx, hop->rv->cluster, hop->rv->app, hop->rv->ns, hop->rv->project, monitor_revision_done, rq);
}

/* monitor_revision_settled - see monitor.h. */
int monitor_revision_settled(struct stage *st, struct mon_hop *hop)
{
    switch (hop->rev) {
    case MR_CONFIRMED:
    case MR_CHANGED:
    case MR_UNVERIFIED:
    case MR_SKIPPED:
        return 1;
    default:
        break;
    }
    if (!st->store) {
        hop->rev = MR_SKIPPED;
        log_warn("revision_unchecked", "tracker=%s env=%s reason=%s", hop->tr->name, hop->source,
                 log_q("no state dir: the source application is not known, the deployed revision is not "
                       "confirmed (a standalone run; nothing is promoted from it)"));
        return 1;
    }
    monitor_revision_ask(st, hop);
    return hop->rev != MR_NONE && hop->rev != MR_PENDING;
}

/* monitor_revision_void - see monitor.h. */
void monitor_revision_void(const struct mon_hop *hop, struct aggregate *a)
{
    char **r;
    int i;

    if (hop->rev != MR_CHANGED && hop->rev != MR_UNVERIFIED)
        return;
    r = xcalloc((size_t)a->nreasons + 1, sizeof(*r));
    r[0] = xstrdup(hop->rv->reason);
    for (i = 0; i < a->nreasons; i++)
        r[i + 1] = a->reasons[i];
    free(a->reasons);
    a->reasons = r;
    a->nreasons++;
    a->all_passed = 0;
    a->any_failed = 1;
    a->decided = 1;
}

/* monitor_revision_reset - see monitor.h. */
void monitor_revision_reset(struct stage *st, struct mon_hop *hop)
{
    hop->rev = MR_NONE;
    if (!hop->rv)
        return;
    loop_cancel(st->loop, hop->rv->tmr);
    free(hop->rv);                /* an answer still out finds no check; made again by the next */
    hop->rv = NULL;
}

/* monitor_revision_json - see monitor.h. */
cJSON *monitor_revision_json(const struct mon_hop *hop)
{
    cJSON *o;
    char ts[40];

    if (hop->rev == MR_NONE || hop->rev == MR_SKIPPED || hop->rev >= MR_COUNT)
        return NULL;
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "outcome", monitor_rev_names[hop->rev]);
    cJSON_AddStringToObject(o, "cluster", hop->rv->cluster);
    cJSON_AddStringToObject(o, "application", hop->rv->app);
    cJSON_AddStringToObject(o, "expected", hop->tr->sha);
    cJSON_AddStringToObject(o, "revision", hop->rv->seen);
    cJSON_AddStringToObject(o, "sync", hop->rv->sync);
    cJSON_AddStringToObject(o, "health", hop->rv->health);
    if (hop->rv->at > 0)
        cJSON_AddStringToObject(o, "checkedAt", time_format_iso(hop->rv->at, ts, sizeof(ts)));
    else
        cJSON_AddNullToObject(o, "checkedAt");
    cJSON_AddNumberToObject(o, "attempts", hop->rv->attempts);
    if (hop->rv->error[0])
        cJSON_AddStringToObject(o, "error", hop->rv->error);
    else
        cJSON_AddNullToObject(o, "error");
    if (hop->rv->reason[0])
        cJSON_AddStringToObject(o, "reason", hop->rv->reason);
    else
        cJSON_AddNullToObject(o, "reason");
    return o;
}

/* monitor_revision_restore - see monitor.h. The record was checked by its
 * decoder on load (domain/rec_monitor.c): outcome is one of the words. */
void monitor_revision_restore(struct mon_hop *hop, const cJSON *o)
{
    const char *outcome = json_str(o, "outcome", NULL), *s;
    const cJSON *n;
    int i;

    if (!outcome)
        return;
    for (i = MR_CONFIRMED; i <= MR_UNVERIFIED; i++)
        if (strcmp(outcome, monitor_rev_names[i]) == 0)
            break;
    if (i > MR_UNVERIFIED)
        return;                   /* pending: asked again */
    monitor_revision_text(hop);
    hop->rev = (enum mon_rev)i;
    str_copy(hop->rv->cluster, json_str(o, "cluster", ""), sizeof(hop->rv->cluster));
    str_copy(hop->rv->app, json_str(o, "application", ""), sizeof(hop->rv->app));
    str_copy(hop->rv->seen, json_str(o, "revision", ""), sizeof(hop->rv->seen));
    str_copy(hop->rv->sync, json_str(o, "sync", ""), sizeof(hop->rv->sync));
    str_copy(hop->rv->health, json_str(o, "health", ""), sizeof(hop->rv->health));
    str_copy(hop->rv->error, json_str(o, "error", ""), sizeof(hop->rv->error));
    str_copy(hop->rv->reason, json_str(o, "reason", ""), sizeof(hop->rv->reason));
    s = json_str(o, "checkedAt", NULL);
    hop->rv->at = s && time_parse_iso(s) > 0 ? time_parse_iso(s) : 0;
    n = cJSON_GetObjectItemCaseSensitive(o, "attempts");
    hop->rv->attempts = cJSON_IsNumber(n) ? n->valueint : 0;
}

/* monitor_revision_audit - see monitor.h. */
int monitor_revision_audit(struct stage *st, struct mon_hop *hop)
{
    const char *reason = hop->rev == MR_CHANGED ? "DeployedRevisionChanged" : "DeployedRevisionUnverified";
    char key[PROMO_KEY_SIZE];
    int rc;

    if ((hop->rev != MR_CHANGED && hop->rev != MR_UNVERIFIED) || !hop->rv || hop->rv->audited || !st->store ||
        st->dry_run)
        return 0;
    if (!promo_key(hop->tr->name, hop->tr->sha, hop->source, hop->target, "revision", 1, key, sizeof(key)))
        return -1;
    rc = audit_has_key(st->store, key, reason);
    if (rc == 0)
        rc = audit_append(st->store, hop->tr->name, "Warning", reason, hop->rv->reason, key) < 0 ? -1 : 0;
    if (rc < 0) {
        log_error("audit_failed", "tracker=%s env=%s key=%s effect=%s", hop->tr->name, hop->source, key,
                  log_q("not forwarded yet: retried at the next message"));
        return -1;
    }
    hop->rv->audited = 1;
    return 0;
}

/* monitor_revision_waiting - see monitor.h. */
cJSON *monitor_revision_waiting(const struct mon_hop *hop)
{
    char line[1024], a[16];

    if (hop->rev != MR_PENDING)
        return NULL;
    snprintf(line, sizeof(line), "Argo CD to confirm that %s (%s) in %s runs %s%s%s%s",
             hop->rv->app[0] ? hop->rv->app : "the source application", hop->rv->cluster[0] ? hop->rv->cluster
             : "default", hop->source, monitor_revision_short(hop->tr->sha, a, sizeof(a)),
             hop->rv->error[0] ? " (last: " : "", hop->rv->error, hop->rv->error[0] ? ")" : "");
    return cJSON_CreateString(line);
}

/* monitor_revision_stop - see monitor.h. */
void monitor_revision_stop(struct stage *st)
{
    struct monitor_stage *ms = st->data;

    while (ms->rev_reqs) {
        struct monitor_rev_req *rq = ms->rev_reqs;
        ms->rev_reqs = rq->next;
        free(rq);
    }
}
