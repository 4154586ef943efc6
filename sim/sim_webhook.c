/* sim_webhook.c - promo-sim's webhook sender: with --webhook-url URL, a
 * small background thread notices runs that finished and Argo CD
 * operations that ended, and POSTs what the real systems send (docs/sim.md,
 * docs/webhook.md), signed the same way with the secrets of
 * --webhook-secrets FILE:
 *   GitHub   URL/github   X-GitHub-Event: workflow_run, action completed,
 *                         X-Hub-Signature-256: sha256=HMAC-SHA256(secret, body)
 *   GitLab   URL/gitlab   X-Gitlab-Event: Pipeline Hook, X-Gitlab-Token
 *   Jenkins  URL/jenkins  the Notification plugin's JSON, X-Promo-Token
 *   Argo CD  URL/argocd   {app, sync, health, revision}, X-Promo-Token
 * Each is sent once, over one kept-alive connection (a failed delivery is
 * logged, not retried, as a lost webhook would be), and written to the
 * request log as system "webhook" with the time it was sent and the run or
 * application it is about, so a test can match it to what promo did next.
 * Runs progress lazily, so the thread looks every SIM_WEBHOOK_TICK_MS.
 * Written from the systems' documentation; nothing is
 * shared with promo-webhook. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/log.h"
#include "util/util.h"
#include "util/yamljson.h"
#include "sim/sim.h"

#define SIM_WEBHOOK_TICK_MS 5
#define SIM_WEBHOOK_MAX     256     /* deliveries collected in one look */

/* One delivery, built under the lock and sent outside it. */
struct sim_webhook_out {
    enum sim_system sys;
    char *body;
    char what[96];
    cJSON *about;                /* for the request log: {run:{...}, key} or {application} */
};

static struct {
    struct sim *s;
    char *url;
    char *github, *gitlab, *jenkins, *argocd;   /* secrets */
    pthread_t thread;
    int running;
    volatile sig_atomic_t stop;
    long seq;
    CURL *curl;                  /* the thread's handle: its connection is kept alive */
} sim_webhook;

/* sim_webhook_secret - a string at doc.sys.key, copied, or NULL. */
static char *sim_webhook_secret(const cJSON *doc, const char *sys, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, sys), key);

    return cJSON_IsString(v) && *v->valuestring ? xstrdup(v->valuestring) : NULL;
}

/* sim_webhook_github - workflow_run completed for r. */
static char *sim_webhook_github(struct sim *s, const struct sim_run *r, const char *base, int64_t now)
{
    cJSON *o = cJSON_CreateObject(), *repo = cJSON_CreateObject(), *sender = cJSON_CreateObject();
    char *out;

    cJSON_AddStringToObject(o, "action", "completed");
    cJSON_AddItemToObject(o, "workflow_run", sim_github_run_json(s, r, base, now));
    cJSON_AddStringToObject(repo, "full_name", r->repo ? r->repo : "");
    cJSON_AddItemToObject(o, "repository", repo);
    cJSON_AddStringToObject(sender, "login", "promo-sim");
    cJSON_AddItemToObject(o, "sender", sender);
    out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return out;
}

/* sim_webhook_gitlab - a Pipeline Hook for r. */
static char *sim_webhook_gitlab(struct sim *s, const struct sim_run *r, const char *base, int64_t now)
{
    cJSON *o = cJSON_CreateObject(), *oa = sim_gitlab_pipeline_json(s, r, base, now), *vars, *proj;
    const cJSON *p;
    char *out;

    cJSON_AddStringToObject(o, "object_kind", "pipeline");
    vars = cJSON_AddArrayToObject(oa, "variables");
    cJSON_ArrayForEach(p, r->params) {
        cJSON *v = cJSON_CreateObject();
        cJSON_AddStringToObject(v, "key", p->string);
        cJSON_AddStringToObject(v, "value", cJSON_IsString(p) ? p->valuestring : "");
        cJSON_AddItemToArray(vars, v);
    }
    cJSON_AddItemToObject(o, "object_attributes", oa);
    proj = cJSON_AddObjectToObject(o, "project");
    cJSON_AddNumberToObject(proj, "id", (double)r->workflow_id);
    cJSON_AddStringToObject(proj, "path_with_namespace", r->job ? r->job : "");
    out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return out;
}

