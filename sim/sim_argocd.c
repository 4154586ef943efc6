/* sim_argocd.c - promo-sim's Argo CD API: get, list and patch applications
 * (JSON merge patch or JSON patch), sync them to a revision, terminate an
 * operation; bearer token auth; errors as grpc-gateway writes them
 * ({"error", "code", "message"} with the gRPC code mapped to an HTTP status).
 *
 * Under /argocd. A sync sets the operation Running; after the scenario's
 * syncDelay (default 200 ms), evaluated at the next request, it ends
 * Succeeded with Synced+Healthy at the revision (or Degraded, or Failed). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/util.h"
#include "sim/sim.h"
#include "util/json.h"

/* sim_argocd_error - {"error", "code", "message"} with HTTP status. */
void sim_argocd_error(struct sim_resp *rp, int status, int code, const char *msg)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "error", msg);
    cJSON_AddNumberToObject(o, "code", code);
    cJSON_AddStringToObject(o, "message", msg);
    sim_resp_json(rp, status, o);
}

/* sim_argocd_revisions - the targetRevision of each of sources (kept as
 * given, like a single source's: a branch is not resolved). */
static cJSON *sim_argocd_revisions(const cJSON *sources)
{
    cJSON *a = cJSON_CreateArray();
    const cJSON *e;

    cJSON_ArrayForEach(e, sources)
        cJSON_AddItemToArray(a, cJSON_CreateString(json_str(e, "targetRevision", "HEAD")));
    return a;
}

/* sim_argocd_src - spec.sources when the application is multi-source, else spec.source. */
static cJSON *sim_argocd_src(const cJSON *app)
{
    cJSON *spec = cJSON_GetObjectItem(app, "spec"), *srcs = cJSON_GetObjectItem(spec, "sources");

    return cJSON_IsArray(srcs) && cJSON_GetArraySize(srcs) > 0 ? srcs : cJSON_GetObjectItem(spec, "source");
}

/* sim_argocd_op_state - a finished operation state at revision. */
static cJSON *sim_argocd_op_state(const cJSON *source, const char *rev, const char *phase,
                                  const char *message, int64_t started, int64_t finished)
{
    cJSON *o = cJSON_CreateObject(), *op, *sr;
    char ts[40];

    op = cJSON_AddObjectToObject(o, "operation");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(op, "sync"), "revision", rev);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(op, "initiatedBy"), "username", "admin");
    cJSON_AddStringToObject(o, "phase", phase);
    cJSON_AddStringToObject(o, "message", message);
    cJSON_AddStringToObject(o, "startedAt", sim_time_gh(started, ts, sizeof ts));
    if (finished) {
        cJSON_AddStringToObject(o, "finishedAt", sim_time_gh(finished, ts, sizeof ts));
        sr = cJSON_AddObjectToObject(o, "syncResult");
        if (cJSON_IsArray(source)) {
            cJSON_AddItemToObject(sr, "revisions", sim_argocd_revisions(source));
            cJSON_AddItemToObject(sr, "sources", cJSON_Duplicate(source, 1));
        } else {
            cJSON_AddStringToObject(sr, "revision", rev);
            cJSON_AddItemToObject(sr, "source", cJSON_Duplicate(source, 1));
        }
        cJSON_AddItemToObject(sr, "resources", cJSON_CreateArray());
    }
    if (cJSON_IsArray(source)) {          /* a multi-source sync names revisions[] */
        cJSON *sy = cJSON_GetObjectItem(op, "sync");
        cJSON_DeleteItemFromObject(sy, "revision");
        cJSON_AddItemToObject(sy, "revisions", sim_argocd_revisions(source));
    }
    return o;
}

