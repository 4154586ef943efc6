/* test_view.c - view_load(): a tracker's effective state and waiting-on text
 * derived from records written into a fresh state dir, case by case. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/store.h"
#include "util/util.h"
#include "domain/view.h"
#include "unit.h"

#define SHA1 "0123456789abcdef0123456789abcdef01234567"
#define SHA2 "89abcdef0123456789abcdef0123456789abcdef"

/* put - write area/name from JSON text. */
static void put(struct store *s, const char *area, const char *name, const char *json)
{
    cJSON *doc = cJSON_Parse(json);

    if (!doc || store_write(s, area, name, doc) < 0)
        unit_note("unable to write %s/%s", area, name);
    cJSON_Delete(doc);
}

/* tracker - trackers/t1 at generation gen, head sha, env, state. */
static void tracker(struct store *s, int gen, const char *sha, const char *env, const char *state)
{
    char buf[1024];

    snprintf(buf, sizeof(buf),
             "{\"apiVersion\":\"promo.dev/v1alpha1\",\"kind\":\"PullRequestTracker\","
             "\"metadata\":{\"name\":\"t1\",\"generation\":%d},"
             "\"spec\":{\"repository\":\"acme/shop\",\"number\":7,\"headSHA\":\"%s\",\"application\":\"shop\","
             "\"environment\":\"dev\"},\"status\":{\"environment\":\"%s\",\"state\":\"%s\"}}",
             gen, sha, env, state);
    put(s, "trackers", "t1", buf);
}

/* trigger_rec - trigger/t1 with hop dev (autoPromote as given): smoke
 * triggered with a run, lint in intent. */
static void trigger_rec(struct store *s, int gen, const char *sha, int auto_promote)
{
    char buf[2048];

    snprintf(buf, sizeof(buf),
             "{\"name\":\"t1\",\"generation\":%d,\"headSHA\":\"%s\",\"hops\":{\"dev\":{"
             "\"source\":\"dev\",\"target\":\"staging\",\"policy\":\"dev-to-staging\",\"autoPromote\":%s,"
             "\"tests\":["
             "{\"name\":\"smoke\",\"provider\":\"jenkins\",\"required\":true,\"key\":\"pk-1\",\"phase\":\"triggered\","
             "\"run\":{\"id\":\"3\",\"url\":\"http://ci/job/smoke/3/\",\"status\":\"queued\"}},"
             "{\"name\":\"lint\",\"provider\":\"gitlab\",\"required\":false,\"key\":\"pk-2\",\"phase\":\"intent\"}"
             "]}},\"superseded\":[]}",
             gen, sha, auto_promote ? "true" : "false");
    put(s, "trigger", "t1", buf);
}

/* monitor_rec - monitor/t1 with smoke's status and an aggregate. */
static void monitor_rec(struct store *s, const char *smoke, const char *agg)
{
    char buf[2048];

    snprintf(buf, sizeof(buf),
             "{\"name\":\"t1\",\"generation\":1,\"headSHA\":\"%s\",\"hops\":{\"dev\":{\"tests\":{"
             "\"smoke\":{\"key\":\"pk-1\",\"status\":\"%s\",\"url\":\"http://ci/job/smoke/3/\","
             "\"deadline\":\"2026-11-28T05:00:00.000Z\",\"durationMs\":5300}},"
             "\"aggregate\":%s}}}",
             SHA1, smoke, agg);
    put(s, "monitor", "t1", buf);
}

/* load - view_load t1 into v; returns its code. */
static int load(struct store *s, struct view *v)
{
    char err[256];

    return view_load(s, "t1", v, err, sizeof(err));
}

/* promoter_rec - promoter/t1 with hops (JSON members) and promotions (a JSON array). */
static void promoter_rec(struct store *s, const char *sha, const char *hops, const char *promotions)
{
    char buf[4096];

    snprintf(buf, sizeof(buf), "{\"name\":\"t1\",\"generation\":1,\"headSHA\":\"%s\",\"hops\":{%s},"
             "\"promotions\":%s}", sha, hops, promotions);
    put(s, "promoter", "t1", buf);
}

