/* test_aggregate.c - the test aggregate (TestAggregateResult + decided),
 * table-driven: every single test kind required and optional, pairs of
 * them, the empty list, the failure reasons' text and the JSON round trip. */
#include <stdio.h>
#include <string.h>

#include "domain/aggregate.h"
#include "util/util.h"
#include "unit.h"

/* The kinds of test result a hop can hold. */
enum kind { K_PASSED, K_FAILED, K_RUNNING, K_QUEUED, K_UNKNOWN, K_CI_TIMEOUT, K_PROMO_TIMEOUT,
            K_CANCELLED, K_ERROR, K_COUNT };

static const char *const kind_name[K_COUNT] = {
    "passed", "failed", "running", "queued", "unknown", "timed-out (CI)",
    "timed-out (promo)", "cancelled", "error"
};

/* test_of - an agg_test of kind k. */
static struct agg_test test_of(const char *name, int required, enum kind k)
{
    struct agg_test t;

    memset(&t, 0, sizeof(t));
    t.name = name;
    t.required = required;
    t.url = "https://ci/x/1";
    switch (k) {
    case K_PASSED: t.status = RUN_PASSED; t.detail = "SUCCESS"; break;
    case K_FAILED: t.status = RUN_FAILED; t.detail = "FAILURE"; break;
    case K_RUNNING: t.status = RUN_RUNNING; break;
    case K_QUEUED: t.status = RUN_QUEUED; break;
    case K_UNKNOWN: t.status = RUN_UNKNOWN; t.url = NULL; break;
    case K_CI_TIMEOUT: t.status = RUN_TIMED_OUT; t.detail = "completed/timed_out"; break;
    case K_PROMO_TIMEOUT: t.status = RUN_RUNNING; t.timed_out = 1; t.detail = "test timeout 2s"; break;
    case K_CANCELLED: t.status = RUN_CANCELLED; t.detail = "ABORTED"; break;
    case K_ERROR: t.status = RUN_UNKNOWN; t.error = 1; t.detail = "409 not buildable"; t.url = NULL; break;
    default: break;
    }
    return t;
}

/* Expected flags: decided, allPassed, anyFailed, anyRunning, anyTimeout, optionalTestsFailed, reasons. */
struct want {
    int decided, all, failed, running, timeout, optfail, nreasons;
};

/* One test alone, required (r=1) and optional (r=0). */
static const struct {
    enum kind k;
    int required;
    struct want w;
} single[] = {
    { K_PASSED, 1,        { 1, 1, 0, 0, 0, 0, 0 } },
    { K_FAILED, 1,        { 1, 0, 1, 0, 0, 0, 1 } },
    { K_RUNNING, 1,       { 0, 0, 0, 1, 0, 0, 0 } },
    { K_QUEUED, 1,        { 0, 0, 0, 1, 0, 0, 0 } },
    { K_UNKNOWN, 1,       { 0, 0, 0, 1, 0, 0, 0 } },
    { K_CI_TIMEOUT, 1,    { 1, 0, 1, 0, 1, 0, 1 } },
    { K_PROMO_TIMEOUT, 1, { 1, 0, 1, 0, 1, 0, 1 } },
    { K_CANCELLED, 1,     { 1, 0, 1, 0, 0, 0, 1 } },
    { K_ERROR, 1,         { 1, 0, 1, 0, 0, 0, 1 } },
    /* optional tests never block and are never waited for */
    { K_PASSED, 0,        { 1, 1, 0, 0, 0, 0, 0 } },
    { K_FAILED, 0,        { 1, 1, 0, 0, 0, 1, 1 } },
    { K_RUNNING, 0,       { 1, 1, 0, 1, 0, 0, 0 } },
    { K_QUEUED, 0,        { 1, 1, 0, 1, 0, 0, 0 } },
    { K_UNKNOWN, 0,       { 1, 1, 0, 1, 0, 0, 0 } },
    { K_CI_TIMEOUT, 0,    { 1, 1, 0, 0, 1, 1, 1 } },
    { K_PROMO_TIMEOUT, 0, { 1, 1, 0, 0, 1, 1, 1 } },
    { K_CANCELLED, 0,     { 1, 1, 0, 0, 0, 1, 1 } },
    { K_ERROR, 0,         { 1, 1, 0, 0, 0, 1, 1 } },
};

