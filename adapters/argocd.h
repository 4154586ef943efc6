/* argocd.h - the Argo CD client of promo: read an application, patch its
 * spec to the promoted revision, start a sync of that revision.
 *
 * One Argo CD server per cluster of the config (argocd.clusters.<name>.url,
 * its bearer token from tokenFile); a NULL or "" cluster means "default".
 * The three operations follow adapters/adapter.h: asynchronous inside the
 * stage's loop (util/http.h), exactly one call of the done callback, never
 * from inside the call that started it.
 *
 * Error answers are mapped deliberately by argocd_classify() (pure, tested):
 *   "another operation is already in progress"   ADAPTER_ETEMP (retry later)
 *   5xx, 429, 409, connection errors, timeouts   ADAPTER_ETEMP
 *   404, or 403 "permission denied" without a project (see argocd.c)
 *                                                ADAPTER_EPERM "not found"
 *   401                                          ADAPTER_EPERM "authentication failed"
 *   any other 4xx                                ADAPTER_EPERM with Argo CD's message
 *
 * Idempotency: argocd_update is a merge (or JSON) patch, so repeating it is
 * harmless. argocd_sync is not: before (re)starting a sync the caller reads
 * the application and asks argocd_app_at() (already there) and
 * argocd_app_syncing() (an operation for that revision is under way). */
#ifndef PROMO_ARGOCD_H
#define PROMO_ARGOCD_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "adapter.h"

#define ARGOCD_NAME_MAX  253          /* application, namespace, project names */
#define ARGOCD_REV_MAX   255          /* a revision: SHA, tag or branch */
#define ARGOCD_MSG_MAX   511          /* messages are truncated to this */
#define ARGOCD_PATCH_MAX (64 * 1024)  /* bytes in one patch */
#define ARGOCD_GET_MAX_RESPONSE (16 << 20)   /* an Application with many resources is big */

/* status.sync.status */
enum argocd_sync {
    ARGOCD_SYNC_UNKNOWN = 0,     /* "Unknown", absent, or a word this code does not know */
    ARGOCD_SYNC_SYNCED,
    ARGOCD_SYNC_OUT_OF_SYNC
};

/* status.health.status */
enum argocd_health {
    ARGOCD_HEALTH_UNKNOWN = 0,   /* "Unknown", absent, or a word this code does not know */
    ARGOCD_HEALTH_HEALTHY,
    ARGOCD_HEALTH_PROGRESSING,
    ARGOCD_HEALTH_DEGRADED,
    ARGOCD_HEALTH_SUSPENDED,
    ARGOCD_HEALTH_MISSING
};

/* status.operationState.phase */
enum argocd_phase {
    ARGOCD_PHASE_NONE = 0,       /* no operationState (never synced by an operation) */
    ARGOCD_PHASE_RUNNING,
    ARGOCD_PHASE_TERMINATING,
    ARGOCD_PHASE_FAILED,
    ARGOCD_PHASE_ERROR,
    ARGOCD_PHASE_SUCCEEDED,
    ARGOCD_PHASE_OTHER           /* a phase this code does not know */
};

/* What promo needs of an Application. */
struct argocd_app {
    char name[ARGOCD_NAME_MAX + 1];          /* metadata.name */
    char app_namespace[ARGOCD_NAME_MAX + 1]; /* metadata.namespace ("" when absent) */
    char project[ARGOCD_NAME_MAX + 1];       /* spec.project ("" when absent) */
    char target_revision[ARGOCD_REV_MAX + 1];/* spec.source.targetRevision ("" when absent) */
    enum argocd_sync sync;
    char revision[ARGOCD_REV_MAX + 1];       /* status.sync.revision (else revisions[0]) */
    enum argocd_health health;
    char health_message[ARGOCD_MSG_MAX + 1];
    int op_requested;                        /* top-level "operation" set: not yet picked up */
    char op_requested_revision[ARGOCD_REV_MAX + 1];  /* operation.sync.revision */
    enum argocd_phase phase;
    char phase_word[32];                     /* the phase as Argo CD wrote it */
    char op_message[ARGOCD_MSG_MAX + 1];     /* status.operationState.message */
    char op_revision[ARGOCD_REV_MAX + 1];    /* operationState.operation.sync.revision,
                                                else operationState.syncResult.revision */
};

/* An error answer of Argo CD (grpc-gateway): {code, error, message}. */
struct argocd_error {
    int code;                                /* gRPC code (5 NotFound, 7 PermissionDenied, ...), -1 absent */
    char message[ARGOCD_MSG_MAX + 1];        /* message, else error, else "" */
};

