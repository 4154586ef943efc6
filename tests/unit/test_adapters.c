/* test_adapters.c - the pure parts of the CI adapters: status mapping by
 * table for every value each system documents (and unknown ones: never a
 * pass), response parsers fed real-shaped and hostile JSON, key matching,
 * job and project path building, request bodies, rate-limit headers,
 * the persisted form of a run, and the strict decoders the providers share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/adapter.h"
#include "adapters/adapters_internal.h"
#include "util/util.h"
#include "unit.h"

#define KEY "pk-5f0c3a9e1b2d4c6f8a7e9d1c"

/* parse - JSON text to cJSON (the test's own literals must parse). */
static cJSON *parse(const char *text)
{
    cJSON *j = cJSON_Parse(text);

    if (!j)
        unit_note("test JSON does not parse: %s", text);
    return j;
}

/* huge_string_json - {"NAME": "xxxx...."} with n x's; heap. */
static char *huge_string_json(const char *prefix, const char *name, size_t n, const char *suffix)
{
    size_t lp = strlen(prefix), ln = strlen(name), ls = strlen(suffix);
    char *s = xmalloc(lp + ln + n + ls + 16), *p = s;

    memcpy(p, prefix, lp);
    p += lp;
    *p++ = '"';
    memcpy(p, name, ln);
    p += ln;
    memcpy(p, "\":\"", 3);
    p += 3;
    memset(p, 'x', n);
    p += n;
    *p++ = '"';
    memcpy(p, suffix, ls + 1);
    return s;
}

/* --- run status, adapter table, persisted runs --- */

/* test_run_status - names, parsing and finality of every run status. */
static void test_run_status(void)
{
    static const struct { enum run_status s; const char *name; int final; } cases[] = {
        { RUN_UNKNOWN, "unknown", 0 }, { RUN_QUEUED, "queued", 0 }, { RUN_RUNNING, "running", 0 },
        { RUN_PASSED, "passed", 1 }, { RUN_FAILED, "failed", 1 }, { RUN_CANCELLED, "cancelled", 1 },
        { RUN_TIMED_OUT, "timed-out", 1 },
    };
    static const char *const bad[] = { "", "PASSED", "pass", "success", "timed_out", "canceled" };
    size_t i;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        unit_ok(strcmp(run_status_name(cases[i].s), cases[i].name) == 0, "run_status_name %s", cases[i].name);
        unit_ok(run_status_parse(cases[i].name) == (int)cases[i].s, "run_status_parse %s", cases[i].name);
        unit_ok(run_status_final(cases[i].s) == cases[i].final, "run_status_final %s", cases[i].name);
    }
    for (i = 0; i < ARRAY_LEN(bad); i++)
        unit_ok(run_status_parse(bad[i]) == -1, "run_status_parse rejects \"%s\"", bad[i]);
    unit_ok(run_status_parse(NULL) == -1, "run_status_parse rejects NULL");
    unit_ok(strcmp(run_status_name((enum run_status)99), "unknown") == 0, "run_status_name out of range");
}

/* test_adapter_find - the table holds the five providers and nothing else. */
static void test_adapter_find(void)
{
    static const char *const names[] = { "jenkins", "github-actions", "gitlab", "exec", "plugin" };
    size_t i;

    for (i = 0; i < ARRAY_LEN(names); i++) {
        const struct adapter *a = adapter_find(names[i]);
        unit_ok(a && strcmp(a->provider, names[i]) == 0 && a->trigger && a->find && a->status && a->cancel,
                "adapter_find %s", names[i]);
    }
    unit_ok(adapter_find("github") == NULL, "adapter_find github (the provider is github-actions)");
    unit_ok(adapter_find("") == NULL && adapter_find(NULL) == NULL && adapter_find("Jenkins") == NULL,
            "adapter_find unknown names");
}

/* test_run_json - the persisted run: round trip, and strict rejection of bad shapes. */
static void test_run_json(void)
{
    static const char *const bad[] = {
        "[]", "\"run\"", "{}", "{\"status\":\"passd\"}", "{\"status\":3}",
        "{\"status\":\"passed\",\"id\":17}", "{\"status\":\"passed\",\"url\":[\"x\"]}",
        "{\"status\":\"passed\",\"durationMs\":-1}", "{\"status\":\"passed\",\"durationMs\":1.5}",
        "{\"status\":\"passed\",\"durationMs\":\"10\"}", "{\"status\":\"passed\",\"detail\":{}}",
        "{\"status\":\"passed\",\"id\":\"a\\nb\"}", "{\"status\":\"passed\",\"durationMs\":1e300}",
    };
    struct adapter_run r, back;
    cJSON *j;
    char *big;
    size_t i;

    memset(&r, 0, sizeof(r));
    str_copy(r.id, "17", sizeof(r.id));
    str_copy(r.url, "https://ci/job/promo/job/smoke/17/", sizeof(r.url));
    str_copy(r.api, "https://ci/job/promo/job/smoke/17/api/json", sizeof(r.api));
    str_copy(r.etag, "W/\"abc\"", sizeof(r.etag));
    str_copy(r.detail, "FAILURE", sizeof(r.detail));
    r.status = RUN_FAILED;
    r.duration_ms = 5300;
    j = adapter_run_to_json(&r);
    unit_ok(adapter_run_from_json(j, &back) == 0 && memcmp(&r, &back, sizeof(r)) == 0,
            "run json round trip (all fields)");
    cJSON_Delete(j);

    memset(&r, 0, sizeof(r));
    r.status = RUN_QUEUED;
    str_copy(r.api, "https://ci/queue/item/3/api/json", sizeof(r.api));
    j = adapter_run_to_json(&r);
    unit_ok(!cJSON_GetObjectItem(j, "etag") && !cJSON_GetObjectItem(j, "durationMs"),
            "run json omits empty etag and zero duration");
    unit_ok(adapter_run_from_json(j, &back) == 0 && memcmp(&r, &back, sizeof(r)) == 0,
            "run json round trip (queued, no id)");
    cJSON_Delete(j);

    j = parse("{\"id\":null,\"url\":null,\"status\":\"running\",\"future\":{\"x\":1}}");
    unit_ok(adapter_run_from_json(j, &back) == 0 && back.status == RUN_RUNNING && !back.id[0],
            "run json: null strings are empty, unknown fields ignored");
    cJSON_Delete(j);

    for (i = 0; i < ARRAY_LEN(bad); i++) {
        j = parse(bad[i]);
        memset(&back, 0x55, sizeof(back));
        unit_ok(adapter_run_from_json(j, &back) == -1 && back.status == RUN_UNKNOWN && !back.id[0],
                "run json rejects %s", bad[i]);
        cJSON_Delete(j);
    }
    unit_ok(adapter_run_from_json(NULL, &back) == -1, "run json rejects NULL");
    big = huge_string_json("{\"status\":\"passed\",", "url", sizeof(r.url), "}");
    j = parse(big);
    unit_ok(adapter_run_from_json(j, &back) == -1, "run json rejects a url of %zu bytes", sizeof(r.url));
    cJSON_Delete(j);
    free(big);
    big = huge_string_json("{\"status\":\"passed\",", "url", sizeof(r.url) - 1, "}");
    j = parse(big);
    unit_ok(adapter_run_from_json(j, &back) == 0 && strlen(back.url) == sizeof(r.url) - 1,
            "run json takes a url of %zu bytes", sizeof(r.url) - 1);
    cJSON_Delete(j);
    free(big);
    big = huge_string_json("{\"status\":\"passed\",", "etag", sizeof(r.etag), "}");
    j = parse(big);
    unit_ok(adapter_run_from_json(j, &back) == -1, "run json rejects an etag too long");
    cJSON_Delete(j);
    free(big);
}

/* --- shared helpers --- */

