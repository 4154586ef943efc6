/* sim_jenkins.c - promo-sim's Jenkins: buildWithParameters, the queue, builds,
 * jobs with ?tree=, stop and cancel, basic auth with API tokens or passwords,
 * and the CSRF crumb issuer when the scenario turns it on.
 *
 * Under /jenkins, which plays the Jenkins root URL. A build number is given
 * when its queue item leaves the queue (lazily, at the next request), as
 * Jenkins does: a cancelled queue item never gets one. Errors are HTML pages,
 * as Jenkins's are. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "util/util.h"
#include "sim/sim.h"

/* sim_jenkins_error - an HTML error page like Jenkins's. */
void sim_jenkins_error(struct sim_resp *rp, int status, const char *msg)
{
    char *esc = xmalloc(strlen(msg) * 6 + 1), *o = esc, *page;
    const char *p;

    for (p = msg; *p; p++) {
        if (*p == '<') { memcpy(o, "&lt;", 4); o += 4; }
        else if (*p == '>') { memcpy(o, "&gt;", 4); o += 4; }
        else if (*p == '&') { memcpy(o, "&amp;", 5); o += 5; }
        else if (*p == '"') { memcpy(o, "&quot;", 6); o += 6; }
        else *o++ = *p;
    }
    *o = 0;
    page = xasprintf("<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html;charset=utf-8\"/>\n"
                     "<title>Error %d %s</title>\n</head>\n<body><h2>HTTP ERROR %d %s</h2>\n"
                     "<p>promo-sim (Jenkins)</p>\n</body>\n</html>\n", status, esc, status, esc);
    sim_resp_text(rp, status, "text/html;charset=utf-8", page);
    sim_resp_header(rp, "X-Jenkins", "2.462.3");
    free(page);
    free(esc);
}

/* sim_jenkins_job_url - "<base>/jenkins/job/a/job/b/" for the full name "a/b". */
static char *sim_jenkins_job_url(const char *base, const char *job)
{
    char *copy = xstrdup(job), *save = NULL, *part, *url = xasprintf("%s/jenkins/", base);

    for (part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        char *enc = sim_url_encode(part), *n = xasprintf("%sjob/%s/", url, enc);
        free(enc);
        free(url);
        url = n;
    }
    free(copy);
    return url;
}

/* sim_jenkins_advance - give build numbers to queue items that have left the queue. */
void sim_jenkins_advance(struct sim *s, int64_t now)
{
    struct sim_run *r;
    char key[400];

    for (r = s->runs; r; r = r->next) {
        if (r->sys != SIM_SYS_JENKINS || r->number || r->cancelled_in_queue)
            continue;
        if (now >= sim_run_start(r)) {
            snprintf(key, sizeof key, "jenkins-build:%s", r->job);
            r->number = sim_counter_next(s, key);
        }
    }
}

/* sim_jenkins_result - the result of a finished build. */
const char *sim_jenkins_result(const struct sim_run *r)
{
    if (r->plan.status[0])
        return r->plan.status;
    switch (r->plan.outcome) {
    case SIM_PASS: return "SUCCESS";
    case SIM_UNSTABLE: return "UNSTABLE";
    case SIM_CANCEL: return "ABORTED";
    default: return "FAILURE";
    }
}

/* sim_jenkins_actions - the actions array: a cause, then the parameters (in
 * this order, so a client that assumes actions[0] holds them is caught). */
static cJSON *sim_jenkins_actions(const struct sim *s, const struct sim_run *r)
{
    cJSON *a = cJSON_CreateArray(), *cause = cJSON_CreateObject(), *causes, *c;
    const cJSON *p;
    const char *user = s->jenkins_user ? s->jenkins_user : "promo";

    cJSON_AddStringToObject(cause, "_class", "hudson.model.CauseAction");
    causes = cJSON_AddArrayToObject(cause, "causes");
    c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "_class", "hudson.model.Cause$UserIdCause");
    cJSON_AddStringToObject(c, "shortDescription", "Started by remote API");
    cJSON_AddStringToObject(c, "userId", user);
    cJSON_AddStringToObject(c, "userName", user);
    cJSON_AddItemToArray(causes, c);
    cJSON_AddItemToArray(a, cause);
    if (cJSON_GetArraySize(r->params) > 0) {
        cJSON *pa = cJSON_CreateObject(), *list;
        cJSON_AddStringToObject(pa, "_class", "hudson.model.ParametersAction");
        list = cJSON_AddArrayToObject(pa, "parameters");
        cJSON_ArrayForEach(p, r->params) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "_class", "hudson.model.StringParameterValue");
            cJSON_AddStringToObject(e, "name", p->string);
            cJSON_AddStringToObject(e, "value", p->valuestring);
            cJSON_AddItemToArray(list, e);
        }
        cJSON_AddItemToArray(a, pa);
    }
    return a;
}

