/* sim_scenario.c - the scenario file, the credentials promo-sim accepts, and
 * how each run's outcome is decided (name convention, scenario, parameter).
 *
 * Precedence, lowest first: defaults (queue 50 ms, run 100 ms, pass); the
 * conventions on the job name ("fail", "timeout", "slow", "unstable",
 * "flaky", "ratelimit"); the scenario's top level, then its system level,
 * then its per-job entry; last a PROMO_SIM_OUTCOME parameter of the run. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>

#include "util/duration.h"
#include "util/util.h"
#include "util/yamljson.h"
#include "sim/sim.h"

/* sim_scenario_load - parse path (YAML or JSON) as the scenario. */
int sim_scenario_load(struct sim *s, const char *path, char *err, size_t errlen)
{
    struct yj_limits lim = YJ_LIMITS_DEFAULT;
    struct yj_doc d;
    cJSON *doc;

    memset(&d, 0, sizeof d);
    if (yj_parse_file(path, &lim, &d, err, errlen) != 0)
        return -1;
    doc = cJSON_GetArrayItem(d.docs, 0);
    if (doc && cJSON_IsNull(doc))
        doc = NULL;
    if (doc && !cJSON_IsObject(doc)) {
        snprintf(err, errlen, "%s: the scenario must be a mapping", path);
        yj_free(&d);
        return -1;
    }
    cJSON_Delete(s->scenario);
    s->scenario = doc ? cJSON_Duplicate(doc, 1) : cJSON_CreateObject();
    yj_free(&d);
    return 0;
}

/* sim_auth_str - a string at obj.sys.key, copied, or NULL. */
static char *sim_auth_str(const cJSON *obj, const char *sys, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, sys), key);

    if (cJSON_IsNumber(v))
        return xasprintf("%.0f", v->valuedouble);
    return cJSON_IsString(v) && *v->valuestring ? xstrdup(v->valuestring) : NULL;
}

/* sim_auth_set - replace *dst by val when val is not NULL. */
static void sim_auth_set(char **dst, char *val)
{
    if (!val)
        return;
    free(*dst);
    *dst = val;
}

/* sim_auth_load - read the credentials file (YAML: jenkins {user, token,
 * password}, github {token}, gitlab {token}, argocd {token}). */
int sim_auth_load(struct sim *s, const char *path, char *err, size_t errlen)
{
    struct yj_limits lim = YJ_LIMITS_DEFAULT;
    struct yj_doc d;
    const cJSON *doc;

    memset(&d, 0, sizeof d);
    lim.max_bytes = 64 * 1024;
    if (yj_parse_file(path, &lim, &d, err, errlen) != 0)
        return -1;
    doc = cJSON_GetArrayItem(d.docs, 0);
    if (!cJSON_IsObject(doc)) {
        snprintf(err, errlen, "%s: the auth file must be a mapping", path);
        yj_free(&d);
        return -1;
    }
    sim_auth_set(&s->jenkins_user, sim_auth_str(doc, "jenkins", "user"));
    sim_auth_set(&s->jenkins_token, sim_auth_str(doc, "jenkins", "token"));
    sim_auth_set(&s->jenkins_password, sim_auth_str(doc, "jenkins", "password"));
    sim_auth_set(&s->github_token, sim_auth_str(doc, "github", "token"));
    sim_auth_set(&s->gitlab_token, sim_auth_str(doc, "gitlab", "token"));
    sim_auth_set(&s->argocd_token, sim_auth_str(doc, "argocd", "token"));
    yj_free(&d);
    return 0;
}

/* sim_auth_env_one - *dst from the environment variable name, if set and non-empty. */
static void sim_auth_env_one(char **dst, const char *name)
{
    const char *v = getenv(name);

    if (v && *v)
        sim_auth_set(dst, xstrdup(v));
}

/* sim_auth_env - credentials from PROMO_SIM_* (called before sim_auth_load,
 * so that the file, named on the command line, wins). */
