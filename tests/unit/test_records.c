/* test_records.c - unit tests of the record decoders (domain/rec_*.c): for
 * each record, one good record as promo writes it (docs/state.md), then one
 * hostile change per case (a wrong type, a string too long, a missing
 * member, too many entries), each of which must make the decoder fail with
 * the member named; the encoders' round trips; the promoter's phase table
 * and the monitor's hop lifecycle (monitor/monitor_hop.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/rec_approvals.h"
#include "domain/rec_monitor.h"
#include "domain/rec_policy.h"
#include "domain/rec_promoter.h"
#include "domain/rec_trigger.h"
#include "domain/rec_watcher.h"
#include "util/util.h"
#include "unit.h"

#include "../../monitor/monitor_hop.c"

#define SHA "0123456789abcdef0123456789abcdef01234567"

static const char trigger_good[] =
    "{\"name\":\"acme-shop-42\",\"generation\":2,\"headSHA\":\"" SHA "\",\"hops\":{\"dev\":{"
    "\"source\":\"dev\",\"target\":\"staging\",\"policy\":\"dev-to-staging\",\"policyTimeoutMs\":3600000,"
    "\"autoPromote\":false,\"startedAt\":\"2026-11-28T04:30:00.120Z\",\"tests\":[{\"name\":\"smoke\","
    "\"provider\":\"jenkins\",\"job\":\"promo/smoke\",\"required\":true,\"timeoutMs\":1800000,\"attempt\":1,"
    "\"key\":\"pk-5f0c3a9e1b2d4c6f8a7e9d1c\",\"params\":{\"PR\":\"42\"},\"phase\":\"triggered\","
    "\"intentAt\":\"2026-11-28T04:30:00.121Z\",\"triggeredAt\":\"2026-11-28T04:30:00.140Z\","
    "\"run\":{\"id\":\"17\",\"url\":\"https://ci/job/promo/job/smoke/17/\",\"api\":\"https://ci/api\","
    "\"status\":\"queued\"},\"error\":null},{\"name\":\"lint\",\"provider\":\"exec\",\"job\":\"x\","
    "\"required\":false,\"timeoutMs\":1000,\"attempt\":2,\"key\":\"pk-2\",\"params\":{},\"phase\":\"error\","
    "\"erroredAt\":\"2026-11-28T04:30:00.121Z\",\"run\":null,\"error\":\"job: unknown variable\"}]}},"
    "\"superseded\":[{\"generation\":1,\"headSHA\":\"" SHA "\",\"hop\":\"dev\",\"name\":\"smoke\","
    "\"provider\":\"jenkins\",\"job\":\"promo/smoke\",\"key\":\"pk-old\",\"params\":{},\"attempt\":1,"
    "\"run\":null,\"cancelled\":false,\"cancel\":\"pending\"}]}";

static const char monitor_good[] =
    "{\"name\":\"acme-shop-42\",\"generation\":2,\"headSHA\":\"" SHA "\",\"hops\":{\"dev\":{"
    "\"source\":\"dev\",\"target\":\"staging\",\"policy\":\"dev-to-staging\","
    "\"startedAt\":\"2026-11-28T04:30:00.120Z\",\"policyDeadline\":\"2026-11-28T05:30:00.120Z\","
    "\"tests\":{\"smoke\":{\"key\":\"pk-1\",\"required\":true,\"provider\":\"jenkins\",\"status\":\"passed\","
    "\"ciStatus\":\"passed\",\"timedOut\":false,\"detail\":\"SUCCESS\",\"url\":\"https://ci/17/\","
    "\"runId\":\"17\",\"deadline\":\"2026-11-28T05:00:00.140Z\",\"deadlineReason\":\"test timeout 30m\","
    "\"finishedAt\":\"2026-11-28T04:31:00.000Z\",\"durationMs\":5300,\"lastPolledAt\":null,\"error\":null,"
    "\"cancelled\":false}},\"aggregate\":{\"decided\":true,\"allPassed\":true,\"anyFailed\":false,"
    "\"anyRunning\":false,\"anyTimeout\":false,\"optionalTestsFailed\":true,"
    "\"failureReasons\":[\"lint (optional): failed\"],\"decidedAt\":\"2026-11-28T04:31:00.100Z\"},"
    "\"revisionCheck\":{\"outcome\":\"confirmed\",\"cluster\":\"default\",\"application\":\"shop\","
    "\"expected\":\"" SHA "\",\"revision\":\"" SHA "\",\"sync\":\"Synced\",\"health\":\"Healthy\","
    "\"checkedAt\":\"2026-11-28T04:31:00.090Z\",\"attempts\":2,\"error\":null,\"reason\":null}}}}";

/* promotions[1..3] of promoter_good: records as promo writes them now,
 * every member the encoder writes, so encode(decode(x)) is x. */
#define PROM_FAILED                                                                                            \
    "{\"outcome\":\"Failed\",\"promoted\":false,\"sourceEnvironment\":\"dev\",\"targetEnvironment\":\"staging\","   \
    "\"headSHA\":\"" SHA "\",\"generation\":2,\"promotedAt\":null,\"promotedBy\":null,"                            \
    "\"recordedAt\":\"2026-11-28T04:31:02.000Z\",\"recordedBy\":\"promo-promoter\",\"policy\":\"dev-to-staging\","   \
    "\"key\":\"pk-9\",\"failure\":\"tests\",\"error\":\"required tests failed: smoke; timed out: e2e\","            \
    "\"testResults\":{\"allPassed\":false,\"anyFailed\":true,\"anyRunning\":false,\"anyTimeout\":true,"          \
    "\"optionalTestsFailed\":true,\"failureReasons\":[\"smoke: failed\",\"e2e: timed out\",\"lint (optional): failed\"],"\
    "\"requiredFailed\":[\"smoke\"],\"requiredTimedOut\":[\"e2e\"],\"optionalFailed\":[\"lint\"]},"                \
    "\"testRuns\":[{\"name\":\"smoke\",\"provider\":\"jenkins\",\"required\":true,\"status\":\"failed\","          \
    "\"url\":\"https://ci/17/\",\"durationMs\":5300,\"key\":\"pk-1\"},{\"name\":\"e2e\",\"provider\":\"exec\","      \
    "\"required\":true,\"status\":\"timed-out\",\"url\":null,\"durationMs\":null,\"key\":\"pk-2\"}]}"