/* sim_jenkins_build_json - GET /job/X/N/api/json. */
static cJSON *sim_jenkins_build_json(const struct sim *s, const struct sim_run *r,
                                     const char *base, int64_t now)
{
    cJSON *b = cJSON_CreateObject();
    char *jurl = sim_jenkins_job_url(base, r->job), *disp;
    int done = sim_run_phase(r, now) == SIM_DONE;
    int64_t start = sim_run_start(r);

    cJSON_AddStringToObject(b, "_class", "hudson.model.FreeStyleBuild");
    cJSON_AddItemToObject(b, "actions", sim_jenkins_actions(s, r));
    cJSON_AddBoolToObject(b, "building", !done);
    cJSON_AddNullToObject(b, "description");
    disp = xasprintf("#%ld", r->number);
    cJSON_AddStringToObject(b, "displayName", disp);
    free(disp);
    cJSON_AddNumberToObject(b, "duration", done ? (double)(sim_run_end(r) - start) : 0);
    cJSON_AddNumberToObject(b, "estimatedDuration", (double)r->plan.run_ms);
    cJSON_AddNullToObject(b, "executor");
    disp = xasprintf("%s #%ld", r->job, r->number);
    cJSON_AddStringToObject(b, "fullDisplayName", disp);
    free(disp);
    disp = xasprintf("%ld", r->number);
    cJSON_AddStringToObject(b, "id", disp);
    free(disp);
    cJSON_AddBoolToObject(b, "keepLog", 0);
    cJSON_AddNumberToObject(b, "number", (double)r->number);
    cJSON_AddNumberToObject(b, "queueId", (double)r->id);
    if (done)
        cJSON_AddStringToObject(b, "result", sim_jenkins_result(r));
    else
        cJSON_AddNullToObject(b, "result");
    cJSON_AddNumberToObject(b, "timestamp", (double)start);
    disp = xasprintf("%s%ld/", jurl, r->number);
    cJSON_AddStringToObject(b, "url", disp);
    free(disp);
    free(jurl);
    return b;
}

/* sim_jenkins_queue_json - GET /queue/item/N/api/json: a waiting item, or a
 * left item with executable (or cancelled). */
static cJSON *sim_jenkins_queue_json(const struct sim *s, const struct sim_run *r,
                                     const char *base, int64_t now)
{
    cJSON *q = cJSON_CreateObject(), *task;
    char *jurl = sim_jenkins_job_url(base, r->job), *u;
    const char *slash = strrchr(r->job, '/');
    int waiting = !r->cancelled_in_queue && now < sim_run_start(r);
    const cJSON *p;
    char *params = xstrdup("");

    cJSON_ArrayForEach(p, r->params) {
        char *n = xasprintf("%s\n%s=%s", params, p->string, p->valuestring);
        free(params);
        params = n;
    }
    cJSON_AddStringToObject(q, "_class", waiting ? "hudson.model.Queue$WaitingItem"
                                                 : "hudson.model.Queue$LeftItem");
    cJSON_AddItemToObject(q, "actions", sim_jenkins_actions(s, r));
    cJSON_AddBoolToObject(q, "blocked", 0);
    cJSON_AddBoolToObject(q, "buildable", 0);
    cJSON_AddNumberToObject(q, "id", (double)r->id);
    cJSON_AddNumberToObject(q, "inQueueSince", (double)r->created);
    cJSON_AddStringToObject(q, "params", params);
    free(params);
    cJSON_AddBoolToObject(q, "stuck", 0);
    task = cJSON_AddObjectToObject(q, "task");
    cJSON_AddStringToObject(task, "_class", "hudson.model.FreeStyleProject");
    cJSON_AddStringToObject(task, "name", slash ? slash + 1 : r->job);
    cJSON_AddStringToObject(task, "url", jurl);
    cJSON_AddStringToObject(task, "color", "blue");
    u = xasprintf("queue/item/%ld/", r->id);
    cJSON_AddStringToObject(q, "url", u);
    free(u);
    if (waiting) {
        u = xasprintf("In the quiet period. Expires in %ld ms", (long)(sim_run_start(r) - now));
        cJSON_AddStringToObject(q, "why", u);
        free(u);
        cJSON_AddNumberToObject(q, "timestamp", (double)sim_run_start(r));
    } else {
        cJSON_AddNullToObject(q, "why");
        cJSON_AddBoolToObject(q, "cancelled", r->cancelled_in_queue);
        if (r->cancelled_in_queue || !r->number) {
            cJSON_AddNullToObject(q, "executable");
        } else {
            cJSON *e = cJSON_AddObjectToObject(q, "executable");
            cJSON_AddStringToObject(e, "_class", "hudson.model.FreeStyleBuild");
            cJSON_AddNumberToObject(e, "number", (double)r->number);
            u = xasprintf("%s%ld/", jurl, r->number);
            cJSON_AddStringToObject(e, "url", u);
            free(u);
        }
    }
    free(jurl);
    return q;
}

