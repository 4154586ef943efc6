/* promoter_job.c - one hop's side effects as a sequence of idempotent steps.
 *
 * A job runs the steps its mode needs that the hop's entry in the promoter
 * record does not mark done, one at a time, each asynchronous inside the
 * stage's loop, and records each in "steps" as soon as it is known done:
 *
 *   promote   argocdUpdated  GET the target application; PATCH it to the
 *                            head SHA unless spec.source.targetRevision is it
 *                            (the default); or, for the other strategies of
 *                            spec.promotion.argocd.update (adapters/argocd.h,
 *                            argocd_change_patch), PATCH what the application
 *                            as read lacks, and keep the digest of its
 *                            source(s) then in the hop's argocd.specDigest
 *             argocdSynced   GET it again; POST a sync of the SHA unless it is
 *                            Synced+Healthy there or an operation for the SHA
 *                            is under way; for the other strategies a sync
 *                            naming no revision, unless the target is reached
 *                            (argocd_app_reached) or an operation is under way
 *                            Every Argo CD call names the policy's project and
 *                            appNamespace (when given).
 *             labels         add the policy's labels, remove the others
 *             status         commit status success on the head SHA
 *             comment        the summary comment, edited in place
 *             audited        the Promoted audit event (looked up by key first)
 *             recorded       the PromotionRecord appended to "promotions" and
 *                            phase "done", in one write: the last one, since
 *                            it is what moves the tracker on to the target
 *                            (domain/view.c), after which no message for this
 *                            hop comes again to finish anything
 *   failure   status (failure), comment, audited (TestsFailed; the Failed
 *             PromotionRecord is written with this step, once per hop key)
 *   await     awaitAudited (AwaitingApproval), statusPending (status pending)
 *
 * A temporary error (ADAPTER_ETEMP, a record that cannot be written) retries
 * the step after a backoff (Retry-After when the server gave one), counting
 * the step's attempts in the record; after PROMOTER_MAX_ATTEMPTS, or on a
 * permanent error, an Argo CD step fails the hop (phase "failed", lastError,
 * one PromotionFailed event). A GitHub step never undoes or blocks a
 * promotion Argo CD already has: its permanent error (or exhaustion) is
 * logged, kept in lastError and githubErrors, and the job goes on. Before
 * each Argo CD write the tracker is read again: a new generation or head SHA
 * abandons the job (never promote what was not tested). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adapters/argocd.h"
#include "adapters/ghpr.h"
#include "domain/audit.h"
#include "util/http.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/util.h"
#include "domain/wasync.h"
#include "promoter/promoter.h"
#include "util/json.h"

/* promoter_job_seq - the steps of mode, in order, PS_FINISH ended. */
static const int *promoter_job_seq(enum prom_mode mode)
{
    static const int promote[] = {PS_ARGOCD_UPDATED, PS_ARGOCD_SYNCED, PS_LABELS, PS_STATUS, PS_COMMENT,
                                  PS_AUDIT, PS_RECORD, PS_FINISH};
    static const int failure[] = {PS_STATUS, PS_COMMENT, PS_AUDIT, PS_FINISH};
    static const int await[] = {PS_AWAIT_AUDIT, PS_STATUS_PENDING, PS_FINISH};

    return mode == PM_PROMOTE ? promote : mode == PM_REPORT_FAILURE ? failure : await;
}

/* promoter_job_next - the first step of the mode not done in hop. */
static int promoter_job_next(enum prom_mode mode, const cJSON *hop)
{
    const int *s;

    for (s = promoter_job_seq(mode); *s != PS_FINISH; s++)
        if (!promoter_step_done(hop, prom_step_name(*s)))
            return *s;
    return PS_FINISH;
}

/* promoter_job_steps - the remaining step names (for --dry-run). */
cJSON *promoter_job_steps(enum prom_mode mode, const cJSON *hop)
{
    cJSON *a = cJSON_CreateArray();
    const int *s;

    for (s = promoter_job_seq(mode); *s != PS_FINISH; s++)
        if (!hop || !promoter_step_done(hop, prom_step_name(*s)))
            cJSON_AddItemToArray(a, cJSON_CreateString(prom_step_name(*s)));
    return a;
}

static void promoter_job_run(struct prom_job *j);

/* promoter_job_hop - the job's entry in its record (always there). */
static cJSON *promoter_job_hop(const struct prom_job *j)
{
    return promoter_hop(j->rec, j->plan.source);
}

/* promoter_job_written - log a failed write of the record (rc < 0).
 * Returns 0 for rc 0, else -1. */
