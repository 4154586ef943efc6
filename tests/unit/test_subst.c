/* test_subst.c - ${VAR} substitution: every variable, $$, errors, escaping modes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/subst.h"
#include "domain/tracker.h"
#include "util/util.h"
#include "unit.h"

/* A context as a tracker in dev being promoted to staging would give. */
static void test_ctx(struct subst_ctx *c)
{
    subst_ctx_init(c);
    subst_ctx_set(c, SV_PR_NUMBER, "42");
    subst_ctx_set(c, SV_HEAD_SHA, "0123456789abcdef0123456789abcdef01234567");
    subst_ctx_set(c, SV_REPOSITORY, "acme/shop");
    subst_ctx_set(c, SV_HEAD_REF, "feature/x");
    subst_ctx_set(c, SV_SOURCE_ENV, "dev");
    subst_ctx_set(c, SV_TARGET_ENV, "staging");
    subst_ctx_set(c, SV_APPLICATION, "shop");
    subst_ctx_set(c, SV_TRACKER, "acme-shop-42");
    subst_ctx_set(c, SV_PROMO_KEY, "acme-shop-42.0123456.dev-staging.e2e.1");
}

/* Every variable, raw. */
static const struct {
    const char *tmpl, *want;
} vars[] = {
    { "${PR_NUMBER}", "42" },
    { "${HEAD_SHA}", "0123456789abcdef0123456789abcdef01234567" },
    { "${SHORT_SHA}", "0123456" },
    { "${REPOSITORY}", "acme/shop" },
    { "${REPO_OWNER}", "acme" },
    { "${REPO_NAME}", "shop" },
    { "${HEAD_REF}", "feature/x" },
    { "${SOURCE_ENV}", "dev" },
    { "${TARGET_ENV}", "staging" },
    { "${APPLICATION}", "shop" },
    { "${TRACKER}", "acme-shop-42" },
    { "${PROMO_KEY}", "acme-shop-42.0123456.dev-staging.e2e.1" },
    { "", "" },
    { "plain text", "plain text" },
    { "$$", "$" },
    { "$${HEAD_SHA}", "${HEAD_SHA}" },
    { "cost: $$5 and $$$$", "cost: $5 and $$" },
    { "$$$${PR_NUMBER}", "$${PR_NUMBER}" },
    { "$$${PR_NUMBER}", "$42" },
    { "pr-${PR_NUMBER}-${SHORT_SHA}", "pr-42-0123456" },
    { "${SOURCE_ENV}${TARGET_ENV}", "devstaging" },
    { "{}${PR_NUMBER}}", "{}42}" },
};

/* Malformed or unknown: an error, never an empty string. */
static const struct {
    const char *tmpl, *why;
} bad[] = {
    { "${", "unterminated" },
    { "x ${PR_NUMBER", "unterminated" },
    { "${}", "empty variable" },
    { "${lower}", "malformed" },
    { "${Pr_Number}", "malformed" },
    { "${1ABC}", "malformed" },
    { "${PR-NUMBER}", "malformed" },
    { "${ PR_NUMBER}", "malformed" },
    { "${FOO}", "unknown variable" },
    { "${PR_NUMBERS}", "unknown variable" },
    { "${HOME}", "unknown variable" },
    { "$", "stray" },
    { "$PR_NUMBER", "stray" },
    { "a$b", "stray" },
    { "end$", "stray" },
    { "$(id)", "stray" },
    { "${PR_NUMBER}${", "unterminated" },
    { "${ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGH}", "malformed" },
};