/* sim_jenkins_job_json - GET /job/X/api/json, builds newest first (full
 * builds when a tree or depth asks for their fields, else number and url). */
static cJSON *sim_jenkins_job_json(const struct sim *s, const char *job, const char *base,
                                   int64_t now, int full)
{
    cJSON *j = cJSON_CreateObject(), *builds, *prop, *pd;
    char *jurl = sim_jenkins_job_url(base, job);
    const char *slash = strrchr(job, '/');
    const struct sim_run *r, *queued = NULL;
    long last = 0, maxn = 0;

    cJSON_AddStringToObject(j, "_class", "hudson.model.FreeStyleProject");
    cJSON_AddItemToObject(j, "actions", cJSON_CreateArray());
    cJSON_AddStringToObject(j, "displayName", slash ? slash + 1 : job);
    cJSON_AddStringToObject(j, "fullName", job);
    cJSON_AddStringToObject(j, "name", slash ? slash + 1 : job);
    cJSON_AddStringToObject(j, "url", jurl);
    cJSON_AddBoolToObject(j, "buildable", 1);
    builds = cJSON_AddArrayToObject(j, "builds");
    for (r = s->runs; r; r = r->next) {
        if (r->sys != SIM_SYS_JENKINS || strcmp(r->job, job) != 0)
            continue;
        if (!r->number) {
            if (!r->cancelled_in_queue && !queued)
                queued = r;
            continue;
        }
        if (full) {
            cJSON_InsertItemInArray(builds, 0, sim_jenkins_build_json(s, r, base, now));
        } else {
            cJSON *b = cJSON_CreateObject();
            char *u = xasprintf("%s%ld/", jurl, r->number);
            cJSON_AddStringToObject(b, "_class", "hudson.model.FreeStyleBuild");
            cJSON_AddNumberToObject(b, "number", (double)r->number);
            cJSON_AddStringToObject(b, "url", u);
            free(u);
            cJSON_InsertItemInArray(builds, 0, b);
        }
        if (r->number > maxn)
            maxn = r->number;
        last = r->number;
    }
    cJSON_AddStringToObject(j, "color", "blue");
    cJSON_AddBoolToObject(j, "inQueue", queued != NULL);
    if (queued) {
        cJSON *qi = cJSON_AddObjectToObject(j, "queueItem");
        char *u = xasprintf("queue/item/%ld/", queued->id);
        cJSON_AddStringToObject(qi, "_class", "hudson.model.Queue$WaitingItem");
        cJSON_AddNumberToObject(qi, "id", (double)queued->id);
        cJSON_AddStringToObject(qi, "url", u);
        free(u);
    } else {
        cJSON_AddNullToObject(j, "queueItem");
    }
    if (last) {
        cJSON *lb = cJSON_AddObjectToObject(j, "lastBuild");
        char *u = xasprintf("%s%ld/", jurl, last);
        cJSON_AddStringToObject(lb, "_class", "hudson.model.FreeStyleBuild");
        cJSON_AddNumberToObject(lb, "number", (double)last);
        cJSON_AddStringToObject(lb, "url", u);
        free(u);
    } else {
        cJSON_AddNullToObject(j, "lastBuild");
    }
    cJSON_AddNumberToObject(j, "nextBuildNumber", (double)(maxn + 1));
    prop = cJSON_AddArrayToObject(j, "property");
    pd = cJSON_CreateObject();
    cJSON_AddStringToObject(pd, "_class", "hudson.model.ParametersDefinitionProperty");
    cJSON_AddItemToObject(pd, "parameterDefinitions", cJSON_CreateArray());
    cJSON_AddItemToArray(prop, pd);
    free(jurl);
    return j;
}