static int promoter_job_written(const struct prom_job *j, int rc)
{
    if (rc >= 0)
        return 0;
    log_error("record_write_failed", "tracker=%s hop=%s error=%s", j->plan.t.name, j->plan.source,
              log_q(strerror(-rc)));
    return -1;
}

/* promoter_job_save - write the record. Returns 0, or -1 (logged). */
static int promoter_job_save(struct prom_job *j)
{
    return promoter_job_written(j, store_write(j->st->store, PROMOTER_AREA, j->plan.t.name, j->rec));
}

/* promoter_job_free - release j. */
static void promoter_job_free(void *v)
{
    struct prom_job *j = v;

    promoter_plan_free(&j->plan);
    cJSON_Delete(j->rec);
    free(j);
}

/* promoter_job_finish - the job ends: out of the in-flight set, freed. */
static void promoter_job_finish(struct prom_job *j)
{
    struct promoter_stage *ps = j->st->data;

    j->done = 1;
    if (j->tmr)
        loop_cancel(j->st->loop, j->tmr);
    j->tmr = NULL;
    if (strmap_get(ps->jobs, j->plan.t.name) == j)
        strmap_del(ps->jobs, j->plan.t.name);
    promoter_job_free(j);
}

/* promoter_job_retry_tick - the backoff is over: run again. */
static void promoter_job_retry_tick(struct loop *l, void *arg)
{
    struct prom_job *j = arg;

    j->tmr = NULL;
    promoter_job_run(j);
}

/* promoter_job_audit_once - append an event unless one with key and reason
 * is already in the log. Returns 0, or -1 (logged) when the log cannot be
 * read or written. */
static int promoter_job_audit_once(struct prom_job *j, const char *type, const char *reason, const char *msg)
{
    int rc = audit_has_key(j->st->store, j->plan.key, reason);

    if (rc == 0) {
        crash_point("promoter.before_audit");
        rc = audit_append(j->st->store, j->plan.t.name, type, reason, msg, j->plan.key);
        if (rc == 0)
            crash_point("promoter.after_audit");
    } else if (rc > 0) {
        log_info("audit_present", "tracker=%s hop=%s reason=%s key=%s effect=%s", j->plan.t.name,
                 j->plan.source, reason, j->plan.key, log_q("not appended again"));
        rc = 0;
    }
    if (rc < 0)
        log_error("audit_failed", "tracker=%s reason=%s error=%s", j->plan.t.name, reason, log_q(strerror(-rc)));
    return rc < 0 ? -1 : 0;
}

/* promoter_job_fail - the promotion failed for good: record, audit once, end. */
static void promoter_job_fail(struct prom_job *j, const char *why)
{
    struct promoter_stage *ps = j->st->data;
    cJSON *hop = promoter_job_hop(j);
    char ts[40], *msg;

    ps->failed++;
    log_error("promotion_failed", "tracker=%s hop=%s target=%s sha=%.12s key=%s error=%s effect=%s",
              j->plan.t.name, j->plan.source, j->plan.target, j->plan.t.head_sha, j->plan.key, log_q(why),
              log_q("phase failed; promoctl retry starts it again"));
    promoter_phase_move(hop, PHE_GAVE_UP);
    promoter_set(hop, "failure", cJSON_CreateString("promotion"));
    promoter_set(hop, "failedAt", cJSON_CreateString(time_format_iso(wall_ms(), ts, sizeof(ts))));
    promoter_set(hop, "lastError", cJSON_CreateString(why));
    promoter_set(hop, "nextRetryAt", cJSON_CreateNull());
    promoter_record_failed(j->rec, &j->plan, "promotion", why, wall_ms());   /* with the phase, one write */
    promoter_job_save(j);
    msg = xasprintf("promotion %s -> %s at %.7s failed: %s", j->plan.source, j->plan.target,
                    j->plan.t.head_sha, why);
    if (promoter_job_audit_once(j, "Warning", "PromotionFailed", msg) == 0) {
        promoter_step_set(hop, prom_step_name(PS_FAILURE_AUDITED));
        promoter_job_save(j);
    }
    free(msg);
    promoter_job_finish(j);
}

/* promoter_job_github_giveup - a GitHub step that cannot be done: keep why,
 * mark it done (it never blocks the promotion), go on. */
