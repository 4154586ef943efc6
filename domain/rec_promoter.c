/* rec_promoter.c - promo-promoter's record: phase names and transitions,
 * step names, and the strict decoder (see rec_promoter.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/rec_promoter.h"
#include "util/util.h"

static const char *const prom_phases[PH_COUNT] = {
    [PH_NONE] = "",
    [PH_AWAITING_APPROVAL] = "awaiting-approval",
    [PH_INTENT] = "intent",
    [PH_DONE] = "done",
    [PH_FAILED] = "failed",
};

static const char *const prom_events[PHE_COUNT] = {
    [PHE_AWAIT] = "await",
    [PHE_PROMOTE] = "promote",
    [PHE_APPROVED] = "approved",
    [PHE_RETRY] = "retry",
    [PHE_RECORDED] = "recorded",
    [PHE_UNRECORDED] = "unrecorded",
    [PHE_TESTS_FAILED] = "tests-failed",
    [PHE_GAVE_UP] = "gave-up",
    [PHE_UNPLANNABLE] = "unplannable",
};

/* The transitions: prom_next[from][event], 0 where the event cannot happen
 * (PH_NONE is never a destination, so 0 is free to mean "refused"). The
 * same table is docs/state.md's. */
static const unsigned char prom_next[PH_COUNT][PHE_COUNT] = {
    [PH_NONE] = {
        [PHE_AWAIT] = PH_AWAITING_APPROVAL,
        [PHE_PROMOTE] = PH_INTENT,
        [PHE_TESTS_FAILED] = PH_FAILED,
        [PHE_UNPLANNABLE] = PH_FAILED,
    },
    [PH_AWAITING_APPROVAL] = {
        [PHE_APPROVED] = PH_INTENT,
        [PHE_UNPLANNABLE] = PH_FAILED,
    },
    [PH_INTENT] = {
        [PHE_RECORDED] = PH_DONE,
        [PHE_GAVE_UP] = PH_FAILED,
        [PHE_UNPLANNABLE] = PH_FAILED,
    },
    [PH_DONE] = {
        [PHE_UNRECORDED] = PH_INTENT,
        [PHE_UNPLANNABLE] = PH_FAILED,
    },
    [PH_FAILED] = {
        [PHE_RETRY] = PH_INTENT,
    },
};

static const char *const prom_steps[PS_FINISH + 1] = {
    [PS_ARGOCD_UPDATED] = "argocdUpdated",
    [PS_ARGOCD_SYNCED] = "argocdSynced",
    [PS_LABELS] = "labels",
    [PS_STATUS] = "status",
    [PS_COMMENT] = "comment",
    [PS_RECORD] = "recorded",
    [PS_AUDIT] = "audited",
    [PS_AWAIT_AUDIT] = "awaitAudited",
    [PS_STATUS_PENDING] = "statusPending",
    [PS_FAILURE_AUDITED] = "failureAudited",
    [PS_FINISH] = "finish",
};

/* prom_phase_name - the record's word. */
const char *prom_phase_name(enum prom_phase p)
{
    return (int)p >= 0 && p < PH_COUNT ? prom_phases[p] : "";
}

/* prom_phase_parse - word to phase. */
int prom_phase_parse(const char *s)
{
    int i;

    if (!s || !*s)
        return PH_NONE;
    for (i = 1; i < PH_COUNT; i++)
        if (strcmp(s, prom_phases[i]) == 0)
            return i;
    return -1;
}

/* prom_event_name - for logs. */
const char *prom_event_name(enum prom_event e)
{
    return (int)e >= 0 && e < PHE_COUNT ? prom_events[e] : "?";
}

/* prom_phase_next - one lookup in the table. */
int prom_phase_next(enum prom_phase from, enum prom_event ev)
{
    if ((int)from < 0 || from >= PH_COUNT || (int)ev < 0 || ev >= PHE_COUNT || !prom_next[from][ev])
        return -1;
    return prom_next[from][ev];
}

/* prom_step_name - the step's key in "steps". */
const char *prom_step_name(int s)
{
    return s >= 0 && s <= PS_FINISH ? prom_steps[s] : prom_steps[PS_FINISH];
}