/* test_helpers - origin checks, base URLs, SHA detection, escaping. */
static void test_helpers(void)
{
    static const struct { const char *url, *base; int want; } origin[] = {
        { "http://ci:8080/queue/item/3/", "http://ci:8080/jenkins", 1 },
        { "http://CI:8080/x", "http://ci:8080", 1 },
        { "http://ci:8081/x", "http://ci:8080", 0 },
        { "https://ci:8080/x", "http://ci:8080", 0 },
        { "http://ci.evil.example/x", "http://ci", 0 },
        { "http://ci@evil/x", "http://ci", 0 },
        { "/queue/item/3/", "http://ci", 0 },
        { "", "http://ci", 0 },
    };
    static const struct { const char *in, *want; } bases[] = {
        { "http://ci/jenkins/", "http://ci/jenkins" }, { "https://api.github.com", "https://api.github.com" },
        { "http://ci//", "http://ci" }, { "ftp://ci", NULL }, { "ci", NULL }, { "", NULL }, { "http://", NULL },
        { "https:///", NULL },
    };
    static const struct { const char *s; int want; } shas[] = {
        { "0123456789abcdef0123456789abcdef01234567", 1 }, { "abc1234", 1 }, { "main", 0 },
        { "abc123", 0 }, { "feature/abc1234", 0 }, { "deadbeefcafe", 1 },
    };
    char *s;
    size_t i;

    for (i = 0; i < ARRAY_LEN(origin); i++)
        unit_ok(adapter_same_origin(origin[i].url, origin[i].base) == origin[i].want,
                "same origin %s vs %s", origin[i].url, origin[i].base);
    for (i = 0; i < ARRAY_LEN(bases); i++) {
        s = adapter_base_url(bases[i].in);
        unit_ok(bases[i].want ? s && strcmp(s, bases[i].want) == 0 : s == NULL, "base url %s", bases[i].in);
        free(s);
    }
    for (i = 0; i < ARRAY_LEN(shas); i++)
        unit_ok(adapter_looks_like_sha(shas[i].s) == shas[i].want, "looks like a sha: %s", shas[i].s);
    s = adapter_escape("a b/c&d=é~._-");
    unit_ok(strcmp(s, "a%20b%2Fc%26d%3D%C3%A9~._-") == 0, "adapter_escape (%s)", s);
    free(s);
}

/* test_shared_decoders - the strict decoders the providers share. */
static void test_shared_decoders(void)
{
    static const struct { const char *s; int want; } names[] = {
        { "promo.yml", 1 }, { "a_b-c.9", 1 }, { ".", 0 }, { "..", 0 }, { "...", 1 }, { "", 0 },
        { "a/b", 0 }, { "a b", 0 }, { "a%2F", 0 },
    };
    static const struct adapter_status_word map[] = {
        { "ok", RUN_PASSED }, { "busy", RUN_RUNNING }, { NULL, RUN_UNKNOWN },
    };
    static const struct { const char *json; int want; const char *errpart; } runs[] = {
        { "{\"id\":7,\"web\":\"https://ci/7\"}", 0, NULL },
        { "{\"id\":0,\"web\":\"https://ci/0\"}", -1, "not a thing id" },
        { "{\"id\":\"7\",\"web\":\"https://ci/7\"}", -1, "field id" },
        { "{\"id\":7,\"web\":\"ftp://ci/7\"}", -1, "http(s)" },
        { "{\"id\":7}", -1, "web" },
        { "[]", -1, "thing: not an object" },
    };
    static const struct { const char *json; int any, want; } pairs[] = {
        { "[{\"key\":\"K\",\"value\":\"" KEY "\"}]", 0, 1 },
        { "[{\"key\":\"K\",\"value\":\"other\"},{\"key\":\"L\",\"value\":\"" KEY "\"}]", 0, 0 },
        { "[{\"key\":\"K\",\"value\":true}]", 0, -1 },
        { "[{\"key\":\"K\",\"value\":true}]", 1, 0 },
        { "[{\"key\":\"K\",\"value\":null}]", 0, 0 },
        { "[{\"key\":1,\"value\":\"" KEY "\"}]", 1, -1 },
        { "[\"K\"]", 1, -1 },
        { "{}", 1, -1 },
    };
    static const struct { const char *json; const char *chars; int want; const char *errpart; } params[] = {
        { "{\"a\":\"1\",\"ref\":\"main\"}", NULL, 0, NULL },
        { "{\"ref\":5}", NULL, 0, NULL },                       /* skipped: the ref, not a parameter */
        { "{\"a\":5}", NULL, -1, "parameter a: not a string" },
        { "{\"K\":\"x\"}", NULL, -1, "reserved" },
        { "{\"\":\"x\"}", NULL, -1, "empty" },
        { "{\"a-b\":\"x\"}", "ab", -1, "not a variable name" },
        { "[]", NULL, -1, "not an object" },
    };
    struct adapter_run run;
    int64_t ids[2];
    char err[200];
    size_t i;
    cJSON *j;
    int r;

    for (i = 0; i < ARRAY_LEN(names); i++)
        unit_ok(adapter_name_ok(names[i].s, strlen(names[i].s)) == names[i].want, "name ok: %s", names[i].s);
    unit_ok(adapter_status_of(map, "ok", RUN_FAILED) == RUN_PASSED, "status table: a listed word");
    unit_ok(adapter_status_of(map, "OK", RUN_FAILED) == RUN_FAILED, "status table: case matters");
    unit_ok(adapter_status_of(map, NULL, RUN_FAILED) == RUN_FAILED, "status table: no word");
    for (i = 0; i < ARRAY_LEN(runs); i++) {
        j = parse(runs[i].json);
        memset(&run, 0, sizeof(run));
        str_copy(run.detail, "before", sizeof(run.detail));
        r = adapter_json_run(j, "thing", "id", "thing", "web", &run, err, sizeof(err));
        unit_ok(r == runs[i].want && (r == 0 ? strcmp(run.id, "7") == 0 && strcmp(run.url, "https://ci/7") == 0
                                             : !run.id[0] && strstr(err, runs[i].errpart) != NULL)
                && strcmp(run.detail, "before") == 0, "json run %s (%s)", runs[i].json, r ? err : "");
        cJSON_Delete(j);
    }
    j = parse("[{\"id\":3},{\"id\":2},{\"id\":1}]");
    unit_ok(adapter_json_ids(j, "list", "thing", ids, 2, err, sizeof(err)) == 2 && ids[0] == 3 && ids[1] == 2,
            "json ids: the first max");
    cJSON_Delete(j);
    j = parse("[{\"id\":3},{\"id\":-1}]");
    unit_ok(adapter_json_ids(j, "list", "thing", ids, 2, err, sizeof(err)) == -1, "json ids: a bad id refused");
    cJSON_Delete(j);
    for (i = 0; i < ARRAY_LEN(pairs); i++) {
        j = parse(pairs[i].json);
        unit_ok(adapter_json_pairs_have(j, "vars", "key", "K", KEY, pairs[i].any, err, sizeof(err)) == pairs[i].want,
                "pairs %s (any %d)", pairs[i].json, pairs[i].any);
        cJSON_Delete(j);
    }
    unit_ok(adapter_params_check(NULL, "K", 1, NULL, err, sizeof(err)) == 0, "params: none");
    for (i = 0; i < ARRAY_LEN(params); i++) {
        j = parse(params[i].json);
        r = adapter_params_check(j, "K", 1, params[i].chars, err, sizeof(err));
        unit_ok(r == params[i].want && (r == 0 || strstr(err, params[i].errpart)), "params %s (%s)", params[i].json,
                r ? err : "");
        cJSON_Delete(j);
    }
}

