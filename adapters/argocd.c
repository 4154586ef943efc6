/* argocd.c - the Argo CD client: strict decoders of Application and error
 * answers, the error mapping, URL and patch builders (pure, unit-tested), and
 * the three asynchronous operations get, update and sync on util/http.h.
 * See argocd.h for the contracts. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cjson/cJSON.h>

#include "argocd.h"
#include "domain/config.h"
#include "util/http.h"
#include "util/log.h"
#include "util/util.h"
#include "util/loop.h"
#include "util/json.h"

#define ARGOCD_IN_PROGRESS "another operation is already in progress"

static const char *const argocd_sync_words[] = { "Unknown", "Synced", "OutOfSync" };
static const char *const argocd_health_words[] = {
    "Unknown", "Healthy", "Progressing", "Degraded", "Suspended", "Missing"
};
static const char *const argocd_phase_words[] = {
    "", "Running", "Terminating", "Failed", "Error", "Succeeded", "other"
};

/* argocd_msg - printf into dst (truncating quietly: messages only). */
static void argocd_msg(char *dst, size_t dstlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void argocd_msg(char *dst, size_t dstlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(dst, dstlen, fmt, ap);
    va_end(ap);
}

/* argocd_sync_name - the word of a sync status. */
const char *argocd_sync_name(enum argocd_sync s)
{
    return (unsigned)s < ARRAY_LEN(argocd_sync_words) ? argocd_sync_words[s] : "Unknown";
}

/* argocd_health_name - the word of a health status. */
const char *argocd_health_name(enum argocd_health h)
{
    return (unsigned)h < ARRAY_LEN(argocd_health_words) ? argocd_health_words[h] : "Unknown";
}

/* argocd_phase_name - the word of an operation phase ("" for none). */
const char *argocd_phase_name(enum argocd_phase p)
{
    return (unsigned)p < ARRAY_LEN(argocd_phase_words) ? argocd_phase_words[p] : "other";
}

/* argocd_word - the index of s in words[0..n), or dflt. */
static int argocd_word(const char *s, const char *const *words, size_t n, int dflt)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (words[i][0] && strcmp(s, words[i]) == 0)
            return (int)i;
    return dflt;
}

/* argocd_name_ok - 1..253 bytes of [A-Za-z0-9._-]. */
int argocd_name_ok(const char *s)
{
    size_t n;

    if (!s || !*s)
        return 0;
    for (n = 0; s[n]; n++) {
        unsigned char c = (unsigned char)s[n];
        if (n >= ARGOCD_NAME_MAX)
            return 0;
        if (!isalnum(c) && c != '.' && c != '_' && c != '-')
            return 0;
    }
    return 1;
}

/* argocd_type - the JSON type of j in words, for error messages. */
static const char *argocd_type(const cJSON *j)
{
    if (cJSON_IsObject(j)) return "an object";
    if (cJSON_IsArray(j)) return "an array";
    if (cJSON_IsString(j)) return "a string";
    if (cJSON_IsNumber(j)) return "a number";
    if (cJSON_IsBool(j)) return "a boolean";
    if (cJSON_IsNull(j)) return "null";
    return "invalid";
}

/* argocd_obj - parent.key as an object: 0 and *out when it is one, 1 when
 * absent or null (*out NULL), -1 with "path: must be an object, not X". */
static int argocd_obj(const cJSON *parent, const char *key, const char *path,
                      const cJSON **out, char *err, size_t errlen)
{
    const cJSON *j = parent ? cJSON_GetObjectItemCaseSensitive(parent, key) : NULL;

    *out = NULL;
    if (!j || cJSON_IsNull(j))
        return 1;
    if (!cJSON_IsObject(j)) {
        snprintf(err, errlen, "%s: must be an object, not %s", path, argocd_type(j));
        return -1;
    }
    *out = j;
    return 0;
}

/* argocd_str - copy parent.key (a string) into dst. Absent or null leaves
 * dst "" and returns 1. A longer string is truncated when trunc, else an
 * error; a non-string is an error: -1 with "path: reason" in err. */
static int argocd_str(const cJSON *parent, const char *key, const char *path,
                      char *dst, size_t dstlen, int trunc, char *err, size_t errlen)
{
    const cJSON *j = parent ? cJSON_GetObjectItemCaseSensitive(parent, key) : NULL;

    dst[0] = '\0';
    if (!j || cJSON_IsNull(j))
        return 1;
    if (!cJSON_IsString(j) || !j->valuestring) {
        snprintf(err, errlen, "%s: must be a string, not %s", path, argocd_type(j));
        return -1;
    }
    if (strlen(j->valuestring) >= dstlen && !trunc) {
        snprintf(err, errlen, "%s: longer than %zu bytes", path, dstlen - 1);
        return -1;
    }
    str_copy(dst, j->valuestring, dstlen);
    return 0;
}

