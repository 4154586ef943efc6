/* promo_promoter.c - promo-promoter: promotes a pull request to the next
 * environment once every required test of the hop passed on its head SHA,
 * reports a required failure, or waits for an approval.
 *
 *   promo-monitor ──tracker + "policy" + "aggregate"──▶ promo-promoter
 *
 * For each "tracker" message the state dir decides, not the message: the
 * tracker is re-read (a message of another generation or head SHA is stale
 * and dropped), then the monitor record's aggregate for this generation and
 * hop, the trigger record's tests (joined with the monitor's results by key:
 * never promote what was not tested), the approvals record and this stage's
 * own record. What the hop still needs is then done by promoter_job.c, one
 * recorded step at a time, the intent (phase "intent", its key) persisted
 * before the first side effect. At most one job per tracker is in flight.
 * --dry-run prints the decision as one JSON line on stdout and touches
 * nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "domain/audit.h"
#include "util/budget.h"
#include "util/http.h"
#include "util/log.h"
#include "util/metrics.h"
#include "domain/policy.h"
#include "domain/subst.h"
#include "util/util.h"
#include "domain/wasync.h"
#include "domain/view.h"
#include "promoter/promoter.h"
#include "util/json.h"

static struct promoter_stage promo_promoter_state;

/* promo_promoter_tracker - the tracker the message names, re-read and
 * judged by the one staleness rule (ipc/stage.h), the message naming its
 * head SHA. Returns 0 with t filled, or -1 when the message is dropped. */
static int promo_promoter_tracker(struct stage *st, const cJSON *msg, struct tracker *t)
{
    cJSON *doc = stage_tracker(st, msg, t, STAGE_TRACKER_NEED_SHA);

    if (!doc)
        return -1;
    cJSON_Delete(doc);
    if (st->store)
        view_effective(st->store, t);      /* where the chain has taken it */
    return 0;
}

/* promo_promoter_source - the hop's source: the environment the message's
 * tracker is in (status.environment, else spec.environment), or "". */
static const char *promo_promoter_source(const cJSON *msg)
{
    const cJSON *snap = cJSON_GetObjectItemCaseSensitive(msg, "tracker");
    const char *env = json_str(cJSON_GetObjectItemCaseSensitive(snap, "status"), "environment", "");

    return env[0] ? env : json_str(cJSON_GetObjectItemCaseSensitive(snap, "spec"), "environment", "");
}

/* promo_promoter_read - why a record of area is not used (rc from
 * rec_*_load, < 0): logged at debug. Returns rc. */
static int promo_promoter_read(const struct tracker *t, const char *area, int rc, const char *err)
{
    if (rc == -ESTALE)
        log_debug("record_old", "tracker=%s area=%s", t->name, area);
    else if (rc < 0)
        log_debug("record_absent", "tracker=%s area=%s error=%s", t->name, area,
                  log_q(rc == -EBADMSG && err[0] ? err : strerror(-rc)));
    return rc;
}

/* promo_promoter_expand - tmpl with the hop's variables, or NULL with err. */
static char *promo_promoter_expand(const struct prom_plan *p, const char *tmpl, char *err, size_t errlen)
{
    struct subst_ctx c;

    subst_ctx_from_tracker(&c, &p->t, p->source, p->target, p->key);
    return subst_expand(tmpl, &c, SUBST_RAW, err, errlen);
}

/* promo_promoter_kname - an Argo CD project or namespace template, expanded
 * and checked (argocd_name_ok); NULL when the policy has none. Returns 0, or
 * -1 with err. */
static int promo_promoter_kname(const struct prom_plan *p, const char *tmpl, const char *field, char **out,
                                char *err, size_t errlen)
{
    char e2[256];

    *out = NULL;
    if (!tmpl || !tmpl[0])
        return 0;
    if (!(*out = promo_promoter_expand(p, tmpl, e2, sizeof(e2)))) {
        snprintf(err, errlen, "promotion.argocd.%s: %s", field, e2);
        return -1;
    }
    if (!argocd_name_ok(*out)) {
        snprintf(err, errlen, "promotion.argocd.%s: \"%.64s\" is not a valid Argo CD name", field, *out);
        return -1;
    }
    return 0;
}