/* test_test_ref - which ref a dispatch or pipeline runs on. */
static void test_test_ref(void)
{
    struct adapter_test t;
    cJSON *p = parse("{\"ref\":\"release/1.2\",\"X\":\"1\"}"), *q = parse("{\"ref\":7}");

    memset(&t, 0, sizeof(t));
    t.ref = "feature/x";
    unit_ok(adapter_test_ref(&t) && strcmp(adapter_test_ref(&t), "feature/x") == 0, "ref: the head ref");
    t.params = p;
    unit_ok(adapter_test_ref(&t) && strcmp(adapter_test_ref(&t), "release/1.2") == 0, "ref: the 'ref' parameter wins");
    t.params = q;
    unit_ok(adapter_test_ref(&t) && strcmp(adapter_test_ref(&t), "feature/x") == 0,
            "ref: a non-string 'ref' parameter is ignored");
    t.params = NULL;
    t.ref = "0123456789abcdef0123456789abcdef01234567";
    unit_ok(adapter_test_ref(&t) == NULL, "ref: a bare SHA is no ref");
    t.ref = NULL;
    unit_ok(adapter_test_ref(&t) == NULL, "ref: none");
    cJSON_Delete(p);
    cJSON_Delete(q);
}

/* --- Jenkins --- */

/* test_jenkins_map - building/result to a status, unknown results never pass. */
static void test_jenkins_map(void)
{
    static const struct { int building; const char *result; enum run_status want; } cases[] = {
        { 1, NULL, RUN_RUNNING }, { 1, "SUCCESS", RUN_RUNNING }, { 1, "FAILURE", RUN_RUNNING },
        { 0, "SUCCESS", RUN_PASSED }, { 0, "UNSTABLE", RUN_FAILED }, { 0, "FAILURE", RUN_FAILED },
        { 0, "NOT_BUILT", RUN_FAILED }, { 0, "ABORTED", RUN_CANCELLED }, { 0, NULL, RUN_RUNNING },
        { 0, "", RUN_RUNNING }, { 0, "success", RUN_FAILED }, { 0, "SUCCESS ", RUN_FAILED },
        { 0, "PASSED", RUN_FAILED }, { 0, "WHATEVER", RUN_FAILED }, { -1, "SUCCESS", RUN_PASSED },
    };
    size_t i;

    for (i = 0; i < ARRAY_LEN(cases); i++)
        unit_ok(jenkins_map_result(cases[i].building, cases[i].result) == cases[i].want,
                "jenkins building=%d result=%s -> %s", cases[i].building,
                cases[i].result ? cases[i].result : "null", run_status_name(cases[i].want));
}

/* test_jenkins_build - build api/json, real-shaped and hostile. */
static void test_jenkins_build(void)
{
    static const struct { const char *json; enum run_status want; const char *detail; } good[] = {
        { "{\"_class\":\"hudson.model.FreeStyleBuild\",\"building\":false,\"duration\":5300,"
          "\"number\":17,\"queueId\":3,\"result\":\"SUCCESS\",\"url\":\"http://ci/job/promo/job/smoke/17/\"}",
          RUN_PASSED, "SUCCESS" },
        { "{\"building\":true,\"duration\":0,\"number\":18,\"result\":null,\"url\":\"http://ci/job/a/18/\"}",
          RUN_RUNNING, "building" },
        { "{\"building\":false,\"number\":19,\"result\":\"UNSTABLE\",\"url\":\"http://ci/job/a/19\"}",
          RUN_FAILED, "UNSTABLE" },
        { "{\"building\":false,\"number\":20,\"result\":\"ABORTED\",\"url\":\"http://ci/job/a/20/\"}",
          RUN_CANCELLED, "ABORTED" },
        { "{\"building\":false,\"number\":21,\"result\":\"NEW_THING\",\"url\":\"http://ci/job/a/21/\"}",
          RUN_FAILED, "NEW_THING" },
    };
    static const char *const bad[] = {
        "[]", "null", "\"build\"", "{}",
        "{\"building\":false,\"number\":\"17\",\"result\":\"SUCCESS\",\"url\":\"http://ci/17/\"}",
        "{\"building\":\"false\",\"number\":17,\"result\":\"SUCCESS\",\"url\":\"http://ci/17/\"}",
        "{\"building\":false,\"number\":17,\"result\":1,\"url\":\"http://ci/17/\"}",
        "{\"building\":false,\"number\":17,\"result\":[\"SUCCESS\"],\"url\":\"http://ci/17/\"}",
        "{\"building\":false,\"number\":17,\"result\":\"SUCCESS\"}",
        "{\"building\":false,\"number\":-1,\"result\":\"SUCCESS\",\"url\":\"http://ci/17/\"}",
        "{\"building\":false,\"number\":0,\"result\":\"SUCCESS\",\"url\":\"http://ci/17/\"}",
        "{\"building\":false,\"number\":17.5,\"result\":\"SUCCESS\",\"url\":\"http://ci/17/\"}",
        "{\"building\":false,\"number\":1e300,\"result\":\"SUCCESS\",\"url\":\"http://ci/17/\"}",
        "{\"building\":false,\"number\":17,\"result\":\"SUCCESS\",\"url\":\"javascript:alert(1)\"}",
        "{\"building\":false,\"number\":17,\"result\":\"SUCCESS\",\"url\":{\"href\":\"http://ci/\"}}",
        "{\"building\":false,\"number\":17,\"result\":\"SUCCESS\",\"url\":\"http://ci/17/\",\"duration\":\"5s\"}",
    };
    struct adapter_run run;
    char err[256], *big;
    cJSON *j;
    size_t i;

    for (i = 0; i < ARRAY_LEN(good); i++) {
        memset(&run, 0, sizeof(run));
        j = parse(good[i].json);
        unit_ok(jenkins_parse_build(j, &run, err, sizeof(err)) == 0 && run.status == good[i].want
                && strcmp(run.detail, good[i].detail) == 0, "jenkins build %zu -> %s (%s)", i,
                run_status_name(good[i].want), run.detail);
        cJSON_Delete(j);
    }
    j = parse(good[0].json);
    jenkins_parse_build(j, &run, err, sizeof(err));
    unit_ok(strcmp(run.id, "17") == 0 && strcmp(run.url, "http://ci/job/promo/job/smoke/17/") == 0
            && strcmp(run.api, "http://ci/job/promo/job/smoke/17/api/json") == 0 && run.duration_ms == 5300,
            "jenkins build fields (id %s api %s)", run.id, run.api);
    cJSON_Delete(j);
    j = parse(good[2].json);
    jenkins_parse_build(j, &run, err, sizeof(err));
    unit_ok(strcmp(run.api, "http://ci/job/a/19/api/json") == 0, "jenkins api gets a slash");
    cJSON_Delete(j);

    for (i = 0; i < ARRAY_LEN(bad); i++) {
        memset(&run, 0, sizeof(run));
        err[0] = '\0';
        j = parse(bad[i]);
        unit_ok(jenkins_parse_build(j, &run, err, sizeof(err)) == -1 && run.status != RUN_PASSED && err[0],
                "jenkins build rejects %s (%s)", bad[i], err);
        cJSON_Delete(j);
    }
    big = huge_string_json("{\"building\":false,\"number\":17,\"result\":\"SUCCESS\",", "url", 100000, "}");
    j = parse(big);
    unit_ok(jenkins_parse_build(j, &run, err, sizeof(err)) == -1 && strstr(err, "url"),
            "jenkins build rejects a 100 kB url (%s)", err);
    cJSON_Delete(j);
    free(big);
    big = huge_string_json("{\"building\":false,\"number\":17,\"url\":\"http://ci/17/\",", "result", 5000, "}");
    j = parse(big);
    unit_ok(jenkins_parse_build(j, &run, err, sizeof(err)) == -1 && strstr(err, "result"),
            "jenkins build rejects a 5 kB result (%s)", err);
    cJSON_Delete(j);
    free(big);
}