/* rec_promoter_hop_decode - one entry of "hops". */
static int rec_promoter_hop_decode(const cJSON *o, struct rec_promoter_hop *h, struct rec_pool *p,
                                   char *err, size_t errlen)
{
    char path[REC_MAX_NAME + 16];
    const char *phase;
    const cJSON *argo, *steps, *s;
    const char *src;
    int ph, i;

    if (strlen(o->string) > REC_MAX_NAME)
        return rec_err(err, errlen, "hops", "a key longer than %d bytes", REC_MAX_NAME);
    snprintf(path, sizeof(path), "hops.%s", o->string);
    if (!cJSON_IsObject(o))
        return rec_err(err, errlen, path, "must be an object");
    h->source = rec_pool_add(p, o->string);   /* the key is the source environment */
    if (rec_str(o, path, "source", 0, REC_MAX_NAME, p, &src, err, errlen) < 0 ||
        rec_str(o, path, "target", 0, REC_MAX_NAME, p, &h->target, err, errlen) < 0 ||
        rec_str(o, path, "policy", 0, REC_MAX_NAME, p, &h->policy, err, errlen) < 0 ||
        rec_str(o, path, "key", 0, REC_MAX_ID, p, &h->key, err, errlen) < 0 ||
        rec_str(o, path, "phase", 1, REC_MAX_ID, p, &phase, err, errlen) < 0 ||
        rec_str(o, path, "phaseAt", 0, REC_MAX_ID, p, &h->phase_at, err, errlen) < 0 ||
        rec_str(o, path, "doneAt", 0, REC_MAX_ID, p, &h->done_at, err, errlen) < 0 ||
        rec_str(o, path, "failure", 0, REC_MAX_ID, p, &h->failure, err, errlen) < 0 ||
        rec_str(o, path, "failedAt", 0, REC_MAX_ID, p, &h->failed_at, err, errlen) < 0 ||
        rec_str(o, path, "lastError", 0, REC_MAX_TEXT, p, &h->last_error, err, errlen) < 0 ||
        rec_str(o, path, "approvedBy", 0, REC_MAX_ID, p, &h->approved_by, err, errlen) < 0 ||
        rec_str(o, path, "nextRetryAt", 0, REC_MAX_ID, p, &h->next_retry_at, err, errlen) < 0 ||
        rec_int(o, path, "attempts", 0, 0, INT32_MAX, 0, &h->attempts, err, errlen) < 0 ||
        rec_member(o, path, "argocd", cJSON_Object, 64, &argo, err, errlen) < 0 ||
        rec_member(o, path, "steps", cJSON_Object, 64, &steps, err, errlen) < 0)
        return -1;
    if ((ph = prom_phase_parse(phase)) <= PH_NONE)
        return rec_err(err, errlen, path, "phase \"%s\" is not one of awaiting-approval, intent, done, failed",
                       phase);
    h->phase = (enum prom_phase)ph;
    if (argo) {
        snprintf(path, sizeof(path), "hops.%s.argocd", o->string);
        if (rec_str(argo, path, "cluster", 0, REC_MAX_NAME, p, &h->cluster, err, errlen) < 0 ||
            rec_str(argo, path, "application", 0, REC_MAX_NAME, p, &h->application, err, errlen) < 0 ||
            rec_str(argo, path, "project", 0, REC_MAX_NAME, p, &h->project, err, errlen) < 0 ||
            rec_str(argo, path, "appNamespace", 0, REC_MAX_NAME, p, &h->app_namespace, err, errlen) < 0 ||
            rec_str(argo, path, "update", 0, REC_MAX_ID, p, &h->update, err, errlen) < 0 ||
            rec_int(argo, path, "source", 0, -1, 63, -1, &h->argocd_source, err, errlen) < 0 ||
            rec_str(argo, path, "specDigest", 0, REC_MAX_ID, p, &h->spec_digest, err, errlen) < 0)
            return -1;
    } else {
        h->cluster = h->application = h->project = h->app_namespace = h->update = h->spec_digest = "";
        h->argocd_source = -1;
    }
    cJSON_ArrayForEach(s, steps) {
        for (i = 0; i < PS_FINISH; i++)
            if (strcmp(s->string, prom_steps[i]) == 0)
                break;
        if (!cJSON_IsBool(s) && !cJSON_IsNull(s)) {
            snprintf(path, sizeof(path), "hops.%s.steps", o->string);
            return rec_err(err, errlen, path, "%s must be true or false", s->string);
        }
        if (i < PS_FINISH && cJSON_IsTrue(s))
            h->steps |= 1u << i;
    }
    return 0;
}

