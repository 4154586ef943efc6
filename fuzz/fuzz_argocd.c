/* fuzz_argocd.c - libFuzzer harness of the Argo CD client's decoders
 * (adapters/argocd.h): argocd_parse_app on an Application answer,
 * argocd_parse_error and argocd_classify on an error answer,
 * argocd_patch_template on a policy's own patch, and the update strategies
 * (argocd_change_patch, argocd_sources_digest, argocd_app_reached) on the
 * Application.
 *
 * Input: byte 0 picks the HTTP status given to argocd_classify; the rest is
 * the body.
 *
 * Invariants: every string of a decoded app is NUL-terminated inside its
 * buffer and its enums are in range; argocd_app_at implies Synced and
 * Healthy; a classified error has a message; a patch accepted is JSON of
 * the right shape and at most ARGOCD_PATCH_MAX bytes; a change patch is a
 * JSON object (merge) or a test-then-replace array (json), and applying a
 * change twice finds it there the second time. */
#include <string.h>
#include <cjson/cJSON.h>

#include "adapters/argocd.h"
#include "fuzz/fuzz.h"

/* fuzz_changes - every update strategy on the decoded application doc. */
static void fuzz_changes(const char *body, size_t size, const struct argocd_app *app, long status)
{
    static const struct argocd_change chs[] = {
        { ARGOCD_CHANGE_TARGET_REVISION, 0, NULL, "0123456789abcdef0123456789abcdef01234567", NULL },
        { ARGOCD_CHANGE_KUSTOMIZE_IMAGE, -1, "ghcr.io/acme/shop", "abc1234", NULL },
        { ARGOCD_CHANGE_KUSTOMIZE_IMAGE, 1, "redis", "8", NULL },
        { ARGOCD_CHANGE_HELM_PARAMETER, -1, "image.tag", "v2", NULL },
        { ARGOCD_CHANGE_HELM_PARAMETER, 0, "image.tag", "v2", NULL },
        { ARGOCD_CHANGE_MERGE_PATCH, -1, NULL, NULL, "{\"spec\":{\"source\":{\"path\":\"x\"}}}" },
        { ARGOCD_CHANGE_MERGE_PATCH, 1, NULL, NULL, "{\"helm\":{\"valuesObject\":{\"a\":1}},\"path\":null}" },
    };
    cJSON *doc = cJSON_ParseWithLength(body, size);
    char err[256], d[ARGOCD_DIGEST_SIZE], *patch;
    const char *type;
    size_t i;

    if (!doc)
        return;
    if (argocd_sources_digest(doc, 0, d, sizeof(d)) == 0)
        FUZZ_CHECK(strlen(d) == 24 && strncmp(d, "fnv1a64:", 8) == 0);
    if (argocd_app_reached(doc, app, d))
        FUZZ_CHECK(app->sync == ARGOCD_SYNC_SYNCED && app->health == ARGOCD_HEALTH_HEALTHY);
    (void)argocd_sources_digest(doc, 1, d, sizeof(d));
    for (i = 0; i < sizeof(chs) / sizeof(chs[0]); i++) {
        int rc = argocd_change_patch(doc, &chs[i], &patch, &type, err, sizeof(err));
        FUZZ_CHECK(rc >= -1 && rc <= 1);
        if (rc == 0) {
            cJSON *j = cJSON_Parse(patch);
            FUZZ_CHECK(j && strlen(patch) <= ARGOCD_PATCH_MAX);
            FUZZ_CHECK(strcmp(type, "merge") == 0 ? cJSON_IsObject(j)
                       : cJSON_IsArray(j) && cJSON_GetArraySize(j) == 2);
            cJSON_Delete(j);
            free(patch);
        } else {
            FUZZ_CHECK(patch == NULL);
            if (rc < 0)
                FUZZ_CHECK(err[0] != '\0');
        }
    }
    (void)status;
    cJSON_Delete(doc);
}

