/* config.c - promo.yaml: the keys of DESIGN.md, defaults, strict checking.
 *
 * The file goes through yj_parse_file (1 MiB at most) and is then walked
 * against one table of known keys per level. Every problem is collected,
 * not just the first, as "file:line:col: key.path: message", one per line.
 * Token files are read here and nowhere else; every token is registered
 * with log_secret() and wiped before it is freed. Docs: docs/config.md. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domain/config.h"
#include "util/duration.h"
#include "util/log.h"
#include "util/util.h"
#include "util/yamljson.h"

#define CONFIG_MAX_BYTES (1 << 20)
#define CONFIG_TOKEN_MAX (64 * 1024)
#define CONFIG_COUNT_MAX 1000000

#define CONFIG_DEFAULT_STATE_DIR  "/var/lib/promo"
#define CONFIG_DEFAULT_RUN_DIR    "/run/promo"
#define CONFIG_DEFAULT_POLICY_DIR "/etc/promo/policies"
#define CONFIG_DEFAULT_GITHUB_API "https://api.github.com"
#define CONFIG_DEFAULT_RESYNC_MS  (30 * 1000)
#define CONFIG_DEFAULT_POLL_MS    (10 * 1000)
#define CONFIG_DEFAULT_DEPLOY_MS  (10 * 60 * 1000)

enum config_kind {
    CONFIG_STRING,      /* any non-empty string */
    CONFIG_PATH,        /* a string, made absolute against the config's directory */
    CONFIG_URL,         /* http:// or https:// */
    CONFIG_TOKEN_FILE,  /* a path whose file is read into token_off */
    CONFIG_DURATION,    /* "30s", > 0 */
    CONFIG_BOOL,
    CONFIG_COUNT,       /* a whole number, 1 to CONFIG_COUNT_MAX (an int) */
    CONFIG_SECTION,     /* a mapping of more keys (sub); null means empty */
    CONFIG_CLUSTERS,    /* argocd.clusters: name -> mapping of cluster_keys */
};

/* One known key: where its value goes, as an offset into the level's base. */
struct config_key {
    const char *name;
    enum config_kind kind;
    size_t off;
    size_t token_off;
    const struct config_key *sub;
};

#define CK(name, kind, field) { name, kind, offsetof(struct config, field), 0, NULL }
#define CK_TOKEN(name, file, token) \
    { name, CONFIG_TOKEN_FILE, offsetof(struct config, file), offsetof(struct config, token), NULL }