/* promo_promoter_tag_ok - an image tag: 1..128 of [A-Za-z0-9_.-], not
 * starting with '.' or '-'. */
static int promo_promoter_tag_ok(const char *s)
{
    size_t i, n = strlen(s);

    if (n < 1 || n > 128 || s[0] == '.' || s[0] == '-')
        return 0;
    for (i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_' || s[i] == '.' || s[i] == '-'))
            return 0;
    return 1;
}

/* promo_promoter_change - p->change from the policy: the strategy, its
 * values expanded and checked. Returns 0, or -1 with err (a permanent error
 * of the hop). */
static int promo_promoter_change(struct prom_plan *p, const struct policy *pol, char *err, size_t errlen)
{
    struct subst_ctx c;
    char e2[256], *chk;
    const char *s;

    memset(&p->change, 0, sizeof(p->change));
    p->change.source = pol->argocd_source;
    switch (pol->argocd_update) {
    case PU_TARGET_REVISION:
        p->change.kind = ARGOCD_CHANGE_TARGET_REVISION;
        p->change_value = xstrdup(p->t.head_sha);   /* the plan moves: no pointer into it */
        p->change.value = p->change_value;
        return 0;
    case PU_KUSTOMIZE_IMAGE:
    case PU_HELM_PARAMETER:
        p->change.kind = pol->argocd_update == PU_KUSTOMIZE_IMAGE ? ARGOCD_CHANGE_KUSTOMIZE_IMAGE
                                                                  : ARGOCD_CHANGE_HELM_PARAMETER;
        p->change_name = xstrdup(pol->argocd_update_name ? pol->argocd_update_name : "");
        p->change_value = promo_promoter_expand(p, pol->argocd_update_value ? pol->argocd_update_value : "",
                                                e2, sizeof(e2));
        if (!p->change_value) {
            snprintf(err, errlen, "promotion.argocd.update.%s: %s", argocd_change_kind_name(p->change.kind), e2);
            return -1;
        }
        if (p->change.kind == ARGOCD_CHANGE_KUSTOMIZE_IMAGE && !promo_promoter_tag_ok(p->change_value)) {
            snprintf(err, errlen, "promotion.argocd.update.kustomizeImage.tag: \"%.64s\" is not an image tag "
                     "(1 to 128 of letters, digits, '_', '.', '-')", p->change_value);
            return -1;
        }
        for (s = p->change_value; *s; s++)
            if ((unsigned char)*s < 0x20 || *s == 0x7f) {
                snprintf(err, errlen, "promotion.argocd.update.helmParameter.value: holds a control byte");
                return -1;
            }
        p->change.name = p->change_name;
        p->change.value = p->change_value;
        return 0;
    case PU_MERGE_PATCH:
        p->change.kind = ARGOCD_CHANGE_MERGE_PATCH;
        subst_ctx_from_tracker(&c, &p->t, p->source, p->target, p->key);
        p->change_value = subst_expand(pol->argocd_update_value ? pol->argocd_update_value : "", &c, SUBST_JSON,
                                       e2, sizeof(e2));
        if (!p->change_value) {
            snprintf(err, errlen, "promotion.argocd.update.mergePatch: %s", e2);
            return -1;
        }
        if (!(chk = argocd_patch_template(p->change_value, "merge", e2, sizeof(e2)))) {
            snprintf(err, errlen, "promotion.argocd.update.mergePatch: once expanded: %s", e2);
            return -1;
        }
        free(p->change_value);
        p->change_value = chk;       /* compacted */
        p->change.patch = p->change_value;
        return 0;
    }
    snprintf(err, errlen, "promotion.argocd.update: unknown strategy");
    return -1;
}

/* promo_promoter_labels - the policy's labels, expanded (one that cannot be
 * is left out, with a warning). */
static cJSON *promo_promoter_labels(const struct prom_plan *p, const cJSON *list, const char *what)
{
    cJSON *out = cJSON_CreateArray();
    const cJSON *l;
    char err[256], *v;

    cJSON_ArrayForEach(l, list) {
        if (!cJSON_IsString(l))
            continue;
        v = promo_promoter_expand(p, l->valuestring, err, sizeof(err));
        if (v && v[0])
            cJSON_AddItemToArray(out, cJSON_CreateString(v));
        else
            log_warn("label_skipped", "tracker=%s list=%s label=%s error=%s", p->t.name, what,
                     log_q(l->valuestring), log_q(v ? "empty" : err));
        free(v);
    }
    return out;
}

/* promo_promoter_reasons - the aggregate's failureReasons joined by "; ". */
static char *promo_promoter_reasons(const struct aggregate *agg)
{
    char *out = xstrdup(""), *n;
    int i;

    for (i = 0; i < agg->nreasons; i++) {
        n = xasprintf("%s%s%s", out, out[0] ? "; " : "", agg->reasons[i]);
        free(out);
        out = n;
    }
    return out;
}

/* promo_promoter_plan - fill p from the policy and the records. Returns 0,
 * or -1 with err when the target application cannot be named (a permanent
 * error of the hop). */
static int promo_promoter_plan(const struct tracker *t, const struct policy *pol, int attempt,
                               cJSON *runs, const struct aggregate *agg, struct prom_plan *p, char *err,
                               size_t errlen)
{
    char e2[256];

    memset(p, 0, sizeof(*p));
    p->t = *t;
    p->source = xstrdup(pol->source);
    p->target = xstrdup(pol->target);
    p->policy = xstrdup(pol->name);
    p->runs = runs;
    p->reasons = promo_promoter_reasons(agg);
    p->aggregate = aggregate_to_json(agg);
    promo_key(t->name, t->head_sha, pol->source, pol->target, "promote", attempt, p->key, sizeof(p->key));
    p->cluster = xstrdup(pol->argocd_cluster && pol->argocd_cluster[0] ? pol->argocd_cluster : "default");
    p->exclusive = pol->exclusive;
    p->timeout_ms = pol->timeout_ms;
    p->add_labels = promo_promoter_labels(p, pol->add_labels, "addLabels");
    p->remove_labels = promo_promoter_labels(p, pol->remove_labels, "removeLabels");
    if (pol->commit_status && pol->commit_status[0])
        p->context = promo_promoter_expand(p, pol->commit_status, e2, sizeof(e2));
    if (!p->context)
        p->context = xasprintf("promo/%s", pol->target);
    if (pol->comment && pol->comment[0]) {
        p->comment_extra = promo_promoter_expand(p, pol->comment, e2, sizeof(e2));
        if (!p->comment_extra)
            log_warn("comment_skipped", "tracker=%s error=%s", t->name, log_q(e2));
    }
    if (pol->argocd_application && pol->argocd_application[0]) {
        p->app = promo_promoter_expand(p, pol->argocd_application, e2, sizeof(e2));
        if (!p->app) {
            snprintf(err, errlen, "promotion.argocd.application: %s", e2);
            return -1;
        }
    } else {
        p->app = xstrdup(t->application);
    }
    if (promo_promoter_kname(p, pol->argocd_project, "project", &p->project, err, errlen) < 0 ||
        promo_promoter_kname(p, pol->argocd_app_namespace, "appNamespace", &p->app_namespace, err, errlen) < 0 ||
        promo_promoter_change(p, pol, err, errlen) < 0)
        return -1;
    return 0;
}

/* promo_promoter_dry - --dry-run: the decision as one JSON line. */
static void promo_promoter_dry(const struct prom_plan *p, const char *action, const char *why, const cJSON *hop)
{
    cJSON *o = cJSON_CreateObject();
    char *line;

    cJSON_AddBoolToObject(o, "dryRun", 1);
    cJSON_AddStringToObject(o, "tracker", p->t.name);
    cJSON_AddNumberToObject(o, "generation", (double)p->t.generation);
    cJSON_AddStringToObject(o, "headSHA", p->t.head_sha);
    cJSON_AddStringToObject(o, "hop", p->source);
    cJSON_AddStringToObject(o, "target", p->target);
    cJSON_AddStringToObject(o, "key", p->key);
    cJSON_AddStringToObject(o, "action", action);
    if (why)
        cJSON_AddStringToObject(o, "reason", why);
    if (strcmp(action, "none") != 0) {
        enum prom_mode m = strcmp(action, "promote") == 0 ? PM_PROMOTE
                         : strcmp(action, "report-failure") == 0 ? PM_REPORT_FAILURE : PM_AWAIT;
        cJSON_AddItemToObject(o, "steps", promoter_job_steps(m, hop));
        if (m == PM_PROMOTE) {
            cJSON *a = promoter_plan_argocd(p);

            cJSON_AddItemToObject(o, "argocd", a);
            if (p->change.name)
                cJSON_AddStringToObject(a, "name", p->change.name);
            if (p->change.kind != ARGOCD_CHANGE_MERGE_PATCH)
                cJSON_AddStringToObject(a, "value", p->change.value ? p->change.value : "");
            else
                cJSON_AddStringToObject(a, "mergePatch", p->change.patch ? p->change.patch : "");
            cJSON_AddStringToObject(a, "revision", argocd_change_tracked(&p->change) ? "" : p->t.head_sha);
            cJSON_AddItemToObject(o, "addLabels", cJSON_Duplicate(p->add_labels, 1));
            cJSON_AddItemToObject(o, "removeLabels", cJSON_Duplicate(p->remove_labels, 1));
            cJSON_AddStringToObject(o, "promotedBy", p->approved_by ? p->approved_by : PROMOTER_BY);
        }
        cJSON_AddStringToObject(o, "commitStatus", p->context);
    }
    cJSON_AddItemToObject(o, "testRuns", cJSON_Duplicate(p->runs, 1));
    line = cJSON_PrintUnformatted(o);
    if (line) {
        printf("%s\n", line);
        fflush(stdout);
    }
    cJSON_free(line);
    cJSON_Delete(o);
}

static void promo_promoter_none(struct stage *st, struct prom_plan *p, cJSON *rec, const char *why);

/* promo_promoter_leave - a promotion onward, or a reported failure, of
 * the hop from p->source: the tracker leaves that environment, so what it
 * holds there goes to the next in line (promoter_hold.c). */
static void promo_promoter_leave(struct stage *st, const struct prom_plan *p)
{
    char why[512];

    if (p->mode == PM_PROMOTE) {
        snprintf(why, sizeof(why), "%s is being promoted from %s to %s", p->t.name, p->source, p->target);
        promoter_hold_leave(st, p->t.name, p->source, "PromotedOnward", why);
    } else if (p->mode == PM_REPORT_FAILURE) {
        snprintf(why, sizeof(why), "a required test of %s failed in %s", p->t.name, p->source);
        promoter_hold_leave(st, p->t.name, p->source, "TestsFailed", why);
    }
}

/* promo_promoter_hold - before a promotion into p's target: 1 when this
 * tracker holds it (go on); else nothing is done now (it waits in line, or
 * the target record cannot be written), rec and p are consumed and the why
 * is logged. */
static int promo_promoter_hold(struct stage *st, struct prom_plan *p, cJSON *rec)
{
    struct promoter_stage *ps = st->data;
    char why[1024];
    int rc = promoter_hold_acquire(st, p, ps->cur_msg, why, sizeof(why));

    if (rc > 0)
        return 1;
    promo_promoter_none(st, p, rec, why);
    return 0;
}

/* promo_promoter_go - act on the decision: with phase, a fresh hop entry in
 * that phase is persisted first (the intent); then the job runs (or, in
 * --dry-run, the line is printed). plan and rec are consumed. */
static void promo_promoter_go(struct stage *st, struct prom_plan *p, cJSON *rec, enum prom_mode mode,
                              int phase, const char *action)
{
    cJSON *hop;
    int rc;

    p->mode = mode;
    if (st->dry_run || !st->store) {
        promo_promoter_dry(p, action, NULL, phase > PH_NONE ? NULL : promoter_hop(rec, p->source));
        promoter_plan_free(p);
        cJSON_Delete(rec);
        return;
    }
    if (phase > PH_NONE) {
        hop = promoter_hop_new(rec, p, (enum prom_phase)phase);
        if (mode == PM_PROMOTE && audit_has_key(st->store, p->key, "Promoted") == 1) {
            /* promoted before, its record lost (quarantined): the GitHub
             * steps come before the audit event, so they are done; the
             * Argo CD steps look before they act */
            promoter_step_set(hop, prom_step_name(PS_LABELS));
            promoter_step_set(hop, prom_step_name(PS_STATUS));
            promoter_step_set(hop, prom_step_name(PS_COMMENT));
            log_info("hop_recovered", "tracker=%s hop=%s key=%s reason=%s", p->t.name, p->source, p->key,
                     log_q("the audit log has its Promoted event: GitHub steps not repeated"));
        }
        if (mode == PM_REPORT_FAILURE) {
            cJSON_AddStringToObject(hop, "failure", "tests");
            cJSON_AddStringToObject(hop, "failedAt", json_str(hop, "phaseAt", ""));
        }
        rc = store_write(st->store, PROMOTER_AREA, p->t.name, rec);
        if (rc < 0) {
            log_error("record_write_failed", "tracker=%s hop=%s phase=%s error=%s effect=%s", p->t.name,
                      p->source, prom_phase_name((enum prom_phase)phase), log_q(strerror(-rc)),
                      log_q("nothing done; the next message retries"));
            promoter_plan_free(p);
            cJSON_Delete(rec);
            return;
        }
        log_info("intent", "tracker=%s hop=%s target=%s phase=%s key=%s", p->t.name, p->source, p->target,
                 prom_phase_name((enum prom_phase)phase), p->key);
        p->fresh = 1;
        if (mode == PM_PROMOTE)
            crash_point("promoter.after_intent");
    }
    promo_promoter_leave(st, p);
    promoter_job_start(st, p, rec);
}

/* promo_promoter_none - nothing to do: log (or print in --dry-run) why. */
static void promo_promoter_none(struct stage *st, struct prom_plan *p, cJSON *rec, const char *why)
{
    if (st->dry_run)
        promo_promoter_dry(p, "none", why, NULL);
    else
        log_info("nothing_to_do", "tracker=%s hop=%s target=%s reason=%s", p->t.name, p->source, p->target,
                 log_q(why));
    promoter_plan_free(p);
    cJSON_Delete(rec);
}

/* promo_promoter_left - how many steps of mode hop has not done. */
static int promo_promoter_left(enum prom_mode mode, const cJSON *hop)
{
    cJSON *left = promoter_job_steps(mode, hop);
    int n = cJSON_GetArraySize(left);

    cJSON_Delete(left);
    return n;
}

/* promo_promoter_decide - what the hop needs now, from the records. */
static void promo_promoter_decide(struct stage *st, struct prom_plan *p, cJSON *rec, const struct aggregate *agg,
                                  const struct rec_approvals *approvals, int auto_promote)
{
    cJSON *hop = promoter_hop(rec, p->source), *keys = promoter_test_keys(p->runs);
    char by[256], ts[40];
    int phase, approved = promoter_approval(approvals, &p->t, p->source, p->target, by, sizeof(by));

    if (hop && !cJSON_Compare(cJSON_GetObjectItemCaseSensitive(hop, "testKeys"), keys, 1)) {
        log_info("hop_reset", "tracker=%s hop=%s reason=%s", p->t.name, p->source,
                 log_q("the tests of the hop changed (a new attempt)"));
        hop = NULL;
    }
    cJSON_Delete(keys);
    if (!hop) {
        if (agg->any_failed)
            promo_promoter_go(st, p, rec, PM_REPORT_FAILURE, prom_phase_next(PH_NONE, PHE_TESTS_FAILED),
                              "report-failure");
        else if (!agg->all_passed)
            promo_promoter_none(st, p, rec, "the aggregate is decided but neither passed nor failed");
        else if (!auto_promote && !approved)
            promo_promoter_go(st, p, rec, PM_AWAIT, prom_phase_next(PH_NONE, PHE_AWAIT), "await-approval");
        else {
            if (approved)
                p->approved_by = xstrdup(by);
            if (promo_promoter_hold(st, p, rec))
                promo_promoter_go(st, p, rec, PM_PROMOTE, prom_phase_next(PH_NONE, PHE_PROMOTE), "promote");
        }
        return;
    }
    phase = promoter_phase(hop);
    if (json_str(hop, "approvedBy", "")[0])
        p->approved_by = xstrdup(json_str(hop, "approvedBy", ""));
    if (phase == PH_DONE) {
        promo_promoter_none(st, p, rec, "already promoted");
    } else if (phase == PH_INTENT) {
        if (promo_promoter_hold(st, p, rec))
            promo_promoter_go(st, p, rec, PM_PROMOTE, PH_NONE, "promote");
    } else if (phase == PH_AWAITING_APPROVAL) {
        if (approved) {
            log_info("approved", "tracker=%s hop=%s by=%s", p->t.name, p->source, log_q(by));
            free(p->approved_by);
            p->approved_by = xstrdup(by);
            if (st->dry_run) {
                promo_promoter_go(st, p, rec, PM_PROMOTE, prom_phase_next(PH_AWAITING_APPROVAL, PHE_APPROVED),
                                  "promote");
                return;
            }
            if (!promo_promoter_hold(st, p, rec))
                return;
            promoter_phase_move(hop, PHE_APPROVED);
            promoter_set(hop, "phaseAt", cJSON_CreateString(time_format_iso(wall_ms(), ts, sizeof(ts))));
            promoter_set(hop, "approvedBy", cJSON_CreateString(by));
            if (store_write(st->store, PROMOTER_AREA, p->t.name, rec) < 0) {
                promo_promoter_none(st, p, rec, "cannot write the promoter record");
                return;
            }
            crash_point("promoter.after_intent");
            p->fresh = 1;          /* the await steps are done, none of the promotion */
            promo_promoter_go(st, p, rec, PM_PROMOTE, PH_NONE, "promote");
        } else if (promo_promoter_left(PM_AWAIT, hop) > 0) {
            promo_promoter_go(st, p, rec, PM_AWAIT, PH_NONE, "await-approval");
        } else {
            promo_promoter_none(st, p, rec, "awaiting approval (promoctl approve)");
        }
    } else if (phase == PH_FAILED && strcmp(json_str(hop, "failure", ""), "tests") == 0) {
        if (promo_promoter_left(PM_REPORT_FAILURE, hop) > 0)
            promo_promoter_go(st, p, rec, PM_REPORT_FAILURE, PH_NONE, "report-failure");
        else
            promo_promoter_none(st, p, rec, "a required test failed (reported)");
    } else if (phase == PH_FAILED &&
               promoter_retry_requested(approvals, &p->t, p->source, json_str(hop, "failedAt", ""))) {
        log_info("retry", "tracker=%s hop=%s last_error=%s", p->t.name, p->source,
                 log_q(json_str(hop, "lastError", "")));
        if (promo_promoter_hold(st, p, rec))
            promo_promoter_go(st, p, rec, PM_PROMOTE, prom_phase_next(PH_FAILED, PHE_RETRY), "promote");
    } else {
        char *why = xasprintf("promotion failed: %s (promoctl retry)", json_str(hop, "lastError", ""));
        promo_promoter_none(st, p, rec, why);
        free(why);
    }
}

/* promo_promoter_message - one tracker message with an aggregate. */
static void promo_promoter_message(struct stage *st, cJSON *msg)
{
    struct promoter_stage *ps = st->data;
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(msg, "kind");
    const cJSON *magg = cJSON_GetObjectItemCaseSensitive(msg, "aggregate");
    const cJSON *pdoc = cJSON_GetObjectItemCaseSensitive(msg, "policy");
    const struct rec_monitor_hop *mhop;
    const struct aggregate *agg;
    struct rec_monitor mon;
    struct rec_trigger trig;
    struct rec_approvals appr;
    cJSON *rec = NULL, *runs;
    struct policy_diag d;
    struct policy pol;
    struct prom_plan plan;
    struct tracker t;
    const char *source;
    char err[512];
    int attempt, rc;

    memset(&mon, 0, sizeof(mon));
    memset(&trig, 0, sizeof(trig));
    memset(&appr, 0, sizeof(appr));
    if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "tracker") != 0)
        return;                       /* other kinds are not for this stage */
    if (!cJSON_IsObject(magg)) {
        log_debug("no_aggregate", "effect=%s", log_q("ignored: the monitor has not decided"));
        return;
    }
    if (promo_promoter_tracker(st, msg, &t) < 0)
        return;
    if (strmap_get(ps->jobs, t.name)) {
        log_debug("in_flight", "tracker=%s effect=%s", t.name, log_q("a job runs; the record will say"));
        return;
    }
    memset(&d, 0, sizeof(d));
    if (!cJSON_IsObject(pdoc) || policy_decode(pdoc, NULL, "message.policy", &pol, &d) < 0) {
        log_error("policy_invalid", "tracker=%s first=%s effect=dropped", t.name,
                  log_q(d.n > 0 ? d.msg[0].text : "no \"policy\" in the message"));
        policy_diag_free(&d);
        return;
    }
    policy_diag_free(&d);
    source = promo_promoter_source(msg);
    if (strcmp(source, pol.source) != 0 || strcmp(t.status_env, pol.source) != 0) {
        log_info("not_this_hop", "tracker=%s env=%s msg_env=%s policy_source=%s effect=dropped", t.name,
                 t.status_env, source, pol.source);
        goto out;
    }
    if (!st->store) {
        log_warn("no_state_dir", "tracker=%s effect=%s", t.name, log_q("nothing decided without the state dir"));
        goto out;
    }
    mhop = NULL;
    if (promo_promoter_read(&t, "monitor", rec_monitor_load(st->store, t.name, &t, &mon, err, sizeof(err)), err) == 0)
        mhop = rec_monitor_hop(&mon, pol.source);
    agg = mhop && mhop->has_aggregate ? &mhop->aggregate : NULL;
    if (!rec_monitor_decided(mhop)) {
        log_info("not_decided", "tracker=%s hop=%s effect=%s", t.name, pol.source,
                 log_q("the monitor record has no decided aggregate for this generation and hop"));
        goto out;
    }
    promo_promoter_read(&t, "trigger", rec_trigger_load(st->store, t.name, &t, &trig, err, sizeof(err)), err);
    runs = promoter_test_runs(rec_trigger_hop(&trig, pol.source), mhop, &attempt, err, sizeof(err));
    if (!runs) {
        log_warn("tests_unmatched", "tracker=%s hop=%s error=%s effect=%s", t.name, pol.source, log_q(err),
                 log_q("not promoted; the next message looks again"));
        goto out;
    }
    rc = store_read(st->store, PROMOTER_AREA, t.name, &rec);
    if (rc < 0 && rc != -ENOENT && rc != -EBADMSG) {
        log_warn("record_read_failed", "tracker=%s error=%s", t.name, log_q(strerror(-rc)));
        cJSON_Delete(runs);
        goto out;
    }
    rec = promoter_record_for(rec, &t);
    rc = rec_approvals_load(st->store, t.name, &t, &appr, err, sizeof(err));
    promo_promoter_read(&t, "approvals", rc, err);
    if (promo_promoter_plan(&t, &pol, attempt, runs, agg, &plan, err, sizeof(err)) < 0) {
        cJSON *hop = promoter_hop(rec, plan.source);
        int from = promoter_phase(hop);

        if (from != PH_FAILED) {
            log_error("plan_failed", "tracker=%s hop=%s error=%s", t.name, plan.source, log_q(err));
            if (!st->dry_run) {
                /* a fresh entry, whatever the phase was (an unknown word counts as none) */
                hop = promoter_hop_new(rec, &plan, (enum prom_phase)prom_phase_next(from < 0 ? PH_NONE :
                                       (enum prom_phase)from, PHE_UNPLANNABLE));
                cJSON_AddStringToObject(hop, "failure", "promotion");
                cJSON_AddStringToObject(hop, "failedAt", json_str(hop, "phaseAt", ""));
                promoter_set(hop, "lastError", cJSON_CreateString(err));
                promoter_record_failed(rec, &plan, "promotion", err, wall_ms());
                if (store_write(st->store, PROMOTER_AREA, t.name, rec) == 0 &&
                    audit_has_key(st->store, plan.key, "PromotionFailed") == 0)
                    audit_append(st->store, t.name, "Warning", "PromotionFailed", err, plan.key);
                metrics_inc("promo_promotion_failures_total", "reason", "plan");
            }
        }
        promo_promoter_none(st, &plan, rec, err);
        rec = NULL;
        goto out;
    }
    ps->cur_msg = msg;
    promo_promoter_decide(st, &plan, rec, agg, rc == 0 ? &appr : NULL, pol.auto_promote);
    ps->cur_msg = NULL;
    rec = NULL;
    if (!strmap_get(ps->jobs, t.name) && !(ps->hold_msgs && strmap_get(ps->hold_msgs, t.name)))
        stage_memo(st, t.name, t.generation);     /* decided, nothing runs, no turn awaited */
    goto done;
