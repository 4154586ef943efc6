/* test_config.c - config_defaults, config_load, config_find, config_cluster. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domain/config.h"
#include "util/log.h"
#include "util/util.h"
#include "unit.h"

/* Configs that must be refused, and a piece of the error list they give. */
static const struct {
    const char *yaml, *want;
} bad[] = {
    { "stateDir: /x\nstatedir: /y\n", "c.yaml:2:1: statedir: unknown key (did you mean \"stateDir\"?)" },
    { "github:\n  apiUrl: https://x\n  tokenfiel: t\n",
      "c.yaml:3:3: github.tokenfiel: unknown key (did you mean \"tokenFile\"?)" },
    { "colour: red\n", "c.yaml:1:1: colour: unknown key" },
    { "github:\n  tokenFile: 12\n", "c.yaml:2:3: github.tokenFile: expected a string, got a number" },
    { "github: [a]\n", "c.yaml:1:1: github: expected a mapping, got a sequence" },
    { "durableWrites: yes\n", "c.yaml:1:1: durableWrites: expected true or false, got a string" },
    { "stateDir: ''\n", "c.yaml:1:1: stateDir: must not be empty" },
    { "stateDir:\n", "stateDir: expected a string, got null" },
    { "resyncInterval: 30\n", "c.yaml:1:1: resyncInterval: expected a duration such as \"30s\", got a number" },
    { "resyncInterval: 30x\n", "resyncInterval: invalid duration \"30x\": unknown unit" },
    { "pollInterval: 0s\n", "c.yaml:1:1: pollInterval: must be greater than 0" },
    { "pollInterval: 30m1h\n", "pollInterval: invalid duration" },
    { "jenkins:\n  url: ftp://ci\n", "c.yaml:2:3: jenkins.url: \"ftp://ci\" is not a URL" },
    { "gitlab:\n  url: gitlab.example.com\n", "gitlab.url: \"gitlab.example.com\" is not a URL" },
    { "argocd:\n  clusters:\n    Prod:\n      url: https://a\n",
      "c.yaml:3:5: argocd.clusters.Prod: invalid cluster name" },
    { "argocd:\n  clusters:\n    prod: {tokenFile: /nope}\n",
      "argocd.clusters.prod.tokenFile: cannot read /nope: No such file or directory" },
    { "argocd:\n  clusters:\n    prod: {}\n", "c.yaml:3:5: argocd.clusters.prod: url is required" },
    { "argocd:\n  clusters:\n    prod: {url: https://a, insecure: true}\n",
      "c.yaml:3:28: argocd.clusters.prod.insecure: unknown key" },
    { "argocd:\n  clusters: [a]\n", "argocd.clusters: expected a mapping of cluster names" },
    { "argocd:\n  cluster: {}\n", "argocd.cluster: unknown key (did you mean \"clusters\"?)" },
    { "- a\n", "c.yaml:1:1: the config must be a mapping of keys, not a sequence" },
    { "---\n", "the config must be a mapping of keys, not null" },
    { "", "c.yaml: expected exactly one YAML document, found 0" },
    { "a: 1\n---\nb: 2\n", "expected exactly one YAML document, found 2" },
    { "stateDir: /a\nstateDir: /b\n", "c.yaml:2:1: duplicate key \"stateDir\"" },
    { "github:\n  apiUrl: [\n", "c.yaml:3:1:" },
    { "webhook:\n  rateLimit: fast\n", "c.yaml:2:3: webhook.rateLimit: expected a whole number, got a string" },
    { "webhook:\n  clientRateLimit: 0\n", "webhook.clientRateLimit: must be from 1 to 1000000" },
    { "webhook:\n  clientRateLimit: -5\n", "webhook.clientRateLimit: must be from 1 to 1000000" },
    { "webhook:\n  rateLimit: 1e12\n", "webhook.rateLimit: must be from 1 to 1000000" },
    { "webhook:\n  rateLimit: 2.5\n", "webhook.rateLimit: expected a whole number, got a fraction" },
    { "webhook:\n  clientratelimit: 5\n", "unknown key (did you mean \"clientRateLimit\"?)" },
};

static char tmp[PATH_MAX];

/* put - write text into tmp/name with mode; returns a static path. */
static const char *put(const char *name, const char *text, mode_t mode)
{
    static char path[PATH_MAX + 64];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmp, name);
    unlink(path);
    f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
    return path;
}

