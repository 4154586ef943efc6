/* config.h - promo.yaml: the keys of DESIGN.md, defaults, strict checking.
 *
 * Unknown keys, wrong types and bad durations are errors naming the file,
 * line and key. Token files are read here, so no other code touches paths
 * to secrets; every token read is registered with log_secret(). */
#ifndef PROMO_CONFIG_H
#define PROMO_CONFIG_H

#include <stdint.h>
#include <stddef.h>

#define CONFIG_MAX_CLUSTERS 32

struct config_cluster {
    char *name;
    char *url;
    char *token_file;
    char *token;          /* loaded secret, or NULL */
};

struct config {
    char *path;                 /* file it came from, or NULL for built-in defaults */
    char *state_dir;            /* default /var/lib/promo */
    char *run_dir;              /* default /run/promo */
    char *policy_dir;           /* default /etc/promo/policies */
    int64_t resync_interval_ms; /* default 30s */
    int64_t poll_interval_ms;   /* default 10s */
    int64_t deploy_timeout_ms;  /* default 10m: a promoted target must be Synced and Healthy by then */
    int durable;                /* fsync on writes; key `durableWrites`, default true */
    struct { char *api_url, *token_file, *token; } github;   /* api_url default https://api.github.com */
    /* rate_limit: jenkins.rateLimit / gitlab.rateLimit, requests an hour
     * that promo's stages may send together (util/budget.h); 0: none
     * (GitLab's RateLimit-* answer headers are used when it sends them) */
    struct { char *url, *user, *token_file, *token; int rate_limit; } jenkins;
    struct { char *url, *token_file, *token; int rate_limit; } gitlab;
    struct config_cluster clusters[CONFIG_MAX_CLUSTERS];     /* argocd.clusters.<name> */
    int nclusters;
    /* webhook.* (promo-webhook, docs/webhook.md): listen "HOST:PORT"
     * (default 127.0.0.1:8090), the shared secrets, pollStretch: while
     * webhooks arrive the monitor and watcher poll at most this often (0: no
     * stretch), and the request rate limits in requests a second, of all
     * clients together and of each client address (0: promo-webhook's
     * defaults), and requestTimeout: the time a request has to arrive
     * whole (0: promo-webhook's default) */
    struct {
        char *listen;
        char *github_secret_file, *github_secret;
        char *gitlab_token_file, *gitlab_token;
        char *jenkins_token_file, *jenkins_token;
        char *argocd_token_file, *argocd_token;
        int64_t poll_stretch_ms;
        int rate_limit, client_rate_limit;
        int64_t request_timeout_ms;
    } webhook;
};

/* config_defaults - fill c with the built-in defaults (all strings heap-owned). */
void config_defaults(struct config *c);

/* config_load - load path over the defaults. Relative stateDir/runDir/policyDir
 * are taken relative to the config file's directory. Token files are read
 * (at most 64 KiB, trailing whitespace trimmed); a missing token file is an
 * error, a token file readable by group or others is a warning.
 * Returns 0, or -1 with "file:line:col: key: message" (several errors are
 * joined with newlines) in err. */
int config_load(struct config *c, const char *path, char *err, size_t errlen);

/* config_find - the config to use: explicit (from -c) if given, else
 * $PROMO_CONFIG, else ./promo.yaml if it exists, else NULL (built-in defaults). */
const char *config_find(const char *explicit_path);

/* config_cluster - the cluster of that name (NULL or "" means "default"), or NULL. */
const struct config_cluster *config_cluster(const struct config *c, const char *name);

void config_free(struct config *c);

#endif