/* sim_argocd_app_new - a new application from a scenario entry (conf may be NULL). */
static struct sim_app *sim_argocd_app_new(struct sim *s, const char *name, const char *ns,
                                          const char *project, const cJSON *conf)
{
    struct sim_app *a = xcalloc(1, sizeof *a), **tail;
    cJSON *app = cJSON_CreateObject(), *md, *spec, *src, *dst, *st, *sync;
    char ts[40], sha[41], *seed, *dflt_repo = xasprintf("https://git.example.com/promo/%s.git", name);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(conf, "destination");
    const char *rev;
    int64_t now = wall_ms();

    md = cJSON_AddObjectToObject(app, "metadata");
    cJSON_AddStringToObject(md, "name", name);
    cJSON_AddStringToObject(md, "namespace", json_str(conf, "namespace", ns));
    seed = xasprintf("uid-%s", name);
    sim_fake_sha(seed, sha);
    free(seed);
    sha[36] = 0;
    cJSON_AddStringToObject(md, "uid", sha);
    cJSON_AddStringToObject(md, "resourceVersion", "1");
    cJSON_AddNumberToObject(md, "generation", 1);
    cJSON_AddStringToObject(md, "creationTimestamp", sim_time_gh(now, ts, sizeof ts));
    spec = cJSON_AddObjectToObject(app, "spec");
    cJSON_AddStringToObject(spec, "project", json_str(conf, "project", project));
    if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(conf, "sources"))) {
        /* a multi-source application: spec.sources as given (no spec.source) */
        const cJSON *e;
        cJSON *srcs = cJSON_AddArrayToObject(spec, "sources");
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(conf, "sources"))
            if (cJSON_IsObject(e))
                cJSON_AddItemToArray(srcs, cJSON_Duplicate(e, 1));
        src = srcs;
    } else {
        src = cJSON_AddObjectToObject(spec, "source");
        cJSON_AddStringToObject(src, "repoURL", json_str(conf, "repoURL", dflt_repo));
        cJSON_AddStringToObject(src, "path", json_str(conf, "path", "."));
        cJSON_AddStringToObject(src, "targetRevision", json_str(conf, "targetRevision", "HEAD"));
        if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(conf, "chart")))
            cJSON_AddStringToObject(src, "chart", json_str(conf, "chart", ""));
        if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(conf, "kustomize")))
            cJSON_AddItemToObject(src, "kustomize",
                                  cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(conf, "kustomize"), 1));
        if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(conf, "helm")))
            cJSON_AddItemToObject(src, "helm", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(conf, "helm"), 1));
    }
    dst = cJSON_AddObjectToObject(spec, "destination");
    cJSON_AddStringToObject(dst, "server", json_str(d, "server", "https://kubernetes.default.svc"));
    cJSON_AddStringToObject(dst, "namespace", json_str(d, "namespace", name));
    cJSON_AddItemToObject(spec, "syncPolicy", cJSON_CreateObject());
    st = cJSON_AddObjectToObject(app, "status");
    {
        const cJSON *first = cJSON_IsArray(src) ? cJSON_GetArrayItem(src, 0) : src;
        seed = xasprintf("%s@%s", json_str(first, "repoURL", ""), json_str(first, "targetRevision", "HEAD"));
    }
    sim_fake_sha(seed, sha);
    free(seed);
    rev = json_str(conf, "revision", sha);
    sync = cJSON_AddObjectToObject(st, "sync");
    cJSON_AddStringToObject(sync, "status", json_str(conf, "syncStatus", "Synced"));
    if (cJSON_IsArray(src)) {
        /* one revision per source (revisions[]), as Argo CD reports them */
        const cJSON *e;
        cJSON *revs = cJSON_AddArrayToObject(sync, "revisions");
        cJSON_ArrayForEach(e, src) {
            char esha[41];
            seed = xasprintf("%s@%s", json_str(e, "repoURL", ""), json_str(e, "targetRevision", "HEAD"));
            sim_fake_sha(seed, esha);
            free(seed);
            cJSON_AddItemToArray(revs, cJSON_CreateString(esha));
        }
    } else {
        cJSON_AddStringToObject(sync, "revision", rev);
    }
    {
        cJSON *cmp = cJSON_AddObjectToObject(sync, "comparedTo");
        cJSON_AddItemToObject(cmp, cJSON_IsArray(src) ? "sources" : "source", cJSON_Duplicate(src, 1));
        cJSON_AddItemToObject(cmp, "destination", cJSON_Duplicate(dst, 1));
    }
    cJSON_AddStringToObject(cJSON_AddObjectToObject(st, "health"), "status",
                            json_str(conf, "health", "Healthy"));
    cJSON_AddItemToObject(st, "history", cJSON_CreateArray());
    cJSON_AddStringToObject(st, "reconciledAt", sim_time_gh(now, ts, sizeof ts));
    cJSON_AddItemToObject(st, "operationState",
                          sim_argocd_op_state(src, rev, "Succeeded", "successfully synced (all tasks run)",
                                              now, now));
    cJSON_AddStringToObject(st, "sourceType", "Directory");
    cJSON_AddItemToObject(st, "summary", cJSON_CreateObject());
    a->app = app;
    a->delay_ms = sim_scenario_ms(cJSON_GetObjectItemCaseSensitive(conf, "syncDelay"),
                                  sim_scenario_ms(sim_scenario_get(s, "argocd", "syncDelay"), 200));
    str_copy(a->outcome, json_str(conf, "syncOutcome",
                                        cJSON_GetStringValue(sim_scenario_get(s, "argocd", "syncOutcome"))
                                        ? cJSON_GetStringValue(sim_scenario_get(s, "argocd", "syncOutcome"))
                                        : "healthy"), sizeof a->outcome);
    if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(conf, "flaky")))
        a->flaky = cJSON_GetObjectItemCaseSensitive(conf, "flaky")->valueint;
    else if (strstr(name, "flaky"))
        a->flaky = 2;
    for (tail = &s->apps; *tail; tail = &(*tail)->next)
        ;
    *tail = a;
    free(dflt_repo);
    return a;
}

