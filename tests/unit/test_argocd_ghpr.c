/* test_argocd_ghpr.c - the Argo CD and GitHub PR adapters: decoders of real-
 * shaped and hostile answers, error mapping by table, argocd_app_at/syncing,
 * patch builders, URL building and escaping, the comment renderer and the
 * marker search; then, when bin/promo-sim is there, every operation against
 * it inside a real stage loop. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adapters/argocd.h"
#include "adapters/ghpr.h"
#include "util/http.h"
#include "util/log.h"
#include "util/util.h"
#include "ipc/stage.h"
#include "unit.h"

#define SHA  "0123456789abcdef0123456789abcdef01234567"
#define SHA2 "fedcba9876543210fedcba9876543210fedcba98"

/* A real-shaped Application (trimmed from an Argo CD 2.x answer). */
static const char app_synced[] =
    "{\"metadata\":{\"name\":\"shop-staging\",\"namespace\":\"argocd\",\"uid\":\"u\","
    "\"resourceVersion\":\"123\",\"generation\":7,\"labels\":{\"team\":\"shop\"}},"
    "\"spec\":{\"project\":\"shop\",\"source\":{\"repoURL\":\"https://git.example.com/shop.git\","
    "\"path\":\"deploy/staging\",\"targetRevision\":\"" SHA "\"},"
    "\"destination\":{\"server\":\"https://kubernetes.default.svc\",\"namespace\":\"shop\"},"
    "\"syncPolicy\":{}},"
    "\"status\":{\"resources\":[{\"kind\":\"Deployment\",\"name\":\"web\",\"status\":\"Synced\"}],"
    "\"sync\":{\"status\":\"Synced\",\"comparedTo\":{\"source\":{}},\"revision\":\"" SHA "\"},"
    "\"health\":{\"status\":\"Healthy\"},\"history\":[{\"revision\":\"" SHA "\",\"id\":3}],"
    "\"reconciledAt\":\"2026-11-28T04:30:00Z\","
    "\"operationState\":{\"operation\":{\"sync\":{\"revision\":\"" SHA "\",\"prune\":false},"
    "\"initiatedBy\":{\"username\":\"admin\"}},\"phase\":\"Succeeded\","
    "\"message\":\"successfully synced (all tasks run)\",\"syncResult\":{\"revision\":\"" SHA "\"},"
    "\"startedAt\":\"2026-11-28T04:29:00Z\",\"finishedAt\":\"2026-11-28T04:29:30Z\"},"
    "\"sourceType\":\"Directory\"}}";

static const char app_running[] =
    "{\"metadata\":{\"name\":\"shop-prod\"},"
    "\"spec\":{\"source\":{\"targetRevision\":\"" SHA2 "\"}},"
    "\"status\":{\"sync\":{\"status\":\"OutOfSync\",\"revision\":\"" SHA "\"},"
    "\"health\":{\"status\":\"Progressing\",\"message\":\"Waiting for rollout\"},"
    "\"operationState\":{\"operation\":{\"sync\":{\"revision\":\"" SHA2 "\"}},\"phase\":\"Running\","
    "\"message\":\"waiting for healthy state of apps/Deployment/web\"}}}";

static const char app_requested[] =
    "{\"metadata\":{\"name\":\"a\"},\"operation\":{\"sync\":{\"revision\":\"" SHA2 "\"}},"
    "\"status\":{\"sync\":{\"status\":\"Synced\",\"revision\":\"" SHA "\"},"
    "\"health\":{\"status\":\"Healthy\"}}}";

static const char app_multisource[] =
    "{\"metadata\":{\"name\":\"m\"},\"spec\":{\"sources\":[{}]},"
    "\"status\":{\"sync\":{\"status\":\"Synced\",\"revisions\":[\"" SHA "\",\"abc\"]},"
    "\"health\":{\"status\":\"Healthy\"}}}";

/* test_app_decoders - good answers field by field. */
static void test_app_decoders(void)
{
    struct argocd_app a;
    char err[256];

    unit_ok(argocd_parse_app(app_synced, strlen(app_synced), &a, err, sizeof(err)) == 0,
            "argocd: real-shaped Application decodes");
    unit_ok(strcmp(a.name, "shop-staging") == 0 && strcmp(a.app_namespace, "argocd") == 0 &&
            strcmp(a.project, "shop") == 0, "argocd: name, namespace, project");
    unit_ok(a.sync == ARGOCD_SYNC_SYNCED && a.health == ARGOCD_HEALTH_HEALTHY &&
            strcmp(a.revision, SHA) == 0 && strcmp(a.target_revision, SHA) == 0,
            "argocd: sync, health, revision, targetRevision");
    unit_ok(a.phase == ARGOCD_PHASE_SUCCEEDED && strcmp(a.op_revision, SHA) == 0 &&
            strstr(a.op_message, "successfully synced") && !a.op_requested,
            "argocd: operationState phase, revision, message");
    unit_ok(argocd_app_at(&a, SHA) && argocd_app_at(&a, "0123456789ABCDEF0123456789ABCDEF01234567") &&
            !argocd_app_at(&a, SHA2) && !argocd_app_at(&a, "") && !argocd_app_at(&a, NULL),
            "argocd_app_at: synced+healthy at SHA (any case), not at another");
    unit_ok(!argocd_app_syncing(&a, SHA), "argocd_app_syncing: a finished operation is not syncing");

    unit_ok(argocd_parse_app(app_running, strlen(app_running), &a, err, sizeof(err)) == 0 &&
            a.sync == ARGOCD_SYNC_OUT_OF_SYNC && a.health == ARGOCD_HEALTH_PROGRESSING &&
            a.phase == ARGOCD_PHASE_RUNNING && strcmp(a.health_message, "Waiting for rollout") == 0,
            "argocd: running operation decodes");
    unit_ok(argocd_app_syncing(&a, SHA2) && !argocd_app_syncing(&a, SHA) && !argocd_app_at(&a, SHA2),
            "argocd_app_syncing: running for its revision only");

    unit_ok(argocd_parse_app(app_requested, strlen(app_requested), &a, err, sizeof(err)) == 0 &&
            a.op_requested && strcmp(a.op_requested_revision, SHA2) == 0 && a.phase == ARGOCD_PHASE_NONE,
            "argocd: a requested operation (top-level operation)");
    unit_ok(argocd_app_syncing(&a, SHA2) && argocd_app_at(&a, SHA) && !argocd_app_syncing(&a, SHA),
            "argocd_app_syncing: requested for its revision");

    unit_ok(argocd_parse_app(app_multisource, strlen(app_multisource), &a, err, sizeof(err)) == 0 &&
            strcmp(a.revision, SHA) == 0 && a.target_revision[0] == '\0',
            "argocd: multi-source revision from revisions[0]");

    {
        const char *odd = "{\"metadata\":{\"name\":\"x\"},\"status\":{\"sync\":{\"status\":\"Weird\"},"
                          "\"health\":{\"status\":\"Exploded\"},\"operationState\":{\"phase\":\"Paused\"}}}";
        unit_ok(argocd_parse_app(odd, strlen(odd), &a, err, sizeof(err)) == 0 &&
                a.sync == ARGOCD_SYNC_UNKNOWN && a.health == ARGOCD_HEALTH_UNKNOWN &&
                a.phase == ARGOCD_PHASE_OTHER && strcmp(a.phase_word, "Paused") == 0,
                "argocd: unknown words map to Unknown/other (never Synced/Healthy)");
    }
    unit_ok(strcmp(argocd_sync_name(ARGOCD_SYNC_OUT_OF_SYNC), "OutOfSync") == 0 &&
            strcmp(argocd_health_name(ARGOCD_HEALTH_MISSING), "Missing") == 0 &&
            strcmp(argocd_phase_name(ARGOCD_PHASE_TERMINATING), "Terminating") == 0 &&
            strcmp(argocd_phase_name(ARGOCD_PHASE_NONE), "") == 0, "argocd: status names");
}