static void promoter_job_github_giveup(struct prom_job *j, const char *why)
{
    cJSON *hop = promoter_job_hop(j), *ge = cJSON_GetObjectItemCaseSensitive(hop, "githubErrors");
    const char *step = prom_step_name(j->step);

    log_warn("github_failed", "tracker=%s hop=%s step=%s error=%s effect=%s", j->plan.t.name, j->plan.source,
             step, log_q(why), log_q("recorded; the promotion goes on"));
    if (!cJSON_IsObject(ge)) {
        ge = cJSON_CreateObject();
        promoter_set(hop, "githubErrors", ge);
    }
    promoter_set(ge, step, cJSON_CreateString(why));
    promoter_set(hop, "lastError", cJSON_CreateString(why));
    promoter_set(hop, "attempts", cJSON_CreateNumber(0));
    promoter_set(hop, "nextRetryAt", cJSON_CreateNull());
    promoter_step_set(hop, step);
    j->label_i = -1;
    j->look = 0;
    if (promoter_job_save(j) < 0) {
        j->tmr = loop_after(j->st->loop, PROMOTER_BACKOFF_BASE, promoter_job_retry_tick, j);
        return;
    }
    promoter_job_run(j);
}

/* promoter_job_error - a step did not succeed: retry it later, or give up. */
static void promoter_job_error(struct prom_job *j, int error, const char *why, int64_t retry_after_ms)
{
    cJSON *hop = promoter_job_hop(j);
    int argo = j->step == PS_ARGOCD_UPDATED || j->step == PS_ARGOCD_SYNCED;
    int local = j->step == PS_RECORD || j->step == PS_AUDIT || j->step == PS_AWAIT_AUDIT ||
                j->step == PS_FINISH;     /* the state dir: wait for it, never give up */
    int attempts = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(hop, "attempts"));
    int64_t delay;
    char ts[40];

    if (attempts < 0 || attempts > 1000)
        attempts = 0;
    attempts++;
    if (local && attempts > PROMOTER_MAX_ATTEMPTS)
        attempts = PROMOTER_MAX_ATTEMPTS;
    if (!local && (error != ADAPTER_ETEMP || attempts >= PROMOTER_MAX_ATTEMPTS)) {
        char *full = error == ADAPTER_ETEMP ? xasprintf("%s (gave up after %d attempts)", why, attempts)
                                            : xstrdup(why);
        metrics_inc("promo_promotion_failures_total", "reason", argo ? "argocd" : "github");
        if (argo)
            promoter_job_fail(j, full);
        else
            promoter_job_github_giveup(j, full);
        free(full);
        return;
    }
    if (j->step == PS_LABELS || j->step == PS_STATUS || j->step == PS_STATUS_PENDING)
        j->look = 1;                      /* the failed try may have been done */
    delay = retry_after_ms > 0 ? retry_after_ms
                               : http_backoff_ms(attempts, PROMOTER_BACKOFF_BASE, PROMOTER_BACKOFF_CAP);
    promoter_set(hop, "attempts", cJSON_CreateNumber(attempts));
    promoter_set(hop, "lastError", cJSON_CreateString(why));
    promoter_set(hop, "nextRetryAt", cJSON_CreateString(time_format_iso(wall_ms() + delay, ts, sizeof(ts))));
    promoter_job_save(j);
    metrics_inc("promo_promotion_retries_total", "step", prom_step_name(j->step));
    log_warn("step_retry", "tracker=%s hop=%s step=%s attempt=%d delay_ms=%lld error=%s", j->plan.t.name,
             j->plan.source, prom_step_name(j->step), attempts, (long long)delay, log_q(why));
    j->tmr = loop_after(j->st->loop, delay, promoter_job_retry_tick, j);
}

/* promoter_job_saved - the record with the step marked done is on disk
 * (wasync callback, in the loop): go on to the next step. */
static void promoter_job_saved(void *arg, int rc)
{
    struct prom_job *j = arg;

    j->inflight = 0;
    if (promoter_job_written(j, rc) < 0) {
        promoter_job_error(j, ADAPTER_ETEMP, "cannot write the promoter record", 0);
        return;
    }
    if (j->step == PS_COMMENT && j->plan.mode == PM_PROMOTE)
        crash_point("promoter.after_github");
    promoter_job_run(j);
}

/* promoter_job_step_ok - the current step is done: record it (by a writer
 * thread: the loop goes on with other jobs meanwhile) and go on. */
static void promoter_job_step_ok(struct prom_job *j)
{
    struct promoter_stage *ps = j->st->data;
    cJSON *hop = promoter_job_hop(j);

    promoter_step_set(hop, prom_step_name(j->step));
    j->look = 0;
    if (cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(hop, "attempts")) > 0)
        promoter_set(hop, "lastError", cJSON_CreateNull());     /* the retried step made it */
    promoter_set(hop, "attempts", cJSON_CreateNumber(0));
    promoter_set(hop, "nextRetryAt", cJSON_CreateNull());
    j->inflight = 1;
    if (wasync_write(ps->wa, PROMOTER_AREA, j->plan.t.name, j->rec, promoter_job_saved, j) < 0)
        promoter_job_saved(j, -EIO);
}