/* Escaping: one value, three modes. */
static const struct {
    const char *ref;     /* the HEAD_REF value */
    const char *raw, *url, *json;
} esc[] = {
    { "main", "main", "main", "main" },
    { "feature/x", "feature/x", "feature%2Fx", "feature/x" },
    { "a b&c=d?e#f", "a b&c=d?e#f", "a%20b%26c%3Dd%3Fe%23f", "a b&c=d?e#f" },
    { "x\"; rm -rf / #", "x\"; rm -rf / #", "x%22%3B%20rm%20-rf%20%2F%20%23", "x\\\"; rm -rf / #" },
    { "$(reboot)", "$(reboot)", "%24%28reboot%29", "$(reboot)" },
    { "`id`", "`id`", "%60id%60", "`id`" },
    { "a\\b", "a\\b", "a%5Cb", "a\\\\b" },
    { "l1\nl2\t\r", "l1\nl2\t\r", "l1%0Al2%09%0D", "l1\\nl2\\t\\r" },
    { "\x01\x1f\x7f", "\x01\x1f\x7f", "%01%1F%7F", "\\u0001\\u001f\\u007f" },
    { "${HEAD_SHA}", "${HEAD_SHA}", "%24%7BHEAD_SHA%7D", "${HEAD_SHA}" },
    { "\",\"admin\":true,\"x\":\"", "\",\"admin\":true,\"x\":\"", "%22%2C%22admin%22%3Atrue%2C%22x%22%3A%22",
      "\\\",\\\"admin\\\":true,\\\"x\\\":\\\"" },
    { "caf\xc3\xa9", "caf\xc3\xa9", "caf%C3%A9", "caf\xc3\xa9" },
    { "-._~", "-._~", "-._~", "-._~" },
    { "", "", "", "" },
};

static void test_vars(void)
{
    struct subst_ctx c;
    char err[256];
    size_t i;

    test_ctx(&c);
    for (i = 0; i < ARRAY_LEN(vars); i++) {
        char *out = subst_expand(vars[i].tmpl, &c, SUBST_RAW, err, sizeof(err));
        unit_ok(out && strcmp(out, vars[i].want) == 0, "expand \"%s\" -> \"%s\" (got \"%s\")",
                vars[i].tmpl, vars[i].want, out ? out : err);
        unit_ok(subst_check(vars[i].tmpl, err, sizeof(err)) == 0, "check \"%s\" is valid", vars[i].tmpl);
        free(out);
    }
    for (i = 0; i < SV_COUNT; i++) {
        const char *name = subst_var_name((int)i);
        unit_ok(name && subst_var_lookup(name, strlen(name)) == (int)i, "lookup %s", name ? name : "?");
    }
    unit_ok(subst_var_name(SV_COUNT) == NULL && subst_var_name(-1) == NULL, "no name out of range");
}

static void test_bad(void)
{
    struct subst_ctx c;
    char err[256];
    size_t i;

    test_ctx(&c);
    for (i = 0; i < ARRAY_LEN(bad); i++) {
        char *out;
        err[0] = 0;
        unit_ok(subst_check(bad[i].tmpl, err, sizeof(err)) < 0 && strstr(err, bad[i].why),
                "check \"%s\": %s (got \"%s\")", bad[i].tmpl, bad[i].why, err);
        err[0] = 0;
        out = subst_expand(bad[i].tmpl, &c, SUBST_RAW, err, sizeof(err));
        unit_ok(out == NULL && strstr(err, bad[i].why), "expand \"%s\" fails: %s", bad[i].tmpl, err);
        free(out);
    }
    /* the position is reported */
    subst_check("abc${nope}", err, sizeof(err));
    unit_ok(strstr(err, "position 4") != NULL, "position of the error: %s", err);
    /* a variable with no value is an error, not "" */
    subst_ctx_init(&c);
    subst_ctx_set(&c, SV_PR_NUMBER, "7");
    {
        char *out = subst_expand("${PR_NUMBER}-${PROMO_KEY}", &c, SUBST_RAW, err, sizeof(err));
        unit_ok(out == NULL && strstr(err, "PROMO_KEY") && strstr(err, "no value"),
                "unset variable is an error: %s", err);
        free(out);
    }
}