/* LLVMFuzzerTestOneInput - one Argo CD answer through every decoder. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long statuses[] = { 200, 400, 401, 403, 404, 409, 429, 500, 503, 302 };
    struct argocd_app *app = malloc(sizeof(*app));
    struct argocd_result *res = malloc(sizeof(*res));
    struct argocd_error e;
    char err[256], *body, *s, *patch;
    long status;

    if (!app || !res)
        abort();
    if (size < 1) {
        free(app);
        free(res);
        return 0;
    }
    status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
    data++, size--;
    body = fuzz_copy(data, size);

    if (argocd_parse_app(body, size, app, err, sizeof(err)) == 0) {
        FUZZ_CHECK(memchr(app->name, 0, sizeof(app->name)) && app->name[0]);
        FUZZ_CHECK(memchr(app->app_namespace, 0, sizeof(app->app_namespace)));
        FUZZ_CHECK(memchr(app->project, 0, sizeof(app->project)));
        FUZZ_CHECK(memchr(app->target_revision, 0, sizeof(app->target_revision)));
        FUZZ_CHECK(memchr(app->revision, 0, sizeof(app->revision)));
        FUZZ_CHECK(memchr(app->health_message, 0, sizeof(app->health_message)));
        FUZZ_CHECK(memchr(app->op_requested_revision, 0, sizeof(app->op_requested_revision)));
        FUZZ_CHECK(memchr(app->phase_word, 0, sizeof(app->phase_word)));
        FUZZ_CHECK(memchr(app->op_message, 0, sizeof(app->op_message)));
        FUZZ_CHECK(memchr(app->op_revision, 0, sizeof(app->op_revision)));
        FUZZ_CHECK(app->sync <= ARGOCD_SYNC_OUT_OF_SYNC && app->health <= ARGOCD_HEALTH_MISSING);
        FUZZ_CHECK(app->phase <= ARGOCD_PHASE_OTHER);
        if (argocd_app_at(app, app->revision))
            FUZZ_CHECK(app->sync == ARGOCD_SYNC_SYNCED && app->health == ARGOCD_HEALTH_HEALTHY);
        (void)argocd_app_syncing(app, app->revision);
        (void)argocd_app_syncing(app, app->op_requested_revision);
        (void)argocd_sync_name(app->sync);
        (void)argocd_health_name(app->health);
        (void)argocd_phase_name(app->phase);
        fuzz_changes(body, size, app, status);
    } else {
        FUZZ_CHECK(err[0] != '\0');
    }

    if (argocd_parse_error(body, size, &e) == 0)
        FUZZ_CHECK(memchr(e.message, 0, sizeof(e.message)) != NULL);
    else
        FUZZ_CHECK(e.code == -1);

    memset(res, 0, sizeof(*res));
    (void)argocd_classify(0, NULL, status, body, size, NULL, "default", "shop-staging",
                          (int)(status & 1), res);
    FUZZ_CHECK(res->error >= 0 && res->error <= ADAPTER_EPERM);
    FUZZ_CHECK(memchr(res->errmsg, 0, sizeof(res->errmsg)) != NULL);
    if (res->error)
        FUZZ_CHECK(res->errmsg[0] != '\0');
    FUZZ_CHECK(res->retry_after_ms >= 0);

    s = fuzz_cstr(data, size);
    patch = argocd_patch_template(s, (status & 2) ? "json" : "merge", err, sizeof(err));
    if (patch) {
        cJSON *j = cJSON_Parse(patch);
        FUZZ_CHECK(j != NULL && strlen(patch) <= ARGOCD_PATCH_MAX);
        FUZZ_CHECK((status & 2) ? cJSON_IsArray(j) : cJSON_IsObject(j));
        cJSON_Delete(j);
        free(patch);
    }
    (void)argocd_name_ok(s);
    free(argocd_patch_default(s));
    free(s);
    free(body);
    free(app);
    free(res);
    return 0;
}