void sim_auth_env(struct sim *s)
{
    sim_auth_env_one(&s->jenkins_user, "PROMO_SIM_JENKINS_USER");
    sim_auth_env_one(&s->jenkins_token, "PROMO_SIM_JENKINS_TOKEN");
    sim_auth_env_one(&s->jenkins_password, "PROMO_SIM_JENKINS_PASSWORD");
    sim_auth_env_one(&s->github_token, "PROMO_SIM_GITHUB_TOKEN");
    sim_auth_env_one(&s->gitlab_token, "PROMO_SIM_GITLAB_TOKEN");
    sim_auth_env_one(&s->argocd_token, "PROMO_SIM_ARGOCD_TOKEN");
}

/* sim_secret_eq - compare two secrets in time independent of where they differ. */
int sim_secret_eq(const char *a, const char *b)
{
    size_t la, lb;

    if (!a || !b)
        return 0;
    la = strlen(a);
    lb = strlen(b);
    if (la != lb)
        return 0;
    return CRYPTO_memcmp(a, b, la) == 0;
}

/* sim_scenario_get - scenario[sys][key] (sys NULL: the top level), or NULL. */
const cJSON *sim_scenario_get(const struct sim *s, const char *sys, const char *key)
{
    const cJSON *o = s->scenario;

    if (sys)
        o = cJSON_GetObjectItemCaseSensitive(o, sys);
    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

/* sim_scenario_ms - a duration given as a number of ms or a string ("200ms",
 * "2s"); dflt when absent or invalid. */
int64_t sim_scenario_ms(const cJSON *v, int64_t dflt)
{
    int64_t ms;
    char err[128];

    if (cJSON_IsNumber(v) && v->valuedouble >= 0)
        return (int64_t)v->valuedouble;
    if (cJSON_IsString(v) && duration_parse(v->valuestring, &ms, err, sizeof err) == 0)
        return ms;
    return dflt;
}

/* sim_scenario_apply - apply the keys of one scenario level to p. */
static void sim_scenario_apply(const cJSON *o, struct sim_plan *p)
{
    const cJSON *v;

    if (!cJSON_IsObject(o))
        return;
    v = cJSON_GetObjectItemCaseSensitive(o, "outcome");
    if (cJSON_IsString(v)) {
        if (strcasecmp(v->valuestring, "slow") == 0) {
            p->outcome = SIM_PASS;
            p->run_ms = 2000;
        } else {
            sim_outcome_parse(v->valuestring, &p->outcome);
        }
    }
    p->queue_ms = sim_scenario_ms(cJSON_GetObjectItemCaseSensitive(o, "queueMs"), p->queue_ms);
    p->run_ms = sim_scenario_ms(cJSON_GetObjectItemCaseSensitive(o, "runMs"), p->run_ms);
    v = cJSON_GetObjectItemCaseSensitive(o, "flaky");
    if (cJSON_IsNumber(v))
        p->flaky = v->valueint;
    else if (cJSON_IsBool(v))
        p->flaky = cJSON_IsTrue(v) ? 2 : 0;
    v = cJSON_GetObjectItemCaseSensitive(o, "ratelimit");
    if (cJSON_IsNumber(v))
        p->ratelimit = v->valueint;
    else if (cJSON_IsBool(v))
        p->ratelimit = cJSON_IsTrue(v) ? 1 : 0;
    v = cJSON_GetObjectItemCaseSensitive(o, "status");
    if (cJSON_IsString(v))
        str_copy(p->status, v->valuestring, sizeof p->status);
    v = cJSON_GetObjectItemCaseSensitive(o, "parameterized");
    if (cJSON_IsBool(v))
        p->parameterized = cJSON_IsTrue(v);
}

/* sim_scenario_jobs - the per-job table of a system: jobs, workflows or projects. */
static const cJSON *sim_scenario_jobs(const struct sim *s, const char *sys)
{
    static const char *const keys[] = { "jobs", "workflows", "projects" };
    size_t i;

    for (i = 0; i < ARRAY_LEN(keys); i++) {
        const cJSON *t = sim_scenario_get(s, sys, keys[i]);
        if (cJSON_IsObject(t))
            return t;
    }
    return NULL;
}

/* sim_scenario_restricts - 1 if the scenario says only its listed jobs exist. */
static int sim_scenario_restricts(const struct sim *s, const char *sys)
{
    static const char *const keys[] = { "restrict", "restrictJobs", "restrictWorkflows",
                                        "restrictProjects" };
    size_t i;

    for (i = 0; i < ARRAY_LEN(keys); i++)
        if (cJSON_IsTrue(sim_scenario_get(s, sys, keys[i])))
            return 1;
    return 0;
}

/* sim_scenario_plan - decide how a run of job behaves (see the file comment).
 * params (may be NULL) is the run's parameters, inputs or variables. */
void sim_scenario_plan(struct sim *s, enum sim_system sys, const char *job,
                       const cJSON *params, struct sim_plan *p)
{
    const char *sysname = sim_system_name(sys);
    const cJSON *jobs = sim_scenario_jobs(s, sysname), *entry = NULL, *v;
    char lower[256];
    size_t i;

    memset(p, 0, sizeof *p);
    p->outcome = SIM_PASS;
    p->queue_ms = 50;
    p->run_ms = 100;
    p->parameterized = 1;
    p->exists = 1;
    for (i = 0; job[i] && i + 1 < sizeof lower; i++)
        lower[i] = (char)tolower((unsigned char)job[i]);
    lower[i] = 0;
    if (strstr(lower, "fail"))
        p->outcome = SIM_FAIL;
    if (strstr(lower, "unstable"))
        p->outcome = SIM_UNSTABLE;
    if (strstr(lower, "timeout"))
        p->outcome = SIM_TIMEOUT;
    if (strstr(lower, "slow"))
        p->run_ms = 2000;
    if (strstr(lower, "flaky"))
        p->flaky = 2;
    if (strstr(lower, "ratelimit"))
        p->ratelimit = 1;
    p->queue_ms = sim_scenario_ms(sim_scenario_get(s, NULL, "queueMs"), p->queue_ms);
    p->run_ms = strstr(lower, "slow") ? p->run_ms
                                      : sim_scenario_ms(sim_scenario_get(s, NULL, "runMs"), p->run_ms);
    sim_scenario_apply(cJSON_GetObjectItemCaseSensitive(s->scenario, sysname), p);
    p->status[0] = 0;  /* a system-wide status makes no sense; only per job */
    if (jobs)
        entry = cJSON_GetObjectItemCaseSensitive(jobs, job);
    if (entry)
        sim_scenario_apply(entry, p);
    else if (sim_scenario_restricts(s, sysname))
        p->exists = 0;
    v = cJSON_GetObjectItemCaseSensitive(params, "PROMO_SIM_OUTCOME");
    if (!v)
        v = cJSON_GetObjectItemCaseSensitive(params, "promo_sim_outcome");
    if (cJSON_IsString(v)) {
        if (strcasecmp(v->valuestring, "slow") == 0) {
            p->outcome = SIM_PASS;
            p->run_ms = 2000;
        } else if (sim_outcome_parse(v->valuestring, &p->outcome) == 0) {
            p->status[0] = 0;
        }
    }
}

/* sim_flaky_hit - 1 if this request for job must answer 503: the first
 * `flaky` requests naming a job do. */
int sim_flaky_hit(struct sim *s, enum sim_system sys, const char *job, int flaky)
{
    char key[400];

    if (flaky <= 0)
        return 0;
    snprintf(key, sizeof key, "flaky:%s:%s", sim_system_name(sys), job);
    if (sim_counter_get(s, key) >= flaky)
        return 0;
    sim_counter_next(s, key);
    return 1;
}

/* sim_ratelimit_hit - 1 if this trigger of job must answer 429: the first
 * `ratelimit` triggers do. */
int sim_ratelimit_hit(struct sim *s, enum sim_system sys, const char *job, int ratelimit)
{
    char key[400];

    if (ratelimit <= 0)
        return 0;
    snprintf(key, sizeof key, "ratelimit:%s:%s", sim_system_name(sys), job);
    if (sim_counter_get(s, key) >= ratelimit)
        return 0;
    sim_counter_next(s, key);
    return 1;
}