/* The outcome of one operation. */
struct argocd_result {
    int error;                   /* 0 ok; ADAPTER_ETEMP retry later; ADAPTER_EPERM give up */
    char errmsg[256];            /* names the cluster and the application; no secrets */
    long http_status;            /* 0 when no answer arrived */
    int64_t retry_after_ms;      /* Argo CD (or a proxy) asked to wait this long, else 0 */
    int have_app;                /* app is filled (get, and the answers of update and sync) */
    struct argocd_app app;
    const cJSON *doc;            /* with have_app: the whole answer, parsed; valid only
                                  * during the done callback (argocd_change_*) */
};

typedef void (*argocd_done_fn)(void *arg, const struct argocd_result *res);

/* argocd_get - GET /api/v1/applications/{app}?appNamespace=&project=.
 * app_namespace and project may be NULL or "" (then not sent). Returns 0
 * when started, -1 when it could not start (unknown cluster, invalid name):
 * done is then still called, later, with ADAPTER_EPERM. */
int argocd_get(struct adapter_ctx *ctx, const char *cluster, const char *app,
               const char *app_namespace, const char *project,
               argocd_done_fn done, void *arg);

/* argocd_update - PATCH /api/v1/applications/{app} with {name, patch (the
 * patch as a JSON string), patchType, appNamespace, project}. patch_type is
 * "merge" (patch is a JSON object) or "json" (an RFC 6902 array); the patch
 * is checked first. Same return contract as argocd_get. */
int argocd_update(struct adapter_ctx *ctx, const char *cluster, const char *app,
                  const char *app_namespace, const char *project,
                  const char *patch_json, const char *patch_type,
                  argocd_done_fn done, void *arg);

/* argocd_sync - POST /api/v1/applications/{app}/sync with {name, revision,
 * prune: false, appNamespace, project}. revision may be NULL or "" (the
 * application's target revision). Same return contract as argocd_get. */
int argocd_sync(struct adapter_ctx *ctx, const char *cluster, const char *app,
                const char *app_namespace, const char *project, const char *revision,
                argocd_done_fn done, void *arg);

/* argocd_app_at - 1 when app is Synced and Healthy at revision (compared
 * without regard to case: SHAs), else 0. NULL or "" revision: 0. */
int argocd_app_at(const struct argocd_app *app, const char *revision);

/* argocd_app_syncing - 1 when an operation for revision is requested or
 * Running (a new sync would only answer "another operation is already in
 * progress"), else 0. */
int argocd_app_syncing(const struct argocd_app *app, const char *revision);

/* argocd_sync_name, argocd_health_name, argocd_phase_name - the word for
 * logs and messages ("Synced", "Healthy", "Running"; "" for PHASE_NONE). */
const char *argocd_sync_name(enum argocd_sync s);
const char *argocd_health_name(enum argocd_health h);
const char *argocd_phase_name(enum argocd_phase p);

/* argocd_parse_app - decode an Application answer of len bytes (need not be
 * NUL-terminated). Strict: the document and metadata/spec/status and their
 * parts must be objects when present, the fields read must be strings;
 * metadata.name is required; a revision or name too long is an error, a
 * long message is truncated. Returns 0, or -1 with "field: reason" in err. */
int argocd_parse_app(const char *body, size_t len, struct argocd_app *app,
                     char *err, size_t errlen);

/* argocd_parse_error - decode an error answer {code, error, message}.
 * Returns 0, or -1 (not JSON, not an object, wrong types) with e zeroed
 * except code -1. */
int argocd_parse_error(const char *body, size_t len, struct argocd_error *e);

/* argocd_classify - map one HTTP answer to a result: http_error is the
 * util/http.h error (0 when an answer arrived), http_errmsg its text,
 * status/body/len the answer, retry_after the Retry-After header (or NULL),
 * project whether a project was sent. Fills res->error, errmsg,
 * http_status and retry_after_ms (nothing else) and returns res->error. */
int argocd_classify(int http_error, const char *http_errmsg, long status,
                    const char *body, size_t len, const char *retry_after,
                    const char *cluster, const char *app, int with_project,
                    struct argocd_result *res);

/* argocd_url - base + "/api/v1/applications/" + app (percent-encoded) +
 * suffix (NULL, or "/sync") + the query ?appNamespace=&project= of the
 * non-empty ones (percent-encoded). A trailing '/' of base is dropped. Heap. */
char *argocd_url(const char *base, const char *app, const char *suffix,
                 const char *app_namespace, const char *project);

/* argocd_patch_default - the default promotion patch, a merge patch that
 * sets the source's target revision: {"spec":{"source":{"targetRevision":
 * "<revision>"}}}. Heap string, or NULL when revision is NULL, empty, too
 * long or holds control bytes. */
char *argocd_patch_default(const char *revision);