/* Hostile Application answers: each an error naming the field. */
static const struct { const char *body, *want; } hostile_apps[] = {
    { "", "(answer): empty" },
    { "not json", "(answer): not valid JSON" },
    { "[]", "(answer): must be an object, not an array" },
    { "\"x\"", "(answer): must be an object, not a string" },
    { "null", "(answer): must be an object, not null" },
    { "{}", "metadata: required field is missing" },
    { "{\"metadata\":[]}", "metadata: must be an object, not an array" },
    { "{\"metadata\":{}}", "metadata.name: required field is missing" },
    { "{\"metadata\":{\"name\":7}}", "metadata.name: must be a string, not a number" },
    { "{\"metadata\":{\"name\":\"\"}}", "metadata.name: must not be empty" },
    { "{\"metadata\":{\"name\":\"a\",\"namespace\":{}}}", "metadata.namespace: must be a string" },
    { "{\"metadata\":{\"name\":\"a\"},\"spec\":\"x\"}", "spec: must be an object, not a string" },
    { "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"source\":[1]}}", "spec.source: must be an object, not an array" },
    { "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"source\":{\"targetRevision\":true}}}",
      "spec.source.targetRevision: must be a string, not a boolean" },
    { "{\"metadata\":{\"name\":\"a\"},\"status\":[]}", "status: must be an object, not an array" },
    { "{\"metadata\":{\"name\":\"a\"},\"status\":{\"sync\":\"Synced\"}}", "status.sync: must be an object, not a string" },
    { "{\"metadata\":{\"name\":\"a\"},\"status\":{\"sync\":{\"status\":1}}}", "status.sync.status: must be a string, not a number" },
    { "{\"metadata\":{\"name\":\"a\"},\"status\":{\"sync\":{\"revision\":[]}}}", "status.sync.revision: must be a string, not an array" },
    { "{\"metadata\":{\"name\":\"a\"},\"status\":{\"sync\":{\"revisions\":{}}}}", "status.sync.revisions: must be an array" },
    { "{\"metadata\":{\"name\":\"a\"},\"status\":{\"sync\":{\"revisions\":[5]}}}", "status.sync.revisions[0]: must be a string" },
    { "{\"metadata\":{\"name\":\"a\"},\"status\":{\"health\":[\"Healthy\"]}}", "status.health: must be an object, not an array" },
    { "{\"metadata\":{\"name\":\"a\"},\"status\":{\"health\":{\"status\":null,\"message\":5}}}",
      "status.health.message: must be a string, not a number" },
    { "{\"metadata\":{\"name\":\"a\"},\"status\":{\"operationState\":\"Running\"}}",
      "status.operationState: must be an object, not a string" },
    { "{\"metadata\":{\"name\":\"a\"},\"status\":{\"operationState\":{\"phase\":{}}}}",
      "status.operationState.phase: must be a string, not an object" },
    { "{\"metadata\":{\"name\":\"a\"},\"status\":{\"operationState\":{\"phase\":\"Running\",\"operation\":{\"sync\":{\"revision\":1}}}}}",
      "status.operationState.operation.sync.revision: must be a string" },
    { "{\"metadata\":{\"name\":\"a\"},\"status\":{\"operationState\":{\"syncResult\":7}}}",
      "status.operationState.syncResult: must be an object, not a number" },
    { "{\"metadata\":{\"name\":\"a\"},\"operation\":[]}", "operation: must be an object, not an array" },
    { "{\"metadata\":{\"name\":\"a\"},\"operation\":{\"sync\":{\"revision\":false}}}",
      "operation.sync.revision: must be a string, not a boolean" },
};

/* test_app_hostile - hostile answers, huge strings, deep nesting. */
static void test_app_hostile(void)
{
    struct argocd_app a;
    char err[256], *big, *deep;
    size_t i, n;

    for (i = 0; i < ARRAY_LEN(hostile_apps); i++) {
        int rc;
        err[0] = '\0';
        rc = argocd_parse_app(hostile_apps[i].body, strlen(hostile_apps[i].body), &a, err, sizeof(err));
        if (!unit_ok(rc == -1 && strstr(err, hostile_apps[i].want) && a.name[0] == '\0',
                     "argocd hostile %zu: %s", i, hostile_apps[i].want))
            unit_note("got rc=%d err=%s", rc, err);
    }
    /* A 1 MB revision: refused, naming the field. */
    n = 1 << 20;
    big = xmalloc(n + 200);
    n = (size_t)sprintf(big, "{\"metadata\":{\"name\":\"a\"},\"status\":{\"sync\":{\"revision\":\"");
    memset(big + n, 'a', 1 << 20);
    n += 1 << 20;
    n += (size_t)sprintf(big + n, "\"}}}");
    unit_ok(argocd_parse_app(big, n, &a, err, sizeof(err)) == -1 &&
            strstr(err, "status.sync.revision: longer than 255 bytes"), "argocd: a huge revision is refused");
    /* A huge message is cut, not refused. */
    n = (size_t)sprintf(big, "{\"metadata\":{\"name\":\"a\"},\"status\":{\"operationState\":{\"message\":\"");
    memset(big + n, 'm', 100000);
    n += 100000;
    n += (size_t)sprintf(big + n, "\"}}}");
    unit_ok(argocd_parse_app(big, n, &a, err, sizeof(err)) == 0 && strlen(a.op_message) == ARGOCD_MSG_MAX,
            "argocd: a huge message is truncated");
    free(big);
    /* 100000 levels of nesting: cJSON's depth limit, an error not a crash. */
    deep = xmalloc(200010);
    memset(deep, '[', 100000);
    memset(deep + 100000, ']', 100000);
    unit_ok(argocd_parse_app(deep, 200000, &a, err, sizeof(err)) == -1, "argocd: deep nesting refused");
    free(deep);
    /* Not NUL-terminated: len is respected. */
    unit_ok(argocd_parse_app("{\"metadata\":{\"name\":\"a\"}}garbage", 26, &a, err, sizeof(err)) == 0 &&
            strcmp(a.name, "a") == 0, "argocd: len bounds the input");
}

/* test_argocd_errors - decoder of error bodies. */
static void test_argocd_errors(void)
{
    struct argocd_error e;
    const char *b1 = "{\"error\":\"permission denied\",\"code\":7,\"message\":\"permission denied\"}";
    const char *b2 = "{\"code\":9,\"message\":\"another operation is already in progress\",\"details\":[]}";
    const char *b3 = "{\"error\":\"only error\"}";

    unit_ok(argocd_parse_error(b1, strlen(b1), &e) == 0 && e.code == 7 &&
            strcmp(e.message, "permission denied") == 0, "argocd_parse_error: code and message");
    unit_ok(argocd_parse_error(b2, strlen(b2), &e) == 0 && e.code == 9, "argocd_parse_error: grpc-gateway v2 shape");
    unit_ok(argocd_parse_error(b3, strlen(b3), &e) == 0 && e.code == -1 &&
            strcmp(e.message, "only error") == 0, "argocd_parse_error: error when no message");
    unit_ok(argocd_parse_error("[1]", 3, &e) == -1 && e.code == -1 && !e.message[0], "argocd_parse_error: array refused");
    unit_ok(argocd_parse_error("{\"code\":\"7\"}", 12, &e) == -1, "argocd_parse_error: string code refused");
    unit_ok(argocd_parse_error("{\"message\":[]}", 14, &e) == -1, "argocd_parse_error: array message refused");
    unit_ok(argocd_parse_error("<html>502</html>", 16, &e) == -1, "argocd_parse_error: HTML refused");
}

/* Error mapping of Argo CD answers. */
static const struct {
    int http_error;
    long status;
    const char *body;
    const char *retry_after;
    int with_project;
    int want;
    const char *want_msg;
} argocd_map[] = {
    { HTTP_OK, 200, "{}", NULL, 0, 0, "" },
    { HTTP_OK, 400, "{\"error\":\"another operation is already in progress\",\"code\":9,"
      "\"message\":\"another operation is already in progress\"}", NULL, 1, ADAPTER_ETEMP, "another operation" },
    { HTTP_OK, 409, "{\"code\":9,\"message\":\"error: another operation is already in progress\"}", NULL, 1,
      ADAPTER_ETEMP, "another operation" },
    { HTTP_OK, 404, "{\"error\":\"applications.argoproj.io \\\"x\\\" not found\",\"code\":5}", NULL, 1,
      ADAPTER_EPERM, "cluster prod: application shop-prod not found" },
    { HTTP_OK, 403, "{\"error\":\"permission denied\",\"code\":7,\"message\":\"permission denied\"}", NULL, 0,
      ADAPTER_EPERM, "application shop-prod not found, or permission denied" },
    { HTTP_OK, 403, "{\"error\":\"permission denied: applications, sync, shop/shop-prod\",\"code\":7}", NULL, 1,
      ADAPTER_EPERM, "permission denied: permission denied: applications, sync" },
    { HTTP_OK, 401, "{\"error\":\"no session information\",\"code\":16}", NULL, 0, ADAPTER_EPERM,
      "authentication failed" },
    { HTTP_OK, 400, "{\"error\":\"Patch type 'x' is not supported\",\"code\":3}", NULL, 0, ADAPTER_EPERM,
      "HTTP 400: Patch type" },
    { HTTP_OK, 500, "boom", NULL, 0, ADAPTER_ETEMP, "HTTP 500: (no message)" },
    { HTTP_OK, 503, "{\"code\":14,\"message\":\"connection error\"}", "7", 0, ADAPTER_ETEMP, "HTTP 503" },
    { HTTP_OK, 429, "", "2", 0, ADAPTER_ETEMP, "HTTP 429" },
    { HTTP_ECONNECT, 0, NULL, NULL, 0, ADAPTER_ETEMP, "connection refused" },
    { HTTP_ETIMEOUT, 0, NULL, NULL, 0, ADAPTER_ETEMP, "connection refused" },
    { HTTP_EBADURL, 0, NULL, NULL, 0, ADAPTER_EPERM, "connection refused" },
    { HTTP_ETOOBIG, 0, NULL, NULL, 0, ADAPTER_EPERM, "connection refused" },
};

/* test_argocd_classify - the table above. */
static void test_argocd_classify(void)
{
    struct argocd_result r;
    size_t i;

    for (i = 0; i < ARRAY_LEN(argocd_map); i++) {
        int got;
        memset(&r, 0, sizeof(r));
        got = argocd_classify(argocd_map[i].http_error, "connection refused", argocd_map[i].status,
                              argocd_map[i].body, argocd_map[i].body ? strlen(argocd_map[i].body) : 0,
                              argocd_map[i].retry_after, "prod", "shop-prod",
                              argocd_map[i].with_project, &r);
        if (!unit_ok(got == argocd_map[i].want && r.error == got && strstr(r.errmsg, argocd_map[i].want_msg),
                     "argocd_classify %zu: HTTP %ld -> %d", i, argocd_map[i].status, argocd_map[i].want))
            unit_note("got %d: %s", got, r.errmsg);
    }
    memset(&r, 0, sizeof(r));
    argocd_classify(HTTP_OK, "", 503, "", 0, "7", "", "a", 0, &r);
    unit_ok(r.retry_after_ms == 7000 && strstr(r.errmsg, "cluster default"), "argocd_classify: retry-after, cluster default");
    memset(&r, 0, sizeof(r));
    argocd_classify(HTTP_OK, "", 400, "{\"message\":\"bad\\u0007\\nthing\"}", 30, NULL, "c", "a", 0, &r);
    unit_ok(r.error == ADAPTER_EPERM && !strchr(r.errmsg, '\n') && !strchr(r.errmsg, '\a'),
            "argocd_classify: control bytes of a message are not passed on");
}