/* argocd_parse_status - the status part of an Application into app. */
static int argocd_parse_status(const cJSON *status, struct argocd_app *app,
                               char *err, size_t errlen)
{
    const cJSON *sync, *health, *ops, *op, *opsync, *res, *revs;
    char word[64];

    if (argocd_obj(status, "sync", "status.sync", &sync, err, errlen) < 0)
        return -1;
    if (sync) {
        if (argocd_str(sync, "status", "status.sync.status", word, sizeof(word), 1, err, errlen) < 0)
            return -1;
        app->sync = argocd_word(word, argocd_sync_words, ARRAY_LEN(argocd_sync_words),
                                ARGOCD_SYNC_UNKNOWN);
        if (argocd_str(sync, "revision", "status.sync.revision", app->revision,
                       sizeof(app->revision), 0, err, errlen) < 0)
            return -1;
        /* A multi-source application reports revisions[] instead. */
        revs = cJSON_GetObjectItemCaseSensitive(sync, "revisions");
        if (revs && !cJSON_IsNull(revs)) {
            const cJSON *first;
            if (!cJSON_IsArray(revs)) {
                snprintf(err, errlen, "status.sync.revisions: must be an array, not %s",
                         argocd_type(revs));
                return -1;
            }
            first = cJSON_GetArrayItem(revs, 0);
            if (first && !app->revision[0]) {
                if (!cJSON_IsString(first)) {
                    snprintf(err, errlen, "status.sync.revisions[0]: must be a string, not %s",
                             argocd_type(first));
                    return -1;
                }
                if (strlen(first->valuestring) > ARGOCD_REV_MAX) {
                    snprintf(err, errlen, "status.sync.revisions[0]: longer than %d bytes",
                             ARGOCD_REV_MAX);
                    return -1;
                }
                str_copy(app->revision, first->valuestring, sizeof(app->revision));
            }
        }
    }
    if (argocd_obj(status, "health", "status.health", &health, err, errlen) < 0)
        return -1;
    if (health) {
        if (argocd_str(health, "status", "status.health.status", word, sizeof(word), 1, err, errlen) < 0)
            return -1;
        app->health = argocd_word(word, argocd_health_words, ARRAY_LEN(argocd_health_words),
                                  ARGOCD_HEALTH_UNKNOWN);
        if (argocd_str(health, "message", "status.health.message", app->health_message,
                       sizeof(app->health_message), 1, err, errlen) < 0)
            return -1;
    }
    if (argocd_obj(status, "operationState", "status.operationState", &ops, err, errlen) < 0)
        return -1;
    if (ops) {
        int r = argocd_str(ops, "phase", "status.operationState.phase", app->phase_word,
                           sizeof(app->phase_word), 0, err, errlen);
        if (r < 0)
            return -1;
        app->phase = r == 1 ? ARGOCD_PHASE_NONE
            : argocd_word(app->phase_word, argocd_phase_words, ARRAY_LEN(argocd_phase_words),
                          ARGOCD_PHASE_OTHER);
        if (argocd_str(ops, "message", "status.operationState.message", app->op_message,
                       sizeof(app->op_message), 1, err, errlen) < 0)
            return -1;
        if (argocd_obj(ops, "operation", "status.operationState.operation", &op, err, errlen) < 0)
            return -1;
        if (argocd_obj(op, "sync", "status.operationState.operation.sync", &opsync, err, errlen) < 0)
            return -1;
        if (argocd_str(opsync, "revision", "status.operationState.operation.sync.revision",
                       app->op_revision, sizeof(app->op_revision), 0, err, errlen) < 0)
            return -1;
        if (argocd_obj(ops, "syncResult", "status.operationState.syncResult", &res, err, errlen) < 0)
            return -1;
        if (!app->op_revision[0] &&
            argocd_str(res, "revision", "status.operationState.syncResult.revision",
                       app->op_revision, sizeof(app->op_revision), 0, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/* argocd_parse_app - decode an Application (see argocd.h). */
int argocd_parse_app(const char *body, size_t len, struct argocd_app *app,
                     char *err, size_t errlen)
{
    cJSON *doc;
    const cJSON *meta, *spec, *src, *status, *op, *opsync;
    int rc = -1;

    memset(app, 0, sizeof(*app));
    if (!body || len == 0) {
        snprintf(err, errlen, "(answer): empty");
        return -1;
    }
    doc = cJSON_ParseWithLength(body, len);
    if (!doc) {
        snprintf(err, errlen, "(answer): not valid JSON");
        return -1;
    }
    if (!cJSON_IsObject(doc)) {
        snprintf(err, errlen, "(answer): must be an object, not %s", argocd_type(doc));
        goto out;
    }
    if (argocd_obj(doc, "metadata", "metadata", &meta, err, errlen) < 0)
        goto out;
    if (!meta) {
        snprintf(err, errlen, "metadata: required field is missing");
        goto out;
    }
    switch (argocd_str(meta, "name", "metadata.name", app->name, sizeof(app->name), 0, err, errlen)) {
    case -1:
        goto out;
    case 1:
        snprintf(err, errlen, "metadata.name: required field is missing");
        goto out;
    }
    if (!app->name[0]) {
        snprintf(err, errlen, "metadata.name: must not be empty");
        goto out;
    }
    if (argocd_str(meta, "namespace", "metadata.namespace", app->app_namespace,
                   sizeof(app->app_namespace), 0, err, errlen) < 0)
        goto out;
    if (argocd_obj(doc, "spec", "spec", &spec, err, errlen) < 0)
        goto out;
    if (argocd_str(spec, "project", "spec.project", app->project, sizeof(app->project), 0,
                   err, errlen) < 0)
        goto out;
    if (argocd_obj(spec, "source", "spec.source", &src, err, errlen) < 0)
        goto out;
    if (argocd_str(src, "targetRevision", "spec.source.targetRevision", app->target_revision,
                   sizeof(app->target_revision), 0, err, errlen) < 0)
        goto out;
    /* An operation requested but not yet picked up by the controller. */
    if (argocd_obj(doc, "operation", "operation", &op, err, errlen) < 0)
        goto out;
    if (op) {
        app->op_requested = 1;
        if (argocd_obj(op, "sync", "operation.sync", &opsync, err, errlen) < 0)
            goto out;
        if (argocd_str(opsync, "revision", "operation.sync.revision", app->op_requested_revision,
                       sizeof(app->op_requested_revision), 0, err, errlen) < 0)
            goto out;
    }
    if (argocd_obj(doc, "status", "status", &status, err, errlen) < 0)
        goto out;
    if (status && argocd_parse_status(status, app, err, errlen) < 0)
        goto out;
    rc = 0;
out:
    cJSON_Delete(doc);
    if (rc < 0) {
        char keep[256];
        str_copy(keep, err, sizeof(keep));
        memset(app, 0, sizeof(*app));
        str_copy(err, keep, errlen);
    }
    return rc;
}

/* argocd_parse_error - decode {code, error, message} (see argocd.h). */
int argocd_parse_error(const char *body, size_t len, struct argocd_error *e)
{
    cJSON *doc;
    const cJSON *code;
    char err[64], word[ARGOCD_MSG_MAX + 1];
    int rc = -1;

    memset(e, 0, sizeof(*e));
    e->code = -1;
    if (!body || len == 0 || !(doc = cJSON_ParseWithLength(body, len)))
        return -1;
    if (!cJSON_IsObject(doc))
        goto out;
    code = cJSON_GetObjectItemCaseSensitive(doc, "code");
    if (code && !cJSON_IsNull(code)) {
        if (!cJSON_IsNumber(code) || code->valuedouble < 0 || code->valuedouble > 1000)
            goto out;
        e->code = code->valueint;
    }
    if (argocd_str(doc, "message", "message", e->message, sizeof(e->message), 1, err, sizeof(err)) < 0)
        goto out;
    if (argocd_str(doc, "error", "error", word, sizeof(word), 1, err, sizeof(err)) < 0)
        goto out;
    if (!e->message[0])
        str_copy(e->message, word, sizeof(e->message));
    rc = 0;
out:
    cJSON_Delete(doc);
    if (rc < 0) {
        memset(e, 0, sizeof(*e));
        e->code = -1;
    }
    return rc;
}

/* argocd_clean - copy s into dst, control bytes as '?', for messages. */
static void argocd_clean(char *dst, size_t dstlen, const char *s)
{
    size_t i;

    str_copy(dst, s, dstlen);
    for (i = 0; dst[i]; i++)
        if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
            dst[i] = '?';
}

/* argocd_classify - map one HTTP answer (see argocd.h). */
int argocd_classify(int http_error, const char *http_errmsg, long status,
                    const char *body, size_t len, const char *retry_after,
                    const char *cluster, const char *app, int with_project,
                    struct argocd_result *res)
{
    struct argocd_error e;
    char msg[160];
    const char *cl = cluster && *cluster ? cluster : "default";
    long ra;

    res->error = 0;
    res->errmsg[0] = '\0';
    res->http_status = status;
    res->retry_after_ms = 0;
    if (http_error != HTTP_OK) {
        /* A bad URL, a refused redirect or an oversized answer will not get
         * better by waiting: fix the config. The rest is infrastructure. */
        res->error = (http_error == HTTP_EBADURL || http_error == HTTP_EREDIRECT ||
                      http_error == HTTP_ETOOBIG) ? ADAPTER_EPERM : ADAPTER_ETEMP;
        argocd_msg(res->errmsg, sizeof(res->errmsg), "argocd: cluster %s: application %s: %s",
                 cl, app, http_errmsg && *http_errmsg ? http_errmsg : "request failed");
        return res->error;
    }
    if (status >= 200 && status < 300)
        return 0;
    argocd_parse_error(body, len, &e);
    argocd_clean(msg, sizeof(msg), e.message[0] ? e.message : "(no message)");
    if (retry_after && (ra = http_retry_after_ms(retry_after)) > 0)
        res->retry_after_ms = ra;
    /* Argo CD refuses a sync while another operation runs (gRPC
     * FailedPrecondition, HTTP 400): wait for it to end, then look again. */
    if (strstr(e.message, ARGOCD_IN_PROGRESS)) {
        res->error = ADAPTER_ETEMP;
        argocd_msg(res->errmsg, sizeof(res->errmsg),
                 "argocd: cluster %s: application %s: another operation is already in progress",
                 cl, app);
    } else if (status == 401) {
        res->error = ADAPTER_EPERM;
        argocd_msg(res->errmsg, sizeof(res->errmsg),
                 "argocd: cluster %s: application %s: authentication failed (HTTP 401; check argocd.clusters.%s.tokenFile)",
                 cl, app, cl);
    } else if (status == 404) {
        res->error = ADAPTER_EPERM;
        argocd_msg(res->errmsg, sizeof(res->errmsg),
                 "argocd: cluster %s: application %s not found", cl, app);
    } else if (status == 403 && !with_project) {
        /* Since Argo CD 2.7 a request for an application that does not exist
         * answers 403 "permission denied" (not 404) unless the request names
         * the project, so that a token cannot probe which names exist. With
         * no project we cannot tell the two apart: say both. */
        res->error = ADAPTER_EPERM;
        argocd_msg(res->errmsg, sizeof(res->errmsg),
                 "argocd: cluster %s: application %s not found, or permission denied (HTTP 403; name the project to tell them apart)",
                 cl, app);
    } else if (status == 403) {
        res->error = ADAPTER_EPERM;
        argocd_msg(res->errmsg, sizeof(res->errmsg),
                 "argocd: cluster %s: application %s: permission denied: %s", cl, app, msg);
    } else if (status >= 500 || status == 429 || status == 409 || status == 408) {
        /* 409: a concurrent update of the Application won the race. */
        res->error = ADAPTER_ETEMP;
        argocd_msg(res->errmsg, sizeof(res->errmsg),
                 "argocd: cluster %s: application %s: HTTP %ld: %s", cl, app, status, msg);
    } else {
        res->error = ADAPTER_EPERM;
        argocd_msg(res->errmsg, sizeof(res->errmsg),
                 "argocd: cluster %s: application %s: HTTP %ld: %s", cl, app, status, msg);
    }
    return res->error;
}

/* argocd_escape - append s percent-encoded (all but RFC 3986 unreserved) to out. */
static char *argocd_escape(char *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            *out++ = (char)c;
        } else {
            *out++ = '%';
            *out++ = hex[c >> 4];
            *out++ = hex[c & 15];
        }
    }
    *out = '\0';
    return out;
}

/* argocd_url - the URL of an application (see argocd.h). */
char *argocd_url(const char *base, const char *app, const char *suffix,
                 const char *app_namespace, const char *project)
{
    size_t blen = strlen(base), n;
    char *url, *p;
    int q = 0;

    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    n = blen + sizeof("/api/v1/applications/") + 3 * strlen(app) + (suffix ? strlen(suffix) : 0)
        + (app_namespace ? 3 * strlen(app_namespace) + 16 : 0)
        + (project ? 3 * strlen(project) + 16 : 0) + 1;
    url = xmalloc(n);
    memcpy(url, base, blen);
    p = url + blen;
    p += sprintf(p, "/api/v1/applications/");
    p = argocd_escape(p, app);
    if (suffix)
        p += sprintf(p, "%s", suffix);
    if (app_namespace && *app_namespace) {
        p += sprintf(p, "?appNamespace=");
        p = argocd_escape(p, app_namespace);
        q = 1;
    }
    if (project && *project) {
        p += sprintf(p, "%sproject=", q ? "&" : "?");
        p = argocd_escape(p, project);
    }
    return url;
}

/* argocd_patch_default - {"spec":{"source":{"targetRevision":REV}}}. */
char *argocd_patch_default(const char *revision)
{
    cJSON *doc, *spec, *src;
    char *out;
    const char *p;

    if (!revision || !*revision || strlen(revision) > ARGOCD_REV_MAX)
        return NULL;
    for (p = revision; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return NULL;
    doc = cJSON_CreateObject();
    spec = cJSON_AddObjectToObject(doc, "spec");
    src = cJSON_AddObjectToObject(spec, "source");
    cJSON_AddStringToObject(src, "targetRevision", revision);
    out = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (!out)
        log_fatal(EXIT_TEMP, "argocd_patch_default", "msg=%s", log_q("out of memory"));
    return out;
}

/* argocd_patch_template - check and compact a policy's patch (see argocd.h). */
char *argocd_patch_template(const char *patch, const char *patch_type,
                            char *err, size_t errlen)
{
    cJSON *doc;
    const cJSON *op;
    char *out = NULL;
    size_t len;
    int i = 0;

    if (!patch_type || (strcmp(patch_type, "merge") != 0 && strcmp(patch_type, "json") != 0)) {
        snprintf(err, errlen, "patchType: must be \"merge\" or \"json\"");
        return NULL;
    }
    if (!patch || (len = strlen(patch)) == 0) {
        snprintf(err, errlen, "patch: must not be empty");
        return NULL;
    }
    if (len > ARGOCD_PATCH_MAX) {
        snprintf(err, errlen, "patch: larger than %d bytes", ARGOCD_PATCH_MAX);
        return NULL;
    }
    if (!(doc = cJSON_ParseWithLength(patch, len))) {
        snprintf(err, errlen, "patch: not valid JSON");
        return NULL;
    }
    if (strcmp(patch_type, "merge") == 0) {
        if (!cJSON_IsObject(doc)) {
            snprintf(err, errlen, "patch: a merge patch must be an object, not %s", argocd_type(doc));
            goto out;
        }
    } else {
        if (!cJSON_IsArray(doc) || cJSON_GetArraySize(doc) == 0) {
            snprintf(err, errlen, "patch: a JSON patch must be a non-empty array, not %s",
                     cJSON_IsArray(doc) ? "an empty array" : argocd_type(doc));
            goto out;
        }
        cJSON_ArrayForEach(op, doc) {
            const cJSON *o = cJSON_GetObjectItemCaseSensitive(op, "op");
            const cJSON *pa = cJSON_GetObjectItemCaseSensitive(op, "path");
            if (!cJSON_IsObject(op)) {
                snprintf(err, errlen, "patch[%d]: must be an object, not %s", i, argocd_type(op));
                goto out;
            }
            if (!cJSON_IsString(o) || !o->valuestring[0]) {
                snprintf(err, errlen, "patch[%d].op: must be a non-empty string", i);
                goto out;
            }
            if (!cJSON_IsString(pa) || pa->valuestring[0] != '/') {
                snprintf(err, errlen, "patch[%d].path: must be a JSON pointer string", i);
                goto out;
            }
            i++;
        }
    }
    if (!(out = cJSON_PrintUnformatted(doc)))
        log_fatal(EXIT_TEMP, "argocd_patch_template", "msg=%s", log_q("out of memory"));
out:
    cJSON_Delete(doc);
    return out;
}

/* argocd_app_at - synced and healthy at revision. */
int argocd_app_at(const struct argocd_app *app, const char *revision)
{
    return revision && *revision && app->sync == ARGOCD_SYNC_SYNCED &&
        app->health == ARGOCD_HEALTH_HEALTHY && strcasecmp(app->revision, revision) == 0;
}

/* argocd_app_syncing - an operation for revision is requested or running. */
int argocd_app_syncing(const struct argocd_app *app, const char *revision)
{
    if (!revision || !*revision)
        return 0;
    if (app->op_requested && strcasecmp(app->op_requested_revision, revision) == 0)
        return 1;
    return app->phase == ARGOCD_PHASE_RUNNING && strcasecmp(app->op_revision, revision) == 0;
}

/* ---- changes of the application (see argocd.h) ---- */

static const char *const argocd_change_words[] = {
    "targetRevision", "kustomizeImage", "helmParameter", "mergePatch"
};

/* argocd_change_kind_name - the policy's word for k. */
const char *argocd_change_kind_name(enum argocd_change_kind k)
{
    return (unsigned)k < ARRAY_LEN(argocd_change_words) ? argocd_change_words[k] : "?";
}

/* argocd_change_tracked - anything but the default. */
int argocd_change_tracked(const struct argocd_change *ch)
{
    return ch->kind != ARGOCD_CHANGE_TARGET_REVISION || ch->source >= 0;
}

/* argocd_image_name - the NAME of a kustomize images entry. */
int argocd_image_name(const char *entry, char *out, size_t outlen)
{
    const char *eq = strchr(entry, '='), *slash, *colon, *at;
    size_t n;

    if (eq) {
        n = (size_t)(eq - entry);
    } else {
        at = strchr(entry, '@');
        n = at ? (size_t)(at - entry) : strlen(entry);
        slash = memrchr(entry, '/', n);
        colon = memrchr(entry, ':', n);
        if (colon && (!slash || colon > slash))   /* a tag, not a registry's port */
            n = (size_t)(colon - entry);
    }
    if (n == 0 || n >= outlen)
        return -1;
    memcpy(out, entry, n);
    out[n] = '\0';
    return 0;
}


/* argocd_source_path - the source ch is about in app: its JSON pointer
 * (into path) and the object; NULL with err when it is not there. */
static const cJSON *argocd_source_of(const cJSON *app, int source, char *path, size_t pathlen,
                                     char *err, size_t errlen)
{
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(app, "spec");
    const cJSON *srcs = cJSON_GetObjectItemCaseSensitive(spec, "sources");
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(spec, "source"), *s;
    int n = cJSON_IsArray(srcs) ? cJSON_GetArraySize(srcs) : 0;

    if (!cJSON_IsObject(spec)) {
        snprintf(err, errlen, "the application has no spec");
        return NULL;
    }
    if (source < 0) {
        if (n > 0) {
            snprintf(err, errlen, "a multi-source application (%d entries in spec.sources): the policy "
                     "must name the source (spec.promotion.argocd.source)", n);
            return NULL;
        }
        if (!cJSON_IsObject(src)) {
            snprintf(err, errlen, "spec.source: missing or not an object");
            return NULL;
        }
        snprintf(path, pathlen, "/spec/source");
        return src;
    }
    if (n == 0) {
        snprintf(err, errlen, "the policy names source %d, but the application has no spec.sources "
                 "(not multi-source)", source);
        return NULL;
    }
    if (source >= n) {
        snprintf(err, errlen, "the policy names source %d, but spec.sources has %d entr%s", source, n,
                 n == 1 ? "y" : "ies");
        return NULL;
    }
    s = cJSON_GetArrayItem(srcs, source);
    if (!cJSON_IsObject(s)) {
        snprintf(err, errlen, "spec.sources[%d]: not an object", source);
        return NULL;
    }
    snprintf(path, pathlen, "/spec/sources/%d", source);
    return s;
}

/* argocd_list - parent.key as an array (created when absent); NULL with
 * err when it is something else or too long. */
static cJSON *argocd_list(cJSON *parent, const char *key, const char *what, char *err, size_t errlen)
{
    cJSON *l = cJSON_GetObjectItemCaseSensitive(parent, key);

    if (!l || cJSON_IsNull(l)) {
        cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
        return cJSON_AddArrayToObject(parent, key);
    }
    if (!cJSON_IsArray(l)) {
        snprintf(err, errlen, "%s: must be an array, not %s", what, argocd_type(l));
        return NULL;
    }
    if (cJSON_GetArraySize(l) >= ARGOCD_MAX_LIST) {
        snprintf(err, errlen, "%s: more than %d entries", what, ARGOCD_MAX_LIST - 1);
        return NULL;
    }
    return l;
}

/* argocd_obj_in - parent.key as an object (created when absent or null). */
static cJSON *argocd_obj_in(cJSON *parent, const char *key, const char *what, char *err, size_t errlen)
{
    cJSON *o = cJSON_GetObjectItemCaseSensitive(parent, key);

    if (!o || cJSON_IsNull(o)) {
        cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
        return cJSON_AddObjectToObject(parent, key);
    }
    if (!cJSON_IsObject(o)) {
        snprintf(err, errlen, "%s: must be an object, not %s", what, argocd_type(o));
        return NULL;
    }
    return o;
}

/* argocd_change_source - apply ch to src (a copy, changed in place).
 * Returns 0, or -1 with err. */
static int argocd_change_source(cJSON *src, const struct argocd_change *ch, const char *where,
                                char *err, size_t errlen)
{
    char what[96], name[ARGOCD_NAME_MAX + 1];
    cJSON *o, *l, *e, *p;
    int i = 0;

    switch (ch->kind) {
    case ARGOCD_CHANGE_TARGET_REVISION:
        cJSON_DeleteItemFromObjectCaseSensitive(src, "targetRevision");
        cJSON_AddStringToObject(src, "targetRevision", ch->value);
        return 0;
    case ARGOCD_CHANGE_KUSTOMIZE_IMAGE: {
        const char *eq;
        char *entry;

        snprintf(what, sizeof(what), "%s.kustomize", where);
        if (!(o = argocd_obj_in(src, "kustomize", what, err, errlen)))
            return -1;
        snprintf(what, sizeof(what), "%s.kustomize.images", where);
        if (!(l = argocd_list(o, "images", what, err, errlen)))
            return -1;
        cJSON_ArrayForEach(e, l) {
            if (!cJSON_IsString(e)) {
                snprintf(err, errlen, "%s[%d]: must be a string, not %s", what, i, argocd_type(e));
                return -1;
            }
            if (argocd_image_name(e->valuestring, name, sizeof(name)) == 0 && strcmp(name, ch->name) == 0)
                break;
            i++;
        }
        /* NAME=NEWNAME:TAG keeps its new name; its tag (or digest) is replaced */
        if (e && (eq = strchr(e->valuestring, '=')) != NULL) {
            char newname[ARGOCD_NAME_MAX + 1];
            if (argocd_image_name(eq + 1, newname, sizeof(newname)) < 0) {
                snprintf(err, errlen, "%s[%d]: \"%s\" names no image after '='", what, i, e->valuestring);
                return -1;
            }
            entry = xasprintf("%s=%s:%s", ch->name, newname, ch->value);
        } else {
            entry = xasprintf("%s:%s", ch->name, ch->value);
        }
        if (e)
            cJSON_ReplaceItemInArray(l, i, cJSON_CreateString(entry));
        else
            cJSON_AddItemToArray(l, cJSON_CreateString(entry));
        free(entry);
        return 0;
    }
    case ARGOCD_CHANGE_HELM_PARAMETER:
        snprintf(what, sizeof(what), "%s.helm", where);
        if (!(o = argocd_obj_in(src, "helm", what, err, errlen)))
            return -1;
        snprintf(what, sizeof(what), "%s.helm.parameters", where);
        if (!(l = argocd_list(o, "parameters", what, err, errlen)))
            return -1;
        cJSON_ArrayForEach(e, l) {
            const cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "name");
            if (!cJSON_IsObject(e) || !cJSON_IsString(n)) {
                snprintf(err, errlen, "%s[%d]: must be an object with a string name", what, i);
                return -1;
            }
            if (strcmp(n->valuestring, ch->name) == 0)
                break;
            i++;
        }
        if (!e) {
            e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "name", ch->name);
            cJSON_AddItemToArray(l, e);
        }
        cJSON_DeleteItemFromObjectCaseSensitive(e, "value");
        cJSON_AddStringToObject(e, "value", ch->value);   /* forceString, if any, is kept */
        return 0;
    case ARGOCD_CHANGE_MERGE_PATCH:
        p = cJSON_Parse(ch->patch ? ch->patch : "");
        if (!cJSON_IsObject(p)) {
            cJSON_Delete(p);
            snprintf(err, errlen, "mergePatch: not a JSON object");
            return -1;
        }
        o = cJSON_Duplicate(src, 1);
        o = json_merge_patch(o, p);
        cJSON_Delete(p);
        /* the result replaces src's members: swap the member lists */
        {
            cJSON *old = src->child;
            src->child = o->child;
            o->child = old;
        }
        cJSON_Delete(o);
        return 0;
    }
    snprintf(err, errlen, "unknown change");
    return -1;
}

/* argocd_print - compact text of j (heap), or NULL over ARGOCD_PATCH_MAX. */
static char *argocd_print(const cJSON *j, char *err, size_t errlen)
{
    char *s = cJSON_PrintUnformatted(j);

    if (!s)
        log_fatal(EXIT_TEMP, "argocd_print", "msg=%s", log_q("out of memory"));
    if (strlen(s) > ARGOCD_PATCH_MAX) {
        snprintf(err, errlen, "the patch would be larger than %d bytes", ARGOCD_PATCH_MAX);
        cJSON_free(s);
        return NULL;
    }
    return s;
}

/* argocd_change_patch - see argocd.h. */
int argocd_change_patch(const cJSON *app, const struct argocd_change *ch, char **patch,
                        const char **patch_type, char *err, size_t errlen)
{
    char path[48], where[48];
    const cJSON *src;
    cJSON *want, *ops, *op;
    int rc;

    *patch = NULL;
    *patch_type = NULL;
    if (ch->source > ARGOCD_MAX_SOURCE) {
        snprintf(err, errlen, "source %d: above %d", ch->source, ARGOCD_MAX_SOURCE);
        return -1;
    }
    if (ch->kind == ARGOCD_CHANGE_MERGE_PATCH && ch->source < 0) {
        /* a merge patch of the whole application, sent as it is */
        cJSON *p = cJSON_Parse(ch->patch ? ch->patch : "");
        if (!cJSON_IsObject(p)) {
            cJSON_Delete(p);
            snprintf(err, errlen, "mergePatch: not a JSON object");
            return -1;
        }
        want = json_merge_patch(cJSON_Duplicate(app, 1), p);
        rc = cJSON_Compare(want, app, 1);
        cJSON_Delete(want);
        if (rc) {
            cJSON_Delete(p);
            return 1;
        }
        *patch = argocd_print(p, err, errlen);
        cJSON_Delete(p);
        *patch_type = "merge";
        return *patch ? 0 : -1;
    }
    if (!(src = argocd_source_of(app, ch->source, path, sizeof(path), err, errlen)))
        return -1;
    snprintf(where, sizeof(where), ch->source < 0 ? "spec.source" : "spec.sources[%d]", ch->source);
    want = cJSON_Duplicate(src, 1);
    if (argocd_change_source(want, ch, where, err, errlen) < 0) {
        cJSON_Delete(want);
        return -1;
    }
    if (ch->kind == ARGOCD_CHANGE_TARGET_REVISION) {
        const char *old = json_str(src, "targetRevision", "");
        if (strcasecmp(old, ch->value) == 0) {      /* SHAs: any case */
            cJSON_Delete(want);
            return 1;
        }
    } else if (cJSON_Compare(want, src, 1)) {
        cJSON_Delete(want);
        return 1;
    }
    ops = cJSON_CreateArray();
    op = cJSON_CreateObject();
    cJSON_AddStringToObject(op, "op", "test");
    cJSON_AddStringToObject(op, "path", path);
    cJSON_AddItemToObject(op, "value", cJSON_Duplicate(src, 1));
    cJSON_AddItemToArray(ops, op);
    op = cJSON_CreateObject();
    cJSON_AddStringToObject(op, "op", "replace");
    cJSON_AddStringToObject(op, "path", path);
    cJSON_AddItemToObject(op, "value", want);
    cJSON_AddItemToArray(ops, op);
    *patch = argocd_print(ops, err, errlen);
    cJSON_Delete(ops);
    *patch_type = "json";
    return *patch ? 0 : -1;
}

/* argocd_key_cmp - qsort: object members by key. */
static int argocd_key_cmp(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;

    return strcmp(x->string ? x->string : "", y->string ? y->string : "");
}

/* argocd_canon - sort the members of every object of j, in place. */
static void argocd_canon(cJSON *j, int depth)
{
    cJSON *c, **v;
    int n = 0, i;

    if (depth > 64 || (!cJSON_IsObject(j) && !cJSON_IsArray(j)))
        return;
    for (c = j->child; c; c = c->next) {
        argocd_canon(c, depth + 1);
        n++;
    }
    if (!cJSON_IsObject(j) || n < 2)
        return;
    v = xcalloc((size_t)n, sizeof(*v));
    for (i = 0, c = j->child; c; c = c->next)
        v[i++] = c;
    qsort(v, (size_t)n, sizeof(*v), argocd_key_cmp);
    for (i = 0; i < n; i++) {
        v[i]->prev = i ? v[i - 1] : v[n - 1];    /* cJSON: the head's prev is the tail */
        v[i]->next = i + 1 < n ? v[i + 1] : NULL;
    }
    j->child = v[0];
    free(v);
}

/* argocd_sources_digest - see argocd.h. */
int argocd_sources_digest(const cJSON *app, int compared, char *out, size_t outlen)
{
    const cJSON *base = cJSON_GetObjectItemCaseSensitive(app, "spec"), *s;
    uint64_t h = 1469598103934665603ULL;
    cJSON *c;
    char *text, *p;

    out[0] = '\0';
    if (compared)
        base = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(app, "status"), "sync"),
            "comparedTo");
    s = cJSON_GetObjectItemCaseSensitive(base, "sources");
    if (!cJSON_IsArray(s) || cJSON_GetArraySize(s) == 0)
        s = cJSON_GetObjectItemCaseSensitive(base, "source");
    if (!cJSON_IsObject(s) && !cJSON_IsArray(s))
        return -1;
    c = cJSON_Duplicate(s, 1);
    argocd_canon(c, 0);
    text = cJSON_PrintUnformatted(c);
    cJSON_Delete(c);
    if (!text)
        return -1;
    for (p = text; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 1099511628211ULL;
    }
    cJSON_free(text);
    snprintf(out, outlen, "fnv1a64:%016llx", (unsigned long long)h);
    return 0;
}

