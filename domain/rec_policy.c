/* rec_policy.c - promo-policy's record: decoder and encoder (rec_policy.h). */
#include <string.h>

#include "domain/rec_policy.h"

static const char *const rec_policy_states[RPS_COUNT] = {
    [RPS_ATTACHED] = "attached",
    [RPS_DONE] = "done",
    [RPS_BLOCKED] = "blocked",
};

/* rec_policy_state_name - the record's word. */
const char *rec_policy_state_name(enum rec_policy_state s)
{
    return (int)s >= 0 && s < RPS_COUNT ? rec_policy_states[s] : "blocked";
}

/* rec_policy_decode - tracker, generation, headSHA, environment, state, policy, conditions. */
int rec_policy_decode(const cJSON *o, const char *name, struct rec_policy *r, char *err, size_t errlen)
{
    const char *state;
    int i;

    memset(r, 0, sizeof(*r));
    if (rec_head(o, "tracker", name, 0, &r->pool, &r->tracker, &r->generation, &r->head_sha, err, errlen) < 0 ||
        rec_str(o, "", "environment", 1, REC_MAX_NAME, &r->pool, &r->environment, err, errlen) < 0 ||
        rec_str(o, "", "state", 1, REC_MAX_ID, &r->pool, &state, err, errlen) < 0 ||
        rec_str(o, "", "policy", 0, REC_MAX_NAME, &r->pool, &r->policy, err, errlen) < 0 ||
        rec_str(o, "", "targetEnvironment", 0, REC_MAX_NAME, &r->pool, &r->target, err, errlen) < 0 ||
        rec_str(o, "", "policyFile", 0, REC_MAX_URL, &r->pool, &r->policy_file, err, errlen) < 0 ||
        rec_str(o, "", "reason", 0, REC_MAX_TEXT, &r->pool, &r->reason, err, errlen) < 0 ||
        rec_str(o, "", "updated", 0, REC_MAX_ID, &r->pool, &r->updated, err, errlen) < 0 ||
        rec_conditions(o, &r->pool, r->conditions, &r->nconditions, err, errlen) < 0)
        goto fail;
    for (i = 0; i < RPS_COUNT && strcmp(state, rec_policy_states[i]) != 0; i++)
        ;
    if (i == RPS_COUNT) {
        rec_err(err, errlen, "state", "\"%s\" is not one of attached, done, blocked", state);
        goto fail;
    }
    r->state = (enum rec_policy_state)i;
    return 0;
fail:
    rec_policy_free(r);
    return -1;
}

/* rec_policy_encode - in the order promo-policy always wrote it. */
cJSON *rec_policy_encode(const struct rec_policy *r)
{
    cJSON *o = cJSON_CreateObject();

    cJSON_AddStringToObject(o, "tracker", r->tracker);
    cJSON_AddNumberToObject(o, "generation", (double)r->generation);
    cJSON_AddStringToObject(o, "headSHA", r->head_sha);
    cJSON_AddStringToObject(o, "environment", r->environment);
    cJSON_AddStringToObject(o, "state", rec_policy_state_name(r->state));
    if (r->policy && r->policy[0]) {
        cJSON_AddStringToObject(o, "policy", r->policy);
        cJSON_AddStringToObject(o, "targetEnvironment", r->target);
        if (r->policy_file && r->policy_file[0])
            cJSON_AddStringToObject(o, "policyFile", r->policy_file);
    }
    cJSON_AddItemToObject(o, "conditions", rec_conditions_encode(r->conditions, r->nconditions));
    if (r->reason && r->reason[0])
        cJSON_AddStringToObject(o, "reason", r->reason);
    if (r->updated && r->updated[0])
        cJSON_AddStringToObject(o, "updated", r->updated);
    return o;
}

/* rec_policy_free - release r. */
void rec_policy_free(struct rec_policy *r)
{
    rec_pool_free(&r->pool);
    memset(r, 0, sizeof(*r));
}