static void test_escaping(void)
{
    struct subst_ctx c;
    char err[256];
    size_t i;

    test_ctx(&c);
    for (i = 0; i < ARRAY_LEN(esc); i++) {
        char *raw, *url, *json;
        subst_ctx_set(&c, SV_HEAD_REF, esc[i].ref);
        raw = subst_expand("${HEAD_REF}", &c, SUBST_RAW, err, sizeof(err));
        url = subst_expand("${HEAD_REF}", &c, SUBST_URL, err, sizeof(err));
        json = subst_expand("${HEAD_REF}", &c, SUBST_JSON, err, sizeof(err));
        unit_ok(raw && strcmp(raw, esc[i].raw) == 0, "raw %zu", i);
        unit_ok(url && strcmp(url, esc[i].url) == 0, "url %zu: %s", i, url ? url : err);
        unit_ok(json && strcmp(json, esc[i].json) == 0, "json %zu: %s", i, json ? json : err);
        free(raw);
        free(url);
        free(json);
    }
    /* the template's own text is never escaped, only the values */
    subst_ctx_set(&c, SV_HEAD_REF, "a&b");
    {
        char *u = subst_expand("https://ci/job?ref=${HEAD_REF}&pr=${PR_NUMBER}", &c, SUBST_URL,
                               err, sizeof(err));
        char *j = subst_expand("{\"ref\":\"${HEAD_REF}\"}", &c, SUBST_JSON, err, sizeof(err));
        unit_ok(u && strcmp(u, "https://ci/job?ref=a%26b&pr=42") == 0, "url template: %s", u ? u : err);
        unit_ok(j && strcmp(j, "{\"ref\":\"a&b\"}") == 0, "json template: %s", j ? j : err);
        free(u);
        free(j);
    }
    /* a huge value cannot blow the output bound */
    {
        size_t n = SUBST_MAX_OUT / 2;
        char *big = xmalloc(n + 1), *out;
        memset(big, 'x', n);
        big[n] = 0;
        subst_ctx_set(&c, SV_HEAD_REF, big);
        out = subst_expand("${HEAD_REF}${HEAD_REF}${HEAD_REF}", &c, SUBST_RAW, err, sizeof(err));
        unit_ok(out == NULL && strstr(err, "longer than"), "output bounded: %s", err);
        free(out);
        free(big);
    }
}

static void test_tracker_ctx(void)
{
    struct tracker t;
    struct subst_ctx c;
    char err[256], *out;

    memset(&t, 0, sizeof(t));
    strcpy(t.name, "acme-shop-7");
    strcpy(t.repository, "acme/shop");
    strcpy(t.owner, "acme");
    strcpy(t.repo, "shop");
    t.number = 7;
    strcpy(t.head_sha, "fedcba9876543210fedcba9876543210fedcba98");
    strcpy(t.head_ref, "main");
    strcpy(t.application, "shop");
    subst_ctx_from_tracker(&c, &t, "staging", "prod", "k1");
    out = subst_expand("${TRACKER} ${REPO_OWNER}/${REPO_NAME}#${PR_NUMBER} ${SHORT_SHA} "
                       "${HEAD_REF} ${APPLICATION} ${SOURCE_ENV}->${TARGET_ENV} ${PROMO_KEY} "
                       "${REPOSITORY} ${HEAD_SHA}", &c, SUBST_RAW, err, sizeof(err));
    unit_ok(out && strcmp(out, "acme-shop-7 acme/shop#7 fedcba9 main shop staging->prod k1 acme/shop "
                          "fedcba9876543210fedcba9876543210fedcba98") == 0,
            "context from a tracker: %s", out ? out : err);
    free(out);
    subst_ctx_from_tracker(&c, &t, NULL, NULL, NULL);
    out = subst_expand("${PROMO_KEY}", &c, SUBST_RAW, err, sizeof(err));
    unit_ok(out == NULL, "no promo key given: error");
    free(out);
}

int main(void)
{
    test_vars();
    test_bad();
    test_escaping();
    test_tracker_ctx();
    return unit_done();
}