/* argocd_app_reached - see argocd.h. */
int argocd_app_reached(const cJSON *app, const struct argocd_app *a, const char *digest)
{
    char spec[ARGOCD_DIGEST_SIZE], cmp[ARGOCD_DIGEST_SIZE];

    if (!app || !digest || !*digest || a->sync != ARGOCD_SYNC_SYNCED || a->health != ARGOCD_HEALTH_HEALTHY)
        return 0;
    if (argocd_sources_digest(app, 0, spec, sizeof(spec)) < 0 ||
        argocd_sources_digest(app, 1, cmp, sizeof(cmp)) < 0)
        return 0;
    return strcmp(spec, digest) == 0 && strcmp(cmp, digest) == 0;
}

/* argocd_app_busy - an operation requested or running. */
int argocd_app_busy(const struct argocd_app *a)
{
    return a->op_requested || a->phase == ARGOCD_PHASE_RUNNING;
}

/* ---- the asynchronous operations ---- */

enum argocd_op { ARGOCD_OP_GET, ARGOCD_OP_UPDATE, ARGOCD_OP_SYNC };

/* One operation in flight. */
struct argocd_call {
    struct adapter_ctx *ctx;
    enum argocd_op op;
    argocd_done_fn done;
    void *arg;
    char *cluster, *app;
    int with_project;
    struct argocd_result res;
    cJSON *doc;                  /* res.doc, owned */
};

