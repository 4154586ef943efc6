/* promoter_record.c - promo-promoter's record, STATE/promoter/NAME.json, and
 * the pure helpers that read the other stages' records for it: the test runs
 * that gated a hop, the approval, the PromotionRecord and the audit texts.
 *
 * No I/O here (the caller reads and writes), so tests/unit/test_promoter.c
 * checks every function by table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adapters/ghpr.h"
#include "util/log.h"
#include "util/util.h"
#include "promoter/promoter.h"
#include "util/json.h"

/* promoter_record_current - same generation and head SHA as t. */
int promoter_record_current(const cJSON *rec, const struct tracker *t)
{
    const cJSON *gen = cJSON_GetObjectItemCaseSensitive(rec, "generation");

    return cJSON_IsObject(rec) && cJSON_IsNumber(gen) && (int64_t)gen->valuedouble == t->generation &&
           strcasecmp(json_str(rec, "headSHA", ""), t->head_sha) == 0;
}

/* promoter_record_for - rec for t's generation and SHA, history kept; each
 * hop of the old generation still unfinished at the promoter gets its
 * Superseded record first. */
cJSON *promoter_record_for(cJSON *rec, const struct tracker *t)
{
    cJSON *fresh, *promotions = NULL, *h;
    char why[200];

    if (rec && promoter_record_current(rec, t) &&
        cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(rec, "hops")))
        return rec;
    if (cJSON_IsObject(rec) && cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(rec, "hops"))) {
        cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(rec, "hops")) {
            if (!h->string || !promoter_hop_unfinished(h))
                continue;
            snprintf(why, sizeof(why), "superseded by %.7s (generation %lld) before the promotion %s -> %s was done",
                     t->head_sha, (long long)t->generation, json_str(h, "source", h->string),
                     json_str(h, "target", ""));
            if (promoter_record_outcome(rec, h->string, PO_SUPERSEDED, NULL, why, t, wall_ms()) == 1)
                log_info("hop_superseded", "tracker=%s hop=%s key=%s by=%.12s gen=%lld", t->name, h->string,
                         json_str(h, "key", ""), t->head_sha, (long long)t->generation);
        }
    }
    if (rec && cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(rec, "promotions")))
        promotions = cJSON_DetachItemFromObjectCaseSensitive(rec, "promotions");
    cJSON_Delete(rec);
    fresh = cJSON_CreateObject();
    cJSON_AddStringToObject(fresh, "name", t->name);
    cJSON_AddNumberToObject(fresh, "generation", (double)t->generation);
    cJSON_AddStringToObject(fresh, "headSHA", t->head_sha);
    cJSON_AddObjectToObject(fresh, "hops");
    cJSON_AddItemToObject(fresh, "promotions", promotions ? promotions : cJSON_CreateArray());
    return fresh;
}

/* promoter_hop - rec.hops[source]. */
cJSON *promoter_hop(const cJSON *rec, const char *source)
{
    cJSON *h = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(rec, "hops"), source);

    return cJSON_IsObject(h) ? h : NULL;
}

/* promoter_set - hop[key] = value. */
void promoter_set(cJSON *hop, const char *key, cJSON *value)
{
    if (cJSON_GetObjectItemCaseSensitive(hop, key))
        cJSON_ReplaceItemInObjectCaseSensitive(hop, key, value);
    else
        cJSON_AddItemToObject(hop, key, value);
}

/* promoter_plan_argocd - {cluster, application, project, appNamespace,
 * update, source} of p's target, as the hop entry keeps it. */
cJSON *promoter_plan_argocd(const struct prom_plan *p)
{
    cJSON *a = cJSON_CreateObject();

    cJSON_AddStringToObject(a, "cluster", p->cluster ? p->cluster : "default");
    cJSON_AddStringToObject(a, "application", p->app ? p->app : "");
    if (p->project)
        cJSON_AddStringToObject(a, "project", p->project);
    if (p->app_namespace)
        cJSON_AddStringToObject(a, "appNamespace", p->app_namespace);
    cJSON_AddStringToObject(a, "update", argocd_change_kind_name(p->change.kind));
    if (p->change.source >= 0)
        cJSON_AddNumberToObject(a, "source", p->change.source);
    return a;
}

