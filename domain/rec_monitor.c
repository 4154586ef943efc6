/* rec_monitor.c - the monitor record's decoder (rec_monitor.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/rec_monitor.h"
#include "util/util.h"

/* rec_monitor_test_decode - one entry of a hop's "tests". */
static int rec_monitor_test_decode(const cJSON *o, const char *hpath, struct rec_monitor_test *t,
                                   struct rec_pool *p, char *err, size_t errlen)
{
    char path[REC_MAX_NAME + REC_MAX_ID + 32];

    if (strlen(o->string) > REC_MAX_ID)
        return rec_err(err, errlen, hpath, "tests: a key longer than %d bytes", REC_MAX_ID);
    snprintf(path, sizeof(path), "%s.tests.%s", hpath, o->string);
    if (!cJSON_IsObject(o))
        return rec_err(err, errlen, path, "must be an object");
    t->name = rec_pool_add(p, o->string);
    if (rec_str(o, path, "key", 0, REC_MAX_ID, p, &t->key, err, errlen) < 0 ||
        rec_str(o, path, "provider", 0, REC_MAX_ID, p, &t->provider, err, errlen) < 0 ||
        rec_str(o, path, "status", 0, REC_MAX_ID, p, &t->status, err, errlen) < 0 ||
        rec_str(o, path, "ciStatus", 0, REC_MAX_ID, p, &t->ci_status, err, errlen) < 0 ||
        rec_str(o, path, "detail", 0, REC_MAX_TEXT, p, &t->detail, err, errlen) < 0 ||
        rec_str(o, path, "url", 0, REC_MAX_URL, p, &t->url, err, errlen) < 0 ||
        rec_str(o, path, "runId", 0, REC_MAX_ID, p, &t->run_id, err, errlen) < 0 ||
        rec_str(o, path, "error", 0, REC_MAX_TEXT, p, &t->error, err, errlen) < 0 ||
        rec_str(o, path, "deadline", 0, REC_MAX_ID, p, &t->deadline, err, errlen) < 0 ||
        rec_str(o, path, "deadlineReason", 0, REC_MAX_ID, p, &t->deadline_reason, err, errlen) < 0 ||
        rec_str(o, path, "finishedAt", 0, REC_MAX_ID, p, &t->finished_at, err, errlen) < 0 ||
        rec_str(o, path, "lastPolledAt", 0, REC_MAX_ID, p, &t->last_polled_at, err, errlen) < 0 ||
        rec_bool(o, path, "required", 1, &t->required, err, errlen) < 0 ||
        rec_bool(o, path, "timedOut", 0, &t->timed_out, err, errlen) < 0 ||
        rec_bool(o, path, "cancelled", 0, &t->cancelled, err, errlen) < 0 ||
        rec_int(o, path, "durationMs", 0, 0, INT64_MAX / 4, -1, &t->duration_ms, err, errlen) < 0)
        return -1;
    return 0;
}

/* rec_monitor_aggregate - a hop's "aggregate" (aggregate_to_json's shape
 * plus decidedAt). Its flags may be absent (false), not of another type. */
static int rec_monitor_aggregate(const cJSON *o, const char *hpath, struct rec_monitor_hop *h, struct rec_pool *p,
                                 char *err, size_t errlen)
{
    struct aggregate *a = &h->aggregate;
    char path[REC_MAX_NAME + 32];
    const cJSON *reasons, *it;

    snprintf(path, sizeof(path), "%s.aggregate", hpath);
    if (rec_bool(o, path, "decided", 0, &a->decided, err, errlen) < 0 ||
        rec_bool(o, path, "allPassed", 0, &a->all_passed, err, errlen) < 0 ||
        rec_bool(o, path, "anyFailed", 0, &a->any_failed, err, errlen) < 0 ||
        rec_bool(o, path, "anyRunning", 0, &a->any_running, err, errlen) < 0 ||
        rec_bool(o, path, "anyTimeout", 0, &a->any_timeout, err, errlen) < 0 ||
        rec_bool(o, path, "optionalTestsFailed", 0, &a->optional_failed, err, errlen) < 0 ||
        rec_str(o, path, "decidedAt", 0, REC_MAX_ID, p, &h->decided_at, err, errlen) < 0 ||
        rec_member(o, path, "failureReasons", cJSON_Array, REC_MONITOR_MAX_TESTS, &reasons, err, errlen) < 0)
        return -1;
    cJSON_ArrayForEach(it, reasons)
        if (!cJSON_IsString(it) || strlen(it->valuestring) >= AGGREGATE_MAX_REASON)
            return rec_err(err, errlen, path, "failureReasons: each must be a string shorter than %d bytes",
                           AGGREGATE_MAX_REASON);
    if (cJSON_GetArraySize(reasons) > 0) {
        a->reasons = xcalloc((size_t)cJSON_GetArraySize(reasons), sizeof(*a->reasons));
        cJSON_ArrayForEach(it, reasons)
            a->reasons[a->nreasons++] = xstrdup(it->valuestring);
    }
    h->has_aggregate = 1;
    return 0;
}