static const char *const argocd_op_names[] = { "get", "update", "sync" };

/* argocd_call_free - release a call (done is not called). */
static void argocd_call_free(struct argocd_call *c)
{
    cJSON_Delete(c->doc);
    free(c->cluster);
    free(c->app);
    free(c);
}

/* argocd_call_abandon - the HTTP client was freed before the answer came:
 * the stage is stopping; free the call without calling done. */
static void argocd_call_abandon(void *arg)
{
    argocd_call_free(arg);
}

/* argocd_call_finish - call done once with the result, log it, free the call. */
static void argocd_call_finish(struct argocd_call *c)
{
    if (c->res.error)
        log_warn("argocd", "op=%s cluster=%s app=%s status=%ld error=%s msg=%s",
                 argocd_op_names[c->op], log_q(c->cluster), log_q(c->app), c->res.http_status,
                 c->res.error == ADAPTER_ETEMP ? "temporary" : "permanent", log_q(c->res.errmsg));
    else
        log_debug("argocd", "op=%s cluster=%s app=%s status=%ld", argocd_op_names[c->op],
                  log_q(c->cluster), log_q(c->app), c->res.http_status);
    c->done(c->arg, &c->res);
    argocd_call_free(c);
}

/* argocd_call_later - the deferred end of a call that could not start. */
static void argocd_call_later(struct loop *l, void *arg)
{
    argocd_call_finish(arg);
}