static const struct config_key config_github_keys[] = {
    CK("apiUrl", CONFIG_URL, github.api_url),
    CK_TOKEN("tokenFile", github.token_file, github.token),
    { NULL, 0, 0, 0, NULL }
};
static const struct config_key config_jenkins_keys[] = {
    CK("url", CONFIG_URL, jenkins.url),
    CK("user", CONFIG_STRING, jenkins.user),
    CK_TOKEN("tokenFile", jenkins.token_file, jenkins.token),
    CK("rateLimit", CONFIG_COUNT, jenkins.rate_limit),
    { NULL, 0, 0, 0, NULL }
};
static const struct config_key config_gitlab_keys[] = {
    CK("url", CONFIG_URL, gitlab.url),
    CK_TOKEN("tokenFile", gitlab.token_file, gitlab.token),
    CK("rateLimit", CONFIG_COUNT, gitlab.rate_limit),
    { NULL, 0, 0, 0, NULL }
};
static const struct config_key config_webhook_keys[] = {
    CK("listen", CONFIG_STRING, webhook.listen),
    CK_TOKEN("githubSecretFile", webhook.github_secret_file, webhook.github_secret),
    CK_TOKEN("gitlabTokenFile", webhook.gitlab_token_file, webhook.gitlab_token),
    CK_TOKEN("jenkinsTokenFile", webhook.jenkins_token_file, webhook.jenkins_token),
    CK_TOKEN("argocdTokenFile", webhook.argocd_token_file, webhook.argocd_token),
    CK("pollStretch", CONFIG_DURATION, webhook.poll_stretch_ms),
    CK("rateLimit", CONFIG_COUNT, webhook.rate_limit),
    CK("clientRateLimit", CONFIG_COUNT, webhook.client_rate_limit),
    CK("requestTimeout", CONFIG_DURATION, webhook.request_timeout_ms),
    { NULL, 0, 0, 0, NULL }
};
static const struct config_key config_argocd_keys[] = {
    { "clusters", CONFIG_CLUSTERS, 0, 0, NULL },
    { NULL, 0, 0, 0, NULL }
};
static const struct config_key config_cluster_keys[] = {
    { "url", CONFIG_URL, offsetof(struct config_cluster, url), 0, NULL },
    { "tokenFile", CONFIG_TOKEN_FILE, offsetof(struct config_cluster, token_file),
      offsetof(struct config_cluster, token), NULL },
    { NULL, 0, 0, 0, NULL }
};
static const struct config_key config_root_keys[] = {
    CK("stateDir", CONFIG_PATH, state_dir),
    CK("runDir", CONFIG_PATH, run_dir),
    CK("policyDir", CONFIG_PATH, policy_dir),
    CK("resyncInterval", CONFIG_DURATION, resync_interval_ms),
    CK("pollInterval", CONFIG_DURATION, poll_interval_ms),
    CK("deployTimeout", CONFIG_DURATION, deploy_timeout_ms),
    CK("durableWrites", CONFIG_BOOL, durable),
    { "github", CONFIG_SECTION, 0, 0, config_github_keys },
    { "jenkins", CONFIG_SECTION, 0, 0, config_jenkins_keys },
    { "gitlab", CONFIG_SECTION, 0, 0, config_gitlab_keys },
    { "argocd", CONFIG_SECTION, 0, 0, config_argocd_keys },
    { "webhook", CONFIG_SECTION, 0, 0, config_webhook_keys },
    { NULL, 0, 0, 0, NULL }
};

/* The state of one config_load. */
struct config_ctx {
    struct config *c;
    struct yj_doc doc;
    const char *file;       /* as given, for messages */
    char *dir;              /* absolute directory of the file */
    char *err;
    size_t errlen, used;
    int nerr;
};

/* config_err - append "file:line:col: path: message" to the error list. The
 * position is that of node's key (the line a reader looks for), else of node. */
static void config_err(struct config_ctx *x, const cJSON *node, const char *path,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void config_err(struct config_ctx *x, const cJSON *node, const char *path,
                       const char *fmt, ...)
{
    struct yj_pos p = yj_pos_of(&x->doc, node);
    int line = p.key_line ? p.key_line : p.line;
    int col = p.key_line ? p.key_col : p.col;
    char msg[512];
    va_list ap;
    int n;

    x->nerr++;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!x->err || x->used + 1 >= x->errlen)
        return;
    n = snprintf(x->err + x->used, x->errlen - x->used, "%s%s:%d:%d: %s: %s",
                 x->nerr > 1 ? "\n" : "", x->file, line, col, path, msg);
    if (n > 0)
        x->used += (size_t)n < x->errlen - x->used ? (size_t)n : x->errlen - x->used - 1;
}

/* config_type - how a value is called in messages. */
static const char *config_type(const cJSON *v)
{
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsBool(v))
        return "a bool";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsArray(v))
        return "a sequence";
    return "a mapping";
}