/* test_argocd_builders - URLs and patches. */
static void test_argocd_builders(void)
{
    static const struct { const char *base, *app, *suffix, *ns, *proj, *want; } urls[] = {
        { "https://argocd.example.com", "shop-prod", NULL, NULL, NULL,
          "https://argocd.example.com/api/v1/applications/shop-prod" },
        { "https://argocd.example.com/", "shop-prod", "/sync", "", "", 
          "https://argocd.example.com/api/v1/applications/shop-prod/sync" },
        { "http://127.0.0.1:8080/argocd//", "a.b_c", NULL, "argocd", "shop",
          "http://127.0.0.1:8080/argocd/api/v1/applications/a.b_c?appNamespace=argocd&project=shop" },
        { "https://h", "we ird/name?x", NULL, "team a&b", "p=q#r",
          "https://h/api/v1/applications/we%20ird%2Fname%3Fx?appNamespace=team%20a%26b&project=p%3Dq%23r" },
        { "https://h", "a", NULL, NULL, "only-project", "https://h/api/v1/applications/a?project=only-project" },
        { "https://h", "\xc3\xa9t\xc3\xa9", NULL, NULL, NULL, "https://h/api/v1/applications/%C3%A9t%C3%A9" },
    };
    char err[200], *s;
    size_t i;

    for (i = 0; i < ARRAY_LEN(urls); i++) {
        s = argocd_url(urls[i].base, urls[i].app, urls[i].suffix, urls[i].ns, urls[i].proj);
        if (!unit_ok(strcmp(s, urls[i].want) == 0, "argocd_url %zu: %s", i, urls[i].want))
            unit_note("got %s", s);
        free(s);
    }
    unit_ok(argocd_name_ok("shop-prod") && argocd_name_ok("a.b_C9") && !argocd_name_ok("") &&
            !argocd_name_ok(NULL) && !argocd_name_ok("a b") && !argocd_name_ok("a/b") &&
            !argocd_name_ok("a?b"), "argocd_name_ok");

    s = argocd_patch_default(SHA);
    unit_ok(s && strcmp(s, "{\"spec\":{\"source\":{\"targetRevision\":\"" SHA "\"}}}") == 0,
            "argocd_patch_default: the targetRevision merge patch");
    free(s);
    s = argocd_patch_default("v1.2\"}");
    unit_ok(s && strcmp(s, "{\"spec\":{\"source\":{\"targetRevision\":\"v1.2\\\"}\"}}}") == 0,
            "argocd_patch_default: the revision is JSON-escaped");
    free(s);
    unit_ok(!argocd_patch_default("") && !argocd_patch_default(NULL) && !argocd_patch_default("a\nb"),
            "argocd_patch_default: empty and control bytes refused");

    s = argocd_patch_template(" { \"spec\" : {\"source\":{\"helm\":{\"parameters\":[{\"name\":\"image.tag\",\"value\":\"" SHA "\"}]}}} } ",
                              "merge", err, sizeof(err));
    unit_ok(s && strncmp(s, "{\"spec\":{\"source\":{\"helm\"", 25) == 0, "argocd_patch_template: merge object compacted");
    free(s);
    s = argocd_patch_template("[{\"op\":\"replace\",\"path\":\"/spec/source/targetRevision\",\"value\":\"x\"}]",
                              "json", err, sizeof(err));
    unit_ok(s != NULL, "argocd_patch_template: JSON patch array");
    free(s);
    {
        static const struct { const char *patch, *type, *want; } bad[] = {
            { "{}", "strategic", "patchType: must be \"merge\" or \"json\"" },
            { "", "merge", "patch: must not be empty" },
            { "{", "merge", "patch: not valid JSON" },
            { "[1]", "merge", "a merge patch must be an object, not an array" },
            { "{}", "json", "a JSON patch must be a non-empty array, not an object" },
            { "[]", "json", "not an empty array" },
            { "[1]", "json", "patch[0]: must be an object, not a number" },
            { "[{\"path\":\"/a\"}]", "json", "patch[0].op: must be a non-empty string" },
            { "[{\"op\":\"add\",\"path\":\"/a\"},{\"op\":\"add\",\"path\":\"a\"}]", "json",
              "patch[1].path: must be a JSON pointer string" },
        };
        for (i = 0; i < ARRAY_LEN(bad); i++) {
            err[0] = '\0';
            s = argocd_patch_template(bad[i].patch, bad[i].type, err, sizeof(err));
            if (!unit_ok(!s && strstr(err, bad[i].want), "argocd_patch_template bad %zu: %s", i, bad[i].want))
                unit_note("got %s", err);
            free(s);
        }
        s = xmalloc(ARGOCD_PATCH_MAX + 100);
        memset(s, ' ', ARGOCD_PATCH_MAX + 10);
        s[0] = '{';
        strcpy(s + ARGOCD_PATCH_MAX + 10, "}");
        unit_ok(!argocd_patch_template(s, "merge", err, sizeof(err)) && strstr(err, "larger than"),
                "argocd_patch_template: oversized refused");
        free(s);
    }
}

/* ---- GitHub ---- */

/* test_ghpr_comments - comment list decoder and marker search. */
static void test_ghpr_comments(void)
{
    struct ghpr_comment_page p;
    char err[256], url[256];
    int64_t id;
    const char *list =
        "[{\"id\":1,\"node_id\":\"IC_1\",\"user\":{\"login\":\"alice\"},\"body\":\"LGTM\","
        "\"html_url\":\"https://github.com/acme/shop/pull/42#issuecomment-1\"},"
        "{\"id\":2,\"body\":null},"
        "{\"id\":1234567890123,\"body\":\"<!-- promo:summary -->\\n### promo\","
        "\"html_url\":\"https://github.com/acme/shop/pull/42#issuecomment-1234567890123\"},"
        "{\"id\":4,\"body\":\"<!-- promo:summary -->again\"}]";
    static const struct { const char *body, *want; } bad[] = {
        { "{}", "(answer): must be an array of comments, not an object" },
        { "nope", "(answer): not valid JSON" },
        { "[1]", "[0]: must be an object, not a number" },
        { "[{\"id\":1},[]]", "[1]: must be an object, not an array" },
        { "[{\"body\":\"x\"}]", "[0].id: required field is missing" },
        { "[{\"id\":\"1\"}]", "[0].id: must be a positive integer, not a string" },
        { "[{\"id\":-1}]", "[0].id: must be a positive integer" },
        { "[{\"id\":1.5}]", "[0].id: must be a positive integer" },
        { "[{\"id\":1e300}]", "[0].id: must be a positive integer" },
        { "[{\"id\":1,\"body\":{}}]", "[0].body: must be a string, not an object" },
        { "[{\"id\":1,\"html_url\":5}]", "[0].html_url: must be a string, not a number" },
    };
    size_t i;

    unit_ok(ghpr_parse_comment_list(list, strlen(list), "summary", &p, err, sizeof(err)) == 0 &&
            p.count == 4 && p.found_id == 1234567890123LL && strstr(p.found_url, "issuecomment-1234567890123"),
            "ghpr_parse_comment_list: the first marked comment, 13-digit id");
    unit_ok(ghpr_parse_comment_list(list, strlen(list), "other", &p, err, sizeof(err)) == 0 &&
            p.count == 4 && p.found_id == 0, "ghpr_parse_comment_list: another marker is not found");
    unit_ok(ghpr_parse_comment_list("[]", 2, "summary", &p, err, sizeof(err)) == 0 && p.count == 0,
            "ghpr_parse_comment_list: empty page");
    for (i = 0; i < ARRAY_LEN(bad); i++) {
        err[0] = '\0';
        if (!unit_ok(ghpr_parse_comment_list(bad[i].body, strlen(bad[i].body), "m", &p, err, sizeof(err)) == -1 &&
                     strstr(err, bad[i].want) && p.found_id == 0, "ghpr comment list hostile %zu: %s", i, bad[i].want))
            unit_note("got %s", err);
    }
    unit_ok(ghpr_parse_comment("{\"id\":77,\"html_url\":\"https://x/1\"}", 34, &id, url, sizeof(url), err, sizeof(err)) == 0 &&
            id == 77 && strcmp(url, "https://x/1") == 0, "ghpr_parse_comment: id and html_url");
    unit_ok(ghpr_parse_comment("[{\"id\":77}]", 11, &id, url, sizeof(url), err, sizeof(err)) == -1 && id == 0 &&
            strstr(err, "must be an object, not an array"), "ghpr_parse_comment: array refused");
    unit_ok(ghpr_parse_comment("{\"id\":null}", 11, &id, url, sizeof(url), err, sizeof(err)) == -1 &&
            strstr(err, "id: must be a positive integer"), "ghpr_parse_comment: null id refused");

    unit_ok(ghpr_body_has_marker("x <!-- promo:summary --> y", "summary") &&
            !ghpr_body_has_marker("<!-- promo:summary2 -->", "summary") &&
            !ghpr_body_has_marker("<!-- promo:Summary -->", "summary") &&
            !ghpr_body_has_marker("x", "bad marker") && !ghpr_body_has_marker(NULL, "summary"),
            "ghpr_body_has_marker");
    unit_ok(ghpr_marker_ok("summary") && ghpr_marker_ok("hop:dev.staging-1") && !ghpr_marker_ok("") &&
            !ghpr_marker_ok("a b") && !ghpr_marker_ok("a-->") && !ghpr_marker_ok(NULL),
            "ghpr_marker_ok");
}