/* promoter_hop_new - a fresh entry for p in phase. */
cJSON *promoter_hop_new(cJSON *rec, const struct prom_plan *p, enum prom_phase phase)
{
    cJSON *hops = cJSON_GetObjectItemCaseSensitive(rec, "hops"), *h = cJSON_CreateObject(), *a;
    char ts[40];

    if (!cJSON_IsObject(hops)) {
        cJSON_DeleteItemFromObjectCaseSensitive(rec, "hops");
        hops = cJSON_AddObjectToObject(rec, "hops");
    }
    cJSON_AddStringToObject(h, "source", p->source);
    cJSON_AddStringToObject(h, "target", p->target);
    cJSON_AddStringToObject(h, "policy", p->policy);
    cJSON_AddStringToObject(h, "key", p->key);
    a = promoter_plan_argocd(p);
    cJSON_AddItemToObject(h, "argocd", a);
    cJSON_AddStringToObject(h, "phase", prom_phase_name(phase));
    cJSON_AddStringToObject(h, "phaseAt", time_format_iso(wall_ms(), ts, sizeof(ts)));
    cJSON_AddBoolToObject(h, "statusPending", 0);
    cJSON_AddNullToObject(h, "commentId");
    cJSON_AddNumberToObject(h, "attempts", 0);
    cJSON_AddNullToObject(h, "lastError");
    cJSON_AddNullToObject(h, "nextRetryAt");
    if (p->approved_by)
        cJSON_AddStringToObject(h, "approvedBy", p->approved_by);
    else
        cJSON_AddNullToObject(h, "approvedBy");
    cJSON_AddItemToObject(h, "testKeys", promoter_test_keys(p->runs));
    cJSON_AddItemToObject(h, "testRuns", cJSON_Duplicate(p->runs, 1));   /* for a Superseded/Aborted record */
    cJSON_AddObjectToObject(h, "steps");
    cJSON_DeleteItemFromObjectCaseSensitive(hops, p->source);
    cJSON_AddItemToObject(hops, p->source, h);
    return h;
}

/* promoter_phase - hop.phase as an enum. */
int promoter_phase(const cJSON *hop)
{
    return hop ? prom_phase_parse(json_str(hop, "phase", "")) : PH_NONE;
}

/* promoter_phase_move - one transition of the table in domain/rec_promoter.c. */
int promoter_phase_move(cJSON *hop, enum prom_event ev)
{
    int from = promoter_phase(hop), to = from < 0 ? -1 : prom_phase_next((enum prom_phase)from, ev);

    if (to < 0) {
        log_error("phase_refused", "phase=%s event=%s effect=%s", log_q(json_str(hop, "phase", "")),
                  prom_event_name(ev), log_q("phase unchanged"));
        return -1;
    }
    promoter_set(hop, "phase", cJSON_CreateString(prom_phase_name((enum prom_phase)to)));
    return 0;
}

/* promoter_step_done - hop.steps[step] is true. */
int promoter_step_done(const cJSON *hop, const char *step)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(hop, "steps"), step));
}

/* promoter_step_set - hop.steps[step] = true. */
void promoter_step_set(cJSON *hop, const char *step)
{
    cJSON *steps = cJSON_GetObjectItemCaseSensitive(hop, "steps");

    if (!cJSON_IsObject(steps)) {
        cJSON_DeleteItemFromObjectCaseSensitive(hop, "steps");
        steps = cJSON_AddObjectToObject(hop, "steps");
    }
    promoter_set(steps, step, cJSON_CreateTrue());
}

/* promoter_run_json - one element of "testRuns". */
static cJSON *promoter_run_json(const char *name, const char *provider, int required, const char *status,
                                const char *url, int64_t duration_ms, const char *key)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "provider", provider);
    cJSON_AddBoolToObject(o, "required", required);
    cJSON_AddStringToObject(o, "status", status[0] ? status : "unknown");
    if (url && url[0])
        cJSON_AddStringToObject(o, "url", url);
    else
        cJSON_AddNullToObject(o, "url");
    if (duration_ms >= 0)
        cJSON_AddNumberToObject(o, "durationMs", (double)duration_ms);
    else
        cJSON_AddNullToObject(o, "durationMs");
    cJSON_AddStringToObject(o, "key", key);
    return o;
}

