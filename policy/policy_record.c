/* policy_record.c - STATE/policy/NAME.json: what promo-policy decided for a tracker.
 *
 * This stage is the only writer of its area (DESIGN.md principle 3). A record
 * says which policy is attached, or that the tracker is at the end of its
 * chain (state "done"), or why it cannot move (conditions PolicyNotFound,
 * PolicyInvalid). A record is rewritten only when what it says changes, so a
 * resync every few seconds costs a read, not an fsync. docs/policy.md shows it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/util.h"
#include "domain/view.h"
#include "policy/policy_stage.h"

static const char *const policy_record_states[] = {
    [PO_ATTACHED] = "attached",
    [PO_DONE] = "done",
    [PO_NOT_FOUND] = "blocked",
    [PO_NO_SET] = "blocked",
};

/* policy_record_active - the states promo-watcher sends downstream. */
int policy_record_active(const struct tracker *t)
{
    return t->state == TS_SYNCED || t->state == TS_TESTING ||
           t->state == TS_AWAITING_APPROVAL || t->state == TS_PROMOTING;
}

/* policy_record_decide - the set in force decides; no set: blocked. */
enum policy_outcome policy_record_decide(const struct policy_stage *ps, const struct tracker *t,
                                         const struct policy **pol)
{
    *pol = NULL;
    if (!ps->cur)
        return PO_NO_SET;
    switch (policy_set_decide(ps->cur, t->status_env, pol)) {
    case POLICY_FOUND: return PO_ATTACHED;
    case POLICY_END_OF_CHAIN: return PO_DONE;
    default: return PO_NOT_FOUND;
    }
}

/* policy_record_condition - add {type,status,reason,message} to arr, keeping
 * the lastTransitionTime of the same condition in old (an array or NULL). */
static void policy_record_condition(cJSON *arr, const cJSON *old, const char *type,
                                    const char *reason, const char *message)
{
    cJSON *c = cJSON_CreateObject();
    const cJSON *o, *ot = NULL;
    char ts[40];

    cJSON_AddStringToObject(c, "type", type);
    cJSON_AddStringToObject(c, "status", "True");
    cJSON_AddStringToObject(c, "reason", reason);
    cJSON_AddStringToObject(c, "message", message);
    cJSON_ArrayForEach(o, old) {
        const cJSON *ty = cJSON_GetObjectItemCaseSensitive(o, "type");
        if (cJSON_IsString(ty) && strcmp(ty->valuestring, type) == 0)
            ot = cJSON_GetObjectItemCaseSensitive(o, "lastTransitionTime");
    }
    if (cJSON_IsString(ot))
        cJSON_AddStringToObject(c, "lastTransitionTime", ot->valuestring);
    else
        cJSON_AddStringToObject(c, "lastTransitionTime", time_format_iso(wall_ms(), ts, sizeof(ts)));
    cJSON_AddItemToArray(arr, c);
}

/* policy_record_build - the record for t and outcome o (old: the record on disk, or NULL). */
static cJSON *policy_record_build(const struct policy_stage *ps, const struct tracker *t,
                                  enum policy_outcome o, const struct policy *pol, const cJSON *old)
{
    const cJSON *oldc = old ? cJSON_GetObjectItemCaseSensitive(old, "conditions") : NULL;
    cJSON *r = cJSON_CreateObject(), *conds;
    char msg[2048], *chain;