/* load - config_load of text written as c.yaml; returns rc, err filled. */
static int load(struct config *c, const char *text, char *err, size_t errlen)
{
    char path[PATH_MAX + 64];

    str_copy(path, put("c.yaml", text, 0644), sizeof(path));
    if (chdir(tmp) < 0)
        return -2;
    config_defaults(c);
    return config_load(c, "c.yaml", err, errlen);
}

/* test_defaults - the built-in values. */
static void test_defaults(void)
{
    struct config c;

    config_defaults(&c);
    unit_ok(c.path == NULL && strcmp(c.state_dir, "/var/lib/promo") == 0
            && strcmp(c.run_dir, "/run/promo") == 0
            && strcmp(c.policy_dir, "/etc/promo/policies") == 0, "default dirs");
    unit_ok(c.resync_interval_ms == 30000 && c.poll_interval_ms == 10000 && c.durable == 1,
            "default intervals and durableWrites");
    unit_ok(strcmp(c.github.api_url, "https://api.github.com") == 0 && !c.github.token
            && !c.jenkins.url && !c.gitlab.url && c.nclusters == 0, "default services");
    unit_ok(config_cluster(&c, NULL) == NULL, "no default cluster");
    config_free(&c);
    unit_ok(c.state_dir == NULL, "config_free zeroes");
}

/* test_zeroed - config_load over a zeroed struct starts from the defaults. */
static void test_zeroed(void)
{
    struct config c;
    char err[1024];
    int rc;
    const char *path = put("z.yaml", "pollInterval: 5s\n", 0644);

    memset(&c, 0, sizeof(c));
    rc = config_load(&c, path, err, sizeof(err));
    unit_ok(rc == 0 && c.durable == 1 && c.poll_interval_ms == 5000 && c.resync_interval_ms == 30000
            && strcmp(c.run_dir, "/run/promo") == 0, "config_load over a zeroed struct");
    unit_ok(c.webhook.rate_limit == 0 && c.webhook.client_rate_limit == 0, "webhook rate limits unset: 0");
    config_free(&c);
    path = put("r.yaml", "webhook:\n  rateLimit: 3000\n  clientRateLimit: 5\n", 0644);
    memset(&c, 0, sizeof(c));
    rc = config_load(&c, path, err, sizeof(err));
    unit_ok(rc == 0 && c.webhook.rate_limit == 3000 && c.webhook.client_rate_limit == 5,
            "webhook.rateLimit and webhook.clientRateLimit");
    config_free(&c);
}