/* argocd_call_fail - end c with a permanent error, from the loop; returns -1. */
static int argocd_call_fail(struct argocd_call *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int argocd_call_fail(struct argocd_call *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->res.errmsg, sizeof(c->res.errmsg), fmt, ap);
    va_end(ap);
    c->res.error = ADAPTER_EPERM;
    loop_after(c->ctx->loop, 0, argocd_call_later, c);
    return -1;
}

/* argocd_http_done - an answer (or a failure) of the HTTP client. */
static void argocd_http_done(void *arg, const struct http_resp *resp)
{
    struct argocd_call *c = arg;
    char err[256];

    if (argocd_classify(resp->error, resp->errmsg, resp->status, resp->body, resp->len,
                        http_resp_header(resp, "retry-after"), c->cluster, c->app,
                        c->with_project, &c->res) == 0) {
        /* Get, Patch and Sync all answer with the Application. */
        if (argocd_parse_app(resp->body, resp->len, &c->res.app, err, sizeof(err)) == 0) {
            c->res.have_app = 1;
            c->doc = cJSON_ParseWithLength(resp->body, resp->len);
            c->res.doc = c->doc;
        } else {
            /* An odd answer is not a success we can build on; every
             * operation here is safe to repeat after a fresh get. */
            c->res.error = ADAPTER_ETEMP;
            argocd_msg(c->res.errmsg, sizeof(c->res.errmsg),
                     "argocd: cluster %s: application %s: unusable answer (HTTP %ld): %s",
                     c->cluster, c->app, resp->status, err);
        }
    }
    argocd_call_finish(c);
}