#define PROM_SUPERSEDED                                                                                        \
    "{\"outcome\":\"Superseded\",\"promoted\":false,\"sourceEnvironment\":\"dev\",\"targetEnvironment\":\"staging\","\
    "\"headSHA\":\"" SHA "\",\"generation\":2,\"promotedAt\":null,\"promotedBy\":null,"                            \
    "\"recordedAt\":\"2026-11-28T04:35:00.000Z\",\"recordedBy\":\"promo-promoter\",\"policy\":\"dev-to-staging\","   \
    "\"key\":\"pk-10\",\"failure\":null,\"error\":\"superseded by 89abcde (generation 3)\","                       \
    "\"supersededBy\":{\"headSHA\":\"89abcdef0123456789abcdef0123456789abcdef\",\"generation\":3},\"testRuns\":[]}"
#define PROM_ABORTED                                                                                           \
    "{\"outcome\":\"Aborted\",\"promoted\":false,\"sourceEnvironment\":\"staging\",\"targetEnvironment\":\"prod\","  \
    "\"headSHA\":\"" SHA "\",\"generation\":2,\"promotedAt\":null,\"promotedBy\":null,"                            \
    "\"recordedAt\":\"2026-11-28T04:36:00.000Z\",\"recordedBy\":\"alice\",\"policy\":null,\"key\":\"pk-11\","       \
    "\"failure\":null,\"error\":\"tracker removed\"}"

static const char promoter_good[] =
    "{\"name\":\"acme-shop-42\",\"generation\":2,\"headSHA\":\"" SHA "\",\"hops\":{\"dev\":{"
    "\"source\":\"dev\",\"target\":\"staging\",\"policy\":\"dev-to-staging\",\"key\":\"pk-9\","
    "\"argocd\":{\"cluster\":\"default\",\"application\":\"shop-staging\",\"project\":\"shop\","
    "\"appNamespace\":\"team-apps\",\"update\":\"helmParameter\",\"source\":1,"
    "\"specDigest\":\"fnv1a64:0123456789abcdef\"},\"phase\":\"done\","
    "\"phaseAt\":\"2026-11-28T04:31:00.000Z\",\"statusPending\":true,\"commentId\":1234567,\"attempts\":1,"
    "\"lastError\":null,\"nextRetryAt\":null,\"approvedBy\":null,\"testKeys\":[\"pk-1\"],"
    "\"githubErrors\":{\"labels\":\"HTTP 422\"},\"steps\":{\"argocdUpdated\":true,\"argocdSynced\":true,"
    "\"labels\":true,\"status\":true,\"comment\":true,\"recorded\":true,\"audited\":true}}},"
    "\"promotions\":[{\"outcome\":\"Promoted\",\"sourceEnvironment\":\"dev\",\"targetEnvironment\":\"staging\","
    "\"headSHA\":\"" SHA "\",\"generation\":2,\"promotedAt\":\"2026-11-28T04:31:02.000Z\","
    "\"promotedBy\":\"promo-promoter\",\"policy\":\"dev-to-staging\",\"key\":\"pk-9\",\"testRuns\":[]},"
    PROM_FAILED "," PROM_SUPERSEDED "," PROM_ABORTED "]}";

static const char approvals_good[] =
    "{\"name\":\"acme-shop-42\",\"generation\":2,\"headSHA\":\"" SHA "\",\"hops\":{\"staging\":{"
    "\"approvedBy\":\"alice\",\"approvedAt\":\"2026-11-28T04:40:00.000Z\",\"retry\":{\"attempt\":2,"
    "\"requestedBy\":\"bob\",\"requestedAt\":\"2026-11-28T04:38:00.000Z\"}}}}";

static const char watcher_good[] =
    "{\"name\":\"acme-shop-42\",\"generation\":2,\"headSHA\":\"" SHA "\",\"environment\":\"staging\","
    "\"state\":\"deploying\",\"observedAt\":\"2026-11-28T04:40:00.000Z\","
    "\"deployDeadline\":\"2026-11-28T04:50:00.000Z\",\"conditions\":[{\"type\":\"DeployTimeout\","
    "\"status\":\"True\",\"message\":\"shop-staging: OutOfSync\","
    "\"lastTransitionTime\":\"2026-11-28T04:50:00.000Z\"}]}";

static const char policy_good[] =
    "{\"tracker\":\"acme-shop-42\",\"generation\":2,\"headSHA\":\"" SHA "\",\"environment\":\"dev\","
    "\"state\":\"attached\",\"policy\":\"dev-to-staging\",\"targetEnvironment\":\"staging\","
    "\"policyFile\":\"/etc/promo/policies/dev.yaml\",\"conditions\":[],\"updated\":\"2026-11-28T04:30:00.000Z\"}";

/* set_path - in doc, replace the member at dotted path (a number indexes
 * an array) with the JSON value, or delete it when value is NULL. */