out:
    stage_memo(st, t.name, t.generation);         /* not for this stage until its records change */
done:
    rec_approvals_free(&appr);
    rec_monitor_free(&mon);
    rec_trigger_free(&trig);
    policy_free(&pol);
}

void promoter_message_again(struct stage *st, cJSON *msg)
{
    promo_promoter_message(st, msg);
}

/* promo_promoter_busy - a job is in flight. */
static int promo_promoter_busy(struct stage *st)
{
    return promoter_job_busy(st) > 0;
}

/* promo_promoter_start - the adapter context, the job set, the writers. */
static int promo_promoter_start(struct stage *st)
{
    struct promoter_stage *ps = &promo_promoter_state;

    st->data = ps;
    ps->actx.loop = st->loop;
    ps->actx.cfg = &st->cfg;
    ps->actx.store = st->store;
    ps->jobs = strmap_new();
    ps->wa = st->store ? wasync_new_loop(st->store, st->loop, PROMOTER_WRITERS) : NULL;
    if (st->store && !ps->wa) {
        log_error("writer_init_failed", "effect=%s", log_q("cannot record steps"));
        return EXIT_TEMP;
    }
    ps->actx.http = http_new(st->loop);
    ps->actx.budget = budget_open(st->cfg.run_dir);     /* shared with the monitor */
    if (!ps->actx.http) {
        log_error("http_init_failed", "effect=%s", log_q("cannot promote"));
        return EXIT_TEMP;
    }
    if (promoter_hold_init(st) < 0)
        return EXIT_TEMP;
    return 0;
}