/* argocd_start - check the names and the cluster, build and submit one
 * request; body may be NULL. Returns 0 or -1 (done then comes later). */
static int argocd_start(struct argocd_call *c, const char *app_namespace, const char *project,
                        const char *method, const char *suffix, const char *body)
{
    const struct config_cluster *cl = config_cluster(c->ctx->cfg, c->cluster);
    struct http_req req;
    char *url, *auth = NULL;
    int n = 0, rc;

    if (!argocd_name_ok(c->app))
        return argocd_call_fail(c, "argocd: cluster %s: invalid application name %s",
                                c->cluster, log_q(c->app));
    if (app_namespace && *app_namespace && !argocd_name_ok(app_namespace))
        return argocd_call_fail(c, "argocd: cluster %s: application %s: invalid appNamespace %s",
                                c->cluster, c->app, log_q(app_namespace));
    if (project && *project && !argocd_name_ok(project))
        return argocd_call_fail(c, "argocd: cluster %s: application %s: invalid project %s",
                                c->cluster, c->app, log_q(project));
    if (!cl || !cl->url || !*cl->url)
        return argocd_call_fail(c, "argocd: no cluster %s in the config (argocd.clusters.%s.url)",
                                log_q(c->cluster), c->cluster);
    /* GET carries appNamespace and project in the query; PATCH and POST in
     * the body (grpc-gateway binds the body to the whole request). */
    url = argocd_url(cl->url, c->app, suffix, body ? NULL : app_namespace, body ? NULL : project);
    memset(&req, 0, sizeof(req));
    req.system = "argocd";
    req.prio = HTTP_PRIO_STEP;          /* a promotion step, or the check before one */
    req.method = method;
    req.url = url;
    req.headers[n++] = "Accept: application/json";
    if (body)
        req.headers[n++] = "Content-Type: application/json";
    /* No token: anonymous access (users.anonymous.enabled); else 401. */
    if (cl->token && *cl->token) {
        auth = xasprintf("Authorization: Bearer %s", cl->token);
        req.headers[n++] = auth;
    }
    req.headers[n] = NULL;
    req.body = body;
    req.body_len = body ? strlen(body) : 0;
    req.max_retries = -1;
    req.max_response = c->op == ARGOCD_OP_GET ? ARGOCD_GET_MAX_RESPONSE : 0;
    req.abandon = argocd_call_abandon;
    rc = http_submit(c->ctx->http, &req, argocd_http_done, c);
    if (auth) {
        memset(auth, 0, strlen(auth));
        free(auth);
    }
    free(url);
    return rc;
}