/* promoter_job_current - 1 when the tracker on disk still has the job's
 * generation and head SHA, 0 when it moved on, -1 when it cannot be read. */
static int promoter_job_current(struct prom_job *j)
{
    struct tracker t;
    char err[256];
    int rc = tracker_read(j->st->store, j->plan.t.name, NULL, &t, err, sizeof(err));

    if (rc == -ENOENT || rc == -EBADMSG)
        return 0;
    if (rc < 0)
        return -1;
    return t.generation == j->plan.t.generation && strcasecmp(t.head_sha, j->plan.t.head_sha) == 0;
}

/* promoter_job_guard - before an Argo CD write: 1 go on; 0 the job ended
 * (superseded) or waits (tracker unreadable). */
static int promoter_job_guard(struct prom_job *j)
{
    struct promoter_stage *ps = j->st->data;
    int cur = promoter_job_current(j);

    if (cur > 0)
        return 1;
    if (cur < 0) {
        promoter_job_error(j, ADAPTER_ETEMP, "cannot read the tracker", 0);
        return 0;
    }
    ps->stale++;
    log_warn("superseded", "tracker=%s hop=%s gen=%lld sha=%.12s effect=%s", j->plan.t.name, j->plan.source,
             (long long)j->plan.t.generation, j->plan.t.head_sha,
             log_q("promotion abandoned: the tracker has a new generation or head SHA"));
    promoter_job_finish(j);
    return 0;
}

/* promoter_job_digest - keep the digest of app's source(s) as the change
 * left them in the hop (argocd.specDigest): what the sync step and
 * promo-watcher compare status.sync.comparedTo with. Returns 0, or -1 (why
 * in err) when the answer has no source. */
static int promoter_job_digest(struct prom_job *j, const cJSON *app, char *err, size_t errlen)
{
    cJSON *a = cJSON_GetObjectItemCaseSensitive(promoter_job_hop(j), "argocd");
    char d[ARGOCD_DIGEST_SIZE];

    if (!argocd_change_tracked(&j->plan.change))
        return 0;
    if (!app || argocd_sources_digest(app, 0, d, sizeof(d)) < 0) {
        snprintf(err, errlen, "argocd: cluster %s: application %s: the answer has no spec.source(s)",
                 j->plan.cluster, j->plan.app);
        return -1;
    }
    if (!cJSON_IsObject(a)) {
        a = cJSON_CreateObject();
        promoter_set(promoter_job_hop(j), "argocd", a);
    }
    promoter_set(a, "specDigest", cJSON_CreateString(d));
    return 0;
}

/* promoter_job_argocd_write_done - the answer to the update or the sync. */
static void promoter_job_argocd_write_done(void *arg, const struct argocd_result *res)
{
    struct prom_job *j = arg;
    int update = j->step == PS_ARGOCD_UPDATED;
    char err[256];

    j->inflight = 0;
    if (res->error) {
        promoter_job_error(j, res->error, res->errmsg, res->retry_after_ms);
        return;
    }
    crash_point(update ? "promoter.after_argocd_update" : "promoter.after_argocd_sync");
    if (update) {
        char *patch = NULL;
        const char *type;
        /* the answer is the patched application: it must carry the change now */
        if (argocd_change_tracked(&j->plan.change) &&
            argocd_change_patch(res->doc, &j->plan.change, &patch, &type, err, sizeof(err)) != 1) {
            free(patch);
            promoter_job_error(j, ADAPTER_ETEMP, "argocd: the patched application does not carry the change; "
                               "looking again", 0);
            return;
        }
        if (promoter_job_digest(j, res->doc, err, sizeof(err)) < 0) {
            promoter_job_error(j, ADAPTER_ETEMP, err, 0);
            return;
        }
    }
    log_info(update ? "argocd_updated" : "argocd_sync_started", "tracker=%s cluster=%s app=%s update=%s revision=%s",
             j->plan.t.name, j->plan.cluster, j->plan.app, argocd_change_kind_name(j->plan.change.kind),
             argocd_change_tracked(&j->plan.change) && !update ? "(the application's)" : j->plan.change.value
             ? j->plan.change.value : "");
    promoter_job_step_ok(j);
}

/* promoter_job_update - the update step, the application read: the change
 * is there (done), or PATCH it. */