static int set_path(cJSON *doc, const char *path, const char *value)
{
    char buf[256], *dot, *key = buf;
    cJSON *obj = doc, *v;

    snprintf(buf, sizeof(buf), "%s", path);
    while ((dot = strchr(key, '.')) != NULL) {
        *dot = '\0';
        obj = cJSON_IsArray(obj) ? cJSON_GetArrayItem(obj, atoi(key)) : cJSON_GetObjectItemCaseSensitive(obj, key);
        if (!obj)
            return -1;
        key = dot + 1;
    }
    if (!value) {
        cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
        return 0;
    }
    v = cJSON_Parse(value);
    if (!v)
        return -1;
    if (cJSON_IsArray(obj))
        cJSON_ReplaceItemInArray(obj, atoi(key), v);
    else if (cJSON_GetObjectItemCaseSensitive(obj, key))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v);
    else
        cJSON_AddItemToObject(obj, key, v);
    return 0;
}

/* A decoder under test, behind one signature. */
typedef int (*decode_fn)(const cJSON *o, const char *name, char *err, size_t errlen);

#define DECODER(type)                                                                 \
    static int try_##type(const cJSON *o, const char *name, char *err, size_t errlen) \
    {                                                                                 \
        struct rec_##type r;                                                          \
        int rc = rec_##type##_decode(o, name, &r, err, errlen);                       \
        rec_##type##_free(&r);                                                        \
        return rc;                                                                    \
    }
DECODER(trigger)
DECODER(monitor)
DECODER(promoter)
DECODER(approvals)
DECODER(watcher)
DECODER(policy)

/* A hostile change to a good record, and the words the error must hold. */
struct bad_case {
    const char *what;            /* the record: trigger, monitor, ... */
    const char *path;
    const char *value;           /* NULL deletes */
    const char *want;            /* a substring of the error */
};

static char long_str[REC_MAX_TEXT + 64];
static char many_runs[257 * 16 + 8], many_names[257 * 6 + 8];