/* test_ghpr_lookups - the pages a lookup reads before a step is sent again. */
static void test_ghpr_lookups(void)
{
    static const char *const want[] = { "promoted:staging", "Ready" };
    const char *labels = "[{\"id\":1,\"node_id\":\"LA_1\",\"name\":\"PROMOTED:staging\",\"color\":\"ededed\","
                         "\"default\":false,\"description\":null},{\"id\":2,\"name\":\"bug\"}]";
    const char *statuses = "[{\"id\":3,\"state\":\"failure\",\"context\":\"ci/other\",\"description\":null},"
                           "{\"id\":2,\"state\":\"success\",\"context\":\"promo/staging\","
                           "\"description\":\"promoted dev -> staging: 3 tests\",\"target_url\":null},"
                           "{\"id\":1,\"state\":\"pending\",\"context\":\"promo/staging\",\"description\":\"old\"}]";
    static const struct { const char *body, *want; } bad_labels[] = {
        { "{\"name\":\"x\"}", "(answer): must be an array of labels, not an object" },
        { "[\"x\"]", "[0]: must be an object, not a string" },
        { "[{\"name\":\"a\"},{\"id\":2}]", "[1].name: required field is missing" },
        { "[{\"name\":7}]", "[0].name: must be a string, not a number" },
        { "[{\"name\":null}]", "[0].name: must be a string, not null" },
        { "[{\"name\":\"a\"}", "(answer): not valid JSON" },
    };
    static const struct { const char *body, *want; } bad_statuses[] = {
        { "{}", "(answer): must be an array of statuses, not an object" },
        { "[{\"state\":\"success\"}]", "[0].context: required field is missing" },
        { "[{\"context\":\"c\",\"state\":1}]", "[0].state: must be a string, not a number" },
        { "[{\"context\":\"c\",\"state\":\"a-state-longer-than-thirty-two-bytes-x\"}]", "[0].state: longer than 32 bytes" },
        { "[{\"context\":\"c\",\"state\":\"success\",\"description\":[]}]", "[0].description: must be a string, not an array" },
    };
    unsigned char found[2];
    char err[256], state[32], desc[600];
    size_t i;

    memset(found, 0, sizeof(found));
    unit_ok(ghpr_parse_label_list(labels, strlen(labels), want, 2, found, err, sizeof(err)) == 0 &&
            found[0] == 1 && found[1] == 0, "ghpr_parse_label_list: names compare case-insensitively");
    memset(found, 0, sizeof(found));
    unit_ok(ghpr_parse_label_list("[]", 2, want, 2, found, err, sizeof(err)) == 0 && !found[0] && !found[1],
            "ghpr_parse_label_list: no labels");
    for (i = 0; i < ARRAY_LEN(bad_labels); i++) {
        err[0] = '\0';
        if (!unit_ok(ghpr_parse_label_list(bad_labels[i].body, strlen(bad_labels[i].body), want, 2, found, err,
                                           sizeof(err)) == -1 && strstr(err, bad_labels[i].want),
                     "ghpr label list hostile %zu: %s", i, bad_labels[i].want))
            unit_note("got %s", err);
    }
    unit_ok(ghpr_parse_status_list(statuses, strlen(statuses), "promo/staging", state, sizeof(state), desc,
                                   sizeof(desc), err, sizeof(err)) == 1 &&
            strcmp(state, "success") == 0 && strcmp(desc, "promoted dev -> staging: 3 tests") == 0,
            "ghpr_parse_status_list: the newest status of the context");
    unit_ok(ghpr_parse_status_list(statuses, strlen(statuses), "ci/other", state, sizeof(state), desc,
                                   sizeof(desc), err, sizeof(err)) == 1 &&
            strcmp(state, "failure") == 0 && desc[0] == '\0', "ghpr_parse_status_list: a null description is empty");
    unit_ok(ghpr_parse_status_list(statuses, strlen(statuses), "promo/prod", state, sizeof(state), desc,
                                   sizeof(desc), err, sizeof(err)) == 0 && state[0] == '\0',
            "ghpr_parse_status_list: another context is not on the page");
    for (i = 0; i < ARRAY_LEN(bad_statuses); i++) {
        err[0] = '\0';
        if (!unit_ok(ghpr_parse_status_list(bad_statuses[i].body, strlen(bad_statuses[i].body), "c", state,
                                            sizeof(state), desc, sizeof(desc), err, sizeof(err)) == -1 &&
                     strstr(err, bad_statuses[i].want),
                     "ghpr status list hostile %zu: %s", i, bad_statuses[i].want))
            unit_note("got %s", err);
    }
}

/* test_ghpr_links - Link header rel="next". */
static void test_ghpr_links(void)
{
    char out[256];

    unit_ok(ghpr_link_next("<https://api.github.com/repositories/1/issues/42/comments?per_page=100&page=2>; rel=\"next\", "
                           "<https://api.github.com/repositories/1/issues/42/comments?per_page=100&page=5>; rel=\"last\"",
                           out, sizeof(out)) &&
            strcmp(out, "https://api.github.com/repositories/1/issues/42/comments?per_page=100&page=2") == 0,
            "ghpr_link_next: next first");
    unit_ok(ghpr_link_next("<https://a/x?page=1>; rel=\"prev\", <https://a/x?page=3>; rel=\"next\"", out, sizeof(out)) &&
            strcmp(out, "https://a/x?page=3") == 0, "ghpr_link_next: next after prev");
    unit_ok(!ghpr_link_next("<https://a/x?page=1>; rel=\"prev\", <https://a/x?page=1>; rel=\"first\"", out, sizeof(out)),
            "ghpr_link_next: last page has no next");
    unit_ok(!ghpr_link_next(NULL, out, sizeof(out)) && !ghpr_link_next("", out, sizeof(out)) &&
            !ghpr_link_next("garbage; rel=\"next\"", out, sizeof(out)) &&
            !ghpr_link_next("<>; rel=\"next\"", out, sizeof(out)), "ghpr_link_next: malformed");
    unit_ok(!ghpr_link_next("<https://a/very/long/url>; rel=\"next\"", out, 10), "ghpr_link_next: too long for out");
}

/* Error mapping of GitHub answers. */
static const struct {
    int http_error;
    long status;
    const char *body, *retry_after, *remaining, *reset;
    int want;
    int64_t want_wait;
    const char *want_msg;
} ghpr_map[] = {
    { HTTP_OK, 200, "[]", NULL, "4999", "1800000000", 0, 0, "" },
    { HTTP_OK, 201, "{}", NULL, NULL, NULL, 0, 0, "" },
    { HTTP_OK, 403, "{\"message\":\"API rate limit exceeded for user ID 1.\"}", NULL, "0", "1800000100",
      ADAPTER_ETEMP, 100000, "rate limited (HTTP 403), retry in 100 s" },
    { HTTP_OK, 429, "{\"message\":\"You have exceeded a secondary rate limit.\"}", "30", "12", NULL,
      ADAPTER_ETEMP, 30000, "rate limited (HTTP 429)" },
    { HTTP_OK, 403, "{\"message\":\"You have exceeded a secondary rate limit. Please wait a few minutes.\"}",
      NULL, "4000", NULL, ADAPTER_ETEMP, GHPR_RATE_WAIT_MS, "rate limited" },
    { HTTP_OK, 429, "", NULL, NULL, NULL, ADAPTER_ETEMP, GHPR_RATE_WAIT_MS, "rate limited" },
    { HTTP_OK, 403, "{\"message\":\"x\"}", NULL, "0", "1700000000", ADAPTER_ETEMP, 1000, "rate limited" },
    { HTTP_OK, 403, "{\"message\":\"Resource not accessible by integration\"}", NULL, "4000", NULL,
      ADAPTER_EPERM, 0, "HTTP 403: Resource not accessible by integration" },
    { HTTP_OK, 401, "{\"message\":\"Bad credentials\"}", NULL, NULL, NULL, ADAPTER_EPERM, 0,
      "authentication failed" },
    { HTTP_OK, 404, "{\"message\":\"Not Found\"}", NULL, NULL, NULL, ADAPTER_EPERM, 0, "not found (HTTP 404" },
    { HTTP_OK, 410, "{\"message\":\"Issues are disabled for this repo\"}", NULL, NULL, NULL, ADAPTER_EPERM, 0,
      "Issues are disabled" },
    { HTTP_OK, 422, "{\"message\":\"Validation Failed\",\"errors\":[{\"resource\":\"Status\",\"code\":\"custom\","
      "\"message\":\"This SHA and context has reached the maximum number of statuses.\"}]}", NULL, NULL, NULL,
      ADAPTER_EPERM, 0, "rejected (HTTP 422): Validation Failed: This SHA and context has reached" },
    { HTTP_OK, 422, "{\"message\":\"Validation Failed\",\"errors\":[{\"code\":\"missing_field\"}]}", NULL, NULL, NULL,
      ADAPTER_EPERM, 0, "Validation Failed: missing_field" },
    { HTTP_OK, 502, "<html>Bad gateway</html>", NULL, NULL, NULL, ADAPTER_ETEMP, 0, "HTTP 502" },
    { HTTP_OK, 500, "{\"message\":\"Server Error\"}", NULL, NULL, NULL, ADAPTER_ETEMP, 0, "HTTP 500: Server Error" },
    { HTTP_ECONNECT, 0, NULL, NULL, NULL, NULL, ADAPTER_ETEMP, 0, "could not connect" },
    { HTTP_EREDIRECT, 0, NULL, NULL, NULL, NULL, ADAPTER_EPERM, 0, "could not connect" },
};