/* sim_jenkins_state - every queue item and build, for /_sim/state. */
cJSON *sim_jenkins_state(struct sim *s, const char *base, int64_t now)
{
    cJSON *o = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(o, "queue");
    const struct sim_run *r;

    sim_jenkins_advance(s, now);
    for (r = s->runs; r; r = r->next) {
        cJSON *q;
        if (r->sys != SIM_SYS_JENKINS)
            continue;
        q = sim_jenkins_queue_json(s, r, base, now);
        cJSON_AddStringToObject(q, "job", r->job);
        cJSON_AddItemToObject(q, "parameters", cJSON_Duplicate(r->params, 1));
        if (r->number)
            cJSON_AddItemToObject(q, "build", sim_jenkins_build_json(s, r, base, now));
        cJSON_AddItemToArray(items, q);
    }
    return o;
}

/* sim_jenkins_send - answer obj, filtered by ?tree= when asked. */
static void sim_jenkins_send(struct sim_req *rq, struct sim_resp *rp, cJSON *obj)
{
    const char *tree = sim_req_arg(rq, "tree");
    char err[128];

    if (tree && *tree) {
        cJSON *f = sim_tree_filter(obj, tree, err, sizeof err);
        cJSON_Delete(obj);
        if (!f) {
            sim_jenkins_error(rp, 400, err);
            return;
        }
        obj = f;
    }
    sim_resp_json(rp, 200, obj);
    sim_resp_header(rp, "X-Jenkins", "2.462.3");
}

/* sim_jenkins_token_like - 1 if a credential looks like a Jenkins API token
 * (32 hex digits, or "11" and 32 hex digits). */
static int sim_jenkins_token_like(const char *p)
{
    size_t n = strlen(p), i;

    if (n != 32 && !(n == 34 && p[0] == '1' && p[1] == '1'))
        return 0;
    for (i = 0; i < n; i++)
        if (!strchr("0123456789abcdef", p[i]))
            return 0;
    return 1;
}

/* sim_jenkins_auth - check HTTP basic auth. Returns 1 (ok, *by_password set
 * when a password rather than an API token was used) or 0 with the answer
 * written: 403 for anonymous, 401 for bad credentials. */
static int sim_jenkins_auth(struct sim *s, struct sim_req *rq, struct sim_resp *rp, int *by_password)
{
    const char *h = sim_req_header(rq, "Authorization");
    unsigned char dec[768];
    char *colon;
    int n, pad = 0;
    size_t len;

    *by_password = 0;
    if (!h) {
        sim_jenkins_error(rp, 403, "Authentication required");
        sim_resp_header(rp, "X-You-Are-Authenticated-As", "anonymous");
        sim_resp_header(rp, "X-Required-Permission", "hudson.model.Hudson.Read");
        return 0;
    }
    rq->auth = 0;
    if (strncasecmp(h, "Basic ", 6) != 0)
        goto bad;
    h += 6;
    len = strlen(h);
    if (len == 0 || len % 4 || len > 1000)
        goto bad;
    n = EVP_DecodeBlock(dec, (const unsigned char *)h, (int)len);
    if (n < 0)
        goto bad;
    if (h[len - 1] == '=') pad++;
    if (h[len - 2] == '=') pad++;
    dec[n - pad] = 0;
    colon = strchr((char *)dec, ':');
    if (!colon || colon == (char *)dec || !colon[1])
        goto bad;
    *colon = 0;
    if (s->jenkins_user || s->jenkins_token || s->jenkins_password) {
        if (s->jenkins_user && strcmp((char *)dec, s->jenkins_user) != 0)
            goto bad;
        if (s->jenkins_token && sim_secret_eq(colon + 1, s->jenkins_token)) {
            rq->auth = 1;
            return 1;
        }
        if (s->jenkins_password && sim_secret_eq(colon + 1, s->jenkins_password)) {
            rq->auth = 1;
            *by_password = 1;
            return 1;
        }
        goto bad;
    }
    rq->auth = 1;
    *by_password = !sim_jenkins_token_like(colon + 1);
    return 1;
bad:
    sim_jenkins_error(rp, 401, "Invalid password/token for user");
    sim_resp_header(rp, "WWW-Authenticate", "Basic realm=\"Jenkins\"");
    return 0;
}