static const struct bad_case bad_cases[] = {
    { "trigger", "name", NULL, "name: required" },
    { "trigger", "name", "\"Not A Name\"", "not a valid tracker name" },
    { "trigger", "name", "\"other-tracker\"", "is not the record's file name" },
    { "trigger", "generation", "\"2\"", "generation: must be a number" },
    { "trigger", "generation", "1.5", "generation: must be an integer" },
    { "trigger", "generation", "-1", "generation: must be an integer" },
    { "trigger", "headSHA", "\"xyz\"", "headSHA: must be 40 or 64 hex digits" },
    { "trigger", "headSHA", "42", "headSHA: must be a string" },
    { "trigger", "hops", NULL, "hops: required" },
    { "trigger", "hops", "[]", "hops: must be an object" },
    { "trigger", "hops.dev", "\"x\"", "hops.dev: must be an object" },
    { "trigger", "hops.dev.tests", NULL, "hops.dev: tests: required" },
    { "trigger", "hops.dev.tests", "{}", "hops.dev.tests: must be an array" },
    { "trigger", "hops.dev.autoPromote", "\"yes\"", "hops.dev.autoPromote: must be true or false" },
    { "trigger", "hops.dev.policyTimeoutMs", "\"1h\"", "hops.dev.policyTimeoutMs: must be a number" },
    { "trigger", "hops.dev.tests.0.name", NULL, "hops.dev.tests[0].name: required" },
    { "trigger", "hops.dev.tests.0.name", "\"\"", "hops.dev.tests[0]: name: must not be empty" },
    { "trigger", "hops.dev.tests.0.phase", "\"running\"", "hops.dev.tests[0]: phase \"running\"" },
    { "trigger", "hops.dev.tests.0.phase", NULL, "hops.dev.tests[0].phase: required" },
    { "trigger", "hops.dev.tests.0.attempt", "0", "hops.dev.tests[0].attempt: must be an integer" },
    { "trigger", "hops.dev.tests.0.required", "1", "hops.dev.tests[0].required: must be true or false" },
    { "trigger", "hops.dev.tests.0.run", "[1]", "hops.dev.tests[0].run: must be an object" },
    { "trigger", "hops.dev.tests.0.run.url", "7", "hops.dev.tests[0].run.url: must be a string" },
    { "trigger", "hops.dev.tests.0.params", "{\"PR\":42}", "hops.dev.tests[0].params: PR must be a string" },
    { "trigger", "hops.dev.tests.1.error", "LONG", "hops.dev.tests[1].error: longer than" },
    { "trigger", "superseded", "{}", "superseded: must be an array" },
    { "trigger", "superseded.0", "3", "superseded[0]: must be an object" },
    { "trigger", "superseded.0.key", "[]", "superseded[0].key: must be a string" },
    { "monitor", "hops.dev.tests", "[]", "hops.dev.tests: must be an object" },
    { "monitor", "hops.dev.tests.smoke", "true", "hops.dev.tests.smoke: must be an object" },
    { "monitor", "hops.dev.tests.smoke.status", "1", "hops.dev.tests.smoke.status: must be a string" },
    { "monitor", "hops.dev.tests.smoke.durationMs", "\"5s\"", "hops.dev.tests.smoke.durationMs: must be a number" },
    { "monitor", "hops.dev.tests.smoke.durationMs", "-3", "hops.dev.tests.smoke.durationMs: must be an integer" },
    { "monitor", "hops.dev.tests.smoke.timedOut", "\"no\"", "hops.dev.tests.smoke.timedOut: must be true or false" },
    { "monitor", "hops.dev.tests.smoke.detail", "LONG", "hops.dev.tests.smoke.detail: longer than" },
    { "monitor", "hops.dev.aggregate", "[]", "hops.dev.aggregate: must be an object" },
    { "monitor", "hops.dev.aggregate.decided", "1", "hops.dev.aggregate.decided: must be true or false" },
    { "monitor", "hops.dev.aggregate.failureReasons", "[1]", "failureReasons: each must be a string" },
    { "monitor", "hops.dev.aggregate.failureReasons", "\"x\"", "failureReasons: must be an array" },
    { "monitor", "hops.dev.revisionCheck", "[]", "hops.dev.revisionCheck: must be an object" },
    { "monitor", "hops.dev.revisionCheck.outcome", NULL, "hops.dev.revisionCheck.outcome: required" },
    { "monitor", "hops.dev.revisionCheck.outcome", "\"maybe\"",
      "hops.dev.revisionCheck: outcome: must be pending, confirmed, changed or unverified, not \"maybe\"" },
    { "monitor", "hops.dev.revisionCheck.outcome", "\"changed\"",
      "hops.dev.revisionCheck: reason: required when the outcome is changed" },
    { "monitor", "hops.dev.revisionCheck.outcome", "\"unverified\"",
      "hops.dev.revisionCheck: reason: required when the outcome is unverified" },
    { "monitor", "hops.dev.revisionCheck.application", "LONG", "hops.dev.revisionCheck.application: longer than" },
    { "monitor", "hops.dev.revisionCheck.revision", "7", "hops.dev.revisionCheck.revision: must be a string" },
    { "monitor", "hops.dev.revisionCheck.attempts", "-1", "hops.dev.revisionCheck.attempts" },
    { "monitor", "hops.dev.revisionCheck.attempts", "1.5", "hops.dev.revisionCheck.attempts: must be an integer" },
    { "monitor", "hops.dev.revisionCheck.reason", "LONG", "hops.dev.revisionCheck.reason: longer than" },
    { "monitor", "hops.dev.revisionCheck.error", "{}", "hops.dev.revisionCheck.error: must be a string" },
    { "monitor", "generation", NULL, "generation: required" },
    { "promoter", "hops.dev.phase", NULL, "hops.dev.phase: required" },
    { "promoter", "hops.dev.phase", "\"promoting\"", "hops.dev: phase \"promoting\" is not one of" },
    { "promoter", "hops.dev.phase", "\"\"", "hops.dev: phase \"\" is not one of" },
    { "promoter", "hops.dev.argocd", "\"default\"", "hops.dev.argocd: must be an object" },
    { "promoter", "hops.dev.argocd.application", "{}", "hops.dev.argocd.application: must be a string" },
    { "promoter", "hops.dev.argocd.project", "7", "hops.dev.argocd.project: must be a string" },
    { "promoter", "hops.dev.argocd.appNamespace", "LONG", "hops.dev.argocd.appNamespace: longer than" },
    { "promoter", "hops.dev.argocd.source", "64", "hops.dev.argocd.source:" },
    { "promoter", "hops.dev.argocd.source", "\"1\"", "hops.dev.argocd.source: must be a number" },
    { "promoter", "hops.dev.argocd.specDigest", "[]", "hops.dev.argocd.specDigest: must be a string" },
    { "promoter", "hops.dev.steps", "[]", "hops.dev.steps: must be an object" },
    { "promoter", "hops.dev.steps.labels", "\"done\"", "hops.dev.steps: labels must be true or false" },
    { "promoter", "hops.dev.attempts", "1e300", "hops.dev.attempts: must be an integer" },
    { "promoter", "hops.dev.lastError", "LONG", "hops.dev.lastError: longer than" },
    { "promoter", "promotions", "{}", "promotions: must be an array" },
    { "promoter", "promotions.0.targetEnvironment", "false", "promotions[0].targetEnvironment: must be a string" },
    { "promoter", "promotions.0.generation", "\"2\"", "promotions[0].generation: must be a number" },
    { "promoter", "promotions.1.outcome", "\"Won\"", "promotions[1]: outcome \"Won\" is not one of" },
    { "promoter", "promotions.1.outcome", "\"failed\"", "promotions[1]: outcome \"failed\" is not one of" },
    { "promoter", "promotions.1.promoted", "true", "promotions[1]: promoted is true but the outcome is Failed" },
    { "promoter", "promotions.0.promoted", "false", "promotions[0]: promoted is false but the outcome is Promoted" },
    { "promoter", "promotions.1.promoted", "\"no\"", "promotions[1].promoted: must be true or false" },
    { "promoter", "promotions.1.failure", NULL, "promotions[1]: a Failed record needs failure" },
    { "promoter", "promotions.1.failure", "\"flaky\"", "a Failed record needs failure \"tests\" or \"promotion\", not \"flaky\"" },
    { "promoter", "promotions.2.failure", "\"tests\"", "promotions[2]: failure \"tests\" on a Superseded record" },
    { "promoter", "promotions.1.error", "LONG", "promotions[1].error: longer than" },
    { "promoter", "promotions.1.error", "{}", "promotions[1].error: must be a string" },
    { "promoter", "promotions.1.testResults", "[]", "promotions[1].testResults: must be an object" },
    { "promoter", "promotions.1.testResults.anyTimeout", "1", "promotions[1].testResults.anyTimeout: must be true or false" },
    { "promoter", "promotions.1.testResults.requiredFailed", "\"smoke\"", "promotions[1].testResults.requiredFailed: must be an array" },
    { "promoter", "promotions.1.testResults.requiredTimedOut", "[7]", "promotions[1].testResults.requiredTimedOut[0]: must be a string" },
    { "promoter", "promotions.1.testResults.failureReasons", "[\"a\",null]", "promotions[1].testResults.failureReasons[1]: must be a string" },
    { "promoter", "promotions.1.testRuns", "{}", "promotions[1].testRuns: must be an array" },
    { "promoter", "promotions.1.testRuns.0", "\"smoke\"", "promotions[1].testRuns[0]: must be an object" },
    { "promoter", "promotions.1.testRuns.0.name", NULL, "promotions[1].testRuns[0].name: required" },
    { "promoter", "promotions.1.testRuns.1.durationMs", "-1", "promotions[1].testRuns[1].durationMs: must be an integer" },
    { "promoter", "promotions.1.testRuns.0.required", "\"yes\"", "promotions[1].testRuns[0].required: must be true or false" },
    { "promoter", "promotions.1.testRuns.0.url", "LONG", "promotions[1].testRuns[0].url: longer than" },
    { "promoter", "promotions.2.supersededBy", "\"89abcde\"", "promotions[2].supersededBy: must be an object" },
    { "promoter", "promotions.2.supersededBy.headSHA", NULL, "promotions[2].supersededBy.headSHA: required" },
    { "promoter", "promotions.2.supersededBy.generation", "-3", "promotions[2].supersededBy.generation: must be an integer" },
    { "promoter", "promotions.1.testRuns", "MANYRUNS", "promotions[1].testRuns: more than 256 entries" },
    { "promoter", "promotions.1.testResults.optionalFailed", "MANYNAMES", "promotions[1].testResults.optionalFailed: more than 256 entries" },
    { "approvals", "hops", NULL, "hops: required" },
    { "approvals", "hops.staging.approvedBy", "[\"alice\"]", "hops.staging.approvedBy: must be a string" },
    { "approvals", "hops.staging.retry", "2", "hops.staging.retry: must be an object" },
    { "approvals", "hops.staging.retry.attempt", "\"2\"", "hops.staging.retry.attempt: must be a number" },
    { "approvals", "hops.staging.retry.attempt", "2.5", "hops.staging.retry.attempt: must be an integer" },
    { "watcher", "environment", NULL, "environment: required" },
    { "watcher", "state", "7", "state: must be a string" },
    { "watcher", "conditions", "{}", "conditions: must be an array" },
    { "watcher", "conditions.0.type", NULL, "conditions[0].type: required" },
    { "watcher", "conditions.0.message", "LONG", "conditions[0].message: longer than" },
    { "policy", "tracker", NULL, "tracker: required" },
    { "policy", "state", "\"lost\"", "state: \"lost\" is not one of" },
    { "policy", "environment", "[]", "environment: must be a string" },
    { "policy", "conditions",
      "[{\"type\":\"a\"},{\"type\":\"a\"},{\"type\":\"a\"},{\"type\":\"a\"},{\"type\":\"a\"},{\"type\":\"a\"},"
      "{\"type\":\"a\"},{\"type\":\"a\"},{\"type\":\"a\"},{\"type\":\"a\"},{\"type\":\"a\"},{\"type\":\"a\"},"
      "{\"type\":\"a\"},{\"type\":\"a\"},{\"type\":\"a\"},{\"type\":\"a\"},{\"type\":\"a\"}]",
      "conditions: more than 16 entries" },
};