static void promoter_job_update(struct prom_job *j, const struct argocd_result *res)
{
    struct promoter_stage *ps = j->st->data;
    const char *sha = j->plan.t.head_sha, *type = "merge";
    char *patch, err[256];
    int rc;

    if (!argocd_change_tracked(&j->plan.change)) {
        if (strcasecmp(res->app.target_revision, sha) == 0) {
            log_info("argocd_at_revision", "tracker=%s app=%s revision=%s effect=%s", j->plan.t.name,
                     j->plan.app, sha, log_q("no update needed"));
            promoter_job_step_ok(j);
            return;
        }
        patch = argocd_patch_default(sha);
    } else {
        rc = argocd_change_patch(res->doc, &j->plan.change, &patch, &type, err, sizeof(err));
        if (rc < 0) {
            char *why = xasprintf("argocd: cluster %s: application %s: %s", j->plan.cluster, j->plan.app, err);
            promoter_job_error(j, ADAPTER_EPERM, why, 0);
            free(why);
            return;
        }
        if (rc == 1) {
            if (promoter_job_digest(j, res->doc, err, sizeof(err)) < 0) {
                promoter_job_error(j, ADAPTER_ETEMP, err, 0);
                return;
            }
            log_info("argocd_has_change", "tracker=%s app=%s update=%s effect=%s", j->plan.t.name, j->plan.app,
                     argocd_change_kind_name(j->plan.change.kind), log_q("no update needed"));
            promoter_job_step_ok(j);
            return;
        }
    }
    if (!promoter_job_guard(j)) {
        free(patch);
        return;
    }
    crash_point("promoter.before_argocd_update");
    j->inflight = 1;
    argocd_update(&ps->actx, j->plan.cluster, j->plan.app, j->plan.app_namespace, j->plan.project, patch, type,
                  promoter_job_argocd_write_done, j);
    free(patch);
}

/* promoter_job_get_done - the application as read before the update or the sync. */
static void promoter_job_get_done(void *arg, const struct argocd_result *res)
{
    struct prom_job *j = arg;
    struct promoter_stage *ps = j->st->data;
    const char *sha = j->plan.t.head_sha;
    int tracked = argocd_change_tracked(&j->plan.change);
    const char *digest = json_str(cJSON_GetObjectItemCaseSensitive(promoter_job_hop(j), "argocd"), "specDigest", "");

    j->inflight = 0;
    if (res->error || !res->have_app || !res->doc) {
        promoter_job_error(j, res->error ? res->error : ADAPTER_ETEMP,
                           res->error ? res->errmsg : "Argo CD answered without an application",
                           res->retry_after_ms);
        return;
    }
    if (j->step == PS_ARGOCD_UPDATED) {
        promoter_job_update(j, res);
        return;
    }
    if (tracked && !digest[0]) {
        /* updated by a promoter that kept no digest: the update step again */
        cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(promoter_job_hop(j), "steps"),
                                                prom_step_name(PS_ARGOCD_UPDATED));
        promoter_job_run(j);
        return;
    }
    if (tracked ? argocd_app_reached(res->doc, &res->app, digest) || argocd_app_busy(&res->app)
                : argocd_app_at(&res->app, sha) || argocd_app_syncing(&res->app, sha)) {
        log_info("argocd_sync_skipped", "tracker=%s app=%s revision=%s sync=%s health=%s phase=%s effect=%s",
                 j->plan.t.name, j->plan.app, tracked ? res->app.revision : sha, argocd_sync_name(res->app.sync),
                 argocd_health_name(res->app.health), argocd_phase_name(res->app.phase),
                 log_q("already there or under way"));
        promoter_job_step_ok(j);
        return;
    }
    if (!promoter_job_guard(j))
        return;
    crash_point("promoter.before_argocd_sync");
    j->inflight = 1;
    argocd_sync(&ps->actx, j->plan.cluster, j->plan.app, j->plan.app_namespace, j->plan.project,
                tracked ? NULL : sha, promoter_job_argocd_write_done, j);
}

/* promoter_job_gh_done - the answer to a GitHub step. */
static void promoter_job_gh_done(void *arg, const struct ghpr_result *res)
{
    struct prom_job *j = arg;
    cJSON *hop = promoter_job_hop(j);

    j->inflight = 0;
    if (res->error) {
        promoter_job_error(j, res->error, res->errmsg, res->retry_after_ms);
        return;
    }
    if (j->step == PS_LABELS) {
        j->label_i++;
        if (j->label_i < cJSON_GetArraySize(j->plan.remove_labels)) {
            promoter_job_run(j);
            return;
        }
        j->label_i = -1;
    } else if (j->step == PS_COMMENT) {
        promoter_set(hop, "commentId", cJSON_CreateNumber((double)res->comment_id));
        if (res->comment_url[0])
            promoter_set(hop, "commentUrl", cJSON_CreateString(res->comment_url));
    } else if (j->step == PS_STATUS_PENDING) {
        promoter_set(hop, "statusPending", cJSON_CreateTrue());
    }
    promoter_job_step_ok(j);
}