/* test_ghpr_classify - the table above. */
static void test_ghpr_classify(void)
{
    struct ghpr_result r;
    size_t i;

    for (i = 0; i < ARRAY_LEN(ghpr_map); i++) {
        int got;
        memset(&r, 0, sizeof(r));
        got = ghpr_classify(ghpr_map[i].http_error, "could not connect", ghpr_map[i].status, ghpr_map[i].body,
                            ghpr_map[i].body ? strlen(ghpr_map[i].body) : 0, ghpr_map[i].retry_after,
                            ghpr_map[i].remaining, ghpr_map[i].reset, 1800000000, "add labels to acme/shop#42", &r);
        if (!unit_ok(got == ghpr_map[i].want && r.retry_after_ms == ghpr_map[i].want_wait &&
                     strstr(r.errmsg, ghpr_map[i].want_msg),
                     "ghpr_classify %zu: HTTP %ld -> %d", i, ghpr_map[i].status, ghpr_map[i].want))
            unit_note("got %d wait %lld: %s", got, (long long)r.retry_after_ms, r.errmsg);
    }
    memset(&r, 0, sizeof(r));
    ghpr_classify(HTTP_OK, "", 200, "", 0, NULL, "4321", NULL, 0, "x", &r);
    unit_ok(r.rate_remaining == 4321, "ghpr_classify: rate_remaining read");
    ghpr_classify(HTTP_OK, "", 200, "", 0, NULL, "12abc", NULL, 0, "x", &r);
    unit_ok(r.rate_remaining == -1, "ghpr_classify: odd rate_remaining ignored");
    unit_ok(ghpr_label_absent(404, "{\"message\":\"Label does not exist\",\"documentation_url\":\"https://docs.github.com\"}", 84) &&
            !ghpr_label_absent(404, "{\"message\":\"Not Found\"}", 23) &&
            !ghpr_label_absent(200, "{\"message\":\"Label does not exist\"}", 34) &&
            !ghpr_label_absent(404, "Label does not exist", 20), "ghpr_label_absent: only 404 Label does not exist");
}

/* test_ghpr_builders - URLs, repository names, descriptions. */
static void test_ghpr_builders(void)
{
    static const struct { const char *api, *repo, *middle, *seg, *query, *want; } urls[] = {
        { "https://api.github.com", "acme/shop", "/issues/42/labels", NULL, NULL,
          "https://api.github.com/repos/acme/shop/issues/42/labels" },
        { "https://ghe.example.com/api/v3/", "acme/shop.web", "/issues/42/labels/", "needs review", NULL,
          "https://ghe.example.com/api/v3/repos/acme/shop.web/issues/42/labels/needs%20review" },
        { "https://api.github.com", "acme/shop", "/issues/42/labels/", "area/api", NULL,
          "https://api.github.com/repos/acme/shop/issues/42/labels/area%2Fapi" },
        { "https://api.github.com", "acme/shop", "/issues/42/labels/", "promoted: staging \xe2\x9c\x93 100%", NULL,
          "https://api.github.com/repos/acme/shop/issues/42/labels/promoted%3A%20staging%20%E2%9C%93%20100%25" },
        { "http://127.0.0.1:9/github", "a-b/c_d", "/issues/7/comments", NULL, "?per_page=100",
          "http://127.0.0.1:9/github/repos/a-b/c_d/issues/7/comments?per_page=100" },
        { "https://api.github.com", "acme/shop", "/statuses/", SHA, NULL,
          "https://api.github.com/repos/acme/shop/statuses/" SHA },
    };
    size_t i;
    char *s, longd[400];

    for (i = 0; i < ARRAY_LEN(urls); i++) {
        s = ghpr_url(urls[i].api, urls[i].repo, urls[i].middle, urls[i].seg, urls[i].query);
        if (!unit_ok(strcmp(s, urls[i].want) == 0, "ghpr_url %zu: %s", i, urls[i].want))
            unit_note("got %s", s);
        free(s);
    }
    unit_ok(ghpr_repo_ok("acme/shop") && ghpr_repo_ok("a-b/c.d_e") && !ghpr_repo_ok("acme") &&
            !ghpr_repo_ok("acme/shop/x") && !ghpr_repo_ok("/shop") && !ghpr_repo_ok("acme/") &&
            !ghpr_repo_ok("ac me/shop") && !ghpr_repo_ok("acme/..") && !ghpr_repo_ok("a_b/c") &&
            !ghpr_repo_ok(NULL), "ghpr_repo_ok");

    s = ghpr_description("All 3 required tests passed");
    unit_ok(strcmp(s, "All 3 required tests passed") == 0, "ghpr_description: short kept");
    free(s);
    memset(longd, 'x', 200);
    longd[200] = '\0';
    s = ghpr_description(longd);
    unit_ok(strlen(s) == 139 + 3 && strcmp(s + 139, "\xe2\x80\xa6") == 0, "ghpr_description: cut to 140 characters");
    free(s);
    /* 150 two-byte characters: cut at a character boundary. */
    for (i = 0; i < 150; i++)
        memcpy(longd + 2 * i, "\xc3\xa9", 2);
    longd[300] = '\0';
    s = ghpr_description(longd);
    unit_ok(strlen(s) == 139 * 2 + 3, "ghpr_description: UTF-8 counted in characters");
    free(s);
    memset(longd, 'y', 140);
    longd[140] = '\0';
    s = ghpr_description(longd);
    unit_ok(strlen(s) == 140 && !strstr(s, "\xe2\x80\xa6"), "ghpr_description: exactly 140 kept");
    free(s);
    s = ghpr_description("a\nb\tc");
    unit_ok(strcmp(s, "a b c") == 0, "ghpr_description: control bytes as spaces");
    free(s);
}

/* test_ghpr_render - the summary comment. */
static void test_ghpr_render(void)
{
    struct ghpr_test_row rows[] = {
        { "e2e", "jenkins", 1, "passed", 83000, "https://jenkins.example.com/job/e2e/12/" },
        { "smoke", "github-actions", 1, "passed", 12000, "https://github.com/acme/shop/actions/runs/1" },
        { "perf", "gitlab", 0, "failed", 3723000, NULL },
        { "evil | <!-- promo:summary --> @admin [x](javascript:alert(1))\n| a |", "exec", 1, "running", 0,
          "javascript:alert(1)" },
    };
    struct ghpr_hop hop = { "dev", "staging", SHA, "promoted" };
    struct ghpr_comment_page p;
    char *md, *json, err[200];
    const char *second;
    cJSON *arr, *c;

    md = ghpr_render_summary("summary", &hop, rows, ARRAY_LEN(rows));
    unit_ok(md && strncmp(md, "<!-- promo:summary -->\n", 23) == 0, "render: starts with the marker");
    unit_ok(md && strstr(md, "dev \xe2\x86\x92 staging") && strstr(md, "promoted") && strstr(md, "`" SHA "`"),
            "render: hop, outcome and head SHA");
    unit_ok(md && strstr(md, "| e2e | jenkins | yes | \xe2\x9c\x85 passed | 1m 23s | [run](https://jenkins.example.com/job/e2e/12/) |"),
            "render: a passing row with link and duration");
    unit_ok(md && strstr(md, "| perf | gitlab | no | \xe2\x9d\x8c failed | 1h 02m | \xe2\x80\x94 |"),
            "render: an optional failing row without URL");
    second = md ? strstr(md + 1, "<!-- promo:summary") : NULL;
    unit_ok(md && !second, "render: a test name cannot plant a second marker");
    unit_ok(md && !strstr(md, "@admin") && strstr(md, "&#64;admin") && !strstr(md, "](javascript") &&
            strstr(md, "evil \\| &lt;\\!-- promo:summary --&gt;"), "render: names escaped (pipes, HTML, mentions, links)");
    {
        /* every table line has exactly 7 unescaped pipes */
        const char *l = md ? strstr(md, "| Test") : NULL;
        int ok = l != NULL, rowsn = 0;
        while (ok && l && *l == '|') {
            int pipes = 0;
            const char *q;
            for (q = l; *q && *q != '\n'; q++)
                if (*q == '|' && (q == l || q[-1] != '\\'))
                    pipes++;
            ok = pipes == 7;
            rowsn++;
            l = *q ? q + 1 : NULL;
        }
        unit_ok(ok && rowsn == 6, "render: the table keeps its shape (%d lines)", rowsn);
    }
    /* The marker search finds what the renderer wrote. */
    arr = cJSON_CreateArray();
    c = cJSON_CreateObject();
    cJSON_AddNumberToObject(c, "id", 99);
    cJSON_AddStringToObject(c, "body", md ? md : "");
    cJSON_AddItemToArray(arr, c);
    json = cJSON_PrintUnformatted(arr);
    unit_ok(ghpr_parse_comment_list(json, strlen(json), "summary", &p, err, sizeof(err)) == 0 && p.found_id == 99,
            "render + search: the rendered comment is found by its marker");
    free(json);
    cJSON_Delete(arr);
    free(md);

    md = ghpr_render_summary("hop-dev-staging", &hop, NULL, 0);
    unit_ok(md && strstr(md, "No promotion tests.") && ghpr_body_has_marker(md, "hop-dev-staging"),
            "render: no tests");
    free(md);
    unit_ok(ghpr_render_summary("bad marker", &hop, rows, 1) == NULL, "render: invalid marker refused");
    {
        struct ghpr_hop odd = { NULL, NULL, "not-a-sha`x", NULL };
        md = ghpr_render_summary("m", &odd, rows, 1);
        unit_ok(md && !strstr(md, "`not") && strstr(md, "not-a-sha\\`x"), "render: odd hop values escaped");
        free(md);
    }
    {
        /* 200 rows of long values stay under GitHub's limit */
        static struct ghpr_test_row many[300];
        char name[300];
        size_t i;
        memset(name, 'n', sizeof(name) - 1);
        name[sizeof(name) - 1] = '\0';
        for (i = 0; i < ARRAY_LEN(many); i++) {
            many[i].name = name;
            many[i].provider = "exec";
            many[i].outcome = "passed";
            many[i].url = name;
        }
        md = ghpr_render_summary("m", &hop, many, ARRAY_LEN(many));
        unit_ok(md && strlen(md) < GHPR_BODY_MAX && strstr(md, "100 more tests not shown"),
                "render: bounded (%zu bytes)", md ? strlen(md) : 0);
        free(md);
    }
}