/* sim_argocd_load - create the applications the scenario declares
 * (argocd.applications: a mapping name -> settings). */
void sim_argocd_load(struct sim *s)
{
    const cJSON *apps = sim_scenario_get(s, "argocd", "applications"), *e;

    cJSON_ArrayForEach(e, apps)
        if (e->string)
            sim_argocd_app_new(s, e->string, "argocd", "default", e);
}

/* sim_argocd_ns - an application's namespace. */
static const char *sim_argocd_ns(const struct sim_app *a)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(a->app, "metadata"), "namespace"));
}

/* sim_argocd_name - an application's name. */
static const char *sim_argocd_name(const struct sim_app *a)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(a->app, "metadata"), "name"));
}

/* sim_argocd_find - the application name in namespace ns (NULL/"" = any), or NULL. */
static struct sim_app *sim_argocd_find(struct sim *s, const char *name, const char *ns)
{
    struct sim_app *a;

    for (a = s->apps; a; a = a->next)
        if (strcmp(sim_argocd_name(a), name) == 0 && (!ns || !*ns || strcmp(sim_argocd_ns(a), ns) == 0))
            return a;
    return NULL;
}

static void sim_argocd_bump(struct sim_app *a, int spec_changed);

/* sim_argocd_finish - end the running operation of a with outcome (healthy,
 * degraded, failed) at time t. */