/* good_of - the good record and decoder of a record type. */
static const char *good_of(const char *what, decode_fn *fn)
{
    static const struct { const char *what, *good; decode_fn fn; } t[] = {
        { "trigger", trigger_good, try_trigger }, { "monitor", monitor_good, try_monitor },
        { "promoter", promoter_good, try_promoter }, { "approvals", approvals_good, try_approvals },
        { "watcher", watcher_good, try_watcher }, { "policy", policy_good, try_policy },
    };
    size_t i;

    for (i = 0; i < ARRAY_LEN(t); i++)
        if (strcmp(t[i].what, what) == 0) {
            *fn = t[i].fn;
            return t[i].good;
        }
    return NULL;
}

/* test_good - each good record decodes, and so does it with JSON nulls and
 * unknown members, and none decodes as another tracker's or from a
 * non-object. */
static void test_good(void)
{
    static const char *const whats[] = { "trigger", "monitor", "promoter", "approvals", "watcher", "policy" };
    char err[512];
    size_t i;

    for (i = 0; i < ARRAY_LEN(whats); i++) {
        decode_fn fn = NULL;
        const char *good = good_of(whats[i], &fn);
        cJSON *o = cJSON_Parse(good), *arr = cJSON_Parse("[1]");

        err[0] = '\0';
        unit_ok(o && fn(o, "acme-shop-42", err, sizeof(err)) == 0, "%s: the good record decodes (%s)", whats[i], err);
        unit_ok(fn(o, NULL, err, sizeof(err)) == 0, "%s: decodes without a name to check", whats[i]);
        cJSON_AddStringToObject(o, "addedByANewerPromo", "x");
        unit_ok(fn(o, "acme-shop-42", err, sizeof(err)) == 0, "%s: unknown members are ignored", whats[i]);
        unit_ok(fn(arr, NULL, err, sizeof(err)) < 0 && strstr(err, "not a JSON object"),
                "%s: an array is not a record: %s", whats[i], err);
        unit_ok(fn(NULL, NULL, err, sizeof(err)) < 0, "%s: NULL is not a record", whats[i]);
        cJSON_Delete(o);
        cJSON_Delete(arr);
    }
}