/* Several tests together. */
static const struct {
    const char *desc;
    enum kind k[3];
    int required[3];
    int n;
    struct want w;
} multi[] = {
    { "required passed + required running", { K_PASSED, K_RUNNING }, { 1, 1 }, 2, { 0, 0, 0, 1, 0, 0, 0 } },
    { "required failed + required running: decided at once", { K_FAILED, K_RUNNING }, { 1, 1 }, 2,
      { 1, 0, 1, 1, 0, 0, 1 } },
    { "required passed + optional failed", { K_PASSED, K_FAILED }, { 1, 0 }, 2, { 1, 1, 0, 0, 0, 1, 1 } },
    { "required passed + optional running: not waited for", { K_PASSED, K_RUNNING }, { 1, 0 }, 2,
      { 1, 1, 0, 1, 0, 0, 0 } },
    { "required running + optional failed", { K_RUNNING, K_FAILED }, { 1, 0 }, 2, { 0, 0, 0, 1, 0, 1, 1 } },
    { "required passed + optional timed out", { K_PASSED, K_PROMO_TIMEOUT }, { 1, 0 }, 2,
      { 1, 1, 0, 0, 1, 1, 1 } },
    { "required timed out + required failed", { K_PROMO_TIMEOUT, K_FAILED }, { 1, 1 }, 2,
      { 1, 0, 1, 0, 1, 0, 2 } },
    { "three required passed", { K_PASSED, K_PASSED, K_PASSED }, { 1, 1, 1 }, 3, { 1, 1, 0, 0, 0, 0, 0 } },
    { "two passed, one queued", { K_PASSED, K_QUEUED, K_PASSED }, { 1, 1, 1 }, 3, { 0, 0, 0, 1, 0, 0, 0 } },
    { "required error + optional cancelled + required passed", { K_ERROR, K_CANCELLED, K_PASSED },
      { 1, 0, 1 }, 3, { 1, 0, 1, 0, 0, 1, 2 } },
};

/* check - compare a with w; one unit_ok line. */
static void check(const struct aggregate *a, const struct want *w, const char *desc)
{
    int ok = a->decided == w->decided && a->all_passed == w->all && a->any_failed == w->failed &&
             a->any_running == w->running && a->any_timeout == w->timeout &&
             a->optional_failed == w->optfail && a->nreasons == w->nreasons;

    if (!ok)
        unit_note("got decided=%d all=%d failed=%d running=%d timeout=%d optfail=%d reasons=%d",
                  a->decided, a->all_passed, a->any_failed, a->any_running, a->any_timeout,
                  a->optional_failed, a->nreasons);
    unit_ok(ok, "%s", desc);
}

/* check_pairs - every pair of kinds, required and optional, against the
 * definitions of aggregate.h stated independently. */
static void check_pairs(void)
{
    int bad = 0, k1, k2, r1, r2;

    for (k1 = 0; k1 < K_COUNT; k1++)
        for (k2 = 0; k2 < K_COUNT; k2++)
            for (r1 = 0; r1 < 2; r1++)
                for (r2 = 0; r2 < 2; r2++) {
                    struct agg_test t[2] = { test_of("a", r1, (enum kind)k1), test_of("b", r2, (enum kind)k2) };
                    int k[2] = { k1, k2 }, r[2] = { r1, r2 }, i;
                    int all = 1, failed = 0, running = 0, timeout = 0, optfail = 0, nfail = 0;
                    struct aggregate a;

                    for (i = 0; i < 2; i++) {
                        int fin_bad = k[i] == K_FAILED || k[i] == K_CI_TIMEOUT || k[i] == K_PROMO_TIMEOUT ||
                                      k[i] == K_CANCELLED || k[i] == K_ERROR;
                        int run = k[i] == K_RUNNING || k[i] == K_QUEUED || k[i] == K_UNKNOWN;
                        if (r[i] && k[i] != K_PASSED)
                            all = 0;
                        if (r[i] && fin_bad)
                            failed = 1;
                        if (!r[i] && fin_bad)
                            optfail = 1;
                        if (run)
                            running = 1;
                        if (k[i] == K_CI_TIMEOUT || k[i] == K_PROMO_TIMEOUT)
                            timeout = 1;
                        nfail += fin_bad;
                    }
                    aggregate_compute(t, 2, &a);
                    if (a.all_passed != all || a.any_failed != failed || a.any_running != running ||
                        a.any_timeout != timeout || a.optional_failed != optfail ||
                        a.nreasons != nfail || a.decided != (failed || all)) {
                        unit_note("pair %s/%s + %s/%s wrong", kind_name[k1], r1 ? "required" : "optional",
                                  kind_name[k2], r2 ? "required" : "optional");
                        bad++;
                    }
                    aggregate_free(&a);
                }
    unit_ok(bad == 0, "every pair of kinds, required and optional (%d combinations)",
            K_COUNT * K_COUNT * 4);
}

