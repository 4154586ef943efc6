/* test_promoter.c - the pure helpers of promo-promoter (promoter/promoter_record.c):
 * the record made current for a tracker, the test runs joined by key, the
 * approval lookup, the PromotionRecord and the audit texts. The file is
 * compiled in here, as it is not part of libpromo. */
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "promoter/promoter_record.c"
#include "tests/unit/unit.h"
#include "util/json.h"

#define SHA1 "0123456789abcdef0123456789abcdef01234567"
#define SHA2 "89abcdef0123456789abcdef0123456789abcdef"

/* tracker_at - a tracker named acme-shop-42 at gen and sha. */
static struct tracker tracker_at(int64_t gen, const char *sha)
{
    struct tracker t;

    memset(&t, 0, sizeof(t));
    str_copy(t.name, "acme-shop-42", sizeof(t.name));
    str_copy(t.head_sha, sha, sizeof(t.head_sha));
    str_copy(t.repository, "acme/shop", sizeof(t.repository));
    t.generation = gen;
    t.number = 42;
    return t;
}

static const char *TRIG =
    "{\"tests\":[{\"name\":\"smoke\",\"provider\":\"jenkins\",\"required\":true,\"attempt\":1,\"key\":\"pk-a\","
    "\"phase\":\"triggered\",\"run\":{\"url\":\"http://ci/smoke/1/\"}},"
    "{\"name\":\"lint\",\"provider\":\"gitlab\",\"required\":false,\"attempt\":2,\"key\":\"pk-b\","
    "\"phase\":\"triggered\",\"run\":null},"
    "{\"name\":\"e2e\",\"provider\":\"exec\",\"required\":true,\"attempt\":1,\"key\":\"pk-c\",\"phase\":\"triggered\"}]}";
static const char *MON =
    "{\"tests\":{\"e2e\":{\"key\":\"pk-c\",\"status\":\"passed\",\"url\":\"http://ci/e2e/3/\",\"durationMs\":70},"
    "\"lint\":{\"key\":\"pk-b\",\"status\":\"failed\",\"url\":\"\",\"durationMs\":null},"
    "\"smoke\":{\"key\":\"pk-a\",\"status\":\"passed\",\"url\":\"\",\"durationMs\":5300}}}";

/* test_record_for - a record made current for a tracker keeps only its history. */
static void test_record_for(void)
{
    struct tracker t = tracker_at(2, SHA1);
    cJSON *rec = promoter_record_for(NULL, &t), *same, *old;

    unit_ok(promoter_record_current(rec, &t), "a fresh record is current");
    unit_ok(cJSON_IsObject(cJSON_GetObjectItem(rec, "hops")) &&
            cJSON_GetArraySize(cJSON_GetObjectItem(rec, "promotions")) == 0, "fresh: empty hops and promotions");
    cJSON_AddItemToArray(cJSON_GetObjectItem(rec, "promotions"), cJSON_CreateString("p1"));
    cJSON_AddObjectToObject(cJSON_GetObjectItem(rec, "hops"), "dev");
    same = promoter_record_for(rec, &t);
    unit_ok(same == rec && promoter_hop(same, "dev") != NULL, "a current record is kept as it is");
    t = tracker_at(3, SHA2);
    unit_ok(!promoter_record_current(same, &t), "another generation and SHA: not current");
    old = promoter_record_for(same, &t);
    unit_ok(promoter_record_current(old, &t) && promoter_hop(old, "dev") == NULL,
            "another generation: hops reset");
    unit_ok(cJSON_GetArraySize(cJSON_GetObjectItem(old, "promotions")) == 1, "another generation: history kept");
    t = tracker_at(3, SHA1);
    unit_ok(!promoter_record_current(old, &t), "same generation, other SHA: not current");
    cJSON_Delete(old);
}

/* rec_of - a record of hop (a JSON object, consumed) in "dev", decoded by
 * the trigger (is_trig) or monitor decoder into r. Returns the hop or NULL. */