    cJSON_AddStringToObject(r, "tracker", t->name);
    cJSON_AddNumberToObject(r, "generation", (double)t->generation);
    cJSON_AddStringToObject(r, "headSHA", t->head_sha);
    cJSON_AddStringToObject(r, "environment", t->status_env);
    cJSON_AddStringToObject(r, "state", policy_record_states[o]);
    if (pol) {
        cJSON_AddStringToObject(r, "policy", pol->name);
        cJSON_AddStringToObject(r, "targetEnvironment", pol->target);
        if (pol->file)
            cJSON_AddStringToObject(r, "policyFile", pol->file);
    }
    conds = cJSON_AddArrayToObject(r, "conditions");
    chain = ps->cur ? policy_set_chain_text(ps->cur) : xstrdup("");
    if (o == PO_DONE) {
        snprintf(msg, sizeof(msg), "environment \"%s\" is the end of its chain (%s)",
                 t->status_env, chain);
        cJSON_AddStringToObject(r, "reason", msg);
    } else if (o == PO_NOT_FOUND) {
        snprintf(msg, sizeof(msg), "no PromotionPolicy has sourceEnvironment \"%s\" and none "
                 "promotes to it, so it is not the end of a chain either (chains: %s)",
                 t->status_env, chain[0] ? chain : "none");
        policy_record_condition(conds, oldc, "PolicyNotFound", "NoPolicyForEnvironment", msg);
    } else if (o == PO_NO_SET) {
        snprintf(msg, sizeof(msg), "no valid policy set has been loaded: %s",
                 ps->reason[0] ? ps->reason : "none yet");
        policy_record_condition(conds, oldc, "PolicyInvalid", "NoValidPolicySet", msg);
    }
    if (ps->invalid && o != PO_NO_SET) {
        char at[40];
        snprintf(msg, sizeof(msg), "the policy files on disk are invalid (%d error%s: %s); the "
                 "last valid set, loaded %s, stays in force", ps->nerrors,
                 ps->nerrors == 1 ? "" : "s", ps->reason,
                 time_format_iso(ps->loaded_at, at, sizeof(at)));
        policy_record_condition(conds, oldc, "PolicyInvalid", "InvalidEdit", msg);
    }
    free(chain);
    return r;
}

/* policy_record_write - write when the content (not the timestamps) changed. */
void policy_record_write(struct stage *st, const struct tracker *t, enum policy_outcome o,
                         const struct policy *pol)
{
    struct policy_stage *ps = st->data;
    cJSON *old = NULL, *rec;
    char ts[40];
    int rc;

    if (!st->store || st->dry_run)
        return;
    rc = store_read(st->store, POLICY_AREA, t->name, &old);
    if (rc < 0 && rc != -ENOENT && rc != -EBADMSG)
        log_warn("record_read_failed", "tracker=%s error=%s", t->name, log_q(strerror(-rc)));
    rec = policy_record_build(ps, t, o, pol, old);
    if (old) {
        cJSON_DeleteItemFromObjectCaseSensitive(old, "updated");
        if (cJSON_Compare(old, rec, 1)) {
            cJSON_Delete(old);
            cJSON_Delete(rec);
            return;
        }
    }
    cJSON_AddStringToObject(rec, "updated", time_format_iso(wall_ms(), ts, sizeof(ts)));
    crash_point("policy.before_record");
    rc = store_write(st->store, POLICY_AREA, t->name, rec);
    if (rc == 0)
        crash_point("policy.after_record");
    if (rc < 0)
        log_error("record_write_failed", "tracker=%s error=%s", t->name, log_q(strerror(-rc)));
    else
        log_info("record", "tracker=%s gen=%lld env=%s state=%s%s%s%s", t->name,
                 (long long)t->generation, t->status_env, policy_record_states[o],
                 pol ? " policy=" : "", pol ? pol->name : "", ps->invalid ? " policy_invalid=1" : "");
    cJSON_Delete(old);
    cJSON_Delete(rec);
}

/* policy_record_refresh_all - every active tracker of the state dir. */
void policy_record_refresh_all(struct stage *st)
{
    struct policy_stage *ps = st->data;
    char **names = NULL, err[256];
    int n, i;

    if (!st->store || st->dry_run)
        return;
    n = store_list(st->store, "trackers", &names);
    if (n < 0) {
        log_warn("list_failed", "area=trackers error=%s", log_q(strerror(-n)));
        return;
    }
    for (i = 0; i < n; i++) {
        const struct policy *pol;
        struct tracker t;

        if (tracker_read(st->store, names[i], NULL, &t, err, sizeof(err)) < 0)
            continue;
        view_effective(st->store, &t);      /* where the chain has taken it */
        if (policy_record_active(&t)) {
            enum policy_outcome o = policy_record_decide(ps, &t, &pol);
            policy_record_write(st, &t, o, pol);
        }
    }
    store_list_free(names);
}