static void sim_argocd_finish(struct sim_app *a, const char *outcome, int64_t t)
{
    cJSON *st = cJSON_GetObjectItem(a->app, "status"), *ops = cJSON_GetObjectItem(st, "operationState");
    cJSON *src = sim_argocd_src(a->app), *h, *sync;
    const char *rev = cJSON_GetStringValue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetObjectItem(ops, "operation"), "sync"), "revision"));
    char *revc = xstrdup(rev ? rev : "");
    int failed = strcasecmp(outcome, "failed") == 0;
    char ts[40];
    int64_t started = a->op_start;

    a->notify = 1;
    cJSON_ReplaceItemInObject(st, "operationState",
                              sim_argocd_op_state(src, revc, failed ? "Failed" : "Succeeded",
                                                  failed ? "one or more objects failed to apply "
                                                           "(simulated by promo-sim)"
                                                         : "successfully synced (all tasks run)",
                                                  started, t));
    sync = cJSON_GetObjectItem(st, "sync");
    cJSON_ReplaceItemInObject(sync, "status", cJSON_CreateString(failed ? "OutOfSync" : "Synced"));
    if (!failed && cJSON_IsArray(src)) {
        cJSON_DeleteItemFromObject(sync, "revision");
        cJSON_DeleteItemFromObject(sync, "revisions");
        cJSON_AddItemToObject(sync, "revisions", sim_argocd_revisions(src));
    } else if (!failed) {
        cJSON_DeleteItemFromObject(sync, "revisions");
        cJSON_DeleteItemFromObject(sync, "revision");
        cJSON_AddStringToObject(sync, "revision", revc);
    }
    cJSON_ReplaceItemInObject(sync, "comparedTo", cJSON_CreateObject());
    cJSON_AddItemToObject(cJSON_GetObjectItem(sync, "comparedTo"), cJSON_IsArray(src) ? "sources" : "source",
                          cJSON_Duplicate(src, 1));
    cJSON_AddItemToObject(cJSON_GetObjectItem(sync, "comparedTo"), "destination",
                          cJSON_Duplicate(cJSON_GetObjectItem(cJSON_GetObjectItem(a->app, "spec"),
                                                              "destination"), 1));
    h = cJSON_GetObjectItem(st, "health");
    cJSON_ReplaceItemInObject(h, "status", cJSON_CreateString(
        strcasecmp(outcome, "healthy") == 0 ? "Healthy" : "Degraded"));
    if (!failed) {
        cJSON *hist = cJSON_GetObjectItem(st, "history"), *e = cJSON_CreateObject();
        if (cJSON_IsArray(src))
            cJSON_AddItemToObject(e, "revisions", sim_argocd_revisions(src));
        else
            cJSON_AddStringToObject(e, "revision", revc);
        cJSON_AddStringToObject(e, "deployedAt", sim_time_gh(t, ts, sizeof ts));
        cJSON_AddNumberToObject(e, "id", cJSON_GetArraySize(hist));
        cJSON_AddItemToObject(e, cJSON_IsArray(src) ? "sources" : "source", cJSON_Duplicate(src, 1));
        cJSON_AddItemToArray(hist, e);
    }
    cJSON_ReplaceItemInObject(st, "reconciledAt", cJSON_CreateString(sim_time_gh(t, ts, sizeof ts)));
    cJSON_DeleteItemFromObject(a->app, "operation");
    a->op_start = 0;
    free(revc);
}

/* sim_argocd_advance - finish every operation whose delay has passed. */
void sim_argocd_advance(struct sim *s, int64_t now)
{
    struct sim_app *a;

    for (a = s->apps; a; a = a->next)
        if (a->op_start && now >= a->op_start + a->delay_ms)
            sim_argocd_finish(a, a->outcome, a->op_start + a->delay_ms);
}

/* sim_argocd_complete - /_sim/complete for an application: end its operation
 * now with result (healthy, degraded, failed), or set its status when none runs. */
int sim_argocd_complete(struct sim *s, const char *name, const char *result, int64_t now)
{
    struct sim_app *a = sim_argocd_find(s, name, NULL);

    if (!a || (strcasecmp(result, "healthy") != 0 && strcasecmp(result, "degraded") != 0
               && strcasecmp(result, "failed") != 0))
        return -1;
    sim_argocd_advance(s, now);
    if (!a->op_start) {
        cJSON *st = cJSON_GetObjectItem(a->app, "status");
        cJSON_ReplaceItemInObject(cJSON_GetObjectItem(st, "health"), "status", cJSON_CreateString(
            strcasecmp(result, "healthy") == 0 ? "Healthy" : "Degraded"));
        if (strcasecmp(result, "failed") == 0)
            cJSON_ReplaceItemInObject(cJSON_GetObjectItem(st, "sync"), "status",
                                      cJSON_CreateString("OutOfSync"));
        return 0;
    }
    sim_argocd_finish(a, result, now);
    return 0;
}

/* sim_argocd_deploy - /_sim/deploy: application name (created when absent,
 * in namespace argocd, project default) now runs revision, Synced and
 * Healthy, as if something other than promo had deployed it (the tracker's
 * first environment, or another PR): spec.source.targetRevision, the sync
 * status, a finished operation and a history entry at revision; a running
 * operation is replaced. Returns 0, or -1 (err set) for a bad name or revision. */