/* sim_jenkins_session - the JSESSIONID.sim cookie value of the request, or "". */
static void sim_jenkins_session(const struct sim_req *rq, char *out, size_t len)
{
    const char *c = sim_req_header(rq, "Cookie"), *p;
    size_t n = 0;

    out[0] = 0;
    if (!c || !(p = strstr(c, "JSESSIONID.sim=")))
        return;
    p += strlen("JSESSIONID.sim=");
    while (p[n] && p[n] != ';' && p[n] != ' ' && n + 1 < len)
        n++;
    memcpy(out, p, n);
    out[n] = 0;
}

/* sim_jenkins_random_hex - n random bytes as hex into out (2n+1 bytes). */
static void sim_jenkins_random_hex(char *out, int n)
{
    unsigned char b[32];
    int i;

    if (n > 32)
        n = 32;
    if (RAND_bytes(b, n) != 1)
        memset(b, 0x5a, sizeof b);
    for (i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* sim_jenkins_crumb - GET /crumbIssuer/api/json (404 when CSRF protection is off). */
static void sim_jenkins_crumb(struct sim *s, struct sim_req *rq, struct sim_resp *rp)
{
    char sess[80], crumb[80];
    cJSON *o;

    if (!cJSON_IsTrue(sim_scenario_get(s, "jenkins", "csrf"))) {
        sim_jenkins_error(rp, 404, "Not Found");
        return;
    }
    sim_jenkins_session(rq, sess, sizeof sess);
    if (!sess[0])
        sim_jenkins_random_hex(sess, 16);
    sim_jenkins_random_hex(crumb, 32);
    free(strmap_put(s->crumbs, crumb, xstrdup(sess)));
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "_class", "hudson.security.csrf.DefaultCrumbIssuer");
    cJSON_AddStringToObject(o, "crumb", crumb);
    cJSON_AddStringToObject(o, "crumbRequestField", "Jenkins-Crumb");
    sim_jenkins_send(rq, rp, o);
    sim_resp_header(rp, "Set-Cookie", "JSESSIONID.sim=%s; Path=/jenkins; HttpOnly", sess);
}

/* sim_jenkins_csrf_ok - 1 if a POST may go on: CSRF off, an API token, or a
 * valid crumb with the session it was issued to. Else writes 403. */
static int sim_jenkins_csrf_ok(struct sim *s, struct sim_req *rq, struct sim_resp *rp, int by_password)
{
    const char *crumb = sim_req_header(rq, "Jenkins-Crumb");
    const char *sess_of;
    char sess[80];

    if (!cJSON_IsTrue(sim_scenario_get(s, "jenkins", "csrf")) || !by_password)
        return 1;
    if (!crumb)
        crumb = sim_req_arg(rq, "Jenkins-Crumb");
    sim_jenkins_session(rq, sess, sizeof sess);
    if (crumb && (sess_of = strmap_get(s->crumbs, crumb)) && sess[0] && strcmp(sess_of, sess) == 0)
        return 1;
    sim_jenkins_error(rp, 403, "No valid crumb was included in the request");
    return 0;
}

/* sim_jenkins_params - the build parameters: query arguments, then form fields
 * (or a JSON body {"parameter":[{name,value}]} / the form field "json"). */
static cJSON *sim_jenkins_params(const struct sim_req *rq)
{
    static const char *const skip[] = { "token", "delay", "cause", "Jenkins-Crumb", "json" };
    cJSON *out = cJSON_CreateObject(), *parsed = NULL;
    const cJSON *src[2] = { rq->query, rq->form }, *p, *list = NULL;
    size_t i, k;

    for (i = 0; i < 2; i++)
        cJSON_ArrayForEach(p, src[i]) {
            int skipped = 0;
            for (k = 0; k < ARRAY_LEN(skip); k++)
                if (strcmp(p->string, skip[k]) == 0)
                    skipped = 1;
            if (skipped || !cJSON_IsString(p))
                continue;
            cJSON_DeleteItemFromObjectCaseSensitive(out, p->string);
            cJSON_AddStringToObject(out, p->string, p->valuestring);
        }
    if (rq->json)
        list = cJSON_GetObjectItemCaseSensitive(rq->json, "parameter");
    else if (rq->form && cJSON_GetStringValue(cJSON_GetObjectItem(rq->form, "json"))) {
        parsed = cJSON_Parse(cJSON_GetStringValue(cJSON_GetObjectItem(rq->form, "json")));
        list = cJSON_GetObjectItemCaseSensitive(parsed, "parameter");
    }
    cJSON_ArrayForEach(p, list) {
        const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "name"));
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(p, "value");
        if (!n)
            continue;
        cJSON_DeleteItemFromObjectCaseSensitive(out, n);
        if (cJSON_IsString(v))
            cJSON_AddStringToObject(out, n, v->valuestring);
        else if (cJSON_IsBool(v))
            cJSON_AddStringToObject(out, n, cJSON_IsTrue(v) ? "true" : "false");
    }
    cJSON_Delete(parsed);
    return out;
}

