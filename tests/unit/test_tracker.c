/* test_tracker.c - unit tests of domain/tracker.c: one good document, one
 * bad case per rule (each a single change to the good one), state names,
 * and tracker_name_for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/tracker.h"
#include "util/util.h"
#include "unit.h"

static const char good_doc[] =
    "{\"apiVersion\":\"promo.dev/v1alpha1\",\"kind\":\"PullRequestTracker\","
    "\"metadata\":{\"name\":\"acme-shop-web-42\",\"generation\":3,"
    "\"creationTimestamp\":\"2026-11-28T04:30:00Z\",\"labels\":{\"x\":\"y\"}},"
    "\"spec\":{\"repository\":\"Acme/Shop.Web\",\"number\":42,"
    "\"headSHA\":\"0123456789ABCDEF0123456789abcdef01234567\",\"headRef\":\"feature/x-1\","
    "\"application\":\"shop-web\",\"environment\":\"dev\",\"future\":true},"
    "\"status\":{\"environment\":\"staging\",\"state\":\"awaiting-approval\","
    "\"conditions\":[]}}";

/* set_path - in doc, replace the member at dotted path with the JSON value
 * (parsed), or delete it when value is NULL. Returns 0 or -1. */
static int set_path(cJSON *doc, const char *path, const char *value)
{
    char buf[128], *dot, *key = buf;
    cJSON *obj = doc, *v;

    snprintf(buf, sizeof(buf), "%s", path);
    while ((dot = strchr(key, '.')) != NULL) {
        *dot = '\0';
        obj = cJSON_GetObjectItemCaseSensitive(obj, key);
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
    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v);
    else
        cJSON_AddItemToObject(obj, key, v);
    return 0;
}

/* test_good - every field of the good document, and accepted variants. */
static void test_good(void)
{
    static const struct {
        const char *path, *value;    /* value NULL: delete */
        const char *desc;
    } ok_cases[] = {
        { "status", NULL, "no status" },
        { "status", "null", "status null" },
        { "status", "{}", "empty status" },
        { "metadata.creationTimestamp", NULL, "no creationTimestamp" },
        { "metadata.creationTimestamp", "\"2026-11-28T04:30:00.123Z\"", "timestamp with ms" },
        { "spec.headRef", NULL, "no headRef" },
        { "spec.number", "2147483648", "number 2^31" },
        { "spec.number", "1", "number 1" },
        { "spec.number", "4.2e1", "number 4.2e1 is integral" },
        { "spec.headSHA", "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"",
          "sha-256 head" },
        { "spec.repository", "\"a/b\"", "one-char owner and name" },
        { "spec.repository", "\"a-b-c/.github\"", "name starting with a dot" },
        { "spec.repository", "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/x_y-z.1\"", "owner of 39" },
        { "spec.environment", "\"e23456789012345678901234567890123456789012345678901234567890123\"",
          "environment of 63" },
    };
    char err[256];
    struct tracker t;
    cJSON *doc;
    size_t i;
    int rc;

    doc = cJSON_Parse(good_doc);
    err[0] = '\0';
    rc = tracker_decode(doc, &t, err, sizeof(err));
    unit_ok(rc == 0, "good document decodes (%s)", err);
    unit_ok(strcmp(t.name, "acme-shop-web-42") == 0, "name");
    unit_ok(t.generation == 3, "generation");
    unit_ok(t.created_ms == time_parse_iso("2026-11-28T04:30:00Z") && t.created_ms > 0,
            "creationTimestamp");
    unit_ok(strcmp(t.repository, "Acme/Shop.Web") == 0 && strcmp(t.owner, "Acme") == 0
            && strcmp(t.repo, "Shop.Web") == 0, "repository split");
    unit_ok(t.number == 42, "number");
    unit_ok(strcmp(t.head_sha, "0123456789abcdef0123456789abcdef01234567") == 0, "sha lowercased");
    unit_ok(strcmp(t.head_ref, "feature/x-1") == 0, "headRef");
    unit_ok(strcmp(t.application, "shop-web") == 0, "application");
    unit_ok(strcmp(t.environment, "dev") == 0, "environment");
    unit_ok(strcmp(t.status_env, "staging") == 0, "status.environment");
    unit_ok(t.state == TS_AWAITING_APPROVAL, "status.state");
    cJSON_Delete(doc);

    for (i = 0; i < ARRAY_LEN(ok_cases); i++) {
        doc = cJSON_Parse(good_doc);
        set_path(doc, ok_cases[i].path, ok_cases[i].value);
        err[0] = '\0';
        rc = tracker_decode(doc, &t, err, sizeof(err));
        unit_ok(rc == 0, "accepted: %s (%s)", ok_cases[i].desc, err);
        cJSON_Delete(doc);
    }

    doc = cJSON_Parse(good_doc);
    set_path(doc, "status", NULL);
    rc = tracker_decode(doc, &t, err, sizeof(err));
    unit_ok(rc == 0 && t.state == TS_DEPLOYING && strcmp(t.status_env, "dev") == 0,
            "no status: deploying in spec.environment");
    set_path(doc, "status", "{\"state\":\"synced\"}");
    rc = tracker_decode(doc, &t, err, sizeof(err));
    unit_ok(rc == 0 && t.state == TS_SYNCED && strcmp(t.status_env, "dev") == 0,
            "status without environment defaults to spec.environment");
    set_path(doc, "metadata.creationTimestamp", NULL);
    set_path(doc, "spec.headRef", NULL);
    rc = tracker_decode(doc, &t, err, sizeof(err));
    unit_ok(rc == 0 && t.created_ms == 0 && t.head_ref[0] == '\0', "absent optionals are empty");
    cJSON_Delete(doc);
}