/* test_jenkins_queue - queue items: waiting, left, cancelled, malformed. */
static void test_jenkins_queue(void)
{
    static const struct { const char *json; int want; enum run_status st; } cases[] = {
        { "{\"_class\":\"hudson.model.Queue$WaitingItem\",\"blocked\":false,\"buildable\":false,\"id\":3,"
          "\"why\":\"In the quiet period.\",\"cancelled\":null}", 0, RUN_QUEUED },
        { "{\"id\":3,\"why\":null}", 0, RUN_QUEUED },
        { "{\"_class\":\"hudson.model.Queue$LeftItem\",\"id\":3,\"cancelled\":false,"
          "\"executable\":{\"_class\":\"hudson.model.FreeStyleBuild\",\"number\":17,\"url\":\"http://ci/job/a/17/\"}}",
          1, RUN_RUNNING },
        { "{\"_class\":\"hudson.model.Queue$LeftItem\",\"id\":3,\"cancelled\":true,\"executable\":null}",
          2, RUN_CANCELLED },
        { "[]", -1, RUN_UNKNOWN },
        { "{\"cancelled\":\"yes\"}", -1, RUN_UNKNOWN },
        { "{\"executable\":[17]}", -1, RUN_UNKNOWN },
        { "{\"executable\":{\"number\":\"17\",\"url\":\"http://ci/job/a/17/\"}}", -1, RUN_UNKNOWN },
        { "{\"executable\":{\"number\":17}}", -1, RUN_UNKNOWN },
        { "{\"executable\":{\"number\":17,\"url\":\"file:///etc/passwd\"}}", -1, RUN_UNKNOWN },
        { "{\"why\":42}", -1, RUN_UNKNOWN },
    };
    struct adapter_run run;
    char err[256];
    cJSON *j;
    size_t i;
    int r;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        memset(&run, 0, sizeof(run));
        j = parse(cases[i].json);
        r = jenkins_parse_queue_item(j, &run, err, sizeof(err));
        unit_ok(r == cases[i].want && (r < 0 || run.status == cases[i].st), "jenkins queue item %s -> %d", cases[i].json, r);
        cJSON_Delete(j);
    }
    j = parse(cases[2].json);
    memset(&run, 0, sizeof(run));
    jenkins_parse_queue_item(j, &run, err, sizeof(err));
    unit_ok(strcmp(run.id, "17") == 0 && strcmp(run.api, "http://ci/job/a/17/api/json") == 0,
            "jenkins queue item gives the build");
    cJSON_Delete(j);
    j = parse(cases[0].json);
    memset(&run, 0, sizeof(run));
    jenkins_parse_queue_item(j, &run, err, sizeof(err));
    unit_ok(strcmp(run.detail, "In the quiet period.") == 0 && !run.id[0], "jenkins queue item keeps why");
    cJSON_Delete(j);
}

/* test_jenkins_find - finding a build or queue item by its PROMO_KEY parameter. */
static void test_jenkins_find(void)
{
    static const char *const builds =
        "{\"_class\":\"hudson.model.FreeStyleProject\",\"builds\":["
        "{\"_class\":\"hudson.model.FreeStyleBuild\",\"actions\":[{\"_class\":\"hudson.model.ParametersAction\","
        "\"parameters\":[{\"_class\":\"hudson.model.StringParameterValue\",\"name\":\"PR\",\"value\":\"42\"},"
        "{\"name\":\"PROMO_KEY\",\"value\":\"pk-000000000000000000000000\"}]}],"
        "\"building\":false,\"number\":9,\"queueId\":8,\"result\":\"SUCCESS\",\"url\":\"http://ci/job/a/9/\"},"
        "{\"actions\":[{},{\"_class\":\"hudson.model.CauseAction\"},{\"parameters\":[{\"name\":\"DRY\",\"value\":true},"
        "{\"name\":\"PROMO_KEY\",\"value\":\"" KEY "\"}]}],"
        "\"building\":true,\"number\":8,\"queueId\":7,\"result\":null,\"url\":\"http://ci/job/a/8/\"}]}";
    static const char *const queue =
        "{\"_class\":\"hudson.model.Queue\",\"items\":[{\"_class\":\"hudson.model.Queue$WaitingItem\","
        "\"actions\":[{\"parameters\":[{\"name\":\"PROMO_KEY\",\"value\":\"" KEY "\"}]}],"
        "\"id\":12,\"url\":\"queue/item/12/\"}]}";
    static const struct { const char *json; int want; } bad[] = {
        { "{\"builds\":{}}", -1 }, { "{\"builds\":[[]]}", -1 }, { "{\"builds\":[{\"actions\":{}}]}", -1 },
        { "{\"builds\":[{\"actions\":[{\"parameters\":{}}]}]}", -1 },
        { "{\"builds\":[{\"actions\":[{\"parameters\":[{\"name\":1}]}]}]}", -1 },
        { "{\"builds\":[{\"actions\":[{\"parameters\":[\"PROMO_KEY\"]}]}]}", -1 },
        { "{\"builds\":[{\"actions\":[\"x\"]}]}", -1 },
        /* the key matches but the build is malformed: an error, never a pass */
        { "{\"builds\":[{\"actions\":[{\"parameters\":[{\"name\":\"PROMO_KEY\",\"value\":\"" KEY "\"}]}],"
          "\"building\":false,\"number\":8,\"result\":\"SUCCESS\"}]}", -1 },
        { "{\"builds\":[]}", 0 }, { "{}", 0 }, { "{\"builds\":null}", 0 },
        { "{\"builds\":[{\"actions\":[{\"parameters\":[{\"name\":\"PROMO_KEY\",\"value\":\"" KEY "x\"}]}],"
          "\"building\":false,\"number\":8,\"result\":\"SUCCESS\",\"url\":\"http://ci/job/a/8/\"}]}", 0 },
        { "{\"builds\":[{\"actions\":[{\"parameters\":[{\"name\":\"promo_key\",\"value\":\"" KEY "\"}]}],"
          "\"building\":false,\"number\":8,\"result\":\"SUCCESS\",\"url\":\"http://ci/job/a/8/\"}]}", 0 },
        { "[]", -1 },
    };
    struct adapter_run run;
    char err[256];
    cJSON *j;
    size_t i;
    int r;

    j = parse(builds);
    r = jenkins_find_build(j, KEY, &run, err, sizeof(err));
    unit_ok(r == 1 && strcmp(run.id, "8") == 0 && run.status == RUN_RUNNING
            && strcmp(run.api, "http://ci/job/a/8/api/json") == 0, "jenkins find build by key");
    r = jenkins_find_build(j, "pk-111111111111111111111111", &run, err, sizeof(err));
    unit_ok(r == 0, "jenkins find build: another key is not found");
    cJSON_Delete(j);
    for (i = 0; i < ARRAY_LEN(bad); i++) {
        j = parse(bad[i].json);
        r = jenkins_find_build(j, KEY, &run, err, sizeof(err));
        unit_ok(r == bad[i].want, "jenkins find build %s -> %d", bad[i].json, r);
        cJSON_Delete(j);
    }

    j = parse(queue);
    r = jenkins_find_queued(j, KEY, "http://ci:8080/jenkins", &run, err, sizeof(err));
    unit_ok(r == 1 && !run.id[0] && run.status == RUN_QUEUED
            && strcmp(run.url, "http://ci:8080/jenkins/queue/item/12/") == 0
            && strcmp(run.api, "http://ci:8080/jenkins/queue/item/12/api/json") == 0,
            "jenkins find queued by key, relative url resolved (%s)", run.api);
    unit_ok(jenkins_find_queued(j, "pk-111111111111111111111111", "http://ci", &run, err, sizeof(err)) == 0,
            "jenkins find queued: another key");
    cJSON_Delete(j);
    j = parse("{\"items\":[{\"actions\":[{\"parameters\":[{\"name\":\"PROMO_KEY\",\"value\":\"" KEY "\"}]}],"
              "\"url\":\"http://evil/queue/item/12/\"}]}");
    unit_ok(jenkins_find_queued(j, KEY, "http://ci", &run, err, sizeof(err)) == -1,
            "jenkins find queued: absolute url on another host refused (%s)", err);
    cJSON_Delete(j);
    j = parse("{\"items\":[{\"actions\":[{\"parameters\":[{\"name\":\"PROMO_KEY\",\"value\":\"" KEY "\"}]}],"
              "\"url\":\"job/a/3/\"}]}");
    unit_ok(jenkins_find_queued(j, KEY, "http://ci", &run, err, sizeof(err)) == -1,
            "jenkins find queued: not a queue item url");
    cJSON_Delete(j);
    j = parse("{\"items\":{}}");
    unit_ok(jenkins_find_queued(j, KEY, "http://ci", &run, err, sizeof(err)) == -1, "jenkins find queued: items object");
    cJSON_Delete(j);
}