/* test_bad - every hostile change fails, naming the member. */
static void test_bad(void)
{
    char err[512];
    size_t i;

    many_runs[0] = many_names[0] = '[';
    for (i = 0; i < 257; i++) {
        strcat(many_runs, i ? ",{\"name\":\"t\"}" : "{\"name\":\"t\"}");
        strcat(many_names, i ? ",\"t\"" : "\"t\"");
    }
    strcat(many_runs, "]");
    strcat(many_names, "]");
    memset(long_str, 'x', sizeof(long_str) - 1);
    long_str[0] = '"';
    long_str[sizeof(long_str) - 2] = '"';
    for (i = 0; i < ARRAY_LEN(bad_cases); i++) {
        const struct bad_case *c = &bad_cases[i];
        decode_fn fn = NULL;
        cJSON *o = cJSON_Parse(good_of(c->what, &fn));
        int rc;

        const char *value = c->value;

        if (value && strcmp(value, "LONG") == 0)
            value = long_str;
        else if (value && strcmp(value, "MANYRUNS") == 0)
            value = many_runs;
        else if (value && strcmp(value, "MANYNAMES") == 0)
            value = many_names;
        if (set_path(o, c->path, value) < 0) {
            unit_ok(0, "%s: %s: the case cannot be built", c->what, c->path);
            cJSON_Delete(o);
            continue;
        }
        err[0] = '\0';
        rc = fn(o, "acme-shop-42", err, sizeof(err));
        unit_ok(rc < 0 && strstr(err, c->want) != NULL, "%s: %s = %.20s: %s", c->what, c->path,
                c->value ? c->value : "(deleted)", err);
        cJSON_Delete(o);
    }
}

/* test_values - what the decoders give, defaults included. */
static void test_values(void)
{
    char err[256];
    cJSON *o = cJSON_Parse(trigger_good);
    struct rec_trigger t;
    struct rec_monitor m;
    struct rec_promoter p;
    const struct rec_trigger_hop *th;
    const struct rec_monitor_test *mt;
    const struct rec_promoter_hop *ph;

    unit_ok(rec_trigger_decode(o, "acme-shop-42", &t, err, sizeof(err)) == 0, "trigger decodes");
    th = rec_trigger_hop(&t, "dev");
    unit_ok(th && th->ntests == 2 && !th->auto_promote && th->policy_timeout_ms == 3600000 &&
            strcmp(th->target, "staging") == 0, "trigger: the hop");
    unit_ok(th && th->tests[0].phase == TP_TRIGGERED && th->tests[0].run.present &&
            strcmp(th->tests[0].run.status, "queued") == 0 && th->tests[0].required && th->tests[0].attempt == 1,
            "trigger: a triggered test with its run");
    unit_ok(th && th->tests[1].phase == TP_ERROR && !th->tests[1].run.present && !th->tests[1].required &&
            th->tests[1].attempt == 2 && strcmp(th->tests[1].error, "job: unknown variable") == 0,
            "trigger: a test in error, run null");
    unit_ok(t.nsuperseded == 1 && strcmp(t.superseded[0].cancel, "pending") == 0, "trigger: superseded");
    unit_ok(rec_trigger_hop(&t, "staging") == NULL && rec_trigger_hop_test(th, "nope") == NULL,
            "trigger: absent hop and test");
    rec_trigger_free(&t);
    cJSON_Delete(o);

    o = cJSON_Parse(monitor_good);
    unit_ok(rec_monitor_decode(o, "acme-shop-42", &m, err, sizeof(err)) == 0, "monitor decodes");
    mt = rec_monitor_hop_test(rec_monitor_hop(&m, "dev"), "smoke");
    unit_ok(mt && mt->duration_ms == 5300 && strcmp(mt->status, "passed") == 0 && mt->last_polled_at[0] == '\0',
            "monitor: a test (null counts as absent)");
    unit_ok(rec_monitor_decided(rec_monitor_hop(&m, "dev")) &&
            rec_monitor_hop(&m, "dev")->aggregate.nreasons == 1 &&
            rec_monitor_hop(&m, "dev")->aggregate.optional_failed, "monitor: the aggregate");
    unit_ok(rec_monitor_hop(&m, "dev")->check.outcome == RMR_CONFIRMED &&
            strcmp(rec_monitor_hop(&m, "dev")->check.application, "shop") == 0 &&
            rec_monitor_hop(&m, "dev")->check.attempts == 2 && !rec_monitor_voided(rec_monitor_hop(&m, "dev")) &&
            strcmp(rec_monitor_rev_name(RMR_CONFIRMED), "confirmed") == 0, "monitor: the revision check");
    rec_monitor_free(&m);
    cJSON_Delete(o);
    o = cJSON_Parse(monitor_good);
    {
        cJSON *rc = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "hops"), "dev"), "revisionCheck");
        cJSON_ReplaceItemInObject(rc, "outcome", cJSON_CreateString("changed"));
        cJSON_ReplaceItemInObject(rc, "reason",
                                  cJSON_CreateString("DeployedRevisionChanged: source application shop runs fedcba9, not 0123456"));
        unit_ok(rec_monitor_decode(o, "acme-shop-42", &m, err, sizeof(err)) == 0 &&
                rec_monitor_voided(rec_monitor_hop(&m, "dev")) &&
                strncmp(rec_monitor_hop(&m, "dev")->check.reason, "DeployedRevisionChanged: ", 25) == 0,
                "monitor: a changed revision voids the hop, with its reason");
        rec_monitor_free(&m);
        cJSON_DeleteItemFromObject(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "hops"), "dev"), "revisionCheck");
        unit_ok(rec_monitor_decode(o, "acme-shop-42", &m, err, sizeof(err)) == 0 &&
                rec_monitor_hop(&m, "dev")->check.outcome == RMR_NONE && !rec_monitor_voided(rec_monitor_hop(&m, "dev")),
                "monitor: a record without revisionCheck (older promo) decodes, no check");
        rec_monitor_free(&m);
    }
    cJSON_Delete(o);

    o = cJSON_Parse(promoter_good);
    unit_ok(rec_promoter_decode(o, "acme-shop-42", &p, err, sizeof(err)) == 0, "promoter decodes");
    ph = rec_promoter_hop(&p, "dev");
    unit_ok(ph && ph->phase == PH_DONE && strcmp(ph->application, "shop-staging") == 0 &&
            (ph->steps & (1u << PS_ARGOCD_SYNCED)) && !(ph->steps & (1u << PS_AWAIT_AUDIT)) &&
            ph->approved_by[0] == '\0', "promoter: the hop, its steps");
    unit_ok(ph && strcmp(ph->project, "shop") == 0 && strcmp(ph->app_namespace, "team-apps") == 0 &&
            strcmp(ph->update, "helmParameter") == 0 && ph->argocd_source == 1 &&
            strcmp(ph->spec_digest, "fnv1a64:0123456789abcdef") == 0,
            "promoter: the hop's argocd project, appNamespace, update, source, specDigest");
    unit_ok(p.npromotions == 4 && strcmp(p.promotions[0].target, "staging") == 0 && p.promotions[0].generation == 2,
            "promoter: the promotions");
    unit_ok(p.promotions[0].kind == PO_PROMOTED && p.promotions[0].promoted && p.promotions[0].outcome[0] &&
            !p.promotions[0].has_results && p.promotions[0].has_runs && p.promotions[0].nruns == 0,
            "promoter: a Promoted record of before outcomes: promoted defaults to true");
    {
        const struct rec_promotion *f = &p.promotions[1], *su = &p.promotions[2], *ab = &p.promotions[3];

        unit_ok(f->kind == PO_FAILED && !f->promoted && strcmp(f->failure, "tests") == 0 && f->has_results &&
                f->results.nrequired_failed == 1 && strcmp(f->results.required_failed[0], "smoke") == 0 &&
                f->results.nrequired_timed_out == 1 && strcmp(f->results.required_timed_out[0], "e2e") == 0 &&
                f->results.noptional_failed == 1 && f->results.nreasons == 3 && f->results.any_timeout &&
                f->nruns == 2 && f->runs[1].duration_ms == -1 && f->runs[0].duration_ms == 5300 &&
                strcmp(f->runs[1].status, "timed-out") == 0 && f->promoted_at[0] == '\0',
                "promoter: a Failed record with its test results and runs");
        unit_ok(su->kind == PO_SUPERSEDED && su->superseded_by_gen == 3 &&
                strncmp(su->superseded_by_sha, "89abcdef", 8) == 0 && !su->has_results,
                "promoter: a Superseded record names its successor");
        unit_ok(ab->kind == PO_ABORTED && strcmp(ab->recorded_by, "alice") == 0 && !ab->has_runs &&
                strcmp(ab->error, "tracker removed") == 0, "promoter: an Aborted record");
    }
    {
        const cJSON *arr = cJSON_GetObjectItem(o, "promotions");
        int k;

        for (k = 1; k < 4; k++) {
            cJSON *enc = rec_promotion_encode(&p.promotions[k]);
            char *a = cJSON_PrintUnformatted(enc);
            unit_ok(cJSON_Compare(cJSON_GetArrayItem(arr, k), enc, 1), "promoter: encode(decode(%s)) is it: %s",
                    prom_outcome_name(p.promotions[k].kind), a);
            cJSON_free(a);
            cJSON_Delete(enc);
        }
    }
    unit_ok(prom_outcome_parse("Promoted") == PO_PROMOTED && prom_outcome_parse("Aborted") == PO_ABORTED &&
            prom_outcome_parse("promoted") == -1 && prom_outcome_parse(NULL) == -1 &&
            strcmp(prom_outcome_name(PO_COUNT), "") == 0, "promoter: outcome names");
    rec_promoter_free(&p);
    cJSON_Delete(o);
}