/* argocd_patch_template - check a policy's own patch (its ${VAR}s already
 * substituted by the caller) for patch_type ("merge": a JSON object; "json":
 * an array of {op, path, ...} objects) and return it compacted (heap), or
 * NULL with the reason in err (not JSON, wrong shape, over ARGOCD_PATCH_MAX,
 * unknown patch type). */
char *argocd_patch_template(const char *patch, const char *patch_type,
                            char *err, size_t errlen);

/* ---- how a promotion changes an application (spec.promotion.argocd.update) ----
 *
 * The default, a targetRevision change of a single-source application, is
 * the merge patch of argocd_patch_default and a sync of the revision; its
 * target is "Synced and Healthy at the revision" (argocd_app_at). Every other
 * change is "spec-tracked": it is computed from the application as just read
 * (the lists of images and parameters, and spec.sources, are replaced whole
 * by a merge patch, so they cannot be merged blindly) and sent as an RFC 6902
 * JSON patch that first tests the source object as read and then replaces
 * it: a concurrent edit of that source makes Argo CD refuse the patch rather
 * than lose either change. A mergePatch without a source is sent as the
 * merge patch it is. The sync then names no revision (the application's own
 * target revisions), and the target is reached when the spec still carries
 * the change, status.sync.comparedTo holds the spec's source(s) (Argo CD
 * compared the live state with exactly those: argocd_sources_digest) and the
 * application is Synced and Healthy (argocd_app_reached). */
enum argocd_change_kind {
    ARGOCD_CHANGE_TARGET_REVISION = 0,   /* value: the revision */
    ARGOCD_CHANGE_KUSTOMIZE_IMAGE,       /* name: the image, value: its tag */
    ARGOCD_CHANGE_HELM_PARAMETER,        /* name, value: one helm parameter */
    ARGOCD_CHANGE_MERGE_PATCH            /* patch: a JSON object (text) */
};

#define ARGOCD_MAX_SOURCE   63           /* highest index of spec.sources promo writes */
#define ARGOCD_MAX_LIST     256          /* entries of images or parameters kept */
#define ARGOCD_DIGEST_SIZE  32           /* "fnv1a64:" + 16 hex digits + NUL, rounded up */

struct argocd_change {
    enum argocd_change_kind kind;
    int source;                  /* -1: spec.source; N: spec.sources[N] */
    const char *name;
    const char *value;
    const char *patch;
};

/* argocd_change_kind_name - "targetRevision", "kustomizeImage",
 * "helmParameter", "mergePatch" (the policy's words). */
const char *argocd_change_kind_name(enum argocd_change_kind k);

/* argocd_change_tracked - 1 when ch is spec-tracked (anything but a
 * targetRevision change of spec.source). */
int argocd_change_tracked(const struct argocd_change *ch);

/* argocd_change_patch - what ch needs of app (an Application document):
 * 1 when app already carries it (nothing to send); 0 with *patch (heap) and
 * *patch_type ("merge" or "json") to send; -1 with the reason in err (the
 * source does not exist, app is multi-source and no source was named, a
 * list entry of the wrong shape, a list over ARGOCD_MAX_LIST, a patch that
 * is not an object, a result over ARGOCD_PATCH_MAX). */
int argocd_change_patch(const cJSON *app, const struct argocd_change *ch, char **patch,
                        const char **patch_type, char *err, size_t errlen);

/* argocd_sources_digest - a digest of app's spec.sources (or spec.source
 * when it has none), or with compared of status.sync.comparedTo's, over a
 * canonical form (object keys sorted, compact): "fnv1a64:<16 hex>" into out
 * (ARGOCD_DIGEST_SIZE bytes). Returns 0, or -1 when there is none. */
int argocd_sources_digest(const cJSON *app, int compared, char *out, size_t outlen);

/* argocd_app_reached - a spec-tracked promotion has reached the target:
 * the spec's source(s) still have digest (taken when the change was done),
 * comparedTo has it too, and a is Synced and Healthy. */
int argocd_app_reached(const cJSON *app, const struct argocd_app *a, const char *digest);

/* argocd_app_busy - an operation is requested or Running (any revision). */
int argocd_app_busy(const struct argocd_app *a);

/* argocd_image_name - the image an entry of kustomize.images is about:
 * "NAME" of "NAME", "NAME:TAG", "NAME@DIGEST", "NAME=NEW:TAG" (into out).
 * Returns 0, or -1 when it does not fit. */
int argocd_image_name(const char *entry, char *out, size_t outlen);

/* argocd_name_ok - an application, namespace or project name promo accepts:
 * 1..253 bytes of [A-Za-z0-9._-] (Kubernetes names, and no byte that needs
 * care in a URL or a log line). */
int argocd_name_ok(const char *s);

#endif