/* promoter_test_runs - trigger order joined with monitor results. */
cJSON *promoter_test_runs(const struct rec_trigger_hop *trigger_hop, const struct rec_monitor_hop *monitor_hop,
                          int *attempt, char *err, size_t errlen)
{
    cJSON *runs = cJSON_CreateArray();
    int i;

    *attempt = 1;
    if (!monitor_hop || !monitor_hop->has_tests) {
        snprintf(err, errlen, "the monitor record has no tests for this hop");
        cJSON_Delete(runs);
        return NULL;
    }
    if (!trigger_hop) {
        for (i = 0; i < monitor_hop->ntests; i++) {
            const struct rec_monitor_test *mt = &monitor_hop->tests[i];
            cJSON_AddItemToArray(runs, promoter_run_json(mt->name, mt->provider, mt->required, mt->status,
                                                         mt->url, mt->duration_ms, mt->key));
        }
        return runs;
    }
    if (trigger_hop->ntests == 0) {
        snprintf(err, errlen, "the trigger record has no tests for this hop");
        cJSON_Delete(runs);
        return NULL;
    }
    for (i = 0; i < trigger_hop->ntests; i++) {
        const struct rec_trigger_test *te = &trigger_hop->tests[i];
        const struct rec_monitor_test *mt = rec_monitor_hop_test(monitor_hop, te->name);

        if (!mt || strcmp(mt->key, te->key) != 0) {
            snprintf(err, errlen, "test %s: the monitor record has no result for key %s", te->name,
                     te->key[0] ? te->key : "(none)");
            cJSON_Delete(runs);
            return NULL;
        }
        if (te->attempt > *attempt && te->attempt < 1000)
            *attempt = (int)te->attempt;
        cJSON_AddItemToArray(runs, promoter_run_json(te->name, te->provider, te->required, mt->status,
                                                     mt->url[0] ? mt->url : te->run.url, mt->duration_ms, te->key));
    }
    return runs;
}

/* promoter_test_keys - the keys of runs. */
cJSON *promoter_test_keys(const cJSON *runs)
{
    cJSON *a = cJSON_CreateArray();
    const cJSON *r;

    cJSON_ArrayForEach(r, runs)
        cJSON_AddItemToArray(a, cJSON_CreateString(json_str(r, "key", "")));
    return a;
}

/* promoter_first_url - the commit status's target_url: the first required
 * (failed) run's URL that GitHub takes; for a success or a pending status,
 * else the first such URL of any run. A URL GitHub refuses (an exec test's
 * file:// log) is skipped: given as target_url it would make GitHub refuse
 * the whole status, and a status without a link is better than none. */
const char *promoter_first_url(const cJSON *runs, int failed_only)
{
    const cJSON *r;
    int pass;

    for (pass = 0; pass < (failed_only ? 1 : 2); pass++) {
        cJSON_ArrayForEach(r, runs) {
            if (pass == 0 && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "required")))
                continue;
            if (failed_only && strcmp(json_str(r, "status", ""), "passed") == 0)
                continue;
            if (ghpr_url_linkable(json_str(r, "url", "")))
                return json_str(r, "url", "");
        }
    }
    return NULL;
}

/* promoter_approvals_hop - the word on the hop from source when approvals
 * is about t. */
static const struct rec_approval *promoter_approvals_hop(const struct rec_approvals *approvals,
                                                         const struct tracker *t, const char *source)
{
    if (!approvals || !approvals->head_sha[0] ||
        !rec_current(approvals->generation, approvals->head_sha, t->generation, t->head_sha))
        return NULL;
    return rec_approvals_hop(approvals, source);
}

/* promoter_approval - the approval of this hop, generation and SHA. */
int promoter_approval(const struct rec_approvals *approvals, const struct tracker *t, const char *source,
                      const char *target, char *by, size_t bylen)
{
    const struct rec_approval *h = promoter_approvals_hop(approvals, t, source);

    if (!h || !h->approved_by[0])
        return 0;
    if (h->target[0] && strcmp(h->target, target) != 0)
        return 0;
    str_copy(by, h->approved_by, bylen);
    return 1;
}

/* promoter_retry_requested - a retry asked after the failure. */
int promoter_retry_requested(const struct rec_approvals *approvals, const struct tracker *t, const char *source,
                             const char *failed_at)
{
    const struct rec_approval *h = promoter_approvals_hop(approvals, t, source);
    int64_t asked, failed;

    if (!h)
        return 0;
    asked = time_parse_iso(h->retry_at);
    failed = time_parse_iso(failed_at);
    return asked > 0 && (failed < 0 || asked > failed);
}

