/* sim_state.c - promo-sim's state: runs and their lazy progress, counters,
 * the /_sim/state snapshot and /_sim/complete.
 *
 * A run's phase is a pure function of its plan, its creation time and the
 * wall clock (queued until created+queue_ms, running until +run_ms, then
 * done), unless it was finished by hand (cancel, stop, /_sim/complete). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>

#include "util/util.h"
#include "sim/sim.h"

/* sim_state_init - empty state; configuration fields are left as they are. */
void sim_state_init(struct sim *s)
{
    s->log = cJSON_CreateArray();
    s->seq = 0;
    s->runs = s->runs_tail = NULL;
    s->next_queue_id = 1;
    s->next_gh_run_id = 1000000001;
    s->next_pipeline_id = 5001;
    s->next_comment_id = 9000001;
    s->next_status_id = 7000001;
    s->next_label_id = 600001;
    s->next_project_id = 1001;
    s->counters = strmap_new();
    s->crumbs = strmap_new();
    s->gh_labels = cJSON_CreateObject();
    s->gh_statuses = cJSON_CreateObject();
    s->gh_comments = cJSON_CreateArray();
    s->gl_projects = cJSON_CreateArray();
    s->gh_used = 0;
    s->gh_reset = 0;
    s->apps = NULL;
    sim_argocd_load(s);
}

/* sim_state_free - release the state (not the configuration). */
void sim_state_free(struct sim *s)
{
    struct sim_run *r, *rn;
    struct sim_app *a, *an;

    for (r = s->runs; r; r = rn) {
        rn = r->next;
        free(r->job);
        free(r->repo);
        free(r->ref);
        free(r->sha);
        free(r->title);
        cJSON_Delete(r->params);
        cJSON_Delete(r->vartypes);
        free(r);
    }
    for (a = s->apps; a; a = an) {
        an = a->next;
        cJSON_Delete(a->app);
        free(a);
    }
    s->runs = s->runs_tail = NULL;
    s->apps = NULL;
    strmap_free(s->counters, free);
    strmap_free(s->crumbs, free);
    cJSON_Delete(s->log);
    cJSON_Delete(s->gh_labels);
    cJSON_Delete(s->gh_statuses);
    cJSON_Delete(s->gh_comments);
    cJSON_Delete(s->gl_projects);
}

/* sim_state_reset - forget every run, request, label, status, comment and
 * application change; reload the scenario's applications. */
void sim_state_reset(struct sim *s)
{
    sim_state_free(s);
    sim_state_init(s);
}

/* sim_counter_next - increment the counter named key (starting at 0) and return it. */
long sim_counter_next(struct sim *s, const char *key)
{
    long *v = strmap_get(s->counters, key);

    if (!v) {
        v = xcalloc(1, sizeof *v);
        strmap_put(s->counters, key, v);
    }
    return ++*v;
}

/* sim_counter_set - set the counter named key to v. */
void sim_counter_set(struct sim *s, const char *key, long v)
{
    long *p = strmap_get(s->counters, key);

    if (!p) {
        p = xcalloc(1, sizeof *p);
        strmap_put(s->counters, key, p);
    }
    *p = v;
}

/* sim_counter_get - the value of a counter, 0 when never incremented. */
long sim_counter_get(struct sim *s, const char *key)
{
    long *v = strmap_get(s->counters, key);
    return v ? *v : 0;
}

/* sim_run_new - a run for job created now, appended to the list; the caller fills the rest. */
struct sim_run *sim_run_new(struct sim *s, enum sim_system sys, const char *job)
{
    struct sim_run *r = xcalloc(1, sizeof *r);

    r->sys = sys;
    r->job = xstrdup(job);
    r->params = cJSON_CreateObject();
    r->created = wall_ms();
    if (s->runs_tail)
        s->runs_tail->next = r;
    else
        s->runs = r;
    s->runs_tail = r;
    return r;
}

/* sim_run_find - the run of sys with id, or NULL. */
struct sim_run *sim_run_find(struct sim *s, enum sim_system sys, long id)
{
    struct sim_run *r;