/* argocd_call_new - a call for op on cluster/app. */
static struct argocd_call *argocd_call_new(struct adapter_ctx *ctx, enum argocd_op op,
                                           const char *cluster, const char *app,
                                           const char *project, argocd_done_fn done, void *arg)
{
    struct argocd_call *c = xcalloc(1, sizeof(*c));

    c->ctx = ctx;
    c->op = op;
    c->done = done;
    c->arg = arg;
    c->cluster = xstrdup(cluster && *cluster ? cluster : "default");
    c->app = xstrdup(app ? app : "");
    c->with_project = project && *project;
    return c;
}

/* argocd_body - the JSON body {name, ..., appNamespace, project}: compact, heap. */
static char *argocd_body(cJSON *o, const char *app, const char *app_namespace, const char *project)
{
    char *s;

    cJSON_AddStringToObject(o, "name", app);
    if (app_namespace && *app_namespace)
        cJSON_AddStringToObject(o, "appNamespace", app_namespace);
    if (project && *project)
        cJSON_AddStringToObject(o, "project", project);
    s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        log_fatal(EXIT_TEMP, "argocd_body", "msg=%s", log_q("out of memory"));
    return s;
}

/* argocd_get - read an application (see argocd.h). */
int argocd_get(struct adapter_ctx *ctx, const char *cluster, const char *app,
               const char *app_namespace, const char *project,
               argocd_done_fn done, void *arg)
{
    struct argocd_call *c = argocd_call_new(ctx, ARGOCD_OP_GET, cluster, app, project, done, arg);

    return argocd_start(c, app_namespace, project, "GET", NULL, NULL);
}