/* promoter_job_gh_looked - what GitHub has of a labels or status step that
 * may have been done before (j->look): there, it is done; else send it. */
static void promoter_job_gh_looked(void *arg, const struct ghpr_result *res)
{
    struct prom_job *j = arg;

    j->inflight = 0;
    if (res->error == ADAPTER_ETEMP) {
        promoter_job_error(j, res->error, res->errmsg, res->retry_after_ms);
        return;
    }
    j->look = 0;
    if (res->error || !res->present) {     /* a refused lookup: the step itself decides */
        if (res->error)
            log_warn("github_lookup_failed", "tracker=%s hop=%s step=%s error=%s effect=%s", j->plan.t.name,
                     j->plan.source, prom_step_name(j->step), log_q(res->errmsg),
                     log_q("sent without looking"));
        promoter_job_run(j);
        return;
    }
    log_info("github_present", "tracker=%s hop=%s step=%s effect=%s", j->plan.t.name, j->plan.source,
             prom_step_name(j->step), log_q("done before; not sent again"));
    promoter_job_gh_done(j, res);         /* as if sent: labels go on with the removals */
}

/* promoter_job_labels - the next label request: add them all, then remove
 * each (j->label_i -1: the add). */
static void promoter_job_labels(struct prom_job *j)
{
    struct promoter_stage *ps = j->st->data;
    const char *repo = j->plan.t.repository;
    const char *labels[GHPR_MAX_LABELS];
    const cJSON *l;
    size_t n = 0;

    j->inflight = 1;
    if (j->label_i < 0) {
        cJSON_ArrayForEach(l, j->plan.add_labels)
            if (n < GHPR_MAX_LABELS)
                labels[n++] = l->valuestring;
        if (j->look)
            ghpr_has_labels(&ps->actx, repo, (long)j->plan.t.number, labels, n, promoter_job_gh_looked, j);
        else
            ghpr_add_labels(&ps->actx, repo, (long)j->plan.t.number, labels, n, promoter_job_gh_done, j);
        return;
    }
    if (j->label_i >= cJSON_GetArraySize(j->plan.remove_labels)) {
        j->inflight = 0;
        j->label_i = -1;
        promoter_job_step_ok(j);
        return;
    }
    l = cJSON_GetArrayItem(j->plan.remove_labels, j->label_i);
    ghpr_remove_label(&ps->actx, repo, (long)j->plan.t.number, l->valuestring, promoter_job_gh_done, j);
}

/* promoter_job_status - the commit status of the mode. */
static void promoter_job_status(struct prom_job *j)
{
    struct promoter_stage *ps = j->st->data;
    const char *state, *url;
    char *desc;

    if (j->plan.mode == PM_PROMOTE) {
        state = "success";
        url = promoter_first_url(j->plan.runs, 0);
        desc = xasprintf("promoted %s -> %s: %d test%s", j->plan.source, j->plan.target,
                         cJSON_GetArraySize(j->plan.runs), cJSON_GetArraySize(j->plan.runs) == 1 ? "" : "s");
    } else if (j->plan.mode == PM_REPORT_FAILURE) {
        state = "failure";
        url = promoter_first_url(j->plan.runs, 1);
        if (j->plan.reasons && strncmp(j->plan.reasons, "DeployedRevision", 16) == 0)
            desc = xstrdup(j->plan.reasons);     /* the tests passed, but do not count (promo-monitor) */
        else
            desc = promoter_failed_description(j->plan.runs);
    } else {
        state = "pending";
        url = promoter_first_url(j->plan.runs, 0);
        desc = xasprintf("awaiting approval to promote %s -> %s", j->plan.source, j->plan.target);
    }
    j->inflight = 1;
    if (j->look)
        ghpr_has_status(&ps->actx, j->plan.t.repository, j->plan.t.head_sha, state, desc, j->plan.context,
                        promoter_job_gh_looked, j);
    else
        ghpr_set_status(&ps->actx, j->plan.t.repository, j->plan.t.head_sha, state, url, desc,
                        j->plan.context, promoter_job_gh_done, j);
    free(desc);
}