/* test_jenkins_paths - job paths, queue ids, the form body, the crumb. */
static void test_jenkins_paths(void)
{
    static const struct { const char *job, *want; } jobs[] = {
        { "smoke", "/job/smoke" }, { "promo/smoke", "/job/promo/job/smoke" },
        { "a/b/c", "/job/a/job/b/job/c" }, { "my folder/x y", "/job/my%20folder/job/x%20y" },
        { "a?b#c", "/job/a%3Fb%23c" }, { "straße", "/job/stra%C3%9Fe" }, { "a%2Fb", "/job/a%252Fb" },
        { "", NULL }, { "/a", NULL }, { "a/", NULL }, { "a//b", NULL }, { "..", NULL }, { "a/../b", NULL },
        { ".", NULL },
    };
    static const struct { const char *url; long want; } qids[] = {
        { "http://ci/queue/item/12/", 12 }, { "http://ci/jenkins/queue/item/7/api/json", 7 },
        { "http://ci/queue/item/12", 12 }, { "http://ci/queue/item/x/", -1 }, { "http://ci/queue/item//", -1 },
        { "http://ci/job/a/3/", -1 }, { "http://ci/queue/item/12x/", -1 },
        { "http://ci/queue/item/99999999999999999999/", -1 },
    };
    char *s, err[256];
    size_t i;

    for (i = 0; i < ARRAY_LEN(jobs); i++) {
        s = jenkins_job_path(jobs[i].job);
        unit_ok(jobs[i].want ? s && strcmp(s, jobs[i].want) == 0 : s == NULL, "jenkins job path \"%s\" -> %s",
                jobs[i].job, s ? s : "NULL");
        free(s);
    }
    unit_ok(jenkins_job_path(NULL) == NULL, "jenkins job path NULL");
    for (i = 0; i < ARRAY_LEN(qids); i++)
        unit_ok(jenkins_queue_id(qids[i].url) == qids[i].want, "jenkins queue id of %s", qids[i].url);

    {
        cJSON *p = parse("{\"PR\":\"42\",\"NAME\":\"a b&c=d\",\"EMPTY\":\"\"}");
        s = jenkins_form_body(p, KEY, err, sizeof(err));
        unit_ok(s && strcmp(s, "PR=42&NAME=a%20b%26c%3Dd&EMPTY=&PROMO_KEY=" KEY) == 0, "jenkins form body (%s)", s ? s : err);
        free(s);
        cJSON_Delete(p);
        s = jenkins_form_body(NULL, KEY, err, sizeof(err));
        unit_ok(s && strcmp(s, "PROMO_KEY=" KEY) == 0, "jenkins form body without parameters");
        free(s);
        p = parse("{\"N\":42}");
        s = jenkins_form_body(p, KEY, err, sizeof(err));
        unit_ok(!s && strstr(err, "N"), "jenkins form body rejects a number (%s)", err);
        cJSON_Delete(p);
        p = parse("{\"PROMO_KEY\":\"x\"}");
        s = jenkins_form_body(p, KEY, err, sizeof(err));
        unit_ok(!s && strstr(err, "reserved"), "jenkins form body: PROMO_KEY is reserved (%s)", err);
        cJSON_Delete(p);
        p = parse("[\"a\"]");
        s = jenkins_form_body(p, KEY, err, sizeof(err));
        unit_ok(!s, "jenkins form body rejects an array");
        cJSON_Delete(p);
    }
    {
        static const struct { const char *json; const char *want; } crumbs[] = {
            { "{\"_class\":\"hudson.security.csrf.DefaultCrumbIssuer\",\"crumb\":\"abc123\","
              "\"crumbRequestField\":\"Jenkins-Crumb\"}", "Jenkins-Crumb: abc123" },
            { "{\"crumb\":\"abc\",\"crumbRequestField\":\"X: y\\r\\nEvil\"}", NULL },
            { "{\"crumb\":\"a\\r\\nEvil: 1\",\"crumbRequestField\":\"Jenkins-Crumb\"}", NULL },
            { "{\"crumb\":\"abc\"}", NULL }, { "{\"crumb\":1,\"crumbRequestField\":\"J\"}", NULL },
            { "{\"crumb\":\"\",\"crumbRequestField\":\"J\"}", NULL }, { "[]", NULL },
        };
        char h[320];
        cJSON *j;

        for (i = 0; i < ARRAY_LEN(crumbs); i++) {
            j = parse(crumbs[i].json);
            int r = jenkins_parse_crumb(j, h, sizeof(h), err, sizeof(err));
            unit_ok(crumbs[i].want ? r == 0 && strcmp(h, crumbs[i].want) == 0 : r == -1, "jenkins crumb %zu", i);
            cJSON_Delete(j);
        }
    }
}

/* --- GitHub Actions --- */

/* test_github_map - status/conclusion to a status, unknown values never pass. */
static void test_github_map(void)
{
    static const struct { const char *status, *conclusion; enum run_status want; } cases[] = {
        { "queued", NULL, RUN_QUEUED }, { "requested", NULL, RUN_QUEUED }, { "pending", NULL, RUN_QUEUED },
        { "waiting", NULL, RUN_QUEUED }, { "in_progress", NULL, RUN_RUNNING },
        { "action_required", NULL, RUN_RUNNING },
        { "completed", "success", RUN_PASSED }, { "completed", "failure", RUN_FAILED },
        { "completed", "neutral", RUN_FAILED }, { "completed", "cancelled", RUN_CANCELLED },
        { "completed", "timed_out", RUN_TIMED_OUT }, { "completed", "action_required", RUN_RUNNING },
        { "completed", "skipped", RUN_FAILED }, { "completed", "stale", RUN_FAILED },
        { "completed", "startup_failure", RUN_FAILED }, { "completed", NULL, RUN_FAILED },
        { "completed", "SUCCESS", RUN_FAILED }, { "completed", "successful", RUN_FAILED },
        { "completed", "", RUN_FAILED }, { "success", NULL, RUN_FAILED }, { "in_progress", "success", RUN_RUNNING },
        { "queued", "success", RUN_QUEUED }, { "brand_new", NULL, RUN_FAILED }, { NULL, "success", RUN_FAILED },
    };
    size_t i;

    for (i = 0; i < ARRAY_LEN(cases); i++)
        unit_ok(github_map_status(cases[i].status, cases[i].conclusion) == cases[i].want,
                "github %s/%s -> %s", cases[i].status ? cases[i].status : "null",
                cases[i].conclusion ? cases[i].conclusion : "null", run_status_name(cases[i].want));
}

