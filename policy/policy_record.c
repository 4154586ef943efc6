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
#include "domain/rec_policy.h"
#include "domain/view.h"
#include "policy/policy_stage.h"

/* What each outcome is called in the record ("state"). */
static const enum rec_policy_state policy_record_states[] = {
    [PO_ATTACHED] = RPS_ATTACHED,
    [PO_DONE] = RPS_DONE,
    [PO_NOT_FOUND] = RPS_BLOCKED,
    [PO_NO_SET] = RPS_BLOCKED,
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

/* policy_record_condition - add {type, status True, reason, message} to r,
 * keeping the lastTransitionTime of the same condition in old (NULL: none). */
static void policy_record_condition(struct rec_policy *r, const struct rec_policy *old, const char *type,
                                    const char *reason, const char *message)
{
    struct rec_condition *c;
    const char *since = NULL;
    char ts[40];
    int i;

    if (r->nconditions >= REC_MAX_CONDITIONS)
        return;
    c = &r->conditions[r->nconditions++];
    for (i = 0; old && i < old->nconditions; i++)
        if (strcmp(old->conditions[i].type, type) == 0 && old->conditions[i].last_transition[0])
            since = old->conditions[i].last_transition;
    c->type = rec_pool_add(&r->pool, type);
    c->status = "True";
    c->reason = rec_pool_add(&r->pool, reason);
    c->message = rec_pool_add(&r->pool, message);
    c->last_transition = rec_pool_add(&r->pool, since ? since : time_format_iso(wall_ms(), ts, sizeof(ts)));
}

/* policy_record_build - the record for t and outcome o into r (old: the
 * record on disk, decoded, or NULL). Free r with rec_policy_free. */
static void policy_record_build(const struct policy_stage *ps, const struct tracker *t, enum policy_outcome o,
                                const struct policy *pol, const struct rec_policy *old, struct rec_policy *r)
{
    char msg[2048], *chain;

    memset(r, 0, sizeof(*r));
    r->tracker = t->name;
    r->generation = t->generation;
    r->head_sha = t->head_sha;
    r->environment = t->status_env;
    r->state = policy_record_states[o];
    if (pol) {
        r->policy = rec_pool_add(&r->pool, pol->name);
        r->target = rec_pool_add(&r->pool, pol->target);
        r->policy_file = rec_pool_add(&r->pool, pol->file);
    }
    chain = ps->cur ? policy_set_chain_text(ps->cur) : xstrdup("");
    if (o == PO_DONE) {
        snprintf(msg, sizeof(msg), "environment \"%s\" is the end of its chain (%s)",
                 t->status_env, chain);
        r->reason = rec_pool_add(&r->pool, msg);
    } else if (o == PO_NOT_FOUND) {
        snprintf(msg, sizeof(msg), "no PromotionPolicy has sourceEnvironment \"%s\" and none "
                 "promotes to it, so it is not the end of a chain either (chains: %s)",
                 t->status_env, chain[0] ? chain : "none");
        policy_record_condition(r, old, "PolicyNotFound", "NoPolicyForEnvironment", msg);
    } else if (o == PO_NO_SET) {
        snprintf(msg, sizeof(msg), "no valid policy set has been loaded: %s",
                 ps->reason[0] ? ps->reason : "none yet");
        policy_record_condition(r, old, "PolicyInvalid", "NoValidPolicySet", msg);
    }
    if (ps->invalid && o != PO_NO_SET) {
        char at[40];
        snprintf(msg, sizeof(msg), "the policy files on disk are invalid (%d error%s: %s); the "
                 "last valid set, loaded %s, stays in force", ps->nerrors,
                 ps->nerrors == 1 ? "" : "s", ps->reason,
                 time_format_iso(ps->loaded_at, at, sizeof(at)));
        policy_record_condition(r, old, "PolicyInvalid", "InvalidEdit", msg);
    }
    free(chain);
}

/* policy_record_write - write when the content (not the timestamps) changed. */
void policy_record_write(struct stage *st, const struct tracker *t, enum policy_outcome o,
                         const struct policy *pol)
{
    struct policy_stage *ps = st->data;
    struct rec_policy old, rec;
    cJSON *oldj = NULL, *newj, *doc = NULL;
    char ts[40], err[256];
    int rc, have_old = 0;

    if (!st->store || st->dry_run)
        return;
    memset(&old, 0, sizeof(old));
    rc = store_read(st->store, POLICY_AREA, t->name, &doc);
    if (rc < 0 && rc != -ENOENT && rc != -EBADMSG)
        log_warn("record_read_failed", "tracker=%s error=%s", t->name, log_q(strerror(-rc)));
    if (rc == 0 && rec_policy_decode(doc, t->name, &old, err, sizeof(err)) == 0)
        have_old = 1;
    else if (rc == 0)
        log_warn("record_invalid", "tracker=%s error=%s effect=%s", t->name, log_q(err), log_q("written again"));
    cJSON_Delete(doc);
    policy_record_build(ps, t, o, pol, have_old ? &old : NULL, &rec);
    newj = rec_policy_encode(&rec);
    if (have_old) {
        old.updated = "";             /* the content, not when it was written */
        oldj = rec_policy_encode(&old);
        if (cJSON_Compare(oldj, newj, 1)) {
            cJSON_Delete(oldj);
            cJSON_Delete(newj);
            rec_policy_free(&old);
            rec_policy_free(&rec);
            return;
        }
        cJSON_Delete(oldj);
    }
    cJSON_Delete(newj);
    rec.updated = time_format_iso(wall_ms(), ts, sizeof(ts));
    doc = rec_policy_encode(&rec);
    crash_point("policy.before_record");
    rc = store_write(st->store, POLICY_AREA, t->name, doc);
    if (rc == 0)
        crash_point("policy.after_record");
    if (rc < 0)
        log_error("record_write_failed", "tracker=%s error=%s", t->name, log_q(strerror(-rc)));
    else
        log_info("record", "tracker=%s gen=%lld env=%s state=%s%s%s%s", t->name,
                 (long long)t->generation, t->status_env, rec_policy_state_name(rec.state),
                 pol ? " policy=" : "", pol ? pol->name : "", ps->invalid ? " policy_invalid=1" : "");
    cJSON_Delete(doc);
    rec_policy_free(&old);
    rec_policy_free(&rec);
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