/* sim_jenkins_trigger - POST /job/X/build or /job/X/buildWithParameters. */
static void sim_jenkins_trigger(struct sim *s, struct sim_req *rq, struct sim_resp *rp,
                                const char *job, int with_params)
{
    cJSON *params = sim_jenkins_params(rq);
    struct sim_plan plan;
    struct sim_run *r;

    sim_scenario_plan(s, SIM_SYS_JENKINS, job, params, &plan);
    if (!plan.exists) {
        sim_jenkins_error(rp, 404, "Not Found");
        goto out;
    }
    if (sim_flaky_hit(s, SIM_SYS_JENKINS, job, plan.flaky)) {
        sim_jenkins_error(rp, 503, "Service Unavailable");
        goto out;
    }
    if (sim_ratelimit_hit(s, SIM_SYS_JENKINS, job, plan.ratelimit)) {
        sim_jenkins_error(rp, 429, "Too Many Requests");
        sim_resp_header(rp, "Retry-After", "1");
        goto out;
    }
    if (with_params && !plan.parameterized) {
        char *m = xasprintf("%s is not parameterized", job);
        sim_jenkins_error(rp, 400, m);
        free(m);
        goto out;
    }
    if (!with_params) {  /* /build takes no parameters */
        cJSON_Delete(params);
        params = cJSON_CreateObject();
    }
    for (r = s->runs; r; r = r->next)  /* an identical queued item absorbs this one */
        if (r->sys == SIM_SYS_JENKINS && strcmp(r->job, job) == 0 && !r->cancelled_in_queue
            && rq->now < sim_run_start(r) && cJSON_Compare(r->params, params, 1)) {
            sim_resp_text(rp, 303, "text/html;charset=utf-8", "");
            sim_resp_header(rp, "Location", "%s/jenkins/queue/item/%ld/", rq->base, r->id);
            goto out;
        }
    r = sim_run_new(s, SIM_SYS_JENKINS, job);
    r->id = s->next_queue_id++;
    r->created = rq->now;
    r->plan = plan;
    cJSON_Delete(r->params);
    r->params = params;
    params = NULL;
    sim_resp_text(rp, 201, "text/html;charset=utf-8", "");
    sim_resp_header(rp, "Location", "%s/jenkins/queue/item/%ld/", rq->base, r->id);
    sim_resp_header(rp, "X-Jenkins", "2.462.3");
out:
    cJSON_Delete(params);
}

/* sim_jenkins_find_build - the build number N (or "lastBuild") of job, or NULL. */
static struct sim_run *sim_jenkins_find_build(struct sim *s, const char *job, const char *n)
{
    struct sim_run *r, *found = NULL;
    char *end;
    long num = strtol(n, &end, 10);

    if (strcmp(n, "lastBuild") != 0 && (*end || num <= 0))
        return NULL;
    for (r = s->runs; r; r = r->next)
        if (r->sys == SIM_SYS_JENKINS && r->number && strcmp(r->job, job) == 0
            && (strcmp(n, "lastBuild") == 0 ? 1 : r->number == num))
            found = r;
    return found;
}

