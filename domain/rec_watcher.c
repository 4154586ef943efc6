/* rec_watcher.c - promo-watcher's record: decoder and encoder (rec_watcher.h). */
#include <string.h>

#include "domain/rec_watcher.h"

/* rec_watcher_decode - name, generation, headSHA, environment, state, times, conditions. */
int rec_watcher_decode(const cJSON *o, const char *name, struct rec_watcher *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    if (rec_head(o, "name", name, 0, &r->pool, &r->name, &r->generation, &r->head_sha, err, errlen) < 0 ||
        rec_str(o, "", "environment", 1, REC_MAX_NAME, &r->pool, &r->environment, err, errlen) < 0 ||
        rec_str(o, "", "state", 1, REC_MAX_ID, &r->pool, &r->state, err, errlen) < 0 ||
        rec_str(o, "", "observedAt", 0, REC_MAX_ID, &r->pool, &r->observed_at, err, errlen) < 0 ||
        rec_str(o, "", "deployDeadline", 0, REC_MAX_ID, &r->pool, &r->deploy_deadline, err, errlen) < 0 ||
        rec_conditions(o, &r->pool, r->conditions, &r->nconditions, err, errlen) < 0) {
        rec_watcher_free(r);
        return -1;
    }
    return 0;
}

/* rec_watcher_encode - {name, generation, headSHA, environment, state,
 * observedAt, deployDeadline, conditions}. */
cJSON *rec_watcher_encode(const struct rec_watcher *r)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "name", r->name);
    cJSON_AddNumberToObject(o, "generation", (double)r->generation);
    cJSON_AddStringToObject(o, "headSHA", r->head_sha);
    cJSON_AddStringToObject(o, "environment", r->environment);
    cJSON_AddStringToObject(o, "state", r->state);
    cJSON_AddStringToObject(o, "observedAt", r->observed_at);
    cJSON_AddStringToObject(o, "deployDeadline", r->deploy_deadline);
    cJSON_AddItemToObject(o, "conditions", rec_conditions_encode(r->conditions, r->nconditions));
    return o;
}

/* rec_watcher_free - release r. */
void rec_watcher_free(struct rec_watcher *r)
{
    rec_pool_free(&r->pool);
    memset(r, 0, sizeof(*r));
}

/* rec_watcher_timeout - the DeployTimeout condition in force. */
const struct rec_condition *rec_watcher_timeout(const struct rec_watcher *r)
{
    int i;

    for (i = 0; i < r->nconditions; i++)
        if (strcmp(r->conditions[i].type, "DeployTimeout") == 0 && strcmp(r->conditions[i].status, "False") != 0)
            return &r->conditions[i];
    return NULL;
}