static const void *rec_of(cJSON *hop, int is_trig, void *r)
{
    cJSON *o = cJSON_CreateObject();
    char err[256];
    const void *h = NULL;

    cJSON_AddStringToObject(o, "name", "acme-shop-42");
    cJSON_AddNumberToObject(o, "generation", 2);
    cJSON_AddStringToObject(o, "headSHA", SHA1);
    cJSON_AddItemToObject(cJSON_AddObjectToObject(o, "hops"), "dev", hop);
    if (is_trig && rec_trigger_decode(o, NULL, r, err, sizeof(err)) == 0)
        h = rec_trigger_hop(r, "dev");
    else if (!is_trig && rec_monitor_decode(o, NULL, r, err, sizeof(err)) == 0)
        h = rec_monitor_hop(r, "dev");
    if (!h)
        unit_note("rec_of: %s", err);
    cJSON_Delete(o);
    return h;
}

/* test_runs - trigger tests joined with monitor results by key. */
static void test_runs(void)
{
    cJSON *mon = cJSON_Parse(MON), *runs, *bad, *keys;
    struct rec_trigger trec;
    struct rec_monitor mrec;
    const struct rec_trigger_hop *th = rec_of(cJSON_Parse(TRIG), 1, &trec);
    const struct rec_monitor_hop *mh = rec_of(cJSON_Duplicate(mon, 1), 0, &mrec);
    char err[256];
    int attempt = 0;

    runs = promoter_test_runs(th, mh, &attempt, err, sizeof(err));
    unit_ok(runs && cJSON_GetArraySize(runs) == 3, "runs: every trigger test");
    unit_ok(runs && strcmp(json_str(cJSON_GetArrayItem(runs, 0), "name", ""), "smoke") == 0 &&
            strcmp(json_str(cJSON_GetArrayItem(runs, 2), "name", ""), "e2e") == 0, "runs: in the trigger's order");
    unit_ok(attempt == 2, "runs: the highest attempt (%d)", attempt);
    unit_ok(runs && strcmp(json_str(cJSON_GetArrayItem(runs, 0), "url", ""), "http://ci/smoke/1/") == 0,
            "runs: the trigger's run URL when the monitor has none");
    unit_ok(runs && cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(runs, 1), "url")), "runs: no URL is null");
    unit_ok(runs && strcmp(json_str(cJSON_GetArrayItem(runs, 1), "status", ""), "failed") == 0 &&
            cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(runs, 1), "required")),
            "runs: status and required");
    unit_ok(runs && cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetArrayItem(runs, 0), "durationMs")) == 5300,
            "runs: duration");
    unit_ok(runs && cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(runs, 1), "durationMs")),
            "runs: no duration is null");
    keys = promoter_test_keys(runs);
    unit_ok(cJSON_GetArraySize(keys) == 3 && strcmp(cJSON_GetArrayItem(keys, 1)->valuestring, "pk-b") == 0,
            "test keys");
    unit_ok(promoter_first_url(runs, 0) && strcmp(promoter_first_url(runs, 0), "http://ci/smoke/1/") == 0,
            "first URL: the first required test");
    unit_ok(promoter_first_url(runs, 1) == NULL, "first failed URL: no required test failed");
    /* an exec test's file:// log is no target_url GitHub takes: skipped */
    cJSON_ReplaceItemInObject(cJSON_GetArrayItem(runs, 0), "url", cJSON_CreateString("file:///runs/smoke/output.log"));
    unit_ok(promoter_first_url(runs, 0) && strcmp(promoter_first_url(runs, 0), "http://ci/e2e/3/") == 0,
            "first URL: a file:// URL skipped (%s)", promoter_first_url(runs, 0) ? promoter_first_url(runs, 0) : "NULL");
    cJSON_ReplaceItemInObject(cJSON_GetArrayItem(runs, 2), "url", cJSON_CreateString("file:///runs/e2e/output.log"));
    unit_ok(promoter_first_url(runs, 0) == NULL, "first URL: none http(s), none");
    cJSON_ReplaceItemInObject(cJSON_GetArrayItem(runs, 0), "url", cJSON_CreateString("http://ci/smoke/1/"));
    cJSON_ReplaceItemInObject(cJSON_GetArrayItem(runs, 2), "url", cJSON_CreateString("http://ci/e2e/3/"));
    cJSON_Delete(keys);
    cJSON_Delete(runs);
    rec_monitor_free(&mrec);

    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(cJSON_GetObjectItem(mon, "tests"), "e2e"), "key",
                              cJSON_CreateString("pk-other"));
    mh = rec_of(cJSON_Duplicate(mon, 1), 0, &mrec);
    bad = promoter_test_runs(th, mh, &attempt, err, sizeof(err));
    unit_ok(bad == NULL && strstr(err, "e2e") && strstr(err, "pk-c"), "runs: a key the monitor has not: refused (%s)", err);
    rec_monitor_free(&mrec);
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(mon, "tests"), "e2e");
    mh = rec_of(cJSON_Duplicate(mon, 1), 0, &mrec);
    bad = promoter_test_runs(th, mh, &attempt, err, sizeof(err));
    unit_ok(bad == NULL, "runs: a test the monitor has not: refused");
    runs = promoter_test_runs(NULL, mh, &attempt, err, sizeof(err));
    unit_ok(runs && cJSON_GetArraySize(runs) == 2 && attempt == 1, "runs: no trigger record: the monitor's tests");
    cJSON_Delete(runs);
    bad = promoter_test_runs(th, NULL, &attempt, err, sizeof(err));
    unit_ok(bad == NULL, "runs: no monitor hop: refused");
    rec_trigger_free(&trec);
    th = rec_of(cJSON_Parse("{\"tests\":[]}"), 1, &trec);
    bad = promoter_test_runs(th, mh, &attempt, err, sizeof(err));
    unit_ok(th && bad == NULL, "runs: a trigger hop without tests: refused");
    rec_trigger_free(&trec);
    rec_monitor_free(&mrec);
    cJSON_Delete(mon);
}