#define PHOP_DEV(phase, err) \
    "\"dev\":{\"source\":\"dev\",\"target\":\"staging\",\"policy\":\"dev-to-staging\",\"key\":\"pk-p1\"," \
    "\"argocd\":{\"cluster\":\"east\",\"application\":\"shop-staging\",\"project\":\"shop\"," \
    "\"appNamespace\":\"team-apps\",\"specDigest\":\"fnv1a64:0123456789abcdef\"},\"phase\":\"" phase "\"," \
    "\"lastError\":" err ",\"approvedBy\":null}"
#define PROMO_DEV \
    "{\"outcome\":\"Promoted\",\"sourceEnvironment\":\"dev\",\"targetEnvironment\":\"staging\"," \
    "\"headSHA\":\"" SHA1 "\",\"generation\":1,\"promotedAt\":\"2026-11-28T04:31:02.000Z\"," \
    "\"promotedBy\":\"promo-promoter\",\"policy\":\"dev-to-staging\",\"key\":\"pk-p1\",\"testRuns\":[]}"
#define PROMO_STAGING \
    "{\"outcome\":\"Promoted\",\"sourceEnvironment\":\"staging\",\"targetEnvironment\":\"prod\"," \
    "\"headSHA\":\"" SHA1 "\",\"generation\":1,\"promotedAt\":\"2026-11-28T04:41:02.000Z\"," \
    "\"promotedBy\":\"alice\",\"policy\":\"staging-to-prod\",\"key\":\"pk-p2\",\"testRuns\":[]}"

/* watcher_rec - watcher/t1 for env: synced, or deploying with a DeployTimeout condition. */
static void watcher_rec(struct store *s, int gen, const char *env, int synced)
{
    char buf[1024];

    snprintf(buf, sizeof(buf), "{\"name\":\"t1\",\"generation\":%d,\"headSHA\":\"%s\",\"environment\":\"%s\","
             "\"state\":\"%s\",\"observedAt\":\"2026-11-28T04:32:00.000Z\",\"conditions\":[%s]}",
             gen, SHA1, env, synced ? "synced" : "deploying",
             synced ? "" : "{\"type\":\"DeployTimeout\",\"status\":\"True\",\"message\":\"not healthy after 2s\"}");
    put(s, "watcher", "t1", buf);
}

/* chain_cases - the promoter, approvals and watcher records, rule by rule.
 * Starts with t1 synced in dev at generation 1, its dev tests passed. */