/* sim_webhook_job_url - BASE/jenkins/job/A/job/B/N/ for job "A/B" (caller frees). */
static char *sim_webhook_job_url(const char *base, const char *job, long number)
{
    size_t len = strlen(base) + 16 + 5 * strlen(job) + 32, o;
    char *u = xmalloc(len);

    o = (size_t)snprintf(u, len, "%s/jenkins/job/", base);
    for (; *job && o + 6 < len; job++) {
        if (*job == '/') {
            memcpy(u + o, "/job/", 5);
            o += 5;
        } else {
            u[o++] = *job;
        }
    }
    snprintf(u + o, len - o, "/%ld/", number);
    return u;
}

/* sim_webhook_jenkins - the Notification plugin's COMPLETED event for r. */
static char *sim_webhook_jenkins(const struct sim_run *r, const char *base)
{
    cJSON *o = cJSON_CreateObject(), *b = cJSON_CreateObject();
    char *out, *u;

    cJSON_AddStringToObject(o, "name", r->job ? r->job : "");
    cJSON_AddItemToObject(o, "build", b);
    cJSON_AddNumberToObject(b, "number", (double)r->number);
    cJSON_AddNumberToObject(b, "queue_id", (double)r->id);
    cJSON_AddStringToObject(b, "phase", "COMPLETED");
    cJSON_AddStringToObject(b, "status", sim_jenkins_result(r));
    u = sim_webhook_job_url(base, r->job ? r->job : "", r->number);
    cJSON_AddStringToObject(b, "full_url", u);
    free(u);
    cJSON_AddItemToObject(b, "parameters", cJSON_Duplicate(r->params, 1));
    out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return out;
}

/* sim_webhook_at - the string at o.a.b, or dflt. */
static const char *sim_webhook_at(const cJSON *o, const char *a, const char *b, const char *dflt)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, a), b));

    return v ? v : dflt;
}

/* sim_webhook_argocd - the notification for an application whose operation ended. */
static char *sim_webhook_argocd(const struct sim_app *a)
{
    const cJSON *st = cJSON_GetObjectItem(a->app, "status");
    cJSON *o = cJSON_CreateObject();
    char *out;

    cJSON_AddStringToObject(o, "app", sim_webhook_at(a->app, "metadata", "name", ""));
    cJSON_AddStringToObject(o, "sync", sim_webhook_at(st, "sync", "status", "Unknown"));
    cJSON_AddStringToObject(o, "health", sim_webhook_at(st, "health", "status", "Unknown"));
    cJSON_AddStringToObject(o, "revision", sim_webhook_at(st, "sync", "revision", ""));
    out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return out;
}

/* sim_webhook_about_run - what a delivery about run r says in the request
 * log: the run (id, number, job, parameters) and its idempotency key. */
static cJSON *sim_webhook_about_run(const struct sim_run *r)
{
    cJSON *o = cJSON_CreateObject(), *run = cJSON_AddObjectToObject(o, "run");
    const char *key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r->params, "PROMO_KEY"));

    if (!key)
        key = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r->params, "promo_key"));
    cJSON_AddNumberToObject(run, "id", (double)r->id);
    cJSON_AddNumberToObject(run, "number", (double)r->number);
    cJSON_AddStringToObject(run, "job", r->job ? r->job : "");
    cJSON_AddItemToObject(run, "params", r->params ? cJSON_Duplicate(r->params, 1) : cJSON_CreateObject());
    if (key)
        cJSON_AddStringToObject(o, "key", key);
    else
        cJSON_AddNullToObject(o, "key");
    return o;
}