/* test_approval - approvals by generation, head SHA, hop and target, table-driven. */
static void test_approval(void)
{
    static const struct {
        const char *doc;
        int want;
        const char *by;
    } cases[] = {
        {"{\"name\":\"acme-shop-42\",\"generation\":2,\"headSHA\":\"" SHA1 "\",\"hops\":{\"dev\":{\"approvedBy\":\"alice\"}}}", 1, "alice"},
        {"{\"name\":\"acme-shop-42\",\"generation\":2,\"headSHA\":\"" SHA1 "\",\"hops\":{\"dev\":{\"approvedBy\":\"bob\",\"target\":\"staging\"}}}", 1, "bob"},
        {"{\"name\":\"acme-shop-42\",\"generation\":2,\"headSHA\":\"" SHA1 "\",\"hops\":{\"dev\":{\"approvedBy\":\"bob\",\"target\":\"prod\"}}}", 0, NULL},
        {"{\"name\":\"acme-shop-42\",\"generation\":1,\"headSHA\":\"" SHA1 "\",\"hops\":{\"dev\":{\"approvedBy\":\"alice\"}}}", 0, NULL},
        {"{\"name\":\"acme-shop-42\",\"generation\":2,\"headSHA\":\"" SHA2 "\",\"hops\":{\"dev\":{\"approvedBy\":\"alice\"}}}", 0, NULL},
        {"{\"name\":\"acme-shop-42\",\"generation\":2,\"headSHA\":\"" SHA1 "\",\"hops\":{\"staging\":{\"approvedBy\":\"alice\"}}}", 0, NULL},
        {"{\"name\":\"acme-shop-42\",\"generation\":2,\"headSHA\":\"" SHA1 "\",\"hops\":{\"dev\":{\"approvedBy\":\"\"}}}", 0, NULL},
        {"{\"name\":\"acme-shop-42\",\"generation\":2,\"headSHA\":\"" SHA1 "\",\"hops\":{\"dev\":{\"approvedBy\":7}}}", 0, NULL},
        {"{\"name\":\"acme-shop-42\",\"generation\":\"2\",\"headSHA\":\"" SHA1 "\",\"hops\":{\"dev\":{\"approvedBy\":\"alice\"}}}", 0, NULL},
        {NULL, 0, NULL},
    };
    struct tracker t = tracker_at(2, SHA1);
    size_t i;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        cJSON *doc = cases[i].doc ? cJSON_Parse(cases[i].doc) : NULL;
        struct rec_approvals a;
        char by[64] = "", err[256];
        int ok = doc && rec_approvals_decode(doc, NULL, &a, err, sizeof(err)) == 0;
        int got = promoter_approval(ok ? &a : NULL, &t, "dev", "staging", by, sizeof(by));

        unit_ok(got == cases[i].want && (!cases[i].by || strcmp(by, cases[i].by) == 0),
                "approval case %zu: %d (by %s)", i, got, by);
        rec_approvals_free(&a);
        cJSON_Delete(doc);
    }
}