/* test_round_trips - encode(decode(x)) decodes to the same. */
static void test_round_trips(void)
{
    char err[256];
    cJSON *o, *back;
    struct rec_approvals a, a2;
    struct rec_approval *h;
    struct rec_watcher w, w2;
    struct rec_policy pl, pl2;

    o = cJSON_Parse(approvals_good);
    unit_ok(rec_approvals_decode(o, "acme-shop-42", &a, err, sizeof(err)) == 0, "approvals decodes");
    h = rec_approvals_hop_add(&a, "dev");
    h->approved_by = rec_pool_add(&a.pool, "carol");
    h->approved_at = rec_pool_add(&a.pool, "2026-11-28T05:00:00.000Z");
    back = rec_approvals_encode(&a);
    unit_ok(rec_approvals_decode(back, "acme-shop-42", &a2, err, sizeof(err)) == 0 && a2.nhops == 2 &&
            strcmp(rec_approvals_hop(&a2, "staging")->retry_by, "bob") == 0 &&
            rec_approvals_hop(&a2, "staging")->retry_attempt == 2 &&
            strcmp(rec_approvals_hop(&a2, "dev")->approved_by, "carol") == 0 &&
            rec_approvals_hop(&a2, "dev")->retry_attempt == 0, "approvals: round trip, a hop added");
    unit_ok(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(
            back, "hops"), "dev"), "retry") == NULL, "approvals: no retry member without a retry");
    rec_approvals_free(&a);
    rec_approvals_free(&a2);
    cJSON_Delete(back);
    cJSON_Delete(o);

    o = cJSON_Parse(watcher_good);
    unit_ok(rec_watcher_decode(o, "acme-shop-42", &w, err, sizeof(err)) == 0 && rec_watcher_timeout(&w) != NULL,
            "watcher decodes, with its DeployTimeout");
    back = rec_watcher_encode(&w);
    unit_ok(cJSON_Compare(o, back, 1), "watcher: encode(decode(x)) is x");
    unit_ok(rec_watcher_decode(back, NULL, &w2, err, sizeof(err)) == 0, "watcher: and decodes");
    rec_watcher_free(&w);
    rec_watcher_free(&w2);
    cJSON_Delete(back);
    cJSON_Delete(o);

    o = cJSON_Parse(policy_good);
    unit_ok(rec_policy_decode(o, "acme-shop-42", &pl, err, sizeof(err)) == 0 && pl.state == RPS_ATTACHED,
            "policy decodes");
    back = rec_policy_encode(&pl);
    unit_ok(cJSON_Compare(o, back, 1), "policy: encode(decode(x)) is x");
    unit_ok(rec_policy_decode(back, NULL, &pl2, err, sizeof(err)) == 0, "policy: and decodes");
    rec_policy_free(&pl);
    rec_policy_free(&pl2);
    cJSON_Delete(back);
    cJSON_Delete(o);
}