/* test_github_run - a workflow run object, real-shaped and hostile. */
static void test_github_run(void)
{
    static const char *const real =
        "{\"id\":30433642,\"name\":\"promo\",\"node_id\":\"MDEyOldvcmtmbG93IFJ1bjI2OTI4OQ==\","
        "\"head_branch\":\"feature/x\",\"head_sha\":\"acb5820ced9479c074f688cc328bf03f341a511d\","
        "\"path\":\".github/workflows/promo.yml@feature/x\",\"display_title\":\"promo " KEY "\","
        "\"run_number\":562,\"event\":\"workflow_dispatch\",\"status\":\"completed\",\"conclusion\":\"success\","
        "\"workflow_id\":159038,\"url\":\"https://api.github.com/repos/acme/shop/actions/runs/30433642\","
        "\"html_url\":\"https://github.com/acme/shop/actions/runs/30433642\",\"pull_requests\":[],"
        "\"created_at\":\"2026-11-28T04:30:00Z\",\"updated_at\":\"2026-11-28T04:31:05Z\","
        "\"run_attempt\":1,\"run_started_at\":\"2026-11-28T04:30:05Z\"}";
    static const char *const bad[] = {
        "[]", "{}", "{\"id\":\"30433642\",\"status\":\"completed\",\"conclusion\":\"success\",\"html_url\":\"https://g/r\"}",
        "{\"id\":1,\"status\":1,\"conclusion\":\"success\",\"html_url\":\"https://g/r\"}",
        "{\"id\":1,\"status\":\"completed\",\"conclusion\":true,\"html_url\":\"https://g/r\"}",
        "{\"id\":1,\"status\":\"completed\",\"conclusion\":\"success\"}",
        "{\"id\":1,\"status\":\"completed\",\"conclusion\":\"success\",\"html_url\":\"ftp://g/r\"}",
        "{\"id\":0,\"status\":\"completed\",\"conclusion\":\"success\",\"html_url\":\"https://g/r\"}",
        "{\"id\":-5,\"status\":\"completed\",\"conclusion\":\"success\",\"html_url\":\"https://g/r\"}",
        "{\"id\":1,\"status\":[\"completed\"],\"conclusion\":\"success\",\"html_url\":\"https://g/r\"}",
        "{\"id\":1,\"status\":\"completed\",\"conclusion\":\"success\",\"html_url\":\"https://g/r\",\"updated_at\":5}",
    };
    struct adapter_run run;
    char err[256], *big;
    cJSON *j;
    size_t i;

    memset(&run, 0, sizeof(run));
    j = parse(real);
    unit_ok(github_parse_run(j, &run, err, sizeof(err)) == 0 && run.status == RUN_PASSED
            && strcmp(run.id, "30433642") == 0 && strcmp(run.url, "https://github.com/acme/shop/actions/runs/30433642") == 0
            && strcmp(run.detail, "completed/success") == 0 && run.duration_ms == 60000,
            "github run (real shape): %s %s %lld ms", run.id, run.detail, (long long)run.duration_ms);
    cJSON_Delete(j);
    j = parse("{\"id\":7,\"status\":\"in_progress\",\"conclusion\":null,\"html_url\":\"https://g/r/7\"}");
    unit_ok(github_parse_run(j, &run, err, sizeof(err)) == 0 && run.status == RUN_RUNNING
            && strcmp(run.detail, "in_progress") == 0 && run.duration_ms == 0, "github run in progress");
    cJSON_Delete(j);
    for (i = 0; i < ARRAY_LEN(bad); i++) {
        memset(&run, 0, sizeof(run));
        err[0] = '\0';
        j = parse(bad[i]);
        unit_ok(github_parse_run(j, &run, err, sizeof(err)) == -1 && run.status != RUN_PASSED && err[0],
                "github run rejects %s (%s)", bad[i], err);
        cJSON_Delete(j);
    }
    big = huge_string_json("{\"id\":1,\"status\":\"completed\",\"html_url\":\"https://g/r\",", "conclusion", 1 << 20, "}");
    j = parse(big);
    unit_ok(github_parse_run(j, &run, err, sizeof(err)) == -1 && strstr(err, "conclusion"),
            "github run rejects a 1 MiB conclusion (%s)", err);
    cJSON_Delete(j);
    free(big);
}

/* test_github_find - finding a run by the key in its display_title. */
static void test_github_find(void)
{
    static const char *const list =
        "{\"total_count\":3,\"workflow_runs\":["
        "{\"id\":3,\"display_title\":\"promo pk-000000000000000000000000\",\"status\":\"completed\","
        "\"conclusion\":\"success\",\"html_url\":\"https://github.com/a/b/actions/runs/3\"},"
        "{\"id\":2,\"display_title\":null,\"status\":\"queued\",\"conclusion\":null,\"html_url\":\"https://github.com/a/b/actions/runs/2\"},"
        "{\"id\":1,\"display_title\":\"promo " KEY " for acme-shop-42\",\"status\":\"queued\",\"conclusion\":null,"
        "\"html_url\":\"https://github.com/a/b/actions/runs/1\"}]}";
    static const struct { const char *json; int want; } other[] = {
        { "{\"workflow_runs\":[]}", 0 }, { "{}", -1 }, { "[]", -1 }, { "{\"workflow_runs\":{}}", -1 },
        { "{\"workflow_runs\":[[]]}", -1 }, { "{\"workflow_runs\":[{\"display_title\":7}]}", -1 },
        { "{\"workflow_runs\":[{\"display_title\":\"" KEY "\",\"id\":\"1\",\"status\":\"completed\","
          "\"conclusion\":\"success\",\"html_url\":\"https://g/1\"}]}", -1 },
        { "{\"workflow_runs\":[{\"display_title\":\"pk-5f0c3a9e\",\"id\":1,\"status\":\"completed\","
          "\"conclusion\":\"success\",\"html_url\":\"https://g/1\"}]}", 0 },
    };
    struct adapter_run run;
    char err[256];
    cJSON *j;
    size_t i;
    int r;

    j = parse(list);
    r = github_find_run(j, KEY, &run, err, sizeof(err));
    unit_ok(r == 1 && strcmp(run.id, "1") == 0 && run.status == RUN_QUEUED, "github find run by display_title");
    unit_ok(github_find_run(j, "pk-111111111111111111111111", &run, err, sizeof(err)) == 0, "github find: another key");
    unit_ok(github_find_run(j, "", &run, err, sizeof(err)) == -1, "github find: an empty key is refused");
    cJSON_Delete(j);
    for (i = 0; i < ARRAY_LEN(other); i++) {
        j = parse(other[i].json);
        r = github_find_run(j, KEY, &run, err, sizeof(err));
        unit_ok(r == other[i].want, "github find %s -> %d", other[i].json, r);
        cJSON_Delete(j);
    }
}