static const char *const prom_outcomes[PO_COUNT] = {
    [PO_PROMOTED] = "Promoted",
    [PO_FAILED] = "Failed",
    [PO_SUPERSEDED] = "Superseded",
    [PO_ABORTED] = "Aborted",
};

/* prom_outcome_name - the record's word. */
const char *prom_outcome_name(enum prom_outcome o)
{
    return (int)o >= 0 && o < PO_COUNT ? prom_outcomes[o] : "";
}

/* prom_outcome_parse - word to outcome (exact case). */
int prom_outcome_parse(const char *s)
{
    int i;

    for (i = 0; s && i < PO_COUNT; i++)
        if (strcmp(s, prom_outcomes[i]) == 0)
            return i;
    return -1;
}

/* rec_promotion_names - o[key], an optional array of at most
 * REC_PROMOTION_MAX_NAMES strings (names: REC_MAX_NAME bytes; reasons:
 * REC_MAX_TEXT), into *out (xcalloc'd, NULL when absent). */
static int rec_promotion_names(const cJSON *o, const char *path, const char *key, size_t max, struct rec_pool *p,
                               const char ***out, int *n, char *err, size_t errlen)
{
    const cJSON *a, *it;
    char ipath[96];
    int i = 0;

    *out = NULL;
    *n = 0;
    if (rec_member(o, path, key, cJSON_Array, REC_PROMOTION_MAX_NAMES, &a, err, errlen) < 0)
        return -1;
    if (!a)
        return 0;
    *out = xcalloc((size_t)cJSON_GetArraySize(a) + 1, sizeof(**out));
    cJSON_ArrayForEach(it, a) {
        snprintf(ipath, sizeof(ipath), "%s.%s[%d]", path, key, i++);
        if (!cJSON_IsString(it))
            return rec_err(err, errlen, ipath, "must be a string");
        if (strlen(it->valuestring) > max)
            return rec_err(err, errlen, ipath, "longer than %zu bytes", max);
        (*out)[(*n)++] = rec_pool_add(p, it->valuestring);
    }
    return 0;
}

/* rec_promotion_results_decode - "testResults" (an object). */
static int rec_promotion_results_decode(const cJSON *o, const char *path, struct rec_test_results *r,
                                        struct rec_pool *p, char *err, size_t errlen)
{
    if (rec_bool(o, path, "allPassed", 0, &r->all_passed, err, errlen) < 0 ||
        rec_bool(o, path, "anyFailed", 0, &r->any_failed, err, errlen) < 0 ||
        rec_bool(o, path, "anyRunning", 0, &r->any_running, err, errlen) < 0 ||
        rec_bool(o, path, "anyTimeout", 0, &r->any_timeout, err, errlen) < 0 ||
        rec_bool(o, path, "optionalTestsFailed", 0, &r->optional_failed, err, errlen) < 0 ||
        rec_promotion_names(o, path, "failureReasons", REC_MAX_TEXT, p, &r->reasons, &r->nreasons,
                            err, errlen) < 0 ||
        rec_promotion_names(o, path, "requiredFailed", REC_MAX_NAME, p, &r->required_failed,
                            &r->nrequired_failed, err, errlen) < 0 ||
        rec_promotion_names(o, path, "requiredTimedOut", REC_MAX_NAME, p, &r->required_timed_out,
                            &r->nrequired_timed_out, err, errlen) < 0 ||
        rec_promotion_names(o, path, "optionalFailed", REC_MAX_NAME, p, &r->optional_failed_names,
                            &r->noptional_failed, err, errlen) < 0)
        return -1;
    return 0;
}

/* rec_promotion_run_decode - one element of "testRuns". */
static int rec_promotion_run_decode(const cJSON *o, const char *path, struct rec_promotion_run *r,
                                    struct rec_pool *p, char *err, size_t errlen)
{
    if (!cJSON_IsObject(o))
        return rec_err(err, errlen, path, "must be an object");
    if (rec_str(o, path, "name", 1, REC_MAX_NAME, p, &r->name, err, errlen) < 0 ||
        rec_str(o, path, "provider", 0, REC_MAX_ID, p, &r->provider, err, errlen) < 0 ||
        rec_str(o, path, "status", 0, REC_MAX_ID, p, &r->status, err, errlen) < 0 ||
        rec_str(o, path, "url", 0, REC_MAX_URL, p, &r->url, err, errlen) < 0 ||
        rec_str(o, path, "key", 0, REC_MAX_ID, p, &r->key, err, errlen) < 0 ||
        rec_bool(o, path, "required", 1, &r->required, err, errlen) < 0 ||
        rec_int(o, path, "durationMs", 0, 0, INT64_MAX / 2, -1, &r->duration_ms, err, errlen) < 0)
        return -1;
    return 0;
}