int sim_argocd_deploy(struct sim *s, const char *name, const char *revision, int64_t now, char *err, size_t errlen)
{
    struct sim_app *a;
    cJSON *st, *src, *sync, *hist, *e;
    size_t i, n = name ? strlen(name) : 0, m = revision ? strlen(revision) : 0;
    char ts[40];

    for (i = 0; i < n; i++)
        if (!(name[i] == '-' || name[i] == '.' || name[i] == '_' || (name[i] >= '0' && name[i] <= '9') ||
              (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z')))
            break;
    if (!n || n > 253 || i < n) {
        snprintf(err, errlen, "app: 1 to 253 characters of [A-Za-z0-9._-] required");
        return -1;
    }
    for (i = 0; i < m; i++)
        if ((unsigned char)revision[i] <= ' ' || (unsigned char)revision[i] >= 0x7f)
            break;
    if (!m || m > 255 || i < m) {
        snprintf(err, errlen, "revision: 1 to 255 printable characters without spaces required");
        return -1;
    }
    sim_argocd_advance(s, now);
    a = sim_argocd_find(s, name, NULL);
    if (!a)
        a = sim_argocd_app_new(s, name, "argocd", "default", NULL);
    st = cJSON_GetObjectItem(a->app, "status");
    src = cJSON_GetObjectItem(cJSON_GetObjectItem(a->app, "spec"), "source");
    cJSON_ReplaceItemInObject(src, "targetRevision", cJSON_CreateString(revision));
    sync = cJSON_GetObjectItem(st, "sync");
    cJSON_ReplaceItemInObject(sync, "status", cJSON_CreateString("Synced"));
    cJSON_ReplaceItemInObject(sync, "revision", cJSON_CreateString(revision));
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(st, "health"), "status", cJSON_CreateString("Healthy"));
    cJSON_ReplaceItemInObject(st, "operationState",
                              sim_argocd_op_state(src, revision, "Succeeded", "successfully synced (all tasks run)",
                                                  now, now));
    hist = cJSON_GetObjectItem(st, "history");
    e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "revision", revision);
    cJSON_AddStringToObject(e, "deployedAt", sim_time_gh(now, ts, sizeof ts));
    cJSON_AddNumberToObject(e, "id", cJSON_GetArraySize(hist));
    cJSON_AddItemToObject(e, "source", cJSON_Duplicate(src, 1));
    cJSON_AddItemToArray(hist, e);
    cJSON_ReplaceItemInObject(st, "reconciledAt", cJSON_CreateString(sim_time_gh(now, ts, sizeof ts)));
    cJSON_DeleteItemFromObject(a->app, "operation");
    a->op_start = 0;
    a->notify = 1;
    sim_argocd_bump(a, 1);
    return 0;
}

/* sim_argocd_auth - 1 if a good bearer token (or argocd.token cookie) came; else 401 written. */
static int sim_argocd_auth(struct sim *s, struct sim_req *rq, struct sim_resp *rp)
{
    const char *h = sim_req_header(rq, "Authorization"), *c = sim_req_header(rq, "Cookie");
    char tok[512] = "";

    if (h && strncasecmp(h, "Bearer ", 7) == 0)
        str_copy(tok, h + 7, sizeof tok);
    else if (c && strstr(c, "argocd.token=")) {
        const char *p = strstr(c, "argocd.token=") + strlen("argocd.token=");
        size_t n = strcspn(p, "; ");
        if (n < sizeof tok) {
            memcpy(tok, p, n);
            tok[n] = 0;
        }
    }
    if (!h && !c) {
        sim_argocd_error(rp, 401, 16, "no session information");
        return 0;
    }
    if (tok[0] && (!s->argocd_token || sim_secret_eq(tok, s->argocd_token))) {
        rq->auth = 1;
        return 1;
    }
    rq->auth = 0;
    sim_argocd_error(rp, 401, 16, tok[0] ? "invalid session: token signature is invalid"
                                         : "no session information");
    return 0;
}

/* sim_argocd_bump - a change to an application: next resourceVersion. */
static void sim_argocd_bump(struct sim_app *a, int spec_changed)
{
    cJSON *md = cJSON_GetObjectItem(a->app, "metadata");
    const char *rv = cJSON_GetStringValue(cJSON_GetObjectItem(md, "resourceVersion"));
    char buf[32];

    snprintf(buf, sizeof buf, "%ld", (rv ? atol(rv) : 0) + 1);
    cJSON_ReplaceItemInObject(md, "resourceVersion", cJSON_CreateString(buf));
    if (spec_changed) {
        cJSON *g = cJSON_GetObjectItem(md, "generation");
        cJSON_ReplaceItemInObject(md, "generation", cJSON_CreateNumber(cJSON_GetNumberValue(g) + 1));
    }
}

/* sim_argocd_source_check - one ApplicationSource as Argo CD decodes it
 * (the parts promo writes): an object; kustomize.images strings; helm
 * parameters objects with a string name and value. */
static int sim_argocd_source_check(const cJSON *src, const char *where, char *err, size_t errlen)
{
    const cJSON *k, *l, *e;

    if (!cJSON_IsObject(src))
        return snprintf(err, errlen, "json: cannot unmarshal %s into Go struct field %s of type "
                        "v1alpha1.ApplicationSource", cJSON_IsArray(src) ? "array" : "value", where), -1;
    k = cJSON_GetObjectItem(src, "kustomize");
    l = cJSON_GetObjectItem(k, "images");
    if ((k && !cJSON_IsObject(k) && !cJSON_IsNull(k)) || (l && !cJSON_IsArray(l) && !cJSON_IsNull(l)))
        return snprintf(err, errlen, "json: cannot unmarshal into Go struct field %s.kustomize", where), -1;
    cJSON_ArrayForEach(e, l)
        if (!cJSON_IsString(e))
            return snprintf(err, errlen, "json: cannot unmarshal into Go struct field %s.kustomize.images of "
                            "type v1alpha1.KustomizeImage", where), -1;
    k = cJSON_GetObjectItem(src, "helm");
    l = cJSON_GetObjectItem(k, "parameters");
    if ((k && !cJSON_IsObject(k) && !cJSON_IsNull(k)) || (l && !cJSON_IsArray(l) && !cJSON_IsNull(l)))
        return snprintf(err, errlen, "json: cannot unmarshal into Go struct field %s.helm", where), -1;
    cJSON_ArrayForEach(e, l)
        if (!cJSON_IsObject(e) || !cJSON_IsString(cJSON_GetObjectItem(e, "name")) ||
            (cJSON_GetObjectItem(e, "value") && !cJSON_IsString(cJSON_GetObjectItem(e, "value"))))
            return snprintf(err, errlen, "json: cannot unmarshal into Go struct field %s.helm.parameters of "
                            "type v1alpha1.HelmParameter", where), -1;
    return 0;
}

/* sim_argocd_spec_check - the spec after a patch decodes (source, sources). */
static int sim_argocd_spec_check(const cJSON *spec, char *err, size_t errlen)
{
    const cJSON *src = cJSON_GetObjectItem(spec, "source"), *srcs = cJSON_GetObjectItem(spec, "sources"), *e;

    if (src && !cJSON_IsNull(src) && sim_argocd_source_check(src, "spec.source", err, errlen) < 0)
        return -1;
    if (srcs && !cJSON_IsNull(srcs) && !cJSON_IsArray(srcs))
        return snprintf(err, errlen, "json: cannot unmarshal into Go struct field ApplicationSpec.spec.sources "
                        "of type v1alpha1.ApplicationSources"), -1;
    cJSON_ArrayForEach(e, srcs)
        if (sim_argocd_source_check(e, "spec.sources", err, errlen) < 0)
            return -1;
    if ((!src || cJSON_IsNull(src)) && cJSON_GetArraySize(srcs) == 0)
        return snprintf(err, errlen, "application spec is invalid: spec.source or spec.sources is required"), -1;
    return 0;
}

/* sim_argocd_patch - PATCH /api/v1/applications/{name}. */
static void sim_argocd_patch(struct sim_req *rq, struct sim_resp *rp, struct sim_app *a)
{
    const char *patch = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rq->json, "patch"));
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rq->json, "patchType"));
    cJSON *p, *work = cJSON_Duplicate(a->app, 1), *old_spec;
    cJSON *md = cJSON_GetObjectItem(a->app, "metadata");
    char err[256];
    int changed;

    if (!patch) {
        sim_argocd_error(rp, 400, 3, "patch is required");
        cJSON_Delete(work);
        return;
    }
    p = cJSON_Parse(patch);
    if (!p) {
        sim_argocd_error(rp, 400, 3, "invalid character in patch: not valid JSON");
        cJSON_Delete(work);
        return;
    }
    if (type && strcmp(type, "merge") == 0) {
        work = json_merge_patch(work, p);
    } else if (!type || !*type || strcmp(type, "json") == 0) {
        if (sim_json_patch(&work, p, err, sizeof err) != 0) {
            sim_argocd_error(rp, 400, 3, err);
            cJSON_Delete(work);
            cJSON_Delete(p);
            return;
        }
    } else {
        snprintf(err, sizeof err, "Patch type '%s' is not supported", type);
        sim_argocd_error(rp, 400, 3, err);
        cJSON_Delete(work);
        cJSON_Delete(p);
        return;
    }
    cJSON_Delete(p);
    if (!cJSON_IsObject(work) || !cJSON_IsObject(cJSON_GetObjectItem(work, "spec"))) {
        sim_argocd_error(rp, 400, 3, "application spec is invalid after the patch");
        cJSON_Delete(work);
        return;
    }
    if (sim_argocd_spec_check(cJSON_GetObjectItem(work, "spec"), err, sizeof err) < 0) {
        sim_argocd_error(rp, 400, 3, err);
        cJSON_Delete(work);
        return;
    }
    /* the name and namespace cannot change; the rest of metadata is the server's */
    cJSON_ReplaceItemInObject(work, "metadata", cJSON_Duplicate(md, 1));
    old_spec = cJSON_GetObjectItem(a->app, "spec");
    changed = !cJSON_Compare(old_spec, cJSON_GetObjectItem(work, "spec"), 1);
    cJSON_Delete(a->app);
    a->app = work;
    if (changed)
        cJSON_ReplaceItemInObject(cJSON_GetObjectItem(cJSON_GetObjectItem(a->app, "status"), "sync"),
                                  "status", cJSON_CreateString("OutOfSync"));
    sim_argocd_bump(a, changed);
    sim_resp_json(rp, 200, cJSON_Duplicate(a->app, 1));
}