/* test_retry - a retry request counts only after the failure. */
static void test_retry(void)
{
    cJSON *doc = cJSON_Parse("{\"name\":\"acme-shop-42\",\"generation\":2,\"headSHA\":\"" SHA1 "\","
                             "\"hops\":{\"dev\":{\"retry\":{\"attempt\":2,\"requestedBy\":\"bob\",\"requestedAt\":\"2026-11-28T05:00:00.000Z\"}}}}");
    struct tracker t = tracker_at(2, SHA1);
    struct rec_approvals a;
    char err[256];

    unit_ok(rec_approvals_decode(doc, NULL, &a, err, sizeof(err)) == 0, "the approvals record decodes");
    unit_ok(promoter_retry_requested(&a, &t, "dev", "2026-11-28T04:59:00.000Z"), "retry asked after the failure");
    unit_ok(!promoter_retry_requested(&a, &t, "dev", "2026-11-28T05:01:00.000Z"), "retry asked before the failure");
    unit_ok(!promoter_retry_requested(&a, &t, "staging", "2026-11-28T04:59:00.000Z"), "retry of another hop");
    unit_ok(!promoter_retry_requested(NULL, &t, "dev", "2026-11-28T04:59:00.000Z"), "no approvals record");
    rec_approvals_free(&a);
    cJSON_Delete(doc);
}

/* test_texts - audit messages, status descriptions, the PromotionRecord, hop entries. */
static void test_texts(void)
{
    struct rec_trigger trec;
    struct rec_monitor mrec;
    const struct rec_trigger_hop *th = rec_of(cJSON_Parse(TRIG), 1, &trec);
    const struct rec_monitor_hop *mh = rec_of(cJSON_Parse(MON), 0, &mrec);
    cJSON *runs, *one, *pr;
    struct prom_plan p;
    char err[256], *m;
    int attempt;

    runs = promoter_test_runs(th, mh, &attempt, err, sizeof(err));
    rec_trigger_free(&trec);
    rec_monitor_free(&mrec);
    m = promoter_promoted_message("dev", "staging", SHA1, "dev-to-staging", runs);
    unit_ok(strcmp(m, "promoted dev -> staging at 0123456 (policy dev-to-staging, 2 tests passed, "
                      "optional tests failed: lint)") == 0, "promoted message: %s", m);
    free(m);
    one = cJSON_CreateArray();
    cJSON_AddItemToArray(one, cJSON_Duplicate(cJSON_GetArrayItem(runs, 0), 1));
    m = promoter_promoted_message("staging", "prod", SHA2, "p", one);
    unit_ok(strcmp(m, "promoted staging -> prod at 89abcde (policy p, 1 test passed)") == 0, "promoted message: %s", m);
    free(m);
    cJSON_ReplaceItemInObject(cJSON_GetArrayItem(runs, 2), "status", cJSON_CreateString("failed"));
    m = promoter_failed_description(runs);
    unit_ok(strcmp(m, "required test failed: e2e") == 0, "failure description: %s", m);
    free(m);
    unit_ok(promoter_first_url(runs, 1) && strcmp(promoter_first_url(runs, 1), "http://ci/e2e/3/") == 0,
            "first failed URL: the failed required test's");
    cJSON_ReplaceItemInObject(cJSON_GetArrayItem(runs, 0), "status", cJSON_CreateString("timed-out"));
    m = promoter_failed_description(runs);
    unit_ok(strcmp(m, "required tests failed: smoke, e2e") == 0, "failure description: %s", m);
    free(m);

    memset(&p, 0, sizeof(p));
    p.t = tracker_at(2, SHA1);
    p.source = xstrdup("dev");
    p.target = xstrdup("staging");
    p.policy = xstrdup("dev-to-staging");
    str_copy(p.key, "pk-0123456789abcdef01234567", sizeof(p.key));
    p.runs = one;
    pr = promoter_promotion_json(&p, 1795840262000);
    unit_ok(strcmp(json_str(pr, "outcome", ""), "Promoted") == 0 &&
            strcmp(json_str(pr, "promotedBy", ""), "promo-promoter") == 0 &&
            strcmp(json_str(pr, "promotedAt", ""), "2026-11-28T04:31:02.000Z") == 0 &&
            cJSON_GetNumberValue(cJSON_GetObjectItem(pr, "generation")) == 2 &&
            cJSON_GetArraySize(cJSON_GetObjectItem(pr, "testRuns")) == 1, "PromotionRecord, automatic");
    cJSON_Delete(pr);
    p.approved_by = xstrdup("alice");
    pr = promoter_promotion_json(&p, 1795840262000);
    unit_ok(strcmp(json_str(pr, "promotedBy", ""), "alice") == 0, "PromotionRecord, approved");
    cJSON_Delete(pr);
    {
        cJSON *rec = promoter_record_for(NULL, &p.t), *hop = promoter_hop_new(rec, &p, PH_INTENT);

        unit_ok(strcmp(json_str(hop, "phase", ""), "intent") == 0 && !promoter_step_done(hop, "argocdUpdated"),
                "new hop: intent, no step done");
        promoter_step_set(hop, "argocdUpdated");
        unit_ok(promoter_step_done(hop, "argocdUpdated"), "step set");
        hop = promoter_hop_new(rec, &p, PH_FAILED);
        unit_ok(promoter_hop(rec, "dev") == hop && !promoter_step_done(hop, "argocdUpdated") &&
                cJSON_GetArraySize(cJSON_GetObjectItem(rec, "hops")) == 1, "new hop replaces the old one");
        cJSON_Delete(rec);
    }
    promoter_plan_free(&p);          /* frees one */
    cJSON_Delete(runs);
}