/* rec_promotion_free - what one decoded entry allocated (its strings are
 * the record's pool's). */
static void rec_promotion_free(struct rec_promotion *e)
{
    free(e->runs);
    free(e->results.reasons);
    free(e->results.required_failed);
    free(e->results.required_timed_out);
    free(e->results.optional_failed_names);
}

/* rec_promoter_promotion_decode - one entry of "promotions". */
static int rec_promoter_promotion_decode(const cJSON *o, int i, struct rec_promotion *e, struct rec_pool *p,
                                         char *err, size_t errlen)
{
    char path[40], rpath[64];
    const cJSON *sup, *res, *runs, *it;
    int kind, promoted, j = 0;

    snprintf(path, sizeof(path), "promotions[%d]", i);
    if (!cJSON_IsObject(o))
        return rec_err(err, errlen, path, "must be an object");
    if (rec_str(o, path, "outcome", 0, REC_MAX_ID, p, &e->outcome, err, errlen) < 0 ||
        rec_str(o, path, "sourceEnvironment", 0, REC_MAX_NAME, p, &e->source, err, errlen) < 0 ||
        rec_str(o, path, "targetEnvironment", 0, REC_MAX_NAME, p, &e->target, err, errlen) < 0 ||
        rec_str(o, path, "headSHA", 0, 64, p, &e->head_sha, err, errlen) < 0 ||
        rec_str(o, path, "promotedAt", 0, REC_MAX_ID, p, &e->promoted_at, err, errlen) < 0 ||
        rec_str(o, path, "promotedBy", 0, REC_MAX_ID, p, &e->promoted_by, err, errlen) < 0 ||
        rec_str(o, path, "policy", 0, REC_MAX_NAME, p, &e->policy, err, errlen) < 0 ||
        rec_str(o, path, "key", 0, REC_MAX_ID, p, &e->key, err, errlen) < 0 ||
        rec_int(o, path, "generation", 0, 0, INT64_MAX / 2, 0, &e->generation, err, errlen) < 0 ||
        rec_str(o, path, "recordedAt", 0, REC_MAX_ID, p, &e->recorded_at, err, errlen) < 0 ||
        rec_str(o, path, "recordedBy", 0, REC_MAX_ID, p, &e->recorded_by, err, errlen) < 0 ||
        rec_str(o, path, "failure", 0, REC_MAX_ID, p, &e->failure, err, errlen) < 0 ||
        rec_str(o, path, "error", 0, REC_MAX_TEXT, p, &e->error, err, errlen) < 0 ||
        rec_member(o, path, "supersededBy", cJSON_Object, 16, &sup, err, errlen) < 0 ||
        rec_member(o, path, "testResults", cJSON_Object, 64, &res, err, errlen) < 0 ||
        rec_member(o, path, "testRuns", cJSON_Array, REC_PROMOTION_MAX_RUNS, &runs, err, errlen) < 0)
        return -1;
    if (!e->outcome[0]) {
        kind = PO_PROMOTED;           /* written before outcomes existed */
    } else if ((kind = prom_outcome_parse(e->outcome)) < 0) {
        return rec_err(err, errlen, path, "outcome \"%s\" is not one of Promoted, Failed, Superseded, Aborted",
                       e->outcome);
    }
    e->kind = (enum prom_outcome)kind;
    if (rec_bool(o, path, "promoted", kind == PO_PROMOTED, &promoted, err, errlen) < 0)
        return -1;
    if (promoted != (kind == PO_PROMOTED))
        return rec_err(err, errlen, path, "promoted is %s but the outcome is %s", promoted ? "true" : "false",
                       prom_outcome_name(e->kind));
    e->promoted = promoted;
    if (kind == PO_FAILED && strcmp(e->failure, "tests") != 0 && strcmp(e->failure, "promotion") != 0)
        return rec_err(err, errlen, path, "a Failed record needs failure \"tests\" or \"promotion\", not \"%s\"",
                       e->failure);
    if (kind != PO_FAILED && e->failure[0])
        return rec_err(err, errlen, path, "failure \"%s\" on a %s record", e->failure, prom_outcome_name(e->kind));
    e->superseded_by_sha = "";
    if (sup) {
        snprintf(rpath, sizeof(rpath), "%s.supersededBy", path);
        if (rec_str(sup, rpath, "headSHA", 1, 64, p, &e->superseded_by_sha, err, errlen) < 0 ||
            rec_int(sup, rpath, "generation", 0, 0, INT64_MAX / 2, 0, &e->superseded_by_gen, err, errlen) < 0)
            return -1;
    }
    if (res) {
        snprintf(rpath, sizeof(rpath), "%s.testResults", path);
        e->has_results = 1;
        if (rec_promotion_results_decode(res, rpath, &e->results, p, err, errlen) < 0)
            return -1;
    }
    if (runs) {
        e->has_runs = 1;
        e->runs = xcalloc((size_t)cJSON_GetArraySize(runs) + 1, sizeof(*e->runs));
        cJSON_ArrayForEach(it, runs) {
            snprintf(rpath, sizeof(rpath), "%s.testRuns[%d]", path, j++);
            if (rec_promotion_run_decode(it, rpath, &e->runs[e->nruns++], p, err, errlen) < 0)
                return -1;
        }
    }
    return 0;
}