/* promoter_names - the names of runs matching (required, not passed): "a, b". */
static char *promoter_names(const cJSON *runs, int required)
{
    const cJSON *r;
    char *out = xstrdup(""), *n;

    cJSON_ArrayForEach(r, runs) {
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "required")) != required ||
            strcmp(json_str(r, "status", ""), "passed") == 0)
            continue;
        n = xasprintf("%s%s%s", out, out[0] ? ", " : "", json_str(r, "name", ""));
        free(out);
        out = n;
    }
    return out;
}

/* promoter_promoted_message - the Promoted audit message. */
char *promoter_promoted_message(const char *source, const char *target, const char *sha,
                                const char *policy, const cJSON *runs)
{
    const cJSON *r;
    char *opt = promoter_names(runs, 0), *msg;
    int passed = 0;

    cJSON_ArrayForEach(r, runs)
        if (strcmp(json_str(r, "status", ""), "passed") == 0)
            passed++;
    msg = xasprintf("promoted %s -> %s at %.7s (policy %s, %d test%s passed%s%s)", source, target, sha,
                    policy, passed, passed == 1 ? "" : "s", opt[0] ? ", optional tests failed: " : "", opt);
    free(opt);
    return msg;
}

/* promoter_failed_description - "required tests failed: a, b". */
char *promoter_failed_description(const cJSON *runs)
{
    char *names = promoter_names(runs, 1), *d;

    d = xasprintf("required test%s failed: %s", strchr(names, ',') ? "s" : "",
                  names[0] ? names : "(unknown)");
    free(names);
    return d;
}

/* promoter_run_failed - a final status that counts as failed (not passed,
 * not still running). */
static int promoter_run_failed(const char *status)
{
    return strcmp(status, "failed") == 0 || strcmp(status, "cancelled") == 0 || strcmp(status, "error") == 0 ||
           strcmp(status, "timed-out") == 0;
}

/* promoter_test_results - "testResults" of a PromotionRecord. */
cJSON *promoter_test_results(const cJSON *agg, const cJSON *runs)
{
    static const char *const flags[] = { "allPassed", "anyFailed", "anyRunning", "anyTimeout",
                                         "optionalTestsFailed" };
    cJSON *o = cJSON_CreateObject(), *rf, *rt, *of, *reasons;
    const cJSON *r, *it;
    size_t i;

    for (i = 0; i < ARRAY_LEN(flags); i++)
        cJSON_AddBoolToObject(o, flags[i], cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(agg, flags[i])));
    reasons = cJSON_AddArrayToObject(o, "failureReasons");
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(agg, "failureReasons"))
        if (cJSON_IsString(it) && cJSON_GetArraySize(reasons) < REC_PROMOTION_MAX_NAMES)
            cJSON_AddItemToArray(reasons, cJSON_CreateString(it->valuestring));
    rf = cJSON_AddArrayToObject(o, "requiredFailed");
    rt = cJSON_AddArrayToObject(o, "requiredTimedOut");
    of = cJSON_AddArrayToObject(o, "optionalFailed");
    cJSON_ArrayForEach(r, runs) {
        const char *st = json_str(r, "status", ""), *name = json_str(r, "name", "");
        cJSON *to;

        if (!promoter_run_failed(st))
            continue;
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "required")))
            to = of;
        else
            to = strcmp(st, "timed-out") == 0 ? rt : rf;
        if (cJSON_GetArraySize(to) < REC_PROMOTION_MAX_NAMES)
            cJSON_AddItemToArray(to, cJSON_CreateString(name));
    }
    return o;
}

/* promoter_join - the strings of array a joined by ", " (heap). */
static char *promoter_join(const cJSON *a)
{
    const cJSON *it;
    char *out = xstrdup(""), *n;

    cJSON_ArrayForEach(it, a) {
        n = xasprintf("%s%s%s", out, out[0] ? ", " : "", cJSON_IsString(it) ? it->valuestring : "");
        free(out);
        out = n;
    }
    return out;
}