/* sim_webhook_collect - under the lock: the deliveries due now. */
static int sim_webhook_collect(struct sim *s, struct sim_webhook_out *out, int max)
{
    int64_t now = wall_ms();
    struct sim_run *r;
    struct sim_app *a;
    char base[96];
    int n = 0;

    snprintf(base, sizeof(base), "http://127.0.0.1:%d", s->port);
    sim_argocd_advance(s, now);
    sim_jenkins_advance(s, now);
    for (r = s->runs; r && n < max; r = r->next) {
        if (r->notified || sim_run_phase(r, now) != SIM_DONE)
            continue;
        r->notified = 1;
        out[n].sys = r->sys;
        if (r->sys == SIM_SYS_GITHUB && sim_webhook.github) {
            char gb[128];
            snprintf(gb, sizeof(gb), "%s/github", base);
            out[n].body = sim_webhook_github(s, r, gb, now);
        } else if (r->sys == SIM_SYS_GITLAB && sim_webhook.gitlab) {
            out[n].body = sim_webhook_gitlab(s, r, base, now);
        } else if (r->sys == SIM_SYS_JENKINS && sim_webhook.jenkins && r->number > 0) {
            out[n].body = sim_webhook_jenkins(r, base);
        } else {
            continue;
        }
        snprintf(out[n].what, sizeof(out[n].what), "%s run %ld", sim_system_name(r->sys), r->id);
        out[n].about = sim_webhook_about_run(r);
        n++;
    }
    for (a = s->apps; a && n < max; a = a->next) {
        if (!a->notify)
            continue;
        a->notify = 0;
        if (!sim_webhook.argocd)
            continue;
        out[n].sys = SIM_SYS_ARGOCD;
        out[n].body = sim_webhook_argocd(a);
        snprintf(out[n].what, sizeof(out[n].what), "argocd app");
        out[n].about = cJSON_CreateObject();
        cJSON_AddStringToObject(out[n].about, "application", sim_webhook_at(a->app, "metadata", "name", ""));
        n++;
    }
    return n;
}

/* sim_webhook_log - under the lock: the request log entry of a delivery
 * sent at sent_ms (epoch) to url (path is its /github ... part), answered
 * with code (0: none) after ms, or failed with error. */
static void sim_webhook_log(struct sim *s, const struct sim_webhook_out *o, const char *url, const char *path,
                            int64_t sent_ms, int64_t ms, long code, const char *error)
{
    cJSON *e = cJSON_CreateObject(), *it;
    char ts[40];

    pthread_mutex_lock(&s->lock);
    cJSON_AddNumberToObject(e, "seq", (double)++s->seq);
    cJSON_AddStringToObject(e, "time", time_format_iso(sent_ms, ts, sizeof ts));
    cJSON_AddStringToObject(e, "system", "webhook");
    cJSON_AddStringToObject(e, "method", "POST");
    cJSON_AddStringToObject(e, "path", path);
    cJSON_AddStringToObject(e, "url", url);
    cJSON_AddStringToObject(e, "source", sim_system_name(o->sys));
    if (o->about) {
        cJSON_ArrayForEach(it, o->about)
            cJSON_AddItemToObject(e, it->string, cJSON_Duplicate(it, 1));
    }
    it = cJSON_Parse(o->body);
    cJSON_AddItemToObject(e, "body", it ? it : cJSON_CreateString(o->body));
    cJSON_AddNumberToObject(e, "status", (double)code);
    if (error)
        cJSON_AddStringToObject(e, "error", error);
    else
        cJSON_AddNullToObject(e, "error");
    cJSON_AddNumberToObject(e, "sentAt", (double)sent_ms);
    cJSON_AddNumberToObject(e, "ms", (double)ms);
    sim_http_log_add(s, e);
    pthread_mutex_unlock(&s->lock);
}