/* sim_jenkins_is_api - 1 if segments [i..] are exactly "api", "json". */
static int sim_jenkins_is_api(const struct sim_req *rq, int i)
{
    return rq->nseg == i + 2 && strcmp(rq->seg[i], "api") == 0 && strcmp(rq->seg[i + 1], "json") == 0;
}

/* sim_jenkins_job_known - 1 if the job exists (the scenario may restrict jobs). */
static int sim_jenkins_job_known(struct sim *s, const char *job)
{
    struct sim_plan p;

    sim_scenario_plan(s, SIM_SYS_JENKINS, job, NULL, &p);
    return p.exists;
}

/* sim_jenkins_flaky - the 503 of a flaky job on any request that names it. */
static int sim_jenkins_flaky(struct sim *s, struct sim_resp *rp, const char *job)
{
    struct sim_plan p;

    sim_scenario_plan(s, SIM_SYS_JENKINS, job, NULL, &p);
    if (!sim_flaky_hit(s, SIM_SYS_JENKINS, job, p.flaky))
        return 0;
    sim_jenkins_error(rp, 503, "Service Unavailable");
    return 1;
}

/* sim_jenkins_queue - /queue/...: an item, the whole queue, cancelItem. */
static void sim_jenkins_queue(struct sim *s, struct sim_req *rq, struct sim_resp *rp, int by_password)
{
    int get = strcmp(rq->method, "GET") == 0, post = strcmp(rq->method, "POST") == 0;
    struct sim_run *r;

    if (rq->nseg == 5 && strcmp(rq->seg[1], "item") == 0 && sim_jenkins_is_api(rq, 3)) {
        char *end;
        long id = strtol(rq->seg[2], &end, 10);
        if (!get) {
            sim_jenkins_error(rp, 405, "Method Not Allowed");
            return;
        }
        r = *end ? NULL : sim_run_find(s, SIM_SYS_JENKINS, id);
        if (!r) {
            sim_jenkins_error(rp, 404, "Not Found");
            return;
        }
        if (sim_jenkins_flaky(s, rp, r->job))
            return;
        sim_jenkins_send(rq, rp, sim_jenkins_queue_json(s, r, rq->base, rq->now));
    } else if (sim_jenkins_is_api(rq, 1)) {
        cJSON *q = cJSON_CreateObject(), *items;
        cJSON_AddStringToObject(q, "_class", "hudson.model.Queue");
        cJSON_AddItemToObject(q, "discoverableItems", cJSON_CreateArray());
        items = cJSON_AddArrayToObject(q, "items");
        for (r = s->runs; r; r = r->next)
            if (r->sys == SIM_SYS_JENKINS && !r->cancelled_in_queue && rq->now < sim_run_start(r))
                cJSON_AddItemToArray(items, sim_jenkins_queue_json(s, r, rq->base, rq->now));
        sim_jenkins_send(rq, rp, q);
    } else if (rq->nseg == 2 && strcmp(rq->seg[1], "cancelItem") == 0) {
        const char *ids = sim_req_arg(rq, "id");
        char *end = NULL, *m;
        long id = ids ? strtol(ids, &end, 10) : 0;
        if (!post) {
            sim_jenkins_error(rp, 405, "Method Not Allowed");
            return;
        }
        if (!sim_jenkins_csrf_ok(s, rq, rp, by_password))
            return;
        r = ids && !*end ? sim_run_find(s, SIM_SYS_JENKINS, id) : NULL;
        if (!r || r->cancelled_in_queue || rq->now >= sim_run_start(r)) {
            m = xasprintf("Provided id (%s) not found", ids ? ids : "");
            sim_jenkins_error(rp, 404, m);
            free(m);
            return;
        }
        sim_run_finish(r, rq->now, SIM_CANCEL, NULL);
        sim_resp_text(rp, 204, "", "");
    } else {
        sim_jenkins_error(rp, 404, "Not Found");
    }
}

