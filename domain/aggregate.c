/* aggregate.c - TestAggregateResult: the outcome of a hop's promotion tests
 * from their individual results (see aggregate.h for the definitions), and
 * its JSON form for the monitor record and the monitor's message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/aggregate.h"
#include "util/log.h"
#include "util/util.h"

/* aggregate_outcome - error first, then promo's deadline, then the CI. */
enum agg_outcome aggregate_outcome(const struct agg_test *t)
{
    if (t->error)
        return AGG_ERROR;
    if (t->timed_out)
        return AGG_TIMED_OUT;
    switch (t->status) {
    case RUN_PASSED:    return AGG_PASSED;
    case RUN_FAILED:    return AGG_FAILED;
    case RUN_CANCELLED: return AGG_CANCELLED;
    case RUN_TIMED_OUT: return AGG_TIMED_OUT;
    case RUN_UNKNOWN:
    case RUN_QUEUED:
    case RUN_RUNNING:
        break;
    }
    return AGG_RUNNING;           /* and any value outside the enum: not a pass */
}

/* aggregate_outcome_name - the word used in failure reasons. */
const char *aggregate_outcome_name(enum agg_outcome o)
{
    switch (o) {
    case AGG_RUNNING:   return "running";
    case AGG_PASSED:    return "passed";
    case AGG_FAILED:    return "failed";
    case AGG_CANCELLED: return "cancelled";
    case AGG_TIMED_OUT: return "timed out";
    case AGG_ERROR:     return "error";
    }
    return "?";
}

/* aggregate_reason - "NAME[ (optional)]: OUTCOME[ (DETAIL)][ URL]", cut to
 * AGGREGATE_MAX_REASON bytes. */
static char *aggregate_reason(const struct agg_test *t, enum agg_outcome o)
{
    char buf[AGGREGATE_MAX_REASON];
    int n;

    n = snprintf(buf, sizeof(buf), "%s%s: %s", t->name ? t->name : "?",
                 t->required ? "" : " (optional)", aggregate_outcome_name(o));
    if (n > 0 && (size_t)n < sizeof(buf) && t->detail && *t->detail)
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, " (%s)", t->detail);
    if (n > 0 && (size_t)n < sizeof(buf) && t->url && *t->url)
        snprintf(buf + n, sizeof(buf) - (size_t)n, " %s", t->url);
    return xstrdup(buf);
}

/* aggregate_compute - one pass over the tests (see aggregate.h). */
void aggregate_compute(const struct agg_test *tests, size_t n, struct aggregate *a)
{
    size_t i;

    memset(a, 0, sizeof(*a));
    a->all_passed = 1;
    if (n)
        a->reasons = xcalloc(n, sizeof(*a->reasons));
    for (i = 0; i < n; i++) {
        const struct agg_test *t = &tests[i];
        enum agg_outcome o = aggregate_outcome(t);

        if (o == AGG_RUNNING) {
            a->any_running = 1;
            if (t->required)
                a->all_passed = 0;
            continue;
        }
        if (o == AGG_PASSED)
            continue;
        if (o == AGG_TIMED_OUT)
            a->any_timeout = 1;
        if (t->required) {
            a->any_failed = 1;
            a->all_passed = 0;
        } else {
            a->optional_failed = 1;
        }
        a->reasons[a->nreasons++] = aggregate_reason(t, o);
    }
    a->decided = a->any_failed || a->all_passed;
}

/* aggregate_free - release the reasons. */
void aggregate_free(struct aggregate *a)
{
    int i;

    for (i = 0; i < a->nreasons; i++)
        free(a->reasons[i]);
    free(a->reasons);
    memset(a, 0, sizeof(*a));
}

/* aggregate_to_json - the JSON object of a. */
cJSON *aggregate_to_json(const struct aggregate *a)
{
    cJSON *o = cJSON_CreateObject(), *r = cJSON_CreateArray();
    int i;

    if (!o || !r)
        log_fatal(EXIT_TEMP, "out_of_memory", "where=aggregate_to_json");
    cJSON_AddBoolToObject(o, "decided", a->decided);
    cJSON_AddBoolToObject(o, "allPassed", a->all_passed);
    cJSON_AddBoolToObject(o, "anyFailed", a->any_failed);
    cJSON_AddBoolToObject(o, "anyRunning", a->any_running);
    cJSON_AddBoolToObject(o, "anyTimeout", a->any_timeout);
    cJSON_AddBoolToObject(o, "optionalTestsFailed", a->optional_failed);
    for (i = 0; i < a->nreasons; i++)
        cJSON_AddItemToArray(r, cJSON_CreateString(a->reasons[i]));
    cJSON_AddItemToObject(o, "failureReasons", r);
    return o;
}

/* aggregate_bool - o.key as 0/1, or -1 when absent or not a boolean. */
static int aggregate_bool(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : -1;
}

/* aggregate_copy - see aggregate.h. */
void aggregate_copy(struct aggregate *dst, const struct aggregate *src)
{
    int i;

    *dst = *src;
    dst->reasons = NULL;
    if (src->nreasons > 0) {
        dst->reasons = xcalloc((size_t)src->nreasons, sizeof(*dst->reasons));
        for (i = 0; i < src->nreasons; i++)
            dst->reasons[i] = xstrdup(src->reasons[i]);
    }
}

/* aggregate_from_json - strict decoder of aggregate_to_json's shape. */
int aggregate_from_json(const cJSON *o, struct aggregate *a)
{
    static const char *const keys[] = { "decided", "allPassed", "anyFailed", "anyRunning",
                                        "anyTimeout", "optionalTestsFailed" };
    int v[ARRAY_LEN(keys)], n;
    const cJSON *r, *it;
    size_t i;

    memset(a, 0, sizeof(*a));
    if (!cJSON_IsObject(o))
        return -1;
    for (i = 0; i < ARRAY_LEN(keys); i++)
        if ((v[i] = aggregate_bool(o, keys[i])) < 0)
            return -1;
    r = cJSON_GetObjectItemCaseSensitive(o, "failureReasons");
    if (!cJSON_IsArray(r))
        return -1;
    n = cJSON_GetArraySize(r);
    cJSON_ArrayForEach(it, r)
        if (!cJSON_IsString(it))
            return -1;
    a->decided = v[0];
    a->all_passed = v[1];
    a->any_failed = v[2];
    a->any_running = v[3];
    a->any_timeout = v[4];
    a->optional_failed = v[5];
    if (n > 0) {
        a->reasons = xcalloc((size_t)n, sizeof(*a->reasons));
        cJSON_ArrayForEach(it, r)
            a->reasons[a->nreasons++] = xstrndup(it->valuestring, AGGREGATE_MAX_REASON - 1);
    }
    return 0;
}
