/* webhook_event.c - one small, strict decoder per webhook source (the body
 * is verified already). Each says whether the event is one promo acts on
 * and what identifies the run or application: GitHub workflow_run (run id,
 * and keys in display_title), GitLab Pipeline Hook (pipeline id, PROMO_KEY
 * variable), Jenkins (the Notification plugin's shape: build.queue_id,
 * build.parameters.PROMO_KEY), Argo CD (docs/webhook.md: app, sync, health).
 * Shapes in docs/webhook.md. */
#include <stdio.h>
#include <string.h>

#include "domain/promokey.h"
#include "util/util.h"
#include "ipc/frame.h"
#include "webhook/webhook.h"
#include "util/json.h"

/* webhook_source_name - "github", "gitlab", "jenkins", "argocd". */
const char *webhook_source_name(enum webhook_source src)
{
    static const char *const names[] = { "github", "gitlab", "jenkins", "argocd" };

    return src < WH_NSOURCES ? names[src] : "unknown";
}

/* webhook_event_key - add s to ev's keys when it is a promo key. */
static void webhook_event_key(struct webhook_event *ev, const char *s)
{
    if (s && promo_key_valid(s) && ev->nkeys < (int)ARRAY_LEN(ev->keys))
        str_copy(ev->keys[ev->nkeys++], s, sizeof(ev->keys[0]));
}

/* webhook_event_keys_in - every "pk-<24 hex>" inside text. */
static void webhook_event_keys_in(struct webhook_event *ev, const char *text)
{
    const char *p = text;
    char k[PROMO_KEY_SIZE];

    while (p && (p = strstr(p, "pk-")) != NULL) {
        if (strlen(p) >= PROMO_KEY_LEN) {
            memcpy(k, p, PROMO_KEY_LEN);
            k[PROMO_KEY_LEN] = 0;
            webhook_event_key(ev, k);
        }
        p += 3;
    }
}

/* webhook_event_id - a positive integer member as a decimal string; 0 or -1. */
static int webhook_event_id(const cJSON *o, const char *name, char *out, size_t outlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 9e15 ||
        v->valuedouble != (double)(int64_t)v->valuedouble)
        return -1;
    snprintf(out, outlen, "%lld", (long long)v->valuedouble);
    return 0;
}

/* webhook_event_github - X-GitHub-Event ping or workflow_run. */
static int webhook_event_github(const char *hev, const cJSON *b, struct webhook_event *ev, char *err, size_t errlen)
{
    const cJSON *run = cJSON_GetObjectItemCaseSensitive(b, "workflow_run");
    const char *action = json_str(b, "action", NULL);

    if (!hev) {
        snprintf(err, errlen, "no X-GitHub-Event header");
        return -1;
    }
    if (strcmp(hev, "workflow_run") != 0) {
        snprintf(ev->what, sizeof(ev->what), "%.50s", strcmp(hev, "ping") == 0 ? "ping" : "other event");
        return 0;
    }
    if (!action || !cJSON_IsObject(run) || webhook_event_id(run, "id", ev->run_id, sizeof(ev->run_id)) < 0) {
        snprintf(err, errlen, "workflow_run without action, workflow_run or workflow_run.id");
        return -1;
    }
    snprintf(ev->what, sizeof(ev->what), "workflow_run %.40s", action);
    webhook_event_keys_in(ev, json_str(run, "display_title", NULL));
    webhook_event_keys_in(ev, json_str(run, "name", NULL));
    ev->relevant = strcmp(action, "completed") == 0;
    return 0;
}