/* sim_jenkins_handle - everything under /jenkins. */
void sim_jenkins_handle(struct sim *s, struct sim_req *rq, struct sim_resp *rp)
{
    int get = strcmp(rq->method, "GET") == 0, post = strcmp(rq->method, "POST") == 0;
    int by_password = 0, i = 0;
    char *job = NULL;
    struct sim_run *r;

    if (!sim_jenkins_auth(s, rq, rp, &by_password))
        return;
    sim_jenkins_advance(s, rq->now);
    if (rq->nseg >= 1 && strcmp(rq->seg[0], "crumbIssuer") == 0 && sim_jenkins_is_api(rq, 1)) {
        sim_jenkins_crumb(s, rq, rp);
        return;
    }
    if (rq->nseg >= 1 && strcmp(rq->seg[0], "queue") == 0) {
        sim_jenkins_queue(s, rq, rp, by_password);
        return;
    }
    if (sim_jenkins_is_api(rq, 0)) {
        cJSON *o = cJSON_CreateObject(), *jobs = cJSON_AddArrayToObject(o, "jobs");
        cJSON_AddStringToObject(o, "_class", "hudson.model.Hudson");
        for (r = s->runs; r; r = r->next) {
            const cJSON *e;
            int dup = 0;
            if (r->sys != SIM_SYS_JENKINS)
                continue;
            cJSON_ArrayForEach(e, jobs)
                if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(e, "fullName")), r->job) == 0)
                    dup = 1;
            if (!dup) {
                cJSON *j = cJSON_CreateObject();
                char *u = sim_jenkins_job_url(rq->base, r->job);
                cJSON_AddStringToObject(j, "_class", "hudson.model.FreeStyleProject");
                cJSON_AddStringToObject(j, "fullName", r->job);
                cJSON_AddStringToObject(j, "url", u);
                free(u);
                cJSON_AddItemToArray(jobs, j);
            }
        }
        sim_jenkins_send(rq, rp, o);
        return;
    }
    /* /job/a/job/b/... */
    while (i + 1 < rq->nseg && strcmp(rq->seg[i], "job") == 0) {
        char *n = job ? xasprintf("%s/%s", job, rq->seg[i + 1]) : xstrdup(rq->seg[i + 1]);
        free(job);
        job = n;
        i += 2;
    }
    if (!job || !sim_jenkins_job_known(s, job)) {
        sim_jenkins_error(rp, 404, "Not Found");
        goto out;
    }
    if (i == rq->nseg - 1 && (strcmp(rq->seg[i], "buildWithParameters") == 0
                              || strcmp(rq->seg[i], "build") == 0)) {
        if (!post) {
            sim_jenkins_error(rp, 405, "Method Not Allowed: this URL requires POST");
            goto out;
        }
        if (sim_jenkins_csrf_ok(s, rq, rp, by_password))
            sim_jenkins_trigger(s, rq, rp, job, strcmp(rq->seg[i], "buildWithParameters") == 0);
    } else if (sim_jenkins_is_api(rq, i)) {
        const char *tree = sim_req_arg(rq, "tree"), *depth = sim_req_arg(rq, "depth");
        if (!sim_jenkins_flaky(s, rp, job))
            sim_jenkins_send(rq, rp, sim_jenkins_job_json(s, job, rq->base, rq->now,
                                                          (tree && strstr(tree, "builds[")) ||
                                                          (depth && atoi(depth) > 0)));
    } else if (i < rq->nseg && (r = sim_jenkins_find_build(s, job, rq->seg[i]))) {
        if (sim_jenkins_is_api(rq, i + 1)) {
            if (!get)
                sim_jenkins_error(rp, 405, "Method Not Allowed");
            else if (!sim_jenkins_flaky(s, rp, job))
                sim_jenkins_send(rq, rp, sim_jenkins_build_json(s, r, rq->base, rq->now));
        } else if (rq->nseg == i + 2 && (strcmp(rq->seg[i + 1], "stop") == 0
                                         || strcmp(rq->seg[i + 1], "term") == 0
                                         || strcmp(rq->seg[i + 1], "kill") == 0)) {
            char *u;
            if (!post) {
                sim_jenkins_error(rp, 405, "Method Not Allowed: this URL requires POST");
                goto out;
            }
            if (!sim_jenkins_csrf_ok(s, rq, rp, by_password))
                goto out;
            sim_run_finish(r, rq->now, SIM_CANCEL, NULL);
            u = sim_jenkins_job_url(rq->base, job);
            sim_resp_text(rp, 302, "text/html;charset=utf-8", "");
            sim_resp_header(rp, "Location", "%s%ld/", u, r->number);
            free(u);
        } else {
            sim_jenkins_error(rp, 404, "Not Found");
        }
    } else {
        sim_jenkins_error(rp, 404, "Not Found");
    }
out:
    free(job);
}