/* sim_webhook_discard - curl write callback: the receiver's answer body is
 * not kept (its status is), and never goes to stdout. */
static size_t sim_webhook_discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p, (void)arg;
    return size * n;
}

/* sim_webhook_send - POST one delivery with its system's headers; log it. */
static void sim_webhook_send(struct sim *s, const struct sim_webhook_out *o)
{
    struct curl_slist *h = NULL;
    char line[600], *url;
    const char *path = "argocd";
    long code = 0;
    int64_t sent_ms, t0;
    CURL *c;
    CURLcode rc;

    h = curl_slist_append(h, "Content-Type: application/json");
    snprintf(line, sizeof(line), "X-Sim-Delivery: %ld", ++sim_webhook.seq);
    h = curl_slist_append(h, line);
    switch (o->sys) {
    case SIM_SYS_GITHUB: {
        static const char hex[] = "0123456789abcdef";
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int len = 0, i;
        char sig[2 * EVP_MAX_MD_SIZE + 1];

        path = "github";
        HMAC(EVP_sha256(), sim_webhook.github, (int)strlen(sim_webhook.github), (const unsigned char *)o->body,
             strlen(o->body), mac, &len);
        for (i = 0; i < len; i++) {
            sig[2 * i] = hex[mac[i] >> 4];
            sig[2 * i + 1] = hex[mac[i] & 15];
        }
        sig[2 * len] = 0;
        h = curl_slist_append(h, "X-GitHub-Event: workflow_run");
        h = curl_slist_append(h, "User-Agent: GitHub-Hookshot/promo-sim");
        snprintf(line, sizeof(line), "X-GitHub-Delivery: sim-%ld", sim_webhook.seq);
        h = curl_slist_append(h, line);
        snprintf(line, sizeof(line), "X-Hub-Signature-256: sha256=%s", sig);
        h = curl_slist_append(h, line);
        break;
    }
    case SIM_SYS_GITLAB:
        path = "gitlab";
        h = curl_slist_append(h, "X-Gitlab-Event: Pipeline Hook");
        snprintf(line, sizeof(line), "X-Gitlab-Token: %s", sim_webhook.gitlab);
        h = curl_slist_append(h, line);
        break;
    case SIM_SYS_JENKINS:
        path = "jenkins";
        snprintf(line, sizeof(line), "X-Promo-Token: %s", sim_webhook.jenkins);
        h = curl_slist_append(h, line);
        break;
    default:
        snprintf(line, sizeof(line), "X-Promo-Token: %s", sim_webhook.argocd);
        h = curl_slist_append(h, line);
        break;
    }
    explicit_bzero(line, sizeof(line));
    url = xasprintf("%s/%s", sim_webhook.url, path);
    if (!sim_webhook.curl)
        sim_webhook.curl = curl_easy_init();
    c = sim_webhook.curl;
    if (!c) {
        curl_slist_free_all(h);
        free(url);
        return;
    }
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, o->body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sim_webhook_discard);
    sent_ms = wall_ms();
    t0 = now_ms();
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    log_info("webhook_sent", "what=%s url=%s status=%ld error=%s sentAt=%lld", log_q(o->what), log_q(url), code,
             log_q(rc == CURLE_OK ? "-" : curl_easy_strerror(rc)), (long long)sent_ms);
    sim_webhook_log(s, o, url, url + strlen(sim_webhook.url), sent_ms, now_ms() - t0,
                    code, rc == CURLE_OK ? NULL : curl_easy_strerror(rc));
    curl_slist_free_all(h);
    free(url);
}