    for (r = s->runs; r; r = r->next)
        if (r->sys == sys && r->id == id)
            return r;
    return NULL;
}

/* sim_run_start - when the run leaves (or left) the queue, wall ms. */
int64_t sim_run_start(const struct sim_run *r)
{
    return r->created + r->plan.queue_ms;
}

/* sim_run_end - when the run finishes, wall ms; INT64_MAX for never. */
int64_t sim_run_end(const struct sim_run *r)
{
    if (r->ended)
        return r->ended;
    if (r->plan.outcome == SIM_TIMEOUT)
        return INT64_MAX;
    return r->created + r->plan.queue_ms + r->plan.run_ms;
}

/* sim_run_phase - queued, running or done at time now. */
enum sim_phase sim_run_phase(const struct sim_run *r, int64_t now)
{
    if (r->cancelled_in_queue)
        return SIM_DONE;
    if (now >= sim_run_end(r))
        return SIM_DONE;
    if (now < sim_run_start(r))
        return SIM_QUEUED;
    return SIM_RUNNING;
}

/* sim_run_finish - finish r now with outcome o (and exact status, may be NULL).
 * A run still queued never starts. Finishing a finished run changes nothing. */
void sim_run_finish(struct sim_run *r, int64_t now, enum sim_outcome o, const char *status)
{
    if (sim_run_phase(r, now) == SIM_DONE)
        return;
    if (now < sim_run_start(r))
        r->cancelled_in_queue = 1;
    r->ended = now;
    r->plan.outcome = o;
    str_copy(r->plan.status, status ? status : "", sizeof r->plan.status);
}

/* sim_outcome_parse - "pass", "fail", ... into *o; -1 when unknown. */
int sim_outcome_parse(const char *s, enum sim_outcome *o)
{
    static const struct { const char *name; enum sim_outcome o; } t[] = {
        { "pass", SIM_PASS }, { "success", SIM_PASS }, { "fail", SIM_FAIL },
        { "failure", SIM_FAIL }, { "timeout", SIM_TIMEOUT }, { "cancel", SIM_CANCEL },
        { "unstable", SIM_UNSTABLE },
    };
    size_t i;

    if (!s)
        return -1;
    for (i = 0; i < ARRAY_LEN(t); i++)
        if (strcasecmp(s, t[i].name) == 0) {
            *o = t[i].o;
            return 0;
        }
    return -1;
}

/* sim_outcome_name - the scenario name of an outcome. */
const char *sim_outcome_name(enum sim_outcome o)
{
    switch (o) {
    case SIM_PASS: return "pass";
    case SIM_FAIL: return "fail";
    case SIM_TIMEOUT: return "timeout";
    case SIM_CANCEL: return "cancel";
    default: return "unstable";
    }
}