/* Failure reasons, word for word. */
static const struct {
    struct agg_test t;
    const char *want;
} reasons[] = {
    { { "smoke", 1, RUN_FAILED, 0, 0, "FAILURE", "https://ci/job/smoke/17/" },
      "smoke: failed (FAILURE) https://ci/job/smoke/17/" },
    { { "lint", 0, RUN_FAILED, 0, 0, "FAILURE", "https://ci/lint/3" },
      "lint (optional): failed (FAILURE) https://ci/lint/3" },
    { { "e2e", 1, RUN_RUNNING, 1, 0, "test timeout 2s passed at 2026-11-28T04:30:02.140Z", "https://gh/run/9" },
      "e2e: timed out (test timeout 2s passed at 2026-11-28T04:30:02.140Z) https://gh/run/9" },
    { { "e2e", 1, RUN_TIMED_OUT, 0, 0, "completed/timed_out", "https://gh/run/9" },
      "e2e: timed out (completed/timed_out) https://gh/run/9" },
    { { "deploy-check", 1, RUN_CANCELLED, 0, 0, "canceled", "https://gl/p/4" },
      "deploy-check: cancelled (canceled) https://gl/p/4" },
    { { "perf", 0, RUN_UNKNOWN, 0, 1, "jenkins: 404 no such job", NULL },
      "perf (optional): error (jenkins: 404 no such job)" },
    { { "bare", 1, RUN_FAILED, 0, 0, NULL, NULL }, "bare: failed" },
    { { "nodetail", 1, RUN_FAILED, 0, 0, "", "https://ci/1" }, "nodetail: failed https://ci/1" },
    /* error wins over timeout, timeout over the CI status */
    { { "both", 1, RUN_PASSED, 1, 1, "refused", NULL }, "both: error (refused)" },
};

/* check_reasons - the text of each reason, and their order. */
static void check_reasons(void)
{
    struct agg_test two[2];
    struct aggregate a;
    char big[3000];
    size_t i;

    for (i = 0; i < ARRAY_LEN(reasons); i++) {
        aggregate_compute(&reasons[i].t, 1, &a);
        unit_ok(a.nreasons == 1 && strcmp(a.reasons[0], reasons[i].want) == 0, "reason \"%s\"%s%s",
                reasons[i].want, a.nreasons ? " got " : "", a.nreasons ? a.reasons[0] : "");
        aggregate_free(&a);
    }
    two[0] = reasons[1].t;
    two[1] = reasons[0].t;
    aggregate_compute(two, 2, &a);
    unit_ok(a.nreasons == 2 && strncmp(a.reasons[0], "lint ", 5) == 0 &&
            strncmp(a.reasons[1], "smoke:", 6) == 0, "reasons keep the tests' order");
    aggregate_free(&a);

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    two[0] = reasons[0].t;
    two[0].detail = big;
    aggregate_compute(two, 1, &a);
    unit_ok(a.nreasons == 1 && strlen(a.reasons[0]) == AGGREGATE_MAX_REASON - 1,
            "a huge detail is cut to %d bytes", AGGREGATE_MAX_REASON - 1);
    aggregate_free(&a);
}