/* plan_of - a plan of acme-shop-42 at gen and sha, dev -> staging, with runs
 * (consumed) and the aggregate agg (JSON text, may be NULL). */
static void plan_of(struct prom_plan *p, int64_t gen, const char *sha, cJSON *runs, const char *agg)
{
    memset(p, 0, sizeof(*p));
    p->t = tracker_at(gen, sha);
    p->source = xstrdup("dev");
    p->target = xstrdup("staging");
    p->policy = xstrdup("dev-to-staging");
    promo_key(p->t.name, sha, "dev", "staging", "promote", 1, p->key, sizeof(p->key));
    p->runs = runs;
    p->aggregate = agg ? cJSON_Parse(agg) : NULL;
}

/* round_trip - pr decodes as a PromotionRecord (inside a record) and
 * encodes back to itself. */
static int round_trip(const cJSON *pr, const char *what)
{
    cJSON *rec = cJSON_Parse("{\"name\":\"acme-shop-42\",\"generation\":2,\"headSHA\":\"" SHA1 "\",\"hops\":{}}");
    struct rec_promoter r;
    char err[256] = "";
    int ok = 0;

    cJSON_AddItemToArray(cJSON_AddArrayToObject(rec, "promotions"), cJSON_Duplicate(pr, 1));
    if (rec_promoter_decode(rec, "acme-shop-42", &r, err, sizeof(err)) == 0 && r.npromotions == 1) {
        cJSON *back = rec_promotion_encode(&r.promotions[0]);
        ok = cJSON_Compare(pr, back, 1);
        cJSON_Delete(back);
    }
    unit_ok(ok, "%s: the decoder takes what the promoter writes, and encodes it back the same %s", what, err);
    rec_promoter_free(&r);
    cJSON_Delete(rec);
    return ok;
}

/* test_outcomes - the PromotionRecord of every outcome: contents, the
 * decoder's agreement, idempotency. */