/* promoter_failed_error - the "error" of a Failed (tests) record. */
char *promoter_failed_error(const cJSON *results)
{
    const cJSON *rf = cJSON_GetObjectItemCaseSensitive(results, "requiredFailed");
    const cJSON *rt = cJSON_GetObjectItemCaseSensitive(results, "requiredTimedOut");
    char *f = promoter_join(rf), *t = promoter_join(rt), *out;
    int nf = cJSON_GetArraySize(rf), nt = cJSON_GetArraySize(rt);

    if (!f[0] && !t[0])
        out = xstrdup("a required test failed");
    else if (!t[0])
        out = xasprintf("required test%s failed: %s", nf > 1 ? "s" : "", f);
    else if (!f[0])
        out = xasprintf("required test%s timed out: %s", nt > 1 ? "s" : "", t);
    else
        out = xasprintf("required test%s failed: %s; timed out: %s", nf + nt > 1 ? "s" : "", f, t);
    free(f);
    free(t);
    return out;
}

/* promoter_outcome_json - the PromotionRecord of plan p. */
cJSON *promoter_outcome_json(const struct prom_plan *p, enum prom_outcome outcome, const char *failure,
                             const char *error, int64_t now)
{
    cJSON *o = cJSON_CreateObject();
    char ts[40];
    const char *by = p->approved_by ? p->approved_by : PROMOTER_BY;

    time_format_iso(now, ts, sizeof(ts));
    cJSON_AddStringToObject(o, "outcome", prom_outcome_name(outcome));
    cJSON_AddBoolToObject(o, "promoted", outcome == PO_PROMOTED);
    cJSON_AddStringToObject(o, "sourceEnvironment", p->source);
    cJSON_AddStringToObject(o, "targetEnvironment", p->target);
    cJSON_AddStringToObject(o, "headSHA", p->t.head_sha);
    cJSON_AddNumberToObject(o, "generation", (double)p->t.generation);
    /* who or what promoted: the approver when a person approved, else us */
    if (outcome == PO_PROMOTED) {
        cJSON_AddStringToObject(o, "promotedAt", ts);
        cJSON_AddStringToObject(o, "promotedBy", by);
    } else {
        cJSON_AddNullToObject(o, "promotedAt");
        cJSON_AddNullToObject(o, "promotedBy");
    }
    cJSON_AddStringToObject(o, "recordedAt", ts);
    cJSON_AddStringToObject(o, "recordedBy", outcome == PO_PROMOTED ? by : PROMOTER_BY);
    cJSON_AddStringToObject(o, "policy", p->policy);
    cJSON_AddStringToObject(o, "key", p->key);
    if (failure && failure[0])
        cJSON_AddStringToObject(o, "failure", failure);
    else
        cJSON_AddNullToObject(o, "failure");
    if (error && error[0])
        cJSON_AddStringToObject(o, "error", error);
    else
        cJSON_AddNullToObject(o, "error");
    cJSON_AddItemToObject(o, "testResults", promoter_test_results(p->aggregate, p->runs));
    cJSON_AddItemToObject(o, "testRuns", cJSON_Duplicate(p->runs, 1));
    return o;
}

/* promoter_promotion_json - the Promoted PromotionRecord. */
cJSON *promoter_promotion_json(const struct prom_plan *p, int64_t now)
{
    return promoter_outcome_json(p, PO_PROMOTED, NULL, NULL, now);
}

/* promoter_record_has - a PromotionRecord with key and outcome (and, when
 * failure is not NULL, that failure) is in rec's history. */
int promoter_record_has(const cJSON *rec, const char *key, enum prom_outcome outcome, const char *failure)
{
    const cJSON *e;

    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(rec, "promotions"))
        if (strcmp(json_str(e, "key", ""), key) == 0 &&
            strcmp(json_str(e, "outcome", "Promoted"), prom_outcome_name(outcome)) == 0 &&
            (!failure || strcmp(json_str(e, "failure", ""), failure) == 0))
            return 1;
    return 0;
}

/* promoter_record_append - rec.promotions += pr (consumed). */
void promoter_record_append(cJSON *rec, cJSON *pr)
{
    cJSON *prom = cJSON_GetObjectItemCaseSensitive(rec, "promotions");

    if (!cJSON_IsArray(prom)) {
        cJSON_DeleteItemFromObjectCaseSensitive(rec, "promotions");
        prom = cJSON_AddArrayToObject(rec, "promotions");
    }
    cJSON_AddItemToArray(prom, pr);
}

/* promoter_record_failed - append the Failed record of plan p (failure
 * "tests" or "promotion") unless, for "tests", one with its key is there. */