/* config_distance - edit distance of a and b, capped at 9 (for "did you mean"). */
static int config_distance(const char *a, const char *b)
{
    int row[32], i, j, la = (int)strlen(a), lb = (int)strlen(b);

    if (la > 30 || lb > 30)
        return 9;
    for (j = 0; j <= lb; j++)
        row[j] = j;
    for (i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = i;
        for (j = 1; j <= lb; j++) {
            int up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb] > 9 ? 9 : row[lb];
}

/* config_suggest - the known key closest to name (ignoring case; a prefix of
 * three letters or more counts as close), or NULL when none is close. */
static const char *config_suggest(const struct config_key *keys, const char *name)
{
    const char *best = NULL;
    char a[32], b[32];
    int bd = 3, i, j;

    for (j = 0; name[j] && j < 31; j++)
        a[j] = (char)tolower((unsigned char)name[j]);
    a[j] = 0;
    for (i = 0; keys[i].name; i++) {
        int d;
        for (j = 0; keys[i].name[j] && j < 31; j++)
            b[j] = (char)tolower((unsigned char)keys[i].name[j]);
        b[j] = 0;
        d = config_distance(a, b);
        if (d > 2 && strlen(a) >= 3 && strncmp(a, b, strlen(a)) == 0)
            d = 2;
        if (d < bd) {
            bd = d;
            best = keys[i].name;
        }
    }
    return best;
}

/* config_secret_free - wipe and free a token. */
static void config_secret_free(char **tok)
{
    if (*tok) {
        explicit_bzero(*tok, strlen(*tok));
        free(*tok);
        *tok = NULL;
    }
}

/* config_token_clean - trim trailing whitespace of tok in place; NULL when
 * the rest is fine, else why not. */
static const char *config_token_clean(char *tok)
{
    size_t n = strlen(tok), i;

    while (n && (tok[n - 1] == ' ' || tok[n - 1] == '\t' || tok[n - 1] == '\n' || tok[n - 1] == '\r'))
        tok[--n] = 0;
    if (!n)
        return "the token is empty";
    for (i = 0; i < n; i++)
        if ((unsigned char)tok[i] < 0x20 || tok[i] == 0x7f)
            return "the token holds control characters (it must be a single line)";
    return NULL;
}

/* config_token_read - read the token in path into *tok; an error is reported
 * against node, under key path kpath. */
static void config_token_read(struct config_ctx *x, const cJSON *node, const char *kpath,
                              const char *path, char **tok)
{
    struct stat sb;
    const char *why;
    char *buf;
    size_t len;
    int r;

    r = read_file(path, CONFIG_TOKEN_MAX, &buf, &len);
    if (r < 0) {
        config_err(x, node, kpath, "cannot read %s: %s", path,
                   r == -EFBIG ? "larger than 64 KiB" : r == -EINVAL ? "not a regular file"
                                                                      : strerror(-r));
        return;
    }
    if (memchr(buf, 0, len))
        why = "the token holds a NUL byte";
    else
        why = config_token_clean(buf);
    if (why) {
        config_err(x, node, kpath, "%s: %s", path, why);
        explicit_bzero(buf, len);
        free(buf);
        return;
    }
    if (stat(path, &sb) == 0 && (sb.st_mode & (S_IRGRP | S_IROTH)))
        log_warn("config_token_mode", "file=%s mode=%04o key=%s msg=%s", log_q(path),
                 (unsigned)(sb.st_mode & 07777), kpath,
                 log_q("token file is readable by group or others; chmod 600 it"));
    log_secret(buf);
    config_secret_free(tok);
    *tok = buf;
}

/* config_env_token - *tok from the environment variable var, if set and sane. */
static void config_env_token(const char *var, char **tok)
{
    const char *v = getenv(var);
    const char *why;
    char *t;

    if (!v || !*v)
        return;
    t = xstrdup(v);
    why = config_token_clean(t);
    if (why) {
        log_warn("config_env_token", "var=%s msg=%s", var, log_q(why));
        config_secret_free(&t);
        return;
    }
    log_secret(t);
    config_secret_free(tok);
    *tok = t;
}

/* config_cluster_env - PROMO_ARGOCD_TOKEN_<NAME>: uppercased, '-' and '.' as '_'. */
static void config_cluster_env(struct config_cluster *cl)
{
    char var[300];
    size_t i, o = (size_t)snprintf(var, sizeof(var), "PROMO_ARGOCD_TOKEN_");

    for (i = 0; cl->name[i] && o + 1 < sizeof(var); i++) {
        char ch = cl->name[i];
        var[o++] = ch == '-' || ch == '.' ? '_' : (ch >= 'a' && ch <= 'z') ? (char)(ch - 32) : ch;
    }
    var[o] = 0;
    config_env_token(var, &cl->token);
}

/* config_abs - path made absolute against the config's directory (fresh string). */
static char *config_abs(struct config_ctx *x, const char *path)
{
    if (path[0] == '/' || !x->dir)
        return xstrdup(path);
    return xasprintf("%s/%s", x->dir, path);
}

static void config_walk(struct config_ctx *x, const cJSON *map, const char *prefix,
                        const struct config_key *keys, void *base);

/* config_clusters - argocd.clusters: each name a valid cluster name, each value a mapping. */
static void config_clusters(struct config_ctx *x, const cJSON *map, const char *kpath)
{
    struct config *c = x->c;
    const cJSON *it;

    if (cJSON_IsNull(map))
        return;
    if (!cJSON_IsObject(map)) {
        config_err(x, map, kpath, "expected a mapping of cluster names, got %s", config_type(map));
        return;
    }
    cJSON_ArrayForEach(it, map) {
        struct config_cluster *cl = NULL;
        char *cpath = xasprintf("%s.%s", kpath, it->string);
        int i;

        if (!name_valid(it->string)) {
            config_err(x, it, cpath, "invalid cluster name (1-253 of a-z 0-9 '-' '.', "
                       "starting and ending with a letter or digit)");
        } else if (!cJSON_IsObject(it)) {
            config_err(x, it, cpath, "expected a mapping with url and tokenFile, got %s",
                       config_type(it));
        } else {
            for (i = 0; i < c->nclusters; i++)
                if (strcmp(c->clusters[i].name, it->string) == 0)
                    cl = &c->clusters[i];
            if (!cl && c->nclusters >= CONFIG_MAX_CLUSTERS) {
                config_err(x, it, cpath, "too many clusters (at most %d)", CONFIG_MAX_CLUSTERS);
            } else {
                if (!cl) {
                    cl = &c->clusters[c->nclusters++];
                    memset(cl, 0, sizeof(*cl));
                    cl->name = xstrdup(it->string);
                }
                config_walk(x, it, cpath, config_cluster_keys, cl);
                if (!cl->url)
                    config_err(x, it, cpath, "url is required");
            }
        }
        free(cpath);
    }
}

/* config_value - check one known key's value and store it under base. */
static void config_value(struct config_ctx *x, const cJSON *v, const char *kpath,
                         const struct config_key *k, void *base)
{
    char **sp = (char **)((char *)base + k->off);
    char err[200];
    int64_t ms;

    switch (k->kind) {
    case CONFIG_SECTION:
        if (cJSON_IsNull(v))
            return;
        if (!cJSON_IsObject(v)) {
            config_err(x, v, kpath, "expected a mapping, got %s", config_type(v));
            return;
        }
        config_walk(x, v, kpath, k->sub, base);
        return;
    case CONFIG_CLUSTERS:
        config_clusters(x, v, kpath);
        return;
    case CONFIG_BOOL:
        if (!cJSON_IsBool(v)) {
            config_err(x, v, kpath, "expected true or false, got %s", config_type(v));
            return;
        }
        *(int *)((char *)base + k->off) = cJSON_IsTrue(v);
        return;
    case CONFIG_COUNT:
        if (!cJSON_IsNumber(v)) {
            config_err(x, v, kpath, "expected a whole number, got %s", config_type(v));
            return;
        }
        if (!(v->valuedouble >= 1 && v->valuedouble <= CONFIG_COUNT_MAX)) {   /* NaN too */
            config_err(x, v, kpath, "must be from 1 to %d", CONFIG_COUNT_MAX);
            return;
        }
        if (v->valuedouble != (double)(int)v->valuedouble) {
            config_err(x, v, kpath, "expected a whole number, got a fraction");
            return;
        }
        *(int *)((char *)base + k->off) = (int)v->valuedouble;
        return;
    case CONFIG_DURATION:
        if (!cJSON_IsString(v)) {
            config_err(x, v, kpath, "expected a duration such as \"30s\", got %s", config_type(v));
            return;
        }
        if (duration_parse(v->valuestring, &ms, err, sizeof(err)) < 0) {
            config_err(x, v, kpath, "%s", err);
            return;
        }
        if (ms <= 0) {
            config_err(x, v, kpath, "must be greater than 0");
            return;
        }
        *(int64_t *)((char *)base + k->off) = ms;
        return;
    default:
        break;
    }
    if (!cJSON_IsString(v)) {
        config_err(x, v, kpath, "expected a string, got %s", config_type(v));
        return;
    }
    if (!*v->valuestring) {
        config_err(x, v, kpath, "must not be empty");
        return;
    }
    if (k->kind == CONFIG_URL && strncmp(v->valuestring, "http://", 7) != 0
        && strncmp(v->valuestring, "https://", 8) != 0) {
        config_err(x, v, kpath, "\"%.100s\" is not a URL (it must start with http:// or https://)",
                   v->valuestring);
        return;
    }
    free(*sp);
    if (k->kind == CONFIG_PATH || k->kind == CONFIG_TOKEN_FILE)
        *sp = config_abs(x, v->valuestring);
    else
        *sp = xstrdup(v->valuestring);
    if (k->kind == CONFIG_TOKEN_FILE)
        config_token_read(x, v, kpath, *sp, (char **)((char *)base + k->token_off));
}

/* config_walk - check every key of map against keys, storing values under base. */
static void config_walk(struct config_ctx *x, const cJSON *map, const char *prefix,
                        const struct config_key *keys, void *base)
{
    const cJSON *it;

    cJSON_ArrayForEach(it, map) {
        char *kpath = *prefix ? xasprintf("%s.%s", prefix, it->string) : xstrdup(it->string);
        int i;

        for (i = 0; keys[i].name; i++)
            if (strcmp(keys[i].name, it->string) == 0)
                break;
        if (keys[i].name) {
            config_value(x, it, kpath, &keys[i], base);
        } else {
            const char *near = config_suggest(keys, it->string);
            if (near)
                config_err(x, it, kpath, "unknown key (did you mean \"%s\"?)", near);
            else
                config_err(x, it, kpath, "unknown key");
        }
        free(kpath);
    }
}

/* config_fill - give every unset field its built-in default. */
static void config_fill(struct config *c)
{
    if (!c->state_dir)
        c->state_dir = xstrdup(CONFIG_DEFAULT_STATE_DIR);
    if (!c->run_dir)
        c->run_dir = xstrdup(CONFIG_DEFAULT_RUN_DIR);
    if (!c->policy_dir)
        c->policy_dir = xstrdup(CONFIG_DEFAULT_POLICY_DIR);
    if (!c->github.api_url)
        c->github.api_url = xstrdup(CONFIG_DEFAULT_GITHUB_API);
    if (c->resync_interval_ms <= 0)
        c->resync_interval_ms = CONFIG_DEFAULT_RESYNC_MS;
    if (c->poll_interval_ms <= 0)
        c->poll_interval_ms = CONFIG_DEFAULT_POLL_MS;
    if (c->deploy_timeout_ms <= 0)
        c->deploy_timeout_ms = CONFIG_DEFAULT_DEPLOY_MS;
}

/* config_env_tokens - tokens from the environment where no tokenFile is set. */
static void config_env_tokens(struct config *c)
{
    int i;

    if (!c->github.token_file && !c->github.token)
        config_env_token("PROMO_GITHUB_TOKEN", &c->github.token);
    if (!c->jenkins.token_file && !c->jenkins.token)
        config_env_token("PROMO_JENKINS_TOKEN", &c->jenkins.token);
    if (!c->gitlab.token_file && !c->gitlab.token)
        config_env_token("PROMO_GITLAB_TOKEN", &c->gitlab.token);
    for (i = 0; i < c->nclusters; i++)
        if (!c->clusters[i].token_file && !c->clusters[i].token)
            config_cluster_env(&c->clusters[i]);
}

/* config_defaults - see config.h; tokens already come from PROMO_*_TOKEN here. */
void config_defaults(struct config *c)
{
    memset(c, 0, sizeof(*c));
    c->durable = 1;
    config_fill(c);
    config_env_tokens(c);
}

/* config_load - see config.h. c holds config_defaults() (or an earlier
 * load), or is all zeroes, in which case the defaults are filled in first;
 * values in the file replace its fields. On error c stays safe to
 * config_free but may be partly updated: do not use it. */
int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
    struct yj_limits lim = YJ_LIMITS_DEFAULT;
    struct config_ctx x;
    const cJSON *root;
    char *copy, *slash, real[PATH_MAX];

    if (!c->state_dir)          /* a zeroed struct: config_defaults always sets state_dir */
        config_defaults(c);
    memset(&x, 0, sizeof(x));
    x.c = c;
    x.file = path;
    x.err = err;
    x.errlen = errlen;
    if (err && errlen)
        err[0] = 0;
    lim.max_bytes = CONFIG_MAX_BYTES;
    if (yj_parse_file(path, &lim, &x.doc, err, errlen) < 0)
        return -1;
    if (cJSON_GetArraySize(x.doc.docs) != 1) {
        snprintf(err, errlen, "%s: expected exactly one YAML document, found %d", path,
                 cJSON_GetArraySize(x.doc.docs));
        yj_free(&x.doc);
        return -1;
    }
    root = cJSON_GetArrayItem(x.doc.docs, 0);
    if (!cJSON_IsObject(root)) {
        struct yj_pos p = yj_pos_of(&x.doc, root);
        snprintf(err, errlen, "%s:%d:%d: the config must be a mapping of keys, not %s",
                 path, p.line, p.col, config_type(root));
        yj_free(&x.doc);
        return -1;
    }
    copy = xstrdup(path);
    slash = strrchr(copy, '/');
    if (slash)
        *(slash == copy ? slash + 1 : slash) = 0;
    if (realpath(slash ? copy : ".", real))
        x.dir = xstrdup(real);
    else if (slash)
        x.dir = xstrdup(copy);
    free(copy);

    free(c->path);
    c->path = xstrdup(path);
    config_walk(&x, root, "", config_root_keys, c);
    config_fill(c);
    config_env_tokens(c);
    free(x.dir);
    yj_free(&x.doc);
    return x.nerr ? -1 : 0;
}