/* test_github_requests - job splitting, branch filter, dispatch body and answer. */
static void test_github_requests(void)
{
    static const struct { const char *job, *repo, *owner, *name, *wf; } split_ok[] = {
        { "promo.yml", "acme/shop", "acme", "shop", "promo.yml" },
        { "159038", "acme/shop", "acme", "shop", "159038" },
        { "other/tests:e2e.yaml", "acme/shop", "other", "tests", "e2e.yaml" },
        { "o/r:w.yml", NULL, "o", "r", "w.yml" },
        { "Acme-Corp/shop.web:ci_promo.yml", NULL, "Acme-Corp", "shop.web", "ci_promo.yml" },
    };
    static const struct { const char *job, *repo; } split_bad[] = {
        { "promo.yml", NULL }, { "promo.yml", "" }, { "promo.yml", "acme" }, { "", "acme/shop" },
        { "o/r:", NULL }, { ":w.yml", NULL }, { "o:w.yml", NULL }, { "o/r/x:w.yml", NULL },
        { "a/b.yml", "acme/shop" }, { "../x.yml", "acme/shop" }, { "o/r:../../x", NULL },
        { "w.yml", "acme/../shop" }, { "w yml", "acme/shop" }, { "o/r:w.yml?x=1", NULL },
    };
    static const struct { const char *ref, *want; } branches[] = {
        { "main", "main" }, { "feature/x", "feature/x" }, { "refs/heads/main", "main" },
        { "refs/tags/v1", NULL }, { "refs/pull/1/head", NULL }, { "0123456789abcdef0123456789abcdef01234567", NULL },
        { "", NULL }, { "refs/heads/", NULL },
    };
    char owner[64], repo[64], wf[64], err[256], *s;
    cJSON *p, *j;
    size_t i;
    int k;

    for (i = 0; i < ARRAY_LEN(split_ok); i++)
        unit_ok(github_split_job(split_ok[i].job, split_ok[i].repo, owner, sizeof(owner), repo, sizeof(repo),
                                 wf, sizeof(wf), err, sizeof(err)) == 0
                && strcmp(owner, split_ok[i].owner) == 0 && strcmp(repo, split_ok[i].name) == 0
                && strcmp(wf, split_ok[i].wf) == 0, "github job %s", split_ok[i].job);
    for (i = 0; i < ARRAY_LEN(split_bad); i++)
        unit_ok(github_split_job(split_bad[i].job, split_bad[i].repo, owner, sizeof(owner), repo, sizeof(repo),
                                 wf, sizeof(wf), err, sizeof(err)) == -1,
                "github job rejects \"%s\" in %s (%s)", split_bad[i].job, split_bad[i].repo ? split_bad[i].repo : "-", err);
    unit_ok(github_split_job("o/r:w.yml", NULL, owner, 1, repo, sizeof(repo), wf, sizeof(wf), err, sizeof(err)) == -1,
            "github job: buffer too small");
    for (i = 0; i < ARRAY_LEN(branches); i++) {
        const char *b = github_branch_filter(branches[i].ref);
        unit_ok(branches[i].want ? b && strcmp(b, branches[i].want) == 0 : b == NULL, "github branch filter %s",
                branches[i].ref);
    }

    p = parse("{\"ref\":\"release\",\"PR\":\"42\",\"env\":\"staging\"}");
    s = github_dispatch_body(p, KEY, "release", err, sizeof(err));
    j = s ? cJSON_Parse(s) : NULL;
    unit_ok(j && strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "ref")), "release") == 0
            && cJSON_IsTrue(cJSON_GetObjectItem(j, "return_run_details"))
            && cJSON_GetArraySize(cJSON_GetObjectItem(j, "inputs")) == 3
            && strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "inputs"), "promo_key")), KEY) == 0
            && !cJSON_GetObjectItem(cJSON_GetObjectItem(j, "inputs"), "ref"),
            "github dispatch body (%s)", s ? s : err);
    cJSON_Delete(j);
    free(s);
    s = github_dispatch_body(p, KEY, NULL, err, sizeof(err));
    unit_ok(!s && strstr(err, "needs a ref"), "github dispatch without a ref (%s)", err);
    cJSON_Delete(p);
    for (k = 24; k <= 25; k++) {
        p = cJSON_CreateObject();
        for (i = 0; i < (size_t)k; i++) {
            char n[32];
            snprintf(n, sizeof(n), "in%zu", i);
            cJSON_AddStringToObject(p, n, "v");
        }
        s = github_dispatch_body(p, KEY, "main", err, sizeof(err));
        unit_ok(k == 24 ? s != NULL : s == NULL, "github dispatch with %d parameters + promo_key: %s", k,
                s ? "accepted" : err);
        free(s);
        cJSON_Delete(p);
    }
    p = parse("{\"n\":1}");
    s = github_dispatch_body(p, KEY, "main", err, sizeof(err));
    unit_ok(!s, "github dispatch rejects a number input (%s)", err);
    cJSON_Delete(p);
    p = parse("{\"promo_key\":\"x\"}");
    s = github_dispatch_body(p, KEY, "main", err, sizeof(err));
    unit_ok(!s && strstr(err, "reserved"), "github dispatch: promo_key is reserved");
    cJSON_Delete(p);

    {
        struct adapter_run run;
        memset(&run, 0, sizeof(run));
        j = parse("{\"workflow_run_id\":22,\"run_url\":\"https://api.github.com/repos/a/b/actions/runs/22\","
                  "\"html_url\":\"https://github.com/a/b/actions/runs/22\"}");
        unit_ok(github_parse_dispatch(j, &run, err, sizeof(err)) == 0 && strcmp(run.id, "22") == 0
                && run.status == RUN_QUEUED, "github dispatch answer");
        cJSON_Delete(j);
        j = parse("{\"workflow_run_id\":\"22\",\"html_url\":\"https://github.com/a/b/actions/runs/22\"}");
        unit_ok(github_parse_dispatch(j, &run, err, sizeof(err)) == -1, "github dispatch answer: id as a string");
        cJSON_Delete(j);
        j = parse("{\"html_url\":\"https://github.com/a/b/actions/runs/22\"}");
        unit_ok(github_parse_dispatch(j, &run, err, sizeof(err)) == -1, "github dispatch answer: no id");
        cJSON_Delete(j);
    }
}

/* test_github_rate - rate-limit headers to rate_remaining and retry_after_ms. */
static void test_github_rate(void)
{
    static const struct {
        const char *remaining, *reset, *retry_after;
        int want;
        long rate;
        int64_t wait;
    } cases[] = {
        { "4999", "1700000000", NULL, 0, 4999, 0 },
        { "0", "1700000030", NULL, 1, 0, 30000 },
        { "0", "1699999990", NULL, 1, 0, 1000 },
        { "0", NULL, NULL, 1, 0, 1000 },
        { "12", NULL, "5", 1, 12, 5000 },
        { NULL, NULL, "60", 1, -1, 60000 },
        { NULL, NULL, NULL, 0, -1, 0 },
        { "lots", "soon", "later", 0, -1, 0 },
        { "-1", NULL, NULL, 0, -1, 0 },
        { "99999999999999999999", NULL, NULL, 0, -1, 0 },
    };
    struct adapter_result res;
    size_t i;
    int r;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        adapter_res_init(&res);
        r = github_rate(cases[i].remaining, cases[i].reset, cases[i].retry_after, 1700000000, &res);
        unit_ok(r == cases[i].want && res.rate_remaining == cases[i].rate && res.retry_after_ms == cases[i].wait,
                "github rate remaining=%s reset=%s retry-after=%s -> %d, %ld, %lld ms",
                cases[i].remaining ? cases[i].remaining : "-", cases[i].reset ? cases[i].reset : "-",
                cases[i].retry_after ? cases[i].retry_after : "-", r, res.rate_remaining,
                (long long)res.retry_after_ms);
    }
}

/* --- GitLab CI --- */