/* promoter_job_comment - the summary comment, edited in place. */
static void promoter_job_comment(struct prom_job *j)
{
    struct promoter_stage *ps = j->st->data;
    int n = cJSON_GetArraySize(j->plan.runs), i = 0;
    struct ghpr_test_row *rows = xcalloc((size_t)n + 1, sizeof(*rows));
    struct ghpr_hop hop = {j->plan.source, j->plan.target, j->plan.t.head_sha,
                           j->plan.mode == PM_PROMOTE ? "promoted" : "failed"};
    const cJSON *r, *id = cJSON_GetObjectItemCaseSensitive(promoter_job_hop(j), "commentId");
    char *body, *full;

    cJSON_ArrayForEach(r, j->plan.runs) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(r, "durationMs");
        rows[i].name = json_str(r, "name", "");
        rows[i].provider = json_str(r, "provider", "");
        rows[i].required = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "required"));
        rows[i].outcome = json_str(r, "status", "");
        rows[i].duration_ms = cJSON_IsNumber(d) ? (int64_t)d->valuedouble : 0;
        rows[i].url = json_str(r, "url", "")[0] ? json_str(r, "url", "") : NULL;
        i++;
    }
    body = ghpr_render_summary(j->plan.t.name, &hop, rows, (size_t)i);
    free(rows);
    if (!body) {
        promoter_job_github_giveup(j, "the summary comment cannot be rendered (invalid marker)");
        return;
    }
    if (j->plan.comment_extra && strlen(body) + strlen(j->plan.comment_extra) + 2 < GHPR_BODY_MAX)
        full = xasprintf("%s\n%s", body, j->plan.comment_extra);
    else
        full = xstrdup(body);
    free(body);
    j->inflight = 1;
    ghpr_upsert_comment(&ps->actx, j->plan.t.repository, (long)j->plan.t.number, j->plan.t.name, full,
                        cJSON_IsNumber(id) ? (int64_t)id->valuedouble : 0, promoter_job_gh_done, j);
    free(full);
}

/* promoter_job_record - append the PromotionRecord, with the step and phase
 * done, in one write. Returns 0, or -1 with the record as it was. */
static int promoter_job_record(struct prom_job *j)
{
    cJSON *prom = cJSON_GetObjectItemCaseSensitive(j->rec, "promotions");
    char ts[40];

    if (!cJSON_IsArray(prom)) {
        cJSON_DeleteItemFromObjectCaseSensitive(j->rec, "promotions");
        prom = cJSON_AddArrayToObject(j->rec, "promotions");
    }
    cJSON_AddItemToArray(prom, promoter_promotion_json(&j->plan, wall_ms()));
    promoter_step_set(promoter_job_hop(j), prom_step_name(PS_RECORD));
    promoter_phase_move(promoter_job_hop(j), PHE_RECORDED);
    promoter_set(promoter_job_hop(j), "doneAt", cJSON_CreateString(time_format_iso(wall_ms(), ts, sizeof(ts))));
    crash_point("promoter.before_record");
    if (promoter_job_save(j) < 0) {            /* as it was: retried */
        cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(promoter_job_hop(j), "steps"),
                                                prom_step_name(PS_RECORD));
        cJSON_DeleteItemFromArray(prom, cJSON_GetArraySize(prom) - 1);
        promoter_phase_move(promoter_job_hop(j), PHE_UNRECORDED);
        cJSON_DeleteItemFromObjectCaseSensitive(promoter_job_hop(j), "doneAt");
        return -1;
    }
    crash_point("promoter.after_record");
    return 0;
}

/* promoter_job_audit - the mode's audit event, once. Returns 0 or -1. */
static int promoter_job_audit(struct prom_job *j)
{
    char *msg;
    int rc;

    if (j->step == PS_AWAIT_AUDIT) {
        msg = xasprintf("tests passed; awaiting approval to promote %s -> %s at %.7s (promoctl approve %s)",
                        j->plan.source, j->plan.target, j->plan.t.head_sha, j->plan.t.name);
        rc = promoter_job_audit_once(j, "Normal", "AwaitingApproval", msg);
    } else if (j->plan.mode == PM_PROMOTE) {
        msg = promoter_promoted_message(j->plan.source, j->plan.target, j->plan.t.head_sha, j->plan.policy,
                                        j->plan.runs);
        rc = promoter_job_audit_once(j, "Normal", "Promoted", msg);
    } else {
        msg = xstrdup(j->plan.reasons && j->plan.reasons[0] ? j->plan.reasons : "a required test failed");
        rc = promoter_job_audit_once(j, "Warning", "TestsFailed", msg);
    }
    free(msg);
    return rc;
}