/* config_find - see config.h. */
const char *config_find(const char *explicit_path)
{
    const char *env = getenv("PROMO_CONFIG");

    if (explicit_path && *explicit_path)
        return explicit_path;
    if (env && *env)
        return env;
    if (access("promo.yaml", F_OK) == 0)
        return "./promo.yaml";
    return NULL;
}

/* config_cluster - see config.h. */
const struct config_cluster *config_cluster(const struct config *c, const char *name)
{
    int i;

    if (!name || !*name)
        name = "default";
    for (i = 0; i < c->nclusters; i++)
        if (strcmp(c->clusters[i].name, name) == 0)
            return &c->clusters[i];
    return NULL;
}

/* config_free - free every string, wiping tokens first; c is zeroed. */
void config_free(struct config *c)
{
    int i;

    free(c->path);
    free(c->state_dir);
    free(c->run_dir);
    free(c->policy_dir);
    free(c->github.api_url);
    free(c->github.token_file);
    config_secret_free(&c->github.token);
    free(c->jenkins.url);
    free(c->jenkins.user);
    free(c->jenkins.token_file);
    config_secret_free(&c->jenkins.token);
    free(c->gitlab.url);
    free(c->gitlab.token_file);
    config_secret_free(&c->gitlab.token);
    free(c->webhook.listen);
    free(c->webhook.github_secret_file);
    config_secret_free(&c->webhook.github_secret);
    free(c->webhook.gitlab_token_file);
    config_secret_free(&c->webhook.gitlab_token);
    free(c->webhook.jenkins_token_file);
    config_secret_free(&c->webhook.jenkins_token);
    free(c->webhook.argocd_token_file);
    config_secret_free(&c->webhook.argocd_token);
    for (i = 0; i < c->nclusters && i < CONFIG_MAX_CLUSTERS; i++) {
        free(c->clusters[i].name);
        free(c->clusters[i].url);
        free(c->clusters[i].token_file);
        config_secret_free(&c->clusters[i].token);
    }
    memset(c, 0, sizeof(*c));
}