/* test_promoter_phases - names and the transition table. */
static void test_promoter_phases(void)
{
    static const struct { enum prom_phase from; enum prom_event ev; int to; } cases[] = {
        { PH_NONE, PHE_AWAIT, PH_AWAITING_APPROVAL },
        { PH_NONE, PHE_PROMOTE, PH_INTENT },
        { PH_NONE, PHE_TESTS_FAILED, PH_FAILED },
        { PH_NONE, PHE_UNPLANNABLE, PH_FAILED },
        { PH_NONE, PHE_RECORDED, -1 },
        { PH_AWAITING_APPROVAL, PHE_APPROVED, PH_INTENT },
        { PH_AWAITING_APPROVAL, PHE_RECORDED, -1 },
        { PH_AWAITING_APPROVAL, PHE_PROMOTE, -1 },
        { PH_INTENT, PHE_RECORDED, PH_DONE },
        { PH_INTENT, PHE_GAVE_UP, PH_FAILED },
        { PH_INTENT, PHE_APPROVED, -1 },
        { PH_DONE, PHE_UNRECORDED, PH_INTENT },
        { PH_DONE, PHE_GAVE_UP, -1 },
        { PH_DONE, PHE_RETRY, -1 },
        { PH_FAILED, PHE_RETRY, PH_INTENT },
        { PH_FAILED, PHE_UNPLANNABLE, -1 },
        { PH_FAILED, PHE_RECORDED, -1 },
        { PH_COUNT, PHE_AWAIT, -1 },
        { PH_NONE, PHE_COUNT, -1 },
    };
    size_t i;
    int p;

    for (i = 0; i < ARRAY_LEN(cases); i++)
        unit_ok(prom_phase_next(cases[i].from, cases[i].ev) == cases[i].to, "phase %s + %s -> %s",
                prom_phase_name(cases[i].from), prom_event_name(cases[i].ev),
                cases[i].to < 0 ? "refused" : prom_phase_name((enum prom_phase)cases[i].to));
    for (p = PH_NONE; p < PH_COUNT; p++)
        unit_ok(prom_phase_parse(prom_phase_name((enum prom_phase)p)) == p, "phase name %s round-trips",
                prom_phase_name((enum prom_phase)p));
    unit_ok(prom_phase_parse("promoting") == -1, "an unknown phase word");
    unit_ok(strcmp(prom_step_name(PS_ARGOCD_UPDATED), "argocdUpdated") == 0 &&
            strcmp(prom_step_name(PS_ARGOCD_SYNCED), "argocdSynced") == 0 &&
            strcmp(prom_step_name(PS_FINISH), "finish") == 0 && strcmp(prom_step_name(99), "finish") == 0,
            "step names are the record's");
}

/* test_monitor_hop - the lifecycle: a run through it, and events that do
 * not apply. */
static void test_monitor_hop(void)
{
    static const struct { enum mon_hop_event ev; enum mon_hop_state want; } run[] = {
        { MHE_WRITTEN, MH_OPEN },             /* a late callback: nothing */
        { MHE_FORWARD_DUE, MH_OPEN },         /* a message while undecided */
        { MHE_DECIDE, MH_DECIDED },
        { MHE_FORWARD_DUE, MH_DECIDED },      /* not before it is written */
        { MHE_WRITE_QUEUED, MH_WRITING },
        { MHE_WRITE_FAILED, MH_DECIDED },
        { MHE_WRITE_QUEUED, MH_WRITING },
        { MHE_WRITTEN, MH_RECORDED },
        { MHE_EMITTED, MH_RECORDED },
        { MHE_FORWARD_DUE, MH_TO_FORWARD },
        { MHE_FORWARD_DUE, MH_TO_FORWARD },
        { MHE_EMITTED, MH_RECORDED },
        { MHE_RESET, MH_OPEN },
        { MHE_RESTORE, MH_RECORDED },
        { MHE_DECIDE, MH_RECORDED },
        { MHE_RESET, MH_OPEN },
    };
    struct mon_tracker tr = { .name = "t1" };
    struct mon_hop hop = { .tr = &tr, .source = "dev" };
    size_t i;

    for (i = 0; i < ARRAY_LEN(run); i++) {
        enum mon_hop_state from = hop.state;
        unit_ok(monitor_hop_move(&hop, run[i].ev) == run[i].want && hop.state == run[i].want,
                "hop %s + %s -> %s", monitor_hop_state_name(from), monitor_hop_event_name(run[i].ev),
                monitor_hop_state_name(run[i].want));
    }
    unit_ok(!monitor_hop_decided(&hop), "open is undecided");
    hop.state = MH_WRITING;
    unit_ok(monitor_hop_decided(&hop), "writing is decided");
}

int main(void)
{
    test_good();
    test_bad();
    test_values();
    test_round_trips();
    test_promoter_phases();
    test_monitor_hop();
    return unit_done();
}