/* argocd_update - patch an application (see argocd.h). */
int argocd_update(struct adapter_ctx *ctx, const char *cluster, const char *app,
                  const char *app_namespace, const char *project,
                  const char *patch_json, const char *patch_type,
                  argocd_done_fn done, void *arg)
{
    struct argocd_call *c = argocd_call_new(ctx, ARGOCD_OP_UPDATE, cluster, app, project, done, arg);
    char err[200], *patch, *body;
    cJSON *o;
    int rc;

    if (!(patch = argocd_patch_template(patch_json, patch_type, err, sizeof(err))))
        return argocd_call_fail(c, "argocd: cluster %s: application %s: %s", c->cluster, c->app, err);
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "patch", patch);
    cJSON_AddStringToObject(o, "patchType", patch_type);
    body = argocd_body(o, c->app, app_namespace, project);
    rc = argocd_start(c, app_namespace, project, "PATCH", NULL, body);
    free(patch);
    free(body);
    return rc;
}

/* argocd_sync - start a sync of revision (see argocd.h). */
int argocd_sync(struct adapter_ctx *ctx, const char *cluster, const char *app,
                const char *app_namespace, const char *project, const char *revision,
                argocd_done_fn done, void *arg)
{
    struct argocd_call *c = argocd_call_new(ctx, ARGOCD_OP_SYNC, cluster, app, project, done, arg);
    char *body;
    cJSON *o;
    int rc;

    if (revision && strlen(revision) > ARGOCD_REV_MAX)
        return argocd_call_fail(c, "argocd: cluster %s: application %s: revision longer than %d bytes",
                                c->cluster, c->app, ARGOCD_REV_MAX);
    o = cJSON_CreateObject();
    if (revision && *revision)
        cJSON_AddStringToObject(o, "revision", revision);
    cJSON_AddBoolToObject(o, "prune", 0);
    body = argocd_body(o, c->app, app_namespace, project);
    rc = argocd_start(c, app_namespace, project, "POST", "/sync", body);
    free(body);
    return rc;
}