static void chain_cases(struct store *s, struct view *v)
{
    cJSON *doc;
    struct tracker t;

    tracker(s, 1, SHA1, "dev", "synced");
    trigger_rec(s, 1, SHA1, 1);
    monitor_rec(s, "passed", "{\"decided\":true,\"allPassed\":true,\"anyFailed\":false}");
    store_remove(s, "policy", "t1");

    promoter_rec(s, SHA1, PHOP_DEV("intent", "null"), "[]");
    unit_ok(load(s, v) == 0 && v->state == TS_PROMOTING && view_active(v) && strcmp(v->environment, "dev") == 0,
            "promoter phase intent: promoting in dev");
    promoter_rec(s, SHA1, PHOP_DEV("intent", "\"argocd: 503\""), "[]");
    unit_ok(load(s, v) == 0 && strstr(v->waiting, "last error: argocd: 503"), "promoting names the last error: %s",
            v->waiting);
    promoter_rec(s, SHA1, PHOP_DEV("awaiting-approval", "null"), "[]");
    unit_ok(load(s, v) == 0 && v->state == TS_AWAITING_APPROVAL && view_active(v) &&
            strcmp(v->waiting, "approval: promoctl approve t1") == 0, "promoter awaiting-approval: %s", v->waiting);
    put(s, "approvals", "t1", "{\"name\":\"t1\",\"generation\":1,\"headSHA\":\"" SHA1 "\","
        "\"hops\":{\"dev\":{\"approvedBy\":\"alice\",\"approvedAt\":\"2026-11-28T04:40:00.000Z\"}}}");
    unit_ok(load(s, v) == 0 && v->state == TS_PROMOTING && strstr(v->waiting, "approved by alice") &&
            strcmp(v->hops[0].approved_by, "alice") == 0, "approved: promoting, says by whom: %s", v->waiting);
    put(s, "approvals", "t1", "{\"name\":\"t1\",\"generation\":7,\"headSHA\":\"" SHA1 "\","
        "\"hops\":{\"dev\":{\"approvedBy\":\"mallory\"}}}");
    unit_ok(load(s, v) == 0 && v->state == TS_AWAITING_APPROVAL, "an approval of another generation does not count");
    store_remove(s, "approvals", "t1");

    promoter_rec(s, SHA1, PHOP_DEV("failed", "\"argocd: permission denied\""), "[]");
    unit_ok(load(s, v) == 0 && v->state == TS_FAILED && v->failure_reported && !view_active(v) &&
            strstr(v->waiting, "permission denied"), "promoter failed: failed, reported, at rest: %s", v->waiting);

    promoter_rec(s, SHA1, PHOP_DEV("failed", "\"argocd: permission denied\",\"failedAt\":\"2026-11-28T04:35:00.000Z\""),
                 "[]");
    put(s, "approvals", "t1", "{\"name\":\"t1\",\"generation\":1,\"headSHA\":\"" SHA1 "\","
        "\"hops\":{\"dev\":{\"retry\":{\"attempt\":2,\"requestedBy\":\"bob\","
        "\"requestedAt\":\"2026-11-28T04:36:00.000Z\"}}}}");
    unit_ok(load(s, v) == 0 && v->state == TS_FAILED && view_active(v) && strstr(v->waiting, "retry the promotion"),
            "retry after a failed promotion: active again for the promoter: %s", v->waiting);
    put(s, "approvals", "t1", "{\"name\":\"t1\",\"generation\":1,\"headSHA\":\"" SHA1 "\","
        "\"hops\":{\"dev\":{\"retry\":{\"attempt\":2,\"requestedAt\":\"2026-11-28T04:34:00.000Z\"}}}}");
    unit_ok(load(s, v) == 0 && v->state == TS_FAILED && !view_active(v), "a retry older than the failure: at rest");
    store_remove(s, "approvals", "t1");

    monitor_rec(s, "failed", "{\"decided\":true,\"allPassed\":false,\"anyFailed\":true,"
                "\"failureReasons\":[\"smoke: failed\"]}");
    promoter_rec(s, SHA1, PHOP_DEV("failed", "\"required tests failed\",\"failure\":\"tests\""), "[]");
    unit_ok(load(s, v) == 0 && v->state == TS_FAILED && !view_active(v) &&
            strstr(v->waiting, "a required test failed in dev: smoke: failed"),
            "test failure reported: at rest, says which: %s", v->waiting);

    /* promoctl retry: attempt 2 asked, not yet started, then started */
    put(s, "approvals", "t1", "{\"name\":\"t1\",\"generation\":1,\"headSHA\":\"" SHA1 "\","
        "\"hops\":{\"dev\":{\"retry\":{\"attempt\":2,\"requestedBy\":\"bob\"}}}}");
    unit_ok(load(s, v) == 0 && v->state == TS_TESTING && view_active(v) && strstr(v->waiting, "attempt 2") &&
            v->hops[0].retry_attempt == 2, "retry asked: testing until attempt 2 starts: %s", v->waiting);
    put(s, "trigger", "t1", "{\"name\":\"t1\",\"generation\":1,\"headSHA\":\"" SHA1 "\",\"hops\":{\"dev\":{"
        "\"source\":\"dev\",\"target\":\"staging\",\"policy\":\"dev-to-staging\",\"autoPromote\":true,\"tests\":["
        "{\"name\":\"smoke\",\"provider\":\"jenkins\",\"required\":true,\"attempt\":2,\"key\":\"pk-3\","
        "\"phase\":\"triggered\",\"run\":{\"id\":\"4\",\"url\":\"http://ci/job/smoke/4/\",\"status\":\"queued\"}}]}}}");
    unit_ok(load(s, v) == 0 && v->state == TS_TESTING && strcmp(v->tests[0].status, "queued") == 0 &&
            v->tests[0].attempt == 2 && strcmp(v->tests[0].key, "pk-3") == 0,
            "attempt 2 running: the monitor's failure of attempt 1 is superseded (status %s)", v->tests[0].status);
    store_remove(s, "approvals", "t1");
    trigger_rec(s, 1, SHA1, 1);
    monitor_rec(s, "passed", "{\"decided\":true,\"allPassed\":true,\"anyFailed\":false}");

    /* the chain */
    promoter_rec(s, SHA1, PHOP_DEV("done", "null"), "[" PROMO_DEV "]");
    unit_ok(load(s, v) == 0 && v->state == TS_DEPLOYING && strcmp(v->environment, "staging") == 0 &&
            v->deploy_promoted && !view_active(v), "promoted: deploying in staging, not active");
    unit_ok(strcmp(v->argocd_cluster, "east") == 0 && strcmp(v->argocd_app, "shop-staging") == 0 &&
            strcmp(v->promoted_at, "2026-11-28T04:31:02.000Z") == 0, "the target application for the watcher");
    unit_ok(strcmp(v->argocd_project, "shop") == 0 && strcmp(v->argocd_namespace, "team-apps") == 0 &&
            strcmp(v->argocd_digest, "fnv1a64:0123456789abcdef") == 0,
            "the watcher's project, appNamespace and digest come from the promoter hop");
    unit_ok(strstr(v->waiting, "shop-staging (Argo CD east) in staging") != NULL, "waits on Argo CD: %s", v->waiting);
    unit_ok(v->nhops == 2 && strcmp(v->hops[0].state, "promoted") == 0 && strcmp(v->hops[0].target, "staging") == 0 &&
            strcmp(v->hops[0].promoted_by, "promo-promoter") == 0 && v->hops[0].ntests == 2 &&
            strcmp(v->hops[1].source, "staging") == 0 && strcmp(v->hops[1].state, "deploying") == 0,
            "timeline: dev promoted, staging deploying");
    unit_ok(v->ntests == 0, "the current hop (staging) has no tests yet");
    memset(&t, 0, sizeof(t));
    str_copy(t.name, "t1", sizeof(t.name));
    str_copy(t.head_sha, SHA1, sizeof(t.head_sha));
    t.generation = 1;
    t.state = TS_SYNCED;
    unit_ok(view_effective(s, &t) == 0 && strcmp(t.status_env, "staging") == 0 && t.state == TS_DEPLOYING,
            "view_effective: deploying in the target");

    promoter_rec(s, SHA1, PHOP_DEV("done", "null"), "[]");
    unit_ok(load(s, v) == 0 && v->state == TS_DEPLOYING && strcmp(v->environment, "staging") == 0,
            "hop phase done alone counts as a promotion");
    promoter_rec(s, SHA1, PHOP_DEV("done", "null"), "[" PROMO_DEV "]");

    watcher_rec(s, 2, "staging", 1);
    unit_ok(load(s, v) == 0 && v->state == TS_DEPLOYING, "a watcher record of another generation is ignored");
    watcher_rec(s, 1, "staging", 0);
    unit_ok(load(s, v) == 0 && v->state == TS_FAILED && v->failure_reported && !view_active(v) &&
            strstr(v->waiting, "DeployTimeout"), "DeployTimeout: failed, says so: %s", v->waiting);
    watcher_rec(s, 1, "staging", 1);
    unit_ok(load(s, v) == 0 && v->state == TS_SYNCED && strcmp(v->environment, "staging") == 0 && view_active(v) &&
            !v->deploy_promoted && strcmp(v->hops[0].synced_at, "2026-11-28T04:32:00.000Z") == 0,
            "watcher synced in staging: synced there, active");

    doc = cJSON_Parse("{\"apiVersion\":\"promo.dev/v1alpha1\",\"status\":{\"environment\":\"dev\","
                      "\"state\":\"synced\",\"conditions\":[]}}");
    view_overlay(v, doc);
    unit_ok(strcmp(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "status"), "environment")->valuestring, "staging") == 0 &&
            cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "status"), "conditions") != NULL,
            "view_overlay: status.environment from the view, the rest kept");
    cJSON_Delete(doc);
    memset(&t, 0, sizeof(t));
    str_copy(t.name, "t1", sizeof(t.name));
    str_copy(t.head_sha, SHA1, sizeof(t.head_sha));
    t.generation = 1;
    str_copy(t.status_env, "dev", sizeof(t.status_env));
    t.state = TS_SYNCED;
    unit_ok(view_effective(s, &t) == 0 && strcmp(t.status_env, "staging") == 0 && t.state == TS_SYNCED,
            "view_effective: the environment");

    put(s, "policy", "t1", "{\"tracker\":\"t1\",\"generation\":1,\"headSHA\":\"" SHA1 "\",\"environment\":\"dev\","
        "\"state\":\"done\",\"conditions\":[]}");
    unit_ok(load(s, v) == 0 && v->state == TS_SYNCED, "end of chain for dev does not end staging");
    put(s, "policy", "t1", "{\"tracker\":\"t1\",\"generation\":1,\"headSHA\":\"" SHA1 "\",\"environment\":\"staging\","
        "\"state\":\"attached\",\"policy\":\"staging-to-prod\",\"targetEnvironment\":\"prod\",\"conditions\":[]}");
    unit_ok(load(s, v) == 0 && v->state == TS_SYNCED && strcmp(v->target, "prod") == 0 &&
            strstr(v->waiting, "staging-to-prod"), "next policy attached: %s", v->waiting);

    put(s, "trigger", "t1", "{\"name\":\"t1\",\"generation\":1,\"headSHA\":\"" SHA1 "\",\"hops\":{\"dev\":{"
        "\"source\":\"dev\",\"target\":\"staging\",\"policy\":\"dev-to-staging\",\"autoPromote\":true,"
        "\"startedAt\":\"2026-11-28T04:30:00.000Z\",\"tests\":[]},"
        "\"staging\":{\"source\":\"staging\",\"target\":\"prod\",\"policy\":\"staging-to-prod\",\"autoPromote\":false,"
        "\"startedAt\":\"2026-11-28T04:33:00.000Z\",\"tests\":["
        "{\"name\":\"e2e\",\"provider\":\"gitlab\",\"required\":true,\"attempt\":1,\"key\":\"pk-9\",\"phase\":\"triggered\","
        "\"run\":{\"id\":\"1001\",\"url\":\"http://gl/p/1001\",\"status\":\"running\"}}]}}}");
    unit_ok(load(s, v) == 0 && v->state == TS_TESTING && v->ntests == 1 && strcmp(v->tests[0].name, "e2e") == 0 &&
            strcmp(v->hops[1].started_at, "2026-11-28T04:33:00.000Z") == 0, "testing in staging: its own tests");
    put(s, "monitor", "t1", "{\"name\":\"t1\",\"generation\":1,\"headSHA\":\"" SHA1 "\",\"hops\":{\"staging\":{"
        "\"tests\":{\"e2e\":{\"key\":\"pk-9\",\"status\":\"passed\",\"durationMs\":900}},"
        "\"aggregate\":{\"decided\":true,\"allPassed\":true,\"anyFailed\":false}}}}");
    unit_ok(load(s, v) == 0 && v->state == TS_AWAITING_APPROVAL && strcmp(v->environment, "staging") == 0,
            "staging passed, autoPromote false: awaiting-approval");

    promoter_rec(s, SHA1, PHOP_DEV("done", "null") ",\"staging\":{\"source\":\"staging\",\"target\":\"prod\","
                 "\"argocd\":{\"cluster\":\"default\",\"application\":\"shop-prod\"},\"phase\":\"done\","
                 "\"approvedBy\":\"alice\"}", "[" PROMO_DEV "," PROMO_STAGING "]");
    unit_ok(load(s, v) == 0 && v->state == TS_DEPLOYING && strcmp(v->environment, "prod") == 0 &&
            strcmp(v->argocd_app, "shop-prod") == 0,
            "promoted on: deploying in prod though the watcher record is still staging's");
    watcher_rec(s, 1, "prod", 1);
    unit_ok(load(s, v) == 0 && v->state == TS_SYNCED && strcmp(v->environment, "prod") == 0,
            "prod synced: dev and staging are implied by their promotions");
    unit_ok(v->nhops == 3 && strcmp(v->hops[1].promoted_by, "alice") == 0 &&
            strcmp(v->hops[1].approved_by, "alice") == 0 && strcmp(v->hops[2].source, "prod") == 0,
            "timeline of three hops");
    put(s, "policy", "t1", "{\"tracker\":\"t1\",\"generation\":1,\"headSHA\":\"" SHA1 "\",\"environment\":\"prod\","
        "\"state\":\"done\",\"conditions\":[]}");
    unit_ok(load(s, v) == 0 && v->state == TS_DONE && !view_active(v) && strcmp(v->hops[2].state, "done") == 0,
            "end of chain in prod: done");
    doc = view_to_json(v);
    unit_ok(doc && cJSON_GetArraySize(cJSON_GetObjectItem(doc, "hops")) == 3 &&
            strcmp(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "hops"), 1), "promotedBy")->valuestring,
                   "alice") == 0, "view_to_json has the hops");
    cJSON_Delete(doc);

    /* the tracker restarted (promoctl track --sha): all of it is another commit's */
    store_remove(s, "promoter", "t1");
    store_remove(s, "watcher", "t1");
    store_remove(s, "policy", "t1");
    store_remove(s, "monitor", "t1");
}