/* ---- against promo-sim, inside a real stage loop ---- */

struct live {
    struct adapter_ctx ctx;
    int step;
    int64_t comment_id;
    struct argocd_result ar;
    struct ghpr_result gr;
    struct loop_timer *watchdog;
};
static struct live live;

static void live_next(struct stage *st);

/* live_argocd_done - record an Argo CD result and go on. */
static void live_argocd_done(void *arg, const struct argocd_result *res)
{
    live.ar = *res;
    live_next(arg);
}

/* live_ghpr_done - record a GitHub result and go on. */
static void live_ghpr_done(void *arg, const struct ghpr_result *res)
{
    live.gr = *res;
    live_next(arg);
}

/* live_later - go on after a pause. */
static void live_later(struct loop *l, void *arg)
{
    live_next(loop_owner(l));
}

/* live_timeout - the whole live run took too long. */
static void live_timeout(struct loop *l, void *arg)
{
    struct stage *st = loop_owner(l);

    live.watchdog = NULL;
    unit_ok(0, "live: finished within 20 s (stuck at step %d)", live.step);
    stage_stop(st, 1);
}

/* live_next - check the result of the step that ended and start the next. */
static void live_next(struct stage *st)
{
    struct adapter_ctx *c = &live.ctx;
    static const char *const labels[] = { "promoted/staging", "needs review" };
    char *patch, body[256];

    switch (live.step++) {
    case 0:
        argocd_get(c, NULL, "shop-staging", "argocd", NULL, live_argocd_done, st);
        return;
    case 1:
        unit_ok(live.ar.error == 0 && live.ar.have_app && strcmp(live.ar.app.name, "shop-staging") == 0 &&
                live.ar.app.sync == ARGOCD_SYNC_SYNCED && live.ar.app.health == ARGOCD_HEALTH_HEALTHY,
                "live argocd get: Synced and Healthy (%s)", live.ar.errmsg);
        patch = argocd_patch_default(SHA);
        argocd_update(c, "default", "shop-staging", "argocd", "default", patch, "merge", live_argocd_done, st);
        free(patch);
        return;
    case 2:
        unit_ok(live.ar.error == 0 && live.ar.have_app && strcmp(live.ar.app.target_revision, SHA) == 0,
                "live argocd update: targetRevision is the SHA (%s)", live.ar.errmsg);
        argocd_sync(c, "", "shop-staging", "argocd", "default", SHA, live_argocd_done, st);
        return;
    case 3:
        unit_ok(live.ar.error == 0 && live.ar.have_app && argocd_app_syncing(&live.ar.app, SHA),
                "live argocd sync: an operation for the SHA runs (%s)", live.ar.errmsg);
        argocd_sync(c, NULL, "shop-staging", "argocd", "default", SHA, live_argocd_done, st);
        return;
    case 4:
        unit_ok(live.ar.error == ADAPTER_ETEMP && strstr(live.ar.errmsg, "another operation is already in progress"),
                "live argocd sync again: ETEMP another operation (%s)", live.ar.errmsg);
        argocd_get(c, NULL, "no-such-app", NULL, NULL, live_argocd_done, st);
        return;
    case 5:
        unit_ok(live.ar.error == ADAPTER_EPERM && strstr(live.ar.errmsg, "no-such-app not found") &&
                strstr(live.ar.errmsg, "cluster default"),
                "live argocd missing app without project: EPERM not found (%s)", live.ar.errmsg);
        argocd_get(c, NULL, "no-such-app", NULL, "default", live_argocd_done, st);
        return;
    case 6:
        unit_ok(live.ar.error == ADAPTER_EPERM && live.ar.http_status == 404 &&
                strstr(live.ar.errmsg, "application no-such-app not found"),
                "live argocd missing app with project: 404 EPERM (%s)", live.ar.errmsg);
        argocd_get(c, "nowhere", "shop-staging", NULL, NULL, live_argocd_done, st);
        return;
    case 7:
        unit_ok(live.ar.error == ADAPTER_EPERM && strstr(live.ar.errmsg, "no cluster"),
                "live argocd unknown cluster: EPERM (%s)", live.ar.errmsg);
        argocd_update(c, NULL, "shop-staging", NULL, NULL, "[1]", "merge", live_argocd_done, st);
        return;
    case 8:
        unit_ok(live.ar.error == ADAPTER_EPERM && strstr(live.ar.errmsg, "merge patch must be an object"),
                "live argocd bad patch: EPERM before any request (%s)", live.ar.errmsg);
        loop_after(st->loop, 600, live_later, NULL);     /* the sim's sync takes 200 ms */
        return;
    case 9:
        argocd_get(c, NULL, "shop-staging", NULL, "default", live_argocd_done, st);
        return;
    case 10:
        unit_ok(live.ar.error == 0 && argocd_app_at(&live.ar.app, SHA) && !argocd_app_syncing(&live.ar.app, SHA),
                "live argocd: Synced and Healthy at the SHA after the sync (%s)", live.ar.errmsg);
        ghpr_add_labels(c, "acme/shop", 42, labels, 2, live_ghpr_done, st);
        return;
    case 11:
        unit_ok(live.gr.error == 0 && live.gr.http_status == 200, "live github add labels (%s)", live.gr.errmsg);
        ghpr_remove_label(c, "acme/shop", 42, "needs review", live_ghpr_done, st);
        return;
    case 12:
        unit_ok(live.gr.error == 0 && live.gr.http_status == 200, "live github remove label with a space (%s)",
                live.gr.errmsg);
        ghpr_remove_label(c, "acme/shop", 42, "needs review", live_ghpr_done, st);
        return;
    case 13:
        unit_ok(live.gr.error == 0 && live.gr.http_status == 404, "live github remove absent label: success (%s)",
                live.gr.errmsg);
        ghpr_add_labels(c, "acme/shop", 42, labels, 0, live_ghpr_done, st);
        return;
    case 14:
        unit_ok(live.gr.error == 0 && live.gr.skipped && live.gr.http_status == 0,
                "live github add no labels: skipped");
        ghpr_set_status(c, "acme/shop", SHA, "success", "https://ci.example.com/run/1",
                        "All required promotion tests passed", "promo/dev-to-staging", live_ghpr_done, st);
        return;
    case 15:
        unit_ok(live.gr.error == 0 && live.gr.http_status == 201, "live github commit status (%s)", live.gr.errmsg);
        ghpr_upsert_comment(c, "acme/shop", 42, "summary", "first version", 0, live_ghpr_done, st);
        return;
    case 16:
        unit_ok(live.gr.error == 0 && live.gr.created && live.gr.comment_id > 0,
                "live github comment: posted (id %lld) (%s)", (long long)live.gr.comment_id, live.gr.errmsg);
        live.comment_id = live.gr.comment_id;
        ghpr_upsert_comment(c, "acme/shop", 42, "summary", "second version", 0, live_ghpr_done, st);
        return;
    case 17:
        unit_ok(live.gr.error == 0 && !live.gr.created && live.gr.comment_id == live.comment_id,
                "live github comment: found by marker and edited (%s)", live.gr.errmsg);
        ghpr_upsert_comment(c, "acme/shop", 42, "summary", "third version", live.comment_id, live_ghpr_done, st);
        return;
    case 18:
        unit_ok(live.gr.error == 0 && !live.gr.created && live.gr.comment_id == live.comment_id,
                "live github comment: edited by known id (%s)", live.gr.errmsg);
        ghpr_upsert_comment(c, "acme/shop", 42, "summary", "fourth version", 987654321, live_ghpr_done, st);
        return;
    case 19:
        unit_ok(live.gr.error == 0 && !live.gr.created && live.gr.comment_id == live.comment_id,
                "live github comment: stale id falls back to the marker (%s)", live.gr.errmsg);
        ghpr_upsert_comment(c, "acme/shop", 42, "other", "another marker", 0, live_ghpr_done, st);
        return;
    case 20:
        unit_ok(live.gr.error == 0 && live.gr.created && live.gr.comment_id != live.comment_id,
                "live github comment: another marker is another comment (%s)", live.gr.errmsg);
        ghpr_add_labels(c, "not a repo", 42, labels, 1, live_ghpr_done, st);
        return;
    case 21:
        unit_ok(live.gr.error == ADAPTER_EPERM && strstr(live.gr.errmsg, "invalid repository"),
                "live github invalid repository: EPERM (%s)", live.gr.errmsg);
        snprintf(body, sizeof(body), "x");
        ghpr_set_status(c, "acme/shop", SHA, "done", NULL, body, "promo", live_ghpr_done, st);
        return;
    case 22:
        unit_ok(live.gr.error == ADAPTER_EPERM && strstr(live.gr.errmsg, "is not pending, success"),
                "live github invalid state: EPERM (%s)", live.gr.errmsg);
        ghpr_has_labels(c, "acme/shop", 42, labels, 1, live_ghpr_done, st);
        return;
    case 23:
        unit_ok(live.gr.error == 0 && live.gr.present, "live github has labels: the one added (%s)", live.gr.errmsg);
        ghpr_has_labels(c, "acme/shop", 42, labels, 2, live_ghpr_done, st);
        return;
    case 24:
        unit_ok(live.gr.error == 0 && !live.gr.present, "live github has labels: not the one removed (%s)",
                live.gr.errmsg);
        ghpr_has_status(c, "acme/shop", SHA, "success", "All required promotion tests passed",
                        "promo/dev-to-staging", live_ghpr_done, st);
        return;
    case 25:
        unit_ok(live.gr.error == 0 && live.gr.present, "live github has status: the one set (%s)", live.gr.errmsg);
        ghpr_has_status(c, "acme/shop", SHA, "success", "another description", "promo/dev-to-staging",
                        live_ghpr_done, st);
        return;
    case 26:
        unit_ok(live.gr.error == 0 && !live.gr.present, "live github has status: another description is not it");
        ghpr_has_status(c, "acme/shop", SHA, "success", "All required promotion tests passed", "promo/other",
                        live_ghpr_done, st);
        return;
    case 27: {
        static char names[GHPR_MAX_LABELS][16];
        const char *many[GHPR_MAX_LABELS];
        size_t i;
        unit_ok(live.gr.error == 0 && !live.gr.present, "live github has status: not in another context");
        for (i = 0; i < GHPR_MAX_LABELS; i++) {
            snprintf(names[i], sizeof(names[i]), "l%zu", i);
            many[i] = names[i];
        }
        ghpr_add_labels(c, "acme/shop", 43, many, GHPR_MAX_LABELS, live_ghpr_done, st);
        return;
    }
    case 28: {
        static const char *const last[] = { "zz-last" };
        unit_ok(live.gr.error == 0, "live github add 100 labels (%s)", live.gr.errmsg);
        ghpr_add_labels(c, "acme/shop", 43, last, 1, live_ghpr_done, st);
        return;
    }
    case 29: {
        static const char *const look[] = { "l0", "zz-last" };
        unit_ok(live.gr.error == 0, "live github add a 101st label (%s)", live.gr.errmsg);
        ghpr_has_labels(c, "acme/shop", 43, look, 2, live_ghpr_done, st);
        return;
    }
    case 30:
        unit_ok(live.gr.error == 0 && live.gr.present, "live github has labels: found on the second page (%s)",
                live.gr.errmsg);
        loop_cancel(st->loop, live.watchdog);
        live.watchdog = NULL;
        stage_stop(st, 0);
        return;
    }
}