/* test_full - every key, relative paths, token files. */
static void test_full(void)
{
    struct config c;
    char err[4096], want[PATH_MAX * 2], real[PATH_MAX];
    const struct config_cluster *cl;
    int rc;

    put("gh.token", "ghp_secret123\n\n  \n", 0600);
    put("jk.token", "jenkins-secret\r\n", 0600);
    put("gl.token", "glpat-secret", 0600);
    put("prod.token", "argo-prod-token\n", 0640);  /* group-readable: a warning, not an error */
    put("dev.token", "argo-dev-token\n", 0600);
    rc = load(&c,
              "# promo.yaml\n"
              "stateDir: state\n"
              "runDir: /run/promo-test\n"
              "policyDir: ./policies\n"
              "resyncInterval: 1m30s\n"
              "pollInterval: 250ms\n"
              "durableWrites: false\n"
              "github:\n"
              "  apiUrl: http://127.0.0.1:8080/api\n"
              "  tokenFile: gh.token\n"
              "jenkins:\n"
              "  url: https://jenkins.example.com\n"
              "  user: bot\n"
              "  tokenFile: jk.token\n"
              "gitlab:\n"
              "  url: https://gitlab.example.com\n"
              "  tokenFile: gl.token\n"
              "argocd:\n"
              "  clusters:\n"
              "    default:\n"
              "      url: https://argocd.dev.example.com\n"
              "      tokenFile: dev.token\n"
              "    prod.eu-1:\n"
              "      url: https://argocd.prod.example.com\n"
              "      tokenFile: prod.token\n",
              err, sizeof(err));
    if (!unit_ok(rc == 0, "full config loads"))
        unit_note("%s", err);
    if (!realpath(tmp, real))
        str_copy(real, tmp, sizeof(real));
    snprintf(want, sizeof(want), "%s/state", real);
    unit_ok(c.state_dir && strcmp(c.state_dir, want) == 0, "relative stateDir resolved: %s", c.state_dir);
    snprintf(want, sizeof(want), "%s/./policies", real);
    unit_ok(c.policy_dir && strcmp(c.policy_dir, want) == 0, "relative policyDir resolved");
    unit_ok(c.run_dir && strcmp(c.run_dir, "/run/promo-test") == 0, "absolute runDir kept");
    unit_ok(c.path && strcmp(c.path, "c.yaml") == 0, "path recorded");
    unit_ok(c.resync_interval_ms == 90000 && c.poll_interval_ms == 250 && c.durable == 0,
            "durations and durableWrites");
    unit_ok(strcmp(c.github.api_url, "http://127.0.0.1:8080/api") == 0, "github.apiUrl");
    snprintf(want, sizeof(want), "%s/gh.token", real);
    unit_ok(c.github.token_file && strcmp(c.github.token_file, want) == 0, "tokenFile resolved");
    unit_ok(c.github.token && strcmp(c.github.token, "ghp_secret123") == 0, "github token trimmed");
    unit_ok(c.jenkins.token && strcmp(c.jenkins.token, "jenkins-secret") == 0
            && strcmp(c.jenkins.user, "bot") == 0
            && strcmp(c.jenkins.url, "https://jenkins.example.com") == 0, "jenkins");
    unit_ok(c.gitlab.token && strcmp(c.gitlab.token, "glpat-secret") == 0
            && strcmp(c.gitlab.url, "https://gitlab.example.com") == 0, "gitlab");
    unit_ok(c.nclusters == 2, "two clusters");
    cl = config_cluster(&c, NULL);
    unit_ok(cl && strcmp(cl->name, "default") == 0 && strcmp(cl->token, "argo-dev-token") == 0,
            "config_cluster(NULL) is default");
    unit_ok(config_cluster(&c, "") == cl, "config_cluster(\"\") is default");
    cl = config_cluster(&c, "prod.eu-1");
    unit_ok(cl && strcmp(cl->url, "https://argocd.prod.example.com") == 0
            && strcmp(cl->token, "argo-prod-token") == 0, "named cluster");
    unit_ok(config_cluster(&c, "nope") == NULL, "unknown cluster is NULL");
    config_free(&c);
}

/* test_bad - the error table, one config each. */
static void test_bad(void)
{
    char err[4096];
    struct config c;
    size_t i;

    for (i = 0; i < ARRAY_LEN(bad); i++) {
        int rc = load(&c, bad[i].yaml, err, sizeof(err));
        if (!unit_ok(rc == -1 && strstr(err, bad[i].want), "refuse: %s", bad[i].want))
            unit_note("rc=%d err=%s", rc, err);
        config_free(&c);
    }
}

/* test_many - every error is reported, one per line, in file order. */
static void test_many(void)
{
    static const char want[] =
        "c.yaml:1:1: stateDir: expected a string, got a number\n"
        "c.yaml:2:1: resyncInterval: invalid duration \"soon\": expected <number><unit> at \"soon\"\n"
        "c.yaml:4:3: github.apiUrl: \"api.github.com\" is not a URL (it must start with http:// or https://)\n"
        "c.yaml:5:3: github.token: unknown key (did you mean \"tokenFile\"?)\n"
        "c.yaml:6:1: extra: unknown key";
    char err[4096];
    struct config c;
    int rc;

    rc = load(&c,
              "stateDir: 5\n"
              "resyncInterval: soon\n"
              "github:\n"
              "  apiUrl: api.github.com\n"
              "  token: abc\n"
              "extra: 1\n",
              err, sizeof(err));
    if (!unit_ok(rc == -1 && strcmp(err, want) == 0, "five errors reported together"))
        unit_note("got:\n%s", err);
    config_free(&c);

    rc = load(&c, "a: 1\nb: 2\nc: 3\nd: 4\n", err, 40);
    unit_ok(rc == -1 && strlen(err) == 39, "a small err buffer is filled, not overrun");
    config_free(&c);
}