int main(void)
{
    struct store *s = store_open(unit_tmpdir(), 1);
    struct view *v = xcalloc(1, sizeof(*v));
    cJSON *j;
    const char *undecided = "{\"decided\":false,\"allPassed\":false,\"anyFailed\":false}";

    unit_ok(s != NULL, "store opened");
    if (!s)
        return unit_done();

    unit_ok(load(s, v) == -ENOENT, "no tracker: -ENOENT");

    tracker(s, 1, SHA1, "dev", "deploying");
    unit_ok(load(s, v) == 0 && v->state == TS_DEPLOYING, "deploying stays deploying");
    unit_ok(strstr(v->waiting, "deployment of shop in dev") != NULL, "waits on the deployment: %s", v->waiting);
    unit_ok(!view_active(v), "deploying is not active");

    tracker(s, 1, SHA1, "dev", "synced");
    unit_ok(load(s, v) == 0 && v->state == TS_SYNCED && v->ntests == 0, "synced, no records: synced");
    unit_ok(strstr(v->waiting, "promotion tests for dev to be started") != NULL, "waits on tests: %s", v->waiting);
    unit_ok(view_active(v), "synced is active");

    put(s, "policy", "t1", "{\"tracker\":\"t1\",\"generation\":1,\"headSHA\":\"" SHA1 "\",\"environment\":\"dev\","
        "\"state\":\"blocked\",\"conditions\":[]}");
    unit_ok(load(s, v) == 0 && strcmp(v->waiting, "no policy for environment dev") == 0,
            "blocked policy record: %s", v->waiting);

    put(s, "policy", "t1", "{\"tracker\":\"t1\",\"generation\":1,\"headSHA\":\"" SHA1 "\",\"environment\":\"dev\","
        "\"state\":\"done\",\"conditions\":[]}");
    unit_ok(load(s, v) == 0 && v->state == TS_DONE && !view_active(v), "end of chain: done, not active");

    put(s, "policy", "t1", "{\"tracker\":\"t1\",\"generation\":1,\"headSHA\":\"" SHA1 "\",\"environment\":\"staging\","
        "\"state\":\"done\",\"conditions\":[]}");
    unit_ok(load(s, v) == 0 && v->state == TS_SYNCED, "a policy record for another environment is ignored");

    put(s, "policy", "t1", "{\"tracker\":\"t1\",\"generation\":1,\"headSHA\":\"" SHA1 "\",\"environment\":\"dev\","
        "\"state\":\"attached\",\"policy\":\"dev-to-staging\",\"targetEnvironment\":\"staging\",\"conditions\":[]}");
    unit_ok(load(s, v) == 0 && v->state == TS_SYNCED && strstr(v->waiting, "dev-to-staging"),
            "attached, nothing triggered: synced, names the policy: %s", v->waiting);

    trigger_rec(s, 1, SHA1, 1);
    unit_ok(load(s, v) == 0 && v->state == TS_TESTING && view_active(v), "trigger record: testing");
    unit_ok(v->ntests == 2 && strcmp(v->tests[0].name, "smoke") == 0 && strcmp(v->tests[0].status, "queued") == 0 &&
            strcmp(v->tests[0].url, "http://ci/job/smoke/3/") == 0 && v->tests[0].required,
            "row smoke from the trigger record");
    unit_ok(strcmp(v->tests[1].status, "starting") == 0 && !v->tests[1].required, "row lint: intent is starting");
    unit_ok(strstr(v->waiting, "test smoke (jenkins, queued) at http://ci/job/smoke/3/") != NULL &&
            strstr(v->waiting, "and 1 more") != NULL, "waits on smoke first: %s", v->waiting);
    unit_ok(strcmp(v->target, "staging") == 0 && strcmp(v->policy, "dev-to-staging") == 0, "hop target and policy");

    monitor_rec(s, "running", undecided);
    unit_ok(load(s, v) == 0 && v->state == TS_TESTING && strcmp(v->tests[0].status, "running") == 0 &&
            v->tests[0].duration_ms == 5300 && strcmp(v->tests[0].deadline, "2026-11-28T05:00:00.000Z") == 0,
            "monitor status, duration and deadline override");
    unit_ok(strstr(v->waiting, "deadline 2026-11-28T05:00:00.000Z") != NULL, "waiting names the deadline: %s", v->waiting);

    monitor_rec(s, "failed", "{\"decided\":true,\"allPassed\":false,\"anyFailed\":true,"
                "\"failureReasons\":[\"smoke: failed (FAILURE) http://ci/job/smoke/3/\"]}");
    unit_ok(load(s, v) == 0 && v->state == TS_FAILED && view_active(v) && !v->failure_reported,
            "aggregate anyFailed: failed, active until the promoter reports it");
    unit_ok(strstr(v->waiting, "smoke: failed (FAILURE)") != NULL, "failed says why: %s", v->waiting);

    monitor_rec(s, "passed", "{\"decided\":true,\"allPassed\":true,\"anyFailed\":false}");
    unit_ok(load(s, v) == 0 && v->state == TS_PROMOTING && view_active(v), "allPassed, autoPromote: promoting");

    trigger_rec(s, 1, SHA1, 0);
    unit_ok(load(s, v) == 0 && v->state == TS_AWAITING_APPROVAL && view_active(v),
            "allPassed, autoPromote false: awaiting-approval");
    unit_ok(strstr(v->waiting, "approval") != NULL, "waits on approval: %s", v->waiting);

    j = view_to_json(v);
    unit_ok(j && strcmp(cJSON_GetObjectItem(j, "state")->valuestring, "awaiting-approval") == 0 &&
            cJSON_GetArraySize(cJSON_GetObjectItem(j, "tests")) == 2 &&
            strcmp(cJSON_GetObjectItem(j, "waitingOn")->valuestring, v->waiting) == 0, "view_to_json");
    cJSON_Delete(j);

    chain_cases(s, v);

    /* a new commit: every record of the old one is ignored */
    tracker(s, 2, SHA2, "dev", "synced");
    unit_ok(load(s, v) == 0 && v->state == TS_SYNCED && v->ntests == 0, "new generation: old records ignored");
    trigger_rec(s, 2, SHA1, 1);
    unit_ok(load(s, v) == 0 && v->state == TS_SYNCED, "a trigger record of another head SHA is ignored");
    trigger_rec(s, 2, SHA2, 1);
    unit_ok(load(s, v) == 0 && v->state == TS_TESTING, "then the new one counts");

    /* the tracker's own terminal states win */
    tracker(s, 2, SHA2, "dev", "failed");
    unit_ok(load(s, v) == 0 && v->state == TS_FAILED, "tracker failed stays failed");
    tracker(s, 2, SHA2, "dev", "done");
    unit_ok(load(s, v) == 0 && v->state == TS_DONE, "tracker done stays done");

    /* a corrupt stage record counts as absent */
    tracker(s, 2, SHA2, "dev", "synced");
    {
        char path[4096];
        FILE *f;
        store_area_path(s, "trigger", path, sizeof(path));
        strncat(path, "/t1.json", sizeof(path) - strlen(path) - 1);
        f = fopen(path, "w");
        if (f) {
            fputs("{\"name\":", f);
            fclose(f);
        }
    }
    unit_ok(load(s, v) == 0 && v->state == TS_SYNCED, "corrupt trigger record: absent");

    put(s, "trackers", "t1", "{\"apiVersion\":\"promo.dev/v1alpha1\"}");
    unit_ok(load(s, v) == -EBADMSG, "invalid tracker: -EBADMSG");

    free(v);
    store_close(s);
    return unit_done();
}