/* check_json - to_json, from_json, and the decoder's strictness. */
static void check_json(void)
{
    struct agg_test t[2] = { test_of("smoke", 1, K_PASSED), test_of("lint", 0, K_FAILED) };
    struct aggregate a, b;
    cJSON *j, *bad;
    char *s;

    aggregate_compute(t, 2, &a);
    j = aggregate_to_json(&a);
    s = cJSON_PrintUnformatted(j);
    unit_ok(s && strcmp(s, "{\"decided\":true,\"allPassed\":true,\"anyFailed\":false,\"anyRunning\":false,"
                           "\"anyTimeout\":false,\"optionalTestsFailed\":true,"
                           "\"failureReasons\":[\"lint (optional): failed (FAILURE) https://ci/x/1\"]}") == 0,
            "JSON form: %s", s ? s : "(null)");
    cJSON_free(s);
    unit_ok(aggregate_from_json(j, &b) == 0 && b.decided && b.all_passed && !b.any_failed &&
            b.optional_failed && b.nreasons == 1 && strcmp(b.reasons[0], a.reasons[0]) == 0,
            "JSON round trip");
    aggregate_free(&b);
    aggregate_copy(&b, &a);
    unit_ok(b.decided == a.decided && b.optional_failed && b.nreasons == 1 && b.reasons != a.reasons &&
            b.reasons[0] != a.reasons[0] && strcmp(b.reasons[0], a.reasons[0]) == 0,
            "a copy has its own reasons, equal to the original's");
    aggregate_free(&b);
    unit_ok(a.nreasons == 1 && strcmp(a.reasons[0], "lint (optional): failed (FAILURE) https://ci/x/1") == 0,
            "freeing the copy leaves the original");

    bad = cJSON_Duplicate(j, 1);
    cJSON_ReplaceItemInObject(bad, "anyFailed", cJSON_CreateString("no"));
    unit_ok(aggregate_from_json(bad, &b) < 0 && b.nreasons == 0, "a non-boolean flag is refused");
    cJSON_Delete(bad);
    bad = cJSON_Duplicate(j, 1);
    cJSON_DeleteItemFromObject(bad, "decided");
    unit_ok(aggregate_from_json(bad, &b) < 0, "a missing flag is refused");
    cJSON_Delete(bad);
    bad = cJSON_Duplicate(j, 1);
    cJSON_ReplaceItemInObject(bad, "failureReasons", cJSON_CreateIntArray((const int[]){ 1 }, 1));
    unit_ok(aggregate_from_json(bad, &b) < 0, "a non-string reason is refused");
    cJSON_Delete(bad);
    unit_ok(aggregate_from_json(NULL, &b) < 0, "NULL is refused");
    cJSON_Delete(j);
    aggregate_free(&a);
}

int main(void)
{
    struct aggregate a;
    char desc[128];
    size_t i;
    int j;

    for (i = 0; i < ARRAY_LEN(single); i++) {
        struct agg_test t = test_of("t", single[i].required, single[i].k);
        aggregate_compute(&t, 1, &a);
        snprintf(desc, sizeof(desc), "one %s test %s", single[i].required ? "required" : "optional",
                 kind_name[single[i].k]);
        check(&a, &single[i].w, desc);
        aggregate_free(&a);
    }
    for (i = 0; i < ARRAY_LEN(multi); i++) {
        struct agg_test t[3];
        for (j = 0; j < multi[i].n; j++)
            t[j] = test_of(j == 0 ? "a" : j == 1 ? "b" : "c", multi[i].required[j], multi[i].k[j]);
        aggregate_compute(t, (size_t)multi[i].n, &a);
        check(&a, &multi[i].w, multi[i].desc);
        aggregate_free(&a);
    }
    aggregate_compute(NULL, 0, &a);
    check(&a, &(struct want){ 1, 1, 0, 0, 0, 0, 0 }, "no tests: decided, all passed (nothing required)");
    aggregate_free(&a);

    check_pairs();
    check_reasons();
    check_json();
    unit_ok(aggregate_outcome(&(struct agg_test){ "x", 1, (enum run_status)42, 0, 0, NULL, NULL }) == AGG_RUNNING,
            "a status outside the enum is not a pass");
    return unit_done();
}