/* test_tokens - token file problems and environment tokens. */
static void test_tokens(void)
{
    char err[4096], big[70000];
    struct config c;
    int rc;

    put("empty.token", " \n\n", 0600);
    rc = load(&c, "github:\n  tokenFile: empty.token\n", err, sizeof(err));
    unit_ok(rc == -1 && strstr(err, "c.yaml:2:3: github.tokenFile: ") && strstr(err, "the token is empty"),
            "empty token file refused");
    config_free(&c);

    put("two.token", "abcd\nefgh\n", 0600);
    rc = load(&c, "github:\n  tokenFile: two.token\n", err, sizeof(err));
    unit_ok(rc == -1 && strstr(err, "control characters"), "two-line token refused");
    config_free(&c);

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    put("big.token", big, 0600);
    rc = load(&c, "gitlab:\n  tokenFile: big.token\n", err, sizeof(err));
    unit_ok(rc == -1 && strstr(err, "larger than 64 KiB"), "token file over 64 KiB refused");
    config_free(&c);

    rc = load(&c, "jenkins:\n  tokenFile: missing.token\n", err, sizeof(err));
    unit_ok(rc == -1 && strstr(err, "c.yaml:2:3: jenkins.tokenFile: cannot read ")
            && strstr(err, "/missing.token: No such file or directory"), "missing token file");
    config_free(&c);

    setenv("PROMO_GITHUB_TOKEN", "env-gh-token\n", 1);
    setenv("PROMO_JENKINS_TOKEN", "env-jenkins-token", 1);
    setenv("PROMO_ARGOCD_TOKEN_PROD_EU_1", "env-argo-token", 1);
    put("jk.token", "file-jenkins-token\n", 0600);
    rc = load(&c,
              "jenkins:\n  tokenFile: jk.token\n"
              "argocd:\n  clusters:\n    prod.eu-1: {url: 'https://a'}\n    dev: {url: 'https://b'}\n",
              err, sizeof(err));
    unit_ok(rc == 0, "config with env tokens loads");
    unit_ok(c.github.token && strcmp(c.github.token, "env-gh-token") == 0, "PROMO_GITHUB_TOKEN used, trimmed");
    unit_ok(c.jenkins.token && strcmp(c.jenkins.token, "file-jenkins-token") == 0,
            "a tokenFile wins over PROMO_JENKINS_TOKEN");
    unit_ok(config_cluster(&c, "prod.eu-1")->token
            && strcmp(config_cluster(&c, "prod.eu-1")->token, "env-argo-token") == 0,
            "PROMO_ARGOCD_TOKEN_PROD_EU_1 used");
    unit_ok(config_cluster(&c, "dev")->token == NULL, "no token for a cluster without one");
    config_free(&c);
    config_defaults(&c);
    unit_ok(c.github.token && strcmp(c.github.token, "env-gh-token") == 0,
            "config_defaults takes PROMO_GITHUB_TOKEN too");
    config_free(&c);
    unsetenv("PROMO_GITHUB_TOKEN");
    unsetenv("PROMO_JENKINS_TOKEN");
    unsetenv("PROMO_ARGOCD_TOKEN_PROD_EU_1");
}

/* test_find - -c, then $PROMO_CONFIG, then ./promo.yaml, then nothing. */
static void test_find(void)
{
    if (chdir(tmp) < 0)
        return;
    unlink("promo.yaml");
    unsetenv("PROMO_CONFIG");
    unit_ok(config_find(NULL) == NULL, "no config found");
    put("promo.yaml", "{}\n", 0644);
    unit_ok(config_find(NULL) && strcmp(config_find(NULL), "./promo.yaml") == 0, "./promo.yaml found");
    setenv("PROMO_CONFIG", "/etc/promo/promo.yaml", 1);
    unit_ok(strcmp(config_find(NULL), "/etc/promo/promo.yaml") == 0, "$PROMO_CONFIG wins");
    unit_ok(strcmp(config_find("x.yaml"), "x.yaml") == 0, "-c wins");
    unsetenv("PROMO_CONFIG");
}

int main(void)
{
    char cwd[PATH_MAX];

    log_init("test_config", LOG_ERROR);
    unsetenv("PROMO_GITHUB_TOKEN");
    unsetenv("PROMO_JENKINS_TOKEN");
    unsetenv("PROMO_GITLAB_TOKEN");
    if (!getcwd(cwd, sizeof(cwd)))
        return 1;
    str_copy(tmp, unit_tmpdir(), sizeof(tmp));
    test_defaults();
    test_full();
    test_bad();
    test_zeroed();
    test_many();
    test_tokens();
    test_find();
    if (chdir(cwd) < 0)
        return 1;
    return unit_done();
}