static const char *const rec_monitor_revs[] = {
    [RMR_NONE] = "", [RMR_PENDING] = "pending", [RMR_CONFIRMED] = "confirmed",
    [RMR_CHANGED] = "changed", [RMR_UNVERIFIED] = "unverified",
};

/* rec_monitor_rev_name - the word of r. */
const char *rec_monitor_rev_name(enum rec_monitor_rev r)
{
    return (int)r >= 0 && (size_t)r < ARRAY_LEN(rec_monitor_revs) ? rec_monitor_revs[r] : "";
}

/* rec_monitor_check - a hop's "revisionCheck": outcome required and one of
 * the words; a failed one (changed, unverified) must say why. */
static int rec_monitor_check(const cJSON *o, const char *hpath, struct rec_monitor_check *c, struct rec_pool *p,
                             char *err, size_t errlen)
{
    char path[REC_MAX_NAME + 32];
    const char *outcome;
    size_t i;

    snprintf(path, sizeof(path), "%s.revisionCheck", hpath);
    if (rec_str(o, path, "outcome", 1, REC_MAX_ID, p, &outcome, err, errlen) < 0 ||
        rec_str(o, path, "cluster", 0, REC_MAX_NAME, p, &c->cluster, err, errlen) < 0 ||
        rec_str(o, path, "application", 0, REC_MAX_NAME, p, &c->application, err, errlen) < 0 ||
        rec_str(o, path, "expected", 0, REC_MAX_ID, p, &c->expected, err, errlen) < 0 ||
        rec_str(o, path, "revision", 0, REC_MAX_ID, p, &c->revision, err, errlen) < 0 ||
        rec_str(o, path, "sync", 0, REC_MAX_ID, p, &c->sync, err, errlen) < 0 ||
        rec_str(o, path, "health", 0, REC_MAX_ID, p, &c->health, err, errlen) < 0 ||
        rec_str(o, path, "checkedAt", 0, REC_MAX_ID, p, &c->checked_at, err, errlen) < 0 ||
        rec_str(o, path, "error", 0, REC_MAX_TEXT, p, &c->error, err, errlen) < 0 ||
        rec_str(o, path, "reason", 0, REC_MAX_TEXT, p, &c->reason, err, errlen) < 0 ||
        rec_int(o, path, "attempts", 0, 0, 1000000000, 0, &c->attempts, err, errlen) < 0)
        return -1;
    for (i = 1; i < ARRAY_LEN(rec_monitor_revs); i++)
        if (strcmp(outcome, rec_monitor_revs[i]) == 0)
            break;
    if (i == ARRAY_LEN(rec_monitor_revs))
        return rec_err(err, errlen, path, "outcome: must be pending, confirmed, changed or unverified, not \"%.64s\"",
                       outcome);
    c->outcome = (enum rec_monitor_rev)i;
    if ((c->outcome == RMR_CHANGED || c->outcome == RMR_UNVERIFIED) && !c->reason[0])
        return rec_err(err, errlen, path, "reason: required when the outcome is %s", outcome);
    return 0;
}