/* sim_argocd_sync - POST /api/v1/applications/{name}/sync. */
static void sim_argocd_sync(struct sim_req *rq, struct sim_resp *rp, struct sim_app *a)
{
    const char *rev = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rq->json, "revision"));
    cJSON *src = sim_argocd_src(a->app);
    cJSON *op, *st = cJSON_GetObjectItem(a->app, "status");

    if (a->op_start) {
        sim_argocd_error(rp, 400, 9, "another operation is already in progress");
        return;
    }
    if (cJSON_IsArray(src))
        rev = "";                 /* multi-source: every source at its targetRevision */
    else if (!rev || !*rev)
        rev = cJSON_GetStringValue(cJSON_GetObjectItem(src, "targetRevision"));
    if (!rev)
        rev = "HEAD";
    op = cJSON_CreateObject();
    if (cJSON_IsArray(src))
        cJSON_AddItemToObject(cJSON_AddObjectToObject(op, "sync"), "revisions", sim_argocd_revisions(src));
    else
        cJSON_AddStringToObject(cJSON_AddObjectToObject(op, "sync"), "revision", rev);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(op, "initiatedBy"), "username", "admin");
    cJSON_AddItemToObject(op, "retry", cJSON_CreateObject());
    cJSON_DeleteItemFromObject(a->app, "operation");
    cJSON_AddItemToObject(a->app, "operation", op);
    cJSON_ReplaceItemInObject(st, "operationState",
                              sim_argocd_op_state(src, rev, "Running", "", rq->now, 0));
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(st, "health"), "status", cJSON_CreateString("Progressing"));
    a->op_start = rq->now;
    sim_argocd_bump(a, 0);
    sim_resp_json(rp, 200, cJSON_Duplicate(a->app, 1));
}