/* rec_promotion_str - o[key] = s, or null for "". */
static void rec_promotion_str(cJSON *o, const char *key, const char *s)
{
    if (s && s[0])
        cJSON_AddStringToObject(o, key, s);
    else
        cJSON_AddNullToObject(o, key);
}

/* rec_promotion_names_encode - an array of n strings. */
static cJSON *rec_promotion_names_encode(const char *const *v, int n)
{
    cJSON *a = cJSON_CreateArray();
    int i;

    for (i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
    return a;
}

/* rec_promotion_encode - the JSON of one PromotionRecord. */
cJSON *rec_promotion_encode(const struct rec_promotion *e)
{
    cJSON *o = cJSON_CreateObject(), *r, *a;
    int i;

    cJSON_AddStringToObject(o, "outcome", prom_outcome_name(e->kind));
    cJSON_AddBoolToObject(o, "promoted", e->kind == PO_PROMOTED);
    cJSON_AddStringToObject(o, "sourceEnvironment", e->source ? e->source : "");
    cJSON_AddStringToObject(o, "targetEnvironment", e->target ? e->target : "");
    cJSON_AddStringToObject(o, "headSHA", e->head_sha ? e->head_sha : "");
    cJSON_AddNumberToObject(o, "generation", (double)e->generation);
    rec_promotion_str(o, "promotedAt", e->promoted_at);
    rec_promotion_str(o, "promotedBy", e->promoted_by);
    rec_promotion_str(o, "recordedAt", e->recorded_at);
    rec_promotion_str(o, "recordedBy", e->recorded_by);
    rec_promotion_str(o, "policy", e->policy);
    rec_promotion_str(o, "key", e->key);
    rec_promotion_str(o, "failure", e->failure);
    rec_promotion_str(o, "error", e->error);
    if (e->superseded_by_sha && e->superseded_by_sha[0]) {
        r = cJSON_AddObjectToObject(o, "supersededBy");
        cJSON_AddStringToObject(r, "headSHA", e->superseded_by_sha);
        cJSON_AddNumberToObject(r, "generation", (double)e->superseded_by_gen);
    }
    if (e->has_results) {
        const struct rec_test_results *t = &e->results;
        r = cJSON_AddObjectToObject(o, "testResults");
        cJSON_AddBoolToObject(r, "allPassed", t->all_passed);
        cJSON_AddBoolToObject(r, "anyFailed", t->any_failed);
        cJSON_AddBoolToObject(r, "anyRunning", t->any_running);
        cJSON_AddBoolToObject(r, "anyTimeout", t->any_timeout);
        cJSON_AddBoolToObject(r, "optionalTestsFailed", t->optional_failed);
        cJSON_AddItemToObject(r, "failureReasons", rec_promotion_names_encode(t->reasons, t->nreasons));
        cJSON_AddItemToObject(r, "requiredFailed", rec_promotion_names_encode(t->required_failed,
                                                                               t->nrequired_failed));
        cJSON_AddItemToObject(r, "requiredTimedOut", rec_promotion_names_encode(t->required_timed_out,
                                                                                 t->nrequired_timed_out));
        cJSON_AddItemToObject(r, "optionalFailed", rec_promotion_names_encode(t->optional_failed_names,
                                                                               t->noptional_failed));
    }
    if (e->has_runs) {
        a = cJSON_AddArrayToObject(o, "testRuns");
        for (i = 0; i < e->nruns; i++) {
            const struct rec_promotion_run *x = &e->runs[i];
            r = cJSON_CreateObject();
            cJSON_AddStringToObject(r, "name", x->name);
            cJSON_AddStringToObject(r, "provider", x->provider ? x->provider : "");
            cJSON_AddBoolToObject(r, "required", x->required);
            cJSON_AddStringToObject(r, "status", x->status && x->status[0] ? x->status : "unknown");
            rec_promotion_str(r, "url", x->url);
            if (x->duration_ms >= 0)
                cJSON_AddNumberToObject(r, "durationMs", (double)x->duration_ms);
            else
                cJSON_AddNullToObject(r, "durationMs");
            rec_promotion_str(r, "key", x->key);
            cJSON_AddItemToArray(a, r);
        }
    }
    return o;
}

/* rec_promoter_decode - the whole record. */
int rec_promoter_decode(const cJSON *o, const char *name, struct rec_promoter *r, char *err, size_t errlen)
{
    const cJSON *hops, *proms, *it;
    int i = 0;

    memset(r, 0, sizeof(*r));
    if (rec_head(o, "name", name, 0, &r->pool, &r->name, &r->generation, &r->head_sha, err, errlen) < 0 ||
        rec_member(o, "", "hops", cJSON_Object, REC_PROMOTER_MAX_HOPS, &hops, err, errlen) < 0 ||
        rec_member(o, "", "promotions", cJSON_Array, REC_PROMOTER_MAX_PROMOTIONS, &proms, err, errlen) < 0)
        goto fail;
    if (!hops) {
        rec_err(err, errlen, "hops", "required");
        goto fail;
    }
    r->hops = xcalloc((size_t)cJSON_GetArraySize(hops) + 1, sizeof(*r->hops));
    cJSON_ArrayForEach(it, hops)
        if (rec_promoter_hop_decode(it, &r->hops[r->nhops++], &r->pool, err, errlen) < 0)
            goto fail;
    r->promotions = xcalloc((size_t)cJSON_GetArraySize(proms) + 1, sizeof(*r->promotions));
    cJSON_ArrayForEach(it, proms)
        if (rec_promoter_promotion_decode(it, i++, &r->promotions[r->npromotions++], &r->pool, err, errlen) < 0)
            goto fail;
    return 0;
fail:
    rec_promoter_free(r);
    return -1;
}

/* rec_promoter_free - release r. */
void rec_promoter_free(struct rec_promoter *r)
{
    int i;

    for (i = 0; r->promotions && i < r->npromotions; i++)
        rec_promotion_free(&r->promotions[i]);
    free(r->hops);
    free(r->promotions);
    rec_pool_free(&r->pool);
    memset(r, 0, sizeof(*r));
}

/* rec_promoter_hop - by source environment (the key of "hops"). */
const struct rec_promoter_hop *rec_promoter_hop(const struct rec_promoter *r, const char *source)
{
    int i;

    for (i = 0; i < r->nhops; i++)
        if (strcmp(r->hops[i].source, source) == 0)
            return &r->hops[i];
    return NULL;
}

/* rec_promoter_load - store_read, decode, check the head. */
int rec_promoter_load(struct store *s, const char *name, const struct tracker *t, struct rec_promoter *r,
                   char *err, size_t errlen)
{
    cJSON *o;
    int rc;

    memset(r, 0, sizeof(*r));
    rc = rec_read(s, "promoter", name, &o, err, errlen);
    if (rc < 0)
        return rc;
    rc = rec_promoter_decode(o, name, r, err, errlen) < 0 ? -EBADMSG : 0;
    cJSON_Delete(o);
    if (rc == 0 && (rc = rec_stale(t, r->generation, r->head_sha, err, errlen)) < 0)
        rec_promoter_free(r);
    return rc;
}