/* webhook_event_gitlab - X-Gitlab-Event: Pipeline Hook. */
static int webhook_event_gitlab(const char *hev, const cJSON *b, struct webhook_event *ev, char *err, size_t errlen)
{
    static const char *const final[] = { "success", "failed", "canceled", "skipped" };
    const cJSON *oa = cJSON_GetObjectItemCaseSensitive(b, "object_attributes"), *v;
    const char *status = json_str(oa, "status", NULL);
    size_t i;

    if (!hev) {
        snprintf(err, errlen, "no X-Gitlab-Event header");
        return -1;
    }
    if (strcmp(hev, "Pipeline Hook") != 0) {
        snprintf(ev->what, sizeof(ev->what), "other event");
        return 0;
    }
    if (!cJSON_IsObject(oa) || !status || webhook_event_id(oa, "id", ev->run_id, sizeof(ev->run_id)) < 0) {
        snprintf(err, errlen, "pipeline event without object_attributes.id or .status");
        return -1;
    }
    snprintf(ev->what, sizeof(ev->what), "pipeline %.40s", status);
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(oa, "variables")) {
        const char *k = json_str(v, "key", NULL);
        if (k && strcmp(k, "PROMO_KEY") == 0)
            webhook_event_key(ev, json_str(v, "value", NULL));
    }
    for (i = 0; i < ARRAY_LEN(final); i++)
        if (strcmp(status, final[i]) == 0)
            ev->relevant = 1;
    return 0;
}

/* webhook_event_jenkins - {name, build: {phase, queue_id, parameters}}. */
static int webhook_event_jenkins(const cJSON *b, struct webhook_event *ev, char *err, size_t errlen)
{
    const cJSON *build = cJSON_GetObjectItemCaseSensitive(b, "build");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(build, "parameters"), *p;
    const char *phase = json_str(build, "phase", NULL);

    if (!cJSON_IsObject(build) || !phase) {
        snprintf(err, errlen, "jenkins notification without build.phase");
        return -1;
    }
    snprintf(ev->what, sizeof(ev->what), "build %.40s", phase);
    webhook_event_id(build, "queue_id", ev->run_id, sizeof(ev->run_id));
    if (cJSON_IsObject(params)) {
        webhook_event_key(ev, json_str(params, "PROMO_KEY", NULL));
    } else {
        cJSON_ArrayForEach(p, params) {            /* [{name, value}] as the build API has it */
            const char *n = json_str(p, "name", NULL);
            if (n && strcmp(n, "PROMO_KEY") == 0)
                webhook_event_key(ev, json_str(p, "value", NULL));
        }
    }
    ev->relevant = strcmp(phase, "COMPLETED") == 0 || strcmp(phase, "FINALIZED") == 0;
    return 0;
}

/* webhook_event_argocd - {app, cluster?, sync?, health?, revision?}. */
static int webhook_event_argocd(const cJSON *b, struct webhook_event *ev, char *err, size_t errlen)
{
    const char *app = json_str(b, "app", NULL), *cluster = json_str(b, "cluster", NULL);

    if (!app || !name_valid(app) || (cluster && strlen(cluster) >= sizeof(ev->cluster))) {
        snprintf(err, errlen, "argocd notification without a valid app");
        return -1;
    }
    str_copy(ev->application, app, sizeof(ev->application));
    if (cluster)
        str_copy(ev->cluster, cluster, sizeof(ev->cluster));
    snprintf(ev->what, sizeof(ev->what), "app %.20s %.20s", json_str(b, "sync", NULL) ? json_str(b, "sync", NULL) : "-",
             json_str(b, "health", NULL) ? json_str(b, "health", NULL) : "-");
    ev->relevant = 1;
    return 0;
}

/* webhook_event_decode - see webhook.h. */
int webhook_event_decode(enum webhook_source src, const char *hdr_event, const char *body, size_t len,
                         struct webhook_event *ev, char *err, size_t errlen)
{
    cJSON *b;
    const char *end = NULL;
    int rc;

    memset(ev, 0, sizeof(*ev));
    ev->source = src;
    if (len == 0 || !frame_utf8_valid((const unsigned char *)body, len)) {
        snprintf(err, errlen, len ? "body is not UTF-8 text" : "empty body");
        return -1;
    }
    b = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (!cJSON_IsObject(b)) {
        snprintf(err, errlen, "body is not a JSON object");
        cJSON_Delete(b);
        return -1;
    }
    switch (src) {
    case WH_GITHUB:  rc = webhook_event_github(hdr_event, b, ev, err, errlen); break;
    case WH_GITLAB:  rc = webhook_event_gitlab(hdr_event, b, ev, err, errlen); break;
    case WH_JENKINS: rc = webhook_event_jenkins(b, ev, err, errlen); break;
    default:         rc = webhook_event_argocd(b, ev, err, errlen); break;
    }
    cJSON_Delete(b);
    return rc;
}