/* promoter_job_finish_ok - every step done: the phase says so. */
static void promoter_job_finish_ok(struct prom_job *j)
{
    struct promoter_stage *ps = j->st->data;
    cJSON *hop = promoter_job_hop(j);
    char ts[40];

    if (j->plan.mode == PM_PROMOTE) {
        if (promoter_phase(hop) != PH_DONE) {      /* recorded by an older promoter */
            promoter_phase_move(hop, PHE_RECORDED);
            promoter_set(hop, "doneAt", cJSON_CreateString(time_format_iso(wall_ms(), ts, sizeof(ts))));
            if (promoter_job_save(j) < 0) {
                promoter_job_error(j, ADAPTER_ETEMP, "cannot write the promoter record", 0);
                return;
            }
        }
        ps->promoted++;
        metrics_inc("promo_promotions_total", "target", j->plan.target);
        log_info("promoted", "tracker=%s source=%s target=%s sha=%.12s key=%s by=%s", j->plan.t.name,
                 j->plan.source, j->plan.target, j->plan.t.head_sha, j->plan.key,
                 log_q(j->plan.approved_by ? j->plan.approved_by : PROMOTER_BY));
    } else if (j->plan.mode == PM_REPORT_FAILURE) {
        log_info("failure_reported", "tracker=%s source=%s target=%s sha=%.12s reasons=%s", j->plan.t.name,
                 j->plan.source, j->plan.target, j->plan.t.head_sha, log_q(j->plan.reasons));
    } else {
        ps->awaiting++;
        log_info("awaiting_approval", "tracker=%s source=%s target=%s sha=%.12s hint=%s", j->plan.t.name,
                 j->plan.source, j->plan.target, j->plan.t.head_sha,
                 log_q("promoctl approve"));
    }
    promoter_job_finish(j);
}

/* promoter_job_run - start the next step not done (or finish). */
static void promoter_job_run(struct prom_job *j)
{
    struct promoter_stage *ps = j->st->data;

    if (j->inflight || j->tmr || ps->stopping)
        return;
    j->step = promoter_job_next(j->plan.mode, promoter_job_hop(j));
    switch (j->step) {
    case PS_ARGOCD_UPDATED:
    case PS_ARGOCD_SYNCED:
        j->inflight = 1;
        argocd_get(&ps->actx, j->plan.cluster, j->plan.app, j->plan.app_namespace, j->plan.project,
                   promoter_job_get_done, j);
        return;
    case PS_LABELS:
        promoter_job_labels(j);
        return;
    case PS_STATUS:
    case PS_STATUS_PENDING:
        promoter_job_status(j);
        return;
    case PS_COMMENT:
        promoter_job_comment(j);
        return;
    case PS_RECORD:
        if (promoter_job_record(j) < 0) {
            promoter_job_error(j, ADAPTER_ETEMP, "cannot write the promoter record", 0);
            return;
        }
        promoter_job_run(j);
        return;
    case PS_AUDIT:
    case PS_AWAIT_AUDIT:
        if (promoter_job_audit(j) < 0) {
            promoter_job_error(j, ADAPTER_ETEMP, "cannot append to the audit log", 0);
            return;
        }
        if (j->plan.mode == PM_REPORT_FAILURE)      /* the last reporting step: written with it */
            promoter_record_failed(j->rec, &j->plan, "tests", NULL, wall_ms());
        promoter_job_step_ok(j);
        return;
    default:
        promoter_job_finish_ok(j);
        return;
    }
}

/* promoter_job_start - a job for plan (moved) and rec (consumed). */
void promoter_job_start(struct stage *st, struct prom_plan *plan, cJSON *rec)
{
    struct promoter_stage *ps = st->data;
    struct prom_job *j = xcalloc(1, sizeof(*j));

    j->st = st;
    j->plan = *plan;
    memset(plan, 0, sizeof(*plan));
    j->rec = rec;
    j->label_i = -1;
    j->look = !j->plan.fresh;
    strmap_put(ps->jobs, j->plan.t.name, j);
    log_info("job_start", "tracker=%s hop=%s target=%s mode=%s key=%s next=%s", j->plan.t.name, j->plan.source,
             j->plan.target, j->plan.mode == PM_PROMOTE ? "promote" : j->plan.mode == PM_AWAIT ? "await" : "failure",
             j->plan.key, prom_step_name(promoter_job_next(j->plan.mode, promoter_job_hop(j))));
    promoter_job_run(j);
}

/* promoter_job_busy - jobs in flight. */
int promoter_job_busy(struct stage *st)
{
    struct promoter_stage *ps = st->data;

    return ps && ps->jobs ? (int)strmap_count(ps->jobs) : 0;
}

/* promoter_job_free_all - at exit. */
void promoter_job_free_all(struct stage *st)
{
    struct promoter_stage *ps = st->data;

    ps->stopping = 1;
    strmap_free(ps->jobs, promoter_job_free);
    ps->jobs = NULL;
}