/* live_start - the stage's start: an HTTP client, a watchdog, step 0. */
static int live_start(struct stage *st)
{
    live.ctx.loop = st->loop;
    live.ctx.http = http_new(st->loop);
    live.ctx.cfg = &st->cfg;
    live.ctx.store = st->store;
    live.watchdog = loop_after(st->loop, 20000, live_timeout, NULL);
    live_next(st);
    return 0;
}

/* live_stop - free the client. */
static void live_stop(struct stage *st)
{
    (void)st;
    http_free(live.ctx.http);
    live.ctx.http = NULL;
}

/* live_write - write a file of text with mode. */
static void live_write(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    if (!f) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

/* test_live - start promo-sim, run the steps in a stage, stop promo-sim. */
static void test_live(void)
{
    static const struct stage_ops ops = {
        .prog = "test-argocd-ghpr", .summary = "adapter test", .start = live_start, .stop = live_stop,
    };
    const char *sim = getenv("PROMO_SIM") ? getenv("PROMO_SIM") : "bin/promo-sim";
    const char *dir = unit_tmpdir();
    char path[600], portf[600], scen[600], cfgtext[2048], port[16] = "";
    char *argv[] = { "test-argocd-ghpr", "--in", "none", "--out", "none", NULL };
    pid_t pid;
    int i, rc, status;

    if (access(sim, X_OK) != 0) {
        unit_note("skipping the live tests: %s not built", sim);
        return;
    }
    snprintf(scen, sizeof(scen), "%s/scenario.yaml", dir);
    live_write(scen, "argocd:\n  autoCreate: false\n  syncDelay: 200ms\n  applications:\n    shop-staging: {}\n", 0644);
    snprintf(portf, sizeof(portf), "%s/port", dir);
    pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 2);
            close(fd);
        }
        execl(sim, sim, "--listen", "127.0.0.1:0", "--port-file", portf, "--scenario", scen, (char *)NULL);
        _exit(127);
    }
    for (i = 0; i < 100 && !port[0]; i++) {
        FILE *f = fopen(portf, "r");
        if (f) {
            if (!fgets(port, sizeof(port), f))
                port[0] = '\0';
            fclose(f);
            port[strcspn(port, "\r\n")] = '\0';
        }
        if (!port[0])
            usleep(50000);
    }
    if (!unit_ok(port[0] != '\0', "live: promo-sim started")) {
        kill(pid, SIGTERM);
        waitpid(pid, &status, 0);
        return;
    }
    snprintf(path, sizeof(path), "%s/argocd.token", dir);
    live_write(path, "argocd-secret-token\n", 0600);
    snprintf(path, sizeof(path), "%s/github.token", dir);
    live_write(path, "ghp_secret_token\n", 0600);
    snprintf(cfgtext, sizeof(cfgtext),
             "stateDir: state\nrunDir: run\npolicyDir: policies\n"
             "github:\n  apiUrl: http://127.0.0.1:%s/github\n  tokenFile: github.token\n"
             "argocd:\n  clusters:\n    default:\n      url: http://127.0.0.1:%s/argocd/\n"
             "      tokenFile: argocd.token\n", port, port);
    snprintf(path, sizeof(path), "%s/promo.yaml", dir);
    live_write(path, cfgtext, 0644);
    snprintf(path, sizeof(path), "%s/state", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/run", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/promo.yaml", dir);
    setenv("PROMO_CONFIG", path, 1);
    rc = stage_main(5, argv, &ops);
    unit_ok(rc == 0 && live.step == 31, "live: every step ran (rc %d, step %d)", rc, live.step);
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
}

/* change_patch - run argocd_change_patch on app (JSON text); the patch
 * parsed into *out (NULL when none). Returns its rc; err in errbuf. */
static int change_patch(const char *app, const struct argocd_change *ch, cJSON **out, const char **type,
                        char *errbuf, size_t errlen)
{
    cJSON *doc = cJSON_Parse(app);
    char *patch = NULL;
    int rc = argocd_change_patch(doc, ch, &patch, type, errbuf, errlen);

    *out = patch ? cJSON_Parse(patch) : NULL;
    free(patch);
    cJSON_Delete(doc);
    return rc;
}

/* json_is - j equals the JSON text want. */
static int json_is(const cJSON *j, const char *want)
{
    cJSON *w = cJSON_Parse(want);
    int eq = j && w && cJSON_Compare(j, w, 1);

    cJSON_Delete(w);
    return eq;
}