/* promo_promoter_stop - cancel requests, free the jobs (the records say
 * where each stopped). */
static void promo_promoter_stop(struct stage *st)
{
    struct promoter_stage *ps = st->data;

    if (!ps)
        return;
    log_info("stop", "promoted=%llu failed=%llu awaiting=%llu stale=%llu in_flight=%d",
             (unsigned long long)ps->promoted, (unsigned long long)ps->failed,
             (unsigned long long)ps->awaiting, (unsigned long long)(ps->stale + st->msgs_stale), promoter_job_busy(st));
    ps->stopping = 1;                 /* callbacks below start nothing new */
    if (ps->wa)
        wasync_free(ps->wa);          /* every step asked for is on disk */
    ps->wa = NULL;
    if (ps->actx.http)
        http_free(ps->actx.http);     /* no callback runs after this */
    ps->actx.http = NULL;
    budget_close(ps->actx.budget);
    ps->actx.budget = NULL;
    promoter_job_free_all(st);
    promoter_hold_free(st);
}

int main(int argc, char **argv)
{
    static const struct stage_ops ops = {
        .prog = "promo-promoter",
        .summary = "promote each tracker whose required tests all passed: update and sync its\n"
                   "Argo CD application, label and comment its pull request, record and audit it",
        .in_default = "promoter.sock",
        .out_default = NULL,
        .extra_usage =
            "\nThe state dir decides, not the message: the tracker, the monitor's aggregate, the\n"
            "trigger's tests, approvals and the promoter record are read again for every message.\n"
            "With --in - promo-promoter exits at the end of its input once no job is in flight.\n"
            "--dry-run writes and sends nothing and prints each decision as a JSON line.\n",
        .start = promo_promoter_start,
        .message = promo_promoter_message,
        .busy = promo_promoter_busy,
        .stop = promo_promoter_stop,
    };

    return stage_main(argc, argv, &ops);
}