/* sim_time_gh - "2026-11-28T04:30:00Z" (seconds, as GitHub writes times). */
char *sim_time_gh(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

/* sim_time_iso - "2026-11-28T04:30:00.123Z" (milliseconds, as GitLab writes times). */
char *sim_time_iso(int64_t ms, char *buf, size_t len)
{
    return time_format_iso(ms, buf, len);
}

/* sim_fake_sha - a deterministic 40-hex commit SHA derived from seed. */
void sim_fake_sha(const char *seed, char out[41])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;

    EVP_Digest(seed, strlen(seed), md, &n, EVP_sha1(), NULL);
    for (i = 0; i < 20 && i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[40] = 0;
}

/* sim_state_json - every run, application, label, status and comment. */
cJSON *sim_state_json(struct sim *s, int64_t now)
{
    cJSON *o = cJSON_CreateObject(), *gh, *gl, *arr, *c;
    char base[160];
    struct sim_run *r;
    struct sim_app *a;

    snprintf(base, sizeof base, "http://%s:%d", s->listen_host, s->port);
    cJSON_AddItemToObject(o, "jenkins", sim_jenkins_state(s, base, now));
    gh = cJSON_AddObjectToObject(o, "github");
    arr = cJSON_AddArrayToObject(gh, "runs");
    for (r = s->runs; r; r = r->next)
        if (r->sys == SIM_SYS_GITHUB) {
            cJSON *j = sim_github_run_json(s, r, base, now);
            cJSON_AddItemToObject(j, "inputs", cJSON_Duplicate(r->params, 1));
            cJSON_AddStringToObject(j, "workflow", r->job);
            cJSON_AddItemToArray(arr, j);
        }
    cJSON_AddItemToObject(gh, "labels", cJSON_Duplicate(s->gh_labels, 1));
    cJSON_AddItemToObject(gh, "statuses", cJSON_Duplicate(s->gh_statuses, 1));
    arr = cJSON_AddArrayToObject(gh, "comments");
    cJSON_ArrayForEach(c, s->gh_comments)
        cJSON_AddItemToArray(arr, cJSON_Duplicate(c, 1));
    cJSON_AddNumberToObject(gh, "rateLimitUsed", (double)s->gh_used);
    gl = cJSON_AddObjectToObject(o, "gitlab");
    arr = cJSON_AddArrayToObject(gl, "pipelines");
    for (r = s->runs; r; r = r->next)
        if (r->sys == SIM_SYS_GITLAB) {
            cJSON *j = sim_gitlab_pipeline_json(s, r, base, now);
            cJSON_AddItemToObject(j, "variables", cJSON_Duplicate(r->params, 1));
            cJSON_AddStringToObject(j, "project", r->job);
            cJSON_AddItemToArray(arr, j);
        }
    cJSON_AddItemToObject(gl, "projects", cJSON_Duplicate(s->gl_projects, 1));
    sim_argocd_advance(s, now);
    arr = cJSON_AddArrayToObject(cJSON_AddObjectToObject(o, "argocd"), "applications");
    for (a = s->apps; a; a = a->next)
        cJSON_AddItemToArray(arr, cJSON_Duplicate(a->app, 1));
    return o;
}

/* sim_complete - /_sim/complete: finish run id of system sys with result now.
 * result is pass|fail|cancel|unstable|timeout or an exact status of that
 * system. Returns an HTTP status (200, 400, 404) with err set when not 200. */
int sim_complete(struct sim *s, const char *sys, const char *id, const char *result,
                 int64_t now, char *err, size_t errlen)
{
    enum sim_system which;
    enum sim_outcome o = SIM_PASS;
    const char *exact = NULL;
    struct sim_run *r;
    char *end;
    long n;

    if (!sys || !id || !result || !*id || !*result) {
        snprintf(err, errlen, "system, id and result are required");
        return 400;
    }
    if (strcmp(sys, "argocd") == 0) {
        if (sim_argocd_complete(s, id, result, now) != 0) {
            snprintf(err, errlen, "no application %s, or result is not healthy|degraded|failed", id);
            return 404;
        }
        return 200;
    }
    if (strcmp(sys, "jenkins") == 0)
        which = SIM_SYS_JENKINS;
    else if (strcmp(sys, "github") == 0)
        which = SIM_SYS_GITHUB;
    else if (strcmp(sys, "gitlab") == 0)
        which = SIM_SYS_GITLAB;
    else {
        snprintf(err, errlen, "unknown system %s", sys);
        return 400;
    }
    n = strtol(id, &end, 10);
    if (*end || !(r = sim_run_find(s, which, n))) {
        snprintf(err, errlen, "no %s run with id %s", sys, id);
        return 404;
    }
    if (sim_outcome_parse(result, &o) != 0) {
        exact = result;  /* an exact status: SUCCESS, timed_out, skipped... */
        o = SIM_FAIL;
    }
    if (o == SIM_TIMEOUT) {
        snprintf(err, errlen, "timeout is not a way to complete a run");
        return 400;
    }
    if (sim_run_phase(r, now) == SIM_DONE) {
        snprintf(err, errlen, "%s run %s is already finished", sys, id);
        return 409;
    }
    if (now < sim_run_start(r)) {
        r->plan.queue_ms = now - r->created;  /* it starts now and finishes at once */
    }
    r->ended = now;
    r->plan.outcome = o;
    str_copy(r->plan.status, exact ? exact : "", sizeof r->plan.status);
    return 200;
}