static void test_argocd_changes(void)
{
    static const char kapp[] =
        "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"project\":\"p\",\"source\":{\"repoURL\":\"r\",\"path\":\"k\","
        "\"targetRevision\":\"main\",\"kustomize\":{\"images\":[\"redis:7\",\"ghcr.io/acme/shop=reg:5000/shop:old\"]}}}}";
    static const char happ[] =
        "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"source\":{\"repoURL\":\"r\",\"chart\":\"shop\",\"targetRevision\":\"1.0\","
        "\"helm\":{\"parameters\":[{\"name\":\"image.tag\",\"value\":\"old\",\"forceString\":true},"
        "{\"name\":\"replicas\",\"value\":\"2\"}]}}}}";
    static const char mapp[] =
        "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"sources\":[{\"repoURL\":\"charts\",\"chart\":\"c\",\"targetRevision\":\"1.0\"},"
        "{\"repoURL\":\"cfg\",\"path\":\"envs/staging\",\"targetRevision\":\"main\"}]},"
        "\"status\":{\"sync\":{\"status\":\"Synced\",\"comparedTo\":{\"sources\":[{\"targetRevision\":\"1.0\",\"repoURL\":\"charts\",\"chart\":\"c\"},"
        "{\"repoURL\":\"cfg\",\"path\":\"envs/staging\",\"targetRevision\":\"main\"}]}},\"health\":{\"status\":\"Healthy\"}}}";
    struct argocd_change ch = { ARGOCD_CHANGE_KUSTOMIZE_IMAGE, -1, "redis", "8", NULL };
    char err[256], name[64], d1[ARGOCD_DIGEST_SIZE], d2[ARGOCD_DIGEST_SIZE];
    const char *type;
    cJSON *p, *doc;
    struct argocd_app a;

    unit_ok(argocd_image_name("redis", name, sizeof(name)) == 0 && strcmp(name, "redis") == 0 &&
            argocd_image_name("redis:7", name, sizeof(name)) == 0 && strcmp(name, "redis") == 0 &&
            argocd_image_name("reg:5000/shop", name, sizeof(name)) == 0 && strcmp(name, "reg:5000/shop") == 0 &&
            argocd_image_name("reg:5000/shop:v1@sha256:ab", name, sizeof(name)) == 0 &&
            strcmp(name, "reg:5000/shop") == 0 &&
            argocd_image_name("a=b:1", name, sizeof(name)) == 0 && strcmp(name, "a") == 0 &&
            argocd_image_name(":x", name, sizeof(name)) < 0 && argocd_image_name("=x", name, sizeof(name)) < 0,
            "argocd_image_name: name, tag, registry port, digest, NAME=NEW");

    unit_ok(change_patch(kapp, &ch, &p, &type, err, sizeof(err)) == 0 && strcmp(type, "json") == 0 &&
            cJSON_GetArraySize(p) == 2 &&
            json_is(cJSON_GetArrayItem(p, 0), "{\"op\":\"test\",\"path\":\"/spec/source\",\"value\":{\"repoURL\":\"r\","
                    "\"path\":\"k\",\"targetRevision\":\"main\",\"kustomize\":{\"images\":[\"redis:7\","
                    "\"ghcr.io/acme/shop=reg:5000/shop:old\"]}}}") &&
            json_is(cJSON_GetObjectItem(cJSON_GetArrayItem(p, 1), "value"), "{\"repoURL\":\"r\",\"path\":\"k\","
                    "\"targetRevision\":\"main\",\"kustomize\":{\"images\":[\"redis:8\","
                    "\"ghcr.io/acme/shop=reg:5000/shop:old\"]}}"),
            "kustomizeImage: the entry replaced, the others kept; test then replace of spec.source");
    cJSON_Delete(p);
    ch.name = "ghcr.io/acme/shop";
    ch.value = "abc1234";
    unit_ok(change_patch(kapp, &ch, &p, &type, err, sizeof(err)) == 0 &&
            strcmp(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(
                cJSON_GetObjectItem(cJSON_GetArrayItem(p, 1), "value"), "kustomize"), "images"), 1)),
                   "ghcr.io/acme/shop=reg:5000/shop:abc1234") == 0,
            "kustomizeImage: NAME=NEWNAME:TAG keeps its new name");
    cJSON_Delete(p);
    ch.name = "nginx";
    ch.value = "1.27";
    unit_ok(change_patch(kapp, &ch, &p, &type, err, sizeof(err)) == 0 &&
            cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(
                cJSON_GetArrayItem(p, 1), "value"), "kustomize"), "images")) == 3,
            "kustomizeImage: an image not listed is added");
    cJSON_Delete(p);
    ch.name = "redis";
    ch.value = "7";
    unit_ok(change_patch(kapp, &ch, &p, &type, err, sizeof(err)) == 1 && !p,
            "kustomizeImage: already there -> 1, no patch");
    unit_ok(change_patch("{\"metadata\":{\"name\":\"a\"},\"spec\":{\"source\":{\"repoURL\":\"r\"}}}", &ch, &p,
                         &type, err, sizeof(err)) == 0 &&
            json_is(cJSON_GetObjectItem(cJSON_GetArrayItem(p, 1), "value"),
                    "{\"repoURL\":\"r\",\"kustomize\":{\"images\":[\"redis:7\"]}}"),
            "kustomizeImage: no kustomize yet -> created");
    cJSON_Delete(p);
    unit_ok(change_patch("{\"metadata\":{\"name\":\"a\"},\"spec\":{\"source\":{\"kustomize\":{\"images\":[7]}}}}",
                         &ch, &p, &type, err, sizeof(err)) == -1 &&
            strstr(err, "spec.source.kustomize.images[0]: must be a string"), "kustomizeImage: a bad entry: %s", err);
    cJSON_Delete(p);

    ch.kind = ARGOCD_CHANGE_HELM_PARAMETER;
    ch.name = "image.tag";
    ch.value = "abc1234";
    unit_ok(change_patch(happ, &ch, &p, &type, err, sizeof(err)) == 0 &&
            json_is(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(p, 1), "value"),
                                                            "helm"), "parameters"),
                    "[{\"name\":\"image.tag\",\"value\":\"abc1234\",\"forceString\":true},"
                    "{\"name\":\"replicas\",\"value\":\"2\"}]"),
            "helmParameter: replaced in place, forceString kept, others kept");
    cJSON_Delete(p);
    ch.name = "replicas";
    ch.value = "2";
    unit_ok(change_patch(happ, &ch, &p, &type, err, sizeof(err)) == 1, "helmParameter: already there -> 1");
    ch.name = "new.one";
    unit_ok(change_patch(happ, &ch, &p, &type, err, sizeof(err)) == 0 &&
            cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(
                cJSON_GetArrayItem(p, 1), "value"), "helm"), "parameters")) == 3, "helmParameter: added");
    cJSON_Delete(p);

    ch.kind = ARGOCD_CHANGE_TARGET_REVISION;
    ch.name = NULL;
    ch.value = SHA;
    ch.source = 1;
    unit_ok(argocd_change_tracked(&ch), "a targetRevision of a source is spec-tracked");
    unit_ok(change_patch(mapp, &ch, &p, &type, err, sizeof(err)) == 0 &&
            strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(p, 0), "path")), "/spec/sources/1") == 0 &&
            json_is(cJSON_GetObjectItem(cJSON_GetArrayItem(p, 1), "value"),
                    "{\"repoURL\":\"cfg\",\"path\":\"envs/staging\",\"targetRevision\":\"" SHA "\"}"),
            "multi-source, source 1: test and replace /spec/sources/1");
    cJSON_Delete(p);
    ch.source = 2;
    unit_ok(change_patch(mapp, &ch, &p, &type, err, sizeof(err)) == -1 &&
            strstr(err, "source 2, but spec.sources has 2 entries"), "source out of range: %s", err);
    ch.source = -1;
    unit_ok(change_patch(mapp, &ch, &p, &type, err, sizeof(err)) == -1 && strstr(err, "multi-source application"),
            "multi-source without a source: %s", err);
    ch.source = 0;
    unit_ok(change_patch(happ, &ch, &p, &type, err, sizeof(err)) == -1 && strstr(err, "not multi-source"),
            "a source of a single-source app: %s", err);
    ch.source = 1;
    ch.value = "main";
    unit_ok(change_patch(mapp, &ch, &p, &type, err, sizeof(err)) == 1, "multi-source: already there -> 1");
    ch.source = -1;
    unit_ok(!argocd_change_tracked(&ch), "the default is not spec-tracked");

    ch.kind = ARGOCD_CHANGE_MERGE_PATCH;
    ch.patch = "{\"metadata\":{\"annotations\":{\"pr\":\"42\"}}}";
    unit_ok(change_patch(happ, &ch, &p, &type, err, sizeof(err)) == 0 && strcmp(type, "merge") == 0 &&
            json_is(p, ch.patch), "mergePatch: sent as the merge patch it is");
    cJSON_Delete(p);
    ch.patch = "{\"spec\":{\"source\":{\"chart\":\"shop\"}}}";
    unit_ok(change_patch(happ, &ch, &p, &type, err, sizeof(err)) == 1, "mergePatch: already there -> 1");
    ch.patch = "{\"helm\":{\"valuesObject\":{\"tag\":\"x\"}},\"path\":null}";
    ch.source = 1;
    unit_ok(change_patch(mapp, &ch, &p, &type, err, sizeof(err)) == 0 && strcmp(type, "json") == 0 &&
            json_is(cJSON_GetObjectItem(cJSON_GetArrayItem(p, 1), "value"),
                    "{\"repoURL\":\"cfg\",\"targetRevision\":\"main\",\"helm\":{\"valuesObject\":{\"tag\":\"x\"}}}"),
            "mergePatch of a source: merged into it (null removes), test and replace");
    cJSON_Delete(p);
    ch.patch = "[1]";
    unit_ok(change_patch(mapp, &ch, &p, &type, err, sizeof(err)) == -1 && strstr(err, "not a JSON object"),
            "mergePatch: not an object: %s", err);
    ch.source = ARGOCD_MAX_SOURCE + 1;
    unit_ok(change_patch(mapp, &ch, &p, &type, err, sizeof(err)) == -1, "source above the limit");

    doc = cJSON_Parse(mapp);
    unit_ok(argocd_sources_digest(doc, 0, d1, sizeof(d1)) == 0 && argocd_sources_digest(doc, 1, d2, sizeof(d2)) == 0 &&
            strcmp(d1, d2) == 0 && strncmp(d1, "fnv1a64:", 8) == 0 && strlen(d1) == 24,
            "digest: the spec's and comparedTo's sources agree, whatever the key order (%s)", d1);
    unit_ok(argocd_parse_app(mapp, strlen(mapp), &a, err, sizeof(err)) == 0 && argocd_app_reached(doc, &a, d1) &&
            !argocd_app_reached(doc, &a, "fnv1a64:0000000000000000") && !argocd_app_reached(doc, &a, ""),
            "argocd_app_reached: Synced, Healthy, comparedTo is the spec at the digest");
    a.health = ARGOCD_HEALTH_PROGRESSING;
    unit_ok(!argocd_app_reached(doc, &a, d1), "argocd_app_reached: not while Progressing");
    cJSON_Delete(doc);
    doc = cJSON_Parse(kapp);
    unit_ok(argocd_sources_digest(doc, 0, d2, sizeof(d2)) == 0 && strcmp(d1, d2) != 0 &&
            argocd_sources_digest(doc, 1, d2, sizeof(d2)) == -1, "digest: another source differs; none compared");
    cJSON_Delete(doc);
}

int main(void)
{
    log_init("test_argocd_ghpr", LOG_FATAL);
    test_app_decoders();
    test_app_hostile();
    test_argocd_errors();
    test_argocd_classify();
    test_argocd_builders();
    test_argocd_changes();
    test_ghpr_comments();
    test_ghpr_lookups();
    test_ghpr_links();
    test_ghpr_classify();
    test_ghpr_builders();
    test_ghpr_render();
    test_live();
    return unit_done();
}