/* test_gitlab - status mapping, project ids, pipelines, variables, the create body. */
static void test_gitlab(void)
{
    static const struct { const char *status; enum run_status want; } map[] = {
        { "created", RUN_QUEUED }, { "waiting_for_resource", RUN_QUEUED }, { "preparing", RUN_QUEUED },
        { "pending", RUN_QUEUED }, { "scheduled", RUN_QUEUED }, { "running", RUN_RUNNING },
        { "manual", RUN_RUNNING }, { "success", RUN_PASSED }, { "failed", RUN_FAILED },
        { "canceled", RUN_CANCELLED }, { "canceling", RUN_CANCELLED }, { "skipped", RUN_FAILED },
        { "cancelled", RUN_FAILED }, { "SUCCESS", RUN_FAILED }, { "passed", RUN_FAILED }, { "", RUN_FAILED },
        { "unknown", RUN_FAILED }, { NULL, RUN_FAILED },
    };
    static const struct { const char *job, *want; } projects[] = {
        { "42", "42" }, { "group/project", "group%2Fproject" }, { "a/b/c", "a%2Fb%2Fc" },
        { "my-group/my.project_1", "my-group%2Fmy.project_1" }, { "project", NULL }, { "a//b", NULL },
        { "../x", NULL }, { "a/..", NULL }, { "a b/c", NULL }, { "0", NULL }, { "", NULL }, { "/a/b", NULL },
        { "a/b/", NULL }, { "a/b?x", NULL }, { "a%2Fb/c", NULL },
    };
    static const char *const real =
        "{\"id\":287,\"iid\":144,\"project_id\":21,\"sha\":\"50f0acb76a40e34a4ff304f7347dcc6587da8a14\","
        "\"ref\":\"main\",\"status\":\"success\",\"source\":\"api\",\"created_at\":\"2026-11-28T04:30:00.000Z\","
        "\"updated_at\":\"2026-11-28T04:31:00.000Z\",\"web_url\":\"https://gitlab.example.com/g/p/-/pipelines/287\","
        "\"before_sha\":\"0000000000000000000000000000000000000000\",\"tag\":false,\"yaml_errors\":null,"
        "\"user\":{\"id\":1,\"username\":\"root\"},\"started_at\":\"2026-11-28T04:30:02.000Z\","
        "\"finished_at\":\"2026-11-28T04:31:00.000Z\",\"committed_at\":null,\"duration\":58,"
        "\"queued_duration\":0.01,\"coverage\":null,\"detailed_status\":{\"text\":\"passed\"}}";
    static const char *const bad[] = {
        "[]", "{}", "{\"id\":\"287\",\"status\":\"success\",\"web_url\":\"https://g/287\"}",
        "{\"id\":287,\"status\":null,\"web_url\":\"https://g/287\"}",
        "{\"id\":287,\"status\":{\"text\":\"success\"},\"web_url\":\"https://g/287\"}",
        "{\"id\":287,\"status\":\"success\"}", "{\"id\":287,\"status\":\"success\",\"web_url\":\"//g/287\"}",
        "{\"id\":287,\"status\":\"success\",\"web_url\":\"https://g/287\",\"duration\":\"58\"}",
        "{\"id\":287,\"status\":\"success\",\"web_url\":\"https://g/287\",\"duration\":-3}",
        "{\"id\":0,\"status\":\"success\",\"web_url\":\"https://g/287\"}",
    };
    struct adapter_run run;
    int64_t ids[3];
    char err[256], *s, *big;
    cJSON *j, *p;
    size_t i;
    int r;

    for (i = 0; i < ARRAY_LEN(map); i++)
        unit_ok(gitlab_map_status(map[i].status) == map[i].want, "gitlab %s -> %s",
                map[i].status ? map[i].status : "null", run_status_name(map[i].want));
    for (i = 0; i < ARRAY_LEN(projects); i++) {
        s = gitlab_project_id(projects[i].job);
        unit_ok(projects[i].want ? s && strcmp(s, projects[i].want) == 0 : s == NULL, "gitlab project \"%s\" -> %s",
                projects[i].job, s ? s : "NULL");
        free(s);
    }
    memset(&run, 0, sizeof(run));
    j = parse(real);
    unit_ok(gitlab_parse_pipeline(j, &run, err, sizeof(err)) == 0 && run.status == RUN_PASSED
            && strcmp(run.id, "287") == 0 && run.duration_ms == 58000 && strcmp(run.detail, "success") == 0
            && strcmp(run.url, "https://gitlab.example.com/g/p/-/pipelines/287") == 0, "gitlab pipeline (real shape)");
    cJSON_Delete(j);
    j = parse("{\"id\":5,\"status\":\"brand_new\",\"web_url\":\"https://g/5\",\"duration\":null}");
    unit_ok(gitlab_parse_pipeline(j, &run, err, sizeof(err)) == 0 && run.status == RUN_FAILED
            && strcmp(run.detail, "brand_new") == 0, "gitlab pipeline: unknown status is a failure, with detail");
    cJSON_Delete(j);
    for (i = 0; i < ARRAY_LEN(bad); i++) {
        memset(&run, 0, sizeof(run));
        err[0] = '\0';
        j = parse(bad[i]);
        unit_ok(gitlab_parse_pipeline(j, &run, err, sizeof(err)) == -1 && run.status != RUN_PASSED && err[0],
                "gitlab pipeline rejects %s (%s)", bad[i], err);
        cJSON_Delete(j);
    }
    big = huge_string_json("{\"id\":5,\"status\":\"success\",", "web_url", 600, "}");
    j = parse(big);
    unit_ok(gitlab_parse_pipeline(j, &run, err, sizeof(err)) == -1 && strstr(err, "web_url"),
            "gitlab pipeline rejects a long web_url (%s)", err);
    cJSON_Delete(j);
    free(big);

    j = parse("[{\"id\":9,\"status\":\"running\"},{\"id\":8},{\"id\":7},{\"id\":6}]");
    r = gitlab_pipeline_ids(j, ids, 3, err, sizeof(err));
    unit_ok(r == 3 && ids[0] == 9 && ids[2] == 7, "gitlab pipeline ids, capped");
    cJSON_Delete(j);
    j = parse("{\"id\":9}");
    unit_ok(gitlab_pipeline_ids(j, ids, 3, err, sizeof(err)) == -1, "gitlab pipeline ids: object refused");
    cJSON_Delete(j);
    j = parse("[{\"id\":\"9\"}]");
    unit_ok(gitlab_pipeline_ids(j, ids, 3, err, sizeof(err)) == -1, "gitlab pipeline ids: string id refused");
    cJSON_Delete(j);
    j = parse("[9]");
    unit_ok(gitlab_pipeline_ids(j, ids, 3, err, sizeof(err)) == -1, "gitlab pipeline ids: bare number refused");
    cJSON_Delete(j);

    {
        static const struct { const char *json; int want; } vars[] = {
            { "[{\"variable_type\":\"env_var\",\"key\":\"PR\",\"value\":\"42\"},"
              "{\"variable_type\":\"env_var\",\"key\":\"PROMO_KEY\",\"value\":\"" KEY "\"}]", 1 },
            { "[{\"key\":\"PROMO_KEY\",\"value\":\"pk-000000000000000000000000\"}]", 0 },
            { "[{\"key\":\"promo_key\",\"value\":\"" KEY "\"}]", 0 }, { "[]", 0 },
            { "[{\"key\":\"PROMO_KEY\",\"value\":null}]", 0 }, { "{}", -1 }, { "[[]]", -1 },
            { "[{\"key\":1,\"value\":\"x\"}]", -1 }, { "[{\"key\":\"PROMO_KEY\",\"value\":[\"" KEY "\"]}]", -1 },
        };
        for (i = 0; i < ARRAY_LEN(vars); i++) {
            j = parse(vars[i].json);
            r = gitlab_variables_have_key(j, KEY, err, sizeof(err));
            unit_ok(r == vars[i].want, "gitlab variables %s -> %d", vars[i].json, r);
            cJSON_Delete(j);
        }
    }

    p = parse("{\"ref\":\"release\",\"PR\":\"42\",\"TARGET_ENV\":\"staging\"}");
    s = gitlab_create_body(p, KEY, "release", err, sizeof(err));
    j = s ? cJSON_Parse(s) : NULL;
    {
        const cJSON *vars = cJSON_GetObjectItem(j, "variables"), *last = cJSON_GetArrayItem(vars, 2);
        unit_ok(j && strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "ref")), "release") == 0
                && cJSON_GetArraySize(vars) == 3
                && strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(last, "key")), "PROMO_KEY") == 0
                && strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(last, "value")), KEY) == 0
                && strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(last, "variable_type")), "env_var") == 0,
                "gitlab create body (%s)", s ? s : err);
    }
    cJSON_Delete(j);
    free(s);
    s = gitlab_create_body(p, KEY, NULL, err, sizeof(err));
    unit_ok(!s && strstr(err, "ref"), "gitlab create body without a ref (%s)", err);
    cJSON_Delete(p);
    {
        static const char *const badp[] = { "{\"A B\":\"x\"}", "{\"N\":1}", "{\"PROMO_KEY\":\"x\"}", "{\"\":\"x\"}",
                                            "{\"A-B\":\"x\"}", "[]" };
        for (i = 0; i < ARRAY_LEN(badp); i++) {
            p = parse(badp[i]);
            s = gitlab_create_body(p, KEY, "main", err, sizeof(err));
            unit_ok(!s, "gitlab create body rejects %s (%s)", badp[i], err);
            free(s);
            cJSON_Delete(p);
        }
    }
}

/* main - run every group and print the TAP plan. */
int main(void)
{
    test_run_status();
    test_adapter_find();
    test_run_json();
    test_helpers();
    test_shared_decoders();
    test_test_ref();
    test_jenkins_map();
    test_jenkins_build();
    test_jenkins_queue();
    test_jenkins_find();
    test_jenkins_paths();
    test_github_map();
    test_github_run();
    test_github_find();
    test_github_requests();
    test_github_rate();
    test_gitlab();
    return unit_done();
}