/* test_bad - one rule broken per case; the error names the field. */
static void test_bad(void)
{
    static const struct {
        const char *path, *value;    /* value NULL: delete */
        const char *want;            /* prefix of err */
    } cases[] = {
        { "apiVersion", "\"promo.dev/v1\"", "apiVersion: must be" },
        { "apiVersion", "1", "apiVersion: must be a string" },
        { "apiVersion", NULL, "apiVersion: required" },
        { "kind", "\"PromotionPolicy\"", "kind: must be \"PullRequestTracker\"" },
        { "kind", "[]", "kind: must be a string" },
        { "kind", NULL, "kind: required" },
        { "metadata", "[]", "metadata: must be an object" },
        { "metadata", NULL, "metadata: required" },
        { "metadata.name", "\"Acme-42\"", "metadata.name: invalid name" },
        { "metadata.name", "\"-a\"", "metadata.name: invalid name" },
        { "metadata.name", "\"a_b\"", "metadata.name: invalid name" },
        { "metadata.name", "\"\"", "metadata.name: invalid name" },
        { "metadata.name", "42", "metadata.name: must be a string" },
        { "metadata.name", NULL, "metadata.name: required" },
        { "metadata.generation", "0", "metadata.generation: must be in" },
        { "metadata.generation", "-1", "metadata.generation: must be in" },
        { "metadata.generation", "1.5", "metadata.generation: must be an integer" },
        { "metadata.generation", "\"1\"", "metadata.generation: must be a number" },
        { "metadata.generation", "true", "metadata.generation: must be a number" },
        { "metadata.generation", "1e300", "metadata.generation: must be in" },
        { "metadata.generation", NULL, "metadata.generation: required" },
        { "metadata.creationTimestamp", "\"yesterday\"", "metadata.creationTimestamp: not an ISO" },
        { "metadata.creationTimestamp", "\"2026-11-28 04:30:00\"",
          "metadata.creationTimestamp: not an ISO" },
        { "metadata.creationTimestamp", "1764304200", "metadata.creationTimestamp: must be a string" },
        { "spec", "\"x\"", "spec: must be an object" },
        { "spec", NULL, "spec: required" },
        { "spec.repository", "\"acme\"", "spec.repository: must be \"owner/name\"" },
        { "spec.repository", "\"acme/\"", "spec.repository: must be" },
        { "spec.repository", "\"/shop\"", "spec.repository: must be" },
        { "spec.repository", "\"acme/shop/x\"", "spec.repository: must be" },
        { "spec.repository", "\"ac me/shop\"", "spec.repository: must be" },
        { "spec.repository", "\"acme/sh op\"", "spec.repository: must be" },
        { "spec.repository", "\"ac_me/shop\"", "spec.repository: must be" },
        { "spec.repository", "\"acme/.\"", "spec.repository: must be" },
        { "spec.repository", "\"acme/..\"", "spec.repository: must be" },
        { "spec.repository", "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/x\"", "spec.repository: must be" },
        { "spec.repository",
          "\"a/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
          "xxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"", "spec.repository: must be" },
        { "spec.repository", "3", "spec.repository: must be a string" },
        { "spec.repository", NULL, "spec.repository: required" },
        { "spec.number", "0", "spec.number: must be in" },
        { "spec.number", "-1", "spec.number: must be in" },
        { "spec.number", "2147483649", "spec.number: must be in" },
        { "spec.number", "1.5", "spec.number: must be an integer" },
        { "spec.number", "\"42\"", "spec.number: must be a number" },
        { "spec.number", NULL, "spec.number: required" },
        { "spec.headSHA", "\"0123456789abcdef0123456789abcdef0123456\"", "spec.headSHA: must be 40" },
        { "spec.headSHA", "\"0123456789abcdef0123456789abcdef012345678\"", "spec.headSHA: must be 40" },
        { "spec.headSHA", "\"g123456789abcdef0123456789abcdef01234567\"", "spec.headSHA: must be 40" },
        { "spec.headSHA", "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\"",
          "spec.headSHA: must be 40" },
        { "spec.headSHA", "\"\"", "spec.headSHA: must be 40" },
        { "spec.headSHA", "123", "spec.headSHA: must be a string" },
        { "spec.headSHA", NULL, "spec.headSHA: required" },
        { "spec.headRef", "\"a\\nb\"", "spec.headRef: control character" },
        { "spec.headRef", "\"\"", "spec.headRef: must be 1..255" },
        { "spec.headRef", "5", "spec.headRef: must be a string" },
        { "spec.application", "\"Shop\"", "spec.application: invalid name" },
        { "spec.application", "{}", "spec.application: must be a string" },
        { "spec.application", NULL, "spec.application: required" },
        { "spec.environment", "\"Prod\"", "spec.environment: invalid name" },
        { "spec.environment", "\"e234567890123456789012345678901234567890123456789012345678901234\"",
          "spec.environment: longer than 63" },
        { "spec.environment", NULL, "spec.environment: required" },
        { "status", "\"x\"", "status: must be an object" },
        { "status.state", "\"running\"", "status.state: unknown state" },
        { "status.state", "\"Synced\"", "status.state: unknown state" },
        { "status.state", "3", "status.state: must be a string" },
        { "status.environment", "\"PROD\"", "status.environment: invalid name" },
        { "status.environment", "false", "status.environment: must be a string" },
    };
    char err[256];
    struct tracker t;
    cJSON *doc;
    size_t i;
    int rc;

    for (i = 0; i < ARRAY_LEN(cases); i++) {
        doc = cJSON_Parse(good_doc);
        if (set_path(doc, cases[i].path, cases[i].value) < 0) {
            unit_ok(0, "bad case %zu: cannot set %s", i, cases[i].path);
            cJSON_Delete(doc);
            continue;
        }
        err[0] = '\0';
        rc = tracker_decode(doc, &t, err, sizeof(err));
        unit_ok(rc == -1 && strncmp(err, cases[i].want, strlen(cases[i].want)) == 0,
                "%s=%s rejected: %s", cases[i].path, cases[i].value ? cases[i].value : "(absent)",
                err);
        cJSON_Delete(doc);
    }

    /* not an object; duplicate keys; a tiny error buffer is still terminated */
    doc = cJSON_Parse("[1]");
    rc = tracker_decode(doc, &t, err, sizeof(err));
    unit_ok(rc == -1 && strncmp(err, "document:", 9) == 0, "array document: %s", err);
    cJSON_Delete(doc);
    unit_ok(tracker_decode(NULL, &t, err, sizeof(err)) == -1, "NULL document");
    doc = cJSON_Parse("{\"apiVersion\":\"promo.dev/v1alpha1\",\"apiVersion\":\"x\"}");
    rc = tracker_decode(doc, &t, err, sizeof(err));
    unit_ok(rc == -1 && strcmp(err, "apiVersion: duplicate key") == 0, "duplicate key: %s", err);
    cJSON_Delete(doc);
    doc = cJSON_Parse(good_doc);
    set_path(doc, "spec.number", "0");
    {
        char small[8];
        rc = tracker_decode(doc, &t, small, sizeof(small));
        unit_ok(rc == -1 && strlen(small) == 7 && strncmp(small, "spec.nu", 7) == 0,
                "short error buffer truncated safely");
    }
    unit_ok(tracker_decode(doc, &t, NULL, 0) == -1, "no error buffer");
    cJSON_Delete(doc);
}

/* test_states - names round trip. */
static void test_states(void)
{
    int i, ok = 1;

    for (i = 0; i < TS_COUNT; i++)
        ok = ok && tracker_state_parse(tracker_state_name((enum tracker_state)i)) == i;
    unit_ok(ok, "state names round trip");
    unit_ok(strcmp(tracker_state_name(TS_AWAITING_APPROVAL), "awaiting-approval") == 0,
            "awaiting-approval");
    unit_ok(tracker_state_parse("bogus") == -1 && tracker_state_parse(NULL) == -1
            && tracker_state_parse("") == -1, "unknown state: -1");
    unit_ok(strcmp(tracker_state_name(TS_COUNT), "unknown") == 0, "out of range: unknown");
}

/* test_name_for - the default tracker name. */
static void test_name_for(void)
{
    static char long_a[301], long_cut[301], want_a[260], want_cut[260];
    static const struct {
        const char *repo;
        long long number;
        size_t len;
        const char *want;            /* NULL: expect NULL */
    } fixed[] = {
        { "Acme/Shop.Web", 42, 254, "acme-shop-web-42" },
        { "acme/shop", 1, 254, "acme-shop-1" },
        { "A--B/__c__", 7, 254, "a-b-c-7" },
        { "-x-/-y-", 3, 254, "x-y-3" },
        { "___/...", 5, 254, "5" },
        { "", 9, 254, "9" },
        { "ÄÖ/ü", 2, 254, "2" },
        { "acme/shop", 2147483648LL, 254, "acme-shop-2147483648" },
        { "acme/shop", 42, 8, "acme-42" },
        { "acme/shop", 42, 3, "42" },
        { "acme/shop", 12345, 3, NULL },
        { "acme/shop", 0, 254, NULL },
        { "acme/shop", -4, 254, NULL },
    };
    char buf[300];
    char *r;
    size_t i;

    for (i = 0; i < ARRAY_LEN(fixed); i++) {
        r = tracker_name_for(fixed[i].repo, fixed[i].number, buf, fixed[i].len);
        if (!fixed[i].want)
            unit_ok(r == NULL, "name_for(%s, %lld) in %zu: NULL", fixed[i].repo, fixed[i].number,
                    fixed[i].len);
        else
            unit_ok(r == buf && strcmp(buf, fixed[i].want) == 0 && name_valid(buf),
                    "name_for(%s, %lld) = %s", fixed[i].repo, fixed[i].number, r ? r : "NULL");
    }

    /* cut to 253 with the number; a '-' at the cut is trimmed */
    memset(long_a, 'a', 300);
    memset(want_a, 'a', 247);
    strcpy(want_a + 247, "-12345");
    r = tracker_name_for(long_a, 12345, buf, sizeof(buf));
    unit_ok(r && strlen(buf) == 253 && strcmp(buf, want_a) == 0 && name_valid(buf),
            "long repository cut to 253");
    memset(long_cut, 'a', 246);
    long_cut[246] = '/';
    memset(long_cut + 247, 'b', 50);
    memset(want_cut, 'a', 246);
    strcpy(want_cut + 246, "-12345");
    r = tracker_name_for(long_cut, 12345, buf, sizeof(buf));
    unit_ok(r && strcmp(buf, want_cut) == 0 && name_valid(buf), "dash at the cut trimmed");
}

/* test_validators - tracker_sha_valid and tracker_repo_valid directly. */
static void test_validators(void)
{
    unit_ok(tracker_sha_valid("0123456789abcdef0123456789ABCDEF01234567"), "sha 40 mixed case");
    unit_ok(!tracker_sha_valid(NULL) && !tracker_sha_valid("") && !tracker_sha_valid("abc"),
            "sha short or NULL");
    unit_ok(!tracker_sha_valid("0123456789abcdef0123456789abcdef0123456 "), "sha with a space");
    unit_ok(tracker_repo_valid("octo-org/hello_world.js"), "repo valid");
    unit_ok(!tracker_repo_valid(NULL) && !tracker_repo_valid("x") && !tracker_repo_valid("a//b")
            && !tracker_repo_valid("a/b/"), "repo invalid");
}

int main(void)
{
    test_good();
    test_bad();
    test_states();
    test_name_for();
    test_validators();
    return unit_done();
}