int promoter_record_failed(cJSON *rec, const struct prom_plan *p, const char *failure, const char *why, int64_t now)
{
    cJSON *pr;
    char *err = NULL;

    if (strcmp(failure, "tests") == 0 && promoter_record_has(rec, p->key, PO_FAILED, "tests"))
        return 0;
    pr = promoter_outcome_json(p, PO_FAILED, failure, NULL, now);
    if (!why) {
        err = promoter_failed_error(cJSON_GetObjectItemCaseSensitive(pr, "testResults"));
        why = err;
    }
    promoter_set(pr, "error", cJSON_CreateString(why));
    free(err);
    promoter_record_append(rec, pr);
    return 1;
}

/* promoter_hop_unfinished - the hop is still open at the promoter. */
int promoter_hop_unfinished(const cJSON *hop)
{
    int ph = promoter_phase(hop);

    return ph == PH_INTENT || ph == PH_AWAITING_APPROVAL;
}

/* promoter_record_outcome - a Superseded or Aborted record of rec's hop
 * from source; see promoter.h. */
int promoter_record_outcome(cJSON *rec, const char *source, enum prom_outcome outcome, const char *by,
                            const char *why, const struct tracker *successor, int64_t now)
{
    const cJSON *hop = promoter_hop(rec, source), *k;
    cJSON *o, *sup, *runs;
    char ts[40], *dflt = NULL;

    if (!hop || (outcome != PO_SUPERSEDED && outcome != PO_ABORTED) ||
        (outcome == PO_SUPERSEDED && !successor))
        return -1;
    if (!promoter_hop_unfinished(hop) || promoter_record_has(rec, json_str(hop, "key", ""), outcome, NULL))
        return 0;
    if (!why || !why[0]) {
        dflt = outcome == PO_SUPERSEDED
                   ? xasprintf("superseded by %.7s (generation %lld)", successor->head_sha,
                               (long long)successor->generation)
                   : xasprintf("aborted while the promotion %s -> %s was %s", source, json_str(hop, "target", ""),
                               json_str(hop, "phase", ""));
        why = dflt;
    }
    time_format_iso(now, ts, sizeof(ts));
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "outcome", prom_outcome_name(outcome));
    cJSON_AddBoolToObject(o, "promoted", 0);
    cJSON_AddStringToObject(o, "sourceEnvironment", source);
    cJSON_AddStringToObject(o, "targetEnvironment", json_str(hop, "target", ""));
    cJSON_AddStringToObject(o, "headSHA", json_str(rec, "headSHA", ""));
    cJSON_AddNumberToObject(o, "generation", cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rec, "generation")));
    cJSON_AddNullToObject(o, "promotedAt");
    cJSON_AddNullToObject(o, "promotedBy");
    cJSON_AddStringToObject(o, "recordedAt", ts);
    cJSON_AddStringToObject(o, "recordedBy", by && by[0] ? by : PROMOTER_BY);
    cJSON_AddStringToObject(o, "policy", json_str(hop, "policy", ""));
    cJSON_AddStringToObject(o, "key", json_str(hop, "key", ""));
    cJSON_AddNullToObject(o, "failure");
    cJSON_AddStringToObject(o, "error", why);
    if (outcome == PO_SUPERSEDED) {
        sup = cJSON_AddObjectToObject(o, "supersededBy");
        cJSON_AddStringToObject(sup, "headSHA", successor->head_sha);
        cJSON_AddNumberToObject(sup, "generation", (double)successor->generation);
    }
    /* the runs the hop was decided on, as its entry keeps them */
    runs = cJSON_AddArrayToObject(o, "testRuns");
    cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(hop, "testRuns"))
        if (cJSON_IsObject(k) && cJSON_GetArraySize(runs) < REC_PROMOTION_MAX_RUNS)
            cJSON_AddItemToArray(runs, cJSON_Duplicate(k, 1));
    free(dflt);
    promoter_record_append(rec, o);
    return 1;
}

/* promoter_plan_free - release p. */
void promoter_plan_free(struct prom_plan *p)
{
    free(p->source);
    free(p->target);
    free(p->policy);
    free(p->cluster);
    free(p->app);
    free(p->project);
    free(p->app_namespace);
    free(p->change_name);
    free(p->change_value);
    free(p->context);
    cJSON_Delete(p->add_labels);
    cJSON_Delete(p->remove_labels);
    free(p->comment_extra);
    free(p->approved_by);
    cJSON_Delete(p->runs);
    cJSON_Delete(p->aggregate);
    free(p->reasons);
    memset(p, 0, sizeof(*p));
}