static void test_outcomes(void)
{
    static const char *runs_json =
        "[{\"name\":\"smoke\",\"provider\":\"jenkins\",\"required\":true,\"status\":\"failed\",\"url\":\"http://ci/1/\","
        "\"durationMs\":5,\"key\":\"pk-a\"},{\"name\":\"e2e\",\"provider\":\"exec\",\"required\":true,"
        "\"status\":\"timed-out\",\"url\":null,\"durationMs\":null,\"key\":\"pk-b\"},{\"name\":\"api\","
        "\"provider\":\"gitlab\",\"required\":true,\"status\":\"error\",\"url\":null,\"durationMs\":null,\"key\":\"pk-c\"},"
        "{\"name\":\"lint\",\"provider\":\"gitlab\",\"required\":false,\"status\":\"cancelled\",\"url\":null,"
        "\"durationMs\":null,\"key\":\"pk-d\"},{\"name\":\"docs\",\"provider\":\"gitlab\",\"required\":false,"
        "\"status\":\"running\",\"url\":null,\"durationMs\":null,\"key\":\"pk-e\"}]";
    static const char *agg_json =
        "{\"decided\":true,\"allPassed\":false,\"anyFailed\":true,\"anyRunning\":true,\"anyTimeout\":true,"
        "\"optionalTestsFailed\":true,\"failureReasons\":[\"smoke: failed\",\"e2e: timed out\"]}";
    struct prom_plan p;
    struct tracker next = tracker_at(3, SHA2);
    cJSON *rec, *pr, *res, *hop;
    char *e;

    plan_of(&p, 2, SHA1, cJSON_Parse(runs_json), agg_json);

    res = promoter_test_results(p.aggregate, p.runs);
    e = cJSON_PrintUnformatted(res);
    unit_ok(strcmp(e, "{\"allPassed\":false,\"anyFailed\":true,\"anyRunning\":true,\"anyTimeout\":true,"
                      "\"optionalTestsFailed\":true,\"failureReasons\":[\"smoke: failed\",\"e2e: timed out\"],"
                      "\"requiredFailed\":[\"smoke\",\"api\"],\"requiredTimedOut\":[\"e2e\"],"
                      "\"optionalFailed\":[\"lint\"]}") == 0, "testResults: the flags and the names: %s", e);
    cJSON_free(e);
    e = promoter_failed_error(res);
    unit_ok(strcmp(e, "required tests failed: smoke, api; timed out: e2e") == 0, "Failed error: %s", e);
    free(e);
    cJSON_Delete(res);
    res = cJSON_Parse("{\"requiredTimedOut\":[\"e2e\"]}");
    e = promoter_failed_error(res);
    unit_ok(strcmp(e, "required test timed out: e2e") == 0, "Failed error, a timeout only: %s", e);
    free(e);
    cJSON_Delete(res);
    res = cJSON_Parse("{\"requiredFailed\":[\"smoke\"]}");
    e = promoter_failed_error(res);
    unit_ok(strcmp(e, "required test failed: smoke") == 0, "Failed error, one failure: %s", e);
    free(e);
    cJSON_Delete(res);
    e = promoter_failed_error(NULL);
    unit_ok(strcmp(e, "a required test failed") == 0, "Failed error, nothing named: %s", e);
    free(e);

    /* Failed (tests): once per hop key */
    rec = promoter_record_for(NULL, &p.t);
    hop = promoter_hop_new(rec, &p, PH_FAILED);
    unit_ok(promoter_record_failed(rec, &p, "tests", NULL, 1795840262000) == 1, "Failed (tests) appended");
    unit_ok(promoter_record_failed(rec, &p, "tests", NULL, 1795840263000) == 0 &&
            cJSON_GetArraySize(cJSON_GetObjectItem(rec, "promotions")) == 1, "Failed (tests) once per hop key");
    pr = cJSON_GetArrayItem(cJSON_GetObjectItem(rec, "promotions"), 0);
    unit_ok(strcmp(json_str(pr, "outcome", ""), "Failed") == 0 && cJSON_IsFalse(cJSON_GetObjectItem(pr, "promoted")) &&
            strcmp(json_str(pr, "failure", ""), "tests") == 0 &&
            strcmp(json_str(pr, "error", ""), "required tests failed: smoke, api; timed out: e2e") == 0 &&
            strcmp(json_str(pr, "key", ""), p.key) == 0 && cJSON_IsNull(cJSON_GetObjectItem(pr, "promotedAt")) &&
            strcmp(json_str(pr, "recordedAt", ""), "2026-11-28T04:31:02.000Z") == 0 &&
            cJSON_GetArraySize(cJSON_GetObjectItem(pr, "testRuns")) == 5, "Failed (tests): the record");
    round_trip(pr, "Failed (tests)");
    /* Failed (promotion): one per failure, then Promoted */
    unit_ok(promoter_record_failed(rec, &p, "promotion", "argocd: not found", 1795840264000) == 1 &&
            promoter_record_failed(rec, &p, "promotion", "argocd: not found", 1795840265000) == 1 &&
            cJSON_GetArraySize(cJSON_GetObjectItem(rec, "promotions")) == 3,
            "Failed (promotion): one per failure (each written with its phase change)");
    pr = cJSON_GetArrayItem(cJSON_GetObjectItem(rec, "promotions"), 1);
    unit_ok(strcmp(json_str(pr, "error", ""), "argocd: not found") == 0 &&
            strcmp(json_str(pr, "failure", ""), "promotion") == 0, "Failed (promotion): lastError is its error");
    round_trip(pr, "Failed (promotion)");
    pr = promoter_promotion_json(&p, 1795840266000);
    unit_ok(cJSON_IsTrue(cJSON_GetObjectItem(pr, "promoted")) && cJSON_IsNull(cJSON_GetObjectItem(pr, "error")) &&
            strcmp(json_str(pr, "recordedAt", ""), json_str(pr, "promotedAt", "-")) == 0, "Promoted: promoted, no error");
    round_trip(pr, "Promoted");
    cJSON_Delete(pr);
    unit_ok(promoter_record_has(rec, p.key, PO_FAILED, "promotion") && !promoter_record_has(rec, p.key, PO_PROMOTED, NULL),
            "record_has by key, outcome and failure");

    /* Superseded and Aborted: only for unfinished hops */
    unit_ok(promoter_record_outcome(rec, "dev", PO_ABORTED, "alice", NULL, NULL, 1795840267000) == 0,
            "a failed hop is finished: no Aborted record");
    hop = promoter_hop_new(rec, &p, PH_AWAITING_APPROVAL);
    unit_ok(promoter_record_outcome(rec, "staging", PO_ABORTED, NULL, NULL, NULL, 0) == -1, "no such hop: -1");
    unit_ok(promoter_record_outcome(rec, "dev", PO_FAILED, NULL, NULL, NULL, 0) == -1, "Failed is not for it: -1");
    unit_ok(promoter_record_outcome(rec, "dev", PO_SUPERSEDED, NULL, NULL, NULL, 0) == -1,
            "Superseded without the successor: -1");
    unit_ok(promoter_record_outcome(rec, "dev", PO_ABORTED, "alice", NULL, NULL, 1795840267000) == 1 &&
            promoter_record_outcome(rec, "dev", PO_ABORTED, "alice", NULL, NULL, 1795840268000) == 0,
            "Aborted: once per hop key");
    pr = cJSON_GetArrayItem(cJSON_GetObjectItem(rec, "promotions"), 3);
    unit_ok(strcmp(json_str(pr, "outcome", ""), "Aborted") == 0 && strcmp(json_str(pr, "recordedBy", ""), "alice") == 0 &&
            strcmp(json_str(pr, "error", ""), "aborted while the promotion dev -> staging was awaiting-approval") == 0 &&
            cJSON_GetArraySize(cJSON_GetObjectItem(pr, "testRuns")) == 5 &&
            cJSON_GetObjectItem(pr, "supersededBy") == NULL && promoter_phase(hop) == PH_AWAITING_APPROVAL,
            "Aborted: the record, the hop left as it was");
    round_trip(pr, "Aborted");

    /* a new generation: promoter_record_for supersedes the unfinished hop */
    rec = promoter_record_for(rec, &next);
    pr = cJSON_GetArrayItem(cJSON_GetObjectItem(rec, "promotions"), 4);
    unit_ok(cJSON_GetArraySize(cJSON_GetObjectItem(rec, "promotions")) == 5 &&
            strcmp(json_str(pr, "outcome", ""), "Superseded") == 0 &&
            strcmp(json_str(pr, "headSHA", ""), SHA1) == 0 &&
            cJSON_GetNumberValue(cJSON_GetObjectItem(pr, "generation")) == 2 &&
            strcmp(json_str(cJSON_GetObjectItem(pr, "supersededBy"), "headSHA", ""), SHA2) == 0 &&
            cJSON_GetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(pr, "supersededBy"), "generation")) == 3 &&
            strncmp(json_str(pr, "error", ""), "superseded by 89abcde (generation 3)", 36) == 0 &&
            promoter_hop(rec, "dev") == NULL && promoter_record_current(rec, &next),
            "a new generation: Superseded naming the new SHA, hops reset, history kept");
    round_trip(pr, "Superseded");
    rec = promoter_record_for(rec, &next);
    unit_ok(cJSON_GetArraySize(cJSON_GetObjectItem(rec, "promotions")) == 5, "a current record: nothing appended");
    /* a done hop is not superseded */
    p.t = next;
    hop = promoter_hop_new(rec, &p, PH_DONE);
    next = tracker_at(4, SHA1);
    rec = promoter_record_for(rec, &next);
    unit_ok(cJSON_GetArraySize(cJSON_GetObjectItem(rec, "promotions")) == 5, "a done hop is not superseded");
    cJSON_Delete(rec);
    promoter_plan_free(&p);
}

int main(void)
{
    test_record_for();
    test_runs();
    test_approval();
    test_retry();
    test_texts();
    test_outcomes();
    return unit_done();
}