/* rec_monitor_hop_decode - one entry of "hops". */
static int rec_monitor_hop_decode(const cJSON *o, struct rec_monitor_hop *h, struct rec_pool *p,
                                  char *err, size_t errlen)
{
    char path[REC_MAX_NAME + 16];
    const cJSON *tests, *te, *agg, *wait, *check;
    const char *src;

    if (strlen(o->string) > REC_MAX_NAME)
        return rec_err(err, errlen, "hops", "a key longer than %d bytes", REC_MAX_NAME);
    snprintf(path, sizeof(path), "hops.%s", o->string);
    if (!cJSON_IsObject(o))
        return rec_err(err, errlen, path, "must be an object");
    h->source = rec_pool_add(p, o->string);     /* the key is the source environment */
    if (rec_str(o, path, "source", 0, REC_MAX_NAME, p, &src, err, errlen) < 0 ||
        rec_str(o, path, "target", 0, REC_MAX_NAME, p, &h->target, err, errlen) < 0 ||
        rec_str(o, path, "policy", 0, REC_MAX_NAME, p, &h->policy, err, errlen) < 0 ||
        rec_str(o, path, "startedAt", 0, REC_MAX_ID, p, &h->started_at, err, errlen) < 0 ||
        rec_str(o, path, "policyDeadline", 0, REC_MAX_ID, p, &h->policy_deadline, err, errlen) < 0 ||
        rec_member(o, path, "tests", cJSON_Object, REC_MONITOR_MAX_TESTS, &tests, err, errlen) < 0 ||
        rec_member(o, path, "aggregate", cJSON_Object, 64, &agg, err, errlen) < 0 ||
        rec_member(o, path, "waitingOn", cJSON_Array, REC_MONITOR_MAX_TESTS + 1, &wait, err, errlen) < 0 ||
        rec_member(o, path, "revisionCheck", cJSON_Object, 16, &check, err, errlen) < 0)
        return -1;
    if (check && rec_monitor_check(check, path, &h->check, p, err, errlen) < 0)
        return -1;
    h->decided_at = "";
    h->has_tests = tests != NULL;
    h->tests = xcalloc((size_t)cJSON_GetArraySize(tests) + 1, sizeof(*h->tests));
    cJSON_ArrayForEach(te, tests)
        if (rec_monitor_test_decode(te, path, &h->tests[h->ntests++], p, err, errlen) < 0)
            return -1;
    return agg ? rec_monitor_aggregate(agg, path, h, p, err, errlen) : 0;
}

/* rec_monitor_decode - name, generation, headSHA, hops. */
int rec_monitor_decode(const cJSON *o, const char *name, struct rec_monitor *r, char *err, size_t errlen)
{
    const cJSON *hops, *it;

    memset(r, 0, sizeof(*r));
    if (rec_head(o, "name", name, 0, &r->pool, &r->name, &r->generation, &r->head_sha, err, errlen) < 0 ||
        rec_member(o, "", "hops", cJSON_Object, REC_MONITOR_MAX_HOPS, &hops, err, errlen) < 0)
        goto fail;
    if (!hops) {
        rec_err(err, errlen, "hops", "required");
        goto fail;
    }
    r->hops = xcalloc((size_t)cJSON_GetArraySize(hops) + 1, sizeof(*r->hops));
    cJSON_ArrayForEach(it, hops)
        if (rec_monitor_hop_decode(it, &r->hops[r->nhops++], &r->pool, err, errlen) < 0)
            goto fail;
    return 0;
fail:
    rec_monitor_free(r);
    return -1;
}

/* rec_monitor_free - release r. */
void rec_monitor_free(struct rec_monitor *r)
{
    int i;

    for (i = 0; i < r->nhops; i++) {
        free(r->hops[i].tests);
        aggregate_free(&r->hops[i].aggregate);
    }
    free(r->hops);
    rec_pool_free(&r->pool);
    memset(r, 0, sizeof(*r));
}

/* rec_monitor_hop - by source. */
const struct rec_monitor_hop *rec_monitor_hop(const struct rec_monitor *r, const char *source)
{
    int i;

    for (i = 0; i < r->nhops; i++)
        if (strcmp(r->hops[i].source, source) == 0)
            return &r->hops[i];
    return NULL;
}

/* rec_monitor_hop_test - by name. */
const struct rec_monitor_test *rec_monitor_hop_test(const struct rec_monitor_hop *h, const char *name)
{
    int i;

    for (i = 0; h && i < h->ntests; i++)
        if (strcmp(h->tests[i].name, name) == 0)
            return &h->tests[i];
    return NULL;
}

/* rec_monitor_voided - the check voided the results. */
int rec_monitor_voided(const struct rec_monitor_hop *h)
{
    return h && (h->check.outcome == RMR_CHANGED || h->check.outcome == RMR_UNVERIFIED);
}

/* rec_monitor_decided - a decided aggregate. */
int rec_monitor_decided(const struct rec_monitor_hop *h)
{
    return h && h->has_aggregate && h->aggregate.decided;
}

/* rec_monitor_load - store_read, decode, check the head. */
int rec_monitor_load(struct store *s, const char *name, const struct tracker *t, struct rec_monitor *r,
                   char *err, size_t errlen)
{
    cJSON *o;
    int rc;

    memset(r, 0, sizeof(*r));
    rc = rec_read(s, "monitor", name, &o, err, errlen);
    if (rc < 0)
        return rc;
    rc = rec_monitor_decode(o, name, r, err, errlen) < 0 ? -EBADMSG : 0;
    cJSON_Delete(o);
    if (rc == 0 && (rc = rec_stale(t, r->generation, r->head_sha, err, errlen)) < 0)
        rec_monitor_free(r);
    return rc;
}