/* sim_webhook_main - the thread: look, send, sleep. */
static void *sim_webhook_main(void *arg)
{
    struct sim *s = arg;
    struct sim_webhook_out *out = xcalloc(SIM_WEBHOOK_MAX, sizeof(*out));
    struct timespec ts = { 0, SIM_WEBHOOK_TICK_MS * 1000000L };
    int n, i;

    while (!sim_webhook.stop) {
        pthread_mutex_lock(&s->lock);
        n = sim_webhook_collect(s, out, SIM_WEBHOOK_MAX);
        pthread_mutex_unlock(&s->lock);
        for (i = 0; i < n; i++) {
            if (!sim_webhook.stop)
                sim_webhook_send(s, &out[i]);
            cJSON_free(out[i].body);
            out[i].body = NULL;
            cJSON_Delete(out[i].about);
            out[i].about = NULL;
        }
        if (n == 0)
            nanosleep(&ts, NULL);
    }
    if (sim_webhook.curl)
        curl_easy_cleanup(sim_webhook.curl);
    sim_webhook.curl = NULL;
    free(out);
    return NULL;
}

/* sim_webhook_start - read the secrets and start the thread (signals blocked in it). */
int sim_webhook_start(struct sim *s, const char *url, const char *secrets_path, char *err, size_t errlen)
{
    struct yj_limits lim = YJ_LIMITS_DEFAULT;
    struct yj_doc d;
    const cJSON *doc;
    sigset_t all, old;

    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        snprintf(err, errlen, "--webhook-url wants an http:// or https:// URL");
        return -1;
    }
    if (!secrets_path) {
        snprintf(err, errlen, "--webhook-url needs --webhook-secrets FILE");
        return -1;
    }
    memset(&d, 0, sizeof d);
    lim.max_bytes = 64 * 1024;
    if (yj_parse_file(secrets_path, &lim, &d, err, errlen) != 0)
        return -1;
    doc = cJSON_GetArrayItem(d.docs, 0);
    if (!cJSON_IsObject(doc)) {
        snprintf(err, errlen, "%s: the webhook secrets file must be a mapping", secrets_path);
        yj_free(&d);
        return -1;
    }
    sim_webhook.github = sim_webhook_secret(doc, "github", "secret");
    sim_webhook.gitlab = sim_webhook_secret(doc, "gitlab", "token");
    sim_webhook.jenkins = sim_webhook_secret(doc, "jenkins", "token");
    sim_webhook.argocd = sim_webhook_secret(doc, "argocd", "token");
    yj_free(&d);
    if (sim_webhook.github) log_secret(sim_webhook.github);
    if (sim_webhook.gitlab) log_secret(sim_webhook.gitlab);
    if (sim_webhook.jenkins) log_secret(sim_webhook.jenkins);
    if (sim_webhook.argocd) log_secret(sim_webhook.argocd);
    sim_webhook.url = xstrdup(url);
    while (strlen(sim_webhook.url) > 8 && sim_webhook.url[strlen(sim_webhook.url) - 1] == '/')
        sim_webhook.url[strlen(sim_webhook.url) - 1] = 0;
    sim_webhook.s = s;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    if (pthread_create(&sim_webhook.thread, NULL, sim_webhook_main, s) != 0) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        snprintf(err, errlen, "cannot start the webhook thread");
        return -1;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    sim_webhook.running = 1;
    return 0;
}

/* sim_webhook_free_secret - wipe and free one secret. */
static void sim_webhook_free_secret(char **p)
{
    if (*p) {
        explicit_bzero(*p, strlen(*p));
        free(*p);
        *p = NULL;
    }
}

/* sim_webhook_stop - stop the thread (at most one delivery's timeout) and free. */
void sim_webhook_stop(struct sim *s)
{
    if (sim_webhook.running) {
        sim_webhook.stop = 1;
        pthread_join(sim_webhook.thread, NULL);
        sim_webhook.running = 0;
        curl_global_cleanup();
    }
    free(sim_webhook.url);
    sim_webhook.url = NULL;
    sim_webhook_free_secret(&sim_webhook.github);
    sim_webhook_free_secret(&sim_webhook.gitlab);
    sim_webhook_free_secret(&sim_webhook.jenkins);
    sim_webhook_free_secret(&sim_webhook.argocd);
}