/* sim_argocd_arg - a request parameter from the query, else from the JSON body. */
static const char *sim_argocd_arg(const struct sim_req *rq, const char *name)
{
    const char *v = sim_req_arg(rq, name);

    if (!v)
        v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rq->json, name));
    return v;
}

/* sim_argocd_handle - everything under /argocd. */
void sim_argocd_handle(struct sim *s, struct sim_req *rq, struct sim_resp *rp)
{
    const char *m = rq->method, *name, *ns, *project;
    int get = strcmp(m, "GET") == 0;
    struct sim_app *a;
    char msg[512];

    if (!sim_argocd_auth(s, rq, rp))
        return;
    sim_argocd_advance(s, rq->now);
    if (rq->nseg < 3 || strcmp(rq->seg[0], "api") != 0 || strcmp(rq->seg[1], "v1") != 0
        || strcmp(rq->seg[2], "applications") != 0) {
        sim_argocd_error(rp, 404, 5, "Not Found");
        return;
    }
    if (rq->json_bad || (rq->json && !cJSON_IsObject(rq->json))) {
        sim_argocd_error(rp, 400, 3, "unexpected token in the request body: not a JSON object");
        return;
    }
    if (rq->nseg == 3) {
        cJSON *o, *items;
        const char *proj = sim_req_arg(rq, "projects"), *nm = sim_req_arg(rq, "name");
        if (!get) {
            sim_argocd_error(rp, 404, 5, "Not Found");
            return;
        }
        o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "metadata", cJSON_CreateObject());
        items = cJSON_AddArrayToObject(o, "items");
        for (a = s->apps; a; a = a->next) {
            const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(a->app, "spec"),
                                                                     "project"));
            if (proj && *proj && strcmp(proj, p) != 0)
                continue;
            if (nm && *nm && strcmp(nm, sim_argocd_name(a)) != 0)
                continue;
            cJSON_AddItemToArray(items, cJSON_Duplicate(a->app, 1));
        }
        sim_resp_json(rp, 200, o);
        return;
    }
    name = rq->seg[3];
    ns = sim_argocd_arg(rq, "appNamespace");
    project = sim_argocd_arg(rq, "project");
    a = sim_argocd_find(s, name, ns);
    if (a && project && *project
        && strcmp(project, cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(a->app, "spec"),
                                                                     "project"))) != 0)
        a = NULL;  /* not in the project asked for: as if absent */
    if (!a && !sim_argocd_find(s, name, ns) && cJSON_IsFalse(sim_scenario_get(s, "argocd", "autoCreate")) == 0
        && name_valid(name))
        a = sim_argocd_app_new(s, name, ns && *ns ? ns : "argocd", project && *project ? project : "default",
                               NULL);
    if (!a) {
        if (project && *project) {
            snprintf(msg, sizeof msg, "applications.argoproj.io \"%s\" not found", name);
            sim_argocd_error(rp, 404, 5, msg);
        } else {
            sim_argocd_error(rp, 403, 7, "permission denied");
        }
        return;
    }
    if (a->flaky > 0) {
        a->flaky--;
        sim_argocd_error(rp, 503, 14, "connection error: desc = \"transport: error while dialing\"");
        return;
    }
    if (rq->nseg == 4 && get) {
        sim_resp_json(rp, 200, cJSON_Duplicate(a->app, 1));
    } else if (rq->nseg == 4 && strcmp(m, "PATCH") == 0) {
        sim_argocd_patch(rq, rp, a);
    } else if (rq->nseg == 5 && strcmp(m, "POST") == 0 && strcmp(rq->seg[4], "sync") == 0) {
        sim_argocd_sync(rq, rp, a);
    } else if (rq->nseg == 5 && strcmp(m, "DELETE") == 0 && strcmp(rq->seg[4], "operation") == 0) {
        if (!a->op_start) {
            sim_argocd_error(rp, 400, 9, "Unable to terminate operation. No operation is in progress");
            return;
        }
        sim_argocd_finish(a, "failed", rq->now);
        cJSON_ReplaceItemInObject(cJSON_GetObjectItem(cJSON_GetObjectItem(a->app, "status"), "operationState"),
                                  "message", cJSON_CreateString("Operation terminated"));
        sim_resp_json(rp, 200, cJSON_CreateObject());
    } else {
        sim_argocd_error(rp, 404, 5, "Not Found");
    }
}
